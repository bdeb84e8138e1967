"""Held-out log-likelihood (left-to-right SMC) against exact enumeration, and fold-in."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.special import gammaln, logsumexp

import ppltopics as pt
from ppltopics.models.lda import LDAHyper, simulate


@pytest.fixture(scope="module")
def post():
    sim = simulate(50, 20, 30, LDAHyper(num_topics=3, alpha=0.3, beta=0.1), seed=0)
    return pt.fit("lda", sim.corpus, num_topics=3, num_chains=1, num_samples=10, warmup=50,
                  progress=False)


def _exact_log_p(post, ids) -> float:
    """log p(w | φ, α) = log Σ_z DirMult(n(z) | α) Π_n φ_{z_n, w_n}, enumerating all z."""
    phi, a = post.phi, post.alpha
    terms = []
    for z in itertools.product(range(len(a)), repeat=len(ids)):
        n = np.bincount(z, minlength=len(a))
        lp = gammaln(a.sum()) - gammaln(len(ids) + a.sum()) + (gammaln(n + a) - gammaln(a)).sum()
        terms.append(lp + np.log(phi[list(z), ids]).sum())
    return float(logsumexp(terms))


def test_left_to_right_converges_to_the_enumerated_marginal(post):
    test = pt.Corpus.from_tokens([["w0001", "w0002", "w0001", "w0005", "w0007", "w0002"],
                                  ["w0010", "w0003"]])
    ids0 = np.array([post.corpus.word_index[w] for w in test.docs()[0]])
    ids1 = np.array([post.corpus.word_index[w] for w in test.docs()[1]])
    res = pt.evaluation.heldout_loglik(post, test, particles=3000, seed=0)
    assert res.kind == "log probability" and res.num_tokens == 8 and res.unknown_tokens == 0
    np.testing.assert_allclose(res.per_doc, [_exact_log_p(post, ids0), _exact_log_p(post, ids1)],
                               atol=0.03)
    assert res.per_token == pytest.approx(res.total / 8)


def test_heldout_bad_input(post):
    with pytest.raises(ValueError, match="particles"):
        pt.evaluation.heldout_loglik(post, post.corpus, particles=0)
    with pytest.raises(ValueError, match="vocabulary"):
        pt.evaluation.heldout_loglik(post, pt.Corpus.from_tokens([["zzz"]]))
    res = pt.evaluation.heldout_loglik(post, pt.Corpus.from_tokens([["w0001", "zzz"]]),
                                       particles=2)
    assert res.unknown_tokens == 1 and res.num_tokens == 1
