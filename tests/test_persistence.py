"""Saving never loses a user's file; damaged bundles and checkpoints raise one clear error."""

from __future__ import annotations

import json
import os
import stat
import zipfile

import numpy as np
import pytest

import ppltopics as pt
from ppltopics.cli import main
from ppltopics.models.lda import LDAHyper, simulate
from ppltopics.persistence import (
    BundleError,
    load_bundle,
    load_checkpoint,
    previous_checkpoint,
    save_bundle,
    save_checkpoint,
)

FIT = dict(num_topics=3, num_chains=1, num_samples=4, warmup=4, progress=False)


@pytest.fixture(scope="module")
def sim():
    return simulate(30, 20, 40, LDAHyper(num_topics=3, alpha=0.2, beta=0.05), seed=0)


@pytest.fixture(scope="module")
def post(sim):
    return pt.fit("lda", sim.corpus, seed=0, **FIT)


def _entries(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _same_posterior(a, b) -> None:
    for g, vars_ in a.groups.items():
        for k, v in vars_.items():
            np.testing.assert_array_equal(v, b.groups[g][k], err_msg=f"{g}.{k}")
    for k, v in a.estimates.items():
        np.testing.assert_array_equal(v, b.estimates[k], err_msg=k)


# --------------------------------------------------------------------------- saving
def test_an_existing_bundle_is_replaced_and_nothing_is_left_behind(post, tmp_path):
    target = tmp_path / "run"
    save_bundle(target, "thing", {"x": np.arange(3)})
    post.save(target)
    _same_posterior(post, pt.load(target))
    post.save(target)  # again: a posterior over a posterior
    assert _entries(tmp_path) == ["run"]
    assert _entries(target) == ["arrays.npz", "manifest.json"]


def test_a_folder_with_the_users_files_is_never_replaced(post, tmp_path):
    target = tmp_path / "myproject"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="notes.txt") as e:
            post.save(target, overwrite=overwrite)
        assert str(target) in str(e.value)
    assert _entries(target) == ["notes.txt"] and (target / "notes.txt").read_text() == "mine"
    # a bundle that also holds a file of the user's is refused as well
    bundle = tmp_path / "bundle"
    post.save(bundle)
    (bundle / "mine.csv").write_text("1,2")
    with pytest.raises(FileExistsError, match="mine.csv"):
        post.save(bundle, overwrite=True)
    assert (bundle / "mine.csv").read_text() == "1,2"
    assert _entries(tmp_path) == ["bundle", "myproject"]


def test_a_regular_file_needs_overwrite(post, tmp_path):
    target = tmp_path / "out"
    target.write_text("precious")
    with pytest.raises(FileExistsError, match="overwrite=True") as e:
        post.save(target)
    assert str(target) in str(e.value) and target.read_text() == "precious"
    post.save(target, overwrite=True)
    _same_posterior(post, pt.load(target))
    assert _entries(tmp_path) == ["out"]  # no hidden .out.old-PID


def test_an_empty_folder_is_used_and_a_damaged_bundle_needs_overwrite(post, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    post.save(empty)
    assert (empty / "manifest.json").is_file()
    (empty / "manifest.json").write_text("{not json")
    with pytest.raises(FileExistsError, match="damaged"):
        post.save(empty)
    post.save(empty, overwrite=True)
    _same_posterior(post, pt.load(empty))


def test_files_and_folders_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        target = save_bundle(tmp_path / "sub" / "b", "thing", {"x": np.arange(2)},
                             extra_files={"w.safetensors": b"x"})
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)
    assert mode(target) == 0o750 and mode(target.parent) == 0o750
    for name in ("arrays.npz", "manifest.json", "w.safetensors"):
        assert mode(target / name) == 0o640, name


