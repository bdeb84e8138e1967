"""Split–merge Metropolis–Hastings moves for the flat topic models (LDA, GLDA, CGTM).

One-token-at-a-time Gibbs cannot undo a state in which two true clusters share one topic
while a third is spread over two topics: every path out goes through states of much lower
probability.  With K fixed, the move here pairs a *merge* with a *split* so that such a state
is one accepted move away from the truth (restricted-Gibbs split–merge, Jain & Neal, J.
Comput. Graph. Stat. 2004; adapted to topic models as in Wang & Blei, NIPS 2012).

The move, from assignments z (topic sets S_1 … S_K):

1. choose labels (i, j, k) with i ≠ j, k ≠ j, uniformly among the K(K−1)² such triples
   (k = i allowed: then the move re-splits S_i ∪ S_j);
2. *merge*: every token of j goes to i (label j is now free);
3. *split*: the tokens F of topic k (F = S_i ∪ S_j when k = i) are divided between k and j
   by a restricted Gibbs scan: a launch state (each token of F to k or j with probability
   ½, then ``scans`` intermediate restricted Gibbs scans) and one final scan whose
   conditional probabilities of the realised labels give q_fwd;
4. the reverse move is the same kind with the triple (k, j, i): merge S'_j back into k and
   split S_i ∪ S_j between i and j.  Its proposal probability q_rev is the probability that
   a final restricted scan from an independently drawn reverse launch state reaches the
   original labels (S_i → i, S_j → j), computed without sampling (Jain & Neal's
   construction; the two launch states' densities cancel);
5. accept with probability min(1, p(z') / p(z) · q_rev / q_fwd).

The triple's choice probability is the same in both directions when it is uniform; the moves
may instead draw the merge pair from merge scores and the topic to split from split scores
(Gaussian: collapsed NIW gains; LDA: the cosine of two topics' word counts and a topic's size,
:func:`lda_pair_scores`), and then those choice probabilities, forward under z and reverse
under z', enter the ratio.  A restricted
scan (LDA) updates one token of F at a time from its full conditional given every other
assignment, restricted to the two labels; since both labels hold no token outside the
scanned set, the conditional is

    LDA:   p(z_n = a | ·) ∝ (c_da + α_a) (c_aw + β_w) / (c_a + Σβ)

with all counts c over the scanned tokens other than n.  LDA's
move may also use the document proposal (:func:`_lda_split_docs`, with probability
``doc_share``): launched and scanned by whole documents, its final scan gives each document
its labels either as one block or token by token, so the arbitrary by-document division of
one topic over two labels that token-by-token Gibbs leaves behind is reached with the
probability of its document labels.  The Gaussian topics (GLDA, CGTM)
use a word-type launch and a mixture of a sharp and a tempered restricted scan instead
(:mod:`ppltopics.inference._split_merge_gauss`).  log p(z) is the collapsed joint:
Σ_d Σ_k log Γ(n_dk + α_k) (LDA, GLDA; θ integrated out; CGTM's move carries η along with z,
:func:`ppltopics.inference._split_merge_eta._eta_move`), plus the collapsed topic terms
Σ_k [Σ_w log Γ(n_kw + β_w) − log Γ(n_k + Σβ)] (LDA) or Σ_k log p(x_{S_k}) under the NIW
marginal (GLDA, CGTM).  Only the (at most three) touched topics and the documents of their
tokens enter the ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

__all__ = ["SplitMerge", "lda_pair_scores", "lda_score_columns", "lda_score_counts",
           "lda_split_merge", "moves_due", "parse_split_merge"]

# injected defects (tests only): 0 = exact, 1 = Hastings ratio omitted, 2 = its sign flipped,
# 3 = the word view's change of log p(w | z) left out of the target ratio (Gaussian move),
# 4 = CGTM's joint move without the Jacobian of its η map, 5 = the Gaussian move without the
# probabilities of its informed choice of the topic to split
# 6 = LDA's document proposal scoring only the token route of each document (its pure route's
# probability left out of q), 7 = LDA's informed merge pair without its pair probabilities
EXACT, NO_HASTINGS, WRONG_SIGN, NO_WORD_VIEW, NO_JACOBIAN, NO_SPLIT_CHOICE = 0, 1, 2, 3, 4, 5
NO_PURE_ROUTE, NO_PAIR_CHOICE = 6, 7

#: LDA's document proposal: probability that a document's final labels are drawn token by token
#: (the "mixed" route) rather than as one block
DOC_TOKEN_ROUTE = 0.1


@dataclass(frozen=True)
class SplitMerge:
    """Settings of the split–merge moves.

    moves
        Moves attempted at each move step (≥ 1).
    every
        Sweeps between move steps (≥ 1; 1: after every sweep).  A move costs a few restricted
        scans of the three touched topics' tokens, so ``every`` sets its share of run time.
    scans
        Intermediate passes that refine each launch state before the final scan (≥ 0; Jain &
        Neal use a few): restricted Gibbs scans over tokens (LDA) or re-draws of every word
        type's cluster (Gaussian topics).
    uniform_share
        ε in (0, 1]: the merge pair is drawn with probability (1 − ε)·softmax(merge score)
        + ε·uniform (the score is the collapsed log marginal gain of merging two topics),
        and so is the topic to split among the other K − 2 (the score: the gain of splitting
        it by 2-means of its word types); 1 draws the three labels uniformly.  The choice
        probabilities enter the Hastings ratio.  LDA: the merge score is τ times the cosine
        of the two topics' word counts (:func:`lda_pair_scores`) and the topic to split is
        uniform among the other K − 2.
    resplit_share
        ρ in [0, 1): probability that the split topic is the merged pair itself (k = i: the
        move re-divides S_i ∪ S_j), else k is drawn from the other K − 2 labels as above.
        The same in both directions, so it cancels.
    soft_share, soft_beta
        ε_s in [0, 1) and β in [0, 1]: the split proposal is the mixture (1 − ε_s)·sharp
        restricted scan + ε_s·tempered scan (conditionals to the power β, from a fair-coin
        launch), see :func:`ppltopics.inference._split_merge_gauss._score_split`.  Gaussian
        topics only; ε_s = 0 is Jain & Neal's proposal, whose reverse probability of a mixed
        topic is often so small that useful moves are rejected.
    doc_share
        LDA only: probability in [0, 1] that a move (both its directions) uses the document
        proposal (:func:`_lda_split_docs`: whole documents launched and scanned as blocks)
        instead of the token-by-token restricted scan.  A kernel drawn at random, independently
        of the state, from two exact ones: exact for every value.
    """

    moves: int = 1
    every: int = 1
    scans: int = 2
    uniform_share: float = 0.5
    resplit_share: float = 0.5
    soft_share: float = 0.5
    soft_beta: float = 0.5
    doc_share: float = 0.5

    def __post_init__(self) -> None:
        for name, lo in (("moves", 1), ("every", 1), ("scans", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                raise ValueError(f"split_merge {name} must be an integer >= {lo}, got {v!r}")
        for name, lo, hi, lo_in, hi_in in (("uniform_share", 0, 1, False, True),
                                           ("resplit_share", 0, 1, True, False),
                                           ("soft_share", 0, 1, True, False),
                                           ("soft_beta", 0, 1, True, True),
                                           ("doc_share", 0, 1, True, True)):
            e = getattr(self, name)
            ok = not isinstance(e, bool) and isinstance(e, int | float) and \
                (lo <= e if lo_in else lo < e) and (e <= hi if hi_in else e < hi)
            if not ok:
                span = f"{'[' if lo_in else '('}{lo}, {hi}{']' if hi_in else ')'}"
                raise ValueError(f"split_merge {name} must be a number in {span}, got {e!r}")

    def config(self) -> dict[str, Any]:
        return {"moves": int(self.moves), "every": int(self.every), "scans": int(self.scans),
                "uniform_share": float(self.uniform_share),
                "resplit_share": float(self.resplit_share),
                "soft_share": float(self.soft_share), "soft_beta": float(self.soft_beta),
                "doc_share": float(self.doc_share)}


_FIELDS = ("moves", "every", "scans", "uniform_share", "resplit_share", "soft_share",
           "soft_beta", "doc_share")


def moves_due(sm: SplitMerge | None, state: dict[str, np.ndarray]) -> bool:
    """Whether this step makes moves: they are on and ``state["sweeps"]`` is a multiple of
    ``every``.  A step without moves records zero proposals and acceptances."""
    if sm is None:
        return False
    if state["sweeps"][0] % sm.every:
        state["sm_accepted"][0] = state["sm_proposed"][0] = 0
        return False
    return True


def parse_split_merge(value: Any) -> SplitMerge | None:
    """``split_merge=`` option: False/None (off), True (defaults), a dict of
    :class:`SplitMerge` fields, or a :class:`SplitMerge`.  Anything else: ValueError."""
    if value is None or value is False:
        return None
    if value is True:
        return SplitMerge()
    if isinstance(value, SplitMerge):
        return value
    if isinstance(value, dict):
        unknown = set(value) - set(_FIELDS)
        if unknown:
            raise ValueError(f"split_merge: unknown settings {sorted(unknown)}; "
                             f"expected one of {list(_FIELDS)}")
        return SplitMerge(**value)
    raise ValueError(f"split_merge must be a bool, a dict or a SplitMerge, got "
                     f"{type(value).__name__} {value!r}")


# ----------------------------------------------------------------------------- shared parts
@numba.njit(cache=True, nogil=True)
def _choose_triple(rng: np.random.Generator, K: int) -> tuple[int, int, int]:
    """(i, j, k) uniform over i ≠ j, k ≠ j: probability 1/(K(K−1)²), same for (k, j, i)."""
    i = rng.integers(0, K)
    j = rng.integers(0, K - 1)
    if j >= i:
        j += 1
    k = rng.integers(0, K - 1)
    if k >= j:
        k += 1
    return i, j, k


@numba.njit(cache=True, nogil=True)
def _pair_logprob(scores: np.ndarray, uniform_share: float) -> np.ndarray:
    """log P({a, b}) of choosing the unordered pair a < b to merge:

        P({a, b}) = (1 − ε) softmax(s)_{ab} + ε / (K(K−1)/2),   ε = ``uniform_share``,

    over the merge scores s_ab (upper triangle of ``scores``).  ε > 0 keeps every pair
    reachable, so the reverse move's probability is never vanishingly small."""
    K = scores.shape[0]
    npairs = K * (K - 1) // 2
    m = -np.inf
    for a in range(K):
        for b in range(a + 1, K):
            m = max(m, scores[a, b])
    tot = 0.0
    for a in range(K):
        for b in range(a + 1, K):
            tot += math.exp(scores[a, b] - m)
    out = np.full((K, K), -np.inf)
    for a in range(K):
        for b in range(a + 1, K):
            p = (1.0 - uniform_share) * math.exp(scores[a, b] - m) / tot + uniform_share / npairs
            out[a, b] = math.log(p)
            out[b, a] = out[a, b]
    return out


