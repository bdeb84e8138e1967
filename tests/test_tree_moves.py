"""Tree moves of hLDA and GhLDA (split–merge of sibling nodes, subtree regraft): exactness,
power, options.

(a) Invariance of the moves alone, levels fixed: chains start from *exact* draws of
    p(c | z, w) (every canonical path configuration of 5 documents in a depth-3 tree
    enumerated, the levels z held fixed) and take only tree moves; a χ² test of the final
    configurations against the enumerated posterior checks that the moves leave it invariant.
    hLDA (Dirichlet–multinomial nodes) and GhLDA (NIW nodes).  The move chain alone is not
    irreducible; invariance does not need that.
(b) The same with the levels re-drawn by the moves (``refresh_share=1``: two level scans
    under the proposed tree and the reverse path in the Hastings ratio; hLDA only, GhLDA's
    moves keep them) and the document moves (a path and a relabelling of one document's
    levels) after them, hLDA (4 documents, 6 tokens) and GhLDA (4 documents, 5 tokens), χ²
    of the path-configuration and of the level marginals of the enumerated joint; word blocks
    alone (hLDA: one word's tokens at two adjacent levels of a node's documents re-allocated
    sequentially).
(c) Power: the split–merge Hastings ratio omitted (all kinds of test above), the regraft
    accepted without its nCRP ratio (regrafts only, 15 moves a chain, χ² of the level-1
    "shape": sizes of the level-1 nodes with their numbers of leaves), document moves
    without the probabilities of choosing their document and word blocks without their
    proposal ratio are rejected.
(d) Options: defaults, recorded settings and per-draw counts, bad values rejected, the
    statistics after accepted moves equal a rebuild.

False-failure rate: each χ² test has level 1e-3; the defect tests assert rejection at that
level (observed p-values below 1e-4).  Seeds are fixed, so outcomes are deterministic.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import ppltopics as pt
from ppltopics import testing as T
from ppltopics.corpus import Corpus
from ppltopics.distributions import canonical_paths
from ppltopics.inference import _tree_moves as TM
from ppltopics.inference.ghlda import GhLDAKernel
from ppltopics.inference.hlda import HLDAKernel
from ppltopics.models import ghlda as G
from ppltopics.models import hlda as H
from ppltopics.models.checks import (
    enumerate_ncrp_paths,
    tree_enumerated_posterior,
    tree_state_index,
)

ALPHA_CHI2 = 1e-3
D, L = 5, 3
OFFSETS = np.arange(D + 1) * 3
WORDS = np.array([0, 1, 2, 0, 2, 0, 1, 3, 3, 2, 3, 1, 3, 0, 0], dtype=np.int32)
LEVELS = np.array([0, 1, 2, 1, 1, 2, 0, 1, 2, 1, 2, 1, 2, 1, 1], dtype=np.int32)
HHYPER = H.HLDAHyper(depth=L, gamma=1.0, gem_mean=0.5, gem_scale=2.0, eta=0.2)
VECTORS = np.random.default_rng(7).normal(size=(15, 2)) + np.repeat([[1.5, 0], [-1.5, 0],
                                                                      [0, 1.5]], 5, axis=0)
GHYPER = G.GhLDAHyper(depth=L, gamma=1.0, gem_mean=0.5, gem_scale=2.0, kappa0=0.5, nu0=4.0,
                      mu0=(0.0, 0.0), psi0=1.0, psi_ratio=(1.0, 0.6, 0.3)).resolve(dim=2)


def _hlda(**sm) -> HLDAKernel:
    corpus = Corpus(WORDS, OFFSETS, [f"w{i}" for i in range(4)])
    return HLDAKernel(corpus, depth=L, gamma=1.0, eta=0.2, gem_mean=0.5, gem_scale=2.0,
                      split_merge={"moves": 1, "refresh_share": 0.0, "doc_moves": 0,
                                   "word_moves": 0, **sm})


def _ghlda(**sm) -> GhLDAKernel:
    corpus = Corpus(np.arange(15, dtype=np.int32), OFFSETS, [f"t{i}" for i in range(15)])
    h = GHYPER
    return GhLDAKernel(corpus, VECTORS, h.mu0, h.kappa0, h.nu0, h.psi0,
                       psi_ratio=h.psi_ratio, depth=L, gamma=h.gamma, gem_mean=h.gem_mean,
                       gem_scale=h.gem_scale,
                       split_merge={"moves": 1, "refresh_share": 0.0, "doc_moves": 0, **sm})


def _paths_posterior(kernel) -> tuple[np.ndarray, np.ndarray]:
    configs = enumerate_ncrp_paths(D, L)
    if isinstance(kernel, HLDAKernel):
        logp = [H.log_joint(kernel.corpus, p, LEVELS, HHYPER) for p in configs]
    else:
        logp = [G.log_joint(VECTORS, OFFSETS, p, LEVELS, GHYPER) for p in configs]
    probs = np.exp(np.asarray(logp) - max(logp))
    return configs, probs / probs.sum()


def _shape(p: np.ndarray) -> str:
    ids, n = np.unique(p[:, 1], return_counts=True)
    return str(sorted((int(c), len(np.unique(p[p[:, 1] == x, 2])))
                      for x, c in zip(ids, n, strict=True)))


def _moves_only(kernel, chains: int, steps: int, seed: int, regraft_only: bool = False
                ) -> tuple[T.Chi2Result, T.Chi2Result]:
    """Chains from exact draws of p(c | z, w), ``steps`` move steps each; χ² of the final
    configurations and of their level-1 shapes."""
    configs, probs = _paths_posterior(kernel)
    lookup = {c.tobytes(): i for i, c in enumerate(configs)}
    rng = np.random.default_rng(seed)
    state = kernel.init_state(rng)
    cells = rng.choice(probs.size, size=chains, p=probs)
    finals = np.empty(chains, dtype=np.int64)
    accepted = 0
    ops = kernel.node_marginal()
    for c in range(chains):
        state["paths"] = configs[cells[c]].astype(np.int32)
        state["levels"] = LEVELS.copy()
        kernel.resync(state)
        for _ in range(steps):
            if regraft_only:
                lp = TM._log_joint(kernel, state, kernel._sm_defect != TM.NO_NCRP)
                out = TM._regraft(kernel, ops, state, rng, 0, kernel._sm_defect, lp)
                accepted += out is not TM._NOTHING and out is not None
            else:
                kernel.tree_moves_step(state, rng)
                accepted += int(state["sm_accepted"][0])
        finals[c] = lookup[canonical_paths(state["paths"]).astype(np.int64).tobytes()]
    full = T.chi2_gof(np.bincount(finals, minlength=probs.size), probs)
    shapes = [_shape(c) for c in configs]
    keys, inv = np.unique(shapes, return_inverse=True)
    shape = T.chi2_gof(np.bincount(inv[finals], minlength=keys.size),
                       np.bincount(inv, weights=probs))
    print(f"accepted {accepted}: {full}; shape {shape}")
    assert accepted > 0.1 * chains
    return full, shape


@pytest.mark.parametrize("make, seed", [(_hlda, 1), (_ghlda, 2)], ids=["hlda", "ghlda"])
def test_moves_leave_path_posterior_invariant(make, seed):
    """(a) Exact draws of p(c | z, w) stay exact under the moves (χ², 1e-3)."""
    full, shape = _moves_only(make(), 4_000, 3, seed)
    assert not full.rejects(ALPHA_CHI2) and not shape.rejects(ALPHA_CHI2), (full, shape)


def test_regraft_alone_leaves_path_posterior_invariant():
    """(a) Regrafts only, 15 a chain (the setting of the regraft defect test)."""
    full, shape = _moves_only(_hlda(), 4_000, 15, 11, regraft_only=True)
    assert not full.rejects(ALPHA_CHI2) and not shape.rejects(ALPHA_CHI2), (full, shape)


@pytest.mark.parametrize("make, seed", [(_hlda, 3), (_ghlda, 4)], ids=["hlda", "ghlda"])
def test_split_merge_without_hastings_is_rejected(make, seed):
    """(c) The split–merge Hastings ratio omitted: rejected."""
    kernel = make()
    kernel._sm_defect = TM.NO_HASTINGS
    full, _ = _moves_only(kernel, 4_000, 3, seed)
    assert full.rejects(ALPHA_CHI2), full


def test_regraft_without_ncrp_ratio_is_rejected():
    """(c) A regraft accepted on the likelihood alone (no nCRP ratio): rejected by the shape
    statistic (observed p ≈ 5e-5)."""
    kernel = _hlda()
    kernel._sm_defect = TM.NO_NCRP
    _, shape = _moves_only(kernel, 4_000, 15, 12, regraft_only=True)
    assert shape.rejects(ALPHA_CHI2), shape


# ----------------------------------------------------------------------------- levels too
J_OFFSETS = np.array([0, 2, 3, 5, 6])
J_WORDS = np.array([0, 1, 0, 2, 1, 2], dtype=np.int32)
#: GhLDA's toy: 4 documents, 5 tokens (2, 1, 1, 1), 2-d vectors
G_OFFSETS = np.array([0, 2, 3, 4, 5])
G_VECTORS = np.array([[1.5, 0.2], [-1.2, 0.1], [1.1, -0.3], [0.2, 1.6], [-1.4, -0.2]])
J_HHYPER = H.HLDAHyper(depth=L, gamma=1.0, gem_mean=0.5, gem_scale=2.0, eta=0.3)


@functools.cache
def _enumerated(model: str) -> tuple[np.ndarray, np.ndarray]:
    """The enumerated joint posterior over (paths, levels) of the toy model (cached: several
    tests share it, ~15 s for hLDA's 6 tokens and ~10 s for GhLDA's 5)."""
    if model == "hlda":
        corpus = Corpus(J_WORDS, J_OFFSETS, ["a", "b", "c"])
        return tree_enumerated_posterior(lambda p, z: H.log_joint(corpus, p, z, J_HHYPER),
                                         4, L, 6)
    return tree_enumerated_posterior(
        lambda p, z: G.log_joint(G_VECTORS, G_OFFSETS, p, z, GHYPER), 4, L, 5)


def _joint_kernel(model: str, defect: int, sm: dict) -> HLDAKernel | GhLDAKernel:
    """The toy model of 4 documents (hLDA: 6 tokens of 3 word types; GhLDA: 5 tokens, 2-d
    vectors)."""
    if model == "hlda":
        corpus = Corpus(J_WORDS, J_OFFSETS, ["a", "b", "c"])
        kernel = HLDAKernel(corpus, depth=L, gamma=1.0, eta=0.3, gem_mean=0.5, gem_scale=2.0,
                            split_merge=sm)
    else:
        corpus = Corpus(np.arange(5, dtype=np.int32), G_OFFSETS, [f"t{i}" for i in range(5)])
        h = GHYPER
        kernel = GhLDAKernel(corpus, G_VECTORS, h.mu0, h.kappa0, h.nu0, h.psi0,
                             psi_ratio=h.psi_ratio, depth=L, gamma=h.gamma,
                             gem_mean=h.gem_mean, gem_scale=h.gem_scale, split_merge=sm)
    kernel._sm_defect = defect
    return kernel


def _joint(defect: int, seed: int, model: str = "hlda", only: str | None = None
           ) -> tuple[T.Chi2Result, T.Chi2Result]:
    """Chains from exact draws of the enumerated joint p(c, z | w), 3 move steps each (the
    split–merge, regraft and document moves with level scans, or ``only="doc"`` / ``"word"``:
    3 document moves / 3 word blocks); χ² of the final paths and levels marginals."""
    kernel = _joint_kernel(model, defect, {"moves": 1, "refresh_share": 1.0, "level_scans": 2,
                                           "word_moves": 0})
    single = {"doc": TM._doc_move, "word": TM._word_block}.get(only)
    configs, probs = _enumerated(model)
    rng = np.random.default_rng(seed)
    state = kernel.init_state(rng)
    n = kernel.num_tokens
    chains, per = 3_000, L ** n
    cells = rng.choice(probs.size, size=chains, p=probs)
    digits = L ** np.arange(n - 1, -1, -1)
    finals = np.empty(chains, dtype=np.int64)
    accepted = 0
    ops = kernel.node_marginal()
    for c in range(chains):
        cfg, zi = divmod(int(cells[c]), per)
        state["paths"] = configs[cfg].astype(np.int32)
        state["levels"] = ((zi // digits) % L).astype(np.int32)
        kernel.resync(state)
        for _ in range(3):
            if single is not None:
                lp = TM._log_joint(kernel, state)
                out = single(kernel, ops, state, rng, 0, defect, lp)
                if out is not TM._NOTHING and out is not None:  # the tracked log joint
                    assert out == pytest.approx(TM._log_joint(kernel, state), abs=1e-9)
                accepted += out is not TM._NOTHING and out is not None
            else:
                kernel.tree_moves_step(state, rng)
                accepted += int(state["sm_accepted"][0])
        finals[c] = tree_state_index(state["paths"], state["levels"], configs)[0]
    assert accepted > 0.3 * chains
    pc = probs.reshape(-1, per)
    res = (T.chi2_gof(np.bincount(finals // per, minlength=pc.shape[0]), pc.sum(axis=1)),
           T.chi2_gof(np.bincount(finals % per, minlength=per), pc.sum(axis=0)))
    print(f"accepted {accepted}: paths {res[0]}; levels {res[1]}")
    return res


@pytest.mark.parametrize("model, seed", [("hlda", 1), ("ghlda", 5)])
def test_moves_with_level_scans_leave_joint_invariant(model, seed):
    """(b) Paths and levels moved together (split–merge and regraft with level scans —
    GhLDA's keep the levels —, then document moves): both marginals of the enumerated joint
    hold."""
    paths, levels = _joint(TM.EXACT, seed, model)
    assert not paths.rejects(ALPHA_CHI2) and not levels.rejects(ALPHA_CHI2), (paths, levels)


def test_moves_with_level_scans_without_hastings_are_rejected():
    """(c) Level scans' and split's proposal ratio omitted: rejected (observed p ≈ 1e-79)."""
    paths, _ = _joint(TM.NO_HASTINGS, 2)
    assert paths.rejects(ALPHA_CHI2), paths


def test_doc_move_without_its_choice_ratio_is_rejected():
    """(c) Document moves alone, without P(d | c') / P(d | c): rejected (observed
    p ≈ 3e-14)."""
    paths, _ = _joint(TM.NO_DOC_CHOICE, 4, only="doc")
    assert paths.rejects(ALPHA_CHI2), paths


def test_word_blocks_leave_joint_invariant():
    """(b) Word blocks alone (one word's tokens at two adjacent levels of a node's documents
    re-allocated sequentially): the levels marginal of the enumerated joint holds (the paths
    do not move; their χ² is checked too); the returned log joint equals a recomputation."""
    paths, levels = _joint(TM.EXACT, 6, only="word")
    assert not paths.rejects(ALPHA_CHI2) and not levels.rejects(ALPHA_CHI2), (paths, levels)


def test_word_blocks_without_hastings_are_rejected():
    """(c) Word blocks accepted on the joint ratio alone, without q_rev / q_fwd: rejected
    (observed p ≈ 5e-6)."""
    _, levels = _joint(TM.NO_HASTINGS, 6, only="word")
    assert levels.rejects(ALPHA_CHI2), levels


# ----------------------------------------------------------------------------- options
def test_options_records_and_statistics():
    """(d) Settings recorded, per-draw counts in sample_stats, node statistics after accepted
    moves equal a rebuild from the paths and levels, bad options rejected."""
    rng = np.random.default_rng(0)
    words = rng.integers(0, 30, size=40 * 20).astype(np.int32)
    corpus = Corpus(words, np.arange(41) * 20, [f"w{i}" for i in range(30)])
    post = pt.fit("hlda", corpus, num_chains=1, num_samples=4, warmup=4, seed=0,
                  progress=False, depth=3, gamma=1.0, eta=0.1,
                  split_merge={"moves": 3, "every": 2})
    kernel = HLDAKernel(corpus, depth=3, split_merge={"moves": 3, "every": 2})
    assert kernel.config()["split_merge"] == {
        "moves": 3, "every": 2, "refresh_share": 0.5, "level_scans": 2, "doc_moves": 2,
        "word_moves": TM.WORD_MOVES}
    assert "split_merge" not in HLDAKernel(corpus, depth=3).config()
    ss = post.groups["sample_stats"]
    proposed = ss["split_merge_proposed"][0]
    assert np.all(proposed[1::2] == 0) and np.all(proposed[0::2] > 0)  # every=2, sweeps 4..7
    for make in (lambda: HLDAKernel(corpus, depth=3, gamma=1.0, eta=0.1,
                                    split_merge={"moves": 4, "refresh_share": 0.5}),
                 lambda: _ghlda(moves=4)):
        kernel = make()
        state = kernel.init_state(rng)
        accepted = 0
        for _ in range(10):
            kernel.step(state, rng, warmup=False)
            accepted += int(state["sm_accepted"][0])
        assert accepted > 0
        lp = kernel.record(state)["lp"]
        fresh = {k: v.copy() for k, v in state.items()}
        kernel.resync(fresh)
        assert kernel.record(fresh)["lp"] == pytest.approx(lp, abs=1e-6)
        if "nzm" in state:  # hLDA's masks of non-zero counts, kept through sweeps and moves
            np.testing.assert_array_equal(state["nzm"], fresh["nzm"])
    assert TM.parse_tree_moves(True) == TM.TreeMoves()
    assert TM.parse_tree_moves(False) is None
    for bad in ({"moves": 0}, {"every": 1.5}, {"refresh_share": 2.0}, {"level_scans": 0},
                {"doc_moves": -1}, {"word_moves": -1}, {"word_moves": 1.0}, {"scans": 2},
                "yes", 3):
        with pytest.raises(ValueError, match="split_merge"):
            TM.parse_tree_moves(bad)
