"""Gaussian LDA: statistical correctness of both kernels, recovery, the fit API, bad input.

Harness: :mod:`ppltopics.testing`, with GLDA's pieces in :mod:`ppltopics.models.checks.glda`
(the exact data conditional v | z, a batched collapsed log joint and label-invariant test
functions).

(a) Geweke's joint-distribution test (M=2, K=2, 3 documents × 4 tokens, α=0.5, κ0=0.5,
    ν0=M+2, Ψ0=I, μ0=0): 4 000 forward draws of (z, v) from the Pyro story
    (``models.glda.model``) against 20 000 draws of the successive-conditional chain (kernel
    sweeps z | v, then v ~ p(v | z) with fresh (μ_k, Σ_k) from the NIW prior), seven
    label-invariant test functions (occupied topics, largest topic share, within-document
    same-topic pairs, within-topic relative distance and direction of the vectors, the offset
    of the mean vector, the collapsed log joint), batch means, Bonferroni.  With ν0 = M+2 the
    topic covariances are heavy tailed, so the functions are bounded or logarithms.
(b) Power: two defective exact kernels are rejected — κ0 mis-scaled ×4 in the kernel's NIW
    algebra, and a sweep that computes the conditional without removing the current token
    first (the public GLDA code's defect); observed p_bonferroni ≈ 2e-11 and 1e-9, the exact
    kernel's ≈ 1.
(c) Exact enumeration on a fixed 6-token data set (2**6 assignments, exact posterior from
    ``models.glda.log_joint``): final states of independent chains against the posterior
    (Pearson χ², as in the LDA tests).
(d) Exact and fast kernels give the same posterior means of label-invariant statistics (lp,
    log likelihood, sorted topic shares) on a simulated corpus with repeated word types.
(e) Recovery of planted, well-separated Gaussian topics through ``ppltopics.fit``.
(f) The fit API and (g) clear errors for bad input.

The fast kernel (alias tables of stale predictives + MH) is tested in (a) and (c) with tables
that do not depend on the chain's current z: the prior predictive (the kernel's state before
any adaptation) and tables rebuilt from an *independent* random z after every data swap
(non-uniform alias tables).  Rebuilding the tables from the chain's own state while sampling
(what the kernel did before it froze them after warm-up) makes token n's proposal depend on
z_n itself: a pure-Python replica of that sweep with its transition matrix enumerated gave
TV(πP, π) = 0.043; Geweke rejected it (p_bonferroni ≈ 8e-11) and so did enumeration
(χ² = 215 on 49 dof).  That scheme is kept below as a defect the harness must reject.

Failure rates (probability that a *correct* kernel fails, i.e. that another seed would fail):
each Geweke test has family-wise level 1e-3 (Bonferroni over 7 functions); each χ² test
1e-3; the exact/fast comparison has family-wise level 1e-3 (Bonferroni over 5 statistics,
batch-means standard errors).  Seeds are fixed, so the outcomes are deterministic.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np
import pytest
from scipy import stats
from scipy.optimize import linear_sum_assignment

import ppltopics as pt
from ppltopics import testing as T
from ppltopics.corpus import Corpus
from ppltopics.inference._linalg import (
    NIWStats,
    niw_add,
    niw_remove,
    predictive_logpdf_topics,
)
from ppltopics.inference._sampling import log_categorical
from ppltopics.inference._word_view import NO_VIEW
from ppltopics.inference.glda import GLDAKernel, _stats, exact_sweep
from ppltopics.inference.runner import RunSpec, run_chains
from ppltopics.models import checks, glda
from ppltopics.models.glda import GLDAHyper, ResolvedGLDAHyper
from ppltopics.posteriors import GaussianPosterior
from ppltopics.testing.planted import planted_circle

#: family-wise level of each Geweke test (Bonferroni over the test functions)
ALPHA_GEWEKE = 1e-3
#: level of each enumeration χ² test
ALPHA_CHI2 = 1e-3
#: family-wise level of the exact-vs-fast posterior comparison (Bonferroni over statistics)
ALPHA_EQUIV = 1e-3



def _corpus(lengths, vocab_size: int, word_ids=None) -> Corpus:
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = np.arange(offsets[-1]) if word_ids is None else word_ids
    return Corpus(np.asarray(ids, dtype=np.int32), offsets, [f"v{i}" for i in range(vocab_size)])


def _kernel(corpus: Corpus, table: np.ndarray, hyper: ResolvedGLDAHyper, cls=GLDAKernel,
            kappa0: float | None = None, **kw) -> GLDAKernel:
    return cls(corpus, table, hyper.num_topics, hyper.alpha_vector, np.array(hyper.mu0),
               hyper.kappa0 if kappa0 is None else kappa0, hyper.nu0, np.array(hyper.psi0),
               **kw)


# --------------------------------------------------------------------------- defective kernel
@numba.njit(cache=True, nogil=True)
def _no_remove_sweep(word_ids, doc_offsets, table, z, ndk, alpha, stats_, prior, rng):
    """The exact sweep with the public GLDA code's defect: token n's conditional is computed
    while it is still counted in its current topic (n_dk and the NIW statistics); the counts
    are then moved correctly, so only the conditional is wrong."""
    num_topics = alpha.shape[0]
    M = table.shape[1]
    work = np.empty((M + 4, M))
    logp = np.empty(num_topics)
    buf = np.empty(num_topics)
    for d in range(doc_offsets.shape[0] - 1):
        for n in range(doc_offsets[d], doc_offsets[d + 1]):
            x = table[word_ids[n]]
            old = z[n]
            predictive_logpdf_topics(x, stats_, prior, logp, work)
            for t in range(num_topics):
                logp[t] += math.log(ndk[d, t] + alpha[t])
            new = log_categorical(rng, logp, num_topics, buf)
            ndk[d, old] -= 1
            niw_remove(old, x, stats_, prior, work)
            niw_add(new, x, stats_, prior, work)
            ndk[d, new] += 1
            z[n] = new


class IndependentProposalGLDA(GLDAKernel):
    """Fast kernel whose proposal tables are rebuilt after every data swap (``resync``) from
    topic assignments drawn independently of the chain: non-uniform alias tables that do not
    depend on the current z, so every MH step must be exactly p(z | v)-invariant."""

    def __init__(self, *args, proposal_seed: int = 0, **kw):
        super().__init__(*args, **kw)
        self._proposal_rng = np.random.default_rng(proposal_seed)

    def resync(self, state):
        super().resync(state)
        z = self._proposal_rng.integers(0, self.num_topics, size=self.num_tokens)
        self.refresh_proposal(state, z=z)


class SelfAdaptingGLDA(GLDAKernel):
    """Defect: fast kernel that rebuilds its tables from its own current state before every
    sweep, also while sampling (the proposal then depends on the token being moved)."""

    def step(self, state, rng, warmup):
        self.refresh_proposal(state)
        super().step(state, rng, warmup)


class NoRemoveGLDAKernel(GLDAKernel):
    """GLDAKernel (exact) whose sweep does not remove the current token first (defect)."""

    def step(self, state, rng, warmup):
        s = NIWStats(*(state[k] for k in ("count", "sums", "scatter", "chol", "logdet")))
        c = self.corpus
        _no_remove_sweep(c.word_ids, c.doc_offsets, self.table, state["z"], state["ndk"],
                         self.alpha, s, self.prior, rng)
        state["sweeps"][0] += 1


# --------------------------------------------------------------------------- (a) Geweke
GEWEKE_LENGTHS = np.array([4, 4, 4])
GEWEKE_OFFSETS = np.concatenate([[0], np.cumsum(GEWEKE_LENGTHS)])
GEWEKE_HYPER = ResolvedGLDAHyper(num_topics=2, alpha=0.5, mu0=np.zeros(2), kappa0=0.5,
                                 nu0=4.0, psi0=np.eye(2))
NUM_FORWARD = 4_000
NUM_SUCCESSIVE = 20_000


@pytest.fixture(scope="module")
def geweke_parts():
    """Forward draws of (z, v) from the Pyro story (drawn once and shared), the data
    conditional and the label-invariant test functions."""
    fwd = T.pyro_forward_sampler(glda.model, (GEWEKE_LENGTHS, GEWEKE_HYPER), latent="z",
                                 data="v")
    t0 = time.perf_counter()
    draws = fwd(NUM_FORWARD, np.random.default_rng(2025))
    print(f"{NUM_FORWARD} forward draws in {time.perf_counter() - t0:.1f}s")

    def forward(num: int, rng: np.random.Generator):
        return draws if num == NUM_FORWARD else fwd(num, rng)

    return {
        "forward": forward,
        "draws": draws,
        "data_step": checks.glda_vector_conditional(GEWEKE_HYPER),
        "tests": checks.glda_test_functions(GEWEKE_OFFSETS, GEWEKE_HYPER),
    }


def _geweke(parts, kernel: GLDAKernel, seed: int, sweeps: int = 1,
            num_successive: int = NUM_SUCCESSIVE) -> T.GewekeResult:
    t0 = time.perf_counter()
    res = T.geweke_test(parts["forward"], T.CorpusConditional(kernel, sweeps=sweeps),
                        parts["data_step"], parts["tests"], num_forward=NUM_FORWARD,
                        num_successive=num_successive, seed=seed, alpha=ALPHA_GEWEKE)
    print(f"{type(kernel).__name__}({kernel.method}) in {time.perf_counter() - t0:.1f}s\n{res}")
    return res


def _geweke_kernel(parts, cls=GLDAKernel, **kw) -> GLDAKernel:
    n = int(GEWEKE_OFFSETS[-1])  # one word type per token: the table is the token vectors
    return _kernel(_corpus(GEWEKE_LENGTHS, n), parts["draws"][0][1], GEWEKE_HYPER, cls, **kw)


def test_geweke_pieces(geweke_parts):
    """Harness pieces: the batched log joint equals ``models.glda.log_joint``; every test
    function is invariant to relabelling the topics; the numpy NIW prior draw has the right
    moments (E[Σ⁻¹] = ν0 Ψ0⁻¹ and E[μ] = μ0, a Wishart/normal mean with finite variance);
    v | z has one M-vector per token."""
    draws = geweke_parts["draws"][:50]
    z = np.stack([d[0] for d in draws])
    v = np.stack([d[1] for d in draws])
    ref = [glda.log_joint(v[i], GEWEKE_OFFSETS, z[i], GEWEKE_HYPER) for i in range(len(z))]
    np.testing.assert_allclose(checks.glda_log_joint_batch(z, v, GEWEKE_OFFSETS, GEWEKE_HYPER),
                               ref, rtol=1e-12)
    for name, g in geweke_parts["tests"].items():
        np.testing.assert_allclose(g(1 - z, v), g(z, v), err_msg=name)
        assert np.all(np.isfinite(g(z, v))), name

    h = ResolvedGLDAHyper(num_topics=1, alpha=1.0, mu0=np.array([1.0, -2.0]), kappa0=2.0,
                          nu0=5.5, psi0=np.array([[2.0, 0.6], [0.6, 1.0]]))
    mean, cov = T.niw_prior_draw(h, 40_000, np.random.default_rng(0))
    prec = np.linalg.inv(cov)
    expect = h.nu0 * np.linalg.inv(h.psi0)
    se = prec.std(axis=0) / math.sqrt(len(prec))
    assert np.all(np.abs(prec.mean(axis=0) - expect) < 5 * se)
    assert np.all(np.abs(mean.mean(axis=0) - h.mu0) < 5 * mean.std(axis=0) / math.sqrt(40_000))
    out = geweke_parts["data_step"](z[0], np.random.default_rng(1))
    assert out.shape == v[0].shape and out.dtype == np.float64


def test_exact_kernel_geweke(geweke_parts):
    """The exact kernel passes Geweke's test (family-wise false-failure rate 1e-3)."""
    res = _geweke(geweke_parts, _geweke_kernel(geweke_parts, method="exact"), seed=31)
    assert min(r.ess_successive for r in res.rows) > 2_000  # the joint chain mixes
    assert res.passed, str(res)


