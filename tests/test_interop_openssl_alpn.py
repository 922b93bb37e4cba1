"""ALPN (RFC 7301) and exported keying material (RFC 5705, RFC 8446 §7.5) against the `openssl`
command (3.0), both directions.

ALPN: `openssl s_server -alpn` picks from our client's list and says so ("ALPN protocols
selected: ..."); `openssl s_client -alpn` is answered by our server ("ALPN protocol: ...");
with no protocol in common each side receives the other's fatal no_application_protocol (120).

Exporters: `-keymatexport LABEL -keymatexportlen N` makes s_server / s_client print
"Keying material: HEX" (no context: SSL_export_keying_material with use_context 0); ours equals
it for TLS 1.2 (with and without EMS) and TLS 1.3. s_server prints it only outside `-www`, so
there it runs in its plain mode, and a "Q" on its stdin ends it once we are connected.
"""
from __future__ import annotations

import re
import secrets
import subprocess

import pytest

from peers import (OPENSSL, PROCESS_TIMEOUT, OpenSSLServer, OurServer, _Collector, _kill,  # noqa: F401
                   lesson, needs_openssl, s_client)
from tlslesson import net
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.constants import AlertDescription
from tlslesson.errors import AlertError

pytestmark = [pytest.mark.interop, needs_openssl]

GET = b"GET / HTTP/1.0\r\n\r\n"
VERSION_FLAG = {"1.2": "-tls1_2", "1.3": "-tls1_3"}
LABEL = "EXPERIMENTAL-tlslesson"
KEYING = re.compile(r"Keying material: ([0-9A-F]+)")


def client_config(lesson, version=None, **options) -> ClientConfig:
    return ClientConfig(versions=(version,) if version else ("1.3", "1.2"),
                        trusted=lesson.trusted, **options)


def server_config(lesson, version=None, **options) -> ServerConfig:
    return ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server),
                        versions=(version,) if version else ("1.3", "1.2"), **options)


def _s_client_to_us(lesson, config, *args):
    message = f"hello {secrets.token_hex(6)}\n".encode()
    with OurServer(config) as server:
        res = s_client(server.port, lesson, *args, message=message)
        reports = server.wait_for_reports(1)
    assert len(reports) == 1
    return res, reports[0]


# ------------------------------------------------------------------------------------------------
# ALPN
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_our_client_alpn_to_s_server(lesson, version):
    """s_server prefers http/1.1 (its -alpn order); we offer h2 first: it takes http/1.1."""
    with OpenSSLServer(lesson, VERSION_FLAG[version], "-alpn", "http/1.1,h2") as server:
        result = net.connect("127.0.0.1", server.port,
                             client_config(lesson, version, alpn=("h2", "http/1.1")),
                             send=GET, timeout=5)
        out = server.wait()
    assert result.version == version
    assert "ALPN protocols advertised by the client: h2, http/1.1" in out, out[-1500:]
    assert "ALPN protocols selected: http/1.1" in out
    assert result.connection.alpn_protocol == "http/1.1"
    assert result.connection.values["alpn_protocol"] == "http/1.1"


def test_our_client_without_alpn_to_s_server_with_alpn(lesson):
    with OpenSSLServer(lesson, "-alpn", "h2") as server:
        result = net.connect("127.0.0.1", server.port, client_config(lesson), send=GET, timeout=5)
        out = server.wait()
    assert result.connection.alpn_protocol is None
    assert "ALPN protocols selected" not in out


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_our_client_alpn_no_overlap_gets_no_application_protocol(lesson, version):
    with OpenSSLServer(lesson, VERSION_FLAG[version], "-alpn", "h2") as server:
        with pytest.raises(AlertError) as caught:
            net.connect("127.0.0.1", server.port,
                        client_config(lesson, version, alpn=("http/1.1",)), send=GET, timeout=5)
        server.wait()
    assert caught.value.received
    assert caught.value.alert == AlertDescription.no_application_protocol


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_s_client_alpn_to_our_server(lesson, version):
    res, report = _s_client_to_us(lesson, server_config(lesson, version, alpn=("h2", "http/1.1")),
                                  VERSION_FLAG[version], "-alpn", "http/1.1,h2")
    assert report.error is None, report.error
    assert res.echoed, res.output[-2000:]
    assert "ALPN protocol: h2" in res.output             # our preference, not s_client's order
    assert report.alpn == "h2" == report.connection.alpn_protocol
    assert ", ALPN h2," in str(report)


