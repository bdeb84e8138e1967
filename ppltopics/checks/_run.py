"""The three checks: Geweke's joint-distribution test, simulation-based calibration and the
enumeration χ² test, on the generic harness of :mod:`ppltopics.testing`.

Each check takes the kernel (or a zero-argument factory making one; the check modifies the
kernel it runs) and the pieces of the model's story it needs, verifies that the kernel offers
the methods the check calls, and returns a result object of :mod:`ppltopics.checks._results`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
from scipy import stats

from ppltopics.checks._builtin import CheckProblem
from ppltopics.checks._results import EnumerationCheck, GewekeCheck, SBCCheck
from ppltopics.inference.base import GibbsKernel

__all__ = ["geweke", "sbc", "enumeration", "require"]

Forward = Callable[[int, np.random.Generator], Iterable[tuple[Any, Any]]]
LatentStep = Callable[[Any, Any, np.random.Generator], Any]
DataStep = Callable[[Any, np.random.Generator], Any]
TestFunctions = Mapping[str, Callable[[Any, Any], np.ndarray]]


def _make(kernel: Any) -> Any:
    """A kernel from a kernel or a zero-argument factory."""
    if isinstance(kernel, GibbsKernel) or hasattr(kernel, "step"):
        return kernel
    if callable(kernel):
        return kernel()
    raise TypeError(f"expected a GibbsKernel or a function returning one, got "
                    f"{type(kernel).__name__}")


def require(kernel: Any, check: str, *methods: str) -> None:
    """Raise ``TypeError`` naming the first of ``methods`` the kernel does not provide.

    ``resync`` counts as missing when the kernel inherits :class:`GibbsKernel`'s no-op: a
    check that writes latents into a state needs the derived counts rebuilt from them.
    """
    name = type(kernel).__name__
    for m in methods:
        fn = getattr(kernel, m, None)
        inherited_noop = (m == "resync" and isinstance(kernel, GibbsKernel)
                          and type(kernel).resync is GibbsKernel.resync)
        if not callable(fn) or inherited_noop:
            what = {
                "init_state": "init_state(rng) -> state",
                "step": "step(state, rng, warmup)",
                "set_data": "set_data(data), which installs a new data set of the same shape",
                "resync": "resync(state), which rebuilds every count from the latent and the "
                          "data after set_data",
                "log_joint": "log_joint(z) -> float, the collapsed log p(z, data)",
            }.get(m, m)
            raise TypeError(f"{check} needs the kernel to provide {what}; {name} does not "
                            f"implement {m!r}")


def _need(value: Any, check: str, arg: str, hint: str) -> Any:
    if value is None:
        raise TypeError(f"{check} needs {arg}= ({hint})")
    return value


def _latent_step(kernel: Any, latent_step: Any, sweeps: int, check: str) -> LatentStep:
    """The sampler under test as ``latent_step(latent, data, rng)``: ``latent_step`` given
    (a callable, or a class such as ``TreeConditional`` called as ``cls(kernel, sweeps)``),
    otherwise :class:`ppltopics.testing.CorpusConditional` over ``state["z"]``."""
    from ppltopics.testing import CorpusConditional

    require(kernel, check, "init_state", "step", "set_data", "resync")
    if latent_step is None:
        return CorpusConditional(kernel, sweeps=sweeps)
    if isinstance(latent_step, type):
        return latent_step(kernel, sweeps=sweeps)
    return latent_step


def _default_tests(kernel: Any, test_functions: TestFunctions | None,
                   check: str) -> TestFunctions:
    if test_functions is not None:
        if not test_functions:
            raise ValueError(f"{check}: test_functions is empty")
        return test_functions
    from ppltopics.testing import assignment_test_functions

    corpus = getattr(kernel, "corpus", None)
    k = getattr(kernel, "num_topics", None)
    if corpus is None or k is None:
        raise TypeError(f"{check} needs test_functions= (label-invariant g(latents, data)); "
                        f"the defaults need kernel.corpus and kernel.num_topics")
    return assignment_test_functions(corpus.doc_offsets, int(k))


def _label(kernel: Any) -> str:
    method = getattr(kernel, "method", None)
    name = type(kernel).__name__
    return f"{name}({method})" if isinstance(method, str) else name


def geweke(
    kernel: Any,
    forward: Forward | None = None,
    data_step: DataStep | None = None,
    test_functions: TestFunctions | None = None,
    *,
    latent_step: Any = None,
    sweeps: int = 1,
    num_forward: int = 2_000,
    num_successive: int = 10_000,
    thin: int = 1,
    seed: int = 0,
    alpha: float = 1e-3,
) -> GewekeCheck:
    r"""Geweke's (JASA 2004) joint-distribution test of a posterior sampler.

    Compares the means of label-invariant test functions g(latent, data) under two
    simulators of the joint p(latent, data): independent forward draws of the story
    (``forward(num, rng)``, e.g. :func:`ppltopics.testing.pyro_forward_sampler`) and the
    chain alternating ``sweeps`` kernel sweeps latent ~ K(· | data) with an exact draw
    data ~ p(data | latent) (``data_step(latent, rng)``).  A kernel that leaves
    p(latent | data) invariant leaves the joint invariant, so every mean agrees; per function

        t = (ḡ_fwd − ḡ_succ) / √(s²_fwd / n_fwd + σ̂²_BM),

    with the batch-means variance σ̂²_BM of the successive mean and Welch–Satterthwaite
    degrees of freedom; the family fails when min p · m < ``alpha`` (Bonferroni over m
    functions), so a correct kernel fails with probability ≤ ≈ ``alpha``.

    ``kernel`` (or a zero-argument factory) must provide ``init_state``, ``step``,
    ``set_data`` and ``resync`` (a ``TypeError`` names the missing one); its latent is
    ``state["z"]`` unless ``latent_step`` is given (e.g.
    :class:`ppltopics.models.checks.TreeConditional` for trees,
    :class:`~ppltopics.models.checks.CGTMConditional` for CGTM).  ``test_functions``
    default to :func:`ppltopics.testing.assignment_test_functions` (z only: add functions
    coupling z with the data and the log joint to see more defects).
    """
    check = "Geweke's test"
    if isinstance(kernel, CheckProblem):
        p = kernel
        kernel, forward = p.kernel, forward or p.forward
        data_step, latent_step = data_step or p.data_step, latent_step or p.latent_step
        test_functions = test_functions if test_functions is not None else p.test_functions
    k = _make(kernel)
    forward = _need(forward, check, "forward", "forward(num, rng) -> [(latent, data)], e.g. "
                    "ppltopics.testing.pyro_forward_sampler(model, args)")
    data_step = _need(data_step, check, "data_step", "data_step(latent, rng) -> data, an "
                      "exact draw of p(data | latent) under the story")
    step = _latent_step(k, latent_step, sweeps, check)
    tests = _default_tests(k, test_functions, check)
    from ppltopics.testing import geweke_test

    res = geweke_test(forward, step, data_step, tests, num_forward=num_forward,
                      num_successive=num_successive, thin=thin, seed=seed, alpha=alpha)
    return GewekeCheck(check="Geweke", kernel=_label(k), passed=res.passed,
                       p_value=res.p_bonferroni, alpha=alpha,
                       p_values={r.name: r.p_value for r in res.rows},
                       false_failure_rate=alpha, result=res)


def _stack(items: list[Any]) -> Any:
    if items and all(isinstance(a, np.ndarray) for a in items) \
            and len({a.shape for a in items}) == 1:
        return np.stack(items)
    return items


def _rank(truth: float, draws: np.ndarray, rng: np.random.Generator) -> int:
    """#{draws < truth} + a uniform share of the ties (so discrete statistics keep a
    uniform rank under the null)."""
    below = int(np.count_nonzero(draws < truth))
    ties = int(np.count_nonzero(draws == truth))
    return below + int(rng.integers(0, ties + 1))


def _lag1(g: np.ndarray) -> float:
    """Lag-1 autocorrelation of one simulation's draws of a statistic (NaN if constant)."""
    d = g - g.mean()
    den = float(d @ d)
    return float(d[:-1] @ d[1:]) / den if den > 0 and g.size > 2 else math.nan


