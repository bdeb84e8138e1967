"""Correctness checks of a sampler, for users: does this kernel sample the posterior its
story defines?

Three checks, each returning a result with a verdict (``passed``, ``verdict``), the
p-values, the stated false-failure rate (the probability that a *correct* kernel fails),
``summary()`` and ``plot()`` (a matplotlib Figure):

- :func:`geweke` — Geweke's (2004) joint-distribution test: forward draws of the story
  against a chain alternating the kernel with exact data draws; P–P plot per test function;
- :func:`sbc` — simulation-based calibration (Talts et al. 2018): ranks of label-invariant
  statistics of the true latent among posterior draws; rank histograms or (arviz-plots) PIT
  ECDF-difference plot;
- :func:`enumeration` — χ² of many independent chains' final states against the exactly
  enumerated posterior of a tiny model; observed-vs-expected plot.

:func:`lda_pyro_crosscheck` (teaching) compares the collapsed Gibbs kernel's posterior with
Pyro's NUTS on the same story (z enumerated out) and the exact posterior on a tiny corpus.

They wrap the generic harness :mod:`ppltopics.testing` and the per-model pieces of
:mod:`ppltopics.models.checks`.  For the built-in kernels, :func:`toy_problem` bundles
everything::

    from ppltopics import checks
    res = checks.geweke(checks.toy_problem("lda"), num_successive=20_000, seed=1)
    print(res.summary()); res.plot()

A model variant passes its own kernel (or a factory), its story's forward sampler
(:func:`ppltopics.testing.pyro_forward_sampler`), the exact data conditional and
label-invariant test functions; a kernel that lacks a method a check calls (``set_data``,
``resync``, ``log_joint``) gets a ``TypeError`` naming it.
"""

from ppltopics.checks._builtin import TOY_PROBLEMS, CheckProblem, toy_problem
from ppltopics.checks._pyro import PyroCrossCheck, lda_pyro_crosscheck
from ppltopics.checks._results import CheckResult, EnumerationCheck, GewekeCheck, SBCCheck
from ppltopics.checks._run import enumeration, geweke, sbc

__all__ = ["geweke", "sbc", "enumeration", "toy_problem", "TOY_PROBLEMS", "CheckProblem",
           "CheckResult", "GewekeCheck", "SBCCheck", "EnumerationCheck",
           "lda_pyro_crosscheck", "PyroCrossCheck"]
