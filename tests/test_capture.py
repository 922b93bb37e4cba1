"""``explain`` / ``open_capture`` on real captures: traffic between OpenSSL and the package,
recorded on loopback by tcpdump while it happens, decrypted by the package from OpenSSL's own
key log — and every decrypted record compared with what tshark decrypts from the same file.

One capture holds every case (several connections per file is one of them): TLS 1.2 AES-GCM,
ChaCha20-Poly1305, AES-CBC with and without encrypt-then-MAC, RSA key exchange; TLS 1.3 with a
HelloRetryRequest, client authentication, KeyUpdate both ways, ChaCha20, resumption with 0-RTT
data and TLS 1.2 resumption. A copy of it with the TCP segments split, overlapping, out of order
and retransmitted (``mangle_capture``) decrypts to the same records, for us and for tshark.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import peers

from capture_helpers import (TSHARK_OUT_OF_ORDER, Recorder, mangle_capture, needs_recorder,
                             needs_tshark, tshark_decrypted)
from peers import OpenSSLServer, free_port, lesson, needs_openssl  # noqa: F401 (fixture)
from tlslesson import net
from tlslesson.capture import open_capture
from tlslesson.connection import ClientConfig
from tlslesson.suites import get

pytestmark = [pytest.mark.interop, pytest.mark.slow]

REQUEST = b"GET / HTTP/1.0\r\n\r\n"


class _OnPort(OpenSSLServer):
    """s_server on a port chosen beforehand (the recorder's filter names it): it then prints
    a bare "ACCEPT"."""

    def __init__(self, lesson, port, *args, **options):
        super().__init__(lesson, *args, **options)
        self.args[self.args.index("127.0.0.1:0")] = f"127.0.0.1:{port}"
        self.port = port

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL if "-www" in self.args
                                     else subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output = peers._Collector(self.proc.stdout)
        if not self.output.wait_for(b"ACCEPT", peers.PROCESS_TIMEOUT):
            peers._kill(self.proc)
            raise RuntimeError("s_server did not start: " + self.output.text())
        return self


_server = _OnPort


def _config(lesson, version, suite=None, **options):
    return ClientConfig(versions=(version,), trusted=lesson.trusted,
                        suites=(get(suite),) if suite else ClientConfig().suites, **options)


# (name, s_server arguments, our client's options, what to do)
CASES = [
    ("gcm12", ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"],
     dict(version="1.2", suite="ECDHE-RSA-AES128-GCM-SHA256")),
    ("chacha12", ["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"],
     dict(version="1.2", suite="ECDHE-RSA-CHACHA20-POLY1305")),
    ("cbc_etm12", ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA256"],
     dict(version="1.2", suite="ECDHE-RSA-AES128-SHA256")),
    ("cbc12", ["-tls1_2", "-cipher", "AES128-SHA"],
     dict(version="1.2", suite="AES128-SHA", encrypt_then_mac=False)),
    ("hrr13", ["-tls1_3", "-groups", "P-256"], dict(version="1.3")),
    ("chacha13_keyupdate", ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"],
     dict(version="1.3", suite="TLS_CHACHA20_POLY1305_SHA256", key_update=True)),
    ("client_auth13", ["-tls1_3", "-Verify", "1", "-CAfile", "ca.crt"],
     dict(version="1.3", client_auth=True)),
]


@pytest.fixture(scope="module")
def recorded(lesson, tmp_path_factory):
    """One pcap of every case; the key log OpenSSL wrote (not ours: an independent source)."""
    directory = tmp_path_factory.mktemp("capture")
    ports = {name: free_port() for name, *_ in CASES}
    ports["resume13"], ports["resume12"] = free_port(), free_port()
    keys = directory / "openssl.keys"
    pcap = directory / "loopback.pcapng"
    results = {}
    with Recorder(pcap, ports.values(), tool="dumpcap"):
        for name, server_args, options in CASES:
            options = dict(options)
            version, suite = options.pop("version"), options.pop("suite", None)
            key_update = options.pop("key_update", False)
            if options.pop("client_auth", False):
                options["identity"] = lesson.pki.client
                server_args = [a if a != "ca.crt" else lesson["ca.crt"] for a in server_args]
            with _server(lesson, ports[name], *server_args, keylog=keys) as server:
                results[name] = net.connect(
                    "127.0.0.1", server.port, _config(lesson, version, suite, **options),
                    send=REQUEST, timeout=5,
                    on_handshake=(lambda c: c.update_keys(request_update=True))
                    if key_update else None)
                server.wait()
        # TLS 1.3 resumption with 0-RTT data (s_server without -www prints what it got)
        with _server(lesson, ports["resume13"], "-tls1_3", "-naccept", "2", "-early_data",
                     keylog=keys, www=False) as server:
            first = net.connect("127.0.0.1", server.port, _config(lesson, "1.3"), timeout=5)
            results["resume13"] = net.connect(
                "127.0.0.1", server.port,
                _config(lesson, "1.3", session=first.connection.sessions[-1],
                        early_data=b"early hello\n"), timeout=5)
            server.wait()
        # TLS 1.2 resumption (session ticket, RFC 5077)
        with _server(lesson, ports["resume12"], "-tls1_2", "-naccept", "2", keylog=keys) as server:
            first = net.connect("127.0.0.1", server.port,
                                _config(lesson, "1.2", session_tickets=True), send=REQUEST,
                                timeout=5)
            results["resume12"] = net.connect(
                "127.0.0.1", server.port,
                _config(lesson, "1.2", session_tickets=True, session=first.connection.session),
                send=REQUEST, timeout=5)
            server.wait()
    return pcap, keys, ports, results


def _by_port(capture, port):
    return [c for c in capture.connections if c.server[1] == port]


@needs_openssl
@needs_recorder("dumpcap")
def test_every_connection_is_decrypted_from_openssls_key_log(recorded):
    pcap, keys, ports, results = recorded
    capture = open_capture(pcap, keylog=keys)
    assert capture.problems == []
    assert len(capture.tls_connections) == len(CASES) + 4
    for conn in capture:
        assert conn.decrypted and conn.keys_found, conn.summary()
        names = [s.name for s in conn.steps]
        assert "EncryptedRecord" not in names, (conn.summary(), names)
        assert names[0] == "ClientHello"
    for name, *_ in CASES:
        (conn,) = _by_port(capture, ports[name])
        live = results[name].connection
        assert conn.version == live.version and conn.suite is live.suite
        # the same handshake messages, byte for byte, as our client sent and received them
        for who in ("client", "server"):     # (the two directions interleave differently)
            skip = ("ApplicationData", "ChangeCipherSpec")   # a 1.3 CCS received is not logged
            logged = [s.wire for s in live.log if s.name not in skip and s.sender == who]
            seen = [s.wire for s in conn.steps if s.name not in skip and s.sender == who]
            assert seen[:len(logged)] == logged, (name, who)
        answer = b"".join(s.wire for s in conn.steps
                          if s.name == "ApplicationData" and s.sender == "server")
        assert answer == results[name].data
    hrr = _by_port(capture, ports["hrr13"])[0]
    assert hrr.hello_retry and [s.name for s in hrr.steps].count("ClientHello") == 2
    assert hrr.group == "secp256r1"
    updates = [s.sender for s in _by_port(capture, ports["chacha13_keyupdate"])[0].steps
               if s.name == "KeyUpdate"]
    assert updates == ["client", "server"]        # ours asks; OpenSSL answers with its own
    assert _by_port(capture, ports["client_auth13"])[0].client_certificate
    etm, plain_cbc = (_by_port(capture, ports[n])[0] for n in ("cbc_etm12", "cbc12"))
    assert etm.steps[0].context.etm is False and etm.steps[-1].context.etm is True
    assert plain_cbc.steps[-1].context.etm is False


@needs_openssl
@needs_recorder("dumpcap")
def test_resumed_connections_and_early_data(recorded):
    pcap, keys, ports, _ = recorded
    capture = open_capture(pcap, keylog=keys)
    first13, second13 = _by_port(capture, ports["resume13"])
    assert not first13.resumed and second13.resumed and second13.early_data == "accepted"
    names = [s.name for s in second13.steps]
    assert "Certificate" not in names and "EndOfEarlyData" in names
    early = [s for s in second13.steps if s.name == "EarlyData"]
    assert [s.wire for s in early] == [b"early hello\n"]
    tickets = [s for s in first13.steps if s.name == "NewSessionTicket"]
    assert len(tickets) == 2 and all(s.protected for s in tickets)
    first12, second12 = _by_port(capture, ports["resume12"])
    assert not first12.resumed and second12.resumed
    assert "ClientKeyExchange" not in [s.name for s in second12.steps]


@needs_openssl
@needs_recorder("dumpcap")
@needs_tshark
def test_every_decrypted_record_is_what_tshark_decrypts(recorded):
    pcap, keys, _, _ = recorded
    theirs = tshark_decrypted(pcap, keys)
    capture = open_capture(pcap, keylog=keys)
    compared = 0
    for conn in capture:
        ours = [r.plaintext for r in conn.records if r.protected and r.plaintext]
        assert ours == theirs.get(conn.number), conn.summary()
        compared += len(ours)
    assert compared > 50


@pytest.fixture(scope="module")
def mangled(recorded):
    """The recorded capture again, its segments split with overlaps, shuffled within each
    flight and retransmitted (some late, after the other side's answer)."""
    pcap, keys, _, _ = recorded
    path = pcap.with_name("mangled.pcapng")
    done = mangle_capture(pcap, path)
    assert done["pieces"] > 2 * done["segments"] and done["reordered_flights"] > 20
    assert done["duplicates"] > 50
    return path, keys


def _records(capture):
    return {c.number: [(r.sender, r.content_type, r.plaintext) for r in c.records
                       if r.plaintext is not None] for c in capture}


@needs_openssl
@needs_recorder("dumpcap")
def test_reordered_duplicated_overlapping_segments_decrypt_the_same(recorded, mangled):
    pcap, keys, _, _ = recorded
    clean = open_capture(pcap, keylog=keys)
    capture = open_capture(mangled[0], keylog=keys)
    assert capture.problems == []
    assert [c.summary() for c in capture] == [c.summary() for c in clean]
    assert _records(capture) == _records(clean)          # record by record, both directions
    assert sum(map(len, _records(capture).values())) > 100


@needs_openssl
@needs_recorder("dumpcap")
@needs_tshark
def test_tshark_decrypts_the_same_from_the_mangled_capture(mangled):
    path, keys = mangled
    # tcp.reassemble_out_of_order (off by default): without it tshark decrypts almost none of
    # this file, its records' first segments having come late
    theirs = tshark_decrypted(path, keys, TSHARK_OUT_OF_ORDER)
    compared = 0
    for conn in open_capture(path, keylog=keys):
        ours = [r.plaintext for r in conn.records if r.protected and r.plaintext]
        assert ours == theirs.get(conn.number), conn.summary()
        compared += len(ours)
    assert compared > 50


@needs_openssl
@needs_recorder("dumpcap")
def test_without_keys_what_a_passive_observer_sees(recorded):
    pcap, _, ports, _ = recorded
    capture = open_capture(pcap)
    assert capture.problems == []
    gcm = _by_port(capture, ports["gcm12"])[0]
    assert not gcm.decrypted and gcm.sni == "localhost" and gcm.version == "1.2"
    view = "\n".join(gcm.observer_view())
    assert "SNI" in view and "certificate, in clear" in view and "CN=localhost" in view
    t13 = _by_port(capture, ports["hrr13"])[0]
    assert "Certificate" not in [s.name for s in t13.steps]   # encrypted in 1.3
    assert "not the certificate" in "\n".join(t13.observer_view())


@needs_openssl
@needs_recorder("dumpcap")
def test_a_key_log_for_other_connections_is_one_line_each(recorded, tmp_path):
    pcap, keys, ports, _ = recorded
    wrong = tmp_path / "wrong.keys"        # the right labels and randoms, someone else's secrets
    wrong.write_text("".join(f"{label} {cr} {'00' * (len(secret) // 2)}\n"
                             for label, cr, secret in (line.split() for line in
                                                       keys.read_text().splitlines()
                                                       if not line.startswith("#"))))
    capture = open_capture(pcap, keylog=wrong)
    assert capture.problems and all(p.startswith("connection ") for p in capture.problems)
    assert any("bad_record_mac" in p for p in capture.problems)
    assert all(c.steps[0].name == "ClientHello" for c in capture)       # the rest explained
    proc = subprocess.run([sys.executable, "-m", "tlslesson", "explain", str(pcap),
                           "--keylog", str(wrong)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert all(line.startswith("problem: connection ") for line in proc.stderr.splitlines())
    assert proc.stdout.count("ClientHello") >= len(CASES)


@needs_openssl
@needs_recorder("dumpcap")
def test_explain_command_line_text_and_json(recorded):
    pcap, keys, ports, _ = recorded
    capture = open_capture(pcap, keylog=keys)
    number = _by_port(capture, ports["gcm12"])[0].number
    proc = subprocess.run([sys.executable, "-m", "tlslesson", "explain", str(pcap), "--keylog",
                           str(keys), "--connection", str(number)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"connection {number} ")
    assert "<- Certificate" in proc.stdout and "Finished  verify_data=" in proc.stdout
    assert "'HTTP/1.0 200 ok" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "tlslesson", "explain", str(pcap), "--keylog",
                           str(keys), "--json"], capture_output=True, text=True, timeout=120)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0 and len([r for r in rows if r["tls"]]) == len(capture)
    row = next(r for r in rows if r["connection"] == number)
    assert row["cipher_suite"] == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" and row["decrypted"]


@needs_openssl
@needs_recorder("tcpdump")
def test_a_tcpdump_pcap_too(lesson, tmp_path):
    """tcpdump writes classic pcap (dumpcap pcapng): both go through dpkt's readers."""
    port, keys, pcap = free_port(), tmp_path / "keys", tmp_path / "tcpdump.pcap"
    with Recorder(pcap, [port], tool="tcpdump"):
        with _server(lesson, port, "-tls1_3", keylog=keys) as server:
            result = net.connect("127.0.0.1", port, _config(lesson, "1.3"), send=REQUEST,
                                 timeout=5)
            server.wait()
    (conn,) = open_capture(pcap, keylog=keys)
    assert conn.decrypted and b"".join(s.wire for s in conn.steps if s.name == "ApplicationData"
                                       and s.sender == "server") == result.data
