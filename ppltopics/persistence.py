"""Versioned, pickle-free storage: a folder with ``manifest.json`` + ``arrays.npz``.

Layout of a bundle folder::

    manifest.json   {"format": "ppltopics", "version": 1, "kind": ..., "meta": {...},
                     "arrays": {name: {"shape": [...], "dtype": "..."}},
                     "files": [...], "sha256": {file: hex digest}}
    arrays.npz      numpy arrays (numeric or fixed-width unicode), read with allow_pickle=False
    *.safetensors   optional extra tensors (e.g. TopClus network weights)

Saving never loses a file that is not ours:

* a new bundle is written completely into a hidden sibling folder, every file and the folder
  flushed to disk (``fsync``), and only then moved into place with one ``rename``;
* an existing *bundle* (a folder whose ``manifest.json`` names this format and which holds
  nothing else) is replaced atomically: on Linux the two folders are swapped with
  ``renameat2(RENAME_EXCHANGE)``, so at every instant the path holds either the old or the new
  bundle; elsewhere the old one is moved aside first and moved back if the process dies in
  between (the next save or load of that path finishes the job);
* any other existing path - a regular file, a folder with other content - raises
  ``FileExistsError`` unless ``overwrite=True``; a folder that holds files which are not part of
  a bundle is refused even then;
* files and folders get the permissions of the user's umask;
* a failure (disk full, permission denied, a kill) leaves the previous bundle as it was and no
  temporary folder behind (a killed process's leftovers are removed by the next save or load).

Checkpoints (:func:`save_checkpoint`, :func:`load_checkpoint`) keep the last two versions, so
a checkpoint damaged after it was written still leaves the previous one to resume from.

Loading checks everything it reads and reports any damage as one :class:`BundleError` (a
``ValueError``) naming the bundle, the file and the problem.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import logging
import os
import secrets
import shutil
import sys
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "FORMAT", "VERSION", "BundleError", "save_bundle", "load_bundle", "read_manifest",
    "reading", "check_target", "DERIVED_FILES", "save_checkpoint", "load_checkpoint",
    "previous_checkpoint", "jsonable",
]

FORMAT = "ppltopics"
VERSION = 1
_MANIFEST = "manifest.json"
_ARRAYS = "arrays.npz"
#: files ``ppltopics diagnose`` / ``ppltopics evaluate`` write into a posterior bundle; they
#: describe that bundle's draws, so they go with it when the bundle is replaced
DERIVED_FILES = ("summary.csv", "trace.png", "evaluation.json", "report.html")
_TAG = ".ppltopics-"  # hidden siblings: .NAME.ppltopics-{tmp,old}-PID-RANDOM
_log = logging.getLogger("ppltopics")


def jsonable(x: Any) -> Any:
    """``x`` with numpy arrays and scalars turned into lists and Python numbers, and dict keys
    into strings, recursively: what a bundle's ``manifest.json`` can hold."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x


class BundleError(ValueError):
    """A bundle (or checkpoint) that cannot be read: names the bundle, the file and the
    problem."""

    def __init__(self, bundle: str | os.PathLike[str], file: str, problem: str) -> None:
        self.bundle, self.file, self.problem = Path(bundle), file, problem
        super().__init__(f"ppltopics bundle {bundle}: {file}: {problem}")


@contextlib.contextmanager
def reading(bundle: str | os.PathLike[str], file: str) -> Iterator[None]:
    """Turn any error raised while interpreting ``file`` of ``bundle`` into a
    :class:`BundleError` (``KeyError``, ``RuntimeError`` from ``load_state_dict`` ...)."""
    try:
        yield
    except BundleError:
        raise
    except Exception as e:  # noqa: BLE001 - every failure here means a damaged file
        raise BundleError(bundle, file, f"{type(e).__name__}: {e}") from e


