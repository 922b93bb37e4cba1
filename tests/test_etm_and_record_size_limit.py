"""encrypt_then_mac (RFC 7366) and record_size_limit (RFC 8449) between our client and server:
who offers and who echoes, the protection chosen, and the record sizes that follow."""
from __future__ import annotations

import dataclasses

import pytest

from tlslesson import extensions as ext, suites
from tlslesson.connection import ClientConfig, ServerConfig, handshake
from tlslesson.constants import ExtensionType as ET
from tlslesson.errors import AlertError
from tlslesson.record import AEAD12, AEAD13, CBC12, CBC12EtM, RecordBuffer

CBC = suites.get("TLS_RSA_WITH_AES_128_CBC_SHA")
GCM = suites.get("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
TLS13 = suites.get("TLS_AES_128_GCM_SHA256")


def _pair(client: dict | None = None, server: dict | None = None, **both):
    hs = handshake(ClientConfig(**both, **(client or {})), ServerConfig(**both, **(server or {})))
    return hs


def _hello(hs, name):
    return next(step.message for step in hs.steps if step.name == name)


# -- encrypt_then_mac --------------------------------------------------------------------------
@pytest.mark.parametrize("client_etm, server_etm, suite, agreed", [
    (True, True, CBC, True),
    (False, True, CBC, False),          # not offered: not echoed
    (True, False, CBC, False),          # the server declines: MAC-then-encrypt
    (True, True, GCM, False),           # RFC 7366 §2: offered, but no EtM with an AEAD suite
])
def test_encrypt_then_mac_negotiation(client_etm, server_etm, suite, agreed):
    hs = _pair({"encrypt_then_mac": client_etm, "suites": (GCM, CBC)},
               {"encrypt_then_mac": server_etm, "suites": (suite,)}, versions=("1.2",))
    assert hs.ok, hs.error
    ch, sh = _hello(hs, "ClientHello"), _hello(hs, "ServerHello")
    assert (ch.extension(ET.encrypt_then_mac) is not None) == client_etm
    assert (sh.extension(ET.encrypt_then_mac) is not None) == agreed
    expected = CBC12EtM if agreed else CBC12 if not suite.aead else AEAD12
    for conn in (hs.client, hs.server):
        assert conn.hs.encrypt_then_mac == agreed
        assert type(conn.records.write) is expected and type(conn.records.read) is expected
    hs.client.send(b"x" * 1000)
    assert hs.server.receive(hs.client.data_to_send())[0].data == b"x" * 1000


def test_encrypt_then_mac_offered_only_with_a_cbc_suite_and_tls12():
    for cfg, offered in ((ClientConfig(suites=(GCM, TLS13)), False),
                         (ClientConfig(versions=("1.3",)), False),
                         (ClientConfig(), True)):            # the default list has CBC suites
        hs = handshake(cfg, ServerConfig())
        assert (_hello(hs, "ClientHello").extension(ET.encrypt_then_mac) is not None) == offered


def test_client_refuses_encrypt_then_mac_with_an_aead_suite():
    from tlslesson.client import ClientConnection
    from tlslesson.server import ServerConnection
    client = ClientConnection(ClientConfig(versions=("1.2",), suites=(GCM, CBC)))
    client.start()
    server = ServerConnection(ServerConfig(versions=("1.2",), suites=(GCM,)))
    server.receive(client.data_to_send())
    flight = server.data_to_send()
    buffer = RecordBuffer()
    buffer.feed(flight)
    first = buffer.next_record()
    from tlslesson.messages import Context, decode_handshake, encode_handshake
    sh = decode_handshake(first.fragment, Context("1.2", "ECDHE"))
    forged = dataclasses.replace(sh, extensions=sh.extensions + (ext.encrypt_then_mac(),))
    raw = encode_handshake(forged)
    record = bytes([22, 3, 3]) + len(raw).to_bytes(2, "big") + raw
    with pytest.raises(AlertError) as info:
        client.receive(record)
    assert info.value.alert == 47 and info.value.check == "encrypt_then_mac"


# -- record_size_limit ---------------------------------------------------------------------------
def _record_sizes(data: bytes) -> list[tuple[int, int]]:
    buffer, out = RecordBuffer(), []
    buffer.feed(data)
    while (record := buffer.next_record()) is not None:
        out.append((record.content_type, len(record.fragment)))
    return out


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_default_limits_are_sent_and_echoed(version):
    hs = _pair(versions=(version,))
    assert hs.ok
    ch = _hello(hs, "ClientHello")
    assert ext.value(ch.extension(ET.record_size_limit), "client_hello") == \
        (2 ** 14 + 1 if version == "1.3" else 2 ** 14)
    answer = _hello(hs, "EncryptedExtensions" if version == "1.3" else "ServerHello")
    assert ext.value(ext.find(answer.extensions, ET.record_size_limit), "x") == \
        (2 ** 14 + 1 if version == "1.3" else 2 ** 14)
    if version == "1.3":           # RFC 8449 §4: in 1.3 it is in EncryptedExtensions only
        assert _hello(hs, "ServerHello").extension(ET.record_size_limit) is None


@pytest.mark.parametrize("version, suite", [("1.2", GCM), ("1.2", CBC), ("1.3", TLS13)])
def test_a_peer_limit_of_512_keeps_our_records_within_it(version, suite):
    hs = _pair({"record_size_limit": 512}, {}, versions=(version,), suites=(suite,))
    assert hs.ok, hs.error
    assert hs.server.hs.peer_record_size_limit == 512
    # our largest plaintext per record: 512 in 1.2, 511 + the content type byte in 1.3
    most = 511 if version == "1.3" else 512
    hs.server.send(b"y" * 5000)
    sent = hs.server.data_to_send()
    events = hs.client.receive(sent)
    assert b"".join(e.data for e in events) == b"y" * 5000
    assert [len(e.data) for e in events] == [most] * (5000 // most) + [5000 % most]
    # the server's protected handshake records kept to it too (1.3: its Certificate is > 512)
    overhead = {"1.2": 8 + 16 if suite.aead else 16 + 20 + 16, "1.3": 1 + 16}[version]
    for step in hs.steps:
        if step.sender == "server" and step.protected:
            assert all(length <= 512 + overhead for _, length in _record_sizes(step.record))
    if version == "1.3":
        cert = next(s for s in hs.steps if s.name == "Certificate" and s.sender == "server")
        assert len(_record_sizes(cert.record)) > 1
    # and the client, which announced 512, holds the server to it
    assert hs.client.hs.record_size_limit == 512


def test_our_limit_is_enforced_on_what_we_receive():
    hs = _pair({"record_size_limit": 512}, {"record_size_limit": None}, versions=("1.2",),
               suites=(GCM,))
    assert hs.ok                   # the server doesn't echo: the client enforces nothing
    assert hs.server.hs.peer_record_size_limit is None and hs.client.hs.record_size_limit is None
    hs = _pair({"record_size_limit": 512}, {}, versions=("1.2",), suites=(GCM,))
    hs.server.hs.peer_record_size_limit = None          # a server that ignores our limit
    hs.server.send(b"z" * 1000)
    with pytest.raises(AlertError) as info:
        hs.client.receive(hs.server.data_to_send())
    assert info.value.alert == 22 and info.value.check == "record_length"   # record_overflow


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_a_limit_below_64_is_illegal_parameter(version):
    def lower(hello):
        exts = tuple(ext.record_size_limit(63) if e.type == ET.record_size_limit else e
                     for e in hello.extensions)
        return dataclasses.replace(hello, extensions=exts)
    hs = _pair({"customize_hello": lower}, {}, versions=(version,))
    assert isinstance(hs.error, AlertError)
    assert hs.error.alert == 47 and hs.error.check == "record_size_limit"
    with pytest.raises(ValueError):
        handshake(ClientConfig(record_size_limit=63), ServerConfig())


def test_a_server_without_record_size_limit_does_not_echo():
    hs = _pair({}, {"record_size_limit": None}, versions=("1.3",))
    assert hs.ok and ext.find(_hello(hs, "EncryptedExtensions").extensions, ET.record_size_limit) is None
    assert type(hs.client.records.write) is AEAD13
    hs = _pair({"record_size_limit": None}, {}, versions=("1.2",))
    assert hs.ok and _hello(hs, "ServerHello").extension(ET.record_size_limit) is None
