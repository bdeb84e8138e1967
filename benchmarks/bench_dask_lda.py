"""One LDA chain over a Dask cluster (:mod:`ppltopics.inference._dask_lda`) vs the serial
kernel on 20 Newsgroups (K = 100, α = 0.1, β = 0.01), and why the scheme is the partitioned
sweep rather than AD-LDA.

1. **Speed and traffic.**  A ``LocalCluster`` of 2 single-thread worker processes (this
   machine has 2 cores) runs the chain with W = 2 shards; the serial kernel runs in this
   process.  Per seed both make the same sweeps from their own random start: tokens/s of the
   sweeps (Dask: wall time including every transfer), bytes moved per sweep (each word chunk
   visits every shard once), log p(w | z) per token at the end.  Bytes per sweep are also
   extrapolated on paper to V = 100 k, K = 1,000, W = 8.
2. **AD-LDA's approximation, measured.**  In this process, on 6,000 shuffled documents,
   K = 50: the serial sweep, the partitioned sweep (W = 2, what the Dask chain runs) and an
   AD-LDA emulation (W = 2 and 4: every shard sweeps its documents against a copy of all
   counts taken at the start of the sweep; the counts are rebuilt from the merged z) — log
   p(w | z) per token after each block of sweeps.

    .venv/bin/python benchmarks/bench_dask_lda.py [--data ../shared/data] [--sweeps 50]
        [--seeds 2] [--adlda-sweeps 100] [--quick]

Writes ``benchmarks/results/dask_lda.json`` (``dask_lda_quick.json`` with ``--quick``:
2,000 documents, K = 20, 20 AD-LDA sweeps).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from _common import machine_facts  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data"))
TARBALL = Path("20newsgroups-bydate") / "20news-bydate.tar.gz"
ALPHA, BETA = 0.1, 0.01


def kernel_for(corpus, K: int, workers: int = 1):
    from ppltopics.inference.lda import LDAKernel
    from ppltopics.models.lda import LDAHyper

    return LDAKernel(corpus, LDAHyper(num_topics=K, alpha=ALPHA, beta=BETA), workers=workers)


def serial_run(corpus, K: int, sweeps: int, seed: int) -> dict[str, float]:
    kernel = kernel_for(corpus, K)
    rng = np.random.default_rng(seed)
    state = kernel.init_state(rng)
    t = time.perf_counter()
    for _ in range(sweeps):
        kernel.step(state, rng, True)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "tokens_per_s": corpus.num_tokens * sweeps / seconds,
            "ll_per_token": kernel.record(state)["log_likelihood"] / corpus.num_tokens}


def dask_run(client, corpus, K: int, W: int, sweeps: int, seed: int) -> dict[str, float]:
    from ppltopics.inference._dask_lda import _Chain
    from ppltopics.inference.runner import RunSpec

    chain = _Chain(kernel_for(corpus, K, W), RunSpec(num_chains=1, seed=seed, progress=False),
                   0, client)
    ck = chain.start()
    chain.scatter(ck)
    rng = np.random.default_rng(seed)
    chain.record()  # numba cache load on the workers, untimed
    t = time.perf_counter()
    for _ in range(sweeps):
        chain.sweep(rng)
    seconds = time.perf_counter() - t
    rec = chain.record()
    return {"seconds": seconds, "tokens_per_s": corpus.num_tokens * sweeps / seconds,
            "ll_per_token": rec["log_likelihood"] / corpus.num_tokens,
            "bytes_per_sweep": float(chain.bytes_per_sweep[-1]),  # at the final state
            "nnz_cells": int(sum(len(c[1]) for c in client.gather(chain.chunks)))}


def adlda_study(corpus, K: int, sweeps: int, every: int) -> dict[str, list[float]]:
    """log p(w | z)/N every ``every`` sweeps: serial, partitioned W = 2, AD-LDA W = 2, 4."""
    from ppltopics.inference._lda_sweep import _sweep

    out: dict[str, list[float]] = {}
    for name, W in (("serial", 1), ("partition_w2", 2), ("adlda_w2", 2), ("adlda_w4", 4)):
        kernel = kernel_for(corpus, K, W if name.startswith("partition") else 1)
        rng = np.random.default_rng(0)
        state = kernel.init_state(rng)
        bounds = np.linspace(0, corpus.num_docs, W + 1).astype(int)
        every_token = (np.empty(0, dtype=np.int64), corpus.doc_offsets.astype(np.int64))
        trace = []
        for it in range(1, sweeps + 1):
            if name.startswith("adlda"):
                z = state["z"].copy()
                for p in range(W):  # every shard against the counts at the sweep's start
                    st = {k: v.copy() for k, v in state.items()}
                    _sweep(corpus.word_ids, corpus.doc_offsets, st["z"], st["wt_offsets"],
                           st["wt_packed"], st["wt_nnz"], st["n_k"], st["alpha"], BETA, rng,
                           bounds[p], bounds[p + 1], *every_token)
                    a, b = corpus.doc_offsets[bounds[p]], corpus.doc_offsets[bounds[p + 1]]
                    z[a:b] = st["z"][a:b]
                state["z"] = z
                kernel.resync(state)
            else:
                kernel.step(state, rng, True)
            if it % every == 0:
                trace.append(kernel.record(state)["log_likelihood"] / corpus.num_tokens)
        out[name] = trace
        print(name, np.round(trace, 4).tolist(), flush=True)
    return out


def extrapolate(nnz_share_of_tokens: float) -> dict[str, object]:
    """Bytes per sweep on paper: each of the W chunks visits all W shards (8 bytes a cell,
    8 a word's cell count), plus W² copies of n_k."""
    V, K, W, N = 100_000, 1_000, 8, 100_000_000
    nnz = min(V * K, int(nnz_share_of_tokens * N))
    per_sweep = W * (8 * nnz + 8 * V) + W * W * 8 * K
    return {"V": V, "K": K, "W": W, "tokens": N, "nnz_cells_assumed": nnz,
            "bytes_per_sweep": per_sweep, "gigabytes_per_sweep": per_sweep / 1e9,
            "dense_upper_bound_gigabytes": (W * (8 * V * K + 8 * V) + W * W * 8 * K) / 1e9,
            "assumptions": "n_wk nonzeros the share of the tokens measured here (capped at "
                           "V·K)"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sweeps", type=int, default=50)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--adlda-sweeps", type=int, default=100)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import distributed

    from ppltopics import datasets

    corpus = datasets.load_20newsgroups(args.data / TARBALL)
    shuffled = corpus.subset(np.random.default_rng(5).permutation(corpus.num_docs)[:6000])
    K, K_study, study_sweeps = 100, 50, args.adlda_sweeps
    if args.quick:
        corpus, K, K_study, study_sweeps = corpus.subset(np.arange(2000)), 20, 20, 20
        shuffled = shuffled.subset(np.arange(2000))
    facts = machine_facts("numpy", "numba", "distributed")
    runs: dict[str, list[dict[str, float]]] = {"serial": [], "dask_w2": []}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        serial_run(corpus.subset(np.arange(50)), K, 1, 0)  # numba cache load
        for seed in range(args.seeds):
            runs["serial"].append(serial_run(corpus, K, args.sweeps, seed))
            runs["dask_w2"].append(dask_run(client, corpus, K, 2, args.sweeps, seed))
            print(seed, {k: {m: round(v, 4) for m, v in r[-1].items()}
                         for k, r in runs.items()}, flush=True)
    mean = {k: {m: float(np.mean([r[m] for r in rs])) for m in rs[0]} for k, rs in runs.items()}
    dk = mean["dask_w2"]
    every = max(1, study_sweeps // 5)
    study = adlda_study(shuffled, K_study, study_sweeps, every)
    out = {
        "machine": {**facts, "loadavg_end": os.getloadavg()},
        "corpus": {"name": "20newsgroups", "docs": corpus.num_docs,
                   "tokens": corpus.num_tokens, "vocab": corpus.vocab_size},
        "settings": {"K": K, "alpha": ALPHA, "beta": BETA, "sweeps": args.sweeps,
                     "seeds": args.seeds, "cluster": "LocalCluster(2 processes x 1 thread)"},
        "runs": runs, "mean": mean,
        "speed_ratio_dask_w2_over_serial": dk["tokens_per_s"] / mean["serial"]["tokens_per_s"],
        "ll_per_token_dask_minus_serial": dk["ll_per_token"] - mean["serial"]["ll_per_token"],
        "extrapolated": extrapolate(dk["nnz_cells"] / corpus.num_tokens),
        "adlda_study": {"docs": shuffled.num_docs, "tokens": shuffled.num_tokens,
                        "K": K_study, "every": every, "ll_per_token": study},
    }
    print(json.dumps({k: out[k] for k in ("mean", "speed_ratio_dask_w2_over_serial",
                                          "ll_per_token_dask_minus_serial", "extrapolated")},
                     indent=1))
    path = REPO / "benchmarks" / "results" / ("dask_lda_quick.json" if args.quick
                                              else "dask_lda.json")
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
