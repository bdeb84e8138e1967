"""Summaries of tree-model chains (hLDA, GhLDA) for their posterior.

The tree changes between draws, so per-node summaries come from each chain's *final* state
(:func:`chain_tree`): its tree (parent, node level, paths), node statistics (word counts, or
NIW posterior-mean means and covariances) and per-document level counts, with nodes
renumbered canonically (depth first, children by decreasing document count;
:func:`ppltopics.inference._tree.canonical_order`).  Chains are matched to a reference
level by level (:func:`match_nodes`, Hungarian algorithm on the rectangular cost matrix:
Jensen-Shannon divergence of the node word distributions for hLDA, Euclidean distance of the
node means for GhLDA).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from ppltopics.inference._tree import canonical_order

__all__ = ["chain_tree", "gem_means", "js_divergence_pairs", "node_profiles", "match_nodes"]


def gem_means(ndl: np.ndarray, m: float, pi: float) -> np.ndarray:
    """Posterior-mean level proportions E[θ_d | z_d] of the truncated GEM(m, π), (D, L):

        E[θ_dℓ] = (mπ + n_dℓ)/(π + n_d≥ℓ) · Π_{j<ℓ} ((1−m)π + n_d>j)/(π + n_d≥j),  ℓ < L−1,

    and the remainder on level L−1, from the level counts ``ndl`` (D, L).
    """
    ndl = np.asarray(ndl, dtype=np.float64)
    D, L = ndl.shape
    n_ge = np.cumsum(ndl[:, ::-1], axis=1)[:, ::-1]
    out = np.empty((D, L))
    rest = np.ones(D)
    for j in range(L - 1):
        den = pi + n_ge[:, j]
        out[:, j] = rest * (m * pi + ndl[:, j]) / den
        rest = rest * ((1 - m) * pi + n_ge[:, j] - ndl[:, j]) / den
    out[:, L - 1] = rest
    return out


def chain_tree(kernel: Any, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The final tree of one chain in canonical node ids (module docstring).

    GhLDA node covariances are the NIW posterior means Ψ_n/(ν_n − M − 1) (Ψ_n/(ν_n + M + 1),
    the mode, where the mean does not exist) and node means (κ₀μ₀ + Σx)/(κ₀ + n).
    """
    level = state["node_level"]
    root = int(state["tree_meta"][1])
    order = canonical_order(state["parent"], level, state["ndocs"], root)
    new_id = np.full(level.shape[0], -1, dtype=np.int64)
    new_id[order] = np.arange(order.size)
    parent = state["parent"][order].astype(np.int64)
    out = {
        "parent": np.where(parent >= 0, new_id[np.maximum(parent, 0)], -1),
        "node_level": level[order].astype(np.int64),
        "node_docs": state["ndocs"][order].astype(np.int64),
        "paths": new_id[state["paths"]],
        "doc_level_counts": state["ndl"].astype(np.int64),
        "token_levels": state["levels"].astype(np.int32),
    }
    if kernel.model_name == "hlda":
        nw = state["nwt"][:, order].T
        out["node_word"] = nw.astype(np.int64)
        out["node_tokens"] = nw.sum(axis=1).astype(np.int64)
    else:
        count = state["count"][order]
        out["node_tokens"] = count.astype(np.int64)
        p0 = kernel.priors[0]
        kn = p0.kappa0 + count
        out["node_mean"] = (p0.kappa0 * p0.mu0 + state["sums"][order]) / kn[:, None]
        chol = state["chol"][order]
        psi = chol @ np.swapaxes(chol, 1, 2)
        M = kernel.dim
        nu_n = p0.nu0 + count
        denom = np.where(nu_n > M + 1, nu_n - M - 1, nu_n + M + 1)
        out["node_cov"] = psi / denom[:, None, None]
    return out


def js_divergence_pairs(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Pairwise Jensen-Shannon divergence of the rows of p (A, V) and q (B, V), (A, B):
    JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = ½(p + q), with 0 log 0 = 0."""
    m = 0.5 * (p[:, None, :] + q[None, :, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        kp = np.where(p[:, None, :] > 0, p[:, None, :] * np.log(p[:, None, :] / m), 0.0)
        kq = np.where(q[None, :, :] > 0, q[None, :, :] * np.log(q[None, :, :] / m), 0.0)
    return 0.5 * (kp.sum(-1) + kq.sum(-1))


def node_profiles(tree: dict[str, np.ndarray], eta: np.ndarray | None) -> np.ndarray:
    """What node matching compares: hLDA's posterior-mean node topics
    (n_vw + η_ℓ)/(n_v + V η_ℓ) (nodes, V), or GhLDA's node means (nodes, M)."""
    if "node_word" in tree:
        nw = tree["node_word"].astype(np.float64)
        e = eta[tree["node_level"]][:, None]
        return (nw + e) / (nw.sum(axis=1, keepdims=True) + nw.shape[1] * e)
    return tree["node_mean"]


def match_nodes(ref: dict[str, np.ndarray], other: dict[str, np.ndarray],
                eta: np.ndarray | None) -> np.ndarray:
    """match[i] = node of ``other`` matched to reference node i, level by level (−1: none)."""
    a, b = node_profiles(ref, eta), node_profiles(other, eta)
    out = np.full(a.shape[0], -1, dtype=np.int64)
    for lev in np.unique(ref["node_level"]):
        ia = np.flatnonzero(ref["node_level"] == lev)
        ib = np.flatnonzero(other["node_level"] == lev)
        if ib.size == 0:
            continue
        if "node_word" in ref:
            cost = js_divergence_pairs(a[ia], b[ib])
        else:
            cost = np.linalg.norm(a[ia][:, None, :] - b[ib][None, :, :], axis=-1)
        rows, cols = linear_sum_assignment(cost)
        out[ia[rows]] = ib[cols]
    return out
