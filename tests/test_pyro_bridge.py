"""The kernel contract and its Pyro bridge: every model's kernel runs under
``pyro.infer.MCMC(PyroGibbs(kernel))`` and gives exactly the runner's draws for the same seed."""

from __future__ import annotations

import doctest
import io
import json
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import pyro
import pytest
import torch
from tqdm import tqdm

import ppltopics.inference.base as base
from ppltopics.corpus import Corpus
from ppltopics.inference import GibbsKernel, PyroGibbs
from ppltopics.inference.cgtm import CGTMKernel
from ppltopics.inference.ghlda import GhLDAKernel
from ppltopics.inference.glda import GLDAKernel
from ppltopics.inference.hlda import HLDAKernel
from ppltopics.inference.lda import LDAKernel
from ppltopics.inference.runner import RunSpec, run_chain
from ppltopics.models import lda
from ppltopics.models.cgtm import CGTMHyper
from ppltopics.models.checks import ReferenceLDAKernel
from ppltopics.models.ghlda import GhLDAHyper
from ppltopics.models.glda import GLDAHyper

K, V, M = 3, 12, 2
WARMUP, SAMPLES = 3, 5
LDA_HYPER = lda.LDAHyper(num_topics=K, alpha=0.5, beta=0.1)
CORPUS = lda.simulate(num_docs=6, doc_length=8, vocab_size=V, hyper=LDA_HYPER, seed=0).corpus
TABLE = np.random.default_rng(1).standard_normal((V, M))


def _glda(method: str) -> GLDAKernel:
    r = GLDAHyper(num_topics=K).resolve(TABLE, counts=CORPUS.word_counts())
    return GLDAKernel(CORPUS, TABLE, K, r.alpha, r.mu0, r.kappa0, r.nu0, r.psi0, method=method)


def _cgtm() -> CGTMKernel:
    r = CGTMHyper(num_topics=K).resolve(TABLE, counts=CORPUS.word_counts())
    return CGTMKernel(CORPUS, TABLE, K, r.mu0, r.kappa0, r.nu0, r.psi0, r.eta_mu0,
                      r.eta_kappa0, r.eta_nu0, r.eta_psi0)


def _ghlda() -> GhLDAKernel:
    r = GhLDAHyper(depth=3, gamma=1.0).resolve(TABLE, counts=CORPUS.word_counts())
    return GhLDAKernel(CORPUS, TABLE, r.mu0, r.kappa0, r.nu0, r.psi0,
                       psi_ratio=np.asarray(r.psi_ratio), depth=3, gamma=1.0)


KERNELS: dict[str, Callable[[], GibbsKernel]] = {
    # alpha optimised every warm-up sweep: the draws depend on the bridge's warm-up flag
    "lda": lambda: LDAKernel(CORPUS, LDA_HYPER, optimize_alpha=True, optimize_interval=1),
    "lda-reference": lambda: ReferenceLDAKernel(CORPUS, LDA_HYPER),
    "glda-exact": lambda: _glda("exact"),
    "glda-fast": lambda: _glda("fast"),
    "cgtm": _cgtm,
    "hlda": lambda: HLDAKernel(CORPUS, depth=3, gamma=1.0),
    "ghlda": _ghlda,
}


