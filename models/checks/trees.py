"""Pieces shared by the nested-CRP tree models' checks (hLDA and GhLDA).

The latent of :func:`ppltopics.testing.geweke_test` is a dict ``{"paths": (D, L), "levels":
(N,)}`` (int32; the shared conventions of :mod:`ppltopics.models.hlda`), the data are word
ids (hLDA) or an (N, M) matrix of token vectors (GhLDA).  Node ids are not identified: every
test function here is invariant to relabelling the nodes, and the batched log joints
canonicalise each draw (:func:`ppltopics.distributions.canonical_paths`) before counting.
Here: the forward sampler and the ``latent_step`` adapter, the exact enumeration of a toy tree
posterior, the batched log prior (nCRP, Blei et al. 2010, times the per-document GEM level
urns) and the tree-only test functions.  Model-specific pieces are in
:mod:`ppltopics.models.checks.hlda` and :mod:`ppltopics.models.checks.ghlda`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy.special import gammaln

from ppltopics.inference.base import GibbsKernel, State
from ppltopics.testing.enumeration import MAX_ENUMERATED_STATES, states_to_index
from ppltopics.testing.forward import pyro_forward_sampler
from ppltopics.testing.helpers import stack_latents, token_pairs

__all__ = ["TREE_LATENT_KEYS", "TREE_BLOCK", "tree_forward_sampler", "TreeConditional",
           "stack_tree_latents", "canonical_paths_batch", "enumerate_ncrp_paths",
           "tree_state_index", "tree_enumerated_posterior", "token_nodes",
           "tree_log_prior_batch", "tree_test_functions", "batch_token_nodes"]

TREE_LATENT_KEYS = ("paths", "levels")

#: Draws per block in the batched tree log joints (bounds memory to ~ block·N·G·M² floats).
TREE_BLOCK = 2048


def tree_forward_sampler(
    model: Callable[..., Any],
    model_args: tuple[Any, ...] = (),
    model_kwargs: Mapping[str, Any] | None = None,
    data: str = "w",
) -> Callable[[int, np.random.Generator], list[tuple[dict[str, np.ndarray], np.ndarray]]]:
    """Forward simulator of a tree story for :func:`geweke_test`.

    Runs :func:`pyro_forward_sampler` on ``model`` (``ppltopics.models.hlda.model`` with
    ``data="w"``, ``ppltopics.models.ghlda.model`` with ``data="v"``) and returns draws
    ``({"paths": int32 (D, L), "levels": int32 (N,)}, data)``: the Pyro sites ``"paths"`` and
    ``"z"`` (the level of each token) renamed to the kernels' state keys.
    """
    fwd = pyro_forward_sampler(model, model_args, model_kwargs, latent=("paths", "z"),
                               data=data)

    def forward(num: int, rng: np.random.Generator):
        return [({"paths": lat["paths"].astype(np.int32), "levels": lat["z"].astype(np.int32)},
                 d) for lat, d in fwd(num, rng)]

    return forward


class TreeConditional:
    """``latent_step`` for :func:`geweke_test` over a tree state ``{"paths", "levels"}``.

    The tree analogue of :class:`CorpusConditional`.  Each call installs the data with
    ``kernel.set_data(data)`` (word ids for hLDA, the (N, M) token vectors for GhLDA), writes
    ``paths`` and ``levels`` into a kernel state (created once by ``kernel.init_state``;
    the arrays are *replaced*, keeping the dtype the kernel chose), calls
    ``kernel.resync(state)`` — which must rebuild the tree (parent, node levels, per-node
    document counts, free ids) and every count/statistic from ``state["paths"]``,
    ``state["levels"]`` and the data — and runs ``sweeps`` sweeps
    ``kernel.step(state, rng, warmup=False)``.  Returns copies of the new paths and levels.

    With ``canonical=True`` (default) the paths handed to ``resync`` are in canonical form
    (ids ``0..num_nodes − 1`` in creation order, root 0, no gaps), whatever ids the kernel
    used on the previous call; the chain is the same up to node labels.  Give the test a
    kernel of its own (it is modified).
    """

    def __init__(self, kernel: GibbsKernel, sweeps: int = 1, canonical: bool = True) -> None:
        self.kernel = kernel
        self.sweeps = int(sweeps)
        self.canonical = bool(canonical)
        self._state: State | None = None

    def __call__(self, latent: Mapping[str, np.ndarray], data: np.ndarray,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        from ppltopics.distributions import canonical_paths

        k = self.kernel
        k.set_data(data)
        if self._state is None:
            self._state = k.init_state(rng)
        state = self._state
        paths = np.asarray(latent["paths"])
        if self.canonical:
            paths = canonical_paths(paths)
        dt_p = state["paths"].dtype if "paths" in state else np.int32
        dt_l = state["levels"].dtype if "levels" in state else np.int32
        state["paths"] = np.array(paths, dtype=dt_p)
        state["levels"] = np.array(latent["levels"], dtype=dt_l)
        k.resync(state)
        for _ in range(self.sweeps):
            k.step(state, rng, warmup=False)
        return {"paths": np.array(state["paths"], dtype=np.int32),
                "levels": np.array(state["levels"], dtype=np.int32)}


def stack_tree_latents(latents: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(paths (S, D, L), levels (S, N))`` int64 from a list of tree latent dicts (what
    :func:`geweke_test` hands to test functions) or a dict of stacked arrays."""
    s = stack_latents(latents)
    return np.asarray(s["paths"], dtype=np.int64), np.asarray(s["levels"], dtype=np.int64)


