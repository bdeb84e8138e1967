"""Document lengths, the input every generative story shares, and the layout helpers of the
simulated corpora.

A story (``ppltopics.models.<m>.model``) takes the documents' lengths ``N_d`` and lays the
``N = Σ_d N_d`` tokens out flat, documents concatenated; ``simulate`` draws the lengths or
takes them as given.  Re-exported as ``ppltopics.models.doc_lengths_tensor``,
``ppltopics.models.simulate_doc_lengths``, ``ppltopics.models.offsets_from_lengths`` and
``ppltopics.models.synthetic_vocab``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["doc_lengths_tensor", "simulate_doc_lengths", "offsets_from_lengths", "synthetic_vocab"]


def doc_lengths_tensor(doc_lengths: Any) -> torch.Tensor:
    """Per-document lengths as an int64 tensor, checked (1-d, non-empty, integers >= 0)."""
    if isinstance(doc_lengths, torch.Tensor):
        doc_lengths = doc_lengths.detach().cpu().numpy()
    arr = np.asarray(doc_lengths)
    if arr.ndim != 1 or arr.size < 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError("doc_lengths must be a non-empty 1-d sequence of integers")
    if (arr < 0).any():
        raise ValueError("doc_lengths must be >= 0")
    return torch.as_tensor(arr.astype(np.int64))


def simulate_doc_lengths(num_docs: int, doc_length: Any, poisson: bool, seed: int
                         ) -> np.ndarray:
    """The ``num_docs`` document lengths of a simulated corpus (int64, every one >= 1).

    ``doc_length`` is every document's length (an int) or one length per document; with
    ``poisson=True`` it is the mean λ >= 1 and ``N_d = 1 + Poisson(λ − 1)``, drawn from
    ``numpy.random.default_rng(seed)`` (so a corpus has no empty document).
    """
    if isinstance(num_docs, bool) or not isinstance(num_docs, int | np.integer) or num_docs < 1:
        raise ValueError(f"num_docs must be an integer >= 1, got {num_docs!r}")
    if poisson:
        mean = float(doc_length)
        if not (math.isfinite(mean) and mean >= 1):
            raise ValueError(f"doc_length as a Poisson mean must be >= 1, got {doc_length!r}")
        rng = np.random.default_rng(seed)
        return 1 + rng.poisson(mean - 1.0, size=num_docs).astype(np.int64)
    lengths = np.asarray(doc_length)
    if lengths.ndim == 0:
        lengths = np.full(num_docs, lengths)
    if lengths.shape != (num_docs,) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(
            f"doc_length must be an integer or {num_docs} integers (one per document), "
            f"got {doc_length!r}"
        )
    if (lengths < 1).any():
        raise ValueError("doc_length must be >= 1 (a corpus has no empty documents)")
    return lengths.astype(np.int64)


def offsets_from_lengths(lengths: np.ndarray) -> np.ndarray:
    """Start of every document in the flat token array, plus the end: ``offsets[0] = 0``,
    ``offsets[d + 1] = N_0 + … + N_d`` (int64, length D + 1)."""
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def synthetic_vocab(n: int, prefix: str = "v", min_width: int = 6) -> list[str]:
    """``n`` placeholder word types of a simulated corpus: ``prefix`` and the zero-padded index
    (at least ``min_width`` digits), e.g. ``v000000, v000001, …``."""
    width = max(min_width, len(str(n - 1)))
    return [f"{prefix}{i:0{width}d}" for i in range(n)]


def planted_paths_story(model: Any, paths: Any, num_docs: int, depth: int) -> Any:
    """``model`` conditioned on the document paths ``paths`` (num_docs, depth) of a tree
    model (``poutine.condition``), or ``model`` itself when ``paths`` is None; paths of the
    wrong shape or a non-integer dtype are a ValueError."""
    if paths is None:
        return model
    from pyro import poutine

    paths = np.asarray(paths)
    if paths.shape != (num_docs, depth) or paths.dtype.kind not in "iu":
        raise ValueError(f"paths must be integers of shape ({num_docs}, {depth}), "
                         f"got {paths.dtype} {paths.shape}")
    return poutine.condition(model, data={"paths": torch.as_tensor(paths)})
