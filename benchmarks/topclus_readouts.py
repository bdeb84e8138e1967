"""Where TopClus's held-out coherence goes: its topic-word readouts, and raw token clusters.

For every TopClus fit saved by ``quality.py --keep DIR`` on a corpus of the protocol, score
(``pt.evaluation.quality_report``: held-out document NPMI of the top 10, diversity@25) the
topic words of the *same* fit read out several ways:

* ``cosine``, count floors 6 (the authors'), 12, 25, 50, 100 and ``auto``
  (:func:`ppltopics.inference.topclus.auto_min_word_count`): the authors' mean-cosine ranking;
* ``mass``: the topic's soft token counts n_kw = Σ_{i: w_i = w} p(t_k | z_i) (floor 6).

Documents: k-means NMI (seed 0) of each fit's z^(d) and of its attention-pooled MiniLM-space
h^(d)/‖h^(d)‖, beside the raw mean of the same token vectors (as is and scaled to unit rows).

Then the same readouts of **raw MiniLM token clusters** (no TopClus): spherical k-means
(K = 20, scikit-learn on unit token vectors, fitted on 30,000 tokens, seed 0) of the token
vectors TopClus reads, every token assigned to its nearest centre; document NMI of the
token-cluster histogram beside TopClus's p(t | d).  If raw token clusters score like
TopClus's topics, the topics are what token clustering of this encoder gives, not a
training defect.

    .venv/bin/python benchmarks/topclus_readouts.py --corpus bbc --keep /tmp/tc_keep/bbc

Writes ``benchmarks/results/topclus_readouts_<corpus>.json`` and prints a table.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402
from _common import machine_facts  # noqa: E402

FLOORS = (6, 12, 25, 50, 100)


def _top(score: np.ndarray, vocab: list[str], keep: np.ndarray, n: int = 25
         ) -> list[list[str]]:
    sc = np.where(keep[None, :], score, -np.inf)
    return [[vocab[i] for i in np.argsort(-row, kind="stable")[:n] if np.isfinite(row[i])]
            for row in sc]


def readouts(cosine: np.ndarray, mass: np.ndarray, count: np.ndarray, vocab: list[str],
             auto: int) -> dict[str, list[list[str]]]:
    """Top 25 words per topic for every readout (words of ≥ 3 characters)."""
    long = np.array([len(w) >= 3 for w in vocab])
    out = {f"cosine, floor {f}": _top(cosine, vocab, long & (count >= f)) for f in FLOORS}
    out[f"cosine, floor auto ({auto})"] = _top(cosine, vocab, long & (count >= auto))
    phi = mass / np.maximum(mass.sum(1, keepdims=True), 1e-300)
    out["mass, floor 6"] = _top(phi, vocab, long & (count >= 6))
    return out


def score(tops: dict[str, list[list[str]]], train: Any, test: Any) -> dict[str, Any]:
    import ppltopics as pt

    res = {}
    for name, tw in tops.items():
        rep = pt.evaluation.quality_report(tw, train, test)
        res[name] = {"npmi_test_doc": rep.npmi_test_doc, "diversity": rep.diversity,
                     "top_words": [t[:10] for t in tw]}
    return res


def raw_token_clusters(train: Any, emb: np.ndarray, k: int, auto: int) -> dict[str, Any]:
    from sklearn.cluster import KMeans

    import ppltopics as pt

    x = np.asarray(emb, dtype=np.float32)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    pick = np.random.default_rng(0).choice(len(x), min(30000, len(x)), replace=False)
    km = KMeans(k, n_init=1, random_state=0).fit(x[pick])
    lab = km.predict(x)
    V = len(train.vocab)
    mass = np.zeros((k, V))
    np.add.at(mass, (lab, train.word_ids), 1.0)
    count = mass.sum(0)
    centres = km.cluster_centers_ / np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True)
    wsum = np.zeros((V, x.shape[1]))
    np.add.at(wsum, train.word_ids, x)
    cosine = centres @ (wsum / np.maximum(count, 1)[:, None]).T
    D = train.num_docs
    hist = np.zeros((D, k))
    np.add.at(hist, (np.repeat(np.arange(D), np.diff(train.doc_offsets)), lab), 1.0)
    hist /= np.maximum(hist.sum(1, keepdims=True), 1)
    nmi = pt.evaluation.kmeans_nmi(hist, train.labels.astype(str))
    return {"tops": readouts(cosine, mass, count, train.vocab, auto), "nmi_histogram": nmi}


#: token masks of pos= fits, by their tags (the tagger runs once per corpus and tag set)
_POS_MASKS: dict[tuple[str, ...], np.ndarray] = {}


def pos_mask(train: Any, pos: tuple[str, ...]) -> np.ndarray:
    if pos not in _POS_MASKS:
        from ppltopics.tagging import pos_tags

        _POS_MASKS[pos] = np.isin(pos_tags(train), pos)
    return _POS_MASKS[pos]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", choices=sorted(quality.PLAN), required=True)
    ap.add_argument("--keep", type=Path, required=True, help="quality.py --keep folder")
    ap.add_argument("--data", type=Path, default=quality.DEFAULT_DATA)
    ap.add_argument("--docs", type=int, default=None, metavar="N",
                    help="as quality.py --docs (the corpus the fits were made on)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    import torch

    import ppltopics as pt
    from ppltopics.evaluation import kmeans_nmi
    from ppltopics.inference import topclus as tc

    torch.set_num_threads(2)
    corpus, _ = quality.load(args.corpus, args.data, args.docs)
    train, test = corpus.split(quality.TEST_SIZE, seed=quality.SPLIT_SEED)
    emb = pt.plm.token_embeddings(train, progress=False).vectors
    auto = tc.auto_min_word_count(train.num_tokens)
    labels = train.labels.astype(str)
    mean = quality._minilm(train, "mean", emb)
    res: dict[str, Any] = {"corpus": args.corpus, "train_tokens": int(train.num_tokens),
                           "auto_floor": auto, "fits": {}, "machine": machine_facts(),
                           "doc_nmi": {"raw MiniLM mean": kmeans_nmi(mean, labels),
                                       "raw MiniLM mean, unit rows": kmeans_nmi(
                                           quality.unit_rows(mean), labels)}}
    for path in sorted(p for p in args.keep.glob("topclus-*") if p.name[-11:] != "-checkpoint"):
        post = pt.load(path)
        fit_train, fit_emb = train, emb
        if "pos" in post.settings:  # a pos= fit: its own tokens (the same mask as its fit)
            keep = pos_mask(train, tuple(post.settings["pos"]))
            fit_train, fit_emb = train.select_tokens(keep, drop_empty=False), emb[keep]
        est = tc.chain_estimates(post.network, fit_emb, fit_train, torch.device("cpu"))
        res["fits"][path.name] = score(readouts(est["topic_word"], est["topic_word_mass"],
                                                est["word_count"], train.vocab, auto),
                                       train, test)
        res["doc_nmi"][path.name] = {
            "z_doc": kmeans_nmi(est["doc_latent"], labels), "h_doc_unit": kmeans_nmi(
                est["doc_plm"], labels)}
    raw = raw_token_clusters(train, emb, quality.PLAN[args.corpus]["k"], auto)
    res["raw_token_kmeans"] = {**score(raw["tops"], train, test),
                               "nmi_histogram": raw["nmi_histogram"]}
    for pos in list(_POS_MASKS):  # the raw clusters of the tokens a pos= fit kept
        keep = _POS_MASKS[pos]
        raw = raw_token_clusters(train.select_tokens(keep, drop_empty=False), emb[keep],
                                 quality.PLAN[args.corpus]["k"], auto)
        res[f"raw_token_kmeans {'+'.join(pos)}"] = {**score(raw["tops"], train, test),
                                                    "nmi_histogram": raw["nmi_histogram"]}
    out = args.out or quality.RESULTS / f"topclus_readouts_{args.corpus}.json"
    out.write_text(json.dumps(res, indent=1, default=str))
    names = list(next(iter(res["fits"].values()), res["raw_token_kmeans"]))
    names = [n for n in names if n != "nmi_histogram"]
    print("held-out doc NPMI (diversity) per readout")
    raws = [(f"raw MiniLM {k[4:]}", v) for k, v in res.items() if k.startswith("raw_token")]
    for fit, rows in [*res["fits"].items(), *raws]:
        print(f"{fit}: " + "; ".join(f"{n} {rows[n]['npmi_test_doc']:.3f} "
                                     f"({rows[n]['diversity']:.2f})" for n in names))
    print("document NMI (k-means, seed 0): " + "; ".join(
        f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: z^(d) {v['z_doc']:.3f}, h^(d) "
        f"{v['h_doc_unit']:.3f}" for k, v in res["doc_nmi"].items()))
    print("raw token-cluster histogram NMI " + ", ".join(
        f"{name} {rows['nmi_histogram']:.3f}" for name, rows in raws) + f"; wrote {out}")
    return res


if __name__ == "__main__":
    main()
