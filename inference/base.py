"""The kernel contract shared by every Gibbs sampler, and its bridge to ``pyro.infer.MCMC``.

A kernel (:class:`GibbsKernel`) owns no chain: it draws an initial *state* (a dict of numpy
arrays), advances a state it is handed by one sweep with an explicit
``numpy.random.Generator``, and reads off what is recorded per draw.  Whoever holds the
state drives the chain:

- :func:`ppltopics.inference.runner.run_chains` - chains, seeds per chain, warm-up, thinning,
  progress, checkpoints; :meth:`ppltopics.posteriors.Posterior.from_kernel` turns the chains
  into a relabelled Posterior;
- :class:`PyroGibbs` - wraps any kernel as a ``pyro.infer.mcmc.mcmc_kernel.MCMCKernel`` so
  ``pyro.infer.MCMC(PyroGibbs(kernel, seed=s), ...)`` runs it (one chain per seed); a kernel
  is itself a virtual ``MCMCKernel`` that forwards Pyro's members to ``PyroGibbs(kernel)``,
  so ``pyro.infer.MCMC(kernel, ...)`` works too;
- the Geweke and enumeration tests of :mod:`ppltopics.testing`, which swap the data between
  sweeps (:meth:`GibbsKernel.set_data`, :meth:`GibbsKernel.resync`).

Writing a model variant (the repository's spherical-GLDA tutorial builds one this way), a new
model *reuses* the story conventions of :mod:`ppltopics.models`, :class:`GibbsKernel` with
:func:`topic_size_record` for the label-invariant topic sizes, the runner, the numba pieces of
:mod:`ppltopics.inference._sampling` (categorical draws, alias tables),
:mod:`ppltopics.inference._linalg` (normal-inverse-Wishart predictive) and
:mod:`ppltopics.inference._tree` (nCRP tree), and the checks of :mod:`ppltopics.testing` and
:mod:`ppltopics.diagnostics`.  It must *provide* the kernel (the abstract methods below), its
label-invariant records (``lp``, ``log_likelihood``, topic sizes) with ``record_dims``, its
point estimates (``accumulate``, ``estimate_dims``), a :class:`ppltopics.posteriors.Posterior`
subclass, the exact data conditional of its story and a collapsed log joint for Geweke's
test (Geweke, JASA 2004).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from pyro.infer.mcmc.mcmc_kernel import MCMCKernel

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Future

    from ppltopics.corpus import Corpus

__all__ = ["GibbsKernel", "PyroGibbs", "State", "topic_size_record", "TOPIC_SIZE_DIMS"]

#: A chain's state: named numpy arrays (primary ones such as ``z`` and derived counts).
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


class GibbsKernel(ABC):
    r"""The contract of a ppltopics sampler: state in, state out.

    The kernel holds the model (data, hyperparameters), never a chain: every call is handed
    the state and, where it draws, the generator.  Implement

    - :meth:`init_state` - a fresh state drawn with ``rng`` (e.g. random topic assignments);
    - :meth:`step` - one sweep of the Markov chain, changing the state in place;
    - :meth:`record` - per-draw quantities: scalars for ``sample_stats`` (``lp`` the log joint
      and ``log_likelihood`` are required by the runner), small arrays for ``posterior``, and
      optionally ``"pointwise"`` per-document log-likelihoods;
    - :attr:`num_tokens` - the tokens one sweep resamples (for tokens/s);
    - the attribute :attr:`corpus`, set in ``__init__``.

    Override when needed: :meth:`accumulate` / :meth:`finalize` (running sums of point
    estimates, so K x V means need no per-draw storage), :meth:`resync` (rebuild derived
    arrays from the primary ones), :meth:`set_data` (swap the data, Geweke's test),
    :meth:`config`, and the class attributes :attr:`model_name`, :attr:`record_dims`,
    :attr:`estimate_dims` (``"topic"`` marks the axes chains are relabelled along) and
    :attr:`pyro_params`.

    Example: a coin.  θ ~ Beta(a, b) is the chance of ``"heads"`` and every token is a flip;
    the one Gibbs block is exact, θ | w ~ Beta(a + h, b + t) for h heads and t tails, and
    the log joint is log Beta(θ; a, b) + h log θ + t log(1 - θ).

    >>> import numpy as np
    >>> from scipy import stats
    >>> from ppltopics.corpus import Corpus
    >>> from ppltopics.inference.base import GibbsKernel, PyroGibbs
    >>> class CoinKernel(GibbsKernel):
    ...     model_name = "coin"
    ...     pyro_params = ("theta",)
    ...
    ...     def __init__(self, corpus, a=1.0, b=1.0):
    ...         self.corpus, self.a, self.b = corpus, a, b
    ...
    ...     @property
    ...     def num_tokens(self):
    ...         return self.corpus.num_tokens
    ...
    ...     def _heads_tails(self):
    ...         heads = int(np.sum(self.corpus.word_ids == 0))
    ...         return heads, self.num_tokens - heads
    ...
    ...     def init_state(self, rng):
    ...         return {"theta": rng.uniform(size=1)}
    ...
    ...     def step(self, state, rng, warmup):
    ...         h, t = self._heads_tails()
    ...         state["theta"][0] = rng.beta(self.a + h, self.b + t)
    ...
    ...     def record(self, state):
    ...         (theta,), (h, t) = state["theta"], self._heads_tails()
    ...         ll = h * np.log(theta) + t * np.log1p(-theta)
    ...         return {"lp": ll + stats.beta.logpdf(theta, self.a, self.b),
    ...                 "log_likelihood": ll}
    ...
    ...     def accumulate(self, state, acc):
    ...         acc["count"] = acc.get("count", np.zeros(1)) + 1
    ...         acc["theta"] = acc.get("theta", np.zeros(1)) + state["theta"]

    Eight flips, six heads: the posterior mean of θ is (1 + 6) / (2 + 8) = 0.7.  A chain
    driven by hand (the default :meth:`finalize` divides the sums by ``acc["count"]``):

    >>> coin = CoinKernel(Corpus([0, 0, 1, 0, 1, 0, 0, 0], [0, 4, 8], ["heads", "tails"]))
    >>> rng = np.random.default_rng(0)
    >>> state, acc = coin.init_state(rng), {}
    >>> for it in range(4000):
    ...     coin.step(state, rng, warmup=it < 100)
    ...     if it >= 100:
    ...         coin.accumulate(state, acc)
    >>> print(f"{coin.finalize(acc)['theta'][0]:.2f}")
    0.70

    The same kernel under the runner (two chains, their own seeds) and under Pyro:

    >>> from ppltopics.inference.runner import RunSpec, run_chains
    >>> chains = run_chains(coin, RunSpec(num_chains=2, num_samples=500, warmup=10,
    ...                                   progress=False))
    >>> [c.stats["lp"].shape for c in chains]
    [(500,), (500,)]
    >>> import pyro
    >>> mcmc = pyro.infer.MCMC(PyroGibbs(coin, seed=0), num_samples=500, warmup_steps=10,
    ...                        disable_progbar=True)
    >>> mcmc.run()
    >>> mcmc.get_samples()["theta"].shape
    torch.Size([500, 1])
    """

    #: the observed corpus (documents, vocabulary, word ids); set by every ``__init__``
    corpus: Corpus
    #: name of the model in the registry ("lda", "glda", ...)
    model_name: str = ""
    #: the primary state arrays :class:`PyroGibbs` reports as samples to ``pyro.infer.MCMC``
    pyro_params: tuple[str, ...] = ("z",)
    #: dims of the per-draw arrays of :meth:`record` (scalars need none), e.g.
    #: ``{"topic_mean": ["topic", "dim"], **TOPIC_SIZE_DIMS}``
    record_dims: dict[str, list[str]] = {}
    #: dims of the estimates :meth:`finalize` returns, e.g. ``{"theta": ["doc", "topic"]}``
    estimate_dims: dict[str, list[str]] = {}

    @property
    @abstractmethod
    def num_tokens(self) -> int:
        """Tokens resampled by one sweep (for tokens/s)."""

    @abstractmethod
    def init_state(self, rng: np.random.Generator) -> State:
        """A fresh state, drawn with ``rng``, with its derived arrays consistent."""

    @abstractmethod
    def step(self, state: State, rng: np.random.Generator, warmup: bool) -> None:
        """One sweep: draw ``state`` from the kernel's transition, in place.  ``warmup`` is
        true during warm-up (when a kernel may adapt, e.g. optimise hyperparameters)."""

    @abstractmethod
    def record(self, state: State) -> dict[str, Any]:
        """What one draw reports: at least ``lp`` (the log joint of the collapsed state) and
        ``log_likelihood`` (its data part)."""

    def record_later(self, state: State, submit: Callable[..., Future[Any]]) -> dict[str, Any]:
        """:meth:`record`, where the costly parts may run while the next sweep does: the key
        ``"later"`` may hold the Future that ``submit(fn)`` returns for a dict ``fn()`` of
        more values computed on copies of ``state`` (the runner keeps at most one in flight
        and merges them in draw order; together the values are those of :meth:`record`).
        Default: :meth:`record`."""
        return self.record(state)

    def config(self) -> dict[str, Any]:
        """JSON-able description of the kernel (hyperparameters, options); with the corpus
        it identifies a run (checkpoints, saved posteriors)."""
        return {"model": self.model_name}

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

    def resync(self, state: State) -> None:  # noqa: B027
        """Rebuild every derived array (counts, statistics) from the primary ones (``z``) and
        the kernel's current data; also used after :meth:`set_data` (default: nothing)."""

    def set_data(self, data: np.ndarray) -> None:
        """Replace the observed data, keeping its shape (Geweke's successive-conditional
        chain redraws the data between sweeps); call :meth:`resync` afterwards.

        Default: ``data`` are new word ids for :attr:`corpus` (same documents, same
        vocabulary).  Models observing vectors override it.
        """
        from ppltopics.corpus import Corpus

        c = self.corpus
        self.corpus = Corpus(data, c.doc_offsets, c.vocab)

    # ------------------------------------------------ Pyro-native use, by forwarding
    @property
    def pyro(self) -> PyroGibbs:
        """The default bridge ``PyroGibbs(self, seed=0)``, made on first use: the Pyro
        names ``pyro.infer.MCMC`` reaches for on a kernel (``setup``, ``sample``,
        ``initial_params``, ``transforms``, ...) are forwarded to it, so
        ``pyro.infer.MCMC(kernel, ...)`` runs the kernel.  Wrap it yourself,
        ``PyroGibbs(kernel, seed=s)``, for another seed."""
        bridge = self.__dict__.get("_pyro")
        if bridge is None:
            bridge = self.__dict__["_pyro"] = PyroGibbs(self)
        return bridge

    def __getattr__(self, name: str) -> Any:
        if name in _PYRO_NAMES:
            return getattr(self.pyro, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def initial_params(self) -> dict[str, torch.Tensor]:
        """Forwarded to :attr:`pyro` (``pyro.infer.MCMC`` reads and sets it)."""
        return self.pyro.initial_params

    @initial_params.setter
    def initial_params(self, params: dict[str, torch.Tensor]) -> None:
        self.pyro.initial_params = params


#: the ``MCMCKernel`` members a kernel forwards to its default :class:`PyroGibbs`
_PYRO_NAMES = frozenset({"setup", "sample", "transforms", "logging", "diagnostics", "cleanup",
                         "end_warmup"})


class PyroGibbs(MCMCKernel):
    """Runs any :class:`GibbsKernel` under ``pyro.infer.MCMC`` (Bingham et al., JMLR 2019).

    ``setup`` draws the initial state with ``numpy.random.default_rng(seed)``; every
    ``sample`` is one :meth:`GibbsKernel.step` (``warmup`` during the first ``warmup_steps``)
    and returns the state arrays named by ``kernel.pyro_params`` as tensors.  The draws are
    those of the hand-driven chain ``rng = default_rng(seed); state = kernel.init_state(rng);
    kernel.step(state, rng, ...)``, so ``seed=SeedSequence(s).spawn(C)[c]`` reproduces chain
    ``c`` of :func:`ppltopics.inference.runner.run_chains` with ``RunSpec(seed=s,
    num_chains=C)``.

    One chain per seed: ``pyro.infer.MCMC(..., num_chains=C)`` would start every chain from
    the same seed; run several seeds, or the runner, for several chains.  Pyro concatenates
    the sample sites of a draw into one tensor, so with sites of different dtypes (CGTM's
    integer ``z`` and real ``eta``) every site comes back in the promoted dtype.

    Parameters
    ----------
    kernel
        The Gibbs kernel to run.
    seed
        Seed of the chain's generator (an int or a ``numpy.random.SeedSequence``).
    """

    #: the states are already unconstrained: ``pyro.infer.MCMC`` applies no transform
    transforms: dict[str, Any] = {}

    def __init__(self, kernel: GibbsKernel, seed: int | np.random.SeedSequence = 0) -> None:
        if not isinstance(kernel, GibbsKernel):
            raise TypeError(f"PyroGibbs wraps a ppltopics GibbsKernel, got "
                            f"{type(kernel).__name__}")
        self.kernel = kernel
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._state: State | None = None
        self._start: dict[str, torch.Tensor] | None = None
        self._warmup_steps = 0
        self._iteration = 0

    @property
    def state(self) -> State:
        """The chain's current state (after :meth:`setup`)."""
        if self._state is None:
            raise RuntimeError("no chain yet: pyro.infer.MCMC calls setup() first")
        return self._state

    def setup(self, warmup_steps: int, *args: Any, **kwargs: Any) -> None:
        """Start the chain: a fresh generator from ``seed`` and ``kernel.init_state``, then
        the ``initial_params`` given to ``pyro.infer.MCMC`` (if any) with a resync."""
        self._warmup_steps = int(warmup_steps)
        self._iteration = 0
        self._rng = np.random.default_rng(self.seed)
        self._state = self.kernel.init_state(self._rng)
        if self._start is not None:
            self._write(self._start)

    def _write(self, params: dict[str, torch.Tensor]) -> None:
        state = self.state
        for k, v in params.items():
            state[k][...] = v.detach().cpu().numpy()
        self.kernel.resync(state)

    def _params(self) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(np.array(self.state[k])) for k in self.kernel.pyro_params}

    @property
    def initial_params(self) -> dict[str, torch.Tensor]:
        """The state's ``pyro_params`` at the start of the chain."""
        if self._state is None:
            self.setup(0)
        return self._params()

    @initial_params.setter
    def initial_params(self, params: dict[str, torch.Tensor]) -> None:
        unknown = sorted(set(params) - set(self.kernel.pyro_params))
        if unknown:
            raise KeyError(f"{unknown} are not among the kernel's pyro_params "
                           f"{self.kernel.pyro_params}")
        self._start = dict(params)
        if self._state is not None:
            self._write(self._start)

    def sample(self, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One sweep of the wrapped kernel (the chain lives in the state, not in ``params``)."""
        if self._rng is None:
            raise RuntimeError("no chain yet: pyro.infer.MCMC calls setup() first")
        self.kernel.step(self.state, self._rng, warmup=self._iteration < self._warmup_steps)
        self._iteration += 1
        return self._params()

    def logging(self) -> dict[str, str]:
        """What the progress bar shows: the log joint ``lp`` of the current state."""
        if self._state is None:
            return {}
        return {"lp": f"{self.kernel.record(self._state)['lp']:.1f}"}

    def diagnostics(self) -> dict[str, Any]:
        """Gibbs sweeps accept every move: nothing to report."""
        return {}


# Pyro-native use: every kernel is a (virtual) ``MCMCKernel``; its Pyro members are forwarded
MCMCKernel.register(GibbsKernel)
