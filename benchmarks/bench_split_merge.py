"""Split–merge moves: share of random-start runs that recover every planted topic.

Planted Gaussian corpora (:func:`ppltopics.testing.planted.planted_gaussian`, the issue's
corpus): K clusters of word vectors in 10 dimensions, centres at norm 3 in random
directions, rms distance to the centre ``spread``·3 (0.15: well separated; 0.35:
overlapping), 40 words per cluster, documents with θ_d ~ Dir(0.2) over the clusters.
LDA: planted topics in pairs of near-duplicates (each pair shares half its vocabulary).
Each run fits from a random start for ``sweeps`` sweeps
with and without ``split_merge`` and counts it as recovered when every planted topic has a
fitted topic at matched cosine ≥ 0.95 (Hungarian matching; GLDA/CGTM: topic means vs centres;
LDA: φ vs planted word distributions).  Also reports the moves' cost as % of sweep time and,
for GLDA, ``lp_gap`` = log p(v, z) of the final state minus that of the planted assignment
(a run that misses the planted topics with lp_gap ≥ 0 found a state the posterior prefers:
a limit of the data, not of the sampler's mixing); for CGTM, whose log joint needs an η for
the planted z, ``loglik_gap`` = log p(v | z) of the final state minus that of the planted z.

    python benchmarks/bench_split_merge.py [--seeds 20] [--first-seed 0] [--sweeps 200]
        [--configs glda-fast,cgtm]
        [--word-view BETA,LAMBDA]   # the Gaussian models with the word view
        [--clusters 6 --spread 0.15]   # the issue's corpus, fixed
        [--split-merge '{"every": 3}']  # the moves' settings (default: the library's)
        [--init kmeans]               # the Gaussian models' start (default: random)
        [--anneal 60]                 # the Gaussian models' annealed warm-up sweeps
        [--moves-only]                # skip the runs without moves

Writes benchmarks/results/split_merge.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from ppltopics.corpus import Corpus
from ppltopics.inference.cgtm import CGTMKernel
from ppltopics.inference.glda import GLDAKernel
from ppltopics.inference.lda import LDAKernel
from ppltopics.models.cgtm import CGTMHyper
from ppltopics.models.glda import GLDAHyper
from ppltopics.models.lda import LDAHyper
from ppltopics.testing.planted import planted_gaussian


def planted_lda(seed: int, K: int = 6, V: int = 120, docs: int = 300, length: int = 50,
                alpha: float = 0.2) -> tuple[Corpus, np.ndarray]:
    """LDA corpus whose topics come in near-duplicate pairs (half their words shared)."""
    rng = np.random.default_rng(seed)
    phi = np.full((K, V), 1e-4)
    block = V // K
    for k in range(K):
        own = np.arange(k * block, (k + 1) * block)
        twin = (k // 2) * 2 + (1 - k % 2)
        shared = np.arange(twin * block, twin * block + block // 2) if twin < K else own
        phi[k, own] += 1.0
        phi[k, shared] += 1.0 if twin < K else 0.0
    phi /= phi.sum(axis=1, keepdims=True)
    theta = rng.dirichlet(np.full(K, alpha), size=docs)
    ids = np.concatenate([
        rng.choice(V, size=length, p=theta[d] @ phi) for d in range(docs)]).astype(np.int32)
    off = np.arange(docs + 1, dtype=np.int64) * length
    return Corpus(ids, off, [f"w{i}" for i in range(V)]), phi


def matched_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of each row of ``b`` to its Hungarian-matched row of ``a``."""
    an = a / np.linalg.norm(a, axis=1, keepdims=True)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    cos = bn @ an.T
    r, c = linear_sum_assignment(-cos)
    return cos[r, c]


