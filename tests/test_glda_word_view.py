"""The word view of the Gaussian topic models (``beta=``, ``vector_weight=``).

The target is the tempered collapsed joint of :mod:`ppltopics.models.glda` (module doc, "Word
view")::

    log p̃(w, v, z) = λ·Σ_k log p(v_{z=k}) + Σ_k DirMult(n_k· | β) + Σ_d DirMult(n_d· | α)

With λ < 1 there is no simulator of the data, so the kernels are checked by enumeration
against this joint (every configuration of z, χ² at level ``ALPHA_CHI2`` = 1e-3: a correct
kernel fails a test with probability 1e-3), and the joint itself against the Pyro story
(its word view by Monte Carlo over the story's φ draws, its vectors' evidence by Monte Carlo
over the story's (μ, Σ) draws, its weight λ through the trace's factor).
Injected defects — the kernel that ignores λ, the kernel without the word view — must be
rejected by the same χ² tests.  CGTM's z-step takes the same word view with e^η as the
document weights: its z | η is checked by enumeration for a fixed η (CGTM's joint (z, η)
moves with the word view are the shared Gaussian move, whose word-view ratio the GLDA
enumeration in ``tests/test_split_merge.py`` covers).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pyro import poutine

import ppltopics as pt
from ppltopics import testing as T
from ppltopics.corpus import Corpus
from ppltopics.inference._gaussian import gaussian_logpdf_table
from ppltopics.inference.cgtm import CGTMKernel
from ppltopics.inference.glda import GLDAKernel
from ppltopics.models import glda
from ppltopics.models.glda import ResolvedGLDAHyper

ALPHA_CHI2 = 1e-3
HYPER = ResolvedGLDAHyper(num_topics=2, alpha=0.5, mu0=np.zeros(2), kappa0=0.5, nu0=4.0,
                          psi0=np.eye(2))
LENGTHS = np.array([3, 3])
OFFSETS = np.concatenate([[0], np.cumsum(LENGTHS)])
#: three word types, each used twice; words 0 and 2 are far apart in the vectors
WORDS = np.array([0, 1, 2, 0, 2, 1])
TABLE = np.array([[1.5, 0.2], [0.3, 0.1], [-1.3, 0.8]])
BETA = 0.5
LAM = 0.4


def _corpus() -> Corpus:
    return Corpus(WORDS.astype(np.int32), OFFSETS, ["a", "b", "c"])


def _kernel(cls=GLDAKernel, **kw) -> GLDAKernel:
    kw = {"beta": BETA, "vector_weight": LAM, **kw}
    return cls(_corpus(), TABLE, 2, HYPER.alpha_vector, np.array(HYPER.mu0), HYPER.kappa0,
               HYPER.nu0, np.array(HYPER.psi0), **kw)


def _log_target(z: np.ndarray, beta: float | None = BETA, lam: float = LAM) -> float:
    return glda.log_joint(TABLE[WORDS], OFFSETS, z, HYPER, words=WORDS, vocab_size=3,
                          beta=beta, vector_weight=lam)


@pytest.fixture(scope="module")
def posterior() -> np.ndarray:
    return T.enumerate_posterior(_log_target, len(WORDS), 2)


class IndependentProposal(GLDAKernel):
    """Fast kernel whose stale tables come from assignments drawn independently of the chain
    (non-uniform tables that never depend on the current z: every MH step must be exact)."""

    def resync(self, state):
        super().resync(state)
        z = np.random.default_rng(7).integers(0, self.num_topics, size=self.num_tokens)
        self.refresh_proposal(state, z=z)


class IgnoresWeight(GLDAKernel):
    """Defect: samples with λ = 1 while the target has λ = LAM."""

    def view(self, state, warmup=False):
        return super().view(state, warmup)._replace(lam=1.0)


def test_word_view_changes_the_target(posterior):
    """The enumerated target differs from plain GLDA's and from the untempered one by more
    than the tests' resolution (else the defect tests below would be vacuous)."""
    plain = T.enumerate_posterior(lambda z: _log_target(z, beta=None, lam=1.0), len(WORDS), 2)
    untempered = T.enumerate_posterior(lambda z: _log_target(z, lam=1.0), len(WORDS), 2)
    assert T.total_variation(posterior, plain) > 0.1
    assert T.total_variation(posterior, untempered) > 0.05


