"""GEM and nested-CRP distributions (ppltopics.distributions) against scipy, quadrature,
Monte Carlo and exact enumeration.

Statistical tests use fixed seeds; each states its false-failure rate (the chance that another
seed would fail a correct implementation).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyro
import pytest
import torch
from pyro import poutine
from scipy import stats as st

from ppltopics import testing as T
from ppltopics.distributions import (
    GEM,
    NestedCRP,
    canonical_paths,
    gem_level_log_prob,
    gem_level_predictive,
    ncrp_log_prob,
    parent_level_from_paths,
)
from ppltopics.models import checks

D64 = torch.float64


# ============================================================================ GEM
def test_gem_moments_and_sticks_match_beta():
    """E[θ_l] = m(1−m)^l (last: (1−m)^{L−1}) within 5 standard errors (false-failure rate
    < 1e-5 per coordinate), and the recovered sticks pass a KS test against scipy's
    Beta(mπ, (1−m)π) at level 1e-3 each (false-failure rate ≤ 3e-3)."""
    m, s, L = 0.3, 5.0, 4
    torch.manual_seed(0)
    g = GEM(torch.tensor(m, dtype=D64), torch.tensor(s, dtype=D64), L)
    theta = g.sample((20_000,))
    assert theta.shape == (20_000, L) and theta.dtype == D64
    np.testing.assert_allclose(theta.sum(-1).numpy(), 1.0, atol=1e-12)
    want = np.array([m * (1 - m) ** lev for lev in range(L - 1)] + [(1 - m) ** (L - 1)])
    np.testing.assert_allclose(g.mean.numpy(), want, rtol=1e-12)
    est = theta.mean(0).numpy()
    se = theta.std(0).numpy() / math.sqrt(theta.shape[0])
    assert np.all(np.abs(est - want) < 5 * se), (est, want, se)
    sticks, rem = GEM.simplex_to_sticks(theta)
    np.testing.assert_allclose(rem[:, 0].numpy(), 1.0, atol=1e-12)
    for lev in range(L - 1):
        p = st.kstest(sticks[:, lev].numpy(), st.beta(m * s, (1 - m) * s).cdf).pvalue
        assert p > 1e-3, (lev, p)
    # round trip
    np.testing.assert_allclose(GEM.sticks_to_simplex(sticks).numpy(), theta.numpy(), atol=1e-12)


@pytest.mark.parametrize("L", [2, 3, 5])
def test_gem_log_prob_is_change_of_variables(L):
    """log p(θ) = Σ log Beta(V_l) − log|det ∂θ_{0:L−1}/∂V| with the Jacobian by autograd."""
    m, s = 0.45, 3.0
    rng = np.random.default_rng(L)
    g = GEM(torch.tensor(m, dtype=D64), torch.tensor(s, dtype=D64), L)
    for _ in range(4):
        v = torch.tensor(rng.beta(m * s, (1 - m) * s, size=L - 1), dtype=D64)
        jac = torch.autograd.functional.jacobian(lambda x: GEM.sticks_to_simplex(x)[:-1], v)
        logdet = torch.linalg.slogdet(jac)[1].item()
        want = st.beta(m * s, (1 - m) * s).logpdf(v.numpy()).sum() - logdet
        theta = GEM.sticks_to_simplex(v)
        assert g.log_prob(theta).item() == pytest.approx(want, rel=1e-10, abs=1e-10)


def test_gem_two_levels_is_beta_and_three_levels_integrate_to_one():
    m, s = 0.4, 3.0
    g2 = GEM(m, s, 2)
    x = torch.tensor([[0.2, 0.8], [0.7, 0.3]], dtype=D64)
    np.testing.assert_allclose(g2.log_prob(x).numpy(),
                               st.beta(m * s, (1 - m) * s).logpdf([0.2, 0.7]), rtol=1e-6)
    # ∫ over the simplex by Gauss–Legendre on θ0 = u, θ1 = (1 − u)t (Jacobian 1 − u), one
    # batched log_prob call
    g3 = GEM(torch.tensor(m, dtype=D64), torch.tensor(s, dtype=D64), 3)
    x, wts = np.polynomial.legendre.leggauss(400)
    x, wts = 0.5 * (x + 1), 0.5 * wts
    u, t = np.meshgrid(x, x, indexing="ij")
    th = np.stack([u, (1 - u) * t, (1 - u) * (1 - t)], axis=-1)
    dens = np.exp(g3.log_prob(torch.tensor(th, dtype=D64)).numpy()) * (1 - u)
    w2 = wts[:, None] * wts[None, :]
    assert (dens * w2).sum() == pytest.approx(1.0, abs=1e-4)
    assert (dens * u * w2).sum() == pytest.approx(m, abs=1e-4)


def test_gem_batch_shapes_rsample_and_pyro():
    g = GEM(torch.tensor([0.3, 0.5], dtype=D64), torch.tensor([[1.0], [2.0], [3.0]],
                                                              dtype=D64), 4)
    assert g.batch_shape == (3, 2) and g.event_shape == (4,)
    x = g.sample((5,))
    assert x.shape == (5, 3, 2, 4)
    assert g.log_prob(x).shape == (5, 3, 2)
    assert GEM(0.5, 10.0, 3).expand([7]).sample().shape == (7, 3)
    m = torch.tensor(0.4, dtype=D64, requires_grad=True)
    y = GEM(m, torch.tensor(4.0, dtype=D64), 3).rsample((10,))
    y[:, 0].sum().backward()
    assert m.grad is not None and torch.isfinite(m.grad)
    one = GEM(0.5, 1.0, 1)
    assert one.sample((2,)).tolist() == [[1.0], [1.0]]
    assert one.log_prob(torch.ones(1)).item() == 0.0

    def story():
        with pyro.plate("docs", 6):
            return pyro.sample("theta", GEM(torch.tensor(0.5, dtype=D64),
                                            torch.tensor(2.0, dtype=D64), 3))

    tr = poutine.trace(story).get_trace()
    assert tr.nodes["theta"]["value"].shape == (6, 3)
    tr.compute_log_prob()
    assert tr.nodes["theta"]["log_prob"].shape == (6,)


@pytest.mark.parametrize("kwargs,match", [
    ({"gem_mean": 0.0, "gem_scale": 1.0, "truncation": 3}, "gem_mean"),
    ({"gem_mean": 1.0, "gem_scale": 1.0, "truncation": 3}, "gem_mean"),
    ({"gem_mean": 0.5, "gem_scale": -1.0, "truncation": 3}, "gem_scale"),
    ({"gem_mean": float("nan"), "gem_scale": 1.0, "truncation": 3}, "gem_mean"),
    ({"gem_mean": 0.5, "gem_scale": 1.0, "truncation": 0}, "truncation"),
])
def test_gem_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GEM(**kwargs)


# ------------------------------------------------------------------- collapsed level prior
def test_gem_level_log_prob_sums_to_one_and_matches_predictive_chain():
    m, s, L, N = 0.35, 2.5, 3, 4
    total = 0.0
    for seq in itertools.product(range(L), repeat=N):
        counts = np.bincount(seq, minlength=L)
        lp = gem_level_log_prob(counts, m, s)
        total += math.exp(lp)
        # chain rule: product of the Pólya-urn predictives, token by token
        chain, c = 0.0, np.zeros(L, dtype=np.int64)
        for z in seq:
            chain += math.log(gem_level_predictive(c, m, s)[z])
            c[z] += 1
        assert lp == pytest.approx(chain, rel=1e-12)
    assert total == pytest.approx(1.0, rel=1e-12)
    pred = gem_level_predictive(np.array([[0, 0, 0], [3, 1, 2]]), m, s)
    np.testing.assert_allclose(pred.sum(-1), 1.0)
    np.testing.assert_allclose(pred[0], GEM(m, s, L).mean.numpy(), rtol=1e-6)


def test_gem_level_log_prob_matches_monte_carlo_over_theta():
    """p(z_d) = E_θ[Π_l θ_l^{n_l}] by 200 000 GEM draws, within 5 Monte-Carlo standard errors
    (false-failure rate < 1e-5 per count vector)."""
    m, s, L = 0.4, 3.0, 4
    torch.manual_seed(1)
    theta = GEM(torch.tensor(m, dtype=D64), torch.tensor(s, dtype=D64), L).sample((200_000,))
    theta = theta.numpy()
    for counts in ([2, 1, 0, 1], [0, 0, 3, 0], [1, 1, 1, 1], [5, 0, 0, 0]):
        vals = np.prod(theta ** np.asarray(counts), axis=1)
        est, se = vals.mean(), vals.std() / math.sqrt(vals.size)
        want = math.exp(gem_level_log_prob(counts, m, s))
        assert abs(est - want) < 5 * se, (counts, est, want, se)
    batch = gem_level_log_prob(np.array([[[1, 0, 0, 0]], [[0, 1, 0, 0]]]), m, s)
    assert batch.shape == (2, 1)
    with pytest.raises(ValueError, match="non-negative"):
        gem_level_log_prob([1, -1, 0], m, s)
    with pytest.raises(ValueError, match="gem_mean"):
        gem_level_log_prob([1, 0], 1.5, s)


# ============================================================================ nCRP
def _sequential_log_prob(paths: np.ndarray, gamma: float) -> float:
    """Σ over documents and levels of the sequential CRP choice probabilities (independent
    of ncrp_log_prob's per-node partition formula)."""
    D, L = paths.shape
    count: dict[int, int] = {}
    total = 0.0
    for d in range(D):
        count[paths[d, 0]] = count.get(paths[d, 0], 0) + 1
        for lev in range(1, L):
            par, c = paths[d, lev - 1], paths[d, lev]
            n = count[par] - 1
            k = count.get(c, 0)
            total += math.log((k if k else gamma) / (gamma + n))
            count[c] = k + 1
    return total


def test_ncrp_log_prob_is_sequential_crp_and_exchangeable():
    torch.manual_seed(3)
    rng = np.random.default_rng(3)
    for gamma in (0.3, 1.0, 4.0):
        d = NestedCRP(gamma, 4, 9)
        for _ in range(5):
            p = d.sample().numpy()
            lp = d.log_prob(torch.as_tensor(p)).item()
            assert lp == pytest.approx(_sequential_log_prob(p, gamma), rel=1e-12)
            perm = rng.permutation(p.shape[0])
            assert ncrp_log_prob(p[perm], gamma) == pytest.approx(lp, rel=1e-12)
            relabel = rng.permutation(200)[: p.max() + 1] + 7
            assert ncrp_log_prob(relabel[p], gamma) == pytest.approx(lp, rel=1e-12)
            # sequential probability of the reordered documents is the same (exchangeable)
            q = canonical_paths(p[perm])
            assert _sequential_log_prob(q, gamma) == pytest.approx(lp, rel=1e-12)


def test_ncrp_enumeration_chi2():
    """3 documents, depth 3, γ = 0.7: the 12 canonical configurations carry probability 1, and
    6 000 samples fit exp(log_prob) (χ² at level 1e-3: false-failure rate 1e-3)."""
    gamma = 0.7
    configs = checks.enumerate_ncrp_paths(3, 3)
    assert len(configs) == 12
    assert len({c.tobytes() for c in configs}) == 12
    probs = np.exp([ncrp_log_prob(c, gamma) for c in configs])
    assert probs.sum() == pytest.approx(1.0, rel=1e-12)
    torch.manual_seed(4)
    draws = NestedCRP(gamma, 3, 3).sample((6000,)).numpy()
    assert draws.shape == (6000, 3, 3)
    lookup = {c.tobytes(): i for i, c in enumerate(configs)}
    idx = np.array([lookup[np.ascontiguousarray(x, dtype=np.int64).tobytes()] for x in draws])
    res = T.chi2_gof(np.bincount(idx, minlength=12), probs)
    assert res.p_value > 1e-3, res
    # E[number of level-1 nodes] = Σ_{i<D} γ/(γ + i)
    k1 = np.array([len(set(x[:, 1])) for x in draws])
    want = sum(gamma / (gamma + i) for i in range(3))
    assert abs(k1.mean() - want) < 5 * k1.std() / math.sqrt(k1.size)


def test_parent_level_from_paths_and_canonical_paths():
    paths = np.array([[5, 9, 2], [5, 9, 4], [5, 1, 3]])
    parent, level = parent_level_from_paths(paths)
    assert parent.dtype == np.int32 and parent.shape == (10,)
    assert parent[5] == -1 and level[5] == 0
    assert parent[9] == 5 and parent[1] == 5 and parent[2] == 9 and parent[3] == 1
    assert level[[9, 1, 2, 4, 3]].tolist() == [1, 1, 2, 2, 2]
    assert level[0] == -1  # unused id
    canon = canonical_paths(paths)
    assert canon.tolist() == [[0, 1, 2], [0, 1, 3], [0, 4, 5]]
    parent_c, level_c = parent_level_from_paths(canon)
    assert parent_c.tolist() == [-1, 0, 1, 1, 0, 4] and level_c.tolist() == [0, 1, 2, 2, 1, 2]
    with pytest.raises(ValueError, match="two parents"):
        parent_level_from_paths(np.array([[0, 1, 2], [0, 3, 2]]))
    with pytest.raises(ValueError, match="two levels"):
        parent_level_from_paths(np.array([[0, 1, 2], [0, 2, 3]]))
    with pytest.raises(ValueError, match="root"):
        parent_level_from_paths(np.array([[0, 1], [1, 2]]))
    with pytest.raises(ValueError, match="integer"):
        parent_level_from_paths(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="gamma"):
        ncrp_log_prob(canon, 0.0)


def test_nested_crp_in_pyro_and_reproducible():
    def story():
        return pyro.sample("paths", NestedCRP(torch.tensor(1.0, dtype=D64), 3, 5))

    pyro.set_rng_seed(7)
    tr = poutine.trace(story).get_trace()
    pyro.set_rng_seed(7)
    again = poutine.trace(story).get_trace()
    p = tr.nodes["paths"]["value"]
    assert torch.equal(p, again.nodes["paths"]["value"])
    assert p.dtype == torch.long and p.shape == (5, 3)
    assert np.array_equal(canonical_paths(p.numpy()), p.numpy())
    assert tr.log_prob_sum().item() == pytest.approx(ncrp_log_prob(p.numpy(), 1.0))
    assert NestedCRP(1.0, 1, 4).sample().tolist() == [[0]] * 4
    assert NestedCRP(1.0, 1, 4).log_prob(torch.zeros(4, 1, dtype=torch.long)).item() == 0.0
    with pytest.raises(ValueError, match="gamma"):
        NestedCRP(-1.0, 3, 2)
    with pytest.raises(ValueError, match="depth"):
        NestedCRP(1.0, 0, 2)


def test_tree_from_paths_is_a_deprecated_alias():
    from ppltopics import distributions

    paths = np.array([[5, 9, 2], [5, 9, 4], [5, 1, 3]])
    with pytest.warns(DeprecationWarning, match="parent_level_from_paths"):
        old = distributions.tree_from_paths(paths)
    for a, b in zip(old, parent_level_from_paths(paths), strict=True):
        assert np.array_equal(a, b)


# ======================================================= the tree kernels' numba versions
def test_kernel_tree_priors_agree_with_the_distributions():
    """The tree kernels score their state with ``ncrp_log_prob_tree`` (numba, on the tree
    storage) and ``gem_log_prior`` (betaln): the same values as ``ncrp_log_prob`` and
    ``gem_level_log_prob`` on the paths and level counts."""
    from ppltopics.inference._tree import (
        gem_log_prior,
        ncrp_log_prob_tree,
        tree_arrays_from_paths,
        tree_from_state,
    )

    rng = np.random.default_rng(11)
    pyro.set_rng_seed(11)
    for depth, num_docs, gamma in [(2, 5, 0.5), (3, 9, 1.0), (4, 30, 2.5)]:
        paths = NestedCRP(gamma, depth, num_docs).sample().numpy()
        relabel = rng.permutation(int(paths.max()) + 1) + 3  # storage slots need not be canonical
        for p in (paths, relabel[paths]):
            tree = tree_from_state(tree_arrays_from_paths(p))
            assert ncrp_log_prob_tree(tree, depth, gamma) == pytest.approx(
                ncrp_log_prob(p, gamma), rel=1e-12, abs=1e-12)
        ndl = rng.integers(0, 6, size=(num_docs, depth))
        assert gem_log_prior(ndl, 0.35, 4.0) == pytest.approx(
            float(gem_level_log_prob(ndl, 0.35, 4.0).sum()), rel=1e-12)
