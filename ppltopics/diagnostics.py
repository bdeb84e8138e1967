"""Convergence diagnostics shared by all models: R-hat/ESS/MCSE, relabelling, plots.

Topic labels are not identified (the posterior is invariant under permuting topics), so R-hat
and ESS are computed first on *label-invariant* quantities: the log joint ``lp``, the
log-likelihood, the number of occupied topics (nodes) and the sorted topic shares.  Per-topic
summaries are only meaningful after relabelling every chain to a reference by Hungarian
matching (:func:`relabel`).

Chains that sit in different modes are explained by :func:`mode_report`: every pair of chains'
topics matched by the Hungarian algorithm, the similarity of each matched pair, the topics of
one chain with no counterpart in the other, and one plain sentence.  It reads the chains'
topics; R-hat stays computed on the label-invariant quantities above.

Plots of the label-invariant sample_stats go through arviz-plots on the posterior's DataTree
(:func:`plot_trace`, :func:`plot_rank`, :func:`plot_autocorr`, :func:`plot_ess_evolution`);
each returns its matplotlib figure (saved to ``path`` when given) and leaves the matplotlib
backend alone.  :func:`compare` and :func:`plot_compare` compare samplers of one model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import linear_sum_assignment

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from ppltopics.posteriors import Posterior

__all__ = ["summary", "explain_summary", "explain_trace", "RHAT_OK", "ESS_OK",
           "relabel", "match_topics", "plot_trace", "plot_rank", "plot_autocorr",
           "plot_ess_evolution", "plot_correlation", "compare", "plot_compare",
           "INVARIANT_STATS", "mode_report", "compare_chain_topics", "ModeReport", "ChainPair",
           "MODE_THRESHOLD"]

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
            if not varying.any():  # every entry constant, only their values differ
                continue
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
    table = pd.concat(frames)
    table.attrs["mode_report"] = mode_report(post).verdict
    return table


#: convergence thresholds of Vehtari et al. (2021): rank-normalised split R-hat below
#: :data:`RHAT_OK` and bulk and tail ESS above :data:`ESS_OK`
RHAT_OK = 1.01
ESS_OK = 400


def explain_summary(table: pd.DataFrame) -> str:
    """Each row of :func:`summary` in plain words, one line per row: R-hat ≥ :data:`RHAT_OK`
    means the chains disagree (not converged: a longer run, or chains in different modes);
    else bulk or tail ESS ≤ :data:`ESS_OK` means too few effective draws to trust the
    numbers yet; else fine (Vehtari et al. 2021)."""
    missing = {"r_hat", "ess_bulk", "ess_tail"} - set(table.columns)
    if missing:
        raise ValueError(f"explain_summary needs the columns of pt.diagnostics.summary; "
                         f"missing {sorted(missing)}")
    lines = []
    for name, row in table.iterrows():
        r, bulk, tail = row["r_hat"], row["ess_bulk"], row["ess_tail"]
        if r >= RHAT_OK:
            words = "chains disagree: not converged (longer run? different modes?)"
        elif min(bulk, tail) <= ESS_OK:
            words = "chains agree, but too few effective draws to trust it yet"
        else:
            words = "fine"
        lines.append(f"{name!s:24s} R-hat {r:5.2f}  ESS bulk {bulk:6.0f} tail {tail:6.0f}"
                     f"  -> {words}")
    return "\n".join(lines)


def explain_trace(post: Posterior, var: str = "lp") -> str:
    """A sample_stats trace in plain words: is each chain still rising (mean of its second
    half minus its first half, in within-chain standard deviations, above 1: warm-up not
    over), and do the chains sit at different levels (spread of the chains' means above 2
    within-chain sd: different modes?)."""
    dt, _ = _stats_tree(post, [var], "explain_trace")
    v = dt["sample_stats"][var].values  # (chain, draw)
    if v.ndim != 2 or v.shape[1] < 2:
        raise ValueError(f"explain_trace needs a scalar {var!r} with at least 2 draws per "
                         f"chain, got shape {v.shape}")
    half = v.shape[1] // 2
    within = float(np.mean(v.std(axis=1))) + 1e-12
    rise = (v[:, half:].mean(1) - v[:, :half].mean(1)) / within
    spread = float(np.ptp(v.mean(axis=1))) / within
    lines = [f"chain {c}: second half vs first half {r:+.1f} sd -> "
             + ("still rising: warm-up not over" if r > 1 else "no clear trend")
             for c, r in enumerate(rise)]
    lines.append(f"distance between the chains' means: {spread:.1f} within-chain sd -> "
                 + ("different levels: different modes?" if spread > 2 else "chains overlap"))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- modes
#: matched similarity below which a topic of one chain has no counterpart in another: on LDA
#: fits of the State of the Union corpus, topics of two chains matched at a cosine >= 0.8
#: share their leading words, while below it they mix different themes
MODE_THRESHOLD = 0.8
_ADVICE = 'run longer, add chains, or start from init="kmeans" (word vectors) or "lda"'


@dataclass
class ChainPair:
    """Topics of chains ``a`` and ``b`` matched one to one (Hungarian algorithm).

    ``match[k]`` is the topic of ``b`` matched to topic ``k`` of ``a`` and ``similarity[k]``
    their similarity (NaN where none is defined); ``unmatched_a`` / ``unmatched_b`` are the
    topics whose match is below the threshold (or that have no match at all; for trees
    ``unmatched_b`` holds −1 per node of ``b`` left without a reference node, whose id is not
    kept).
    """

    a: int
    b: int
    similarity: np.ndarray
    match: np.ndarray
    unmatched_a: list[int]
    unmatched_b: list[int]

    @property
    def num_disagree(self) -> int:
        """Topics of ``a`` without a counterpart in ``b``."""
        return len(self.unmatched_a)


@dataclass
class ModeReport:
    """Do the chains find the same topics?  Result of :func:`mode_report`.

    ``pairs`` holds one :class:`ChainPair` per pair of chains (for tree models: every chain
    against the reference chain), ``verdict`` one plain sentence, ``available`` whether the
    posterior holds what the comparison needs.
    """

    model: str
    measure: str
    threshold: float
    num_chains: int
    num_topics: int
    pairs: list[ChainPair] = field(default_factory=list)
    verdict: str = ""
    available: bool = True
    advice: str = _ADVICE

    @property
    def agree(self) -> bool:
        """True when every topic of every chain has a counterpart in every other chain."""
        return self.available and all(p.num_disagree == 0 and not p.unmatched_b
                                      for p in self.pairs)

    def to_frame(self) -> pd.DataFrame:
        """One row per pair of chains: topics without counterpart, lowest and median matched
        similarity."""
        import pandas as pd

        rows = []
        for p in self.pairs:
            sim = p.similarity[np.isfinite(p.similarity)]
            rows.append({"chain_a": p.a, "chain_b": p.b, "disagree": p.num_disagree,
                         "unmatched_in_b": len(p.unmatched_b),
                         "min_similarity": float(sim.min()) if sim.size else np.nan,
                         "median_similarity": float(np.median(sim)) if sim.size else np.nan,
                         "topics_of_a_without_counterpart": p.unmatched_a})
        return pd.DataFrame(rows)

    def __str__(self) -> str:
        lines = []
        for p in self.pairs:
            sim = p.similarity[np.isfinite(p.similarity)]
            low = f", lowest matched {self.measure_short} {sim.min():.2f}" if sim.size else ""
            what = "nodes" if self.model in ("hlda", "ghlda") else "topics"
            lines.append(f"chains {p.a} and {p.b}: {p.num_disagree} of {self.num_topics} "
                         f"{what} without counterpart{low}"
                         + (f" (topics {p.unmatched_a} of chain {p.a})" if p.unmatched_a
                            else ""))
        return "\n".join([*lines, self.verdict])

    @property
    def measure_short(self) -> str:
        return "cosine" if "cosine" in self.measure else "similarity"


def compare_chain_topics(
    topics: Sequence[np.ndarray], threshold: float = MODE_THRESHOLD,
    measure: str = "cosine similarity", model: str = "",
) -> ModeReport:
    """Match every pair of chains' topics and say whether the chains agree.

    ``topics[c]`` is chain c's (K, F) topic matrix (topic-word distributions, or centred
    topic means).  For chains a < b the similarity is the cosine
    s_kj = ⟨t_ak, t_bj⟩ / (‖t_ak‖ ‖t_bj‖), the matching the permutation π maximising
    Σ_k s_{k π(k)} (Hungarian algorithm; Kuhn 1955), and topic k of a has no counterpart in b
    when s_{k π(k)} < ``threshold``.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}")
    mats = [np.asarray(t, dtype=np.float64) for t in topics]
    if mats and any(m.shape != mats[0].shape or m.ndim != 2 for m in mats):
        raise ValueError("every chain needs a (K, F) topic matrix of the same shape")
    num_topics = mats[0].shape[0] if mats else 0
    report = ModeReport(model=model, measure=measure, threshold=threshold,
                        num_chains=len(mats), num_topics=num_topics)
    for a in range(len(mats)):
        for b in range(a + 1, len(mats)):
            sim = 1.0 - _cosine_cost(mats[a], mats[b])
            rows, cols = linear_sum_assignment(-sim)
            match = np.empty(num_topics, dtype=np.int64)
            match[rows] = cols
            best = sim[np.arange(num_topics), match]
            low = np.flatnonzero(~(best >= threshold))
            report.pairs.append(ChainPair(a, b, best, match, low.tolist(),
                                          match[low].tolist()))
    report.verdict = _verdict(report)
    return report


