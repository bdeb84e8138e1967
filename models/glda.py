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

(Murphy 2007, "Conjugate Bayesian analysis of the Gaussian distribution").  An
empty topic contributes 0.  The same joint is the product, over tokens in any order, of the
one-step predictives (a Pólya urn for z, a multivariate t with ν_n − M + 1 degrees of freedom
and scale Ψ_n(κ_n + 1)/(κ_n(ν_n − M + 1)) for v); the tests check that identity.

**Word view** (``beta=``, ``vector_weight=``; a multi-view variant, not in Das et al.).  Each
token also emits its word identity from a Dirichlet–multinomial topic, and the vectors'
evidence given z is weighed by λ (a power of the *collapsed* likelihood p(v | z), the NIW
marginal of each topic's vectors; the story's ``pyro.factor`` site "v" when λ ≠ 1)::

    φ_k        ~ Dirichlet(β·1_V)          k = 1..K
    w_dn       ~ Categorical(φ_{z_dn})                  (the token's word, observed)
    v          enters as λ·log p(v | z) = λ·Σ_k log ∫ Π_{n: z_n = k} N(v_n | μ, Σ) dNIW(μ, Σ)

    log p̃(w, v, z) = λ·Σ_k log p(v_{z=k}) + Σ_k DirMult(n_k· | β) + Σ_d DirMult(n_d· | α)

The power is taken after (μ_k, Σ_k) are integrated out, so every token's conditional is
λ·log t_k(v_n) (the kernels, the split–merge ratio λ·Δ log p(v | z)).  That is not
``poutine.scale(λ)`` on v ~ N(μ, Σ): integrating N(v | μ, Σ)^λ over the NIW prior gives a
different density over z (an NIW with λ-weighted counts), which this story wrote until
7 Dec 2026 while no kernel sampled it.

With λ = 1 this is a proper generative model whose two views are independent given z (the
story simulates a vector unrelated to the word); a corpus reuses each word's vector, so the
embedding *smooths* the word topics: words that are near in the embedding share topics even
where they never co-occur.  With λ < 1 the target is the tempered joint above (a power
posterior: a proper density over z, but no simulator of the data), so the kernels are checked
by enumeration against it, not by Geweke.  λ small lets document co-occurrence (the word
view) decide the topics and the vectors pull words of one kind together.

Hyperparameters (:class:`GLDAHyper`, the data-driven defaults beside the published ones)
and their resolution from the data are in :mod:`ppltopics.models.gaussian_prior`,
re-exported here; :func:`model`, :func:`simulate`, :func:`log_joint` and the kernels use
the concrete :class:`ResolvedGLDAHyper`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
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

from ppltopics.corpus import Corpus
from ppltopics.distributions import NormalInverseWishart, RowCategorical
from ppltopics.models._story import (
    doc_lengths_tensor,
    offsets_from_lengths,
    simulate_doc_lengths,
    synthetic_vocab,
)
from ppltopics.models.gaussian_prior import (
    COV_RIDGE,
    GLDAHyper,
    ResolvedGLDAHyper,
    check_token_vectors,
    resolve_hyper,
)
from ppltopics.vectors import WordVectors

__all__ = [
    "COV_RIDGE",
    "GLDAHyper",
    "ResolvedGLDAHyper",
    "check_token_vectors",
    "resolve_hyper",
    "check_token_state",
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
    "word_view_log_marginal",
]

_DTYPE = torch.float64
_LOG_2PI = math.log(2.0 * math.pi)


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

    topic_mean: torch.Tensor | None  # (K, M); None under vector_weight ≠ 1
    topic_cov: torch.Tensor | None  # (K, M, M); None under vector_weight ≠ 1
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
    data_np = check_token_vectors(data, "data")
    if data_np.shape[0] != doc_index.numel():
        raise ValueError(
            f"data must hold one vector per token ({doc_index.numel()}), got shape "
            f"{data_np.shape}"
        )
    return num_docs, doc_index, resolve(hyper, data_np), torch.as_tensor(data_np, dtype=_DTYPE)


def check_vector_weight(vector_weight: float, data: Any) -> None:
    """λ > 0, and data given when λ ≠ 1 (a tempered density has no simulator)."""
    if not vector_weight > 0:
        raise ValueError(f"vector_weight must be > 0, got {vector_weight!r}")
    if vector_weight != 1.0 and data is None:
        raise ValueError("vector_weight != 1 tempers the vectors' evidence p(v | z): pass data "
                         "(a tempered density has no simulator)")


def topic_sites(r: Any, vector_weight: float = 1.0
                ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Sites "topic_cov", "topic_mean": (Σ_k, μ_k) ~ NIW(μ0, κ0, Ψ0, ν0) in plate "topics";
    none under λ ≠ 1, whose vectors enter through their collapsed evidence (module doc)."""
    if vector_weight != 1.0:
        return None, None
    prior = NormalInverseWishart(torch.tensor(r.mu0, dtype=_DTYPE), r.kappa0,
                                 torch.tensor(r.psi0, dtype=_DTYPE), r.nu0)
    with pyro.plate("topics", r.num_topics):
        return prior.pyro_sample("topic")  # (K, M), (K, M, M)


def token_sites(
    theta: torch.Tensor, doc_index: torch.Tensor, r: Any, topic_mean: torch.Tensor | None,
    topic_cov: torch.Tensor | None, data: torch.Tensor | None, *, words: Any = None,
    vocab_size: int | None = None, beta: float | None = None, vector_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The token sites shared by the Gaussian-topic stories (GLDA, CGTM)::

        z_n ~ Categorical(θ_{d(n)})     in plate "tokens": site "z"
        v_n ~ N(μ_{z_n}, Σ_{z_n})       site "v" (λ = 1), or the factor λ·log p(v | z) (λ ≠ 1)
        with beta: φ_k ~ Dirichlet(β·1_V) in plate "topics_w" (site "phi"),
                   w_n ~ Categorical(φ_{z_n}) (site "w", observed when ``words`` is given)

    Returns (z, v)."""
    num_tokens = int(doc_index.numel())
    phi = None
    if beta is not None:
        if words is not None:
            words = torch.as_tensor(np.asarray(words), dtype=torch.long)
            if words.shape != (num_tokens,):
                raise ValueError(f"words must hold one id per token ({num_tokens}), got "
                                 f"shape {tuple(words.shape)}")
        if vocab_size is None:
            if words is None:
                raise ValueError("the word view needs vocab_size= or observed words=")
            vocab_size = int(words.max()) + 1
        with pyro.plate("topics_w", r.num_topics):
            phi = pyro.sample("phi", dist.Dirichlet(torch.full((int(vocab_size),), float(beta),
                                                               dtype=_DTYPE)))
    tempered = vector_weight != 1.0  # then topic_sites gave no topics (module doc)
    with pyro.plate("tokens", num_tokens):
        z = pyro.sample("z", RowCategorical(theta, doc_index))
        if not tempered:
            scale_tril = torch.linalg.cholesky(topic_cov)
            v = pyro.sample("v", RowMultivariateNormal(topic_mean, scale_tril, z), obs=data)
        if phi is not None:
            pyro.sample("w", RowCategorical(phi, z), obs=words)
    if tempered:
        if z.dim() != 1:
            raise ValueError("z cannot be enumerated when vector_weight != 1")
        v = data
        pyro.factor("v", torch.tensor(vector_weight * _log_likelihood(
            data.numpy(), z.numpy().astype(np.int64), r), dtype=_DTYPE))
    return z, v


def model(
    doc_lengths: Sequence[int] | np.ndarray | torch.Tensor,
    hyper: GLDAHyper | ResolvedGLDAHyper,
    data: torch.Tensor | np.ndarray | None = None,
    *,
    words: torch.Tensor | np.ndarray | None = None,
    vocab_size: int | None = None,
    beta: float | None = None,
    vector_weight: float = 1.0,
) -> GLDASample:
    """Gaussian LDA as a plain Pyro model; simulates the token vectors when ``data`` is None.

    ::

        Σ_k ~ IW(Ψ0, ν0), μ_k ~ N(μ0, Σ_k/κ0)    in plate "topics" (K): sites "topic_cov",
                                                  "topic_mean" (NormalInverseWishart.pyro_sample)
        θ_d ~ Dirichlet(α)                        in plate "docs" (D):   site "theta"
        z_n ~ Categorical(θ_{d(n)})               in plate "tokens" (N): site "z"
        v_n ~ N(μ_{z_n}, Σ_{z_n})                 site "v", observed when data is given
        with vector_weight λ ≠ 1 (module doc; data required, no topic sites):
        factor λ·log p(v | z)                     site "v": pyro.factor of the collapsed
                                                  NIW marginal (:func:`log_likelihood_collapsed`)
        with beta (the word view, module doc):
        φ_k ~ Dirichlet(β·1_V)                    in plate "topics_w" (K): site "phi"
        w_n ~ Categorical(φ_{z_n})                site "w", observed when words are given

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
    words, vocab_size, beta, vector_weight
        The word view: ``beta`` > 0 turns it on over a vocabulary of ``vocab_size`` words
        (default: ``max(words) + 1``), ``words`` the (N,) observed word ids or None;
        ``vector_weight`` λ ≠ 1 replaces sites "topic_mean", "topic_cov" and "v" by the
        factor λ·log p(v | z) (the returned ``topic_mean``, ``topic_cov`` are None; ``data``
        is then required: a tempered density has no simulator).

    Float64 throughout.  ``z`` and ``v`` are :class:`RowCategorical` /
    :class:`RowMultivariateNormal` sites (no N×K or N×M×M table is formed); ``z`` may be
    enumerated with ``max_plate_nesting=1`` (λ = 1 only).
    """
    check_vector_weight(vector_weight, data)
    num_docs, doc_index, r, data = story_inputs(doc_lengths, hyper, data, resolve_hyper)
    alpha = torch.tensor(r.alpha, dtype=_DTYPE)
    topic_mean, topic_cov = topic_sites(r, vector_weight)
    with pyro.plate("docs", num_docs):
        theta = pyro.sample("theta", dist.Dirichlet(alpha))  # (D, K)
    z, v = token_sites(theta, doc_index, r, topic_mean, topic_cov, data, words=words,
                       vocab_size=vocab_size, beta=beta, vector_weight=vector_weight)
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
    r = resolve_hyper(hyper, None, dim=dim)
    lengths = simulate_doc_lengths(num_docs, doc_length, poisson, seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with poutine.block():
            s = model(lengths, r)
    n = int(lengths.sum())
    vocab = synthetic_vocab(n)
    v = s.v.numpy().astype(np.float64)
    corpus = Corpus(
        np.arange(n, dtype=np.int32), offsets_from_lengths(lengths), vocab,
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
    r = resolve_hyper(hyper, None, dim=dim)
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
    vocab = synthetic_vocab(V, "w")
    corpus = Corpus(
        w.numpy().astype(np.int32), offsets_from_lengths(lengths), vocab,
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


def check_token_state(vectors: Any, doc_offsets: Any, z: Any,
                      hyper: GLDAHyper | ResolvedGLDAHyper
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, ResolvedGLDAHyper]:
    """``(vectors, doc_offsets, z, resolved hyper)`` checked against one another: (N, M)
    finite vectors, offsets from 0 to N, one topic in [0, K) per token."""
    x = check_token_vectors(vectors)
    off = np.asarray(doc_offsets).astype(np.int64, copy=False).ravel()
    zz = np.asarray(z).astype(np.int64, copy=False).ravel()
    n = x.shape[0]
    if zz.shape != (n,):
        raise ValueError(f"z has {zz.size} entries but there are {n} token vectors")
    if off.size < 2 or off[0] != 0 or off[-1] != n or (np.diff(off) < 0).any():
        raise ValueError("doc_offsets must be non-decreasing, start at 0 and end at len(vectors)")
    r = resolve_hyper(hyper, x)
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
    x, _, zz, r = check_token_state(vectors, doc_offsets, z, hyper)
    return _log_likelihood(x, zz, r)


def log_prior_collapsed(
    vectors: Any, doc_offsets: Any, z: Any, hyper: GLDAHyper | ResolvedGLDAHyper
) -> float:
    """Collapsed log p(z | α) = Σ_d [lgamma(Σα) − lgamma(N_d + Σα) + Σ_k (lgamma(n_dk + α_k)
    − lgamma(α_k))]."""
    _, off, zz, r = check_token_state(vectors, doc_offsets, z, hyper)
    return _log_prior(off, zz, r.alpha)


def word_view_log_marginal(nkw: np.ndarray, beta: float) -> float:
    """Σ_k DirMult(n_k· | β): log p(w | z) of the word view with every φ_k ~ Dirichlet(β·1_V)
    integrated out, from the (V, K) counts n_kw::

        Σ_k [log Γ(Vβ) − log Γ(n_k + Vβ) + Σ_w (log Γ(n_kw + β) − log Γ(β))]
    """
    nkw = np.asarray(nkw, dtype=np.float64)
    V = nkw.shape[0]
    nk = nkw.sum(axis=0)
    return float((gammaln(V * beta) - gammaln(nk + V * beta)).sum()
                 + (gammaln(nkw + beta) - gammaln(beta)).sum())


def log_joint(
    vectors: Any, doc_offsets: Any, z: Any, hyper: GLDAHyper | ResolvedGLDAHyper,
    *, words: Any = None, vocab_size: int | None = None, beta: float | None = None,
    vector_weight: float = 1.0,
) -> float:
    """Collapsed log p(v, z) = :func:`log_likelihood_collapsed` + :func:`log_prior_collapsed`.

    θ and every (μ_k, Σ_k) integrated out (module docstring).  Invariant to relabelling the
    topics when α is symmetric.  Cost O(N·M² + K·M³).  With the word view (``beta``,
    ``words``, ``vocab_size``, ``vector_weight``; module doc) the tempered joint
    λ·log p(v | z) + :func:`word_view_log_marginal` + log p(z).
    """
    x, off, zz, r = check_token_state(vectors, doc_offsets, z, hyper)
    out = vector_weight * _log_likelihood(x, zz, r) + _log_prior(off, zz, r.alpha)
    if beta is not None:
        w = np.asarray(words, dtype=np.int64)
        V = int(w.max()) + 1 if vocab_size is None else int(vocab_size)
        nkw = np.zeros((V, r.num_topics))
        np.add.at(nkw, (w, zz), 1.0)
        out += word_view_log_marginal(nkw, beta)
    return out
