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
# # TopClus: topics as clusters in a latent sphere of PLM token embeddings
#
# TopClus (Meng et al., WWW 2022) reads topics off the *contextual* embeddings h_i of a frozen
# pretrained language model.  It assumes that a decoder g maps a K-cluster structure on a
# low-dimensional sphere to the PLM space:
#
# $$t_k \sim \mathrm{Unif}(S^{r'-1}),\quad k \sim \mathrm{Unif}(K),\quad
#   z \sim \mathrm{vMF}_{r'}(t_k, \kappa),\quad h = g(z).$$
#
# Training (an EM on an autoencoder): an encoder f maps h to the sphere, the posterior
# $p(t_k\mid z) \propto \exp(\kappa\, z^\top t_k)$ is sharpened into a target
# $q \propto p^2/s_k$ (E-step), and f, g, the topic centres and a document attention module
# are updated on $\lambda L_{clus} + L_{rec} + L_{pre}$ (M-step).  Topics are the words whose
# mean latent vector lies closest to $t_k$; a document's topics are $p(t_k \mid z^{(d)})$.
#
# Set `PPLTOPICS_TUTORIAL_SMALL=1` to run everything with small settings (the test suite does).

# %%
import os
from pathlib import Path

import numpy as np
import pyro
import pyro.poutine as poutine

import ppltopics as pt
from ppltopics.models import topclus

SMALL = os.environ.get("PPLTOPICS_TUTORIAL_SMALL") == "1"
OUT = Path("tutorial_outputs")
OUT.mkdir(exist_ok=True)

# %% [markdown]
# ## 1. The generative story in Pyro, and simulating from it
# With no data the model simulates.  The decoder g is a `pyro.module`; here a small random
# MLP from a 6-d latent sphere to a 24-d "PLM" space.  Every document has a dominant topic
# (purity ρ), so document clustering can be scored against the truth.

# %%
hyper = topclus.TopClusHyper(num_topics=4, latent_dim=6, kappa=30.0, noise_scale=0.02,
                             purity=0.9)
decoder = topclus.random_decoder(latent_dim=6, embed_dim=24, seed=0)
with pyro.get_param_store().scope():
    trace = poutine.trace(topclus.model).get_trace(np.full(3, 5), hyper, decoder)
for name, site in trace.nodes.items():
    if site["type"] == "sample":
        print(f"{name:6s} {tuple(site['value'].shape)}  {type(site['fn']).__name__}")

sim = topclus.simulate(80, 25, hyper, embed_dim=24, words_per_topic=10, seed=1)
sim.corpus

# %% [markdown]
# ## 2. Fit the simulation: are the planted clusters recovered?
# `embeddings=` passes precomputed token vectors (one row per corpus token).  Small networks
# suffice for a 24-d toy; the paper's sizes are the defaults.

# %%
post = pt.fit("topclus", sim.corpus, num_topics=4, num_chains=2, seed=0, progress=False,
              embeddings=sim.embeddings, epochs=8, pretrain_epochs=3, latent_dim=16,
              enc_hidden=(64, 64), dec_hidden=(64, 64), batch_size=16, lr=1e-3)
print("NMI(documents) =", round(pt.evaluation.nmi(post.doc_topics().argmax(1),
                                                    sim.doc_topics), 3))
for k, words in enumerate(post.top_words(5)):
    print(k, words)

# %% [markdown]
# ## 3. A real corpus: State of the Union paragraphs, MiniLM token embeddings
# `keep_text=True` keeps each paragraph's raw text so the PLM reads it with its punctuation and
# stopwords; one vector comes back per *kept* token.  Vectors are cached on disk (float16).

# %%
sotu = pt.datasets.load_sotu(keep_text=True)
rng = np.random.default_rng(0)
n_docs = 40 if SMALL else 2000
corpus = sotu.subset(np.sort(rng.choice(sotu.num_docs, n_docs, replace=False)))
emb = pt.plm.token_embeddings(corpus, cache_dir=OUT / "plm-cache", progress=not SMALL)
print(corpus, "->", emb.vectors.shape, emb.vectors.dtype, emb.model_name)

# %% [markdown]
# ## 4. Fit TopClus with several seeds ("chains")
# The paper's settings (r′ = 100, κ = 10, λ = 0.1, Adam 5e-4, batch 32, 20 epochs); the
# tutorial shrinks the number of epochs.  Each seed is trained separately; the one with the
# lowest final loss provides the topics, the others measure stability.

# %%
K = 5 if SMALL else 20
# SMALL (the test suite): narrower networks and 2 epochs, to run in seconds on 2 CPU cores
shrink = dict(latent_dim=32, enc_hidden=(128, 128, 256), dec_hidden=(256, 128, 128)) \
    if SMALL else {}
post = pt.fit("topclus", corpus, embeddings=emb, num_topics=K, num_chains=2, seed=0,
              epochs=2 if SMALL else 20, pretrain_epochs=1 if SMALL else 5, progress=False,
              **shrink)
post

# %%
for k, words in enumerate(post.top_words(8)):
    print(f"topic {k:2d}: {' '.join(words)}")

# %% [markdown]
# ## 5. Documents: topic posteriors and latent embeddings
# `doc_topics()` is $p(t_k \mid z^{(d)})$; `doc_embeddings()` the unit vectors $z^{(d)}$.

# %%
theta = post.doc_topics()
print("theta", theta.shape, "rows sum to", np.round(theta.sum(1)[:3], 6))
z = post.doc_embeddings()
print("z_d", z.shape, "norms", np.round(np.linalg.norm(z, axis=1)[:3], 4))
for d in range(3):
    text = str(corpus.metadata["text"][d])[:90]
    print(f"doc {d}: topic {theta[d].argmax()} (p={theta[d].max():.2f}) {text!r}")

# new documents are embedded with the same PLM settings and encoded
print("transform:", post.transform(corpus.subset(np.arange(4)), cache_dir=OUT / "plm-cache").shape)

# %% [markdown]
# ## 6. Diagnostics: loss traces per epoch and stability across seeds
# `sample_stats` holds one draw per EM epoch; `stability` is the mean Hungarian-matched
# correlation of each seed's topic-word profiles with seed 0's.

# %%
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

traces = post.loss_traces()
fig, axes = plt.subplots(1, 4, figsize=(13, 3))
for ax, (name, v) in zip(axes, traces.items(), strict=True):
    for c in range(v.shape[0]):
        ax.plot(np.arange(1, v.shape[1] + 1), v[c], marker="o", label=f"seed {c}")
    ax.set_title(name)
    ax.set_xlabel("EM epoch")
axes[0].legend()
fig.tight_layout()
fig.savefig(OUT / "topclus_losses.png", dpi=80)
print("final losses per seed:", np.round(traces["loss"][:, -1], 4))
print("stability (seed 1 vs seed 0) per epoch:", np.round(post.stability()[1], 3))
print("per-topic stability of the selected seed:",
      np.round(post.estimates["topic_stability"], 2))
dt = post.to_datatree()
print(dt["sample_stats"])

# %% [markdown]
# ## 7. Save and load (networks as safetensors, no pickle)

# %%
path = post.save(OUT / "topclus_sotu")
back = pt.load(path)
print(sorted(p.name for p in path.iterdir()))
assert back.top_words(5) == post.top_words(5)
