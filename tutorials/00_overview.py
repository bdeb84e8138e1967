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
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import ppltopics as pt

SMALL = os.environ.get("PPLTOPICS_TUTORIAL_SMALL") == "1"
MODELS = ["lda", "glda", "cgtm", "hlda", "ghlda", "topclus"]
available = pt.api.available_models()
print("installed:", available)
pd.set_option("display.width", 120)
OUT = Path(os.environ.get("PPLTOPICS_TUTORIAL_OUT", "tutorial_outputs"))
OUT.mkdir(parents=True, exist_ok=True)  # every figure of the tutorials is saved here


def show(fig, name):
    """Save ``fig`` to OUT/name and display it inline when running in Jupyter."""
    fig.savefig(OUT / name, dpi=100, bbox_inches="tight")
    try:
        from IPython import get_ipython
        from IPython.display import display
        if get_ipython() is not None:
            display(fig)
    except ImportError:
        pass
    plt.close(fig)
    print(f"figure saved to {OUT / name}")

# %% [markdown]
# ## 1. The six stories
# In math (the symbols are defined in each model's tutorial and in the glossary):
#
# - LDA: $\varphi_k\sim\mathrm{Dir}(\beta)$, $\theta_d\sim\mathrm{Dir}(\alpha)$,
#   $z_{dn}\sim\mathrm{Cat}(\theta_d)$, $w_{dn}\sim\mathrm{Cat}(\varphi_{z_{dn}})$
# - GLDA: $(\mu_k,\Sigma_k)\sim\mathrm{NIW}$, $\theta_d\sim\mathrm{Dir}(\alpha)$,
#   $z_{dn}\sim\mathrm{Cat}(\theta_d)$, $v_{dn}\sim\mathcal N(\mu_{z_{dn}},\Sigma_{z_{dn}})$
# - CGTM: as GLDA with $\eta_d\sim\mathcal N(\mu_\eta,\Sigma_\eta)$,
#   $\theta_d=\mathrm{softmax}(\eta_d)$
# - hLDA: $c_d\sim\mathrm{nCRP}(\gamma)$, $\theta_d\sim\mathrm{GEM}(m,\pi)$,
#   $z_{dn}\sim\mathrm{Cat}(\theta_d)$, $w_{dn}\sim\mathrm{Cat}(\varphi_{c_d[z_{dn}]})$
# - GhLDA: as hLDA with $v_{dn}\sim\mathcal N(\mu_t,\Sigma_t)$,
#   $(\mu_t,\Sigma_t)\sim\mathrm{NIW}(\mu_0,\kappa_0,r_\ell\Psi_0,\nu_0)$
# - TopClus: $t_k\sim\mathrm{Unif}(S^{r'-1})$, $z\sim\mathrm{vMF}(t_k,\kappa)$, $h=g(z)$
#
# Each story's docstring states it in the notation of its paper; the code under it is the
# Pyro model itself (`inspect.getsource(module.model)`, printed in every model's tutorial).
# Shown here: the statements.

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
#
# How to read it: Vehtari et al. (2021) trust a quantity when **R-hat < 1.01** and its bulk
# and tail **ESS > 400**. R-hat above that means the chains disagree (not warmed up, or in
# different modes); a low ESS means too few effective draws. The remedies are the same for
# every model: more sweeps, more chains, a better start (`init="kmeans"`, GLDA's and CGTM's default,
# `init="lda"` for flat models), and `pt.diagnostics.mode_report(post)` to see *which*
# topics the chains disagree on.

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
worst = pd.concat(rows)["r_hat"].groupby(level="model").max()
for name, r in worst.items():
    if name == "topclus":
        print("topclus: EM seeds, not MCMC chains: R-hat does not apply (read the losses)")
    else:
        print(f"{name}: worst R-hat {r:.2f} -> " + ("converged by this bar" if r < 1.01
                                                     else "NOT converged: longer, more chains"))

# %% [markdown]
# The traces of the log joint `lp` (the TopClus row is its loss per epoch), one line per
# chain: rising lines are still warming up, separate levels are different modes.

# %%
names = [n for n in posts if "lp" in posts[n].to_datatree()["sample_stats"].data_vars
         or "loss" in posts[n].to_datatree()["sample_stats"].data_vars]
nrows = (len(names) + 2) // 3
fig, axes = plt.subplots(nrows, 3, figsize=(11, 2.8 * nrows), squeeze=False)
for ax in axes.flat[len(names):]:
    ax.set_visible(False)
for ax, name in zip(axes.flat, names, strict=False):
    ss = posts[name].to_datatree()["sample_stats"]
    var = "lp" if "lp" in ss.data_vars else "loss"
    for c in ss["chain"].values:
        ax.plot(ss[var].sel(chain=c).values, lw=1, label=f"chain {c}")
    ax.set(title=name, xlabel="draw" if var == "lp" else "epoch", ylabel=var)
axes[0, 0].legend(fontsize=7)
fig.tight_layout()
show(fig, "overview_traces.png")

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

# %% [markdown]
# ## Exercises
#
# 1. Rerun the tour with `PPLTOPICS_TUTORIAL_SMALL` unset (longer runs). Which models reach
#    R-hat < 1.01 on `lp`, and in how many seconds?
# 2. Which model has the highest NPMI here, and which the highest diversity? Are these the
#    same model? Why can they disagree?
# 3. Pick one model and fit it with 4 chains instead of 2: how do R-hat and ESS change?
#
# > **Pitfalls**
# > - **Comparing models on one small corpus** says little: NPMI is noisy, and held-out
# >   scores of Gaussian models are densities, not comparable with LDA's probabilities.
# > - **Label switching and local modes** affect every model here; only label-invariant
# >   quantities enter the table above.
# > - **Hyperparameters** (α, β, NIW priors, γ, GEM(m, π), κ) change every model's topics;
# >   each tutorial discusses its own.
