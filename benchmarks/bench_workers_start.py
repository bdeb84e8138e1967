"""Do threaded GLDA / CGTM chains end where serial chains do?  One chain per seed, W = 1 and
W = 2 (with a given number of serial first sweeps), log p(v | z) per token at the end.

On the first 3,000 20NG documents with GloVe-50 (as ``bench_workers.py``): GLDA fast, K = 40,
or CGTM, K = 20; the first half of the sweeps is warm-up.  ``--serial N`` sets the kernel's
``serial_start`` (the sweeps made serially before the document blocks take over; 0: blocks
from the first sweep, the behaviour before Dec 2026).

    .venv/bin/python benchmarks/bench_workers_start.py glda --seeds 6 --sweeps 60 --serial 0
    .venv/bin/python benchmarks/bench_workers_start.py cgtm --seeds 4 --sweeps 30 --serial 5
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", choices=("glda", "cgtm"))
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--sweeps", type=int, default=60)
    ap.add_argument("--serial", type=int, default=5, help="serial_start of the W = 2 chains")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args()
    from ppltopics import WordVectors
    from ppltopics.datasets import load_20newsgroups
    from ppltopics.inference.cgtm import CGTMKernel
    from ppltopics.inference.glda import GLDAKernel
    from ppltopics.models.cgtm import CGTMHyper
    from ppltopics.models.glda import GLDAHyper

    corpus = load_20newsgroups(args.data / "20newsgroups-bydate" / "20news-bydate.tar.gz")
    sub = corpus.subset(np.arange(3000))
    vecs = WordVectors.glove(sub.vocab)
    sub = sub.restrict(vecs.vocab)
    table = vecs.matrix(sub.vocab)
    for workers in (1, 2):
        ends = []
        for seed in range(args.seeds):
            if args.model == "glda":
                r = GLDAHyper(num_topics=40).resolve(table, counts=sub.word_counts())
                kernel = GLDAKernel(sub, table, 40, r.alpha, r.mu0, r.kappa0, r.nu0, r.psi0,
                                    method="fast", workers=workers)
            else:
                r = CGTMHyper(num_topics=20).resolve(table, counts=sub.word_counts())
                kernel = CGTMKernel(sub, table, 20, r.mu0, r.kappa0, r.nu0, r.psi0, r.eta_mu0,
                                    r.eta_kappa0, r.eta_nu0, r.eta_psi0, workers=workers)
            kernel.serial_start = args.serial
            rng = np.random.default_rng(seed)
            state = kernel.init_state(rng)
            for i in range(args.sweeps):
                kernel.step(state, rng, i < args.sweeps // 2)
            ends.append(kernel.record(state)["log_likelihood"] / sub.num_tokens)
        label = "W = 1" if workers == 1 else f"W = 2, serial_start {args.serial}"
        print(f"{args.model} {label}: log p(v | z)/token per seed {np.round(ends, 3).tolist()} "
              f"(mean {np.mean(ends):.2f})", flush=True)


if __name__ == "__main__":
    main()
