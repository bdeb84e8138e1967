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

The triple's choice probability is the same in both directions.  A restricted scan updates
one token of F at a time from its full conditional given every other assignment, restricted
to the two labels; since both labels hold no token outside the scanned set, the conditional is

    LDA:   p(z_n = a | ·) ∝ (c_da + α_a) (c_aw + β_w) / (c_a + Σβ)
    GLDA:  p(z_n = a | ·) ∝ (c_da + α_a) t_a(x_n)   (NIW predictive of the scanned set in a)
    CGTM:  p(z_n = a | ·) ∝ exp(η_da) t_a(x_n)

with all counts c over the scanned tokens other than n.  log p(z) is the collapsed joint:
Σ_d Σ_k log Γ(n_dk + α_k) (LDA, GLDA; θ integrated out) or Σ_n η_{d z_n} (CGTM given η,
whose softmax normaliser does not depend on z), plus the collapsed topic terms
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

from ppltopics.inference._linalg import (
    NIWPrior,
    NIWStats,
    niw_add,
    niw_refactor,
    niw_remove,
    predictive_logpdf,
    reset_topic,
    topic_log_marginal,
)

__all__ = ["SplitMerge", "gaussian_split_merge", "lda_split_merge", "parse_split_merge"]

# injected defects (tests only): 0 = exact, 1 = Hastings ratio omitted, 2 = its sign flipped
EXACT, NO_HASTINGS, WRONG_SIGN = 0, 1, 2


