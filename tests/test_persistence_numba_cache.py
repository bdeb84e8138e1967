"""On-disk numba caches recompile a kernel when a helper it inlines from another module
changes (numba alone keys the cache on the kernel's own file only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

HELPER = """
import numba

@numba.njit(cache=True, inline="always")
def bump(x):
    return x + {step}
"""

KERNEL = """
import numba

from stalepkg.helper import bump

@numba.njit(cache=True)
def kernel(x):
    return bump(x) * 10
"""

CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ppltopics import _numba_cache
if sys.argv[2] == "watch":
    _numba_cache.watch("stalepkg")
from stalepkg.kernel import kernel
value = kernel(1)
print(json.dumps({{"value": int(value), "hits": sum(kernel.stats.cache_hits.values())}}))
"""


def _package(root: Path, step: int) -> None:
    pkg = root / "stalepkg"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text(textwrap.dedent(HELPER.format(step=step)))
    (pkg / "kernel.py").write_text(textwrap.dedent(KERNEL))


def _run(root: Path, mode: str, env: dict[str, str]) -> dict[str, int]:
    proc = subprocess.run([sys.executable, "-c", CHILD.format(), str(root), mode],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_an_edited_inlined_helper_recompiles_its_caller(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    for mode, root in (("watch", tmp_path / "watched"), ("plain", tmp_path / "plain")):
        _package(root, step=1)
        first = _run(root, mode, env)
        assert first == {"value": 20, "hits": 0}
        assert _run(root, mode, env) == {"value": 20, "hits": 1}  # the cache is used
        _package(root, step=2)  # the kernel's own file is unchanged
        edited = _run(root, mode, env)
        if mode == "watch":
            assert edited == {"value": 30, "hits": 0}  # recompiled
            assert _run(root, mode, env) == {"value": 30, "hits": 1}
        else:  # numba's own stamp: the stale machine code runs (why the locators exist)
            assert edited == {"value": 20, "hits": 1}


def test_numba_cache_dir_is_honoured(tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    root = tmp_path / "src"
    _package(root, step=1)
    assert _run(root, "watch", env)["value"] == 20
    assert not (root / "stalepkg" / "__pycache__").exists() or not any(
        p.suffix in (".nbi", ".nbc") for p in (root / "stalepkg" / "__pycache__").iterdir())
    assert any(p.suffix == ".nbi" for p in cache.rglob("*"))
    _package(root, step=3)
    assert _run(root, "watch", env) == {"value": 40, "hits": 0}


def test_ppltopics_kernels_use_the_dependency_stamped_locator():
    from numba.core import caching

    from ppltopics import _numba_cache
    from ppltopics.inference import glda

    impl = caching.CacheImpl._locator_classes
    assert impl[:3] == _numba_cache._OURS
    stamp = _numba_cache.dependency_stamp("ppltopics.inference.glda")
    assert stamp == _numba_cache.dependency_stamp(glda.__name__) and len(stamp) == 64
