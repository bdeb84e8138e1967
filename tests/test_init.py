"""Informed starts ``init="random" | "kmeans" | "lda" | z``: validation, reproducibility,
recording, and that k-means starts near the planted topics."""

from __future__ import annotations

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.inference._init import (
    KMEANS_RESTARTS,
    check_init,
    init_config,
    kmeans_assignments,
    weighted_kmeans,
)
from ppltopics.inference.glda import GLDAKernel
from ppltopics.inference.lda import LDAKernel
from ppltopics.models.glda import GLDAHyper
from ppltopics.models.lda import LDAHyper, simulate
from ppltopics.testing.planted import matched_cosines, planted_gaussian

RUN = dict(num_chains=2, num_samples=4, warmup=3, progress=False, seed=5)


@pytest.fixture(scope="module")
def planted():
    return planted_gaussian(0, docs=120)


@pytest.fixture(scope="module")
def small_lda():
    return simulate(30, 40, 30, LDAHyper(num_topics=3, alpha=0.3, beta=0.05), seed=1)


def _glda_kernel(corpus, vectors, k, **kw):
    table = vectors.matrix(corpus.vocab)
    r = GLDAHyper(num_topics=k).resolve(table, counts=corpus.word_counts())
    return GLDAKernel(corpus, table, k, r.alpha, r.mu0, r.kappa0, r.nu0, r.psi0, **kw)


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("bad, says", [
    ("kmeanz", "is not a start"),
    (None, "init must be"),
    (3, "init must be"),
    (np.zeros((2, 5), dtype=np.int64), "one-dimensional"),
    (np.zeros(7, dtype=np.int64), "has length 7"),
    (np.zeros(10, dtype=np.float64), "integer dtype"),
    (np.zeros(10, dtype=bool), "integer dtype"),
    (np.full(10, 3, dtype=np.int64), "in [0, num_topics=3)"),
    (np.full(10, -1, dtype=np.int64), "in [0, num_topics=3)"),
])
def test_check_init_rejects_bad_starts(bad, says):
    with pytest.raises(ValueError, match=r"init") as e:
        check_init(bad, model="GLDA", num_tokens=10, num_topics=3, has_vectors=True)
    assert says in str(e.value)


def test_kmeans_needs_vectors_and_trees_take_cluster_or_random(small_lda):
    c = small_lda.corpus
    with pytest.raises(ValueError, match="init='kmeans' clusters word vectors.*LDA"):
        pt.fit("lda", c, num_topics=3, init="kmeans", **RUN)
    z = np.zeros(c.num_tokens, dtype=np.int64)
    for init in ("kmeans", "lda", z):
        with pytest.raises(ValueError, match="hLDA takes init='cluster'.* or 'random'"):
            pt.fit("hlda", c, init=init, **RUN)
    with pytest.raises(ValueError, match="has length"):
        pt.fit("lda", c, num_topics=3, init=z[:-1], **RUN)
    with pytest.raises(ValueError, match=r"in \[0, num_topics=3\)"):
        pt.fit("lda", c, num_topics=3, init=z + 3, **RUN)


def test_ghlda_takes_cluster_or_random(planted):
    corpus, vectors, _, _ = planted
    with pytest.raises(ValueError, match="GhLDA takes init='cluster'.* or 'random'"):
        pt.fit("ghlda", corpus, vectors=vectors, init="kmeans", **RUN)
    assert pt.fit("ghlda", corpus, vectors=vectors, **RUN).settings["init"] == "cluster"
    paper = pt.fit("ghlda", corpus, vectors=vectors, preset="paper", **RUN)
    assert paper.settings["init"] == "random" and paper.settings["initial_tree"] == [1, 1, 4, 4]
    ours = pt.fit("ghlda", corpus, vectors=vectors, preset="paper", init="cluster", **RUN)
    assert ours.settings["init"] == "cluster" and ours.settings["initial_tree"] is None
    assert ours.settings["warmup_fixed_sweeps"] == 5 and ours.settings["depth"] == 4


# ----------------------------------------------------------------------------- starts
def test_array_start_is_the_state(small_lda):
    c = small_lda.corpus
    z = np.asarray(small_lda.z, dtype=np.int64)
    kernel = LDAKernel(c, LDAHyper(num_topics=3, alpha=0.3, beta=0.05), init=z)
    state = kernel.init_state(np.random.default_rng(0))
    np.testing.assert_array_equal(state["z"], z)
    np.testing.assert_array_equal(state["n_k"], np.bincount(z, minlength=3))
    np.testing.assert_array_equal(kernel.word_topic_counts(state).sum(axis=0),
                                  c.word_counts())
    z[0] = (z[0] + 1) % 3  # the kernel kept a copy
    assert state["z"][0] != z[0]


def test_random_start_draws_are_unchanged(small_lda):
    """``init="random"`` (the default) draws the same start as before the option existed."""
    c = small_lda.corpus
    hyper = LDAHyper(num_topics=3, alpha=0.3, beta=0.05)
    z = LDAKernel(c, hyper).init_state(np.random.default_rng(4))["z"]
    expected = np.random.default_rng(4).integers(0, 3, size=c.num_tokens)
    np.testing.assert_array_equal(z, expected)


