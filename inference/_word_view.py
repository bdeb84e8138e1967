"""The word view of the Gaussian topic models (:mod:`ppltopics.models.glda`, "Word view").

Each token also emits its word from a Dirichlet–multinomial topic φ_k ~ Dirichlet(β), and the
vector view's log density is weighed by λ; the kernels (:mod:`ppltopics.inference.glda`) and
the split–merge move (:mod:`ppltopics.inference._split_merge_gauss`) carry its counts in a
:class:`WordView`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

__all__ = ["NO_VIEW", "WordView", "log_phi", "view_logw", "view_log_marginal"]


class WordView(NamedTuple):
    """The word-identity view and the weight of the vector view (module doc, "Word view").

    ``nkw`` (V, K) and ``nk`` (K,) are the counts n_kw and n_k of the Dirichlet–multinomial
    word view (both empty: no word view), ``beta`` its Dirichlet parameter and ``lam`` the
    weight λ of the vector view's log density (1: the plain GLDA likelihood).
    """

    nkw: np.ndarray
    nk: np.ndarray
    beta: float
    lam: float


NO_VIEW = WordView(np.zeros((0, 0), dtype=np.int64), np.zeros(0, dtype=np.int64), 0.0, 1.0)


@numba.njit(cache=True, nogil=True)
def view_logw(view: WordView, w: int, t: int, vbeta: float) -> float:
    """log (n_tw + β)/(n_t + Vβ): the word view's collapsed predictive of word w in topic t."""
    return math.log(view.nkw[w, t] + view.beta) - math.log(view.nk[t] + vbeta)


@numba.njit(cache=True, nogil=True)
def view_log_marginal(nkw_col: np.ndarray, beta: float) -> float:
    """log DirMult(n_k· | β) of one topic's word counts (a column of n_kw, length V)::

        log Γ(Vβ) − log Γ(n_k + Vβ) + Σ_w [log Γ(n_kw + β) − log Γ(β)]
    """
    V = nkw_col.shape[0]
    n = 0
    out = 0.0
    lg_beta = math.lgamma(beta)
    for w in range(V):
        c = nkw_col[w]
        if c > 0:
            n += c
            out += math.lgamma(c + beta) - lg_beta
    return out + math.lgamma(V * beta) - math.lgamma(n + V * beta)


def log_phi(nkw: np.ndarray, beta: float) -> np.ndarray:
    """log φ̂_kw = log (n_kw + β)/(n_k + Vβ) of (V, K) counts (integers or posterior means)."""
    nkw = np.asarray(nkw, dtype=np.float64)
    return np.log(nkw + beta) - np.log(nkw.sum(axis=0) + nkw.shape[0] * beta)
