"""Dataset loaders: the embedded SOTU corpus, the benchmark corpora and format detection.

Tests on ``../shared/data`` skip cleanly when it is absent; tiny fake 20 Newsgroups and BBC
trees built in a temporary folder cover tarball-versus-folder reading and text stripping.
"""

from __future__ import annotations

import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ppltopics import Corpus, datasets
from ppltopics.datasets import (
    _detect_format,
    _sotu_paragraphs,
    _strip_newsgroup,
    _strip_newsgroup_footer,
    _strip_newsgroup_header,
    _strip_newsgroup_quoting,
)

POST = """From: alice@example.com
Subject: Re: engines
Organization: Example University

In article <1@example.com> bob@example.com writes:
> quoted carburetor talk
| more quoted text
I think engine torque matters for motorcycles.
Horsepower sells motorcycles.
--
Alice signature line
"""

FAKE_NG = {
    ("train", "rec.autos", "101"): POST,
    ("train", "rec.autos", "102"): "Subject: cars\n\nSedan engines and sedan brakes.\n",
    ("train", "sci.space", "201"): "Subject: orbit\n\nRocket orbit rocket launch.\n",
    ("train", "sci.space", "202"): "Subject: moon\n\nLunar rocket orbit.\n",
    ("test", "rec.autos", "103"): "Subject: tyres\n\nSedan tyres wear caf\xe9 roads.\n",
    ("test", "sci.space", "203"): "Subject: only quotes\n\n> everything is quoted\n",
}

FAKE_BBC = {
    ("business", "001"): b"Shares rise\n\nShares in the bank rose sharply.\n",
    ("business", "002"): b"Bank profit\n\nThe bank reported profit.\n",
    ("sport", "001"): b"Cup final\n\nThe team won the cup final.\n",
    ("sport", "002"): "Caf\xe9 league\n\nThe league team lost.\n".encode("latin-1"),
}


def _tar_folder(root: Path, tar_path: Path) -> Path:
    """Pack every entry under ``root`` into ``tar_path`` with paths relative to ``root``."""
    with tarfile.open(tar_path, "w:gz") as tar:
        for child in sorted(root.iterdir()):
            tar.add(child, arcname=child.name)
    return tar_path


