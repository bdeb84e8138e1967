"""Is the tree a random start gets stuck in a worse tree once the levels are summed out?
(issue 12).

``diag_tree_ncmc.py`` ran the merge that repairs a stuck tree as an annealed move; its log
weight (−16 … −203 at 5,000 scans) only bounds the two trees' log posterior ratio from
below.  This script estimates the quantity that decides it, the log marginal posterior of
each tree with every token's level summed out,

    log p(c | w) = log nCRP(c) + log p(w | c) + const,
    p(w | c) = Σ_z p(z) p(w | c, z)          (p(z): the collapsed GEM level prior),

for the planted tree and for the tree a chain from nCRP-prior paths ends in
(``bench_tree_init.py``'s planted 2 × 2 corpora, hLDA with the tree moves, 100 sweeps).
Forward AIS over the levels with the paths fixed (Neal 2001): z_0 drawn from the GEM prior
(document by document, the collapsed urn), then for β_1 < … < β_T = 1 the weight gains
(β_t − β_{t−1}) · log p(w | c, z_{t−1}) and a level scan leaves p(z) p(w | c, z)^{β_t}
invariant; E[exp W] = p(w | c), so E[W] ≤ log p(w | c).  Reverse AIS for the planted tree
(Grosse et al. 2015, "sandwiching"): from the simulated levels, an exact draw of
p(z | w, c) given the planted paths, the same scans in reverse order; E[−W] ≥ log p(w | c).
Reported: log-mean-exp estimates over R runs, the bounds' means, for several T.
``--check`` first compares both with exact enumeration over every level assignment of a toy
corpus.

    .venv/bin/python benchmarks/diag_tree_marginal.py [--seeds 0,1,2,4,5] [--steps 1000,5000]
        [--runs 4] [--estimates stuck,planted,planted-reverse] [--check]
        # -> benchmarks/results/diag_tree_marginal.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path
from typing import Any

import numba
import numpy as np
from bench_tree_init import planted
from diag_tree_ncmc import _tempered_scan as scan_levels
from scipy.special import logsumexp

from ppltopics.inference._sampling import categorical
from ppltopics.inference._tree import gem_level_weights, ncrp_log_prob_tree, tree_from_state
from ppltopics.inference.hlda import HLDAKernel
from ppltopics.testing.planted import holds_tree

OUT = Path(__file__).parent / "results" / "diag_tree_marginal.json"


@numba.njit(cache=True)
def _prior_levels(doc_offsets: np.ndarray, L: int, gem_m: float, gem_pi: float,
                  rng: np.random.Generator, levels: np.ndarray, ndl: np.ndarray) -> None:
    """z ~ p(z): each document's levels drawn one after another from the collapsed GEM urn
    (:func:`gem_level_weights`), an exact draw from the exchangeable prior."""
    g = np.empty(L)
    for d in range(doc_offsets.shape[0] - 1):
        for j in range(L):
            ndl[d, j] = 0
        for n in range(doc_offsets[d], doc_offsets[d + 1]):
            gem_level_weights(ndl[d].astype(np.float64), gem_m, gem_pi, g)
            j = categorical(rng, g, L)
            levels[n] = j
            ndl[d, j] += 1


@numba.njit(cache=True)
def _log_prior_levels(doc_offsets: np.ndarray, levels: np.ndarray, L: int, gem_m: float,
                      gem_pi: float) -> float:
    """log p(z) of the collapsed GEM prior (the urn's sequential probabilities)."""
    g = np.empty(L)
    cnt = np.zeros(L)
    out = 0.0
    for d in range(doc_offsets.shape[0] - 1):
        cnt[:] = 0.0
        for n in range(doc_offsets[d], doc_offsets[d + 1]):
            gem_level_weights(cnt, gem_m, gem_pi, g)
            s = 0.0
            for j in range(L):
                s += g[j]
            out += math.log(g[levels[n]] / s)
            cnt[levels[n]] += 1.0
    return out


@numba.njit(cache=True)
def _counts(word_ids: np.ndarray, token_docs: np.ndarray, levels: np.ndarray,
            paths: np.ndarray, nwt: np.ndarray, nsum: np.ndarray) -> None:
    nwt[:] = 0
    nsum[:] = 0
    for n in range(word_ids.shape[0]):
        x = paths[token_docs[n], levels[n]]
        nwt[word_ids[n], x] += 1
        nsum[x] += 1


@numba.njit(cache=True)
def _loglik(nwt: np.ndarray, nsum: np.ndarray, node_level: np.ndarray,
            eta: np.ndarray) -> float:
    """log p(w | c, z) = Σ_v [log Γ(Vη_ℓ) − log Γ(n_v + Vη_ℓ) + Σ_w (log Γ(n_vw + η_ℓ) −
    log Γ(η_ℓ))] over the nodes holding tokens."""
    V = nwt.shape[0]
    out = 0.0
    for x in range(nsum.shape[0]):
        if nsum[x] == 0:
            continue
        e = eta[node_level[x]]
        out += math.lgamma(V * e) - math.lgamma(nsum[x] + V * e)
        lg = math.lgamma(e)
        for w in range(V):
            if nwt[w, x] > 0:
                out += math.lgamma(nwt[w, x] + e) - lg
    return out


def _tempered_scan(order: np.ndarray, kernel: Any, state: dict[str, np.ndarray],
                   beta: float, rng: np.random.Generator) -> None:
    """One level scan (tokens in ``order``) leaving p(z) p(w | c, z)^β invariant: token n's
    level ℓ has weight GEM(ℓ | the document's other levels) · pred_ℓ(w_n)^β, pred the
    node's collapsed Dirichlet predictive (n_{x,w} + η_ℓ)/(n_x + Vη_ℓ)
    (``diag_tree_ncmc._tempered_scan`` with every node tempered and no merged pair)."""
    c = kernel.corpus
    scan_levels(order, c.token_docs, c.word_ids, state["levels"], state["paths"], state["ndl"],
                state["nwt"], state["nsum"], np.asarray(kernel.eta, dtype=np.float64),
                c.vocab_size, kernel.gem_mean, kernel.gem_scale, -1, -1, 0.0, rng, beta)


def schedule(steps: int) -> np.ndarray:
    """β_0 = 0 < β_1 < … < β_T = 1: (t/T)^4, fine steps where log p(w | c, z) changes
    fastest (near β = 0)."""
    return (np.arange(steps + 1) / steps) ** 4


def _tree_state(kernel: Any, paths: np.ndarray, levels: np.ndarray) -> dict[str, np.ndarray]:
    """The kernel's state (tree arrays, n_vw, n_v, per-document level counts) of ``paths``
    and ``levels``."""
    state = {"paths": paths.copy(), "levels": levels.astype(np.int32).copy()}
    kernel.resync(state)
    return state


def _state_loglik(kernel: Any, state: dict[str, np.ndarray]) -> float:
    return _loglik(state["nwt"], state["nsum"], state["node_level"],
                   np.asarray(kernel.eta, dtype=np.float64))


def ais_log_marginal(kernel: Any, paths: np.ndarray, steps: int,
                     rng: np.random.Generator) -> float:
    """One AIS run's log weight W (E[exp W] = p(w | c) for the tree of ``paths``)."""
    c = kernel.corpus
    levels = np.zeros(c.num_tokens, dtype=np.int32)
    ndl = np.zeros((c.num_docs, kernel.depth), dtype=np.int32)
    _prior_levels(c.doc_offsets, kernel.depth, kernel.gem_mean, kernel.gem_scale, rng, levels,
                  ndl)
    state = _tree_state(kernel, paths, levels)
    betas = schedule(steps)
    tokens = np.arange(c.num_tokens)
    W = 0.0
    for t in range(1, steps + 1):
        W += (betas[t] - betas[t - 1]) * _state_loglik(kernel, state)
        _tempered_scan(rng.permutation(tokens), kernel, state, betas[t], rng)
    return W


def ais_reverse(kernel: Any, paths: np.ndarray, levels: np.ndarray, steps: int,
                rng: np.random.Generator) -> float:
    """One reverse AIS run (Grosse et al. 2015, "sandwiching"): from ``levels``, an exact
    draw of p(z | w, c) (the simulated levels of the planted tree), scans at β_T, …, β_1 while
    the weight gains (β_{t−1} − β_t) · log p(w | c, z); E[exp W] = 1 / p(w | c), so −W is an
    upper bound of log p(w | c) in expectation, as the forward W is a lower one."""
    state = _tree_state(kernel, paths, levels)
    betas = schedule(steps)
    tokens = np.arange(kernel.corpus.num_tokens)
    W = 0.0
    for t in range(steps, 0, -1):
        _tempered_scan(rng.permutation(tokens), kernel, state, betas[t], rng)
        W += (betas[t - 1] - betas[t]) * _state_loglik(kernel, state)
    return W


def log_ncrp(kernel: Any, paths: np.ndarray) -> float:
    state = _tree_state(kernel, paths, np.zeros(kernel.corpus.num_tokens, np.int32))
    return float(ncrp_log_prob_tree(tree_from_state(state), kernel.depth, kernel.gamma))


def check(runs: int = 40, steps: int = 200) -> dict[str, float]:
    """AIS against exact enumeration: 2 documents × 5 tokens, depth 3 (3^10 level
    assignments), a two-leaf tree."""
    from ppltopics.corpus import Corpus

    ids = np.array([0, 1, 2, 0, 3, 0, 4, 5, 0, 4], dtype=np.int32)
    corpus = Corpus(ids, np.array([0, 5, 10]), [f"w{i}" for i in range(6)])
    kernel = HLDAKernel(corpus, depth=3, gamma=0.5, eta=[0.5, 0.2, 0.1], gem_mean=0.4,
                        gem_scale=5.0, init="random")
    paths = np.array([[0, 1, 2], [0, 1, 3]])
    state = {"paths": paths.copy(), "levels": np.zeros(10, dtype=np.int32)}
    kernel.resync(state)
    eta = np.asarray(kernel.eta, dtype=np.float64)
    nwt = np.zeros((6, state["parent"].shape[0]), dtype=np.int64)
    nsum = np.zeros(state["parent"].shape[0], dtype=np.int64)
    terms = []
    for z in itertools.product(range(3), repeat=10):
        lev = np.array(z, dtype=np.int32)
        _counts(corpus.word_ids, corpus.token_docs, lev, state["paths"], nwt, nsum)
        terms.append(_log_prior_levels(corpus.doc_offsets, lev, 3, 0.4, 5.0)
                     + _loglik(nwt, nsum, state["node_level"], eta))
    terms = np.array(terms)
    exact = float(logsumexp(terms))
    rng = np.random.default_rng(0)
    ws = np.array([ais_log_marginal(kernel, paths, steps, rng) for _ in range(runs)])
    # reverse runs from exact posterior draws of z (enumerated)
    post = np.exp(terms - exact)
    configs = list(itertools.product(range(3), repeat=10))
    rev = np.array([ais_reverse(kernel, paths, np.array(configs[rng.choice(post.size, p=post)]),
                                steps, rng) for _ in range(runs)])
    return {"exact": exact, "forward_estimate": float(logsumexp(ws) - math.log(runs)),
            "forward_lower": float(ws.mean()),
            "reverse_estimate": float(-(logsumexp(rev) - math.log(runs))),
            "reverse_upper": float(-rev.mean()), "runs": runs, "steps": steps}


def stuck_tree(seed: int, init: str) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, float]:
    """The kernel, the paths after 100 sweeps (tree moves on) from ``init``, the planted
    paths and levels, and the chain's final log joint minus the planted state's."""
    from ppltopics.models import hlda as H

    corpus, truth, z, hyper = planted(seed, [2, 2])
    kernel = HLDAKernel(corpus, depth=3, gamma=0.5, eta=0.02, gem_mean=0.4, gem_scale=50.0,
                        split_merge=True, init=init)
    rng = np.random.default_rng(seed)
    state = kernel.init_state(rng)
    for _ in range(100):
        kernel.step(state, rng, warmup=True)
    gap = float(kernel.record(state)["lp"] - H.log_joint(corpus, truth, z, hyper))
    return kernel, state["paths"].copy(), truth, z, gap


