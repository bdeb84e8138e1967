"""The GLDA sweeps (:class:`ppltopics.inference.glda.GLDAKernel`'s ``method="exact"`` and
``"fast"``, module doc of :mod:`ppltopics.inference.glda`): the exact sweep over every topic's
Student-t predictive with the inverse Cholesky factors carried through rank-one changes, the
alias-table Metropolis–Hastings sweep on stale densities, and the per-token mixture
log-likelihoods of a draw."""

from __future__ import annotations

import math

import numba
import numpy as np

from ppltopics.inference._gaussian import predictive_logpdf_table
from ppltopics.inference._linalg import (
    NIWPrior,
    NIWStats,
    inv_quad,
    niw_add,
    niw_add_inv,
    niw_remove,
    niw_remove_inv,
    predictive_logpdf,
    predictive_logpdf_loo,
    predictive_logpdf_prior,
    t_const,
    tri_inv,
)
from ppltopics.inference._sampling import alias_draw, build_alias, log_categorical
from ppltopics.inference._word_view import WordView, view_logw

_INV_REFRESH = 64  # rank-one changes of a topic's inverse factor between recomputations


# ----------------------------------------------------------------------------- sweeps
@numba.njit(cache=True, nogil=True)
def _topic_cache(
    k: int, stats: NIWStats, prior: NIWPrior, mu: np.ndarray, tc: np.ndarray
) -> None:
    """Per-topic constants of the predictive, recomputed only when topic k changes:
    ``mu[k]`` = μ_n and ``tc[k]`` = (const, (dof+M)/2, c·dof) of
    t_dof(x | μ_n, c Ψ_n) = const − (dof+M)/2 · log1p(q / (c·dof)) with n = count[k], and
    the same three for n − 1 (the leave-one-out score of a member; its log|Ψ| term is
    log|Ψ_n|, the per-token log(1 − c q) is added by the caller)."""
    M = mu.shape[1]
    n = stats.count[k]
    kappa_n = prior.kappa0 + n
    for i in range(M):
        mu[k, i] = (prior.kappa0 * prior.mu0[i] + stats.sums[k, i]) / kappa_n
    for j in range(2):
        m = n - j
        kappa = prior.kappa0 + m
        dof = prior.nu0 + m - M + 1.0
        c = (kappa + 1.0) / (kappa * dof)
        tc[k, 3 * j] = t_const(stats.logdet[k], c, dof, M)
        tc[k, 3 * j + 1] = 0.5 * (dof + M)
        tc[k, 3 * j + 2] = c * dof


@numba.njit(cache=True, nogil=True)
def _topic_changed(
    k: int, stats: NIWStats, prior: NIWPrior, Linv: np.ndarray, mu: np.ndarray,
    tc: np.ndarray, updates: np.ndarray,
) -> None:
    """After a rank-one change of topic k: refresh its caches; every ``_INV_REFRESH``
    changes recompute ``Linv[k]`` from the Cholesky factor (clears the inverse's drift)."""
    updates[k] += 1
    if updates[k] >= _INV_REFRESH:
        tri_inv(stats.chol[k], Linv[k])
        updates[k] = 0
    _topic_cache(k, stats, prior, mu, tc)


