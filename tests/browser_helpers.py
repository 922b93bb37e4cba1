"""A private JupyterLab server and a headless Chromium driven by Playwright, for tests/test_browser.py.

Nothing here touches the user's Jupyter setup: the server gets its own config, data, runtime, settings and
workspace folders, runs on 127.0.0.1 with a random token, and serves a *copy* of the notebooks (so running
them in the browser can never save outputs into the repository's notebooks).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# JupyterLab settings for the test server (its own settings folder): no autosave (the copy is thrown
# away anyway), every cell in the DOM (windowing would leave off-screen cells unrendered, so neither
# the error check nor the screenshot would see them), no news pop-up, no "kernel busy" notifications.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none", "scrollPastEnd": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
}
# The same switch binder/postBuild sets with `jupyter labextension disable`.
DISABLED_EXTENSIONS = {"@jupyterlab/apputils-extension:announcements": True}


def browser_unavailable_reason() -> str | None:
    """Why the browser test can't run here, or None when it can."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"Playwright for Python not importable ({exc}); pip install playwright (never `playwright install`)"
    try:
        import jupyterlab  # noqa: F401
        import ipykernel  # noqa: F401
        import ipywidgets  # noqa: F401
    except ImportError as exc:
        return f"JupyterLab/ipykernel/ipywidgets not installed ({exc}): pip install -e '.[lesson,test]'"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """`python -m jupyterlab` on 127.0.0.1 in a sandbox of folders under `base`.

    root_dir is what the file browser shows; the kernel imports the package from `pythonpath`.
    """

    def __init__(self, root_dir: Path, base: Path, python: str = sys.executable, pythonpath: Path | None = None,
                 disable_news: bool = True):
        self.root_dir = Path(root_dir)
        self.disable_news = disable_news
        self.base = Path(base)
        self.python = python
        self.pythonpath = pythonpath
        self.port = 0
        self.token = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self.log_path = self.base / "jupyterlab.log"

    # -- lifecycle -------------------------------------------------------------------------------
    def _env(self) -> dict:
        dirs = {name: self.base / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython", "mpl")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        if self.disable_news:
            (dirs["config"] / "labconfig").mkdir(exist_ok=True)
            (dirs["config"] / "labconfig" / "page_config.json").write_text(
                json.dumps({"disabledExtensions": DISABLED_EXTENSIONS}, indent=1))
        for rel, values in LAB_SETTINGS.items():
            path = dirs["settings"] / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values, indent=1))
        env = dict(os.environ)
        for var in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PREFER_ENV_PATH"):
            env.pop(var, None)
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
            IPYTHONDIR=str(dirs["ipython"]),
            MPLCONFIGDIR=str(dirs["mpl"]),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONDONTWRITEBYTECODE="1",
        )
        if self.pythonpath is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.pythonpath), os.environ.get("PYTHONPATH")]))
        return env

    def start(self, timeout: float = 90) -> "LabServer":
        env = self._env()
        self.port = free_port()
        cmd = [
            self.python, "-m", "jupyterlab",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            "--ServerApp.open_browser=False", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--LabApp.user_settings_dir={env['JUPYTERLAB_SETTINGS_DIR']}",
            f"--LabApp.workspaces_dir={env['JUPYTERLAB_WORKSPACES_DIR']}",
            "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--ServerApp.terminals_enabled=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root_dir, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.api("/api").get("version"):
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer /api within {timeout:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    # -- REST -------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(self.url + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def kernel_states(self, notebook_path: str) -> list[str]:
        """execution_state of the kernel(s) of sessions whose path is notebook_path."""
        return [s["kernel"]["execution_state"] for s in self.api("/api/sessions")
                if s.get("path") == notebook_path and s.get("kernel")]

    def shutdown_kernels(self) -> None:
        for s in self.api("/api/sessions"):
            try:
                self.api(f"/api/sessions/{s['id']}", method="DELETE")
            except (OSError, ValueError):
                pass

    def page_config(self) -> dict:
        """The page config JupyterLab serves in /lab (extensions, disabled plugins, ...)."""
        req = urllib.request.Request(f"{self.url}/lab?token={self.token}")
        with urllib.request.urlopen(req, timeout=10) as resp:
            html = resp.read().decode()
        m = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
        if not m:
            raise ValueError("no jupyter-config-data in /lab")
        return json.loads(m.group(1))

    def lab_url(self, notebook_path: str, reset: bool = True) -> str:
        """JupyterLab opening the notebook; `reset` starts from an empty workspace (otherwise the
        notebooks opened before come back too, each starting a kernel)."""
        return f"{self.url}/lab/tree/{notebook_path}?token={self.token}" + ("&reset" if reset else "")


# ----------------------------------------------------------------------------------------------------
# In-page helpers (Playwright `page`)
# ----------------------------------------------------------------------------------------------------
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"

# Widget reprs that show up as plain text when the ipywidgets front end isn't active in JupyterLab.
_WIDGET_REPR = re.compile(r"^(HBox|VBox|Box|GridBox|Tab|Accordion|Dropdown|Button|IntSlider|FloatSlider|"
                          r"SelectionSlider|ToggleButtons|HTML|Output|Label|Text|Textarea|Checkbox|"
                          r"RadioButtons|Select|Play|[A-Z][A-Za-z]*Widget)\(", re.M)


def open_notebook(page, server: LabServer, notebook_path: str, timeout_ms: int = 60_000) -> None:
    """Open the notebook in JupyterLab and wait until its kernel is connected and idle."""
    page.goto(server.lab_url(notebook_path), wait_until="domcontentloaded")
    page.locator(f"{NOTEBOOK} .jp-Notebook .jp-Cell").first.wait_for(timeout=timeout_ms)
    # a notebook without kernel metadata asks which kernel to use: take the default (python3)
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    if dialog.count():
        dialog.first.click()
    wait_kernel_idle(page, server, notebook_path, timeout_ms=timeout_ms, require_prompts=False, settle_s=0.3)


def menu(page, top: str, item: str) -> None:
    """Click a menu bar entry, then an item of its menu (exact labels), as a student would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel",
                 has_text=re.compile(rf"^{re.escape(item)}$")).click()


def run_all(page) -> None:
    """Edit > Clear Outputs of All Cells (the notebooks store expected outputs for nbval: without
    clearing, their prompts would look executed already), then Run > Run All Cells."""
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(
        """(sel) => ![...document.querySelectorAll(sel + ' .jp-CodeCell .jp-InputArea-prompt')]
                     .some(p => /\\d/.test(p.textContent))""", arg=NOTEBOOK, timeout=10_000)
    menu(page, "Run", "Run All Cells")


_PAGE_STATE_JS = """
(sel) => {
  const nb = document.querySelector(sel);
  if (!nb) return null;
  // prompts of the code cells that have code (JupyterLab doesn't execute an empty cell)
  const prompts = [...nb.querySelectorAll('.jp-CodeCell')]
      .filter(c => ((c.querySelector('.cm-content') || {}).innerText || '').trim() !== '')
      .map(c => (c.querySelector('.jp-InputArea-prompt') || {}).textContent.trim());
  const ind = nb.querySelector('.jp-Notebook-ExecutionIndicator');
  return {prompts, indicator: ind ? ind.getAttribute('data-status') : null};
}
"""


def page_state(page) -> dict | None:
    return page.evaluate(_PAGE_STATE_JS, NOTEBOOK)


def wait_kernel_idle(page, server: LabServer, notebook_path: str, timeout_ms: int = 120_000,
                     require_prompts: bool = True, settle_s: float = 0.6) -> dict:
    """Wait until no cell is queued or running (`[*]`), the notebook's kernel indicator says idle and
    the server says the kernel is idle, and that holds for `settle_s`."""
    deadline = time.monotonic() + timeout_ms / 1000
    stable_since = None
    state = None
    while time.monotonic() < deadline:
        state = page_state(page)
        ok = (
            state is not None
            and state["indicator"] == "idle"
            and not any("*" in p for p in state["prompts"])
            and server.kernel_states(notebook_path) == ["idle"]
        )
        if ok and require_prompts:
            ok = all(re.search(r"\d", p) for p in state["prompts"]) or _any_error(page)
        if ok:
            stable_since = stable_since or time.monotonic()
            if time.monotonic() - stable_since >= settle_s:
                return state
        else:
            stable_since = None
        time.sleep(0.2)
    raise AssertionError(f"{notebook_path}: kernel not idle after {timeout_ms / 1000:.0f} s; last state {state}")


_ERRORS_JS = r"""
(sel) => {
  const nb = document.querySelector(sel);
  const found = [];
  if (!nb) return found;
  const cells = [...nb.querySelectorAll('.jp-Cell')];
  cells.forEach((cell, i) => {
    for (const out of cell.querySelectorAll('.jp-OutputArea-output')) {
      const text = out.innerText || '';
      const mime = out.getAttribute('data-mime-type') || '';
      const isError = (mime === 'application/vnd.jupyter.stderr' &&
                       /Traceback|Error\b|Exception\b|\x1b\[|---------------------------/.test(text)
                       && !/^\s*\S*Warning:/.test(text))
                      || /Error displaying widget|Failed to load (model|view) class|Could not create (a )?(model|view)/.test(text)
                      || out.classList.contains('jp-RenderedText') && /^\s*Traceback \(most recent call last\)/.test(text);
      if (isError) found.push({cell: i, mime, text: text.slice(0, 2000)});
    }
  });
  return found;
}
"""


def error_outputs(page) -> list[dict]:
    """Outputs that show an error: tracebacks (error outputs render as application/vnd.jupyter.stderr with
    the traceback text, also inside ipywidgets.Output) and widgets the front end failed to render."""
    return page.evaluate(_ERRORS_JS, NOTEBOOK)


def _any_error(page) -> bool:
    return bool(error_outputs(page))


_TEXT_OUTPUTS_JS = """
(sel) => [...document.querySelectorAll(sel + ' .jp-OutputArea-output[data-mime-type="text/plain"]')]
           .map(o => o.innerText)
"""


def unrendered_widgets(page) -> list[str]:
    """text/plain outputs that are a widget's repr: the ipywidgets lab extension isn't active."""
    return [t[:200] for t in page.evaluate(_TEXT_OUTPUTS_JS, NOTEBOOK) if _WIDGET_REPR.search(t)]


def counts(page) -> dict:
    """How many widgets, images (figures) and SVGs the notebook's outputs show."""
    return page.evaluate("""
      (sel) => {
        const nb = document.querySelector(sel);
        const q = (s) => nb ? nb.querySelectorAll(s).length : 0;
        return {
          code_cells: q('.jp-CodeCell'),
          widgets: q('.jp-OutputArea-output .jupyter-widgets.widget-container, .jp-OutputArea-output > .jupyter-widgets, .jp-OutputArea-output .jupyter-widgets'),
          widget_views: q('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]'),
          images: q('.jp-OutputArea-output img'),
          svgs: q('.jp-OutputArea-output svg'),
        };
      }""", NOTEBOOK)


def collapse_left_sidebar(page) -> None:
    """Close the file browser so the notebook gets the whole width (as View > Left Sidebar does)."""
    tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if tab.count():
        tab.first.click()


@contextlib.contextmanager
def tall_viewport(page, max_height: int = 16000):
    """JupyterLab scrolls inside its notebook panel, so a 'full page' screenshot only shows the
    viewport: grow the viewport to the notebook's whole height for the duration."""
    size = page.viewport_size or {"width": 1280, "height": 900}
    extra = page.evaluate("""
      (sel) => {
        const nb = document.querySelector(sel + ' .jp-WindowedPanel-outer') ||
                   document.querySelector(sel + ' .jp-Notebook');
        if (!nb) return 0;
        return Math.max(0, nb.scrollHeight - nb.clientHeight);
      }""", NOTEBOOK)
    page.set_viewport_size({"width": size["width"], "height": min(max_height, size["height"] + int(extra) + 40)})
    try:
        page.wait_for_timeout(400)  # let JupyterLab re-lay out
        yield
    finally:
        page.set_viewport_size(size)


def screenshot_notebook(page, path: Path) -> None:
    """A screenshot of the whole notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tall_viewport(page):
        page.screenshot(path=str(path), full_page=True)


def screenshot_element(locator, path: Path) -> None:
    """A screenshot of one widget, whole even when it is taller than the window."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tall_viewport(locator.page):
        locator.screenshot(path=str(path))


def copy_course(root: Path, dest: Path) -> Path:
    """Copy the notebooks (only) into dest/notebooks; return dest."""
    shutil.copytree(root / "notebooks", dest / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return dest
