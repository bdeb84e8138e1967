"""GLDA exact kernel: the inverse-factor sweep against the triangular-solve sweep it replaced.

Same machine moment, one thread: on the GhLDA Wikipedia set (GloVe-6B-50d, every token kept,
corpus restricted to GloVe words, as ``bench_glda.py``), at each K the current exact kernel
(``GLDAKernel(method="exact").step``) and the old one (``exact_sweep`` of
``inference/glda.py`` at git revision ``--old-rev``, loaded into a temporary module) run
interleaved sweeps from the same initial assignments and random stream (order alternating
between rounds, so background load hits both alike).  The first sweep (numba cache load,
~97 % of tokens moving) is reported but left out of tokens/s.  Reference: the public GLDA Java
Cholesky sampler's 12.6 k tokens/s (Das et al. 2015, measured here; target ≥ 5× at K = 40).

    .venv/bin/python benchmarks/bench_glda_exact.py [--ks 40,100] [--sweeps 6]
        [--old-rev f42d634] [--data ../shared/data] [--out benchmarks/results/glda_exact.json]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _common import machine_facts  # noqa: E402
from bench_glda import DEFAULT_DATA, JAVA_TOKENS_PER_S, load_corpus, make_kernel  # noqa: E402

from ppltopics.inference.glda import _NO_WEIGHTS, _stats  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OLD_REV = "f42d634"  # the last revision with the triangular-solve exact sweep


def load_old_sweep(rev: str, tmp: Path) -> Any:
    """``exact_sweep`` from ``inference/glda.py`` at ``rev`` (read with ``git show``)."""
    src = subprocess.run(["git", "show", f"{rev}:inference/glda.py"], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    path = tmp / "glda_old_exact.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("glda_old_exact", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.exact_sweep


def run_k(data: dict[str, Any], k: int, sweeps: int, old_sweep: Any) -> dict[str, Any]:
    corpus, table = data["corpus"], data["table"]
    kern = make_kernel(corpus, table, k, "exact")
    st_new = kern.init_state(np.random.default_rng(0))
    st_old = {name: v.copy() for name, v in st_new.items()}
    rng_new, rng_old = np.random.default_rng(1), np.random.default_rng(1)

    def new() -> None:
        kern.step(st_new, rng_new, True)

    def old() -> None:
        c = kern.corpus
        old_sweep(c.word_ids, c.doc_offsets, kern.table, st_old["z"], st_old["ndk"],
                  kern.alpha, _stats(st_old), kern.prior, rng_old, _NO_WEIGHTS)

    times: dict[str, list[float]] = {"new": [], "old": []}
    same_z = []
    for r in range(sweeps):
        order = [("new", new), ("old", old)] if r % 2 == 0 else [("old", old), ("new", new)]
        for name, f in order:
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
        same_z.append(float((st_new["z"] == st_old["z"]).mean()))
        print(f"K={k} sweep {r}: new {times['new'][-1]:.2f}s old {times['old'][-1]:.2f}s "
              f"same z {same_z[-1]:.4f}", flush=True)
    out: dict[str, Any] = {"k": k, "num_tokens": corpus.num_tokens,
                           "fraction_same_z_after_sweep": same_z}
    for name, ts in times.items():
        timed = ts[1:]
        rate = corpus.num_tokens * len(timed) / sum(timed)
        out[name] = {"sweep_s": ts, "tokens_per_s": rate,
                     "tokens_per_s_median_sweep": corpus.num_tokens / float(np.median(timed)),
                     "x_java": rate / JAVA_TOKENS_PER_S}
    out["new_over_old"] = out["new"]["tokens_per_s"] / out["old"]["tokens_per_s"]
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", default="40,100")
    ap.add_argument("--sweeps", type=int, default=6)
    ap.add_argument("--old-rev", default=OLD_REV)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/glda_exact.json")
    args = ap.parse_args(argv)
    if args.sweeps < 2:
        ap.error("--sweeps must be >= 2 (the first sweep is not timed)")
    facts = machine_facts()
    facts["loadavg_start"] = list(os.getloadavg())
    data = load_corpus("wiki", args.data, None)
    with tempfile.TemporaryDirectory() as tmp:
        old_sweep = load_old_sweep(args.old_rev, Path(tmp))
        results = {str(k): run_k(data, int(k), args.sweeps, old_sweep)
                   for k in args.ks.split(",")}
    facts["loadavg_end"] = list(os.getloadavg())
    report = {"benchmark": "glda_exact", "machine": facts, "old_rev": args.old_rev,
              "corpus": data["facts"], "java_tokens_per_s": JAVA_TOKENS_PER_S,
              "tokens_per_s": "tokens x sweeps / seconds over sweeps 2.. (sweep 1 untimed)",
              "results": results}
    for k, r in results.items():
        print(f"K={k}: new {r['new']['tokens_per_s'] / 1e3:.1f} k tok/s "
              f"({r['new']['x_java']:.2f}x Java), old {r['old']['tokens_per_s'] / 1e3:.1f} k "
              f"({r['old']['x_java']:.2f}x), new/old {r['new_over_old']:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