@dataclass(frozen=True)
class SplitMerge:
    """Settings of the split–merge moves.

    moves
        Moves attempted after every Gibbs sweep (≥ 1).
    scans
        Intermediate restricted Gibbs scans that build each launch state from a random split
        (≥ 0; Jain & Neal use a few).
    uniform_share
        ε in (0, 1]: the merge pair is drawn with probability (1 − ε)·softmax(merge score)
        + ε·uniform (the score is the collapsed log marginal gain of merging two topics);
        1 draws the three labels uniformly.  The pair probabilities enter the Hastings ratio.
        Gaussian topics (GLDA, CGTM) only; the LDA move draws the labels uniformly.
    """

    moves: int = 1
    scans: int = 2
    uniform_share: float = 0.5

    def __post_init__(self) -> None:
        for name, lo in (("moves", 1), ("scans", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                raise ValueError(f"split_merge {name} must be an integer >= {lo}, got {v!r}")
        e = self.uniform_share
        if isinstance(e, bool) or not isinstance(e, int | float) or not 0.0 < e <= 1.0:
            raise ValueError(f"split_merge uniform_share must be a number in (0, 1], got {e!r}")

    def config(self) -> dict[str, Any]:
        return {"moves": int(self.moves), "scans": int(self.scans),
                "uniform_share": float(self.uniform_share)}


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
        unknown = set(value) - {"moves", "scans", "uniform_share"}
        if unknown:
            raise ValueError(f"split_merge: unknown settings {sorted(unknown)}; "
                             f"expected 'moves', 'scans', 'uniform_share'")
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
def _choose_informed(
    rng: np.random.Generator, logp: np.ndarray,
) -> tuple[int, int, int]:
    """Pair {i, j} from ``logp`` (:func:`_pair_logprob`), survivor i of the two with
    probability ½, split topic k uniform over the K − 1 labels ≠ j.  Reverse (k, j, i): the
    ½ and 1/(K−1) factors are equal, the pair probabilities enter the Hastings ratio."""
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
    k = rng.integers(0, K - 1)
    if k >= j:
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
    the log probability of the label taken."""
    m = max(l0, l1)
    lse = m + math.log(math.exp(l0 - m) + math.exp(l1 - m))
    if forced >= 0:
        a = forced
    else:
        a = 0 if rng.random() < math.exp(l0 - lse) else 1
    return a, (l0 if a == 0 else l1) - lse


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


# ----------------------------------------------------------------------------- Gaussian
@numba.njit(cache=True, nogil=True)
def _gauss_two_way_logits(
    x: np.ndarray, d: int, cnt: np.ndarray, la: np.ndarray, lb: np.ndarray, collapsed: bool,
    ws: NIWStats, s0: int, prior: NIWPrior, work: np.ndarray,
) -> tuple[float, float]:
    """Unnormalised log conditionals of a token (vector ``x``, document ``d``) between the
    two workspace topics s0 and s0+1: the document term (collapsed, log(n_d· + α); or CGTM's
    η weights ``la[d]``, ``lb[d]``) plus the NIW predictive of ``x`` under each topic."""
    if collapsed:
        l0 = math.log(cnt[d, 0] + la[0])
        l1 = math.log(cnt[d, 1] + la[1])
    else:
        l0 = la[d]
        l1 = lb[d]
    l0 += predictive_logpdf(s0, x, ws, prior, work)
    l1 += predictive_logpdf(s0 + 1, x, ws, prior, work)
    return l0, l1


@numba.njit(cache=True, nogil=True)
def _gauss_scan(
    toks: np.ndarray, lab: np.ndarray, target: np.ndarray, table: np.ndarray,
    word_ids: np.ndarray, token_docs: np.ndarray, cnt: np.ndarray, la: np.ndarray,
    lb: np.ndarray, collapsed: bool, ws: NIWStats, s0: int, prior: NIWPrior,
    work: np.ndarray, rng: np.random.Generator,
) -> float:
    """One restricted Gibbs scan of ``toks`` between workspace topics s0, s0+1 (labels 0/1 in
    ``lab``, updated in place).  Document factor: collapsed (cnt[d, a] + α_a), with
    la = (α_a, α_b) per label, or exp(η) with la, lb the (D,) columns of η.  ``target``
    non-empty: force each token to target[idx] (the reverse move's probability).  Returns
    Σ log p(realised label)."""
    logq = 0.0
    forced = target.shape[0] > 0
    for idx in range(toks.shape[0]):
        n = toks[idx]
        d = token_docs[n]
        x = table[word_ids[n]]
        a = lab[idx]
        niw_remove(s0 + a, x, ws, prior, work)
        cnt[d, a] -= 1
        l0, l1 = _gauss_two_way_logits(x, d, cnt, la, lb, collapsed, ws, s0, prior, work)
        new, lp = _two_way(rng, l0, l1, target[idx] if forced else -1)
        logq += lp
        niw_add(s0 + new, x, ws, prior, work)
        cnt[d, new] += 1
        lab[idx] = new
    return logq


@numba.njit(cache=True, nogil=True)
def _gauss_launch(
    toks: np.ndarray, table: np.ndarray, word_ids: np.ndarray, token_docs: np.ndarray,
    cnt: np.ndarray, la: np.ndarray, lb: np.ndarray, collapsed: bool, ws: NIWStats, s0: int,
    prior: NIWPrior, work: np.ndarray, rng: np.random.Generator, scans: int,
) -> np.ndarray:
    """Launch state of a split of ``toks`` (workspace topics s0, s0+1 and ``cnt`` hold it):
    two random anchor tokens seed the two labels and the others are allocated one at a time,
    in random order, from the restricted conditional given those allocated so far
    (sequential allocation, Dahl 2005), then ``scans`` intermediate restricted scans.  The
    launch depends only on the set ``toks`` and the two labels, never on the current
    assignment, so its density cancels in the Hastings ratio (module doc)."""
    reset_topic(s0, ws, prior)
    reset_topic(s0 + 1, ws, prior)
    m = toks.shape[0]
    lab = np.empty(m, dtype=np.int64)
    order = rng.permutation(m)
    for r in range(m):
        idx = order[r]
        n = toks[idx]
        d = token_docs[n]
        x = table[word_ids[n]]
        if r < 2:
            a = r
        else:
            l0, l1 = _gauss_two_way_logits(x, d, cnt, la, lb, collapsed, ws, s0, prior,
                                           work)
            a, _ = _two_way(rng, l0, l1, -1)
        lab[idx] = a
        niw_add(s0 + a, x, ws, prior, work)
        cnt[d, a] += 1
    none = np.empty(0, dtype=np.int64)
    for _ in range(scans):
        _gauss_scan(toks, lab, none, table, word_ids, token_docs, cnt, la, lb, collapsed,
                    ws, s0, prior, work, rng)
    return lab


@numba.njit(cache=True, nogil=True)
def _clear_cnt(toks: np.ndarray, token_docs: np.ndarray, cnt: np.ndarray) -> None:
    for idx in range(toks.shape[0]):
        d = token_docs[toks[idx]]
        cnt[d, 0] = 0
        cnt[d, 1] = 0


@numba.njit(cache=True, nogil=True)
def _set_topic(
    t: int, stats: NIWStats, count: int, sums: np.ndarray, scatter: np.ndarray,
    prior: NIWPrior,
) -> None:
    """Topic t := the given statistics, factor recomputed (O(M³), no drift)."""
    stats.count[t] = count
    stats.sums[t, :] = sums
    stats.scatter[t, :, :] = scatter
    niw_refactor(t, stats, prior)


@numba.njit(cache=True, nogil=True)
def _new_topics(stats: NIWStats, ws: NIWStats, i: int, j: int, k: int, prior: NIWPrior) -> None:
    """Topics i (merged, workspace slot 4, when k ≠ i), k (slot 0) and j (slot 1) of z'."""
    if k != i:
        _set_topic(i, stats, ws.count[4], ws.sums[4], ws.scatter[4], prior)
    _set_topic(k, stats, ws.count[0], ws.sums[0], ws.scatter[0], prior)
    _set_topic(j, stats, ws.count[1], ws.sums[1], ws.scatter[1], prior)


@numba.njit(cache=True, nogil=True)
def _gauss_pair_scores(stats: NIWStats, prior: NIWPrior, ws: NIWStats, slot: int) -> np.ndarray:
    """s_ab = log m(S_a ∪ S_b) − log m(S_a) − log m(S_b) under the NIW marginal m: how much
    the vectors of topics a and b look like one cluster (O(K² M³); ``ws[slot]`` scratch)."""
    K = stats.count.shape[0]
    own = np.empty(K)
    for a in range(K):
        own[a] = topic_log_marginal(a, stats, prior)
    out = np.zeros((K, K))
    for a in range(K):
        for b in range(a + 1, K):
            ws.count[slot] = stats.count[a] + stats.count[b]
            ws.sums[slot, :] = stats.sums[a] + stats.sums[b]
            ws.scatter[slot, :, :] = stats.scatter[a] + stats.scatter[b]
            niw_refactor(slot, ws, prior)
            out[a, b] = topic_log_marginal(slot, ws, prior) - own[a] - own[b]
            out[b, a] = out[a, b]
    return out


@numba.njit(cache=True, nogil=True)
def gaussian_split_merge(
    word_ids: np.ndarray, token_docs: np.ndarray, table: np.ndarray, z: np.ndarray,
    ndk: np.ndarray, alpha: np.ndarray, doc_logw: np.ndarray, stats: NIWStats,
    prior: NIWPrior, ws: NIWStats, cnt: np.ndarray, scans: int, rng: np.random.Generator,
    defect: int, uniform_share: float, info: np.ndarray,
) -> int:
    """One split–merge move (module doc) for Gaussian topics; returns 1 if accepted.

    ``info`` (length ≥ 6, or empty): if ``info[0] >= 0`` on entry, (info[0], info[1],
    info[2]) is the triple to propose (diagnostics); on exit info[3:6] = log p(z')/p(z),
    log q_fwd, log q_rev.

    ``uniform_share`` = 1: (i, j, k) uniform; < 1: the merge pair is drawn from
    :func:`_pair_logprob` over :func:`_gauss_pair_scores`, and the pair probabilities of
    the forward and reverse moves enter the Hastings ratio.

    GLDA: ``doc_logw`` empty, document factor (n_dk + α_k) with θ integrated out.
    CGTM: ``doc_logw`` = η (D, K), the z-conditional given η.  ``ws``: workspace NIW
    statistics with 5 slots; ``cnt``: (D, 2) int64 zeros (left zero).
    """
    K = ndk.shape[1]
    if K < 2:
        return 0
    informed = uniform_share < 1.0
    if informed:
        lp0 = _pair_logprob(_gauss_pair_scores(stats, prior, ws, 4), uniform_share)
        i, j, k = _choose_informed(rng, lp0)
    else:
        lp0 = np.zeros((K, K))
        i, j, k = _choose_triple(rng, K)
    if info.shape[0] > 0 and info[0] >= 0:
        i, j, k = int(info[0]), int(info[1]), int(info[2])
    F, R = _collect(z, i, j, k)
    collapsed = doc_logw.shape[0] == 0
    M = table.shape[1]
    work = np.empty((M + 4, M))
    empty = np.empty(0, dtype=np.int64)
    # forward: split F between k (label 0) and j (label 1)
    if collapsed:
        la_f = np.array([alpha[k], alpha[j]])
        lb_f = la_f
        la_r = np.array([alpha[i], alpha[j]])
        lb_r = la_r
    else:
        la_f = doc_logw[:, k].copy()
        lb_f = doc_logw[:, j].copy()
        la_r = doc_logw[:, i].copy()
        lb_r = doc_logw[:, j].copy()
    lab_f = _gauss_launch(F, table, word_ids, token_docs, cnt, la_f, lb_f, collapsed, ws, 0,
                          prior, work, rng, scans)
    logq_fwd = _gauss_scan(F, lab_f, empty, table, word_ids, token_docs, cnt, la_f, lb_f,
                           collapsed, ws, 0, prior, work, rng)
    _clear_cnt(F, token_docs, cnt)
    # reverse: probability of splitting R back into S_i (label 0) and S_j (label 1)
    orig = np.empty(R.shape[0], dtype=np.int64)
    for idx in range(R.shape[0]):
        orig[idx] = 0 if z[R[idx]] == i else 1
    lab_r = _gauss_launch(R, table, word_ids, token_docs, cnt, la_r, lb_r, collapsed, ws, 2,
                          prior, work, rng, scans)
    logq_rev = _gauss_scan(R, lab_r, orig, table, word_ids, token_docs, cnt, la_r, lb_r,
                           collapsed, ws, 2, prior, work, rng)
    _clear_cnt(R, token_docs, cnt)
    # new topic statistics: F's split is in workspace slots 0 (→ k) and 1 (→ j); for k ≠ i
    # the merged S_i ∪ S_j (→ i) goes to slot 4
    log_ratio = 0.0
    log_ratio -= topic_log_marginal(i, stats, prior) + topic_log_marginal(j, stats, prior)
    if k != i:
        log_ratio -= topic_log_marginal(k, stats, prior)
        ws.count[4] = stats.count[i] + stats.count[j]
        ws.sums[4, :] = stats.sums[i] + stats.sums[j]
        ws.scatter[4, :, :] = stats.scatter[i] + stats.scatter[j]
        niw_refactor(4, ws, prior)
        log_ratio += topic_log_marginal(4, ws, prior)
    for s in range(2):
        niw_refactor(s, ws, prior)
        log_ratio += topic_log_marginal(s, ws, prior)
    # document terms
    newz = np.empty(F.shape[0] + (R.shape[0] if k != i else 0), dtype=np.int64)
    toks = np.empty(newz.shape[0], dtype=np.int64)
    m = 0
    if k != i:
        for idx in range(R.shape[0]):
            toks[m] = R[idx]
            newz[m] = i
            m += 1
    for idx in range(F.shape[0]):
        toks[m] = F[idx]
        newz[m] = k if lab_f[idx] == 0 else j
        m += 1
    if collapsed:
        D = ndk.shape[0]
        mark = np.zeros(D, dtype=np.bool_)
        docs = np.empty(D, dtype=np.int64)
        old_terms, nd = _doc_terms(toks, token_docs, ndk, alpha, i, j, k, mark, docs, 0, 1.0)
        for idx in range(toks.shape[0]):
            d = token_docs[toks[idx]]
            ndk[d, z[toks[idx]]] -= 1
            ndk[d, newz[idx]] += 1
        log_ratio += _doc_terms_listed(ndk, alpha, i, j, k, docs, nd) - old_terms
    else:
        for idx in range(toks.shape[0]):
            n = toks[idx]
            d = token_docs[n]
            log_ratio += doc_logw[d, newz[idx]] - doc_logw[d, z[n]]
            ndk[d, z[n]] -= 1
            ndk[d, newz[idx]] += 1
    if informed:  # pair probabilities: P({k, j} | z') / P({i, j} | z)
        new = NIWStats(stats.count.copy(), stats.sums.copy(), stats.scatter.copy(),
                       stats.chol.copy(), stats.logdet.copy())
        _new_topics(new, ws, i, j, k, prior)
        lp1 = _pair_logprob(_gauss_pair_scores(new, prior, ws, 2), uniform_share)
        logq_rev += lp1[k, j]
        logq_fwd += lp0[i, j]
    if info.shape[0] > 0:
        info[3], info[4], info[5] = log_ratio, logq_fwd, logq_rev
    if defect == EXACT:
        log_ratio += logq_rev - logq_fwd
    elif defect == WRONG_SIGN:
        log_ratio -= logq_rev - logq_fwd
    if log_ratio >= 0.0 or rng.random() < math.exp(log_ratio):
        # accept: z and ndk (already updated), topic statistics from the workspace
        for idx in range(toks.shape[0]):
            z[toks[idx]] = newz[idx]
        _new_topics(stats, ws, i, j, k, prior)
        return 1
    for idx in range(toks.shape[0]):  # reject: restore the document counts
        d = token_docs[toks[idx]]
        ndk[d, newz[idx]] -= 1
        ndk[d, z[toks[idx]]] += 1
    return 0


# ----------------------------------------------------------------------------- LDA
@numba.njit(cache=True, nogil=True)
def _lda_scan(
    toks: np.ndarray, lab: np.ndarray, target: np.ndarray, word_ids: np.ndarray,
    token_docs: np.ndarray, cnt: np.ndarray, wc: np.ndarray, tot: np.ndarray,
    la: np.ndarray, beta: float, vbeta: float, rng: np.random.Generator,
) -> float:
    """One restricted Gibbs scan of ``toks`` between two labels (module doc, LDA): counts of
    the scanned tokens per document ``cnt`` (D, 2), per word ``wc`` (V, 2), per label
    ``tot``; ``target`` non-empty forces the labels.  Returns Σ log p(realised label)."""
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
        l0 = (math.log(cnt[d, 0] + la[0]) + math.log(wc[w, 0] + beta)
              - math.log(tot[0] + vbeta))
        l1 = (math.log(cnt[d, 1] + la[1]) + math.log(wc[w, 1] + beta)
              - math.log(tot[1] + vbeta))
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
            l0 = (math.log(cnt[d, 0] + la[0]) + math.log(wc[w, 0] + beta)
                  - math.log(tot[0] + vbeta))
            l1 = (math.log(cnt[d, 1] + la[1]) + math.log(wc[w, 1] + beta)
                  - math.log(tot[1] + vbeta))
            a, _ = _two_way(rng, l0, l1, -1)
        lab[idx] = a
        cnt[d, a] += 1
        wc[w, a] += 1
        tot[a] += 1
    none = np.empty(0, dtype=np.int64)
    for _ in range(scans):
        _lda_scan(toks, lab, none, word_ids, token_docs, cnt, wc, tot, la, beta, vbeta, rng)
    logq = _lda_scan(toks, lab, target, word_ids, token_docs, cnt, wc, tot, la, beta, vbeta,
                     rng)
    for idx in range(toks.shape[0]):
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


@numba.njit(cache=True, nogil=True)
def lda_split_merge(
    word_ids: np.ndarray, token_docs: np.ndarray, z: np.ndarray, alpha: np.ndarray,
    beta: float, vocab_size: int, cnt: np.ndarray, wc: np.ndarray, scans: int,
    rng: np.random.Generator, defect: int,
) -> int:
    """One split–merge move (module doc) for LDA (θ and φ integrated out); returns 1 if
    accepted, when ``z`` is updated in place (the caller rebuilds its counts).  ``cnt``:
    (D, 3) and ``wc``: (V, 3) int64 zeros (left zero)."""
    K = alpha.shape[0]
    if K < 2:
        return 0
    i, j, k = _choose_triple(rng, K)
    F, R = _collect(z, i, j, k)
    vbeta = vocab_size * beta
    none = np.empty(0, dtype=np.int64)
    lab_f, logq_fwd = _lda_split(F, none, word_ids, token_docs, cnt, wc,
                                 np.array([alpha[k], alpha[j]]), beta, vbeta, rng, scans)
    orig = np.empty(R.shape[0], dtype=np.int64)
    for idx in range(R.shape[0]):
        orig[idx] = 0 if z[R[idx]] == i else 1
    _, logq_rev = _lda_split(R, orig, word_ids, token_docs, cnt, wc,
                             np.array([alpha[i], alpha[j]]), beta, vbeta, rng, scans)
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
    if defect == EXACT:
        log_ratio += logq_rev - logq_fwd
    elif defect == WRONG_SIGN:
        log_ratio -= logq_rev - logq_fwd
    if log_ratio >= 0.0 or rng.random() < math.exp(log_ratio):
        for idx in range(nt):
            s = new[idx]
            z[toks[idx]] = i if s == 0 else (j if s == 1 else k)
        return 1
    return 0
