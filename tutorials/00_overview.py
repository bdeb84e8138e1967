# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A tour of ppltopics: six topic models, one corpus
#
# Every model in ppltopics is three things: a **Pyro generative story**
# (`ppltopics.models.<m>.model`, a plain Pyro model that simulates when its data is None), a
# **fast kernel** that fits it (numba collapsed Gibbs; TopClus: EM on a language model's
# token embeddings), and a **Posterior** with ArviZ diagnostics and evaluation.  This tour
# puts the six side by side for a course:
#
# | model | words are | topics are | documents are |
# |---|---|---|---|
# | LDA (Blei et al. 2003) | word ids | distributions over words | Dirichlet mixtures |
# | GLDA (Das et al. 2015) | word vectors | Gaussians (NIW prior) | Dirichlet mixtures |
# | CGTM (Xun et al. 2017) | word vectors | Gaussians | correlated (logistic normal) |
# | hLDA (Blei et al. 2010) | word ids | nodes of a nested-CRP tree | a path + levels |
# | GhLDA (Yoshida et al. 2023) | word vectors | Gaussian tree nodes | a path + levels |
# | TopClus (Meng et al. 2022) | PLM token vectors | vMF clusters (latent space) | attention means |
#
# 1. the stories, 2. one small fit each on the State of the Union corpus, 3. one diagnostics
# table, 4. one evaluation table.  A model whose kernel is not installed is skipped with a
# note (`pt.api.available_models()` lists the installed ones).  The settings are small so the
# whole tour runs in about a minute (`PPLTOPICS_TUTORIAL_SMALL=1`: under a minute on 2
# cores); the tutorials 01–06 treat each model properly.

# %%
import importlib
import os
import time
import warnings

import numpy as np
import pandas as pd

import ppltopics as pt

SMALL = os.environ.get("PPLTOPICS_TUTORIAL_SMALL") == "1"
MODELS = ["lda", "glda", "cgtm", "hlda", "ghlda", "topclus"]
available = pt.api.available_models()
print("installed:", available)
pd.set_option("display.width", 120)

# %% [markdown]
# ## 1. The six stories
# Each story's docstring states it in the notation of its paper; the code under it is the
# Pyro model itself (`inspect.getsource(module.model)`).  Shown here: the statement.

# %%
def story(name: str) -> str:
    """The ``::`` block of ``ppltopics.models.<name>.model``'s docstring."""
    doc = importlib.import_module(f"ppltopics.models.{name}").model.__doc__ or ""
    lines = doc.expandtabs().splitlines()
    if "::" not in [ln.strip() for ln in lines]:
        return doc.strip().split("\n\n")[0]
    start = [ln.strip() for ln in lines].index("::") + 1
    block = []
    for ln in lines[start:]:
        if ln.strip() and not ln.startswith(" " * 8):
            break
        block.append(ln)
    return "\n".join(block).strip("\n")


for name in MODELS:
    try:
        text = story(name)
    except ModuleNotFoundError:
        text = "(story not installed yet)"
    print(f"--- {name}\n{text}\n")

# %% [markdown]
# ## 2. One small fit each on the State of the Union corpus
# A subsample of the embedded paragraphs; Gaussian models need GloVe vectors, so the corpus is
# restricted to words that have one (for every model, to compare like with like).  TopClus
# runs all-MiniLM-L6-v2 over the raw paragraphs (kept with `keep_text=True`).

# %%
corpus = pt.datasets.load_sotu(keep_text=True)
corpus = corpus.subset(np.arange(0, corpus.num_docs, 400 if SMALL else 20))
vectors = pt.WordVectors.glove(corpus.vocab)
corpus = corpus.restrict(vectors.vocab)
print(corpus)

K = 8 if SMALL else 20
sweeps = dict(num_chains=2, num_samples=10 if SMALL else 100, warmup=10 if SMALL else 200)
# TopClus: the paper's networks (r′ = 100, 500-500-1000 layers) in the full run; a toy
# network in the small one (epochs of the paper's MLPs cost minutes on 2 CPU cores)
net = dict(enc_hidden=(64,), dec_hidden=(64,), latent_dim=16) if SMALL else {}
settings = {
    "lda": dict(num_topics=K, **sweeps),
    "glda": dict(num_topics=K, vectors=vectors, **sweeps),
    "cgtm": dict(num_topics=K, vectors=vectors, **sweeps),
    "hlda": dict(depth=3, **sweeps),
    "ghlda": dict(depth=3, vectors=vectors, **sweeps),
    "topclus": dict(num_topics=K, num_chains=2, epochs=2 if SMALL else 20,
                    pretrain_epochs=1 if SMALL else 5, min_word_count=2, **net),
}

posts, seconds = {}, {}
for name in MODELS:
    if name not in available:
        print(f"{name}: not installed yet, skipped")
        continue
    t0 = time.perf_counter()
    posts[name] = pt.fit(name, corpus, seed=0, progress=False, **settings[name])
    seconds[name] = time.perf_counter() - t0
    top = posts[name].top_words(6)
    print(f"{name}: {len(top)} topics in {seconds[name]:.1f}s; first three:")
    for words in top[:3]:
        print("   ", " ".join(words))

# %% [markdown]
# ## 3. Diagnostics, side by side
# `pt.diagnostics.summary` computes R-hat and ESS on label-invariant quantities only — the
# log joint `lp`, the log-likelihood, the number of occupied topics or tree nodes — since topic
# labels are arbitrary.  TopClus is fitted by EM: its "chains" are seeds and its "draws"
# epochs, so its rows show how much the seeds agree, not mixing.  (The small settings are far
# too short for R-hat ≈ 1; that is what the table is for.)

# %%
rows = []
for name, post in posts.items():
    try:
        with warnings.catch_warnings():  # constant draws (a one-node level) give NaN R-hat
            warnings.simplefilter("ignore", RuntimeWarning)
            table = pt.diagnostics.summary(post)
    except ValueError as err:  # nothing label invariant was recorded
        print(f"{name}: {err}")
        continue
    table = table[["mean", "ess_bulk", "r_hat"]].copy()
    table.index = pd.MultiIndex.from_product([[name], table.index], names=["model", "quantity"])
    rows.append(table)
print(pd.concat(rows).round(3).to_string())

# %% [markdown]
# ## 4. Evaluation, side by side
# Topic quality with the usual settings (each score carries them): NPMI coherence of the top
# 10 words over the training paragraphs (window 10) and diversity, the share of unique words
# in the top 25 of all topics.  Tree models report a topic per node.  On a corpus this small
# NPMI is noisy; the benchmarks (`benchmarks/`) compare on full corpora.

# %%
evals = []
for name, post in posts.items():
    top10 = post.top_words(10)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # top words absent from the reference: reported
            npmi = float(pt.evaluation.coherence(top10, corpus, measure="npmi"))
    except ValueError as err:  # e.g. a topic with < 2 of its top words in the reference
        print(f"{name}: no NPMI ({err})")
        npmi = float("nan")
    evals.append({"model": name, "topics": len(top10), "npmi": npmi,
                  "diversity@25": float(pt.evaluation.diversity(post.top_words(25))),
                  "fit seconds": seconds[name]})
print(pd.DataFrame(evals).set_index("model").round(3).to_string())