def canonical_paths_batch(paths: np.ndarray) -> np.ndarray:
    """:func:`ppltopics.distributions.canonical_paths` of every draw of ``paths`` (S, D, L)."""
    from ppltopics.distributions import canonical_paths

    return np.stack([canonical_paths(p) for p in paths])


# ------------------------------------------------------------------------- enumeration
def enumerate_ncrp_paths(num_docs: int, depth: int) -> np.ndarray:
    """Every canonical path configuration of ``num_docs`` documents in a depth-``depth`` tree
    (the support of :class:`ppltopics.distributions.NestedCRP`), as a (C, D, L) int64 array.

    Generated by the sequential nCRP choices (each document, level by level, goes to an
    existing child or a new one, numbered in creation order), so each configuration appears
    once.  C grows fast (D = 3, L = 3: 12 configurations); keep toys tiny.
    """
    D, L = int(num_docs), int(depth)
    if D < 1 or L < 1:
        raise ValueError("num_docs and depth must be >= 1")
    out: list[np.ndarray] = []

    def rec(d: int, lev: int, node: int, paths: np.ndarray, children: list[list[int]]) -> None:
        if d == D:
            out.append(paths.copy())
            return
        if lev == L:
            rec(d + 1, 1, 0, paths, children)
            return
        for c in list(children[node]) + [-1]:
            kids = [list(x) for x in children]
            if c < 0:
                c = len(kids)
                kids.append([])
                kids[node].append(c)
            paths[d, lev] = c
            rec(d, lev + 1, c, paths, kids)
        paths[d, lev] = 0

    if L == 1:
        return np.zeros((1, D, 1), dtype=np.int64)
    rec(0, 1, 0, np.zeros((D, L), dtype=np.int64), [[]])
    return np.stack(out)


def tree_state_index(paths: np.ndarray, levels: np.ndarray, configs: np.ndarray) -> np.ndarray:
    """Cell of each tree state in the order of :func:`tree_enumerated_posterior`:
    ``config_index · L**N + states_to_index(levels, L)``, with the paths canonicalised and
    looked up in ``configs`` (from :func:`enumerate_ncrp_paths`).  ``paths`` (S, D, L) or
    (D, L), ``levels`` (S, N) or (N,)."""
    p = np.asarray(paths, dtype=np.int64)
    z = np.asarray(levels, dtype=np.int64)
    if p.ndim == 2:
        p, z = p[None], z[None]
    L = p.shape[2]
    lookup = {c.tobytes(): i for i, c in enumerate(np.asarray(configs, dtype=np.int64))}
    canon = canonical_paths_batch(p)
    try:
        cfg = np.array([lookup[c.tobytes()] for c in canon], dtype=np.int64)
    except KeyError:
        raise ValueError("a paths array is not among the enumerated configurations") from None
    return cfg * L ** z.shape[1] + states_to_index(z, L)


