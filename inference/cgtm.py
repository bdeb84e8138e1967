"""Gibbs sampling for the correlated Gaussian topic model (Xun, Li, Gao & Zhang, IJCAI 2017).

Documents have logistic-normal topic proportions θ_d = softmax(η_d), η_d ~ N(μ, Σ) with
(μ, Σ) ~ NIW, and topics are NIW Gaussians over word vectors, integrated out as in GLDA.
One sweep updates, in turn (Chen, Zhu, Wang, Zheng & Zhang, NIPS 2013, for the η step):

1. z_dn ∝ e^{η_dk} · t(x_n | topic k without token n)          (GLDA's exact sweep)
2. for each topic k, all documents at once (they are independent given μ, Σ, z):
   ζ_dk = log Σ_{j≠k} e^{η_dj},   ψ_dk = η_dk − ζ_dk,
   λ_dk ~ PG(N_d, ψ_dk)                                       (Pólya-Gamma augmentation)
   η_dk | rest ~ N(τ² (κ_dk + λ_dk ζ_dk + m_dk/σ²_k), τ²),   τ² = 1/(λ_dk + 1/σ²_k),
   with κ_dk = n_dk − N_d/2 and (m_dk, σ²_k) the conditional of N(μ, Σ) for η_dk given
   η_d,−k: σ²_k = 1/Λ_kk, m_dk = μ_k − Σ_{j≠k} Λ_kj (η_dj − μ_j)/Λ_kk, Λ = Σ⁻¹.  The draw
   uses the standard deviation τ, not τ² (a defect of the public CGTM code).
   (with ``split_merge`` on: split–merge moves of (z, η) jointly, (μ, Σ) integrated out,
   :func:`ppltopics.inference._split_merge_eta._eta_move`)
3. (μ, Σ) ~ NIW posterior given η_1..η_D.

With ``anneal`` = A, the first A warm-up sweeps draw z as GLDA's annealed warm-up does
instead of step 1: θ_d integrated out under a Dirichlet(1/K) (weights n_dk + 1/K), the
vector density tempered (:meth:`GLDAKernel.weight`), GLDA's split–merge moves
(``CGTMKernel.ANNEAL_MOVE_ROUNDS`` times as many as configured); steps 2–3 follow each, so
that the exact sweeps start with η fitted to the z found.  Measured from uniform topics on
90 planted corpora (benchmarks/README, "bench_split_merge.py"): every planted topic found
in 57 runs plain, 86 so; annealing CGTM's own z | η sweeps instead did not help (18 of 30
against 21).

Pólya-Gamma draws come from the ``polyagamma`` package: Devroye's exact sampler for
b = N_d ≤ ``pg_exact_max`` (its cost grows with b) and the package's default (hybrid,
~0.1-0.4 % biased for small b > 1) above; ``pg_exact_max=None`` forces exact.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from scipy.special import logsumexp, softmax

from ppltopics.corpus import Corpus
from ppltopics.inference._linalg import NIWStats
from ppltopics.inference._sampling import categorical
from ppltopics.inference._word_view import WordView
from ppltopics.inference.base import State
from ppltopics.inference.glda import _NO_WEIGHTS, GLDAKernel, _stats, exact_sweep

__all__ = ["CGTMKernel", "fit_model", "fold_in_eta", "identified_corr", "sample_eta",
           "sample_niw_posterior"]


def identified_corr(cov: np.ndarray) -> np.ndarray:
    """Topic correlation of the part of η that the data identify.

    softmax(η) is unchanged by adding a constant to every η_dk, so only the centred
    η − mean_k(η) reaches the likelihood; its covariance is H Σ H with H = I − 11ᵀ/K.  The
    raw Σ's common-mode direction is informed by the prior alone, so its correlations mix the
    prior in.  Returns corr(H Σ H).
    """
    K = cov.shape[0]
    h = np.eye(K) - 1.0 / K
    c = h @ cov @ h
    c = 0.5 * (c + c.T)  # exactly symmetric (the products round differently across the diagonal)
    sd = np.sqrt(np.clip(np.diag(c), 1e-300, None))
    return c / np.outer(sd, sd)


def sample_pg(b: np.ndarray, c: np.ndarray, rng: np.random.Generator,
              exact_max: int | None) -> np.ndarray:
    """PG(b, c) draws (vectorised); exact (Devroye) where b <= exact_max or exact_max is None.

    PG(0, c) is the point mass at 0 (an empty document: η_dk then follows its prior
    conditional)."""
    from polyagamma import random_polyagamma

    b = np.asarray(b, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    out = np.zeros(c.shape)
    exact = np.ones(c.shape, bool) if exact_max is None else b <= exact_max
    exact &= b > 0
    if exact.any():
        out[exact] = random_polyagamma(b[exact], c[exact], method="devroye", random_state=rng)
    approx = ~exact & (b > 0)
    if approx.any():
        out[approx] = random_polyagamma(b[approx], c[approx], random_state=rng)
    return out


def sample_eta(
    eta: np.ndarray, ndk: np.ndarray, lengths: np.ndarray, mu: np.ndarray, cov: np.ndarray,
    rng: np.random.Generator, pg_exact_max: int | None = 64,
) -> None:
    """One Gibbs pass over η (D, K) in place: PG augmentation, topic by topic (module doc)."""
    num_topics = eta.shape[1]
    prec = np.linalg.inv(cov)
    kappa = ndk - 0.5 * lengths[:, None]
    for k in range(num_topics):
        others = np.arange(num_topics) != k
        zeta = logsumexp(eta[:, others], axis=1)
        lam = sample_pg(lengths, eta[:, k] - zeta, rng, pg_exact_max)
        var_k = 1.0 / prec[k, k]
        m = mu[k] - (eta[:, others] - mu[others]) @ prec[k, others] * var_k
        tau2 = 1.0 / (lam + 1.0 / var_k)
        mean = tau2 * (kappa[:, k] + lam * zeta + m / var_k)
        eta[:, k] = mean + np.sqrt(tau2) * rng.standard_normal(eta.shape[0])


def sample_niw_posterior(
    x: np.ndarray, mu0: np.ndarray, kappa0: float, nu0: float, psi0: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(μ, Σ) ~ NIW posterior given the rows of x (Murphy 2007):
    κ_n = κ0+n, ν_n = ν0+n, μ_n = (κ0μ0 + n x̄)/κ_n,
    Ψ_n = Ψ0 + S + κ0 n/κ_n (x̄−μ0)(x̄−μ0)ᵀ;  Σ ~ IW(Ψ_n, ν_n),  μ ~ N(μ_n, Σ/κ_n)."""
    from scipy.stats import invwishart

    n = x.shape[0]
    xbar = x.mean(axis=0)
    centred = x - xbar
    kappa_n = kappa0 + n
    mu_n = (kappa0 * mu0 + n * xbar) / kappa_n
    d = (xbar - mu0)[:, None]
    psi_n = psi0 + centred.T @ centred + (kappa0 * n / kappa_n) * (d @ d.T)
    psi_n = 0.5 * (psi_n + psi_n.T)
    cov = np.atleast_2d(invwishart.rvs(df=nu0 + n, scale=psi_n, random_state=rng))
    mu = rng.multivariate_normal(mu_n, cov / kappa_n, method="cholesky")
    return mu, cov


