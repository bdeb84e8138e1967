"""Command line: ``ppltopics fit | topics | diagnose | evaluate | transform``.

    ppltopics fit MODEL [--corpus sotu|PATH] [--topics K] [--chains C] [--samples S]
                        [--warmup W] [--seed N] [--out DIR] [--overwrite] [MODEL OPTIONS]
    ppltopics fit MODEL --help    # the model's options (alpha, beta, method, init, ...)
    ppltopics topics DIR [--by relevance [--relevance-weight 0.6]]
    ppltopics diagnose DIR [--html [PATH]]
                                  # R-hat/ESS table (summary.csv) + trace.png in DIR, whether
                                  # the chains found the same topics, and an HTML report
    ppltopics evaluate DIR        # coherence (npmi, c_v, umass, uci) + diversity -> evaluation.json
    ppltopics transform DIR --corpus PATH --out FILE.csv|FILE.parquet
                                  # document-topic proportions of a corpus (fold-in)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _load_corpus(spec: str, keep_text: bool = False):
    from ppltopics import datasets

    if spec == "sotu":  # TopClus's language model reads the raw paragraphs
        return datasets.load_sotu(keep_text=keep_text)
    return datasets.load_path(spec)


def _print_topics(post, n: int) -> None:
    if post.is_tree:  # tree models: the tree, top words per node
        print(post.format_tree(n_words=n))
        return
    for k, words in enumerate(post.top_words(n)):
        print(f"topic {k:3d}: {' '.join(words)}")


def _cmd_fit(args: argparse.Namespace) -> int:
    import ppltopics as pt
    from ppltopics.api import MODELS, _fitter
    from ppltopics.persistence import check_target

    try:
        _fitter(args.model)
    except NotImplementedError as e:
        print(f"ppltopics: {e}", file=sys.stderr)
        return 2
    corpus = _load_corpus(args.corpus, keep_text=args.model == "topclus")
    print(f"corpus: {corpus!r}", file=sys.stderr)
    vectors = None
    if args.model in ("glda", "cgtm", "ghlda"):
        vectors = (pt.WordVectors.glove(corpus.vocab) if args.vectors == "glove"
                   else pt.WordVectors.load(args.vectors, corpus.vocab))
        corpus = corpus.restrict(vectors.vocab)
    out = Path(args.out or f"runs/{args.model}")
    check_target(out, args.overwrite, option="--overwrite")  # refuse before a long fit
    from ppltopics._cli_options import fit_kwargs

    post = pt.fit(
        args.model, corpus, vectors=vectors, num_topics=args.topics, num_chains=args.chains,
        num_samples=args.samples, warmup=args.warmup, thin=args.thin, seed=args.seed,
        checkpoint_dir=args.checkpoint_dir, progress=not args.no_progress,
        executor=args.executor, **fit_kwargs(args),
    )
    post.save(out, overwrite=args.overwrite)
    assert args.model in MODELS
    _print_topics(post, args.top)
    print(f"saved posterior to {out}", file=sys.stderr)
    return 0


def _cmd_topics(args: argparse.Namespace) -> int:
    import ppltopics as pt

    post = pt.load(args.dir)
    if args.by is None:
        _print_topics(post, args.top)
        return 0
    kw = {"relevance_weight": args.relevance_weight} if args.by == "relevance" else {}
    try:
        top = post.top_words(args.top, by=args.by, **kw)
    except TypeError:  # this model's top_words takes no such ranking
        print(f"ppltopics: {post.model!r} topics do not take --by {args.by}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"ppltopics: {e}", file=sys.stderr)
        return 2
    for k, words in enumerate(top):
        print(f"{'node' if post.is_tree else 'topic'} {k:3d}: {' '.join(words)}")
    return 0


def _cmd_diagnose(args: argparse.Namespace) -> int:
    import ppltopics as pt

    post = pt.load(args.dir)
    table = pt.diagnostics.summary(post)
    out = Path(args.dir)
    table.to_csv(out / "summary.csv")
    import matplotlib.pyplot as plt

    png = out / "trace.png"
    plt.close(pt.diagnostics.plot_trace(post, png))
    print(table.to_string())
    print()
    print(pt.diagnostics.explain_summary(table))  # each row in words
    print(pt.diagnostics.explain_trace(post, "lp"))
    print()
    print(pt.diagnostics.mode_report(post))  # do the chains find the same topics?
    written = [out / "summary.csv", png]
    if args.html is not None:
        from ppltopics.report import write_diagnosis_html

        written.append(write_diagnosis_html(post, args.html or out / "report.html"))
    print(f"wrote {', '.join(str(w) for w in written)}", file=sys.stderr)
    return 0


def _cmd_transform(args: argparse.Namespace) -> int:
    import pandas as pd

    import ppltopics as pt

    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"--out must end in .csv or .parquet, got {str(out)!r}")
    post = pt.load(args.dir)
    corpus = _load_corpus(args.corpus)
    theta = post.transform(corpus, num_sweeps=args.sweeps, burn_in=args.burn_in,
                           seed=args.seed)
    frame = pd.DataFrame(theta, columns=[f"topic_{k}" for k in range(theta.shape[1])])
    frame.index.name = "doc"
    if corpus.labels is not None:
        frame.insert(0, "label", corpus.labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        frame.to_csv(out)
    else:
        frame.to_parquet(out)
    print(f"wrote document-topic proportions of {corpus.num_docs} documents × "
          f"{theta.shape[1]} topics to {out}", file=sys.stderr)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import ppltopics as pt

    post = pt.load(args.dir)
    reference = post.corpus if args.reference is None else _load_corpus(args.reference)
    top = post.top_words(max(args.top_n, 25))
    results = {}
    for measure in ("npmi", "c_v", "umass", "uci"):
        res = pt.evaluation.coherence([t[: args.top_n] for t in top], reference, measure=measure)
        results[measure] = {"score": float(res.score), "window": res.window,
                            "top_n": res.top_n, "eps": res.eps}
    results["diversity@25"] = float(pt.evaluation.diversity(top, top_n=25))
    for k, v in results.items():
        print(f"{k:14s} {v if isinstance(v, float) else v['score']:.4f}")
    (Path(args.dir) / "evaluation.json").write_text(json.dumps(results, indent=1))
    return 0


def build_parser(fit_model: str | None = None) -> argparse.ArgumentParser:
    """The parser; ``fit_model`` adds that model's fit options (generated from its
    ``fit_model`` signature, :mod:`ppltopics._cli_options`) to ``fit``."""
    from ppltopics.api import MODELS

    p = argparse.ArgumentParser(prog="ppltopics", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true", help="log preprocessing details")
    sub = p.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fit", help="fit a model and save its posterior",
                       epilog="ppltopics fit MODEL --help lists the model's own options "
                              "(hyperparameters, method, init, split_merge, ...)")
    f.add_argument("model", choices=sorted(MODELS), help="the model to fit")
    f.add_argument("--corpus", default="sotu",
                   help="'sotu' (embedded default) or a path: 20NG/BBC tarball or folder, "
                        "GhLDA wiki folder, OCTIS folder, saved corpus, or a .txt file with "
                        "one document per line")
    f.add_argument("--topics", type=int, default=20, help="number of topics K (flat models)")
    f.add_argument("--chains", type=int, default=4, help="independent Markov chains")
    f.add_argument("--samples", type=int, default=200, help="recorded draws per chain")
    f.add_argument("--warmup", type=int, default=200, help="warm-up sweeps per chain")
    f.add_argument("--thin", type=int, default=1, help="sweeps per recorded draw")
    f.add_argument("--seed", type=int, default=0, help="seed of all chains (same seed, same "
                   "draws)")
    f.add_argument("--executor", choices=("thread", "serial"), default="thread",
                   help="run the chains in parallel threads (one core each) or one by one")
    f.add_argument("--out", default=None,
                   help="output folder (default runs/MODEL); an earlier posterior there is "
                        "replaced, anything else is refused")
    f.add_argument("--overwrite", action="store_true",
                   help="replace a file or damaged bundle at --out (never a folder holding "
                        "other files)")
    f.add_argument("--vectors", default="glove", help="'glove' or a word-vector file")
    f.add_argument("--checkpoint-dir", default=None,
                   help="folder for checkpoints; rerunning resumes every chain from it")
    f.add_argument("--top", type=int, default=10, help="words shown per topic")
    f.add_argument("--no-progress", action="store_true", help="no progress bars")
    if fit_model in MODELS:
        from ppltopics._cli_options import add_fit_options

        add_fit_options(f, fit_model)
    f.set_defaults(func=_cmd_fit)

    t = sub.add_parser("topics", help="print the topics of a saved posterior")
    t.add_argument("dir", help="folder of a saved posterior")
    t.add_argument("--top", type=int, default=10, help="words shown per topic")
    t.add_argument("--by", default=None,
                   help="ranking of a topic's words: LDA 'probability' | 'relevance'; GLDA, "
                        "CGTM, GhLDA 'density' | 'counts' | 'rerank' | 'relevance'; TopClus "
                        "'cosine' | 'mass' (default: the model's own)")
    t.add_argument("--relevance-weight", type=float, default=0.6, metavar="LAMBDA",
                   help="λ of --by relevance: λ log φ + (1 − λ) log(φ / p_w) (default 0.6)")
    t.set_defaults(func=_cmd_topics)

    d = sub.add_parser("diagnose", help="R-hat/ESS table and trace plot of a saved posterior")
    d.add_argument("dir", help="folder of a saved posterior")
    d.add_argument("--html", nargs="?", const="", default=None, metavar="PATH",
                   help="also write a self-contained HTML report (summary, mode report, "
                        "plots, topics, coherence) to PATH (default DIR/report.html)")
    d.set_defaults(func=_cmd_diagnose)

    e = sub.add_parser("evaluate", help="coherence and diversity of a saved posterior")
    e.add_argument("dir", help="folder of a saved posterior")
    e.add_argument("--reference", default=None, help="reference corpus (default: training)")
    e.add_argument("--top-n", type=int, default=10, help="top words per topic scored")
    e.set_defaults(func=_cmd_evaluate)

    r = sub.add_parser("transform", help="document-topic proportions of a corpus (fold-in "
                       "with the topics fixed) as CSV or Parquet")
    r.add_argument("dir", help="folder of a saved posterior")
    r.add_argument("--corpus", required=True,
                   help="'sotu' or a corpus path, as for fit; words the model does not know "
                        "are dropped")
    r.add_argument("--out", required=True, help="output file: .csv or .parquet (one row per "
                   "document, a column per topic)")
    r.add_argument("--sweeps", type=int, default=100, help="fold-in Gibbs sweeps")
    r.add_argument("--burn-in", type=int, default=50, help="sweeps left out of the average")
    r.add_argument("--seed", type=int, default=0, help="seed of the fold-in sampler")
    r.set_defaults(func=_cmd_transform)
    return p


def _fit_model_of(argv: Sequence[str]) -> str | None:
    """The MODEL of ``fit MODEL ...`` in ``argv``, if any."""
    argv = list(argv)
    if "fit" in argv:
        i = argv.index("fit")
        if i + 1 < len(argv):
            return argv[i + 1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    model = _fit_model_of(argv)
    parser = build_parser(model)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        flag = next((u for u in unknown if u.startswith("--")), None)
        if args.command == "fit" and flag is not None:
            from ppltopics._cli_options import models_with_option

            owners = models_with_option(flag)
            if owners:
                tree = " (tree models)" if set(owners) <= {"hlda", "ghlda"} else ""
                print(f"ppltopics: {flag.split('=')[0]} applies to {', '.join(owners)}{tree}, "
                      f"not {args.model}", file=sys.stderr)
                return 2
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError, TypeError) as e:  # one line, no traceback
        print(f"ppltopics: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
