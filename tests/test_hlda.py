"""hLDA: the collapsed Gibbs kernel (paths by the nCRP, levels by the GEM), the tree storage,
the tree Posterior and the fit API.

Harness: :mod:`ppltopics.testing` and :mod:`ppltopics.models.checks` (forward draws of the
Pyro story ``models.hlda.model``, the exact data conditional w | c, z, label-invariant test
functions and the :class:`~ppltopics.models.checks.TreeConditional` adapter, which
canonicalises the paths and calls ``kernel.resync`` before every sweep).

(a) Geweke's joint-distribution test on depth-2 and depth-3 toys (3 documents × 3 tokens,
    resp. 4 × 2, V = 3, γ = 1, m = 0.5, π = 2, η = 0.5): forward draws of (c, z, w) against the
    successive-conditional chain (one kernel sweep, then w ~ p(w | c, z)); ten test functions
    (nodes per level, subtree sizes, level shares, within-document same-level pairs,
    same-node-same-word pairs, the log joint), batch means, Bonferroni.
(b) Power: two defective kernels are rejected: a path step that scores the paths before
    removing the document's words from its nodes, and an "nCRP" whose edge weights are
    n_v/(γ + n_root), not a product of CRP conditionals (Blei et al. 2010).  Observed while writing
    the tests: p_bonferroni ≈ 3e-7 and 1e-11 against 1.0 / 0.26 for the correct kernel at
    depth 2 / 3.
(c) ``record()["lp"]`` equals ``models.hlda.log_joint``; incremental counts equal the ones
    ``resync`` rebuilds after many sweeps with storage growth.
(d) Recovery of a planted tree simulated from the Pyro story; (e) fit → save → load,
    ``format_tree``, ``transform``; (f) clear errors for bad input.

Failure rates of a correct kernel: each Geweke test has family-wise level 1e-3 (Bonferroni);
the recovery test's threshold leaves a wide margin (observed cosines ≥ 0.997 for 0.9
required).  Seeds are fixed, so outcomes are deterministic.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import ppltopics as pt
from ppltopics import testing as T
from ppltopics.corpus import Corpus
from ppltopics.inference._tree import canonical_order, tree_arrays_from_paths
from ppltopics.inference.hlda import HLDAKernel
from ppltopics.models import checks
from ppltopics.models import hlda as H

V_TOY = 3
#: documents × tokens of the toys: depth 2 → 3 × 3, depth 3 → 4 × 2 (more documents give the
#: nCRP test functions more power)
LENGTHS = {2: np.array([3, 3, 3]), 3: np.array([2, 2, 2, 2])}
OFFSETS = {d: np.concatenate([[0], np.cumsum(v)]) for d, v in LENGTHS.items()}


def _toy_hyper(depth: int) -> H.HLDAHyper:
    return H.HLDAHyper(depth=depth, gamma=1.0, gem_mean=0.5, gem_scale=2.0, eta=0.5)


@functools.cache
def _forward_draws(depth: int, num: int) -> list:
    """Forward draws of the Pyro story, shared by the tests of one depth (the successive
    chain still starts from its own draw)."""
    fwd = checks.tree_forward_sampler(H.model, (LENGTHS[depth], V_TOY, _toy_hyper(depth)),
                                      data="w")
    return fwd(num, np.random.default_rng(1000 + depth))


def _geweke(depth: int, mutation: int, num_forward: int, num_successive: int, seed: int):
    hyper = _toy_hyper(depth)
    draws = _forward_draws(depth, num_forward)
    lengths, offsets = LENGTHS[depth], OFFSETS[depth]
    fwd_one = checks.tree_forward_sampler(H.model, (lengths, V_TOY, hyper), data="w")

    def forward(num: int, rng: np.random.Generator) -> list:
        return draws[:num] if num == num_forward else fwd_one(num, rng)

    corpus = Corpus(np.zeros(offsets[-1], np.int32), offsets, [f"w{i}" for i in range(V_TOY)])
    kernel = HLDAKernel(corpus, depth=depth, gamma=hyper.gamma, eta=hyper.eta_vector,
                        gem_mean=hyper.gem_mean, gem_scale=hyper.gem_scale)
    kernel._mutation = mutation
    return T.geweke_test(forward, checks.TreeConditional(kernel),
                         checks.hlda_word_conditional(offsets, V_TOY, hyper),
                         checks.hlda_test_functions(offsets, V_TOY, hyper),
                         num_forward=num_forward, num_successive=num_successive, seed=seed,
                         alpha=1e-3)


@pytest.mark.parametrize(("depth", "num_forward", "num_successive"),
                         [(2, 1000, 5000), (3, 1500, 6000)])
def test_geweke_hlda(depth: int, num_forward: int, num_successive: int) -> None:
    res = _geweke(depth, 0, num_forward, num_successive, seed=depth)
    print(res)
    assert res.passed, str(res)


@pytest.mark.parametrize("mutation", [1, 2], ids=["no-removal-path-step", "ncrp-not-product"])
def test_geweke_rejects_defects(mutation: int) -> None:
    res = _geweke(3, mutation, num_forward=1500, num_successive=6000, seed=7)
    print(res)
    assert res.p_bonferroni < 1e-3, str(res)


# ----------------------------------------------------------------------------- exactness
@pytest.fixture(scope="module")
def simulated():
    hyper = H.HLDAHyper(depth=3, gamma=1.0, gem_mean=0.4, gem_scale=20.0, eta=0.05)
    return H.simulate(150, 60, 80, hyper, seed=3), hyper


def _alive_equal(a: dict, b: dict) -> None:
    alive = np.flatnonzero(a["node_level"] >= 0)
    np.testing.assert_array_equal(np.flatnonzero(b["node_level"] >= 0), alive)
    for key in ("parent", "node_level", "ndocs", "nsum"):
        np.testing.assert_array_equal(a[key][alive], b[key][alive], err_msg=key)
    np.testing.assert_array_equal(a["nwt"][:, alive], b["nwt"][:, alive])
    np.testing.assert_array_equal(a["ndl"], b["ndl"])
    # every other slot is free, exactly once
    nfree = int(a["tree_meta"][0])
    free = np.sort(a["free"][:nfree])
    np.testing.assert_array_equal(free, np.flatnonzero(a["node_level"] < 0))
    # child lists: every alive non-root node is linked exactly once under its parent
    seen = []
    for u in alive:
        c = a["first_child"][u]
        while c >= 0:
            assert a["parent"][c] == u
            seen.append(c)
            c = a["next_sibling"][c]
    assert sorted(seen) == sorted(set(alive) - {int(a["tree_meta"][1])})


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_scaled_gem_weights_are_proportional_to_the_gem_weights(depth: int) -> None:
    """The level step's division-free weights normalise to the collapsed GEM weights."""
    from ppltopics.inference._tree import gem_level_weights, gem_level_weights_scaled

    rng = np.random.default_rng(depth)
    for _ in range(20):
        counts = rng.integers(0, 30, size=depth).astype(np.float64)
        m, pi = rng.uniform(0.05, 0.95), rng.uniform(0.5, 200.0)
        ref, scaled = np.empty(depth), np.empty(depth)
        gem_level_weights(counts, m, pi, ref)
        gem_level_weights_scaled(counts, m, pi, scaled)
        np.testing.assert_allclose(scaled / scaled.sum(), ref / ref.sum(), rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_depth3_level_step_draws_as_the_generic_one(seed: int) -> None:
    """The level step written for depth 3 (scalars in place of the small arrays) makes the
    same draws as the generic loop, bit for bit: levels, counts, masks and the document's
    level counts, for several documents in turn, per-level η and GEM settings."""
    from ppltopics.inference.hlda import _levels_depth3, _levels_generic, nonzero_masks

    rng = np.random.default_rng(seed)
    V, cap, L = 40, 70, 3
    nwt = rng.integers(0, 5, size=(V, cap)).astype(np.int32)
    nwt[rng.random((V, cap)) < 0.5] = 0
    docs = [(np.array([0, 7, 66], dtype=np.int32), 300), (np.array([0, 64, 3], np.int32), 5),
            (np.array([0, 7, 12], dtype=np.int32), 120)]
    word_ids = np.concatenate([rng.choice(V, size=n, p=rng.dirichlet(np.ones(V) * 0.3))
                               for _, n in docs]).astype(np.int32)
    levels = rng.integers(0, L, size=word_ids.size).astype(np.int32)
    bounds = np.cumsum([0] + [n for _, n in docs])
    for (path, _), b, e in zip(docs, bounds[:-1], bounds[1:], strict=True):
        np.add.at(nwt, (word_ids[b:e], path[levels[b:e]]), 1)
    nsum = nwt.sum(axis=0).astype(np.int64)
    eta = np.array([0.5, 0.1, 0.01])
    veta = V * eta
    runs = []
    for fn in (_levels_generic, _levels_depth3):
        st = {"levels": levels.copy(), "nwt": nwt.copy(), "nzm": nonzero_masks(nwt),
              "nsum": nsum.copy(), "cnt": []}
        draw = np.random.default_rng(100 + seed)
        for (path, _), b, e in zip(docs, bounds[:-1], bounds[1:], strict=True):
            cnt = np.bincount(st["levels"][b:e], minlength=L).astype(np.float64)
            fn(b, e, word_ids, st["levels"], path, cnt, st["nwt"], st["nzm"], st["nsum"], eta,
               veta, 0.35, 7.0, draw)
            st["cnt"].append(cnt)
        runs.append(st)
    generic, depth3 = runs
    assert not np.array_equal(generic["levels"], levels)  # the levels moved
    for key in ("levels", "nwt", "nzm", "nsum"):
        np.testing.assert_array_equal(depth3[key], generic[key], err_msg=key)
    np.testing.assert_array_equal(np.array(depth3["cnt"]), np.array(generic["cnt"]))
    np.testing.assert_array_equal(generic["nzm"], nonzero_masks(generic["nwt"]))


@pytest.mark.parametrize("eta", [0.1, 1e-12, 1e-25])
def test_level_block_likelihood_equals_the_lgamma_form(eta: float) -> None:
    """The path step's sparse block ratio (the empty-node constant per word, corrected at the
    nodes that hold the word by batched products of (n_vw + η + j)) equals the
    Dirichlet-multinomial block ratio in lgamma form, for words seen once, a few times, and
    ≥ the batch length, under nodes with counts 0 to 1e6 and η down to 1e-25."""
    from scipy.special import gammaln

    from ppltopics.inference.hlda import _level_block_ll, nonzero_masks

    rng = np.random.default_rng(0)
    V, cap = 300, 12
    nwt = rng.integers(0, 4, size=(V, cap)).astype(np.int32)
    nwt[rng.random((V, cap)) < 0.6] = 0
    nwt[:5] = rng.integers(10**5, 10**6, size=(5, cap))
    nsum = nwt.sum(axis=0).astype(np.int64)
    nodes = np.array([0, 3, 4, 7, 11], dtype=np.int64)
    words = rng.choice(V, size=60, replace=False).astype(np.int64)
    words[:3] = [0, 1, 2]
    wc = rng.choice([1, 1, 1, 2, 3, 7], size=60).astype(np.int64)
    wc[:3] = [31, 32, 45]
    m, veta = int(wc.sum()), V * eta
    out, prod, acc = np.full(cap, np.nan), np.empty(cap), np.empty(cap)
    lmask = np.zeros(1, dtype=np.uint64)
    lmask[0] = sum(1 << int(s) for s in nodes)
    lg_node = gammaln(nsum + veta)
    empty = _level_block_ll(nodes, nodes.size, lmask, nonzero_masks(nwt), nwt, nsum, lg_node,
                            words, wc, words.size, m, eta, veta, out, prod, acc,
                            np.zeros(cap, dtype=np.int64))

    def block(n_w: np.ndarray, n: float) -> float:
        return float(gammaln(n + veta) - gammaln(n + m + veta)
                     + (gammaln(n_w + wc + eta) - gammaln(n_w + eta)).sum())

    assert empty == pytest.approx(block(np.zeros(words.size), 0.0), rel=1e-11)
    for s in nodes:
        assert out[s] == pytest.approx(block(nwt[words, s].astype(float), nsum[s]), rel=1e-11)


def test_lp_equals_log_joint_and_resync(simulated) -> None:
    (corpus, _truth), hyper = simulated
    kernel = HLDAKernel(corpus, depth=3, gamma=3.0, eta=hyper.eta_vector,
                        gem_mean=hyper.gem_mean, gem_scale=hyper.gem_scale)
    rng = np.random.default_rng(0)
    state = kernel.init_state(rng)
    cap0 = state["parent"].size
    for sweep in range(40):
        kernel.step(state, rng, warmup=False)
        if sweep % 13 == 0:
            rec = kernel.record(state)
            ref = H.log_joint(corpus, state["paths"], state["levels"],
                              H.HLDAHyper(depth=3, gamma=3.0, gem_mean=hyper.gem_mean,
                                          gem_scale=hyper.gem_scale, eta=hyper.eta))
            assert rec["lp"] == pytest.approx(ref, rel=1e-10, abs=1e-6)
            assert rec["log_likelihood"] == pytest.approx(
                H.log_likelihood_collapsed(corpus, state["paths"], state["levels"], hyper),
                rel=1e-10)
    # γ = 3 on 150 documents grows the tree past the initial storage at least once
    assert state["parent"].size > cap0 or state["tree_meta"][0] < cap0
    fresh = {k: v.copy() for k, v in state.items()}
    kernel.resync(fresh)
    _alive_equal(state, fresh)
    assert kernel.record(fresh)["lp"] == pytest.approx(kernel.record(state)["lp"], rel=1e-12)


def test_storage_growth_and_recycling() -> None:
    paths = np.array([[0, 1, 2], [0, 1, 3], [0, 4, 5]])
    arr = tree_arrays_from_paths(paths, capacity=6)
    assert arr["parent"].size >= 6 and int(arr["tree_meta"][1]) == 0
    np.testing.assert_array_equal(arr["ndocs"][:6], [3, 2, 1, 1, 1, 1])
    with pytest.raises(ValueError, match="two different parents"):
        tree_arrays_from_paths(np.array([[0, 1, 2], [0, 3, 2]]))
    with pytest.raises(ValueError, match="same root"):
        tree_arrays_from_paths(np.array([[0, 1, 2], [5, 1, 3]]))
    order = canonical_order(arr["parent"], arr["node_level"], arr["ndocs"], 0)
    np.testing.assert_array_equal(order, [0, 1, 2, 3, 4, 5])


def test_init_options(simulated) -> None:
    (corpus, _), _hyper = simulated
    k = HLDAKernel(corpus, depth=3, initial_tree=[1, 2, 3], init_levels="frequency")
    st = k.init_state(np.random.default_rng(0))
    level = st["node_level"]
    counts = np.bincount(level[level >= 0])
    assert counts[0] == 1 and counts[1] <= 2 and counts[2] <= 6
    top = np.argmax(corpus.word_counts())
    share0 = (st["levels"][corpus.word_ids == top] == 0).mean()
    assert share0 > 0.5  # half from the frequency quantile (level 0), a third of the rest
    # warm-up sweeps without new leaves never add a node
    k2 = HLDAKernel(corpus, depth=3, gamma=50.0, initial_tree=[1, 2, 2],
                    warmup_fixed_sweeps=3)
    rng = np.random.default_rng(1)
    st2 = k2.init_state(rng)
    n0 = int((st2["node_level"] >= 0).sum())
    for _ in range(3):
        k2.step(st2, rng, warmup=True)
        assert int((st2["node_level"] >= 0).sum()) <= n0
    k2.step(st2, rng, warmup=True)
    assert int((st2["node_level"] >= 0).sum()) > n0  # γ = 50: new branches once allowed


# ----------------------------------------------------------------------------- recovery
def test_recovers_planted_tree() -> None:
    """Words simulated from the Pyro story with the paths planted (``poutine.condition``):
    a root, two level-1 nodes, two leaves each, 50 documents per leaf.  Four chains start on
    the GhLDA paper's kind of initial tree ([1, 2, 2], 20 warm-up sweeps without new leaves);
    the reference (best mean lp) chain must hold every true node, level by level, with cosine
    similarity > 0.9 between true and found topics (observed ≥ 0.997 for seeds 0-3)."""
    import torch
    from pyro import poutine

    hyper = H.HLDAHyper(depth=3, gamma=0.5, gem_mean=0.4, gem_scale=50.0, eta=0.02)
    D, Nd, V = 200, 100, 120
    planted = np.array([[0, 1, 3], [0, 1, 4], [0, 2, 5], [0, 2, 6]])[np.arange(D) % 4]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        s = poutine.condition(H.model, data={"paths": torch.as_tensor(planted)})(
            np.full(D, Nd), V, hyper)
    corpus = Corpus(s.w.numpy().astype(np.int32), np.arange(D + 1) * Nd,
                    [f"w{i}" for i in range(V)])
    phi_true = s.phi.numpy()
    post = pt.fit("hlda", corpus, num_chains=4, num_samples=5, warmup=100, seed=0,
                  progress=False, depth=3, gamma=0.5, eta=0.02, gem_mean=0.4, gem_scale=50.0,
                  initial_tree=[1, 2, 2], warmup_fixed_sweeps=20)
    lp = post.groups["sample_stats"]["lp"]
    assert post.settings["reference_chain"] == int(np.argmax(lp.mean(axis=1)))
    phi = post.node_word_probs()
    level = post.estimates["node_level"]
    for lev in (0, 1, 2):
        found = phi[level == lev]
        for t in np.flatnonzero(s.node_level == lev):
            a = phi_true[t]
            cos = (found @ a) / (np.linalg.norm(found, axis=1) * np.linalg.norm(a))
            assert cos.max() > 0.9, (lev, t, cos)
    # documents of one planted leaf share one found leaf
    leaf = post.doc_paths()[:, 2]
    for j in range(4):
        assert np.bincount(leaf[j::4]).max() >= 48


# ----------------------------------------------------------------------------- fit API
def test_fit_save_load_transform(simulated, tmp_path) -> None:
    (corpus, _), _hyper = simulated
    post = pt.fit("hlda", corpus, num_chains=2, num_samples=5, warmup=10, seed=1,
                  progress=False, depth=3, gamma=1.0, eta=0.05)
    ss = post.groups["sample_stats"]
    assert {"lp", "log_likelihood", "num_nodes", "num_paths"} <= set(ss)
    assert ss["num_nodes"].shape == (2, 5, 3) and np.all(ss["num_nodes"][:, :, 0] == 1)
    dt = post.to_datatree()
    assert "num_nodes" in dt["sample_stats"].data_vars
    K = post.num_nodes
    words = post.top_words(4)
    assert len(words) == K and all(len(w) == 4 for w in words)
    theta = post.doc_topics()
    assert theta.shape == (corpus.num_docs, K)
    np.testing.assert_allclose(theta.sum(axis=1), 1.0)
    paths = post.doc_paths()
    assert np.all(theta[np.arange(corpus.num_docs)[:, None], paths] > 0)
    text = post.format_tree(3)
    assert text.splitlines()[0].startswith("[0] docs=150")
    assert len(text.splitlines()) == K
    assert post.estimates["node_match"].shape == (2, K)
    post.save(tmp_path / "post")
    again = pt.load(tmp_path / "post")
    assert type(again) is type(post)
    assert again.format_tree(3) == text
    np.testing.assert_array_equal(again.doc_topics(), theta)
    np.testing.assert_array_equal(again.groups["sample_stats"]["lp"], ss["lp"])
    new = corpus.subset(np.arange(10))
    folded = again.transform(new, num_sweeps=30, burn_in=10)
    assert folded.shape == (10, K)
    np.testing.assert_allclose(folded.sum(axis=1), 1.0)
    # the fold-in mostly puts a document back on (one of) the path(s) it had in training
    agree = [(folded[d, paths[d, -1]] > 0.1) for d in range(10)]
    assert np.mean(agree) >= 0.6


def test_bad_input(simulated) -> None:
    (corpus, _), _ = simulated
    with pytest.raises(ValueError, match="depth"):
        HLDAKernel(corpus, depth=1)
    with pytest.raises(ValueError, match="gamma"):
        HLDAKernel(corpus, gamma=0.0)
    with pytest.raises(ValueError, match="eta"):
        HLDAKernel(corpus, eta=-1.0)
    with pytest.raises(ValueError, match="eta"):
        HLDAKernel(corpus, depth=3, eta=[0.1, 0.2])
    with pytest.raises(ValueError, match="gem_mean"):
        HLDAKernel(corpus, gem_mean=1.5)
    with pytest.raises(ValueError, match="initial_tree"):
        HLDAKernel(corpus, depth=3, initial_tree=[1, 2])
    with pytest.raises(ValueError, match="initial_tree"):
        HLDAKernel(corpus, depth=3, initial_tree=[2, 2, 2])
    with pytest.raises(ValueError, match="init_levels"):
        HLDAKernel(corpus, init_levels="top")
    with pytest.raises(TypeError):
        HLDAKernel("not a corpus")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="depth"):
        pt.fit("hlda", corpus, depth=1, progress=False)
    with pytest.raises(ValueError, match="gamma"):
        pt.fit("hlda", corpus, gamma=-1.0, progress=False)
    with pytest.raises(ValueError, match="empty corpus"):
        Corpus(np.zeros(0, np.int32), np.zeros(1, np.int64), ["a"])
    k = HLDAKernel(corpus, depth=3)
    st = k.init_state(np.random.default_rng(0))
    st["levels"] = st["levels"] + 5
    with pytest.raises(ValueError, match="levels"):
        k.resync(st)
    post = pt.fit("hlda", corpus, num_chains=1, num_samples=2, warmup=1, progress=False)
    other = Corpus.from_tokens([["zzz", "yyy"]])
    with pytest.raises(ValueError, match="vocabulary"):
        post.transform(other)
