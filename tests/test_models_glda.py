"""GLDA's Pyro story, hyperparameter resolution, simulators and collapsed densities."""

from __future__ import annotations

import math
import random

import numpy as np
import pyro
import pytest
import torch
from pyro import poutine
from pyro.infer import TraceEnum_ELBO, config_enumerate
from scipy import stats as st
from scipy.special import logsumexp

from ppltopics import Corpus, WordVectors
from ppltopics.models import glda
from ppltopics.models.glda import GLDAHyper, ResolvedGLDAHyper, RowMultivariateNormal

D64 = torch.float64


# ---------------------------------------------------------------------- helpers
def _offsets(lengths) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _spd(rng: np.random.Generator, M: int) -> np.ndarray:
    A = rng.standard_normal((M, M + 2))
    return A @ A.T / M + 0.3 * np.eye(M)


def _resolved(K=3, M=2, alpha=0.7, kappa0=0.4, nu0=None, seed=0) -> ResolvedGLDAHyper:
    rng = np.random.default_rng(seed)
    return ResolvedGLDAHyper(
        num_topics=K, alpha=alpha, mu0=rng.standard_normal(M), kappa0=kappa0,
        nu0=M + 1.5 if nu0 is None else nu0, psi0=_spd(rng, M),
    )


def _chain_rule_log_joint(x, offsets, z, r: ResolvedGLDAHyper) -> float:
    """log p(v, z) token by token: Pólya urn for z times the multivariate-t predictive of v.

    Posterior and predictive straight from Murphy (2007) (κ_n, ν_n, μ_n, Ψ_n; t with ν_n − M + 1
    degrees of freedom and scale Ψ_n (κ_n + 1)/(κ_n (ν_n − M + 1))), the t density from scipy.
    """
    K, M = r.num_topics, r.dim
    alpha = np.asarray(r.alpha)
    members: list[list[np.ndarray]] = [[] for _ in range(K)]
    lp = 0.0
    for d in range(len(offsets) - 1):
        n_dk = np.zeros(K)
        for n in range(offsets[d], offsets[d + 1]):
            k = z[n]
            lp += math.log((n_dk[k] + alpha[k]) / (n_dk.sum() + alpha.sum()))
            xs = np.array(members[k]).reshape(-1, M)
            m = xs.shape[0]
            kappa_n, nu_n = r.kappa0 + m, r.nu0 + m
            if m:
                xbar = xs.mean(0)
                S = (xs - xbar).T @ (xs - xbar)
            else:
                xbar, S = np.zeros(M), np.zeros((M, M))
            mu_n = (r.kappa0 * r.mu0 + m * xbar) / kappa_n
            psi_n = r.psi0 + S + r.kappa0 * m / kappa_n * np.outer(xbar - r.mu0, xbar - r.mu0)
            dof = nu_n - M + 1
            shape = psi_n * (kappa_n + 1) / (kappa_n * dof)
            lp += st.multivariate_t(loc=mu_n, shape=shape, df=dof).logpdf(x[n])
            n_dk[k] += 1
            members[k].append(x[n])
    return lp


