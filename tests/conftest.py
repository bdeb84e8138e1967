"""Shared fixtures: the ../shared/data folder (tests that need it skip cleanly when absent),
the SOTU corpus, a Dask client."""

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


@pytest.fixture(scope="module")
def dask_client():
    """A ``distributed`` client of a LocalCluster of 2 single-thread worker processes (as
    CI's machine has 2 cores); skips when the ``distributed`` extra is not installed."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        yield client
