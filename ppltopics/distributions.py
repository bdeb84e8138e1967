"""Distributions the generative stories need and Pyro lacks (DESIGN §6).

* :class:`InverseWishart` — ``Σ ~ IW(Ψ, ν)``, a Pyro ``TorchDistribution`` (so a
  ``torch.distributions.Distribution``) with event shape (M, M): ``pyro.sample`` and
  ``pyro.plate`` work with it, ``expand([K])`` gives K topics sharing the prior.
* :class:`NormalInverseWishart` — ``(μ, Σ) ~ NIW(μ0, κ0, Ψ0, ν0)``, i.e.
  ``Σ ~ IW(Ψ0, ν0)`` and ``μ | Σ ~ N(μ0, Σ/κ0)``.  A pair is not one tensor, so it is not a
  ``Distribution``: the stories draw it as two Pyro sites (``pyro_sample``), which keeps every
  site an ordinary distribution for tracing, conditioning and ``log_prob_sum``.  The object
  gives ``sample() -> (mu, Sigma)``, ``log_prob(mu, Sigma)`` and the conjugate ``posterior``.
* :class:`PolyaGamma` — ``ω ~ PG(b, c)`` (Polson, Scott & Windle 2013), a Pyro
  ``TorchDistribution``: draws from the ``polyagamma`` package (Devroye's exact sampler for
  integer b), ``log_prob`` by the alternating series of PG(b, 0) tilted by ``c``;
  :func:`sample_polyagamma` is the plain-numpy sampler the Gibbs kernels call.

Parameters are validated on construction (``validate_args=False`` skips it) with
``ValueError`` messages naming the parameter: κ0 ≤ 0, ν ≤ M − 1, Ψ not symmetric positive
definite, NaN/inf anywhere, inconsistent shapes.
"""

from __future__ import annotations

import decimal
import math
import warnings
from collections.abc import Sequence

import numpy as np
import pyro
import torch
from pyro.distributions import MultivariateNormal, TorchDistribution
from scipy.special import gammaln
from torch.distributions import Chi2, Distribution, constraints

__all__ = ["InverseWishart", "NormalInverseWishart", "PolyaGamma", "sample_polyagamma",
           "polyagamma_log_density"]

_LOG_2 = math.log(2.0)

Shape = torch.Size | Sequence[int]
_NO_SHAPE = torch.Size()


# ----------------------------------------------------------------------------- validation
def _float_dtype(*values) -> torch.dtype:
    """The floating dtype of the first floating tensor among ``values``, else the default."""
    for v in values:
        if isinstance(v, torch.Tensor) and v.is_floating_point():
            return v.dtype
    return torch.get_default_dtype()


def _as_tensor(value, dtype: torch.dtype, device=None) -> torch.Tensor:
    return torch.as_tensor(value, dtype=dtype, device=device)


def _check_finite(name: str, value: torch.Tensor) -> None:
    value = value.detach()
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} contains NaN or inf")


def _check_spd(name: str, psi: torch.Tensor) -> torch.Tensor:
    """Validate a (batch of) symmetric positive definite matrices; return its lower factor."""
    if psi.dim() < 2 or psi.shape[-1] != psi.shape[-2] or psi.shape[-1] == 0:
        raise ValueError(f"{name} must be a (batch of) square M×M matrices, got {tuple(psi.shape)}")
    _check_finite(name, psi)
    plain = psi.detach()
    tol = math.sqrt(torch.finfo(psi.dtype).eps) * max(1.0, float(plain.abs().max()))
    asym = float((plain - plain.mT).abs().max())
    if asym > tol:
        raise ValueError(
            f"{name} must be symmetric positive definite: it is not symmetric "
            f"(max |{name} - {name}^T| = {asym:.3g})"
        )
    tril, info = torch.linalg.cholesky_ex(psi)  # on psi itself: the factor keeps its gradient
    if bool((info != 0).any()):
        raise ValueError(f"{name} must be symmetric positive definite: Cholesky failed")
    return tril


def _check_nu(name: str, nu: torch.Tensor, M: int) -> None:
    nu = nu.detach()
    _check_finite(name, nu)
    if bool((nu <= M - 1).any()):
        raise ValueError(f"{name} must be > M - 1 = {M - 1}, got {nu.min().item():.6g}")


def _logdet_tril(tril: torch.Tensor) -> torch.Tensor:
    return 2.0 * tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


# ----------------------------------------------------------------------------- IW
class InverseWishart(TorchDistribution):
    r"""Inverse-Wishart ``IW(Ψ, ν)`` on M×M symmetric positive definite matrices.

    Density (Gelman et al., BDA3, Table A.1; ``scipy.stats.invwishart``)::

        log p(Σ) = (ν/2) log|Ψ| − (νM/2) log 2 − log Γ_M(ν/2)
                   − ((ν + M + 1)/2) log|Σ| − ½ tr(Ψ Σ⁻¹),      ν > M − 1.

    Sampling by the Bartlett decomposition: ``A`` lower triangular with
    ``A_ii = sqrt(χ²_{ν−i})`` (i = 0..M−1) and ``A_ij ~ N(0, 1)`` below the diagonal gives
    ``A Aᵀ ~ W(ν, I)``; with ``Ψ = U Uᵀ``, ``Σ = U A⁻ᵀ A⁻¹ Uᵀ`` has
    ``Σ⁻¹ = (U⁻ᵀA)(U⁻ᵀA)ᵀ ~ W(ν, Ψ⁻¹)``, i.e. ``Σ ~ IW(Ψ, ν)``.  Reparameterised
    (``rsample``) through the Gamma draws.  ``E[Σ] = Ψ/(ν − M − 1)`` for ν > M + 1.

    ``psi`` has shape ``batch + (M, M)``; ``nu`` broadcasts against ``batch``.
    """

    arg_constraints = {"psi": constraints.positive_definite, "nu": constraints.positive}
    support = constraints.positive_definite
    has_rsample = True

    def __init__(self, psi, nu, validate_args: bool | None = None):
        dtype = _float_dtype(psi, nu)
        psi = _as_tensor(psi, dtype)
        nu = _as_tensor(nu, dtype, psi.device)
        if validate_args is not False:
            tril = _check_spd("psi", psi)
            _check_nu("nu", nu, psi.shape[-1])
        else:
            tril = torch.linalg.cholesky(psi)
        M = psi.shape[-1]
        try:
            batch_shape = torch.broadcast_shapes(psi.shape[:-2], nu.shape)
        except RuntimeError as err:
            raise ValueError(
                f"batch shapes of psi {tuple(psi.shape[:-2])} and nu {tuple(nu.shape)} "
                "do not broadcast"
            ) from err
        self.psi = psi.expand(batch_shape + (M, M))
        self.nu = nu.expand(batch_shape)
        self._psi_tril = tril.expand(batch_shape + (M, M))
        super().__init__(batch_shape, torch.Size((M, M)), validate_args=validate_args)

    def expand(self, batch_shape: Shape, _instance=None) -> InverseWishart:
        new = self._get_checked_instance(InverseWishart, _instance)
        batch_shape = torch.Size(batch_shape)
        M = self.event_shape[-1]
        new.psi = self.psi.expand(batch_shape + (M, M))
        new.nu = self.nu.expand(batch_shape)
        new._psi_tril = self._psi_tril.expand(batch_shape + (M, M))
        super(InverseWishart, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def psi_tril(self) -> torch.Tensor:
        """Lower Cholesky factor of Ψ."""
        return self._psi_tril

    @property
    def mean(self) -> torch.Tensor:
        """Ψ/(ν − M − 1); NaN where ν ≤ M + 1 (no finite mean)."""
        M = self.event_shape[-1]
        denom = (self.nu - M - 1)[..., None, None]
        return torch.where(denom > 0, self.psi / denom, torch.full_like(self.psi, math.nan))

    @property
    def mode(self) -> torch.Tensor:
        """Ψ/(ν + M + 1)."""
        M = self.event_shape[-1]
        return self.psi / (self.nu + M + 1)[..., None, None]

    @property
    def variance(self) -> torch.Tensor:
        """Elementwise Var(Σ_ij) for ν > M + 3 (NaN otherwise)::

        [(ν−M+1) Ψ_ij² + (ν−M−1) Ψ_ii Ψ_jj] / [(ν−M)(ν−M−1)²(ν−M−3)].
        """
        M = self.event_shape[-1]
        nu = self.nu[..., None, None]
        d = self.psi.diagonal(dim1=-2, dim2=-1)
        num = (nu - M + 1) * self.psi**2 + (nu - M - 1) * d[..., :, None] * d[..., None, :]
        den = (nu - M) * (nu - M - 1) ** 2 * (nu - M - 3)
        return torch.where(den > 0, num / den, torch.full_like(num, math.nan))

    def rsample(self, sample_shape: Shape = _NO_SHAPE) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)  # sample + batch + (M, M)
        M = self.event_shape[-1]
        lead = shape[:-2]
        psi = self.psi
        offsets = torch.arange(M, dtype=psi.dtype, device=psi.device)
        chi2_df = (self.nu[..., None] - offsets).expand(lead + (M,))
        diag = Chi2(chi2_df).rsample().sqrt()
        noise = torch.randn(shape, dtype=psi.dtype, device=psi.device)
        A = torch.tril(noise, diagonal=-1) + torch.diag_embed(diag)
        # G = A⁻¹ Uᵀ, Σ = Gᵀ G = U A⁻ᵀ A⁻¹ Uᵀ
        G = torch.linalg.solve_triangular(A, self._psi_tril.mT.expand(shape), upper=False)
        sigma = G.mT @ G
        return 0.5 * (sigma + sigma.mT)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        M = self.event_shape[-1]
        nu = self.nu
        value_tril = torch.linalg.cholesky(value)
        shape = torch.broadcast_shapes(value_tril.shape, self._psi_tril.shape)
        # tr(Ψ Σ⁻¹) = ‖L_Σ⁻¹ U‖_F² with Σ = L_Σ L_Σᵀ, Ψ = U Uᵀ
        W = torch.linalg.solve_triangular(
            value_tril.expand(shape), self._psi_tril.expand(shape), upper=False
        )
        trace = W.pow(2).sum((-2, -1))
        return (
            0.5 * nu * _logdet_tril(self._psi_tril)
            - 0.5 * nu * M * _LOG_2
            - torch.mvlgamma(0.5 * nu, p=M)
            - 0.5 * (nu + M + 1) * _logdet_tril(value_tril)
            - 0.5 * trace
        )


