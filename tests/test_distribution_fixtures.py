"""One table of fixtures, every distribution class of ``ppltopics.distributions`` run through the
same checks (after Pyro's ``tests/distributions/conftest.py``):

* shapes: ``batch_shape``/``event_shape``, ``sample(sample_shape)``, ``log_prob`` of a sample;
* ``expand``: a new leading batch dimension, draws and densities that broadcast like the
  original's;
* validation: each bad parameter set raises ``ValueError`` with ``validate_args=True``;
* goodness of fit of ``sample`` against ``log_prob``: Pyro's
  ``pyro.distributions.testing.gof`` (nearest-neighbour density test for continuous laws,
  Pearson χ² for discrete ones).  A p-value below ``TEST_FAILURE_RATE`` = 1e-3 fails, so
  with random seeds a correct sampler fails one such test in a thousand; the seeds are fixed;
* the score identity ``E_x~p[∂/∂θ log p(x | θ)] = 0`` for continuous laws (a 1-D statistic
  with much more power than the nearest-neighbour test against a sampler drawing from the
  wrong parameters): the mean score of ``n`` draws over its standard error is N(0, 1) for
  large n, and ``|z| > 3.29`` (two-sided false-failure rate 1e-3) fails.

``NormalInverseWishart`` is included although its value is a pair ``(mu, Sigma)`` (two Pyro
sites, not one ``Distribution``): its event shape is the pair of shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyro
import pytest
import torch
from pyro.distributions.testing.gof import auto_goodness_of_fit, multinomial_goodness_of_fit

from ppltopics.distributions import (
    GEM,
    InverseWishart,
    NestedCRP,
    NormalInverseWishart,
    PolyaGamma,
    RowCategorical,
    VonMisesFisher,
)

D64 = torch.float64
TEST_FAILURE_RATE = 1e-3


def _t(x: Any) -> torch.Tensor:
    return torch.tensor(x, dtype=D64)


@dataclass(frozen=True)
class Fixture:
    """A distribution class with parameters, the shapes they give, bad parameter sets and the
    settings of its goodness-of-fit test."""

    cls: type
    params: dict[str, Any]
    batch_shape: tuple[int, ...]
    event_shape: tuple[int, ...] | tuple[tuple[int, ...], ...]
    bad_params: tuple[dict[str, Any], ...]
    gof_params: dict[str, Any]
    gof_samples: int
    #: "density" (continuous, ``auto_goodness_of_fit``) or "discrete" (Pearson χ²)
    gof_kind: str = "density"
    #: the free coordinates of a batch of draws, (n, k), for the density test
    flatten: Callable[[Any], torch.Tensor] = field(default=lambda x: x.reshape(x.shape[0], -1))
    #: dimension of the manifold the draws lie on (default: that of the flattened draws)
    gof_dim: int | None = None
    #: False for a distribution without batch dimensions (expand only to its own shape)
    expandable: bool = True
    #: a parameter ``log_prob`` is differentiable in, for the score test (None: discrete)
    score_param: str | None = None

    @property
    def id(self) -> str:
        return self.cls.__name__

    def make(self, validate_args: bool | None = None, **override: Any) -> Any:
        return self.cls(**{**self.params, **override}, validate_args=validate_args)


def _spd_batch() -> torch.Tensor:
    return _t([[[2.0, 0.5], [0.5, 1.0]], [[1.0, -0.3], [-0.3, 3.0]]])


def _lower_entries(sigma: torch.Tensor) -> torch.Tensor:
    """(σ00, σ10, σ11): the free coordinates of a 2×2 symmetric matrix."""
    return torch.stack([sigma[..., 0, 0], sigma[..., 1, 0], sigma[..., 1, 1]], -1)


FIXTURES = [
    Fixture(
        InverseWishart,
        {"psi": _spd_batch(), "nu": _t([4.0, 6.5])},
        batch_shape=(2,), event_shape=(2, 2),
        bad_params=({"nu": _t(1.0)}, {"psi": _t([[1.0, 2.0], [0.0, 1.0]])},
                    {"psi": _t([[1.0, 0.0], [0.0, float("nan")]])}),
        gof_params={"psi": _spd_batch()[0], "nu": _t(5.0)}, gof_samples=4000,
        flatten=_lower_entries, score_param="nu",
    ),
    Fixture(
        NormalInverseWishart,
        {"mu0": _t([[0.0], [1.0]]), "kappa0": _t([1.0, 3.0]), "psi0": _t([[1.0]]),
         "nu0": _t(3.0)},
        batch_shape=(2,), event_shape=((1,), (1, 1)),
        bad_params=({"kappa0": _t(0.0)}, {"nu0": _t(0.0)}, {"mu0": _t([[float("inf")]])}),
        gof_params={"mu0": _t([0.5]), "kappa0": _t(2.0), "psi0": _t([[1.5]]), "nu0": _t(4.0)},
        gof_samples=3000,
        flatten=lambda pair: torch.cat([pair[0], pair[1].reshape(-1, 1)], -1),
        score_param="kappa0",
    ),
    Fixture(
        PolyaGamma,
        {"b": _t([1.0, 2.5]), "c": _t([0.0, 1.5])},
        batch_shape=(2,), event_shape=(),
        bad_params=({"b": _t(0.0)}, {"b": _t(float("nan"))}, {"c": _t(float("inf"))}),
        gof_params={"b": _t(2.5), "c": _t(1.0)}, gof_samples=2000,
        flatten=lambda x: x, score_param="c",  # log_prob is differentiable in c only
    ),
    Fixture(
        GEM,
        {"gem_mean": _t([0.3, 0.5]), "gem_scale": _t(2.0), "truncation": 3},
        batch_shape=(2,), event_shape=(3,),
        bad_params=({"gem_mean": _t(1.0)}, {"gem_scale": _t(-1.0)}, {"truncation": 0}),
        gof_params={"gem_mean": _t(0.4), "gem_scale": _t(3.0), "truncation": 3},
        gof_samples=3000,
        flatten=lambda x: x[:, :-1],  # the density is that of the first L − 1 coordinates
        score_param="gem_mean",
    ),
    Fixture(
        NestedCRP,
        {"gamma": 1.0, "depth": 3, "num_docs": 3},
        batch_shape=(), event_shape=(3, 3),
        bad_params=({"gamma": 0.0}, {"depth": 0}, {"num_docs": 0}),
        gof_params={"gamma": 1.5, "depth": 3, "num_docs": 3}, gof_samples=3000,
        gof_kind="discrete", expandable=False,
    ),
    Fixture(
        VonMisesFisher,
        {"loc": _t([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8]]), "concentration": _t([1.0, 5.0])},
        batch_shape=(2,), event_shape=(3,),
        bad_params=({"loc": _t([1.0, 1.0, 0.0])}, {"concentration": _t(-1.0)},
                    {"concentration": _t(float("nan"))}),
        gof_params={"loc": _t([0.0, 0.6, 0.8]), "concentration": _t(2.0)}, gof_samples=4000,
        gof_dim=2, score_param="concentration",  # on the unit sphere S² in R³
    ),
    Fixture(
        RowCategorical,
        {"table": _t([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]), "index": torch.tensor([0, 1, 1, 0])},
        batch_shape=(4,), event_shape=(),
        bad_params=({"table": _t([[0.2, 0.3, 0.6], [0.6, 0.3, 0.1]])},
                    {"table": _t([0.2, 0.3, 0.5])}),
        gof_params={"table": _t([[0.2, 0.3, 0.5], [0.05, 0.15, 0.8]]),
                    "index": torch.tensor([0, 1])},
        gof_samples=4000, gof_kind="discrete",
    ),
]

# every class the package exports has a fixture
EXPORTED = {InverseWishart, NormalInverseWishart, PolyaGamma, GEM, NestedCRP, VonMisesFisher,
            RowCategorical}


@pytest.fixture(params=FIXTURES, ids=lambda f: f.id)
def fix(request: pytest.FixtureRequest) -> Fixture:
    return request.param


# ------------------------------------------------------------------------------ helpers
def _log_prob(d: Any, x: Any) -> torch.Tensor:
    return d.log_prob(*x) if isinstance(x, tuple) else d.log_prob(x)


def _shapes(x: Any) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(v.shape) for v in x) if isinstance(x, tuple) else (tuple(x.shape),)


def _expected(fix: Fixture, lead: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    events = fix.event_shape
    if events and isinstance(events[0], tuple):
        return tuple(lead + ev for ev in events)  # type: ignore[operator]
    return (lead + events,)  # type: ignore[operator]


def _event_shapes(d: Any) -> tuple[int, ...]:
    return tuple(d.event_shape) if hasattr(d, "event_shape") else ()


# ------------------------------------------------------------------------------ the tests
def test_every_distribution_class_has_a_fixture():
    assert {f.cls for f in FIXTURES} == EXPORTED


def test_shapes(fix: Fixture):
    pyro.set_rng_seed(0)
    d = fix.make()
    assert tuple(d.batch_shape) == fix.batch_shape
    if not isinstance(d, NormalInverseWishart):
        assert _event_shapes(d) == fix.event_shape
    one = d.sample()
    assert _shapes(one) == _expected(fix, fix.batch_shape)
    x = d.sample((5,))
    assert _shapes(x) == _expected(fix, (5,) + fix.batch_shape)
    lp = _log_prob(d, x)
    assert lp.shape == (5,) + fix.batch_shape
    assert torch.isfinite(lp).all()
    assert _log_prob(d, one).shape == fix.batch_shape


def test_expand(fix: Fixture):
    pyro.set_rng_seed(1)
    d = fix.make()
    if not fix.expandable:
        assert d.expand(fix.batch_shape) is d
        with pytest.raises(ValueError):
            d.expand((3,) + fix.batch_shape)
        return
    shape = (3,) + fix.batch_shape
    e = d.expand(shape)
    assert tuple(e.batch_shape) == shape
    assert _shapes(e.sample()) == _expected(fix, shape)
    assert _shapes(e.sample((2,))) == _expected(fix, (2,) + shape)
    x = d.sample()  # one draw of the original batch, broadcast over the new dimension
    lp_e = _log_prob(e, x)
    assert lp_e.shape == shape
    torch.testing.assert_close(lp_e, _log_prob(d, x).expand(shape))


def test_validation_rejects_bad_parameters(fix: Fixture):
    fix.make(validate_args=True)  # the good parameters pass
    for bad in fix.bad_params:
        with pytest.raises(ValueError):
            fix.make(validate_args=True, **bad)


def test_goodness_of_fit(fix: Fixture):
    pyro.set_rng_seed(2)
    d = fix.cls(**fix.gof_params)
    n = fix.gof_samples
    x = d.sample((n,))
    if fix.gof_kind == "density":
        probs = _log_prob(d, x).exp()
        gof = auto_goodness_of_fit(fix.flatten(x), probs, dim=fix.gof_dim)
        assert gof > TEST_FAILURE_RATE
    elif isinstance(d, RowCategorical):
        num = d.table.shape[-1]
        values = torch.arange(num)[:, None]  # every category, for every batch element
        probs = _log_prob(d, values).exp()  # (C, batch)
        for i in range(d.batch_shape[0]):
            counts = torch.bincount(x[:, i], minlength=num).to(D64)
            assert multinomial_goodness_of_fit(probs[:, i], counts) > TEST_FAILURE_RATE
    else:  # NestedCRP: the draws are in canonical form, so equal trees are equal arrays
        flat = x.reshape(n, -1).numpy()
        values, counts = np.unique(flat, axis=0, return_counts=True)
        probs = _log_prob(d, torch.as_tensor(values).reshape((-1,) + tuple(d.event_shape)))
        probs = probs.exp()
        # a truncated χ² over the configurations expected often enough for the test
        keep = probs * n >= 10
        assert int(keep.sum()) >= 5
        gof = multinomial_goodness_of_fit(probs[keep], torch.as_tensor(counts, dtype=D64)[keep],
                                          total_count=n)
        assert gof > TEST_FAILURE_RATE


@pytest.mark.parametrize("fix", [f for f in FIXTURES if f.score_param], ids=lambda f: f.id)
def test_score_has_zero_mean(fix: Fixture):
    """``E[∂θ log p(x | θ)] = 0`` under ``x ~ sample()``: per-draw scores from a batch of n
    copies of θ, each scoring its own draw."""
    pyro.set_rng_seed(3)
    n = fix.gof_samples
    d = fix.cls(**fix.gof_params)
    x = d.sample((n,))
    theta = fix.gof_params[fix.score_param]
    batched = theta.expand(n).clone().requires_grad_(True)
    w = fix.cls(**{**fix.gof_params, fix.score_param: batched})
    (score,) = torch.autograd.grad(_log_prob(w, x).sum(), batched)
    z = score.mean() / (score.std() / n**0.5)
    assert abs(float(z)) < 3.29
