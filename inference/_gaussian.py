"""Dense Gaussian log densities of a word-vector table under a set of topics (numpy)."""

from __future__ import annotations

import numpy as np

__all__ = ["gaussian_logpdf_table"]


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
