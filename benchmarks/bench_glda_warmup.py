"""GLDA fast path: warm-up (proposal tables rebuilt every sweep) vs frozen-table sweeps.

CPU time (``time.process_time``) of 10 warm-up sweeps, then 10 sweeps with the tables frozen,
for ``GLDAKernel(method="fast")`` at K = 40 on the GhLDA wiki set restricted to GloVe-50, and
the refresh alone (:meth:`GLDAKernel.refresh_proposal`).  Run it at two commits to compare them
(the figures in benchmarks/README.md: c0a6fe9 against its successor).

    .venv/bin/python benchmarks/bench_glda_warmup.py [--data ../shared/data]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--sweeps", type=int, default=10)
    args = ap.parse_args()
    from ppltopics import WordVectors
    from ppltopics.datasets import load_ghlda_wiki
    from ppltopics.inference.glda import GLDAKernel
    from ppltopics.models.glda import GLDAHyper

    corpus = load_ghlda_wiki(args.data / "ghlda-corpora" / "wiki")
    vectors = WordVectors.glove(corpus.vocab)
    corpus = corpus.restrict(vectors.vocab)
    table = vectors.matrix(corpus.vocab)
    r = GLDAHyper(num_topics=40).resolve(table, counts=corpus.word_counts())
    kernel = GLDAKernel(corpus, table, 40, r.alpha, r.mu0, r.kappa0, r.nu0, r.psi0,
                        method="fast")
    rng = np.random.default_rng(0)
    state = kernel.init_state(rng)
    kernel.step(state, rng, True)  # numba cache load, untimed

    def per_call(fn, n: int) -> float:
        t0 = time.process_time()
        for _ in range(n):
            fn()
        return (time.process_time() - t0) / n

    warm = per_call(lambda: kernel.step(state, rng, True), args.sweeps)
    frozen = per_call(lambda: kernel.step(state, rng, False), args.sweeps)
    refresh = per_call(lambda: kernel.refresh_proposal(state), 3)
    n = corpus.num_tokens
    print(f"{n} tokens, K = 40: warm-up {n / warm / 1e3:.0f} k tokens/s, frozen tables "
          f"{n / frozen / 1e3:.0f} k tokens/s, refresh {1e3 * refresh:.0f} ms")


if __name__ == "__main__":
    main()