@numba.njit(cache=True, nogil=True)
def _split_logprob(scores: np.ndarray, i: int, j: int, k: int, uniform_share: float) -> float:
    """log P(k | merge pair {i, j}) of choosing k ∉ {i, j} as the topic to split:

        P(k) = (1 − ε) softmax_{t ∉ {i, j}}(s_t)_k + ε/(K − 2),   ε = ``uniform_share``.

    The topic holding two clusters has by far the largest split score s, so the move that
    repairs "two clusters in one topic + one cluster over two" is proposed about (K − 2)
    times as often as with k uniform (the reverse move's P(i | {k, j}, z') enters the
    Hastings ratio)."""
    K = scores.shape[0]
    m = -np.inf
    for t in range(K):
        if t != i and t != j:
            m = max(m, scores[t])
    soft = 0.0
    if m > -np.inf:
        tot = 0.0
        for t in range(K):
            if t != i and t != j:
                tot += math.exp(scores[t] - m)
        soft = math.exp(scores[k] - m) / tot if scores[k] > -np.inf else 0.0
    else:
        soft = 1.0 / (K - 2)
    return math.log((1.0 - uniform_share) * soft + uniform_share / (K - 2))


@numba.njit(cache=True, nogil=True)
def _draw_split(rng: np.random.Generator, scores: np.ndarray, i: int, j: int,
                uniform_share: float) -> int:
    """k ∉ {i, j} with probability exp(:func:`_split_logprob`)."""
    K = scores.shape[0]
    u = rng.random()
    acc = 0.0
    last = -1
    for t in range(K):
        if t != i and t != j:
            acc += math.exp(_split_logprob(scores, i, j, t, uniform_share))
            last = t
            if u < acc:
                return t
    return last


