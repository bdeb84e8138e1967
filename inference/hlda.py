"""Collapsed Gibbs sampling for hierarchical LDA (Blei, Griffiths & Jordan, J. ACM 2010).

Each document d has a path c_d of L nodes from the root of an infinite tree drawn from the
nested CRP(γ), level proportions θ_d ~ GEM(m, π) truncated at L levels, and every token a
level z_n; node topics β_v ~ Dirichlet(η_ℓ) over the vocabulary (ℓ = level of v).  θ and β
are integrated out.  One sweep visits every document and draws

* its path (Blei et al. 2010, eq. 4): with the document removed,

      p(c_d | rest) ∝ nCRP(c_d | c_−d) · Π_ℓ p(w_{d,ℓ} | w_{−d} in node c_{d,ℓ}),

  p(w_{d,ℓ} | node v) = Γ(n_v + Vη)/Γ(n_v + m + Vη) · Π_w Γ(n_vw + c_w + η)/Γ(n_vw + η)
  (Dirichlet-multinomial block ratio, lgamma form; m = number and c_w word counts of the
  document's level-ℓ tokens).  Existing leaves and new branches below every internal node are
  scored in one traversal (:func:`ppltopics.inference._tree.score_paths`);
* then each token's level, with the token removed (hlda-c ``sample_levels``)::

      p(z_n = ℓ | rest) ∝ GEM_ℓ(n_d,−n) · (n_{c_dℓ, w} + η_ℓ)/(n_{c_dℓ} + V η_ℓ),

  GEM_ℓ from :func:`ppltopics.inference._tree.gem_level_weights`.

Node word counts are a dense word-major (V, capacity) int32 array ``nwt`` (the path step reads
the counts of one word for all nodes of a level contiguously) whose capacity doubles when the
free list runs short; no dense documents × nodes array exists.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from ppltopics.corpus import Corpus
from ppltopics.inference._sampling import categorical, categorical_total, log_categorical
from ppltopics.inference._tree import (
    Tree,
    TreeKernelBase,
    gem_level_weights,
    gem_level_weights_scaled,
    group_by_level,
    score_paths,
    tree_add_path,
    tree_extend,
    tree_from_state,
    tree_path_to,
    tree_remove_path,
)
from ppltopics.inference.base import GibbsKernel, State

__all__ = ["HLDAKernel", "fit_model", "hlda_sweep", "hlda_scan_levels"]


@numba.njit(cache=True, nogil=True)
def _log_rising(a: float, c: int) -> float:
    """log Γ(a + c) − log Γ(a) for an integer c >= 1: log of a (a+1) … (a+c−1) for small c
    (one log instead of two lgamma), lgamma otherwise."""
    if c <= 16:
        prod = a
        for j in range(1, c):
            prod *= a + j
        return math.log(prod)
    return math.lgamma(a + c) - math.lgamma(a)


@numba.njit(cache=True, nogil=True)
def _log_batch(eta: float) -> int:
    """How many factors (n_vw + η + j) may be multiplied before one log is taken: their
    product stays inside float64's range for counts up to int32's 2^31 (32 factors) when
    η ≥ 1e-9, and for η down to 1e-19 with 16 factors; one at a time below that."""
    if eta >= 1e-9:
        return 32
    if eta >= 1e-19:
        return 16
    return 1


@numba.njit(cache=True, nogil=True)
def _flush_logs(num: int, acc: np.ndarray, prod: np.ndarray) -> None:
    for t in range(num):
        acc[t] += math.log(prod[t])
        prod[t] = 1.0


@numba.njit(cache=True, nogil=True)
def _level_block_ll(nodes: np.ndarray, num: int, nwt: np.ndarray, nsum: np.ndarray,
                    words: np.ndarray, wc: np.ndarray, k: int, m: int, eta: float,
                    veta: float, out: np.ndarray, prod: np.ndarray, acc: np.ndarray) -> float:
    """Dirichlet-multinomial ratio of one level's block (k distinct words ``words`` with
    counts ``wc``, m tokens) under every node ``nodes[:num]`` (into ``out[node]``), word-major
    so that the counts ``nwt[w, ·]`` of one word are read contiguously; returns the value
    for an empty node.  A word seen c times contributes log Π_{j<c} (n_vw + η + j): its c
    factors are multiplied into ``prod[t]`` and one log is taken per :func:`_log_batch`
    factors instead of one per word and node (``prod``/``acc`` are scratch indexed by the
    node's position t, so the inner loops run over contiguous arrays)."""
    if m == 0:
        for t in range(num):
            out[nodes[t]] = 0.0
        return 0.0
    batch = _log_batch(eta)
    empty = math.lgamma(veta) - math.lgamma(veta + m)
    for t in range(num):
        s = nodes[t]
        acc[t] = math.lgamma(nsum[s] + veta) - math.lgamma(nsum[s] + m + veta)
        prod[t] = 1.0
    pending = 0
    for i in range(k):
        row = nwt[words[i]]
        c = wc[i]
        empty += _log_rising(eta, c)
        if c >= batch:
            for t in range(num):
                acc[t] += _log_rising(row[nodes[t]] + eta, c)
            continue
        if pending + c > batch:
            _flush_logs(num, acc, prod)
            pending = 0
        if c == 1:
            for t in range(num):
                prod[t] *= row[nodes[t]] + eta
        else:
            for t in range(num):
                x = row[nodes[t]] + eta
                f = x
                for j in range(1, c):
                    f *= x + j
                prod[t] *= f
        pending += c
    if pending:
        _flush_logs(num, acc, prod)
    for t in range(num):
        out[nodes[t]] = acc[t]
    return empty


@numba.njit(cache=True, nogil=True)
def _score_levels(tree: Tree, lnodes: np.ndarray, lnum: np.ndarray, nwt: np.ndarray,
                  nsum: np.ndarray, words: np.ndarray, wc: np.ndarray, klo: np.ndarray,
                  lo: np.ndarray, eta: np.ndarray, veta: np.ndarray, ll_node: np.ndarray,
                  ll_empty: np.ndarray, prod: np.ndarray, acc: np.ndarray) -> None:
    """Every alive node's block log-likelihood of the document's tokens at its level (into
    ``ll_node``) and the empty-node value per level (``ll_empty``); ``prod``/``acc`` are
    scratch of the storage's length."""
    L = lnum.shape[0]
    for ell in range(L):
        lnum[ell] = 0
    for sl in range(tree.node_level.shape[0]):
        ell = tree.node_level[sl]
        if ell >= 0:
            lnodes[ell, lnum[ell]] = sl
            lnum[ell] += 1
    for ell in range(L):
        ll_empty[ell] = _level_block_ll(
            lnodes[ell], lnum[ell], nwt, nsum, words[klo[ell]:], wc[klo[ell]:],
            klo[ell + 1] - klo[ell], lo[ell + 1] - lo[ell], eta[ell], veta[ell], ll_node, prod,
            acc)


@numba.njit(cache=True, nogil=True)
def hlda_sweep(
    start: int, word_ids: np.ndarray, doc_offsets: np.ndarray, levels: np.ndarray,
    paths: np.ndarray, ndl: np.ndarray, tree: Tree, nwt: np.ndarray, nsum: np.ndarray,
    eta: np.ndarray, vocab_size: int, gamma: float, gem_m: float, gem_pi: float,
    do_path: bool, allow_new: bool, rng: np.random.Generator, mutation: int,
) -> int:
    """Path and level steps for documents ``start..`` (module docstring).  Returns the first
    document not done because fewer than L free slots were left (−1 when all are done).

    ``mutation`` (tests only): 1 scores paths before removing the document's tokens from its
    nodes; 2 uses the nCRP weight n_v/(γ + n_root) on every edge (not a product of CRP
    conditionals)."""
    D = doc_offsets.shape[0] - 1
    L = paths.shape[1]
    cap = tree.parent.shape[0]
    ll_node = np.zeros(cap)
    prod = np.ones(cap)
    acc = np.empty(cap)
    cand = np.empty(cap, dtype=np.int64)
    score = np.empty(cap)
    stack = np.empty(cap, dtype=np.int64)
    cum = np.empty(cap)
    buf = np.empty(cap)
    ll_empty = np.zeros(L)
    veta = np.empty(L)
    for j in range(L):
        veta[j] = vocab_size * eta[j]
    wcount = np.zeros(vocab_size, dtype=np.int64)
    maxlen = 0
    for d in range(D):
        maxlen = max(maxlen, doc_offsets[d + 1] - doc_offsets[d])
    order = np.empty(maxlen, dtype=np.int64)
    words = np.empty(maxlen, dtype=np.int64)
    wc = np.empty(maxlen, dtype=np.int64)
    klo = np.zeros(L + 1, dtype=np.int64)
    lo = np.empty(L + 1, dtype=np.int64)
    path = np.empty(L, dtype=np.int32)
    gem = np.empty(L)
    cnt = np.empty(L)
    p = np.empty(L)
    rs = np.empty(L)
    lnodes = np.empty((L, cap), dtype=np.int64)
    lnum = np.zeros(L, dtype=np.int64)
    for d in range(start, D):
        b, e = doc_offsets[d], doc_offsets[d + 1]
        if do_path:
            if tree.meta[0] < L:
                return d
            # the document's distinct words per level: words[klo[l]:klo[l+1]], counts wc
            group_by_level(levels, b, e, L, order, lo)
            kk = 0
            for ell in range(L):
                klo[ell] = kk
                for i in range(lo[ell], lo[ell + 1]):
                    w = word_ids[order[i]]
                    if wcount[w] == 0:
                        words[kk] = w
                        kk += 1
                    wcount[w] += 1
                for i in range(klo[ell], kk):
                    wc[i] = wcount[words[i]]
                    wcount[words[i]] = 0
            klo[L] = kk
            for j in range(L):
                path[j] = paths[d, j]
            if mutation == 1:  # defect: scored with the document still in its nodes
                _score_levels(tree, lnodes, lnum, nwt, nsum, words, wc, klo, lo, eta, veta,
                              ll_node, ll_empty, prod, acc)
            for n in range(b, e):
                v = path[levels[n]]
                nwt[word_ids[n], v] -= 1
                nsum[v] -= 1
            tree_remove_path(tree, path)
            if mutation != 1:
                _score_levels(tree, lnodes, lnum, nwt, nsum, words, wc, klo, lo, eta, veta,
                              ll_node, ll_empty, prod, acc)
            nc = score_paths(tree, L, gamma, ll_node, ll_empty, allow_new, cand, score, stack,
                             cum, mutation == 2)
            u = cand[log_categorical(rng, score, nc, buf)]
            if tree.node_level[u] == L - 1:
                tree_path_to(tree, u, path)
            else:
                tree_extend(tree, u, path)
            tree_add_path(tree, path)
            for j in range(L):
                paths[d, j] = path[j]
            for n in range(b, e):
                v = path[levels[n]]
                nwt[word_ids[n], v] += 1
                nsum[v] += 1
        # levels of the document's tokens; 1/(n_v + Vη_ℓ) of its path nodes kept per level
        # and the GEM weights scaled free of divisions (two divisions per token, not seven)
        for j in range(L):
            path[j] = paths[d, j]
            rs[j] = 1.0 / (nsum[path[j]] + veta[j])
            cnt[j] = ndl[d, j]
        for n in range(b, e):
            w = word_ids[n]
            old = levels[n]
            v = path[old]
            nwt[w, v] -= 1
            nsum[v] -= 1
            cnt[old] -= 1
            rs[old] = 1.0 / (nsum[v] + veta[old])
            gem_level_weights_scaled(cnt, gem_m, gem_pi, gem)
            total = 0.0
            for j in range(L):
                p[j] = gem[j] * (nwt[w, path[j]] + eta[j]) * rs[j]
                total += p[j]
            new = categorical_total(rng, p, L, total)
            v = path[new]
            nwt[w, v] += 1
            nsum[v] += 1
            cnt[new] += 1
            rs[new] = 1.0 / (nsum[v] + veta[new])
            levels[n] = new
        for j in range(L):
            ndl[d, j] = cnt[j]
    return -1


@numba.njit(cache=True, nogil=True)
def hlda_scan_levels(tokens: np.ndarray, token_docs: np.ndarray, word_ids: np.ndarray,
                     levels: np.ndarray, target: np.ndarray, paths: np.ndarray, ndl: np.ndarray,
                     nwt: np.ndarray, nsum: np.ndarray, eta: np.ndarray, vocab_size: int,
                     gem_m: float, gem_pi: float, forced: bool,
                     rng: np.random.Generator) -> float:
    """One Gibbs scan of the levels of ``tokens`` in the given order (the level step's
    conditional, each token removed first), drawing each level or, when ``forced``, moving it
    to ``target[n]``; returns log q, the sum of the chosen levels' log conditional
    probabilities (the tree moves' level proposal)."""
    L = paths.shape[1]
    gem = np.empty(L)
    cnt = np.empty(L)
    p = np.empty(L)
    log_q = 0.0
    for t in range(tokens.shape[0]):
        n = tokens[t]
        d = token_docs[n]
        w = word_ids[n]
        v = paths[d, levels[n]]
        nwt[w, v] -= 1
        nsum[v] -= 1
        ndl[d, levels[n]] -= 1
        for j in range(L):
            cnt[j] = ndl[d, j]
        gem_level_weights(cnt, gem_m, gem_pi, gem)
        tot = 0.0
        for j in range(L):
            v = paths[d, j]
            p[j] = gem[j] * (nwt[w, v] + eta[j]) / (nsum[v] + vocab_size * eta[j])
            tot += p[j]
        new = target[n] if forced else categorical(rng, p, L)
        log_q += math.log(p[new] / tot)
        levels[n] = new
        v = paths[d, new]
        nwt[w, v] += 1
        nsum[v] += 1
        ndl[d, new] += 1
    return log_q


class HLDAKernel(TreeKernelBase, GibbsKernel):
    """Collapsed Gibbs for hLDA (module docstring).

    Parameters
    ----------
    corpus
        Training corpus (word ids).
    depth
        L, the number of levels including the root (>= 2).
    gamma
        nCRP concentration γ > 0.
    eta
        Dirichlet parameter of the node topics: a scalar or one value per level (> 0).
    gem_mean, gem_scale
        m ∈ (0, 1) and π > 0 of the GEM level proportions (hlda-c's ``GEM_MEAN``,
        ``GEM_SCALE``).
    initial_tree
        Branching of the initial tree, one entry per level: ``[1, 1, 4, 4]`` is a root with
        one child that has 4 children with 4 children each (GhLDA paper); documents start on
        uniformly drawn leaves.  ``None``: initial paths from the nCRP prior.
    warmup_fixed_sweeps
        The first warm-up sweeps create no new branch (GhLDA paper: 5).
    init_levels
        ``"random"`` or ``"frequency"`` (see :meth:`TreeKernelBase.init_state`).
    split_merge
        False (default), True, a dict or a :class:`~ppltopics.inference._tree_moves.TreeMoves`:
        exact MH tree moves (split–merge of sibling nodes, subtree regraft) after each sweep.
    """

    model_name = "hlda"

    def __init__(
        self, corpus: Corpus, depth: int = 3, gamma: float = 1.0, eta: Any = 0.1,
        gem_mean: float = 0.5, gem_scale: float = 100.0, initial_tree: list[int] | None = None,
        warmup_fixed_sweeps: int = 0, init_levels: str = "random", split_merge: Any = False,
    ) -> None:
        if not isinstance(corpus, Corpus):
            raise TypeError(f"corpus must be a ppltopics.Corpus, got {type(corpus).__name__}")
        self.corpus = corpus
        self._init_tree_options(corpus.num_docs, depth, gamma, gem_mean, gem_scale,
                                initial_tree, warmup_fixed_sweeps, init_levels,
                                corpus.word_ids, split_merge)
        eta_v = np.broadcast_to(np.asarray(eta, dtype=np.float64), (self.depth,)).copy() \
            if np.ndim(eta) <= 1 and np.size(eta) in (1, self.depth) else None
        if eta_v is None or not np.all(np.isfinite(eta_v)) or np.any(eta_v <= 0):
            raise ValueError(f"eta must be > 0, a scalar or one value per level, got {eta!r}")
        self.eta = eta_v
        self._mutation = 0

    @property
    def num_tokens(self) -> int:
        return self.corpus.num_tokens

    def _doc_offsets(self) -> np.ndarray:
        return self.corpus.doc_offsets

    def set_data(self, data: np.ndarray) -> None:
        """New word ids (N,) for the same documents and vocabulary (Geweke)."""
        data = np.asarray(data)
        if data.shape != (self.corpus.num_tokens,):
            raise ValueError(f"expected {self.corpus.num_tokens} word ids, got {data.shape}")
        super().set_data(data)
        self._token_words = self.corpus.word_ids

    def config(self) -> dict[str, Any]:
        return {"model": self.model_name, **self.tree_config(), "eta": self.eta.tolist()}

    # -------------------------------------------------------------- model statistics
    def _resync_model(self, state: State) -> None:
        c = self.corpus
        cap = state["parent"].shape[0]
        node = state["paths"][c.token_docs, state["levels"]]
        nwt = np.zeros((c.vocab_size, cap), dtype=np.int32)
        np.add.at(nwt, (c.word_ids, node), 1)
        state["nwt"] = nwt
        state["nsum"] = np.bincount(node, minlength=cap).astype(np.int64)

    def _grow_model(self, state: State, new_cap: int) -> None:
        old = state["nwt"].shape[1]
        nwt = np.zeros((self.corpus.vocab_size, new_cap), dtype=np.int32)
        nwt[:, :old] = state["nwt"]
        state["nwt"] = nwt
        state["nsum"] = np.concatenate([state["nsum"], np.zeros(new_cap - old, np.int64)])

    def _sweep(self, state: State, start: int, rng: np.random.Generator, do_path: bool,
               allow_new: bool) -> int:
        c = self.corpus
        return hlda_sweep(start, c.word_ids, c.doc_offsets, state["levels"], state["paths"],
                          state["ndl"], tree_from_state(state), state["nwt"], state["nsum"],
                          self.eta, c.vocab_size, self.gamma, self.gem_mean, self.gem_scale,
                          do_path, allow_new, rng, self._mutation)

    # -------------------------------------------------------------- read-outs
    def _loglik(self, state: State) -> float:
        """log p(w | c, z) = Σ_v [log Γ(Vη_ℓ) − log Γ(n_v + Vη_ℓ)
        + Σ_w (log Γ(n_vw + η_ℓ) − log Γ(η_ℓ))] over the occupied nodes v."""
        from scipy.special import gammaln

        V = self.corpus.vocab_size
        level = state["node_level"]
        alive = np.flatnonzero(level >= 0)
        eta = self.eta[level[alive]]
        n = state["nsum"][alive]
        out = float((gammaln(V * eta) - gammaln(n + V * eta)).sum())
        sub = state["nwt"][:, alive]
        cols, rows = np.nonzero(sub)
        vals = sub[cols, rows]
        e = eta[rows]
        out += float((gammaln(vals + e) - gammaln(e)).sum())
        return out

    def record(self, state: State) -> dict[str, Any]:
        """``lp``: the collapsed log p(w, z, c) of :func:`ppltopics.models.hlda.log_joint`
        (nCRP paths, GEM levels, node topics integrated out); ``log_likelihood``: log p(w | c, z);
        the tree sizes."""
        loglik = self._loglik(state)
        return {"lp": loglik + self.state_log_prior(state), "log_likelihood": loglik,
                **self.tree_record(state)}

    def node_marginal(self) -> Any:
        from ppltopics.inference._tree_moves import DirichletNodes

        return DirichletNodes(self.corpus.word_ids, self.corpus.vocab_size, self.eta)

    def _move_tokens(self, state: State, tokens: np.ndarray, old: np.ndarray,
                     new: np.ndarray) -> None:
        w = self.corpus.word_ids[tokens]
        np.subtract.at(state["nwt"], (w, old), 1)
        np.add.at(state["nwt"], (w, new), 1)
        cap = state["nsum"].shape[0]
        state["nsum"] += (np.bincount(new, minlength=cap) - np.bincount(old, minlength=cap))

    def _scan_levels(self, state: State, tokens: np.ndarray, target: np.ndarray | None,
                     rng: np.random.Generator) -> float:
        """One level scan of ``tokens`` in order (:func:`hlda_scan_levels`); ``target``
        (levels of all tokens) forces the scan to it.  Returns log q."""
        forced = target is not None
        return hlda_scan_levels(tokens, self.token_docs, self.corpus.word_ids, state["levels"],
                                target if forced else state["levels"], state["paths"],
                                state["ndl"], state["nwt"], state["nsum"], self.eta,
                                self.corpus.vocab_size, self.gem_mean, self.gem_scale, forced,
                                rng)

    def node_word_counts(self, state: State) -> np.ndarray:
        """(capacity, V) word counts per storage slot (a transposed view of ``nwt``)."""
        return state["nwt"].T


def fit_model(
    corpus: Corpus, vectors: Any = None, num_topics: int | None = None, spec: Any = None,
    depth: int = 3, gamma: float = 1.0, eta: Any = None, gem_mean: float = 0.5,
    gem_scale: float = 100.0, initial_tree: list[int] | None = None,
    warmup_fixed_sweeps: int = 0, init_levels: str = "random", init: str = "random",
    split_merge: Any = False,
) -> Any:
    """``pt.fit("hlda", corpus, depth=3, gamma=1.0, eta=0.1, ...)``: run the chains and build a
    :class:`ppltopics.posteriors.tree.TreePosterior`.

    ``num_topics`` is ignored (the number of nodes is learnt by the nCRP; the start is set by
    ``initial_tree``); ``vectors`` is not used by hLDA.  Defaults: m = 0.5, π = 100 (hlda-c,
    Blei et al. 2010), η per level 2·2^(−ℓ) (``eta=None``; the GhLDA paper's hLDA setting,
    :func:`ppltopics.models.hlda.default_eta`), γ = 1, depth 3; validation by
    :class:`ppltopics.models.hlda.HLDAHyper`.
    """
    from ppltopics.inference._init import check_tree_init
    from ppltopics.inference.runner import RunSpec
    from ppltopics.models.hlda import HLDAHyper
    from ppltopics.posteriors.tree import TreePosterior

    check_tree_init(init, "hLDA")

    if not isinstance(corpus, Corpus):
        raise TypeError(f"corpus must be a ppltopics.Corpus, got {type(corpus).__name__}")
    hyper = HLDAHyper(depth=depth, gamma=gamma, gem_mean=gem_mean, gem_scale=gem_scale,
                      eta=eta)
    spec = RunSpec() if spec is None else spec
    kernel = HLDAKernel(corpus, depth=hyper.depth, gamma=hyper.gamma, eta=hyper.eta_vector,
                        gem_mean=hyper.gem_mean, gem_scale=hyper.gem_scale,
                        initial_tree=initial_tree, warmup_fixed_sweeps=warmup_fixed_sweeps,
                        init_levels=init_levels, split_merge=split_merge)
    return TreePosterior.from_kernel(kernel, spec)
