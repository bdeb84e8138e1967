"""The nested-CRP topic tree shared by hLDA and GhLDA (numba).

Blei, Griffiths & Jordan (J. ACM 2010), "The nested Chinese restaurant process and Bayesian
nonparametric inference of topic hierarchies"; Yoshida et al. (PLoS ONE 2023), GhLDA.

Storage
-------
A tree of depth ``L`` (levels 0..L-1, root at level 0) lives in growable arrays indexed by
*storage slots* (:class:`Tree`): ``parent`` (−1 at the root), ``node_level`` (−1 marks a free
slot), ``ndocs`` (documents whose path passes through the node), first-child / next-sibling
links, and a free list of slots (``free[:meta[0]]``, the top popped first, so the lowest free
slot is reused first).  ``meta[1]`` is the root's slot.  Slots are recycled: a node whose
document count drops to 0 is deleted at once (the nCRP gives an empty node the same weight as a
new one, so deleting it does not change the chain's law).  Canonical labels are made only for
output (:func:`canonical_order`).

Path scoring
------------
One top-down traversal scores every existing leaf path and every new-branch point for a
document whose own path has been removed (Blei et al. 2010, eq. 4)::

    cum(root) = ll(root)
    cum(v)    = cum(parent) + log(n_v / (γ + n_parent)) + ll(v)
    leaf v (level L-1):       score = cum(v)
    new branch below u (ℓ < L-1): score = cum(u) + log(γ / (γ + n_u)) + Σ_{j>ℓ} ll_empty(j)

where ``ll(v)`` is the log marginal likelihood of the document's level-ℓ(v) tokens given the
tokens already in node ``v`` and ``ll_empty(j)`` the same for an empty node at level j; the
model (hLDA: Dirichlet-multinomial, GhLDA: NIW) computes them once per node and passes them in.
The nCRP probability of a path is thereby a product over its edges.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numba
import numpy as np

from ppltopics._validation import check_int, check_positive

__all__ = [
    "Tree",
    "TREE_KEYS",
    "tree_from_state",
    "new_tree_arrays",
    "grow_tree_arrays",
    "tree_arrays_from_paths",
    "tree_alloc",
    "tree_delete",
    "tree_add_path",
    "tree_remove_path",
    "tree_extend",
    "tree_path_to",
    "score_paths",
    "ncrp_log_prob_tree",
    "canonical_order",
]

TREE_KEYS = ("parent", "node_level", "ndocs", "first_child", "next_sibling", "free",
             "tree_meta")


class Tree(NamedTuple):
    """Arrays of the tree (see the module docstring); numba passes it by value."""

    parent: np.ndarray
    node_level: np.ndarray
    ndocs: np.ndarray
    first_child: np.ndarray
    next_sibling: np.ndarray
    free: np.ndarray
    meta: np.ndarray


def tree_from_state(state: dict[str, np.ndarray]) -> Tree:
    return Tree(*(state[k] for k in TREE_KEYS))


def new_tree_arrays(capacity: int) -> dict[str, np.ndarray]:
    """Empty storage of ``capacity`` slots: every slot free, no root yet."""
    capacity = int(capacity)
    return {
        "parent": np.full(capacity, -1, dtype=np.int32),
        "node_level": np.full(capacity, -1, dtype=np.int32),
        "ndocs": np.zeros(capacity, dtype=np.int64),
        "first_child": np.full(capacity, -1, dtype=np.int32),
        "next_sibling": np.full(capacity, -1, dtype=np.int32),
        "free": np.arange(capacity - 1, -1, -1, dtype=np.int32),
        "tree_meta": np.array([capacity, -1], dtype=np.int64),
    }


def grow_tree_arrays(state: dict[str, np.ndarray], new_capacity: int) -> None:
    """Enlarge the tree storage in ``state`` to ``new_capacity`` slots (in place in the dict);
    the new slots are pushed under the existing free ones (popped after them)."""
    old = state["parent"].shape[0]
    if new_capacity <= old:
        return
    extra = new_capacity - old
    for key, fill in (("parent", -1), ("node_level", -1), ("first_child", -1),
                      ("next_sibling", -1)):
        state[key] = np.concatenate([state[key], np.full(extra, fill, dtype=np.int32)])
    state["ndocs"] = np.concatenate([state["ndocs"], np.zeros(extra, dtype=np.int64)])
    nfree = int(state["tree_meta"][0])
    free = np.empty(new_capacity, dtype=np.int32)
    free[:extra] = np.arange(new_capacity - 1, old - 1, -1)
    free[extra:extra + nfree] = state["free"][:nfree]
    state["free"] = free
    state["tree_meta"][0] = nfree + extra


def tree_arrays_from_paths(paths: np.ndarray, capacity: int | None = None
                           ) -> dict[str, np.ndarray]:
    """The kernel's tree storage (the :data:`TREE_KEYS` arrays, as :func:`new_tree_arrays`
    makes them, ``capacity`` slots) holding the tree of ``paths`` (num_docs, L), whose node ids
    become the storage slots.  (For the plain ``(parent, node_level)`` arrays of a set of
    paths use :func:`ppltopics.distributions.parent_level_from_paths`.)

    Raises ValueError when the paths do not form a tree (two roots, a node with two parents
    or on two levels, negative ids).
    """
    paths = np.asarray(paths)
    if paths.ndim != 2 or paths.shape[1] < 2:
        raise ValueError(f"paths must have shape (num_docs, depth >= 2), got {paths.shape}")
    if paths.size and paths.min() < 0:
        raise ValueError("paths contain negative node ids")
    depth = paths.shape[1]
    top = int(paths.max()) + 1 if paths.size else 1
    if capacity is None:
        capacity = max(64, 2 * top)
    capacity = max(int(capacity), top + depth)
    arr = new_tree_arrays(capacity)
    root = int(paths[0, 0]) if paths.size else 0
    if paths.size and np.any(paths[:, 0] != root):
        raise ValueError("every path must start at the same root node")
    parent, level = arr["parent"], arr["node_level"]
    level[root] = 0
    for ell in range(1, depth):
        ids = paths[:, ell].astype(np.int64)
        par = paths[:, ell - 1].astype(np.int32)
        if np.any(level[ids] >= 0) and np.any(level[ids][level[ids] >= 0] != ell):
            raise ValueError("a node id appears on two levels of the paths")
        level[ids] = ell
        parent[ids] = par
        if np.any(parent[ids] != par):
            raise ValueError("a node id has two different parents in the paths")
    # a node appears once in the path of each of its documents
    arr["ndocs"][:] = np.bincount(paths.ravel(), minlength=capacity)[:capacity]
    alive = np.flatnonzero(level >= 0)
    for s in alive[::-1]:  # reversed: first_child lists end up in increasing slot order
        p = parent[s]
        if p >= 0:
            arr["next_sibling"][s] = arr["first_child"][p]
            arr["first_child"][p] = s
    free = np.flatnonzero(level < 0)[::-1].astype(np.int32)
    arr["free"][:free.size] = free
    arr["tree_meta"][:] = (free.size, root)
    return arr


# ----------------------------------------------------------------------------- node ops
@numba.njit(cache=True, nogil=True)
def tree_alloc(tree: Tree, parent_slot: int) -> int:
    """A new empty child of ``parent_slot`` (or a root if −1) from the free list.

    The caller must have checked ``tree.meta[0] > 0`` (raises otherwise)."""
    nfree = tree.meta[0]
    if nfree <= 0:
        raise ValueError("tree storage is full")
    s = tree.free[nfree - 1]
    tree.meta[0] = nfree - 1
    tree.parent[s] = parent_slot
    tree.ndocs[s] = 0
    tree.first_child[s] = -1
    if parent_slot >= 0:
        tree.node_level[s] = tree.node_level[parent_slot] + 1
        tree.next_sibling[s] = tree.first_child[parent_slot]
        tree.first_child[parent_slot] = s
    else:
        tree.node_level[s] = 0
        tree.next_sibling[s] = -1
    return s


@numba.njit(cache=True, nogil=True)
def tree_delete(tree: Tree, s: int) -> None:
    """Unlink the childless node ``s`` from its parent and return its slot to the free list."""
    p = tree.parent[s]
    if p >= 0:
        c = tree.first_child[p]
        if c == s:
            tree.first_child[p] = tree.next_sibling[s]
        else:
            while tree.next_sibling[c] != s:
                c = tree.next_sibling[c]
            tree.next_sibling[c] = tree.next_sibling[s]
    tree.node_level[s] = -1
    tree.parent[s] = -1
    tree.next_sibling[s] = -1
    tree.first_child[s] = -1
    tree.ndocs[s] = 0
    tree.free[tree.meta[0]] = s
    tree.meta[0] += 1


@numba.njit(cache=True, nogil=True)
def tree_add_path(tree: Tree, path: np.ndarray) -> None:
    for ell in range(path.shape[0]):
        tree.ndocs[path[ell]] += 1


@numba.njit(cache=True, nogil=True)
def tree_remove_path(tree: Tree, path: np.ndarray) -> int:
    """Remove one document from ``path``; nodes left with no document (never the root) are
    deleted, deepest first.  Returns the level of the deepest surviving node."""
    depth = path.shape[0]
    for ell in range(depth):
        tree.ndocs[path[ell]] -= 1
    keep = depth - 1
    for ell in range(depth - 1, 0, -1):
        s = path[ell]
        if tree.ndocs[s] == 0:
            tree_delete(tree, s)
            keep = ell - 1
        else:
            break
    return keep


@numba.njit(cache=True, nogil=True)
def tree_path_to(tree: Tree, v: int, path: np.ndarray) -> int:
    """Write the ancestors of ``v`` (root first) into ``path[:level(v)+1]``; returns level(v)."""
    ell = tree.node_level[v]
    u = v
    for j in range(ell, -1, -1):
        path[j] = u
        u = tree.parent[u]
    return ell


@numba.njit(cache=True, nogil=True)
def tree_extend(tree: Tree, u: int, path: np.ndarray) -> None:
    """``path`` ← ancestors of u, then new nodes below u down to level L-1 (L = len(path))."""
    ell = tree_path_to(tree, u, path)
    for j in range(ell + 1, path.shape[0]):
        path[j] = tree_alloc(tree, path[j - 1])


# ----------------------------------------------------------------------------- scoring
@numba.njit(cache=True, nogil=True)
def _score_paths(
    tree: Tree, depth: int, gamma: float, ll_node: np.ndarray, ll_empty: np.ndarray,
    allow_new: bool, cand: np.ndarray, score: np.ndarray, stack: np.ndarray,
    cum: np.ndarray, count_logs: np.ndarray, bad_ncrp: bool = False,
) -> int:
    """The traversal of :func:`score_paths`."""
    suffix = np.zeros(depth + 1)
    for j in range(depth - 1, -1, -1):
        suffix[j] = suffix[j + 1] + ll_empty[j]
    root = tree.meta[1]
    log_gamma = math.log(gamma)
    n = 0
    top = 0
    cum[root] = ll_node[root]
    stack[0] = root
    top = 1
    while top > 0:
        top -= 1
        u = stack[top]
        ell = tree.node_level[u]
        if ell == depth - 1:
            cand[n] = u
            score[n] = cum[u]
            n += 1
            continue
        log_den = count_logs[1, tree.ndocs[root if bad_ncrp else u]]
        if allow_new:
            cand[n] = u
            score[n] = cum[u] + log_gamma - log_den + suffix[ell + 1]
            n += 1
        c = tree.first_child[u]
        while c >= 0:
            cum[c] = cum[u] + count_logs[0, tree.ndocs[c]] - log_den + ll_node[c]
            stack[top] = c
            top += 1
            c = tree.next_sibling[c]
    return n


@numba.njit(cache=True, nogil=True)
def score_paths(
    tree: Tree, depth: int, gamma: float, ll_node: np.ndarray, ll_empty: np.ndarray,
    allow_new: bool, cand: np.ndarray, score: np.ndarray, stack: np.ndarray,
    cum: np.ndarray, count_logs: np.ndarray, bad_ncrp: bool = False,
) -> int:
    """Score every leaf path and every new-branch point (module docstring) in one top-down
    traversal; fills ``cand[:n]``/``score[:n]`` and returns n.  A candidate at level < L-1
    means "a new branch below it".  ``ll_empty[j]`` is the empty-node log-likelihood of the
    document's level-j tokens; ``stack``/``cum`` are scratch of the storage's length;
    ``count_logs`` = :func:`count_log_table` (log n and log(γ + n) by document count n).
    With ``allow_new`` False only existing leaves are scored (unless there is none).
    ``bad_ncrp`` (a defect for the tests): every edge's denominator is γ + n_root, so the
    path weight is no product of CRP conditionals."""
    n = _score_paths(tree, depth, gamma, ll_node, ll_empty, allow_new, cand, score, stack,
                     cum, count_logs, bad_ncrp)
    if n == 0:  # no existing leaf: the only choice is a new branch
        n = _score_paths(tree, depth, gamma, ll_node, ll_empty, True, cand, score, stack,
                         cum, count_logs, bad_ncrp)
    return n


@numba.njit(cache=True, nogil=True)
def count_log_table(num_docs: int, gamma: float) -> np.ndarray:
    """(2, num_docs + 1): row 0 log n, row 1 log(γ + n), n = 0..num_docs — the nCRP's
    logarithms of document counts, looked up by the path scoring instead of taken per node
    and document (the same ``math.log`` values)."""
    out = np.empty((2, num_docs + 1))
    out[0, 0] = -np.inf
    for n in range(num_docs + 1):
        if n:
            out[0, n] = math.log(n)
        out[1, n] = math.log(gamma + n)
    return out


@numba.njit(cache=True, nogil=True)
def ncrp_log_prob_tree(tree: Tree, depth: int, gamma: float) -> float:
    """:func:`ppltopics.distributions.ncrp_log_prob` of the documents' paths, read from the
    kernel's tree storage (numba; no paths array needed): a product over internal nodes u of
    the CRP probability of how u's n_u documents split among its children::

        Σ_u [k_u log γ + Σ_children log Γ(n_c) + log Γ(γ) − log Γ(γ + n_u)].

    Same value as ``ncrp_log_prob(paths, gamma)`` (tested), summed in another order.
    """
    out = 0.0
    lg = math.lgamma(gamma)
    lgam = math.log(gamma)
    for u in range(tree.parent.shape[0]):
        ell = tree.node_level[u]
        if ell < 0 or ell == depth - 1 or tree.ndocs[u] == 0:
            continue
        out += lg - math.lgamma(gamma + tree.ndocs[u])
        c = tree.first_child[u]
        while c >= 0:
            out += lgam + math.lgamma(tree.ndocs[c])
            c = tree.next_sibling[c]
    return out


def canonical_order(parent: np.ndarray, node_level: np.ndarray, ndocs: np.ndarray,
                    root: int) -> np.ndarray:
    """Alive slots in depth-first order, children by decreasing document count (ties: slot):
    position i of the result is the canonical node id i."""
    children: dict[int, list[int]] = {}
    for s in np.flatnonzero(node_level >= 0):
        p = int(parent[s])
        if p >= 0:
            children.setdefault(p, []).append(int(s))
    out: list[int] = []
    stack = [int(root)]
    while stack:
        u = stack.pop()
        out.append(u)
        kids = sorted(children.get(u, []), key=lambda c: (-int(ndocs[c]), c))
        stack.extend(reversed(kids))
    return np.asarray(out, dtype=np.int64)


# ============================================================================ kernel base
def gem_log_prior(ndl: np.ndarray, gem_mean: float, gem_scale: float) -> float:
    """log p(z) of every document's level counts under the truncated GEM(m, π) with the level
    proportions integrated out (independent sticks V_j ~ Beta(mπ, (1−m)π), j < L−1, and
    V_{L−1} = 1)::

        Σ_d Σ_{j<L−1} [log B(mπ + n_dj, (1−m)π + n_d,>j) − log B(mπ, (1−m)π)].

    ``ppltopics.distributions.gem_level_log_prob(ndl, m, π).sum()`` by ``betaln`` (the value
    every recorded ``lp`` of the tree kernels was computed with; tested to agree).
    """
    from scipy.special import betaln

    ndl = np.asarray(ndl, dtype=np.float64)
    a, b = gem_mean * gem_scale, (1.0 - gem_mean) * gem_scale
    greater = np.cumsum(ndl[:, ::-1], axis=1)[:, ::-1] - ndl  # n_{d,>j}
    return float((betaln(a + ndl[:, :-1], b + greater[:, :-1]) - betaln(a, b)).sum())


@numba.njit(cache=True, nogil=True)
def gem_level_weights(counts: np.ndarray, m: float, pi: float, out: np.ndarray) -> None:
    """Collapsed truncated-GEM level weights of one more token of a document whose other
    tokens have level counts ``counts`` (Blei et al. 2010; hlda-c ``sample_levels``)::

        p(z = ℓ) ∝ (mπ + n_ℓ)/(π + n_≥ℓ) · Π_{j<ℓ} ((1−m)π + n_>j)/(π + n_≥j),  ℓ < L−1,
        p(z = L−1) ∝ Π_{j<L−1} ((1−m)π + n_>j)/(π + n_≥j)   (the remainder).
    """
    depth = counts.shape[0]
    n_ge = 0.0
    for j in range(depth):
        n_ge += counts[j]
    rest = 1.0
    for j in range(depth - 1):
        n_gt = n_ge - counts[j]
        den = pi + n_ge
        out[j] = rest * (m * pi + counts[j]) / den
        rest *= ((1.0 - m) * pi + n_gt) / den
        n_ge = n_gt
    out[depth - 1] = rest


@numba.njit(cache=True, nogil=True)
def gem_level_weights_scaled(counts: np.ndarray, m: float, pi: float, out: np.ndarray) -> None:
    """:func:`gem_level_weights` times the level-free factor Π_{j<L−1} (π + n_≥j), so that no
    division is left (the level step normalises anyway)::

        w_ℓ = (mπ + n_ℓ) · Π_{j<ℓ} ((1−m)π + n_>j) · Π_{ℓ<j<L−1} (π + n_≥j),   ℓ < L−1,
        w_{L−1} = Π_{j<L−1} ((1−m)π + n_>j).
    """
    depth = counts.shape[0]
    n_ge = 0.0
    for j in range(depth):
        n_ge += counts[j]
    prefix = 1.0  # Π_{j<ℓ} ((1−m)π + n_>j)
    for j in range(depth - 1):
        n_gt = n_ge - counts[j]
        out[j] = prefix * (m * pi + counts[j])
        prefix *= (1.0 - m) * pi + n_gt
        n_ge = n_gt
    out[depth - 1] = prefix
    suffix = 1.0  # Π_{ℓ<j<L−1} (π + n_≥j), n_≥j rebuilt from the top level down
    n_ge = counts[depth - 1]
    for j in range(depth - 2, -1, -1):
        out[j] *= suffix
        n_ge += counts[j]
        suffix *= pi + n_ge


@numba.njit(cache=True, nogil=True)
def group_by_level(levels: np.ndarray, start: int, end: int, depth: int, order: np.ndarray,
                   lo: np.ndarray) -> None:
    """Counting sort of tokens start..end-1 by level: ``order[lo[l]:lo[l+1]]`` are the token
    indices at level l."""
    for j in range(depth + 1):
        lo[j] = 0
    for n in range(start, end):
        lo[levels[n] + 1] += 1
    for j in range(depth):
        lo[j + 1] += lo[j]
    pos = lo[:depth].copy()
    for n in range(start, end):
        ell = levels[n]
        order[pos[ell]] = n
        pos[ell] += 1


def initial_tree_paths(branching: list[int] | tuple[int, ...], num_docs: int,
                       rng: np.random.Generator) -> np.ndarray:
    """Paths of documents spread uniformly at random over the leaves of a full tree.

    ``branching[0]`` must be 1 (the root); ``branching[l]`` (l >= 1) is the number of children
    of every node at level l−1.  E.g. the GhLDA paper's ``[1, 1, 4, 4]`` (depth 4) is a root
    with one child, which has 4 children with 4 children each: 16 leaves.  Nodes are numbered
    breadth-first; a leaf that gets no document does not exist afterwards.
    """
    depth = len(branching)
    if branching[0] != 1 or any(int(b) < 1 for b in branching):
        raise ValueError(f"initial_tree must start with 1 (the root) and have entries >= 1, "
                         f"got {list(branching)}")
    widths = np.cumprod([int(b) for b in branching])
    first = np.concatenate([[0], np.cumsum(widths)[:-1]])  # id of the first node per level
    leaf = rng.integers(0, widths[-1], size=num_docs)
    paths = np.empty((num_docs, depth), dtype=np.int32)
    idx = leaf.copy()
    for ell in range(depth - 1, -1, -1):
        paths[:, ell] = first[ell] + idx
        idx = idx // int(branching[ell])
    return paths


def ncrp_prior_paths(num_docs: int, depth: int, gamma: float,
                     rng: np.random.Generator) -> np.ndarray:
    """Paths drawn from the nCRP(γ) prior, documents one after another (ids by creation)."""
    children: dict[int, list[int]] = {0: []}
    counts = {0: 0}
    paths = np.empty((num_docs, depth), dtype=np.int32)
    nxt = 1
    for d in range(num_docs):
        u = 0
        counts[0] += 1
        paths[d, 0] = 0
        for ell in range(1, depth):
            kids = children[u]
            w = np.array([counts[c] for c in kids] + [gamma], dtype=np.float64)
            j = int(rng.choice(w.size, p=w / w.sum()))
            if j == len(kids):
                c = nxt
                nxt += 1
                kids.append(c)
                children[c] = []
                counts[c] = 0
            else:
                c = kids[j]
            counts[c] += 1
            paths[d, ell] = c
            u = c
    return paths


class TreeKernelBase:
    """What hLDA and GhLDA share (mixed into their :class:`GibbsKernel` subclasses): tree
    hyperparameters and options, initialisation, the growable storage, resync of the tree
    arrays and per-document level counts ``ndl`` (num_docs, L), and the tree part of ``lp``.

    Subclasses provide ``_sweep(state, start_doc, rng, do_path, allow_new) -> int`` (the
    document at which storage ran short, or −1), ``_resync_model(state)``,
    ``_grow_model(state, new_capacity)`` and ``_loglik(state)``.
    """

    num_docs: int
    depth: int
    #: the primary state arrays (what ``PyroGibbs`` reports) and the per-draw records
    pyro_params = ("paths", "levels")
    record_dims = {"num_nodes": ["level"], "level_share": ["level"]}
    estimate_dims: dict[str, list[str]] = {}

    def _init_tree_options(
        self, num_docs: int, depth: int, gamma: float, gem_mean: float, gem_scale: float,
        initial_tree: list[int] | None, warmup_fixed_sweeps: int | None, init_levels: str,
        token_words: np.ndarray | None, split_merge: Any = False, init: str = "random",
    ) -> None:
        from ppltopics.inference._init import check_tree_init
        from ppltopics.inference._tree_init import CLUSTER_FIXED_SWEEPS
        from ppltopics.inference._tree_moves import parse_tree_moves

        self.split_merge = parse_tree_moves(split_merge)
        self._sm_defect = 0
        self.depth = check_int("depth", depth, 2)
        self.gamma = check_positive("gamma", gamma)
        self.gem_mean = check_positive("gem_mean", gem_mean)
        if not self.gem_mean < 1.0:
            raise ValueError(f"gem_mean must lie in (0, 1), got {gem_mean!r}")
        self.gem_scale = check_positive("gem_scale", gem_scale)
        if initial_tree is not None:
            initial_tree = [int(b) for b in initial_tree]
            if len(initial_tree) != self.depth:
                raise ValueError(f"initial_tree must have one entry per level (depth="
                                 f"{self.depth}), got {initial_tree}")
            initial_tree_paths(initial_tree, 1, np.random.default_rng(0))  # validates
        self.initial_tree = initial_tree
        init = check_tree_init(init, type(self).__name__, initial_tree)
        if init == "cluster" and initial_tree is not None:
            raise ValueError("init='cluster' builds the starting tree from the documents; "
                             "initial_tree= gives one: pass one or the other")
        self.init = init
        if warmup_fixed_sweeps is None:
            warmup_fixed_sweeps = CLUSTER_FIXED_SWEEPS if init == "cluster" else 0
        self.warmup_fixed_sweeps = check_int("warmup_fixed_sweeps", warmup_fixed_sweeps, 0)
        if init_levels not in ("random", "frequency"):
            raise ValueError(f"init_levels must be 'random' or 'frequency', got {init_levels!r}")
        self.init_levels = init_levels
        self.num_docs = int(num_docs)
        self._token_words = token_words

    def tree_config(self) -> dict[str, object]:
        return {"depth": self.depth, "gamma": self.gamma, "gem_mean": self.gem_mean,
                "gem_scale": self.gem_scale, "init": self.init,
                "initial_tree": self.initial_tree,
                "warmup_fixed_sweeps": self.warmup_fixed_sweeps,
                "init_levels": self.init_levels,
                **({} if self.split_merge is None else {"split_merge": self.split_merge.config()})}

    # ------------------------------------------------------------------ state
    def _doc_offsets(self) -> np.ndarray:
        raise NotImplementedError

    def init_state(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Initial paths: uniform over the leaves of ``initial_tree`` if given, a hierarchy
        of the documents with ``init="cluster"``
        (:func:`ppltopics.inference._tree_init.cluster_paths`), else a draw from the nCRP
        prior.  Initial levels: uniform, or with ``init_levels="frequency"``
        (GhLDA paper) half of the tokens, chosen at random, get the level of their word's
        frequency quantile (word types ranked by corpus count split into L equal groups, the
        most frequent at level 0) and the rest a uniform level."""
        offsets = self._doc_offsets()
        N = int(offsets[-1])
        if self.initial_tree is not None:
            paths = initial_tree_paths(self.initial_tree, self.num_docs, rng)
        elif self.init == "cluster":
            from ppltopics.inference._tree_init import cluster_paths

            paths = cluster_paths(self._start_profiles(rng), self.depth, rng)[0]
        else:
            paths = ncrp_prior_paths(self.num_docs, self.depth, self.gamma, rng)
        levels = rng.integers(0, self.depth, size=N).astype(np.int32)
        if self.init_levels == "frequency":
            w = self._token_words
            if w is None:
                raise ValueError("init_levels='frequency' needs word ids")
            counts = np.bincount(w)
            types = np.flatnonzero(counts)
            ranked = types[np.argsort(-counts[types], kind="stable")]
            group = np.zeros(counts.size, dtype=np.int32)
            group[ranked] = (np.arange(ranked.size) * self.depth) // ranked.size
            half = rng.random(N) < 0.5
            levels[half] = group[w[half]]
        state: dict[str, np.ndarray] = {"paths": paths, "levels": levels,
                                        "sweeps": np.zeros(1, dtype=np.int64)}
        if self.split_merge is not None:
            state["sm_accepted"] = np.zeros(1, dtype=np.int64)
            state["sm_proposed"] = np.zeros(1, dtype=np.int64)
        self.resync(state)
        return state

    def _start_profiles(self, rng: np.random.Generator) -> Any:
        """The documents' profiles that ``init="cluster"`` clusters: their Hellinger profiles
        (:func:`ppltopics.inference._tree_init.hellinger_profiles`); GhLDA overrides."""
        from ppltopics.inference._tree_init import hellinger_profiles

        if self._token_words is None:
            raise ValueError("init='cluster' needs word ids")
        return hellinger_profiles(self.token_docs, self._token_words, self.num_docs)

    def resync(self, state: dict[str, np.ndarray]) -> None:
        """Rebuild the tree (from ``paths``), per-document level counts and the model's node
        statistics (from ``paths``, ``levels`` and the kernel's data)."""
        offsets = self._doc_offsets()
        paths = np.ascontiguousarray(state["paths"], dtype=np.int32)
        levels = np.ascontiguousarray(state["levels"], dtype=np.int32)
        if paths.shape != (self.num_docs, self.depth):
            raise ValueError(f"paths must have shape {(self.num_docs, self.depth)}, "
                             f"got {paths.shape}")
        if levels.shape != (int(offsets[-1]),):
            raise ValueError(f"levels must have shape ({int(offsets[-1])},)")
        if levels.size and (levels.min() < 0 or levels.max() >= self.depth):
            raise ValueError(f"levels must lie in [0, {self.depth})")
        state["paths"], state["levels"] = paths, levels
        state.update(tree_arrays_from_paths(paths))
        docs = np.repeat(np.arange(self.num_docs), np.diff(offsets))
        ndl = np.zeros((self.num_docs, self.depth), dtype=np.int32)
        np.add.at(ndl, (docs, levels), 1)
        state["ndl"] = ndl
        state.setdefault("sweeps", np.zeros(1, dtype=np.int64))
        self._resync_model(state)

    def _grow(self, state: dict[str, np.ndarray]) -> None:
        new_cap = 2 * state["parent"].shape[0]
        grow_tree_arrays(state, new_cap)
        self._grow_model(state, new_cap)

    def step(self, state: dict[str, np.ndarray], rng: np.random.Generator,
             warmup: bool) -> None:
        """One sweep: per document, its path (nCRP Gibbs step, new branches allowed except in
        the first ``warmup_fixed_sweeps`` warm-up sweeps), then its tokens' levels (or, in a
        threaded chain, all paths and then all levels: :meth:`_level_pass`); then the
        tree moves when they are on and due (:mod:`ppltopics.inference._tree_moves`)."""
        allow_new = not (warmup and state["sweeps"][0] < self.warmup_fixed_sweeps)
        d = 0
        while True:
            d = self._sweep(state, d, rng, True, allow_new)
            if d < 0:
                break
            self._grow(state)
        self._level_pass(state, rng)
        self.tree_moves_step(state, rng, allow_new)
        state["sweeps"][0] += 1

    def _level_pass(self, state: dict[str, np.ndarray], rng: np.random.Generator) -> None:
        """The levels of every token after the path pass, for kernels whose ``_sweep`` left
        them out (threaded chains); the serial sweep draws them document by document."""

    # ------------------------------------------------------------------ tree moves
    @property
    def token_docs(self) -> np.ndarray:
        """Document of every token (N,)."""
        if getattr(self, "_token_docs_cache", None) is None:
            off = self._doc_offsets()
            self._token_docs_cache = np.repeat(np.arange(self.num_docs), np.diff(off))
        return self._token_docs_cache

    def doc_tokens(self, docs: np.ndarray) -> np.ndarray:
        """Indices of every token of the documents ``docs``, document by document."""
        from ppltopics.inference._tree_moves import expand_ranges

        off = self._doc_offsets()
        return expand_ranges(off[docs], np.diff(off)[docs])

    def node_marginal(self) -> Any:
        """The model's node marginal for the tree moves (``DirichletNodes``/``NIWNodes``)."""
        raise NotImplementedError

    def _move_tokens(self, state: dict[str, np.ndarray], tokens: np.ndarray,
                     old: np.ndarray, new: np.ndarray) -> None:
        """Node statistics after ``tokens`` moved from nodes ``old`` to nodes ``new``."""
        raise NotImplementedError

    def tree_moves_step(self, state: dict[str, np.ndarray], rng: np.random.Generator,
                        allow_new: bool = True) -> None:
        """The configured tree moves (no-op when off, not due, or while new branches are not
        allowed: a split creates a node); this step's counts go to ``sm_proposed`` /
        ``sm_accepted``."""
        from ppltopics.inference._tree_moves import tree_moves

        tm = self.split_merge
        if tm is None:
            return
        state["sm_accepted"][0] = state["sm_proposed"][0] = 0
        if not allow_new or state["sweeps"][0] % tm.every:
            return
        acc, prop = tree_moves(self, state, rng, tm, hasattr(self, "_scan_levels"),
                               self._sm_defect)
        state["sm_accepted"][0], state["sm_proposed"][0] = acc, prop

    def apply_paths(self, state: dict[str, np.ndarray], new_paths: np.ndarray,
                    docs: np.ndarray, new_levels: np.ndarray | None = None) -> None:
        """Install ``new_paths`` (an accepted tree move that changed the paths of ``docs``)
        and, if given, ``new_levels`` (levels of all tokens; only ``docs``' tokens may
        change): the tree arrays are rebuilt, the changed tokens' node statistics moved."""
        old_paths = state["paths"]
        tokens = self.doc_tokens(docs)
        tdocs = self.token_docs[tokens]
        lev = state["levels"][tokens]
        lev_new = lev if new_levels is None else new_levels[tokens].astype(lev.dtype)
        old, new = old_paths[tdocs, lev], new_paths[tdocs, lev_new]
        moved = old != new
        if new_levels is not None:
            state["levels"][tokens] = lev_new
            state["ndl"][docs] = 0
            np.add.at(state["ndl"], (tdocs, lev_new), 1)
        cap = state["parent"].shape[0]
        state["paths"] = np.ascontiguousarray(new_paths, dtype=old_paths.dtype)
        state.update(tree_arrays_from_paths(state["paths"], capacity=cap))
        if state["parent"].shape[0] > cap:
            self._grow_model(state, state["parent"].shape[0])
        self._move_tokens(state, tokens[moved], old[moved], new[moved])

    # ------------------------------------------------------------------ read-outs
    def state_log_prior(self, state: dict[str, np.ndarray]) -> float:
        """log p(c) + log p(z) of the kernel state: nCRP over its paths
        (:func:`ncrp_log_prob_tree`) and collapsed GEM over its levels (:func:`gem_log_prior`)."""
        return (ncrp_log_prob_tree(tree_from_state(state), self.depth, self.gamma)
                + gem_log_prior(state["ndl"], self.gem_mean, self.gem_scale))

    def tree_record(self, state: dict[str, np.ndarray]) -> dict[str, object]:
        level = state["node_level"]
        num_nodes = np.bincount(level[level >= 0], minlength=self.depth)[:self.depth]
        ndl = state["ndl"]
        total = max(int(ndl.sum()), 1)
        out = {"num_nodes": num_nodes.astype(np.int64),
               "num_nodes_total": int(num_nodes.sum()),
               "num_paths": int(num_nodes[-1]),
               "level_share": ndl.sum(axis=0) / total}
        if self.split_merge is not None:
            out["split_merge_accept"] = int(state["sm_accepted"][0])
            out["split_merge_proposed"] = int(state["sm_proposed"][0])
        return out

    def finalize(self, acc: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Trees change between draws: per-node summaries come from the final states
        (:class:`ppltopics.posteriors.tree.TreePosterior`), nothing is averaged."""
        return {}
