"""Threads per chain: our partitioned LDA sweep (``workers=W``) vs tomotopy's
``train(workers=W, parallel=PARTITION)`` on 20 Newsgroups, K = 100; GLDA's fast path
(K = 40) and CGTM (K = 20) with W = 1 and 2 (copies of the topic statistics merged per sweep)
on 3,000 of its documents; GhLDA (paths serial, levels on W threads) with W = 1 and 2 on
the GhLDA wiki set, alternating on one chain (:func:`ghlda_workers`).

All four runs (ours and tomotopy, W = 1 and W = 2) get the same token lists, α = 0.1,
β = 0.01, and are run interleaved in chunks of sweeps (the order rotates each chunk) so load
from other processes hits all alike.  Only the sweeps are timed.  After every chunk, untimed,
our chains' log p(w | z) per token is read out: the partitioned chain's must track the serial
one's (the stale-n_k approximation should not show).

    .venv/bin/python benchmarks/bench_workers.py [--data ../shared/data] [--quick] \
        [--parts lda,glda,cgtm]

Writes ``benchmarks/results/workers.json`` (``workers_quick.json``), keeping the entries of
parts not run.  Speed-ups need idle cores: check ``machine.loadavg_*`` in the JSON before
reading them.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _common import machine_facts  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data"))
TARBALL = Path("20newsgroups-bydate") / "20news-bydate.tar.gz"
ALPHA, BETA, K, SEED = 0.1, 0.01, 100, 0


def gaussian_workers(model: str, corpus: object, sweeps: int, chunk: int) -> dict[str, object]:
    """GLDA (fast path, K = 40) or CGTM (its exact z-sweep and η pass, K = 20), GloVe-50, on
    the first 3,000 documents: W = 1 vs W = 2, interleaved; GLDA's first half of the sweeps
    is warm-up (tables refreshed), the rest sampling."""
    from ppltopics import WordVectors
    from ppltopics.inference.cgtm import CGTMKernel
    from ppltopics.inference.glda import GLDAKernel
    from ppltopics.models.cgtm import CGTMHyper
    from ppltopics.models.glda import GLDAHyper

    sub = corpus.subset(np.arange(min(3000, corpus.num_docs)))
    vecs = WordVectors.glove(sub.vocab)
    sub = sub.restrict(vecs.vocab)
    table = vecs.matrix(sub.vocab)
    num_topics = 40 if model == "glda" else 20
    chains = {}
    for w in (1, 2):
        if model == "glda":
            r = GLDAHyper(num_topics=num_topics).resolve(table, counts=sub.word_counts())
            kernel = GLDAKernel(sub, table, num_topics, r.alpha, r.mu0, r.kappa0, r.nu0,
                                r.psi0, method="fast", workers=w)
        else:
            r = CGTMHyper(num_topics=num_topics).resolve(table, counts=sub.word_counts())
            kernel = CGTMKernel(sub, table, num_topics, r.mu0, r.kappa0, r.nu0, r.psi0,
                                r.eta_mu0, r.eta_kappa0, r.eta_nu0, r.eta_psi0, workers=w)
        rng = np.random.default_rng(SEED)
        chains[w] = (kernel, kernel.init_state(rng), rng)
    chains[1][0].step(*chains[1][1:], False)  # numba cache load, untimed
    seconds = {1: 0.0, 2: 0.0}
    trace = []
    order = [1, 2]
    for done in range(0, sweeps, chunk):
        for w in order:
            kernel, state, rng = chains[w]
            t0 = time.perf_counter()
            for i in range(chunk):
                kernel.step(state, rng, done + i < sweeps // 2)
            seconds[w] += time.perf_counter() - t0
        order.reverse()
        point = {"sweeps": done + chunk}
        for w in (1, 2):
            kernel, state, _ = chains[w]
            point[f"w{w}_ll_per_token"] = kernel.record(state)["log_likelihood"] / sub.num_tokens
        trace.append(point)
        print(model.upper(), point, flush=True)
    tps = {f"w{w}": sub.num_tokens * sweeps / seconds[w] for w in (1, 2)}
    print(f"{model.upper()}: {tps['w1']:.0f} vs {tps['w2']:.0f} tokens/s "
          f"({tps['w2'] / tps['w1']:.2f}x)")
    return {"docs": sub.num_docs, "tokens": sub.num_tokens, "K": num_topics,
            "dim": table.shape[1], "seconds": {f"w{w}": seconds[w] for w in (1, 2)},
            "tokens_per_s": tps, "speedup_w2_over_w1": tps["w2"] / tps["w1"], "trace": trace}


def ghlda_workers(data: Path, sweeps: int) -> dict[str, Any]:
    """GhLDA (the paper's preset: GloVe-50, depth 4, initial tree [1, 1, 4, 4]) on the GhLDA
    wiki set, W = 1 and W = 2 sweeps alternating on *one* chain, so both time the same tree
    (two chains grow trees of different sizes, and a sweep's cost follows the tree); the
    level pass of W = 2 and the serial level step are timed alone too (the paths stay
    serial, so the levels' share of a sweep bounds the speed-up).  After 5 untimed sweeps."""
    from ppltopics import WordVectors
    from ppltopics.datasets import load_ghlda_wiki
    from ppltopics.inference.ghlda import GhLDAKernel
    from ppltopics.models.ghlda import GhLDAHyper

    corpus = load_ghlda_wiki(data / "ghlda-corpora" / "wiki")
    vectors = WordVectors.glove(corpus.vocab)
    corpus = corpus.restrict(vectors.vocab)
    table = vectors.matrix(corpus.vocab)
    h = GhLDAHyper.reference(table.shape[1], "ghlda").resolve(table,
                                                              counts=corpus.word_counts())
    kernels = {w: GhLDAKernel(corpus, table, h.mu0, h.kappa0, h.nu0, h.psi0,
                              psi_ratio=np.asarray(h.psi_ratio), depth=4, gamma=0.1,
                              initial_tree=[1, 1, 4, 4], warmup_fixed_sweeps=5,
                              init_levels="frequency", workers=w) for w in (1, 2)}
    rng = np.random.default_rng(SEED)
    state = kernels[1].init_state(rng)
    for i in range(5):
        kernels[1 + i % 2].step(state, rng, True)
    seconds = {1: 0.0, 2: 0.0}
    levels = {1: 0.0, 2: 0.0}
    for i in range(sweeps):
        for w in ((1, 2) if i % 2 else (2, 1)):
            t0 = time.perf_counter()
            kernels[w].step(state, rng, False)
            seconds[w] += time.perf_counter() - t0
        t0 = time.perf_counter()
        kernels[2]._level_pass(state, rng)
        levels[2] += time.perf_counter() - t0
        t0 = time.perf_counter()
        kernels[1]._sweep(state, 0, rng, False, True)  # the serial level step alone
        levels[1] += time.perf_counter() - t0
    ms = {f"w{w}": 1e3 * seconds[w] / sweeps for w in (1, 2)}
    lv = {f"w{w}": 1e3 * levels[w] / sweeps for w in (1, 2)}
    nodes = [int(x) for x in kernels[1].record(state)["num_nodes"]]
    print(f"GhLDA: {ms['w1']:.1f} vs {ms['w2']:.1f} ms/sweep ({ms['w1'] / ms['w2']:.2f}x); "
          f"levels {lv['w1']:.1f} vs {lv['w2']:.1f} ms; nodes {nodes}", flush=True)
    return {"docs": corpus.num_docs, "tokens": corpus.num_tokens, "ms_per_sweep": ms,
            "speedup_w2_over_w1": ms["w1"] / ms["w2"], "level_step_ms": lv,
            "nodes_per_level": nodes}


def lda_workers(corpus: Any, sweeps: int, chunk: int) -> dict[str, Any]:
    """Our partitioned LDA sweep and tomotopy's at W = 1 and 2, interleaved (module doc)."""
    import tomotopy as tp

    from ppltopics.inference.lda import LDAKernel
    from ppltopics.models.lda import LDAHyper

    docs = corpus.docs()
    hyper = LDAHyper(num_topics=K, alpha=ALPHA, beta=BETA)

    ours, tomo = {}, {}
    for w in (1, 2):
        kernel = LDAKernel(corpus, hyper, workers=w)
        rng = np.random.default_rng(SEED)
        ours[w] = (kernel, kernel.init_state(rng), rng)
        mdl = tp.LDAModel(tw=tp.TermWeight.ONE, min_cf=0, min_df=0, rm_top=0, k=K,
                          alpha=ALPHA, eta=BETA, seed=SEED)
        mdl.optim_interval = 0
        for d in docs:
            mdl.add_doc(d)
        scheme = tp.ParallelScheme.NONE if w == 1 else tp.ParallelScheme.PARTITION
        mdl.train(0, workers=w, parallel=scheme)
        tomo[w] = (mdl, scheme)
    kernel, state, rng = ours[1]
    kernel.step(state, rng, False)  # numba cache load, untimed (both W share the sweep)
    ours[1] = (kernel, kernel.init_state(np.random.default_rng(SEED)),
               np.random.default_rng(SEED))

    def run_ours(w: int, n: int) -> float:
        kernel, state, rng = ours[w]
        t0 = time.perf_counter()
        for _ in range(n):
            kernel.step(state, rng, False)
        return time.perf_counter() - t0

    def run_tomo(w: int, n: int) -> float:
        mdl, scheme = tomo[w]
        t0 = time.perf_counter()
        mdl.train(n, workers=w, parallel=scheme)
        return time.perf_counter() - t0

    runs = {f"ours_w{w}": (run_ours, w) for w in (1, 2)}
    runs.update({f"tomotopy_w{w}": (run_tomo, w) for w in (1, 2)})
    seconds = {name: 0.0 for name in runs}
    trace: list[dict[str, float]] = []
    names = list(runs)
    done = 0
    while done < sweeps:
        for name in names:
            fn, w = runs[name]
            seconds[name] += fn(w, chunk)
        names = names[1:] + names[:1]
        done += chunk
        point = {"sweeps": done}
        for w in (1, 2):
            kernel, state, _ = ours[w]
            point[f"ours_w{w}_ll_per_token"] = kernel.record(state)["log_likelihood"] / (
                corpus.num_tokens)
            point[f"tomotopy_w{w}_ll_per_word"] = tomo[w][0].ll_per_word
        trace.append(point)
        print(" | ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in point.items()), flush=True)
    tps = {name: corpus.num_tokens * sweeps / s for name, s in seconds.items()}
    for name, v in tps.items():
        print(f"{name}: {v / 1e6:.2f} M tokens/s")
    return {"seconds": seconds, "tokens_per_s": tps,
            "speedup": {"ours_w2_over_w1": tps["ours_w2"] / tps["ours_w1"],
                        "tomotopy_w2_over_w1": tps["tomotopy_w2"] / tps["tomotopy_w1"],
                        "ours_w2_over_tomotopy_w2": tps["ours_w2"] / tps["tomotopy_w2"],
                        "ours_w1_over_tomotopy_w1": tps["ours_w1"] / tps["tomotopy_w1"]},
            "trace": trace}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--quick", action="store_true", help="20 sweeps instead of 100")
    ap.add_argument("--parts", default="lda,glda,cgtm,ghlda",
                    help="which of lda, glda, cgtm, ghlda to run (default: all)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    tarball = args.data / TARBALL
    if not tarball.exists():
        raise SystemExit(f"20 Newsgroups not found at {tarball}: pass --data DIR")
    from ppltopics.datasets import load_20newsgroups

    sweeps, chunk = (20, 5) if args.quick else (100, 10)
    parts = args.parts.split(",")
    facts = machine_facts("numpy", "numba", "tomotopy")
    load_start = os.getloadavg()
    corpus = load_20newsgroups(tarball)
    out = args.out or REPO / "benchmarks" / "results" / (
        "workers_quick.json" if args.quick else "workers.json")
    result: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    result |= {
        "corpus": {"name": "20newsgroups", "docs": corpus.num_docs,
                   "tokens": corpus.num_tokens, "vocab": corpus.vocab_size},
        "settings": {"K": K, "alpha": ALPHA, "beta": BETA, "sweeps": sweeps, "chunk": chunk,
                     "parts": parts}}
    if "lda" in parts:
        result.update(lda_workers(corpus, sweeps, chunk))
        print(json.dumps(result["speedup"], indent=1))
    if "glda" in parts:
        result["glda_fast"] = gaussian_workers("glda", corpus, sweeps, chunk)
    if "cgtm" in parts:
        result["cgtm"] = gaussian_workers("cgtm", corpus, sweeps, chunk)
    if "ghlda" in parts:
        result["ghlda"] = ghlda_workers(args.data, sweeps // 10)
    result["machine"] = {**facts, "loadavg_start": load_start, "loadavg_end": os.getloadavg()}
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
