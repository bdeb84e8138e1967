"""The "bank" polysemy study (GhLDA paper, Yoshida et al. 2023) on its Wikipedia set.

Claim under test: in GhLDA the occurrences of "bank"/"banks" in river documents get a
river-side path while those in finance documents get a finance-side one; GLDA cannot separate
them, because a word type has one vector and so one likelihood under every topic.

For every model and seed (one chain per seed, the whole 1,000-document set, GloVe-50 vectors)
``pt.evaluation.polysemy(post, words=("bank", "banks"), senses=("rivers", "finance"))``
gives the sense × assignment table, its NMI and the NMI's chance level (200 shuffles of the
senses among the documents; each document keeps its occurrences and their assignments):

* LDA (K = 40, α = 0.1, β = 0.01) and GLDA (K = 40, the paper's setting; fast alias+MH
  kernel): assignment = the token's topic (mode of its z-conditional at the posterior means);
* GhLDA (``preset="paper"``: depth 4, initial tree [1, 1, 4, 4], m = 0.5, π = 100, γ = 0.1,
  κ0 = 0.1, ν0 = M + 0.1, Ψ0 = 50·I with ratio [1, 0.8, 0.6, 0.4], 5 sweeps without new
  leaves, frequency-initialised levels) and hLDA (discrete, depth 4, the same tree settings):
  assignment = the document's path (leaf), its top branch (the node at the first level where
  the tree branches), and the token's own node.

    .venv/bin/python benchmarks/bench_polysemy.py [--data ../shared/data] [--quick]
        [--seeds 5] [--sweeps 100] [--models lda,glda,hlda,ghlda] [--append]

Writes ``benchmarks/results/polysemy.json`` and prints one row per model, seed and `by`;
``summary`` holds, per model and `by`, the NMI's mean ± sd over seeds beside its chance level
and the share of seeds that beat 95 % of the shuffles, and ``ghlda_vs_hlda_node`` counts the
seeds in which GhLDA's token-node NMI is above hLDA's (same seed).  ``--models`` runs a
subset (each invocation stays under ~10 minutes on 2 cores) and ``--append`` merges the runs
into an existing result file.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

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
WORDS = ("bank", "banks")
SENSES = ("rivers", "finance")
#: shuffles of the senses among the documents for the chance level of NMI
PERMUTATIONS = 200
MODELS = ("lda", "glda", "hlda", "ghlda", "ghlda-default", "ghlda-raw", "hlda-cluster",
          "ghlda-cluster", "hlda-fit", "ghlda-fit", "ghlda-paper-cluster")
#: the hLDA run each GhLDA variant's token-node NMI is compared with (same start and tree)
VERSUS = {"ghlda": "hlda", "ghlda-default": "hlda", "ghlda-raw": "hlda",
          "ghlda-cluster": "hlda-cluster", "ghlda-fit": "hlda-fit",
          "ghlda-paper-cluster": "hlda-cluster"}
TREE = {"depth": 4, "gamma": 0.1, "gem_mean": 0.5, "gem_scale": 100.0,
        "initial_tree": [1, 1, 4, 4], "warmup_fixed_sweeps": 5, "init_levels": "frequency"}
CLUSTER_TREE = {k: v for k, v in TREE.items() if k != "initial_tree"} | {"init": "cluster"}


def study(corpus: Any, vectors: Any, seeds: list[int], sweeps: int,
          names: tuple[str, ...] = MODELS) -> list[dict[str, Any]]:
    import ppltopics as pt

    runs: list[dict[str, Any]] = []
    models: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
        "lda": ({"num_topics": 40, "alpha": 0.1, "beta": 0.01}, ("topic",)),
        "glda": ({"vectors": vectors, "num_topics": 40}, ("topic",)),
        "ghlda": ({"vectors": vectors, "preset": "paper"}, ("path", "branch", "node")),
        "hlda": ({**TREE, "eta": 0.1}, ("path", "branch", "node")),
        # GhLDA with the library's defaults (vectors prepared "auto", psi0="within",
        # nu0 = tree_nu0) and the paper's tree settings
        "ghlda-default": ({**TREE, "vectors": vectors}, ("path", "branch", "node")),
        # the same with the raw 50-d GloVe vectors (no All-but-the-Top, no PCA to 10)
        "ghlda-raw": ({**TREE, "vectors": vectors, "prepare": None}, ("path", "branch", "node")),
        # the paper's depth and γ from the clustered start (init="cluster") instead of the
        # [1, 1, 4, 4] tree
        "hlda-cluster": ({**CLUSTER_TREE, "eta": 0.1}, ("path", "branch", "node")),
        "ghlda-cluster": ({**CLUSTER_TREE, "vectors": vectors}, ("path", "branch", "node")),
        # the paper preset (prior and tree settings) from the clustered start
        "ghlda-paper-cluster": ({"vectors": vectors, "preset": "paper", "init": "cluster"},
                                ("path", "branch", "node")),
        # pt.fit's defaults alone (depth 3, γ = 1, the clustered start)
        "hlda-fit": ({}, ("path", "branch", "node")),
        "ghlda-fit": ({"vectors": vectors}, ("path", "branch", "node")),
    }
    for name, (kwargs, bys) in models.items():
        if name not in names:
            continue
        for seed in seeds:
            t0 = time.perf_counter()
            post = pt.fit(name.split("-")[0], corpus, num_chains=1, num_samples=max(1, sweeps // 5),
                          warmup=sweeps - max(1, sweeps // 5), seed=seed, progress=False,
                          **kwargs)
            secs = time.perf_counter() - t0
            for by in bys:
                r = pt.evaluation.polysemy(post, words=WORDS, senses=SENSES, by=by,
                                           permutations=PERMUTATIONS, seed=seed)
                null = np.asarray(r.nmi_null)
                row = {"model": name, "seed": seed, "seconds": secs, **r.to_dict(),
                       "majority": {k: int(v) for k, v in r.majority().items()},
                       "separated": r.separated(), "nmi_chance_mean": float(null.mean()),
                       "nmi_above_share_of_shuffles": float((null < r.nmi).mean()),
                       "nmi_chance_q95": float(np.quantile(null, 0.95)),
                       "sweeps": sweeps}
                if hasattr(post, "num_nodes"):
                    row["num_nodes"] = post.num_nodes
                runs.append(row)
                rec = r.sense_recall()
                print(f"{name:6s} seed {seed} by {by:6s}: NMI {r.nmi:.3f} (chance "
                      f"{null.mean():.3f}, above {100 * (null < r.nmi).mean():.0f}% of "
                      f"shuffles), rivers-side "
                      f"{rec.get('rivers', 0):.2f}, finance-side {rec.get('finance', 0):.2f}, "
                      f"{len(r.assignments)} assignments ({secs:.0f} s)", flush=True)
    return runs


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per model and `by`: NMI mean ± sd over seeds, chance level, seeds above chance."""
    out: dict[str, Any] = {}
    for key in dict.fromkeys((r["model"], r["by"]) for r in runs):
        rows = [r for r in runs if (r["model"], r["by"]) == key]
        nmis = np.array([r["nmi"] for r in rows])
        out[f"{key[0]}/{key[1]}"] = {
            "seeds": len(rows), "nmi_mean": float(nmis.mean()),
            "nmi_sd": float(nmis.std(ddof=1)) if len(rows) > 1 else 0.0,
            "chance_mean": float(np.mean([r["nmi_chance_mean"] for r in rows])),
            "seeds_above_chance_q95": int(sum(
                r["nmi"] > r.get("nmi_chance_q95", np.inf) + 1e-9 for r in rows)),
            "separated": int(sum(r["separated"] for r in rows)),
            "rivers_recall_mean": float(np.mean([r["sense_recall"].get("rivers", 0)
                                                 for r in rows])),
            "finance_recall_mean": float(np.mean([r["sense_recall"].get("finance", 0)
                                                  for r in rows]))}
    node = {(r["model"], r["seed"]): r["nmi"] for r in runs if r["by"] == "node"}
    for g, h in VERSUS.items():
        common = sorted({s for m, s in node if m == g} & {s for m, s in node if m == h})
        out[f"{g}_vs_hlda_node"] = {
            "seeds": len(common), "versus": h,
            "ghlda_above": int(sum(node[(g, s)] > node[(h, s)] for s in common))}
    return out


