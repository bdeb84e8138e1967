"""Hierarchical LDA (Blei, Griffiths & Jordan, JACM 2010) as a Pyro generative story.

"The nested Chinese restaurant process and Bayesian nonparametric inference of topic
hierarchies": topics sit on the nodes of a tree of depth ``L`` (levels 0..L−1, the root at
level 0); each document follows one root-to-leaf path and mixes the ``L`` topics on it::

    c      ~ nCRP(γ)                     the D document paths (a tree grows with them)
    φ_t    ~ Dirichlet(η_{level(t)}·1_V) for every node t of the tree
    θ_d    ~ GEM(m, π)                   over the L levels (truncated stick breaking)
    z_dn   ~ Categorical(θ_d)            level of token n of document d
    w_dn   ~ Categorical(φ_{c_d[z_dn]})  the word, from the topic of its path at that level

Conventions shared with the tree kernels (``inference/_tree.py``, ``hlda.py``, ``ghlda.py``):
``paths`` int (D, L) with ``paths[d, 0] = 0`` the root; ``parent`` int32 (num_nodes,) with
``parent[0] = −1``; ``node_level`` int32 (num_nodes,); ``levels`` int (N,) the level of every
token in corpus flat token order (``corpus.word_ids``).  Simulated trees number their nodes in
creation order (:func:`ppltopics.distributions.canonical_paths`).

Integrating out every φ_t (Dirichlet–multinomial) and every θ_d (Beta sticks, a Pólya urn)
gives the *collapsed* joint the Gibbs kernels target (:func:`log_joint`)::

    log p(w, z, c) = log nCRP(c | γ)                                          (tree edges)
                   + Σ_d Σ_{l<L−1} [log B(mπ + n_dl, (1−m)π + n_d,>l) − log B(mπ, (1−m)π)]
                   + Σ_t [lgamma(Vη_t) − lgamma(n_t + Vη_t)
                          + Σ_v (lgamma(n_tv + η_t) − lgamma(η_t))]

with ``n_dl`` the tokens of document d at level l, ``n_tv`` the tokens of word v at node t
(:func:`ppltopics.distributions.ncrp_log_prob`,
:func:`ppltopics.distributions.gem_level_log_prob`).

Hyperparameters (:class:`HLDAHyper`; names of Blei's hlda-c in brackets)::

    depth      L = 4            levels including the root [DEPTH]   (GhLDA paper, hlda-c d4)
    gamma      γ = 0.1          nCRP new-branch weight [GAM]        (GhLDA paper, tomotopy;
                                                                     hlda-c's example uses 1.0)
    gem_mean   m = 0.5          GEM mean [GEM_MEAN]                 (Blei 2010, GhLDA paper)
    gem_scale  π = 100          GEM scale [GEM_SCALE]               (Blei 2010, GhLDA paper)
    eta        η_l = 2·2^{−l}   topic Dirichlet per level [ETA]:    (2, 1, 0.5, 0.25) at L = 4
                                (the GhLDA paper's hLDA setting; a scalar is one η for all)

``gamma`` is one scalar for every level (hlda-c allows one per level; not supported here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from scipy.special import gammaln

from ppltopics._validation import check_int, check_positive
from ppltopics.corpus import Corpus
from ppltopics.distributions import (
    GEM,
    NestedCRP,
    RowCategorical,
    canonical_paths,
    gem_level_log_prob,
    ncrp_log_prob,
    parent_level_from_paths,
)
from ppltopics.models._story import (
    doc_lengths_tensor,
    offsets_from_lengths,
    planted_paths_story,
    simulate_doc_lengths,
    synthetic_vocab,
)

__all__ = [
    "HLDAHyper",
    "HLDASample",
    "SimulatedHLDA",
    "model",
    "simulate",
    "default_eta",
    "check_tree_params",
    "check_tree_state",
    "doc_level_counts",
    "node_of_tokens",
    "log_prior_levels",
    "log_likelihood_collapsed",
    "log_likelihood_from_counts",
    "log_joint",
    "log_joint_from_counts",
    "canonical_state",
    "TreePrologue",
    "tree_prologue",
]

_DTYPE = torch.float64


# ---------------------------------------------------------------------- validation helpers
def check_tree_params(hyper: Any) -> int:
    """Validate and normalise the tree fields (depth, gamma, gem_mean, gem_scale) of a frozen
    hyperparameter dataclass in place; returns the depth."""
    m = check_positive("gem_mean", hyper.gem_mean)
    if not m < 1.0:
        raise ValueError(f"gem_mean must lie in (0, 1), got {m}")
    values = {"depth": check_int("depth", hyper.depth),
              "gamma": check_positive("gamma", hyper.gamma),
              "gem_mean": m, "gem_scale": check_positive("gem_scale", hyper.gem_scale)}
    for name, value in values.items():
        object.__setattr__(hyper, name, value)
    return values["depth"]


def default_eta(depth: int) -> tuple[float, ...]:
    """η per level ``2·2^{−l}``: (2, 1, 0.5, 0.25) at depth 4 (GhLDA paper's hLDA setting)."""
    return tuple(2.0 * 0.5**lev for lev in range(check_int("depth", depth)))


# ---------------------------------------------------------------------- hyperparameters
@dataclass(frozen=True)
class HLDAHyper:
    """Hyperparameters of hLDA (see the module docstring for the defaults and sources).

    Parameters
    ----------
    depth
        ``L``, levels including the root (integer ≥ 1).
    gamma
        nCRP parameter γ > 0 (weight of a new branch at every node).
    gem_mean, gem_scale
        GEM(m, π) level prior: m ∈ (0, 1), π > 0; sticks ``V ~ Beta(mπ, (1 − m)π)``.
    eta
        Symmetric Dirichlet parameter of the node topics: one positive float for all levels or
        ``L`` floats (one per level); ``None`` = :func:`default_eta`.

    Frozen and hashable (η is stored as a float or a tuple); bad values raise ``ValueError``.
    """

    depth: int = 4
    gamma: float = 0.1
    gem_mean: float = 0.5
    gem_scale: float = 100.0
    eta: float | tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        depth = check_tree_params(self)
        eta = default_eta(depth) if self.eta is None else self.eta
        if isinstance(eta, torch.Tensor):
            eta = eta.detach().cpu().numpy()
        if isinstance(eta, str) or isinstance(eta, bool):
            raise ValueError(f"eta must be a positive float or {depth} of them, got {eta!r}")
        if np.ndim(eta) == 0:
            eta = check_positive("eta", eta)
        else:
            arr = np.asarray(eta, dtype=np.float64)
            if arr.ndim != 1 or arr.size != depth:
                raise ValueError(f"eta must be one float or one per level ({depth}), got "
                                 f"shape {arr.shape}")
            eta = tuple(check_positive("eta", v) for v in arr)
        object.__setattr__(self, "eta", eta)

    @property
    def eta_vector(self) -> np.ndarray:
        """η per level, float64 (L,)."""
        if isinstance(self.eta, tuple):
            return np.asarray(self.eta, dtype=np.float64)
        return np.full(self.depth, self.eta, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        eta = list(self.eta) if isinstance(self.eta, tuple) else self.eta
        return {"depth": self.depth, "gamma": self.gamma, "gem_mean": self.gem_mean,
                "gem_scale": self.gem_scale, "eta": eta}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HLDAHyper:
        eta = d.get("eta")
        return cls(depth=d["depth"], gamma=d["gamma"], gem_mean=d["gem_mean"],
                   gem_scale=d["gem_scale"], eta=tuple(eta) if isinstance(eta, list) else eta)

    def validate(self, vocab_size: int | None = None) -> HLDAHyper:
        """Intrinsic checks ran at construction; checks ``vocab_size ≥ 1`` when given."""
        if vocab_size is not None:
            check_int("vocab_size", vocab_size)
        return self


# ---------------------------------------------------------------------- tree-state checks
def check_tree_state(paths: Any, levels: Any, doc_offsets: Any, depth: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate ``(paths, levels)`` against the documents; return int64 copies and offsets.

    ``paths`` (D, L) must form a tree (:func:`ppltopics.distributions.parent_level_from_paths`) and
    ``levels`` (N,) lie in [0, L).  Raises ``ValueError`` naming the problem.
    """
    off = np.asarray(doc_offsets).astype(np.int64, copy=False).ravel()
    if off.size < 2 or off[0] != 0 or (np.diff(off) < 0).any():
        raise ValueError("doc_offsets must be non-decreasing and start at 0")
    p = np.asarray(paths.detach().cpu().numpy() if isinstance(paths, torch.Tensor) else paths)
    if p.shape != (off.size - 1, depth):
        raise ValueError(f"paths must have shape (num_docs, depth) = ({off.size - 1}, "
                         f"{depth}), got {p.shape}")
    parent_level_from_paths(p)
    z = np.asarray(levels.detach().cpu().numpy() if isinstance(levels, torch.Tensor)
                   else levels)
    if z.shape != (int(off[-1]),):
        raise ValueError(f"levels must hold one level per token ({int(off[-1])}), got shape "
                         f"{z.shape}")
    if not np.issubdtype(z.dtype, np.integer):
        raise ValueError(f"levels must be integers, got dtype {z.dtype}")
    if z.size and (z.min() < 0 or z.max() >= depth):
        raise ValueError(f"levels out of range [0, {depth})")
    return p.astype(np.int64), z.astype(np.int64), off


def node_of_tokens(paths: np.ndarray, levels: np.ndarray, doc_offsets: np.ndarray
                   ) -> np.ndarray:
    """Node of every token, ``paths[doc(n), levels[n]]`` (int64, (N,))."""
    off = np.asarray(doc_offsets, dtype=np.int64)
    docs = np.repeat(np.arange(off.size - 1), np.diff(off))
    return np.asarray(paths, dtype=np.int64)[docs, np.asarray(levels, dtype=np.int64)]


# ---------------------------------------------------------------------- the Pyro story
class HLDASample(NamedTuple):
    """Values of one run of :func:`model` (torch tensors; numpy for the tree arrays)."""

    paths: torch.Tensor  # (D, L) long, canonical node ids
    phi: torch.Tensor  # (num_nodes, V)
    theta: torch.Tensor  # (D, L)
    z: torch.Tensor  # (N,) level of each token
    w: torch.Tensor  # (N,)
    doc_index: torch.Tensor  # (N,)
    parent: np.ndarray  # (num_nodes,) int32
    node_level: np.ndarray  # (num_nodes,) int32


class TreePrologue(NamedTuple):
    """What :func:`tree_prologue` returns."""

    num_docs: int
    doc_index: torch.Tensor  # (N,) token -> document
    paths: torch.Tensor  # (D, L) long
    parent: np.ndarray  # (num_nodes,) int32
    node_level: np.ndarray  # (num_nodes,) int32
    theta: torch.Tensor  # (D, L)
    z: torch.Tensor  # (N,) levels
    tokens: Any  # the pyro.plate "tokens" (re-enter it for the observation site)


def tree_prologue(doc_lengths: Any, hyper: Any) -> TreePrologue:
    """Shared first half of the tree stories (hLDA, GhLDA): documents, the nCRP paths and the
    GEM levels.  Makes the sites ``"paths"`` (nCRP), ``"theta"`` (GEM, plate "docs") and
    ``"z"`` (levels, plate "tokens").  ``hyper`` needs ``depth``, ``gamma``, ``gem_mean``,
    ``gem_scale``."""
    lengths = doc_lengths_tensor(doc_lengths)
    num_docs = int(lengths.numel())
    doc_index = torch.repeat_interleave(torch.arange(num_docs), lengths,
                                        output_size=int(lengths.sum()))
    L = hyper.depth
    # c ~ nCRP(γ): the tree and every document's path
    paths = pyro.sample("paths", NestedCRP(torch.tensor(hyper.gamma, dtype=_DTYPE), L,
                                           num_docs, validate_args=False))
    parent, node_level = parent_level_from_paths(paths.numpy())
    with pyro.plate("docs", num_docs):
        # θ_d ~ GEM(m, π) over the L levels
        theta = pyro.sample("theta", GEM(torch.tensor(hyper.gem_mean, dtype=_DTYPE),
                                         torch.tensor(hyper.gem_scale, dtype=_DTYPE), L,
                                         validate_args=False))  # hyper checked already
    tokens = pyro.plate("tokens", int(doc_index.numel()))
    with tokens:
        # z_dn ~ Categorical(θ_d)
        z = pyro.sample("z", RowCategorical(theta, doc_index))
    return TreePrologue(num_docs, doc_index, paths, parent, node_level, theta, z, tokens)


def model(
    doc_lengths: Sequence[int] | np.ndarray | torch.Tensor,
    vocab_size: int,
    hyper: HLDAHyper,
    data: torch.Tensor | np.ndarray | None = None,
) -> HLDASample:
    """hLDA as a plain Pyro model; simulates the words when ``data`` is None.

    ::

        c     ~ nCRP(γ, L, D)                 site "paths" (D, L), canonical node ids
        θ_d   ~ GEM(m, π)                     plate "docs",   site "theta" (D, L)
        z_n   ~ Categorical(θ_{d(n)})         plate "tokens", site "z" (the level)
        φ_t   ~ Dirichlet(η_{level(t)}·1_V)   plate "nodes",  site "phi" (num_nodes, V)
        w_n   ~ Categorical(φ_{c_{d(n)}[z_n]})  site "w", observed when data is given

    Parameters as in :func:`ppltopics.models.lda.model`: ``doc_lengths`` (``corpus.doc_lengths``),
    ``vocab_size`` V, ``hyper`` (:class:`HLDAHyper`), ``data`` the flat word ids
    (``corpus.word_ids``) or None.  The number of nodes (the size of plate "nodes") is that
    of the sampled (or conditioned) tree.  Conditioned on non-canonical ``paths``, ids no path
    uses get a φ from the root's prior (they generate no word).
    """
    check_int("vocab_size", vocab_size)
    if data is not None:
        data = torch.as_tensor(np.asarray(data), dtype=torch.long)
    t = tree_prologue(doc_lengths, hyper)
    doc_index, paths, parent, node_level, z = t.doc_index, t.paths, t.parent, t.node_level, t.z
    if data is not None and data.shape != doc_index.shape:
        raise ValueError(f"data must hold one word id per token ({doc_index.numel()}), got "
                         f"shape {tuple(data.shape)}")
    num_nodes = int(parent.size)
    eta = torch.as_tensor(hyper.eta_vector[np.maximum(node_level, 0)], dtype=_DTYPE)
    with pyro.plate("nodes", num_nodes):
        # φ_t ~ Dirichlet(η_{level(t)}·1_V)
        phi = pyro.sample("phi", dist.Dirichlet(eta[:, None].expand(num_nodes, vocab_size)))
    node = paths[doc_index, z]  # c_{d(n)}[z_n]
    with t.tokens:
        w = pyro.sample("w", RowCategorical(phi, node), obs=data)
    return HLDASample(paths, phi, t.theta, z, w, doc_index, parent, node_level)


# ---------------------------------------------------------------------- simulation
class SimulatedHLDA(NamedTuple):
    """A corpus drawn from the hLDA story and the truth that produced it.

    Unpacks as ``corpus, truth = simulate(...)``.  ``truth`` holds numpy arrays: ``paths``
    (D, L) int32 (canonical ids), ``parent`` and ``node_level`` (num_nodes,) int32, ``levels``
    (N,) int32 aligned with ``corpus.word_ids``, ``theta`` (D, L) and ``phi``
    (num_nodes, V) float64.
    """

    corpus: Corpus
    truth: dict[str, np.ndarray]


def simulate(
    num_docs: int,
    doc_length: int | Sequence[int] | np.ndarray,
    vocab_size: int,
    hyper: HLDAHyper,
    seed: int = 0,
    *,
    poisson: bool = False,
    paths: np.ndarray | None = None,
) -> SimulatedHLDA:
    """Draw a corpus by running :func:`model` forward.

    ``doc_length`` is one length, one per document, or with ``poisson=True`` the mean λ ≥ 1
    of ``N_d = 1 + Poisson(λ − 1)`` (as :func:`ppltopics.models.lda.simulate`).  ``paths``
    (num_docs, depth) plants a tree: the draw is conditioned on them (``poutine.condition``;
    node ids as :func:`model` numbers them, root 0, each node's parent and level fixed by the
    paths).  The vocabulary is ``["w0000", ...]`` (all V kept).  Same seed ⇒ same corpus and
    truth; torch's global RNG is forked and restored.
    """
    if not isinstance(hyper, HLDAHyper):
        raise TypeError(f"hyper must be an HLDAHyper, got {type(hyper).__name__}")
    vocab_size = check_int("vocab_size", vocab_size)
    lengths = simulate_doc_lengths(num_docs, doc_length, poisson, seed)
    story = planted_paths_story(model, paths, num_docs, hyper.depth)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with poutine.block():
            s = story(lengths, vocab_size, hyper)
    corpus = Corpus(s.w.numpy().astype(np.int32), offsets_from_lengths(lengths),
                    synthetic_vocab(vocab_size, "w", 4),
                    report={"simulated": "hlda", "seed": int(seed), **hyper.to_dict()})
    truth = {
        "paths": s.paths.numpy().astype(np.int32),
        "parent": s.parent,
        "node_level": s.node_level,
        "levels": s.z.numpy().astype(np.int32),
        "theta": s.theta.numpy().astype(np.float64),
        "phi": s.phi.numpy().astype(np.float64),
    }
    return SimulatedHLDA(corpus, truth)


# ---------------------------------------------------------------------- collapsed densities
def doc_level_counts(levels: np.ndarray, offsets: np.ndarray, depth: int) -> np.ndarray:
    """``counts[d, ℓ]``: the number of tokens of document d at level ℓ (D, depth)."""
    docs = np.repeat(np.arange(offsets.size - 1), np.diff(offsets))
    return np.bincount(docs * depth + levels, minlength=(offsets.size - 1) * depth).reshape(
        -1, depth)


def log_prior_levels(levels: Any, doc_offsets: Any, hyper: Any) -> float:
    """Σ_d log p(z_d | m, π) with θ_d integrated out
    (:func:`ppltopics.distributions.gem_level_log_prob` of each document's level counts)."""
    off = np.asarray(doc_offsets, dtype=np.int64)
    z = np.asarray(levels, dtype=np.int64)
    if z.shape != (int(off[-1]),) or (z.size and (z.min() < 0 or z.max() >= hyper.depth)):
        raise ValueError(f"levels must be {int(off[-1])} integers in [0, {hyper.depth})")
    counts = doc_level_counts(z, off, hyper.depth)
    return float(gem_level_log_prob(counts, hyper.gem_mean, hyper.gem_scale).sum())


def log_likelihood_from_counts(node_word: np.ndarray, node_level: np.ndarray,
                               hyper: HLDAHyper) -> float:
    """log p(w | z, c, η) from the node-word count table ``n_tv`` (num_nodes × V)::

        Σ_t [lgamma(Vη_t) − lgamma(n_t + Vη_t) + Σ_v (lgamma(n_tv + η_t) − lgamma(η_t))]

    with η_t = η_{node_level[t]}; empty nodes contribute 0 (whatever their level).
    """
    n_tv = np.asarray(node_word, dtype=np.float64)
    V = n_tv.shape[1]
    lev = np.asarray(node_level, dtype=np.int64)
    eta = hyper.eta_vector[np.maximum(lev, 0)][:, None]
    n_t = n_tv.sum(axis=1, keepdims=True)
    per = (gammaln(V * eta) - gammaln(n_t + V * eta)
           + (gammaln(n_tv + eta) - gammaln(eta)).sum(axis=1, keepdims=True))
    return float(np.where(n_t > 0, per, 0.0).sum())


def log_likelihood_collapsed(corpus: Corpus, paths: Any, levels: Any, hyper: HLDAHyper
                             ) -> float:
    """Collapsed log p(w | z, c, η) with every φ_t integrated out (Dirichlet–multinomial per
    node, :func:`log_likelihood_from_counts`).  Memory O(N) (only nonzero n_tv are formed)."""
    p, z, off = check_tree_state(paths, levels, corpus.doc_offsets, hyper.depth)
    V = corpus.vocab_size
    node = node_of_tokens(p, z, off)
    _, node_level = parent_level_from_paths(p)
    keys, n_tv = np.unique(node * V + corpus.word_ids.astype(np.int64), return_counts=True)
    t = keys // V
    eta_t = hyper.eta_vector[node_level[t]]
    occupied, n_t = np.unique(node, return_counts=True)
    eta_o = hyper.eta_vector[node_level[occupied]]
    return float((gammaln(V * eta_o) - gammaln(n_t + V * eta_o)).sum()
                 + (gammaln(n_tv + eta_t) - gammaln(eta_t)).sum())


def log_joint(corpus: Corpus, paths: Any, levels: Any, hyper: HLDAHyper) -> float:
    """Collapsed log p(w, z, c) of hLDA, every φ_t and θ_d integrated out::

        log nCRP(c | γ) + Σ_d log p(z_d | GEM(m, π)) + Σ_t DirMult(w at node t | η_{level(t)})

    (:func:`ppltopics.distributions.ncrp_log_prob` + :func:`log_prior_levels` +
    :func:`log_likelihood_collapsed`, formulas in the module docstring).  ``paths`` (D, L) may
    use any node ids forming a tree (the value is invariant to relabelling nodes); ``levels``
    (N,) in corpus token order.
    It is a proper distribution: summed over all canonical path configurations, all levels and
    all words, ``exp(log_joint)`` is 1 (checked by the tests on a toy).
    """
    p, z, off = check_tree_state(paths, levels, corpus.doc_offsets, hyper.depth)
    return (ncrp_log_prob(p, hyper.gamma) + log_prior_levels(z, off, hyper)
            + log_likelihood_collapsed(corpus, p, z, hyper))


def log_joint_from_counts(paths: Any, doc_level: np.ndarray, node_word: np.ndarray,
                          hyper: HLDAHyper) -> float:
    """Collapsed log p(w, z, c) from the kernels' tables: ``paths`` (D, L), the document-level
    counts ``doc_level`` (D, L) and the node-word counts ``node_word`` (num_nodes, V) indexed
    by the node ids of ``paths`` (rows of ids no path uses must be 0).  Same value as
    :func:`log_joint`."""
    p = np.asarray(paths)
    nw = np.asarray(node_word)
    _, node_level = parent_level_from_paths(p, num_nodes=nw.shape[0])
    return (ncrp_log_prob(p, hyper.gamma)
            + float(gem_level_log_prob(doc_level, hyper.gem_mean, hyper.gem_scale).sum())
            + log_likelihood_from_counts(nw, node_level, hyper))


def canonical_state(paths: Any, levels: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(canonical_paths(paths), levels)`` as int32: a relabelling-free form of a tree state
    (levels do not depend on node ids)."""
    return (canonical_paths(paths).astype(np.int32),
            np.asarray(levels).astype(np.int32))
