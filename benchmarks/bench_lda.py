"""LDA: ppltopics' collapsed Gibbs kernel vs tomotopy (and gensim) on 20 Newsgroups.

One process, one thread each (BLAS/OpenMP/numba pools pinned to 1 before numpy is imported;
tomotopy ``workers=1`` with ``ParallelScheme.NONE``; gensim's ``LdaModel``, single process).
All three systems get exactly the same token lists (``corpus.docs()``), the same K, a fixed
symmetric α = 0.1 and β (η) = 0.01 (tomotopy's α optimisation is switched off:
``optim_interval = 0``).

1. **Compile.**  The numba kernels' compile time is measured in a subprocess with an empty
   ``NUMBA_CACHE_DIR`` (cold compile), and the first calls here (cache load) separately.
2. **Throughput and log-likelihood vs time, K ∈ {20, 100}.**  Ours (``LDAKernel.init_state``
   then ``step``) and tomotopy (``mdl.train(0)`` then ``mdl.train(chunk)``) run interleaved in
   chunks of sweeps, alternating which goes first, so background load hits both alike.  Only
   the sweeps are timed; tokens/s = num_tokens × sweeps / seconds, ratio = ours / tomotopy.
   After every chunk (untimed) the same quantity is computed for both from their current
   assignments: the collapsed log p(w | z) / N of
   :func:`ppltopics.models.lda.log_likelihood_collapsed` (tomotopy's own ``ll_per_word`` is a
   different quantity; it is reported too).
3. **Full API run.**  ``ppltopics.fit("lda", ..., num_chains=1)`` with the same number of
   sweeps, recording and posterior means included, wall time.
4. **Quality at K = 20** after the K = 20 sweeps of step 2: top-10 words -> NPMI (window 10)
   and C_V (window 110), diversity of the top-25, for ours (final state and ``pt.fit``'s
   posterior mean), tomotopy (final state) and gensim's variational ``LdaModel`` trained pass by
   pass until it has used as much wall time as our sampling did (NPMI after every pass: its
   time-to-coherence).

Prints the tables and writes ``benchmarks/results/lda_20ng.json`` (``lda_20ng_quick.json``
with ``--quick``).

    .venv/bin/python benchmarks/bench_lda.py [--data ../shared/data] [--quick]
"""

from __future__ import annotations

import os

# one thread everywhere, before numpy / numba / gensim are imported
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _common import machine_facts  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data"))
TARBALL = Path("20newsgroups-bydate") / "20news-bydate.tar.gz"
ALPHA = 0.1
BETA = 0.01
SEED = 0

#: (sweeps, chunk = sweeps between log-likelihood read-outs, pt.fit draws) per K and mode
PLANS = {
    False: {20: (1000, 25, 50), 100: (300, 10, 50)},
    True: {20: (100, 10, 10), 100: (30, 5, 10)},
}
NPMI_EVERY = {False: 100, True: 50}  # sweeps between NPMI read-outs (K = 20)
FIRST_SWEEPS = 200  # tokens/s is also reported over the first this-many sweeps

_COMPILE_SNIPPET = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
from ppltopics import Corpus
from ppltopics.inference import _lda_sweep, lda
from ppltopics.models.lda import LDAHyper
t1 = time.perf_counter()
docs = [["apple", "banana", "cherry", "apple"], ["banana", "date", "egg"], ["cherry", "egg"]]
corpus = Corpus.from_tokens(docs)
k = lda.LDAKernel(corpus, LDAHyper(num_topics=3, alpha=0.1, beta=0.01))
rng = np.random.default_rng(0)
s = k.init_state(rng)
t2 = time.perf_counter()
k.step(s, rng, False)
t3 = time.perf_counter()
k.record(s)
t4 = time.perf_counter()
k.accumulate(s, {})
t5 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "sweep_first_call_s": t3 - t2,
                  "record_first_call_s": t4 - t3, "accumulate_first_call_s": t5 - t4,
                  "total_s": t5 - t0,
                  "cache_misses": sum(sum(f.stats.cache_misses.values())
                                      for f in (_lda_sweep._sweep, _lda_sweep._sweep_dense)),
                  "cache_hits": sum(sum(f.stats.cache_hits.values())
                                    for f in (_lda_sweep._sweep, _lda_sweep._sweep_dense))}))
