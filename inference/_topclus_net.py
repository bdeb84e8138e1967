"""TopClus's networks and the pieces of its EM that act on them (Meng et al., WWW 2022, §3):
the configuration, the attention / encoder / decoder / topic-centre module, token and
document encoders, the E-step target of Eq. 3, the two K-means initialisations of the topic
centres, document batches and the batch losses (Eqs. 4–6).  The training loop, checkpoints
and the ``pt.fit`` entry point are in :mod:`ppltopics.inference.topclus`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ppltopics.corpus import Corpus


# ---------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class TopClusConfig:
    """Everything that determines a chain's training (the checkpoint fingerprint).

    Schedule: ``pretrain_steps`` Adam steps of autoencoder pretraining, then ``steps`` Adam
    steps of EM; ``None`` means ``pretrain_epochs`` / ``epochs`` passes over the documents
    (a pass is ⌈D / batch_size⌉ steps).  Either phase also ends when its epoch-mean loss
    fell by less than a fraction ``tol`` of itself in each of the last two epochs
    (``tol = 0``: never).  ``target``: ``"batch"`` recomputes the sharpened target q from the
    batch's own p (the authors' code), ``"epoch"`` from all N tokens once per epoch (the
    paper's Eq. 3).  ``init``: ``"words"`` starts t_k from K-means over each word type's
    mean latent vector weighted by its frequency (the authors' code), ``"tokens"`` from
    spherical K-means over up to ``kmeans_max_points`` token latents.  ``precision``:
    ``"bf16"`` runs the training batches' forward and backward passes under
    ``torch.autocast`` with bfloat16 (weights and Adam stay float32; about 2× faster on CPUs
    with AVX-512 BF16), ``"fp32"`` (default) does not.
    """

    num_topics: int
    embed_dim: int
    latent_dim: int = 100
    enc_hidden: tuple[int, ...] = (500, 500, 1000)
    dec_hidden: tuple[int, ...] = (1000, 500, 500)
    kappa: float = 10.0
    lam: float = 0.1
    epochs: int = 20
    pretrain_epochs: int = 20
    steps: int | None = None
    pretrain_steps: int | None = None
    tol: float = 0.0
    target: str = "batch"
    init: str = "words"
    precision: str = "fp32"
    batch_size: int = 32
    lr: float = 5e-4
    kmeans_max_points: int = 20000
    kmeans_iters: int = 30

    def validate(self) -> None:
        def _int(name: str, lo: int, optional: bool = False) -> None:
            v = getattr(self, name)
            if optional and v is None:
                return
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}"
                                 f"{' or None' if optional else ''}, got {v!r}")

        for name, lo in (("num_topics", 1), ("embed_dim", 1), ("latent_dim", 2),
                         ("epochs", 1), ("pretrain_epochs", 0), ("batch_size", 1),
                         ("kmeans_max_points", 1), ("kmeans_iters", 1)):
            _int(name, lo)
        _int("steps", 1, optional=True)
        _int("pretrain_steps", 0, optional=True)
        for name in ("kappa", "lr"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, int | float) and math.isfinite(v)
                                           and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        for name in ("lam", "tol"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, int | float) and math.isfinite(v)
                                           and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        for name, choices in (("target", ("batch", "epoch")), ("init", ("words", "tokens")),
                              ("precision", ("fp32", "bf16"))):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got "
                                 f"{getattr(self, name)!r}")
        for name in ("enc_hidden", "dec_hidden"):
            v = getattr(self, name)
            if not all(isinstance(x, int) and x >= 1 for x in v):
                raise ValueError(f"{name} must be a tuple of positive integers, got {v!r}")

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["enc_hidden"] = list(self.enc_hidden)
        d["dec_hidden"] = list(self.dec_hidden)
        return d


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class TopClusNet(nn.Module):
    """Attention module A = {W, b, v}, encoder f, decoder g and topic centres t (see module
    docstring).  Parameters are initialised by PyTorch's defaults drawn from ``generator``."""

    def __init__(self, cfg: TopClusConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        D, r, K = cfg.embed_dim, cfg.latent_dim, cfg.num_topics
        self.kappa = float(cfg.kappa)
        with torch.random.fork_rng(devices=[]):
            if generator is not None:
                torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
            self.attn = nn.Linear(D, D)
            self.attn_v = nn.Parameter(torch.randn(D) / math.sqrt(D))
            self.f = _mlp([D, *cfg.enc_hidden, r])
            self.g = _mlp([r, *cfg.dec_hidden, D])
            self.topics = nn.Parameter(F.normalize(torch.randn(K, r), dim=-1))

    def encode(self, h: torch.Tensor) -> torch.Tensor:
        """z = f(h)/‖f(h)‖ on the unit sphere."""
        return F.normalize(self.f(h), dim=-1)

    def topic_units(self) -> torch.Tensor:
        return F.normalize(self.topics, dim=-1)

    def log_posterior(self, z: torch.Tensor) -> torch.Tensor:
        """log p(t_k | z) = κ z·t_k − logsumexp_k′ κ z·t_k′ (Eq. 2), (n, K)."""
        return F.log_softmax(self.kappa * z @ self.topic_units().T, dim=-1)

    def doc_embed(self, h: torch.Tensor, seg: torch.Tensor, num_docs: int) -> torch.Tensor:
        """h^(d) = Σ_i α_i h_i, α = softmax over each document's tokens of tanh(W h_i + b)·v."""
        a = torch.tanh(self.attn(h)) @ self.attn_v  # (n,)
        amax = torch.full((num_docs,), -torch.inf, device=h.device, dtype=a.dtype)
        amax = amax.scatter_reduce(0, seg, a, reduce="amax", include_self=True)
        e = torch.exp(a - amax[seg])
        den = torch.zeros(num_docs, device=h.device, dtype=a.dtype).index_add(0, seg, e)
        alpha = e / den[seg]
        return torch.zeros(num_docs, h.shape[1], device=h.device, dtype=h.dtype).index_add(
            0, seg, alpha[:, None] * h)


# ---------------------------------------------------------------------- input checks
def check_embeddings(embeddings: Any, corpus: Corpus) -> np.ndarray:
    """The (num_tokens, D) token-embedding array of ``corpus``; clear errors otherwise.

    Accepts a :mod:`ppltopics.plm` result (``.vectors``), a numpy array (float16 memmaps are
    read lazily) or a torch tensor.  Checks the shape and that every entry is finite.
    """
    if embeddings is None:
        raise TypeError("no embeddings")
    arr = getattr(embeddings, "vectors", embeddings)
    if isinstance(arr, torch.Tensor):
        arr = arr.detach().cpu().numpy()
    if not isinstance(arr, np.ndarray):
        try:
            arr = np.asarray(arr)
        except Exception as e:  # pragma: no cover - exotic inputs
            raise TypeError(f"embeddings must be an array, got {type(arr).__name__}") from e
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"embeddings must be floating point, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] != corpus.num_tokens or arr.shape[1] < 1:
        raise ValueError(
            f"embeddings must be (corpus.num_tokens={corpus.num_tokens}, D), one row per kept "
            f"token in corpus.word_ids order; got shape {arr.shape}")
    for b in range(0, arr.shape[0], 65536):
        if not np.isfinite(arr[b:b + 65536]).all():
            raise ValueError("embeddings contain NaN or infinite values")
    return arr


def _rows(arr: np.ndarray, idx: np.ndarray | slice, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(arr[idx], dtype=np.float32)).to(device)


# ---------------------------------------------------------------------- E-step and encoders
@torch.no_grad()
def encode_tokens(net: TopClusNet, emb: np.ndarray, device: torch.device,
                  chunk: int = 8192) -> torch.Tensor:
    """z_i = f(h_i)/‖f(h_i)‖ of every token, (N, r′) on ``device``."""
    out = [net.encode(_rows(emb, slice(b, b + chunk), device))
           for b in range(0, emb.shape[0], chunk)]
    return torch.cat(out)


@torch.no_grad()
def e_step_target(net: TopClusNet, emb: np.ndarray, device: torch.device
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 3 over all N tokens: ``(q, p, z)``, q = (p²/s_k) normalised, s_k = Σ_i p(t_k|z_i),
    p = p(t_k|z_i), z the token latents."""
    z = encode_tokens(net, emb, device)
    p = torch.exp(net.log_posterior(z))
    return sharpened_target(p), p, z


def spherical_kmeans(x: torch.Tensor, k: int, generator: torch.Generator, iters: int = 30
                     ) -> torch.Tensor:
    """Spherical K-means (cosine) of unit rows ``x`` with k-means++ seeding; (k, r′) centres."""
    n = x.shape[0]
    if n < k:
        raise ValueError(f"spherical K-means needs at least k={k} points, got {n}")
    first = int(torch.randint(n, (1,), generator=generator))
    centres = [x[first]]
    best = 1.0 - x @ x[first]
    for _ in range(1, k):
        w = best.clamp_min(0).double().cpu()
        if float(w.sum()) <= 0:
            j = int(torch.randint(n, (1,), generator=generator))
        else:
            j = int(torch.multinomial(w, 1, generator=generator))
        centres.append(x[j])
        best = torch.minimum(best, 1.0 - x @ x[j])
    c = torch.stack(centres)
    for _ in range(iters):
        sim = x @ c.T
        assign = sim.argmax(1)
        new = torch.zeros_like(c).index_add(0, assign, x)
        counts = torch.bincount(assign, minlength=k)
        empty = (counts == 0).nonzero().flatten()
        if empty.numel():  # re-seed empty clusters at the worst-fitting points
            worst = sim.max(1).values.argsort()[:empty.numel()]
            new[empty] = x[worst]
        new = F.normalize(new, dim=-1)
        if torch.allclose(new, c):
            c = new
            break
        c = new
    return c


def word_kmeans(z: torch.Tensor, word_ids: np.ndarray, k: int, seed: int) -> torch.Tensor:
    """Topic centres from K-means over word types (the authors' ``cluster_init``): each word's
    mean token latent z̄_w (not renormalised), weighted by its frequency n_w, clustered by
    Euclidean K-means (scikit-learn, k-means++, ``random_state=seed``); the centres are
    normalised onto the sphere, (k, r′)."""
    from sklearn.cluster import KMeans

    wid = torch.from_numpy(np.asarray(word_ids, dtype=np.int64)).to(z.device)
    V = int(wid.max()) + 1
    total = torch.zeros(V, z.shape[1], dtype=torch.float64, device=z.device)
    total = total.index_add(0, wid, z.double())
    count = torch.bincount(wid, minlength=V)
    seen = count > 0
    if int(seen.sum()) < k:
        raise ValueError(f"init='words' needs at least num_topics={k} word types, the corpus "
                         f"has {int(seen.sum())}; use init='tokens'")
    mean = (total[seen] / count[seen, None]).cpu().numpy()
    km = KMeans(n_clusters=k, n_init=1, random_state=seed)
    km.fit(mean, sample_weight=count[seen].cpu().numpy().astype(np.float64))
    return F.normalize(torch.from_numpy(km.cluster_centers_).to(z), dim=-1)


# ---------------------------------------------------------------------- batches
def _doc_batches(offsets: np.ndarray, order: np.ndarray, batch_size: int
                 ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(token indices, local doc index per token, doc ids) of consecutive doc batches."""
    lengths = np.diff(offsets)
    for b in range(0, order.size, batch_size):
        docs = order[b:b + batch_size]
        docs = docs[lengths[docs] > 0]
        if docs.size == 0:
            continue
        idx = np.concatenate([np.arange(offsets[d], offsets[d + 1]) for d in docs])
        seg = np.repeat(np.arange(docs.size), lengths[docs])
        yield idx, seg, docs


def sharpened_target(p: torch.Tensor) -> torch.Tensor:
    """Eq. 3: q(t_k | z_i) = (p_ik² / s_k) / Σ_k′ (p_ik′² / s_k′), s_k = Σ_i p_ik over the rows
    of ``p`` (all tokens of the corpus, or of one batch)."""
    q = p * p / p.sum(0)
    return q / q.sum(1, keepdim=True)


def _batch_losses(net: TopClusNet, h: torch.Tensor, seg: torch.Tensor, num_docs: int,
                  q: torch.Tensor | None, em: bool) -> dict[str, torch.Tensor]:
    """The batch's L_pre (Eq. 6) and, in EM (``em``), L_clus (Eq. 4) against ``q`` (rows of
    the epoch's target) or, when ``q`` is None, the batch's own sharpened target, and L_rec
    (Eq. 5).  Also returns the token latents ``z`` and ``log_p`` (detached) for monitors."""
    z = net.encode(h)
    out = {"L_pre": ((net.g(z) - h) ** 2).mean()}
    if not em:
        return out
    log_p = net.log_posterior(z)
    if q is None:
        q = sharpened_target(torch.exp(log_p.detach()))
    out["L_clus"] = -(q * log_p).sum(1).mean()
    hd = net.doc_embed(h, seg, num_docs)
    pd = torch.exp(net.log_posterior(net.encode(hd)))
    rec = pd @ net.g(net.topic_units())
    counts = torch.bincount(seg, minlength=num_docs).to(h.dtype)
    hbar = torch.zeros_like(hd).index_add(0, seg, h) / counts[:, None]
    out["L_rec"] = ((rec - hbar) ** 2).mean()
    out["z"], out["log_p"] = z.detach(), log_p.detach()
    return out


@torch.no_grad()
def doc_posteriors(net: TopClusNet, emb: np.ndarray, offsets: np.ndarray,
                   device: torch.device, batch_size: int = 256
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(theta, z_doc, h_doc)``: p(t_k | z^(d)) (D, K), z^(d) = f(h^(d))/‖f(h^(d))‖ (D, r′)
    and the attention-pooled document embedding in the language model's space,
    h^(d)/‖h^(d)‖ (D, D_emb, float32), for every document; an empty document gets θ = 1/K
    and zero vectors."""
    D = offsets.size - 1
    K = net.topics.shape[0]
    theta = np.full((D, K), 1.0 / K)
    zd = np.zeros((D, net.topics.shape[1]))
    hd = np.zeros((D, emb.shape[1]), dtype=np.float32)
    order = np.arange(D)
    for idx, seg, docs in _doc_batches(offsets, order, batch_size):
        h = _rows(emb, idx, device)
        s = torch.from_numpy(seg).to(device)
        hdoc = net.doc_embed(h, s, docs.size)
        z = net.encode(hdoc)
        theta[docs] = torch.exp(net.log_posterior(z)).double().cpu().numpy()
        zd[docs] = z.double().cpu().numpy()
        hd[docs] = F.normalize(hdoc.float(), dim=-1).cpu().numpy()
    return theta, zd, hd


def state_dict_bytes(net: nn.Module) -> bytes:
    """safetensors bytes of a module's weights (CPU, contiguous)."""
    from safetensors.torch import save as st_save

    return st_save({k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()})


def load_state_dict_bytes(net: nn.Module, blob: bytes) -> None:
    from safetensors.torch import load as st_load

    net.load_state_dict(st_load(blob))
