"""Correctness harness for samplers: exact-enumeration χ² and Geweke's joint-distribution test.

Two complementary checks that a kernel samples the posterior its Pyro story defines:

**Exact enumeration** (:func:`enumeration_chi2`).  On a toy problem small enough to list every
latent configuration (``K**N`` topic assignments of ``N`` tokens), the posterior
``p(z | w) ∝ exp(log_joint(z))`` is computed exactly (:func:`enumerate_posterior`).  The kernel
is run as many *independent short chains* from its own random initialisation; the final state
of each chain is one draw.  Independent chains (rather than one thinned chain) make the draws
exactly independent, so Pearson's χ² statistic has its textbook null distribution; the price is
the bias of a finite run, which :func:`gibbs_scan_law` bounds *exactly*: it propagates the
start distribution through ``sweeps`` systematic-scan single-site Gibbs sweeps of the
enumerated target and :func:`total_variation` measures the remaining distance to the
posterior (choose ``sweeps`` so that it is negligible, e.g. < 1e-6).  The bound is the law of
a *correct* kernel with that scan order (the LDA kernels scan tokens in order); a kernel that
scans or blocks differently needs its own bound or more sweeps.  Cells with an expected count
below 5 are pooled (:func:`merge_small_cells`) before ``scipy.stats.chisquare``.

**Geweke's test** (Geweke, JASA 2004, "Getting it right").  Two simulators of the *joint*
``p(z, w)``:

- *marginal-conditional*: independent forward draws of the generative story (the Pyro model,
  :func:`pyro_forward_sampler`);
- *successive-conditional*: a Markov chain alternating ``z ~ kernel(· | w)`` (one or more
  sweeps of the sampler under test, :class:`CorpusConditional`) and ``w ~ p(w | z)`` (the
  model's conditional, e.g. :func:`lda_word_conditional`).

If the kernel leaves ``p(z | w)`` invariant, the chain leaves ``p(z, w)`` invariant, so the
means of any test function ``g(z, w)`` agree.  :func:`geweke_test` compares them with a
two-sample t statistic whose successive-chain variance comes from batch means (the chain is
autocorrelated), Welch–Satterthwaite degrees of freedom, and a Bonferroni correction across
test functions.  Test functions of topic models must be *label invariant* (e.g.
:func:`lda_test_functions`), since topic labels are not identified.  Geweke's test only sees
errors that move the mean of some test function: choose functions that involve every count
the kernel updates (document-topic, word-topic, their coupling, the log joint).

Failure rates: every test here has a stated type-I error.  A χ² test at threshold ``alpha``
rejects a correct kernel with probability ≈ ``alpha`` (asymptotic χ² with expected counts ≥ 5,
plus the exactly bounded finite-run bias); a Geweke test with family-wise ``alpha`` rejects a
correct kernel with probability ≤ ≈ ``alpha`` (Bonferroni; batch-means variance).  With fixed
seeds the outcome is deterministic; the rate is the chance that a *different* seed would fail.

**Reference sampler** (:class:`ReferenceLDAKernel`): a plain dense-count collapsed Gibbs
sweep for LDA, with optional deliberate defects (``mutation="no_remove"``: the current token is
not removed from the counts before its conditional is computed, a defect of public reference
codes).  It is the known-good/known-bad baseline showing that the two tests have power.

Typical use (see ``tests/test_lda_correctness.py``)::

    from ppltopics import testing as T
    probs = T.lda_enumerated_posterior(toy_corpus, hyper)
    res = T.enumeration_chi2(LDAKernel(toy_corpus, hyper), probs, num_chains=10_000,
                             sweeps=15, seed=1)
    assert res.p_value > 1e-3

    fwd = T.pyro_forward_sampler(lda.model, (lengths, V, hyper))
    res = T.geweke_test(fwd, T.CorpusConditional(LDAKernel(corpus, hyper)),
                        T.lda_word_conditional(V, hyper), T.lda_test_functions(offsets, V, hyper),
                        num_forward=5_000, num_successive=50_000, seed=2, alpha=1e-3)
    assert res.passed

Testing a model variant: (1) write its collapsed log joint and enumerate a toy posterior
(:func:`enumerate_posterior`; keep ``K**N`` ≲ 1e3 so 10 000 draws fill the cells); (2) pick
``sweeps`` with :func:`gibbs_scan_law` and run :func:`enumeration_chi2`; (3) write the exact
data conditional ``p(data | latent)`` of its story and label-invariant test functions, and run
:func:`geweke_test` against the Pyro model's forward draws; (4) show once that a mutant of the
kernel (e.g. a :class:`ReferenceLDAKernel`-style defect) fails both.  Reusable pieces:
:func:`assignment_test_functions` (z-only functions), :func:`token_pairs`,
:func:`dirichlet_log_prior_batch` (the collapsed Dirichlet part of a log joint), exact data
draws :func:`niw_prior_draw` and :func:`vmf_draw`; ``tutorials/06_variant.py`` does (3)-(4)
for a spherical GLDA.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
from scipy import stats
from scipy.special import gammaln

from ppltopics.corpus import Corpus
from ppltopics.inference.base import GibbsKernel, State

__all__ = [
    "Chi2Result",
    "enumerate_posterior",
    "states_to_index",
    "merge_small_cells",
    "chi2_gof",
    "final_states",
    "enumeration_chi2",
    "gibbs_scan_law",
    "total_variation",
    "GewekeRow",
    "GewekeResult",
    "batch_means_variance",
    "geweke_test",
    "pyro_forward_sampler",
    "CorpusConditional",
    "lda_enumerated_posterior",
    "lda_word_conditional",
    "lda_test_functions",
    "lda_log_joint_batch",
    "ReferenceLDAKernel",
    "MUTATIONS",
    "niw_prior_draw",
    "glda_vector_conditional",
    "glda_log_joint_batch",
    "glda_test_functions",
    "token_pairs",
    "batch_topic_sizes",
    "assignment_test_functions",
    "dirichlet_log_prior_batch",
]

#: Largest state space :func:`enumerate_posterior` agrees to list.
MAX_ENUMERATED_STATES = 1 << 20


# =============================================================================== enumeration
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


# =============================================================================== Geweke
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
        model (e.g. :func:`lda_word_conditional`).
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


def pyro_forward_sampler(
    model: Callable[..., Any],
    model_args: tuple[Any, ...] = (),
    model_kwargs: Mapping[str, Any] | None = None,
    latent: str | Sequence[str] = "z",
    data: str | Sequence[str] = "w",
) -> Callable[[int, np.random.Generator], list[tuple[Any, Any]]]:
    """Forward simulator for :func:`geweke_test` from a Pyro model run unconditioned.

    Each draw traces ``model(*model_args, **model_kwargs)`` (``pyro.poutine.trace``) and
    returns the values of the ``latent`` and ``data`` sample sites as numpy arrays (a dict of
    arrays when several sites are named).  Torch's global RNG is forked and seeded from the
    numpy generator, so draws are deterministic and the caller's torch RNG is untouched.

    Torch runs single-threaded while drawing (restored afterwards): the tensors of a toy story
    are tiny, and waking intra-op threads on a busy machine cost milliseconds per op (measured
    here: ``torch.repeat_interleave`` 4 ms with 2 threads under load vs 5 µs with 1).
    """
    import torch
    from pyro import poutine

    kwargs = dict(model_kwargs or {})

    def pick(trace: Any, names: str | Sequence[str]) -> Any:
        if isinstance(names, str):
            return trace.nodes[names]["value"].detach().cpu().numpy()
        return {n: trace.nodes[n]["value"].detach().cpu().numpy() for n in names}

    def forward(num: int, rng: np.random.Generator) -> list[tuple[Any, Any]]:
        out = []
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(rng.integers(0, 2**63 - 1)))
                for _ in range(num):
                    tr = poutine.trace(model).get_trace(*model_args, **kwargs)
                    out.append((pick(tr, latent), pick(tr, data)))
        finally:
            torch.set_num_threads(threads)
        return out

    return forward


class CorpusConditional:
    """``latent_step`` for :func:`geweke_test`: ``sweeps`` kernel sweeps of ``z | w``.

    Between calls the data change, so each call installs them with ``kernel.set_data(w)``
    (word ids for discrete models, token vectors for Gaussian ones), writes ``z`` into a
    kernel state, calls ``kernel.resync(state)`` to rebuild every count from (z, data), and
    runs ``kernel.step(state, rng, warmup=False)``.  The kernel is modified: give the test a
    kernel of its own.
    """

    def __init__(self, kernel: GibbsKernel, sweeps: int = 1, key: str = "z") -> None:
        self.kernel = kernel
        self.sweeps = int(sweeps)
        self.key = key
        self._state: State | None = None

    def __call__(self, z: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = self.kernel
        k.set_data(w)
        if self._state is None:
            self._state = k.init_state(rng)
        state = self._state
        state[self.key][...] = z
        k.resync(state)
        for _ in range(self.sweeps):
            k.step(state, rng, warmup=False)
        return state[self.key].copy()


# =============================================================================== LDA pieces
def lda_enumerated_posterior(corpus: Corpus, hyper: Any) -> np.ndarray:
    """Exact p(z | w) of LDA over all ``K**N`` assignments of a toy corpus.

    Uses :func:`ppltopics.models.lda.log_joint` (θ and φ integrated out); order as in
    :func:`enumerate_posterior`.
    """
    from ppltopics.models.lda import log_joint

    def target(z: np.ndarray) -> float:
        return log_joint(corpus.word_ids, corpus.doc_offsets, z, hyper, corpus.vocab_size)

    return enumerate_posterior(target, corpus.num_tokens, hyper.num_topics)


def lda_word_conditional(
    vocab_size: int, hyper: Any
) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """Exact draw of the words given the topics, ``w ~ p(w | z)``, under the LDA story.

    A priori φ is independent of z (and θ only affects z), so p(w | z) = ∫ Π_n φ_{z_n, w_n}
    p(φ) dφ: draw φ_k ~ Dirichlet(β·1_V) afresh from the *prior*, then w_n ~ Categorical(φ_{z_n}).
    (Equivalently, a Pólya urn per topic.)  Returns ``data_step(z, rng) -> w`` (int32).
    """
    beta = np.full(vocab_size, float(hyper.beta))
    num_topics = int(hyper.num_topics)

    def data_step(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        phi = rng.dirichlet(beta, size=num_topics)
        cdf = np.cumsum(phi, axis=1)
        u = rng.random(z.shape[0]) * cdf[z, -1]
        w = (u[:, None] >= cdf[z]).sum(axis=1)
        return np.minimum(w, vocab_size - 1).astype(np.int32)

    return data_step


def lda_log_joint_batch(
    z: np.ndarray, w: np.ndarray, doc_offsets: np.ndarray, vocab_size: int, hyper: Any
) -> np.ndarray:
    """Collapsed log p(w, z | α, β) of each row of ``z``, ``w`` (S, N): vectorised
    :func:`ppltopics.models.lda.log_joint` (same formula, see :mod:`ppltopics.models.lda`)."""
    z = np.atleast_2d(np.asarray(z, dtype=np.int64))
    w = np.atleast_2d(np.asarray(w, dtype=np.int64))
    s, n = z.shape
    k, v = int(hyper.num_topics), int(vocab_size)
    alpha = np.asarray(hyper.alpha_vector, dtype=np.float64)
    beta = float(hyper.beta)
    row = np.arange(s)[:, None]
    nkv = np.bincount((row * k * v + z * v + w).ravel(), minlength=s * k * v).reshape(s, k, v)
    nk = nkv.sum(axis=2)
    loglik = (k * gammaln(v * beta) - gammaln(nk + v * beta).sum(axis=1)
              + (gammaln(nkv + beta) - gammaln(beta)).sum(axis=(1, 2)))
    return loglik + dirichlet_log_prior_batch(z, doc_offsets, alpha)


def token_pairs(doc_offsets: np.ndarray) -> tuple[int, np.ndarray, np.ndarray,
                                                 np.ndarray, np.ndarray]:
    """All token pairs i < j and those within one document: (n, i_all, j_all, i_doc, j_doc),
    for pair statistics in test functions (``z[:, i_doc] == z[:, j_doc]``).  Raises
    ``ValueError`` when no document has two tokens."""
    offsets = np.asarray(doc_offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    n = int(offsets[-1])
    docs = np.repeat(np.arange(lengths.size), lengths)
    i_all, j_all = np.triu_indices(n, 1)
    same_doc = docs[i_all] == docs[j_all]
    if not same_doc.any():
        raise ValueError("every document has a single token: no within-document pairs")
    return n, i_all, j_all, i_all[same_doc], j_all[same_doc]


def batch_topic_sizes(k: int) -> Callable[[np.ndarray], np.ndarray]:
    """``f(z)`` with z of shape (batch, n) → per-row topic sizes (batch, k)."""

    def topic_sizes(z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.int64)
        row = np.arange(z.shape[0])[:, None]
        return np.bincount((row * k + z).ravel(), minlength=z.shape[0] * k).reshape(-1, k)

    return topic_sizes


_token_pairs = token_pairs  # the names used before they were public
_batch_topic_sizes = batch_topic_sizes


def assignment_test_functions(
    doc_offsets: np.ndarray, num_topics: int
) -> dict[str, Callable[[np.ndarray, Any], np.ndarray]]:
    """Label-invariant test functions of the topic assignments alone, ``g(z, data)`` with z
    (S, N) (``data`` ignored), for any flat topic model's :func:`geweke_test`:

    - ``topics_used``: number of distinct topics among the tokens;
    - ``largest_topic``: share of the tokens in the largest topic, max_k n_k / N;
    - ``doc_pairs_same_topic``: fraction of within-document token pairs with the same topic
      (the n_dk update and α).

    Add functions that couple z with the data and the collapsed log joint (see
    :func:`lda_test_functions`, :func:`glda_test_functions`).
    """
    n, _, _, i_doc, j_doc = token_pairs(doc_offsets)
    topic_sizes = batch_topic_sizes(int(num_topics))
    return {
        "topics_used": lambda z, d: (topic_sizes(z) > 0).sum(axis=1).astype(np.float64),
        "largest_topic": lambda z, d: topic_sizes(z).max(axis=1) / n,
        "doc_pairs_same_topic": lambda z, d: (z[:, i_doc] == z[:, j_doc]).mean(axis=1),
    }


def dirichlet_log_prior_batch(
    z: np.ndarray, doc_offsets: np.ndarray, alpha: Any, num_topics: int | None = None
) -> np.ndarray:
    """Collapsed log p(z | α) of each row of ``z`` (S, N), θ_d ~ Dirichlet(α) integrated out
    (Dirichlet-multinomial; vectorised :func:`ppltopics.models.lda.log_prior_from_counts`)::

        Σ_d [ lgamma(α₀) − lgamma(N_d + α₀) + Σ_k (lgamma(n_dk + α_k) − lgamma(α_k)) ]

    ``alpha``: scalar or length K (``num_topics`` needed for a scalar).
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.int64))
    a = np.asarray(alpha, dtype=np.float64)
    if a.ndim == 0:
        if num_topics is None:
            raise ValueError("a scalar alpha needs num_topics")
        a = np.full(int(num_topics), float(a))
    k = a.size
    lengths = np.diff(np.asarray(doc_offsets, dtype=np.int64))
    if lengths.sum() != z.shape[1]:
        raise ValueError(f"z has {z.shape[1]} tokens, doc_offsets {lengths.sum()}")
    d = lengths.size
    docs = np.repeat(np.arange(d), lengths)
    row = np.arange(z.shape[0])[:, None]
    ndk = np.bincount((row * d * k + docs * k + z).ravel(), minlength=z.shape[0] * d * k)
    ndk = ndk.reshape(z.shape[0], d, k)
    a0 = a.sum()
    return (d * gammaln(a0) - gammaln(lengths + a0).sum()
            + (gammaln(ndk + a) - gammaln(a)).sum(axis=(1, 2)))


