"""Word types of a Gaussian split–merge move: the token set of a topic as distinct word types
with counts, NIW statistics of type clusters, count-weighted 2-means, and the scores that pick
a move's topics — which pair looks like one cluster (:func:`_gauss_pair_scores`) and which
topic looks like two (:func:`_split_score`).

Every token of a word type carries the same vector, so a topic is summarised by its T types
and their counts: O(T·M²) instead of O(tokens·M²).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ppltopics.inference._linalg import (
    NIWPrior,
    NIWStats,
    _chol_update,
    chol_logdet,
    niw_refactor,
    reset_topic,
    topic_log_marginal,
)


@numba.njit(cache=True, nogil=True)
def _type_table(
    toks: np.ndarray, word_ids: np.ndarray, slot: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(types, counts, tok_slot): the distinct word types of ``toks`` in first-seen order,
    their token counts, and each token's index into ``types``.  ``slot`` is a (V,) scratch of
    −1s (left −1)."""
    tok_slot = np.empty(toks.shape[0], dtype=np.int64)
    types = np.empty(toks.shape[0], dtype=np.int64)
    counts = np.zeros(toks.shape[0], dtype=np.int64)
    T = 0
    for idx in range(toks.shape[0]):
        w = word_ids[toks[idx]]
        if slot[w] < 0:
            slot[w] = T
            types[T] = w
            T += 1
        tok_slot[idx] = slot[w]
        counts[slot[w]] += 1
    for t in range(T):
        slot[types[t]] = -1
    return types[:T], counts[:T], tok_slot


@numba.njit(cache=True, nogil=True)
def _niw_add_count(
    k: int, x: np.ndarray, c: int, stats: NIWStats, prior: NIWPrior, work: np.ndarray,
) -> None:
    """Add c copies of x to topic k in O(M²): Ψ += κ_n c/(κ_n + c) (x − μ_n)(x − μ_n)ᵀ, one
    rank-one update (the c-fold version of :func:`~ppltopics.inference._linalg.niw_add`)."""
    M = x.shape[0]
    kappa_n = prior.kappa0 + stats.count[k]
    f = math.sqrt(kappa_n * c / (kappa_n + c))
    v = work[0]
    for a in range(M):
        v[a] = f * (x[a] - (prior.kappa0 * prior.mu0[a] + stats.sums[k, a]) / kappa_n)
    _chol_update(stats.chol[k], v, work[1], work[2])
    stats.logdet[k] = chol_logdet(stats.chol[k])
    stats.count[k] += c
    for a in range(M):
        stats.sums[k, a] += c * x[a]
        ya = c * (x[a] - prior.mu0[a])
        for b in range(a + 1):
            stats.scatter[k, a, b] += ya * (x[b] - prior.mu0[b])


@numba.njit(cache=True, nogil=True)
def _types_into(
    types: np.ndarray, counts: np.ndarray, tlab: np.ndarray, table: np.ndarray,
    ws: NIWStats, s0: int, prior: NIWPrior, work: np.ndarray,
) -> None:
    """Workspace topics s0, s0+1 := the types labelled 0 / 1 with their counts."""
    reset_topic(s0, ws, prior)
    reset_topic(s0 + 1, ws, prior)
    for t in range(types.shape[0]):
        _niw_add_count(s0 + tlab[t], table[types[t]], counts[t], ws, prior, work)


@numba.njit(cache=True, nogil=True)
def _two_means(types: np.ndarray, counts: np.ndarray, table: np.ndarray, tlab: np.ndarray,
               seed0: int, seed1: int, max_iter: int = 20) -> None:
    """Count-weighted 2-means (Lloyd) of the word types from the seed types ``seed0``,
    ``seed1``; labels in ``tlab``.  (Allocating types one at a time by the NIW predictive of
    the types allocated so far, as before, mixed two clusters in a third of the launches on
    planted corpora: a topic of many copies of one vector has a narrow predictive, so the
    tails, not the distances, decided.)"""
    T = types.shape[0]
    M = table.shape[1]
    centre = np.empty((2, M))
    centre[0] = table[types[seed0]]
    centre[1] = table[types[seed1]]
    for it in range(max_iter):
        changed = it == 0
        for t in range(T):
            d0 = 0.0
            d1 = 0.0
            for c in range(M):
                d0 += (table[types[t], c] - centre[0, c]) ** 2
                d1 += (table[types[t], c] - centre[1, c]) ** 2
            a = 0 if d0 <= d1 else 1
            if a != tlab[t]:
                tlab[t] = a
                changed = True
        if not changed:
            return
        centre[:, :] = 0.0
        mass = np.zeros(2)
        for t in range(T):
            mass[tlab[t]] += counts[t]
            for c in range(M):
                centre[tlab[t], c] += counts[t] * table[types[t], c]
        for a in range(2):
            if mass[a] == 0.0:  # an emptied cluster keeps its seed
                centre[a] = table[types[seed0 if a == 0 else seed1]]
                continue
            for c in range(M):
                centre[a, c] /= mass[a]


