"""Exact-enumeration χ² test of a discrete sampler against an enumerated posterior.

On a toy problem small enough to list every latent configuration (``K**N`` topic assignments
of ``N`` tokens), the posterior ``p(z | w) ∝ exp(log_joint(z))`` is computed exactly
(:func:`enumerate_posterior`).  The kernel is run as many *independent short chains* from its
own random initialisation; the final state of each chain is one draw (:func:`final_states`).
Independent chains (rather than one thinned chain) make the draws exactly independent, so
Pearson's χ² statistic has its textbook null distribution; the price is the bias of a finite
run, which :func:`gibbs_scan_law` bounds *exactly*: it propagates the start distribution
through ``sweeps`` systematic-scan single-site Gibbs sweeps of the enumerated target and
:func:`total_variation` measures the remaining distance to the posterior (choose ``sweeps`` so
that it is negligible, e.g. < 1e-6).  Cells with an expected count below 5 are pooled
(:func:`merge_small_cells`) before ``scipy.stats.chisquare``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ppltopics.inference.base import GibbsKernel

__all__ = [
    "MAX_ENUMERATED_STATES",
    "Chi2Result",
    "enumerate_posterior",
    "states_to_index",
    "merge_small_cells",
    "chi2_gof",
    "final_states",
    "enumeration_chi2",
    "gibbs_scan_law",
    "total_variation",
]

#: Largest state space :func:`enumerate_posterior` agrees to list.
MAX_ENUMERATED_STATES = 1 << 20


@dataclass(frozen=True)
class Chi2Result:
    """Pearson χ² goodness of fit of tallied draws against exact cell probabilities.

    ``statistic`` = Σ_bins (O − E)² / E over the bins left after pooling cells with expected
    count below ``min_expected``; ``dof`` = bins − 1; ``p_value`` = P(χ²_dof ≥ statistic).
    ``max_abs_residual`` is the largest standardised residual |O − E|/√E (which bin is off).
    """

    statistic: float
    dof: int
    p_value: float
    num_bins: int
    num_draws: int
    max_abs_residual: float

    def rejects(self, alpha: float) -> bool:
        """True when the fit is rejected at level ``alpha`` (p < alpha)."""
        return self.p_value < alpha


def enumerate_posterior(
    log_target: Callable[[np.ndarray], float], num_sites: int, num_values: int
) -> np.ndarray:
    """Normalised probabilities of every configuration of ``num_sites`` discrete sites.

    ``log_target(x)`` is an unnormalised log density of the int64 vector ``x`` with entries in
    ``[0, num_values)`` (e.g. the collapsed log joint of a topic assignment ``z``).  Cells are
    in C order of the ``(num_values,) * num_sites`` grid: site 0 is the most significant digit
    (:func:`states_to_index`).  Zero-probability cells (``-inf``) are allowed.
    """
    size = num_values**num_sites
    if size > MAX_ENUMERATED_STATES:
        raise ValueError(f"{num_values}**{num_sites} = {size} states is too many to enumerate")
    logp = np.empty(size)
    for i, x in enumerate(itertools.product(range(num_values), repeat=num_sites)):
        logp[i] = log_target(np.asarray(x, dtype=np.int64))
    if not np.isfinite(logp.max()):
        raise ValueError("log_target is -inf (or nan) everywhere")
    p = np.exp(logp - logp.max())
    return p / p.sum()


def states_to_index(states: np.ndarray, num_values: int) -> np.ndarray:
    """Flat cell index (C order, site 0 most significant) of each row of ``states`` (M, N)."""
    states = np.asarray(states, dtype=np.int64)
    if states.ndim == 1:
        states = states[None, :]
    if states.size and (states.min() < 0 or states.max() >= num_values):
        raise ValueError(f"state values outside [0, {num_values})")
    weights = num_values ** np.arange(states.shape[1] - 1, -1, -1, dtype=np.int64)
    return states @ weights


def merge_small_cells(
    observed: np.ndarray, expected: np.ndarray, min_expected: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """Pool cells so that every bin has an expected count of at least ``min_expected``.

    Cells are sorted by expected count (ascending) and consecutive ones pooled until a bin
    reaches ``min_expected``; a remainder below it joins the last bin.  Pooling depends only
    on the expected counts, never on the observed ones, so it does not bias the test.
    """
    observed = np.asarray(observed, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    order = np.argsort(expected, kind="stable")
    obs_bins: list[float] = []
    exp_bins: list[float] = []
    acc_o = acc_e = 0.0
    for i in order:
        acc_o += observed[i]
        acc_e += expected[i]
        if acc_e >= min_expected:
            obs_bins.append(acc_o)
            exp_bins.append(acc_e)
            acc_o = acc_e = 0.0
    if acc_e > 0 or acc_o > 0:
        if not exp_bins:
            obs_bins.append(acc_o)
            exp_bins.append(acc_e)
        else:
            obs_bins[-1] += acc_o
            exp_bins[-1] += acc_e
    return np.asarray(obs_bins), np.asarray(exp_bins)


def chi2_gof(counts: np.ndarray, probs: np.ndarray, min_expected: float = 5.0) -> Chi2Result:
    """χ² goodness of fit of cell ``counts`` to exact cell ``probs`` (pooled, see above).

    A draw in a zero-probability cell is an impossible state: the result has an infinite
    statistic and p = 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    if counts.shape != probs.shape:
        raise ValueError(f"counts {counts.shape} and probs {probs.shape} differ in shape")
    m = int(counts.sum())
    impossible = probs <= 0
    if (counts[impossible] > 0).any():
        return Chi2Result(math.inf, 0, 0.0, 0, m, math.inf)
    obs, exp = merge_small_cells(counts[~impossible], m * probs[~impossible] / probs.sum(),
                                 min_expected)
    if obs.size < 2:
        raise ValueError(f"{m} draws are too few: fewer than 2 bins with expected count "
                         f">= {min_expected}")
    res = stats.chisquare(obs, exp)
    resid = np.abs(obs - exp) / np.sqrt(exp)
    return Chi2Result(float(res.statistic), int(obs.size - 1), float(res.pvalue), int(obs.size),
                      m, float(resid.max()))


