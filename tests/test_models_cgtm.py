"""CGTM's Pyro story, hyperparameter resolution, simulator and collapsed log joint."""

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
from scipy.special import log_softmax, logsumexp

from ppltopics import Corpus, WordVectors
from ppltopics.models import cgtm, glda
from ppltopics.models.cgtm import CGTMHyper, NIWParams, ResolvedCGTMHyper
from ppltopics.models.glda import GLDAHyper

D64 = torch.float64


# ---------------------------------------------------------------------- helpers
def _offsets(lengths) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _spd(rng: np.random.Generator, M: int) -> np.ndarray:
    A = rng.standard_normal((M, M + 2))
    return A @ A.T / M + 0.3 * np.eye(M)


def _resolved(K=3, M=2, kappa0=0.4, nu0=None, eta_kappa0=0.7, eta_nu0=None,
              seed=0) -> ResolvedCGTMHyper:
    rng = np.random.default_rng(seed)
    return ResolvedCGTMHyper(
        num_topics=K, mu0=rng.standard_normal(M), kappa0=kappa0,
        nu0=M + 1.5 if nu0 is None else nu0, psi0=_spd(rng, M),
        eta_mu0=rng.standard_normal(K), eta_kappa0=eta_kappa0,
        eta_nu0=K + 0.5 if eta_nu0 is None else eta_nu0, eta_psi0=_spd(rng, K),
    )


def _chain_rule_niw(x: np.ndarray, prior) -> float:
    """log p(x_1..x_n) as Π_i t(x_i | x_<i): Murphy's (2007) posterior and multivariate-t
    predictive (ν_n − M + 1 dof, scale Ψ_n(κ_n + 1)/(κ_n(ν_n − M + 1))), scipy's t density."""
    M = x.shape[1]
    lp = 0.0
    for i in range(x.shape[0]):
        prev = x[:i]
        kappa_n, nu_n = prior.kappa0 + i, prior.nu0 + i
        xbar = prev.mean(0) if i else np.zeros(M)
        S = (prev - xbar).T @ (prev - xbar) if i else np.zeros((M, M))
        mu_n = (prior.kappa0 * prior.mu0 + i * xbar) / kappa_n
        d = xbar - prior.mu0
        psi_n = prior.psi0 + S + prior.kappa0 * i / kappa_n * np.outer(d, d)
        dof = nu_n - M + 1
        lp += st.multivariate_t(mu_n, psi_n * (kappa_n + 1) / (kappa_n * dof), df=dof).logpdf(
            x[i])
    return lp


