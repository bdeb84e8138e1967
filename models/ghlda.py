"""Gaussian hierarchical LDA (GhLDA; Yoshida et al., PLoS ONE 2023) as a Pyro generative story.

hLDA's tree (:mod:`ppltopics.models.hlda`: nCRP paths, GEM levels) with the Gaussian topics
of GLDA (:mod:`ppltopics.models.glda`) on its nodes: every node t of the tree is a Gaussian in
the word-embedding space, its covariance prior scaled by its level::

    c          ~ nCRP(γ)                                 the D document paths
    (μ_t, Σ_t) ~ NIW(μ0, κ0, Ψ0·r_{level(t)}, ν0)        every node t: Σ_t ~ IW(Ψ0 r_l, ν0),
                                                          μ_t | Σ_t ~ N(μ0, Σ_t/κ0)
    θ_d        ~ GEM(m, π)                               over the L levels
    z_dn       ~ Categorical(θ_d)                        level of token n of document d
    v_dn       ~ N(μ_t, Σ_t),  t = c_d[z_dn]             the token's word vector (observed)

``r = psi_ratio`` shrinks the topics' spread down the tree (the paper: Ψ per level in the
ratio [1, 0.8, 0.6, 0.4] at depth 4, "the top level identical to GLDA").  Conventions for
``paths``, ``parent``, ``node_level`` and ``levels`` are those of :mod:`ppltopics.models.hlda`.

Collapsed joint (every (μ_t, Σ_t) and θ_d integrated out; :func:`log_joint`)::

    log p(v, z, c) = log nCRP(c | γ) + Σ_d log p(z_d | GEM(m, π))
                   + Σ_t log p(v_{t} | NIW(μ0, κ0, Ψ0 r_{level(t)}, ν0))

the last term the NIW marginal of the vectors at node t
(:func:`ppltopics.models.glda.log_marginal_niw`, Murphy 2007; empty nodes give 0).

Hyperparameters (:class:`GhLDAHyper`), ours beside the published ones
(:meth:`GhLDAHyper.reference`)::

    value      ours (default)                     GhLDA paper / code (Yoshida 2023)
    depth      4                                  4
    gamma      0.1                                0.1
    gem_mean   0.5                                0.5
    gem_scale  100                                100
    kappa0     0.1                                0.1
    nu0        M + 2                              M + 0.1 (code; the paper prints "v = 0.1")
    mu0        mean token vector                  mean token vector
    psi0       (ν0 − M − 1)·Cov(token vectors)    50·I (GloVe), 40·I (word2vec), 20·I (fastText)
    psi_ratio  linspace(1, 0.4, L)                (1, 0.8, 0.6, 0.4)

``psi_ratio`` for depth ≠ 4: the default is ``linspace(1, 0.4, L)`` — exactly the paper's
(1, 0.8, 0.6, 0.4) at L = 4, and at other depths the same range (root = the GLDA prior,
leaves 0.4 of it) evenly spaced, e.g. (1, 0.7, 0.4) at L = 3, (1,) at L = 1.  An explicit
``psi_ratio`` must have exactly L positive entries.  The data-driven Ψ0 is GLDA's
(:meth:`ppltopics.models.glda.GLDAHyper.resolve`): the root's prior mean covariance
E[Σ] = Ψ0/(ν0 − M − 1) is the empirical covariance of the token vectors, level l's is
r_l times it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pyro
import torch
from pyro import poutine

from ppltopics._validation import check_int
from ppltopics.corpus import Corpus
from ppltopics.distributions import (
    NormalInverseWishart,
    gem_level_log_prob,
    ncrp_log_prob,
    parent_level_from_paths,
)
from ppltopics.models._story import (
    offsets_from_lengths,
    planted_paths_story,
    simulate_doc_lengths,
)
from ppltopics.models.gaussian_prior import check_token_vectors
from ppltopics.models.glda import (
    GLDAHyper,
    ResolvedGLDAHyper,
    RowMultivariateNormal,
    log_marginal_niw,
)
from ppltopics.models.hlda import (
    check_tree_params,
    check_tree_state,
    doc_level_counts,
    node_of_tokens,
    tree_prologue,
)
from ppltopics.vectors import WordVectors

__all__ = [
    "GhLDAHyper",
    "ResolvedGhLDAHyper",
    "GhLDASample",
    "SimulatedGhLDA",
    "default_psi_ratio",
    "model",
    "simulate",
    "log_likelihood_collapsed",
    "log_prior_collapsed",
    "log_joint",
]

_DTYPE = torch.float64


def default_psi_ratio(depth: int) -> tuple[float, ...]:
    """``linspace(1, 0.4, L)``: (1, 0.8, 0.6, 0.4) at L = 4 (the paper), (1,) at L = 1."""
    depth = check_int("depth", depth)
    if depth == 1:
        return (1.0,)
    return tuple(round(float(v), 12) for v in np.linspace(1.0, 0.4, depth))


def _check_ratio(psi_ratio: Any, depth: int) -> tuple[float, ...]:
    if psi_ratio is None:
        return default_psi_ratio(depth)
    if isinstance(psi_ratio, str):
        raise ValueError(f"psi_ratio must be {depth} positive floats, got {psi_ratio!r}")
    try:
        arr = np.asarray(psi_ratio, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"psi_ratio must be {depth} positive floats: {exc}") from None
    if arr.shape != (depth,):
        raise ValueError(f"psi_ratio must have one entry per level ({depth}), got shape "
                         f"{arr.shape}")
    if not (np.all(np.isfinite(arr)) and np.all(arr > 0)):
        raise ValueError(f"psi_ratio must be positive and finite, got {arr.tolist()}")
    return tuple(float(v) for v in arr)


# ---------------------------------------------------------------------- hyperparameters
@dataclass(frozen=True)
class GhLDAHyper:
    """Hyperparameters of GhLDA, the NIW ones possibly left to the data.

    Tree part as :class:`ppltopics.models.hlda.HLDAHyper` (``depth``, ``gamma``, ``gem_mean``,
    ``gem_scale``); topic part as :class:`ppltopics.models.glda.GLDAHyper` (``kappa0``,
    ``nu0``, ``mu0``, ``psi0``: ``None`` = data-driven, a float s = s·I, or an M×M matrix) plus
    ``psi_ratio`` (L positive floats, Ψ of level l is ``psi0·psi_ratio[l]``; ``None`` =
    :func:`default_psi_ratio`).  Checks needing no data run at construction (``ValueError``);
    :meth:`resolve` fixes the rest.
    """

    depth: int = 4
    gamma: float = 0.1
    gem_mean: float = 0.5
    gem_scale: float = 100.0
    kappa0: float = 0.1
    nu0: float | None = None
    mu0: tuple[float, ...] | None = None
    psi0: float | tuple[tuple[float, ...], ...] | None = None
    psi_ratio: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        depth = check_tree_params(self)
        object.__setattr__(self, "psi_ratio", _check_ratio(self.psi_ratio, depth))
        topic = self.topic_hyper  # validates κ0, ν0, μ0, Ψ0 (GLDAHyper's checks)
        object.__setattr__(self, "kappa0", topic.kappa0)
        object.__setattr__(self, "nu0", topic.nu0)
        object.__setattr__(self, "mu0", topic.mu0)
        object.__setattr__(self, "psi0", topic.psi0)

    @property
    def topic_hyper(self) -> GLDAHyper:
        """The root level's NIW prior as a one-topic :class:`GLDAHyper`."""
        return GLDAHyper(num_topics=1, alpha=1.0, kappa0=self.kappa0, nu0=self.nu0,
                         mu0=self.mu0, psi0=self.psi0)

    @property
    def dim(self) -> int | None:
        return self.topic_hyper.dim

    @classmethod
    def reference(cls, dim: int, preset: str = "ghlda", **overrides: Any) -> GhLDAHyper:
        """The published settings (Yoshida et al. 2023 and their code): ``"ghlda"`` = depth 4,
        γ = 0.1, m = 0.5, π = 100, κ0 = 0.1, ν0 = M + 0.1 (their code), Ψ0 = 50·I (GloVe),
        ratio (1, 0.8, 0.6, 0.4), μ0 = mean token vector; ``"ghlda-word2vec"`` Ψ0 = 40·I,
        ``"ghlda-fasttext"`` Ψ0 = 20·I.  ``overrides`` replace single fields."""
        dim = check_int("dim", dim)
        psi = {"ghlda": 50.0, "ghlda-word2vec": 40.0, "ghlda-fasttext": 20.0}
        if preset not in psi:
            raise ValueError(f"unknown preset {preset!r}: use one of {sorted(psi)}")
        values: dict[str, Any] = {"depth": 4, "gamma": 0.1, "gem_mean": 0.5, "gem_scale": 100.0,
                                  "kappa0": 0.1, "nu0": dim + 0.1, "mu0": None,
                                  "psi0": psi[preset], "psi_ratio": (1.0, 0.8, 0.6, 0.4)}
        values.update(overrides)
        if "depth" in overrides and "psi_ratio" not in overrides:
            values["psi_ratio"] = None
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        def plain(x: Any) -> Any:
            return [plain(v) for v in x] if isinstance(x, tuple) else x

        return {"depth": self.depth, "gamma": self.gamma, "gem_mean": self.gem_mean,
                "gem_scale": self.gem_scale, "kappa0": self.kappa0, "nu0": self.nu0,
                "mu0": plain(self.mu0), "psi0": plain(self.psi0),
                "psi_ratio": list(self.psi_ratio)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GhLDAHyper:
        return cls(**{k: d[k] for k in ("depth", "gamma", "gem_mean", "gem_scale", "kappa0",
                                        "nu0", "mu0", "psi0", "psi_ratio") if k in d})

    def resolve(self, vectors: Any = None, *, counts: Any = None,
                dim: int | None = None) -> ResolvedGhLDAHyper:
        """Fix μ0, ν0, Ψ0 as :meth:`ppltopics.models.glda.GLDAHyper.resolve` does (from the
        ``(N, M)`` token vectors, or a ``(V, M)`` table with ``counts``, or without data from
        ``dim``: μ0 = 0, Ψ0 = (ν0 − M − 1)·I); return a :class:`ResolvedGhLDAHyper`."""
        r = self.topic_hyper.resolve(vectors, counts=counts, dim=dim)
        return ResolvedGhLDAHyper(
            depth=self.depth, gamma=self.gamma, gem_mean=self.gem_mean,
            gem_scale=self.gem_scale, mu0=r.mu0, kappa0=r.kappa0, nu0=r.nu0, psi0=r.psi0,
            psi_ratio=np.asarray(self.psi_ratio), derived=r.derived, psi0_ridge=r.psi0_ridge,
            num_tokens=r.num_tokens)

    def resolve_corpus(self, corpus: Corpus, word_vectors: WordVectors) -> ResolvedGhLDAHyper:
        """:meth:`resolve` with the token vectors of ``corpus`` (via word counts)."""
        return self.resolve(word_vectors.matrix(corpus.vocab), counts=corpus.word_counts())


@dataclass(frozen=True, eq=False)
class ResolvedGhLDAHyper:
    """Concrete GhLDA hyperparameters (float64 read-only arrays), validated on construction.

    ``psi0`` (M, M) is the root's scale; level l uses ``psi0·psi_ratio[l]``
    (:meth:`level_psi0`, :meth:`level_hyper`).  ``derived``, ``psi0_ridge`` and
    ``num_tokens`` as in :class:`ppltopics.models.glda.ResolvedGLDAHyper`.
    """

    depth: int
    gamma: float
    gem_mean: float
    gem_scale: float
    mu0: np.ndarray
    kappa0: float
    nu0: float
    psi0: np.ndarray
    psi_ratio: np.ndarray
    derived: tuple[str, ...] = ()
    psi0_ridge: float = 0.0
    num_tokens: int | None = field(default=None)

    def __post_init__(self) -> None:
        depth = check_tree_params(self)
        ratio = np.asarray(_check_ratio(self.psi_ratio, depth))
        ratio.flags.writeable = False
        object.__setattr__(self, "psi_ratio", ratio)
        root = ResolvedGLDAHyper(num_topics=1, alpha=1.0, mu0=self.mu0, kappa0=self.kappa0,
                                 nu0=self.nu0, psi0=self.psi0)
        object.__setattr__(self, "mu0", root.mu0)
        object.__setattr__(self, "psi0", root.psi0)
        object.__setattr__(self, "kappa0", root.kappa0)
        object.__setattr__(self, "nu0", root.nu0)
        object.__setattr__(self, "derived", tuple(self.derived))
        object.__setattr__(self, "psi0_ridge", float(self.psi0_ridge))
        if self.num_tokens is not None:
            object.__setattr__(self, "num_tokens", int(self.num_tokens))

    @property
    def dim(self) -> int:
        return int(self.mu0.size)

    def level_psi0(self) -> np.ndarray:
        """Ψ of every level, ``psi0·psi_ratio[l]``: (L, M, M) float64."""
        return self.psi_ratio[:, None, None] * self.psi0[None]

    def level_hyper(self, level: int) -> ResolvedGLDAHyper:
        """The NIW prior of level ``level`` as a one-topic :class:`ResolvedGLDAHyper` (for
        :func:`ppltopics.models.glda.log_marginal_niw` and the GLDA test helpers)."""
        if not 0 <= int(level) < self.depth:
            raise ValueError(f"level must be in [0, {self.depth}), got {level}")
        return ResolvedGLDAHyper(num_topics=1, alpha=1.0, mu0=self.mu0, kappa0=self.kappa0,
                                 nu0=self.nu0, psi0=self.psi0 * self.psi_ratio[int(level)])

    def validate(self, num_tokens: int | None = None, dim: int | None = None
                 ) -> ResolvedGhLDAHyper:
        if dim is not None and int(dim) != self.dim:
            raise ValueError(f"dimension mismatch: the hyperparameters have M = {self.dim} but "
                             f"the vectors have dimension {dim}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"depth": self.depth, "gamma": self.gamma, "gem_mean": self.gem_mean,
                "gem_scale": self.gem_scale, "mu0": self.mu0.tolist(), "kappa0": self.kappa0,
                "nu0": self.nu0, "psi0": self.psi0.tolist(),
                "psi_ratio": self.psi_ratio.tolist(), "derived": list(self.derived),
                "psi0_ridge": self.psi0_ridge, "num_tokens": self.num_tokens}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ResolvedGhLDAHyper:
        return cls(depth=d["depth"], gamma=d["gamma"], gem_mean=d["gem_mean"],
                   gem_scale=d["gem_scale"], mu0=np.asarray(d["mu0"]), kappa0=d["kappa0"],
                   nu0=d["nu0"], psi0=np.asarray(d["psi0"]),
                   psi_ratio=np.asarray(d["psi_ratio"]), derived=tuple(d.get("derived", ())),
                   psi0_ridge=d.get("psi0_ridge", 0.0), num_tokens=d.get("num_tokens"))


def _resolved(hyper: GhLDAHyper | ResolvedGhLDAHyper, vectors: np.ndarray | None,
              dim: int | None = None) -> ResolvedGhLDAHyper:
    if isinstance(hyper, ResolvedGhLDAHyper):
        return hyper.validate(dim=vectors.shape[1] if vectors is not None else dim)
    if isinstance(hyper, GhLDAHyper):
        return hyper.resolve(vectors, dim=dim)
    raise TypeError(f"hyper must be a GhLDAHyper or ResolvedGhLDAHyper, got "
                    f"{type(hyper).__name__}")


# ---------------------------------------------------------------------- the Pyro story
class GhLDASample(NamedTuple):
    """Values of one run of :func:`model`."""

    paths: torch.Tensor  # (D, L) long, canonical node ids
    node_mean: torch.Tensor  # (num_nodes, M)
    node_cov: torch.Tensor  # (num_nodes, M, M)
    theta: torch.Tensor  # (D, L)
    z: torch.Tensor  # (N,) level of each token
    v: torch.Tensor  # (N, M)
    doc_index: torch.Tensor  # (N,)
    parent: np.ndarray  # (num_nodes,) int32
    node_level: np.ndarray  # (num_nodes,) int32


def model(
    doc_lengths: Sequence[int] | np.ndarray | torch.Tensor,
    hyper: GhLDAHyper | ResolvedGhLDAHyper,
    data: torch.Tensor | np.ndarray | None = None,
) -> GhLDASample:
    """GhLDA as a plain Pyro model; simulates the token vectors when ``data`` is None.

    ::

        c          ~ nCRP(γ, L, D)               site "paths" (D, L)
        θ_d        ~ GEM(m, π)                   plate "docs",   site "theta"
        z_n        ~ Categorical(θ_{d(n)})       plate "tokens", site "z" (the level)
        Σ_t ~ IW(Ψ0 r_{level(t)}, ν0), μ_t ~ N(μ0, Σ_t/κ0)
                                                 plate "nodes",  sites "node_cov", "node_mean"
        v_n        ~ N(μ_t, Σ_t), t = c_{d(n)}[z_n]   site "v", observed when data is given

    ``hyper``: a :class:`ResolvedGhLDAHyper`, or a :class:`GhLDAHyper` resolved against
    ``data`` (without data it must fix M through μ0 or a Ψ0 matrix).  ``data``: ``(N, M)``
    token vectors (documents concatenated) or None.  Float64 throughout.
    """
    if data is None:
        r = _resolved(hyper, None)
        x = None
    else:
        x_np = check_token_vectors(data, "data")
        r = _resolved(hyper, x_np)
        x = torch.as_tensor(x_np, dtype=_DTYPE)
    t = tree_prologue(doc_lengths, r)
    if x is not None and x.shape[0] != t.doc_index.numel():
        raise ValueError(f"data must hold one vector per token ({t.doc_index.numel()}), got "
                         f"shape {tuple(x.shape)}")
    num_nodes = int(t.parent.size)
    psi = torch.as_tensor(r.level_psi0()[np.maximum(t.node_level, 0)], dtype=_DTYPE)
    prior = NormalInverseWishart(torch.tensor(r.mu0, dtype=_DTYPE), r.kappa0, psi, r.nu0,
                                 validate_args=False)
    with pyro.plate("nodes", num_nodes):
        node_mean, node_cov = prior.pyro_sample("node")  # (T, M), (T, M, M)
    node = t.paths[t.doc_index, t.z]  # c_{d(n)}[z_n]
    with t.tokens:
        v = pyro.sample("v", RowMultivariateNormal(node_mean, torch.linalg.cholesky(node_cov),
                                                   node), obs=x)
    return GhLDASample(t.paths, node_mean, node_cov, t.theta, t.z, v, t.doc_index, t.parent,
                       t.node_level)


# ---------------------------------------------------------------------- simulation
class SimulatedGhLDA(NamedTuple):
    """A corpus drawn from the GhLDA story: ``corpus, vectors, truth = simulate(...)``.

    As in :func:`ppltopics.models.glda.simulate`, every token is its own word type
    (``word_ids = arange(N)``, ``vectors.vectors[n]`` its vector).  ``truth`` holds numpy
    arrays ``paths`` (D, L) int32, ``parent``, ``node_level`` (num_nodes,) int32, ``levels``
    (N,) int32, ``theta`` (D, L), ``node_mean`` (num_nodes, M), ``node_cov``
    (num_nodes, M, M) float64.  ``hyper`` is the resolved hyperparameters used.
    """

    corpus: Corpus
    vectors: WordVectors
    truth: dict[str, np.ndarray]
    hyper: ResolvedGhLDAHyper

    @property
    def token_vectors(self) -> np.ndarray:
        """``(N, M)`` float64 vector of every token (corpus order)."""
        return np.asarray(self.vectors.vectors, dtype=np.float64)[self.corpus.word_ids]


def simulate(
    num_docs: int,
    doc_length: int | Sequence[int] | np.ndarray,
    hyper: GhLDAHyper | ResolvedGhLDAHyper,
    seed: int = 0,
    *,
    dim: int | None = None,
    poisson: bool = False,
    paths: np.ndarray | None = None,
) -> SimulatedGhLDA:
    """Draw a corpus by running :func:`model` forward.

    ``hyper`` is resolved without data (explicit μ0/Ψ0, else μ0 = 0 and Ψ0 = (ν0 − M − 1)·I
    with M = ``dim``).  ``doc_length``/``poisson`` as :func:`ppltopics.models.lda.simulate`;
    ``paths`` plants a tree as :func:`ppltopics.models.hlda.simulate`.  Same seed ⇒
    identical corpus and truth (torch's RNG forked and restored).
    """
    r = _resolved(hyper, None, dim=dim)
    lengths = simulate_doc_lengths(num_docs, doc_length, poisson, seed)
    story = planted_paths_story(model, paths, num_docs, r.depth)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with poutine.block():
            s = story(lengths, r)
    n = int(lengths.sum())
    width = max(6, len(str(n - 1)))
    vocab = [f"v{i:0{width}d}" for i in range(n)]
    corpus = Corpus(np.arange(n, dtype=np.int32), offsets_from_lengths(lengths), vocab,
                    report={"simulated": "ghlda", "seed": int(seed)})
    vectors = WordVectors(vocab, s.v.numpy().astype(np.float64),
                          report={"source": "simulated ghlda"})
    truth = {
        "paths": s.paths.numpy().astype(np.int32),
        "parent": s.parent,
        "node_level": s.node_level,
        "levels": s.z.numpy().astype(np.int32),
        "theta": s.theta.numpy().astype(np.float64),
        "node_mean": s.node_mean.numpy().astype(np.float64),
        "node_cov": s.node_cov.numpy().astype(np.float64),
    }
    return SimulatedGhLDA(corpus, vectors, truth, r)


# ---------------------------------------------------------------------- collapsed densities
def _check(vectors: Any, doc_offsets: Any, paths: Any, levels: Any,
           hyper: GhLDAHyper | ResolvedGhLDAHyper):
    x = check_token_vectors(vectors)
    r = _resolved(hyper, x)
    p, z, off = check_tree_state(paths, levels, doc_offsets, r.depth)
    if int(off[-1]) != x.shape[0]:
        raise ValueError(f"doc_offsets end at {int(off[-1])} but there are {x.shape[0]} "
                         "token vectors")
    return x, p, z, off, r


def log_likelihood_collapsed(vectors: Any, doc_offsets: Any, paths: Any, levels: Any,
                             hyper: GhLDAHyper | ResolvedGhLDAHyper) -> float:
    """Collapsed log p(v | z, c): Σ over occupied nodes t of the NIW marginal of the vectors
    at t under level(t)'s prior (:func:`ppltopics.models.glda.log_marginal_niw` with
    Ψ0·psi_ratio[level(t)]).  ``vectors`` (N, M) in corpus token order.  Plain numpy."""
    x, p, z, off, r = _check(vectors, doc_offsets, paths, levels, hyper)
    node = node_of_tokens(p, z, off)
    _, node_level = parent_level_from_paths(p)
    order = np.argsort(node, kind="stable")
    ids, starts, counts = np.unique(node[order], return_index=True, return_counts=True)
    level_hyper = [r.level_hyper(lev) for lev in range(r.depth)]
    xs = x[order]
    return float(sum(log_marginal_niw(xs[s:s + c], level_hyper[node_level[t]])
                     for t, s, c in zip(ids, starts, counts, strict=True)))


def log_prior_collapsed(doc_offsets: Any, paths: Any, levels: Any,
                        hyper: GhLDAHyper | ResolvedGhLDAHyper) -> float:
    """log nCRP(c | γ) + Σ_d log p(z_d | GEM(m, π)) (θ integrated out); needs no vectors."""
    off = np.asarray(doc_offsets, dtype=np.int64)
    p, z, off = check_tree_state(paths, levels, off, hyper.depth)
    counts = doc_level_counts(z, off, hyper.depth)
    return (ncrp_log_prob(p, hyper.gamma)
            + float(gem_level_log_prob(counts, hyper.gem_mean, hyper.gem_scale).sum()))


def log_joint(vectors: Any, doc_offsets: Any, paths: Any, levels: Any,
              hyper: GhLDAHyper | ResolvedGhLDAHyper) -> float:
    """Collapsed log p(v, z, c) of GhLDA (module docstring)::

        log nCRP(c | γ) + Σ_d log p(z_d | GEM) + Σ_t log p(v_t | NIW(μ0, κ0, Ψ0 r_{level(t)}, ν0))

    ``vectors`` (N, M) token vectors, ``doc_offsets`` (D + 1,), ``paths`` (D, L) any node ids
    forming a tree, ``levels`` (N,).  A :class:`GhLDAHyper` is resolved against ``vectors``.
    Invariant to relabelling nodes.  Cost O(N·M² + num_nodes·M³).
    """
    x, p, z, off, r = _check(vectors, doc_offsets, paths, levels, hyper)
    return (log_prior_collapsed(off, p, z, r)
            + log_likelihood_collapsed(x, off, p, z, r))
