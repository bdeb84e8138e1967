"""Collapsed Gibbs sampling for LDA with SparseLDA buckets (Yao, Mimno & McCallum, KDD 2009).

The full conditional of token ``n`` (word ``w`` in document ``d``), with the token removed::

    p(z_n = k | z_-n, w) ∝ (n_dk + α_k) (n_wk + β) / (n_k + Vβ)
                         = α_k β / (n_k + Vβ)              "s": smoothing, all k
                         + n_dk β / (n_k + Vβ)             "r": topics of the document
                         + (α_k + n_dk) n_wk / (n_k + Vβ)  "q": topics of the word

The sweep (:mod:`ppltopics.inference._lda_sweep`) splits it into the buckets "s", "r" and
"q" of SparseLDA, so a token costs O(k_d + k_w) instead of O(K), over word-topic counts stored
sparsely (Mallet's layout), or at small K (≤ ``DENSE_SWEEP_MAX_TOPICS``) forms the K terms
from a dense table; a draw's log-likelihoods and the running sums of θ̂ and φ̂ are in
:mod:`ppltopics.inference._lda_stats`.  This module holds the kernel
(:class:`LDAKernel`: state, sweeps, split–merge moves, records), Minka's α update and
``pt.fit("lda")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ppltopics._validation import check_int
from ppltopics.corpus import Corpus
from ppltopics.inference._init import check_init, init_config, initial_assignments
from ppltopics.inference._lda_stats import (
    DENSE_POINTWISE_CELLS,
    DOT_POINTWISE_MAX_TOPICS,
    POINTWISE_DOC_TOPICS,
    POINTWISE_DOT,
    POINTWISE_PACKED,
    _accumulate_phi,
    _accumulate_theta,
    _doc_topic_counts,
    _lda_stats,
)
from ppltopics.inference._lda_sweep import (
    DENSE_SWEEP_MAX_CELLS,
    DENSE_SWEEP_MAX_TOPICS,
    TOPIC_BITS,
    _blocks_to_dense,
    _dense_to_blocks,
    _sweep,
    _sweep_dense,
    _word_topic_lists,
)
from ppltopics.inference._partition import Partition
from ppltopics.inference._split_merge import EXACT, moves_due, parse_split_merge
from ppltopics.inference._split_merge_lda import (
    lda_pair_scores,
    lda_score_columns,
    lda_score_counts_blocks,
    lda_split_merge,
    lda_split_merge_defaults,
)
from ppltopics.inference.base import GibbsKernel, State, topic_size_record

__all__ = ["LDAKernel", "TOPIC_BITS", "DENSE_SWEEP_MAX_TOPICS"]

class LDAKernel(GibbsKernel):
    """Collapsed Gibbs sampler for LDA (numba): SparseLDA buckets, O(k_d + k_w) per token, or
    for K ≤ :data:`DENSE_SWEEP_MAX_TOPICS` the dense O(K) sweep, whichever is faster (the
    attribute ``dense_sweep`` says which; both are the exact sweep of the same conditional).

    Parameters
    ----------
    corpus
        The training corpus.
    hyper
        :class:`ppltopics.models.lda.LDAHyper` (``num_topics``, ``alpha``, ``beta``).
    optimize_alpha
        Update an asymmetric α by Minka's fixed point (``alpha_k ← alpha_k Σ_d [ψ(n_dk+α_k) −
        ψ(α_k)] / Σ_d [ψ(N_d+α₀) − ψ(α₀)]``) every ``optimize_interval`` warm-up sweeps; α is
        frozen after warm-up so the sampling phase targets a fixed posterior.
    split_merge
        False (default) or True / dict / :class:`~ppltopics.inference._split_merge.SplitMerge`:
        exact split–merge Metropolis–Hastings moves (Jain & Neal 2004); True means LDA's
        settings :data:`~ppltopics.inference._split_merge_lda.LDA_SPLIT_MERGE` (the document
        proposal) with a move every max(2, ⌈30/K⌉) sweeps
        (:func:`~ppltopics.inference._split_merge_lda.lda_split_merge_defaults`), which a
        dict's fields override.
    init
        The chain's start: ``"random"`` (z_n uniform), ``"lda"`` (a short LDA fit) or an
        integer array of assignments (:mod:`ppltopics.inference._init`).
    workers
        Threads per chain (default 1).  With W > 1 each sweep is the partitioned sweep of
        :mod:`ppltopics.inference._partition`: W² blocks of documents × words, W at a time,
        each worker sampling against a copy of n_k merged after every round — an
        approximation (stale n_k within a round) that is reproducible for a given W; W = 1
        is the exact serial sweep.  With a Dask client as executor the same blocks run on
        the cluster's workers (:mod:`ppltopics.inference._dask_lda`).
    """

    model_name = "lda"
    pyro_params = ("z",)
    record_dims = {"topic_share": ["topic"], "sorted_topic_share": ["rank"], "alpha": ["topic"]}
    estimate_dims = {"phi": ["topic", "word"], "theta": ["doc", "topic"], "alpha": ["topic"]}

    def __init__(
        self,
        corpus: Corpus,
        hyper: Any,
        optimize_alpha: bool = False,
        optimize_interval: int = 10,
        split_merge: Any = False, init: Any = "random", workers: int = 1,
    ) -> None:
        self.workers = check_int("workers", workers, 1)
        self.split_merge = parse_split_merge(split_merge,
                                             lda_split_merge_defaults(hyper.num_topics))
        self._sm_defect = EXACT  # tests inject defects here
        self._score_columns: np.ndarray | None = None  # the informed LDA move's scored words
        hyper.validate(num_tokens=corpus.num_tokens, vocab_size=corpus.vocab_size)
        if hyper.num_topics >= 1 << TOPIC_BITS:
            raise ValueError(f"num_topics must be < {1 << TOPIC_BITS}")
        self.corpus = corpus
        self.hyper = hyper
        self.num_topics = int(hyper.num_topics)
        self.optimize_alpha = bool(optimize_alpha)
        self.optimize_interval = int(optimize_interval)
        self._sweeps = 0
        self.init = check_init(init, model="LDA", num_tokens=corpus.num_tokens,
                               num_topics=self.num_topics, has_vectors=False)
        self._partition = Partition(corpus.word_ids, corpus.doc_offsets, corpus.vocab_size,
                                    self.workers)
        #: sweep on a dense (V, K) table (:func:`_sweep_dense`) rather than the buckets
        self._every_word = np.arange(corpus.vocab_size)  # the dense sweep's word list
        self.dense_sweep = (self.num_topics <= DENSE_SWEEP_MAX_TOPICS
                            and corpus.vocab_size * self.num_topics <= DENSE_SWEEP_MAX_CELLS)

    @property
    def num_tokens(self) -> int:
        return self.corpus.num_tokens

    def config(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "num_topics": self.num_topics,
            "alpha": np.asarray(self.hyper.alpha_vector).tolist(),
            "beta": float(self.hyper.beta),
            "optimize_alpha": self.optimize_alpha,
            "optimize_interval": self.optimize_interval,
            **({} if self.split_merge is None else {"split_merge": self.split_merge.config()}),
            **init_config(self.init),
            **({} if self.workers == 1 else {"workers": self.workers}),
        }

    # -------------------------------------------------------------- state
    def init_state(self, rng: np.random.Generator) -> State:
        """A start drawn with ``rng`` as ``init`` says (:mod:`ppltopics.inference._init`)."""
        if isinstance(self.init, str) and self.init == "random":
            z = rng.integers(0, self.num_topics, size=self.corpus.num_tokens).astype(np.int32)
        else:
            z = initial_assignments(self.init, self.corpus, self.num_topics, rng,
                                    self.hyper.alpha_vector).astype(np.int32)
        state: State = {
            "z": z,
            "alpha": np.array(self.hyper.alpha_vector, dtype=np.float64),
            "sweeps": np.zeros(1, dtype=np.int64),
        }
        if self.split_merge is not None:
            state["sm_accepted"] = np.zeros(1, dtype=np.int64)
            state["sm_proposed"] = np.zeros(1, dtype=np.int64)
        self.resync(state)
        return state

    def split_merge_moves(self, state: State, rng: np.random.Generator) -> None:
        """The configured number of split–merge moves (no-op when they are off); counts of
        this step's proposals and acceptances go to ``sm_proposed``/``sm_accepted``; an
        accepted move rebuilds the word-topic blocks from ``z``, from which the merge scores
        are read."""
        sm = self.split_merge
        if not moves_due(sm, state):
            return
        c = self.corpus
        cnt = np.zeros((c.num_docs, 3), dtype=np.int64)
        wc = np.zeros((c.vocab_size, 3), dtype=np.int64)
        informed = sm.uniform_share < 1.0
        if informed and self._score_columns is None:
            self._score_columns = lda_score_columns(c.word_ids, c.vocab_size)
        cols = self._score_columns if informed else np.zeros(0, dtype=np.int64)
        nkw = scores = np.zeros((0, 0))
        sizes = np.zeros(0)
        acc = 0
        for _ in range(sm.moves):
            if informed and nkw.shape[0] == 0:  # the merge scores of the current z
                nkw = lda_score_counts_blocks(state["wt_offsets"], state["wt_packed"],
                                              state["wt_nnz"], cols, self.num_topics,
                                              TOPIC_BITS)
                sizes = state["n_k"].astype(np.float64)
                scores = lda_pair_scores(nkw)
            a = lda_split_merge(c.word_ids, c.token_docs, state["z"], state["alpha"],
                                float(self.hyper.beta), c.vocab_size, cnt, wc, sm.scans, rng,
                                self._sm_defect, sm.doc_share, nkw, sizes, cols, scores,
                                sm.uniform_share, sm.resplit_share)
            if a:  # the blocks follow z, and the next move scores the new z
                self.resync(state)
                nkw = np.zeros((0, 0))
            acc += a
        state["sm_accepted"][0] = acc
        state["sm_proposed"][0] = sm.moves

    def resync(self, state: State) -> None:
        """Rebuild the word-topic blocks and topic totals from ``z``."""
        z = state["z"].astype(np.int32, copy=False)
        state["z"] = z
        off, packed, nnz = _word_topic_lists(
            self.corpus.word_ids, z, self.corpus.vocab_size, self.num_topics
        )
        state["wt_offsets"], state["wt_packed"], state["wt_nnz"] = off, packed, nnz
        state["n_k"] = np.bincount(z, minlength=self.num_topics).astype(np.int64)

    def step(self, state: State, rng: np.random.Generator, warmup: bool) -> None:
        c = self.corpus
        beta = float(self.hyper.beta)
        blocks = (state["wt_offsets"], state["wt_packed"], state["wt_nnz"])
        if self.dense_sweep:
            # a table per step, not per kernel: chains on threads share the kernel
            nwk = np.zeros((c.vocab_size, self.num_topics), dtype=self.dense_dtype)
            _blocks_to_dense(*blocks, nwk, self._every_word)

        def block(doc_lo: int, doc_hi: int, chunk: int, n_k: np.ndarray,
                  block_rng: np.random.Generator) -> None:
            if self.dense_sweep:
                _sweep_dense(c.word_ids, c.doc_offsets, state["z"], nwk, n_k, state["alpha"],
                             beta, block_rng, doc_lo, doc_hi, *self._partition.tokens[chunk])
            else:
                _sweep(c.word_ids, c.doc_offsets, state["z"], *blocks, n_k, state["alpha"],
                       beta, block_rng, doc_lo, doc_hi, *self._partition.tokens[chunk])

        if self.workers == 1:
            block(0, c.num_docs, 0, state["n_k"], rng)
        else:
            self._partition.sweep(state["n_k"], rng, block)
        if self.dense_sweep:
            _dense_to_blocks(nwk, *blocks, self._every_word)
        self.split_merge_moves(state, rng)
        state["sweeps"][0] += 1
        if warmup and self.optimize_alpha and state["sweeps"][0] % self.optimize_interval == 0:
            state["alpha"][:] = minka_alpha(self.doc_topic_counts(state), state["alpha"])

    # -------------------------------------------------------------- read-outs
    def doc_topic_counts(self, state: State) -> np.ndarray:
        """Dense (D, K) document-topic counts n_dk from ``z``."""
        return _doc_topic_counts(self.corpus.doc_offsets, state["z"], self.num_topics)

    def word_topic_counts(self, state: State) -> np.ndarray:
        """Dense (K, V) word-topic counts n_kw (for tests and small corpora)."""
        out = np.zeros((self.num_topics, self.corpus.vocab_size), dtype=np.int64)
        np.add.at(out, (state["z"], self.corpus.word_ids), 1)
        return out

    @property
    def pointwise_how(self) -> int:
        """The form of a token's mixture sum in :func:`_lda_stats` for this corpus and K."""
        c = self.corpus
        if c.vocab_size * self.num_topics > DENSE_POINTWISE_CELLS or c.num_tokens >= 2**31:
            return POINTWISE_PACKED
        return POINTWISE_DOT if self.num_topics <= DOT_POINTWISE_MAX_TOPICS \
            else POINTWISE_DOC_TOPICS

    @property
    def dense_dtype(self) -> type:
        """Integer type of the dense sweep's (V, K) table."""
        return np.int32 if self.corpus.num_tokens < 2**31 else np.int64

    def record(self, state: State) -> dict[str, Any]:
        """``lp``: the collapsed log p(w, z | α, β) of :func:`ppltopics.models.lda.log_joint`
        at the current α (``state["alpha"]``: the hyperparameter's α, or with
        ``optimize_alpha`` the value Minka's updates reached); ``log_likelihood``: log p(w | z, β);
        topic sizes; ``pointwise`` per-document log-likelihoods under the point estimates."""
        lp, loglik, pointwise = self._stats(*self._stats_args(state))
        return {"lp": lp, "log_likelihood": loglik, **self._record(state),
                "pointwise": pointwise}

    def record_later(self, state: State, submit: Any) -> dict[str, Any]:
        """:meth:`record` with lp, the log-likelihood and ``pointwise`` (a K-term sum per
        token: most of a record's cost) computed on copies of the counts by ``submit``,
        beside the next sweep."""
        copies = tuple(a.copy() for a in self._stats_args(state))

        def later() -> dict[str, Any]:
            lp, loglik, pointwise = self._stats(*copies)
            return {"lp": lp, "log_likelihood": loglik, "pointwise": pointwise}

        return {**self._record(state), "later": submit(later)}

    @staticmethod
    def _stats_args(state: State) -> tuple[np.ndarray, ...]:
        return tuple(state[k] for k in ("z", "wt_offsets", "wt_packed", "wt_nnz", "n_k",
                                        "alpha"))

    def _stats(self, z: np.ndarray, wt_offsets: np.ndarray, wt_packed: np.ndarray,
               wt_nnz: np.ndarray, n_k: np.ndarray, alpha: np.ndarray
               ) -> tuple[float, float, np.ndarray]:
        """:func:`_lda_stats` of these counts: (lp, log-likelihood, pointwise)."""
        c = self.corpus
        pointwise = np.empty(c.num_docs)
        how = self.pointwise_how
        nwk = np.empty((0 if how == POINTWISE_PACKED else c.vocab_size, self.num_topics),
                       dtype=np.int32)
        lp, loglik = _lda_stats(c.word_ids, c.doc_offsets, z, wt_offsets, wt_packed, wt_nnz,
                                n_k, alpha, float(self.hyper.beta), pointwise, nwk, how)
        return lp, loglik, pointwise

    def _record(self, state: State) -> dict[str, Any]:
        """What a record holds besides lp, the log-likelihood and pointwise."""
        out: dict[str, Any] = topic_size_record(state["n_k"], self.corpus.num_tokens)
        if self.optimize_alpha:
            out["alpha"] = state["alpha"].copy()
        if self.split_merge is not None:
            out["split_merge_accept"] = int(state["sm_accepted"][0])
            out["split_merge_proposed"] = int(state["sm_proposed"][0])
        return out

    def accumulate(self, state: State, acc: dict[str, np.ndarray]) -> None:
        """Running sums of φ̂_kw = (n_kw+β)/(n_k+Vβ) and θ̂_dk = (n_dk+α_k)/(N_d+α₀)."""
        c = self.corpus
        beta = float(self.hyper.beta)
        inv = 1.0 / (state["n_k"] + c.vocab_size * beta)
        if not acc:
            acc["phi"] = np.zeros((self.num_topics, c.vocab_size))
            acc["theta"] = np.zeros((c.num_docs, self.num_topics))
            acc["alpha"] = np.zeros(self.num_topics)
            acc["count"] = np.zeros(1)
        _accumulate_phi(state["wt_offsets"], state["wt_packed"], state["wt_nnz"], inv, acc["phi"])
        acc["phi"] += (beta * inv)[:, None]
        alpha = state["alpha"]
        _accumulate_theta(c.doc_offsets, state["z"], alpha, acc["theta"])
        acc["alpha"] += alpha
        acc["count"] += 1

    def finalize(self, acc: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Posterior means of φ, θ and α from the running sums of one chain."""
        n = acc["count"][0]
        return {"phi": acc["phi"] / n, "theta": acc["theta"] / n, "alpha": acc["alpha"] / n}


def minka_alpha(ndk: np.ndarray, alpha: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Minka's fixed-point update of an asymmetric Dirichlet α from counts n_dk (D, K).

    α_k ← α_k · Σ_d [ψ(n_dk + α_k) − ψ(α_k)] / Σ_d [ψ(N_d + α₀) − ψ(α₀)]   (Minka 2000, eq. 55)
    """
    from scipy.special import digamma

    alpha = np.asarray(alpha, dtype=np.float64).copy()
    nd = ndk.sum(axis=1)
    for _ in range(iterations):
        a0 = alpha.sum()
        num = (digamma(ndk + alpha) - digamma(alpha)).sum(axis=0)
        den = (digamma(nd + a0) - digamma(a0)).sum()
        alpha = np.maximum(alpha * num / den, 1e-6)
    return alpha


def fit_model(
    corpus: Corpus, vectors: Any = None, num_topics: int = 20, spec: Any = None,
    alpha: Any = 0.1, beta: float = 0.01, optimize_alpha: bool = False,
    optimize_interval: int = 10, split_merge: Any = False, init: Any = "random",
    workers: int = 1,
) -> Any:
    """``pt.fit("lda", ...)``: run the chains and build an :class:`LDAPosterior`.

    ``init``: ``"random"``, ``"lda"`` or an integer array of assignments (``"kmeans"`` needs
    word vectors, which LDA has none of); :mod:`ppltopics.inference._init`.  Besides the
    pooled estimates the posterior keeps every chain's posterior-mean φ (relabelled onto
    chain 0) as ``estimates["chain_phi"]`` (chains, K, V') in float32 over the ``V'`` most
    frequent words ``estimates["chain_phi_words"]`` (all words unless chains·K·V exceeds
    :data:`CHAIN_PHI_CELLS`), which :func:`ppltopics.diagnostics.mode_report` compares.
    """
    from ppltopics.inference.runner import _is_dask_client, run_chains
    from ppltopics.models.lda import LDAHyper
    from ppltopics.posteriors import LDAPosterior

    if vectors is not None:
        raise TypeError("LDA is a discrete model and takes no word vectors")
    if corpus.num_docs < 2:
        raise ValueError("LDA needs at least 2 documents (a corpus of one document cannot "
                         "separate topics from its proportions)")
    hyper = LDAHyper(num_topics=num_topics, alpha=alpha, beta=beta)
    kernel = LDAKernel(corpus, hyper, optimize_alpha=optimize_alpha,
                       optimize_interval=optimize_interval, split_merge=split_merge, init=init,
                       workers=workers)
    settings = {**kernel.config(), **spec.fingerprint(), "num_tokens": corpus.num_tokens}
    if kernel.workers > 1 and _is_dask_client(spec.executor):
        from ppltopics.inference._dask_lda import run_dask_lda

        results = run_dask_lda(kernel, spec, spec.executor)
        settings.update(dask_recoveries=[r.extra["recoveries"] for r in results],
                        dask_bytes_per_sweep=[r.extra["bytes_per_sweep"] for r in results])
    else:
        results = run_chains(kernel, spec)
    post = LDAPosterior.from_chains(corpus, kernel, results, settings)
    post.estimates.update(chain_topics(kernel, results, post.settings["relabel_permutations"]))
    return post


#: most cells (chains × topics × words) of the per-chain φ a fitted LDA posterior keeps
CHAIN_PHI_CELLS = 20_000_000


def chain_topics(kernel: LDAKernel, results: Any, perms: Any) -> dict[str, np.ndarray]:
    """Every chain's posterior-mean φ (relabelled by ``perms``), float32, over the most
    frequent words that keep chains·K·V' ≤ :data:`CHAIN_PHI_CELLS`: ``chain_phi``
    (chains, K, V') and ``chain_phi_words`` (V',) word ids."""
    V = kernel.corpus.vocab_size
    keep = max(1, min(V, CHAIN_PHI_CELLS // max(1, len(results) * kernel.num_topics)))
    if keep < V:
        counts = kernel.corpus.word_counts()
        words = np.sort(np.argsort(-counts, kind="stable")[:keep]).astype(np.int64)
    else:
        words = np.arange(V, dtype=np.int64)
    phis = []
    for r, perm in zip(results, perms, strict=True):
        phi = kernel.finalize(r.acc)["phi"]
        if perm is not None:
            phi = phi[np.asarray(perm)]
        phis.append(phi[:, words].astype(np.float32))
    return {"chain_phi": np.stack(phis), "chain_phi_words": words}