def _verdict(r: ModeReport) -> str:
    """The report's one sentence."""
    if r.num_chains < 2:
        return ("one chain: no other chain to compare its topics with; run 2 or more chains "
                "to see whether they find the same topics")
    what = "topics" if r.model not in ("hlda", "ghlda") else "nodes"
    worst = max(r.pairs, key=lambda p: (p.num_disagree, len(p.unmatched_b)))
    n_bad = sum(p.num_disagree > 0 or len(p.unmatched_b) > 0 for p in r.pairs)
    if n_bad == 0:
        sims = np.concatenate([p.similarity for p in r.pairs])
        sims = sims[np.isfinite(sims)]
        if not sims.size:
            return (f"all {r.num_chains} chains agree on the number of {what} per level "
                    "(node similarity across chains is not available for trees)")
        return (f"all {r.num_chains} chains agree: every {what[:-1]} has a counterpart in "
                f"every other chain (matched {r.measure_short} >= {r.threshold:g}, lowest "
                f"{sims.min():.2f})")
    n = max(worst.num_disagree, len(worst.unmatched_b))
    more = (f" ({n_bad} of {len(r.pairs)} pairs of chains disagree)" if n_bad > 1 else "")
    advice = r.advice if what == "topics" else "run longer or add chains"
    return (f"chains {worst.a} and {worst.b} disagree on {n} of {r.num_topics} {what}{more}; "
            f"{advice}")