def table(summary: dict[str, Any]) -> str:
    lines = ["| model / by | seeds | NMI mean ± sd | chance | seeds > 95 % of shuffles | "
             "separated | rivers-side | finance-side |", "|---|---|---|---|---|---|---|---|"]
    for key, s in summary.items():
        if key.endswith("_vs_hlda_node"):
            continue
        lines.append(f"| {key} | {s['seeds']} | {s['nmi_mean']:.3f} ± {s['nmi_sd']:.3f} | "
                     f"{s['chance_mean']:.3f} | {s['seeds_above_chance_q95']} | "
                     f"{s['separated']} | {s['rivers_recall_mean']:.2f} | "
                     f"{s['finance_recall_mean']:.2f} |")
    for name, versus in VERSUS.items():
        g = summary.get(f"{name}_vs_hlda_node", {})
        lines.append(f"\n{name} token-node NMI above {versus}'s in {g.get('ghlda_above', 0)} of "
                     f"{g.get('seeds', 0)} seeds.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--append", action="store_true")
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds first-seed .. first-seed + seeds - 1 (split long runs)")
    ap.add_argument("--sweeps", type=int, default=100, help="sweeps per run (paper: 100)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    wiki = args.data / "ghlda-corpora" / "wiki"
    if not wiki.is_dir():
        sys.exit(f"GhLDA wiki set not found: {wiki} (pass --data, the shared/data folder)")
    import ppltopics as pt

    corpus = pt.datasets.load_ghlda_wiki(wiki)
    vectors = pt.WordVectors.glove(corpus.vocab)
    corpus = corpus.restrict(vectors.vocab)
    seeds = list(range(args.first_seed, args.first_seed + (1 if args.quick else args.seeds)))
    sweeps = 10 if args.quick else args.sweeps
    names = tuple(args.models.split(","))
    out = args.out or REPO / "benchmarks" / "results" / (
        "polysemy_quick.json" if args.quick else "polysemy.json")
    runs = study(corpus, vectors, seeds, sweeps, names)
    if args.append and out.exists():
        new = {(r["model"], r["seed"]) for r in runs}
        runs = [r for r in json.loads(out.read_text())["runs"]
                if (r["model"], r["seed"]) not in new] + runs
    summary = summarise(runs)
    res = {"machine": machine_facts(), "corpus": repr(corpus), "words": WORDS,
           "senses": SENSES, "sweeps": sweeps, "permutations": PERMUTATIONS,
           "command": "python benchmarks/bench_polysemy.py" + (" --quick" if args.quick else
                      f" --seeds {args.seeds} --sweeps {sweeps}"),
           "summary": summary, "table": table(summary), "runs": runs}
    print(res["table"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=str))
    print(f"wrote {out}")
    return res


if __name__ == "__main__":
    main()
