"""Argument checks shared by the distributions, the generative stories, the kernels and the
read-outs of fitted models.

Every check raises ``ValueError`` (``TypeError`` where the value is not a number at all)
with a message that starts with the argument's name, so callers need no wrapping.  Arrays
may be numpy arrays or torch tensors where the signature says so; a tensor is checked
without taking part in autograd.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import torch

__all__ = [
    "check_int",
    "check_bool",
    "check_choice",
    "check_type",
    "check_positive",
    "positive_float",
    "finite_float",
    "check_finite",
    "as_float_array",
    "check_spd",
    "normalise_alpha",
]

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


def check_int(name: str, value: Any, low: int = 1) -> int:
    """``value`` as an ``int``, checked to be an integer (not a bool) ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_bool(name: str, value: Any) -> bool:
    """``value`` checked to be a ``bool`` (``numpy.bool_`` too); anything else, even a truthy
    number or string, raises ``TypeError``."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` checked to be one of the names ``choices``; otherwise ``ValueError``
    ``"<name> must be 'a', 'b' or 'c', got <value>"``."""
    if not (isinstance(value, str) and value in choices):
        quoted = [repr(c) for c in choices]
        options = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        raise ValueError(f"{name} must be {options}, got {value!r}")
    return value


def check_type(name: str, value: Any, cls: type | tuple[type, ...], what: str) -> Any:
    """``value`` checked to be an instance of ``cls``; otherwise ``TypeError``
    ``"<name> must be <what>, got <type name>"``."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def _scalar(value: Any) -> Any:
    """The Python number inside a 0-d tensor or array; anything else unchanged."""
    if isinstance(value, torch.Tensor | np.ndarray) and np.ndim(value) == 0:
        return value.item()
    return value


def finite_float(name: str, value: Any) -> float:
    """``value`` as a ``float``, checked to be a real number (not a bool) and finite."""
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {out}")
    return out


def positive_float(name: str, value: Any) -> float:
    """:func:`finite_float`, then checked ``> 0`` (``ValueError`` "NAME must be > 0")."""
    out = finite_float(name, value)
    if out <= 0:
        raise ValueError(f"{name} must be > 0, got {out}")
    return out


def check_positive(name: str, value: Any) -> float:
    """``value`` as a ``float``, checked to be a finite real number ``> 0``.

    A value that is no number at all (a string, None, a bool) raises ``TypeError``.
    """
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a positive finite number, got {value!r}")
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be positive and finite, got {v!r}")
    return v


def check_finite(name: str, value: np.ndarray | torch.Tensor) -> None:
    """Raise ``ValueError("<name> contains NaN or inf")`` unless every entry is finite."""
    if isinstance(value, torch.Tensor):
        ok = bool(torch.isfinite(value.detach()).all())
    else:
        ok = bool(np.all(np.isfinite(value)))
    if not ok:
        raise ValueError(f"{name} contains NaN or inf")


def as_float_array(name: str, value: Any, ndim: int) -> np.ndarray:
    """A float64 copy of ``value`` (array-like or tensor), checked: ``ndim`` dimensions
    (1: a vector, 2: a square matrix is expected by the callers), non-empty, finite."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim != ndim:
        kind = "a vector" if ndim == 1 else "a square matrix"
        raise ValueError(f"{name} must be {kind}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    check_finite(name, arr)
    return arr


def check_spd(name: str, psi: ArrayT) -> ArrayT:
    r"""Check that ``psi`` is a symmetric positive definite M×M matrix (or a batch of them,
    leading dimensions) and return its symmetric part ``½(Ψ + Ψᵀ)`` (same type).

    Symmetric means ``max |Ψ − Ψᵀ| ≤ sqrt(ε)·max(1, max |Ψ|)`` with ε the machine epsilon of
    the dtype; positive definite means the Cholesky factorisation of the symmetric part
    succeeds.  Works on numpy arrays and torch tensors alike; a tensor's gradient is not
    touched by the check (the returned symmetric part keeps it).
    """
    shape = tuple(psi.shape)
    if len(shape) < 2 or shape[-1] != shape[-2] or shape[-1] == 0:
        raise ValueError(
            f"{name} must be a square M×M matrix (or a batch of them), got shape {shape}"
        )
    check_finite(name, psi)
    if isinstance(psi, torch.Tensor):
        plain = psi.detach()
        eps = torch.finfo(psi.dtype).eps if psi.is_floating_point() else 2.0**-52
        asym = float((plain - plain.mT).abs().max())
        scale = max(1.0, float(plain.abs().max()))
        sym = 0.5 * (psi + psi.mT)
        failed = bool((torch.linalg.cholesky_ex(sym.detach())[1] != 0).any())
    else:
        psi = np.asarray(psi)
        floating = np.issubdtype(psi.dtype, np.floating)
        eps = float(np.finfo(psi.dtype).eps) if floating else 2.0**-52
        asym = float(np.abs(psi - np.swapaxes(psi, -1, -2)).max())
        scale = max(1.0, float(np.abs(psi).max()))
        sym = 0.5 * (psi + np.swapaxes(psi, -1, -2))
        try:
            np.linalg.cholesky(sym)
            failed = False
        except np.linalg.LinAlgError:
            failed = True
    if asym > math.sqrt(eps) * scale:
        raise ValueError(
            f"{name} must be symmetric positive definite: it is not symmetric "
            f"(max |{name} - {name}^T| = {asym:.3g})"
        )
    if failed:
        raise ValueError(
            f"{name} must be symmetric positive definite: its Cholesky factorisation failed"
        )
    return sym


def normalise_alpha(alpha: Any) -> float | tuple[float, ...]:
    """A Dirichlet concentration α as given by a user: a scalar becomes a float, a 1-d
    sequence (or array, tensor) a tuple of floats; positivity and length are the caller's
    checks."""
    if isinstance(alpha, bool) or alpha is None or isinstance(alpha, str):
        raise ValueError(f"alpha must be a positive float or a sequence of them, got {alpha!r}")
    if isinstance(alpha, torch.Tensor):
        alpha = alpha.detach().cpu().numpy()
    try:
        arr = np.asarray(alpha, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"alpha must be a positive float or a sequence of them: {exc}") from None
    if arr.ndim == 0:
        return float(arr)
    if arr.ndim != 1:
        raise ValueError(f"alpha must be a float or a 1-d sequence, got shape {arr.shape}")
    return tuple(float(v) for v in arr)