def test_s_client_without_alpn_to_our_server_with_alpn(lesson):
    res, report = _s_client_to_us(lesson, server_config(lesson, alpn=("h2",)))
    assert res.echoed and "No ALPN negotiated" in res.output
    assert report.alpn is None and "ALPN" not in str(report)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_s_client_alpn_no_overlap_gets_no_application_protocol(lesson, version):
    res, report = _s_client_to_us(lesson, server_config(lesson, version, alpn=("h2",)),
                                  VERSION_FLAG[version], "-alpn", "spdy/3,http/1.1")
    assert not res.echoed
    assert "no application protocol" in res.output, res.output[-2000:]
    assert isinstance(report.error, AlertError) and not report.error.received
    assert report.error.alert == AlertDescription.no_application_protocol
    assert report.error.check == "alpn"


# ------------------------------------------------------------------------------------------------
# Exporters
# ------------------------------------------------------------------------------------------------
CASES = [("1.2", "ECDHE-RSA-AES128-GCM-SHA256", True), ("1.2", "ECDHE-RSA-AES256-GCM-SHA384", True),
         ("1.2", "ECDHE-RSA-AES128-GCM-SHA256", False),
         ("1.3", "TLS_AES_128_GCM_SHA256", True), ("1.3", "TLS_AES_256_GCM_SHA384", True)]
CASE_IDS = [f"{v}-{s}-{'ems' if e else 'no-ems'}" for v, s, e in CASES]


def _suite_args(version, suite):
    return [VERSION_FLAG[version], "-ciphersuites" if version == "1.3" else "-cipher", suite]


@pytest.mark.parametrize("version, suite, ems", CASES, ids=CASE_IDS)
def test_our_client_exports_what_s_server_exports(lesson, version, suite, ems):
    length = 41                      # not a multiple of any hash size: the cut is checked too
    args = [OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
            "-cert", lesson["server.crt"], "-cert_chain", lesson["intermediate.crt"],
            "-key", lesson["server.key"], *_suite_args(version, suite),
            "-keymatexport", LABEL, "-keymatexportlen", str(length)]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = _Collector(proc.stdout)
    try:
        found = out.wait_for(re.compile(rb"ACCEPT 127\.0\.0\.1:(\d+)"), PROCESS_TIMEOUT)
        assert found, out.text()

        def quit_server(conn):       # s_server's "Q" command: close_notify, then exit
            proc.stdin.write(b"Q\n")
            proc.stdin.flush()
        result = net.connect("127.0.0.1", int(found.group(1)),
                             client_config(lesson, version, ems=ems), timeout=5,
                             on_handshake=quit_server, close=False)
        assert out.wait_for(re.compile(KEYING.pattern.encode()), PROCESS_TIMEOUT), out.text()[-2000:]
    finally:
        _kill(proc)
        out.finish()
    conn = result.connection
    assert conn.version == version and conn.suite.openssl_name == suite
    assert conn.hs.extended_master_secret is (ems if version == "1.2" else False)
    theirs = bytes.fromhex(KEYING.search(out.text()).group(1))
    assert len(theirs) == length
    assert conn.export_keying_material(LABEL, None, length) == theirs
    if version == "1.2":             # RFC 5705: an empty context is another key in 1.2
        assert conn.export_keying_material(LABEL, b"", length) != theirs


@pytest.mark.parametrize("version, suite, ems", CASES, ids=CASE_IDS)
def test_s_client_exports_what_our_server_exports(lesson, tmp_path, version, suite, ems):
    res, report = _s_client_to_us(lesson, server_config(lesson, version, ems=ems),
                                  *_suite_args(version, suite),
                                  "-keymatexport", LABEL, "-keymatexportlen", "64")
    assert report.error is None, report.error
    assert res.echoed, res.output[-2000:]
    assert report.suite.openssl_name == suite
    theirs = bytes.fromhex(KEYING.search(res.output).group(1))
    assert len(theirs) == 64
    assert report.connection.export_keying_material(LABEL, None, 64) == theirs
