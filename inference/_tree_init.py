"""Informed start of the tree models: ``init="cluster"`` (hLDA, GhLDA).

From a random start (paths from the nCRP prior) the first sweeps give each fine document
cluster its own level-1 node: a true level-1 topic shared by several leaves ends up split
over as many single-child chains, whose level-1 and leaf topics hold the same documents.
No exact move repairs that: merging two such chains pays for re-sorting the tokens' levels
(on a planted tree a merge with the best word-by-word re-sort is still −550 nats), and
random starts recover 0 of 32 planted trees of four shapes (``benchmarks/bench_tree_init.py``).

``init="cluster"`` starts from a hierarchy of the documents instead.  Each document is a
profile x_d — its Hellinger profile (√(n_dw / n_d))_w (unit norm, so
‖x_d − x_e‖² = 2 − 2 x_d·x_e is twice the squared Hellinger distance); for GhLDA over
tokens whose types barely repeat, the same profile of its tokens' clusters of word vectors
(:func:`codebook_profiles`) — and Ward's
agglomerative clustering of the profiles gives a dendrogram with merge heights
h_1 ≤ … ≤ h_{n−1}.  Cutting it into k clusters undoes the top k − 1 merges; the cut is well
supported when the merge it undoes is much higher than the next one down, so the L − 1
levels below the root take the cuts k_1 < … < k_{L−1} with the largest ratios
h_{n−k+1} / h_{n−k} (2 ≤ k ≤ :data:`CLUSTER_MAX_NODES`).  Cuts of one dendrogram are
nested, so they form a tree: level ℓ's nodes are the k_ℓ clusters.

Ward's linkage takes O(n²) memory: a chain clusters a random :data:`CLUSTER_SHARE` of the
documents (at most :data:`CLUSTER_DOCS`; drawn with the chain's generator, so chains start
from different trees) and every other document joins the leaf cluster of nearest centroid.
The start changes no target; the chain's kernel, moves and growth of the tree are the
same as from any other start.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.cluster.hierarchy import fcluster, linkage

__all__ = ["CLUSTER_DOCS", "CLUSTER_MAX_NODES", "CLUSTER_SHARE", "CLUSTER_FIXED_SWEEPS",
           "CLUSTER_CODEBOOK", "hellinger_profiles", "codebook_profiles", "ward_cuts",
           "cluster_paths"]

#: most documents in one chain's Ward linkage (its n × n distances: 32 MB at 2,000)
CLUSTER_DOCS = 2000
#: share of the documents (at most CLUSTER_DOCS) a chain clusters; the rest join by centroid
CLUSTER_SHARE = 0.9
#: largest number of nodes a level of the start may have
CLUSTER_MAX_NODES = 100
#: warm-up sweeps without new branches after a clustered start (the levels settle first)
CLUSTER_FIXED_SWEEPS = 5
#: clusters of word vectors whose histograms are GhLDA's document profiles
CLUSTER_CODEBOOK = 64


def hellinger_profiles(token_docs: np.ndarray, word_ids: np.ndarray,
                       num_docs: int) -> sp.csr_matrix:
    """(num_docs, V) sparse rows √(n_dw / n_d): unit vectors whose squared distances are
    twice the squared Hellinger distances of the documents' word distributions."""
    V = int(word_ids.max()) + 1 if word_ids.size else 1
    counts = sp.csr_matrix((np.ones(word_ids.size), (token_docs, word_ids)),
                           shape=(num_docs, V))
    counts.sum_duplicates()
    lengths = np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1.0)
    counts.data = np.sqrt(counts.data / np.repeat(lengths, np.diff(counts.indptr)))
    return counts


