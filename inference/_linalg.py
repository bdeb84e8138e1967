"""Shared Gaussian-topic numerics (numba, float64): the collapsed Normal-inverse-Wishart (NIW)
topic statistics and predictive used by GLDA, CGTM and GhLDA, kept through Cholesky rank-one
up/downdates (:mod:`ppltopics.inference._cholesky`).

One implementation for all Gaussian models.  A topic with ``n`` member vectors ``x_1..x_n``
(mean ``x̄``, centred scatter ``S = Σ (x_i − x̄)(x_i − x̄)ᵀ``) under the prior
``NIW(μ0, κ0, Ψ0, ν0)`` has the posterior::

    κ_n = κ0 + n,   ν_n = ν0 + n,   μ_n = (κ0 μ0 + n x̄) / κ_n,
    Ψ_n = Ψ0 + S + κ0 n / (κ0 + n) (x̄ − μ0)(x̄ − μ0)ᵀ

and the predictive of one more vector is a multivariate t (Murphy 2007, "Conjugate Bayesian
analysis of the Gaussian distribution"; Das, Zaheer & Dyer, ACL 2015)::

    p(x | x_1..x_n) = t_{ν_n − M + 1}(x | μ_n, Ψ_n (κ_n + 1) / (κ_n (ν_n − M + 1))).

Adding one vector is a rank-one change of Ψ (derivation: write
``Ψ_n = Ψ0 + Σ x_i x_iᵀ + κ0 μ0 μ0ᵀ − κ_n μ_n μ_nᵀ`` and use ``κ_{n+1} μ_{n+1} = κ_n μ_n + x``)::

    Ψ_{n+1} = Ψ_n + κ_n / (κ_n + 1) (x − μ_n)(x − μ_n)ᵀ,

so the lower Cholesky factor ``L`` of Ψ_n is kept and changed by one O(M²) rank-one update
(add) or downdate (remove, with μ_{n−1} computed first:
``Ψ_{n−1} = Ψ_n − κ_{n−1} / (κ_{n−1} + 1) (x − μ_{n−1})(x − μ_{n−1})ᵀ``).

State layout (plain arrays in two ``NamedTuple`` bundles, which numba passes by value and
caches like any other argument):

* :class:`NIWPrior` — ``mu0`` (M,), ``kappa0``, ``nu0``, ``psi0`` (M, M), ``psi0_chol`` (its
  lower Cholesky factor) and ``psi0_logdet``.  GhLDA's per-level Ψ0 is one prior per level.
* :class:`NIWStats` — per topic ``k``: ``count[k]``, ``sums[k] = Σ x`` (M,),
  ``scatter[k] = Σ (x − μ0)(x − μ0)ᵀ`` (M, M; only the lower triangle is maintained),
  ``chol[k]`` (lower factor of Ψ_n) and ``logdet[k] = log |Ψ_n|``.

The scatter about μ0 costs O(M²/2) per add/remove and lets a topic be refactorised from
scratch (O(M³)) without its member list: ``Ψ_n = Ψ0 + scatter − κ_n d dᵀ`` with
``d = μ_n − μ0 = (Σx − n μ0)/κ_n``.  Refactorisation happens when a downdate fails (rounding
made ``Ψ_n − v vᵀ`` look indefinite) and whenever a kernel calls :func:`niw_refactor` to
clear drift (e.g. once per sweep).  A topic that becomes empty is reset exactly to the prior.

Kernels that score many vectors between changes of a topic may also keep ``G = L⁻¹``
(:func:`~ppltopics.inference._cholesky.tri_inv`; GLDA's exact sweep, GhLDA's level step): a
predictive's quadratic form is then ``‖G (x − μ_n)‖²``
(:func:`~ppltopics.inference._cholesky.inv_quad`, a vectorising matrix-vector product), and
:func:`niw_add_inv` / :func:`niw_remove_inv` carry G through the rank-one changes in O(M²)
(:func:`~ppltopics.inference._cholesky.inv_chol_rank_one`, the product form of Gill, Golub,
Murray & Saunders 1974).  The Cholesky numerics themselves (factorisation, rank-one up- and
downdates, inverse factors) are in :mod:`ppltopics.inference._cholesky`; this module
re-exports them.

Hot functions take a ``work`` array from :func:`new_work` (shape ``(M + 4, M)``: four scratch
vectors, then one M×M scratch matrix) so that the inner loops allocate nothing.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from ppltopics.inference._cholesky import (
    _chol_downdate,
    _chol_update,
    _solve_lower_sq,
    _tri_matvec,
    chol_downdate,
    chol_logdet,
    chol_update,
    cholesky_lower,
    inv_chol_rank_one,
    inv_quad,
    matvec_sq,
    tri_inv,
)

__all__ = [
    "NIWPrior",
    "NIWStats",
    "make_prior",
    "new_stats",
    "new_work",
    "stats_from_assignments",
    "posterior_means",
    "multigammaln",
    "cholesky_lower",
    "chol_update",
    "chol_downdate",
    "chol_logdet",
    "t_const",
    "t_logpdf",
    "mvt_logpdf_chol",
    "niw_add",
    "niw_remove",
    "niw_refactor",
    "niw_log_marginal",
    "topic_log_marginal",
    "predictive_logpdf",
    "predictive_logpdf_loo",
    "predictive_logpdf_prior",
    "predictive_logpdf_topics",
    "block_logpdf",
    "block_logpdf_rows",
    "block_logpdf_prior",
    "tri_inv",
    "matvec_sq",
    "inv_quad",
    "inv_chol_rank_one",
    "niw_add_inv",
    "niw_remove_inv",
]

_LOG_PI = math.log(math.pi)


class NIWPrior(NamedTuple):
    """NIW(μ0, κ0, Ψ0, ν0) hyperparameters with Ψ0's lower Cholesky factor and log-determinant."""

    mu0: np.ndarray
    kappa0: float
    nu0: float
    psi0: np.ndarray
    psi0_chol: np.ndarray
    psi0_logdet: float


