"""``serve --explain``: the visitor's own ClientHello explained on a page.

* The page built from the Chromium ClientHello shipped in tlslesson/data/client-hellos/ names its
  X25519MLKEM768 share (1216 bytes), its GREASE values and its ECH GREASE (no browser needed).
* Our own client against ``Server(explain=True)`` on loopback: the page answers its request.
* Headless Chromium against ``python -m tlslesson serve --explain`` (it trusts the lesson CA, see
  test_interop_chromium.py): the page, as Chromium rendered it, names the X25519MLKEM768 share
  Chromium sent, and a screenshot goes to tests/artifacts/screenshots/serve-explain.png.
* Recording: the shipped ClientHello was made by ``test_record_chromium_client_hello`` with
  ``TLSLESSON_RECORD=1``; without it the test only checks that today's Chromium still sends a
  ClientHello of the shipped one's shape (the same extensions and key-share groups).
"""
from __future__ import annotations

import datetime
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from peers import PROCESS_TIMEOUT, CLIServer, lesson  # noqa: F401
from tlslesson import explain_page, net
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.constants import NamedGroup, is_grease

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "tests" / "artifacts" / "screenshots"
DATA = ROOT / "tlslesson" / "data" / "client-hellos" / explain_page.RECORDED


# ------------------------------------------------------------------------------------------------
# The shipped recording
# ------------------------------------------------------------------------------------------------
def test_recorded_chromium_hello_is_dated_and_loads():
    rec = explain_page.recorded_client_hello()
    assert rec.browser.startswith("Chromium ")
    datetime.date.fromisoformat(rec.date)
    assert rec.wire[0] == 1 and int.from_bytes(rec.wire[1:4], "big") == len(rec.wire) - 4
    assert rec.ladder[0][:2] == ("client", "ClientHello")


def test_page_from_recorded_chromium_hello_names_its_x25519mlkem768_share():
    rec = explain_page.recorded_client_hello()
    report = explain_page.describe_client_hello(rec.wire)
    shares = {k.name: k for k in report.key_shares}
    assert shares["X25519MLKEM768"].size == 1216 and shares["X25519MLKEM768"].post_quantum
    assert "1184 bytes" in shares["X25519MLKEM768"].what      # the ML-KEM-768 part
    assert any(k.grease for k in report.key_shares)           # Chromium's GREASE share
    assert report.ech is not None and report.ech["type"] == "outer (0)"
    assert {w for w, _ in report.grease} >= {"cipher_suites", "extension", "supported_groups"}
    page = rec.page()
    assert "<b>X25519MLKEM768</b> (post-quantum)" in page and ">1216<" in page
    assert "GREASE ECH" in page and "encrypted_client_hello" in page
    assert f"Recorded from {rec.browser} (headless) on {rec.date}" in page
    # every extension Chromium sent is named and has a meaning (no "not one this page knows")
    assert all(e.meaning and "not one this page knows" not in e.meaning
               for e in report.extensions), [e.name for e in report.extensions]


# ------------------------------------------------------------------------------------------------
# Our client, our server
# ------------------------------------------------------------------------------------------------
def test_serve_explain_answers_our_client():
    server = net.serve_in_background(ServerConfig(alpn=("http/1.1",)), explain=True, timeout=5)
    with server:
        result = net.connect("127.0.0.1", server.port, ClientConfig(alpn=("http/1.1",)),
                             send=b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", close=False,
                             timeout=5)
    head, _, body = result.data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in head
    page = body.decode()
    assert len(body) == int(re.search(rb"Content-Length: (\d+)", head).group(1))
    assert "<h1>Your browser&#x27;s handshake</h1>" in page
    assert "<b>X25519MLKEM768</b> (post-quantum)" in page          # our default offer, too
    for row in ("TLS 1.3", "X25519MLKEM768", "http/1.1"):
        assert f"<b>{row}</b>" in page                             # what the server chose
    assert "ladder of this connection" in page and ">ServerHello · " in page
    assert "Every field of your ClientHello" in page


# ------------------------------------------------------------------------------------------------
# Chromium
# ------------------------------------------------------------------------------------------------
import test_interop_chromium as chromium  # noqa: E402
from test_interop_chromium import chromium_home, run_chromium  # noqa: E402,F401


