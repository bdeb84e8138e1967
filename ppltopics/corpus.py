"""Bag-of-words corpora stored as flat CSR arrays ready for numba kernels.

A :class:`Corpus` holds ``word_ids`` (int32, every kept token of every document, documents
concatenated) and ``doc_offsets`` (int64, ``num_docs + 1``): the tokens of document ``d`` are
``word_ids[doc_offsets[d]:doc_offsets[d + 1]]``.  Token order inside a document is kept (the
sliding-window coherence measures and TopClus need it).  A corpus knows nothing of models.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ppltopics._stopwords import ENGLISH_STOPWORDS
from ppltopics.persistence import jsonable

__all__ = ["Corpus", "tokenize"]

_log = logging.getLogger("ppltopics")

#: Unicode words of letters only (no digits or underscores), at least two characters long.
TOKEN_PATTERN = r"[^\W\d_]{2,}"
_TOKEN_RE = re.compile(TOKEN_PATTERN)


def tokenize(text: str, pattern: re.Pattern[str] = _TOKEN_RE) -> list[str]:
    """Lower-case ``text`` and return its Unicode words (letters only, length >= 2)."""
    return pattern.findall(text.lower())


def _resolve_stopwords(stopwords: str | Iterable[str] | None) -> frozenset[str]:
    if stopwords is None:
        return frozenset()
    if isinstance(stopwords, str):
        if stopwords != "english":
            raise ValueError(f"unknown stopword list {stopwords!r}: use 'english', None or a set")
        return ENGLISH_STOPWORDS
    return frozenset(w.lower() for w in stopwords)


def _as_doc_array(values: Any, num_docs: int, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != num_docs:
        raise ValueError(
            f"{name} must have one entry per document ({num_docs}), got shape {arr.shape}"
        )
    return arr


class Corpus:
    """A tokenised corpus over a fixed vocabulary.

    Parameters
    ----------
    word_ids, doc_offsets
        CSR layout (see module docstring).
    vocab
        ``vocab[w]`` is the string of word id ``w``.
    labels
        Optional per-document labels (any 1-d array), e.g. newsgroup names.
    metadata
        Optional per-document columns (``name -> 1-d array``), e.g. year and president.
    report
        What preprocessing dropped (types, tokens, empty documents), for the record.
    """

    def __init__(
        self,
        word_ids: np.ndarray,
        doc_offsets: np.ndarray,
        vocab: Sequence[str],
        labels: Any = None,
        metadata: Mapping[str, Any] | None = None,
        report: Mapping[str, Any] | None = None,
    ) -> None:
        word_ids = np.ascontiguousarray(word_ids, dtype=np.int32)
        doc_offsets = np.ascontiguousarray(doc_offsets, dtype=np.int64)
        vocab = list(vocab)
        if doc_offsets.ndim != 1 or doc_offsets.size < 1 or doc_offsets[0] != 0:
            raise ValueError("doc_offsets must be a 1-d array starting at 0")
        if doc_offsets[-1] != word_ids.size or np.any(np.diff(doc_offsets) < 0):
            raise ValueError("doc_offsets must be non-decreasing and end at len(word_ids)")
        num_docs = doc_offsets.size - 1
        if num_docs == 0 or word_ids.size == 0:
            raise ValueError("empty corpus: no documents with any kept token")
        if word_ids.min() < 0 or word_ids.max() >= len(vocab):
            raise ValueError("word_ids out of range of the vocabulary")
        if len(set(vocab)) != len(vocab):
            raise ValueError("vocabulary has duplicate words")
        self.word_ids = word_ids
        self.doc_offsets = doc_offsets
        self.vocab: list[str] = vocab
        self.labels = None if labels is None else _as_doc_array(labels, num_docs, "labels")
        self.metadata: dict[str, np.ndarray] = {
            k: _as_doc_array(_object_array(v) if k == "text" else v, num_docs, f"metadata[{k!r}]")
            for k, v in (metadata or {}).items()
        }
        self.report: dict[str, Any] = dict(report or {})
        self._word_index: dict[str, int] | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_texts(
        cls,
        texts: Iterable[str],
        labels: Any = None,
        min_count: int = 5,
        stopwords: str | Iterable[str] | None = "english",
        max_df: float | int = 1.0,
        metadata: Mapping[str, Any] | None = None,
        vocab: Sequence[str] | None = None,
        token_pattern: str = TOKEN_PATTERN,
        keep_text: bool = False,
    ) -> Corpus:
        """Tokenise raw texts (lower-case Unicode words) and build a corpus.

        ``min_count``: drop words seen fewer times in the whole corpus; ``max_df``: drop words in
        more than this fraction (float) or number (int) of documents; ``vocab``: a fixed
        vocabulary (e.g. a training corpus's) - other words are dropped and reported.
        ``keep_text=True`` keeps every document's raw text in ``metadata["text"]`` (an object
        array, carried through ``subset``/``split``/``restrict``/``save``/``load``) and the
        pattern in ``report["token_pattern"]``, so contextual embeddings
        (:func:`ppltopics.plm.token_embeddings`) can run the language model on the real text:
        the kept tokens of a document are then a subsequence of ``tokenize(text)``.
        """
        if isinstance(texts, str):
            raise TypeError("texts must be an iterable of strings, not one string")
        pattern = re.compile(token_pattern)
        token_lists = []
        raw: list[str] = []
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
            token_lists.append(tokenize(t, pattern))
            if keep_text:
                raw.append(t)
        if keep_text:
            if metadata is not None and "text" in metadata:
                raise ValueError("metadata already has a 'text' column; pass keep_text=False")
            metadata = {**(metadata or {}), "text": _object_array(raw)}
        corpus = cls.from_tokens(
            token_lists, labels=labels, min_count=min_count, stopwords=stopwords,
            max_df=max_df, metadata=metadata, vocab=vocab,
        )
        if keep_text:
            corpus.report["token_pattern"] = token_pattern
        return corpus

    @classmethod
    def from_tokens(
        cls,
        docs: Iterable[Sequence[str]],
        labels: Any = None,
        min_count: int = 1,
        stopwords: str | Iterable[str] | None = None,
        max_df: float | int = 1.0,
        metadata: Mapping[str, Any] | None = None,
        vocab: Sequence[str] | None = None,
    ) -> Corpus:
        """Build a corpus from already tokenised documents (lists of strings).

        Filtering order: stopwords, then ``min_count`` (corpus frequency), then ``max_df``
        (document frequency).  Documents left empty are dropped and counted in ``report``.
        The vocabulary is ordered by decreasing frequency (ties alphabetically) unless a fixed
        ``vocab`` is given, whose order is kept.
        """
        if isinstance(docs, str):
            raise TypeError("docs must be an iterable of token lists, not a string")
        docs = list(docs)
        if not docs:
            raise ValueError("empty corpus: no documents given")
        if not isinstance(min_count, int | np.integer) or min_count < 1:
            raise ValueError(f"min_count must be a positive integer, got {min_count!r}")
        num_in = len(docs)
        labels = None if labels is None else _as_doc_array(labels, num_in, "labels")
        metadata = {
            k: _as_doc_array(v, num_in, f"metadata[{k!r}]") for k, v in (metadata or {}).items()
        }
        stop = _resolve_stopwords(stopwords)

        index: dict[str, int] = {}
        ids_list: list[int] = []
        lengths = np.empty(num_in, dtype=np.int64)
        for d, toks in enumerate(docs):
            if isinstance(toks, str):
                raise TypeError(f"document {d} is a string; from_tokens expects lists of tokens")
            n0 = len(ids_list)
            ids_list.extend([index.setdefault(t, len(index)) for t in toks])
            lengths[d] = len(ids_list) - n0
        raw_vocab = np.array(list(index), dtype=object)
        raw_ids = np.asarray(ids_list, dtype=np.int64)
        raw_doc = np.repeat(np.arange(num_in), lengths)
        total_tokens = raw_ids.size
        counts = np.bincount(raw_ids, minlength=raw_vocab.size)

        keep = np.ones(raw_vocab.size, dtype=bool)
        if stop:
            keep &= ~np.fromiter((w in stop for w in raw_vocab), bool, raw_vocab.size)
        keep &= counts >= min_count
        if isinstance(max_df, bool) or not isinstance(max_df, float | int | np.integer) or (
            isinstance(max_df, float) and not 0.0 < max_df <= 1.0
        ) or max_df <= 0:
            raise ValueError(
                f"max_df must be a fraction in (0, 1] or a positive document count, got {max_df!r}"
            )
        limit = max_df * num_in if isinstance(max_df, float) else int(max_df)
        if vocab is None and limit < num_in:
            pairs = np.unique(raw_doc * raw_vocab.size + raw_ids)
            df = np.bincount(pairs % raw_vocab.size, minlength=raw_vocab.size)
            keep &= df <= limit

        if vocab is not None:
            vocab = list(vocab)
            fixed = {w: i for i, w in enumerate(vocab)}
            new_id = np.array([fixed.get(w, -1) for w in raw_vocab], dtype=np.int64)
            new_id[~keep] = -1
            out_vocab = vocab
        else:
            kept = np.flatnonzero(keep)
            order = sorted(kept.tolist(), key=lambda i: (-counts[i], raw_vocab[i]))
            new_id = np.full(raw_vocab.size, -1, dtype=np.int64)
            new_id[order] = np.arange(len(order))
            out_vocab = [str(raw_vocab[i]) for i in order]

        mapped = new_id[raw_ids] if raw_ids.size else raw_ids
        mask = mapped >= 0
        dropped_types = raw_vocab[new_id < 0]
        report: dict[str, Any] = {
            "input_docs": num_in,
            "input_tokens": int(total_tokens),
            "dropped_types": int(dropped_types.size),
            "dropped_tokens": int(total_tokens - mask.sum()),
            "min_count": int(min_count),
            "max_df": max_df,
            "stopwords": "english" if stop is ENGLISH_STOPWORDS else (len(stop) or None),
        }
        return cls._from_masked(
            mapped, mask, raw_doc, num_in, out_vocab, labels, metadata, report
        )

    @classmethod
    def _from_masked(
        cls,
        mapped_ids: np.ndarray,
        mask: np.ndarray,
        token_doc: np.ndarray,
        num_docs_in: int,
        vocab: list[str],
        labels: np.ndarray | None,
        metadata: Mapping[str, np.ndarray],
        report: dict[str, Any],
    ) -> Corpus:
        """Keep masked tokens, drop documents left empty, and record what went."""
        kept_doc = token_doc[mask]
        lengths = np.bincount(kept_doc, minlength=num_docs_in)
        nonempty = lengths > 0
        dropped_docs = int(num_docs_in - nonempty.sum())
        report["dropped_empty_docs"] = dropped_docs
        if not nonempty.any():
            raise ValueError(
                f"all {num_docs_in} documents are empty after filtering "
                f"(min_count, stopwords, max_df or vocabulary removed every token)"
            )
        if dropped_docs:
            _log.info("dropped %d documents left empty after filtering", dropped_docs)
        offsets = np.zeros(int(nonempty.sum()) + 1, dtype=np.int64)
        np.cumsum(lengths[nonempty], out=offsets[1:])
        report["kept_doc_index"] = np.flatnonzero(nonempty)
        return cls(
            mapped_ids[mask],
            offsets,
            vocab,
            labels=None if labels is None else labels[nonempty],
            metadata={k: v[nonempty] for k, v in metadata.items()},
            report=report,
        )

    # ------------------------------------------------------------------ views
    @property
    def num_docs(self) -> int:
        return self.doc_offsets.size - 1

    @property
    def num_tokens(self) -> int:
        return int(self.word_ids.size)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def doc_lengths(self) -> np.ndarray:
        return np.diff(self.doc_offsets)

    @property
    def token_docs(self) -> np.ndarray:
        """Document index of every token (int32, length ``num_tokens``)."""
        return np.repeat(np.arange(self.num_docs, dtype=np.int32), self.doc_lengths)

    @property
    def word_index(self) -> dict[str, int]:
        if self._word_index is None:
            self._word_index = {w: i for i, w in enumerate(self.vocab)}
        return self._word_index

    def word_counts(self) -> np.ndarray:
        """Corpus frequency of every vocabulary word."""
        return np.bincount(self.word_ids, minlength=self.vocab_size)

    def doc_word_ids(self, d: int) -> np.ndarray:
        return self.word_ids[self.doc_offsets[d] : self.doc_offsets[d + 1]]

    def docs(self) -> list[list[str]]:
        """The kept tokens of every document, as strings, in their original order."""
        v = np.asarray(self.vocab, dtype=object)
        return [v[self.doc_word_ids(d)].tolist() for d in range(self.num_docs)]

    def __len__(self) -> int:
        return self.num_docs

    def __repr__(self) -> str:
        lab = "" if self.labels is None else f", {len(np.unique(self.labels))} labels"
        return (
            f"Corpus({self.num_docs} docs, {self.num_tokens} tokens, "
            f"{self.vocab_size} words{lab})"
        )

    # ------------------------------------------------------------------ derived corpora
    def subset(self, doc_indices: Sequence[int] | np.ndarray) -> Corpus:
        """A corpus of the given documents (same vocabulary, same order as given)."""
        idx = np.asarray(doc_indices, dtype=np.int64)
        if idx.size == 0:
            raise ValueError("empty corpus: subset of zero documents")
        if idx.min() < 0 or idx.max() >= self.num_docs:
            raise IndexError("document index out of range")
        lengths = self.doc_lengths[idx]
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        starts = self.doc_offsets[idx]
        gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return Corpus(
            self.word_ids[gather],
            offsets,
            self.vocab,
            labels=None if self.labels is None else self.labels[idx],
            metadata={k: v[idx] for k, v in self.metadata.items()},
            report={**self.report, "subset_of_docs": self.num_docs},
        )

    def split(self, test_size: float | int = 0.2, seed: int = 0) -> tuple[Corpus, Corpus]:
        """Random train/test split of documents; both keep this corpus's vocabulary."""
        n = self.num_docs
        n_test = int(round(test_size * n)) if isinstance(test_size, float) else int(test_size)
        if not 0 < n_test < n:
            raise ValueError(
                f"test_size={test_size!r} leaves no document on one side of a corpus of {n}"
            )
        perm = np.random.default_rng(seed).permutation(n)
        return self.subset(np.sort(perm[n_test:])), self.subset(np.sort(perm[:n_test]))

    def restrict(self, vocab: Iterable[str]) -> Corpus:
        """A new corpus keeping only words in ``vocab`` (e.g. words that have a vector).

        The vocabulary order of this corpus is kept.  Dropped types/tokens and documents left
        empty are logged and recorded in ``report``.
        """
        allowed = set(vocab)
        keep_word = np.fromiter((w in allowed for w in self.vocab), bool, self.vocab_size)
        if not keep_word.any():
            raise ValueError("no corpus word is in the given vocabulary (no coverage)")
        new_id = np.full(self.vocab_size, -1, dtype=np.int64)
        new_id[keep_word] = np.arange(int(keep_word.sum()))
        mapped = new_id[self.word_ids]
        mask = mapped >= 0
        counts = self.word_counts()
        gone = np.flatnonzero(~keep_word)
        top = gone[np.argsort(-counts[gone], kind="stable")[:20]]
        report = {
            **{k: v for k, v in self.report.items() if k != "kept_doc_index"},
            "restrict_dropped_types": int(gone.size),
            "restrict_dropped_tokens": int((~mask).sum()),
            "restrict_token_coverage": float(mask.mean()),
            "restrict_examples": [self.vocab[i] for i in top],
        }
        _log.info(
            "restrict: dropped %d word types (%d tokens, %.2f%% of tokens), e.g. %s",
            gone.size, (~mask).sum(), 100 * (1 - mask.mean()), report["restrict_examples"][:5],
        )
        return Corpus._from_masked(
            mapped, mask, self.token_docs, self.num_docs,
            [w for w, k in zip(self.vocab, keep_word, strict=True) if k],
            self.labels, self.metadata, report,
        )

    def prune(self, min_count: int = 1, min_df: int = 1) -> Corpus:
        """A new corpus keeping the words seen at least ``min_count`` times and in at least
        ``min_df`` documents (a vocabulary threshold, e.g. for embedding models, whose
        rare words sit in sparse regions of the vector space; the GhLDA code keeps words
        seen >= 50 times).  Documents left empty are dropped (see :meth:`restrict`).

        Raises ``ValueError`` for a threshold that is not a positive integer or that leaves
        no word (naming the threshold and the largest count / document frequency).
        """
        for name, v in (("min_count", min_count), ("min_df", min_df)):
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        counts = self.word_counts()
        pairs = np.unique(self.token_docs * self.vocab_size + self.word_ids)
        df = np.bincount(pairs % self.vocab_size, minlength=self.vocab_size)
        keep = (counts >= min_count) & (df >= min_df)
        if not keep.any():
            raise ValueError(
                f"vocabulary threshold min_count={min_count}, min_df={min_df} leaves no word "
                f"(largest count {int(counts.max())}, largest document frequency "
                f"{int(df.max())})")
        out = self.restrict([w for w, k in zip(self.vocab, keep, strict=True) if k])
        out.report.update(prune_min_count=int(min_count), prune_min_df=int(min_df))
        return out

    def select_tokens(self, mask: Any, drop_empty: bool = True) -> Corpus:
        """A new corpus of the tokens where ``mask`` (one bool per token, in ``word_ids``
        order) is true, e.g. those of some parts of speech (:func:`ppltopics.tagging.pos_tags`).
        The vocabulary is kept.  Documents left empty are dropped (and recorded in
        ``report["kept_doc_index"]``), or with ``drop_empty=False`` kept empty, so the
        documents still line up with the labels and texts of this corpus.

        Raises ``ValueError`` for a mask of the wrong length or dtype, or one that keeps no
        token.
        """
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != self.word_ids.shape:
            raise ValueError(f"mask must be a bool array of one value per token "
                             f"({self.num_tokens}), got dtype {mask.dtype}, shape {mask.shape}")
        if not mask.any():
            raise ValueError("the token mask keeps no token")
        report = {**{k: v for k, v in self.report.items() if k != "kept_doc_index"},
                  "select_dropped_tokens": int((~mask).sum())}
        if drop_empty:
            return Corpus._from_masked(self.word_ids, mask, self.token_docs, self.num_docs,
                                       self.vocab, self.labels, self.metadata, report)
        offsets = np.zeros_like(self.doc_offsets)
        np.cumsum(np.bincount(self.token_docs[mask], minlength=self.num_docs),
                  out=offsets[1:])
        return Corpus(self.word_ids[mask], offsets, self.vocab, labels=self.labels,
                      metadata=self.metadata, report=report)

    def with_vocab(self, vocab: Sequence[str]) -> Corpus:
        """Re-index onto another vocabulary (e.g. a fitted model's); unknown words are dropped.

        Raises ``ValueError`` if no token of any document is known.
        """
        index = {w: i for i, w in enumerate(vocab)}
        lookup = np.array([index.get(w, -1) for w in self.vocab], dtype=np.int64)
        mapped = lookup[self.word_ids]
        mask = mapped >= 0
        if not mask.any():
            raise ValueError("no token of the new documents is in the model's vocabulary")
        report = {
            **{k: v for k, v in self.report.items() if k != "kept_doc_index"},
            "unknown_tokens": int((~mask).sum()),
        }
        return Corpus._from_masked(
            mapped, mask, self.token_docs, self.num_docs, list(vocab),
            self.labels, self.metadata, report,
        )

    # ------------------------------------------------------------------ persistence
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON-able metadata for :mod:`ppltopics.persistence` (no pickle)."""
        arrays: dict[str, np.ndarray] = {
            "word_ids": self.word_ids,
            "doc_offsets": self.doc_offsets,
            "vocab": np.asarray(self.vocab, dtype=str),
        }
        if self.labels is not None:
            arrays["labels"] = _plain(self.labels)
        for k, v in self.metadata.items():
            if k == "text":  # ragged UTF-8: fixed-width unicode would pad every text to the longest
                blobs = [str(t).encode("utf-8") for t in v]
                arrays["text.offsets"] = np.cumsum([0] + [len(b) for b in blobs], dtype=np.int64)
                arrays["text.utf8"] = np.frombuffer(b"".join(blobs), dtype=np.uint8)
            else:
                arrays[f"meta.{k}"] = _plain(v)
        report = {k: v for k, v in self.report.items() if k != "kept_doc_index"}
        return arrays, {"report": jsonable(report)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> Corpus:
        metadata = {k[5:]: v for k, v in arrays.items() if k.startswith("meta.")}
        if "text.utf8" in arrays:
            buf, off = arrays["text.utf8"].tobytes(), arrays["text.offsets"]
            metadata["text"] = _object_array(
                [buf[a:b].decode("utf-8") for a, b in zip(off[:-1], off[1:], strict=True)]
            )
        return cls(
            arrays["word_ids"],
            arrays["doc_offsets"],
            [str(w) for w in arrays["vocab"]],
            labels=arrays.get("labels"),
            metadata=metadata,
            report=meta.get("report", {}),
        )

    def save(self, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Write a pickle-free ppltopics bundle folder (see :mod:`ppltopics.persistence`).

        An existing bundle at ``path`` is replaced atomically; any other existing path raises
        ``FileExistsError`` unless ``overwrite=True`` (a folder holding other files is never
        replaced)."""
        from ppltopics.persistence import save_bundle

        arrays, meta = self.to_arrays()
        return save_bundle(path, "corpus", arrays, meta, overwrite=overwrite)

    @classmethod
    def load(cls, path: str) -> Corpus:
        from ppltopics.persistence import load_bundle

        arrays, meta = load_bundle(path, kind="corpus")
        return cls.from_arrays(arrays, meta)


def _object_array(values: Any) -> np.ndarray:
    """A 1-d object array of ``str`` (no fixed-width padding of long texts)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = [str(v) for v in values]
    return arr


def _plain(a: np.ndarray) -> np.ndarray:
    """Object arrays (e.g. of str) become fixed-width unicode so npz needs no pickle."""
    a = np.asarray(a)
    return a.astype(str) if a.dtype == object else a