def _advice(settings: dict[str, Any], model: str) -> str:
    """The remedies a flat model's run has not used yet: a start other than uniform topics
    (``init="kmeans"`` where the model has word vectors, ``"lda"``) and the split–merge
    moves, beside running longer and adding chains."""
    steps = ["run longer", "add chains"]
    if settings.get("init", "random") == "random":
        steps.append('start from init="kmeans" or "lda"' if model in ("glda", "cgtm")
                     else 'start from init="lda"')
    if not settings.get("split_merge"):
        steps.append("turn on split_merge")
    if len(steps) == 2:
        return " or ".join(steps)
    return ", ".join(steps[:-1]) + ", or " + steps[-1]


def _not_available(post: Posterior, why: str, threshold: float) -> ModeReport:
    r = ModeReport(model=post.model, measure="", threshold=threshold,
                   num_chains=post.num_chains, num_topics=0, available=False)
    r.verdict = f"mode report not available for this {post.model or 'model'} posterior: {why}"
    return r


def mode_report(post: Posterior, threshold: float = MODE_THRESHOLD) -> ModeReport:
    """Which topics do the chains of ``post`` share, and which does one chain lack?

    Each chain's topics, then :func:`compare_chain_topics` on every pair of chains:

    - LDA: each chain's posterior-mean topic-word distribution φ (``estimates["chain_phi"]``),
      cosine similarity;
    - GLDA, CGTM: each chain's topic means averaged over its draws, centred on the mean token
      vector (so that the shared offset of all word vectors does not make every pair look
      alike), cosine similarity;
    - hLDA, GhLDA: each chain's final tree matched level by level to the reference chain's
      (:func:`ppltopics.inference._tree_summary.match_nodes`, stored as
      ``estimates["node_match"]``); a node disagrees when the other tree has no node left to
      match at its level (node similarities across chains are not kept: not available).

    ``threshold`` (default :data:`MODE_THRESHOLD` = 0.8): matched similarity below which a
    topic has no counterpart.  The report's ``verdict`` is one sentence, e.g. "chains 0 and 1
    disagree on 3 of 20 topics; run longer, add chains, start from init="lda", or turn on
    split_merge" — the remedies the run has not used yet (its start, its moves).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}")
    est = post.estimates
    if getattr(post, "is_tree", False):
        return _tree_report(post, threshold)
    if "chain_phi" in est:
        topics = list(np.asarray(est["chain_phi"], dtype=np.float64))
        return _with_advice(compare_chain_topics(
            topics, threshold, "cosine of topic-word distributions", post.model), post)
    draws = post.groups["posterior"].get("topic_mean")
    if draws is not None and "word_vectors" in est:
        counts = post.corpus.word_counts().astype(np.float64)
        centre = counts @ np.asarray(est["word_vectors"], dtype=np.float64) / counts.sum()
        topics = list(np.asarray(draws, dtype=np.float64).mean(axis=1) - centre)
        return _with_advice(compare_chain_topics(
            topics, threshold, "cosine of centred topic means", post.model), post)
    ss = post.groups["sample_stats"]
    chains = next(iter(ss.values())).shape[0] if ss else post.num_chains
    if chains < 2:
        return compare_chain_topics([np.eye(1)], threshold, model=post.model)
    return _not_available(post, "it keeps no per-chain topics (LDA posteriors fitted before "
                          "per-chain topics were kept: refit)" if post.model == "lda" else
                          "it keeps no per-chain topics", threshold)


def _with_advice(report: ModeReport, post: Posterior) -> ModeReport:
    """``report`` with its verdict's remedies fitted to what ``post``'s run used."""
    report.advice = _advice(post.settings, post.model)
    report.verdict = _verdict(report)
    return report


def _tree_report(post: Posterior, threshold: float) -> ModeReport:
    """Tree models: nodes of the reference chain's final tree without a node of another
    chain's final tree at their level (:func:`mode_report`)."""
    est = post.estimates
    if "node_match" not in est:
        return _not_available(post, "it keeps no node matching", threshold)
    match = np.asarray(est["node_match"])
    ref = int(post.settings.get("reference_chain", 0))
    nodes = match.shape[1]
    last = post.groups["sample_stats"].get("num_nodes")
    r = ModeReport(model=post.model, measure="level-by-level node matching (similarity not "
                   "available for trees)", threshold=threshold, num_chains=match.shape[0],
                   num_topics=nodes)
    for c in range(match.shape[0]):
        if c == ref:
            continue
        missing = np.flatnonzero(match[c] < 0).tolist()
        extra = 0
        if last is not None:
            extra = max(0, int(np.asarray(last)[c, -1].sum()) - int((match[c] >= 0).sum()))
        r.pairs.append(ChainPair(ref, c, np.full(nodes, np.nan), match[c], missing,
                                 [-1] * extra))
    r.verdict = _verdict(r)
    return r


