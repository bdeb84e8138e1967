"""Split–merge moves for LDA (:mod:`ppltopics.inference._split_merge` has the move itself).

Two proposals for the split of a topic's tokens F between two labels, both exact with their q
in the Hastings ratio: the token-by-token restricted scan (Jain & Neal) and the document
proposal (:func:`_lda_split_docs`), launched, scanned and finally labelled by whole
documents; a move picks one of the two with probability ``doc_share`` independently of the
state (a random choice between two exact kernels).  The triple (i, j, k) is uniform or
informed: the merge pair by the cosine of the topics' counts of the most frequent words
(:func:`lda_pair_scores`), the topic to split by its size (:func:`_lda_split_scores`), with
their probabilities under z and z' in the ratio.
"""

from __future__ import annotations

import dataclasses
import math

import numba
import numpy as np

from ppltopics.inference._split_merge import (
    EXACT,
    NO_PAIR_CHOICE,
    NO_PURE_ROUTE,
    NO_SPLIT_CHOICE,
    WRONG_SIGN,
    SplitMerge,
    _choose_informed,
    _choose_triple,
    _collect,
    _draw_split,
    _pair_logprob,
    _split_logprob,
    _two_way,
)

__all__ = ["LDA_SPLIT_MERGE", "lda_pair_scores", "lda_score_columns", "lda_score_counts",
           "lda_score_counts_blocks", "lda_split_merge", "lda_split_merge_defaults"]

#: LDA's moves, the base of ``split_merge=True`` (:func:`lda_split_merge_defaults`) and of a
#: partial dict: the document proposal only (the token scan was never accepted on
#: near-duplicate topics), one blocked intermediate scan of the launch, the split topic never
#: the merged pair itself (re-dividing a pair whose topic is divided by document cannot
#: repair it), the triple drawn by score 97 % of the time, a move at most every other sweep.
#: Near-duplicate planted corpora (``benchmarks/bench_split_merge.py --configs lda``, 200
#: sweeps, corpora 0–59 / 60–119 / 120–179; all 7 Dec 2026): with a move every other sweep
#: 58 / 56 / 58 of 60 recovered (172 of 180) at 66–69 % of sweep time, 59 / 55 / 58 at
#: 35–37 % once the move's arithmetic was made cheaper; with the K-scaled frequency
#: 59 / 54 / 58 (171) at 23–25 % (22–23 % since the reverse split stops at its floor);
#: against 55 / 54 / 54 with no intermediate scan and the triple by score 90 % of the time,
#: and 52 / 46 / – with ``DOC_TOKEN_ROUTE`` 0.1 as well
LDA_SPLIT_MERGE = SplitMerge(every=2, scans=1, uniform_share=0.03, resplit_share=0.0,
                             doc_share=1.0)

#: a move touches the tokens of three of the K topics, so its share of a sweep's work is about
#: 3/K: with K topics, :func:`lda_split_merge_defaults` makes a move every
#: max(``every``, ⌈``LDA_MOVE_SPAN``/K⌉) sweeps
LDA_MOVE_SPAN = 30


