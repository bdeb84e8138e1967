"""Posteriors of the Gaussian topic models over word vectors: GLDA (Das, Zaheer & Dyer,
ACL 2015), registered as ``"glda"``, and the correlated Gaussian topic model (CGTM; Xun et
al., KDD 2017), registered as ``"cgtm"``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ppltopics._validation import check_choice, check_int, check_type
from ppltopics.corpus import Corpus
from ppltopics.posteriors.base import (
    RELEVANCE_WEIGHT,
    Posterior,
    check_heldout_args,
    check_sweeps,
    map_known,
    rank_words,
    register,
    relevance,
)

__all__ = ["GaussianPosterior", "CGTMPosterior", "RANKINGS", "RERANK_SHORTLIST",
           "rank_gaussian_words"]

#: Names of the word rankings of Gaussian topics (``top_words(by=...)``).
RANKINGS = ("density", "counts", "rerank", "relevance")
#: Default shortlist of ``by="rerank"``: the words of highest density re-ranked by counts.
RERANK_SHORTLIST = 200


def rank_gaussian_words(logdens: np.ndarray | None, counts: np.ndarray, n: int, vocab: list[str],
                        by: str = "density", shortlist: int = RERANK_SHORTLIST,
                        relevance_weight: float = RELEVANCE_WEIGHT, beta: float = 0.01
                        ) -> list[list[str]]:
    """Top ``n`` words of every Gaussian topic (rows of ``logdens`` / ``counts``, topics × V).

    * ``"density"``: by log N(v_w | μ̄_k, Σ̄_k) (the topic's density at the word's vector);
    * ``"counts"``: by the posterior-mean word–topic counts n̄_kw;
    * ``"rerank"``: the ``shortlist`` words of highest density, re-ranked by n̄_kw (ties and
      words never assigned to the topic keep their density order); words beyond the
      shortlist follow in density order.  Density alone favours rare words that happen to
      sit near the topic mean; counts alone favour frequent words spread over many topics;
      the re-ranked list keeps the topic's region of the embedding space and reads its
      frequent words first (Sia, Dalmia & Mielke, EMNLP 2020, re-rank cluster words by term
      frequency).
    * ``"relevance"``: by λ log φ̂_kw + (1 − λ) log(φ̂_kw / p_w) (Sievert & Shirley 2014;
      :func:`~ppltopics.posteriors.base.relevance`, λ = ``relevance_weight``) with
      φ̂_kw = (n̄_kw + β)/(n̄_k + Vβ) — the word view's own φ̂ when ``beta`` is its β — and
      p_w = Σ_k n̄_kw / N, the word's share of the tokens: frequent words that every topic
      shares step back behind the topic's own words.

    ``by`` must be one of :data:`RANKINGS` and ``shortlist`` a positive integer
    (``ValueError`` naming the value).
    """
    check_choice("by", by, RANKINGS)
    if by == "relevance":
        counts = np.asarray(counts, dtype=np.float64)
        phi = (counts + beta) / (counts.sum(axis=1, keepdims=True) + counts.shape[1] * beta)
        return rank_words(relevance(phi, counts.sum(axis=0), relevance_weight), n, vocab)
    if by == "density":
        return rank_words(logdens, n, vocab)
    if by == "counts":
        return rank_words(counts, n, vocab)
    shortlist = check_int("shortlist", shortlist, 1)
    n = check_int("n", n, 1)
    order = np.argsort(-logdens, axis=1, kind="stable")
    head = order[:, :shortlist]
    by_count = np.argsort(-np.take_along_axis(counts, head, axis=1), axis=1, kind="stable")
    ranked = np.concatenate([np.take_along_axis(head, by_count, axis=1),
                             order[:, shortlist:]], axis=1)[:, :n]
    return [[vocab[i] for i in row] for row in ranked]


@register("glda")
class GaussianPosterior(Posterior):
    """Posterior of a Gaussian topic model: topic means/covariances over word vectors.

    Estimates: ``topic_mean`` (K, M), ``topic_cov`` (K, M, M) (posterior means), ``theta``
    (D, K), ``word_topic`` (K, V) posterior-mean word-topic counts, ``alpha`` and
    ``word_vectors`` (V, M), the table the model was fitted on.
    """

    relabel_by = ("topic_mean", "euclidean")
    heldout_kind = "log density"

    @property
    def has_word_view(self) -> bool:
        """True when the model was fitted with the word view (``beta=``)."""
        return self.settings.get("beta") is not None

    def word_logdensity(self) -> np.ndarray:
        """(V, K) log N(v_w | μ̄_k, Σ̄_k) under the posterior-mean topic parameters; with the
        word view (``beta``, ``vector_weight`` λ) the token's score of the fitted model,
        λ·log N(v_w | μ̄_k, Σ̄_k) + log φ̄_kw with φ̄_kw = (n̄_kw + β)/(n̄_k + Vβ)."""
        if "_logdens" not in self.__dict__:
            from ppltopics.inference._gaussian import gaussian_logpdf_table

            logd = gaussian_logpdf_table(
                self.estimates["word_vectors"], self.estimates["topic_mean"],
                self.estimates["topic_cov"])
            lam = float(self.settings.get("vector_weight", 1.0))
            if lam != 1.0:
                logd = lam * logd
            if self.has_word_view:
                from ppltopics.inference._word_view import log_phi

                logd = logd + log_phi(self.estimates["word_topic"].T,
                                      float(self.settings["beta"]))
            self.__dict__["_logdens"] = logd
        return self.__dict__["_logdens"]

    def top_words(self, n: int = 10, by: str | None = None,
                  shortlist: int = RERANK_SHORTLIST,
                  relevance_weight: float = RELEVANCE_WEIGHT) -> list[list[str]]:
        """Top ``n`` words per topic ranked ``by`` ``"density"`` (:meth:`word_logdensity`),
        ``"counts"`` (posterior word–topic counts), ``"rerank"`` (the ``shortlist`` densest
        words re-ranked by counts) or ``"relevance"`` (Sievert & Shirley's, weight
        ``relevance_weight``, of φ̂ from the counts smoothed by the word view's β, 0.01
        without it); see :func:`rank_gaussian_words`.  ``None`` (default):
        ``"counts"`` with the word view (its φ̄_k orders words as n̄_kw does), else
        ``"rerank"``.  ``n`` must be a positive integer (all V words when ``n > V``); an
        unknown ``by`` is a ``ValueError`` naming it."""
        if by is None:
            by = "counts" if self.has_word_view else "rerank"
        check_choice("by", by, RANKINGS)
        logdens = self.word_logdensity().T if by in ("density", "rerank") else None
        return rank_gaussian_words(logdens, self.estimates["word_topic"], n,
                                   self.corpus.vocab, by, shortlist, relevance_weight,
                                   float(self.settings.get("beta") or 0.01))

    def doc_topics(self) -> np.ndarray:
        return self.estimates["theta"]

    def word_topic_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-word scaled densities exp(log f_k(v_w) − max_k) and their log scales."""
        logd = self.word_logdensity()
        m = logd.max(axis=1)
        return np.ascontiguousarray(np.exp(logd - m[:, None])), -m


