"""Held-out likelihood estimators with the topics fixed at their posterior means.

* :func:`left_to_right` (models with Dirichlet θ: LDA, GLDA): the left-to-right particle
  estimator of Wallach et al. (ICML 2009) with resampling.
* :func:`logistic_normal_importance` (logistic-normal θ: CGTM): importance sampling of θ from
  its prior.

Both take a word-by-topic table scaled per word (``word_topic[w, k] = c_w · p(w | k)`` with
``log_row_scale[w] = log c_w``, as :mod:`ppltopics.inference._foldin`) or the log densities
themselves, and return one log-likelihood estimate per document.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy.special import logsumexp

from ppltopics.inference._sampling import categorical

__all__ = ["left_to_right", "logistic_normal_importance"]


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


def logistic_normal_importance(
    word_ids: np.ndarray, doc_offsets: np.ndarray, log_density: np.ndarray, mu: np.ndarray,
    cov: np.ndarray, num_samples: int, rng: np.random.Generator,
) -> np.ndarray:
    """Importance-sampling estimate of log p(v_d | topics, μ, Σ) per document, θ = softmax(η):

        log p(v_d) ≈ log (1/S) Σ_s Π_n Σ_k softmax(η_s)_k f_k(v_n),   η_s ~ N(μ, Σ),

    sampling η from its prior (the estimate of p(v_d) is unbiased; its log is biased low by
    Jensen's inequality, less so as S grows).  ``log_density[w, k] = log f_k(v_w)`` (V, K);
    the S = ``num_samples`` draws of η are shared by all documents.
    """
    eta = rng.multivariate_normal(mu, cov, num_samples)
    logtheta = eta - logsumexp(eta, axis=1, keepdims=True)  # (S, K)
    out = np.empty(doc_offsets.size - 1)
    for d in range(doc_offsets.size - 1):
        ld = log_density[word_ids[doc_offsets[d]:doc_offsets[d + 1]]]  # (N_d, K)
        per_s = logsumexp(logtheta[:, None, :] + ld[None, :, :], axis=2).sum(axis=1)
        out[d] = logsumexp(per_s) - np.log(num_samples)
    return out
