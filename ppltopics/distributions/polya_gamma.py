"""Pólya-Gamma distribution ``PG(b, c)`` (Polson, Scott & Windle, JASA 2013).

* :class:`PolyaGamma` — a Pyro ``TorchDistribution``: draws from the ``polyagamma`` package
  (Devroye's exact sampler for integer b), ``log_prob`` by the alternating series of
  PG(b, 0) tilted by ``c``;
* :func:`sample_polyagamma` — the plain-numpy sampler the Gibbs kernels call;
* :func:`polyagamma_log_density` — the log density in numpy (float64 series, redone in
  decimal arithmetic where it cancels).
"""

from __future__ import annotations

import decimal
import math
import warnings

import numpy as np
import torch
from pyro.distributions import TorchDistribution
from scipy.special import gammaln
from torch.distributions import constraints

from ppltopics.distributions._util import NO_SHAPE, Shape, as_tensor, float_dtype
from ppltopics.ops.special import log_cosh

__all__ = [
    "PolyaGamma",
    "sample_polyagamma",
    "polyagamma_log_density",
    "PG_METHODS",
    "PG_SERIES_RTOL",
    "PG_SERIES_MAX_TERMS",
    "PG_SERIES_MAX_DIGITS",
    "PG_FRACTION_TERMS",
]

_LOG_2 = math.log(2.0)
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
        b > 1), ``"devroye"`` (integer b only), ``"alternate"``, ``"saddle"``,
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
        k = np.where(pos, -np.log(np.cos(us)), -log_cosh(us))
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
    Polson, Scott & Windle (2013, JASA, Sect. 2; Biane, Pitman & Yor 2001)::

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
        out[ok] = _pg0_log_density(xo, bo) + bo * log_cosh(0.5 * co) - 0.5 * co * co * xo
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
        dtype = float_dtype(b, c)
        b = as_tensor(b, dtype)
        c = as_tensor(c, dtype, b.device)
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

    def sample(self, sample_shape: Shape = NO_SHAPE) -> torch.Tensor:
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
        value = as_tensor(value, self.b.dtype, self.b.device)
        shape = torch.broadcast_shapes(value.shape, self.batch_shape)
        x, b, c = value.expand(shape), self.b.expand(shape), self.c.expand(shape)
        base = polyagamma_log_density(x.detach().cpu().numpy(), b.detach().cpu().numpy())
        base = torch.as_tensor(base, dtype=value.dtype, device=value.device)
        inside = (x > 0) & torch.isfinite(x)
        tilt = b * log_cosh(0.5 * c) - 0.5 * c * c * torch.where(inside, x, 0.0)
        return base + torch.where(inside, tilt, torch.zeros_like(tilt))
