"""Gaussian LDA (Das, Zaheer & Dyer, ACL 2015) as a Pyro generative story.

Topics are Gaussians in the word-embedding space instead of distributions over a vocabulary.
For ``K`` topics, ``D`` documents of lengths ``N_d`` and ``M``-dimensional vectors::

    (μ_k, Σ_k) ~ NIW(μ0, κ0, Ψ0, ν0)       k = 1..K   i.e. Σ_k ~ IW(Ψ0, ν0),
                                                        μ_k | Σ_k ~ N(μ0, Σ_k/κ0)
    θ_d        ~ Dirichlet(α)              d = 1..D
    z_dn       ~ Categorical(θ_d)          n = 1..N_d
    v_dn       ~ N(μ_{z_dn}, Σ_{z_dn})                  (the token's word vector, observed)

Tokens are flattened into one plate of ``N = Σ_d N_d`` tokens, as in
:mod:`ppltopics.models.lda`.

Integrating out θ (Dirichlet–multinomial) and every (μ_k, Σ_k) (NIW conjugacy) gives the
*collapsed* joint the Gibbs kernel works with (:func:`log_joint`)::

    log p(v, z) = Σ_k log p(v_{z=k})  +  Σ_d DirMult(n_d· | α)

    log p(x_1..x_n) = −(nM/2) log π + (M/2)(log κ0 − log κ_n) + (ν0/2) log|Ψ0|
                      − (ν_n/2) log|Ψ_n| + log Γ_M(ν_n/2) − log Γ_M(ν0/2)

    κ_n = κ0 + n,  ν_n = ν0 + n,  Ψ_n = Ψ0 + S + κ0 n/κ_n (x̄ − μ0)(x̄ − μ0)ᵀ

(Murphy 2007, "Conjugate Bayesian analysis of the Gaussian distribution"; DESIGN §5).  An
empty topic contributes 0.  The same joint is the product, over tokens in any order, of the
one-step predictives (a Pólya urn for z, a multivariate t with ν_n − M + 1 degrees of freedom
and scale Ψ_n(κ_n + 1)/(κ_n(ν_n − M + 1)) for v); the tests check that identity.

Hyperparameters (:class:`GLDAHyper`), ours beside the published ones
(:meth:`GLDAHyper.reference`)::

    value  ours (default)                         Das et al. 2015    GhLDA code (Yoshida 2023)
    α      1/K                                    1/K                0.1
    κ0     0.1                                    0.1                0.1
    ν0     M + 2                                  M                  M + 0.1
    μ0     mean token vector                      mean token vector  mean token vector
    Ψ0     (ν0 − M − 1)·Cov(token vectors)        3M·I               50·I (GloVe)

Our Ψ0 is *data-driven*: it is scaled so that the prior mean of every topic covariance,
``E[Σ_k] = Ψ0/(ν0 − M − 1)``, equals the empirical covariance of the token vectors (each
token counts, so frequent words weigh more), and ν0 = M + 2 is the smallest integer offset for
which that mean exists.  The published ``Ψ0 = 3M·I`` ignores the scale of the embedding
(GloVe-50 coordinates have variance ≈ 0.1–0.5, so 150·I swamps a topic's own scatter until it
holds hundreds of tokens), and with ν0 = M the prior mean of Σ_k does not exist.

A :class:`GLDAHyper` may leave μ0, Ψ0 and ν0 open (``None``); :meth:`GLDAHyper.resolve`
fixes them from the token vectors (or, without data, from a dimension) and returns a
:class:`ResolvedGLDAHyper` of concrete float64 arrays — what :func:`model`, :func:`simulate`,
:func:`log_joint` and the kernels use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from pyro.distributions import constraints
from pyro.distributions.torch_distribution import TorchDistribution
from pyro.ops.indexing import Vindex
from scipy.special import gammaln, multigammaln

from ppltopics._validation import as_float_array, check_spd, finite_float
from ppltopics.corpus import Corpus
from ppltopics.distributions import NormalInverseWishart, RowCategorical
from ppltopics.models._story import doc_lengths_tensor, simulate_doc_lengths
from ppltopics.models.lda import _normalise_alpha
from ppltopics.vectors import WordVectors

__all__ = [
    "GLDAHyper",
    "ResolvedGLDAHyper",
    "GLDASample",
    "RowMultivariateNormal",
    "SimulatedGaussianCorpus",
    "model",
    "simulate",
    "simulate_vocabulary",
    "token_vectors",
    "log_marginal_niw",
    "log_joint",
    "log_likelihood_collapsed",
    "log_prior_collapsed",
]

_DTYPE = torch.float64
_LOG_2PI = math.log(2.0 * math.pi)

#: Relative size (of the mean variance tr(Cov)/M) of the ridge added to a singular empirical
#: covariance before it becomes the data-driven Ψ0 (see :meth:`GLDAHyper.resolve`).
COV_RIDGE = 1e-6


# ---------------------------------------------------------------------- validation helpers
def _check_kappa0(kappa0: Any) -> float:
    k = finite_float("kappa0", kappa0)
    if k <= 0:
        raise ValueError(f"kappa0 must be > 0, got {k}")
    return k


def _check_nu0(nu0: float, dim: int) -> None:
    if not nu0 > dim - 1:
        raise ValueError(
            f"nu0 must be > M - 1 = {dim - 1} (M = {dim} is the vector dimension), got {nu0}"
        )


def _check_alpha(alpha: float | tuple[float, ...], num_topics: int) -> None:
    if isinstance(alpha, tuple):
        if len(alpha) != num_topics:
            raise ValueError(
                f"alpha has {len(alpha)} entries but num_topics is {num_topics}: give one "
                "alpha per topic or a single float"
            )
        vals = alpha
    else:
        vals = (alpha,)
    if not all(math.isfinite(v) and v > 0 for v in vals):
        raise ValueError(f"alpha must be positive and finite, got {alpha!r}")


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, order="C")
    a.flags.writeable = False
    return a


def _check_vectors(vectors: Any, name: str = "vectors") -> np.ndarray:
    if isinstance(vectors, WordVectors):
        raise ValueError(
            f"{name} must be the (N, M) matrix of token vectors, not a WordVectors table: use "
            "token_vectors(corpus, word_vectors) or GLDAHyper.resolve_corpus"
        )
    if isinstance(vectors, torch.Tensor):
        vectors = vectors.detach().cpu().numpy()
    arr = np.asarray(vectors, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape (N, M) with M >= 1, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contain NaN or inf")
    return arr


# ---------------------------------------------------------------------- hyperparameters
@dataclass(frozen=True)
class GLDAHyper:
    """Hyperparameters of Gaussian LDA, some possibly left to the data.

    Parameters
    ----------
    num_topics
        ``K`` (an integer ≥ 1).
    alpha
        Dirichlet prior on each θ_d: a positive float (symmetric) or ``K`` positive floats.
        ``None`` (the default) means ``1/K`` (Das et al. 2015), filled in at construction, so
        ``GLDAHyper(4).alpha == 0.25``.
    kappa0
        NIW pseudo-count of the topic means (> 0).  Default 0.1 (Das et al.; GhLDA).
    nu0
        NIW degrees of freedom (> M − 1).  ``None`` means ``M + 2`` (so that E[Σ_k] exists),
        fixed by :meth:`resolve` when ``M`` is known.
    mu0
        Prior mean of the topic means, a length-``M`` sequence.  ``None`` means the mean token
        vector (data-driven), or 0 when resolved without data.
    psi0
        NIW scale matrix: an ``M×M`` symmetric positive definite matrix (nested sequence), a
        positive float ``s`` meaning ``s·I``, or ``None`` (data-driven, the default):
        ``Ψ0 = (ν0 − M − 1)·Cov(token vectors)`` so that ``E[Σ_k] = Ψ0/(ν0 − M − 1)`` is the
        empirical covariance; without data ``Ψ0 = (ν0 − M − 1)·I``.  Needs ``ν0 > M + 1``.

    Stored as floats and tuples, so the dataclass is frozen and hashable; arrays and tensors
    are accepted and converted.  The checks that need no data run at construction
    (``ValueError`` naming the value); :meth:`resolve` does the rest.
    """

    num_topics: int
    alpha: float | tuple[float, ...] | None = None
    kappa0: float = 0.1
    nu0: float | None = None
    mu0: tuple[float, ...] | None = None
    psi0: float | tuple[tuple[float, ...], ...] | None = None

    def __post_init__(self) -> None:
        k = self.num_topics
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"num_topics must be an integer >= 1, got {k!r}")
        k = int(k)
        object.__setattr__(self, "num_topics", k)
        alpha = 1.0 / k if self.alpha is None else _normalise_alpha(self.alpha)
        _check_alpha(alpha, k)
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "kappa0", _check_kappa0(self.kappa0))
        if self.nu0 is not None:
            object.__setattr__(self, "nu0", finite_float("nu0", self.nu0))
        if self.mu0 is not None:
            mu0 = as_float_array("mu0", self.mu0, 1)
            object.__setattr__(self, "mu0", tuple(float(v) for v in mu0))
        if self.psi0 is not None:
            if np.ndim(self.psi0) == 0:
                s = finite_float("psi0", self.psi0)
                if s <= 0:
                    raise ValueError(
                        f"psi0 must be symmetric positive definite: the scalar s of s·I must be "
                        f"> 0, got {s}"
                    )
                object.__setattr__(self, "psi0", s)
            else:
                psi0 = check_spd("psi0", as_float_array("psi0", self.psi0, 2))
                object.__setattr__(self, "psi0", tuple(tuple(float(v) for v in r) for r in psi0))
        if self.mu0 is not None and isinstance(self.psi0, tuple) and len(self.mu0) != len(
            self.psi0
        ):
            raise ValueError(
                f"dimension mismatch: mu0 has length {len(self.mu0)} but psi0 is "
                f"{len(self.psi0)}×{len(self.psi0)}"
            )
        if self.nu0 is not None and self.dim is not None:
            _check_nu0(self.nu0, self.dim)

    # -- presets
    @classmethod
    def reference(
        cls, num_topics: int, dim: int, preset: str = "das2015", **overrides: Any
    ) -> GLDAHyper:
        """The published defaults, for side-by-side runs (DESIGN §5).

        ``"das2015"`` (GLDA, Das et al. ACL 2015): α = 1/K, κ0 = 0.1, ν0 = M, Ψ0 = 3M·I,
        μ0 = mean token vector.  ``"ghlda"`` (the GhLDA authors' GLDA, Yoshida et al. 2023):
        α = 0.1, κ0 = 0.1, ν0 = M + 0.1, Ψ0 = 50·I, μ0 = mean token vector.  With ν0 ≤ M + 1
        the prior mean of Σ_k does not exist (allowed: only ν0 > M − 1 is required).
        ``overrides`` replace single fields.
        """
        if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 1:
            raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
        if isinstance(num_topics, bool) or not isinstance(num_topics, int | np.integer) or (
            num_topics < 1
        ):
            raise ValueError(f"num_topics must be an integer >= 1, got {num_topics!r}")
        dim = int(dim)
        if preset == "das2015":
            values = {"alpha": 1.0 / int(num_topics), "kappa0": 0.1, "nu0": float(dim),
                      "mu0": None, "psi0": 3.0 * dim}
        elif preset == "ghlda":
            values = {"alpha": 0.1, "kappa0": 0.1, "nu0": dim + 0.1, "mu0": None, "psi0": 50.0}
        else:
            raise ValueError(f"unknown preset {preset!r}: use 'das2015' or 'ghlda'")
        values.update(overrides)
        return cls(num_topics=num_topics, **values)

    # -- derived values
    @property
    def dim(self) -> int | None:
        """``M`` when μ0 or a Ψ0 matrix fixes it, else None."""
        if self.mu0 is not None:
            return len(self.mu0)
        if isinstance(self.psi0, tuple):
            return len(self.psi0)
        return None

    @property
    def alpha_vector(self) -> np.ndarray:
        """α as a float64 array of length ``K`` (a fresh copy)."""
        if isinstance(self.alpha, tuple):
            return np.asarray(self.alpha, dtype=np.float64)
        return np.full(self.num_topics, self.alpha, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (tuples as lists)."""

        def plain(x: Any) -> Any:
            return [plain(v) for v in x] if isinstance(x, tuple) else x

        return {
            "num_topics": self.num_topics, "alpha": plain(self.alpha), "kappa0": self.kappa0,
            "nu0": self.nu0, "mu0": plain(self.mu0), "psi0": plain(self.psi0),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GLDAHyper:
        return cls(**{k: d.get(k) for k in ("num_topics", "alpha", "nu0", "mu0", "psi0")},
                   kappa0=d.get("kappa0", 0.1))

    # -- resolution against data
    def resolve(
        self,
        vectors: Any = None,
        *,
        counts: Any = None,
        dim: int | None = None,
    ) -> ResolvedGLDAHyper:
        """Fix the open values and validate everything; return a :class:`ResolvedGLDAHyper`.

        Parameters
        ----------
        vectors
            The ``(N, M)`` matrix of token vectors (row n = the word vector of token n, so a
            word counts once per occurrence) — or, with ``counts``, a ``(V, M)`` table of
            word-type vectors.  ``None``: resolve without data (for :func:`simulate`).
        counts
            Optional occurrence count of every row of ``vectors`` (``corpus.word_counts()``):
            the same result as repeating each row ``counts[v]`` times, without forming the
            ``N × M`` matrix.
        dim
            ``M`` when resolving without data and neither μ0 nor a Ψ0 matrix fixes it.

        With data: ν0 = M + 2 if open; μ0 = the (count-weighted) mean token vector if open;
        Ψ0 = (ν0 − M − 1)·C if open, ``C`` the (1/N-normalised) covariance of the token vectors.
        A ``C`` that is singular or nearly so (fewer distinct vectors than M + 1, e.g. a small
        vocabulary) gets ``COV_RIDGE·tr(C)/M`` added to its diagonal first (recorded in
        ``psi0_ridge``).  Without data: μ0 = 0 and Ψ0 = (ν0 − M − 1)·I (E[Σ_k] = I).

        Raises ``ValueError`` naming the problem: K > N, α ≤ 0, κ0 ≤ 0, ν0 ≤ M − 1, Ψ0 not
        symmetric positive definite, NaN/inf in μ0, Ψ0 or the vectors, μ0/Ψ0 of another
        dimension than the vectors, a data-driven Ψ0 with ν0 ≤ M + 1, vectors of zero spread.
        """
        derived: list[str] = []
        num_tokens: int | None = None
        if vectors is None:
            if counts is not None:
                raise ValueError("counts given without vectors")
            M = self.dim if self.dim is not None else dim
            if M is None:
                raise ValueError(
                    "cannot resolve without data: the dimension M is unknown; pass dim= or "
                    "explicit mu0/psi0 (without data, mu0 = 0 and psi0 = (nu0 - M - 1)·I)"
                )
            if isinstance(M, bool) or not isinstance(M, int | np.integer) or M < 1:
                raise ValueError(f"dim must be an integer >= 1, got {M!r}")
            M = int(M)
            if dim is not None and int(dim) != M:
                raise ValueError(
                    f"dimension mismatch: dim={dim} but mu0/psi0 have dimension {M}"
                )
            mean = np.zeros(M)
            cov = np.eye(M)
            ridge = 0.0
            origin = "default"
        else:
            x = _check_vectors(vectors)
            M = x.shape[1]
            if dim is not None and int(dim) != M:
                raise ValueError(f"dimension mismatch: dim={dim} but the vectors have M = {M}")
            if self.dim is not None and self.dim != M:
                which = "mu0" if self.mu0 is not None else "psi0"
                raise ValueError(
                    f"dimension mismatch: {which} has dimension {self.dim} but the vectors have "
                    f"dimension {M}"
                )
            if counts is None:
                w = None
                num_tokens = x.shape[0]
            else:
                w = np.asarray(counts)
                if w.shape != (x.shape[0],):
                    raise ValueError(
                        f"counts must have one entry per row of vectors ({x.shape[0]}), got "
                        f"shape {w.shape}"
                    )
                if not np.issubdtype(w.dtype, np.integer) or (w < 0).any():
                    raise ValueError("counts must be non-negative integers")
                num_tokens = int(w.sum())
            if num_tokens < 1:
                raise ValueError("no token vectors: the data has 0 tokens")
            if self.num_topics > num_tokens:
                raise ValueError(
                    f"num_topics={self.num_topics} is larger than the data: there are only "
                    f"{num_tokens} tokens"
                )
            mean, cov = _weighted_moments(x, w)
            ridge = 0.0
            origin = "data"
        nu0 = float(M + 2) if self.nu0 is None else self.nu0
        if self.nu0 is None:
            derived.append("nu0:default")
        _check_nu0(nu0, M)
        if self.mu0 is None:
            mu0 = mean
            derived.append(f"mu0:{origin}")
        else:
            mu0 = np.asarray(self.mu0, dtype=np.float64)
        if self.psi0 is None:
            if not nu0 > M + 1:
                raise ValueError(
                    f"psi0=None (Psi0 = (nu0 - M - 1)·Cov, so that E[Sigma_k] = Cov) needs "
                    f"nu0 > M + 1 = {M + 1}, got nu0 = {nu0}; pass psi0 explicitly"
                )
            if origin == "data":
                cov, ridge = _regularise_cov(cov)
            psi0 = (nu0 - M - 1) * cov
            derived.append(f"psi0:{origin}")
        elif isinstance(self.psi0, tuple):
            psi0 = np.asarray(self.psi0, dtype=np.float64)
        else:
            psi0 = self.psi0 * np.eye(M)
        return ResolvedGLDAHyper(
            num_topics=self.num_topics,
            alpha=self.alpha_vector,
            mu0=mu0,
            kappa0=self.kappa0,
            nu0=nu0,
            psi0=psi0,
            derived=tuple(derived),
            psi0_ridge=ridge,
            num_tokens=num_tokens,
        )

    def resolve_corpus(self, corpus: Corpus, word_vectors: WordVectors) -> ResolvedGLDAHyper:
        """:meth:`resolve` with the token vectors of ``corpus`` (via word counts, O(V·M²))."""
        table = word_vectors.matrix(corpus.vocab)
        return self.resolve(table, counts=corpus.word_counts())


def _weighted_moments(x: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 1/N-normalised covariance of the rows of ``x`` (row i repeated ``w[i]`` times)."""
    if w is None:
        mean = x.mean(axis=0)
        xc = x - mean
        cov = xc.T @ xc / x.shape[0]
    else:
        wf = w.astype(np.float64)
        total = wf.sum()
        mean = wf @ x / total
        xc = x - mean
        cov = (xc * wf[:, None]).T @ xc / total
    return mean, 0.5 * (cov + cov.T)


def _regularise_cov(cov: np.ndarray) -> tuple[np.ndarray, float]:
    """Add ``COV_RIDGE·tr(C)/M`` to the diagonal when C is (nearly) singular."""
    M = cov.shape[0]
    scale = float(np.trace(cov)) / M
    if not scale > 0:
        raise ValueError(
            "the token vectors have zero spread (all equal): the data-driven psi0 "
            "(their covariance) is 0; pass psi0 explicitly"
        )
    floor = COV_RIDGE * scale
    if float(np.linalg.eigvalsh(cov)[0]) >= floor:
        return cov, 0.0
    return cov + floor * np.eye(M), floor


@dataclass(frozen=True, eq=False)
class ResolvedGLDAHyper:
    """Concrete GLDA hyperparameters (float64, read-only arrays), validated on construction.

    Fields: ``num_topics`` K; ``alpha`` (K,); ``mu0`` (M,); ``kappa0``; ``nu0``; ``psi0``
    (M, M); ``derived`` names the values filled in by :meth:`GLDAHyper.resolve`
    (``"psi0:data"``, ``"mu0:data"``, ``"nu0:default"``, …); ``psi0_ridge`` the ridge added
    to a singular empirical covariance (0 if none); ``num_tokens`` the N it was resolved
    against (None without data).  Build one directly to give every value explicitly.

    ``niw_args()`` returns ``(mu0, kappa0, nu0, psi0)`` in the order of
    ``ppltopics.inference._linalg.make_prior``.
    """

    num_topics: int
    alpha: np.ndarray
    mu0: np.ndarray
    kappa0: float
    nu0: float
    psi0: np.ndarray
    derived: tuple[str, ...] = ()
    psi0_ridge: float = 0.0
    num_tokens: int | None = field(default=None)

    def __post_init__(self) -> None:
        k = self.num_topics
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"num_topics must be an integer >= 1, got {k!r}")
        object.__setattr__(self, "num_topics", int(k))
        a = _normalise_alpha(self.alpha)
        if not isinstance(a, tuple):
            a = (a,) * int(k)
        _check_alpha(a, int(k))
        object.__setattr__(self, "alpha", _readonly(np.asarray(a)))
        mu0 = as_float_array("mu0", self.mu0, 1)
        psi0 = as_float_array("psi0", self.psi0, 2)
        if psi0.shape != (mu0.size, mu0.size):
            raise ValueError(
                f"dimension mismatch: mu0 has length {mu0.size} but psi0 has shape {psi0.shape}"
            )
        object.__setattr__(self, "mu0", _readonly(mu0))
        object.__setattr__(self, "psi0", _readonly(check_spd("psi0", psi0)))
        object.__setattr__(self, "kappa0", _check_kappa0(self.kappa0))
        nu0 = finite_float("nu0", self.nu0)
        _check_nu0(nu0, mu0.size)
        object.__setattr__(self, "nu0", nu0)
        object.__setattr__(self, "psi0_ridge", float(self.psi0_ridge))
        object.__setattr__(self, "derived", tuple(self.derived))
        if self.num_tokens is not None:
            object.__setattr__(self, "num_tokens", int(self.num_tokens))

    @property
    def dim(self) -> int:
        """``M``."""
        return int(self.mu0.size)

    @property
    def alpha_vector(self) -> np.ndarray:
        """α as a fresh writable float64 array (K,)."""
        return np.array(self.alpha)

    @property
    def alpha_sum(self) -> float:
        return float(self.alpha.sum())

    @property
    def expected_cov(self) -> np.ndarray | None:
        """Prior mean of every Σ_k, ``Ψ0/(ν0 − M − 1)``; None when ν0 ≤ M + 1 (no mean)."""
        den = self.nu0 - self.dim - 1
        return self.psi0 / den if den > 0 else None

    def niw_args(self) -> tuple[np.ndarray, float, float, np.ndarray]:
        """``(mu0, kappa0, nu0, psi0)``: the arguments of ``_linalg.make_prior``."""
        return np.array(self.mu0), self.kappa0, self.nu0, np.array(self.psi0)

    def validate(self, num_tokens: int | None = None, dim: int | None = None) -> ResolvedGLDAHyper:
        """Check against data: ``K ≤ num_tokens`` and ``M == dim``; return ``self``."""
        if dim is not None and int(dim) != self.dim:
            raise ValueError(
                f"dimension mismatch: the hyperparameters have M = {self.dim} but the vectors "
                f"have dimension {dim}"
            )
        if num_tokens is not None and self.num_topics > num_tokens:
            raise ValueError(
                f"num_topics={self.num_topics} is larger than the data: there are only "
                f"{num_tokens} tokens"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (arrays as lists)."""
        return {
            "num_topics": self.num_topics, "alpha": self.alpha.tolist(),
            "mu0": self.mu0.tolist(), "kappa0": self.kappa0, "nu0": self.nu0,
            "psi0": self.psi0.tolist(), "derived": list(self.derived),
            "psi0_ridge": self.psi0_ridge, "num_tokens": self.num_tokens,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ResolvedGLDAHyper:
        return cls(
            num_topics=int(d["num_topics"]), alpha=np.asarray(d["alpha"]),
            mu0=np.asarray(d["mu0"]), kappa0=d["kappa0"], nu0=d["nu0"],
            psi0=np.asarray(d["psi0"]), derived=tuple(d.get("derived", ())),
            psi0_ridge=d.get("psi0_ridge", 0.0), num_tokens=d.get("num_tokens"),
        )


def _resolved(hyper: GLDAHyper | ResolvedGLDAHyper, vectors: np.ndarray | None,
              dim: int | None = None) -> ResolvedGLDAHyper:
    if isinstance(hyper, ResolvedGLDAHyper):
        # only the dimension: densities are well defined for K > N (tiny enumeration toys);
        # K <= N is a fit-time check made by GLDAHyper.resolve / ResolvedGLDAHyper.validate
        return hyper.validate(dim=vectors.shape[1] if vectors is not None else dim)
    if isinstance(hyper, GLDAHyper):
        return hyper.resolve(vectors, dim=dim)
    raise TypeError(f"hyper must be a GLDAHyper or ResolvedGLDAHyper, got {type(hyper).__name__}")


def token_vectors(corpus: Corpus, word_vectors: WordVectors) -> np.ndarray:
    """The ``(num_tokens, M)`` float64 matrix of every token's word vector (corpus order)."""
    return word_vectors.matrix(corpus.vocab)[corpus.word_ids]


# ---------------------------------------------------------------------- the Pyro story
class RowMultivariateNormal(TorchDistribution):
    """``MultivariateNormal(loc[index], scale_tril[index])`` without gathering N M×M factors.

    ``loc`` is (K, M) and ``scale_tril`` (K, M, M) (lower Cholesky factors of the K
    covariances); element ``i`` of the batch uses row ``index[i]``.  ``log_prob`` and
    ``sample`` group the batch by row, so memory is O(size of the batch · M + K·M²), not
    O(N·M²).  ``index`` may broadcast against the value (e.g. an enumerated ``z`` of shape
    (K, 1) against N observed vectors gives a (K, N) ``log_prob``).  Batched tables (more
    than 2-d ``loc``, as under vectorised particles) fall back to gathering.
    """

    arg_constraints = {"loc": constraints.real_vector, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: torch.Tensor, scale_tril: torch.Tensor, index: torch.Tensor,
                 validate_args: bool | None = None) -> None:
        if loc.dim() < 2 or scale_tril.shape[-2:] != loc.shape[-1:] * 2 or (
            scale_tril.shape[:-2] != loc.shape[:-1]
        ):
            raise ValueError(
                f"loc must be (..., K, M) and scale_tril (..., K, M, M), got "
                f"{tuple(loc.shape)} and {tuple(scale_tril.shape)}"
            )
        self.loc = loc
        self.scale_tril = scale_tril
        self.index = torch.as_tensor(index, dtype=torch.long)
        batch_shape = torch.broadcast_shapes(loc.shape[:-2], self.index.shape)
        super().__init__(batch_shape, loc.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(RowMultivariateNormal, _instance)
        batch_shape = torch.Size(batch_shape)
        new.loc = self.loc
        new.scale_tril = self.scale_tril
        new.index = self.index.expand(batch_shape)
        super(RowMultivariateNormal, new).__init__(batch_shape, self.event_shape,
                                                   validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> torch.Tensor:
        return Vindex(self.loc)[..., self.index, :]

    def _gathered(self) -> dist.MultivariateNormal:
        return dist.MultivariateNormal(
            Vindex(self.loc)[..., self.index, :],
            scale_tril=Vindex(self.scale_tril)[..., self.index, :, :],
        )

    @staticmethod
    def _groups(rows: torch.Tensor):
        order = torch.argsort(rows, stable=True)
        counts = torch.bincount(rows)
        start = 0
        for k, c in enumerate(counts.tolist()):
            if c:
                yield k, order[start : start + c]
                start += c

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        if self.loc.dim() > 2:
            return self._gathered().log_prob(value)
        M = self.loc.shape[-1]
        shape = torch.broadcast_shapes(self.index.shape, value.shape[:-1])
        rows = self.index.expand(shape).reshape(-1)
        x = value.expand(shape + (M,)).reshape(-1, M)
        if rows.numel() and (int(rows.min()) < 0 or int(rows.max()) >= self.loc.shape[0]):
            raise ValueError(f"index out of range [0, {self.loc.shape[0]})")
        half_logdet = self.scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        pieces, positions = [], []
        for k, pos in self._groups(rows):
            diff = (x[pos] - self.loc[k]).T  # (M, n)
            y = torch.linalg.solve_triangular(self.scale_tril[k], diff, upper=False)
            pieces.append(-0.5 * y.pow(2).sum(0) - half_logdet[k] - 0.5 * M * _LOG_2PI)
            positions.append(pos)
        if not pieces:
            return x.new_zeros(shape)
        out = torch.cat(pieces)
        inverse = torch.empty_like(rows)
        inverse[torch.cat(positions)] = torch.arange(rows.numel(), device=rows.device)
        return out[inverse].reshape(shape)

    def rsample(self, sample_shape: tuple[int, ...] = ()) -> torch.Tensor:
        shape = self._extended_shape(torch.Size(sample_shape))  # sample + batch + (M,)
        if self.loc.dim() > 2:
            return self._gathered().rsample(sample_shape)
        M = self.loc.shape[-1]
        eps = torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        rows = self.index.expand(shape[:-1]).reshape(-1)
        flat = eps.reshape(-1, M)
        pieces, positions = [], []
        for k, pos in self._groups(rows):
            pieces.append(self.loc[k] + flat[pos] @ self.scale_tril[k].T)
            positions.append(pos)
        out = torch.cat(pieces)
        inverse = torch.empty_like(rows)
        inverse[torch.cat(positions)] = torch.arange(rows.numel(), device=rows.device)
        return out[inverse].reshape(shape)


class GLDASample(NamedTuple):
    """Values of one run of :func:`model` (float64 / int64 torch tensors)."""

    topic_mean: torch.Tensor  # (K, M)
    topic_cov: torch.Tensor  # (K, M, M)
    theta: torch.Tensor  # (D, K)
    z: torch.Tensor  # (N,)
    v: torch.Tensor  # (N, M)
    doc_index: torch.Tensor  # (N,)


def story_inputs(doc_lengths: Any, hyper: Any, data: Any,
                 resolve: Any) -> tuple[int, torch.Tensor, Any, torch.Tensor | None]:
    """Shared prologue of the Gaussian-topic stories (GLDA, CGTM): the number of documents,
    the token→document index,
    the resolved hyperparameters (``resolve(hyper, vectors or None)``) and ``data`` as a
    float64 tensor, checked to hold one vector per token."""
    lengths = doc_lengths_tensor(doc_lengths)
    num_docs = int(lengths.numel())
    doc_index = torch.repeat_interleave(torch.arange(num_docs), lengths,
                                        output_size=int(lengths.sum()))
    if data is None:
        return num_docs, doc_index, resolve(hyper, None), None
    data_np = _check_vectors(data, "data")
    if data_np.shape[0] != doc_index.numel():
        raise ValueError(
            f"data must hold one vector per token ({doc_index.numel()}), got shape "
            f"{data_np.shape}"
        )
    return num_docs, doc_index, resolve(hyper, data_np), torch.as_tensor(data_np, dtype=_DTYPE)


def model(
    doc_lengths: Sequence[int] | np.ndarray | torch.Tensor,
    hyper: GLDAHyper | ResolvedGLDAHyper,
    data: torch.Tensor | np.ndarray | None = None,
) -> GLDASample:
    """Gaussian LDA as a plain Pyro model; simulates the token vectors when ``data`` is None.

    ::

        Σ_k ~ IW(Ψ0, ν0), μ_k ~ N(μ0, Σ_k/κ0)    in plate "topics" (K): sites "topic_cov",
                                                  "topic_mean" (NormalInverseWishart.pyro_sample)
        θ_d ~ Dirichlet(α)                        in plate "docs" (D):   site "theta"
        z_n ~ Categorical(θ_{d(n)})               in plate "tokens" (N): site "z"
        v_n ~ N(μ_{z_n}, Σ_{z_n})                 site "v", observed when data is given

    Parameters
    ----------
    doc_lengths
        ``N_d`` for every document (``corpus.doc_lengths``).
    hyper
        A :class:`ResolvedGLDAHyper`; a :class:`GLDAHyper` is resolved against ``data``
        (its data-driven defaults computed from ``data`` itself), or, without data, must fix
        the dimension through μ0 or a Ψ0 matrix.
    data
        ``(N, M)`` token vectors, documents concatenated, or None.

    Float64 throughout.  ``z`` and ``v`` are :class:`RowCategorical` /
    :class:`RowMultivariateNormal` sites (no N×K or N×M×M table is formed); ``z`` may be
    enumerated with ``max_plate_nesting=1``.
    """
    num_docs, doc_index, r, data = story_inputs(doc_lengths, hyper, data, _resolved)
    num_tokens = int(doc_index.numel())
    prior = NormalInverseWishart(
        torch.tensor(r.mu0, dtype=_DTYPE), r.kappa0,
        torch.tensor(r.psi0, dtype=_DTYPE), r.nu0,
    )
    alpha = torch.tensor(r.alpha, dtype=_DTYPE)
    with pyro.plate("topics", r.num_topics):
        topic_mean, topic_cov = prior.pyro_sample("topic")  # (K, M), (K, M, M)
    with pyro.plate("docs", num_docs):
        theta = pyro.sample("theta", dist.Dirichlet(alpha))  # (D, K)
    scale_tril = torch.linalg.cholesky(topic_cov)
    with pyro.plate("tokens", num_tokens):
        z = pyro.sample("z", RowCategorical(theta, doc_index))
        v = pyro.sample("v", RowMultivariateNormal(topic_mean, scale_tril, z), obs=data)
    return GLDASample(topic_mean, topic_cov, theta, z, v, doc_index)


# ---------------------------------------------------------------------- simulation
@dataclass(frozen=True, eq=False)
class SimulatedGaussianCorpus:
    """A corpus drawn from the GLDA story, with the truth that produced it.

    ``corpus`` and ``vectors`` (a :class:`WordVectors` whose vocab is ``corpus.vocab``) hold
    the data; ``topic_mean`` (K, M), ``topic_cov`` (K, M, M), ``theta`` (D, K) float64 and
    ``z`` (N,) int32 the truth.  From :func:`simulate` every token has its own word type
    (word_ids = 0..N−1, ``word_topic`` None); from :func:`simulate_vocabulary` types repeat
    and ``word_topic`` (V,) gives each type's topic.
    """

    corpus: Corpus
    vectors: WordVectors
    topic_mean: np.ndarray
    topic_cov: np.ndarray
    theta: np.ndarray
    z: np.ndarray
    hyper: ResolvedGLDAHyper
    seed: int
    word_topic: np.ndarray | None = None

    @property
    def token_vectors(self) -> np.ndarray:
        """``(N, M)`` float64 vector of every token."""
        return np.asarray(self.vectors.vectors, dtype=np.float64)[self.corpus.word_ids]


def _vocab(n: int, prefix: str = "v") -> list[str]:
    width = max(6, len(str(n - 1)))
    return [f"{prefix}{i:0{width}d}" for i in range(n)]


def _offsets(lengths: np.ndarray) -> np.ndarray:
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def simulate(
    num_docs: int,
    doc_length: int | Sequence[int] | np.ndarray,
    hyper: GLDAHyper | ResolvedGLDAHyper,
    seed: int = 0,
    *,
    dim: int | None = None,
    poisson: bool = False,
) -> SimulatedGaussianCorpus:
    """Draw a corpus by running :func:`model` forward.

    A Gaussian story emits a fresh real vector per token, so every token gets its own word
    type: the vocabulary is ``["v000000", "v000001", ...]`` (one per token), ``word_ids =
    arange(N)`` and ``vectors.vectors[n]`` is token n's vector.

    Parameters
    ----------
    num_docs, doc_length, poisson
        As in :func:`ppltopics.models.lda.simulate`: ``doc_length`` is one length, one per
        document, or (``poisson=True``) the mean λ ≥ 1 of ``N_d = 1 + Poisson(λ − 1)``.
    hyper
        A :class:`ResolvedGLDAHyper`, or a :class:`GLDAHyper` — there is no data to take
        data-driven defaults from, so it is resolved *without data*: its explicit μ0/Ψ0, else
        μ0 = 0 and Ψ0 = (ν0 − M − 1)·I, with ``M`` from ``dim`` (or its μ0/Ψ0 matrix).
    seed
        Same seed ⇒ identical corpus and truth.  Torch's global RNG is forked, seeded and
        restored; numpy's and ``random``'s states are not touched.
    """
    r = _resolved(hyper, None, dim=dim)
    lengths = simulate_doc_lengths(num_docs, doc_length, poisson, seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with poutine.block():
            s = model(lengths, r)
    n = int(lengths.sum())
    vocab = _vocab(n)
    v = s.v.numpy().astype(np.float64)
    corpus = Corpus(
        np.arange(n, dtype=np.int32), _offsets(lengths), vocab,
        report={"simulated": "glda", "seed": int(seed)},
    )
    return SimulatedGaussianCorpus(
        corpus=corpus,
        vectors=WordVectors(vocab, v, report={"source": "simulated glda"}),
        topic_mean=s.topic_mean.numpy().astype(np.float64),
        topic_cov=s.topic_cov.numpy().astype(np.float64),
        theta=s.theta.numpy().astype(np.float64),
        z=s.z.numpy().astype(np.int32),
        hyper=r,
        seed=int(seed),
    )


def simulate_vocabulary(
    num_docs: int,
    doc_length: int | Sequence[int] | np.ndarray,
    hyper: GLDAHyper | ResolvedGLDAHyper,
    vocab_size: int,
    seed: int = 0,
    *,
    dim: int | None = None,
    poisson: bool = False,
) -> SimulatedGaussianCorpus:
    """A corpus with a finite vocabulary whose word vectors come from Gaussian topics.

    Not a draw from the GLDA story (there, token vectors given z are independent Gaussians;
    here a word type's vector is reused by all its tokens) — a realistic test bed for kernels
    that cache per word type (alias tables of stale predictives) and for the fit pipeline::

        (μ_k, Σ_k) ~ NIW(μ0, κ0, Ψ0, ν0)             k = 1..K
        c_t        = balanced random topic of type t  (each topic owns ⌊V/K⌋ or ⌈V/K⌉ types)
        x_t        ~ N(μ_{c_t}, Σ_{c_t})              t = 1..V  (the word vectors)
        θ_d ~ Dirichlet(α),  z_n ~ Categorical(θ_{d(n)}),  w_n ~ Uniform{t : c_t = z_n}

    Requires ``vocab_size ≥ K``.  The vocabulary is ``["w000000", ...]``, all ``V`` types
    kept (unused ones too); ``word_topic`` holds ``c``.  ``hyper`` is resolved as in
    :func:`simulate`.
    """
    r = _resolved(hyper, None, dim=dim)
    K = r.num_topics
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int | np.integer) or (
        vocab_size < K
    ):
        raise ValueError(f"vocab_size must be an integer >= num_topics = {K}, got {vocab_size!r}")
    V = int(vocab_size)
    lengths = simulate_doc_lengths(num_docs, doc_length, poisson, seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        prior = NormalInverseWishart(
            torch.tensor(r.mu0, dtype=_DTYPE), r.kappa0,
            torch.tensor(r.psi0, dtype=_DTYPE), r.nu0,
        ).expand([K])
        mean, cov = prior.sample()
        owner = (torch.arange(V) % K)[torch.randperm(V)]
        x = RowMultivariateNormal(mean, torch.linalg.cholesky(cov), owner).sample()
        theta = dist.Dirichlet(torch.tensor(r.alpha, dtype=_DTYPE)).sample((lengths.size,))
        doc_index = torch.repeat_interleave(torch.arange(lengths.size),
                                            torch.as_tensor(lengths))
        z = RowCategorical(theta, doc_index).sample()
        # uniform type among the owner's: the types of topic k, sorted, then a random slot
        order = torch.argsort(owner, stable=True)
        per_topic = torch.bincount(owner, minlength=K)
        start = torch.cumsum(per_topic, 0) - per_topic
        u = torch.rand(z.shape, dtype=_DTYPE)
        slot = torch.clamp((u * per_topic[z]).long(), max=per_topic[z] - 1)
        w = order[start[z] + slot]
    vocab = _vocab(V, "w")
    corpus = Corpus(
        w.numpy().astype(np.int32), _offsets(lengths), vocab,
        report={"simulated": "glda-vocabulary", "seed": int(seed)},
    )
    return SimulatedGaussianCorpus(
        corpus=corpus,
        vectors=WordVectors(vocab, x.numpy().astype(np.float64),
                            report={"source": "simulated glda-vocabulary"}),
        topic_mean=mean.numpy().astype(np.float64),
        topic_cov=cov.numpy().astype(np.float64),
        theta=theta.numpy().astype(np.float64),
        z=z.numpy().astype(np.int32),
        hyper=r,
        seed=int(seed),
        word_topic=owner.numpy().astype(np.int32),
    )


# ---------------------------------------------------------------------- collapsed densities
def log_marginal_niw(x: np.ndarray, hyper: ResolvedGLDAHyper) -> float:
    """log p(x_1..x_n) with (μ, Σ) ~ NIW integrated out (plain numpy; 0 for n = 0)::

        −(nM/2) log π + (M/2)(log κ0 − log κ_n) + (ν0/2) log|Ψ0| − (ν_n/2) log|Ψ_n|
        + log Γ_M(ν_n/2) − log Γ_M(ν0/2)
    """
    x = np.asarray(x, dtype=np.float64)
    n, M = x.shape
    if n == 0:
        return 0.0
    kappa0, nu0, mu0, psi0 = hyper.kappa0, hyper.nu0, hyper.mu0, hyper.psi0
    kappa_n, nu_n = kappa0 + n, nu0 + n
    xbar = x.mean(axis=0)
    xc = x - xbar
    d = xbar - mu0
    psi_n = psi0 + xc.T @ xc + (kappa0 * n / kappa_n) * np.outer(d, d)
    sign0, logdet0 = np.linalg.slogdet(psi0)
    sign_n, logdet_n = np.linalg.slogdet(0.5 * (psi_n + psi_n.T))
    if sign0 <= 0 or sign_n <= 0:
        raise ValueError("Psi_n is not positive definite (non-finite or degenerate vectors?)")
    return float(
        -0.5 * n * M * math.log(math.pi)
        + 0.5 * M * (math.log(kappa0) - math.log(kappa_n))
        + 0.5 * nu0 * logdet0
        - 0.5 * nu_n * logdet_n
        + multigammaln(0.5 * nu_n, M)
        - multigammaln(0.5 * nu0, M)
    )


def _check_tokens(vectors: Any, doc_offsets: Any, z: Any,
                  hyper: GLDAHyper | ResolvedGLDAHyper):
    x = _check_vectors(vectors)
    off = np.asarray(doc_offsets).astype(np.int64, copy=False).ravel()
    zz = np.asarray(z).astype(np.int64, copy=False).ravel()
    n = x.shape[0]
    if zz.shape != (n,):
        raise ValueError(f"z has {zz.size} entries but there are {n} token vectors")
    if off.size < 2 or off[0] != 0 or off[-1] != n or (np.diff(off) < 0).any():
        raise ValueError("doc_offsets must be non-decreasing, start at 0 and end at len(vectors)")
    r = _resolved(hyper, x)
    if zz.size and (zz.min() < 0 or zz.max() >= r.num_topics):
        raise ValueError(f"z out of range [0, {r.num_topics})")
    return x, off, zz, r


def _log_likelihood(x: np.ndarray, z: np.ndarray, r: ResolvedGLDAHyper) -> float:
    order = np.argsort(z, kind="stable")
    counts = np.bincount(z, minlength=r.num_topics)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    xs = x[order]
    return float(sum(log_marginal_niw(xs[bounds[k] : bounds[k + 1]], r)
                     for k in range(r.num_topics) if counts[k]))


def _log_prior(off: np.ndarray, z: np.ndarray, alpha: np.ndarray) -> float:
    num_docs, K = off.size - 1, alpha.size
    n_d = np.diff(off)
    doc = np.repeat(np.arange(num_docs, dtype=np.int64), n_d)
    keys, n_dk = np.unique(doc * K + z, return_counts=True)
    a = alpha[keys % K]
    a_sum = alpha.sum()
    return float(num_docs * gammaln(a_sum) - gammaln(n_d + a_sum).sum()
                 + (gammaln(n_dk + a) - gammaln(a)).sum())


def log_likelihood_collapsed(
    vectors: Any, doc_offsets: Any, z: Any, hyper: GLDAHyper | ResolvedGLDAHyper
) -> float:
    """Collapsed log p(v | z): Σ_k :func:`log_marginal_niw` of the vectors in topic k.

    ``vectors`` is the ``(N, M)`` token matrix; ``doc_offsets`` is only checked.  A
    :class:`GLDAHyper` is resolved against ``vectors``.  Plain numpy/scipy (slogdet,
    multigammaln), independent of ``inference._linalg``: a reference for the kernels.
    """
    x, _, zz, r = _check_tokens(vectors, doc_offsets, z, hyper)
    return _log_likelihood(x, zz, r)


def log_prior_collapsed(
    vectors: Any, doc_offsets: Any, z: Any, hyper: GLDAHyper | ResolvedGLDAHyper
) -> float:
    """Collapsed log p(z | α) = Σ_d [lgamma(Σα) − lgamma(N_d + Σα) + Σ_k (lgamma(n_dk + α_k)
    − lgamma(α_k))]."""
    _, off, zz, r = _check_tokens(vectors, doc_offsets, z, hyper)
    return _log_prior(off, zz, r.alpha)


def log_joint(
    vectors: Any, doc_offsets: Any, z: Any, hyper: GLDAHyper | ResolvedGLDAHyper
) -> float:
    """Collapsed log p(v, z) = :func:`log_likelihood_collapsed` + :func:`log_prior_collapsed`.

    θ and every (μ_k, Σ_k) integrated out (module docstring).  Invariant to relabelling the
    topics when α is symmetric.  Cost O(N·M² + K·M³).
    """
    x, off, zz, r = _check_tokens(vectors, doc_offsets, z, hyper)
    return _log_likelihood(x, zz, r) + _log_prior(off, zz, r.alpha)
