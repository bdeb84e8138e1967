"""``Posterior.to_pyldavis``: pyLDAvis prepared data (φ for LDA, smoothed counts for the
Gaussian models), a clear ImportError without pyLDAvis, a TypeError for tree models."""

from __future__ import annotations

import sys
from functools import cache
from types import SimpleNamespace

import numpy as np
import pytest

import ppltopics as pt
from ppltopics._pyldavis import topic_term_dists

WORDS = ("river bank water fish shore boat", "bank money loan interest market rate")


@cache
def _corpus() -> pt.Corpus:
    rng = np.random.default_rng(0)
    return pt.Corpus.from_tokens([list(rng.choice(WORDS[d % 2].split(), 10))
                                  for d in range(20)])


@cache
def _fit(model: str) -> pt.Posterior:
    c = _corpus()
    kw = {"num_topics": 2}
    if model == "glda":
        kw["vectors"] = pt.WordVectors(c.vocab, np.random.default_rng(1).normal(
            size=(c.vocab_size, 3)))
    return pt.fit(model, c, num_chains=1, num_samples=5, warmup=5, progress=False, **kw)


def test_topic_term_dists():
    lda, glda = _fit("lda"), _fit("glda")
    np.testing.assert_allclose(topic_term_dists(lda), lda.estimates["phi"] /
                               lda.estimates["phi"].sum(1, keepdims=True))
    phi = topic_term_dists(glda, smoothing=0.5)
    counts = glda.estimates["word_topic"] + 0.5
    np.testing.assert_allclose(phi, counts / counts.sum(1, keepdims=True))
    assert np.all(phi > 0)
    with pytest.raises(ValueError, match="smoothing"):
        topic_term_dists(glda, smoothing=0.0)
    tree = SimpleNamespace(model="hlda", estimates={"node_word": np.ones((3, 4))})
    with pytest.raises(TypeError, match="'phi' or 'word_topic'"):
        topic_term_dists(tree)


def test_to_pyldavis_prepared_data():
    pytest.importorskip("pyLDAvis")
    post = _fit("glda")  # counts based; LDA differs only in topic_term_dists (tested above)
    data = post.to_pyldavis()
    assert len(data.topic_coordinates) == 2
    assert set(data.topic_info["Term"]) <= set(_corpus().vocab)
    # pyLDAvis's topic sizes are the θ-weighted shares of the tokens (percent)
    theta = post.doc_topics() / post.doc_topics().sum(1, keepdims=True)
    share = (theta * _corpus().doc_lengths[:, None]).sum(0) / _corpus().num_tokens
    np.testing.assert_allclose(data.topic_coordinates["Freq"].to_numpy(), 100 * share)


def test_to_pyldavis_without_pyldavis(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyLDAvis", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install 'ppltopics\[viz\]'"):
        _fit("lda").to_pyldavis()
