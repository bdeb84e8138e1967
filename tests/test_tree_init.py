"""The clustered start of the tree models (``init="cluster"``, inference/_tree_init.py).

(a) Parts: Hellinger profiles are unit rows whose distances are the documents' Hellinger
    distances; ``ward_cuts`` takes the cuts under the largest height ratios, increasing.
(b) Recovery: words simulated from the hLDA Pyro story with the paths of a planted tree
    (``poutine.condition``).  The clustered start itself holds the planted tree (3 corpus
    seeds, 2 shapes), and every chain of ``pt.fit("hlda", ...)`` with the defaults (no
    ``initial_tree``, no chosen seeds: 4 chains, 60 warm-up sweeps) ends on it.  From
    nCRP-prior paths the same chains find it in 0 of 8 seeds per shape
    (``benchmarks/bench_tree_init.py``); from the clustered start 8 of 8 for each of four
    shapes, so these seeded, deterministic checks fail only if the start or the chain breaks.
(c) Options: the default resolves to ``"cluster"`` (``"random"`` when ``initial_tree`` is
    given; GhLDA's paper preset keeps its tree), settings record it, a clustered start holds
    the tree for ``CLUSTER_FIXED_SWEEPS`` warm-up sweeps unless told otherwise; bad values
    are ValueErrors naming the option; a corpus of two documents starts on one path.
"""

from __future__ import annotations

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.corpus import Corpus
from ppltopics.inference import _tree_init as TI
from ppltopics.inference._tree import tree_arrays_from_paths
from ppltopics.inference.hlda import HLDAKernel
from ppltopics.models import hlda as H
from ppltopics.testing.planted import holds_tree

RUN = {"num_chains": 1, "num_samples": 2, "warmup": 2, "progress": False}


def planted(seed: int, shape: list[int], D: int = 240, Nd: int = 100, V: int = 150):
    """(corpus, planted paths): a full tree of ``shape`` below the root, documents dealt to
    its leaves in turn, words from the Pyro story (γ = 0.5, η = 0.02, m = 0.4, π = 50)."""
    leaves, nxt = [[0]], 1
    for b in shape:
        leaves = [p + [nxt + b * j + i] for j, p in enumerate(leaves) for i in range(b)]
        nxt += len(leaves)
    hyper = H.HLDAHyper(depth=len(shape) + 1, gamma=0.5, gem_mean=0.4, gem_scale=50.0,
                        eta=0.02)
    sim = H.simulate(D, Nd, V, hyper, seed, paths=np.array(leaves)[np.arange(D) % len(leaves)])
    return sim.corpus, sim.truth["paths"]


# ----------------------------------------------------------------------------- parts
def test_hellinger_profiles():
    docs = np.array([0, 0, 0, 1, 1, 2])
    words = np.array([0, 0, 1, 1, 2, 2])
    X = TI.hellinger_profiles(docs, words, 3).toarray()
    assert np.allclose((X ** 2).sum(axis=1), 1.0)
    p = np.array([[2, 1, 0], [0, 1, 1], [0, 0, 1]]) / np.array([[3], [2], [1]])
    hell2 = 0.5 * ((np.sqrt(p[:, None]) - np.sqrt(p[None])) ** 2).sum(axis=2)
    d2 = ((X[:, None] - X[None]) ** 2).sum(axis=2)
    assert np.allclose(d2, 2 * hell2)


def test_ward_cuts_take_the_largest_height_ratios():
    # 9 merges of 10 leaves: a jump below 2 clusters (×10) and below 5 (×4), else ×1.1
    h = np.array([1.0, 1.1, 1.21, 1.331, 1.4641, 5.9, 6.5, 7.1, 71.0])
    assert TI.ward_cuts(h, 2) == [2, 5]
    assert TI.ward_cuts(h, 1) == [2]
    assert TI.ward_cuts(h, 2, max_nodes=4) == [2, 4]  # 5 is out of range: next best 4 (×1.10)
    assert TI.ward_cuts(np.array([1.0, 2.0]), 2) == [2]  # 3 leaves: only k = 2
    assert TI.ward_cuts(np.array([1.0]), 2) == []


@pytest.mark.parametrize("shape", [[2, 2], [3, 2]], ids=["2x2", "3x2"])
def test_clustered_start_holds_the_planted_tree(shape):
    for seed in range(3):
        corpus, truth = planted(seed, shape)
        profiles = TI.hellinger_profiles(corpus.token_docs, corpus.word_ids, corpus.num_docs)
        paths, cuts = TI.cluster_paths(profiles, len(shape) + 1, np.random.default_rng(seed))
        tree_arrays_from_paths(paths)  # a tree: raises otherwise
        assert cuts == list(np.cumprod(shape)), (seed, cuts)
        assert holds_tree(paths, truth), seed


def test_clustered_chains_find_the_planted_tree():
    """(b) Four chains from the clustered start, 60 warm-up sweeps each, all end on the
    planted tree; ``pt.fit("hlda")`` with the defaults starts there and its reference chain
    holds it."""
    corpus, truth = planted(1, [2, 2])
    kw = {"depth": 3, "gamma": 0.5, "eta": 0.02, "gem_mean": 0.4, "gem_scale": 50.0}
    for chain in range(4):
        kernel = HLDAKernel(corpus, init="cluster", **kw)
        rng = np.random.default_rng(100 + chain)
        state = kernel.init_state(rng)
        for _ in range(60):
            kernel.step(state, rng, warmup=True)
        assert holds_tree(state["paths"], truth), chain
    post = pt.fit("hlda", corpus, num_chains=2, num_samples=1, warmup=60, seed=0,
                  progress=False, **kw)
    assert post.settings["init"] == "cluster"
    assert post.settings["warmup_fixed_sweeps"] == TI.CLUSTER_FIXED_SWEEPS
    assert holds_tree(post.doc_paths(), truth)


