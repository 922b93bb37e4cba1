"""Thin ipywidgets views over the models in ``models.py``.

Each function builds a widget tree, keeps the model on the top-level widget (``w.model``) and
the controls under readable names (``w.next_button``, ``w.suite_dropdown``, ...), so a test or a
browser can find and drive them. All the logic lives in the models; a view only turns model
state into HTML and pictures. Callbacks write into ``ipywidgets.Output`` widgets (setting their
``outputs``), never with bare ``print``; an exception in a callback is shown in the widget's
``status`` Output instead of vanishing into the kernel log.

ipywidgets and matplotlib are imported when a view is built, not when this package is imported.
"""
from __future__ import annotations

import base64
import html as _html
import time
import traceback
from collections import OrderedDict

from ..suites import SUITES
from . import hexview
from .models import VERSIONS, ExplorerModel, SuiteModel, TamperModel


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError as exc:          # pragma: no cover - depends on the environment
        raise ImportError("the lesson widgets need ipywidgets: pip install 'tlslesson[lesson]'"
                          ) from exc
    return ipywidgets


def _png_data(png: bytes, text: str) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text}}


def _html_data(html: str, text: str) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": html, "text/plain": text}}


def _guard(status, fn):
    """Run ``fn`` for a callback; show any exception in ``status`` (an Output)."""
    def handler(*args):
        try:
            fn(*args)
        except Exception as exc:        # a widget callback must never fail silently
            status.outputs = ({"output_type": "stream", "name": "stderr",
                               "text": f"{type(exc).__name__}: {exc}\n"
                                       + "".join(traceback.format_exc(limit=3))},)
    return handler


class _PngCache:
    """A small LRU cache (pictures keyed by the choices and the highlighted step)."""

    def __init__(self, size: int = 128):
        self.size, self.items = size, OrderedDict()

    def get(self, key, make):
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = self.items[key] = make()
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


def _ladder_png(steps, highlight=None, mark=None) -> bytes:
    from . import diagrams
    return diagrams.to_png(diagrams.ladder(steps, highlight=highlight, mark=mark))


def _choice_controls(w, model, width="430px"):
    version = w.Dropdown(options=list(VERSIONS), value=model.version, description="TLS",
                         layout=w.Layout(width="130px"), style={"description_width": "30px"})
    suite = w.Dropdown(options=model.choices(), value=model.suite, description="suite",
                       layout=w.Layout(width=width), style={"description_width": "40px"})
    client_auth = w.Checkbox(value=model.client_auth, description="client certificate",
                             indent=False, layout=w.Layout(width="150px"))
    ems = w.Checkbox(value=model.ems, description="extended master secret",
                     indent=False, disabled=model.version == "1.3",
                     layout=w.Layout(width="190px"))
    return version, suite, client_auth, ems


def _sync_choices(model, version, suite, client_auth, ems) -> None:
    version.value = model.version
    if list(suite.options) != model.choices():
        suite.options = model.choices()
    suite.value = model.suite
    client_auth.value = model.client_auth
    ems.value = model.ems
    ems.disabled = model.version == "1.3" or getattr(model, "fixed", False)


