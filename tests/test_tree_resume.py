"""Tree models interrupted mid-run resume to exactly the uninterrupted draws (the tree storage
grows and recycles slots between checkpoints, so the checkpoint must hold all of it)."""

from __future__ import annotations

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.models.hlda import HLDAHyper, simulate

FIT = dict(num_chains=2, num_samples=8, warmup=12, progress=False, executor="serial")


@pytest.fixture(scope="module")
def corpus():
    # a large γ makes new branches (and slot recycling) frequent
    return simulate(40, 25, 50, HLDAHyper(depth=3, gamma=2.0, eta=0.2), seed=4).corpus


def _same(a, b) -> None:
    for g in ("posterior", "sample_stats"):
        for k, v in a.groups[g].items():
            if k not in ("tokens_per_s", "wall_time"):
                np.testing.assert_array_equal(v, b.groups[g][k], err_msg=f"{g}.{k}")
    for k, v in a.estimates.items():
        np.testing.assert_array_equal(v, b.estimates[k], err_msg=k)


@pytest.mark.parametrize("model", ["hlda", "ghlda"])
def test_tree_run_resumes_exactly(corpus, tmp_path, model):
    kw = dict(depth=3, gamma=2.0)
    if model == "ghlda":
        rng = np.random.default_rng(0)
        vocab = corpus.vocab
        table = rng.normal(size=(len(vocab), 3))
        kw["vectors"] = _Vectors(vocab, table)
    ref = pt.fit(model, corpus, seed=3, **FIT, **kw)
    assert ref.groups["sample_stats"]["num_nodes"].shape[-1] == 3
    ckpt = tmp_path / "ckpt"

    def kill(state, iteration):
        if iteration == 13:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pt.fit(model, corpus, seed=3, checkpoint_dir=ckpt, checkpoint_every=4, callback=kill,
               **FIT, **kw)
    seen: list[int] = []
    resumed = pt.fit(model, corpus, seed=3, checkpoint_dir=ckpt, checkpoint_every=4,
                     callback=lambda s, it: seen.append(it), **FIT, **kw)
    assert seen[0] == 14  # chain 0 restarted after its last sweep, not from scratch
    _same(ref, resumed)


class _Vectors:
    """The minimal WordVectors interface fit_model reads (``matrix(vocab)``)."""

    def __init__(self, vocab, table) -> None:
        self.vocab, self._table = list(vocab), table

    def matrix(self, vocab):
        index = {w: i for i, w in enumerate(self.vocab)}
        return self._table[[index[w] for w in vocab]]
