"""The console script: fit / topics / diagnose / evaluate / transform on a small saved
corpus, and fit options generated from the models' fit signatures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import ppltopics as pt
from ppltopics.cli import main
from ppltopics.models.lda import LDAHyper, simulate


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    sim = simulate(40, 25, 60, LDAHyper(num_topics=3, alpha=0.2, beta=0.05), seed=0)
    path = tmp_path_factory.mktemp("c") / "corpus"
    sim.corpus.save(path)
    return path


def test_fit_topics_diagnose_evaluate(corpus_dir, tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["fit", "lda", "--corpus", str(corpus_dir), "--topics", "3", "--chains", "2",
               "--samples", "10", "--warmup", "20", "--out", str(out), "--no-progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert printed.count("topic ") == 3
    assert main(["topics", str(out), "--top", "4"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(len(line.split(":")[1].split()) == 4 for line in lines)
    # --by: Sievert & Shirley's relevance; bad rankings and weights are refused, naming them
    assert main(["topics", str(out), "--top", "4", "--by", "relevance",
                 "--relevance-weight", "0.5"]) == 0
    rel = capsys.readouterr().out.strip().splitlines()
    post = pt.load(out)
    want = post.top_words(4, by="relevance", relevance_weight=0.5)
    assert [line.split(":")[1].split() for line in rel] == want
    assert main(["topics", str(out), "--by", "lift"]) == 2
    assert "by must be 'probability' or 'relevance', got 'lift'" in capsys.readouterr().err
    assert main(["topics", str(out), "--by", "relevance", "--relevance-weight", "2"]) == 2
    assert "relevance_weight must lie in [0, 1]" in capsys.readouterr().err
    assert main(["diagnose", str(out)]) == 0
    assert (out / "summary.csv").is_file() and (out / "trace.png").is_file()
    assert "r_hat" in capsys.readouterr().out
    assert main(["evaluate", str(out)]) == 0
    scores = json.loads((out / "evaluation.json").read_text())
    assert {"npmi", "c_v", "umass", "uci", "diversity@25"} <= set(scores)
    assert -1.0 <= scores["npmi"]["score"] <= 1.0 and scores["npmi"]["window"] == 10


def test_tree_model_prints_its_tree(corpus_dir, tmp_path, capsys):
    out = tmp_path / "tree"
    rc = main(["fit", "hlda", "--corpus", str(corpus_dir), "--chains", "1", "--samples", "3",
               "--warmup", "5", "--depth", "2", "--gamma", "0.5", "--out", str(out),
               "--no-progress", "--top", "3"])
    assert rc == 0
    capsys.readouterr()
    assert main(["topics", str(out), "--top", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    # the root first, its children indented below it
    assert len(lines) >= 2 and not lines[0].startswith(" ") and lines[1].startswith(" ")
    settings = json.loads((out / "manifest.json").read_text())
    assert "0.5" in json.dumps(settings)
    assert main(["topics", str(out), "--by", "counts"]) == 2  # hLDA ranks by probability only
    assert "'hlda' topics do not take --by counts" in capsys.readouterr().err


def test_bad_options_and_path(tmp_path, capsys):
    assert main(["fit", "lda", "--depth", "3", "--no-progress"]) == 2
    assert "tree models" in capsys.readouterr().err
    assert main(["fit", "lda", "--corpus", str(tmp_path / "missing"), "--no-progress"]) == 1
    assert "error" in capsys.readouterr().err


def test_console_script_help():
    proc = subprocess.run([sys.executable, "-m", "ppltopics.cli", "--help"],
                          capture_output=True, text=True, check=True)
    for cmd in ("fit", "topics", "diagnose", "evaluate"):
        assert cmd in proc.stdout


def test_fit_options_come_from_fit_signatures(corpus_dir, tmp_path):
    """Every keyword of every model's fit_model is an option with a help line; given values
    reach the fit (recorded in the settings), literals parse (true, dicts, lists)."""
    import argparse
    import inspect

    import ppltopics as pt
    from ppltopics._cli_options import fit_parameters, literal
    from ppltopics.api import MODELS, _fitter
    from ppltopics.cli import build_parser

    for model in MODELS:
        parser = build_parser(model)
        fit = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        fit = fit.choices["fit"]
        options = {a.dest: a for a in fit._actions}
        names = {p.name for p in fit_parameters(model)}
        sig = inspect.signature(_fitter(model)).parameters
        assert {n for n in sig if n not in ("corpus", "vectors", "num_topics", "spec",
                                            "embeddings", "hyper")} <= names, model
        for a in fit._actions:
            assert a.help, (model, a.dest)  # every option has a help line
        assert all(f"hp_{n}" in options for n in names)
    assert literal("true") is True and literal("{'moves': 2}") == {"moves": 2}
    assert literal("[0.1, 0.2]") == [0.1, 0.2] and literal("kmeans") == "kmeans"
    out = tmp_path / "run"
    rc = main(["fit", "lda", "--corpus", str(corpus_dir), "--topics", "3", "--chains", "1",
               "--samples", "4", "--warmup", "4", "--out", str(out), "--no-progress",
               "--alpha", "0.3", "--beta", "0.02", "--split-merge", "true",
               "--executor", "serial"])
    assert rc == 0
    s = pt.load(out).settings
    assert s["beta"] == 0.02 and s["split_merge"]
    assert s["alpha"] == 0.3 or s["alpha"] == [0.3] * 3


def test_wrong_model_option_and_transform(corpus_dir, tmp_path, capsys):
    import pandas as pd

    assert main(["fit", "lda", "--kappa0", "0.5", "--no-progress"]) == 2
    assert "--kappa0 applies to" in capsys.readouterr().err
    out = tmp_path / "run"
    assert main(["fit", "lda", "--corpus", str(corpus_dir), "--topics", "3", "--chains", "1",
                 "--samples", "4", "--warmup", "4", "--out", str(out), "--no-progress"]) == 0
    for name in ("theta.csv", "theta.parquet"):
        assert main(["transform", str(out), "--corpus", str(corpus_dir), "--out",
                     str(tmp_path / name), "--sweeps", "20", "--burn-in", "10"]) == 0
    a = pd.read_csv(tmp_path / "theta.csv", index_col="doc")
    b = pd.read_parquet(tmp_path / "theta.parquet")
    assert list(a.columns[-3:]) == ["topic_0", "topic_1", "topic_2"] and len(a) == 40
    theta = a[["topic_0", "topic_1", "topic_2"]].to_numpy()
    assert ((theta > 0) & (theta < 1)).all()
    assert abs(theta.sum(axis=1) - 1).max() < 1e-9
    assert abs(b[["topic_0", "topic_1", "topic_2"]].to_numpy() - theta).max() < 1e-12
    assert main(["transform", str(out), "--corpus", str(corpus_dir), "--out",
                 str(tmp_path / "theta.txt")]) == 1
    assert ".csv or .parquet" in capsys.readouterr().err
