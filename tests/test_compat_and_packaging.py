"""The Python 3.11 fix for lava-nc, lava-nc on numpy 2 (Python 3.13), the optional extras,
and the installed layout."""
import ast
import importlib.metadata
import importlib.util
import subprocess
import sys
import types
import warnings
from pathlib import Path

import pytest
from conftest import skip_without_extras_of

import lava_local

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the fix is only needed on 3.11+")
def test_lava_fails_on_311_without_the_fix_and_works_with_it():
    bare = _run("import lava.magma.core.process.process")
    assert bare.returncode != 0 and "mutable default" in bare.stderr
    fixed = _run("import lava_local; from lava.proc.lif.process import LIF; LIF(shape=(2,)); print('ok')")
    assert fixed.returncode == 0 and "ok" in fixed.stdout, fixed.stderr


def test_installed_lava_file_is_left_untouched():
    spec = importlib.util.find_spec("lava.magma.compiler.var_model")
    source = Path(spec.origin).read_text()
    assert "x: ByteEncoder = ByteEncoder()" in source  # shipped text, patched only in memory
    from lava.magma.compiler import var_model

    a, b = var_model.CoreEncoder(), var_model.CoreEncoder()
    if sys.version_info >= (3, 11):
        assert a.x is not b.x  # default_factory: no shared mutable default
    else:  # Lava's own Python: its dataclasses are left as shipped (3.10 allows the shared default)
        assert a.x is b.x


def test_core_imports_without_torch_tonic_or_lava_dl():
    code = (
        "import sys\n"
        "for name in ('torch', 'tonic', 'lava.lib.dl'):\n"
        "    sys.modules[name] = None  # make any import of them fail\n"
        "import lava_local, lava_local.kernels, lava_local.data, lava_local.proc.lif\n"
        "from lava_local.proc.lif import models\n"
        "print('core ok')\n"
    )
    result = _run(code)
    assert result.returncode == 0 and "core ok" in result.stdout, result.stderr


def test_every_subpackage_is_listed_for_installation():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"lava_local"} | {
        "lava_local." + str(p.parent.relative_to(ROOT / "lava_local")).replace("/", ".")
        for p in (ROOT / "lava_local").rglob("__init__.py")
        if p.parent != ROOT / "lava_local"
    }
    assert found | {"lava_local.hw_profiles"} == listed


def test_lava_dl_imports_next_to_lava_local():
    skip_without_extras_of("import lava.lib.dl")  # lava-dl is the dl extra's, with torch
    result = _run("import lava_local, lava.lib.dl.slayer, lava.lib.dl.netx; print('dl ok')")
    assert result.returncode == 0 and "dl ok" in result.stdout, result.stderr[-2000:]


def test_lava_imports_after_another_library_chose_a_start_method():
    code = (
        "import multiprocessing as mp\n"
        "mp.set_start_method('spawn')\n"
        "import lava_local\n"
        "from lava_local.proc.lif import LIF\n"
        "import lava.magma.runtime.message_infrastructure.multiprocessing\n"
        "print(mp.get_start_method())\n"
    )
    result = _run(code)
    assert result.returncode == 0 and result.stdout.strip() == "fork", result.stderr[-2000:]


def _numpy_names_used_by(tree) -> set:
    """``np.a.b`` attribute chains and ``from numpy[.x] import y`` names in one module."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "numpy":
            names |= {(*node.module.split(".")[1:], alias.name) for alias in node.names if alias.name != "*"}
        elif isinstance(node, ast.Attribute):
            chain, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                chain.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id == "np":
                names.add(tuple(chain))
    return names


def test_every_numpy_name_lava_uses_exists_in_the_installed_numpy():
    """lava-nc 0.10 runs unchanged on numpy 2 (Python 3.13): none of the names numpy 2 removed
    (np.float_, np.product, np.NaN, ...) appears in its code, so lava_local._compat rewrites
    nothing for numpy. When numpy moves on, a removed name shows up here, not only in the one
    Lava code path that uses it."""
    import numpy as np

    files = [f.locate() for f in importlib.metadata.files("lava-nc") if f.suffix == ".py" and "tests" not in f.parts]
    used = set()
    for path in files:
        with warnings.catch_warnings():  # Lava's invalid escape sequences warn from 3.12 on
            warnings.simplefilter("ignore", SyntaxWarning)
            used |= _numpy_names_used_by(ast.parse(Path(path).read_text(), str(path)))
    assert len(files) > 100 and ("ndarray",) in used  # the scan found Lava's code
    missing = []
    for chain in sorted(used):
        obj = np
        for depth, name in enumerate(chain):
            if not isinstance(obj, types.ModuleType):
                break  # an attribute of a numpy class or function: not numpy's namespace
            try:
                obj = getattr(obj, name) if hasattr(obj, name) else importlib.import_module(
                    ".".join(("numpy", *chain[: depth + 1])))
            except ImportError:
                missing.append("np." + ".".join(chain))
                break
    assert not missing, f"numpy {np.__version__} lacks what lava-nc uses: {missing}"


def test_lava_nc_run_time_needs_are_declared_on_python_3_13():
    """On 3.13 lava-nc is installed with --no-deps (its numpy<2 pin has no wheel there), so
    pyproject lists its other run-time needs itself, with numpy 2; below 3.13 it depends on
    lava-nc as before. The 3.13 pins in constraints.txt satisfy those ranges."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    def applying(lines, python):
        env = {"python_version": python, "python_full_version": python + ".0", "extra": ""}
        reqs = [Requirement(line) for line in lines]
        return {r.name: r.specifier for r in reqs if r.marker is None or r.marker.evaluate(env)}

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lava_needs = applying(importlib.metadata.requires("lava-nc"), "3.10")
    on_312, on_313 = applying(declared, "3.12"), applying(declared, "3.13")
    assert on_312["lava-nc"].contains("0.10.0") and on_312["numpy"] == lava_needs["numpy"]
    assert "lava-nc" not in on_313
    assert {name: spec for name, spec in on_313.items() if name in lava_needs and name != "numpy"} == {
        name: spec for name, spec in lava_needs.items() if name != "numpy"}
    assert on_313["numpy"].contains("2.1.0") and not on_313["numpy"].contains("1.26.4")

    constraints = [line.split("#")[0].strip() for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines()]
    pinned = applying([line for line in constraints if line], "3.13")
    for name, spec in on_313.items():
        if name in pinned:
            version = Version(str(next(iter(pinned[name]))).lstrip("="))
            assert spec.contains(version), (name, version, spec)
    assert "numpy" in pinned and Version(str(next(iter(pinned["numpy"]))).lstrip("=")).major == 2
