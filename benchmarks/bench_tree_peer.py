"""Planted trees from random starts, ours beside the peer's (issue 12): tomotopy's ``HLDAModel``.

The corpora of ``bench_tree_init.py`` (a full tree of each shape, words simulated from the
hLDA Pyro story: 240 documents × 100 tokens, V = 150, γ = 0.5, η = 0.02, GEM m = 0.4, π = 50;
one corpus per seed).  Every sampler gets the same number of sweeps (tomotopy: iterations)
and its own start:

- ``tomotopy``: tomotopy's HLDA (its own start: documents added one by one along paths drawn
  from the nCRP given the documents before them; γ = 0.5, η = 0.02), the level prior its
  default symmetric Dirichlet α = 0.1 (``tomotopy``) or matched to the planted GEM's mean,
  α_ℓ = π·E[θ_ℓ] (``tomotopy-gem``: (20, 12, 18) at depth 3);
- ``random``: ours from nCRP-prior paths (``init="random"``), tree moves on (their defaults);
- ``cluster``: ours from the default clustered start, tree moves on.

Reported per shape: planted tree found (``holds_tree``: at every level each planted node's
documents ≥ 96 % on one found node, distinct nodes, equal node counts), the final state's
log p(w, z, c) under the planted hyperparameters minus the planted state's (tomotopy's
state read back token by token), nodes per level, seconds.

    python benchmarks/bench_tree_peer.py [--seeds 8] [--sweeps 300]
        [--configs tomotopy,tomotopy-gem,random,cluster]  # -> results/tree_peer.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import machine_facts
from bench_hlda import _Tomotopy, _tomotopy_state
from bench_tree_init import SHAPES, found_and_gap, planted

from ppltopics.testing.planted import holds_tree

OUT = Path(__file__).parent / "results" / "tree_peer.json"
CONFIGS = {"tomotopy": "tomotopy HLDA, α = 0.1 (its default)",
           "tomotopy-gem": "tomotopy HLDA, α = π·E[GEM]",
           "random": "ours, nCRP-prior start, tree moves",
           "cluster": "ours, clustered start (default), tree moves"}


def gem_mean_alpha(depth: int, m: float = 0.4, pi: float = 50.0) -> list[float]:
    """π·E[θ] of the truncated GEM(m, π): E[θ_ℓ] = m (1 − m)^ℓ, the last level the rest."""
    mean = [m * (1 - m) ** ell for ell in range(depth - 1)]
    return [pi * x for x in mean + [1 - sum(mean)]]


def run(config: str, seed: int, shape: list[int], sweeps: int) -> dict[str, Any]:
    from ppltopics.inference.hlda import HLDAKernel
    from ppltopics.models import hlda as H

    corpus, truth, z, hyper = planted(seed, shape)
    t0 = time.perf_counter()
    if config.startswith("tomotopy"):
        alpha = 0.1 if config == "tomotopy" else gem_mean_alpha(hyper.depth)
        tomo = _Tomotopy(corpus.docs(), seed, depth=hyper.depth, alpha=alpha, eta=0.02,
                         gamma=0.5)
        tomo.run(sweeps)
        paths, levels = _tomotopy_state(tomo, corpus)
    else:
        kernel = HLDAKernel(corpus, depth=hyper.depth, gamma=0.5, eta=0.02, gem_mean=0.4,
                            gem_scale=50.0, split_merge=True, init=config)
        rng = np.random.default_rng(seed)
        state = kernel.init_state(rng)
        for _ in range(sweeps):
            kernel.step(state, rng, warmup=True)
        paths, levels = state["paths"], state["levels"]
    wall = time.perf_counter() - t0
    gap = H.log_joint(corpus, paths, levels, hyper) - H.log_joint(corpus, truth, z, hyper)
    return {"seed": seed, "found": bool(holds_tree(paths, truth)), "gap": float(gap),
            "num_nodes": [int(np.unique(paths[:, ell]).size) for ell in range(hyper.depth)],
            "wall_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--sweeps", type=int, default=300)
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    configs, shapes = args.configs.split(","), args.shapes.split(",")
    if not set(configs) <= set(CONFIGS) or not set(shapes) <= set(SHAPES):
        ap.error(f"--configs takes {', '.join(CONFIGS)}; --shapes {', '.join(SHAPES)}")
    run("random", 0, [2, 2], 2)  # compile
    res: dict[str, dict[str, list[dict[str, Any]]]] = {}
    rows = [f"| shape | sampler ({args.sweeps} sweeps) | planted tree found | log joint − planted "
            "(mean, range) | nodes per level (seed 0) | s per run |", "|---|---|---|---|---|---|"]
    for shape in shapes:
        for config in configs:
            rs = [run(config, s, SHAPES[shape], args.sweeps) for s in range(args.seeds)]
            res.setdefault(shape, {})[config] = rs
            rows.append(f"| {shape} | {CONFIGS[config]} | {found_and_gap(rs)} | "
                        f"{rs[0]['num_nodes']} | {np.mean([r['wall_s'] for r in rs]):.2f} |")
            print(rows[-1], flush=True)
    out = {"args": vars(args), "results": res, "table": "\n".join(rows),
           "machine": machine_facts()}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
