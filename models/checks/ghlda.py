"""Gaussian hLDA's pieces for the correctness harness.

The exact vector conditional ``v | c, z`` (NIW topics per node with the level's Ψ0 ratio), the
batched collapsed log joint and label-invariant test functions for Geweke's test; the tree
pieces they share with hLDA are in :mod:`ppltopics.models.checks.trees`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ppltopics.models.checks.trees import (
    TREE_BLOCK,
    batch_token_nodes,
    canonical_paths_batch,
    stack_tree_latents,
    token_nodes,
    tree_log_prior_batch,
    tree_test_functions,
)
from ppltopics.testing.draws import niw_prior_draw
from ppltopics.testing.helpers import token_pairs
from ppltopics.testing.marginals import niw_log_marginal_groups

__all__ = ["ghlda_vector_conditional", "ghlda_log_joint_batch", "ghlda_test_functions"]


def ghlda_vector_conditional(
    doc_offsets: np.ndarray, hyper: Any
) -> Callable[[Mapping[str, np.ndarray], np.random.Generator], np.ndarray]:
    """Exact draw ``v ~ p(v | c, z)`` under the GhLDA story, for :func:`geweke_test`.

    Draw (μ_t, Σ_t) ~ NIW(μ0, κ0, Ψ0·psi_ratio[level(t)], ν0) afresh for every node the paths
    use (:func:`niw_prior_draw`, one call per level), then v_n ~ N(μ_t, Σ_t) with t the node
    of token n.  ``hyper`` is a :class:`ppltopics.models.ghlda.ResolvedGhLDAHyper`.  Returns
    ``data_step(latent, rng) -> v`` ((N, M) float64).
    """
    off = np.asarray(doc_offsets, dtype=np.int64)
    level_hyper = [hyper.level_hyper(lev) for lev in range(hyper.depth)]
    M = hyper.dim

    def data_step(latent: Mapping[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        node, node_level = token_nodes(latent["paths"], latent["levels"], off)
        T = node_level.size
        mean = np.empty((T, M))
        chol = np.empty((T, M, M))
        for lev in range(hyper.depth):
            at = np.flatnonzero(node_level == lev)
            if at.size:
                m, c = niw_prior_draw(level_hyper[lev], at.size, rng)
                mean[at] = m
                chol[at] = np.linalg.cholesky(c)
        eps = rng.standard_normal((node.size, M))
        return mean[node] + np.einsum("nij,nj->ni", chol[node], eps)

    return data_step


def ghlda_log_joint_batch(
    paths: np.ndarray, levels: np.ndarray, v: np.ndarray, doc_offsets: np.ndarray, hyper: Any
) -> np.ndarray:
    """Collapsed log p(v, z, c) of each draw: ``paths`` (S, D, L), ``levels`` (S, N), ``v``
    (S, N, M); vectorised :func:`ppltopics.models.ghlda.log_joint` (NIW marginal per node
    with Ψ0·psi_ratio[level], plain numpy).  ``hyper``: a ResolvedGhLDAHyper."""
    P = np.asarray(paths, dtype=np.int64)
    Z = np.atleast_2d(np.asarray(levels, dtype=np.int64))
    X = np.asarray(v, dtype=np.float64)
    if P.ndim == 2:
        P, X = P[None], X[None]
    mu0 = np.asarray(hyper.mu0, dtype=np.float64)
    level_psi = np.asarray(hyper.level_psi0())
    out = np.empty(P.shape[0])
    for a in range(0, P.shape[0], TREE_BLOCK):
        b = min(a + TREE_BLOCK, P.shape[0])
        prior, node, _, G = tree_log_prior_batch(canonical_paths_batch(P[a:b]), Z[a:b],
                                                 doc_offsets, hyper)
        total = prior
        for lev in range(hyper.depth):
            groups = np.where(Z[a:b] == lev, node, -1)
            total = total + niw_log_marginal_groups(X[a:b], groups, int(G), mu0,
                                                    float(hyper.kappa0), float(hyper.nu0),
                                                    level_psi[lev])
        out[a:b] = total
    return out


def ghlda_test_functions(
    doc_offsets: np.ndarray, hyper: Any
) -> dict[str, Callable[[Any, np.ndarray], np.ndarray]]:
    """Label-invariant test functions g(latents, v) of GhLDA for :func:`geweke_test`
    (``v`` (S, N, M)): :func:`tree_test_functions` plus

    - ``same_node_rel_dist``: mean over all token pairs of 1[same node]·‖v_i − v_j‖² /
      (‖v_i − μ0‖² + ‖v_j − μ0‖²) (within-node vector spread relative to the distance from
      μ0: the scatter the kernels maintain, and Ψ's level ratio);
    - ``same_node_cos``: mean over all token pairs of 1[same node]·cos(v_i − μ0, v_j − μ0)
      (node means off μ0: the sums and κ0);
    - ``level0_rel_spread``: mean of ‖v_n − μ0‖² over root tokens divided by the mean over all
      tokens (0 when no root tokens; bounded; sees the per-level Ψ);
    - ``log_mean_offset``: log ‖mean_n v_n − μ0‖ (v alone);
    - ``log_joint``: collapsed log p(v, z, c) (:func:`ghlda_log_joint_batch`).

    All bounded or logarithms: with small ν0 the covariances are heavy tailed (see
    :func:`ppltopics.models.checks.glda_test_functions`).  ``hyper``: a ResolvedGhLDAHyper.
    """
    off = np.asarray(doc_offsets, dtype=np.int64)
    _, i_all, j_all, _, _ = token_pairs(off)
    mu0 = np.asarray(hyper.mu0, dtype=np.float64)
    out = tree_test_functions(off, hyper.depth)

    def same(lat: Any) -> np.ndarray:
        node = batch_token_nodes(lat, off)
        return node[:, i_all] == node[:, j_all]

    def rel_dist(lat: Any, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v)
        sq = ((v - mu0) ** 2).sum(axis=2)
        d2 = ((v[:, i_all] - v[:, j_all]) ** 2).sum(axis=2)
        return (same(lat) * d2 / (sq[:, i_all] + sq[:, j_all])).mean(axis=1)

    def cos(lat: Any, v: np.ndarray) -> np.ndarray:
        xc = np.asarray(v) - mu0
        u = xc / np.linalg.norm(xc, axis=2, keepdims=True)
        return (same(lat) * (u[:, i_all] * u[:, j_all]).sum(axis=2)).mean(axis=1)

    def root_spread(lat: Any, v: np.ndarray) -> np.ndarray:
        sq = ((np.asarray(v) - mu0) ** 2).sum(axis=2)
        root = stack_tree_latents(lat)[1] == 0
        num = np.where(root, sq, 0.0).sum(axis=1) / np.maximum(root.sum(axis=1), 1)
        return num / sq.mean(axis=1)

    out["same_node_rel_dist"] = rel_dist
    out["same_node_cos"] = cos
    out["level0_rel_spread"] = root_spread
    out["log_mean_offset"] = lambda lat, v: np.log(np.linalg.norm(
        np.asarray(v).mean(axis=1) - mu0, axis=1))
    out["log_joint"] = lambda lat, v: ghlda_log_joint_batch(
        *stack_tree_latents(lat), v, off, hyper)
    return out