@pytest.mark.parametrize("cls, seed", [(GLDAKernel, 32), (IndependentProposalGLDA, 33)],
                         ids=["prior-tables", "independent-tables"])
def test_fast_kernel_geweke(geweke_parts, cls, seed):
    """The fast kernel passes Geweke's test (rate 1e-3) with the prior-predictive tables it
    starts from and with non-uniform tables that do not depend on the chain's z."""
    kernel = _geweke_kernel(geweke_parts, cls=cls, method="fast", mh_steps=2)
    res = _geweke(geweke_parts, kernel, seed=seed)
    assert res.passed, str(res)


@pytest.mark.parametrize("defect, seed", [("kappa0x4", 34), ("no_remove", 35),
                                          ("self_adapting", 36)])
def test_geweke_rejects_defective_kernels(geweke_parts, defect, seed):
    """(b) Geweke's test has power: an exact sweep whose NIW algebra uses κ0 ×4, and one that
    does not remove the current token before computing its conditional, are rejected
    (observed p_bonferroni ≈ 2e-11 for κ0 ×4: doc_pairs_same_topic t ≈ −7.1; ≈ 1e-9 for the
    no-remove sweep: largest_topic t ≈ 6.6, topics_used, same_topic_rel_dist also move)."""
    if defect == "kappa0x4":
        kernel = _geweke_kernel(geweke_parts, method="exact", kappa0=4 * GEWEKE_HYPER.kappa0)
    elif defect == "self_adapting":
        kernel = _geweke_kernel(geweke_parts, cls=SelfAdaptingGLDA, method="fast", mh_steps=2)
    else:
        kernel = _geweke_kernel(geweke_parts, cls=NoRemoveGLDAKernel, method="exact")
    res = _geweke(geweke_parts, kernel, seed=seed)
    assert not res.passed, str(res)


