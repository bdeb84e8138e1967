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
# # LDA: the story in Pyro, a collapsed Gibbs kernel, and reading its diagnostics
#
# **You will learn** to state latent Dirichlet allocation as a generative story, derive the
# collapsed Gibbs conditional its kernel samples, fit it, and read R-hat, ESS, trace plots
# and the mode report in plain words.
#
# Set `PPLTOPICS_TUTORIAL_SMALL=1` for small settings (the tests and the documentation site
# use them: their numbers come from short runs, and the diagnostics say so).

# %%
import inspect
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pyro
import pyro.poutine as poutine
from scipy.optimize import linear_sum_assignment

import ppltopics as pt
from ppltopics.models import lda

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
# Every topic $k=1..K$ is a distribution $\varphi_k$ over the $V$ words; every document $d$
# has topic proportions $\theta_d$; every token picks a topic, then a word from it:
#
# $$\varphi_k \sim \mathrm{Dir}(\beta\,\mathbf 1_V),\quad \theta_d \sim \mathrm{Dir}(\alpha),\quad
#   z_{dn} \sim \mathrm{Cat}(\theta_d),\quad w_{dn} \sim \mathrm{Cat}(\varphi_{z_{dn}}).$$
#
# Below, the Pyro model that says exactly this. The tokens of all documents share one flat
# `tokens` plate; `doc_index` maps each token to its document. With no data it simulates.

# %%
print(inspect.getsource(lda.model))

# %% [markdown]
# Tracing it once shows the sites, their shapes and distributions (3 documents of 8 tokens,
# 40 words, 5 topics):

# %%
hyper = lda.LDAHyper(num_topics=5, alpha=0.1, beta=0.05)
pyro.set_rng_seed(0)  # the simulated draw, and so its log p, is reproducible
trace = poutine.trace(lda.model).get_trace(np.full(3, 8), 40, hyper)
for name, site in trace.nodes.items():
    if site["type"] == "sample":
        print(f"{name:6s} {tuple(site['value'].shape)!s:10s} {type(site['fn']).__name__}")
print("log p(all sites) =", round(float(trace.log_prob_sum()), 2))

# %% [markdown]
# ## 2. The kernel's conditional, derived
#
# Integrate θ and φ out (Dirichlet–multinomial conjugacy). What is left is a distribution
# over the assignments z alone. Write $n_{dk}^{-n}$ for the tokens of document $d$ on topic
# $k$, $n_{kv}^{-n}$ for the tokens of word $v$ on topic $k$, and $n_k^{-n}=\sum_v n_{kv}^{-n}$
# — all counted **without token n**. Bayes' rule on the collapsed joint gives
#
# $$p(z_{dn}=k\mid z_{-dn},w)\ \propto\
#   \underbrace{\big(n_{dk}^{-n}+\alpha_k\big)}_{\text{how much $d$ uses $k$}}\;
#   \underbrace{\frac{n_{k w_{dn}}^{-n}+\beta}{n_k^{-n}+V\beta}}_{\text{how much $k$ likes
#   the word}}.$$
#
# The first factor is the Pólya urn of $\theta_d$ (the predictive of a Dirichlet–multinomial),
# the second that of $\varphi_k$. Forgetting the "−n" (scoring token n while it still counts
# for its own topic) is a real bug of public code; `tests/test_lda_correctness.py` shows that
# Geweke's test rejects it. `LDAKernel` splits the product into SparseLDA's three buckets so a
# token costs O(topics of its document + topics of its word) instead of O(K).
#
# Check the formula numerically: the conditional must equal the collapsed joint
# `lda.log_joint` with token n set to each k in turn, normalised.

# %%
sim = lda.simulate(num_docs=4, doc_length=6, vocab_size=10, hyper=hyper, seed=1)
c, z, n = sim.corpus, sim.z.astype(np.int64).copy(), 3  # token 3 of document 0
joint = []
for k in range(hyper.num_topics):
    z[n] = k
    joint.append(lda.log_joint(c.word_ids, c.doc_offsets, z, hyper, c.vocab_size))
