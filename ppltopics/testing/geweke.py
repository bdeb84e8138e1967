"""Geweke's (JASA 2004, "Getting it right") joint-distribution test of a posterior sampler.

Two simulators of the *joint* ``p(latent, data)``: the *marginal-conditional* one draws the
generative story forward independently (e.g.
:func:`ppltopics.testing.forward.pyro_forward_sampler`); the *successive-conditional* one is a
Markov chain alternating ``latent ~ kernel(· | data)`` (the sampler under test, e.g.
:class:`ppltopics.testing.forward.CorpusConditional`) and ``data ~ p(data | latent)`` (the
model's exact data conditional).  If the kernel leaves ``p(latent | data)`` invariant, the chain
leaves the joint invariant, so the means of every test function ``g(latent, data)`` agree.
:func:`geweke_test` compares them with a two-sample t statistic whose successive-chain
variance comes from batch means (:func:`batch_means_variance`), Welch–Satterthwaite degrees of
freedom, and a Bonferroni correction across test functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["GewekeRow", "GewekeResult", "batch_means_variance", "geweke_test"]


@dataclass(frozen=True)
class GewekeRow:
    """Comparison of one test function's means under the two simulators.

    ``statistic`` = (mean_forward − mean_successive) / se with
    ``se² = var_forward / num_forward + batch-means variance of the successive mean``;
    ``p_value`` is two-sided under Student's t with Welch–Satterthwaite ``dof``.
    ``ess_successive`` = var_successive / (batch-means variance of its mean).
    """

    name: str
    mean_forward: float
    mean_successive: float
    se: float
    statistic: float
    dof: float
    p_value: float
    ess_successive: float


@dataclass
class GewekeResult:
    """Outcome of :func:`geweke_test` (one row per test function).

    ``passed`` is False when some p-value is below ``alpha / len(rows)`` (Bonferroni), so a
    correct kernel fails with probability at most ≈ ``alpha``.  ``values_forward`` and
    ``values_successive`` hold the test-function values (for P-P plots).
    """

    rows: list[GewekeRow]
    alpha: float
    num_forward: int
    num_successive: int
    values_forward: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    values_successive: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def p_min(self) -> float:
        return min(r.p_value for r in self.rows)

    @property
    def p_bonferroni(self) -> float:
        """Family-wise p-value: min(1, m · min_i p_i)."""
        return min(1.0, len(self.rows) * self.p_min)

    @property
    def passed(self) -> bool:
        return self.p_bonferroni >= self.alpha

    def row(self, name: str) -> GewekeRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def __str__(self) -> str:
        head = (f"Geweke test: {self.num_forward} forward draws, {self.num_successive} "
                f"successive draws, family-wise alpha={self.alpha:g} (Bonferroni), "
                f"p_bonferroni={self.p_bonferroni:.3g} -> {'pass' if self.passed else 'FAIL'}")
        lines = [head, f"{'test function':<24}{'forward':>12}{'successive':>12}{'t':>9}"
                       f"{'p':>11}{'ESS':>9}"]
        for r in self.rows:
            lines.append(f"{r.name:<24}{r.mean_forward:>12.5g}{r.mean_successive:>12.5g}"
                         f"{r.statistic:>9.2f}{r.p_value:>11.3g}{r.ess_successive:>9.0f}")
        return "\n".join(lines)


def batch_means_variance(x: np.ndarray, num_batches: int | None = None) -> tuple[float, int]:
    """Variance of the mean of the autocorrelated series ``x`` by non-overlapping batch means.

    ``num_batches`` defaults to ⌊√len(x)⌋ (batch size √n, consistent when the batch size
    grows faster than the autocorrelation time).  Leading values that do not fill a batch are
    dropped.  Returns (variance of the mean, number of batches).
    """
    x = np.asarray(x, dtype=np.float64)
    b = int(math.isqrt(x.size)) if num_batches is None else int(num_batches)
    if b < 2 or x.size < 2 * b:
        raise ValueError(f"need at least 2 batches of 2 values, got {x.size} values, {b} batches")
    size = x.size // b
    means = x[x.size - b * size:].reshape(b, size).mean(axis=1)
    return float(means.var(ddof=1) / b), b


def _stack(items: list[Any]) -> Any:
    """Stack same-shape arrays along a new axis 0; other draws stay a list."""
    if items and all(isinstance(a, np.ndarray) for a in items) \
            and len({a.shape for a in items}) == 1:
        return np.stack(items)
    return items


def _compare(name: str, f: np.ndarray, s: np.ndarray, num_batches: int | None) -> GewekeRow:
    f = np.asarray(f, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    mf, ms = float(f.mean()), float(s.mean())
    vf = float(f.var(ddof=1)) / f.size
    vs, b = batch_means_variance(s, num_batches)
    se = math.sqrt(vf + vs)
    var_s = float(s.var(ddof=1))
    ess = var_s / vs if vs > 0 else float(s.size)
    if se == 0.0:  # both constant
        p = 1.0 if mf == ms else 0.0
        return GewekeRow(name, mf, ms, 0.0, 0.0 if mf == ms else math.inf, math.inf, p, ess)
    denom = (vf**2 / (f.size - 1) if vf > 0 else 0.0) + (vs**2 / (b - 1) if vs > 0 else 0.0)
    dof = se**4 / denom if denom > 0 else math.inf
    t = (mf - ms) / se
    p = float(2.0 * stats.t.sf(abs(t), dof)) if math.isfinite(dof) else \
        float(2.0 * stats.norm.sf(abs(t)))
    return GewekeRow(name, mf, ms, se, t, dof, p, ess)


def geweke_test(
    forward: Callable[[int, np.random.Generator], Iterable[tuple[Any, Any]]],
    latent_step: Callable[[Any, Any, np.random.Generator], Any],
    data_step: Callable[[Any, np.random.Generator], Any],
    test_functions: Mapping[str, Callable[[Any, Any], np.ndarray]],
    *,
    num_forward: int,
    num_successive: int,
    thin: int = 1,
    num_batches: int | None = None,
    seed: int = 0,
    alpha: float = 0.01,
) -> GewekeResult:
    """Geweke's (2004) joint-distribution test of a posterior sampler.

    Parameters
    ----------
    forward
        ``forward(num, rng)`` returns ``num`` independent draws ``(latent, data)`` of the
        generative story (the *marginal-conditional* simulator), e.g.
        :func:`pyro_forward_sampler`.
    latent_step
        ``latent_step(latent, data, rng)`` returns a new latent from a transition that leaves
        ``p(latent | data)`` invariant: the sampler under test (e.g. :class:`CorpusConditional`).
    data_step
        ``data_step(latent, rng)`` returns an exact draw of ``data ~ p(data | latent)`` from the
        model (e.g. :func:`ppltopics.models.checks.lda_word_conditional`).
    test_functions
        ``name -> g``; ``g(latents, data)`` receives the recorded draws stacked along a new
        leading axis (numpy arrays of one shape; lists otherwise) and returns one value per
        draw.  They must be invariant to label switching when labels are not identified.
    num_forward, num_successive
        Forward draws; recorded draws of the successive-conditional chain (one every ``thin``
        iterations of latent_step + data_step).  The chain starts from an extra forward draw,
        so it starts in its stationary law and needs no burn-in.
    num_batches
        Batches for the variance of the successive means (default ⌊√num_successive⌋).
    seed
        Seeds both simulators (independent streams); same seed ⇒ same result.
    alpha
        Family-wise level: a function fails at p < alpha / len(test_functions) (Bonferroni).

    The test statistic per function is a Welch t (see :class:`GewekeRow`); under the null
    (kernel correct) the family fails with probability at most ≈ ``alpha``.
    """
    if not test_functions:
        raise ValueError("no test functions")
    ss_fwd, ss_chain = np.random.SeedSequence(seed).spawn(2)
    rng_f = np.random.default_rng(ss_fwd)
    rng_s = np.random.default_rng(ss_chain)

    draws = list(forward(num_forward, rng_f))
    lat_f = _stack([d[0] for d in draws])
    dat_f = _stack([d[1] for d in draws])

    latent, data = next(iter(forward(1, rng_s)))
    lat_s: list[Any] = []
    dat_s: list[Any] = []
    for it in range(num_successive * thin):
        latent = latent_step(latent, data, rng_s)
        data = data_step(latent, rng_s)
        if (it + 1) % thin == 0:
            lat_s.append(latent)
            dat_s.append(data)
    lat_stack = _stack(lat_s)
    dat_stack = _stack(dat_s)

    rows = []
    vals_f: dict[str, np.ndarray] = {}
    vals_s: dict[str, np.ndarray] = {}
    for name, g in test_functions.items():
        vals_f[name] = np.asarray(g(lat_f, dat_f), dtype=np.float64)
        vals_s[name] = np.asarray(g(lat_stack, dat_stack), dtype=np.float64)
        rows.append(_compare(name, vals_f[name], vals_s[name], num_batches))
    return GewekeResult(rows, alpha, num_forward, num_successive, vals_f, vals_s)