"""


# ============================================================================ helpers
def compile_times(tmp: Path) -> dict[str, Any]:
    """Cold numba compile of the LDA kernels in a subprocess with an empty cache dir."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp / "numba-cache")}
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET], env=env, cwd=REPO,
                         capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        return {"error": out.stderr[-2000:], "subprocess_wall_s": wall}
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["subprocess_wall_s"] = wall
    res["note"] = ("fresh interpreter, empty NUMBA_CACHE_DIR: the *_first_call_s include the "
                   "numba compile of the sweep / record / accumulate kernels")
    return res


def warm_in_process(corpus: Any) -> dict[str, Any]:
    """First calls in this process (numba cache load, or compile when the cache is cold)."""
    from ppltopics.evaluation import coherence
    from ppltopics.inference import _lda_sweep, lda
    from ppltopics.models.lda import LDAHyper

    small = corpus.subset(np.arange(min(50, corpus.num_docs)))
    k = lda.LDAKernel(small, LDAHyper(num_topics=5, alpha=ALPHA, beta=BETA))
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    s = k.init_state(rng)
    k.step(s, rng, False)
    t1 = time.perf_counter()
    k.record(s)
    k.accumulate(s, {})
    t2 = time.perf_counter()
    coherence([small.vocab[:5]], small, "npmi", 10)
    t3 = time.perf_counter()
    return {
        "sweep_first_call_s": t1 - t0,
        "record_accumulate_first_call_s": t2 - t1,
        "coherence_first_call_s": t3 - t2,
        # K = 5 runs the dense sweep (DENSE_SWEEP_MAX_TOPICS); both sweeps are counted
        "sweep_cache_hits": sum(sum(f.stats.cache_hits.values())
                                for f in (_lda_sweep._sweep, _lda_sweep._sweep_dense)),
        "sweep_cache_misses": sum(sum(f.stats.cache_misses.values())
                                  for f in (_lda_sweep._sweep, _lda_sweep._sweep_dense)),
    }


def top_words_from_counts(n_kw: np.ndarray, vocab: list[str], n: int = 25) -> list[list[str]]:
    """Top words of each topic of a (K, V) count table (order of φ̂ = (n_kw+β)/(n_k+Vβ))."""
    order = np.argsort(-n_kw, axis=1, kind="stable")[:, :n]
    return [[vocab[i] for i in row] for row in order]


def quality(top25: list[list[str]], corpus: Any) -> dict[str, Any]:
    from ppltopics.evaluation import coherence, diversity

    top10 = [t[:10] for t in top25]
    npmi = coherence(top10, corpus, "npmi", 10)
    cv = coherence(top10, corpus, "c_v", 110)
    return {
        "npmi": npmi.score, "npmi_settings": npmi.settings(),
        "c_v": cv.score, "c_v_settings": cv.settings(),
        "diversity25": diversity(top25, 25),
        "npmi_per_topic": npmi.per_topic.tolist(),
        "top10": top10,
    }


def npmi_only(top25: list[list[str]], corpus: Any) -> float:
    from ppltopics.evaluation import coherence

    return coherence([t[:10] for t in top25], corpus, "npmi", 10).score


