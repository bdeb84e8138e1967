"""Collapsed Gibbs sampling for LDA with SparseLDA buckets (Yao, Mimno & McCallum, KDD 2009).

The full conditional of token ``n`` (word ``w`` in document ``d``), with the token removed::

    p(z_n = k | z_-n, w) ∝ (n_dk + α_k) (n_wk + β) / (n_k + Vβ)
                         = α_k β / (n_k + Vβ)              "s": smoothing, all k
                         + n_dk β / (n_k + Vβ)             "r": topics of the document
                         + (α_k + n_dk) n_wk / (n_k + Vβ)  "q": topics of the word

``s`` is kept as a running total, ``r`` is summed over the document's topics and ``q`` over
the word's topics, so a token costs O(k_d + k_w) instead of O(K).  The word-topic counts are
stored sparsely (Mallet's layout): per word a block of ``min(K, freq_w)`` int64 cells packing
``count << 20 | topic``, kept sorted by decreasing count, so the q walk usually stops early and
memory is O(tokens), not O(V·K).  Document counts are rebuilt from ``z`` when the sweep
enters a document (O(N_d)), so no D×K array is kept either.

At small K the bucket bookkeeping costs more than it saves: for K ≤
:data:`DENSE_SWEEP_MAX_TOPICS` a sweep copies the blocks into a dense (V, K) table n_wk,
computes the K terms of the conditional and their sum straight (:func:`_sweep_dense`) and
writes the blocks back in the same sorted layout, so every other reader of the state (record,
accumulate, split–merge, checkpoints) sees the same arrays whichever sweep ran.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from ppltopics._validation import check_int
from ppltopics.corpus import Corpus
from ppltopics.inference._init import check_init, init_config, initial_assignments
from ppltopics.inference._partition import Partition
from ppltopics.inference._sampling import categorical_total
from ppltopics.inference._split_merge import EXACT, moves_due, parse_split_merge
from ppltopics.inference._split_merge_lda import (
    LDA_SPLIT_MERGE,
    lda_score_columns,
    lda_score_counts,
    lda_split_merge,
)
from ppltopics.inference.base import GibbsKernel, State, topic_size_record

__all__ = ["LDAKernel", "TOPIC_BITS", "DENSE_SWEEP_MAX_TOPICS"]

TOPIC_BITS = 20
#: largest V·K for which recording a draw builds a dense (V, K) int32 table of n_wk (32 MB);
#: above it the per-document log-likelihoods walk the packed word blocks
DENSE_POINTWISE_CELLS = 1 << 23
#: largest K for which a token's mixture sum in the per-document log-likelihoods is a K-term
#: dot product (:data:`POINTWISE_DOT`) rather than a walk over the document's topics
DOT_POINTWISE_MAX_TOPICS = 100
#: largest K for which a sweep runs on a dense (V, K) word-topic table (:func:`_sweep_dense`,
#: O(K) per token) instead of the SparseLDA buckets (O(k_d + k_w) per token).  Measured on 20
#: Newsgroups and SOTU after 60 sweeps, one thread: dense/sparse sweep time 0.59 at K = 10,
#: 0.70 at 20, 0.82 at 30, 0.98 at 40 (0.96 SOTU), 1.13 at 50, 1.76 at 100; the buckets get
#: cheaper as the chain concentrates, so the switch is set below the ~40 crossover.
DENSE_SWEEP_MAX_TOPICS = 32
#: most V·K cells of the dense sweep's table (int32: 128 MB); larger use the buckets
DENSE_SWEEP_MAX_CELLS = 1 << 25
_SMALL_COUNT = 32  # counts below this take lgamma differences from a per-record table
_LG_CELLS = 256  # word-topic counts below this take lgamma(c + β) from a per-record table
_LG_LENGTHS = 1 << 16  # document lengths up to this take lgamma(N_d + α₀) from a table
_MASK = (1 << TOPIC_BITS) - 1
_ONE = 1 << TOPIC_BITS


# ----------------------------------------------------------------------------- word lists
@numba.njit(cache=True, nogil=True)
def _wt_decrement(packed: np.ndarray, off: int, nnz: np.ndarray, w: int, k: int) -> None:
    """n_wk -= 1 in word ``w``'s sorted block; a zero count leaves the block."""
    cnt = nnz[w]
    i = 0
    while (packed[off + i] & _MASK) != k:
        i += 1
    packed[off + i] -= _ONE
    # bubble towards the end while the next cell has a larger count
    while i + 1 < cnt and (packed[off + i + 1] >> TOPIC_BITS) > (packed[off + i] >> TOPIC_BITS):
        tmp = packed[off + i]
        packed[off + i] = packed[off + i + 1]
        packed[off + i + 1] = tmp
        i += 1
    if (packed[off + i] >> TOPIC_BITS) == 0:
        nnz[w] = cnt - 1  # a zero count has bubbled to the end of the block


@numba.njit(cache=True, nogil=True)
def _wt_increment_at(packed: np.ndarray, off: int, i: int) -> None:
    """n_wk += 1 for the cell at position ``i``; bubble towards the front."""
    packed[off + i] += _ONE
    while i > 0 and (packed[off + i - 1] >> TOPIC_BITS) < (packed[off + i] >> TOPIC_BITS):
        tmp = packed[off + i]
        packed[off + i] = packed[off + i - 1]
        packed[off + i - 1] = tmp
        i -= 1


@numba.njit(cache=True, nogil=True)
def _wt_increment(packed: np.ndarray, off: int, nnz: np.ndarray, w: int, k: int) -> None:
    """n_wk += 1, appending topic ``k`` to word ``w``'s block when it is new there."""
    cnt = nnz[w]
    for i in range(cnt):
        if (packed[off + i] & _MASK) == k:
            _wt_increment_at(packed, off, i)
            return
    packed[off + cnt] = _ONE | k  # count 1 is the smallest: the end keeps the order
    nnz[w] = cnt + 1


