"""InverseWishart and NormalInverseWishart against scipy, Monte Carlo moments, Pyro use."""

from __future__ import annotations

import numpy as np
import pyro
import pytest
import torch
from pyro import poutine
from scipy import stats as st

from ppltopics.distributions import InverseWishart, NormalInverseWishart
from ppltopics.inference import _linalg as la

D = torch.float64


def _spd(rng: np.random.Generator, M: int) -> np.ndarray:
    A = rng.standard_normal((M, M + 2))
    return A @ A.T / M + 0.3 * np.eye(M)


# ---------------------------------------------------------------------- densities
@pytest.mark.parametrize("M,nu", [(1, 0.5), (1, 4.0), (2, 1.3), (3, 5.5), (6, 20.0)])
def test_inverse_wishart_log_prob_matches_scipy(M, nu):
    rng = np.random.default_rng(M * 100 + int(nu * 10))
    psi = _spd(rng, M)
    ref = st.invwishart(df=nu, scale=psi)
    values = np.asarray(ref.rvs(size=6, random_state=rng)).reshape(6, M, M)
    d = InverseWishart(torch.tensor(psi), nu)
    assert d.batch_shape == torch.Size() and d.event_shape == torch.Size((M, M))
    got = d.log_prob(torch.tensor(values))
    want = np.array([ref.logpdf(v if M > 1 else v[0, 0]) for v in values])
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-9)


def test_inverse_wishart_batches_of_psi_and_nu():
    rng = np.random.default_rng(1)
    M, K = 3, 4
    psi = np.stack([_spd(rng, M) for _ in range(K)])
    nu = np.array([2.5, 3.0, 7.0, 11.0])
    d = InverseWishart(torch.tensor(psi), torch.tensor(nu))
    assert d.batch_shape == torch.Size([K])
    value = d.sample((5,))
    assert value.shape == (5, K, M, M)
    lp = d.log_prob(value)
    assert lp.shape == (5, K)
    for s in range(5):
        for k in range(K):
            want = st.invwishart(df=nu[k], scale=psi[k]).logpdf(value[s, k].numpy())
            assert lp[s, k].item() == pytest.approx(want, rel=1e-10)
    # a shared prior expanded over K topics
    e = InverseWishart(torch.tensor(psi[0]), 5.0).expand([K])
    assert e.batch_shape == torch.Size([K]) and e.sample().shape == (K, M, M)
    assert e.log_prob(value[0]).shape == (K,)


def test_normal_inverse_wishart_log_prob_matches_scipy():
    rng = np.random.default_rng(2)
    M = 4
    mu0, kappa0, psi0, nu0 = rng.standard_normal(M), 0.3, _spd(rng, M), M + 1.5
    niw = NormalInverseWishart(torch.tensor(mu0), kappa0, torch.tensor(psi0), nu0)
    torch.manual_seed(0)
    mu, sigma = niw.sample((5,))
    assert mu.shape == (5, M) and sigma.shape == (5, M, M)
    got = niw.log_prob(mu, sigma).numpy()
    for i in range(5):
        s = sigma[i].numpy()
        want = st.invwishart(df=nu0, scale=psi0).logpdf(s) + st.multivariate_normal(
            mu0, s / kappa0
        ).logpdf(mu[i].numpy())
        assert got[i] == pytest.approx(want, rel=1e-10)


# ---------------------------------------------------------------------- Monte Carlo
def test_inverse_wishart_sample_moments_and_marginal():
    rng = np.random.default_rng(3)
    M, nu, n = 3, 12.0, 40_000
    psi = torch.tensor(_spd(rng, M))
    d = InverseWishart(psi, nu)
    torch.manual_seed(123)
    S = d.sample((n,))
    assert torch.isfinite(S).all()
    assert torch.allclose(S, S.mT)
    np.testing.assert_allclose(d.mean.numpy(), psi.numpy() / (nu - M - 1))
    se = (d.variance / n).sqrt()
    z = ((S.mean(0) - d.mean) / se).abs()
    assert z.max() < 5.0, z
    # Σ_ii ~ Inv-Gamma((ν − M + 1)/2, Ψ_ii/2): a one-sample KS test of the exact marginal
    for i in range(M):
        ig = st.invgamma(a=(nu - M + 1) / 2, scale=psi[i, i].item() / 2)
        assert st.kstest(S[:, i, i].numpy(), ig.cdf).pvalue > 1e-3
    # M = 1: IW(ψ, ν) is Inv-Gamma(ν/2, ψ/2)
    d1 = InverseWishart(torch.tensor([[2.0]], dtype=D), 3.0)
    s1 = d1.sample((20_000,))[:, 0, 0].numpy()
    assert st.kstest(s1, st.invgamma(a=1.5, scale=1.0).cdf).pvalue > 1e-3