# ---------------------------------------------------------------------- CGTMHyper
def test_hyper_defaults_hashable_and_round_trip():
    h = CGTMHyper(4)
    assert (h.kappa0, h.nu0, h.mu0, h.psi0) == (0.1, None, None, None)
    assert (h.eta_mu0, h.eta_kappa0, h.eta_psi0, h.eta_nu0) == (0.0, 1.0, 1.0, 6.0)
    assert h.dim is None and hash(h) == hash(CGTMHyper(4)) and h == CGTMHyper(4, eta_nu0=6)
    with pytest.raises(AttributeError):
        h.eta_kappa0 = 2.0  # frozen
    assert h.topic_hyper == GLDAHyper(4, kappa0=0.1)

    g = CGTMHyper(np.int64(2), kappa0=np.float32(0.5), nu0=4, mu0=np.array([1.0, 2.0]),
                  psi0=np.eye(2) * 2, eta_mu0=torch.tensor([0.5, -0.5]), eta_kappa0=2,
                  eta_psi0=[[2.0, 0.5], [0.5, 1.0]], eta_nu0=np.float64(3.5))
    assert g.num_topics == 2 and type(g.num_topics) is int and g.dim == 2
    assert g.eta_mu0 == (0.5, -0.5) and g.eta_psi0 == ((2.0, 0.5), (0.5, 1.0))
    assert g.psi0 == ((2.0, 0.0), (0.0, 2.0)) and g.eta_kappa0 == 2.0 and g.eta_nu0 == 3.5
    hash(g)
    assert CGTMHyper.from_dict(g.to_dict()) == g and CGTMHyper.from_dict(h.to_dict()) == h

    ref = CGTMHyper.reference(40, 50)  # the GhLDA authors' GLDA/CGTM topic prior
    assert (ref.kappa0, ref.nu0, ref.psi0, ref.mu0) == (0.1, 50.1, 50.0, None)
    assert ref.eta_nu0 == 42.0
    das = CGTMHyper.reference(5, 4, preset="das2015", eta_kappa0=0.5)
    assert (das.nu0, das.psi0, das.eta_kappa0) == (4.0, 12.0, 0.5)
    with pytest.raises(ValueError, match="unknown preset"):
        CGTMHyper.reference(3, 2, preset="nope")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_topics": 0}, "num_topics"),
        ({"num_topics": True}, "num_topics"),
        ({"num_topics": 3, "kappa0": 0.0}, "kappa0"),
        ({"num_topics": 3, "psi0": -1.0}, "psi0 must be symmetric positive definite"),
        ({"num_topics": 3, "mu0": [0.0, 1.0, 2.0], "nu0": 2.0}, r"nu0 must be > M - 1 = 2"),
        ({"num_topics": 3, "eta_mu0": [0.0, 1.0]}, "eta_mu0 has 2 entries"),
        ({"num_topics": 3, "eta_mu0": float("nan")}, "eta_mu0 must be finite"),
        ({"num_topics": 3, "eta_mu0": [0.0, np.inf, 1.0]}, "eta_mu0 contains NaN"),
        ({"num_topics": 3, "eta_kappa0": 0.0}, "eta_kappa0 must be > 0"),
        ({"num_topics": 3, "eta_kappa0": -1.0}, "eta_kappa0 must be > 0"),
        ({"num_topics": 3, "eta_kappa0": float("inf")}, "eta_kappa0 must be finite"),
        ({"num_topics": 3, "eta_psi0": 0.0}, "eta_psi0 must be symmetric positive definite"),
        ({"num_topics": 2, "eta_psi0": [[1.0, 0.5], [0.0, 1.0]]}, "eta_psi0.*not symmetric"),
        ({"num_topics": 2, "eta_psi0": [[1.0, 2.0], [2.0, 1.0]]}, "eta_psi0.*Cholesky"),
        ({"num_topics": 3, "eta_psi0": np.eye(2)}, "eta_psi0 must be K×K"),
        ({"num_topics": 3, "eta_nu0": 2.0}, r"eta_nu0 must be > K - 1 = 2"),
        ({"num_topics": 3, "eta_nu0": float("nan")}, "eta_nu0 must be finite"),
    ],
)
def test_hyper_construction_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CGTMHyper(**kwargs)


