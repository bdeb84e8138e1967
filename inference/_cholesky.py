"""Dense lower-triangular numerics (numba, float64) for the Gaussian topic models: Cholesky
factorisation, rank-one up/downdates of a factor, and the inverse factor G = L⁻¹ carried
through rank-one changes.

The NIW statistics and predictives built on them are in :mod:`ppltopics.inference._linalg`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "cholesky_lower",
    "chol_update",
    "chol_downdate",
    "chol_logdet",
    "tri_inv",
    "matvec_sq",
    "inv_quad",
    "inv_chol_rank_one",
]


@numba.njit(cache=True, nogil=True)
def cholesky_lower(A: np.ndarray, L: np.ndarray) -> bool:
    """Lower Cholesky factor of the symmetric ``A`` (lower triangle read) into ``L``.

    Cholesky–Banachiewicz, O(M³/3); ``L`` may be ``A`` itself (in place).  The strict upper
    triangle of ``L`` is zeroed.  Returns False (``L`` then unspecified) when a pivot is not
    strictly positive and finite, i.e. ``A`` is not numerically positive definite.
    """
    M = A.shape[0]
    for i in range(M):
        for j in range(i + 1):
            acc = A[i, j]
            for p in range(j):
                acc -= L[i, p] * L[j, p]
            if i == j:
                if not (acc > 0.0 and acc < np.inf):
                    return False
                L[i, i] = math.sqrt(acc)
            else:
                L[i, j] = acc / L[j, j]
        for j in range(i + 1, M):
            L[i, j] = 0.0
    return True


@numba.njit(cache=True, nogil=True)
def chol_logdet(L: np.ndarray) -> float:
    """log |L Lᵀ| = 2 Σ log L_ii."""
    out = 0.0
    for i in range(L.shape[0]):
        out += math.log(L[i, i])
    return 2.0 * out


@numba.njit(cache=True, nogil=True)
def _chol_update(L: np.ndarray, x: np.ndarray, c: np.ndarray, s: np.ndarray) -> None:
    """L ← chol(L Lᵀ + x xᵀ) in place, O(M²); ``x`` is only read, ``c``/``s`` are scratch.

    LINPACK ``dchud`` (Dongarra et al. 1979, ch. 10) on ``R = Lᵀ``: row ``j`` of L meets the
    Givens rotations of rows ``0..j−1``, then a new rotation zeroes the ``j``-th entry of the
    rotated ``x``; every diagonal stays positive (``r = hypot(L_jj, x_j) > 0``).
    """
    M = L.shape[0]
    for j in range(M):
        xj = x[j]
        for i in range(j):
            lji = L[j, i]
            t = c[i] * lji + s[i] * xj
            xj = c[i] * xj - s[i] * lji
            L[j, i] = t
        ljj = L[j, j]
        r = math.hypot(ljj, xj)
        c[j] = ljj / r
        s[j] = xj / r
        L[j, j] = r


@numba.njit(cache=True, nogil=True)
def _chol_downdate(
    L: np.ndarray, x: np.ndarray, p: np.ndarray, c: np.ndarray, s: np.ndarray
) -> bool:
    """L ← chol(L Lᵀ − x xᵀ) in place, O(M²); returns False, with ``L`` untouched, when the
    result would not be positive definite.  ``x`` is only read; ``p``/``c``/``s`` are scratch.

    LINPACK ``dchdd`` (Dongarra et al. 1979, ch. 10; Stewart 1979): solve ``L p = x``; the
    downdate exists iff ``ρ² = 1 − pᵀp > 0`` (matrix determinant lemma:
    ``|L Lᵀ − x xᵀ| = |L Lᵀ| ρ²``).  Givens rotations ``Q`` with ``Q [p; ρ] = [0; 1]`` applied
    to ``[Lᵀ; 0]`` give ``[L'ᵀ; xᵀ]``.  Orthogonal rotations (no hyperbolic ones) keep it
    stable; the new diagonals are ``c_j L_jj > 0``.
    """
    M = L.shape[0]
    for i in range(M):
        p[i] = x[i]
    q = _solve_lower_sq(L, p)
    # also rejects NaN; ρ² must not underflow to a zero pivot either
    if not (q < 1.0 - 1e-15):
        return False
    alpha = math.sqrt(1.0 - q)
    for i in range(M - 1, -1, -1):
        scale = alpha + abs(p[i])
        a = alpha / scale
        b = p[i] / scale
        nrm = math.sqrt(a * a + b * b)
        c[i] = a / nrm
        s[i] = b / nrm
        alpha = scale * nrm
    for j in range(M):
        xx = 0.0
        for i in range(j, -1, -1):
            lji = L[j, i]
            t = c[i] * xx + s[i] * lji
            L[j, i] = c[i] * lji - s[i] * xx
            xx = t
    return True


@numba.njit(cache=True, nogil=True)
def chol_update(L: np.ndarray, x: np.ndarray) -> None:
    """In place ``L ← chol(L Lᵀ + x xᵀ)`` for a lower Cholesky factor L; O(M²); x unchanged."""
    M = L.shape[0]
    cs = np.empty((2, M))
    _chol_update(L, x, cs[0], cs[1])


@numba.njit(cache=True, nogil=True)
def chol_downdate(L: np.ndarray, x: np.ndarray) -> bool:
    """In place ``L ← chol(L Lᵀ − x xᵀ)``; O(M²); x unchanged.

    Returns False and leaves ``L`` unchanged when ``L Lᵀ − x xᵀ`` is not (numerically)
    positive definite — the caller then refactorises; never yields NaN silently.
    """
    M = L.shape[0]
    buf = np.empty((3, M))
    return _chol_downdate(L, x, buf[0], buf[1], buf[2])


@numba.njit(cache=True, nogil=True)
def _solve_lower_sq(L: np.ndarray, y: np.ndarray) -> float:
    """y ← L⁻¹ y in place (forward substitution, O(M²/2)); returns ‖L⁻¹ y‖²."""
    M = L.shape[0]
    q = 0.0
    for i in range(M):
        acc = y[i]
        for j in range(i):
            acc -= L[i, j] * y[j]
        acc /= L[i, i]
        y[i] = acc
        q += acc * acc
    return q


# Kernels that score many vectors against a topic between changes keep G = L⁻¹ beside L: the
# quadratic form of a predictive is then ‖G (x − μ)‖², a triangular matrix-vector product
# whose row dot products vectorise (a forward substitution is a chain of dependent divisions
# and does not).  ``reassoc`` lets those dot products use SIMD; nothing else is relaxed.
_FAST = {"reassoc", "contract"}


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def tri_inv(L: np.ndarray, out: np.ndarray) -> None:
    """out ← L⁻¹ for a lower-triangular L, row by row (row i: L_ii out_i· = e_i −
    Σ_{k<i} L_ik out_k·, contiguous axpys), O(M³/6)."""
    M = L.shape[0]
    for i in range(M):
        for j in range(M):
            out[i, j] = 0.0
        for k in range(i):
            c = L[i, k]
            for j in range(k + 1):
                out[i, j] -= c * out[k, j]
        inv = 1.0 / L[i, i]
        for j in range(i):
            out[i, j] *= inv
        out[i, i] = inv


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def matvec_sq(Linv: np.ndarray, y: np.ndarray) -> float:
    """‖Linv y‖² for a lower-triangular Linv (independent row dot products: SIMD)."""
    M = Linv.shape[0]
    q = 0.0
    for i in range(M):
        acc = 0.0
        for j in range(i + 1):
            acc += Linv[i, j] * y[j]
        q += acc * acc
    return q


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def inv_quad(Linv: np.ndarray, x: np.ndarray, mu: np.ndarray, y: np.ndarray) -> float:
    """(x − μ)ᵀ (L Lᵀ)⁻¹ (x − μ) = ‖L⁻¹ (x − μ)‖² from ``Linv`` = L⁻¹, O(M²/2); ``y`` is
    scratch (it receives x − μ)."""
    M = x.shape[0]
    for i in range(M):
        y[i] = x[i] - mu[i]
    return matvec_sq(Linv, y)


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _tri_matvec(Linv: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
    """out ← Linv v for a lower-triangular Linv."""
    M = Linv.shape[0]
    for i in range(M):
        acc = 0.0
        for j in range(i + 1):
            acc += Linv[i, j] * v[j]
        out[i] = acc


@numba.njit(cache=True, nogil=True)
def inv_chol_rank_one(G: np.ndarray, p: np.ndarray, sign: float, s: np.ndarray) -> bool:
    """G ← L'⁻¹ in place, O(M²), where G = L⁻¹, ``p = L⁻¹ v`` and L' = chol(L Lᵀ ± v vᵀ)
    (``sign`` = +1 update, −1 downdate); ``s`` is scratch.  Returns False, with G partly
    overwritten, if the downdate is not safely positive definite (1 − pᵀp ≤ 1e-15, NaN
    included; the caller recomputes G from the factor).

    Product form (Gill, Golub, Murray & Saunders 1974, "Methods for modifying matrix
    factorizations", Math. Comp. 28, method C1): L Lᵀ ± v vᵀ = L (I ± p pᵀ) Lᵀ and
    I + σ_0 p pᵀ = L̃ L̃ᵀ with L̃_jj = d_j, L̃_ij = p_i γ_j (i > j), where
    d_j² = 1 + σ_j p_j², γ_j = σ_j p_j / d_j and σ_{j+1} = σ_j / d_j² (σ_0 = ±1): the
    Schur complement of I + σ_j p pᵀ after column j is I + σ_{j+1} p pᵀ.  So L' = L L̃
    (positive diagonal: the unique Cholesky factor) and L'⁻¹ = L̃⁻¹ G, solved row by row:
    G'_i = (G_i − p_i Σ_{j<i} γ_j G'_j) / d_i with a running sum of the rows.
    """
    M = G.shape[0]
    for j in range(M):
        s[j] = 0.0
    sig = sign
    det = 1.0  # Π_{j≤i} d_j² = |I ± p pᵀ| restricted to the first i+1 coordinates
    for i in range(M):
        pi = p[i]
        d2 = 1.0 + sig * pi * pi
        det *= d2
        if not (d2 > 0.0 and det > 1e-15):  # as chol_downdate: 1 − pᵀp must stay > 1e-15
            return False
        d = math.sqrt(d2)
        gam = sig * pi / d
        inv_d = 1.0 / d
        for j in range(i + 1):
            h = (G[i, j] - pi * s[j]) * inv_d
            G[i, j] = h
            s[j] += gam * h
        sig = sig / d2
    return True
