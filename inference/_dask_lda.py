"""One LDA chain across the machines of a Dask cluster: the partitioned sweep of
:mod:`ppltopics.inference._partition` with documents pinned to workers and word chunks
travelling between them.

``pt.fit("lda", corpus, workers=W, executor=client)`` with a ``distributed.Client`` and
W > 1 runs each chain (chains one after another, each over the whole cluster) as

- W *shards*: document group g (contiguous, about 1/W of the tokens), its ``z`` and its
  running sum of θ̂ live on one worker and never leave it except in checkpoints;
- W *word chunks*: the word–topic counts n_wk of the words in chunk p (dealt by frequency,
  equal token mass), as compact count-sorted cells (O(nonzeros), never V×K).

A sweep is W rounds.  In round r shard g = (r + p) mod W samples, for every chunk p at once,
the tokens of its documents whose word lies in chunk p (:func:`ppltopics.inference._lda_sweep.
_sweep`), then hands chunk p on to the next shard.  No two shards of a round touch the same
document or the same word, so n_wk and n_dk are exact; only the topic totals n_k are a
per-shard copy taken at the start of the round and merged after it (Yan, Xu & Qi 2009;
tomotopy's ``PARTITION``).  The blocks, their order and their random streams (W² seeds drawn
from the chain's generator each sweep) are those of the threaded ``workers=W`` sweep, so a
Dask chain *is* the threaded chain for the same seed and W — same ``z``, counts and
estimates, tested — only placed on other machines.

Why not AD-LDA (Newman et al. 2009), where every shard samples all its tokens against a
stale copy of all of n_wk and the changes are summed after the sweep?  It moves the same
bytes per sweep (each shard receives every chunk once) but its approximation shows: on 6,000
20 Newsgroups documents, K = 50, log p(w | z) per token after 300 sweeps was −6.535 serial
and −6.647 with 2 AD-LDA shards (0.11 nats worse, ~10 serial seed-sds; already −0.16 at 40
sweeps, −0.21 with 4 shards), while this scheme tracks the serial chain
(``benchmarks/bench_dask_lda.py`` reproduces both).

Records and running sums are the threaded kernel's: after a draw's sweep every shard
assembles all chunks (one more pass of the chunks over the cluster) and computes the
log-likelihood terms, per-document log-likelihoods and θ̂ of its documents; φ̂ is summed
where each chunk's home shard is.

Checkpoints are the threaded runner's (:func:`ppltopics.inference.runner.run_chain`): the
whole kernel state, the chain's generator, the draws and running sums, every
``checkpoint_every`` sweeps (in memory, and in ``checkpoint_dir`` when given), so a Dask run
can be resumed by a threaded one and the other way round.  When a worker is lost the sweep's
futures fail; the chain is rebuilt from the last checkpoint on the workers alive and goes on:
a lost worker costs at most ``checkpoint_every`` sweeps, and the draws are those of an
uninterrupted run.  A callback runs on the driver after every sweep and is handed
``{"sweeps": array([done])}`` only (the state is on the workers).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from ppltopics.inference._lda_stats import POINTWISE_PACKED, _accumulate_theta, _lda_stats
from ppltopics.inference._lda_sweep import (
    _MASK,
    TOPIC_BITS,
    _blocks_to_dense,
    _dense_to_blocks,
    _sweep,
    _sweep_dense,
)
from ppltopics.inference._partition import chunk_tokens
from ppltopics.inference.base import topic_size_record

__all__ = ["run_dask_lda", "RETRIES"]

#: a chain gives up after this many worker losses without reaching a new checkpoint
RETRIES = 3
#: seconds to wait for a worker when the cluster has none (a restart after a lost worker)
WAIT_FOR_WORKERS_S = 60


# ----------------------------------------------------------------------------- chunks
@numba.njit(cache=True, nogil=True)
def _pack(words: np.ndarray, offsets: np.ndarray, packed: np.ndarray,
          nnz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A chunk's compact form: per word of ``words`` its cell count and its cells, in the
    order of the word-topic blocks (count-sorted, as the sweep keeps them)."""
    chunk_nnz = np.empty(words.shape[0], dtype=np.int64)
    total = 0
    for i in range(words.shape[0]):
        chunk_nnz[i] = nnz[words[i]]
        total += chunk_nnz[i]
    cells = np.empty(total, dtype=np.int64)
    j = 0
    for i in range(words.shape[0]):
        off = offsets[words[i]]
        for t in range(chunk_nnz[i]):
            cells[j] = packed[off + t]
            j += 1
    return chunk_nnz, cells


