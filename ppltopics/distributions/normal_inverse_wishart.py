"""Normal-inverse-Wishart prior ``(μ, Σ) ~ NIW(μ0, κ0, Ψ0, ν0)``: ``Σ ~ IW(Ψ0, ν0)`` and
``μ | Σ ~ N(μ0, Σ/κ0)``.

A pair is not one tensor, so it is not a ``Distribution``: the stories draw it as two Pyro
sites (:meth:`NormalInverseWishart.pyro_sample`), which keeps every site an ordinary
distribution for tracing, conditioning and ``log_prob_sum``.  The object gives
``sample() -> (mu, Sigma)``, ``log_prob(mu, Sigma)`` and the conjugate ``posterior``.
Parameters are validated on construction (``validate_args=False`` skips it): κ0 ≤ 0,
ν0 ≤ M − 1, Ψ0 not symmetric positive definite, NaN/inf, inconsistent shapes raise
``ValueError`` naming the parameter.
"""

from __future__ import annotations

import pyro
import torch
from pyro.distributions import MultivariateNormal
from torch.distributions import Distribution

from ppltopics._validation import check_finite, check_spd
from ppltopics.distributions._util import NO_SHAPE, Shape, as_tensor, float_dtype
from ppltopics.distributions.inverse_wishart import InverseWishart, check_nu

__all__ = ["NormalInverseWishart"]


class NormalInverseWishart:
    r"""Normal-inverse-Wishart prior ``(μ, Σ) ~ NIW(μ0, κ0, Ψ0, ν0)``::

        Σ ~ IW(Ψ0, ν0),    μ | Σ ~ N(μ0, Σ/κ0),
        log p(μ, Σ) = log IW(Σ; Ψ0, ν0) + log N(μ; μ0, Σ/κ0).

    Shapes: ``mu0`` ``batch + (M,)``, ``psi0`` ``batch + (M, M)``, ``kappa0``/``nu0``
    broadcast against ``batch``.  Not a ``torch.distributions.Distribution`` (its value is a
    pair); in a Pyro story call :meth:`pyro_sample`, which makes the two ordinary sites.
    """

    def __init__(self, mu0, kappa0, psi0, nu0, validate_args: bool | None = None):
        dtype = float_dtype(mu0, psi0, kappa0, nu0)
        psi0 = as_tensor(psi0, dtype)
        device = psi0.device
        mu0 = as_tensor(mu0, dtype, device)
        kappa0 = as_tensor(kappa0, dtype, device)
        nu0 = as_tensor(nu0, dtype, device)
        if validate_args is not False:
            if mu0.dim() < 1:
                raise ValueError(f"mu0 must be a (batch of) vectors, got shape {tuple(mu0.shape)}")
            check_finite("mu0", mu0)
            check_finite("kappa0", kappa0)
            if bool((kappa0 <= 0).any()):
                raise ValueError(f"kappa0 must be > 0, got {kappa0.min().item():.6g}")
            if psi0.dim() >= 2 and psi0.shape[-1] != mu0.shape[-1]:
                raise ValueError(
                    f"psi0 must be M×M with M = len(mu0) = {mu0.shape[-1]}, "
                    f"got {tuple(psi0.shape)}"
                )
            check_spd("psi0", psi0)
            check_nu("nu0", nu0, psi0.shape[-1])
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
    def sample(self, sample_shape: Shape = NO_SHAPE) -> tuple[torch.Tensor, torch.Tensor]:
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
        """Conjugate update by ``n`` observations ``x`` (shape ``batch + (n, M)``), Gelman et al.
        (BDA3, Sect. 3.6)::

        κ_n = κ0 + n, ν_n = ν0 + n, μ_n = (κ0 μ0 + n x̄)/κ_n,
        Ψ_n = Ψ0 + S + κ0 n/(κ0 + n) (x̄ − μ0)(x̄ − μ0)ᵀ,  S = Σ (x_i − x̄)(x_i − x̄)ᵀ.
        """
        x = as_tensor(x, self.mu0.dtype, self.mu0.device)
        if x.dim() < 2 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape (..., n, {self.dim}), got {tuple(x.shape)}")
        n = x.shape[-2]
        if n == 0:
            return self
        check_finite("x", x)
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
