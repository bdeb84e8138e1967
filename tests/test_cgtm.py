"""Correlated Gaussian topic model: statistical correctness of the kernel, recovery, the API.

Harness: :mod:`ppltopics.testing`, with CGTM's pieces in :mod:`ppltopics.models.checks.cgtm`
(:class:`~ppltopics.models.checks.CGTMConditional` carrying the latent (z, η, μ_η, Σ_η)
through the successive chain, the data conditional v | z, a batched collapsed log joint and
label-invariant test functions).

(a) Geweke's joint-distribution test (K=2, M=2, 3 documents of 3, 4, 3 tokens; topic prior
    μ0=0, κ0=0.5, ν0=M+2, Ψ0=I; η prior m0=0, λ0=1, ρ0=K+4, Φ0=3·I so E[Σ_η]=I): 4 000
    forward draws of (z, η, μ_η, Σ_η, v) from the Pyro story (``models.cgtm.model``) against
    20 000 draws of the successive-conditional chain (one CGTMKernel sweep — z | η, v; η by
    Pólya-Gamma augmentation; (μ_η, Σ_η) from their NIW posterior — then v ~ p(v | z) with
    fresh topic Gaussians from their NIW prior).  Fifteen label-invariant test functions:
    GLDA's six z/v functions, nine of η, μ_η, Σ_η and the collapsed log joint; batch means;
    Bonferroni.  Documents of ≤ 4 tokens keep every PG draw on Devroye's exact sampler.
    Observed: p_bonferroni ≈ 0.69 (smallest p 0.046, eta_mean_spread).
(b) Power: two defects of the public CGTM code are rejected — an η draw whose Gaussian uses the
    variance τ² as its standard deviation (observed p_bonferroni ≈ 1e-58 with 5 000 successive
    draws: log_eta_var t ≈ 30, log det Σ_η, log joint, η spread), and a z-step that ignores η
    (the document weight (n_dk + α) of GLDA instead of e^{η_dk}; p_bonferroni ≈ 5e-35:
    largest topic share, topics used, μ_η spread, η spread, assigned log weight).
(c) The PG η step alone leaves p(η_d | z, μ, Σ) invariant: for K=3, a correlated Σ and two
    kinds of documents (6 and 12 tokens, lopsided counts), the moments of 40-sweep chains of
    ``sample_eta`` match those of N(η | μ, Σ) Π_n softmax(η)_{z_n} computed by quadrature on a
    121³ grid (z tests, Bonferroni, family-wise 1e-3); the variance-as-sd defect fails it.
(d) Recovery: a simulated corpus (K=4, M=2, 300 documents × 40 tokens) with a planted topic
    correlation (+0.8 between topics 0 and 1, −0.8 between 2 and 3, η sd 1.5) is fitted with
    ``ppltopics.fit`` and, after Hungarian matching of the topic means, the posterior-mean
    ``topic_corr`` (correlation of the *centred* η, ``identified_corr``) matches the planted
    one's identified correlation (observed max error 0.11; planted (0,1) 0.43, (2,3) −0.57).
(e) The fit API and (f) clear errors for bad input.

Failure rates (probability that a *correct* kernel fails, i.e. that another seed would fail):
each Geweke test has family-wise level 1e-3 (Bonferroni over 15 functions); the PG moment test
family-wise 1e-3.  The recovery tolerances are about 2-4 posterior standard deviations (see the
test).  Seeds are fixed, so the outcomes are deterministic.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import linear_sum_assignment
from scipy.special import log_softmax, logsumexp

import ppltopics as pt
from ppltopics import testing as T
from ppltopics.corpus import Corpus
from ppltopics.inference._word_view import NO_VIEW
from ppltopics.inference.cgtm import (
    CGTMKernel,
    identified_corr,
    sample_eta,
    sample_niw_posterior,
    sample_pg,
)
from ppltopics.inference.glda import _stats, exact_sweep
from ppltopics.models import cgtm, checks
from ppltopics.models.cgtm import CGTMHyper, ResolvedCGTMHyper
from ppltopics.posteriors import CGTMPosterior

#: family-wise level of each Geweke test (Bonferroni over the test functions)
ALPHA_GEWEKE = 1e-3
#: family-wise level of the PG moment test (Bonferroni over its statistics)
ALPHA_MOMENTS = 1e-3


def _corpus(lengths, vocab_size: int | None = None) -> Corpus:
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    n = int(offsets[-1]) if vocab_size is None else vocab_size
    return Corpus(np.arange(offsets[-1], dtype=np.int32), offsets, [f"v{i}" for i in range(n)])


def _kernel(corpus: Corpus, table: np.ndarray, h: ResolvedCGTMHyper, cls=CGTMKernel,
            **kw) -> CGTMKernel:
    return cls(corpus, table, h.num_topics, *h.niw_args(), *h.eta_niw_args(), **kw)


# --------------------------------------------------------------------------- defective kernels
def _sample_eta_variance_as_sd(eta, ndk, lengths, mu, cov, rng, pg_exact_max=64):
    """``inference.cgtm.sample_eta`` with the public code's defect: the Gaussian draw of η_dk
    scales its noise by the variance τ² instead of the standard deviation τ."""
    num_topics = eta.shape[1]
    prec = np.linalg.inv(cov)
    kappa = ndk - 0.5 * lengths[:, None]
    for k in range(num_topics):
        others = np.arange(num_topics) != k
        zeta = logsumexp(eta[:, others], axis=1)
        lam = sample_pg(lengths, eta[:, k] - zeta, rng, pg_exact_max)
        var_k = 1.0 / prec[k, k]
        m = mu[k] - (eta[:, others] - mu[others]) @ prec[k, others] * var_k
        tau2 = 1.0 / (lam + 1.0 / var_k)
        mean = tau2 * (kappa[:, k] + lam * zeta + m / var_k)
        eta[:, k] = mean + tau2 * rng.standard_normal(eta.shape[0])  # defect: τ² for τ


class _DefectiveCGTM(CGTMKernel):
    """CGTMKernel.step with replaceable z weights and η sampler."""

    ignore_eta = False
    eta_sampler = staticmethod(sample_eta)

    def step(self, state, rng, warmup):
        c = self.corpus
        weights = np.empty((0, self.num_topics)) if self.ignore_eta else state["eta"]
        exact_sweep(c.word_ids, c.doc_offsets, self.table, state["z"], state["ndk"],
                    self.alpha, _stats(state), self.prior, rng, weights, 0, c.num_docs, NO_VIEW)
        self.eta_sampler(state["eta"], state["ndk"], c.doc_lengths.astype(np.float64),
                         state["eta_mu"], state["eta_cov"], rng, self.pg_exact_max)
        e = self.eta_prior
        state["eta_mu"], state["eta_cov"] = sample_niw_posterior(
            state["eta"], e.mu0, e.kappa0, e.nu0, e.psi0, rng)
        state["sweeps"][0] += 1


class VarianceAsSdCGTM(_DefectiveCGTM):
    """Defect: η_dk ~ mean + τ²·ε instead of mean + τ·ε."""

    eta_sampler = staticmethod(_sample_eta_variance_as_sd)


class EtaBlindCGTM(_DefectiveCGTM):
    """Defect: the z-step ignores η (GLDA's collapsed weight n_dk + α, α = 1)."""

    ignore_eta = True


# --------------------------------------------------------------------------- (a) Geweke
GEWEKE_LENGTHS = np.array([3, 4, 3])
GEWEKE_OFFSETS = np.concatenate([[0], np.cumsum(GEWEKE_LENGTHS)])
GEWEKE_HYPER = ResolvedCGTMHyper(num_topics=2, mu0=np.zeros(2), kappa0=0.5, nu0=4.0,
                                 psi0=np.eye(2), eta_mu0=np.zeros(2), eta_kappa0=1.0,
                                 eta_nu0=6.0, eta_psi0=3.0 * np.eye(2))
NUM_FORWARD = 4_000
NUM_SUCCESSIVE = 20_000
NUM_SUCCESSIVE_DEFECT = 5_000


@pytest.fixture(scope="module")
def geweke_parts():
    """Forward draws of (z, η, μ_η, Σ_η, v) from the Pyro story (drawn once, shared), the
    data conditional and the label-invariant test functions."""
    fwd = T.pyro_forward_sampler(cgtm.model, (GEWEKE_LENGTHS, GEWEKE_HYPER),
                                 latent=checks.CGTM_LATENT_SITES, data="v")
    t0 = time.perf_counter()
    draws = fwd(NUM_FORWARD, np.random.default_rng(2025))
    print(f"{NUM_FORWARD} forward draws in {time.perf_counter() - t0:.1f}s")

    def forward(num: int, rng: np.random.Generator):
        return draws if num == NUM_FORWARD else fwd(num, rng)

    return {
        "forward": forward,
        "fwd": fwd,
        "draws": draws,
        "data_step": checks.cgtm_vector_conditional(GEWEKE_HYPER),
        "tests": checks.cgtm_test_functions(GEWEKE_OFFSETS, GEWEKE_HYPER),
    }


def _geweke_kernel(parts, cls=CGTMKernel) -> CGTMKernel:
    # one word type per token: the table is the token vectors (replaced by set_data)
    return _kernel(_corpus(GEWEKE_LENGTHS), parts["draws"][0][1], GEWEKE_HYPER, cls,
                   pg_exact_max=None)


def _geweke(parts, kernel: CGTMKernel, seed: int,
            num_successive: int = NUM_SUCCESSIVE) -> T.GewekeResult:
    t0 = time.perf_counter()
    res = T.geweke_test(parts["forward"], checks.CGTMConditional(kernel), parts["data_step"],
                        parts["tests"], num_forward=NUM_FORWARD,
                        num_successive=num_successive, seed=seed, alpha=ALPHA_GEWEKE)
    print(f"{type(kernel).__name__} in {time.perf_counter() - t0:.1f}s\n{res}")
    return res


def test_geweke_pieces(geweke_parts):
    """Harness pieces: the batched log joint equals ``models.cgtm.log_joint``; every test
    function is finite and invariant to relabelling the topics (z, the columns of η, μ_η and
    both axes of Σ_η together); v | z has one M-vector per token; CGTMConditional writes the
    whole latent into the kernel state (zero sweeps return it unchanged) and one sweep moves
    z, η, μ_η and Σ_η."""
    draws = geweke_parts["draws"][:50]
    lat = T.stack_latents([d[0] for d in draws])
    v = np.stack([d[1] for d in draws])
    ref = [cgtm.log_joint(v[i], GEWEKE_OFFSETS, lat["z"][i], lat["eta"][i], GEWEKE_HYPER)
           for i in range(len(v))]
    np.testing.assert_allclose(
        checks.cgtm_log_joint_batch(lat["z"], v, lat["eta"], GEWEKE_OFFSETS, GEWEKE_HYPER), ref,
        rtol=1e-12)
    swapped = {"z": 1 - lat["z"], "eta": lat["eta"][:, :, ::-1],
               "eta_mean": lat["eta_mean"][:, ::-1], "eta_cov": lat["eta_cov"][:, ::-1, ::-1]}
    assert len(geweke_parts["tests"]) == 15
    for name, g in geweke_parts["tests"].items():
        val = g([d[0] for d in draws], v)
        assert val.shape == (len(v),) and np.all(np.isfinite(val)), name
        np.testing.assert_allclose(g(swapped, v), val, rtol=1e-12, atol=1e-12, err_msg=name)
    rng = np.random.default_rng(1)
    out = geweke_parts["data_step"](draws[0][0], rng)
    assert out.shape == v[0].shape and out.dtype == np.float64

    latent, data = draws[3]
    same = checks.CGTMConditional(_geweke_kernel(geweke_parts), sweeps=0)(latent, data, rng)
    for key in checks.CGTM_LATENT_SITES:
        np.testing.assert_array_equal(same[key], latent[key], err_msg=key)
    moved = checks.CGTMConditional(_geweke_kernel(geweke_parts))(latent, data, rng)
    for key in ("eta", "eta_mean", "eta_cov"):
        assert moved[key].shape == latent[key].shape
        assert not np.allclose(moved[key], latent[key]), key


def test_kernel_geweke(geweke_parts):
    """The kernel passes Geweke's test (family-wise false-failure rate 1e-3)."""
    res = _geweke(geweke_parts, _geweke_kernel(geweke_parts), seed=31)
    assert min(r.ess_successive for r in res.rows) > 1_000  # the joint chain mixes
    assert res.passed, str(res)


@pytest.mark.parametrize("cls, seed", [(VarianceAsSdCGTM, 32), (EtaBlindCGTM, 33)],
                         ids=["variance-as-sd", "z-ignores-eta"])
def test_geweke_rejects_defective_kernels(geweke_parts, cls, seed):
    """(b) Geweke's test has power against the two defects of the public CGTM code (observed
    p_bonferroni ≈ 1e-58 and 5e-35 with 5 000 successive draws; see the module doc)."""
    res = _geweke(geweke_parts, _geweke_kernel(geweke_parts, cls), seed=seed,
                  num_successive=NUM_SUCCESSIVE_DEFECT)
    assert not res.passed, str(res)


# --------------------------------------------------------------------------- (c) the η step
PG_MU = np.array([0.5, -0.3, 0.2])
PG_COV = np.array([[1.0, 0.6, -0.4], [0.6, 1.5, -0.2], [-0.4, -0.2, 0.8]])
#: topic counts n_dk of the two kinds of documents (6 and 12 tokens)
PG_COUNTS = np.array([[5, 1, 0], [0, 2, 10]])


def _quadrature_moments(counts: np.ndarray, mu: np.ndarray, cov: np.ndarray,
                        points: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of p(η) ∝ N(η | μ, Σ) Π_k softmax(η)_k^{n_k} on a regular grid
    (each axis μ_k − 7σ_k − 1 .. μ_k + 7σ_k + 2; the likelihood pulls η towards topics with
    counts, by less than a unit here)."""
    sd = np.sqrt(np.diag(cov))
    axes = [np.linspace(m - 7 * s - 1, m + 7 * s + 2, points) for m, s in zip(mu, sd,
                                                                               strict=True)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, mu.size)
    logp = stats.multivariate_normal.logpdf(grid, mu, cov) + log_softmax(grid, axis=1) @ counts
    w = np.exp(logp - logp.max())
    w /= w.sum()
    mean = w @ grid
    c = grid - mean
    return mean, c.T @ (c * w[:, None])


def _eta_chains(sampler, num_docs: int, sweeps: int, seed: int) -> np.ndarray:
    """Final η of ``num_docs`` independent chains per document kind ((kinds, docs, K)):
    ``sweeps`` calls of ``sampler`` on documents with counts PG_COUNTS, from η = μ."""
    rng = np.random.default_rng(seed)
    ndk = np.repeat(PG_COUNTS, num_docs, axis=0).astype(np.int64)
    lengths = ndk.sum(axis=1).astype(np.float64)
    eta = np.tile(PG_MU, (ndk.shape[0], 1))
    for _ in range(sweeps):
        sampler(eta, ndk, lengths, PG_MU, PG_COV, rng, 64)
    return eta.reshape(len(PG_COUNTS), num_docs, -1)


def _moment_pvalues(draws: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> dict[str, float]:
    """Two-sided z-test p-values of the sample means and covariances of iid ``draws`` (S, K)
    against ``mean`` and ``cov`` (standard errors from the draws: sd/√S, and for a covariance
    entry the sd of the product of centred values /√S)."""
    s, k = draws.shape
    out = {}
    se = draws.std(axis=0, ddof=1) / math.sqrt(s)
    for i in range(k):
        out[f"mean[{i}]"] = (draws[:, i].mean() - mean[i]) / se[i]
    c = draws - draws.mean(axis=0)
    for i in range(k):
        for j in range(i, k):
            prod = c[:, i] * c[:, j]
            out[f"cov[{i},{j}]"] = (prod.mean() * s / (s - 1) - cov[i, j]) / (
                prod.std(ddof=1) / math.sqrt(s))
    return {name: float(2 * stats.norm.sf(abs(z))) for name, z in out.items()}


@pytest.fixture(scope="module")
def eta_targets():
    return [_quadrature_moments(c, PG_MU, PG_COV) for c in PG_COUNTS]


def test_quadrature_is_converged(eta_targets):
    """The 121³ grid agrees with an 81³ one to 1e-6 (so the reference moments are exact to
    well below the Monte Carlo error)."""
    for counts, (mean, cov) in zip(PG_COUNTS, eta_targets, strict=True):
        m2, c2 = _quadrature_moments(counts, PG_MU, PG_COV, points=81)
        np.testing.assert_allclose(m2, mean, atol=1e-6)
        np.testing.assert_allclose(c2, cov, atol=1e-6)


@pytest.mark.parametrize("sampler, ok", [(sample_eta, True),
                                         (_sample_eta_variance_as_sd, False)],
                         ids=["sample_eta", "variance-as-sd"])
def test_pg_eta_step_matches_quadrature(eta_targets, sampler, ok):
    """(c) With z, μ, Σ fixed, 10 000 independent 40-sweep chains of the PG η step per
    document kind (vectorised over documents) give draws of η_d whose means and covariances
    match the quadrature moments of N(η | μ, Σ) Π_n softmax(η)_{z_n}: z tests of 3 means and
    6 covariance entries per kind, Bonferroni over the 18 at family-wise 1e-3 (observed
    smallest p 0.13).  The variance-as-sd defect fails (relative variance errors of tens of %).
    Start-up bias: chains started at μ agree with the target after 30 sweeps already."""
    draws = _eta_chains(sampler, 10_000, 40, seed=5)
    pvals = {}
    for kind, (mean, cov) in enumerate(eta_targets):
        print(f"kind {kind}: mean {np.round(draws[kind].mean(0), 4)} vs {np.round(mean, 4)}; "
              f"var {np.round(draws[kind].var(0), 4)} vs {np.round(np.diag(cov), 4)}")
        pvals.update({f"{kind}:{k}": p for k, p in
                      _moment_pvalues(draws[kind], mean, cov).items()})
    p_min = min(pvals.values())
    print("smallest p", min(pvals, key=pvals.get), p_min)
    assert (p_min * len(pvals) >= ALPHA_MOMENTS) is ok, pvals


def test_identified_corr():
    """``identified_corr`` is the correlation of HΣH (H = I − 11ᵀ/K): unchanged by adding a
    common-mode term c·11ᵀ to Σ, unit diagonal, and −1/(K−1) everywhere for Σ = I."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 6))
    cov = a @ a.T
    r = identified_corr(cov)
    np.testing.assert_allclose(identified_corr(cov + 3.0 * np.ones((4, 4))), r, atol=1e-12)
    np.testing.assert_allclose(np.diag(r), 1.0)
    eta = rng.multivariate_normal(np.zeros(4), cov, size=200_000)
    centred = eta - eta.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(np.corrcoef(centred.T), r, atol=0.01)
    np.testing.assert_allclose(identified_corr(np.eye(3))[0, 1:], -0.5)


# --------------------------------------------------------------------------- (d) recovery
RECOVERY_K = 4
RECOVERY_CORR = np.eye(RECOVERY_K)
RECOVERY_CORR[0, 1] = RECOVERY_CORR[1, 0] = 0.8
RECOVERY_CORR[2, 3] = RECOVERY_CORR[3, 2] = -0.8


def test_recovers_planted_topic_correlation():
    """(d) Planted correlations are recovered.  ``simulate`` (K=4, M=2, 300 documents × 40
    tokens, κ0=0.05 and Ψ0=0.1·I, ν0=5 so the topic Gaussians are tight and far apart,
    η ~ N(0, 1.5²·R) with R_01 = +0.8 and R_23 = −0.8); ``pt.fit`` with the same topic prior
    (2 chains × (100 warm-up + 100) sweeps); topics matched by their means (Hungarian).

    softmax(η) sees only the centred η, so the comparison is with ``identified_corr`` of the
    planted covariance: (0,1) +0.43, (2,3) −0.57 and −0.39 elsewhere (the rows of a centred
    covariance sum to 0, so the off-diagonal correlations are negative on average; an
    uncorrelated R gives −1/(K−1) = −1/3 everywhere).  Asserted: every matched entry within
    0.2 of the planted one, the positive pair > 0.2 and the negative pair below the
    uncorrelated value by more than 0.1.  Observed over 4 data seeds: max error 0.09-0.11,
    (0,1) 0.36-0.49, (2,3) −0.53 to −0.62.
    """
    hy = CGTMHyper(RECOVERY_K, kappa0=0.05, nu0=5.0, psi0=0.1, mu0=(0.0, 0.0))
    sim = cgtm.simulate(300, 40, hy, seed=0, topic_corr=RECOVERY_CORR, eta_sd=1.5)
    t0 = time.perf_counter()
    post = pt.fit("cgtm", sim.corpus, vectors=sim.vectors, num_topics=RECOVERY_K,
                  num_chains=2, num_samples=100, warmup=100, seed=1, progress=False,
                  kappa0=0.05, nu0=5.0, psi0=0.1)
    print(f"fit in {time.perf_counter() - t0:.1f}s")
    cost = np.linalg.norm(post.estimates["topic_mean"][:, None] - sim.topic_mean[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    assert cost[rows, cols].max() < 0.1
    est_of_true = rows[np.argsort(cols)]  # estimated topic of each true topic
    got = post.estimates["topic_corr"][np.ix_(est_of_true, est_of_true)]
    want = identified_corr(sim.eta_cov)
    print("recovered topic_corr\n", np.round(got, 3), "\nplanted (identified)\n",
          np.round(want, 3), "\nempirical η (identified)\n",
          np.round(identified_corr(np.cov(sim.eta.T)), 3))
    assert np.abs(got - want).max() < 0.2
    assert got[0, 1] > 0.2
    assert got[2, 3] < -1.0 / (RECOVERY_K - 1) - 0.1
    off = got[~np.eye(RECOVERY_K, dtype=bool)]
    assert got[0, 1] == off.max()  # the planted positive pair stands out
    # doc-topic proportions follow the planted ones
    theta = post.doc_topics()[:, est_of_true]
    r = [np.corrcoef(theta[:, k], sim.theta[:, k])[0, 1] for k in range(RECOVERY_K)]
    print("theta correlations", np.round(r, 3))
    assert min(r) > 0.9


# --------------------------------------------------------------------------- (e) API
@pytest.fixture(scope="module")
def fitted():
    hy = CGTMHyper(3, kappa0=0.1, nu0=4.0, psi0=0.3, mu0=(0.0, 0.0))
    sim = cgtm.simulate(40, 15, hy, seed=3, topic_corr=[[1.0, 0.5, 0.0], [0.5, 1.0, -0.3],
                                                         [0.0, -0.3, 1.0]], eta_sd=1.0)
    post = pt.fit("cgtm", sim.corpus, vectors=sim.vectors, num_topics=3, num_chains=2,
                  num_samples=20, warmup=30, seed=4, progress=False)
    return sim, post


def test_fit_api(fitted, tmp_path):
    """(e) fit returns a CGTMPosterior: datatree posterior ``topic_corr`` (chain, draw, topic,
    topic_b) with values in [−1, 1] and unit diagonal, ``eta_mean`` (chain, draw, topic);
    estimates ``topic_corr``, ``eta_mu``, ``eta_cov`` (symmetric positive definite);
    doc_topics rows sum to 1; transform of the training documents is close to doc_topics;
    held-out log *density*; plot_correlation writes a PNG; save/load round trip; no α."""
    sim, post = fitted
    assert isinstance(post, CGTMPosterior)
    dt = post.to_datatree()
    tc = dt["posterior"]["topic_corr"]
    assert tc.dims == ("chain", "draw", "topic", "topic_b") and tc.shape == (2, 20, 3, 3)
    vals = tc.values
    assert np.all(np.abs(vals) <= 1 + 1e-12)
    np.testing.assert_allclose(np.diagonal(vals, axis1=2, axis2=3), 1.0)
    np.testing.assert_allclose(vals, np.swapaxes(vals, 2, 3), atol=1e-12)
    em = dt["posterior"]["eta_mean"]
    assert em.dims == ("chain", "draw", "topic") and np.ptp(em.values) > 0
    ss = dt["sample_stats"]
    for name in ("lp", "log_likelihood"):
        assert ss[name].shape == (2, 20) and np.all(np.isfinite(ss[name].values))
    est = post.estimates
    assert est["topic_corr"].shape == (3, 3) and est["eta_mu"].shape == (3,)
    np.testing.assert_allclose(np.diag(est["topic_corr"]), 1.0)
    assert np.all(np.linalg.eigvalsh(est["eta_cov"]) > 0)
    assert est["topic_mean"].shape == (3, 2) and est["topic_cov"].shape == (3, 2, 2)
    with pytest.raises(AttributeError, match="no Dirichlet"):
        _ = post.alpha

    theta = post.doc_topics()
    assert theta.shape == (sim.corpus.num_docs, 3)
    np.testing.assert_allclose(theta.sum(axis=1), 1.0)
    folded = post.transform(sim.corpus, num_sweeps=80, burn_in=20)
    np.testing.assert_allclose(folded.sum(axis=1), 1.0)
    gap = np.abs(folded - theta).mean()
    print("mean |transform - doc_topics|", gap)
    assert gap < 0.1

    test = Corpus(sim.corpus.word_ids[:30], np.array([0, 15, 30]), sim.corpus.vocab)
    held = pt.evaluation.heldout_loglik(post, test, particles=4)
    assert held.kind == "log density" and np.isfinite(held.total)
    assert held.per_doc.shape == (2,)

    png = post.plot_correlation(tmp_path / "plots" / "corr.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    loaded = pt.load(post.save(tmp_path / "cgtm"))
    assert isinstance(loaded, CGTMPosterior)
    for key, val in post.estimates.items():
        np.testing.assert_allclose(loaded.estimates[key], val, err_msg=key)
    np.testing.assert_allclose(loaded.to_datatree()["posterior"]["topic_corr"].values, vals)
    assert loaded.top_words(3) == post.top_words(3)
    assert post.settings["eta_nu0"] == 5.0 and post.settings["model"] == "cgtm"


def test_fit_is_deterministic(fitted):
    """Same seed ⇒ identical posterior."""
    sim, post = fitted
    again = pt.fit("cgtm", sim.corpus, vectors=sim.vectors, num_topics=3, num_chains=2,
                   num_samples=20, warmup=30, seed=4, progress=False)
    for key in ("topic_corr", "eta_cov", "topic_mean"):
        np.testing.assert_array_equal(again.estimates[key], post.estimates[key])


# --------------------------------------------------------------------------- (f) bad input
@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"vectors": None}, TypeError, "needs word vectors"),
        ({"eta_nu0": 1.0}, ValueError, r"eta_nu0 must be > K - 1"),
        ({"eta_nu0": 0.5}, ValueError, r"eta_nu0 must be > K - 1"),
        ({"alpha": 0.5}, TypeError, "alpha"),
        ({"eta_kappa0": 0.0}, ValueError, "eta_kappa0 must be > 0"),
        ({"eta_psi0": -1.0}, ValueError, "eta_psi0 must be symmetric positive definite"),
        ({"eta_mu0": [0.0, 1.0, 2.0]}, ValueError, "eta_mu0 has 3 entries"),
        ({"kappa0": 0.0}, ValueError, "kappa0 must be > 0"),
        ({"num_topics": 7}, ValueError, "larger than the data"),
    ],
)
def test_fit_rejects_bad_input(kwargs, exc, match):
    """(f) Each bad input is a ValueError/TypeError whose message names the problem."""
    vocab = ["a", "b", "c", "d"]
    corpus = Corpus(np.array([0, 1, 2, 3, 0, 1], dtype=np.int32), np.array([0, 3, 6]), vocab)
    vectors = pt.WordVectors(vocab, np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 2.5],
                                              [0.5, 3.0]]))
    kw = {"vectors": vectors, "num_topics": 2, "num_chains": 1, "num_samples": 2, "warmup": 1,
          "progress": False, **kwargs}
    with pytest.raises(exc, match=match):
        pt.fit("cgtm", corpus, **kw)