# --------------------------------------------------------------------------- (c) enumeration
ENUM_LENGTHS = np.array([3, 3])
ENUM_VECTORS = np.array([[1.5, 0.2], [1.2, -0.3], [-1.0, 1.0], [0.3, 0.1], [-1.3, 0.8],
                         [1.6, 0.5]])


@pytest.fixture(scope="module")
def enum_posterior() -> np.ndarray:
    off = np.concatenate([[0], np.cumsum(ENUM_LENGTHS)])
    return T.enumerate_posterior(lambda z: glda.log_joint(ENUM_VECTORS, off, z, GEWEKE_HYPER),
                                 len(ENUM_VECTORS), 2)


def _enum_chi2(probs, seed: int, sweeps: int, cls=GLDAKernel, **kw) -> T.Chi2Result:
    kernel = _kernel(_corpus(ENUM_LENGTHS, len(ENUM_VECTORS)), ENUM_VECTORS, GEWEKE_HYPER, cls,
                     **kw)
    res = T.enumeration_chi2(kernel, probs, num_chains=5_000, sweeps=sweeps, seed=seed)
    print(kw, res)
    return res


def test_exact_kernel_enumeration_chi2(enum_posterior):
    """Final states of 5 000 independent 20-sweep exact chains fit the enumerated posterior
    (start-up bias < 1e-6 in total variation, exactly; χ² at level 1e-3)."""
    n = len(ENUM_VECTORS)
    assert T.total_variation(T.gibbs_scan_law(enum_posterior, n, 2, 20), enum_posterior) < 1e-6
    res = _enum_chi2(enum_posterior, seed=41, sweeps=20, method="exact")
    assert res.dof >= 30 and not res.rejects(ALPHA_CHI2), res