@register("cgtm")
class CGTMPosterior(GaussianPosterior):
    """Posterior of the correlated Gaussian topic model: GLDA's estimates plus the topic
    correlation ``topic_corr`` (K, K) — of the centred η, the part the data identify (see
    :func:`ppltopics.inference.cgtm.identified_corr`) — and the raw mean ``eta_mu`` and
    covariance ``eta_cov`` of η; ``doc_topics`` is E[softmax(η_d)]."""

    @property
    def alpha(self) -> np.ndarray:
        raise AttributeError("CGTM has logistic-normal proportions, no Dirichlet alpha")

    def transform(self, new_corpus: Corpus, num_sweeps: int = 60, burn_in: int = 20,
                  seed: int = 0) -> np.ndarray:
        """E[softmax(η)] of unseen documents: Gibbs over (z, η) with the topics and (μ, Σ)
        fixed at their posterior means.  Unknown words are dropped.  Raises ``TypeError``
        unless ``new_corpus`` is a :class:`~ppltopics.Corpus`, ``ValueError`` unless
        ``num_sweeps > burn_in >= 0`` are integers or if no token is in the vocabulary."""
        from ppltopics.inference.cgtm import fold_in_eta

        num_sweeps, burn_in = check_sweeps(num_sweeps, burn_in)
        word_ids, offsets, _unknown = map_known(new_corpus, self.corpus.vocab)
        table, _ = self.word_topic_table()
        return fold_in_eta(word_ids, offsets, table, self.estimates["eta_mu"],
                           self.estimates["eta_cov"], num_sweeps, burn_in,
                           np.random.default_rng(seed))

    def heldout_per_doc(self, word_ids: np.ndarray, offsets: np.ndarray, particles: int,
                        rng: np.random.Generator) -> np.ndarray:
        """log p(v_d) ≈ log (1/S) Σ_s Π_n Σ_k softmax(η_s)_k f_k(v_n), η_s ~ N(μ̄, Σ̄):
        importance sampling from the prior of η (unbiased for p(v_d)), S = 50·particles
        (:func:`ppltopics.inference._heldout.logistic_normal_importance`).  The arguments
        are checked by :func:`~ppltopics.posteriors.base.check_heldout_args`."""
        from ppltopics.inference._heldout import logistic_normal_importance

        check_heldout_args(word_ids, offsets, particles, rng, self.corpus.vocab_size)
        return logistic_normal_importance(
            word_ids, offsets, self.word_logdensity(), self.estimates["eta_mu"],
            self.estimates["eta_cov"], 50 * particles, rng)

    def plot_correlation(self, path: str | Path) -> Path:
        """Heat map of the posterior-mean topic correlation, labelled by each topic's top
        words, to PNG (:func:`ppltopics.diagnostics.plot_correlation`).

        ``path`` (a ``str`` or path-like, ``TypeError`` otherwise) must name a file whose
        suffix is an image format matplotlib writes (``.png``, ``.pdf``, ``.svg``, ...) and
        must not be an existing folder (``ValueError``)."""
        from matplotlib.backend_bases import FigureCanvasBase

        from ppltopics.diagnostics import plot_correlation

        check_type("path", path, str | os.PathLike, "a str or path-like file name")
        p = Path(path)
        if p.is_dir():
            raise ValueError(f"path {str(p)!r} is a folder; give a file name such as "
                             f"{str(p / 'correlation.png')!r}")
        formats = FigureCanvasBase.get_supported_filetypes()
        if p.suffix.lower().lstrip(".") not in formats:
            raise ValueError(f"path {str(p)!r} must end in an image suffix matplotlib writes "
                             f"(.png, .pdf, .svg, ...; one of {sorted(formats)}), got "
                             f"{p.suffix!r}")

        import matplotlib.pyplot as plt

        plt.close(plot_correlation(self, p))
        return p
