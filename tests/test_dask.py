"""Chains as tasks on a dask.distributed cluster (``executor=client``): a LocalCluster of 2
single-thread worker processes gives exactly the serial executor's draws (the kernel and
its corpus travel by pickle), and a closed client is refused with its address."""

from __future__ import annotations

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.models.lda import LDAHyper, simulate

distributed = pytest.importorskip("distributed")

FIT = dict(num_topics=4, num_chains=2, num_samples=5, warmup=5, progress=False, seed=3)


@pytest.fixture(scope="module")
def client(dask_client):
    return dask_client


@pytest.fixture(scope="module")
def corpus():
    return simulate(40, 25, 60, LDAHyper(num_topics=4, alpha=0.2, beta=0.05), seed=2).corpus


def test_chains_on_a_cluster_equal_serial_chains(client, corpus):
    remote = pt.fit("lda", corpus, executor=client, **FIT)
    local = pt.fit("lda", corpus, executor="serial", **FIT)
    for key in ("lp", "log_likelihood"):
        np.testing.assert_array_equal(remote.groups["sample_stats"][key],
                                      local.groups["sample_stats"][key])
    np.testing.assert_array_equal(remote.estimates["phi"], local.estimates["phi"])


def test_a_closed_client_is_refused(corpus):
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        c = distributed.Client(cluster)
        address = c.scheduler.address
        c.close()
        with pytest.raises(ValueError, match=address):
            pt.fit("lda", corpus, executor=c, **FIT)
