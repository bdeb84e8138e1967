"""The nested Chinese restaurant process nCRP(γ) over documents' paths in a topic tree, and
the numpy arrays of a tree given by those paths.

Blei, Griffiths & Jordan (JACM 2010), "The nested Chinese restaurant process and Bayesian
nonparametric inference of topic hierarchies" (hLDA); Yoshida et al., PLoS ONE 2023 (GhLDA).
Conventions shared by ``ppltopics.models.hlda`` / ``ghlda`` and the tree kernels: depth ``L``
counts the levels including the root (levels 0..L−1); a path is ``L`` node ids, ``paths[d, 0]``
the root; nodes of a simulated or canonical tree are numbered in creation order (parents
before children, root 0).

* :class:`NestedCRP` — the prior as a Pyro ``TorchDistribution`` over a ``(num_docs, L)``
  array of paths;
* :func:`ncrp_log_prob` — its log probability, the one implementation of the nCRP prior
  (the tree kernels' numba version, ``ppltopics.inference._tree.ncrp_log_prob_tree``, is
  tested to agree with it);
* :func:`parent_level_from_paths` — the ``(parent, node_level)`` arrays of the tree the
  paths walk (validating that they form one); :func:`canonical_paths` — the paths relabelled
  in creation order.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from pyro.distributions import TorchDistribution
from scipy.special import gammaln
from torch.distributions import constraints

from ppltopics._validation import check_int
from ppltopics.distributions._util import NO_SHAPE, Shape, as_tensor, float_dtype

__all__ = ["NestedCRP", "ncrp_log_prob", "parent_level_from_paths", "canonical_paths"]


def _paths_array(paths, name: str = "paths") -> np.ndarray:
    """``paths`` (num_docs, L) as int64, checked: 2-d, non-empty, integer ids >= 0."""
    if isinstance(paths, torch.Tensor):
        paths = paths.detach().cpu().numpy()
    arr = np.asarray(paths)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have shape (num_docs, depth), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer node ids, got dtype {arr.dtype}")
    if arr.min() < 0:
        raise ValueError(f"{name} must hold node ids >= 0")
    return arr.astype(np.int64, copy=False)


def parent_level_from_paths(paths, num_nodes: int | None = None
                            ) -> tuple[np.ndarray, np.ndarray]:
    """``(parent, node_level)`` int32 arrays of the tree the document paths walk.

    ``paths`` (num_docs, L): ``paths[d, 0]`` is the root (the same id in every row) and
    ``paths[d, l]`` a child of ``paths[d, l − 1]``.  ``parent[root] = −1``,
    ``node_level[root] = 0``.  Ids need not be contiguous: arrays have ``num_nodes`` entries
    (default ``paths.max() + 1``) and ids no path visits get ``parent = −1`` and
    ``node_level = −1``.  Raises ``ValueError`` when a node has two parents or two levels (not
    a tree), or the rows do not share one root.
    """
    p = _paths_array(paths)
    D, L = p.shape
    size = int(p.max()) + 1 if num_nodes is None else int(num_nodes)
    if size <= p.max():
        raise ValueError(f"num_nodes={size} but paths use node id {int(p.max())}")
    if np.any(p[:, 0] != p[0, 0]):
        raise ValueError("paths[:, 0] must be the same root node in every document")
    level = np.full(size, -1, dtype=np.int64)
    parent = np.full(size, -1, dtype=np.int64)
    lv = np.broadcast_to(np.arange(L), p.shape)
    level[p.ravel()] = lv.ravel()
    if np.any(level[p] != lv):
        raise ValueError("paths are not a tree: a node id appears at two levels")
    if L > 1:
        child, par = p[:, 1:].ravel(), p[:, :-1].ravel()
        parent[child] = par
        if np.any(parent[child] != par):
            raise ValueError("paths are not a tree: a node id has two parents")
    return parent.astype(np.int32), level.astype(np.int32)


def canonical_paths(paths) -> np.ndarray:
    """Relabel the nodes of ``paths`` in creation order: the order of first appearance when the
    paths are read document by document, root to leaf (what :class:`NestedCRP` samples).

    The result (int64, same shape) uses ids ``0..num_nodes − 1`` with the root 0 and every
    parent numbered before its children; two path arrays describe the same tree and the same
    document placement iff their canonical forms are equal.
    """
    p = _paths_array(paths)
    flat = p.ravel()
    ids, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    rank = np.empty(ids.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(ids.size)
    return rank[inverse].reshape(p.shape)


def ncrp_log_prob(paths, gamma: float) -> float:
    r"""log nCRP(c | γ): probability of the documents' paths, a product over the tree's edges.

    The nested CRP (Blei et al. 2010) seats each document at a child of the root by a CRP(γ),
    then at a child of that child by an independent CRP(γ), down to level ``L − 1``.  The
    probability of the whole placement is therefore, over internal nodes ``p`` with ``n_p``
    documents split among ``K_p`` children with ``n_c`` documents each (the CRP's
    exchangeable partition probability)::

        log p(c) = Σ_p [ K_p log γ + Σ_{c child of p} lgamma(n_c) + lgamma(γ) − lgamma(γ + n_p) ]

    It is the probability of the placement up to relabelling of nodes (i.e. of the
    :func:`canonical_paths`), invariant to the order of the documents, and equals the product
    of the sequential choices ``n_c/(γ + n)`` (existing child) and ``γ/(γ + n)`` (new child).
    Depth 1 gives 0.  ``paths`` (num_docs, L) need not be canonical.
    """
    g = float(gamma)
    if not (math.isfinite(g) and g > 0):
        raise ValueError(f"gamma must be > 0, got {gamma!r}")
    p = _paths_array(paths)
    parent_level_from_paths(p)  # validates the tree structure
    D, L = p.shape
    total = 0.0
    lg_g = math.lgamma(g)
    log_g = math.log(g)
    for lev in range(L - 1):
        # children with their document counts; parents of those children
        child_ids, child_n = np.unique(p[:, lev + 1], return_counts=True)
        par_ids, par_n = np.unique(p[:, lev], return_counts=True)
        total += (child_ids.size * log_g + float(gammaln(child_n).sum())
                  + par_ids.size * lg_g - float(gammaln(g + par_n).sum()))
    return total


class NestedCRP(TorchDistribution):
    r"""Nested Chinese restaurant process nCRP(γ) over the paths of ``num_docs`` documents.

    Blei, Griffiths & Jordan (JACM 2010, Sect. 3): documents arrive one by one; document d starts
    at the root (level 0) and, at each level l = 0..L−2, moves from its node to an existing
    child c with probability ``n_c/(γ + n)`` or to a new child with probability ``γ/(γ + n)``
    (``n_c`` earlier documents went through c, ``n`` through the current node).  ``L`` =
    ``depth`` levels including the root, so a path has ``L`` nodes.

    * ``sample()`` returns a ``(num_docs, depth)`` long tensor of node ids numbered in creation
      order (root 0, parents before children: :func:`canonical_paths` form), drawn with torch's
      global RNG (``pyro.set_rng_seed`` makes it reproducible); the tree is
      :func:`parent_level_from_paths` of it.
    * ``log_prob(paths)`` is :func:`ncrp_log_prob`: the product over the tree's internal nodes
      of the CRP partition probability of the node's documents among its children.  It is the
      probability of the placement up to relabelling of nodes, so compare samples in canonical
      form.

    ``gamma`` is a positive scalar (batch shape ``()``); the event shape is
    ``(num_docs, depth)``.  Discrete, not reparameterised, no gradients in ``log_prob``.
    """

    arg_constraints = {"gamma": constraints.positive}
    has_enumerate_support = False

    def __init__(self, gamma, depth: int, num_docs: int, validate_args: bool | None = None):
        g = as_tensor(gamma, float_dtype(gamma, torch.zeros((), dtype=torch.float64)))
        if g.dim() != 0:
            raise ValueError(f"gamma must be a scalar, got shape {tuple(g.shape)}")
        if not (math.isfinite(float(g)) and float(g) > 0):
            raise ValueError(f"gamma must be > 0, got {float(g)!r}")
        self.gamma = g
        self.depth = check_int("depth", depth)
        self.num_docs = check_int("num_docs", num_docs)
        super().__init__(torch.Size(), torch.Size((self.num_docs, self.depth)),
                         validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=2)
    def support(self):
        return constraints.independent(constraints.nonnegative_integer, 2)

    def expand(self, batch_shape: Shape, _instance=None) -> NestedCRP:
        if tuple(batch_shape) != ():
            raise ValueError("NestedCRP has no batch dimensions (one tree per draw)")
        return self

    def _sample_one(self, u: np.ndarray) -> np.ndarray:
        D, L = self.num_docs, self.depth
        g = float(self.gamma)
        paths = np.zeros((D, L), dtype=np.int64)
        children: list[list[int]] = [[]]
        count = [0]
        for d in range(D):
            node = 0
            count[0] += 1
            for lev in range(1, L):
                kids = children[node]
                n = count[node] - 1  # documents through `node` before this one
                x = u[d, lev - 1] * (g + n)
                chosen = -1
                for c in kids:
                    x -= count[c]
                    if x < 0:
                        chosen = c
                        break
                if chosen < 0:  # a new table: the next id in creation order
                    chosen = len(count)
                    children.append([])
                    count.append(0)
                    kids.append(chosen)
                count[chosen] += 1
                paths[d, lev] = chosen
                node = chosen
        return paths

    def sample(self, sample_shape: Shape = NO_SHAPE) -> torch.Tensor:
        shape = torch.Size(sample_shape)
        num = int(np.prod(shape)) if len(shape) else 1
        u = torch.rand((num, self.num_docs, max(self.depth - 1, 1)),
                       dtype=torch.float64).numpy()
        out = np.stack([self._sample_one(u[i]) for i in range(num)])
        return torch.as_tensor(out.reshape(shape + self.event_shape), dtype=torch.long)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        v = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        if v.shape[-2:] != (self.num_docs, self.depth):
            raise ValueError(f"paths must end in shape ({self.num_docs}, {self.depth}), got "
                             f"{v.shape}")
        flat = v.reshape((-1,) + v.shape[-2:])
        g = float(self.gamma)
        out = np.array([ncrp_log_prob(x, g) for x in flat]).reshape(v.shape[:-2])
        return torch.as_tensor(out, dtype=self.gamma.dtype)