def lda_test_functions(
    doc_offsets: np.ndarray, vocab_size: int, hyper: Any
) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """Label-invariant test functions g(z, w) of LDA for :func:`geweke_test` (batched, (S, N)).

    - ``topics_used``: number of distinct topics among the tokens;
    - ``largest_topic``: share of the tokens in the largest topic, max_k n_k / N;
    - ``doc_pairs_same_topic``: fraction of within-document token pairs with the same topic
      (document-topic clumping; sensitive to the n_dk update and α);
    - ``doc_pairs_same_word``: fraction of within-document token pairs with the same word
      (a statistic of w alone: checks the word conditional and, through z, the coupling);
    - ``word_topic_pairs``: fraction of all token pairs with the same word *and* the same topic
      (couples w and z; sensitive to the n_kw update and β);
    - ``log_joint``: collapsed log p(w, z) (:func:`lda_log_joint_batch`).
    """
    offsets = np.asarray(doc_offsets, dtype=np.int64)
    _, i_all, j_all, i_doc, j_doc = token_pairs(offsets)

    return {
        **assignment_test_functions(offsets, int(hyper.num_topics)),
        "doc_pairs_same_word": lambda z, w: (w[:, i_doc] == w[:, j_doc]).mean(axis=1),
        "word_topic_pairs": lambda z, w: ((w[:, i_all] == w[:, j_all])
                                          & (z[:, i_all] == z[:, j_all])).mean(axis=1),
        "log_joint": lambda z, w: lda_log_joint_batch(z, w, offsets, vocab_size, hyper),
    }


# =============================================================================== reference
#: Deliberate defects of :class:`ReferenceLDAKernel` (for showing that the tests have power).
MUTATIONS: dict[str | None, int] = {
    None: 0,
    # the conditional of token n is computed with token n still counted in its current topic
    # (n_dk, n_kw and n_k): the defect DESIGN §5 asks the tests to rule out
    "no_remove": 1,
    # only the word-topic count n_kw (and n_k) keeps the token; n_dk is updated correctly
    "no_remove_word": 2,
}