def test_fast_kernel_enumeration_chi2(enum_posterior):
    """The fast kernel's final states (150 sweeps, mh_steps=2, tables from an independent z)
    fit the posterior; the self-adapting defect does not.  The MH chain mixes more slowly
    than exact Gibbs: after 40 sweeps p-values were 0.007-0.24 over seeds (finite-run bias),
    after 150 sweeps 0.79-0.99."""
    res = _enum_chi2(enum_posterior, seed=42, sweeps=150, method="fast", mh_steps=2,
                     cls=IndependentProposalGLDA)
    assert not res.rejects(ALPHA_CHI2), res
    bad = _enum_chi2(enum_posterior, seed=43, sweeps=40, method="fast", mh_steps=2,
                     cls=SelfAdaptingGLDA)
    assert bad.rejects(ALPHA_CHI2), bad


# --------------------------------------------------------------------------- (d) exact = fast
def _split_rhat(x: np.ndarray) -> float:
    """Split-R̂ (Gelman et al.) of a (chains, draws) array."""
    half = x.shape[1] // 2
    parts = np.concatenate([x[:, :half], x[:, half:2 * half]])
    w = parts.var(axis=1, ddof=1).mean()
    b = parts.mean(axis=1).var(ddof=1)
    return float(math.sqrt(((half - 1) / half * w + b) / w))


def _mean_and_var(x: np.ndarray, num_batches: int) -> tuple[float, float, float]:
    """Mean of (chains, draws) ``x``, the variance of that mean (per-chain batch means, chains
    independent) and its Welch–Satterthwaite denominator term Σ v_c²/(b − 1)."""
    v = np.array([T.batch_means_variance(c, num_batches)[0] for c in x]) / x.shape[0] ** 2
    return float(x.mean()), float(v.sum()), float((v**2).sum() / (num_batches - 1))