by_joint = np.exp(np.array(joint) - max(joint))
by_joint /= by_joint.sum()
mask = np.arange(c.num_tokens) != n  # the "−n" counts
n_dk = np.bincount(z[mask & (c.token_docs == 0)], minlength=5)
n_kw = np.bincount(z[mask & (c.word_ids == c.word_ids[n])], minlength=5)
n_k = np.bincount(z[mask], minlength=5)
formula = (n_dk + hyper.alpha) * (n_kw + hyper.beta) / (n_k + c.vocab_size * hyper.beta)
print("from the joint :", np.round(by_joint, 4))
print("from the counts:", np.round(formula / formula.sum(), 4))

# %% [markdown]
# ## 3. Fit a simulated corpus: are the planted topics recovered?

# %%
sim = lda.simulate(num_docs=300, doc_length=60, vocab_size=200, hyper=hyper, seed=0)
post = pt.fit("lda", sim.corpus, num_topics=5, num_chains=2, num_samples=30 if SMALL else 100,
              warmup=100 if SMALL else 300, seed=0, progress=False)
unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)
cos = unit(post.phi) @ unit(sim.phi).T
rows, cols = linear_sum_assignment(-cos)
print("cosine of each fitted topic with its matched true topic:", np.round(cos[rows, cols], 3))

# %% [markdown]
# ## 4. Label switching, and relabelling (before / after)
#
# The posterior does not change if topics are permuted, so chain 1's "topic 0" need not be
# chain 0's. Left: cosine of every chain-0 topic with every chain-1 topic as chain 1 labelled
# them. Right: after the Hungarian matching that `pt.fit` applies
# (`settings["relabel_permutations"]`), the matches lie on the diagonal. Per-topic read-outs
# pooled over chains are only meaningful after this step; R-hat and ESS avoid it by using
# label-invariant quantities.

# %%
aligned = post.estimates["chain_phi"]
perm = np.asarray(post.settings["relabel_permutations"][1])
raw1 = aligned[1][np.argsort(perm)]  # chain 1 as it labelled its own topics
fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
for ax, other, title in zip(axes, [raw1, aligned[1]], ["before relabelling", "after"],
                            strict=True):
    im = ax.imshow(unit(aligned[0]) @ unit(other).T, vmin=0, vmax=1, cmap="viridis")
    ax.set(title=title, xlabel="chain 1 topic", ylabel="chain 0 topic")
fig.colorbar(im, ax=axes, label="cosine of φ")
show(fig, "lda_relabel.png")
print("chain 1 permutation:", perm.tolist())

# %% [markdown]
# ## 5. A real corpus: State of the Union paragraphs (embedded, offline)

# %%
corpus = pt.datasets.load_sotu()
if SMALL:
    corpus = corpus.subset(np.arange(0, corpus.num_docs, 8))
train, test = corpus.split(test_size=0.1, seed=0)
print(train, test)
post = pt.fit("lda", train, num_topics=20, num_chains=2, num_samples=20 if SMALL else 200,
              warmup=100 if SMALL else 400, seed=0, progress=False)
for k, words in enumerate(post.top_words(8)):
    print(f"{k:2d}", " ".join(words))

# %% [markdown]
# ## 6. Diagnostics, read in plain words
#
# **R-hat** compares the spread between chains with the spread within them; **ESS** says how
# many independent draws the autocorrelated ones are worth (bulk: the centre; tail: the 5% and
# 95% quantiles). Vehtari et al. (2021) trust a quantity when **R-hat < 1.01 and bulk and tail
# ESS > 400**. They are computed on label-invariant quantities: the log joint `lp`, the
# log-likelihood and the sorted topic shares.

# %%
table = pt.diagnostics.summary(post)[["mean", "ess_bulk", "ess_tail", "r_hat"]]
print(table.round(2).to_string())
print(pt.diagnostics.explain_summary(table))

# %% [markdown]
# The trace shows *why*. A trace still **rising** means the chain has not finished warming up:
# the draws are from the way up, not from the posterior. Chains that stay at **different
# levels** sit in different modes (different sets of topics). Healthy chains overlap and
# wiggle around one level ("a fat hairy caterpillar").

# %%
show(pt.diagnostics.plot_trace(post, var_names=["lp"]), "lda_trace.png")
print(pt.diagnostics.explain_trace(post, "lp"))

# %% [markdown]
# Do the chains find the same topics? The mode report matches the topics of every pair of
# chains and lists those without a counterpart (matched cosine < 0.8):

