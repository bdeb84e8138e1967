"""The topic-quality protocol (``pt.evaluation.quality_report``): one set of scores for any
model's top words, computed the same way for every model compared.

Given a corpus split once into ``train`` (what the models were fitted on) and ``test``
(held-out documents of the same vocabulary and preprocessing), and each topic's top words:

* ``npmi_test_doc``: NPMI of the top ``top_n`` words from *document* co-occurrence on the
  held-out documents (``coherence(..., "npmi", window="document")`` on ``test``): words
  that belong together appear in the same unseen documents, whatever their order;
* ``npmi_test_window`` / ``npmi_train_window``: NPMI from gensim-style sliding windows of
  ``window`` tokens (default 10) on the test and the training documents;
* ``diversity``: unique words among the top ``diversity_n`` (25) of all topics / (25·K);
* ``nmi``: when document labels and a document representation are given, the NMI between
  the labels and a k-means clustering (k = number of labels) of the representation
  (:func:`kmeans_nmi`);
* ``background_topics``: topics whose top ``top_n`` words are mostly *background words*
  (:func:`background_words`: words spread over the labels like the corpus itself, e.g.
  "said", "instead", "took"), where labels exist.

Every score is reported with its settings (``settings``) so results are comparable only
when those agree.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ppltopics._validation import check_int, check_type
from ppltopics.corpus import Corpus
from ppltopics.evaluation import _check_topics, coherence, diversity, nmi

__all__ = ["QualityReport", "quality_report", "kmeans_nmi", "background_words"]

#: k-means restarts of :func:`kmeans_nmi` (the lowest within-cluster sum of squares wins).
KMEANS_RESTARTS = 10
#: KL(p(label | w) ‖ p(label)) in nats below which a word counts as a background word.
BACKGROUND_KL = 0.05


@dataclass(frozen=True)
class QualityReport:
    """Scores of one set of topics under the protocol (module docstring).

    ``per_topic`` holds the per-topic held-out document NPMI and background-word share;
    ``settings`` the protocol's settings and corpus sizes.  ``to_dict()`` is JSON-able.
    """

    npmi_test_doc: float
    npmi_test_window: float
    npmi_train_window: float
    diversity: float
    nmi: float | None
    background_topics: int | None
    num_topics: int
    per_topic: dict[str, list[float]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"npmi_test_doc": self.npmi_test_doc, "npmi_test_window": self.npmi_test_window,
                "npmi_train_window": self.npmi_train_window, "diversity": self.diversity,
                "nmi": self.nmi, "background_topics": self.background_topics,
                "num_topics": self.num_topics, "per_topic": self.per_topic,
                "settings": self.settings}


def kmeans_nmi(doc_repr: Any, labels: Any, seed: int = 0,
               restarts: int = KMEANS_RESTARTS) -> float:
    """NMI (:func:`ppltopics.evaluation.nmi`) between ``labels`` and k-means clusters of the
    rows of ``doc_repr`` (documents × features, e.g. ``post.doc_topics()``), k = the number
    of distinct labels; the best (lowest within-cluster sum of squares) of ``restarts``
    k-means++ runs seeded from ``seed`` (:func:`ppltopics.inference._init.weighted_kmeans`,
    unit weights).  Raises ``ValueError`` when the shapes disagree or a value is not finite.
    """
    from ppltopics.inference._init import weighted_kmeans

    x = np.asarray(doc_repr, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.size:
        raise ValueError(f"doc_repr must be (documents, features) with one label per row, got "
                         f"{x.shape} and {y.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("doc_repr contains NaN or inf")
    restarts = check_int("restarts", restarts, 1)
    k = int(np.unique(y).size)
    rng = np.random.default_rng(seed)
    w = np.ones(x.shape[0])
    best, best_sse = None, np.inf
    for _ in range(restarts):
        lab, centres = weighted_kmeans(x, w, k, rng)
        sse = float(((x - centres[lab]) ** 2).sum())
        if sse < best_sse:
            best, best_sse = lab, sse
    return nmi(best, y)


def background_words(corpus: Corpus, threshold: float = BACKGROUND_KL) -> np.ndarray:
    r"""Boolean mask over ``corpus.vocab``: words whose label distribution is close to the
    corpus's, :math:`\mathrm{KL}(p(y \mid w) \,\|\, p(y)) <` ``threshold`` nats, with
    :math:`p(y \mid w)` from the word's token counts per document label and :math:`p(y)`
    from all tokens.  Function-like words ("said", "instead", "took") spread over every
    class score near 0; topical words are concentrated on a few classes.  Words that never
    occur are not background.  Raises ``ValueError`` when the corpus has no labels."""
    if corpus.labels is None:
        raise ValueError("background_words needs document labels on the corpus")
    _, y = np.unique(np.asarray(corpus.labels).astype(str), return_inverse=True)
    C = int(y.max()) + 1
    tok_label = y[corpus.token_docs]
    table = np.bincount(corpus.word_ids * C + tok_label,
                        minlength=corpus.vocab_size * C).reshape(corpus.vocab_size, C)
    prior = table.sum(axis=0) / table.sum()
    n_w = table.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = table / n_w[:, None]
        kl = np.where(p > 0, p * np.log(p / prior[None, :]), 0.0).sum(axis=1)
    return (n_w > 0) & (kl < threshold)


class _Scored(NamedTuple):
    score: float
    per_topic: list[float]
    eps: float
    num_dropped: int
    unscorable: int


def _npmi(top_words: Sequence[Sequence[str]], corpus: Corpus, window: int | str,
          top_n: int) -> _Scored:
    """NPMI of every topic on ``corpus``; a topic with fewer than two of its first ``top_n``
    words occurring in ``corpus`` scores −1 (see :func:`quality_report`)."""
    index = corpus.word_index
    present = corpus.word_counts() > 0
    ok = [sum(1 for w in list(t)[:top_n] if index.get(str(w), -1) >= 0
              and present[index[str(w)]]) >= 2 for t in top_words]
    per_topic = [-1.0] * len(top_words)
    eps, dropped = 1e-12, 0
    scorable = [t for t, good in zip(top_words, ok, strict=True) if good]
    if scorable:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            res = coherence(scorable, corpus, "npmi", window=window, top_n=top_n)
        vals = iter(float(v) for v in res.per_topic)
        per_topic = [next(vals) if good else -1.0 for good in ok]
        eps, dropped = res.eps, res.num_dropped
    return _Scored(float(np.mean(per_topic)), per_topic, eps, dropped, ok.count(False))


def quality_report(
    top_words: Sequence[Sequence[str]],
    train: Corpus,
    test: Corpus,
    doc_repr: Any = None,
    labels: Any = None,
    top_n: int = 10,
    window: int = 10,
    diversity_n: int = 25,
    background_kl: float = BACKGROUND_KL,
    seed: int = 0,
) -> QualityReport:
    """Score ``top_words`` (one list per topic, best first, at least ``diversity_n`` words
    each) under the protocol of this module.

    Parameters
    ----------
    top_words
        Each topic's words, best first; coherence uses the first ``top_n``, diversity the
        first ``diversity_n``.
    train, test
        The training documents and the held-out documents (one split of one corpus, e.g.
        ``corpus.split(0.2, seed)``; the same vocabulary and preprocessing).
    doc_repr, labels
        A document representation (documents × features, e.g. ``post.doc_topics()`` of the
        training documents) and those documents' labels (default: ``train.labels``) for
        :func:`kmeans_nmi`; skipped (``nmi=None``) without ``doc_repr`` or labels.
    top_n, window, diversity_n
        Coherence words (10), NPMI window (10 tokens, gensim's default), diversity words (25).
    background_kl
        Threshold of :func:`background_words` (on the training corpus, needs its labels); a
        topic with more than half of its ``top_n`` words background counts in
        ``background_topics`` (``None`` without labels).
    seed
        Seeds the k-means of :func:`kmeans_nmi`.

    Words of a topic absent from a reference corpus are dropped from that score (as in
    :func:`~ppltopics.evaluation.coherence`, whose warning is silenced here and whose count
    is in ``settings``); a topic left with fewer than two of its ``top_n`` words there
    scores −1, NPMI's minimum (its words do not co-occur in that corpus), counted in
    ``settings["unscorable_test_topics"]`` / ``["unscorable_train_topics"]``.  Raises
    ``TypeError`` unless ``train`` and ``test`` are corpora; ``ValueError`` for malformed
    topics, topics shorter than ``diversity_n`` or a ``doc_repr`` whose rows do not match the
    labels.
    """
    check_type("train", train, Corpus, "a ppltopics.Corpus")
    check_type("test", test, Corpus, "a ppltopics.Corpus")
    _check_topics(top_words)
    top_n = check_int("top_n", top_n, 2)
    window = check_int("window", window, 2)
    diversity_n = check_int("diversity_n", diversity_n, 1)
    doc = _npmi(top_words, test, "document", top_n)
    win_test = _npmi(top_words, test, window, top_n)
    win_train = _npmi(top_words, train, window, top_n)
    div = diversity(top_words, top_n=diversity_n)
    labels = train.labels if labels is None else labels
    score_nmi = None
    if doc_repr is not None and labels is not None:
        score_nmi = kmeans_nmi(doc_repr, np.asarray(labels).astype(str), seed=seed)
    per_topic: dict[str, list[float]] = {"npmi_test_doc": [float(v) for v in doc.per_topic]}
    n_background = None
    if train.labels is not None:
        mask = background_words(train, background_kl)
        index = train.word_index
        share = [float(np.mean([bool(mask[index[w]]) if w in index else False
                                for w in list(t)[:top_n]])) for t in top_words]
        per_topic["background_share"] = share
        n_background = int(sum(s > 0.5 for s in share))
    settings = {"top_n": top_n, "window": window, "diversity_n": diversity_n,
                "npmi_eps": doc.eps, "background_kl": float(background_kl),
                "train_docs": train.num_docs, "train_tokens": train.num_tokens,
                "test_docs": test.num_docs, "test_tokens": test.num_tokens,
                "vocab_size": train.vocab_size,
                "dropped_test_words": doc.num_dropped, "dropped_train_words": win_train.num_dropped,
                "unscorable_test_topics": doc.unscorable,
                "unscorable_train_topics": win_train.unscorable,
                "nmi": "k-means of doc_repr, k = #labels, best of "
                       f"{KMEANS_RESTARTS} restarts" if score_nmi is not None else None}
    return QualityReport(doc.score, win_test.score, win_train.score,
                         float(div), score_nmi, n_background, len(top_words), per_topic,
                         settings)
