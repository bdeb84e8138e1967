"""The annealed warm-up of the Gaussian models (``anneal=`` A sweeps, :class:`GLDAKernel`).

The first A warm-up sweeps target the vector density to the power λ·τ_s, τ_s = τ_0^{1 − s/A}.
What must hold: (a) the schedule is the documented one and touches warm-up only — every sweep
after warm-up, and every warm-up sweep from A on, is bit for bit the exact kernel's, so the
kept draws keep the Geweke/enumeration guarantees of ``tests/test_glda.py`` and
``tests/test_cgtm.py``; (b) it changes the warm-up (else it would be a no-op); (c) it finds
planted topics that the plain chain from the same random start misses; (d) bad values are a
``ValueError`` naming ``anneal``, and the setting is recorded.  CGTM's annealed sweeps draw z
as GLDA's do (θ integrated out under Dirichlet(1/K)), which (e) pins bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.inference.cgtm import CGTMKernel
from ppltopics.inference.glda import ANNEAL_START, GLDAKernel
from ppltopics.models.cgtm import CGTMHyper
from ppltopics.models.glda import GLDAHyper
from ppltopics.testing.planted import matched_cosines, planted_gaussian


@pytest.fixture(scope="module")
def small():
    return planted_gaussian(0, clusters=4, docs=40)


def _kernel(model, corpus, vectors, k, **kw):
    table = vectors.matrix(corpus.vocab)
    if model == "cgtm":
        r = CGTMHyper(num_topics=k).resolve(table, counts=corpus.word_counts())
        return CGTMKernel(corpus, table, k, r.mu0, r.kappa0, r.nu0, r.psi0, r.eta_mu0,
                          r.eta_kappa0, r.eta_nu0, r.eta_psi0, **kw)
    r = GLDAHyper(num_topics=k).resolve(table, counts=corpus.word_counts())
    return GLDAKernel(corpus, table, k, r.alpha, r.mu0, r.kappa0, r.nu0, r.psi0, **kw)


def test_schedule(small):
    corpus, vectors, _, _ = small
    kern = _kernel("glda", corpus, vectors, 4, anneal=10, beta=0.01, vector_weight=0.5)
    state = kern.init_state(np.random.default_rng(0))
    got = []
    for s in (0, 5, 9, 10, 30):
        state["sweeps"][0] = s
        got.append(kern.weight(state, warmup=True))
        assert kern.weight(state, warmup=False) == 0.5
    want = [0.5 * ANNEAL_START ** (1 - s / 10) for s in (0, 5, 9)] + [0.5, 0.5]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert kern.view(state, warmup=True).lam == 0.5


SETUPS = [("glda", {"method": "exact"}), ("glda", {"method": "fast"}),
          ("glda", {"method": "fast", "split_merge": True}), ("cgtm", {"split_merge": True}),
          ("glda", {"method": "exact", "beta": 0.01, "vector_weight": 0.3})]


@pytest.mark.parametrize("model,kw", SETUPS, ids=lambda v: str(v))
def test_only_early_warmup_is_tempered(small, model, kw):
    """(a) From one state and one generator, sampling sweeps (and warm-up sweeps past A) of
    the annealed kernel are the plain kernel's bit for bit; (b) its early warm-up differs."""
    corpus, vectors, _, _ = small
    plain = _kernel(model, corpus, vectors, 4, **kw)
    annealed = _kernel(model, corpus, vectors, 4, anneal=3, **kw)

    def run(kern, phases):
        rng = np.random.default_rng(7)
        state = kern.init_state(rng)
        for warm in phases:
            kern.step(state, rng, warmup=warm)
        return state["z"]

    sampling = [False] * 4
    np.testing.assert_array_equal(run(plain, sampling), run(annealed, sampling))
    assert not np.array_equal(run(plain, [True] * 3), run(annealed, [True] * 3))
    # past A the warm-up is the plain kernel's: same state and generator, same sweep
    rng = np.random.default_rng(3)
    state = annealed.init_state(rng)
    for _ in range(3):
        annealed.step(state, rng, warmup=True)
    twin = {k: v.copy() for k, v in state.items()}
    rng_twin = np.random.default_rng(3)
    rng_twin.bit_generator.state = rng.bit_generator.state
    annealed.step(state, rng, warmup=True)
    plain.step(twin, rng_twin, warmup=True)
    np.testing.assert_array_equal(state["z"], twin["z"])


