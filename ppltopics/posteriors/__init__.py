"""Posterior containers of every model, and the registry :func:`ppltopics.load` reads.

:class:`Posterior` (the base, with construction from chains, persistence and what evaluation
relies on) and one module per model family: :mod:`~ppltopics.posteriors.lda`,
:mod:`~ppltopics.posteriors.gaussian` (GLDA, CGTM), :mod:`~ppltopics.posteriors.tree` (hLDA,
GhLDA) and :mod:`~ppltopics.posteriors.topclus`.  The tree and TopClus modules are imported
on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from ppltopics.posteriors.base import Posterior, posterior_class, register
from ppltopics.posteriors.gaussian import CGTMPosterior, GaussianPosterior
from ppltopics.posteriors.lda import LDAPosterior

__all__ = ["Posterior", "register", "posterior_class", "LDAPosterior", "GaussianPosterior",
           "CGTMPosterior", "TreePosterior", "GaussianTreePosterior", "TopClusPosterior"]

_LAZY = {"TreePosterior": "ppltopics.posteriors.tree",
         "GaussianTreePosterior": "ppltopics.posteriors.tree",
         "TopClusPosterior": "ppltopics.posteriors.topclus"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ppltopics.posteriors' has no attribute {name!r}")
