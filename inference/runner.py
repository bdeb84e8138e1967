"""Chains, warm-up, thinning, progress, callbacks and checkpoints for every kernel.

Each chain owns a ``numpy.random.Generator`` (PCG64) spawned from ``SeedSequence(seed)``, so
the same seed gives identical chains, whatever executes them.  A chain is an independent task
(:func:`run_chain`) handed to an *executor*: threads by default (the numba sweeps release the
GIL, so C chains use C cores), serial in-process, or anything with ``map(fn, tasks)`` such as a
``concurrent.futures`` or Dask client executor - no kernel assumes it runs in the caller's
process.

Checkpoints: every ``checkpoint_every`` sweeps (and when interrupted) a chain writes its whole
state, its generator state, the draws recorded so far and its running sums to
``checkpoint_dir/chain-<c>`` atomically, keeping the one before as ``chain-<c>.previous``.
Calling the same run again resumes each chain from its latest readable checkpoint and finishes
with exactly the draws an uninterrupted run gives.

Recording policy: per draw only scalars (``sample_stats``), small per-topic arrays and
per-document log-likelihoods are kept; K×V and D×K point estimates are running sums, so memory
does not grow with K×V×draws.  Two ``sample_stats`` measure time and are the only records
that differ between two runs with the same seed (:data:`TIMING_STATS`): ``tokens_per_s``
(tokens resampled per second since the previous draw) and ``wall_time`` (seconds since the
chain started, warm-up and resumed time included), which
:func:`ppltopics.diagnostics.compare` reads.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ppltopics.inference.base import GibbsKernel, State
from ppltopics.persistence import load_checkpoint, save_checkpoint

#: sample_stats that measure time (differ between runs with the same seed)
TIMING_STATS = ("tokens_per_s", "wall_time")

__all__ = ["RunSpec", "ChainResult", "run_chains", "run_chain", "corpus_fingerprint",
           "TIMING_STATS"]

Callback = Callable[[State, int], Any]


class Executor(Protocol):
    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterable[Any]: ...


@dataclass
class RunSpec:
    """How to run the chains (everything but the model)."""

    num_chains: int = 4
    num_samples: int = 200
    warmup: int = 200
    thin: int = 1
    seed: int = 0
    checkpoint_dir: str | None = None
    checkpoint_every: int = 50
    progress: bool = True
    callback: Callback | None = None
    executor: str | Executor = "thread"

    def validate(self) -> None:
        for name in ("num_chains", "num_samples", "thin"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int | np.integer) \
                or self.warmup < 0:
            raise ValueError(f"warmup must be an integer >= 0, got {self.warmup!r}")
        if self.checkpoint_every < 1:
            raise ValueError("checkpoint_every must be >= 1")

    @property
    def total_sweeps(self) -> int:
        return self.warmup + self.num_samples * self.thin

    def fingerprint(self) -> dict[str, Any]:
        """The settings that determine the draws (not the callback, executor or progress,
        which must not be copied: a callback may hold locks)."""
        return {k: int(getattr(self, k))
                for k in ("num_chains", "num_samples", "warmup", "thin", "seed")}


@dataclass
class ChainResult:
    """What one chain leaves: per-draw records, running sums and its final state."""

    chain: int
    stats: dict[str, np.ndarray]  # (draws,) scalars -> sample_stats
    draws: dict[str, np.ndarray]  # (draws, ...) arrays -> posterior
    pointwise: np.ndarray | None  # (draws, num_docs) -> log_likelihood
    acc: dict[str, np.ndarray]  # running sums (posterior means)
    state: State
    seconds: float
    resumed_from: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def corpus_fingerprint(word_ids: np.ndarray, doc_offsets: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(word_ids).tobytes())
    h.update(np.ascontiguousarray(doc_offsets).tobytes())
    return h.hexdigest()[:16]


class _Recorder:
    """Accumulates per-draw records of one chain.  A record's ``"later"`` may be a Future of
    more of its values (:meth:`GibbsKernel.record_later`): :meth:`submit` runs them on one
    background thread, one in flight at a time, and they are merged before rows are read."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[Any] | None = None

    def add(self, rec: dict[str, Any]) -> None:
        self.rows.append(rec)

    def submit(self, fn: Callable[[], dict[str, Any]]) -> Future[dict[str, Any]]:
        """``fn()`` on the background thread, once the previous one has finished (so copies of
        at most two states are alive, and every earlier row can be merged without waiting)."""
        if self._pending is not None:
            self._pending.result()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="ppltopics-record")
        self._pending = self._pool.submit(fn)
        return self._pending

    def merged(self, i: int) -> dict[str, Any]:
        """Row ``i`` with its ``"later"`` values merged in (waiting for them)."""
        row = self.rows[i]
        later = row.pop("later", None)
        if later is not None:
            row.update(later.result())
        return row

    def resolve(self) -> None:
        """Merge every row's later values (and close the background thread)."""
        for i in range(len(self.rows)):
            self.merged(i)
        if self._pool is not None:
            self._pool.shutdown()
            self._pool, self._pending = None, None

    def stacked(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray | None]:
        self.resolve()
        stats: dict[str, np.ndarray] = {}
        draws: dict[str, np.ndarray] = {}
        pointwise = None
        if not self.rows:
            return stats, draws, pointwise
        # a column missing from an older checkpoint's rows (e.g. wall_time) is NaN there
        for key in dict.fromkeys([*self.rows[0], *self.rows[-1]]):
            col = [r.get(key, np.nan) for r in self.rows]
            if key == "pointwise":
                pointwise = np.asarray(col, dtype=np.float64)
            elif np.ndim(col[0]) == 0:
                stats[key] = np.asarray(col)
            else:
                draws[key] = np.asarray(col)
        return stats, draws, pointwise

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> _Recorder:
        r = cls()
        keys = {k[4:]: v for k, v in arrays.items() if k.startswith("rec.")}
        n = len(next(iter(keys.values()))) if keys else 0
        for i in range(n):
            r.rows.append({k: (v[i].item() if v.ndim == 1 else v[i]) for k, v in keys.items()})
        return r

    def to_arrays(self) -> dict[str, np.ndarray]:
        self.resolve()
        if not self.rows:
            return {}
        return {f"rec.{k}": np.asarray([r.get(k, np.nan) for r in self.rows])
                for k in self.rows[-1]}


