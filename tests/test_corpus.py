"""Corpus construction, filtering, splitting, restriction and pickle-free persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ppltopics import Corpus
from ppltopics.persistence import load_bundle, save_bundle

TEXTS = [
    "The river bank flooded; the bank of the river was muddy.",
    "A bank loan from the central bank raised interest rates.",
    "Rates rose; the loan was costly.  Ünïcode wörds stay wörds!",
    "12345 ___ !!!",
]


def test_from_texts_tokenises_filters_and_drops_empty_docs():
    c = Corpus.from_texts(TEXTS, labels=["a", "b", "c", "d"], min_count=1)
    assert c.num_docs == 3  # the last text has no word left
    assert c.report["dropped_empty_docs"] == 1
    assert c.labels.tolist() == ["a", "b", "c"]
    docs = c.docs()
    assert docs[0] == ["river", "bank", "flooded", "bank", "river", "muddy"]  # order kept
    assert "the" not in c.vocab and "wörds" in c.vocab and "ünïcode" in c.vocab
    assert c.vocab[0] == "bank"  # most frequent first
    assert c.num_tokens == sum(len(d) for d in docs) == c.word_ids.size
    assert c.word_ids.dtype == np.int32 and c.doc_offsets.dtype == np.int64


def test_min_count_max_df_and_fixed_vocab():
    c = Corpus.from_texts(TEXTS, min_count=2)
    assert set(c.vocab) == {"bank", "river", "loan", "rates", "wörds"}
    c2 = Corpus.from_texts(TEXTS, min_count=1, max_df=0.5)  # in at most 2 of 4 docs
    assert "bank" in c2.vocab and "loan" in c2.vocab
    c3 = Corpus.from_texts(TEXTS, min_count=1, max_df=1)  # in at most one document
    assert "bank" not in c3.vocab and "loan" not in c3.vocab
    fixed = Corpus.from_texts(TEXTS, vocab=["loan", "river"], min_count=1)
    assert fixed.vocab == ["loan", "river"] and fixed.num_docs == 3
    assert fixed.docs() == [["river", "river"], ["loan"], ["loan"]]


def test_from_tokens_keeps_metadata_aligned():
    c = Corpus.from_tokens([["a", "b"], [], ["b", "c", "c"]], metadata={"year": [1, 2, 3]})
    assert c.metadata["year"].tolist() == [1, 3]
    assert c.doc_lengths.tolist() == [2, 3]


@pytest.mark.parametrize(
    ("docs", "kwargs", "match"),
    [
        ([], {}, "empty corpus"),
        ([[], []], {}, "all 2 documents are empty"),
        ([["the", "a"]], {"stopwords": "english"}, "empty after filtering"),
        ([["x"], ["y"]], {"min_count": 0}, "min_count"),
        ([["x"], ["y"]], {"max_df": 1.5}, "max_df"),
        ([["x"], ["y"]], {"stopwords": "klingon"}, "stopword"),
        ([["x"], ["y"]], {"labels": [1]}, "one entry per document"),
    ],
)
def test_bad_input(docs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Corpus.from_tokens(docs, **kwargs)


def test_type_errors():
    with pytest.raises(TypeError):
        Corpus.from_texts("one string")
    with pytest.raises(TypeError):
        Corpus.from_texts(["ok", 3])
    with pytest.raises(TypeError):
        Corpus.from_tokens(["not", "lists"])


def test_split_is_seeded_and_partitions():
    c = Corpus.from_tokens([[f"w{i % 7}", f"w{i % 3}"] for i in range(50)], labels=np.arange(50))
    tr, te = c.split(0.2, seed=1)
    assert tr.num_docs == 40 and te.num_docs == 10
    assert sorted(tr.labels.tolist() + te.labels.tolist()) == list(range(50))
    assert tr.vocab == te.vocab == c.vocab
    tr2, _ = c.split(0.2, seed=1)
    assert np.array_equal(tr.labels, tr2.labels)
    with pytest.raises(ValueError):
        c.split(0.0)


def test_restrict_reports_what_went():
    c = Corpus.from_tokens([["a", "b", "c"], ["c", "c"], ["b"]])
    r = c.restrict({"a", "c", "zzz"})
    assert r.vocab == [w for w in c.vocab if w in {"a", "c"}]
    assert r.num_docs == 2 and r.report["dropped_empty_docs"] == 1
    assert r.report["restrict_dropped_tokens"] == 2 and r.report["restrict_examples"] == ["b"]
    with pytest.raises(ValueError, match="no coverage"):
        c.restrict({"zzz"})


def test_subset_and_with_vocab():
    c = Corpus.from_tokens([["a", "b"], ["c"], ["a", "a", "d"]])
    s = c.subset([2, 0])
    assert s.docs() == [["a", "a", "d"], ["a", "b"]]
    m = c.with_vocab(["d", "a"])
    assert m.vocab == ["d", "a"] and m.docs() == [["a"], ["a", "a", "d"]]
    with pytest.raises(ValueError):
        c.with_vocab(["zzz"])


def test_save_load_roundtrip_without_pickle(tmp_path):
    c = Corpus.from_texts(TEXTS, labels=["x", "y", "z", "w"], min_count=1,
                          metadata={"year": [1, 2, 3, 4]})
    c.save(tmp_path / "c")
    back = Corpus.load(tmp_path / "c")
    assert back.vocab == c.vocab and back.docs() == c.docs()
    assert back.labels.tolist() == c.labels.tolist()
    assert back.metadata["year"].tolist() == [1, 2, 3]
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["format"] == "ppltopics" and manifest["version"] == 1


def test_bundle_writes_are_atomic(tmp_path):
    target = tmp_path / "b"
    save_bundle(target, "thing", {"x": np.arange(3)}, {"a": 1})
    # a failing save (an object array cannot be stored without pickle) leaves the old bundle
    with pytest.raises(TypeError):
        save_bundle(target, "thing", {"x": np.array([object()])}, {"a": 2})
    with pytest.raises(TypeError):
        save_bundle(target, "thing", {"x": np.arange(2)}, {"a": object()})
    arrays, meta = load_bundle(target, kind="thing")
    assert arrays["x"].tolist() == [0, 1, 2] and meta["a"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # no temporary left behind
    with pytest.raises(ValueError, match="expected"):
        load_bundle(target, kind="other")
    with pytest.raises(ValueError, match="not a ppltopics bundle"):
        load_bundle(tmp_path)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["version"] = 99
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="newer"):
        load_bundle(target)
