"""One LDA chain spread over a Dask cluster (``workers=W`` with ``executor=client``), on a
``LocalCluster`` of 2 single-thread worker processes.

The Dask chain is the threaded ``workers=W`` chain placed on other machines, so the tests
ask for equality, not closeness: same draws, assignments and estimates for the same seed
(W = 2 and W = 3 on 2 workers; dense and bucket sweeps); a worker killed mid-run costs only
time (the chain restarts from its last checkpoint and ends with the uninterrupted run's
draws); a run interrupted with a ``checkpoint_dir`` resumes, on Dask or with threads, to the
same end.
"""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.models.lda import LDAHyper, simulate

distributed = pytest.importorskip("distributed")

from ppltopics.inference._dask_lda import _pack, _unpack  # noqa: E402
from ppltopics.inference.lda import LDAKernel  # noqa: E402

FIT = dict(num_topics=5, num_chains=1, num_samples=6, warmup=6, progress=False, seed=1,
           workers=2, checkpoint_every=3)


@pytest.fixture(scope="module")
def client(dask_client):
    return dask_client


@pytest.fixture(scope="module")
def corpus():
    return simulate(100, 30, 200, LDAHyper(num_topics=5, alpha=0.2, beta=0.05), seed=2).corpus


def assert_same_run(a, b) -> None:
    """Equal draws; ``lp`` to rounding (its log p(z) is summed shard by shard)."""
    np.testing.assert_allclose(a.groups["sample_stats"]["lp"], b.groups["sample_stats"]["lp"],
                               rtol=1e-13)
    for key in ("log_likelihood", "num_occupied"):
        np.testing.assert_array_equal(a.groups["sample_stats"][key],
                                      b.groups["sample_stats"][key])
    for key in b.groups["posterior"]:
        np.testing.assert_array_equal(a.groups["posterior"][key], b.groups["posterior"][key])
    np.testing.assert_array_equal(a.groups["log_likelihood"]["w"],
                                  b.groups["log_likelihood"]["w"])
    for key in ("phi", "theta", "alpha"):
        np.testing.assert_array_equal(a.estimates[key], b.estimates[key])


def test_chunks_pack_and_unpack_to_the_same_blocks(corpus):
    kernel = LDAKernel(corpus, LDAHyper(num_topics=5, alpha=0.2, beta=0.05), workers=3)
    state = kernel.init_state(np.random.default_rng(0))
    packed = np.full_like(state["wt_packed"], -1)
    nnz = np.zeros_like(state["wt_nnz"])
    for p in range(3):
        words = np.flatnonzero(kernel._partition.word_chunk == p)
        chunk_nnz, cells = _pack(words, state["wt_offsets"], state["wt_packed"], state["wt_nnz"])
        assert cells.size == state["wt_nnz"][words].sum()
        _unpack(words, chunk_nnz, cells, state["wt_offsets"], packed, nnz)
    np.testing.assert_array_equal(nnz, state["wt_nnz"])
    for w in range(corpus.vocab_size):
        a = state["wt_offsets"][w]
        np.testing.assert_array_equal(packed[a:a + nnz[w]], state["wt_packed"][a:a + nnz[w]])


@pytest.mark.parametrize(("workers", "num_topics"), [(2, 5), (3, 5), (2, 40)])
def test_a_dask_chain_is_the_threaded_chain(client, corpus, workers, num_topics):
    """K = 5 runs the dense sweep, K = 40 the SparseLDA buckets (LDAKernel.dense_sweep)."""
    fit = {**FIT, "num_chains": 2, "workers": workers, "num_topics": num_topics}
    on_dask = pt.fit("lda", corpus, executor=client, **fit)
    threaded = pt.fit("lda", corpus, executor="serial", **fit)
    assert_same_run(on_dask, threaded)
    assert on_dask.settings["dask_recoveries"] == [0, 0]
    assert min(on_dask.settings["dask_bytes_per_sweep"]) > 0


def test_a_killed_worker_costs_only_time(client, corpus):
    ref = pt.fit("lda", corpus, executor="serial", **FIT)
    killed: list[str] = []

    def kill_one(state, it):
        if it == 7 and not killed:
            pids = client.run(os.getpid)
            victim = sorted(pids)[0]
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(victim)

    post = pt.fit("lda", corpus, executor=client, callback=kill_one, **FIT)
    assert killed and post.settings["dask_recoveries"] == [1]
    assert_same_run(post, ref)
    client.wait_for_workers(2, timeout=60)


@pytest.mark.parametrize("resume_on", ["dask", "threads"])
def test_an_interrupted_run_resumes_from_its_checkpoint(client, corpus, tmp_path, resume_on):
    ref = pt.fit("lda", corpus, executor="serial", **FIT)

    def stop(state, it):
        if it == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pt.fit("lda", corpus, executor=client, callback=stop, checkpoint_dir=tmp_path, **FIT)
    assert (tmp_path / "chain-0").exists()
    post = pt.fit("lda", corpus, executor=client if resume_on == "dask" else "serial",
                  checkpoint_dir=tmp_path, **FIT)
    assert_same_run(post, ref)


def test_what_a_dask_chain_does_not_take_is_refused(client, corpus):
    with pytest.raises(ValueError, match="split_merge"):
        pt.fit("lda", corpus, executor=client, split_merge=True, **FIT)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        closed = distributed.Client(cluster)
        address = closed.scheduler.address
        closed.close()
        with pytest.raises(ValueError, match=address):
            pt.fit("lda", corpus, executor=closed, **FIT)


def test_a_cluster_without_workers_is_waited_for_then_refused(corpus, monkeypatch):
    """A cluster with no worker (e.g. the one it had is being restarted) is waited for a
    bounded time, then a RuntimeError says so: no hang."""
    from ppltopics.inference import _dask_lda

    monkeypatch.setattr(_dask_lda, "WAIT_FOR_WORKERS_S", 1)
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cl, \
            distributed.Client(cl) as empty:
        with pytest.raises(RuntimeError, match="no workers"):
            pt.fit("lda", corpus, executor=empty, **FIT)


def test_a_worker_that_comes_back_is_waited_for(corpus, monkeypatch):
    """A chain that finds the cluster empty waits for a worker (up to WAIT_FOR_WORKERS_S) and
    runs on it: here one is added a second later (as a nanny restarts a lost worker)."""
    import threading

    from ppltopics.inference import _dask_lda

    monkeypatch.setattr(_dask_lda, "WAIT_FOR_WORKERS_S", 60)
    with distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cl, distributed.Client(cl) as c:
        timer = threading.Timer(1.0, lambda: cl.scale(1))
        timer.start()
        post = pt.fit("lda", corpus, executor=c, **FIT)
        timer.join()
    assert post.estimates["phi"].shape[-1] == corpus.vocab_size