def test_exact_and_fast_kernels_agree():
    """(d) On a corpus simulated with repeated word types (K=3, M=2, 40 docs × 15 tokens,
    V=60, so the per-word alias tables are shared by ~10 tokens each), 4 chains × 300 draws of
    each kernel give the same posterior means of lp, log likelihood and the three sorted topic
    shares: Welch t with batch-means variances (10 batches per chain), Bonferroni over the 5
    statistics at family-wise level 1e-3.  Each kernel's chains agree with each other first
    (split-R̂ < 1.1 on every statistic; a chain stuck in a local mode would void the test).

    Observed: |t| ≤ 0.9 for all five.  Power note: at this size (600 tokens, ~10 tokens per
    word type) the fast kernel's bias (see the module doc) is below the resolution of the
    test; the Geweke and enumeration tests are the sharp checks.
    """
    hy = GLDAHyper(3, alpha=0.5, kappa0=2.0, nu0=4.0, psi0=1.0, mu0=(0.0, 0.0))
    sim = glda.simulate_vocabulary(40, 15, hy, vocab_size=60, seed=3)
    table = sim.vectors.matrix(sim.corpus.vocab)
    values = {}
    for method, seed in (("exact", 7), ("fast", 8)):
        kernel = _kernel(sim.corpus, table, sim.hyper, method=method, refresh_every=1)
        t0 = time.perf_counter()
        res = run_chains(kernel, RunSpec(num_chains=4, num_samples=300, warmup=100, seed=seed,
                                         progress=False, executor="serial"))
        print(f"{method}: {time.perf_counter() - t0:.1f}s")
        vals = {k: np.stack([r.stats[k] for r in res]) for k in ("lp", "log_likelihood")}
        shares = np.stack([r.draws["sorted_topic_share"] for r in res])
        vals.update({f"sorted_share[{j}]": shares[:, :, j] for j in range(3)})
        values[method] = vals
    names = list(values["exact"])
    level = ALPHA_EQUIV / len(names)
    for name in names:
        rows = []
        for method in ("exact", "fast"):
            rhat = _split_rhat(values[method][name])
            assert rhat < 1.1, (method, name, rhat)
            rows.append(_mean_and_var(values[method][name], num_batches=10))
        (ma, va, da), (mb, vb, db) = rows
        se = math.sqrt(va + vb)
        t = (ma - mb) / se
        dof = se**4 / (da + db)
        p = 2 * stats.t.sf(abs(t), dof)
        print(f"{name:16s} exact {ma:11.4f} fast {mb:11.4f} se {se:.4f} t {t:6.2f} "
              f"dof {dof:5.1f} p {p:.3g}")
        assert p > level, (name, ma, mb, se, t, p)


# ------------------------------------------------------------- (d') exact sweep = textbook
@numba.njit(cache=True, nogil=True)
def _remove_score_add_sweep(word_ids, doc_offsets, table, z, ndk, alpha, stats_, prior, rng,
                            doc_logw):
    """The textbook collapsed Gibbs sweep (Das et al. 2015): remove token n from its topic, score
    every topic by a fresh triangular solve with its Cholesky factor, draw, add."""
    num_topics = ndk.shape[1]
    M = table.shape[1]
    work = np.empty((M + 4, M))
    logp = np.empty(num_topics)
    buf = np.empty(num_topics)
    for d in range(doc_offsets.shape[0] - 1):
        for n in range(doc_offsets[d], doc_offsets[d + 1]):
            x = table[word_ids[n]]
            ndk[d, z[n]] -= 1
            niw_remove(z[n], x, stats_, prior, work)
            predictive_logpdf_topics(x, stats_, prior, logp, work)
            for t in range(num_topics):
                logp[t] += (math.log(ndk[d, t] + alpha[t]) if doc_logw.shape[0] == 0
                            else doc_logw[d, t])
            new = log_categorical(rng, logp, num_topics, buf)
            niw_add(new, x, stats_, prior, work)
            ndk[d, new] += 1
            z[n] = new


