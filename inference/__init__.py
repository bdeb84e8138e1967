"""Inference kernels (numba collapsed Gibbs, TopClus EM) and the shared chain runner.

:class:`GibbsKernel` is the contract every Gibbs sampler implements; :class:`PyroGibbs` runs
any of them under ``pyro.infer.MCMC``.
"""

from ppltopics.inference.base import GibbsKernel, PyroGibbs

__all__ = ["GibbsKernel", "PyroGibbs"]