# ---------------------------------------------------------------------- resolve
def test_resolve_reuses_glda_data_driven_topic_prior():
    rng = np.random.default_rng(1)
    M, N, K = 3, 400, 4
    x = rng.standard_normal((N, M)) @ _spd(rng, M) + 2.0
    r = CGTMHyper(K).resolve(x)
    g = GLDAHyper(K).resolve(x)
    for f in ("mu0", "psi0"):
        np.testing.assert_array_equal(getattr(r, f), getattr(g, f))
    assert (r.nu0, r.kappa0, r.derived, r.num_tokens, r.dim) == (g.nu0, g.kappa0, g.derived,
                                                                  N, M)
    np.testing.assert_allclose(r.expected_cov, np.cov(x.T, bias=True), rtol=1e-10)
    np.testing.assert_array_equal(r.eta_mu0, np.zeros(K))
    np.testing.assert_array_equal(r.eta_psi0, np.eye(K))
    assert r.eta_kappa0 == 1.0 and r.eta_nu0 == K + 2
    np.testing.assert_array_equal(r.eta_expected_cov, np.eye(K))
    # counts and corpus shortcuts, as GLDA's
    table = rng.standard_normal((6, M))
    counts = np.array([50, 1, 0, 3, 7, 2])
    a = CGTMHyper(3).resolve(np.repeat(table, counts, axis=0))
    b = CGTMHyper(3).resolve(table, counts=counts)
    np.testing.assert_allclose(b.psi0, a.psi0, rtol=1e-10)
    corpus = Corpus.from_tokens([["a", "b", "a", "c"], ["a", "d", "c"]])
    wv = WordVectors(["d", "c", "b", "a"], rng.standard_normal((4, M)))
    c1 = CGTMHyper(2, eta_mu0=[1.0, -1.0]).resolve_corpus(corpus, wv)
    np.testing.assert_allclose(c1.psi0, GLDAHyper(2).resolve_corpus(corpus, wv).psi0)
    np.testing.assert_array_equal(c1.eta_mu0, [1.0, -1.0])
    # without data, and explicit values kept
    r0 = CGTMHyper(3, nu0=7.0, eta_psi0=2.0, eta_nu0=6.0).resolve(dim=2)
    np.testing.assert_array_equal(r0.psi0, 4.0 * np.eye(2))
    np.testing.assert_array_equal(r0.eta_psi0, 2.0 * np.eye(3))
    np.testing.assert_array_equal(r0.eta_expected_cov, np.eye(3))
    assert CGTMHyper(3, eta_nu0=3.5).resolve(dim=2).eta_expected_cov is None


