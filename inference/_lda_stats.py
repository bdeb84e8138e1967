"""Read-outs of an LDA state (:class:`ppltopics.inference.lda.LDAKernel`): the per-draw
log-likelihood statistics (:func:`_lda_stats`) and the running sums of θ̂ and φ̂ a chain
averages over its draws."""

from __future__ import annotations

import math

import numba
import numpy as np

from ppltopics.inference._lda_sweep import _MASK, TOPIC_BITS

#: largest V·K for which recording a draw builds a dense (V, K) int32 table of n_wk (32 MB);
#: above it the per-document log-likelihoods walk the packed word blocks
DENSE_POINTWISE_CELLS = 1 << 23
#: largest K for which a token's mixture sum in the per-document log-likelihoods is a K-term
#: dot product (:data:`POINTWISE_DOT`) rather than a walk over the document's topics
DOT_POINTWISE_MAX_TOPICS = 100
_SMALL_COUNT = 32  # counts below this take lgamma differences from a per-record table
_LG_CELLS = 256  # word-topic counts below this take lgamma(c + β) from a per-record table
_LG_LENGTHS = 1 << 16  # document lengths up to this take lgamma(N_d + α₀) from a table


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
