"""TopClus: the Pyro story simulates, the EM kernel recovers planted vMF clusters, losses fall,
runs are deterministic and resumable, the posterior saves/loads/transforms, bad input fails.

All fits use fixed seeds and small networks on CPU, so every check is deterministic (a false
failure rate of 0 for a given platform); the thresholds leave margin to the measured values
noted beside them (which differ slightly across BLAS builds).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pyro import poutine

import ppltopics as pt
from ppltopics.diagnostics import match_topics
from ppltopics.distributions import mean_resultant_length
from ppltopics.inference import topclus as tc
from ppltopics.models.topclus import TopClusHyper, model, random_decoder, simulate

HYPER = TopClusHyper(num_topics=4, latent_dim=6, kappa=30.0, noise_scale=0.02, purity=0.9)
SMALL = dict(epochs=8, pretrain_epochs=3, latent_dim=16, enc_hidden=(64, 64),
             dec_hidden=(64, 64), batch_size=16, lr=1e-3, threads=1)


@pytest.fixture(scope="module")
def sim():
    return simulate(80, 25, HYPER, embed_dim=24, words_per_topic=10, seed=1)


@pytest.fixture(scope="module")
def post(sim):
    return pt.fit("topclus", sim.corpus, num_topics=4, num_chains=2, seed=3, progress=False,
                  embeddings=sim.embeddings, **SMALL)


# ---------------------------------------------------------------------- the story
def test_model_simulates_with_the_right_shapes_and_vmf_spread() -> None:
    dec = random_decoder(HYPER.latent_dim, 12, seed=0)
    lengths = np.array([30, 0, 50, 20])
    torch.manual_seed(0)
    with pt_param_scope():
        tr = poutine.trace(model).get_trace(lengths, HYPER, dec)
    t, z, h = tr.nodes["t"]["value"], tr.nodes["z"]["value"], tr.nodes["h"]["value"]
    k, c = tr.nodes["k"]["value"], tr.nodes["c"]["value"]
    assert t.shape == (4, 6) and z.shape == (100, 6) and h.shape == (100, 12)
    assert c.shape == (4,) and k.shape == (100,)
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(4))
    torch.testing.assert_close(z.norm(dim=-1), torch.ones(100))
    # E[z·t_k] = A_p(κ) (vMF mean resultant length); 100 draws, sd of cos ≈ 0.03/√100
    cos = (z * t[k]).sum(-1).mean().item()
    assert abs(cos - float(mean_resultant_length(6, 30.0))) < 0.02
    # observed: the log joint is finite and h is not resampled
    with pt_param_scope():
        tr2 = poutine.trace(model).get_trace(lengths, HYPER, dec, data=h)
    assert torch.equal(tr2.nodes["h"]["value"], h)
    assert torch.isfinite(tr2.log_prob_sum())


def pt_param_scope():
    import pyro

    return pyro.get_param_store().scope()


def test_simulate_is_seeded_and_aligned(sim) -> None:
    again = simulate(80, 25, HYPER, embed_dim=24, words_per_topic=10, seed=1)
    np.testing.assert_array_equal(again.embeddings, sim.embeddings)
    other = simulate(80, 25, HYPER, embed_dim=24, words_per_topic=10, seed=2)
    assert not np.array_equal(other.embeddings, sim.embeddings)
    assert sim.embeddings.shape == (sim.corpus.num_tokens, 24)
    # a token's word belongs to its topic
    np.testing.assert_array_equal(sim.corpus.word_ids // 10, sim.token_topics)
    with pytest.raises(ValueError):
        simulate(0, 25, HYPER)
    with pytest.raises(ValueError):
        TopClusHyper(num_topics=2, purity=1.5).validate()


# ---------------------------------------------------------------------- recovery
def test_em_recovers_planted_clusters(sim, post) -> None:
    theta = post.doc_topics()
    assert theta.shape == (80, 4)
    np.testing.assert_allclose(theta.sum(1), 1.0, atol=1e-6)
    # documents: NMI of argmax p(t_k|z_d) against the planted c_d (measured 1.0)
    assert pt.evaluation.nmi(theta.argmax(1), sim.doc_topics) > 0.9
    # topics: each fitted topic's top words come from one planted topic, and the planted
    # centre recovered through them matches t_k (Hungarian-matched cosine, measured > 0.99)
    top = post.top_words(5)
    owners = [{w.split("_")[0] for w in ws} for ws in top]
    assert all(len(o) == 1 for o in owners), top
    assert len({next(iter(o)) for o in owners}) == 4
    est = np.zeros((4, HYPER.latent_dim))
    vocab = post.corpus.word_index
    for k, ws in enumerate(top):
        mask = np.isin(sim.corpus.word_ids, [vocab[w] for w in ws])
        est[k] = sim.z[mask].mean(0)
    perm = match_topics(sim.t, est, cost="cosine")
    e = est[perm] / np.linalg.norm(est[perm], axis=1, keepdims=True)
    assert (e * sim.t).sum(1).min() > 0.9


def test_losses_fall_and_diagnostics_are_recorded(post) -> None:
    ss = post.groups["sample_stats"]
    for key in ("loss", "L_clus", "L_rec", "L_pre", "stability"):
        assert ss[key].shape == (2, 8) and np.isfinite(ss[key]).all()
    assert (ss["loss"][:, -1] < 0.8 * ss["loss"][:, 0]).all()  # measured ≈ 0.4×
    pre = post.estimates["pretrain_loss"]
    assert pre.shape == (2, 3) and (pre[:, -1] < pre[:, 0]).all()
    np.testing.assert_allclose(ss["stability"][0], 1.0)
    assert ((ss["stability"][1] > 0.3) & (ss["stability"][1] <= 1 + 1e-9)).all()
    dt = post.to_datatree()
    assert set(dt["sample_stats"].data_vars) >= {"loss", "L_clus", "L_rec", "L_pre"}
    assert dt["sample_stats"]["loss"].shape == (2, 8)
    assert dt["posterior"]["sorted_topic_share"].shape == (2, 8, 4)
    assert len(pt.diagnostics.summary(post)) > 0  # R-hat/ESS on the sorted topic shares
    assert post.doc_embeddings().shape == (80, 16)
    np.testing.assert_allclose(np.linalg.norm(post.doc_embeddings(), axis=1), 1.0, atol=1e-5)
    assert post.topic_embeddings("plm").shape == (4, 24)


def test_plm_space_document_embeddings(sim, post) -> None:
    """``doc_embeddings("plm")`` is h^(d)/‖h^(d)‖, h^(d) = Σ_i α_i h_i with α the softmax of
    tanh(W h_i + b)·v over the document's tokens (recomputed here by hand from the network)."""
    import torch

    hd = post.doc_embeddings("plm")
    assert hd.shape == (80, 24)
    np.testing.assert_allclose(np.linalg.norm(hd, axis=1), 1.0, atol=1e-5)
    net, off = post.network, sim.corpus.doc_offsets
    for d in (0, 41, 79):
        h = torch.as_tensor(sim.embeddings[off[d]:off[d + 1]], dtype=torch.float32)
        with torch.no_grad():
            alpha = torch.softmax(torch.tanh(net.attn(h)) @ net.attn_v, dim=0)
            ref = (alpha[:, None] * h).sum(0)
        np.testing.assert_allclose(hd[d], (ref / ref.norm()).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="space"):
        post.doc_embeddings("input")


