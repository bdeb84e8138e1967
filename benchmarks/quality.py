"""The topic-quality protocol: every model on one vocabulary, one preprocessing, one split.

For each corpus (``--corpus bbc | 20ng | wiki``):

1. load it with the loader's defaults (English stopwords, ``min_count=5``; the wiki set,
   which ships with every token, gets the same two filters), take a subset of documents
   where stated (20NG: 3,000 documents drawn with seed 0), keep the words that have a
   GloVe-6B-50d vector (``corpus.restrict``), so that the discrete models see exactly the
   vocabulary of the embedding models;
2. split once into train / test (``corpus.split(0.2, seed=0)``); with ``--train-min-count N``
   both keep only the words seen at least N times in ``train`` (every model alike);
3. fit every model on ``train`` with each seed (one chain per seed), take each topic's top 25
   words and score them with :func:`ppltopics.evaluation.quality_report`: NPMI of the top 10
   from document co-occurrence on the held-out test documents, window-10 NPMI on test and
   train, diversity@25, k-means NMI of the training documents' topic proportions against the
   labels, and the number of topics whose top 10 are mostly background words;
4. write ``benchmarks/results/quality_<corpus>[_quick].json`` (settings, machine, every run
   with its top words) and rewrite ``benchmarks/results/quality.md`` from every
   ``quality_*.json`` present (mean ± sd over seeds).

Models (``--models``, comma-separated; the default list is per corpus):

* ``lda`` — our collapsed Gibbs LDA (α = 0.1, β = 0.01); ``lda:<name>`` with the settings
  ``LDA_OPTIONS[name]`` (``lda:opt``: α optimised, as tomotopy's ``LDAModel`` does by default).
* ``glda``, ``cgtm`` — our Gaussian models with the library's defaults (vectors prepared
  ``"auto"`` = All-but-the-Top + PCA to 10 dimensions, topic words ``by="rerank"``);
  ``glda-density`` / ``glda-counts`` rank the same kind of fit by density / by counts.
* ``glda:<name>``, ``cgtm:<name>`` — GLDA / CGTM with the option set ``ABLATION[name]``
  (``wv<λ>``: the word view with vector weight λ, α = 0.1, β = 0.01, topic words by counts;
  ``glda:a+b`` merges two sets, e.g. ``glda:wv0.2+minilm``: MiniLM type vectors, which need
  ``--train-min-count 1``, instead of GloVe; ``+tokw`` / ``+wordw``: ``prepare_weights``).
* ``glda-old`` — GLDA as released before the quality options (raw 50-d vectors, Ψ0 from the
  whole covariance, topic words by density).
* ``hlda``, ``ghlda`` — trees (depth 3, library defaults); every node is a topic.
* ``tomotopy-lda``, ``tomotopy-ctm``, ``tomotopy-hlda`` — the peers, on ``train.docs()``.
* ``topclus`` / ``topclus:<name>`` — TopClus with the library defaults (the authors' code:
  20 pretraining + 20 EM epochs, per-batch target, word-type K-means start) or the option
  set ``TOPCLUS[name]`` (``topclus:a+b`` merges two sets), on MiniLM token embeddings of
  the training documents' raw text (``pt.plm.token_embeddings``, cached); topic words by
  mean cosine, documents by the latent z^(d) (``doc_embeddings()``, as the authors cluster
  them); beside it the NMI of p(t | d) (``nmi_theta``) and of the attention-pooled document
  embedding in MiniLM's space, h^(d)/‖h^(d)‖ (``doc_embeddings("plm")``, ``nmi_plm``).
* ``bertopic`` / ``bertopic-kmeans`` — BERTopic 0.17 on the same raw texts and the same
  MiniLM (sentence-transformers pooling), UMAP seeded, HDBSCAN with ``nr_topics=K`` / KMeans(K)
  as its clustering model, c-TF-IDF over the training tokens (our vocabulary); NMI of its document
  representation (the sentence embeddings).
* ``minilm-mean``, ``minilm-st`` — no topics: k-means NMI of raw MiniLM document vectors,
  the mean of TopClus's own input token vectors / the sentence-transformers embedding; also
  of the same vectors scaled to unit length (``nmi_unit``: the fair baseline for TopClus's
  unit-length z^(d) and h^(d)).

``--readouts relevance0.6,relevance0.8`` also scores each LDA / GLDA / CGTM / tomotopy-LDA
fit with its topic words ranked by Sievert & Shirley's relevance at that weight λ
(``top_words(by="relevance", relevance_weight=λ)``), as extra rows ``<model>@relevance<λ>``
of the same fits; ``--readouts density,rerank,counts`` scores each GLDA / CGTM fit with its
own rankings of those names (``top_words(by=...)``; rows ``<model>@density`` ...).

    .venv/bin/python benchmarks/quality.py --corpus bbc [--quick] [--seeds 3] [--models ...]

``--quick`` (1 seed, a quarter of the sweeps) is a smoke test; its numbers are not results.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _common import machine_facts  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DEFAULT_DATA = Path(os.environ.get("PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data"))
TEST_SIZE = 0.2
SPLIT_SEED = 0
#: corpus -> documents kept, K, sweeps (LDA, tomotopy CTM: ~6 s per iteration at K = 20 on
#: BBC here, GLDA, CGTM, trees: tomotopy HLDA runs 5x the tree sweeps)
_SWEEPS = {"k": 20, "lda_sweeps": 300, "ctm_sweeps": 60, "sweeps": 50, "cgtm_sweeps": 20,
           "tree_sweeps": 10}
PLAN = {"bbc": {"docs": None, **_SWEEPS}, "20ng": {"docs": 3000, **_SWEEPS},
        "wiki": {"docs": None, **_SWEEPS}}
DEFAULT_MODELS = ("lda", "tomotopy-lda", "tomotopy-ctm", "glda", "glda-old", "cgtm", "hlda",
                  "ghlda", "tomotopy-hlda")
#: ``lda:<name>``: our LDA with these settings instead of the defaults (α = 0.1, β = 0.01)
LDA_OPTIONS: dict[str, dict[str, Any]] = {
    "opt": {"optimize_alpha": True},  # Minka's fixed point every 10 warm-up sweeps (tomotopy's
    # LDAModel default: optim_interval=10)
    "moves": {"split_merge": True},
}
#: GLDA option sets of the ablation (``--models glda:raw-rerank,glda:abtt,...``)
ABLATION: dict[str, dict[str, Any]] = {
    "raw-counts": {"prepare": None, "by": "counts"},
    "raw-rerank": {"prepare": None},
    "abtt": {"prepare": "abtt"},
    "pca10": {"prepare": "pca:10"},
    "pca20": {"prepare": "abtt,pca:20"},
    "within": {"psi0": "within"},
    "min20": {"min_count": 20},
    "counts": {"by": "counts"},
    "alpha0.01": {"alpha": 0.01},
    # GLDA's split–merge moves are on by default since Dec 2026; this is the fit without them
    "no-moves": {"split_merge": False},
    # CGTM's joint (z, η) moves, measured (Dec 2026) as cgtm:moves against cgtm, then without
    # them; they are CGTM's default since, so the same pair is now cgtm,cgtm:no-moves
    "moves": {"split_merge": True},
    # the word view (models/glda.py): word identities from Dirichlet-multinomial topics
    # beside the vectors weighed by lambda; alpha and beta as our LDA's
    **{f"wv{lam}": {"beta": 0.01, "vector_weight": lam, "alpha": 0.1, "by": "counts"}
       for lam in (0.05, 0.1, 0.15, 0.2, 0.3)},
    # MiniLM type vectors instead of GloVe (glda:wv0.2+minilm; needs --train-min-count 1)
    "minilm": {"vectors": "minilm"},
    # abtt/pca of prepare="auto" fitted to the token counts / to the word list (glda:wv0.2+tokw)
    "tokw": {"prepare_weights": "tokens"},
    "wordw": {"prepare_weights": "words"},
    # k-means++ over the word vectors as the start (init="kmeans"; the default is "random")
    "kmeans": {"init": "kmeans"},
    **{f"wv{lam}-kmeans": {"beta": 0.01, "vector_weight": lam, "alpha": 0.1, "by": "counts",
                           "init": "kmeans"} for lam in (0.1,)},
    # the word view started from a short LDA fit (init="lda", LDA_SWEEPS sweeps)
    **{f"wv{lam}-lda": {"beta": 0.01, "vector_weight": lam, "alpha": 0.1, "by": "counts",
                        "init": "lda"} for lam in (0.1, 0.2)},
}


#: tree option sets (``--models hlda:s50+moves``); ``hlda``/``ghlda`` = defaults, depth 3,
#: the plan's tree sweeps (10: GhLDA's first defaults cost seconds a sweep)
TREES: dict[str, dict[str, Any]] = {
    "s50": {"sweeps": 50},  # tomotopy-hlda's iterations (tree_sweeps × 5)
    "g0.1": {"gamma": 0.1},  # tomotopy HLDAModel's and the GhLDA paper's γ
    # GhLDA's prior strength; the default ν0 = tree_nu0 is 411 on the wiki split (PCA-10,
    # 80 tokens a document: 5 documents' worth)
    **{f"nu{v}": {"nu0": float(v)} for v in (800, 1600, 3200)},
    **{f"k{v}": {"kappa0": float(v)} for v in (0.1, 1, 10, 30, 100, 400)},  # GhLDA κ0
    "s200": {"sweeps": 200},
    "moves": {"split_merge": True},
    "paper": {"preset": "paper", "depth": 4},
    "random": {"init": "random"},  # nCRP-prior paths (the default start is "cluster")
    "fixed20": {"warmup_fixed_sweeps": 20},  # the clustered start's fixed phase (default 5)
}


#: TopClus option sets (``--models topclus:<name>``); ``topclus`` = the library defaults
TOPCLUS: dict[str, dict[str, Any]] = {
    # the release before this protocol: paper EM (epoch target), token K-means, 5 pretrain
    "previous": {"target": "epoch", "init": "tokens", "pretrain_epochs": 5},
    "epoch-target": {"target": "epoch"},
    "token-init": {"init": "tokens"},
    "pretrain5": {"pretrain_epochs": 5},
    "epochs40": {"epochs": 40},
    "bf16": {"precision": "bf16"},
    # the authors' token filter: nouns, verbs and adjectives (spaCy's tagger, the [pos] extra)
    "pos": {"pos": ("NOUN", "VERB", "ADJ")},
    # diagnostic: the pretrained autoencoder alone (one EM step), what EM adds or loses
    "em1": {"steps": 1},
}


# ------------------------------------------------------------------------------ corpora
def load(name: str, data: Path, docs: int | None = None) -> Any:
    """Corpus ``name`` restricted to GloVe's vocabulary, and the vectors; ``docs``: a random
    subset of that many documents (default: the plan's; 0: every document)."""
    import ppltopics as pt

    if name == "bbc":
        corpus = pt.datasets.load_bbc(data / "bbc-news", keep_text=True)
    elif name == "20ng":
        corpus = pt.datasets.load_20newsgroups(
            data / "20newsgroups-bydate" / "20news-bydate.tar.gz", keep_text=True)
    elif name == "wiki":
        raw = pt.datasets.load_ghlda_wiki(data / "ghlda-corpora" / "wiki")
        # the set ships without stopword removal (the polysemy study keeps it so); here it
        # gets the preprocessing of the other corpora: English stopwords out, min_count=5
        corpus = pt.Corpus.from_tokens(raw.docs(), labels=raw.labels, stopwords="english",
                                       min_count=5)
    else:
        raise SystemExit(f"unknown corpus {name!r}: use bbc, 20ng or wiki")
    docs = PLAN[name]["docs"] if docs is None else (docs or None)
    if docs is not None and corpus.num_docs > docs:
        keep = np.sort(np.random.default_rng(SPLIT_SEED).permutation(corpus.num_docs)[:docs])
        corpus = corpus.subset(keep)
    vectors = pt.WordVectors.glove(corpus.vocab)
    return corpus.restrict(vectors.vocab), vectors


# ------------------------------------------------------------------------------ models
#: extra topic-word readouts of each flat fit (``--readouts``): name -> relevance weight λ,
#: or None for a Gaussian posterior's own ranking of that name (``density``, ``rerank``,
#: ``counts``: :meth:`GaussianPosterior.top_words`; other models skip it)
READOUTS: dict[str, float | None] = {}
GAUSSIAN_READOUTS = ("density", "rerank", "counts")


def _relevance_readouts(phi: np.ndarray, freq: np.ndarray, vocab: list[str]
                        ) -> dict[str, list[list[str]]]:
    """Top 25 words of topics ``phi`` (K, V) by relevance at every weight of READOUTS."""
    from ppltopics.posteriors.base import rank_words, relevance

    return {name: rank_words(relevance(phi, freq, lam), 25, vocab)
            for name, lam in READOUTS.items() if lam is not None}


def _ours(model: str, train: Any, k: int, seed: int, sweeps: int, by: str | None = None,
          **kw: Any) -> tuple[list[list[str]], np.ndarray, Any, dict[str, Any]]:
    import ppltopics as pt

    draws = max(1, sweeps // 5)
    post = pt.fit(model, train, num_topics=k, num_chains=1, num_samples=draws,
                  warmup=sweeps - draws, seed=seed, progress=False, **kw)
    top = post.top_words(25) if by is None else post.top_words(25, by=by)
    extra: dict[str, Any] = {}
    if post.is_tree:
        extra["nodes_per_level"] = np.bincount(post.estimates["node_level"],
                                               minlength=post.depth).tolist()
    elif READOUTS:
        gaussian = hasattr(post, "word_logdensity")
        extra["readouts"] = {
            name: (post.top_words(25, by="relevance", relevance_weight=lam) if lam is not None
                   else post.top_words(25, by=name))
            for name, lam in READOUTS.items() if lam is not None or gaussian}
    return top, post.doc_topics(), post.corpus.labels, extra


def _glove(train: Any) -> Any:
    import ppltopics as pt

    return pt.WordVectors.glove(train.vocab)


_TYPE_VECTORS: dict[int, Any] = {}


def _minilm_types(train: Any) -> Any:
    """MiniLM type vectors of the training words (``WordVectors.from_token_embeddings``: the
    mean contextual vector of each word's training tokens, embedded from the raw text)."""
    import ppltopics as pt

    if id(train) not in _TYPE_VECTORS:
        emb = pt.plm.token_embeddings(train, progress=False)
        wv = pt.WordVectors.from_token_embeddings(train, emb)
        if len(wv) != train.vocab_size:
            raise SystemExit("MiniLM type vectors need every word seen in training: add "
                             "--train-min-count 1")
        _TYPE_VECTORS[id(train)] = wv
    return _TYPE_VECTORS[id(train)]


def _tomotopy(kind: str, train: Any, k: int, seed: int, sweeps: int
              ) -> tuple[list[list[str]], np.ndarray, Any, dict[str, Any]]:
    import tomotopy as tp

    if kind == "lda":
        mdl = tp.LDAModel(k=k, alpha=0.1, eta=0.01, seed=seed)
    elif kind == "ctm":
        mdl = tp.CTModel(k=k, seed=seed)
    else:
        mdl = tp.HLDAModel(depth=3, seed=seed)
    for doc in train.docs():
        mdl.add_doc(doc)
    mdl.train(sweeps, workers=1, parallel=tp.ParallelScheme.NONE)
    if kind == "hlda":
        live = [t for t in range(mdl.k) if mdl.is_live_topic(t) and mdl.num_docs_of_topic(t)]
        top = [[w for w, _ in mdl.get_topic_words(t, top_n=25)] for t in live]
        # tomotopy 0.14 HLDA documents expose neither their path nor get_topic_dist()
        # (None / SystemError), so this peer has no document representation: NMI left out
        theta = None
        levels = np.bincount([mdl.level(t) for t in live], minlength=3).tolist()
        return top, theta, train.labels, {"nodes_per_level": levels}
    top = [[w for w, _ in mdl.get_topic_words(t, top_n=25)] for t in range(k)]
    theta = np.stack([doc.get_topic_dist() for doc in mdl.docs])
    extra: dict[str, Any] = {}
    if READOUTS and kind == "lda":
        phi = np.stack([mdl.get_topic_word_dist(t) for t in range(k)])
        extra["readouts"] = _relevance_readouts(
            phi, np.asarray(mdl.used_vocab_freq, dtype=np.float64), list(mdl.used_vocabs))
    return top, theta, train.labels, extra


def _token_embeddings(train: Any) -> Any:
    import ppltopics as pt

    return pt.plm.token_embeddings(train, progress=False)


def _sentence_embeddings(train: Any) -> np.ndarray:
    """sentence-transformers MiniLM embeddings of the raw texts (cached beside the PLM
    cache, keyed by the texts)."""
    import hashlib

    import ppltopics as pt

    texts = [str(t) for t in train.metadata["text"]]
    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:24]
    path = pt.plm.default_cache_dir() / f"st-minilm-{key}.npy"
    if path.is_file():
        return np.load(path)
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(pt.plm.default_model_path()), device="cpu")
    emb = st.encode(texts, batch_size=32, show_progress_bar=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, emb)
    return emb


