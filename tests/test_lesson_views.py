"""The lesson widgets and pictures, built and driven without a browser (ipywidgets objects,
matplotlib's Agg renderer): a click on Next must move the highlight, a suite change must redraw.
How fast they react is measured by benchmarks/bench.py (explorer section), not asserted here."""
from __future__ import annotations

import base64

import pytest

ipywidgets = pytest.importorskip("ipywidgets")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib import _pylab_helpers

from tlslesson.lesson import (
    ExplorerModel,
    TamperModel,
    explorer,
    key_tree,
    ladder,
    suite_chart,
    suite_picker,
    tamper_lab,
)
from tlslesson.lesson.diagrams import STRONG, to_png
from tlslesson.lesson.models import SuiteMeasurement

PNG = b"\x89PNG\r\n\x1a\n"
RSA_KX = "TLS_RSA_WITH_AES_128_GCM_SHA256"


def image(output) -> bytes:
    """The PNG an Output widget currently shows."""
    (item,) = [o for o in output.outputs if "image/png" in o.get("data", {})]
    return base64.b64decode(item["data"]["image/png"])


# -- explorer ----------------------------------------------------------------------------------------
def test_explorer_builds_without_a_browser():
    view = explorer()
    assert isinstance(view, ipywidgets.VBox)
    assert isinstance(view.model, ExplorerModel)
    assert isinstance(view.next_button, ipywidgets.Button)
    assert image(view.ladder_output).startswith(PNG)
    assert "ClientHello" in view.hex_html.value and "random" in view.hex_html.value
    assert "client_random" in view.values_html.value
    assert view.status.outputs == ()
    assert view.back_button.disabled and not view.next_button.disabled


def test_next_and_back_buttons_move_the_highlighted_step():
    view = explorer()
    first_picture = image(view.ladder_output)
    view.next_button.click()
    assert view.model.position == 1 and view.model.current.name == "ServerHello"
    assert image(view.ladder_output) != first_picture            # the highlight moved
    assert "ServerHello" in view.position_html.value
    assert "server_random" in view.values_html.value
    assert "#fff3bf" in view.values_html.value                   # the new value is marked
    view.back_button.click()
    assert view.model.position == 0
    assert image(view.ladder_output) == first_picture             # same picture (cached)
    view.model.goto(len(view.model.steps) - 1)
    assert view.next_button.disabled


def test_suite_change_recomputes_and_redraws():
    view = explorer()
    view.model.goto(3)                                             # ServerKeyExchange (ECDHE)
    picture, hexdump = image(view.ladder_output), view.hex_html.value
    assert "ServerKeyExchange" in hexdump
    view.suite_dropdown.value = RSA_KX
    assert view.model.suite == RSA_KX
    assert "ServerKeyExchange" not in [s.name for s in view.model.steps]
    assert image(view.ladder_output) != picture
    assert view.hex_html.value != hexdump
    assert view.status.outputs == ()


def test_version_change_updates_the_suite_list_and_disables_ems():
    view = explorer()
    view.version_dropdown.value = "1.3"
    assert view.model.version == "1.3"
    assert list(view.suite_dropdown.options) == view.model.choices()
    assert view.suite_dropdown.value == "TLS_AES_128_GCM_SHA256"
    assert view.ems_checkbox.disabled
    view.client_auth_checkbox.value = True
    assert "CertificateRequest" in [s.name for s in view.model.steps]
    view.view_toggle.value = "record"
    assert "record header" in view.hex_html.value
    assert view.status.outputs == ()


def test_a_failing_callback_shows_its_error_in_the_status_output():
    view = explorer()

    def broken():
        raise RuntimeError("boom")
    view.model.forward = broken
    view.next_button.click()
    (item,) = view.status.outputs
    assert item["name"] == "stderr" and "RuntimeError: boom" in item["text"]


def test_explorer_redraws_for_every_suite():
    """Every suite of the dropdown gives a new handshake and a picture, and Next still steps.
    (How fast: the explorer section of benchmarks/bench.py, with its target.)"""
    view = explorer()
    for name in view.model.choices():
        view.suite_dropdown.value = name
        assert view.model.suite == name
        assert image(view.ladder_output).startswith(PNG)
        before, last = view.model.position, len(view.model.steps) - 1
        view.next_button.click()
        assert view.model.position == min(before + 1, last)
    assert view.status.outputs == ()


# -- tamper lab -------------------------------------------------------------------------------------
def test_tamper_lab_flip_reports_the_check_and_the_alert():
    view = tamper_lab()
    assert isinstance(view.model, TamperModel)
    assert "random" in view.field_html.value                       # default: ClientHello random
    fin = view.model.index_of("Finished", "server")
    view.message_dropdown.value = fin
    assert view.offset_slider.max == len(view.model.steps[fin].record) - 1
    view.flip_button.click()
    result = view.last_result
    assert (result.alert, result.detected_by) == ("bad_record_mac", "client")
    html, picture = view.result_output.outputs
    assert "failed at record MAC/AEAD tag with alert bad_record_mac (detected by client)" in \
        html["data"]["text/html"]
    assert base64.b64decode(picture["data"]["image/png"]).startswith(PNG)
    view.ems_checkbox.value = False                                  # new handshake: reset
    assert view.model.ems is False and view.result_output.outputs == ()
    assert view.status.outputs == ()


# -- suite picker ------------------------------------------------------------------------------------
def test_suite_picker_explains_the_chosen_suite():
    view = suite_picker()
    view.dropdown.value = "TLS_RSA_WITH_AES_128_CBC_SHA"
    assert "HMAC-SHA1" in view.explanation_html.value
    assert "MAC-then-encrypt" in view.explanation_html.value
    view.dropdown.value = "TLS_CHACHA20_POLY1305_SHA256"
    assert "key_share" in view.explanation_html.value


