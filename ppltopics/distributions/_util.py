"""Conversions shared by the distribution classes: parameter dtypes and tensors."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["Shape", "NO_SHAPE", "float_dtype", "as_tensor"]

Shape = torch.Size | Sequence[int]
NO_SHAPE = torch.Size()


def float_dtype(*values) -> torch.dtype:
    """The floating dtype of the first floating tensor among ``values``, else the default."""
    for v in values:
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            return v.dtype
    return torch.get_default_dtype()


def as_tensor(value, dtype: torch.dtype, device=None) -> torch.Tensor:
    """``value`` as a tensor of ``dtype`` (on ``device``), without a copy when it already is."""
    return torch.as_tensor(value, dtype=dtype, device=device)