#: where ``--keep DIR`` saves every TopClus fit (``pt.load``-able), for re-ranking later
KEEP: dict[str, Path] = {}


def _topclus(train: Any, k: int, seed: int, **kw: Any
             ) -> tuple[list[list[str]], np.ndarray, Any, dict[str, Any]]:
    import torch

    import ppltopics as pt
    from ppltopics.evaluation import kmeans_nmi

    torch.set_num_threads(2)  # the networks use both cores (the samplers run on one)
    tag = "-".join(f"{a}{'+'.join(b) if isinstance(b, tuple) else b}"
                   for a, b in sorted(kw.items())) or "defaults"
    kept = KEEP["dir"] / f"topclus-{tag}-seed{seed}" if "dir" in KEEP else None
    loaded = kept is not None and kept.is_dir()
    if loaded:  # scored again, not refitted
        post = pt.load(kept)
    else:
        # under --keep the fit checkpoints every pass and an interrupted run resumes
        ckpt = None if kept is None else kept.with_name(kept.name + "-checkpoint")
        post = pt.fit("topclus", train, num_topics=k, embeddings=_token_embeddings(train),
                      num_chains=1, seed=seed, progress=ckpt is not None, threads=2,
                      checkpoint_dir=ckpt, **kw)
        if kept is not None:
            post.save(kept)
    s = post.settings
    ss = post.groups["sample_stats"]
    labels = train.labels.astype(str)
    extra = {"nmi_theta": kmeans_nmi(post.doc_topics(), labels, seed=seed),
             "nmi_plm": kmeans_nmi(post.doc_embeddings("plm"), labels, seed=seed)
             if "doc_plm" in post.estimates else None,
             "steps": s["steps_taken"][0], "pretrain_steps": s["pretrain_steps_taken"][0],
             "steps_per_epoch": s["steps_per_epoch"], "stopped_by": s["stopped_by"][0],
             "loss_trace": ss["loss"][0].tolist(), "L_clus_trace": ss["L_clus"][0].tolist(),
             "pretrain_trace": post.estimates["pretrain_loss"][0].tolist(),
             "fit_seconds": s["seconds_per_chain"][0], "loaded": loaded,
             "seconds_per_step": s["seconds_per_chain"][0] / max(
                 1, s["steps_taken"][0] + s["pretrain_steps_taken"][0])}
    return post.top_words(25), post.doc_embeddings(), train.labels, extra