@pytest.mark.parametrize(
    "hyper, x, kwargs, match",
    [
        (CGTMHyper(5), np.arange(8.0).reshape(4, 2), {}, "larger than the data"),
        (CGTMHyper(2, mu0=[0.0, 0.0, 0.0]), np.eye(4, 2), {}, "dimension mismatch: mu0"),
        (CGTMHyper(2), np.array([[0.0, 1.0], [np.nan, 2.0]]), {}, "NaN or inf"),
        (CGTMHyper(2, nu0=4.0), np.eye(4, 3), {}, r"needs nu0 > M \+ 1 = 4"),
        (CGTMHyper(2), np.ones((6, 3)), {}, "zero spread"),
        (CGTMHyper(2), None, {}, "dimension M is unknown"),
    ],
)
def test_resolve_errors(hyper, x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        hyper.resolve(x, **kwargs)


def test_resolved_hyper_validates_and_round_trips():
    r = _resolved(K=3, M=2)
    for f in ("mu0", "psi0", "eta_mu0", "eta_psi0"):
        assert not getattr(r, f).flags.writeable
    back = ResolvedCGTMHyper.from_dict(r.to_dict())
    for f in ("mu0", "psi0", "eta_mu0", "eta_psi0"):
        np.testing.assert_array_equal(getattr(back, f), getattr(r, f))
    assert (back.kappa0, back.nu0, back.eta_kappa0, back.eta_nu0) == (
        r.kappa0, r.nu0, r.eta_kappa0, r.eta_nu0)
    assert isinstance(r.topic_hyper, glda.ResolvedGLDAHyper) and r.topic_hyper.dim == 2
    assert isinstance(r.eta_prior, NIWParams) and r.eta_prior.nu0 == r.eta_nu0
    # the kernels' make_prior takes (mu0, kappa0, nu0, psi0)
    from ppltopics.inference import _linalg as la

    np.testing.assert_allclose(la.make_prior(*r.niw_args()).psi0, r.psi0)
    np.testing.assert_allclose(la.make_prior(*r.eta_niw_args()).psi0, r.eta_psi0)
    np.testing.assert_allclose(la.make_prior(*r.eta_prior).mu0, r.eta_mu0)
    # a scalar eta_mu0 / eta_psi0 is broadcast
    s = ResolvedCGTMHyper(2, np.zeros(2), 1.0, 3.0, np.eye(2), 0.5, 1.0, 3.0, 2.0)
    np.testing.assert_array_equal(s.eta_mu0, [0.5, 0.5])
    np.testing.assert_array_equal(s.eta_psi0, 2.0 * np.eye(2))
    good = {"num_topics": 2, "mu0": np.zeros(2), "kappa0": 1.0, "nu0": 3.0, "psi0": np.eye(2),
            "eta_mu0": np.zeros(2), "eta_kappa0": 1.0, "eta_nu0": 3.0, "eta_psi0": np.eye(2)}
    for bad, match in [
        ({"kappa0": 0.0}, "kappa0"),
        ({"psi0": np.eye(3)}, "dimension mismatch"),
        ({"eta_mu0": np.zeros(3)}, "eta_mu0 has 3 entries"),
        ({"eta_psi0": np.eye(3)}, "eta_psi0 must be K×K"),
        ({"eta_psi0": -np.eye(2)}, "eta_psi0 must be symmetric positive definite"),
        ({"eta_nu0": 0.5}, "eta_nu0 must be > K - 1"),
        ({"eta_kappa0": -1.0}, "eta_kappa0 must be > 0"),
        ({"eta_mu0": [np.nan, 0.0]}, "eta_mu0 contains NaN"),
    ]:
        with pytest.raises(ValueError, match=match):
            ResolvedCGTMHyper(**{**good, **bad})
    with pytest.raises(ValueError, match="larger than the data"):
        ResolvedCGTMHyper(**good).validate(num_tokens=1)


# ---------------------------------------------------------------------- simulate
def test_simulate_shapes_reproducible_and_rng_untouched():
    torch.manual_seed(123)
    np.random.seed(7)  # noqa: NPY002 - the legacy global state is what we guard
    random.seed(9)
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(),  # noqa: NPY002
              random.getstate())
    r = _resolved(K=3, M=2)
    a = cgtm.simulate(5, [3, 4, 1, 6, 2], r, seed=11)
    after = (torch.get_rng_state(), np.random.get_state()[1], random.getstate())  # noqa: NPY002
    assert torch.equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert before[2] == after[2]
    b = cgtm.simulate(5, [3, 4, 1, 6, 2], r, seed=11)
    c = cgtm.simulate(5, [3, 4, 1, 6, 2], r, seed=12)
    N = 16
    assert a.corpus.num_docs == 5 and a.corpus.num_tokens == N
    np.testing.assert_array_equal(a.corpus.word_ids, np.arange(N))
    assert a.vectors.vocab == a.corpus.vocab and a.vectors.vectors.shape == (N, 2)
    assert a.topic_mean.shape == (3, 2) and a.topic_cov.shape == (3, 2, 2)
    assert a.eta_mean.shape == (3,) and a.eta_cov.shape == (3, 3) and a.eta.shape == (5, 3)
    assert a.theta.shape == (5, 3) and a.z.shape == (N,) and a.z.dtype == np.int32
    np.testing.assert_allclose(a.theta, np.exp(log_softmax(a.eta, axis=1)), rtol=1e-12)
    np.testing.assert_allclose(np.diag(a.topic_corr), 1.0)
    np.testing.assert_array_equal(a.token_vectors, a.vectors.vectors)
    assert a.hyper is r and a.seed == 11
    for f in ("topic_mean", "topic_cov", "eta_mean", "eta_cov", "eta", "theta", "z"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert not np.array_equal(a.eta, c.eta)
    with pytest.raises(ValueError, match="dimension M is unknown"):
        cgtm.simulate(2, 5, CGTMHyper(2))
    s = cgtm.simulate(30, 8, CGTMHyper(2), seed=0, dim=3, poisson=True)
    assert s.vectors.dim == 3 and len(set(s.corpus.doc_lengths.tolist())) > 1
    np.testing.assert_array_equal(s.hyper.psi0, np.eye(3))


def test_simulate_recovers_planted_topic_correlation():
    R = np.array([[1.0, 0.8, -0.6, 0.0],
                  [0.8, 1.0, -0.5, 0.0],
                  [-0.6, -0.5, 1.0, 0.0],
                  [0.0, 0.0, 0.0, 1.0]])
    hyper = CGTMHyper(4, eta_mu0=[0.5, 0.0, 0.0, -0.5])
    s = cgtm.simulate(6000, 2, hyper, seed=3, dim=2, topic_corr=R, eta_sd=1.5)
    np.testing.assert_allclose(s.eta_cov, 2.25 * R, rtol=1e-12)
    np.testing.assert_array_equal(s.eta_mean, [0.5, 0.0, 0.0, -0.5])
    np.testing.assert_allclose(s.topic_corr, R, atol=1e-12)
    # SE of a correlation coefficient ≈ (1 − ρ²)/√D ≤ 0.013: 0.05 is ~4 SE
    np.testing.assert_allclose(np.corrcoef(s.eta.T), R, atol=0.05)
    np.testing.assert_allclose(s.eta.mean(0), s.eta_mean, atol=5 * 1.5 / math.sqrt(6000))
    np.testing.assert_allclose(s.eta.std(0), 1.5, rtol=0.05)
    # the default standard deviations: sqrt(diag E[Σ_η]) = 1 under the default η prior
    t = cgtm.simulate(3, 2, CGTMHyper(4), seed=0, dim=2, topic_corr=R)
    np.testing.assert_allclose(t.eta_cov, R, rtol=1e-12)

    # z follows θ = softmax(η): the planted correlations show in the documents' topic counts
    # (shifted down by the sum-to-N constraint, as those of θ are)
    u = cgtm.simulate(1500, 40, CGTMHyper(4), seed=5, dim=2, topic_corr=R)
    ndk = np.zeros((1500, 4))
    np.add.at(ndk, (u.corpus.token_docs, u.z), 1.0)
    cc = np.corrcoef(ndk.T)
    assert cc[0, 1] > 0.2 and cc[0, 1] > cc[0, 3] + 0.5 and cc[1, 2] < -0.4 and cc[0, 2] < -0.4
    np.testing.assert_allclose(cc, np.corrcoef(u.theta.T), atol=0.15)
    np.testing.assert_allclose(ndk / 40, u.theta, atol=0.35)
    assert np.abs(ndk / 40 - u.theta).mean() < 0.06


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"topic_corr": np.eye(3)}, "topic_corr must be K×K"),
        ({"topic_corr": 2 * np.eye(2)}, "diagonal must be 1"),
        ({"topic_corr": [[1.0, 1.5], [1.5, 1.0]]}, r"in \[-1, 1\]"),
        ({"topic_corr": [[1.0, 0.5], [0.2, 1.0]]}, "not symmetric"),
        ({"topic_corr": [[1.0, 1.0], [1.0, 1.0]]}, "Cholesky"),
        ({"topic_corr": np.eye(2), "eta_sd": -1.0}, "eta_sd must be a positive"),
        ({"topic_corr": np.eye(2), "eta_sd": [1.0, 2.0, 3.0]}, "eta_sd must be a positive"),
        ({"eta_sd": 1.0}, "only used with topic_corr"),
    ],
)
def test_simulate_planted_correlation_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cgtm.simulate(3, 2, CGTMHyper(2), dim=2, **kwargs)
    if "eta_sd" not in kwargs:
        return
    with pytest.raises(ValueError, match="eta_nu0 > K \\+ 1"):
        cgtm.simulate(3, 2, CGTMHyper(2, eta_nu0=2.5), dim=2, topic_corr=np.eye(2))


