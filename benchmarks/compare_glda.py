"""``diagnostics.compare`` of GLDA's exact and fast kernels, with and without split–merge,
and the fast kernel with 2 threads per chain (``workers=2``).

    python benchmarks/compare_glda.py [--every 20] [--topics 10] [--samples 100] [--warmup 100]

Fits GLDA on every ``--every``-th State of the Union document (GloVe-50 vectors, the package's
embedded defaults) with 2 chains per configuration, serially (one chain at a time, so the
seconds are comparable on a shared machine), and writes the :func:`compare` table (ESS bulk /
tail per second and per sweep for lp, log-likelihood and the three largest topic shares,
R-hat, seconds to the common target lp) to ``benchmarks/results/compare_glda.{csv,json}``
and the lp-vs-wall-time plot to ``benchmarks/results/compare_glda.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_facts  # noqa: E402

CONFIGS = {
    "exact": {"method": "exact"},
    "fast": {"method": "fast"},
    "exact+split_merge": {"method": "exact", "split_merge": True},
    "fast+split_merge": {"method": "fast", "split_merge": True},
    "fast, 2 workers": {"method": "fast", "workers": 2},
}


def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")  # a script writing files
    import numpy as np

    import ppltopics as pt

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=20, help="keep every n-th document")
    ap.add_argument("--topics", type=int, default=10)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--save", default=None, help="also save the posteriors under this folder")
    args = ap.parse_args(argv)
    corpus = pt.datasets.load_sotu()
    corpus = corpus.subset(np.arange(0, corpus.num_docs, args.every))
    vectors = pt.WordVectors.glove(corpus.vocab)
    corpus = corpus.restrict(vectors.vocab)
    print(corpus, flush=True)
    posts = {}
    for name, kw in CONFIGS.items():
        t0 = time.perf_counter()
        posts[name] = pt.fit("glda", corpus, vectors=vectors, num_topics=args.topics,
                             num_chains=2, num_samples=args.samples, warmup=args.warmup,
                             seed=0, progress=False, executor="serial", **kw)
        print(f"{name}: {time.perf_counter() - t0:.1f}s", flush=True)
        if args.save:
            posts[name].save(Path(args.save) / name, overwrite=True)
    table = pt.diagnostics.compare(posts)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "compare_glda.csv")
    pt.diagnostics.plot_compare(posts, table.attrs["target_lp"], path=out / "compare_glda.png")
    cols = ["ess_bulk", "ess_bulk_per_s", "ess_bulk_per_sweep", "ess_tail_per_s", "r_hat",
            "seconds", "seconds_to_target"]
    print(table[cols].to_string(float_format=lambda x: f"{x:.3g}"))
    report = {"corpus": {"docs": corpus.num_docs, "tokens": corpus.num_tokens,
                         "vocab": corpus.vocab_size, "every": args.every},
              "topics": args.topics, "chains": 2, "samples": args.samples,
              "warmup": args.warmup, "target_lp": table.attrs["target_lp"],
              "table": json.loads(table.reset_index().to_json(orient="records")),
              "machine": machine_facts()}
    (out / "compare_glda.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {out / 'compare_glda.csv'}, .json, .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