def _bertopic(train: Any, k: int, seed: int, kmeans: bool
              ) -> tuple[list[list[str]], np.ndarray, Any, dict[str, Any]]:
    from _common import bertopic_model
    from sklearn.feature_extraction.text import CountVectorizer

    import ppltopics as pt

    # c-TF-IDF reads the training tokens themselves (the words every model sees), the
    # embeddings come from the raw texts; words absent from train are left out (idf = inf)
    texts = [" ".join(d) for d in train.docs()]
    emb = _sentence_embeddings(train)
    seen = [w for w, c in zip(train.vocab, train.word_counts(), strict=True) if c > 0]
    vec = CountVectorizer(vocabulary=seen, tokenizer=str.split, lowercase=False,
                          token_pattern=None)
    model = bertopic_model(k, seed, kmeans, vec)
    topics, _ = model.fit_transform(texts, embeddings=emb)
    ids = sorted(t for t in set(topics) if t != -1)
    top = [[w for w, _ in model.get_topic(t) if w] for t in ids]
    return top, emb, train.labels, {
        "nmi_own_clusters": float(pt.evaluation.nmi(np.asarray(topics), train.labels)),
        "outlier_docs": int((np.asarray(topics) == -1).sum())}


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _minilm(train: Any, kind: str, emb: np.ndarray | None = None) -> np.ndarray:
    """Raw MiniLM document vectors: the mean of the token vectors TopClus reads (``emb``,
    loaded from the cache when not given), or the sentence-transformers embedding."""
    if kind == "st":
        return _sentence_embeddings(train)
    if emb is None:
        emb = _token_embeddings(train).vectors
    off = train.doc_offsets
    out = np.zeros((train.num_docs, emb.shape[1]))
    for d in range(train.num_docs):
        if off[d + 1] > off[d]:
            out[d] = np.asarray(emb[off[d]:off[d + 1]], dtype=np.float64).mean(0)
    return out


