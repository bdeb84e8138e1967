"""von Mises–Fisher distribution: density, normaliser, sampler, gradients and extreme κ.

Statistical checks use fixed seeds; each states its false-failure rate (the probability that a
correct implementation fails it with a fresh seed).
"""

from __future__ import annotations

import math

import numpy as np
import pyro.distributions as dist
import pytest
import torch
from scipy import integrate, special, stats

from ppltopics.distributions import (
    VonMisesFisher,
    inverse_mean_resultant_length,
    mean_resultant_length,
    vmf_log_normalizer,
)


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _unit(g: torch.Generator | None, *shape: int) -> torch.Tensor:
    x = torch.randn(*shape, generator=g, dtype=torch.float64)
    return x / x.norm(dim=-1, keepdim=True)


def _log_sphere_area(n: int) -> float:
    """log surface area of S^{n-1} ⊂ R^n: 2 π^{n/2} / Γ(n/2)."""
    return math.log(2.0) + 0.5 * n * math.log(math.pi) - special.gammaln(0.5 * n)


def _moments(D: int, kappa: float) -> tuple[float, float]:
    """E[w] = A_D(κ) and Var[w] = A_D'(κ) = 1 - A² - (D-1) A / κ of w = μᵀx."""
    a = float(mean_resultant_length(D, kappa))
    return a, 1.0 - a * a - (D - 1) * a / kappa


# ----------------------------------------------------------------------------- densities
@pytest.mark.parametrize("kappa", [1e-3, 0.5, 5.0, 50.0])
def test_log_prob_matches_pyro_vonmises3d(kappa):
    g = torch.Generator().manual_seed(0)
    mu = _unit(g, 4, 3)
    x = _unit(g, 7, 4, 3)
    ours = VonMisesFisher(mu, torch.full((4,), kappa)).log_prob(x)
    ref = dist.VonMises3D(mu * kappa).log_prob(x)
    torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-9)