@pytest.mark.parametrize("method", ["exact", "fast"])
def test_kernels_sample_the_tempered_joint(posterior, method):
    """Final states of 5 000 independent chains (exact: 20 sweeps, whose start-up bias is
    < 1e-6 in total variation; fast: 150 sweeps, tables independent of the chain) fit the
    enumerated joint (χ² at level 1e-3)."""
    if method == "exact":
        law = T.gibbs_scan_law(posterior, len(WORDS), 2, 20)
        assert T.total_variation(law, posterior) < 1e-6
        kernel, sweeps = _kernel(method="exact"), 20
    else:
        kernel, sweeps = _kernel(IndependentProposal, method="fast", mh_steps=2), 150
    res = T.enumeration_chi2(kernel, posterior, num_chains=5_000, sweeps=sweeps, seed=11)
    print(method, res)
    assert res.dof >= 30 and not res.rejects(ALPHA_CHI2), res


@pytest.mark.parametrize("defect", ["ignores_weight", "no_word_view"])
def test_defective_kernels_are_rejected(posterior, defect):
    """A kernel that drops λ, or the word view, samples another law: rejected."""
    if defect == "ignores_weight":
        kernel = _kernel(IgnoresWeight, method="exact")
    else:
        kernel = _kernel(method="exact", beta=None)
    res = T.enumeration_chi2(kernel, posterior, num_chains=5_000, sweeps=20, seed=12)
    print(defect, res)
    assert res.rejects(ALPHA_CHI2), res


#: CGTM's document log weights η (2 documents × 2 topics), held fixed in the z-step test
ETA = np.array([[1.0, -0.5], [-0.8, 0.6]])


def _log_target_given_eta(z: np.ndarray, eta: np.ndarray = ETA, lam: float = LAM) -> float:
    """log p(z | η, w, v) + const under CGTM's word view: Σ_n η_{d(n), z_n} (softmax's
    normaliser is constant in z) + Σ_k DirMult(n_k· | β) + λ·log p(v | z)."""
    nkw = np.zeros((3, 2))
    np.add.at(nkw, (WORDS, z), 1.0)
    docs = np.repeat(np.arange(len(LENGTHS)), LENGTHS)
    return float(eta[docs, z].sum() + glda.word_view_log_marginal(nkw, BETA)
                 + lam * glda.log_likelihood_collapsed(TABLE[WORDS], OFFSETS, z, HYPER))


class CGTMFixedEta(CGTMKernel):
    """CGTM's own step with η reset to ``ETA`` before it: the step's z | η sweep (with the
    word view) is then a chain over z alone; the η it draws afterwards is discarded."""

    lam_defect = False

    def step(self, state, rng, warmup):
        state["eta"][:] = ETA
        super().step(state, rng, warmup)

    def view(self, state, warmup=False):
        out = super().view(state, warmup)
        return out._replace(lam=1.0) if self.lam_defect else out


@pytest.mark.parametrize("defect", [None, "ignores_weight"])
def test_cgtm_z_step_samples_the_tempered_conditional(defect):
    """CGTM's z | η with the word view: final states of 3 000 chains of 30 steps (start-up
    bias < 1e-6 in total variation) fit the enumerated p(z | η, w, v) (χ² at level 1e-3; the
    target differs from the one at η = 0 and at λ = 1 by > 0.05 in total variation); a
    z-step that drops λ is rejected."""
    n = len(WORDS)
    probs = T.enumerate_posterior(_log_target_given_eta, n, 2)
    assert T.total_variation(probs, T.enumerate_posterior(
        lambda z: _log_target_given_eta(z, eta=np.zeros((2, 2))), n, 2)) > 0.05
    assert T.total_variation(probs, T.enumerate_posterior(
        lambda z: _log_target_given_eta(z, lam=1.0), n, 2)) > 0.05
    assert T.total_variation(T.gibbs_scan_law(probs, n, 2, 30), probs) < 1e-6
    kernel = CGTMFixedEta(_corpus(), TABLE, 2, np.array(HYPER.mu0), HYPER.kappa0, HYPER.nu0,
                          np.array(HYPER.psi0), np.zeros(2), 1.0, 6.0, np.eye(2), beta=BETA,
                          vector_weight=LAM)
    kernel.lam_defect = defect is not None
    res = T.enumeration_chi2(kernel, probs, num_chains=3_000, sweeps=30, seed=13)
    print(defect, res)
    assert res.rejects(ALPHA_CHI2) == (defect is not None), res