@numba.njit(cache=True, nogil=True)
def _gauss_pair_scores(stats: NIWStats, prior: NIWPrior, ws: NIWStats, slot: int) -> np.ndarray:
    """s_ab = log m(S_a ∪ S_b) − log m(S_a) − log m(S_b) under the NIW marginal m: how much
    the vectors of topics a and b look like one cluster (O(K² M³); ``ws[slot]`` scratch)."""
    K = stats.count.shape[0]
    own = np.empty(K)
    for a in range(K):
        own[a] = topic_log_marginal(a, stats, prior)
    out = np.zeros((K, K))
    for a in range(K):
        for b in range(a + 1, K):
            ws.count[slot] = stats.count[a] + stats.count[b]
            ws.sums[slot, :] = stats.sums[a] + stats.sums[b]
            ws.scatter[slot, :, :] = stats.scatter[a] + stats.scatter[b]
            niw_refactor(slot, ws, prior)
            out[a, b] = topic_log_marginal(slot, ws, prior) - own[a] - own[b]
            out[b, a] = out[a, b]
    return out


#: word types (the most frequent) a topic's split score looks at
SCORE_TYPES = 256


@numba.njit(cache=True, nogil=True)
def _split_score(toks: np.ndarray, word_ids: np.ndarray, table: np.ndarray, slot: np.ndarray,
                 ws: NIWStats, s0: int, prior: NIWPrior, work: np.ndarray) -> float:
    """How much the tokens ``toks`` look like two clusters: log m(A) + log m(B) − log m(A ∪ B)
    under the NIW marginal m, for A, B the count-weighted 2-means split (:func:`_two_means`,
    seeded by the most frequent type and the type farthest from it, count-weighted) of the
    :data:`SCORE_TYPES` most frequent word types, with their token counts.  A deterministic
    function of the token set (so the reverse move's choice probability can be evaluated);
    −inf when fewer than two types."""
    types, counts, _ = _type_table(toks, word_ids, slot)
    if types.shape[0] < 2:
        return -np.inf
    if types.shape[0] > SCORE_TYPES:
        keep = np.argsort(-counts, kind="mergesort")[:SCORE_TYPES]
        types = types[keep]
        counts = counts[keep]
    T = types.shape[0]
    s0_t = int(np.argmax(counts))
    far = -1.0
    s1_t = 1 if s0_t == 0 else 0
    for t in range(T):
        e = 0.0
        for c in range(table.shape[1]):
            e += (table[types[t], c] - table[types[s0_t], c]) ** 2
        if t != s0_t and counts[t] * e > far:
            far = counts[t] * e
            s1_t = t
    tlab = np.zeros(T, dtype=np.int64)
    tlab[s1_t] = 1
    _two_means(types, counts, table, tlab, s0_t, s1_t)
    _types_into(types, counts, tlab, table, ws, s0, prior, work)
    out = topic_log_marginal(s0, ws, prior) + topic_log_marginal(s0 + 1, ws, prior)
    ones = np.zeros(T, dtype=np.int64)
    _types_into(types, counts, ones, table, ws, s0, prior, work)
    return out - topic_log_marginal(s0, ws, prior)


@numba.njit(cache=True, nogil=True)
def _split_scores(z: np.ndarray, K: int, word_ids: np.ndarray, table: np.ndarray,
                  slot: np.ndarray, ws: NIWStats, s0: int, prior: NIWPrior,
                  work: np.ndarray) -> np.ndarray:
    """:func:`_split_score` of every topic of z (tokens gathered by a counting sort, O(N))."""
    off = np.zeros(K + 1, dtype=np.int64)
    for n in range(z.shape[0]):
        off[z[n] + 1] += 1
    for t in range(K):
        off[t + 1] += off[t]
    pos = off[:-1].copy()
    perm = np.empty(z.shape[0], dtype=np.int64)
    for n in range(z.shape[0]):
        perm[pos[z[n]]] = n
        pos[z[n]] += 1
    out = np.empty(K)
    for t in range(K):
        out[t] = _split_score(perm[off[t]:off[t + 1]], word_ids, table, slot, ws, s0, prior,
                              work)
    return out
