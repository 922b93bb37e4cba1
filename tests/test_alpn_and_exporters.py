"""ALPN (RFC 7301) and keying material exporters (RFC 8446 §7.5, RFC 5705), in memory.

ALPN: the codec (ProtocolNameList of non-empty names), the server's choice by its own preference,
where the answer travels (TLS 1.2 ServerHello, TLS 1.3 EncryptedExtensions), the alerts:
no_application_protocol from a server with nothing in common, decode_error / illegal_parameter
from a client given an answer that is not exactly one protocol it offered.

Exporters: both sides export the same bytes; the formulas recomputed here from
``cryptography``'s HKDF and from the PRF; the TLS 1.2 difference between no context and an
empty one. Equality with OpenSSL's exporter is in test_interop_openssl.py.
"""
from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from peers import CLIServer, lesson, run_cli  # noqa: F401
from tlslesson import extensions as ext
from tlslesson import hello, tls12
from tlslesson.connection import ClientConfig, ServerConfig, handshake
from tlslesson.constants import AlertDescription as AD, ExtensionType as ET
from tlslesson.errors import AlertError, DecodeError
from tlslesson.messages import ClientHello
from tlslesson.wire import Reader, opaque, u16

VERSIONS = ["1.2", "1.3"]


def _alpn_extension_bytes(body: bytes) -> bytes:
    return u16(ET.application_layer_protocol_negotiation) + opaque(2, body)


def _read(body: bytes):
    """Read one ALPN extension through the generic extensions reader (as a hello does)."""
    return ext.read_extensions(Reader(opaque(2, _alpn_extension_bytes(body))), "client_hello")


# -- codec ------------------------------------------------------------------------------------
def test_alpn_codec_round_trip():
    built = ext.application_layer_protocol_negotiation(["h2", "http/1.1"])
    assert built.data == bytes.fromhex("000c 02 6832 08 687474702f312e31".replace(" ", ""))
    [read] = _read(built.data)
    assert ext.value(read, "client_hello") == (b"h2", b"http/1.1")


@pytest.mark.parametrize("body,field", [
    (opaque(2, b""), "protocol_name_list"),                 # <2..2^16-1>: an empty list
    (opaque(2, opaque(1, b"h2") + opaque(1, b"")), "ProtocolName"),   # <1..2^8-1>: an empty name
    (opaque(2, b"\x05h2"), "ProtocolName"),                 # a name running past the list
])
def test_a_malformed_protocol_name_list_is_decode_error_naming_the_field(body, field):
    with pytest.raises(DecodeError) as caught:
        _read(body)
    assert caught.value.field == field and caught.value.alert == AD.decode_error


@pytest.mark.parametrize("bad", [[], [""], ["x" * 256]])
def test_building_an_impossible_list_is_a_usage_error(bad):
    with pytest.raises(ValueError):
        ext.application_layer_protocol_negotiation(bad)


# -- negotiation ------------------------------------------------------------------------------
def _run(version, client=(), server=(), **kw):
    return handshake(ClientConfig(versions=(version,), alpn=client),
                     ServerConfig(versions=(version,), alpn=server), **kw)


def _alpn_in(step):
    found = ext.find(step.message.extensions, ET.application_layer_protocol_negotiation)
    return None if found is None else ext.value(found, "server_hello")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("client,server,chosen", [
    (("h2", "http/1.1"), ("http/1.1", "h2"), "http/1.1"),     # the server's preference wins
    (("h2", "http/1.1"), ("h2", "http/1.1"), "h2"),
    (("http/1.1",), ("h2", "http/1.1"), "http/1.1"),
    (("h2",), (), None),                                      # a server without ALPN: no answer
    ((), ("h2",), None),                                      # a client without ALPN: no answer
])
def test_the_server_picks_by_its_own_preference(version, client, server, chosen):
    run = _run(version, client, server)
    assert run.ok, run.error
    assert run.client.alpn_protocol == chosen == run.server.alpn_protocol
    assert run.client.values.get("alpn_protocol") == chosen
    # the answer travels in ServerHello (1.2) or EncryptedExtensions (1.3), and only there
    carrier = "ServerHello" if version == "1.2" else "EncryptedExtensions"
    answers = {s.name: _alpn_in(s) for s in run.steps
               if s.sender == "server" and s.name in ("ServerHello", "EncryptedExtensions")}
    expected = None if chosen is None else (chosen.encode(),)
    assert answers[carrier] == expected
    assert all(v is None for k, v in answers.items() if k != carrier)
    if client:
        assert ext.find(run.steps[0].message.extensions,
                        ET.application_layer_protocol_negotiation) is not None


