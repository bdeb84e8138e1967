"""Does the collapsed Gibbs kernel agree with Pyro's generic inference on the same story?

:func:`lda_pyro_crosscheck` fits a tiny corpus three ways and compares a label-invariant
summary of the posterior, the co-assignment matrix P_ij = p(z_i = z_j | w) of every token
pair:

- **exact**: enumeration of all K^N assignments under the collapsed log joint
  (:func:`ppltopics.models.checks.lda_enumerated_posterior`), P_ij = Σ_z p(z | w) 1[z_i = z_j];
- **Gibbs**: the library's :class:`~ppltopics.inference.lda.LDAKernel`, P_ij estimated by the
  share of draws with z_i = z_j;
- **Pyro**: ``pyro.infer.NUTS`` over the continuous sites θ and φ of the *same* Pyro model
  (:func:`ppltopics.models.lda.model`) with z enumerated out (``config_enumerate``,
  ``max_plate_nesting=1``: the potential is log p(w, θ, φ) = Σ_n log Σ_k θ_{d(n)k} φ_{k w_n}
  + log priors), and P_ij Rao–Blackwellised: given θ and φ the z_n are independent with
  r_nk ∝ θ_{d(n)k} φ_{k w_n}, so p(z_i = z_j | θ, φ, w) = Σ_k r_ik r_jk (i ≠ j), averaged over
  the NUTS draws.

A teaching device: three routes to the same posterior, one exact, one the fast kernel, one
the PPL's general-purpose sampler.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PyroCrossCheck", "lda_pyro_crosscheck"]


@dataclass
class PyroCrossCheck:
    """Co-assignment probabilities of every token pair (i < j) by the three routes."""

    pairs: np.ndarray
    exact: np.ndarray
    gibbs: np.ndarray
    pyro: np.ndarray
    num_gibbs: int
    num_pyro: int
    pyro_diagnostics: dict[str, float] = field(default_factory=dict)

    @property
    def max_abs_diff(self) -> dict[str, float]:
        """Largest |P_ij − P_ij(exact)| of each sampler, and between the two samplers."""
        return {"gibbs-exact": float(np.abs(self.gibbs - self.exact).max()),
                "pyro-exact": float(np.abs(self.pyro - self.exact).max()),
                "gibbs-pyro": float(np.abs(self.gibbs - self.pyro).max())}

    def agree(self, tol: float = 0.05) -> bool:
        """Every pair within ``tol`` of the exact value by both samplers."""
        d = self.max_abs_diff
        return d["gibbs-exact"] <= tol and d["pyro-exact"] <= tol

    def summary(self) -> str:
        d = self.max_abs_diff
        return (f"co-assignment p(z_i = z_j | w) of {len(self.pairs)} token pairs: "
                f"max |Gibbs − exact| = {d['gibbs-exact']:.3f} ({self.num_gibbs} draws), "
                f"max |Pyro NUTS − exact| = {d['pyro-exact']:.3f} ({self.num_pyro} draws), "
                f"max |Gibbs − Pyro| = {d['gibbs-pyro']:.3f}")

    def plot(self) -> Figure:
        """Each sampler's P_ij against the exact value (the diagonal is agreement)."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.2, 4.2))
        ax.plot([0, 1], [0, 1], color="0.6", lw=0.8)
        ax.plot(self.exact, self.gibbs, "o", ms=4, label="collapsed Gibbs (ppltopics)")
        ax.plot(self.exact, self.pyro, "x", ms=5, label="Pyro NUTS, z enumerated")
        ax.set_xlabel("exact p(z_i = z_j | w)")
        ax.set_ylabel("estimate")
        ax.legend(fontsize=7)
        fig.tight_layout()
        return fig


def _exact_coassignment(corpus: Any, hyper: Any, pairs: np.ndarray) -> np.ndarray:
    from ppltopics.models.checks import lda_enumerated_posterior

    probs = lda_enumerated_posterior(corpus, hyper)
    states = np.array(list(itertools.product(range(hyper.num_topics),
                                             repeat=corpus.num_tokens)))
    same = states[:, pairs[:, 0]] == states[:, pairs[:, 1]]
    return probs @ same


def lda_pyro_crosscheck(
    corpus: Any, hyper: Any, *, num_gibbs: int = 4000, num_pyro: int = 1000,
    warmup_pyro: int = 500, seed: int = 0, jit: bool = True,
) -> PyroCrossCheck:
    """Compare the co-assignment matrix of LDA's posterior on a tiny ``corpus`` (K^N ≲ 10⁴)
    computed exactly, by the library's collapsed Gibbs kernel (``num_gibbs`` draws after 100
    sweeps of warm-up) and by Pyro's NUTS with z enumerated out (``num_pyro`` draws after
    ``warmup_pyro``; ``jit``: NUTS's ``jit_compile``, several times faster on a model this
    small); ``hyper`` is a :class:`ppltopics.models.lda.LDAHyper`."""
    import pyro
    import torch
    from pyro.infer import MCMC, NUTS, config_enumerate

    from ppltopics.inference.lda import LDAKernel
    from ppltopics.models import lda

    n = corpus.num_tokens
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)], dtype=np.int64)
    exact = _exact_coassignment(corpus, hyper, pairs)

    kernel = LDAKernel(corpus, hyper)
    rng = np.random.default_rng(seed)
    state = kernel.init_state(rng)
    for _ in range(100):
        kernel.step(state, rng, warmup=False)
    hits = np.zeros(len(pairs))
    for _ in range(num_gibbs):
        kernel.step(state, rng, warmup=False)
        z = state["z"]
        hits += z[pairs[:, 0]] == z[pairs[:, 1]]
    gibbs = hits / num_gibbs

    w = torch.as_tensor(np.asarray(corpus.word_ids, dtype=np.int64))
    args = (corpus.doc_lengths, corpus.vocab_size, hyper, w)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        pyro.set_rng_seed(seed)
        nuts = NUTS(config_enumerate(lda.model), max_plate_nesting=1, jit_compile=jit,
                    ignore_jit_warnings=True)
        mcmc = MCMC(nuts,
                    num_samples=num_pyro, warmup_steps=warmup_pyro, disable_progbar=True)
        mcmc.run(*args)
    samples = mcmc.get_samples()
    theta = samples["theta"].detach().cpu().numpy()  # (S, D, K)
    phi = samples["phi"].detach().cpu().numpy()  # (S, K, V)
    docs = np.repeat(np.arange(corpus.num_docs), corpus.doc_lengths)
    words = np.asarray(corpus.word_ids, dtype=np.int64)
    r = theta[:, docs, :] * np.swapaxes(phi[:, :, words], 1, 2)  # (S, N, K)
    r /= r.sum(axis=2, keepdims=True)
    per_draw = (r[:, pairs[:, 0], :] * r[:, pairs[:, 1], :]).sum(axis=2)  # (S, pairs)
    pyro_p = per_draw.mean(axis=0)
    diag = {}
    try:  # ESS of the label-invariant per-draw co-assignments (θ and φ switch labels)
        import arviz_base as azb
        import arviz_stats as azs

        dt = azb.from_dict({"posterior": {"coassign": per_draw[None]}})
        diag["min_ess_bulk"] = float(azs.ess(dt, method="bulk")["coassign"].min())
    except (ImportError, ValueError, TypeError, KeyError):  # diagnostics are optional
        pass
    return PyroCrossCheck(pairs, exact, gibbs, pyro_p, num_gibbs, num_pyro, diag)