class NIWStats(NamedTuple):
    """Per-topic sufficient statistics and the maintained factor of Ψ_n (see module doc)."""

    count: np.ndarray
    sums: np.ndarray
    scatter: np.ndarray
    chol: np.ndarray
    logdet: np.ndarray


# ----------------------------------------------------------------------------- constructors
def make_prior(
    mu0: np.ndarray, kappa0: float, nu0: float, psi0: np.ndarray | float
) -> NIWPrior:
    """Validate NIW hyperparameters and precompute Ψ0's factor (float64, C-contiguous).

    ``psi0`` may be a scalar ``s`` (meaning ``s·I``).  Requires κ0 > 0, ν0 > M − 1 (so the
    predictive has ν_n − M + 1 > 0 degrees of freedom) and Ψ0 symmetric positive definite.
    """
    mu0 = np.ascontiguousarray(mu0, dtype=np.float64)
    if mu0.ndim != 1 or mu0.shape[0] == 0:
        raise ValueError(f"mu0 must be a non-empty vector, got shape {mu0.shape}")
    M = mu0.shape[0]
    if np.ndim(psi0) == 0:
        psi0 = float(psi0) * np.eye(M)
    psi0 = np.array(psi0, dtype=np.float64, order="C")
    if psi0.shape != (M, M):
        raise ValueError(f"psi0 must have shape ({M}, {M}), got {psi0.shape}")
    kappa0 = float(kappa0)
    nu0 = float(nu0)
    if not np.all(np.isfinite(mu0)):
        raise ValueError("mu0 contains NaN or inf")
    if not np.all(np.isfinite(psi0)):
        raise ValueError("psi0 contains NaN or inf")
    if not (math.isfinite(kappa0) and kappa0 > 0.0):
        raise ValueError(f"kappa0 must be finite and > 0, got {kappa0}")
    if not (math.isfinite(nu0) and nu0 > M - 1):
        raise ValueError(f"nu0 must be finite and > M - 1 = {M - 1}, got {nu0}")
    scale = max(1.0, float(np.abs(psi0).max()))
    if np.abs(psi0 - psi0.T).max() > 1e-8 * scale:
        raise ValueError("psi0 must be symmetric positive definite: it is not symmetric")
    psi0 = 0.5 * (psi0 + psi0.T)
    try:
        L0 = np.linalg.cholesky(psi0)
    except np.linalg.LinAlgError:
        raise ValueError(
            "psi0 must be symmetric positive definite: its Cholesky factorisation failed"
        ) from None
    L0 = np.ascontiguousarray(L0)
    logdet0 = float(2.0 * np.log(np.diag(L0)).sum())
    return NIWPrior(mu0, kappa0, nu0, psi0, L0, logdet0)