# ---------------------------------------------------------------------- GLDAHyper
def test_hyper_defaults_hashable_and_normalised():
    h = GLDAHyper(4)
    assert (h.alpha, h.kappa0, h.nu0, h.mu0, h.psi0) == (0.25, 0.1, None, None, None)
    assert h.dim is None
    np.testing.assert_array_equal(h.alpha_vector, np.full(4, 0.25))
    assert hash(h) == hash(GLDAHyper(4)) and h == GLDAHyper(4, alpha=0.25)
    with pytest.raises(AttributeError):
        h.kappa0 = 1.0  # frozen

    g = GLDAHyper(np.int64(2), alpha=np.array([0.5, 1.5]), kappa0=np.float32(0.5), nu0=4,
                  mu0=np.array([1.0, 2.0]), psi0=np.eye(2) * 2)
    assert g.num_topics == 2 and type(g.num_topics) is int
    assert g.alpha == (0.5, 1.5) and g.mu0 == (1.0, 2.0)
    assert g.psi0 == ((2.0, 0.0), (0.0, 2.0)) and g.nu0 == 4.0 and g.dim == 2
    hash(g)
    assert GLDAHyper.from_dict(g.to_dict()) == g
    assert GLDAHyper(3, psi0=torch.tensor(2.5)).psi0 == 2.5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_topics": 0}, "num_topics"),
        ({"num_topics": 2.5}, "num_topics"),
        ({"num_topics": True}, "num_topics"),
        ({"num_topics": 3, "alpha": 0.0}, "alpha"),
        ({"num_topics": 3, "alpha": -1.0}, "alpha"),
        ({"num_topics": 3, "alpha": (1.0, 2.0)}, "alpha has 2 entries"),
        ({"num_topics": 3, "alpha": float("nan")}, "alpha"),
        ({"num_topics": 3, "kappa0": 0.0}, "kappa0"),
        ({"num_topics": 3, "kappa0": -0.1}, "kappa0"),
        ({"num_topics": 3, "kappa0": float("inf")}, "kappa0"),
        ({"num_topics": 3, "nu0": float("nan")}, "nu0"),
        ({"num_topics": 3, "psi0": -1.0}, "psi0 must be symmetric positive definite"),
        ({"num_topics": 3, "psi0": 0.0}, "psi0 must be symmetric positive definite"),
        ({"num_topics": 3, "psi0": [[1.0, 0.5], [0.0, 1.0]]}, "not symmetric"),
        ({"num_topics": 3, "psi0": [[1.0, 2.0], [2.0, 1.0]]}, "Cholesky"),
        ({"num_topics": 3, "psi0": [[1.0, np.nan], [np.nan, 1.0]]}, "psi0 contains NaN"),
        ({"num_topics": 3, "psi0": [1.0, 2.0]}, "psi0 must be a square matrix"),
        ({"num_topics": 3, "mu0": [0.0, np.inf]}, "mu0 contains NaN or inf"),
        ({"num_topics": 3, "mu0": [0.0, 1.0, 2.0], "psi0": np.eye(2)}, "dimension mismatch"),
        ({"num_topics": 3, "mu0": [0.0, 1.0, 2.0], "nu0": 2.0}, r"nu0 must be > M - 1 = 2"),
    ],
)
def test_hyper_construction_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GLDAHyper(**kwargs)


def test_hyper_allows_nu0_equal_to_dim():
    r = GLDAHyper(2, nu0=3.0, psi0=1.0).resolve(np.random.default_rng(0).normal(size=(10, 3)))
    assert r.nu0 == 3.0 and r.expected_cov is None  # ν0 = M: valid, but E[Σ] does not exist