@numba.njit(cache=True, nogil=True)
def _choose_informed(
    rng: np.random.Generator, logp: np.ndarray, resplit_share: float,
) -> tuple[int, int, int]:
    """Pair {i, j} from ``logp`` (:func:`_pair_logprob`), survivor i of the two with
    probability ½, split topic k = i with probability ρ = ``resplit_share`` (always when
    K = 2), else uniform over the K − 2 labels ∉ {i, j}.  Reverse (k, j, i): the ½, ρ and
    (1 − ρ)/(K − 2) factors are equal, the pair probabilities enter the Hastings ratio."""
    K = logp.shape[0]
    u = rng.random()
    acc = 0.0
    a, b = 0, 1
    done = False
    for x in range(K):
        for y in range(x + 1, K):
            acc += math.exp(logp[x, y])
            a, b = x, y
            if u < acc:
                done = True
                break
        if done:
            break
    if rng.random() < 0.5:
        i, j = a, b
    else:
        i, j = b, a
    if K == 2 or rng.random() < resplit_share:
        return i, j, i
    k = rng.integers(0, K - 2)
    if k >= min(i, j):
        k += 1
    if k >= max(i, j):
        k += 1
    return i, j, k


@numba.njit(cache=True, nogil=True)
def _collect(z: np.ndarray, i: int, j: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Token indices of the forward split set F (topic k, or S_i ∪ S_j when k = i) and of
    the reverse split set R = S_i ∪ S_j."""
    nf = 0
    nr = 0
    for n in range(z.shape[0]):
        t = z[n]
        if t == i or t == j:
            nr += 1
            if k == i:
                nf += 1
        elif t == k:
            nf += 1
    F = np.empty(nf, dtype=np.int64)
    R = np.empty(nr, dtype=np.int64)
    nf = 0
    nr = 0
    for n in range(z.shape[0]):
        t = z[n]
        if t == i or t == j:
            R[nr] = n
            nr += 1
            if k == i:
                F[nf] = n
                nf += 1
        elif t == k:
            F[nf] = n
            nf += 1
    return F, R


@numba.njit(cache=True, nogil=True)
def _two_way(rng: np.random.Generator, l0: float, l1: float, forced: int) -> tuple[int, float]:
    """Draw label 0/1 with log weights (l0, l1) (or take ``forced`` ≥ 0); return the label and
    the log probability of the label taken.  One exp and one log1p: with δ = l1 − l0,
    log p(1) = −log(1 + e^−δ) and log p(0) = log p(1) − δ (mirrored for δ < 0)."""
    d = l1 - l0
    e = math.exp(-abs(d))
    lo = -math.log1p(e)  # log p of the likelier label
    lp0 = lo - d if d > 0.0 else lo
    if forced >= 0:
        a = forced
    else:
        a = 0 if rng.random() < (e / (1.0 + e) if d > 0.0 else 1.0 / (1.0 + e)) else 1
    if a == 0:
        return 0, lp0
    return 1, lo if d > 0.0 else lo + d


@numba.njit(cache=True, nogil=True)
def _doc_terms(
    toks: np.ndarray, token_docs: np.ndarray, ndk: np.ndarray, alpha: np.ndarray,
    i: int, j: int, k: int, mark: np.ndarray, docs: np.ndarray, nd: int, sign: float,
) -> tuple[float, int]:
    """sign · Σ over the not-yet-listed documents of ``toks`` of Σ_{t∈{i,j,k}} log Γ(n_dt+α_t);
    lists them in ``docs`` (``mark`` flags listed documents)."""
    out = 0.0
    for idx in range(toks.shape[0]):
        d = token_docs[toks[idx]]
        if mark[d]:
            continue
        mark[d] = True
        docs[nd] = d
        nd += 1
        out += sign * (math.lgamma(ndk[d, i] + alpha[i]) + math.lgamma(ndk[d, j] + alpha[j]))
        if k != i:
            out += sign * math.lgamma(ndk[d, k] + alpha[k])
    return out, nd


@numba.njit(cache=True, nogil=True)
def _doc_terms_listed(
    ndk: np.ndarray, alpha: np.ndarray, i: int, j: int, k: int, docs: np.ndarray, nd: int,
) -> float:
    out = 0.0
    for idx in range(nd):
        d = docs[idx]
        out += math.lgamma(ndk[d, i] + alpha[i]) + math.lgamma(ndk[d, j] + alpha[j])
        if k != i:
            out += math.lgamma(ndk[d, k] + alpha[k])
    return out


# ----------------------------------------------------------------------------- LDA
@numba.njit(cache=True, nogil=True)
def _log_tables(m: int, la: np.ndarray, beta: float, vbeta: float) -> np.ndarray:
    """(4, m + 1) logarithms of the restricted LDA conditionals by count c = 0..m: rows
    log(c + α_0), log(c + α_1), log(c + β), log(c + Vβ) — a split of m tokens never counts
    more than m, so its scans look them up instead of taking ~20 logs per token (the same
    ``math.log`` values)."""
    out = np.empty((4, m + 1))
    for c in range(m + 1):
        out[0, c] = math.log(c + la[0])
        out[1, c] = math.log(c + la[1])
        out[2, c] = math.log(c + beta)
        out[3, c] = math.log(c + vbeta)
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
    logs = _log_tables(m, la, beta, vbeta)
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
            a, _ = _two_way(rng, l0, l1, -1)
        lab[idx] = a
        cnt[d, a] += 1
        wc[w, a] += 1
        tot[a] += 1
    none = np.empty(0, dtype=np.int64)
    for _ in range(scans):
        _lda_scan(toks, lab, none, word_ids, token_docs, cnt, wc, tot, logs, rng)
    logq = _lda_scan(toks, lab, target, word_ids, token_docs, cnt, wc, tot, logs, rng)
    for idx in range(toks.shape[0]):
        n = toks[idx]
        cnt[token_docs[n], 0] = 0
        cnt[token_docs[n], 1] = 0
        wc[word_ids[n], 0] = 0
        wc[word_ids[n], 1] = 0
    return lab, logq


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
def _block_logw(toks: np.ndarray, lo: int, hi: int, a: int, word_ids: np.ndarray,
                wc: np.ndarray, tot: np.ndarray, la: np.ndarray, logs: np.ndarray) -> float:
    """log of the restricted conditional (unnormalised) of giving the whole block
    ``toks[lo:hi]`` of one document label a, the block out of the counts:

        log Γ(c + α_a)/Γ(α_a) + Σ_{t<c} [log(n_{a,w_t} + m_{<t,w_t} + β) − log(n_a + t + Vβ)]

    (c tokens; the document holds no other token of the two labels; m_{<t,w} counts the
    block's earlier tokens of word w; ``logs`` from :func:`_log_tables`)."""
    out = math.lgamma(hi - lo + la[a]) - math.lgamma(la[a])
    for idx in range(lo, hi):
        w = word_ids[toks[idx]]
        out += logs[2, wc[w, a]] - logs[3, tot[a] + idx - lo]
        wc[w, a] += 1
    for idx in range(lo, hi):
        wc[word_ids[toks[idx]], a] -= 1
    return out


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
def _draw_block(rng: np.random.Generator, toks: np.ndarray, lo: int, hi: int,
                lab: np.ndarray, word_ids: np.ndarray, cnt: np.ndarray, token_docs: np.ndarray,
                wc: np.ndarray, tot: np.ndarray, la: np.ndarray, logs: np.ndarray) -> None:
    """A block (out of the counts) gets one label drawn from its block conditional; added."""
    l0 = _block_logw(toks, lo, hi, 0, word_ids, wc, tot, la, logs)
    l1 = _block_logw(toks, lo, hi, 1, word_ids, wc, tot, la, logs)
    a, _ = _two_way(rng, l0, l1, -1)
    for idx in range(lo, hi):
        lab[idx] = a
    _add_tokens(toks, lo, hi, lab, 1, word_ids, token_docs, cnt, wc, tot)


@numba.njit(cache=True, nogil=True)
def _lda_split_docs(
    toks: np.ndarray, target: np.ndarray, word_ids: np.ndarray, token_docs: np.ndarray,
    cnt: np.ndarray, wc: np.ndarray, la: np.ndarray, beta: float, vbeta: float,
    rng: np.random.Generator, scans: int, defect: int,
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
    or forced to ``target``; returns the labels and Σ log q.  Leaves ``cnt``/``wc`` zero."""
    m = toks.shape[0]
    logs = _log_tables(m, la, beta, vbeta)
    bs = _doc_blocks(toks, token_docs)
    nb = bs.shape[0] - 1
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
                        la, logs)
    for _ in range(scans):
        for b in range(nb):
            _add_tokens(toks, bs[b], bs[b + 1], lab, -1, word_ids, token_docs, cnt, wc, tot)
            _draw_block(rng, toks, bs[b], bs[b + 1], lab, word_ids, cnt, token_docs, wc, tot,
                        la, logs)
    forced = target.shape[0] > 0
    eps = DOC_TOKEN_ROUTE
    logq = 0.0
    for b in range(nb):
        lo, hi = bs[b], bs[b + 1]
        _add_tokens(toks, lo, hi, lab, -1, word_ids, token_docs, cnt, wc, tot)
        w0 = _block_logw(toks, lo, hi, 0, word_ids, wc, tot, la, logs)
        w1 = _block_logw(toks, lo, hi, 1, word_ids, wc, tot, la, logs)
        pure_route = False
        if not forced and rng.random() < 1.0 - eps:
            pure_route = True
            a, _ = _two_way(rng, w0, w1, -1)
            for idx in range(lo, hi):
                lab[idx] = a
        # the token route's probability of the labels (drawn on the mixed route, else
        # those of the pure route or the target); the tokens go back into the counts
        logp_tok = 0.0
        for idx in range(lo, hi):
            n = toks[idx]
            d = token_docs[n]
            w = word_ids[n]
            l0 = _token_logw(logs, cnt, wc, tot, d, w, 0)
            l1 = _token_logw(logs, cnt, wc, tot, d, w, 1)
            f = target[idx] if forced else (lab[idx] if pure_route else -1)
            a, lp = _two_way(rng, l0, l1, f)
            lab[idx] = a
            logp_tok += lp
            cnt[d, a] += 1
            wc[w, a] += 1
            tot[a] += 1
        lq = math.log(eps) + logp_tok
        pure = defect != NO_PURE_ROUTE
        for idx in range(lo + 1, hi):
            pure = pure and lab[idx] == lab[lo]
        if pure:
            _, lp_block = _two_way(rng, w0, w1, lab[lo])
            lp = math.log(1.0 - eps) + lp_block
            hi_ = max(lp, lq)
            lq = hi_ + math.log(math.exp(lp - hi_) + math.exp(lq - hi_))
        logq += lq
    for idx in range(m):
        n = toks[idx]
        cnt[token_docs[n], 0] = 0
        cnt[token_docs[n], 1] = 0
        wc[word_ids[n], 0] = 0
        wc[word_ids[n], 1] = 0
    return lab, logq


@numba.njit(cache=True, nogil=True)
def _lda_terms(
    toks: np.ndarray, labels: np.ndarray, word_ids: np.ndarray, token_docs: np.ndarray,
    alpha3: np.ndarray, beta: float, vbeta: float, cnt3: np.ndarray, wc3: np.ndarray,
) -> float:
    """Collapsed log joint terms of three topics (slots 0..2) holding ``toks`` with slot
    ``labels``: Σ_d Σ_s log Γ(n_ds + α_s) + Σ_s [Σ_w (log Γ(n_sw + β) − log Γ(β))
    − log Γ(n_s + Vβ)], over the documents and words of ``toks`` (``cnt3``, ``wc3`` zero on
    entry and exit)."""
    tot = np.zeros(3, dtype=np.int64)
    for idx in range(toks.shape[0]):
        n = toks[idx]
        s = labels[idx]
        cnt3[token_docs[n], s] += 1
        wc3[word_ids[n], s] += 1
        tot[s] += 1
    out = 0.0
    lgb = math.lgamma(beta)
    for idx in range(toks.shape[0]):
        n = toks[idx]
        d = token_docs[n]
        w = word_ids[n]
        if cnt3[d, 0] >= 0:  # first visit of document d: add its terms, then flag it
            for s in range(3):
                out += math.lgamma(cnt3[d, s] + alpha3[s])
                cnt3[d, s] = -1
        if wc3[w, 0] >= 0:
            for s in range(3):
                out += math.lgamma(wc3[w, s] + beta) - lgb
                wc3[w, s] = -1
    for s in range(3):
        out -= math.lgamma(tot[s] + vbeta)
    for idx in range(toks.shape[0]):
        n = toks[idx]
        for s in range(3):
            cnt3[token_docs[n], s] = 0
            wc3[word_ids[n], s] = 0
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
    uniform by ``uniform_share``), k = i with probability ``resplit_share``, else uniform
    over the other K − 2 (:func:`_choose_informed`); the pair probabilities P({i, j} | z)
    and P({k, j} | z') enter the ratio.  Without them the triple is uniform.

    The uniform u of the acceptance test is drawn first; since log q_rev ≤ 0 (and the
    reverse pair's log probability ≤ 0), a move with log u ≥ log p(z')/p(z) − log q_fwd is
    rejected before the reverse split is scored (exact: the full ratio would reject it
    too)."""
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
    log_ratio = (_lda_terms(toks, new, word_ids, token_docs, alpha3, beta, vbeta, cnt, wc)
                 - _lda_terms(toks, old, word_ids, token_docs, alpha3, beta, vbeta, cnt, wc))
    pairs = informed and defect != NO_PAIR_CHOICE
    if pairs:
        logq_fwd += lp0[i, j]
    split_k = split_scores.shape[0] > 0 and defect != NO_SPLIT_CHOICE
    if split_k:
        lk0 = _split_logprob(split_scores, i, j, k, uniform_share)
        logq_fwd += lk0
    if defect == EXACT and log_u >= log_ratio - logq_fwd:
        return 0
    if docs:
        _, logq_rev = _lda_split_docs(R, orig, word_ids, token_docs, cnt, wc,
                                      np.array([alpha[i], alpha[j]]), beta, vbeta, rng, scans,
                                      defect)
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