@pytest.mark.parametrize("model, init", [("lda", "lda"), ("lda", "array"), ("glda", "kmeans"),
                                         ("glda", "lda"), ("cgtm", "kmeans")])
def test_same_seed_same_draws_and_recorded(model, init, planted, small_lda):
    if model == "lda":
        corpus, vectors = small_lda.corpus, None
    else:
        corpus, vectors = planted[0], planted[1]
    k = 3 if model == "lda" else 6
    start = init
    if init == "array":
        start = np.random.default_rng(9).integers(0, k, size=corpus.num_tokens)
    fits = [pt.fit(model, corpus, vectors=vectors, num_topics=k, init=start, **RUN)
            for _ in range(2)]
    for g in ("sample_stats", "posterior"):
        for name, a in fits[0].groups[g].items():
            if name not in ("tokens_per_s", "wall_time"):
                np.testing.assert_array_equal(a, fits[1].groups[g][name], err_msg=name)
    s = fits[0].settings
    assert s["init"] == ("array" if init == "array" else init)
    if init == "array":
        assert s["init_sha256"] == init_config(np.asarray(start, dtype=np.int64))["init_sha256"]
    if init == "lda":
        assert s["init_sweeps"] == 50
    lp = fits[0].groups["sample_stats"]["lp"]
    assert lp.shape == (2, 4) and not np.array_equal(lp[0], lp[1])  # chains start apart


def test_default_start_is_recorded(small_lda):
    post = pt.fit("lda", small_lda.corpus, num_topics=3, **RUN)
    assert post.settings["init"] == "random"


@pytest.mark.parametrize("model", ["glda", "cgtm"])
def test_gaussian_fit_starts_from_kmeans_unless_the_word_view_is_on(model, planted):
    """``pt.fit("glda" | "cgtm")`` start from the k-means start by default (its measured
    recovery, :func:`ppltopics.inference._init.gaussian_fit_init`), from uniform topics with
    the word view (as the word view was measured), and take any start they are given."""
    corpus, vectors, _, _ = planted
    kw = dict(RUN, num_chains=1, num_topics=6, vectors=vectors)
    post = pt.fit(model, corpus, **kw)
    assert post.settings["init"] == "kmeans"
    assert pt.fit(model, corpus, beta=0.01, vector_weight=0.1, **kw).settings["init"] == "random"
    assert pt.fit(model, corpus, init="random", **kw).settings["init"] == "random"
    # the default start is the k-means start, draw for draw
    again = pt.fit(model, corpus, init="kmeans", **kw)
    np.testing.assert_array_equal(post.groups["sample_stats"]["lp"],
                                  again.groups["sample_stats"]["lp"])


def test_checkpoint_refuses_another_start(small_lda, tmp_path):
    c = small_lda.corpus
    kw = dict(RUN, num_chains=1)
    pt.fit("lda", c, num_topics=3, checkpoint_dir=tmp_path, **kw)
    with pytest.raises(ValueError, match="different run"):
        pt.fit("lda", c, num_topics=3, checkpoint_dir=tmp_path, init="lda", **kw)
    z1 = np.zeros(c.num_tokens, dtype=np.int64)
    d2 = tmp_path / "arr"
    pt.fit("lda", c, num_topics=3, checkpoint_dir=d2, init=z1, **kw)
    z2 = z1.copy()
    z2[0] = 1
    with pytest.raises(ValueError, match="different run"):
        pt.fit("lda", c, num_topics=3, checkpoint_dir=d2, init=z2, **kw)


def test_weighted_kmeans_weights_count():
    """A heavy point pulls its centre: weights are token counts, not word types."""
    x = np.array([[0.0], [1.0], [10.0], [11.0]])
    labels, centres = weighted_kmeans(x, np.array([1.0, 99.0, 1.0, 1.0]), 2,
                                      np.random.default_rng(0))
    assert labels[0] == labels[1] != labels[2] == labels[3]
    left = centres[labels[0], 0]
    assert left == pytest.approx(0.99)


def test_kmeans_start_beats_random_on_planted_topics():
    """Over several planted corpora the k-means start is much closer to the planted centres
    than the random start, and nearly every topic is found before any sweep."""
    kmeans_cos, random_cos = [], []
    for seed in range(4):
        corpus, vectors, centres, _ = planted_gaussian(seed, docs=80)
        for init, out in (("kmeans", kmeans_cos), ("random", random_cos)):
            kernel = _glda_kernel(corpus, vectors, 6, init=init)
            state = kernel.init_state(np.random.default_rng(seed))
            out.append(matched_cosines(centres, kernel.topic_means(state)))
    kmeans_cos, random_cos = np.array(kmeans_cos), np.array(random_cos)
    assert kmeans_cos.mean() > random_cos.mean() + 0.3
    assert kmeans_cos.mean() > 0.95 and np.median(kmeans_cos) > 0.99


def test_kmeans_assignments_follow_words(planted):
    corpus, vectors, _, z_true = planted
    z = kmeans_assignments(corpus.word_ids, vectors.matrix(corpus.vocab), 6,
                           np.random.default_rng(KMEANS_RESTARTS))
    # every token of a word shares its word's cluster
    for w in np.unique(corpus.word_ids)[:20]:
        assert np.unique(z[corpus.word_ids == w]).size == 1
    assert z.min() >= 0 and z.max() < 6
