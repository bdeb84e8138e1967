"""Building blocks of label-invariant test functions for :func:`ppltopics.testing.geweke_test`.

Test functions receive the recorded draws stacked along a leading axis and return one value per
draw; topic labels are not identified, so every statistic here is invariant to relabelling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["token_pairs", "batch_topic_sizes", "assignment_test_functions", "stack_latents"]


def token_pairs(doc_offsets: np.ndarray) -> tuple[int, np.ndarray, np.ndarray,
                                                 np.ndarray, np.ndarray]:
    """All token pairs i < j and those within one document: (n, i_all, j_all, i_doc, j_doc),
    for pair statistics in test functions (``z[:, i_doc] == z[:, j_doc]``).  Raises
    ``ValueError`` when no document has two tokens."""
    offsets = np.asarray(doc_offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    n = int(offsets[-1])
    docs = np.repeat(np.arange(lengths.size), lengths)
    i_all, j_all = np.triu_indices(n, 1)
    same_doc = docs[i_all] == docs[j_all]
    if not same_doc.any():
        raise ValueError("every document has a single token: no within-document pairs")
    return n, i_all, j_all, i_all[same_doc], j_all[same_doc]


def batch_topic_sizes(k: int) -> Callable[[np.ndarray], np.ndarray]:
    """``f(z)`` with z of shape (batch, n) → per-row topic sizes (batch, k)."""

    def topic_sizes(z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.int64)
        row = np.arange(z.shape[0])[:, None]
        return np.bincount((row * k + z).ravel(), minlength=z.shape[0] * k).reshape(-1, k)

    return topic_sizes



def assignment_test_functions(
    doc_offsets: np.ndarray, num_topics: int
) -> dict[str, Callable[[np.ndarray, Any], np.ndarray]]:
    """Label-invariant test functions of the topic assignments alone, ``g(z, data)`` with z
    (S, N) (``data`` ignored), for any flat topic model's :func:`geweke_test`:

    - ``topics_used``: number of distinct topics among the tokens;
    - ``largest_topic``: share of the tokens in the largest topic, max_k n_k / N;
    - ``doc_pairs_same_topic``: fraction of within-document token pairs with the same topic
      (the n_dk update and α).

    Add functions that couple z with the data and the collapsed log joint (see
    :func:`ppltopics.models.checks.lda_test_functions`,
    :func:`ppltopics.models.checks.glda_test_functions`).
    """
    n, _, _, i_doc, j_doc = token_pairs(doc_offsets)
    topic_sizes = batch_topic_sizes(int(num_topics))
    return {
        "topics_used": lambda z, d: (topic_sizes(z) > 0).sum(axis=1).astype(np.float64),
        "largest_topic": lambda z, d: topic_sizes(z).max(axis=1) / n,
        "doc_pairs_same_topic": lambda z, d: (z[:, i_doc] == z[:, j_doc]).mean(axis=1),
    }


def stack_latents(latents: Any) -> dict[str, np.ndarray]:
    """Latent dicts (e.g. CGTM's, the tree models') as a dict of stacked arrays (axis 0: draw).

    Accepts what :func:`geweke_test` hands to test functions — a list of latent dicts — or a
    dict of already stacked arrays (returned as is)."""
    if isinstance(latents, Mapping):
        return {k: np.asarray(v) for k, v in latents.items()}
    return {k: np.stack([np.asarray(d[k]) for d in latents]) for k in latents[0]}
