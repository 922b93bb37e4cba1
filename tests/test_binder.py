"""The Binder configuration is the one that works.

repo2docker builds the course image from binder/ alone (with a binder/ folder present it ignores any other
configuration at the top level, and it does not install the repository by itself): runtime.txt picks the
Python, `pip install -r binder/requirements.txt` runs in the repository folder after the whole repository was
copied in, then binder/postBuild runs. These tests do the same in a fresh virtual environment and check that
everything the notebooks import is there (the notebooks themselves run once in make test, under nbval); where
jupyter-repo2docker can be had, its `--no-build` Dockerfile shows those binder/ files are the ones used.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
NEWS_PLUGIN = "@jupyterlab/apputils-extension:announcements"
WIDGETS_LABEXTENSION = "@jupyter-widgets/jupyterlab-manager"
# Files repo2docker would prefer to, or combine with, binder/requirements.txt: none may sneak in.
OTHER_R2D_CONFIG = ("environment.yml", "Pipfile", "Pipfile.lock", "Project.toml", "REQUIRE", "install.R",
                    "apt.txt", "DESCRIPTION", "setup.py", "Dockerfile", "start", "default.nix")


def runtime_version() -> str:
    text = (BINDER / "runtime.txt").read_text().strip()
    m = re.fullmatch(r"python-(3\.\d+)", text)
    assert m, f"binder/runtime.txt should read python-3.X, got {text!r}"
    return m.group(1)


# ---------------------------------------------------------------------------------------------------
# Fast checks of the files themselves
# ---------------------------------------------------------------------------------------------------
def test_binder_folder_is_the_whole_configuration():
    assert sorted(p.name for p in BINDER.iterdir()) == ["postBuild", "requirements.txt", "runtime.txt"]
    # repo2docker reads only binder/ when it exists; a stray file there would change the build
    for name in OTHER_R2D_CONFIG:
        assert not (BINDER / name).exists(), f"binder/{name} would change what repo2docker builds"


def test_runtime_is_a_supported_python():
    version = runtime_version()
    with open(ROOT / "pyproject.toml", "rb") as f:
        requires = tomllib.load(f)["project"]["requires-python"]
    low = re.fullmatch(r">=\s*3\.(\d+)", requires)
    assert low and int(version.split(".")[1]) >= int(low.group(1)), (version, requires)


def test_requirements_install_the_repo_with_the_lesson_extra():
    lines = [ln.strip() for ln in (BINDER / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    # "." is resolved against pip's working directory: repo2docker runs pip in the repository folder
    assert lines == [".[lesson]"], lines


def test_postbuild_is_an_executable_bash_script_that_switches_off_the_news():
    post = BINDER / "postBuild"
    text = post.read_text()
    assert text.startswith("#!/bin/bash"), "repo2docker executes postBuild directly: it needs a shebang"
    assert f'jupyter labextension disable "{NEWS_PLUGIN}"' in text
    tracked = subprocess.run(["git", "ls-files", "-s", "binder/postBuild"], cwd=ROOT, capture_output=True,
                             text=True)
    if tracked.returncode == 0 and tracked.stdout:
        assert tracked.stdout.startswith("100755"), "binder/postBuild should be committed executable"


# ---------------------------------------------------------------------------------------------------
# A fresh environment built from binder/ only
# ---------------------------------------------------------------------------------------------------
def _repo_files() -> list[Path]:
    """What repo2docker copies: the repository's files (tracked and new, not the ignored ones)."""
    done = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                          capture_output=True)
    if done.returncode == 0:
        return [Path(p) for p in done.stdout.decode().split("\0") if p and (ROOT / p).is_file()]
    skip = {".git", ".venv", "build", "dist", ".pytest_cache", ".hypothesis", ".benchmarks", "artifacts",
            "__pycache__", ".ipynb_checkpoints"}
    return [p.relative_to(ROOT) for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts) and not p.name.endswith(".egg-info")]


def _copy_repo(dest: Path) -> Path:
    for rel in _repo_files():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    return dest


