"""Fault injection: processes killed with SIGKILL while saving, while writing checkpoints and
while fitting; a full disk.  After every fault the previous bundle (or checkpoint) loads intact,
no temporary folder is left behind, and a resumed fit gives exactly the uninterrupted draws.

Kills are injected into a forked child (so nothing is recompiled): either at the k-th file-
system step of a save (every step is tried: before and after each write, fsync, rename, swap,
file removal, and in the middle of writing ``arrays.npz``), or at a seeded random time during a
fit.  The slow variant kills freshly started interpreters at random times.  Run with ``-s`` to
see the table of outcomes.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import ppltopics as pt
from ppltopics import persistence
from ppltopics.models.lda import LDAHyper, simulate

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

FIT = dict(num_topics=3, num_chains=2, num_samples=5, warmup=6, progress=False,
           executor="serial")
CKPT_EVERY = 2
TABLE: dict[str, Counter] = {}


@pytest.fixture(scope="module")
def sim():
    return simulate(30, 20, 40, LDAHyper(num_topics=3, alpha=0.2, beta=0.05), seed=0)


@pytest.fixture(scope="module")
def reference(sim):
    return pt.fit("lda", sim.corpus, seed=7, **FIT)


@pytest.fixture(scope="module", autouse=True)
def _print_table():
    yield
    if TABLE:
        print("\nfault | runs | outcomes (nothing lost in any)")
        for fault, outcomes in TABLE.items():
            print(f"{fault} | {sum(outcomes.values())} | {dict(outcomes)}")


# --------------------------------------------------------------------------- machinery
class _Killed(Exception):
    pass


def _install_killer(kill_at: int, npz_kill_bytes: int | None = None) -> None:
    """In the child: SIGKILL this process at the ``kill_at``-th file-system step (before or
    after each write, fsync, rename, swap, removal), or after ``npz_kill_bytes`` bytes of
    ``arrays.npz`` were written."""
    count = [0]

    def step() -> None:
        count[0] += 1
        if count[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def wrap(owner, name):
        real = getattr(owner, name)

        def wrapped(*args, **kwargs):
            step()
            out = real(*args, **kwargs)
            step()
            return out

        setattr(owner, name, wrapped)

    for name in ("_write_npz", "_write_file", "_fsync_dir", "_exchange", "_remove",
                 "_discard", "_make_tmp_dir"):
        wrap(persistence, name)
    for name in ("rename", "unlink", "rmdir"):  # unlink/rmdir: kills half-way through rmtree
        wrap(os, name)
    wrap(shutil, "rmtree")
    if npz_kill_bytes is not None:
        class Dying:
            def __init__(self, f):
                self._f, self._n = f, 0

            def write(self, b):
                if self._n + len(b) >= npz_kill_bytes:
                    self._f.write(bytes(b)[: max(0, npz_kill_bytes - self._n)])
                    self._f.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
                self._n += len(b)
                return self._f.write(b)

            def __getattr__(self, name):
                return getattr(self._f, name)

        def dying_npz(path, arrays, compress):
            with open(path, "wb") as f:
                (np.savez_compressed if compress else np.savez)(Dying(f), **arrays)

        persistence._write_npz = dying_npz


def _in_child(fn, *, kill_at: int = 0, npz_kill_bytes: int | None = None,
              no_exchange: bool = False) -> str:
    """Run ``fn`` in a forked child; ``"killed"`` or ``"finished"``."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 0
        try:
            if no_exchange:
                persistence._exchange = lambda a, b: False
            _install_killer(kill_at, npz_kill_bytes)
            fn()
        except BaseException:
            traceback.print_exc()
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return "killed"
    assert os.WEXITSTATUS(status) == 0, "the child failed (see its traceback above)"
    return "finished"


def _same(a, b) -> None:
    for g, vars_ in a.groups.items():
        for k, v in vars_.items():
            if k not in ("tokens_per_s", "wall_time", "seconds"):
                np.testing.assert_array_equal(v, b.groups[g][k], err_msg=f"{g}.{k}")
    for k, v in a.estimates.items():
        np.testing.assert_array_equal(v, b.estimates[k], err_msg=k)