class Tomotopy:
    """A tomotopy LDAModel fed our token lists, with its z read back in our vocabulary."""

    def __init__(self, docs: list[list[str]], corpus: Any, k: int) -> None:
        import tomotopy as tp

        self.tp = tp
        self.k = k
        t0 = time.perf_counter()
        self.mdl = tp.LDAModel(tw=tp.TermWeight.ONE, min_cf=0, min_df=0, rm_top=0, k=k,
                               alpha=ALPHA, eta=BETA, seed=SEED)
        self.mdl.optim_interval = 0  # fixed symmetric α, as ours
        for d in docs:
            self.mdl.add_doc(d)
        self.setup_s = time.perf_counter() - t0
        self.scheme = tp.ParallelScheme.NONE
        t0 = time.perf_counter()
        self.mdl.train(0, workers=1, parallel=self.scheme)  # random initial assignments
        self.init_s = time.perf_counter() - t0
        lengths = np.array([len(d) for d in self.mdl.docs])
        if lengths.shape != corpus.doc_lengths.shape or np.any(lengths != corpus.doc_lengths):
            raise RuntimeError(f"tomotopy kept {self.mdl.num_words} tokens in "
                               f"{len(self.mdl.docs)} docs, expected {corpus.num_tokens} in "
                               f"{corpus.num_docs}")
        index = corpus.word_index
        self.to_ours = np.array([index[w] for w in self.mdl.vocabs], dtype=np.int64)

    def train(self, sweeps: int) -> float:
        t0 = time.perf_counter()
        self.mdl.train(sweeps, workers=1, parallel=self.scheme)
        return time.perf_counter() - t0

    def tokens(self) -> tuple[np.ndarray, np.ndarray]:
        """(word ids in our vocabulary, topics), document by document (order within a document
        is tomotopy's; log p(w | z) does not depend on it)."""
        docs = self.mdl.docs
        w = np.concatenate([np.asarray(d.words, dtype=np.int64) for d in docs])
        z = np.concatenate([np.asarray(d.topics, dtype=np.int64) for d in docs])
        return self.to_ours[w], z

    def top_words(self, n: int = 25) -> list[list[str]]:
        return [[w for w, _ in self.mdl.get_topic_words(t, top_n=n)] for t in range(self.k)]


