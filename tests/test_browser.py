"""The lessons the way students see them: JupyterLab in a real (headless) Chromium.

For every notebooks/NN-*.ipynb: open it in JupyterLab, Edit > Clear Outputs, Run > Run All Cells, wait
until the kernel is idle, and check that no cell shows an error, that every cell ran, that widgets are
rendered as widgets (not as their text repr) and that the figures are there as images. The handshake
explorer, the tamper lab and the suite picker are then driven by their visible labels. A screenshot of
each notebook goes to tests/artifacts/screenshots/NN.png (and NN-explorer.png, NN-tamper.png, ...).

Needs Debian's Chromium at /usr/bin/chromium and Playwright for Python (`pip install playwright`, never
`playwright install`); skips and says why where either is missing. One JupyterLab server and one browser
serve the whole module.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest

from browser_helpers import (CHROMIUM, CHROMIUM_ARGS, LabServer, browser_unavailable_reason,
                             collapse_left_sidebar, copy_course, counts, error_outputs, open_notebook,
                             run_all, screenshot_element, screenshot_notebook, unrendered_widgets, wait_kernel_idle)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
SHOTS = ROOT / "tests" / "artifacts" / "screenshots"
FIGURE_CALLS = re.compile(r"\b(ladder|key_tree|suite_chart|plt\.\w+|subplots|Figure)\(")
WIDGET_CALLS = re.compile(r"\b(explorer|tamper_lab|suite_picker)\(")


pytestmark = pytest.mark.browser


# ---------------------------------------------------------------------------------------------------
# One JupyterLab server and one browser page for the module
# ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("lab")
    # a copy: running a notebook in the browser must never write outputs into the repository
    course = copy_course(ROOT, base / "course")
    server = LabServer(course, base / "jupyter", pythonpath=ROOT).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser_page(lab, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(30_000)
        page.js_errors = []
        page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
        try:
            yield page
        finally:
            context.close()


def _code(name: str, folder: Path = ROOT / "notebooks") -> str:
    nb = nbformat.read(folder / name, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _shot(name: str, suffix: str = "") -> Path:
    return SHOTS / f"{name[:2]}{suffix}.png"


# ---------------------------------------------------------------------------------------------------
# Every notebook: Run All, no error, widgets and figures rendered
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(lab, browser_page, name):
    page, path = browser_page, f"notebooks/{name}"
    code = _code(name, lab.root_dir / "notebooks")  # the copy the server runs (authors may be editing)
    page.js_errors.clear()
    t = [time.monotonic()]
    try:
        open_notebook(page, lab, path)
        collapse_left_sidebar(page)
        t.append(time.monotonic())
        run_all(page)
        state = wait_kernel_idle(page, lab, path, timeout_ms=180_000)
        t.append(time.monotonic())
        errors, unrendered, seen = error_outputs(page), unrendered_widgets(page), counts(page)
        screenshot_notebook(page, _shot(name))
        t.append(time.monotonic())

        assert not errors, f"{name}: cells show errors (see {_shot(name)}):\n" + "\n".join(
            f"--- cell {e['cell']}\n{e['text']}" for e in errors)
        not_run = [i for i, p in enumerate(state["prompts"]) if not re.search(r"\d", p)]
        assert not not_run, f"{name}: code cells that did not run: {not_run} (prompts {state['prompts']})"
        assert not unrendered, f"{name}: widgets shown as text (is the ipywidgets lab extension active?): {unrendered}"
        if WIDGET_CALLS.search(code):
            assert seen["widgets"] > 0, f"{name}: makes widgets but none rendered: {seen}"
        if FIGURE_CALLS.search(code):
            assert seen["images"] + seen["svgs"] > 0, f"{name}: draws figures but no image rendered: {seen}"

        # the widgets, driven by their visible labels
        if re.search(r"\bexplorer\(", code):
            check_explorer(page, name)
        if re.search(r"\btamper_lab\(", code):
            check_tamper_lab(page, name)
        if re.search(r"\bsuite_picker\(", code):
            check_suite_picker(page, name)
        errors = error_outputs(page)
        assert not errors, f"{name}: errors after driving the widgets:\n" + "\n".join(e["text"] for e in errors)
        t.append(time.monotonic())
        print(f"{name}: open {t[1] - t[0]:.1f} s, run all {t[2] - t[1]:.1f} s, screenshot {t[3] - t[2]:.1f} s, "
              f"widget checks {t[4] - t[3]:.1f} s; {seen}"
              + (f"; page errors: {page.js_errors}" if page.js_errors else ""))
    finally:
        try:
            lab.shutdown_kernels()
        except OSError:
            pass


def test_the_explorer_and_the_tamper_lab_are_shown_somewhere():
    """The widget checks above run wherever a notebook calls explorer()/tamper_lab(): make sure the
    course has them at all (00-start-here and 11-tamper-and-attack-lab are planned to)."""
    code = {name: _code(name) for name in NOTEBOOKS}
    assert any(re.search(r"\bexplorer\(", c) for c in code.values()), "no notebook shows explorer()"
    assert any(re.search(r"\btamper_lab\(", c) for c in code.values()), "no notebook shows tamper_lab()"


# ---------------------------------------------------------------------------------------------------
# Widget checks (they know the widgets only by what a student sees: labels and button texts)
# ---------------------------------------------------------------------------------------------------
def _button(scope, text: str):
    """A button by its visible text (an icon, as on "Flip and rerun", adds no text)."""
    return scope.locator("button").filter(has_text=re.compile(rf"^\s*{re.escape(text)}\s*$"))


def _widget_root(page, button_text: str):
    """The cell output holding the widget with that button."""
    root = page.locator(".jp-Cell-outputArea > .jp-OutputArea-child").filter(has=_button(page, button_text))
    assert root.count() >= 1, f"no widget with a {button_text!r} button"
    return root.first


def _dropdown(root, label: str):
    return root.locator(".widget-dropdown").filter(
        has=root.page.locator("label.widget-label", has_text=re.compile(rf"^{re.escape(label)}$"))).locator("select").first


def _wait_for_change(snap, before: dict, keys, what: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    now = snap()
    while time.monotonic() < deadline:
        now = snap()
        if all(now[k] != before[k] for k in keys):
            return now
        time.sleep(0.2)
    raise AssertionError(f"{what}: no change of {keys} within {timeout:.0f} s:\nbefore {before}\nafter  {now}")


_EXPLORER_SNAPSHOT = """
(root) => {
  const buttons = [...root.querySelectorAll('button')];
  const next = buttons.find(b => b.textContent.trim() === 'Next ▶');
  const row = next && next.closest('.widget-hbox');
  const position = row ? [...row.querySelectorAll('.widget-html')].map(e => e.innerText).join(' ') : '';
  const toggle = root.querySelector('.widget-toggle-buttons');
  const hexBox = toggle && toggle.closest('.widget-vbox');
  const hex = hexBox ? [...hexBox.querySelectorAll('.widget-html')].map(e => e.innerText).join('\\n') : '';
  const img = root.querySelector('img');
  const src = img ? img.getAttribute('src') || '' : '';
  let h = 0; for (let i = 0; i < src.length; i++) h = (h * 31 + src.charCodeAt(i)) | 0;
  const sel = [...root.querySelectorAll('.widget-dropdown')].map(d => d.querySelector('select').value);
  return {position: position.trim(), hex: hex.trim(), ladder: src ? `${src.length}:${h}` : '', choices: sel.join('|')};
}
"""


def check_explorer(page, name: str) -> None:
    root = _widget_root(page, "Next ▶")
    root.scroll_into_view_if_needed()
    snap = lambda: root.evaluate(_EXPLORER_SNAPSHOT)  # noqa: E731
    s0 = snap()
    assert s0["position"] and s0["hex"] and s0["ladder"], f"explorer not fully rendered: {s0}"

    # step forward: another message is highlighted (the ladder picture and the current message change)
    _button(root, "Next ▶").click()
    s1 = _wait_for_change(snap, s0, ("position", "ladder", "hex"), "explorer Next ▶")
    assert s1["position"].split(":")[-1] != s0["position"].split(":")[-1], (s0["position"], s1["position"])

    # another cipher suite, preferably with another key exchange (another message list)
    suite = _dropdown(root, "suite")
    if suite.is_disabled():
        # an explorer on a capture (notebook 15): the connection's suite is fixed, the control greyed
        assert len(suite.locator("option").evaluate_all("os => os.map(o => o.value)")) == 1
        return
    current = suite.input_value()
    options = suite.locator("option").evaluate_all("os => os.map(o => o.value)")
    kx = lambda s: s.split("_WITH_")[0]  # noqa: E731
    others = [o for o in options if o != current]
    assert others, f"the suite dropdown offers one suite only: {options}"
    # RSA key exchange has no ServerKeyExchange: the message list itself changes
    target = next((o for o in others if kx(o) == "TLS_RSA"), None) or \
        next((o for o in others if kx(o) != kx(current)), others[0])
    suite.select_option(value=target)
    # the bytes of the shown message (hex view) and the message list (the ladder picture) change
    s2 = _wait_for_change(snap, s1, ("hex", "ladder", "choices"), f"explorer suite {current} -> {target}")
    screenshot_element(root, _shot(name, "-explorer"))

    # and step forward once more in the new handshake
    _button(root, "Next ▶").click()
    _wait_for_change(snap, s2, ("position", "ladder"), "explorer Next ▶ after the suite change")


def check_tamper_lab(page, name: str) -> None:
    from tlslesson.constants import AlertDescription

    root = _widget_root(page, "Flip and rerun")
    root.scroll_into_view_if_needed()
    result_text = lambda: root.evaluate(  # noqa: E731
        "(r) => [...r.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\\n')")
    before = result_text()
    _button(root, "Flip and rerun").click()
    deadline = time.monotonic() + 60
    text = before
    while time.monotonic() < deadline:
        text = result_text()
        if text != before and re.search(r"failed at|handshake completed|alert", text):
            break
        time.sleep(0.2)
    assert "handshake completed" not in text, f"flipping a byte went unnoticed:\n{text}"
    m = re.search(r"failed at (.+?) with alert (\w+)", text)
    assert m, f"the tamper lab shows no failure with an alert:\n{text}"
    assert m.group(2) in AlertDescription.__members__, f"unknown alert {m.group(2)!r} in:\n{text}"
    assert root.locator("img").count() >= 1, "no ladder of the tampered handshake"
    screenshot_element(root, _shot(name, "-tamper"))


def check_suite_picker(page, name: str) -> None:
    # the picker is the dropdown labelled "suite" that has no explorer/tamper buttons next to it
    roots = page.locator(".jp-Cell-outputArea > .jp-OutputArea-child").filter(
        has=page.locator("label.widget-label", has_text=re.compile(r"^suite$"))).filter(
        has_not=page.get_by_role("button"))
    if roots.count() == 0:
        pytest.fail(f"{name}: calls suite_picker() but no suite dropdown without buttons is shown")
    root = roots.first
    root.scroll_into_view_if_needed()
    text = lambda: root.evaluate("(r) => [...r.querySelectorAll('.widget-html')].map(e => e.innerText).join('\\n')")  # noqa: E731
    before = text()
    assert before.strip(), "the suite picker shows no explanation"
    suite = _dropdown(root, "suite")
    options = suite.locator("option").evaluate_all("os => os.map(o => o.value)")
    target = next(o for o in options if o != suite.input_value())
    suite.select_option(value=target)
    deadline = time.monotonic() + 30
    while text() == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert text() != before, f"the suite picker's explanation did not change for {target}"
    screenshot_element(root, _shot(name, "-suites"))