def run_model(name: str, train: Any, plan: dict[str, Any], seed: int, scale: float
              ) -> tuple[list[list[str]] | None, np.ndarray, Any, dict[str, Any], str]:
    """Fit ``name``; return top words (None: a document baseline without topics), doc
    representation, labels, extras and a description."""
    k = plan["k"]
    if name in ("minilm-mean", "minilm-st"):
        kind = name.split("-")[1]
        return None, _minilm(train, kind), train.labels, {}, \
            f"raw MiniLM document vectors ({kind}) + k-means, no topics"
    if name in ("bertopic", "bertopic-kmeans"):
        km = name.endswith("kmeans")
        return (*_bertopic(train, k, seed, km),
                f"BERTopic 0.17, MiniLM, {'KMeans(K)' if km else 'HDBSCAN, nr_topics=K'}")
    if name == "topclus" or name.startswith("topclus:"):
        opts: dict[str, Any] = {}  # topclus:a+b merges the option sets a and b
        for part in name.split(":", 1)[1].split("+") if ":" in name else []:
            opts.update(TOPCLUS[part])
        if scale != 1.0:
            opts["epochs"] = max(2, int(round(opts.get("epochs", 20) * scale)))
            opts["pretrain_epochs"] = max(1, int(round(opts.get("pretrain_epochs", 20) * scale)))
        return (*_topclus(train, k, seed, **opts),
                f"pt.fit('topclus', {opts or 'defaults'}), MiniLM token embeddings, "
                "2 torch threads")

    def sw(key: str) -> int:
        return max(4, int(round(plan[key] * scale)))

    if name == "lda" or name.startswith("lda:"):  # lda:<option set of LDA_OPTIONS>
        opts = {"alpha": 0.1, "beta": 0.01, **LDA_OPTIONS.get(name.partition(":")[2], {})}
        return (*_ours("lda", train, k, seed, sw("lda_sweeps"), **opts),
                f"pt.fit('lda', {opts}), {sw('lda_sweeps')} sweeps")
    if name.startswith("tomotopy-"):
        kind = name.split("-", 1)[1]
        s = {"lda": sw("lda_sweeps"), "ctm": sw("ctm_sweeps"),
             "hlda": sw("tree_sweeps") * 5}[kind]
        return (*_tomotopy(kind, train, k, seed, s), f"tomotopy {kind}, {s} iterations")
    if name in ("glda", "glda-density", "glda-counts", "cgtm"):
        model = "cgtm" if name == "cgtm" else "glda"
        by = {"glda-density": "density", "glda-counts": "counts"}.get(name, "rerank")
        s = sw("cgtm_sweeps") if model == "cgtm" else sw("sweeps")
        return (*_ours(model, train, k, seed, s, by=by, vectors=_glove(train)),
                f"pt.fit('{model}') defaults, {s} sweeps, top words by {by}")
    if name == "glda-old":
        s = sw("sweeps")
        return (*_ours("glda", train, k, seed, s, by="density", vectors=_glove(train),
                       psi0="cov", prepare=None),
                f"pt.fit('glda', psi0='cov') raw GloVe, whole vocabulary, by density, {s} sweeps")
    if name.startswith(("glda:", "cgtm:")):  # <model>:<set>[+<set>] of ABLATION
        model, key = name.split(":", 1)
        opts = {}
        for part in key.split("+"):
            opts.update(ABLATION[part])
        by = opts.pop("by", "rerank")
        vectors = _minilm_types(train) if opts.pop("vectors", "glove") == "minilm" \
            else _glove(train)
        if model == "cgtm":
            opts.pop("alpha", None)  # logistic-normal proportions: no alpha
        # the word view is compared with LDA at LDA's sweeps
        s = sw("lda_sweeps" if "vector_weight" in opts else
               "cgtm_sweeps" if model == "cgtm" else "sweeps")
        return (*_ours(model, train, k, seed, s, by=by, vectors=vectors, **opts),
                f"pt.fit('{model}', {opts}), {vectors.report['source']}, by {by}, {s} sweeps")
    if name.split(":")[0] in ("hlda", "ghlda"):  # hlda:s50+moves: option sets of TREES
        model, _, sets = name.partition(":")
        s = sw("tree_sweeps")
        kw: dict[str, Any] = {"depth": 3}
        for part in sets.split("+") if sets else []:
            opts = dict(TREES[part])
            s = opts.pop("sweeps", s)
            kw.update(opts)
        if model == "ghlda":
            kw["vectors"] = _glove(train)
            return (*_ours(model, train, k, seed, s, by="rerank", **kw),
                    f"pt.fit('ghlda', {kw | {'vectors': 'GloVe'}}), by rerank, {s} sweeps")
        return (*_ours(model, train, k, seed, s, **kw), f"pt.fit('hlda', {kw}), {s} sweeps")
    raise SystemExit(f"unknown model {name!r}")