ESTIMATES = ("stuck", "planted", "planted-reverse")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2,4,5")
    ap.add_argument("--steps", default="1000,5000")
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--estimates", default=",".join(ESTIMATES),
                    help="forward AIS of the stuck / planted tree, reverse AIS of the planted")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    out: dict[str, Any] = {"args": vars(args), "rows": []}
    if args.check:
        out["check"] = check()
        print(json.dumps(out["check"]), flush=True)
    for seed in map(int, args.seeds.split(",")):
        kernel, paths, truth, z, gap = stuck_tree(seed, "random")
        for steps in map(int, args.steps.split(",")):
            row: dict[str, Any] = {"seed": seed, "steps": steps,
                                   "stuck_found_planted": bool(holds_tree(paths, truth)),
                                   "stuck_nodes": np.bincount(
                                       tree_nodes_per_level(paths)).tolist(),
                                   "single_state_gap": gap}
            for name in args.estimates.split(","):
                rng = np.random.default_rng(10_000 * seed + steps + 7 * ESTIMATES.index(name))
                t0 = time.perf_counter()
                p = paths if name == "stuck" else truth
                ws = np.array([ais_reverse(kernel, p, z, steps, rng) if name.endswith("reverse")
                               else ais_log_marginal(kernel, p, steps, rng)
                               for _ in range(args.runs)])
                row[name] = {"W": ws.tolist(), "log_ncrp": log_ncrp(kernel, p),
                             "seconds": time.perf_counter() - t0}
            out["rows"].append(row)
            print(json.dumps(row), flush=True)
            Path(args.out).write_text(json.dumps(out, indent=1))
    print_table(out["rows"])