# --------------------------------------------------------------------------- calibration
@pytest.mark.slow
def test_geweke_calibration(geweke_parts):
    """Study: over 30 seeds (1 000 fresh forward and 5 000 successive draws each) the
    per-function Geweke p-values of the kernel are uniform (KS p > 1e-3 for each function)
    and the Bonferroni family fails at most once (P(≥ 2 of 30) ≈ 4e-4 at level 1e-3).
    Observed (≈ 4 min): 0/30 family failures, smallest KS p 0.04 (eta_mean_level)."""
    pvals: dict[str, list[float]] = {name: [] for name in geweke_parts["tests"]}
    fails = 0
    t0 = time.perf_counter()
    for s in range(30):
        res = T.geweke_test(geweke_parts["fwd"],
                            checks.CGTMConditional(_geweke_kernel(geweke_parts)),
                            geweke_parts["data_step"], geweke_parts["tests"],
                            num_forward=1_000, num_successive=5_000, seed=8000 + s,
                            alpha=ALPHA_GEWEKE)
        fails += not res.passed
        for r in res.rows:
            pvals[r.name].append(r.p_value)
    for name, p in pvals.items():
        ks = stats.kstest(p, "uniform")
        print(f"{name}: KS p={ks.pvalue:.3g}, share p<0.05: {np.mean(np.less(p, 0.05)):.3f}")
        assert ks.pvalue > 1e-3, name
    print(f"family failures: {fails}/30 in {time.perf_counter() - t0:.0f}s")
    assert fails <= 1