@pytest.mark.parametrize("M, K, docs, length, weights", [
    (50, 8, 40, 30, False),   # GloVe-sized vectors: many inverse-factor updates per topic
    (50, 8, 40, 30, True),    # CGTM's document weights e^{η_dk}
    (3, 10, 5, 6, False),     # more topics than the data fill: empty topics, the prior path
])
def test_exact_sweep_draws_equal_textbook_sweep(M, K, docs, length, weights):
    """The exact kernel's sweep (inverse Cholesky factors carried by product-form rank-one
    updates, leave-one-out score of the own topic, cached log(n_dk + α_k)) draws the same z
    as the textbook remove/score/add sweep from the same random stream, sweep after sweep: the
    two compute the same conditional, so their log-probabilities differ by rounding only
    (~1e-13), and a draw could differ only if a uniform fell that close to a category
    boundary (probability ~1e-10 over the whole test).  The NIW statistics then agree too."""
    rng = np.random.default_rng(M + K)
    centres = 3.0 * rng.standard_normal((4, M))
    V = 200
    table = centres[rng.integers(0, 4, V)] + rng.standard_normal((V, M))
    lengths = np.full(docs, length)
    corpus = _corpus(lengths, V, rng.integers(0, V, docs * length))
    hyper = GLDAHyper(K).resolve(table[corpus.word_ids])
    kernel = _kernel(corpus, table, hyper, method="exact")
    state = kernel.init_state(np.random.default_rng(1))
    ref = {k: v.copy() for k, v in state.items()}
    doc_logw = rng.standard_normal((docs, K)) if weights else np.empty((0, 0))
    c = corpus
    r_new, r_ref = np.random.default_rng(2), np.random.default_rng(2)
    moved = 0
    for _ in range(8):
        before = state["z"].copy()
        exact_sweep(c.word_ids, c.doc_offsets, table, state["z"], state["ndk"], kernel.alpha,
                    _stats(state), kernel.prior, r_new, doc_logw, 0, c.num_docs, NO_VIEW)
        _remove_score_add_sweep(c.word_ids, c.doc_offsets, table, ref["z"], ref["ndk"],
                                kernel.alpha, _stats(ref), kernel.prior, r_ref, doc_logw)
        np.testing.assert_array_equal(state["z"], ref["z"])
        moved += int((before != state["z"]).sum())
    # the chain moves: the rank-one paths (and the periodic recomputation of the inverse
    # factors, every 64 changes of a topic) are exercised
    assert moved >= c.num_tokens // 2
    np.testing.assert_array_equal(state["ndk"], ref["ndk"])
    np.testing.assert_array_equal(state["count"], ref["count"])
    np.testing.assert_allclose(state["logdet"], ref["logdet"], rtol=1e-11)
    np.testing.assert_allclose(state["chol"], ref["chol"], atol=1e-9)


