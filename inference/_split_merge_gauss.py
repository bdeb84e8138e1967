"""The split–merge move for Gaussian topics (GLDA; CGTM, jointly with η).

The move's frame — labels (i, j, k), merge S_j into i, split F between k and j, reverse
(k, j, i), Hastings ratio — is :mod:`ppltopics.inference._split_merge`'s.  What is particular
to Gaussian topics is the split proposal, built for corpora where every token of a word type
carries the same vector:

1. **Launch** (an auxiliary draw that depends only on the set F, never on its current
   labels, so its density cancels; Jain & Neal 2004): the word types of F, with their token
   counts c_w, are split in two — the first seed a random type, the second drawn by
   count-weighted D² sampling from it (k-means++), then count-weighted 2-means (Lloyd,
   :func:`_two_means`) — then ``scans`` passes re-draw every type's cluster from the NIW
   predictives t_a(x_w) (all O(T·M²) for T types, against O(|F|·M²) per pass for a
   token-level launch).
2. **A second launch** L': every token of F to either cluster by a fair coin.
3. **Proposal**: one final restricted Gibbs scan over the tokens of F, from L with the
   restricted conditionals (sharp) or, with probability ε = ``soft_share``, from L' with
   the conditionals raised to the power β = ``soft_beta`` (soft):

       q(y) = (1 − ε) q_sharp(y | L) + ε q_soft(y | L'),
       p(z_n = a | ·) ∝ [(c_da + α_a) t_a(x_n)]^β,

   with q(y) of the realised labels evaluated under both components (one scan draws y, the
   other is forced to it).  The sharp scan proposes the clean split; the soft one gives a
   mixed split — such as a topic holding parts of two clusters, the state a chain is stuck
   in — a probability that is not vanishingly small.  With ε = 0 (Jain & Neal's proposal)
   the reverse probability of such a topic was e^-21,000 on the 24,000-token planted corpus
   of ``benchmarks/bench_split_merge.py``, against a gain in log p of 9,800 for repairing
   it, so the move was never accepted; with ε = β = ½ it is e^-2,600 and the move is.
   q of the reverse move's target, the original S_i / S_j, is evaluated the same way
   under independently drawn reverse launches.

The restricted scans visit F a word type at a time (:func:`_gauss_scan`): the type's tokens
share one vector, so their NIW predictives follow from one O(M²) solve by rank-one closed
forms (:func:`_predictive_plus`) — the token-by-token conditionals at O(M²) per type.

**CGTM.** A move of z alone, given η, was exact but rarely accepted (11 of 30 planted
recoveries): the label it refills keeps the η column of the topic merged away, so the split
half it receives is scored with the wrong document weights.  The move is joint instead: η's
columns i, j, k follow the merge and the split (:func:`_eta_move`), with (μ_η, Σ_η)
integrated out.

**Early rejection.** The uniform u of the acceptance test is drawn first.  After the forward
split is drawn from one component, log p(z')/p(z) is known and log q_fwd ≥ log(weight of that
component) + its log q, while log q_rev ≤ 0; when log u already exceeds the resulting bound on
the log ratio the move is rejected without the other component's scan and the reverse split
(exact: the decision is the one the full ratio gives).  Most proposals end there.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ppltopics.inference._linalg import (
    NIWPrior,
    NIWStats,
    _chol_downdate,
    _solve_lower_sq,
    chol_logdet,
    niw_refactor,
    predictive_logpdf,
    reset_topic,
    t_logpdf,
    topic_log_marginal,
)
from ppltopics.inference._split_merge import (
    EXACT,
    NO_JACOBIAN,
    NO_SPLIT_CHOICE,
    NO_WORD_VIEW,
    WRONG_SIGN,
    _choose_informed,
    _choose_triple,
    _collect,
    _doc_terms,
    _doc_terms_listed,
    _draw_split,
    _pair_logprob,
    _split_logprob,
    _two_way,
)
from ppltopics.inference._split_merge_eta import _eta_move, _topic_counts
from ppltopics.inference._type_clusters import (
    _gauss_pair_scores,
    _niw_add_count,
    _split_score,
    _split_scores,
    _two_means,
    _type_table,
    _types_into,
)
from ppltopics.inference._word_view import WordView, view_log_marginal

__all__ = ["gaussian_split_merge"]


# ----------------------------------------------------------------------------- launch
@numba.njit(cache=True, nogil=True)
def _launch(
    types: np.ndarray, counts: np.ndarray, table: np.ndarray, ws: NIWStats, s0: int,
    prior: NIWPrior, work: np.ndarray, rng: np.random.Generator, scans: int,
) -> np.ndarray:
    """Launch split of the word types (module doc, step 1); its statistics end in s0, s0+1."""
    T = types.shape[0]
    tlab = np.zeros(T, dtype=np.int64)
    order = rng.permutation(T)
    if T > 2:  # second seed by D² sampling from the first (k-means++), count-weighted
        x0 = table[types[order[0]]]
        w = np.empty(T)
        for t in range(T):
            e = 0.0
            for c in range(x0.shape[0]):
                e += (table[types[order[t]], c] - x0[c]) ** 2
            w[t] = counts[order[t]] * e
        w[0] = 0.0
        u = rng.random() * w.sum()
        r1 = 1
        acc = w[0]
        for t in range(1, T):
            acc += w[t]
            r1 = t
            if u < acc:
                break
        order[1], order[r1] = order[r1], order[1]
    if T > 1:
        tlab[order[1]] = 1
        _two_means(types, counts, table, tlab, order[0], order[1])
    _types_into(types, counts, tlab, table, ws, s0, prior, work)
    for _ in range(scans):
        for t in range(T):
            x = table[types[t]]
            tlab[t], _ = _two_way(rng, predictive_logpdf(s0, x, ws, prior, work),
                                  predictive_logpdf(s0 + 1, x, ws, prior, work), -1)
        _types_into(types, counts, tlab, table, ws, s0, prior, work)
    return tlab


@numba.njit(cache=True, nogil=True)
def _niw_remove_count(
    k: int, x: np.ndarray, c: int, stats: NIWStats, prior: NIWPrior, work: np.ndarray,
) -> None:
    """Remove c member copies of x from topic k in O(M²) (the inverse of
    :func:`_niw_add_count`): with κ' = κ0 + n − c and μ' the mean without them,
    Ψ' = Ψ − κ' c/(κ' + c) (x − μ')(x − μ')ᵀ, one rank-one downdate (refactorised from the
    scatter if rounding makes it fail; the topic is reset to the prior when emptied)."""
    if c <= 0:
        return
    n = stats.count[k]
    if n == c:
        reset_topic(k, stats, prior)
        return
    M = x.shape[0]
    kappa_p = prior.kappa0 + (n - c)
    f = math.sqrt(kappa_p * c / (kappa_p + c))
    v = work[0]
    for a in range(M):
        stats.sums[k, a] -= c * x[a]
        v[a] = f * (x[a] - (prior.kappa0 * prior.mu0[a] + stats.sums[k, a]) / kappa_p)
    stats.count[k] = n - c
    for a in range(M):
        ya = c * (x[a] - prior.mu0[a])
        for b in range(a + 1):
            stats.scatter[k, a, b] -= ya * (x[b] - prior.mu0[b])
    if _chol_downdate(stats.chol[k], v, work[1], work[2], work[3]):
        stats.logdet[k] = chol_logdet(stats.chol[k])
    else:
        niw_refactor(k, stats, prior)


@numba.njit(cache=True, nogil=True)
def _base_q(k: int, x: np.ndarray, stats: NIWStats, prior: NIWPrior, work: np.ndarray) -> float:
    """q = (x − μ_n)ᵀ Ψ_n⁻¹ (x − μ_n) of topic k, one triangular solve (O(M²))."""
    kappa_n = prior.kappa0 + stats.count[k]
    y = work[0]
    for a in range(x.shape[0]):
        y[a] = x[a] - (prior.kappa0 * prior.mu0[a] + stats.sums[k, a]) / kappa_n
    return _solve_lower_sq(stats.chol[k], y)


@numba.njit(cache=True, nogil=True)
def _predictive_plus(q: float, logdet: float, n: int, m: int, prior: NIWPrior, M: int
                     ) -> float:
    """log p(x | a topic of n vectors plus m copies of x) in O(1), from that topic's
    q = (x − μ_n)ᵀ Ψ_n⁻¹ (x − μ_n) and log|Ψ_n| without the copies.  With κ = κ0 + n and
    c = κ m/(κ + m): x − μ_{n+m} = κ/(κ + m) (x − μ_n) and Ψ_{n+m} = Ψ_n + c (x − μ_n)(x − μ_n)ᵀ,
    so (matrix determinant lemma, Sherman–Morrison) log|Ψ_{n+m}| = log|Ψ_n| + log(1 + c q)
    and (x − μ_{n+m})ᵀ Ψ_{n+m}⁻¹ (x − μ_{n+m}) = (κ/(κ + m))² q/(1 + c q); the multivariate
    t of :func:`~ppltopics.inference._linalg.predictive_logpdf` follows (m = 0: the same)."""
    kappa = prior.kappa0 + n
    km = kappa + m
    c = kappa * m / km
    r = kappa / km
    dof = prior.nu0 + n + m - M + 1.0
    return t_logpdf(r * r * q / (1.0 + c * q), logdet + math.log1p(c * q),
                    (km + 1.0) / (km * dof), dof, M)


@numba.njit(cache=True, nogil=True)
def _gauss_scan(
    toks: np.ndarray, grp: np.ndarray, lab: np.ndarray, target: np.ndarray, table: np.ndarray,
    word_ids: np.ndarray, token_docs: np.ndarray, cnt: np.ndarray, la: np.ndarray,
    ws: NIWStats, s0: int, prior: NIWPrior, work: np.ndarray, rng: np.random.Generator,
    beta: float = 1.0,
) -> float:
    """One restricted Gibbs scan of ``toks`` between workspace topics s0, s0+1 (labels 0/1 in
    ``lab``, updated in place): each token in turn draws its label from

        p(z_n = a | ·) ∝ [D_a(d) t_a(x_n)]^β,

    D_a(d) = cnt[d, a] + α_a the document factor over the other tokens (la = (α_a, α_b);
    θ_d integrated out, for CGTM too, see :func:`_eta_move`) and t_a the NIW predictive
    given every other token's current label.  The tokens come grouped by word
    type (``toks[grp[g]:grp[g+1]]`` share one vector x): the group leaves both topics at
    once, q and log|Ψ| of x under each topic are computed once (O(M²)), and each token's
    predictive with the m_a group members now in topic a is :func:`_predictive_plus`
    (O(1), memoised by m_a); the group returns at once.  The same conditionals as a
    token-by-token scan, at O(M²) per type instead of per token.  ``target`` non-empty: force
    each token to target[idx].  ``beta`` < 1: the tempered scan.  Returns Σ log p(label)."""
    logq = 0.0
    forced = target.shape[0] > 0
    M = table.shape[1]
    largest = 0
    for g in range(grp.shape[0] - 1):
        largest = max(largest, grp[g + 1] - grp[g])
    # t_a(x) depends on the token only through m_a: memoised per group (mostly 1–2 values)
    memo0 = np.empty(largest + 1)
    memo1 = np.empty(largest + 1)
    # log(c + α_a) of the document counts, memoised by c
    logc0 = np.full(toks.shape[0] + 1, np.nan)
    logc1 = np.full(logc0.shape[0], np.nan)
    for g in range(grp.shape[0] - 1):
        lo = grp[g]
        hi = grp[g + 1]
        x = table[word_ids[toks[lo]]]
        m1 = 0
        for idx in range(lo, hi):
            m1 += lab[idx]
        m0 = hi - lo - m1
        _niw_remove_count(s0, x, m0, ws, prior, work)
        _niw_remove_count(s0 + 1, x, m1, ws, prior, work)
        n0 = ws.count[s0]
        n1 = ws.count[s0 + 1]
        q0 = _base_q(s0, x, ws, prior, work)
        q1 = _base_q(s0 + 1, x, ws, prior, work)
        ld0 = ws.logdet[s0]
        ld1 = ws.logdet[s0 + 1]
        memo0[: hi - lo + 1] = np.nan
        memo1[: hi - lo + 1] = np.nan
        for idx in range(lo, hi):
            d = token_docs[toks[idx]]
            a = lab[idx]
            cnt[d, a] -= 1
            if a == 0:
                m0 -= 1
            else:
                m1 -= 1
            if math.isnan(memo0[m0]):
                memo0[m0] = _predictive_plus(q0, ld0, n0, m0, prior, M)
            if math.isnan(memo1[m1]):
                memo1[m1] = _predictive_plus(q1, ld1, n1, m1, prior, M)
            l0 = memo0[m0]
            l1 = memo1[m1]
            c0 = cnt[d, 0]
            c1 = cnt[d, 1]
            if math.isnan(logc0[c0]):
                logc0[c0] = math.log(c0 + la[0])
            if math.isnan(logc1[c1]):
                logc1[c1] = math.log(c1 + la[1])
            l0 += logc0[c0]
            l1 += logc1[c1]
            new, lp = _two_way(rng, beta * l0, beta * l1, target[idx] if forced else -1)
            logq += lp
            cnt[d, new] += 1
            lab[idx] = new
            if new == 0:
                m0 += 1
            else:
                m1 += 1
        if m0 > 0:
            _niw_add_count(s0, x, m0, ws, prior, work)
        if m1 > 0:
            _niw_add_count(s0 + 1, x, m1, ws, prior, work)
    return logq


@numba.njit(cache=True, nogil=True)
def _gauss_coin_launch(
    toks: np.ndarray, grp: np.ndarray, table: np.ndarray, word_ids: np.ndarray,
    token_docs: np.ndarray, cnt: np.ndarray, ws: NIWStats, s0: int, prior: NIWPrior,
    work: np.ndarray, rng: np.random.Generator,
) -> np.ndarray:
    """Launch state of the soft proposal: every token of ``toks`` to label 0 or 1 by a fair
    coin (workspace topics s0, s0+1 and ``cnt`` hold it; a type's copies added at once)."""
    reset_topic(s0, ws, prior)
    reset_topic(s0 + 1, ws, prior)
    lab = np.empty(toks.shape[0], dtype=np.int64)
    for g in range(grp.shape[0] - 1):
        c1 = 0
        for idx in range(grp[g], grp[g + 1]):
            a = 0 if rng.random() < 0.5 else 1
            lab[idx] = a
            c1 += a
            cnt[token_docs[toks[idx]], a] += 1
        x = table[word_ids[toks[grp[g]]]]
        if grp[g + 1] - grp[g] - c1 > 0:
            _niw_add_count(s0, x, grp[g + 1] - grp[g] - c1, ws, prior, work)
        if c1 > 0:
            _niw_add_count(s0 + 1, x, c1, ws, prior, work)
    return lab


@numba.njit(cache=True, nogil=True)
def _clear_cnt(toks: np.ndarray, token_docs: np.ndarray, cnt: np.ndarray) -> None:
    for idx in range(toks.shape[0]):
        d = token_docs[toks[idx]]
        cnt[d, 0] = 0
        cnt[d, 1] = 0


@numba.njit(cache=True, nogil=True)
def _component(
    toks: np.ndarray, grp: np.ndarray, soft: bool, target: np.ndarray, launch: np.ndarray,
    table: np.ndarray, word_ids: np.ndarray, token_docs: np.ndarray, cnt: np.ndarray,
    cnt2: np.ndarray, la: np.ndarray, ws: NIWStats, s0: int, prior: NIWPrior,
    work: np.ndarray, rng: np.random.Generator, soft_beta: float,
) -> tuple[np.ndarray, float]:
    """One component of the split proposal of the grouped tokens ``toks`` (see
    :func:`_score_split`): the sharp scan from the word-type launch ``launch`` (its statistics
    in slots s0, s0+1, document counts in ``cnt``) or the soft one — a fair-coin launch into
    slots 5, 6 (``cnt2``) and a scan tempered by β = ``soft_beta``.  Draws the labels
    (``target`` empty) or scores ``target``; returns (labels, log q); the labels' statistics
    end in the component's slots and the document counts are left zero."""
    if soft:
        lab = _gauss_coin_launch(toks, grp, table, word_ids, token_docs, cnt2, ws, 5, prior,
                                 work, rng)
        lq = _gauss_scan(toks, grp, lab, target, table, word_ids, token_docs, cnt2, la, ws, 5,
                         prior, work, rng, soft_beta)
        _clear_cnt(toks, token_docs, cnt2)
        return lab, lq
    lab = launch.copy()
    for idx in range(toks.shape[0]):
        cnt[token_docs[toks[idx]], lab[idx]] += 1
    lq = _gauss_scan(toks, grp, lab, target, table, word_ids, token_docs, cnt, la, ws, s0,
                     prior, work, rng)
    _clear_cnt(toks, token_docs, cnt)
    return lab, lq


@numba.njit(cache=True, nogil=True)
def _mixture_logq(lq_sharp: float, lq_soft: float, soft_share: float) -> float:
    """log q(y) = log[(1 − ε) q_sharp(y) + ε q_soft(y)], ε = ``soft_share``."""
    if soft_share <= 0.0:
        return lq_sharp
    a = math.log1p(-soft_share) + lq_sharp
    b = math.log(soft_share) + lq_soft
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


@numba.njit(cache=True, nogil=True)
def _prepare(
    toks: np.ndarray, word_ids: np.ndarray, table: np.ndarray, slot: np.ndarray, ws: NIWStats,
    s0: int, prior: NIWPrior, work: np.ndarray, rng: np.random.Generator, scans: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, grp, launch): ``toks[order]`` grouped by word type (types in first-seen
    order, tokens in their order within a type — an order fixed by the set ``toks``, as the
    forward and reverse probabilities need), the groups' offsets, and the word-type launch
    (:func:`_launch`, statistics in slots s0, s0+1) as labels of the grouped tokens."""
    types, counts, tok_slot = _type_table(toks, word_ids, slot)
    tlab = _launch(types, counts, table, ws, s0, prior, work, rng, scans)
    grp = np.zeros(types.shape[0] + 1, dtype=np.int64)
    grp[1:] = np.cumsum(counts)
    pos = grp[:-1].copy()
    order = np.empty(toks.shape[0], dtype=np.int64)
    for idx in range(toks.shape[0]):
        order[pos[tok_slot[idx]]] = idx
        pos[tok_slot[idx]] += 1
    return order, grp, tlab[tok_slot[order]]


@numba.njit(cache=True, nogil=True)
def _score_split(
    toks: np.ndarray, target: np.ndarray, word_ids: np.ndarray, token_docs: np.ndarray,
    table: np.ndarray, slot: np.ndarray, cnt: np.ndarray, cnt2: np.ndarray, la: np.ndarray,
    ws: NIWStats, s0: int, prior: NIWPrior, work: np.ndarray, rng: np.random.Generator,
    scans: int, soft_share: float, soft_beta: float,
) -> float:
    """log q(``target``): the probability that the split proposal of ``toks`` between
    workspace topics s0 (label 0) and s0+1 (label 1) gives ``target``.

    The proposal is the mixture

        q(y) = (1 − ε) q_sharp(y | L) + ε q_soft(y | L'),    ε = ``soft_share``,

    of two final restricted scans: q_sharp from the word-type launch L (:func:`_launch`)
    with the restricted conditionals, q_soft from a fair-coin launch L' with the conditionals
    tempered by β = ``soft_beta``.  Both launches depend only on ``toks``, so they are
    auxiliary draws whose densities cancel; q(y) of the realised labels is evaluated under
    both components.  The sharp scan proposes clean splits; the soft one gives a mixed split
    — such as the state the chain is stuck in — a probability that is not vanishingly small,
    so the reverse of a useful move is not rejected for being unproposable."""
    order, grp, launch = _prepare(toks, word_ids, table, slot, ws, s0, prior, work, rng, scans)
    g = toks[order]
    tgt = target[order]
    _, lq_sharp = _component(g, grp, False, tgt, launch, table, word_ids, token_docs, cnt,
                             cnt2, la, ws, s0, prior, work, rng, soft_beta)
    lq_soft = 0.0
    if soft_share > 0.0:
        _, lq_soft = _component(g, grp, True, tgt, launch, table, word_ids, token_docs, cnt,
                                cnt2, la, ws, s0, prior, work, rng, soft_beta)
    return _mixture_logq(lq_sharp, lq_soft, soft_share)


# ----------------------------------------------------------------------------- the move
@numba.njit(cache=True, nogil=True)
def _set_topic(
    t: int, stats: NIWStats, count: int, sums: np.ndarray, scatter: np.ndarray,
    prior: NIWPrior,
) -> None:
    """Topic t := the given statistics, factor recomputed (O(M³), no drift)."""
    stats.count[t] = count
    stats.sums[t, :] = sums
    stats.scatter[t, :, :] = scatter
    niw_refactor(t, stats, prior)


@numba.njit(cache=True, nogil=True)
def _new_topics(stats: NIWStats, ws: NIWStats, i: int, j: int, k: int, prior: NIWPrior) -> None:
    """Topics i (merged, workspace slot 4, when k ≠ i), k (slot 0) and j (slot 1) of z'."""
    if k != i:
        _set_topic(i, stats, ws.count[4], ws.sums[4], ws.scatter[4], prior)
    _set_topic(k, stats, ws.count[0], ws.sums[0], ws.scatter[0], prior)
    _set_topic(j, stats, ws.count[1], ws.sums[1], ws.scatter[1], prior)


@numba.njit(cache=True, nogil=True)
def _word_view_ratio(view: WordView, word_ids: np.ndarray, toks: np.ndarray, z: np.ndarray,
                     newz: np.ndarray, i: int, j: int, k: int) -> float:
    """Change of the word view's Σ_t DirMult(n_t· | β) over the topics t ∈ {i, j, k} when the
    tokens ``toks`` move from ``z[toks]`` to ``newz`` (columns copied, O(V))."""
    topics = np.array([i, j, k])
    num = 2 if k == i else 3
    cols = np.empty((view.nkw.shape[0], num), dtype=np.int64)
    out = 0.0
    for s in range(num):
        cols[:, s] = view.nkw[:, topics[s]]
        out -= view_log_marginal(cols[:, s], view.beta)
    for idx in range(toks.shape[0]):
        w = word_ids[toks[idx]]
        for s in range(num):
            if topics[s] == z[toks[idx]]:
                cols[w, s] -= 1
            if topics[s] == newz[idx]:
                cols[w, s] += 1
    for s in range(num):
        out += view_log_marginal(cols[:, s], view.beta)
    return out


@numba.njit(cache=True, nogil=True)
def gaussian_split_merge(
    word_ids: np.ndarray, token_docs: np.ndarray, table: np.ndarray, z: np.ndarray,
    ndk: np.ndarray, alpha: np.ndarray, eta: np.ndarray, eta_prior: NIWPrior, stats: NIWStats,
    prior: NIWPrior, ws: NIWStats, cnt: np.ndarray, scans: int, rng: np.random.Generator,
    defect: int, uniform_share: float, info: np.ndarray, soft_share: float,
    soft_beta: float, resplit_share: float, view: WordView,
) -> int:
    """One split–merge move (module doc) for Gaussian topics; returns 1 if accepted.

    ``info`` (length ≥ 6, or empty): if ``info[0] >= 0`` on entry, (info[0], info[1],
    info[2]) is the triple to propose (diagnostics); on exit info[3:6] = log p(z')/p(z),
    log q_fwd, log q_rev.

    ``uniform_share`` = 1: (i, j, k) uniform; < 1: the merge pair is drawn from
    :func:`~ppltopics.inference._split_merge._pair_logprob` over the pair scores
    (:mod:`~ppltopics.inference._type_clusters`), k = i with probability ``resplit_share``,
    else k from :func:`~ppltopics.inference._split_merge._split_logprob` over the topics'
    split scores; the pair and split-topic probabilities of the forward and reverse moves
    enter the Hastings ratio.

    GLDA: ``eta`` empty, document factor (n_dk + α_k) with θ integrated out.  CGTM: ``eta``
    = η (D, K), updated in place on acceptance: a joint move of (z, η) targeting
    p(z, η | x) with (μ_η, Σ_η) ~ NIW(``eta_prior``) integrated out (:func:`_eta_move`); its
    restricted scans use the document factor (n_dk + α_k) as GLDA's (any proposal is exact
    with its q in the ratio, and η of the label being refilled belongs to the merged-away
    topic, so it is no guide).  ``ws``: workspace NIW statistics with 7 slots; ``cnt``:
    (D, 2) int64 zeros (left zero).  ``defect`` NO_JACOBIAN (CGTM): log|J| left out;
    NO_SPLIT_CHOICE: the informed split topic's choice probabilities left out.

    ``view`` (:class:`~ppltopics.inference._word_view.WordView`): the target's vector part is
    weighed by λ and, with a word view, the change of Σ_k DirMult(n_k· | β) over the topics
    i, j, k enters the ratio (:func:`_word_view_ratio`); the proposal (scans over the
    vectors) is unchanged, so it stays exact, only less suited to a target that the words
    dominate.  On acceptance the view's n_kw, n_k follow z.
    """
    K = ndk.shape[1]
    if K < 2:
        return 0
    informed = uniform_share < 1.0
    M = table.shape[1]
    work = np.empty((M + 4, M))
    slot = np.full(table.shape[0], -1, dtype=np.int64)
    lk0 = 0.0  # log P(k | {i, j}, z) of an informed split topic (k ≠ i, K > 3)
    split_scores = np.zeros(0)  # computed only when a split topic k ≠ i is chosen by them
    if informed:
        lp0 = _pair_logprob(_gauss_pair_scores(stats, prior, ws, 4), uniform_share)
        i, j, k = _choose_informed(rng, lp0, resplit_share)
        if k != i and K > 3:
            split_scores = _split_scores(z, K, word_ids, table, slot, ws, 5, prior, work)
            k = _draw_split(rng, split_scores, i, j, uniform_share)
    else:
        lp0 = np.zeros((K, K))
        i, j, k = _choose_triple(rng, K)
    if info.shape[0] > 0 and info[0] >= 0:
        i, j, k = int(info[0]), int(info[1]), int(info[2])
    informed_k = informed and k != i and K > 3 and defect != NO_SPLIT_CHOICE
    if informed_k:
        if split_scores.shape[0] == 0:  # a forced triple (diagnostics)
            split_scores = _split_scores(z, K, word_ids, table, slot, ws, 5, prior, work)
        lk0 = _split_logprob(split_scores, i, j, k, uniform_share)
    F, R = _collect(z, i, j, k)
    joint = eta.shape[0] > 0
    cnt2 = np.zeros_like(cnt)
    empty = np.empty(0, dtype=np.int64)
    la_f = np.array([alpha[k], alpha[j]])
    la_r = np.array([alpha[i], alpha[j]])
    # forward, first stage: draw the split of F between k (label 0) and j (label 1) from one
    # component of the proposal (sharp: slots 0, 1; soft: slots 5, 6 hold its statistics)
    log_u = math.log(rng.random())
    order, grp, launch = _prepare(F, word_ids, table, slot, ws, 0, prior, work, rng, scans)
    Fg = F[order]
    soft = soft_share > 0.0 and rng.random() < soft_share
    y, lq_drawn = _component(Fg, grp, soft, empty, launch, table, word_ids, token_docs, cnt,
                             cnt2, la_f, ws, 0, prior, work, rng, soft_beta)
    lab_f = np.empty_like(y)
    lab_f[order] = y
    ys = 5 if soft else 0
    # new topic statistics: F's split is in workspace slots ys, ys+1 (→ k, j); for k ≠ i the
    # merged S_i ∪ S_j (→ i) goes to slot 4
    log_ratio = 0.0
    log_ratio -= topic_log_marginal(i, stats, prior) + topic_log_marginal(j, stats, prior)
    if k != i:
        log_ratio -= topic_log_marginal(k, stats, prior)
        ws.count[4] = stats.count[i] + stats.count[j]
        ws.sums[4, :] = stats.sums[i] + stats.sums[j]
        ws.scatter[4, :, :] = stats.scatter[i] + stats.scatter[j]
        niw_refactor(4, ws, prior)
        log_ratio += topic_log_marginal(4, ws, prior)
    for s in range(ys, ys + 2):
        niw_refactor(s, ws, prior)
        log_ratio += topic_log_marginal(s, ws, prior)
    log_ratio *= view.lam
    # document terms
    newz = np.empty(F.shape[0] + (R.shape[0] if k != i else 0), dtype=np.int64)
    toks = np.empty(newz.shape[0], dtype=np.int64)
    m = 0
    if k != i:
        for idx in range(R.shape[0]):
            toks[m] = R[idx]
            newz[m] = i
            m += 1
    for idx in range(F.shape[0]):
        toks[m] = F[idx]
        newz[m] = k if lab_f[idx] == 0 else j
        m += 1
    has_words = view.nkw.shape[0] > 0
    if has_words and defect != NO_WORD_VIEW:
        log_ratio += _word_view_ratio(view, word_ids, toks, z, newz, i, j, k)
    new_eta = np.empty((0, 0))
    if joint:
        before = _topic_counts(ndk, i, j, k)
        _apply(toks, token_docs, ndk, z, newz)
        new_eta = np.empty_like(eta)
        log_ratio += _eta_move(eta, before, _topic_counts(ndk, i, j, k), i, j, k, alpha,
                               eta_prior, rng, new_eta, defect != NO_JACOBIAN)
    else:
        D = ndk.shape[0]
        mark = np.zeros(D, dtype=np.bool_)
        docs = np.empty(D, dtype=np.int64)
        old_terms, nd = _doc_terms(toks, token_docs, ndk, alpha, i, j, k, mark, docs, 0, 1.0)
        _apply(toks, token_docs, ndk, z, newz)
        log_ratio += _doc_terms_listed(ndk, alpha, i, j, k, docs, nd) - old_terms
    # early rejection (exact): log q_rev ≤ 0 and log q_fwd ≥ log(weight) + lq_drawn, so when
    # log u already exceeds that bound on the log ratio the move is rejected without the
    # other component's scan and the reverse split (most proposals; diagnostics off)
    lq_floor = lq_drawn + (math.log(soft_share) if soft else math.log1p(-soft_share))
    if informed:
        lq_floor += lp0[i, j] + lk0
    exact = defect in (EXACT, NO_WORD_VIEW, NO_JACOBIAN, NO_SPLIT_CHOICE)
    if exact and info.shape[0] == 0 and log_u >= log_ratio - lq_floor:
        _restore(toks, token_docs, ndk, z, newz)
        return 0
    # forward, second stage: q(y) under the other component (a sharp scan forced to y leaves
    # y's statistics in slots 0, 1, where acceptance reads them)
    lq_sharp = lq_drawn
    lq_soft = 0.0
    if soft_share > 0.0:
        _, lq_other = _component(Fg, grp, not soft, y, launch, table, word_ids, token_docs,
                                 cnt, cnt2, la_f, ws, 0, prior, work, rng, soft_beta)
        lq_sharp, lq_soft = (lq_other, lq_drawn) if soft else (lq_drawn, lq_other)
    logq_fwd = _mixture_logq(lq_sharp, lq_soft, soft_share)
    # reverse: the probability of splitting R back into S_i (label 0) and S_j (label 1)
    orig = np.empty(R.shape[0], dtype=np.int64)
    for idx in range(R.shape[0]):
        orig[idx] = 0 if z[R[idx]] == i else 1
    logq_rev = _score_split(R, orig, word_ids, token_docs, table, slot, cnt, cnt2, la_r, ws, 2,
                            prior, work, rng, scans, soft_share, soft_beta)
    if informed:  # pair probabilities: P({k, j} | z') / P({i, j} | z)
        new = NIWStats(stats.count.copy(), stats.sums.copy(), stats.scatter.copy(),
                       stats.chol.copy(), stats.logdet.copy())
        _new_topics(new, ws, i, j, k, prior)
        lp1 = _pair_logprob(_gauss_pair_scores(new, prior, ws, 2), uniform_share)
        logq_rev += lp1[k, j]
        logq_fwd += lp0[i, j]
        if informed_k:  # split topics: P(i | {k, j}, z') / P(k | {i, j}, z); in z'
            # only topic i (now S_i ∪ S_j = R) of the candidates ∉ {k, j} has changed
            split_scores[i] = _split_score(R, word_ids, table, slot, ws, 5, prior, work)
            logq_rev += _split_logprob(split_scores, k, j, i, uniform_share)
            logq_fwd += lk0
    if info.shape[0] > 0:
        info[3], info[4], info[5] = log_ratio, logq_fwd, logq_rev
    if exact:
        log_ratio += logq_rev - logq_fwd
    elif defect == WRONG_SIGN:
        log_ratio -= logq_rev - logq_fwd
    if log_u < log_ratio:
        # accept: z and ndk (already updated), topic statistics from the workspace
        for idx in range(toks.shape[0]):
            n = toks[idx]
            if has_words:
                view.nkw[word_ids[n], z[n]] -= 1
                view.nk[z[n]] -= 1
                view.nkw[word_ids[n], newz[idx]] += 1
                view.nk[newz[idx]] += 1
            z[n] = newz[idx]
        _new_topics(stats, ws, i, j, k, prior)
        if joint:
            eta[:, :] = new_eta
        return 1
    _restore(toks, token_docs, ndk, z, newz)
    return 0


@numba.njit(cache=True, nogil=True)
def _apply(toks: np.ndarray, token_docs: np.ndarray, ndk: np.ndarray, z: np.ndarray,
           newz: np.ndarray) -> None:
    """The proposed move's document counts: from z's labels to the proposed ones."""
    for idx in range(toks.shape[0]):
        d = token_docs[toks[idx]]
        ndk[d, z[toks[idx]]] -= 1
        ndk[d, newz[idx]] += 1


@numba.njit(cache=True, nogil=True)
def _restore(toks: np.ndarray, token_docs: np.ndarray, ndk: np.ndarray, z: np.ndarray,
             newz: np.ndarray) -> None:
    """A rejected move: the document counts back from the proposed labels to z's."""
    for idx in range(toks.shape[0]):
        d = token_docs[toks[idx]]
        ndk[d, newz[idx]] -= 1
        ndk[d, z[toks[idx]]] += 1