@numba.njit(cache=True, nogil=True)
def exact_sweep(
    word_ids: np.ndarray, doc_offsets: np.ndarray, table: np.ndarray, z: np.ndarray,
    ndk: np.ndarray, alpha: np.ndarray, stats: NIWStats, prior: NIWPrior,
    rng: np.random.Generator, doc_logw: np.ndarray, doc_lo: int, doc_hi: int,
    view: WordView,
) -> int:
    """One systematic-scan sweep of exact Gibbs over z with Gaussian topics integrated out,
    over documents ``doc_lo``..``doc_hi − 1`` (all of them, or one worker's block).

    The document factor is (n_dk + α_k) (GLDA, θ integrated out) when ``doc_logw`` is empty,
    and exp(doc_logw[d, k]) otherwise (CGTM: θ_d = softmax(η_d) given, so the weight is
    e^{η_dk} and n_dk only bookkeeping).  Returns the number of refactorisations.

    Every topic's predictive (module doc) needs q_k = (x − μ_k)ᵀ Ψ_k⁻¹ (x − μ_k).  The sweep
    keeps, beside each Cholesky factor L_k of Ψ_k, its inverse G_k = L_k⁻¹ (computed at the
    start of the sweep, O(K·M³/6)), so q_k = ‖G_k (x − μ_k)‖² is a matrix-vector product
    (:func:`~ppltopics.inference._cholesky.inv_quad`); when a token moves, G of the two topics
    follows the factor's downdate/update by the O(M²) product-form rank-one update
    (:func:`~ppltopics.inference._linalg.niw_remove_inv` / ``niw_add_inv``) and is
    recomputed from L every ``_INV_REFRESH`` changes.  The leave-one-out score of the
    token's own topic needs no extra product: with κ' = κ_n − 1, x − μ' = (κ_n/κ')(x − μ_n),
    so q' = (κ_n/κ')² q_k, then the determinant lemma and Sherman–Morrison as in
    :func:`~ppltopics.inference._linalg.predictive_logpdf_loo`.  log(n_dk + α_k) is kept
    per document and recomputed only for the counts that change.

    ``view`` (:class:`WordView`): with a word view each topic's score becomes
    λ·log t_k(x_n) + log (n_kw + β)/(n_k + Vβ) (counts without token n); with none and
    λ = 1 the scores are untouched (bit for bit the plain GLDA sweep).
    """
    num_topics = ndk.shape[1]
    collapsed = doc_logw.shape[0] == 0
    has_words = view.nkw.shape[0] > 0
    reweigh = has_words or view.lam != 1.0
    vbeta = view.nkw.shape[0] * view.beta
    M = table.shape[1]
    work = np.empty((M + 4, M))
    logp = np.empty(num_topics)
    buf = np.empty(num_topics)
    lw = np.zeros(num_topics)
    y = np.empty(M)
    Linv = np.empty((num_topics, M, M))
    mu = np.empty((num_topics, M))
    tc = np.empty((num_topics, 6))
    updates = np.zeros(num_topics, dtype=np.int64)
    for t in range(num_topics):
        tri_inv(stats.chol[t], Linv[t])
        _topic_cache(t, stats, prior, mu, tc)
    refactored = 0
    for d in range(doc_lo, doc_hi):
        if collapsed:
            for t in range(num_topics):
                lw[t] = math.log(ndk[d, t] + alpha[t])
        else:
            for t in range(num_topics):
                lw[t] = doc_logw[d, t]
        for n in range(doc_offsets[d], doc_offsets[d + 1]):
            w = word_ids[n]
            x = table[w]
            k = z[n]
            ndk[d, k] -= 1
            if has_words:
                view.nkw[w, k] -= 1
                view.nk[k] -= 1
            lw_k = lw[k]
            if collapsed:
                lw[k] = math.log(ndk[d, k] + alpha[k])
            q_k = 0.0
            for t in range(num_topics):
                q = inv_quad(Linv[t], x, mu[t], y)
                if t == k:
                    q_k = q
                logp[t] = tc[t, 0] - tc[t, 1] * math.log1p(q / tc[t, 2])
            # its own topic without token n: leave-one-out, so a token that stays costs no
            # update; NaN (rounding) -> remove and score the usual way
            n_k = stats.count[k]
            removed = False
            if n_k <= 1:
                logp[k] = predictive_logpdf_prior(x, prior, work)
            else:
                kappa_p = prior.kappa0 + (n_k - 1)
                r = (kappa_p + 1.0) / kappa_p
                q_loo = r * r * q_k
                one_minus = 1.0 - kappa_p / (kappa_p + 1.0) * q_loo
                if one_minus > 1e-10:
                    logp[k] = (tc[k, 3] - 0.5 * math.log(one_minus)
                               - tc[k, 4] * math.log1p(q_loo / one_minus / tc[k, 5]))
                else:
                    if not niw_remove_inv(k, x, stats, prior, Linv, work):
                        refactored += 1
                    _topic_changed(k, stats, prior, Linv, mu, tc, updates)
                    logp[k] = predictive_logpdf(k, x, stats, prior, work)
                    removed = True
            if reweigh:
                for t in range(num_topics):
                    logp[t] *= view.lam
                    if has_words:
                        logp[t] += view_logw(view, w, t, vbeta)
            for t in range(num_topics):
                logp[t] += lw[t]
            new = log_categorical(rng, logp, num_topics, buf)
            if new != k or removed:
                if not removed:
                    if not niw_remove_inv(k, x, stats, prior, Linv, work):
                        refactored += 1
                    _topic_changed(k, stats, prior, Linv, mu, tc, updates)
                niw_add_inv(new, x, stats, prior, Linv, work)
                _topic_changed(new, stats, prior, Linv, mu, tc, updates)
            ndk[d, new] += 1
            if has_words:
                view.nkw[w, new] += 1
                view.nk[new] += 1
            z[n] = new
            if collapsed:
                if new == k:
                    lw[k] = lw_k
                else:
                    lw[new] = math.log(ndk[d, new] + alpha[new])
    return refactored


