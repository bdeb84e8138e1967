"""PolyaGamma: sampler moments, density normalisation and series accuracy, KS, tilting, Pyro."""

from __future__ import annotations

import math

import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro import poutine
from scipy import integrate, interpolate, stats

from ppltopics.distributions import (
    PG_METHODS,
    PolyaGamma,
    polyagamma_log_density,
    sample_polyagamma,
)

D64 = torch.float64


# ---------------------------------------------------------------------- references
def _weights(c: float, terms: int = 200_000) -> np.ndarray:
    """w_k = 1/(2π²((k − ½)² + c²/(4π²))): PG(b, c) = Σ_k w_k g_k, g_k ~ Gamma(b, 1)."""
    k = np.arange(1, terms + 1) - 0.5
    return 1.0 / (2.0 * math.pi**2 * (k * k + (c / (2.0 * math.pi)) ** 2))


def _cumulant(r: int, b: float, c: float) -> float:
    """κ_r = b (r − 1)! Σ_k w_k^r (exact to ~1e-12 for r >= 2; r = 1 adds the series tail)."""
    w = _weights(c)
    s = float(np.sum(w**r))
    if r == 1:  # tail Σ_{k>K} w_k ≈ 1/(2π² K)
        s += 1.0 / (2.0 * math.pi**2 * w.size)
    return b * math.factorial(r - 1) * s


def _mean(b: float, c: float) -> float:
    return b / 4.0 if c == 0 else b / (2.0 * c) * math.tanh(c / 2.0)


def _var(b: float, c: float) -> float:
    if c == 0:
        return b / 24.0
    return b / (4.0 * c**3) * (math.sinh(c) - c) / math.cosh(c / 2.0) ** 2


def _x_hi(b: float, c: float, log_tail: float = -40.0) -> float:
    """A point beyond which PG(b, c) has mass below e^log_tail (Chernoff bound)::

    P(ω > x) ≤ E[e^{tω}] e^{−tx},  E[e^{tω}] = cosh^b(c/2) / cos^b(√((t − c²/2)/2)),
    with t = c²/2 + π²/4, where the cosine is cos(π/√8).
    """
    t = c * c / 2.0 + math.pi**2 / 4.0
    log_mgf = b * (math.log(math.cosh(c / 2.0)) - math.log(math.cos(math.pi / math.sqrt(8.0))))
    return (log_mgf - log_tail) / t


def _density(b: float, c: float):
    return lambda x: float(np.exp(polyagamma_log_density(x, b, c)))


# ---------------------------------------------------------------------- moments
def test_mean_variance_formulas_agree_with_cumulants():
    for b in (1.0, 5.0, 0.3):
        for c in (0.0, 1e-7, 0.0099, 0.0101, 0.5, -2.0, 3.0, 30.0):
            d = PolyaGamma(torch.tensor(b, dtype=D64), torch.tensor(c, dtype=D64))
            assert d.mean.item() == pytest.approx(_cumulant(1, b, c), rel=1e-9)
            assert d.variance.item() == pytest.approx(_cumulant(2, b, c), rel=1e-9)
            if c != 0:
                assert d.mean.item() == pytest.approx(_mean(b, c), rel=1e-12)
                if abs(c) > 0.1:
                    assert d.variance.item() == pytest.approx(_var(b, c), rel=1e-12)
    # limits at c = 0 and no overflow for large |c|
    z = PolyaGamma(torch.tensor([2.0, 2.0], dtype=D64), torch.tensor([0.0, 800.0], dtype=D64))
    torch.testing.assert_close(z.mean, torch.tensor([0.5, 2.0 / 1600.0], dtype=D64))
    torch.testing.assert_close(z.variance, torch.tensor([2.0 / 24.0, 2.0 * 2.0 / (4 * 800.0**3)],
                                                        dtype=D64))
    assert PolyaGamma(1.0, 2.0).mean.dtype == torch.get_default_dtype()


@pytest.mark.parametrize("b", [1.0, 5.0, 50.0])
def test_sample_mean_and_variance(b):
    """Monte Carlo moments within 5 standard errors, from the exact cumulants::

    SE(mean) = √(κ2/n),  SE(sample variance) ≈ √((κ4 + 2κ2²)/n).
    """
    n = 100_000
    for i, c in enumerate((0.0, 0.5, 3.0, -2.0)):
        pyro.set_rng_seed(100 * int(b) + i)
        x = PolyaGamma(torch.tensor(b, dtype=D64), torch.tensor(c, dtype=D64)).sample((n,))
        x = x.numpy()
        assert x.shape == (n,) and (x > 0).all()
        k2, k4 = _cumulant(2, b, c), _cumulant(4, b, c)
        assert abs(x.mean() - _mean(b, c)) < 5.0 * math.sqrt(k2 / n), (b, c)
        assert abs(x.var() - k2) < 5.0 * math.sqrt((k4 + 2.0 * k2 * k2) / n), (b, c)


