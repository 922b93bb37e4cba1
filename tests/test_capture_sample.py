"""The capture shipped for notebook 15 (``tlslesson.capture.sample_capture()``): two connections
between the package's client and ``openssl s_server -www`` on loopback — TLS 1.3 and TLS 1.2
ECDHE-RSA-AES128-GCM — recorded by dumpcap (pcapng), with the key log OpenSSL wrote.

``test_record_sample_capture`` records it again; with TLSLESSON_RECORD=1 it replaces the shipped
files (tlslesson/data/captures/openssl-loopback.{pcapng,keys,json}); without, it checks that a
fresh recording explains the same way (the same messages, one for one).
"""
from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from capture_helpers import Recorder, needs_recorder
from peers import OPENSSL, LessonFiles, OpenSSLServer, free_port, needs_openssl
from tlslesson import net, pki
from tlslesson.capture import open_capture, sample_capture
from tlslesson.connection import ClientConfig
from tlslesson.suites import get

ROOT = Path(__file__).resolve().parents[1]
REQUEST = b"GET / HTTP/1.0\r\n\r\n"


def _shape(capture) -> list[dict]:
    """Each connection's messages per sender (the two directions interleave as they like, and
    who closes first varies)."""
    return [{who: [(s.name, s.protected) for s in conn.steps if s.sender == who]
             for who in ("client", "server")} for conn in capture]


def test_the_shipped_capture_explains_and_decrypts():
    pcap, keys = sample_capture()
    meta = json.loads(pcap.with_suffix(".json").read_text())
    datetime.date.fromisoformat(meta["date"])
    capture = open_capture(pcap, keylog=keys)
    assert capture.problems == []
    first, second = capture
    assert (first.version, second.version) == ("1.3", "1.2")
    # our client offers X25519MLKEM768 first; OpenSSL 3.0 (Debian 12) knows no ML-KEM: x25519
    assert first.group == "x25519" and second.suite.name == \
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    for conn in capture:
        assert conn.decrypted and conn.sni == "localhost"
        request = [s.wire for s in conn.steps if s.name == "ApplicationData"
                   and s.sender == "client"]
        assert request == [REQUEST]
        answer = b"".join(s.wire for s in conn.steps if s.name == "ApplicationData"
                          and s.sender == "server")
        assert answer.startswith(b"HTTP/1.0 200 ok")
    # without the key log: what anyone on the path sees
    blind = open_capture(pcap)
    assert not any(c.decrypted for c in blind)
    assert any("certificate, in clear" in line for line in blind[1].observer_view())
    assert any("not the certificate" in line for line in blind[0].observer_view())
    assert os.path.getsize(pcap) < 64_000


@pytest.mark.interop
@needs_openssl
@needs_recorder("dumpcap")
def test_record_sample_capture(tmp_path):
    files = LessonFiles(ROOT / "tlslesson" / "data" / "lesson-pki", pki.lesson_pki())
    ports = [free_port(), free_port()]
    pcap, keys = tmp_path / "openssl-loopback.pcapng", tmp_path / "openssl-loopback.keys"
    with Recorder(pcap, ports, tool="dumpcap"):
        for port, version, args, suite in (
                (ports[0], "1.3", ["-tls1_3"], None),
                (ports[1], "1.2", ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"],
                 "ECDHE-RSA-AES128-GCM-SHA256")):
            server = OpenSSLServer(files, *args, keylog=keys)
            server.args[server.args.index("127.0.0.1:0")] = f"127.0.0.1:{port}"
            with _started(server):
                config = ClientConfig(versions=(version,), alpn=("http/1.1",),
                                      **({"suites": (get(suite),)} if suite else {}))
                net.connect("127.0.0.1", port, config, send=REQUEST, timeout=5)
                server.wait()
    fresh = open_capture(pcap, keylog=keys)
    assert fresh.problems == [] and len(fresh) == 2 and all(c.decrypted for c in fresh)
    if os.environ.get("TLSLESSON_RECORD") == "1":
        target = ROOT / "tlslesson" / "data" / "captures"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(pcap, target / pcap.name)
        shutil.copy(keys, target / keys.name)
        version = subprocess.run([OPENSSL, "version"], capture_output=True, text=True).stdout
        (target / "openssl-loopback.json").write_text(json.dumps({
            "date": datetime.date.today().isoformat(),
            "recorded_by": "tests/test_capture_sample.py::test_record_sample_capture "
                           "(dumpcap on lo, TLSLESSON_RECORD=1)",
            "client": "tlslesson (net.connect, ALPN http/1.1), sending GET / HTTP/1.0",
            "server": f"{version.strip()} s_server -www -keylogfile (the key log is OpenSSL's)",
            "connections": ["TLS 1.3, default suites and groups",
                            "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256"],
        }, indent=1) + "\n")
    assert _shape(fresh) == _shape(open_capture(*sample_capture()))


class _started:
    """OpenSSLServer on a port fixed beforehand (the recorder filters on it): it then prints a
    bare "ACCEPT", which OpenSSLServer's own start does not wait for."""

    def __init__(self, server):
        self.server = server

    def __enter__(self):
        import peers
        s = self.server
        s.proc = subprocess.Popen(s.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        s.output = peers._Collector(s.proc.stdout)
        if not s.output.wait_for(b"ACCEPT", peers.PROCESS_TIMEOUT):
            peers._kill(s.proc)
            raise RuntimeError("s_server did not start: " + s.output.text())
        return s

    def __exit__(self, *exc):
        self.server.__exit__(*exc)


def test_the_explorer_model_on_a_captured_connection():
    from tlslesson.lesson import CaptureExplorerModel
    tls13, tls12 = open_capture(*sample_capture())
    model = CaptureExplorerModel(tls13)
    assert (model.version, model.suite, model.current.name) == ("1.3", "TLS_AES_128_GCM_SHA256",
                                                                "ClientHello")
    assert [s.name for s in model.steps] == [s.name for s in tls13.steps]
    model.goto(next(i for i, s in enumerate(model.steps) if s.name == "Certificate"))
    assert model.current.protected and any(f.name == "cert_data" for f in model.fields())
    assert any(f.name == "AEAD tag" for f in model.record_fields())
    assert "server_handshake_traffic_secret" in model.values_so_far()
    assert model.describe().startswith(f"{model.position + 1}/{len(model.steps)} server -> client")
    with pytest.raises(ValueError):
        model.set(suite="TLS_AES_256_GCM_SHA384")
    m12 = CaptureExplorerModel(tls12)
    assert m12.ems and m12.choices() == ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
    assert "master_secret" in m12.values_so_far(len(m12.steps) - 1)


def test_the_explorer_widget_on_a_captured_connection():
    pytest.importorskip("ipywidgets")
    from tlslesson.lesson import CaptureExplorerModel, explorer
    box = explorer(CaptureExplorerModel(open_capture(*sample_capture())[1]))
    assert box.suite_dropdown.disabled and box.version_dropdown.value == "1.2"
    box.next_button.click()
    assert box.model.current.name == "ServerHello" and "ServerHello" in box.position_html.value
