"""pt.fit("lda"): chains, determinism, checkpoint/resume, Posterior API, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.models.lda import LDAHyper, simulate

FIT = dict(num_topics=4, num_chains=2, num_samples=10, warmup=15, progress=False)


@pytest.fixture(scope="module")
def sim():
    return simulate(60, 30, 80, LDAHyper(num_topics=4, alpha=0.2, beta=0.05), seed=3)


@pytest.fixture(scope="module")
def post(sim):
    return pt.fit("lda", sim.corpus, seed=1, **FIT)


def _same(a, b) -> None:
    for g in ("posterior", "sample_stats", "log_likelihood"):
        for k, v in a.groups[g].items():
            if k in ("tokens_per_s", "wall_time"):
                continue
            np.testing.assert_array_equal(v, b.groups[g][k], err_msg=f"{g}.{k}")
    for k, v in a.estimates.items():
        np.testing.assert_array_equal(v, b.estimates[k], err_msg=k)


def test_same_seed_same_chains_whatever_the_executor(sim, post):
    again = pt.fit("lda", sim.corpus, seed=1, executor="serial", **FIT)
    _same(post, again)
    other = pt.fit("lda", sim.corpus, seed=2, **FIT)
    assert not np.array_equal(other.groups["sample_stats"]["lp"], post.groups["sample_stats"]["lp"])
    # chains of one run differ from each other
    lp = post.groups["sample_stats"]["lp"]
    assert not np.array_equal(lp[0], lp[1])


@pytest.mark.parametrize("executor", ["serial", "thread"])
def test_interrupted_run_resumes_to_the_uninterrupted_result(sim, post, tmp_path, executor):
    ckpt = tmp_path / "ckpt"

    def kill(state, iteration):
        if iteration == 17:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pt.fit("lda", sim.corpus, seed=1, checkpoint_dir=ckpt, checkpoint_every=5,
               callback=kill, executor=executor, **FIT)
    assert (ckpt / "chain-0" / "manifest.json").is_file()
    seen = []
    resumed = pt.fit("lda", sim.corpus, seed=1, checkpoint_dir=ckpt, checkpoint_every=5,
                     callback=lambda s, it: seen.append(it), executor="serial", **FIT)
    assert seen[0] == 18  # sweep 17 finished before the callback raised: resume after it
    _same(post, resumed)
    # a different run must not silently reuse these checkpoints
    with pytest.raises(ValueError, match="different run"):
        pt.fit("lda", sim.corpus, seed=5, checkpoint_dir=ckpt, **FIT)


def test_callback_may_hold_unpicklable_state(sim):
    import threading

    class Watcher:
        def __init__(self):
            self.lock = threading.Lock()
            self.seen = 0

        def __call__(self, state, iteration):
            with self.lock:
                self.seen += 1

    w = Watcher()
    pt.fit("lda", sim.corpus, seed=1, callback=w, **FIT)
    assert w.seen == 2 * (10 + 15)


def test_posterior_contents_and_datatree(sim, post):
    ss = post.groups["sample_stats"]
    assert set(ss) >= {"lp", "log_likelihood", "tokens_per_s", "num_occupied"}
    assert ss["lp"].shape == (2, 10) and np.all(ss["lp"] < ss["log_likelihood"])
    assert np.all(ss["tokens_per_s"] > 0)
    dt = post.to_datatree()
    assert {"posterior", "sample_stats", "log_likelihood"} <= set(dt.children)
    assert dt["log_likelihood"]["w"].shape == (2, 10, sim.corpus.num_docs)
    share = dt["posterior"]["topic_share"].values
    np.testing.assert_allclose(share.sum(-1), 1.0)
    theta = post.doc_topics()
    assert theta.shape == (sim.corpus.num_docs, 4)
    np.testing.assert_allclose(theta.sum(1), 1.0)
    np.testing.assert_allclose(post.phi.sum(1), 1.0)
    assert len(post.top_words(5)) == 4 and all(len(t) == 5 for t in post.top_words(5))


def test_chains_are_relabelled_onto_chain_zero(sim):
    p = pt.fit("lda", sim.corpus, seed=4, num_topics=4, num_chains=2, num_samples=20,
               warmup=150, progress=False)
    perms = p.settings["relabel_permutations"]
    assert perms[0] == [0, 1, 2, 3]
    share = p.groups["posterior"]["topic_share"].mean(axis=1)  # (chain, topic)
    np.testing.assert_allclose(share[0], share[1], atol=0.05)


def test_save_load_roundtrip(post, tmp_path):
    post.save(tmp_path / "p")
    back = pt.load(tmp_path / "p")
    assert type(back) is type(post)
    _same(post, back)
    assert back.corpus.vocab == post.corpus.vocab
    assert back.top_words(3) == post.top_words(3)
    assert not any(p.name.endswith(".pkl") for p in (tmp_path / "p").iterdir())


def test_transform_matches_training_estimates(sim):
    p = pt.fit("lda", sim.corpus, seed=0, num_topics=4, num_chains=1, num_samples=30,
               warmup=150, progress=False)
    theta_new = p.transform(sim.corpus, num_sweeps=60, burn_in=20, seed=0)
    assert theta_new.shape == (sim.corpus.num_docs, 4)
    r = np.corrcoef(theta_new.ravel(), p.doc_topics().ravel())[0, 1]
    assert r > 0.9


def test_transform_unknown_words(post, caplog):
    new = pt.Corpus.from_tokens([["w0001", "zzz"], ["qqq", "rrr"]])
    theta = post.transform(new, num_sweeps=20, burn_in=5)
    np.testing.assert_allclose(theta[1], post.alpha / post.alpha.sum())
    assert "no known word" in caplog.text
    with pytest.raises(ValueError, match="vocabulary"):
        post.transform(pt.Corpus.from_tokens([["qqq"]]))


def test_alpha_optimisation_moves_alpha_in_warmup_only(sim):
    p = pt.fit("lda", sim.corpus, seed=0, num_topics=4, num_chains=1, num_samples=5,
               warmup=40, progress=False, optimize_alpha=True, alpha=1.0,
               optimize_interval=10)
    drawn = p.groups["posterior"]["alpha"][0]
    assert np.all(drawn == drawn[0])  # frozen after warm-up
    assert not np.allclose(drawn[0], 1.0)  # but moved from its start during warm-up


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(num_topics=0), "num_topics"),
        (dict(num_topics=10**6), "larger than the data"),
        (dict(alpha=0.0), "alpha"),
        (dict(alpha=-1.0), "alpha"),
        (dict(beta=0.0), "beta"),
        (dict(num_samples=0), "num_samples"),
        (dict(num_chains=0), "num_chains"),
        (dict(warmup=-1), "warmup"),
        (dict(thin=0), "thin"),
    ],
)
def test_bad_arguments(sim, kwargs, match):
    args = {**FIT, **kwargs}
    with pytest.raises(ValueError, match=match):
        pt.fit("lda", sim.corpus, **args)


def test_bad_model_and_corpus(sim):
    with pytest.raises(ValueError, match="at least 2 documents"):
        pt.fit("lda", sim.corpus.subset([0]), **FIT)
    with pytest.raises(ValueError, match="unknown model"):
        pt.fit("nope", sim.corpus, **FIT)
    with pytest.raises(TypeError, match="Corpus"):
        pt.fit("lda", [["a", "b"]], **FIT)
    with pytest.raises(TypeError, match="vectors"):
        pt.fit("lda", sim.corpus, vectors=np.zeros((3, 2)), **FIT)


def test_every_model_has_a_fitter_and_available_models_follows_optional_dependencies(
    monkeypatch,
):
    import importlib.util

    from ppltopics import api

    assert sorted(api.MODELS) == ["cgtm", "ghlda", "glda", "hlda", "lda", "topclus"]
    for name in api.MODELS:
        assert callable(api._fitter(name))
    have_plm = importlib.util.find_spec("transformers") is not None
    assert ("topclus" in api.available_models()) == have_plm
    monkeypatch.setitem(api.OPTIONAL_DEPENDENCIES, "glda", ("no_such_package_ppltopics",))
    assert "glda" not in api.available_models()
    assert "lda" in api.available_models()


def test_diagnostics_summary_and_trace(post, tmp_path):
    table = pt.diagnostics.summary(post)
    assert {"r_hat", "ess_bulk", "ess_tail", "mcse_mean"} <= set(table.columns)
    assert "lp" in table.index and "log_likelihood" in table.index
    png = tmp_path / "trace.png"
    fig = pt.diagnostics.plot_trace(post, png)
    assert fig.axes and png.stat().st_size > 5000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_relabel_recovers_a_known_permutation():
    rng = np.random.default_rng(0)
    phi = rng.dirichlet(np.full(50, 0.1), size=6)
    perm = rng.permutation(6)
    for cost in ("js", "cosine"):
        found = pt.diagnostics.relabel([phi, phi[perm]], cost=cost)[1]
        np.testing.assert_array_equal(phi[perm][found], phi)