@pytest.fixture(scope="module")
def fake_20ng(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("ng")
    root = base / "20news-bydate"
    for (split, group, fid), text in FAKE_NG.items():
        f = root / f"20news-bydate-{split}" / group / fid
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(text.encode("latin-1"))
    (base / "packed").mkdir()
    tar = _tar_folder(root, base / "packed" / "20news-bydate.tar.gz")
    return {"folder": root, "tarball": tar, "tar_folder": tar.parent}


@pytest.fixture(scope="module")
def fake_bbc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("bbc")
    root = base / "bbc"
    for (cls, num), raw in FAKE_BBC.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        (root / cls / f"{num}.txt").write_bytes(raw)
    (root / "README.TXT").write_text("Consists of 4 documents.\n")
    (base / "packed").mkdir()
    with tarfile.open(base / "packed" / "bbc-fulltext.tar.gz", "w:gz") as tar:
        tar.add(root, arcname="bbc")
    return {"folder": root, "tarball": base / "packed" / "bbc-fulltext.tar.gz", "parent": base}


def _same_corpus(a: Corpus, b: Corpus) -> None:
    assert a.vocab == b.vocab
    np.testing.assert_array_equal(a.word_ids, b.word_ids)
    np.testing.assert_array_equal(a.doc_offsets, b.doc_offsets)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.metadata.keys() == b.metadata.keys()
    for k in a.metadata:
        np.testing.assert_array_equal(a.metadata[k], b.metadata[k])


# ---------------------------------------------------------------- newsgroup text stripping
def test_strip_header_keeps_text_after_first_blank_line() -> None:
    assert _strip_newsgroup_header("From: a\nSubject: b\n\nbody\n\nmore") == "body\n\nmore"
    assert _strip_newsgroup_header("no header block") == ""


def test_strip_footer_cuts_at_last_dash_or_blank_line() -> None:
    assert _strip_newsgroup_footer("text\nmore\n--\nsig\n") == "text\nmore"
    assert _strip_newsgroup_footer("para one\n\npara two\n") == "para one"
    # a separator on the first line leaves the text untouched, as in scikit-learn
    assert _strip_newsgroup_footer("--\nonly sig") == "--\nonly sig"


def test_strip_quoting_drops_quotes_and_attributions() -> None:
    text = "In article <x> bob writes:\n> quoted\n| also\nkept line\nJoe said: hi\nend"
    assert _strip_newsgroup_quoting(text) == "kept line\nend"


def test_strip_all_in_sklearn_order() -> None:
    out = _strip_newsgroup(POST, frozenset({"headers", "footers", "quotes"}))
    assert out == "I think engine torque matters for motorcycles.\nHorsepower sells motorcycles."
    assert _strip_newsgroup(POST, frozenset()) == POST


# ---------------------------------------------------------------- 20 Newsgroups (fake tree)
def test_fake_20ng_tarball_equals_folder(fake_20ng: dict[str, Path]) -> None:
    folder = datasets.load_20newsgroups(fake_20ng["folder"], min_count=1)
    tar = datasets.load_20newsgroups(fake_20ng["tarball"], min_count=1)
    beside = datasets.load_20newsgroups(fake_20ng["tar_folder"], min_count=1)
    _same_corpus(folder, tar)
    _same_corpus(folder, beside)
    # the all-quotes post is empty after stripping and is dropped
    assert folder.report["input_docs"] == 6 and folder.num_docs == 5
    assert folder.metadata["file"].tolist() == [
        "rec.autos/101", "rec.autos/102", "sci.space/201", "sci.space/202", "rec.autos/103",
    ]
    assert folder.metadata["split"].tolist() == ["train"] * 4 + ["test"]
    assert folder.labels.tolist() == ["rec.autos"] * 2 + ["sci.space"] * 2 + ["rec.autos"]
    assert folder.docs()[0] == ["think", "engine", "torque", "matters", "motorcycles",
                                "horsepower", "sells", "motorcycles"]
    assert "café" in folder.vocab  # latin-1 bytes decoded


def test_fake_20ng_subsets_and_remove(fake_20ng: dict[str, Path]) -> None:
    train = datasets.load_20newsgroups(fake_20ng["tarball"], subset="train", min_count=1)
    test = datasets.load_20newsgroups(fake_20ng["folder"], subset="test", min_count=1)
    assert train.report["input_docs"] == 4 and set(train.metadata["split"]) == {"train"}
    assert test.report["input_docs"] == 2 and test.num_docs == 1
    raw = datasets.load_20newsgroups(fake_20ng["folder"], remove=(), min_count=1)
    assert raw.num_docs == 6
    assert {"organization", "writes", "signature", "quoted"} <= set(raw.vocab)
    stripped = datasets.load_20newsgroups(fake_20ng["folder"], min_count=1)
    assert not {"organization", "writes", "signature", "quoted"} & set(stripped.vocab)


def test_20ng_bad_arguments(fake_20ng: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="subset"):
        datasets.load_20newsgroups(fake_20ng["folder"], subset="dev")
    with pytest.raises(ValueError, match="remove"):
        datasets.load_20newsgroups(fake_20ng["folder"], remove=("signatures",))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text("hello")
    with pytest.raises(ValueError, match="not 20 Newsgroups"):
        datasets.load_20newsgroups(tmp_path)
    only_train = tmp_path / "ng"
    (only_train / "20news-bydate-train" / "sci.space").mkdir(parents=True)
    (only_train / "20news-bydate-train" / "sci.space" / "1").write_text("Subject: x\n\nrocket")
    with pytest.raises(ValueError, match="20news-bydate-test"):
        datasets.load_20newsgroups(only_train, subset="test")
    with pytest.raises(FileNotFoundError):
        datasets.load_20newsgroups(tmp_path / "missing.tar.gz")


# ---------------------------------------------------------------- BBC (fake tree)
def test_fake_bbc_tarball_equals_folder(fake_bbc: dict[str, Path]) -> None:
    folder = datasets.load_bbc(fake_bbc["folder"], min_count=1)
    for other in (fake_bbc["tarball"], fake_bbc["tarball"].parent, fake_bbc["parent"]):
        _same_corpus(folder, datasets.load_bbc(other, min_count=1))
    assert folder.num_docs == 4
    assert folder.labels.tolist() == ["business", "business", "sport", "sport"]
    assert folder.metadata["file"].tolist() == [
        "business/001", "business/002", "sport/001", "sport/002",
    ]
    assert folder.metadata["title"].tolist()[-1] == "Café league"  # latin-1 fallback
    assert "consists" not in folder.vocab  # README.TXT is not an article


def test_bbc_rejects_other_formats(fake_20ng: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="not BBC News"):
        datasets.load_bbc(fake_20ng["tarball"])
    with pytest.raises(ValueError, match="not BBC News"):
        datasets.load_bbc(fake_20ng["folder"])


# ---------------------------------------------------------------- State of the Union
def test_sotu_paragraph_split() -> None:
    text = (
        "Fellow-Citizens of the Senate and House of Representatives:\n\n"
        "The President. First paragraph [Applause] goes on\n continued here.\n"
        "Second paragraph starts here\nand continues in lower case.\n\n"
        "Audience members. U.S.A.!\n\nThird one."
    )
    assert _sotu_paragraphs(text) == [
        "Fellow-Citizens of the Senate and House of Representatives:",
        "First paragraph goes on continued here.",
        "Second paragraph starts here and continues in lower case.",
        "Third one.",
    ]


def test_sotu_default_corpus(sotu_corpus: Corpus) -> None:
    c = sotu_corpus
    assert c.num_docs >= 5000
    assert c.labels is None
    assert {"year", "president", "party", "paragraph"} <= set(c.metadata)
    years = c.metadata["year"]
    assert np.issubdtype(years.dtype, np.integer)
    assert years.min() == 1790 and 2000 < years.max() < 2100
    parties = c.metadata["party"]
    assert all(isinstance(p, str) and p for p in parties.tolist())
    assert {"Federalist", "Republican", "Democratic"} <= set(parties.tolist())
    assert c.metadata["paragraph"].min() >= 0
    assert len(set(c.metadata["president"].tolist())) > 30  # surnames
    assert c.report["dataset"] == "sotu" and c.report["min_count"] == 5
    assert "the" not in c.vocab and "congress" in c.vocab


def test_sotu_labels_option() -> None:
    c = datasets.load_sotu(min_words=300, labels="party")
    np.testing.assert_array_equal(c.labels, c.metadata["party"])
    assert c.num_docs < 1000
    with pytest.raises(ValueError, match="labels"):
        datasets.load_sotu(labels="year")


# ---------------------------------------------------------------- benchmark corpora
@pytest.fixture(scope="module")
def ng_all(shared_data: Path) -> Corpus:
    return datasets.load_20newsgroups(shared_data / "20newsgroups-bydate/20news-bydate.tar.gz")


@pytest.mark.shared
def test_20newsgroups_all(ng_all: Corpus) -> None:
    assert ng_all.report["input_docs"] == 18846
    # ~515 posts are nothing but headers, quotes and signature and end up empty
    assert 18846 - 700 <= ng_all.num_docs < 18846
    assert ng_all.num_docs == 18846 - ng_all.report["dropped_empty_docs"]
    assert len(np.unique(ng_all.labels)) == 20
    assert Counter(ng_all.metadata["split"].tolist()).keys() == {"train", "test"}
    assert len(set(ng_all.metadata["file"].tolist())) == ng_all.num_docs
    # header fields ("Organization:", "Lines:") are in every post unless headers are stripped
    counts = ng_all.word_counts()
    for word in ("organization", "lines"):
        assert counts[ng_all.word_index[word]] < 1000


@pytest.mark.shared
def test_20newsgroups_subsets(shared_data: Path) -> None:
    folder = shared_data / "20newsgroups-bydate"  # the folder holding the tarball
    train = datasets.load_20newsgroups(folder, subset="train", remove=())
    test = datasets.load_20newsgroups(folder, subset="test", remove=())
    assert train.report["input_docs"] == 11314 and test.report["input_docs"] == 7532
    assert set(train.metadata["split"].tolist()) == {"train"}
    assert Counter(train.labels.tolist())["alt.atheism"] == 480  # PROVENANCE.md count


@pytest.mark.shared
def test_bbc(shared_data: Path) -> None:
    c = datasets.load_bbc(shared_data / "bbc-news/bbc-fulltext.tar.gz")
    assert c.num_docs == 2225
    assert Counter(c.labels.tolist()) == {
        "business": 510, "entertainment": 386, "politics": 417, "sport": 511, "tech": 401,
    }
    assert c.metadata["file"][0] == "business/001"
    assert c.metadata["title"][0] == "Ad sales boost Time Warner profit"


@pytest.mark.shared
def test_ghlda_wiki(shared_data: Path, tmp_path: Path) -> None:
    wiki = shared_data / "ghlda-corpora/wiki"
    c = datasets.load_ghlda_wiki(wiki)
    assert c.num_docs == 1000
    assert Counter(c.labels.tolist()) == {
        "rivers": 170, "finance": 166, "football": 166, "law": 166,
        "mathematical": 166, "military": 166,
    }
    assert {"bank", "banks", "river", "the"} <= set(c.vocab)
    assert c.report["dropped_tokens"] == 0  # min_count=1, no stopwords
    assert c.metadata["categories"][0] == "Financial"
    _same_corpus(c, datasets.load_ghlda_wiki(wiki.parent))
    # without the derived class file the classes come from the category keywords
    for name in ("wiki_test_1000.txt", "wiki_test_label_1000.txt"):
        (tmp_path / name).write_bytes((wiki / name).read_bytes())
    np.testing.assert_array_equal(datasets.load_ghlda_wiki(tmp_path).labels, c.labels)


@pytest.mark.shared
def test_octis_bbc(shared_data: Path) -> None:
    folder = shared_data / "octis-preprocessed/BBC_News"
    c = datasets.load_octis(folder)
    lines = (folder / "corpus.tsv").read_text(encoding="utf-8").splitlines()
    vocab = (folder / "vocabulary.txt").read_text(encoding="utf-8").split()
    assert c.num_docs == len(lines) == 2225
    assert c.vocab == vocab
    assert c.num_tokens == sum(len(line.split("\t")[0].split()) for line in lines)
    assert len(np.unique(c.labels)) == 5
    assert Counter(c.metadata["partition"].tolist()) == {"train": 1556, "val": 334, "test": 335}
    test = datasets.load_octis(folder / "corpus.tsv", partition="test")
    assert test.num_docs == 335 and test.vocab == vocab


@pytest.mark.shared
def test_octis_m10_labels(shared_data: Path) -> None:
    c = datasets.load_octis(shared_data / "octis-preprocessed/M10")
    assert c.num_docs == 8355 and c.vocab_size == 1696
    assert sorted(np.unique(c.labels).tolist()) == [str(i) for i in range(10)]


# ---------------------------------------------------------------- load_path
@pytest.mark.shared
def test_detect_format_of_shared_corpora(shared_data: Path) -> None:
    expected = {
        "20newsgroups-bydate": "20newsgroups",
        "20newsgroups-bydate/20news-bydate.tar.gz": "20newsgroups",
        "bbc-news": "bbc",
        "bbc-news/bbc-fulltext.tar.gz": "bbc",
        "ghlda-corpora": "ghlda_wiki",
        "ghlda-corpora/wiki": "ghlda_wiki",
        "ghlda-corpora/wiki/wiki_test_1000.txt": "ghlda_wiki",
        "octis-preprocessed/BBC_News": "octis",
        "octis-preprocessed/DBLP/corpus.tsv": "octis",
    }
    for rel, kind in expected.items():
        assert _detect_format(shared_data / rel) == kind, rel
    assert datasets.load_path(shared_data / "bbc-news").report["dataset"] == "bbc"
    assert datasets.load_path(shared_data / "ghlda-corpora/wiki").num_docs == 1000
    octis = datasets.load_path(shared_data / "octis-preprocessed/BBC_News")
    assert octis.report["dataset"] == "octis" and octis.vocab_size == 2949


def test_load_path_fake_trees(fake_20ng: dict[str, Path], fake_bbc: dict[str, Path]) -> None:
    for key in ("folder", "tarball", "tar_folder"):
        c = datasets.load_path(fake_20ng[key], min_count=1)
        assert c.report["dataset"] == "20newsgroups" and c.num_docs == 5
    for key in ("folder", "tarball", "parent"):
        c = datasets.load_path(fake_bbc[key], min_count=1)
        assert c.report["dataset"] == "bbc" and c.num_docs == 4


def test_load_path_bundle_and_text(tmp_path: Path) -> None:
    text = tmp_path / "docs.txt"
    text.write_text("Rivers flood the river bank.\n\nThe bank lends money.\nRiver money.\n")
    c = datasets.load_path(text, min_count=1)
    assert c.num_docs == 3 and c.metadata["line"].tolist() == [0, 2, 3]
    assert c.report["dataset"] == "text"
    c.save(str(tmp_path / "saved"))
    _same_corpus(c, datasets.load_path(tmp_path / "saved"))


def test_load_path_sotu_name() -> None:
    c = datasets.load_path("sotu", min_words=500)
    assert c.report["dataset"] == "sotu" and c.num_docs > 10


def test_load_path_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        datasets.load_path(tmp_path / "nowhere")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty corpus"):
        datasets.load_path(empty)
    blank = tmp_path / "blank.txt"
    blank.write_text("\n   \n\n")
    with pytest.raises(ValueError, match="empty corpus"):
        datasets.load_path(blank)
    stop_only = tmp_path / "stop.txt"
    stop_only.write_text("the and of\n")
    with pytest.raises(ValueError, match="empty"):
        datasets.load_path(stop_only)
    other = tmp_path / "other"
    (other / "sub").mkdir(parents=True)
    (other / "sub" / "notes.md").write_text("nothing to see")
    (other / "README").write_text("hello")
    with pytest.raises(ValueError, match="unknown corpus format.*OCTIS"):
        datasets.load_path(other)
    csv = tmp_path / "table.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="unknown corpus format"):
        datasets.load_path(csv)
    junk_tar = tmp_path / "junk.tar.gz"
    with tarfile.open(junk_tar, "w:gz") as tar:
        tar.add(other / "README", arcname="README")
    with pytest.raises(ValueError, match="unknown corpus format"):
        datasets.load_path(junk_tar)
    with pytest.raises(ValueError, match="OCTIS"):
        datasets.load_octis(other)
    with pytest.raises(ValueError, match="GhLDA"):
        datasets.load_ghlda_wiki(other)
    with pytest.raises(ValueError, match="not BBC News"):
        datasets.load_bbc(other)


def test_ghlda_wiki_fake_train_split(tmp_path: Path) -> None:
    (tmp_path / "wiki").mkdir()
    (tmp_path / "wiki" / "wiki_train_3.txt").write_text(
        "the river bank flooded\nthe bank raised rates\nthe striker scored a goal\n"
    )
    (tmp_path / "wiki" / "wiki_train_label_3.txt").write_text(
        "Canberra;Rivers\nBanks;1931\nAssociation;Football;1908\n"
    )
    c = datasets.load_path(tmp_path)  # detected through the parent folder
    assert c.report["dataset"] == "ghlda_wiki"
    assert c.labels.tolist() == ["rivers", "finance", "football"]
    assert {"a", "the", "bank"} <= set(c.vocab)  # single letters and stopwords are kept
    with pytest.raises(ValueError, match="wiki_test"):
        datasets.load_ghlda_wiki(tmp_path, split="test")
    (tmp_path / "wiki" / "wiki_train_label_3.txt").write_text("Canberra;Rivers\nBanks\n")
    with pytest.raises(ValueError, match="2 lines but there are 3 texts"):
        datasets.load_ghlda_wiki(tmp_path / "wiki" / "wiki_train_3.txt")