# ------------------------------------------------------------------------------ main
def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keys = ("npmi_test_doc", "npmi_test_window", "npmi_train_window", "diversity", "nmi",
            "background_topics", "num_topics", "seconds", "nmi_theta", "nmi_plm", "nmi_unit")
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r["model"] for r in runs):
        rows = [r for r in runs if r["model"] == name]
        out[name] = {"seeds": len(rows), "what": rows[0]["what"]}
        for key in keys:
            vals = [r[key] for r in rows if r.get(key) is not None]
            if vals:
                out[name][key] = {"mean": float(np.mean(vals)), "sd": float(np.std(vals, ddof=1))
                                  if len(vals) > 1 else 0.0}
    return out


def write_table() -> Path:
    """``results/quality.md`` from every ``results/quality_*.json`` (not the quick ones)."""
    lines = ["# Topic quality under one protocol", "",
             "Generated by `benchmarks/quality.py` from `benchmarks/results/quality_*.json`. "
             "Mean ± sd over seeds (one chain each). NPMI of the top 10 words: `test doc` = "
             "document co-occurrence on the held-out 20 % of documents, `test/train win` = "
             "window 10; `div` = diversity@25; `NMI` = k-means of the training documents' "
             "topic proportions (k = #labels); `bg` = topics whose top 10 are mostly "
             "background words (KL(p(label|w) ‖ p(label)) < 0.05 nats).", ""]
    for path in sorted(RESULTS.glob("quality_*.json")):
        if path.stem.endswith("_quick") or path.stem == "quality_tree_growth":
            continue
        res = json.loads(path.read_text())
        c = res["corpus"]
        title = path.stem.removeprefix("quality_")
        lines += [f"## {title}: {c['train_docs']} train / {c['test_docs']} test documents, "
                  f"{c['train_tokens']} train tokens, V = {c['vocab_size']}, K = {c['k']}", "",
                  f"`{res['command']}`", "",
                  "| model | seeds | test doc NPMI | test win NPMI | train win NPMI | div@25 | NMI "
                  "| bg | topics | s/fit | what |", "|---|---|---|---|---|---|---|---|---|---|---|"]

        def f(s: dict[str, Any], key: str, digits: int = 3) -> str:
            if key not in s:
                return "–"
            return f"{s[key]['mean']:.{digits}f} ± {s[key]['sd']:.{digits}f}"

        for name, s in res["summary"].items():
            lines.append(f"| {name} | {s['seeds']} | {f(s, 'npmi_test_doc')} | "
                         f"{f(s, 'npmi_test_window')} | "
                         f"{f(s, 'npmi_train_window')} | {f(s, 'diversity', 2)} | "
                         f"{f(s, 'nmi')} | {f(s, 'background_topics', 1)} | "
                         f"{f(s, 'num_topics', 0)} | {f(s, 'seconds', 0)} | {s['what']} |")
        lines.append("")
    out = RESULTS / "quality.md"
    out.write_text("\n".join(lines))
    return out


