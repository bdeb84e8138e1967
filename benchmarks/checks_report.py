"""Geweke and SBC verdicts for every built-in kernel, with their plots.

    python benchmarks/checks_report.py [--out benchmarks/results/checks] [--scale small|full]

For each toy problem of :func:`ppltopics.checks.toy_problem` (LDA, GLDA exact, GLDA fast,
CGTM, hLDA, GhLDA) runs Geweke's joint-distribution test and simulation-based calibration
(family-wise alpha = 1e-3 each: a correct kernel fails a check with probability ≈ 1e-3) and
the enumeration χ² test where the toy is enumerable (LDA), writes the P–P plots, SBC rank
histograms and PIT ECDF-difference plots as PNG, and one JSON with the verdicts, p-values,
sizes and seconds.  ``--scale small`` (default) keeps the whole run under ~10 minutes on one
busy core.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_facts  # noqa: E402

SCALES = {
    "small": {"geweke": {"num_forward": 1500, "num_successive": 6000},
              "sbc": {"num_simulations": 200, "num_draws": 19, "warmup": 20, "thin": 5,
                      "num_bins": 5},
              "enumeration": {"num_chains": 3000, "sweeps": 15}},
    "full": {"geweke": {"num_forward": 5000, "num_successive": 40_000},
             "sbc": {"num_simulations": 1000, "num_draws": 39, "warmup": 20, "thin": 10,
                     "num_bins": 10},
             "enumeration": {"num_chains": 10_000, "sweeps": 15}},
}
#: the tree kernels' toys cost ~10x more per sweep: fewer draws at small scale
TREE_SMALL = {"geweke": {"num_forward": 600, "num_successive": 3000},
              "sbc": {"num_simulations": 100, "num_draws": 19, "warmup": 20, "thin": 5,
                      "num_bins": 5}}


def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")  # a script writing files, not a library function
    import matplotlib.pyplot as plt

    from ppltopics import checks

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/checks")
    ap.add_argument("--scale", choices=sorted(SCALES), default="small")
    ap.add_argument("--only", nargs="*", default=None, help="subset of the toy problems")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for i, name in enumerate(args.only or checks.TOY_PROBLEMS):
        problem = checks.toy_problem(name)
        sizes = dict(SCALES[args.scale])
        if args.scale == "small" and name in ("hlda", "ghlda"):
            sizes.update(TREE_SMALL)
        entry: dict[str, object] = {"toy": problem.sizes}
        t0 = time.perf_counter()
        g = checks.geweke(problem, seed=100 + i, **sizes["geweke"])
        entry["geweke"] = {**g.to_dict(), **sizes["geweke"],
                           "seconds": round(time.perf_counter() - t0, 1),
                           "plot": f"{name}_geweke_pp.png"}
        g.plot().savefig(out / f"{name}_geweke_pp.png", dpi=80)
        t0 = time.perf_counter()
        s = checks.sbc(problem, seed=200 + i, **sizes["sbc"])
        entry["sbc"] = {**s.to_dict(), **sizes["sbc"], "uninformative": s.uninformative,
                        "seconds": round(time.perf_counter() - t0, 1),
                        "plots": [f"{name}_sbc_ranks.png", f"{name}_sbc_ecdf.png"]}
        s.plot().savefig(out / f"{name}_sbc_ranks.png", dpi=80)
        s.plot(kind="ecdf").savefig(out / f"{name}_sbc_ecdf.png", dpi=80)
        if problem.log_joint is not None:
            t0 = time.perf_counter()
            e = checks.enumeration(problem, seed=300 + i, **sizes["enumeration"])
            entry["enumeration"] = {**e.to_dict(), **sizes["enumeration"],
                                    "bias_tv": e.bias_tv,
                                    "seconds": round(time.perf_counter() - t0, 1),
                                    "plot": f"{name}_enumeration.png"}
            e.plot().savefig(out / f"{name}_enumeration.png", dpi=80)
        plt.close("all")
        results[name] = entry
        line = "  ".join(f"{c}: {entry[c]['verdict']} p={entry[c]['p_value']:.3g} "
                         f"({entry[c]['seconds']}s)"
                         for c in ("geweke", "sbc", "enumeration") if c in entry)
        print(f"{name:<11} {line}", flush=True)
    report = {"scale": args.scale, "settings": SCALES[args.scale], "tree_small": TREE_SMALL,
              "alpha": 1e-3, "results": results, "machine": machine_facts()}
    (out / "checks.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {out / 'checks.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