def _python_for(version: str) -> str:
    """An interpreter of the runtime.txt version when there is one, else the one running the tests."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    return shutil.which(f"python{version}") or sys.executable


def _clean_env(base: Path, venv: Path) -> dict:
    """The environment of a student's session: the venv first on PATH, Jupyter's folders private."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH",
                        "JUPYTER_PREFER_ENV_PATH", "PYTHONSTARTUP")}
    for name in ("config", "data", "runtime", "ipython", "mpl", "home-cache"):
        (base / name).mkdir(parents=True, exist_ok=True)
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        IPYTHONDIR=str(base / "ipython"),
        MPLCONFIGDIR=str(base / "mpl"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _run(cmd, *, cwd, env, timeout, what):
    start = time.monotonic()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{what} failed ({done.returncode}) after {time.monotonic() - start:.0f} s: {' '.join(map(str, cmd))}\n"
        f"--- stdout\n{done.stdout[-6000:]}\n--- stderr\n{done.stderr[-6000:]}")
    return done


class BinderEnv:
    def __init__(self, base: Path):
        self.base = base
        self.repo = _copy_repo(base / "repo")
        self.venv = base / "venv"
        self.python = str(self.venv / "bin" / "python")
        self.env = _clean_env(base / "home", self.venv)
        self.timings: dict[str, float] = {}

    def build(self):
        t = time.monotonic()
        _run([_python_for(runtime_version()), "-m", "venv", str(self.venv)], cwd=self.base, env=self.env,
             timeout=120, what="python -m venv")
        # exactly repo2docker's assemble step: pip in the repository folder, nothing but binder/
        _run([self.python, "-m", "pip", "install", "-q", "--no-cache-dir", "-r", "binder/requirements.txt"],
             cwd=self.repo, env=self.env, timeout=900, what="pip install -r binder/requirements.txt")
        self.timings["install"] = time.monotonic() - t
        t = time.monotonic()
        self.postbuild = _run(["./binder/postBuild"], cwd=self.repo, env=self.env, timeout=120,
                              what="binder/postBuild")
        self.timings["postBuild"] = time.monotonic() - t
        return self


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory) -> BinderEnv:
    env = BinderEnv(tmp_path_factory.mktemp("binder"))
    # a checkout that lost the executable bit still builds on Binder (repo2docker chmods postBuild)
    post = env.repo / "binder" / "postBuild"
    post.chmod(post.stat().st_mode | 0o755)
    return env.build()


_IMPORTS = textwrap.dedent("""
    import ast, importlib, json, sys
    from pathlib import Path
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    results = {"kernel_argv": KernelSpecManager().get_kernel_spec("python3").argv, "missing": [],
               "modules": {}}
    for path in map(Path, sys.argv[1:]):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            code = "\\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Import):
                    wanted = [(a.name, None) for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    wanted = [(node.module, a.name) for a in node.names]
                else:
                    continue
                for module, name in wanted:
                    try:
                        mod = importlib.import_module(module)
                        if name not in (None, "*") and not hasattr(mod, name):
                            importlib.import_module(f"{module}.{name}")
                        results["modules"][module] = getattr(mod, "__file__", None)
                    except Exception as exc:
                        results["missing"].append(f"{path.name}: {module} {name or ''}: "
                                                  f"{type(exc).__name__}: {exc}")
    from tlslesson import pki
    results["lesson_pki_root"] = pki.lesson_pki().root.certificate.subject.rfc4514_string()   # data/ shipped
    print("RESULTS" + json.dumps(results))
""")