def new_stats(num_topics: int, prior: NIWPrior) -> NIWStats:
    """``num_topics`` empty topics (Ψ_0 = Ψ0, factor L0)."""
    M = prior.mu0.shape[0]
    count = np.zeros(num_topics, dtype=np.int64)
    sums = np.zeros((num_topics, M))
    scatter = np.zeros((num_topics, M, M))
    chol = np.ascontiguousarray(np.broadcast_to(prior.psi0_chol, (num_topics, M, M)).copy())
    logdet = np.full(num_topics, prior.psi0_logdet)
    return NIWStats(count, sums, scatter, chol, logdet)


def new_work(M: int) -> np.ndarray:
    """Scratch space for the hot functions: four length-M vectors and one M×M matrix."""
    return np.empty((M + 4, M))


def stats_from_assignments(
    vectors: np.ndarray, z: np.ndarray, num_topics: int, prior: NIWPrior
) -> NIWStats:
    """Statistics of topics holding ``vectors[i]`` in topic ``z[i]`` (one O(M³) factor each).

    The kernels' initialisation; equal (to rounding) to adding the vectors one by one.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float64)
    z = np.asarray(z, dtype=np.int64)
    if vectors.ndim != 2 or vectors.shape != (z.shape[0], prior.mu0.shape[0]):
        raise ValueError(
            f"vectors must have shape ({z.shape[0]}, {prior.mu0.shape[0]}), got {vectors.shape}"
        )
    if z.size and (z.min() < 0 or z.max() >= num_topics):
        raise ValueError(f"topic assignments must lie in [0, {num_topics})")
    stats = new_stats(num_topics, prior)
    stats.count[:] = np.bincount(z, minlength=num_topics)[:num_topics]
    np.add.at(stats.sums, z, vectors)
    y = vectors - prior.mu0
    for k in range(num_topics):
        yk = y[z == k]
        stats.scatter[k] = yk.T @ yk
        niw_refactor(k, stats, prior)
    return stats


def posterior_means(stats: NIWStats, prior: NIWPrior) -> np.ndarray:
    """μ_n of every topic: ``(κ0 μ0 + Σx) / (κ0 + n)``, shape (K, M)."""
    kappa_n = prior.kappa0 + stats.count.astype(np.float64)
    return (prior.kappa0 * prior.mu0 + stats.sums) / kappa_n[:, None]


# ----------------------------------------------------------------------------- dense kernels
@numba.njit(cache=True, nogil=True)
def multigammaln(a: float, M: int) -> float:
    """log Γ_M(a) = M(M−1)/4 · log π + Σ_{j=1..M} log Γ(a + (1 − j)/2)."""
    out = 0.25 * M * (M - 1) * _LOG_PI
    for j in range(M):
        out += math.lgamma(a - 0.5 * j)
    return out


@numba.njit(cache=True, nogil=True)
def t_const(logdet: float, c: float, dof: float, M: int) -> float:
    """The x-free part of :func:`t_logpdf`:
    lgamma((dof+M)/2) − lgamma(dof/2) − (M/2) log(dof·π) − ½ log|c·A|."""
    return (
        math.lgamma(0.5 * (dof + M))
        - math.lgamma(0.5 * dof)
        - 0.5 * M * (math.log(dof) + _LOG_PI)
        - 0.5 * (logdet + M * math.log(c))
    )


@numba.njit(cache=True, nogil=True)
def t_logpdf(q: float, logdet: float, c: float, dof: float, M: int) -> float:
    """log t_dof(x | μ, c·A) given q = (x−μ)ᵀ A⁻¹ (x−μ) and logdet = log|A|:
    lgamma((dof+M)/2) − lgamma(dof/2) − (M/2) log(dof·π) − ½ log|c·A|
    − ((dof+M)/2) log(1 + q/(c·dof))."""
    return t_const(logdet, c, dof, M) - 0.5 * (dof + M) * math.log1p(q / (c * dof))


@numba.njit(cache=True, nogil=True)
def _mvt_logpdf_scaled(
    x: np.ndarray,
    mu: np.ndarray,
    L: np.ndarray,
    logdet: float,
    c: float,
    dof: float,
    y: np.ndarray,
) -> float:
    """log t_dof(x | mu, c · L Lᵀ) where ``logdet = log |L Lᵀ|``; ``y`` is scratch."""
    M = x.shape[0]
    for i in range(M):
        y[i] = x[i] - mu[i]
    return t_logpdf(_solve_lower_sq(L, y), logdet, c, dof, M)


@numba.njit(cache=True, nogil=True)
def mvt_logpdf_chol(
    x: np.ndarray, mu: np.ndarray, L_scale: np.ndarray, logdet_scale: float, dof: float
) -> float:
    """Multivariate-t log density with scale ``Σ = L_scale L_scaleᵀ``, O(M²)::

        log t_ν(x | μ, Σ) = log Γ((ν+M)/2) − log Γ(ν/2) − (M/2) log(νπ) − ½ log|Σ|
                            − ((ν+M)/2) log(1 + (x−μ)ᵀ Σ⁻¹ (x−μ) / ν),

    with ``(x−μ)ᵀ Σ⁻¹ (x−μ) = ‖L⁻¹(x−μ)‖²`` by one triangular solve.
    """
    y = np.empty(x.shape[0])
    return _mvt_logpdf_scaled(x, mu, L_scale, logdet_scale, 1.0, dof, y)


# ----------------------------------------------------------------------------- NIW topics
@numba.njit(cache=True, nogil=True)
def _check_work(work: np.ndarray, M: int) -> None:
    """Numba does not bounds-check: refuse a scratch array smaller than ``new_work(M)``."""
    if work.shape[0] < M + 4 or work.shape[1] < M:
        raise ValueError("work must have shape (M + 4, M): use new_work(M)")


@numba.njit(cache=True, nogil=True)
def reset_topic(k: int, stats: NIWStats, prior: NIWPrior) -> None:
    """Topic (or tree node) k back to exactly the prior (count 0)."""
    M = prior.mu0.shape[0]
    stats.count[k] = 0
    stats.logdet[k] = prior.psi0_logdet
    for i in range(M):
        stats.sums[k, i] = 0.0
        for j in range(M):
            stats.scatter[k, i, j] = 0.0
            stats.chol[k, i, j] = prior.psi0_chol[i, j]


@numba.njit(cache=True, nogil=True)
def _scatter_rank_one(S: np.ndarray, x: np.ndarray, mu0: np.ndarray, sign: float) -> None:
    """Lower triangle of S += sign · (x − μ0)(x − μ0)ᵀ."""
    M = x.shape[0]
    for i in range(M):
        yi = sign * (x[i] - mu0[i])
        for j in range(i + 1):
            S[i, j] += yi * (x[j] - mu0[j])


@numba.njit(cache=True, nogil=True)
def niw_refactor(k: int, stats: NIWStats, prior: NIWPrior) -> None:
    """Recompute ``chol[k]``/``logdet[k]`` from the counts, sums and scatter, O(M³).

    ``Ψ_n = Ψ0 + Σ (x−μ0)(x−μ0)ᵀ − κ_n d dᵀ``, ``d = μ_n − μ0 = (Σx − n μ0)/κ_n`` (equal to
    Murphy's (2007) ``Ψ0 + S + κ0 n/κ_n (x̄−μ0)(x̄−μ0)ᵀ``).  Raises FloatingPointError if even
    that is not positive definite (only possible with non-finite or absurdly scaled data).
    """
    n = stats.count[k]
    if n == 0:
        reset_topic(k, stats, prior)
        return
    M = prior.mu0.shape[0]
    kappa_n = prior.kappa0 + n
    d = np.empty(M)
    for i in range(M):
        d[i] = (stats.sums[k, i] - n * prior.mu0[i]) / kappa_n
    L = stats.chol[k]
    for i in range(M):
        for j in range(i + 1):
            L[i, j] = prior.psi0[i, j] + stats.scatter[k, i, j] - kappa_n * d[i] * d[j]
    if not cholesky_lower(L, L):
        raise FloatingPointError("NIW posterior scale Psi_n is not positive definite")
    stats.logdet[k] = chol_logdet(L)


@numba.njit(cache=True, nogil=True)
def niw_add(k: int, x: np.ndarray, stats: NIWStats, prior: NIWPrior, work: np.ndarray) -> None:
    """Add vector x to topic k in O(M²): ``Ψ_{n+1} = Ψ_n + κ_n/(κ_n+1) (x−μ_n)(x−μ_n)ᵀ``.

    One rank-one Cholesky update of ``chol[k]`` with ``v = sqrt(κ_n/(κ_n+1)) (x − μ_n)``, then
    ``count``, ``sums`` and the scatter about μ0 are incremented.
    """
    M = x.shape[0]
    _check_work(work, M)
    n = stats.count[k]
    kappa_n = prior.kappa0 + n
    f = math.sqrt(kappa_n / (kappa_n + 1.0))
    v = work[0]
    for i in range(M):
        v[i] = f * (x[i] - (prior.kappa0 * prior.mu0[i] + stats.sums[k, i]) / kappa_n)
    L = stats.chol[k]
    _chol_update(L, v, work[1], work[2])
    stats.logdet[k] = chol_logdet(L)
    for i in range(M):
        stats.sums[k, i] += x[i]
    stats.count[k] = n + 1
    _scatter_rank_one(stats.scatter[k], x, prior.mu0, 1.0)


@numba.njit(cache=True, nogil=True)
def niw_remove(
    k: int, x: np.ndarray, stats: NIWStats, prior: NIWPrior, work: np.ndarray
) -> bool:
    """Remove member vector x from topic k in O(M²); returns False if it had to refactorise.

    With ``μ_{n−1} = (κ0 μ0 + Σx − x)/κ_{n−1}``:
    ``Ψ_{n−1} = Ψ_n − κ_{n−1}/(κ_{n−1}+1) (x − μ_{n−1})(x − μ_{n−1})ᵀ``, one rank-one
    downdate.  If rounding makes that downdate fail, the topic is refactorised from its scatter
    (O(M³), :func:`niw_refactor`) and False is returned; the state is correct either way.  The
    last vector leaving resets the topic exactly to the prior.  ``x`` must be a member (not
    checked, except that the topic must not be empty: ValueError).
    """
    n = stats.count[k]
    if n <= 0:
        raise ValueError("niw_remove: topic is empty")
    if n == 1:
        reset_topic(k, stats, prior)
        return True
    M = x.shape[0]
    _check_work(work, M)
    kappa_prev = prior.kappa0 + (n - 1)
    f = math.sqrt(kappa_prev / (kappa_prev + 1.0))
    v = work[0]
    for i in range(M):
        stats.sums[k, i] -= x[i]
        v[i] = f * (x[i] - (prior.kappa0 * prior.mu0[i] + stats.sums[k, i]) / kappa_prev)
    stats.count[k] = n - 1
    _scatter_rank_one(stats.scatter[k], x, prior.mu0, -1.0)
    L = stats.chol[k]
    if _chol_downdate(L, v, work[1], work[2], work[3]):
        stats.logdet[k] = chol_logdet(L)
        return True
    niw_refactor(k, stats, prior)
    return False


@numba.njit(cache=True, nogil=True)
def niw_log_marginal(n: int, logdet_psi_n: float, prior: NIWPrior) -> float:
    """log p(x_1..x_n) under NIW(μ0, κ0, Ψ0, ν0): the ratio of normalisers (Murphy 2007)::

        −(nM/2) log π + (M/2)(log κ0 − log κ_n) + (ν0/2) log|Ψ0| − (ν_n/2) log|Ψ_n|
        + log Γ_M(ν_n/2) − log Γ_M(ν0/2).
    """
    M = prior.mu0.shape[0]
    kappa_n = prior.kappa0 + n
    nu_n = prior.nu0 + n
    return (
        -0.5 * n * M * _LOG_PI
        + 0.5 * M * (math.log(prior.kappa0) - math.log(kappa_n))
        + 0.5 * prior.nu0 * prior.psi0_logdet
        - 0.5 * nu_n * logdet_psi_n
        + multigammaln(0.5 * nu_n, M)
        - multigammaln(0.5 * prior.nu0, M)
    )


@numba.njit(cache=True, nogil=True)
def topic_log_marginal(k: int, stats: NIWStats, prior: NIWPrior) -> float:
    """log p(vectors currently in topic k) = ``niw_log_marginal(count[k], logdet[k], prior)``."""
    return niw_log_marginal(stats.count[k], stats.logdet[k], prior)


@numba.njit(cache=True, nogil=True)
def _predictive(
    x: np.ndarray,
    n: int,
    sums: np.ndarray,
    L: np.ndarray,
    logdet: float,
    prior: NIWPrior,
    work: np.ndarray,
) -> float:
    """log t_{ν_n−M+1}(x | μ_n, Ψ_n (κ_n+1)/(κ_n (ν_n−M+1))) from (n, Σx, chol Ψ_n)."""
    M = x.shape[0]
    _check_work(work, M)
    kappa_n = prior.kappa0 + n
    dof = prior.nu0 + n - M + 1.0
    y = work[0]
    for i in range(M):
        y[i] = x[i] - (prior.kappa0 * prior.mu0[i] + sums[i]) / kappa_n
    c = (kappa_n + 1.0) / (kappa_n * dof)
    return t_logpdf(_solve_lower_sq(L, y), logdet, c, dof, M)


@numba.njit(cache=True, nogil=True)
def predictive_logpdf(
    k: int, x: np.ndarray, stats: NIWStats, prior: NIWPrior, work: np.ndarray
) -> float:
    """log p(x | vectors in topic k): multivariate t with ν_n − M + 1 dof, location μ_n and
    scale Ψ_n (κ_n + 1)/(κ_n (ν_n − M + 1)) (Murphy 2007), O(M²) by one triangular solve.

    The caller removes the token's own vector first (Gibbs: "remove, then score").
    """
    return _predictive(
        x, stats.count[k], stats.sums[k], stats.chol[k], stats.logdet[k], prior, work
    )


@numba.njit(cache=True, nogil=True)
def predictive_logpdf_loo(
    k: int, x: np.ndarray, stats: NIWStats, prior: NIWPrior, work: np.ndarray
) -> float:
    """log p(x | the other vectors of topic k) for a *member* x, without touching the factor.

    With n members (x among them), κ' = κ0 + n − 1, μ' = (κ0 μ0 + Σx − x)/κ', u = x − μ' and
    c = κ'/(κ'+1): Ψ' = Ψ_n − c u uᵀ.  One triangular solve gives q = uᵀ Ψ_n⁻¹ u, then
    log|Ψ'| = log|Ψ_n| + log(1 − c q) (matrix determinant lemma) and
    uᵀ Ψ'⁻¹ u = q / (1 − c q) (Sherman–Morrison): the same multivariate t as
    :func:`predictive_logpdf` after a removal, in O(M²/2), so a Gibbs step whose token stays
    in its topic needs no downdate/update at all.  Returns NaN if 1 − c q is not safely
    positive (rounding; the caller then removes and scores the usual way).
    """
    n = stats.count[k]
    if n <= 1:
        return predictive_logpdf_prior(x, prior, work)
    M = x.shape[0]
    _check_work(work, M)
    kappa_p = prior.kappa0 + (n - 1)
    y = work[0]
    for i in range(M):
        y[i] = x[i] - (prior.kappa0 * prior.mu0[i] + stats.sums[k, i] - x[i]) / kappa_p
    q = _solve_lower_sq(stats.chol[k], y)
    c = kappa_p / (kappa_p + 1.0)
    one_minus = 1.0 - c * q
    if not one_minus > 1e-10:
        return np.nan
    dof = prior.nu0 + (n - 1) - M + 1.0
    c_scale = (kappa_p + 1.0) / (kappa_p * dof)
    return t_logpdf(q / one_minus, stats.logdet[k] + math.log(one_minus), c_scale, dof, M)


@numba.njit(cache=True, nogil=True)
def predictive_logpdf_prior(x: np.ndarray, prior: NIWPrior, work: np.ndarray) -> float:
    """log p(x) for an empty (new) topic: the predictive with n = 0."""
    zeros = work[3]
    zeros[:] = 0.0
    return _predictive(x, 0, zeros, prior.psi0_chol, prior.psi0_logdet, prior, work)


@numba.njit(cache=True, nogil=True)
def predictive_logpdf_topics(
    x: np.ndarray, stats: NIWStats, prior: NIWPrior, out: np.ndarray, work: np.ndarray
) -> None:
    """``out[k] = predictive_logpdf(k, x)`` for ``k < len(out)``: a Gibbs step's O(K·M²)."""
    if out.shape[0] > stats.count.shape[0]:
        raise ValueError("out is longer than the number of topics")
    for k in range(out.shape[0]):
        out[k] = _predictive(
            x, stats.count[k], stats.sums[k], stats.chol[k], stats.logdet[k], prior, work
        )