def word_topic_logdensity(rows: np.ndarray, stats: NIWStats, prior: NIWPrior,
                          workers: int = 1) -> np.ndarray:
    """(R, K) log predictive densities of the vectors ``rows`` under every topic of ``stats``
    (:func:`ppltopics.inference._gaussian.predictive_logpdf_table`, one GEMM per topic,
    ``workers`` threads)."""
    return predictive_logpdf_table(rows, stats.count, stats.sums, stats.chol, stats.logdet,
                                   prior.mu0, prior.kappa0, prior.nu0, workers)


@numba.njit(cache=True, nogil=True)
def _refresh_alias(
    log_scaled: np.ndarray, scaled: np.ndarray, alpha: np.ndarray, alias_prob: np.ndarray,
    alias_idx: np.ndarray, alias_total: np.ndarray, words: np.ndarray,
) -> None:
    """From stale log densities: per-word shifted logs (for the MH ratio), their exponentials
    f̃_w(k) (for drawing proposals) and α-part alias tables.

    Rows are shifted by their maximum (the shift cancels in the MH ratio and in q's
    normalising).  The ratio uses the logs, never log(f̃): an exponential that underflows to
    0 (a token thousands of nats from its best topic) would make log f̃ = -inf and strand the
    token in its topic for good.
    """
    num_topics = alpha.shape[0]
    weights = np.empty(num_topics)
    for i in range(words.shape[0]):
        w = words[i]
        m = -np.inf
        for k in range(num_topics):
            if log_scaled[w, k] > m:
                m = log_scaled[w, k]
        for k in range(num_topics):
            log_scaled[w, k] -= m
            scaled[w, k] = math.exp(log_scaled[w, k])
            weights[k] = alpha[k] * scaled[w, k]
        alias_total[w] = build_alias(weights, alias_prob[w], alias_idx[w])


