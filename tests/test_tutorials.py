"""Every tutorial runs top to bottom (small settings) as a plain script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("[0-9]*.py"))


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PPLTOPICS_TUTORIAL_SMALL": "1", "MPLBACKEND": "Agg",
           "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip(), "a tutorial should show its results"


def test_tutorials_are_jupytext_percent_notebooks() -> None:
    jupytext = pytest.importorskip("jupytext")
    for path in TUTORIALS:
        nb = jupytext.read(path)
        kinds = {c.cell_type for c in nb.cells}
        assert {"markdown", "code"} <= kinds, path.name