# --------------------------------------------------------------------------- low level
def _check_array(name: str, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == object:
        raise TypeError(f"array {name!r} has dtype object; store strings as fixed-width unicode")
    return a


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory
        pass
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file (mode 0o666 & ~umask) and flush it to disk."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray], compress: bool) -> None:
    with open(path, "wb") as f:
        (np.savez_compressed if compress else np.savez)(f, **arrays)
        f.flush()
        os.fsync(f.fileno())


def _sibling(path: Path, what: str) -> Path:
    return path.with_name(f".{path.name}{_TAG}{what}-{os.getpid()}-{secrets.token_hex(4)}")


def _make_tmp_dir(path: Path) -> Path:
    """A new hidden sibling folder, created with mode 0o777 & ~umask (unlike mkdtemp's 0700)."""
    while True:
        tmp = _sibling(path, "tmp")
        try:
            os.mkdir(tmp)
            return tmp
        except FileExistsError:
            continue


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); ``False``
    where the system or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _discard(path: Path) -> None:
    """Remove ``path`` so that a kill half-way leaves only a hidden leftover (removed by the
    next save or load), never a half-deleted folder under the real name."""
    doomed = _sibling(path, "del")
    os.rename(path, doomed)
    _remove(doomed)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def _leftovers(path: Path) -> list[tuple[Path, str, int]]:
    """Hidden siblings ``.NAME.ppltopics-{tmp,old,del}-PID-*`` left by a process that died."""
    prefix = f".{path.name}{_TAG}"
    out = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return out
    for p in entries:
        if not p.name.startswith(prefix):
            continue
        what, _, rest = p.name[len(prefix):].partition("-")
        pid = rest.partition("-")[0]
        if what in ("tmp", "old", "del") and pid.isdigit() and int(pid) != os.getpid() \
                and not _pid_alive(int(pid)):
            out.append((p, what, int(pid)))
    return out


def _recover(path: Path) -> None:
    """Finish what a killed save left: put a moved-aside bundle back when ``path`` is gone,
    remove temporary folders and moved-aside bundles that were already replaced."""
    for p, what, _ in _leftovers(path):
        try:
            if what == "old" and not os.path.lexists(path):
                os.rename(p, path)
                _log.warning("restored %s, which an interrupted save had moved aside", path)
            else:
                _remove(p)
        except OSError:  # read-only location: leave it, loading still works from `path`
            pass


# --------------------------------------------------------------------------- what a path is
def _read_manifest_file(path: Path) -> dict[str, Any]:
    mpath = path / _MANIFEST
    if not mpath.is_file():
        if not path.exists():
            raise BundleError(path, _MANIFEST, "the bundle does not exist")
        raise BundleError(path, _MANIFEST, "missing: this folder is not a ppltopics bundle")
    try:
        manifest = json.loads(mpath.read_bytes())
    except (ValueError, UnicodeDecodeError) as e:
        raise BundleError(path, _MANIFEST, f"damaged (not valid JSON: {e})") from e
    except OSError as e:
        raise BundleError(path, _MANIFEST, f"cannot be read ({e.strerror})") from e
    if not isinstance(manifest, dict):
        raise BundleError(path, _MANIFEST, "damaged (not a JSON object)")
    if manifest.get("format") != FORMAT:
        raise BundleError(path, _MANIFEST, f"unknown format {manifest.get('format')!r}")
    return manifest


def _bundle_names(manifest: Mapping[str, Any]) -> set[str]:
    files = manifest.get("files", [])
    return {_MANIFEST, _ARRAYS, *DERIVED_FILES, *(f for f in files if isinstance(f, str))}


def _looks_like_bundle_file(name: str) -> bool:
    return name in (_MANIFEST, _ARRAYS) or name.endswith(".safetensors")


def _classify(path: Path) -> tuple[str, list[str]]:
    """``(what, foreign)``: what is ``"absent"``, ``"empty"``, ``"bundle"``, ``"damaged"``
    (only bundle-named files, unreadable manifest), ``"foreign"`` (a folder holding other
    files, listed in ``foreign``) or ``"file"`` (anything that is not a folder)."""
    if not os.path.lexists(path):
        return "absent", []
    if path.is_symlink() or not path.is_dir():
        return "file", []
    names = sorted(os.listdir(path))
    if not names:
        return "empty", []
    try:
        manifest = _read_manifest_file(path)
    except BundleError:
        foreign = [n for n in names if not _looks_like_bundle_file(n)]
        return ("foreign", foreign) if foreign else ("damaged", [])
    foreign = sorted(set(names) - _bundle_names(manifest))
    return ("foreign", foreign) if foreign else ("bundle", [])