# %%
report = pt.diagnostics.mode_report(post)
print(report)

# %% [markdown]
# **What to do** when the checks fail: run more warm-up sweeps (a rising trace), more chains
# and longer (low ESS), or start from a better place (`init="lda"` for flat models,
# `init="kmeans"` for the Gaussian ones) when chains sit in different modes; then re-read the
# table. In small mode the runs above are far too short, and the table says so.
#
# ## 7. Evaluation
# Every coherence score carries its settings (reference corpus, window, top-n, ε).

# %%
top10 = post.top_words(10)
for measure in ("npmi", "c_v", "umass"):
    print(pt.evaluation.coherence(top10, train, measure=measure))
print("diversity@25:", pt.evaluation.diversity(post.top_words(25)))
ll = pt.evaluation.heldout_loglik(post, test.subset(np.arange(10 if SMALL else 100)),
                                  particles=5 if SMALL else 20)
print(ll)

# %% [markdown]
# ## 8. New documents: fold-in with the topics fixed

# %%
theta = post.transform(test)
print("most likely topic of the first 5 held-out paragraphs:", theta[:5].argmax(1))

# %% [markdown]
# ## 9. Three routes to one posterior: exact, our Gibbs kernel, Pyro's NUTS
#
# On a corpus small enough to enumerate (2 documents × 4 tokens, K = 2: 2⁸ assignments) the
# posterior can be computed exactly. `pt.checks.lda_pyro_crosscheck` compares a
# label-invariant summary of it, the co-assignment probability $P_{ij}=p(z_i=z_j\mid w)$ of
# every token pair, computed three ways: by enumeration, from our collapsed Gibbs kernel's
# draws, and by Pyro's generic NUTS on the *same* Pyro model with θ and φ continuous and
# z summed out (`config_enumerate`), Rao–Blackwellised as $\sum_k r_{ik} r_{jk}$ with
# $r_{nk}\propto\theta_{d(n)k}\phi_{k w_n}$. Two very different samplers of one story should
# agree with the exact answer up to Monte Carlo error.

# %%
tiny = pt.Corpus(np.array([0, 1, 1, 0, 2, 2, 1, 2], np.int32), np.array([0, 4, 8]),
                 ["a", "b", "c"])
cross = pt.checks.lda_pyro_crosscheck(
    tiny, lda.LDAHyper(num_topics=2, alpha=0.5, beta=0.3), num_gibbs=1000 if SMALL else 4000,
    num_pyro=100 if SMALL else 600, warmup_pyro=60 if SMALL else 300, seed=0)
print(cross.summary())
show(cross.plot(), "lda_pyro_crosscheck.png")

# %% [markdown]
# ## Exercises
#
# 1. Derive the conditional of section 2 from the collapsed joint in `lda.model`'s module
#    docstring: write $p(z_{dn}=k\mid z_{-dn},w)$ as a ratio of two joints and simplify the
#    Gamma functions.
# 2. Remove the "−n" in the numerical check (count token n in its current topic) and see
#    which probabilities change. Which topic gains?
# 3. Refit the SOTU corpus with 4 chains and 4× the sweeps (`num_samples`, `warmup`). Does
#    R-hat of `lp` fall below 1.01? How does the ESS grow with the number of draws?
# 4. Fit with `alpha=50 / 20` (Griffiths & Steyvers) instead of 0.1. How do the top words
#    and `doc_topics()` change?
# 5. Compare NPMI for K = 10, 20, 40. Is the best K by coherence also the best by held-out
#    likelihood?
# 6. In section 9, raise `num_pyro` and `num_gibbs` tenfold: by how much do the largest
#    differences from the exact values shrink? Is that what Monte Carlo error predicts?
#
# > **Pitfalls**
# > - **Label switching:** never average topic k over chains without relabelling; use the
# >   relabelled read-outs or label-invariant quantities.
# > - **Local modes:** one chain can keep two themes merged in one topic for ever; R-hat on
# >   `lp` and `mode_report` reveal it only if you run several chains.
# > - **Hyperparameters matter:** α and β change the number of topics a document uses and
# >   how specific topics are; report them with your results.
# > - **Short runs:** a table from a short run (like the small mode here) is a warning, not
# >   a result.
