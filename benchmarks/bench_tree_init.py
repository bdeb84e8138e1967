"""Starts of the tree models: nCRP-prior paths (``init="random"``) vs a Ward hierarchy of the
documents (``init="cluster"``, :mod:`ppltopics.inference._tree_init`).

1. **Planted trees** of four shapes (level-1 × leaves per level-1 node: 2×2, 3×2, 2×3, and
   2×2×2 at depth 4), words simulated from the Pyro story (``ppltopics.models.hlda.model``)
   with the paths conditioned on the shape (240 documents × 100 tokens, V = 150, γ = 0.5,
   η = 0.02, m = 0.4, π = 50), one corpus per seed.  Each chain runs ``--sweeps`` sweeps from
   each start, with the tree moves off and on (``split_merge=True``).  Reported: planted tree
   found (at every level each planted node's documents ≥ 96 % on one found node, distinct
   nodes, equal node counts) and the final log joint minus the planted state's.  GhLDA on
   the 2 × 2 planted tree of ``tests/test_ghlda.py`` (M = 4, one word type per token), its
   tree moves off and on.
2. **Trees drawn from the nCRP prior** (``hlda.simulate`` with tutorial 04's settings, corpus
   seeds 3–5): most level-1 nodes have one child, the case where a clustered first level
   comes out coarser than the truth; ``pt.fit`` with 2 chains, 200 warm-up sweeps.
3. **Real corpora** (``--real``; needs ``../shared/data``): hLDA on the GhLDA wiki set
   (η per level 2·2^(−ℓ), the fit default, and η = 0.1 as ``bench_hlda.py``) and on 3,000
   20NG posts, γ = 1, depth 3; GhLDA through ``pt.fit`` with its defaults on the wiki set
   (GloVe-50).  log p(w, z, c) and node counts after 10 / 50 / 100 sweeps (GhLDA: 50), same
   seeds for both starts.

    python benchmarks/bench_tree_init.py [--seeds 8] [--sweeps 100] [--real] [--real-seeds 3]
        [--starts cluster]   # one start only (default: random,cluster)

Writes benchmarks/results/tree_init.json and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import machine_facts

from ppltopics.testing.planted import holds_tree

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data"))
SHAPES = {"2x2": [2, 2], "3x2": [3, 2], "2x3": [2, 3], "2x2x2": [2, 2, 2]}
STARTS = {"random": "random", "cluster": "cluster"}


def leaf_paths(shape: list[int], num_docs: int) -> np.ndarray:
    """Paths of a full tree of ``shape`` below the root (ids level by level, as the Pyro
    story numbers them), documents dealt to its leaves in turn."""
    leaves, nxt = [[0]], 1
    for b in shape:
        leaves = [p + [nxt + b * j + i] for j, p in enumerate(leaves) for i in range(b)]
        nxt += len(leaves)
    return np.array(leaves)[np.arange(num_docs) % len(leaves)]


def planted(seed: int, shape: list[int], D: int = 240, Nd: int = 100, V: int = 150):
    """A corpus simulated from the hLDA Pyro story with the paths of a full tree of
    ``shape`` (:func:`leaf_paths`); returns it, the paths, the levels and the
    hyperparameters."""
    from ppltopics.models import hlda as H

    hyper = H.HLDAHyper(depth=len(shape) + 1, gamma=0.5, gem_mean=0.4, gem_scale=50.0,
                        eta=0.02)
    sim = H.simulate(D, Nd, V, hyper, seed, paths=leaf_paths(shape, D))
    return sim.corpus, sim.truth["paths"], sim.truth["levels"], hyper


def planted_gaussian(seed: int, D: int = 120, Nd: int = 40, M: int = 4):
    """GhLDA's planted tree of ``tests/test_ghlda.py``: vectors from the GhLDA Pyro story with
    the paths of a 2 × 2 tree (κ0 = 0.02, ν0 = M + 4, Ψ0 = 0.05·I, psi_ratio (1, ½, ¼)), one
    word type per token.  Returns the corpus, its vector table, the paths, the levels, the
    hyperparameters."""
    from ppltopics.models import ghlda as G

    hyper = G.GhLDAHyper(depth=3, gamma=0.5, gem_mean=0.4, gem_scale=50.0, kappa0=0.02,
                         nu0=M + 4.0, mu0=(0.0,) * M, psi0=0.05,
                         psi_ratio=(1.0, 0.5, 0.25)).resolve(dim=M)
    sim = G.simulate(D, Nd, hyper, seed, paths=leaf_paths([2, 2], D))
    return (sim.corpus, sim.vectors.vectors, sim.truth["paths"], sim.truth["levels"],
            sim.hyper)


def run_planted_gaussian(seed: int, init: str, sweeps: int,
                         moves: bool = False) -> dict[str, Any]:
    from ppltopics.inference.ghlda import GhLDAKernel
    from ppltopics.models import ghlda as G

    corpus, table, truth, z, h = planted_gaussian(seed)
    kernel = GhLDAKernel(corpus, table, h.mu0, h.kappa0, h.nu0, h.psi0,
                         psi_ratio=h.psi_ratio, depth=3, gamma=0.5, gem_mean=0.4,
                         gem_scale=50.0, init=init, split_merge=moves)
    return _chain(kernel, seed, sweeps, truth,
                  G.log_joint(table, corpus.doc_offsets, truth, z, h))


def _chain(kernel: Any, seed: int, sweeps: int, truth: np.ndarray,
           planted_lp: float) -> dict[str, Any]:
    """One chain from the kernel's start: found at the start and after ``sweeps`` sweeps,
    final log joint minus the planted state's, node counts, wall time."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    state = kernel.init_state(rng)
    start_found = holds_tree(state["paths"], truth)
    for _ in range(sweeps):
        kernel.step(state, rng, warmup=True)
    rec = kernel.record(state)
    return {"seed": seed, "found": bool(holds_tree(state["paths"], truth)),
            "found_at_start": bool(start_found), "gap": float(rec["lp"] - planted_lp),
            "num_nodes": rec["num_nodes"].tolist(), "wall_s": time.perf_counter() - t0}


