"""Latent Dirichlet allocation (Blei, Ng & Jordan, JMLR 2003) as a Pyro generative story.

The story, for ``K`` topics over a vocabulary of ``V`` words and ``D`` documents of lengths
``N_d``::

    φ_k  ~ Dirichlet(β·1_V)            k = 1..K      (topic-word distributions)
    θ_d  ~ Dirichlet(α)                d = 1..D      (document-topic proportions)
    z_dn ~ Categorical(θ_d)            n = 1..N_d    (topic of token n of document d)
    w_dn ~ Categorical(φ_{z_dn})                     (the observed word)

Documents have different lengths, so tokens are flattened into one plate of
``N = Σ_d N_d`` tokens with a ``doc_index`` array mapping each token to its document (the
same flat CSR layout as :class:`ppltopics.Corpus`).

Integrating out θ and φ (Dirichlet-multinomial conjugacy; Griffiths & Steyvers, PNAS 2004)
gives the *collapsed* joint used by the collapsed Gibbs kernel and its statistics::

    log p(w, z | α, β) = log p(w | z, β) + log p(z | α)

    log p(w | z, β) = Σ_k [ lgamma(Vβ) − lgamma(n_k + Vβ) + Σ_v (lgamma(n_kv + β) − lgamma(β)) ]
    log p(z | α)    = Σ_d [ lgamma(Σ_k α_k) − lgamma(N_d + Σ_k α_k)
                            + Σ_k (lgamma(n_dk + α_k) − lgamma(α_k)) ]

where ``n_kv`` counts tokens of word ``v`` assigned to topic ``k``, ``n_k = Σ_v n_kv``, and
``n_dk`` counts tokens of document ``d`` assigned to topic ``k``.  See :func:`log_joint`,
:func:`log_likelihood_collapsed` and the count-based :func:`log_joint_from_counts`.

Hyperparameter defaults: α = 0.1 and β = 0.01 (symmetric), the defaults of tomotopy's
``LDAModel``.  Griffiths & Steyvers (2004) use α = 50/K, β = 0.1; the GLDA reference code
(Das et al., 2015) uses α = 1/K.  :meth:`LDAHyper.default` offers these as named presets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro import poutine
from scipy.special import gammaln

from ppltopics._validation import normalise_alpha
from ppltopics.corpus import Corpus
from ppltopics.distributions import RowCategorical
from ppltopics.models._story import doc_lengths_tensor, simulate_doc_lengths

__all__ = [
    "LDAHyper",
    "LDASample",
    "RowCategorical",
    "SimulatedCorpus",
    "model",
    "simulate",
    "log_joint",
    "log_likelihood_collapsed",
    "log_prior_collapsed",
    "log_joint_from_counts",
    "log_likelihood_from_counts",
    "log_prior_from_counts",
]

#: Named presets for the document-topic prior α (a function of K), see :meth:`LDAHyper.default`.
ALPHA_PRESETS: dict[str, Any] = {
    "tomotopy": lambda num_topics: 0.1,  # tomotopy LDAModel default
    "griffiths-steyvers": lambda num_topics: 50.0 / num_topics,  # Griffiths & Steyvers 2004
    "1/K": lambda num_topics: 1.0 / num_topics,  # GLDA reference (Das et al. 2015)
}

#: Float type of the Pyro story (β = 0.01 Dirichlet draws need the float64 range).
_DTYPE = torch.float64


# ---------------------------------------------------------------------- hyperparameters
@dataclass(frozen=True)
class LDAHyper:
    """Hyperparameters of LDA.

    Parameters
    ----------
    num_topics
        ``K``, the number of topics (an integer ≥ 1).
    alpha
        Dirichlet prior on each document's topic proportions θ_d: a positive float (symmetric,
        ``α·1_K``) or a sequence of ``K`` positive floats (asymmetric).  Stored as a float or a
        tuple of floats so the dataclass stays hashable; use :attr:`alpha_vector` for the
        length-``K`` array.  Default 0.1 (tomotopy); Griffiths & Steyvers use 50/K.
    beta
        Symmetric Dirichlet prior ``β·1_V`` on each topic's word distribution φ_k.
        Default 0.01.

    The intrinsic checks of :meth:`validate` run at construction, so an ``LDAHyper`` that
    exists has a valid ``num_topics``, ``alpha`` and ``beta``; call ``validate(num_tokens,
    vocab_size)`` to check it against a corpus.
    """

    num_topics: int
    alpha: float | tuple[float, ...] = 0.1
    beta: float = 0.01

    def __post_init__(self) -> None:
        k = self.num_topics
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise ValueError(f"num_topics must be an integer >= 1, got {k!r}")
        object.__setattr__(self, "num_topics", int(k))
        object.__setattr__(self, "alpha", normalise_alpha(self.alpha))
        b = self.beta
        if isinstance(b, bool) or not isinstance(b, int | float | np.integer | np.floating):
            raise ValueError(f"beta must be a positive finite float, got {b!r}")
        object.__setattr__(self, "beta", float(b))
        self.validate()

    # -- construction helpers
    @classmethod
    def default(
        cls,
        num_topics: int,
        alpha: float | str | Sequence[float] = "tomotopy",
        beta: float = 0.01,
    ) -> LDAHyper:
        """Hyperparameters with ``alpha`` given as a value or a named preset.

        Presets: ``"tomotopy"`` → α = 0.1 (the default), ``"griffiths-steyvers"`` → α = 50/K,
        ``"1/K"`` → α = 1/K.  All are symmetric.
        """
        if isinstance(alpha, str):
            if alpha not in ALPHA_PRESETS:
                raise ValueError(
                    f"unknown alpha preset {alpha!r}: use one of {sorted(ALPHA_PRESETS)} "
                    "or a positive number"
                )
            if isinstance(num_topics, int | np.integer) and num_topics >= 1:
                alpha = ALPHA_PRESETS[alpha](int(num_topics))
            else:  # let __post_init__ report the bad num_topics
                alpha = 0.1
        return cls(num_topics=num_topics, alpha=alpha, beta=beta)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (alpha as a float or a list)."""
        a = self.alpha
        return {
            "num_topics": self.num_topics,
            "alpha": list(a) if isinstance(a, tuple) else a,
            "beta": self.beta,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LDAHyper:
        a = d["alpha"]
        return cls(
            num_topics=int(d["num_topics"]),
            alpha=tuple(a) if isinstance(a, list | tuple) else a,
            beta=d["beta"],
        )

    # -- derived values
    @property
    def alpha_vector(self) -> np.ndarray:
        """α as a float64 array of length ``K`` (a fresh copy)."""
        if isinstance(self.alpha, tuple):
            return np.asarray(self.alpha, dtype=np.float64)
        return np.full(self.num_topics, self.alpha, dtype=np.float64)

    @property
    def alpha_sum(self) -> float:
        """Σ_k α_k."""
        return float(self.alpha_vector.sum())

    @property
    def symmetric(self) -> bool:
        """True when α is one scalar (α·1_K)."""
        return not isinstance(self.alpha, tuple)

    # -- checks
    def validate(self, num_tokens: int | None = None, vocab_size: int | None = None) -> LDAHyper:
        """Raise ``ValueError`` naming the bad value; return ``self`` when all is well.

        Checks ``num_topics ≥ 1``; α and β positive and finite; α of length ``K`` when given
        per topic; and, when given, ``num_topics ≤ num_tokens`` (more topics than tokens
        cannot all be used) and ``vocab_size ≥ 1``.
        """
        k = self.num_topics
        if k < 1:
            raise ValueError(f"num_topics must be >= 1, got {k}")
        a = self.alpha
        if isinstance(a, tuple):
            if len(a) != k:
                raise ValueError(
                    f"alpha has {len(a)} entries but num_topics is {k}: give one alpha per "
                    "topic or a single float"
                )
            vals = a
        else:
            vals = (a,)
        if not all(math.isfinite(v) and v > 0 for v in vals):
            raise ValueError(f"alpha must be positive and finite, got {a!r}")
        if not (math.isfinite(self.beta) and self.beta > 0):
            raise ValueError(f"beta must be positive and finite, got {self.beta!r}")
        if num_tokens is not None:
            if num_tokens < 1:
                raise ValueError(f"num_tokens must be >= 1, got {num_tokens}")
            if k > num_tokens:
                raise ValueError(
                    f"num_topics={k} is larger than the data: the corpus has only "
                    f"{num_tokens} tokens"
                )
        if vocab_size is not None and vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
        return self


# ---------------------------------------------------------------------- the Pyro story
class LDASample(NamedTuple):
    """Values of one run of :func:`model` (torch tensors)."""

    phi: torch.Tensor  # (K, V) topic-word distributions
    theta: torch.Tensor  # (D, K) document-topic proportions
    z: torch.Tensor  # (N,) topic of each token
    w: torch.Tensor  # (N,) word of each token
    doc_index: torch.Tensor  # (N,) document of each token


def model(
    doc_lengths: Sequence[int] | np.ndarray | torch.Tensor,
    vocab_size: int,
    hyper: LDAHyper,
    data: torch.Tensor | np.ndarray | None = None,
) -> LDASample:
    """LDA as a plain Pyro model; simulates the words when ``data`` is None.

    ::

        φ_k  ~ Dirichlet(β·1_V)       in plate "topics" (K)
        θ_d  ~ Dirichlet(α)           in plate "docs"   (D)
        z_n  ~ Categorical(θ_{d(n)})  in plate "tokens" (N = Σ_d N_d)
        w_n  ~ Categorical(φ_{z_n})   observed when data is given

    Parameters
    ----------
    doc_lengths
        ``N_d`` for every document (e.g. ``corpus.doc_lengths``).
    vocab_size
        ``V``.
    hyper
        :class:`LDAHyper`.
    data
        Flat word ids of all tokens, documents concatenated (``corpus.word_ids``), or None.

    Sample sites are ``"phi"``, ``"theta"``, ``"z"`` and ``"w"``.  Tensors are float64; ``z`` may
    be enumerated (``infer={"enumerate": "parallel"}`` via ``pyro.infer.config_enumerate``)
    with ``max_plate_nesting=1``.  ``Categorical(θ_{d(n)})`` and ``Categorical(φ_{z_n})`` are
    :class:`RowCategorical` sites, which never form the N × K or N × V table of per-token
    probabilities, so simulating a large corpus needs O(N) memory.
    """
    num_topics = hyper.num_topics
    lengths = doc_lengths_tensor(doc_lengths)
    num_docs = int(lengths.numel())
    doc_index = torch.repeat_interleave(torch.arange(num_docs), lengths,
                                        output_size=int(lengths.sum()))  # token -> document
    num_tokens = int(doc_index.numel())
    if data is not None:
        data = torch.as_tensor(np.asarray(data), dtype=torch.long)
        if data.shape != (num_tokens,):
            raise ValueError(
                f"data must hold one word id per token ({num_tokens}), got shape "
                f"{tuple(data.shape)}"
            )
    alpha = torch.as_tensor(hyper.alpha_vector, dtype=_DTYPE)
    beta = torch.full((vocab_size,), hyper.beta, dtype=_DTYPE)

    with pyro.plate("topics", num_topics):
        phi = pyro.sample("phi", dist.Dirichlet(beta))  # (K, V)
    with pyro.plate("docs", num_docs):
        theta = pyro.sample("theta", dist.Dirichlet(alpha))  # (D, K)
    with pyro.plate("tokens", num_tokens):
        # z_n ~ Categorical(θ_{d(n)}),  w_n ~ Categorical(φ_{z_n})
        z = pyro.sample("z", RowCategorical(theta, doc_index))  # (N,)
        w = pyro.sample("w", RowCategorical(phi, z), obs=data)  # (N,)
    return LDASample(phi=phi, theta=theta, z=z, w=w, doc_index=doc_index)


# ---------------------------------------------------------------------- simulation
@dataclass(frozen=True, eq=False)
class SimulatedCorpus:
    """A corpus drawn from the LDA story, with the true latent values that produced it.

    ``phi`` (K, V) and ``theta`` (D, K) are float64; ``z`` (int32, length ``num_tokens``) is
    aligned with ``corpus.word_ids``.
    """

    corpus: Corpus
    phi: np.ndarray
    theta: np.ndarray
    z: np.ndarray
    hyper: LDAHyper
    seed: int


def simulate(
    num_docs: int,
    doc_length: int | Sequence[int] | np.ndarray,
    vocab_size: int,
    hyper: LDAHyper,
    seed: int = 0,
    *,
    poisson: bool = False,
) -> SimulatedCorpus:
    """Draw a corpus by running :func:`model` forward.

    Parameters
    ----------
    num_docs
        ``D``.
    doc_length
        Every document's length (an int), one length per document (a sequence), or, with
        ``poisson=True``, the mean length λ ≥ 1: ``N_d = 1 + Poisson(λ − 1)``.
    vocab_size
        ``V``; the vocabulary is ``["w0000", "w0001", ...]`` and keeps every word, used or not.
    hyper
        :class:`LDAHyper`.
    seed
        Same seed ⇒ identical corpus and parameters.  Torch's global RNG is forked, seeded and
        restored, so the caller's torch, numpy and ``random`` states are left untouched.
    """
    hyper.validate(vocab_size=vocab_size)
    lengths = simulate_doc_lengths(num_docs, doc_length, poisson, seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with poutine.block():
            sample = model(lengths, vocab_size, hyper)
    width = max(4, len(str(vocab_size - 1)))
    vocab = [f"w{v:0{width}d}" for v in range(vocab_size)]
    offsets = np.zeros(num_docs + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    corpus = Corpus(
        sample.w.numpy().astype(np.int32),
        offsets,
        vocab,
        report={"simulated": "lda", "seed": int(seed), **hyper.to_dict()},
    )
    return SimulatedCorpus(
        corpus=corpus,
        phi=sample.phi.numpy().astype(np.float64),
        theta=sample.theta.numpy().astype(np.float64),
        z=sample.z.numpy().astype(np.int32),
        hyper=hyper,
        seed=int(seed),
    )


# ---------------------------------------------------------------------- collapsed densities
def _pair_counts(rows: np.ndarray, cols: np.ndarray, num_rows: int, num_cols: int):
    """Nonzero counts of (row, col) pairs: returns (row, col, count) arrays.

    Dense bincount when the table is small, sort-based otherwise (memory O(N)).
    """
    if num_rows * num_cols <= max(1 << 22, 4 * rows.size):
        counts = np.bincount(rows * num_cols + cols, minlength=num_rows * num_cols)
        keys = np.flatnonzero(counts)
        counts = counts[keys]
    else:
        keys, counts = np.unique(rows * num_cols + cols, return_counts=True)
    return keys // num_cols, keys % num_cols, counts


def _check_tokens(
    word_ids: Any, doc_offsets: Any, z: Any, hyper: LDAHyper, vocab_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w = np.asarray(word_ids).astype(np.int64, copy=False).ravel()
    off = np.asarray(doc_offsets).astype(np.int64, copy=False).ravel()
    zz = np.asarray(z).astype(np.int64, copy=False).ravel()
    if zz.shape != w.shape:
        raise ValueError(f"z has {zz.size} entries but there are {w.size} tokens")
    if off.size < 2 or off[0] != 0 or off[-1] != w.size or (np.diff(off) < 0).any():
        raise ValueError("doc_offsets must be non-decreasing, start at 0 and end at len(word_ids)")
    if w.size and (w.min() < 0 or w.max() >= vocab_size):
        raise ValueError(f"word_ids out of range [0, {vocab_size})")
    if zz.size and (zz.min() < 0 or zz.max() >= hyper.num_topics):
        raise ValueError(f"z out of range [0, {hyper.num_topics})")
    return w, off, zz


def log_likelihood_from_counts(topic_word: np.ndarray, beta: float) -> float:
    """log p(w | z, β) from the topic-word count table ``n_kv`` (K × V)::

        Σ_k [ lgamma(Vβ) − lgamma(n_k + Vβ) + Σ_v (lgamma(n_kv + β) − lgamma(β)) ]
    """
    n_kv = np.asarray(topic_word, dtype=np.float64)
    num_topics, vocab_size = n_kv.shape
    vb = vocab_size * beta
    n_k = n_kv.sum(axis=1)
    return float(
        num_topics * gammaln(vb)
        - gammaln(n_k + vb).sum()
        + (gammaln(n_kv + beta) - gammaln(beta)).sum()
    )


def log_prior_from_counts(doc_topic: np.ndarray, alpha: np.ndarray | float) -> float:
    """log p(z | α) from the document-topic count table ``n_dk`` (D × K)::

        Σ_d [ lgamma(Σα) − lgamma(N_d + Σα) + Σ_k (lgamma(n_dk + α_k) − lgamma(α_k)) ]
    """
    n_dk = np.asarray(doc_topic, dtype=np.float64)
    num_docs, num_topics = n_dk.shape
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (num_topics,))
    a_sum = a.sum()
    n_d = n_dk.sum(axis=1)
    return float(
        num_docs * gammaln(a_sum)
        - gammaln(n_d + a_sum).sum()
        + (gammaln(n_dk + a) - gammaln(a)).sum()
    )


def log_joint_from_counts(doc_topic: np.ndarray, topic_word: np.ndarray, hyper: LDAHyper) -> float:
    """Collapsed log p(w, z | α, β) from the count tables ``n_dk`` (D × K) and ``n_kv`` (K × V).

    The sum of :func:`log_likelihood_from_counts` and :func:`log_prior_from_counts` (see the
    module docstring).  Meant for kernels that already hold these tables.
    """
    return log_likelihood_from_counts(topic_word, hyper.beta) + log_prior_from_counts(
        doc_topic, hyper.alpha_vector
    )


def log_likelihood_collapsed(
    word_ids: Any, doc_offsets: Any, z: Any, hyper: LDAHyper, vocab_size: int
) -> float:
    """Collapsed log likelihood log p(w | z, β), φ integrated out::

        Σ_k [ lgamma(Vβ) − lgamma(n_k + Vβ) + Σ_v (lgamma(n_kv + β) − lgamma(β)) ]

    ``doc_offsets`` is only checked (the value does not depend on documents); the signature
    matches :func:`log_joint`.  Cost O(N) time and memory (only nonzero ``n_kv`` are formed).
    """
    w, _, zz = _check_tokens(word_ids, doc_offsets, z, hyper, vocab_size)
    return _log_likelihood(w, zz, hyper.num_topics, vocab_size, hyper.beta)


def log_prior_collapsed(
    word_ids: Any, doc_offsets: Any, z: Any, hyper: LDAHyper, vocab_size: int
) -> float:
    """Collapsed log prior of the assignments log p(z | α), θ integrated out::

        Σ_d [ lgamma(Σα) − lgamma(N_d + Σα) + Σ_k (lgamma(n_dk + α_k) − lgamma(α_k)) ]
    """
    _, off, zz = _check_tokens(word_ids, doc_offsets, z, hyper, vocab_size)
    return _log_prior(off, zz, hyper.alpha_vector)


def log_joint(
    word_ids: Any, doc_offsets: Any, z: Any, hyper: LDAHyper, vocab_size: int
) -> float:
    """Collapsed log joint log p(w, z | α, β) with θ and φ integrated out::

        Σ_k [ lgamma(Vβ) − lgamma(n_k + Vβ) + Σ_v (lgamma(n_kv + β) − lgamma(β)) ]
      + Σ_d [ lgamma(Σα) − lgamma(N_d + Σα) + Σ_k (lgamma(n_dk + α_k) − lgamma(α_k)) ]

    Parameters
    ----------
    word_ids, doc_offsets
        Flat CSR tokens (``corpus.word_ids``, ``corpus.doc_offsets``).
    z
        Topic of every token, aligned with ``word_ids``.
    hyper, vocab_size
        :class:`LDAHyper` and ``V``.

    It is a proper distribution over (w, z): summed over every word sequence and every
    assignment of the same shape, ``exp(log_joint)`` is 1.
    """
    w, off, zz = _check_tokens(word_ids, doc_offsets, z, hyper, vocab_size)
    return _log_likelihood(w, zz, hyper.num_topics, vocab_size, hyper.beta) + _log_prior(
        off, zz, hyper.alpha_vector
    )


def _log_likelihood(
    w: np.ndarray, z: np.ndarray, num_topics: int, vocab_size: int, beta: float
) -> float:
    vb = vocab_size * beta
    n_k = np.bincount(z, minlength=num_topics)
    _, _, n_kv = _pair_counts(z, w, num_topics, vocab_size)
    return float(
        num_topics * gammaln(vb)
        - gammaln(n_k + vb).sum()
        + (gammaln(n_kv + beta) - gammaln(beta)).sum()
    )


def _log_prior(offsets: np.ndarray, z: np.ndarray, alpha: np.ndarray) -> float:
    num_docs = offsets.size - 1
    num_topics = alpha.size
    n_d = np.diff(offsets)
    a_sum = alpha.sum()
    doc = np.repeat(np.arange(num_docs, dtype=np.int64), n_d)
    _, k, n_dk = _pair_counts(doc, z, num_docs, num_topics)
    return float(
        num_docs * gammaln(a_sum)
        - gammaln(n_d + a_sum).sum()
        + (gammaln(n_dk + alpha[k]) - gammaln(alpha[k])).sum()
    )
