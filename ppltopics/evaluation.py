"""Evaluation of fitted topics: coherence, diversity, NMI (and, below, held-out likelihood).

Coherence scores depend on their settings (measure, window, number of top words, ε and the
reference corpus), so :func:`coherence` returns a :class:`CoherenceResult` that carries them:
report the result, not a bare float.

The four coherence measures reproduce gensim's :class:`gensim.models.CoherenceModel`
(``u_mass``, ``c_uci``, ``c_npmi``, ``c_v``; Röder, Both & Hinneburg, WSDM 2015) on the same
token lists, including gensim's definition of sliding windows, but count only the words of
the topics, in one vectorised/numba pass over the flat token array of a :class:`Corpus`.

Counting conventions (those of gensim 4.x ``topic_coherence``):

* **Document counts** (``umass``): ``D(w)`` is the number of documents containing ``w``,
  ``D(wi, wj)`` the number containing both, ``N`` the number of documents.
* **Sliding windows** (``uci``, ``npmi``, ``c_v``): a window of ``window`` tokens slides one
  token at a time over each document (the corpus's kept tokens in order; stopwords and rare
  words removed by the corpus are not in the windows, just as gensim sees texts already
  filtered).  A document of ``n`` tokens gives ``max(n - window + 1, 1)`` *virtual documents*
  (a document shorter than the window is one window); ``N`` is the total number of virtual
  documents and ``D(·)`` counts virtual documents.  gensim's
  ``WordOccurrenceAccumulator`` tracks the words of the current window incrementally: when a
  token leaves at the left edge, its word is marked absent *even if another copy of it is
  still inside the window*, until a new copy enters at the right edge.  This implementation
  reproduces that bookkeeping exactly (so scores agree with gensim to rounding); for text
  without repeated words inside a window it coincides with plain boolean windows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import scipy.sparse as sp

from ppltopics._validation import check_choice, check_int, check_type
from ppltopics.corpus import Corpus

if TYPE_CHECKING:
    from ppltopics.posteriors import Posterior

__all__ = ["CoherenceResult", "coherence", "diversity", "nmi", "heldout_loglik", "HeldoutResult",
           "polysemy", "PolysemyResult", "quality_report", "QualityReport", "kmeans_nmi",
           "background_words"]

#: Accepted measure names (gensim's spellings included) -> canonical name.
_MEASURE_ALIASES = {
    "umass": "umass", "u_mass": "umass",
    "uci": "uci", "c_uci": "uci",
    "npmi": "npmi", "c_npmi": "npmi",
    "c_v": "c_v", "cv": "c_v",
}
#: Default sliding window per measure (gensim's ``SLIDING_WINDOW_SIZES``); umass uses documents.
DEFAULT_WINDOW: dict[str, int | None] = {"umass": None, "uci": 10, "npmi": 10, "c_v": 110}
DEFAULT_TOP_N = 10
DEFAULT_EPS = 1e-12


# ====================================================================== coherence
@dataclass(frozen=True, eq=False)
class CoherenceResult:
    """A coherence score together with the settings that produced it.

    Attributes
    ----------
    score
        Mean of ``per_topic`` (gensim's arithmetic-mean aggregation).
    per_topic
        One score per topic (read-only float64 array).
    measure
        ``"umass"``, ``"uci"``, ``"npmi"`` or ``"c_v"``.
    window
        Sliding-window size, or ``None`` for document co-occurrence (umass).
    top_n
        Each topic's word list was truncated to its first ``top_n`` words.
    eps
        Smoothing constant ε inside the logarithms.
    num_docs
        Documents in the reference corpus.
    num_windows
        ``N`` of the probability estimates: virtual documents (sliding windows) or
        ``num_docs`` for umass.
    dropped
        Words of the (truncated) topics that were left out because the reference corpus never
        contains them, in order of first appearance; ``num_dropped`` counts every dropped
        occurrence over all topics.
    """

    score: float
    per_topic: np.ndarray
    measure: str
    window: int | str | None
    top_n: int
    eps: float
    num_docs: int
    num_windows: int
    num_dropped: int = 0
    dropped: tuple[str, ...] = field(default=())

    def __float__(self) -> float:
        return float(self.score)

    def settings(self) -> dict[str, Any]:
        """The settings alone (measure, window, top_n, eps, num_docs, num_windows)."""
        return {
            "measure": self.measure, "window": self.window, "top_n": self.top_n,
            "eps": self.eps, "num_docs": self.num_docs, "num_windows": self.num_windows,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: score, per-topic scores, settings and what was dropped."""
        return {
            "score": float(self.score),
            "per_topic": [float(x) for x in self.per_topic],
            **self.settings(),
            "num_dropped": self.num_dropped,
            "dropped": list(self.dropped),
        }

    def __repr__(self) -> str:
        win = ("documents" if self.window in (None, "document")
               else f"window={self.window}")
        drop = f", dropped={self.num_dropped}" if self.num_dropped else ""
        return (
            f"CoherenceResult({self.measure}={self.score:.6g}; {len(self.per_topic)} topics, "
            f"{win}, top_n={self.top_n}, eps={self.eps:g}, num_docs={self.num_docs}{drop})"
        )


def coherence(
    top_words: Sequence[Sequence[str]],
    corpus: Corpus,
    measure: str = "npmi",
    window: int | str | None = None,
    top_n: int | None = None,
    eps: float = DEFAULT_EPS,
) -> CoherenceResult:
    r"""Topic coherence of ``top_words`` measured on the reference ``corpus``.

    With :math:`N` the number of documents (umass) or sliding windows (others), :math:`P(w)`
    = :math:`D(w)/N`, :math:`P(w_i, w_j) = D(w_i, w_j)/N` (see the module docstring for how
    :math:`D` counts) and a topic's words :math:`w_1, \dots, w_n` in rank order:

    * ``"umass"`` (Mimno et al., EMNLP 2011; gensim ``u_mass``; document co-occurrence): mean
      over :math:`i > j` of :math:`\log\frac{P(w_i, w_j) + \varepsilon}{P(w_j)}`.
    * ``"uci"`` (Newman et al., NAACL 2010; gensim ``c_uci``; window 10): mean over ordered
      pairs :math:`i \ne j` of
      :math:`\mathrm{PMI} = \log\frac{P(w_i, w_j) + \varepsilon}{P(w_i) P(w_j)}`.
    * ``"npmi"`` (Bouma 2009, Aletras & Stevenson 2013; gensim ``c_npmi``; window 10): mean
      over :math:`i \ne j` of
      :math:`\mathrm{NPMI} = \mathrm{PMI}(w_i, w_j) / (-\log(P(w_i, w_j) + \varepsilon))`.
    * ``"c_v"`` (Röder et al., WSDM 2015; gensim ``c_v``; boolean window 110): context vectors
      :math:`v(w_i) = (\mathrm{NPMI}(w_i, w_k))_{k}` and :math:`v(W) = \sum_i v(w_i)` over the
      topic's words (self-pairs included), one-set segmentation; the mean over :math:`i` of
      :math:`\cos(v(w_i), v(W))`.

    Parameters
    ----------
    top_words
        One list of words per topic, best first.
    corpus
        The reference corpus whose (co-)occurrence statistics are used.
    measure
        ``"npmi"`` (default), ``"uci"``, ``"umass"`` or ``"c_v"`` (gensim's names ``c_npmi``,
        ``c_uci``, ``u_mass`` are accepted too).
    window
        Sliding-window size (>= 2); default 10 for uci/npmi and 110 for c_v.  Must be ``None``
        for umass, which counts whole documents.  ``"document"`` (uci, npmi) counts whole
        documents instead of windows: :math:`N` = documents, :math:`D(w)` = documents
        containing :math:`w` (the held-out NPMI of :func:`quality_report`).
    top_n
        Truncate each topic to its first ``top_n`` words (default 10; shorter topics are used
        whole).
    eps
        ε of the formulas above (default 1e-12, as gensim).

    Returns
    -------
    CoherenceResult
        ``score`` (mean over topics), ``per_topic`` and the settings used.

    Notes
    -----
    Words not in the corpus vocabulary, or in it but never occurring (e.g. after
    :meth:`Corpus.split`), are dropped *after* truncation to ``top_n`` with a
    ``UserWarning``; the result records them (``num_dropped``, ``dropped``).  gensim also
    silently drops words missing from its dictionary (it truncates afterwards), and gives
    ``inf``/0 terms for dictionary words that never occur; a topic left with fewer than two
    words raises ``ValueError`` here.

    Raises ``ValueError`` for an unknown ``measure``, a ``window`` that is not an integer
    >= 2 (or any window with umass), ``top_n`` not an integer >= 2, ``eps`` not finite and
    >= 0, no topics, a topic given as one string, or a topic with fewer than two words in the
    corpus; ``TypeError`` when ``corpus`` is not a :class:`Corpus`, ``top_words`` is not a
    list of lists, or a word is not a string.
    """
    name = _MEASURE_ALIASES.get(measure) if isinstance(measure, str) else None
    if name is None:
        raise ValueError(
            f"unknown coherence measure {measure!r}: use one of 'umass', 'uci', 'npmi', 'c_v'"
        )
    window = _check_window(name, window)
    top_n = check_int("top_n", DEFAULT_TOP_N if top_n is None else top_n, 2)
    if isinstance(eps, bool) or not (isinstance(eps, int | float | np.integer | np.floating)
                                     and math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    check_type("corpus", corpus, Corpus, "a ppltopics.Corpus")
    _check_topics(top_words)

    topics, rel_vocab, dropped, num_dropped = _topic_ids(top_words, corpus, int(top_n))
    if window is None or window == "document":
        cooc, n = _document_cooccurrence(corpus, rel_vocab)
    else:
        cooc, n = _window_cooccurrence_counts(corpus, rel_vocab, window)

    score_topic = {"umass": _umass_topic, "uci": _uci_topic, "npmi": _npmi_topic,
                   "c_v": _cv_topic}[name]
    per_topic = np.array([score_topic(cooc[np.ix_(t, t)], n, eps, t) for t in topics])
    per_topic.setflags(write=False)
    return CoherenceResult(
        score=float(np.mean(per_topic)),
        per_topic=per_topic,
        measure=name,
        window=window,
        top_n=int(top_n),
        eps=float(eps),
        num_docs=corpus.num_docs,
        num_windows=int(n),
        num_dropped=num_dropped,
        dropped=dropped,
    )


def _check_window(measure: str, window: int | str | None) -> int | str | None:
    if window == "document" and measure in ("uci", "npmi"):
        return "document"
    if measure == "umass":
        if window is not None:
            raise ValueError(
                "umass counts document co-occurrence: leave window=None "
                "(use 'uci' or 'npmi' for sliding windows)"
            )
        return None
    if window is None:
        return DEFAULT_WINDOW[measure]
    return check_int("window", window, 2)


def _check_topics(top_words: Any) -> None:
    """``top_words`` checked to be a non-empty sequence of topics, each a sequence (not a
    string) of strings: ``ValueError`` for no topics or a topic given as one string,
    ``TypeError`` for anything that is not lists of words."""
    if isinstance(top_words, str) or (isinstance(top_words, Sequence | np.ndarray)
                                      and len(top_words) == 0):
        raise ValueError("top_words must be a non-empty list of topics (lists of words)")
    if not isinstance(top_words, Sequence | np.ndarray):
        raise TypeError(f"top_words must be a list of topics (lists of words), got "
                        f"{type(top_words).__name__}")
    for k, topic in enumerate(top_words):
        if isinstance(topic, str):
            raise ValueError(f"topic {k} is a string; each topic must be a list of words")
        if not isinstance(topic, Sequence | np.ndarray):
            raise TypeError(f"topic {k} must be a list of words, got {type(topic).__name__}")
        for i, w in enumerate(topic):
            if not isinstance(w, str):
                raise TypeError(f"topic {k}, word {i} must be a string, got {w!r}")


def _topic_ids(
    top_words: Sequence[Sequence[str]], corpus: Corpus, top_n: int
) -> tuple[list[np.ndarray], np.ndarray, tuple[str, ...], int]:
    """Truncate, look up and filter the topics.

    Returns each topic as indices into ``rel_vocab`` (the sorted corpus ids of every kept
    topic word), the dropped words and how many word slots were dropped.
    """
    index = corpus.word_index
    present = corpus.word_counts() > 0
    dropped: dict[str, None] = {}
    num_dropped = 0
    topics_vocab: list[np.ndarray] = []
    for k, topic in enumerate(top_words):
        ids = []
        for w in list(topic)[:top_n]:
            i = index.get(str(w), -1)
            if i >= 0 and present[i]:
                ids.append(i)
            else:
                dropped[str(w)] = None
                num_dropped += 1
        if len(ids) < 2:
            raise ValueError(
                f"topic {k} has {len(ids)} word(s) found in the reference corpus among its "
                f"first {top_n}; coherence needs at least 2"
            )
        topics_vocab.append(np.asarray(ids, dtype=np.int64))
    if num_dropped:
        words = list(dropped)
        warnings.warn(
            f"coherence: dropped {num_dropped} topic word(s) absent from the reference corpus "
            f"(e.g. {words[:5]})",
            UserWarning,
            stacklevel=3,
        )
    rel_vocab = np.unique(np.concatenate(topics_vocab))
    topics = [np.searchsorted(rel_vocab, t) for t in topics_vocab]
    return topics, rel_vocab, tuple(dropped), num_dropped


def _relevant_lookup(corpus: Corpus, rel_vocab: np.ndarray) -> np.ndarray:
    """``lookup[v]`` = position of vocabulary id ``v`` in ``rel_vocab``, or -1."""
    lookup = np.full(corpus.vocab_size, -1, dtype=np.int32)
    lookup[rel_vocab] = np.arange(rel_vocab.size, dtype=np.int32)
    return lookup


def _document_cooccurrence(corpus: Corpus, rel_vocab: np.ndarray) -> tuple[np.ndarray, int]:
    """Document co-occurrence ``C[i, j] = D(wi, wj)`` (diagonal ``D(wi)``) and ``N`` = docs."""
    rel = _relevant_lookup(corpus, rel_vocab)[corpus.word_ids]
    mask = rel >= 0
    x = sp.csr_matrix(
        (np.ones(int(mask.sum()), dtype=np.int64), (corpus.token_docs[mask], rel[mask])),
        shape=(corpus.num_docs, rel_vocab.size),
    )
    x.data[:] = 1  # duplicates were summed: a word counts once per document
    return (x.T @ x).toarray(), corpus.num_docs


def _window_cooccurrence_counts(
    corpus: Corpus, rel_vocab: np.ndarray, window: int
) -> tuple[np.ndarray, int]:
    """Sliding-window co-occurrence ``C[i, j]`` (diagonal = occurrences) and ``N`` windows."""
    lookup = _relevant_lookup(corpus, rel_vocab)
    cooc, n = _window_kernel(corpus.word_ids, corpus.doc_offsets, lookup, rel_vocab.size, window)
    return cooc, int(n)


@numba.njit(cache=True, nogil=True)
def _window_kernel(
    word_ids: np.ndarray, doc_offsets: np.ndarray, lookup: np.ndarray, num_rel: int, window: int
) -> tuple[np.ndarray, int]:  # pragma: no cover - compiled
    """Count gensim-style boolean sliding windows, only for the relevant words.

    Window ``t`` of a document covers tokens ``t .. t+window-1``; gensim's membership set is
    updated per step by *removing the word of the token that left* and then adding the word
    of the token that entered.  Each word's membership over ``t`` is thus a union of
    intervals ``[entry, leave)``; a word's occurrence count is the total interval length, and
    a pair's co-occurrence the total overlap, added when the first of the two leaves.  Cost:
    O(tokens + leave events x words present), not O(windows x words present^2).
    """
    cooc = np.zeros((num_rel, num_rel), dtype=np.int64)
    present = np.zeros(num_rel, dtype=np.bool_)
    entry = np.zeros(num_rel, dtype=np.int64)
    members = np.empty(num_rel, dtype=np.int64)  # ids present now (unordered)
    slot = np.empty(num_rel, dtype=np.int64)  # position of each present id in members
    num_windows = 0
    for d in range(doc_offsets.size - 1):
        start = doc_offsets[d]
        n = doc_offsets[d + 1] - start
        if n == 0:
            num_windows += 1  # gensim counts an empty text as one (empty) virtual document
            continue
        w = min(window, n)  # shorter document: one window, the whole document
        nwin = n - w + 1
        num_windows += nwin
        k = 0
        for p in range(start, start + w):
            r = lookup[word_ids[p]]
            if r >= 0 and not present[r]:
                present[r] = True
                entry[r] = 0
                members[k] = r
                slot[r] = k
                k += 1
        for t in range(1, nwin):
            r = lookup[word_ids[start + t - 1]]  # token leaving at the left edge
            if r >= 0 and present[r]:
                er = entry[r]
                cooc[r, r] += t - er
                present[r] = False
                k -= 1
                last = members[k]
                members[slot[r]] = last
                slot[last] = slot[r]
                for q in range(k):
                    u = members[q]
                    ov = t - max(entry[u], er)
                    cooc[r, u] += ov
                    cooc[u, r] += ov
            r = lookup[word_ids[start + t + w - 1]]  # token entering at the right edge
            if r >= 0 and not present[r]:
                present[r] = True
                entry[r] = t
                members[k] = r
                slot[r] = k
                k += 1
        for q in range(k):  # end of document: everyone still present leaves at nwin
            u = members[q]
            cooc[u, u] += nwin - entry[u]
            for q2 in range(q + 1, k):
                v = members[q2]
                ov = nwin - max(entry[u], entry[v])
                cooc[u, v] += ov
                cooc[v, u] += ov
            present[u] = False
    return cooc, num_windows


# ---------------------------------------------------------------- per-topic confirmation
# Each takes the topic's co-occurrence block ``c`` (n x n, rank order, diagonal =
# occurrences), ``N``, ε and the topic's word ids, and evaluates gensim's expressions in
# gensim's operation order.
def _umass_topic(c: np.ndarray, n: int, eps: float, ids: np.ndarray) -> float:
    """Mean over i > j of log((D(wi, wj)/N + ε) / (D(wj)/N))  (s_one_pre segmentation)."""
    i, j = np.tril_indices(c.shape[0], -1)
    num = float(n)
    occ = np.diagonal(c)
    return float(np.mean(np.log((c[i, j] / num + eps) / (occ[j] / num))))


def _pmi_matrix(c: np.ndarray, n: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """PMI(wi, wj) = log((P(wi, wj) + ε) / (P(wi) P(wj))) and P(wi, wj) for all pairs."""
    num = float(n)
    p = np.diagonal(c) / num
    pj = c / num
    return np.log((pj + eps) / (p[:, None] * p[None, :])), pj


def _npmi_matrix(c: np.ndarray, n: int, eps: float) -> np.ndarray:
    """NPMI(wi, wj) = PMI(wi, wj) / (-log(P(wi, wj) + ε)) for all pairs."""
    pmi, pj = _pmi_matrix(c, n, eps)
    return pmi / -np.log(pj + eps)


def _off_diagonal(m: np.ndarray) -> np.ndarray:
    """Entries i != j in row-major order (gensim's s_one_one segmentation order)."""
    return m[~np.eye(m.shape[0], dtype=bool)]


def _uci_topic(c: np.ndarray, n: int, eps: float, ids: np.ndarray) -> float:
    """Mean over ordered pairs i != j of PMI(wi, wj)."""
    return float(np.mean(_off_diagonal(_pmi_matrix(c, n, eps)[0])))


def _npmi_topic(c: np.ndarray, n: int, eps: float, ids: np.ndarray) -> float:
    """Mean over ordered pairs i != j of NPMI(wi, wj)."""
    return float(np.mean(_off_diagonal(_npmi_matrix(c, n, eps))))


def _cv_topic(c: np.ndarray, n: int, eps: float, ids: np.ndarray) -> float:
    """C_V: mean over i of cos(v(wi), v(W)), v(wi)_k = NPMI(wi, wk), v(W) = sum_i v(wi).

    A word repeated in a topic shares one context-vector coordinate (gensim keys the
    coordinates by word id).
    """
    npmi = _npmi_matrix(c, n, eps)
    _, col = np.unique(ids, return_inverse=True)
    vec = np.zeros((ids.size, int(col.max()) + 1))
    for k, j in enumerate(col.ravel()):
        vec[:, j] += npmi[:, k]
    whole = vec.sum(axis=0)
    cos = (vec @ whole) / (np.sqrt((vec**2).sum(axis=1)) * np.sqrt((whole**2).sum()))
    return float(np.mean(cos))


# ====================================================================== diversity
def diversity(top_words: Sequence[Sequence[str]], top_n: int = 25) -> float:
    """Topic diversity (Dieng et al. 2020): unique words among the top-``top_n`` of all
    ``K`` topics divided by ``top_n · K``; 1 means no word is shared between topics.

    Raises ``ValueError`` for no topics, ``top_n`` not an integer >= 1 or a topic with fewer
    than ``top_n`` words (pass the ``top_n`` the lists were made with, e.g. ``top_n=10``);
    ``TypeError`` when ``top_words`` is not lists of strings.
    """
    _check_topics(top_words)
    top_n = check_int("top_n", top_n, 1)
    unique: set[str] = set()
    for k, topic in enumerate(top_words):
        words = list(topic)
        if len(words) < top_n:
            raise ValueError(
                f"topic {k} has {len(words)} words, fewer than top_n={top_n}; "
                f"pass top_n={len(words)} or longer lists"
            )
        unique.update(words[:top_n])
    return len(unique) / (top_n * len(top_words))


# ====================================================================== NMI
def nmi(pred_labels: Sequence[Any] | np.ndarray, true_labels: Sequence[Any] | np.ndarray) -> float:
    r"""Normalised mutual information with arithmetic-mean normalisation (sklearn's default):

    .. math:: \mathrm{NMI}(U, V) = \frac{I(U; V)}{(H(U) + H(V)) / 2},\quad
              I = \sum_{ij} \frac{n_{ij}}{N} \log\frac{N n_{ij}}{a_i b_j},\quad
              H(U) = -\sum_i \frac{a_i}{N} \log\frac{a_i}{N}

    over the contingency counts :math:`n_{ij}` (row sums :math:`a_i`, column sums
    :math:`b_j`).  Labels may be any hashable, sortable values (ints, strings); only the
    partitions matter, so it is invariant to renaming labels.  As in
    ``sklearn.metrics.normalized_mutual_info_score``: two single-cluster labelings give 1.0
    and zero mutual information gives 0.0.

    Raises ``ValueError`` for inputs of different lengths, empty or not 1-d.
    """
    pred = np.asarray(pred_labels)
    true = np.asarray(true_labels)
    if pred.ndim != 1 or true.ndim != 1:
        raise ValueError(f"nmi expects two 1-d label sequences, got pred_labels of shape "
                         f"{pred.shape} and true_labels of shape {true.shape}")
    if pred.size != true.size:
        raise ValueError(f"label sequences differ in length: pred_labels has {pred.size}, "
                         f"true_labels {true.size}")
    if pred.size == 0:
        raise ValueError("nmi of empty label sequences (pred_labels, true_labels) is "
                         "undefined")
    _, ci = np.unique(true, return_inverse=True)
    _, ki = np.unique(pred, return_inverse=True)
    ci = ci.ravel().astype(np.int64)
    ki = ki.ravel().astype(np.int64)
    nc, nk = int(ci.max()) + 1, int(ki.max()) + 1
    if nc == nk == 1:
        return 1.0
    if nc == 1 or nk == 1:  # one side is a single cluster: no information, exactly 0
        return 0.0
    codes, nij = np.unique(ci * nk + ki, return_counts=True)
    a = np.bincount(ci, minlength=nc)
    b = np.bincount(ki, minlength=nk)
    n = float(pred.size)
    outer = a[codes // nk].astype(np.float64) * b[codes % nk].astype(np.float64)
    terms = (nij / n) * (np.log(nij) - np.log(n)) + (nij / n) * (2 * np.log(n) - np.log(outer))
    terms = np.where(np.abs(terms) < np.finfo(np.float64).eps, 0.0, terms)
    mi = max(float(terms.sum()), 0.0)
    if mi == 0.0:
        return 0.0
    return mi / ((_entropy(a) + _entropy(b)) / 2.0)


def _entropy(counts: np.ndarray) -> float:
    """Shannon entropy (nats) of a partition with the given cluster sizes."""
    c = counts[counts > 0].astype(np.float64)
    total = c.sum()
    return float(-np.sum((c / total) * (np.log(c) - np.log(total))))


# ----------------------------------------------------------------------------- held-out


@dataclass(frozen=True)
class HeldoutResult:
    """A left-to-right held-out estimate, with its settings.

    ``kind`` is ``"log probability"`` for discrete models (log p(w | topics)) and
    ``"log density"`` for Gaussian topic models (log p(v | topics) of the word vectors, not
    comparable with discrete models' figures).
    """

    total: float
    per_doc: np.ndarray
    num_tokens: int
    particles: int
    kind: str
    unknown_tokens: int

    @property
    def per_token(self) -> float:
        return self.total / self.num_tokens

    def __float__(self) -> float:
        return self.total

    def __repr__(self) -> str:
        return (f"HeldoutResult({self.kind} = {self.total:.2f} over {self.num_tokens} tokens, "
                f"{self.per_token:.4f}/token, particles={self.particles}, "
                f"unknown_tokens={self.unknown_tokens})")


def heldout_loglik(post: Posterior, test: Corpus, particles: int = 20,
                   seed: int = 0) -> HeldoutResult:
    """Left-to-right estimate of log p(w_test | topics, α) (Wallach et al., ICML 2009, Alg. 3).

    For each held-out document and position n, each of ``particles`` particles resamples
    z_<n once given the fixed posterior-mean topics, then adds
    Σ_k (n_dk + α_k)/(n + α₀) p(w_n | k); the estimate is Σ_n log((1/R) Σ_r p_n^r).  Unbiased
    for p(w_d) per document; cost O(N_d² R K).  Models whose θ is not Dirichlet estimate it
    their own way (:meth:`Posterior.heldout_per_doc`; CGTM: importance sampling of η).  Words
    unknown to the model are dropped and counted in ``unknown_tokens``.

    Raises ``TypeError`` unless ``test`` is a :class:`Corpus`; ``ValueError`` unless
    ``particles`` is an integer >= 1, or when no token of ``test`` is in the model's
    vocabulary.
    """
    from ppltopics.posteriors.base import map_known

    particles = check_int("particles", particles, 1)
    word_ids, offsets, unknown = map_known(test, post.corpus.vocab, name="test")
    rng = np.random.default_rng(seed)
    per_doc = post.heldout_per_doc(word_ids, offsets, particles, rng)
    return HeldoutResult(float(per_doc.sum()), per_doc, int(word_ids.size), particles,
                         post.heldout_kind, unknown)


# ----------------------------------------------------------------------------- polysemy
@dataclass(frozen=True)
class PolysemyResult:
    """How a model splits the occurrences of polysemous ``words`` by their sense.

    ``table[i, j]`` counts occurrences of sense ``senses[i]`` (the label of the occurrence's
    document) assigned to ``assignments[j]`` (a topic id, or a node id of a tree); ``nmi`` is
    :func:`nmi` between the two labelings (0: the model gives every sense the same
    assignment distribution, 1: assignment and sense determine each other).  ``nmi_null``
    (when ``polysemy(..., permutations=P)``) holds the NMI of P shuffles of the senses among
    the documents: the chance level, which grows with the number of distinct assignments.
    """

    nmi: float
    words: tuple[str, ...]
    by: str
    senses: tuple[str, ...]
    assignments: tuple[int, ...]
    table: np.ndarray
    num_occurrences: int
    nmi_null: tuple[float, ...] = ()

    def majority(self) -> dict[str, int]:
        """The most frequent assignment of each sense."""
        return {s: self.assignments[int(np.argmax(row))] for s, row in
                zip(self.senses, self.table, strict=True)}

    def separated(self) -> bool:
        """True when the senses' majority assignments all differ."""
        m = list(self.majority().values())
        return len(set(m)) == len(m)

    def sense_recall(self) -> dict[str, float]:
        """For each sense, the fraction of its occurrences whose assignment is on that
        sense's side: an assignment (topic, path, node) belongs to the sense most of its
        occurrences have.  GLDA's one vector per word type puts every "bank" on the side of
        the frequent sense, so the rare sense scores 0; a perfect split scores 1 for both."""
        side = np.argmax(self.table, axis=0)
        return {s: float(self.table[i, side == i].sum() / max(self.table[i].sum(), 1))
                for i, s in enumerate(self.senses)}

    def to_dict(self) -> dict[str, Any]:
        return {"nmi": self.nmi, "sense_recall": self.sense_recall(), "words": list(self.words),
                "by": self.by,
                "senses": list(self.senses), "assignments": list(self.assignments),
                "table": self.table.tolist(), "num_occurrences": self.num_occurrences,
                "nmi_null": list(self.nmi_null)}

    def __repr__(self) -> str:
        rows = "; ".join(f"{s}: " + ", ".join(f"{a}×{int(n)}" for a, n in
                                              zip(self.assignments, row, strict=True) if n)
                         for s, row in zip(self.senses, self.table, strict=True))
        recall = ", ".join(f"{s} {r:.2f}" for s, r in self.sense_recall().items())
        return (f"PolysemyResult(nmi={self.nmi:.3f}, sense recall {recall}, over "
                f"{self.num_occurrences} occurrences of {'/'.join(self.words)} by {self.by}; "
                f"{rows})")


def polysemy(
    post: Posterior, corpus: Corpus | None = None, words: Sequence[str] = ("bank", "banks"),
    senses: Sequence[Any] | None = None, by: str = "auto", permutations: int = 0,
    seed: int = 0,
) -> PolysemyResult:
    """NMI between the sense of each occurrence of ``words`` (the label of its document) and
    what the model assigned to that occurrence (the GhLDA paper's "bank" study).

    Assignments, by ``by``:

    * ``"topic"`` (flat models, the ``"auto"`` choice for them): the token's most probable
      topic given the posterior means, argmax_k θ_dk · p(w | k) (p(v_w | k) for Gaussian
      topics), i.e. the mode of the collapsed z-conditional at the posterior mean;
    * ``"path"`` (tree models, ``"auto"``): the document's path, identified by its leaf;
    * ``"branch"`` (tree models): the document's node at the first level where the tree
      branches (the top branch of its path);
    * ``"node"`` (tree models): the node at the token's own level on its document's path.

    ``corpus`` defaults to the training corpus; a flat model scores other corpora by
    ``post.transform``.  ``senses`` keeps only the occurrences in documents with those labels
    (e.g. ``("rivers", "finance")``).  ``permutations`` > 0 also gives the chance level
    ``nmi_null``: the NMI after shuffling the senses among the documents (each document keeps
    its occurrences and their assignments; ``seed`` seeds the shuffles).  A single string
    for ``words`` or ``senses`` is one word or one sense.  Raises ``ValueError`` when the
    corpus has no labels, ``words`` or ``senses`` is empty, a sense is not a label of the
    corpus, none of ``words`` is in the model's vocabulary, no occurrence is left, ``by`` is
    not one of the names above (or does not fit the model) or ``permutations`` is not an
    integer >= 0; ``TypeError`` when ``corpus`` is not a :class:`Corpus` or a word not a
    string.
    """
    permutations = check_int("permutations", permutations, 0)
    check_choice("by", by, ("auto", "topic", "path", "branch", "node"))
    corpus = post.corpus if corpus is None else corpus
    check_type("corpus", corpus, Corpus, "a ppltopics.Corpus")
    if corpus.labels is None:
        raise ValueError("polysemy needs document labels (the senses) on the corpus")
    words = (words,) if isinstance(words, str) else tuple(words)
    if not words:
        raise ValueError("words must name at least one word, got an empty sequence")
    for w in words:
        if not isinstance(w, str):
            raise TypeError(f"words must be strings, got {w!r}")
    if senses is not None:
        senses = (senses,) if isinstance(senses, str) else tuple(senses)
        if not senses:
            raise ValueError("senses must name at least one document label (or be None for "
                             "all), got an empty sequence")
    index = corpus.word_index
    wanted = [index[w] for w in words if w in index]
    if not wanted:
        raise ValueError(f"none of {list(words)} is in the corpus vocabulary")
    hits = np.flatnonzero(np.isin(corpus.word_ids, wanted))
    docs = corpus.token_docs[hits]
    labels = np.asarray(corpus.labels)[docs]
    if senses is not None:
        known = set(np.unique(np.asarray(corpus.labels)).tolist())
        missing = [s for s in senses if s not in known]
        if missing:
            raise ValueError(f"no occurrence of {list(words)} in documents labelled "
                             f"{list(senses)}: {missing} are not labels of the corpus (its "
                             f"labels: {sorted(map(str, known))[:10]})")
        keep = np.isin(labels, list(senses))
        hits, docs, labels = hits[keep], docs[keep], labels[keep]
    if hits.size == 0:
        raise ValueError(f"no occurrence of {list(words)} in documents labelled {senses}")
    is_tree = post.is_tree
    if by == "auto":
        by = "path" if is_tree else "topic"
    training = corpus is post.corpus
    if by in ("path", "branch", "node"):
        if not is_tree:
            raise ValueError(f"by={by!r} needs a tree model (hLDA/GhLDA)")
        if not training:
            raise ValueError("tree assignments exist for the training corpus only")
        paths = post.doc_paths()
        if by == "path":
            assigned = paths[docs, -1]
        elif by == "branch":
            split = [lv for lv in range(1, paths.shape[1]) if np.unique(paths[:, lv]).size > 1]
            assigned = paths[docs, split[0] if split else paths.shape[1] - 1]
        else:
            assigned = paths[docs, post.token_levels()[hits]]
    elif by == "topic":
        if is_tree:
            raise ValueError("tree models assign paths/nodes: by='path', 'branch' or 'node'")
        table, _ = post.word_topic_table()  # (V, K), p(w | k) up to a per-word factor
        model_index = post.corpus.word_index
        found = [w for w in words if w in index]
        if any(w not in model_index for w in found):
            raise ValueError(f"{[w for w in found if w not in model_index]} not in the model's "
                             "vocabulary")
        vocab_ids = np.asarray([model_index[corpus.vocab[w]] for w in corpus.word_ids[hits]])
        theta = post.doc_topics() if training else post.transform(corpus.subset(
            np.unique(docs)))
        if not training:
            docs = np.searchsorted(np.unique(docs), docs)
        with np.errstate(divide="ignore"):
            score = np.log(theta[docs]) + np.log(table[vocab_ids])
        assigned = np.argmax(score, axis=1)
    sense_names, si = np.unique(labels.astype(str), return_inverse=True)
    assign_ids, ai = np.unique(assigned, return_inverse=True)
    table = np.zeros((sense_names.size, assign_ids.size), dtype=np.int64)
    np.add.at(table, (si, ai), 1)
    null: list[float] = []
    if permutations:
        rng = np.random.default_rng(seed)
        doc_ids, first, inv = np.unique(docs, return_index=True, return_inverse=True)
        doc_sense = si[first]
        null = [nmi(ai, doc_sense[rng.permutation(doc_ids.size)][inv])
                for _ in range(int(permutations))]
    return PolysemyResult(nmi(assigned, labels.astype(str)), tuple(words), by,
                          tuple(sense_names.tolist()), tuple(int(a) for a in assign_ids), table,
                          int(hits.size), tuple(null))


# ----------------------------------------------------------------------------- protocol
from ppltopics._quality import (  # noqa: E402  (uses coherence/diversity/nmi above)
    QualityReport,
    background_words,
    kmeans_nmi,
    quality_report,
)
