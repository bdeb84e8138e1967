"""Every Gibbs kernel's ``record(state)["lp"]`` is its story's collapsed log joint.

R-hat and ESS of a fit are computed on ``lp``, and the Geweke tests use the story's log joint
(``ppltopics.models.<m>.log_joint``, plain numpy, independent of the kernels).  Here, for every
kernel on a small simulated corpus, after each of a few sweeps from a fixed seed::

    record(state)["lp"] == log_joint(data, state)            (relative error < 1e-8)

with the exact relation where ``lp`` is not the story's log joint itself:

- LDA with ``optimize_alpha``: ``lp`` is log p(w, z | α, β) at the *current* α
  (``state["alpha"]``, moved by Minka's fixed point during warm-up);
- CGTM: the kernel samples (μ_η, Σ_η) instead of integrating them out, so
  ``lp = log p(v, z, η, μ_η, Σ_η) = log_joint(v, z, η) + log NIW(μ_η, Σ_η | η)``, the second
  term the conjugate normal-inverse-Wishart posterior density of (μ_η, Σ_η) given the D
  vectors η_d (Murphy 2007, "Conjugate Bayesian analysis of the Gaussian distribution").

Each kernel's incremental counts are read by ``record``; ``log_joint`` recounts from the
latent arrays.  The defect test moves one token to another topic (a tree token to another
level) in the latent array without updating the counts, as a kernel that forgot one count
update would: ``lp`` no longer equals the reference, so the comparison can fail.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from scipy.stats import invwishart, multivariate_normal

from ppltopics.inference.cgtm import CGTMKernel
from ppltopics.inference.ghlda import GhLDAKernel
from ppltopics.inference.glda import GLDAKernel
from ppltopics.inference.hlda import HLDAKernel
from ppltopics.inference.lda import LDAKernel
from ppltopics.models import cgtm, ghlda, glda, hlda, lda
from ppltopics.models.checks import ReferenceLDAKernel

#: relative tolerance of lp against the story's log joint
RTOL = 1e-8
#: sweeps from the seed; lp is compared after each
SWEEPS = 6

Reference = Callable[[dict[str, np.ndarray]], float]


@dataclass(frozen=True)
class Case:
    """A kernel on its small data, the reference value of ``lp`` at a state, the sweep mode
    (``warmup=True`` for kernels whose warm-up moves a hyperparameter), and the latent array
    the defect perturbs (``key``) with its number of values (``num_values``)."""

    kernel: Any
    reference: Reference
    key: str
    num_values: int
    warmup: bool = False


# ------------------------------------------------------------------------------- cases
def _lda(method: str) -> Case:
    hyper = lda.LDAHyper(num_topics=4, alpha=0.3, beta=0.05)
    corpus = lda.simulate(12, 15, 25, hyper, seed=11).corpus
    if method == "reference":
        kernel = ReferenceLDAKernel(corpus, hyper)
    else:
        kernel = LDAKernel(corpus, hyper, optimize_alpha=method == "optimize_alpha",
                           optimize_interval=2)

    def reference(state: dict[str, np.ndarray]) -> float:
        h = hyper
        if method == "optimize_alpha":  # lp is at the current α
            h = lda.LDAHyper(num_topics=4, alpha=tuple(state["alpha"]), beta=hyper.beta)
        return lda.log_joint(corpus.word_ids, corpus.doc_offsets, state["z"], h,
                             corpus.vocab_size)

    return Case(kernel, reference, "z", 4, warmup=method == "optimize_alpha")


def _glda(method: str) -> Case:
    hy = glda.GLDAHyper(3, alpha=0.5, kappa0=0.5, nu0=5.0, psi0=0.5, mu0=(0.0, 0.0))
    sim = glda.simulate_vocabulary(10, 12, hy, vocab_size=30, seed=5)
    corpus, r = sim.corpus, sim.hyper
    table = sim.vectors.matrix(corpus.vocab)
    kernel = GLDAKernel(corpus, table, r.num_topics, r.alpha_vector, *r.niw_args(),
                        method=method)

    def reference(state: dict[str, np.ndarray]) -> float:
        return glda.log_joint(table[corpus.word_ids], corpus.doc_offsets, state["z"], r)

    return Case(kernel, reference, "z", r.num_topics)


def niw_posterior_log_density(eta: np.ndarray, mu: np.ndarray, cov: np.ndarray,
                              prior: Any) -> float:
    """log NIW(μ, Σ | μ_n, κ_n, Ψ_n, ν_n), the conjugate posterior given the rows of ``eta``
    (D, K) under the prior ``prior`` (fields mu0, kappa0, nu0, psi0)::

        κ_n = κ0 + D,  ν_n = ν0 + D,  μ_n = (κ0 μ0 + Σ_d η_d)/κ_n,
        Ψ_n = Ψ0 + Σ_d (η_d − η̄)(η_d − η̄)ᵀ + (κ0 D/κ_n)(η̄ − μ0)(η̄ − μ0)ᵀ,
        log IW(Σ | Ψ_n, ν_n) + log N(μ | μ_n, Σ/κ_n).
    """
    d = eta.shape[0]
    mu0, kappa0 = np.asarray(prior.mu0, dtype=np.float64), float(prior.kappa0)
    nu0, psi0 = float(prior.nu0), np.asarray(prior.psi0, dtype=np.float64)
    mean = eta.mean(axis=0)
    centred = eta - mean
    kappa_n, nu_n = kappa0 + d, nu0 + d
    mu_n = (kappa0 * mu0 + eta.sum(axis=0)) / kappa_n
    psi_n = (psi0 + centred.T @ centred
             + (kappa0 * d / kappa_n) * np.outer(mean - mu0, mean - mu0))
    return float(invwishart.logpdf(cov, df=nu_n, scale=psi_n)
                 + multivariate_normal.logpdf(mu, mu_n, cov / kappa_n))


def _cgtm() -> Case:
    hy = cgtm.CGTMHyper(3, kappa0=0.5, nu0=5.0, psi0=0.5, mu0=(0.0, 0.0))
    sim = cgtm.simulate(10, 12, hy, seed=6)
    corpus, r = sim.corpus, sim.hyper
    table = sim.vectors.matrix(corpus.vocab)
    kernel = CGTMKernel(corpus, table, r.num_topics, *r.niw_args(), *r.eta_niw_args())

    def reference(state: dict[str, np.ndarray]) -> float:
        joint = cgtm.log_joint(table[corpus.word_ids], corpus.doc_offsets, state["z"],
                               state["eta"], r)
        return joint + niw_posterior_log_density(state["eta"], state["eta_mu"],
                                                 state["eta_cov"], r.eta_prior)

    return Case(kernel, reference, "z", r.num_topics)


def _hlda() -> Case:
    hyper = hlda.HLDAHyper(depth=3, gamma=1.5, gem_mean=0.4, gem_scale=10.0, eta=0.2)
    corpus = hlda.simulate(15, 12, 20, hyper, seed=7)[0]
    kernel = HLDAKernel(corpus, depth=3, gamma=hyper.gamma, eta=hyper.eta_vector,
                        gem_mean=hyper.gem_mean, gem_scale=hyper.gem_scale)

    def reference(state: dict[str, np.ndarray]) -> float:
        return hlda.log_joint(corpus, state["paths"], state["levels"], hyper)

    return Case(kernel, reference, "levels", 3)


def _ghlda() -> Case:
    hyper = ghlda.GhLDAHyper(depth=3, gamma=1.5, gem_mean=0.4, gem_scale=10.0, kappa0=0.1,
                             nu0=6.0, mu0=(0.0,) * 3, psi0=0.3)
    sim = ghlda.simulate(12, 10, hyper, seed=8)
    corpus = sim.corpus
    r = hyper.resolve(dim=3)
    kernel = GhLDAKernel(corpus, sim.vectors.matrix(corpus.vocab), r.mu0, r.kappa0, r.nu0,
                         r.psi0, psi_ratio=r.psi_ratio, depth=r.depth, gamma=r.gamma,
                         gem_mean=r.gem_mean, gem_scale=r.gem_scale)

    def reference(state: dict[str, np.ndarray]) -> float:
        return ghlda.log_joint(kernel.X, corpus.doc_offsets, state["paths"], state["levels"],
                               r)

    return Case(kernel, reference, "levels", 3)


CASES: dict[str, Callable[[], Case]] = {
    "lda-sparse": lambda: _lda("sparse"),
    "lda-optimize-alpha": lambda: _lda("optimize_alpha"),
    "lda-reference": lambda: _lda("reference"),
    "glda-exact": lambda: _glda("exact"),
    "glda-fast": lambda: _glda("fast"),
    "cgtm": _cgtm,
    "hlda": _hlda,
    "ghlda": _ghlda,
}


def _run(case: Case, seed: int = 0):
    """Yield the state after each of :data:`SWEEPS` sweeps from ``seed``."""
    rng = np.random.default_rng(seed)
    state = case.kernel.init_state(rng)
    for _ in range(SWEEPS):
        case.kernel.step(state, rng, warmup=case.warmup)
        yield state


# ------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", list(CASES))
def test_lp_equals_story_log_joint(name: str) -> None:
    case = CASES[name]()
    for sweep, state in enumerate(_run(case)):
        lp = case.kernel.record(state)["lp"]
        ref = case.reference(state)
        assert math.isfinite(ref)
        assert lp == pytest.approx(ref, rel=RTOL, abs=0.0), f"{name}, sweep {sweep}"
    if name == "lda-optimize-alpha":  # the relation was tested at an α that moved
        assert not np.allclose(state["alpha"], 0.3)


@pytest.mark.parametrize("name", list(CASES))
def test_lp_comparison_detects_a_stale_count(name: str) -> None:
    """One token moved in the latent array, counts left as they were: lp is off."""
    case = CASES[name]()
    *_, state = _run(case)
    assert case.kernel.record(state)["lp"] == pytest.approx(case.reference(state), rel=RTOL)
    latent = state[case.key]
    latent[0] = (latent[0] + 1) % case.num_values
    assert case.kernel.record(state)["lp"] != pytest.approx(case.reference(state), rel=RTOL)


def test_cgtm_lp_exceeds_the_collapsed_log_joint_by_the_eta_prior_posterior() -> None:
    """CGTM's lp is not the story's log joint alone: the gap is log NIW(μ_η, Σ_η | η), here
    several nats, far above the tolerance (so the relation above is not a coincidence)."""
    case = _cgtm()
    *_, state = _run(case)
    k = case.kernel
    r = cgtm.CGTMHyper(3, kappa0=0.5, nu0=5.0, psi0=0.5, mu0=(0.0, 0.0)).resolve(dim=2)
    joint = cgtm.log_joint(k.table[k.corpus.word_ids], k.corpus.doc_offsets, state["z"],
                           state["eta"], r)
    gap = k.record(state)["lp"] - joint
    assert abs(gap) > 1.0
    assert gap == pytest.approx(niw_posterior_log_density(
        state["eta"], state["eta_mu"], state["eta_cov"], k.eta_prior), rel=RTOL)
