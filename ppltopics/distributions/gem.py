"""Truncated GEM(m, π) stick breaking: the level prior of hLDA and GhLDA.

Blei, Griffiths & Jordan (JACM 2010), "The nested Chinese restaurant process and Bayesian
nonparametric inference of topic hierarchies"; GhLDA: Yoshida et al., PLoS ONE 2023.  Depth
``L`` counts the levels including the root (levels 0..L−1).

* :class:`GEM` — the level proportions θ_d of a document as a Pyro ``TorchDistribution``;
* :func:`gem_level_log_prob` — collapsed log p(z_d) of a document's level assignments;
* :func:`gem_level_predictive` — the Pólya-urn predictive of one more level assignment.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from pyro.distributions import TorchDistribution
from scipy.special import gammaln
from torch.distributions import constraints

from ppltopics._validation import check_finite, check_int
from ppltopics.distributions._util import NO_SHAPE, Shape, as_tensor, float_dtype

__all__ = ["GEM", "gem_level_log_prob", "gem_level_predictive"]


def _check_gem_params(gem_mean, gem_scale) -> None:
    """``gem_mean`` in (0, 1) and ``gem_scale`` > 0, both finite (any shapes)."""
    m = torch.as_tensor(gem_mean)
    s = torch.as_tensor(gem_scale)
    check_finite("gem_mean", m)
    check_finite("gem_scale", s)
    if bool(((m <= 0) | (m >= 1)).any()):
        raise ValueError(f"gem_mean must lie in (0, 1), got {m.min().item():.6g}..."
                         f"{m.max().item():.6g}")
    if bool((s <= 0).any()):
        raise ValueError(f"gem_scale must be > 0, got {s.min().item():.6g}")


class GEM(TorchDistribution):
    r"""Truncated GEM(m, π) stick breaking over the ``L`` levels of a path (hLDA's level prior).

    Blei, Griffiths & Jordan (JACM 2010, Sect. 4; hlda-c's ``GEM_MEAN`` m and ``GEM_SCALE`` π)::

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
        dtype = float_dtype(gem_mean, gem_scale)
        m = as_tensor(gem_mean, dtype)
        s = as_tensor(gem_scale, dtype, m.device)
        L = check_int("truncation", truncation)
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

    def rsample(self, sample_shape: Shape = NO_SHAPE) -> torch.Tensor:
        shape = torch.Size(sample_shape)
        if self.truncation == 1:
            return self.gem_mean.new_ones(self._extended_shape(shape))
        sticks = self._sticks_dist().rsample(shape)
        return self.sticks_to_simplex(sticks)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value = as_tensor(value, self.gem_mean.dtype, self.gem_mean.device)
        if self.truncation == 1:
            return torch.zeros(torch.broadcast_shapes(value.shape[:-1], self.batch_shape),
                               dtype=value.dtype, device=value.device)
        sticks, rem = self.simplex_to_sticks(value)
        sticks = sticks.clamp(min=0.0, max=1.0)
        return (self._sticks_dist().log_prob(sticks) - rem.log()).sum(-1)


def _gem_ab(gem_mean: float, gem_scale: float) -> tuple[float, float]:
    """Beta parameters ``(a, b) = (mπ, (1 − m)π)`` of the sticks, checked."""
    m, s = float(gem_mean), float(gem_scale)
    if not (math.isfinite(m) and 0.0 < m < 1.0):
        raise ValueError(f"gem_mean must lie in (0, 1), got {gem_mean!r}")
    if not (math.isfinite(s) and s > 0.0):
        raise ValueError(f"gem_scale must be > 0, got {gem_scale!r}")
    return m * s, (1.0 - m) * s


def _level_counts_array(level_counts) -> np.ndarray:
    """``level_counts`` (..., L) as float64, checked to hold non-negative integers."""
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