@numba.njit(cache=True, nogil=True)
def _reference_sweep(
    word_ids: np.ndarray,
    token_docs: np.ndarray,
    z: np.ndarray,
    ndk: np.ndarray,
    nkw: np.ndarray,
    nk: np.ndarray,
    alpha: np.ndarray,
    beta: float,
    mutation: int,
    rng: np.random.Generator,
) -> None:
    """Dense collapsed Gibbs sweep: p(z_n = k | rest) ∝ (n_dk + α_k)(n_kw + β)/(n_k + Vβ)."""
    num_topics = nk.shape[0]
    vbeta = nkw.shape[1] * beta
    cum = np.empty(num_topics)
    for n in range(word_ids.shape[0]):
        w = word_ids[n]
        d = token_docs[n]
        old = z[n]
        # ---- remove the token (a mutant skips some of this until after the draw)
        if mutation != 1:
            ndk[d, old] -= 1
        if mutation == 0:
            nkw[old, w] -= 1
            nk[old] -= 1
        total = 0.0
        for k in range(num_topics):
            total += (ndk[d, k] + alpha[k]) * (nkw[k, w] + beta) / (nk[k] + vbeta)
            cum[k] = total
        u = rng.random() * total
        new = 0
        while new < num_topics - 1 and cum[new] <= u:
            new += 1
        # ---- counts stay consistent whatever the mutant: remove late, add the new topic
        if mutation == 1:
            ndk[d, old] -= 1
        if mutation != 0:
            nkw[old, w] -= 1
            nk[old] -= 1
        ndk[d, new] += 1
        nkw[new, w] += 1
        nk[new] += 1
        z[n] = new


class ReferenceLDAKernel(GibbsKernel):
    """Plain dense-count collapsed Gibbs sampler for LDA: the reference for the harness tests.

    O(K) per token with dense n_dk (D×K), n_kw (K×V) and n_k; systematic scan in token order,
    like :class:`ppltopics.inference.lda.LDAKernel` (Griffiths & Steyvers, PNAS 2004)::

        p(z_n = k | z_-n, w) ∝ (n_dk + α_k) (n_kw + β) / (n_k + Vβ)   (token n removed)

    ``mutation`` injects a known defect (see :data:`MUTATIONS`); ``None`` is the correct
    sampler.  Counts are kept consistent in every variant, only the conditional is wrong.
    Meant for toy corpora (the dense K×V table).
    """

    model_name = "lda-reference"
    pyro_params = ("z",)

    def __init__(self, corpus: Corpus, hyper: Any, mutation: str | None = None,
                 seed: int = 0) -> None:
        super().__init__(seed)
        if mutation not in MUTATIONS:
            raise ValueError(f"unknown mutation {mutation!r}: one of {list(MUTATIONS)}")
        hyper.validate(num_tokens=corpus.num_tokens, vocab_size=corpus.vocab_size)
        self.corpus = corpus
        self.hyper = hyper
        self.num_topics = int(hyper.num_topics)
        self.mutation = mutation

    @property
    def num_tokens(self) -> int:
        return self.corpus.num_tokens

    def config(self) -> dict[str, Any]:
        return {"model": self.model_name, "num_topics": self.num_topics,
                "beta": float(self.hyper.beta), "mutation": self.mutation}

    def init_state(self, rng: np.random.Generator) -> State:
        z = rng.integers(0, self.num_topics, size=self.corpus.num_tokens).astype(np.int32)
        state: State = {"z": z}
        self.resync(state)
        return state

    def resync(self, state: State) -> None:
        """Rebuild the dense counts from ``state["z"]`` and the current ``self.corpus``."""
        c = self.corpus
        z = state["z"].astype(np.int32, copy=False)
        state["z"] = z
        state["token_docs"] = c.token_docs
        ndk = np.zeros((c.num_docs, self.num_topics), dtype=np.int64)
        np.add.at(ndk, (state["token_docs"], z), 1)
        nkw = np.zeros((self.num_topics, c.vocab_size), dtype=np.int64)
        np.add.at(nkw, (z, c.word_ids), 1)
        state["ndk"], state["nkw"] = ndk, nkw
        state["nk"] = nkw.sum(axis=1)
        state["alpha"] = np.asarray(self.hyper.alpha_vector, dtype=np.float64)

    def step(self, state: State, rng: np.random.Generator, warmup: bool) -> None:
        _reference_sweep(self.corpus.word_ids, state["token_docs"], state["z"], state["ndk"],
                         state["nkw"], state["nk"], state["alpha"], float(self.hyper.beta),
                         MUTATIONS[self.mutation], rng)

    def record(self, state: State) -> dict[str, Any]:
        from ppltopics.models.lda import log_joint_from_counts, log_likelihood_from_counts

        return {
            "lp": log_joint_from_counts(state["ndk"], state["nkw"], self.hyper),
            "log_likelihood": log_likelihood_from_counts(state["nkw"], float(self.hyper.beta)),
            "num_occupied": int(np.count_nonzero(state["nk"])),
        }


# =============================================================================== GLDA pieces
# Adapters for testing Gaussian LDA (ppltopics.models.glda / ppltopics.inference.glda) with
# the harness above: the exact data conditional v | z of the story, a batched collapsed log
# joint, and label-invariant test functions of (z, v).  Plain numpy, independent of the
# kernels' numba NIW algebra (inference._linalg) and of the Pyro story's NIW sampler.
def niw_prior_draw(
    hyper: Any, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``size`` independent draws (μ_k, Σ_k) ~ NIW(μ0, κ0, Ψ0, ν0) (numpy, Bartlett).

    Σ⁻¹ ~ Wishart(Ψ0⁻¹, ν0) by the Bartlett decomposition (L A Aᵀ Lᵀ with L = chol(Ψ0⁻¹),
    A lower triangular, A_ii = √χ²(ν0 − i), A_ij ~ N(0, 1) below the diagonal), so
    Σ ~ IW(Ψ0, ν0); then μ ~ N(μ0, Σ/κ0).  ``hyper`` is a
    :class:`ppltopics.models.glda.ResolvedGLDAHyper`.  Returns (size, M) means and
    (size, M, M) covariances.
    """
    mu0 = np.asarray(hyper.mu0, dtype=np.float64)
    psi0 = np.asarray(hyper.psi0, dtype=np.float64)
    kappa0, nu0 = float(hyper.kappa0), float(hyper.nu0)
    m = mu0.size
    chol_prec = np.linalg.cholesky(np.linalg.inv(psi0))
    a = np.zeros((size, m, m))
    rows, cols = np.tril_indices(m, -1)
    a[:, rows, cols] = rng.standard_normal((size, rows.size))
    diag = np.arange(m)
    a[:, diag, diag] = np.sqrt(rng.chisquare(nu0 - diag, size=(size, m)))
    la = chol_prec @ a  # precision = (L A)(L A)ᵀ
    cov = np.linalg.inv(la @ np.swapaxes(la, 1, 2))
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
    chol_cov = np.linalg.cholesky(cov)
    mean = mu0 + np.einsum("kij,kj->ki", chol_cov, rng.standard_normal((size, m))) / math.sqrt(
        kappa0)
    return mean, cov


def glda_vector_conditional(
    hyper: Any,
) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """Exact draw of the token vectors given the topics, ``v ~ p(v | z)``, under the GLDA story.

    A priori the topic parameters (μ_k, Σ_k) are independent of z (θ only affects z), so
    p(v | z) = ∫ Π_n N(v_n | μ_{z_n}, Σ_{z_n}) p(μ, Σ) dμ dΣ: draw every (μ_k, Σ_k) afresh
    from the NIW *prior* (:func:`niw_prior_draw`), then v_n ~ N(μ_{z_n}, Σ_{z_n}).
    ``hyper`` is a :class:`ppltopics.models.glda.ResolvedGLDAHyper`.  Returns
    ``data_step(z, rng) -> v`` ((N, M) float64) for :func:`geweke_test`.
    """
    num_topics = int(hyper.num_topics)

    def data_step(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        z = np.asarray(z, dtype=np.int64)
        mean, cov = niw_prior_draw(hyper, num_topics, rng)
        chol = np.linalg.cholesky(cov)
        eps = rng.standard_normal((z.size, mean.shape[1]))
        return mean[z] + np.einsum("nij,nj->ni", chol[z], eps)

    return data_step


def glda_log_joint_batch(
    z: np.ndarray, v: np.ndarray, doc_offsets: np.ndarray, hyper: Any
) -> np.ndarray:
    """Collapsed log p(v, z) of each draw, ``z`` (S, N) and ``v`` (S, N, M): vectorised
    :func:`ppltopics.models.glda.log_joint` (same formula; empty topics contribute 0)::

        Σ_k [−(n_k M/2) log π + (M/2) log(κ0/κ_n) + (ν0/2) log|Ψ0| − (ν_n/2) log|Ψ_n|
             + log Γ_M(ν_n/2) − log Γ_M(ν0/2)]  +  Σ_d DirMult(n_d· | α)
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.int64))
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 2:
        v = v[None]
    k = int(hyper.num_topics)
    alpha = np.asarray(hyper.alpha, dtype=np.float64)
    loglik = _niw_log_marginal_groups(v, z, k, np.asarray(hyper.mu0, dtype=np.float64),
                                      float(hyper.kappa0), float(hyper.nu0),
                                      np.asarray(hyper.psi0, dtype=np.float64))
    return loglik + dirichlet_log_prior_batch(z, doc_offsets, alpha, k)