def _which(post, old, new) -> str:
    for name, cand in (("old bundle", old), ("new bundle", new)):
        try:
            _same(post, cand)
            return name
        except AssertionError:
            continue
    raise AssertionError("the bundle is neither the old nor the new one")


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- saves
@pytest.mark.parametrize("no_exchange", [False, True], ids=["swap", "move-aside"])
def test_kill_at_every_step_of_a_save(sim, reference, tmp_path, no_exchange):
    old = pt.fit("lda", sim.corpus, seed=1, **{**FIT, "num_chains": 1})
    new = reference
    target = tmp_path / "bundle"
    table = TABLE.setdefault(f"SIGKILL during Posterior.save over a bundle "
                             f"({'rename-swap' if not no_exchange else 'move-aside'})",
                             Counter())
    points: list[tuple[int, int | None]] = [(k, None) for k in range(1, 200)]
    while points:
        k, nbytes = points.pop(0)
        old.save(target)
        res = _in_child(lambda: new.save(target), kill_at=k, npz_kill_bytes=nbytes,
                        no_exchange=no_exchange)
        back = pt.load(target)  # finishes what the killed save left
        outcome = _which(back, old, new)
        assert sorted(os.listdir(tmp_path)) == ["bundle"]  # no hidden leftovers
        table[f"{res}: {outcome}"] += 1
        if res == "finished":
            assert outcome == "new bundle" and nbytes is None
            # every step was tried; now kill in the middle of writing arrays.npz
            new.save(tmp_path / "probe")
            size = (tmp_path / "probe" / "arrays.npz").stat().st_size
            shutil.rmtree(tmp_path / "probe")
            points = [(0, int(f * size)) for f in (0.0, 0.1, 0.5, 0.9, 0.99)]
    assert sum(n for key, n in table.items() if key.startswith("killed")) >= 20


def test_kill_while_saving_over_a_regular_file_with_overwrite(reference, tmp_path):
    target = tmp_path / "out"
    table = TABLE.setdefault("SIGKILL during save(overwrite=True) over a regular file",
                             Counter())
    for k in range(1, 100):
        target.write_text("old file")
        res = _in_child(lambda: reference.save(target, overwrite=True), kill_at=k)
        persistence._recover(target)  # what the next save or load of this path does
        assert _hidden(tmp_path) == []
        if target.is_file():
            assert target.read_text() == "old file"
            table[f"{res}: old file"] += 1
        else:
            _same(pt.load(target), reference)
            table[f"{res}: new bundle"] += 1
            shutil.rmtree(target)
        if res == "finished":
            break
    else:
        raise AssertionError("the save never finished")


# --------------------------------------------------------------------------- checkpoints / fits
def _check_checkpoints(ckpt: Path) -> str:
    """No checkpoint a kill left is damaged: every one there loads in full (after the clean-up
    any later save or load does); describe what is there."""
    found = []
    for c in range(FIT["num_chains"]):
        path = ckpt / f"chain-{c}"
        persistence._recover(path)
        persistence._recover(persistence.previous_checkpoint(path))
        there = []
        for cand, name in ((path, "latest"), (persistence.previous_checkpoint(path), "prev")):
            if cand.exists():
                persistence.load_bundle(cand, kind="checkpoint")  # raises if damaged
                there.append(name)
        found.append("&".join(there) or "none")
    assert not [p.name for p in ckpt.iterdir() if p.name.startswith(".")]
    return " / ".join(found)