# --------------------------------------------------------------------------- empty documents
def test_empty_documents_are_handled():
    """A document without tokens (a hand-built training corpus, or a ``transform`` document
    whose words are all unknown) has λ_dk = 0 (PG(0, c) is the point mass at 0): its η is
    drawn from the conditional prior instead of polyagamma refusing b = 0."""
    vocab = ["a", "b", "c", "d"]
    vectors = pt.WordVectors(vocab, np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 2.5],
                                              [0.5, 3.0]]))
    corpus = Corpus(np.array([0, 1, 2, 3, 0, 1], dtype=np.int32), np.array([0, 3, 6]), vocab)
    post = pt.fit("cgtm", corpus, vectors=vectors, num_topics=2, num_chains=1, num_samples=3,
                  warmup=2, progress=False)
    new = Corpus(np.array([0, 1, 2, 3], dtype=np.int32), np.array([0, 3, 4]),
                 ["a", "b", "c", "zzz"])
    theta = post.transform(new)
    np.testing.assert_allclose(theta.sum(axis=1), 1.0)
    with_empty = Corpus(np.array([0, 1, 2, 3, 0, 1], dtype=np.int32), np.array([0, 3, 3, 6]),
                        vocab)
    pt.fit("cgtm", with_empty, vectors=vectors, num_topics=2, num_chains=1, num_samples=3,
           warmup=2, progress=False)