def _stats_tree(post: Posterior, var_names: Sequence[str], what: str) -> tuple[Any, list[str]]:
    """The DataTree and those of ``var_names`` in its sample_stats; ``ValueError`` naming the
    group and the variables when none is there."""
    dt = post.to_datatree()
    have = list(dt["sample_stats"].data_vars) if "sample_stats" in dt.children else []
    names = [v for v in var_names if v in have]
    if not names:
        raise ValueError(f"{what} needs the sample_stats group with one of {list(var_names)}; "
                         f"this posterior's sample_stats holds {have or 'nothing'}")
    return dt, names


def _finish(fig: Figure, path: str | Path | None) -> Figure:
    """Save ``fig`` to ``path`` (folders created) when given; return it."""
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    return fig


def _arviz_figure(pc: Any) -> Figure:
    return pc.viz["figure"].item()


def plot_trace(
    post: Posterior, path: str | Path | None = None,
    var_names: Sequence[str] = ("lp", "log_likelihood"), **kwargs: Any,
) -> Figure:
    """Traces of label-invariant sample_stats (default lp, log-likelihood), one colour per
    chain (``arviz_plots.plot_trace``; its ``plot_trace_dist`` fails on this environment's
    xarray).  Saved to ``path`` when given; returns the matplotlib figure.  ``kwargs`` go to
    arviz-plots."""
    import arviz_plots as azp

    dt, names = _stats_tree(post, var_names, "plot_trace")
    pc = azp.plot_trace(dt, var_names=names, group="sample_stats", backend="matplotlib",
                        **kwargs)
    fig = _arviz_figure(pc)
    chains = dt["sample_stats"].sizes["chain"]
    for ax in fig.axes:  # name the chains' lines (arviz-plots draws one per chain, unlabelled)
        lines = ax.get_lines()
        if len(lines) == chains > 1:
            for c, line in enumerate(lines):
                line.set_label(f"chain {c}")
            ax.legend(fontsize=8)
    return _finish(fig, path)