def final_states(
    kernel: GibbsKernel, num_chains: int, sweeps: int, seed: int = 0, key: str = "z"
) -> np.ndarray:
    """Final ``state[key]`` of ``num_chains`` independent chains of ``sweeps`` sweeps each.

    Each chain starts from ``kernel.init_state(rng)`` and runs ``kernel.step(..., warmup=False)``.
    All chains read one generator seeded by ``seed``, consecutively, so they use disjoint
    stretches of its stream and are independent; the result is deterministic in ``seed``.
    Returns an (num_chains, len(state[key])) array.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(num_chains):
        state = kernel.init_state(rng)
        for _ in range(sweeps):
            kernel.step(state, rng, warmup=False)
        rows.append(np.array(state[key], dtype=np.int64))
    return np.stack(rows)


def enumeration_chi2(
    kernel: GibbsKernel,
    probs: np.ndarray,
    num_chains: int,
    sweeps: int,
    seed: int = 0,
    key: str = "z",
    min_expected: float = 5.0,
) -> Chi2Result:
    """χ² test that a kernel's draws of the discrete vector ``state[key]`` follow ``probs``.

    ``probs`` are the exact probabilities of all ``K**N`` configurations in the order of
    :func:`enumerate_posterior`.  Draws are the final states of ``num_chains`` independent
    chains of ``sweeps`` sweeps (:func:`final_states`): exactly independent, with a start-up
    bias that :func:`gibbs_scan_law` bounds for a correct single-site Gibbs kernel.

    Null hypothesis: the draws follow ``probs``.  A correct kernel is rejected at level
    ``alpha`` with probability ≈ ``alpha`` (when the start-up bias is negligible).
    """
    states = final_states(kernel, num_chains, sweeps, seed, key)
    n = states.shape[1]
    k = int(round(probs.size ** (1.0 / n)))
    if k**n != probs.size:
        raise ValueError(f"probs has {probs.size} cells, not K**{n} for any K")
    counts = np.bincount(states_to_index(states, k), minlength=probs.size)
    return chi2_gof(counts, probs, min_expected)


def gibbs_scan_law(
    probs: np.ndarray,
    num_sites: int,
    num_values: int,
    sweeps: int,
    init: np.ndarray | None = None,
    order: Sequence[int] | None = None,
) -> np.ndarray:
    """Exact law after ``sweeps`` systematic-scan single-site Gibbs sweeps targeting ``probs``.

    Starts from ``init`` (default: uniform over all cells, i.e. i.i.d. uniform sites, which is
    how the topic-model kernels initialise) and updates sites in ``order`` (default
    ``0..N-1``, the token order of the LDA sweeps).  A site update replaces the law μ by
    μ'(x) = [Σ_k μ(x with site n = k)] · π(x) / Σ_k π(x with site n = k).
    Compare with ``probs`` by :func:`total_variation` to bound the start-up bias of
    :func:`enumeration_chi2`.
    """
    shape = (num_values,) * num_sites
    pi = np.asarray(probs, dtype=np.float64).reshape(shape)
    mu = (np.full(shape, 1.0 / pi.size) if init is None
          else np.asarray(init, dtype=np.float64).reshape(shape))
    sites = list(range(num_sites)) if order is None else list(order)
    cond = []
    for n in sites:
        denom = pi.sum(axis=n, keepdims=True)
        cond.append(np.divide(pi, denom, out=np.zeros_like(pi), where=denom > 0))
    for _ in range(sweeps):
        for n, c in zip(sites, cond, strict=True):
            mu = mu.sum(axis=n, keepdims=True) * c
    return mu.ravel()


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """Total-variation distance ½ Σ |p − q|."""
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())