def tree_growth(data: Path, sweeps: int, out: Path) -> dict[str, Any]:
    """GhLDA's default tree on the raw GhLDA wiki set (the paper's preprocessing, every token
    kept), before and after this issue's defaults: nodes per level after every sweep and
    seconds per sweep, one chain, seed 0."""
    import ppltopics as pt

    raw = pt.datasets.load_ghlda_wiki(data / "ghlda-corpora" / "wiki")
    vectors = pt.WordVectors.glove(raw.vocab)
    corpus = raw.restrict(vectors.vocab)
    m2 = float(vectors.dim + 2)  # the old default nu0 = M + 2 (raw vectors)
    settings = {"old defaults (raw 50-d, psi0=Cov, nu0=M+2)":
                {"prepare": None, "psi0": "cov", "nu0": m2},
                "psi0='within' alone (raw 50-d, nu0=M+2)":
                {"prepare": None, "psi0": "within", "nu0": m2},
                "nu0=tree_nu0 alone (raw 50-d, psi0=Cov)": {"prepare": None, "psi0": "cov"},
                "new defaults (ABTT+PCA-10, psi0='within', nu0=tree_nu0)": {}}
    res: dict[str, Any] = {"corpus": repr(corpus), "sweeps": sweeps, "runs": {}}
    for name, kw in settings.items():
        trace: list[dict[str, Any]] = []
        t0 = [time.perf_counter()]

        def callback(state: dict[str, Any], it: int, trace: list = trace,
                     t0: list = t0) -> None:
            now = time.perf_counter()
            lv = state["node_level"]
            alive = lv >= 0
            if "ndocs" in state:
                alive &= state["ndocs"] > 0
            trace.append({"sweep": it, "seconds": now - t0[0],
                          "nodes_per_level": np.bincount(lv[alive]).tolist()})
            t0[0] = now

        post = pt.fit("ghlda", corpus, vectors=vectors, num_chains=1, num_samples=1,
                      warmup=sweeps - 1, seed=0, progress=False, callback=callback, **kw)
        secs = [t["seconds"] for t in trace[1:]] or [trace[0]["seconds"]]
        res["runs"][name] = {"trace": trace, "seconds_per_sweep": float(np.median(secs)),
                             "final_nodes_per_level": np.bincount(
                                 post.estimates["node_level"]).tolist(),
                             "settings": {k: v for k, v in post.settings.items()
                                          if k in ("prepare", "nu0_rule", "min_count")}}
        print(name, res["runs"][name]["final_nodes_per_level"],
              f"{res['runs'][name]['seconds_per_sweep']:.1f} s/sweep", flush=True)
    res["machine"] = machine_facts()
    out.write_text(json.dumps(res, indent=1, default=str))
    return res


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", choices=sorted(PLAN))
    ap.add_argument("--tree-growth", type=int, default=0, metavar="SWEEPS",
                    help="instead: GhLDA's default tree on the raw wiki set, old vs new "
                         "defaults, SWEEPS sweeps (results/quality_tree_growth.json)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--docs", type=int, default=None, metavar="N",
                    help="a random N documents of the corpus (default: the plan's, 3,000 for "
                         "20NG; 0: every document)")
    ap.add_argument("--train-min-count", type=int, default=0, metavar="N",
                    help="keep only words seen at least N times in the training split, for "
                         "every model (default 0: the loader's vocabulary)")
    ap.add_argument("--quick", action="store_true", help="1 seed, a quarter of the sweeps")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds are FIRST..FIRST+SEEDS-1")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None, metavar="DIR",
                    help="save every TopClus fit under DIR (pt.load-able); a fit already "
                         "there is loaded and scored again instead of refitted")
    ap.add_argument("--readouts", default="", metavar="relevance<λ>,density,...",
                    help="also score LDA / GLDA / CGTM / tomotopy-LDA fits with topic words "
                         "by relevance at these weights, and GLDA / CGTM fits by their own "
                         "rankings density / rerank / counts (extra rows <model>@<readout>)")
    ap.add_argument("--append", action="store_true",
                    help="add these models' runs to an existing result file of the corpus")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        sys.exit(f"shared data not found: {args.data} (pass --data, the shared/data folder)")
    if args.tree_growth:
        return tree_growth(args.data, args.tree_growth, RESULTS / "quality_tree_growth.json")
    if args.corpus is None:
        ap.error("--corpus is required (or --tree-growth SWEEPS)")
    import ppltopics as pt

    if args.keep is not None:
        KEEP["dir"] = args.keep
    for r in filter(None, args.readouts.split(",")):
        if r in GAUSSIAN_READOUTS:
            READOUTS[r] = None
        elif r.startswith("relevance"):
            READOUTS[r] = float(r.removeprefix("relevance"))
        else:
            ap.error(f"unknown readout {r!r}: use relevance<λ> (e.g. relevance0.6) or one "
                     f"of {', '.join(GAUSSIAN_READOUTS)}")
    warnings.simplefilter("ignore", UserWarning)
    plan = PLAN[args.corpus]
    corpus, _ = load(args.corpus, args.data, args.docs)
    train, test = corpus.split(TEST_SIZE, seed=SPLIT_SEED)
    preprocessing = "loader defaults, restricted to GloVe-6B-50d words"
    if args.train_min_count > 0:  # one vocabulary for every model, from the training split
        counts = np.bincount(train.word_ids, minlength=train.vocab_size)
        kept = [w for w, c in zip(train.vocab, counts, strict=True)
                if c >= args.train_min_count]
        train, test = train.restrict(kept), test.restrict(kept)
        preprocessing += f", words seen >= {args.train_min_count} times in the training split"
    seeds = [0] if args.quick else list(range(args.first_seed, args.first_seed + args.seeds))
    scale = 0.25 if args.quick else 1.0
    out = args.out or RESULTS / f"quality_{args.corpus}{'_quick' if args.quick else ''}.json"
    runs: list[dict[str, Any]] = []
    if args.append and out.exists():
        old = json.loads(out.read_text())
        names = set(args.models.split(","))
        names |= {f"{m}@{r}" for m in names for r in READOUTS}
        runs = [r for r in old["runs"] if r["model"] not in names or r["seed"] not in seeds]
    command = "python benchmarks/quality.py " + " ".join(sys.argv[1:] if argv is None else argv)
    res: dict[str, Any] = {}

    def save() -> None:
        res.update({"benchmark": "quality", "command": command,
                    "machine": machine_facts("tomotopy"),
                    "corpus": {"name": args.corpus, "k": plan["k"], "plan": plan,
                               "subset_docs": plan["docs"], "test_size": TEST_SIZE,
                               "split_seed": SPLIT_SEED, "train_docs": train.num_docs,
                               "test_docs": test.num_docs, "train_tokens": train.num_tokens,
                               "test_tokens": test.num_tokens, "vocab_size": train.vocab_size,
                               "preprocessing": preprocessing},
                    "scale": scale, "seeds": seeds, "runs": runs,
                    "summary": summarise(runs)})
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res, indent=1, default=str))

    for name in args.models.split(","):
        for seed in seeds:
            t0 = time.perf_counter()
            top, theta, labels, extra, what = run_model(name, train, plan, seed, scale)
            secs = extra["fit_seconds"] if extra.get("loaded") else time.perf_counter() - t0
            if top is None:  # a document baseline: NMI only
                from ppltopics.evaluation import kmeans_nmi

                lab = np.asarray(labels).astype(str)
                row = {"model": name, "seed": seed, "seconds": secs, "what": what,
                       "nmi": kmeans_nmi(theta, lab, seed=seed),
                       "nmi_unit": kmeans_nmi(unit_rows(theta), lab, seed=seed)}
                runs.append(row)
                print(f"{args.corpus} {name:14s} seed {seed}: NMI {row['nmi']:.3f} (unit rows "
                      f"{row['nmi_unit']:.3f})", flush=True)
                save()
                continue
            readouts = {"": top, **{f"@{r}": t for r, t in extra.pop("readouts", {}).items()}}
            for suffix, words in readouts.items():
                rep = pt.evaluation.quality_report(words, train, test, doc_repr=theta,
                                                   labels=labels, seed=seed)
                row = {"model": name + suffix, "seed": seed, "seconds": secs,
                       "what": what + (f", top words by {suffix[1:]}" if suffix else ""),
                       **{k: v for k, v in rep.to_dict().items() if k != "settings"},
                       "top_words": [t[:10] for t in words], **extra}
                runs.append(row)
                print(f"{args.corpus} {name + suffix:14s} seed {seed}: test-doc NPMI "
                      f"{rep.npmi_test_doc:.3f} win test {rep.npmi_test_window:.3f} train "
                      f"{rep.npmi_train_window:.3f} div {rep.diversity:.2f} NMI "
                      f"{rep.nmi if rep.nmi is None else round(rep.nmi, 3)} bg "
                      f"{rep.background_topics} topics {len(words)} ({secs:.0f} s) {extra}",
                      flush=True)
            save()
    print(f"wrote {out}; table {write_table()}")
    return res


if __name__ == "__main__":
    main()
