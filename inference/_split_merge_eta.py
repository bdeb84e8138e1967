"""CGTM's half of the Gaussian split–merge move: η's columns follow z's merge and split.

See :func:`_eta_move`; the z half is :mod:`ppltopics.inference._split_merge_gauss`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ppltopics.inference._linalg import NIWPrior, NIWStats, niw_refactor, topic_log_marginal


@numba.njit(cache=True, nogil=True)
def _eta_log_marginal(eta: np.ndarray, eta_prior: NIWPrior, st: NIWStats, slot: int) -> float:
    """log p(η_1..η_D) with (μ_η, Σ_η) ~ NIW integrated out (the rows of η as one NIW
    "topic" in ``st[slot]``; O(D·K² + K³))."""
    D, K = eta.shape
    st.count[slot] = D
    for a in range(K):
        s = 0.0
        for d in range(D):
            s += eta[d, a]
        st.sums[slot, a] = s
        for b in range(a + 1):
            s = 0.0
            for d in range(D):
                s += (eta[d, a] - eta_prior.mu0[a]) * (eta[d, b] - eta_prior.mu0[b])
            st.scatter[slot, a, b] = s
    niw_refactor(slot, st, eta_prior)
    return topic_log_marginal(slot, st, eta_prior)


@numba.njit(cache=True, nogil=True)
def _eta_move(
    eta: np.ndarray, old: np.ndarray, new: np.ndarray, i: int, j: int, k: int,
    alpha: np.ndarray, eta_prior: NIWPrior, rng: np.random.Generator, out: np.ndarray,
    jacobian: bool = True,
) -> float:
    """CGTM's η half of the joint split–merge move; returns its log acceptance terms.

    ``old``/``new`` (D, 3): the document counts of topics (i, j, k) under z and under the
    proposed z'.  Per document, with θ = softmax(η) and σ the logistic function:

    * merge j into i: e^{η'_i} = e^{η_i} + e^{η_j}, i.e. η'_i = s := logaddexp(η_i, η_j);
    * split k (base b = η_k; b = s when k = i) between k and j: η'_k = b + log v,
      η'_j = b + log(1 − v), v ~ Beta(n'_k + α_k, n'_j + α_j) (the share of θ_k that the
      proposed counts suggest).

    Σ_{t∈{i,j,k}} e^{η_t} is unchanged, so log Σ_t e^{η_t} and every other η_dt are too.  The
    reverse move merges k and j back (v = σ(η'_k − η'_j)) and splits i with
    v' = σ(η_i − η_j) ~ Beta(n_i + α_i, n_j + α_j).  (η_i, η_j, η_k, v) ↦ (η'_i, η'_j, η'_k,
    v') is a bijection with |J| = v'(1 − v')/(v(1 − v)), so the move's ratio gains

        Σ_d [log Beta(v'; n_i+α_i, n_j+α_j) + log v'(1−v')
             − log Beta(v; n'_k+α_k, n'_j+α_j) − log v(1−v)]
        + Σ_d Σ_t (n'_t η'_t − n_t η_t)                         log p(z' | η') / p(z | η)
        + log p(η') − log p(η)                                  (μ_η, Σ_η) integrated out.

    Integrating (μ_η, Σ_η) out makes the move a kernel on (z, η) that leaves p(z, η | x)
    invariant; the sweep draws (μ_η, Σ_η) | η right after it, so the composite leaves the
    joint invariant.  ``out`` (D, K) receives η'.  ``jacobian=False`` drops log|J| (a defect
    the tests must reject)."""
    D = eta.shape[0]
    out[:, :] = eta
    lr = 0.0
    off = 0.0 if jacobian else 1.0
    for d in range(D):
        a = eta[d, i]
        b = eta[d, j]
        s = max(a, b) + math.log1p(math.exp(-abs(a - b)))
        base = s if k == i else eta[d, k]
        pa = new[d, 2] + alpha[k]
        pb = new[d, 1] + alpha[j]
        g1 = rng.standard_gamma(pa)
        g2 = rng.standard_gamma(pb)
        lt = math.log(g1 + g2)
        lv = math.log(g1) - lt
        l1v = math.log(g2) - lt
        if k != i:
            out[d, i] = s
        out[d, k] = base + lv
        out[d, j] = base + l1v
        ra = old[d, 0] + alpha[i]
        rb = old[d, 1] + alpha[j]
        lr += (ra - off) * (a - s) + (rb - off) * (b - s) - _lbeta(ra, rb)
        lr -= (pa - off) * lv + (pb - off) * l1v - _lbeta(pa, pb)
        lr += new[d, 0] * out[d, i] + new[d, 1] * out[d, j] - old[d, 0] * a - old[d, 1] * b
        if k != i:
            lr += new[d, 2] * out[d, k] - old[d, 2] * eta[d, k]
    st = NIWStats(np.zeros(2, dtype=np.int64), np.zeros((2, eta.shape[1])),
                  np.zeros((2, eta.shape[1], eta.shape[1])),
                  np.zeros((2, eta.shape[1], eta.shape[1])), np.zeros(2))
    lr += _eta_log_marginal(out, eta_prior, st, 1) - _eta_log_marginal(eta, eta_prior, st, 0)
    return lr


@numba.njit(cache=True, nogil=True)
def _lbeta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


@numba.njit(cache=True, nogil=True)
def _topic_counts(ndk: np.ndarray, i: int, j: int, k: int) -> np.ndarray:
    """(D, 3) copy of the document counts of topics i, j, k."""
    out = np.empty((ndk.shape[0], 3), dtype=np.int64)
    for d in range(ndk.shape[0]):
        out[d, 0] = ndk[d, i]
        out[d, 1] = ndk[d, j]
        out[d, 2] = ndk[d, k]
    return out
