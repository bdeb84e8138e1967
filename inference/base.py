"""The kernel protocol shared by every sampler, and its bridge to ``pyro.infer.MCMC``.

A kernel owns no chain loop: it initialises a *state* (a dict of numpy arrays), advances it by
one sweep with an explicit ``numpy.random.Generator``, and reads off what the runner records.
The runner (:mod:`ppltopics.inference.runner`) drives chains, thinning, progress and
checkpoints; ``pyro.infer.MCMC`` can drive the same kernel through :class:`GibbsKernel`'s
``MCMCKernel`` methods.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import torch
from pyro.infer.mcmc.mcmc_kernel import MCMCKernel

__all__ = ["GibbsKernel", "State"]

State = dict[str, np.ndarray]


class GibbsKernel(MCMCKernel):
    """Base class of ppltopics' samplers (a ``pyro.infer.mcmc.mcmc_kernel.MCMCKernel``).

    Subclasses implement:

    - :meth:`init_state` - a fresh state drawn with ``rng`` (e.g. random topic assignments);
    - :meth:`step` - one full sweep, in place;
    - :meth:`record` - per-draw quantities: scalars for ``sample_stats`` (``lp``,
      ``log_likelihood``, ...), small arrays for ``posterior`` (label-invariant or relabelled
      later), and optionally ``"pointwise"`` per-document log-likelihoods;
    - :meth:`accumulate` - add the draw to running sums (posterior means without storing
      K x V per draw);
    - :attr:`pyro_params` - which state arrays ``pyro.infer.MCMC`` reports as samples.
    """

    #: name of the model in the registry ("lda", "glda", ...)
    model_name: str = ""
    #: the state arrays exposed as samples to ``pyro.infer.MCMC``
    pyro_params: tuple[str, ...] = ("z",)
    #: ``pyro.infer.MCMC`` reads this; the kernels' states are already unconstrained
    transforms: dict[str, Any] = {}

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._state: State | None = None
        self._warmup_steps = 0
        self._iteration = 0

    # ------------------------------------------------------------ the protocol
    @property
    @abstractmethod
    def num_tokens(self) -> int:
        """Tokens resampled by one sweep (for tokens/s)."""

    @abstractmethod
    def init_state(self, rng: np.random.Generator) -> State: ...

    @abstractmethod
    def step(self, state: State, rng: np.random.Generator, warmup: bool) -> None: ...

    @abstractmethod
    def record(self, state: State) -> dict[str, Any]: ...

    def accumulate(self, state: State, acc: dict[str, np.ndarray]) -> None:  # noqa: B027
        """Add this draw's point estimates to ``acc`` (default: nothing)."""

    def config(self) -> dict[str, Any]:
        """JSON-able description of the kernel (hyperparameters, data fingerprint)."""
        return {"model": self.model_name}

    # ------------------------------------------------------------ pyro.infer.MCMC bridge
    def setup(self, warmup_steps: int, *args: Any, **kwargs: Any) -> None:
        self._warmup_steps = warmup_steps
        self._iteration = 0
        self._rng = np.random.default_rng(self.seed)
        self._state = self.init_state(self._rng)

    def _params(self) -> dict[str, torch.Tensor]:
        assert self._state is not None
        return {k: torch.from_numpy(np.array(self._state[k])) for k in self.pyro_params}

    @property
    def initial_params(self) -> dict[str, torch.Tensor]:
        if self._state is None:
            self.setup(0)
        return self._params()

    @initial_params.setter
    def initial_params(self, params: dict[str, torch.Tensor]) -> None:
        if self._state is None:
            self.setup(0)
        assert self._state is not None
        for k, v in params.items():
            self._state[k][...] = v.numpy()
        self.resync(self._state)

    def resync(self, state: State) -> None:  # noqa: B027
        """Rebuild every derived array (counts, statistics) from the primary ones (``z``) and
        the kernel's current data; also used after :meth:`set_data`."""

    def set_data(self, data: np.ndarray) -> None:
        """Replace the observed data, keeping its shape (Geweke's successive-conditional
        chain redraws the data between sweeps); call :meth:`resync` afterwards.

        Default: ``data`` are new word ids for ``self.corpus`` (same documents, same
        vocabulary).  Models observing vectors override it.
        """
        from ppltopics.corpus import Corpus

        c = self.corpus  # type: ignore[attr-defined]
        self.corpus = Corpus(data, c.doc_offsets, c.vocab)

    def sample(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        assert self._state is not None and self._rng is not None
        self.step(self._state, self._rng, warmup=self._iteration < self._warmup_steps)
        self._iteration += 1
        return self._params()

    def logging(self) -> str | None:
        if self._state is None:
            return None
        rec = self.record(self._state)
        return f"lp={rec['lp']:.1f}"

    def diagnostics(self) -> dict[str, Any]:
        return {}
