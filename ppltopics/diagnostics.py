"""Convergence diagnostics shared by all models: R-hat/ESS/MCSE, relabelling, plots.

Topic labels are not identified (the posterior is invariant under permuting topics), so R-hat
and ESS are computed first on *label-invariant* quantities: the log joint ``lp``, the
log-likelihood, the number of occupied topics (nodes) and the sorted topic shares.  Per-topic
summaries are only meaningful after relabelling every chain to a reference by Hungarian
matching (:func:`relabel`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import linear_sum_assignment

if TYPE_CHECKING:
    import pandas as pd

    from ppltopics.posteriors import Posterior

__all__ = ["summary", "relabel", "match_topics", "plot_trace", "plot_correlation",
           "INVARIANT_STATS"]

#: sample_stats variables that do not depend on topic labels
INVARIANT_STATS = ("lp", "log_likelihood", "num_occupied", "num_nodes")
#: posterior variables that do not depend on topic labels
INVARIANT_POSTERIOR = ("sorted_topic_share",)


def _js_cost(ref: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence between rows of two (K, V) probability matrices, (K, K)."""
    eps = 1e-300
    p = ref / ref.sum(axis=1, keepdims=True)
    q = other / other.sum(axis=1, keepdims=True)
    lp = np.log(p + eps)
    lq = np.log(q + eps)
    # JS = ½ KL(p‖m) + ½ KL(q‖m), m = ½(p+q); computed per pair with O(K² V) memory-light loop
    cost = np.empty((p.shape[0], q.shape[0]))
    for i in range(p.shape[0]):
        m = 0.5 * (p[i][None, :] + q)
        lm = np.log(m + eps)
        cost[i] = 0.5 * (p[i] * (lp[i] - lm)).sum(axis=1) + 0.5 * (q * (lq - lm)).sum(axis=1)
    return cost


def _cosine_cost(ref: np.ndarray, other: np.ndarray) -> np.ndarray:
    a = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    b = other / np.linalg.norm(other, axis=1, keepdims=True)
    return 1.0 - a @ b.T


def match_topics(reference: np.ndarray, other: np.ndarray, cost: str = "js") -> np.ndarray:
    """Permutation ``perm`` so that topic ``perm[j]`` of ``other`` matches topic ``j`` of
    ``reference`` (Hungarian matching, ``scipy.optimize.linear_sum_assignment``).

    ``cost="js"``: Jensen-Shannon divergence between topic-word distributions; ``"cosine"``:
    1 - cosine similarity; ``"euclidean"``: distance between Gaussian topic means.
    """
    if reference.shape != other.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {other.shape}")
    if cost == "js":
        c = _js_cost(reference, other)
    elif cost == "cosine":
        c = _cosine_cost(reference, other)
    elif cost == "euclidean":
        c = np.linalg.norm(reference[:, None, :] - other[None, :, :], axis=-1)
    else:
        raise ValueError(f"unknown cost {cost!r}: 'js', 'cosine' or 'euclidean'")
    rows, cols = linear_sum_assignment(c)
    perm = np.empty(reference.shape[0], dtype=np.int64)
    perm[rows] = cols
    return perm


def relabel(
    estimates: Sequence[np.ndarray], reference: int = 0, cost: str = "js"
) -> list[np.ndarray]:
    """Permutations that map every chain's topics onto chain ``reference``'s.

    ``estimates[c]`` is chain c's (K, ·) topic matrix (e.g. posterior-mean φ); returns
    ``perms[c]`` with ``estimates[c][perms[c]]`` aligned to ``estimates[reference]``.
    """
    ref = estimates[reference]
    return [match_topics(ref, e, cost) for e in estimates]


def summary(post: Posterior, var_names: Sequence[str] | None = None) -> pd.DataFrame:
    """R-hat (rank-normalised split), bulk/tail ESS and MCSE on label-invariant quantities.

    By default: ``lp``, ``log_likelihood``, ``num_occupied``/``num_nodes`` from sample_stats
    and ``sorted_topic_share`` (the largest five ranks) from the posterior.  Pass
    ``var_names`` to summarise other (relabelled) posterior variables as well.
    """
    import arviz_stats as azs
    import pandas as pd

    dt = post.to_datatree()
    frames = []
    ss = dt["sample_stats"]
    stats = [v for v in INVARIANT_STATS if v in ss.data_vars and np.ptp(ss[v].values) > 0]
    for v in stats:
        # entries that never change (e.g. num_nodes at a tree's root level, always 1) have no
        # R-hat/ESS: leave them out instead of printing NaN with RuntimeWarnings
        da = ss[v]
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        coords = {}
        if len(extra) == 1:
            varying = (da.max(("chain", "draw")) > da.min(("chain", "draw"))).values
            coords = {extra[0]: da[extra[0]].values[varying].tolist()}
        frames.append(azs.summary(dt, var_names=[v], group="sample_stats", coords=coords,
                                  kind="all"))
    post_vars = list(var_names or [])
    if var_names is None:
        post_vars = [v for v in INVARIANT_POSTERIOR if v in dt["posterior"].data_vars]
    for v in post_vars:
        coords = {}
        da = dt["posterior"][v]
        if "rank" in da.dims:
            coords = {"rank": list(range(min(5, da.sizes["rank"])))}
        frames.append(azs.summary(dt, var_names=[v], group="posterior", coords=coords, kind="all"))
    if not frames:
        raise ValueError("nothing to summarise: the posterior has no recorded draws")
    return pd.concat(frames)


def plot_trace(
    post: Posterior, path: str | Path, var_names: Sequence[str] = ("lp", "log_likelihood"),
    **kwargs: Any,
) -> Path:
    """Trace and density plots of sample_stats variables (default lp, log-likelihood) to PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import arviz_plots as azp
    import matplotlib.pyplot as plt

    dt = post.to_datatree()
    names = [v for v in var_names if v in dt["sample_stats"].data_vars]
    if not names:
        raise ValueError(f"none of {list(var_names)} is in sample_stats")
    pc = azp.plot_trace(dt, var_names=names, group="sample_stats", backend="matplotlib",
                        **kwargs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pc.savefig(path, dpi=100)
    plt.close("all")
    return path


def plot_correlation(post: Posterior, path: str | Path) -> Path:
    """Heat map of a CGTM posterior's posterior-mean topic correlation
    (``post.estimates["topic_corr"]``), labelled by each topic's three top words, to PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    corr = post.estimates["topic_corr"]
    labels = [" ".join(w[:3]) for w in post.top_words(3)]
    size = max(4.0, 0.35 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    im = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    fig.colorbar(im, ax=ax, label="posterior mean correlation of η")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
