"""Dense log densities of a word-vector table under a set of topics (numpy / BLAS).

The kernels score one token at a time in numba; a recorded draw needs every word type under
every topic at once, which a triangular solve per topic over the whole (V, M) table does at
BLAS speed.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import gammaln

__all__ = ["gaussian_logpdf_table", "predictive_logpdf_table"]


def gaussian_logpdf_table(x: np.ndarray, means: np.ndarray, covs: np.ndarray) -> np.ndarray:
    """``out[w, k] = log N(x_w | means[k], covs[k])`` for a (V, M) table ``x``:

        log N(x | μ, Σ) = −½ ‖L⁻¹(x − μ)‖² − Σ_i log L_ii − (M/2) log 2π,   Σ = L Lᵀ,

    by one Cholesky factorisation and triangular solve per topic.  Returns (V, K).
    """
    V, M = x.shape
    out = np.empty((V, means.shape[0]))
    for k in range(means.shape[0]):
        L = np.linalg.cholesky(covs[k])
        y = np.linalg.solve(L, (x - means[k]).T)  # (M, V)
        out[:, k] = -0.5 * (y * y).sum(0) - np.log(np.diag(L)).sum() - 0.5 * M * np.log(2 * np.pi)
    return out


def predictive_logpdf_table(
    table: np.ndarray, count: np.ndarray, sums: np.ndarray, chol: np.ndarray,
    logdet: np.ndarray, mu0: np.ndarray, kappa0: float, nu0: float,
) -> np.ndarray:
    """``out[w, k]`` = log p(table[w] | the vectors in topic k), the NIW posterior predictive

        t_{ν_n−M+1}(x | μ_n, Ψ_n (κ_n+1)/(κ_n(ν_n−M+1))),  κ_n = κ0 + n,  ν_n = ν0 + n,
        μ_n = (κ0 μ0 + Σx)/κ_n,

    from each topic's count ``n``, sum ``Σx``, lower factor ``chol`` of Ψ_n and its
    ``logdet`` (the statistics :mod:`ppltopics.inference._linalg` maintains): the numbers of
    ``_linalg.predictive_logpdf`` for every (word, topic) pair, by one (M, V) triangular solve
    per topic.  Returns (V, K).
    """
    V, M = table.shape
    out = np.empty((V, count.shape[0]))
    for k in range(count.shape[0]):
        kappa_n = kappa0 + count[k]
        dof = nu0 + count[k] - M + 1.0
        c = (kappa_n + 1.0) / (kappa_n * dof)
        mu = (kappa0 * mu0 + sums[k]) / kappa_n
        y = solve_triangular(chol[k], (table - mu).T, lower=True, check_finite=False)
        const = (gammaln(0.5 * (dof + M)) - gammaln(0.5 * dof)
                 - 0.5 * M * (math.log(dof) + math.log(math.pi))
                 - 0.5 * (logdet[k] + M * math.log(c)))
        out[:, k] = const - 0.5 * (dof + M) * np.log1p(np.einsum("mv,mv->v", y, y) / (c * dof))
    return out
