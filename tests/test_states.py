"""The state tables (tlslesson/states.py) against the handlers that implement them, and the
behaviours the issue "The handshake as the RFC draws it" found diverged between copies.

* every table entry has a handler, every handler a table entry;
* in every state, every message type the table does not list is unexpected_message, naming the
  state and the message (check "state");
* real handshakes walk only along table edges, and every logged step names a state of its table.
"""
from __future__ import annotations

import dataclasses

import pytest

from tlslesson import extensions as ext
from tlslesson import hello, pki, signatures, states, tls12, tls13
from tlslesson.client import ClientConnection
from tlslesson.connection import ClientConfig, ServerConfig, handshake
from tlslesson.constants import (AlertDescription as AD, ExtensionType as ET, HandshakeType as HT,
                                 SignatureScheme as SS)
from tlslesson.errors import AlertError
from tlslesson.lesson.configs import lesson_client, lesson_server
from tlslesson.server import ServerConnection

P = pki.lesson_pki()
ROLES = {"client": ClientConnection, "server": ServerConnection}
MESSAGE_TYPES = [t for t in HT if t != HT.message_hash]      # message_hash never goes on the wire


def _record(content_type: int, payload: bytes) -> bytes:
    return bytes([content_type, 3, 3]) + len(payload).to_bytes(2, "big") + payload


def _in_state(role: str, version: str, state: str):
    conn = ROLES[role]()
    conn.table_version, conn.state = version, state
    conn.hs.version = version if state not in ("START", "WAIT_SH", "RECVD_CH") else None
    return conn


@pytest.mark.parametrize("role,version", list(states.TABLES), ids=lambda v: str(v))
def test_every_table_entry_has_a_handler_and_no_handler_is_unlisted(role, version):
    table = states.TABLES[(role, version)]
    handlers = ROLES[role].HANDLERS[version]
    used = set()
    for state in table:                       # each (state, message) resolves to one handler
        for trigger in states.received(table, state):
            key = (state, trigger) if (state, trigger) in handlers else trigger
            assert callable(handlers.get(key)), (state, trigger)
            used.add(key)
    assert used == set(handlers)              # and no handler is there for nothing
    for state in table:                       # every target is a state of the same table
        assert states.next_states(table, state) <= set(table), state


CASES = [(role, version, state, t) for (role, version), table in states.TABLES.items()
         for state in table for t in MESSAGE_TYPES if t not in table[state]]


@pytest.mark.parametrize("role,version,state,msg_type", CASES,
                         ids=[f"{r}{v}-{s}-{t.name}" for r, v, s, t in CASES])
def test_every_other_message_in_every_state_is_unexpected(role, version, state, msg_type):
    conn = _in_state(role, version, state)
    raw = bytes([msg_type]) + b"\x00\x00\x00"        # refused before its body is even read
    with pytest.raises(AlertError) as caught:
        conn.receive(_record(22, raw))
    error = caught.value
    assert error.alert == AD.unexpected_message and error.check == "state"
    assert f"in state {state}" in str(error)
    assert states.trigger_name(msg_type) in str(error)
    assert conn.data_to_send() == _record(21, b"\x02\x0a")     # fatal unexpected_message


@pytest.mark.parametrize("role,version,state",
                         [(r, v, s) for (r, v), t in states.TABLES.items() for s in t
                          if v == "1.2" and states.CCS not in t[s]])
def test_change_cipher_spec_where_tls12_does_not_wait_for_it(role, version, state):
    conn = _in_state(role, version, state)
    with pytest.raises(AlertError) as caught:
        conn.receive(_record(20, b"\x01"))
    assert caught.value.check == "state" and f"in state {state}" in str(caught.value)


RUNS = {
    "1.3": dict(versions=("1.3",)),
    "1.3 client auth": dict(versions=("1.3",), client=dict(identity=P.client),
                            server=dict(client_ca=P.trusted)),
    "1.3 HelloRetryRequest": dict(versions=("1.3",), server=dict(groups=(0x0017,))),
    "1.2 ECDHE": dict(versions=("1.2",)),
    "1.2 RSA client auth": dict(versions=("1.2",), suites=None, client=dict(identity=P.client),
                                server=dict(client_ca=P.trusted)),
}


