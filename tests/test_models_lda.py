"""LDA's Pyro story, simulator, collapsed densities and hyperparameter checks."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pyro
import pyro.distributions as pdist
import pytest
import torch
import torch.distributions as tdist
from pyro import poutine
from pyro.infer import TraceEnum_ELBO, config_enumerate

from ppltopics import Corpus
from ppltopics.models import lda
from ppltopics.models.lda import LDAHyper


# ---------------------------------------------------------------------- helpers
def _offsets(lengths) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _urn_log_joint(w, offsets, z, alpha, beta, vocab_size) -> float:
    """log p(w, z) by the chain rule of the two Pólya urns, one token at a time.

    p(z_n = k | earlier) = (n_dk + α_k) / (n_d + Σα),  p(w_n = v | z_n = k, earlier) =
    (n_kv + β) / (n_k + Vβ): independent of the lgamma form being tested.
    """
    alpha = np.asarray(alpha, dtype=float)
    num_topics = alpha.size
    n_kv = np.zeros((num_topics, vocab_size))
    n_k = np.zeros(num_topics)
    lp = 0.0
    for d in range(len(offsets) - 1):
        n_dk = np.zeros(num_topics)
        for n in range(offsets[d], offsets[d + 1]):
            k, v = z[n], w[n]
            lp += math.log((n_dk[k] + alpha[k]) / (n_dk.sum() + alpha.sum()))
            lp += math.log((n_kv[k, v] + beta) / (n_k[k] + vocab_size * beta))
            n_dk[k] += 1
            n_kv[k, v] += 1
            n_k[k] += 1
    return lp


# ---------------------------------------------------------------------- LDAHyper
def test_hyper_defaults_and_alpha_vector():
    h = LDAHyper(4)
    assert (h.alpha, h.beta) == (0.1, 0.01)
    assert h.symmetric
    np.testing.assert_array_equal(h.alpha_vector, np.full(4, 0.1))
    assert h.alpha_vector.dtype == np.float64
    assert h.alpha_sum == pytest.approx(0.4)

    a = LDAHyper(3, alpha=np.array([0.5, 1.0, 2.0]), beta=0.1)
    assert a.alpha == (0.5, 1.0, 2.0) and not a.symmetric
    np.testing.assert_array_equal(a.alpha_vector, [0.5, 1.0, 2.0])
    assert hash(a) == hash(LDAHyper(3, alpha=[0.5, 1.0, 2.0], beta=0.1))  # frozen, hashable
    assert LDAHyper.from_dict(a.to_dict()) == a
    assert LDAHyper.from_dict(h.to_dict()) == h
    assert isinstance(LDAHyper(np.int64(2)).num_topics, int)


def test_hyper_presets():
    assert LDAHyper.default(10).alpha == 0.1
    assert LDAHyper.default(10, alpha="griffiths-steyvers").alpha == pytest.approx(5.0)
    assert LDAHyper.default(10, alpha="1/K").alpha == pytest.approx(0.1)
    assert LDAHyper.default(2, alpha=0.3, beta=0.2) == LDAHyper(2, 0.3, 0.2)
    with pytest.raises(ValueError, match="alpha preset"):
        LDAHyper.default(3, alpha="nope")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_topics": 0}, "num_topics"),
        ({"num_topics": -2}, "num_topics"),
        ({"num_topics": 2.5}, "num_topics"),
        ({"num_topics": True}, "num_topics"),
        ({"num_topics": 3, "alpha": 0.0}, "alpha"),
        ({"num_topics": 3, "alpha": -1.0}, "alpha"),
        ({"num_topics": 3, "alpha": float("nan")}, "alpha"),
        ({"num_topics": 3, "alpha": float("inf")}, "alpha"),
        ({"num_topics": 3, "alpha": (1.0, 1.0)}, "alpha"),
        ({"num_topics": 3, "alpha": (1.0, 0.0, 1.0)}, "alpha"),
        ({"num_topics": 2, "alpha": [[1.0, 1.0]]}, "alpha"),
        ({"num_topics": 3, "alpha": "big"}, "alpha"),
        ({"num_topics": 3, "alpha": None}, "alpha"),
        ({"num_topics": 3, "beta": 0.0}, "beta"),
        ({"num_topics": 3, "beta": -0.1}, "beta"),
        ({"num_topics": 3, "beta": float("nan")}, "beta"),
        ({"num_topics": 3, "beta": float("inf")}, "beta"),
        ({"num_topics": 3, "beta": "x"}, "beta"),
    ],
)
def test_hyper_rejects_bad_values(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LDAHyper(**kwargs)


def test_validate_against_data():
    h = LDAHyper(5)
    assert h.validate(num_tokens=5, vocab_size=1) is h
    with pytest.raises(ValueError, match="larger than the data"):
        h.validate(num_tokens=4)
    with pytest.raises(ValueError, match="num_tokens"):
        h.validate(num_tokens=0)
    with pytest.raises(ValueError, match="vocab_size"):
        h.validate(vocab_size=0)


# ---------------------------------------------------------------------- the Pyro story
def test_model_trace_log_prob_equals_hand_computation():
    hyper = LDAHyper(3, alpha=(0.3, 0.7, 1.5), beta=0.2)
    lengths = [4, 1, 7, 2]
    vocab_size = 6
    data = torch.tensor([0, 1, 5, 5, 2, 3, 3, 3, 4, 0, 1, 2, 5, 4])
    pyro.set_rng_seed(3)
    tr = poutine.trace(lda.model).get_trace(lengths, vocab_size, hyper, data)
    lp = tr.log_prob_sum()
    assert torch.isfinite(lp)
    assert tr.nodes["w"]["is_observed"] and not tr.nodes["z"]["is_observed"]
    torch.testing.assert_close(tr.nodes["w"]["value"], data)

    phi, theta, z = (tr.nodes[s]["value"] for s in ("phi", "theta", "z"))
    assert phi.shape == (3, vocab_size) and theta.shape == (4, 3) and z.shape == (14,)
    doc = torch.repeat_interleave(torch.arange(4), torch.tensor(lengths))
    hand = (
        tdist.Dirichlet(torch.full((vocab_size,), 0.2, dtype=torch.float64)).log_prob(phi).sum()
        + tdist.Dirichlet(torch.tensor([0.3, 0.7, 1.5], dtype=torch.float64))
        .log_prob(theta)
        .sum()
        + tdist.Categorical(probs=theta[doc]).log_prob(z).sum()
        + tdist.Categorical(probs=phi[z]).log_prob(data).sum()
    )
    torch.testing.assert_close(lp, hand, rtol=1e-12, atol=1e-10)
    # the last two terms by plain indexing, too
    by_index = torch.log(theta[doc, z]).sum() + torch.log(phi[z, data]).sum()
    torch.testing.assert_close(
        tr.nodes["z"]["log_prob_sum"] + tr.nodes["w"]["log_prob_sum"], by_index
    )


def test_model_simulates_without_data_and_checks_data_shape():
    hyper = LDAHyper(2, beta=0.5)
    pyro.set_rng_seed(0)
    out = lda.model([3, 0, 2], 4, hyper)
    assert out.w.shape == (5,) and out.z.shape == (5,)
    assert int(out.w.min()) >= 0 and int(out.w.max()) < 4
    torch.testing.assert_close(out.doc_index, torch.tensor([0, 0, 0, 2, 2]))
    torch.testing.assert_close(out.phi.sum(-1), torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(out.theta.sum(-1), torch.ones(3, dtype=torch.float64))
    tr = poutine.trace(lda.model).get_trace([3, 0, 2], 4, hyper)
    assert torch.isfinite(tr.log_prob_sum())
    with pytest.raises(ValueError, match="one word id per token"):
        lda.model([3, 2], 4, hyper, data=torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="doc_lengths"):
        lda.model([3, -1], 4, hyper)


def test_model_supports_enumerating_z():
    """TraceEnum_ELBO with z enumerated and a Delta guide gives log p(w, φ, θ) exactly."""
    hyper = LDAHyper(3, alpha=(0.5, 1.0, 2.0), beta=0.5)
    sim = lda.simulate(4, [3, 1, 2, 5], 7, hyper, seed=1)
    phi, theta = torch.as_tensor(sim.phi), torch.as_tensor(sim.theta)
    w = torch.as_tensor(sim.corpus.word_ids).long()
    doc = torch.as_tensor(sim.corpus.token_docs).long()

    def guide(*args, **kwargs):
        with pyro.plate("topics", 3):
            pyro.sample("phi", pdist.Delta(phi, event_dim=1))
        with pyro.plate("docs", 4):
            pyro.sample("theta", pdist.Delta(theta, event_dim=1))

    loss = TraceEnum_ELBO(max_plate_nesting=1).loss(
        config_enumerate(lda.model), guide, sim.corpus.doc_lengths, 7, hyper, w
    )
    expected = (
        tdist.Dirichlet(torch.full((7,), 0.5, dtype=torch.float64)).log_prob(phi).sum()
        + tdist.Dirichlet(torch.tensor(hyper.alpha_vector)).log_prob(theta).sum()
        + torch.log((theta[doc] * phi[:, w].T).sum(-1)).sum()
    )
    assert loss == pytest.approx(-float(expected), rel=1e-10)


# ---------------------------------------------------------------------- simulate
def test_simulate_reproducible_and_consistent():
    hyper = LDAHyper(4, alpha=0.5, beta=0.1)
    a = lda.simulate(30, 12, 50, hyper, seed=7)
    b = lda.simulate(30, 12, 50, hyper, seed=7)
    c = lda.simulate(30, 12, 50, hyper, seed=8)
    for x, y in ((a.phi, b.phi), (a.theta, b.theta), (a.z, b.z)):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.corpus.word_ids, b.corpus.word_ids)
    assert not np.array_equal(a.corpus.word_ids, c.corpus.word_ids)
    assert not np.allclose(a.phi, c.phi)

    assert isinstance(a.corpus, Corpus)
    assert a.hyper is hyper and a.seed == 7
    assert a.corpus.num_docs == 30 and a.corpus.num_tokens == 30 * 12
    assert a.corpus.vocab_size == 50 and a.corpus.vocab[0] == "w0000"
    assert a.corpus.vocab[-1] == "w0049"
    assert a.phi.shape == (4, 50) and a.theta.shape == (30, 4)
    assert a.z.shape == a.corpus.word_ids.shape and a.z.dtype == np.int32
    assert 0 <= a.z.min() and a.z.max() < 4
    np.testing.assert_allclose(a.phi.sum(1), 1.0)
    np.testing.assert_allclose(a.theta.sum(1), 1.0)


def test_simulate_doc_length_forms():
    hyper = LDAHyper(2)
    lengths = np.array([1, 5, 2, 9])
    s = lda.simulate(4, lengths, 10, hyper, seed=0)
    np.testing.assert_array_equal(s.corpus.doc_lengths, lengths)
    assert s.corpus.num_tokens == lengths.sum()

    p = lda.simulate(500, 20, 10, hyper, seed=0, poisson=True)
    assert p.corpus.doc_lengths.min() >= 1
    assert p.corpus.num_tokens == p.corpus.doc_lengths.sum()
    assert p.corpus.doc_lengths.mean() == pytest.approx(20, rel=0.05)
    assert p.corpus.doc_lengths.std() > 2  # lengths vary
    q = lda.simulate(500, 20, 10, hyper, seed=0, poisson=True)
    np.testing.assert_array_equal(p.corpus.doc_lengths, q.corpus.doc_lengths)

    with pytest.raises(ValueError, match="doc_length"):
        lda.simulate(3, [1, 2], 10, hyper)
    with pytest.raises(ValueError, match="doc_length"):
        lda.simulate(2, [1, 0], 10, hyper)
    with pytest.raises(ValueError, match="doc_length"):
        lda.simulate(2, 2.5, 10, hyper)
    with pytest.raises(ValueError, match="num_docs"):
        lda.simulate(0, 3, 10, hyper)
    with pytest.raises(ValueError, match="vocab_size"):
        lda.simulate(2, 3, 0, hyper)


def test_simulate_keeps_unused_vocabulary():
    s = lda.simulate(2, 3, 500, LDAHyper(2, beta=0.01), seed=0)
    assert s.corpus.vocab_size == 500
    assert np.unique(s.corpus.word_ids).size < 500


def test_simulate_leaves_global_rng_state_alone():
    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002 - the legacy global state is what we guard
    random.seed(123)
    t0, r0 = torch.get_rng_state(), random.getstate()
    n0 = np.random.get_state()  # noqa: NPY002
    lda.simulate(5, 4, 8, LDAHyper(2), seed=99)
    assert torch.equal(torch.get_rng_state(), t0)
    assert random.getstate() == r0
    n1 = np.random.get_state()  # noqa: NPY002
    assert n1[0] == n0[0] and np.array_equal(n1[1], n0[1]) and n1[2:] == n0[2:]


def test_simulated_word_frequencies_match_expectation():
    """Observed word counts track E[count_v] = Σ_d N_d (θ_d φ)_v, and words given z track φ."""
    hyper = LDAHyper(5, alpha=0.5, beta=0.1)
    s = lda.simulate(300, 100, 60, hyper, seed=11)
    c = s.corpus
    expected = c.doc_lengths @ (s.theta @ s.phi)
    observed = c.word_counts()
    assert expected.sum() == pytest.approx(observed.sum())
    assert np.corrcoef(expected, observed)[0, 1] > 0.95

    n_kv = np.zeros_like(s.phi)
    np.add.at(n_kv, (s.z, c.word_ids), 1)
    n_k = n_kv.sum(1, keepdims=True)
    big = n_k[:, 0] > 500
    assert big.any()
    emp = n_kv[big] / n_k[big]
    assert np.abs(emp - s.phi[big]).max() < 0.05
    # z follows θ: tokens of each document per topic
    n_dk = np.zeros_like(s.theta)
    np.add.at(n_dk, (c.token_docs, s.z), 1)
    assert np.corrcoef(n_dk.ravel(), (c.doc_lengths[:, None] * s.theta).ravel())[0, 1] > 0.95


# ---------------------------------------------------------------------- collapsed densities
@pytest.mark.parametrize(
    ("lengths", "hyper", "vocab_size"),
    [
        ([2, 2], LDAHyper(2, alpha=0.5, beta=0.3), 2),
        ([3, 1], LDAHyper(2, alpha=(0.2, 1.7), beta=1.3), 2),
        ([3, 2], LDAHyper(2, alpha=(0.4, 2.0), beta=0.25), 3),
        ([1, 1, 2], LDAHyper(3, alpha=0.1, beta=0.01), 2),
    ],
)
def test_log_joint_is_a_normalised_distribution(lengths, hyper, vocab_size):
    """Σ_w Σ_z exp(log_joint) = 1 over all V^N word sequences and K^N assignments."""
    offsets = _offsets(lengths)
    n = offsets[-1]
    total = 0.0
    for w in itertools.product(range(vocab_size), repeat=n):
        total_w = 0.0
        for z in itertools.product(range(hyper.num_topics), repeat=n):
            total_w += math.exp(lda.log_joint(w, offsets, z, hyper, vocab_size))
        total += total_w
    assert total == pytest.approx(1.0, abs=1e-12)


def test_collapsed_factors_are_normalised():
    """Σ_w p(w | z) = 1 for each z, and Σ_z p(z | α) = 1."""
    hyper = LDAHyper(3, alpha=(0.3, 0.9, 2.0), beta=0.4)
    lengths, vocab_size = [2, 3], 3
    offsets = _offsets(lengths)
    n = offsets[-1]
    dummy_w = np.zeros(n, dtype=np.int64)
    prior_total = 0.0
    for z in itertools.product(range(3), repeat=n):
        prior_total += math.exp(lda.log_prior_collapsed(dummy_w, offsets, z, hyper, vocab_size))
    assert prior_total == pytest.approx(1.0, abs=1e-12)
    for z in ([0, 0, 1, 2, 2], [1, 1, 1, 1, 1], [2, 0, 1, 0, 2]):
        lik_total = sum(
            math.exp(lda.log_likelihood_collapsed(w, offsets, z, hyper, vocab_size))
            for w in itertools.product(range(vocab_size), repeat=n)
        )
        assert lik_total == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_log_joint_matches_sequential_polya_urns(seed):
    hyper = LDAHyper(4, alpha=(0.05, 0.3, 1.0, 4.0) if seed else 0.1, beta=0.02 + 0.3 * seed)
    s = lda.simulate(12, 9, 15, hyper, seed=seed, poisson=True)
    c = s.corpus
    rng = np.random.default_rng(seed)
    for z in (s.z, rng.integers(0, 4, c.num_tokens)):
        got = lda.log_joint(c.word_ids, c.doc_offsets, z, hyper, c.vocab_size)
        ref = _urn_log_joint(c.word_ids, c.doc_offsets, z, hyper.alpha_vector, hyper.beta, 15)
        assert got == pytest.approx(ref, rel=1e-11)
        ll = lda.log_likelihood_collapsed(c.word_ids, c.doc_offsets, z, hyper, c.vocab_size)
        lp = lda.log_prior_collapsed(c.word_ids, c.doc_offsets, z, hyper, c.vocab_size)
        assert ll + lp == pytest.approx(got, rel=1e-12)
        assert ll < 0 and lp < 0


def test_log_joint_from_counts_agrees():
    hyper = LDAHyper(5, alpha=(0.1, 0.2, 0.3, 0.4, 0.5), beta=0.05)
    s = lda.simulate(40, 25, 30, hyper, seed=5)
    c = s.corpus
    n_dk = np.zeros((c.num_docs, 5))
    np.add.at(n_dk, (c.token_docs, s.z), 1)
    n_kv = np.zeros((5, c.vocab_size), dtype=np.int64)
    np.add.at(n_kv, (s.z, c.word_ids), 1)
    lj = lda.log_joint(c.word_ids, c.doc_offsets, s.z, hyper, c.vocab_size)
    assert lda.log_joint_from_counts(n_dk, n_kv, hyper) == pytest.approx(lj, rel=1e-12)
    ll = lda.log_likelihood_collapsed(c.word_ids, c.doc_offsets, s.z, hyper, c.vocab_size)
    assert lda.log_likelihood_from_counts(n_kv, hyper.beta) == pytest.approx(ll, rel=1e-12)


def test_log_joint_sparse_path_for_large_tables():
    """K·V beyond the dense-table limit uses sorted pair counts; same value as the counts."""
    num_topics, vocab_size = 1500, 3000  # 4.5 M cells > dense limit
    hyper = LDAHyper(num_topics, alpha=0.1, beta=0.01)
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 50, size=100)
    offsets = _offsets(lengths)
    w = rng.integers(0, vocab_size, offsets[-1])
    z = rng.integers(0, num_topics, offsets[-1])
    n_kv = np.zeros((num_topics, vocab_size))
    np.add.at(n_kv, (z, w), 1)
    n_dk = np.zeros((lengths.size, num_topics))
    np.add.at(n_dk, (np.repeat(np.arange(lengths.size), lengths), z), 1)
    got = lda.log_joint(w, offsets, z, hyper, vocab_size)
    assert got == pytest.approx(lda.log_joint_from_counts(n_dk, n_kv, hyper), rel=1e-12)


def test_log_joint_rejects_inconsistent_input():
    hyper = LDAHyper(2)
    off = np.array([0, 2, 3])
    with pytest.raises(ValueError, match="z has"):
        lda.log_joint([0, 1, 1], off, [0, 1], hyper, 2)
    with pytest.raises(ValueError, match="z out of range"):
        lda.log_joint([0, 1, 1], off, [0, 1, 2], hyper, 2)
    with pytest.raises(ValueError, match="word_ids out of range"):
        lda.log_joint([0, 1, 2], off, [0, 1, 1], hyper, 2)
    with pytest.raises(ValueError, match="doc_offsets"):
        lda.log_joint([0, 1, 1], [0, 2], [0, 1, 1], hyper, 2)


# ---------------------------------------------------------------------- RowCategorical
def test_row_categorical_matches_categorical_of_gathered_rows():
    table = torch.tensor([[0.2, 0.0, 0.8], [0.5, 0.25, 0.25], [0.0, 0.0, 1.0]], dtype=torch.float64)
    index = torch.tensor([2, 0, 0, 1, 2, 1, 0])
    d = lda.RowCategorical(table, index)
    ref = tdist.Categorical(probs=table[index])
    assert d.batch_shape == (7,) and d.event_shape == ()
    value = torch.tensor([2, 0, 2, 1, 2, 0, 2])
    torch.testing.assert_close(d.log_prob(value), ref.log_prob(value))
    assert d.log_prob(torch.tensor([0, 1, 0, 0, 0, 0, 0]))[0] == -math.inf
    # enumeration: support broadcasts against the batch
    support = d.enumerate_support(expand=False)
    assert support.shape == (3, 1)
    assert d.log_prob(support).shape == (3, 7)
    assert d.expand((4, 7)).sample().shape == (4, 7)


def test_row_categorical_sampling_law():
    torch.manual_seed(0)
    table = torch.tensor([[0.1, 0.0, 0.6, 0.3], [0.0, 0.5, 0.0, 0.5]], dtype=torch.float64)
    index = torch.tensor([1, 0, 0, 1, 0])
    draws = lda.RowCategorical(table, index).sample((40_000,))
    assert draws.shape == (40_000, 5)
    for col, row in enumerate(index.tolist()):
        freq = torch.bincount(draws[:, col], minlength=4).double() / 40_000
        assert (freq[table[row] == 0] == 0).all()  # zero-probability words never drawn
        torch.testing.assert_close(freq, table[row], atol=0.012, rtol=0)
