"""The mode report: chains started in different known modes are found to disagree, chains in
the same mode to agree, and the verdict reaches summary and ``ppltopics diagnose``."""

from __future__ import annotations

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.cli import main
from ppltopics.diagnostics import compare_chain_topics, mode_report

RUN = dict(num_samples=3, warmup=0, progress=False, seed=2)


def planted(seed: int = 0, docs: int = 60, doc_len: int = 30, words: int = 10):
    """Three well-separated Gaussian word clusters in 4-d (orthogonal centres of norm 3)."""
    rng = np.random.default_rng(seed)
    centres = 3.0 * np.eye(3, 4)
    table = np.repeat(centres, words, axis=0) + 0.1 * rng.normal(size=(3 * words, 4))
    theta = rng.dirichlet(np.full(3, 0.3), size=docs)
    z = np.concatenate([rng.choice(3, size=doc_len, p=t) for t in theta])
    w = z * words + rng.integers(0, words, size=z.size)
    vocab = [f"w{i}" for i in range(3 * words)]
    corpus = pt.Corpus(w.astype(np.int32), np.arange(0, z.size + 1, doc_len), vocab)
    return corpus, pt.WordVectors(vocab, table), z.astype(np.int64)


def trap(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Clusters 0 and 1 in topic 0; cluster 2 split at random over topics 1 and 2."""
    out = np.where(z == 2, 1 + rng.integers(0, 2, size=z.size), 0)
    return out.astype(np.int64)


@pytest.fixture(scope="module")
def data():
    return planted()


def _stack(a, b):
    """One two-chain posterior from two one-chain posteriors."""
    groups = {g: {k: np.concatenate([v, b.groups[g][k]]) for k, v in a.groups[g].items()}
              for g in a.groups}
    return type(a)(a.corpus, groups, a.dims, a.estimates, {**a.settings, "num_chains": 2})


def test_chains_in_different_modes_disagree(data):
    corpus, vectors, z = data
    kw = dict(vectors=vectors, num_topics=3, num_chains=1, method="exact", **RUN)
    good = pt.fit("glda", corpus, init=z, **kw)
    bad = pt.fit("glda", corpus, init=trap(z, np.random.default_rng(0)), **kw)
    report = mode_report(_stack(good, bad))
    assert isinstance(report, pt.diagnostics.ModeReport) and report.available
    assert not report.agree
    (pair,) = report.pairs
    assert (pair.a, pair.b) == (0, 1)
    # clusters 0 and 1 (one topic in the other chain) have no counterpart, cluster 2 has
    assert sorted(pair.unmatched_a) == [0, 1]
    assert report.verdict.startswith("chains 0 and 1 disagree on 2 of 3 topics; run longer")
    # the remedies are those the run has not used: it had its own start and the moves
    assert report.verdict.endswith("; run longer or add chains")
    assert "topics" in str(report) and report.verdict in str(report)
    frame = report.to_frame()
    assert frame.loc[0, "disagree"] == 2 and frame.loc[0, "min_similarity"] < 0.9


def test_chains_in_the_same_mode_agree(data):
    corpus, vectors, z = data
    post = pt.fit("glda", corpus, vectors=vectors, num_topics=3, num_chains=2, method="exact",
                  init=z, **RUN)
    report = mode_report(post)
    assert report.agree and report.verdict.startswith("all 2 chains agree")
    assert report.pairs[0].similarity.min() > 0.99
    table = pt.diagnostics.summary(post)
    assert table.attrs["mode_report"] == report.verdict
    assert "r_hat" in table.columns  # the table itself is unchanged


def test_lda_chains_keep_their_topics(data):
    corpus, _, z = data
    same = pt.fit("lda", corpus, num_topics=3, num_chains=2, init=z, **RUN)
    assert same.estimates["chain_phi"].shape == (2, 3, corpus.vocab_size)
    assert same.estimates["chain_phi"].dtype == np.float32
    assert mode_report(same).agree
    bad = pt.fit("lda", corpus, num_topics=3, num_chains=1, init=trap(z, np.random.default_rng(1)),
                 **RUN)
    good = pt.fit("lda", corpus, num_topics=3, num_chains=1, init=z, **RUN)
    mixed = _stack(good, bad)
    mixed.estimates["chain_phi"] = np.concatenate([good.estimates["chain_phi"],
                                                   bad.estimates["chain_phi"]])
    r = mode_report(mixed)
    # the split cluster always leaves a topic without counterpart; the merged topic's cosine
    # with its larger cluster's topic is sqrt-share-weighted and may pass the threshold
    assert r.pairs[0].num_disagree in (1, 2) and not r.agree
    assert f"disagree on {r.pairs[0].num_disagree} of 3 topics" in r.verdict
    assert r.verdict.endswith("run longer, add chains, or turn on split_merge")
    mixed.settings["init"] = "random"
    assert mode_report(mixed).verdict.endswith(
        'add chains, start from init="lda", or turn on split_merge')
    del mixed.estimates["chain_phi"]  # a posterior saved before per-chain topics were kept
    old = mode_report(mixed)
    assert not old.available and "not available" in old.verdict


def test_compare_chain_topics_matches_permutations():
    rng = np.random.default_rng(0)
    t = rng.dirichlet(np.full(50, 0.1), size=5)
    r = compare_chain_topics([t, t[[3, 1, 4, 0, 2]], t])
    assert r.agree and len(r.pairs) == 3
    np.testing.assert_array_equal(r.pairs[0].match, [3, 1, 4, 0, 2])
    merged = t.copy()
    merged[0] = 0.5 * (t[0] + t[1])
    merged[1] = t[2] + 0.01 * rng.random(50)
    r = compare_chain_topics([t, merged])
    assert not r.agree and r.pairs[0].num_disagree >= 1
    with pytest.raises(ValueError, match="threshold"):
        compare_chain_topics([t, t], threshold=1.5)
    one = compare_chain_topics([t])
    assert one.pairs == [] and one.verdict.startswith("one chain")


def test_diagnose_prints_the_verdict(data, tmp_path, capsys):
    corpus, vectors, z = data
    post = pt.fit("glda", corpus, vectors=vectors, num_topics=3, num_chains=2, method="exact",
                  init=z, **RUN)
    post.save(tmp_path / "run")
    assert main(["diagnose", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "r_hat" in out and "all 2 chains agree" in out


def test_tree_report(data):
    corpus, _, _ = data
    post = pt.fit("hlda", corpus, num_chains=2, num_samples=3, warmup=2, progress=False, seed=0)
    r = mode_report(post)
    assert r.model == "hlda" and "not available for trees" in r.measure
    assert len(r.pairs) == 1 and r.num_topics == post.num_nodes
    assert "nodes" in r.verdict


def test_summary_of_a_tree_whose_node_counts_never_change(data):
    """A tree whose nodes per level stay fixed through the run (each level constant, the
    levels different) has no R-hat for ``num_nodes``: summary leaves it out instead of
    handing ArviZ an empty selection (tutorial 04's small GhLDA run hit this)."""
    corpus, _, _ = data
    post = pt.fit("hlda", corpus, num_chains=2, num_samples=3, warmup=2, progress=False, seed=0)
    ss = post.groups["sample_stats"]
    ss["num_nodes"] = np.broadcast_to(np.arange(1, ss["num_nodes"].shape[-1] + 1),
                                      ss["num_nodes"].shape).copy()
    table = pt.diagnostics.summary(post)
    assert not any(str(i).startswith("num_nodes") for i in table.index)
    assert any(str(i).startswith("lp") for i in table.index)