def test_non_integer_b_sampler_is_unbiased():
    """Devroye for ⌊b⌋ plus the gamma series for the fraction: mean and variance hold."""
    rng = np.random.default_rng(7)
    n = 80_000
    for b, c in ((0.3, 0.0), (0.7, 2.0), (2.5, 0.0), (2.5, -1.0), (7.25, 0.5)):
        x = sample_polyagamma(np.full(n, b), c, rng)
        k2, k4 = _cumulant(2, b, c), _cumulant(4, b, c)
        assert abs(x.mean() - _mean(b, c)) < 5.0 * math.sqrt(k2 / n), (b, c)
        assert abs(x.var() - k2) < 5.0 * math.sqrt((k4 + 2.0 * k2 * k2) / n), (b, c)


# ---------------------------------------------------------------------- density
@pytest.mark.parametrize(
    "b, c", [(1.0, 0.0), (1.0, 3.0), (5.0, 0.5), (5.0, -2.0), (50.0, 0.0), (2.5, 1.0),
             (0.4, 0.0)]
)
def test_log_prob_integrates_to_one_with_right_mean(b, c):
    """quad over (0, x_hi): the mass beyond x_hi is below e^-40 (Chernoff, see _x_hi), so the
    integral over (0, ∞) is the same to 1e-17 — and the far tail, where the series needs
    thousands of digits, is never evaluated."""
    f = _density(b, c)
    m, hi = _mean(b, c), _x_hi(b, c)
    opts = {"limit": 200, "epsabs": 1e-13, "epsrel": 1e-11, "points": [m / 2, m, 2 * m]}
    total, err = integrate.quad(f, 0.0, hi, **opts)
    assert total == pytest.approx(1.0, abs=1e-9), err
    first = integrate.quad(lambda x: x * f(x), 0.0, hi, **opts)[0]
    assert first == pytest.approx(m, rel=1e-9)
    second = integrate.quad(lambda x: (x - m) ** 2 * f(x), 0.0, hi, **opts)[0]
    assert second == pytest.approx(_cumulant(2, b, c), rel=1e-8)


def test_log_density_matches_high_precision_series():
    """Against the same series summed by mpmath at 300 digits (an independent evaluation),
    including the values our float64 path hands to decimal arithmetic (large b, right tail)."""
    mp = pytest.importorskip("mpmath")

    def ref(x: float, b: float) -> float:
        with mp.workdps(300):
            X, B = mp.mpf(x), mp.mpf(b)
            s, n = mp.mpf(0), 0
            while True:
                t = mp.gamma(n + B) / mp.gamma(n + 1) * (2 * n + B) * mp.exp(-(2 * n + B) ** 2
                                                                             / (8 * X))
                s += t if n % 2 == 0 else -t
                if n > 3 * mp.sqrt(X) + B and t < abs(s) * mp.mpf(10) ** -30:
                    break
                n += 1
            return float(mp.log(2 ** (B - 1) / mp.gamma(B) / mp.sqrt(2 * mp.pi * X**3) * s))

    cases = [(0.01, 1.0), (0.3, 1.0), (5.0, 1.0), (40.0, 1.0), (0.7, 2.5), (9.0, 2.5),
             (0.05, 0.3), (3.0, 0.3), (12.5, 50.0), (30.0, 50.0), (50.0, 200.0), (0.2, 7.0)]
    x = np.array([cc[0] for cc in cases])
    b = np.array([cc[1] for cc in cases])
    got = polyagamma_log_density(x, b)  # one vectorised call, mixed float/decimal paths
    want = np.array([ref(xi, bi) for xi, bi in cases])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    # the tilt: log p(x | b, c) = b log cosh(c/2) − c²x/2 + log p(x | b, 0)
    tilted = polyagamma_log_density(x, b, -1.7)
    np.testing.assert_allclose(tilted, want + b * math.log(math.cosh(0.85)) - 1.445 * x,
                               rtol=0, atol=1e-10)