@numba.njit(cache=True, nogil=True)
def _block(
    n: int,
    sums: np.ndarray,
    L: np.ndarray,
    logdet: float,
    table: np.ndarray,
    rows: np.ndarray,
    prior: NIWPrior,
    work: np.ndarray,
) -> float:
    """log p(table[rows] | n vectors with sum ``sums`` and factor L): m rank-one updates on a
    copy of L, then the ratio of normalisers ``niw_log_marginal(n+m) − niw_log_marginal(n)``
    (= the chain rule Σ_i log p(x_i | x_<i, topic)); O(m M²), topic state untouched."""
    M = table.shape[1]
    _check_work(work, M)
    m = rows.shape[0]
    if m == 0:
        return 0.0
    W = work[4 : 4 + M]
    s = work[3]
    v = work[0]
    for i in range(M):
        s[i] = sums[i]
        for j in range(M):
            W[i, j] = L[i, j]
    for t in range(m):
        r = rows[t]
        kappa_t = prior.kappa0 + (n + t)
        f = math.sqrt(kappa_t / (kappa_t + 1.0))
        for i in range(M):
            xi = table[r, i]
            v[i] = f * (xi - (prior.kappa0 * prior.mu0[i] + s[i]) / kappa_t)
            s[i] += xi
        _chol_update(W, v, work[1], work[2])
    return niw_log_marginal(n + m, chol_logdet(W), prior) - niw_log_marginal(n, logdet, prior)