def glda_test_functions(
    doc_offsets: np.ndarray, hyper: Any
) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """Label-invariant test functions g(z, v) of GLDA for :func:`geweke_test` (batched:
    ``z`` (S, N), ``v`` (S, N, M)).

    - ``topics_used``: number of distinct topics among the tokens;
    - ``largest_topic``: share of the tokens in the largest topic;
    - ``doc_pairs_same_topic``: fraction of within-document token pairs with the same topic
      (the n_dk update and α);
    - ``same_topic_rel_dist``: mean over all token pairs of
      1[z_i = z_j]·‖v_i − v_j‖² / (‖v_i − μ0‖² + ‖v_j − μ0‖²) (couples z and v: within-topic
      spread relative to the distance from μ0, i.e. the scatter the kernels maintain);
    - ``same_topic_cos``: mean over all token pairs of 1[z_i = z_j]·cos(v_i − μ0, v_j − μ0)
      (topics off μ0 with their own direction: the sums and κ0);
    - ``log_mean_offset``: log ‖mean_n v_n − μ0‖ (a statistic of v: checks the data
      conditional against the forward draws);
    - ``log_joint``: collapsed log p(v, z) (:func:`glda_log_joint_batch`).

    With a small ν0 (e.g. M + 2) the topic covariances are heavy tailed (E[Σ²] is infinite for
    ν0 ≤ M + 3), so polynomials of v such as ‖v_i − v_j‖² have infinite variance and would
    void the t statistics; every function here is bounded or a logarithm.
    """
    offsets = np.asarray(doc_offsets, dtype=np.int64)
    _, i_all, j_all, _, _ = token_pairs(offsets)
    mu0 = np.asarray(hyper.mu0, dtype=np.float64)

    def same(z: np.ndarray) -> np.ndarray:
        return z[:, i_all] == z[:, j_all]

    def rel_dist(z: np.ndarray, v: np.ndarray) -> np.ndarray:
        sq = ((v - mu0) ** 2).sum(axis=2)
        d2 = ((v[:, i_all] - v[:, j_all]) ** 2).sum(axis=2)
        return (same(z) * d2 / (sq[:, i_all] + sq[:, j_all])).mean(axis=1)

    def cos(z: np.ndarray, v: np.ndarray) -> np.ndarray:
        xc = v - mu0
        u = xc / np.linalg.norm(xc, axis=2, keepdims=True)
        return (same(z) * (u[:, i_all] * u[:, j_all]).sum(axis=2)).mean(axis=1)

    return {
        **assignment_test_functions(offsets, int(hyper.num_topics)),
        "same_topic_rel_dist": rel_dist,
        "same_topic_cos": cos,
        "log_mean_offset": lambda z, v: np.log(np.linalg.norm(v.mean(axis=1) - mu0, axis=1)),
        "log_joint": lambda z, v: glda_log_joint_batch(z, v, offsets, hyper),
    }


# =============================================================================== CGTM pieces
# Adapters for testing the correlated Gaussian topic model (ppltopics.models.cgtm /
# ppltopics.inference.cgtm).  Its latent state is (z, η, μ_η, Σ_η): unlike GLDA, the document
# part is not integrated out, so the latent of :func:`geweke_test` is a dict
# ``{"z", "eta", "eta_mean", "eta_cov"}`` (the Pyro story's site names) and the successive
# chain carries all four between calls (:class:`CGTMConditional`).  The data conditional
# v | z is GLDA's (:func:`glda_vector_conditional` with the topic prior): v depends on
# (η, μ_η, Σ_η) only through z.
__all__ += ["CGTM_LATENT_SITES", "CGTMConditional", "cgtm_vector_conditional", "stack_latents",
            "cgtm_log_joint_batch", "cgtm_test_functions"]

CGTM_LATENT_SITES = ("z", "eta", "eta_mean", "eta_cov")


