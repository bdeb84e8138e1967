"""Split–merge Metropolis–Hastings moves (LDA, GLDA, CGTM): exactness, power, recovery, options.

(a) Invariance of the move alone: chains started from *exact posterior draws* (enumerated on a
    tiny model with K = 3, so that every kind of triple, k = i and k ≠ i, occurs) take only
    split–merge moves; if the move leaves the posterior invariant the final states are again
    posterior draws, which a χ² test against the enumerated posterior checks.  The pure
    move chain is not irreducible, but invariance does not need that.  The same test rejects
    the move with the Hastings ratio q_rev/q_fwd omitted and with it inverted.
    CGTM's move changes z and η jointly, so it gets Geweke's test instead (η is continuous):
    the sweep without its z-step against forward draws of the Pyro story, with two defects.
(b) The kernel "Gibbs sweep + move" from a random start against the enumerated posterior
    (``ppltopics.testing.enumeration_chi2``).
(c) Planted recovery on a corpus of well-separated Gaussian clusters where a random-start
    chain without the moves keeps two clusters in one topic.
(d) Option handling: settings recorded, bad types rejected, defaults unchanged.

False-failure rates: each χ² test has level 1e-3 (a correct move fails with probability
1e-3), the CGTM Geweke test family-wise 1e-3 (Bonferroni over its 15 functions); the defect
tests assert rejection at that level (their observed p-values are printed).
Seeds are fixed, so outcomes are deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from ppltopics import testing as T
from ppltopics.corpus import Corpus
from ppltopics.inference._split_merge import (
    EXACT,
    NO_HASTINGS,
    NO_JACOBIAN,
    NO_PAIR_CHOICE,
    NO_PURE_ROUTE,
    NO_SPLIT_CHOICE,
    NO_WORD_VIEW,
    WRONG_SIGN,
    SplitMerge,
    parse_split_merge,
)
from ppltopics.inference._split_merge_lda import LDA_SPLIT_MERGE, lda_split_merge_defaults
from ppltopics.inference.cgtm import CGTMKernel, sample_eta, sample_niw_posterior
from ppltopics.inference.glda import GLDAKernel
from ppltopics.inference.lda import LDAKernel
from ppltopics.models import cgtm, checks, glda, lda
from ppltopics.models.cgtm import ResolvedCGTMHyper
from ppltopics.models.glda import ResolvedGLDAHyper
from ppltopics.models.lda import LDAHyper

ALPHA_CHI2 = 1e-3
K = 3
LENGTHS = np.array([3, 3])
OFFSETS = np.concatenate([[0], np.cumsum(LENGTHS)])
VECTORS = np.array([[1.5, 0.2], [1.2, -0.3], [-1.0, 1.0], [0.3, 0.1], [-1.3, 0.8], [1.6, 0.5]])
GHYPER = ResolvedGLDAHyper(num_topics=K, alpha=0.5, mu0=np.zeros(2), kappa0=0.5, nu0=4.0,
                           psi0=np.eye(2))
LDA_WORDS = np.array([0, 1, 0, 2, 1, 2], dtype=np.int32)
LHYPER = LDAHyper(num_topics=K, alpha=0.4, beta=0.3)


def _corpus(word_ids, vocab_size: int, lengths: np.ndarray = LENGTHS) -> Corpus:
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return Corpus(np.asarray(word_ids, dtype=np.int32), offsets,
                  [f"v{i}" for i in range(vocab_size)])


def _glda(method: str = "exact", **kw) -> GLDAKernel:
    h = GHYPER
    return GLDAKernel(_corpus(np.arange(6), 6), VECTORS, K, h.alpha_vector, h.mu0, h.kappa0,
                      h.nu0, h.psi0, method=method, **kw)


#: the word view (models/glda.py "Word view"): three word types, each used twice
WV = {"beta": 0.5, "vector_weight": 0.5}
WV_TABLE = VECTORS[[0, 3, 4]]


def _glda_wv(method: str = "exact", **kw) -> GLDAKernel:
    h = GHYPER
    return GLDAKernel(_corpus(LDA_WORDS, 3), WV_TABLE, K, h.alpha_vector, h.mu0, h.kappa0,
                      h.nu0, h.psi0, method=method, **WV, **kw)


def _lda(**kw) -> LDAKernel:
    return LDAKernel(_corpus(LDA_WORDS, 3), LHYPER, **kw)


def _lda_with(doc_share: float):
    """LDA kernels whose moves use the token proposal (0) or the document one (1) only."""
    def make(split_merge=True, **kw) -> LDAKernel:  # a move every other sweep at any K
        sm = split_merge if isinstance(split_merge, dict) else {}
        return _lda(split_merge={"every": 2, **sm, "doc_share": doc_share}, **kw)
    return make


@pytest.fixture(scope="module")
def glda_post() -> np.ndarray:
    return T.enumerate_posterior(lambda z: glda.log_joint(VECTORS, OFFSETS, z, GHYPER), 6, K)


@pytest.fixture(scope="module")
def glda_wv_post() -> np.ndarray:
    return T.enumerate_posterior(
        lambda z: glda.log_joint(WV_TABLE[LDA_WORDS], OFFSETS, z, GHYPER, words=LDA_WORDS,
                                 vocab_size=3, **WV), 6, K)


@pytest.fixture(scope="module")
def lda_post() -> np.ndarray:
    return T.enumerate_posterior(lambda z: lda.log_joint(LDA_WORDS, OFFSETS, z, LHYPER, 3), 6, K)


def _moves_only(kernel, probs: np.ndarray, chains: int, moves: int, seed: int) -> T.Chi2Result:
    """Start each chain from an exact posterior draw, apply ``moves`` split–merge moves only,
    χ² of the final states against the posterior."""
    rng = np.random.default_rng(seed)
    cells = rng.choice(probs.size, size=chains, p=probs)
    digits = K ** np.arange(5, -1, -1)
    finals = np.empty(chains, dtype=np.int64)
    accepted = 0
    state = kernel.init_state(rng)
    for c in range(chains):
        state["z"] = ((cells[c] // digits) % K).astype(state["z"].dtype)
        kernel.resync(state)
        for _ in range(moves):
            kernel.split_merge_moves(state, rng)
            accepted += int(state["sm_accepted"][0])
        finals[c] = T.states_to_index(state["z"], K)[0]
    res = T.chi2_gof(np.bincount(finals, minlength=probs.size), probs)
    print(f"accepted {accepted}/{chains * moves}: {res}")
    assert accepted > 0.05 * chains * moves  # the moves do move
    return res


@pytest.mark.parametrize("make, post, share, seed", [
    (_glda, "glda_post", 0.5, 1), (_glda, "glda_post", 1.0, 10),
    (_lda_with(0.0), "lda_post", 1.0, 2), (_lda_with(1.0), "lda_post", 1.0, 23),
    (_lda_with(0.5), "lda_post", 0.5, 25), (_glda_wv, "glda_wv_post", 0.5, 21)],
    ids=["glda-informed", "glda-uniform", "lda-tokens", "lda-documents", "lda-informed",
         "glda-word-view"])
def test_move_leaves_posterior_invariant(make, post, share, seed, request):
    """(a) Exact posterior draws stay posterior draws under the moves alone (χ², 1e-3), with
    the merge pair drawn from the merge scores (pair probabilities in the ratio) or
    uniformly."""
    probs = request.getfixturevalue(post)
    res = _moves_only(make(split_merge={"scans": 1, "uniform_share": share}), probs, 4_000, 3,
                      seed)
    assert not res.rejects(ALPHA_CHI2), res


@pytest.mark.parametrize("make, post", [(_glda, "glda_post"), (_lda_with(0.0), "lda_post"),
                                        (_lda_with(1.0), "lda_post"),
                                        (_glda_wv, "glda_wv_post")],
                         ids=["glda", "lda-tokens", "lda-documents", "glda-word-view"])
@pytest.mark.parametrize("defect, seed", [(NO_HASTINGS, 3), (WRONG_SIGN, 4)],
                         ids=["no-hastings", "wrong-sign"])
def test_move_defects_are_rejected(make, post, defect, seed, request):
    """(a) Power: omitting or inverting the proposal ratio q_rev/q_fwd is rejected."""
    probs = request.getfixturevalue(post)
    kernel = make(split_merge={"scans": 1})
    kernel._sm_defect = defect
    res = _moves_only(kernel, probs, 3_000, 3, seed)
    assert res.rejects(ALPHA_CHI2), res


def test_document_proposal_without_its_pure_route_is_rejected(lda_post):
    """(a) Power: LDA's document proposal whose q leaves out each document's pure route (the
    whole block to one label) is rejected."""
    kernel = _lda_with(1.0)(split_merge={"scans": 1})
    kernel._sm_defect = NO_PURE_ROUTE
    res = _moves_only(kernel, lda_post, 3_000, 3, 24)
    assert res.rejects(ALPHA_CHI2), res


def test_lda_informed_pair_without_its_probabilities_is_rejected(lda_post):
    """(a) Power: LDA's merge pair drawn by its cosine scores but with the pair probabilities
    P({i, j} | z), P({k, j} | z') left out of the ratio is rejected."""
    kernel = _lda_with(0.5)(split_merge={"scans": 1, "uniform_share": 0.2})
    kernel._sm_defect = NO_PAIR_CHOICE
    res = _moves_only(kernel, lda_post, 3_000, 3, 26)
    assert res.rejects(ALPHA_CHI2), res


def test_word_view_move_without_its_ratio_is_rejected(glda_wv_post):
    """(a) Power: the word-view move whose target ratio leaves out log p(w | z) is rejected."""
    kernel = _glda_wv(split_merge={"scans": 1})
    kernel._sm_defect = NO_WORD_VIEW
    res = _moves_only(kernel, glda_wv_post, 3_000, 3, 22)
    assert res.rejects(ALPHA_CHI2), res


@pytest.mark.parametrize("make, post, kw, seed", [
    (_glda, "glda_post", {"method": "exact"}, 5),
    (_glda, "glda_post", {"method": "fast"}, 6),
    (_lda, "lda_post", {}, 7),
    (_glda_wv, "glda_wv_post", {"method": "fast"}, 8),
], ids=["glda-exact", "glda-fast", "lda", "glda-word-view-fast"])
def test_gibbs_plus_move_enumeration(make, post, kw, seed, request):
    """(b) The kernel (sweep + move) fits the enumerated posterior from a random start."""
    probs = request.getfixturevalue(post)
    kernel = make(split_merge=True, **kw)
    res = T.enumeration_chi2(kernel, probs, num_chains=3_000, sweeps=20, seed=seed)
    print(res)
    assert not res.rejects(ALPHA_CHI2), res


#: K = 4 (so the split topic is chosen among two candidates by split score), 5 tokens
K4_VECTORS = np.array([[1.5, 0.2], [1.2, -0.3], [-1.0, 1.0], [-1.3, 0.8], [1.6, 0.5]])
K4_LENGTHS = np.array([3, 2])
K4_HYPER = ResolvedGLDAHyper(num_topics=4, alpha=0.5, mu0=np.zeros(2), kappa0=0.5, nu0=4.0,
                             psi0=0.3 * np.eye(2))


def _k4_moves_only(kernel, probs: np.ndarray, seed: int) -> T.Chi2Result:
    """3 split–merge moves from each of 20,000 exact posterior draws of a K = 4 toy with 5
    tokens (4⁵ states); χ² of the final states against the posterior."""
    rng = np.random.default_rng(seed)
    cells = rng.choice(probs.size, size=20_000, p=probs)
    digits = 4 ** np.arange(4, -1, -1)
    state = kernel.init_state(rng)
    finals = np.empty(cells.size, dtype=np.int64)
    accepted = 0
    for c in range(cells.size):
        state["z"] = ((cells[c] // digits) % 4).astype(state["z"].dtype)
        kernel.resync(state)
        for _ in range(3):
            kernel.split_merge_moves(state, rng)
            accepted += int(state["sm_accepted"][0])
        finals[c] = T.states_to_index(state["z"], 4)[0]
    res = T.chi2_gof(np.bincount(finals, minlength=probs.size), probs)
    print(f"accepted {accepted}/60000: {res}")
    assert accepted > 0.05 * 60_000  # the moves do move
    return res


@pytest.mark.parametrize("defect, seed", [(EXACT, 51), (NO_SPLIT_CHOICE, 52)],
                         ids=["exact", "no-split-choice"])
def test_informed_split_topic_choice(defect, seed):
    """(a) With K = 4 the topic to split is drawn among the two labels outside the merge
    pair by split score (``_split_merge._split_logprob``), and P(i | {k, j}, z') /
    P(k | {i, j}, z) enters the ratio.  Moves only from 20,000 exact posterior draws (4⁵
    states, χ² at 1e-3; ~67 % of moves accepted): the exact move passes (observed p 0.032;
    0.97 and 0.91 at seeds 53, 54); leaving the choice probabilities out is rejected
    (observed p ≈ 5e-22)."""
    h = K4_HYPER
    offsets = np.concatenate([[0], np.cumsum(K4_LENGTHS)])
    probs = T.enumerate_posterior(
        lambda z: glda.log_joint(K4_VECTORS, offsets, z, h), 5, 4)
    kernel = GLDAKernel(_corpus(np.arange(5), 5, K4_LENGTHS), K4_VECTORS, 4, h.alpha_vector,
                        h.mu0, h.kappa0, h.nu0, h.psi0, method="exact",
                        split_merge={"scans": 1, "resplit_share": 0.2, "uniform_share": 0.2})
    kernel._sm_defect = defect
    res = _k4_moves_only(kernel, probs, seed)
    assert res.rejects(ALPHA_CHI2) == (defect != EXACT), res


K4_LDA_WORDS = np.array([0, 1, 0, 2, 1], dtype=np.int32)
K4_LDA_HYPER = LDAHyper(num_topics=4, alpha=0.5, beta=0.3)


@pytest.mark.parametrize("defect, seed", [(EXACT, 55), (NO_SPLIT_CHOICE, 56)],
                         ids=["exact", "no-split-choice"])
def test_lda_informed_split_topic_choice(defect, seed):
    """(a) LDA's informed move with K = 4: the topic to split is drawn among the two labels
    outside the merge pair by size (``_split_merge_lda._lda_split_scores``), and
    P(i | {k, j}, z') / P(k | {i, j}, z) enters the ratio.  Moves only (document and token
    proposals) from 20,000 exact posterior draws (4⁵ states, χ² at 1e-3): the exact move
    passes, leaving the split-choice probabilities out is rejected."""
    offsets = np.concatenate([[0], np.cumsum(K4_LENGTHS)])
    probs = T.enumerate_posterior(
        lambda z: lda.log_joint(K4_LDA_WORDS, offsets, z, K4_LDA_HYPER, 3), 5, 4)
    kernel = LDAKernel(_corpus(K4_LDA_WORDS, 3, K4_LENGTHS), K4_LDA_HYPER,
                       split_merge={"scans": 1, "resplit_share": 0.2, "uniform_share": 0.2})
    kernel._sm_defect = defect
    res = _k4_moves_only(kernel, probs, seed)
    assert res.rejects(ALPHA_CHI2) == (defect != EXACT), res


CGTM_LENGTHS = np.array([3, 4, 3])
CGTM_HYPER = ResolvedCGTMHyper(num_topics=K, mu0=np.zeros(2), kappa0=0.5, nu0=4.0,
                               psi0=np.eye(2), eta_mu0=np.zeros(K), eta_kappa0=1.0,
                               eta_nu0=K + 4.0, eta_psi0=3.0 * np.eye(K))


class _CGTMWithoutZSweep(CGTMKernel):
    """CGTM's step without its z-sweep: z moves only by split–merge (η Gibbs, the joint
    moves, (μ_η, Σ_η) | η), so a Geweke test sees the moves, not the sweep."""

    def step(self, state, rng, warmup):
        c = self.corpus
        sample_eta(state["eta"], state["ndk"], c.doc_lengths.astype(np.float64),
                   state["eta_mu"], state["eta_cov"], rng, self.pg_exact_max)
        self.split_merge_moves(state, rng, state["eta"], self.eta_prior)
        self.accepted += int(state["sm_accepted"][0])
        e = self.eta_prior
        state["eta_mu"], state["eta_cov"] = sample_niw_posterior(
            state["eta"], e.mu0, e.kappa0, e.nu0, e.psi0, rng)


@pytest.fixture(scope="module")
def cgtm_forward():
    fwd = T.pyro_forward_sampler(cgtm.model, (CGTM_LENGTHS, CGTM_HYPER),
                                 latent=checks.CGTM_LATENT_SITES, data="v")
    draws = fwd(3_000, np.random.default_rng(2026))
    return lambda num, rng: draws


@pytest.mark.parametrize("defect, seed", [(EXACT, 41), (NO_JACOBIAN, 42), (NO_HASTINGS, 43)],
                         ids=["exact", "no-jacobian", "no-hastings"])
def test_cgtm_joint_move_geweke(cgtm_forward, defect, seed):
    """(a) for CGTM, whose move changes z and η's columns i, j, k jointly with (μ_η, Σ_η)
    integrated out (``_split_merge_eta._eta_move``; nothing to enumerate, η is
    continuous): Geweke's test (K = 3, documents of 3, 4, 3 tokens, 3,000 forward draws of
    the Pyro story against 10,000 successive steps of the sweep without its z-step, so z
    moves only by split–merge; CGTM's 15 test functions, Bonferroni, family-wise 1e-3).
    The exact move passes (observed p_bonferroni 0.69; 0.74 and 1 at seeds 44, 45; ~25 % of
    moves accepted); the move without the Jacobian of its η map (p ≈ 8e-24: η spread and
    level, Σ_η) and without the Hastings ratio of its z proposal (p ≈ 1e-74) are rejected."""
    kernel = _CGTMWithoutZSweep(_corpus(np.arange(10), 10, CGTM_LENGTHS),
                                cgtm_forward(0, None)[0][1], K, *CGTM_HYPER.niw_args(),
                                *CGTM_HYPER.eta_niw_args(), pg_exact_max=None,
                                split_merge={"scans": 1, "moves": 2})
    kernel._sm_defect = defect
    kernel.accepted = 0
    res = T.geweke_test(cgtm_forward, checks.CGTMConditional(kernel),
                        checks.cgtm_vector_conditional(CGTM_HYPER),
                        checks.cgtm_test_functions(
                            np.concatenate([[0], np.cumsum(CGTM_LENGTHS)]), CGTM_HYPER),
                        num_forward=3_000, num_successive=10_000, seed=seed, alpha=ALPHA_CHI2)
    print(f"accepted {kernel.accepted} of 20,000 moves\n{res}")
    assert kernel.accepted > 0.05 * 20_000
    assert res.passed == (defect == EXACT), res


# --------------------------------------------------------------------------- (d) options
def test_options_and_records():
    assert parse_split_merge(False) is None and parse_split_merge(None) is None
    assert parse_split_merge(True) == SplitMerge()
    assert parse_split_merge({"moves": 2}) == SplitMerge(moves=2, scans=2, uniform_share=0.5)
    for bad, match in [("yes", "split_merge"), (1, "split_merge"), ({"nope": 1}, "unknown"),
                       ({"moves": 0}, "moves"), ({"scans": 1.5}, "scans"),
                       ({"every": 0}, "every"), ({"soft_share": 1.0}, "soft_share"),
                       ({"soft_beta": -0.1}, "soft_beta"), ({"resplit_share": "a"}, "resplit"),
                       ({"uniform_share": 0}, "uniform_share"), ({"doc_share": 1.5}, "doc_share"),
                       ({"doc_share": True}, "doc_share")]:
        with pytest.raises(ValueError, match=match):
            parse_split_merge(bad)
    with pytest.raises(ValueError, match="split_merge"):
        _glda(split_merge="on")
    assert "split_merge" not in _glda().config() and "split_merge" not in _lda().config()
    k = _glda(split_merge={"moves": 2, "scans": 0})
    assert k.config()["split_merge"] == {"moves": 2, "every": 1, "scans": 0,
                                         "uniform_share": 0.5, "resplit_share": 0.5,
                                         "soft_share": 0.5, "soft_beta": 0.5,
                                         "doc_share": 0.5}
    rng = np.random.default_rng(0)
    st = k.init_state(rng)
    k.step(st, rng, warmup=False)
    rec = k.record(st)
    assert rec["split_merge_proposed"] == 2 and 0 <= rec["split_merge_accept"] <= 2
    k = _glda(split_merge={"every": 3})
    st = k.init_state(rng)
    proposed = []
    for _ in range(6):
        k.step(st, rng, warmup=False)
        proposed.append(k.record(st)["split_merge_proposed"])
    assert proposed == [1, 0, 0, 1, 0, 0]
    # LDA's own settings: True means LDA_SPLIT_MERGE, a dict overrides its fields
    assert parse_split_merge(True, LDA_SPLIT_MERGE) == LDA_SPLIT_MERGE
    # ... with a move every max(2, ⌈30/K⌉) sweeps (a move touches 3 of K topics)
    assert _lda(split_merge=True).split_merge == lda_split_merge_defaults(LHYPER.num_topics)
    assert [lda_split_merge_defaults(k).every for k in (3, 6, 8, 12, 15, 20, 100)] == [
        10, 5, 4, 3, 2, 2, 2]
    assert lda_split_merge_defaults(20) == LDA_SPLIT_MERGE
    assert _lda(split_merge={"every": 1}).config()["split_merge"] == {
        **LDA_SPLIT_MERGE.config(), "every": 1}
    assert LDA_SPLIT_MERGE.doc_share == 1.0 and LDA_SPLIT_MERGE.every == 2


# --------------------------------------------------------------------------- (c) recovery
def test_moves_repair_a_stuck_chain():
    """(c) The issue's planted corpus (6 clusters in 10-d, 400 docs × 60 tokens), corpus and
    chain seed 0: 200 fast sweeps from a random start leave two clusters in one topic (the
    recorded failure); the same chain with the moves recovers every centre (matched cosine
    ≥ 0.95).  And the repair itself — merge the two topics that share a cluster and re-split
    — is accepted: in ~51 % of attempts with the default proposal (102 of 200 seeds; 37 with
    the launch that allocated types by their predictive), so at least once in 20 attempts
    (false-failure rate 0.49²⁰ ≈ 6e-7).  (Jain & Neal's sharp-only proposal: 7 of 200.)"""
    from ppltopics.inference._linalg import NIWStats, new_stats
    from ppltopics.inference._split_merge_gauss import gaussian_split_merge
    from ppltopics.inference._word_view import NO_VIEW
    from ppltopics.inference.glda import _stats
    from ppltopics.models.glda import GLDAHyper
    from ppltopics.testing.planted import matched_cosines, planted_gaussian

    corpus, vectors, centres, truth = planted_gaussian(0)
    table = vectors.matrix(corpus.vocab)
    r = GLDAHyper(num_topics=6).resolve(table, counts=corpus.word_counts())

    def fit(sm):
        kern = GLDAKernel(corpus, table, 6, r.alpha, r.mu0, r.kappa0, r.nu0, r.psi0,
                          method="fast", split_merge=sm)
        rng = np.random.default_rng(0)
        st = kern.init_state(rng)
        for it in range(200):
            kern.step(st, rng, warmup=it < 100)
        return kern, st, matched_cosines(centres, kern.topic_means(st))

    kern, st, cos = fit(False)
    assert cos.min() < 0.95, cos
    # the topic holding two clusters and the other topic holding part of one of them
    share = np.zeros((6, 6), dtype=np.int64)
    np.add.at(share, (st["z"], truth), 1)
    big = (share > 0.2 * share.sum(axis=0)).sum(axis=1)
    i = int(np.argmax(big))
    cluster = np.nonzero(share[i] > 0.2 * share.sum(axis=0))[0]
    j = int(np.argmax(np.where(np.arange(6) == i, -1, share[:, cluster].sum(axis=1))))
    c = corpus

    def repair(soft_share):
        stats = _stats(st)
        s2 = NIWStats(stats.count.copy(), stats.sums.copy(), stats.scatter.copy(),
                      stats.chol.copy(), stats.logdet.copy())
        info = np.array([i, j, i, 0.0, 0.0, 0.0])
        acc = [gaussian_split_merge(
            c.word_ids, c.token_docs, table, st["z"].copy(), st["ndk"].copy(), kern.alpha,
            np.empty((0, 0)), kern.prior, s2, kern.prior, new_stats(7, kern.prior),
            np.zeros((c.num_docs, 2), dtype=np.int64), 2, np.random.default_rng(s), 0, 1.0,
            info, soft_share, 0.5, 0.5, NO_VIEW) for s in range(20)]
        return sum(acc)

    assert repair(0.5) >= 1
    _, _, cos = fit(True)
    assert cos.min() >= 0.95, cos


@pytest.mark.parametrize("beta", [1.0, 0.5], ids=["sharp", "tempered"])
def test_grouped_scan_has_the_token_by_token_conditionals(beta):
    """The Gaussian restricted scan visits the tokens grouped by word type and scores each
    with O(1) closed forms (``_predictive_plus``: rank-one updates of q and log|Ψ| for the
    group's copies); on a corpus whose types repeat, its log q of a forced target, labels,
    document counts and topic statistics equal a naive scan that removes, scores
    (``predictive_logpdf``) and re-adds token by token in the same order."""
    from ppltopics.inference import _split_merge_gauss as G
    from ppltopics.inference._linalg import (
        make_prior,
        new_stats,
        new_work,
        niw_add,
        niw_remove,
        predictive_logpdf,
    )

    rng = np.random.default_rng(0)
    M, V, N, D = 3, 5, 40, 4
    table = rng.standard_normal((V, M))
    word_ids = rng.integers(0, V, size=N)
    token_docs = np.repeat(np.arange(D), N // D)
    types, counts, tok_slot = G._type_table(np.arange(N), word_ids, np.full(V, -1))
    toks = np.argsort(tok_slot, kind="stable")
    grp = np.concatenate([[0], np.cumsum(counts)])
    lab0 = rng.integers(0, 2, size=N)
    target = rng.integers(0, 2, size=N)
    prior = make_prior(np.zeros(M), 0.3, M + 1.5, np.eye(M))
    work = new_work(M)
    la = np.array([0.4, 0.7])

    def launched():
        ws, cnt = new_stats(2, prior), np.zeros((D, 2), dtype=np.int64)
        for idx, n in enumerate(toks):
            niw_add(lab0[idx], table[word_ids[n]], ws, prior, work)
            cnt[token_docs[n], lab0[idx]] += 1
        return ws, cnt

    ws, cnt = launched()
    lab = lab0.copy()
    got = G._gauss_scan(toks, grp, lab, target, table, word_ids, token_docs, cnt, la, ws, 0,
                        prior, work, rng, beta)
    ws2, cnt2 = launched()
    want = 0.0
    for idx, n in enumerate(toks):
        x, d, a = table[word_ids[n]], token_docs[n], lab0[idx]
        niw_remove(a, x, ws2, prior, work)
        cnt2[d, a] -= 1
        logit = [beta * (np.log(cnt2[d, b] + la[b]) + predictive_logpdf(b, x, ws2, prior, work))
                 for b in (0, 1)]
        want += logit[target[idx]] - np.logaddexp(*logit)
        niw_add(target[idx], x, ws2, prior, work)
        cnt2[d, target[idx]] += 1
    assert max(counts) > 3  # the types repeat, so the group corrections are exercised
    assert got == pytest.approx(want, rel=1e-10)
    assert (lab == target).all() and (cnt == cnt2).all()
    assert (ws.count == ws2.count).all()
    assert np.allclose(ws.sums, ws2.sums) and np.allclose(ws.chol, ws2.chol, atol=1e-10)


def test_reported_topics_follow_topics_not_labels():
    """(d) A re-split move can hand two topics' halves back with their labels exchanged (a
    symmetry of the posterior), so a chain's labels switch between draws.  With the moves on,
    records and posterior means follow the topics (``GLDAKernel.label_order``): on three
    well-separated planted topics the matched topic means are the same as without the moves
    (observed max distance 0.27 both ways; 1.04 before the labels were kept), no draw's
    topic means are a permutation of the first draw's, and moves were accepted (7)."""
    from scipy.optimize import linear_sum_assignment

    import ppltopics as pt
    from ppltopics.testing.planted import planted_circle

    corpus, wv, means, _ = planted_circle(seed=0)
    post = pt.fit("glda", corpus, vectors=wv, num_topics=3, num_chains=2, num_samples=30,
                  warmup=100, progress=False, seed=1, method="exact", split_merge=True)
    assert int(post.groups["sample_stats"]["split_merge_accept"].sum()) > 0
    est = post.estimates["topic_mean"]
    cost = np.linalg.norm(est[:, None, :] - means[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    assert cost[rows, cols].max() < 0.5
    draws = post.groups["posterior"]["topic_mean"]
    for chain in draws:
        for d in chain[1:]:
            dist = np.linalg.norm(d[:, None] - chain[0][None], axis=2)
            assert (linear_sum_assignment(dist)[1] == np.arange(3)).all()


def test_launch_separates_well_separated_word_clusters():
    """The word-type launch (count-weighted 2-means from k-means++ seeds, then predictive
    re-draws) splits two well-separated clusters of word types cleanly, whatever their token
    counts: 100 of 100 launches here, against 23 of 100 for the launch that allocated the
    types one at a time by the NIW predictive of those allocated so far (a type with many
    tokens makes a narrow predictive, so the tails, not the distances, decided).  Any failure
    is a real regression: a clean split is the only reasonable outcome at this separation
    (distance 6, spread 0.3)."""
    from ppltopics.inference import _split_merge_gauss as G
    from ppltopics.inference._linalg import make_prior, new_stats

    rng = np.random.default_rng(3)
    M, T = 5, 60
    centres = np.zeros((2, M))
    centres[1, 0] = 6.0
    truth = np.repeat([0, 1], T // 2)
    table = centres[truth] + 0.3 * rng.standard_normal((T, M))
    counts = rng.integers(1, 5, size=T)
    counts[[0, T // 2]] = 400  # one heavy type in each cluster
    types = np.arange(T)
    prior = make_prior(np.zeros(M), 0.1, M + 2.0, 4.0 * np.eye(M))
    clean = 0
    for s in range(100):
        ws = new_stats(7, prior)
        tlab = G._launch(types, counts, table, ws, 0, prior, np.empty((M + 4, M)),
                         np.random.default_rng(s), 2)
        clean += int((tlab == truth).all() or (tlab != truth).all())
    assert clean == 100, clean


@pytest.mark.parametrize("scored_words", [2000, 25], ids=["every-word", "top-25-of-40"])
def test_lda_rescore_equals_a_full_rescore(scored_words, monkeypatch):
    """The informed LDA move scores the reverse pair from the merge scores of z' updated in
    the three touched topics' rows only; they must equal the scores computed from z' afresh
    (bit for bit: the ratio's forward and reverse use one function of the state), also when
    only the most frequent words are scored."""
    from ppltopics.inference import _split_merge_lda as SM
    from ppltopics.inference._split_merge_lda import (
        _rescore,
        lda_score_columns,
        lda_score_counts,
    )

    monkeypatch.setattr(SM, "LDA_SCORE_WORDS", scored_words)

    rng = np.random.default_rng(0)
    K, V, N = 6, 40, 600
    words = rng.integers(0, V, size=N)
    z = rng.integers(0, K, size=N)
    cols = lda_score_columns(words, V)
    assert (cols >= 0).sum() == min(scored_words, V)
    nkw, _, scores = lda_score_counts(z, words, cols, K)
    for i, j, k in [(0, 1, 2), (3, 4, 3), (5, 0, 1)]:
        toks = np.flatnonzero(np.isin(z, [i, j, k])).astype(np.int64)
        slot = {i: 0, j: 1, k: 2 if k != i else 0}
        old = np.array([slot[t] for t in z[toks]], dtype=np.int64)
        new = rng.integers(0, 2 if k == i else 3, size=toks.size)
        z2 = z.copy()
        z2[toks] = np.array([i, j, k])[new]
        got = _rescore(nkw, scores, toks, old, new, words, cols, np.array([i, j, k]))
        np.testing.assert_array_equal(got, lda_score_counts(z2, words, cols, K)[2])
    # the kernel reads the same counts from its packed word-topic blocks
    from ppltopics.inference._lda_sweep import TOPIC_BITS, _word_topic_lists
    from ppltopics.inference._split_merge_lda import lda_score_counts_blocks

    blocks = _word_topic_lists(words.astype(np.int32), z.astype(np.int32), V, K)
    np.testing.assert_array_equal(lda_score_counts_blocks(*blocks, cols, K, TOPIC_BITS), nkw)


@pytest.mark.parametrize("topics", [(1, 3, 0), (2, 4, 2)], ids=["merge-and-split", "resplit"])
def test_lda_log_ratio_is_the_collapsed_joint_difference(topics):
    """The move's target ratio (counts before and after packed in one scratch cell, no term
    for a document or word whose counts do not change) equals log p(w, z') − log p(w, z)
    of :func:`ppltopics.models.lda.log_joint` (to 1e-9), and leaves the scratch zero."""
    from ppltopics.inference._split_merge_lda import _lda_log_ratio

    rng = np.random.default_rng(1)
    D, V, K = 30, 40, 5
    lengths = rng.integers(5, 30, size=D)
    off = np.concatenate([[0], np.cumsum(lengths)])
    words = rng.integers(0, V, size=off[-1])
    docs = np.repeat(np.arange(D), lengths)
    alpha = np.array([0.3, 0.5, 0.2, 0.4, 0.1])
    hyper = LDAHyper(num_topics=K, alpha=alpha, beta=0.07)
    i, j, k = topics
    slots = [i, j] if k == i else [i, j, k]
    z = rng.integers(0, K, size=off[-1])
    toks = np.flatnonzero(np.isin(z, slots)).astype(np.int64)
    old = np.array([slots.index(t) for t in z[toks]], dtype=np.int64)
    new = old.copy()
    moved = rng.random(toks.size) < 0.3
    new[moved] = rng.integers(0, len(slots), size=moved.sum())
    z2 = z.copy()
    z2[toks] = np.array(slots)[new]
    cnt, wc = np.zeros((D, 3), dtype=np.int64), np.zeros((V, 3), dtype=np.int64)
    alpha3 = np.array([alpha[i], alpha[j], alpha[k] if k != i else 1.0])
    got = _lda_log_ratio(toks, old, new, words, docs, alpha3, 0.07, V * 0.07, cnt, wc)
    want = lda.log_joint(words, off, z2, hyper, V) - lda.log_joint(words, off, z, hyper, V)
    assert got == pytest.approx(want, abs=1e-9)
    assert not cnt.any() and not wc.any()


def _random_split_docs(rng: np.random.Generator, D: int, V: int) -> tuple[np.ndarray, ...]:
    """Documents of 1–11 random words (document and word of every token) and the zero
    scratch counts ``cnt`` (D, 3), ``wc`` (V, 3) of ``_lda_split_docs``."""
    lengths = rng.integers(1, 12, size=D)
    docs = np.repeat(np.arange(D), lengths)
    words = rng.integers(0, V, size=docs.size)
    return docs, words, np.zeros((D, 3), dtype=np.int64), np.zeros((V, 3), dtype=np.int64)


def test_lda_early_rejection_bound_holds():
    """The document proposal's early rejection uses log q_rev ≤ m·log ε (m documents where
    z gives both labels): over random states and forced reverse splits, the forced log q
    never exceeds it (to 1e-9), and the bound is not vacuous (m > 0 in most draws)."""
    from ppltopics.inference._split_merge_lda import (
        DOC_TOKEN_ROUTE,
        _lda_split_docs,
        _mixed_docs,
    )

    rng = np.random.default_rng(2)
    V = 15
    docs, words, cnt, wc = _random_split_docs(rng, 20, V)
    positive = 0
    for trial in range(200):
        toks = np.sort(rng.choice(docs.size, size=rng.integers(2, docs.size), replace=False))
        labels = rng.integers(0, 2, size=toks.size)
        if trial % 3 == 0:  # whole documents on one label: m = 0
            labels = docs[toks] % 2
        m = _mixed_docs(toks, labels, docs)
        _, logq = _lda_split_docs(toks.astype(np.int64), labels.astype(np.int64), words,
                                  docs, cnt, wc, np.array([0.3, 0.6]), 0.1, V * 0.1,
                                  np.random.default_rng(trial), 1, 0)
        assert logq <= m * np.log(DOC_TOKEN_ROUTE) + 1e-9
        positive += m > 0
    assert positive > 100


def test_lda_reverse_scan_stops_only_below_its_floor():
    """The forced scan's early stop (``floor``) is exact and draws nothing: over random
    states and floors around the full log q, it returns the full value when that is above the
    floor and −∞ when it is at or below, leaves the scratch zero, and the generator ends where
    the full scan leaves it.  A stop that ignored the floor's sign, or a term > 0, fails."""
    from ppltopics.inference._split_merge_lda import _lda_split_docs

    rng = np.random.default_rng(3)
    V = 15
    docs, words, cnt, wc = _random_split_docs(rng, 25, V)
    stopped = 0

    def forced(toks: np.ndarray, labels: np.ndarray, seed: int, floor: float
               ) -> tuple[float, float]:
        g = np.random.default_rng(seed)
        _, logq = _lda_split_docs(toks, labels, words, docs, cnt, wc, np.array([0.3, 0.6]),
                                  0.1, V * 0.1, g, 1, 0, floor)
        assert not cnt.any() and not wc.any()
        return logq, g.random()

    for trial in range(150):
        toks = np.sort(rng.choice(docs.size, size=rng.integers(2, docs.size), replace=False))
        labels = rng.integers(0, 2, size=toks.size).astype(np.int64)
        full, after = forced(toks, labels, trial, -np.inf)
        floor = full + rng.normal(0.0, 3.0)
        got, after_floor = forced(toks, labels, trial, floor)
        assert after_floor == after
        if full > floor:
            assert got == full
        else:
            assert got == -np.inf
            stopped += 1
    assert 30 < stopped < 120