@pytest.mark.parametrize("b, c", [(1.0, 0.0), (5.0, -2.0), (50.0, 0.5), (2.5, 1.0)])
def test_samples_pass_ks_test_against_density_cdf(b, c):
    """CDF by Gauss–Legendre integration of the density over 200 cells, denser near the lower
    end (exact to ~1e-12 at the cell edges), monotone cubic interpolation between them."""
    hi = _x_hi(b, c)
    m, s = _mean(b, c), math.sqrt(_var(b, c))
    lo = max(0.0, m - 12.0 * s) if b >= 5 else 0.0  # below lo the mass is < 1e-20
    edges = lo + (hi - lo) * np.linspace(0.0, 1.0, 201) ** 2
    nodes, weights = np.polynomial.legendre.leggauss(12)
    half = 0.5 * np.diff(edges)
    pts = (edges[:-1] + half)[:, None] + half[:, None] * nodes
    dens = np.exp(polyagamma_log_density(pts, b, c))
    cdf_edges = np.concatenate([[0.0], np.cumsum((dens * weights).sum(1) * half)])
    assert cdf_edges[-1] == pytest.approx(1.0, abs=1e-9)
    spline = interpolate.PchipInterpolator(edges, cdf_edges)

    def cdf(x):
        return np.clip(spline(np.clip(x, lo, hi)), 0.0, 1.0)

    rng = np.random.default_rng(int(10 * b) + 3)
    x = sample_polyagamma(np.full(4000, b), c, rng)
    assert stats.kstest(x, cdf).pvalue > 1e-3
    if b == 1.0:  # power: the package's saddle method is ~5 % biased at b = 1 (measured)
        biased = sample_polyagamma(np.full(20_000, b), c, rng, method="saddle")
        assert stats.kstest(biased, cdf).pvalue < 1e-6


@pytest.mark.parametrize("b", [1.0, 3.0, 20.0])
def test_exponential_tilting_identity(b):
    """E_{PG(b,0)}[exp(−c²ω/2)] = cosh(c/2)^{−b}: by quadrature of our density and by Monte
    Carlo over our draws (5 standard errors)."""
    f = _density(b, 0.0)
    hi, m = _x_hi(b, 0.0), b / 4.0
    rng = np.random.default_rng(int(b))
    draws = sample_polyagamma(np.full(100_000, b), 0.0, rng)
    for c in (0.5, 1.5, -3.0):
        want = math.cosh(c / 2.0) ** -b
        got = integrate.quad(lambda x, c=c: math.exp(-c * c * x / 2.0) * f(x), 0.0, hi,
                             limit=200,
                             epsabs=1e-14, epsrel=1e-11, points=[m / 2, m, 2 * m])[0]
        assert got == pytest.approx(want, rel=1e-9)
        g = np.exp(-c * c * draws / 2.0)
        assert abs(g.mean() - want) < 5.0 * g.std() / math.sqrt(g.size)


def test_log_density_edge_values_and_give_up():
    lp = polyagamma_log_density([-1.0, 0.0, np.inf, np.nan, 1e-300, 1e-320], 2.0, 0.5)
    assert lp[:3].tolist() == [-np.inf] * 3 and np.isnan(lp[3])
    # tiny x: log p ≈ −b²/(8x) is finite until b²/(8x) overflows
    assert lp[4] == pytest.approx(-4.0 / 8e-300, rel=1e-12) and lp[5] == -np.inf
    # b = 2·10⁴ near its mean: the series would need > 2000 digits -> NaN and a warning
    with pytest.warns(RuntimeWarning, match="digits"):
        assert np.isnan(polyagamma_log_density(5000.0, 20_000.0))


