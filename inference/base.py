"""The kernel protocol shared by every sampler, and its bridge to ``pyro.infer.MCMC``.

A kernel owns no chain loop: it initialises a *state* (a dict of numpy arrays), advances it by
one sweep with an explicit ``numpy.random.Generator``, and reads off what the runner records.
The runner (:mod:`ppltopics.inference.runner`) drives chains, thinning, progress and
checkpoints; ``pyro.infer.MCMC`` can drive the same kernel through :class:`GibbsKernel`'s
``MCMCKernel`` methods.

Writing a model variant (tutorial ``tutorials/06_variant.py`` builds a spherical GLDA this way).
A new model *reuses*:

1. the story conventions of :mod:`ppltopics.models` (plates ``topics``/``docs``/``tokens``,
   ``RowCategorical`` for z, :func:`ppltopics.models.glda.story_inputs`, the distributions of
   :mod:`ppltopics.distributions`);
2. :class:`GibbsKernel` (this module) and :func:`topic_size_record` for the label-invariant
   topic-size records;
3. the runner (:func:`ppltopics.inference.runner.run_chains`, ``RunSpec``) and
   :meth:`ppltopics.posterior.Posterior.from_kernel` (chains -> relabelled Posterior);
4. shared numba pieces: ``inference/_sampling.py`` (categorical draws, alias tables),
   ``inference/_linalg.py`` (NIW Gaussian predictive), ``inference/_tree.py`` (nCRP tree);
5. :mod:`ppltopics.testing` (Geweke harness, ``assignment_test_functions``,
   ``dirichlet_log_prior_batch``) and :mod:`ppltopics.diagnostics`.

It must *provide*: the kernel step (``init_state``/``step``/``resync``/``set_data``), its
label-invariant records (``lp``, ``log_likelihood``, topic sizes) with ``record_dims``, its
point estimates (``accumulate``, ``estimate_dims``), a :class:`ppltopics.posterior.Posterior`
subclass (``top_words``, ``doc_topics``, ``relabel_by``), the exact data conditional of its
story and a collapsed log joint for Geweke's test.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import torch
from pyro.infer.mcmc.mcmc_kernel import MCMCKernel

__all__ = ["GibbsKernel", "State", "topic_size_record", "TOPIC_SIZE_DIMS"]

State = dict[str, np.ndarray]

#: ``record_dims`` of the records :func:`topic_size_record` returns
TOPIC_SIZE_DIMS: dict[str, list[str]] = {"topic_share": ["topic"], "sorted_topic_share": ["rank"]}


def topic_size_record(topic_counts: np.ndarray, num_tokens: int) -> dict[str, Any]:
    """The topic-size records every flat topic model reports: ``num_occupied`` (topics holding
    a token), ``topic_share`` n_k/N (relabelled later) and ``sorted_topic_share`` (label
    invariant, what :func:`ppltopics.diagnostics.summary` reads); dims :data:`TOPIC_SIZE_DIMS`.
    """
    counts = np.asarray(topic_counts)
    if num_tokens < 1:
        raise ValueError(f"num_tokens must be >= 1, got {num_tokens}")
    share = counts / float(num_tokens)
    return {"num_occupied": int(np.count_nonzero(counts)), "topic_share": share,
            "sorted_topic_share": np.sort(share)[::-1].copy()}


class GibbsKernel(MCMCKernel):
    """Base class of ppltopics' samplers (a ``pyro.infer.mcmc.mcmc_kernel.MCMCKernel``).

    Subclasses implement:

    - :meth:`init_state` - a fresh state drawn with ``rng`` (e.g. random topic assignments);
    - :meth:`step` - one full sweep, in place;
    - :meth:`record` - per-draw quantities: scalars for ``sample_stats`` (``lp``,
      ``log_likelihood``, ...), small arrays for ``posterior`` (label-invariant or relabelled
      later), and optionally ``"pointwise"`` per-document log-likelihoods;
    - :meth:`accumulate` - add the draw to running sums (posterior means without storing
      K x V per draw), and :meth:`finalize` - turn one chain's sums into its estimates;
    - :attr:`record_dims`, :attr:`estimate_dims` - dimension names of the recorded arrays and
      of the estimates (``"topic"`` marks the axes that chains are relabelled along);
    - :meth:`resync` and :meth:`set_data` - rebuild derived arrays; swap the data (Geweke);
    - :attr:`pyro_params` - which state arrays ``pyro.infer.MCMC`` reports as samples.
    """

    #: name of the model in the registry ("lda", "glda", ...)
    model_name: str = ""
    #: the state arrays exposed as samples to ``pyro.infer.MCMC``
    pyro_params: tuple[str, ...] = ("z",)
    #: ``pyro.infer.MCMC`` reads this; the kernels' states are already unconstrained
    transforms: dict[str, Any] = {}
    #: dims of the per-draw arrays of :meth:`record` (scalars need none), e.g.
    #: ``{"topic_mean": ["topic", "dim"], **TOPIC_SIZE_DIMS}``
    record_dims: dict[str, list[str]] = {}
    #: dims of the estimates :meth:`finalize` returns, e.g. ``{"theta": ["doc", "topic"]}``
    estimate_dims: dict[str, list[str]] = {}

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

    def finalize(self, acc: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One chain's estimates from its running sums.  Default: when :meth:`accumulate`
        keeps a draw counter ``acc["count"]`` (shape (1,)), every other sum divided by it
        (posterior means); otherwise nothing."""
        if "count" not in acc:
            return {}
        n = float(acc["count"][0])
        return {k: v / n for k, v in acc.items() if k != "count"}

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
