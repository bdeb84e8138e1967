"""Correctness harness for samplers: exact-enumeration χ² and Geweke's joint-distribution test.

Two complementary checks that a kernel samples the posterior its Pyro story defines; the
harness is generic, and each model's pieces (its exact data conditional, batched collapsed log
joint, label-invariant test functions, enumerated toy posterior) sit with the model in
:mod:`ppltopics.models.checks`.

**Exact enumeration** (:mod:`ppltopics.testing.enumeration`).  On a toy problem small enough to
list every latent configuration (``K**N`` topic assignments of ``N`` tokens), the posterior
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

**Geweke's test** (:mod:`ppltopics.testing.geweke`; Geweke, JASA 2004, "Getting it right").
Two simulators of the *joint* ``p(z, w)``:

- *marginal-conditional*: independent forward draws of the generative story (the Pyro model,
  :func:`pyro_forward_sampler`);
- *successive-conditional*: a Markov chain alternating ``z ~ kernel(· | w)`` (one or more
  sweeps of the sampler under test, :class:`CorpusConditional`) and ``w ~ p(w | z)`` (the
  model's conditional, e.g. :func:`ppltopics.models.checks.lda_word_conditional`).

If the kernel leaves ``p(z | w)`` invariant, the chain leaves ``p(z, w)`` invariant, so the
means of any test function ``g(z, w)`` agree.  :func:`geweke_test` compares them with a
two-sample t statistic whose successive-chain variance comes from batch means (the chain is
autocorrelated), Welch–Satterthwaite degrees of freedom, and a Bonferroni correction across
test functions.  Test functions of topic models must be *label invariant* (e.g.
:func:`assignment_test_functions`), since topic labels are not identified.  Geweke's test only
sees errors that move the mean of some test function: choose functions that involve every
count the kernel updates (document-topic, word-topic, their coupling, the log joint).

Failure rates: every test here has a stated type-I error.  A χ² test at threshold ``alpha``
rejects a correct kernel with probability ≈ ``alpha`` (asymptotic χ² with expected counts ≥ 5,
plus the exactly bounded finite-run bias); a Geweke test with family-wise ``alpha`` rejects a
correct kernel with probability ≤ ≈ ``alpha`` (Bonferroni; batch-means variance).  With fixed
seeds the outcome is deterministic; the rate is the chance that a *different* seed would fail.

**Reference sampler** (:class:`ppltopics.models.checks.ReferenceLDAKernel`): a plain
dense-count collapsed Gibbs sweep for LDA, with optional deliberate defects
(``mutation="no_remove"``: the current token is not removed from the counts before its
conditional is computed, a defect of public reference codes).  It is the known-good/known-bad
baseline showing that the two tests have power.

Typical use (see ``tests/test_lda_correctness.py``)::

    from ppltopics import testing as T
    from ppltopics.models import checks
    probs = checks.lda_enumerated_posterior(toy_corpus, hyper)
    res = T.enumeration_chi2(LDAKernel(toy_corpus, hyper), probs, num_chains=10_000,
                             sweeps=15, seed=1)
    assert res.p_value > 1e-3

    fwd = T.pyro_forward_sampler(lda.model, (lengths, V, hyper))
    res = T.geweke_test(fwd, T.CorpusConditional(LDAKernel(corpus, hyper)),
                        checks.lda_word_conditional(V, hyper),
                        checks.lda_test_functions(offsets, V, hyper),
                        num_forward=5_000, num_successive=50_000, seed=2, alpha=1e-3)
    assert res.passed

Testing a model variant: (1) write its collapsed log joint and enumerate a toy posterior
(:func:`enumerate_posterior`; keep ``K**N`` ≲ 1e3 so 10 000 draws fill the cells); (2) pick
``sweeps`` with :func:`gibbs_scan_law` and run :func:`enumeration_chi2`; (3) write the exact
data conditional ``p(data | latent)`` of its story and label-invariant test functions, and run
:func:`geweke_test` against the Pyro model's forward draws; (4) show once that a mutant of the
kernel (e.g. a :class:`~ppltopics.models.checks.ReferenceLDAKernel`-style defect) fails both.
Reusable pieces: :func:`assignment_test_functions` (z-only functions), :func:`token_pairs`,
:func:`dirichlet_log_prior_batch` (the collapsed Dirichlet part of a log joint),
:func:`niw_log_marginal_groups` (the collapsed Gaussian part), exact data draws
:func:`niw_prior_draw` and :func:`vmf_draw`; ``tutorials/06_variant.py`` does (3)-(4) for a
spherical GLDA.

Modules: :mod:`~ppltopics.testing.enumeration` (χ² against an enumerated posterior),
:mod:`~ppltopics.testing.geweke` (the joint-distribution test),
:mod:`~ppltopics.testing.forward` (its two simulators' generic adapters),
:mod:`~ppltopics.testing.helpers` (label-invariant test-function pieces),
:mod:`~ppltopics.testing.marginals` (batched collapsed log marginals),
:mod:`~ppltopics.testing.draws` (exact numpy prior draws).
"""

from ppltopics.testing.draws import niw_prior_draw, vmf_draw
from ppltopics.testing.enumeration import (
    MAX_ENUMERATED_STATES,
    Chi2Result,
    chi2_gof,
    enumerate_posterior,
    enumeration_chi2,
    final_states,
    gibbs_scan_law,
    merge_small_cells,
    states_to_index,
    total_variation,
)
from ppltopics.testing.forward import CorpusConditional, pyro_forward_sampler
from ppltopics.testing.geweke import GewekeResult, GewekeRow, batch_means_variance, geweke_test
from ppltopics.testing.helpers import (
    assignment_test_functions,
    batch_topic_sizes,
    stack_latents,
    token_pairs,
)
from ppltopics.testing.marginals import dirichlet_log_prior_batch, niw_log_marginal_groups

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
    "GewekeRow",
    "GewekeResult",
    "batch_means_variance",
    "geweke_test",
    "pyro_forward_sampler",
    "CorpusConditional",
    "token_pairs",
    "batch_topic_sizes",
    "assignment_test_functions",
    "stack_latents",
    "dirichlet_log_prior_batch",
    "niw_log_marginal_groups",
    "niw_prior_draw",
    "vmf_draw",
]
