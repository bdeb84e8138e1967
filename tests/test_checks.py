"""The user-facing correctness checks (:mod:`ppltopics.checks`): verdicts on a correct and a
defective LDA kernel, the errors of a kernel lacking a method, and the plots.

Statistical outcomes use fixed seeds; each assertion states the check's false-failure rate
(a correct kernel fails at most with probability ≈ alpha = 1e-3 per check).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from ppltopics import checks
from ppltopics.corpus import Corpus
from ppltopics.inference.base import GibbsKernel
from ppltopics.models.checks import ReferenceLDAKernel
from ppltopics.models.lda import LDAHyper

HYPER = LDAHyper(num_topics=3, alpha=0.5, beta=0.3)
ENUM_HYPER = LDAHyper(num_topics=2, alpha=0.5, beta=0.3)


@pytest.fixture(scope="module")
def lda_problem():
    return checks.toy_problem("lda")


def _reference(problem, mutation):
    return lambda: ReferenceLDAKernel(problem.kernel().corpus, HYPER, mutation=mutation)


def test_geweke_passes_correct_and_fails_defective(lda_problem):
    """The library's LDA kernel passes (false-failure rate 1e-3); the reference kernel with
    the no-remove defect fails at 3 000 successive draws."""
    good = checks.geweke(lda_problem, num_forward=1000, num_successive=3000, seed=1)
    assert isinstance(good, checks.GewekeCheck)
    assert good.passed and good.verdict == "pass" and good.false_failure_rate == 1e-3
    assert set(good.p_values) == set(lda_problem.test_functions)
    assert good.p_value == pytest.approx(min(1.0, len(good.p_values) * min(good.p_values.values())))
    assert "Geweke check of LDAKernel: pass" in good.summary()
    assert list(good.table().index) == list(lda_problem.test_functions)
    bad = checks.geweke(_reference(lda_problem, "no_remove"), **lda_problem.geweke_args(),
                        num_forward=1000, num_successive=3000, seed=1)
    assert not bad.passed and bad.verdict == "FAIL" and bad.p_value < 1e-3


def test_sbc_ranks_and_power(lda_problem):
    """Correct kernel: uniform ranks (passes); the no_remove_word defect bends the ranks of
    the pair statistics (fails at 1 000 simulations, p ≈ 1e-11; at 500 it is marginal).
    A statistic of the data alone is left out as uninformative."""
    good = checks.sbc(lda_problem, num_simulations=200, num_draws=19, warmup=10, thin=2,
                      num_bins=5, seed=1)
    assert good.passed, good.summary()
    assert good.ranks.shape == (200, len(good.names))
    assert good.ranks.min() >= 0 and good.ranks.max() <= 19
    assert "doc_pairs_same_word" in good.uninformative
    assert "doc_pairs_same_word" not in good.p_values
    assert np.all((good.pit > 0) & (good.pit < 1))
    assert good.histograms().sum(axis=1).tolist() == [200] * len(good.names)
    bad = checks.sbc(_reference(lda_problem, "no_remove_word"), **lda_problem.sbc_args(),
                     num_simulations=1000, num_draws=19, warmup=10, thin=2, num_bins=5, seed=1)
    assert not bad.passed and bad.p_value < 1e-6, bad.summary()
    with pytest.raises(ValueError, match="multiple of num_bins"):
        checks.sbc(lda_problem, num_draws=20, num_bins=10)


def test_enumeration_verdicts(lda_problem):
    good = checks.enumeration(lda_problem, num_chains=2000, sweeps=15, seed=1)
    assert good.passed and good.bias_tv < 1e-6
    assert good.observed.sum() == 2000 and good.expected.sum() == pytest.approx(2000)
    corpus = lda_problem.enum_kernel().corpus
    bad = checks.enumeration(lambda: ReferenceLDAKernel(corpus, ENUM_HYPER, "no_remove"),
                             lda_problem.log_joint, num_chains=2000, sweeps=15, seed=1)
    assert not bad.passed and bad.p_value < 1e-6


class _Coin(GibbsKernel):
    """A kernel with no resync and no log_joint."""

    model_name = "coin"

    def __init__(self) -> None:
        self.corpus = Corpus([0, 1, 0], [0, 3], ["h", "t"])

    @property
    def num_tokens(self) -> int:
        return 3

    def init_state(self, rng):
        return {"z": rng.integers(0, 2, 3)}

    def step(self, state, rng, warmup):
        state["z"][:] = rng.integers(0, 2, 3)

    def record(self, state):
        return {"lp": 0.0, "log_likelihood": 0.0}


def test_missing_methods_are_named(lda_problem):
    with pytest.raises(TypeError, match="resync"):
        checks.geweke(_Coin(), lda_problem.forward, lda_problem.data_step,
                      lda_problem.test_functions)
    with pytest.raises(TypeError, match="forward="):
        checks.geweke(lda_problem.kernel(), data_step=lda_problem.data_step)
    with pytest.raises(TypeError, match="data_step="):
        checks.geweke(lda_problem.kernel(), lda_problem.forward)
    with pytest.raises(TypeError, match="forward="):
        checks.sbc(lda_problem.kernel())
    with pytest.raises(TypeError, match="log_joint"):
        checks.enumeration(_Coin(), num_values=2)
    with pytest.raises(TypeError, match="no enumerable"):
        checks.enumeration(checks.toy_problem("glda-exact"))
    with pytest.raises(ValueError, match="unknown toy problem"):
        checks.toy_problem("nope")


def test_plots_return_figures_and_keep_backend(lda_problem):
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    g = checks.geweke(lda_problem, num_forward=200, num_successive=400, seed=0)
    s = checks.sbc(lda_problem, num_simulations=20, num_draws=9, warmup=2, thin=1,
                   num_bins=2, seed=0)
    e = checks.enumeration(lda_problem, num_chains=300, sweeps=10, seed=0)
    figs = [g.plot(), s.plot(), s.plot(kind="ecdf"), e.plot()]
    assert all(isinstance(f, Figure) for f in figs)
    assert len(figs[0].axes) >= len(lda_problem.test_functions)
    assert matplotlib.get_backend() == backend
    for f in figs:
        plt.close(f)
    with pytest.raises(ValueError, match="kind"):
        s.plot(kind="pie")
    d = g.to_dict()
    assert d["verdict"] in ("pass", "FAIL") and set(d["p_values"]) == set(g.p_values)
