"""Several threads per chain: the partitioned Gibbs sweep (Yan, Xu & Qi 2009; tomotopy's
``ParallelScheme.PARTITION``).

The vocabulary is cut into W chunks of consecutive words and the documents into W groups,
each of about equal token mass.  A sweep is W rounds; in round r worker p samples the tokens
of document group (r + p) mod W whose word lies in chunk p.  No two workers of a round touch
the same document (so the same n_dk or z_n) or the same word (so the same n_wk); only the
topic totals n_k are shared, and each worker samples against its own copy of them, taken at
the start of the round, whose changes are merged after it.

This is an approximation of the serial chain: within a round a worker's n_k misses the other
workers' moves (at most a 1/W share of a sweep's changes, spread over K totals), so the
chain's stationary distribution is not exactly the posterior.  Everything else is exact: the
counts always equal those recomputed from z (tested), and with W = 1 the sweep is the serial
one, draw for draw.

Random numbers: each round's W blocks get their own generator, seeded from the chain's
generator at the start of the sweep, so a run is reproducible for a given W whatever the
thread scheduling, and a checkpoint of the chain's generator is a checkpoint of all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

__all__ = ["DocBlocks", "Partition", "balanced_bounds", "chunk_tokens", "run_split"]


def balanced_bounds(mass: np.ndarray, parts: int) -> np.ndarray:
    """Bounds ``b`` (length ``parts + 1``) cutting ``mass`` (non-negative, in order) into
    ``parts`` contiguous runs of about equal total: run i is ``mass[b[i]:b[i+1]]``."""
    cum = np.concatenate([[0], np.cumsum(mass, dtype=np.float64)])
    targets = cum[-1] * np.arange(1, parts) / parts
    right = np.clip(np.searchsorted(cum, targets, side="left"), 1, len(mass))
    nearer_left = targets - cum[right - 1] < cum[right] - targets
    inner = np.maximum.accumulate(right - nearer_left)  # the cut nearest each target
    return np.concatenate([[0], inner, [len(mass)]]).astype(np.int64)


def chunk_tokens(word_ids: np.ndarray, doc_offsets: np.ndarray, word_chunk: np.ndarray,
                 chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """The tokens of word chunk ``chunk`` (word w with ``word_chunk[w] == chunk``) in corpus
    order, and each document's run of them: document d's are ``tokens[offsets[d]:
    offsets[d + 1]]``.  A block then visits its own tokens only, instead of testing every
    token of its documents (a branch taken at random, W times per sweep)."""
    mask = word_chunk[word_ids] == chunk
    cum = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
    return np.flatnonzero(mask).astype(np.int64), cum[doc_offsets]


class Partition:
    """The W × W blocks of one corpus: ``doc_bounds`` (W + 1 document indices, contiguous
    groups of about equal token mass) and ``word_chunk`` (V,) the chunk of every word type
    (W runs of consecutive word ids of about equal token mass), and
    ``tokens[p]``: chunk p's tokens per document (:func:`chunk_tokens`)."""

    def __init__(self, word_ids: np.ndarray, doc_offsets: np.ndarray, vocab_size: int,
                 workers: int) -> None:
        self.workers = int(workers)
        self.doc_bounds = balanced_bounds(np.diff(doc_offsets), self.workers)
        # words cut into W runs of consecutive ids of about equal token mass: a chunk's
        # word rows (n_wk blocks, dense rows, nnz) are then contiguous in memory, so two
        # workers never write to one cache line (dealing words round-robin interleaved the
        # chunks' rows: the blocks of a round ran 10-25 % slower together than alone)
        counts = np.bincount(word_ids, minlength=vocab_size)
        bounds = balanced_bounds(counts, self.workers)
        self.word_chunk = np.repeat(np.arange(self.workers), np.diff(bounds))
        # each chunk's tokens, per document (W = 1: every token, in place; no copy)
        self.tokens = ([(np.empty(0, dtype=np.int64), np.asarray(doc_offsets, dtype=np.int64))]
                       if self.workers == 1 else
                       [chunk_tokens(word_ids, doc_offsets, self.word_chunk, p)
                        for p in range(self.workers)])

    def sweep(self, n_k: np.ndarray, rng: np.random.Generator,
              block: Callable[[int, int, int, np.ndarray, np.random.Generator], None]) -> None:
        """Run the W rounds of one sweep; ``block(doc_lo, doc_hi, chunk, n_k_copy, rng)``
        samples one block in place (it must release the GIL to run in parallel).  ``n_k`` is
        updated with every worker's changes after each round."""
        W = self.workers
        seeds = rng.integers(0, 2**63, size=(W, W))
        with ThreadPoolExecutor(max_workers=W) as pool:
            for r in range(W):
                copies = [n_k.copy() for _ in range(W)]
                _run_all(pool, [
                    (block, int(self.doc_bounds[(r + p) % W]),
                     int(self.doc_bounds[(r + p) % W + 1]), p, copies[p], _generator(seeds[r, p]))
                    for p in range(W)])
                start = n_k.copy()
                for c in copies:
                    n_k += c - start


class DocBlocks:
    """W blocks of documents of about equal token mass, swept in parallel, one thread each —
    the scheme for models whose shared state is a small per-topic summary (GLDA's n_k, Σx,
    Σxxᵀ): the caller gives each block its own copy and merges the changes after the sweep."""

    def __init__(self, doc_offsets: np.ndarray, workers: int) -> None:
        self.workers = int(workers)
        self.doc_bounds = balanced_bounds(np.diff(doc_offsets), self.workers)

    def run(self, rng: np.random.Generator,
            block: Callable[[int, int, int, np.random.Generator], Any]) -> list[Any]:
        """``block(doc_lo, doc_hi, p, rng_p)`` for every block p at once (it must release the
        GIL); each block's generator is seeded from ``rng``.  Returns the results in order."""
        W = self.workers
        seeds = rng.integers(0, 2**63, size=W)
        b = self.doc_bounds
        with ThreadPoolExecutor(max_workers=W) as pool:
            return _run_all(pool, [(block, int(b[p]), int(b[p + 1]), p, _generator(seeds[p]))
                                   for p in range(W)])


def run_split(n: int, workers: int, fn: Callable[[int, int], Any]) -> list[Any]:
    """``fn(lo, hi)`` over ``workers`` contiguous ranges of ``range(n)`` at once, one thread
    each (``fn`` must release the GIL: numba ``nogil`` or BLAS) — for a sweep's deterministic
    per-item work (no random numbers: proposal tables, densities), whose result is the same
    for every W.  Returns the results in order."""
    if workers == 1 or n < 2:
        return [fn(0, n)]
    b = np.linspace(0, n, workers + 1).astype(np.int64)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return _run_all(pool, [(fn, int(b[p]), int(b[p + 1])) for p in range(workers)])


def _generator(seed: np.integer) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(int(seed)))


def _run_all(pool: ThreadPoolExecutor, calls: list[tuple[Any, ...]]) -> list[Any]:
    """Submit every ``(fn, *args)`` and wait for all; the first error is raised after all
    have stopped (none is left running on shared arrays)."""
    futures = [pool.submit(*call) for call in calls]
    for f in futures:
        f.exception()
    return [f.result() for f in futures]
