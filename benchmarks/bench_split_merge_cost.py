"""What LDA's split–merge moves cost on a real corpus: all of 20 Newsgroups (1.6 M tokens).

For each K: one LDA chain (α = 0.1, β = 0.01, ``split_merge=True``, i.e. ``LDA_SPLIT_MERGE``),
``--burn`` sweeps, then ``--sweeps`` sweeps timed as a whole and inside
``LDAKernel.split_merge_moves``; the moves' share is their time over the rest of the sweeps'
(issue 12's "≤ 30 % of sweep time").  Needs ``../shared/data`` (``PPLTOPICS_SHARED_DATA``).

    .venv/bin/python benchmarks/bench_split_merge_cost.py [--topics 20,100]
        # -> benchmarks/results/split_merge_cost_20ng.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from _common import machine_facts

import ppltopics as pt
from ppltopics.inference.lda import LDAKernel
from ppltopics.models.lda import LDAHyper

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "results" / "split_merge_cost_20ng.json"
DEFAULT_DATA = Path(os.environ.get("PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data"))


def run(corpus: object, k: int, burn: int, sweeps: int, seed: int) -> dict[str, float]:
    """One chain at K = ``k``: ``burn`` sweeps, then ``sweeps`` timed ones."""
    kernel = LDAKernel(corpus, LDAHyper(num_topics=k, alpha=0.1, beta=0.01), split_merge=True)
    rng = np.random.default_rng(seed)
    state = kernel.init_state(rng)
    moves = kernel.split_merge_moves
    spent = [0.0, 0, 0]

    def timed(*a: object, **kw: object) -> None:
        t = time.perf_counter()
        moves(*a, **kw)
        spent[0] += time.perf_counter() - t
        spent[1] += int(state["sm_accepted"][0])
        spent[2] += int(state["sm_proposed"][0])

    kernel.split_merge_moves = timed
    for _ in range(burn):
        kernel.step(state, rng, warmup=True)
    spent[:] = [0.0, 0, 0]
    t0 = time.perf_counter()
    for _ in range(sweeps):
        kernel.step(state, rng, warmup=False)
    total = time.perf_counter() - t0
    return {"num_topics": k, "seconds": total, "move_seconds": spent[0],
            "cost": spent[0] / (total - spent[0]), "accepted": spent[1], "proposed": spent[2]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topics", default="20,100")
    ap.add_argument("--burn", type=int, default=10)
    ap.add_argument("--sweeps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    corpus = pt.datasets.load_20newsgroups(DEFAULT_DATA / "20newsgroups-bydate")
    rows = []
    for k in (int(x) for x in args.topics.split(",")):
        row = run(corpus, k, args.burn, args.sweeps, args.seed)
        rows.append(row)
        print(f"K = {k}: {args.sweeps} sweeps {row['seconds']:.1f} s, moves "
              f"{row['move_seconds']:.1f} s ({100 * row['cost']:.0f} % of sweep time), "
              f"{row['accepted']} of {row['proposed']} accepted", flush=True)
    args.out.write_text(json.dumps({
        "benchmark": "bench_split_merge_cost", "machine": machine_facts(),
        "corpus": {"name": "20newsgroups", "docs": corpus.num_docs,
                   "tokens": corpus.num_tokens, "vocab": corpus.vocab_size},
        "args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
