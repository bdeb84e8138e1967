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

Node word counts are a dense word-major (V, capacity) int32 array ``nwt`` whose capacity
doubles when the free list runs short; no dense documents × nodes array exists.  The state
keeps beside it a bit mask of its non-zero cells (``nzm``, :func:`nonzero_masks`, updated by
every writer of ``nwt``), so that the path step visits, for each of a document's words, only
the nodes that hold the word.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from ppltopics.corpus import Corpus
from ppltopics.inference._sampling import categorical, categorical_total, log_categorical
from ppltopics.inference._tree import (
    Tree,
    TreeKernelBase,
    count_log_table,
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

__all__ = ["HLDAKernel", "fit_model", "hlda_sweep", "hlda_scan_levels", "hlda_word_block"]


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


#: factors (n_vw + η + j) multiplied before one log is taken: with n_vw ≥ 1 each lies in
#: [1, 2^31 + 32) for int32 counts, so 32 of them stay inside float64's range
_LOG_BATCH = 32
_ONE = np.uint64(1)


@numba.njit(cache=True, nogil=True)
def nonzero_masks(nwt: np.ndarray) -> np.ndarray:
    """(V, ⌈capacity/64⌉) bit masks of the non-zero counts: bit s % 64 of word ``nzm[w, s //
    64]`` is set when n_sw > 0 (kept up to date by :func:`_count_add` / :func:`_count_sub`)."""
    V, cap = nwt.shape
    nb = (cap + 63) // 64
    nzm = np.empty((V, nb), dtype=np.uint64)
    for w in range(V):
        for b in range(nb):
            bits = np.uint64(0)
            for j in range(min(64, cap - 64 * b)):
                bits |= np.uint64(nwt[w, 64 * b + j] > 0) << np.uint64(j)
            nzm[w, b] = bits
    return nzm


@numba.njit(cache=True, nogil=True)
def _count_add(nwt: np.ndarray, nzm: np.ndarray, w: int, s: int, c: int) -> None:
    """n_sw += c (c > 0), with the bit of the cell set."""
    if nwt[w, s] == 0:
        nzm[w, s >> 6] |= _ONE << np.uint64(s & 63)
    nwt[w, s] += c


@numba.njit(cache=True, nogil=True)
def _count_sub(nwt: np.ndarray, nzm: np.ndarray, w: int, s: int, c: int) -> None:
    """n_sw −= c, clearing the cell's bit when it reaches 0."""
    nwt[w, s] -= c
    if nwt[w, s] == 0:
        nzm[w, s >> 6] &= ~(_ONE << np.uint64(s & 63))


@numba.njit(cache=True, nogil=True)
def _level_block_ll(nodes: np.ndarray, num: int, lmask: np.ndarray, nzm: np.ndarray,
                    nwt: np.ndarray, nsum: np.ndarray, lg_node: np.ndarray,
                    words: np.ndarray, wc: np.ndarray, k: int, m: int, eta: float,
                    veta: float, out: np.ndarray, prod: np.ndarray, acc: np.ndarray,
                    pend: np.ndarray) -> float:
    """Dirichlet-multinomial ratio of one level's block (k distinct words ``words`` with
    counts ``wc``, m tokens) under every node ``nodes[:num]`` (into ``out[node]``); returns
    the value for an empty node.  A word seen c times contributes log Π_{j<c} (n_vw + η + j),
    which is log Π_{j<c} (η + j) — the same for every node — wherever n_vw = 0.  So that
    constant is added once per word, and only the nodes holding the word (the set bits of
    ``nzm[w] & lmask``: about 6 % of the (word, node) pairs on the wiki set, 3 % at the
    leaves) are visited, each taking its c factors into ``prod[node]`` less the constant; one
    log per ``_LOG_BATCH`` factors (``prod``/``acc``/``pend`` are scratch indexed by slot).
    ``lg_node[v]`` holds log Γ(n_v + Vη)."""
    if m == 0:
        for t in range(num):
            out[nodes[t]] = 0.0
        return 0.0
    base = 0.0  # Σ_w log Π_{j<c_w} (η + j): every node's value where it lacks the word
    for t in range(num):
        s = nodes[t]
        acc[s] = lg_node[s] - math.lgamma(nsum[s] + m + veta)
        prod[s] = 1.0
        pend[s] = 0
    b0, b1 = 0, lmask.shape[0]  # the mask words that hold the level's nodes
    while b0 < b1 and lmask[b0] == 0:
        b0 += 1
    while b1 > b0 and lmask[b1 - 1] == 0:
        b1 -= 1
    log_eta = math.log(eta)
    for i in range(k):
        w = words[i]
        c = wc[i]
        lr = log_eta if c == 1 else _log_rising(eta, c)
        base += lr
        for b in range(b0, b1):
            bits = nzm[w, b] & lmask[b]
            while bits:
                s = (b << 6) + trailing_zeros(bits)
                bits &= bits - _ONE
                x = nwt[w, s] + eta
                acc[s] -= lr
                if c >= _LOG_BATCH:
                    acc[s] += _log_rising(x, c)
                    continue
                if pend[s] + c > _LOG_BATCH:
                    acc[s] += math.log(prod[s])
                    prod[s] = 1.0
                    pend[s] = 0
                f = x
                for j in range(1, c):
                    f *= x + j
                prod[s] *= f
                pend[s] += c
    for t in range(num):
        s = nodes[t]
        out[s] = acc[s] + base
        if pend[s]:
            out[s] += math.log(prod[s])
    return math.lgamma(veta) - math.lgamma(veta + m) + base


@numba.njit(cache=True, nogil=True)
def _score_levels(tree: Tree, lnodes: np.ndarray, lnum: np.ndarray, lmask: np.ndarray,
                  nzm: np.ndarray, nwt: np.ndarray, nsum: np.ndarray, lg_node: np.ndarray,
                  words: np.ndarray, wc: np.ndarray, klo: np.ndarray, lo: np.ndarray,
                  eta: np.ndarray, veta: np.ndarray, ll_node: np.ndarray,
                  ll_empty: np.ndarray, prod: np.ndarray, acc: np.ndarray,
                  pend: np.ndarray) -> None:
    """Every alive node's block log-likelihood of the document's tokens at its level (into
    ``ll_node``) and the empty-node value per level (``ll_empty``); ``lmask`` (L, ⌈cap/64⌉)
    receives each level's node bits; ``lg_node[v]`` = log Γ(n_v + Vη_ℓ); ``prod``/``acc``/
    ``pend`` are scratch of the storage's length."""
    L = lnum.shape[0]
    for ell in range(L):
        lnum[ell] = 0
        for b in range(lmask.shape[1]):
            lmask[ell, b] = 0
    for sl in range(tree.node_level.shape[0]):
        ell = tree.node_level[sl]
        if ell >= 0:
            lnodes[ell, lnum[ell]] = sl
            lnum[ell] += 1
            lmask[ell, sl >> 6] |= _ONE << np.uint64(sl & 63)
    for ell in range(L):
        ll_empty[ell] = _level_block_ll(
            lnodes[ell], lnum[ell], lmask[ell], nzm, nwt, nsum, lg_node, words[klo[ell]:],
            wc[klo[ell]:], klo[ell + 1] - klo[ell], lo[ell + 1] - lo[ell], eta[ell], veta[ell],
            ll_node, prod, acc, pend)


@numba.njit(cache=True, nogil=True)
def _levels_generic(b: int, e: int, word_ids: np.ndarray, levels: np.ndarray, path: np.ndarray,
                    cnt: np.ndarray, nwt: np.ndarray, nzm: np.ndarray, nsum: np.ndarray,
                    eta: np.ndarray, veta: np.ndarray, gem_m: float, gem_pi: float,
                    rng: np.random.Generator) -> None:
    """The level step of tokens ``b..e`` of one document on its path ``path`` (module
    docstring), ``cnt`` (float) its tokens per level, updated in place.  1/(n_v + Vη_ℓ) of
    the path nodes is kept per level and the GEM weights scaled free of divisions (two
    divisions per token, not seven); the mask bits of the old and new cell are rewritten
    without a branch."""
    L = path.shape[0]
    rs = np.empty(L)
    gem = np.empty(L)
    p = np.empty(L)
    for j in range(L):
        rs[j] = 1.0 / (nsum[path[j]] + veta[j])
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
        bit = np.uint64(v & 63)
        nzm[w, v >> 6] = ((nzm[w, v >> 6] & ~(_ONE << bit))
                          | (np.uint64(nwt[w, v] > 0) << bit))
        v = path[new]
        nwt[w, v] += 1
        nzm[w, v >> 6] |= _ONE << np.uint64(v & 63)
        nsum[v] += 1
        cnt[new] += 1
        rs[new] = 1.0 / (nsum[v] + veta[new])
        levels[n] = new


@numba.njit(cache=True, nogil=True)
def _levels_depth3(b: int, e: int, word_ids: np.ndarray, levels: np.ndarray, path: np.ndarray,
                   cnt: np.ndarray, nwt: np.ndarray, nzm: np.ndarray, nsum: np.ndarray,
                   eta: np.ndarray, veta: np.ndarray, gem_m: float, gem_pi: float,
                   rng: np.random.Generator) -> None:
    """:func:`_levels_generic` for a path of 3 levels (the default depth), its arrays held
    in scalars: the same operations in the same order, so the same draws (tested); no
    stores and reloads of small arrays on the chain from one token to the next, which made
    the whole sweep 1.16–1.20× faster on the GhLDA wiki set."""
    v0, v1, v2 = path[0], path[1], path[2]
    e0, e1, e2 = eta[0], eta[1], eta[2]
    n0, n1, n2 = nsum[v0], nsum[v1], nsum[v2]
    c0, c1, c2 = cnt[0], cnt[1], cnt[2]
    r0 = 1.0 / (n0 + veta[0])
    r1 = 1.0 / (n1 + veta[1])
    r2 = 1.0 / (n2 + veta[2])
    mpi = gem_m * gem_pi
    rpi = (1.0 - gem_m) * gem_pi
    for n in range(b, e):
        w = word_ids[n]
        old = levels[n]
        if old == 0:
            v = v0
            n0 -= 1
            c0 -= 1
            r0 = 1.0 / (n0 + veta[0])
        elif old == 1:
            v = v1
            n1 -= 1
            c1 -= 1
            r1 = 1.0 / (n1 + veta[1])
        else:
            v = v2
            n2 -= 1
            c2 -= 1
            r2 = 1.0 / (n2 + veta[2])
        nwt[w, v] -= 1
        # gem_level_weights_scaled at depth 3, the same operations in the same order
        n_ge = 0.0
        n_ge += c0
        n_ge += c1
        n_ge += c2
        n_gt = n_ge - c0
        g0 = 1.0 * (mpi + c0)
        prefix = 1.0 * (rpi + n_gt)
        n_ge = n_gt
        n_gt = n_ge - c1
        g1 = prefix * (mpi + c1)
        prefix *= rpi + n_gt
        g2 = prefix
        suffix = 1.0
        n_ge = c2
        g1 *= suffix
        n_ge += c1
        suffix *= gem_pi + n_ge
        g0 *= suffix
        p0 = g0 * (nwt[w, v0] + e0) * r0
        p1 = g1 * (nwt[w, v1] + e1) * r1
        p2 = g2 * (nwt[w, v2] + e2) * r2
        total = 0.0
        total += p0
        total += p1
        total += p2
        u = rng.random() * total
        if u < p0:
            new = 0
        elif u < p0 + p1:
            new = 1
        elif u < p0 + p1 + p2:
            new = 2
        elif p2 > 0.0:
            new = 2
        elif p1 > 0.0:
            new = 1
        elif p0 > 0.0:
            new = 0
        else:
            new = 2
        bit = np.uint64(v & 63)
        nzm[w, v >> 6] = ((nzm[w, v >> 6] & ~(_ONE << bit))
                          | (np.uint64(nwt[w, v] > 0) << bit))
        if new == 0:
            v = v0
            n0 += 1
            c0 += 1
            r0 = 1.0 / (n0 + veta[0])
        elif new == 1:
            v = v1
            n1 += 1
            c1 += 1
            r1 = 1.0 / (n1 + veta[1])
        else:
            v = v2
            n2 += 1
            c2 += 1
            r2 = 1.0 / (n2 + veta[2])
        nwt[w, v] += 1
        nzm[w, v >> 6] |= _ONE << np.uint64(v & 63)
        levels[n] = new
    nsum[v0] = n0
    nsum[v1] = n1
    nsum[v2] = n2
    cnt[0] = c0
    cnt[1] = c1
    cnt[2] = c2


@numba.njit(cache=True, nogil=True)
def hlda_sweep(
    start: int, word_ids: np.ndarray, doc_offsets: np.ndarray, levels: np.ndarray,
    paths: np.ndarray, ndl: np.ndarray, tree: Tree, nwt: np.ndarray, nzm: np.ndarray,
    nsum: np.ndarray, eta: np.ndarray, vocab_size: int, gamma: float, gem_m: float,
    gem_pi: float, do_path: bool, allow_new: bool, rng: np.random.Generator, mutation: int,
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
    pend = np.zeros(cap, dtype=np.int64)
    lg_node = np.zeros(cap)  # log Γ(n_v + Vη_ℓ), refreshed wherever n_v changes
    lmask = np.zeros((L, nzm.shape[1]), dtype=np.uint64)
    cand = np.empty(cap, dtype=np.int64)
    count_logs = count_log_table(D, gamma)
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
    cnt = np.empty(L)
    lnodes = np.empty((L, cap), dtype=np.int64)
    lnum = np.zeros(L, dtype=np.int64)
    for sl in range(cap):
        if tree.node_level[sl] >= 0:
            lg_node[sl] = math.lgamma(nsum[sl] + veta[tree.node_level[sl]])
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
                _score_levels(tree, lnodes, lnum, lmask, nzm, nwt, nsum, lg_node, words, wc,
                              klo, lo, eta, veta, ll_node, ll_empty, prod, acc, pend)
            for ell in range(L):
                v = path[ell]
                for i in range(klo[ell], klo[ell + 1]):
                    _count_sub(nwt, nzm, words[i], v, wc[i])
                nsum[v] -= lo[ell + 1] - lo[ell]
                lg_node[v] = math.lgamma(nsum[v] + veta[ell])
            tree_remove_path(tree, path)
            if mutation != 1:
                _score_levels(tree, lnodes, lnum, lmask, nzm, nwt, nsum, lg_node, words, wc,
                              klo, lo, eta, veta, ll_node, ll_empty, prod, acc, pend)
            nc = score_paths(tree, L, gamma, ll_node, ll_empty, allow_new, cand, score, stack,
                             cum, count_logs, mutation == 2)
            u = cand[log_categorical(rng, score, nc, buf)]
            if tree.node_level[u] == L - 1:
                tree_path_to(tree, u, path)
            else:
                tree_extend(tree, u, path)
            tree_add_path(tree, path)
            for j in range(L):
                paths[d, j] = path[j]
            for ell in range(L):
                v = path[ell]
                for i in range(klo[ell], klo[ell + 1]):
                    _count_add(nwt, nzm, words[i], v, wc[i])
                nsum[v] += lo[ell + 1] - lo[ell]
        # levels of the document's tokens
        for j in range(L):
            path[j] = paths[d, j]
            cnt[j] = ndl[d, j]
        if L == 3:
            _levels_depth3(b, e, word_ids, levels, path, cnt, nwt, nzm, nsum, eta, veta,
                           gem_m, gem_pi, rng)
        else:
            _levels_generic(b, e, word_ids, levels, path, cnt, nwt, nzm, nsum, eta, veta,
                            gem_m, gem_pi, rng)
        for j in range(L):
            ndl[d, j] = cnt[j]
            if do_path:
                lg_node[path[j]] = math.lgamma(nsum[path[j]] + veta[j])
    return -1


@numba.njit(cache=True, nogil=True)
def hlda_scan_levels(tokens: np.ndarray, token_docs: np.ndarray, word_ids: np.ndarray,
                     levels: np.ndarray, target: np.ndarray, paths: np.ndarray, ndl: np.ndarray,
                     nwt: np.ndarray, nzm: np.ndarray, nsum: np.ndarray, eta: np.ndarray,
                     vocab_size: int, gem_m: float, gem_pi: float, forced: bool,
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
        _count_sub(nwt, nzm, w, v, 1)
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
        _count_add(nwt, nzm, w, v, 1)
        nsum[v] += 1
        ndl[d, new] += 1
    return log_q


@numba.njit(cache=True, nogil=True)
def hlda_word_block(tokens: np.ndarray, token_docs: np.ndarray, word_ids: np.ndarray,
                    levels: np.ndarray, target: np.ndarray, paths: np.ndarray,
                    ndl: np.ndarray, nwt: np.ndarray, nzm: np.ndarray, nsum: np.ndarray,
                    eta: np.ndarray, vocab_size: int, gem_m: float, gem_pi: float, lo: int,
                    forced: bool, rng: np.random.Generator) -> tuple[float, float]:
    """Sequential re-allocation of ``tokens`` (one word's tokens at levels ``lo``, ``lo`` + 1
    of the documents through one node; the word-block move of
    :mod:`ppltopics.inference._tree_moves`): all are removed, then added back in the given
    order, each to level ℓ ∈ {lo, lo + 1} of its own path with probability ∝ its joint
    predictive

        p̃_ℓ = GEM_ℓ(n_d) · (n_{c_dℓ, w} + η_ℓ) / (n_{c_dℓ} + V η_ℓ)

    given the tokens placed so far (drawn, or ``target[t]`` for the t-th token when
    ``forced``).  Returns
    (log q, log p̃): the sum of the chosen levels' log probabilities and of their p̃ — the chain
    rule of the collapsed joint, so log p̃ differs from log p(w, z, c) by a constant that does
    not depend on these tokens' levels."""
    L = paths.shape[1]
    gem = np.empty(L)
    cnt = np.empty(L)
    for t in range(tokens.shape[0]):
        n = tokens[t]
        d = token_docs[n]
        v = paths[d, levels[n]]
        _count_sub(nwt, nzm, word_ids[n], v, 1)
        nsum[v] -= 1
        ndl[d, levels[n]] -= 1
    log_q = 0.0
    log_p = 0.0
    for t in range(tokens.shape[0]):
        n = tokens[t]
        d = token_docs[n]
        w = word_ids[n]
        for j in range(L):
            cnt[j] = ndl[d, j]
        gem_level_weights(cnt, gem_m, gem_pi, gem)
        p0 = gem[lo] * (nwt[w, paths[d, lo]] + eta[lo]) / (
            nsum[paths[d, lo]] + vocab_size * eta[lo])
        p1 = gem[lo + 1] * (nwt[w, paths[d, lo + 1]] + eta[lo + 1]) / (
            nsum[paths[d, lo + 1]] + vocab_size * eta[lo + 1])
        if forced:
            new = target[t]
        else:
            new = lo if rng.random() * (p0 + p1) < p0 else lo + 1
        chosen = p0 if new == lo else p1
        log_q += math.log(chosen / (p0 + p1))
        log_p += math.log(chosen)
        levels[n] = new
        v = paths[d, new]
        _count_add(nwt, nzm, w, v, 1)
        nsum[v] += 1
        ndl[d, new] += 1
    return log_q, log_p


def _masks(state: State) -> np.ndarray:
    """The state's bit masks of non-zero counts (``nzm``, kept with ``nwt`` by every writer),
    built when missing (a checkpoint written before they existed)."""
    nwt = state["nwt"]
    if state.get("nzm") is None or state["nzm"].shape != (nwt.shape[0],
                                                          (nwt.shape[1] + 63) // 64):
        state["nzm"] = nonzero_masks(nwt)
    return state["nzm"]


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
        The first warm-up sweeps create no new branch (GhLDA paper: 5; default 0, or
        :data:`~ppltopics.inference._tree_init.CLUSTER_FIXED_SWEEPS` after ``init="cluster"``).
    init_levels
        ``"random"`` or ``"frequency"`` (see :meth:`TreeKernelBase.init_state`).
    split_merge
        False (default), True, a dict or a :class:`~ppltopics.inference._tree_moves.TreeMoves`:
        exact MH tree moves (split–merge of sibling nodes, subtree regraft) after each sweep.
    init
        ``"random"`` (default: paths from the nCRP prior, or ``initial_tree``'s) or
        ``"cluster"``: paths from a Ward hierarchy of the documents
        (:mod:`ppltopics.inference._tree_init`).
    """

    model_name = "hlda"

    def __init__(
        self, corpus: Corpus, depth: int = 3, gamma: float = 1.0, eta: Any = 0.1,
        gem_mean: float = 0.5, gem_scale: float = 100.0, initial_tree: list[int] | None = None,
        warmup_fixed_sweeps: int | None = None, init_levels: str = "random",
        split_merge: Any = False, init: str = "random",
    ) -> None:
        if not isinstance(corpus, Corpus):
            raise TypeError(f"corpus must be a ppltopics.Corpus, got {type(corpus).__name__}")
        self.corpus = corpus
        self._init_tree_options(corpus.num_docs, depth, gamma, gem_mean, gem_scale,
                                initial_tree, warmup_fixed_sweeps, init_levels,
                                corpus.word_ids, split_merge, init)
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
        state["nzm"] = nonzero_masks(nwt)
        state["nsum"] = np.bincount(node, minlength=cap).astype(np.int64)

    def _grow_model(self, state: State, new_cap: int) -> None:
        old, old_masks = state["nwt"].shape[1], _masks(state)
        nwt = np.zeros((self.corpus.vocab_size, new_cap), dtype=np.int32)
        nwt[:, :old] = state["nwt"]
        state["nwt"] = nwt
        state["nzm"] = np.zeros((nwt.shape[0], (new_cap + 63) // 64), dtype=np.uint64)
        state["nzm"][:, :old_masks.shape[1]] = old_masks
        state["nsum"] = np.concatenate([state["nsum"], np.zeros(new_cap - old, np.int64)])

    def _sweep(self, state: State, start: int, rng: np.random.Generator, do_path: bool,
               allow_new: bool) -> int:
        c = self.corpus
        return hlda_sweep(start, c.word_ids, c.doc_offsets, state["levels"], state["paths"],
                          state["ndl"], tree_from_state(state), state["nwt"],
                          _masks(state), state["nsum"], self.eta, c.vocab_size, self.gamma,
                          self.gem_mean, self.gem_scale, do_path, allow_new, rng,
                          self._mutation)

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
        words = np.unique(w)
        _masks(state)[words] = nonzero_masks(state["nwt"][words])
        cap = state["nsum"].shape[0]
        state["nsum"] += (np.bincount(new, minlength=cap) - np.bincount(old, minlength=cap))

    def _scan_levels(self, state: State, tokens: np.ndarray, target: np.ndarray | None,
                     rng: np.random.Generator) -> float:
        """One level scan of ``tokens`` in order (:func:`hlda_scan_levels`); ``target``
        (levels of all tokens) forces the scan to it.  Returns log q."""
        forced = target is not None
        return hlda_scan_levels(tokens, self.token_docs, self.corpus.word_ids, state["levels"],
                                target if forced else state["levels"], state["paths"],
                                state["ndl"], state["nwt"], _masks(state), state["nsum"],
                                self.eta, self.corpus.vocab_size, self.gem_mean,
                                self.gem_scale, forced, rng)

    def _block_levels(self, state: State, tokens: np.ndarray, lo: int,
                      target: np.ndarray | None, rng: np.random.Generator
                      ) -> tuple[float, float]:
        """Re-allocate ``tokens`` between levels ``lo`` and ``lo`` + 1
        (:func:`hlda_word_block`), drawn or forced to ``target`` (the levels of ``tokens``,
        in their order).  Returns (log q, log p̃)."""
        forced = target is not None
        return hlda_word_block(tokens, self.token_docs, self.corpus.word_ids,
                               state["levels"], target if forced else state["levels"][:0],
                               state["paths"], state["ndl"], state["nwt"], _masks(state),
                               state["nsum"], self.eta, self.corpus.vocab_size,
                               self.gem_mean, self.gem_scale, lo, forced, rng)

    def node_word_counts(self, state: State) -> np.ndarray:
        """(capacity, V) word counts per storage slot (a transposed view of ``nwt``)."""
        return state["nwt"].T


def fit_model(
    corpus: Corpus, vectors: Any = None, num_topics: int | None = None, spec: Any = None,
    depth: int = 3, gamma: float = 1.0, eta: Any = None, gem_mean: float = 0.5,
    gem_scale: float = 100.0, initial_tree: list[int] | None = None,
    warmup_fixed_sweeps: int | None = None, init_levels: str = "random",
    init: str | None = None, split_merge: Any = False,
) -> Any:
    """``pt.fit("hlda", corpus, depth=3, gamma=1.0, eta=0.1, ...)``: run the chains and build a
    :class:`ppltopics.posteriors.tree.TreePosterior`.

    ``num_topics`` is ignored (the number of nodes is learnt by the nCRP; the start is set by
    ``init`` and ``initial_tree``); ``vectors`` is not used by hLDA.  ``init=None`` (default)
    starts from a Ward hierarchy of the documents (``"cluster"``,
    :mod:`ppltopics.inference._tree_init`), or from ``initial_tree`` when one is given;
    ``init="random"`` draws the paths from the nCRP prior.  Defaults: m = 0.5, π = 100 (hlda-c,
    Blei et al. 2010), η per level 2·2^(−ℓ) (``eta=None``; the GhLDA paper's hLDA setting,
    :func:`ppltopics.models.hlda.default_eta`), γ = 1, depth 3; validation by
    :class:`ppltopics.models.hlda.HLDAHyper`.
    """
    from ppltopics.inference._init import check_tree_init
    from ppltopics.inference.runner import RunSpec
    from ppltopics.models.hlda import HLDAHyper
    from ppltopics.posteriors.tree import TreePosterior

    init = check_tree_init(init, "hLDA", initial_tree)

    if not isinstance(corpus, Corpus):
        raise TypeError(f"corpus must be a ppltopics.Corpus, got {type(corpus).__name__}")
    hyper = HLDAHyper(depth=depth, gamma=gamma, gem_mean=gem_mean, gem_scale=gem_scale,
                      eta=eta)
    spec = RunSpec() if spec is None else spec
    kernel = HLDAKernel(corpus, depth=hyper.depth, gamma=hyper.gamma, eta=hyper.eta_vector,
                        gem_mean=hyper.gem_mean, gem_scale=hyper.gem_scale,
                        initial_tree=initial_tree, warmup_fixed_sweeps=warmup_fixed_sweeps,
                        init_levels=init_levels, split_merge=split_merge, init=init)
    return TreePosterior.from_kernel(kernel, spec)
