"""The two simulators :func:`ppltopics.testing.geweke.geweke_test` compares, for any story.

:func:`pyro_forward_sampler` draws ``(latent, data)`` forward from a Pyro model (the
marginal-conditional simulator); :class:`CorpusConditional` is the ``latent_step`` of the
successive-conditional chain for a kernel whose latent is one array (``z``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ppltopics.inference.base import GibbsKernel, State

__all__ = ["pyro_forward_sampler", "CorpusConditional"]


def pyro_forward_sampler(
    model: Callable[..., Any],
    model_args: tuple[Any, ...] = (),
    model_kwargs: Mapping[str, Any] | None = None,
    latent: str | Sequence[str] = "z",
    data: str | Sequence[str] = "w",
) -> Callable[[int, np.random.Generator], list[tuple[Any, Any]]]:
    """Forward simulator for :func:`geweke_test` from a Pyro model run unconditioned.

    Each draw traces ``model(*model_args, **model_kwargs)`` (``pyro.poutine.trace``) and
    returns the values of the ``latent`` and ``data`` sample sites as numpy arrays (a dict of
    arrays when several sites are named).  Torch's global RNG is forked and seeded from the
    numpy generator, so draws are deterministic and the caller's torch RNG is untouched.

    Torch runs single-threaded while drawing (restored afterwards): the tensors of a toy story
    are tiny, and waking intra-op threads on a busy machine cost milliseconds per op (measured
    here: ``torch.repeat_interleave`` 4 ms with 2 threads under load vs 5 µs with 1).
    """
    import torch
    from pyro import poutine

    kwargs = dict(model_kwargs or {})

    def pick(trace: Any, names: str | Sequence[str]) -> Any:
        if isinstance(names, str):
            return trace.nodes[names]["value"].detach().cpu().numpy()
        return {n: trace.nodes[n]["value"].detach().cpu().numpy() for n in names}

    def forward(num: int, rng: np.random.Generator) -> list[tuple[Any, Any]]:
        out = []
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(rng.integers(0, 2**63 - 1)))
                for _ in range(num):
                    tr = poutine.trace(model).get_trace(*model_args, **kwargs)
                    out.append((pick(tr, latent), pick(tr, data)))
        finally:
            torch.set_num_threads(threads)
        return out

    return forward


class CorpusConditional:
    """``latent_step`` for :func:`geweke_test`: ``sweeps`` kernel sweeps of ``z | w``.

    Between calls the data change, so each call installs them with ``kernel.set_data(w)``
    (word ids for discrete models, token vectors for Gaussian ones), writes ``z`` into a
    kernel state, calls ``kernel.resync(state)`` to rebuild every count from (z, data), and
    runs ``kernel.step(state, rng, warmup=False)``.  The kernel is modified: give the test a
    kernel of its own.
    """

    def __init__(self, kernel: GibbsKernel, sweeps: int = 1, key: str = "z") -> None:
        self.kernel = kernel
        self.sweeps = int(sweeps)
        self.key = key
        self._state: State | None = None

    def __call__(self, z: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = self.kernel
        k.set_data(w)
        if self._state is None:
            self._state = k.init_state(rng)
        state = self._state
        state[self.key][...] = z
        k.resync(state)
        for _ in range(self.sweeps):
            k.step(state, rng, warmup=False)
        return state[self.key].copy()
