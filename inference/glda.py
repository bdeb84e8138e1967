"""Collapsed Gibbs sampling for Gaussian LDA (Das, Zaheer & Dyer, ACL 2015).

Topics are Gaussians with a Normal-inverse-Wishart prior, integrated out; every token's word
vector x_n is resampled from

    p(z_n = k | z_-n, x) ∝ (n_dk + α_k) · t_{ν_k−M+1}(x_n | μ_k, Ψ_k(κ_k+1)/(κ_k(ν_k−M+1)))

with the NIW posterior of the vectors in topic k *without token n* (Murphy 2007).  The token's
own topic is scored by the leave-one-out predictive (determinant lemma + Sherman-Morrison on
the maintained factor, :func:`~ppltopics.inference._linalg.predictive_logpdf_loo`), which
equals remove-then-score; the rank-one downdate/update is paid only when the token moves.
Two kernels with the same stationary law:

``method="exact"``
    every topic's predictive, O(K·M²) per token, as a triangular matrix-vector product with
    the inverse L_k⁻¹ of its Cholesky factor (kept beside L_k during a sweep and carried
    through the rank-one changes by an O(M²) product-form update, :func:`exact_sweep`): a
    product vectorises, a triangular solve does not (≈ 2.3× the solve-based sweep at K=40,
    M=50).
``method="fast"``
    Metropolis-Hastings with the proposal q(k) ∝ (n_dk + α_k) f̃_w(k), where f̃_w is a *stale*
    copy of word w's K predictive densities: the document part Σ_{k∈d} n_dk f̃_w(k) is walked
    over the document's topics and the α part drawn in O(1) from word w's Vose alias table
    (Li, Ahmed, Ravi & Smola, KDD 2014).  The acceptance ratio
    f_new(x)/f_old(x) · f̃_w(old)/f̃_w(new) needs one fresh predictive per step, O(M²); the
    (n_dk + α_k) factors cancel.  The accepted state is kept.

    The tables are *adapted* during warm-up only (rebuilt from the chain's state every
    ``refresh_every`` warm-up sweeps) and frozen while sampling.  A table rebuilt from the
    current state makes token n's proposal depend on z_n itself, which biases the chain
    (the Geweke and enumeration tests measure it); a frozen table is a constant, so every MH
    step is exact.  Before any adaptation the tables hold the prior predictive, equal for all
    topics, i.e. the proposal (n_dk + α_k).

Word view (``beta=``, ``vector_weight=`` λ; :mod:`ppltopics.models.glda`): every topic's
score becomes λ·log t_k(x_n) + log (n_kw + β)/(n_k + Vβ), the word counts without token n
(:class:`WordView`).  Both kernels take it unchanged otherwise (the fast path's stale tables
hold the same sum); with no word view and λ = 1 the sweeps are bit for bit plain GLDA's.

Annealed warm-up (``anneal=`` A sweeps): the first A warm-up sweeps (and their split–merge
moves) target the vectors' density to the power λ·τ_s with τ_s = τ_0^{1 − s/A}, τ_0 =
:data:`ANNEAL_START`, rising geometrically to 1: a flattened likelihood lets the topics
separate gradually, as in deterministic annealing (Rose 1998), instead of locking in the
first clusters a random start forms.  Only warm-up is tempered: from sweep A on, and in every
sweep after warm-up, the kernel is the exact one above, so the draws kept are unchanged in law.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ppltopics._validation import check_int, positive_float
from ppltopics.corpus import Corpus
from ppltopics.inference._glda_sweep import (
    _fast_sweep,
    _pointwise,
    _refresh_alias,
    exact_sweep,
    word_topic_logdensity,
)
from ppltopics.inference._init import check_init, init_config, initial_assignments
from ppltopics.inference._linalg import (
    NIWPrior,
    NIWStats,
    make_prior,
    niw_refactor,
    stats_from_assignments,
    topic_log_marginal,
)
from ppltopics.inference._partition import DocBlocks, run_split
from ppltopics.inference._split_merge import EXACT, moves_due, parse_split_merge
from ppltopics.inference._split_merge_gauss import gaussian_split_merge
from ppltopics.inference._word_view import NO_VIEW, WordView, log_phi
from ppltopics.inference.base import GibbsKernel, State, topic_size_record

__all__ = ["GLDAKernel", "fit_model", "word_topic_logdensity"]

_STATS = ("count", "sums", "scatter", "chol", "logdet")
#: τ_0, the vector density's power at the first annealed sweep (``anneal=``)
ANNEAL_START = 0.1
_NO_WEIGHTS = np.empty((0, 0))
_NO_INFO = np.empty(0)


def _stats(state: State) -> NIWStats:
    return NIWStats(*(state[k] for k in _STATS))


# ----------------------------------------------------------------------------- the kernel
class GLDAKernel(GibbsKernel):
    """Collapsed Gibbs for Gaussian LDA over a (V, M) word-vector table (float64).

    Parameters
    ----------
    corpus
        Training corpus; ``table[w]`` is the vector of ``corpus.vocab[w]``.
    table
        (V, M) word vectors aligned to ``corpus.vocab``.
    num_topics, alpha
        K and the Dirichlet prior on θ_d (scalar or length-K).
    mu0, kappa0, nu0, psi0
        NIW prior of every topic (validated: κ0 > 0, ν0 > M − 1, Ψ0 SPD).
    method
        ``"exact"`` (O(K·M²) per token) or ``"fast"`` (alias tables + MH, amortised O(M²)).
    mh_steps, refresh_every
        Fast path: MH steps per token; sweeps between refreshes of the stale tables.
    split_merge
        False (default) or True / dict / :class:`~ppltopics.inference._split_merge.SplitMerge`:
        exact split–merge Metropolis–Hastings moves after every sweep (Jain & Neal 2004),
        which let a chain leave modes where two clusters share a topic.
    init
        The chain's start: ``"random"``, ``"kmeans"`` (weighted k-means++ over the word
        vectors), ``"lda"`` (a short LDA fit) or an integer array of assignments
        (:mod:`ppltopics.inference._init`).
    workers
        Threads per chain (default 1, the exact serial sweep).  With W > 1 the documents are
        cut into W blocks of equal token mass, each swept by its own thread against its own
        copy of the topics' statistics (n_k, Σx, Σxxᵀ), whose changes are merged and the
        factors refreshed after the sweep (:class:`~ppltopics.inference._partition.DocBlocks`):
        an approximation (other blocks' moves are unseen within a sweep), reproducible for a
        given W.  The chain's first ``serial_start`` sweeps (GLDA 2, CGTM 5) are serial
        (:meth:`parallel_now`).
    beta, vector_weight
        The word view (module doc): ``beta`` > 0 adds the Dirichlet–multinomial word view
        φ_k ~ Dirichlet(β) (``None``, the default: vectors only, Das et al.'s GLDA), and
        ``vector_weight`` λ > 0 weighs the vector view's log density (default 1).
    anneal
        Warm-up sweeps A ≥ 0 whose vector density is tempered by τ_s = τ_0^{1 − s/A}
        (module doc; 0, the default: none).  Warm-up only: the kept draws are exact.
    """

    model_name = "glda"
    pyro_params = ("z",)
    #: sweeps made serially before the document blocks take over (:meth:`parallel_now`)
    serial_start = 2
    record_dims = {"topic_share": ["topic"], "sorted_topic_share": ["rank"],
                   "topic_mean": ["topic", "dim"]}
    estimate_dims = {"topic_mean": ["topic", "dim"], "topic_cov": ["topic", "dim", "dim2"],
                     "theta": ["doc", "topic"], "word_topic": ["topic", "word"],
                     "alpha": ["topic"]}

    def __init__(
        self, corpus: Corpus, table: np.ndarray, num_topics: int, alpha: Any,
        mu0: np.ndarray, kappa0: float, nu0: float, psi0: np.ndarray, method: str = "exact",
        mh_steps: int = 2, refresh_every: int = 1, split_merge: Any = False, init: Any = "random",
        workers: int = 1, beta: float | None = None, vector_weight: float = 1.0,
        anneal: int = 0,
    ) -> None:
        self.workers = check_int("workers", workers, 1)
        self.anneal = check_int("anneal", anneal, 0)
        self.beta = None if beta is None else positive_float("beta", beta)
        self.vector_weight = positive_float("vector_weight", vector_weight)
        self.split_merge = parse_split_merge(split_merge)
        self._sm_defect = EXACT  # tests inject defects here
        table = np.ascontiguousarray(table, dtype=np.float64)
        if table.ndim != 2 or table.shape[0] != corpus.vocab_size:
            raise ValueError(f"the vector table must have one row per vocabulary word "
                             f"({corpus.vocab_size}), got shape {table.shape}")
        if not np.all(np.isfinite(table)):
            raise ValueError("word vectors contain NaN or inf")
        if isinstance(num_topics, bool) or not isinstance(num_topics, int | np.integer) \
                or num_topics < 1:
            raise ValueError(f"num_topics must be an integer >= 1, got {num_topics!r}")
        if num_topics > corpus.num_tokens:
            raise ValueError(f"num_topics={num_topics} is larger than the data "
                             f"({corpus.num_tokens} tokens)")
        alpha_v = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (num_topics,)).copy()
        if not np.all(np.isfinite(alpha_v)) or np.any(alpha_v <= 0):
            raise ValueError(f"alpha must be finite and > 0, got {alpha!r}")
        if method not in ("exact", "fast"):
            raise ValueError(f"method must be 'exact' or 'fast', got {method!r}")
        if mh_steps < 1 or refresh_every < 1:
            raise ValueError("mh_steps and refresh_every must be >= 1")
        if np.ndim(psi0) == 2 and np.shape(psi0) != (table.shape[1], table.shape[1]) or \
                np.ndim(mu0) == 1 and np.shape(mu0) != (table.shape[1],):
            raise ValueError(f"prior dimension does not match the vectors' dimension "
                             f"M={table.shape[1]}")
        self.prior = make_prior(mu0, kappa0, nu0, psi0)
        self.corpus = corpus
        self.table = table
        self.num_topics = int(num_topics)
        self.alpha = alpha_v
        self.method = method
        self.mh_steps = int(mh_steps)
        self.refresh_every = int(refresh_every)
        self._words = np.unique(corpus.word_ids).astype(np.int64)
        self._doc_blocks = DocBlocks(corpus.doc_offsets, self.workers)
        self.init = check_init(init, model=self.model_name.upper(),
                               num_tokens=corpus.num_tokens, num_topics=self.num_topics,
                               has_vectors=True)

    @property
    def num_tokens(self) -> int:
        return self.corpus.num_tokens

    @property
    def reweighed(self) -> bool:
        """True when the target is not plain GLDA's: a word view or λ ≠ 1."""
        return self.beta is not None or self.vector_weight != 1.0

    def weight(self, state: State, warmup: bool = False) -> float:
        """The vector view's weight in this sweep: λ·τ_s in the first ``anneal`` warm-up
        sweeps (τ_s = τ_0^{1 − s/A}, s the sweeps made), else λ."""
        s = int(state["sweeps"][0])
        if warmup and s < self.anneal:
            return self.vector_weight * ANNEAL_START ** (1.0 - s / self.anneal)
        return self.vector_weight

    def view(self, state: State, warmup: bool = False) -> WordView:
        """The :class:`WordView` of this sweep (:data:`NO_VIEW` for plain GLDA, untempered)."""
        weight = self.weight(state, warmup)
        if self.beta is None:
            return NO_VIEW if weight == 1.0 else WordView(NO_VIEW.nkw, NO_VIEW.nk, 0.0, weight)
        return WordView(state["nkw"], state["nk"], self.beta, weight)

    def set_data(self, data: np.ndarray) -> None:
        """Replace the word-vector table (same shape; Geweke's successive-conditional chain)."""
        data = np.ascontiguousarray(data, dtype=np.float64)
        if data.shape != self.table.shape:
            raise ValueError(f"expected a table of shape {self.table.shape}, got {data.shape}")
        self.table = data
        self._words = np.unique(self.corpus.word_ids).astype(np.int64)

    def config(self) -> dict[str, Any]:
        p = self.prior
        return {"model": self.model_name, "num_topics": self.num_topics,
                "alpha": self.alpha.tolist(), "kappa0": p.kappa0, "nu0": p.nu0,
                "mu0": p.mu0.tolist(), "psi0": p.psi0.tolist(), "method": self.method,
                "mh_steps": self.mh_steps, "refresh_every": self.refresh_every,
                "dim": int(self.table.shape[1]), **self._split_merge_config(),
                **({} if self.beta is None else {"beta": self.beta}),
                **({} if self.vector_weight == 1.0 else {"vector_weight": self.vector_weight}),
                **({"anneal": self.anneal} if self.anneal else {}),
                **init_config(self.init),
                **({} if self.workers == 1 else {"workers": self.workers})}

    def _init_alpha(self) -> np.ndarray:
        """α of the LDA that ``init="lda"`` runs."""
        return self.alpha

    def _split_merge_config(self) -> dict[str, Any]:
        sm = self.split_merge
        return {} if sm is None else {"split_merge": sm.config()}

    # -------------------------------------------------------------- state
    def init_state(self, rng: np.random.Generator) -> State:
        """A start drawn with ``rng`` as ``init`` says (:mod:`ppltopics.inference._init`)."""
        if isinstance(self.init, str) and self.init == "random":
            z = rng.integers(0, self.num_topics, size=self.num_tokens).astype(np.int64)
        else:
            z = initial_assignments(self.init, self.corpus, self.num_topics, rng,
                                    self._init_alpha(), table=self.table)
        state: State = {"z": z, "sweeps": np.zeros(1, dtype=np.int64),
                        "accepted": np.zeros(1, dtype=np.int64),
                        "proposed": np.zeros(1, dtype=np.int64),
                        "refactored": np.zeros(1, dtype=np.int64)}
        if self.split_merge is not None:
            state["sm_accepted"] = np.zeros(1, dtype=np.int64)
            state["sm_proposed"] = np.zeros(1, dtype=np.int64)
        self.resync(state)
        return state

    def split_merge_moves(self, state: State, rng: np.random.Generator,
                          eta: np.ndarray = _NO_WEIGHTS, eta_prior: NIWPrior | None = None,
                          warmup: bool = False, alpha: np.ndarray | None = None,
                          rounds: int = 1) -> None:
        """``rounds`` times the configured number of split–merge moves (no-op when they are
        off); counts of this step's proposals and acceptances go to ``sm_proposed``/
        ``sm_accepted``.  CGTM passes ``eta`` (moved jointly with z, in place) and its NIW
        prior ``eta_prior``, or in its annealed warm-up the Dirichlet ``alpha`` (default: the
        kernel's α) and its ``ANNEAL_MOVE_ROUNDS``; ``warmup``: the sweep's target is the
        annealed one (:meth:`weight`)."""
        sm = self.split_merge
        if not moves_due(sm, state):
            return
        from ppltopics.inference._linalg import new_stats

        c = self.corpus
        stats = _stats(state)
        ws = new_stats(7, self.prior)
        cnt = np.zeros((c.num_docs, 2), dtype=np.int64)
        order = self.label_order(state)
        before = None if order is None else self.topic_means(state)[order]
        acc = 0
        alpha = self.alpha if alpha is None else alpha
        eta_prior = self.prior if eta_prior is None else eta_prior
        for _ in range(sm.moves * rounds):
            acc += gaussian_split_merge(
                c.word_ids, c.token_docs, self.table, state["z"], state["ndk"], alpha, eta,
                eta_prior, stats, self.prior, ws, cnt, sm.scans, rng, self._sm_defect,
                float(sm.uniform_share), _NO_INFO, float(sm.soft_share), float(sm.soft_beta),
                float(sm.resplit_share), self.view(state, warmup))
        state["sm_accepted"][0] = acc
        state["sm_proposed"][0] = sm.moves * rounds
        if acc and before is not None:
            order[:] = _match_labels(before, self.topic_means(state))

    def label_order(self, state: State) -> np.ndarray | None:
        """The reported topics' internal labels (reported topic r is internal topic
        ``order[r]``), kept in ``state["label_order"]`` when split–merge moves run and α is
        symmetric; else None (reported = internal).

        A move that re-splits two topics can hand their halves back with the labels
        exchanged — a symmetry of the posterior, so accepted like any other move — and a
        chain's labels then switch between draws, which blurs every average over draws.
        After each step with an accepted move the reported labels are matched to the
        previous step's topics by their means (Hungarian matching, as
        :func:`ppltopics.diagnostics.relabel` matches chains), so records and posterior
        means follow topics, not labels.  The sampler's state (z, counts) is never touched:
        this is bookkeeping of what is reported, and the chain stays exact."""
        if self.split_merge is None or not np.all(self.alpha == self.alpha[0]):
            return None
        if "label_order" not in state:
            state["label_order"] = np.arange(self.num_topics, dtype=np.int64)
        return state["label_order"]

    def resync(self, state: State) -> None:
        """Rebuild counts and NIW statistics from ``z`` (O(N·M² + K·M³))."""
        c = self.corpus
        z = state["z"].astype(np.int64)
        state["z"] = z
        ndk = np.zeros((c.num_docs, self.num_topics), dtype=np.int64)
        np.add.at(ndk, (c.token_docs, z), 1)
        state["ndk"] = ndk
        stats = stats_from_assignments(self.table[c.word_ids], z, self.num_topics, self.prior)
        for name, arr in zip(_STATS, stats, strict=True):
            state[name] = arr
        if self.beta is not None:
            state["nkw"] = self._word_counts(z)
            state["nk"] = state["nkw"].sum(axis=0)
        if self.method == "fast":
            V, K = c.vocab_size, self.num_topics
            state["scaled"] = np.zeros((V, K))
            state["log_scaled"] = np.zeros((V, K))
            state["alias_prob"] = np.zeros((V, K))
            state["alias_idx"] = np.zeros((V, K), dtype=np.int64)
            state["alias_total"] = np.zeros(V)
            self.refresh_proposal(state, z=np.empty(0, dtype=np.int64))

    def _word_counts(self, z: np.ndarray) -> np.ndarray:
        """(V, K) counts n_kw of the assignments ``z`` (all zero for an empty ``z``)."""
        nkw = np.zeros((self.corpus.vocab_size, self.num_topics), dtype=np.int64)
        if z.size:
            np.add.at(nkw, (self.corpus.word_ids, z), 1)
        return nkw

    def refresh_proposal(self, state: State, z: np.ndarray | None = None,
                         weight: float | None = None) -> None:
        """Rebuild the fast path's stale densities and alias tables from the topics that the
        assignments ``z`` define (default: the state's own; an empty ``z``: the prior), the
        vector densities weighed by ``weight`` (default λ).

        Rebuilding from the state's own z is an adaptation: the runner does it in warm-up
        only.  Tests build tables from an independent z, which keeps every step exact.
        """
        if z is None:
            stats = _stats(state)
            nkw = state.get("nkw")
        else:
            z = np.asarray(z, dtype=np.int64)
            rows = self.corpus.word_ids if z.size else np.empty(0, dtype=np.int64)
            stats = stats_from_assignments(self.table[rows], z, self.num_topics, self.prior)
            nkw = self._word_counts(z) if self.beta is not None else None
        log_scaled = state["log_scaled"]
        words = self._words
        log_scaled[words] = word_topic_logdensity(self.table[words], stats, self.prior,
                                                  self.workers)
        weight = self.vector_weight if weight is None else weight
        if weight != 1.0 or self.beta is not None:
            log_scaled[words] *= weight
            if self.beta is not None:
                log_scaled[words] += log_phi(nkw, self.beta)[words]
        run_split(words.size, self.workers, lambda lo, hi: _refresh_alias(
            log_scaled, state["scaled"], self.alpha, state["alias_prob"], state["alias_idx"],
            state["alias_total"], words[lo:hi]))

    def step(self, state: State, rng: np.random.Generator, warmup: bool) -> None:
        c = self.corpus
        if self.method == "fast" and warmup and state["sweeps"][0] % self.refresh_every == 0:
            self.refresh_proposal(state, weight=self.weight(state, warmup))

        def block(doc_lo: int, doc_hi: int, stats: NIWStats, view: WordView,
                  block_rng: np.random.Generator) -> tuple[int, int]:
            if self.method == "exact":
                return exact_sweep(c.word_ids, c.doc_offsets, self.table, state["z"],
                                   state["ndk"], self.alpha, stats, self.prior, block_rng,
                                   _NO_WEIGHTS, doc_lo, doc_hi, view), 0
            return _fast_sweep(
                c.word_ids, c.doc_offsets, self.table, state["z"], state["ndk"], self.alpha,
                stats, self.prior, state["scaled"], state["log_scaled"], state["alias_prob"],
                state["alias_idx"], state["alias_total"], self.mh_steps, block_rng,
                doc_lo, doc_hi, view)

        if not self.parallel_now(state):
            counts = [block(0, c.num_docs, _stats(state), self.view(state, warmup), rng)]
        else:
            counts = self._parallel_sweep(state, rng, block, warmup)
        if self.method == "exact":
            state["refactored"][0] += sum(a for a, _ in counts)
        else:
            state["accepted"][0] += sum(a for a, _ in counts)
            state["proposed"][0] += sum(b for _, b in counts)
        self.split_merge_moves(state, rng, warmup=warmup)
        state["sweeps"][0] += 1
        if state["sweeps"][0] % 50 == 0:  # clear rounding drift of the factors
            stats = _stats(state)
            for k in range(self.num_topics):
                niw_refactor(k, stats, self.prior)

    def parallel_now(self, state: State) -> bool:
        """Whether this sweep runs on the W document blocks: W > 1 and the chain has made its
        first :attr:`serial_start` sweeps.  Those are serial because blocks that start from
        the same random topics break their symmetry independently — each block forms its
        own clusters under the same labels, merged into mixtures that the chain then keeps:
        on 3,000 20NG documents, 6 seeds, W = 2 from the first sweep ended 60 sweeps 2.2
        nats/token (GLDA fast, K = 40) and 2.8 (CGTM, K = 20, 4 seeds) below the serial
        chains; with 2 (GLDA) or 5 serial sweeps first, within 0.1 of them, seed by seed
        (CGTM, measured with 5 only, keeps 5)."""
        return self.workers > 1 and int(state["sweeps"][0]) >= self.serial_start

    def _parallel_sweep(self, state: State, rng: np.random.Generator, block: Any,
                        warmup: bool = False) -> list[Any]:
        """The W document blocks at once, each against its own copy of the topic statistics
        (and of the word view's n_kw, n_k); afterwards n_k, Σx and Σxxᵀ (n_kw, n_k) take every
        block's changes and each factor of Ψ_n is recomputed from them (so they are exact
        functions of z again)."""
        base = _stats(state)
        copies = [NIWStats(*(a.copy() for a in base)) for _ in range(self.workers)]
        base_view = self.view(state, warmup)
        views = [base_view._replace(nkw=base_view.nkw.copy(), nk=base_view.nk.copy())
                 for _ in range(self.workers)]
        out = self._doc_blocks.run(
            rng, lambda lo, hi, p, block_rng: block(lo, hi, copies[p], views[p], block_rng))
        for name in ("count", "sums", "scatter"):
            delta = sum(getattr(cp, name) - getattr(base, name) for cp in copies)
            state[name] += delta
        if self.beta is not None:
            state["nkw"] += sum(v.nkw - base_view.nkw for v in views)
            state["nk"] += sum(v.nk - base_view.nk for v in views)
        for k in range(self.num_topics):
            niw_refactor(k, _stats(state), self.prior)
        return out

    # -------------------------------------------------------------- read-outs
    def _loglik(self, state: State) -> float:
        """λ·Σ_k log p(v_{z=k}) (NIW marginal) + the word view's Σ_k DirMult(n_k· | β)."""
        stats = _stats(state)
        out = float(sum(topic_log_marginal(k, stats, self.prior)
                        for k in range(self.num_topics)))
        if self.vector_weight != 1.0:
            out *= self.vector_weight
        if self.beta is not None:
            from ppltopics.models.glda import word_view_log_marginal

            out += word_view_log_marginal(state["nkw"], self.beta)
        return out

    def _logprior(self, state: State) -> float:
        from scipy.special import gammaln

        ndk, a = state["ndk"], self.alpha
        lengths = self.corpus.doc_lengths
        return float((gammaln(a.sum()) - gammaln(lengths + a.sum())).sum()
                     + (gammaln(ndk + a) - gammaln(a)).sum())

    def doc_theta(self, state: State) -> np.ndarray:
        """Point estimate of θ: (n_dk + α_k)/(N_d + α₀) (θ integrated out in GLDA)."""
        a = self.alpha
        return (state["ndk"] + a) / (self.corpus.doc_lengths[:, None] + a.sum())

    def topic_means(self, state: State) -> np.ndarray:
        p = self.prior
        kn = p.kappa0 + state["count"]
        return (p.kappa0 * p.mu0 + state["sums"]) / kn[:, None]

    def topic_covs(self, state: State) -> np.ndarray:
        """Posterior mean of Σ_k, Ψ_n/(ν_n − M − 1) (Ψ_n/(ν_n + M + 1), the mode, if undefined)."""
        p = self.prior
        M = self.table.shape[1]
        chol = state["chol"]
        psi = chol @ np.swapaxes(chol, 1, 2)
        nu_n = p.nu0 + state["count"]
        denom = np.where(nu_n > M + 1, nu_n - M - 1, nu_n + M + 1)
        return psi / denom[:, None, None]

    def record(self, state: State) -> dict[str, Any]:
        """``lp``: the collapsed log p(v, z) of :func:`ppltopics.models.glda.log_joint` (θ and
        every (μ_k, Σ_k) integrated out); ``log_likelihood``: log p(v | z); topic sizes and
        means; ``pointwise`` per-document log-likelihoods under the point estimates."""
        c = self.corpus
        loglik = self._loglik(state)
        logdens = word_topic_logdensity(self.table, _stats(state), self.prior, self.workers)
        if self.reweighed:
            logdens = self.vector_weight * logdens
            if self.beta is not None:
                logdens += log_phi(state["nkw"], self.beta)
        pointwise = np.empty(c.num_docs)
        _pointwise(c.word_ids, c.doc_offsets, self.doc_theta(state), logdens, pointwise)
        order = self.label_order(state)
        keep = slice(None) if order is None else order
        out: dict[str, Any] = {
            "lp": loglik + self._logprior(state),
            "log_likelihood": loglik,
            **topic_size_record(state["count"][keep], c.num_tokens),
            "topic_mean": self.topic_means(state)[keep],
            "pointwise": pointwise,
        }
        if self.method == "fast":
            out["acceptance_rate"] = float(state["accepted"][0] / max(state["proposed"][0], 1))
        if self.split_merge is not None:
            out["split_merge_accept"] = int(state["sm_accepted"][0])
            out["split_merge_proposed"] = int(state["sm_proposed"][0])
        return out

    def accumulate(self, state: State, acc: dict[str, np.ndarray]) -> None:
        c = self.corpus
        if not acc:
            K, M = self.num_topics, self.table.shape[1]
            acc.update(topic_mean=np.zeros((K, M)), topic_cov=np.zeros((K, M, M)),
                       theta=np.zeros((c.num_docs, K)), word_topic=np.zeros((K, c.vocab_size)),
                       count=np.zeros(1))
        order = self.label_order(state)
        keep = slice(None) if order is None else order
        acc["topic_mean"] += self.topic_means(state)[keep]
        acc["topic_cov"] += self.topic_covs(state)[keep]
        acc["theta"] += self.doc_theta(state)[:, keep]
        z = state["z"]
        if order is not None:  # internal label -> reported label
            z = np.argsort(order)[z]
        K, V = acc["word_topic"].shape  # n_kw by one bincount (np.add.at is ~10x slower)
        acc["word_topic"] += np.bincount(z.astype(np.int64) * V + c.word_ids,
                                         minlength=K * V).reshape(K, V)
        acc["count"] += 1

    def finalize(self, acc: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = acc["count"][0]
        return {"topic_mean": acc["topic_mean"] / n, "topic_cov": acc["topic_cov"] / n,
                "theta": acc["theta"] / n, "word_topic": acc["word_topic"] / n,
                "alpha": self.alpha.copy()}


def _match_labels(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """order[r] = the topic of ``after`` (internal labels) matched to reported topic r of
    ``before`` (Hungarian matching on squared distances of the topic means)."""
    from scipy.optimize import linear_sum_assignment

    cost = ((before[:, None, :] - after[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    out = np.empty(before.shape[0], dtype=np.int64)
    out[rows] = cols
    return out


def fit_model(
    corpus: Corpus, vectors: Any = None, num_topics: int = 20, spec: Any = None,
    alpha: Any = None, kappa0: float = 0.1, nu0: float | None = None, mu0: Any = None,
    psi0: Any = None, method: str = "fast", mh_steps: int = 2, refresh_every: int = 1,
    split_merge: Any = True, init: Any = None, workers: int = 1,
    beta: float | None = None, vector_weight: float = 1.0, anneal: int = 0,
) -> Any:
    """``pt.fit("glda", corpus, vectors=...)``: run the chains, build a GaussianPosterior.

    Defaults (data-driven; see :class:`ppltopics.models.glda.GLDAHyper`): α = 1/K,
    κ0 = 0.1, ν0 = M + 2, μ0 = mean token vector, Ψ0 = (ν0 − M − 1)·Cov(token vectors), so
    that E[Σ_k] is the embedding covariance.  ``split_merge`` (see :class:`GLDAKernel`) is on
    by default, a move after every sweep: from random starts it recovers every planted
    cluster in 30 of 30 runs on issue 12's corpus against 4 of 30 without, at ~24 % of sweep
    time (``benchmarks/bench_split_merge.py``); ``False`` turns it off.
    ``init``: ``"random"``, ``"kmeans"``, ``"lda"`` or an integer array of assignments
    (:mod:`ppltopics.inference._init`); ``None`` (default): ``"kmeans"``, or ``"random"``
    with the word view (:func:`~ppltopics.inference._init.gaussian_fit_init`).  ``beta``,
    ``vector_weight``: the word view; ``anneal``: warm-up sweeps with a tempered vector
    density (:class:`GLDAKernel`).
    """
    from ppltopics.inference._init import gaussian_fit_init
    from ppltopics.models.glda import GLDAHyper
    from ppltopics.posteriors import GaussianPosterior

    if vectors is None or not hasattr(vectors, "matrix"):
        raise TypeError("GLDA needs word vectors as a ppltopics.WordVectors: "
                        "pt.fit('glda', corpus, vectors=pt.WordVectors.glove(corpus.vocab))")
    table = vectors.matrix(corpus.vocab)
    hyper = GLDAHyper(num_topics=num_topics, alpha=alpha, kappa0=kappa0, nu0=nu0, mu0=mu0,
                      psi0=psi0)
    r = hyper.resolve(table, counts=corpus.word_counts())
    kernel = GLDAKernel(corpus, table, num_topics, r.alpha, r.mu0, r.kappa0, r.nu0, r.psi0,
                        method=method, mh_steps=mh_steps, refresh_every=refresh_every,
                        split_merge=split_merge, init=gaussian_fit_init(init, beta is not None),
                        workers=workers, beta=beta, vector_weight=vector_weight,
                        anneal=anneal)
    post = GaussianPosterior.from_kernel(kernel, spec)
    post.estimates["word_vectors"] = table
    return post
