"""TopClus (Meng, Zhang, Huang, Zhang & Han, WWW 2022) as a Pyro generative story.

TopClus assumes a ``K``-topic structure in a low-dimensional *spherical* latent space
Z ⊂ S^{r′−1}, mapped to the PLM embedding space H by a decoder g (paper §3.2, Eqs. 1–2)::

    t_k   ~ Uniform(S^{r′−1})                 k = 1..K     (topic centres)
    k     ~ Uniform(K)                                      (a token's topic)
    z     ~ vMF_{r′}(t_k, κ)                                (its latent vector)
    h     = g(z)                                            (its PLM embedding)

Here the story is written for a corpus: tokens live in documents, and every document ``d``
draws one dominant topic, so that documents are (mostly) about one topic, as the paper's
document-level ``z^(d) ~ vMF(t_k, κ)`` implies::

    t_k   = t̃_k / ‖t̃_k‖,  t̃_k ~ N(0, I_{r′})    in plate "topics" (K)   (exactly uniform)
    c_d   ~ Uniform(K)                             in plate "docs"  (D)
    k_n   ~ Categorical(ρ·e_{c_{d(n)}} + (1 − ρ)/K) in plate "tokens" (N = Σ_d N_d)
    z_n   ~ vMF_{r′}(t_{k_n}, κ)
    h_n   ~ N(g(z_n), σ² I_D)                      observed when data is given

ρ (``purity``) = 1 gives single-topic documents; ρ = 0 gives the paper's i.i.d. tokens.  The
Gaussian noise σ makes the observation a proper density (the paper's h = g(z) is the σ → 0
limit).  The decoder g is a ``torch.nn.Module`` registered with ``pyro.module("decoder", g)``,
so its weights are Pyro parameters.  vMF is :class:`ppltopics.distributions.VonMisesFisher`.

:func:`simulate` draws a corpus of planted vMF clusters through a small random decoder
(:func:`random_decoder`): the test bed of the EM kernel (:mod:`ppltopics.inference.topclus`),
which must recover the planted ``t_k`` (up to its encoder) and the document topics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro import poutine

from ppltopics.corpus import Corpus

__all__ = [
    "TopClusHyper",
    "TopClusSample",
    "SimulatedTopClus",
    "model",
    "random_decoder",
    "simulate",
]

_DTYPE = torch.float32


@dataclass(frozen=True)
class TopClusHyper:
    """Hyperparameters of the TopClus story.

    ``num_topics`` K, ``latent_dim`` r′ (paper: 100), ``kappa`` κ (paper: 10), ``noise_scale``
    σ of the observation noise, ``purity`` ρ ∈ [0, 1] of a document's dominant topic.

    In r′ = 100 dimensions κ = 10 is a very diffuse vMF (mean cosine to its centre ≈ 0.1);
    the paper's κ is a softmax temperature of the clustering posterior rather than a realistic
    generative spread, so simulations use a small r′ or a larger κ (see :func:`simulate`).
    """

    num_topics: int
    latent_dim: int = 100
    kappa: float = 10.0
    noise_scale: float = 0.05
    purity: float = 1.0

    def validate(self) -> None:
        k = self.num_topics
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"num_topics must be an integer >= 1, got {k!r}")
        r = self.latent_dim
        if isinstance(r, bool) or not isinstance(r, int | np.integer) or r < 2:
            raise ValueError(f"latent_dim must be an integer >= 2, got {r!r}")
        if not (math.isfinite(self.kappa) and self.kappa > 0):
            raise ValueError(f"kappa must be finite and > 0, got {self.kappa!r}")
        if not (math.isfinite(self.noise_scale) and self.noise_scale > 0):
            raise ValueError(f"noise_scale must be finite and > 0, got {self.noise_scale!r}")
        if not (0.0 <= self.purity <= 1.0):
            raise ValueError(f"purity must be in [0, 1], got {self.purity!r}")


class TopClusSample(NamedTuple):
    t: torch.Tensor  # (K, r′) unit topic centres
    c: torch.Tensor  # (D,) document topics
    k: torch.Tensor  # (N,) token topics
    z: torch.Tensor  # (N, r′) latent token vectors
    h: torch.Tensor  # (N, D_emb) embeddings
    doc_index: torch.Tensor  # (N,) token -> document


def _lengths_tensor(doc_lengths: Any) -> torch.Tensor:
    lengths = torch.as_tensor(np.asarray(doc_lengths), dtype=torch.long)
    if lengths.ndim != 1 or lengths.numel() < 1 or bool((lengths < 0).any()):
        raise ValueError("doc_lengths must be a non-empty 1-d sequence of integers >= 0")
    return lengths


def model(
    doc_lengths: Sequence[int] | np.ndarray | torch.Tensor,
    hyper: TopClusHyper,
    decoder: torch.nn.Module,
    data: torch.Tensor | np.ndarray | None = None,
) -> TopClusSample:
    """TopClus as a plain Pyro model (see the module docstring); simulates when ``data`` is
    None.

    Sample sites: ``"t_raw"`` (K, r′) with the deterministic ``"t"`` = t_raw/‖t_raw‖ (uniform
    on the sphere), ``"c"`` (D,), ``"k"`` (N,), ``"z"`` (N, r′) and ``"h"`` (N, D_emb),
    observed when ``data`` (one embedding per token, documents concatenated) is given.
    ``decoder`` maps (…, r′) to (…, D_emb) and is registered as ``pyro.module("decoder")``.
    """
    from ppltopics.distributions import VonMisesFisher

    hyper.validate()
    K, r = int(hyper.num_topics), int(hyper.latent_dim)
    lengths = _lengths_tensor(doc_lengths)
    num_docs = int(lengths.numel())
    num_tokens = int(lengths.sum())
    doc_index = torch.repeat_interleave(torch.arange(num_docs), lengths,
                                        output_size=num_tokens)
    g = pyro.module("decoder", decoder)
    if data is not None:
        data = data.detach().to(_DTYPE) if isinstance(data, torch.Tensor) else \
            torch.as_tensor(np.asarray(data), dtype=_DTYPE)
        if data.ndim != 2 or data.shape[0] != num_tokens:
            raise ValueError(f"data must be (num_tokens={num_tokens}, D), got "
                             f"{tuple(data.shape)}")
        if not bool(torch.isfinite(data).all()):
            raise ValueError("data has NaN or infinite entries")
    with pyro.plate("topics", K):
        t_raw = pyro.sample("t_raw", dist.Normal(torch.zeros(r, dtype=_DTYPE), 1.0)
                            .to_event(1))
    t = pyro.deterministic("t", t_raw / t_raw.norm(dim=-1, keepdim=True), event_dim=1)
    with pyro.plate("docs", num_docs):
        c = pyro.sample("c", dist.Categorical(torch.full((K,), 1.0 / K, dtype=_DTYPE)))
    rho = float(hyper.purity)
    pi = rho * torch.nn.functional.one_hot(c, K).to(_DTYPE) + (1.0 - rho) / K  # (D, K)
    with pyro.plate("tokens", num_tokens):
        k = pyro.sample("k", dist.Categorical(pi[doc_index]))
        z = pyro.sample("z", VonMisesFisher(t[k], torch.tensor(float(hyper.kappa),
                                                                  dtype=_DTYPE)))
        mean = g(z)
        h = pyro.sample("h", dist.Normal(mean, float(hyper.noise_scale)).to_event(1),
                        obs=data)
    return TopClusSample(t=t, c=c, k=k, z=z, h=h, doc_index=doc_index)


def random_decoder(latent_dim: int, embed_dim: int, hidden: int = 64, seed: int = 0,
                   scale: float = 1.0) -> torch.nn.Sequential:
    """A small random MLP ``g: R^{r′} → R^{D}`` (Linear–tanh–Linear, weights N(0, 1/fan_in)),
    the nonlinear map from the planted latent sphere to a simulated "PLM" space."""
    gen = torch.Generator().manual_seed(int(seed))
    g = torch.nn.Sequential(torch.nn.Linear(latent_dim, hidden), torch.nn.Tanh(),
                            torch.nn.Linear(hidden, embed_dim))
    with torch.no_grad():
        for layer in (g[0], g[2]):
            fan_in = layer.weight.shape[1]
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen)
                               * (scale / math.sqrt(fan_in)))
            layer.bias.copy_(0.1 * torch.randn(layer.bias.shape, generator=gen))
    return g


@dataclass(frozen=True, eq=False)
class SimulatedTopClus:
    """A corpus drawn from :func:`model`, with the truth that produced it.

    ``embeddings`` (N, D_emb) float32 are aligned with ``corpus.word_ids``; ``t`` (K, r′),
    ``doc_topics`` (D,) = c_d, ``token_topics`` (N,) = k_n, ``z`` (N, r′).  The vocabulary has
    ``words_per_topic`` words per topic, ``"t<k>_w<j>"``; a token's word is drawn uniformly
    from its topic's words (so a word's tokens share one topic).  ``corpus.labels`` = c_d.
    """

    corpus: Corpus
    embeddings: np.ndarray
    t: np.ndarray
    doc_topics: np.ndarray
    token_topics: np.ndarray
    z: np.ndarray
    decoder: torch.nn.Module
    hyper: TopClusHyper
    seed: int


def simulate(
    num_docs: int,
    doc_length: int,
    hyper: TopClusHyper,
    embed_dim: int = 32,
    words_per_topic: int = 10,
    decoder: torch.nn.Module | None = None,
    seed: int = 0,
) -> SimulatedTopClus:
    """Planted vMF clusters: run :func:`model` forward with a random decoder.

    Same seed ⇒ identical corpus; torch's global RNG is forked, seeded and restored (the
    caller's RNG states are untouched).  ``decoder`` defaults to
    :func:`random_decoder` ``(r′, embed_dim, seed=seed)``.
    """
    hyper.validate()
    for name, v, lo in (("num_docs", num_docs, 1), ("doc_length", doc_length, 1),
                        ("embed_dim", embed_dim, 1), ("words_per_topic", words_per_topic, 1)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    if decoder is None:
        decoder = random_decoder(hyper.latent_dim, embed_dim, seed=seed)
    lengths = np.full(num_docs, doc_length, dtype=np.int64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        # a private parameter store: simulating leaves the caller's Pyro params untouched
        with pyro.get_param_store().scope(), poutine.block(), torch.no_grad():
            s = model(lengths, hyper, decoder)
        k = s.k.numpy().astype(np.int64)
        j = torch.randint(words_per_topic, (k.size,)).numpy()
    word_ids = (k * words_per_topic + j).astype(np.int32)
    vocab = [f"t{a}_w{b}" for a in range(hyper.num_topics) for b in range(words_per_topic)]
    offsets = np.zeros(num_docs + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    c = s.c.numpy().astype(np.int64)
    corpus = Corpus(word_ids, offsets, vocab, labels=c,
                    report={"simulated": "topclus", "seed": int(seed)})
    return SimulatedTopClus(corpus=corpus, embeddings=s.h.numpy().astype(np.float32),
                            t=s.t.numpy().astype(np.float64), doc_topics=c, token_topics=k,
                            z=s.z.numpy().astype(np.float64), decoder=decoder, hyper=hyper,
                            seed=int(seed))
