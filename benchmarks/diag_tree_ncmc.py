"""Why hLDA chains from nCRP-prior paths keep a wrong tree (issue 12): an annealed merge.

On ``bench_tree_init.py``'s planted 2 × 2 tree (hLDA, tree moves on, nCRP-prior start, 100
sweeps) a planted level-1 node's two leaves end on two level-1 branches u, v of one child
each.  The merge c → c' that repairs it (v's documents through u) is rejected by every exact
move of :mod:`ppltopics.inference._tree_moves`: with the levels kept it costs ~1,900 nats,
and the level scans that recover them cost as much in the reverse path's probability.

This script runs the merge as a non-equilibrium (annealed) move instead (Neal 2001;
Nilmeier et al. 2011): intermediate targets π_β(z) ∝ p(w, z | c)^(1−β) p(w, z | c')^β for
β = 1/T, 2/T, …, 1; before each level scan (uniform random order, so reversible in
distribution) under π_β the log weight gains

    (1/T) · [log p(w, z | c') − log p(w, z | c)]
        = (1/T) · [log p(w_{u∪v}) − log p(w_u) − log p(w_v) + log nCRP(c') − log nCRP(c)]

(level-1 node marginals; the GEM level prior and the other nodes are the same under both
trees).  The summed weight W is the move's log acceptance ratio (the merge is deterministic
and the reverse split of two one-child branches has one outcome), and E[e^W] = p(c' | w) /
p(c | w), so W bounds the log posterior ratio of the two trees from below.  ``--swap`` first
exchanges levels 1 and 2 of u's documents (a deterministic relabelling whose cost enters W).

    .venv/bin/python benchmarks/diag_tree_ncmc.py [--seeds 0,1,2] [--steps 100,1000,5000]
        [--reps 2] [--swap]        # -> benchmarks/results/diag_tree_ncmc.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numba
import numpy as np
from bench_tree_init import planted
from scipy.special import gammaln

from ppltopics.inference._sampling import categorical
from ppltopics.inference._tree_moves import _log_joint
from ppltopics.inference.hlda import HLDAKernel, _masks, gem_level_weights
from ppltopics.models import hlda as H
from ppltopics.testing.planted import holds_tree

OUT = Path(__file__).parent / "results" / "diag_tree_ncmc.json"


@numba.njit
def _tempered_scan(tokens: np.ndarray, token_docs: np.ndarray, word_ids: np.ndarray,
                   levels: np.ndarray, paths: np.ndarray, ndl: np.ndarray, nwt: np.ndarray,
                   nsum: np.ndarray, eta: np.ndarray, V: int, gem_m: float, gem_pi: float,
                   u: int, v: int, beta: float, rng: np.random.Generator,
                   own_power: float = 1.0) -> None:
    """One level scan of ``tokens`` in order under π_β: a token whose level-1 node is u or v
    scores level 1 by (1 − β)·log pred(own node) + β·log pred(u ∪ v).  ``own_power`` < 1
    (with u = v = −1) tempers every node's predictive instead: the scan then leaves
    p(z) p(w | c, z)^own_power invariant (``diag_tree_marginal.py``'s AIS)."""
    L = paths.shape[1]
    gem = np.empty(L)
    cnt = np.empty(L)
    lp = np.empty(L)
    p = np.empty(L)
    for t in range(tokens.shape[0]):
        n = tokens[t]
        d = token_docs[n]
        w = word_ids[n]
        x = paths[d, levels[n]]
        nwt[w, x] -= 1
        nsum[x] -= 1
        ndl[d, levels[n]] -= 1
        for j in range(L):
            cnt[j] = ndl[d, j]
        gem_level_weights(cnt, gem_m, gem_pi, gem)
        top = -1e300
        for j in range(L):
            x = paths[d, j]
            own = math.log((nwt[w, x] + eta[j]) / (nsum[x] + V * eta[j]))
            lp[j] = math.log(gem[j]) + own_power * own
            if j == 1 and (x == u or x == v):
                both = math.log((nwt[w, u] + nwt[w, v] + eta[j])
                                / (nsum[u] + nsum[v] + V * eta[j]))
                lp[j] += beta * (both - own)
            top = max(top, lp[j])
        for j in range(L):
            p[j] = math.exp(lp[j] - top)
        new = categorical(rng, p, L)
        levels[n] = new
        x = paths[d, new]
        nwt[w, x] += 1
        nsum[x] += 1
        ndl[d, new] += 1


def _logml(col: np.ndarray, eta: float, V: int) -> float:
    nz = col[col > 0]
    return float((gammaln(nz + eta) - gammaln(eta)).sum() + gammaln(V * eta)
                 - gammaln(col.sum() + V * eta))


def _stuck_chain(seed: int) -> tuple[Any, ...]:
    corpus, truth, z, hyper = planted(seed, [2, 2])
    kernel = HLDAKernel(corpus, depth=3, gamma=0.5, eta=0.02, gem_mean=0.4, gem_scale=50.0,
                        split_merge=True, init="random")
    rng = np.random.default_rng(seed)
    state = kernel.init_state(rng)
    for _ in range(100):
        kernel.step(state, rng, warmup=True)
    return kernel, state, truth, H.log_joint(corpus, truth, z, hyper)


def _one_child_pairs(paths: np.ndarray, truth: np.ndarray) -> list[tuple[int, int]]:
    """(u, v): the two found level-1 nodes holding most of one planted level-1 node's
    documents, when both have one child."""
    by: dict[int, list[tuple[int, int]]] = defaultdict(list)
    pairs = zip(truth[:, 1].tolist(), paths[:, 1].tolist(), strict=True)
    for (a, b), n in Counter(pairs).items():
        by[a].append((n, b))
    out = []
    for lst in by.values():
        if len(lst) >= 2:
            lst.sort(reverse=True)
            u, v = int(lst[0][1]), int(lst[1][1])
            if all(np.unique(paths[paths[:, 1] == x, 2]).size == 1 for x in (u, v)):
                out.append((u, v))
    return out


def annealed_merge(kernel: Any, state: dict[str, np.ndarray], u: int, v: int, steps: int,
                   swap: bool, rng: np.random.Generator) -> dict[str, float]:
    """The annealed merge of u and v from ``state`` (left unchanged): W, the final merged
    state's log joint and the final state."""
    paths = state["paths"]
    du, dv = np.flatnonzero(paths[:, 1] == u), np.flatnonzero(paths[:, 1] == v)
    docs = np.concatenate([du, dv])
    merged = paths.copy()
    merged[dv, 1] = u
    s = {k: x.copy() for k, x in state.items()}
    lp0 = _log_joint(kernel, s)
    if swap:
        lev = s["levels"].copy()
        tok = kernel.doc_tokens(du)
        lev[tok] = np.where(lev[tok] == 1, 2, np.where(lev[tok] == 2, 1, lev[tok]))
        kernel.apply_paths(s, paths.copy(), du, lev)
    c = kernel.corpus
    V, eta = c.vocab_size, np.asarray(kernel.eta, dtype=np.float64)

    def nodes_term(nwt: np.ndarray) -> float:
        return (_logml(nwt[:, u] + nwt[:, v], eta[1], V) - _logml(nwt[:, u], eta[1], V)
                - _logml(nwt[:, v], eta[1], V))

    probe = {k: x.copy() for k, x in s.items()}
    kernel.apply_paths(probe, merged, docs, None)
    ncrp = _log_joint(kernel, probe) - _log_joint(kernel, s) - nodes_term(s["nwt"])
    work = _log_joint(kernel, s) - lp0  # the swap's cost (0 without)
    tokens = kernel.doc_tokens(docs)
    for t in range(1, steps + 1):
        work += (nodes_term(s["nwt"]) + ncrp) / steps
        _tempered_scan(rng.permutation(tokens), kernel.token_docs, c.word_ids, s["levels"],
                       s["paths"], s["ndl"], s["nwt"], s["nsum"], eta, V, kernel.gem_mean,
                       kernel.gem_scale, u, v, t / steps, rng)
    s["nzm"] = None
    kernel.apply_paths(s, merged, docs, None)
    _masks(s)
    return {"log_weight": work, "final_minus_stuck": _log_joint(kernel, s) - lp0,
            "state": s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", default="100,1000,5000")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--swap", action="store_true")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    rows = []
    for seed in map(int, args.seeds.split(",")):
        kernel, state, truth, planted_lp = _stuck_chain(seed)
        stuck_gap = _log_joint(kernel, state) - planted_lp
        for u, v in _one_child_pairs(state["paths"], truth):
            for steps in map(int, args.steps.split(",")):
                for rep in range(args.reps):
                    t0 = time.perf_counter()
                    r = annealed_merge(kernel, state, u, v, steps, args.swap,
                                       np.random.default_rng(1000 * seed + rep))
                    row = {"seed": seed, "u": u, "v": v, "steps": steps, "swap": args.swap,
                           "stuck_minus_planted": stuck_gap,
                           "log_weight": r["log_weight"],
                           "final_minus_stuck": r["final_minus_stuck"],
                           "planted_tree_found": bool(holds_tree(r["state"]["paths"], truth)),
                           "seconds": time.perf_counter() - t0}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    print("\n| seed | T | log weight W (mean, range) | final − stuck | planted tree |")
    print("|---|---|---|---|---|")
    for key in dict.fromkeys((r["seed"], r["steps"]) for r in rows):
        rs = [r for r in rows if (r["seed"], r["steps"]) == key]
        w = np.array([r["log_weight"] for r in rs])
        f = np.array([r["final_minus_stuck"] for r in rs])
        print(f"| {key[0]} | {key[1]} | {w.mean():.0f} ({w.min():.0f} … {w.max():.0f}) | "
              f"{f.mean():.0f} | {sum(r['planted_tree_found'] for r in rs)}/{len(rs)} |")


if __name__ == "__main__":
    main()
