"""Collapsed Gibbs sampling for Gaussian hierarchical LDA (Yoshida et al., PLoS ONE 2023).

GhLDA is hLDA (Blei, Griffiths & Jordan 2010; :mod:`ppltopics.inference.hlda`) whose node
topics are Gaussians over word vectors with a Normal-inverse-Wishart prior, Ψ0 scaled per
level (``psi_ratio``, paper (1, 0.8, 0.6, 0.4)): node v at level ℓ has
(μ_v, Σ_v) ~ NIW(μ0, κ0, psi_ratio[ℓ]·Ψ0, ν0), integrated out (the NIW algebra of Murphy
2007, :mod:`ppltopics.inference._linalg`).  One sweep visits every document and draws

* its path, with the document's vectors removed from its nodes::

      p(c_d | rest) ∝ nCRP(c_d | c_−d) · Π_ℓ p(x_{d,ℓ} | vectors in node c_{d,ℓ}),

  each factor the ratio of NIW normalisers of a block of m vectors (:func:`_block_score`):
  from the node's maintained factor by the determinant lemma on the rank-m change
  (O(m·M²/2 + m²·M/2 + m³/6), cheaper than m rank-one updates of a copy,
  :func:`~._linalg.block_logpdf_rows`, which is kept as the reference in the tests), or, when
  m is large enough that it is cheaper, by one fresh factorisation of Ψ_{n+m} from the node's
  scatter (O(M³/6)); a document's block leaves and rejoins a node the same way.  Leaves and
  new branches are scored in one traversal (:func:`ppltopics.inference._tree.score_paths`);
* each token's level::

      p(z_n = ℓ | rest) ∝ GEM_ℓ(n_d,−n) · t_{ν_ℓ−M+1}(x_n | μ_ℓ, Ψ_ℓ(κ_ℓ+1)/(κ_ℓ(ν_ℓ−M+1))),

  the multivariate-t predictive of node c_{d,ℓ} without token n (its own node by the
  leave-one-out formula, :func:`~._linalg.predictive_logpdf_loo`), O(L·M²).

The paper's public code scores blocks token by token with fresh factorisations; here every node
keeps its factor, and the work per (node, block) is the cheaper of the low-rank and the
refactorisation routes.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from ppltopics._validation import check_int
from ppltopics.corpus import Corpus
from ppltopics.inference._linalg import (
    NIWPrior,
    NIWStats,
    block_logpdf_rows,
    chol_logdet,
    cholesky_lower,
    make_prior,
    matvec_sq,
    niw_add,
    niw_log_marginal,
    niw_refactor,
    niw_remove,
    predictive_logpdf,
    reset_topic,
    t_logpdf,
    tri_inv,
)
from ppltopics.inference._partition import DocBlocks
from ppltopics.inference._sampling import log_categorical
from ppltopics.inference._tree import (
    Tree,
    TreeKernelBase,
    count_log_table,
    gem_level_weights,
    group_by_level,
    score_paths,
    tree_add_path,
    tree_extend,
    tree_from_state,
    tree_path_to,
    tree_remove_path,
)
from ppltopics.inference.base import GibbsKernel, State

__all__ = ["GhLDAKernel", "fit_model", "ghlda_levels_block", "ghlda_sweep",
           "PAPER_PRESET"]

_STATS = ("count", "sums", "scatter", "chol", "logdet")
#: blocks at least this large are added/removed by one refactorisation, not rank-one changes
_BLOCK_MIN = 4

#: the GhLDA paper's settings (Yoshida et al. 2023, "Experimental settings"; ν0 = M + 0.1 as in
#: its public code, the paper's "v = 0.1" being below the NIW's M − 1 bound)
PAPER_PRESET: dict[str, Any] = {
    "depth": 4, "gamma": 0.1, "gem_mean": 0.5, "gem_scale": 100.0, "kappa0": 0.1,
    "nu0": "M + 0.1", "psi0": 50.0, "psi_ratio": (1.0, 0.8, 0.6, 0.4),
    "initial_tree": [1, 1, 4, 4], "warmup_fixed_sweeps": 5, "init_levels": "frequency",
}


def _stats(state: State) -> NIWStats:
    return NIWStats(*(state[k] for k in _STATS))


@numba.njit(cache=True, nogil=True)
def _node_stats(X: np.ndarray, node: np.ndarray, node_level: np.ndarray, stats: NIWStats,
                priors: Any) -> None:
    """Statistics of every slot from scratch: member counts, sums and scatter about μ0, then
    one factorisation per occupied node (free slots: level 0's empty prior)."""
    M = X.shape[1]
    mu0 = priors[0].mu0
    for n in range(X.shape[0]):
        s = node[n]
        stats.count[s] += 1
        for i in range(M):
            yi = X[n, i] - mu0[i]
            stats.sums[s, i] += X[n, i]
            for j in range(i + 1):
                stats.scatter[s, i, j] += yi * (X[n, j] - mu0[j])
    for s in range(node_level.shape[0]):
        ell = max(node_level[s], 0)
        if stats.count[s] == 0:
            reset_topic(s, stats, priors[ell])
        else:
            niw_refactor(s, stats, priors[ell])


_FAST = {"reassoc", "contract"}  # lets the triangular solves' dot products use SIMD


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _solve_sq(L: np.ndarray, y: np.ndarray, out: np.ndarray) -> float:
    """out ← L⁻¹ y (forward substitution, row-wise dot products); returns ‖L⁻¹ y‖²."""
    M = L.shape[0]
    q = 0.0
    for i in range(M):
        acc = 0.0
        for j in range(i):
            acc += L[i, j] * out[j]
        v = (y[i] - acc) / L[i, i]
        out[i] = v
        q += v * v
    return q


@numba.njit(cache=True, nogil=True)
def _predictive_fast(x: np.ndarray, n: int, sums: np.ndarray, Linv: np.ndarray,
                     logdet: float, prior: NIWPrior, y: np.ndarray, w: np.ndarray,
                     loo: bool) -> float:
    """The multivariate-t predictive of :func:`~._linalg.predictive_logpdf` (``loo`` False)
    or :func:`~._linalg.predictive_logpdf_loo` (``loo`` True: x is a member, scored against
    the others by the determinant lemma and Sherman–Morrison; NaN when rounding makes that
    unsafe), from ``Linv`` = L⁻¹ of the node's factor (:func:`tri_inv`): the quadratic form
    is one triangular matrix-vector product, which vectorises (a forward substitution does
    not)."""
    M = x.shape[0]
    if loo:
        if n <= 1:
            for i in range(M):
                y[i] = x[i] - prior.mu0[i]
            q = _solve_sq(prior.psi0_chol, y, w)
            kappa = prior.kappa0
            dof = prior.nu0 - M + 1.0
            return t_logpdf(q, prior.psi0_logdet, (kappa + 1.0) / (kappa * dof), dof, M)
        kappa_p = prior.kappa0 + (n - 1)
        for i in range(M):
            y[i] = x[i] - (prior.kappa0 * prior.mu0[i] + sums[i] - x[i]) / kappa_p
        q = matvec_sq(Linv, y)
        one_minus = 1.0 - kappa_p / (kappa_p + 1.0) * q
        if not one_minus > 1e-10:
            return np.nan
        dof = prior.nu0 + (n - 1) - M + 1.0
        return t_logpdf(q / one_minus, logdet + math.log(one_minus),
                        (kappa_p + 1.0) / (kappa_p * dof), dof, M)
    kappa_n = prior.kappa0 + n
    for i in range(M):
        y[i] = x[i] - (prior.kappa0 * prior.mu0[i] + sums[i]) / kappa_n
    q = matvec_sq(Linv, y)
    dof = prior.nu0 + n - M + 1.0
    return t_logpdf(q, logdet, (kappa_n + 1.0) / (kappa_n * dof), dof, M)


@numba.njit(cache=True, nogil=True)
def _block_stats(X: np.ndarray, rows: np.ndarray, mu0: np.ndarray, sb: np.ndarray,
                 Sb: np.ndarray) -> None:
    """sb = Σ x, Sb (lower triangle) = Σ (x − μ0)(x − μ0)ᵀ over the block ``X[rows]``."""
    M = X.shape[1]
    for i in range(M):
        sb[i] = 0.0
        for j in range(i + 1):
            Sb[i, j] = 0.0
    for r in rows:
        for i in range(M):
            yi = X[r, i] - mu0[i]
            sb[i] += X[r, i]
            for j in range(i + 1):
                Sb[i, j] += yi * (X[r, j] - mu0[j])


@numba.njit(cache=True, nogil=True)
def _block_move(s: int, m: int, sign: int, sb: np.ndarray, Sb: np.ndarray, stats: NIWStats,
                prior: NIWPrior) -> None:
    """Add (sign = 1) or remove (−1) a block of m vectors with statistics (sb, Sb) to/from
    node s and refactorise it (O(M³/6), cheaper than m rank-one changes for m ≳ 4)."""
    M = sb.shape[0]
    stats.count[s] += sign * m
    for i in range(M):
        stats.sums[s, i] += sign * sb[i]
        for j in range(i + 1):
            stats.scatter[s, i, j] += sign * Sb[i, j]
    if stats.count[s] == 0:
        reset_topic(s, stats, prior)
    else:
        niw_refactor(s, stats, prior)


@numba.njit(cache=True, nogil=True)
def _block_score(
    n: int, sums: np.ndarray, scatter: np.ndarray, L: np.ndarray, logdet: float,
    X: np.ndarray, rows: np.ndarray, sb: np.ndarray, Sb: np.ndarray, prior: NIWPrior,
    A: np.ndarray, W: np.ndarray, G: np.ndarray, y: np.ndarray,
) -> float:
    """log p(X[rows] | n vectors with sum ``sums``, scatter about μ0 ``scatter`` and factor
    L of Ψ_n): the ratio of NIW normalisers niw_log_marginal(n+m) − niw_log_marginal(n).

    log|Ψ_{n+m}| by the cheaper of two exact routes (no O(M³) work when m is small):

    * low rank (m ≲ M/2): with y_i = x_i − μ_n and κ' = κ_n + m,
      Ψ_{n+m} = Ψ_n + Σ y_i y_iᵀ − (Σ y_i)(Σ y_i)ᵀ/κ'; with W = L⁻¹[y_1 … y_m] and
      G = I_m + WᵀW (Sylvester's determinant identity and the push-through identity)
      log|Ψ_{n+m}| = log|Ψ_n| + log|G| + log(1 − (m − 1ᵀG⁻¹1)/κ'),
      O(m M²/2 + m² M/2 + m³/6);
    * fresh: Ψ_{n+m} = Ψ0 + scatter + Sb − κ' d dᵀ, d = (Σx − (n+m) μ0)/κ', one Cholesky,
      O(M³/6).
    """
    M = X.shape[1]
    m = rows.shape[0]
    if m == 0:
        return 0.0
    kappa_n = prior.kappa0 + n
    kp = kappa_n + m
    cost_lr = 0.5 * m * M * M + 0.5 * m * m * M + m * m * m / 6.0
    cost_fresh = M * M * M / 6.0 + 1.5 * M * M
    logdet_new = 0.0
    done = False
    if cost_lr < cost_fresh:
        for t in range(m):
            r = rows[t]
            for i in range(M):
                y[i] = X[r, i] - (prior.kappa0 * prior.mu0[i] + sums[i]) / kappa_n
            _solve_sq(L, y, W[t])  # L w_t = y_t
        for a in range(m):
            for b in range(a + 1):
                acc = 0.0
                for i in range(M):
                    acc += W[a, i] * W[b, i]
                G[a, b] = acc + (1.0 if a == b else 0.0)
        if cholesky_lower(G[:m, :m], G[:m, :m]):
            lg = chol_logdet(G[:m, :m])
            # 1ᵀ G⁻¹ 1 = ‖C⁻¹ 1‖² with G = C Cᵀ
            q = 0.0
            for i in range(m):
                acc = 1.0
                for j in range(i):
                    acc -= G[i, j] * y[j]
                y[i] = acc / G[i, i]
                q += y[i] * y[i]
            one_minus = 1.0 - (m - q) / kp
            if one_minus > 1e-12:
                logdet_new = logdet + lg + math.log(one_minus)
                done = True
    if not done:
        for i in range(M):
            di = (sums[i] + sb[i] - (n + m) * prior.mu0[i]) / kp
            for j in range(i + 1):
                dj = (sums[j] + sb[j] - (n + m) * prior.mu0[j]) / kp
                A[i, j] = prior.psi0[i, j] + scatter[i, j] + Sb[i, j] - kp * di * dj
        if not cholesky_lower(A, A):
            raise FloatingPointError("NIW posterior scale is not positive definite")
        logdet_new = chol_logdet(A)
    return niw_log_marginal(n + m, logdet_new, prior) - niw_log_marginal(n, logdet, prior)


@numba.njit(cache=True, nogil=True)
def _doc_levels(
    d: int, b: int, e: int, X: np.ndarray, levels: np.ndarray, paths: np.ndarray,
    ndl: np.ndarray, stats: NIWStats, priors: Any, gem_m: float, gem_pi: float,
    rng: np.random.Generator, cnt: np.ndarray, gem: np.ndarray, logp: np.ndarray,
    Linv: np.ndarray, stale: np.ndarray, y: np.ndarray, w0: np.ndarray, work: np.ndarray,
) -> None:
    """The level step (module doc) of document d's tokens b..e − 1 against ``stats``; the
    rest are scratch: (L,) ``cnt``, ``gem``, ``logp``, ``stale``; (L, M, M) ``Linv`` (the
    inverse factor of node path[j], recomputed after it changes); (≥ M,) ``y``, ``w0``;
    (M + 4, M) ``work``."""
    L = paths.shape[1]
    for j in range(L):
        stale[j] = True
    for n in range(b, e):
        x = X[n]
        old = levels[n]
        ndl[d, old] -= 1
        for j in range(L):
            cnt[j] = ndl[d, j]
        gem_level_weights(cnt, gem_m, gem_pi, gem)
        removed = False
        for j in range(L):
            v = paths[d, j]
            if stale[j]:
                tri_inv(stats.chol[v], Linv[j])
                stale[j] = False
            f = _predictive_fast(x, stats.count[v], stats.sums[v], Linv[j],
                                 stats.logdet[v], priors[j], y, w0, j == old)
            if math.isnan(f):  # rounding: remove and score the usual way
                niw_remove(v, x, stats, priors[j], work)
                removed = True
                stale[j] = True
                f = predictive_logpdf(v, x, stats, priors[j], work)
            logp[j] = math.log(gem[j]) + f
        new = log_categorical(rng, logp, L, cnt)
        if new != old or removed:
            if not removed:
                niw_remove(paths[d, old], x, stats, priors[old], work)
            niw_add(paths[d, new], x, stats, priors[new], work)
            stale[old] = True
            stale[new] = True
        ndl[d, new] += 1
        levels[n] = new


@numba.njit(cache=True, nogil=True)
def ghlda_levels_block(
    doc_lo: int, doc_hi: int, X: np.ndarray, doc_offsets: np.ndarray, levels: np.ndarray,
    paths: np.ndarray, ndl: np.ndarray, stats: NIWStats, priors: Any, gem_m: float,
    gem_pi: float, rng: np.random.Generator,
) -> None:
    """The level step of documents ``doc_lo..doc_hi − 1`` against ``stats``, one block's own
    copy of the node statistics (the threaded sweep, :meth:`GhLDAKernel._level_pass`)."""
    L = paths.shape[1]
    M = X.shape[1]
    cnt = np.empty(L)
    gem = np.empty(L)
    logp = np.empty(L)
    Linv = np.empty((L, M, M))
    stale = np.ones(L, dtype=np.bool_)
    y = np.empty(M)
    w0 = np.empty(M)
    work = np.empty((M + 4, M))
    for d in range(doc_lo, doc_hi):
        _doc_levels(d, doc_offsets[d], doc_offsets[d + 1], X, levels, paths, ndl, stats,
                    priors, gem_m, gem_pi, rng, cnt, gem, logp, Linv, stale, y, w0, work)


@numba.njit(cache=True, nogil=True)
def ghlda_sweep(
    start: int, X: np.ndarray, doc_offsets: np.ndarray, levels: np.ndarray,
    paths: np.ndarray, ndl: np.ndarray, tree: Tree, stats: NIWStats, priors: Any,
    gamma: float, gem_m: float, gem_pi: float, do_path: bool, allow_new: bool,
    rng: np.random.Generator, mutation: int, block_min: int, do_levels: bool = True,
) -> int:
    """Path and level steps for documents ``start..`` (module docstring); ``X`` (N, M) holds
    the token vectors, ``priors[l]`` the NIW prior of level l.  A document's level block of
    at least ``block_min`` vectors leaves and joins its node by one refactorisation
    (:func:`_block_move`), a smaller one by rank-one down/updates.  Returns the first document not
    done for lack of free slots (−1 when all are done).  ``mutation`` (tests only): 1 scores
    paths before removing the document's vectors; 2 the non-product "nCRP" of
    :func:`score_paths`.  ``do_levels`` False: paths only (the threaded sweep then draws the
    levels by blocks, :func:`ghlda_levels_block`)."""
    D = doc_offsets.shape[0] - 1
    L = paths.shape[1]
    M = X.shape[1]
    cap = tree.parent.shape[0]
    work = np.empty((M + 4, M))
    ll_node = np.zeros(cap)
    cand = np.empty(cap, dtype=np.int64)
    count_logs = count_log_table(D, gamma)
    score = np.empty(cap)
    stack = np.empty(cap, dtype=np.int64)
    cum = np.empty(cap)
    buf = np.empty(cap)
    ll_empty = np.zeros(L)
    maxlen = 0
    for d in range(D):
        maxlen = max(maxlen, doc_offsets[d + 1] - doc_offsets[d])
    order = np.empty(maxlen, dtype=np.int64)
    lo = np.empty(L + 1, dtype=np.int64)
    path = np.empty(L, dtype=np.int32)
    gem = np.empty(L)
    cnt = np.empty(L)
    logp = np.empty(L)
    mmax = max(maxlen, 1)
    sb = np.empty((L, M))
    Sb = np.empty((L, M, M))
    A = np.empty((M, M))
    W = np.empty((mmax, M))
    G = np.empty((mmax, mmax))
    y = np.empty(max(M, mmax))
    zero_s = np.zeros(M)
    zero_S = np.zeros((M, M))
    Linv = np.empty((L, M, M))
    stale = np.ones(L, dtype=np.bool_)
    for d in range(start, D):
        b, e = doc_offsets[d], doc_offsets[d + 1]
        if do_path:
            if tree.meta[0] < L:
                return d
            group_by_level(levels, b, e, L, order, lo)
            for j in range(L):
                path[j] = paths[d, j]
                _block_stats(X, order[lo[j]:lo[j + 1]], priors[0].mu0, sb[j], Sb[j])
            if mutation == 1:
                for s in range(cap):
                    ell = tree.node_level[s]
                    if ell >= 0:
                        ll_node[s] = block_logpdf_rows(s, X, order[lo[ell]:lo[ell + 1]], stats,
                                                       priors[ell], work)
            # remove the document's vectors: per level one block (refactorised) or rank one
            for ell in range(L):
                m = lo[ell + 1] - lo[ell]
                if m >= block_min:
                    _block_move(path[ell], m, -1, sb[ell], Sb[ell], stats, priors[ell])
                else:
                    for i in range(lo[ell], lo[ell + 1]):
                        niw_remove(path[ell], X[order[i]], stats, priors[ell], work)
            tree_remove_path(tree, path)
            if mutation != 1:
                for s in range(cap):
                    ell = tree.node_level[s]
                    if ell >= 0:
                        ll_node[s] = _block_score(
                            stats.count[s], stats.sums[s], stats.scatter[s], stats.chol[s],
                            stats.logdet[s], X, order[lo[ell]:lo[ell + 1]], sb[ell],
                            Sb[ell], priors[ell], A, W, G, y)
            for ell in range(L):
                pr = priors[ell]
                ll_empty[ell] = _block_score(0, zero_s, zero_S, pr.psi0_chol, pr.psi0_logdet,
                                             X, order[lo[ell]:lo[ell + 1]], sb[ell], Sb[ell],
                                             pr, A, W, G, y)
            nc = score_paths(tree, L, gamma, ll_node, ll_empty, allow_new, cand, score, stack,
                             cum, count_logs, mutation == 2)
            u = cand[log_categorical(rng, score, nc, buf)]
            if tree.node_level[u] == L - 1:
                tree_path_to(tree, u, path)
            else:
                first_new = tree.node_level[u] + 1
                tree_extend(tree, u, path)
                for j in range(first_new, L):
                    reset_topic(path[j], stats, priors[j])
            tree_add_path(tree, path)
            for j in range(L):
                paths[d, j] = path[j]
            for ell in range(L):
                m = lo[ell + 1] - lo[ell]
                if m >= block_min:
                    _block_move(path[ell], m, 1, sb[ell], Sb[ell], stats, priors[ell])
                else:
                    for i in range(lo[ell], lo[ell + 1]):
                        niw_add(path[ell], X[order[i]], stats, priors[ell], work)
        if do_levels:
            _doc_levels(d, b, e, X, levels, paths, ndl, stats, priors, gem_m, gem_pi, rng,
                        cnt, gem, logp, Linv, stale, y, W[0], work)
    return -1


class GhLDAKernel(TreeKernelBase, GibbsKernel):
    """Collapsed Gibbs for GhLDA (module docstring).

    Parameters
    ----------
    corpus
        Training corpus; ``table[w]`` is the vector of ``corpus.vocab[w]``.
    table
        (V, M) word vectors aligned to ``corpus.vocab`` (the token vectors are its rows at
        ``corpus.word_ids``; :meth:`set_data` replaces them by arbitrary (N, M) vectors).
    depth, gamma, gem_mean, gem_scale, initial_tree, warmup_fixed_sweeps, init_levels, init
        As :class:`ppltopics.inference.hlda.HLDAKernel`.
    mu0, kappa0, nu0, psi0
        NIW prior of level 0; level ℓ uses Ψ0·psi_ratio[ℓ].
    psi_ratio
        One positive factor per level (paper: (1, 0.8, 0.6, 0.4)).
    split_merge
        As :class:`ppltopics.inference.hlda.HLDAKernel` (tree moves with NIW node marginals).
    workers
        Threads per chain (default 1: the serial sweep).  With W > 1 a sweep draws every
        document's path first (serially), then the levels of W blocks of documents of equal
        token mass at once, each against its own copy of the node statistics (n_v, Σx,
        Σxxᵀ), whose changes are merged and every factor recomputed after the pass
        (:class:`~ppltopics.inference._partition.DocBlocks`, as GLDA's blocks).  An
        approximation: a block does not see the others' level moves within the pass.
    """

    model_name = "ghlda"

    def __init__(
        self, corpus: Corpus, table: np.ndarray, mu0: np.ndarray, kappa0: float, nu0: float,
        psi0: np.ndarray, psi_ratio: Any = None, depth: int = 3, gamma: float = 1.0,
        gem_mean: float = 0.5, gem_scale: float = 100.0, initial_tree: list[int] | None = None,
        warmup_fixed_sweeps: int | None = None, init_levels: str = "random",
        split_merge: Any = False, init: str = "random",
        workers: int = 1,
    ) -> None:
        if not isinstance(corpus, Corpus):
            raise TypeError(f"corpus must be a ppltopics.Corpus, got {type(corpus).__name__}")
        table = np.ascontiguousarray(table, dtype=np.float64)
        if table.ndim != 2 or table.shape[0] != corpus.vocab_size:
            raise ValueError(f"the vector table must have one row per vocabulary word "
                             f"({corpus.vocab_size}), got shape {table.shape}")
        if not np.all(np.isfinite(table)):
            raise ValueError("word vectors contain NaN or inf")
        self.corpus = corpus
        self.table = table
        self._init_tree_options(corpus.num_docs, depth, gamma, gem_mean, gem_scale,
                                initial_tree, warmup_fixed_sweeps, init_levels,
                                corpus.word_ids, split_merge, init)
        ratio = np.ones(self.depth) if psi_ratio is None else \
            np.asarray(psi_ratio, dtype=np.float64)
        if ratio.shape != (self.depth,) or not np.all(np.isfinite(ratio)) or np.any(ratio <= 0):
            raise ValueError(f"psi_ratio must hold {self.depth} positive numbers (one per "
                             f"level), got {psi_ratio!r}")
        self.psi_ratio = ratio
        M = table.shape[1]
        psi0 = float(psi0) * np.eye(M) if np.ndim(psi0) == 0 else np.asarray(psi0, float)
        self.priors = tuple(make_prior(mu0, kappa0, nu0, r * psi0) for r in ratio)
        if self.priors[0].mu0.shape[0] != M:
            raise ValueError(f"mu0 has dimension {self.priors[0].mu0.shape[0]}, the vectors "
                             f"{M}")
        self.X = np.ascontiguousarray(table[corpus.word_ids])
        self._mutation = 0
        self._block_min = _BLOCK_MIN
        self.workers = check_int("workers", workers, 1)
        self._doc_blocks = DocBlocks(corpus.doc_offsets, self.workers)

    @property
    def num_tokens(self) -> int:
        return self.corpus.num_tokens

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])

    def _doc_offsets(self) -> np.ndarray:
        return self.corpus.doc_offsets

    def set_data(self, data: np.ndarray) -> None:
        """New token vectors (N, M) for the same tokens (Geweke); call :meth:`resync` after."""
        data = np.ascontiguousarray(data, dtype=np.float64)
        if data.shape != self.X.shape:
            raise ValueError(f"expected token vectors of shape {self.X.shape}, got {data.shape}")
        if not np.all(np.isfinite(data)):
            raise ValueError("token vectors contain NaN or inf")
        self.X = data

    def config(self) -> dict[str, Any]:
        p = self.priors[0]
        return {"model": self.model_name, **self.tree_config(), "kappa0": p.kappa0,
                "nu0": p.nu0, "mu0": p.mu0.tolist(), "psi0": p.psi0.tolist(),
                "psi_ratio": self.psi_ratio.tolist(), "dim": self.dim,
                **({} if self.workers == 1 else {"workers": self.workers})}

    # -------------------------------------------------------------- model statistics
    def _resync_model(self, state: State) -> None:
        """NIW statistics of every node from its member vectors (one O(M³) factor each)."""
        c = self.corpus
        cap = state["parent"].shape[0]
        M = self.dim
        node = state["paths"][c.token_docs, state["levels"]].astype(np.int64)
        state["count"] = np.zeros(cap, dtype=np.int64)
        state["sums"] = np.zeros((cap, M))
        state["scatter"] = np.zeros((cap, M, M))
        state["chol"] = np.zeros((cap, M, M))
        state["logdet"] = np.zeros(cap)
        _node_stats(self.X, node, state["node_level"], _stats(state), self.priors)

    def _grow_model(self, state: State, new_cap: int) -> None:
        old = state["count"].shape[0]
        extra = new_cap - old
        M = self.dim
        state["count"] = np.concatenate([state["count"], np.zeros(extra, np.int64)])
        state["sums"] = np.concatenate([state["sums"], np.zeros((extra, M))])
        state["scatter"] = np.concatenate([state["scatter"], np.zeros((extra, M, M))])
        p = self.priors[0]
        state["chol"] = np.concatenate([state["chol"], np.broadcast_to(
            p.psi0_chol, (extra, M, M))])
        state["logdet"] = np.concatenate([state["logdet"], np.full(extra, p.psi0_logdet)])

    def _sweep(self, state: State, start: int, rng: np.random.Generator, do_path: bool,
               allow_new: bool) -> int:
        c = self.corpus
        return ghlda_sweep(start, self.X, c.doc_offsets, state["levels"], state["paths"],
                           state["ndl"], tree_from_state(state), _stats(state), self.priors,
                           self.gamma, self.gem_mean, self.gem_scale, do_path, allow_new,
                           rng, self._mutation, self._block_min, self.workers == 1)

    def _level_pass(self, state: State, rng: np.random.Generator) -> None:
        if self.workers == 1:
            return  # drawn document by document in the path pass
        c = self.corpus
        base = _stats(state)
        copies = [NIWStats(*(a.copy() for a in base)) for _ in range(self.workers)]
        self._doc_blocks.run(rng, lambda lo, hi, p, block_rng: ghlda_levels_block(
            lo, hi, self.X, c.doc_offsets, state["levels"], state["paths"], state["ndl"],
            copies[p], self.priors, self.gem_mean, self.gem_scale, block_rng))
        for name in ("count", "sums", "scatter"):
            state[name] += sum(getattr(cp, name) - getattr(base, name) for cp in copies)
        stats = _stats(state)
        for v in np.flatnonzero(state["node_level"] >= 0):
            niw_refactor(int(v), stats, self.priors[int(state["node_level"][v])])

    def step(self, state: State, rng: np.random.Generator, warmup: bool) -> None:
        super().step(state, rng, warmup)
        if state["sweeps"][0] % 50 == 0:  # clear rounding drift of the factors
            stats = _stats(state)
            for s in np.flatnonzero(state["node_level"] >= 0):
                niw_refactor(int(s), stats, self.priors[int(state["node_level"][s])])

    # -------------------------------------------------------------- read-outs
    def _loglik(self, state: State) -> float:
        """log p(x | c, z) = Σ_v log p(vectors of node v) under NIW_{level(v)} (ratio of
        normalisers, :func:`~._linalg.niw_log_marginal`)."""
        level = state["node_level"]
        out = 0.0
        for s in np.flatnonzero((level >= 0) & (state["count"] > 0)):
            out += niw_log_marginal(int(state["count"][s]), float(state["logdet"][s]),
                                    self.priors[int(level[s])])
        return out

    def _start_profiles(self, rng: np.random.Generator) -> Any:
        """``init="cluster"`` clusters the documents' word distributions as hLDA's does
        while word types repeat (≥ 2 tokens a type), else — every token nearly its own type,
        as in simulated or contextual vectors — their histograms over clusters of the
        vectors (:func:`ppltopics.inference._tree_init.codebook_profiles`)."""
        from ppltopics.inference._tree_init import codebook_profiles

        w = self.corpus.word_ids
        if w.size >= 2 * np.unique(w).size:
            return super()._start_profiles(rng)
        return codebook_profiles(self.table, w, self.token_docs, self.num_docs, rng)

    def node_marginal(self) -> Any:
        from ppltopics.inference._tree_moves import NIWNodes

        return NIWNodes(self.X, self.priors)

    def _move_tokens(self, state: State, tokens: np.ndarray, old: np.ndarray,
                     new: np.ndarray) -> None:
        """Counts, sums and scatter (about μ0) of the touched nodes moved by the tokens' blocks,
        then one refactorisation each (the prior's factor for a node left empty)."""
        stats = _stats(state)
        mu0 = self.priors[0].mu0
        for s in np.unique(np.concatenate([old, new])):
            x_in, x_out = self.X[tokens[new == s]], self.X[tokens[old == s]]
            y_in, y_out = x_in - mu0, x_out - mu0
            stats.count[s] += x_in.shape[0] - x_out.shape[0]
            stats.sums[s] += x_in.sum(axis=0) - x_out.sum(axis=0)
            stats.scatter[s] += np.tril(y_in.T @ y_in - y_out.T @ y_out)
            level = max(int(state["node_level"][s]), 0)
            if stats.count[s] == 0:
                reset_topic(int(s), stats, self.priors[level])
            else:
                niw_refactor(int(s), stats, self.priors[level])

    def node_means(self, state: State) -> np.ndarray:
        """Posterior mean μ_n of every storage slot, (capacity, M)."""
        p = self.priors[0]
        kn = p.kappa0 + state["count"]
        return (p.kappa0 * p.mu0 + state["sums"]) / kn[:, None]

    def record(self, state: State) -> dict[str, Any]:
        """``lp``: the collapsed log p(v, z, c) of :func:`ppltopics.models.ghlda.log_joint`
        (nCRP paths, GEM levels, NIW node topics integrated out); ``log_likelihood``:
        log p(v | c, z); the tree sizes."""
        loglik = self._loglik(state)
        return {"lp": loglik + self.state_log_prior(state), "log_likelihood": loglik,
                **self.tree_record(state)}


