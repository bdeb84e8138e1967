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

Training (Algorithm 1; defaults follow the authors' code, yumeng5/TopClus ``trainer.py``):

1. pretrain f, g on L_pre = mean_i ‖h_i − g(f(h_i))‖²/D   (Eq. 6): ``pretrain_steps`` Adam
   steps, default 20 passes over the documents (the authors' ``pretrain_epoch=20``);
2. t_k ← K-means start (``init``): ``"words"`` (default, the authors' ``cluster_init``):
   Euclidean K-means over every word type's mean latent z̄_w weighted by its frequency,
   centres normalised; ``"tokens"``: spherical K-means over up to ``kmeans_max_points``
   token latents;
3. EM for ``steps`` Adam steps (default 20 passes), a fresh Adam over all parameters, on
   λ·L_clus + L_rec + L_pre over shuffled batches of ``batch_size`` documents with
   L_clus = −mean_i Σ_k q(t_k|z_i) log p(t_k|z_i)                   (Eq. 4),
   L_rec  = mean_d ‖Σ_k p(t_k|z^(d)) g(t_k) − h̄^(d)‖²/D, z^(d) = f(h^(d))   (Eq. 5),
   L_pre as above (Eq. 6), on the tokens of the batch; h̄^(d) is the mean token embedding.
   The sharpened target (Eq. 3) q(t_k | z_i) = (p_ik²/s_k) / Σ_k′ (p_ik′²/s_k′),
   s_k = Σ_i p_ik, is recomputed from each batch's own p (``target="batch"``, default, as the
   authors' code) or over all N tokens once per pass (``target="epoch"``, the paper's EM).
   Either phase also stops when its pass-mean loss fell by less than a fraction ``tol`` of
   itself in each of the last two passes (``tol=0``, default: never), so a long step budget
   (``steps=20_000``, the scale of the paper's NYT run) does not overtrain a small corpus.

Outputs: topics = words with at least ``min_word_count`` = 6 tokens and ``min_word_length``
= 3 characters (the authors: more than 5 occurrences, words of ≤ 2 characters dropped),
ranked by the mean over the word's tokens of cos(z_i, t_k) = z̄_w·t_k (no frequency
weighting, as the authors); ``top_words(by="mass")`` ranks by the topic's soft token counts
instead, and ``min_word_count="auto"`` raises the floor with the corpus size.  Documents:
p(t_k | z^(d)) and the latent z^(d) (``doc_embeddings()``, which the authors cluster with
k-means for NMI).

Where this differs from the authors' code, and why:

* Token filter: they keep nouns/verbs/adjectives (a POS tagger) for clustering and topic
  words, and attend and pretrain over every word piece.  Here one filter is used
  everywhere — training tokens, attention, h̄^(d) and top-word ranking: the corpus's own
  kept tokens (stopwords, punctuation, digits and rare words removed by
  :class:`~ppltopics.corpus.Corpus`), and with ``pos=("NOUN", "VERB", "ADJ")`` (spaCy's
  tagger, the ``[pos]`` extra) only those parts of speech;
  :func:`ppltopics.plm.token_embeddings` returns one contextual vector per kept token
  (whole words, pieces averaged; theirs are single word pieces).
* L_clus is the cross-entropy −Σ q log p; theirs is KL(q ‖ p) = that − H(q), the same
  gradient (q is held fixed).  Losses are means, as their ``mse_loss``/``batchmean``.
* Pretraining optimises f and g only (their Adam holds every parameter, but only f and g
  get gradients then: the same updates).
* ``precision="bf16"`` (autocast) is an option for speed; they train in float32.
* Several seeds are several "chains" (``spec.num_chains``); EM has no posterior to average
  over, so point estimates (topics, θ, networks) are those of the chain with the lowest final
  loss, and the chains measure stability.  The t_k of two seeds live in different latent
  spaces (each seed has its own encoder f), so they are compared through the shared
  vocabulary: every EM pass records each topic's word-score profile cos(mean latent of word
  w, t_k) over the ``profile_size`` most frequent words (from the pass's own batches), and
  these profiles are Hungarian-matched to chain 0's by (centred) cosine, i.e. Pearson
  correlation (``stability`` in sample_stats, per pass; ``topic_stability`` per topic).
* Run settings: ``spec.num_samples``, ``warmup`` and ``thin`` are ignored (the schedule is
  above); ``spec.seed`` seeds the chains as in :mod:`ppltopics.inference.runner`
  (``SeedSequence(seed).spawn(num_chains)``), each chain owns a ``torch.Generator`` (weight
  init, K-means, shuffling), so a run is deterministic on CPU for a fixed number of torch
  threads.  Checkpoints (``spec.checkpoint_dir``) are written after every pass as
  safetensors (weights, Adam moments, generator) + JSON and resumed.
* The paper's defaults (K = 100, r′ = 100, κ = 10, λ = 0.1, Adam 5e-4, batch 32) are kept
  except the PLM, which is whatever :mod:`ppltopics.plm` loads (all-MiniLM-L6-v2 here,
  D = 384; BERT-base in the paper).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ppltopics.corpus import Corpus
from ppltopics.inference._topclus_net import (
    TopClusConfig,
    TopClusNet,
    _batch_losses,
    _doc_batches,
    _rows,
    check_embeddings,
    doc_posteriors,
    e_step_target,
    encode_tokens,
    load_state_dict_bytes,
    sharpened_target,
    spherical_kmeans,
    state_dict_bytes,
    word_kmeans,
)

__all__ = [
    "TopClusConfig",
    "TopClusNet",
    "EpochStats",
    "ChainFit",
    "train_chain",
    "spherical_kmeans",
    "word_kmeans",
    "sharpened_target",
    "e_step_target",
    "encode_tokens",
    "doc_posteriors",
    "check_embeddings",
    "fit_model",
    "num_batches",
    "auto_min_word_count",
    "state_dict_bytes",
    "load_state_dict_bytes",
]


# ---------------------------------------------------------------------- one chain
@dataclass
class EpochStats:
    loss: float
    L_clus: float
    L_rec: float
    L_pre: float
    changed: float  # fraction of the epoch's tokens whose argmax_k p changed since last epoch
    seconds: float
    share: list[float]  # token topic shares mean_i p(t_k|z_i) over the epoch, sorted descending
    steps: int = 0  # Adam steps taken in the epoch


@dataclass
class ChainFit:
    chain: int
    net: TopClusNet
    history: list[EpochStats]
    pretrain: list[float]
    profiles: np.ndarray  # (epochs, K, M) topic-word profiles at the end of every EM epoch
    seconds: float
    resumed_from: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _chain_seed(seed: int, num_chains: int, chain: int) -> int:
    ss = np.random.SeedSequence(seed).spawn(num_chains)[chain]
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


@dataclass
class _Run:
    """Where a chain stands: what a checkpoint stores besides weights, Adam and the RNG."""

    history: list[EpochStats] = field(default_factory=list)
    pretrain: list[float] = field(default_factory=list)
    pretrain_steps: int = 0
    pretrain_done: bool = False
    steps: int = 0
    done: bool = False
    seconds: float = 0.0
    stopped: str = ""  # why the EM phase ended: "steps" (budget) or "tol" (stopping rule)

    @property
    def epochs(self) -> int:
        return len(self.pretrain) + len(self.history)

    def meta(self) -> dict[str, Any]:
        d = asdict(self)
        d["history"] = [asdict(h) for h in self.history]
        return d


def _save_ckpt(path: Path, fp: dict[str, Any], done: int, net: TopClusNet,
               opt: torch.optim.Optimizer, gen: torch.Generator, run: _Run,
               profiles: list[np.ndarray], assign: torch.Tensor | None = None) -> None:
    """Checkpoint after ``done`` epochs (pretraining and EM together)."""
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
    meta = {"fingerprint": fp, "done": done, "param_groups": osd["param_groups"],
            "run": run.meta()}
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


def _restore(net: TopClusNet, opt: torch.optim.Optimizer, gen: torch.Generator,
             state: dict[str, Any], device: torch.device) -> None:
    tensors = state["tensors"]
    net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
    net.to(device)
    osd: dict[str, Any] = {"state": {}, "param_groups": state["meta"]["param_groups"]}
    for k, v in tensors.items():
        if k.startswith("adam."):
            _, pid, key = k.split(".", 2)
            osd["state"].setdefault(int(pid), {})[key] = v.to(device) if key != "step" else v
    opt.load_state_dict(osd)
    gen.set_state(tensors["generator"])


def _stalled(losses: list[float], tol: float) -> bool:
    """The stopping rule: the epoch-mean loss fell by less than ``tol`` of itself in each of
    the last two epochs (never with ``tol = 0``)."""
    if tol <= 0 or len(losses) < 3:
        return False
    a, b, c = losses[-3:]
    return (a - b) < tol * abs(a) and (b - c) < tol * abs(b)


def num_batches(offsets: np.ndarray, batch_size: int) -> int:
    """Adam steps per pass over the documents (batches with at least one token)."""
    return max(1, -(-int((np.diff(offsets) > 0).sum()) // batch_size))


def _init_topics(net: TopClusNet, cfg: TopClusConfig, emb: np.ndarray,
                 word_ids: np.ndarray | None, gen: torch.Generator, device: torch.device
                 ) -> None:
    """Algorithm 1, line 2: t_k <- K-means of the pretrained latents (``cfg.init``)."""
    with torch.no_grad():
        z = encode_tokens(net, emb, device)
        if cfg.init == "words":
            t = word_kmeans(z, word_ids, cfg.num_topics,
                            int(torch.randint(2**31 - 1, (1,), generator=gen)))
        else:
            n = z.shape[0]
            pick = torch.randperm(n, generator=gen)[:min(n, cfg.kmeans_max_points)]
            t = spherical_kmeans(z[pick.to(device)], cfg.num_topics, gen, cfg.kmeans_iters)
        net.topics.data.copy_(t)


class _EpochMonitor:
    """An EM pass's monitors, read off the training batches' own forward passes: the topic
    shares mean_i p(t_k|z_i), the share of tokens whose argmax_k changed since their last
    pass (``assign`` is updated in place) and, with ``word_ids``, the word sums of z_i for
    the topic-word profiles."""

    def __init__(self, cfg: TopClusConfig, assign: torch.Tensor,
                 word_ids: torch.Tensor | None) -> None:
        dev = assign.device
        self.assign, self.word_ids = assign, word_ids
        self.psum = torch.zeros(cfg.num_topics, dtype=torch.float64, device=dev)
        # counted on the device: no host sync per batch
        self.moved = torch.zeros((), dtype=torch.int64, device=dev)
        self.seen = torch.zeros((), dtype=torch.int64, device=dev)
        if word_ids is not None:
            V = int(word_ids.max()) + 1
            self.zsum = torch.zeros(V, cfg.latent_dim, dtype=torch.float64, device=dev)
            self.zcount = torch.zeros(V, dtype=torch.float64, device=dev)

    def add(self, it: torch.Tensor, z: torch.Tensor, log_p: torch.Tensor) -> None:
        self.psum += torch.exp(log_p).double().sum(0)
        new = log_p.argmax(1).to(torch.int32)
        old = self.assign[it]
        self.moved += ((old >= 0) & (old != new)).sum()
        self.seen += (old >= 0).sum()
        self.assign[it] = new
        if self.word_ids is not None:
            w = self.word_ids[it]
            self.zsum.index_add_(0, w, z.double())
            self.zcount.index_add_(0, w, torch.ones_like(w, dtype=self.zsum.dtype))

    def changed(self) -> float:
        seen = int(self.seen)
        return int(self.moved) / seen if seen else float("nan")

    def share(self) -> list[float]:
        return sorted((self.psum / self.psum.sum()).cpu().tolist(), reverse=True)

    def profile(self, net: TopClusNet, words: torch.Tensor) -> np.ndarray:
        """(K, len(words)): mean over each word's tokens of cos(z_i, t_k)."""
        w = self.zsum[words] / self.zcount[words].clamp_min(1)[:, None]
        return (net.topic_units().detach().double() @ w.T).float().cpu().numpy()


def train_chain(
    cfg: TopClusConfig, emb: np.ndarray, offsets: np.ndarray, seed: int, chain: int = 0,
    device: str | torch.device = "cpu", checkpoint: str | Path | None = None,
    fingerprint: dict[str, Any] | None = None, bar: Any = None,
    word_ids: np.ndarray | None = None, profile_words: np.ndarray | None = None,
) -> ChainFit:
    """Pretrain, initialise and run the EM of one chain (Algorithm 1) on the schedule of
    ``cfg`` (steps or epochs, stopping rule; :class:`TopClusConfig`).

    ``word_ids`` (per token) are needed by ``init="words"``; with ``profile_words`` (word
    ids) every EM epoch also records the topic-word profile (mean over word w's tokens of
    cos(z_i, t_k), comparable across seeds through the shared vocabulary) of
    those words, for stability.  Epoch monitors (share, changed, profile) come from the
    training batches' own forward passes."""
    if cfg.init == "words" and word_ids is None:
        raise ValueError("init='words' needs the tokens' word_ids")
    device = torch.device(device)
    gen = torch.Generator().manual_seed(int(seed))
    net = TopClusNet(cfg, gen).to(device)
    nb = num_batches(offsets, cfg.batch_size)
    pre_budget = cfg.pretrain_epochs * nb if cfg.pretrain_steps is None else cfg.pretrain_steps
    em_budget = cfg.epochs * nb if cfg.steps is None else cfg.steps
    run = _Run(pretrain_done=pre_budget == 0)
    profiles: list[np.ndarray] = []
    path = None if checkpoint is None else Path(checkpoint)
    fp = json.loads(json.dumps({**(fingerprint or {}), "chain_seed": int(seed)}))
    opt = _optimizer(net, cfg, pretrain=not run.pretrain_done)
    N = emb.shape[0]
    assign = torch.full((N,), -1, dtype=torch.int32, device=device)
    state = None if path is None else _load_ckpt(path, fp)
    if state is not None:
        m = state["meta"]["run"]
        run = _Run(**{**m, "history": [EpochStats(**h) for h in m["history"]]})
        # the optimiser saved before the first EM epoch is still the pretraining one
        opt = _optimizer(net, cfg, pretrain=not run.history)
        _restore(net, opt, gen, state, device)
        if "profiles" in state["tensors"]:
            profiles = list(state["tensors"]["profiles"].numpy())
        if "assign" in state["tensors"]:
            assign = state["tensors"]["assign"].to(device)
    resumed_from = run.epochs
    if bar is not None:
        bar.total = -(-pre_budget // nb) + -(-em_budget // nb)
        bar.update(resumed_from)
    D = offsets.size - 1
    track = word_ids is not None and profile_words is not None
    if track:
        wid_t = torch.from_numpy(np.asarray(word_ids, dtype=np.int64)).to(device)
        pw_t = torch.from_numpy(np.asarray(profile_words, dtype=np.int64)).to(device)
    while not run.done:
        te = time.perf_counter()
        em = run.pretrain_done
        if em and not run.history:
            _init_topics(net, cfg, emb, word_ids, gen, device)
            opt = _optimizer(net, cfg, pretrain=False)  # a fresh Adam over every parameter
        budget = em_budget - run.steps if em else pre_budget - run.pretrain_steps
        q = e_step_target(net, emb, device)[0] if em and cfg.target == "epoch" else None
        order = torch.randperm(D, generator=gen).numpy()
        sums = {"L_clus": 0.0, "L_rec": 0.0, "L_pre": 0.0, "loss": 0.0}
        mon = _EpochMonitor(cfg, assign, wid_t if track else None) if em else None
        taken = 0
        net.train()
        for idx, seg, docs in _doc_batches(offsets, order, cfg.batch_size):
            if taken == budget:
                break
            h = _rows(emb, idx, device)
            s = torch.from_numpy(seg).to(device)
            it = torch.from_numpy(idx).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16,
                                enabled=cfg.precision == "bf16"):
                losses = _batch_losses(net, h, s, docs.size, None if q is None else q[it], em)
                loss = losses["L_pre"] if not em else \
                    cfg.lam * losses["L_clus"] + losses["L_rec"] + losses["L_pre"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            taken += 1
            if mon is not None:
                with torch.no_grad():
                    net.topics.data.copy_(F.normalize(net.topics.data, dim=-1))
                    mon.add(it, losses.pop("z"), losses.pop("log_p"))
            for k, v in losses.items():
                sums[k] += float(v.detach())
            sums["loss"] += float(loss.detach())
        nbt = max(taken, 1)
        if mon is not None:
            run.steps += taken
            if track:
                profiles.append(mon.profile(net, pw_t))
            run.history.append(EpochStats(
                loss=sums["loss"] / nbt, L_clus=sums["L_clus"] / nbt, L_rec=sums["L_rec"] / nbt,
                L_pre=sums["L_pre"] / nbt, changed=mon.changed(),
                seconds=time.perf_counter() - te, steps=taken, share=mon.share()))
            if run.steps >= em_budget:
                run.done, run.stopped = True, "steps"
            elif _stalled([h.loss for h in run.history], cfg.tol):
                run.done, run.stopped = True, "tol"
        else:
            run.pretrain_steps += taken
            run.pretrain.append(sums["L_pre"] / nbt)
            run.pretrain_done = run.pretrain_steps >= pre_budget or \
                _stalled(run.pretrain, cfg.tol)
        if bar is not None:
            bar.set_postfix_str(f"{'EM' if em else 'pretrain'} loss={sums['loss'] / nbt:.4f}",
                                refresh=False)
            bar.update(1)
        run.seconds += time.perf_counter() - te
        if path is not None:
            _save_ckpt(path, fp, run.epochs, net, opt, gen, run, profiles, assign)
    net.eval()
    return ChainFit(chain=chain, net=net, history=run.history, pretrain=run.pretrain,
                    profiles=np.stack(profiles) if profiles else np.zeros((0,)),
                    seconds=run.seconds, resumed_from=resumed_from,
                    extra={"pretrain_steps": run.pretrain_steps, "steps": run.steps,
                           "stopped": run.stopped})


# ---------------------------------------------------------------------- estimates
@torch.no_grad()
def chain_estimates(net: TopClusNet, emb: np.ndarray, corpus: Corpus, device: torch.device
                    ) -> dict[str, np.ndarray]:
    """Point estimates of a trained chain: ``topic_latent`` t_k (K, r′), ``topic_decoded``
    g(t_k) (K, D), ``word_latent`` (V, r′) the mean token latent z̄_w of each word (not
    renormalised: its length ≤ 1 measures how consistent the word's contexts are),
    ``word_count`` (V,), ``topic_word`` (K, V) = z̄_w·t_k = mean over the word's tokens of
    cos(z_i, t_k), ``topic_word_mass`` (K, V) n_kw = Σ_{i: w_i = w} p(t_k|z_i), the topic's
    soft token counts, ``theta`` (D, K) p(t_k|z^(d)), ``doc_latent`` (D, r′) and ``doc_plm``
    (D, D_emb) the unit attention-pooled document embeddings h^(d)/‖h^(d)‖."""
    z = encode_tokens(net, emb, device).double().cpu()
    V = len(corpus.vocab)
    wid = torch.from_numpy(corpus.word_ids.astype(np.int64))
    mass = torch.zeros(V, net.topics.shape[0], dtype=torch.float64)
    for b in range(0, z.shape[0], 65536):
        mass.index_add_(0, wid[b:b + 65536], torch.exp(net.log_posterior(
            z[b:b + 65536].to(net.topics))).double().cpu())
    wsum = torch.zeros(V, z.shape[1], dtype=torch.float64).index_add(0, wid, z)
    count = torch.bincount(wid, minlength=V)
    wlat = wsum / count.clamp_min(1)[:, None]
    t = net.topic_units().double().cpu()
    theta, zd, hd = doc_posteriors(net, emb, corpus.doc_offsets, device)
    return {
        "topic_latent": t.numpy(),
        "topic_decoded": net.g(net.topic_units()).double().cpu().numpy(),
        "word_latent": wlat.numpy(),
        "word_count": count.numpy().astype(np.int64),
        "topic_word": (t @ wlat.T).numpy(),
        "topic_word_mass": mass.T.contiguous().numpy(),
        "theta": theta,
        "doc_latent": zd,
        "doc_plm": hd,
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


def auto_min_word_count(num_tokens: int) -> int:
    """A topic-word count floor that scales with the corpus: max(6, ⌈3·10⁻⁴ N⌉) for N tokens
    (6, the authors' floor, up to 20 k tokens; 98 on BBC's 325 k).  Ranking by mean cosine
    favours rare words whose few contexts agree; measured on BBC (benchmarks/README, 4 fits),
    held-out NPMI rises from −0.44 at 6 to +0.04 at 98 (diversity 0.95); ``by="mass"``
    does as well without a floor."""
    return max(6, math.ceil(3e-4 * int(num_tokens)))


def _ragged(rows: list[list[float]]) -> np.ndarray:
    """(chains, longest) float array of per-chain traces, NaN after a chain's end."""
    out = np.full((len(rows), max((len(r) for r in rows), default=0)), np.nan)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


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
    pretrain_epochs: int = 20, steps: int | None = None, pretrain_steps: int | None = None,
    tol: float = 0.0, target: str = "batch", init: str = "words", precision: str = "fp32",
    kappa: float = 10.0,
    lam: float = 0.1, latent_dim: int = 100, batch_size: int = 32, lr: float = 5e-4,
    device: str = "cpu", threads: int = 2, min_word_count: int | str = 6,
    min_word_length: int = 3,
    enc_hidden: Sequence[int] = (500, 500, 1000), dec_hidden: Sequence[int] = (1000, 500, 500),
    embed_batch_size: int = 32, cache_dir: str | None = None, profile_size: int = 2000,
    pos: Sequence[str] | None = None,
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
    Adam 5e-4, batch 32; the authors' code adds 20 pretraining epochs, the per-batch
    target and the word-type K-means start (``target="batch"``, ``init="words"``).
    Schedule: ``steps`` / ``pretrain_steps`` (Adam steps; ``None``: ``epochs`` /
    ``pretrain_epochs`` passes) and the stopping rule ``tol``; ``precision="bf16"``
    (autocast) for speed (:class:`TopClusConfig`).
    Topic words: words with at least ``min_word_count`` tokens (the authors: more than 5;
    ``"auto"``: :func:`auto_min_word_count`, a floor that grows with the corpus) and
    ``min_word_length`` characters (the authors drop words of ≤ 2).
    ``pos`` (e.g. the authors' ``("NOUN", "VERB", "ADJ")``; needs the ``[pos]`` extra and a
    corpus with its text): train on the tokens of these parts of speech only
    (:func:`ppltopics.tagging.pos_tags`, each token tagged in its own sentence); the
    embeddings are computed (or given) for the whole corpus and the other tokens' rows
    dropped, every document kept (the posterior's corpus is the selected one, documents
    left without a token get p(t_k | d) = 1/K as above).
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
    if pos is not None:
        from ppltopics.tagging import check_pos

        pos = check_pos(pos)
        if "text" not in corpus.metadata:
            raise ValueError("pos= tags the raw text: build the corpus with keep_text=True")
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
    pos_info: dict[str, Any] = {}
    if pos is not None:
        from ppltopics.tagging import pos_tags

        keep = np.isin(pos_tags(corpus, progress=spec.progress), pos)
        pos_info = {"pos": list(pos), "pos_kept_share": float(keep.mean())}
        emb, corpus = emb[keep], corpus.select_tokens(keep, drop_empty=False)
    empty = int((np.diff(corpus.doc_offsets) == 0).sum())
    if empty:  # kept in every output, never dropped: say what they get
        logging.getLogger("ppltopics").warning(
            "topclus: %d of %d documents have no kept token; they take no part in training "
            "and get p(t_k|d) = 1/K and z^(d) = 0", empty, corpus.num_docs)
    cfg = TopClusConfig(
        num_topics=int(num_topics), embed_dim=int(emb.shape[1]), latent_dim=latent_dim,
        enc_hidden=tuple(int(x) for x in enc_hidden),
        dec_hidden=tuple(int(x) for x in dec_hidden), kappa=kappa, lam=lam, epochs=epochs,
        pretrain_epochs=pretrain_epochs, steps=steps, pretrain_steps=pretrain_steps, tol=tol,
        target=target, init=init, precision=precision, batch_size=batch_size, lr=lr)
    cfg.validate()
    if min_word_count == "auto":
        min_word_count = auto_min_word_count(corpus.num_tokens)
    for name, v in (("min_word_count", min_word_count), ("min_word_length", min_word_length)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1 (min_word_count also 'auto'), "
                             f"got {v!r}")
    fp = {"config": cfg.to_json(), "seed": int(spec.seed), "num_chains": int(spec.num_chains),
          "data": corpus_fingerprint(corpus.word_ids, corpus.doc_offsets),
          "embeddings": _emb_fingerprint(emb), "device": str(device)}
    counts = corpus.word_counts()
    profile = np.sort(np.argsort(-counts, kind="stable")[:profile_size])
    profile = profile[counts[profile] >= min(min_word_count, int(counts.max()))]
    bars: list[Any] = [None] * spec.num_chains
    if spec.progress:
        from tqdm.auto import tqdm

        bars = [tqdm(total=None, desc=f"topclus seed {c}", unit="epoch",
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
    # chains stopped by the stopping rule have fewer epochs: NaN-padded in sample_stats
    stats: dict[str, np.ndarray] = {}
    for key in ("loss", "L_clus", "L_rec", "L_pre", "changed", "seconds", "steps"):
        stats[key] = _ragged([[getattr(h, key) for h in f.history] for f in fits])
    stats["stability"] = _ragged([
        [float(matched_cosine(fits[0].profiles[e], f.profiles[e]).mean())
         for e in range(min(len(fits[0].profiles), len(f.profiles)))] for f in fits])
    estimates = dict(ests[best])
    estimates["pretrain_loss"] = _ragged([f.pretrain for f in fits])
    estimates["topic_stability"] = np.mean(
        [matched_cosine(ests[best]["topic_word"][:, profile], e["topic_word"][:, profile])
         for i, e in enumerate(ests) if i != best] or [np.ones(cfg.num_topics)], axis=0)
    # the posterior group must be rectangular (R-hat): the epochs all chains have
    common = min(len(f.history) for f in fits)
    groups = {"sample_stats": stats,
              "posterior": {"sorted_topic_share": np.array(
                  [[h.share for h in f.history[:common]] for f in fits])}}
    settings = {
        **cfg.to_json(), **plm_info, **pos_info, "num_chains": int(spec.num_chains),
        "seed": int(spec.seed), "selected_chain": best, "device": str(device),
        "min_word_count": int(min_word_count), "min_word_length": int(min_word_length),
        "num_tokens": int(corpus.num_tokens),
        "steps_per_epoch": num_batches(corpus.doc_offsets, cfg.batch_size),
        "steps_taken": [f.extra["steps"] for f in fits],
        "pretrain_steps_taken": [f.extra["pretrain_steps"] for f in fits],
        "stopped_by": [f.extra["stopped"] for f in fits],
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
