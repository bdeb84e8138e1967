"""Sampler comparison (``diagnostics.compare``/``plot_compare``), the per-draw ``wall_time``
record, and the arviz-plots diagnostics plots (figures returned, backend untouched)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

import ppltopics as pt
from ppltopics.diagnostics import compare, plot_compare

WORDS = ("river bank water fish shore boat", "bank money loan interest market rate")


@cache
def _corpus() -> pt.Corpus:
    rng = np.random.default_rng(0)
    docs = [list(rng.choice(WORDS[d % 2].split(), 10)) for d in range(20)]
    return pt.Corpus.from_tokens(docs)


@cache
def _fit(thin: int = 1, seed: int = 0) -> pt.Posterior:
    return pt.fit("lda", _corpus(), num_topics=2, num_chains=2, num_samples=30, warmup=5,
                  thin=thin, seed=seed, progress=False)


def test_wall_time_is_recorded_and_draws_unchanged():
    """wall_time grows along each chain; a refit with the same seed has the same draws
    (only the timing stats differ)."""
    a, b = _fit(), pt.fit("lda", _corpus(), num_topics=2, num_chains=2, num_samples=30,
                          warmup=5, seed=0, progress=False)
    t = a.groups["sample_stats"]["wall_time"]
    assert t.shape == (2, 30) and np.all(np.diff(t, axis=1) > 0) and np.all(t > 0)
    for k, v in a.groups["sample_stats"].items():
        if k not in ("tokens_per_s", "wall_time"):
            np.testing.assert_array_equal(v, b.groups["sample_stats"][k], err_msg=k)


def test_compare_table():
    posts = {"thin1": _fit(1), "thin2": _fit(2, seed=1)}
    table = compare(posts)
    assert list(table.index.get_level_values(0).unique()) == ["thin1", "thin2"]
    assert {"lp", "log_likelihood", "sorted_topic_share[0]"} <= set(
        table.loc["thin1"].index)
    row = table.loc[("thin2", "lp")]
    assert row["sweeps"] == 2 * 30 * 2
    assert row["ess_bulk_per_sweep"] == pytest.approx(row["ess_bulk"] / 120)
    assert row["ess_bulk_per_s"] == pytest.approx(row["ess_bulk"] / row["seconds"])
    assert row["seconds"] > 0 and np.isfinite(row["r_hat"])
    # the default target: the median of the chains' late medians, reached by half of them
    late = np.concatenate([np.median(p.groups["sample_stats"]["lp"][:, 15:], axis=1)
                           for p in posts.values()])
    assert table.attrs["target_lp"] == pytest.approx(np.median(late))
    low = compare(posts, target_lp=-1e12)  # reached at the first draw
    first = np.median(posts["thin1"].groups["sample_stats"]["wall_time"][:, 0])
    assert low.loc[("thin1", "lp"), "seconds_to_target"] == pytest.approx(first)
    t = compare(posts, target_lp=1e9)  # never reached
    assert np.isinf(t.loc[("thin1", "lp"), "seconds_to_target"])
    # the design card's form: a list, named by position
    listed = compare(list(posts.values()))
    assert list(listed.index.get_level_values(0).unique()) == ["0", "1"]
    with pytest.raises(TypeError, match="dict"):
        compare(_fit())
    with pytest.raises(TypeError, match="must be a Posterior"):
        compare([_fit(), "not a posterior"])
    with pytest.raises(TypeError, match="Posterior"):
        compare({"x": 3})


def test_plots_return_figures_and_keep_backend(tmp_path: Path):
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    post = _fit()
    for fn in (pt.diagnostics.plot_trace, pt.diagnostics.plot_rank,
               pt.diagnostics.plot_autocorr, pt.diagnostics.plot_ess_evolution):
        fig = fn(post)
        assert isinstance(fig, Figure) and fig.axes, fn.__name__
        plt.close(fig)
    path = tmp_path / "sub" / "trace.png"
    plt.close(pt.diagnostics.plot_trace(post, path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = plot_compare({"a": post, "b": _fit(2, seed=1)}, target_lp=-200.0,
                       path=tmp_path / "cmp.png")
    assert isinstance(fig, Figure) and (tmp_path / "cmp.png").is_file()
    assert len(fig.axes[0].lines) == 4 + 1  # 2 posteriors × 2 chains, plus the target
    plt.close(fig)
    assert matplotlib.get_backend() == backend
    with pytest.raises(ValueError, match="sample_stats group with one of"):
        pt.diagnostics.plot_rank(post, var_names=("nope",))
    with pytest.raises(ValueError, match="topic_corr"):
        pt.diagnostics.plot_correlation(post)
