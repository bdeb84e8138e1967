"""Metropolis–Hastings tree moves for the nested-CRP models (hLDA, GhLDA).

The path step of :mod:`ppltopics.inference.hlda` moves one document at a time.  A tree whose
branches mix two true subtrees, or whose true subtree is spread over two siblings, is many
low-probability single-document steps away from the truth, and chains stick there.  Two exact
MH moves act on whole groups of documents; the levels z and the data are untouched, so the
target is p(c | z, w) ∝ nCRP(c | γ) · Π_v p(w_v) (node topics integrated out: the
Dirichlet–multinomial of hLDA, the NIW marginal of GhLDA, see :class:`DirichletNodes` and
:class:`NIWNodes`).

**Split–merge of sibling nodes** (sequentially allocated, Dahl 2005's SAMS adapted to the
tree).  Draw a document i uniformly, a level ℓ ∈ {1, …, L−1} uniformly and a second document
j uniformly among the other documents through u = c_{i,ℓ−1}; their probability does not depend
on the tree below u, so it cancels.

* If c_{iℓ} ≠ c_{jℓ} the two sibling nodes are *merged* (their documents, their level-ℓ tokens
  and, below a leaf level, their children become one node's).
* If c_{iℓ} = c_{jℓ} = v, v is *split* in two: its *units* — its documents when v is a leaf,
  its child subtrees otherwise — are divided between A ∋ unit(i) and B ∋ unit(j) (no move when
  both anchors are in one unit).  The other units, in a uniformly random order, join A or B
  with probability ∝ Γ(n_X + m)/Γ(n_X) · p(w_unit | w_X) (m documents in the unit, n_X in the
  group so far; the second factor the node marginal's predictive of the unit's level-ℓ tokens).
  q_split is the product of these choices; the merge is deterministic, and its reverse
  probability is the same allocation forced to the current division.

  log α_split = log π(split) − log π(merged) − log q_split, and minus that for the merge.

**Regraft**: draw i and a level ℓ ∈ {2, …, L−1} uniformly; the subtree of v = c_{iℓ} (chosen
with probability n_v/D, unchanged by the move) moves, with every document and token in it, to a
uniformly chosen other node p' at level ℓ−1.  Proposed only when v's parent keeps another child
(no node is created or deleted, so the numbers of choices are equal both ways and the proposal
is symmetric); the documents' level-k tokens (k < ℓ) move between the old and new ancestors.

**Document move** (a path and a relabelling of levels, for one document).  Draw a level
ℓ ∈ {1, …, L−1}, a node of that level and a document d of that node, each uniformly: P(d | c)
= Σ_ℓ 1/(L−1) · 1/N_ℓ · 1/n_{c_dℓ} (N_ℓ nodes at level ℓ, n_v documents through v), so a
document alone on a branch is chosen about as often as a whole node.  Its new path is drawn
uniformly from the options of the path step in the tree without d (every existing leaf, a new
branch below every node above the leaves), and its tokens' levels 1 … L−1 are relabelled by a
permutation σ (the identity with probability ½, else uniform over the others; σ⁻¹ is as
likely).  The tree without d, and so the options, are the same for the reverse move, and d's
current path is exactly one of them, so only the choice of d enters the ratio:

  log α = log π(c', z') − log π(c, z) + log P(d | c') − log P(d | c).

It undoes what the one-document path step cannot: a document that has opened a branch of its
own explains its tokens there with its levels in any order (its leaf may hold the tokens its
true path keeps at level 1), and going back needs the path and the levels changed at once.

**Word block** (levels only; hLDA, whose tokens carry word identities).  Draw a pair of
levels ℓ−1, ℓ (ℓ ∈ {1, …, L−1}) uniformly, one of the two by a fair coin, and a node v of that
level uniformly — so v and its parent, or v and its children —, then a word w uniformly among
the words of the tokens at levels ℓ−1 and ℓ of v's documents (a set the move does not change).
All of w's tokens there are removed and added back in a uniformly random order, each to level
ℓ−1 or ℓ of its own path with probability ∝ its joint predictive p̃ (GEM level weight times
the node's Dirichlet–multinomial predictive of w, given the tokens placed so far;
:func:`ppltopics.inference.hlda.hlda_word_block`); the reverse probability is the same
allocation forced to the current levels, in the same order.  By the chain rule the joint
ratio is Π p̃(new) / Π p̃(current), so

  log α = Σ log p̃(new) − Σ log p̃(current) + log q_rev − log q_fwd.

The level step moves one token at a time against all of the word's other tokens in the node;
a word whose tokens sit half on a node and half on its only child (a branch two nodes deep
holding one planted topic's words and its parent's) stays split, and a word two leaves share
cannot move up to their parent one token at a time.  The block re-sorts a whole word at once.

All moves change only a few nodes: the nCRP term is recomputed from the paths
(:func:`ppltopics.distributions.ncrp_log_prob`), the likelihood only at the touched nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import gammaln

from ppltopics.inference._linalg import niw_log_marginal

__all__ = ["TreeMoves", "parse_tree_moves", "tree_moves", "DirichletNodes", "NIWNodes",
           "TokenIndex", "expand_ranges"]

# injected defects (tests only): 0 = exact, 1 = split–merge (and word-block) Hastings ratio
# omitted, 2 = regraft accepted without the nCRP ratio, 3 = the document move without the
# probabilities of choosing its document
EXACT, NO_HASTINGS, NO_NCRP, NO_DOC_CHOICE = 0, 1, 2, 3
#: word-block moves per move step (:class:`TreeMoves`), chosen on the planted trees of
#: ``benchmarks/bench_tree_moves.py``
WORD_MOVES = 50
#: what a move returns when its random choices propose nothing
_NOTHING = object()


@dataclass(frozen=True)
class TreeMoves:
    """Settings of the tree moves (``split_merge=`` of hLDA and GhLDA).

    moves
        Split–merge proposals and regraft proposals at each move step (≥ 1 each).
    every
        Sweeps between move steps (≥ 1; 1: after every sweep).
    refresh_share, level_scans
        Probability in [0, 1] that a proposal also re-draws the levels of the moved documents'
        tokens by ``level_scans`` (≥ 1) Gibbs scans under the proposed tree (the scans'
        probabilities, and those of the reverse path, in the Hastings ratio); else the levels
        are kept.  Models without a level scan keep them always.
    doc_moves
        Document moves (a path and a relabelling of one document's levels, module doc) at each
        move step (≥ 0).
    word_moves
        Word-block moves (one word's tokens at two adjacent levels of a node's documents
        re-sorted at once, module doc) at each move step (≥ 0); models without word
        identities (GhLDA) skip them.
    """

    moves: int = 2
    every: int = 1
    refresh_share: float = 0.5
    level_scans: int = 2
    doc_moves: int = 2
    word_moves: int = WORD_MOVES

    def __post_init__(self) -> None:
        for name, lo in (("moves", 1), ("every", 1), ("level_scans", 1), ("doc_moves", 0),
                         ("word_moves", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                raise ValueError(f"split_merge {name} must be an integer >= {lo}, got {v!r}")
        r = self.refresh_share
        if isinstance(r, bool) or not isinstance(r, int | float) or not 0 <= r <= 1:
            raise ValueError(f"split_merge refresh_share must be a number in [0, 1], got {r!r}")

    def config(self) -> dict[str, Any]:
        return {"moves": int(self.moves), "every": int(self.every),
                "refresh_share": float(self.refresh_share),
                "level_scans": int(self.level_scans), "doc_moves": int(self.doc_moves),
                "word_moves": int(self.word_moves)}


def parse_tree_moves(value: Any) -> TreeMoves | None:
    """``split_merge=`` of the tree models: False/None (off), True (defaults), a dict of
    :class:`TreeMoves` fields, or a :class:`TreeMoves`.  Anything else: ValueError."""
    if value is None or value is False:
        return None
    if value is True:
        return TreeMoves()
    if isinstance(value, TreeMoves):
        return value
    if isinstance(value, dict):
        unknown = set(value) - set(TreeMoves.__dataclass_fields__)
        if unknown:
            raise ValueError(f"split_merge: unknown option(s) {sorted(unknown)} for a tree "
                             f"model (known: {', '.join(TreeMoves.__dataclass_fields__)})")
        return TreeMoves(**value)
    raise ValueError(f"split_merge must be True/False, a dict or a TreeMoves, got {value!r}")


# ----------------------------------------------------------------------------- node marginals
class DirichletNodes:
    """hLDA's node marginal, Dirichlet(η_ℓ)–multinomial over V words::

        log p(w_v) = log Γ(Vη) − log Γ(n_v + Vη) + Σ_w [log Γ(n_vw + η) − log Γ(η)].

    A group is ``[dense counts (V,), n]``, a unit ``(words, counts, m)``.
    """

    def __init__(self, word_ids: np.ndarray, vocab_size: int, eta: np.ndarray) -> None:
        self.word_ids = word_ids
        self.V = int(vocab_size)
        self.eta = np.asarray(eta, dtype=np.float64)

    def unit(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        w, c = np.unique(self.word_ids[tokens], return_counts=True)
        return w, c.astype(np.float64), float(tokens.size)

    def group(self, unit: tuple[np.ndarray, np.ndarray, float]) -> list[Any]:
        counts = np.zeros(self.V)
        counts[unit[0]] = unit[1]
        return [counts, unit[2]]

    def logml(self, g: list[Any], level: int) -> float:
        e = self.eta[level]
        nz = g[0][g[0] > 0]
        return float((gammaln(nz + e) - gammaln(e)).sum()
                     + gammaln(self.V * e) - gammaln(g[1] + self.V * e))

    def gain(self, g: list[Any], unit: tuple[np.ndarray, np.ndarray, float], level: int,
             logml_g: float) -> float:
        """log p(unit | group) = logml(group + unit) − logml(group), O(unit's distinct words)."""
        e = self.eta[level]
        w, c, m = unit
        have = g[0][w]
        ve = self.V * e
        return float((gammaln(have + c + e) - gammaln(have + e)).sum()
                     + gammaln(g[1] + ve) - gammaln(g[1] + m + ve))

    def add(self, g: list[Any], unit: tuple[np.ndarray, np.ndarray, float], sign: int) -> None:
        g[0][unit[0]] += sign * unit[1]
        g[1] += sign * unit[2]


class NIWNodes:
    """GhLDA's node marginal, NIW_ℓ over vectors (ratio of normalisers,
    :func:`ppltopics.inference._linalg.niw_log_marginal`), from ``[n, Σx, Σ(x−μ0)(x−μ0)ᵀ]``;
    units are groups of the same form."""

    def __init__(self, X: np.ndarray, priors: tuple[Any, ...]) -> None:
        self.X = X
        self.priors = priors
        self.mu0 = priors[0].mu0

    def unit(self, tokens: np.ndarray) -> list[Any]:
        x = self.X[tokens]
        y = x - self.mu0
        return [float(tokens.size), x.sum(axis=0), y.T @ y]

    def group(self, unit: list[Any]) -> list[Any]:
        return [unit[0], unit[1].copy(), unit[2].copy()]

    def logml(self, g: list[Any], level: int) -> float:
        n = g[0]
        if n <= 0:
            return 0.0
        p = self.priors[level]
        kn = p.kappa0 + n
        d = (g[1] - n * p.mu0) / kn
        psi = p.psi0 + g[2] - kn * np.outer(d, d)
        logdet = 2.0 * float(np.log(np.diag(np.linalg.cholesky(psi))).sum())
        return float(niw_log_marginal(int(round(n)), logdet, p))

    def gain(self, g: list[Any], unit: list[Any], level: int, logml_g: float) -> float:
        return self.logml([a + b for a, b in zip(g, unit, strict=True)], level) - logml_g

    def add(self, g: list[Any], unit: list[Any], sign: int) -> None:
        g[0] += sign * unit[0]
        g[1] += sign * unit[1]
        g[2] += sign * unit[2]


# ----------------------------------------------------------------------------- token index
class TokenIndex:
    """Token indices grouped by (document, level): ``at(docs, ℓ)`` lists the level-ℓ tokens
    of ``docs`` (levels do not change during a move step)."""

    def __init__(self, token_docs: np.ndarray, levels: np.ndarray, num_docs: int,
                 depth: int) -> None:
        key = token_docs.astype(np.int64) * depth + levels
        self.order = np.argsort(key, kind="stable")
        self.off = np.concatenate([[0], np.cumsum(np.bincount(key, minlength=num_docs * depth))])
        self.depth = depth

    def at(self, docs: np.ndarray, level: int) -> np.ndarray:
        cell = np.asarray(docs, dtype=np.int64) * self.depth + level
        return self.order[expand_ranges(self.off[cell], self.off[cell + 1] - self.off[cell])]


def expand_ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``range(starts[i], starts[i] + lens[i])`` over i, as int64."""
    shift = np.repeat(starts - (np.cumsum(lens) - lens), lens)
    return (shift + np.arange(int(lens.sum()))).astype(np.int64)


# ----------------------------------------------------------------------------- the moves
def _units(paths: np.ndarray, docs: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
    """Units of the documents ``docs`` of a node at ``level``: (unit key per document, the
    distinct unit keys).  Leaf level: each document; otherwise its child at level+1."""
    key = docs if level == paths.shape[1] - 1 else paths[docs, level + 1]
    return key, np.unique(key)


def _allocate(ops: Any, idx: TokenIndex, key: np.ndarray, docs: np.ndarray, level: int,
              anchor_a: int, anchor_b: int, others: np.ndarray, forced: np.ndarray | None,
              rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Sequential allocation of ``others`` (unit keys) to A ∋ ``anchor_a`` or B ∋ ``anchor_b``
    (module docstring).  ``forced`` (bool per unit of ``others``, True = A) evaluates the
    probability of a given division instead of drawing one.  Returns (True where the unit went
    to A, log q)."""
    groups, logml, ndocs = [], [], []
    for a in (anchor_a, anchor_b):
        d = docs[key == a]
        u = ops.unit(idx.at(d, level))
        g = ops.group(u)
        groups.append(g)
        logml.append(ops.logml(g, level))
        ndocs.append(float(d.size))
    to_a = np.empty(others.size, dtype=bool)
    log_q = 0.0
    for t, unit_key in enumerate(others):
        d = docs[key == unit_key]
        m = float(d.size)
        u = ops.unit(idx.at(d, level))
        gains = [ops.gain(groups[x], u, level, logml[x]) for x in (0, 1)]
        lw = [math.lgamma(ndocs[x] + m) - math.lgamma(ndocs[x]) + gains[x] for x in (0, 1)]
        log_pa = -np.logaddexp(0.0, lw[1] - lw[0])
        log_pb = -np.logaddexp(0.0, lw[0] - lw[1])
        a = bool(forced[t]) if forced is not None else bool(rng.random() < math.exp(log_pa))
        to_a[t] = a
        x = 0 if a else 1
        log_q += log_pa if a else log_pb
        ops.add(groups[x], u, 1)
        logml[x] += gains[x]
        ndocs[x] += m
    return to_a, log_q


def _free_slot(state: dict[str, np.ndarray]) -> int:
    free = np.flatnonzero(state["node_level"] < 0)
    return int(free[0]) if free.size else int(state["node_level"].shape[0])


def _split_merge(kernel: Any, ops: Any, state: dict[str, np.ndarray], rng: np.random.Generator,
                 scans: int, defect: int, lp: float) -> Any:
    """One split–merge proposal (module docstring): the new log joint if accepted, None if
    rejected, ``_NOTHING`` if the draws proposed no move."""
    paths = state["paths"]
    D, L = paths.shape
    i = int(rng.integers(D))
    level = int(rng.integers(1, L))
    u = paths[i, level - 1]
    through = np.flatnonzero(paths[:, level - 1] == u)
    if through.size < 2:
        return _NOTHING
    j = int(rng.choice(through[through != i]))
    ci, cj = int(paths[i, level]), int(paths[j, level])
    if ci == cj:  # split
        docs = np.flatnonzero(paths[:, level] == ci)
        key, units = _units(paths, docs, level)
        ka, kb = key[docs == i][0], key[docs == j][0]
        if ka == kb:
            return _NOTHING
        others = rng.permutation(units[(units != ka) & (units != kb)])
        idx = TokenIndex(kernel.token_docs, state["levels"], D, L)
        to_a, log_q = _allocate(ops, idx, key, docs, level, ka, kb, others, None, rng)
        in_b = np.isin(key, np.concatenate([[kb], others[~to_a]]))
        new = paths.copy()
        new[docs[in_b], level] = _free_slot(state)
        return _finish(kernel, state, new, docs, -log_q, None, rng, scans, defect, lp)
    # merge; the reverse split is the allocation forced to the current division, evaluated
    # with the proposed levels
    docs = np.flatnonzero((paths[:, level] == ci) | (paths[:, level] == cj))
    key, units = _units(paths, docs, level)
    ka, kb = key[docs == i][0], key[docs == j][0]
    others = rng.permutation(units[(units != ka) & (units != kb)])
    side = {int(k): bool(paths[docs[key == k][0], level] == ci) for k in others}
    forced = np.array([side[int(k)] for k in others], dtype=bool)

    def reverse_split(proposed: dict[str, np.ndarray]) -> float:
        idx = TokenIndex(kernel.token_docs, proposed["levels"], D, L)
        return _allocate(ops, idx, key, docs, level, ka, kb, others, forced, rng)[1]

    new = paths.copy()
    new[docs, level] = ci
    return _finish(kernel, state, new, docs, 0.0, reverse_split, rng, scans, defect, lp)


def _regraft(kernel: Any, ops: Any, state: dict[str, np.ndarray], rng: np.random.Generator,
             scans: int, defect: int, lp: float) -> Any:
    """One regraft proposal (module docstring); same returns as :func:`_split_merge`."""
    paths = state["paths"]
    D, L = paths.shape
    if L < 3:
        return _NOTHING
    i = int(rng.integers(D))
    level = int(rng.integers(2, L))
    v, p = paths[i, level], paths[i, level - 1]
    if np.unique(paths[paths[:, level - 1] == p, level]).size < 2:
        return _NOTHING  # v's parent would be deleted
    parents = np.unique(paths[:, level - 1])
    if parents.size < 2:
        return _NOTHING
    p_new = rng.choice(parents[parents != p])
    docs = np.flatnonzero(paths[:, level] == v)
    new = paths.copy()
    new[docs, :level] = paths[np.flatnonzero(paths[:, level - 1] == p_new)[0], :level]
    return _finish(kernel, state, new, docs, 0.0, None, rng, scans, defect, lp)


def _doc_choice_logprob(paths: np.ndarray) -> np.ndarray:
    """log P(d | c) of the document move's choice for every document (module docstring)."""
    D, L = paths.shape
    p = np.zeros(D)
    for ell in range(1, L):
        nodes, inv, counts = np.unique(paths[:, ell], return_inverse=True, return_counts=True)
        p += 1.0 / (nodes.size * counts[inv])
    return np.log(p / (L - 1))


def _path_options(paths: np.ndarray, d: int, fresh: np.ndarray) -> np.ndarray:
    """The path step's options for document d in the tree without it, as rows (n, L): every
    existing leaf's path, then, below every node above the leaves, a new branch of the node
    ids ``fresh`` (L − 1 ids used by no path)."""
    L = paths.shape[1]
    others = np.delete(paths, d, axis=0)
    rows = [others[np.unique(others[:, L - 1], return_index=True)[1]]]
    for ell in range(L - 1):
        prefix = others[np.unique(others[:, ell], return_index=True)[1], :ell + 1]
        rows.append(np.hstack([prefix, np.broadcast_to(fresh[ell:], (prefix.shape[0],
                                                                     L - 1 - ell))]))
    return np.vstack(rows)


def _doc_move(kernel: Any, ops: Any, state: dict[str, np.ndarray], rng: np.random.Generator,
              scans: int, defect: int, lp: float) -> Any:
    """One document move (module docstring; the levels are relabelled, not re-drawn, so
    ``scans`` is unused); same returns as :func:`_split_merge`."""
    paths = state["paths"]
    D, L = paths.shape
    if D < 2:
        return _NOTHING
    ell = int(rng.integers(1, L))
    nodes = np.unique(paths[:, ell])
    members = np.flatnonzero(paths[:, ell] == nodes[rng.integers(nodes.size)])
    d = int(members[rng.integers(members.size)])
    used = np.zeros(max(int(paths.max()) + L, state["node_level"].shape[0]), dtype=bool)
    used[paths.ravel()] = True
    fresh = np.flatnonzero(~used)[:L - 1].astype(paths.dtype)
    options = _path_options(paths, d, fresh)
    new = paths.copy()
    new[d] = options[rng.integers(options.shape[0])]
    sigma = np.arange(L)
    if L > 2 and rng.random() < 0.5:
        while np.array_equal(sigma, np.arange(L)):
            sigma[1:] = rng.permutation(np.arange(1, L))
    if np.array_equal(sigma, np.arange(L)) and _same_tree(paths, new):
        return _NOTHING
    levels = state["levels"].copy()
    tokens = kernel.doc_tokens(np.array([d]))
    levels[tokens] = sigma[levels[tokens]]
    log_h = 0.0
    if defect != NO_DOC_CHOICE:
        log_h = _doc_choice_logprob(new)[d] - _doc_choice_logprob(paths)[d]
    return _finish(kernel, state, new, np.array([d]), log_h, None, rng, 0, defect, lp,
                   levels)


def _word_block(kernel: Any, ops: Any, state: dict[str, np.ndarray],
                rng: np.random.Generator, scans: int, defect: int, lp: float) -> Any:
    """One word-block move (module docstring; ``ops`` and ``scans`` unused); same returns as
    :func:`_split_merge`.  The state is changed in place only if the move is accepted."""
    paths = state["paths"]
    lo = int(rng.integers(0, paths.shape[1] - 1))  # the block's levels: lo, lo + 1
    at = lo + int(rng.random() < 0.5)  # the node's level: the lower or the upper one
    nodes = np.unique(paths[:, at])
    node = nodes[rng.integers(nodes.size)]
    tokens = kernel.doc_tokens(np.flatnonzero(paths[:, at] == node))
    lev = state["levels"][tokens]
    tokens = tokens[(lev == lo) | (lev == lo + 1)]
    if tokens.size == 0:
        return _NOTHING
    wid = kernel.corpus.word_ids[tokens]
    words = np.unique(wid)
    block = rng.permutation(tokens[wid == words[rng.integers(words.size)]])
    current = state["levels"][block]
    log_q_rev, log_p_cur = kernel._block_levels(state, block, lo, current, rng)  # no change
    log_q_fwd, log_p_new = kernel._block_levels(state, block, lo, None, rng)
    if np.array_equal(state["levels"][block], current):
        return _NOTHING
    log_alpha = log_p_new - log_p_cur
    if defect != NO_HASTINGS:
        log_alpha += log_q_rev - log_q_fwd
    if math.log(rng.random()) < log_alpha:
        return lp + log_p_new - log_p_cur
    kernel._block_levels(state, block, lo, current, rng)  # back to the current levels
    return None


def _same_tree(a: np.ndarray, b: np.ndarray) -> bool:
    """Do two path arrays describe the same tree and paths (node ids aside)?"""
    from ppltopics.distributions import canonical_paths

    return bool(np.array_equal(canonical_paths(a), canonical_paths(b)))


def _log_joint(kernel: Any, state: dict[str, np.ndarray], ncrp: bool = True) -> float:
    """log p(w, z, c) of a kernel state (the target of every move), or without the nCRP
    term (a defect for the tests)."""
    out = kernel._loglik(state) + kernel.state_log_prior(state)
    if not ncrp:
        from ppltopics.inference._tree import ncrp_log_prob_tree, tree_from_state

        out -= ncrp_log_prob_tree(tree_from_state(state), kernel.depth, kernel.gamma)
    return out


def _finish(kernel: Any, state: dict[str, np.ndarray], new_paths: np.ndarray,
            docs: np.ndarray, log_h: float, reverse: Any, rng: np.random.Generator,
            scans: int, defect: int, lp: float, new_levels: np.ndarray | None = None
            ) -> float | None:
    """Build the proposed state (new paths, and ``new_levels`` of all tokens if given, which
    only ``docs``' tokens may change; with ``scans`` > 0 the levels of every token of
    ``docs`` re-drawn by that many Gibbs scans in a random order), add the proposal ratio's
    level terms and ``reverse(proposed)`` (log probability of the reverse structural choice) to
    ``log_h``, and accept or reject against ``lp`` (the current log joint).  An accepted state
    replaces ``state``'s arrays in place and its log joint is returned; None if rejected."""
    proposed = {k: v.copy() for k, v in state.items()}
    kernel.apply_paths(proposed, new_paths, docs, new_levels)
    if scans:
        # forward: `scans` level scans in the order σ under the new tree; reverse: the
        # path back (scans in the order reversed, under the old tree, forced through the
        # same intermediate levels to the current ones)
        tokens = rng.permutation(kernel.doc_tokens(docs))
        path = [state["levels"].copy()]
        for _ in range(scans):
            log_h -= kernel._scan_levels(proposed, tokens, None, rng)
            path.append(proposed["levels"].copy())
        back = {k: v.copy() for k, v in state.items()}
        kernel._scan_levels(back, tokens, path[-1], rng)  # old tree, proposed levels
        for target in path[-2::-1]:
            log_h += kernel._scan_levels(back, tokens[::-1], target, rng)
    if reverse is not None:
        log_h += reverse(proposed)
    ncrp = defect != NO_NCRP
    lp_new = _log_joint(kernel, proposed, ncrp)
    log_alpha = lp_new - lp + (0.0 if defect == NO_HASTINGS else log_h)
    if math.log(rng.random()) < log_alpha:
        state.update(proposed)
        return lp_new
    return None


def tree_moves(kernel: Any, state: dict[str, np.ndarray], rng: np.random.Generator,
               settings: TreeMoves, can_scan: bool = True, defect: int = EXACT
               ) -> tuple[int, int]:
    """``settings.moves`` split–merge and as many regraft proposals on ``state``, alternating,
    each re-drawing the moved documents' levels with probability ``refresh_share`` (never when
    the kernel cannot scan levels: ``can_scan`` False), then ``settings.doc_moves`` document
    moves and, for kernels with word identities (``_block_levels``), ``settings.word_moves``
    word blocks.  Returns (accepted, proposed); a draw that proposes nothing (no pair, both anchors
    in one unit, a parent that would vanish, the current path and levels again) is not
    counted."""
    ops = kernel.node_marginal()
    lp = _log_joint(kernel, state, defect != NO_NCRP)
    accepted = proposed = 0
    schedule = [(_split_merge, _regraft)] * settings.moves + [(_doc_move,)] * settings.doc_moves
    if hasattr(kernel, "_block_levels"):
        schedule += [(_word_block,)] * settings.word_moves
    for moves in schedule:
        for move in moves:
            refresh = can_scan and rng.random() < settings.refresh_share
            out = move(kernel, ops, state, rng, settings.level_scans if refresh else 0, defect,
                       lp)
            if out is _NOTHING:
                continue
            proposed += 1
            if out is not None:
                accepted += 1
                lp = out
    return accepted, proposed
