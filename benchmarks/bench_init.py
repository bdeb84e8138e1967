"""Informed starts for GLDA: share of chains that recover every planted topic.

Planted corpus (:func:`planted_gaussian`): ``clusters`` Gaussian word clusters in ``dim``
dimensions, centres c_k of norm ``radius`` in uniformly random directions, word vectors
x_w = c_k + ε_w with ε_w ~ N(0, s² I / dim) and s = ``spread``·``radius`` (so the root mean
square distance of a word to its centre is s), ``words`` words per cluster; documents of
``doc_len`` tokens with θ_d ~ Dirichlet(α), z_n ~ θ_d, w_n uniform over cluster z_n's words.

Every (corpus seed, chain) run fits GLDA (``method="fast"``, K = ``clusters``) for
``sweeps`` sweeps with ``init`` = "random", "kmeans" and "lda"; a topic is recovered when the
cosine between its planted centre and its Hungarian-matched fitted topic mean (last state) is
≥ 0.95, a run when every topic is.  Also reported: the start's own matched cosines (sweep 0)
and the seconds per run.

    python benchmarks/bench_init.py [--seeds 10] [--chains 2] [--sweeps 200] [--out PATH]
                                    [--clusters 6] [--spread 0.15]

Results: ``results/init.json`` (20 seeds, the defaults) and ``results/init_overlap.json``
(``--clusters 8 --spread 0.4``: wider clusters that come closer to each other).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ppltopics.testing.planted import matched_cosines, planted_gaussian  # noqa: E402

RECOVERED = 0.95


def run(corpus: Any, vectors: Any, centres: np.ndarray, init: str, seed: int, chains: int,
        sweeps: int) -> list[dict[str, Any]]:
    """``chains`` GLDA chains of ``sweeps`` sweeps from ``init``, driven by hand."""
    from ppltopics.inference.glda import GLDAKernel
    from ppltopics.models.glda import GLDAHyper

    table = vectors.matrix(corpus.vocab)
    k = centres.shape[0]
    r = GLDAHyper(num_topics=k).resolve(table, counts=corpus.word_counts())
    kernel = GLDAKernel(corpus, table, k, r.alpha, r.mu0, r.kappa0, r.nu0, r.psi0,
                        method="fast", init=init)
    out = []
    for c, ss in enumerate(np.random.SeedSequence(seed).spawn(chains)):
        rng = np.random.default_rng(ss)
        t0 = time.perf_counter()
        state = kernel.init_state(rng)
        t_init = time.perf_counter() - t0
        start = matched_cosines(centres, kernel.topic_means(state))
        for it in range(sweeps):
            kernel.step(state, rng, warmup=it < sweeps // 2)
        end = matched_cosines(centres, kernel.topic_means(state))
        out.append({"chain": c, "start_cosine": np.round(start, 3).tolist(),
                    "final_cosine": np.round(end, 3).tolist(),
                    "recovered": bool(np.all(end >= RECOVERED)),
                    "lp": float(kernel.record(state)["lp"]),
                    "init_seconds": round(t_init, 3),
                    "seconds": round(time.perf_counter() - t0, 2)})
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from _common import machine_facts

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--sweeps", type=int, default=200)
    p.add_argument("--inits", default="random,kmeans,lda")
    p.add_argument("--clusters", type=int, default=6)
    p.add_argument("--spread", type=float, default=0.15,
                   help="rms distance of a word to its centre, as a fraction of the radius")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "init.json"))
    args = p.parse_args(argv)
    inits = args.inits.split(",")
    runs: dict[str, list[dict[str, Any]]] = {i: [] for i in inits}
    t0 = time.perf_counter()
    for s in range(args.seeds):
        corpus, vectors, centres, _ = planted_gaussian(s, clusters=args.clusters,
                                                    spread=args.spread)
        for init in inits:
            for r in run(corpus, vectors, centres, init, 1000 + s, args.chains, args.sweeps):
                runs[init].append({"corpus_seed": s, **r})
                print(f"seed {s} {init:6s} chain {r['chain']} recovered={r['recovered']} "
                      f"min cos start {min(r['start_cosine']):.2f} "
                      f"end {min(r['final_cosine']):.2f} ({r['seconds']} s)", flush=True)
    table = {i: {"runs": len(v), "recovered": sum(r["recovered"] for r in v),
                 "share": round(sum(r["recovered"] for r in v) / max(len(v), 1), 3),
                 "mean_start_cosine": round(float(np.mean([r["start_cosine"] for r in v])), 3),
                 "mean_final_cosine": round(float(np.mean([r["final_cosine"] for r in v])), 3),
                 "mean_init_seconds": round(float(np.mean([r["init_seconds"] for r in v])), 3),
                 "mean_seconds": round(float(np.mean([r["seconds"] for r in v])), 2)}
             for i, v in runs.items()}
    result = {"benchmark": "init", "model": "glda", "method": "fast",
              "corpus": {"clusters": args.clusters, "dim": 10, "radius": 3.0,
                         "spread": args.spread, "words": 40,
                         "docs": 400, "doc_len": 60, "alpha": 0.2},
              "seeds": args.seeds, "chains": args.chains, "sweeps": args.sweeps,
              "recovered_threshold": RECOVERED, "table": table, "runs": runs,
              "seconds": round(time.perf_counter() - t0, 1), "machine": machine_facts()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    for i, row in table.items():
        print(f"{i:7s} {row['recovered']}/{row['runs']} recovered ({row['share']:.0%}); "
              f"mean matched cosine start {row['mean_start_cosine']:.3f} "
              f"end {row['mean_final_cosine']:.3f}")
    return result


if __name__ == "__main__":
    main()
