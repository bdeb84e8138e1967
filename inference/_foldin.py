"""Fold-in Gibbs for unseen documents with the topics held fixed: flat models and trees.

Flat models (:func:`fold_in`) take a word-by-topic table ``word_topic[w, k] = c_w · p(w |
topic k)`` whose rows may be scaled by any positive ``c_w`` (a Gaussian topic model passes
densities of the word's vector, scaled per word against underflow); the fold-in conditional
``p(z_n = k | z_-n) ∝ (n_dk + α_k) p(w_n | k)`` does not see ``c_w``.  Tree models
(:func:`fold_in_tree`) sample each document's path among the frozen tree's existing paths
(:func:`existing_paths`) and its tokens' levels.  The held-out estimators that use the same
tables are in :mod:`ppltopics.inference._heldout`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ppltopics.inference._sampling import categorical, log_categorical
from ppltopics.inference._tree import gem_level_weights

__all__ = ["fold_in", "fold_in_tree", "existing_paths"]


@numba.njit(cache=True, nogil=True)
def fold_in(
    word_ids: np.ndarray,
    doc_offsets: np.ndarray,
    word_topic: np.ndarray,
    alpha: np.ndarray,
    num_sweeps: int,
    burn_in: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Posterior mean θ_d of every document by Gibbs sampling z with the topics held fixed.

    Averages θ̂_dk = (n_dk + α_k)/(N_d + α₀) over the sweeps after ``burn_in`` (the caller
    ensures ``num_sweeps > burn_in``).  Documents without tokens get the prior mean α/α₀.
    O(K) per token.
    """
    num_docs = doc_offsets.shape[0] - 1
    num_topics = alpha.shape[0]
    alpha0 = alpha.sum()
    out = np.zeros((num_docs, num_topics))
    ndk = np.zeros(num_topics)
    p = np.empty(num_topics)
    for d in range(num_docs):
        start = doc_offsets[d]
        end = doc_offsets[d + 1]
        length = end - start
        if length == 0:
            out[d] = alpha / alpha0
            continue
        z = np.empty(length, dtype=np.int64)
        ndk[:] = 0.0
        for i in range(length):
            w = word_ids[start + i]
            for k in range(num_topics):
                p[k] = word_topic[w, k] * alpha[k]
            z[i] = categorical(rng, p, num_topics)
            ndk[z[i]] += 1.0
        for sweep in range(num_sweeps):
            for i in range(length):
                w = word_ids[start + i]
                ndk[z[i]] -= 1.0
                for k in range(num_topics):
                    p[k] = (ndk[k] + alpha[k]) * word_topic[w, k]
                z[i] = categorical(rng, p, num_topics)
                ndk[z[i]] += 1.0
            if sweep >= burn_in:
                for k in range(num_topics):
                    out[d, k] += (ndk[k] + alpha[k]) / (length + alpha0)
        for k in range(num_topics):
            out[d, k] /= num_sweeps - burn_in
    return out


def existing_paths(parent: np.ndarray, node_level: np.ndarray, node_docs: np.ndarray,
                   depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Every root-to-leaf path of a frozen tree and the log of its nCRP weight.

    A path ``p = (c_0, ..., c_{L-1})`` ending at a leaf of level ``L − 1`` gets
    ``log π_p = Σ_{ℓ≥1} log(m_{c_ℓ} / m_{c_{ℓ−1}})``, with ``m_v = node_docs[v]`` the number of
    training documents through node v: the nCRP probability (Blei, Griffiths & Jordan, J. ACM
    2010) of following existing branches only.  Returns ``(leaf_paths (P, L) node ids,
    log_prior (P,))``, leaves in increasing node id.
    """
    docs = np.asarray(node_docs, dtype=np.float64)
    leaves = np.flatnonzero(node_level == depth - 1)
    leaf_paths = np.empty((leaves.size, depth), dtype=np.int64)
    log_prior = np.zeros(leaves.size)
    for i, v in enumerate(leaves):
        u = int(v)
        for j in range(depth - 1, -1, -1):
            leaf_paths[i, j] = u
            if j > 0:
                log_prior[i] += math.log(docs[u]) - math.log(docs[parent[u]])
            u = int(parent[u])
    return leaf_paths, log_prior


@numba.njit(cache=True, nogil=True)
def fold_in_tree(
    word_ids: np.ndarray, doc_offsets: np.ndarray, log_f: np.ndarray, leaf_paths: np.ndarray,
    log_path_prior: np.ndarray, gem_m: float, gem_pi: float, num_sweeps: int, burn_in: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fold-in Gibbs for new documents on a frozen tree: per document, alternately its path
    among the tree's existing leaf paths,

        p(c = p) ∝ π_p · Π_n f_{p[z_n]}(w_n)      (π_p: nCRP weight of the existing path),

    and each token's level, p(z_n = ℓ) ∝ GEM_ℓ(n_d,−n) · f_{c[ℓ]}(w_n), with the node
    densities ``f`` fixed (``log_f`` (nodes, V)).  Returns the average over the sweeps after
    ``burn_in`` of the GEM posterior-mean level proportions placed on the path's nodes,
    (num_docs, nodes)."""
    D = doc_offsets.shape[0] - 1
    P, L = leaf_paths.shape
    K = log_f.shape[0]
    out = np.zeros((D, K))
    score = np.empty(P)
    buf = np.empty(max(P, L))
    cnt = np.empty(L)
    gem = np.empty(L)
    logp = np.empty(L)
    for d in range(D):
        b, e = doc_offsets[d], doc_offsets[d + 1]
        m = e - b
        z = np.empty(m, dtype=np.int64)
        for i in range(L):
            cnt[i] = 0.0
        for i in range(m):
            z[i] = rng.integers(0, L)
            cnt[z[i]] += 1.0
        kept = 0
        for sweep in range(num_sweeps):
            for p in range(P):
                s = log_path_prior[p]
                for i in range(m):
                    s += log_f[leaf_paths[p, z[i]], word_ids[b + i]]
                score[p] = s
            c = log_categorical(rng, score, P, buf)
            for i in range(m):
                cnt[z[i]] -= 1.0
                gem_level_weights(cnt, gem_m, gem_pi, gem)
                for j in range(L):
                    logp[j] = math.log(gem[j]) + log_f[leaf_paths[c, j], word_ids[b + i]]
                new = log_categorical(rng, logp, L, buf)
                z[i] = new
                cnt[new] += 1.0
            if sweep >= burn_in:
                gem_level_weights(cnt, gem_m, gem_pi, gem)
                for j in range(L):
                    out[d, leaf_paths[c, j]] += gem[j]
                kept += 1
        for k in range(K):
            out[d, k] /= kept
    return out