def tree_enumerated_posterior(
    log_target: Callable[[np.ndarray, np.ndarray], float], num_docs: int, depth: int,
    num_tokens: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact posterior over every (canonical paths, levels) state of a toy tree model.

    ``log_target(paths, levels)`` is an unnormalised log density (e.g.
    ``lambda p, z: hlda.log_joint(corpus, p, z, hyper)``).  Returns ``(configs, probs)``:
    ``configs`` (C, D, L) from :func:`enumerate_ncrp_paths` and ``probs`` (C·L**N,) in the
    cell order of :func:`tree_state_index` (levels in the order of :func:`states_to_index`).
    For an enumeration χ² of a kernel: ``counts = np.bincount(tree_state_index(P, Z,
    configs), minlength=probs.size)`` then :func:`chi2_gof`.
    """
    configs = enumerate_ncrp_paths(num_docs, depth)
    L, N = int(depth), int(num_tokens)
    size = configs.shape[0] * L**N
    if size > MAX_ENUMERATED_STATES:
        raise ValueError(f"{size} states is too many to enumerate")
    logp = np.empty(size)
    i = 0
    for p in configs:
        for z in itertools.product(range(L), repeat=N):
            logp[i] = log_target(p, np.asarray(z, dtype=np.int64))
            i += 1
    if not np.isfinite(logp.max()):
        raise ValueError("log_target is -inf (or nan) everywhere")
    prob = np.exp(logp - logp.max())
    return configs, prob / prob.sum()


# ------------------------------------------------------------------------- data | latent
def token_nodes(paths: np.ndarray, levels: np.ndarray,
                doc_offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per token: index of its node among the unique ids of ``paths`` and that node's level;
    returns (token_node (N,), node_level (T,))."""
    off = np.asarray(doc_offsets, dtype=np.int64)
    docs = np.repeat(np.arange(off.size - 1), np.diff(off))
    p = np.asarray(paths, dtype=np.int64)
    ids, first, inv = np.unique(p.ravel(), return_index=True, return_inverse=True)
    node_level = first % p.shape[1]  # the column of the node's first appearance
    inv = inv.reshape(p.shape)
    return inv[docs, np.asarray(levels, dtype=np.int64)], node_level


def tree_log_prior_batch(canon: np.ndarray, levels: np.ndarray, doc_offsets: np.ndarray,
                         hyper: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """log nCRP(c | γ) + Σ_d log p(z_d | GEM) of canonical draws ``canon`` (S, D, L) with
    ``levels`` (S, N), and per draw the token nodes (S, N), the node levels (S, G) (−1 where
    unused) and G.  The nCRP term is Σ_{internal u} [log Γ(γ) − log Γ(γ + n_u)] +
    Σ_{non-root t} [log γ + log Γ(n_t)] (n_u: documents through node u)."""
    from ppltopics.distributions import gem_level_log_prob

    S, D, L = canon.shape
    off = np.asarray(doc_offsets, dtype=np.int64)
    docs = np.repeat(np.arange(D), np.diff(off))
    G = int(canon.max()) + 1
    row = np.arange(S)[:, None, None]
    flat = (row * G + canon).ravel()
    doc_count = np.bincount(flat, minlength=S * G).reshape(S, G)  # docs through each node
    node_level = np.full(S * G, -1, dtype=np.int64)
    node_level[flat] = np.broadcast_to(np.arange(L), canon.shape).ravel()
    node_level = node_level.reshape(S, G)
    g = float(hyper.gamma)
    used = doc_count > 0
    internal = used & (node_level < L - 1)
    nonroot = used & (node_level > 0)
    log_ncrp = (np.where(internal, gammaln(g) - gammaln(g + doc_count), 0.0).sum(axis=1)
                + np.where(nonroot, math.log(g) + gammaln(np.maximum(doc_count, 1)), 0.0)
                .sum(axis=1))
    rows = np.arange(S)[:, None]
    dl = np.bincount((rows * D * L + docs[None, :] * L + levels).ravel(),
                     minlength=S * D * L).reshape(S, D, L)
    log_gem = gem_level_log_prob(dl, hyper.gem_mean, hyper.gem_scale).sum(axis=1)
    token_node = canon[rows, docs[None, :], levels]
    return log_ncrp + log_gem, token_node, node_level, np.asarray(G)


def tree_test_functions(
    doc_offsets: np.ndarray, depth: int
) -> dict[str, Callable[[Any, Any], np.ndarray]]:
    """Label-invariant test functions of the tree latent alone, ``g(latents, data)``
    (``latents``: a list of tree latent dicts or stacked arrays; ``data`` ignored):

    - ``nodes_level_l`` (l = 1..L−2): number of nodes at level l;
    - ``num_paths``: number of distinct paths (= nodes at level L−1);
    - ``largest_subtree``, ``second_subtree``: the largest and second largest share of the
      documents under one level-1 node (sorted level-1 subtree sizes; L ≥ 2);
    - ``tokens_level_l`` (l = 0..L−2): share of the tokens at level l;
    - ``doc_pairs_same_level``: fraction of within-document token pairs at the same level
      (the GEM urn).
    """
    off = np.asarray(doc_offsets, dtype=np.int64)
    L = int(depth)
    D = off.size - 1
    _, _, _, i_doc, j_doc = token_pairs(off)

    def distinct(col: np.ndarray) -> np.ndarray:
        s = np.sort(col, axis=1)
        return (np.diff(s, axis=1) != 0).sum(axis=1) + 1.0

    def nodes(lev: int):
        return lambda lat, d: distinct(stack_tree_latents(lat)[0][:, :, lev])

    def subtree(rank: int):
        def f(lat: Any, d: Any) -> np.ndarray:
            col = np.sort(stack_tree_latents(lat)[0][:, :, 1], axis=1)
            S = col.shape[0]
            # run lengths of equal ids along the sorted row = documents per level-1 node
            starts = np.ones_like(col, dtype=bool)
            starts[:, 1:] = col[:, 1:] != col[:, :-1]
            rid = np.cumsum(starts, axis=1) - 1
            sizes = np.zeros((S, D))
            np.add.at(sizes, (np.repeat(np.arange(S), D), rid.ravel()), 1.0)
            sizes = -np.sort(-sizes, axis=1)
            return sizes[:, rank] / D if rank < D else np.zeros(S)
        return f

    def tokens(lev: int):
        return lambda lat, d: (stack_tree_latents(lat)[1] == lev).mean(axis=1)

    out: dict[str, Callable[[Any, Any], np.ndarray]] = {}
    for lev in range(1, L - 1):
        out[f"nodes_level_{lev}"] = nodes(lev)
    if L >= 2:
        out["num_paths"] = nodes(L - 1)
        out["largest_subtree"] = subtree(0)
        if D >= 2:
            out["second_subtree"] = subtree(1)
        for lev in range(L - 1):
            out[f"tokens_level_{lev}"] = tokens(lev)
        out["doc_pairs_same_level"] = lambda lat, d: (
            lambda z: (z[:, i_doc] == z[:, j_doc]).mean(axis=1))(stack_tree_latents(lat)[1])
    return out


def batch_token_nodes(lat: Any, doc_offsets: np.ndarray) -> np.ndarray:
    """Node id of every token of every draw, ``paths[s, doc(n), levels[s, n]]`` (S, N)."""
    P, Z = stack_tree_latents(lat)
    off = np.asarray(doc_offsets, dtype=np.int64)
    docs = np.repeat(np.arange(off.size - 1), np.diff(off))
    return P[np.arange(P.shape[0])[:, None], docs[None, :], Z]
