"""hLDA's pieces for the correctness harness (Blei, Griffiths & Jordan, JACM 2010).

The exact word conditional ``w | c, z``, the batched collapsed log joint and label-invariant
test functions for Geweke's test; the tree pieces they share with GhLDA are in
:mod:`ppltopics.models.checks.trees`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy.special import gammaln

from ppltopics.models.checks.trees import (
    TREE_BLOCK,
    batch_token_nodes,
    canonical_paths_batch,
    stack_tree_latents,
    token_nodes,
    tree_log_prior_batch,
    tree_test_functions,
)
from ppltopics.testing.helpers import token_pairs

__all__ = ["hlda_word_conditional", "hlda_log_joint_batch", "hlda_test_functions"]


def hlda_word_conditional(
    doc_offsets: np.ndarray, vocab_size: int, hyper: Any
) -> Callable[[Mapping[str, np.ndarray], np.random.Generator], np.ndarray]:
    """Exact draw ``w ~ p(w | c, z)`` under the hLDA story, for :func:`geweke_test`.

    A priori the node topics are independent of (c, z): draw φ_t ~ Dirichlet(η_{level(t)}·1_V)
    afresh from the prior for every node the paths use, then w_n ~ Categorical(φ_{c_d[z_n]}).
    The Dirichlet draws normalise Gamma variates in log space (Gamma(η) = Gamma(η + 1)·U^{1/η}),
    so small η never gives an all-zero row.  ``hyper`` is an
    :class:`ppltopics.models.hlda.HLDAHyper`.  Returns ``data_step(latent, rng) -> w`` (int32).
    """
    V = int(vocab_size)
    eta = np.asarray(hyper.eta_vector, dtype=np.float64)
    off = np.asarray(doc_offsets, dtype=np.int64)

    def data_step(latent: Mapping[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        node, node_level = token_nodes(latent["paths"], latent["levels"], off)
        e = eta[node_level][:, None]
        T = node_level.size
        log_g = np.log(rng.gamma(e + 1.0, size=(T, V))) + np.log(rng.random((T, V))) / e
        phi = np.exp(log_g - log_g.max(axis=1, keepdims=True))
        cdf = np.cumsum(phi, axis=1)
        u = rng.random(node.size) * cdf[node, -1]
        w = (u[:, None] >= cdf[node]).sum(axis=1)
        return np.minimum(w, V - 1).astype(np.int32)

    return data_step


def hlda_log_joint_batch(
    paths: np.ndarray, levels: np.ndarray, w: np.ndarray, doc_offsets: np.ndarray,
    vocab_size: int, hyper: Any, *, canonical: bool = False,
) -> np.ndarray:
    """Collapsed log p(w, z, c) of each draw: ``paths`` (S, D, L), ``levels`` (S, N), ``w``
    (S, N); vectorised :func:`ppltopics.models.hlda.log_joint` (same formula, node ids
    canonicalised per draw, blocks of draws to bound memory).  ``canonical=True`` promises
    that the paths are canonical already (skips the per-draw relabelling)."""
    P = np.asarray(paths, dtype=np.int64)
    Z = np.atleast_2d(np.asarray(levels, dtype=np.int64))
    W = np.atleast_2d(np.asarray(w, dtype=np.int64))
    if P.ndim == 2:
        P = P[None]
    V = int(vocab_size)
    eta = np.asarray(hyper.eta_vector, dtype=np.float64)
    out = np.empty(P.shape[0])
    for a in range(0, P.shape[0], TREE_BLOCK):
        b = min(a + TREE_BLOCK, P.shape[0])
        canon = P[a:b] if canonical else canonical_paths_batch(P[a:b])
        prior, node, node_level, G = tree_log_prior_batch(canon, Z[a:b], doc_offsets, hyper)
        G = int(G)
        S = b - a
        rows = np.arange(S)[:, None]
        ntv = np.bincount((rows * G * V + node * V + W[a:b]).ravel(),
                          minlength=S * G * V).reshape(S, G, V)
        nt = ntv.sum(axis=2)
        e = eta[np.maximum(node_level, 0)]
        per = (gammaln(V * e) - gammaln(nt + V * e)
               + (gammaln(ntv + e[:, :, None]) - gammaln(e[:, :, None])).sum(axis=2))
        out[a:b] = prior + np.where(nt > 0, per, 0.0).sum(axis=1)
    return out


def hlda_test_functions(
    doc_offsets: np.ndarray, vocab_size: int, hyper: Any
) -> dict[str, Callable[[Any, np.ndarray], np.ndarray]]:
    """Label-invariant test functions g(latents, w) of hLDA for :func:`geweke_test`:
    :func:`tree_test_functions` plus

    - ``node_word_pairs``: fraction of all token pairs with the same node *and* the same word
      (couples w with c and z; the node-word counts and η);
    - ``doc_pairs_same_word``: fraction of within-document pairs with the same word (w alone:
      checks the data conditional);
    - ``log_joint``: collapsed log p(w, z, c) (:func:`hlda_log_joint_batch`).
    """
    off = np.asarray(doc_offsets, dtype=np.int64)
    _, i_all, j_all, i_doc, j_doc = token_pairs(off)
    out = tree_test_functions(off, hyper.depth)

    def node_word(lat: Any, w: np.ndarray) -> np.ndarray:
        node = batch_token_nodes(lat, off)
        w = np.asarray(w)
        return ((node[:, i_all] == node[:, j_all]) & (w[:, i_all] == w[:, j_all])).mean(axis=1)

    out["node_word_pairs"] = node_word
    out["doc_pairs_same_word"] = lambda lat, w: (np.asarray(w)[:, i_doc]
                                                 == np.asarray(w)[:, j_doc]).mean(axis=1)
    out["log_joint"] = lambda lat, w: hlda_log_joint_batch(
        *stack_tree_latents(lat), w, off, vocab_size, hyper)
    return out
