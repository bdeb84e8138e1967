"""Topic-quality options and the quality protocol (issue 13).

* ``WordVectors`` preparation (``center``, ``normalize``, ``remove_top_components``, ``pca``,
  ``prepare``) returns new objects, leaves the caller's vectors unchanged and does what its
  formula says; bad dimensions are ``ValueError``.
* ``Corpus.prune`` keeps the words over the thresholds; a threshold that leaves no word is a
  ``ValueError`` naming it.
* ``psi0="within"`` gives Ψ0 from the within-cluster covariance (smaller than the whole
  covariance on clustered vectors); an unknown rule is a ``ValueError``.
* ``top_words(by=...)`` of Gaussian posteriors and trees: density / counts / rerank /
  relevance, and an unknown name is a ``ValueError`` naming it; LDA's by probability /
  relevance.  Relevance (Sievert & Shirley 2014) equals its formula, ranks by probability at
  λ = 1 and by lift at λ = 0, and moves a word that every topic shares behind the topic's own.
* ``pt.fit`` passes ``min_count`` / ``prepare`` to the embedding models and records them.
* ``coherence(..., window="document")`` and ``quality_report`` against hand computations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.corpus import Corpus
from ppltopics.models.gaussian_prior import GLDAHyper, within_cluster_cov
from ppltopics.posteriors.base import relevance
from ppltopics.posteriors.gaussian import rank_gaussian_words


# ------------------------------------------------------------------ word vectors
@pytest.fixture()
def vecs() -> pt.WordVectors:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 6)) @ np.diag([5, 3, 1, 1, 0.5, 0.2]) + 2.0
    return pt.WordVectors([f"w{i}" for i in range(30)], x.astype(np.float32))


def test_preparation_returns_new_vectors_and_keeps_the_original(vecs):
    before = vecs.vectors.copy()
    c = vecs.center()
    assert np.allclose(c.vectors.mean(axis=0), 0, atol=1e-12)
    n = vecs.normalize()
    assert np.allclose(np.linalg.norm(n.vectors, axis=1), 1)
    a = vecs.remove_top_components(2)
    # the removed directions are the top two principal directions of the centred vectors
    _, _, vt = np.linalg.svd(c.vectors, full_matrices=False)
    assert np.allclose(a.vectors @ vt[:2].T, 0, atol=1e-9)
    assert np.allclose(a.vectors @ vt[2:].T, c.vectors @ vt[2:].T)
    p = vecs.pca(3)
    assert p.dim == 3 and p.vocab == vecs.vocab
    # PCA coordinates keep the variance of the top 3 directions, in decreasing order
    var = p.vectors.var(axis=0)
    assert np.all(np.diff(var) <= 0)
    assert 0 < p.report["prepared"][-1]["explained_variance"] < 1
    assert np.array_equal(vecs.vectors, before) and vecs.vectors.dtype == np.float32
    assert "prepared" not in vecs.report
    chained = vecs.prepare("abtt:1,normalize")
    assert [s["step"] for s in chained.report["prepared"]] == ["remove_top_components",
                                                             "normalize"]
    assert vecs.prepare(None) is vecs


def test_weighted_preparation_is_that_of_repeated_rows(vecs):
    """``weights`` = integer counts: abtt and pca fitted to the weighted rows are those fitted
    to each row repeated that many times (compared through the rows' Gram matrix, which
    does not depend on the axes' signs); weights all equal give the unweighted result; the
    weighted outputs have weighted mean 0 and, after pca, a diagonal weighted covariance."""
    counts = np.random.default_rng(1).integers(0, 6, size=len(vecs))
    counts[:3] = [9, 0, 7]
    rep_rows = np.repeat(np.arange(len(vecs)), counts)
    repeated = pt.WordVectors([f"r{i}" for i in range(rep_rows.size)],
                              vecs.vectors[rep_rows].astype(np.float64))
    first = np.searchsorted(rep_rows, np.flatnonzero(counts))  # a copy of each kept row
    kept = np.flatnonzero(counts)
    for steps in ("abtt", "pca:3", "abtt,pca:2"):
        w = vecs.prepare(steps, counts).vectors
        r = repeated.prepare(steps).vectors
        np.testing.assert_allclose(w[kept] @ w[kept].T, r[first] @ r[first].T, atol=1e-8)
        assert np.allclose(counts @ w, 0, atol=1e-8)
        same = vecs.prepare(steps, np.full(len(vecs), 2.5)).vectors
        plain = vecs.prepare(steps).vectors
        np.testing.assert_allclose(same @ same.T, plain @ plain.T, atol=1e-8)
    w = vecs.pca(3, counts).vectors
    cov = (w * (counts / counts.sum())[:, None]).T @ w
    assert np.allclose(cov - np.diag(np.diag(cov)), 0, atol=1e-8)
    assert np.all(np.diff(np.diag(cov)) <= 0)
    # the weighted directions differ from the unweighted ones (not a vacuous weight)
    u = vecs.pca(3).vectors
    assert not np.allclose(w @ w.T, u @ u.T, atol=1e-3)
    for bad in (np.ones(3), -np.ones(len(vecs)), np.zeros(len(vecs)),
                np.full(len(vecs), np.nan)):
        with pytest.raises(ValueError, match="weights must be"):
            vecs.pca(2, bad)


@pytest.mark.parametrize("call, match", [
    (lambda v: v.pca(7), "pca dim=7 is larger than the vectors' dimension 6"),
    (lambda v: v.pca(0), "positive integer"),
    (lambda v: v.remove_top_components(6), r"in \[0, 6\)"),
    (lambda v: v.prepare("whiten"), "unknown vector preparation step 'whiten'"),
    (lambda v: v.prepare("pca:x"), "'x' is not a non-negative integer"),
])
def test_preparation_rejects_bad_arguments(vecs, call, match):
    with pytest.raises(ValueError, match=match):
        call(vecs)


# ------------------------------------------------------------------ vocabulary threshold
def test_prune_keeps_words_over_the_thresholds():
    docs = [["a", "a", "b", "c"], ["a", "b"], ["a", "d", "d", "d"]]
    c = Corpus.from_tokens(docs)
    assert sorted(c.prune(min_count=2).vocab) == ["a", "b", "d"]
    assert sorted(c.prune(min_df=2).vocab) == ["a", "b"]
    assert sorted(c.prune(min_count=3, min_df=2).vocab) == ["a"]
    assert c.prune(min_count=3, min_df=2).report["prune_min_count"] == 3
    with pytest.raises(ValueError, match="min_count=5, min_df=1 leaves no word"):
        c.prune(min_count=5)
    with pytest.raises(ValueError, match="min_df must be a positive integer"):
        c.prune(min_df=0)


# ------------------------------------------------------------------ data-driven Ψ0
def test_within_cluster_psi0_is_the_spread_of_one_cluster():
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((4, 3)) * 10
    x = np.repeat(centres, 50, axis=0) + 0.5 * rng.standard_normal((200, 3))
    w = within_cluster_cov(x, None, 4)
    assert np.allclose(w, 0.25 * np.eye(3), atol=0.08)  # the clusters' own covariance
    cov = GLDAHyper(4).resolve(x).psi0
    within = GLDAHyper(4, psi0="within").resolve(x)
    assert np.trace(within.psi0) < 0.05 * np.trace(cov)
    assert "psi0:within" in within.derived
    assert np.allclose(GLDAHyper(4, psi0="cov").resolve(x).psi0, cov)
    with pytest.raises(ValueError, match="unknown psi0 rule 'tight'"):
        GLDAHyper(4, psi0="tight")


# ------------------------------------------------------------------ topic-word rankings
def test_rank_gaussian_words_rerank_reorders_the_density_shortlist():
    vocab = ["a", "b", "c", "d", "e"]
    logdens = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]])
    counts = np.array([[1.0, 0.0, 9.0, 50.0, 100.0]])
    assert rank_gaussian_words(logdens, counts, 3, vocab, "density") == [["a", "b", "c"]]
    assert rank_gaussian_words(logdens, counts, 3, vocab, "counts") == [["e", "d", "c"]]
    # shortlist 3 = a, b, c re-ranked by counts; then the rest by density
    assert rank_gaussian_words(logdens, counts, 5, vocab, "rerank", shortlist=3) == [
        ["c", "a", "b", "d", "e"]]
    with pytest.raises(ValueError, match="by must be 'density', 'counts', 'rerank' or "
                                         "'relevance', got 'tfidf'"):
        rank_gaussian_words(logdens, counts, 3, vocab, "tfidf")


def test_relevance_is_its_formula_and_spans_probability_to_lift():
    rng = np.random.default_rng(1)
    phi = rng.dirichlet(np.ones(7), size=3)
    freq = rng.integers(1, 50, size=7).astype(float)
    p = freq / freq.sum()
    for lam in (0.0, 0.3, 0.6, 1.0):
        want = lam * np.log(phi) + (1 - lam) * np.log(phi / p)
        assert np.allclose(relevance(phi, freq, lam), want, rtol=1e-12)
    assert (np.argsort(-relevance(phi, freq, 1.0), axis=1)
            == np.argsort(-phi, axis=1)).all()
    assert (np.argsort(-relevance(phi, 3 * freq, 0.0), axis=1)
            == np.argsort(-phi / p, axis=1)).all()
    freq[2] = 0  # a word absent from the corpus is never a top word
    assert np.isneginf(relevance(phi, freq, 0.6)[:, 2]).all()


def test_relevance_moves_a_word_every_topic_shares_behind_the_topics_own():
    # word "the" holds 20 % of every topic (ties with a topic's 2nd and 3rd words: the counts
    # rank it 2nd, lower id first); each topic has three words of its own
    vocab = ["the", "a1", "a2", "a3", "b1", "b2", "b3"]
    counts = np.array([[20.0, 40, 20, 20, 0, 0, 0], [20.0, 0, 0, 0, 40, 20, 20]])
    assert [t[0] for t in rank_gaussian_words(None, counts, 2, vocab, "counts")] == [
        "a1", "b1"]
    by_count = rank_gaussian_words(None, counts, 3, vocab, "counts")
    by_rel = rank_gaussian_words(None, counts, 3, vocab, "relevance", relevance_weight=0.6)
    assert all("the" in t for t in by_count)
    assert by_rel == [["a1", "a2", "a3"], ["b1", "b2", "b3"]]
    # λ = 1: the smoothed shares' order, which is the counts' order
    assert rank_gaussian_words(None, counts, 3, vocab, "relevance",
                               relevance_weight=1.0) == by_count


def _planted(seed: int = 0, num_docs: int = 40, doc_length: int = 15, vocab_size: int = 60):
    rng = np.random.default_rng(seed)
    means = 4.0 * np.array([[1, 0], [-0.5, 0.87], [-0.5, -0.87]])
    owner = np.arange(vocab_size) % 3
    vectors = means[owner] + 0.6 * rng.standard_normal((vocab_size, 2))
    theta = rng.dirichlet(np.full(3, 0.3), size=num_docs)
    ids = []
    for d in range(num_docs):
        z = rng.choice(3, size=doc_length, p=theta[d])
        ids.append([rng.choice(np.flatnonzero(owner == t)) for t in z])
    vocab = [f"w{i:03d}" for i in range(vocab_size)]
    labels = np.argmax(theta, axis=1).astype(str)
    corpus = Corpus(np.concatenate(ids).astype(np.int32),
                    np.arange(num_docs + 1) * doc_length, vocab, labels=labels)
    return corpus, pt.WordVectors(vocab, vectors)


@pytest.fixture(scope="module")
def glda_post():
    corpus, wv = _planted()
    return pt.fit("glda", corpus, vectors=wv, num_topics=3, num_chains=1, num_samples=5,
                  warmup=30, progress=False, seed=0, min_count=2, prepare="center")


def test_glda_top_words_by_each_ranking(glda_post):
    post = glda_post
    dens = post.top_words(5, by="density")
    cnt = post.top_words(5, by="counts")
    rr = post.top_words(5, by="rerank", shortlist=10)
    assert post.top_words(5) == post.top_words(5, by="rerank")  # the default
    k = post.estimates["word_topic"]
    idx = post.corpus.word_index
    for t in range(3):
        assert [k[t, idx[w]] for w in cnt[t]] == sorted(k[t, list(map(idx.get, cnt[t]))],
                                                        reverse=True)
        short = set(post.top_words(10, by="density")[t])
        assert set(rr[t]) <= short
    assert dens != cnt
    beta = 0.01  # without the word view, the counts' shares smoothed by 0.01
    phi = (k + beta) / (k.sum(axis=1, keepdims=True) + k.shape[1] * beta)
    rel = relevance(phi, k.sum(axis=0), 0.5)
    for t, words in enumerate(post.top_words(5, by="relevance", relevance_weight=0.5)):
        got = [rel[t, idx[w]] for w in words]
        assert got == sorted(rel[t], reverse=True)[:5]
    with pytest.raises(ValueError, match="got 'tfidf'"):
        post.top_words(5, by="tfidf")


def test_lda_top_words_by_probability_and_relevance():
    corpus, _ = _planted()
    post = pt.fit("lda", corpus, num_topics=3, num_chains=1, num_samples=5, warmup=30,
                  progress=False, seed=0)
    idx = corpus.word_index
    assert post.top_words(5) == post.top_words(5, by="probability")
    for t, words in enumerate(post.top_words(5)):
        assert [post.phi[t, idx[w]] for w in words] == sorted(post.phi[t], reverse=True)[:5]
    rel = relevance(post.phi, corpus.word_counts(), 0.6)
    for t, words in enumerate(post.top_words(5, by="relevance")):  # λ = 0.6 by default
        assert [rel[t, idx[w]] for w in words] == sorted(rel[t], reverse=True)[:5]


def test_fit_records_embedding_options_and_refuses_them_elsewhere(glda_post):
    s = glda_post.settings
    assert s["min_count"] == 2 and s["prepare"] == "center" and "pruned_vocab_size" in s
    corpus, wv = _planted()
    with pytest.raises(ValueError, match="apply to the models over word vectors"):
        pt.fit("lda", corpus, num_topics=3, num_chains=1, num_samples=2, warmup=2,
               progress=False, min_count=2)
    with pytest.raises(ValueError, match="prepare_weights must be 'tokens' or 'words'"):
        pt.fit("glda", corpus, vectors=wv, num_topics=3, num_chains=1, num_samples=2,
               warmup=2, progress=False, prepare="abtt", prepare_weights="types")


def test_prepare_weights_tokens_fits_the_steps_to_the_token_counts():
    """prepare_weights="tokens": the fitted vectors are ``prepare(steps, token counts)`` of
    the corpus fitted (recorded in the settings), "words" the unweighted ones."""
    corpus, wv = _planted()
    counts = np.bincount(corpus.word_ids, minlength=corpus.vocab_size)
    for weighting, weights in (("tokens", counts), ("words", None)):
        post = pt.fit("glda", corpus, vectors=wv, num_topics=3, num_chains=1, num_samples=2,
                      warmup=2, progress=False, seed=0, prepare="abtt:1,pca:2",
                      prepare_weights=weighting)
        assert post.settings["prepare_weights"] == weighting
        want = wv.select(corpus.vocab).prepare("abtt:1,pca:2", weights).vectors
        np.testing.assert_allclose(post.estimates["word_vectors"], want)


def test_tree_top_words_by_counts_follow_node_counts():
    corpus, wv = _planted(num_docs=20)
    post = pt.fit("ghlda", corpus, vectors=wv, depth=2, num_chains=1, num_samples=2,
                  warmup=4, progress=False, seed=0)
    counts = post.node_word_counts()
    assert counts.sum() == corpus.num_tokens
    top = post.top_words(3, by="counts")
    idx = corpus.word_index
    for t, words in enumerate(top):
        got = [counts[t, idx[w]] for w in words]
        assert got == sorted(counts[t], reverse=True)[:3]
    assert len(post.top_words(3, by="rerank")) == post.num_nodes
    with pytest.raises(ValueError, match="got 'pmi'"):
        post.top_words(3, by="pmi")


# ------------------------------------------------------------------ the protocol
def test_document_npmi_matches_a_hand_computation():
    docs = [["a", "b", "c"], ["a", "b"], ["c", "d"], ["a", "d"]]
    c = Corpus.from_tokens(docs)
    r = pt.evaluation.coherence([["a", "b"]], c, "npmi", window="document")
    p_a, p_b, p_ab = 3 / 4, 2 / 4, 2 / 4
    want = math.log((p_ab + 1e-12) / (p_a * p_b)) / -math.log(p_ab + 1e-12)
    assert r.score == pytest.approx(want) and r.num_windows == 4
    assert r.window == "document"


def test_quality_report_scores_and_settings():
    corpus, _ = _planted(seed=3, num_docs=60)
    train, test = corpus.split(0.25, seed=0)
    top = [[f"w{i:03d}" for i in range(t, 60, 3)][:12] for t in range(3)]
    theta = np.eye(3)[np.asarray(train.labels).astype(int)]
    rep = pt.evaluation.quality_report(top, train, test, doc_repr=theta, top_n=5,
                                       diversity_n=10)
    want = pt.evaluation.coherence(top, test, "npmi", window="document", top_n=5).score
    assert rep.npmi_test_doc == pytest.approx(want)
    assert rep.npmi_train_window == pytest.approx(
        pt.evaluation.coherence(top, train, "npmi", window=10, top_n=5).score)
    assert rep.diversity == 1.0 and rep.nmi == pytest.approx(1.0)
    assert rep.background_topics == 0
    assert rep.settings["test_docs"] == test.num_docs
    mixed = [top[0][:5] + top[1][:5]] * 3
    rep2 = pt.evaluation.quality_report(mixed, train, test, top_n=10, diversity_n=10)
    assert rep2.diversity == pytest.approx(1 / 3) and rep2.nmi is None
    assert rep2.npmi_test_doc < rep.npmi_test_doc
    with pytest.raises(ValueError, match="one label per row"):
        pt.evaluation.quality_report(top, train, test, doc_repr=theta[:-1], diversity_n=10)
    # a topic whose words (but one) never occur in the held-out documents scores -1 there
    # and is counted; the other topics keep their scores
    unseen = ["zz1", "zz2", "zz3", "zz4", top[2][0]] + top[2][5:12]
    rep3 = pt.evaluation.quality_report([*top[:2], unseen], train, test, top_n=5,
                                        diversity_n=10)
    assert rep3.settings["unscorable_test_topics"] == 1
    assert rep3.per_topic["npmi_test_doc"][2] == -1.0
    assert rep3.per_topic["npmi_test_doc"][:2] == rep.per_topic["npmi_test_doc"][:2]
    assert rep3.npmi_test_doc == pytest.approx(np.mean(rep3.per_topic["npmi_test_doc"]))


def test_nmi_of_a_single_cluster_is_exactly_zero():
    # a single predicted cluster carries no information (it was ~1e-14 from rounding)
    assert pt.evaluation.nmi([0, 0, 0, 0], ["a", "b", "a", "c"]) == 0.0
    assert pt.evaluation.nmi(["x", "y"], [1, 1]) == 0.0