def test_contract_doctest_runs() -> None:
    """The toy kernel of GibbsKernel's docstring runs (by hand, runner, Pyro) as printed."""
    res = doctest.testmod(base, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0 and res.failed == 0


@pytest.mark.parametrize("name", list(KERNELS))
def test_pyro_mcmc_gives_the_runner_draws(name: str) -> None:
    """Draw d of ``pyro.infer.MCMC(PyroGibbs(kernel, seed=ss))`` equals the state's
    ``pyro_params`` after sweep warmup + d of the runner's chain seeded by ``ss`` (chain 1 of
    two), and the final log joints agree."""
    kernel = KERNELS[name]()
    assert isinstance(kernel.corpus, Corpus) and kernel.num_tokens == CORPUS.num_tokens
    runner_draws: dict[str, list[np.ndarray]] = {k: [] for k in kernel.pyro_params}

    def keep(state: dict[str, np.ndarray], it: int) -> None:
        if it >= WARMUP:
            for k in kernel.pyro_params:
                runner_draws[k].append(state[k].copy())

    spec = RunSpec(num_chains=2, num_samples=SAMPLES, warmup=WARMUP, seed=11, progress=False,
                   callback=keep)
    res = run_chain(kernel, spec, chain=1)

    bridge = PyroGibbs(KERNELS[name](), seed=np.random.SeedSequence(11).spawn(2)[1])
    mcmc = pyro.infer.MCMC(bridge, num_samples=SAMPLES, warmup_steps=WARMUP,
                           disable_progbar=True)
    mcmc.run()
    samples = mcmc.get_samples()
    assert sorted(samples) == sorted(kernel.pyro_params)
    for k in kernel.pyro_params:
        expected = np.stack(runner_draws[k])
        assert tuple(samples[k].shape) == expected.shape == (SAMPLES, *res.state[k].shape)
        np.testing.assert_array_equal(samples[k].numpy(), expected)
    assert bridge.kernel.record(bridge.state)["lp"] == pytest.approx(res.stats["lp"][-1],
                                                                      rel=1e-12)
    if name in ("hlda", "ghlda"):  # every path starts at the root; levels lie in [0, L)
        paths, levels = samples["paths"], samples["levels"]
        assert bool((paths[:, :, 0] == paths[0, 0, 0]).all()) and int(levels.max()) <= 2


def test_pyro_gibbs_seed_is_the_hand_driven_chain() -> None:
    """``PyroGibbs(kernel, seed=s)`` is the chain ``rng = default_rng(s)``, init, steps."""
    kernel = LDAKernel(CORPUS, LDA_HYPER)
    mcmc = pyro.infer.MCMC(PyroGibbs(kernel, seed=5), num_samples=6, warmup_steps=2,
                           disable_progbar=True)
    mcmc.run()
    rng = np.random.default_rng(5)
    state = kernel.init_state(rng)
    manual = []
    for i in range(8):
        kernel.step(state, rng, warmup=i < 2)
        manual.append(state["z"].copy())
    np.testing.assert_array_equal(mcmc.get_samples()["z"].numpy(), np.stack(manual[2:]))


def test_initial_params_start_the_chain() -> None:
    """``initial_params`` given to ``pyro.infer.MCMC`` replace the drawn start (then resync)."""
    kernel = LDAKernel(CORPUS, LDA_HYPER)
    z0 = torch.zeros(CORPUS.num_tokens, dtype=torch.int32)
    mcmc = pyro.infer.MCMC(PyroGibbs(kernel, seed=3), num_samples=2, warmup_steps=0,
                           initial_params={"z": z0}, disable_progbar=True)
    mcmc.run()
    rng = np.random.default_rng(3)
    state = kernel.init_state(rng)
    state["z"][...] = 0
    kernel.resync(state)
    manual = []
    for _ in range(2):
        kernel.step(state, rng, warmup=False)
        manual.append(state["z"].copy())
    np.testing.assert_array_equal(mcmc.get_samples()["z"].numpy(), np.stack(manual))
    with pytest.raises(KeyError, match="pyro_params"):
        PyroGibbs(kernel).initial_params = {"theta": z0}


def test_a_kernel_runs_under_pyro_mcmc_directly() -> None:
    """``pyro.infer.MCMC(kernel)`` (the kernel itself, a virtual ``MCMCKernel``) runs the
    kernel's default bridge ``PyroGibbs(kernel, seed=0)``: the same draws; PyroGibbs takes
    only kernels and refuses to sample before ``setup``."""
    from pyro.infer.mcmc.mcmc_kernel import MCMCKernel

    assert issubclass(LDAKernel, MCMCKernel) and isinstance(LDAKernel(CORPUS, LDA_HYPER),
                                                            MCMCKernel)
    draws = []
    for kernel in (LDAKernel(CORPUS, LDA_HYPER), PyroGibbs(LDAKernel(CORPUS, LDA_HYPER))):
        mcmc = pyro.infer.MCMC(kernel, num_samples=3, warmup_steps=1, disable_progbar=True)
        mcmc.run()
        draws.append(mcmc.get_samples()["z"].numpy())
    np.testing.assert_array_equal(draws[0], draws[1])
    with pytest.raises(AttributeError, match="no_such_thing"):
        LDAKernel(CORPUS, LDA_HYPER).no_such_thing  # noqa: B018
    with pytest.raises(TypeError, match="GibbsKernel"):
        PyroGibbs(object())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="setup"):
        PyroGibbs(LDAKernel(CORPUS, LDA_HYPER)).sample({})


def test_progress_bar_shows_the_log_joint() -> None:
    """``logging()`` is what Pyro's progress bar receives each sweep (through a JSON round
    trip, then ``tqdm.set_postfix``): it must be a mapping (a string made every sweep print a
    logging error)."""
    bridge = PyroGibbs(LDAKernel(CORPUS, LDA_HYPER))
    assert bridge.logging() == {}
    pyro.infer.MCMC(bridge, num_samples=2, warmup_steps=1, disable_progbar=True).run()
    shown = json.loads(json.dumps(bridge.logging()), object_pairs_hook=OrderedDict)
    with tqdm(total=1, file=io.StringIO()) as bar:
        bar.set_postfix(shown, refresh=False)
        lp = bridge.kernel.record(bridge.state)["lp"]
        assert bar.postfix == f"lp={lp:.1f}"