def _resume_and_compare(sim, reference, ckpt: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a kill never damages a checkpoint: no fallback
        resumed = pt.fit("lda", sim.corpus, seed=7, checkpoint_dir=ckpt,
                         checkpoint_every=CKPT_EVERY, **FIT)
    _same(reference, resumed)


def _kill_points(n_events: int, n: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(np.arange(1, n_events + 1), size=min(n, n_events), replace=False))


def _count_events(sim, tmp_path) -> int:
    """How many file-system steps one checkpointed fit takes (counted in a child)."""
    counter = tmp_path / "events"

    def run():
        n = [0]
        for owner, name in ((persistence, "_write_npz"), (persistence, "_write_file"),
                            (persistence, "_fsync_dir"), (persistence, "_exchange"),
                            (persistence, "_remove"), (persistence, "_discard"),
                            (persistence, "_make_tmp_dir"),
                            (os, "rename"), (os, "unlink"), (os, "rmdir"),
                            (shutil, "rmtree")):
            real = getattr(owner, name)

            def wrapped(*a, _real=real, **k):
                n[0] += 2
                return _real(*a, **k)

            setattr(owner, name, wrapped)
        pt.fit("lda", sim.corpus, seed=7, checkpoint_dir=tmp_path / "count",
               checkpoint_every=CKPT_EVERY, **FIT)
        counter.write_text(str(n[0]))

    assert _in_child(run) == "finished"
    return int(counter.read_text())


@pytest.mark.parametrize("mode", ["sampled", pytest.param("all", marks=pytest.mark.slow)])
def test_kill_during_checkpoint_writes_then_resume_exactly(sim, reference, tmp_path, mode):
    n_events = _count_events(sim, tmp_path)
    points = _kill_points(n_events, 12, seed=0) if mode == "sampled" \
        else list(range(1, n_events + 1))
    table = TABLE.setdefault(f"SIGKILL during checkpoint writes of a fit ({mode})", Counter())
    for i, k in enumerate(points):
        ckpt = tmp_path / f"ck{i}"
        res = _in_child(lambda ckpt=ckpt: pt.fit(
            "lda", sim.corpus, seed=7, checkpoint_dir=ckpt, checkpoint_every=CKPT_EVERY,
            **FIT), kill_at=int(k))
        assert res == "killed"
        table[f"killed: chains' checkpoints {_check_checkpoints(ckpt)}"] += 1
        _resume_and_compare(sim, reference, ckpt)
    assert len(points) >= 12


def test_kill_at_random_times_during_a_fit_then_resume_exactly(sim, reference, tmp_path):
    t0 = time.perf_counter()
    assert _in_child(lambda: pt.fit("lda", sim.corpus, seed=7, checkpoint_dir=tmp_path / "t",
                                    checkpoint_every=CKPT_EVERY, **FIT)) == "finished"
    duration = time.perf_counter() - t0
    rng = np.random.default_rng(2024)
    table = TABLE.setdefault("SIGKILL at a random time during a checkpointed fit", Counter())
    for i in range(8):
        ckpt = tmp_path / f"ck{i}"
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                pt.fit("lda", sim.corpus, seed=7, checkpoint_dir=ckpt,
                       checkpoint_every=CKPT_EVERY, **FIT)
                code = 0
            finally:
                os._exit(code)
        time.sleep(rng.uniform(0.0, duration))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        res = "killed" if os.WIFSIGNALED(status) else "finished"
        assert res == "killed" or os.WEXITSTATUS(status) == 0
        desc = _check_checkpoints(ckpt) if ckpt.exists() else "none"
        _resume_and_compare(sim, reference, ckpt)
        table[f"{res}: checkpoints {desc}"] += 1


# --------------------------------------------------------------------------- full disk
def _enospc_after(nbytes: int):
    def write_npz(path, arrays, compress):
        with open(path, "wb") as f:
            f.write(b"\0" * nbytes)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return write_npz


def test_a_full_disk_keeps_the_previous_bundle(sim, reference, tmp_path, monkeypatch):
    old = pt.fit("lda", sim.corpus, seed=1, **{**FIT, "num_chains": 1})
    target = old.save(tmp_path / "bundle")
    table = TABLE.setdefault("disk full (ENOSPC) during a save", Counter())
    for where in ("_write_npz", "_write_file"):
        with monkeypatch.context() as m:
            if where == "_write_npz":
                m.setattr(persistence, "_write_npz", _enospc_after(100))
            else:
                def full(path, data):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

                m.setattr(persistence, "_write_file", full)
            with pytest.raises(OSError, match="No space left") as e:
                reference.save(target)
        assert e.value.errno == errno.ENOSPC
        assert str(target) in str(e.value) and "unchanged" in str(e.value)
        _same(pt.load(target), old)
        assert sorted(os.listdir(tmp_path)) == ["bundle"]
        table[f"OSError in {where}: old bundle intact, clear error"] += 1
    with monkeypatch.context() as m:  # nothing there yet
        m.setattr(persistence, "_write_npz", _enospc_after(10))
        with pytest.raises(OSError, match="nothing was written"):
            reference.save(tmp_path / "fresh")
    assert sorted(os.listdir(tmp_path)) == ["bundle"]
    table["OSError on a new path: nothing written, clear error"] += 1


def test_a_full_disk_during_a_checkpoint_then_resume_exactly(sim, reference, tmp_path,
                                                            monkeypatch):
    ckpt = tmp_path / "ck"
    real = persistence._write_npz
    calls = [0]

    def sometimes_full(path, arrays, compress):
        calls[0] += 1
        if calls[0] >= 3:
            return _enospc_after(50)(path, arrays, compress)
        return real(path, arrays, compress)

    monkeypatch.setattr(persistence, "_write_npz", sometimes_full)
    with pytest.raises(OSError, match="No space left"):
        pt.fit("lda", sim.corpus, seed=7, checkpoint_dir=ckpt, checkpoint_every=CKPT_EVERY,
               **FIT)
    monkeypatch.setattr(persistence, "_write_npz", real)
    assert _check_checkpoints(ckpt) == "latest&prev / none"
    _resume_and_compare(sim, reference, ckpt)
    TABLE.setdefault("disk full (ENOSPC) during a checkpoint write", Counter())[
        "fit stops with a clear OSError; resumed = uninterrupted draws"] += 1


# --------------------------------------------------------------------------- fresh processes
CHILD = """
import sys
import ppltopics as pt
from ppltopics.models.lda import LDAHyper, simulate
sim = simulate(400, 60, 300, LDAHyper(num_topics=8, alpha=0.2, beta=0.05), seed=0)
posts = [pt.load(sys.argv[2]), pt.load(sys.argv[4])]
print("ready", flush=True)
if sys.argv[1] == "save":  # alternate between the two posteriors
    for i in range(1000):
        posts[i % 2].save(sys.argv[3])
else:
    pt.fit("lda", sim.corpus, seed=7, num_topics=8, num_chains=2, num_samples=30, warmup=30,
           progress=False, executor="serial", checkpoint_dir=sys.argv[3], checkpoint_every=1)
"""


@pytest.mark.slow
@pytest.mark.parametrize("what", ["save", "fit"])
def test_fresh_processes_killed_at_random_times(tmp_path, what):
    """Kill freshly started interpreters at seeded random times (any instruction)."""
    sim_big = simulate(400, 60, 300, LDAHyper(num_topics=8, alpha=0.2, beta=0.05), seed=0)
    kw = dict(num_topics=8, num_chains=2, num_samples=30, warmup=30, progress=False,
              executor="serial")
    ref = pt.fit("lda", sim_big.corpus, seed=7, **kw)
    src = ref.save(tmp_path / "src")
    old = pt.fit("lda", sim_big.corpus, seed=1, **{**kw, "num_chains": 1})
    old_src = old.save(tmp_path / "old_src")
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    rng = np.random.default_rng(99)
    table = TABLE.setdefault(f"SIGKILL of a fresh process at a random time ({what})", Counter())
    for i in range(10):
        target = tmp_path / f"t{i}"
        if what == "save":
            old.save(target)
        proc = subprocess.Popen([sys.executable, str(script), what, str(src), str(target),
                                 str(old_src)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 1.5))
        proc.kill()
        res = "killed" if proc.wait() == -signal.SIGKILL else "finished"
        if what == "save":
            table[f"{res}: {_which(pt.load(target), old, ref)}"] += 1
            assert _hidden(tmp_path) == []
        else:
            resumed = pt.fit("lda", sim_big.corpus, seed=7, checkpoint_dir=target,
                             checkpoint_every=1, **kw)
            _same(ref, resumed)
            table[f"{res}: resumed = uninterrupted draws"] += 1