# ----------------------------------------------------------------------------- the sweep
@numba.njit(cache=True, nogil=True)
def _sweep(
    word_ids: np.ndarray,
    doc_offsets: np.ndarray,
    z: np.ndarray,
    wt_offsets: np.ndarray,
    wt_packed: np.ndarray,
    wt_nnz: np.ndarray,
    n_k: np.ndarray,
    alpha: np.ndarray,
    beta: float,
    rng: np.random.Generator,
    doc_lo: int,
    doc_hi: int,
    tokens: np.ndarray,
    tok_offsets: np.ndarray,
) -> None:
    """One systematic-scan collapsed Gibbs sweep (SparseLDA buckets) over documents
    ``doc_lo``..``doc_hi − 1``, document d's tokens being ``tokens[tok_offsets[d]:
    tok_offsets[d + 1]]`` (an empty ``tokens`` means the token ids themselves: every token,
    with ``tok_offsets`` = ``doc_offsets``), or one chunk's tokens in a block of the
    partitioned sweep (:func:`ppltopics.inference._partition.chunk_tokens`).  Other tokens
    of a document still count in n_dk."""
    num_topics = n_k.shape[0]
    vbeta = wt_nnz.shape[0] * beta
    inv = np.empty(num_topics)
    coef = np.empty(num_topics)  # (α_k + n_dk) / (n_k + Vβ)
    ndk = np.zeros(num_topics, dtype=np.int64)
    d_topics = np.empty(num_topics, dtype=np.int64)
    d_pos = np.empty(num_topics, dtype=np.int64)
    qbuf = np.empty(num_topics)
    gather = tokens.shape[0] > 0
    for k in range(num_topics):
        inv[k] = 1.0 / (n_k[k] + vbeta)
        coef[k] = alpha[k] * inv[k]
    for d in range(doc_lo, doc_hi):
        start = doc_offsets[d]
        end = doc_offsets[d + 1]
        nd = 0
        for n in range(start, end):
            k = z[n]
            if ndk[k] == 0:
                d_pos[k] = nd
                d_topics[nd] = k
                nd += 1
            ndk[k] += 1
        s_sum = 0.0
        for k in range(num_topics):
            s_sum += alpha[k] * inv[k]
        s_sum *= beta
        r_sum = 0.0
        for i in range(nd):
            k = d_topics[i]
            coef[k] = (alpha[k] + ndk[k]) * inv[k]
            r_sum += ndk[k] * inv[k]
        r_sum *= beta
        for i in range(tok_offsets[d], tok_offsets[d + 1]):
            n = tokens[i] if gather else i
            w = word_ids[n]
            k = z[n]
            off = wt_offsets[w]
            # ---- remove token n from the counts
            s_sum -= alpha[k] * beta * inv[k]
            r_sum -= ndk[k] * beta * inv[k]
            ndk[k] -= 1
            n_k[k] -= 1
            inv[k] = 1.0 / (n_k[k] + vbeta)
            s_sum += alpha[k] * beta * inv[k]
            r_sum += ndk[k] * beta * inv[k]
            coef[k] = (alpha[k] + ndk[k]) * inv[k]
            if ndk[k] == 0:
                nd -= 1
                last = d_topics[nd]
                d_topics[d_pos[k]] = last
                d_pos[last] = d_pos[k]
            _wt_decrement(wt_packed, off, wt_nnz, w, k)
            # ---- q bucket over the word's topics (cumulative)
            cnt = wt_nnz[w]
            q_sum = 0.0
            for i in range(cnt):
                p = wt_packed[off + i]
                q_sum += coef[p & _MASK] * (p >> TOPIC_BITS)
                qbuf[i] = q_sum
            u = rng.random() * (s_sum + r_sum + q_sum)
            if u < q_sum:
                i = 0
                while i < cnt - 1 and qbuf[i] <= u:
                    i += 1
                new = wt_packed[off + i] & _MASK
                _wt_increment_at(wt_packed, off, i)
            else:
                u -= q_sum
                new = -1
                if u < r_sum:
                    acc = 0.0
                    for i in range(nd):
                        t = d_topics[i]
                        acc += ndk[t] * beta * inv[t]
                        if u < acc:
                            new = t
                            break
                    if new < 0 and nd > 0:
                        new = d_topics[nd - 1]
                if new < 0:
                    u -= r_sum
                    acc = 0.0
                    for t in range(num_topics):
                        acc += alpha[t] * beta * inv[t]
                        if u < acc:
                            new = t
                            break
                    if new < 0:
                        new = num_topics - 1
                _wt_increment(wt_packed, off, wt_nnz, w, new)
            # ---- add token n back with its new topic
            s_sum -= alpha[new] * beta * inv[new]
            r_sum -= ndk[new] * beta * inv[new]
            if ndk[new] == 0:
                d_pos[new] = nd
                d_topics[nd] = new
                nd += 1
            ndk[new] += 1
            n_k[new] += 1
            inv[new] = 1.0 / (n_k[new] + vbeta)
            s_sum += alpha[new] * beta * inv[new]
            r_sum += ndk[new] * beta * inv[new]
            coef[new] = (alpha[new] + ndk[new]) * inv[new]
            z[n] = new
        for i in range(nd):
            k = d_topics[i]
            ndk[k] = 0
            coef[k] = alpha[k] * inv[k]


