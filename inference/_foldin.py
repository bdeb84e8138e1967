"""Topics-fixed inference for unseen documents: fold-in Gibbs and the left-to-right estimator.

Both take a word-by-topic table ``word_topic[w, k] = c_w · p(w | topic k)`` whose rows may be
scaled by any positive ``c_w`` (a Gaussian topic model passes densities of the word's vector,
scaled per word against underflow) together with ``log_row_scale[w] = log c_w``.  The fold-in
conditional ``p(z_n = k | z_-n) ∝ (n_dk + α_k) p(w_n | k)`` does not see ``c_w``; the
left-to-right estimate subtracts it back.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ppltopics.inference._sampling import categorical

__all__ = ["fold_in", "left_to_right"]


@numba.njit(cache=True, nogil=True)
def fold_in(
    word_ids: np.ndarray,
    doc_offsets: np.ndarray,
    word_topic: np.ndarray,
    alpha: np.ndarray,
    num_sweeps: int,
    burn_in: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Posterior mean θ_d of every document by Gibbs sampling z with the topics held fixed.

    Averages θ̂_dk = (n_dk + α_k)/(N_d + α₀) over the sweeps after ``burn_in`` (the caller
    ensures ``num_sweeps > burn_in``).  Documents without tokens get the prior mean α/α₀.
    O(K) per token.
    """
    num_docs = doc_offsets.shape[0] - 1
    num_topics = alpha.shape[0]
    alpha0 = alpha.sum()
    out = np.zeros((num_docs, num_topics))
    ndk = np.zeros(num_topics)
    p = np.empty(num_topics)
    for d in range(num_docs):
        start = doc_offsets[d]
        end = doc_offsets[d + 1]
        length = end - start
        if length == 0:
            out[d] = alpha / alpha0
            continue
        z = np.empty(length, dtype=np.int64)
        ndk[:] = 0.0
        for i in range(length):
            w = word_ids[start + i]
            for k in range(num_topics):
                p[k] = word_topic[w, k] * alpha[k]
            z[i] = categorical(rng, p, num_topics)
            ndk[z[i]] += 1.0
        for sweep in range(num_sweeps):
            for i in range(length):
                w = word_ids[start + i]
                ndk[z[i]] -= 1.0
                for k in range(num_topics):
                    p[k] = (ndk[k] + alpha[k]) * word_topic[w, k]
                z[i] = categorical(rng, p, num_topics)
                ndk[z[i]] += 1.0
            if sweep >= burn_in:
                for k in range(num_topics):
                    out[d, k] += (ndk[k] + alpha[k]) / (length + alpha0)
        for k in range(num_topics):
            out[d, k] /= num_sweeps - burn_in
    return out


@numba.njit(cache=True, nogil=True)
def left_to_right(
    word_ids: np.ndarray,
    doc_offsets: np.ndarray,
    word_topic: np.ndarray,
    log_row_scale: np.ndarray,
    alpha: np.ndarray,
    num_particles: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Left-to-right particle estimate of log p(w_d | topics, α) per document.

    Wallach, Murray, Salakhutdinov & Mimno (ICML 2009), Algorithm 3: for each position n every
    particle r resamples z_<n once (a Gibbs pass, which leaves p(z_<n | w_<n) invariant), adds
    p_n^r = Σ_k (n_dk^{<n} + α_k)/(n + α₀) · p(w_n | k), then draws z_n.  The estimate is
    Σ_n log((1/R) Σ_r p_n^r).  As published the particles are not reweighted, which biases
    the product of averages (Buntine, ACML 2009); here the particles are resampled in
    proportion to p_n^r before z_n is drawn, which makes it a sequential Monte Carlo
    estimator whose product of averages is unbiased for p(w_d) (Del Moral 2004) and whose log
    converges as R grows.  O(N_d² · R · K) per document.
    """
    num_docs = doc_offsets.shape[0] - 1
    num_topics = alpha.shape[0]
    alpha0 = alpha.sum()
    out = np.zeros(num_docs)
    p = np.empty(num_topics)
    weights = np.empty(num_particles)
    for d in range(num_docs):
        start = doc_offsets[d]
        length = doc_offsets[d + 1] - start
        width = max(length, 1)
        z = np.zeros((num_particles, width), dtype=np.int64)
        ndk = np.zeros((num_particles, num_topics))
        z_new = np.zeros((num_particles, width), dtype=np.int64)
        ndk_new = np.zeros((num_particles, num_topics))
        total = 0.0
        for n in range(length):
            w_n = word_ids[start + n]
            pn = 0.0
            for r in range(num_particles):
                for m in range(n):
                    w = word_ids[start + m]
                    ndk[r, z[r, m]] -= 1.0
                    for k in range(num_topics):
                        p[k] = (ndk[r, k] + alpha[k]) * word_topic[w, k]
                    z[r, m] = categorical(rng, p, num_topics)
                    ndk[r, z[r, m]] += 1.0
                s = 0.0
                for k in range(num_topics):
                    s += (ndk[r, k] + alpha[k]) * word_topic[w_n, k]
                weights[r] = s / (n + alpha0)
                pn += weights[r]
            total += math.log(pn / num_particles) - log_row_scale[w_n]
            # systematic resampling in proportion to p_n^r, then extend each with z_n
            u = rng.random() / num_particles
            acc = weights[0] / pn
            src = 0
            for r in range(num_particles):
                while u > acc and src < num_particles - 1:
                    src += 1
                    acc += weights[src] / pn
                u += 1.0 / num_particles
                for m in range(n):
                    z_new[r, m] = z[src, m]
                for k in range(num_topics):
                    ndk_new[r, k] = ndk[src, k]
            z, z_new = z_new, z
            ndk, ndk_new = ndk_new, ndk
            for r in range(num_particles):
                for k in range(num_topics):
                    p[k] = (ndk[r, k] + alpha[k]) * word_topic[w_n, k]
                z[r, n] = categorical(rng, p, num_topics)
                ndk[r, z[r, n]] += 1.0
        out[d] = total
    return out