# -- pictures ----------------------------------------------------------------------------------------
def test_ladder_picture_repaints_only_the_highlight():
    from tlslesson.lesson import diagrams
    model = ExplorerModel()
    picture = diagrams.LadderPicture(model.steps)
    plain, third = picture.png(None), picture.png(3)
    assert plain.startswith(PNG) and third != plain
    assert picture.png(3) == third and picture.png(None) == plain   # nothing accumulates
    failures, tried = __import__("doctest").testmod(diagrams)
    assert tried and not failures


def test_pictures_use_the_figure_api_and_leak_nothing_into_pyplot():
    managers = _pylab_helpers.Gcf.get_num_fig_managers()
    model = ExplorerModel(client_auth=True)
    fig = ladder(model.steps, highlight=2)
    arrows = [a for a in fig.axes[0].texts if a.get_text() == ""]   # annotate() arrows
    colours = {a.arrow_patch.get_edgecolor() for a in arrows}
    assert matplotlib.colors.to_rgba(STRONG) in colours
    assert len(arrows) == len(model.steps)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "Finished [enc]" in labels and "ClientHello" in labels
    assert to_png(fig).startswith(PNG) and fig._repr_png_().startswith(PNG)
    for version in ("1.2", "1.3"):
        assert to_png(key_tree(version, values=model.values_so_far())).startswith(PNG)
    rows = [SuiteMeasurement("TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", "1.3", 2.0, 1,
                             3, 2650, 259, 2391),
            SuiteMeasurement("X", "ECDHE-RSA-AES128-GCM-SHA256", "1.2", 3.0, 2, 4, 2514, 221, 2293)]
    assert to_png(suite_chart(rows)).startswith(PNG)
    assert _pylab_helpers.Gcf.get_num_fig_managers() == managers


def layout_problems(fig) -> list[str]:
    """Texts of a figure that overlap each other, overlap a box they are not inside, or are cut
    off by the figure's edge (measured on the Agg renderer, in pixels)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    problems = []
    for ax in fig.axes:
        texts = [(t.get_text(), t.get_window_extent(renderer).padded(-1))
                 for t in [*ax.texts, ax.title] if t.get_text().strip()]
        boxes = [p.get_window_extent(renderer) for p in ax.patches]
        for i, (text, extent) in enumerate(texts):
            problems += [f"{text!r} overlaps {other!r}" for other, e in texts[i + 1:]
                         if extent.overlaps(e)]
            cx, cy = (extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2
            if any(extent.overlaps(b) and not b.contains(cx, cy) for b in boxes):
                problems.append(f"{text!r} overlaps a box it is not in")
            if (extent.x0 < 0 or extent.y0 < 0 or extent.x1 > fig.bbox.x1
                    or extent.y1 > fig.bbox.y1):
                problems.append(f"{text!r} is cut off by the figure's edge")
    return problems


def test_every_lesson_picture_is_laid_out_without_overlaps():
    from tlslesson.connection import ClientConfig, ServerConfig, handshake
    from tlslesson.constants import NamedGroup
    from tlslesson.lesson import handshake_values, ladders
    from tlslesson.rng import lesson_rngs
    from tlslesson.suites import get as get_suite

    def run(versions, client=None, server=None):
        client_rng, server_rng = lesson_rngs("tls-lesson")
        return handshake(ClientConfig(versions=versions, rng=client_rng, **(client or {})),
                         ServerConfig(rng=server_rng, **(server or {})))

    h12, h13 = run(("1.2",)), run(("1.3",))
    hrr = run(("1.3",), {"key_share_groups": (NamedGroup.x25519,)},
              {"groups": (NamedGroup.secp256r1,)})
    assert "HelloRetryRequest" in [t.get_text() for t in ladder(hrr.steps).axes[0].texts]
    partial = ExplorerModel(version="1.3")
    partial.goto(3)
    rows = [SuiteMeasurement("TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256",
                             "1.3", 2.0, 1, 3, 2650, 259, 2391),
            SuiteMeasurement("X", "ECDHE-ECDSA-AES128-GCM-SHA256", "1.2", 3.0, 2, 4, 2514, 221,
                             2293)]
    pictures = {
        "ladder 1.2": ladder(h12.steps),
        "ladder 1.2, client auth, tampered": ladder(ExplorerModel(client_auth=True).steps,
                                                    highlight=2, mark=0, title="a title"),
        "ladder 1.3 HRR": ladder(hrr.steps, mark=3),
        "ladders": ladders(h12.steps, hrr.steps, titles=("TLS 1.2", "TLS 1.3 with HRR")),
        "key_tree 1.2": key_tree("1.2"),
        "key_tree 1.2 values": key_tree("1.2", values=handshake_values(h12)),
        "key_tree 1.2 CBC, no EMS": key_tree("1.2", ems=False, suite=get_suite("AES128-SHA")),
        "key_tree 1.2 ChaCha20": key_tree("1.2", values=handshake_values(h12),
                                          suite="ECDHE-RSA-CHACHA20-POLY1305"),
        "key_tree 1.3": key_tree("1.3"),
        "key_tree 1.3 values": key_tree("1.3", values=handshake_values(h13)),
        "key_tree 1.3 partial": key_tree("1.3", values=partial.values_so_far()),
        "suite_chart": suite_chart(rows),
    }
    found = {name: layout_problems(fig) for name, fig in pictures.items()}
    assert not any(found.values()), {name: p for name, p in found.items() if p}
