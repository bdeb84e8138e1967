"""Exact numpy-generator-driven prior draws for the data conditionals of Geweke tests.

Geweke's successive chain draws the data tens of thousands of times, where a torch sampler
reseeded from the chain's generator per call costs milliseconds: :func:`niw_prior_draw`
(normal-inverse-Wishart topics, Bartlett decomposition) and :func:`vmf_draw` (von Mises–Fisher
on the sphere, Wood 1994), both driven by a ``numpy.random.Generator``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["niw_prior_draw", "vmf_draw"]


def niw_prior_draw(
    hyper: Any, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``size`` independent draws (μ_k, Σ_k) ~ NIW(μ0, κ0, Ψ0, ν0) (numpy, Bartlett).

    Σ⁻¹ ~ Wishart(Ψ0⁻¹, ν0) by the Bartlett decomposition (L A Aᵀ Lᵀ with L = chol(Ψ0⁻¹),
    A lower triangular, A_ii = √χ²(ν0 − i), A_ij ~ N(0, 1) below the diagonal), so
    Σ ~ IW(Ψ0, ν0); then μ ~ N(μ0, Σ/κ0).  ``hyper`` is a
    :class:`ppltopics.models.glda.ResolvedGLDAHyper`.  Returns (size, M) means and
    (size, M, M) covariances.
    """
    mu0 = np.asarray(hyper.mu0, dtype=np.float64)
    psi0 = np.asarray(hyper.psi0, dtype=np.float64)
    kappa0, nu0 = float(hyper.kappa0), float(hyper.nu0)
    m = mu0.size
    chol_prec = np.linalg.cholesky(np.linalg.inv(psi0))
    a = np.zeros((size, m, m))
    rows, cols = np.tril_indices(m, -1)
    a[:, rows, cols] = rng.standard_normal((size, rows.size))
    diag = np.arange(m)
    a[:, diag, diag] = np.sqrt(rng.chisquare(nu0 - diag, size=(size, m)))
    la = chol_prec @ a  # precision = (L A)(L A)ᵀ
    cov = np.linalg.inv(la @ np.swapaxes(la, 1, 2))
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    chol_cov = np.linalg.cholesky(cov)
    mean = mu0 + np.einsum("kij,kj->ki", chol_cov, rng.standard_normal((size, m))) / math.sqrt(
        kappa0)
    return mean, cov


def vmf_draw(loc: np.ndarray, kappa: Any, rng: np.random.Generator) -> np.ndarray:
    """One draw x_i ~ vMF(loc_i, κ_i) on S^{M−1} per row of ``loc`` (N, M) (numpy, float64).

    Wood's (1994) rejection sampler for w = μᵀx — z ~ Beta((M−1)/2, (M−1)/2),
    w = (1 − (1+b)z)/(1 − (1−b)z), accepted when κw + (M−1) log(1 − x0 w) − c ≥ log u with
    b = (M−1)/(2κ + √(4κ² + (M−1)²)), x0 = (1−b)/(1+b), c = κx0 + (M−1) log(1 − x0²), formed
    from 1 − w and 1 − x0 so that large κ keeps its precision — then a uniform direction
    orthogonal to μ: x = wμ + √(1−w²) v.  The same law as
    :class:`ppltopics.distributions.VonMisesFisher`, driven by ``rng``.  ``kappa``: scalar or
    (N,), ≥ 0; rows of ``loc`` must be unit vectors.
    """
    loc = np.atleast_2d(np.asarray(loc, dtype=np.float64))
    n, m = loc.shape
    if m < 2:
        raise ValueError(f"vMF needs dimension M >= 2, got {m}")
    if not np.all(np.isfinite(loc)) or not np.allclose(np.linalg.norm(loc, axis=1), 1.0,
                                                        atol=1e-8):
        raise ValueError("loc rows must be finite unit vectors")
    kap = np.broadcast_to(np.asarray(kappa, dtype=np.float64), (n,))
    if not np.all(np.isfinite(kap)) or np.any(kap < 0):
        raise ValueError(f"kappa must be finite and >= 0, got {kappa!r}")
    m1 = float(m - 1)
    b = m1 / (2.0 * kap + np.sqrt(4.0 * kap * kap + m1 * m1))
    one_m_x0 = 2.0 * b / (1.0 + b)
    x0 = 1.0 - one_m_x0
    log_1m_x0sq = np.log(4.0 * b) - 2.0 * np.log1p(b)
    one_m_w = np.empty(n)
    todo = np.arange(n)
    while todo.size:
        z = rng.beta(m1 / 2.0, m1 / 2.0, todo.size)
        u = rng.random(todo.size)
        bb = b[todo]
        omw = 2.0 * bb * z / (1.0 - (1.0 - bb) * z)
        t = (kap[todo] * (one_m_x0[todo] - omw)
             + m1 * (np.log(one_m_x0[todo] + x0[todo] * omw) - log_1m_x0sq[todo]))
        ok = t >= np.log(u)
        one_m_w[todo[ok]] = omw[ok]
        todo = todo[~ok]
    v = rng.standard_normal((n, m))
    v -= (v * loc).sum(axis=1, keepdims=True) * loc
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    w = 1.0 - one_m_w
    return w[:, None] * loc + np.sqrt(np.clip(one_m_w * (2.0 - one_m_w), 0.0, None))[:, None] * v