def fit_model(
    corpus: Corpus, vectors: Any = None, num_topics: int | None = None, spec: Any = None,
    depth: int | None = None, gamma: float | None = None, gem_mean: float = 0.5,
    gem_scale: float = 100.0, kappa0: float = 0.1, nu0: float | None = None, mu0: Any = None,
    psi0: Any = None, psi_ratio: Any = None, initial_tree: list[int] | None = None,
    warmup_fixed_sweeps: int | None = None, init_levels: str | None = None,
    preset: str | None = None, init: str | None = None, split_merge: Any = False,
    workers: int = 1,
) -> Any:
    """``pt.fit("ghlda", corpus, vectors=...)``: run the chains and build a
    :class:`ppltopics.posteriors.tree.GaussianTreePosterior`.

    ``num_topics`` is ignored (the tree size is learnt; ``initial_tree`` sets the start).
    Through :func:`ppltopics.fit` (the usual route) a fit without a preset gets prepared
    vectors, ``psi0="within"``, κ0 = :func:`ppltopics.models.gaussian_prior.tree_kappa0` and
    ν0 = :func:`ppltopics.models.gaussian_prior.tree_nu0`
    (measured to keep the tree tens of nodes, not hundreds; see ``pt.fit``); called
    directly, with ``preset=None``: depth 3, γ = 1, data-driven NIW prior of the root level as
    :meth:`ppltopics.models.ghlda.GhLDAHyper.resolve` (κ0 = 0.1, ν0 = M + 2, μ0 = mean token
    vector, Ψ0 = (ν0 − M − 1)·Cov(token vectors)), ``psi_ratio`` linspace(1, 0.4, L), initial
    paths from a Ward hierarchy of the documents (``init="cluster"``; ``"random"``: from the
    nCRP prior), random initial levels.  ``preset="paper"``: the GhLDA paper
    (:data:`PAPER_PRESET`, :meth:`GhLDAHyper.reference`); arguments given explicitly
    (not None) override either, and with ``init="cluster"`` it keeps the paper's prior and
    tree settings but starts from the clustered tree instead of [1, 1, 4, 4].
    """
    from ppltopics.inference._init import check_tree_init
    from ppltopics.inference.runner import RunSpec
    from ppltopics.models.ghlda import GhLDAHyper
    from ppltopics.posteriors.tree import GaussianTreePosterior


    if vectors is None or not hasattr(vectors, "matrix"):
        raise TypeError("GhLDA needs word vectors as a ppltopics.WordVectors: "
                        "pt.fit('ghlda', corpus, vectors=pt.WordVectors.glove(corpus.vocab))")
    table = np.asarray(vectors.matrix(corpus.vocab), dtype=np.float64)
    if table.ndim != 2 or table.shape[0] != corpus.vocab_size:
        raise ValueError(f"word vectors must give one row per vocabulary word, got "
                         f"{table.shape}")
    if not np.all(np.isfinite(table)):
        raise ValueError("word vectors contain NaN or inf (restrict the corpus to words with "
                         "a vector: corpus.restrict(vectors.vocab))")
    M = table.shape[1]
    given = {k: v for k, v in {"depth": depth, "gamma": gamma, "nu0": nu0, "mu0": mu0,
                               "psi0": psi0, "psi_ratio": psi_ratio}.items() if v is not None}
    given.update(gem_mean=gem_mean, gem_scale=gem_scale, kappa0=kappa0)
    if preset is None:
        hyper = GhLDAHyper(**{"depth": 3, "gamma": 1.0, **given})
        tree_opts = {"initial_tree": None, "warmup_fixed_sweeps": None, "init_levels": "random"}
    elif preset == "paper":
        hyper = GhLDAHyper.reference(M, **given)
        tree_opts = {k: PAPER_PRESET[k] for k in ("initial_tree", "warmup_fixed_sweeps",
                                                   "init_levels")}
    else:
        raise ValueError(f"preset must be None or 'paper', got {preset!r}")
    if init == "cluster" and initial_tree is None:
        tree_opts["initial_tree"] = None  # the paper's prior and tree settings, our start
    for k, v in (("initial_tree", initial_tree), ("warmup_fixed_sweeps", warmup_fixed_sweeps),
                 ("init_levels", init_levels)):
        if v is not None:
            tree_opts[k] = v
    init = check_tree_init(init, "GhLDA", tree_opts["initial_tree"])
    r = hyper.resolve(table, counts=corpus.word_counts())
    spec = RunSpec() if spec is None else spec
    kernel = GhLDAKernel(corpus, table, r.mu0, r.kappa0, r.nu0, r.psi0,
                         psi_ratio=np.asarray(r.psi_ratio), depth=r.depth, gamma=r.gamma,
                         gem_mean=r.gem_mean, gem_scale=r.gem_scale, split_merge=split_merge,
                         workers=workers, init=init, **tree_opts)
    post = GaussianTreePosterior.from_kernel(kernel, spec, {"preset": preset})
    post.estimates["word_vectors"] = table
    return post
