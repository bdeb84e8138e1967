"""Shared fixtures: the ../shared/data folder (tests that need it skip cleanly when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; skips the test when it is not there."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"benchmark corpora not available at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sotu_corpus():
    """The embedded default corpus (State of the Union paragraphs), loaded once."""
    from ppltopics import datasets

    return datasets.load_sotu()
