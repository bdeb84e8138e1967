"""Ready-made toy problems for the built-in kernels, so that
``checks.geweke(checks.toy_problem("lda"))`` runs without assembling the pieces.

Each :class:`CheckProblem` holds a kernel factory on a toy corpus and the pieces of the
model's story from :mod:`ppltopics.models.checks`: the forward simulator (the Pyro model run
forward), the exact data conditional, the label-invariant test functions, the latent step
that writes a latent into a kernel state, and (where the toy is enumerable) the collapsed log
joint.  The toy sizes are those of the repository's own correctness tests: small enough that
10⁴ successive-conditional steps take seconds, large enough that the test functions have
power against the defects those tests inject.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CheckProblem", "toy_problem", "TOY_PROBLEMS"]


@dataclass
class CheckProblem:
    """A kernel together with what :func:`~ppltopics.checks.geweke`,
    :func:`~ppltopics.checks.sbc` and :func:`~ppltopics.checks.enumeration` need.

    ``kernel()`` makes a fresh kernel (the checks modify the one they run); ``forward``,
    ``data_step``, ``test_functions`` and ``latent_step`` are the arguments of the same
    names; ``log_joint`` (z → collapsed log p(z, data) of the enumeration corpus) and
    ``enum_kernel()`` are set when the toy is small enough to enumerate.
    """

    name: str
    kernel: Callable[[], Any]
    forward: Callable[[int, np.random.Generator], list[tuple[Any, Any]]]
    data_step: Callable[[Any, np.random.Generator], Any]
    test_functions: Mapping[str, Callable[[Any, Any], np.ndarray]]
    latent_step: Any = None
    log_joint: Callable[[np.ndarray], float] | None = None
    enum_kernel: Callable[[], Any] | None = None
    sizes: dict[str, Any] = field(default_factory=dict)

    def geweke_args(self) -> dict[str, Any]:
        return {"forward": self.forward, "data_step": self.data_step,
                "test_functions": self.test_functions, "latent_step": self.latent_step}

    def sbc_args(self) -> dict[str, Any]:
        return {"forward": self.forward, "test_functions": self.test_functions,
                "latent_step": self.latent_step}


def _corpus(offsets: np.ndarray, vocab_size: int | None = None, word_ids: Any = None) -> Any:
    from ppltopics.corpus import Corpus

    n = int(offsets[-1])
    ids = np.arange(n) if word_ids is None else np.asarray(word_ids)
    v = n if vocab_size is None else vocab_size
    return Corpus(ids.astype(np.int32), np.asarray(offsets, np.int64), [f"v{i}" for i in range(v)])


def _offsets(lengths: Any) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _lda() -> CheckProblem:
    from ppltopics import testing as T
    from ppltopics.inference.lda import LDAKernel
    from ppltopics.models import checks, lda
    from ppltopics.models.lda import LDAHyper, log_joint

    lengths, v = np.array([4, 4, 4]), 4
    hyper = LDAHyper(num_topics=3, alpha=0.5, beta=0.3)
    offsets = _offsets(lengths)
    fwd = T.pyro_forward_sampler(lda.model, (lengths, v, hyper))
    # enumeration toy: 2 documents × 3 tokens, K = 2 (64 configurations)
    e_off = np.array([0, 3, 6])
    e_corpus = _corpus(e_off, 3, [0, 1, 1, 2, 2, 0])
    e_hyper = LDAHyper(num_topics=2, alpha=0.5, beta=0.3)
    return CheckProblem(
        "lda", lambda: LDAKernel(_corpus(offsets, v, np.zeros(offsets[-1])), hyper), fwd,
        checks.lda_word_conditional(v, hyper), checks.lda_test_functions(offsets, v, hyper),
        log_joint=lambda z: log_joint(e_corpus.word_ids, e_corpus.doc_offsets, z, e_hyper, 3),
        enum_kernel=lambda: LDAKernel(e_corpus, e_hyper),
        sizes={"docs": 3, "tokens": 12, "vocab": v, "topics": 3})


def _glda(method: str) -> CheckProblem:
    from ppltopics import testing as T
    from ppltopics.inference.glda import GLDAKernel
    from ppltopics.models import checks, glda
    from ppltopics.models.glda import ResolvedGLDAHyper

    lengths = np.array([4, 4, 4])
    offsets = _offsets(lengths)
    h = ResolvedGLDAHyper(num_topics=2, alpha=0.5, mu0=np.zeros(2), kappa0=0.5, nu0=4.0,
                          psi0=np.eye(2))
    n = int(offsets[-1])
    kw = {"method": method} if method == "exact" else {"method": method, "mh_steps": 2}

    def kernel() -> GLDAKernel:  # one word type per token: the table is the token vectors
        return GLDAKernel(_corpus(offsets), np.zeros((n, 2)), h.num_topics, h.alpha_vector,
                          np.array(h.mu0), h.kappa0, h.nu0, np.array(h.psi0), **kw)

    fwd = T.pyro_forward_sampler(glda.model, (lengths, h), latent="z", data="v")
    return CheckProblem(f"glda-{method}", kernel, fwd, checks.glda_vector_conditional(h),
                        checks.glda_test_functions(offsets, h),
                        sizes={"docs": 3, "tokens": n, "dim": 2, "topics": 2})


def _cgtm() -> CheckProblem:
    from ppltopics import testing as T
    from ppltopics.inference.cgtm import CGTMKernel
    from ppltopics.models import cgtm, checks
    from ppltopics.models.cgtm import ResolvedCGTMHyper

    lengths = np.array([3, 4, 3])
    offsets = _offsets(lengths)
    h = ResolvedCGTMHyper(num_topics=2, mu0=np.zeros(2), kappa0=0.5, nu0=4.0, psi0=np.eye(2),
                          eta_mu0=np.zeros(2), eta_kappa0=1.0, eta_nu0=6.0,
                          eta_psi0=3.0 * np.eye(2))
    n = int(offsets[-1])

    def kernel() -> CGTMKernel:
        return CGTMKernel(_corpus(offsets), np.zeros((n, 2)), h.num_topics, *h.niw_args(),
                          *h.eta_niw_args(), pg_exact_max=None)

    fwd = T.pyro_forward_sampler(cgtm.model, (lengths, h), latent=checks.CGTM_LATENT_SITES,
                                 data="v")
    return CheckProblem("cgtm", kernel, fwd, checks.cgtm_vector_conditional(h),
                        checks.cgtm_test_functions(offsets, h), latent_step=checks.CGTMConditional,
                        sizes={"docs": 3, "tokens": n, "dim": 2, "topics": 2})


def _hlda() -> CheckProblem:
    from ppltopics.inference.hlda import HLDAKernel
    from ppltopics.models import checks
    from ppltopics.models import hlda as H

    lengths, v = np.array([3, 3, 3]), 3
    offsets = _offsets(lengths)
    h = H.HLDAHyper(depth=2, gamma=1.0, gem_mean=0.5, gem_scale=2.0, eta=0.5)

    def kernel() -> HLDAKernel:
        return HLDAKernel(_corpus(offsets, v, np.zeros(offsets[-1])), depth=h.depth,
                          gamma=h.gamma, eta=h.eta_vector, gem_mean=h.gem_mean,
                          gem_scale=h.gem_scale)

    fwd = checks.tree_forward_sampler(H.model, (lengths, v, h), data="w")
    return CheckProblem("hlda", kernel, fwd, checks.hlda_word_conditional(offsets, v, h),
                        checks.hlda_test_functions(offsets, v, h),
                        latent_step=checks.TreeConditional,
                        sizes={"docs": 3, "tokens": 9, "vocab": v, "depth": 2})


def _ghlda() -> CheckProblem:
    from ppltopics.inference.ghlda import GhLDAKernel
    from ppltopics.models import checks
    from ppltopics.models import ghlda as G

    lengths = np.array([3, 3, 3])
    offsets = _offsets(lengths)
    h = G.GhLDAHyper(depth=2, gamma=1.0, gem_mean=0.5, gem_scale=2.0, kappa0=0.5, nu0=4.0,
                     mu0=(0.0, 0.0), psi0=1.0, psi_ratio=(1.0, 0.5)).resolve(dim=2)
    n = int(offsets[-1])

    def kernel() -> GhLDAKernel:
        k = GhLDAKernel(_corpus(offsets), np.zeros((n, 2)), h.mu0, h.kappa0, h.nu0, h.psi0,
                        psi_ratio=h.psi_ratio, depth=h.depth, gamma=h.gamma,
                        gem_mean=h.gem_mean, gem_scale=h.gem_scale)
        return k

    fwd = checks.tree_forward_sampler(G.model, (lengths, h), data="v")
    return CheckProblem("ghlda", kernel, fwd, checks.ghlda_vector_conditional(offsets, h),
                        checks.ghlda_test_functions(offsets, h),
                        latent_step=checks.TreeConditional,
                        sizes={"docs": 3, "tokens": n, "dim": 2, "depth": 2})


#: name -> builder of the toy problem of each built-in kernel
TOY_PROBLEMS: dict[str, Callable[[], CheckProblem]] = {
    "lda": _lda,
    "glda-exact": lambda: _glda("exact"),
    "glda-fast": lambda: _glda("fast"),
    "cgtm": _cgtm,
    "hlda": _hlda,
    "ghlda": _ghlda,
}


def toy_problem(name: str) -> CheckProblem:
    """The toy :class:`CheckProblem` of a built-in kernel: ``"lda"``, ``"glda-exact"``,
    ``"glda-fast"``, ``"cgtm"``, ``"hlda"`` or ``"ghlda"``."""
    if name not in TOY_PROBLEMS:
        raise ValueError(f"unknown toy problem {name!r}; choose one of {sorted(TOY_PROBLEMS)}")
    return TOY_PROBLEMS[name]()