# ============================================================================ the runs
def run_pair(corpus: Any, docs: list[list[str]], k: int, sweeps: int, chunk: int,
             npmi_every: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ours and tomotopy, interleaved chunk by chunk; returns timings, traces, final states."""
    from ppltopics.inference.lda import LDAKernel
    from ppltopics.models.lda import LDAHyper, log_likelihood_collapsed, log_prior_collapsed

    n_tok = corpus.num_tokens
    hyper = LDAHyper(num_topics=k, alpha=ALPHA, beta=BETA)

    def ll_per_token(word_ids: np.ndarray, z: np.ndarray) -> dict[str, float]:
        args = (word_ids, corpus.doc_offsets, z, hyper, corpus.vocab_size)
        ll = log_likelihood_collapsed(*args) / n_tok
        lp = log_prior_collapsed(*args) / n_tok
        return {"ll_per_token": ll, "log_prior_z_per_token": lp, "log_joint_per_token": ll + lp}

    kernel = LDAKernel(corpus, hyper)
    rng = np.random.default_rng(SEED)
    t0 = time.perf_counter()
    state = kernel.init_state(rng)
    ours_init = time.perf_counter() - t0
    tomo = Tomotopy(docs, corpus, k)

    def read_out(done: int, t_ours: float, t_tomo: float, with_npmi: bool) -> None:
        ll_o = ll_per_token(corpus.word_ids, state["z"])
        w_t, z_t = tomo.tokens()
        ll_t = ll_per_token(w_t, z_t)
        trace_ours.append({"sweeps": done, "seconds": t_ours, **ll_o})
        trace_tomo.append({"sweeps": done, "seconds": t_tomo, **ll_t,
                           "tomotopy_ll_per_word": tomo.mdl.ll_per_word})
        if with_npmi:
            trace_ours[-1]["npmi"] = npmi_only(
                top_words_from_counts(kernel.word_topic_counts(state), corpus.vocab), corpus)
            trace_tomo[-1]["npmi"] = npmi_only(tomo.top_words(), corpus)

    trace_ours: list[dict[str, Any]] = []
    trace_tomo: list[dict[str, Any]] = []
    chunks_ours: list[float] = []
    chunks_tomo: list[float] = []
    read_out(0, 0.0, 0.0, npmi_every is not None)
    done = 0
    while done < sweeps:
        n = min(chunk, sweeps - done)

        def ours_chunk(n: int = n) -> float:
            t = time.perf_counter()
            for _ in range(n):
                kernel.step(state, rng, False)
            return time.perf_counter() - t

        if len(chunks_ours) % 2 == 0:
            chunks_ours.append(ours_chunk())
            chunks_tomo.append(tomo.train(n))
        else:
            chunks_tomo.append(tomo.train(n))
            chunks_ours.append(ours_chunk())
        done += n
        with_npmi = npmi_every is not None and (done % npmi_every == 0 or done == sweeps)
        read_out(done, sum(chunks_ours), sum(chunks_tomo), with_npmi)
        o, t = trace_ours[-1], trace_tomo[-1]
        print(f"    K={k} sweep {done:5d}/{sweeps}: ours {n * n_tok / chunks_ours[-1] / 1e6:5.2f} "
              f"M tok/s, log p(w|z)/N {o['ll_per_token']:.4f}, log p(w,z)/N "
              f"{o['log_joint_per_token']:.4f} | tomotopy "
              f"{n * n_tok / chunks_tomo[-1] / 1e6:5.2f} M tok/s, {t['ll_per_token']:.4f}, "
              f"{t['log_joint_per_token']:.4f}", flush=True)

    # consistency: the kernel's own record agrees with the reference formula
    rec_ll = kernel.record(state)["log_likelihood"] / n_tok
    sizes = [min(chunk, sweeps - i) for i in range(0, sweeps, chunk)]
    first = np.cumsum(sizes) <= FIRST_SWEEPS

    def summary(chunks: list[float], init_s: float) -> dict[str, Any]:
        secs = float(np.sum(chunks))
        per_chunk = [s * n_tok / c for s, c in zip(sizes, chunks, strict=True)]
        out = {
            "sweeps": sweeps,
            "sampling_s": secs,
            "init_s": init_s,
            "whole_run_s": secs + init_s,
            "tokens_per_s": sweeps * n_tok / secs,
            "tokens_per_s_median_chunk": float(np.median(per_chunk)),
            "chunk_s": chunks,
        }
        if first.any() and not first.all():
            s_first = int(np.sum(np.asarray(sizes)[first]))
            out[f"tokens_per_s_first_{s_first}_sweeps"] = (
                s_first * n_tok / float(np.sum(np.asarray(chunks)[first])))
        return out

    ours = summary(chunks_ours, ours_init)
    ours["trace"] = trace_ours
    ours["kernel_record_ll_per_token"] = rec_ll
    ours["record_vs_reference_abs_diff"] = abs(rec_ll - trace_ours[-1]["ll_per_token"])
    tom = summary(chunks_tomo, tomo.init_s)
    tom["setup_add_doc_s"] = tomo.setup_s
    tom["parallel_scheme"] = str(tomo.scheme)
    tom["trace"] = trace_tomo
    ratio = {"tokens_per_s": ours["tokens_per_s"] / tom["tokens_per_s"],
             "tokens_per_s_median_chunk": (ours["tokens_per_s_median_chunk"]
                                           / tom["tokens_per_s_median_chunk"])}
    for key in ours:
        if key.startswith("tokens_per_s_first_"):
            ratio[key] = ours[key] / tom[key]
    # time to a common value of the sampled target log p(w, z) (log p(w | z) alone is not
    # monotone: past the burn-in it drifts down while log p(z) rises): the lower final value
    target = min(trace_ours[-1]["log_joint_per_token"], trace_tomo[-1]["log_joint_per_token"])

    def reach(trace: list[dict[str, Any]]) -> dict[str, Any]:
        hit = next(r for r in trace if r["log_joint_per_token"] >= target)
        return {"sweeps": hit["sweeps"], "seconds": hit["seconds"]}

    result = {
        "k": k, "chunk": chunk, "ours": ours, "tomotopy": tom, "ratio_ours_over_tomotopy": ratio,
        "time_to_common_log_joint": {"target_log_joint_per_token": target,
                                     "ours": reach(trace_ours), "tomotopy": reach(trace_tomo)},
        "tomotopy_ll_per_word_minus_our_log_joint_formula": (
            trace_tomo[-1]["tomotopy_ll_per_word"] - trace_tomo[-1]["log_joint_per_token"]),
    }
    finals = {
        "ours_top25": top_words_from_counts(kernel.word_topic_counts(state), corpus.vocab),
        "tomotopy_top25": tomo.top_words(),
    }
    return result, finals


def run_fit(corpus: Any, k: int, sweeps: int, draws: int) -> tuple[dict[str, Any], Any]:
    import ppltopics as pt

    t0 = time.perf_counter()
    post = pt.fit("lda", corpus, num_topics=k, num_chains=1, num_samples=draws,
                  warmup=sweeps - draws, progress=False, seed=SEED, alpha=ALPHA, beta=BETA)
    wall = time.perf_counter() - t0
    ll = post.groups["sample_stats"].get("log_likelihood")
    lp = post.groups["sample_stats"].get("lp")
    out = {
        "k": k, "sweeps": sweeps, "warmup": sweeps - draws, "num_samples": draws,
        "num_chains": 1, "wall_s": wall,
        "chain_s": float(post.settings["seconds_per_chain"][0]),
        "tokens_per_s_wall": sweeps * corpus.num_tokens / wall,
        "final_ll_per_token": None if ll is None else float(np.asarray(ll)[0, -1]
                                                             / corpus.num_tokens),
        "final_log_joint_per_token": None if lp is None else float(np.asarray(lp)[0, -1]
                                                                    / corpus.num_tokens),
        "note": "pt.fit wall time: init, sweeps, per-draw record + running posterior means, "
                "Posterior assembly",
    }
    return out, post


def run_gensim(corpus: Any, docs: list[list[str]], k: int, budget_s: float,
               max_passes: int) -> tuple[dict[str, Any], list[list[str]]]:
    import gensim
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel

    t0 = time.perf_counter()
    dictionary = Dictionary(docs)
    bow = [dictionary.doc2bow(d) for d in docs]
    setup = time.perf_counter() - t0
    settings = {"num_topics": k, "alpha": f"symmetric {ALPHA}", "eta": BETA, "chunksize": 2000,
                "iterations": 50, "update_every": 1, "decay": 0.5, "offset": 1.0,
                "random_state": SEED, "eval_every": None, "class": "gensim.models.LdaModel"}

    def top(m: Any) -> list[list[str]]:
        return [[w for w, _ in m.show_topic(t, topn=25)] for t in range(k)]

    t0 = time.perf_counter()
    model = LdaModel(bow, id2word=dictionary, num_topics=k, alpha=np.full(k, ALPHA), eta=BETA,
                     passes=1, chunksize=2000, iterations=50, random_state=SEED,
                     eval_every=None)
    train_s = time.perf_counter() - t0
    trace = [{"passes": 1, "seconds": train_s, "npmi": npmi_only(top(model), corpus)}]
    print(f"    gensim pass 1: {train_s:6.1f} s  NPMI {trace[-1]['npmi']:.4f}", flush=True)
    passes = 1
    while train_s < budget_s and passes < max_passes:
        t0 = time.perf_counter()
        model.update(bow, passes=1)
        train_s += time.perf_counter() - t0
        passes += 1
        trace.append({"passes": passes, "seconds": train_s, "npmi": npmi_only(top(model), corpus)})
        if passes % 5 == 0:
            print(f"    gensim pass {passes}: {train_s:6.1f} s  NPMI {trace[-1]['npmi']:.4f}",
                  flush=True)
    out = {"version": gensim.__version__, "settings": settings, "setup_dictionary_bow_s": setup,
           "passes": passes, "train_s": train_s, "budget_s": budget_s,
           "tokens_per_s_per_pass": passes * corpus.num_tokens / train_s, "trace": trace,
           "note": "first pass by LdaModel(...), further passes by update(bow, passes=1), "
                   "each followed by an untimed NPMI read-out"}
    return out, top(model)


# ============================================================================ main
def fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f} M"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="the shared/data folder (holding 20newsgroups-bydate/)")
    ap.add_argument("--quick", action="store_true", help="few sweeps (a smoke test)")
    ap.add_argument("--out", type=Path, default=None,
                    help="JSON path (default benchmarks/results/lda_20ng[_quick].json)")
    ap.add_argument("--gensim-max-passes", type=int, default=200)
    args = ap.parse_args(argv)
    out_path = args.out or REPO / "benchmarks" / "results" / (
        "lda_20ng_quick.json" if args.quick else "lda_20ng.json")

    tarball = args.data / TARBALL
    if not tarball.is_file():
        sys.exit(f"20 Newsgroups not found: {tarball} does not exist (pass --data DIR, the "
                 f"folder holding 20newsgroups-bydate/20news-bydate.tar.gz)")
    try:
        import gensim  # noqa: F401
        import tomotopy  # noqa: F401
    except ImportError as exc:
        sys.exit(f"{exc.name} is needed for this benchmark (pip install 'ppltopics[bench]')")

    from ppltopics.datasets import load_20newsgroups

    t_start = time.perf_counter()
    load_start = os.getloadavg()
    plan = PLANS[args.quick]
    print("machine:", json.dumps(machine_facts("tomotopy", "gensim")))
    with tempfile.TemporaryDirectory() as tmp:
        compile_cold = compile_times(Path(tmp))
    print(f"numba cold compile (subprocess): {json.dumps(compile_cold)}", flush=True)

    t0 = time.perf_counter()
    corpus = load_20newsgroups(tarball)
    docs = corpus.docs()
    t_load = time.perf_counter() - t0
    print(f"{corpus} loaded in {t_load:.1f} s", flush=True)
    warm = warm_in_process(corpus)
    print(f"first calls in process: {json.dumps(warm)}", flush=True)

    throughput: dict[str, Any] = {}
    finals20: dict[str, Any] = {}
    for k in (20, 100):
        sweeps, chunk, _ = plan[k]
        print(f"\n== K={k}: {sweeps} sweeps, ours and tomotopy interleaved in chunks of {chunk}",
              flush=True)
        res, finals = run_pair(corpus, docs, k, sweeps, chunk,
                               NPMI_EVERY[args.quick] if k == 20 else None)
        throughput[str(k)] = res
        if k == 20:
            finals20 = finals

    fits: dict[str, Any] = {}
    post20 = None
    for k in (20, 100):
        sweeps, _, draws = plan[k]
        print(f"\n== pt.fit('lda', K={k}): {sweeps - draws} warm-up + {draws} draws", flush=True)
        fits[str(k)], post = run_fit(corpus, k, sweeps, draws)
        print(f"    {fits[str(k)]['wall_s']:.1f} s", flush=True)
        if k == 20:
            post20 = post

    budget = throughput["20"]["ours"]["sampling_s"]
    print(f"\n== gensim LdaModel K=20, passes until {budget:.0f} s of training", flush=True)
    gensim_res, gensim_top = run_gensim(corpus, docs, 20, budget, args.gensim_max_passes)

    print("\n== quality at K=20", flush=True)
    sweeps20 = plan[20][0]
    qual = {
        "ours_final_state": {**quality(finals20["ours_top25"], corpus),
                             "what": f"counts of the final state after {sweeps20} sweeps"},
        "ours_pt_fit_posterior_mean": {
            **quality(post20.top_words(25), corpus),
            "what": f"pt.fit posterior-mean phi ({plan[20][2]} draws after "
                    f"{sweeps20 - plan[20][2]} warm-up sweeps)"},
        "tomotopy_final_state": {**quality(finals20["tomotopy_top25"], corpus),
                                 "what": f"counts of the final state after {sweeps20} sweeps"},
        "gensim": {**quality(gensim_top, corpus),
                   "what": f"variational LdaModel after {gensim_res['passes']} passes "
                           f"({gensim_res['train_s']:.1f} s)"},
    }

    # ------------------------------------------------------------------ tables
    n_tok = corpus.num_tokens
    lines = ["| K | system | sweeps | sampling s | init s | tokens/s | median-chunk tokens/s "
             "| ratio ours/tomotopy | final log p(w|z)/N | final log p(w,z)/N |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for k in ("20", "100"):
        r = throughput[k]
        for name in ("ours", "tomotopy"):
            s = r[name]
            ratio = f"{r['ratio_ours_over_tomotopy']['tokens_per_s']:.2f}x" \
                if name == "ours" else ""
            lines.append(
                f"| {k} | {name} | {s['sweeps']} | {s['sampling_s']:.1f} | {s['init_s']:.2f} "
                f"| {fmt_rate(s['tokens_per_s'])} | {fmt_rate(s['tokens_per_s_median_chunk'])} "
                f"| {ratio} | {s['trace'][-1]['ll_per_token']:.4f} "
                f"| {s['trace'][-1]['log_joint_per_token']:.4f} |")
        f = fits[k]
        lines.append(f"| {k} | ours pt.fit (1 chain, {f['num_samples']} draws) | {f['sweeps']} "
                     f"| {f['wall_s']:.1f} (wall) | | {fmt_rate(f['tokens_per_s_wall'])} | | "
                     f"| {f['final_ll_per_token']:.4f} | {f['final_log_joint_per_token']:.4f} |")
    table_speed = "\n".join(lines)

    lines = ["| K | target log p(w,z)/N | ours s (sweeps) | tomotopy s (sweeps) |",
             "|---|---|---|---|"]
    for k in ("20", "100"):
        t = throughput[k]["time_to_common_log_joint"]
        lines.append(f"| {k} | {t['target_log_joint_per_token']:.4f} "
                     f"| {t['ours']['seconds']:.1f} "
                     f"({t['ours']['sweeps']}) | {t['tomotopy']['seconds']:.1f} "
                     f"({t['tomotopy']['sweeps']}) |")
    table_ll = "\n".join(lines)

    lines = ["| K=20 system | what | NPMI (w=10) | C_V (w=110) | diversity@25 |",
             "|---|---|---|---|---|"]
    for name, q in qual.items():
        lines.append(f"| {name} | {q['what']} | {q['npmi']:.4f} | {q['c_v']:.4f} "
                     f"| {q['diversity25']:.3f} |")
    table_quality = "\n".join(lines)

    lines = ["| K=20 system | seconds | NPMI |", "|---|---|---|"]
    for name in ("ours", "tomotopy"):
        for r in throughput["20"][name]["trace"]:
            if "npmi" in r and r["sweeps"] > 0:
                lines.append(f"| {name} ({r['sweeps']} sweeps) | {r['seconds']:.1f} "
                             f"| {r['npmi']:.4f} |")
    g_trace = gensim_res["trace"]
    for r in g_trace[:: max(1, len(g_trace) // 8)] + ([g_trace[-1]] if len(g_trace) > 1 else []):
        lines.append(f"| gensim ({r['passes']} passes) | {r['seconds']:.1f} | {r['npmi']:.4f} |")
    table_ttc = "\n".join(dict.fromkeys(lines))  # drop a repeated last gensim row

    print("\n" + table_speed + "\n\n" + table_ll + "\n\n" + table_quality + "\n\n" + table_ttc)

    result = {
        "benchmark": "lda_20ng",
        "mode": "quick" if args.quick else "default",
        "machine": {**machine_facts("tomotopy", "gensim"), "loadavg_start": load_start,
                    "loadavg_end": os.getloadavg()},
        "corpus": {
            "name": "20newsgroups-bydate (train+test)",
            "loader": f"ppltopics.datasets.load_20newsgroups({str(tarball)!r}) (defaults: "
                      "remove headers/footers/quotes, English stopwords, min_count=5)",
            "num_docs": corpus.num_docs, "num_tokens": n_tok, "vocab_size": corpus.vocab_size,
            "load_s": t_load,
        },
        "settings": {
            "alpha": ALPHA, "beta_eta": BETA, "seed": SEED, "threads": 1,
            "plan": {str(k): {"sweeps": v[0], "chunk": v[1], "pt_fit_draws": v[2]}
                     for k, v in plan.items()},
            "npmi_every": NPMI_EVERY[args.quick],
            "ours": "ppltopics.inference.lda.LDAKernel (SparseLDA collapsed Gibbs): "
                    "init_state(default_rng(0)) then step() per sweep",
            "tomotopy": "LDAModel(tw=ONE, min_cf=0, min_df=0, rm_top=0, k, alpha=0.1, "
                        "eta=0.01, seed=0), optim_interval=0, train(0) for the init, then "
                        "train(chunk, workers=1, parallel=ParallelScheme.NONE)",
            "tokens_per_s": "num_tokens * sweeps / seconds of the sweeps only (read-outs, "
                            "init and setup excluded); chunks interleaved ours/tomotopy, "
                            "alternating which runs first",
            "ll": "collapsed log p(w | z) / num_tokens by "
                  "ppltopics.models.lda.log_likelihood_collapsed, and log p(z) / num_tokens by "
                  "log_prior_collapsed, on each system's assignments (tomotopy's ll_per_word "
                  "is their sum, log p(w, z) / num_tokens)",
        },
        "compile": {"cold_subprocess": compile_cold, "in_process_first_calls": warm},
        "throughput": throughput,
        "pt_fit": fits,
        "gensim": gensim_res,
        "quality_k20": qual,
        "tables": {"speed": table_speed, "time_to_ll": table_ll, "quality": table_quality,
                   "time_to_coherence": table_ttc},
        "total_benchmark_s": time.perf_counter() - t_start,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(f"\nwrote {out_path} ({result['total_benchmark_s']:.0f} s in all)")
    return result


if __name__ == "__main__":
    main()
