"""What recording a draw costs: sweeps/s in warm-up vs sampling for one chain on SOTU.

A warm-up sweep is one kernel step; a sampling sweep is a step plus ``record`` (lp,
log-likelihood, per-document log-likelihoods) and ``accumulate`` (running sums of θ̂, φ̂).
A callback stamps the wall clock and this process's CPU time after every sweep; the medians
of the second half of warm-up and of sampling are compared.  Wall time is what a user waits
(LDA computes its record on a background thread beside the next sweep,
``GibbsKernel.record_later``: run on idle cores, one for the chain and one for that thread);
CPU time counts both threads, so it is the work a draw adds.

    .venv/bin/python benchmarks/bench_record.py [lda lda:100 glda cgtm] [--out FILE]

LDA runs on the whole embedded SOTU corpus (809 k tokens, K = 20, or the K after a colon); the
Gaussian models on its first 3,000 paragraphs with GloVe-50 (K = 20).  Writes
``benchmarks/results/record.json``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from _common import machine_facts  # noqa: E402

WARMUP, SAMPLES, K = 100, 100, 20


def measure(spec: str) -> dict[str, float]:
    """``spec``: a model name, optionally ``:K`` (default K)."""
    import ppltopics as pt
    from ppltopics import datasets

    model, _, k = spec.partition(":")

    corpus = datasets.load_sotu()
    kw = {}
    if model != "lda":
        corpus = corpus.subset(np.arange(3000))
        vecs = pt.WordVectors.glove(corpus.vocab)
        corpus = corpus.restrict(vecs.vocab)
        kw["vectors"] = vecs
    stamps: list[tuple[float, float]] = []
    pt.fit(model, corpus, num_topics=int(k or K), num_chains=1, warmup=WARMUP,
           num_samples=SAMPLES, progress=False, seed=0,
           callback=lambda state, it: stamps.append((time.perf_counter(), time.process_time())),
           **kw)
    out: dict[str, float] = {"tokens": corpus.num_tokens, "num_topics": int(k or K)}
    for j, clock in enumerate(("wall", "cpu")):
        d = np.diff([s[j] for s in stamps])
        warm, samp = float(np.median(d[WARMUP // 2:WARMUP - 1])), float(np.median(d[WARMUP:]))
        out.update({f"warmup_sweeps_per_s_{clock}": 1 / warm,
                    f"sampling_sweeps_per_s_{clock}": 1 / samp,
                    f"draw_cost_share_of_sweep_{clock}": (samp - warm) / warm})
        print(f"{spec} ({clock}): warm-up {1 / warm:.1f} sweeps/s, sampling {1 / samp:.1f} "
              f"sweeps/s, a draw costs {100 * (samp - warm) / warm:.0f}% of a sweep", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", default=["lda", "lda:100", "glda", "cgtm"])
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parent / "results" / "record.json")
    args = ap.parse_args()
    facts = machine_facts("numpy", "numba")
    results = {m: measure(m) for m in args.models}
    args.out.write_text(json.dumps({"machine": {**facts, "loadavg_end": os.getloadavg()},
                                    "settings": {"warmup": WARMUP, "samples": SAMPLES, "K": K},
                                    "results": results}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