# --------------------------------------------------------------------------- (e) recovery
@pytest.mark.parametrize("method", ["fast", "exact"])
def test_recovers_planted_gaussian_topics(method):
    """(e) ``ppltopics.fit`` (data-driven NIW defaults) on 3 well-separated planted topics:
    after Hungarian matching the posterior-mean topic means are within 10% of the smallest
    distance between true means (observed max 0.27 of 8.7), and every matched column of
    doc_topics correlates with the true θ (r > 0.9; observed ≥ 0.96)."""
    corpus, wv, means, theta = planted_circle(seed=0)
    post = pt.fit("glda", corpus, vectors=wv, num_topics=3, num_chains=2, num_samples=30,
                  warmup=100, progress=False, seed=1, method=method)
    est = post.estimates["topic_mean"]
    cost = np.linalg.norm(est[:, None, :] - means[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    sep = min(np.linalg.norm(means[i] - means[j]) for i in range(3) for j in range(i))
    print(method, "matched distances", np.round(cost[rows, cols], 3), "separation", sep)
    assert cost[rows, cols].max() < 0.1 * sep
    dt = post.doc_topics()
    r = [np.corrcoef(dt[:, i], theta[:, j])[0, 1] for i, j in zip(rows, cols, strict=True)]
    print("theta correlations", np.round(r, 3))
    assert min(r) > 0.9


# --------------------------------------------------------------------------- (f) API
@pytest.fixture(scope="module")
def fitted():
    """Small fits of both methods on overlapping planted topics (the posterior moves)."""
    corpus, wv, _, _ = planted_circle(seed=2, spread=1.5, noise=1.0, num_docs=30, doc_length=12,
                                vocab_size=45)
    posts = {m: pt.fit("glda", corpus, vectors=wv, num_topics=3, num_chains=2, num_samples=20,
                       warmup=20, progress=False, seed=4, method=m)
             for m in ("exact", "fast")}
    return corpus, wv, posts


@pytest.mark.parametrize("method", ["exact", "fast"])
def test_fit_api(fitted, method, tmp_path):
    """(f) fit returns a GaussianPosterior whose datatree has posterior ``topic_mean``
    (chain, draw, topic, dim) and sample_stats lp / log_likelihood (and, for the fast method,
    an acceptance rate in (0, 1]); top words by density and by counts; transform gives rows
    summing to 1; held-out log *density*; save/load round trip; diagnostics summary."""
    corpus, wv, posts = fitted
    post = posts[method]
    assert isinstance(post, GaussianPosterior)
    dt = post.to_datatree()
    tm = dt["posterior"]["topic_mean"]
    assert tm.dims == ("chain", "draw", "topic", "dim") and tm.shape == (2, 20, 3, 2)
    ss = dt["sample_stats"]
    for name in ("lp", "log_likelihood"):
        assert ss[name].shape == (2, 20) and np.all(np.isfinite(ss[name].values))
        assert np.ptp(ss[name].values) > 0  # the chains move
    if method == "fast":
        acc = ss["acceptance_rate"].values
        assert np.all((acc > 0) & (acc <= 1))
    else:
        assert "acceptance_rate" not in ss.data_vars
    assert post.estimates["topic_mean"].shape == (3, 2)
    assert post.estimates["topic_cov"].shape == (3, 2, 2)

    for by in ("density", "counts"):
        top = post.top_words(5) if by == "density" else post.top_words(5, by=by)
        assert len(top) == 3 and all(len(t) == 5 and set(t) <= set(corpus.vocab) for t in top)
    with pytest.raises(ValueError, match="density"):
        post.top_words(5, by="nope")

    new = Corpus(corpus.word_ids[:24], np.array([0, 12, 24]), corpus.vocab)
    theta = post.transform(new)
    assert theta.shape == (2, 3) and np.allclose(theta.sum(axis=1), 1.0)
    assert post.doc_topics().shape == (corpus.num_docs, 3)

    held = pt.evaluation.heldout_loglik(post, new, particles=5)
    assert held.kind == "log density" and np.isfinite(held.total)

    loaded = pt.load(post.save(tmp_path / f"glda-{method}"))
    assert isinstance(loaded, GaussianPosterior)
    for key, val in post.estimates.items():
        np.testing.assert_allclose(loaded.estimates[key], val, err_msg=key)
    assert loaded.top_words(5) == post.top_words(5)
    assert loaded.top_words(5, by="counts") == post.top_words(5, by="counts")

    table = pt.diagnostics.summary(post)
    assert {"lp", "log_likelihood"} <= set(table.index)


def test_fit_is_deterministic_and_methods_share_settings(fitted):
    """Same seed ⇒ identical posterior; the settings record the method and prior."""
    corpus, wv, posts = fitted
    again = pt.fit("glda", corpus, vectors=wv, num_topics=3, num_chains=2, num_samples=20,
                   warmup=20, progress=False, seed=4, method="fast")
    np.testing.assert_array_equal(again.estimates["topic_mean"],
                                  posts["fast"].estimates["topic_mean"])
    for m, post in posts.items():
        assert post.settings["method"] == m and post.settings["dim"] == 2
        assert post.settings["nu0"] == 4.0  # data-driven default M + 2


# --------------------------------------------------------------------------- (g) bad input
@pytest.fixture(scope="module")
def tiny():
    vocab = ["a", "b", "c", "d"]
    corpus = Corpus(np.array([0, 1, 2, 3, 0, 1], dtype=np.int32), np.array([0, 3, 6]), vocab)
    vectors = pt.WordVectors(vocab, np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 2.5], [0.5, 3.0]]))
    return corpus, vectors


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"vectors": "missing"}, ValueError, r"no vector.*restrict"),
        ({"mu0": [0.0, 0.0, 0.0]}, ValueError, "dimension mismatch: mu0"),
        ({"psi0": np.eye(3)}, ValueError, "dimension mismatch: psi0"),
        ({"kappa0": 0.0}, ValueError, "kappa0 must be > 0"),
        ({"kappa0": -1.0}, ValueError, "kappa0 must be > 0"),
        ({"nu0": 1.0}, ValueError, r"nu0 must be > M - 1"),
        ({"psi0": [[1.0, 0.5], [0.0, 1.0]]}, ValueError, "not symmetric"),
        ({"psi0": [[1.0, 2.0], [2.0, 1.0]]}, ValueError, "symmetric positive definite"),
        ({"psi0": -1.0}, ValueError, "symmetric positive definite"),
        ({"num_topics": 7}, ValueError, "larger than the data"),
        ({"vectors": None}, TypeError, "needs word vectors"),
        ({"method": "slow"}, ValueError, "method must be 'exact' or 'fast'"),
        ({"mh_steps": 0}, ValueError, "mh_steps"),
        ({"alpha": -0.5}, ValueError, "alpha"),
    ],
)
def test_fit_rejects_bad_input(tiny, kwargs, exc, match):
    """(g) Each bad input is a ValueError/TypeError whose message names the problem."""
    corpus, vectors = tiny
    kw = {"vectors": vectors, "num_topics": 2, "num_chains": 1, "num_samples": 2, "warmup": 1,
          "progress": False, **kwargs}
    if kw["vectors"] == "missing":  # a word of the corpus ("d") has no vector
        kw["vectors"] = pt.WordVectors(corpus.vocab[:3], vectors.vectors[:3])
    with pytest.raises(exc, match=match):
        pt.fit("glda", corpus, **kw)


