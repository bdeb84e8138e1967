"""TopClus training (Meng et al., "Topic Discovery via Latent Space Clustering of Pretrained
Language Model Representations", WWW 2022, §3 and Algorithm 1).

Networks (paper §3.1–3.3, §4.1; :class:`TopClusNet`):

* attention document embedding: l_i = tanh(W h_i + b), α_i = softmax_i(l_i·v),
  h^(d) = Σ_i α_i h_i over the tokens of document d (W: D×D, b, v ∈ R^D);
* encoder f: D → 500 → 500 → 1000 → r′ (ReLU between layers), z = f(h)/‖f(h)‖ on S^{r′−1};
* decoder g: r′ → 1000 → 500 → 500 → D (ReLU between layers);
* topic centres t_k ∈ S^{r′−1} (a K×r′ parameter, renormalised after every step).

Posterior of a latent vector (vMF topics with a shared κ and uniform prior, Eq. 2):
p(t_k | z) = exp(κ z·t_k) / Σ_k′ exp(κ z·t_k′).

Training (Algorithm 1):

1. pretrain f, g on L_pre = mean_i ‖h_i − g(f(h_i))‖²/D   (Eq. 6) for ``pretrain_epochs``;
2. t_k ← spherical K-means of the token latents z_i (k-means++ seeding, cosine);
3. per epoch, **E-step** (Eq. 3) over *all* N tokens of the corpus:
   s_k = Σ_{i=1}^N p(t_k | z_i),  q(t_k | z_i) = (p(t_k|z_i)²/s_k) / Σ_k′ (p(t_k′|z_i)²/s_k′);
   then **M-step**: one pass of Adam(lr) over shuffled batches of ``batch_size`` documents on
   λ·L_clus + L_rec + L_pre with
   L_clus = −mean_i Σ_k q(t_k|z_i) log p(t_k|z_i)                   (Eq. 4),
   L_rec  = mean_d ‖Σ_k p(t_k|z^(d)) g(t_k) − h̄^(d)‖²/D, z^(d) = f(h^(d))   (Eq. 5),
   L_pre as above (Eq. 6), on the tokens of the batch; h̄^(d) is the mean token embedding.

Outputs: topics = words (with at least ``min_word_count`` tokens) ranked by the mean over the
word's tokens of cos(z_i, t_k) = z̄_w·t_k, the cosine of the word's mean latent vector to t_k
scaled by that vector's length (the authors' code ranks by this mean cosine, with a minimum of
6 occurrences; the length down-weights words whose contexts scatter, which a renormalised
mean would not), documents' p(t_k | z^(d)).

Deviations from the paper, and why:

* Token filter: the paper keeps nouns/verbs/adjectives (a POS tagger) for h̄^(d) and the
  topic words.  No tagger is installed offline, so one filter is used everywhere — training
  tokens, attention, h̄^(d) and top-word ranking: the corpus's own kept tokens (stopwords,
  punctuation, digits and rare words removed by :class:`~ppltopics.corpus.Corpus`);
  :func:`ppltopics.plm.token_embeddings` returns one contextual vector per kept token.
  The attention therefore runs over kept tokens only, not every word piece.
* Losses are means (per token / per document / per coordinate, as the authors' code uses
  ``MSELoss``/``batchmean``) instead of the paper's sums, so λ = 0.1 weighs them as there.
* s_k is the soft frequency over the whole corpus (Eq. 3 exactly, N = all tokens,
  recomputed once per epoch at the E-step), not over a window; q is held fixed during the
  epoch's M-step.  (The authors' code instead recomputes q from the current p within every
  batch of 32 documents; we follow the paper's EM.)
* Pretraining uses the same document batches and Adam(lr) as the M-step; the EM phase starts
  a fresh Adam over all parameters.
* Spherical K-means runs on at most ``kmeans_max_points`` (20 000) randomly chosen token
  latents (30 Lloyd iterations; the authors' code clusters word-type mean latents weighted
  by frequency, which weighs words alike up to the within-word spread).
* Several seeds are several "chains" (``spec.num_chains``); EM has no posterior to average
  over, so point estimates (topics, θ, networks) are those of the chain with the lowest final
  loss, and the chains measure stability.  The t_k of two seeds live in different latent
  spaces (each seed has its own encoder f), so they are compared through the shared
  vocabulary: every E-step records each topic's word-score profile cos(mean latent of word
  w, t_k) over the ``profile_size`` most frequent words, and these profiles are
  Hungarian-matched to chain 0's by (centred) cosine, i.e. Pearson correlation
  (``stability`` in sample_stats, per epoch; ``topic_stability`` per topic at the end).
* Run settings: ``spec.num_samples``, ``warmup`` and ``thin`` are ignored (the run length is
  ``pretrain_epochs + epochs``); ``spec.seed`` seeds the chains as in
  :mod:`ppltopics.inference.runner` (``SeedSequence(seed).spawn(num_chains)``), each chain owns
  a ``torch.Generator`` (weight init, K-means, shuffling), so a run is deterministic on CPU
  for a fixed number of torch threads.  Checkpoints (``spec.checkpoint_dir``) are written
  after every epoch as safetensors (weights, Adam moments, generator) + JSON and resumed.
* The paper's defaults (K = 100, 20 epochs, BERT-base) are kept as defaults except the PLM,
  which is whatever :mod:`ppltopics.plm` loads (all-MiniLM-L6-v2 here, D = 384).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ppltopics.corpus import Corpus

__all__ = [
    "TopClusConfig",
    "TopClusNet",
    "EpochStats",
    "ChainFit",
    "train_chain",
    "spherical_kmeans",
    "e_step_target",
    "encode_tokens",
    "doc_posteriors",
    "check_embeddings",
    "fit_model",
]


# ---------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class TopClusConfig:
    """Everything that determines a chain's training (the checkpoint fingerprint)."""

    num_topics: int
    embed_dim: int
    latent_dim: int = 100
    enc_hidden: tuple[int, ...] = (500, 500, 1000)
    dec_hidden: tuple[int, ...] = (1000, 500, 500)
    kappa: float = 10.0
    lam: float = 0.1
    epochs: int = 20
    pretrain_epochs: int = 5
    batch_size: int = 32
    lr: float = 5e-4
    kmeans_max_points: int = 20000
    kmeans_iters: int = 30

    def validate(self) -> None:
        def _int(name: str, lo: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")

        for name, lo in (("num_topics", 1), ("embed_dim", 1), ("latent_dim", 2),
                         ("epochs", 1), ("pretrain_epochs", 0), ("batch_size", 1),
                         ("kmeans_max_points", 1), ("kmeans_iters", 1)):
            _int(name, lo)
        for name in ("kappa", "lr"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, int | float) and math.isfinite(v)
                                           and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        if isinstance(self.lam, bool) or not (isinstance(self.lam, int | float)
                                              and math.isfinite(self.lam) and self.lam >= 0):
            raise ValueError(f"lam must be a finite number >= 0, got {self.lam!r}")
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
    s = p.sum(0)
    q = p * p / s
    q = q / q.sum(1, keepdim=True)
    return q, p, z


@torch.no_grad()
def topic_word_profile(net: TopClusNet, z: torch.Tensor, word_ids: torch.Tensor,
                       words: torch.Tensor) -> torch.Tensor:
    """Mean over word w's tokens of cos(z_i, t_k) for the words ``words``, (K, len(words)):
    the topic's word-score profile, comparable across seeds (the vocabulary is shared, the
    latent spaces are not)."""
    V = int(max(int(word_ids.max()), int(words.max())) + 1)
    wsum = torch.zeros(V, z.shape[1], device=z.device, dtype=z.dtype).index_add(0, word_ids, z)
    count = torch.bincount(word_ids, minlength=V).clamp_min(1).to(z.dtype)
    return net.topic_units() @ (wsum[words] / count[words, None]).T


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


def _batch_losses(net: TopClusNet, h: torch.Tensor, seg: torch.Tensor, num_docs: int,
                  q: torch.Tensor | None) -> dict[str, torch.Tensor]:
    z = net.encode(h)
    out = {"L_pre": ((net.g(z) - h) ** 2).mean()}
    if q is None:
        return out
    out["L_clus"] = -(q * net.log_posterior(z)).sum(1).mean()
    hd = net.doc_embed(h, seg, num_docs)
    pd = torch.exp(net.log_posterior(net.encode(hd)))
    rec = pd @ net.g(net.topic_units())
    counts = torch.bincount(seg, minlength=num_docs).to(h.dtype)
    hbar = torch.zeros_like(hd).index_add(0, seg, h) / counts[:, None]
    out["L_rec"] = ((rec - hbar) ** 2).mean()
    return out


@torch.no_grad()
def doc_posteriors(net: TopClusNet, emb: np.ndarray, offsets: np.ndarray,
                   device: torch.device, batch_size: int = 256
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(theta, z_doc)``: p(t_k | z^(d)) (D, K) and z^(d) = f(h^(d)) (D, r′) for every
    document; an empty document gets θ = 1/K and a zero latent vector."""
    D = offsets.size - 1
    K = net.topics.shape[0]
    theta = np.full((D, K), 1.0 / K)
    zd = np.zeros((D, net.topics.shape[1]))
    order = np.arange(D)
    for idx, seg, docs in _doc_batches(offsets, order, batch_size):
        h = _rows(emb, idx, device)
        s = torch.from_numpy(seg).to(device)
        z = net.encode(net.doc_embed(h, s, docs.size))
        theta[docs] = torch.exp(net.log_posterior(z)).double().cpu().numpy()
        zd[docs] = z.double().cpu().numpy()
    return theta, zd


# ---------------------------------------------------------------------- one chain
@dataclass
class EpochStats:
    loss: float
    L_clus: float
    L_rec: float
    L_pre: float
    changed: float  # fraction of tokens whose E-step argmax changed since the last epoch
    seconds: float
    share: list[float]  # token topic shares Σ_i p(t_k|z_i)/N at the E-step, sorted descending


@dataclass
class ChainFit:
    chain: int
    net: TopClusNet
    history: list[EpochStats]
    pretrain: list[float]
    profiles: np.ndarray  # (epochs, K, M) topic-word profiles at every E-step
    seconds: float
    resumed_from: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _chain_seed(seed: int, num_chains: int, chain: int) -> int:
    ss = np.random.SeedSequence(seed).spawn(num_chains)[chain]
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def _save_ckpt(path: Path, fp: dict[str, Any], done: int, net: TopClusNet,
               opt: torch.optim.Optimizer, gen: torch.Generator, history: list[EpochStats],
               pretrain: list[float], profiles: list[np.ndarray], seconds: float,
               assign: torch.Tensor | None = None) -> None:
    from safetensors.torch import save as st_save

    from ppltopics.persistence import save_checkpoint

    tensors = {f"net.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    osd = opt.state_dict()
    for pid, st in osd["state"].items():
        for key, val in st.items():
            t = val if isinstance(val, torch.Tensor) else torch.tensor(val)
            tensors[f"adam.{pid}.{key}"] = t.detach().cpu().contiguous()
    tensors["generator"] = gen.get_state()
    if assign is not None:
        tensors["assign"] = assign.detach().cpu().contiguous()
    if profiles:
        tensors["profiles"] = torch.from_numpy(np.stack(profiles).astype(np.float32))
    meta = {"fingerprint": fp, "done": done, "seconds": seconds,
            "param_groups": osd["param_groups"],
            "history": [asdict(h) for h in history], "pretrain": pretrain}
    save_checkpoint(path, "topclus-checkpoint", {}, json.loads(json.dumps(meta)),
                    extra_files={"state.safetensors": st_save(tensors)})


def _load_ckpt(path: Path, fp: dict[str, Any]) -> dict[str, Any] | None:
    from safetensors.torch import load as st_load

    from ppltopics.persistence import load_checkpoint

    def tensors(folder: Path, _meta: dict[str, Any]) -> dict[str, torch.Tensor]:
        return st_load((folder / "state.safetensors").read_bytes())

    loaded = load_checkpoint(path, "topclus-checkpoint", fp, read_extra=tensors)
    return None if loaded is None else {"meta": loaded[1], "tensors": loaded[2]}


def _optimizer(net: TopClusNet, cfg: TopClusConfig, pretrain: bool) -> torch.optim.Adam:
    params = list(net.f.parameters()) + list(net.g.parameters()) if pretrain \
        else list(net.parameters())
    return torch.optim.Adam(params, lr=cfg.lr)


def train_chain(
    cfg: TopClusConfig, emb: np.ndarray, offsets: np.ndarray, seed: int, chain: int = 0,
    device: str | torch.device = "cpu", checkpoint: str | Path | None = None,
    fingerprint: dict[str, Any] | None = None, bar: Any = None,
    word_ids: np.ndarray | None = None, profile_words: np.ndarray | None = None,
) -> ChainFit:
    """Pretrain, initialise and run the EM epochs of one chain (Algorithm 1).

    With ``word_ids`` (per token) and ``profile_words`` (word ids), every E-step also records
    the topic-word profile (:func:`topic_word_profile`) of those words, for stability."""
    device = torch.device(device)
    gen = torch.Generator().manual_seed(int(seed))
    net = TopClusNet(cfg, gen).to(device)
    total = cfg.pretrain_epochs + cfg.epochs
    history: list[EpochStats] = []
    pretrain: list[float] = []
    profiles: list[np.ndarray] = []
    done, seconds = 0, 0.0
    path = None if checkpoint is None else Path(checkpoint)
    fp = json.loads(json.dumps({**(fingerprint or {}), "chain_seed": int(seed)}))
    opt = _optimizer(net, cfg, pretrain=cfg.pretrain_epochs > 0)
    prev_assign: torch.Tensor | None = None
    state = None if path is None else _load_ckpt(path, fp)
    if state is not None:
        meta, tensors = state["meta"], state["tensors"]
        done = int(meta["done"])
        seconds = float(meta["seconds"])
        history = [EpochStats(**h) for h in meta["history"]]
        pretrain = list(meta["pretrain"])
        if "profiles" in tensors:
            profiles = list(tensors["profiles"].numpy())
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        net.to(device)
        # the optimiser saved after the last pretraining epoch is still the pretraining one
        opt = _optimizer(net, cfg, pretrain=0 < done <= cfg.pretrain_epochs)
        osd: dict[str, Any] = {"state": {}, "param_groups": meta["param_groups"]}
        for k, v in tensors.items():
            if k.startswith("adam."):
                _, pid, key = k.split(".", 2)
                osd["state"].setdefault(int(pid), {})[key] = v.to(device) if key != "step" \
                    else v
        opt.load_state_dict(osd)
        gen.set_state(tensors["generator"])
        if "assign" in tensors:
            prev_assign = tensors["assign"].to(device)
        if bar is not None:
            bar.update(done)
    N = emb.shape[0]
    D = offsets.size - 1
    track = word_ids is not None and profile_words is not None
    if track:
        wid_t = torch.from_numpy(np.asarray(word_ids, dtype=np.int64)).to(device)
        pw_t = torch.from_numpy(np.asarray(profile_words, dtype=np.int64)).to(device)
    t0 = time.perf_counter()
    for ep in range(done, total):
        te = time.perf_counter()
        em = ep >= cfg.pretrain_epochs
        if em and ep == cfg.pretrain_epochs:
            # Algorithm 1, line 2: t_k <- spherical K-means on the latent sphere
            with torch.no_grad():
                z = encode_tokens(net, emb, device)
                m = min(N, cfg.kmeans_max_points)
                pick = torch.randperm(N, generator=gen)[:m].to(device)
                net.topics.data.copy_(spherical_kmeans(z[pick], cfg.num_topics, gen,
                                                       cfg.kmeans_iters))
            opt = _optimizer(net, cfg, pretrain=False)
        q = None
        changed = float("nan")
        share: list[float] = []
        if em:
            q, p, zt = e_step_target(net, emb, device)
            if track:
                profiles.append(topic_word_profile(net, zt, wid_t, pw_t).float().cpu().numpy())
            del zt
            share = sorted((p.mean(0)).double().cpu().tolist(), reverse=True)
            assign = p.argmax(1)
            if prev_assign is not None:
                changed = float((assign != prev_assign).float().mean())
            prev_assign = assign
        order = torch.randperm(D, generator=gen).numpy()
        sums = {"L_clus": 0.0, "L_rec": 0.0, "L_pre": 0.0, "loss": 0.0}
        nb = 0
        net.train()
        for idx, seg, docs in _doc_batches(offsets, order, cfg.batch_size):
            h = _rows(emb, idx, device)
            s = torch.from_numpy(seg).to(device)
            qb = None if q is None else q[torch.from_numpy(idx).to(device)]
            losses = _batch_losses(net, h, s, docs.size, qb)
            loss = losses["L_pre"] if q is None else \
                cfg.lam * losses["L_clus"] + losses["L_rec"] + losses["L_pre"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if em:
                with torch.no_grad():
                    net.topics.data.copy_(F.normalize(net.topics.data, dim=-1))
            for k, v in losses.items():
                sums[k] += float(v.detach())
            sums["loss"] += float(loss.detach())
            nb += 1
        nb = max(nb, 1)
        if em:
            history.append(EpochStats(loss=sums["loss"] / nb, L_clus=sums["L_clus"] / nb,
                                      L_rec=sums["L_rec"] / nb, L_pre=sums["L_pre"] / nb,
                                      changed=changed, seconds=time.perf_counter() - te,
                                      share=share))
        else:
            pretrain.append(sums["L_pre"] / nb)
        if bar is not None:
            bar.set_postfix_str(f"{'EM' if em else 'pretrain'} loss={sums['loss'] / nb:.4f}",
                                refresh=False)
            bar.update(1)
        if path is not None:
            _save_ckpt(path, fp, ep + 1, net, opt, gen, history, pretrain, profiles,
                       seconds + time.perf_counter() - t0, prev_assign)
    seconds += time.perf_counter() - t0
    net.eval()
    return ChainFit(chain=chain, net=net, history=history, pretrain=pretrain,
                    profiles=np.stack(profiles) if profiles else np.zeros((0,)),
                    seconds=seconds, resumed_from=done)


# ---------------------------------------------------------------------- estimates
@torch.no_grad()
def chain_estimates(net: TopClusNet, emb: np.ndarray, corpus: Corpus, device: torch.device
                    ) -> dict[str, np.ndarray]:
    """Point estimates of a trained chain: ``topic_latent`` t_k (K, r′), ``topic_decoded``
    g(t_k) (K, D), ``word_latent`` (V, r′) the mean token latent z̄_w of each word (not
    renormalised: its length ≤ 1 measures how consistent the word's contexts are),
    ``word_count`` (V,), ``topic_word`` (K, V) = z̄_w·t_k = mean over the word's tokens of
    cos(z_i, t_k), ``theta`` (D, K) p(t_k|z^(d)), ``doc_latent`` (D, r′)."""
    z = encode_tokens(net, emb, device).double().cpu()
    V = len(corpus.vocab)
    wid = torch.from_numpy(corpus.word_ids.astype(np.int64))
    wsum = torch.zeros(V, z.shape[1], dtype=torch.float64).index_add(0, wid, z)
    count = torch.bincount(wid, minlength=V)
    wlat = wsum / count.clamp_min(1)[:, None]
    t = net.topic_units().double().cpu()
    theta, zd = doc_posteriors(net, emb, corpus.doc_offsets, device)
    return {
        "topic_latent": t.numpy(),
        "topic_decoded": net.g(net.topic_units()).double().cpu().numpy(),
        "word_latent": wlat.numpy(),
        "word_count": count.numpy().astype(np.int64),
        "topic_word": (t @ wlat.T).numpy(),
        "theta": theta,
        "doc_latent": zd,
    }


def matched_cosine(ref: np.ndarray, other: np.ndarray, centre: bool = True) -> np.ndarray:
    """Per-topic cosine of ``other``'s topic rows Hungarian-matched to ``ref``'s, (K,)
    (:func:`ppltopics.diagnostics.match_topics`, cost "cosine").  With ``centre`` every row
    is centred first, i.e. the Pearson correlation of the topics' word-score profiles."""
    from ppltopics.diagnostics import match_topics

    a = np.asarray(ref, dtype=np.float64)
    b = np.asarray(other, dtype=np.float64)
    if centre:
        a = a - a.mean(1, keepdims=True)
        b = b - b.mean(1, keepdims=True)
    perm = match_topics(a, b, cost="cosine")
    an = a / np.linalg.norm(a, axis=1, keepdims=True)
    bn = b[perm] / np.linalg.norm(b[perm], axis=1, keepdims=True)
    return (an * bn).sum(1)


def _emb_fingerprint(emb: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(str(emb.shape).encode())
    step = max(1, emb.shape[0] // 512)
    h.update(np.ascontiguousarray(emb[::step], dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, min(n, old)))
    try:
        yield
    finally:
        torch.set_num_threads(old)


# ---------------------------------------------------------------------- entry point
def fit_model(
    corpus: Corpus, vectors: Any = None, num_topics: int = 100, spec: Any = None,
    embeddings: Any = None, model: str | None = None, layer: int = -1, epochs: int = 20,
    pretrain_epochs: int = 5, kappa: float = 10.0, lam: float = 0.1, latent_dim: int = 100,
    batch_size: int = 32, lr: float = 5e-4, device: str = "cpu", threads: int = 2,
    min_word_count: int = 5, enc_hidden: Sequence[int] = (500, 500, 1000),
    dec_hidden: Sequence[int] = (1000, 500, 500), embed_batch_size: int = 32,
    cache_dir: str | None = None, profile_size: int = 2000,
) -> Any:
    """``pt.fit("topclus", corpus, num_topics=K, ...)``: train ``spec.num_chains`` seeds of
    TopClus on the corpus's contextual token embeddings and return a
    :class:`~ppltopics.posteriors.topclus.TopClusPosterior`.

    ``embeddings``: precomputed token embeddings (a :func:`ppltopics.plm.token_embeddings`
    result or an array (num_tokens, D), rows in ``corpus.word_ids`` order); when None they
    are computed with ``pt.plm.token_embeddings(corpus, model=model, layer=layer, ...)``
    (the language model reads the raw text when the corpus keeps it, ``keep_text=True``,
    else the kept tokens joined by spaces, with less context); with ``executor=`` a Dask
    client the embedding parts run on its workers.  ``vectors`` (static word vectors) do
    not apply.
    Paper defaults (Meng et al. 2022 §4.1): K = 100, r′ = 100, κ = 10, λ = 0.1, 20 epochs,
    Adam 5e-4, batch 32.  ``pretrain_epochs`` (not given in the paper) defaults to 5.
    ``threads`` caps torch's CPU threads during the fit.  ``profile_size``: number of most
    frequent words whose topic-word profiles measure cross-seed stability.  See the module
    docstring for how ``spec`` maps (seed, num_chains, checkpoint_dir, progress;
    num_samples/warmup/thin are ignored).
    """
    from ppltopics.inference.runner import RunSpec, corpus_fingerprint
    from ppltopics.posteriors.topclus import TopClusPosterior

    if not isinstance(corpus, Corpus):
        raise TypeError(f"corpus must be a ppltopics.Corpus, got {type(corpus).__name__}")
    if vectors is not None:
        raise TypeError("TopClus uses contextual PLM token embeddings, not static word "
                        "vectors: pass embeddings= (pt.plm.token_embeddings(...)) or model=")
    if isinstance(num_topics, bool) or not isinstance(num_topics, int | np.integer) \
            or num_topics < 1:
        raise ValueError(f"num_topics must be an integer >= 1, got {num_topics!r}")
    if num_topics > corpus.num_docs:
        raise ValueError(f"num_topics={num_topics} exceeds the number of documents "
                         f"({corpus.num_docs})")
    if num_topics > corpus.num_tokens:
        raise ValueError(f"num_topics={num_topics} exceeds the number of tokens")
    if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device='cuda' but CUDA is not available")
    if spec is None:
        spec = RunSpec(num_chains=1, progress=False)
    spec.validate()
    plm_info: dict[str, Any] = {"plm_model": None if model is None else str(model),
                                "plm_layer": int(layer)}
    if embeddings is None:
        from ppltopics import plm
        from ppltopics.inference.runner import _is_dask_client

        embeddings = plm.token_embeddings(  # a Dask executor embeds the parts on its workers
            corpus, model=model, layer=layer, batch_size=embed_batch_size,
            cache_dir=cache_dir, device=device, progress=spec.progress,
            executor=spec.executor if _is_dask_client(spec.executor) else None)
    if hasattr(embeddings, "model_name"):
        plm_info.update({"plm_model_name": str(embeddings.model_name),
                         "plm_layer": int(getattr(embeddings, "layer", layer)),
                         "plm_max_length": int(getattr(embeddings, "max_length", 0)),
                         "plm_stride": int(getattr(embeddings, "stride", 0)),
                         "plm_key": str(getattr(embeddings, "key", ""))})
    emb = check_embeddings(embeddings, corpus)
    cfg = TopClusConfig(
        num_topics=int(num_topics), embed_dim=int(emb.shape[1]), latent_dim=latent_dim,
        enc_hidden=tuple(int(x) for x in enc_hidden),
        dec_hidden=tuple(int(x) for x in dec_hidden), kappa=kappa, lam=lam, epochs=epochs,
        pretrain_epochs=pretrain_epochs, batch_size=batch_size, lr=lr)
    cfg.validate()
    if isinstance(min_word_count, bool) or not isinstance(min_word_count, int) \
            or min_word_count < 1:
        raise ValueError(f"min_word_count must be an integer >= 1, got {min_word_count!r}")
    fp = {"config": cfg.to_json(), "seed": int(spec.seed), "num_chains": int(spec.num_chains),
          "data": corpus_fingerprint(corpus.word_ids, corpus.doc_offsets),
          "embeddings": _emb_fingerprint(emb), "device": str(device)}
    counts = corpus.word_counts()
    profile = np.sort(np.argsort(-counts, kind="stable")[:profile_size])
    profile = profile[counts[profile] >= min(min_word_count, int(counts.max()))]
    bars: list[Any] = [None] * spec.num_chains
    if spec.progress:
        from tqdm.auto import tqdm

        bars = [tqdm(total=cfg.pretrain_epochs + cfg.epochs, desc=f"topclus seed {c}",
                     position=c, leave=True, dynamic_ncols=True, mininterval=0.5)
                for c in range(spec.num_chains)]
    fits: list[ChainFit] = []
    try:
        with _torch_threads(threads):
            for c in range(spec.num_chains):
                ck = None if spec.checkpoint_dir is None else \
                    Path(spec.checkpoint_dir) / f"chain-{c}"
                fits.append(train_chain(cfg, emb, corpus.doc_offsets,
                                        _chain_seed(spec.seed, spec.num_chains, c), chain=c,
                                        device=device, checkpoint=ck, fingerprint=fp,
                                        bar=bars[c], word_ids=corpus.word_ids,
                                        profile_words=profile))
            dev = torch.device(device)
            ests = [chain_estimates(f.net, emb, corpus, dev) for f in fits]
    finally:
        for b in bars:
            if b is not None:
                b.close()
    final = np.array([f.history[-1].loss for f in fits])
    best = int(np.argmin(final))
    stats: dict[str, np.ndarray] = {}
    for key in ("loss", "L_clus", "L_rec", "L_pre", "changed", "seconds"):
        stats[key] = np.array([[getattr(h, key) for h in f.history] for f in fits])
    stats["stability"] = np.array([
        [float(matched_cosine(fits[0].profiles[e], f.profiles[e]).mean())
         for e in range(cfg.epochs)] for f in fits])
    estimates = dict(ests[best])
    estimates["pretrain_loss"] = np.array([f.pretrain for f in fits], dtype=np.float64) \
        .reshape(len(fits), cfg.pretrain_epochs)
    estimates["topic_stability"] = np.mean(
        [matched_cosine(ests[best]["topic_word"][:, profile], e["topic_word"][:, profile])
         for i, e in enumerate(ests) if i != best] or [np.ones(cfg.num_topics)], axis=0)
    groups = {"sample_stats": stats,
              "posterior": {"sorted_topic_share": np.array(
                  [[h.share for h in f.history] for f in fits])}}
    settings = {
        **cfg.to_json(), **plm_info, "num_chains": int(spec.num_chains),
        "seed": int(spec.seed), "selected_chain": best, "device": str(device),
        "min_word_count": int(min_word_count), "num_tokens": int(corpus.num_tokens),
        "seconds_per_chain": [f.seconds for f in fits],
        "seconds_per_epoch": float(np.mean([np.mean([h.seconds for h in f.history])
                                            for f in fits])),
        "resumed_from": [f.resumed_from for f in fits],
        "final_loss": final.tolist(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    post = TopClusPosterior(corpus, groups, {"sorted_topic_share": ["rank"]}, estimates,
                            settings)
    post.set_network(fits[best].net.cpu())
    return post


def state_dict_bytes(net: nn.Module) -> bytes:
    """safetensors bytes of a module's weights (CPU, contiguous)."""
    from safetensors.torch import save as st_save

    return st_save({k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()})


def load_state_dict_bytes(net: nn.Module, blob: bytes) -> None:
    from safetensors.torch import load as st_load

    net.load_state_dict(st_load(blob))