def check_target(path: str | os.PathLike[str], overwrite: bool = False,
                 option: str = "overwrite=True") -> None:
    """Raise ``FileExistsError`` now if saving a bundle to ``path`` would be refused (e.g.
    before a long fit); ``option`` is how the caller spells the overwrite switch."""
    path = Path(path)
    what, foreign = _classify(path)
    try:
        _refuse(path, what, foreign, overwrite)
    except FileExistsError as e:
        raise FileExistsError(str(e).replace("overwrite=True", option)) from None


def _refuse(path: Path, what: str, foreign: list[str], overwrite: bool,
            damaged_ok: bool = False) -> None:
    """Raise ``FileExistsError`` unless ``path`` may be replaced (see the module docstring)."""
    if what in ("absent", "empty", "bundle") or (what == "damaged" and damaged_ok):
        return
    if what == "foreign":
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise FileExistsError(
            f"{path} is a folder holding files that are not part of a ppltopics bundle "
            f"({shown}); it is never replaced, not even with overwrite=True: choose another "
            "path or move those files away")
    if not overwrite:
        desc = ("holds a damaged ppltopics bundle" if what == "damaged"
                else "exists and is not a ppltopics bundle")
        raise FileExistsError(
            f"{path} {desc}; choose another path, or pass overwrite=True to replace it")