# ---------------------------------------------------------------------- the Pyro story
def test_trace_log_prob_matches_hand_computation():
    r = _resolved(K=3, M=2)
    s = cgtm.simulate(4, [2, 5, 1, 3], r, seed=8)
    lengths = s.corpus.doc_lengths
    x = s.token_vectors
    tr = poutine.trace(cgtm.model).get_trace(lengths, r, data=x)
    sites = {n: v for n, v in tr.nodes.items() if v["type"] == "sample"}
    assert [n for n in sites if not n.startswith(("topics", "docs", "tokens"))] == [
        "topic_cov", "topic_mean", "eta_cov", "eta_mean", "eta", "theta", "z", "v"
    ]
    assert sites["v"]["is_observed"] and torch.equal(sites["v"]["value"], torch.tensor(x))
    val = {n: sites[n]["value"].numpy() for n in sites if not n.startswith(("topics", "docs",
                                                                           "tokens"))}
    assert val["eta_cov"].shape == (3, 3) and val["eta"].shape == (4, 3)
    assert val["eta"].dtype == np.float64
    np.testing.assert_allclose(val["theta"], np.exp(log_softmax(val["eta"], axis=1)),
                               rtol=1e-12)
    doc = s.corpus.token_docs
    want = 0.0
    for k in range(3):
        want += st.invwishart(df=r.nu0, scale=r.psi0).logpdf(val["topic_cov"][k])
        want += st.multivariate_normal(r.mu0, val["topic_cov"][k] / r.kappa0).logpdf(
            val["topic_mean"][k])
    want += st.invwishart(df=r.eta_nu0, scale=r.eta_psi0).logpdf(val["eta_cov"])
    want += st.multivariate_normal(r.eta_mu0, val["eta_cov"] / r.eta_kappa0).logpdf(
        val["eta_mean"])
    for d in range(4):
        want += st.multivariate_normal(val["eta_mean"], val["eta_cov"]).logpdf(val["eta"][d])
    for n in range(x.shape[0]):
        want += math.log(val["theta"][doc[n], val["z"][n]])
        want += st.multivariate_normal(val["topic_mean"][val["z"][n]],
                                       val["topic_cov"][val["z"][n]]).logpdf(x[n])
    assert tr.log_prob_sum().item() == pytest.approx(want, rel=1e-10)

    with pytest.raises(ValueError, match="one vector per token"):
        cgtm.model(lengths, r, data=x[:-1])
    # a CGTMHyper is resolved against the data (its data-driven topic prior)
    tr2 = poutine.trace(cgtm.model).get_trace(lengths, CGTMHyper(3), data=x)
    assert tr2.nodes["v"]["fn"].loc.shape == (3, 2)
    assert tr2.nodes["eta_cov"]["value"].shape == (3, 3)
    with pytest.raises(TypeError, match="CGTMHyper"):
        cgtm.model(lengths, GLDAHyper(3), data=x)