@pytest.mark.parametrize("version", VERSIONS)
def test_no_protocol_in_common_is_no_application_protocol(version):
    run = _run(version, ("h2",), ("http/1.1", "spdy/3"))
    assert not run.ok
    assert run.error.alert == AD.no_application_protocol and run.error.check == "alpn"
    alert = run.steps[-1]
    assert (alert.sender, alert.name, alert.wire) == ("server", "Alert", bytes([2, 120]))


def _server_hello_with(names):
    from tlslesson.messages import ServerHello
    return ServerHello(bytes(32), 0x1301, (ext.application_layer_protocol_negotiation(names),))


@pytest.mark.parametrize("names,alert", [
    (["h2", "http/1.1"], AD.decode_error),        # RFC 7301 §3.1: exactly one ProtocolName
    (["spdy/3"], AD.illegal_parameter),           # one we never offered
])
def test_the_client_refuses_an_answer_that_is_not_one_protocol_it_offered(names, alert):
    with pytest.raises(AlertError) as caught:
        hello.accept_alpn(_server_hello_with(names).extensions, ("h2", "http/1.1"))
    assert caught.value.alert == alert and caught.value.check == "alpn"
    assert hello.accept_alpn(_server_hello_with(["h2"]).extensions, ("h2",)) == b"h2"


def test_a_tampered_tls12_answer_is_refused_on_the_wire():
    """A man in the middle rewrites the server's ALPN answer in the TLS 1.2 ServerHello
    (plaintext) to a protocol the client did not offer: the client stops with illegal_parameter."""
    answer = _alpn_extension_bytes(opaque(2, opaque(1, b"h2")))

    def tamper(step, record):
        if step.name == "ServerHello":
            assert answer in record
            return record.replace(answer, _alpn_extension_bytes(opaque(2, opaque(1, b"h3"))))
        return record
    run = _run("1.2", ("h2",), ("h2",), tamper=tamper)
    assert run.error.alert == AD.illegal_parameter and run.error.check == "alpn"
    assert run.client.failed and run.client.alpn_protocol is None


def test_an_answer_to_a_client_that_offered_no_alpn_is_unsupported_extension():
    """RFC 8446 §4.2: a server may only answer what was asked. The server sees a ClientHello
    offering h2; the client's own record of what it sent has no ALPN (as if a man in the middle
    had added it): the answer in EncryptedExtensions is refused."""
    import dataclasses
    from tlslesson.client import ClientConnection
    from tlslesson.server import ServerConnection
    client = ClientConnection(ClientConfig(versions=("1.3",), alpn=("h2",)))
    server = ServerConnection(ServerConfig(versions=("1.3",), alpn=("h2",)))
    client.start()
    sent = client.hs.client_hello
    client.hs.client_hello = dataclasses.replace(sent, extensions=tuple(
        e for e in sent.extensions if e.type != ET.application_layer_protocol_negotiation))
    server.receive(client.data_to_send())
    with pytest.raises(AlertError) as caught:
        client.receive(server.data_to_send())
    assert caught.value.alert == AD.unsupported_extension and caught.value.check == "extension"


# -- exporters --------------------------------------------------------------------------------
def _hkdf_expand_label(algorithm, secret, label, context, length):
    info = length.to_bytes(2, "big") + opaque(1, b"tls13 " + label) + opaque(1, context)
    return HKDFExpand(algorithm, length, info).derive(secret)


def _hash(algorithm, data):
    h = hashes.Hash(algorithm)
    h.update(data)
    return h.finalize()


@pytest.mark.parametrize("suite_name", ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"])
def test_tls13_exporter_is_rfc8446_section_7_5(suite_name):
    from tlslesson import suites
    suite = suites.get(suite_name)
    run = handshake(ClientConfig(versions=("1.3",), suites=(suite,)), ServerConfig())
    assert run.ok, run.error
    algorithm = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384()}[suite.hash]
    secret = run.client.hs.schedule.exporter_master_secret
    # Derive-Secret(exporter_master_secret, label, "") then HKDF-Expand-Label(., "exporter", ...)
    per_label = _hkdf_expand_label(algorithm, secret, b"EXPERIMENTAL lesson",
                                   _hash(algorithm, b""), algorithm.digest_size)
    for context in (None, b"", b"some context"):
        expected = _hkdf_expand_label(algorithm, per_label, b"exporter",
                                      _hash(algorithm, context or b""), 42)
        ours = run.client.export_keying_material("EXPERIMENTAL lesson", context, 42)
        assert ours == expected == run.server.export_keying_material(
            "EXPERIMENTAL lesson", context, 42)
    # RFC 8446 §7.5: no context and an empty context are the same in TLS 1.3
    assert run.client.export_keying_material("EXPERIMENTAL lesson", None, 32) == \
        run.client.export_keying_material("EXPERIMENTAL lesson", b"", 32)


