"""Planted corpora with a known answer, for recovery tests and the start benchmarks.

:func:`planted_gaussian` draws ``clusters`` Gaussian word clusters (centres of norm
``radius``, rms distance to the centre ``spread · radius``, ``words`` word types each),
documents θ_d ~ Dir(α) and words uniform within their cluster; :func:`matched_cosines`
scores fitted topic means against the planted centres after Hungarian matching;
:func:`holds_tree` says whether a tree model's paths hold a planted tree;
:func:`planted_circle` is a small 2-d corpus of three topics on a circle.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["planted_gaussian", "planted_circle", "matched_cosines", "holds_tree"]


def planted_gaussian(seed: int, clusters: int = 6, dim: int = 10, radius: float = 3.0,
                     spread: float = 0.15, words: int = 40, docs: int = 400,
                     doc_len: int = 60, alpha: float = 0.2
                     ) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """``(corpus, vectors, centres, z)``: the planted corpus (module docstring), its
    :class:`~ppltopics.WordVectors`, the (clusters, dim) centres and every token's cluster."""
    import ppltopics as pt

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    centres *= radius / np.linalg.norm(centres, axis=1, keepdims=True)
    sigma = spread * radius / np.sqrt(dim)
    table = np.repeat(centres, words, axis=0) + sigma * rng.normal(size=(clusters * words, dim))
    theta = rng.dirichlet(np.full(clusters, alpha), size=docs)
    z = np.concatenate([rng.choice(clusters, size=doc_len, p=t) for t in theta])
    w = z * words + rng.integers(0, words, size=z.size)
    vocab = [f"w{i}" for i in range(clusters * words)]
    corpus = pt.Corpus(w.astype(np.int32), np.arange(0, z.size + 1, doc_len), vocab)
    return corpus, pt.WordVectors(vocab, table), centres, z


def planted_circle(seed: int = 0, spread: float = 5.0, noise: float = 0.7, num_docs: int = 60,
                   doc_length: int = 20, vocab_size: int = 90) -> tuple[Any, Any, np.ndarray,
                                                                        np.ndarray]:
    """``(corpus, vectors, means, theta)``: K = 3 Gaussian topics in M = 2 with means on a
    circle of radius ``spread`` (pairwise distance spread·√3) and covariance noise²·I; every
    word type belongs to one topic (V/K types each, its vector drawn from that Gaussian);
    θ_d ~ Dirichlet(0.3); tokens pick a uniform type of their topic."""
    import ppltopics as pt

    rng = np.random.default_rng(seed)
    k = 3
    ang = np.arange(k) * 2 * np.pi / k
    means = spread * np.c_[np.cos(ang), np.sin(ang)]
    owner = np.arange(vocab_size) % k
    vectors = means[owner] + noise * rng.standard_normal((vocab_size, 2))
    theta = rng.dirichlet(np.full(k, 0.3), size=num_docs)
    ids = []
    for d in range(num_docs):
        z = rng.choice(k, size=doc_length, p=theta[d])
        ids.append([rng.choice(np.flatnonzero(owner == t)) for t in z])
    vocab = [f"w{i:03d}" for i in range(vocab_size)]
    corpus = pt.Corpus(np.concatenate(ids).astype(np.int32),
                       np.arange(num_docs + 1) * doc_length, vocab)
    return corpus, pt.WordVectors(vocab, vectors), means, theta


def matched_cosines(centres: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Cosine of every planted centre with its Hungarian-matched topic mean, (clusters,)."""
    a = centres / np.linalg.norm(centres, axis=1, keepdims=True)
    b = means / np.linalg.norm(means, axis=1, keepdims=True)
    cos = a @ b.T
    rows, cols = linear_sum_assignment(-cos)
    return cos[rows, cols]


def holds_tree(paths: np.ndarray, truth: np.ndarray) -> bool:
    """Do the paths (D, L) hold the planted tree ``truth`` (D, L)?  At every level below the
    root: as many found nodes as planted ones, each planted node's documents ≥ 96 % on one
    found node, and distinct planted nodes on distinct found nodes."""
    for ell in range(1, truth.shape[1]):
        nodes = np.unique(truth[:, ell])
        if np.unique(paths[:, ell]).size != nodes.size:
            return False
        hits = set()
        for v in nodes:
            b = np.bincount(paths[truth[:, ell] == v, ell])
            if b.max() < 0.96 * b.sum():
                return False
            hits.add(int(b.argmax()))
        if len(hits) != nodes.size:
            return False
    return True
