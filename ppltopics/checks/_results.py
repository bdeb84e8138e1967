"""Result objects of :mod:`ppltopics.checks`: a verdict, the p-values, the stated
false-failure rate, a text summary and a figure.

Every plot method returns a ``matplotlib.figure.Figure`` made with ``matplotlib.pyplot`` under
whatever backend the user has chosen (none is switched here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ppltopics.testing import Chi2Result, GewekeResult

__all__ = ["CheckResult", "GewekeCheck", "SBCCheck", "EnumerationCheck"]


def _grid(n: int, width: float = 2.6) -> tuple[Figure, np.ndarray]:
    import matplotlib.pyplot as plt

    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, width * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


@dataclass
class CheckResult:
    """What every check reports.

    ``passed``: the verdict (True: no evidence against the kernel); ``p_value``: the
    family-wise p-value the verdict compares with ``alpha``; ``p_values``: one p-value per
    test function / statistic / cell family; ``false_failure_rate``: the probability that a
    *correct* kernel fails this check (over seeds; with a fixed seed the outcome is
    deterministic).
    """

    check: str
    kernel: str
    passed: bool
    p_value: float
    alpha: float
    p_values: dict[str, float]
    false_failure_rate: float

    @property
    def verdict(self) -> str:
        """``"pass"`` or ``"FAIL"``."""
        return "pass" if self.passed else "FAIL"

    def _head(self) -> str:
        return (f"{self.check} check of {self.kernel}: {self.verdict} (p = {self.p_value:.3g}, "
                f"fails when p < {self.alpha:g}; a correct kernel fails with probability "
                f"≈ {self.false_failure_rate:g})")

    def summary(self) -> str:
        """The verdict and one line per p-value."""
        lines = [self._head()]
        lines += [f"  {k:<26} p = {v:.3g}" for k, v in self.p_values.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"check": self.check, "kernel": self.kernel, "verdict": self.verdict,
                "passed": bool(self.passed), "p_value": float(self.p_value),
                "alpha": float(self.alpha), "false_failure_rate": float(self.false_failure_rate),
                "p_values": {k: float(v) for k, v in self.p_values.items()}}

    def plot(self) -> Figure:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


@dataclass
class GewekeCheck(CheckResult):
    """Geweke's joint-distribution test (:func:`ppltopics.checks.geweke`).

    ``result`` is the harness's :class:`ppltopics.testing.GewekeResult` (means, standard
    errors, t statistics, effective sample sizes, and the test-function values of both
    simulators).
    """

    result: GewekeResult | None = field(default=None, repr=False)

    def summary(self) -> str:
        return f"{self._head()}\n{self.result}"

    def table(self) -> pd.DataFrame:
        """One row per test function: both means, standard error, t, p, ESS."""
        import pandas as pd

        return pd.DataFrame([vars(r) for r in self.result.rows]).set_index("name")

    def plot(self) -> Figure:
        """P–P plot per test function: the ECDF of the successive-conditional values against
        the ECDF of the forward values, both evaluated at the pooled values; a correct kernel
        keeps every curve on the diagonal (up to Monte Carlo noise; the successive chain is
        autocorrelated, so its curve is noisier than its length suggests)."""
        res = self.result
        names = list(res.values_forward)
        fig, axes = _grid(len(names))
        for ax, name in zip(axes, names, strict=False):
            f = np.sort(res.values_forward[name])
            s = np.sort(res.values_successive[name])
            grid = np.unique(np.concatenate([f, s]))
            pf = np.searchsorted(f, grid, side="right") / f.size
            ps = np.searchsorted(s, grid, side="right") / s.size
            ax.plot([0, 1], [0, 1], color="0.6", lw=0.8)
            ax.plot(pf, ps, drawstyle="steps-post", lw=1.2)
            ax.set_title(f"{name}\np = {self.p_values[name]:.2g}", fontsize=8)
            ax.set_xlabel("forward ECDF", fontsize=7)
            ax.set_ylabel("successive ECDF", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.set_aspect("equal")
        fig.suptitle(f"Geweke P–P plot, {self.kernel}: {self.verdict} "
                     f"(p = {self.p_value:.2g})", fontsize=9)
        fig.tight_layout()
        return fig


@dataclass
class SBCCheck(CheckResult):
    """Simulation-based calibration (:func:`ppltopics.checks.sbc`).

    ``ranks[i, j]``: rank of statistic j of simulation i's true latent among its
    ``num_draws`` posterior draws (0..num_draws, ties broken at random); uniform on
    ``0..num_draws`` for a correct kernel whose thinned draws are close to independent.
    ``p_values`` are χ² tests of the binned rank histograms (``num_bins`` bins of equal
    width), combined by Bonferroni into ``p_value``.
    """

    ranks: np.ndarray | None = field(default=None, repr=False)
    names: list[str] = field(default_factory=list)
    num_draws: int = 0
    num_bins: int = 0
    pit: np.ndarray | None = field(default=None, repr=False)
    uninformative: list[str] = field(default_factory=list)
    lag1_autocorr: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [self._head()]
        for k, v in self.p_values.items():
            r = self.lag1_autocorr.get(k, math.nan)
            lines.append(f"  {k:<26} p = {v:.3g}   lag-1 autocorrelation of draws {r:+.2f}")
        high = [k for k, r in self.lag1_autocorr.items() if r > 0.1]
        if high:
            lines.append(f"  warning: draws of {high} are autocorrelated (lag-1 > 0.1), which "
                         "bends the rank histogram even for a correct kernel; raise thin")
        if self.uninformative:
            lines.append(f"  left out (never differ from the truth): {self.uninformative}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "uninformative": list(self.uninformative),
                "lag1_autocorr": {k: float(v) for k, v in self.lag1_autocorr.items()},
                "num_simulations": int(self.ranks.shape[0]), "num_draws": self.num_draws}

    def histograms(self) -> np.ndarray:
        """(num_statistics, num_bins) counts of the ranks."""
        edges = np.linspace(0, self.num_draws + 1, self.num_bins + 1)
        return np.stack([np.histogram(self.ranks[:, j], edges)[0]
                         for j in range(self.ranks.shape[1])])

    def plot(self, kind: str = "hist") -> Figure:
        """``kind="hist"``: rank histograms with the central 99% band of a bin count under
        uniform ranks (binomial); ``kind="ecdf"``: the PIT ECDF-difference plot with
        simultaneous 99% bands, drawn by ``arviz_plots.plot_ecdf_pit`` (Säilynoja et al.
        2022), from the randomised PIT values (rank + U) / (num_draws + 1)."""
        if kind == "ecdf":
            return self._plot_ecdf()
        if kind != "hist":
            raise ValueError(f"kind must be 'hist' or 'ecdf', got {kind!r}")
        from scipy import stats

        hist = self.histograms()
        n = self.ranks.shape[0]
        p = 1.0 / self.num_bins
        lo, hi = stats.binom.ppf([0.005, 0.995], n, p)
        fig, axes = _grid(len(self.names))
        for ax, name, h in zip(axes, self.names, hist, strict=False):
            ax.axhspan(lo, hi, color="0.85")
            ax.axhline(n * p, color="0.5", lw=0.8)
            ax.bar(np.arange(self.num_bins), h, width=0.9)
            ax.set_title(f"{name}\np = {self.p_values[name]:.2g}", fontsize=8)
            ax.set_xlabel(f"rank bin ({self.num_draws + 1} ranks)", fontsize=7)
            ax.tick_params(labelsize=6)
        fig.suptitle(f"SBC rank histograms, {self.kernel}: {self.verdict} "
                     f"(p = {self.p_value:.2g}, {n} simulations)", fontsize=9)
        fig.tight_layout()
        return fig

    def to_datatree(self) -> Any:
        """The PIT values as an ArviZ DataTree group ``prior_sbc`` (dims sample, one
        variable per statistic), as ``arviz_plots.plot_ecdf_pit`` reads them."""
        import xarray as xr

        ds = xr.Dataset({_safe(name): (("sample",), self.pit[:, j])
                         for j, name in enumerate(self.names)})
        return xr.DataTree.from_dict({"prior_sbc": ds})

    def _plot_ecdf(self) -> Figure:
        import arviz_plots as azp

        pc = azp.plot_ecdf_pit(self.to_datatree(), group="prior_sbc", sample_dims=["sample"],
                               backend="matplotlib")
        fig = pc.viz["figure"].item()
        fig.suptitle(f"SBC PIT ECDF difference, {self.kernel}: {self.verdict}", fontsize=9)
        return fig


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


@dataclass
class EnumerationCheck(CheckResult):
    """χ² test of a kernel's draws against an enumerated posterior
    (:func:`ppltopics.checks.enumeration`).  ``observed`` / ``expected`` are the cell counts
    (all ``K**N`` configurations, expected = num_chains · p), ``result`` the harness's
    :class:`ppltopics.testing.Chi2Result` (after pooling cells with expected count < 5),
    ``bias_tv`` the exact total-variation distance between the law of a correct
    single-site-Gibbs kernel after ``sweeps`` sweeps and the posterior (NaN when not
    computed)."""

    result: Chi2Result | None = field(default=None, repr=False)
    observed: np.ndarray | None = field(default=None, repr=False)
    expected: np.ndarray | None = field(default=None, repr=False)
    bias_tv: float = math.nan

    def summary(self) -> str:
        r = self.result
        return (f"{self._head()}\n  χ² = {r.statistic:.3g} on {r.dof} dof, {r.num_bins} pooled "
                f"cells, {r.num_draws} independent chains, largest |residual| "
                f"{r.max_abs_residual:.2f}σ, start-up bias (TV) {self.bias_tv:.2g}")

    def plot(self, top: int = 40) -> Figure:
        """Observed against expected counts of the ``top`` most probable configurations
        (with ±2√expected bars), and the standardised residuals of all of them."""
        import matplotlib.pyplot as plt

        order = np.argsort(-self.expected)[:top]
        e, o = self.expected[order], self.observed[order]
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.2),
                                      gridspec_kw={"width_ratios": [3, 1]})
        x = np.arange(order.size)
        ax.bar(x, e, color="0.8", label="expected")
        ax.errorbar(x, e, yerr=2 * np.sqrt(e), fmt="none", ecolor="0.4", lw=0.8)
        ax.plot(x, o, "o", ms=3, label="observed")
        ax.set_xlabel("configuration (most probable first)")
        ax.set_ylabel("chains")
        ax.legend(fontsize=7)
        keep = self.expected > 0
        resid = (self.observed[keep] - self.expected[keep]) / np.sqrt(self.expected[keep])
        ax2.hist(resid, bins=30)
        ax2.set_xlabel("(observed − expected) / √expected")
        fig.suptitle(f"Enumeration χ², {self.kernel}: {self.verdict} (p = {self.p_value:.2g})",
                     fontsize=9)
        fig.tight_layout()
        return fig
