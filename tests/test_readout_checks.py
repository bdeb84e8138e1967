"""Argument checks of every public read-out of a fitted model and of the evaluation functions.

One table per read-out: (posterior kinds, bad call, exception type, message fragment).  Every
bad value is tried on every posterior class that has the method; the message must name the
argument and the offending value.  The posteriors are tiny real fits (16 documents, two
draws, one chain), made once per module and only for the kinds a test asks for.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.evaluation import coherence, diversity, heldout_loglik, nmi, polysemy

KINDS = ("lda", "glda", "cgtm", "hlda", "ghlda", "topclus")
TREE = ("hlda", "ghlda")
FLAT = ("lda", "glda", "cgtm", "topclus")
#: kinds with a fold-in transform over word ids (TopClus embeds documents instead)
FOLDIN = ("lda", "glda", "cgtm", "hlda", "ghlda")
#: kinds with a held-out likelihood (a flat bag-of-words likelihood)
HELDOUT = ("lda", "glda", "cgtm")

RIVERS = "river bank water fish shore boat".split()
MONEY = "bank money loan interest market rate".split()


@cache
def _corpus() -> pt.Corpus:
    rng = np.random.default_rng(0)
    docs = [list(rng.choice(RIVERS if d % 2 == 0 else MONEY, 8)) for d in range(16)]
    return pt.Corpus.from_tokens(docs, labels=["rivers", "finance"] * 8)


@cache
def _vectors() -> pt.WordVectors:
    c = _corpus()
    return pt.WordVectors(c.vocab, np.random.default_rng(1).normal(size=(c.vocab_size, 3)))


@cache
def _embeddings() -> np.ndarray:
    return np.random.default_rng(2).normal(size=(_corpus().num_tokens, 8)).astype(np.float32)


@cache
def _post(kind: str) -> Any:
    c = _corpus()
    if kind == "topclus":
        return pt.fit("topclus", c, embeddings=_embeddings(), num_topics=2, num_chains=1,
                      seed=0, progress=False, epochs=1, pretrain_epochs=1, latent_dim=4,
                      enc_hidden=(8,), dec_hidden=(8,), batch_size=8, threads=1,
                      min_word_count=1)
    extra: dict[str, Any] = {"depth": 2} if kind in TREE else {"num_topics": 2}
    if kind in ("glda", "cgtm", "ghlda"):
        extra["vectors"] = _vectors()
    return pt.fit(kind, c, num_chains=1, num_samples=2, warmup=2, seed=0, progress=False,
                  **extra)


def _unknown() -> pt.Corpus:
    return pt.Corpus.from_tokens([["zzz", "yyy"], ["zzz"]])


Case = tuple[tuple[str, ...], str, Callable[[Any], Any], type[Exception], str]


def _cases(kinds: tuple[str, ...], label: str, call: Callable[[Any], Any],
           exc: type[Exception], fragment: str) -> list[Any]:
    return [pytest.param(k, call, exc, fragment, id=f"{k}-{label}") for k in kinds]


def _table(rows: list[Case]) -> list[Any]:
    return [p for kinds, label, call, exc, frag in rows for p in _cases(kinds, label, call,
                                                                       exc, frag)]


def _check(kind: str, call: Callable[[Any], Any], exc: type[Exception], fragment: str) -> None:
    with pytest.raises(exc, match=re.escape(fragment)):
        call(_post(kind))


# ------------------------------------------------------------------------ top_words
TOP_WORDS: list[Case] = [
    (KINDS, "n=0", lambda p: p.top_words(0), ValueError, "n must be an integer >= 1, got 0"),
    (KINDS, "n=-3", lambda p: p.top_words(-3), ValueError, "n must be an integer >= 1, got -3"),
    (KINDS, "n=True", lambda p: p.top_words(True), ValueError,
     "n must be an integer >= 1, got True"),
    (KINDS, "n=2.5", lambda p: p.top_words(2.5), ValueError,
     "n must be an integer >= 1, got 2.5"),
    (KINDS, "n='3'", lambda p: p.top_words("3"), ValueError,
     "n must be an integer >= 1, got '3'"),
    (KINDS, "n=None", lambda p: p.top_words(None), ValueError,
     "n must be an integer >= 1, got None"),
    (("glda", "cgtm"), "by=prob", lambda p: p.top_words(3, by="prob"), ValueError,
     "by must be 'density', 'counts', 'rerank' or 'relevance', got 'prob'"),
    (("glda", "cgtm"), "by=''", lambda p: p.top_words(3, by=""), ValueError,
     "by must be 'density', 'counts', 'rerank' or 'relevance', got ''"),
    (("lda",), "by=lift", lambda p: p.top_words(3, by="lift"), ValueError,
     "by must be 'probability' or 'relevance', got 'lift'"),
    (("lda", "glda", "cgtm"), "relevance_weight=1.5",
     lambda p: p.top_words(3, by="relevance", relevance_weight=1.5), ValueError,
     "relevance_weight must lie in [0, 1]"),
    (("lda", "glda"), "relevance_weight=nan",
     lambda p: p.top_words(3, by="relevance", relevance_weight=float("nan")), ValueError,
     "relevance_weight must be finite, got nan"),
    (("lda",), "relevance_weight='0.6'",
     lambda p: p.top_words(3, by="relevance", relevance_weight="0.6"), ValueError,
     "relevance_weight must be a finite number, got '0.6'"),
    (("topclus",), "min_count=-1", lambda p: p.top_words(3, min_count=-1), ValueError,
     "min_count must be an integer >= 0, got -1"),
    (("topclus",), "min_count=1.5", lambda p: p.top_words(3, min_count=1.5), ValueError,
     "min_count must be an integer >= 0, got 1.5"),
]


@pytest.mark.parametrize(("kind", "call", "exc", "fragment"), _table(TOP_WORDS))
def test_top_words_rejects(kind, call, exc, fragment) -> None:
    _check(kind, call, exc, fragment)


@pytest.mark.parametrize("kind", KINDS)
def test_top_words_larger_than_vocabulary_gives_every_word(kind) -> None:
    post = _post(kind)
    V = post.corpus.vocab_size
    every = post.top_words(V + 5)
    assert every == post.top_words(V)
    if kind != "topclus":  # TopClus keeps the words with min_count tokens: here all of them
        assert all(sorted(t) == sorted(post.corpus.vocab) for t in every)
    assert [t[:2] for t in every] == post.top_words(np.int64(2))


# ------------------------------------------------------------------------ transform
def _ok() -> pt.Corpus:
    return _corpus().subset(np.arange(3))


TRANSFORM: list[Case] = [
    (FOLDIN, "list", lambda p: p.transform([["bank", "river"]]), TypeError,
     "new_corpus must be a ppltopics.Corpus (build one with Corpus.from_tokens or "
     "Corpus.from_texts), got list"),
    (FOLDIN, "empty-list", lambda p: p.transform([]), TypeError,
     "new_corpus must be a ppltopics.Corpus"),
    (FOLDIN, "None", lambda p: p.transform(None), TypeError,
     "new_corpus must be a ppltopics.Corpus"),
    (FOLDIN, "num_sweeps=0", lambda p: p.transform(_ok(), num_sweeps=0, burn_in=0), ValueError,
     "num_sweeps must be an integer >= 1, got 0"),
    (FOLDIN, "num_sweeps=2.5", lambda p: p.transform(_ok(), num_sweeps=2.5, burn_in=0),
     ValueError, "num_sweeps must be an integer >= 1, got 2.5"),
    (FOLDIN, "num_sweeps=True", lambda p: p.transform(_ok(), num_sweeps=True, burn_in=0),
     ValueError, "num_sweeps must be an integer >= 1, got True"),
    (FOLDIN, "burn_in=-1", lambda p: p.transform(_ok(), num_sweeps=5, burn_in=-1), ValueError,
     "burn_in must be an integer >= 0, got -1"),
    (FOLDIN, "burn_in=1.0", lambda p: p.transform(_ok(), num_sweeps=5, burn_in=1.0),
     ValueError, "burn_in must be an integer >= 0, got 1.0"),
    (FOLDIN, "burn_in=num_sweeps", lambda p: p.transform(_ok(), num_sweeps=5, burn_in=5),
     ValueError, "need num_sweeps > burn_in >= 0, got num_sweeps=5, burn_in=5"),
    (FOLDIN, "burn_in>num_sweeps", lambda p: p.transform(_ok(), num_sweeps=5, burn_in=9),
     ValueError, "need num_sweeps > burn_in >= 0, got num_sweeps=5, burn_in=9"),
    (FOLDIN, "no-known-word", lambda p: p.transform(_unknown()), ValueError,
     "no token of new_corpus is in the model's vocabulary: none of its 2 word types "
     "('zzz', 'yyy')"),
    (FOLDIN, "misspelt-keyword", lambda p: p.transform(_ok(), num_sweep=5), TypeError,
     "num_sweep"),
    (("lda", "glda"), "batch_size=0", lambda p: p.transform(_ok(), batch_size=0), ValueError,
     "batch_size must be an integer >= 1, got 0"),
    (("lda", "glda"), "batch_size=-2", lambda p: p.transform(_ok(), batch_size=-2), ValueError,
     "batch_size must be an integer >= 1, got -2"),
    (("topclus",), "list", lambda p: p.transform([["bank"]], embeddings=_embeddings()),
     TypeError, "new_corpus must be a ppltopics.Corpus"),
    (("topclus",), "None", lambda p: p.transform(None), TypeError,
     "new_corpus must be a ppltopics.Corpus"),
    (("topclus",), "batch_size=0",
     lambda p: p.transform(_corpus(), embeddings=_embeddings(), batch_size=0), ValueError,
     "batch_size must be an integer >= 1, got 0"),
    (("topclus",), "return_latent='yes'",
     lambda p: p.transform(_corpus(), embeddings=_embeddings(), return_latent="yes"),
     TypeError, "return_latent must be True or False, got 'yes'"),
    (("topclus",), "plm-keyword-with-embeddings",
     lambda p: p.transform(_corpus(), embeddings=_embeddings(), layr=3), TypeError,
     "['layr'] set how the language model embeds"),
    (("topclus",), "embedding-dim",
     lambda p: p.transform(_corpus(), embeddings=_embeddings()[:, :5]), ValueError,
     "embeddings have dimension 5"),
]


@pytest.mark.parametrize(("kind", "call", "exc", "fragment"), _table(TRANSFORM))
def test_transform_rejects(kind, call, exc, fragment) -> None:
    _check(kind, call, exc, fragment)


def test_an_empty_corpus_cannot_reach_transform() -> None:
    # the Corpus constructor refuses it, so transform never sees zero documents
    with pytest.raises(ValueError, match="empty corpus"):
        pt.Corpus.from_tokens([])


@pytest.mark.parametrize("kind", FOLDIN)
def test_transform_accepts_numpy_integers_and_keeps_its_draws(kind) -> None:
    post = _post(kind)
    a = post.transform(_ok(), num_sweeps=np.int64(6), burn_in=np.int32(2), seed=3)
    b = post.transform(_ok(), num_sweeps=6, burn_in=2, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)


# ------------------------------------------------------------------------ tree read-outs
TREE_READOUTS: list[Case] = [
    (FLAT, "doc_paths", lambda p: p.doc_paths(), ValueError, "is not a tree model"),
    (FLAT, "token_levels", lambda p: p.token_levels(), ValueError, "is not a tree model"),
    (TREE, "format_tree-0", lambda p: p.format_tree(n_words=0), ValueError,
     "n_words must be an integer >= 1, got 0"),
    (TREE, "format_tree-neg", lambda p: p.format_tree(n_words=-1), ValueError,
     "n_words must be an integer >= 1, got -1"),
    (TREE, "format_tree-bool", lambda p: p.format_tree(n_words=True), ValueError,
     "n_words must be an integer >= 1, got True"),
    (TREE, "format_tree-str", lambda p: p.format_tree(n_words="2"), ValueError,
     "n_words must be an integer >= 1, got '2'"),
    (TREE, "tree-0", lambda p: p.tree(0), ValueError, "n_words must be an integer >= 1, got 0"),
]


@pytest.mark.parametrize(("kind", "call", "exc", "fragment"), _table(TREE_READOUTS))
def test_tree_readouts_reject(kind, call, exc, fragment) -> None:
    _check(kind, call, exc, fragment)


@pytest.mark.parametrize("kind", TREE)
def test_tree_readouts_of_tree_models(kind) -> None:
    post = _post(kind)
    assert post.is_tree
    assert post.doc_paths().shape == (post.corpus.num_docs, 2)
    assert post.token_levels().shape == (post.corpus.num_tokens,)
    text = post.format_tree(n_words=post.corpus.vocab_size + 3)
    assert text.count("\n") + 1 == post.num_nodes


# ------------------------------------------------------------------------ TopClus read-outs
TOPCLUS: list[Case] = [
    (("topclus",), "topic_embeddings-space", lambda p: p.topic_embeddings("words"),
     ValueError, "space must be 'latent' or 'plm', got 'words'"),
    (("topclus",), "doc_embeddings-space", lambda p: p.doc_embeddings("words"), ValueError,
     "space must be 'latent' or 'plm', got 'words'"),
]


@pytest.mark.parametrize(("kind", "call", "exc", "fragment"), _table(TOPCLUS))
def test_topclus_readouts_reject(kind, call, exc, fragment) -> None:
    _check(kind, call, exc, fragment)


def test_topclus_embeddings_shapes() -> None:
    post = _post("topclus")
    assert post.doc_embeddings().shape == (post.corpus.num_docs, 4)
    assert post.doc_embeddings("plm").shape == (post.corpus.num_docs, 8)
    assert post.topic_embeddings("plm").shape == (2, 8)


# ------------------------------------------------------------------------ held-out
def _ids() -> tuple[np.ndarray, np.ndarray]:
    c = _corpus()
    return c.word_ids.astype(np.int32), c.doc_offsets.astype(np.int64)


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


HELD: list[Case] = [
    (KINDS, "per_doc-particles=0", lambda p: p.heldout_per_doc(*_ids(), 0, _rng()),
     ValueError, "particles must be an integer >= 1, got 0"),
    (KINDS, "per_doc-particles=1.5", lambda p: p.heldout_per_doc(*_ids(), 1.5, _rng()),
     ValueError, "particles must be an integer >= 1, got 1.5"),
    (KINDS, "per_doc-rng=int", lambda p: p.heldout_per_doc(*_ids(), 2, 0), TypeError,
     "rng must be a numpy.random.Generator, got int"),
    (KINDS, "per_doc-word_ids-list",
     lambda p: p.heldout_per_doc(list(_ids()[0]), _ids()[1], 2, _rng()), TypeError,
     "word_ids must be a numpy integer array, got list"),
    (KINDS, "per_doc-word_ids-float",
     lambda p: p.heldout_per_doc(_ids()[0].astype(float), _ids()[1], 2, _rng()), ValueError,
     "word_ids must be a 1-d integer array, got shape (128,) and dtype float64"),
    (KINDS, "per_doc-word_ids-range",
     lambda p: p.heldout_per_doc(_ids()[0] + 5, _ids()[1], 2, _rng()), ValueError,
     "word_ids must lie in [0, 11) (the model's vocabulary), got values from 5 to 15"),
    (KINDS, "per_doc-word_ids-negative",
     lambda p: p.heldout_per_doc(_ids()[0] - 1, _ids()[1], 2, _rng()), ValueError,
     "word_ids must lie in [0, 11)"),
    (KINDS, "per_doc-offsets-end",
     lambda p: p.heldout_per_doc(_ids()[0], _ids()[1][:-1], 2, _rng()), ValueError,
     "offsets must be non-decreasing from 0 to len(word_ids) = 128"),
    (KINDS, "per_doc-offsets-decreasing",
     lambda p: p.heldout_per_doc(_ids()[0], _ids()[1][::-1].copy(), 2, _rng()), ValueError,
     "offsets must be non-decreasing from 0"),
    (HELDOUT, "loglik-particles=0", lambda p: heldout_loglik(p, _ok(), particles=0),
     ValueError, "particles must be an integer >= 1, got 0"),
    (HELDOUT, "loglik-particles=-1", lambda p: heldout_loglik(p, _ok(), particles=-1),
     ValueError, "particles must be an integer >= 1, got -1"),
    (HELDOUT, "loglik-particles=True", lambda p: heldout_loglik(p, _ok(), particles=True),
     ValueError, "particles must be an integer >= 1, got True"),
    (HELDOUT, "loglik-particles=2.0", lambda p: heldout_loglik(p, _ok(), particles=2.0),
     ValueError, "particles must be an integer >= 1, got 2.0"),
    (HELDOUT, "loglik-test-list", lambda p: heldout_loglik(p, [["bank"]]), TypeError,
     "test must be a ppltopics.Corpus"),
    (HELDOUT, "loglik-no-known-word", lambda p: heldout_loglik(p, _unknown()), ValueError,
     "no token of test is in the model's vocabulary: none of its 2 word types"),
    (TREE, "loglik-no-table", lambda p: heldout_loglik(p, _ok()), NotImplementedError,
     "posterior has no word-topic table"),
    (("topclus",), "loglik-no-table", lambda p: heldout_loglik(p, _ok()), NotImplementedError,
     "TopClus has no bag-of-words likelihood"),
]


@pytest.mark.parametrize(("kind", "call", "exc", "fragment"), _table(HELD))
def test_heldout_rejects(kind, call, exc, fragment) -> None:
    _check(kind, call, exc, fragment)


@pytest.mark.parametrize("kind", HELDOUT)
def test_heldout_accepts_numpy_particles(kind) -> None:
    post = _post(kind)
    a = heldout_loglik(post, _ok(), particles=np.int64(2), seed=1)
    b = heldout_loglik(post, _ok(), particles=2, seed=1)
    np.testing.assert_array_equal(a.per_doc, b.per_doc)


# ------------------------------------------------------------------------ plot_correlation
def test_plot_correlation_checks_its_path(tmp_path: Path) -> None:
    post = _post("cgtm")
    with pytest.raises(TypeError, match="path must be a str or path-like file name, got int"):
        post.plot_correlation(3)
    with pytest.raises(ValueError, match="is a folder; give a file name such as"):
        post.plot_correlation(tmp_path)
    with pytest.raises(ValueError, match=r"must end in an image suffix .* got ''"):
        post.plot_correlation(tmp_path / "corr")
    with pytest.raises(ValueError, match=r"got '\.xyz'"):
        post.plot_correlation(tmp_path / "corr.xyz")
    out = post.plot_correlation(str(tmp_path / "sub" / "corr.PNG"))
    assert out.is_file() and out.stat().st_size > 0


# ------------------------------------------------------------------------ polysemy
POLY: list[Case] = [
    (KINDS, "by=leaf", lambda p: polysemy(p, by="leaf"), ValueError,
     "by must be 'auto', 'topic', 'path', 'branch' or 'node', got 'leaf'"),
    (KINDS, "words=()", lambda p: polysemy(p, words=()), ValueError,
     "words must name at least one word, got an empty sequence"),
    (KINDS, "words=[3]", lambda p: polysemy(p, words=[3]), TypeError,
     "words must be strings, got 3"),
    (KINDS, "words-unknown", lambda p: polysemy(p, words=("zzz",)), ValueError,
     "none of ['zzz'] is in the corpus vocabulary"),
    (KINDS, "senses=()", lambda p: polysemy(p, senses=()), ValueError,
     "senses must name at least one document label"),
    (KINDS, "senses-unknown", lambda p: polysemy(p, senses=("rivers", "law")), ValueError,
     "['law'] are not labels of the corpus"),
    (KINDS, "senses-str-unknown", lambda p: polysemy(p, senses="law"), ValueError,
     "['law'] are not labels of the corpus"),
    (KINDS, "permutations=-1", lambda p: polysemy(p, permutations=-1), ValueError,
     "permutations must be an integer >= 0, got -1"),
    (KINDS, "permutations=0.5", lambda p: polysemy(p, permutations=0.5), ValueError,
     "permutations must be an integer >= 0, got 0.5"),
    (KINDS, "corpus-list", lambda p: polysemy(p, corpus=[["bank"]]), TypeError,
     "corpus must be a ppltopics.Corpus, got list"),
    (KINDS, "no-labels", lambda p: polysemy(p, corpus=pt.Corpus.from_tokens([["bank"]])),
     ValueError, "polysemy needs document labels"),
    (FLAT, "by=path", lambda p: polysemy(p, by="path"), ValueError,
     "by='path' needs a tree model"),
    (TREE, "by=topic", lambda p: polysemy(p, by="topic"), ValueError,
     "tree models assign paths/nodes"),
]


@pytest.mark.parametrize(("kind", "call", "exc", "fragment"), _table(POLY))
def test_polysemy_rejects(kind, call, exc, fragment) -> None:
    _check(kind, call, exc, fragment)


@pytest.mark.parametrize("kind", ("lda", "hlda"))
def test_polysemy_single_string_sense_is_one_sense(kind) -> None:
    post = _post(kind)
    r = polysemy(post, words="bank", senses="rivers")
    assert r.senses == ("rivers",) and r.words == ("bank",)
    assert r.num_occurrences == polysemy(post, words=["bank"], senses=["rivers"]).num_occurrences


# ------------------------------------------------------------------------ coherence, diversity
TOPICS = [["bank", "river", "water"], ["money", "loan", "bank"]]
EVAL: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("coherence-measure", lambda: coherence(TOPICS, _corpus(), measure="c_w2v"), ValueError,
     "unknown coherence measure 'c_w2v'"),
    ("coherence-measure-None", lambda: coherence(TOPICS, _corpus(), measure=None),
     ValueError, "unknown coherence measure None"),
    ("coherence-window=1", lambda: coherence(TOPICS, _corpus(), window=1), ValueError,
     "window must be an integer >= 2, got 1"),
    ("coherence-window=2.5", lambda: coherence(TOPICS, _corpus(), window=2.5), ValueError,
     "window must be an integer >= 2, got 2.5"),
    ("coherence-window=True", lambda: coherence(TOPICS, _corpus(), window=True), ValueError,
     "window must be an integer >= 2, got True"),
    ("coherence-umass-window", lambda: coherence(TOPICS, _corpus(), "umass", window=10),
     ValueError, "leave window=None"),
    ("coherence-top_n=1", lambda: coherence(TOPICS, _corpus(), top_n=1), ValueError,
     "top_n must be an integer >= 2, got 1"),
    ("coherence-eps", lambda: coherence(TOPICS, _corpus(), eps=float("nan")), ValueError,
     "eps must be a finite number >= 0, got nan"),
    ("coherence-eps-bool", lambda: coherence(TOPICS, _corpus(), eps=True), ValueError,
     "eps must be a finite number >= 0, got True"),
    ("coherence-no-topics", lambda: coherence([], _corpus()), ValueError,
     "top_words must be a non-empty list of topics"),
    ("coherence-empty-topic", lambda: coherence([[]], _corpus()), ValueError,
     "topic 0 has 0 word(s) found in the reference corpus"),
    ("coherence-string-topic", lambda: coherence(["bank", "river"], _corpus()), ValueError,
     "topic 0 is a string"),
    ("coherence-not-a-list", lambda: coherence(5, _corpus()), TypeError,
     "top_words must be a list of topics (lists of words), got int"),
    ("coherence-topic-not-a-list", lambda: coherence([{"a"}], _corpus()), TypeError,
     "topic 0 must be a list of words, got set"),
    ("coherence-word-not-str", lambda: coherence([["bank", 3]], _corpus()), TypeError,
     "topic 0, word 1 must be a string, got 3"),
    ("coherence-corpus", lambda: coherence(TOPICS, _corpus().docs()), TypeError,
     "corpus must be a ppltopics.Corpus, got list"),
    ("coherence-all-words-absent", lambda: coherence([["zzz", "yyy"]], _corpus()), ValueError,
     "topic 0 has 0 word(s) found in the reference corpus among its first 10"),
    ("diversity-no-topics", lambda: diversity([]), ValueError,
     "top_words must be a non-empty list of topics"),
    ("diversity-top_n=0", lambda: diversity(TOPICS, top_n=0), ValueError,
     "top_n must be an integer >= 1, got 0"),
    ("diversity-top_n=True", lambda: diversity(TOPICS, top_n=True), ValueError,
     "top_n must be an integer >= 1, got True"),
    ("diversity-short-topic", lambda: diversity(TOPICS, top_n=4), ValueError,
     "topic 0 has 3 words, fewer than top_n=4"),
    ("diversity-not-a-list", lambda: diversity(None), TypeError,
     "top_words must be a list of topics (lists of words), got NoneType"),
    ("diversity-string-topic", lambda: diversity(["bank"], top_n=1), ValueError,
     "topic 0 is a string"),
    ("diversity-word-not-str", lambda: diversity([[1, 2]], top_n=2), TypeError,
     "topic 0, word 0 must be a string, got 1"),
    ("nmi-length", lambda: nmi([0, 1], [0, 1, 1]), ValueError,
     "label sequences differ in length: pred_labels has 2, true_labels 3"),
    ("nmi-empty", lambda: nmi([], []), ValueError, "nmi of empty label sequences"),
    ("nmi-2d", lambda: nmi([[0, 1]], [[0, 1]]), ValueError,
     "got pred_labels of shape (1, 2) and true_labels of shape (1, 2)"),
]


@pytest.mark.parametrize(("call", "exc", "fragment"),
                         [pytest.param(c, e, f, id=i) for i, c, e, f in EVAL])
def test_evaluation_rejects(call, exc, fragment) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # dropped-word warnings
        with pytest.raises(exc, match=re.escape(fragment)):
            call()


@pytest.mark.parametrize("kind", KINDS)
def test_coherence_drops_words_absent_from_the_corpus_and_says_so(kind) -> None:
    topics = [t[:3] + ["zzz"] for t in _post(kind).top_words(3)]
    with pytest.warns(UserWarning, match=f"dropped {len(topics)} topic word"):
        r = coherence(topics, _corpus(), measure="npmi")
    assert r.num_dropped == len(topics) and r.dropped == ("zzz",) and np.isfinite(r.score)
    assert diversity(topics, top_n=4) <= 1.0


# ------------------------------------------------------------------------ save overwrite
@pytest.mark.parametrize("what", ["corpus", "vectors"])
def test_corpus_and_vectors_save_take_overwrite(what: str, tmp_path: Path) -> None:
    obj = _corpus() if what == "corpus" else _vectors()
    target = tmp_path / "x"
    target.write_text("user file")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        obj.save(target)
    assert target.read_text() == "user file"
    assert obj.save(target, overwrite=True) == target
    back = pt.Corpus.load(target) if what == "corpus" else pt.WordVectors.from_saved(target)
    assert back.vocab == obj.vocab
    assert obj.save(target) == target  # a bundle of its own is replaced without asking
