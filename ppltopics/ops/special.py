"""Special functions behind the distributions: Bessel functions, the von Mises–Fisher
normaliser (with torch autograd Functions for it) and an overflow-free log cosh.

All numpy functions work in float64 and broadcast over their array arguments; the autograd
Functions evaluate in float64 through scipy and return the input's dtype and device.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import gammaln, ive, logsumexp

from ppltopics._validation import check_int

__all__ = [
    "log_cosh",
    "log_iv_over_xv",
    "mean_resultant_length",
    "inverse_mean_resultant_length",
    "vmf_log_normalizer",
    "VMFScaledLogNormalizer",
    "VMFMeanResultantLength",
]

_LOG_2 = math.log(2.0)
_LOG_2PI = math.log(2.0 * math.pi)
#: ``ive`` values below this are treated as underflowed (the power series takes over).
_IVE_UNDERFLOW = 1e-280


def log_cosh(u):
    """``log cosh(u) = |u| + log1p(exp(−2|u|)) − log 2`` without overflow (numpy or torch)."""
    if isinstance(u, torch.Tensor):
        a = u.abs()
        return a + torch.log1p(torch.exp(-2.0 * a)) - _LOG_2
    a = np.abs(u)
    return a + np.log1p(np.exp(-2.0 * a)) - _LOG_2


def _log_iv_series(v: float, x: np.ndarray) -> np.ndarray:
    """``log I_v(x) - v log x`` by the power series, summed in log space (any x >= 0).

    ``I_v(x) = (x/2)^v / Γ(v+1) · Σ_k (x²/4)^k / (k! (v+1)_k)`` (Abramowitz & Stegun 9.6.10).
    Terms peak at ``k* = (sqrt(v² + x²) - v) / 2``; the sum runs far past it.
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, -v * _LOG_2 - gammaln(v + 1.0))
    pos = x > 0
    if not pos.any():
        return out
    xp = x[pos]
    kstar = float(np.max((np.sqrt(v * v + xp * xp) - v) / 2.0))
    k = np.arange(int(math.ceil(kstar + 12.0 * math.sqrt(kstar) + 40.0)), dtype=np.float64)
    logt = (k[:, None] * (2.0 * np.log(xp / 2.0))[None, :] - gammaln(k + 1.0)[:, None]
            - (gammaln(v + 1.0 + k) - gammaln(v + 1.0))[:, None])
    out[pos] += logsumexp(logt, axis=0)
    return out


def log_iv_over_xv(v: float, x: np.ndarray) -> np.ndarray:
    """``g_v(x) = log I_v(x) - v log x`` (float64), finite at ``x = 0`` and for huge ``x``.

    Uses scipy's exponentially scaled ``ive`` (``log I_v(x) = log ive(v, x) + x``) and the
    power series :func:`_log_iv_series` where ``ive`` underflows (``x`` much smaller than ``v``).
    ``g_v'(x) = I_{v+1}(x) / I_v(x)`` (from ``I_v' = I_{v+1} + (v/x) I_v``).
    """
    x = np.asarray(x, dtype=np.float64)
    shape, x = x.shape, x.reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = ive(v, x)
        out = np.log(scaled) + x - v * np.log(x)
    small = ~(scaled > _IVE_UNDERFLOW) | (x <= 0)
    if small.any():
        out[small] = _log_iv_series(v, x[small])
    return out.reshape(shape)


def mean_resultant_length(D: int, kappa) -> np.ndarray:
    """``A_D(κ) = I_{D/2}(κ) / I_{D/2-1}(κ)``, the mean resultant length ``‖E x‖`` of vMF(μ, κ).

    Banerjee et al. (JMLR 2005), eq. (4.6)–(4.8); ``A_D(0) = 0``, ``A_D(κ) → 1`` as ``κ → ∞``.
    Computed as ``κ · exp(g_{D/2}(κ) - g_{D/2-1}(κ))`` with ``g_v = log I_v - v log κ``, stable
    for any ``κ >= 0`` and ``D >= 2``.
    """
    D = check_int("the dimension D", D, 2)
    k = np.asarray(kappa, dtype=np.float64)
    if np.any(~np.isfinite(k)) or np.any(k < 0):
        raise ValueError("kappa must be finite and non-negative")
    v = D / 2.0 - 1.0
    return k * np.exp(log_iv_over_xv(v + 1.0, k) - log_iv_over_xv(v, k))