# building the environment (pip install of JupyterLab & co., ~40-60 s) counts into the first test's time
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_binder_environment_has_jupyterlab_widgets_and_no_news(binder_env):
    env, py = binder_env.env, binder_env.python
    code = ("import sys, tlslesson, ipywidgets, jupyterlab, matplotlib, ipykernel; "
            "print(sys.version_info[:2], tlslesson.__file__)")
    out = _run([py, "-c", code], cwd=binder_env.base, env=env, timeout=60, what="import check").stdout
    assert str(binder_env.venv) in out, f"tlslesson should be installed into the venv, not imported from the tree: {out}"
    listing = _run([py, "-m", "jupyter", "labextension", "list"], cwd=binder_env.base, env=env, timeout=120,
                   what="jupyter labextension list")
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)
    assert re.search(rf"{re.escape(WIDGETS_LABEXTENSION)} v\S+ enabled\s+OK", text), \
        f"ipywidgets' JupyterLab extension is not active in the Binder environment:\n{text}"
    # postBuild's `jupyter labextension disable` wrote the environment's (sys-prefix) page config
    page_config = binder_env.venv / "etc" / "jupyter" / "labconfig" / "page_config.json"
    assert page_config.exists(), f"postBuild did not write {page_config}:\n{binder_env.postbuild.stdout}"
    assert json.loads(page_config.read_text())["disabledExtensions"].get(NEWS_PLUGIN) is True
    assert re.search(rf"{re.escape(NEWS_PLUGIN)}", text), text


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_binder_environment_has_everything_the_notebooks_import(binder_env):
    """The notebooks run once in make test, under nbval, in the development environment. What only
    the Binder environment can say: that its kernel is the environment's Python, and that every
    module and name a notebook imports is there with the installed (non-editable) package alone,
    the package's data included."""
    paths = [str(binder_env.repo / "notebooks" / n) for n in NOTEBOOKS]
    script = binder_env.base / "imports.py"
    script.write_text(_IMPORTS)
    done = _run([binder_env.python, str(script), *paths], cwd=binder_env.repo / "notebooks", env=binder_env.env,
                timeout=300, what="importing what the notebooks import in the Binder environment")
    results = json.loads(done.stdout.split("RESULTS", 1)[1])
    kernel_python = results["kernel_argv"][0]
    assert kernel_python in ("python", binder_env.python) or kernel_python.startswith(str(binder_env.venv)), \
        f"the kernel is not the Binder environment's Python: {results['kernel_argv']}"
    assert not results["missing"], "imports that fail in the Binder environment:\n" + "\n".join(results["missing"])
    assert "tlslesson" in results["modules"] and "tlslesson.lesson" in results["modules"], results["modules"]
    assert str(binder_env.venv) in results["modules"]["tlslesson"], results["modules"]["tlslesson"]
    assert "CN=" in results["lesson_pki_root"]


@pytest.mark.slow
def test_binder_jupyterlab_serves_the_widgets_extension_without_news(binder_env, tmp_path):
    """The venv's own `jupyter lab` (as Binder starts it): the ipywidgets front end is loaded and the news
    plugin is off, with no setting but the ones binder/ made."""
    sys.path.insert(0, str(Path(__file__).parent))
    from browser_helpers import LabServer

    server = LabServer(binder_env.repo, tmp_path / "lab", python=binder_env.python, disable_news=False)
    try:
        server.start()
        config = server.page_config()
    finally:
        server.stop()
    names = [ext.get("name") for ext in config.get("federated_extensions", [])]
    assert WIDGETS_LABEXTENSION in names, names
    disabled = config.get("disabledExtensions", [])
    assert NEWS_PLUGIN in disabled, disabled


def _repo2docker() -> list[str] | None:
    exe = shutil.which("jupyter-repo2docker") or shutil.which("repo2docker")
    if exe:
        return [exe]
    local = Path(sys.executable).parent / "jupyter-repo2docker"
    return [str(local)] if local.exists() else None


@pytest.fixture(scope="module")
def repo2docker(tmp_path_factory) -> list[str]:
    """jupyter-repo2docker: the installed one, else one pip-installed into a throwaway venv (it needs no
    Docker engine for --no-build); skip where neither works."""
    found = _repo2docker()
    if found:
        return found
    venv = tmp_path_factory.mktemp("r2d") / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                               "--disable-pip-version-check", "jupyter-repo2docker"],
                              capture_output=True, text=True, timeout=600)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"jupyter-repo2docker not installed and not installable here: {exc}")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        pytest.skip(f"jupyter-repo2docker not installed and `pip install jupyter-repo2docker` failed: {last}")
    return [str(venv / "bin" / "jupyter-repo2docker")]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_repo2docker_uses_the_binder_folder(repo2docker, tmp_path):
    repo = _copy_repo(tmp_path / "repo")
    done = subprocess.run([*repo2docker, "--no-build", "--debug", "--no-run", "."], cwd=repo,
                          capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    assert "FROM " in out, f"no Dockerfile printed:\n{out[-6000:]}"
    version = runtime_version()
    assert f"python={version}" in out, f"runtime.txt (python-{version}) not picked up:\n{out[-3000:]}"
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in out, out[-6000:]
    assert re.search(r"^RUN \./binder/postBuild$", out, re.M), out[-6000:]
    # the install runs after the whole repository is copied in, so `.[lesson]` finds the package
    assert out.index("COPY --chown") < out.index('-r "binder/requirements.txt"')
    assert re.search(r"^COPY --chown=\S+ src/ \$\{REPO_DIR\}/$", out, re.M), out[-6000:]
    assert out.index("src/ ${REPO_DIR}/") < out.index('RUN ${KERNEL_PYTHON_PREFIX}/bin/pip install')