@numba.njit(cache=True, nogil=True)
def _sweep_dense(
    word_ids: np.ndarray,
    doc_offsets: np.ndarray,
    z: np.ndarray,
    nwk: np.ndarray,
    n_k: np.ndarray,
    alpha: np.ndarray,
    beta: float,
    rng: np.random.Generator,
    doc_lo: int,
    doc_hi: int,
    tokens: np.ndarray,
    tok_offsets: np.ndarray,
) -> None:
    """The same collapsed Gibbs sweep as :func:`_sweep` (same tokens, same conditional) on a
    dense (V, K) word-topic table ``nwk``: with token n (word w, document d) removed,

        p_k = (n_dk + α_k) (n_wk + β) / (n_k + Vβ),   k = 0..K−1,

    all K terms are formed (four running partial sums, so the additions overlap), and
    z_n = the first k with u < Σ_{t≤k} p_t for u ~ U(0, Σ_k p_k).  (n_dk + α_k)/(n_k + Vβ) is
    kept per topic and changes in two entries per token.  ``nwk`` rows of different
    chunks are disjoint, so blocks of the partitioned sweep may run at once."""
    num_topics = n_k.shape[0]
    vbeta = nwk.shape[0] * beta
    k4 = num_topics - num_topics % 4
    inv = np.empty(num_topics)
    coef = np.empty(num_topics)  # (α_k + n_dk) / (n_k + Vβ)
    ndk = np.zeros(num_topics, dtype=np.int64)
    p = np.empty(num_topics)
    gather = tokens.shape[0] > 0
    for k in range(num_topics):
        inv[k] = 1.0 / (n_k[k] + vbeta)
    for d in range(doc_lo, doc_hi):
        start = doc_offsets[d]
        end = doc_offsets[d + 1]
        for n in range(start, end):
            ndk[z[n]] += 1
        for k in range(num_topics):
            coef[k] = (alpha[k] + ndk[k]) * inv[k]
        for i in range(tok_offsets[d], tok_offsets[d + 1]):
            n = tokens[i] if gather else i
            w = word_ids[n]
            k = z[n]
            row = nwk[w]
            # ---- remove token n from the counts
            ndk[k] -= 1
            n_k[k] -= 1
            row[k] -= 1
            inv[k] = 1.0 / (n_k[k] + vbeta)
            coef[k] = (alpha[k] + ndk[k]) * inv[k]
            # ---- the K terms and their sum
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for t in range(0, k4, 4):
                a0 = (row[t] + beta) * coef[t]
                a1 = (row[t + 1] + beta) * coef[t + 1]
                a2 = (row[t + 2] + beta) * coef[t + 2]
                a3 = (row[t + 3] + beta) * coef[t + 3]
                p[t] = a0
                p[t + 1] = a1
                p[t + 2] = a2
                p[t + 3] = a3
                s0 += a0
                s1 += a1
                s2 += a2
                s3 += a3
            for t in range(k4, num_topics):
                a0 = (row[t] + beta) * coef[t]
                p[t] = a0
                s0 += a0
            new = categorical_total(rng, p, num_topics, (s0 + s1) + (s2 + s3))
            # ---- add token n back with its new topic
            ndk[new] += 1
            n_k[new] += 1
            row[new] += 1
            inv[new] = 1.0 / (n_k[new] + vbeta)
            coef[new] = (alpha[new] + ndk[new]) * inv[new]
            z[n] = new
        for n in range(start, end):
            ndk[z[n]] = 0


@numba.njit(cache=True, nogil=True)
def _blocks_to_dense(
    wt_offsets: np.ndarray, wt_packed: np.ndarray, wt_nnz: np.ndarray, nwk: np.ndarray,
    words: np.ndarray,
) -> None:
    """nwk[w, k] = n_wk from the packed word blocks, for the words ``words`` (their rows
    must be zero; other rows are not touched)."""
    for i in range(words.shape[0]):
        w = words[i]
        off = wt_offsets[w]
        for j in range(wt_nnz[w]):
            p = wt_packed[off + j]
            nwk[w, p & _MASK] = p >> TOPIC_BITS


@numba.njit(cache=True, nogil=True)
def _dense_to_blocks(
    nwk: np.ndarray, wt_offsets: np.ndarray, wt_packed: np.ndarray, wt_nnz: np.ndarray,
    words: np.ndarray,
) -> None:
    """The packed word blocks of the words ``words`` from a dense n_wk table: cells by
    decreasing count, ties by topic, unused cells zero — the layout :func:`_word_topic_lists`
    builds from ``z``."""
    num_topics = nwk.shape[1]
    for iw in range(words.shape[0]):
        w = words[iw]
        off = wt_offsets[w]
        cnt = 0
        for k in range(num_topics):
            c = nwk[w, k]
            if c > 0:
                cell = (np.int64(c) << TOPIC_BITS) | k
                i = cnt
                while i > 0 and (wt_packed[off + i - 1] >> TOPIC_BITS) < c:
                    wt_packed[off + i] = wt_packed[off + i - 1]
                    i -= 1
                wt_packed[off + i] = cell
                cnt += 1
        wt_nnz[w] = cnt
        for i in range(cnt, wt_offsets[w + 1] - off):
            wt_packed[off + i] = 0