def test_story_takes_the_word_view():
    """GLDA's word view in the CGTM story: sites "phi" and "w" (simulated without words,
    observed with them); under λ ≠ 1 no topic sites and the factor site "v" is
    λ·Σ_k log p(v_{z=k}) (the NIW marginal the kernels temper)."""
    r = _resolved(K=3, M=2)
    s = cgtm.simulate(3, [3, 4, 2], r, seed=5)
    lengths, x = s.corpus.doc_lengths, s.token_vectors
    pyro.set_rng_seed(0)
    sim = cgtm.model(lengths, r, beta=0.3, vocab_size=5)
    tr = poutine.trace(cgtm.model).get_trace(lengths, r, x, words=np.arange(9) % 5, beta=0.3,
                                             vector_weight=0.4)
    tr.compute_log_prob()
    assert sim.topic_mean is not None and tr.nodes["phi"]["value"].shape == (3, 5)
    assert tr.nodes["w"]["is_observed"] and "topic_mean" not in tr.nodes
    z = tr.nodes["z"]["value"].numpy()
    want = 0.4 * sum(glda.log_marginal_niw(x[z == k], r) for k in range(3))
    assert float(tr.nodes["v"]["log_prob_sum"]) == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError, match="pass data"):
        cgtm.model(lengths, r, vector_weight=0.4)
    with pytest.raises(ValueError, match="vector_weight"):
        cgtm.model(lengths, r, x, vector_weight=0.0)