class CGTMConditional:
    """``latent_step`` for :func:`geweke_test` over CGTM's latent ``(z, η, μ_η, Σ_η)``.

    ``latent`` is a dict with keys :data:`CGTM_LATENT_SITES` (as
    ``pyro_forward_sampler(cgtm.model, ..., latent=CGTM_LATENT_SITES, data="v")`` returns
    it).  Each call installs the vectors (``kernel.set_data(v)``), writes z into the kernel
    state and rebuilds the counts (``resync``), writes η, μ_η and Σ_η into the state keys
    ``eta``, ``eta_mu``, ``eta_cov``, runs ``sweeps`` kernel sweeps and returns the new
    latent dict (copies).  :class:`CorpusConditional` would carry z only: η, μ_η, Σ_η would
    live on in the kernel state between calls — still a valid chain on the joint, since v
    depends on them only through z, but the chain would not start from the forward draw's
    η (so not in its stationary law) and test functions could not see η.
    """

    def __init__(self, kernel: GibbsKernel, sweeps: int = 1) -> None:
        self.kernel = kernel
        self.sweeps = int(sweeps)
        self._state: State | None = None

    def __call__(self, latent: Mapping[str, np.ndarray], v: np.ndarray,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        k = self.kernel
        k.set_data(v)
        if self._state is None:
            self._state = k.init_state(rng)
        state = self._state
        state["z"][...] = latent["z"]
        k.resync(state)
        state["eta"] = np.array(latent["eta"], dtype=np.float64)
        state["eta_mu"] = np.array(latent["eta_mean"], dtype=np.float64)
        state["eta_cov"] = np.array(latent["eta_cov"], dtype=np.float64)
        for _ in range(self.sweeps):
            k.step(state, rng, warmup=False)
        return {"z": state["z"].copy(), "eta": state["eta"].copy(),
                "eta_mean": np.array(state["eta_mu"]), "eta_cov": np.array(state["eta_cov"])}


def cgtm_vector_conditional(
    hyper: Any,
) -> Callable[[Mapping[str, np.ndarray], np.random.Generator], np.ndarray]:
    """Exact draw ``v ~ p(v | z)`` under the CGTM story from a CGTM latent dict: GLDA's
    (:func:`glda_vector_conditional` with ``hyper.topic_hyper``, fresh topics from their NIW
    prior), since v depends on (η, μ_η, Σ_η) only through z.  ``hyper`` is a
    :class:`ppltopics.models.cgtm.ResolvedCGTMHyper`."""
    step = glda_vector_conditional(hyper.topic_hyper)

    def data_step(latent: Mapping[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        return step(latent["z"], rng)

    return data_step


def stack_latents(latents: Any) -> dict[str, np.ndarray]:
    """CGTM latents as a dict of stacked arrays (leading axis: draw).

    Accepts what :func:`geweke_test` hands to test functions — a list of latent dicts — or a
    dict of already stacked arrays (returned as is)."""
    if isinstance(latents, Mapping):
        return {k: np.asarray(v) for k, v in latents.items()}
    return {k: np.stack([np.asarray(d[k]) for d in latents]) for k in latents[0]}


def _niw_log_marginal_groups(
    x: np.ndarray, groups: np.ndarray, num_groups: int, mu0: np.ndarray, kappa0: float,
    nu0: float, psi0: np.ndarray,
) -> np.ndarray:
    """Σ_g log p(x_{groups = g}) under NIW(μ0, κ0, Ψ0, ν0), batched: ``x`` (S, N, M),
    ``groups`` (S, N) ints in [0, num_groups); empty groups contribute 0::

        Σ_g [−(n_g M/2) log π + (M/2) log(κ0/κ_n) + (ν0/2) log|Ψ0| − (ν_n/2) log|Ψ_n|
             + log Γ_M(ν_n/2) − log Γ_M(ν0/2)]

    with Ψ_n = Ψ0 + Σ(x−μ0)(x−μ0)ᵀ − κ_n d dᵀ, d = Σ(x−μ0)/κ_n."""
    from scipy.special import multigammaln

    m = x.shape[2]
    onehot = (groups[:, :, None] == np.arange(num_groups)).astype(np.float64)  # (S, N, G)
    counts = onehot.sum(axis=1)
    xc = x - mu0
    sums = np.einsum("sng,sni->sgi", onehot, xc)
    scatter = np.einsum("sng,sni,snj->sgij", onehot, xc, xc)
    kappa_n = kappa0 + counts
    nu_n = nu0 + counts
    psi_n = psi0 + scatter - np.einsum("sgi,sgj->sgij", sums, sums) / kappa_n[:, :, None, None]
    _, logdet_n = np.linalg.slogdet(0.5 * (psi_n + np.swapaxes(psi_n, 2, 3)))
    _, logdet0 = np.linalg.slogdet(psi0)
    per = (-0.5 * counts * m * math.log(math.pi)
           + 0.5 * m * (math.log(kappa0) - np.log(kappa_n))
           + 0.5 * nu0 * logdet0 - 0.5 * nu_n * logdet_n
           + multigammaln(0.5 * nu_n, m) - multigammaln(0.5 * nu0, m))
    return np.where(counts > 0, per, 0.0).sum(axis=1)


def cgtm_log_joint_batch(
    z: np.ndarray, v: np.ndarray, eta: np.ndarray, doc_offsets: np.ndarray, hyper: Any
) -> np.ndarray:
    """Collapsed log p(v, z, η) of each draw (``z`` (S, N), ``v`` (S, N, M), ``eta``
    (S, D, K)): vectorised :func:`ppltopics.models.cgtm.log_joint` (plain numpy)::

        Σ_k log p(v_{z=k})  +  Σ_d Σ_n log softmax(η_d)[z_dn]  +  log p(η_1..η_D)

    with every (μ_k, Σ_k) and (μ_η, Σ_η) integrated out.  ``hyper`` is a
    :class:`ppltopics.models.cgtm.ResolvedCGTMHyper`."""
    z = np.atleast_2d(np.asarray(z, dtype=np.int64))
    v = np.asarray(v, dtype=np.float64)
    eta = np.asarray(eta, dtype=np.float64)
    if v.ndim == 2:
        v = v[None]
    if eta.ndim == 2:
        eta = eta[None]
    k = int(hyper.num_topics)
    loglik = _niw_log_marginal_groups(
        v, z, k, np.asarray(hyper.mu0, dtype=np.float64), float(hyper.kappa0),
        float(hyper.nu0), np.asarray(hyper.psi0, dtype=np.float64))
    lengths = np.diff(np.asarray(doc_offsets, dtype=np.int64))
    docs = np.repeat(np.arange(lengths.size), lengths)
    log_theta = eta - np.logaddexp.reduce(eta, axis=2, keepdims=True)  # (S, D, K)
    row = np.arange(z.shape[0])[:, None]
    log_pz = log_theta[row, docs[None, :], z].sum(axis=1)
    log_eta = _niw_log_marginal_groups(
        eta, np.zeros(eta.shape[:2], dtype=np.int64), 1,
        np.asarray(hyper.eta_mu0, dtype=np.float64), float(hyper.eta_kappa0),
        float(hyper.eta_nu0), np.asarray(hyper.eta_psi0, dtype=np.float64))
    return loglik + log_pz + log_eta


def cgtm_test_functions(
    doc_offsets: np.ndarray, hyper: Any
) -> dict[str, Callable[[Any, np.ndarray], np.ndarray]]:
    """Label-invariant test functions g(latents, v) of CGTM for :func:`geweke_test`.

    ``latents``: CGTM latent dicts (a list, or stacked, :func:`stack_latents`); ``v``
    (S, N, M).  Label invariance needs an exchangeable η prior (``eta_mu0`` constant,
    ``eta_psi0`` invariant under permutations, e.g. s·I).

    - GLDA's z/v functions (:func:`glda_test_functions` without its Dirichlet log joint):
      ``topics_used``, ``largest_topic``, ``doc_pairs_same_topic``, ``same_topic_rel_dist``,
      ``same_topic_cos``, ``log_mean_offset``;
    - ``eta_spread``: mean over documents of max_k η_dk − min_k η_dk (|η_d1 − η_d2| for K = 2:
      the part of η the likelihood sees; the η step's variance);
    - ``eta_level``: mean of all η_dk (the common mode, informed by the prior alone);
    - ``log_eta_var``: log of the across-document variance of η_·k, averaged over k;
    - ``assigned_log_weight``: mean over tokens of log softmax(η_d)[z_n] (couples z and η: a
      z-step that ignores η moves it);
    - ``eta_mean_level``, ``eta_mean_spread``: mean and max − min of μ_η;
    - ``log_det_eta_cov``: log det Σ_η;  ``eta_cov_corr``: mean off-diagonal correlation of
      Σ_η (K ≥ 2);
    - ``log_joint``: collapsed log p(v, z, η) (:func:`cgtm_log_joint_batch`).

    Polynomials of η have finite variance only if Σ_η has enough moments: E[η⁴] needs
    E[Σ_η²] < ∞, i.e. ``eta_nu0 > K + 3``; take ``eta_nu0 ≥ K + 4`` in a Geweke test
    (``log_eta_var`` is a logarithm, the others are linear or bounded in η).
    """
    offsets = np.asarray(doc_offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    docs = np.repeat(np.arange(lengths.size), lengths)
    k = int(hyper.num_topics)
    glda_fns = glda_test_functions(offsets, hyper.topic_hyper)
    glda_fns.pop("log_joint")
    off_diag = ~np.eye(k, dtype=bool)

    def wrap(f: Callable[[np.ndarray, np.ndarray], np.ndarray]):
        return lambda lat, v: f(stack_latents(lat)["z"], np.asarray(v))

    def eta_fn(f: Callable[[dict[str, np.ndarray]], np.ndarray]):
        return lambda lat, v: f(stack_latents(lat))

    def spread(x: np.ndarray) -> np.ndarray:
        return x.max(axis=-1) - x.min(axis=-1)

    def assigned(s: dict[str, np.ndarray]) -> np.ndarray:
        eta, z = s["eta"], s["z"].astype(np.int64)
        log_theta = eta - np.logaddexp.reduce(eta, axis=2, keepdims=True)
        row = np.arange(z.shape[0])[:, None]
        return log_theta[row, docs[None, :], z].mean(axis=1)

    def cov_corr(s: dict[str, np.ndarray]) -> np.ndarray:
        c = s["eta_cov"]
        sd = np.sqrt(np.diagonal(c, axis1=1, axis2=2))
        r = c / (sd[:, :, None] * sd[:, None, :])
        return r[:, off_diag].mean(axis=1) if k > 1 else np.zeros(c.shape[0])

    out: dict[str, Callable[[Any, np.ndarray], np.ndarray]] = {
        name: wrap(f) for name, f in glda_fns.items()}
    out.update({
        "eta_spread": eta_fn(lambda s: spread(s["eta"]).mean(axis=1)),
        "eta_level": eta_fn(lambda s: s["eta"].mean(axis=(1, 2))),
        "log_eta_var": eta_fn(lambda s: np.log(s["eta"].var(axis=1, ddof=1).mean(axis=1))),
        "assigned_log_weight": eta_fn(assigned),
        "eta_mean_level": eta_fn(lambda s: s["eta_mean"].mean(axis=1)),
        "eta_mean_spread": eta_fn(lambda s: spread(s["eta_mean"])),
        "log_det_eta_cov": eta_fn(lambda s: np.linalg.slogdet(s["eta_cov"])[1]),
        "eta_cov_corr": eta_fn(cov_corr),
        "log_joint": lambda lat, v: (lambda s: cgtm_log_joint_batch(
            s["z"], v, s["eta"], offsets, hyper))(stack_latents(lat)),
    })
    return out


# =============================================================================== tree pieces
# Adapters for testing the nested-CRP tree models (ppltopics.models.hlda / ghlda and their
# kernels).  The latent of :func:`geweke_test` is a dict ``{"paths": (D, L), "levels": (N,)}``
# (int32; the shared conventions of ppltopics.models.hlda), the data are word ids (hLDA) or an
# (N, M) matrix of token vectors (GhLDA).  Node ids are not identified: every test function
# here is invariant to relabelling the nodes, and the batched log joints canonicalise each
# draw (ppltopics.distributions.canonical_paths) before counting.
__all__ += ["TREE_LATENT_KEYS", "tree_forward_sampler", "TreeConditional",
            "stack_tree_latents", "enumerate_ncrp_paths", "tree_state_index",
            "tree_enumerated_posterior", "hlda_word_conditional", "ghlda_vector_conditional",
            "hlda_log_joint_batch", "ghlda_log_joint_batch", "tree_test_functions",
            "hlda_test_functions", "ghlda_test_functions"]

TREE_LATENT_KEYS = ("paths", "levels")

#: Draws per block in the batched tree log joints (bounds memory to ~ block·N·G·M² floats).
_TREE_BLOCK = 2048


def tree_forward_sampler(
    model: Callable[..., Any],
    model_args: tuple[Any, ...] = (),
    model_kwargs: Mapping[str, Any] | None = None,
    data: str = "w",
) -> Callable[[int, np.random.Generator], list[tuple[dict[str, np.ndarray], np.ndarray]]]:
    """Forward simulator of a tree story for :func:`geweke_test`.

    Runs :func:`pyro_forward_sampler` on ``model`` (``ppltopics.models.hlda.model`` with
    ``data="w"``, ``ppltopics.models.ghlda.model`` with ``data="v"``) and returns draws
    ``({"paths": int32 (D, L), "levels": int32 (N,)}, data)``: the Pyro sites ``"paths"`` and
    ``"z"`` (the level of each token) renamed to the kernels' state keys.
    """
    fwd = pyro_forward_sampler(model, model_args, model_kwargs, latent=("paths", "z"),
                               data=data)

    def forward(num: int, rng: np.random.Generator):
        return [({"paths": lat["paths"].astype(np.int32), "levels": lat["z"].astype(np.int32)},
                 d) for lat, d in fwd(num, rng)]

    return forward


class TreeConditional:
    """``latent_step`` for :func:`geweke_test` over a tree state ``{"paths", "levels"}``.

    The tree analogue of :class:`CorpusConditional`.  Each call installs the data with
    ``kernel.set_data(data)`` (word ids for hLDA, the (N, M) token vectors for GhLDA), writes
    ``paths`` and ``levels`` into a kernel state (created once by ``kernel.init_state``;
    the arrays are *replaced*, keeping the dtype the kernel chose), calls
    ``kernel.resync(state)`` — which must rebuild the tree (parent, node levels, per-node
    document counts, free ids) and every count/statistic from ``state["paths"]``,
    ``state["levels"]`` and the data — and runs ``sweeps`` sweeps
    ``kernel.step(state, rng, warmup=False)``.  Returns copies of the new paths and levels.

    With ``canonical=True`` (default) the paths handed to ``resync`` are in canonical form
    (ids ``0..num_nodes − 1`` in creation order, root 0, no gaps), whatever ids the kernel
    used on the previous call; the chain is the same up to node labels.  Give the test a
    kernel of its own (it is modified).
    """

    def __init__(self, kernel: GibbsKernel, sweeps: int = 1, canonical: bool = True) -> None:
        self.kernel = kernel
        self.sweeps = int(sweeps)
        self.canonical = bool(canonical)
        self._state: State | None = None

    def __call__(self, latent: Mapping[str, np.ndarray], data: np.ndarray,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        from ppltopics.distributions import canonical_paths

        k = self.kernel
        k.set_data(data)
        if self._state is None:
            self._state = k.init_state(rng)
        state = self._state
        paths = np.asarray(latent["paths"])
        if self.canonical:
            paths = canonical_paths(paths)
        dt_p = state["paths"].dtype if "paths" in state else np.int32
        dt_l = state["levels"].dtype if "levels" in state else np.int32
        state["paths"] = np.array(paths, dtype=dt_p)
        state["levels"] = np.array(latent["levels"], dtype=dt_l)
        k.resync(state)
        for _ in range(self.sweeps):
            k.step(state, rng, warmup=False)
        return {"paths": np.array(state["paths"], dtype=np.int32),
                "levels": np.array(state["levels"], dtype=np.int32)}


def stack_tree_latents(latents: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(paths (S, D, L), levels (S, N))`` int64 from a list of tree latent dicts (what
    :func:`geweke_test` hands to test functions) or a dict of stacked arrays."""
    s = stack_latents(latents)
    return np.asarray(s["paths"], dtype=np.int64), np.asarray(s["levels"], dtype=np.int64)


def _canonical_batch(paths: np.ndarray) -> np.ndarray:
    from ppltopics.distributions import canonical_paths

    return np.stack([canonical_paths(p) for p in paths])


# ------------------------------------------------------------------------- enumeration
def enumerate_ncrp_paths(num_docs: int, depth: int) -> np.ndarray:
    """Every canonical path configuration of ``num_docs`` documents in a depth-``depth`` tree
    (the support of :class:`ppltopics.distributions.NestedCRP`), as a (C, D, L) int64 array.

    Generated by the sequential nCRP choices (each document, level by level, goes to an
    existing child or a new one, numbered in creation order), so each configuration appears
    once.  C grows fast (D = 3, L = 3: 12 configurations); keep toys tiny.
    """
    D, L = int(num_docs), int(depth)
    if D < 1 or L < 1:
        raise ValueError("num_docs and depth must be >= 1")
    out: list[np.ndarray] = []

    def rec(d: int, lev: int, node: int, paths: np.ndarray, children: list[list[int]]) -> None:
        if d == D:
            out.append(paths.copy())
            return
        if lev == L:
            rec(d + 1, 1, 0, paths, children)
            return
        for c in list(children[node]) + [-1]:
            kids = [list(x) for x in children]
            if c < 0:
                c = len(kids)
                kids.append([])
                kids[node].append(c)
            paths[d, lev] = c
            rec(d, lev + 1, c, paths, kids)
        paths[d, lev] = 0

    if L == 1:
        return np.zeros((1, D, 1), dtype=np.int64)
    rec(0, 1, 0, np.zeros((D, L), dtype=np.int64), [[]])
    return np.stack(out)


def tree_state_index(paths: np.ndarray, levels: np.ndarray, configs: np.ndarray) -> np.ndarray:
    """Cell of each tree state in the order of :func:`tree_enumerated_posterior`:
    ``config_index · L**N + states_to_index(levels, L)``, with the paths canonicalised and
    looked up in ``configs`` (from :func:`enumerate_ncrp_paths`).  ``paths`` (S, D, L) or
    (D, L), ``levels`` (S, N) or (N,)."""
    p = np.asarray(paths, dtype=np.int64)
    z = np.asarray(levels, dtype=np.int64)
    if p.ndim == 2:
        p, z = p[None], z[None]
    L = p.shape[2]
    lookup = {c.tobytes(): i for i, c in enumerate(np.asarray(configs, dtype=np.int64))}
    canon = _canonical_batch(p)
    try:
        cfg = np.array([lookup[c.tobytes()] for c in canon], dtype=np.int64)
    except KeyError:
        raise ValueError("a paths array is not among the enumerated configurations") from None
    return cfg * L ** z.shape[1] + states_to_index(z, L)


def tree_enumerated_posterior(
    log_target: Callable[[np.ndarray, np.ndarray], float], num_docs: int, depth: int,
    num_tokens: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact posterior over every (canonical paths, levels) state of a toy tree model.

    ``log_target(paths, levels)`` is an unnormalised log density (e.g.
    ``lambda p, z: hlda.log_joint(corpus, p, z, hyper)``).  Returns ``(configs, probs)``:
    ``configs`` (C, D, L) from :func:`enumerate_ncrp_paths` and ``probs`` (C·L**N,) in the
    cell order of :func:`tree_state_index` (levels in the order of :func:`states_to_index`).
    For an enumeration χ² of a kernel: ``counts = np.bincount(tree_state_index(P, Z,
    configs), minlength=probs.size)`` then :func:`chi2_gof`.
    """
    configs = enumerate_ncrp_paths(num_docs, depth)
    L, N = int(depth), int(num_tokens)
    size = configs.shape[0] * L**N
    if size > MAX_ENUMERATED_STATES:
        raise ValueError(f"{size} states is too many to enumerate")
    logp = np.empty(size)
    i = 0
    for p in configs:
        for z in itertools.product(range(L), repeat=N):
            logp[i] = log_target(p, np.asarray(z, dtype=np.int64))
            i += 1
    if not np.isfinite(logp.max()):
        raise ValueError("log_target is -inf (or nan) everywhere")
    prob = np.exp(logp - logp.max())
    return configs, prob / prob.sum()


# ------------------------------------------------------------------------- data | latent
def _token_nodes(paths: np.ndarray, levels: np.ndarray, doc_offsets: np.ndarray):
    """Per token: index of its node among the unique ids of ``paths`` and that node's level;
    returns (token_node (N,), node_level (T,))."""
    off = np.asarray(doc_offsets, dtype=np.int64)
    docs = np.repeat(np.arange(off.size - 1), np.diff(off))
    p = np.asarray(paths, dtype=np.int64)
    ids, first, inv = np.unique(p.ravel(), return_index=True, return_inverse=True)
    node_level = first % p.shape[1]  # the column of the node's first appearance
    inv = inv.reshape(p.shape)
    return inv[docs, np.asarray(levels, dtype=np.int64)], node_level


def hlda_word_conditional(
    doc_offsets: np.ndarray, vocab_size: int, hyper: Any
) -> Callable[[Mapping[str, np.ndarray], np.random.Generator], np.ndarray]:
    """Exact draw ``w ~ p(w | c, z)`` under the hLDA story, for :func:`geweke_test`.

    A priori the node topics are independent of (c, z): draw φ_t ~ Dirichlet(η_{level(t)}·1_V)
    afresh from the prior for every node the paths use, then w_n ~ Categorical(φ_{c_d[z_n]}).
    The Dirichlet draws normalise Gamma variates in log space (Gamma(η) = Gamma(η + 1)·U^{1/η}),
    so small η never gives an all-zero row.  ``hyper`` is an
    :class:`ppltopics.models.hlda.HLDAHyper`.  Returns ``data_step(latent, rng) -> w`` (int32).
    """
    V = int(vocab_size)
    eta = np.asarray(hyper.eta_vector, dtype=np.float64)
    off = np.asarray(doc_offsets, dtype=np.int64)

    def data_step(latent: Mapping[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        node, node_level = _token_nodes(latent["paths"], latent["levels"], off)
        e = eta[node_level][:, None]
        T = node_level.size
        log_g = np.log(rng.gamma(e + 1.0, size=(T, V))) + np.log(rng.random((T, V))) / e
        phi = np.exp(log_g - log_g.max(axis=1, keepdims=True))
        cdf = np.cumsum(phi, axis=1)
        u = rng.random(node.size) * cdf[node, -1]
        w = (u[:, None] >= cdf[node]).sum(axis=1)
        return np.minimum(w, V - 1).astype(np.int32)

    return data_step


def ghlda_vector_conditional(
    doc_offsets: np.ndarray, hyper: Any
) -> Callable[[Mapping[str, np.ndarray], np.random.Generator], np.ndarray]:
    """Exact draw ``v ~ p(v | c, z)`` under the GhLDA story, for :func:`geweke_test`.

    Draw (μ_t, Σ_t) ~ NIW(μ0, κ0, Ψ0·psi_ratio[level(t)], ν0) afresh for every node the paths
    use (:func:`niw_prior_draw`, one call per level), then v_n ~ N(μ_t, Σ_t) with t the node
    of token n.  ``hyper`` is a :class:`ppltopics.models.ghlda.ResolvedGhLDAHyper`.  Returns
    ``data_step(latent, rng) -> v`` ((N, M) float64).
    """
    off = np.asarray(doc_offsets, dtype=np.int64)
    level_hyper = [hyper.level_hyper(lev) for lev in range(hyper.depth)]
    M = hyper.dim

    def data_step(latent: Mapping[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        node, node_level = _token_nodes(latent["paths"], latent["levels"], off)
        T = node_level.size
        mean = np.empty((T, M))
        chol = np.empty((T, M, M))
        for lev in range(hyper.depth):
            at = np.flatnonzero(node_level == lev)
            if at.size:
                m, c = niw_prior_draw(level_hyper[lev], at.size, rng)
                mean[at] = m
                chol[at] = np.linalg.cholesky(c)
        eps = rng.standard_normal((node.size, M))
        return mean[node] + np.einsum("nij,nj->ni", chol[node], eps)

    return data_step


# ------------------------------------------------------------------------- batched log joints
def _tree_prior_batch(canon: np.ndarray, levels: np.ndarray, doc_offsets: np.ndarray,
                      hyper: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """log nCRP + Σ_d log p(z_d | GEM) of canonical draws, and per draw the token nodes
    (S, N), the node levels (S, G) (−1 where unused) and G."""
    from ppltopics.distributions import gem_level_log_prob

    S, D, L = canon.shape
    off = np.asarray(doc_offsets, dtype=np.int64)
    docs = np.repeat(np.arange(D), np.diff(off))
    G = int(canon.max()) + 1
    row = np.arange(S)[:, None, None]
    flat = (row * G + canon).ravel()
    doc_count = np.bincount(flat, minlength=S * G).reshape(S, G)  # docs through each node
    node_level = np.full(S * G, -1, dtype=np.int64)
    node_level[flat] = np.broadcast_to(np.arange(L), canon.shape).ravel()
    node_level = node_level.reshape(S, G)
    g = float(hyper.gamma)
    used = doc_count > 0
    internal = used & (node_level < L - 1)
    nonroot = used & (node_level > 0)
    log_ncrp = (np.where(internal, gammaln(g) - gammaln(g + doc_count), 0.0).sum(axis=1)
                + np.where(nonroot, math.log(g) + gammaln(np.maximum(doc_count, 1)), 0.0)
                .sum(axis=1))
    rows = np.arange(S)[:, None]
    dl = np.bincount((rows * D * L + docs[None, :] * L + levels).ravel(),
                     minlength=S * D * L).reshape(S, D, L)
    log_gem = gem_level_log_prob(dl, hyper.gem_mean, hyper.gem_scale).sum(axis=1)
    token_node = canon[rows, docs[None, :], levels]
    return log_ncrp + log_gem, token_node, node_level, np.asarray(G)


def hlda_log_joint_batch(
    paths: np.ndarray, levels: np.ndarray, w: np.ndarray, doc_offsets: np.ndarray,
    vocab_size: int, hyper: Any, *, canonical: bool = False,
) -> np.ndarray:
    """Collapsed log p(w, z, c) of each draw: ``paths`` (S, D, L), ``levels`` (S, N), ``w``
    (S, N); vectorised :func:`ppltopics.models.hlda.log_joint` (same formula, node ids
    canonicalised per draw, blocks of draws to bound memory).  ``canonical=True`` promises
    that the paths are canonical already (skips the per-draw relabelling)."""
    P = np.asarray(paths, dtype=np.int64)
    Z = np.atleast_2d(np.asarray(levels, dtype=np.int64))
    W = np.atleast_2d(np.asarray(w, dtype=np.int64))
    if P.ndim == 2:
        P = P[None]
    V = int(vocab_size)
    eta = np.asarray(hyper.eta_vector, dtype=np.float64)
    out = np.empty(P.shape[0])
    for a in range(0, P.shape[0], _TREE_BLOCK):
        b = min(a + _TREE_BLOCK, P.shape[0])
        canon = P[a:b] if canonical else _canonical_batch(P[a:b])
        prior, node, node_level, G = _tree_prior_batch(canon, Z[a:b], doc_offsets, hyper)
        G = int(G)
        S = b - a
        rows = np.arange(S)[:, None]
        ntv = np.bincount((rows * G * V + node * V + W[a:b]).ravel(),
                          minlength=S * G * V).reshape(S, G, V)
        nt = ntv.sum(axis=2)
        e = eta[np.maximum(node_level, 0)]
        per = (gammaln(V * e) - gammaln(nt + V * e)
               + (gammaln(ntv + e[:, :, None]) - gammaln(e[:, :, None])).sum(axis=2))
        out[a:b] = prior + np.where(nt > 0, per, 0.0).sum(axis=1)
    return out


def ghlda_log_joint_batch(
    paths: np.ndarray, levels: np.ndarray, v: np.ndarray, doc_offsets: np.ndarray, hyper: Any
) -> np.ndarray:
    """Collapsed log p(v, z, c) of each draw: ``paths`` (S, D, L), ``levels`` (S, N), ``v``
    (S, N, M); vectorised :func:`ppltopics.models.ghlda.log_joint` (NIW marginal per node
    with Ψ0·psi_ratio[level], plain numpy).  ``hyper``: a ResolvedGhLDAHyper."""
    P = np.asarray(paths, dtype=np.int64)
    Z = np.atleast_2d(np.asarray(levels, dtype=np.int64))
    X = np.asarray(v, dtype=np.float64)
    if P.ndim == 2:
        P, X = P[None], X[None]
    mu0 = np.asarray(hyper.mu0, dtype=np.float64)
    level_psi = np.asarray(hyper.level_psi0())
    out = np.empty(P.shape[0])
    for a in range(0, P.shape[0], _TREE_BLOCK):
        b = min(a + _TREE_BLOCK, P.shape[0])
        prior, node, _, G = _tree_prior_batch(_canonical_batch(P[a:b]), Z[a:b], doc_offsets,
                                              hyper)
        total = prior
        for lev in range(hyper.depth):
            groups = np.where(Z[a:b] == lev, node, -1)
            total = total + _niw_log_marginal_groups(X[a:b], groups, int(G), mu0,
                                                     float(hyper.kappa0), float(hyper.nu0),
                                                     level_psi[lev])
        out[a:b] = total
    return out


# ------------------------------------------------------------------------- test functions
def tree_test_functions(
    doc_offsets: np.ndarray, depth: int
) -> dict[str, Callable[[Any, Any], np.ndarray]]:
    """Label-invariant test functions of the tree latent alone, ``g(latents, data)``
    (``latents``: a list of tree latent dicts or stacked arrays; ``data`` ignored):

    - ``nodes_level_l`` (l = 1..L−2): number of nodes at level l;
    - ``num_paths``: number of distinct paths (= nodes at level L−1);
    - ``largest_subtree``, ``second_subtree``: the largest and second largest share of the
      documents under one level-1 node (sorted level-1 subtree sizes; L ≥ 2);
    - ``tokens_level_l`` (l = 0..L−2): share of the tokens at level l;
    - ``doc_pairs_same_level``: fraction of within-document token pairs at the same level
      (the GEM urn).
    """
    off = np.asarray(doc_offsets, dtype=np.int64)
    L = int(depth)
    D = off.size - 1
    _, _, _, i_doc, j_doc = token_pairs(off)

    def distinct(col: np.ndarray) -> np.ndarray:
        s = np.sort(col, axis=1)
        return (np.diff(s, axis=1) != 0).sum(axis=1) + 1.0

    def nodes(lev: int):
        return lambda lat, d: distinct(stack_tree_latents(lat)[0][:, :, lev])

    def subtree(rank: int):
        def f(lat: Any, d: Any) -> np.ndarray:
            col = np.sort(stack_tree_latents(lat)[0][:, :, 1], axis=1)
            S = col.shape[0]
            # run lengths of equal ids along the sorted row = documents per level-1 node
            starts = np.ones_like(col, dtype=bool)
            starts[:, 1:] = col[:, 1:] != col[:, :-1]
            rid = np.cumsum(starts, axis=1) - 1
            sizes = np.zeros((S, D))
            np.add.at(sizes, (np.repeat(np.arange(S), D), rid.ravel()), 1.0)
            sizes = -np.sort(-sizes, axis=1)
            return sizes[:, rank] / D if rank < D else np.zeros(S)
        return f

    def tokens(lev: int):
        return lambda lat, d: (stack_tree_latents(lat)[1] == lev).mean(axis=1)

    out: dict[str, Callable[[Any, Any], np.ndarray]] = {}
    for lev in range(1, L - 1):
        out[f"nodes_level_{lev}"] = nodes(lev)
    if L >= 2:
        out["num_paths"] = nodes(L - 1)
        out["largest_subtree"] = subtree(0)
        if D >= 2:
            out["second_subtree"] = subtree(1)
        for lev in range(L - 1):
            out[f"tokens_level_{lev}"] = tokens(lev)
        out["doc_pairs_same_level"] = lambda lat, d: (
            lambda z: (z[:, i_doc] == z[:, j_doc]).mean(axis=1))(stack_tree_latents(lat)[1])
    return out


def _batch_token_nodes(lat: Any, doc_offsets: np.ndarray) -> np.ndarray:
    P, Z = stack_tree_latents(lat)
    off = np.asarray(doc_offsets, dtype=np.int64)
    docs = np.repeat(np.arange(off.size - 1), np.diff(off))
    return P[np.arange(P.shape[0])[:, None], docs[None, :], Z]


def hlda_test_functions(
    doc_offsets: np.ndarray, vocab_size: int, hyper: Any
) -> dict[str, Callable[[Any, np.ndarray], np.ndarray]]:
    """Label-invariant test functions g(latents, w) of hLDA for :func:`geweke_test`:
    :func:`tree_test_functions` plus

    - ``node_word_pairs``: fraction of all token pairs with the same node *and* the same word
      (couples w with c and z; the node-word counts and η);
    - ``doc_pairs_same_word``: fraction of within-document pairs with the same word (w alone:
      checks the data conditional);
    - ``log_joint``: collapsed log p(w, z, c) (:func:`hlda_log_joint_batch`).
    """
    off = np.asarray(doc_offsets, dtype=np.int64)
    _, i_all, j_all, i_doc, j_doc = token_pairs(off)
    out = tree_test_functions(off, hyper.depth)

    def node_word(lat: Any, w: np.ndarray) -> np.ndarray:
        node = _batch_token_nodes(lat, off)
        w = np.asarray(w)
        return ((node[:, i_all] == node[:, j_all]) & (w[:, i_all] == w[:, j_all])).mean(axis=1)

    out["node_word_pairs"] = node_word
    out["doc_pairs_same_word"] = lambda lat, w: (np.asarray(w)[:, i_doc]
                                                 == np.asarray(w)[:, j_doc]).mean(axis=1)
    out["log_joint"] = lambda lat, w: hlda_log_joint_batch(
        *stack_tree_latents(lat), w, off, vocab_size, hyper)
    return out


def ghlda_test_functions(
    doc_offsets: np.ndarray, hyper: Any
) -> dict[str, Callable[[Any, np.ndarray], np.ndarray]]:
    """Label-invariant test functions g(latents, v) of GhLDA for :func:`geweke_test`
    (``v`` (S, N, M)): :func:`tree_test_functions` plus

    - ``same_node_rel_dist``: mean over all token pairs of 1[same node]·‖v_i − v_j‖² /
      (‖v_i − μ0‖² + ‖v_j − μ0‖²) (within-node vector spread relative to the distance from
      μ0: the scatter the kernels maintain, and Ψ's level ratio);
    - ``same_node_cos``: mean over all token pairs of 1[same node]·cos(v_i − μ0, v_j − μ0)
      (node means off μ0: the sums and κ0);
    - ``level0_rel_spread``: mean of ‖v_n − μ0‖² over root tokens divided by the mean over all
      tokens (0 when no root tokens; bounded; sees the per-level Ψ);
    - ``log_mean_offset``: log ‖mean_n v_n − μ0‖ (v alone);
    - ``log_joint``: collapsed log p(v, z, c) (:func:`ghlda_log_joint_batch`).

    All bounded or logarithms: with small ν0 the covariances are heavy tailed (see
    :func:`glda_test_functions`).  ``hyper``: a ResolvedGhLDAHyper.
    """
    off = np.asarray(doc_offsets, dtype=np.int64)
    _, i_all, j_all, _, _ = token_pairs(off)
    mu0 = np.asarray(hyper.mu0, dtype=np.float64)
    out = tree_test_functions(off, hyper.depth)

    def same(lat: Any) -> np.ndarray:
        node = _batch_token_nodes(lat, off)
        return node[:, i_all] == node[:, j_all]

    def rel_dist(lat: Any, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v)
        sq = ((v - mu0) ** 2).sum(axis=2)
        d2 = ((v[:, i_all] - v[:, j_all]) ** 2).sum(axis=2)
        return (same(lat) * d2 / (sq[:, i_all] + sq[:, j_all])).mean(axis=1)

    def cos(lat: Any, v: np.ndarray) -> np.ndarray:
        xc = np.asarray(v) - mu0
        u = xc / np.linalg.norm(xc, axis=2, keepdims=True)
        return (same(lat) * (u[:, i_all] * u[:, j_all]).sum(axis=2)).mean(axis=1)

    def root_spread(lat: Any, v: np.ndarray) -> np.ndarray:
        sq = ((np.asarray(v) - mu0) ** 2).sum(axis=2)
        root = stack_tree_latents(lat)[1] == 0
        num = np.where(root, sq, 0.0).sum(axis=1) / np.maximum(root.sum(axis=1), 1)
        return num / sq.mean(axis=1)

    out["same_node_rel_dist"] = rel_dist
    out["same_node_cos"] = cos
    out["level0_rel_spread"] = root_spread
    out["log_mean_offset"] = lambda lat, v: np.log(np.linalg.norm(
        np.asarray(v).mean(axis=1) - mu0, axis=1))
    out["log_joint"] = lambda lat, v: ghlda_log_joint_batch(
        *stack_tree_latents(lat), v, off, hyper)
    return out


# =============================================================================== vMF pieces
# An exact, numpy-generator-driven von Mises–Fisher draw for data conditionals of spherical
# stories (vMF topics over unit word vectors; tutorials/06_variant.py): Geweke's successive
# chain draws the data tens of thousands of times, where a torch sampler reseeded from the
# chain's generator per call costs milliseconds.
__all__ += ["vmf_draw"]


def vmf_draw(loc: np.ndarray, kappa: Any, rng: np.random.Generator) -> np.ndarray:
    """One draw x_i ~ vMF(loc_i, κ_i) on S^{M−1} per row of ``loc`` (N, M) (numpy, float64).

    Wood's (1994) rejection sampler for w = μᵀx — z ~ Beta((M−1)/2, (M−1)/2),
    w = (1 − (1+b)z)/(1 − (1−b)z), accepted when κw + (M−1) log(1 − x0 w) − c ≥ log u with
    b = (M−1)/(2κ + √(4κ² + (M−1)²)), x0 = (1−b)/(1+b), c = κx0 + (M−1) log(1 − x0²), formed
    from 1 − w and 1 − x0 so that large κ keeps its precision — then a uniform direction
    orthogonal to μ: x = wμ + √(1−w²) v.  The same law as
    :class:`ppltopics.distributions.VonMisesFisher`, driven by ``rng``.  ``kappa``: scalar or
    (N,), ≥ 0; rows of ``loc`` must be unit vectors.
    """
    loc = np.atleast_2d(np.asarray(loc, dtype=np.float64))
    n, m = loc.shape
    if m < 2:
        raise ValueError(f"vMF needs dimension M >= 2, got {m}")
    if not np.all(np.isfinite(loc)) or not np.allclose(np.linalg.norm(loc, axis=1), 1.0,
                                                        atol=1e-8):
        raise ValueError("loc rows must be finite unit vectors")
    kap = np.broadcast_to(np.asarray(kappa, dtype=np.float64), (n,))
    if not np.all(np.isfinite(kap)) or np.any(kap < 0):
        raise ValueError(f"kappa must be finite and >= 0, got {kappa!r}")
    m1 = float(m - 1)
    b = m1 / (2.0 * kap + np.sqrt(4.0 * kap * kap + m1 * m1))
    one_m_x0 = 2.0 * b / (1.0 + b)
    x0 = 1.0 - one_m_x0
    log_1m_x0sq = np.log(4.0 * b) - 2.0 * np.log1p(b)
    one_m_w = np.empty(n)
    todo = np.arange(n)
    while todo.size:
        z = rng.beta(m1 / 2.0, m1 / 2.0, todo.size)
        u = rng.random(todo.size)
        bb = b[todo]
        omw = 2.0 * bb * z / (1.0 - (1.0 - bb) * z)
        t = (kap[todo] * (one_m_x0[todo] - omw)
             + m1 * (np.log(one_m_x0[todo] + x0[todo] * omw) - log_1m_x0sq[todo]))
        ok = t >= np.log(u)
        one_m_w[todo[ok]] = omw[ok]
        todo = todo[~ok]
    v = rng.standard_normal((n, m))
    v -= (v * loc).sum(axis=1, keepdims=True) * loc
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    w = 1.0 - one_m_w
    return w[:, None] * loc + np.sqrt(np.clip(one_m_w * (2.0 - one_m_w), 0.0, None))[:, None] * v