# ---------------------------------------------------------------------- resolve
def test_resolve_data_driven_psi0_matches_token_covariance():
    rng = np.random.default_rng(1)
    M, N = 4, 500
    x = rng.standard_normal((N, M)) @ _spd(rng, M) + 3.0
    cov = np.cov(x.T, bias=True)
    r = GLDAHyper(5).resolve(x)
    assert r.dim == M and r.num_tokens == N and r.nu0 == M + 2
    assert set(r.derived) == {"nu0:default", "mu0:data", "psi0:data"} and r.psi0_ridge == 0
    np.testing.assert_allclose(r.mu0, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(r.expected_cov, cov, rtol=1e-10)
    np.testing.assert_allclose(r.alpha, np.full(5, 0.2))
    # any ν0 > M + 1: Ψ0 scales with ν0 − M − 1 so that E[Σ_k] stays the covariance
    r7 = GLDAHyper(5, nu0=M + 7.5).resolve(x)
    np.testing.assert_allclose(r7.psi0, 6.5 * cov, rtol=1e-10)
    np.testing.assert_allclose(r7.expected_cov, cov, rtol=1e-10)
    # E[Σ_k] by Monte Carlo from the prior the story samples
    from ppltopics.distributions import InverseWishart

    torch.manual_seed(0)
    draws = InverseWishart(torch.tensor(r7.psi0), r7.nu0).sample((40_000,)).mean(0).numpy()
    np.testing.assert_allclose(draws, cov, atol=0.08 * np.abs(cov).max())
    # explicit values are kept
    r2 = GLDAHyper(5, mu0=np.zeros(M), psi0=2.0, nu0=9.0).resolve(x)
    np.testing.assert_array_equal(r2.mu0, np.zeros(M))
    np.testing.assert_array_equal(r2.psi0, 2.0 * np.eye(M))
    assert r2.derived == ()


def test_resolve_weights_frequent_words_and_counts_shortcut():
    rng = np.random.default_rng(2)
    table = rng.standard_normal((6, 3))
    counts = np.array([50, 1, 0, 3, 7, 2])
    tokens = np.repeat(table, counts, axis=0)
    a = GLDAHyper(3).resolve(tokens)
    b = GLDAHyper(3).resolve(table, counts=counts)
    np.testing.assert_allclose(b.mu0, a.mu0, rtol=1e-12)
    np.testing.assert_allclose(b.psi0, a.psi0, rtol=1e-10)
    assert b.num_tokens == a.num_tokens == 63
    # resolve_corpus == resolve(token_vectors(corpus, vectors))
    corpus = Corpus.from_tokens([["a", "b", "a", "c"], ["a", "d", "c"]])
    wv = WordVectors(["d", "c", "b", "a", "zz"], rng.standard_normal((5, 3)))
    c1 = GLDAHyper(2).resolve_corpus(corpus, wv)
    c2 = GLDAHyper(2).resolve(glda.token_vectors(corpus, wv))
    np.testing.assert_allclose(c1.psi0, c2.psi0, rtol=1e-10)
    np.testing.assert_allclose(c1.mu0, c2.mu0, rtol=1e-12)
    np.testing.assert_array_equal(glda.token_vectors(corpus, wv)[0], wv["a"])


def test_resolve_singular_covariance_gets_ridge():
    # 3 distinct vectors in 5 dimensions: the token covariance has rank 2
    rng = np.random.default_rng(3)
    x = np.repeat(rng.standard_normal((3, 5)), [4, 5, 6], axis=0)
    r = GLDAHyper(2).resolve(x)
    cov = np.cov(x.T, bias=True)
    ridge = glda.COV_RIDGE * np.trace(cov) / 5
    assert r.psi0_ridge == pytest.approx(ridge)
    np.testing.assert_allclose(r.psi0, cov + ridge * np.eye(5), rtol=1e-10, atol=1e-14)
    np.linalg.cholesky(r.psi0)


@pytest.mark.parametrize(
    "hyper, x, kwargs, match",
    [
        (GLDAHyper(5), np.ones((4, 2)) * np.arange(4)[:, None], {}, "larger than the data"),
        (GLDAHyper(2, mu0=[0.0, 0.0, 0.0]), np.eye(4, 2), {}, "dimension mismatch: mu0"),
        (GLDAHyper(2, psi0=np.eye(3)), np.eye(4, 2), {}, "dimension mismatch: psi0"),
        (GLDAHyper(2), np.array([[0.0, 1.0], [np.nan, 2.0]]), {}, "NaN or inf"),
        (GLDAHyper(2), np.zeros(5), {}, r"shape \(N, M\)"),
        (GLDAHyper(2, nu0=1.0), np.eye(4, 3), {}, r"nu0 must be > M - 1 = 2"),
        (GLDAHyper(2, nu0=4.0), np.eye(4, 3), {}, r"needs nu0 > M \+ 1 = 4"),
        (GLDAHyper(2), np.ones((6, 3)), {}, "zero spread"),
        (GLDAHyper(2), np.eye(4, 2), {"counts": np.array([1, 2])}, "counts must have"),
        (GLDAHyper(2), np.eye(4, 2), {"counts": np.array([1, -2, 1, 1])}, "non-negative"),
        (GLDAHyper(2), np.eye(4, 2), {"dim": 3}, "dimension mismatch"),
        (GLDAHyper(2), None, {}, "dimension M is unknown"),
        (GLDAHyper(2, nu0=2.5), None, {"dim": 2}, r"needs nu0 > M \+ 1"),
    ],
)
def test_resolve_errors(hyper, x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        hyper.resolve(x, **kwargs)


def test_resolve_without_data_and_reference_presets():
    r = GLDAHyper(3, nu0=7.0).resolve(dim=2)
    np.testing.assert_array_equal(r.mu0, np.zeros(2))
    np.testing.assert_array_equal(r.psi0, 4.0 * np.eye(2))  # (ν0 − M − 1)·I: E[Σ] = I
    np.testing.assert_array_equal(r.expected_cov, np.eye(2))
    assert r.num_tokens is None and GLDAHyper(3, mu0=[1.0, 2.0, 3.0]).resolve().dim == 3

    M = 4
    ref = GLDAHyper.reference(10, M)
    assert (ref.alpha, ref.kappa0, ref.nu0, ref.mu0, ref.psi0) == (0.1, 0.1, 4.0, None, 12.0)
    x = np.random.default_rng(4).standard_normal((50, M))
    rr = ref.resolve(x)
    np.testing.assert_array_equal(rr.psi0, 3 * M * np.eye(M))
    np.testing.assert_allclose(rr.mu0, x.mean(0))
    assert rr.nu0 == M and rr.expected_cov is None
    gh = GLDAHyper.reference(40, 50, preset="ghlda", alpha=0.2)
    assert (gh.alpha, gh.nu0, gh.psi0) == (0.2, 50.1, 50.0)
    with pytest.raises(ValueError, match="unknown preset"):
        GLDAHyper.reference(3, 2, preset="nope")


def test_resolved_hyper_validates_and_round_trips():
    r = _resolved(K=3, M=3, alpha=(0.2, 0.3, 0.5))
    assert not r.alpha.flags.writeable and not r.psi0.flags.writeable
    back = ResolvedGLDAHyper.from_dict(r.to_dict())
    for f in ("alpha", "mu0", "psi0"):
        np.testing.assert_array_equal(getattr(back, f), getattr(r, f))
    assert (back.kappa0, back.nu0, back.num_topics) == (r.kappa0, r.nu0, 3)
    # niw_args feeds the kernels' make_prior
    from ppltopics.inference import _linalg as la

    prior = la.make_prior(*r.niw_args())
    np.testing.assert_allclose(prior.psi0, r.psi0)
    good = {"num_topics": 2, "alpha": 1.0, "mu0": np.zeros(2), "kappa0": 1.0, "nu0": 3.0,
            "psi0": np.eye(2)}
    for bad, match in [
        ({"alpha": (1.0, -1.0)}, "alpha"),
        ({"kappa0": 0.0}, "kappa0"),
        ({"nu0": 1.0}, "nu0"),
        ({"psi0": -np.eye(2)}, "positive definite"),
        ({"psi0": np.eye(3)}, "dimension mismatch"),
        ({"mu0": [np.nan, 0.0]}, "mu0 contains NaN"),
        ({"psi0": np.full((2, 2), np.inf)}, "psi0 contains NaN"),
    ]:
        with pytest.raises(ValueError, match=match):
            ResolvedGLDAHyper(**{**good, **bad})
    with pytest.raises(ValueError, match="dimension mismatch"):
        glda.log_joint(np.zeros((4, 3)), [0, 4], [0, 1, 0, 1], ResolvedGLDAHyper(**good))


# ---------------------------------------------------------------------- simulate
def test_simulate_shapes_reproducible_and_rng_untouched():
    torch.manual_seed(123)
    np.random.seed(7)  # noqa: NPY002 - the legacy global state is what we guard
    random.seed(9)
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002
    before = (torch.get_rng_state(), numpy_state, random.getstate())
    r = _resolved(K=3, M=2)
    a = glda.simulate(6, [3, 4, 5, 6, 7, 8], r, seed=11)
    after = (torch.get_rng_state(), np.random.get_state()[1], random.getstate())  # noqa: NPY002
    assert torch.equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert before[2] == after[2]
    b = glda.simulate(6, [3, 4, 5, 6, 7, 8], r, seed=11)
    c = glda.simulate(6, [3, 4, 5, 6, 7, 8], r, seed=12)
    N = 33
    assert a.corpus.num_docs == 6 and a.corpus.num_tokens == N
    np.testing.assert_array_equal(a.corpus.word_ids, np.arange(N))
    assert a.corpus.vocab[:2] == ["v000000", "v000001"] and a.vectors.vocab == a.corpus.vocab
    assert a.vectors.vectors.shape == (N, 2) and a.vectors.vectors.dtype == np.float64
    assert a.topic_mean.shape == (3, 2) and a.topic_cov.shape == (3, 2, 2)
    assert a.theta.shape == (6, 3) and a.z.shape == (N,) and a.z.dtype == np.int32
    assert a.word_topic is None and a.hyper is r
    np.testing.assert_array_equal(a.token_vectors, a.vectors.vectors)
    for f in ("topic_mean", "topic_cov", "theta", "z"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    np.testing.assert_array_equal(a.vectors.vectors, b.vectors.vectors)
    assert not np.array_equal(a.vectors.vectors, c.vectors.vectors)

    # a GLDAHyper needs the dimension (no data for the data-driven defaults)
    with pytest.raises(ValueError, match="dimension M is unknown"):
        glda.simulate(2, 5, GLDAHyper(2))
    s = glda.simulate(40, 10, GLDAHyper(2), seed=0, dim=3, poisson=True)
    assert s.vectors.dim == 3 and s.corpus.num_docs == 40
    assert len(set(s.corpus.doc_lengths.tolist())) > 1
    np.testing.assert_array_equal(s.hyper.psi0, np.eye(3))


def test_simulate_topic_vectors_match_true_gaussians():
    r = _resolved(K=3, M=2, alpha=5.0, nu0=6.0, seed=5)
    s = glda.simulate(200, 100, r, seed=3)
    x = s.token_vectors
    for k in range(3):
        xk = x[s.z == k]
        n = xk.shape[0]
        assert n > 3000
        mu, sigma = s.topic_mean[k], s.topic_cov[k]
        diff = xk.mean(0) - mu
        maha = n * diff @ np.linalg.solve(sigma, diff)  # ~ χ²_2
        assert maha < st.chi2(2).ppf(0.9999)
        emp = np.cov(xk.T)
        rel = np.linalg.norm(emp - sigma) / np.linalg.norm(sigma)
        assert rel < 0.1
    # the document proportions drive z
    counts = np.stack([np.bincount(s.z[s.corpus.token_docs == d], minlength=3)
                       for d in range(200)])
    assert np.abs(counts / 100 - s.theta).mean() < 0.06


def test_simulate_vocabulary_types_belong_to_topics():
    r = _resolved(K=3, M=2, alpha=1.0)
    s = glda.simulate_vocabulary(30, 20, r, vocab_size=10, seed=4)
    t = glda.simulate_vocabulary(30, 20, r, vocab_size=10, seed=4)
    np.testing.assert_array_equal(s.corpus.word_ids, t.corpus.word_ids)
    np.testing.assert_array_equal(s.vectors.vectors, t.vectors.vectors)
    assert s.corpus.vocab_size == 10 and s.vectors.vectors.shape == (10, 2)
    assert s.corpus.vocab[0] == "w000000"
    np.testing.assert_array_equal(np.bincount(s.word_topic, minlength=3), [4, 3, 3])
    np.testing.assert_array_equal(s.word_topic[s.corpus.word_ids], s.z)
    assert s.token_vectors.shape == (600, 2)
    with pytest.raises(ValueError, match="vocab_size"):
        glda.simulate_vocabulary(3, 5, r, vocab_size=2)


# ---------------------------------------------------------------------- the Pyro story
def test_trace_log_prob_matches_hand_computation():
    r = _resolved(K=3, M=2, alpha=(0.4, 0.7, 1.3))
    s = glda.simulate(4, [2, 5, 1, 3], r, seed=8)
    lengths = s.corpus.doc_lengths
    x = s.token_vectors
    tr = poutine.trace(glda.model).get_trace(lengths, r, data=x)
    sites = {n: v for n, v in tr.nodes.items() if v["type"] == "sample"}
    assert [n for n in sites if not n.startswith(("topics", "docs", "tokens"))] == [
        "topic_cov", "topic_mean", "theta", "z", "v"
    ]
    assert sites["v"]["is_observed"] and torch.equal(sites["v"]["value"], torch.tensor(x))
    cov = sites["topic_cov"]["value"].numpy()
    mean = sites["topic_mean"]["value"].numpy()
    theta = sites["theta"]["value"].numpy()
    z = sites["z"]["value"].numpy()
    assert cov.dtype == np.float64 and cov.shape == (3, 2, 2) and mean.shape == (3, 2)
    doc = s.corpus.token_docs
    want = 0.0
    for k in range(3):
        want += st.invwishart(df=r.nu0, scale=r.psi0).logpdf(cov[k])
        want += st.multivariate_normal(r.mu0, cov[k] / r.kappa0).logpdf(mean[k])
    for d in range(4):
        want += st.dirichlet(r.alpha).logpdf(theta[d])
    for n in range(x.shape[0]):
        want += math.log(theta[doc[n], z[n]])
        want += st.multivariate_normal(mean[z[n]], cov[z[n]]).logpdf(x[n])
    assert tr.log_prob_sum().item() == pytest.approx(want, rel=1e-10)

    with pytest.raises(ValueError, match="one vector per token"):
        glda.model(lengths, r, data=x[:-1])
    # a GLDAHyper is resolved against the data
    tr2 = poutine.trace(glda.model).get_trace(lengths, GLDAHyper(3), data=x)
    assert tr2.nodes["v"]["fn"].loc.shape == (3, 2)


def test_row_multivariate_normal_matches_gathered_and_broadcasts():
    rng = np.random.default_rng(6)
    K, M, N = 3, 3, 7
    loc = torch.tensor(rng.standard_normal((K, M)))
    covs = torch.tensor(np.stack([_spd(rng, M) for _ in range(K)]))
    L = torch.linalg.cholesky(covs)
    idx = torch.tensor([2, 0, 0, 1, 2, 2, 0])
    x = torch.tensor(rng.standard_normal((N, M)))
    d = RowMultivariateNormal(loc, L, idx)
    assert d.batch_shape == (N,) and d.event_shape == (M,)
    want = torch.distributions.MultivariateNormal(loc[idx], scale_tril=L[idx]).log_prob(x)
    torch.testing.assert_close(d.log_prob(x), want, rtol=1e-12, atol=1e-12)
    # an enumerated index (K, 1) against N values -> (K, N)
    e = RowMultivariateNormal(loc, L, torch.arange(K).view(K, 1))
    lp = e.log_prob(x)
    full = torch.distributions.MultivariateNormal(loc[:, None], scale_tril=L[:, None])
    torch.testing.assert_close(lp, full.log_prob(x), rtol=1e-12, atol=1e-12)
    # samples: right moments per row
    torch.manual_seed(0)
    big = RowMultivariateNormal(loc, L, torch.tensor([1]).expand(20_000)).sample()
    np.testing.assert_allclose(big.mean(0).numpy(), loc[1].numpy(), atol=0.05)
    np.testing.assert_allclose(np.cov(big.numpy().T), covs[1].numpy(), atol=0.08)


def test_enumerating_z_gives_the_mixture_likelihood():
    r = _resolved(K=3, M=2, alpha=(0.5, 1.0, 2.0))
    s = glda.simulate(3, [4, 2, 3], r, seed=2)
    x = s.token_vectors
    lengths = s.corpus.doc_lengths
    cond = {"topic_cov": torch.tensor(s.topic_cov), "topic_mean": torch.tensor(s.topic_mean),
            "theta": torch.tensor(s.theta)}
    conditioned = poutine.condition(config_enumerate(glda.model), data=cond)
    pyro.clear_param_store()
    elbo = TraceEnum_ELBO(max_plate_nesting=1)
    loss = elbo.loss(conditioned, lambda *a, **k: None, lengths, r, data=x)
    want = 0.0
    for k in range(3):
        want += st.invwishart(df=r.nu0, scale=r.psi0).logpdf(s.topic_cov[k])
        want += st.multivariate_normal(r.mu0, s.topic_cov[k] / r.kappa0).logpdf(s.topic_mean[k])
    want += sum(st.dirichlet(r.alpha).logpdf(t) for t in s.theta)
    doc = s.corpus.token_docs
    for n in range(x.shape[0]):
        want += logsumexp([math.log(s.theta[doc[n], k])
                           + st.multivariate_normal(s.topic_mean[k], s.topic_cov[k]).logpdf(x[n])
                           for k in range(3)])
    assert -loss == pytest.approx(want, rel=1e-9)


# ---------------------------------------------------------------------- collapsed densities
@pytest.mark.parametrize("alpha", [0.3, (0.2, 1.0, 2.5)])
def test_log_joint_equals_chain_rule_of_predictives(alpha):
    r = _resolved(K=3, M=3, alpha=alpha, kappa0=0.3, nu0=3.4, seed=9)
    rng = np.random.default_rng(10)
    lengths = [5, 1, 7, 4]
    off = _offsets(lengths)
    N = off[-1]
    x = rng.standard_normal((N, 3)) * 2.0 + 1.0
    z = rng.integers(0, 3, N)
    z[:3] = 0  # leave topic 2 unused below for a second check
    want = _chain_rule_log_joint(x, off, z, r)
    got = glda.log_joint(x, off, z, r)
    assert got == pytest.approx(want, rel=1e-10)
    lik = glda.log_likelihood_collapsed(x, off, z, r)
    pri = glda.log_prior_collapsed(x, off, z, r)
    assert lik + pri == pytest.approx(got, rel=1e-12)
    # an empty topic contributes nothing
    z2 = np.where(z == 2, 1, z)
    assert glda.log_joint(x, off, z2, r) == pytest.approx(
        _chain_rule_log_joint(x, off, z2, r), rel=1e-10
    )
    # one vector: the prior predictive multivariate t
    dof = r.nu0 - 3 + 1
    t1 = st.multivariate_t(r.mu0, r.psi0 * (r.kappa0 + 1) / (r.kappa0 * dof), df=dof)
    assert glda.log_marginal_niw(x[:1], r) == pytest.approx(t1.logpdf(x[0]), rel=1e-10)
    assert glda.log_marginal_niw(x[:0], r) == 0.0


def test_log_joint_invariant_to_topic_labels_and_agrees_with_linalg():
    r = _resolved(K=4, M=2, alpha=0.5, seed=11)
    s = glda.simulate(5, 12, r, seed=1)
    x, off = s.token_vectors, s.corpus.doc_offsets
    lj = glda.log_joint(x, off, s.z, r)
    for perm in ([1, 0, 2, 3], [3, 2, 1, 0], [2, 3, 0, 1]):
        assert glda.log_joint(x, off, np.asarray(perm)[s.z], r) == pytest.approx(lj, rel=1e-12)
    # asymmetric α: invariant when α is permuted along with the labels
    a = np.array([0.2, 0.5, 1.0, 3.0])
    perm = np.array([2, 0, 3, 1])
    ra = ResolvedGLDAHyper(4, a, r.mu0, r.kappa0, r.nu0, r.psi0)
    a_perm = np.empty(4)
    a_perm[perm] = a
    rb = ResolvedGLDAHyper(4, a_perm, r.mu0, r.kappa0, r.nu0, r.psi0)
    assert glda.log_joint(x, off, perm[s.z], rb) == pytest.approx(
        glda.log_joint(x, off, s.z, ra), rel=1e-12
    )
    # the kernels' numba NIW algebra gives the same likelihood
    from ppltopics.inference import _linalg as la

    prior = la.make_prior(*r.niw_args())
    stats = la.stats_from_assignments(x, s.z, 4, prior)
    kernel = sum(la.topic_log_marginal(k, stats, prior) for k in range(4))
    assert kernel == pytest.approx(glda.log_likelihood_collapsed(x, off, s.z, r), rel=1e-10)
    # a GLDAHyper is resolved against the given vectors
    assert glda.log_joint(x, off, s.z, GLDAHyper(4)) == pytest.approx(
        glda.log_joint(x, off, s.z, GLDAHyper(4).resolve(x)), rel=1e-12
    )


def test_log_joint_input_errors():
    r = _resolved(K=2, M=2)
    x = np.zeros((4, 2)) + np.arange(4)[:, None]
    with pytest.raises(ValueError, match="z has 3 entries"):
        glda.log_joint(x, [0, 4], [0, 1, 0], r)
    with pytest.raises(ValueError, match="z out of range"):
        glda.log_joint(x, [0, 4], [0, 1, 2, 0], r)
    with pytest.raises(ValueError, match="doc_offsets"):
        glda.log_joint(x, [0, 3], [0, 1, 1, 0], r)
    with pytest.raises(ValueError, match="NaN or inf"):
        glda.log_joint(np.full((4, 2), np.nan), [0, 4], [0, 1, 1, 0], r)
    with pytest.raises(TypeError, match="GLDAHyper"):
        glda.log_joint(x, [0, 4], [0, 1, 1, 0], {"num_topics": 2})


def test_densities_allow_more_topics_than_tokens_for_resolved_hyper():
    r = _resolved(K=4, M=2)
    x = np.array([[0.1, 0.2], [1.0, -1.0]])
    assert math.isfinite(glda.log_joint(x, [0, 2], [3, 0], r))
    with pytest.raises(ValueError, match="larger than the data"):
        r.validate(num_tokens=2)
