"""hLDA vs tomotopy's HLDAModel, and GhLDA vs our GLDA and the public GhLDA code.

One process, one thread each (BLAS/OpenMP/numba pinned to 1 before numpy is imported).

1. **hLDA sweep time vs tomotopy 0.14 ``HLDAModel``** on the GhLDA Wikipedia set (1,000 docs,
   ~188 k tokens; tomotopy HLDA measured earlier at 9 ms/iteration on a ~120 k-token corpus),
   same token lists, depth, γ and η.  The level priors differ by design: ours is the hLDA paper's
   GEM(m, π) stick (m = 0.5, π = 100), tomotopy's a symmetric Dirichlet(α = 0.1) over levels.
   Both run interleaved in chunks (alternating which goes first, so background load hits both
   alike); only the sweeps are timed.  Trees grow at their own pace, so the node counts are
   reported beside the times.  Quality: NPMI (window 10, reference = the corpus) of the top-10
   words of every node with ≥ 1 document, by level.
2. **GhLDA tokens/s** (GloVe-50, the paper's settings: depth 4, initial tree [1, 1, 4, 4],
   m = 0.5, π = 100, γ = 0.1, κ0 = 0.1, ν0 = M + 0.1, Ψ0 = 50·I with ratio [1, 0.8, 0.6, 0.4],
   5 sweeps without new leaves, frequency-initialised levels) vs our
   GLDA exact kernel with K = the number of GhLDA nodes (matched total topics), measured
   interleaved, and vs the 15.9 k tokens/s measured earlier for the public GhLDA code
   (Yoshida et al. 2023).

3. **Whose tree is the better state?** (``--joint``) Ours grows 3–4× tomotopy's leaves at
   equal γ, η and depth.  Both chains run ``SWEEPS`` sweeps under one level prior — ours with
   GEM(m = 1/3, π = 0.3), whose first stick is Beta(0.1, 0.2) like that of tomotopy's
   Dirichlet(0.1·1_3) (``tests/test_hlda_tomotopy.py``) — and each final state (paths and
   token levels, tomotopy's read from ``Document._path`` / ``_topics``) is scored by the same
   collapsed log p(w, z, c) of :func:`ppltopics.models.hlda.log_joint` under that GEM prior.

    .venv/bin/python benchmarks/bench_hlda.py [--data ../shared/data] [--quick]
    .venv/bin/python benchmarks/bench_hlda.py --joint [--seeds 3]
    .venv/bin/python benchmarks/bench_hlda.py [--joint] --init cluster   # our fit default start

Writes ``benchmarks/results/hlda.json`` (``hlda_quick.json`` with ``--quick``;
``hlda_joint.json`` with ``--joint``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _common import machine_facts  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data"))
WIKI = Path("ghlda-corpora") / "wiki"
DEPTH, GAMMA, ETA, LEVEL_ALPHA = 3, 1.0, 0.1, 0.1
PUBLIC_GHLDA_TOK_S = 15_900.0


def _npmi_by_level(tops: list[list[str]], levels: list[int], corpus: Any) -> dict[str, Any]:
    from ppltopics.evaluation import coherence

    res = coherence([t[:10] for t in tops], corpus, "npmi", 10)
    per = np.asarray(res.per_topic)
    lv = np.asarray(levels)
    return {"mean": float(per.mean()), "settings": res.settings(),
            "by_level": {int(ell): float(per[lv == ell].mean()) for ell in np.unique(lv)},
            "nodes_by_level": {int(ell): int((lv == ell).sum()) for ell in np.unique(lv)}}


class _Tomotopy:
    def __init__(self, docs: list[list[str]], seed: int, depth: int = DEPTH,
                 alpha: float | list[float] = LEVEL_ALPHA, eta: float = ETA,
                 gamma: float = GAMMA) -> None:
        import tomotopy as tp

        self.mdl = tp.HLDAModel(tw=tp.TermWeight.ONE, depth=depth, alpha=alpha, eta=eta,
                                gamma=gamma, seed=seed)
        for d in docs:
            self.mdl.add_doc(d)
        self.mdl.train(0, workers=1, parallel=tp.ParallelScheme.NONE)
        self.tp = tp

    def run(self, sweeps: int) -> float:
        t0 = time.perf_counter()
        self.mdl.train(sweeps, workers=1, parallel=self.tp.ParallelScheme.NONE)
        return time.perf_counter() - t0

    def nodes(self) -> tuple[list[list[str]], list[int]]:
        m = self.mdl
        live = [k for k in range(m.k) if m.is_live_topic(k) and m.num_docs_of_topic(k) > 0]
        return ([[w for w, _ in m.get_topic_words(k, top_n=10)] for k in live],
                [m.level(k) for k in live])

    def nodes_per_level(self) -> list[int]:
        _, lv = self.nodes()
        return np.bincount(lv, minlength=DEPTH).tolist()


class _Ours:
    def __init__(self, kernel: Any, seed: int) -> None:
        self.kernel = kernel
        self.rng = np.random.default_rng(seed)
        self.state = kernel.init_state(self.rng)
        self.sweeps = 0

    def run(self, sweeps: int) -> float:
        t0 = time.perf_counter()
        for _ in range(sweeps):
            self.kernel.step(self.state, self.rng, warmup=True)
        self.sweeps += sweeps
        return time.perf_counter() - t0

    def record(self) -> dict[str, Any]:
        return self.kernel.record(self.state)


def _hlda_nodes(ours: _Ours, vocab: list[str]) -> tuple[list[list[str]], list[int]]:
    s = ours.state
    alive = np.flatnonzero(s["node_level"] >= 0)
    alive = alive[s["ndocs"][alive] > 0] if "ndocs" in s else alive
    nw = ours.kernel.node_word_counts(s)[alive]
    order = np.argsort(-nw, axis=1, kind="stable")[:, :10]
    return [[vocab[i] for i in row] for row in order], s["node_level"][alive].tolist()


def bench_hlda(corpus: Any, sweeps: int, chunk: int, gem_scale: float,
               gamma: float = GAMMA, init: str = "random") -> dict[str, Any]:
    """Ours with GEM(0.5, ``gem_scale``) levels and nCRP(``gamma``) from the start ``init``
    vs tomotopy (γ = GAMMA)."""
    from ppltopics.inference.hlda import HLDAKernel

    docs = corpus.docs()
    ours = _Ours(HLDAKernel(corpus, depth=DEPTH, gamma=gamma, eta=ETA, gem_scale=gem_scale,
                            init=init), seed=0)
    ours.run(1)  # first call: numba cache load / compile, not timed below
    tomo = _Tomotopy(docs, seed=0)
    tomo.run(1)
    t_ours = t_tomo = 0.0
    trace = []
    for i in range(sweeps // chunk):
        if i % 2 == 0:
            t_ours += ours.run(chunk)
            t_tomo += tomo.run(chunk)
        else:
            t_tomo += tomo.run(chunk)
            t_ours += ours.run(chunk)
        rec = ours.record()
        trace.append({"sweeps": (i + 1) * chunk, "ours_nodes": np.asarray(rec["num_nodes"])
                      .tolist(), "tomotopy_nodes": tomo.nodes_per_level(),
                      "ours_loglik_per_token": rec["log_likelihood"] / corpus.num_tokens,
                      "tomotopy_ll_per_word": float(tomo.mdl.ll_per_word)})
        print(f"  hLDA sweep {(i + 1) * chunk}: ours {t_ours:.1f} s nodes {trace[-1]['ours_nodes']}"
              f" | tomotopy {t_tomo:.1f} s nodes {trace[-1]['tomotopy_nodes']}", flush=True)
    n = (sweeps // chunk) * chunk
    tops, lv = _hlda_nodes(ours, corpus.vocab)
    ttops, tlv = tomo.nodes()
    return {
        "sweeps": n, "num_tokens": corpus.num_tokens,
        "ours_ms_per_sweep": 1e3 * t_ours / n, "tomotopy_ms_per_sweep": 1e3 * t_tomo / n,
        "speed_ratio": t_tomo / t_ours,
        "ours_tokens_per_s": corpus.num_tokens * n / t_ours,
        "tomotopy_tokens_per_s": corpus.num_tokens * n / t_tomo,
        "ours_npmi": _npmi_by_level(tops, lv, corpus),
        "tomotopy_npmi": _npmi_by_level(ttops, tlv, corpus),
        "trace": trace,
        "settings": {"depth": DEPTH, "gamma": gamma, "tomotopy_gamma": GAMMA, "eta": ETA,
                     "ours_levels": f"GEM(0.5, {gem_scale})",
                     "tomotopy_levels": f"Dirichlet({LEVEL_ALPHA})", "chunk": chunk},
    }


def bench_ghlda(corpus: Any, sweeps: int, chunk: int) -> dict[str, Any]:
    import ppltopics as pt
    from ppltopics.inference.ghlda import GhLDAKernel
    from ppltopics.inference.glda import GLDAKernel
    from ppltopics.models.ghlda import GhLDAHyper
    from ppltopics.models.glda import GLDAHyper

    vectors = pt.WordVectors.glove(corpus.vocab)
    corpus = corpus.restrict(vectors.vocab)
    table = vectors.matrix(corpus.vocab)
    hyper = GhLDAHyper.reference(table.shape[1], "ghlda")  # the paper's prior: Ψ0 = 50·I
    h = hyper.resolve(table, counts=corpus.word_counts())
    kernel = GhLDAKernel(corpus, table, h.mu0, h.kappa0, h.nu0, h.psi0,
                         psi_ratio=np.asarray(h.psi_ratio), depth=4, gamma=0.1,
                         initial_tree=[1, 1, 4, 4], warmup_fixed_sweeps=5,
                         init_levels="frequency")
    ours = _Ours(kernel, seed=0)
    ours.run(1)
    t_gh = 0.0
    for _ in range(sweeps // chunk):
        t_gh += ours.run(chunk)
    n = (sweeps // chunk) * chunk
    nodes = np.asarray(ours.record()["num_nodes"])
    K = int(nodes.sum())
    r = GLDAHyper(num_topics=K).resolve(table, counts=corpus.word_counts())
    glda = _Ours(GLDAKernel(corpus, table, K, r.alpha, r.mu0, r.kappa0, r.nu0, r.psi0,
                            method="exact"), seed=0)
    glda.run(1)
    g_sweeps = max(2, min(n, 5))
    t_glda = glda.run(g_sweeps)
    gh_tok_s = corpus.num_tokens * n / t_gh
    glda_tok_s = corpus.num_tokens * g_sweeps / t_glda
    return {"num_tokens": corpus.num_tokens, "sweeps": n, "nodes_per_level": nodes.tolist(),
            "ghlda_tokens_per_s": gh_tok_s, "glda_exact_tokens_per_s_same_K": glda_tok_s,
            "glda_K": K, "ratio_vs_glda_exact": gh_tok_s / glda_tok_s,
            "ratio_vs_public_ghlda": gh_tok_s / PUBLIC_GHLDA_TOK_S,
            "loglik_per_token": ours.record()["log_likelihood"] / corpus.num_tokens}


def _tomotopy_state(tomo: _Tomotopy, corpus: Any) -> tuple[np.ndarray, np.ndarray]:
    """tomotopy's paths (D, L) and its token levels in our corpus's token order (tomotopy
    sorts a document's words; levels are matched to our tokens word by word)."""
    vocab = tomo.mdl.used_vocabs
    index = {w: i for i, w in enumerate(corpus.vocab)}
    paths = np.empty((corpus.num_docs, tomo.mdl.depth), dtype=np.int64)
    levels = np.empty(corpus.num_tokens, dtype=np.int64)
    off = corpus.doc_offsets
    for d, doc in enumerate(tomo.mdl.docs):
        path = np.asarray(doc._path)
        paths[d] = path
        level_of = {int(v): ell for ell, v in enumerate(path)}
        tw = np.array([index[vocab[int(w)]] for w in doc._words])
        tl = np.array([level_of[int(t)] for t in doc._topics])
        ours = np.argsort(corpus.word_ids[off[d]:off[d + 1]], kind="stable")
        theirs = np.argsort(tw, kind="stable")
        assert np.array_equal(corpus.word_ids[off[d] + ours], tw[theirs]), "token mismatch"
        levels[off[d] + ours] = tl[theirs]
    return paths, levels


def bench_joint(corpus: Any, sweeps: int, seeds: int, moves: bool = False,
                initial_tree: list[int] | None = None, init: str = "random") -> dict[str, Any]:
    """Part 3 of the module docstring."""
    from ppltopics.inference.hlda import HLDAKernel
    from ppltopics.models.hlda import HLDAHyper, log_joint

    m, pi = 1.0 / 3.0, 0.3
    hyper = HLDAHyper(depth=DEPTH, gamma=GAMMA, gem_mean=m, gem_scale=pi, eta=[ETA] * DEPTH)
    rows = []
    for seed in range(seeds):
        tomo = _Tomotopy(corpus.docs(), seed=seed)
        tomo.run(sweeps)
        tp_paths, tp_levels = _tomotopy_state(tomo, corpus)
        ours = _Ours(HLDAKernel(corpus, depth=DEPTH, gamma=GAMMA, eta=ETA, gem_mean=m,
                                gem_scale=pi, split_merge=moves,
                                initial_tree=initial_tree, init=init), seed=seed)
        ours.run(sweeps)
        s = ours.state
        row = {"seed": seed,
               "ours_log_joint": log_joint(corpus, s["paths"], s["levels"], hyper),
               "tomotopy_log_joint": log_joint(corpus, tp_paths, tp_levels, hyper),
               "ours_leaves": int(np.unique(s["paths"][:, -1]).size),
               "tomotopy_leaves": int(np.unique(tp_paths[:, -1]).size)}
        row["ours_minus_tomotopy"] = row["ours_log_joint"] - row["tomotopy_log_joint"]
        print(f"  seed {seed}: log joint ours {row['ours_log_joint']:.1f} "
              f"({row['ours_leaves']} leaves) tomotopy {row['tomotopy_log_joint']:.1f} "
              f"({row['tomotopy_leaves']} leaves): ours - tomotopy "
              f"{row['ours_minus_tomotopy']:+.1f}", flush=True)
        rows.append(row)
    return {"sweeps": sweeps, "tree_moves": moves, "initial_tree": initial_tree, "init": init,
            "settings": {"depth": DEPTH, "gamma": GAMMA, "eta": ETA,
                         "ours_levels": f"GEM({m:.4f}, {pi})",
                         "tomotopy_levels": f"Dirichlet({LEVEL_ALPHA})",
                         "scored_under": f"GEM({m:.4f}, {pi})"},
            "runs": rows}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--quick", action="store_true", help="few sweeps (a smoke test)")
    ap.add_argument("--joint", action="store_true", help="only part 3: whose tree is better")
    ap.add_argument("--seeds", type=int, default=3, help="chains per system with --joint")
    ap.add_argument("--moves", action="store_true", help="--joint with our tree moves on")
    ap.add_argument("--initial-tree", default=None,
                    help="--joint: our chains start on this tree, e.g. 1,5,3 (default: nCRP)")
    ap.add_argument("--init", default="random", choices=("random", "cluster"),
                    help="our chains' start; 'cluster' (the fit default): with --joint for "
                         "every chain, else only the γ = 1, π = 100 speed comparison runs")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    name = "hlda_quick" if args.quick else "hlda"
    if args.init == "cluster":
        name += "_cluster"
    if args.joint:
        name = "hlda_joint" + ("_moves" if args.moves else "") + (
            "_tree" + args.initial_tree.replace(",", "-") if args.initial_tree else "") + (
            "_cluster" if args.init == "cluster" else "")
    out = args.out or REPO / "benchmarks" / "results" / f"{name}.json"
    wiki = args.data / WIKI
    if not wiki.is_dir():
        sys.exit(f"GhLDA wiki set not found: {wiki} (pass --data, the shared/data folder)")
    from ppltopics.datasets import load_ghlda_wiki

    corpus = load_ghlda_wiki(wiki)
    print("machine:", json.dumps(machine_facts("tomotopy")), flush=True)
    print(corpus, flush=True)
    if args.joint:
        tree = [int(b) for b in args.initial_tree.split(",")] if args.initial_tree else None
        res = {"machine": machine_facts("tomotopy"), "corpus": repr(corpus),
               "joint": bench_joint(corpus, 20 if args.quick else 200, args.seeds, args.moves,
                                    tree, args.init)}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res, indent=1))
        return res
    load0 = os.getloadavg()
    res: dict[str, Any] = {"machine": machine_facts("tomotopy"), "corpus": repr(corpus)}
    # Equal settings (depth, γ = 1, η) except the level prior, which differs by design:
    # π = 100 (hlda-c's default) fixes every document's level proportions near (.5, .25,
    # .25), so leaves must fit single documents and our tree grows ~4x tomotopy's (the path
    # step's cost is proportional to the nodes); π = 2 (uniform sticks) does not make it
    # much smaller.  γ = 0.05 gives our tree about tomotopy's size: the speed at equal tree.
    configs = (("hlda_pi100", 100.0, GAMMA), ("hlda_pi2", 2.0, GAMMA),
               ("hlda_gamma0.05", 100.0, 0.05))
    if args.init == "cluster":
        configs = (("hlda_pi100_cluster", 100.0, GAMMA),)
    for name, pi, gamma in configs:
        h = res[name] = bench_hlda(corpus, *((20, 10) if args.quick else (200, 20)),
                                   gem_scale=pi, gamma=gamma, init=args.init)
        print(f"hLDA (π={pi:g}, γ={gamma:g}): ours {h['ours_ms_per_sweep']:.1f} ms/sweep vs "
              f"tomotopy {h['tomotopy_ms_per_sweep']:.1f} ms/sweep -> {h['speed_ratio']:.2f}x; "
              f"NPMI ours {h['ours_npmi']['mean']:.3f} tomotopy "
              f"{h['tomotopy_npmi']['mean']:.3f}; final nodes ours "
              f"{h['trace'][-1]['ours_nodes']} tomotopy {h['trace'][-1]['tomotopy_nodes']}",
              flush=True)
    if args.init == "random":
        res["ghlda"] = g = bench_ghlda(corpus, *((6, 3) if args.quick else (40, 10)))
        print(f"GhLDA: {g['ghlda_tokens_per_s']:.0f} tok/s, nodes {g['nodes_per_level']}; GLDA "
              f"exact K={g['glda_K']}: {g['glda_exact_tokens_per_s_same_K']:.0f} tok/s -> "
              f"{g['ratio_vs_glda_exact']:.2f}x; vs public GhLDA 15.9k: "
              f"{g['ratio_vs_public_ghlda']:.1f}x", flush=True)
    res["loadavg_start_end"] = [load0, os.getloadavg()]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(f"wrote {out}")
    return res


if __name__ == "__main__":
    main()
