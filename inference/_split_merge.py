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
(Gaussian: collapsed NIW gains; LDA: the cosine of two topics' word counts and a topic's
size), and then those choice probabilities, forward under z and reverse under z', enter the
ratio.  A restricted scan (LDA) updates one token of F at a time from its full conditional
given every other assignment, restricted to the two labels; since both labels hold no token
outside the scanned set, the conditional is

    LDA:   p(z_n = a | ·) ∝ (c_da + α_a) (c_aw + β_w) / (c_a + Σβ)

with all counts c over the scanned tokens other than n.  LDA's move may also use a document
proposal with probability ``doc_share``: launched and scanned by whole documents, its final
scan gives each document its labels either as one block or token by token, so the arbitrary
by-document division of one topic over two labels that token-by-token Gibbs leaves behind is
reached with the probability of its document labels
(:mod:`ppltopics.inference._split_merge_lda`).  The Gaussian topics (GLDA, CGTM)
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
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np

__all__ = ["SplitMerge", "moves_due", "parse_split_merge"]

# injected defects (tests only): 0 = exact, 1 = Hastings ratio omitted, 2 = its sign flipped,
# 3 = the word view's change of log p(w | z) left out of the target ratio (Gaussian move),
# 4 = CGTM's joint move without the Jacobian of its η map, 5 = the Gaussian move without the
# probabilities of its informed choice of the topic to split
# 6 = LDA's document proposal scoring only the token route of each document (its pure route's
# probability left out of q), 7 = LDA's informed merge pair without its pair probabilities
EXACT, NO_HASTINGS, WRONG_SIGN, NO_WORD_VIEW, NO_JACOBIAN, NO_SPLIT_CHOICE = 0, 1, 2, 3, 4, 5
NO_PURE_ROUTE, NO_PAIR_CHOICE = 6, 7


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
        of the two topics' counts of the most frequent words and the split score τ_s times
        the topic's size over the mean (:mod:`ppltopics.inference._split_merge_lda`).
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
        proposal (``_split_merge_lda._lda_split_docs``: whole documents launched and scanned
        as blocks)
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


def parse_split_merge(value: Any, defaults: SplitMerge | None = None) -> SplitMerge | None:
    """``split_merge=`` option: False/None (off), True (the model's ``defaults``, else
    :class:`SplitMerge`'s), a dict of :class:`SplitMerge` fields (the others from the same
    defaults), or a :class:`SplitMerge`.  Anything else: ValueError."""
    if value is None or value is False:
        return None
    base = SplitMerge() if defaults is None else defaults
    if value is True:
        return base
    if isinstance(value, SplitMerge):
        return value
    if isinstance(value, dict):
        unknown = set(value) - set(_FIELDS)
        if unknown:
            raise ValueError(f"split_merge: unknown settings {sorted(unknown)}; "
                             f"expected one of {list(_FIELDS)}")
        return replace(base, **value)
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