def plot_rank(
    post: Posterior, path: str | Path | None = None,
    var_names: Sequence[str] = ("lp", "log_likelihood"), **kwargs: Any,
) -> Figure:
    """Rank plots (Vehtari et al. 2021): the ECDF of each chain's fractional ranks among all
    chains' draws minus the uniform, with simultaneous bands; chains sampling the same
    distribution stay inside (``arviz_plots.plot_rank``)."""
    import arviz_plots as azp

    dt, names = _stats_tree(post, var_names, "plot_rank")
    pc = azp.plot_rank(dt, var_names=names, group="sample_stats", backend="matplotlib",
                       **kwargs)
    return _finish(_arviz_figure(pc), path)


def plot_autocorr(
    post: Posterior, path: str | Path | None = None,
    var_names: Sequence[str] = ("lp", "log_likelihood"), **kwargs: Any,
) -> Figure:
    """Autocorrelation of each chain by lag (``arviz_plots.plot_autocorr``)."""
    import arviz_plots as azp

    dt, names = _stats_tree(post, var_names, "plot_autocorr")
    pc = azp.plot_autocorr(dt, var_names=names, group="sample_stats", backend="matplotlib",
                           **kwargs)
    return _finish(_arviz_figure(pc), path)


def plot_ess_evolution(
    post: Posterior, path: str | Path | None = None,
    var_names: Sequence[str] = ("lp", "log_likelihood"), **kwargs: Any,
) -> Figure:
    """Bulk and tail ESS as the draws accumulate (``arviz_plots.plot_ess_evolution``): ESS
    growing linearly in the draws means the chains mix; flat means they are stuck."""
    import arviz_plots as azp

    dt, names = _stats_tree(post, var_names, "plot_ess_evolution")
    pc = azp.plot_ess_evolution(dt, var_names=names, group="sample_stats",
                                backend="matplotlib", **kwargs)
    return _finish(_arviz_figure(pc), path)


def plot_correlation(post: Posterior, path: str | Path | None = None) -> Figure:
    """Heat map of a CGTM posterior's posterior-mean topic correlation
    (``post.estimates["topic_corr"]``), labelled by each topic's three top words.  Saved to
    ``path`` when given; returns the figure."""
    import matplotlib.pyplot as plt

    if "topic_corr" not in post.estimates:
        raise ValueError(f"plot_correlation needs estimates['topic_corr'] (a CGTM posterior); "
                         f"this {post.model or 'model'} posterior has "
                         f"{sorted(post.estimates)}")
    corr = post.estimates["topic_corr"]
    labels = [" ".join(w[:3]) for w in post.top_words(3)]
    size = max(4.0, 0.35 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    im = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    fig.colorbar(im, ax=ax, label="posterior mean correlation of η")
    fig.tight_layout()
    return _finish(fig, path)


def compare(posteriors: Any, target_lp: float | None = None) -> pd.DataFrame:
    """ESS per second and per sweep, R-hat and time to a target log p of several posteriors
    of one model and corpus, given as ``{name: post}`` or ``[post_a, post_b]`` (named "0",
    "1", ...); see :func:`ppltopics._compare.compare`."""
    from ppltopics._compare import compare as _compare

    return _compare(posteriors, target_lp)


def plot_compare(posteriors: Any, target_lp: float | None = None,
                 path: str | Path | None = None) -> Figure:
    """log p of every chain against wall time, one colour per posterior; see
    :func:`ppltopics._compare.plot_compare`."""
    from ppltopics._compare import plot_compare as _plot

    return _plot(posteriors, target_lp, path)