def test_log_prob_matches_circular_vonmises_in_2d():
    theta = torch.linspace(-3.0, 3.0, 13)
    x = torch.stack([theta.cos(), theta.sin()], -1)
    for kappa, m in [(0.3, 0.4), (4.0, -2.0), (300.0, 1.0)]:
        mu = torch.tensor([math.cos(m), math.sin(m)])
        ours = VonMisesFisher(mu, torch.tensor(kappa)).log_prob(x)
        ref = torch.distributions.VonMises(torch.tensor(m), torch.tensor(kappa)).log_prob(theta)
        torch.testing.assert_close(ours, ref, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("D", [3, 10, 100, 384])
@pytest.mark.parametrize("kappa", [0.0, 0.1, 10.0, 1e3])
def test_normaliser_by_quadrature(D, kappa):
    """∫ C_D(κ) e^{κw} (1-w²)^{(D-3)/2} |S^{D-2}| dw = 1 (density of w = μᵀx)."""
    log_c = float(vmf_log_normalizer(D, kappa)) + _log_sphere_area(D - 1)

    def f(w: float) -> float:
        return math.exp(log_c + kappa * w + 0.5 * (D - 3) * math.log1p(-w * w))

    mode = 0.0 if kappa == 0 else ((D - 3) / kappa if D > 3 else 0.0)
    w_mode = (math.sqrt(mode * mode + 1.0) - mode) if kappa > 0 else 0.0  # κ(1-w²) = (D-3) w
    total, err = integrate.quad(f, -1.0, 1.0, points=[w_mode], limit=400, epsabs=0, epsrel=1e-10)
    assert total == pytest.approx(1.0, rel=1e-7)


@pytest.mark.parametrize("D", [2, 3, 5])
def test_normaliser_by_monte_carlo(D):
    """|S^{D-1}| · mean of p(x) over uniform x is 1; |error| < 5 standard errors.

    False-failure rate of the 5-SE bound (CLT) ≈ 6e-7 per case.
    """
    g = torch.Generator().manual_seed(1)
    x = _unit(g, 200_000, D)
    vmf = VonMisesFisher(_unit(g, D), torch.tensor(3.0))
    vals = torch.exp(vmf.log_prob(x) + _log_sphere_area(D)).numpy()
    se = vals.std() / math.sqrt(vals.size)
    assert abs(vals.mean() - 1.0) < 5 * se


def test_mean_resultant_length_closed_form_and_inverse():
    k = np.array([1e-6, 0.1, 1.0, 10.0, 100.0, 1e4])
    langevin = np.where(k < 1e-3, k / 3 - k**3 / 45, 1 / np.tanh(k) - 1 / k)  # no cancellation
    np.testing.assert_allclose(mean_resultant_length(3, k), langevin, rtol=1e-9)
    np.testing.assert_allclose(mean_resultant_length(2, k), special.i1e(k) / special.i0e(k),
                               rtol=1e-12)
    for D in (3, 100, 384):
        kappa = np.array([0.5, 10.0, 100.0, 3e3])
        back = inverse_mean_resultant_length(D, mean_resultant_length(D, kappa), newton_steps=5)
        np.testing.assert_allclose(back, kappa, rtol=1e-6)
    # the Banerjee et al. (2005) approximation alone is within a few percent
    r = mean_resultant_length(100, np.array([50.0, 200.0]))
    np.testing.assert_allclose(inverse_mean_resultant_length(100, r, newton_steps=0),
                               [50.0, 200.0], rtol=0.05)
    assert inverse_mean_resultant_length(10, 0.0) == 0.0


def test_entropy_and_mean():
    torch.manual_seed(2)
    mu = torch.tensor([0.6, 0.0, 0.8])
    vmf = VonMisesFisher(mu, torch.tensor(4.0))
    x = vmf.sample((100_000,))
    lp = vmf.log_prob(x)
    # 5-SE CLT bounds: false-failure rate ≈ 6e-7 each
    assert abs(-lp.mean() - vmf.entropy()) < 5 * lp.std() / math.sqrt(lp.numel())
    se = x.std(0) / math.sqrt(x.shape[0])
    assert bool(((x.mean(0) - vmf.mean).abs() < 5 * se).all())
    uniform = VonMisesFisher(mu, torch.tensor(0.0))
    assert float(uniform.entropy()) == pytest.approx(_log_sphere_area(3), rel=1e-12)


# ----------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("kappa", [0.5, 5.0, 60.0])
def test_samples_3d_match_vonmises3d_law(kappa):
    """KS tests of w = μᵀx (CDF expm1(κ(w+1)) / expm1(2κ)) and of the uniform azimuth.

    Each KS test has false-failure rate 1e-3 (p-value threshold).
    """
    torch.manual_seed(3)
    mu = torch.tensor([1.0, 2.0, -2.0]) / 3.0
    x = VonMisesFisher(mu, torch.tensor(kappa)).sample((4000,))
    assert torch.allclose(x.norm(dim=-1), torch.ones(4000), atol=1e-12)
    w = (x @ mu).numpy()
    p_w = stats.kstest(w, lambda t: np.expm1(kappa * (t + 1)) / np.expm1(2 * kappa)).pvalue
    # azimuth around μ in an orthonormal frame (e1, e2) of μ's tangent plane
    e1 = torch.linalg.svd(mu[None, :]).Vh[1:]
    tang = x @ e1.T
    phi = torch.atan2(tang[:, 1], tang[:, 0]).numpy()
    p_phi = stats.kstest(phi, stats.uniform(-math.pi, 2 * math.pi).cdf).pvalue
    assert p_w > 1e-3 and p_phi > 1e-3, (p_w, p_phi)


def test_samples_2d_match_circular_vonmises():
    """KS test of the angle against scipy's von Mises CDF (false-failure rate 1e-3)."""
    torch.manual_seed(4)
    m, kappa = 0.7, 2.5
    x = VonMisesFisher(torch.tensor([math.cos(m), math.sin(m)]), torch.tensor(kappa)).sample(
        (4000,))
    theta = torch.atan2(x[:, 1], x[:, 0]).numpy()
    assert stats.kstest(theta, stats.vonmises(kappa, loc=m).cdf).pvalue > 1e-3


@pytest.mark.parametrize(("D", "kappa"), [(100, 50.0), (100, 1e3), (384, 200.0), (384, 1e4)])
def test_high_dimensional_mean_resultant_length(D, kappa):
    """Samples in D = 100/384: mean of w = μᵀx, its variance, and isotropic tangent part.

    * |w̄ - A_D(κ)| < 4 sd with sd = sqrt(A_D'(κ)/n) (CLT; false-failure rate 6e-5);
    * sample Var(w) within 20 % of A_D'(κ) (n = 4000: relative sd of a variance ≈ sqrt(2/n)
      = 2.2 % for near-normal w, so 20 % is > 8 sd);
    * n ‖t̄‖² (D-1)/(1 - E w²) ~ χ²_{D-1} for the tangent mean t̄ = x̄ - (μᵀx̄) μ (two-sided
      p > 1e-4; false-failure rate 2e-4).
    """
    torch.manual_seed(5)
    n = 4000
    mu = _unit(torch.Generator().manual_seed(6), D)
    x = VonMisesFisher(mu, torch.tensor(kappa)).sample((n,))
    assert x.shape == (n, D) and bool(torch.isfinite(x).all())
    assert torch.allclose(x.norm(dim=-1), torch.ones(n), atol=1e-10)
    a, var = _moments(D, kappa)
    w = x @ mu
    assert abs(float(w.mean()) - a) < 4 * math.sqrt(var / n)
    assert float(w.var()) == pytest.approx(var, rel=0.2)
    xbar = x.mean(0)
    t = xbar - (xbar @ mu) * mu
    ew2 = var + a * a
    stat = float(n * (t @ t) * (D - 1) / (1 - ew2))
    p = stats.chi2.sf(stat, D - 1)
    assert 5e-5 < p < 1 - 5e-5, p
    rbar = float(xbar.norm())
    assert rbar == pytest.approx(math.sqrt(a * a + (1 - a * a) / n), abs=5 * math.sqrt(var / n))


def test_batched_sampling_shapes_and_per_component_laws():
    torch.manual_seed(7)
    g = torch.Generator().manual_seed(8)
    mu = _unit(g, 3, 1, 20)
    kappa = torch.tensor([[1.0, 30.0, 1e3]]).T.expand(3, 2)  # batch (3, 2)
    vmf = VonMisesFisher(mu, kappa)
    assert vmf.batch_shape == (3, 2) and vmf.event_shape == (20,)
    x = vmf.sample((2000,))
    assert x.shape == (2000, 3, 2, 20)
    w = (x * vmf.loc).sum(-1).mean(0)
    a = torch.as_tensor(mean_resultant_length(20, kappa.numpy()))
    assert torch.allclose(w, a, atol=0.03)
    assert vmf.expand((4, 3, 2)).sample().shape == (4, 3, 2, 20)
    assert vmf.log_prob(x).shape == (2000, 3, 2)


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("D", [3, 50, 384])
@pytest.mark.parametrize("kappa", [0.01, 3.0, 500.0])
def test_log_prob_gradients_match_finite_differences(D, kappa):
    g = torch.Generator().manual_seed(9)
    mu = _unit(g, D).requires_grad_()
    x = _unit(g, 2, D)
    k = torch.tensor([kappa], requires_grad=True)

    def f(k, mu):
        return VonMisesFisher(mu, k, validate_args=False).log_prob(x)

    assert torch.autograd.gradcheck(f, (k, mu), eps=1e-6 * max(1.0, kappa), atol=1e-5,
                                    rtol=1e-4)


def test_kappa_gradient_at_extreme_concentrations():
    for D in (3, 384):
        for kappa in (1e-10, 1e4, 1e6):
            k = torch.tensor(kappa, requires_grad=True)
            mu = torch.zeros(D)
            mu[0] = 1.0
            lp = VonMisesFisher(mu, k).log_prob(mu)  # at the mode: d/dκ = 1 - A_D(κ)
            (grad,) = torch.autograd.grad(lp, k)
            assert torch.isfinite(grad)
            h = max(kappa * 1e-5, 1e-5)  # forward difference near κ = 0
            lo = kappa - h if kappa > h else kappa
            fd = (vmf_log_normalizer(D, kappa + h) - vmf_log_normalizer(D, lo)) / (
                kappa + h - lo) + 1
            assert float(grad) == pytest.approx(float(fd), rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("D", [2, 3, 384])
def test_mean_and_entropy_gradients_in_kappa(D):
    mu = torch.zeros(D)
    mu[0] = 1.0
    for kappa in (1e-3, 2.0, 300.0):
        k = torch.tensor([kappa], requires_grad=True)
        assert torch.autograd.gradcheck(
            lambda k: VonMisesFisher(mu, k).entropy(), (k,), eps=1e-6 * max(1.0, kappa),
            atol=1e-6, rtol=1e-4)
        assert torch.autograd.gradcheck(
            lambda k: VonMisesFisher(mu, k).mean[..., 0], (k,), eps=1e-6 * max(1.0, kappa),
            atol=1e-7, rtol=1e-4)
    k0 = torch.tensor(0.0, requires_grad=True)
    (g,) = torch.autograd.grad(VonMisesFisher(mu, k0).mean[0], k0)
    assert float(g) == pytest.approx(1.0 / D)


def test_rsample_is_reparameterised_in_loc():
    g = torch.Generator().manual_seed(10)
    mu = _unit(g, 6).requires_grad_()
    kappa = torch.tensor(7.0)

    def f(mu):
        torch.manual_seed(11)  # same underlying draws on every call
        return VonMisesFisher(mu, kappa, validate_args=False).rsample((3,))

    assert torch.autograd.gradcheck(f, (mu,), eps=1e-6, atol=1e-6)
    torch.manual_seed(12)
    x = VonMisesFisher(mu, kappa).rsample((50,))
    (grad,) = torch.autograd.grad(x.sum(), mu)
    assert bool(torch.isfinite(grad).all())


# ----------------------------------------------------------------------------- stability
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kappa", [0.0, 1e-12, 1e4, 1e6])
def test_extreme_concentrations_are_finite(dtype, kappa):
    torch.manual_seed(13)
    D = 384
    mu = torch.zeros(D, dtype=dtype)
    mu[-1] = 1.0
    vmf = VonMisesFisher(mu, torch.tensor(kappa, dtype=dtype))
    x = vmf.sample((500,))
    assert x.dtype == dtype and bool(torch.isfinite(x).all())
    assert torch.allclose(x.norm(dim=-1).double(), torch.ones(500, dtype=torch.float64),
                          atol=1e-5)
    lp = vmf.log_prob(x)
    assert bool(torch.isfinite(lp).all())
    assert bool(torch.isfinite(vmf.entropy())) and bool(torch.isfinite(vmf.mean).all())
    a = float(mean_resultant_length(D, kappa))
    assert float((x.double() @ mu.double()).mean()) == pytest.approx(a, abs=0.01)
    if kappa == 0.0:  # uniform: log p = -log |S^{D-1}|
        assert torch.allclose(lp.double(), torch.full((500,), -_log_sphere_area(D),
                                                      dtype=torch.float64), rtol=1e-6)


def test_float32_log_prob_agrees_with_float64_at_large_kappa():
    g = torch.Generator().manual_seed(14)
    mu = _unit(g, 384)
    x = VonMisesFisher(mu, torch.tensor(1e4)).sample((20,))
    lp64 = VonMisesFisher(mu, torch.tensor(1e4)).log_prob(x)
    lp32 = VonMisesFisher(mu.float(), torch.tensor(1e4, dtype=torch.float32)).log_prob(x.float())
    torch.testing.assert_close(lp32.double(), lp64, atol=0.5, rtol=1e-4)


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="unit"):
        VonMisesFisher(torch.tensor([1.0, 1.0]), torch.tensor(1.0))
    with pytest.raises(ValueError, match="non-negative"):
        VonMisesFisher(torch.tensor([1.0, 0.0]), torch.tensor(-1.0))
    with pytest.raises(ValueError, match="NaN"):
        VonMisesFisher(torch.tensor([1.0, 0.0]), torch.tensor(float("nan")))
    with pytest.raises(ValueError, match="D >= 2"):
        VonMisesFisher(torch.tensor([1.0]), torch.tensor(1.0))
    with pytest.raises(ValueError, match="broadcast"):
        VonMisesFisher(torch.eye(3), torch.ones(2))
    with pytest.raises(ValueError):
        mean_resultant_length(1, 1.0)
    with pytest.raises(ValueError):
        inverse_mean_resultant_length(3, 1.0)
    vmf = VonMisesFisher(torch.tensor([0.0, 1.0]), torch.tensor(1.0))
    with pytest.raises(ValueError):
        vmf.log_prob(torch.tensor([2.0, 0.0]))
