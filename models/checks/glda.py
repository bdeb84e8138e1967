"""Gaussian LDA's pieces for the correctness harness (:mod:`ppltopics.testing`).

Adapters for testing :mod:`ppltopics.models.glda` and :mod:`ppltopics.inference.glda`: the
exact data conditional ``v | z`` of the story, a batched collapsed log joint, and
label-invariant test functions of ``(z, v)``.  Plain numpy, independent of the kernels' numba
NIW algebra (``inference/_linalg.py``) and of the Pyro story's NIW sampler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ppltopics.testing.draws import niw_prior_draw
from ppltopics.testing.helpers import assignment_test_functions, token_pairs
from ppltopics.testing.marginals import dirichlet_log_prior_batch, niw_log_marginal_groups

__all__ = ["glda_vector_conditional", "glda_log_joint_batch", "glda_test_functions"]


def glda_vector_conditional(
    hyper: Any,
) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """Exact draw of the token vectors given the topics, ``v ~ p(v | z)``, under the GLDA story.

    A priori the topic parameters (μ_k, Σ_k) are independent of z (θ only affects z), so
    p(v | z) = ∫ Π_n N(v_n | μ_{z_n}, Σ_{z_n}) p(μ, Σ) dμ dΣ: draw every (μ_k, Σ_k) afresh
    from the NIW *prior* (:func:`niw_prior_draw`), then v_n ~ N(μ_{z_n}, Σ_{z_n}).
    ``hyper`` is a :class:`ppltopics.models.glda.ResolvedGLDAHyper`.  Returns
    ``data_step(z, rng) -> v`` ((N, M) float64) for :func:`geweke_test`.
    """
    num_topics = int(hyper.num_topics)

    def data_step(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        z = np.asarray(z, dtype=np.int64)
        mean, cov = niw_prior_draw(hyper, num_topics, rng)
        chol = np.linalg.cholesky(cov)
        eps = rng.standard_normal((z.size, mean.shape[1]))
        return mean[z] + np.einsum("nij,nj->ni", chol[z], eps)

    return data_step


def glda_log_joint_batch(
    z: np.ndarray, v: np.ndarray, doc_offsets: np.ndarray, hyper: Any
) -> np.ndarray:
    """Collapsed log p(v, z) of each draw, ``z`` (S, N) and ``v`` (S, N, M): vectorised
    :func:`ppltopics.models.glda.log_joint` (same formula; empty topics contribute 0)::

        Σ_k [−(n_k M/2) log π + (M/2) log(κ0/κ_n) + (ν0/2) log|Ψ0| − (ν_n/2) log|Ψ_n|
             + log Γ_M(ν_n/2) − log Γ_M(ν0/2)]  +  Σ_d DirMult(n_d· | α)
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.int64))
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 2:
        v = v[None]
    k = int(hyper.num_topics)
    alpha = np.asarray(hyper.alpha, dtype=np.float64)
    loglik = niw_log_marginal_groups(v, z, k, np.asarray(hyper.mu0, dtype=np.float64),
                                     float(hyper.kappa0), float(hyper.nu0),
                                     np.asarray(hyper.psi0, dtype=np.float64))
    return loglik + dirichlet_log_prior_batch(z, doc_offsets, alpha, k)


def glda_test_functions(
    doc_offsets: np.ndarray, hyper: Any
) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """Label-invariant test functions g(z, v) of GLDA for :func:`geweke_test` (batched:
    ``z`` (S, N), ``v`` (S, N, M)).

    - ``topics_used``: number of distinct topics among the tokens;
    - ``largest_topic``: share of the tokens in the largest topic;
    - ``doc_pairs_same_topic``: fraction of within-document token pairs with the same topic
      (the n_dk update and α);
    - ``same_topic_rel_dist``: mean over all token pairs of
      1[z_i = z_j]·‖v_i − v_j‖² / (‖v_i − μ0‖² + ‖v_j − μ0‖²) (couples z and v: within-topic
      spread relative to the distance from μ0, i.e. the scatter the kernels maintain);
    - ``same_topic_cos``: mean over all token pairs of 1[z_i = z_j]·cos(v_i − μ0, v_j − μ0)
      (topics off μ0 with their own direction: the sums and κ0);
    - ``log_mean_offset``: log ‖mean_n v_n − μ0‖ (a statistic of v: checks the data
      conditional against the forward draws);
    - ``log_joint``: collapsed log p(v, z) (:func:`glda_log_joint_batch`).

    With a small ν0 (e.g. M + 2) the topic covariances are heavy tailed (E[Σ²] is infinite for
    ν0 ≤ M + 3), so polynomials of v such as ‖v_i − v_j‖² have infinite variance and would
    void the t statistics; every function here is bounded or a logarithm.
    """
    offsets = np.asarray(doc_offsets, dtype=np.int64)
    _, i_all, j_all, _, _ = token_pairs(offsets)
    mu0 = np.asarray(hyper.mu0, dtype=np.float64)

    def same(z: np.ndarray) -> np.ndarray:
        return z[:, i_all] == z[:, j_all]

    def rel_dist(z: np.ndarray, v: np.ndarray) -> np.ndarray:
        sq = ((v - mu0) ** 2).sum(axis=2)
        d2 = ((v[:, i_all] - v[:, j_all]) ** 2).sum(axis=2)
        return (same(z) * d2 / (sq[:, i_all] + sq[:, j_all])).mean(axis=1)

    def cos(z: np.ndarray, v: np.ndarray) -> np.ndarray:
        xc = v - mu0
        u = xc / np.linalg.norm(xc, axis=2, keepdims=True)
        return (same(z) * (u[:, i_all] * u[:, j_all]).sum(axis=2)).mean(axis=1)

    return {
        **assignment_test_functions(offsets, int(hyper.num_topics)),
        "same_topic_rel_dist": rel_dist,
        "same_topic_cos": cos,
        "log_mean_offset": lambda z, v: np.log(np.linalg.norm(v.mean(axis=1) - mu0, axis=1)),
        "log_joint": lambda z, v: glda_log_joint_batch(z, v, offsets, hyper),
    }
