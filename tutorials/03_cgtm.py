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
# # The correlated Gaussian topic model: which topics go together?
#
# Gaussian LDA (tutorial 02) draws each document's topic proportions from a Dirichlet,
# θ_d ~ Dir(α).  A Dirichlet cannot say that two topics *co-occur*: for any α,
#
# $$\mathrm{Cov}(\theta_i,\theta_j) = -\frac{\alpha_i\alpha_j}{\alpha_0^2(\alpha_0+1)} < 0
#   \qquad (i\neq j,\ \alpha_0=\textstyle\sum_k\alpha_k),$$
#
# so every pair of topics is (weakly) negatively correlated, by an amount fixed by the
# α's that also set the topics' sizes.  "War" and "army" paragraphs cannot be made to share
# documents more often than "war" and "tariff" ones.
#
# The correlated topic model (Blei & Lafferty, 2006) replaces the Dirichlet by a
# *logistic-normal*: η_d ~ N(μ, Σ), θ_d = softmax(η_d).  The K×K covariance Σ is free,
# so it can hold positive correlations (topics that appear together) and negative ones
# (topics that exclude each other).  The correlated Gaussian topic model (CGTM; Xun, Li,
# Zhao, Gao & Zhang, IJCAI 2017) puts this document side on top of GLDA's Gaussian topics
# over word vectors:
#
# $$(\mu_\eta,\Sigma_\eta)\sim\mathrm{NIW},\quad \eta_d\sim\mathcal N(\mu_\eta,\Sigma_\eta),\quad
#   z_{dn}\sim\mathrm{Cat}(\mathrm{softmax}(\eta_d)),\quad
#   v_{dn}\sim\mathcal N(\mu_{z_{dn}},\Sigma_{z_{dn}}),\quad (\mu_k,\Sigma_k)\sim\mathrm{NIW}.$$
#
# One caveat: softmax(η) does not change when a constant is added to every η_dk, so the
# data only see the *centred* η_d − mean_k(η_dk).  ppltopics reports the correlation of the
# centred η, `corr(HΣH)` with H = I − 11ᵀ/K (`identified_corr`).  Its rows sum to zero, so
# even uncorrelated topics get −1/(K−1); read a pair *relative to that baseline*.
#
# ## Why the η step is easy: Pólya-Gamma augmentation
#
# The softmax likelihood is not conjugate to the Gaussian prior.  Chen, Zhu, Wang, Zheng &
# Zhang (NIPS 2013) update one η_dk at a time.  With ζ_dk = log Σ_{j≠k} e^{η_dj} and
# ψ_dk = η_dk − ζ_dk, topic k's proportion is a logistic function,
# θ_dk = e^{ψ}/(1 + e^{ψ}), and document d's assignments contribute, with n_dk tokens on
# topic k out of N_d,
#
# $$p(z_d\mid\eta_d)\ \propto\ \frac{(e^{\psi_{dk}})^{n_{dk}}}{(1+e^{\psi_{dk}})^{N_d}}
#   = 2^{-N_d}\, e^{\kappa_{dk}\psi_{dk}} \int_0^\infty e^{-\lambda\psi_{dk}^2/2}\,
#     \mathrm{PG}(\lambda\mid N_d, 0)\, d\lambda,\qquad \kappa_{dk}=n_{dk}-N_d/2,$$
#
# (Polson, Scott & Windle, 2013).  Given a Pólya-Gamma variable λ_dk the likelihood is
# Gaussian in η_dk, so the Gibbs step is
#
# $$\lambda_{dk}\mid\cdot\ \sim\ \mathrm{PG}(N_d,\ \eta_{dk}-\zeta_{dk}),\qquad
#   \eta_{dk}\mid\lambda_{dk},\cdot\ \sim\ \mathcal N\!\Big(\tau^2_{dk}\big(\kappa_{dk}
#   + \lambda_{dk}\zeta_{dk} + m_{dk}/\sigma_k^2\big),\ \tau^2_{dk}\Big),\quad
#   \tau^2_{dk}=\frac{1}{\lambda_{dk}+1/\sigma_k^2},$$
#
# where (m_dk, σ²_k) is the conditional of N(μ_η, Σ_η) for η_dk given η_d,−k
# (σ²_k = 1/Λ_kk, m_dk = μ_k − Σ_{j≠k} Λ_kj(η_dj − μ_j)/Λ_kk, Λ = Σ_η⁻¹).  All documents
# are independent given (μ_η, Σ_η) and z, so ppltopics draws topic k's column for every
# document at once.  The rest of a sweep: z_dn ∝ e^{η_dk} × the topic's multivariate-t
# predictive (GLDA's exact Cholesky sweep, with θ's weight e^{η_dk} in place of
# n_dk + α_k), then (μ_η, Σ_η) from their NIW posterior given η_1..η_D.  The tests
# (`tests/test_cgtm.py`) check the kernel against the Pyro story with Geweke's test and show
# that it rejects the two defects of the public reference code: an η draw that uses τ² as
# the standard deviation, and a z-step that ignores η.

# %%
import os

import numpy as np
import pyro.poutine as poutine
from scipy.optimize import linear_sum_assignment

