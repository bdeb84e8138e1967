"""Inverse-Wishart distribution ``IW(Ψ, ν)`` on symmetric positive definite matrices.

A Pyro ``TorchDistribution`` with event shape (M, M): ``pyro.sample`` and ``pyro.plate`` work
with it, ``expand([K])`` gives K topics sharing the prior.  Parameters are validated on
construction (``validate_args=False`` skips it) with ``ValueError`` messages naming the
parameter: ν ≤ M − 1, Ψ not symmetric positive definite, NaN/inf, inconsistent shapes.
"""

from __future__ import annotations

import math

import torch
from pyro.distributions import TorchDistribution
from torch.distributions import Chi2, constraints

from ppltopics._validation import check_finite, check_spd
from ppltopics.distributions._util import NO_SHAPE, Shape, as_tensor, float_dtype

__all__ = ["InverseWishart"]

_LOG_2 = math.log(2.0)


def check_nu(name: str, nu: torch.Tensor, M: int) -> None:
    """Degrees of freedom of an M×M inverse-Wishart: finite and ``> M − 1``."""
    nu = nu.detach()
    check_finite(name, nu)
    if bool((nu <= M - 1).any()):
        raise ValueError(f"{name} must be > M - 1 = {M - 1}, got {nu.min().item():.6g}")


def _logdet_tril(tril: torch.Tensor) -> torch.Tensor:
    """``log|A|`` from the lower Cholesky factor ``L`` of ``A = L Lᵀ``: ``2 Σ log L_ii``."""
    return 2.0 * tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


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
        dtype = float_dtype(psi, nu)
        psi = as_tensor(psi, dtype)
        nu = as_tensor(nu, dtype, psi.device)
        if validate_args is not False:
            check_spd("psi", psi)
            check_nu("nu", nu, psi.shape[-1])
        tril = torch.linalg.cholesky(psi)  # on psi itself: the factor keeps its gradient
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

    def rsample(self, sample_shape: Shape = NO_SHAPE) -> torch.Tensor:
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
