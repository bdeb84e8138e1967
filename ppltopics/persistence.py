"""Versioned, pickle-free storage: a folder with ``manifest.json`` + ``arrays.npz``.

Layout of a bundle folder::

    manifest.json   {"format": "ppltopics", "version": 1, "kind": ..., "meta": {...},
                     "arrays": {name: {"shape": [...], "dtype": "..."}}}
    arrays.npz      numpy arrays (numeric or fixed-width unicode), read with allow_pickle=False
    *.safetensors   optional extra tensors (e.g. TopClus network weights)

Writes are atomic: everything goes to a temporary sibling folder that is renamed into place
only when complete, so an interrupted save never leaves a half-written bundle.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FORMAT", "VERSION", "save_bundle", "load_bundle", "read_manifest"]

FORMAT = "ppltopics"
VERSION = 1


def _check_array(name: str, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == object:
        raise TypeError(f"array {name!r} has dtype object; store strings as fixed-width unicode")
    return a


def save_bundle(
    path: str | os.PathLike[str],
    kind: str,
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    compress: bool = False,
) -> Path:
    """Write ``arrays`` and JSON ``meta`` to the folder ``path`` atomically (replacing it)."""
    path = Path(path)
    arrays = {k: _check_array(k, v) for k, v in arrays.items()}
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "meta": dict(meta or {}),
        "arrays": {k: {"shape": list(v.shape), "dtype": v.dtype.str} for k, v in arrays.items()},
        "files": sorted(extra_files or {}),
    }
    text = json.dumps(manifest, indent=1, allow_nan=True)  # fail before touching the disk
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        with open(tmp / "arrays.npz", "wb") as f:
            (np.savez_compressed if compress else np.savez)(f, **arrays)
        for name, blob in (extra_files or {}).items():
            if "/" in name or name in ("manifest.json", "arrays.npz"):
                raise ValueError(f"invalid extra file name {name!r}")
            (tmp / name).write_bytes(blob)
        (tmp / "manifest.json").write_text(text)
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a bundle's manifest (format name and version)."""
    mpath = Path(path) / "manifest.json"
    if not mpath.is_file():
        raise ValueError(f"{path} is not a ppltopics bundle (no manifest.json)")
    manifest = json.loads(mpath.read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown format {manifest.get('format')!r}")
    if int(manifest.get("version", -1)) > VERSION:
        raise ValueError(
            f"{path}: bundle version {manifest['version']} is newer than this ppltopics "
            f"reads ({VERSION}); upgrade ppltopics"
        )
    return manifest


def load_bundle(
    path: str | os.PathLike[str], kind: str | None = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Load ``(arrays, meta)`` from a bundle folder; check ``kind`` when given."""
    manifest = read_manifest(path)
    if kind is not None and manifest["kind"] != kind:
        raise ValueError(f"{path} holds a {manifest['kind']!r}, expected {kind!r}")
    with np.load(Path(path) / "arrays.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = dict(manifest["meta"])
    meta["_kind"] = manifest["kind"]
    meta["_files"] = manifest.get("files", [])
    return arrays, meta
