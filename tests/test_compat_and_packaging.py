"""The Python 3.11 fix for lava-nc, the optional extras, and the installed layout."""
import importlib.util
import subprocess
import sys
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