def test_record_lp_is_the_tempered_joint():
    """``lp`` of a recorded state equals :func:`glda.log_joint` with the word view."""
    kernel = _kernel(method="exact")
    rng = np.random.default_rng(3)
    state = kernel.init_state(rng)
    for _ in range(3):
        kernel.step(state, rng, warmup=False)
    assert kernel.record(state)["lp"] == pytest.approx(_log_target(state["z"]), rel=1e-10)


def test_word_view_marginal_matches_the_pyro_story():
    """Σ_k DirMult(n_k· | β) equals log E_φ[Π_n φ_{z_n, w_n}] over the story's own φ draws
    (site "phi", 200 000 Monte Carlo draws; a relative error of the mean < 2 %)."""
    z = np.array([0, 1, 0, 0, 1, 1])
    num = 200_000
    torch.manual_seed(0)
    tr = poutine.trace(
        poutine.condition(glda.model, {"z": torch.as_tensor(z)})
    ).get_trace(LENGTHS, HYPER, words=None, vocab_size=3, beta=BETA)
    assert tr.nodes["phi"]["value"].shape == (2, 3)
    phi_site = tr.nodes["phi"]["fn"]
    phi = phi_site.sample((num,))  # (num, K, V)
    like = phi[:, torch.as_tensor(z), torch.as_tensor(WORDS)].prod(dim=1)
    mc = float(torch.log(like.mean()))
    se = float(like.std() / like.mean()) / num**0.5
    assert se < 0.02
    nkw = np.zeros((3, 2))
    np.add.at(nkw, (WORDS, z), 1.0)
    assert glda.word_view_log_marginal(nkw, BETA) == pytest.approx(mc, abs=4 * se)


def test_tempered_story_factor_is_the_kernels_target():
    """Under ``vector_weight=λ`` ≠ 1 the story's site "v" is the factor λ·log p(v | z) of
    the joint the kernels sample (:func:`glda.log_likelihood_collapsed`), with no topic sites;
    the word view's site "w" is the one of the untempered story."""
    v = torch.as_tensor(TABLE[WORDS])
    w = torch.as_tensor(WORDS)
    z = np.array([0, 1, 1, 0, 0, 1])

    def trace(lam):
        story = poutine.condition(glda.model, {"z": torch.as_tensor(z)})
        tr = poutine.trace(story).get_trace(LENGTHS, HYPER, v, words=w, beta=BETA,
                                            vector_weight=lam)
        tr.compute_log_prob()
        return tr

    t1, tl = trace(1.0), trace(LAM)
    assert "topic_mean" not in tl.nodes and "topic_cov" not in tl.nodes
    target = LAM * glda.log_likelihood_collapsed(TABLE[WORDS], OFFSETS, z, HYPER)
    assert float(tl.nodes["v"]["log_prob_sum"]) == pytest.approx(target, rel=1e-12)
    assert tl.nodes["w"]["fn"].log_prob(w).shape == t1.nodes["w"]["fn"].log_prob(w).shape
    with pytest.raises(ValueError, match="pass data"):
        glda.model(LENGTHS, HYPER, vector_weight=LAM)


