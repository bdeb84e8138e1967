"""What a kernel records per draw, against direct formulas: the per-document log-likelihoods
(ArviZ's ``log_likelihood`` group, used by LOO/WAIC) and the running sums of θ̂ and φ̂.

These are read-outs, not the chain: their fast paths (dense tables, one pass over the tokens)
must give the same numbers as the textbook definitions, on both sides of every size switch.
"""

from __future__ import annotations

import numpy as np
import pytest

import ppltopics.inference.lda as lda_mod
from ppltopics.models.lda import LDAHyper, simulate


@pytest.fixture(scope="module")
def lda_state():
    sim = simulate(25, 30, 40, LDAHyper(num_topics=5, alpha=0.3, beta=0.05), seed=4)
    kernel = lda_mod.LDAKernel(sim.corpus, LDAHyper(num_topics=5, alpha=0.3, beta=0.05))
    rng = np.random.default_rng(0)
    state = kernel.init_state(rng)
    for _ in range(5):
        kernel.step(state, rng, False)
    return kernel, state


def _direct(kernel, state):
    """θ̂_dk = (n_dk+α_k)/(N_d+α₀), φ̂_kw = (n_wk+β)/(n_k+Vβ); pointwise_d = Σ_n log Σ_k θ̂ φ̂."""
    c = kernel.corpus
    beta, alpha = kernel.hyper.beta, state["alpha"]
    ndk = np.zeros((c.num_docs, kernel.num_topics))
    nkw = np.zeros((kernel.num_topics, c.vocab_size))
    docs = np.repeat(np.arange(c.num_docs), np.diff(c.doc_offsets))
    for d, w, k in zip(docs, c.word_ids, state["z"], strict=True):
        ndk[d, k] += 1
        nkw[k, w] += 1
    theta = (ndk + alpha) / (ndk.sum(1, keepdims=True) + alpha.sum())
    phi = (nkw + beta) / (nkw.sum(1, keepdims=True) + c.vocab_size * beta)
    per_token = np.log(np.einsum("nk,kn->n", theta[docs], phi[:, c.word_ids]))
    return theta, phi, np.bincount(docs, per_token, minlength=c.num_docs), ndk


#: the three forms of a token's mixture sum in LDAKernel.record, by the size switches
PATHS = {"dot": {}, "doc-topics": {"DOT_POINTWISE_MAX_TOPICS": 0},
         "packed-walk": {"DENSE_POINTWISE_CELLS": 0}}


@pytest.mark.parametrize("path", list(PATHS))
def test_lda_pointwise_is_the_mixture_log_likelihood(lda_state, path, monkeypatch):
    kernel, state = lda_state
    for name, value in PATHS[path].items():
        monkeypatch.setattr(lda_mod, name, value)
    _, _, pointwise, _ = _direct(kernel, state)
    rec = kernel.record(state)
    np.testing.assert_allclose(rec["pointwise"], pointwise, rtol=1e-12)


@pytest.mark.parametrize("path", list(PATHS))
def test_lda_record_beyond_the_lgamma_tables(path, monkeypatch):
    """Counts past the per-record lgamma tables (n_wk ≥ 256, n_dk ≥ 32, one long document)
    and an asymmetric α: lp, log_likelihood and pointwise equal the direct formulas."""
    from ppltopics.corpus import Corpus
    from ppltopics.models import lda as lda_model

    for name, value in PATHS[path].items():
        monkeypatch.setattr(lda_mod, name, value)
    rng = np.random.default_rng(5)
    docs = [np.full(300, 2), rng.integers(0, 12, size=40), rng.integers(0, 12, size=7)]
    corpus = Corpus(np.concatenate(docs), np.cumsum([0] + [len(d) for d in docs]),
                    [f"w{v}" for v in range(12)])
    hyper = LDAHyper(num_topics=4, alpha=(0.05, 0.2, 0.7, 1.5), beta=0.02)
    kernel = lda_mod.LDAKernel(corpus, hyper)
    state = kernel.init_state(rng)
    state["z"][:300] = 1  # n_wk = 300 (word 2, topic 1) and n_dk = 300 in document 0
    kernel.resync(state)
    rec = kernel.record(state)
    args = (corpus.word_ids, corpus.doc_offsets, state["z"], hyper, corpus.vocab_size)
    np.testing.assert_allclose(rec["lp"], lda_model.log_joint(*args), rtol=1e-12)
    np.testing.assert_allclose(rec["log_likelihood"], lda_model.log_likelihood_collapsed(*args),
                               rtol=1e-12)
    _, _, pointwise, _ = _direct(kernel, state)
    np.testing.assert_allclose(rec["pointwise"], pointwise, rtol=1e-12)


