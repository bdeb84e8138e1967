"""Shared Gaussian-topic numerics: Cholesky up/downdates and the collapsed NIW predictive.

Everything is checked against a from-scratch numpy/scipy computation of Murphy's (2007) algebra:
κ_n = κ0+n, ν_n = ν0+n, μ_n = (κ0μ0 + n x̄)/κ_n, Ψ_n = Ψ0 + S + κ0 n/κ_n (x̄−μ0)(x̄−μ0)ᵀ,
predictive t_{ν_n−M+1}(μ_n, Ψ_n (κ_n+1)/(κ_n(ν_n−M+1))).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy import integrate, special
from scipy import stats as st

from ppltopics.inference import _linalg as la


# ---------------------------------------------------------------------- reference algebra
def _spd(rng: np.random.Generator, M: int) -> np.ndarray:
    A = rng.standard_normal((M, M + 3))
    return A @ A.T / M + 0.5 * np.eye(M)


def _prior(rng: np.random.Generator, M: int, kappa0=0.3, extra_nu=0.5) -> la.NIWPrior:
    return la.make_prior(rng.standard_normal(M), kappa0, M - 1 + extra_nu, _spd(rng, M))


def _posterior(Y: np.ndarray, prior: la.NIWPrior):
    """(κ_n, ν_n, μ_n, Ψ_n) from scratch (Murphy 2007)."""
    n = Y.shape[0]
    k0, nu0, mu0, psi0 = prior.kappa0, prior.nu0, prior.mu0, prior.psi0
    kn, nun = k0 + n, nu0 + n
    if n == 0:
        return kn, nun, mu0.copy(), psi0.copy()
    xb = Y.mean(0)
    S = (Y - xb).T @ (Y - xb)
    psi = psi0 + S + k0 * n / kn * np.outer(xb - mu0, xb - mu0)
    return kn, nun, (k0 * mu0 + n * xb) / kn, psi


def _ref_predictive(x: np.ndarray, Y: np.ndarray, prior: la.NIWPrior) -> float:
    M = x.shape[0]
    kn, nun, mun, psin = _posterior(Y, prior)
    dof = nun - M + 1
    shape = psin * (kn + 1) / (kn * dof)
    return float(st.multivariate_t(loc=mun, shape=shape, df=dof).logpdf(x))


def _ref_log_marginal(Y: np.ndarray, prior: la.NIWPrior) -> float:
    n, M = Y.shape
    kn, nun, _, psin = _posterior(Y, prior)
    return float(
        -0.5 * n * M * np.log(np.pi)
        + 0.5 * M * (np.log(prior.kappa0) - np.log(kn))
        + 0.5 * prior.nu0 * np.linalg.slogdet(prior.psi0)[1]
        - 0.5 * nun * np.linalg.slogdet(psin)[1]
        + special.multigammaln(0.5 * nun, M)
        - special.multigammaln(0.5 * prior.nu0, M)
    )


# ---------------------------------------------------------------------- dense pieces
@pytest.mark.parametrize("M", [2, 5, 50])
def test_chol_update_and_downdate_match_numpy(M):
    rng = np.random.default_rng(M)
    A = _spd(rng, M)
    x = rng.standard_normal(M)
    x_copy = x.copy()
    L = np.linalg.cholesky(A)
    la.chol_update(L, x)
    np.testing.assert_array_equal(x, x_copy)  # x is not clobbered
    np.testing.assert_allclose(L, np.linalg.cholesky(A + np.outer(x, x)), rtol=0, atol=1e-11)
    assert np.all(np.triu(L, 1) == 0.0)

    L2 = np.linalg.cholesky(A + np.outer(x, x))
    assert la.chol_downdate(L2, x)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_allclose(L2, np.linalg.cholesky(A), rtol=0, atol=1e-11)
    assert np.all(np.diag(L2) > 0) and np.all(np.triu(L2, 1) == 0.0)

    # a large but admissible downdate: ‖L⁻¹x‖ = 0.99
    L3 = np.linalg.cholesky(A)
    p = rng.standard_normal(M)
    y = L3 @ (0.99 * p / np.linalg.norm(p))
    assert la.chol_downdate(L3, y)
    np.testing.assert_allclose(
        L3 @ L3.T, A - np.outer(y, y), rtol=0, atol=1e-10 * np.abs(A).max()
    )
    assert abs(la.chol_logdet(L3) - np.linalg.slogdet(A - np.outer(y, y))[1]) < 1e-9


@pytest.mark.parametrize("M", [2, 5, 50])
@pytest.mark.parametrize("norm", [1.0, 1.5, 1e3])
def test_downdate_failure_is_flagged_and_leaves_factor(M, norm):
    rng = np.random.default_rng(7 + M)
    A = _spd(rng, M)
    L = np.linalg.cholesky(A)
    p = rng.standard_normal(M)
    x = L @ (norm * p / np.linalg.norm(p))  # A − x xᵀ singular (norm 1) or indefinite
    L_before = L.copy()
    assert not la.chol_downdate(L, x)
    np.testing.assert_array_equal(L, L_before)
    assert np.all(np.isfinite(L))
    assert not la.chol_downdate(L, np.full(M, np.nan))
    np.testing.assert_array_equal(L, L_before)


def test_cholesky_lower_and_multigammaln():
    rng = np.random.default_rng(3)
    for M in (1, 4, 30):
        A = _spd(rng, M)
        L = np.full((M, M), 7.0)
        assert la.cholesky_lower(A, L)
        np.testing.assert_allclose(L, np.linalg.cholesky(A), atol=1e-12)
        B = A.copy()
        assert la.cholesky_lower(B, B)  # in place
        np.testing.assert_allclose(B, np.linalg.cholesky(A), atol=1e-12)
    assert not la.cholesky_lower(np.array([[1.0, 2.0], [2.0, 1.0]]), np.empty((2, 2)))
    assert not la.cholesky_lower(np.array([[np.nan]]), np.empty((1, 1)))
    for a, M in [(0.6, 1), (3.3, 2), (10.25, 7), (26.0, 50)]:
        assert la.multigammaln(a, M) == pytest.approx(special.multigammaln(a, M), rel=1e-13)


def test_mvt_logpdf_chol_matches_scipy():
    rng = np.random.default_rng(11)
    for M, dof in [(1, 0.7), (3, 2.5), (20, 40.0)]:
        shape = _spd(rng, M)
        mu = rng.standard_normal(M)
        L = np.linalg.cholesky(shape)
        logdet = 2 * np.log(np.diag(L)).sum()
        ref = st.multivariate_t(loc=mu, shape=shape, df=dof)
        for _ in range(5):
            x = mu + 3 * rng.standard_normal(M)
            got = la.mvt_logpdf_chol(x, mu, L, logdet, dof)
            assert got == pytest.approx(ref.logpdf(x), rel=1e-12, abs=1e-10)


# ---------------------------------------------------------------------- NIW topics
def test_make_prior_validates():
    mu0 = np.zeros(3)
    with pytest.raises(ValueError, match="kappa0"):
        la.make_prior(mu0, 0.0, 5.0, 1.0)
    with pytest.raises(ValueError, match="nu0"):
        la.make_prior(mu0, 1.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="symmetric"):
        la.make_prior(mu0, 1.0, 5.0, np.triu(np.ones((3, 3))) + np.eye(3))
    with pytest.raises(ValueError, match="positive definite"):
        la.make_prior(mu0, 1.0, 5.0, -np.eye(3))
    with pytest.raises(ValueError, match="NaN"):
        la.make_prior(np.array([0.0, np.nan, 0.0]), 1.0, 5.0, 1.0)
    with pytest.raises(ValueError, match="shape"):
        la.make_prior(mu0, 1.0, 5.0, np.eye(2))
    prior = la.make_prior([0, 0, 0], 1, 5, 2)
    assert prior.psi0.dtype == np.float64 and prior.psi0_logdet == pytest.approx(3 * np.log(2))


@pytest.mark.parametrize("M", [5, 50])
def test_long_add_remove_sequence_matches_fresh_factorisation(M):
    rng = np.random.default_rng(100 + M)
    K, N = 4, 300
    prior = _prior(rng, M)
    X = rng.standard_normal((N, M)) * 2.0 + 1.0
    stats = la.new_stats(K, prior)
    work = la.new_work(M)
    z = np.full(N, -1)
    for _ in range(2000):  # random adds/removes
        i = rng.integers(N)
        if z[i] >= 0 and rng.random() < 0.5:
            assert la.niw_remove(z[i], X[i], stats, prior, work)
            z[i] = -1
        elif z[i] < 0:
            z[i] = rng.integers(K)
            la.niw_add(z[i], X[i], stats, prior, work)
        else:  # move
            assert la.niw_remove(z[i], X[i], stats, prior, work)
            z[i] = rng.integers(K)
            la.niw_add(z[i], X[i], stats, prior, work)
    assert (z >= 0).sum() > 50
    for k in range(K):
        Y = X[z == k]
        _, _, _, psin = _posterior(Y, prior)
        L_ref = np.linalg.cholesky(psin)
        assert stats.count[k] == Y.shape[0]
        np.testing.assert_allclose(stats.sums[k], Y.sum(0), rtol=1e-10, atol=1e-9)
        assert np.abs(stats.chol[k] - L_ref).max() <= 1e-8 * np.abs(L_ref).max()
        assert stats.logdet[k] == pytest.approx(np.linalg.slogdet(psin)[1], rel=1e-10)
        Yc = Y - prior.mu0
        np.testing.assert_allclose(
            np.tril(stats.scatter[k]), np.tril(Yc.T @ Yc), rtol=1e-10, atol=1e-8
        )
    # the kernels' initialiser agrees with the incremental path
    fresh = la.stats_from_assignments(X[z >= 0], z[z >= 0], K, prior)
    np.testing.assert_array_equal(fresh.count, stats.count)
    np.testing.assert_allclose(fresh.chol, stats.chol, atol=1e-9)
    np.testing.assert_allclose(fresh.logdet, stats.logdet, rtol=1e-12)
    np.testing.assert_allclose(la.posterior_means(stats, prior)[0], _posterior(X[z == 0], prior)[2])


# ---------------------------------------------------------------------- inverse factors
@pytest.mark.parametrize("M", [1, 2, 5, 50])
def test_inverse_factor_and_its_rank_one_updates_match_numpy(M):
    rng = np.random.default_rng(300 + M)
    A = _spd(rng, M)
    L = np.linalg.cholesky(A)
    G = np.empty((M, M))
    la.tri_inv(L, G)
    np.testing.assert_allclose(G, np.linalg.inv(L), rtol=0, atol=1e-12 * np.abs(G).max())
    assert np.all(np.triu(G, 1) == 0.0)
    y = rng.standard_normal(M)
    assert la.matvec_sq(G, y) == pytest.approx(y @ np.linalg.solve(A, y), rel=1e-12)
    mu = rng.standard_normal(M)
    assert la.inv_quad(G, y + mu, mu, np.empty(M)) == pytest.approx(
        y @ np.linalg.solve(A, y), rel=1e-12)
    s = np.empty(M)
    v = rng.standard_normal(M)
    for sign, target in ((1.0, A + np.outer(v, v)), (-1.0, A)):
        # p = G v with the current G; after the update G = chol(target)⁻¹
        Gs = G.copy()
        assert la.inv_chol_rank_one(G, G @ v, sign, s)
        ref = np.linalg.inv(np.linalg.cholesky(target))
        np.testing.assert_allclose(G, ref, rtol=0, atol=1e-11 * np.abs(ref).max())
        assert np.all(np.triu(G, 1) == 0.0) and np.all(np.diag(G) > 0)
        assert not np.array_equal(G, Gs)
    # a downdate to a singular / indefinite matrix is refused (‖p‖ >= 1)
    p = rng.standard_normal(M)
    for norm in (1.0, 1.5):
        assert not la.inv_chol_rank_one(G.copy(), norm * p / np.linalg.norm(p), -1.0, s)


@numba.njit(cache=True)
def _random_moves_inv(X, z, stats, prior, Linv, work, rows, topics):
    """Move ``X[rows[t]]`` to topic ``topics[t]`` with niw_remove_inv / niw_add_inv (the
    inverse factors are never recomputed on purpose: their drift is what is tested)."""
    for t in range(rows.shape[0]):
        i = rows[t]
        k = topics[t]
        if k != z[i]:
            la.niw_remove_inv(z[i], X[i], stats, prior, Linv, work)
            la.niw_add_inv(k, X[i], stats, prior, Linv, work)
            z[i] = k


def test_inverse_factors_follow_many_rank_one_changes():
    """200 000 random moves (~100 000 rank-one changes per topic's inverse factor, no
    recomputation): the carried L⁻¹ still equals the inverse of the maintained factor to
    ~1e-15 relative (observed 7e-15; asserted 1e-10), and the log predictive densities from
    it agree with the triangular-solve ones to 1e-9.  Then the reset (a topic emptied) and
    refactorisation (failed downdate) paths recompute L⁻¹."""
    rng = np.random.default_rng(12)
    M, K, N = 50, 4, 2000
    X = rng.standard_normal((N, M)) * 2.0 + 1.0 + 3.0 * rng.standard_normal(M)
    prior = la.make_prior(X.mean(0), 0.1, M + 2.0, 0.5 * np.cov(X.T))
    z = rng.integers(0, K, N)
    stats = la.stats_from_assignments(X, z, K, prior)
    Linv = np.empty((K, M, M))
    for k in range(K):
        la.tri_inv(stats.chol[k], Linv[k])
    work = la.new_work(M)
    steps = 200_000
    _random_moves_inv(X, z, stats, prior, Linv, work, rng.integers(0, N, steps),
                      rng.integers(0, K, steps))

    def check():
        for k in range(K):
            ref = np.linalg.inv(stats.chol[k])
            assert np.abs(Linv[k] - ref).max() <= 1e-10 * np.abs(ref).max()
            mu = la.posterior_means(stats, prior)[k]
            n = stats.count[k]
            kn, dof = prior.kappa0 + n, prior.nu0 + n - M + 1.0
            c = (kn + 1.0) / (kn * dof)
            for x in X[:20]:
                q = la.inv_quad(Linv[k], x, mu, np.empty(M))
                f = la.t_logpdf(q, stats.logdet[k], c, dof, M)
                assert abs(f - la.predictive_logpdf(k, x, stats, prior, work)) < 1e-9

    check()
    # empty topic 0: its inverse factor is the prior's
    for i in np.flatnonzero(z == 0):
        la.niw_remove_inv(0, X[i], stats, prior, Linv, work)
        z[i] = 1
        la.niw_add_inv(1, X[i], stats, prior, Linv, work)
    np.testing.assert_allclose(Linv[0], np.linalg.inv(prior.psi0_chol), atol=1e-12)
    # a corrupted factor makes the downdate fail: refactorised, inverse recomputed
    stats.chol[2] = 1e-3 * np.eye(M)
    i = np.flatnonzero(z == 2)[0]
    assert not la.niw_remove_inv(2, X[i], stats, prior, Linv, work)
    z[i] = 3
    la.niw_add_inv(3, X[i], stats, prior, Linv, work)
    check()


def test_remove_resets_and_refactorises():
    rng = np.random.default_rng(5)
    M = 4
    prior = _prior(rng, M)
    stats = la.new_stats(2, prior)
    work = la.new_work(M)
    X = rng.standard_normal((6, M))
    with pytest.raises(ValueError, match="empty"):
        la.niw_remove(0, X[0], stats, prior, work)
    with pytest.raises(ValueError, match="new_work"):
        la.niw_add(0, X[0], stats, prior, np.empty((4, M)))
    with pytest.raises(ValueError, match="new_work"):
        la.block_logpdf(0, X, stats, prior, np.empty((M + 3, M)))
    with pytest.raises(ValueError, match="longer"):
        la.predictive_logpdf_topics(X[0], stats, prior, np.empty(3), work)
    with pytest.raises(ValueError, match="assignments"):
        la.stats_from_assignments(X, np.array([0, 1, 2, 0, 0, 0]), 2, prior)
    for x in X:
        la.niw_add(0, x, stats, prior, work)
    # the last vector out leaves exactly the prior
    la.niw_add(1, X[0], stats, prior, work)
    assert la.niw_remove(1, X[0], stats, prior, work)
    assert stats.count[1] == 0 and np.all(stats.sums[1] == 0) and np.all(stats.scatter[1] == 0)
    np.testing.assert_array_equal(stats.chol[1], prior.psi0_chol)
    assert stats.logdet[1] == prior.psi0_logdet
    # a corrupted (too small) factor makes the downdate fail: the topic is refactorised
    stats.chol[0] = 1e-3 * np.eye(M)
    assert not la.niw_remove(0, X[5], stats, prior, work)
    _, _, _, psin = _posterior(X[:5], prior)
    np.testing.assert_allclose(stats.chol[0], np.linalg.cholesky(psin), atol=1e-12)
    assert stats.logdet[0] == pytest.approx(np.linalg.slogdet(psin)[1], rel=1e-12)


def test_predictive_matches_scipy_multivariate_t():
    rng = np.random.default_rng(21)
    for M in (1, 3, 10):
        prior = _prior(rng, M, kappa0=0.1, extra_nu=0.3)
        K = 3
        stats = la.new_stats(K, prior)
        work = la.new_work(M)
        X = rng.standard_normal((30, M)) + 2.0
        z = np.array([0] * 17 + [1] * 13)  # topic 2 stays empty
        for x, k in zip(X, z, strict=True):
            la.niw_add(k, x, stats, prior, work)
        out = np.empty(K)
        for _ in range(4):
            x = rng.standard_normal(M) * 2.0
            la.predictive_logpdf_topics(x, stats, prior, out, work)
            for k in range(K):
                ref = _ref_predictive(x, X[z == k], prior)
                assert la.predictive_logpdf(k, x, stats, prior, work) == pytest.approx(
                    ref, rel=1e-11, abs=1e-10
                )
                assert out[k] == la.predictive_logpdf(k, x, stats, prior, work)
            assert la.predictive_logpdf_prior(x, prior, work) == pytest.approx(out[2], rel=1e-13)


@pytest.mark.parametrize("M", [1, 3, 20])
def test_chain_rule_marginal_and_block(M):
    rng = np.random.default_rng(31 + M)
    prior = _prior(rng, M, kappa0=0.5, extra_nu=1.0)
    Y = rng.standard_normal((12, M)) * 1.5
    stats = la.new_stats(2, prior)
    work = la.new_work(M)
    chain = 0.0
    for x in Y:
        chain += la.predictive_logpdf(0, x, stats, prior, work)
        la.niw_add(0, x, stats, prior, work)
    marg = la.niw_log_marginal(Y.shape[0], stats.logdet[0], prior)
    ref = _ref_log_marginal(Y, prior)
    assert chain == pytest.approx(ref, rel=1e-11)
    assert marg == pytest.approx(ref, rel=1e-11)
    assert la.topic_log_marginal(0, stats, prior) == marg
    assert la.topic_log_marginal(1, stats, prior) == 0.0
    assert la.block_logpdf(1, Y, stats, prior, work) == pytest.approx(ref, rel=1e-11)
    rows = np.arange(Y.shape[0])
    assert la.block_logpdf_prior(Y, rows, prior, work) == pytest.approx(ref, rel=1e-11)
    # conditional block on a non-empty topic, through a row-index table; topic unchanged
    B = rng.standard_normal((5, M))
    table = np.concatenate([rng.standard_normal((3, M)), B])
    before = (stats.chol.copy(), stats.sums.copy(), stats.count.copy())
    got = la.block_logpdf_rows(0, table, np.arange(3, 8), stats, prior, work)
    want = _ref_log_marginal(np.concatenate([Y, B]), prior) - ref
    assert got == pytest.approx(want, rel=1e-10)
    np.testing.assert_array_equal(stats.chol, before[0])
    np.testing.assert_array_equal(stats.sums, before[1])
    np.testing.assert_array_equal(stats.count, before[2])
    assert la.block_logpdf_rows(0, table, np.arange(0), stats, prior, work) == 0.0


@numba.njit(cache=True)
def _grid_mass_2d(stats, prior, center, s, n):
    """∫∫ p(x | topic 0) dx by the midpoint rule after x = c + s·tan(u) on (−π/2, π/2)²."""
    work = np.empty((6, 2))  # new_work(2): four vectors + one 2×2 matrix
    x = np.empty(2)
    h = math.pi / n
    total = 0.0
    for i in range(n):
        u = -0.5 * math.pi + (i + 0.5) * h
        for j in range(n):
            v = -0.5 * math.pi + (j + 0.5) * h
            x[0] = center[0] + s * math.tan(u)
            x[1] = center[1] + s * math.tan(v)
            jac = s * s / (math.cos(u) ** 2 * math.cos(v) ** 2)
            total += math.exp(la.predictive_logpdf(0, x, stats, prior, work)) * jac
    return total * h * h


def test_predictive_integrates_to_one():
    rng = np.random.default_rng(41)
    for M in (1, 2):
        prior = _prior(rng, M, kappa0=0.2, extra_nu=0.8)
        stats = la.new_stats(1, prior)
        work = la.new_work(M)
        for x in rng.standard_normal((4, M)):
            la.niw_add(0, x, stats, prior, work)
        center = la.posterior_means(stats, prior)[0]
        if M == 1:

            def f(t, stats=stats, prior=prior, work=work):
                return math.exp(la.predictive_logpdf(0, np.array([t]), stats, prior, work))

            mass = integrate.quad(f, -np.inf, np.inf, epsabs=1e-11, limit=200)[0]
            assert mass == pytest.approx(1.0, abs=1e-7)
        else:
            mass = _grid_mass_2d(stats, prior, center, 1.0, 800)
            assert mass == pytest.approx(1.0, abs=2e-3)


# ---------------------------------------------------------------------- speed (report only)
@numba.njit(cache=True, nogil=True)
def _gibbs_like_steps(X, z, stats, prior, work, out, steps):
    """remove + K predictives + add per step, as one GLDA token update (no RNG)."""
    N = X.shape[0]
    K = out.shape[0]
    acc = 0.0
    for t in range(steps):
        i = t % N
        la.niw_remove(z[i], X[i], stats, prior, work)
        la.predictive_logpdf_topics(X[i], stats, prior, out, work)
        k = (z[i] + 1 + (t % 3)) % K
        acc += out[k]
        la.niw_add(k, X[i], stats, prior, work)
        z[i] = k
    return acc


def test_long_token_step_run_keeps_factors_exact():
    """100,000 Gibbs-like token steps (remove, K predictives, add) at K = 40, M = 50: the
    incrementally updated factors still equal a rebuild (speed: benchmarks/bench_glda.py)."""
    rng = np.random.default_rng(0)
    M, K, N, steps = 50, 40, 20_000, 100_000
    X = rng.standard_normal((N, M)) * 0.5
    prior = la.make_prior(X.mean(0), 0.1, M + 2.0, 3.0 * np.eye(M))
    z = rng.integers(0, K, N)
    stats = la.stats_from_assignments(X, z, K, prior)
    work = la.new_work(M)
    out = np.empty(K)
    _gibbs_like_steps(X, z, stats, prior, work, out, 10)
    acc = _gibbs_like_steps(X, z, stats, prior, work, out, steps)
    assert np.isfinite(acc)
    fresh = la.stats_from_assignments(X, z, K, prior)
    np.testing.assert_allclose(stats.logdet, fresh.logdet, rtol=1e-10)
