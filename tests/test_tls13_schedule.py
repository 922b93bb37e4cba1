"""The TLS 1.3 key schedule (RFC 8446 §7) against RFC 8448 section 3, one secret at a time.

Every expected value below is printed in RFC 8448 §3 ("Simple 1-RTT Handshake"); they are read
from tests/vectors/rfc8448_simple.json, which records the RFC line of each one (extracted from
the RFC text by tests/rfc8448_trace.py). The inputs are the RFC's too: its x25519 keys, and the
transcript hashes it prints (which we also recompute from the RFC's handshake messages).
Suite: TLS_AES_128_GCM_SHA256, so every secret is 32 bytes, keys 16, IVs 12.
"""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from rfc8448_trace import load
from tlslesson import groups, suites, tls13
from tlslesson.constants import NamedGroup
from tlslesson.prf import Transcript, digest, hmac_digest

SUITE = suites.get("TLS_AES_128_GCM_SHA256")
H = SUITE.hash                                   # "SHA256"


@pytest.fixture(scope="module")
def rfc() -> dict[str, bytes]:
    return load()


class OneValueRandom:
    """Hands out the RFC's private key when the x25519 group asks for 32 random bytes."""

    def __init__(self, value: bytes):
        self.value = value

    def bytes(self, n: int) -> bytes:
        assert n == len(self.value)
        return self.value


# -- the inputs: (EC)DHE shared secret and transcript hashes ------------------------------------
def test_x25519_key_pairs_and_shared_secret(rfc):
    x25519 = groups.get("x25519")
    private, client_share = x25519.client_share(OneValueRandom(rfc["client_private_key"]))
    assert client_share == rfc["client_public_key"]
    server_share, server_secret = x25519.server_share(
        OneValueRandom(rfc["server_private_key"]), client_share)
    assert server_share == rfc["server_public_key"]
    assert server_secret == rfc["shared_secret"]                       # "IKM" of "handshake"
    assert x25519.client_finish(private, server_share) == rfc["shared_secret"]


def test_transcript_hashes_from_the_rfc_messages(rfc):
    t = Transcript()
    assert digest(H, b"") == rfc["empty_hash"]            # the "derived" steps hash nothing
    t.add(rfc["client_hello"])
    t.add(rfc["server_hello"])
    assert t.hash(H) == rfc["hello_hash"]                 # ClientHello..ServerHello
    for name in ("encrypted_extensions", "certificate", "certificate_verify", "server_finished"):
        t.add(rfc[name])
    assert t.hash(H) == rfc["server_finished_hash"]       # ClientHello..server Finished
    t.add(rfc["client_finished"])
    assert t.hash(H) == rfc["client_finished_hash"]       # ClientHello..client Finished


# -- the building blocks --------------------------------------------------------------------------
def test_hkdf_label_layout(rfc):
    """HkdfLabel = uint16 length, opaque "tls13 " + label, opaque context: the RFC prints it
    as "info". HKDF-Expand with the RFC's info equals our hkdf_expand_label."""
    def expand(prk, info, length):
        return HKDFExpand(hashes.SHA256(), length, info).derive(prk)

    secret = rfc["server_handshake_traffic_secret"]
    assert rfc["key_info"] == b"\x00\x10\x09tls13 key\x00"
    assert rfc["iv_info"] == b"\x00\x0c\x08tls13 iv\x00"
    assert tls13.hkdf_expand_label(H, secret, "key", b"", 16) == expand(secret, rfc["key_info"], 16)
    assert tls13.hkdf_expand_label(H, secret, "iv", b"", 12) == expand(secret, rfc["iv_info"], 12)
    info = rfc["c_hs_traffic_info"]
    assert info == b"\x00\x20\x12tls13 c hs traffic\x20" + rfc["hello_hash"]
    assert tls13.derive_secret(H, rfc["handshake_secret"], "c hs traffic", rfc["hello_hash"]) \
        == expand(rfc["handshake_secret"], info, 32)


def test_hkdf_extract_early_secret(rfc):
    # no PSK: salt 0 and IKM 32 zero bytes
    assert tls13.hkdf_extract(H, b"", bytes(32)) == rfc["early_secret"]


def test_derive_secret_derived_for_handshake(rfc):
    assert tls13.derive_secret(H, rfc["early_secret"], "derived", rfc["empty_hash"]) \
        == rfc["derived_for_handshake"]


def test_hkdf_extract_handshake_secret(rfc):
    assert tls13.hkdf_extract(H, rfc["derived_for_handshake"], rfc["shared_secret"]) \
        == rfc["handshake_secret"]


def test_derive_secret_handshake_traffic(rfc):
    hs = rfc["handshake_secret"]
    assert tls13.derive_secret(H, hs, "c hs traffic", rfc["hello_hash"]) \
        == rfc["client_handshake_traffic_secret"]
    assert tls13.derive_secret(H, hs, "s hs traffic", rfc["hello_hash"]) \
        == rfc["server_handshake_traffic_secret"]


def test_derive_secret_derived_for_master_and_master_secret(rfc):
    derived = tls13.derive_secret(H, rfc["handshake_secret"], "derived", rfc["empty_hash"])
    assert derived == rfc["derived_for_master"]
    assert tls13.hkdf_extract(H, derived, bytes(32)) == rfc["master_secret"]