@pytest.mark.parametrize("ems", [True, False])
def test_tls12_exporter_is_rfc5705(ems):
    run = handshake(ClientConfig(versions=("1.2",), ems=ems), ServerConfig())
    assert run.ok, run.error
    hs = run.client.hs
    seed = hs.client_random + hs.server_random
    no_context = tls12.prf(hs.master_secret, b"EXPERIMENTAL lesson", seed, 20, hs.suite.hash)
    empty = tls12.prf(hs.master_secret, b"EXPERIMENTAL lesson", seed + b"\x00\x00", 20,
                      hs.suite.hash)
    assert run.client.export_keying_material("EXPERIMENTAL lesson", None, 20) == no_context
    assert run.server.export_keying_material("EXPERIMENTAL lesson", None, 20) == no_context
    assert run.client.export_keying_material("EXPERIMENTAL lesson", b"", 20) == empty
    assert no_context != empty                   # RFC 5705 §4: the length goes in only with one
    with_context = tls12.prf(hs.master_secret, b"EXPERIMENTAL lesson",
                             seed + b"\x00\x03abc", 20, hs.suite.hash)
    assert run.server.export_keying_material("EXPERIMENTAL lesson", b"abc", 20) == with_context


@pytest.mark.parametrize("version", VERSIONS)
def test_exports_differ_by_label_and_connection(version):
    a = handshake(ClientConfig(versions=(version,)), ServerConfig())
    b = handshake(ClientConfig(versions=(version,)), ServerConfig())
    key = a.client.export_keying_material("EXPERIMENTAL one", None, 32)
    assert len(key) == 32
    assert key != a.client.export_keying_material("EXPERIMENTAL two", None, 32)
    assert key != b.client.export_keying_material("EXPERIMENTAL one", None, 32)
    longer = a.client.export_keying_material("EXPERIMENTAL one", None, 64)
    # the 1.2 PRF is a stream (a longer export starts with the shorter); 1.3's HkdfLabel binds
    # the length, so a longer export is another key altogether
    assert (longer[:32] == key) == (version == "1.2")


def test_exporter_misuse_is_a_value_error():
    run = handshake(ClientConfig(versions=("1.2",)), ServerConfig())
    with pytest.raises(ValueError, match="reserved"):
        run.client.export_keying_material("master secret", None, 48)
    with pytest.raises(ValueError, match="2\\^16"):
        run.client.export_keying_material("EXPERIMENTAL x", bytes(2 ** 16), 8)
    from tlslesson.client import ClientConnection
    with pytest.raises(ValueError, match="complete"):
        ClientConnection().export_keying_material("EXPERIMENTAL x", None, 8)


# -- the command line -------------------------------------------------------------------------
def _serve_args(lesson, *more):
    return ("--cert", lesson["server.crt"], "--key", lesson["server.key"], "--once",
            "--timeout", "5", *more)


@pytest.mark.parametrize("version", VERSIONS)
def test_connect_alpn_to_serve_alpn(lesson, version):
    with CLIServer(*_serve_args(lesson, "--alpn", "http/1.1,h2", "--version", version)) as server:
        done = run_cli("connect", "localhost", str(server.port), "--cafile", lesson["ca.crt"],
                       "--alpn", "h2,http/1.1", "--send", "hi", "--timeout", "5")
        assert server.wait(10) == 0
        log = server.stdout.finish().decode()
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "alpn=h2,http/1.1" in err.splitlines()[0]               # our ClientHello's offer
    assert re.search(rf"handshake complete: TLS {version} \S+, ALPN http/1\.1$", err, re.M), err
    assert re.search(rf"TLS {version} \S+ \S+, ALPN http/1\.1, (.*, )?2 bytes echoed", log), log


def test_connect_alpn_without_overlap_is_one_error_line(lesson):
    with CLIServer(*_serve_args(lesson, "--alpn", "h2")) as server:
        done = run_cli("connect", "localhost", str(server.port), "--cafile", lesson["ca.crt"],
                       "--alpn", "http/1.1", "--timeout", "5")
        assert server.wait(10) == 1                # --once and the connection failed
        log = server.stdout.finish().decode()
    errors = [line for line in done.stderr.decode().splitlines() if line.startswith("error:")]
    assert done.returncode == 1 and "Traceback" not in done.stderr.decode()
    assert errors == ["error: the server sent alert no_application_protocol (120)"]
    assert "error: alert no_application_protocol (120): no application protocol in common" in log


@pytest.mark.parametrize("value", [",", "h2,", "x" * 256, "h2,caf\u00e9"])
def test_a_bad_alpn_list_is_a_usage_error(value):
    done = run_cli("connect", "localhost", "1", "--alpn", value)
    errors = [line for line in done.stderr.decode().splitlines() if line.startswith("error:")]
    assert done.returncode == 2 and len(errors) == 1 and "--alpn" in errors[0], done.stderr
