"""TLS 1.2 PRF and key derivation (RFC 5246 §5, §6.3, §8.1; RFC 7627).

Vectors: tests/vectors/tls12_prf.json, copied from the project's shared reference data; each entry names
its source (IETF TLS WG list, November 2010; GnuTLS tests/tls12-prf.c) and was checked against
`openssl kdf ... TLS1-PRF`.
"""
import json
from pathlib import Path

import pytest

from tlslesson import suites, tls12

VECTORS = json.loads((Path(__file__).parent / "vectors" / "tls12_prf.json").read_text())["vectors"]


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_prf_vectors(v):
    out = tls12.prf(bytes.fromhex(v["secret"]), v["label"].encode(), bytes.fromhex(v["seed"]),
                    v["length"], v["hash"])
    assert out.hex() == v["output"]


def test_p_hash_is_a_prefix_family():
    # P_hash output for a shorter length is a prefix of a longer one (it is one stream).
    long = tls12.p_hash("SHA256", b"k", b"seed", 100)
    assert tls12.p_hash("SHA256", b"k", b"seed", 33) == long[:33]


def test_master_secret_is_prf_with_both_randoms():
    suite = suites.get("ECDHE-RSA-AES128-GCM-SHA256")
    pm, cr, sr = bytes(range(48)), b"c" * 32, b"s" * 32
    assert tls12.master_secret(pm, cr, sr, suite) == tls12.prf(pm, b"master secret", cr + sr, 48)
    # swapping the randoms changes everything
    assert tls12.master_secret(pm, sr, cr, suite) != tls12.master_secret(pm, cr, sr, suite)


def test_extended_master_secret_uses_session_hash():
    suite = suites.get("ECDHE-RSA-AES256-GCM-SHA384")
    pm, h = b"p" * 48, b"h" * 48
    assert tls12.extended_master_secret(pm, h, suite) == \
        tls12.prf(pm, b"extended master secret", h, 48, "SHA384")


@pytest.mark.parametrize("name,sizes", [
    ("ECDHE-RSA-AES128-GCM-SHA256", (0, 0, 16, 16, 4, 4)),
    ("ECDHE-RSA-AES256-GCM-SHA384", (0, 0, 32, 32, 4, 4)),
    ("ECDHE-RSA-CHACHA20-POLY1305", (0, 0, 32, 32, 12, 12)),
    ("AES128-SHA", (20, 20, 16, 16, 0, 0)),
])
def test_key_block_split(name, sizes):
    suite = suites.get(name)
    master, cr, sr = b"m" * 48, b"c" * 32, b"s" * 32
    kb = tls12.key_block(master, cr, sr, suite)
    parts = (kb.client_write_mac_key, kb.server_write_mac_key, kb.client_write_key,
             kb.server_write_key, kb.client_write_iv, kb.server_write_iv)
    assert tuple(len(p) for p in parts) == sizes
    # the key block is PRF(master, "key expansion", server_random + client_random) cut in order
    block = tls12.prf(master, b"key expansion", sr + cr, sum(sizes), suite.hash)
    assert b"".join(parts) == block


def test_verify_data_is_12_bytes_and_sender_specific():
    suite = suites.get("AES128-GCM-SHA256")
    c = tls12.verify_data(b"m" * 48, "client", b"h" * 32, suite)
    s = tls12.verify_data(b"m" * 48, "server", b"h" * 32, suite)
    assert len(c) == len(s) == 12 and c != s


def test_dhe_pre_master_strips_leading_zeros_only():
    assert tls12.dhe_pre_master(b"\x00\x00\x01\x00") == b"\x01\x00"
