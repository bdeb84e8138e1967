"""Why LDA's split–merge move does not repair near-duplicate topics (issue 12): one stuck chain.

On ``bench_split_merge.py``'s planted corpus (topics in near-duplicate pairs), a random-start
LDA chain without moves runs SWEEPS sweeps; the script finds the fitted topic holding two
planted twins (k) and the two fitted topics sharing one planted topic (i, j), then

1. attempts the repairing move (merge j into i, split k between k and j) TRIES times with the
   kernel's own pieces, with the token proposal (``_lda_split``) and the document proposal
   (``_lda_split_docs``), and reports log p(z′)/p(z), log q_fwd, log q_rev and the
   acceptances;
2. applies an oracle version of it (the second twin's own words to j) and compares the log
   joint with the stuck state's, at once and after 100 Gibbs sweeps;
3. measures how the two stuck topics divide their planted topic: by whole documents or
   token by token (what a reverse proposal has to reproduce).

    .venv/bin/python benchmarks/diag_lda_split_merge.py [--seed 2] [--topics 12]
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_split_merge import planted_lda

from ppltopics.inference._split_merge import EXACT, _collect
from ppltopics.inference._split_merge_lda import _lda_log_ratio, _lda_split, _lda_split_docs
from ppltopics.inference.lda import LDAKernel
from ppltopics.models.lda import LDAHyper

ALPHA, BETA, SCANS = 0.2, 0.05, 3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--topics", type=int, default=12)
    ap.add_argument("--sweeps", type=int, default=200)
    ap.add_argument("--tries", type=int, default=50)
    args = ap.parse_args()
    K = args.topics
    corpus, phi = planted_lda(args.seed, K=K, docs=400)
    kernel = LDAKernel(corpus, LDAHyper(num_topics=K, alpha=ALPHA, beta=BETA))
    rng = np.random.default_rng(args.seed)
    state = kernel.init_state(rng)
    for s in range(args.sweeps):
        kernel.step(state, rng, warmup=s < args.sweeps // 2)
    est = kernel.word_topic_counts(state) + BETA
    cos = (est / np.linalg.norm(est, axis=1, keepdims=True)) @ (
        phi / np.linalg.norm(phi, axis=1, keepdims=True)).T
    best = cos.argmax(axis=1)  # planted topic nearest each fitted one
    shared = [t for t in range(K) if (best == t).sum() == 2]
    if not shared:
        raise SystemExit("this chain is not stuck (every planted topic has its own fitted one)")
    i, j = np.flatnonzero(best == shared[0])
    k = int(np.argmax(np.sort(cos, axis=1)[:, -2]))  # the fitted topic closest to two planted
    twins = np.argsort(-cos[k])[:2]
    print(f"stuck: fitted {i}, {j} share planted {shared[0]}; fitted {k} holds planted {twins}")

    z = state["z"]
    word_ids = corpus.word_ids
    docs = np.repeat(np.arange(corpus.num_docs), np.diff(corpus.doc_offsets))
    V = corpus.vocab_size
    cnt = np.zeros((corpus.num_docs, 3), np.int64)
    wc = np.zeros((V, 3), np.int64)
    none = np.empty(0, np.int64)
    alpha = np.full(K, ALPHA)
    def token_split(toks, target, la):
        return _lda_split(toks, target, word_ids, docs, cnt, wc, la, BETA, V * BETA, rng, SCANS)

    def document_split(toks, target, la):
        return _lda_split_docs(toks, target, word_ids, docs, cnt, wc, la, BETA, V * BETA, rng,
                               SCANS, EXACT)

    for name, split in (("token", token_split), ("document", document_split)):
        rows = []
        for _ in range(args.tries):
            F, R = _collect(z, i, j, k)
            lab, q_fwd = split(F, none, alpha[[k, j]])
            orig = (z[R] != i).astype(np.int64)
            toks = np.concatenate([R, F])
            old = np.concatenate([orig, np.full(F.size, 2)])
            new = np.concatenate([np.zeros(R.size, np.int64), np.where(lab == 0, 2, 1)])
            a3 = alpha[[i, j, k]]
            lr = _lda_log_ratio(toks, old, new, word_ids, docs, a3, BETA, V * BETA, cnt, wc)
            _, q_rev = split(R, orig, alpha[[i, j]])
            rows.append((lr, q_fwd, q_rev, lr + q_rev - q_fwd))
        r = np.array(rows)
        accepted = int((np.log(rng.random(len(r))) < r[:, 3]).sum())
        print(f"{name} proposal, move ({i}, {j}, {k}) x {args.tries}: accepted {accepted}; "
              f"median log p(z')/p(z) {np.median(r[:, 0]):.0f}, log q_fwd "
              f"{np.median(r[:, 1]):.0f}, log q_rev {np.median(r[:, 2]):.0f}, log ratio "
              f"{np.median(r[:, 3]):.0f} (max {r[:, 3].max():.0f})")

    def lp_after(z0: np.ndarray, sweeps: int) -> tuple[float, float]:
        g = np.random.default_rng(1)
        st = kernel.init_state(g)
        st["z"][:] = z0
        kernel.resync(st)
        lp0 = kernel.record(st)["lp"]
        lps = []
        for _ in range(sweeps):
            kernel.step(st, g, False)
            lps.append(kernel.record(st)["lp"])
        return lp0, float(np.mean(lps[-20:]))

    block = V // K
    own = np.zeros(V, bool)
    own[twins[1] * block:(twins[1] + 1) * block] = True
    oracle = z.copy()
    oracle[z == j] = i
    oracle[(z == k) & own[word_ids]] = j
    s0, s1 = lp_after(z, 100)
    o0, o1 = lp_after(oracle, 100)
    print(f"log joint: stuck {s0:.1f} (after 100 sweeps {s1:.1f}), oracle move {o0:.1f} "
          f"(after 100 sweeps {o1:.1f}): {o0 - s0:+.0f} / {o1 - s1:+.0f} nats")
    print(f"an arbitrary 2-way split of the {int(((z == i) | (z == j)).sum())} tokens of topics "
          f"{i} and {j} has probability ~2^-n; the reverse move must hit the stuck one")
    # how the twins i, j divide their planted topic: by document or token by token?
    m = (z == i) | (z == j)
    nd = np.bincount(docs[m], minlength=corpus.num_docs)
    ni = np.bincount(docs[m], weights=z[m] == i, minlength=corpus.num_docs)
    has = nd > 0
    pure = ((ni == 0) | (ni == nd))[has].mean()
    print(f"the twins divide their topic by document: {has.sum()} documents hold their "
          f"{m.sum()} tokens, {100 * pure:.0f} % of them all in one twin (mean |share of {i} - "
          f"1/2| {np.abs(ni[has] / nd[has] - 0.5).mean():.2f}); a uniform split costs "
          f"{m.sum() * np.log(2):.0f} nats token by token, {has.sum() * np.log(2):.0f} by document")


if __name__ == "__main__":
    main()
