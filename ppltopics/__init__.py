"""ppltopics: Bayesian topic models over word and language-model embeddings.

Each model is a Pyro generative story (``ppltopics.models``) fitted by a fast custom kernel
(``ppltopics.inference``); results meet in a :class:`~ppltopics.posteriors.Posterior` with
ArviZ diagnostics.  Submodules are imported lazily so ``import ppltopics`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from ppltopics import _numba_cache  # noqa: F401  (before any cached kernel is compiled)
from ppltopics.corpus import Corpus

__version__ = "0.1.0"
__all__ = [
    "Corpus", "WordVectors", "Posterior", "fit", "load",
    "datasets", "diagnostics", "evaluation", "models", "inference", "checks",
]

_SUBMODULES = {"datasets", "diagnostics", "evaluation", "models", "inference", "persistence",
               "distributions", "plm", "vectors", "posterior", "api", "checks", "report",
               "tagging"}
_ATTRS = {
    "WordVectors": ("ppltopics.vectors", "WordVectors"),
    "Posterior": ("ppltopics.posteriors", "Posterior"),
    "fit": ("ppltopics.api", "fit"),
    "load": ("ppltopics.api", "load"),
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"ppltopics.{name}")
    if name in _ATTRS:
        mod, attr = _ATTRS[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'ppltopics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_ATTRS))
