"""Posterior of LDA (Blei, Ng & Jordan, JMLR 2003), registered as ``"lda"``."""

from __future__ import annotations

import numpy as np

from ppltopics.posteriors.base import Posterior, rank_words, register

__all__ = ["LDAPosterior"]


@register("lda")
class LDAPosterior(Posterior):
    """Posterior of LDA: φ (K, V) and θ (D, K) posterior means, α, and fold-in transform."""

    relabel_by = ("phi", "js")

    @property
    def phi(self) -> np.ndarray:
        return self.estimates["phi"]

    def top_words(self, n: int = 10) -> list[list[str]]:
        """The ``n`` most probable words of every topic under the posterior-mean φ_k
        (:func:`~ppltopics.posteriors.base.rank_words`: ``n`` a positive integer, all V words
        when ``n > V``)."""
        return rank_words(self.phi, n, self.corpus.vocab)

    def doc_topics(self) -> np.ndarray:
        """Posterior-mean topic proportions θ_d of the training documents, (D, K)."""
        return self.estimates["theta"]

    def word_topic_table(self) -> tuple[np.ndarray, np.ndarray]:
        """``(p(w | k) as a (V, K) table, log row scales)`` for fold-in and held-out code."""
        return np.ascontiguousarray(self.phi.T), np.zeros(self.phi.shape[1])
