"""Tests of ppltopics.vectors: GloVe lookup, file formats, alignment and validation."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

import ppltopics as pt
from ppltopics.vectors import WordVectors, _glove_paths

WORDS = ["alpha", "beta", "gamma", "delta", "épée"]


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def small_kv() -> tuple[KeyedVectors, np.ndarray]:
    x = np.random.default_rng(0).normal(size=(len(WORDS), 4)).astype(np.float32)
    kv = KeyedVectors(4)
    kv.add_vectors(WORDS, x)
    return kv, x


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- GloVe
def test_glove_covers_sotu_and_restrict_round_trip(sotu_corpus):
    corpus = sotu_corpus
    vectors = pt.WordVectors.glove(corpus.vocab)
    has = np.fromiter((w in vectors for w in corpus.vocab), bool, corpus.vocab_size)
    counts = corpus.word_counts()
    token_coverage = counts[has].sum() / counts.sum()
    assert token_coverage >= 0.95
    rep = vectors.report
    assert rep["requested"] == corpus.vocab_size
    assert rep["found"] == len(vectors) == int(has.sum())
    assert rep["oov"] == corpus.vocab_size - len(vectors)
    assert rep["coverage"] == pytest.approx(len(vectors) / corpus.vocab_size)
    assert len(rep["oov_examples"]) == min(20, rep["oov"])
    assert all(w not in vectors for w in rep["oov_examples"])
    # vectors keep the corpus order
    assert vectors.vocab == [w for w in corpus.vocab if w in vectors]

    restricted = corpus.restrict(vectors.vocab)
    assert restricted.vocab == vectors.vocab
    x = vectors.matrix(restricted.vocab)
    assert x.shape == (restricted.vocab_size, 50) and x.dtype == np.float64
    np.testing.assert_array_equal(x, vectors.vectors.astype(np.float64))
    assert np.isfinite(x).all()


def test_glove_known_facts():
    v = WordVectors.glove(["king", "queen", "banana", "the"])
    assert _cos(v["king"], v["queen"]) > _cos(v["king"], v["banana"]) + 0.3
    npy, _ = _glove_paths()
    row0 = np.load(npy, mmap_mode="r")[0]
    np.testing.assert_array_equal(v["the"], row0)
    assert v.dim == 50 and v.vectors.dtype == np.float32


def test_glove_keeps_given_order_and_reports_oov(caplog):
    vocab = ["queen", "zzqxjunkword", "king", "qqzzjunk", "the"]
    with caplog.at_level(logging.INFO, logger="ppltopics"):
        v = WordVectors.glove(vocab)
    assert v.vocab == ["queen", "king", "the"]
    assert v.index == {"queen": 0, "king": 1, "the": 2}
    assert v.report["oov"] == 2 and v.report["oov_examples"] == ["zzqxjunkword", "qqzzjunk"]
    assert v.report["oov_fraction"] == pytest.approx(0.4)
    assert "zzqxjunkword" in caplog.text
    assert "king" in v and "zzqxjunkword" not in v
    with pytest.raises(KeyError, match="zzqxjunkword"):
        v["zzqxjunkword"]


def test_glove_all_words_and_cache():
    from ppltopics.vectors import _glove_source

    v = WordVectors.glove()
    assert len(v) == 400_000 and v.vectors.shape == (400_000, 50)
    assert v.vocab[0] == "the" and v.report["oov"] == 0
    assert _glove_source() is _glove_source()  # index built once per process


def test_glove_no_coverage_and_empty_vocab():
    with pytest.raises(ValueError, match="no word of the vocabulary has a vector"):
        WordVectors.glove(["zzqxjunkword", "qqzzjunk"])
    with pytest.raises(ValueError, match="empty vocabulary"):
        WordVectors.glove([])
    with pytest.raises(TypeError):
        WordVectors.glove("king")
    with pytest.raises(ValueError, match="duplicate"):
        WordVectors.glove(["king", "king"])


def test_normalize_and_center():
    words = ["king", "queen", "banana", "river", "bank"]
    raw = WordVectors.glove(words).vectors.astype(np.float64)
    n = WordVectors.glove(words, normalize=True)
    np.testing.assert_allclose(np.linalg.norm(n.vectors, axis=1), 1.0, rtol=1e-6)
    c = WordVectors.glove(words, center=True)
    np.testing.assert_allclose(c.vectors.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(c.vectors, raw - raw.mean(axis=0), atol=1e-5)
    both = WordVectors.glove(words, center=True, normalize=True)
    expect = raw - raw.mean(axis=0)
    expect /= np.linalg.norm(expect, axis=1, keepdims=True)
    np.testing.assert_allclose(both.vectors, expect, atol=1e-5)
    assert both.report["center"] and both.report["normalize"]


# --------------------------------------------------------------------------- files
@pytest.mark.parametrize(
    "name, kwargs, fmt",
    [
        ("v.txt", {}, None),
        ("v.vec", {}, "word2vec"),
        ("v.bin", {"binary": True}, None),
        ("v_noext", {"binary": True}, None),  # binary detected from content
        ("v.txt.gz", {}, None),
    ],
)
def test_word2vec_round_trip(tmp_path, small_kv, name, kwargs, fmt):
    kv, x = small_kv
    kv.save_word2vec_format(str(tmp_path / name), **kwargs)
    v = WordVectors.load(tmp_path / name, format=fmt)
    assert v.vocab == WORDS
    np.testing.assert_allclose(v.vectors, x, rtol=1e-6)


def test_glove_text_and_gensim_kv(tmp_path, small_kv):
    kv, x = small_kv
    lines = [w + " " + " ".join(f"{a:.8g}" for a in row) for w, row in zip(WORDS, x, strict=True)]
    path = _write(tmp_path / "glove.txt", "\n".join(lines) + "\n")
    v = WordVectors.load(path)
    assert v.vocab == WORDS
    np.testing.assert_allclose(v.vectors, x, rtol=1e-6)

    kv.save(str(tmp_path / "v.kv"))
    v = WordVectors.load(tmp_path / "v.kv")
    assert v.vocab == WORDS
    np.testing.assert_allclose(v.vectors, x)


def test_load_aligns_to_vocab(tmp_path, small_kv):
    kv, x = small_kv
    kv.save_word2vec_format(str(tmp_path / "v.txt"))
    v = WordVectors.load(tmp_path / "v.txt", ["gamma", "missing", "alpha"])
    assert v.vocab == ["gamma", "alpha"]
    np.testing.assert_allclose(v.vectors, x[[2, 0]], rtol=1e-6)
    assert v.report["oov"] == 1 and v.report["oov_examples"] == ["missing"]
    with pytest.raises(ValueError, match="no word of the vocabulary has a vector"):
        WordVectors.load(tmp_path / "v.txt", ["nothing", "here"])


def test_pickle_needs_explicit_gensim_format(tmp_path, small_kv):
    kv, x = small_kv
    kv.save(str(tmp_path / "vectors_noext"))
    with pytest.raises(ValueError, match="pickle"):
        WordVectors.load(tmp_path / "vectors_noext")
    v = WordVectors.load(tmp_path / "vectors_noext", format="gensim")
    np.testing.assert_allclose(v.vectors, x)


def test_nan_in_file(tmp_path):
    path = _write(tmp_path / "nan.txt", "a 1 2 3\nb 1 nan 3\nc 1 inf 3\n")
    with pytest.raises(ValueError, match=r"NaN or inf.*\['b', 'c'\]"):
        WordVectors.load(path)
    # a NaN row that is not requested does not matter
    v = WordVectors.load(path, ["a"])
    assert v.vocab == ["a"]


@pytest.mark.parametrize(
    "text",
    [
        "a 1 2 3\nb 1 2\nc 1 2 3\n",  # fewer numbers
        "a 1 2 3\nb 1\nc 1 2 3\n",  # one number (numpy would broadcast it)
        "a 1 2 3\nb 1 2 3 4\n",  # more numbers
        "3 3\na 1 2 3\nb 1 2\nc 1 2 3\n",  # word2vec header
        "a 1 2 3\n\nb 1 2 3\n",  # blank line
    ],
)
def test_inconsistent_dimension(tmp_path, text):
    with pytest.raises(ValueError, match="inconsistent dimension"):
        WordVectors.load(_write(tmp_path / "bad.txt", text))


def test_corrupt_files(tmp_path):
    with pytest.raises(ValueError, match="announces 5 vectors"):
        WordVectors.load(_write(tmp_path / "short.txt", "5 3\na 1 2 3\nb 1 2 3\n"))
    with pytest.raises(ValueError, match="empty"):
        WordVectors.load(_write(tmp_path / "empty.txt", ""))
    with pytest.raises(ValueError, match="could not convert|cannot read"):
        WordVectors.load(_write(tmp_path / "words.txt", "a 1 2\nb x y\n"), format="glove")
    truncated = tmp_path / "t.bin"
    truncated.write_bytes(b"3 4\nalpha " + np.ones(4, np.float32).tobytes() + b"beta \x00")
    with pytest.raises(ValueError, match="t.bin"):
        WordVectors.load(truncated)


def test_unknown_format_and_missing_file(tmp_path, small_kv):
    kv, _ = small_kv
    kv.save_word2vec_format(str(tmp_path / "v.txt"))
    with pytest.raises(ValueError, match="unknown word-vector format"):
        WordVectors.load(tmp_path / "v.txt", format="fasttext-magic")
    np.save(tmp_path / "v.npy", np.zeros((2, 3)))
    with pytest.raises(ValueError, match="unknown word-vector format"):
        WordVectors.load(tmp_path / "v.npy")
    with pytest.raises(ValueError, match="unknown word-vector format"):
        WordVectors.load(_write(tmp_path / "prose.txt", "this is just some prose\n"))
    (tmp_path / "noise.dat").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ValueError, match="unknown word-vector format"):
        WordVectors.load(tmp_path / "noise.dat")
    with pytest.raises(FileNotFoundError):
        WordVectors.load(tmp_path / "absent.txt")


# --------------------------------------------------------------------------- the object
def test_matrix_and_validation():
    v = WordVectors(["a", "b", "c"], np.arange(6, dtype=np.float32).reshape(3, 2))
    m = v.matrix(["c", "a"])
    assert m.dtype == np.float64
    np.testing.assert_array_equal(m, [[4, 5], [0, 1]])
    with pytest.raises(ValueError, match=r"restrict.*") as info:
        v.matrix(["a", "x", "y"])
    assert "'x'" in str(info.value) and "'y'" in str(info.value)
    with pytest.raises(ValueError, match="empty vocabulary"):
        v.matrix([])
    ints = WordVectors(["a"], np.array([[1, 2]]))
    assert ints.vectors.dtype == np.float64

    with pytest.raises(ValueError, match=r"NaN or inf.*\['b'\]"):
        WordVectors(["a", "b"], np.array([[0.0, 1.0], [np.nan, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        WordVectors(["a", "b"], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="duplicate"):
        WordVectors(["a", "a"], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="zero vector"):
        WordVectors.glove(["king"], center=True, normalize=True)


def test_select_and_save_round_trip(tmp_path):
    v = WordVectors.glove(["river", "bank", "money"], normalize=True)
    s = v.select(["money", "nope", "river"])
    assert s.vocab == ["money", "river"] and s.report["oov"] == 1
    np.testing.assert_array_equal(s["river"], v["river"])

    v.save(tmp_path / "wv")
    back = WordVectors.from_saved(tmp_path / "wv")
    assert back.vocab == v.vocab and back.report["normalize"] is True
    np.testing.assert_array_equal(back.vectors, v.vectors)
    again = WordVectors.load(tmp_path / "wv", ["money", "bank"])
    assert again.vocab == ["money", "bank"]
    np.testing.assert_array_equal(again.vectors, v.vectors[[2, 1]])


def test_type_vectors_are_token_means():
    """from_token_embeddings: v_w = mean of w's token vectors, words below min_count dropped
    (order kept), float16 rows summed in float64; bad rows are named errors."""
    corpus = pt.Corpus.from_tokens([["bank", "river", "bank"], ["money", "bank"]])
    rng = np.random.default_rng(0)
    h = rng.normal(size=(corpus.num_tokens, 3)).astype(np.float16)
    wv = pt.WordVectors.from_token_embeddings(corpus, h)
    assert wv.vocab == corpus.vocab
    for i, w in enumerate(corpus.vocab):
        want = h[corpus.word_ids == i].astype(np.float64).mean(axis=0)
        np.testing.assert_allclose(wv[w], want, rtol=1e-12)
    two = pt.WordVectors.from_token_embeddings(corpus, h, min_count=2)
    assert two.vocab == ["bank"] and two.report["dropped_words"] == 2
    with pytest.raises(ValueError, match="rows"):
        pt.WordVectors.from_token_embeddings(corpus, h[:-1])
    with pytest.raises(ValueError, match="leaves no word"):
        pt.WordVectors.from_token_embeddings(corpus, h, min_count=4)
    bad = h.astype(np.float64)
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="river"):
        pt.WordVectors.from_token_embeddings(corpus, bad)
    with pytest.raises(TypeError, match="embeddings"):
        pt.WordVectors.from_token_embeddings(corpus, [1.0, 2.0])