def inverse_mean_resultant_length(D: int, rbar, newton_steps: int = 2) -> np.ndarray:
    """``κ`` with ``A_D(κ) = r̄`` (the vMF concentration MLE from a mean resultant length).

    Starts from the approximation of Banerjee et al. (JMLR 2005, eq. 4.4)
    ``κ ≈ r̄ (D - r̄²) / (1 - r̄²)`` and takes ``newton_steps`` Newton steps on
    ``A_D(κ) - r̄`` with ``A_D'(κ) = 1 - A_D(κ)² - (D-1)/κ · A_D(κ)`` (Sra 2012).
    """
    D = check_int("the dimension D", D, 2)
    r = np.asarray(rbar, dtype=np.float64)
    if np.any(~np.isfinite(r)) or np.any(r < 0) or np.any(r >= 1):
        raise ValueError("rbar must lie in [0, 1)")
    kappa = r * (D - r * r) / (1.0 - r * r)
    for _ in range(int(newton_steps)):
        a = mean_resultant_length(D, kappa)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = 1.0 - a * a - (D - 1.0) / kappa * a
            step = np.where((kappa > 0) & (slope > 0), (a - r) / slope, 0.0)
        kappa = np.maximum(kappa - step, 0.0)
    return kappa


class VMFScaledLogNormalizer(torch.autograd.Function):
    """``s(κ) = log C_D(κ) + κ``, ``log C_D(κ) = (D/2-1) log κ - (D/2) log 2π - log I_{D/2-1}(κ)``.

    Forward in float64 through scipy (:func:`log_iv_over_xv`); backward by the Bessel
    recurrence: ``d log C_D / dκ = -A_D(κ)``, so ``s'(κ) = 1 - A_D(κ)``.  Adding ``κ`` keeps the
    value O(log κ) for large κ (no cancellation against ``κ μᵀx`` in float32).
    """

    @staticmethod
    def forward(ctx, kappa: torch.Tensor, D: int) -> torch.Tensor:  # type: ignore[override]
        k = kappa.detach().cpu().to(torch.float64).numpy()
        v = D / 2.0 - 1.0
        s = -(D / 2.0) * _LOG_2PI - log_iv_over_xv(v, k) + k
        ctx.save_for_backward(kappa)
        ctx.D = D
        return torch.as_tensor(s, dtype=kappa.dtype, device=kappa.device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (kappa,) = ctx.saved_tensors
        a = mean_resultant_length(ctx.D, kappa.detach().cpu().to(torch.float64).numpy())
        slope = torch.as_tensor(1.0 - a, dtype=grad.dtype, device=grad.device)
        return grad * slope, None


class VMFMeanResultantLength(torch.autograd.Function):
    """``A_D(κ)`` as a torch op; ``A_D'(κ) = 1 - A_D(κ)² - (D-1)/κ · A_D(κ)`` (→ 1/D at 0)."""

    @staticmethod
    def forward(ctx, kappa: torch.Tensor, D: int) -> torch.Tensor:  # type: ignore[override]
        a = mean_resultant_length(D, kappa.detach().cpu().to(torch.float64).numpy())
        ctx.save_for_backward(kappa)
        ctx.D = D
        ctx.a = a
        return torch.as_tensor(a, dtype=kappa.dtype, device=kappa.device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (kappa,) = ctx.saved_tensors
        k = kappa.detach().cpu().to(torch.float64).numpy()
        a = ctx.a
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(k > 0, 1.0 - a * a - (ctx.D - 1.0) * a / k, 1.0 / ctx.D)
        return grad * torch.as_tensor(slope, dtype=grad.dtype, device=grad.device), None


def vmf_log_normalizer(D: int, kappa) -> np.ndarray:
    """``log C_D(κ)`` of the vMF density ``C_D(κ) exp(κ μᵀx)`` on the unit sphere S^{D-1}.

    ``C_D(κ) = κ^{D/2-1} / ((2π)^{D/2} I_{D/2-1}(κ))`` (Banerjee et al., JMLR 2005, eq. 2.2);
    at ``κ = 0`` it is one over the surface area ``2π^{D/2} / Γ(D/2)``.
    """
    D = check_int("the dimension D", D, 2)
    k = np.asarray(kappa, dtype=np.float64)
    return -(D / 2.0) * _LOG_2PI - log_iv_over_xv(D / 2.0 - 1.0, k)