# --------------------------------------------------------------------------- save
def _write_tmp_bundle(
    path: Path, kind: str, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any] | None,
    extra_files: Mapping[str, bytes] | None, compress: bool,
) -> Path:
    """Write a complete bundle into a new hidden sibling of ``path`` and flush it to disk."""
    arrays = {k: _check_array(k, v) for k, v in arrays.items()}
    extra = dict(extra_files or {})
    for name in extra:
        if "/" in name or os.sep in name or name.startswith(".") \
                or name in (_MANIFEST, _ARRAYS):
            raise ValueError(f"invalid extra file name {name!r}")
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "meta": dict(meta or {}),
        "arrays": {k: {"shape": list(v.shape), "dtype": v.dtype.str} for k, v in arrays.items()},
        "files": sorted(extra),
        "sha256": {k: hashlib.sha256(v).hexdigest() for k, v in sorted(extra.items())},
    }
    text = json.dumps(manifest, indent=1, allow_nan=True)  # fail before touching the disk
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_tmp_dir(path)
    try:
        _write_npz(tmp / _ARRAYS, arrays, compress)
        for name, blob in extra.items():
            _write_file(tmp / name, blob)
        _write_file(tmp / _MANIFEST, text.encode())  # last: a bundle is complete once it is
        _fsync_dir(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def _failed(path: Path, e: OSError, existed: bool) -> OSError:
    kept = f"the existing {path} is unchanged" if existed else "nothing was written"
    return OSError(e.errno, f"could not save {path}: {e.strerror or e}; {kept}")


def save_bundle(
    path: str | os.PathLike[str],
    kind: str,
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    compress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write ``arrays`` and JSON ``meta`` to the folder ``path`` atomically.

    An existing bundle at ``path`` is replaced; any other existing path raises
    ``FileExistsError`` unless ``overwrite=True`` (a folder holding other files: always)."""
    path = Path(path)
    _recover(path)
    what, foreign = _classify(path)
    _refuse(path, what, foreign, overwrite)
    try:
        tmp = _write_tmp_bundle(path, kind, arrays, meta, extra_files, compress)
    except OSError as e:
        raise _failed(path, e, what != "absent") from e
    try:
        _install(tmp, path, what)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise _failed(path, e, what != "absent") from e
        raise
    return path


def _install(tmp: Path, path: Path, what: str) -> None:
    """Move the complete bundle ``tmp`` to ``path``, replacing what is there."""
    if what == "absent":
        os.rename(tmp, path)  # fails (instead of replacing) if a non-empty folder appeared
    elif _exchange(tmp, path):
        _remove(tmp)  # now holds the old content
    else:
        aside = _sibling(path, "old")
        os.rename(path, aside)
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(aside, path)
            raise
        try:
            _remove(aside)
        except BaseException:
            shutil.rmtree(aside, ignore_errors=True)
            raise
    _fsync_dir(path.parent)


# --------------------------------------------------------------------------- load
def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a bundle's manifest (format name, version and layout)."""
    path = Path(path)
    _recover(path)
    manifest = _read_manifest_file(path)
    try:
        version = int(manifest.get("version", -1))
    except (TypeError, ValueError):
        raise BundleError(path, _MANIFEST, f"bad version {manifest.get('version')!r}") from None
    if version > VERSION:
        raise BundleError(path, _MANIFEST,
                          f"bundle version {version} is newer than this ppltopics reads "
                          f"({VERSION}); upgrade ppltopics")
    for key, typ in (("kind", str), ("meta", dict), ("arrays", dict)):
        if not isinstance(manifest.get(key), typ):
            raise BundleError(path, _MANIFEST, f"damaged ({key!r} missing or not a "
                              f"{typ.__name__})")
    if not isinstance(manifest.get("files", []), list):
        raise BundleError(path, _MANIFEST, "damaged ('files' is not a list)")
    return manifest


def _read_arrays(path: Path, manifest: Mapping[str, Any]) -> dict[str, np.ndarray]:
    apath = path / _ARRAYS
    if not apath.is_file():
        raise BundleError(path, _ARRAYS, "missing")
    try:
        with np.load(apath, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, KeyError) as e:
        raise BundleError(path, _ARRAYS, f"damaged or truncated ({type(e).__name__}: {e})") \
            from e
    listed = manifest["arrays"]
    if set(arrays) != set(listed):
        missing, unlisted = sorted(set(listed) - set(arrays)), sorted(set(arrays) - set(listed))
        raise BundleError(path, _ARRAYS, f"does not match {_MANIFEST}: missing arrays "
                          f"{missing}, arrays not in the manifest {unlisted}")
    for k, a in arrays.items():
        spec = listed[k]
        shape = spec.get("shape") if isinstance(spec, dict) else None
        dtype = spec.get("dtype") if isinstance(spec, dict) else None
        if shape is None or list(a.shape) != list(shape):
            raise BundleError(path, _ARRAYS, f"array {k!r} has shape {list(a.shape)}, "
                              f"{_MANIFEST} says {shape}")
        if dtype is None or a.dtype.str != dtype:
            raise BundleError(path, _ARRAYS, f"array {k!r} has dtype {a.dtype.str}, "
                              f"{_MANIFEST} says {dtype}")
    return arrays


def _check_files(path: Path, manifest: Mapping[str, Any]) -> None:
    digests = manifest.get("sha256", {})
    for name in manifest.get("files", []):
        fpath = path / str(name)
        if not fpath.is_file():
            raise BundleError(path, str(name), f"missing (listed in {_MANIFEST})")
        want = digests.get(name) if isinstance(digests, dict) else None
        if want is not None:
            try:
                got = hashlib.sha256(fpath.read_bytes()).hexdigest()
            except OSError as e:
                raise BundleError(path, str(name), f"cannot be read ({e.strerror})") from e
            if got != want:
                raise BundleError(path, str(name), "damaged (its checksum does not match "
                                  f"{_MANIFEST})")


def load_bundle(
    path: str | os.PathLike[str], kind: str | None = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Load ``(arrays, meta)`` from a bundle folder; check ``kind`` when given.

    Every file is checked against the manifest (names, shapes, dtypes, checksums of extra
    files); any damage raises :class:`BundleError`."""
    path = Path(path)
    manifest = read_manifest(path)
    if kind is not None and manifest["kind"] != kind:
        raise BundleError(path, _MANIFEST, f"holds a {manifest['kind']!r}, expected {kind!r}")
    arrays = _read_arrays(path, manifest)
    _check_files(path, manifest)
    meta = dict(manifest["meta"])
    meta["_kind"] = manifest["kind"]
    meta["_files"] = list(manifest.get("files", []))
    return arrays, meta


# --------------------------------------------------------------------------- checkpoints
def previous_checkpoint(path: str | os.PathLike[str]) -> Path:
    """Where the checkpoint before the latest one at ``path`` is kept."""
    path = Path(path)
    return path.with_name(path.name + ".previous")


def save_checkpoint(
    path: str | os.PathLike[str], kind: str, arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any] | None = None, extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write a checkpoint bundle to ``path``, keeping the one it replaces as
    :func:`previous_checkpoint` (the one before that is removed).

    At every instant either ``path`` or its previous copy is a complete checkpoint.  Paths
    that are not checkpoints are never replaced (``FileExistsError``)."""
    path = Path(path)
    prev = previous_checkpoint(path)
    _recover(path)
    _recover(prev)
    what, foreign = _classify(path)
    what_prev, foreign_prev = _classify(prev)
    _refuse(path, what, foreign, overwrite=False, damaged_ok=True)
    _refuse(prev, what_prev, foreign_prev, overwrite=False, damaged_ok=True)
    try:
        tmp = _write_tmp_bundle(path, kind, arrays, meta, extra_files, compress=False)
    except OSError as e:
        raise _failed(path, e, what != "absent") from e
    try:
        if what == "bundle":
            if what_prev != "absent":
                _discard(prev)
            os.rename(path, prev)
        elif what in ("empty", "damaged"):
            _discard(path)
        os.rename(tmp, path)
        _fsync_dir(path.parent)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise _failed(path, e, what != "absent") from e
        raise
    return path


def load_checkpoint(
    path: str | os.PathLike[str], kind: str, fingerprint: Any,
    read_extra: Callable[[Path, dict[str, Any]], Any] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any], Any] | None:
    """The latest good checkpoint at ``path`` (or its previous copy): ``(arrays, meta,
    read_extra(folder, meta))``; ``None`` when there is none.

    A damaged latest checkpoint is reported (warning) and removed, and the previous one is
    used; when neither can be read, :class:`BundleError`.  A checkpoint written by another
    run (``meta["fingerprint"] != fingerprint``) raises ``ValueError``."""
    path = Path(path)
    prev = previous_checkpoint(path)
    _recover(path)
    _recover(prev)
    errors: list[BundleError] = []
    for cand in (path, prev):
        what, foreign = _classify(cand)
        _refuse(cand, what, foreign, overwrite=False, damaged_ok=True)  # not ours: say so
        if what in ("absent", "empty"):
            continue
        try:
            arrays, meta = load_bundle(cand, kind=kind)
            if meta.get("fingerprint") != fingerprint:
                raise ValueError(
                    f"checkpoint {cand} belongs to a different run (model, hyperparameters, "
                    "data or run settings differ); use another checkpoint_dir or delete it")
            extra = None
            if read_extra is not None:
                with reading(cand, ", ".join(meta["_files"]) or _ARRAYS):
                    extra = read_extra(cand, meta)
        except BundleError as e:
            errors.append(e)
            continue
        if errors:
            msg = (f"{errors[0]}; resuming from the previous checkpoint {cand} instead "
                   f"(iteration {meta.get('iteration', meta.get('done'))})")
            warnings.warn(msg, RuntimeWarning, stacklevel=2)
            _log.warning("%s", msg)
            if _classify(path)[0] in ("bundle", "damaged"):
                with contextlib.suppress(OSError):
                    _discard(path)  # so the next save keeps the good one as the previous
        return arrays, meta, extra
    if errors:
        raise BundleError(path, errors[0].file,
                          "; ".join(f"{e.bundle.name}: {e.problem}" for e in errors)
                          + " - no readable checkpoint is left: delete the checkpoint folder "
                          "to start the run again")
    return None
