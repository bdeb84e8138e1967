"""Shared numba sampling pieces: categorical draws and Vose alias tables.

Every function takes an explicit ``numpy.random.Generator`` (numba shares its bit generator
with Python), so a chain's whole random stream lives in one object whose state can be
checkpointed with ``rng.bit_generator.state``.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["categorical", "categorical_total", "log_categorical", "build_alias", "alias_draw"]


@numba.njit(cache=True, nogil=True)
def categorical(rng: np.random.Generator, weights: np.ndarray, n: int) -> int:
    """Draw ``k`` with probability ``weights[k] / sum(weights[:n])`` (weights >= 0)."""
    total = 0.0
    for k in range(n):
        total += weights[k]
    return categorical_total(rng, weights, n, total)


@numba.njit(cache=True, nogil=True)
def categorical_total(rng: np.random.Generator, weights: np.ndarray, n: int,
                      total: float) -> int:
    """:func:`categorical` when the caller has the sum ``total`` of ``weights[:n]``."""
    u = rng.random() * total
    acc = 0.0
    for k in range(n):
        acc += weights[k]
        if u < acc:
            return k
    for k in range(n - 1, -1, -1):  # rounding: u landed on the total
        if weights[k] > 0.0:
            return k
    return n - 1


@numba.njit(cache=True, nogil=True)
def log_categorical(rng: np.random.Generator, logw: np.ndarray, n: int, work: np.ndarray) -> int:
    """Draw ``k`` with probability ``exp(logw[k]) / sum_j exp(logw[j])`` (max-shifted;
    exp is not called below −746, where it is 0.0 in float64 anyway)."""
    m = -np.inf
    for k in range(n):
        if logw[k] > m:
            m = logw[k]
    for k in range(n):
        x = logw[k] - m
        work[k] = np.exp(x) if x > -746.0 else 0.0
    return categorical(rng, work, n)


@numba.njit(cache=True, nogil=True)
def build_alias(weights: np.ndarray, prob: np.ndarray, alias: np.ndarray) -> float:
    """Vose's alias method: fill ``prob``/``alias`` for ``weights`` (O(K)); return the total.

    A draw is then O(1): pick a column ``i`` uniformly, keep it with probability ``prob[i]``,
    else take ``alias[i]``.
    """
    n = weights.shape[0]
    total = 0.0
    for i in range(n):
        total += weights[i]
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = 0
    nl = 0
    for i in range(n):
        prob[i] = weights[i] * n / total
        alias[i] = i
        if prob[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        nl -= 1
        g = large[nl]
        alias[s] = g
        prob[g] = prob[g] + prob[s] - 1.0
        if prob[g] < 1.0:
            small[ns] = g
            ns += 1
        else:
            large[nl] = g
            nl += 1
    for i in range(nl):
        prob[large[i]] = 1.0
    for i in range(ns):
        prob[small[i]] = 1.0
    return total


@numba.njit(cache=True, nogil=True)
def alias_draw(rng: np.random.Generator, prob: np.ndarray, alias: np.ndarray) -> int:
    """One O(1) draw from a Vose alias table."""
    n = prob.shape[0]
    u = rng.random() * n
    i = int(u)
    if i >= n:
        i = n - 1
    if u - i < prob[i]:
        return i
    return alias[i]