# =================================================================================================
def explorer(model: ExplorerModel | None = None, **choices):
    """The handshake explorer: pick version, suite, client authentication and EMS; step with
    Back/Next; the ladder highlights the current message, the hex view colours its fields, the
    table lists the values that exist so far (new ones highlighted).

    Returns a VBox with ``.model`` (the ExplorerModel), ``.next_button``, ``.back_button``,
    ``.version_dropdown``, ``.suite_dropdown``, ``.client_auth_checkbox``, ``.ems_checkbox``,
    ``.view_toggle``, ``.ladder_output``, ``.hex_html``, ``.values_html``, ``.position_html``,
    ``.status`` and ``.last_render_ms`` (how long the last redraw took)."""
    w = _ipywidgets()
    model = model or ExplorerModel(**choices)
    version, suite, client_auth, ems = _choice_controls(w, model)
    if getattr(model, "fixed", False):           # a capture: what it was, not a choice
        for control in (version, suite, client_auth, ems):
            control.disabled = True
    back = w.Button(description="◀ Back", layout=w.Layout(width="90px"))
    nxt = w.Button(description="Next ▶", layout=w.Layout(width="90px"), button_style="primary")
    position = w.HTML()
    toggle = w.ToggleButtons(options=[("message", "message"), ("record on the wire", "record")],
                             value="message", style={"button_width": "150px"})
    ladder_out = w.Output(layout=w.Layout(min_width="440px", max_width="460px"))
    hex_view = w.HTML(layout=w.Layout(overflow="auto", max_height="560px"))
    values = w.HTML(layout=w.Layout(overflow="auto"))
    status = w.Output()
    pictures = _PngCache()              # (choices, position) -> PNG bytes
    ladders = _PngCache(size=12)        # choices -> LadderPicture (drawn once per handshake)
    state = {"updating": False}

    def ladder_png(i: int) -> bytes:
        from .diagrams import LadderPicture
        picture = ladders.get(model.key, lambda: LadderPicture(model.steps))
        return picture.png(i)

    def render(_model=None) -> None:
        started = time.perf_counter()
        state["updating"] = True
        try:
            _sync_choices(model, version, suite, client_auth, ems)
        finally:
            state["updating"] = False
        i = model.position
        step = model.current
        png = pictures.get((model.key, i), lambda: ladder_png(i))
        ladder_out.outputs = (_png_data(png, f"ladder, message {i + 1} highlighted"),)
        position.value = (f"<b>{_html.escape(model.describe())}</b>"
                          f"<div style='color:#333;max-width:720px'>{_html.escape(model.note())}</div>")
        if toggle.value == "record":
            title = (f"{step.name} as sent: record header + "
                     + ("encrypted fragment" if step.protected else "plaintext fragment"))
            hex_view.value = hexview.hex_html(step.record, model.record_fields(), title=title)
        else:
            title = f"{step.name}: {len(step.wire)} bytes" + (
                " (decrypted: on the wire it is encrypted)" if step.protected else "")
            hex_view.value = hexview.hex_html(step.wire, model.fields(), title=title)
        before = set(model.values_so_far(i - 1)) if i else set()
        now = model.values_so_far()
        values.value = ("<div style='font-weight:bold;margin-top:6px'>values that exist after "
                        f"this message ({len(now)})</div>"
                        + hexview.values_table_html(now, model.value_notes(),
                                                    new=set(now) - before))
        back.disabled, nxt.disabled = model.at_start, model.at_end
        status.outputs = ()
        view.last_render_ms = (time.perf_counter() - started) * 1000

    def on_choice(change) -> None:
        if state["updating"]:
            return
        owner = change["owner"]
        if owner is version:
            model.set(version=change["new"])
        elif owner is suite and change["new"] is not None:
            model.set(suite=change["new"])
        elif owner is client_auth:
            model.set(client_auth=change["new"])
        elif owner is ems:
            model.set(ems=change["new"])

    for control in (version, suite, client_auth, ems):
        control.observe(_guard(status, on_choice), names="value")
    back.on_click(_guard(status, lambda _b: model.back()))
    nxt.on_click(_guard(status, lambda _b: model.forward()))
    toggle.observe(_guard(status, lambda _c: render()), names="value")

    view = w.VBox([
        w.HBox([version, suite]),
        w.HBox([client_auth, ems]),
        w.HBox([back, nxt, position], layout=w.Layout(align_items="center")),
        w.HBox([ladder_out, w.VBox([toggle, hex_view], layout=w.Layout(flex="1 1 480px",
                                                                        min_width="0"))],
               layout=w.Layout(flex_flow="row wrap")),
        values, status])
    view.model = model
    view.version_dropdown, view.suite_dropdown = version, suite
    view.client_auth_checkbox, view.ems_checkbox = client_auth, ems
    view.back_button, view.next_button, view.view_toggle = back, nxt, toggle
    view.ladder_output, view.hex_html, view.values_html = ladder_out, hex_view, values
    view.position_html, view.status = position, status
    view.last_render_ms = 0.0
    view.render = render
    model.on_change(_guard(status, render))
    render()
    return view


# =================================================================================================
_MASKS = [(f"bit {b} (0x{1 << b:02x})", 1 << b) for b in range(8)] + [("all 8 bits (0xff)", 0xFF)]


def _default_offset(model: TamperModel, index: int) -> int:
    for name in ("random", "verify_data", "AEAD tag", "ciphertext"):
        try:
            return model.offset_of(index, name)
        except KeyError:
            continue
    return min(5, model.targets()[index].length - 1)