# ----------------------------------------------------------------------------- state
def _word_topic_lists(
    word_ids: np.ndarray, z: np.ndarray, vocab_size: int, num_topics: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Packed, count-sorted word-topic blocks (offsets, packed cells, nnz) from ``z``."""
    freq = np.bincount(word_ids, minlength=vocab_size)
    cap = np.minimum(freq, num_topics)
    offsets = np.zeros(vocab_size + 1, dtype=np.int64)
    np.cumsum(cap, out=offsets[1:])
    packed = np.zeros(int(offsets[-1]) + 1, dtype=np.int64)
    key, counts = np.unique(word_ids.astype(np.int64) * num_topics + z, return_counts=True)
    w = key // num_topics
    k = key % num_topics
    order = np.lexsort((k, -counts, w))  # by word, then decreasing count
    w, k, counts = w[order], k[order], counts[order]
    nnz = np.bincount(w, minlength=vocab_size).astype(np.int64)
    first = np.zeros(vocab_size + 1, dtype=np.int64)
    np.cumsum(nnz, out=first[1:])
    pos = offsets[w] + (np.arange(w.size) - first[w])
    packed[pos] = (counts.astype(np.int64) << TOPIC_BITS) | k
    return offsets, packed, nnz


#: how :func:`_lda_stats` forms a token's Σ_k θ̂_dk φ̂_kw: a K-term dot product with the
#: word's row of the (V, K) count table, a walk over the document's k_d topics through that
#: row, or (no table) a walk over the word's packed cells
POINTWISE_DOT, POINTWISE_DOC_TOPICS, POINTWISE_PACKED = 0, 1, 2


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _row_dot(g: np.ndarray, nwk: np.ndarray, w: int) -> float:
    """Σ_k g_k n_wk (reassociated, so that it vectorises; only rounding differs)."""
    s = 0.0
    for k in range(g.shape[0]):
        s += g[k] * nwk[w, k]
    return s


@numba.njit(cache=True, nogil=True)
def _sum_log(x: np.ndarray, n: int) -> float:
    """Σ_{i<n} log x_i for x_i in (0, 1]: four running products (independent multiplications),
    one log per 64 values, and earlier when a product falls below 1e-70 (no underflow as long
    as every x_i > 1e-200, as for any probability a token mixture gives)."""
    ll = 0.0
    p0 = 1.0
    p1 = 1.0
    p2 = 1.0
    p3 = 1.0
    n4 = n - n % 4
    held = 0
    for i in range(0, n4, 4):
        p0 *= x[i]
        p1 *= x[i + 1]
        p2 *= x[i + 2]
        p3 *= x[i + 3]
        held += 1
        if min(min(p0, p1), min(p2, p3)) < 1e-70:
            ll += (math.log(p0) + math.log(p1)) + (math.log(p2) + math.log(p3))
            p0 = p1 = p2 = p3 = 1.0
            held = 0
        elif held == 16:
            ll += math.log((p0 * p1) * (p2 * p3))
            p0 = p1 = p2 = p3 = 1.0
            held = 0
    for i in range(n4, n):
        p0 *= x[i]
    if min(min(p0, p1), min(p2, p3)) < 1e-70:
        return ll + (math.log(p0) + math.log(p1)) + (math.log(p2) + math.log(p3))
    return ll + math.log((p0 * p1) * (p2 * p3))


@numba.njit(cache=True, nogil=True)
def _lda_stats(
    word_ids: np.ndarray,
    doc_offsets: np.ndarray,
    z: np.ndarray,
    wt_offsets: np.ndarray,
    wt_packed: np.ndarray,
    wt_nnz: np.ndarray,
    n_k: np.ndarray,
    alpha: np.ndarray,
    beta: float,
    pointwise: np.ndarray,
    nwk: np.ndarray,
    how: int,
) -> tuple[float, float]:
    """Collapsed log joint and log-likelihood, plus per-document log-likelihoods.

    log p(w | z) = Σ_k [lgamma(Vβ) - lgamma(n_k + Vβ) + Σ_w (lgamma(n_wk + β) - lgamma(β))]
    log p(z)     = Σ_d [lgamma(α₀) - lgamma(N_d + α₀) + Σ_k (lgamma(n_dk + α_k) - lgamma(α_k))]
    ``pointwise[d]`` = Σ_n log Σ_k θ̂_dk φ̂_k,w_dn with the count-based point estimates
    θ̂_dk = (n_dk + α_k)/(N_d + α₀), φ̂_kw = (n_wk + β)/(n_k + Vβ).

    The lgamma differences of small counts come from tables built per call (identical values).
    ``how`` (:data:`POINTWISE_DOT` ...) picks the form of a token's mixture sum
    (N_d + α₀) Σ_k θ̂_dk φ̂_kw:

    * DOT: Σ_k g_dk n_wk + β Σ_k g_dk with g_dk = (n_dk + α_k)/(n_k + Vβ), a K-term dot with
      row w of ``nwk`` (a (V, K) work array this call fills with n_wk);
    * DOC_TOPICS: a_w + β Σ_k n_dk/(n_k + Vβ) + Σ_{k: n_dk > 0} n_dk n_wk/(n_k + Vβ), with
      a_w = Σ_k α_k φ̂_kw, walking the document's k_d topics through row w of ``nwk``;
    * PACKED: the same sum walking word w's packed cells (``nwk`` may be (0, K)).
    """
    num_topics = n_k.shape[0]
    vocab_size = wt_nnz.shape[0]
    vbeta = vocab_size * beta
    lgb = math.lgamma(beta)
    lg_cell = np.empty(_LG_CELLS)  # lgamma(c + β) − lgamma(β)
    for c in range(_LG_CELLS):
        lg_cell[c] = math.lgamma(c + beta) - lgb
    loglik = 0.0
    inv = np.empty(num_topics)
    a_beta = 0.0
    for k in range(num_topics):
        loglik += math.lgamma(vbeta) - math.lgamma(n_k[k] + vbeta)
        inv[k] = 1.0 / (n_k[k] + vbeta)
        a_beta += alpha[k] * inv[k]
    a_beta *= beta
    a_w = np.empty(vocab_size if how != POINTWISE_DOT else 0)  # Σ_k α_k φ̂_kw
    table = how != POINTWISE_PACKED
    if table:
        nwk[:] = 0
    for w in range(vocab_size):
        off = wt_offsets[w]
        s = a_beta
        for i in range(wt_nnz[w]):
            p = wt_packed[off + i]
            c = p >> TOPIC_BITS
            t = p & _MASK
            loglik += lg_cell[c] if c < _LG_CELLS else math.lgamma(c + beta) - lgb
            s += alpha[t] * c * inv[t]
            if table:
                nwk[w, t] = c
        if how != POINTWISE_DOT:
            a_w[w] = s
    alpha0 = 0.0
    # lgamma(n + α_k) − lgamma(α_k) for the small counts most n_dk are (0 at n = 0)
    lg_small = np.empty((num_topics, _SMALL_COUNT))
    for k in range(num_topics):
        alpha0 += alpha[k]
        lga = math.lgamma(alpha[k])
        for c in range(_SMALL_COUNT):
            lg_small[k, c] = math.lgamma(c + alpha[k]) - lga
    num_docs = doc_offsets.shape[0] - 1
    max_len = 0
    for d in range(num_docs):
        max_len = max(max_len, doc_offsets[d + 1] - doc_offsets[d])
    lg_len = np.empty(min(max_len, _LG_LENGTHS) + 1)  # lgamma(N_d + α₀)
    for n in range(lg_len.shape[0]):
        lg_len[n] = math.lgamma(n + alpha0)
    lga0 = math.lgamma(alpha0)
    logprior = 0.0
    ndk = np.zeros(num_topics, dtype=np.int64)
    topics = np.empty(num_topics, dtype=np.int64)  # the document's k_d topics
    g = np.empty(num_topics)
    x = np.empty(max_len)  # the document's token probabilities θ̂_d · φ̂_w
    for d in range(num_docs):
        start = doc_offsets[d]
        end = doc_offsets[d + 1]
        nd_len = end - start
        lp = lga0 - (lg_len[nd_len] if nd_len < lg_len.shape[0]
                     else math.lgamma(nd_len + alpha0))
        rden = 1.0 / (nd_len + alpha0)
        if how == POINTWISE_DOT:
            for n in range(start, end):
                ndk[z[n]] += 1
            c_d = 0.0
            for k in range(num_topics):
                c = ndk[k]
                lp += lg_small[k, c] if c < _SMALL_COUNT else (
                    math.lgamma(c + alpha[k]) - math.lgamma(alpha[k]))
                g[k] = (c + alpha[k]) * inv[k]
                c_d += g[k]
                ndk[k] = 0
            c_d *= beta
            for n in range(start, end):
                x[n - start] = (c_d + _row_dot(g, nwk, word_ids[n])) * rden
        else:
            k_d = 0
            for n in range(start, end):
                k = z[n]
                if ndk[k] == 0:
                    topics[k_d] = k
                    k_d += 1
                ndk[k] += 1
            b_d = 0.0
            for j in range(k_d):
                k = topics[j]
                c = ndk[k]
                lp += lg_small[k, c] if c < _SMALL_COUNT else (
                    math.lgamma(c + alpha[k]) - math.lgamma(alpha[k]))
                g[j] = c * inv[k]
                b_d += g[j]
            b_d *= beta
            for n in range(start, end):
                w = word_ids[n]
                s = a_w[w] + b_d
                if how == POINTWISE_DOC_TOPICS:
                    for j in range(k_d):
                        s += g[j] * nwk[w, topics[j]]
                else:
                    off = wt_offsets[w]
                    for i in range(wt_nnz[w]):
                        p = wt_packed[off + i]
                        t = p & _MASK
                        if ndk[t] > 0:
                            s += ndk[t] * (p >> TOPIC_BITS) * inv[t]
                x[n - start] = s * rden
            for j in range(k_d):
                ndk[topics[j]] = 0
        logprior += lp
        pointwise[d] = _sum_log(x, nd_len)
    return loglik + logprior, loglik


class LDAKernel(GibbsKernel):
    """Collapsed Gibbs sampler for LDA (numba): SparseLDA buckets, O(k_d + k_w) per token, or
    for K ≤ :data:`DENSE_SWEEP_MAX_TOPICS` the dense O(K) sweep, whichever is faster (the
    attribute ``dense_sweep`` says which; both are the exact sweep of the same conditional).

    Parameters
    ----------
    corpus
        The training corpus.
    hyper
        :class:`ppltopics.models.lda.LDAHyper` (``num_topics``, ``alpha``, ``beta``).
    optimize_alpha
        Update an asymmetric α by Minka's fixed point (``alpha_k ← alpha_k Σ_d [ψ(n_dk+α_k) −
        ψ(α_k)] / Σ_d [ψ(N_d+α₀) − ψ(α₀)]``) every ``optimize_interval`` warm-up sweeps; α is
        frozen after warm-up so the sampling phase targets a fixed posterior.
    split_merge
        False (default) or True / dict / :class:`~ppltopics.inference._split_merge.SplitMerge`:
        exact split–merge Metropolis–Hastings moves (Jain & Neal 2004); True means LDA's
        settings :data:`~ppltopics.inference._split_merge_lda.LDA_SPLIT_MERGE` (the document
        proposal, every other sweep), which a dict's fields override.
    init
        The chain's start: ``"random"`` (z_n uniform), ``"lda"`` (a short LDA fit) or an
        integer array of assignments (:mod:`ppltopics.inference._init`).
    workers
        Threads per chain (default 1).  With W > 1 each sweep is the partitioned sweep of
        :mod:`ppltopics.inference._partition`: W² blocks of documents × words, W at a time,
        each worker sampling against a copy of n_k merged after every round — an
        approximation (stale n_k within a round) that is reproducible for a given W; W = 1
        is the exact serial sweep.  With a Dask client as executor the same blocks run on
        the cluster's workers (:mod:`ppltopics.inference._dask_lda`).
    """

    model_name = "lda"
    pyro_params = ("z",)
    record_dims = {"topic_share": ["topic"], "sorted_topic_share": ["rank"], "alpha": ["topic"]}
    estimate_dims = {"phi": ["topic", "word"], "theta": ["doc", "topic"], "alpha": ["topic"]}

    def __init__(
        self,
        corpus: Corpus,
        hyper: Any,
        optimize_alpha: bool = False,
        optimize_interval: int = 10,
        split_merge: Any = False, init: Any = "random", workers: int = 1,
    ) -> None:
        self.workers = check_int("workers", workers, 1)
        self.split_merge = parse_split_merge(split_merge, LDA_SPLIT_MERGE)
        self._sm_defect = EXACT  # tests inject defects here
        self._score_columns: np.ndarray | None = None  # the informed LDA move's scored words
        hyper.validate(num_tokens=corpus.num_tokens, vocab_size=corpus.vocab_size)
        if hyper.num_topics >= 1 << TOPIC_BITS:
            raise ValueError(f"num_topics must be < {1 << TOPIC_BITS}")
        self.corpus = corpus
        self.hyper = hyper
        self.num_topics = int(hyper.num_topics)
        self.optimize_alpha = bool(optimize_alpha)
        self.optimize_interval = int(optimize_interval)
        self._sweeps = 0
        self.init = check_init(init, model="LDA", num_tokens=corpus.num_tokens,
                               num_topics=self.num_topics, has_vectors=False)
        self._partition = Partition(corpus.word_ids, corpus.doc_offsets, corpus.vocab_size,
                                    self.workers)
        #: sweep on a dense (V, K) table (:func:`_sweep_dense`) rather than the buckets
        self._every_word = np.arange(corpus.vocab_size)  # the dense sweep's word list
        self.dense_sweep = (self.num_topics <= DENSE_SWEEP_MAX_TOPICS
                            and corpus.vocab_size * self.num_topics <= DENSE_SWEEP_MAX_CELLS)

    @property
    def num_tokens(self) -> int:
        return self.corpus.num_tokens

    def config(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "num_topics": self.num_topics,
            "alpha": np.asarray(self.hyper.alpha_vector).tolist(),
            "beta": float(self.hyper.beta),
            "optimize_alpha": self.optimize_alpha,
            "optimize_interval": self.optimize_interval,
            **({} if self.split_merge is None else {"split_merge": self.split_merge.config()}),
            **init_config(self.init),
            **({} if self.workers == 1 else {"workers": self.workers}),
        }

    # -------------------------------------------------------------- state
    def init_state(self, rng: np.random.Generator) -> State:
        """A start drawn with ``rng`` as ``init`` says (:mod:`ppltopics.inference._init`)."""
        if isinstance(self.init, str) and self.init == "random":
            z = rng.integers(0, self.num_topics, size=self.corpus.num_tokens).astype(np.int32)
        else:
            z = initial_assignments(self.init, self.corpus, self.num_topics, rng,
                                    self.hyper.alpha_vector).astype(np.int32)
        state: State = {
            "z": z,
            "alpha": np.array(self.hyper.alpha_vector, dtype=np.float64),
            "sweeps": np.zeros(1, dtype=np.int64),
        }
        if self.split_merge is not None:
            state["sm_accepted"] = np.zeros(1, dtype=np.int64)
            state["sm_proposed"] = np.zeros(1, dtype=np.int64)
        self.resync(state)
        return state

    def split_merge_moves(self, state: State, rng: np.random.Generator) -> None:
        """The configured number of split–merge moves (no-op when they are off); counts of
        this step's proposals and acceptances go to ``sm_proposed``/``sm_accepted``; an
        accepted move rebuilds the word-topic blocks from ``z``."""
        sm = self.split_merge
        if not moves_due(sm, state):
            return
        c = self.corpus
        cnt = np.zeros((c.num_docs, 3), dtype=np.int64)
        wc = np.zeros((c.vocab_size, 3), dtype=np.int64)
        informed = sm.uniform_share < 1.0
        if informed and self._score_columns is None:
            self._score_columns = lda_score_columns(c.word_ids, c.vocab_size)
        cols = self._score_columns if informed else np.zeros(0, dtype=np.int64)
        nkw = scores = np.zeros((0, 0))
        sizes = np.zeros(0)
        acc = 0
        for _ in range(sm.moves):
            if informed and nkw.shape[0] == 0:  # the merge scores of the current z
                nkw, sizes, scores = lda_score_counts(state["z"], c.word_ids, cols,
                                                      self.num_topics)
            a = lda_split_merge(c.word_ids, c.token_docs, state["z"], state["alpha"],
                                float(self.hyper.beta), c.vocab_size, cnt, wc, sm.scans, rng,
                                self._sm_defect, sm.doc_share, nkw, sizes, cols, scores,
                                sm.uniform_share, sm.resplit_share)
            if a:
                nkw = np.zeros((0, 0))
            acc += a
        if acc:
            self.resync(state)
        state["sm_accepted"][0] = acc
        state["sm_proposed"][0] = sm.moves

    def resync(self, state: State) -> None:
        """Rebuild the word-topic blocks and topic totals from ``z``."""
        z = state["z"].astype(np.int32, copy=False)
        state["z"] = z
        off, packed, nnz = _word_topic_lists(
            self.corpus.word_ids, z, self.corpus.vocab_size, self.num_topics
        )
        state["wt_offsets"], state["wt_packed"], state["wt_nnz"] = off, packed, nnz
        state["n_k"] = np.bincount(z, minlength=self.num_topics).astype(np.int64)

    def step(self, state: State, rng: np.random.Generator, warmup: bool) -> None:
        c = self.corpus
        beta = float(self.hyper.beta)
        blocks = (state["wt_offsets"], state["wt_packed"], state["wt_nnz"])
        if self.dense_sweep:
            # a table per step, not per kernel: chains on threads share the kernel
            nwk = np.zeros((c.vocab_size, self.num_topics), dtype=self.dense_dtype)
            _blocks_to_dense(*blocks, nwk, self._every_word)

        def block(doc_lo: int, doc_hi: int, chunk: int, n_k: np.ndarray,
                  block_rng: np.random.Generator) -> None:
            if self.dense_sweep:
                _sweep_dense(c.word_ids, c.doc_offsets, state["z"], nwk, n_k, state["alpha"],
                             beta, block_rng, doc_lo, doc_hi, *self._partition.tokens[chunk])
            else:
                _sweep(c.word_ids, c.doc_offsets, state["z"], *blocks, n_k, state["alpha"],
                       beta, block_rng, doc_lo, doc_hi, *self._partition.tokens[chunk])

        if self.workers == 1:
            block(0, c.num_docs, 0, state["n_k"], rng)
        else:
            self._partition.sweep(state["n_k"], rng, block)
        if self.dense_sweep:
            _dense_to_blocks(nwk, *blocks, self._every_word)
        self.split_merge_moves(state, rng)
        state["sweeps"][0] += 1
        if warmup and self.optimize_alpha and state["sweeps"][0] % self.optimize_interval == 0:
            state["alpha"][:] = minka_alpha(self.doc_topic_counts(state), state["alpha"])

    # -------------------------------------------------------------- read-outs
    def doc_topic_counts(self, state: State) -> np.ndarray:
        """Dense (D, K) document-topic counts n_dk from ``z``."""
        return _doc_topic_counts(self.corpus.doc_offsets, state["z"], self.num_topics)

    def word_topic_counts(self, state: State) -> np.ndarray:
        """Dense (K, V) word-topic counts n_kw (for tests and small corpora)."""
        out = np.zeros((self.num_topics, self.corpus.vocab_size), dtype=np.int64)
        np.add.at(out, (state["z"], self.corpus.word_ids), 1)
        return out

    @property
    def pointwise_how(self) -> int:
        """The form of a token's mixture sum in :func:`_lda_stats` for this corpus and K."""
        c = self.corpus
        if c.vocab_size * self.num_topics > DENSE_POINTWISE_CELLS or c.num_tokens >= 2**31:
            return POINTWISE_PACKED
        return POINTWISE_DOT if self.num_topics <= DOT_POINTWISE_MAX_TOPICS \
            else POINTWISE_DOC_TOPICS

    @property
    def dense_dtype(self) -> type:
        """Integer type of the dense sweep's (V, K) table."""
        return np.int32 if self.corpus.num_tokens < 2**31 else np.int64

    def record(self, state: State) -> dict[str, Any]:
        """``lp``: the collapsed log p(w, z | α, β) of :func:`ppltopics.models.lda.log_joint`
        at the current α (``state["alpha"]``: the hyperparameter's α, or with
        ``optimize_alpha`` the value Minka's updates reached); ``log_likelihood``: log p(w | z, β);
        topic sizes; ``pointwise`` per-document log-likelihoods under the point estimates."""
        lp, loglik, pointwise = self._stats(*self._stats_args(state))
        return {"lp": lp, "log_likelihood": loglik, **self._record(state),
                "pointwise": pointwise}

    def record_later(self, state: State, submit: Any) -> dict[str, Any]:
        """:meth:`record` with lp, the log-likelihood and ``pointwise`` (a K-term sum per
        token: most of a record's cost) computed on copies of the counts by ``submit``,
        beside the next sweep."""
        copies = tuple(a.copy() for a in self._stats_args(state))

        def later() -> dict[str, Any]:
            lp, loglik, pointwise = self._stats(*copies)
            return {"lp": lp, "log_likelihood": loglik, "pointwise": pointwise}

        return {**self._record(state), "later": submit(later)}

    @staticmethod
    def _stats_args(state: State) -> tuple[np.ndarray, ...]:
        return tuple(state[k] for k in ("z", "wt_offsets", "wt_packed", "wt_nnz", "n_k",
                                        "alpha"))

    def _stats(self, z: np.ndarray, wt_offsets: np.ndarray, wt_packed: np.ndarray,
               wt_nnz: np.ndarray, n_k: np.ndarray, alpha: np.ndarray
               ) -> tuple[float, float, np.ndarray]:
        """:func:`_lda_stats` of these counts: (lp, log-likelihood, pointwise)."""
        c = self.corpus
        pointwise = np.empty(c.num_docs)
        how = self.pointwise_how
        nwk = np.empty((0 if how == POINTWISE_PACKED else c.vocab_size, self.num_topics),
                       dtype=np.int32)
        lp, loglik = _lda_stats(c.word_ids, c.doc_offsets, z, wt_offsets, wt_packed, wt_nnz,
                                n_k, alpha, float(self.hyper.beta), pointwise, nwk, how)
        return lp, loglik, pointwise

    def _record(self, state: State) -> dict[str, Any]:
        """What a record holds besides lp, the log-likelihood and pointwise."""
        out: dict[str, Any] = topic_size_record(state["n_k"], self.corpus.num_tokens)
        if self.optimize_alpha:
            out["alpha"] = state["alpha"].copy()
        if self.split_merge is not None:
            out["split_merge_accept"] = int(state["sm_accepted"][0])
            out["split_merge_proposed"] = int(state["sm_proposed"][0])
        return out

    def accumulate(self, state: State, acc: dict[str, np.ndarray]) -> None:
        """Running sums of φ̂_kw = (n_kw+β)/(n_k+Vβ) and θ̂_dk = (n_dk+α_k)/(N_d+α₀)."""
        c = self.corpus
        beta = float(self.hyper.beta)
        inv = 1.0 / (state["n_k"] + c.vocab_size * beta)
        if not acc:
            acc["phi"] = np.zeros((self.num_topics, c.vocab_size))
            acc["theta"] = np.zeros((c.num_docs, self.num_topics))
            acc["alpha"] = np.zeros(self.num_topics)
            acc["count"] = np.zeros(1)
        _accumulate_phi(state["wt_offsets"], state["wt_packed"], state["wt_nnz"], inv, acc["phi"])
        acc["phi"] += (beta * inv)[:, None]
        alpha = state["alpha"]
        _accumulate_theta(c.doc_offsets, state["z"], alpha, acc["theta"])
        acc["alpha"] += alpha
        acc["count"] += 1

    def finalize(self, acc: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Posterior means of φ, θ and α from the running sums of one chain."""
        n = acc["count"][0]
        return {"phi": acc["phi"] / n, "theta": acc["theta"] / n, "alpha": acc["alpha"] / n}


@numba.njit(cache=True, nogil=True)
def _doc_topic_counts(doc_offsets: np.ndarray, z: np.ndarray, num_topics: int) -> np.ndarray:
    """Dense (D, K) n_dk from ``z``, one pass over the tokens."""
    out = np.zeros((doc_offsets.shape[0] - 1, num_topics), dtype=np.int64)
    for d in range(doc_offsets.shape[0] - 1):
        for n in range(doc_offsets[d], doc_offsets[d + 1]):
            out[d, z[n]] += 1
    return out


@numba.njit(cache=True, nogil=True)
def _accumulate_theta(
    doc_offsets: np.ndarray, z: np.ndarray, alpha: np.ndarray, theta: np.ndarray
) -> None:
    """theta[d] += θ̂_d = (n_d· + α)/(N_d + α₀): n_dk counted into a K-vector (two, for even
    and odd tokens, so that repeated topics do not chain on one counter), one row write."""
    alpha0 = alpha.sum()
    num_topics = alpha.shape[0]
    even = np.zeros(num_topics, dtype=np.int64)
    odd = np.zeros(num_topics, dtype=np.int64)
    for d in range(doc_offsets.shape[0] - 1):
        start = doc_offsets[d]
        end = doc_offsets[d + 1]
        inv = 1.0 / (end - start + alpha0)
        n = start
        while n + 1 < end:
            even[z[n]] += 1
            odd[z[n + 1]] += 1
            n += 2
        if n < end:
            even[z[n]] += 1
        for k in range(num_topics):
            theta[d, k] += (even[k] + odd[k] + alpha[k]) * inv
            even[k] = 0
            odd[k] = 0


@numba.njit(cache=True, nogil=True)
def _accumulate_phi(
    wt_offsets: np.ndarray, wt_packed: np.ndarray, wt_nnz: np.ndarray, inv: np.ndarray,
    phi: np.ndarray,
) -> None:
    for w in range(wt_nnz.shape[0]):
        off = wt_offsets[w]
        for i in range(wt_nnz[w]):
            p = wt_packed[off + i]
            t = p & _MASK
            phi[t, w] += (p >> TOPIC_BITS) * inv[t]


def minka_alpha(ndk: np.ndarray, alpha: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Minka's fixed-point update of an asymmetric Dirichlet α from counts n_dk (D, K).

    α_k ← α_k · Σ_d [ψ(n_dk + α_k) − ψ(α_k)] / Σ_d [ψ(N_d + α₀) − ψ(α₀)]   (Minka 2000, eq. 55)
    """
    from scipy.special import digamma

    alpha = np.asarray(alpha, dtype=np.float64).copy()
    nd = ndk.sum(axis=1)
    for _ in range(iterations):
        a0 = alpha.sum()
        num = (digamma(ndk + alpha) - digamma(alpha)).sum(axis=0)
        den = (digamma(nd + a0) - digamma(a0)).sum()
        alpha = np.maximum(alpha * num / den, 1e-6)
    return alpha


def fit_model(
    corpus: Corpus, vectors: Any = None, num_topics: int = 20, spec: Any = None,
    alpha: Any = 0.1, beta: float = 0.01, optimize_alpha: bool = False,
    optimize_interval: int = 10, split_merge: Any = False, init: Any = "random",
    workers: int = 1,
) -> Any:
    """``pt.fit("lda", ...)``: run the chains and build an :class:`LDAPosterior`.

    ``init``: ``"random"``, ``"lda"`` or an integer array of assignments (``"kmeans"`` needs
    word vectors, which LDA has none of); :mod:`ppltopics.inference._init`.  Besides the
    pooled estimates the posterior keeps every chain's posterior-mean φ (relabelled onto
    chain 0) as ``estimates["chain_phi"]`` (chains, K, V') in float32 over the ``V'`` most
    frequent words ``estimates["chain_phi_words"]`` (all words unless chains·K·V exceeds
    :data:`CHAIN_PHI_CELLS`), which :func:`ppltopics.diagnostics.mode_report` compares.
    """
    from ppltopics.inference.runner import _is_dask_client, run_chains
    from ppltopics.models.lda import LDAHyper
    from ppltopics.posteriors import LDAPosterior

    if vectors is not None:
        raise TypeError("LDA is a discrete model and takes no word vectors")
    if corpus.num_docs < 2:
        raise ValueError("LDA needs at least 2 documents (a corpus of one document cannot "
                         "separate topics from its proportions)")
    hyper = LDAHyper(num_topics=num_topics, alpha=alpha, beta=beta)
    kernel = LDAKernel(corpus, hyper, optimize_alpha=optimize_alpha,
                       optimize_interval=optimize_interval, split_merge=split_merge, init=init,
                       workers=workers)
    settings = {**kernel.config(), **spec.fingerprint(), "num_tokens": corpus.num_tokens}
    if kernel.workers > 1 and _is_dask_client(spec.executor):
        from ppltopics.inference._dask_lda import run_dask_lda

        results = run_dask_lda(kernel, spec, spec.executor)
        settings.update(dask_recoveries=[r.extra["recoveries"] for r in results],
                        dask_bytes_per_sweep=[r.extra["bytes_per_sweep"] for r in results])
    else:
        results = run_chains(kernel, spec)
    post = LDAPosterior.from_chains(corpus, kernel, results, settings)
    post.estimates.update(chain_topics(kernel, results, post.settings["relabel_permutations"]))
    return post


#: most cells (chains × topics × words) of the per-chain φ a fitted LDA posterior keeps
CHAIN_PHI_CELLS = 20_000_000


def chain_topics(kernel: LDAKernel, results: Any, perms: Any) -> dict[str, np.ndarray]:
    """Every chain's posterior-mean φ (relabelled by ``perms``), float32, over the most
    frequent words that keep chains·K·V' ≤ :data:`CHAIN_PHI_CELLS`: ``chain_phi``
    (chains, K, V') and ``chain_phi_words`` (V',) word ids."""
    V = kernel.corpus.vocab_size
    keep = max(1, min(V, CHAIN_PHI_CELLS // max(1, len(results) * kernel.num_topics)))
    if keep < V:
        counts = kernel.corpus.word_counts()
        words = np.sort(np.argsort(-counts, kind="stable")[:keep]).astype(np.int64)
    else:
        words = np.arange(V, dtype=np.int64)
    phis = []
    for r, perm in zip(results, perms, strict=True):
        phi = kernel.finalize(r.acc)["phi"]
        if perm is not None:
            phi = phi[np.asarray(perm)]
        phis.append(phi[:, words].astype(np.float32))
    return {"chain_phi": np.stack(phis), "chain_phi_words": words}