@numba.njit(cache=True, nogil=True)
def block_logpdf_rows(
    k: int,
    table: np.ndarray,
    rows: np.ndarray,
    stats: NIWStats,
    prior: NIWPrior,
    work: np.ndarray,
) -> float:
    """log p(table[rows[0]], …, table[rows[m−1]] | vectors in topic k), O(m M²).

    The ratio of NIW normalisers after m sequential rank-one updates of a copy of the topic's
    factor (no fresh O(M³) factorisation); the topic itself is unchanged.  GhLDA's path step
    scores a document's tokens at one level this way (``table`` = embedding matrix, ``rows`` =
    the tokens' word ids).
    """
    return _block(
        stats.count[k], stats.sums[k], stats.chol[k], stats.logdet[k], table, rows, prior, work
    )


@numba.njit(cache=True, nogil=True)
def block_logpdf(
    k: int, X: np.ndarray, stats: NIWStats, prior: NIWPrior, work: np.ndarray
) -> float:
    """log p(X[0], …, X[m−1] | vectors in topic k) (see :func:`block_logpdf_rows`)."""
    rows = np.arange(X.shape[0])
    return block_logpdf_rows(k, X, rows, stats, prior, work)


@numba.njit(cache=True, nogil=True)
def block_logpdf_prior(
    table: np.ndarray, rows: np.ndarray, prior: NIWPrior, work: np.ndarray
) -> float:
    """log p(table[rows]) for an empty (new) topic = ``niw_log_marginal`` of the block."""
    M = table.shape[1]
    zeros = np.zeros(M)
    return _block(0, zeros, prior.psi0_chol, prior.psi0_logdet, table, rows, prior, work)


