"""Gaussian-topic hyperparameters: α and the Normal-inverse-Wishart prior (μ0, κ0, Ψ0, ν0) of
Gaussian LDA (Das, Zaheer & Dyer, ACL 2015), shared by the topic part of CGTM and GhLDA, and
their resolution from the data.

Hyperparameters (:class:`GLDAHyper`), ours beside the published ones
(:meth:`GLDAHyper.reference`)::

    value  ours (default)                         Das et al. 2015    GhLDA code (Yoshida 2023)
    α      1/K                                    1/K                0.1
    κ0     0.1                                    0.1                0.1
    ν0     M + 2                                  M                  M + 0.1
    μ0     mean token vector                      mean token vector  mean token vector
    Ψ0     (ν0 − M − 1)·Cov(token vectors)        3M·I               50·I (GloVe)

``psi0="within"`` replaces Cov by the average within-cluster covariance of a quick k-means
of the word vectors (:func:`within_cluster_cov`), the spread of one topic-sized group of
words; GhLDA fitted through ``pt.fit`` without a preset uses it with ν0 = :func:`tree_nu0`
and κ0 = :func:`tree_kappa0` (a prior as strong as five average documents).  Word-vector
preparation (``prepare=``, e.g. All-but-the-Top + PCA) happens before any of this, in
:func:`ppltopics.api.fit`.

Our Ψ0 is *data-driven*: it is scaled so that the prior mean of every topic covariance,
``E[Σ_k] = Ψ0/(ν0 − M − 1)``, equals the empirical covariance of the token vectors (each
token counts, so frequent words weigh more), and ν0 = M + 2 is the smallest integer offset for
which that mean exists.  The published ``Ψ0 = 3M·I`` ignores the scale of the embedding
(GloVe-50 coordinates have variance ≈ 0.1–0.5, so 150·I swamps a topic's own scatter until it
holds hundreds of tokens), and with ν0 = M the prior mean of Σ_k does not exist.

A :class:`GLDAHyper` may leave μ0, Ψ0 and ν0 open (``None``); :meth:`GLDAHyper.resolve`
fixes them from the token vectors (or, without data, from a dimension) and returns a
:class:`ResolvedGLDAHyper` of concrete float64 arrays — what the stories
(:func:`ppltopics.models.glda.model`, :mod:`~ppltopics.models.cgtm`,
:mod:`~ppltopics.models.ghlda`), their collapsed densities and the kernels use.

Re-exported by :mod:`ppltopics.models.glda` (``ppltopics.models.glda.GLDAHyper``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ppltopics._validation import (
    as_float_array,
    check_spd,
    finite_float,
    normalise_alpha,
    positive_float,
)
from ppltopics.corpus import Corpus
from ppltopics.vectors import WordVectors

__all__ = [
    "COV_RIDGE",
    "PSI0_RULES",
    "WITHIN_CLUSTERS",
    "within_cluster_cov",
    "tree_kappa0",
    "tree_nu0",
    "TREE_PRIOR_DOCS",
    "GLDAHyper",
    "ResolvedGLDAHyper",
    "check_token_vectors",
    "resolve_hyper",
]

#: Relative size (of the mean variance tr(Cov)/M) of the ridge added to a singular empirical
#: covariance before it becomes the data-driven Ψ0 (see :meth:`GLDAHyper.resolve`).
COV_RIDGE = 1e-6
#: Named data-driven scales of Ψ0 (``psi0=`` strings; ``None`` means ``"cov"``).
PSI0_RULES = ("cov", "within")
#: Clusters of the quick k-means behind ``psi0="within"`` when K < 2 (trees: GhLDA's root
#: hyperparameters are a one-topic GLDAHyper).
WITHIN_CLUSTERS = 20
#: k-means restarts of :func:`within_cluster_cov` (lowest weighted sum of squares wins)
WITHIN_RESTARTS = 5
#: a cluster of ``psi0="within"`` holds on average at least this many distinct words
WITHIN_MIN_WORDS = 10
#: eigenvalue floor of the within-cluster covariance, relative to the mean variance
WITHIN_FLOOR = 1e-3


# ---------------------------------------------------------------------- validation helpers
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


def check_token_vectors(vectors: Any, name: str = "vectors") -> np.ndarray:
    """The ``(N, M)`` token-vector matrix as float64, checked (2-d, M >= 1, finite; not a
    :class:`~ppltopics.vectors.WordVectors` table, whose rows are word types)."""
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
        Named rules: ``"cov"`` (the same as ``None``) and ``"within"``:
        ``Ψ0 = (ν0 − M − 1)·W`` with ``W`` the count-weighted average *within-cluster*
        covariance of a quick k-means (K clusters; :data:`WITHIN_CLUSTERS` when K < 2) of the
        word vectors (:func:`within_cluster_cov`), so that E[Σ_k] is the spread of one
        cluster of words rather than of the whole vocabulary.

    Stored as floats and tuples, so the dataclass is frozen and hashable; arrays and tensors
    are accepted and converted.  The checks that need no data run at construction
    (``ValueError`` naming the value); :meth:`resolve` does the rest.
    """

    num_topics: int
    alpha: float | tuple[float, ...] | None = None
    kappa0: float = 0.1
    nu0: float | None = None
    mu0: tuple[float, ...] | None = None
    psi0: float | tuple[tuple[float, ...], ...] | str | None = None

    def __post_init__(self) -> None:
        k = self.num_topics
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"num_topics must be an integer >= 1, got {k!r}")
        k = int(k)
        object.__setattr__(self, "num_topics", k)
        alpha = 1.0 / k if self.alpha is None else normalise_alpha(self.alpha)
        _check_alpha(alpha, k)
        object.__setattr__(self, "alpha", alpha)
        object.__setattr__(self, "kappa0", positive_float("kappa0", self.kappa0))
        if self.nu0 is not None:
            object.__setattr__(self, "nu0", finite_float("nu0", self.nu0))
        if self.mu0 is not None:
            mu0 = as_float_array("mu0", self.mu0, 1)
            object.__setattr__(self, "mu0", tuple(float(v) for v in mu0))
        if isinstance(self.psi0, str):
            if self.psi0 not in PSI0_RULES:
                raise ValueError(f"unknown psi0 rule {self.psi0!r}: use one of {PSI0_RULES}, a "
                                 "positive float s (s·I) or an M×M matrix")
        elif self.psi0 is not None:
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
        """The published defaults, for side-by-side runs.

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
            x = check_token_vectors(vectors)
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
        if self.psi0 is None or isinstance(self.psi0, str):
            rule = self.psi0 or "cov"
            if not nu0 > M + 1:
                raise ValueError(
                    f"psi0={self.psi0!r} (Psi0 = (nu0 - M - 1)·Cov, so that E[Sigma_k] = Cov) "
                    f"needs nu0 > M + 1 = {M + 1}, got nu0 = {nu0}; pass psi0 explicitly"
                )
            if rule == "within" and origin == "data":
                k = self.num_topics if self.num_topics >= 2 else WITHIN_CLUSTERS
                whole_scale = float(np.trace(cov)) / M
                cov = within_cluster_cov(x, w, k)
                floor = WITHIN_FLOOR * whole_scale
                if float(np.linalg.eigvalsh(cov)[0]) < floor:
                    cov = cov + floor * np.eye(M)
                    ridge = floor
            if origin == "data":
                cov, extra = _regularise_cov(cov)
                ridge += extra
            psi0 = (nu0 - M - 1) * cov
            derived.append(f"psi0:{origin}" if rule == "cov" or origin != "data"
                           else f"psi0:{rule}")
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


#: strength of GhLDA's default NIW prior, in mean document lengths: ν0 (:func:`tree_nu0`) and
#: κ0 (:func:`tree_kappa0`) weigh as much as this many average documents
TREE_PRIOR_DOCS = 5.0


def tree_nu0(dim: int, corpus: Corpus) -> float:
    r"""GhLDA's default ν0 = M + 1 + :data:`TREE_PRIOR_DOCS` · N/D (N tokens, D documents):
    the inverse-Wishart weighs as much as a few average documents, so a new node fitted to
    one document's tokens keeps (about) the prior covariance instead of adapting to that
    document's own scatter — with ν0 = M + 2 a fresh node explains any document better than
    the shared ones and the tree grows a path per document (measured on the GhLDA wiki set:
    273 level-1 nodes after 2 sweeps with ν0 = M + 2; see ``benchmarks/README.md``)."""
    return float(dim + 1 + TREE_PRIOR_DOCS * corpus.num_tokens / max(corpus.num_docs, 1))


def tree_kappa0(corpus: Corpus) -> float:
    r"""GhLDA's default κ0 = :data:`TREE_PRIOR_DOCS` · N/D: the prior of a node's mean,
    μ_v ~ N(μ0, Σ_v/κ0), weighs as much as a few average documents, so a new node's mean
    stays near μ0 until several documents move it, instead of centring on the one document
    that opens it.  With κ0 = 0.1 the block marginal of a document's level tokens under an
    empty node is their own fit less an Occam term of only (M/2)·log(1 + m/κ0), and the tree
    kept growing a node for documents off their node's mean: 93–147 nodes after 50 sweeps on
    the wiki split even with ν0 raised to 3,200 (``benchmarks/quality.py --corpus wiki``,
    ``results/quality_wiki_trees.json``); with κ0 = 5·N/D, 12–14 nodes and held-out NPMI
    −0.33 → +0.01."""
    return float(TREE_PRIOR_DOCS * corpus.num_tokens / max(corpus.num_docs, 1))


def within_cluster_cov(x: np.ndarray, counts: np.ndarray | None, k: int,
                       seed: int = 0) -> np.ndarray:
    r"""Count-weighted average within-cluster covariance of the rows of ``x``:

    .. math:: W = \frac{1}{N}\sum_c \sum_{w \in c} n_w (v_w - m_c)(v_w - m_c)^\top

    after a weighted k-means into ``min(k, distinct rows / WITHIN_MIN_WORDS)`` clusters (the
    best of :data:`WITHIN_RESTARTS` k-means++ seedings with Lloyd iterations;
    :func:`ppltopics.inference._init.weighted_kmeans`, fixed ``seed``) with centres
    :math:`m_c`, ``n_w`` the counts
    (1 each when ``counts`` is None) and :math:`N = \sum_w n_w`.  It is the scale of one
    topic's scatter when the words form ``k`` topics, smaller than the whole covariance
    by the between-cluster part (``tr W / tr Cov`` is recorded by the benchmarks)."""
    from ppltopics.inference._init import weighted_kmeans  # numpy only

    x = np.asarray(x, dtype=np.float64)
    if counts is None:
        x, w = np.unique(x, axis=0, return_counts=True)
    else:
        w = np.asarray(counts)
        x = x[w > 0]
        w = w[w > 0]
    w = w.astype(np.float64)
    k = int(max(1, min(int(k), x.shape[0] // WITHIN_MIN_WORDS)))
    rng = np.random.default_rng(seed)
    best, best_sse = None, np.inf
    for _ in range(WITHIN_RESTARTS):
        labels, centres = weighted_kmeans(x, w, k, rng)
        xc = x - centres[labels]
        sse = float((w * (xc * xc).sum(axis=1)).sum())
        if sse < best_sse:
            best, best_sse = xc, sse
    xc = best
    cov = (xc * w[:, None]).T @ xc / w.sum()
    return 0.5 * (cov + cov.T)


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
        a = normalise_alpha(self.alpha)
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
        object.__setattr__(self, "kappa0", positive_float("kappa0", self.kappa0))
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


def resolve_hyper(hyper: GLDAHyper | ResolvedGLDAHyper, vectors: np.ndarray | None,
                  dim: int | None = None) -> ResolvedGLDAHyper:
    """``hyper`` made concrete: a :class:`ResolvedGLDAHyper` is checked against the vectors'
    dimension (or ``dim``), a :class:`GLDAHyper` resolved from ``vectors`` (or ``dim``)."""
    if isinstance(hyper, ResolvedGLDAHyper):
        # only the dimension: densities are well defined for K > N (tiny enumeration toys);
        # K <= N is a fit-time check made by GLDAHyper.resolve / ResolvedGLDAHyper.validate
        return hyper.validate(dim=vectors.shape[1] if vectors is not None else dim)
    if isinstance(hyper, GLDAHyper):
        return hyper.resolve(vectors, dim=dim)
    raise TypeError(f"hyper must be a GLDAHyper or ResolvedGLDAHyper, got {type(hyper).__name__}")