def test_deterministic_and_resumable(sim, post, tmp_path, monkeypatch) -> None:
    kw = dict(num_topics=4, num_chains=1, seed=3, progress=False, embeddings=sim.embeddings,
              **SMALL)
    a = pt.fit("topclus", sim.corpus, **kw)
    # chain 0 of a 1-chain run is chain 0 of the 2-chain run (same SeedSequence child)
    np.testing.assert_array_equal(a.groups["sample_stats"]["loss"][0],
                                  post.groups["sample_stats"]["loss"][0])
    b = pt.fit("topclus", sim.corpus, **{**kw, "seed": 4})
    assert not np.array_equal(b.groups["sample_stats"]["loss"], a.groups["sample_stats"]["loss"])
    # interrupt after the 5th epoch (3 pretrain + 2 EM), then resume from the checkpoint
    real = tc._save_ckpt
    _interrupted_fit(monkeypatch, 5, sim.corpus, checkpoint_dir=tmp_path / "ck", **kw)
    c = pt.fit("topclus", sim.corpus, checkpoint_dir=tmp_path / "ck", **kw)
    assert c.settings["resumed_from"] == [5]
    for key in ("loss", "L_clus", "L_rec", "L_pre", "changed", "stability"):
        np.testing.assert_array_equal(c.groups["sample_stats"][key],
                                      a.groups["sample_stats"][key])
    np.testing.assert_array_equal(c.doc_topics(), a.doc_topics())
    # an interruption right after pretraining (before the K-means initialisation) resumes too
    monkeypatch.setattr(tc, "_save_ckpt", lambda *a_, **k_: (real(*a_, **k_), a_[2] == 3 and
                                                              _stop()))
    with pytest.raises(KeyboardInterrupt):
        pt.fit("topclus", sim.corpus, checkpoint_dir=tmp_path / "ck3", **kw)
    monkeypatch.setattr(tc, "_save_ckpt", real)
    d = pt.fit("topclus", sim.corpus, checkpoint_dir=tmp_path / "ck3", **kw)
    assert d.settings["resumed_from"] == [3]
    np.testing.assert_array_equal(d.doc_topics(), a.doc_topics())
    with pytest.raises(ValueError, match="different run"):
        pt.fit("topclus", sim.corpus, checkpoint_dir=tmp_path / "ck", **{**kw, "lam": 0.2})


