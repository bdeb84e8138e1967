"""A diagnosis report of a fitted posterior as one self-contained HTML page.

:func:`diagnosis_html` assembles what ``ppltopics diagnose DIR --html`` writes: the run's
settings, the R-hat/ESS summary on label-invariant quantities
(:func:`ppltopics.diagnostics.summary`), the cross-chain mode report
(:func:`ppltopics.diagnostics.mode_report`), trace / rank / autocorrelation / ESS-evolution
plots (arviz-plots, embedded as base64 PNG ``data:`` URIs), the topics' top words (the tree,
for tree models) and topic quality (NPMI coherence on the training corpus and diversity).

The page references nothing outside itself (no scripts, style sheets, fonts or images from
elsewhere), so it opens offline and can be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ppltopics.posteriors import Posterior

__all__ = ["diagnosis_html", "write_diagnosis_html", "figure_to_data_uri"]

log = logging.getLogger(__name__)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:1.8em}table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}th{background:#f4f4f4}
td.words{text-align:left}pre{background:#f8f8f8;padding:.8em;overflow-x:auto;font-size:.85em}
img{max-width:100%;display:block;margin:.5em 0}.verdict{font-weight:600}
.bad{color:#b00020}.good{color:#006400}figure{margin:1em 0}figcaption{font-size:.85em;
color:#555}
"""


def figure_to_data_uri(fig: Figure, dpi: int = 80) -> str:
    """``data:image/png;base64,...`` of a matplotlib figure (closed afterwards)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>\n{body}\n</section>"


def _plots(post: Posterior) -> str:
    from ppltopics import diagnostics as D

    names = [v for v in ("lp", "log_likelihood") if v in post.groups["sample_stats"]]
    parts = []
    for fn, caption in ((D.plot_trace, "traces of the log joint and log-likelihood, one "
                         "colour per chain"),
                        (D.plot_rank, "rank ECDF differences: chains sampling the same "
                         "distribution stay inside the bands"),
                        (D.plot_autocorr, "autocorrelation by lag"),
                        (D.plot_ess_evolution, "bulk and tail ESS as draws accumulate")):
        try:
            uri = figure_to_data_uri(fn(post, var_names=names))
        except (ValueError, TypeError, KeyError) as e:  # e.g. too few draws for a rank plot
            log.info("%s skipped: %s", fn.__name__, e)
            parts.append(f"<p>{html.escape(fn.__name__)}: not available ({html.escape(str(e))})"
                         "</p>")
            continue
        parts.append(f'<figure><img alt="{html.escape(fn.__name__)}" src="{uri}">'
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    return "\n".join(parts)


def _topics(post: Posterior, top_n: int) -> str:
    if getattr(post, "is_tree", False):
        return f"<pre>{html.escape(post.format_tree(n_words=min(top_n, 8)))}</pre>"
    import numpy as np

    words = post.top_words(top_n)
    share = post.groups["posterior"].get("topic_share")
    mean_share = (np.asarray(share, dtype=np.float64).mean(axis=(0, 1))
                  if share is not None else None)
    rows = []
    for k, ws in enumerate(words):
        s = f"{mean_share[k]:.3f}" if mean_share is not None and k < mean_share.size else ""
        rows.append(f"<tr><td>{k}</td><td>{s}</td>"
                    f"<td class=words>{html.escape(' '.join(ws))}</td></tr>")
    return ("<table><tr><th>topic</th><th>share of tokens</th><th>top words</th></tr>"
            + "".join(rows) + "</table>")


def _quality(post: Posterior, top_n: int) -> str:
    from ppltopics import evaluation

    n_div = min(25, post.corpus.vocab_size)  # tiny vocabularies: as many as there are
    top_n = min(top_n, n_div)
    try:
        top = post.top_words(max(top_n, n_div))
        npmi = evaluation.coherence([t[:top_n] for t in top], post.corpus, measure="npmi")
        div = evaluation.diversity(top, top_n=n_div)
    except (ValueError, TypeError) as e:
        return f"<p>not available: {html.escape(str(e))}</p>"
    per = " ".join(f"{x:.2f}" for x in npmi.per_topic)
    return (f"<table><tr><th>measure</th><th>value</th><th>settings</th></tr>"
            f"<tr><td>NPMI coherence (training corpus)</td><td>{npmi.score:.4f}</td>"
            f"<td>top {npmi.top_n} words, window {npmi.window}</td></tr>"
            f"<tr><td>diversity@{n_div}</td><td>{div:.4f}</td><td>unique share of the top "
            f"{n_div} words</td></tr></table><p>NPMI per topic: {html.escape(per)}</p>")


def diagnosis_html(post: Posterior, title: str | None = None, top_n: int = 10) -> str:
    """The diagnosis report of ``post`` as one self-contained HTML document (a string)."""
    from ppltopics import diagnostics as D

    title = title or f"ppltopics diagnosis: {post.model or type(post).__name__}"
    ss = post.groups["sample_stats"]
    chains, draws = next(iter(ss.values())).shape if ss else (0, 0)
    keys = ("model", "num_topics", "depth", "num_chains", "num_samples", "warmup", "thin",
            "seed", "method", "init", "num_tokens", "created")
    settings = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(post.settings[k]))}"
                       "</td></tr>" for k in keys if k in post.settings)
    head = (f"<p>{html.escape(repr(post))}: {chains} chains × {draws} draws; corpus of "
            f"{post.corpus.num_docs} documents, {post.corpus.num_tokens} tokens, vocabulary "
            f"{post.corpus.vocab_size}.</p><table>{settings}</table>")
    sections = [_section("Run", head)]
    try:
        table = D.summary(post)
        sections.append(_section("Convergence on label-invariant quantities",
                                 table.to_html(float_format=lambda x: f"{x:.3g}")
                                 + "<p>R-hat above 1.01 or bulk ESS below 100 per chain: run "
                                 "longer or add chains.</p>"))
    except ValueError as e:
        sections.append(_section("Convergence", f"<p>{html.escape(str(e))}</p>"))
    modes = D.mode_report(post)
    cls = "good" if modes.agree else "bad"
    body = f'<p class="verdict {cls}">{html.escape(modes.verdict)}</p>'
    if modes.available and modes.pairs:
        body += modes.to_frame().to_html(index=False, float_format=lambda x: f"{x:.3f}")
    sections.append(_section("Do the chains find the same topics?", body))
    sections.append(_section("Plots", _plots(post)))
    sections.append(_section("Topics", _topics(post, top_n)))
    sections.append(_section("Topic quality", _quality(post, top_n)))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>\n" + "\n".join(sections) + "\n</body></html>\n")


def write_diagnosis_html(post: Posterior, path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`diagnosis_html` to ``path`` (folders created); returns the path."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a folder; give a file name such as "
                         f"{str(path / 'report.html')!r}")
    text = diagnosis_html(post, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
