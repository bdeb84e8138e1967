"""Posterior containers: registry and saved model names, declared evaluation methods, and the
numerics they call in ppltopics.inference."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import ppltopics as pt
from ppltopics.evaluation import heldout_loglik, polysemy
from ppltopics.inference._foldin import existing_paths
from ppltopics.inference._gaussian import gaussian_logpdf_table
from ppltopics.inference._heldout import left_to_right, logistic_normal_importance
from ppltopics.posteriors import Posterior, posterior_class

#: model name written in saved bundles -> class that loads them (both must stay stable so
#: bundles saved by earlier versions keep loading)
MODEL_CLASSES = {"lda": "LDAPosterior", "glda": "GaussianPosterior", "cgtm": "CGTMPosterior",
                 "hlda": "TreePosterior", "ghlda": "GaussianTreePosterior",
                 "topclus": "TopClusPosterior"}


def _corpus() -> pt.Corpus:
    texts = ["river bank water bank", "bank money loan", "water river fish", "loan bank money"]
    return pt.Corpus.from_tokens([t.split() for t in texts],
                                 labels=["rivers", "finance", "rivers", "finance"])


def _lda(corpus: pt.Corpus, seed: int = 0) -> Posterior:
    rng = np.random.default_rng(seed)
    K, V = 2, corpus.vocab_size
    est = {"phi": rng.dirichlet(np.ones(V), K), "theta": rng.dirichlet(np.ones(K),
                                                                       corpus.num_docs),
           "alpha": np.array([0.5, 0.3])}
    return posterior_class("lda")(corpus, {}, {}, est, {"num_topics": K})


@pytest.mark.parametrize("model", sorted(MODEL_CLASSES))
def test_saved_model_name_and_loading_class_are_stable(model, tmp_path) -> None:
    cls = posterior_class(model)
    assert cls.__name__ == MODEL_CLASSES[model] and cls.model == model
    post = cls(_corpus(), {"sample_stats": {"lp": np.zeros((1, 3))}}, {},
               {"x": np.arange(3.0)}, {"num_topics": 2})
    post.save(tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["kind"] == "posterior" and manifest["meta"]["model"] == model
    back = pt.load(tmp_path / "b")
    assert type(back).__name__ == MODEL_CLASSES[model]
    np.testing.assert_array_equal(back.estimates["x"], np.arange(3.0))


def test_unknown_model_name() -> None:
    with pytest.raises(ValueError, match="no posterior type registered for model 'nope'"):
        posterior_class("nope")


def test_old_module_reexports_the_same_objects() -> None:
    import ppltopics.posterior as old
    import ppltopics.posteriors as new

    for name in ("Posterior", "LDAPosterior", "GaussianPosterior", "CGTMPosterior",
                 "register", "posterior_class", "TreePosterior", "TopClusPosterior"):
        assert getattr(old, name) is getattr(new, name)
    assert old.gaussian_logpdf_table is gaussian_logpdf_table
    assert pt.Posterior is new.Posterior


def test_heldout_default_is_left_to_right_on_the_word_topic_table() -> None:
    c = _corpus()
    post = _lda(c)
    res = heldout_loglik(post, c, particles=3, seed=5)
    table, scale = post.word_topic_table()
    want = left_to_right(c.word_ids.astype(np.int32), c.doc_offsets.astype(np.int64), table,
                         scale, post.alpha, 3, np.random.default_rng(5))
    np.testing.assert_array_equal(res.per_doc, want)
    assert res.kind == "log probability" and res.num_tokens == c.num_tokens


def test_declared_tree_methods_name_the_model() -> None:
    c = _corpus()
    flat = _lda(c)
    assert not flat.is_tree
    with pytest.raises(ValueError, match="'lda' posterior is not a tree model"):
        flat.doc_paths()
    with pytest.raises(ValueError, match="'lda' posterior is not a tree model"):
        flat.token_levels()
    tree = posterior_class("hlda")(
        c, {}, {}, {"paths": np.array([[0, 1, 3], [0, 2, 4], [0, 1, 5], [0, 2, 4]]),
                    "token_levels": np.zeros(c.num_tokens, dtype=np.int32)}, {})
    assert tree.is_tree
    assert polysemy(tree, words=("bank",)).by == "path"
    with pytest.raises(ValueError, match="needs a tree model"):
        polysemy(flat, by="path")
    with pytest.raises(NotImplementedError, match="'hlda' posterior has no word-topic table"):
        heldout_loglik(tree, c)


def test_gaussian_logpdf_table_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 3))
    means = rng.normal(size=(2, 3))
    A = rng.normal(size=(2, 3, 3))
    covs = A @ np.swapaxes(A, 1, 2) + np.eye(3)
    want = np.stack([multivariate_normal(means[k], covs[k]).logpdf(x) for k in range(2)], 1)
    np.testing.assert_allclose(gaussian_logpdf_table(x, means, covs), want, rtol=1e-12)


def test_logistic_normal_importance_is_exact_for_one_topic() -> None:
    """With K = 1, softmax(η) = 1 whatever η: every sample gives Π_n f(v_n) exactly."""
    logd = np.log(np.array([[0.2], [0.5], [0.3]]))
    word_ids = np.array([0, 1, 1, 2, 0])
    offsets = np.array([0, 2, 2, 5])
    out = logistic_normal_importance(word_ids, offsets, logd, np.zeros(1), np.eye(1), 7,
                                     np.random.default_rng(0))
    want = [math.log(0.2 * 0.5), 0.0, math.log(0.5 * 0.3 * 0.2)]
    np.testing.assert_allclose(out, want, rtol=1e-12)


def test_existing_paths_and_their_ncrp_weights() -> None:
    parent = np.array([-1, 0, 0, 1, 2, 1])
    level = np.array([0, 1, 1, 2, 2, 2])
    docs = np.array([4, 3, 1, 2, 1, 1])
    paths, log_prior = existing_paths(parent, level, docs, 3)
    np.testing.assert_array_equal(paths, [[0, 1, 3], [0, 2, 4], [0, 1, 5]])
    np.testing.assert_allclose(np.exp(log_prior), [3 / 4 * 2 / 3, 1 / 4, 3 / 4 * 1 / 3])
    assert np.exp(log_prior).sum() == pytest.approx(1.0)
