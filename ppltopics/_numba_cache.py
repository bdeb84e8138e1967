"""Numba on-disk caches that go stale when *any* source they depend on changes.

``numba.njit(cache=True)`` keys a cached machine-code file on the source of the file that
defines the function (and the function's own bytecode), but not on the functions it calls or
inlines from other modules, nor on constants it freezes from them.  After an in-place upgrade
that changes, say, a linear-algebra helper, a kernel in another module would keep running the
old machine code (and may crash when data layouts changed).

This module adds cache locators that stamp each cached function with a hash of the source of
its module *and of every module of the same package it imports, transitively* (imports found
by parsing the sources, without importing anything).  A change to any of them makes numba
discard the cached index and recompile.  Where the cache lives is unchanged: ``NUMBA_CACHE_DIR``
when set (read-only installs), else ``__pycache__`` beside the source, else the user-wide
numba cache.  Only functions of watched packages (``ppltopics`` and any passed to
:func:`watch`) use these locators.
"""

from __future__ import annotations

import ast
import hashlib
import sys
import threading
from importlib.machinery import ModuleSpec
from typing import Any

from numba.core import caching

__all__ = ["watch", "dependency_stamp", "install"]

_WATCHED: set[str] = {"ppltopics"}
_LOCK = threading.Lock()
_SPECS: dict[str, ModuleSpec | None] = {}
_STAMPS: dict[str, str] = {}


def watch(package: str) -> None:
    """Stamp the cached numba functions of the top-level ``package`` with the hash of their
    module's in-package import closure (``ppltopics`` is always watched)."""
    with _LOCK:
        _WATCHED.add(package.partition(".")[0])
        _STAMPS.clear()


def _find_spec(name: str) -> ModuleSpec | None:
    """The spec of module ``name`` without importing it (nor its parent packages)."""
    if name in _SPECS:
        return _SPECS[name]
    spec = None
    mod = sys.modules.get(name)
    if mod is not None and getattr(mod, "__spec__", None) is not None:
        spec = mod.__spec__
    else:
        parent = name.rpartition(".")[0]
        path = None
        if parent:
            pmod = sys.modules.get(parent)
            if pmod is not None:
                path = getattr(pmod, "__path__", None)
            else:
                pspec = _find_spec(parent)
                path = None if pspec is None else pspec.submodule_search_locations
        if not parent or path is not None:
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                if find is None:
                    continue
                try:
                    spec = find(name, path)
                except Exception:  # noqa: BLE001 - a broken finder must not break caching
                    spec = None
                if spec is not None:
                    break
    _SPECS[name] = spec
    return spec


def _source(spec: ModuleSpec | None) -> bytes | None:
    origin = None if spec is None else spec.origin
    if not origin or not origin.endswith(".py"):
        return None
    try:
        with open(origin, "rb") as f:
            return f.read()
    except OSError:
        return None


def _imports(name: str, spec: ModuleSpec, source: bytes) -> set[str]:
    """Modules of watched packages named by any import statement of ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    package = name if spec.submodule_search_locations is not None else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            parts = base.split(".")
            out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
            out.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return {m for m in out if m.partition(".")[0] in _WATCHED}


def dependency_stamp(module: str) -> str:
    """sha256 over the sources of ``module`` and of every watched module it imports,
    transitively (names that are not modules, e.g. ``from pkg.mod import func``, are
    skipped)."""
    with _LOCK:
        if module in _STAMPS:
            return _STAMPS[module]
        seen: dict[str, bytes] = {}
        todo = [module]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            spec = _find_spec(name)
            src = _source(spec)
            if src is None:
                continue
            seen[name] = src
            todo.extend(_imports(name, spec, src) - set(seen))
        h = hashlib.sha256()
        for name in sorted(seen):
            h.update(name.encode() + b"\0" + hashlib.sha256(seen[name]).digest())
        _STAMPS[module] = h.hexdigest()
        return _STAMPS[module]


class _DependencyStampMixin:
    """Locator mixin: the source stamp also covers the module's watched import closure."""

    _module: str

    def get_source_stamp(self) -> Any:
        own = super().get_source_stamp()  # type: ignore[misc]
        return (own, "deps", dependency_stamp(self._module))

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        module = getattr(py_func, "__module__", None) or ""
        if module.partition(".")[0] not in _WATCHED:
            return None
        self = super().from_function(py_func, py_file)  # type: ignore[misc]
        if self is not None:
            self._module = module
        return self


class UserProvidedDepsLocator(_DependencyStampMixin, caching.UserProvidedCacheLocator):
    """``NUMBA_CACHE_DIR`` cache, stamped with the dependency hash."""


class InTreeDepsLocator(_DependencyStampMixin, caching.InTreeCacheLocator):
    """``__pycache__`` cache beside the source, stamped with the dependency hash."""


class UserWideDepsLocator(_DependencyStampMixin, caching.UserWideCacheLocator):
    """User-wide cache (unwritable source tree), stamped with the dependency hash."""


_OURS = [UserProvidedDepsLocator, InTreeDepsLocator, UserWideDepsLocator]


def install() -> None:
    """Put the dependency-stamped locators first (idempotent).  A user's own
    ``NUMBA_CACHE_LOCATOR_CLASSES`` still takes precedence, as numba documents."""
    impl = caching.CacheImpl
    if impl._locator_classes[: len(_OURS)] != _OURS:
        impl._locator_classes = _OURS + [c for c in impl._locator_classes if c not in _OURS]


install()
