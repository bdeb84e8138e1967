"""Distributions the generative stories need and Pyro lacks (DESIGN §6).

* :class:`InverseWishart` — ``Σ ~ IW(Ψ, ν)``, a Pyro ``TorchDistribution`` (so a
  ``torch.distributions.Distribution``) with event shape (M, M): ``pyro.sample`` and
  ``pyro.plate`` work with it, ``expand([K])`` gives K topics sharing the prior.
* :class:`NormalInverseWishart` — ``(μ, Σ) ~ NIW(μ0, κ0, Ψ0, ν0)``, i.e.
  ``Σ ~ IW(Ψ0, ν0)`` and ``μ | Σ ~ N(μ0, Σ/κ0)``.  A pair is not one tensor, so it is not a
  ``Distribution``: the stories draw it as two Pyro sites (``pyro_sample``), which keeps every
  site an ordinary distribution for tracing, conditioning and ``log_prob_sum``.  The object
  gives ``sample() -> (mu, Sigma)``, ``log_prob(mu, Sigma)`` and the conjugate ``posterior``.

Parameters are validated on construction (``validate_args=False`` skips it) with
``ValueError`` messages naming the parameter: κ0 ≤ 0, ν ≤ M − 1, Ψ not symmetric positive
definite, NaN/inf anywhere, inconsistent shapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyro
import torch
from pyro.distributions import MultivariateNormal, TorchDistribution
from torch.distributions import Chi2, Distribution, constraints

__all__ = ["InverseWishart", "NormalInverseWishart"]

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