def _configs(name):
    from tlslesson import suites
    from tlslesson.lesson.configs import lesson_configs
    options = dict(RUNS[name])
    if "suites" in options:
        options["suites"] = (suites.get("AES128-GCM-SHA256"),)
    return lesson_configs(**options)


@pytest.mark.parametrize("name", RUNS)
def test_real_handshakes_walk_along_table_edges(name):
    run = handshake(*_configs(name))
    assert run.ok, run.error
    for conn in (run.client, run.server):
        table = conn.table
        walk = conn.walk
        assert walk[0] == "START" and walk[-1] == "CONNECTED"
        for a, b in zip(walk, walk[1:]):
            assert b in states.next_states(table, a), (conn.role, a, b)
        assert all(step.state in table for step in conn.log)
    if "HelloRetryRequest" in name:
        assert run.client.walk[:4] == ["START", "WAIT_SH", "START", "WAIT_SH"]
        assert run.server.walk[:4] == ["START", "RECVD_CH", "START", "RECVD_CH"]


# -- behaviours that had diverged between copies ---------------------------------------------------
def test_tls13_certificate_request_honours_server_signature_schemes():
    """It offered RSA_SCHEMES_13 + ECDSA whatever the configuration said, and no rsa_pkcs1_*,
    though the client certificate is signed sha256WithRSAEncryption (Java 17 then sends no
    certificate): RFC 8446 §4.2.3, signature_algorithms also covers certificate signatures."""
    run = handshake(ClientConfig(versions=("1.3",), identity=P.client),
                    ServerConfig(client_ca=P.trusted))
    request = next(s.message for s in run.steps if s.name == "CertificateRequest")
    assert SS.rsa_pkcs1_sha256 in request.signature_algorithms and run.ok
    chosen = (SS.rsa_pss_rsae_sha256, SS.rsa_pkcs1_sha256)
    run = handshake(ClientConfig(versions=("1.3",), identity=P.client),
                    ServerConfig(client_ca=P.trusted, signature_schemes=chosen))
    request = next(s.message for s in run.steps if s.name == "CertificateRequest")
    assert tuple(request.signature_algorithms) == chosen and run.ok


def _offering(schemes):
    """customize_hello: what the ClientHello says, whatever the client itself accepts."""
    def rewrite(h):
        return dataclasses.replace(h, extensions=tuple(
            ext.signature_algorithms(schemes) if e.type == ET.signature_algorithms else e
            for e in h.extensions))
    return rewrite


def test_tls13_client_checks_certificate_verify_against_its_own_offer():
    """The client accepts only what it offered (as TLS 1.2 always did), not any 1.3 scheme."""
    run = handshake(ClientConfig(versions=("1.3",), signature_schemes=(SS.ecdsa_secp256r1_sha256,),
                                 customize_hello=_offering((SS.rsa_pss_rsae_sha256,))),
                    ServerConfig())
    assert run.error is not None and run.error.alert == AD.illegal_parameter
    assert run.error.check == "certificate_verify_scheme"


@pytest.mark.parametrize("offered,key_type", [((SS.ecdsa_secp256r1_sha256,), "EC"),
                                              ((SS.rsa_pss_rsae_sha256,), "RSA")])
def test_tls13_server_chooses_its_certificate_once_by_the_offer(offered, key_type):
    ch = ClientConnection(ClientConfig(versions=("1.3",), signature_schemes=offered))
    ch.start()
    client_hello = ch.log[0].message
    suite, identity = hello.choose_suite(client_hello, "1.3", ServerConfig().suites,
                                         ServerConfig().groups, ServerConfig().identities)
    assert type(identity.key).__name__.startswith(key_type)
    run = handshake(ClientConfig(versions=("1.3",), signature_schemes=offered), ServerConfig())
    verify = next(s.message for s in run.steps if s.name == "CertificateVerify")
    assert run.ok and verify.scheme == offered[0]