# ----------------------------------------------------------------------------- NIW
class NormalInverseWishart:
    r"""Normal-inverse-Wishart prior ``(μ, Σ) ~ NIW(μ0, κ0, Ψ0, ν0)``::

        Σ ~ IW(Ψ0, ν0),    μ | Σ ~ N(μ0, Σ/κ0),
        log p(μ, Σ) = log IW(Σ; Ψ0, ν0) + log N(μ; μ0, Σ/κ0).

    Shapes: ``mu0`` ``batch + (M,)``, ``psi0`` ``batch + (M, M)``, ``kappa0``/``nu0``
    broadcast against ``batch``.  Not a ``torch.distributions.Distribution`` (its value is a
    pair); in a Pyro story call :meth:`pyro_sample`, which makes the two ordinary sites.
    """

    def __init__(self, mu0, kappa0, psi0, nu0, validate_args: bool | None = None):
        dtype = _float_dtype(mu0, psi0, kappa0, nu0)
        psi0 = _as_tensor(psi0, dtype)
        device = psi0.device
        mu0 = _as_tensor(mu0, dtype, device)
        kappa0 = _as_tensor(kappa0, dtype, device)
        nu0 = _as_tensor(nu0, dtype, device)
        if validate_args is not False:
            if mu0.dim() < 1:
                raise ValueError(f"mu0 must be a (batch of) vectors, got shape {tuple(mu0.shape)}")
            _check_finite("mu0", mu0)
            _check_finite("kappa0", kappa0)
            if bool((kappa0 <= 0).any()):
                raise ValueError(f"kappa0 must be > 0, got {kappa0.min().item():.6g}")
            if psi0.dim() >= 2 and psi0.shape[-1] != mu0.shape[-1]:
                raise ValueError(
                    f"psi0 must be M×M with M = len(mu0) = {mu0.shape[-1]}, "
                    f"got {tuple(psi0.shape)}"
                )
            _check_spd("psi0", psi0)
            _check_nu("nu0", nu0, psi0.shape[-1])
        self.inverse_wishart = InverseWishart(psi0, nu0, validate_args=False)
        # checked above; samples passed to log_prob follow torch's validation setting
        self.inverse_wishart._validate_args = (
            validate_args if validate_args is not None else Distribution._validate_args
        )
        M = psi0.shape[-1]
        try:
            batch_shape = torch.broadcast_shapes(
                mu0.shape[:-1], kappa0.shape, self.inverse_wishart.batch_shape
            )
        except RuntimeError as err:
            raise ValueError(
                f"batch shapes of mu0 {tuple(mu0.shape[:-1])}, kappa0 {tuple(kappa0.shape)} and "
                f"psi0/nu0 {tuple(self.inverse_wishart.batch_shape)} do not broadcast"
            ) from err
        self.batch_shape = batch_shape
        self.mu0 = mu0.expand(batch_shape + (M,))
        self.kappa0 = kappa0.expand(batch_shape)
        if self.inverse_wishart.batch_shape != batch_shape:
            self.inverse_wishart = self.inverse_wishart.expand(batch_shape)

    # parameters ---------------------------------------------------------------------------
    @property
    def psi0(self) -> torch.Tensor:
        return self.inverse_wishart.psi

    @property
    def nu0(self) -> torch.Tensor:
        return self.inverse_wishart.nu

    @property
    def dim(self) -> int:
        return self.mu0.shape[-1]

    def expand(self, batch_shape: Shape) -> NormalInverseWishart:
        """The same prior for every element of ``batch_shape`` (e.g. ``[K]`` topics)."""
        batch_shape = torch.Size(batch_shape)
        M = self.dim
        return NormalInverseWishart(
            self.mu0.expand(batch_shape + (M,)),
            self.kappa0.expand(batch_shape),
            self.psi0.expand(batch_shape + (M, M)),
            self.nu0.expand(batch_shape),
            validate_args=False,
        )

    def conditional(self, sigma: torch.Tensor) -> MultivariateNormal:
        """``p(μ | Σ) = N(μ0, Σ/κ0)``."""
        return MultivariateNormal(self.mu0, covariance_matrix=sigma / self.kappa0[..., None, None])

    # draws and densities ------------------------------------------------------------------
    def sample(self, sample_shape: Shape = _NO_SHAPE) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, Sigma)`` with shapes ``sample + batch + (M,)`` and ``… + (M, M)``."""
        with torch.no_grad():
            sigma = self.inverse_wishart.sample(sample_shape)
            mu = self.conditional(sigma).sample()
        return mu, sigma

    def log_prob(self, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """``log IW(Σ; Ψ0, ν0) + log N(μ; μ0, Σ/κ0)``."""
        return self.inverse_wishart.log_prob(sigma) + self.conditional(sigma).log_prob(mu)

    def pyro_sample(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Two Pyro sites: ``{name}_cov`` ~ IW(Ψ0, ν0), then ``{name}_mean`` ~ N(μ0, Σ/κ0).

        Use inside ``pyro.plate("topics", K)`` for K topics; returns ``(mu, Sigma)``.
        """
        sigma = pyro.sample(f"{name}_cov", self.inverse_wishart)
        mu = pyro.sample(f"{name}_mean", self.conditional(sigma))
        return mu, sigma

    def posterior(self, x: torch.Tensor) -> NormalInverseWishart:
        """Conjugate update by ``n`` observations ``x`` (shape ``batch + (n, M)``), DESIGN §5::

        κ_n = κ0 + n, ν_n = ν0 + n, μ_n = (κ0 μ0 + n x̄)/κ_n,
        Ψ_n = Ψ0 + S + κ0 n/(κ0 + n) (x̄ − μ0)(x̄ − μ0)ᵀ,  S = Σ (x_i − x̄)(x_i − x̄)ᵀ.
        """
        x = _as_tensor(x, self.mu0.dtype, self.mu0.device)
        if x.dim() < 2 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape (..., n, {self.dim}), got {tuple(x.shape)}")
        n = x.shape[-2]
        if n == 0:
            return self
        _check_finite("x", x)
        xbar = x.mean(-2)
        xc = x - xbar[..., None, :]
        scatter = xc.mT @ xc
        kappa_n = self.kappa0 + n
        d = xbar - self.mu0
        psi_n = self.psi0 + scatter + (self.kappa0 * n / kappa_n)[..., None, None] * (
            d[..., :, None] * d[..., None, :]
        )
        mu_n = (self.kappa0[..., None] * self.mu0 + n * xbar) / kappa_n[..., None]
        return NormalInverseWishart(
            mu_n, kappa_n, 0.5 * (psi_n + psi_n.mT), self.nu0 + n, validate_args=False
        )


# ----------------------------------------------------------------------------- Pólya-Gamma
#: Samplers of :func:`sample_polyagamma`: ``"exact"`` (ours, the default) and the methods of
#: the ``polyagamma`` package (``"hybrid"`` is its default choice, ``method=None`` there).
PG_METHODS = ("exact", "hybrid", "devroye", "alternate", "saddle", "gamma")
#: Truncation of the PG(b, 0) series: stop once the terms decrease and the last one is below
#: this fraction of the partial sum (the remainder of an alternating series with decreasing
#: terms is smaller than its first omitted term).
PG_SERIES_RTOL = 1e-16
#: Most terms evaluated for one value before giving up (NaN and a RuntimeWarning).
PG_SERIES_MAX_TERMS = 1_000_000
#: Most decimal digits spent on one ill-conditioned value before giving up (NaN + warning).
PG_SERIES_MAX_DIGITS = 2_000
#: Gamma terms of the series representation kept for the fractional part of a non-integer b.
PG_FRACTION_TERMS = 100
#: Estimated relative rounding error of the float64 series above which it is redone in
#: decimal arithmetic.
_PG_FLOAT_RTOL = 1e-11
_LOG_2PI = math.log(2.0 * math.pi)
_EPS64 = float(np.finfo(np.float64).eps)


def _pg_params(b, c) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """``b`` and ``c`` as float64 arrays, checked (b > 0 finite, c finite, broadcastable)."""
    try:
        b = np.asarray(b.detach().cpu() if isinstance(b, torch.Tensor) else b, dtype=np.float64)
        c = np.asarray(c.detach().cpu() if isinstance(c, torch.Tensor) else c, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"b and c must be numeric: {exc}") from None
    if not np.all(np.isfinite(b)):
        raise ValueError("b must be finite and > 0, got NaN or inf")
    if b.size and float(b.min()) <= 0:
        raise ValueError(f"b must be > 0, got {float(b.min()):.6g}")
    if not np.all(np.isfinite(c)):
        raise ValueError("c must be finite, got NaN or inf")
    try:
        shape = np.broadcast_shapes(b.shape, c.shape)
    except ValueError:
        raise ValueError(f"shapes of b {b.shape} and c {c.shape} do not broadcast") from None
    return b, c, shape