# ---------------------------------------------------------------------- Pyro / torch
def test_pyro_sample_seeded_batched_and_traced():
    b = torch.tensor([1.0, 4.0, 30.0], dtype=D64)
    c = torch.tensor([[0.0], [-1.5]], dtype=D64)
    d = PolyaGamma(b, c)
    assert d.batch_shape == (2, 3) and d.event_shape == ()
    pyro.set_rng_seed(3)
    x = d.sample((5,))
    pyro.set_rng_seed(3)
    y = d.sample((5,))
    assert x.shape == (5, 2, 3) and x.dtype == D64 and torch.equal(x, y)
    assert not torch.equal(x, d.sample((5,)))
    torch.testing.assert_close(
        d.log_prob(x), torch.tensor(polyagamma_log_density(x.numpy(), b.numpy(), c.numpy())),
        rtol=0, atol=1e-12,
    )
    e = PolyaGamma(torch.tensor(2.0, dtype=D64), torch.tensor(0.3, dtype=D64)).expand([4])
    assert e.batch_shape == (4,) and e.sample().shape == (4,)

    def story():
        with pyro.plate("docs", 3):
            return pyro.sample("lam", PolyaGamma(b, torch.tensor(0.7, dtype=D64)))

    tr = poutine.trace(story).get_trace()
    lam = tr.nodes["lam"]["value"]
    want = polyagamma_log_density(lam.numpy(), b.numpy(), 0.7).sum()
    assert tr.log_prob_sum().item() == pytest.approx(want, rel=1e-12)
    cond = poutine.condition(story, data={"lam": torch.tensor([0.2, 1.0, 7.0], dtype=D64)})
    tr = poutine.trace(cond).get_trace()
    assert tr.log_prob_sum().item() == pytest.approx(
        polyagamma_log_density([0.2, 1.0, 7.0], b.numpy(), 0.7).sum(), rel=1e-12)
    # gradients through the tilt: d/dc [b log cosh(c/2) − c²x/2] = (b/2) tanh(c/2) − c x
    cc = torch.tensor(1.3, dtype=D64, requires_grad=True)
    PolyaGamma(torch.tensor(3.0, dtype=D64), cc).log_prob(torch.tensor(0.6, dtype=D64)).backward()
    assert cc.grad.item() == pytest.approx(1.5 * math.tanh(0.65) - 1.3 * 0.6, rel=1e-12)
    # values outside the support: -inf without validation, an error with it
    nv = PolyaGamma(1.0, 0.0, validate_args=False)
    assert torch.isneginf(nv.log_prob(torch.tensor([-1.0, 0.0, math.inf]))).all()
    with pytest.raises(ValueError):
        PolyaGamma(1.0, 0.0, validate_args=True).log_prob(torch.tensor(-1.0))
    assert isinstance(d, dist.TorchDistribution) and not d.has_rsample


@pytest.mark.parametrize(
    "b, c, match",
    [(0.0, 1.0, "b must be > 0"), (-2.0, 0.0, "b must be > 0"),
     (float("nan"), 0.0, "b must be finite"), (float("inf"), 0.0, "b must be finite"),
     (1.0, float("nan"), "c must be finite"), (1.0, float("-inf"), "c must be finite"),
     ([1.0, 2.0], [1.0, 2.0, 3.0], "do not broadcast")],
)
def test_bad_parameters_raise_value_error(b, c, match):
    with pytest.raises(ValueError, match=match):
        PolyaGamma(torch.tensor(b), torch.tensor(c))
    with pytest.raises(ValueError, match=match):
        sample_polyagamma(b, c, np.random.default_rng(0))
    with pytest.raises(ValueError, match=match):
        polyagamma_log_density(1.0, b, c)


def test_numpy_sampler_shapes_methods_and_seeding():
    rng = np.random.default_rng(0)
    out = sample_polyagamma(np.array([[1.0], [2.0]]), np.array([0.0, 1.0, 2.0]), rng)
    assert out.shape == (2, 3) and out.dtype == np.float64 and (out > 0).all()
    assert sample_polyagamma(3, 0.5, 1).shape == ()
    assert sample_polyagamma(np.ones(0), 0.0, 1).shape == (0,)
    a = sample_polyagamma(np.full(50, 5.0), 0.3, np.random.default_rng(9))
    np.testing.assert_array_equal(a, sample_polyagamma(np.full(50, 5.0), 0.3, 9))
    for method in PG_METHODS:
        x = sample_polyagamma(np.full(2000, 4.0), 1.0, rng, method=method)
        assert x.shape == (2000,) and abs(x.mean() - _mean(4.0, 1.0)) < 0.05
    with pytest.raises(ValueError, match="unknown method"):
        sample_polyagamma(1.0, 0.0, rng, method="fast")
    with pytest.raises(ValueError, match="unknown method"):
        PolyaGamma(1.0, 0.0, method="fast")
    with pytest.raises(ValueError, match="integer b"):
        sample_polyagamma(1.5, 0.0, rng, method="devroye")
    # the sampler method travels with the distribution (and through expand)
    pyro.set_rng_seed(0)
    h = PolyaGamma(torch.tensor(3.0), 0.0, method="hybrid").expand([10])
    assert h.method == "hybrid" and h.sample().shape == (10,)
