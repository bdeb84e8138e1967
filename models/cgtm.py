"""Correlated Gaussian topic model (Xun, Li, Zhao, Gao & Zhang, IJCAI 2017) as a Pyro story.

GLDA's Gaussian topics over word vectors (:mod:`ppltopics.models.glda`) with the
logistic-normal document proportions of the correlated topic model (Blei & Lafferty 2006),
so that topics can co-occur (or avoid each other) across documents.  For ``K`` topics, ``D``
documents of lengths ``N_d`` and ``M``-dimensional vectors::

    (μ_k, Σ_k) ~ NIW(μ0, κ0, Ψ0, ν0)                     k = 1..K   (over R^M, as GLDA)
    (μ_η, Σ_η) ~ NIW(m0, λ0, Φ0, ρ0)                                (over R^K)
    η_d        ~ N(μ_η, Σ_η)                            d = 1..D
    θ_d        = softmax(η_d)
    z_dn       ~ Categorical(θ_d)                       n = 1..N_d
    v_dn       ~ N(μ_{z_dn}, Σ_{z_dn})                  (the token's word vector, observed)

(m0, λ0, Φ0, ρ0) are ``eta_mu0, eta_kappa0, eta_psi0, eta_nu0``.  Tokens are flattened into
one plate of ``N = Σ_d N_d`` tokens as in :mod:`ppltopics.models.lda`.  Chen, Zhu, Wang,
Zheng & Zhang (NIPS 2013) give the Gibbs step for η: with ζ_dk = log Σ_{j≠k} e^{η_dj},
λ_dk ~ PG(N_d, η_dk − ζ_dk) makes η_dk | rest Gaussian (Polson, Scott & Windle 2013; the
sampler is :class:`ppltopics.distributions.PolyaGamma`).

Integrating out every (μ_k, Σ_k) and (μ_η, Σ_η) by NIW conjugacy — θ is a function of η,
so η stays — gives the joint the kernel's log-joint trace is checked against
(:func:`log_joint`)::

    log p(v, z, η) = Σ_k log p(v_{z=k})                     NIW marginal in M dimensions
                   + Σ_d Σ_n log softmax(η_d)[z_dn]
                   + log p(η_1..η_D)                          NIW marginal in K dimensions

with the NIW marginal of :func:`ppltopics.models.glda.log_marginal_niw` (one float64
implementation of Murphy's 2007 algebra).

Hyperparameters (:class:`CGTMHyper`)::

    value        ours (default)                       note
    κ0, ν0, μ0, Ψ0   as GLDA: 0.1, M + 2, mean token   data-driven, GLDAHyper.resolve
                     vector, (ν0 − M − 1)·Cov
    eta_mu0  m0  0 (K-vector)                         topics exchangeable a priori
    eta_kappa0   1.0                                  μ_η | Σ_η ~ N(m0, Σ_η): μ_η as spread
                                                      as one η_d, so η_dk has prior
                                                      variance 2 E[Σ_η,kk] = 2
    eta_psi0 Φ0  I_K                                  with ρ0 = K + 2: E[Σ_η] = I_K
    eta_nu0  ρ0  K + 2                                the smallest integer offset with a
                                                      finite E[Σ_η]

The η prior is ours (weakly informative, E[Σ_η] = I, correlations 0 on average); the GhLDA
authors ran CGTM with GLDA's topic prior (Ψ0 = 50·I for GloVe, κ0 = 0.1,
:meth:`CGTMHyper.reference`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from scipy.special import log_softmax

from ppltopics._validation import as_float_array, check_spd, finite_float, positive_float
from ppltopics.corpus import Corpus
from ppltopics.distributions import NormalInverseWishart
from ppltopics.models import glda
from ppltopics.models._story import offsets_from_lengths, simulate_doc_lengths, synthetic_vocab
from ppltopics.models.gaussian_prior import check_token_vectors
from ppltopics.models.glda import (
    GLDAHyper,
    ResolvedGLDAHyper,
)
from ppltopics.vectors import WordVectors

__all__ = [
    "CGTMHyper",
    "ResolvedCGTMHyper",
    "NIWParams",
    "CGTMSample",
    "SimulatedCGTMCorpus",
    "model",
    "simulate",
    "log_joint",
    "log_likelihood_collapsed",
    "log_prior_z",
    "log_marginal_eta",
]

_DTYPE = torch.float64

#: Tolerance of the unit diagonal and the symmetry of a planted ``topic_corr``.
_CORR_TOL = 1e-8


# ---------------------------------------------------------------------- validation helpers
def _check_eta_nu0(value: Any, num_topics: int) -> float:
    nu = finite_float("eta_nu0", value)
    if not nu > num_topics - 1:
        raise ValueError(
            f"eta_nu0 must be > K - 1 = {num_topics - 1} (K = {num_topics} topics), got {nu}"
        )
    return nu


def _eta_mu0_array(value: Any, num_topics: int) -> np.ndarray:
    if np.ndim(value) == 0:
        return np.full(num_topics, finite_float("eta_mu0", value))
    mu = as_float_array("eta_mu0", value, 1)
    if mu.size != num_topics:
        raise ValueError(
            f"eta_mu0 has {mu.size} entries but num_topics is {num_topics}: give one per "
            "topic or a single float"
        )
    return mu


def _eta_psi0_array(value: Any, num_topics: int) -> np.ndarray:
    if np.ndim(value) == 0:
        s = finite_float("eta_psi0", value)
        if s <= 0:
            raise ValueError(
                f"eta_psi0 must be symmetric positive definite: the scalar s of s·I must be "
                f"> 0, got {s}"
            )
        return s * np.eye(num_topics)
    psi = check_spd("eta_psi0", as_float_array("eta_psi0", value, 2))
    if psi.shape != (num_topics, num_topics):
        raise ValueError(
            f"eta_psi0 must be K×K with K = num_topics = {num_topics}, got shape {psi.shape}"
        )
    return psi


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, order="C")
    a.flags.writeable = False
    return a


# ---------------------------------------------------------------------- hyperparameters
@dataclass(frozen=True)
class CGTMHyper:
    """Hyperparameters of the correlated Gaussian topic model, some possibly left to the data.

    Parameters
    ----------
    num_topics
        ``K`` (an integer ≥ 1).
    kappa0, nu0, mu0, psi0
        The NIW prior of the topics over word vectors, exactly as in
        :class:`ppltopics.models.glda.GLDAHyper` (same validation, same data-driven
        resolution: ν0 = M + 2, μ0 = mean token vector, Ψ0 = (ν0 − M − 1)·Cov when ``None``).
    eta_mu0
        Prior mean m0 of μ_η: a float (``m0·1_K``) or ``K`` floats.  ``None`` means 0.
    eta_kappa0
        NIW pseudo-count λ0 of μ_η (> 0).  Default 1.0.
    eta_psi0
        NIW scale Φ0 over R^K: a positive float ``s`` meaning ``s·I_K``, or a K×K symmetric
        positive definite matrix.  ``None`` means ``I_K``.
    eta_nu0
        NIW degrees of freedom ρ0 (> K − 1).  ``None`` means ``K + 2`` (E[Σ_η] = Φ0).

    The η values depend only on K, so their defaults are filled in at construction
    (``CGTMHyper(3).eta_nu0 == 5.0``); the topic values wait for :meth:`resolve`.  Stored as
    floats and tuples (frozen, hashable); ``ValueError`` names a bad value.
    """

    num_topics: int
    kappa0: float = 0.1
    nu0: float | None = None
    mu0: tuple[float, ...] | None = None
    psi0: float | tuple[tuple[float, ...], ...] | None = None
    eta_mu0: float | tuple[float, ...] | None = None
    eta_kappa0: float = 1.0
    eta_psi0: float | tuple[tuple[float, ...], ...] | None = None
    eta_nu0: float | None = None

    def __post_init__(self) -> None:
        # the topic part: GLDAHyper validates and normalises (alpha is not a CGTM value)
        topic = GLDAHyper(self.num_topics, kappa0=self.kappa0, nu0=self.nu0, mu0=self.mu0,
                          psi0=self.psi0)
        K = topic.num_topics
        for name in ("num_topics", "kappa0", "nu0", "mu0", "psi0"):
            object.__setattr__(self, name, getattr(topic, name))
        mu = 0.0 if self.eta_mu0 is None else self.eta_mu0
        mu_arr = _eta_mu0_array(mu, K)
        object.__setattr__(self, "eta_mu0", float(mu_arr[0]) if np.ndim(mu) == 0
                           else tuple(float(v) for v in mu_arr))
        object.__setattr__(self, "eta_kappa0", positive_float("eta_kappa0", self.eta_kappa0))
        psi = 1.0 if self.eta_psi0 is None else self.eta_psi0
        psi_arr = _eta_psi0_array(psi, K)
        object.__setattr__(self, "eta_psi0", float(psi_arr[0, 0]) if np.ndim(psi) == 0
                           else tuple(tuple(float(v) for v in r) for r in psi_arr))
        nu = float(K + 2) if self.eta_nu0 is None else self.eta_nu0
        object.__setattr__(self, "eta_nu0", _check_eta_nu0(nu, K))

    # -- presets
    @classmethod
    def reference(
        cls, num_topics: int, dim: int, preset: str = "ghlda", **overrides: Any
    ) -> CGTMHyper:
        """The topic prior of :meth:`GLDAHyper.reference` (``"ghlda"``: κ0 = 0.1,
        ν0 = M + 0.1, Ψ0 = 50·I — the GhLDA authors' CGTM runs; ``"das2015"``: κ0 = 0.1,
        ν0 = M, Ψ0 = 3M·I), our η prior; ``overrides`` replace single fields."""
        g = GLDAHyper.reference(num_topics, dim, preset)
        values = {"kappa0": g.kappa0, "nu0": g.nu0, "mu0": g.mu0, "psi0": g.psi0}
        values.update(overrides)
        return cls(num_topics=num_topics, **values)

    # -- derived values
    @property
    def topic_hyper(self) -> GLDAHyper:
        """The topic part as a :class:`GLDAHyper` (its α = 1/K is not used by CGTM)."""
        return GLDAHyper(self.num_topics, kappa0=self.kappa0, nu0=self.nu0, mu0=self.mu0,
                         psi0=self.psi0)

    @property
    def dim(self) -> int | None:
        """``M`` when μ0 or a Ψ0 matrix fixes it, else None."""
        return self.topic_hyper.dim

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (tuples as lists)."""

        def plain(x: Any) -> Any:
            return [plain(v) for v in x] if isinstance(x, tuple) else x

        return {name: plain(getattr(self, name)) for name in _HYPER_FIELDS}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CGTMHyper:
        kwargs = {name: d[name] for name in _HYPER_FIELDS if name in d}
        return cls(**kwargs)

    # -- resolution against data
    def resolve(
        self, vectors: Any = None, *, counts: Any = None, dim: int | None = None
    ) -> ResolvedCGTMHyper:
        """Fix the open topic values from the data (:meth:`GLDAHyper.resolve`: same
        arguments, same rules and errors) and return a :class:`ResolvedCGTMHyper`."""
        g = self.topic_hyper.resolve(vectors, counts=counts, dim=dim)
        return ResolvedCGTMHyper(
            num_topics=self.num_topics, mu0=g.mu0, kappa0=g.kappa0, nu0=g.nu0, psi0=g.psi0,
            eta_mu0=_eta_mu0_array(self.eta_mu0, self.num_topics),
            eta_kappa0=self.eta_kappa0, eta_nu0=self.eta_nu0,
            eta_psi0=_eta_psi0_array(self.eta_psi0, self.num_topics),
            derived=g.derived, psi0_ridge=g.psi0_ridge, num_tokens=g.num_tokens,
        )

    def resolve_corpus(self, corpus: Corpus, word_vectors: WordVectors) -> ResolvedCGTMHyper:
        """:meth:`resolve` with the token vectors of ``corpus`` (via word counts)."""
        return self.resolve(word_vectors.matrix(corpus.vocab), counts=corpus.word_counts())


