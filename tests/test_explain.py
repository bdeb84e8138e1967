"""Diagnostics read in plain words: each summary row against Vehtari et al.'s thresholds,
and a trace's trend and chain levels; plot_trace names the chains."""

from __future__ import annotations

import pandas as pd
import pytest

import ppltopics as pt
from ppltopics.models.lda import LDAHyper, simulate


def test_each_summary_row_gets_the_right_words():
    table = pd.DataFrame({"r_hat": [1.20, 1.005, 1.005, 1.005],
                          "ess_bulk": [900, 100, 900, 900], "ess_tail": [900, 900, 300, 900]},
                         index=["a", "b", "c", "d"])
    lines = pt.diagnostics.explain_summary(table).splitlines()
    assert "chains disagree" in lines[0]
    assert "too few effective draws" in lines[1] and "too few effective draws" in lines[2]
    assert lines[3].endswith("fine")
    with pytest.raises(ValueError, match="ess_tail"):
        pt.diagnostics.explain_summary(table.drop(columns="ess_tail"))


@pytest.fixture(scope="module")
def rising():
    """No warm-up from a random start: lp climbs through the recorded draws."""
    sim = simulate(60, 30, 80, LDAHyper(num_topics=4, alpha=0.2, beta=0.05), seed=1)
    return pt.fit("lda", sim.corpus, num_topics=4, num_chains=2, num_samples=30, warmup=0,
                  progress=False, seed=0)


def test_a_rising_trace_is_called_rising(rising):
    text = pt.diagnostics.explain_trace(rising, "lp")
    assert text.count("still rising") == 2 and "distance between the chains' means" in text
    with pytest.raises(ValueError, match="nope"):
        pt.diagnostics.explain_trace(rising, "nope")


def test_trace_plot_names_the_chains(rising):
    fig = pt.diagnostics.plot_trace(rising, var_names=["lp"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["chain 0", "chain 1"]
