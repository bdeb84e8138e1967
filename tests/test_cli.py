"""The console script: fit / topics / diagnose / evaluate on a small saved corpus."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
