"""Inference kernels (numba collapsed Gibbs, TopClus EM) and the shared chain runner."""
