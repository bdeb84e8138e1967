"""Comparing samplers the way a sampler author does: effective samples per second and per
sweep on label-invariant quantities, R-hat, and the time each takes to reach a log joint.

Re-exported as :func:`ppltopics.diagnostics.compare` and
:func:`ppltopics.diagnostics.plot_compare`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ppltopics.posteriors import Posterior

__all__ = ["compare", "plot_compare", "sampling_seconds"]

#: quantities compared: sample_stats variables (the sorted topic shares are label invariant)
_QUANTITIES = ("lp", "log_likelihood")
_SHARE_RANKS = 3


def _check(posteriors: Any) -> dict[str, Posterior]:
    from ppltopics.posteriors import Posterior

    if isinstance(posteriors, Sequence) and not isinstance(posteriors, str):
        posteriors = {str(i): p for i, p in enumerate(posteriors)}  # [post_a, post_b]: "0", "1"
    if not isinstance(posteriors, Mapping) or not posteriors:
        raise TypeError("posteriors must be a non-empty dict {name: Posterior} or list of "
                        f"Posteriors, got {type(posteriors).__name__}")
    for name, p in posteriors.items():
        if not isinstance(p, Posterior):
            raise TypeError(f"posteriors[{name!r}] must be a Posterior, got {type(p).__name__}")
        if "lp" not in p.groups["sample_stats"]:
            raise ValueError(f"posteriors[{name!r}] has no sample_stats 'lp' to compare")
    return dict(posteriors)


def sampling_seconds(post: Posterior) -> np.ndarray:
    """Seconds each chain spent in the sweeps of its recorded draws (warm-up excluded),
    (chains,).

    From the per-draw ``tokens_per_s`` stat (tokens resampled per second of
    ``kernel.step``, since the previous draw): Σ_draws num_tokens · thin / tokens_per_s, so
    one-off costs outside the sweeps (a first ``record`` compiling) do not count.  Without
    it, from ``wall_time``: t_last − t_first plus one median interval; without either,
    ``seconds_per_chain`` × sampling sweeps / all sweeps.
    """
    ss = post.groups["sample_stats"]
    s = post.settings
    thin = int(s.get("thin", 1))
    rate = ss.get("tokens_per_s")
    if rate is not None and "num_tokens" in s and np.all(np.isfinite(rate)) \
            and np.all(np.asarray(rate) > 0):
        return (float(s["num_tokens"]) * thin / np.asarray(rate, dtype=np.float64)).sum(axis=1)
    if "wall_time" in ss and np.all(np.isfinite(ss["wall_time"])):
        t = np.asarray(ss["wall_time"], dtype=np.float64)
        if t.shape[1] >= 2:
            return t[:, -1] - t[:, 0] + np.median(np.diff(t, axis=1), axis=1)
    secs = np.asarray(s.get("seconds_per_chain", [np.nan] * post.num_chains), dtype=np.float64)
    draws = int(s.get("num_samples", ss["lp"].shape[1])) * thin
    total = draws + int(s.get("warmup", 0))
    return secs * draws / max(total, 1)


def _first_time(lp: np.ndarray, t: np.ndarray, target: float) -> float:
    """Median over chains of the wall time of the first draw with lp ≥ target (inf for a
    chain that never reaches it)."""
    out = []
    for c in range(lp.shape[0]):
        hit = np.flatnonzero(lp[c] >= target)
        out.append(t[c, hit[0]] if hit.size else math.inf)
    return float(np.median(out))


def compare(posteriors: Mapping[str, Posterior], target_lp: float | None = None) -> pd.DataFrame:
    r"""One row per (posterior, quantity): how much independent information each sampler
    buys per second and per sweep.

    Quantities (label invariant): ``lp`` (log joint), ``log_likelihood`` and the largest
    three sorted topic shares (``sorted_topic_share[r]``), where recorded.  Columns:

    - ``ess_bulk``, ``ess_tail``, ``r_hat`` — rank-normalised ESS and split R-hat
      (``arviz_stats.summary``, Vehtari et al. 2021) over all chains;
    - ``ess_bulk_per_s``, ``ess_tail_per_s`` — ESS / Σ_chains seconds in the sampling
      sweeps (:func:`sampling_seconds`; warm-up excluded);
    - ``ess_bulk_per_sweep``, ``ess_tail_per_sweep`` — ESS / (chains × draws × thin);
    - ``seconds``, ``sweeps`` — the denominators;
    - ``seconds_to_target`` (lp rows) — median over chains of the wall time (since the
      chain started, warm-up included) of the first *recorded* draw with lp ≥ ``target_lp``;
      the default target is the median over all chains (of all posteriors) of each chain's
      median lp over the last half of its draws: about half of the chains reach it, and the
      samplers that get there sooner show it.  ``inf``: never reached by the median
      chain; NaN without the ``wall_time`` stat.

    Compare posteriors of the same model on the same corpus (lp is then the same function).
    """
    import arviz_stats as azs
    import pandas as pd

    posts = _check(posteriors)
    if target_lp is None:  # median over all chains of each chain's late median lp
        late = np.concatenate([np.median(lp[:, lp.shape[1] // 2:], axis=1) for lp in (
            np.asarray(p.groups["sample_stats"]["lp"], dtype=np.float64)
            for p in posts.values())])
        target_lp = float(np.median(late))
    rows = []
    for name, post in posts.items():
        dt = post.to_datatree()
        ss = dt["sample_stats"]
        secs = float(sampling_seconds(post).sum())
        n_chains, n_draws = post.groups["sample_stats"]["lp"].shape
        sweeps = n_chains * n_draws * int(post.settings.get("thin", 1))
        frames = []
        names = [q for q in _QUANTITIES if q in ss.data_vars]
        if names:
            frames.append(azs.summary(dt, var_names=names, group="sample_stats",
                                      kind="diagnostics"))
        if "sorted_topic_share" in dt["posterior"].data_vars:
            da = dt["posterior"]["sorted_topic_share"]
            ranks = list(range(min(_SHARE_RANKS, da.sizes["rank"])))
            frames.append(azs.summary(dt, var_names=["sorted_topic_share"], group="posterior",
                                      coords={"rank": ranks}, kind="diagnostics"))
        table = pd.concat(frames)
        lp = np.asarray(post.groups["sample_stats"]["lp"], dtype=np.float64)
        wall = post.groups["sample_stats"].get("wall_time")
        to_target = (_first_time(lp, np.asarray(wall, dtype=np.float64), target_lp)
                     if wall is not None else math.nan)
        for quantity, r in table.iterrows():
            rows.append({
                "posterior": name, "quantity": quantity,
                "ess_bulk": float(r["ess_bulk"]), "ess_tail": float(r["ess_tail"]),
                "r_hat": float(r["r_hat"]),
                "ess_bulk_per_s": float(r["ess_bulk"]) / secs if secs > 0 else math.nan,
                "ess_tail_per_s": float(r["ess_tail"]) / secs if secs > 0 else math.nan,
                "ess_bulk_per_sweep": float(r["ess_bulk"]) / sweeps,
                "ess_tail_per_sweep": float(r["ess_tail"]) / sweeps,
                "seconds": secs, "sweeps": sweeps,
                "seconds_to_target": to_target if quantity == "lp" else math.nan,
            })
    out = pd.DataFrame(rows).set_index(["posterior", "quantity"])
    out.attrs["target_lp"] = target_lp
    return out


def plot_compare(
    posteriors: Mapping[str, Posterior], target_lp: float | None = None,
    path: Any = None, quantities: Sequence[str] = ("lp",),
) -> Figure:
    """log p (or each of ``quantities``) of every chain against its wall time, one colour
    per posterior (dashed: ``target_lp``, when given).  Needs the ``wall_time`` sample stat;
    saved to ``path`` when given; returns the figure."""
    import matplotlib.pyplot as plt

    posts = _check(posteriors)
    fig, axes = plt.subplots(1, len(quantities), figsize=(5.5 * len(quantities), 3.6),
                             squeeze=False)
    for ax, q in zip(axes[0], quantities, strict=True):
        for i, (name, post) in enumerate(posts.items()):
            ss = post.groups["sample_stats"]
            if "wall_time" not in ss or q not in ss:
                raise ValueError(f"posteriors[{name!r}] lacks sample_stats "
                                 f"{'wall_time' if 'wall_time' not in ss else q!r}: "
                                 f"refit with this version to record per-draw times")
            for c in range(ss[q].shape[0]):
                ax.plot(ss["wall_time"][c], ss[q][c], color=f"C{i}", lw=1,
                        label=name if c == 0 else None)
        if target_lp is not None and q == "lp":
            ax.axhline(target_lp, color="0.4", ls="--", lw=0.8)
        ax.set_xlabel("wall time since the chain started (s)")
        ax.set_ylabel(q)
        ax.legend(fontsize=7)
    fig.tight_layout()
    if path is not None:
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    return fig