# ----------------------------------------------------------------------------- inverse factors


@numba.njit(cache=True, nogil=True)
def niw_add_inv(
    k: int, x: np.ndarray, stats: NIWStats, prior: NIWPrior, Linv: np.ndarray,
    work: np.ndarray,
) -> None:
    """:func:`niw_add` that also carries ``Linv[k]`` = chol(Ψ_n)⁻¹ to chol(Ψ_{n+1})⁻¹ by
    :func:`inv_chol_rank_one` with p = Linv[k] v, O(M²)."""
    niw_add(k, x, stats, prior, work)  # leaves its update vector v in work[0]
    _tri_matvec(Linv[k], work[0], work[1])
    inv_chol_rank_one(Linv[k], work[1], 1.0, work[2])


@numba.njit(cache=True, nogil=True)
def niw_remove_inv(
    k: int, x: np.ndarray, stats: NIWStats, prior: NIWPrior, Linv: np.ndarray,
    work: np.ndarray,
) -> bool:
    """:func:`niw_remove` that also carries ``Linv[k]`` along: by :func:`inv_chol_rank_one`
    (the downdate's p = L⁻¹ v comes from its forward substitution), or recomputed with
    :func:`tri_inv` (O(M³/6)) when the topic was reset to the prior or refactorised.
    Returns :func:`niw_remove`'s flag."""
    n = stats.count[k]
    ok = niw_remove(k, x, stats, prior, work)  # leaves v in work[0], p = L⁻¹ v in work[1]
    if n == 1 or not ok or not inv_chol_rank_one(Linv[k], work[1], -1.0, work[2]):
        tri_inv(stats.chol[k], Linv[k])
    return ok
