"""Batched collapsed log marginals shared by the models' batched log joints (plain numpy).

Vectorised over draws (leading axis ``S``) so that a Geweke test can evaluate the log joint of
tens of thousands of draws: the Dirichlet-multinomial of document-topic counts
(:func:`dirichlet_log_prior_batch`) and the normal-inverse-Wishart marginal of grouped vectors
(:func:`niw_log_marginal_groups`, Murphy 2007, "Conjugate Bayesian analysis of the Gaussian
distribution", eq. 266).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import gammaln

__all__ = ["dirichlet_log_prior_batch", "niw_log_marginal_groups"]


def dirichlet_log_prior_batch(
    z: np.ndarray, doc_offsets: np.ndarray, alpha: Any, num_topics: int | None = None
) -> np.ndarray:
    """Collapsed log p(z | α) of each row of ``z`` (S, N), θ_d ~ Dirichlet(α) integrated out
    (Dirichlet-multinomial; vectorised :func:`ppltopics.models.lda.log_prior_from_counts`)::

        Σ_d [ lgamma(α₀) − lgamma(N_d + α₀) + Σ_k (lgamma(n_dk + α_k) − lgamma(α_k)) ]

    ``alpha``: scalar or length K (``num_topics`` needed for a scalar).
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.int64))
    a = np.asarray(alpha, dtype=np.float64)
    if a.ndim == 0:
        if num_topics is None:
            raise ValueError("a scalar alpha needs num_topics")
        a = np.full(int(num_topics), float(a))
    k = a.size
    lengths = np.diff(np.asarray(doc_offsets, dtype=np.int64))
    if lengths.sum() != z.shape[1]:
        raise ValueError(f"z has {z.shape[1]} tokens, doc_offsets {lengths.sum()}")
    d = lengths.size
    docs = np.repeat(np.arange(d), lengths)
    row = np.arange(z.shape[0])[:, None]
    ndk = np.bincount((row * d * k + docs * k + z).ravel(), minlength=z.shape[0] * d * k)
    ndk = ndk.reshape(z.shape[0], d, k)
    a0 = a.sum()
    return (d * gammaln(a0) - gammaln(lengths + a0).sum()
            + (gammaln(ndk + a) - gammaln(a)).sum(axis=(1, 2)))


def niw_log_marginal_groups(
    x: np.ndarray, groups: np.ndarray, num_groups: int, mu0: np.ndarray, kappa0: float,
    nu0: float, psi0: np.ndarray,
) -> np.ndarray:
    """Σ_g log p(x_{groups = g}) under NIW(μ0, κ0, Ψ0, ν0), batched: ``x`` (S, N, M),
    ``groups`` (S, N) ints in [0, num_groups); empty groups contribute 0::

        Σ_g [−(n_g M/2) log π + (M/2) log(κ0/κ_n) + (ν0/2) log|Ψ0| − (ν_n/2) log|Ψ_n|
             + log Γ_M(ν_n/2) − log Γ_M(ν0/2)]

    with Ψ_n = Ψ0 + Σ(x−μ0)(x−μ0)ᵀ − κ_n d dᵀ, d = Σ(x−μ0)/κ_n."""
    from scipy.special import multigammaln

    m = x.shape[2]
    onehot = (groups[:, :, None] == np.arange(num_groups)).astype(np.float64)  # (S, N, G)
    counts = onehot.sum(axis=1)
    xc = x - mu0
    sums = np.einsum("sng,sni->sgi", onehot, xc)
    scatter = np.einsum("sng,sni,snj->sgij", onehot, xc, xc)
    kappa_n = kappa0 + counts
    nu_n = nu0 + counts
    psi_n = psi0 + scatter - np.einsum("sgi,sgj->sgij", sums, sums) / kappa_n[:, :, None, None]
    _, logdet_n = np.linalg.slogdet(0.5 * (psi_n + np.swapaxes(psi_n, 2, 3)))
    _, logdet0 = np.linalg.slogdet(psi0)
    per = (-0.5 * counts * m * math.log(math.pi)
           + 0.5 * m * (math.log(kappa0) - np.log(kappa_n))
           + 0.5 * nu0 * logdet0 - 0.5 * nu_n * logdet_n
           + multigammaln(0.5 * nu_n, m) - multigammaln(0.5 * nu0, m))
    return np.where(counts > 0, per, 0.0).sum(axis=1)