def _chromium(home: Path, *args: str) -> str:
    """One headless Chromium run (its own profile, the lesson CA trusted via ``home``)."""
    import tempfile
    env = {**os.environ, "HOME": str(home)}
    env.pop("SSLKEYLOGFILE", None)
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen([chromium.CHROMIUM, *chromium.CHROMIUM_ARGS,
                                 f"--user-data-dir={profile}", *args],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=PROCESS_TIMEOUT)
        except subprocess.TimeoutExpired:
            out = b""
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
    return out.decode("utf-8", "replace")


@pytest.mark.interop
def test_serve_explain_in_headless_chromium(lesson, chromium_home, tmp_path):
    """`python -m tlslesson serve --explain`, loaded by Chromium: the DOM names the
    X25519MLKEM768 share it sent (1216 bytes) and the group the server chose; a screenshot."""
    args = ["--cert", lesson["server.crt"], "--key", lesson["server.key"], "--timeout", "5",
            "--explain"]
    with CLIServer(*args) as server:
        url = f"https://localhost:{server.port}/"
        dom = _chromium(chromium_home, "--dump-dom", url)
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / "serve-explain.png"
        shot.unlink(missing_ok=True)
        _chromium(chromium_home, f"--screenshot={shot}", "--window-size=1200,3600",
                  "--hide-scrollbars", url)
    assert "<h1>Your browser's handshake</h1>" in dom, dom[:500]
    assert re.search(r"<b>X25519MLKEM768</b> \(post-quantum\)</td><td[^>]*>0x11ec</td>"
                     r"<td[^>]*>1216</td>", dom), dom[:3000]
    assert "<b>X25519MLKEM768</b>" in dom.split("What the server chose")[1].split("<h2>")[0]
    assert "GREASE ECH" in dom and "trust_anchors" in dom
    assert shot.exists() and shot.stat().st_size > 20_000


def _chromium_version() -> str:
    out = subprocess.run([chromium.CHROMIUM, "--version"], capture_output=True, text=True,
                         timeout=PROCESS_TIMEOUT).stdout
    return re.search(r"Chromium [\d.]+", out).group(0)


def _shape(wire: bytes) -> tuple:
    """What stays the same from one Chromium connection to the next: the extension set (its
    order is shuffled, GREASE values redrawn) and the key-share groups."""
    report = explain_page.describe_client_hello(wire)
    return (sorted(e.code for e in report.extensions if not e.grease),
            [k.group for k in report.key_shares if not is_grease(k.group)])


@pytest.mark.interop
def test_record_chromium_client_hello(lesson, chromium_home, tmp_path):
    """Chromium's first ClientHello to an in-process ``Server(explain=True)``; with
    TLSLESSON_RECORD=1 it is written to tlslesson/data/client-hellos/chromium.json (dated)."""
    from tlslesson.__main__ import load_identity
    identity = load_identity(lesson["server.crt"], lesson["server.key"])
    config = ServerConfig(identities=(identity,), alpn=("http/1.1",))
    with net.serve_in_background(config, explain=True, timeout=5, keep_reports=16) as server:
        run_chromium(chromium_home, tmp_path, server.port)
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while not any(r.http_request.startswith("GET / ") for r in server.reports) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        report = next(r for r in server.reports if r.http_request.startswith("GET / "))
    conn = report.connection
    hello = conn.log[0]
    assert hello.name == "ClientHello" and hello.sender == "client"
    assert conn.values.get("group") == "X25519MLKEM768"
    fresh = explain_page.describe_client_hello(hello.wire)
    assert any(k.name == "X25519MLKEM768" and k.size == 1216 for k in fresh.key_shares)
    if os.environ.get("TLSLESSON_RECORD") == "1":
        DATA.parent.mkdir(parents=True, exist_ok=True)
        DATA.write_text(json.dumps({
            "browser": _chromium_version(),
            "date": datetime.date.today().isoformat(),
            "how": "tests/test_serve_explain.py::test_record_chromium_client_hello "
                   "(headless Chromium on loopback against Server(explain=True), "
                   "TLSLESSON_RECORD=1)",
            "client_hello": hello.wire.hex(),
            "chosen": [list(row) for row in explain_page.chosen_parameters(conn)],
            "ladder": [[s.sender, s.name, s.protected, len(s.record)]   # when the page was made:
                       for s in conn.log[:next((i for i, s in enumerate(conn.log)   # before
                                                if s.name == "Alert"), None)]],    # close_notify
        }, indent=1) + "\n")
    shipped = explain_page.recorded_client_hello()
    assert _shape(shipped.wire) == _shape(hello.wire) or \
        shipped.browser != _chromium_version(), \
        "today's Chromium (same version) sends another ClientHello: record it again"