def found_and_gap(runs: list[dict[str, Any]]) -> str:
    """Two table cells of planted-tree runs: trees found / runs, and the mean log joint minus
    the planted state's (range)."""
    gaps = np.array([r["gap"] for r in runs])
    return (f"{sum(r['found'] for r in runs)}/{len(runs)} | {gaps.mean():,.0f} "
            f"({gaps.min():,.0f} … {gaps.max():,.0f})")


def run_ncrp_sim(sim_seed: int, init: str, warmup: int = 200) -> dict[str, Any]:
    """A corpus drawn from the nCRP prior itself (``hlda.simulate``, the settings of
    tutorial 04: 150 documents × 80 tokens, V = 120, γ = 0.5, m = 0.4, π = 10, η = 0.05),
    ``pt.fit`` with 2 chains: nodes per level of the truth and of the reference chain, mean
    lp of the draws."""
    import ppltopics as pt
    from ppltopics.models import hlda

    hyper = hlda.HLDAHyper(depth=3, gamma=0.5, gem_mean=0.4, gem_scale=10.0, eta=0.05)
    sim = hlda.simulate(num_docs=150, doc_length=80, vocab_size=120, hyper=hyper,
                        seed=sim_seed)
    post = pt.fit("hlda", sim.corpus, depth=3, gamma=0.5, gem_mean=0.4, gem_scale=10.0,
                  eta=0.05, num_chains=2, num_samples=20, warmup=warmup, seed=0,
                  progress=False, init=init)
    return {"sim_seed": sim_seed,
            "true_nodes": np.bincount(sim.truth["node_level"]).tolist(),
            "num_nodes": np.bincount(post.estimates["node_level"]).tolist(),
            "lp_mean": float(post.groups["sample_stats"]["lp"].mean())}


def run_planted(seed: int, shape: list[int], init: str, moves: bool,
                sweeps: int) -> dict[str, Any]:
    from ppltopics.inference.hlda import HLDAKernel
    from ppltopics.models import hlda as H

    corpus, truth, z, hyper = planted(seed, shape)
    kernel = HLDAKernel(corpus, depth=hyper.depth, gamma=0.5, eta=0.02, gem_mean=0.4,
                        gem_scale=50.0, split_merge=moves, init=init)
    return _chain(kernel, seed, sweeps, truth, H.log_joint(corpus, truth, z, hyper))


def real_corpora() -> dict[str, Any]:
    from ppltopics.datasets import load_20newsgroups, load_ghlda_wiki

    wiki = load_ghlda_wiki(DATA / "ghlda-corpora" / "wiki")
    news = load_20newsgroups(DATA / "20newsgroups-bydate")
    news = news.subset(np.random.default_rng(0).choice(news.num_docs, 3000, replace=False))
    return {"wiki": wiki, "20ng-3k": news}


def run_hlda_real(corpus: Any, eta: float | None, init: str, seed: int,
                  checkpoints: tuple[int, ...] = (10, 50, 100)) -> dict[str, Any]:
    from ppltopics.inference.hlda import HLDAKernel
    from ppltopics.models.hlda import HLDAHyper

    h = HLDAHyper(depth=3, gamma=1.0, gem_mean=0.5, gem_scale=100.0, eta=eta)
    kernel = HLDAKernel(corpus, depth=3, gamma=1.0, eta=h.eta_vector, gem_mean=0.5,
                        gem_scale=100.0, init=init)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    state = kernel.init_state(rng)
    start_s = time.perf_counter() - t0
    out: dict[str, Any] = {"seed": seed, "start_s": start_s, "lp": {}, "num_nodes": {}}
    for t in range(1, max(checkpoints) + 1):
        kernel.step(state, rng, warmup=True)
        if t in checkpoints:
            rec = kernel.record(state)
            out["lp"][t] = float(rec["lp"])
            out["num_nodes"][t] = rec["num_nodes"].tolist()
    out["wall_s"] = time.perf_counter() - t0
    return out