_HYPER_FIELDS = ("num_topics", "kappa0", "nu0", "mu0", "psi0", "eta_mu0", "eta_kappa0",
                 "eta_psi0", "eta_nu0")


class NIWParams(NamedTuple):
    """An NIW prior ``(mu0, kappa0, nu0, psi0)`` — the argument order of
    ``ppltopics.inference._linalg.make_prior``, and the attributes
    :func:`ppltopics.models.glda.log_marginal_niw` reads."""

    mu0: np.ndarray
    kappa0: float
    nu0: float
    psi0: np.ndarray


@dataclass(frozen=True, eq=False)
class ResolvedCGTMHyper:
    """Concrete CGTM hyperparameters (float64, read-only arrays), validated on construction.

    Topic prior over R^M: ``mu0`` (M,), ``kappa0``, ``nu0``, ``psi0`` (M, M) — checked by
    :class:`ResolvedGLDAHyper`, with ``derived``, ``psi0_ridge``, ``num_tokens`` as there.
    η prior over R^K: ``eta_mu0`` (K,), ``eta_kappa0``, ``eta_nu0`` (> K − 1), ``eta_psi0``
    (K, K).  ``niw_args()`` / ``eta_niw_args()`` give ``(mu0, kappa0, nu0, psi0)`` for
    ``_linalg.make_prior``; :attr:`topic_hyper` is the topic part as a
    :class:`ResolvedGLDAHyper` (α a placeholder 1/K) and :attr:`eta_prior` the η part as
    :class:`NIWParams`.
    """

    num_topics: int
    mu0: np.ndarray
    kappa0: float
    nu0: float
    psi0: np.ndarray
    eta_mu0: np.ndarray
    eta_kappa0: float
    eta_nu0: float
    eta_psi0: np.ndarray
    derived: tuple[str, ...] = ()
    psi0_ridge: float = 0.0
    num_tokens: int | None = field(default=None)

    def __post_init__(self) -> None:
        k = self.num_topics
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"num_topics must be an integer >= 1, got {k!r}")
        K = int(k)
        topic = ResolvedGLDAHyper(
            num_topics=K, alpha=1.0 / K, mu0=self.mu0, kappa0=self.kappa0, nu0=self.nu0,
            psi0=self.psi0, derived=self.derived, psi0_ridge=self.psi0_ridge,
            num_tokens=self.num_tokens,
        )
        object.__setattr__(self, "_topic", topic)
        for name in ("num_topics", "mu0", "kappa0", "nu0", "psi0", "derived", "psi0_ridge",
                     "num_tokens"):
            object.__setattr__(self, name, getattr(topic, name))
        mu = self.eta_mu0
        if np.ndim(mu) != 0:
            mu = as_float_array("eta_mu0", mu, 1)
        object.__setattr__(self, "eta_mu0", _readonly(_eta_mu0_array(mu, K)))
        psi = self.eta_psi0
        if np.ndim(psi) != 0:
            psi = as_float_array("eta_psi0", psi, 2)
        object.__setattr__(self, "eta_psi0", _readonly(_eta_psi0_array(psi, K)))
        object.__setattr__(self, "eta_kappa0", positive_float("eta_kappa0", self.eta_kappa0))
        object.__setattr__(self, "eta_nu0", _check_eta_nu0(self.eta_nu0, K))

    @property
    def dim(self) -> int:
        """``M``."""
        return int(self.mu0.size)

    @property
    def topic_hyper(self) -> ResolvedGLDAHyper:
        """The topic prior as a :class:`ResolvedGLDAHyper` (its α is a placeholder)."""
        return self._topic  # type: ignore[attr-defined]

    @property
    def eta_prior(self) -> NIWParams:
        """The NIW prior of (μ_η, Σ_η) over R^K."""
        return NIWParams(self.eta_mu0, self.eta_kappa0, self.eta_nu0, self.eta_psi0)

    @property
    def expected_cov(self) -> np.ndarray | None:
        """Prior mean of every topic covariance (None when ν0 ≤ M + 1)."""
        return self._topic.expected_cov  # type: ignore[attr-defined]

    @property
    def eta_expected_cov(self) -> np.ndarray | None:
        """Prior mean of Σ_η, ``Φ0/(ρ0 − K − 1)``; None when ρ0 ≤ K + 1."""
        den = self.eta_nu0 - self.num_topics - 1
        return self.eta_psi0 / den if den > 0 else None

    def niw_args(self) -> tuple[np.ndarray, float, float, np.ndarray]:
        """Topic prior ``(mu0, kappa0, nu0, psi0)`` (copies) for ``_linalg.make_prior``."""
        return np.array(self.mu0), self.kappa0, self.nu0, np.array(self.psi0)

    def eta_niw_args(self) -> tuple[np.ndarray, float, float, np.ndarray]:
        """η prior ``(eta_mu0, eta_kappa0, eta_nu0, eta_psi0)`` (copies), same order."""
        return np.array(self.eta_mu0), self.eta_kappa0, self.eta_nu0, np.array(self.eta_psi0)

    def validate(self, num_tokens: int | None = None, dim: int | None = None) -> ResolvedCGTMHyper:
        """Check against data: ``K ≤ num_tokens`` and ``M == dim``; return ``self``."""
        self._topic.validate(num_tokens=num_tokens, dim=dim)  # type: ignore[attr-defined]
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (arrays as lists)."""
        return {
            "num_topics": self.num_topics, "mu0": self.mu0.tolist(), "kappa0": self.kappa0,
            "nu0": self.nu0, "psi0": self.psi0.tolist(), "eta_mu0": self.eta_mu0.tolist(),
            "eta_kappa0": self.eta_kappa0, "eta_nu0": self.eta_nu0,
            "eta_psi0": self.eta_psi0.tolist(), "derived": list(self.derived),
            "psi0_ridge": self.psi0_ridge, "num_tokens": self.num_tokens,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ResolvedCGTMHyper:
        return cls(
            num_topics=int(d["num_topics"]), mu0=np.asarray(d["mu0"]), kappa0=d["kappa0"],
            nu0=d["nu0"], psi0=np.asarray(d["psi0"]), eta_mu0=np.asarray(d["eta_mu0"]),
            eta_kappa0=d["eta_kappa0"], eta_nu0=d["eta_nu0"],
            eta_psi0=np.asarray(d["eta_psi0"]), derived=tuple(d.get("derived", ())),
            psi0_ridge=d.get("psi0_ridge", 0.0), num_tokens=d.get("num_tokens"),
        )


def _resolved(hyper: CGTMHyper | ResolvedCGTMHyper, vectors: np.ndarray | None,
              dim: int | None = None) -> ResolvedCGTMHyper:
    if isinstance(hyper, ResolvedCGTMHyper):
        # only the dimension: K > N is a fit-time check (ResolvedCGTMHyper.validate)
        return hyper.validate(dim=vectors.shape[1] if vectors is not None else dim)
    if isinstance(hyper, CGTMHyper):
        return hyper.resolve(vectors, dim=dim)
    raise TypeError(f"hyper must be a CGTMHyper or ResolvedCGTMHyper, got {type(hyper).__name__}")


# ---------------------------------------------------------------------- the Pyro story
class CGTMSample(NamedTuple):
    """Values of one run of :func:`model` (float64 / int64 torch tensors)."""

    topic_mean: torch.Tensor | None  # (K, M); None under vector_weight ≠ 1
    topic_cov: torch.Tensor | None  # (K, M, M); None under vector_weight ≠ 1
    eta_mean: torch.Tensor  # (K,)
    eta_cov: torch.Tensor  # (K, K)
    eta: torch.Tensor  # (D, K)
    theta: torch.Tensor  # (D, K)
    z: torch.Tensor  # (N,)
    v: torch.Tensor  # (N, M)
    doc_index: torch.Tensor  # (N,)


def model(
    doc_lengths: Sequence[int] | np.ndarray | torch.Tensor,
    hyper: CGTMHyper | ResolvedCGTMHyper,
    data: torch.Tensor | np.ndarray | None = None,
    *,
    words: torch.Tensor | np.ndarray | None = None,
    vocab_size: int | None = None,
    beta: float | None = None,
    vector_weight: float = 1.0,
) -> CGTMSample:
    """CGTM as a plain Pyro model; simulates the token vectors when ``data`` is None.

    ::

        Σ_k ~ IW(Ψ0, ν0), μ_k ~ N(μ0, Σ_k/κ0)  in plate "topics" (K): sites "topic_cov",
                                                "topic_mean"
        Σ_η ~ IW(Φ0, ρ0), μ_η ~ N(m0, Σ_η/λ0)   sites "eta_cov" (K, K), "eta_mean" (K,)
        η_d ~ N(μ_η, Σ_η)                       in plate "docs" (D): site "eta"
        θ_d = softmax(η_d)                      deterministic site "theta"
        z_n ~ Categorical(θ_{d(n)})             in plate "tokens" (N): site "z"
        v_n ~ N(μ_{z_n}, Σ_{z_n})               site "v", observed when data is given

    ``words``, ``vocab_size``, ``beta``, ``vector_weight``: GLDA's word view
    (:func:`ppltopics.models.glda.token_sites`; :mod:`ppltopics.models.glda`, "Word view"):
    sites "phi" and "w", and under λ ≠ 1 the factor λ·log p(v | z) in place of "topic_mean",
    "topic_cov" and "v" (then ``data`` is required and those fields are None).

    ``hyper``: a :class:`ResolvedCGTMHyper`, or a :class:`CGTMHyper` resolved against
    ``data`` (or, without data, one whose μ0/Ψ0 fix the dimension).  ``data``: ``(N, M)``
    token vectors, documents concatenated.  Float64 throughout; ``z`` and ``v`` are
    :class:`RowCategorical` / :class:`RowMultivariateNormal` sites as in GLDA (``z`` may be
    enumerated with ``max_plate_nesting=1``).
    """
    glda.check_vector_weight(vector_weight, data)
    num_docs, doc_index, r, data = glda.story_inputs(doc_lengths, hyper, data, _resolved)
    eta_prior = NormalInverseWishart(
        torch.tensor(r.eta_mu0, dtype=_DTYPE), r.eta_kappa0,
        torch.tensor(r.eta_psi0, dtype=_DTYPE), r.eta_nu0,
    )
    topic_mean, topic_cov = glda.topic_sites(r, vector_weight)  # (K, M), (K, M, M)
    eta_mean, eta_cov = eta_prior.pyro_sample("eta")  # (K,), (K, K)
    with pyro.plate("docs", num_docs):
        eta = pyro.sample("eta", dist.MultivariateNormal(eta_mean, covariance_matrix=eta_cov))
        theta = torch.softmax(eta, -1)
        # pyro.deterministic, but with a float64 zero log-density: its .mask(False) returns a
        # float32 zero that breaks TraceEnum_ELBO's contraction in float64 models
        pyro.sample("theta", dist.Delta(theta, event_dim=1), obs=theta,
                    infer={"_deterministic": True})
    z, v = glda.token_sites(theta, doc_index, r, topic_mean, topic_cov, data, words=words,
                            vocab_size=vocab_size, beta=beta, vector_weight=vector_weight)
    return CGTMSample(topic_mean, topic_cov, eta_mean, eta_cov, eta, theta, z, v, doc_index)


# ---------------------------------------------------------------------- simulation
@dataclass(frozen=True, eq=False)
class SimulatedCGTMCorpus:
    """A corpus drawn from the CGTM story, with the truth that produced it.

    ``corpus`` and ``vectors`` (vocab = ``corpus.vocab``, one word type per token as in
    :func:`ppltopics.models.glda.simulate`) hold the data; the truth is ``topic_mean``
    (K, M), ``topic_cov`` (K, M, M), ``eta_mean`` (K,), ``eta_cov`` (K, K), ``eta`` (D, K),
    ``theta`` (D, K) float64 and ``z`` (N,) int32.
    """

    corpus: Corpus
    vectors: WordVectors
    topic_mean: np.ndarray
    topic_cov: np.ndarray
    eta_mean: np.ndarray
    eta_cov: np.ndarray
    eta: np.ndarray
    theta: np.ndarray
    z: np.ndarray
    hyper: ResolvedCGTMHyper
    seed: int

    @property
    def token_vectors(self) -> np.ndarray:
        """``(N, M)`` float64 vector of every token."""
        return np.asarray(self.vectors.vectors, dtype=np.float64)[self.corpus.word_ids]

    @property
    def topic_corr(self) -> np.ndarray:
        """The correlation matrix of η, from ``eta_cov``."""
        sd = np.sqrt(np.diag(self.eta_cov))
        return self.eta_cov / np.outer(sd, sd)


def _check_corr(topic_corr: Any, num_topics: int) -> np.ndarray:
    R = as_float_array("topic_corr", topic_corr, 2)
    if R.shape != (num_topics, num_topics):
        raise ValueError(
            f"topic_corr must be K×K with K = num_topics = {num_topics}, got shape {R.shape}"
        )
    if np.abs(np.diag(R) - 1.0).max() > _CORR_TOL:
        raise ValueError("topic_corr must be a correlation matrix: its diagonal must be 1")
    if np.abs(R).max() > 1.0 + _CORR_TOL:
        raise ValueError("topic_corr must be a correlation matrix: entries must lie in [-1, 1]")
    return check_spd("topic_corr", R)


def _eta_sd(eta_sd: Any, r: ResolvedCGTMHyper) -> np.ndarray:
    K = r.num_topics
    if eta_sd is None:
        cov = r.eta_expected_cov
        if cov is None:
            raise ValueError(
                f"topic_corr without eta_sd takes the standard deviations from E[Sigma_eta] = "
                f"eta_psi0/(eta_nu0 - K - 1), which needs eta_nu0 > K + 1 = {K + 1}; pass eta_sd"
            )
        return np.sqrt(np.diag(cov))
    sd = np.full(K, finite_float("eta_sd", eta_sd)) if np.ndim(eta_sd) == 0 else (
        as_float_array("eta_sd", eta_sd, 1))
    if sd.size != K or not (sd > 0).all():
        raise ValueError(f"eta_sd must be a positive float or K = {K} positive floats")
    return sd


def simulate(
    num_docs: int,
    doc_length: int | Sequence[int] | np.ndarray,
    hyper: CGTMHyper | ResolvedCGTMHyper,
    seed: int = 0,
    *,
    dim: int | None = None,
    topic_corr: Any = None,
    eta_sd: Any = None,
    poisson: bool = False,
) -> SimulatedCGTMCorpus:
    """Draw a corpus by running :func:`model` forward.

    Parameters
    ----------
    num_docs, doc_length, poisson
        As in :func:`ppltopics.models.glda.simulate` (one length, one per document, or a
        Poisson mean λ ≥ 1 of ``N_d = 1 + Poisson(λ − 1)``).
    hyper
        A :class:`ResolvedCGTMHyper` or a :class:`CGTMHyper` resolved *without data* (μ0 = 0,
        Ψ0 = (ν0 − M − 1)·I unless given; ``M`` from ``dim``).
    topic_corr
        Optional K×K correlation matrix (symmetric positive definite, unit diagonal) to plant
        instead of drawing (μ_η, Σ_η) from their prior: then ``eta_mean = eta_mu0`` and
        ``eta_cov = S·topic_corr·S`` with ``S = diag(eta_sd)``.
    eta_sd
        Standard deviations of η with ``topic_corr`` (a float or K floats); default the
        square roots of the diagonal of ``E[Σ_η] = Φ0/(ρ0 − K − 1)`` (1 with the defaults).
    seed
        Same seed ⇒ identical corpus and truth; torch's global RNG is forked and restored.
    """
    r = _resolved(hyper, None, dim=dim)
    fixed: dict[str, torch.Tensor] = {}
    if topic_corr is not None:
        R = _check_corr(topic_corr, r.num_topics)
        sd = _eta_sd(eta_sd, r)
        cov = sd[:, None] * R * sd[None, :]
        fixed = {"eta_mean": torch.tensor(r.eta_mu0, dtype=_DTYPE),
                 "eta_cov": torch.tensor(0.5 * (cov + cov.T), dtype=_DTYPE)}
    elif eta_sd is not None:
        raise ValueError("eta_sd is only used with topic_corr")
    lengths = simulate_doc_lengths(num_docs, doc_length, poisson, seed)
    story = poutine.condition(model, data=fixed) if fixed else model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with poutine.block():
            s = story(lengths, r)
    n = int(lengths.sum())
    vocab = synthetic_vocab(n)
    corpus = Corpus(
        np.arange(n, dtype=np.int32), offsets_from_lengths(lengths), vocab,
        report={"simulated": "cgtm", "seed": int(seed)},
    )

    def np64(t: torch.Tensor) -> np.ndarray:
        return t.detach().numpy().astype(np.float64)

    return SimulatedCGTMCorpus(
        corpus=corpus,
        vectors=WordVectors(vocab, np64(s.v), report={"source": "simulated cgtm"}),
        topic_mean=np64(s.topic_mean), topic_cov=np64(s.topic_cov),
        eta_mean=np64(s.eta_mean), eta_cov=np64(s.eta_cov), eta=np64(s.eta),
        theta=np64(s.theta), z=s.z.numpy().astype(np.int32), hyper=r, seed=int(seed),
    )


# ---------------------------------------------------------------------- collapsed densities
def _check_eta(eta: Any, num_docs: int, num_topics: int) -> np.ndarray:
    if isinstance(eta, torch.Tensor):
        eta = eta.detach().cpu().numpy()
    arr = np.asarray(eta, dtype=np.float64)
    if arr.shape != (num_docs, num_topics):
        raise ValueError(
            f"eta must have shape (num_docs, K) = ({num_docs}, {num_topics}), got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("eta contains NaN or inf")
    return arr


def _check_all(vectors: Any, doc_offsets: Any, z: Any, hyper: CGTMHyper | ResolvedCGTMHyper):
    x = check_token_vectors(vectors)
    r = _resolved(hyper, x)
    x, off, zz, _ = glda.check_token_state(x, doc_offsets, z, r.topic_hyper)
    return x, off, zz, r


def log_marginal_eta(eta: Any, hyper: ResolvedCGTMHyper) -> float:
    """log p(η_1..η_D) with (μ_η, Σ_η) ~ NIW(eta prior) integrated out (numpy; 0 for D = 0).

    :func:`ppltopics.models.glda.log_marginal_niw` in K dimensions.
    """
    if not isinstance(hyper, ResolvedCGTMHyper):
        raise TypeError(f"hyper must be a ResolvedCGTMHyper, got {type(hyper).__name__}")
    e = np.asarray(eta.detach().cpu().numpy() if isinstance(eta, torch.Tensor) else eta,
                   dtype=np.float64)
    e = _check_eta(e, e.shape[0] if e.ndim == 2 else -1, hyper.num_topics)
    return glda.log_marginal_niw(e, hyper.eta_prior)


def log_prior_z(doc_offsets: Any, z: Any, eta: Any) -> float:
    """Σ_d Σ_{n in d} log softmax(η_d)[z_n] (numpy, log-softmax computed stably)."""
    off = np.asarray(doc_offsets).astype(np.int64, copy=False).ravel()
    zz = np.asarray(z).astype(np.int64, copy=False).ravel()
    if off.size < 2 or off[0] != 0 or off[-1] != zz.size or (np.diff(off) < 0).any():
        raise ValueError("doc_offsets must be non-decreasing, start at 0 and end at len(z)")
    e = np.asarray(eta.detach().cpu().numpy() if isinstance(eta, torch.Tensor) else eta,
                   dtype=np.float64)
    K = e.shape[1] if e.ndim == 2 else 0
    e = _check_eta(e, off.size - 1, K)
    if zz.size and (zz.min() < 0 or zz.max() >= K):
        raise ValueError(f"z out of range [0, {K})")
    doc = np.repeat(np.arange(off.size - 1), np.diff(off))
    return float(log_softmax(e, axis=1)[doc, zz].sum())


def log_likelihood_collapsed(
    vectors: Any, doc_offsets: Any, z: Any, hyper: CGTMHyper | ResolvedCGTMHyper
) -> float:
    """Collapsed log p(v | z): GLDA's (:func:`ppltopics.models.glda.log_likelihood_collapsed`)
    with the topic prior; a :class:`CGTMHyper` is resolved against ``vectors``."""
    x, off, zz, r = _check_all(vectors, doc_offsets, z, hyper)
    return glda.log_likelihood_collapsed(x, off, zz, r.topic_hyper)


def log_joint(
    vectors: Any, doc_offsets: Any, z: Any, eta: Any, hyper: CGTMHyper | ResolvedCGTMHyper
) -> float:
    """log p(v, z, η) with every (μ_k, Σ_k) and (μ_η, Σ_η) integrated out (module docstring)::

        Σ_k log p(v_{z=k})  +  Σ_d Σ_n log softmax(η_d)[z_dn]  +  log p(η_1..η_D)

    ``vectors`` (N, M), ``doc_offsets`` (D + 1,), ``z`` (N,), ``eta`` (D, K).  Plain
    numpy/scipy, independent of the kernels: the reference for their log-joint trace.  A
    :class:`CGTMHyper` is resolved against ``vectors``.  Cost O(N·M² + K·M³ + D·K² + K³).
    """
    x, off, zz, r = _check_all(vectors, doc_offsets, z, hyper)
    e = _check_eta(eta, off.size - 1, r.num_topics)
    return (glda.log_likelihood_collapsed(x, off, zz, r.topic_hyper)
            + log_prior_z(off, zz, e) + glda.log_marginal_niw(e, r.eta_prior))

