"""hLDA and GhLDA stories (ppltopics.models.hlda / ghlda): hyperparameters, simulation, the
collapsed log joints (normalisation, Monte Carlo against the Pyro trace, cross-checks with
GLDA) and the tree pieces of the Geweke harness (ppltopics.models.checks).

Statistical tests use fixed seeds and state their false-failure rate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pyro import poutine

from ppltopics import testing as T
from ppltopics.corpus import Corpus
from ppltopics.distributions import canonical_paths, ncrp_log_prob, parent_level_from_paths
from ppltopics.models import checks, ghlda, glda, hlda

D64 = torch.float64


def _corpus(words, lengths, vocab_size: int) -> Corpus:
    off = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    return Corpus(np.asarray(words, dtype=np.int32), off, [f"w{i}" for i in range(vocab_size)])


def _offsets(lengths) -> np.ndarray:
    return np.r_[0, np.cumsum(lengths)].astype(np.int64)


# ============================================================================ hyperparameters
def test_hlda_hyper_defaults_and_validation():
    h = hlda.HLDAHyper()
    assert (h.depth, h.gamma, h.gem_mean, h.gem_scale) == (4, 0.1, 0.5, 100.0)
    assert h.eta == (2.0, 1.0, 0.5, 0.25)
    assert hlda.HLDAHyper(depth=2).eta_vector.tolist() == [2.0, 1.0]
    assert hlda.HLDAHyper(eta=0.1).eta_vector.tolist() == [0.1] * 4
    assert hlda.HLDAHyper.from_dict(h.to_dict()) == h
    for kwargs, match in [({"depth": 0}, "depth"), ({"depth": 2.5}, "depth"),
                          ({"gamma": 0}, "gamma"), ({"gem_mean": 1.0}, "gem_mean"),
                          ({"gem_scale": -2}, "gem_scale"), ({"eta": (1.0, 2.0)}, "eta"),
                          ({"eta": -1.0}, "eta"), ({"eta": "x"}, "eta"),
                          ({"gamma": float("inf")}, "gamma")]:
        with pytest.raises(ValueError, match=match):
            hlda.HLDAHyper(**kwargs)


def test_ghlda_hyper_resolve_presets_and_ratio():
    assert ghlda.default_psi_ratio(4) == (1.0, 0.8, 0.6, 0.4)
    np.testing.assert_allclose(ghlda.default_psi_ratio(3), (1.0, 0.7, 0.4))
    assert ghlda.default_psi_ratio(1) == (1.0,)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3)) @ np.diag([1.0, 2.0, 0.5])
    r = ghlda.GhLDAHyper(depth=3).resolve(x)
    cov = np.cov(x.T, bias=True)
    assert r.nu0 == 5.0
    np.testing.assert_allclose(r.mu0, x.mean(0))
    np.testing.assert_allclose(r.psi0, (r.nu0 - 3 - 1) * cov, rtol=1e-10)
    np.testing.assert_allclose(r.level_psi0()[2], 0.4 * r.psi0)
    np.testing.assert_allclose(r.level_hyper(1).psi0, 0.7 * r.psi0)
    ref = ghlda.GhLDAHyper.reference(50)
    assert ref.nu0 == pytest.approx(50.1) and ref.psi0 == 50.0 and ref.psi_ratio == (
        1.0, 0.8, 0.6, 0.4)
    rr = ref.resolve(dim=50)
    np.testing.assert_allclose(rr.psi0, 50.0 * np.eye(50))
    assert ghlda.GhLDAHyper.reference(5, depth=3).psi_ratio == pytest.approx((1.0, 0.7, 0.4))
    back = ghlda.ResolvedGhLDAHyper.from_dict(r.to_dict())
    np.testing.assert_allclose(back.psi0, r.psi0)
    for kwargs, match in [({"psi_ratio": (1.0, 0.5)}, "psi_ratio"),
                          ({"psi_ratio": (1.0, 0.5, 0.0, 1.0)}, "psi_ratio"),
                          ({"kappa0": 0.0}, "kappa0"), ({"gamma": -1.0}, "gamma"),
                          ({"psi0": -3.0}, "psi0")]:
        with pytest.raises(ValueError, match=match):
            ghlda.GhLDAHyper(**kwargs)
    with pytest.raises(ValueError, match="nu0"):
        ghlda.GhLDAHyper(nu0=1.5).resolve(x)
    with pytest.raises(ValueError, match="dimension"):
        ghlda.GhLDAHyper().resolve()


# ============================================================================ simulation
def test_hlda_simulate_reproducible_and_consistent():
    h = hlda.HLDAHyper(depth=3, gamma=1.0, gem_scale=10.0)
    corpus, truth = hlda.simulate(12, 20, 30, h, seed=3)
    again = hlda.simulate(12, 20, 30, h, seed=3)
    assert np.array_equal(corpus.word_ids, again.corpus.word_ids)
    assert np.array_equal(truth["paths"], again.truth["paths"])
    other = hlda.simulate(12, 20, 30, h, seed=4)
    assert not np.array_equal(corpus.word_ids, other.corpus.word_ids)
    p = truth["paths"]
    assert p.shape == (12, 3) and p.dtype == np.int32 and (p[:, 0] == 0).all()
    assert np.array_equal(canonical_paths(p), p)
    parent, level = parent_level_from_paths(p)
    assert np.array_equal(parent, truth["parent"]) and np.array_equal(level, truth["node_level"])
    num_nodes = parent.size
    assert truth["phi"].shape == (num_nodes, 30) and truth["theta"].shape == (12, 3)
    assert truth["levels"].shape == (corpus.num_tokens,) and truth["levels"].max() < 3
    np.testing.assert_allclose(truth["phi"].sum(1), 1.0)
    assert corpus.vocab_size == 30 and corpus.num_docs == 12
    lengths = hlda.simulate(5, 8.0, 10, h, seed=0, poisson=True).corpus.doc_lengths
    assert lengths.min() >= 1
    with pytest.raises(TypeError):
        hlda.simulate(3, 5, 10, ghlda.GhLDAHyper(), seed=0)


def test_ghlda_simulate_reproducible_and_consistent():
    h = ghlda.GhLDAHyper(depth=3, gamma=1.0, gem_scale=10.0)
    s = ghlda.simulate(8, 10, h, seed=2, dim=3)
    s2 = ghlda.simulate(8, 10, h, seed=2, dim=3)
    corpus, vectors, truth, r = s
    assert np.array_equal(s.token_vectors, s2.token_vectors)
    assert s.token_vectors.shape == (80, 3) and vectors.vocab == corpus.vocab
    T_ = truth["parent"].size
    assert truth["node_mean"].shape == (T_, 3) and truth["node_cov"].shape == (T_, 3, 3)
    assert np.array_equal(r.psi_ratio, [1.0, 0.7, 0.4])
    with pytest.raises(ValueError, match="dimension"):
        ghlda.simulate(3, 5, h, seed=0)


# ============================================================================ log joints
def _all_states(lengths, depth: int):
    D = len(lengths)
    N = int(sum(lengths))
    for p in checks.enumerate_ncrp_paths(D, depth):
        for z in np.ndindex(*(depth,) * N):
            yield p, np.asarray(z, dtype=np.int64)


def test_hlda_log_joint_is_normalised():
    """Σ over canonical paths, levels and words of exp(log_joint) = 1 (D = 2, N = (2, 1),
    L = 3, V = 2: 3 · 27 · 8 terms)."""
    h = hlda.HLDAHyper(depth=3, gamma=0.8, gem_mean=0.4, gem_scale=2.0, eta=(1.5, 0.7, 0.3))
    lengths, V = (2, 1), 2
    total = 0.0
    for p, z in _all_states(lengths, 3):
        for w in np.ndindex(*(V,) * 3):
            total += math.exp(hlda.log_joint(_corpus(w, lengths, V), p, z, h))
    assert total == pytest.approx(1.0, rel=1e-10)


def test_hlda_log_joint_matches_uncollapsed_pyro_trace():
    """(i) The Pyro trace of the model conditioned on (c, z, w) scores the un-collapsed joint
    log p(c) + Σ log θ_{d,z} + Σ log φ_{c_d[z], w} of its own draws of θ and φ; (ii) the
    collapsed log joint is log E_{φ,θ ~ prior}[that joint], the expectation by 200 000
    vectorised prior draws (GEM and Dirichlet samplers), within 5 delta-method standard
    errors (false-failure rate < 1e-5)."""
    h = hlda.HLDAHyper(depth=3, gamma=1.0, gem_mean=0.5, gem_scale=2.0, eta=(1.0, 0.6, 0.4))
    lengths, V = np.array([3, 2]), 3
    paths = np.array([[0, 1, 2], [0, 1, 3]])
    z = np.array([0, 2, 1, 2, 0])
    w = np.array([1, 0, 2, 0, 1])
    docs = np.repeat(np.arange(2), lengths)
    node = paths[docs, z]
    log_c = ncrp_log_prob(paths, h.gamma)
    cond = poutine.condition(hlda.model, data={"paths": torch.as_tensor(paths),
                                               "z": torch.as_tensor(z)})
    torch.manual_seed(5)
    for _ in range(5):
        tr = poutine.trace(cond).get_trace(lengths, V, h, torch.as_tensor(w))
        tr.compute_log_prob()
        theta = tr.nodes["theta"]["value"].numpy()
        phi = tr.nodes["phi"]["value"].numpy()
        assert phi.shape == (4, V)
        want = (log_c + np.log(theta[docs, z]).sum() + np.log(phi[node, w]).sum())
        got = sum(tr.nodes[k]["log_prob_sum"].item() for k in ("paths", "z", "w"))
        assert got == pytest.approx(want, rel=1e-10)
    # Monte Carlo over the prior of θ and φ
    S = 200_000
    from ppltopics.distributions import GEM

    theta = GEM(torch.tensor(h.gem_mean, dtype=D64), torch.tensor(h.gem_scale, dtype=D64),
                3).sample((S, 2)).numpy()
    eta = h.eta_vector[parent_level_from_paths(paths)[1]]
    phi = torch.distributions.Dirichlet(
        torch.tensor(np.repeat(eta[:, None], V, axis=1), dtype=D64)).sample((S,)).numpy()
    logw = np.log(theta[:, docs, z]).sum(1) + np.log(phi[:, node, w]).sum(1)
    wts = np.exp(logw - logw.max())
    est = math.log(wts.mean()) + logw.max() + log_c
    se = wts.std() / math.sqrt(S) / wts.mean()
    want = hlda.log_joint(_corpus(w, lengths, V), paths, z, h)
    assert abs(est - want) < 5 * se, (est, want, se)


def test_hlda_log_joint_pieces_counts_and_relabelling():
    h = hlda.HLDAHyper(depth=3, gamma=1.0, gem_scale=5.0)
    corpus, truth = hlda.simulate(10, 15, 25, h, seed=1)
    p, z = truth["paths"], truth["levels"]
    lj = hlda.log_joint(corpus, p, z, h)
    parts = (ncrp_log_prob(p, h.gamma) + hlda.log_prior_levels(z, corpus.doc_offsets, h)
             + hlda.log_likelihood_collapsed(corpus, p, z, h))
    assert lj == pytest.approx(parts, rel=1e-12)
    docs = corpus.token_docs
    dl = np.zeros((corpus.num_docs, 3), dtype=np.int64)
    np.add.at(dl, (docs, z), 1)
    nw = np.zeros((truth["parent"].size, 25), dtype=np.int64)
    np.add.at(nw, (p[docs, z], corpus.word_ids), 1)
    assert hlda.log_joint_from_counts(p, dl, nw, h) == pytest.approx(lj, rel=1e-12)
    ids = np.random.default_rng(0).permutation(100)[: truth["parent"].size] + 3
    assert hlda.log_joint(corpus, ids[p], z, h) == pytest.approx(lj, rel=1e-12)
    batch = checks.hlda_log_joint_batch(np.stack([p, ids[p]]), np.stack([z, z]),
                                        np.stack([corpus.word_ids] * 2), corpus.doc_offsets,
                                        25, h)
    np.testing.assert_allclose(batch, lj, rtol=1e-12)
    with pytest.raises(ValueError, match="levels"):
        hlda.log_joint(corpus, p, np.full_like(z, 3), h)
    with pytest.raises(ValueError, match="paths"):
        hlda.log_joint(corpus, p[:, :2], z, h)
    with pytest.raises(ValueError, match="two parents"):
        bad = p.copy()
        bad[0, 2], bad[1, 2] = 99, 99
        bad[1, 1] = 98
        hlda.log_joint(corpus, bad, z, h)


def test_ghlda_log_joint_against_glda_pieces():
    """The node likelihoods are GLDA's NIW marginals: with psi_ratio = 1 the GhLDA likelihood
    equals GLDA's collapsed likelihood with topic = node; depth 1 equals one GLDA topic; a
    level ratio r equals GLDA with Ψ0·r."""
    r = ghlda.GhLDAHyper(depth=3, gamma=1.0, gem_scale=5.0, nu0=6.0, psi_ratio=(1, 1, 1)
                         ).resolve(dim=3)
    s = ghlda.simulate(6, 7, r, seed=4)
    x, off = s.token_vectors, s.corpus.doc_offsets
    p, z = s.truth["paths"], s.truth["levels"]
    node = p[s.corpus.token_docs, z]
    g = glda.ResolvedGLDAHyper(num_topics=int(node.max()) + 1, alpha=1.0, mu0=r.mu0,
                               kappa0=r.kappa0, nu0=r.nu0, psi0=r.psi0)
    want = glda.log_likelihood_collapsed(x, off, node, g)
    assert ghlda.log_likelihood_collapsed(x, off, p, z, r) == pytest.approx(want, rel=1e-10)
    lj = ghlda.log_joint(x, off, p, z, r)
    assert lj == pytest.approx(want + ghlda.log_prior_collapsed(off, p, z, r), rel=1e-10)
    assert checks.ghlda_log_joint_batch(p[None], z[None], x[None], off, r)[0] == pytest.approx(
        lj, rel=1e-10)
    # a ratio per level
    r2 = ghlda.ResolvedGhLDAHyper(3, 1.0, 0.5, 5.0, r.mu0, r.kappa0, r.nu0, r.psi0,
                                  np.array([1.0, 0.5, 0.25]))
    want2 = 0.0
    for t in np.unique(node):
        lev = parent_level_from_paths(p)[1][t]
        want2 += glda.log_marginal_niw(x[node == t], r2.level_hyper(lev))
        gl = glda.ResolvedGLDAHyper(1, 1.0, r.mu0, r.kappa0, r.nu0, r.psi0 * [1, .5, .25][lev])
        assert glda.log_marginal_niw(x[node == t], gl) == pytest.approx(
            glda.log_marginal_niw(x[node == t], r2.level_hyper(lev)))
    assert ghlda.log_likelihood_collapsed(x, off, p, z, r2) == pytest.approx(want2, rel=1e-10)
    np.testing.assert_allclose(checks.ghlda_log_joint_batch(p[None], z[None], x[None], off, r2),
                               ghlda.log_joint(x, off, p, z, r2), rtol=1e-10)
    # depth 1: one node, no tree or level terms
    r1 = ghlda.ResolvedGhLDAHyper(1, 1.0, 0.5, 5.0, r.mu0, r.kappa0, r.nu0, r.psi0,
                                  np.array([1.0]))
    zero = np.zeros(x.shape[0], dtype=np.int64)
    g1 = glda.ResolvedGLDAHyper(1, 1.0, r.mu0, r.kappa0, r.nu0, r.psi0)
    assert ghlda.log_joint(x, off, np.zeros((6, 1), dtype=np.int64), zero, r1) == pytest.approx(
        glda.log_likelihood_collapsed(x, off, zero, g1), rel=1e-10)
    with pytest.raises(ValueError, match="token vectors|one vector|offsets"):
        ghlda.log_joint(x[:-1], off, p, z, r)


# ============================================================================ harness pieces
def _gem_moments(m: float, s: float, L: int):
    """E[θ_l] and E[θ_l²] of the truncated GEM."""
    a, b = m * s, (1 - m) * s
    ev, ev2 = a / s, a * (a + 1) / (s * (s + 1))
    e1, e12 = b / s, b * (b + 1) / (s * (s + 1))
    mean = [ev * e1**lev for lev in range(L - 1)] + [e1 ** (L - 1)]
    sq = [ev2 * e12**lev for lev in range(L - 1)] + [e12 ** (L - 1)]
    return np.array(mean), np.array(sq)


def test_tree_forward_sampler_matches_exact_prior():
    """Forward draws of (paths, levels) from the Pyro story: (i) χ² against the enumerated
    prior exp(log nCRP + log GEM) over all 3 · 27 states (D = 2, N = (2, 1), L = 3; 2 000
    draws), level 1e-3; (ii) test-function means against exact expectations (nodes at level 1:
    Σ_{i<D} γ/(γ+i); tokens at level l: E[θ_l]; within-document same-level pairs: Σ_l E[θ_l²])
    within 5 standard errors.  False-failure rate ≤ 1e-3 + 4e-6."""
    h = hlda.HLDAHyper(depth=3, gamma=0.9, gem_mean=0.4, gem_scale=2.0, eta=0.5)
    lengths, V = np.array([2, 1]), 3
    off = _offsets(lengths)
    fwd = checks.tree_forward_sampler(hlda.model, (lengths, V, h), data="w")
    draws = fwd(2000, np.random.default_rng(11))
    lat = [d[0] for d in draws]
    P, Z = checks.stack_tree_latents(lat)
    assert P.shape == (2000, 2, 3) and Z.shape == (2000, 3)
    assert lat[0]["paths"].dtype == np.int32 and lat[0]["levels"].dtype == np.int32

    def prior(p, z):
        return ncrp_log_prob(p, h.gamma) + hlda.log_prior_levels(z, off, h)

    configs, probs = checks.tree_enumerated_posterior(prior, 2, 3, 3)
    assert probs.size == 81
    counts = np.bincount(checks.tree_state_index(P, Z, configs), minlength=probs.size)
    res = T.chi2_gof(counts, probs)
    assert res.p_value > 1e-3, res

    # a larger toy for the expectations
    lengths = np.array([4, 3, 5, 2])
    off = _offsets(lengths)
    fwd = checks.tree_forward_sampler(hlda.model, (lengths, V, h), data="w")
    draws = fwd(1000, np.random.default_rng(12))
    lat, W = [d[0] for d in draws], np.stack([d[1] for d in draws])
    fns = checks.hlda_test_functions(off, V, h)
    mean, sq = _gem_moments(h.gem_mean, h.gem_scale, 3)
    _, _, _, i_doc, j_doc = T.token_pairs(off)
    exact = {"nodes_level_1": sum(h.gamma / (h.gamma + i) for i in range(4)),
             "tokens_level_0": mean[0], "tokens_level_1": mean[1],
             "doc_pairs_same_level": sq.sum()}
    for name, want in exact.items():
        vals = fns[name](lat, W)
        se = vals.std() / math.sqrt(vals.size)
        assert abs(vals.mean() - want) < 5 * se, (name, vals.mean(), want, se)
    assert set(fns) == {"nodes_level_1", "num_paths", "largest_subtree", "second_subtree",
                        "tokens_level_0", "tokens_level_1", "doc_pairs_same_level",
                        "node_word_pairs", "doc_pairs_same_word", "log_joint"}
    # log_joint test function = the model's log joint
    k = 7
    c = _corpus(W[k], lengths, V)
    assert fns["log_joint"](lat[k:k + 1], W[k:k + 1])[0] == pytest.approx(
        hlda.log_joint(c, lat[k]["paths"], lat[k]["levels"], h), rel=1e-12)
    # label invariance of every function
    relabel = [{"paths": (np.arange(50) * 3 + 5)[d["paths"]], "levels": d["levels"]}
               for d in lat[:50]]
    for name, f in fns.items():
        np.testing.assert_allclose(f(relabel, W[:50]), f(lat[:50], W[:50]), rtol=1e-12,
                                   err_msg=name)


def test_hlda_word_conditional_frequencies():
    """Given a fixed tree state, 20 000 draws of w ~ p(w | c, z): every token's word is uniform
    (χ² per token at level 1e-3 after Bonferroni over tokens), and the probability that two
    tokens share a word is (1 + η_l)/(1 + Vη_l) at one node of level l and 1/V at different
    nodes (5 standard errors).  False-failure rate ≤ 1e-3 + 1e-5."""
    h = hlda.HLDAHyper(depth=3, eta=(0.3, 1.0, 2.0))
    lengths, V = np.array([3, 3]), 4
    off = _offsets(lengths)
    latent = {"paths": np.array([[0, 1, 2], [0, 1, 3]]), "levels": np.array([0, 2, 2, 0, 1, 2])}
    step = checks.hlda_word_conditional(off, V, h)
    rng = np.random.default_rng(21)
    W = np.stack([step(latent, rng) for _ in range(20_000)])
    assert W.dtype == np.int32 and W.min() >= 0 and W.max() < V
    for n in range(W.shape[1]):
        res = T.chi2_gof(np.bincount(W[:, n], minlength=V), np.full(V, 1.0 / V))
        assert res.p_value > 1e-3 / W.shape[1], (n, res)
    eta = h.eta_vector
    # pairs: (0, 3) root level 0; (1, 2) node 2 level 2; (4, 1) node 1 vs node 2; (2, 5) leaves
    for (i, j), want in [((0, 3), (1 + eta[0]) / (1 + V * eta[0])),
                         ((1, 2), (1 + eta[2]) / (1 + V * eta[2])),
                         ((4, 1), 1 / V), ((2, 5), 1 / V)]:
        same = (W[:, i] == W[:, j]).astype(float)
        se = math.sqrt(want * (1 - want) / same.size)
        assert abs(same.mean() - want) < 5 * se, ((i, j), same.mean(), want)


def test_ghlda_vector_conditional_moments():
    """Given a fixed tree state, 8 000 draws of v ~ p(v | c, z) under NIW(μ0, κ0, Ψ0 r_l,
    ν0 = M + 6): E[v_n] = μ0; E[(v_n − μ0)(v_n − μ0)ᵀ] = E[Σ_l](1 + 1/κ0) with
    E[Σ_l] = Ψ0 r_l/(ν0 − M − 1); two tokens at one node have covariance E[Σ_l]/κ0, at
    different nodes 0.  Each within 5 standard errors (false-failure rate < 1e-4 overall)."""
    M = 2
    psi0 = np.array([[2.0, 0.3], [0.3, 1.0]])
    r = ghlda.ResolvedGhLDAHyper(3, 1.0, 0.5, 5.0, np.array([1.0, -2.0]), 0.5, M + 6.0, psi0,
                                 np.array([1.0, 0.6, 0.3]))
    lengths = np.array([3, 2])
    off = _offsets(lengths)
    latent = {"paths": np.array([[0, 1, 2], [0, 3, 4]]), "levels": np.array([0, 2, 2, 0, 1])}
    step = checks.ghlda_vector_conditional(off, r)
    rng = np.random.default_rng(31)
    X = np.stack([step(latent, rng) for _ in range(8_000)]) - r.mu0  # (S, N, M)
    exp_cov = [r.psi0 * q / (r.nu0 - M - 1) for q in r.psi_ratio]

    def check(vals: np.ndarray, want: float) -> None:
        se = vals.std() / math.sqrt(vals.size)
        assert abs(vals.mean() - want) < 5 * se, (vals.mean(), want, se)

    for n, lev in enumerate([0, 2, 2, 0, 1]):
        for i in range(M):
            check(X[:, n, i], 0.0)
            check(X[:, n, i] ** 2, exp_cov[lev][i, i] * (1 + 1 / r.kappa0))
    check(X[:, 1, 0] * X[:, 2, 0], exp_cov[2][0, 0] / r.kappa0)  # same leaf
    check(X[:, 0, 1] * X[:, 3, 1], exp_cov[0][1, 1] / r.kappa0)  # both at the root
    check(X[:, 0, 0] * X[:, 4, 0], 0.0)  # root vs level-1 node


def test_ghlda_forward_sampler_and_test_functions():
    r = ghlda.GhLDAHyper(depth=3, gamma=1.0, gem_mean=0.4, gem_scale=3.0, nu0=6.0
                         ).resolve(dim=2)
    lengths = np.array([3, 2, 4])
    off = _offsets(lengths)
    fwd = checks.tree_forward_sampler(ghlda.model, (lengths, r), data="v")
    draws = fwd(400, np.random.default_rng(41))
    lat, X = [d[0] for d in draws], np.stack([d[1] for d in draws])
    assert X.shape == (400, 9, 2)
    fns = checks.ghlda_test_functions(off, r)
    assert {"same_node_rel_dist", "same_node_cos", "level0_rel_spread", "log_mean_offset",
            "log_joint", "num_paths"} <= set(fns)
    vals = {k: f(lat, X) for k, f in fns.items()}
    assert all(v.shape == (400,) and np.all(np.isfinite(v)) for v in vals.values())
    k = 3
    assert vals["log_joint"][k] == pytest.approx(
        ghlda.log_joint(X[k], off, lat[k]["paths"], lat[k]["levels"], r), rel=1e-10)
    # tokens at level 0: E[θ_0] = m within 5 standard errors (false-failure rate < 1e-6)
    t0 = vals["tokens_level_0"]
    assert abs(t0.mean() - 0.4) < 5 * t0.std() / math.sqrt(t0.size)


class _RecordingKernel:
    """A do-nothing tree kernel recording what TreeConditional hands it."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.seen: list[np.ndarray] = []

    def set_data(self, data: np.ndarray) -> None:
        self.calls.append("set_data")
        self.data = data

    def init_state(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        self.calls.append("init_state")
        return {"paths": np.zeros((2, 3), dtype=np.int64), "levels": np.zeros(3, np.int64)}

    def resync(self, state: dict[str, np.ndarray]) -> None:
        self.calls.append("resync")
        self.seen.append(state["paths"].copy())
        assert state["paths"].dtype == np.int64  # the kernel's dtype is kept

    def step(self, state: dict[str, np.ndarray], rng: np.random.Generator, warmup: bool) -> None:
        self.calls.append("step")
        state["paths"] = state["paths"] + 10  # a relabelling, as a kernel with free lists might


def test_tree_conditional_protocol():
    k = _RecordingKernel()
    cond = checks.TreeConditional(k, sweeps=2)
    rng = np.random.default_rng(0)
    out = cond({"paths": np.array([[4, 7, 9], [4, 7, 8]]), "levels": np.array([0, 1, 2])},
               np.array([1, 2, 0]), rng)
    assert k.calls == ["set_data", "init_state", "resync", "step", "step"]
    assert k.seen[0].tolist() == [[0, 1, 2], [0, 1, 3]]  # canonicalised
    assert out["paths"].tolist() == [[20, 21, 22], [20, 21, 23]]
    assert out["paths"].dtype == np.int32 and out["levels"].dtype == np.int32
    out2 = cond(out, np.array([0, 0, 0]), rng)
    assert k.calls.count("init_state") == 1
    assert k.seen[1].tolist() == [[0, 1, 2], [0, 1, 3]]
    assert out2["levels"].tolist() == [0, 1, 2]


def _exact_posterior_step(lengths, vocab_size: int, hyper: hlda.HLDAHyper):
    """An exact sampler of p(c, z | w) on a toy: enumerate every (canonical paths, levels)
    state, score all with the batched collapsed log joint, draw one."""
    off = _offsets(lengths)
    N, D, L = int(off[-1]), len(lengths), hyper.depth
    configs = checks.enumerate_ncrp_paths(D, L)
    levels = np.array(list(np.ndindex(*(L,) * N)), dtype=np.int64)
    P = np.repeat(configs, levels.shape[0], axis=0)
    Z = np.tile(levels, (configs.shape[0], 1))

    def step(latent, w, rng):
        lj = checks.hlda_log_joint_batch(P, Z, np.broadcast_to(w, Z.shape), off, vocab_size,
                                         hyper, canonical=True)
        p = np.exp(lj - lj.max())
        i = rng.choice(p.size, p=p / p.sum())
        return {"paths": P[i].astype(np.int32), "levels": Z[i].astype(np.int32)}

    return step


def test_geweke_harness_with_exact_enumeration_sampler():
    """The tree harness end to end: an exact enumeration sampler of p(c, z | w) passes
    :func:`geweke_test` (family-wise α = 1e-3: false-failure rate ≤ 1e-3), and the same
    sampler built with a wrong γ (5 instead of 0.9: a kernel with a wrong tree prior) fails
    (seen: p_bonferroni = 1 for the exact sampler; t ≈ 24 on the level-1 node count for the
    mutant at 1 500/2 500 draws)."""
    h = hlda.HLDAHyper(depth=3, gamma=0.9, gem_mean=0.4, gem_scale=2.0, eta=(1.0, 0.5, 0.3))
    lengths, V = np.array([2, 1]), 3
    off = _offsets(lengths)
    fwd = checks.tree_forward_sampler(hlda.model, (lengths, V, h), data="w")
    data_step = checks.hlda_word_conditional(off, V, h)
    fns = checks.hlda_test_functions(off, V, h)
    res = T.geweke_test(fwd, _exact_posterior_step(lengths, V, h), data_step, fns,
                        num_forward=1000, num_successive=2000, seed=3, alpha=1e-3)
    assert res.passed, str(res)
    wrong = hlda.HLDAHyper(depth=3, gamma=5.0, gem_mean=0.4, gem_scale=2.0,
                           eta=(1.0, 0.5, 0.3))
    bad = T.geweke_test(fwd, _exact_posterior_step(lengths, V, wrong), data_step, fns,
                        num_forward=300, num_successive=600, seed=3, alpha=1e-3)
    assert not bad.passed, str(bad)
