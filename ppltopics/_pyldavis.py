"""``Posterior.to_pyldavis``: pyLDAvis's prepared data from a posterior's point estimates.

pyLDAvis (Sievert & Shirley 2014) needs each topic's word distribution φ_k (K, V), each
document's topic proportions θ_d (D, K), the document lengths, the vocabulary and the corpus
word frequencies.  LDA supplies its posterior-mean φ; the Gaussian models (GLDA, CGTM) have no
φ over words, so theirs is *counts based*: φ_kw ∝ n̄_kw + ε, the posterior-mean word–topic
counts of the training tokens smoothed by ε (default 0.01; pyLDAvis takes logarithms), i.e.
which training words the topic actually holds.  Tree models and TopClus have neither (a
``TypeError`` says so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ppltopics.posteriors import Posterior

__all__ = ["to_pyldavis", "topic_term_dists"]


def topic_term_dists(post: Posterior, smoothing: float = 0.01) -> np.ndarray:
    """(K, V) topic-word distributions for pyLDAvis: φ, else normalised smoothed counts."""
    est = post.estimates
    if "phi" in est:
        phi = np.asarray(est["phi"], dtype=np.float64)
    elif "word_topic" in est:
        if not smoothing > 0:
            raise ValueError(f"smoothing must be > 0, got {smoothing!r}")
        phi = np.asarray(est["word_topic"], dtype=np.float64) + float(smoothing)
    else:
        raise TypeError(f"to_pyldavis needs a flat topic model's estimates 'phi' or "
                        f"'word_topic'; this {post.model or type(post).__name__} posterior "
                        f"has {sorted(est)}")
    return phi / phi.sum(axis=1, keepdims=True)


def to_pyldavis(post: Posterior, smoothing: float = 0.01, **kwargs: Any) -> Any:
    """``pyLDAvis.prepare(...)`` of the posterior (``kwargs`` go to it; ``n_jobs`` defaults
    to 1 and ``sort_topics`` to False, so topic k here is topic k + 1 there).  Raises
    ``ImportError`` with the install line when pyLDAvis is missing."""
    try:
        import pyLDAvis
    except ImportError as e:
        raise ImportError("to_pyldavis needs pyLDAvis: pip install 'ppltopics[viz]' "
                          "(or pip install pyLDAvis)") from e
    phi = topic_term_dists(post, smoothing)
    theta = np.asarray(post.doc_topics(), dtype=np.float64)
    theta = theta / theta.sum(axis=1, keepdims=True)
    c = post.corpus
    kwargs.setdefault("n_jobs", 1)
    kwargs.setdefault("sort_topics", False)
    return pyLDAvis.prepare(phi, theta, np.asarray(c.doc_lengths, dtype=np.int64),
                            list(c.vocab), np.asarray(c.word_counts(), dtype=np.int64),
                            **kwargs)
