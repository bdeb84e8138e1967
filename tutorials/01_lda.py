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
# # LDA: the story in Pyro, a fast collapsed Gibbs kernel, diagnostics, evaluation
#
# Latent Dirichlet allocation (Blei, Ng & Jordan 2003) says every document is a mixture of
# topics and every topic a distribution over words:
#
# $$\varphi_k \sim \mathrm{Dir}(\beta\,\mathbf 1_V),\quad \theta_d \sim \mathrm{Dir}(\alpha),\quad
#   z_{dn} \sim \mathrm{Cat}(\theta_d),\quad w_{dn} \sim \mathrm{Cat}(\varphi_{z_{dn}}).$$
#
# `ppltopics.models.lda.model` writes exactly this with `pyro.plate`s; the kernel
# (`ppltopics.inference.lda.LDAKernel`) integrates out θ and φ and resamples every z from
#
# $$p(z_{n}=k\mid z_{-n},w)\propto(n_{dk}+\alpha_k)\,\frac{n_{wk}+\beta}{n_k+V\beta},$$
#
# split into SparseLDA's three buckets so a token costs O(topics of its document + topics of
# its word), not O(K).
#
# Set `PPLTOPICS_TUTORIAL_SMALL=1` to run everything with small settings (the test suite does).

# %%
import os

import numpy as np
import pyro
import pyro.poutine as poutine

import ppltopics as pt
from ppltopics.models import lda

SMALL = os.environ.get("PPLTOPICS_TUTORIAL_SMALL") == "1"

# %% [markdown]
# ## 1. The generative story, and simulating from it
# With no data the model simulates; `simulate` wraps it and returns a `Corpus` and the truth.

# %%
hyper = lda.LDAHyper(num_topics=5, alpha=0.1, beta=0.05)
pyro.set_rng_seed(0)  # the simulated draw, and so its log p, is reproducible
trace = poutine.trace(lda.model).get_trace(np.full(3, 8), 40, hyper)
for name, site in trace.nodes.items():
    if site["type"] == "sample":
        print(f"{name:6s} {tuple(site['value'].shape)}  {type(site['fn']).__name__}")
print("log p(all sites) =", float(trace.log_prob_sum()))

sim = lda.simulate(num_docs=300, doc_length=60, vocab_size=200, hyper=hyper, seed=0)
sim.corpus

# %% [markdown]
# ## 2. Fit: chains, warm-up, thinning — and did we recover the planted topics?

# %%
post = pt.fit("lda", sim.corpus, num_topics=5, num_chains=2, num_samples=30 if SMALL else 100,
              warmup=100 if SMALL else 300, seed=0, progress=False)
from scipy.optimize import linear_sum_assignment  # noqa: E402

unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)
cos = unit(post.phi) @ unit(sim.phi).T
rows, cols = linear_sum_assignment(-cos)
print("cosine of matched topics:", np.round(cos[rows, cols], 3))

# %% [markdown]
# ## 3. A real corpus: State of the Union paragraphs (embedded, offline)

# %%
corpus = pt.datasets.load_sotu()
if SMALL:
    corpus = corpus.subset(np.arange(0, corpus.num_docs, 8))
train, test = corpus.split(test_size=0.1, seed=0)
print(train, test)
post = pt.fit("lda", train, num_topics=20, num_chains=2, num_samples=20 if SMALL else 100,
              warmup=100 if SMALL else 400, seed=0, progress=False)
for k, words in enumerate(post.top_words(8)):
    print(k, " ".join(words))

# %% [markdown]
# ## 4. Diagnostics
# Topic labels are arbitrary, so R-hat and ESS are computed on label-invariant quantities —
# the log joint `lp`, the log-likelihood, sorted topic shares. Per-topic draws in the DataTree
# are already relabelled onto chain 0 by Hungarian matching of the topic-word distributions.

# %%
print(pt.diagnostics.summary(post)[["mean", "ess_bulk", "ess_tail", "r_hat"]])
pt.diagnostics.plot_trace(post, "lda_trace.png")
post.to_datatree()

# %% [markdown]
# ## 5. Evaluation
# Every coherence score comes with its settings (reference corpus size, window, top-n, ε).

# %%
top10 = post.top_words(10)
for measure in ("npmi", "c_v", "umass"):
    print(pt.evaluation.coherence(top10, train, measure=measure))
print("diversity@25:", pt.evaluation.diversity(post.top_words(25)))
ll = pt.evaluation.heldout_loglik(post, test.subset(np.arange(10 if SMALL else 100)),
                                  particles=5 if SMALL else 20)
print(ll)

# %% [markdown]
# ## 6. New documents: fold-in with the topics fixed

# %%
theta = post.transform(test)
print("most likely topic of the first 5 held-out paragraphs:", theta[:5].argmax(1))