def bounds(row: dict[str, Any]) -> dict[str, float]:
    """The row's estimates of log p(c | w) + const (log nCRP(c) + log p(w | c)): the stuck
    tree's forward AIS (mean W: a lower bound in expectation; log-mean-exp: the estimate),
    the planted tree's forward and reverse AIS (lower and upper bounds)."""
    out = {}
    for name in ESTIMATES:
        if name in row:
            w = np.array(row[name]["W"])
            if name.endswith("reverse"):
                out[name + " upper"] = -w.mean() + row[name]["log_ncrp"]
                out[name + " estimate"] = -(logsumexp(w) - math.log(w.size)) + \
                    row[name]["log_ncrp"]
            else:
                out[name + " lower"] = w.mean() + row[name]["log_ncrp"]
                out[name + " estimate"] = logsumexp(w) - math.log(w.size) + row[name]["log_ncrp"]
    return out


def print_table(rows: list[dict[str, Any]]) -> None:
    print("\n| seed | T | stuck tree's nodes per level | single-state log joint gap | "
          "stuck (lower) − planted (upper) | stuck − planted (estimates) | "
          "planted: upper − lower |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        b = bounds(r)
        lo = b.get("stuck lower", np.nan) - b.get("planted-reverse upper", np.nan)
        est = b.get("stuck estimate", np.nan) - b.get("planted estimate", np.nan)
        width = b.get("planted-reverse upper", np.nan) - b.get("planted lower", np.nan)
        print(f"| {r['seed']} | {r['steps']} | {r['stuck_nodes']} | {r['single_state_gap']:.0f} "
              f"| {lo:.0f} | {est:.0f} | {width:.0f} |")


def tree_nodes_per_level(paths: np.ndarray) -> np.ndarray:
    """Level of every distinct node of ``paths`` (for node counts per level)."""
    return np.concatenate([np.full(np.unique(paths[:, j]).size, j)
                           for j in range(paths.shape[1])])


if __name__ == "__main__":
    main()