def codebook_profiles(table: np.ndarray, word_ids: np.ndarray, token_docs: np.ndarray,
                      num_docs: int, rng: np.random.Generator,
                      size: int = CLUSTER_CODEBOOK) -> sp.csr_matrix:
    """GhLDA's document profiles: the word types' vectors (rows of ``table``) in ``size``
    clusters by count-weighted k-means (:func:`ppltopics.inference._init.weighted_kmeans`),
    every token replaced by its word's cluster, and the Hellinger profiles of those
    (:func:`hellinger_profiles`).  A document's mean vector would blur a mixture of
    topics into one point; its histogram over vector clusters keeps it."""
    from ppltopics.inference._init import weighted_kmeans

    types, counts = np.unique(word_ids, return_counts=True)
    labels, _ = weighted_kmeans(table[types], counts.astype(np.float64),
                                min(size, types.size), rng)
    code = np.zeros(table.shape[0], dtype=np.int64)
    code[types] = labels
    return hellinger_profiles(token_docs, code[word_ids], num_docs)


def ward_cuts(heights: np.ndarray, levels: int, max_nodes: int = CLUSTER_MAX_NODES
              ) -> list[int]:
    """The ``levels`` cluster counts k (increasing, 2 ≤ k ≤ max_nodes, at most n − 1 for n
    leaves of the dendrogram) whose cuts undo the merges most above the next one:
    the largest h_{n−k+1} / h_{n−k} of Ward's increasing merge heights (module docstring).
    Fewer when the dendrogram has fewer candidates."""
    h = np.asarray(heights, dtype=np.float64)
    n = h.size + 1
    ks = np.arange(2, min(n - 1, max_nodes) + 1)
    if ks.size == 0:
        return []
    ratio = h[n - ks] / np.maximum(h[n - ks - 1], 1e-12)
    best = ks[np.argsort(-ratio, kind="stable")[:levels]]
    return sorted(int(k) for k in best)


def cluster_paths(profiles: np.ndarray | sp.csr_matrix, depth: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
    """Initial paths (num_docs, depth) from Ward's dendrogram of the documents' ``profiles``
    (one row each, dense or sparse) cut at :func:`ward_cuts` (module docstring), and the
    cuts.  Node ids: root 0, then level by level.  Fewer than 3 clustered documents: every
    document on one path."""
    X = sp.csr_matrix(profiles) if sp.issparse(profiles) else np.asarray(profiles, float)
    num_docs = X.shape[0]
    n = min(num_docs, CLUSTER_DOCS, max(int(np.ceil(CLUSTER_SHARE * num_docs)), 1))
    sample = np.sort(rng.choice(num_docs, size=n, replace=False))
    paths = np.zeros((num_docs, depth), dtype=np.int32)
    if n < 3:
        paths[:, 1:] = np.arange(1, depth)
        return paths, []
    Xs = X[sample]
    gram = Xs @ Xs.T
    gram = gram.toarray() if sp.issparse(gram) else gram
    sq = np.diag(gram)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * gram, 0.0)
    iu = np.triu_indices(n, k=1)
    Z = linkage(np.sqrt(d2[iu]), method="ward")
    cuts = ward_cuts(Z[:, 2], depth - 1)  # n ≥ 3: at least k = 2
    cuts += [cuts[-1]] * (depth - 1 - len(cuts))  # too few candidates: repeat the finest
    labels = np.stack([fcluster(Z, k, criterion="maxclust") - 1 for k in cuts])  # (L−1, n)
    # every other document joins the finest cluster of nearest centroid (of the profiles)
    finest = labels[-1]
    num_leaves = int(finest.max()) + 1
    onehot = sp.csr_matrix((np.ones(n), (finest, np.arange(n))), shape=(num_leaves, n))
    centroids = sp.diags(1.0 / np.bincount(finest, minlength=num_leaves)) @ onehot @ Xs
    centroids = centroids.toarray() if sp.issparse(centroids) else np.asarray(centroids)
    score = np.asarray(X @ centroids.T) - 0.5 * (centroids ** 2).sum(axis=1)
    leaf = score.argmax(axis=1)
    leaf[sample] = finest
    # a finest cluster's ancestors: the coarser labels of any of its members
    first = np.zeros(num_leaves, dtype=np.int64)
    first[finest[::-1]] = np.arange(n)[::-1]
    offset = 1
    for ell in range(1, depth):
        lab = labels[ell - 1][first[leaf]]
        paths[:, ell] = offset + lab
        offset += int(labels[ell - 1].max()) + 1
    return paths, cuts