def test_non_finite_vectors_are_rejected(tiny):
    """(g) NaN/inf: WordVectors refuses them at construction (naming the word); vectors made
    non-finite afterwards are refused by fit; the kernel refuses a non-finite table."""
    corpus, vectors = tiny
    bad = vectors.vectors.copy()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf.*\['b'\]"):
        pt.WordVectors(corpus.vocab, bad)
    wv = pt.WordVectors(corpus.vocab, vectors.vectors.copy())
    wv.vectors[2, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        pt.fit("glda", corpus, vectors=wv, num_topics=2, num_chains=1, num_samples=2,
               warmup=1, progress=False)
    h = ResolvedGLDAHyper(num_topics=2, alpha=0.5, mu0=np.zeros(2), kappa0=1.0, nu0=4.0,
                          psi0=np.eye(2))
    with pytest.raises(ValueError, match="NaN or inf"):
        _kernel(corpus, wv.vectors, h)
    with pytest.raises(ValueError, match="one row per vocabulary word"):
        _kernel(corpus, vectors.vectors[:3], h)


# --------------------------------------------------------------------------- calibration
@pytest.mark.slow
def test_geweke_calibration_exact_kernel(geweke_parts):
    """Study: over 30 seeds (1 000 fresh forward and 5 000 successive draws each) the
    per-function Geweke p-values of the exact kernel are uniform (KS p > 1e-3 for each
    function, so the heavy-tailed story does not void the t statistics) and the Bonferroni
    family fails at most once (P(≥ 2 of 30) ≈ 4e-4 at level 1e-3)."""
    fwd = T.pyro_forward_sampler(glda.model, (GEWEKE_LENGTHS, GEWEKE_HYPER), latent="z",
                                 data="v")
    pvals: dict[str, list[float]] = {name: [] for name in geweke_parts["tests"]}
    fails = 0
    t0 = time.perf_counter()
    for s in range(30):
        res = T.geweke_test(
            fwd, T.CorpusConditional(_geweke_kernel(geweke_parts, method="exact")),
            geweke_parts["data_step"], geweke_parts["tests"], num_forward=1_000,
            num_successive=5_000, seed=7000 + s, alpha=ALPHA_GEWEKE)
        fails += not res.passed
        for r in res.rows:
            pvals[r.name].append(r.p_value)
    for name, p in pvals.items():
        ks = stats.kstest(p, "uniform")
        print(f"{name}: KS p={ks.pvalue:.3g}, share p<0.05: {np.mean(np.less(p, 0.05)):.3f}")
        assert ks.pvalue > 1e-3, name
    print(f"family failures: {fails}/30 in {time.perf_counter() - t0:.0f}s")
    assert fails <= 1


def test_fast_kernel_moves_tokens_whose_stale_density_underflows():
    """A token thousands of nats from its topic has exp(stale − max) = 0 for that topic; the
    MH ratio must use the stale *log* densities, or the token is stranded (the ratio would
    hold log 0 = −inf and reject every move).  Topic 0 is large (a near-Gaussian predictive
    with 2,000 tight vectors); the stale table comes from an assignment without token 0."""
    rng = np.random.default_rng(0)
    near = 0.1 * rng.standard_normal((2000, 2))
    far = np.array([[60.0, 60.0], [60.1, 60.0], [60.0, 60.1]])
    vectors = np.vstack([far[:1], near, far[1:]])  # token 0 is far away
    corpus = _corpus([len(vectors)], len(vectors))
    kernel = GLDAKernel(corpus, vectors, 2, 0.5, np.zeros(2), 0.01, 4.0, 0.01 * np.eye(2),
                        method="fast")
    state = kernel.init_state(rng)
    table_z = np.r_[1, np.zeros(2000, dtype=np.int64), 1, 1]
    kernel.refresh_proposal(state, z=table_z)
    assert state["scaled"][0, 0] == 0.0 and np.isfinite(state["log_scaled"][0, 0])
    state["z"][:] = np.r_[0, np.zeros(2000, dtype=np.int64), 1, 1]  # token 0 stranded in 0
    kernel.resync(state)
    kernel.refresh_proposal(state, z=table_z)
    for _ in range(3):
        kernel.step(state, rng, warmup=False)
    assert state["z"][0] == state["z"][-1] != state["z"][1]
