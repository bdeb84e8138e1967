"""The correlated Gaussian topic model's pieces for the correctness harness.

Adapters for testing :mod:`ppltopics.models.cgtm` and :mod:`ppltopics.inference.cgtm`.  Its
latent state is (z, η, μ_η, Σ_η): unlike GLDA, the document part is not integrated out, so the
latent of :func:`ppltopics.testing.geweke_test` is a dict ``{"z", "eta", "eta_mean",
"eta_cov"}`` (the Pyro story's site names) and the successive chain carries all four between
calls (:class:`CGTMConditional`).  The data conditional v | z is GLDA's
(:func:`ppltopics.models.checks.glda.glda_vector_conditional` with the topic prior): v depends
on (η, μ_η, Σ_η) only through z.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ppltopics.inference.base import GibbsKernel, State
from ppltopics.models.checks.glda import glda_test_functions, glda_vector_conditional
from ppltopics.testing.helpers import stack_latents
from ppltopics.testing.marginals import niw_log_marginal_groups

__all__ = ["CGTM_LATENT_SITES", "CGTMConditional", "cgtm_vector_conditional",
           "cgtm_log_joint_batch", "cgtm_test_functions"]

CGTM_LATENT_SITES = ("z", "eta", "eta_mean", "eta_cov")


class CGTMConditional:
    """``latent_step`` for :func:`geweke_test` over CGTM's latent ``(z, η, μ_η, Σ_η)``.

    ``latent`` is a dict with keys :data:`CGTM_LATENT_SITES` (as
    ``pyro_forward_sampler(cgtm.model, ..., latent=CGTM_LATENT_SITES, data="v")`` returns
    it).  Each call installs the vectors (``kernel.set_data(v)``), writes z into the kernel
    state and rebuilds the counts (``resync``), writes η, μ_η and Σ_η into the state keys
    ``eta``, ``eta_mu``, ``eta_cov``, runs ``sweeps`` kernel sweeps and returns the new
    latent dict (copies).  :class:`CorpusConditional` would carry z only: η, μ_η, Σ_η would
    live on in the kernel state between calls — still a valid chain on the joint, since v
    depends on them only through z, but the chain would not start from the forward draw's
    η (so not in its stationary law) and test functions could not see η.
    """

    def __init__(self, kernel: GibbsKernel, sweeps: int = 1) -> None:
        self.kernel = kernel
        self.sweeps = int(sweeps)
        self._state: State | None = None

    def __call__(self, latent: Mapping[str, np.ndarray], v: np.ndarray,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        k = self.kernel
        k.set_data(v)
        if self._state is None:
            self._state = k.init_state(rng)
        state = self._state
        state["z"][...] = latent["z"]
        k.resync(state)
        state["eta"] = np.array(latent["eta"], dtype=np.float64)
        state["eta_mu"] = np.array(latent["eta_mean"], dtype=np.float64)
        state["eta_cov"] = np.array(latent["eta_cov"], dtype=np.float64)
        for _ in range(self.sweeps):
            k.step(state, rng, warmup=False)
        return {"z": state["z"].copy(), "eta": state["eta"].copy(),
                "eta_mean": np.array(state["eta_mu"]), "eta_cov": np.array(state["eta_cov"])}


def cgtm_vector_conditional(
    hyper: Any,
) -> Callable[[Mapping[str, np.ndarray], np.random.Generator], np.ndarray]:
    """Exact draw ``v ~ p(v | z)`` under the CGTM story from a CGTM latent dict: GLDA's
    (:func:`glda_vector_conditional` with ``hyper.topic_hyper``, fresh topics from their NIW
    prior), since v depends on (η, μ_η, Σ_η) only through z.  ``hyper`` is a
    :class:`ppltopics.models.cgtm.ResolvedCGTMHyper`."""
    step = glda_vector_conditional(hyper.topic_hyper)

    def data_step(latent: Mapping[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        return step(latent["z"], rng)

    return data_step


def cgtm_log_joint_batch(
    z: np.ndarray, v: np.ndarray, eta: np.ndarray, doc_offsets: np.ndarray, hyper: Any
) -> np.ndarray:
    """Collapsed log p(v, z, η) of each draw (``z`` (S, N), ``v`` (S, N, M), ``eta``
    (S, D, K)): vectorised :func:`ppltopics.models.cgtm.log_joint` (plain numpy)::

        Σ_k log p(v_{z=k})  +  Σ_d Σ_n log softmax(η_d)[z_dn]  +  log p(η_1..η_D)

    with every (μ_k, Σ_k) and (μ_η, Σ_η) integrated out.  ``hyper`` is a
    :class:`ppltopics.models.cgtm.ResolvedCGTMHyper`."""
    z = np.atleast_2d(np.asarray(z, dtype=np.int64))
    v = np.asarray(v, dtype=np.float64)
    eta = np.asarray(eta, dtype=np.float64)
    if v.ndim == 2:
        v = v[None]
    if eta.ndim == 2:
        eta = eta[None]
    k = int(hyper.num_topics)
    loglik = niw_log_marginal_groups(
        v, z, k, np.asarray(hyper.mu0, dtype=np.float64), float(hyper.kappa0),
        float(hyper.nu0), np.asarray(hyper.psi0, dtype=np.float64))
    lengths = np.diff(np.asarray(doc_offsets, dtype=np.int64))
    docs = np.repeat(np.arange(lengths.size), lengths)
    log_theta = eta - np.logaddexp.reduce(eta, axis=2, keepdims=True)  # (S, D, K)
    row = np.arange(z.shape[0])[:, None]
    log_pz = log_theta[row, docs[None, :], z].sum(axis=1)
    log_eta = niw_log_marginal_groups(
        eta, np.zeros(eta.shape[:2], dtype=np.int64), 1,
        np.asarray(hyper.eta_mu0, dtype=np.float64), float(hyper.eta_kappa0),
        float(hyper.eta_nu0), np.asarray(hyper.eta_psi0, dtype=np.float64))
    return loglik + log_pz + log_eta


def cgtm_test_functions(
    doc_offsets: np.ndarray, hyper: Any
) -> dict[str, Callable[[Any, np.ndarray], np.ndarray]]:
    """Label-invariant test functions g(latents, v) of CGTM for :func:`geweke_test`.

    ``latents``: CGTM latent dicts (a list, or stacked, :func:`stack_latents`); ``v``
    (S, N, M).  Label invariance needs an exchangeable η prior (``eta_mu0`` constant,
    ``eta_psi0`` invariant under permutations, e.g. s·I).

    - GLDA's z/v functions (:func:`glda_test_functions` without its Dirichlet log joint):
      ``topics_used``, ``largest_topic``, ``doc_pairs_same_topic``, ``same_topic_rel_dist``,
      ``same_topic_cos``, ``log_mean_offset``;
    - ``eta_spread``: mean over documents of max_k η_dk − min_k η_dk (|η_d1 − η_d2| for K = 2:
      the part of η the likelihood sees; the η step's variance);
    - ``eta_level``: mean of all η_dk (the common mode, informed by the prior alone);
    - ``log_eta_var``: log of the across-document variance of η_·k, averaged over k;
    - ``assigned_log_weight``: mean over tokens of log softmax(η_d)[z_n] (couples z and η: a
      z-step that ignores η moves it);
    - ``eta_mean_level``, ``eta_mean_spread``: mean and max − min of μ_η;
    - ``log_det_eta_cov``: log det Σ_η;  ``eta_cov_corr``: mean off-diagonal correlation of
      Σ_η (K ≥ 2);
    - ``log_joint``: collapsed log p(v, z, η) (:func:`cgtm_log_joint_batch`).

    Polynomials of η have finite variance only if Σ_η has enough moments: E[η⁴] needs
    E[Σ_η²] < ∞, i.e. ``eta_nu0 > K + 3``; take ``eta_nu0 ≥ K + 4`` in a Geweke test
    (``log_eta_var`` is a logarithm, the others are linear or bounded in η).
    """
    offsets = np.asarray(doc_offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    docs = np.repeat(np.arange(lengths.size), lengths)
    k = int(hyper.num_topics)
    glda_fns = glda_test_functions(offsets, hyper.topic_hyper)
    glda_fns.pop("log_joint")
    off_diag = ~np.eye(k, dtype=bool)

    def wrap(f: Callable[[np.ndarray, np.ndarray], np.ndarray]):
        return lambda lat, v: f(stack_latents(lat)["z"], np.asarray(v))

    def eta_fn(f: Callable[[dict[str, np.ndarray]], np.ndarray]):
        return lambda lat, v: f(stack_latents(lat))

    def spread(x: np.ndarray) -> np.ndarray:
        return x.max(axis=-1) - x.min(axis=-1)

    def assigned(s: dict[str, np.ndarray]) -> np.ndarray:
        eta, z = s["eta"], s["z"].astype(np.int64)
        log_theta = eta - np.logaddexp.reduce(eta, axis=2, keepdims=True)
        row = np.arange(z.shape[0])[:, None]
        return log_theta[row, docs[None, :], z].mean(axis=1)

    def cov_corr(s: dict[str, np.ndarray]) -> np.ndarray:
        c = s["eta_cov"]
        sd = np.sqrt(np.diagonal(c, axis1=1, axis2=2))
        r = c / (sd[:, :, None] * sd[:, None, :])
        return r[:, off_diag].mean(axis=1) if k > 1 else np.zeros(c.shape[0])

    out: dict[str, Callable[[Any, np.ndarray], np.ndarray]] = {
        name: wrap(f) for name, f in glda_fns.items()}
    out.update({
        "eta_spread": eta_fn(lambda s: spread(s["eta"]).mean(axis=1)),
        "eta_level": eta_fn(lambda s: s["eta"].mean(axis=(1, 2))),
        "log_eta_var": eta_fn(lambda s: np.log(s["eta"].var(axis=1, ddof=1).mean(axis=1))),
        "assigned_log_weight": eta_fn(assigned),
        "eta_mean_level": eta_fn(lambda s: s["eta_mean"].mean(axis=1)),
        "eta_mean_spread": eta_fn(lambda s: spread(s["eta_mean"])),
        "log_det_eta_cov": eta_fn(lambda s: np.linalg.slogdet(s["eta_cov"])[1]),
        "eta_cov_corr": eta_fn(cov_corr),
        "log_joint": lambda lat, v: (lambda s: cgtm_log_joint_batch(
            s["z"], v, s["eta"], offsets, hyper))(stack_latents(lat)),
    })
    return out