def run(kernel: Any, sweeps: int, seed: int) -> tuple[dict[str, Any], float, float, int]:
    """Random-start chain; returns (final state, total seconds, seconds in the moves,
    accepted moves)."""
    rng = np.random.default_rng(seed)
    state = kernel.init_state(rng)
    moves = kernel.split_merge_moves
    spent = [0.0, 0]

    def timed(*a: Any, **kw: Any) -> None:
        t = time.perf_counter()
        moves(*a, **kw)
        spent[0] += time.perf_counter() - t
        if "sm_accepted" in state:
            spent[1] += int(state["sm_accepted"][0])

    kernel.split_merge_moves = timed
    t0 = time.perf_counter()
    for s in range(sweeps):
        kernel.step(state, rng, warmup=s < sweeps // 2)
    return state, time.perf_counter() - t0, spent[0], int(spent[1])


def gaussian_kernel(model: str, corpus: Corpus, table: np.ndarray, K: int, sm: Any,
                    method: str, view: dict[str, float] | None = None,
                    init: str = "random", anneal: int = 0) -> Any:
    view = view or {}
    if model == "cgtm":
        r = CGTMHyper(num_topics=K).resolve(table, counts=corpus.word_counts())
        return CGTMKernel(corpus, table, K, r.mu0, r.kappa0, r.nu0, r.psi0, r.eta_mu0,
                          r.eta_kappa0, r.eta_nu0, r.eta_psi0, split_merge=sm, init=init,
                          anneal=anneal, **view)
    r = GLDAHyper(num_topics=K).resolve(table, counts=corpus.word_counts())
    return GLDAKernel(corpus, table, K, r.alpha, r.mu0, r.kappa0, r.nu0, r.psi0,
                      method=method, split_merge=sm, init=init, anneal=anneal, **view)


def likelihood_gap(corpus: Corpus, table: np.ndarray, K: int, z: np.ndarray,
                   planted: np.ndarray) -> float:
    """log p(v | z) − log p(v | planted z), the NIW marginal of the vectors given the
    assignments (GLDA's and CGTM's alike): ≥ 0 where the state found explains the vectors at
    least as well as the planted one."""
    kernel = gaussian_kernel("glda", corpus, table, K, False, "exact")
    state = kernel.init_state(np.random.default_rng(0))
    out = []
    for assignment in (z, planted):
        state["z"] = assignment.copy()
        kernel.resync(state)
        out.append(float(kernel.record(state)["log_likelihood"]))
    return out[0] - out[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="corpus seeds FIRST .. FIRST+SEEDS-1 (fresh corpora for a check)")
    ap.add_argument("--sweeps", type=int, default=200)
    ap.add_argument("--configs", default="glda-fast,glda-exact,cgtm,lda")
    ap.add_argument("--docs", type=int, default=400)
    ap.add_argument("--clusters", type=int, default=0,
                    help="fixed K (default: drawn per seed from 6, 8, 12, 20)")
    ap.add_argument("--spread", type=float, default=0.0,
                    help="fixed spread (default: drawn per seed from 0.15, 0.35)")
    ap.add_argument("--word-view", default="", metavar="BETA,LAMBDA",
                    help="Gaussian models with the word view (beta, vector_weight)")
    ap.add_argument("--split-merge", default="", metavar="JSON",
                    help="split_merge= settings for the runs with moves (default: True)")
    ap.add_argument("--init", default="random", choices=("random", "kmeans"),
                    help="the Gaussian models' start (LDA always starts at random)")
    ap.add_argument("--anneal", type=int, default=0,
                    help="the Gaussian models' annealed warm-up sweeps (anneal=; default 0)")
    ap.add_argument("--moves-only", action="store_true",
                    help="skip the runs without split-merge moves")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "split_merge.json"))
    args = ap.parse_args()
    view = {}
    if args.word_view:
        beta, lam = (float(x) for x in args.word_view.split(","))
        view = {"beta": beta, "vector_weight": lam}
    settings: Any = json.loads(args.split_merge) if args.split_merge else True
    rows: list[dict[str, Any]] = []
    for config in args.configs.split(","):
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            rng = np.random.default_rng(1000 + seed)
            K = args.clusters or int(rng.choice([6, 8, 12, 20]))
            spread = args.spread or float(rng.choice([0.15, 0.35]))
            for sm in ((settings,) if args.moves_only else (False, settings)):
                extra: dict[str, float] = {}
                if config == "lda":
                    corpus, phi = planted_lda(seed, K=K, docs=args.docs)
                    kernel = LDAKernel(corpus, LDAHyper(num_topics=K, alpha=0.2, beta=0.05),
                                       split_merge=sm)
                    state, total, spent, accepted = run(kernel, args.sweeps, seed)
                    est = kernel.word_topic_counts(state) + 0.05
                    cos = matched_cosine(phi, est)
                else:
                    model, _, method = config.partition("-")
                    corpus, vectors, centres, planted = planted_gaussian(
                        seed, clusters=K, spread=spread, docs=args.docs)
                    table = vectors.matrix(corpus.vocab)
                    kernel = gaussian_kernel(model, corpus, table, K, sm, method or "exact",
                                             view, args.init, args.anneal)
                    state, total, spent, accepted = run(kernel, args.sweeps, seed)
                    cos = matched_cosine(centres, kernel.topic_means(state))
                    if model == "glda":  # is the state found as probable as the planted one?
                        extra["lp_gap"] = float(kernel.record(state)["lp"])
                        state["z"] = planted.copy()
                        kernel.resync(state)
                        extra["lp_gap"] -= float(kernel.record(state)["lp"])
                    else:  # CGTM: p(v, z, η) needs an η for the planted z; compare p(v | z)
                        extra["loglik_gap"] = likelihood_gap(corpus, table, K, state["z"],
                                                             planted)
                row = {"config": config, "seed": seed, "K": K, "spread": spread,
                       "split_merge": bool(sm), "min_cos": float(cos.min()),
                       "recovered": bool(cos.min() >= 0.95), "seconds": total,
                       "move_seconds": spent,
                       "accepted": accepted, **extra}
                rows.append(row)
                print(json.dumps(row), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    print("\n| model | runs | recovered without | recovered with | move cost (% of sweep) "
          "| with: not recovered but lp ≥ planted's |")
    print("|---|---|---|---|---|---|")
    for config in args.configs.split(","):
        off = [r for r in rows if r["config"] == config and not r["split_merge"]]
        on = [r for r in rows if r["config"] == config and r["split_merge"]]
        if not on:
            continue
        timed = on[1:] or on  # the first run also compiles the kernels (numba JIT)
        cost = sum(r["move_seconds"] for r in timed) / max(
            sum(r["seconds"] - r["move_seconds"] for r in timed), 1e-9)
        without = f"{sum(r['recovered'] for r in off)}/{len(off)}" if off else "–"
        print(f"| {config} | {len(on)} | {without} | "
              f"{sum(r['recovered'] for r in on)}/{len(on)} | {100 * cost:.0f} % | "
              f"{sum(r.get('lp_gap', -1) >= 0 and not r['recovered'] for r in on)} |")


if __name__ == "__main__":
    main()