def test_lda_running_sums_are_the_point_estimates(lda_state):
    kernel, state = lda_state
    theta, phi, _, ndk = _direct(kernel, state)
    np.testing.assert_array_equal(kernel.doc_topic_counts(state), ndk)
    acc: dict[str, np.ndarray] = {}
    kernel.accumulate(state, acc)
    kernel.accumulate(state, acc)
    est = kernel.finalize(acc)
    np.testing.assert_allclose(est["theta"], theta, rtol=1e-12)
    np.testing.assert_allclose(est["phi"], phi, rtol=1e-12)


# ----------------------------------------------------------------------------- Gaussian
@pytest.fixture(scope="module")
def glda_state():
    from ppltopics.inference.glda import GLDAKernel
    from ppltopics.models import glda

    hy = glda.GLDAHyper(4, alpha=0.3, kappa0=0.5, nu0=7.0, psi0=0.5, mu0=(0.0,) * 4)
    sim = glda.simulate_vocabulary(15, 20, hy, vocab_size=40, seed=2)
    r = sim.hyper
    table = sim.vectors.matrix(sim.corpus.vocab)
    kernel = GLDAKernel(sim.corpus, table, r.num_topics, r.alpha_vector, *r.niw_args())
    rng = np.random.default_rng(1)
    state = kernel.init_state(rng)
    for _ in range(4):
        kernel.step(state, rng, False)
    return kernel, state


