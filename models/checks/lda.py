"""LDA's pieces for the correctness harness (:mod:`ppltopics.testing`).

The exact posterior of a toy corpus by enumeration, the exact word conditional ``w | z``, the
batched collapsed log joint and label-invariant test functions for Geweke's test, and the
reference sampler :class:`ReferenceLDAKernel`: a plain dense-count collapsed Gibbs sweep with
optional deliberate defects (``mutation="no_remove"``: the current token is not removed from
the counts before its conditional is computed, a defect of public reference codes).  It is the
known-good/known-bad baseline showing that the tests have power.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from scipy.special import gammaln

from ppltopics.corpus import Corpus
from ppltopics.inference.base import GibbsKernel, State
from ppltopics.testing.enumeration import enumerate_posterior
from ppltopics.testing.helpers import assignment_test_functions, token_pairs
from ppltopics.testing.marginals import dirichlet_log_prior_batch

__all__ = [
    "lda_enumerated_posterior",
    "lda_word_conditional",
    "lda_log_joint_batch",
    "lda_test_functions",
    "MUTATIONS",
    "ReferenceLDAKernel",
]


def lda_enumerated_posterior(corpus: Corpus, hyper: Any) -> np.ndarray:
    """Exact p(z | w) of LDA over all ``K**N`` assignments of a toy corpus.

    Uses :func:`ppltopics.models.lda.log_joint` (θ and φ integrated out); order as in
    :func:`enumerate_posterior`.
    """
    from ppltopics.models.lda import log_joint

    def target(z: np.ndarray) -> float:
        return log_joint(corpus.word_ids, corpus.doc_offsets, z, hyper, corpus.vocab_size)

    return enumerate_posterior(target, corpus.num_tokens, hyper.num_topics)


def lda_word_conditional(
    vocab_size: int, hyper: Any
) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """Exact draw of the words given the topics, ``w ~ p(w | z)``, under the LDA story.

    A priori φ is independent of z (and θ only affects z), so p(w | z) = ∫ Π_n φ_{z_n, w_n}
    p(φ) dφ: draw φ_k ~ Dirichlet(β·1_V) afresh from the *prior*, then w_n ~ Categorical(φ_{z_n}).
    (Equivalently, a Pólya urn per topic.)  Returns ``data_step(z, rng) -> w`` (int32).
    """
    beta = np.full(vocab_size, float(hyper.beta))
    num_topics = int(hyper.num_topics)

    def data_step(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        phi = rng.dirichlet(beta, size=num_topics)
        cdf = np.cumsum(phi, axis=1)
        u = rng.random(z.shape[0]) * cdf[z, -1]
        w = (u[:, None] >= cdf[z]).sum(axis=1)
        return np.minimum(w, vocab_size - 1).astype(np.int32)

    return data_step


def lda_log_joint_batch(
    z: np.ndarray, w: np.ndarray, doc_offsets: np.ndarray, vocab_size: int, hyper: Any
) -> np.ndarray:
    """Collapsed log p(w, z | α, β) of each row of ``z``, ``w`` (S, N): vectorised
    :func:`ppltopics.models.lda.log_joint` (same formula, see :mod:`ppltopics.models.lda`)."""
    z = np.atleast_2d(np.asarray(z, dtype=np.int64))
    w = np.atleast_2d(np.asarray(w, dtype=np.int64))
    s, n = z.shape
    k, v = int(hyper.num_topics), int(vocab_size)
    alpha = np.asarray(hyper.alpha_vector, dtype=np.float64)
    beta = float(hyper.beta)
    row = np.arange(s)[:, None]
    nkv = np.bincount((row * k * v + z * v + w).ravel(), minlength=s * k * v).reshape(s, k, v)
    nk = nkv.sum(axis=2)
    loglik = (k * gammaln(v * beta) - gammaln(nk + v * beta).sum(axis=1)
              + (gammaln(nkv + beta) - gammaln(beta)).sum(axis=(1, 2)))
    return loglik + dirichlet_log_prior_batch(z, doc_offsets, alpha)


def lda_test_functions(
    doc_offsets: np.ndarray, vocab_size: int, hyper: Any
) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """Label-invariant test functions g(z, w) of LDA for :func:`geweke_test` (batched, (S, N)).

    - ``topics_used``: number of distinct topics among the tokens;
    - ``largest_topic``: share of the tokens in the largest topic, max_k n_k / N;
    - ``doc_pairs_same_topic``: fraction of within-document token pairs with the same topic
      (document-topic clumping; sensitive to the n_dk update and α);
    - ``doc_pairs_same_word``: fraction of within-document token pairs with the same word
      (a statistic of w alone: checks the word conditional and, through z, the coupling);
    - ``word_topic_pairs``: fraction of all token pairs with the same word *and* the same topic
      (couples w and z; sensitive to the n_kw update and β);
    - ``log_joint``: collapsed log p(w, z) (:func:`lda_log_joint_batch`).
    """
    offsets = np.asarray(doc_offsets, dtype=np.int64)
    _, i_all, j_all, i_doc, j_doc = token_pairs(offsets)

    return {
        **assignment_test_functions(offsets, int(hyper.num_topics)),
        "doc_pairs_same_word": lambda z, w: (w[:, i_doc] == w[:, j_doc]).mean(axis=1),
        "word_topic_pairs": lambda z, w: ((w[:, i_all] == w[:, j_all])
                                          & (z[:, i_all] == z[:, j_all])).mean(axis=1),
        "log_joint": lambda z, w: lda_log_joint_batch(z, w, offsets, vocab_size, hyper),
    }


# =============================================================================== reference
#: Deliberate defects of :class:`ReferenceLDAKernel` (for showing that the tests have power).
MUTATIONS: dict[str | None, int] = {
    None: 0,
    # the conditional of token n is computed with token n still counted in its current topic
    # (n_dk, n_kw and n_k): a defect of public reference codes that the tests must detect
    "no_remove": 1,
    # only the word-topic count n_kw (and n_k) keeps the token; n_dk is updated correctly
    "no_remove_word": 2,
}


@numba.njit(cache=True, nogil=True)
def _reference_sweep(
    word_ids: np.ndarray,
    token_docs: np.ndarray,
    z: np.ndarray,
    ndk: np.ndarray,
    nkw: np.ndarray,
    nk: np.ndarray,
    alpha: np.ndarray,
    beta: float,
    mutation: int,
    rng: np.random.Generator,
) -> None:
    """Dense collapsed Gibbs sweep: p(z_n = k | rest) ∝ (n_dk + α_k)(n_kw + β)/(n_k + Vβ)."""
    num_topics = nk.shape[0]
    vbeta = nkw.shape[1] * beta
    cum = np.empty(num_topics)
    for n in range(word_ids.shape[0]):
        w = word_ids[n]
        d = token_docs[n]
        old = z[n]
        # ---- remove the token (a mutant skips some of this until after the draw)
        if mutation != 1:
            ndk[d, old] -= 1
        if mutation == 0:
            nkw[old, w] -= 1
            nk[old] -= 1
        total = 0.0
        for k in range(num_topics):
            total += (ndk[d, k] + alpha[k]) * (nkw[k, w] + beta) / (nk[k] + vbeta)
            cum[k] = total
        u = rng.random() * total
        new = 0
        while new < num_topics - 1 and cum[new] <= u:
            new += 1
        # ---- counts stay consistent whatever the mutant: remove late, add the new topic
        if mutation == 1:
            ndk[d, old] -= 1
        if mutation != 0:
            nkw[old, w] -= 1
            nk[old] -= 1
        ndk[d, new] += 1
        nkw[new, w] += 1
        nk[new] += 1
        z[n] = new


class ReferenceLDAKernel(GibbsKernel):
    """Plain dense-count collapsed Gibbs sampler for LDA: the reference for the harness tests.

    O(K) per token with dense n_dk (D×K), n_kw (K×V) and n_k; systematic scan in token order,
    like :class:`ppltopics.inference.lda.LDAKernel` (Griffiths & Steyvers, PNAS 2004)::

        p(z_n = k | z_-n, w) ∝ (n_dk + α_k) (n_kw + β) / (n_k + Vβ)   (token n removed)

    ``mutation`` injects a known defect (see :data:`MUTATIONS`); ``None`` is the correct
    sampler.  Counts are kept consistent in every variant, only the conditional is wrong.
    Meant for toy corpora (the dense K×V table).
    """

    model_name = "lda-reference"
    pyro_params = ("z",)

    def __init__(self, corpus: Corpus, hyper: Any, mutation: str | None = None) -> None:
        if mutation not in MUTATIONS:
            raise ValueError(f"unknown mutation {mutation!r}: one of {list(MUTATIONS)}")
        hyper.validate(num_tokens=corpus.num_tokens, vocab_size=corpus.vocab_size)
        self.corpus = corpus
        self.hyper = hyper
        self.num_topics = int(hyper.num_topics)
        self.mutation = mutation

    @property
    def num_tokens(self) -> int:
        return self.corpus.num_tokens

    def config(self) -> dict[str, Any]:
        return {"model": self.model_name, "num_topics": self.num_topics,
                "beta": float(self.hyper.beta), "mutation": self.mutation}

    def init_state(self, rng: np.random.Generator) -> State:
        z = rng.integers(0, self.num_topics, size=self.corpus.num_tokens).astype(np.int32)
        state: State = {"z": z}
        self.resync(state)
        return state

    def resync(self, state: State) -> None:
        """Rebuild the dense counts from ``state["z"]`` and the current ``self.corpus``."""
        c = self.corpus
        z = state["z"].astype(np.int32, copy=False)
        state["z"] = z
        state["token_docs"] = c.token_docs
        ndk = np.zeros((c.num_docs, self.num_topics), dtype=np.int64)
        np.add.at(ndk, (state["token_docs"], z), 1)
        nkw = np.zeros((self.num_topics, c.vocab_size), dtype=np.int64)
        np.add.at(nkw, (z, c.word_ids), 1)
        state["ndk"], state["nkw"] = ndk, nkw
        state["nk"] = nkw.sum(axis=1)
        state["alpha"] = np.asarray(self.hyper.alpha_vector, dtype=np.float64)

    def step(self, state: State, rng: np.random.Generator, warmup: bool) -> None:
        _reference_sweep(self.corpus.word_ids, state["token_docs"], state["z"], state["ndk"],
                         state["nkw"], state["nk"], state["alpha"], float(self.hyper.beta),
                         MUTATIONS[self.mutation], rng)

    def record(self, state: State) -> dict[str, Any]:
        from ppltopics.models.lda import log_joint_from_counts, log_likelihood_from_counts

        return {
            "lp": log_joint_from_counts(state["ndk"], state["nkw"], self.hyper),
            "log_likelihood": log_likelihood_from_counts(state["nkw"], float(self.hyper.beta)),
            "num_occupied": int(np.count_nonzero(state["nk"])),
        }