def _stop() -> None:
    raise KeyboardInterrupt


def _interrupted_fit(monkeypatch, stop_after: int, corpus, **kw) -> None:
    """A fit interrupted (KeyboardInterrupt) right after the checkpoint of epoch
    ``stop_after`` (pre-training and EM epochs together) is written."""
    real = tc._save_ckpt

    def save_then_stop(path, fp, done, *args, **kwargs):
        real(path, fp, done, *args, **kwargs)
        if done == stop_after:
            raise KeyboardInterrupt

    monkeypatch.setattr(tc, "_save_ckpt", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        pt.fit("topclus", corpus, **kw)
    monkeypatch.setattr(tc, "_save_ckpt", real)


# ---------------------------------------------------------------------- posterior
def test_save_load_round_trip_and_transform(sim, post, tmp_path) -> None:
    th = post.transform(sim.corpus, embeddings=sim.embeddings)
    np.testing.assert_allclose(th, post.doc_topics(), atol=1e-6)  # same net, same docs
    sub = sim.corpus.subset(np.arange(7))
    emb_sub = sim.embeddings[:sub.num_tokens]
    th_sub = post.transform(sub, embeddings=emb_sub)
    assert th_sub.shape == (7, 4)
    np.testing.assert_allclose(th_sub, post.doc_topics()[:7], atol=1e-6)
    path = post.save(tmp_path / "tc")
    assert (path / "network.safetensors").is_file()
    assert not list(path.glob("*.pkl"))
    back = pt.load(path)
    assert type(back).__name__ == "TopClusPosterior"
    assert back.top_words(5) == post.top_words(5)
    np.testing.assert_array_equal(back.doc_topics(), post.doc_topics())
    np.testing.assert_allclose(back.transform(sub, embeddings=emb_sub), th_sub, atol=1e-6)
    np.testing.assert_array_equal(back.groups["sample_stats"]["loss"],
                                  post.groups["sample_stats"]["loss"])
    with pytest.raises(ValueError, match="dimension"):
        post.transform(sub, embeddings=np.zeros((sub.num_tokens, 5), np.float32))


# ---------------------------------------------------------------------- bad input
def test_bad_inputs(sim) -> None:
    kw = dict(num_chains=1, progress=False, **SMALL)
    with pytest.raises(ValueError, match="exceeds the number of documents"):
        pt.fit("topclus", sim.corpus, num_topics=81, embeddings=sim.embeddings, **kw)
    bad = sim.embeddings.copy()
    bad[5, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pt.fit("topclus", sim.corpus, num_topics=4, embeddings=bad, **kw)
    with pytest.raises(ValueError, match="num_tokens"):
        pt.fit("topclus", sim.corpus, num_topics=4, embeddings=sim.embeddings[:-1], **kw)
    with pytest.raises(ValueError, match="num_tokens"):
        pt.fit("topclus", sim.corpus, num_topics=4, embeddings=sim.embeddings[:, 0], **kw)
    with pytest.raises(TypeError, match="floating"):
        pt.fit("topclus", sim.corpus, num_topics=4,
               embeddings=sim.embeddings.astype(np.int64), **kw)
    with pytest.raises(TypeError, match="static word"):
        pt.fit("topclus", sim.corpus, vectors=object(), num_topics=4,
               embeddings=sim.embeddings, **kw)
    with pytest.raises(ValueError, match="kappa"):
        pt.fit("topclus", sim.corpus, num_topics=4, embeddings=sim.embeddings,
               **{**kw, "kappa": -1.0})
    with pytest.raises(ValueError, match="num_topics"):
        pt.fit("topclus", sim.corpus, num_topics=0, embeddings=sim.embeddings, **kw)


# ---------------------------------------------------------------------- real PLM, tiny corpus
def test_end_to_end_with_minilm(tmp_path) -> None:
    plm = pytest.importorskip("ppltopics.plm")
    try:
        plm.default_model_path()
    except Exception as e:  # pragma: no cover - depends on the environment
        pytest.skip(f"MiniLM not installed: {e}")
    texts = ["the striker scored a goal in the football match",
             "the team won the football league after the final match",
             "the bank raised interest rates and the market fell",
             "investors sold shares as the stock market and the bank fell",
             "the goalkeeper saved a penalty in the cup match",
             "the central bank cut rates to support the stock market"] * 2
    corpus = pt.Corpus.from_texts(texts, min_count=1, keep_text=True)
    post = pt.fit("topclus", corpus, num_topics=2, num_chains=1, seed=0, progress=False,
                  epochs=2, pretrain_epochs=1, latent_dim=16, enc_hidden=(64, 64),
                  dec_hidden=(64, 64), cache_dir=str(tmp_path), threads=2)
    assert post.doc_topics().shape == (12, 2)
    assert post.settings["embed_dim"] == 384
    assert len(post.top_words(3)) == 2
    th = post.transform(corpus.subset(np.arange(3)), cache_dir=str(tmp_path))
    np.testing.assert_allclose(th, post.doc_topics()[:3], atol=1e-4)


# ---------------------------------------------------------------------- schedule and options
def test_schedule_in_steps_and_the_stopping_rule(sim) -> None:
    kw = dict(num_topics=4, num_chains=1, seed=3, progress=False, embeddings=sim.embeddings,
              **{**SMALL, "epochs": 50})
    nb = tc.num_batches(sim.corpus.doc_offsets, SMALL["batch_size"])
    assert nb == 5  # 80 documents, 16 a batch
    # a step budget that ends mid-epoch: exactly that many Adam steps, epochs derived
    post = pt.fit("topclus", sim.corpus, steps=13, pretrain_steps=7, **kw)
    s = post.settings
    assert s["steps_taken"] == [13] and s["pretrain_steps_taken"] == [7]
    assert s["stopped_by"] == ["steps"] and s["steps_per_epoch"] == nb
    np.testing.assert_array_equal(post.groups["sample_stats"]["steps"][0], [5, 5, 3])
    assert post.estimates["pretrain_loss"].shape == (1, 2)
    # the stopping rule ends EM once the epoch loss falls by < tol twice in a row
    stop = pt.fit("topclus", sim.corpus, tol=0.05, **kw)
    loss = stop.groups["sample_stats"]["loss"][0]
    n = loss.size
    assert stop.settings["stopped_by"] == ["tol"] and 3 <= n < 50
    assert tc._stalled(list(loss), 0.05) and not tc._stalled(list(loss[:-1]), 0.05)
    assert not tc._stalled([3.0, 2.0, 1.0], 0.05) and not tc._stalled([1.0, 1.0, 1.0], 0.0)


def test_sharpened_target_is_eq3_for_a_batch_and_for_the_corpus() -> None:
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(50, 4, generator=g, dtype=torch.float64), 1)
    q = tc.sharpened_target(p)
    f = p ** 2 / p.sum(0)
    torch.testing.assert_close(q, f / f.sum(1, keepdim=True))
    torch.testing.assert_close(q.sum(1), torch.ones(50, dtype=torch.float64))
    # sharper than p: the largest entry of every row grows
    assert bool((q.max(1).values >= p.max(1).values - 1e-12).all())


def test_word_kmeans_finds_planted_word_groups() -> None:
    g = torch.Generator().manual_seed(1)
    centres = torch.nn.functional.normalize(torch.randn(3, 8, generator=g), dim=-1)
    word_ids = np.repeat(np.arange(30), np.arange(30) % 5 + 1)  # 30 words, uneven counts
    z = centres[torch.from_numpy(word_ids // 10)] + 0.05 * torch.randn(
        word_ids.size, 8, generator=g)
    t = tc.word_kmeans(torch.nn.functional.normalize(z, dim=-1), word_ids, 3, seed=0)
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(3))
    assert (t @ centres.T).max(0).values.min() > 0.99
    with pytest.raises(ValueError, match="word types"):
        tc.word_kmeans(z, np.zeros(word_ids.size, dtype=np.int64), 3, seed=0)


@pytest.mark.parametrize("opts", [{"target": "epoch", "init": "tokens"},
                                  {"precision": "bf16"}])
def test_the_other_options_recover_the_planted_documents(sim, opts) -> None:
    post = pt.fit("topclus", sim.corpus, num_topics=4, num_chains=1, seed=3, progress=False,
                  embeddings=sim.embeddings, **{**SMALL, **opts})
    assert all(post.settings[k] == v for k, v in opts.items())
    # measured 1.0 for both (documents are 90 % one topic)
    assert pt.evaluation.nmi(post.doc_topics().argmax(1), sim.doc_topics) > 0.9


def test_top_words_filters_short_and_rare_words(post) -> None:
    vocab = post.corpus.vocab
    long = max(len(w) for w in vocab)
    assert post.top_words(5, min_length=long + 1) == [[] for _ in range(4)]
    counts = post.estimates["word_count"]
    for ws in post.top_words(5, min_count=int(np.median(counts))):
        assert all(counts[post.corpus.word_index[w]] >= np.median(counts) for w in ws)
    with pytest.raises(ValueError, match="min_length"):
        post.top_words(5, min_length=-1)


@pytest.mark.parametrize("bad, match", [
    ({"target": "token"}, "target"), ({"init": "random"}, "init"),
    ({"precision": "fp16"}, "precision"), ({"steps": 0}, "steps"),
    ({"pretrain_steps": -1}, "pretrain_steps"), ({"tol": -0.1}, "tol"),
    ({"min_word_length": 0}, "min_word_length"), ({"steps": 2.5}, "steps")])
def test_bad_schedule_and_options(sim, bad, match) -> None:
    with pytest.raises(ValueError, match=match):
        pt.fit("topclus", sim.corpus, num_topics=4, num_chains=1, progress=False,
               embeddings=sim.embeddings, **{**SMALL, **bad})


def test_mass_readout_and_the_scaled_count_floor(sim, post) -> None:
    mass = post.estimates["topic_word_mass"]
    assert mass.shape == (4, len(post.corpus.vocab))
    # every token spreads one unit of mass over the topics: column sums are the word counts
    np.testing.assert_allclose(mass.sum(0), post.estimates["word_count"], rtol=1e-6)
    top = post.top_words(5, by="mass")
    owners = [{w.split("_")[0] for w in ws} for ws in top]
    assert all(len(o) == 1 for o in owners) and len({next(iter(o)) for o in owners}) == 4
    with pytest.raises(ValueError, match="by"):
        post.top_words(5, by="density")
    assert tc.auto_min_word_count(1000) == 6 and tc.auto_min_word_count(325_106) == 98
    fit = pt.fit("topclus", sim.corpus, num_topics=4, num_chains=1, progress=False,
                 embeddings=sim.embeddings, min_word_count="auto",
                 **{**SMALL, "epochs": 1, "pretrain_epochs": 0})
    assert fit.settings["min_word_count"] == 6
    with pytest.raises(ValueError, match="min_word_count"):
        pt.fit("topclus", sim.corpus, num_topics=4, num_chains=1, progress=False,
               embeddings=sim.embeddings, min_word_count="many", **SMALL)


def test_resume_keeps_the_schedule_and_the_stopping_rule(sim, tmp_path, monkeypatch) -> None:
    kw = dict(num_topics=4, num_chains=1, seed=5, progress=False, embeddings=sim.embeddings,
              **{**SMALL, "pretrain_epochs": 30, "epochs": 30}, tol=0.1, steps=37)
    a = pt.fit("topclus", sim.corpus, **kw)
    pre = a.settings["pretrain_steps_taken"][0]
    assert pre < 150  # the stopping rule ended pre-training early (measured 21 of 30 epochs)
    stop_at = pre // 5 + 2  # two EM epochs in
    _interrupted_fit(monkeypatch, stop_at, sim.corpus, checkpoint_dir=tmp_path / "ck", **kw)
    b = pt.fit("topclus", sim.corpus, checkpoint_dir=tmp_path / "ck", **kw)
    assert b.settings["resumed_from"] == [stop_at]
    for key in ("steps_taken", "pretrain_steps_taken", "stopped_by"):
        assert b.settings[key] == a.settings[key]
    np.testing.assert_array_equal(b.groups["sample_stats"]["loss"],
                                  a.groups["sample_stats"]["loss"])
    np.testing.assert_array_equal(b.doc_topics(), a.doc_topics())


def test_empty_documents_are_kept_and_reported(sim, caplog) -> None:
    # document 3 left empty (e.g. by corpus.restrict): built from arrays, the corpus keeps it
    off = sim.corpus.doc_offsets
    corpus = pt.Corpus(sim.corpus.word_ids, np.insert(off, 4, off[3]), sim.corpus.vocab)
    assert corpus.num_docs == 81 and np.diff(corpus.doc_offsets)[3] == 0
    with caplog.at_level("WARNING", logger="ppltopics"):
        post = pt.fit("topclus", corpus, num_topics=4, num_chains=1, progress=False,
                      embeddings=sim.embeddings, **{**SMALL, "epochs": 2})
    assert "1 of 81 documents have no kept token" in caplog.text
    np.testing.assert_allclose(post.doc_topics()[3], 0.25)
    np.testing.assert_array_equal(post.doc_embeddings()[3], 0.0)
    assert post.doc_topics().shape == (81, 4)