@numba.njit(cache=True, nogil=True)
def _fast_sweep(
    word_ids: np.ndarray, doc_offsets: np.ndarray, table: np.ndarray, z: np.ndarray,
    ndk: np.ndarray, alpha: np.ndarray, stats: NIWStats, prior: NIWPrior,
    scaled: np.ndarray, log_scaled: np.ndarray, alias_prob: np.ndarray,
    alias_idx: np.ndarray, alias_total: np.ndarray, mh_steps: int, rng: np.random.Generator,
    doc_lo: int, doc_hi: int, view: WordView,
) -> tuple[int, int]:
    """One sweep of alias + Metropolis-Hastings Gibbs over documents ``doc_lo``..``doc_hi − 1``;
    returns (accepted, proposed).  With a word view or λ ≠ 1 (``view``) the target's f_k is
    λ·log t_k(x) + log (n_kw + β)/(n_k + Vβ) and the stale tables hold the same sum."""
    num_topics = alpha.shape[0]
    has_words = view.nkw.shape[0] > 0
    vbeta = view.nkw.shape[0] * view.beta
    M = table.shape[1]
    work = np.empty((M + 4, M))
    d_topics = np.empty(num_topics, dtype=np.int64)
    d_pos = np.empty(num_topics, dtype=np.int64)
    accepted = 0
    proposed = 0
    for d in range(doc_lo, doc_hi):
        nd = 0
        for k in range(num_topics):
            if ndk[d, k] > 0:
                d_pos[k] = nd
                d_topics[nd] = k
                nd += 1
        for n in range(doc_offsets[d], doc_offsets[d + 1]):
            w = word_ids[n]
            x = table[w]
            old = z[n]
            ndk[d, old] -= 1
            if has_words:
                view.nkw[w, old] -= 1
                view.nk[old] -= 1
            if ndk[d, old] == 0:
                nd -= 1
                last = d_topics[nd]
                d_topics[d_pos[old]] = last
                d_pos[last] = d_pos[old]
            f_old = predictive_logpdf_loo(old, x, stats, prior, work)
            removed = False
            if math.isnan(f_old):  # rounding: remove and score the usual way
                niw_remove(old, x, stats, prior, work)
                f_old = predictive_logpdf(old, x, stats, prior, work)
                removed = True
            f_old *= view.lam
            if has_words:
                f_old += view_logw(view, w, old, vbeta)
            q_doc = 0.0
            for i in range(nd):
                t = d_topics[i]
                q_doc += ndk[d, t] * scaled[w, t]
            q_total = q_doc + alias_total[w]
            cur = old
            f_cur = f_old
            for _ in range(mh_steps):
                u = rng.random() * q_total
                prop = -1
                if u < q_doc:
                    acc = 0.0
                    for i in range(nd):
                        t = d_topics[i]
                        acc += ndk[d, t] * scaled[w, t]
                        if u < acc:
                            prop = t
                            break
                    if prop < 0:
                        prop = d_topics[nd - 1]
                else:
                    prop = alias_draw(rng, alias_prob[w], alias_idx[w])
                proposed += 1
                if prop == cur:
                    accepted += 1
                    continue
                if prop == old:
                    f_prop = f_old
                else:
                    f_prop = view.lam * predictive_logpdf(prop, x, stats, prior, work)
                    if has_words:
                        f_prop += view_logw(view, w, prop, vbeta)
                log_ratio = f_prop - f_cur + log_scaled[w, cur] - log_scaled[w, prop]
                if log_ratio >= 0.0 or rng.random() < math.exp(log_ratio):
                    cur = prop
                    f_cur = f_prop
                    accepted += 1
            if cur != old or removed:
                if not removed:
                    niw_remove(old, x, stats, prior, work)
                niw_add(cur, x, stats, prior, work)
            if ndk[d, cur] == 0:
                d_pos[cur] = nd
                d_topics[nd] = cur
                nd += 1
            ndk[d, cur] += 1
            if has_words:
                view.nkw[w, cur] += 1
                view.nk[cur] += 1
            z[n] = cur
    return accepted, proposed


@numba.njit(cache=True, nogil=True)
def _pointwise(
    word_ids: np.ndarray, doc_offsets: np.ndarray, theta: np.ndarray, logdens: np.ndarray,
    out: np.ndarray,
) -> None:
    """out[d] = Σ_n log Σ_k θ_dk f_k(x_n) for the document proportions ``theta`` (D, K).

    Per word type once: m_w = max_k log f_k(w) and e_wk = f_k(w)/e^{m_w} ∈ (0, 1], so a token
    costs K multiply-adds, not K exponentials: log Σ_k θ_dk f_k = m_w + log Σ_k θ_dk e_wk.  A
    sum below 1e-280 (every topic that explains the word has a vanishing θ_dk) is redone as
    a log-sum-exp over log θ_dk + log f_k.
    """
    num_topics = theta.shape[1]
    vocab_size = logdens.shape[0]
    seen = np.zeros(vocab_size, dtype=np.bool_)
    for n in range(word_ids.shape[0]):
        seen[word_ids[n]] = True
    m_w = np.zeros(vocab_size)
    e_w = np.zeros((vocab_size, num_topics))
    for w in range(vocab_size):
        if not seen[w]:
            continue
        m = -np.inf
        for k in range(num_topics):
            if logdens[w, k] > m:
                m = logdens[w, k]
        m_w[w] = m
        for k in range(num_topics):
            e_w[w, k] = math.exp(logdens[w, k] - m)
    for d in range(doc_offsets.shape[0] - 1):
        total = 0.0
        for n in range(doc_offsets[d], doc_offsets[d + 1]):
            w = word_ids[n]
            s = 0.0
            for k in range(num_topics):
                s += theta[d, k] * e_w[w, k]
            if s > 1e-280:
                total += m_w[w] + math.log(s)
                continue
            m = -np.inf
            for k in range(num_topics):
                v = math.log(theta[d, k]) + logdens[w, k]
                if v > m:
                    m = v
            s = 0.0
            for k in range(num_topics):
                s += math.exp(math.log(theta[d, k]) + logdens[w, k] - m)
            total += m + math.log(s)
        out[d] = total