def test_ghlda_clustered_start_finds_the_planted_tree():
    """(b) GhLDA, the planted tree of ``tests/test_ghlda.py`` (M = 4, one word type per
    token, so only the vectors tell documents apart): the start from histograms over
    clusters of the vectors holds the tree, and the chain ends on it (seeds 0, 1; 7 of 8
    seeds in the bench, 0 of 8 from nCRP-prior paths)."""
    from ppltopics.inference.ghlda import GhLDAKernel
    from ppltopics.models import ghlda as G

    M, D, Nd = 4, 120, 40
    h = G.GhLDAHyper(depth=3, gamma=0.5, gem_mean=0.4, gem_scale=50.0, kappa0=0.02,
                     nu0=M + 4.0, mu0=(0.0,) * M, psi0=0.05,
                     psi_ratio=(1.0, 0.5, 0.25)).resolve(dim=M)
    truth = np.array([[0, 1, 3], [0, 1, 4], [0, 2, 5], [0, 2, 6]])[np.arange(D) % 4]
    for seed in (0, 1):
        sim = G.simulate(D, Nd, h, seed, paths=truth)
        kernel = GhLDAKernel(sim.corpus, sim.vectors.vectors, h.mu0, h.kappa0, h.nu0,
                             h.psi0, psi_ratio=h.psi_ratio, depth=3, gamma=0.5, gem_mean=0.4,
                             gem_scale=50.0, init="cluster")
        rng = np.random.default_rng(seed)
        state = kernel.init_state(rng)
        assert holds_tree(state["paths"], truth), seed
        for _ in range(40):
            kernel.step(state, rng, warmup=True)
        assert holds_tree(state["paths"], truth), seed


# ----------------------------------------------------------------------------- options
def test_start_options_and_settings():
    corpus, _ = planted(0, [2, 2], D=40, Nd=20)
    k = HLDAKernel(corpus, depth=3, init="cluster")
    assert k.config()["init"] == "cluster" and k.warmup_fixed_sweeps == TI.CLUSTER_FIXED_SWEEPS
    assert HLDAKernel(corpus, depth=3, init="cluster", warmup_fixed_sweeps=0
                      ).warmup_fixed_sweeps == 0
    k = HLDAKernel(corpus, depth=3)
    assert k.config()["init"] == "random" and k.warmup_fixed_sweeps == 0
    a = HLDAKernel(corpus, depth=3, init="cluster").init_state(np.random.default_rng(3))
    b = HLDAKernel(corpus, depth=3, init="cluster").init_state(np.random.default_rng(3))
    assert np.array_equal(a["paths"], b["paths"]) and np.array_equal(a["levels"], b["levels"])
    post = pt.fit("hlda", corpus, initial_tree=[1, 2, 2], **RUN)
    assert post.settings["init"] == "random"
    assert pt.fit("hlda", corpus, init="random", **RUN).settings["init"] == "random"
    with pytest.raises(ValueError, match="init='cluster' builds the starting tree"):
        HLDAKernel(corpus, depth=3, init="cluster", initial_tree=[1, 2, 2])
    with pytest.raises(ValueError, match="HLDAKernel takes init='cluster'"):
        HLDAKernel(corpus, depth=3, init="kmeans")
    with pytest.raises(ValueError, match="hLDA takes init='cluster'"):
        pt.fit("hlda", corpus, init="bisect", **RUN)


def test_ghlda_profiles_follow_word_repetition():
    """GhLDA clusters word distributions while types repeat, else vector-cluster histograms."""
    from ppltopics.inference.ghlda import GhLDAKernel

    corpus, _ = planted(0, [2, 2], D=40, Nd=20)  # 800 tokens over ≤ 150 types
    rng = np.random.default_rng(0)
    args = (np.zeros(2), 1.0, 5.0, np.eye(2))
    words = GhLDAKernel(corpus, rng.normal(size=(corpus.vocab_size, 2)), *args)
    assert words._start_profiles(rng).shape == (40, corpus.vocab_size)
    tokens = Corpus(np.arange(800, dtype=np.int32), corpus.doc_offsets,
                    [f"t{i}" for i in range(800)])
    unique = GhLDAKernel(tokens, rng.normal(size=(800, 2)), *args)
    assert unique._start_profiles(rng).shape == (40, TI.CLUSTER_CODEBOOK)


def test_simulate_plants_paths():
    hyper = H.HLDAHyper(depth=3, gamma=0.5, gem_mean=0.4, gem_scale=50.0, eta=0.02)
    paths = np.array([[0, 1, 3], [0, 1, 4], [0, 2, 5]])
    sim = H.simulate(3, 20, 30, hyper, seed=2, paths=paths)
    assert np.array_equal(sim.truth["paths"], paths)
    assert sim.truth["node_level"].tolist() == [0, 1, 1, 2, 2, 2]
    for bad in (paths[:2], paths.astype(float)):
        with pytest.raises(ValueError, match="paths must be integers of shape"):
            H.simulate(3, 20, 30, hyper, paths=bad)


def test_two_documents_start_on_one_path():
    corpus = Corpus(np.array([0, 1, 1, 2], dtype=np.int32), np.array([0, 2, 4]),
                    ["a", "b", "c"])
    profiles = TI.hellinger_profiles(corpus.token_docs, corpus.word_ids, 2)
    paths, cuts = TI.cluster_paths(profiles, 3, np.random.default_rng(0))
    assert cuts == [] and (paths == paths[0]).all()
    post = pt.fit("hlda", corpus, **RUN)
    assert post.settings["init"] == "cluster"