def test_cgtm_anneals_as_glda(small):
    """(e) An annealed CGTM warm-up sweep (with its moves, ``ANNEAL_MOVE_ROUNDS`` times as
    many) leaves the z that GLDA's annealed exact sweep with α = 1/K and that many moves
    leaves from the same state and generator; η | z follows it."""
    corpus, vectors, _, _ = small
    cgtm = _kernel("cgtm", corpus, vectors, 4, split_merge=True, anneal=3)
    glda = _kernel("glda", corpus, vectors, 4, method="exact", anneal=3,
                   split_merge={"moves": CGTMKernel.ANNEAL_MOVE_ROUNDS})
    np.testing.assert_allclose(glda.alpha, 0.25)
    states = [k.init_state(np.random.default_rng(5)) for k in (cgtm, glda)]
    eta = states[0]["eta"].copy()
    for kern, state in zip((cgtm, glda), states, strict=True):
        kern.step(state, np.random.default_rng(11), warmup=True)
    np.testing.assert_array_equal(states[0]["z"], states[1]["z"])
    assert not np.array_equal(states[0]["eta"], eta)


# Overlapping planted corpora (spread 0.35: rms distance to the centre 0.35 of the centres'
# norm) on which the chain with the default moves (GLDA: the fast path), from a uniform
# random start, 200 sweeps (100 warm-up), misses a planted topic (matched cosine < 0.95;
# benchmarks/README, "bench_split_merge.py", the annealed rows); annealed over its first 90
# warm-up sweeps the same chain finds every one.  Over 90 mixed corpora: GLDA 87 recovered
# annealed, 74 plain; CGTM 86 annealed, 57 plain.
STUCK = [("glda", 47, 6), ("glda", 63, 8), ("cgtm", 13, 6)]


@pytest.mark.parametrize("model,seed,k", STUCK)
def test_annealing_finds_what_the_plain_chain_misses(model, seed, k):
    """(c) Corpus and chain seed as in the benchmark (``bench_split_merge.py``)."""
    corpus, vectors, centres, _ = planted_gaussian(seed, clusters=k, spread=0.35, docs=400)
    kw = {"method": "fast"} if model == "glda" else {}

    def fit(anneal):
        kern = _kernel(model, corpus, vectors, k, split_merge=True, anneal=anneal, **kw)
        rng = np.random.default_rng(seed)
        state = kern.init_state(rng)
        for it in range(200):
            kern.step(state, rng, warmup=it < 100)
        return matched_cosines(centres, kern.topic_means(state)).min()

    assert fit(0) < 0.95
    assert fit(90) >= 0.95


@pytest.mark.parametrize("bad", [-1, 2.5, "60", True, None])
def test_bad_anneal_is_a_value_error(small, bad):
    corpus, vectors, _, _ = small
    with pytest.raises(ValueError, match="anneal"):
        _kernel("glda", corpus, vectors, 4, anneal=bad)


@pytest.mark.parametrize("model", ["glda", "cgtm"])
def test_fit_records_the_setting(small, model):
    corpus, vectors, _, _ = small
    post = pt.fit(model, corpus, vectors=vectors, num_topics=3, num_chains=1, warmup=4,
                  num_samples=2, seed=0, progress=False, anneal=3, prepare=None)
    assert post.settings["anneal"] == 3
    plain = pt.fit(model, corpus, vectors=vectors, num_topics=3, num_chains=1, warmup=4,
                   num_samples=2, seed=0, progress=False, prepare=None)
    assert "anneal" not in plain.settings
