"""Is a random start's tree a local maximum of the single-state joint? (issue 12).

For the planted 2 × 2 trees of ``bench_tree_moves.py`` (hLDA, depth 3): a chain from
nCRP-prior paths with the default tree moves (word blocks included) runs ``--sweeps`` sweeps;
then, with each tree held fixed, its levels are *polished* — ``--polish`` rounds of one Gibbs
level scan of every token and 400 word blocks — for

* the chain's own tree (from its levels),
* the planted tree (from the simulated levels),
* every merge of two of the chain's level-1 nodes (from the chain's levels).

Reported per seed: log p(w, z, c) of each minus the planted state's (paths and levels of the
simulation).  If the chain's tree, polished, sits above the polished planted tree and no
polished merge beats it, no single MH move between such states can be accepted uphill: the
chain is stuck at a local maximum of the joint, which the level-marginal comparison
(``diag_tree_marginal.py``) may still rank below the planted tree.

    python benchmarks/diag_tree_polish.py [--seeds 0,1,2] [--sweeps 200] [--polish 10]

Writes benchmarks/results/diag_tree_polish.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
from _common import machine_facts
from bench_tree_moves import chain, planted_tree


def polish(kernel: Any, state: dict[str, np.ndarray], rounds: int,
           rng: np.random.Generator) -> float:
    """``rounds`` × (a level scan of every token + 400 word blocks), tree fixed; the final log
    joint."""
    from ppltopics.inference import _tree_moves as TM

    tokens = np.arange(kernel.num_tokens)
    for _ in range(rounds):
        kernel._scan_levels(state, rng.permutation(tokens), None, rng)
        lp = TM._log_joint(kernel, state)
        for _ in range(400):
            out = TM._word_block(kernel, None, state, rng, 0, TM.EXACT, lp)
            if out is not TM._NOTHING and out is not None:
                lp = out
    return TM._log_joint(kernel, state)


def run(seed: int, sweeps: int, rounds: int) -> dict[str, Any]:
    from ppltopics.inference import _tree_moves as TM
    from ppltopics.models import hlda as H
    from ppltopics.testing.planted import holds_tree

    corpus, planted, z, hyper = planted_tree(seed)
    kernel, state, rng, _, _ = chain(corpus, seed, True, sweeps)
    ref = H.log_joint(corpus, planted, z, hyper)
    out: dict[str, Any] = {"seed": seed, "found": bool(holds_tree(state["paths"], planted)),
                           "num_nodes": kernel.record(state)["num_nodes"].tolist(),
                           "chain": TM._log_joint(kernel, state) - ref}
    own = {k: v.copy() for k, v in state.items()}
    out["chain_polished"] = polish(kernel, own, rounds, rng) - ref
    truth = {k: v.copy() for k, v in state.items()}
    kernel.apply_paths(truth, planted.astype(state["paths"].dtype),
                       np.arange(corpus.num_docs), np.asarray(z, dtype=state["levels"].dtype))
    out["planted_polished"] = polish(kernel, truth, rounds, rng) - ref
    merges = []
    paths = state["paths"]
    for a, b in itertools.combinations(np.unique(paths[:, 1]), 2):
        docs = np.flatnonzero(paths[:, 1] == b)
        new = paths.copy()
        new[docs, 1] = a
        merged = {k: v.copy() for k, v in state.items()}
        kernel.apply_paths(merged, new, docs)
        merges.append({"nodes": [int(a), int(b)],
                       "holds_planted": bool(holds_tree(new, planted)),
                       "polished": polish(kernel, merged, rounds, rng) - ref})
    out["merges"] = merges
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--sweeps", type=int, default=200)
    ap.add_argument("--polish", type=int, default=10)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"
                                         / "diag_tree_polish.json"))
    args = ap.parse_args()
    rows = [run(int(s), args.sweeps, args.polish) for s in args.seeds.split(",")]
    lines = ["| seed | nodes | found | chain | chain polished | planted polished | best merge "
             "polished (planted tree?) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        best = max(r["merges"], key=lambda m: m["polished"]) if r["merges"] else None
        lines.append(
            f"| {r['seed']} | {r['num_nodes']} | {r['found']} | {r['chain']:.0f} | "
            f"{r['chain_polished']:.0f} | {r['planted_polished']:.0f} | "
            + (f"{best['polished']:.0f} ({best['holds_planted']}) |" if best else "– |"))
    table = "\n".join(lines)
    print(table)
    Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows, "table": table,
                                          "machine": machine_facts()}, indent=1))


if __name__ == "__main__":
    main()