def test_power_is_taken_after_integrating_the_topics():
    """λ·log p(v | z) against Monte Carlo over the untempered story's own (μ, Σ) draws
    (site "topic_cov" and μ | Σ ~ N(μ0, Σ/κ0); 200 000 draws, 4 standard errors): at λ = 1 it equals
    log E[Π_n N(v_n | μ_{z_n}, Σ_{z_n})].  The defect the stories had before (the power
    inside the integral, ``poutine.scale(λ)`` on v ~ N(μ, Σ)) is a different density over z:
    log E[Π_n N(·)^λ] must be rejected, here 2.0 nats from λ·log p(v | z) (se 0.01)."""
    z = np.array([0, 1, 1, 0, 0, 1])
    x = torch.as_tensor(TABLE[WORDS])
    num = 200_000
    torch.manual_seed(0)
    tr = poutine.trace(poutine.condition(glda.model, {"z": torch.as_tensor(z)})).get_trace(
        LENGTHS, HYPER)
    cov = tr.nodes["topic_cov"]["fn"].sample((num,))  # (num, K, M, M)
    mean = torch.distributions.MultivariateNormal(
        torch.tensor(HYPER.mu0), covariance_matrix=cov / HYPER.kappa0).sample()
    zz = torch.as_tensor(z)
    logn = torch.distributions.MultivariateNormal(
        mean[:, zz], covariance_matrix=cov[:, zz]).log_prob(x).sum(-1)  # (num,)
    exact = glda.log_likelihood_collapsed(TABLE[WORDS], OFFSETS, z, HYPER)

    def mc(lam):
        lw = lam * logn
        m = lw.max()
        like = torch.exp(lw - m)
        se = float(like.std() / like.mean()) / num**0.5
        return float(m + torch.log(like.mean())), se

    est, se = mc(1.0)
    assert se < 0.1  # inverse-Wishart draws with ν0 = 4 are heavy-tailed
    assert exact == pytest.approx(est, abs=4 * se)
    scaled, se = mc(LAM)
    assert abs(scaled - LAM * exact) > 10 * se + 0.5


@pytest.mark.parametrize("method", ["exact", "fast"])
def test_word_counts_stay_exact_with_workers(method):
    """With 2 threads (block copies of n_kw, n_k merged after the sweep) the counts equal a
    recount from z after every sweep and are never negative."""
    sim = glda.simulate_vocabulary(30, 20, glda.GLDAHyper(3, alpha=0.3), 40, seed=2, dim=3)
    c = sim.corpus
    kernel = GLDAKernel(c, sim.vectors.matrix(c.vocab), 3, 0.3, np.zeros(3), 0.1, 6.0,
                        np.eye(3), method=method, workers=2, beta=0.1, vector_weight=0.5)
    rng = np.random.default_rng(0)
    state = kernel.init_state(rng)
    for _ in range(4):
        kernel.step(state, rng, warmup=True)
        recount = np.zeros_like(state["nkw"])
        np.add.at(recount, (c.word_ids, state["z"]), 1)
        np.testing.assert_array_equal(state["nkw"], recount)
        np.testing.assert_array_equal(state["nk"], recount.sum(axis=0))
        assert state["nkw"].min() >= 0


@pytest.mark.parametrize("kwargs, match", [
    ({"beta": 0.0}, "beta"),
    ({"beta": "x"}, "beta"),
    ({"vector_weight": -1.0}, "vector_weight"),
])
def test_bad_options_are_rejected(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _kernel(**{"beta": None, "vector_weight": 1.0, **kwargs})


@pytest.mark.parametrize("model", ["glda", "cgtm"])
def test_fit_records_the_word_view(model, tmp_path):
    """``pt.fit`` passes ``beta``/``vector_weight`` through and records them; top words
    default to counts; the word–topic scores are λ·log N + log φ̄ and survive save/load."""
    sim = glda.simulate_vocabulary(40, 25, glda.GLDAHyper(3, alpha=0.3), 30, seed=4, dim=3)
    post = pt.fit(model, sim.corpus, vectors=sim.vectors, num_topics=3, beta=0.05,
                  vector_weight=0.3, num_chains=1, warmup=10, num_samples=5, seed=0,
                  progress=False, prepare=None)
    assert post.settings["beta"] == 0.05 and post.settings["vector_weight"] == 0.3
    assert post.top_words(5) == post.top_words(5, by="counts")
    nkw = post.estimates["word_topic"]
    phi = (nkw + 0.05) / (nkw.sum(axis=1, keepdims=True) + nkw.shape[1] * 0.05)
    gauss = gaussian_logpdf_table(post.estimates["word_vectors"], post.estimates["topic_mean"],
                                  post.estimates["topic_cov"])
    np.testing.assert_allclose(post.word_logdensity(), 0.3 * gauss + np.log(phi).T, rtol=1e-12)
    again = type(post).load(post.save(tmp_path / "wv"))
    assert again.top_words(5) == post.top_words(5)
    np.testing.assert_allclose(again.word_logdensity(), post.word_logdensity(), rtol=1e-12)