import ppltopics as pt
from ppltopics.inference.cgtm import identified_corr
from ppltopics.models import cgtm

SMALL = os.environ.get("PPLTOPICS_TUTORIAL_SMALL") == "1"
np.set_printoptions(precision=2, suppress=True)

# %% [markdown]
# ## 1. The story in Pyro
# `cgtm.model(doc_lengths, hyper, data)` is an ordinary Pyro model; the topics' and η's
# (μ, Σ) are NIW pairs of sites, η lives in the `docs` plate, z and v in the flattened
# `tokens` plate.

# %%
K = 4
hyper = cgtm.CGTMHyper(num_topics=K, kappa0=0.05, nu0=5.0, psi0=0.1, mu0=(0.0, 0.0))
trace = poutine.trace(cgtm.model).get_trace([5, 3, 4], hyper)
for name, site in trace.nodes.items():
    if site["type"] == "sample":
        print(f"{name:11s} {tuple(site['value'].shape)}")

# %% [markdown]
# ## 2. Planted correlations, recovered
# `simulate` can plant a topic correlation matrix: here topics 0 and 1 tend to appear
# together (+0.8) and topics 2 and 3 avoid each other (−0.8).  We fit with the same topic
# prior, match estimated topics to the true ones by their means (Hungarian), and compare the
# posterior-mean `topic_corr` with the identified correlation of the planted covariance.

# %%
R = np.eye(K)
R[0, 1] = R[1, 0] = 0.8
R[2, 3] = R[3, 2] = -0.8
sim = cgtm.simulate(150 if SMALL else 300, 30 if SMALL else 40, hyper, seed=1, topic_corr=R,
                    eta_sd=1.5)
print(sim.corpus)
post = pt.fit("cgtm", sim.corpus, vectors=sim.vectors, num_topics=K, num_chains=2,
              num_samples=40 if SMALL else 200, warmup=40 if SMALL else 200, seed=1,
              progress=False, kappa0=0.05, nu0=5.0, psi0=0.1)
cost = np.linalg.norm(post.estimates["topic_mean"][:, None] - sim.topic_mean[None], axis=2)
rows, cols = linear_sum_assignment(cost)
match = rows[np.argsort(cols)]  # estimated topic of each true topic
print("planted correlation of eta:\n", R)
print("planted, identified (centred eta):\n", identified_corr(sim.eta_cov))
print("recovered topic_corr (posterior mean):\n",
      post.estimates["topic_corr"][np.ix_(match, match)])
print("uncorrelated baseline -1/(K-1) =", round(-1 / (K - 1), 3))

# %% [markdown]
# The positive pair stands out above the baseline and the negative pair below it.  The raw
# Σ_η is not identified along the common-mode direction (its diagonal is pulled by the
# prior), which is why the identified correlation is the reported one:

# %%
print("posterior-mean Sigma_eta (raw):\n", post.estimates["eta_cov"][np.ix_(match, match)])
print("planted Sigma_eta:\n", sim.eta_cov)

# %% [markdown]
# ## 3. State of the Union paragraphs with GloVe vectors
# The embedded SOTU corpus and GloVe-6B-50d (from an installed package, no download).  The
# exact sweep costs O(K·M²) per token, so the small settings take a subsample and few
# sweeps; the full settings take every fifth paragraph.

# %%
corpus = pt.datasets.load_sotu()
corpus = corpus.subset(np.arange(0, corpus.num_docs, 60 if SMALL else 5))
vectors = pt.WordVectors.glove(corpus.vocab)
corpus = corpus.restrict(vectors.vocab)
print(corpus)
num_topics = 8 if SMALL else 20
sotu = pt.fit("cgtm", corpus, vectors=vectors, num_topics=num_topics,
              num_chains=2, num_samples=10 if SMALL else 50,
              warmup=15 if SMALL else 150, seed=0, progress=False)
top = sotu.top_words(6)
for k, words in enumerate(top):
    print(k, " ".join(words))
print("wrote", sotu.plot_correlation("cgtm_corr.png"))

# %% [markdown]
# ## 4. Which topics go together, which avoid each other?
# Pairs ranked by their posterior-mean identified correlation (baseline −1/(K−1)).

# %%
corr = sotu.estimates["topic_corr"]
i, j = np.triu_indices(num_topics, 1)
order = np.argsort(corr[i, j])
print(f"baseline for uncorrelated topics: {-1 / (num_topics - 1):.3f}")
print("most positively correlated:")
for p in order[::-1][:3]:
    print(f"  {corr[i[p], j[p]]:+.2f}  [{' '.join(top[i[p]][:4])}] ~ [{' '.join(top[j[p]][:4])}]")
print("most negatively correlated:")
for p in order[:3]:
    print(f"  {corr[i[p], j[p]]:+.2f}  [{' '.join(top[i[p]][:4])}] ~ [{' '.join(top[j[p]][:4])}]")

# %% [markdown]
# Diagnostics work as for the other models (R-hat and ESS on label-invariant quantities):

# %%
print(pt.diagnostics.summary(sotu)[["mean", "ess_bulk", "r_hat"]])