def run_ghlda_real(corpus: Any, init: str, seed: int, sweeps: int = 50) -> dict[str, Any]:
    import ppltopics as pt

    vectors = pt.WordVectors.glove(corpus.vocab)
    corpus = corpus.restrict(vectors.vocab)
    t0 = time.perf_counter()
    post = pt.fit("ghlda", corpus, vectors=vectors, num_chains=1, num_samples=1,
                  warmup=sweeps - 1, seed=seed, progress=False, init=init)
    ss = post.groups["sample_stats"]
    return {"seed": seed, "lp": {sweeps: float(ss["lp"].ravel()[-1])},
            "num_nodes": {sweeps: ss["num_nodes"][0, -1].tolist()},
            "wall_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--sweeps", type=int, default=100)
    ap.add_argument("--real", action="store_true", help="also the real-corpus comparison")
    ap.add_argument("--real-seeds", type=int, default=3)
    ap.add_argument("--starts", default=",".join(STARTS),
                    help="which starts to run (default: random,cluster)")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "tree_init.json"))
    args = ap.parse_args()
    starts = args.starts.split(",")
    if not set(starts) <= set(STARTS):
        ap.error(f"--starts takes {', '.join(STARTS)}")
    run_planted(0, [2, 2], "cluster", True, 2)  # compile
    planted_res: dict[str, dict[str, list[dict[str, Any]]]] = {}
    rows = ["| shape | start | tree moves | planted tree found | log joint − planted (mean, "
            "range) | s per run |", "|---|---|---|---|---|---|"]
    jobs = [(name, name, lambda s, i, m, shape=shape: run_planted(s, shape, i, m, args.sweeps))
            for name, shape in SHAPES.items()]
    jobs.append(("ghlda 2x2", "2x2, GhLDA (M = 4)",  # GhLDA, its 2 × 2 planted tree
                 lambda s, i, m: run_planted_gaussian(s, i, args.sweeps, m)))
    for name, label, job in jobs:
        for init in starts:
            for moves in (False, True):
                rs = [job(s, init, moves) for s in range(args.seeds)]
                planted_res.setdefault(name, {})[f"{init}{', moves' if moves else ''}"] = rs
                rows.append(f"| {label} | {init} | {'on' if moves else 'off'} | "
                            f"{found_and_gap(rs)} | {np.mean([r['wall_s'] for r in rs]):.2f} |")
                print(rows[-1], flush=True)
    # trees drawn from the nCRP prior (mostly one-child level-1 nodes): the counter-case
    ncrp = {init: [run_ncrp_sim(s, init) for s in (3, 4, 5)] for init in starts}
    nrows = ["| corpus seed | true nodes per level | start | fitted nodes | mean lp |",
             "|---|---|---|---|---|"]
    for i, seed in enumerate((3, 4, 5)):
        for init in starts:
            r = ncrp[init][i]
            nrows.append(f"| {seed} | {r['true_nodes']} | {init} | {r['num_nodes']} | "
                         f"{r['lp_mean']:,.0f} |")
    print("\n".join(nrows), flush=True)
    out: dict[str, Any] = {"sweeps": args.sweeps, "planted": planted_res,
                           "planted_table": "\n".join(rows), "ncrp_sims": ncrp,
                           "ncrp_table": "\n".join(nrows)}
    if args.real:
        corpora = real_corpora()
        real: dict[str, Any] = {}
        rows = ["| corpus | model | start | log p(w, z, c) (mean over seeds) | nodes per level "
                "(seed 0) | s per run |", "|---|---|---|---|---|---|"]
        jobs = [("wiki", "hLDA, η default", lambda i, s: run_hlda_real(corpora["wiki"], None,
                                                                       i, s)),
                ("wiki", "hLDA, η = 0.1", lambda i, s: run_hlda_real(corpora["wiki"], 0.1, i,
                                                                     s)),
                ("20ng-3k", "hLDA, η default", lambda i, s: run_hlda_real(corpora["20ng-3k"],
                                                                          None, i, s)),
                ("wiki", "GhLDA (pt.fit defaults)", lambda i, s: run_ghlda_real(
                    corpora["wiki"], i, s))]
        for corpus_name, model, job in jobs:
            for init in starts:
                rs = [job(init, s) for s in range(args.real_seeds)]
                real.setdefault(f"{corpus_name} / {model}", {})[init] = rs
                last = max(rs[0]["lp"])
                lps = np.array([r["lp"][last] for r in rs])
                rows.append(f"| {corpus_name} | {model} | {init} | {lps.mean():,.0f} after "
                            f"{last} sweeps | {rs[0]['num_nodes'][last]} | "
                            f"{np.mean([r['wall_s'] for r in rs]):.1f} |")
                print(rows[-1], flush=True)
        out.update(real=real, real_table="\n".join(rows))
    out["machine"] = machine_facts()
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(out["planted_table"])
    print(out["ncrp_table"])
    if args.real:
        print(out["real_table"])


if __name__ == "__main__":
    main()
