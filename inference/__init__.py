"""Inference kernels (numba collapsed Gibbs, TopClus EM) and the shared chain runner.

:class:`GibbsKernel` is the contract every Gibbs sampler implements; :class:`PyroGibbs` runs
any of them under ``pyro.infer.MCMC``.  The numba draws every kernel shares, for kernels of
new models too: :func:`categorical` and :func:`log_categorical` (one draw from unnormalised
weights or log weights), :func:`build_alias` and :func:`alias_draw` (Vose alias tables).
"""

from ppltopics.inference._sampling import alias_draw, build_alias, categorical, log_categorical
from ppltopics.inference.base import GibbsKernel, PyroGibbs

__all__ = [
    "GibbsKernel",
    "PyroGibbs",
    "categorical",
    "log_categorical",
    "build_alias",
    "alias_draw",
]