def lda_split_merge_defaults(num_topics: int) -> SplitMerge:
    """``split_merge=True`` for an LDA of ``num_topics`` topics: :data:`LDA_SPLIT_MERGE`
    with a move every max(2, ⌈``LDA_MOVE_SPAN``/K⌉) sweeps (K = 6: 5, 8: 4, 12: 3, ≥ 15: 2),
    so that the moves' share of run time does not grow as K falls.  A dict's ``every``
    overrides it."""
    every = max(LDA_SPLIT_MERGE.every, -(-LDA_MOVE_SPAN // max(num_topics, 1)))
    return dataclasses.replace(LDA_SPLIT_MERGE, every=every)


#: the document proposal: probability ε that a document's final labels are drawn token by token
#: (the "mixed" route) rather than as one block.  Both routes enter q, so any ε in (0, 1) is
#: exact; ε sets how cheaply a state whose topics share documents (what token-by-token Gibbs
#: leaves) can be proposed back: each such document costs log ε in the reverse split, each
#: document on one label log(1 − ε).  Near-duplicate corpora (120 corpora, 200 sweeps, moves
#: ``LDA_SPLIT_MERGE``): ε = 0.03 / 0.1 / 0.3 / 0.5 / 0.7 / 0.9 recover 40 / 52 / 55 / 55 / 56 /
#: 47 of corpora 0–59, and 0.1 / 0.3 / 0.5 / 0.7 recover 46 / 54 / 53 / 50 of corpora 60–119
DOC_TOKEN_ROUTE = 0.3


# ----------------------------------------------------------------------------- LDA
@numba.njit(cache=True, nogil=True)
def _log_tables(m: int, la: np.ndarray, beta: float, vbeta: float, doc_max: int) -> np.ndarray:
    """(7, m + 1) logarithms of the restricted LDA conditionals by count c: rows
    log(c + α_0), log(c + α_1) and log Γ(c + α_a)/Γ(α_a) = Σ_{t<c} log(t + α_a) (rows 4, 5)
    for c = 0..``doc_max`` (no document holds more of the split's tokens; NaN beyond),
    log(c + β), log(c + Vβ) and Σ_{t<c} log(t + Vβ) (rows 2, 3, 6) for c = 0..m — a split of
    m tokens never counts more than m, so its scans look them up instead of taking ~20 logs
    per token and two ``lgamma`` per document block (the same ``math.log`` values)."""
    out = np.full((7, m + 1), np.nan)
    out[4, 0] = out[5, 0] = out[6, 0] = 0.0
    for c in range(min(doc_max, m) + 1):
        out[0, c] = math.log(c + la[0])
        out[1, c] = math.log(c + la[1])
        if c > 0:
            out[4, c] = out[4, c - 1] + out[0, c - 1]
            out[5, c] = out[5, c - 1] + out[1, c - 1]
    for c in range(m + 1):
        out[2, c] = math.log(c + beta)
        out[3, c] = math.log(c + vbeta)
        if c > 0:
            out[6, c] = out[6, c - 1] + out[3, c - 1]
    return out


@numba.njit(cache=True, nogil=True)
def _token_logw(logs: np.ndarray, cnt: np.ndarray, wc: np.ndarray, tot: np.ndarray, d: int,
                w: int, a: int) -> float:
    """log (c_da + α_a) (c_aw + β) / (c_a + Vβ), from :func:`_log_tables`."""
    return logs[a, cnt[d, a]] + logs[2, wc[w, a]] - logs[3, tot[a]]


@numba.njit(cache=True, nogil=True)
def _lda_scan(
    toks: np.ndarray, lab: np.ndarray, target: np.ndarray, word_ids: np.ndarray,
    token_docs: np.ndarray, cnt: np.ndarray, wc: np.ndarray, tot: np.ndarray,
    logs: np.ndarray, rng: np.random.Generator,
) -> float:
    """One restricted Gibbs scan of ``toks`` between two labels (module doc, LDA): counts of
    the scanned tokens per document ``cnt`` (D, 2), per word ``wc`` (V, 2), per label
    ``tot``; ``logs`` from :func:`_log_tables`; ``target`` non-empty forces the labels.
    Returns Σ log p(realised label)."""
    logq = 0.0
    forced = target.shape[0] > 0
    for idx in range(toks.shape[0]):
        n = toks[idx]
        d = token_docs[n]
        w = word_ids[n]
        a = lab[idx]
        cnt[d, a] -= 1
        wc[w, a] -= 1
        tot[a] -= 1
        l0 = _token_logw(logs, cnt, wc, tot, d, w, 0)
        l1 = _token_logw(logs, cnt, wc, tot, d, w, 1)
        new, lp = _two_way(rng, l0, l1, target[idx] if forced else -1)
        logq += lp
        cnt[d, new] += 1
        wc[w, new] += 1
        tot[new] += 1
        lab[idx] = new
    return logq


@numba.njit(cache=True, nogil=True)
def _lda_split(
    toks: np.ndarray, target: np.ndarray, word_ids: np.ndarray, token_docs: np.ndarray,
    cnt: np.ndarray, wc: np.ndarray, la: np.ndarray, beta: float, vbeta: float,
    rng: np.random.Generator, scans: int,
) -> tuple[np.ndarray, float]:
    """Launch (two random anchor tokens seed the labels, the others allocated sequentially
    in random order from the restricted conditional (Dahl 2005), then ``scans`` restricted
    scans), then the final scan: sampled (``target`` empty) or forced to ``target``.  The
    launch depends only on the set ``toks``.  Leaves ``cnt``/``wc`` zero."""
    m = toks.shape[0]
    logs = _log_tables(m, la, beta, vbeta, m)
    lab = np.empty(m, dtype=np.int64)
    tot = np.zeros(2, dtype=np.int64)
    order = rng.permutation(m)
    for r in range(m):
        idx = order[r]
        n = toks[idx]
        d = token_docs[n]
        w = word_ids[n]
        if r < 2:
            a = r
        else:
            l0 = _token_logw(logs, cnt, wc, tot, d, w, 0)
            l1 = _token_logw(logs, cnt, wc, tot, d, w, 1)
            a = _draw_label(rng, l0, l1)
        lab[idx] = a
        cnt[d, a] += 1
        wc[w, a] += 1
        tot[a] += 1
    none = np.empty(0, dtype=np.int64)
    for _ in range(scans):
        _lda_scan(toks, lab, none, word_ids, token_docs, cnt, wc, tot, logs, rng)
    logq = _lda_scan(toks, lab, target, word_ids, token_docs, cnt, wc, tot, logs, rng)
    _clear(toks, word_ids, token_docs, cnt, wc)
    return lab, logq


@numba.njit(cache=True, nogil=True)
def _clear(toks: np.ndarray, word_ids: np.ndarray, token_docs: np.ndarray, cnt: np.ndarray,
           wc: np.ndarray) -> None:
    """Zero the split's scratch counts of ``toks``' documents and words."""
    for idx in range(toks.shape[0]):
        n = toks[idx]
        cnt[token_docs[n], 0] = 0
        cnt[token_docs[n], 1] = 0
        wc[word_ids[n], 0] = 0
        wc[word_ids[n], 1] = 0


@numba.njit(cache=True, nogil=True)
def _doc_blocks(toks: np.ndarray, token_docs: np.ndarray) -> np.ndarray:
    """Bounds of the document blocks of ``toks`` (token indices in corpus order): block b is
    ``toks[bs[b]:bs[b + 1]]``, the tokens of one document."""
    m = toks.shape[0]
    bs = np.empty(m + 1, dtype=np.int64)
    nb = 0
    for idx in range(m):
        if idx == 0 or token_docs[toks[idx]] != token_docs[toks[idx - 1]]:
            bs[nb] = idx
            nb += 1
    bs[nb] = m
    return bs[:nb + 1].copy()


@numba.njit(cache=True, nogil=True)
def _block_repeats(toks: np.ndarray, bs: np.ndarray, word_ids: np.ndarray,
                   wc: np.ndarray) -> np.ndarray:
    """m_{<t,w_t} of every token: how many earlier tokens of its block (document) have its
    word — a function of ``toks`` alone, so the block conditionals read it instead of
    counting.  Uses ``wc[:, 2]`` as scratch (zero on entry and exit)."""
    rep = np.empty(toks.shape[0], dtype=np.int64)
    for b in range(bs.shape[0] - 1):
        for idx in range(bs[b], bs[b + 1]):
            w = word_ids[toks[idx]]
            rep[idx] = wc[w, 2]
            wc[w, 2] += 1
        for idx in range(bs[b], bs[b + 1]):
            wc[word_ids[toks[idx]], 2] = 0
    return rep


@numba.njit(cache=True, nogil=True)
def _block_logw(toks: np.ndarray, lo: int, hi: int, word_ids: np.ndarray, wc: np.ndarray,
                tot: np.ndarray, logs: np.ndarray, rep: np.ndarray) -> tuple[float, float]:
    """log of the restricted conditionals (unnormalised) of giving the whole block
    ``toks[lo:hi]`` of one document label a = 0 and a = 1, the block out of the counts:

        log Γ(c + α_a)/Γ(α_a) + Σ_{t<c} [log(n_{a,w_t} + m_{<t,w_t} + β) − log(n_a + t + Vβ)]

    (c tokens; the document holds no other token of the two labels; m_{<t,w} = ``rep``
    (:func:`_block_repeats`) counts the block's earlier tokens of word w; ``logs`` from
    :func:`_log_tables`, whose cumulative rows give the Γ ratio and the Σ_t log(n_a + t + Vβ)
    in two look-ups each)."""
    c = hi - lo
    l0 = logs[4, c] - logs[6, tot[0] + c] + logs[6, tot[0]]
    l1 = logs[5, c] - logs[6, tot[1] + c] + logs[6, tot[1]]
    for idx in range(lo, hi):
        w = word_ids[toks[idx]]
        l0 += logs[2, wc[w, 0] + rep[idx]]
        l1 += logs[2, wc[w, 1] + rep[idx]]
    return l0, l1


@numba.njit(cache=True, nogil=True)
def _add_tokens(toks: np.ndarray, lo: int, hi: int, lab: np.ndarray, sign: int,
                word_ids: np.ndarray, token_docs: np.ndarray, cnt: np.ndarray, wc: np.ndarray,
                tot: np.ndarray) -> None:
    """Add (sign 1) or remove (−1) ``toks[lo:hi]`` with labels ``lab[lo:hi]``."""
    for idx in range(lo, hi):
        n = toks[idx]
        a = lab[idx]
        cnt[token_docs[n], a] += sign
        wc[word_ids[n], a] += sign
        tot[a] += sign


@numba.njit(cache=True, nogil=True)
def _draw_label(rng: np.random.Generator, l0: float, l1: float) -> int:
    """Label 0/1 with log weights (l0, l1): :func:`_two_way`'s draw (the same uniform, the
    same comparison) without the log probability it also returns — one exp, no log1p."""
    d = l1 - l0
    e = math.exp(-abs(d))
    return 0 if rng.random() < (e / (1.0 + e) if d > 0.0 else 1.0 / (1.0 + e)) else 1


@numba.njit(cache=True, nogil=True)
def _draw_block(rng: np.random.Generator, toks: np.ndarray, lo: int, hi: int,
                lab: np.ndarray, word_ids: np.ndarray, cnt: np.ndarray, token_docs: np.ndarray,
                wc: np.ndarray, tot: np.ndarray, logs: np.ndarray, rep: np.ndarray) -> None:
    """A block (out of the counts) gets one label drawn from its block conditional; added."""
    l0, l1 = _block_logw(toks, lo, hi, word_ids, wc, tot, logs, rep)
    a = _draw_label(rng, l0, l1)
    for idx in range(lo, hi):
        lab[idx] = a
    _add_tokens(toks, lo, hi, lab, 1, word_ids, token_docs, cnt, wc, tot)


@numba.njit(cache=True, nogil=True)
def _lda_split_docs(
    split_toks: np.ndarray, target: np.ndarray, corpus_words: np.ndarray,
    corpus_docs: np.ndarray, cnt: np.ndarray, wc: np.ndarray, la: np.ndarray, beta: float,
    vbeta: float, rng: np.random.Generator, scans: int, defect: int, floor: float = -np.inf,
) -> tuple[np.ndarray, float]:
    """:func:`_lda_split` over whole documents.  Launch (depends only on the set ``toks``):
    the documents' blocks allocated sequentially in random order from their block
    conditionals (:func:`_block_logw`; two anchor blocks seed the labels), then ``scans``
    blocked restricted scans.  Final scan, document by document (each block taken out of the
    counts first): with probability 1 − ε the block gets one label from its block conditional
    (the pure route), else its tokens are drawn one by one from the restricted token
    conditionals (the mixed route, ε = ``DOC_TOKEN_ROUTE``).  A document's labels c then have
    probability (1 − ε)·p_block(a)·[c all a] + ε·Π_t p(c_t | ·), so any division, also one
    that splits a document, can be reached — and a topic that two labels share by whole
    documents (what token-by-token Gibbs leaves behind) is reached with about the
    probability of its document labels, not of its token labels.  Sampled (``target`` empty)
    or forced to ``target``; returns the labels and Σ log q.  Leaves ``cnt``/``wc`` zero.

    Every document's term is ≤ 0, so the partial sums of a forced scan only fall: once one
    is ≤ ``floor`` the scan stops and returns −∞ (the caller's rejection threshold; the
    forced scan draws nothing, so stopping changes no later draw).

    The words and documents of ``split_toks`` are gathered once into arrays of the split's
    own (token ``idx`` is ``split_toks[idx]``): the scans then read them in order instead of
    through the corpus-sized ``corpus_words``/``corpus_docs``."""
    m = split_toks.shape[0]
    word_ids = np.empty(m, dtype=np.int64)
    token_docs = np.empty(m, dtype=np.int64)
    for idx in range(m):
        word_ids[idx] = corpus_words[split_toks[idx]]
        token_docs[idx] = corpus_docs[split_toks[idx]]
    toks = np.arange(m)
    bs = _doc_blocks(toks, token_docs)
    nb = bs.shape[0] - 1
    doc_max = 0
    for b in range(nb):
        doc_max = max(doc_max, bs[b + 1] - bs[b])
    logs = _log_tables(m, la, beta, vbeta, doc_max)
    rep = _block_repeats(toks, bs, word_ids, wc)
    lab = np.empty(m, dtype=np.int64)
    tot = np.zeros(2, dtype=np.int64)
    order = rng.permutation(nb)
    for r in range(nb):
        b = order[r]
        if r < 2:
            for idx in range(bs[b], bs[b + 1]):
                lab[idx] = r
            _add_tokens(toks, bs[b], bs[b + 1], lab, 1, word_ids, token_docs, cnt, wc, tot)
        else:
            _draw_block(rng, toks, bs[b], bs[b + 1], lab, word_ids, cnt, token_docs, wc, tot,
                        logs, rep)
    for _ in range(scans):
        for b in range(nb):
            _add_tokens(toks, bs[b], bs[b + 1], lab, -1, word_ids, token_docs, cnt, wc, tot)
            _draw_block(rng, toks, bs[b], bs[b + 1], lab, word_ids, cnt, token_docs, wc, tot,
                        logs, rep)
    forced = target.shape[0] > 0
    eps = DOC_TOKEN_ROUTE
    log_eps, log_keep = math.log(eps), math.log1p(-eps)
    logq = 0.0
    for b in range(nb):
        lo, hi = bs[b], bs[b + 1]
        _add_tokens(toks, lo, hi, lab, -1, word_ids, token_docs, cnt, wc, tot)
        w0, w1 = _block_logw(toks, lo, hi, word_ids, wc, tot, logs, rep)
        pure_route = False
        if not forced and rng.random() < 1.0 - eps:
            pure_route = True
            a = _draw_label(rng, w0, w1)
            for idx in range(lo, hi):
                lab[idx] = a
        # the token route's probability of the labels (drawn on the mixed route, else
        # those of the pure route or the target); the tokens go back into the counts.  The
        # weights (c_da + α_a)(c_aw + β)/(c_a + Vβ) in linear space: their product is kept
        # and its log taken once it nears underflow, not one exp and one log per token
        logp_tok = 0.0
        prod = 1.0
        for idx in range(lo, hi):
            n = toks[idx]
            d = token_docs[n]
            w = word_ids[n]
            v0 = (cnt[d, 0] + la[0]) * (wc[w, 0] + beta) / (tot[0] + vbeta)
            v1 = (cnt[d, 1] + la[1]) * (wc[w, 1] + beta) / (tot[1] + vbeta)
            f = target[idx] if forced else (lab[idx] if pure_route else -1)
            if f < 0:
                a = 0 if rng.random() < v0 / (v0 + v1) else 1
            else:
                a = f
            lab[idx] = a
            prod *= (v0 if a == 0 else v1) / (v0 + v1)
            if prod < 1e-200:
                logp_tok += math.log(prod)
                prod = 1.0
            cnt[d, a] += 1
            wc[w, a] += 1
            tot[a] += 1
        lq = log_eps + logp_tok + math.log(prod)
        pure = defect != NO_PURE_ROUTE
        for idx in range(lo + 1, hi):
            pure = pure and lab[idx] == lab[lo]
        if pure:  # + (1 − ε)·p_block(label), as _two_way takes it (δ = w1 − w0)
            dlt = w1 - w0
            top = -math.log1p(math.exp(-abs(dlt)))  # log p_block of the likelier label
            lp_block = top if (lab[lo] == 1) == (dlt > 0.0) else top - abs(dlt)
            lp = log_keep + lp_block
            lq = max(lp, lq) + math.log1p(math.exp(-abs(lp - lq)))
        logq += lq
        if forced and logq <= floor:
            logq = -np.inf
            break
    _clear(toks, word_ids, token_docs, cnt, wc)
    return lab, logq


#: :func:`_lda_log_ratio` packs a (document or word, slot)'s count before the move into the low
#: bits of its scratch cell and the count after it above this shift
_PACK = 31


@numba.njit(cache=True, nogil=True)
def _lda_log_ratio(
    toks: np.ndarray, old: np.ndarray, new: np.ndarray, word_ids: np.ndarray,
    token_docs: np.ndarray, alpha3: np.ndarray, beta: float, vbeta: float, cnt3: np.ndarray,
    wc3: np.ndarray,
) -> float:
    """log p(z')/p(z) for ``toks`` moving from slots ``old`` to ``new`` among three topics
    (slots 0..2), θ and φ integrated out: the change of

        Σ_d Σ_s log Γ(n_ds + α_s) + Σ_s [Σ_w log Γ(n_sw + β) − log Γ(n_s + Vβ)]

    over the documents and words of ``toks``.  One counting pass packs each cell's count
    before the move (low bits) and after it (above ``_PACK``) into ``cnt3``/``wc3`` (zero on
    entry and exit), one pass reads and zeroes them; a document or word whose three counts do
    not change adds nothing and takes no ``lgamma``."""
    shift = np.int64(1) << _PACK
    mask = shift - 1
    tot_old = np.zeros(3, dtype=np.int64)
    tot_new = np.zeros(3, dtype=np.int64)
    for idx in range(toks.shape[0]):
        n = toks[idx]
        a, b = old[idx], new[idx]
        cnt3[token_docs[n], a] += 1
        cnt3[token_docs[n], b] += shift
        wc3[word_ids[n], a] += 1
        wc3[word_ids[n], b] += shift
        tot_old[a] += 1
        tot_new[b] += 1
    out = 0.0
    for idx in range(toks.shape[0]):  # a cell is read once, then zeroed: later visits of
        n = toks[idx]                 # its document or word find no change
        d = token_docs[n]
        w = word_ids[n]
        for s in range(3):
            c_old, c_new = cnt3[d, s] & mask, cnt3[d, s] >> _PACK
            if c_old != c_new:
                out += math.lgamma(c_new + alpha3[s]) - math.lgamma(c_old + alpha3[s])
            cnt3[d, s] = 0
            c_old, c_new = wc3[w, s] & mask, wc3[w, s] >> _PACK
            if c_old != c_new:
                out += math.lgamma(c_new + beta) - math.lgamma(c_old + beta)
            wc3[w, s] = 0
    for s in range(3):
        if tot_old[s] != tot_new[s]:
            out -= math.lgamma(tot_new[s] + vbeta) - math.lgamma(tot_old[s] + vbeta)
    return out


#: LDA's merge score of two topics: this times the cosine of their word-count vectors
LDA_PAIR_TEMPERATURE = 30.0
#: LDA's split score of a topic: this times its token count over the mean topic's
LDA_SPLIT_TEMPERATURE = 3.0


@numba.njit(cache=True, nogil=True)
def _lda_split_scores(sizes: np.ndarray) -> np.ndarray:
    """Split scores τ_s·n_k/n̄ (τ_s = ``LDA_SPLIT_TEMPERATURE``): a topic that holds two
    planted topics holds about twice the tokens of one, so it is split most often."""
    mean = max(sizes.sum() / sizes.shape[0], 1.0)
    return LDA_SPLIT_TEMPERATURE * sizes / mean


#: LDA's merge score reads the counts of at most this many words (the most frequent), so that
#: scoring all pairs costs K²·T, not K²·V
LDA_SCORE_WORDS = 2000


def lda_score_columns(word_ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """(V,) column of each word in the merge score's count table: the ``LDA_SCORE_WORDS``
    most frequent words get 0..T−1 (by decreasing frequency), the others −1."""
    counts = np.bincount(word_ids, minlength=vocab_size)
    top = np.argsort(-counts, kind="stable")[:LDA_SCORE_WORDS]
    cols = np.full(vocab_size, -1, dtype=np.int64)
    cols[top] = np.arange(top.size)
    return cols


def lda_score_counts(z: np.ndarray, word_ids: np.ndarray, cols: np.ndarray,
                     num_topics: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The informed LDA move's view of z: counts (K, T) of the scored words per topic,
    topic sizes (K,) and the merge scores (:func:`lda_pair_scores`)."""
    T = int(cols.max()) + 1
    c = cols[word_ids]
    keep = c >= 0
    nkw = np.bincount(z[keep].astype(np.int64) * T + c[keep],
                      minlength=num_topics * T).reshape(num_topics, T).astype(np.float64)
    sizes = np.bincount(z, minlength=num_topics).astype(np.float64)
    return nkw, sizes, lda_pair_scores(nkw)


@numba.njit(cache=True, nogil=True)
def lda_score_counts_blocks(wt_offsets: np.ndarray, wt_packed: np.ndarray, wt_nnz: np.ndarray,
                            cols: np.ndarray, num_topics: int, topic_bits: int) -> np.ndarray:
    """The (K, T) counts of :func:`lda_score_counts` read from the kernel's packed word-topic
    blocks (cells ``count << topic_bits | topic``): O(nonzero cells) instead of O(tokens)."""
    T = 0
    for w in range(cols.shape[0]):
        T = max(T, cols[w] + 1)
    out = np.zeros((num_topics, T))
    mask = (1 << topic_bits) - 1
    for w in range(cols.shape[0]):
        c = cols[w]
        if c < 0:
            continue
        off = wt_offsets[w]
        for i in range(wt_nnz[w]):
            cell = wt_packed[off + i]
            out[cell & mask, c] += cell >> topic_bits
    return out


@numba.njit(cache=True, nogil=True)
def _norm(x: np.ndarray) -> float:
    out = 0.0
    for w in range(x.shape[0]):
        out += x[w] * x[w]
    return math.sqrt(out)


@numba.njit(cache=True, nogil=True)
def _pair_score(x: np.ndarray, nx: float, y: np.ndarray, ny: float) -> float:
    """τ·cos(x, y) (0 when either is empty), τ = ``LDA_PAIR_TEMPERATURE``."""
    if nx == 0.0 or ny == 0.0:
        return 0.0
    dot = 0.0
    for w in range(x.shape[0]):
        dot += x[w] * y[w]
    return LDA_PAIR_TEMPERATURE * dot / (nx * ny)


@numba.njit(cache=True, nogil=True)
def lda_pair_scores(nkw: np.ndarray) -> np.ndarray:
    """(K, K) merge scores s_ab = τ·cos(n_a·, n_b·) of the topics' counts ``nkw`` (K, T) of
    the most frequent words (τ = ``LDA_PAIR_TEMPERATURE``; 0 for an empty topic): two topics
    that share one planted topic have cosine near 1, distinct ones far less.  A function of
    z only, so its pair probabilities (:func:`_pair_logprob`) may enter the Hastings
    ratio."""
    K = nkw.shape[0]
    norm = np.empty(K)
    for a in range(K):
        norm[a] = _norm(nkw[a])
    out = np.zeros((K, K))
    for a in range(K):
        for b in range(a + 1, K):
            out[a, b] = out[b, a] = _pair_score(nkw[a], norm[a], nkw[b], norm[b])
    return out


@numba.njit(cache=True, nogil=True)
def _rescore(nkw: np.ndarray, scores: np.ndarray, toks: np.ndarray, old: np.ndarray,
             new: np.ndarray, word_ids: np.ndarray, cols: np.ndarray,
             topics: np.ndarray) -> np.ndarray:
    """The merge scores after ``toks`` moved from slots ``old`` to ``new`` (slot s is topic
    ``topics[s]``; two slots when topics[2] = topics[0]): only the rows and columns of those
    topics change, computed as :func:`lda_pair_scores` computes them."""
    K = nkw.shape[0]
    ns = 2 if topics[2] == topics[0] else 3
    rows = np.empty((ns, nkw.shape[1]))
    slot_of = np.full(K, -1, dtype=np.int64)
    for s in range(ns):
        rows[s] = nkw[topics[s]]
        slot_of[topics[s]] = s
    for idx in range(toks.shape[0]):
        c = cols[word_ids[toks[idx]]]
        if c >= 0:
            rows[old[idx], c] -= 1.0
            rows[new[idx], c] += 1.0
    norm = np.empty(K)
    for b in range(K):
        norm[b] = _norm(rows[slot_of[b]] if slot_of[b] >= 0 else nkw[b])
    out = scores.copy()
    for s in range(ns):
        a = topics[s]
        for b in range(K):
            if b != a:
                y = rows[slot_of[b]] if slot_of[b] >= 0 else nkw[b]
                x, nx, ny = rows[s], norm[a], norm[b]
                out[a, b] = out[b, a] = (_pair_score(x, nx, y, ny) if a < b
                                         else _pair_score(y, ny, x, nx))
    return out


@numba.njit(cache=True, nogil=True)
def _mixed_docs(toks: np.ndarray, labels: np.ndarray, token_docs: np.ndarray) -> int:
    """Documents whose tokens among ``toks`` (corpus order) carry both labels."""
    out = 0
    idx = 0
    m = toks.shape[0]
    while idx < m:
        d = token_docs[toks[idx]]
        first = labels[idx]
        mixed = False
        while idx < m and token_docs[toks[idx]] == d:
            mixed = mixed or labels[idx] != first
            idx += 1
        out += mixed
    return out


@numba.njit(cache=True, nogil=True)
def lda_split_merge(
    word_ids: np.ndarray, token_docs: np.ndarray, z: np.ndarray, alpha: np.ndarray,
    beta: float, vocab_size: int, cnt: np.ndarray, wc: np.ndarray, scans: int,
    rng: np.random.Generator, defect: int, doc_share: float, nkw: np.ndarray,
    sizes: np.ndarray, cols: np.ndarray, scores: np.ndarray, uniform_share: float,
    resplit_share: float,
) -> int:
    """One split–merge move (module doc) for LDA (θ and φ integrated out); returns 1 if
    accepted, when ``z`` is updated in place (the caller rebuilds its counts).  ``cnt``:
    (D, 3) and ``wc``: (V, 3) int64 zeros (left zero).

    With ``nkw``, ``sizes``, ``scores`` from :func:`lda_score_counts` (``cols`` =
    :func:`lda_score_columns`), the merge pair is drawn from :func:`_pair_logprob` (mixed with
    uniform by ``uniform_share``), k = i with probability ``resplit_share``, else (K > 3)
    among the other K − 2 by size (:func:`_lda_split_scores`, mixed with uniform the same
    way); the pair probabilities P({i, j} | z), P({k, j} | z') and the split-topic ones
    P(k | {i, j}, z), P(i | {k, j}, z') enter the ratio.  Without ``nkw`` the triple is
    uniform.

    The uniform u of the acceptance test is drawn first; since log q_rev ≤ B (and the
    reverse pair's log probability ≤ 0), a move with log u ≥ log p(z')/p(z) − log q_fwd + B
    is rejected before the reverse split is scored (exact: the full ratio would reject it
    too).  B = 0 for the token proposal; for the document proposal B = m·log ε, m the
    documents where z gives R both labels (:func:`_mixed_docs`): only the token route, of
    probability ε, re-creates such a document.  Past that bound, the reverse split's forced
    final scan stops as soon as its partial log q_rev (each document's term ≤ 0) reaches
    log u − log p(z')/p(z) + log q_fwd: the move is rejected then, with the same draws."""
    K = alpha.shape[0]
    if K < 2:
        return 0
    informed = nkw.shape[0] == K and uniform_share < 1.0
    split_scores = np.zeros(0)
    if informed:
        lp0 = _pair_logprob(scores, uniform_share)
        i, j, k = _choose_informed(rng, lp0, resplit_share)
        if k != i and K > 3:
            sizes = sizes.copy()
            split_scores = _lda_split_scores(sizes)
            k = _draw_split(rng, split_scores, i, j, uniform_share)
    else:
        i, j, k = _choose_triple(rng, K)
    F, R = _collect(z, i, j, k)
    vbeta = vocab_size * beta
    none = np.empty(0, dtype=np.int64)
    log_u = math.log(rng.random())
    docs = rng.random() < doc_share  # the proposal of both directions
    if docs:
        lab_f, logq_fwd = _lda_split_docs(F, none, word_ids, token_docs, cnt, wc,
                                          np.array([alpha[k], alpha[j]]), beta, vbeta, rng,
                                          scans, defect)
    else:
        lab_f, logq_fwd = _lda_split(F, none, word_ids, token_docs, cnt, wc,
                                     np.array([alpha[k], alpha[j]]), beta, vbeta, rng, scans)
    orig = np.empty(R.shape[0], dtype=np.int64)
    for idx in range(R.shape[0]):
        orig[idx] = 0 if z[R[idx]] == i else 1
    # touched tokens, their old and new topics as slots 0 = i, 1 = j, 2 = k
    nt = F.shape[0] + (R.shape[0] if k != i else 0)
    toks = np.empty(nt, dtype=np.int64)
    old = np.empty(nt, dtype=np.int64)
    new = np.empty(nt, dtype=np.int64)
    m = 0
    if k != i:
        for idx in range(R.shape[0]):
            toks[m] = R[idx]
            old[m] = orig[idx]
            new[m] = 0
            m += 1
    for idx in range(F.shape[0]):
        toks[m] = F[idx]
        if k != i:
            old[m] = 2
            new[m] = 2 if lab_f[idx] == 0 else 1
        else:
            old[m] = 0 if z[F[idx]] == i else 1
            new[m] = lab_f[idx]
        m += 1
    alpha3 = np.array([alpha[i], alpha[j], alpha[k] if k != i else 1.0])
    log_ratio = _lda_log_ratio(toks, old, new, word_ids, token_docs, alpha3, beta, vbeta, cnt,
                               wc)
    pairs = informed and defect != NO_PAIR_CHOICE
    if pairs:
        logq_fwd += lp0[i, j]
    split_k = split_scores.shape[0] > 0 and defect != NO_SPLIT_CHOICE
    if split_k:
        lk0 = _split_logprob(split_scores, i, j, k, uniform_share)
        logq_fwd += lk0
    if defect == EXACT and log_u >= log_ratio - logq_fwd + (
            _mixed_docs(R, orig, token_docs) * math.log(DOC_TOKEN_ROUTE) if docs else 0.0):
        return 0
    if docs:
        # the pair and split terms of q_rev are ≤ 0 too: log q_rev ≤ floor means rejection
        floor = log_u - log_ratio + logq_fwd if defect == EXACT else -np.inf
        _, logq_rev = _lda_split_docs(R, orig, word_ids, token_docs, cnt, wc,
                                      np.array([alpha[i], alpha[j]]), beta, vbeta, rng, scans,
                                      defect, floor)
        if logq_rev == -np.inf:
            return 0
    else:
        _, logq_rev = _lda_split(R, orig, word_ids, token_docs, cnt, wc,
                                 np.array([alpha[i], alpha[j]]), beta, vbeta, rng, scans)
    if pairs:
        lp1 = _pair_logprob(_rescore(nkw, scores, toks, old, new, word_ids, cols,
                                     np.array([i, j, k])), uniform_share)
        logq_rev += lp1[k, j]
    if split_k:  # P(i | {k, j}, z'): of the candidates ∉ {k, j} only topic i (now R) changed
        sizes[i] = R.shape[0]
        logq_rev += _split_logprob(_lda_split_scores(sizes), k, j, i, uniform_share)
    if defect == EXACT:
        log_ratio += logq_rev - logq_fwd
    elif defect == WRONG_SIGN:
        log_ratio -= logq_rev - logq_fwd
    if log_u < log_ratio:
        for idx in range(nt):
            s = new[idx]
            z[toks[idx]] = i if s == 0 else (j if s == 1 else k)
        return 1
    return 0