class CGTMKernel(GLDAKernel):
    """Gibbs sampler of the correlated Gaussian topic model (module doc for the steps).

    Topic parameters as :class:`GLDAKernel` (``mu0, kappa0, nu0, psi0`` over word vectors);
    ``eta_mu0, eta_kappa0, eta_nu0, eta_psi0``: the NIW prior of (μ, Σ) over the K-dim η;
    ``beta``, ``vector_weight``: the word view, as :class:`GLDAKernel`; ``anneal``: the
    first ``anneal`` warm-up sweeps are GLDA's annealed ones (module doc).
    """

    model_name = "cgtm"
    #: the annealed warm-up sweeps make this many times the configured moves (measured:
    #: 86/90 planted corpora recovered from uniform topics with 2, 79/90 with 1)
    ANNEAL_MOVE_ROUNDS = 2
    serial_start = 5  # measured with 5 (GLDA: 2), see GLDAKernel.parallel_now
    pyro_params = ("z", "eta")
    record_dims = {**GLDAKernel.record_dims, "topic_corr": ["topic", "topic_b"],
                   "eta_mean": ["topic"]}
    estimate_dims = {**GLDAKernel.estimate_dims, "topic_corr": ["topic", "topic_b"],
                     "eta_mu": ["topic"], "eta_cov": ["topic", "topic_b"]}

    def __init__(
        self, corpus: Corpus, table: np.ndarray, num_topics: int, mu0: np.ndarray,
        kappa0: float, nu0: float, psi0: np.ndarray, eta_mu0: np.ndarray,
        eta_kappa0: float, eta_nu0: float, eta_psi0: np.ndarray,
        pg_exact_max: int | None = 64, split_merge: Any = False, init: Any = "random",
        beta: float | None = None, vector_weight: float = 1.0, workers: int = 1,
        anneal: int = 0,
    ) -> None:
        super().__init__(corpus, table, num_topics, 1.0, mu0, kappa0, nu0, psi0,
                         method="exact", split_merge=split_merge, init=init, beta=beta,
                         vector_weight=vector_weight, workers=workers, anneal=anneal)
        from ppltopics.inference._linalg import make_prior

        self.eta_prior = make_prior(eta_mu0, eta_kappa0, eta_nu0, eta_psi0)
        if self.eta_prior.mu0.shape[0] != self.num_topics:
            raise ValueError(f"eta_mu0 must have num_topics={self.num_topics} entries")
        self.pg_exact_max = pg_exact_max
        self._dirichlet_alpha = np.full(self.num_topics, 1.0 / self.num_topics)

    def config(self) -> dict[str, Any]:
        e = self.eta_prior
        cfg = {**super().config(), "model": self.model_name, "eta_mu0": e.mu0.tolist(),
               "eta_kappa0": e.kappa0, "eta_nu0": e.nu0, "eta_psi0": e.psi0.tolist(),
               "pg_exact_max": self.pg_exact_max}
        for key in ("alpha", "method", "mh_steps", "refresh_every"):
            cfg.pop(key)
        return cfg

    def _init_alpha(self) -> np.ndarray:
        """α = 1/K for the LDA that ``init="lda"`` runs and for the annealed warm-up (CGTM's
        θ has a logistic-normal prior, no Dirichlet α)."""
        return self._dirichlet_alpha

    def init_state(self, rng: np.random.Generator) -> State:
        state = super().init_state(rng)
        K = self.num_topics
        state["eta"] = np.zeros((self.corpus.num_docs, K))
        state["eta_mu"] = self.eta_prior.mu0.copy()
        state["eta_cov"] = self.eta_prior.psi0 / max(self.eta_prior.nu0 - K - 1, 1.0)
        return state

    def step(self, state: State, rng: np.random.Generator, warmup: bool) -> None:
        """z | η (GLDA's exact sweep with e^η as the document weights; with ``workers`` > 1
        GLDA's document blocks against copies of the topic statistics, merged after the
        sweep, once the first ``serial_start`` sweeps are done), then η | z by Pólya-Gamma,
        the joint moves and (μ_η, Σ_η) | η.  In the first ``anneal`` warm-up sweeps z is
        drawn with the Dirichlet weights n_dk + 1/K and GLDA's moves instead (module doc)."""
        c = self.corpus
        dirichlet = warmup and int(state["sweeps"][0]) < self.anneal
        alpha, doc_logw = ((self._dirichlet_alpha, _NO_WEIGHTS) if dirichlet
                           else (self.alpha, state["eta"]))
        if not self.parallel_now(state):
            state["refactored"][0] += exact_sweep(
                c.word_ids, c.doc_offsets, self.table, state["z"], state["ndk"], alpha,
                _stats(state), self.prior, rng, doc_logw, 0, c.num_docs,
                self.view(state, warmup))
        else:
            def block(doc_lo: int, doc_hi: int, stats: NIWStats, view: WordView,
                      block_rng: np.random.Generator) -> tuple[int, int]:
                return exact_sweep(c.word_ids, c.doc_offsets, self.table, state["z"],
                                   state["ndk"], alpha, stats, self.prior, block_rng,
                                   doc_logw, doc_lo, doc_hi, view), 0

            state["refactored"][0] += sum(
                a for a, _ in self._parallel_sweep(state, rng, block, warmup))
        if dirichlet:  # GLDA's moves of z alone, before η is drawn from the z they leave
            self.split_merge_moves(state, rng, warmup=True, alpha=alpha,
                                   rounds=self.ANNEAL_MOVE_ROUNDS)
        sample_eta(state["eta"], state["ndk"], c.doc_lengths.astype(np.float64),
                   state["eta_mu"], state["eta_cov"], rng, self.pg_exact_max)
        # (z, η) jointly, (μ_η, Σ_η) integrated out: exact with the draw of (μ_η, Σ_η) | η next
        if not dirichlet:
            self.split_merge_moves(state, rng, state["eta"], self.eta_prior, warmup)
        e = self.eta_prior
        state["eta_mu"], state["eta_cov"] = sample_niw_posterior(
            state["eta"], e.mu0, e.kappa0, e.nu0, e.psi0, rng)
        state["sweeps"][0] += 1
        if state["sweeps"][0] % 50 == 0:
            from ppltopics.inference._linalg import niw_refactor

            stats = _stats(state)
            for k in range(self.num_topics):
                niw_refactor(k, stats, self.prior)

    # -------------------------------------------------------------- read-outs
    def _logprior(self, state: State) -> float:
        """log p(z | η) + log N(η | μ, Σ) + log NIW(μ, Σ)."""
        from scipy.stats import invwishart, multivariate_normal

        eta, mu, cov = state["eta"], state["eta_mu"], state["eta_cov"]
        log_theta = eta - logsumexp(eta, axis=1, keepdims=True)
        lp = float((state["ndk"] * log_theta).sum())
        lp += float(multivariate_normal.logpdf(eta, mu, cov).sum())
        e = self.eta_prior
        lp += float(invwishart.logpdf(cov, df=e.nu0, scale=e.psi0))
        lp += float(multivariate_normal.logpdf(mu, e.mu0, cov / e.kappa0))
        return lp

    def doc_theta(self, state: State) -> np.ndarray:
        return softmax(state["eta"], axis=1)

    def record(self, state: State) -> dict[str, Any]:
        """GLDA's records with ``lp`` the log density of the sampled state (v, z, η, μ_η, Σ_η)::

            lp = log p(v | z) + log p(z | η) + log N(η | μ_η, Σ_η) + log NIW(μ_η, Σ_η)
               = ppltopics.models.cgtm.log_joint(v, z, η) + log NIW(μ_η, Σ_η | η),

        i.e. the story's log joint (which integrates (μ_η, Σ_η) out) plus the conjugate NIW
        posterior density of the sampled (μ_η, Σ_η) given η.  Also ``topic_corr`` and
        ``eta_mean``."""
        out = super().record(state)
        keep = self._keep(state)
        out["topic_corr"] = identified_corr(state["eta_cov"])[np.ix_(keep, keep)]
        out["eta_mean"] = state["eta_mu"][keep].copy()
        return out

    def _keep(self, state: State) -> np.ndarray:
        """Internal labels of the reported topics (:meth:`label_order`; identity without)."""
        order = self.label_order(state)
        return np.arange(self.num_topics) if order is None else order

    def accumulate(self, state: State, acc: dict[str, np.ndarray]) -> None:
        super().accumulate(state, acc)
        if "topic_corr" not in acc:
            acc["topic_corr"] = np.zeros((self.num_topics, self.num_topics))
            acc["eta_cov"] = np.zeros((self.num_topics, self.num_topics))
            acc["eta_mu"] = np.zeros(self.num_topics)
        keep = self._keep(state)
        cov = state["eta_cov"][np.ix_(keep, keep)]
        acc["topic_corr"] += identified_corr(cov)
        acc["eta_cov"] += cov
        acc["eta_mu"] += state["eta_mu"][keep]

    def finalize(self, acc: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = super().finalize(acc)
        n = acc["count"][0]
        out["topic_corr"] = acc["topic_corr"] / n
        out["eta_cov"] = acc["eta_cov"] / n
        out["eta_mu"] = acc["eta_mu"] / n
        return out


def fit_model(
    corpus: Corpus, vectors: Any = None, num_topics: int = 20, spec: Any = None,
    **hyper: Any,
) -> Any:
    """``pt.fit("cgtm", corpus, vectors=...)``: run the chains, build a CGTMPosterior.

    ``init``: ``"random"``, ``"kmeans"``, ``"lda"`` or an integer array of assignments
    (:mod:`ppltopics.inference._init`; ``None``, the default: ``"kmeans"``, or ``"random"``
    with the word view); ``workers``: threads per chain for the z-sweep
    (GLDA's document blocks; η stays one exact pass); ``split_merge`` on by default, as
    GLDA's (the joint (z, η) move: 29/30 planted recoveries against 4/30 at ~9 % of sweep
    time, held-out NPMI on BBC/20NG within the seeds' spread; ``benchmarks/bench_split_merge.py``,
    ``quality_<corpus>_cgtm_moves.json``), ``False`` turns it off; ``pg_exact_max``,
    ``beta``, ``vector_weight``, ``anneal`` as :class:`CGTMKernel`; the rest are
    :class:`ppltopics.models.cgtm.CGTMHyper`'s.
    """
    from ppltopics.inference._init import gaussian_fit_init
    from ppltopics.models.cgtm import CGTMHyper
    from ppltopics.posteriors import CGTMPosterior

    if vectors is None or not hasattr(vectors, "matrix"):
        raise TypeError("CGTM needs word vectors as a ppltopics.WordVectors")
    pg_exact_max = hyper.pop("pg_exact_max", 64)
    split_merge = hyper.pop("split_merge", True)
    init = hyper.pop("init", None)
    workers = hyper.pop("workers", 1)
    view = {k: hyper.pop(k) for k in ("beta", "vector_weight", "anneal") if k in hyper}
    init = gaussian_fit_init(init, view.get("beta") is not None)
    table = vectors.matrix(corpus.vocab)
    r = CGTMHyper(num_topics=num_topics, **hyper).resolve(table, counts=corpus.word_counts())
    kernel = CGTMKernel(corpus, table, num_topics, r.mu0, r.kappa0, r.nu0, r.psi0,
                        r.eta_mu0, r.eta_kappa0, r.eta_nu0, r.eta_psi0,
                        pg_exact_max=pg_exact_max, split_merge=split_merge, init=init,
                        workers=workers, **view)
    post = CGTMPosterior.from_kernel(kernel, spec)
    post.estimates["word_vectors"] = table
    return post


@numba.njit(cache=True, nogil=True)
def _z_step_fixed_topics(
    word_ids: np.ndarray, doc_offsets: np.ndarray, word_topic: np.ndarray, eta: np.ndarray,
    z: np.ndarray, ndk: np.ndarray, rng: np.random.Generator,
) -> None:
    """z_dn ∝ e^{η_dk} p(x_n | k) with the topics fixed (fold-in of new documents)."""
    num_topics = eta.shape[1]
    p = np.empty(num_topics)
    for d in range(doc_offsets.shape[0] - 1):
        m = eta[d].max()
        for n in range(doc_offsets[d], doc_offsets[d + 1]):
            w = word_ids[n]
            for k in range(num_topics):
                p[k] = math.exp(eta[d, k] - m) * word_topic[w, k]
            ndk[d, z[n]] -= 1
            z[n] = categorical(rng, p, num_topics)
            ndk[d, z[n]] += 1


def fold_in_eta(
    word_ids: np.ndarray, doc_offsets: np.ndarray, word_topic: np.ndarray, mu: np.ndarray,
    cov: np.ndarray, num_sweeps: int, burn_in: int, rng: np.random.Generator,
    pg_exact_max: int | None = 64,
) -> np.ndarray:
    """E[softmax(η_d)] for new documents by Gibbs over (z, η) with topics and (μ, Σ) fixed."""
    num_docs = doc_offsets.shape[0] - 1
    lengths = np.diff(doc_offsets).astype(np.float64)
    eta = np.tile(mu, (num_docs, 1))
    z = rng.integers(0, mu.shape[0], size=word_ids.shape[0])
    ndk = np.zeros((num_docs, mu.shape[0]), dtype=np.int64)
    np.add.at(ndk, (np.repeat(np.arange(num_docs), np.diff(doc_offsets)), z), 1)
    out = np.zeros_like(eta)
    for sweep in range(num_sweeps):
        _z_step_fixed_topics(word_ids, doc_offsets, word_topic, eta, z, ndk, rng)
        sample_eta(eta, ndk, lengths, mu, cov, rng, pg_exact_max)
        if sweep >= burn_in:
            out += softmax(eta, axis=1)
    return out / (num_sweeps - burn_in)