def sbc(
    kernel: Any,
    forward: Forward | None = None,
    test_functions: TestFunctions | None = None,
    *,
    latent_step: Any = None,
    num_simulations: int = 200,
    num_draws: int = 99,
    warmup: int = 20,
    thin: int = 5,
    num_bins: int = 10,
    seed: int = 0,
    alpha: float = 1e-3,
) -> SBCCheck:
    r"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018).

    For each of ``num_simulations`` simulations: draw (latent*, data) from the story
    (``forward``), install the data, start the kernel from an *independent* prior draw of
    the latent, run ``warmup`` × ``thin`` sweeps, then record ``num_draws`` draws
    ``thin`` sweeps apart.  For every label-invariant statistic g (``test_functions``,
    g(latents, data) as in Geweke's test) the rank

        r = #{l : g(latent_l, data) < g(latent*, data)} + U{0..#ties}

    is uniform on 0..num_draws when the draws are exact, independent posterior draws
    (latent* is itself a posterior draw given data).  Statistics that never differ from the
    truth's value (functions of the data alone) are left out (``uninformative``).  Each
    statistic's ranks are binned into
    ``num_bins`` bins of equal width and tested by Pearson's χ² against the uniform; the
    family fails when min p · m < ``alpha`` (Bonferroni), so a correct kernel fails with
    probability ≤ ≈ ``alpha`` *provided* the thinned draws are close to independent and the
    warm-up has forgotten the start: positively autocorrelated draws make the histogram
    ∪-shaped even for a correct kernel (the truth sits outside a clustered set of draws).
    The result reports each statistic's mean lag-1 autocorrelation between recorded draws
    (``lag1_autocorr``) and its summary warns above 0.1: raise ``thin`` until it is small.

    The kernel needs ``init_state``, ``step``, ``set_data`` and ``resync``; ``latent_step``
    as in :func:`geweke` (it runs ``thin`` sweeps per call).

    simuk (``simuk.SBC``) runs SBC for PyMC/Bambi/NumPyro models by drawing their
    posteriors with those libraries' samplers; it cannot drive a ppltopics kernel, so the
    loop is here and the plots are arviz-plots' (``plot(kind="ecdf")``).
    """
    check = "SBC"
    if num_draws < 1 or num_simulations < num_bins or num_bins < 2:
        raise ValueError(f"need num_draws >= 1 and num_simulations >= num_bins >= 2, got "
                         f"{num_draws}, {num_simulations}, {num_bins}")
    if (num_draws + 1) % num_bins:
        raise ValueError(f"num_draws + 1 = {num_draws + 1} must be a multiple of num_bins = "
                         f"{num_bins} (equal bins of ranks)")
    if isinstance(kernel, CheckProblem):
        p = kernel
        kernel, forward, latent_step = p.kernel, forward or p.forward, latent_step or p.latent_step
        test_functions = test_functions if test_functions is not None else p.test_functions
    k = _make(kernel)
    forward = _need(forward, check, "forward", "forward(num, rng) -> [(latent, data)], e.g. "
                    "ppltopics.testing.pyro_forward_sampler(model, args)")
    step = _latent_step(k, latent_step, thin, check)
    tests = _default_tests(k, test_functions, check)
    names = list(tests)
    rng = np.random.default_rng(seed)
    ranks = np.empty((num_simulations, len(names)), dtype=np.int64)
    varies = np.zeros(len(names), dtype=bool)  # some draw differs from the truth somewhere
    lag1: list[list[float]] = [[] for _ in names]
    for i in range(num_simulations):
        (truth, data), = list(forward(1, rng))
        (latent, _), = list(forward(1, rng))  # an independent start
        for _ in range(warmup):
            latent = step(latent, data, rng)
        draws = []
        for _ in range(num_draws):
            latent = step(latent, data, rng)
            draws.append(latent)
        lat = _stack(draws)
        dat = _stack([data] * num_draws)
        t_lat, t_dat = _stack([truth]), _stack([data])
        for j, name in enumerate(names):
            g = np.asarray(tests[name](lat, dat), dtype=np.float64)
            g0 = float(np.asarray(tests[name](t_lat, t_dat), dtype=np.float64)[0])
            ranks[i, j] = _rank(g0, g, rng)
            varies[j] |= bool(np.any(g != g0))
            r1 = _lag1(g)
            if math.isfinite(r1):
                lag1[j].append(r1)
    edges = np.linspace(0, num_draws + 1, num_bins + 1)
    p_values = {}
    for j, name in enumerate(names):
        if varies[j]:
            hist = np.histogram(ranks[:, j], edges)[0]
            p_values[name] = float(stats.chisquare(hist).pvalue)
    if not p_values:
        raise ValueError("no statistic varies between the posterior draws (statistics of the "
                         "data alone carry no information in SBC)")
    p_fw = min(1.0, len(p_values) * min(p_values.values()))
    pit = (ranks + rng.uniform(size=ranks.shape)) / (num_draws + 1)
    keep = [j for j, name in enumerate(names) if name in p_values]
    return SBCCheck(check="SBC", kernel=_label(k), passed=p_fw >= alpha, p_value=p_fw,
                    alpha=alpha, p_values=p_values, false_failure_rate=alpha,
                    ranks=ranks[:, keep], names=[names[j] for j in keep], num_draws=num_draws,
                    num_bins=num_bins, pit=pit[:, keep],
                    uninformative=[n for n in names if n not in p_values],
                    lag1_autocorr={names[j]: float(np.mean(lag1[j])) if lag1[j] else math.nan
                                   for j in keep})


def enumeration(
    kernel: Any,
    log_joint: Callable[[np.ndarray], float] | None = None,
    *,
    probs: np.ndarray | None = None,
    num_values: int | None = None,
    num_chains: int = 5_000,
    sweeps: int = 15,
    key: str = "z",
    seed: int = 0,
    alpha: float = 1e-3,
) -> EnumerationCheck:
    r"""Exact-enumeration χ² test for a tiny model (K**N ≲ 10⁴ configurations).

    The posterior p(z | data) ∝ exp(log_joint(z)) is listed over every configuration
    (:func:`ppltopics.testing.enumerate_posterior`; or pass the cell probabilities
    ``probs``).  ``num_chains`` independent chains of ``sweeps`` sweeps each, from the
    kernel's own initialisation, give independent draws of ``state[key]``; Pearson's χ²
    compares their cell counts with num_chains · p after pooling cells with expected count
    below 5.  The check fails when p < ``alpha``: a correct kernel fails with probability
    ≈ ``alpha`` plus the effect of the start-up bias, whose total-variation size for a
    single-site systematic-scan Gibbs kernel is reported exactly (``bias_tv``,
    :func:`ppltopics.testing.gibbs_scan_law`; raise ``sweeps`` until it is negligible).

    ``log_joint`` defaults to the kernel's ``log_joint(z)`` method; a ``TypeError`` says so
    when neither exists.  ``num_values`` (K) defaults to ``kernel.num_topics``.
    """
    from ppltopics.testing import (
        enumerate_posterior,
        final_states,
        gibbs_scan_law,
        states_to_index,
        total_variation,
    )
    from ppltopics.testing.enumeration import chi2_gof

    check = "the enumeration test"
    if isinstance(kernel, CheckProblem):
        if kernel.enum_kernel is None:
            raise TypeError(f"toy problem {kernel.name!r} has no enumerable toy (log_joint)")
        kernel, log_joint = kernel.enum_kernel, log_joint or kernel.log_joint
    k = _make(kernel)
    require(k, check, "init_state", "step")
    state0 = k.init_state(np.random.default_rng(seed))
    if key not in state0:
        raise TypeError(f"{check} reads state[{key!r}], which {type(k).__name__} does not have")
    n = int(np.asarray(state0[key]).size)
    kv = num_values if num_values is not None else getattr(k, "num_topics", None)
    if kv is None:
        raise TypeError(f"{check} needs num_values= (values per site): {type(k).__name__} has "
                        f"no num_topics")
    kv = int(kv)
    if probs is None:
        if log_joint is None:
            require(k, check, "log_joint")
            log_joint = k.log_joint
        probs = enumerate_posterior(log_joint, n, kv)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.size != kv**n:
        raise ValueError(f"probs has {probs.size} cells, expected {kv}**{n}")
    states = final_states(k, num_chains, sweeps, seed + 1, key)
    counts = np.bincount(states_to_index(states, kv), minlength=probs.size)
    res = chi2_gof(counts, probs)
    try:
        bias = total_variation(gibbs_scan_law(probs, n, kv, sweeps), probs)
    except (ValueError, MemoryError):
        bias = math.nan
    return EnumerationCheck(check="enumeration", kernel=_label(k),
                            passed=res.p_value >= alpha, p_value=res.p_value, alpha=alpha,
                            p_values={"chi2": res.p_value}, false_failure_rate=alpha,
                            result=res, observed=counts.astype(np.float64),
                            expected=num_chains * probs / probs.sum(), bias_tv=bias)
