"""Statistical correctness of the LDA kernel against its Pyro story (harness: ppltopics.testing).

(a) Exact enumeration: on toy corpora of 5-6 tokens the posterior p(z | w) over all K**N
    assignments is computed from ``models.lda.log_joint``; the final states of 10 000
    independent 15-sweep chains are tallied and compared with Pearson's χ² (cells with expected
    count < 5 pooled).  The start-up bias of 15 sweeps is bounded exactly (total variation
    < 1e-7, :func:`ppltopics.testing.gibbs_scan_law`).
(b) Geweke's joint-distribution test: 10 000 forward draws of (z, w) from the Pyro model
    against 50 000 draws of the successive-conditional chain (one kernel sweep z | w, then
    w ~ p(w | z)), on six label-invariant test functions, batch-means variances, Bonferroni.
(c) Power: a dense reference sweep with the defect "the current token is not removed before
    its conditional is computed" (a defect of public reference codes; from all counts, or
    from n_kw and n_k only) is rejected by both tests, while the same reference without the
    defect, and the real ``LDAKernel``, are accepted.

Failure rates (probability that a *correct* kernel fails, i.e. that another seed would fail):
each χ² test rejects at p < ``ALPHA_CHI2`` = 1e-3; each Geweke test has family-wise level
``ALPHA_GEWEKE`` = 1e-3 (Bonferroni over 6 functions: p < 1.67e-4 each).  The correct-kernel
tests in this file together fail with probability ≲ 1.1e-2.  Seeds are fixed, so results are
deterministic.  The calibration of both tests over many seeds is checked by the ``slow`` tests.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import linear_sum_assignment

import ppltopics
from ppltopics import testing as T
from ppltopics.corpus import Corpus
from ppltopics.inference.lda import LDAKernel
from ppltopics.models import checks, lda
from ppltopics.models.lda import LDAHyper

#: level of each enumeration χ² test (false-failure rate of a correct kernel ≈ 1e-3)
ALPHA_CHI2 = 1e-3
#: family-wise level of each Geweke test (Bonferroni over the test functions)
ALPHA_GEWEKE = 1e-3

#: sweeps per independent chain in the enumeration tests, and the bias bound they guarantee
SWEEPS = 15
MAX_TV = 1e-7
NUM_CHAINS = 10_000

# --------------------------------------------------------------------------- toy problems
#: name -> (word ids per document, vocabulary size, hyperparameters)
TOYS: dict[str, tuple[list[list[int]], int, LDAHyper]] = {
    # K=2, symmetric α, 6 tokens, repeated words inside and across documents: 64 states
    "K2-symmetric": ([[0, 1, 1], [2, 0, 2]], 3, LDAHyper(num_topics=2, alpha=0.5, beta=0.3)),
    # K=3, asymmetric α, an unused vocabulary word (V=4 enters Vβ): 243 states
    "K3-asymmetric": ([[0, 1], [1, 2, 0]], 4,
                      LDAHyper(num_topics=3, alpha=(0.2, 0.6, 1.0), beta=0.25)),
    # K=5 (the dense sweep's four-wide loop and its remainder both run), 5 tokens: 3125 states
    "K5-asymmetric": ([[0, 1, 1], [2, 0]], 3,
                      LDAHyper(num_topics=5, alpha=(0.1, 0.3, 0.5, 0.8, 1.2), beta=0.4)),
}


def _corpus(docs: list[list[int]], vocab_size: int) -> Corpus:
    lengths = [len(d) for d in docs]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return Corpus(np.concatenate(docs), offsets, [f"w{v}" for v in range(vocab_size)])


@pytest.fixture(scope="module")
def toys() -> dict[str, tuple[Corpus, LDAHyper, np.ndarray]]:
    """Toy corpora with their exact posteriors over every assignment z."""
    out = {}
    for name, (docs, vocab_size, hyper) in TOYS.items():
        corpus = _corpus(docs, vocab_size)
        out[name] = (corpus, hyper, checks.lda_enumerated_posterior(corpus, hyper))
    return out


# --------------------------------------------------------------------------- (a) enumeration
@pytest.mark.parametrize("name", list(TOYS))
def test_enumerated_posterior_and_startup_bias(toys, name):
    """The enumerated posterior is the normalised exp(log_joint), is invariant under the exact
    systematic-scan Gibbs law (π P = π), and SWEEPS sweeps from a uniform start leave a
    total-variation bias below MAX_TV, negligible against 10 000 draws."""
    corpus, hyper, probs = toys[name]
    n, k = corpus.num_tokens, hyper.num_topics
    assert probs.shape == (k**n,) and np.isclose(probs.sum(), 1.0)
    z = np.array([1, 0, 0, 1, 0][:n] + [0] * (n - 5))
    idx = T.states_to_index(z, k)[0]
    ratio = probs[idx] / probs[0]
    zero = np.zeros(n, dtype=np.int64)
    expect = np.exp(lda.log_joint(corpus.word_ids, corpus.doc_offsets, z, hyper, corpus.vocab_size)
                    - lda.log_joint(corpus.word_ids, corpus.doc_offsets, zero, hyper,
                                    corpus.vocab_size))
    assert np.isclose(ratio, expect, rtol=1e-10)
    assert T.total_variation(T.gibbs_scan_law(probs, n, k, 1, init=probs), probs) < 1e-12
    assert T.total_variation(T.gibbs_scan_law(probs, n, k, 2), probs) > 1e-6  # not trivially
    assert T.total_variation(T.gibbs_scan_law(probs, n, k, SWEEPS), probs) < MAX_TV


def _kernel(corpus: Corpus, hyper: LDAHyper, sweep: str) -> LDAKernel:
    """LDAKernel with its dense O(K) sweep (what these K choose) or the SparseLDA buckets."""
    kernel = LDAKernel(corpus, hyper)
    assert kernel.dense_sweep
    kernel.dense_sweep = sweep == "dense"
    return kernel


@pytest.mark.parametrize("sweep", ["dense", "buckets"])
@pytest.mark.parametrize("name, seed", [("K2-symmetric", 11), ("K3-asymmetric", 12),
                                        ("K5-asymmetric", 17)])
def test_lda_kernel_enumeration_chi2(toys, name, seed, sweep):
    """LDAKernel's final states of 10 000 independent chains fit the exact posterior, for both
    sweeps (the dense one and the SparseLDA buckets).

    Statistic: Pearson χ² over the K**N assignments (pooled to expected ≥ 5);
    fails a correct kernel with probability ≈ ALPHA_CHI2 = 1e-3 (each of the six).
    """
    corpus, hyper, probs = toys[name]
    res = T.enumeration_chi2(_kernel(corpus, hyper, sweep), probs, num_chains=NUM_CHAINS,
                             sweeps=SWEEPS, seed=seed + (sweep == "buckets") * 100)
    print(f"LDAKernel {sweep} {name}: {res}")
    assert res.num_draws == NUM_CHAINS and res.dof >= 50
    assert not res.rejects(ALPHA_CHI2), res


def test_reference_kernel_enumeration_chi2(toys):
    """Sanity: the dense reference sweep without defect passes the same test (rate 1e-3)."""
    corpus, hyper, probs = toys["K2-symmetric"]
    res = T.enumeration_chi2(checks.ReferenceLDAKernel(corpus, hyper), probs,
                             num_chains=NUM_CHAINS, sweeps=SWEEPS, seed=13)
    print(f"reference K2-symmetric: {res}")
    assert not res.rejects(ALPHA_CHI2), res


@pytest.mark.parametrize(
    "mutation, name, seed",
    [("no_remove", "K2-symmetric", 14), ("no_remove", "K3-asymmetric", 15),
     ("no_remove_word", "K3-asymmetric", 16)],
)
def test_enumeration_chi2_catches_defects(toys, mutation, name, seed):
    """(c) A sweep that computes the conditional without removing the current token first
    ("no_remove": from n_dk, n_kw and n_k; "no_remove_word": from n_kw and n_k only) targets a
    different law; the χ² test rejects it (observed p ≈ 2e-100, 5e-11 and 2e-148)."""
    corpus, hyper, probs = toys[name]
    res = T.enumeration_chi2(checks.ReferenceLDAKernel(corpus, hyper, mutation=mutation), probs,
                             num_chains=NUM_CHAINS, sweeps=SWEEPS, seed=seed)
    print(f"{mutation} {name}: {res}")
    assert res.rejects(ALPHA_CHI2), res


def test_enumeration_chi2_impossible_state_and_pooling():
    """Harness units: pooling keeps totals and every bin ≥ 5 expected; a draw in a
    zero-probability cell gives p = 0; too few draws is an error."""
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(50, 0.3))
    counts = rng.multinomial(400, probs)
    obs, exp = T.merge_small_cells(counts, 400 * probs)
    assert obs.sum() == 400 and np.isclose(exp.sum(), 400) and (exp >= 5).all()
    res = T.chi2_gof(counts, probs)
    assert res.dof == obs.size - 1 and 0 < res.p_value <= 1
    probs0 = np.array([0.5, 0.5, 0.0])
    assert T.chi2_gof(np.array([10, 10, 1]), probs0).p_value == 0.0
    with pytest.raises(ValueError, match="too few"):
        T.chi2_gof(np.array([2, 1]), np.array([0.6, 0.4]))


# --------------------------------------------------------------------------- (b) Geweke
#: tiny configuration: D=3 documents × 4 tokens, V=4, K=3 (3**12 assignments: not enumerable
#: cheaply, but mixing of the joint chain is fast: ESS ≈ 0.2-0.8 per draw)
GEWEKE_LENGTHS = np.array([4, 4, 4])
GEWEKE_V = 4
GEWEKE_HYPER = LDAHyper(num_topics=3, alpha=0.5, beta=0.3)
NUM_FORWARD = 10_000
NUM_SUCCESSIVE = 50_000


@pytest.fixture(scope="module")
def geweke_parts():
    """Forward draws from the Pyro model (drawn once, shared), the word conditional and the
    label-invariant test functions of the Geweke configuration."""
    offsets = np.concatenate([[0], np.cumsum(GEWEKE_LENGTHS)])
    fwd = T.pyro_forward_sampler(lda.model, (GEWEKE_LENGTHS, GEWEKE_V, GEWEKE_HYPER))
    draws = fwd(NUM_FORWARD, np.random.default_rng(2024))

    def forward(num: int, rng: np.random.Generator):
        return draws if num == NUM_FORWARD else fwd(num, rng)

    return {
        "forward": forward,
        "draws": draws,
        "offsets": offsets,
        "data_step": checks.lda_word_conditional(GEWEKE_V, GEWEKE_HYPER),
        "tests": checks.lda_test_functions(offsets, GEWEKE_V, GEWEKE_HYPER),
    }


def _geweke(parts, kernel, seed: int, num_successive: int = NUM_SUCCESSIVE) -> T.GewekeResult:
    return T.geweke_test(parts["forward"], T.CorpusConditional(kernel), parts["data_step"],
                         parts["tests"], num_forward=NUM_FORWARD, num_successive=num_successive,
                         seed=seed, alpha=ALPHA_GEWEKE)


def _geweke_corpus(parts) -> Corpus:
    w = parts["draws"][0][1]
    return Corpus(w, parts["offsets"], [f"w{v}" for v in range(GEWEKE_V)])


def test_geweke_test_functions(geweke_parts):
    """The vectorised collapsed log joint equals models.lda.log_joint, and every test function
    is invariant to relabelling the topics."""
    draws = geweke_parts["draws"][:50]
    z = np.stack([d[0] for d in draws]).astype(np.int64)
    w = np.stack([d[1] for d in draws]).astype(np.int64)
    offsets = geweke_parts["offsets"]
    ref = [lda.log_joint(w[i], offsets, z[i], GEWEKE_HYPER, GEWEKE_V) for i in range(len(z))]
    np.testing.assert_allclose(
        checks.lda_log_joint_batch(z, w, offsets, GEWEKE_V, GEWEKE_HYPER), ref, rtol=1e-12)
    perm = np.array([2, 0, 1])
    for name, g in geweke_parts["tests"].items():
        np.testing.assert_allclose(g(perm[z], w), g(z, w), err_msg=name)


@pytest.mark.parametrize("sweep, seed", [("dense", 21), ("buckets", 25)])
def test_lda_kernel_geweke(geweke_parts, sweep, seed):
    """LDAKernel passes Geweke's test with either sweep: forward and successive-conditional
    means of the six label-invariant test functions agree (family-wise false-failure rate
    1e-3 each)."""
    res = _geweke(geweke_parts, _kernel(_geweke_corpus(geweke_parts), GEWEKE_HYPER, sweep),
                  seed=seed)
    print(res)
    assert min(r.ess_successive for r in res.rows) > 5_000  # the joint chain mixes
    assert res.passed, str(res)


def test_reference_kernel_geweke(geweke_parts):
    """Sanity: the correct dense reference sweep passes too (rate 1e-3)."""
    kernel = checks.ReferenceLDAKernel(_geweke_corpus(geweke_parts), GEWEKE_HYPER)
    res = _geweke(geweke_parts, kernel, seed=22)
    print(res)
    assert res.passed, str(res)


@pytest.mark.parametrize("mutation, seed", [("no_remove", 23), ("no_remove_word", 24)])
def test_geweke_catches_defects(geweke_parts, mutation, seed):
    """(c) Geweke's test rejects the no-remove defects (observed p_bonferroni ≈ 4e-21 for
    "no_remove": largest_topic, topics_used and word_topic_pairs move; ≈ 2e-66 for
    "no_remove_word": doc_pairs_same_topic and log_joint move)."""
    kernel = checks.ReferenceLDAKernel(_geweke_corpus(geweke_parts), GEWEKE_HYPER,
                                       mutation=mutation)
    res = _geweke(geweke_parts, kernel, seed=seed)
    print(mutation, res)
    assert not res.passed, str(res)


# --------------------------------------------------------------------------- recovery, MCMC
def test_recovers_simulated_topics():
    """Topics of a corpus simulated from the Pyro story (K=5, V=200, 300 docs × 60 tokens,
    α=0.1, β=0.05) are recovered: after Hungarian matching on cosine similarity the
    posterior-mean φ has mean cosine > 0.95 with the true φ."""
    hyper = LDAHyper(num_topics=5, alpha=0.1, beta=0.05)
    sim = lda.simulate(300, 60, 200, hyper, seed=7)
    post = ppltopics.fit("lda", sim.corpus, num_topics=5, num_chains=2, num_samples=30,
                         warmup=100, progress=False, alpha=0.1, beta=0.05, seed=3)
    est, true = post.phi, sim.phi
    assert est.shape == true.shape
    a = est / np.linalg.norm(est, axis=1, keepdims=True)
    b = true / np.linalg.norm(true, axis=1, keepdims=True)
    cos = a @ b.T
    rows, cols = linear_sum_assignment(-cos)
    print("matched cosines", np.round(cos[rows, cols], 4))
    assert cos[rows, cols].mean() > 0.95


# --------------------------------------------------------------------------- calibration
@pytest.mark.slow
def test_enumeration_chi2_calibration(toys):
    """Study: over 40 seeds the χ² p-values of the correct LDAKernel are uniform
    (Kolmogorov–Smirnov p > 1e-3), so the stated false-failure rate holds."""
    corpus, hyper, probs = toys["K3-asymmetric"]
    kernel = LDAKernel(corpus, hyper)
    p = [T.enumeration_chi2(kernel, probs, num_chains=4_000, sweeps=SWEEPS, seed=1000 + s).p_value
         for s in range(40)]
    ks = stats.kstest(p, "uniform")
    print(f"chi2 calibration: KS p={ks.pvalue:.3g}, share p<0.05: {np.mean(np.less(p, 0.05))}")
    assert ks.pvalue > 1e-3


@pytest.mark.slow
def test_geweke_calibration(geweke_parts):
    """Study: over 60 seeds (1 000 forward, 10 000 successive draws each) the per-function
    Geweke p-values of the correct LDAKernel are uniform (KS p > 1e-3 for each function) and
    the Bonferroni family fails at most once (P(≥ 2 of 60) ≈ 2e-3 at level 1e-3).

    A one-off 200-seed run of this study gave shares of p < 0.05 between 0.045 and 0.065 per
    function, 0/200 family failures, and batch-means variances within ±15% of the empirical
    variance of the successive means (the sampling noise of 200 seeds is ±10%).
    """
    t0 = time.perf_counter()
    fwd = T.pyro_forward_sampler(lda.model, (GEWEKE_LENGTHS, GEWEKE_V, GEWEKE_HYPER))
    pvals: dict[str, list[float]] = {name: [] for name in geweke_parts["tests"]}
    fails = 0
    for s in range(60):
        res = T.geweke_test(
            fwd, T.CorpusConditional(LDAKernel(_geweke_corpus(geweke_parts), GEWEKE_HYPER)),
            geweke_parts["data_step"], geweke_parts["tests"], num_forward=1_000,
            num_successive=10_000, seed=5000 + s, alpha=ALPHA_GEWEKE)
        fails += not res.passed
        for r in res.rows:
            pvals[r.name].append(r.p_value)
    for name, p in pvals.items():
        ks = stats.kstest(p, "uniform")
        print(f"{name}: KS p={ks.pvalue:.3g}, share p<0.05: {np.mean(np.less(p, 0.05)):.3f}")
        assert ks.pvalue > 1e-3, name
    print(f"family failures: {fails}/60 in {time.perf_counter() - t0:.0f}s")
    assert fails <= 1