def test_normal_inverse_wishart_sample_moments():
    M, kappa0, nu0, n = 3, 0.5, 10.0, 40_000
    mu0 = torch.tensor([1.0, -2.0, 0.5], dtype=D)
    psi0 = torch.tensor([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 1.5]], dtype=D)
    niw = NormalInverseWishart(mu0, kappa0, psi0, nu0)
    torch.manual_seed(7)
    mu, sigma = niw.sample((n,))
    expected_sigma = psi0 / (nu0 - M - 1)
    var_sigma = niw.inverse_wishart.variance
    assert (((sigma.mean(0) - expected_sigma) / (var_sigma / n).sqrt()).abs().max()) < 5.0
    # Var(μ) = E[Σ]/κ0
    se_mu = (expected_sigma.diagonal() / kappa0 / n).sqrt()
    assert ((mu.mean(0) - mu0) / se_mu).abs().max() < 5.0
    np.testing.assert_allclose(
        torch.cov(mu.T).numpy(), (expected_sigma / kappa0).numpy(), rtol=0.1, atol=0.05
    )


def test_rsample_is_differentiable_and_float32_works():
    psi = torch.eye(2, dtype=D).requires_grad_()
    nu = torch.tensor(4.0, dtype=D, requires_grad=True)
    torch.manual_seed(0)
    InverseWishart(psi, nu).rsample((10,)).sum().backward()
    assert torch.isfinite(psi.grad).all() and torch.isfinite(nu.grad)
    d32 = InverseWishart(torch.eye(3), 6.0)  # float32 default dtype
    s = d32.sample((100,))
    assert s.dtype == torch.float32 and torch.isfinite(d32.log_prob(s)).all()


# ---------------------------------------------------------------------- Pyro
def test_pyro_sample_in_topic_plate():
    K, M = 5, 3
    niw = NormalInverseWishart(torch.zeros(M, dtype=D), 0.1, 2.0 * torch.eye(M, dtype=D), M + 0.5)

    def story():
        with pyro.plate("topics", K):
            mu, sigma = niw.pyro_sample("topic")
            sigma2 = pyro.sample("cov2", InverseWishart(torch.eye(M, dtype=D), M + 2.0))
        return mu, sigma, sigma2

    pyro.set_rng_seed(0)
    trace = poutine.trace(story).get_trace()
    cov = trace.nodes["topic_cov"]["value"]
    mean = trace.nodes["topic_mean"]["value"]
    assert cov.shape == (K, M, M) and mean.shape == (K, M)
    assert trace.nodes["cov2"]["fn"].batch_shape == torch.Size([K])
    lp = trace.log_prob_sum()
    assert torch.isfinite(lp)
    iw2 = InverseWishart(torch.eye(M, dtype=D), M + 2.0)
    manual = niw.log_prob(mean, cov).sum() + iw2.log_prob(trace.nodes["cov2"]["value"]).sum()
    assert lp.item() == pytest.approx(manual.item(), rel=1e-12)
    # conditioning on given topic covariances also scores
    given = {"topic_cov": torch.eye(M, dtype=D).expand(K, M, M)}
    t2 = poutine.trace(poutine.condition(story, data=given)).get_trace()
    assert torch.isfinite(t2.log_prob_sum())


