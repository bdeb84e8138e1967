"""The extension path (README "Writing a model variant", tutorials/06_variant.py): the public
pieces a new model reuses.

- ``inference.base``: ``topic_size_record`` / ``TOPIC_SIZE_DIMS``, the default
  ``GibbsKernel.finalize`` (sums / draw count) and the declared ``record_dims`` /
  ``estimate_dims``;
- ``Posterior.from_kernel``: chains through the runner into a relabelled Posterior, the same
  result as run_chains + from_chains with the fit_model settings;
- ``ppltopics.testing``: ``assignment_test_functions`` (label invariant; what LDA's and
  GLDA's test functions now share), ``dirichlet_log_prior_batch`` against
  ``models.lda.log_prior_from_counts``, ``token_pairs``, and ``vmf_draw`` against the
  vMF mean resultant length A_M(κ) and the ``VonMisesFisher`` distribution.

Statistical checks (vmf_draw) use fixed seeds; each compares a mean of 20 000 draws with its
exact value at 5 standard errors (false-failure rate ≈ 6e-7 per comparison, 9 comparisons).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ppltopics import testing as T
from ppltopics.distributions import VonMisesFisher, mean_resultant_length
from ppltopics.inference.base import TOPIC_SIZE_DIMS, GibbsKernel, topic_size_record
from ppltopics.inference.lda import LDAKernel
from ppltopics.inference.runner import RunSpec, run_chains
from ppltopics.models import lda
from ppltopics.models.lda import log_prior_from_counts
from ppltopics.posteriors import LDAPosterior

OFFSETS = np.array([0, 3, 7, 8, 12])


def test_topic_size_record():
    rec = topic_size_record(np.array([3, 0, 5, 2]), 10)
    assert rec["num_occupied"] == 3
    np.testing.assert_allclose(rec["topic_share"], [0.3, 0.0, 0.5, 0.2])
    np.testing.assert_allclose(rec["sorted_topic_share"], [0.5, 0.3, 0.2, 0.0])
    assert set(TOPIC_SIZE_DIMS) == {"topic_share", "sorted_topic_share"}
    with pytest.raises(ValueError, match="num_tokens"):
        topic_size_record(np.array([1]), 0)


def test_default_finalize_and_dims():
    acc = {"theta": np.array([[2.0, 4.0]]), "count": np.array([2.0])}
    out = GibbsKernel.finalize(None, acc)  # type: ignore[arg-type]
    assert set(out) == {"theta"}
    np.testing.assert_allclose(out["theta"], [[1.0, 2.0]])
    assert GibbsKernel.finalize(None, {}) == {}  # type: ignore[arg-type]
    assert GibbsKernel.record_dims == {} and GibbsKernel.estimate_dims == {}


def test_from_kernel_equals_run_chains_and_from_chains():
    hyper = lda.LDAHyper(num_topics=3, alpha=0.3, beta=0.1)
    sim = lda.simulate(num_docs=30, doc_length=20, vocab_size=40, hyper=hyper, seed=1)
    spec = RunSpec(num_chains=2, num_samples=5, warmup=5, seed=3, progress=False)
    post = LDAPosterior.from_kernel(LDAKernel(sim.corpus, hyper), spec, {"note": "x"})
    kernel = LDAKernel(sim.corpus, hyper)
    ref = LDAPosterior.from_chains(sim.corpus, kernel, run_chains(kernel, spec),
                                   {**kernel.config(), **spec.fingerprint()})
    np.testing.assert_array_equal(post.groups["sample_stats"]["lp"],
                                  ref.groups["sample_stats"]["lp"])
    np.testing.assert_allclose(post.phi, ref.phi)
    assert post.settings["num_tokens"] == sim.corpus.num_tokens
    assert post.settings["note"] == "x" and post.settings["num_chains"] == 2
    with pytest.raises(TypeError, match="corpus"):
        LDAPosterior.from_kernel(object(), spec)


def test_assignment_test_functions_are_label_invariant():
    rng = np.random.default_rng(0)
    z = rng.integers(0, 3, size=(50, 12))
    fns = T.assignment_test_functions(OFFSETS, 3)
    perm = np.array([2, 0, 1])
    for name, g in fns.items():
        np.testing.assert_allclose(g(perm[z], None), g(z, None), err_msg=name)
    z0 = np.zeros((1, 12), dtype=np.int64)
    assert fns["topics_used"](z0, None)[0] == 1
    assert fns["largest_topic"](z0, None)[0] == 1.0
    assert fns["doc_pairs_same_topic"](z0, None)[0] == 1.0
    n, i_all, j_all, i_doc, j_doc = T.token_pairs(OFFSETS)
    assert n == 12 and i_all.size == 66 and i_doc.size == 3 + 6 + 0 + 6
    with pytest.raises(ValueError, match="single token"):
        T.token_pairs(np.array([0, 1, 2]))


@pytest.mark.parametrize("alpha", [0.4, np.array([0.2, 1.0, 3.0])])
def test_dirichlet_log_prior_batch(alpha):
    rng = np.random.default_rng(1)
    z = rng.integers(0, 3, size=(6, 12))
    docs = np.repeat(np.arange(4), np.diff(OFFSETS))
    ref = []
    for row in z:
        ndk = np.zeros((4, 3))
        np.add.at(ndk, (docs, row), 1)
        ref.append(log_prior_from_counts(ndk, alpha))
    np.testing.assert_allclose(T.dirichlet_log_prior_batch(z, OFFSETS, alpha, 3), ref,
                               rtol=1e-12)
    with pytest.raises(ValueError):
        T.dirichlet_log_prior_batch(z[:, :5], OFFSETS, alpha, 3)
    with pytest.raises(ValueError, match="num_topics"):
        T.dirichlet_log_prior_batch(z, OFFSETS, 0.4)


@pytest.mark.parametrize("dim, kappa", [(3, 4.0), (50, 100.0), (300, 1e4)])
def test_vmf_draw_matches_vmf(dim, kappa):
    """Mean of μᵀx vs A_M(κ), mean of (μᵀx)² vs the VonMisesFisher distribution's draws (a
    second sample, two-sample z), unit norms, and the direction orthogonal to μ centred."""
    rng = np.random.default_rng(dim)
    mu = rng.standard_normal(dim)
    mu /= np.linalg.norm(mu)
    n = 20_000
    x = T.vmf_draw(np.tile(mu, (n, 1)), kappa, rng)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-12)
    w = x @ mu
    assert abs(w.mean() - mean_resultant_length(dim, kappa)) < 5 * w.std() / np.sqrt(n)
    torch.manual_seed(dim)
    y = VonMisesFisher(torch.tensor(mu), torch.tensor(kappa, dtype=torch.float64)).sample(
        (n,)).numpy()
    w2, v2 = w**2, (y @ mu) ** 2
    assert abs(w2.mean() - v2.mean()) < 5 * np.sqrt(w2.var() / n + v2.var() / n)
    perp = x - w[:, None] * mu
    e = np.zeros(dim)
    e[0] = 1.0
    e -= (e @ mu) * mu
    p = perp @ e
    assert abs(p.mean()) < 5 * p.std() / np.sqrt(n)


def test_vmf_draw_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unit"):
        T.vmf_draw(np.array([[1.0, 1.0]]), 1.0, rng)
    with pytest.raises(ValueError, match="kappa"):
        T.vmf_draw(np.array([[1.0, 0.0]]), -1.0, rng)
    with pytest.raises(ValueError, match="M >= 2"):
        T.vmf_draw(np.array([[1.0]]), 1.0, rng)
    x = T.vmf_draw(np.array([[0.0, 1.0]] * 5), 0.0, rng)  # κ = 0: uniform, still unit
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0)
