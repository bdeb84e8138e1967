"""von Mises–Fisher distribution vMF(μ, κ) on the unit sphere S^{D−1} ⊂ R^D, any D ≥ 2.

The normaliser and the mean resultant length (Bessel function ratios) are special functions
in :mod:`ppltopics.ops.special`, re-exported by :mod:`ppltopics.distributions`.
"""

from __future__ import annotations

import pyro
import torch
from pyro.distributions import TorchDistribution
from torch.distributions import constraints

from ppltopics._validation import check_finite
from ppltopics.distributions._util import NO_SHAPE, Shape, as_tensor, float_dtype
from ppltopics.ops.special import VMFMeanResultantLength, VMFScaledLogNormalizer

__all__ = ["VonMisesFisher"]


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
        dtype = float_dtype(loc, concentration)
        loc = as_tensor(loc, dtype)
        concentration = as_tensor(concentration, dtype, device=loc.device)
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
            check_finite("loc", loc)
            check_finite("concentration", concentration)
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
        return VMFScaledLogNormalizer.apply(self.concentration, self.dim)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        kappa = self.concentration
        cos_m1 = (self.loc * value).sum(-1) - 1.0
        return self._scaled_log_normalizer() + kappa * cos_m1

    def rsample(self, sample_shape: Shape = NO_SHAPE) -> torch.Tensor:
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
        return VMFMeanResultantLength.apply(self.concentration, self.dim)

    @property
    def mean(self) -> torch.Tensor:
        return self._mean_resultant_length()[..., None] * self.loc

    def entropy(self) -> torch.Tensor:
        """``H = -log C_D(κ) - κ A_D(κ) = -s(κ) + κ (1 - A_D(κ))``, differentiable in κ."""
        a = self._mean_resultant_length()
        return -self._scaled_log_normalizer() + self.concentration * (1.0 - a)