def test_tls13_ecdsa_scheme_is_bound_to_the_curve():
    """RFC 8446 §4.2.3: offered only ecdsa_secp384r1_sha384, a server with a P-256 key must not
    sign under that name; with no other certificate it refuses before ServerHello."""
    key = P.ecdsa_server.key
    assert not signatures.can_sign(key, SS.ecdsa_secp384r1_sha384, tls13=True)
    assert signatures.can_sign(key, SS.ecdsa_secp384r1_sha384, tls13=False)   # 1.2 names the hash
    run = handshake(ClientConfig(versions=("1.3",), signature_schemes=(SS.ecdsa_secp384r1_sha384,)),
                    ServerConfig(identities=(P.ecdsa_server,)))
    assert run.error.alert == AD.handshake_failure and run.error.check == "signature_scheme"
    assert [s.name for s in run.steps] == ["ClientHello", "Alert"]


def test_tls12_ecdsa_without_a_usable_scheme_is_refused_before_server_hello():
    run = handshake(ClientConfig(versions=("1.2",), signature_schemes=(SS.rsa_pkcs1_sha256,)),
                    ServerConfig(identities=(P.ecdsa_server,)))
    assert run.error.alert == AD.handshake_failure
    assert [s.name for s in run.steps] == ["ClientHello", "Alert"]


def test_rsa_pre_master_version_is_the_client_hello_version():
    """RFC 5246 §7.4.7.1: the pre-master starts with ClientHello.client_version, not 0x0303."""
    from tlslesson import keyexchange
    from tlslesson.messages import ClientKeyExchange
    from tlslesson.rng import SystemRandom
    from tlslesson import suites
    suite = suites.get("AES128-GCM-SHA256")
    pre_master = keyexchange.rsa_pre_master(SystemRandom(), 0x0304)
    cke = ClientKeyExchange("RSA", keyexchange.rsa_encrypt(P.rsa_server.key.public_key(), pre_master))
    got = tls12.server_pre_master(suite, cke, P.rsa_server.key, None, None, SystemRandom(), 0x0304)
    assert got == pre_master
    wrong = tls12.server_pre_master(suite, cke, P.rsa_server.key, None, None, SystemRandom(), 0x0303)
    assert wrong != pre_master and wrong[:2] == b"\x03\x03"     # the random fallback


def test_every_received_message_of_a_lesson_run_records_the_state_after_it():
    run = handshake(lesson_client(versions=("1.3",)), lesson_server())
    names = [(s.sender, s.name, s.state) for s in run.client.log]
    assert names[0] == ("client", "ClientHello", "WAIT_SH")
    assert ("server", "ServerHello", "WAIT_EE") in names
    assert ("server", "Certificate", "WAIT_CV") in names
    assert names[-1][2] == "CONNECTED"


def test_errors_name_their_check_and_the_lab_reads_only_that():
    from tlslesson.lesson.models import failed_check
    with pytest.raises(ValueError):                       # a detected alert must name its check
        AlertError(AD.decrypt_error, "no check")
    assert AlertError(AD.bad_certificate, received=True).check == "peer_alert"
    misleading = AlertError(AD.decrypt_error, "the Finished of ServerKeyExchange", check="record_mac")
    assert failed_check(misleading)[0] == "record MAC/AEAD tag"
    assert failed_check(AlertError(AD.decrypt_error, "x", check="finished"))[0] == \
        "Finished verify_data"


def test_misusing_the_api_is_not_a_protocol_alert():
    from tlslesson import groups, suites
    with pytest.raises(KeyError) as caught:
        suites.get("NO-SUCH-SUITE")
    assert not isinstance(caught.value, AlertError)
    with pytest.raises(KeyError):
        groups.get(0x9999)
    with pytest.raises(ValueError, match="KeyUpdate"):
        ClientConnection().update_keys()