def tamper_lab(model: TamperModel | None = None, **choices):
    """The tamper lab: choose a message and a byte of its record, flip bits, rerun the whole
    handshake, and see which check catches it (with which alert, noticed by whom).

    Returns a VBox with ``.model`` (the TamperModel), ``.message_dropdown``, ``.offset_slider``,
    ``.mask_dropdown``, ``.flip_button``, ``.field_html``, ``.preview_html``, ``.result_output``,
    ``.last_result`` (the TamperResult of the last flip), the choice controls
    (``.version_dropdown``, ``.suite_dropdown``, ``.client_auth_checkbox``, ``.ems_checkbox``)
    and ``.status``."""
    w = _ipywidgets()
    model = model or TamperModel(**choices)
    version, suite, client_auth, ems = _choice_controls(w, model)
    message = w.Dropdown(description="message", layout=w.Layout(width="430px"),
                         style={"description_width": "60px"})
    offset = w.IntSlider(description="byte", min=0, max=1, value=0, continuous_update=False,
                         layout=w.Layout(width="430px"), style={"description_width": "60px"})
    mask = w.Dropdown(options=_MASKS, value=1, description="flip", layout=w.Layout(width="200px"),
                      style={"description_width": "40px"})
    flip = w.Button(description="Flip and rerun", button_style="danger", icon="bolt")
    field_info = w.HTML()
    preview = w.HTML(layout=w.Layout(overflow="auto", max_height="300px"))
    result = w.Output()
    status = w.Output()
    state = {"updating": False}

    def targets_changed() -> None:
        state["updating"] = True
        try:
            _sync_choices(model, version, suite, client_auth, ems)
            message.options = [(f"{t.index + 1}. {t.sender}: {t.name} ({t.length} bytes)",
                                t.index) for t in model.targets()]
            message.value = 0
            offset.max = model.targets()[0].length - 1
            offset.value = _default_offset(model, 0)
        finally:
            state["updating"] = False
        result.outputs = ()
        show_byte()

    def show_byte(*_args) -> None:
        i, at = message.value, offset.value
        step = model.steps[i]
        f = model.field_at(i, at)
        where = f"in <b>{_html.escape(f.name)}</b>" if f else "outside every field"
        enc = " (an encrypted record: the receiver's AEAD/MAC check sees every byte)" \
            if step.protected else ""
        field_info.value = (f"byte {at} of {len(step.record)} of the {step.sender}'s "
                            f"{_html.escape(step.name)} record, {where}: "
                            f"0x{step.record[at]:02x} → 0x{step.record[at] ^ mask.value:02x}"
                            f"{enc}")
        fields = model.record_fields(i)
        preview.value = hexview.hex_html(step.record, fields, highlight=at,
                                         window=(max(at - 32, 0), at + 48))

    def message_changed(change) -> None:
        if state["updating"]:
            return
        i = change["new"]
        state["updating"] = True
        try:
            offset.max = model.targets()[i].length - 1
            offset.value = _default_offset(model, i)
        finally:
            state["updating"] = False
        show_byte()

    def on_choice(change) -> None:
        if state["updating"]:
            return
        owner = change["owner"]
        key = {version: "version", suite: "suite", client_auth: "client_auth", ems: "ems"}[owner]
        if change["new"] is not None:
            model.set(**{key: change["new"]})

    def do_flip(_button) -> None:
        r = model.flip(message.value, offset.value, mask.value)
        view.last_result = r
        if r.completed:
            colour, head = "#2b8a3e", "handshake completed"
        elif r.alert is None:
            colour, head = "#e67700", r.failed_check
        else:
            colour, head = "#c92a2a", (f"failed at {r.failed_check} with alert {r.alert} "
                                       f"(detected by {r.detected_by})")
        esc = _html.escape
        html = (f"<div style='border-left:4px solid {colour};padding:4px 8px'>"
                f"<div><b>{esc(r.target)}</b></div>"
                f"<div style='color:{colour};font-weight:bold;font-size:14px'>{esc(head)}</div>"
                + (f"<div>while processing: {esc(r.message)}</div>" if r.message else "")
                + (f"<div style='color:#555'>error: {esc(r.reason)}</div>" if r.reason else "")
                + f"<div>{esc(r.explanation)}</div></div>")
        alert_at = next((k for k, s in enumerate(r.steps) if s.name == "Alert"), None)
        png = _ladder_png(r.steps, highlight=alert_at, mark=message.value)
        result.outputs = (_html_data(html, r.summary()),
                          _png_data(png, "ladder of the tampered handshake"))

    for control in (version, suite, client_auth, ems):
        control.observe(_guard(status, on_choice), names="value")
    message.observe(_guard(status, message_changed), names="value")
    offset.observe(_guard(status, show_byte), names="value")
    mask.observe(_guard(status, show_byte), names="value")
    flip.on_click(_guard(status, do_flip))

    view = w.VBox([w.HBox([version, suite]), w.HBox([client_auth, ems]),
                   message, w.HBox([offset, mask]), field_info, preview, flip, result, status])
    view.model = model
    view.version_dropdown, view.suite_dropdown = version, suite
    view.client_auth_checkbox, view.ems_checkbox = client_auth, ems
    view.message_dropdown, view.offset_slider, view.mask_dropdown = message, offset, mask
    view.flip_button, view.field_html, view.preview_html = flip, field_info, preview
    view.result_output, view.status, view.last_result = result, status, None
    model.on_change(_guard(status, lambda _m: targets_changed()))
    targets_changed()
    return view


# =================================================================================================
def suite_picker(model: SuiteModel | None = None, value: str | None = None):
    """A dropdown of every suite; below it the name coloured part by part with one sentence per
    part. Returns a VBox with ``.model`` (SuiteModel), ``.dropdown`` and ``.explanation_html``."""
    w = _ipywidgets()
    model = model or SuiteModel()
    options = [(f"TLS {s.version}: {s.name}", s.name) for s in SUITES]
    dropdown = w.Dropdown(options=options, value=value or SUITES[0].name, description="suite",
                          layout=w.Layout(width="520px"), style={"description_width": "40px"})
    explanation = w.HTML()
    status = w.Output()

    def render(*_args) -> None:
        explanation.value = hexview.suite_html(dropdown.value, model)

    dropdown.observe(_guard(status, render), names="value")
    view = w.VBox([dropdown, explanation, status])
    view.model, view.dropdown, view.explanation_html, view.status = model, dropdown, explanation, \
        status
    render()
    return view