def test_enumerating_z_gives_the_mixture_likelihood():
    r = _resolved(K=3, M=2)
    s = cgtm.simulate(3, [4, 2, 3], r, seed=2)
    x, lengths = s.token_vectors, s.corpus.doc_lengths
    cond = {"topic_cov": torch.tensor(s.topic_cov), "topic_mean": torch.tensor(s.topic_mean),
            "eta_cov": torch.tensor(s.eta_cov), "eta_mean": torch.tensor(s.eta_mean),
            "eta": torch.tensor(s.eta)}
    conditioned = poutine.condition(config_enumerate(cgtm.model), data=cond)
    pyro.clear_param_store()
    loss = TraceEnum_ELBO(max_plate_nesting=1).loss(conditioned, lambda *a, **k: None,
                                                    lengths, r, data=x)
    want = 0.0
    for k in range(3):
        want += st.invwishart(df=r.nu0, scale=r.psi0).logpdf(s.topic_cov[k])
        want += st.multivariate_normal(r.mu0, s.topic_cov[k] / r.kappa0).logpdf(s.topic_mean[k])
    want += st.invwishart(df=r.eta_nu0, scale=r.eta_psi0).logpdf(s.eta_cov)
    want += st.multivariate_normal(r.eta_mu0, s.eta_cov / r.eta_kappa0).logpdf(s.eta_mean)
    want += st.multivariate_normal(s.eta_mean, s.eta_cov).logpdf(s.eta).sum()
    log_theta = log_softmax(s.eta, axis=1)
    doc = s.corpus.token_docs
    for n in range(x.shape[0]):
        want += logsumexp([log_theta[doc[n], k]
                           + st.multivariate_normal(s.topic_mean[k], s.topic_cov[k]).logpdf(x[n])
                           for k in range(3)])
    assert -loss == pytest.approx(want, rel=1e-9)


# ---------------------------------------------------------------------- collapsed log joint
def test_log_joint_eta_part_equals_chain_rule_of_multivariate_t():
    K, M = 3, 2
    r = _resolved(K=K, M=M, kappa0=0.3, nu0=2.4, eta_kappa0=0.6, eta_nu0=2.7, seed=9)
    rng = np.random.default_rng(10)
    lengths = [5, 1, 0, 7, 4]
    off = _offsets(lengths)
    N, D = off[-1], len(lengths)
    x = rng.standard_normal((N, M)) * 2.0 + 1.0
    z = rng.integers(0, K, N)
    eta = rng.standard_normal((D, K)) * 1.5
    want_eta = _chain_rule_niw(eta, r.eta_prior)
    assert cgtm.log_marginal_eta(eta, r) == pytest.approx(want_eta, rel=1e-10)
    # one η: the K-dim prior predictive t
    dof = r.eta_nu0 - K + 1
    t1 = st.multivariate_t(r.eta_mu0, r.eta_psi0 * (r.eta_kappa0 + 1) / (r.eta_kappa0 * dof),
                           df=dof)
    assert cgtm.log_marginal_eta(eta[:1], r) == pytest.approx(t1.logpdf(eta[0]), rel=1e-10)
    # the other two parts: GLDA's topic marginal (also by the chain rule) and log θ[z]
    lik = cgtm.log_likelihood_collapsed(x, off, z, r)
    want_lik = sum(_chain_rule_niw(x[z == k], r) for k in range(K) if (z == k).any())
    assert lik == pytest.approx(want_lik, rel=1e-10)
    doc = np.repeat(np.arange(D), lengths)
    log_theta = np.log(np.exp(eta) / np.exp(eta).sum(1, keepdims=True))
    want_z = sum(log_theta[doc[n], z[n]] for n in range(N))
    assert cgtm.log_prior_z(off, z, eta) == pytest.approx(want_z, rel=1e-12)
    got = cgtm.log_joint(x, off, z, eta, r)
    assert got == pytest.approx(want_lik + want_z + want_eta, rel=1e-10)
    # a CGTMHyper is resolved against the vectors
    assert cgtm.log_joint(x, off, z, eta, CGTMHyper(K)) == pytest.approx(
        cgtm.log_joint(x, off, z, eta, CGTMHyper(K).resolve(x)), rel=1e-12)


