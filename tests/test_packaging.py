"""The package's shape: what `import tlslesson` pulls in, what pyproject.toml declares, what a
wheel ships."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DISPLAY_ONLY = ("ipywidgets", "matplotlib")


def _python(code: str) -> str:
    """Run `code` in a fresh interpreter (so nothing this test process imported leaks in)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def test_import_tlslesson_pulls_in_no_display_library():
    out = _python("import tlslesson, sys; print('ipywidgets' in sys.modules, 'matplotlib' in sys.modules)")
    assert out == "False False", "import tlslesson imported ipywidgets/matplotlib: " + out


def test_protocol_modules_pull_in_no_display_library():
    """Only tlslesson.lesson may import ipywidgets or matplotlib (DESIGN.md: display apart from protocol)."""
    code = (
        "import importlib, pkgutil, sys, tlslesson\n"
        "names = [m.name for m in pkgutil.iter_modules(tlslesson.__path__, 'tlslesson.')\n"
        "         if m.name not in ('tlslesson.lesson', 'tlslesson.__main__')]\n"
        "for n in names: importlib.import_module(n)\n"
        f"print(sorted(m for m in {DISPLAY_ONLY!r} if m in sys.modules))\n"
    )
    assert _python(code) == "[]"


def test_pyproject_metadata(pyproject):
    project = pyproject["project"]
    assert project["name"] == "tlslesson"
    assert project["version"] == "0.1.0"
    assert project["requires-python"] == ">=3.10"
    assert "cryptography>=47" in project["dependencies"]  # deterministic ECDSA (44), ML-KEM-768 (47)
    assert "scripts" not in project, "no console script: the CLI is `python -m tlslesson`"


def test_pyproject_extras(pyproject):
    extras = pyproject["project"]["optional-dependencies"]
    assert {"jupyterlab>=4", "ipywidgets>=8", "matplotlib>=3.7"} <= set(extras["lesson"])
    assert {"pytest>=7", "nbval>=0.11", "hypothesis>=6", "nbformat", "nbclient"} <= set(extras["test"])
    # the protocol code must not need the display libraries
    assert not any(dep.startswith(DISPLAY_ONLY) for dep in pyproject["project"]["dependencies"])


def test_pyproject_packaging_and_pytest_config(pyproject):
    assert pyproject["build-system"]["build-backend"] == "setuptools.build_meta"
    tool = pyproject["tool"]
    assert tool["setuptools"]["packages"]["find"]["include"] == ["tlslesson*"]
    assert "data/**/*" in tool["setuptools"]["package-data"]["tlslesson"]
    ini = tool["pytest"]["ini_options"]
    assert ini["testpaths"] == ["tests"]
    declared = {m.split(":", 1)[0] for m in ini["markers"]}
    assert {"interop", "browser", "slow", "fuzz"} <= declared


def test_wheel_ships_subpackages_and_data_and_no_benchmark(tmp_path):
    """Binder installs `.[lesson]` non-editable: the wheel, not the checkout, must hold lesson/ and data/;
    and it must not hold the benchmark (it masks CPU features and reaches into private caches)."""
    setuptools = pytest.importorskip("setuptools")
    if tuple(int(x) for x in setuptools.__version__.split(".")[:2]) < (70, 1):
        pytest.importorskip("wheel")  # bdist_wheel moved into setuptools in 70.1
    # build from a copy: an in-tree build would leave build/ and *.egg-info in the checkout
    src = tmp_path / "src"
    for folder in ("tlslesson", "benchmarks"):      # benchmarks/ sits beside it in a checkout
        shutil.copytree(ROOT / folder, src / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", src)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-q", "-w", str(tmp_path / "dist"), str(src)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (tmp_path / "dist").glob("tlslesson-0.1.0-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    def in_tree(sub: str) -> set[str]:
        base = src / "tlslesson" / sub
        return {p.relative_to(src).as_posix() for p in base.rglob("*") if p.is_file()}

    assert "tlslesson/__init__.py" in names
    # the development tools stay in the checkout (make bench): not a module of the package
    assert not [n for n in names if n.startswith("benchmarks/") or "bench" in n.rsplit("/", 1)[-1]], \
        sorted(n for n in names if "bench" in n)
    for sub in ("lesson", "data"):
        if (src / "tlslesson" / sub).is_dir():
            missing = in_tree(sub) - names
            assert not missing, f"missing from the wheel: {sorted(missing)}"