def test_predictive_table_is_the_per_token_predictive(glda_state):
    """The BLAS table of a recorded draw and of the fast sampler's proposal refresh (one GEMM
    per topic with L⁻¹) equals the numba predictive the Gibbs step uses, within the rounding
    of the triangular inverse (~1e-10 relative)."""
    from ppltopics.inference._linalg import predictive_logpdf_topics
    from ppltopics.inference.glda import _stats, word_topic_logdensity

    kernel, state = glda_state
    p = kernel.prior
    table = word_topic_logdensity(kernel.table, _stats(state), p)
    ref = np.zeros_like(table)
    work = np.empty((kernel.table.shape[1] + 4, kernel.table.shape[1]))
    for w in range(kernel.table.shape[0]):
        predictive_logpdf_topics(kernel.table[w], _stats(state), p, ref[w], work)
    np.testing.assert_allclose(table, ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("scale", [1.0, 1e-320], ids=["plain", "vanishing-theta"])
def test_gaussian_pointwise_is_the_mixture_log_likelihood(glda_state, scale):
    """pointwise_d = Σ_n log Σ_k θ_dk f_k(x_n), also when every topic that explains a word has
    a subnormal θ_dk, so that the per-word rescaled sum loses its digits (the log-sum-exp
    fallback; without it this case is off by ~1e-3)."""
    from scipy.special import logsumexp

    from ppltopics.inference.glda import _pointwise

    kernel, state = glda_state
    c = kernel.corpus
    rng = np.random.default_rng(0)
    logdens = rng.normal(-5.0, 30.0, size=(c.vocab_size, kernel.num_topics))
    theta = kernel.doc_theta(state).copy()
    if scale != 1.0:  # topic 0 explains no word; the others' shares are subnormal
        theta[:, 1:] *= scale
        logdens[:, 0] -= 1000.0
    out = np.empty(c.num_docs)
    _pointwise(c.word_ids, c.doc_offsets, theta, logdens, out)
    docs = np.repeat(np.arange(c.num_docs), np.diff(c.doc_offsets))
    per_token = logsumexp(np.log(theta[docs]) + logdens[c.word_ids], axis=1)
    np.testing.assert_allclose(out, np.bincount(docs, per_token), rtol=1e-10)
    assert np.isfinite(kernel.record(state)["pointwise"]).all()


def test_lda_records_computed_beside_the_next_sweep_are_those_of_their_own_draw():
    """The runner takes LDA's lp, log-likelihood and pointwise from ``record_later`` (computed
    on copies while the next sweep runs): each draw's values equal ``record`` of the state
    right after its sweep, not of a later state (the defect if the copies were views)."""
    from ppltopics.inference.runner import RunSpec, run_chain

    sim = simulate(30, 40, 50, LDAHyper(num_topics=4, alpha=0.3, beta=0.05), seed=7)
    kernel = lda_mod.LDAKernel(sim.corpus, LDAHyper(num_topics=4, alpha=0.3, beta=0.05))
    seen = []

    def callback(state, it):
        if it >= 3:
            seen.append(kernel.record(state))

    spec = RunSpec(num_chains=1, num_samples=6, warmup=3, seed=2, progress=False,
                   callback=callback)
    res = run_chain(kernel, spec, 0)
    assert res.pointwise.shape == (6, sim.corpus.num_docs)
    np.testing.assert_array_equal(res.pointwise, [r["pointwise"] for r in seen])
    for key in ("lp", "log_likelihood"):
        np.testing.assert_array_equal(res.stats[key], [r[key] for r in seen])
    assert len({r["lp"] for r in seen}) == 6  # the draws differ, so a stale copy would show


def test_lda_record_later_reads_copies(lda_state):
    """``record_later``'s deferred part, run only after the state has moved on, still gives
    ``record`` of the state it was called on."""
    kernel, state = lda_state
    state = {k: v.copy() for k, v in state.items()}
    before = kernel.record(state)
    jobs = []
    row = kernel.record_later(state, lambda fn: jobs.append(fn) or "future")
    assert row["later"] == "future"
    kernel.step(state, np.random.default_rng(1), False)
    assert kernel.record(state)["lp"] != before["lp"]
    later = jobs[0]()
    for key in ("lp", "log_likelihood", "pointwise"):
        np.testing.assert_array_equal(later[key], before[key])
    assert {k for k in before if k not in later} == set(row) - {"later"}


def test_progress_shows_the_log_likelihood_of_the_draw_before():
    """With LDA's record computed beside the next sweep, the progress bar shows each sampling
    sweep the per-token log-likelihood of the draw before it (warm-up's last before the
    first draw), never a NaN or a value of a state not yet recorded."""
    from ppltopics.inference.runner import RunSpec, run_chain

    class Bar:
        def __init__(self):
            self.shown = []

        def update(self, n):
            pass

        def set_postfix_str(self, text, refresh=False):
            self.shown.append(text)

    sim = simulate(30, 40, 50, LDAHyper(num_topics=4, alpha=0.3, beta=0.05), seed=7)
    kernel = lda_mod.LDAKernel(sim.corpus, LDAHyper(num_topics=4, alpha=0.3, beta=0.05))
    bar = Bar()
    res = run_chain(kernel, RunSpec(num_chains=1, num_samples=5, warmup=4, seed=1), 0, bar=bar)
    shown = [float(t.split("=")[1]) for t in bar.shown]
    ll = res.stats["log_likelihood"] / kernel.num_tokens
    assert len(shown) == 9 and not np.isnan(shown).any()
    np.testing.assert_allclose(shown[5:], ll[:-1], rtol=1e-4)
    assert shown[4] == shown[3]  # the first draw's own values are not ready yet