def _pg_unit_mean(c: np.ndarray) -> np.ndarray:
    """E[PG(1, c)] = tanh(c/2)/(2c), 1/4 at c = 0 (series below |c| = 1e-3)."""
    u = 0.5 * np.abs(c)
    small = u < 5e-4
    safe = np.where(small, 1.0, u)
    return np.where(small, 0.25 * (1.0 - u * u / 3.0), 0.25 * np.tanh(safe) / safe)


def _pg_fraction(h: np.ndarray, c: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """PG(h, c) for 0 < h < 1 from its series of gammas (Polson, Scott & Windle 2013)::

        PG(h, c) = (1/(2π²)) Σ_{k≥1} g_k / ((k − ½)² + c²/(4π²)),   g_k ~ Gamma(h, 1),

    with the first :data:`PG_FRACTION_TERMS` terms drawn and the rest replaced by its mean,
    so the mean is exact and the variance short by less than ``h/(12π⁴T³)`` (≈ 1e-9·h).
    """
    k2 = (np.arange(1, PG_FRACTION_TERMS + 1) - 0.5) ** 2
    out = np.empty(h.shape)
    for s in range(0, h.size, 8192):
        hh, cc = h[s : s + 8192], c[s : s + 8192]
        w = 1.0 / (2.0 * math.pi**2 * (k2 + (cc / (2.0 * math.pi))[:, None] ** 2))
        g = rng.standard_gamma(np.broadcast_to(hh[:, None], w.shape))
        out[s : s + 8192] = (g * w).sum(1) + hh * (_pg_unit_mean(cc) - w.sum(1))
    return out


def sample_polyagamma(b, c=0.0, rng=None, *, method: str = "exact") -> np.ndarray:
    """Draws of ``PG(b, c)``, vectorised over the broadcast shape of ``b`` and ``c`` (numpy).

    Parameters
    ----------
    b, c
        Shape ``b > 0`` (an integer ``N_d`` in the CGTM η step) and tilt ``c`` (finite), any
        broadcastable array shapes.
    rng
        A ``numpy.random.Generator`` (used as is), or anything ``np.random.default_rng``
        accepts.
    method
        ``"exact"`` (default): Devroye's exact sampler (``polyagamma``, ``method="devroye"``,
        cost O(b) per draw) for ⌊b⌋, plus, for a non-integer b, the fractional part from
        the gamma series of :func:`_pg_fraction` (PG(b1, c) + PG(b2, c) = PG(b1 + b2, c) for
        independent draws).  Other values are passed to ``polyagamma.random_polyagamma``:
        ``"hybrid"`` (its default; fast for large b but biased by 0.1–0.8 % for small
        b > 1, DESIGN §6), ``"devroye"`` (integer b only), ``"alternate"``, ``"saddle"``,
        ``"gamma"`` — measured here with polyagamma 2.0.2, all but devroye are visibly biased
        somewhere (alternate ≈ +0.7 % at c = 0, saddle −5 % at b = 1, gamma −0.1 %).

    Returns a float64 array of the broadcast shape (0-d for scalar inputs).  Raises
    ``ValueError`` naming the problem: b ≤ 0, NaN/inf in b or c, shapes that do not
    broadcast, an unknown method.
    """
    b, c, shape = _pg_params(b, c)
    if method not in PG_METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {PG_METHODS}")
    try:
        from polyagamma import random_polyagamma
    except ImportError as exc:  # pragma: no cover - polyagamma is a dependency
        raise ImportError("PolyaGamma sampling needs the `polyagamma` package "
                          "(pip install polyagamma)") from exc
    rng = np.random.default_rng(rng)
    bb = np.broadcast_to(b, shape).ravel()
    cc = np.broadcast_to(c, shape).ravel()
    out = np.zeros(bb.size)
    if bb.size == 0:
        return out.reshape(shape)
    if method == "exact":
        whole = np.floor(bb)
        frac = bb - whole
        m = whole >= 1
        if m.any():
            out[m] = random_polyagamma(whole[m], cc[m], method="devroye", random_state=rng)
        f = frac > 0
        if f.any():
            out[f] += _pg_fraction(frac[f], cc[f], rng)
    else:
        if method == "devroye" and not np.all(bb == np.floor(bb)):
            raise ValueError("method='devroye' needs integer b; use method='exact'")
        out[:] = random_polyagamma(bb, cc, method=None if method == "hybrid" else method,
                                   random_state=rng)
    return out.reshape(shape)


def _log_cosh(u):
    """log cosh(u) without overflow (numpy or torch)."""
    if isinstance(u, torch.Tensor):
        a = u.abs()
        return a + torch.log1p(torch.exp(-2.0 * a)) - _LOG_2
    a = np.abs(u)
    return a + np.log1p(np.exp(-2.0 * a)) - _LOG_2


def _pg0_series_float(x: np.ndarray, b: np.ndarray):
    """The PG(b, 0) series in float64, vectorised over values (module notes at PolyaGamma).

    Sums ``s_n = (−1)ⁿ a_n (2n + b) exp(−(2n + b)²/(8x))``, ``a_n = Γ(n+b)/(Γ(b) n!)``, scaled
    by its largest term.  Returns ``log Σ s_n``, a mask of the values whose float64 sum is
    not trustworthy (non-positive, or estimated relative rounding error above
    ``_PG_FLOAT_RTOL``: ``Σ_n |s_n|·ε·(size of the log-term's varying part) / |Σ s_n|``),
    an estimate of the decimal digits the cancellation costs (NaN when unknown) and
    ``log Σ|s_n|``.  The part of the log-terms common to all of them, −b²/(8x) − log Γ(b),
    only shifts log p and is rounded like any float: it is left out of the estimate.
    """
    num = x.size
    logS = np.full(num, np.nan)
    hard = np.zeros(num, dtype=bool)
    lost = np.full(num, np.nan)
    logA = np.full(num, np.nan)
    M = np.full(num, -np.inf)
    S = np.zeros(num)
    A = np.zeros(num)
    E = np.zeros(num)
    lgb = gammaln(b)
    idx = np.arange(num)
    n0, chunk = 0, 8
    log_rtol = math.log(PG_SERIES_RTOL)
    while idx.size:
        n = n0 + np.arange(chunk, dtype=np.float64)
        xi, bi = x[idx, None], b[idx, None]
        m = 2.0 * n + bi
        big = gammaln(n + bi)
        quad = m * m / (8.0 * xi)
        lt = big - lgb[idx, None] - gammaln(n + 1.0) + np.log(m) - quad
        newM = np.maximum(M[idx], lt.max(1))
        scale = np.exp(M[idx] - newM)
        w = np.exp(lt - newM[:, None])
        sign = np.where(np.arange(n0, n0 + chunk) % 2 == 0, 1.0, -1.0)
        S[idx] = S[idx] * scale + w @ sign
        A[idx] = A[idx] * scale + w.sum(1)
        M[idx] = newM
        quad0 = bi * bi / (8.0 * xi)
        E[idx] = E[idx] * scale + (w * (np.abs(big - lgb[idx, None]) + (quad - quad0)
                                        + np.log(m) + 4.0)).sum(1)
        Si, Ai = S[idx], A[idx]
        rel_last = lt[:, -1] - newM
        decreasing = lt[:, -1] < lt[:, -2]
        with np.errstate(divide="ignore"):
            fine = decreasing & (rel_last < log_rtol + np.log(np.abs(Si)))
        # an ill-conditioned sum (goes to decimal anyway): stop once the terms are negligible
        garbage = decreasing & (rel_last < log_rtol + np.log(Ai) - 20.0)
        n_terms = n0 + chunk
        stop = fine | garbage | (n_terms >= PG_SERIES_MAX_TERMS)
        if stop.any():
            j = idx[stop]
            Sj, Aj = S[j], A[j]
            with np.errstate(divide="ignore", invalid="ignore"):
                cond = Aj / np.abs(Sj)
                err = 4.0 * _EPS64 * (E[j] + n_terms * Aj) / np.abs(Sj)
                logS[j] = np.log(Sj) + M[j]
                lost[j] = np.where((Sj > 0) & (cond < 1e12), np.log10(cond), np.nan)
            logA[j] = np.log(Aj) + M[j]
            hard[j] = ~(Sj > 0) | ~(err <= _PG_FLOAT_RTOL) | (n_terms >= PG_SERIES_MAX_TERMS)
            idx = idx[~stop]
        n0 += chunk
        chunk = min(2 * chunk, 4096)
    return logS, hard, lost, logA


def _pg0_series_decimal(x: float, b: float, digits: int) -> float:
    """``log Σ s_n`` (as in :func:`_pg0_series_float`) in decimal arithmetic, for one value.

    Starts with ``digits`` and raises the working precision until it exceeds the digits the
    cancellation costs (``log10 Σ|s_n| − log10 Σ s_n``) by 20 plus log10 of the number of
    terms.  Returns NaN with a RuntimeWarning beyond :data:`PG_SERIES_MAX_DIGITS` digits or
    :data:`PG_SERIES_MAX_TERMS` terms.
    """
    D = decimal.Decimal
    while digits <= PG_SERIES_MAX_DIGITS:
        with decimal.localcontext() as ctx:
            ctx.prec = digits
            ctx.Emax = decimal.MAX_EMAX
            ctx.Emin = decimal.MIN_EMIN
            X, B = D(x), D(b)
            e = (-(B * B) / (8 * X)).exp()  # exp(−(2n+b)²/(8x)) at n = 0
            r = (-(B + 1) / (2 * X)).exp()  # e_{n+1}/e_n at n = 0
            q = (-1 / X).exp()  # r_{n+1}/r_n
            rtol = D(PG_SERIES_RTOL)
            a, S, A, prev, n = D(1), D(0), D(0), None, 0
            while True:
                t = a * (2 * n + B) * e
                if t.is_zero():  # exp(−(2n+b)²/(8x)) below even decimal's range
                    break
                S = S + t if n % 2 == 0 else S - t
                A += t
                if prev is not None and t < prev and t <= rtol * abs(S):
                    break
                prev = t
                n += 1
                if n > PG_SERIES_MAX_TERMS:
                    warnings.warn(f"PG(b={b}, 0) series at x={x}: no convergence within "
                                  f"{PG_SERIES_MAX_TERMS} terms; log density set to NaN",
                                  RuntimeWarning, stacklevel=4)
                    return math.nan
                a = a * (n - 1 + B) / n
                e *= r
                r *= q
            if S > 0:
                need = float((A / S).log10()) + math.log10(n + 1) + 20.0
                if digits >= need:
                    return float(S.ln())
                digits = min(int(need) + 10, max(digits + 1, PG_SERIES_MAX_DIGITS))
            else:
                digits = min(2 * digits, max(digits + 1, PG_SERIES_MAX_DIGITS))
    return _pg_give_up(x, b)


def _pg_give_up(x: float, b: float) -> float:
    warnings.warn(f"PG(b={b}, 0) series at x={x} needs more than {PG_SERIES_MAX_DIGITS} "
                  "digits (far tail or very large b); log density set to NaN",
                  RuntimeWarning, stacklevel=5)
    return math.nan


def _pg0_log_density_saddle(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Saddle-point approximation of log p(x | b, 0) (only to size the decimal precision).

    Cumulant generating function ``K(t) = −b log cos(√(t/2))`` (t < π²/2; ``cosh`` of
    ``√(−t/2)`` for t < 0); ``K'(t*) = x`` is solved by bisection and
    ``log p ≈ K(t*) − t*x − ½ log(2π K''(t*))``.
    """

    def parts(t):
        u = np.sqrt(np.abs(t) / 2.0)
        us = np.where(u < 1e-4, 1.0, u)
        pos = t > 0
        tn = np.where(pos, np.tan(us), np.tanh(us))
        sec2 = np.where(pos, 1.0 / np.cos(us) ** 2, 1.0 / np.cosh(us) ** 2)
        k = np.where(pos, -np.log(np.cos(us)), -_log_cosh(us))
        m = tn / (4.0 * us)
        v = np.where(pos, us * sec2 - tn, tn - us * sec2) / (16.0 * us**3)
        small = u < 1e-4
        return (np.where(small, t / 4.0, k), np.where(small, 0.25, m),
                np.where(small, 1.0 / 24.0, v))

    target = x / b
    lo = -2.0 * (b / (4.0 * x) + 1.0) ** 2 - 1.0
    hi = np.full(x.shape, 0.5 * math.pi**2 * (1.0 - 1e-15))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for _ in range(64):
            mid = 0.5 * (lo + hi)
            above = parts(mid)[1] > target
            hi = np.where(above, mid, hi)
            lo = np.where(above, lo, mid)
        t = 0.5 * (lo + hi)
        k, _, v = parts(t)
    return b * k - t * x - 0.5 * np.log(2.0 * math.pi * b * np.maximum(v, 1e-300))


def _pg0_log_density(x: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log density of PG(b, 0) at 1-d ``x > 0`` (finite) with ``b > 0``."""
    out = np.full(x.shape, -np.inf)
    with np.errstate(over="ignore", divide="ignore"):
        live = b * b / (8.0 * x) < 1e300  # else exp(−b²/(8x)) is below any float: p = 0
    if not live.any():
        return out
    xs, bs = x[live], b[live]
    pref = (bs - 1.0) * _LOG_2 - 0.5 * _LOG_2PI - 1.5 * np.log(xs)
    logS, hard, lost, logA = _pg0_series_float(xs, bs)
    hard_idx = np.flatnonzero(hard)
    if hard_idx.size:
        # digits the cancellation costs, log10(Σ|s_n| / Σ s_n): from the float sum when it is
        # roughly right, else from the saddle-point approximation of log p
        lp = _pg0_log_density_saddle(xs[hard_idx], bs[hard_idx])
        lost_est = (logA[hard_idx] - (lp - pref[hard_idx])) / math.log(10.0)
        for j, i in enumerate(hard_idx):
            if lost_est[j] > PG_SERIES_MAX_DIGITS - 20:
                logS[i] = _pg_give_up(float(xs[i]), float(bs[i]))
                continue
            start = lost[i] if math.isfinite(lost[i]) else max(lost_est[j], 0.0)
            digits = int(min(start + 40, PG_SERIES_MAX_DIGITS))
            logS[i] = _pg0_series_decimal(float(xs[i]), float(bs[i]), digits)
    out[live] = pref + logS
    return out


def polyagamma_log_density(x, b, c=0.0) -> np.ndarray:
    r"""log density of ``PG(b, c)`` at ``x`` (numpy, float64, broadcast over x, b, c).

    ``p(x | b, c) = cosh(c/2)^b · exp(−c²x/2) · p(x | b, 0)`` with the alternating series of
    Polson, Scott & Windle (2013, JASA, §2; Biane, Pitman & Yor 2001)::

        p(x | b, 0) = (2^{b−1}/Γ(b)) Σ_{n≥0} (−1)ⁿ Γ(n+b)/Γ(n+1) · (2n+b)/√(2πx³)
                      · exp(−(2n+b)²/(8x))

    Truncation: the ratio of consecutive terms decreases in n, so once the terms start to
    decrease they do so for good and the error is below the first omitted term; the sum
    stops there as soon as a term is below :data:`PG_SERIES_RTOL` (1e-16) times the partial
    sum.  Rounding: the terms are formed in log space and summed scaled by the largest; for
    small x (and the left flank and bulk of small b) float64 suffices, but the series
    cancels badly for large x — in the right tail, and in the bulk once b ≳ 10 (at b = 50
    the terms near the mean are 10⁶ times the sum, at b = 1000 10¹³⁰ times) — so values whose
    estimated float64 error exceeds 1e-11 are recomputed one by one in ``decimal`` with
    enough digits (checked a posteriori: 20 digits beyond those the cancellation costs).
    The precision is sized from a saddle-point approximation of log p.  Accuracy: ~1e-11
    relative in p (absolute in log p).  Cost: microseconds per value on the float path,
    ~2–10 ms on the decimal path for b ≤ 1000 and moderate tails (0.4 s at b = 10⁴).  Values
    that would need more than :data:`PG_SERIES_MAX_DIGITS` (2000) digits — b ≳ 1.2·10⁴ near
    the mean, or the far right tail (log p below about −4000 for b ≤ 50) — are NaN, with a
    RuntimeWarning.

    ``x ≤ 0`` or ``x = inf`` give −inf; NaN gives NaN.  ``b`` and ``c`` are validated as in
    :func:`sample_polyagamma`.
    """
    b, c, shape = _pg_params(b, c)
    x = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
    try:
        shape = np.broadcast_shapes(x.shape, shape)
    except ValueError:
        raise ValueError(f"shape of x {x.shape} does not broadcast with b and c") from None
    xx = np.broadcast_to(x, shape).ravel()
    bb = np.broadcast_to(b, shape).ravel()
    cc = np.broadcast_to(c, shape).ravel()
    out = np.full(xx.size, -np.inf)
    out[np.isnan(xx)] = np.nan
    ok = (xx > 0) & np.isfinite(xx)
    if ok.any():
        xo, bo, co = xx[ok], bb[ok], cc[ok]
        out[ok] = _pg0_log_density(xo, bo) + bo * _log_cosh(0.5 * co) - 0.5 * co * co * xo
    return out.reshape(shape)


def _pg_moments(b: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean b/(2c)·tanh(c/2) and variance b/(4c³)·(sinh c − c)/cosh²(c/2) (series near 0)."""
    u = 0.5 * c.abs()
    small = u < 5e-3
    safe = torch.where(small, torch.ones_like(u), u)
    u2 = u * u
    # tanh(u)/u and (sinh c − c)/(c³ cosh²(c/2)) = (2 tanh u − 2u sech² u)/(8u³)
    t_ratio = torch.where(small, 1.0 - u2 / 3.0 + 2.0 * u2 * u2 / 15.0, torch.tanh(safe) / safe)
    sech2 = 1.0 / torch.cosh(safe).pow(2)
    v_ratio = torch.where(
        small,
        1.0 / 6.0 - (4.0 * u2) / 30.0 + 17.0 * (16.0 * u2 * u2) / 3360.0,
        (2.0 * torch.tanh(safe) - 2.0 * safe * sech2) / (8.0 * safe.pow(3)),
    )
    return 0.25 * b * t_ratio, 0.25 * b * v_ratio


class PolyaGamma(TorchDistribution):
    r"""Pólya-Gamma ``PG(b, c)`` (Polson, Scott & Windle, JASA 2013), b > 0, c real.

    ``ω ~ PG(b, c)`` is ``(1/(2π²)) Σ_k g_k/((k − ½)² + c²/(4π²))`` with ``g_k ~ Gamma(b, 1)``;
    ``E[exp(−tω)] = cosh^b(c/2)/cosh^b(√((c²/2 + t)/2))``.  The augmentation the CGTM η step
    uses (Polson et al. 2013, Thm 1; Chen et al. 2013): ``(e^ψ)^a/(1 + e^ψ)^b =
    2^{−b} e^{κψ} E_{ω~PG(b,0)}[exp(−ωψ²/2)]`` with ``κ = a − b/2``, so that given
    ``ω ~ PG(b, ψ)`` the likelihood in ψ is Gaussian.

    * ``sample`` draws with :func:`sample_polyagamma` (``method``, default ``"exact"``:
      Devroye's exact sampler for integer b) from a ``numpy.random.Generator`` seeded by one
      draw of torch's global RNG, so ``pyro.set_rng_seed`` / ``torch.manual_seed`` make it
      reproducible.  Not reparameterised (``has_rsample = False``).
    * ``log_prob`` is :func:`polyagamma_log_density` (series, accuracy ~1e-11; its notes
      give the cost).  Gradients flow through the tilt ``b·log cosh(c/2) − c²x/2`` only
      (i.e. with respect to ``c``); the PG(b, 0) series is evaluated in numpy.  It is a
      checking tool: the Gibbs kernels never need it.
    * ``mean = b/(2c)·tanh(c/2)`` (b/4 at c = 0), ``variance = b/(4c³)·(sinh c − c)/cosh²(c/2)``
      (b/24 at c = 0).

    ``b`` and ``c`` broadcast to the batch shape; the dtype is that of a floating tensor
    argument, else torch's default.  Invalid parameters raise ``ValueError`` naming them
    (``validate_args=False`` skips the check).
    """

    arg_constraints = {"b": constraints.positive, "c": constraints.real}
    support = constraints.positive
    has_rsample = False

    def __init__(self, b, c=0.0, validate_args: bool | None = None, *, method: str = "exact"):
        dtype = _float_dtype(b, c)
        b = _as_tensor(b, dtype)
        c = _as_tensor(c, dtype, b.device)
        if validate_args is not False:
            _pg_params(b, c)
        if method not in PG_METHODS:
            raise ValueError(f"unknown method {method!r}: use one of {PG_METHODS}")
        try:
            batch_shape = torch.broadcast_shapes(b.shape, c.shape)
        except RuntimeError as err:
            raise ValueError(
                f"shapes of b {tuple(b.shape)} and c {tuple(c.shape)} do not broadcast"
            ) from err
        self.b = b.expand(batch_shape)
        self.c = c.expand(batch_shape)
        self.method = method
        super().__init__(batch_shape, torch.Size(), validate_args=validate_args)

    def expand(self, batch_shape: Shape, _instance=None) -> PolyaGamma:
        new = self._get_checked_instance(PolyaGamma, _instance)
        batch_shape = torch.Size(batch_shape)
        new.b = self.b.expand(batch_shape)
        new.c = self.c.expand(batch_shape)
        new.method = self.method
        super(PolyaGamma, new).__init__(batch_shape, torch.Size(), validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> torch.Tensor:
        return _pg_moments(self.b, self.c)[0]

    @property
    def variance(self) -> torch.Tensor:
        return _pg_moments(self.b, self.c)[1]

    def sample(self, sample_shape: Shape = _NO_SHAPE) -> torch.Tensor:
        shape = self._extended_shape(torch.Size(sample_shape))
        seed = int(torch.randint(0, 2**62, ()).item())
        rng = np.random.default_rng(seed)
        b = np.broadcast_to(self.b.detach().cpu().numpy().astype(np.float64), shape)
        c = np.broadcast_to(self.c.detach().cpu().numpy().astype(np.float64), shape)
        draws = sample_polyagamma(b, c, rng, method=self.method)
        return torch.as_tensor(draws, dtype=self.b.dtype, device=self.b.device)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value = _as_tensor(value, self.b.dtype, self.b.device)
        shape = torch.broadcast_shapes(value.shape, self.batch_shape)
        x, b, c = value.expand(shape), self.b.expand(shape), self.c.expand(shape)
        base = polyagamma_log_density(x.detach().cpu().numpy(), b.detach().cpu().numpy())
        base = torch.as_tensor(base, dtype=value.dtype, device=value.device)
        inside = (x > 0) & torch.isfinite(x)
        tilt = b * _log_cosh(0.5 * c) - 0.5 * c * c * torch.where(inside, x, 0.0)
        return base + torch.where(inside, tilt, torch.zeros_like(tilt))


# ----------------------------------------------------------------------------- GEM / nCRP
# The two priors of the nested-CRP topic trees (hLDA: Blei, Griffiths & Jordan, JACM 2010,
# "The nested Chinese restaurant process and Bayesian nonparametric inference of topic
# hierarchies"; GhLDA: Yoshida et al., PLoS ONE 2023).  Shared conventions of
# ppltopics.models.hlda / ghlda and the tree kernels: depth L counts the levels including the
# root (levels 0..L-1); a path is L node ids, paths[d, 0] the root; nodes of a simulated or
# canonical tree are numbered in creation order (parents before children, root 0).
__all__ += ["GEM", "gem_level_log_prob", "gem_level_predictive", "NestedCRP",
            "ncrp_log_prob", "tree_from_paths", "canonical_paths"]


def _check_gem_params(gem_mean, gem_scale) -> None:
    m = torch.as_tensor(gem_mean)
    s = torch.as_tensor(gem_scale)
    _check_finite("gem_mean", m)
    _check_finite("gem_scale", s)
    if bool(((m <= 0) | (m >= 1)).any()):
        raise ValueError(f"gem_mean must lie in (0, 1), got {m.min().item():.6g}..."
                         f"{m.max().item():.6g}")
    if bool((s <= 0).any()):
        raise ValueError(f"gem_scale must be > 0, got {s.min().item():.6g}")


def _check_depth(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


class GEM(TorchDistribution):
    r"""Truncated GEM(m, π) stick breaking over the ``L`` levels of a path (hLDA's level prior).

    Blei, Griffiths & Jordan (JACM 2010, §4; hlda-c's ``GEM_MEAN`` m and ``GEM_SCALE`` π)::

        V_l ~ Beta(mπ, (1 − m)π)                       l = 0..L−2
        θ_l = V_l Π_{j<l} (1 − V_j)                    l = 0..L−2
        θ_{L−1} = Π_{j<L−1} (1 − V_j)                  (the last level takes what is left)

    so ``E[θ_l] = m(1 − m)^l`` (l < L−1) and ``E[θ_{L−1}] = (1 − m)^{L−1}``.  The truncation
    ("last level takes the remaining stick") is the one of hlda-c's level sampler.

    ``log_prob(θ)`` is the density of the first ``L − 1`` coordinates (θ_{L−1} = 1 − Σ the
    others, as for torch's ``Dirichlet``) by the change of variables from the sticks: the map
    V → θ is triangular with ∂θ_l/∂V_l = R_l = Π_{j<l}(1 − V_j) = Σ_{j≥l} θ_j, hence::

        log p(θ) = Σ_{l<L−1} [ log Beta(V_l; mπ, (1 − m)π) − log R_l ],  V_l = θ_l / R_l.

    ``gem_mean`` ∈ (0, 1) and ``gem_scale`` > 0 broadcast to the batch shape; the event shape
    is ``(L,)``.  ``rsample`` is reparameterised through torch's Beta.  ``L = 1`` is the point
    mass θ = (1,).
    """

    arg_constraints = {"gem_mean": constraints.interval(0.0, 1.0),
                       "gem_scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, gem_mean, gem_scale, truncation: int,
                 validate_args: bool | None = None):
        dtype = _float_dtype(gem_mean, gem_scale)
        m = _as_tensor(gem_mean, dtype)
        s = _as_tensor(gem_scale, dtype, m.device)
        L = _check_depth("truncation", truncation)
        if validate_args is not False:
            _check_gem_params(m, s)
        try:
            batch_shape = torch.broadcast_shapes(m.shape, s.shape)
        except RuntimeError as err:
            raise ValueError(f"shapes of gem_mean {tuple(m.shape)} and gem_scale "
                             f"{tuple(s.shape)} do not broadcast") from err
        self.gem_mean = m.expand(batch_shape)
        self.gem_scale = s.expand(batch_shape)
        self.truncation = L
        super().__init__(batch_shape, torch.Size((L,)), validate_args=validate_args)

    def expand(self, batch_shape: Shape, _instance=None) -> GEM:
        new = self._get_checked_instance(GEM, _instance)
        batch_shape = torch.Size(batch_shape)
        new.gem_mean = self.gem_mean.expand(batch_shape)
        new.gem_scale = self.gem_scale.expand(batch_shape)
        new.truncation = self.truncation
        super(GEM, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _sticks_dist(self) -> torch.distributions.Beta:
        a = (self.gem_mean * self.gem_scale)[..., None]
        b = ((1.0 - self.gem_mean) * self.gem_scale)[..., None]
        shape = self.batch_shape + (self.truncation - 1,)
        return torch.distributions.Beta(a.expand(shape), b.expand(shape), validate_args=False)

    @staticmethod
    def sticks_to_simplex(sticks: torch.Tensor) -> torch.Tensor:
        """θ from the ``L − 1`` stick fractions V (last axis); returns ``(..., L)``."""
        one = torch.ones_like(sticks[..., :1])
        rest = torch.cat([one, torch.cumprod(1.0 - sticks, dim=-1)], dim=-1)  # R_0..R_{L−1}
        return torch.cat([sticks * rest[..., :-1], rest[..., -1:]], dim=-1)

    @staticmethod
    def simplex_to_sticks(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(V, R): stick fractions ``V_l = θ_l / R_l`` and remaining lengths
        ``R_l = Σ_{j≥l} θ_j`` (l = 0..L−2), both ``(..., L − 1)``."""
        rem = torch.flip(torch.cumsum(torch.flip(theta, [-1]), -1), [-1])[..., :-1]
        return theta[..., :-1] / rem, rem

    @property
    def mean(self) -> torch.Tensor:
        m = self.gem_mean[..., None]
        lv = torch.arange(self.truncation, dtype=m.dtype, device=m.device)
        out = m * (1.0 - m) ** lv
        out[..., -1] = (1.0 - m[..., 0]) ** (self.truncation - 1)
        return out

    def rsample(self, sample_shape: Shape = _NO_SHAPE) -> torch.Tensor:
        shape = torch.Size(sample_shape)
        if self.truncation == 1:
            return self.gem_mean.new_ones(self._extended_shape(shape))
        sticks = self._sticks_dist().rsample(shape)
        return self.sticks_to_simplex(sticks)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value = _as_tensor(value, self.gem_mean.dtype, self.gem_mean.device)
        if self.truncation == 1:
            return torch.zeros(torch.broadcast_shapes(value.shape[:-1], self.batch_shape),
                               dtype=value.dtype, device=value.device)
        sticks, rem = self.simplex_to_sticks(value)
        sticks = sticks.clamp(min=0.0, max=1.0)
        return (self._sticks_dist().log_prob(sticks) - rem.log()).sum(-1)


def _gem_ab(gem_mean: float, gem_scale: float) -> tuple[float, float]:
    m, s = float(gem_mean), float(gem_scale)
    if not (math.isfinite(m) and 0.0 < m < 1.0):
        raise ValueError(f"gem_mean must lie in (0, 1), got {gem_mean!r}")
    if not (math.isfinite(s) and s > 0.0):
        raise ValueError(f"gem_scale must be > 0, got {gem_scale!r}")
    return m * s, (1.0 - m) * s


def _level_counts_array(level_counts) -> np.ndarray:
    n = np.asarray(level_counts)
    if n.ndim < 1 or n.shape[-1] < 1:
        raise ValueError(f"level_counts must have shape (..., L) with L >= 1, got {n.shape}")
    if not np.issubdtype(n.dtype, np.integer):
        if not np.all(np.isfinite(n)) or np.any(n != np.round(n)):
            raise ValueError("level_counts must be non-negative integers")
    if np.any(n < 0):
        raise ValueError("level_counts must be non-negative integers")
    return n.astype(np.float64)


def gem_level_log_prob(level_counts, gem_mean: float, gem_scale: float) -> np.ndarray:
    r"""Collapsed log p(z_d | m, π) of a document's level assignments, θ_d integrated out.

    ``level_counts[..., l]`` = n_l, the number of the document's tokens at level l (the
    probability of one *sequence* z_d with these counts, not of the counts).  With
    ``a = mπ``, ``b = (1 − m)π``, ``n_{>l} = Σ_{j>l} n_j`` and ``n_{≥l} = n_l + n_{>l}``, the
    truncated GEM (:class:`GEM`) is a product of independent Beta sticks, so (Pólya urn)::

        log p(z_d) = Σ_{l<L−1} [ log B(a + n_l, b + n_{>l}) − log B(a, b) ]

    (the last level has no stick of its own).  Returns an array of shape ``level_counts``
    without its last axis.  Used by the hLDA/GhLDA collapsed log joints.
    """
    a, b = _gem_ab(gem_mean, gem_scale)
    n = _level_counts_array(level_counts)
    above = np.flip(np.cumsum(np.flip(n, -1), -1), -1)  # n_{≥l}
    n_l = n[..., :-1]
    n_gt = above[..., 1:]  # n_{>l}, l = 0..L−2
    s = a + b
    terms = (gammaln(a + n_l) + gammaln(b + n_gt) - gammaln(s + n_l + n_gt)
             - (gammaln(a) + gammaln(b) - gammaln(s)))
    return terms.sum(-1)


def gem_level_predictive(level_counts, gem_mean: float, gem_scale: float) -> np.ndarray:
    r"""Pólya-urn predictive p(z = l | the document's other levels), θ_d integrated out.

    With the counts ``n_l`` of the *other* tokens of the document (``level_counts[..., l]``),
    ``a = mπ``, ``b = (1 − m)π``::

        p(z = l) = (a + n_l)/(π + n_{≥l}) · Π_{j<l} (b + n_{>j})/(π + n_{≥j})   l < L−1
        p(z = L−1) = Π_{j<L−1} (b + n_{>j})/(π + n_{≥j})

    (the level step of hLDA; hlda-c ``compute_log_p_level``).  Returns ``(..., L)``
    probabilities summing to 1.  Consistent with :func:`gem_level_log_prob`: the product of
    the predictives of a sequence equals exp of its collapsed log probability.
    """
    a, b = _gem_ab(gem_mean, gem_scale)
    n = _level_counts_array(level_counts)
    s = a + b
    above = np.flip(np.cumsum(np.flip(n, -1), -1), -1)
    n_ge = above[..., :-1]
    n_gt = above[..., 1:]
    stop = (a + n[..., :-1]) / (s + n_ge)
    go = (b + n_gt) / (s + n_ge)
    ones = np.ones(n.shape[:-1] + (1,))
    reach = np.concatenate([ones, np.cumprod(go, axis=-1)], axis=-1)  # Π_{j<l} go_j
    return reach * np.concatenate([stop, ones], axis=-1)


# ------------------------------------------------------------------------- trees from paths
def _paths_array(paths, name: str = "paths") -> np.ndarray:
    if isinstance(paths, torch.Tensor):
        paths = paths.detach().cpu().numpy()
    arr = np.asarray(paths)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape (num_docs, depth), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer node ids, got dtype {arr.dtype}")
    if arr.min() < 0:
        raise ValueError(f"{name} must hold node ids >= 0")
    return arr.astype(np.int64, copy=False)


def tree_from_paths(paths, num_nodes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(parent, node_level)`` int32 arrays of the tree the document paths walk.

    ``paths`` (num_docs, L): ``paths[d, 0]`` is the root (the same id in every row) and
    ``paths[d, l]`` a child of ``paths[d, l − 1]``.  ``parent[root] = −1``,
    ``node_level[root] = 0``.  Ids need not be contiguous: arrays have ``num_nodes`` entries
    (default ``paths.max() + 1``) and ids no path visits get ``parent = −1`` and
    ``node_level = −1``.  Raises ``ValueError`` when a node has two parents or two levels (not
    a tree), or the rows do not share one root.
    """
    p = _paths_array(paths)
    D, L = p.shape
    size = int(p.max()) + 1 if num_nodes is None else int(num_nodes)
    if size <= p.max():
        raise ValueError(f"num_nodes={size} but paths use node id {int(p.max())}")
    if np.any(p[:, 0] != p[0, 0]):
        raise ValueError("paths[:, 0] must be the same root node in every document")
    level = np.full(size, -1, dtype=np.int64)
    parent = np.full(size, -1, dtype=np.int64)
    lv = np.broadcast_to(np.arange(L), p.shape)
    level[p.ravel()] = lv.ravel()
    if np.any(level[p] != lv):
        raise ValueError("paths are not a tree: a node id appears at two levels")
    if L > 1:
        child, par = p[:, 1:].ravel(), p[:, :-1].ravel()
        parent[child] = par
        if np.any(parent[child] != par):
            raise ValueError("paths are not a tree: a node id has two parents")
    return parent.astype(np.int32), level.astype(np.int32)


def canonical_paths(paths) -> np.ndarray:
    """Relabel the nodes of ``paths`` in creation order: the order of first appearance when the
    paths are read document by document, root to leaf (what :class:`NestedCRP` samples).

    The result (int64, same shape) uses ids ``0..num_nodes − 1`` with the root 0 and every
    parent numbered before its children; two path arrays describe the same tree and the same
    document placement iff their canonical forms are equal.
    """
    p = _paths_array(paths)
    flat = p.ravel()
    ids, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    rank = np.empty(ids.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(ids.size)
    return rank[inverse].reshape(p.shape)


def ncrp_log_prob(paths, gamma: float) -> float:
    r"""log nCRP(c | γ): probability of the documents' paths, a product over the tree's edges.

    The nested CRP (Blei et al. 2010) seats each document at a child of the root by a CRP(γ),
    then at a child of that child by an independent CRP(γ), down to level ``L − 1``.  The
    probability of the whole placement is therefore, over internal nodes ``p`` with ``n_p``
    documents split among ``K_p`` children with ``n_c`` documents each (the CRP's
    exchangeable partition probability)::

        log p(c) = Σ_p [ K_p log γ + Σ_{c child of p} lgamma(n_c) + lgamma(γ) − lgamma(γ + n_p) ]

    It is the probability of the placement up to relabelling of nodes (i.e. of the
    :func:`canonical_paths`), invariant to the order of the documents, and equals the product
    of the sequential choices ``n_c/(γ + n)`` (existing child) and ``γ/(γ + n)`` (new child).
    Depth 1 gives 0.  ``paths`` (num_docs, L) need not be canonical.
    """
    g = float(gamma)
    if not (math.isfinite(g) and g > 0):
        raise ValueError(f"gamma must be > 0, got {gamma!r}")
    p = _paths_array(paths)
    tree_from_paths(p)  # validates the tree structure
    D, L = p.shape
    total = 0.0
    lg_g = math.lgamma(g)
    log_g = math.log(g)
    for lev in range(L - 1):
        # children with their document counts; parents of those children
        child_ids, child_n = np.unique(p[:, lev + 1], return_counts=True)
        par_ids, par_n = np.unique(p[:, lev], return_counts=True)
        total += (child_ids.size * log_g + float(gammaln(child_n).sum())
                  + par_ids.size * lg_g - float(gammaln(g + par_n).sum()))
    return total


class NestedCRP(TorchDistribution):
    r"""Nested Chinese restaurant process nCRP(γ) over the paths of ``num_docs`` documents.

    Blei, Griffiths & Jordan (JACM 2010, §3): documents arrive one by one; document d starts
    at the root (level 0) and, at each level l = 0..L−2, moves from its node to an existing
    child c with probability ``n_c/(γ + n)`` or to a new child with probability ``γ/(γ + n)``
    (``n_c`` earlier documents went through c, ``n`` through the current node).  ``L`` =
    ``depth`` levels including the root, so a path has ``L`` nodes.

    * ``sample()`` returns a ``(num_docs, depth)`` long tensor of node ids numbered in creation
      order (root 0, parents before children: :func:`canonical_paths` form), drawn with torch's
      global RNG (``pyro.set_rng_seed`` makes it reproducible); the tree is
      :func:`tree_from_paths` of it.
    * ``log_prob(paths)`` is :func:`ncrp_log_prob`: the product over the tree's internal nodes
      of the CRP partition probability of the node's documents among its children.  It is the
      probability of the placement up to relabelling of nodes, so compare samples in canonical
      form.

    ``gamma`` is a positive scalar (batch shape ``()``); the event shape is
    ``(num_docs, depth)``.  Discrete, not reparameterised, no gradients in ``log_prob``.
    """

    arg_constraints = {"gamma": constraints.positive}
    has_enumerate_support = False

    def __init__(self, gamma, depth: int, num_docs: int, validate_args: bool | None = None):
        g = _as_tensor(gamma, _float_dtype(gamma, torch.zeros((), dtype=torch.float64)))
        if g.dim() != 0:
            raise ValueError(f"gamma must be a scalar, got shape {tuple(g.shape)}")
        if not (math.isfinite(float(g)) and float(g) > 0):
            raise ValueError(f"gamma must be > 0, got {float(g)!r}")
        self.gamma = g
        self.depth = _check_depth("depth", depth)
        self.num_docs = _check_depth("num_docs", num_docs)
        super().__init__(torch.Size(), torch.Size((self.num_docs, self.depth)),
                         validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=2)
    def support(self):
        return constraints.independent(constraints.nonnegative_integer, 2)

    def expand(self, batch_shape: Shape, _instance=None) -> NestedCRP:
        if tuple(batch_shape) != ():
            raise ValueError("NestedCRP has no batch dimensions (one tree per draw)")
        return self

    def _sample_one(self, u: np.ndarray) -> np.ndarray:
        D, L = self.num_docs, self.depth
        g = float(self.gamma)
        paths = np.zeros((D, L), dtype=np.int64)
        children: list[list[int]] = [[]]
        count = [0]
        for d in range(D):
            node = 0
            count[0] += 1
            for lev in range(1, L):
                kids = children[node]
                n = count[node] - 1  # documents through `node` before this one
                x = u[d, lev - 1] * (g + n)
                chosen = -1
                for c in kids:
                    x -= count[c]
                    if x < 0:
                        chosen = c
                        break
                if chosen < 0:  # a new table: the next id in creation order
                    chosen = len(count)
                    children.append([])
                    count.append(0)
                    kids.append(chosen)
                count[chosen] += 1
                paths[d, lev] = chosen
                node = chosen
        return paths

    def sample(self, sample_shape: Shape = _NO_SHAPE) -> torch.Tensor:
        shape = torch.Size(sample_shape)
        num = int(np.prod(shape)) if len(shape) else 1
        u = torch.rand((num, self.num_docs, max(self.depth - 1, 1)),
                       dtype=torch.float64).numpy()
        out = np.stack([self._sample_one(u[i]) for i in range(num)])
        return torch.as_tensor(out.reshape(shape + self.event_shape), dtype=torch.long)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        v = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        if v.shape[-2:] != (self.num_docs, self.depth):
            raise ValueError(f"paths must end in shape ({self.num_docs}, {self.depth}), got "
                             f"{v.shape}")
        flat = v.reshape((-1,) + v.shape[-2:])
        g = float(self.gamma)
        out = np.array([ncrp_log_prob(x, g) for x in flat]).reshape(v.shape[:-2])
        return torch.as_tensor(out, dtype=self.gamma.dtype)


# ----------------------------------------------------------------------------- von Mises–Fisher
__all__ += ["VonMisesFisher", "mean_resultant_length", "inverse_mean_resultant_length",
            "vmf_log_normalizer"]

_LOG_2PI = math.log(2.0 * math.pi)
_IVE_UNDERFLOW = 1e-280


def _log_iv_series(v: float, x: np.ndarray) -> np.ndarray:
    """``log I_v(x) - v log x`` by the power series, summed in log space (any x >= 0).

    ``I_v(x) = (x/2)^v / Γ(v+1) · Σ_k (x²/4)^k / (k! (v+1)_k)`` (Abramowitz & Stegun 9.6.10).
    Terms peak at ``k* = (sqrt(v² + x²) - v) / 2``; the sum runs far past it.
    """
    from scipy.special import logsumexp

    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, -v * _LOG_2 - gammaln(v + 1.0))
    pos = x > 0
    if not pos.any():
        return out
    xp = x[pos]
    kstar = float(np.max((np.sqrt(v * v + xp * xp) - v) / 2.0))
    k = np.arange(int(math.ceil(kstar + 12.0 * math.sqrt(kstar) + 40.0)), dtype=np.float64)
    logt = (k[:, None] * (2.0 * np.log(xp / 2.0))[None, :] - gammaln(k + 1.0)[:, None]
            - (gammaln(v + 1.0 + k) - gammaln(v + 1.0))[:, None])
    out[pos] += logsumexp(logt, axis=0)
    return out


def _log_iv_over_xv(v: float, x: np.ndarray) -> np.ndarray:
    """``g_v(x) = log I_v(x) - v log x`` (float64), finite at ``x = 0`` and for huge ``x``.

    Uses scipy's exponentially scaled ``ive`` (``log I_v(x) = log ive(v, x) + x``) and the
    power series :func:`_log_iv_series` where ``ive`` underflows (``x`` much smaller than ``v``).
    ``g_v'(x) = I_{v+1}(x) / I_v(x)`` (from ``I_v' = I_{v+1} + (v/x) I_v``).
    """
    from scipy.special import ive

    x = np.asarray(x, dtype=np.float64)
    shape, x = x.shape, x.reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = ive(v, x)
        out = np.log(scaled) + x - v * np.log(x)
    small = ~(scaled > _IVE_UNDERFLOW) | (x <= 0)
    if small.any():
        out[small] = _log_iv_series(v, x[small])
    return out.reshape(shape)


def mean_resultant_length(D: int, kappa) -> np.ndarray:
    """``A_D(κ) = I_{D/2}(κ) / I_{D/2-1}(κ)``, the mean resultant length ``‖E x‖`` of vMF(μ, κ).

    Banerjee et al. (JMLR 2005), eq. (4.6)–(4.8); ``A_D(0) = 0``, ``A_D(κ) → 1`` as ``κ → ∞``.
    Computed as ``κ · exp(g_{D/2}(κ) - g_{D/2-1}(κ))`` with ``g_v = log I_v - v log κ``, stable
    for any ``κ >= 0`` and ``D >= 2``.
    """
    D = _check_dim(D)
    k = np.asarray(kappa, dtype=np.float64)
    if np.any(~np.isfinite(k)) or np.any(k < 0):
        raise ValueError("kappa must be finite and non-negative")
    v = D / 2.0 - 1.0
    return k * np.exp(_log_iv_over_xv(v + 1.0, k) - _log_iv_over_xv(v, k))


def inverse_mean_resultant_length(D: int, rbar, newton_steps: int = 2) -> np.ndarray:
    """``κ`` with ``A_D(κ) = r̄`` (the vMF concentration MLE from a mean resultant length).

    Starts from the approximation of Banerjee et al. (JMLR 2005, eq. 4.4)
    ``κ ≈ r̄ (D - r̄²) / (1 - r̄²)`` and takes ``newton_steps`` Newton steps on
    ``A_D(κ) - r̄`` with ``A_D'(κ) = 1 - A_D(κ)² - (D-1)/κ · A_D(κ)`` (Sra 2012).
    """
    D = _check_dim(D)
    r = np.asarray(rbar, dtype=np.float64)
    if np.any(~np.isfinite(r)) or np.any(r < 0) or np.any(r >= 1):
        raise ValueError("rbar must lie in [0, 1)")
    kappa = r * (D - r * r) / (1.0 - r * r)
    for _ in range(int(newton_steps)):
        a = mean_resultant_length(D, kappa)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = 1.0 - a * a - (D - 1.0) / kappa * a
            step = np.where((kappa > 0) & (slope > 0), (a - r) / slope, 0.0)
        kappa = np.maximum(kappa - step, 0.0)
    return kappa


def _check_dim(D) -> int:
    if isinstance(D, bool) or not isinstance(D, int | np.integer) or D < 2:
        raise ValueError(f"the dimension D must be an integer >= 2, got {D!r}")
    return int(D)


class _VMFScaledLogNormalizer(torch.autograd.Function):
    """``s(κ) = log C_D(κ) + κ``, ``log C_D(κ) = (D/2-1) log κ - (D/2) log 2π - log I_{D/2-1}(κ)``.

    Forward in float64 through scipy (:func:`_log_iv_over_xv`); backward by the Bessel
    recurrence: ``d log C_D / dκ = -A_D(κ)``, so ``s'(κ) = 1 - A_D(κ)``.  Adding ``κ`` keeps the
    value O(log κ) for large κ (no cancellation against ``κ μᵀx`` in float32).
    """

    @staticmethod
    def forward(ctx, kappa: torch.Tensor, D: int) -> torch.Tensor:  # type: ignore[override]
        k = kappa.detach().cpu().to(torch.float64).numpy()
        v = D / 2.0 - 1.0
        s = -(D / 2.0) * _LOG_2PI - _log_iv_over_xv(v, k) + k
        ctx.save_for_backward(kappa)
        ctx.D = D
        return torch.as_tensor(s, dtype=kappa.dtype, device=kappa.device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (kappa,) = ctx.saved_tensors
        a = mean_resultant_length(ctx.D, kappa.detach().cpu().to(torch.float64).numpy())
        slope = torch.as_tensor(1.0 - a, dtype=grad.dtype, device=grad.device)
        return grad * slope, None


class _VMFMeanResultantLength(torch.autograd.Function):
    """``A_D(κ)`` as a torch op; ``A_D'(κ) = 1 - A_D(κ)² - (D-1)/κ · A_D(κ)`` (→ 1/D at 0)."""

    @staticmethod
    def forward(ctx, kappa: torch.Tensor, D: int) -> torch.Tensor:  # type: ignore[override]
        a = mean_resultant_length(D, kappa.detach().cpu().to(torch.float64).numpy())
        ctx.save_for_backward(kappa)
        ctx.D = D
        ctx.a = a
        return torch.as_tensor(a, dtype=kappa.dtype, device=kappa.device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (kappa,) = ctx.saved_tensors
        k = kappa.detach().cpu().to(torch.float64).numpy()
        a = ctx.a
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(k > 0, 1.0 - a * a - (ctx.D - 1.0) * a / k, 1.0 / ctx.D)
        return grad * torch.as_tensor(slope, dtype=grad.dtype, device=grad.device), None


def vmf_log_normalizer(D: int, kappa) -> np.ndarray:
    """``log C_D(κ)`` of the vMF density ``C_D(κ) exp(κ μᵀx)`` on the unit sphere S^{D-1}.

    ``C_D(κ) = κ^{D/2-1} / ((2π)^{D/2} I_{D/2-1}(κ))`` (Banerjee et al., JMLR 2005, eq. 2.2);
    at ``κ = 0`` it is one over the surface area ``2π^{D/2} / Γ(D/2)``.
    """
    D = _check_dim(D)
    k = np.asarray(kappa, dtype=np.float64)
    return -(D / 2.0) * _LOG_2PI - _log_iv_over_xv(D / 2.0 - 1.0, k)


def _wood_w(kappa: torch.Tensor, D: int, max_rounds: int = 1000) -> torch.Tensor:
    """Draw ``w = μᵀx`` of vMF(μ, κ) on S^{D-1} by Wood's (1994) rejection sampler (float64).

    With ``b = (D-1) / (2κ + sqrt(4κ² + (D-1)²))``, ``x0 = (1-b)/(1+b)``,
    ``c = κ x0 + (D-1) log(1 - x0²)``: draw ``z ~ Beta((D-1)/2, (D-1)/2)``, ``u ~ U(0, 1)``,
    ``w = (1 - (1+b) z) / (1 - (1-b) z)`` and accept when
    ``κ w + (D-1) log(1 - x0 w) - c >= log u``.  All differences are formed from ``1 - w``,
    ``1 - x0`` directly, so huge κ (w ≈ 1) loses no precision; κ = 0 accepts always.
    """
    kappa = kappa.to(torch.float64)
    m1 = float(D - 1)
    b = m1 / (2.0 * kappa + torch.sqrt(4.0 * kappa * kappa + m1 * m1))
    one_m_x0 = 2.0 * b / (1.0 + b)
    x0 = 1.0 - one_m_x0
    log_1m_x0sq = torch.log(4.0 * b) - 2.0 * torch.log1p(b)
    w = torch.empty_like(kappa)
    todo = torch.arange(kappa.numel(), device=kappa.device)
    kf, bf, x0f = kappa.reshape(-1), b.reshape(-1), x0.reshape(-1)
    omx0f, lf = one_m_x0.reshape(-1), log_1m_x0sq.reshape(-1)
    wf = w.reshape(-1)
    half = torch.tensor(m1 / 2.0, dtype=torch.float64, device=kappa.device)
    beta = torch.distributions.Beta(half, half)
    for _ in range(max_rounds):
        if todo.numel() == 0:
            return w
        z = beta.sample(todo.shape)
        u = torch.rand(todo.shape, dtype=torch.float64, device=kappa.device)
        bb, kk = bf[todo], kf[todo]
        denom = 1.0 - (1.0 - bb) * z
        one_m_w = 2.0 * bb * z / denom
        one_m_x0w = omx0f[todo] + x0f[todo] * one_m_w
        t = kk * (omx0f[todo] - one_m_w) + m1 * (torch.log(one_m_x0w) - lf[todo])
        ok = t >= torch.log(u)
        wf[todo[ok]] = 1.0 - one_m_w[ok]
        todo = todo[~ok]
    raise RuntimeError(f"Wood's vMF sampler did not accept within {max_rounds} rounds")


class VonMisesFisher(TorchDistribution):
    """von Mises–Fisher distribution on the unit sphere S^{D-1} ⊂ R^D, any ``D >= 2``.

    Density w.r.t. the surface measure: ``p(x | μ, κ) = C_D(κ) exp(κ μᵀx)`` with
    ``log C_D(κ) = (D/2 - 1) log κ - (D/2) log 2π - log I_{D/2-1}(κ)`` (Banerjee et al.,
    JMLR 2005); TopClus (Meng et al., WWW 2022, eq. 3) models each topic as vMF(t_k, κ) in its
    latent space.  ``loc`` (..., D) must be unit vectors, ``concentration`` κ >= 0 (batch
    shapes broadcast).

    * ``log_prob``: ``log C_D(κ)`` through scipy's ``ive`` inside an autograd Function (the
      κ-gradient by the Bessel recurrence, ``-A_D(κ)``); the gradient w.r.t. ``loc`` flows
      through ``κ μᵀx``.  Stable for κ from 0 to ≫ 1e4 and any D.
    * ``rsample``/``sample``: Wood's (1994) rejection sampler for ``w = μᵀx`` (batched), a
      uniform direction orthogonal to ``e1``, and the Householder reflection taking ``e1`` to
      ``μ``.  ``rsample`` is reparameterised in ``loc`` (the reflection is differentiable);
      ``w`` is drawn with κ detached, so it gives no gradient w.r.t. κ (use ``log_prob``).
    * ``mean`` = ``A_D(κ) μ`` with ``A_D(κ) = I_{D/2}(κ) / I_{D/2-1}(κ)``;
      ``entropy`` = ``-log C_D(κ) - κ A_D(κ)``.
    """

    arg_constraints = {"loc": constraints.real_vector, "concentration": constraints.nonnegative}
    support = pyro.distributions.constraints.sphere
    has_rsample = True

    def __init__(self, loc, concentration, validate_args=None) -> None:
        dtype = _float_dtype(loc, concentration)
        loc = _as_tensor(loc, dtype)
        concentration = _as_tensor(concentration, dtype, device=loc.device)
        if loc.dim() < 1 or loc.shape[-1] < 2:
            raise ValueError(f"loc must have a last dimension D >= 2, got shape {tuple(loc.shape)}")
        try:
            batch_shape = torch.broadcast_shapes(loc.shape[:-1], concentration.shape)
        except RuntimeError as err:
            raise ValueError(
                f"loc batch shape {tuple(loc.shape[:-1])} and concentration shape "
                f"{tuple(concentration.shape)} do not broadcast"
            ) from err
        D = loc.shape[-1]
        if validate_args is not False:
            _check_finite("loc", loc)
            _check_finite("concentration", concentration)
            if bool((concentration < 0).any()):
                raise ValueError("concentration must be non-negative")
            tol = 1e-4 if dtype in (torch.float32, torch.float16, torch.bfloat16) else 1e-8
            if not bool(((loc.detach().norm(dim=-1) - 1.0).abs() <= tol).all()):
                raise ValueError("loc must be unit vectors (‖loc‖ = 1 along the last dim)")
        self.loc = loc.expand(batch_shape + (D,))
        self.concentration = concentration.expand(batch_shape)
        super().__init__(batch_shape, torch.Size([D]), validate_args=validate_args)

    @property
    def dim(self) -> int:
        return int(self.event_shape[0])

    def expand(self, batch_shape, _instance=None) -> VonMisesFisher:
        new = self._get_checked_instance(VonMisesFisher, _instance)
        batch_shape = torch.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new.concentration = self.concentration.expand(batch_shape)
        super(VonMisesFisher, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _scaled_log_normalizer(self) -> torch.Tensor:
        return _VMFScaledLogNormalizer.apply(self.concentration, self.dim)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        kappa = self.concentration
        cos_m1 = (self.loc * value).sum(-1) - 1.0
        return self._scaled_log_normalizer() + kappa * cos_m1

    def rsample(self, sample_shape: Shape = _NO_SHAPE) -> torch.Tensor:
        shape = self._extended_shape(torch.Size(sample_shape))
        D = self.dim
        kappa = self.concentration.detach().expand(shape[:-1])
        w = _wood_w(kappa.reshape(-1), D)
        v = torch.randn((w.numel(), D - 1), dtype=torch.float64, device=w.device)
        v = v / v.norm(dim=-1, keepdim=True)
        rest = torch.sqrt(torch.clamp((1.0 - w) * (1.0 + w), min=0.0))
        x = torch.cat([w[:, None], rest[:, None] * v], dim=-1)
        x = x.to(self.loc.dtype).reshape(shape)
        return self._reflect(x)

    def _reflect(self, x: torch.Tensor) -> torch.Tensor:
        """Householder reflection ``H = I - 2uuᵀ/‖u‖²``, ``u = e1 - μ``: maps ``e1`` to ``μ``."""
        mu = self.loc
        u = -mu.clone()
        u[..., 0] = u[..., 0] + 1.0
        uu = (u * u).sum(-1, keepdim=True)
        tiny = uu <= torch.finfo(mu.dtype).eps
        coef = 2.0 * (u * x).sum(-1, keepdim=True) / torch.where(tiny, torch.ones_like(uu), uu)
        return torch.where(tiny, x, x - coef * u)

    def _mean_resultant_length(self) -> torch.Tensor:
        return _VMFMeanResultantLength.apply(self.concentration, self.dim)

    @property
    def mean(self) -> torch.Tensor:
        return self._mean_resultant_length()[..., None] * self.loc

    def entropy(self) -> torch.Tensor:
        """``H = -log C_D(κ) - κ A_D(κ) = -s(κ) + κ (1 - A_D(κ))``, differentiable in κ."""
        a = self._mean_resultant_length()
        return -self._scaled_log_normalizer() + self.concentration * (1.0 - a)