def test_derive_secret_application_exporter_resumption(rfc):
    ms = rfc["master_secret"]
    assert tls13.derive_secret(H, ms, "c ap traffic", rfc["server_finished_hash"]) \
        == rfc["client_application_traffic_secret_0"]
    assert tls13.derive_secret(H, ms, "s ap traffic", rfc["server_finished_hash"]) \
        == rfc["server_application_traffic_secret_0"]
    assert tls13.derive_secret(H, ms, "exp master", rfc["server_finished_hash"]) \
        == rfc["exporter_master_secret"]
    assert tls13.derive_secret(H, ms, "res master", rfc["client_finished_hash"]) \
        == rfc["resumption_master_secret"]


@pytest.mark.parametrize("secret, key, iv", [
    ("server_handshake_traffic_secret", "server_handshake_key", "server_handshake_iv"),
    ("client_handshake_traffic_secret", "client_handshake_key", "client_handshake_iv"),
    ("server_application_traffic_secret_0", "server_application_key", "server_application_iv"),
    ("client_application_traffic_secret_0", "client_application_key", "client_application_iv"),
])
def test_traffic_keys(rfc, secret, key, iv):
    assert tls13.traffic_keys(SUITE, rfc[secret]) == (rfc[key], rfc[iv])


def test_finished_keys_and_verify_data(rfc):
    s_hs, c_hs = rfc["server_handshake_traffic_secret"], rfc["client_handshake_traffic_secret"]
    # finished_key = HKDF-Expand-Label(BaseKey, "finished", "", 32)
    assert tls13.hkdf_expand_label(H, s_hs, "finished", b"", 32) == rfc["server_finished_key"]
    assert tls13.hkdf_expand_label(H, c_hs, "finished", b"", 32) == rfc["client_finished_key"]
    # server Finished covers ClientHello..CertificateVerify
    t = Transcript()
    for name in ("client_hello", "server_hello", "encrypted_extensions", "certificate",
                 "certificate_verify"):
        t.add(rfc[name])
    assert tls13.finished_verify_data(SUITE, s_hs, t.hash(H)) == rfc["server_verify_data"]
    assert hmac_digest(H, rfc["server_finished_key"], t.hash(H)) == rfc["server_verify_data"]
    assert rfc["server_finished"] == b"\x14\x00\x00\x20" + rfc["server_verify_data"]
    # client Finished covers ClientHello..server Finished
    assert tls13.finished_verify_data(SUITE, c_hs, rfc["server_finished_hash"]) \
        == rfc["client_verify_data"]
    assert rfc["client_finished"] == b"\x14\x00\x00\x20" + rfc["client_verify_data"]


def test_resumption_psk_from_ticket_nonce(rfc):
    """RFC 8446 §4.6.1: PSK = HKDF-Expand-Label(resumption_master_secret, "resumption",
    ticket_nonce, Hash.length). The RFC prints the nonce as the "hash" (00 00)."""
    nonce = rfc["ticket_nonce"]
    assert nonce == b"\x00\x00"
    assert rfc["resumption_info"] == b"\x00\x20\x10tls13 resumption\x02" + nonce
    assert tls13.hkdf_expand_label(H, rfc["resumption_master_secret"], "resumption", nonce, 32) \
        == rfc["resumption_psk"]


# -- the KeySchedule object: the same values, as a connection fills them in ------------------------
def test_key_schedule_object(rfc):
    s = tls13.KeySchedule(SUITE)
    s.start()
    assert s.early_secret == rfc["early_secret"]
    s.handshake(rfc["shared_secret"], rfc["hello_hash"])
    assert s.handshake_secret == rfc["handshake_secret"]
    assert s.client_handshake_traffic_secret == rfc["client_handshake_traffic_secret"]
    assert s.server_handshake_traffic_secret == rfc["server_handshake_traffic_secret"]
    assert s.keys["server_handshake"] == (rfc["server_handshake_key"], rfc["server_handshake_iv"])
    assert s.keys["client_handshake"] == (rfc["client_handshake_key"], rfc["client_handshake_iv"])
    s.application(rfc["server_finished_hash"])
    assert s.master_secret == rfc["master_secret"]
    assert s.client_application_traffic_secret_0 == rfc["client_application_traffic_secret_0"]
    assert s.server_application_traffic_secret_0 == rfc["server_application_traffic_secret_0"]
    assert s.exporter_master_secret == rfc["exporter_master_secret"]
    assert s.keys["server_application"] == (rfc["server_application_key"],
                                            rfc["server_application_iv"])
    assert s.keys["client_application"] == (rfc["client_application_key"],
                                            rfc["client_application_iv"])
    s.resumption(rfc["client_finished_hash"])
    assert s.resumption_master_secret == rfc["resumption_master_secret"]
    assert set(s.secrets()) == {
        "early_secret", "handshake_secret", "master_secret",
        "client_handshake_traffic_secret", "server_handshake_traffic_secret",
        "client_application_traffic_secret_0", "server_application_traffic_secret_0",
        "exporter_master_secret", "resumption_master_secret"}
