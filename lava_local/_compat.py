"""Make lava-nc 0.10.0 importable on Python 3.11 without touching site-packages.

lava-nc 0.10.0 declares Python 3.10. On 3.11, ``dataclasses`` rejects any default whose
class is unhashable, and ``lava/magma/compiler/var_model.py`` declares three dataclasses
(``CoreEncoder``, ``ChipEncoder``, ``AxonEncoder``) whose fields default to a shared
``ByteEncoder()`` instance. Importing anything from ``lava.magma`` then fails with
``ValueError: mutable default <class '...ByteEncoder'> for field x is not allowed``.

The fix rewrites those defaults to ``field(default_factory=ByteEncoder)`` while the module
is being loaded, through an import hook scoped to that one module. The installed file is
left untouched, so uninstalling lava_local (or moving to Python 3.10) restores Lava as
shipped. On Python 3.10 that rewrite is not needed and not made.

A second rewrite applies on every Python: Lava's message infrastructure calls
``multiprocessing.set_start_method('fork')`` when imported, which raises
``RuntimeError: context has already been set`` if anything in the program (a torch
launcher, a test runner) chose a start method first. Lava needs ``fork``, so the call is
made with ``force=True``.

Python 3.13 needs no rewrite of its own (the 3.11 one applies). There lava-nc runs on numpy 2,
numpy 1.x having no wheel for 3.13: none of the names numpy 2 removed (``np.float_``,
``np.product``, ...) appears in Lava's code, which
``tests/test_compat_and_packaging.py`` checks against the installed numpy.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import re
import sys
from types import ModuleType
from typing import Optional, Sequence

_VAR_MODEL = "lava.magma.compiler.var_model"
_MESSAGING = "lava.magma.runtime.message_infrastructure.multiprocessing"
# ``x: ByteEncoder = ByteEncoder()``  ->  ``x: ByteEncoder = field(default_factory=ByteEncoder)``
_MUTABLE_DEFAULT = re.compile(r"(:\s*ByteEncoder\s*=\s*)ByteEncoder\(\)")


def _patch_var_model(source: str) -> str:
    patched, count = _MUTABLE_DEFAULT.subn(r"\1field(default_factory=ByteEncoder)", source)
    if count:
        # Extend the existing import in place so line numbers in tracebacks stay true.
        patched = patched.replace("from dataclasses import dataclass", "from dataclasses import field, dataclass", 1)
    return patched


def _patch_messaging(source: str) -> str:
    return source.replace("mp.set_start_method('fork')", "mp.set_start_method('fork', force=True)", 1)


_PATCHES = {_MESSAGING: _patch_messaging}
if sys.version_info >= (3, 11):
    _PATCHES[_VAR_MODEL] = _patch_var_model


class _PatchedLoader(importlib.machinery.SourceFileLoader):
    """Loads one of Lava's modules with its source rewritten by ``_PATCHES``."""

    def source_to_code(self, data, path, *, _optimize=-1):  # type: ignore[override]
        source = importlib.util.decode_source(data)
        return super().source_to_code(_PATCHES[self.name](source), path)

    def get_code(self, fullname):  # bypass the bytecode cache, which holds the unpatched code
        source_path = self.get_filename(fullname)
        with open(source_path, "rb") as handle:
            return self.source_to_code(handle.read(), source_path)


class _LavaFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None
    ):
        if fullname not in _PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = _PatchedLoader(fullname, spec.origin)
        return spec


def needs_patch() -> bool:
    """True where Lava 0.10's dataclass defaults are rejected (Python 3.11 and newer)."""
    return sys.version_info >= (3, 11)


def install() -> None:
    """Install the import hook once (before Lava is imported)."""
    if any(isinstance(finder, _LavaFinder) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _LavaFinder())