def _ckpt_path(spec: RunSpec, chain: int) -> Path | None:
    return None if spec.checkpoint_dir is None else Path(spec.checkpoint_dir) / f"chain-{chain}"


def _fingerprint(kernel: GibbsKernel, spec: RunSpec) -> dict[str, Any]:
    corpus = kernel.corpus
    data = corpus_fingerprint(corpus.word_ids, corpus.doc_offsets)
    return {"kernel": kernel.config(), "run": spec.fingerprint(), "data": data}


def _save_checkpoint(
    path: Path, fp: dict[str, Any], it: int, state: State, rng: np.random.Generator,
    rec: _Recorder, acc: dict[str, np.ndarray], seconds: float,
) -> None:
    arrays = {f"state.{k}": v for k, v in state.items()}
    arrays.update({f"acc.{k}": v for k, v in acc.items()})
    arrays.update(rec.to_arrays())
    meta = {
        "fingerprint": fp,
        "iteration": it,
        "rng": rng.bit_generator.state,
        "seconds": seconds,
    }
    save_checkpoint(path, "checkpoint", arrays, _json_safe(meta))


def _json_safe(x: Any) -> Any:
    return json.loads(json.dumps(x, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def run_chain(
    kernel: GibbsKernel, spec: RunSpec, chain: int, stop: threading.Event | None = None,
    bar: Any = None,
) -> ChainResult:
    """Run (or resume) one chain to the end; see the module docstring."""
    seeds = np.random.SeedSequence(spec.seed).spawn(spec.num_chains)
    rng = np.random.Generator(np.random.PCG64(seeds[chain]))
    total = spec.total_sweeps
    fp = _json_safe(_fingerprint(kernel, spec))
    path = _ckpt_path(spec, chain)
    rec = _Recorder()
    acc: dict[str, np.ndarray] = {}
    start_it = 0
    seconds = 0.0
    loaded = None if path is None else load_checkpoint(path, "checkpoint", fp)
    if loaded is not None:
        arrays, meta, _ = loaded
        state = {k[6:]: v.copy() for k, v in arrays.items() if k.startswith("state.")}
        acc = {k[4:]: v.copy() for k, v in arrays.items() if k.startswith("acc.")}
        rec = _Recorder.from_arrays(arrays)
        rng.bit_generator.state = meta["rng"]
        start_it = int(meta["iteration"])
        seconds = float(meta["seconds"])
    else:
        state = kernel.init_state(rng)
    if bar is not None:
        bar.update(start_it)
    last_ll = np.nan
    report_every = max(1, total // 50)
    t_draw = time.perf_counter()
    sweeps_since = 0
    t0 = time.perf_counter()
    done = start_it  # sweeps whose step and record are both finished
    stepped = -1  # index of the last sweep whose step returned
    draw = False
    rows_before = 0
    try:
        for it in range(start_it, total):
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt
            warm = it < spec.warmup
            draw = not warm and (it - spec.warmup + 1) % spec.thin == 0
            rows_before = len(rec.rows)
            kernel.step(state, rng, warm)
            stepped = it  # from here on sweep `it` happened: its record must follow
            sweeps_since += 1
            if draw:
                now = time.perf_counter()
                r = kernel.record_later(state, rec.submit)
                r["tokens_per_s"] = kernel.num_tokens * sweeps_since / max(now - t_draw, 1e-9)
                r["wall_time"] = seconds + now - t0  # since the chain started, warm-up included
                kernel.accumulate(state, acc)
                rec.add(r)
                if "later" not in r:
                    last_ll = r["log_likelihood"] / kernel.num_tokens
                elif len(rec.rows) > 1:  # the draw before, ready once this one was submitted
                    last_ll = rec.merged(-2)["log_likelihood"] / kernel.num_tokens
                t_draw = time.perf_counter()
                sweeps_since = 0
            done = it + 1
            if warm and bar is not None and (it + 1) % report_every == 0:
                last_ll = kernel.record(state)["log_likelihood"] / kernel.num_tokens
                t_draw = time.perf_counter()
                sweeps_since = 0
            if spec.callback is not None:
                spec.callback(state, it)
            if bar is not None:
                bar.set_postfix_str(f"{'warmup' if warm else 'sample'} ll/token={last_ll:.4f}",
                                    refresh=False)
                bar.update(1)
            if path is not None and done % spec.checkpoint_every == 0 and done < total:
                _save_checkpoint(path, fp, done, state, rng, rec, acc,
                                 seconds + time.perf_counter() - t0)
    except BaseException:
        if path is not None:
            if stepped == done:  # interrupted between a finished sweep and its record
                if draw and len(rec.rows) == rows_before:
                    kernel.accumulate(state, acc)
                    rec.add({**kernel.record(state), "tokens_per_s": np.nan,
                             "wall_time": seconds + time.perf_counter() - t0})
                done += 1
            _save_checkpoint(path, fp, done, state, rng, rec, acc,
                             seconds + time.perf_counter() - t0)
        raise
    seconds += time.perf_counter() - t0
    if path is not None:
        _save_checkpoint(path, fp, total, state, rng, rec, acc, seconds)
    stats, draws, pointwise = rec.stacked()
    return ChainResult(chain, stats, draws, pointwise, acc, state, seconds, resumed_from=start_it)


def run_chains(kernel: GibbsKernel, spec: RunSpec) -> list[ChainResult]:
    """Run ``spec.num_chains`` chains of ``kernel`` and return their results in chain order."""
    spec.validate()
    stop = threading.Event()
    bars = _progress_bars(spec) if spec.progress else [None] * spec.num_chains
    try:
        if spec.executor == "serial" or spec.num_chains == 1:
            return [run_chain(kernel, spec, c, stop, bars[c]) for c in range(spec.num_chains)]
        if spec.executor == "thread":
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=spec.num_chains) as pool:
                futures = [pool.submit(run_chain, kernel, spec, c, stop, bars[c])
                           for c in range(spec.num_chains)]
                try:
                    return [f.result() for f in futures]
                except BaseException:
                    stop.set()  # every chain checkpoints and stops after its current sweep
                    for f in futures:
                        f.exception()
                    raise
        if isinstance(spec.executor, str):
            raise ValueError(f"unknown executor {spec.executor!r}: 'thread', 'serial' or an "
                             "object with map()")
        if _is_dask_client(spec.executor):
            return _run_on_dask(kernel, spec)
        chains = range(spec.num_chains)
        return list(spec.executor.map(run_chain, [kernel] * len(chains), [spec] * len(chains),
                                      chains))
    finally:
        for b in bars:
            if b is not None:
                b.close()


def _is_dask_client(executor: Any) -> bool:
    return all(hasattr(executor, a) for a in ("submit", "gather", "scatter", "scheduler_info"))


def _run_on_dask(kernel: GibbsKernel, spec: RunSpec) -> list[ChainResult]:
    """Each chain as one task on a ``dask.distributed`` cluster (``executor=client``).

    The kernel (corpus included) is scattered once; every task runs :func:`run_chain`
    serially on its worker, so the draws are those of any other executor for the same seed.
    Checkpoints are written by the workers, so ``checkpoint_dir`` must be a path they share.
    A callback runs on the workers (it must pickle); progress bars are not shown.
    """
    import dataclasses

    client = spec.executor
    _check_client(client)
    remote = dataclasses.replace(spec, executor="serial", progress=False)
    shared = client.scatter(kernel, broadcast=False, hash=False)
    futures = [client.submit(run_chain, shared, remote, c, pure=False)
               for c in range(spec.num_chains)]
    try:
        return client.gather(futures)
    except BaseException:
        client.cancel(futures)
        raise


def _check_client(client: Any) -> None:
    """A Dask client that is not running raises ValueError naming its scheduler."""
    status = getattr(client, "status", "running")
    address = (getattr(getattr(client, "scheduler", None), "address", None)
               or getattr(getattr(client, "cluster", None), "scheduler_address", None)
               or getattr(client, "_start_arg", None))
    if status != "running":
        raise ValueError(f"the Dask client (scheduler {address or 'unknown'}) is {status!r}: "
                         "pass a running distributed.Client(address)")


def _progress_bars(spec: RunSpec) -> list[Any]:
    from tqdm.auto import tqdm

    return [
        tqdm(total=spec.total_sweeps, desc=f"chain {c}", position=c, leave=True,
             dynamic_ncols=True, mininterval=0.5)
        for c in range(spec.num_chains)
    ]