@numba.njit(cache=True, nogil=True)
def _unpack(words: np.ndarray, chunk_nnz: np.ndarray, cells: np.ndarray, offsets: np.ndarray,
            packed: np.ndarray, nnz: np.ndarray) -> None:
    """Inverse of :func:`_pack`: write the chunk's cells into the word-topic blocks."""
    j = 0
    for i in range(words.shape[0]):
        off = offsets[words[i]]
        for t in range(chunk_nnz[i]):
            packed[off + t] = cells[j]
            j += 1
        nnz[words[i]] = chunk_nnz[i]


@numba.njit(cache=True, nogil=True)
def _accumulate_chunk_phi(chunk_nnz: np.ndarray, cells: np.ndarray, inv: np.ndarray,
                          beta: float, phi: np.ndarray) -> None:
    """phi[:, i] += (n_{w_i k} + β)/(n_k + Vβ) for the chunk's words (``phi`` is K × words),
    cell by cell in the order of :func:`ppltopics.inference._lda_stats._accumulate_phi`."""
    j = 0
    for i in range(chunk_nnz.shape[0]):
        for _ in range(chunk_nnz[i]):
            p = cells[j]
            phi[p & _MASK, i] += (p >> TOPIC_BITS) * inv[p & _MASK]
            j += 1
    for k in range(phi.shape[0]):
        for i in range(phi.shape[1]):
            phi[k, i] += beta * inv[k]


# ----------------------------------------------------------------------------- tasks
@dataclass
class _Shared:
    """What every task of a chain reads, scattered once to every worker."""
    alpha: np.ndarray
    beta: float
    num_topics: int
    word_chunk: np.ndarray  # (V,) the chunk of every word
    chunk_words: list[np.ndarray]  # words of each chunk, ascending
    offsets: np.ndarray  # (V + 1,) each word's block start (the kernel's wt_offsets)
    dense: Any  # the dense sweep's table type (LDAKernel.dense_dtype), or None: the buckets
    pointwise_how: int  # LDAKernel.pointwise_how


def _blocks(sh: _Shared) -> tuple[np.ndarray, np.ndarray]:
    """Empty word-topic blocks in the kernel's layout (cells are written before read)."""
    return np.empty(int(sh.offsets[-1]) + 1, dtype=np.int64), np.zeros(
        sh.word_chunk.shape[0], dtype=np.int64)


def _block(shard: dict[str, Any], sh: _Shared, p: int, chunk: tuple[np.ndarray, np.ndarray],
           n_k: Any, seed: int) -> tuple[dict[str, Any], Any, tuple[np.ndarray, np.ndarray]]:
    """Round task: shard samples its tokens of chunk ``p`` against the chunk's counts and its
    own copy of the topic totals: ``n_k``, or the previous round's (start, copy) pairs
    merged (:func:`_merge_n_k`; no merge task between rounds).  Returns (new shard, new
    chunk, (its start n_k, its n_k copy after)); inputs unchanged."""
    start = n_k if isinstance(n_k, np.ndarray) else _merge_n_k(n_k)
    packed, nnz = _blocks(sh)
    _unpack(sh.chunk_words[p], chunk[0], chunk[1], sh.offsets, packed, nnz)
    z, n_k = shard["z"].copy(), start.copy()
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    docs = (shard["word_ids"], shard["doc_offsets"], z)
    last = shard["doc_offsets"].size - 1
    mine = chunk_tokens(shard["word_ids"], shard["doc_offsets"], sh.word_chunk, p)
    if sh.dense is None:
        _sweep(*docs, sh.offsets, packed, nnz, n_k, sh.alpha, sh.beta, rng, 0, last, *mine)
        return ({**shard, "z": z}, _pack(sh.chunk_words[p], sh.offsets, packed, nnz),
                (start, n_k))
    # the dense sweep on the chunk's rows (np.zeros: untouched rows cost no memory)
    words = sh.chunk_words[p]
    nwk = np.zeros((nnz.shape[0], sh.num_topics), dtype=sh.dense)
    _blocks_to_dense(sh.offsets, packed, nnz, nwk, words)
    _sweep_dense(*docs, nwk, n_k, sh.alpha, sh.beta, rng, 0, last, *mine)
    _dense_to_blocks(nwk, sh.offsets, packed, nnz, words)
    return {**shard, "z": z}, _pack(words, sh.offsets, packed, nnz), (start, n_k)