def test_cli_refuses_before_fitting_in_one_line(sim, tmp_path, capsys):
    corpus = tmp_path / "corpus"
    sim.corpus.save(corpus)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    args = ["fit", "lda", "--corpus", str(corpus), "--topics", "3", "--chains", "1",
            "--samples", "2", "--warmup", "2", "--no-progress", "--out", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith("corpus:")  # the corpus line, then the error
    assert "notes.txt" in err[1] and "Traceback" not in err[1]
    (out / "notes.txt").unlink()
    out.rmdir()
    out.write_text("a file")
    assert main(args) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    capsys.readouterr()
    # a re-fit replaces the posterior and what diagnose/evaluate wrote about it
    (out / "summary.csv").write_text("old")
    assert main(args) == 0
    assert not (out / "summary.csv").exists()
    capsys.readouterr()
    # a damaged bundle: one line naming the bundle, the file and the problem
    (out / "arrays.npz").write_bytes(b"")
    assert main(["topics", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(out) in err[0] and "arrays.npz: damaged" in err[0]


# --------------------------------------------------------------------------- loading
def _damage_cases():
    def truncate(b):
        data = (b / "arrays.npz").read_bytes()
        (b / "arrays.npz").write_bytes(data[: len(data) // 2])

    def flip_byte(b):  # inside the stored data of the first array: the zip CRC catches it
        data = bytearray((b / "arrays.npz").read_bytes())
        with zipfile.ZipFile(b / "arrays.npz") as z:
            info = z.infolist()[0]
        h = info.header_offset
        start = h + 30 + int.from_bytes(data[h + 26:h + 28], "little") \
            + int.from_bytes(data[h + 28:h + 30], "little")
        data[start + info.compress_size // 2] ^= 0xFF
        (b / "arrays.npz").write_bytes(bytes(data))

    def edit_manifest(fn):
        def go(b):
            m = json.loads((b / "manifest.json").read_text())
            fn(m)
            (b / "manifest.json").write_text(json.dumps(m))
        return go

    def rename_array(m):
        m["arrays"]["y"] = m["arrays"].pop("x")

    def shape(m):
        m["arrays"]["x"]["shape"] = [7, 1]

    def dtype(m):
        m["arrays"]["x"]["dtype"] = "<f4"

    def replace_npz(b):
        np.savez(b / "arrays.npz", x=np.arange(6.0).reshape(2, 3), z=np.zeros(2))

    return {
        "truncated arrays.npz": (truncate, "arrays.npz", "truncated"),
        "empty arrays.npz": (lambda b: (b / "arrays.npz").write_bytes(b""), "arrays.npz",
                             "truncated"),
        "flipped byte in arrays.npz": (flip_byte, "arrays.npz", "damaged"),
        "missing arrays.npz": (lambda b: (b / "arrays.npz").unlink(), "arrays.npz", "missing"),
        "missing manifest": (lambda b: (b / "manifest.json").unlink(), "manifest.json",
                             "not a ppltopics bundle"),
        "bad JSON": (lambda b: (b / "manifest.json").write_text('{"format": "ppl'),
                     "manifest.json", "not valid JSON"),
        "manifest not an object": (lambda b: (b / "manifest.json").write_text("[1]"),
                                   "manifest.json", "not a JSON object"),
        "manifest without arrays": (edit_manifest(lambda m: m.pop("arrays")), "manifest.json",
                                    "'arrays' missing"),
        "array names differ": (edit_manifest(rename_array), "arrays.npz", "does not match"),
        "shapes differ": (edit_manifest(shape), "arrays.npz", "shape"),
        "dtypes differ": (edit_manifest(dtype), "arrays.npz", "dtype"),
        "arrays.npz of another bundle": (replace_npz, "arrays.npz", "does not match"),
        "extra file missing": (lambda b: (b / "w.safetensors").unlink(), "w.safetensors",
                               "missing"),
        "extra file changed": (lambda b: (b / "w.safetensors").write_bytes(b"tampered"),
                               "w.safetensors", "checksum"),
    }


@pytest.mark.parametrize("case", sorted(_damage_cases()))
def test_a_damaged_bundle_raises_one_value_error_naming_bundle_file_and_problem(tmp_path, case):
    damage, file, problem = _damage_cases()[case]
    b = save_bundle(tmp_path / "b", "thing", {"x": np.arange(6.0).reshape(2, 3)},
                    {"a": 1}, extra_files={"w.safetensors": b"weights"}, compress=True)
    damage(b)
    with pytest.raises(ValueError) as e:
        load_bundle(b)
    assert isinstance(e.value, BundleError)
    msg = str(e.value)
    assert str(b) in msg and file in msg and problem in msg, msg


def test_a_damaged_posterior_names_its_bundle(post, tmp_path):
    b = post.save(tmp_path / "p")
    m = json.loads((b / "manifest.json").read_text())
    del m["meta"]["corpus"]
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ValueError, match=f"{b}.*KeyError"):
        pt.load(b)
    with pytest.raises(ValueError, match="does not exist"):
        pt.load(tmp_path / "nowhere")


def test_topclus_weights_that_do_not_fit_the_network(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save as st_save

    from ppltopics.inference.topclus import TopClusConfig, TopClusNet
    from ppltopics.posteriors.topclus import TopClusPosterior

    corpus = pt.Corpus.from_tokens([["a", "b"], ["b", "c"]])
    cfg = TopClusConfig(num_topics=2, embed_dim=4, latent_dim=3, enc_hidden=(5,),
                        dec_hidden=(5,))
    settings = dict(num_topics=2, embed_dim=4, latent_dim=3, enc_hidden=[5], dec_hidden=[5],
                    kappa=cfg.kappa, lam=cfg.lam, epochs=1, pretrain_epochs=0, batch_size=2,
                    lr=cfg.lr)
    post = TopClusPosterior(corpus, {"posterior": {}, "sample_stats": {}, "log_likelihood": {}},
                            {}, {"theta": np.full((2, 2), 0.5)}, settings)
    post.set_network(TopClusNet(cfg, torch.Generator().manual_seed(0)))
    b = post.save(tmp_path / "tc")
    assert pt.load(b).network is not None
    # weights of a wider network, with a checksum that matches them
    other = TopClusNet(TopClusConfig(num_topics=2, embed_dim=4, latent_dim=7,
                                     enc_hidden=(5,), dec_hidden=(5,)))
    blob = st_save({k: v.contiguous() for k, v in other.state_dict().items()})
    (b / "network.safetensors").write_bytes(blob)
    m = json.loads((b / "manifest.json").read_text())
    import hashlib

    m["sha256"]["network.safetensors"] = hashlib.sha256(blob).hexdigest()
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ValueError, match=f"{b}: network.safetensors: RuntimeError"):
        pt.load(b)
    (b / "network.safetensors").write_bytes(blob[:50])
    with pytest.raises(ValueError, match="network.safetensors: damaged"):
        pt.load(b)


# --------------------------------------------------------------------------- checkpoints
def test_checkpoints_keep_the_previous_one_and_fall_back_to_it(tmp_path):
    ck = tmp_path / "chain-0"
    fp = {"run": 1}
    for it in (1, 2, 3):
        save_checkpoint(ck, "checkpoint", {"x": np.full(3, it)}, {"fingerprint": fp,
                                                                   "iteration": it})
    prev = previous_checkpoint(ck)
    assert _entries(tmp_path) == ["chain-0", "chain-0.previous"]
    arrays, meta, _ = load_checkpoint(ck, "checkpoint", fp)
    assert meta["iteration"] == 3
    (ck / "arrays.npz").write_bytes(b"PK")
    with pytest.warns(RuntimeWarning, match=r"arrays.npz.*previous checkpoint.*iteration 2"):
        arrays, meta, _ = load_checkpoint(ck, "checkpoint", fp)
    assert meta["iteration"] == 2 and arrays["x"].tolist() == [2, 2, 2]
    assert not ck.exists()  # the damaged one is gone, the good one stays the previous one
    save_checkpoint(ck, "checkpoint", {"x": np.full(3, 4)}, {"fingerprint": fp,
                                                              "iteration": 4})
    assert load_bundle(prev)[1]["iteration"] == 2
    with pytest.raises(ValueError, match="different run"):
        load_checkpoint(ck, "checkpoint", {"run": 2})
    (ck / "manifest.json").write_text("")
    (prev / "arrays.npz").unlink()
    with pytest.raises(BundleError, match="no readable checkpoint"):
        load_checkpoint(ck, "checkpoint", fp)
    assert load_checkpoint(tmp_path / "chain-9", "checkpoint", fp) is None


def test_checkpoint_folders_follow_the_same_rule(sim, tmp_path):
    ckpt = tmp_path / "ck"
    ckpt.mkdir()
    (ckpt / "chain-0").write_text("my file")
    with pytest.raises(FileExistsError, match="chain-0"):
        pt.fit("lda", sim.corpus, checkpoint_dir=ckpt, checkpoint_every=2, **FIT)
    assert (ckpt / "chain-0").read_text() == "my file"


def test_a_run_resumes_from_the_previous_checkpoint_when_the_latest_is_damaged(sim, tmp_path):
    ref = pt.fit("lda", sim.corpus, seed=2, **FIT)
    ckpt = tmp_path / "ck"

    def stop(state, it):
        if it == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pt.fit("lda", sim.corpus, seed=2, checkpoint_dir=ckpt, checkpoint_every=2,
               callback=stop, **FIT)
    (ckpt / "chain-0" / "arrays.npz").write_bytes(b"")
    seen: list[int] = []
    with pytest.warns(RuntimeWarning, match="previous checkpoint"):
        resumed = pt.fit("lda", sim.corpus, seed=2, checkpoint_dir=ckpt, checkpoint_every=2,
                         callback=lambda s, it: seen.append(it), **FIT)
    assert seen[0] == 6  # from the checkpoint at 6 sweeps, not the damaged one at 7
    _same_draws(ref, resumed)


def _same_draws(a, b) -> None:
    """Same draws and estimates (timings aside)."""
    for g, vars_ in a.groups.items():
        for k, v in vars_.items():
            if k not in ("tokens_per_s", "wall_time", "seconds"):
                np.testing.assert_array_equal(v, b.groups[g][k], err_msg=f"{g}.{k}")
    for k, v in a.estimates.items():
        np.testing.assert_array_equal(v, b.estimates[k], err_msg=k)
