"""Posterior of LDA (Blei, Ng & Jordan, JMLR 2003), registered as ``"lda"``."""

from __future__ import annotations

import numpy as np

from ppltopics._validation import check_choice
from ppltopics.posteriors.base import RELEVANCE_WEIGHT, Posterior, rank_words, register, relevance

__all__ = ["LDAPosterior"]


@register("lda")
class LDAPosterior(Posterior):
    """Posterior of LDA: φ (K, V) and θ (D, K) posterior means, α, and fold-in transform."""

    relabel_by = ("phi", "js")

    @property
    def phi(self) -> np.ndarray:
        return self.estimates["phi"]

    def top_words(self, n: int = 10, by: str = "probability",
                  relevance_weight: float = RELEVANCE_WEIGHT) -> list[list[str]]:
        """The ``n`` top words of every topic under the posterior-mean φ_k, ranked ``by``
        ``"probability"`` (φ_kw) or ``"relevance"`` (λ log φ_kw + (1 − λ) log(φ_kw / p_w),
        λ = ``relevance_weight``, p_w the word's share of the training tokens;
        :func:`~ppltopics.posteriors.base.relevance`).  ``n`` a positive integer (all V words
        when ``n > V``); an unknown ``by`` or a weight outside [0, 1] is a ``ValueError``."""
        check_choice("by", by, ("probability", "relevance"))
        score = self.phi if by == "probability" else relevance(
            self.phi, self.corpus.word_counts(), relevance_weight)
        return rank_words(score, n, self.corpus.vocab)

    def doc_topics(self) -> np.ndarray:
        """Posterior-mean topic proportions θ_d of the training documents, (D, K)."""
        return self.estimates["theta"]

    def word_topic_table(self) -> tuple[np.ndarray, np.ndarray]:
        """``(p(w | k) as a (V, K) table, log row scales)`` for fold-in and held-out code."""
        return np.ascontiguousarray(self.phi.T), np.zeros(self.phi.shape[1])