def test_log_joint_invariant_to_topic_labels_with_exchangeable_prior():
    r0 = _resolved(K=4, M=2, seed=11)
    r = ResolvedCGTMHyper(4, r0.mu0, r0.kappa0, r0.nu0, r0.psi0, 0.3, 0.8, 6.5, 1.7)
    s = cgtm.simulate(6, 9, r, seed=1)
    x, off = s.token_vectors, s.corpus.doc_offsets
    lj = cgtm.log_joint(x, off, s.z, s.eta, r)
    for perm in ([1, 0, 2, 3], [3, 2, 1, 0], [2, 3, 0, 1]):
        p = np.asarray(perm)
        eta_p = np.empty_like(s.eta)
        eta_p[:, p] = s.eta  # topic k becomes p[k]
        assert cgtm.log_joint(x, off, p[s.z], eta_p, r) == pytest.approx(lj, rel=1e-12)
    # the kernels' numba NIW algebra gives the same η marginal
    from ppltopics.inference import _linalg as la

    prior = la.make_prior(*r.eta_niw_args())
    stats = la.stats_from_assignments(s.eta, np.zeros(6, dtype=np.int64), 1, prior)
    assert la.topic_log_marginal(0, stats, prior) == pytest.approx(
        cgtm.log_marginal_eta(s.eta, r), rel=1e-10)


def test_log_joint_input_errors():
    r = _resolved(K=2, M=2)
    x = np.zeros((4, 2)) + np.arange(4)[:, None]
    eta = np.zeros((1, 2))
    with pytest.raises(ValueError, match="z has 3 entries"):
        cgtm.log_joint(x, [0, 4], [0, 1, 0], eta, r)
    with pytest.raises(ValueError, match="z out of range"):
        cgtm.log_joint(x, [0, 4], [0, 1, 2, 0], eta, r)
    with pytest.raises(ValueError, match="doc_offsets"):
        cgtm.log_joint(x, [0, 3], [0, 1, 1, 0], eta, r)
    with pytest.raises(ValueError, match=r"eta must have shape \(num_docs, K\) = \(1, 2\)"):
        cgtm.log_joint(x, [0, 4], [0, 1, 1, 0], np.zeros((2, 2)), r)
    with pytest.raises(ValueError, match="eta contains NaN"):
        cgtm.log_joint(x, [0, 4], [0, 1, 1, 0], np.full((1, 2), np.nan), r)
    with pytest.raises(ValueError, match="NaN or inf"):
        cgtm.log_joint(np.full((4, 2), np.nan), [0, 4], [0, 1, 1, 0], eta, r)
    with pytest.raises(ValueError, match="dimension mismatch"):
        cgtm.log_joint(np.zeros((4, 3)), [0, 4], [0, 1, 1, 0], eta, r)
    with pytest.raises(TypeError, match="CGTMHyper"):
        cgtm.log_joint(x, [0, 4], [0, 1, 1, 0], eta, {"num_topics": 2})
    with pytest.raises(TypeError, match="ResolvedCGTMHyper"):
        cgtm.log_marginal_eta(eta, CGTMHyper(2))
    # densities are defined for more topics than tokens (tiny enumeration toys)
    r4 = _resolved(K=4, M=2)
    assert math.isfinite(cgtm.log_joint(x[:2], [0, 2], [3, 0], np.zeros((1, 4)), r4))
