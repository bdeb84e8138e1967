"""Coherence: ppltopics.evaluation.coherence vs gensim's CoherenceModel on 20 Newsgroups.

20 topics x top-10 words from a tomotopy LDA fit (k=20, seed=0, 200 iterations, one worker)
are scored on the whole 20 Newsgroups bydate corpus (headers stripped, English stopwords
removed, min_count=5) with NPMI (window 10), C_V (window 110) and UMass (documents), by both
implementations on the same token lists.  Prints a table and writes
``benchmarks/results/coherence.json`` (times, speed-up, scores of both, settings).

    python benchmarks/bench_coherence.py [--data ../shared/data] [--iterations 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data"))
GENSIM_NAME = {"npmi": "c_npmi", "c_v": "c_v", "umass": "u_mass", "uci": "c_uci"}
SETTINGS = [("npmi", 10), ("c_v", 110), ("umass", None)]


def load_20newsgroups(data: Path):
    """The corpus via ppltopics.datasets if it works, else a plain tarfile reader.

    Both strip the header block (everything up to the first blank line) and nothing else,
    then ``Corpus.from_texts(min_count=5)`` (English stopwords removed).
    """
    from ppltopics import Corpus

    folder = data / "20newsgroups-bydate"
    try:
        from ppltopics import datasets

        corpus = datasets.load_20newsgroups(folder, remove=("headers",), min_count=5)
        return corpus, "ppltopics.datasets.load_20newsgroups(remove=('headers',))"
    except Exception as exc:  # the loader is written in parallel: fall back to our own
        print(f"ppltopics.datasets.load_20newsgroups unavailable ({exc!r}); reading the tarball")
    member_re = re.compile(r"20news-bydate-(train|test)/([^/]+)/(\d+)$")
    texts, labels = [], []
    with tarfile.open(folder / "20news-bydate.tar.gz") as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            hit = member_re.search(m.name)
            if not (m.isfile() and hit):
                continue
            raw = tar.extractfile(m).read().decode("latin-1")
            _, _, body = raw.partition("\n\n")
            texts.append(body)
            labels.append(hit.group(2))
    return Corpus.from_texts(texts, labels=labels, min_count=5), "tarfile + header strip"


def lda_top_words(docs: list[list[str]], k: int, iterations: int, top_n: int) -> list[list[str]]:
    import tomotopy as tp

    mdl = tp.LDAModel(k=k, seed=0)
    for d in docs:
        mdl.add_doc(d)
    mdl.train(iterations, workers=1)
    return [[w for w, _ in mdl.get_topic_words(t, top_n=top_n)] for t in range(k)]


def timed(fn, repeat: int = 1) -> tuple[Any, float, list[float]]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times), times


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared/data folder")
    ap.add_argument("--topics", type=int, default=20)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--top-n", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3, help="timed repeats of ours (best kept)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "coherence.json")
    args = ap.parse_args(argv)

    import gensim
    from gensim.corpora import Dictionary
    from gensim.models import CoherenceModel

    from ppltopics.evaluation import coherence

    if not (args.data / "20newsgroups-bydate").is_dir():
        sys.exit(f"20 Newsgroups not found under {args.data} (pass --data)")

    (corpus, loader), t_load, _ = timed(lambda: load_20newsgroups(args.data))
    print(f"{corpus} loaded in {t_load:.1f} s ({loader})")
    docs = corpus.docs()
    topics, t_lda, _ = timed(lambda: lda_top_words(docs, args.topics, args.iterations, args.top_n))
    print(f"tomotopy LDA k={args.topics}, {args.iterations} iterations: {t_lda:.1f} s")
    dictionary, t_dict, _ = timed(lambda: Dictionary(docs))

    rows = []
    for measure, window in SETTINGS:
        first, t_first, _ = timed(lambda m=measure, w=window: coherence(topics, corpus, m, w))
        ours, t_ours, all_ours = timed(
            lambda m=measure, w=window: coherence(topics, corpus, m, w), repeat=args.repeat
        )

        def run_gensim(m=measure, w=window):
            cm = CoherenceModel(topics=topics, texts=docs, dictionary=dictionary,
                                coherence=GENSIM_NAME[m], window_size=w, topn=args.top_n,
                                processes=1)
            return np.asarray(cm.get_coherence_per_topic(), dtype=np.float64)

        ref, t_gensim, _ = timed(run_gensim)
        rel = np.abs(ours.per_topic - ref) / np.maximum(np.abs(ref), 1e-300)
        row = {
            "measure": measure,
            "window": window,
            "top_n": ours.top_n,
            "eps": ours.eps,
            "num_windows": ours.num_windows,
            "ours_s": t_ours,
            "ours_runs_s": all_ours,
            "ours_first_call_s": t_first,
            "gensim_s": t_gensim,
            "speedup": t_gensim / t_ours,
            "score_ours": ours.score,
            "score_gensim": float(np.mean(ref)),
            "max_rel_diff_per_topic": float(rel.max()),
            "per_topic_ours": ours.per_topic.tolist(),
            "per_topic_gensim": ref.tolist(),
        }
        rows.append(row)
        print(f"  {measure:6s} ours {t_ours:8.3f} s   gensim {t_gensim:8.2f} s   "
              f"x{row['speedup']:.0f}   max rel diff {row['max_rel_diff_per_topic']:.1e}",
              flush=True)

    header = ("| measure | window | ours (s) | ours 1st call (s) | gensim (s) | speed-up "
              "| score ours | score gensim | max rel. diff |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['measure']} | {r['window'] or 'docs'} | {r['ours_s']:.3f} "
            f"| {r['ours_first_call_s']:.3f} | {r['gensim_s']:.2f} | {r['speedup']:.0f}x "
            f"| {r['score_ours']:.6f} | {r['score_gensim']:.6f} "
            f"| {r['max_rel_diff_per_topic']:.1e} |"
        )
    table = "\n".join(lines)
    print()
    print(table)

    result = {
        "benchmark": "coherence",
        "corpus": {
            "name": "20newsgroups-bydate (train+test)",
            "loader": loader,
            "num_docs": corpus.num_docs,
            "num_tokens": corpus.num_tokens,
            "vocab_size": corpus.vocab_size,
            "min_count": 5,
            "stopwords": "english",
        },
        "topics": {
            "source": f"tomotopy.LDAModel(k={args.topics}, seed=0), {args.iterations} "
                      f"iterations, workers=1",
            "top_n": args.top_n,
            "words": topics,
        },
        "gensim": {"version": gensim.__version__, "processes": 1,
                   "dictionary_build_s": t_dict,
                   "note": "CoherenceModel construction + get_coherence_per_topic"},
        "ours": {"note": f"best of {args.repeat} warm calls; first call includes numba "
                         "compile or cache load"},
        "results": rows,
        "table": table,
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
        },
        "timings_s": {"load": t_load, "lda": t_lda},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