def _merge_n_k(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """n_k + Σ_p (copy_p − n_k) over a round's (start n_k, copy after) pairs: every shard's
    changes of the round (as :meth:`Partition.sweep` merges them)."""
    start = pairs[0][0]
    out = start.copy()
    for _, c in pairs:
        out += c - start
    return out


def _record(shard: dict[str, Any], sh: _Shared, n_k: np.ndarray,
            *chunks: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Draw task: the shard's terms of :meth:`LDAKernel.record` from all chunks, θ̂ added to
    its running sum, φ̂ of its home chunk added to that running sum."""
    packed, nnz = _blocks(sh)
    for p, chunk in enumerate(chunks):
        _unpack(sh.chunk_words[p], chunk[0], chunk[1], sh.offsets, packed, nnz)
    vocab_size = nnz.shape[0]
    pointwise = np.empty(shard["doc_offsets"].size - 1)
    how = sh.pointwise_how
    nwk = np.empty((0 if how == POINTWISE_PACKED else vocab_size, sh.num_topics),
                   dtype=np.int32)
    lp, loglik = _lda_stats(shard["word_ids"], shard["doc_offsets"], shard["z"], sh.offsets,
                            packed, nnz, n_k, sh.alpha, sh.beta, pointwise, nwk, how)
    theta, phi = shard["theta"].copy(), shard["phi"].copy()
    _accumulate_theta(shard["doc_offsets"], shard["z"], sh.alpha, theta)
    home = chunks[shard["home"]]
    _accumulate_chunk_phi(home[0], home[1], 1.0 / (n_k + vocab_size * sh.beta), sh.beta, phi)
    return ({**shard, "theta": theta, "phi": phi},
            {"logprior": lp - loglik, "log_likelihood": loglik, "pointwise": pointwise})


def _take(res: tuple[Any, ...], i: int) -> Any:
    return res[i]


def _shard_parts(shard: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return shard["z"], shard["theta"], shard["phi"]


def _nbytes(x: Any) -> int:
    return sum(a.nbytes for a in x)


def _lost_worker_errors() -> tuple[type[BaseException], ...]:
    """What a future raises when a worker holding its data or task dies."""
    import asyncio

    from distributed import KilledWorker
    from distributed.client import FutureCancelledError, FuturesCancelledError
    from distributed.comm.core import CommClosedError

    return (KilledWorker, FutureCancelledError, FuturesCancelledError, CommClosedError,
            asyncio.CancelledError, OSError)


# ----------------------------------------------------------------------------- the driver
@dataclass
class _Checkpoint:
    """A complete chain on the driver after ``done`` sweeps: the kernel state, the chain's
    generator state, the draws and the running sums (the threaded runner's checkpoint)."""
    done: int
    state: dict[str, np.ndarray]
    rng: dict[str, Any]
    rows: list[dict[str, Any]]
    acc: dict[str, np.ndarray]
    seconds: float


class _Chain:
    """One chain of :class:`LDAKernel` with ``workers`` = W on a Dask client."""

    def __init__(self, kernel: Any, spec: Any, chain: int, client: Any) -> None:
        from ppltopics.inference.runner import _ckpt_path, _fingerprint, _json_safe

        self.kernel, self.spec, self.chain, self.client = kernel, spec, chain, client
        part = kernel._partition
        self.W = part.workers
        self.doc_bounds = part.doc_bounds
        self.chunk_words = [np.flatnonzero(part.word_chunk == p) for p in range(self.W)]
        self.path = _ckpt_path(spec, chain)
        self.fp = _json_safe(_fingerprint(kernel, spec))
        self.recoveries = 0
        self.bytes_per_sweep: list[int] = []  # measured at every draw

    # ------------------------------------------------------------ checkpoints
    def start(self) -> _Checkpoint:
        """The chain's first state (as :func:`run_chain` draws it) or its latest checkpoint."""
        from ppltopics.inference.runner import _Recorder
        from ppltopics.persistence import load_checkpoint

        seeds = np.random.SeedSequence(self.spec.seed).spawn(self.spec.num_chains)
        rng = np.random.Generator(np.random.PCG64(seeds[self.chain]))
        loaded = None if self.path is None else load_checkpoint(self.path, "checkpoint",
                                                                self.fp)
        if loaded is not None:
            arrays, meta, _ = loaded
            return _Checkpoint(
                int(meta["iteration"]),
                {k[6:]: v for k, v in arrays.items() if k.startswith("state.")}, meta["rng"],
                _Recorder.from_arrays(arrays).rows,
                {k[4:]: v for k, v in arrays.items() if k.startswith("acc.")},
                float(meta["seconds"]))
        state = self.kernel.init_state(rng)
        return _Checkpoint(0, state, rng.bit_generator.state, [], {}, 0.0)

    def save(self, ck: _Checkpoint) -> None:
        from ppltopics.inference.runner import _Recorder, _save_checkpoint

        if self.path is None:
            return
        rec = _Recorder()
        rec.rows = ck.rows
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = ck.rng
        _save_checkpoint(self.path, self.fp, ck.done, ck.state, rng, rec, ck.acc, ck.seconds)

    def scatter(self, ck: _Checkpoint) -> None:
        """Shards and chunks of ``ck`` placed round-robin on the workers alive."""
        c, kernel, client, W = self.kernel.corpus, self.kernel, self.client, self.W
        workers = sorted(client.scheduler_info()["workers"])
        if not workers:  # one lost a moment ago may be coming back (restarted by its nanny)
            try:
                client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
            except TimeoutError:
                raise RuntimeError(f"the Dask cluster has no workers (waited "
                                   f"{WAIT_FOR_WORKERS_S} s for one)") from None
            workers = sorted(client.scheduler_info()["workers"])
        st = ck.state
        self.sh = client.scatter(_Shared(
            alpha=st["alpha"].copy(), beta=float(kernel.hyper.beta),
            num_topics=kernel.num_topics, word_chunk=kernel._partition.word_chunk,
            chunk_words=self.chunk_words, offsets=st["wt_offsets"],
            dense=kernel.dense_dtype if kernel.dense_sweep else None,
            pointwise_how=kernel.pointwise_how), broadcast=True, hash=False)
        self.n_k, self.offsets = st["n_k"].copy(), st["wt_offsets"]
        K, acc = kernel.num_topics, ck.acc
        self.count = float(acc["count"][0]) if acc else 0.0
        self.alpha_sum = acc["alpha"].copy() if acc else np.zeros(K)
        self.places, self.shards, self.chunks = [], [], []
        for g in range(W):
            lo, hi = int(self.doc_bounds[g]), int(self.doc_bounds[g + 1])
            a, b = int(c.doc_offsets[lo]), int(c.doc_offsets[hi])
            words = self.chunk_words[g]
            shard = {"word_ids": c.word_ids[a:b], "doc_offsets": c.doc_offsets[lo:hi + 1] - a,
                     "z": st["z"][a:b].copy(), "home": g,
                     "theta": acc["theta"][lo:hi].copy() if acc else np.zeros((hi - lo, K)),
                     "phi": acc["phi"][:, words].copy() if acc else np.zeros((K, words.size))}
            place = workers[g % len(workers)]
            self.places.append(place)
            self.shards.append(client.scatter([shard], workers=[place], hash=False)[0])
            chunk = _pack(words, st["wt_offsets"], st["wt_packed"], st["wt_nnz"])
            self.chunks.append(client.scatter([chunk], workers=[place], hash=False)[0])

    def gather(self, done: int, rng: np.random.Generator, rows: list[dict[str, Any]],
               seconds: float) -> _Checkpoint:
        """The chain as it stands after ``done`` sweeps, on the driver."""
        client, c, K = self.client, self.kernel.corpus, self.kernel.num_topics
        parts = client.gather([client.submit(_shard_parts, s, pure=False)
                               for s in self.shards])
        chunks = client.gather(self.chunks)
        z = np.concatenate([p[0] for p in parts])
        offsets = self.offsets
        packed = np.zeros(int(offsets[-1]) + 1, dtype=np.int64)
        nnz = np.zeros(c.vocab_size, dtype=np.int64)
        phi = np.zeros((K, c.vocab_size))
        for p, (chunk_nnz, cells) in enumerate(chunks):
            _unpack(self.chunk_words[p], chunk_nnz, cells, offsets, packed, nnz)
            phi[:, self.chunk_words[p]] = parts[p][2]
        state = {"z": z, "alpha": self.kernel_alpha(), "sweeps": np.array([done], np.int64),
                 "wt_offsets": offsets, "wt_packed": packed, "wt_nnz": nnz,
                 "n_k": self.n_k.copy()}
        acc = {} if not self.count else {
            "phi": phi, "theta": np.concatenate([p[1] for p in parts]),
            "alpha": self.alpha_sum.copy(), "count": np.array([self.count])}
        return _Checkpoint(done, state, rng.bit_generator.state, list(rows), acc, seconds)

    def kernel_alpha(self) -> np.ndarray:
        return np.asarray(self.kernel.hyper.alpha_vector, dtype=np.float64).copy()

    # ------------------------------------------------------------ sweeps and draws
    def sweep(self, rng: np.random.Generator) -> None:
        """The W rounds of one sweep, submitted at once, waited for at the end."""
        client, W = self.client, self.W
        seeds = rng.integers(0, 2**63, size=(W, W))
        shards, chunks, n_k = list(self.shards), list(self.chunks), self.n_k
        for r in range(W):
            pairs = []
            for p in range(W):
                g = (r + p) % W
                here = {"workers": [self.places[g]], "allow_other_workers": True,
                        "pure": False}  # where the shard is (a preference, not a must)
                res = client.submit(_block, shards[g], self.sh, p, chunks[p], n_k,
                                    int(seeds[r, p]), **here)
                shards[g], chunks[p], pair = (client.submit(_take, res, i, **here)
                                              for i in range(3))
                pairs.append(pair)
            n_k = pairs  # the next round's blocks merge them
        self._wait([*shards, *chunks, *pairs])
        self.shards, self.chunks = shards, chunks
        self.n_k = _merge_n_k(client.gather(pairs))

    def record(self) -> dict[str, Any]:
        """Draw: every shard's record terms and running sums, merged like
        :meth:`LDAKernel.record`."""
        client = self.client
        here = [{"workers": [w], "allow_other_workers": True, "pure": False}
                for w in self.places]
        results = [client.submit(_record, s, self.sh, self.n_k, *self.chunks, **here[g])
                   for g, s in enumerate(self.shards)]
        shards = [client.submit(_take, r, 0, **here[g]) for g, r in enumerate(results)]
        recs = [client.submit(_take, r, 1, **here[g]) for g, r in enumerate(results)]
        sizes = [client.submit(_nbytes, f, pure=False) for f in self.chunks]
        self._wait([*shards, *recs, *sizes])
        parts = client.gather(recs)
        # what a sweep moves now: each chunk visits every shard once, W² copies of n_k
        self.bytes_per_sweep.append(self.W * sum(client.gather(sizes))
                                    + self.W**2 * self.n_k.nbytes)
        self.shards = shards
        self.count += 1
        self.alpha_sum += self.kernel_alpha()  # summed draw by draw, as LDAKernel.accumulate
        loglik = parts[0]["log_likelihood"]
        return {"lp": loglik + sum(p["logprior"] for p in parts), "log_likelihood": loglik,
                **topic_size_record(self.n_k, self.kernel.num_tokens),
                "pointwise": np.concatenate([p["pointwise"] for p in parts])}

    def _wait(self, futures: list[Any]) -> None:
        from distributed import wait

        try:
            wait(futures)
        except BaseException:
            self.client.cancel(futures)
            raise
        for f in futures:
            if f.status == "error":
                f.result()  # the task's own error

    # ------------------------------------------------------------ the chain
    def run(self, bar: Any = None) -> Any:
        """The whole chain, restarted from the last checkpoint after a lost worker (at most
        :data:`RETRIES` times without reaching a new one)."""
        from ppltopics.inference.runner import ChainResult, _Recorder

        self.last = self.start()
        start_it, failures, failed_at = self.last.done, 0, -1
        while True:
            try:
                final = self.run_from(self.last, bar)
                break
            except _lost_worker_errors() as err:
                failures = 1 if self.last.done > failed_at else failures + 1
                failed_at = self.last.done
                if failures > RETRIES:
                    raise RuntimeError(f"chain {self.chain} on Dask: {failures} worker losses "
                                       f"since the checkpoint at sweep {failed_at}") from err
                self.recoveries += 1
        rec = _Recorder()
        rec.rows = final.rows
        stats, draws, pointwise = rec.stacked()
        return ChainResult(self.chain, stats, draws, pointwise, final.acc, final.state,
                           final.seconds, resumed_from=start_it,
                           extra={"recoveries": self.recoveries,
                                  "bytes_per_sweep": float(np.mean(self.bytes_per_sweep or [0]))})

    def run_from(self, ck: _Checkpoint, bar: Any) -> _Checkpoint:
        """Scatter ``ck`` and run to the end, keeping ``self.last`` (and the checkpoint file)
        up to date; an interrupt writes a checkpoint of the last finished sweep."""
        spec, total = self.spec, self.spec.total_sweeps
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = ck.rng
        self.scatter(ck)
        it, rows = ck.done, list(ck.rows)
        t0 = time.perf_counter() - ck.seconds
        t_draw, since = time.perf_counter(), 0
        if bar is not None:
            bar.reset(total)
            bar.update(it)
        mid = False  # a sweep is in the shards but `it` does not count it yet
        try:
            while it < total:
                rng_before = rng.bit_generator.state
                try:
                    self.sweep(rng)
                except BaseException:
                    rng.bit_generator.state = rng_before  # the sweep did not happen
                    raise
                mid = True
                since += 1
                if it >= spec.warmup and (it - spec.warmup + 1) % spec.thin == 0:
                    rec = self.record()
                    now = time.perf_counter()
                    rec["tokens_per_s"] = self.kernel.num_tokens * since / max(now - t_draw,
                                                                               1e-9)
                    rec["wall_time"] = now - t0
                    rows.append(rec)
                    t_draw, since = time.perf_counter(), 0
                it += 1
                mid = False
                if spec.callback is not None:
                    spec.callback({"sweeps": np.array([it])}, it - 1)
                if bar is not None:
                    if rows:
                        ll = rows[-1]["log_likelihood"] / self.kernel.num_tokens
                        bar.set_postfix_str(f"sample ll/token={ll:.4f}", refresh=False)
                    bar.update(1)
                if it % spec.checkpoint_every == 0 and it < total:
                    self.last = self.gather(it, rng, rows, time.perf_counter() - t0)
                    self.save(self.last)
        except KeyboardInterrupt:
            # shards and chunks hold the state after `it` sweeps, unless the interrupt came
            # while a draw was recorded: then the last periodic checkpoint stands
            if self.path is not None and not mid:
                self.save(self.gather(it, rng, rows, time.perf_counter() - t0))
            raise
        final = self.gather(total, rng, rows, time.perf_counter() - t0)
        self.save(final)
        return final


def run_dask_lda(kernel: Any, spec: Any, client: Any) -> list[Any]:
    """Run ``spec.num_chains`` chains of ``kernel`` (an :class:`LDAKernel` with ``workers``
    W > 1) one after another, each over W shards on ``client``'s workers; returns their
    :class:`~ppltopics.inference.runner.ChainResult` in order."""
    from ppltopics.inference.runner import _check_client, _progress_bars

    _check_client(client)
    if kernel.split_merge is not None or kernel.optimize_alpha:
        raise ValueError("an LDA chain spread over a Dask cluster (workers > 1 with a Dask "
                         "client) takes neither split_merge nor optimize_alpha; run them with "
                         "executor='thread'")
    bars = _progress_bars(spec) if spec.progress else [None] * spec.num_chains
    try:
        return [_Chain(kernel, spec, c, client).run(bars[c]) for c in range(spec.num_chains)]
    finally:
        for b in bars:
            if b is not None:
                b.close()