# ---------------------------------------------------------------------- conjugacy
def test_posterior_update_and_marginal_agree_with_linalg():
    rng = np.random.default_rng(9)
    M, n = 3, 15
    mu0, kappa0, psi0, nu0 = rng.standard_normal(M), 0.2, _spd(rng, M), M + 0.7
    X = rng.standard_normal((n, M)) * 1.5 + 1.0
    prior = NormalInverseWishart(torch.tensor(mu0), kappa0, torch.tensor(psi0), nu0)
    post = prior.posterior(torch.tensor(X))
    assert post.kappa0.item() == pytest.approx(kappa0 + n)
    assert post.nu0.item() == pytest.approx(nu0 + n)
    np.testing.assert_allclose(post.mu0.numpy(), (kappa0 * mu0 + X.sum(0)) / (kappa0 + n))
    # Bayes: log p(X) = log p(μ,Σ) + log p(X|μ,Σ) − log p(μ,Σ|X) for any (μ, Σ)
    lin_prior = la.make_prior(mu0, kappa0, nu0, psi0)
    stats = la.stats_from_assignments(X, np.zeros(n, dtype=np.int64), 1, lin_prior)
    log_marginal = la.topic_log_marginal(0, stats, lin_prior)
    torch.manual_seed(1)
    mus, sigmas = post.sample((4,))
    for mu, sigma in zip(mus, sigmas, strict=True):
        loglik = (
            torch.distributions.MultivariateNormal(mu, covariance_matrix=sigma)
            .log_prob(torch.tensor(X))
            .sum()
        )
        bayes = prior.log_prob(mu, sigma) + loglik - post.log_prob(mu, sigma)
        assert bayes.item() == pytest.approx(log_marginal, rel=1e-9)
    assert prior.posterior(torch.zeros(0, M, dtype=D)) is prior
    assert prior.expand([4]).batch_shape == torch.Size([4])


# ---------------------------------------------------------------------- validation
def test_bad_parameters_raise_value_error():
    M = 3
    eye = torch.eye(M, dtype=D)
    mu0 = torch.zeros(M, dtype=D)
    with pytest.raises(ValueError, match="kappa0 must be > 0"):
        NormalInverseWishart(mu0, 0.0, eye, 5.0)
    with pytest.raises(ValueError, match="kappa0 must be > 0"):
        NormalInverseWishart(mu0, -1.0, eye, 5.0)
    with pytest.raises(ValueError, match=r"nu0 must be > M - 1 = 2"):
        NormalInverseWishart(mu0, 1.0, eye, 2.0)
    with pytest.raises(ValueError, match=r"nu must be > M - 1 = 2"):
        InverseWishart(eye, 1.5)
    with pytest.raises(ValueError, match="not symmetric"):
        InverseWishart(eye + torch.triu(torch.ones(M, M, dtype=D), 1), 5.0)
    with pytest.raises(ValueError, match="positive definite: its Cholesky factorisation failed"):
        InverseWishart(torch.diag(torch.tensor([1.0, -1.0, 1.0], dtype=D)), 5.0)
    with pytest.raises(ValueError, match="psi contains NaN or inf"):
        InverseWishart(torch.full((M, M), float("nan"), dtype=D), 5.0)
    with pytest.raises(ValueError, match="nu contains NaN or inf"):
        InverseWishart(eye, float("inf"))
    with pytest.raises(ValueError, match="mu0 contains NaN or inf"):
        NormalInverseWishart(torch.tensor([0.0, float("inf"), 0.0], dtype=D), 1.0, eye, 5.0)
    with pytest.raises(ValueError, match="kappa0 contains NaN or inf"):
        NormalInverseWishart(mu0, float("nan"), eye, 5.0)
    with pytest.raises(ValueError, match="square"):
        InverseWishart(torch.ones(2, 3, dtype=D), 5.0)
    with pytest.raises(ValueError, match="len\\(mu0\\)"):
        NormalInverseWishart(torch.zeros(2, dtype=D), 1.0, eye, 5.0)
    with pytest.raises(ValueError, match="x must have shape"):
        NormalInverseWishart(mu0, 1.0, eye, 5.0).posterior(torch.zeros(4, 2, dtype=D))
    with pytest.raises(ValueError, match="do not broadcast"):
        InverseWishart(torch.stack([eye, eye]), torch.tensor([5.0, 6.0, 7.0], dtype=D))
    with pytest.raises(ValueError, match="do not broadcast"):
        NormalInverseWishart(torch.zeros(3, M, dtype=D), torch.ones(2, dtype=D), eye, 5.0)
    # a batch where one member is bad is rejected too
    bad = torch.stack([eye, -eye])
    with pytest.raises(ValueError, match="positive definite"):
        InverseWishart(bad, 5.0)
