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
# Gaussian LDA (Das, Zaheer & Dyer, ACL 2015) keeps LDA's documents but replaces each topic's
# categorical distribution over words by a Gaussian over the words' *vectors*:
#
# $$(\mu_k, \Sigma_k) \sim \mathrm{NIW}(\mu_0, \kappa_0, \Psi_0, \nu_0),\quad
#   \theta_d \sim \mathrm{Dir}(\alpha),\quad z_{dn} \sim \mathrm{Cat}(\theta_d),\quad
#   v_{dn} \sim \mathcal N(\mu_{z_{dn}}, \Sigma_{z_{dn}}).$$
#
# Integrating out (μ_k, Σ_k) leaves a multivariate-t predictive for a token's vector given the
# vectors already in topic k, so the collapsed Gibbs conditional is
#
# $$p(z_n=k\mid\cdot)\propto(n_{dk}+\alpha_k)\;
#   t_{\nu_k-M+1}\!\Big(v_n \,\Big|\, \mu_k,\ \tfrac{\kappa_k+1}{\kappa_k(\nu_k-M+1)}\Psi_k\Big).$$
#
# ppltopics keeps one Cholesky factor of Ψ_k per topic and moves a token between topics by a
# rank-one downdate and update (O(M²)), so a token costs O(K·M²) (`method="exact"`).  The fast
# path (`method="fast"`, default) proposes from *stale* per-word densities through Vose alias
# tables and corrects with Metropolis–Hastings: same stationary law, O(M²) per token.

# %%
import os
from pathlib import Path

import numpy as np
import pyro.poutine as poutine

import ppltopics as pt
from ppltopics.models import glda

SMALL = os.environ.get("PPLTOPICS_TUTORIAL_SMALL") == "1"

# %% [markdown]
# ## 1. The story in Pyro, and a simulated corpus with planted Gaussian topics

# %%
hyper = glda.GLDAHyper(num_topics=3, alpha=0.5, kappa0=0.05, psi0=0.3, nu0=4.0,
                       mu0=(0.0, 0.0))
sim = glda.simulate(num_docs=80, doc_length=25, hyper=hyper, seed=2)
trace = poutine.trace(glda.model).get_trace(sim.corpus.doc_lengths, sim.hyper,
                                             data=sim.token_vectors)
for name, site in trace.nodes.items():
    if site["type"] == "sample":
        print(f"{name:11s} {tuple(site['value'].shape)}")
print("true topic means:\n", np.round(sim.topic_mean, 2))

# %%
post = pt.fit("glda", sim.corpus, vectors=sim.vectors, num_topics=3, num_chains=2,
              num_samples=20, warmup=60 if SMALL else 200, seed=0, progress=False,
              kappa0=0.05, nu0=4.0)
print("posterior topic means:\n", np.round(post.estimates["topic_mean"], 2))

# %% [markdown]
# ## 2. Real text with GloVe vectors
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
              num_samples=10 if SMALL else 50, warmup=20 if SMALL else 150, seed=0,
              progress=False)
for k, words in enumerate(post.top_words(8)):
    print(k, " ".join(words))

# %% [markdown]
# ## 3. Diagnostics: R-hat and ESS on label-invariant quantities; MH acceptance of the fast path

# %%
print(pt.diagnostics.summary(post)[["mean", "ess_bulk", "r_hat"]])
print("MH acceptance:", post.groups["sample_stats"]["acceptance_rate"][:, -1])

# %% [markdown]
# ## 4. Where do the river-bank tokens go?
# A word type has one vector, so GLDA can only separate the two senses of "bank" through the
# document's topic proportions.  With the GhLDA Wikipedia set (rivers vs finance documents,
# in `../shared/data` when available) we ask: which topic gets "bank" in river documents, and
# which in finance documents?  (Without it, SOTU paragraphs that mention a river stand in.)

# %%
here = Path(__file__).resolve().parents[1] if "__file__" in globals() else Path.cwd()
candidates = [Path(os.environ.get("PPLTOPICS_SHARED_DATA", here.parent / "shared" / "data")),
              Path.cwd().parent / "shared" / "data"]
wiki = next((c / "ghlda-corpora" / "wiki" for c in candidates
             if (c / "ghlda-corpora" / "wiki").is_dir()), None)
if wiki is not None:
    bank_corpus = pt.datasets.load_ghlda_wiki(wiki)
    keep = np.flatnonzero(np.isin(bank_corpus.labels, ["rivers", "finance"]))
    bank_corpus = bank_corpus.subset(keep)
    sense = np.where(bank_corpus.labels == "rivers", "river", "finance")
else:
    bank_corpus = corpus
    river = {"river", "rivers", "mississippi", "levee", "flood", "creek"}
    sense = np.array(["river" if river & set(d) else "other" for d in bank_corpus.docs()])
print(bank_corpus)
bank_vectors = pt.WordVectors.glove(bank_corpus.vocab)
bank_corpus = bank_corpus.restrict(bank_vectors.vocab)
bank_post = pt.fit("glda", bank_corpus, vectors=bank_vectors, num_topics=10, num_chains=1,
                   num_samples=5 if SMALL else 30, warmup=10 if SMALL else 100, seed=0,
                   progress=False)
theta = bank_post.doc_topics()
bank_id = bank_corpus.word_index.get("bank")
logd = bank_post.word_logdensity()
for s in np.unique(sense):
    docs = [d for d in range(bank_corpus.num_docs)
            if sense[d] == s and bank_id in set(bank_corpus.doc_word_ids(d).tolist())]
    if not docs:
        continue
    # posterior topic of a "bank" token in document d: ∝ θ_dk · N(v_bank | μ_k, Σ_k)
    post_k = np.log(theta[docs]) + logd[bank_id]
    topics = post_k.argmax(1)
    counts = np.bincount(topics, minlength=10)
    print(f"'bank' in {s} documents ({len(docs)}): topic histogram {counts.tolist()}")
print("topic of 'bank' by density alone:", int(logd[bank_id].argmax()),
      "->", " ".join(bank_post.top_words(8)[int(logd[bank_id].argmax())]))
