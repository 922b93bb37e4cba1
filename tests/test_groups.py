"""groups.py: one KEM-shaped interface for (EC)DH, ML-KEM and the hybrids; one table of names.

Sizes from RFC 8446 §4.2.8.2 (x25519 32, P-256 65), RFC 7919 (ffdhe2048 256), FIPS 203 (ML-KEM-768
encapsulation key 1184, ciphertext 1088) and draft-ietf-tls-ecdhe-mlkem (X25519MLKEM768 1216 /
1120 with ML-KEM first; SecP256r1MLKEM768 1249 / 1153 with the curve first).
"""
from __future__ import annotations

import pytest

from tlslesson import groups
from tlslesson.__main__ import UsageError, parse_group
from tlslesson.connection import ClientConfig, ServerConfig, handshake
from tlslesson.constants import AlertDescription as AD, NamedGroup
from tlslesson.errors import AlertError
from tlslesson.rng import SystemRandom, lesson_rng

SIZES = {"x25519": (32, 32, 32), "secp256r1": (65, 65, 32), "ffdhe2048": (256, 256, 256),
         "MLKEM768": (1184, 1088, 32), "X25519MLKEM768": (1216, 1120, 64),
         "SecP256r1MLKEM768": (1249, 1153, 64)}


@pytest.mark.parametrize("name", SIZES)
def test_client_and_server_agree_and_sizes_are_the_specs(name):
    group = groups.get(name)
    private, client_share = group.client_share(SystemRandom())
    server_share, server_secret = group.server_share(SystemRandom(), client_share)
    assert group.client_finish(private, server_share) == server_secret
    assert (len(client_share), len(server_share), len(server_secret)) == SIZES[name]
    assert (group.client_share_size, group.server_share_size) == SIZES[name][:2]
    assert groups.get(group.code) is group and groups.name(group.code) == name


def test_hybrid_shares_are_the_two_parts_concatenated_in_the_drafts_order():
    rng = lesson_rng("hybrid")
    private, share = groups.X25519MLKEM768.client_share(rng)
    mlkem_key, x25519_key = private
    assert share[:1184] == mlkem_key.public_key().public_bytes_raw()       # ML-KEM first
    assert share[1184:] == x25519_key.public_key().public_bytes_raw()
    server_share, secret = groups.X25519MLKEM768.server_share(SystemRandom(), share)
    assert secret[:32] == mlkem_key.decapsulate(server_share[:1088])
    assert secret[32:] == groups.X25519.client_finish(x25519_key, server_share[1088:])
    private, share = groups.SECP256R1MLKEM768.client_share(rng)
    assert share[0] == 4 and len(share[:65]) == 65                          # the curve first


@pytest.mark.parametrize("name,bad", [
    ("x25519", b"\x01" * 31), ("x25519", bytes(32)),            # short; the all-zero point
    ("secp256r1", b"\x04" + b"\x01" * 64),                      # not on the curve
    ("secp256r1", b"\x02" + b"\x01" * 32),                      # compressed: not allowed
    ("ffdhe2048", b"\x01"), ("ffdhe2048", b"\xff" * 256),       # 1 and >= p - 1
    ("MLKEM768", b"\x00" * 1183),
    ("X25519MLKEM768", b"\x00" * 1215),
])
def test_a_malformed_peer_share_is_illegal_parameter(name, bad):
    group = groups.get(name)
    with pytest.raises(AlertError) as caught:
        group.server_share(SystemRandom(), bad)
    assert caught.value.alert == AD.illegal_parameter and caught.value.check == "key_share"


def test_a_malformed_kem_ciphertext_is_illegal_parameter():
    private, _ = groups.MLKEM768.client_share(SystemRandom())
    with pytest.raises(AlertError) as caught:
        groups.MLKEM768.client_finish(private, b"\x00" * 1087)
    assert caught.value.check == "key_share"


def test_seeded_shares_repeat_and_fresh_ones_do_not():
    for name in ("x25519", "secp256r1", "ffdhe2048", "MLKEM768"):
        group = groups.get(name)
        assert group.client_share(lesson_rng("s"))[1] == group.client_share(lesson_rng("s"))[1]
        assert group.client_share(SystemRandom())[1] != group.client_share(SystemRandom())[1]


@pytest.mark.parametrize("name", ["X25519MLKEM768", "SecP256r1MLKEM768", "MLKEM768"])
def test_kem_groups_complete_a_tls13_handshake(name):
    code = groups.get(name).code
    run = handshake(ClientConfig(versions=("1.3",), groups=(code,)),
                    ServerConfig(groups=(code,)))
    assert run.ok, run.error
    assert run.client.values["group"] == name == run.server.values["group"]
    hello = run.steps[0].message
    share = hello.extension(0x0033)
    assert len(share.data) == 2 + 4 + groups.get(name).client_share_size


def test_a_kem_offered_only_in_tls12_leaves_no_ecdhe_suite():
    run = handshake(ClientConfig(versions=("1.2",), groups=(NamedGroup.X25519MLKEM768,)),
                    ServerConfig())
    assert run.ok and run.client.suite.kx != "ECDHE"      # RSA or DHE: a KEM can't do TLS 1.2
    assert not groups.usable_in_tls12(NamedGroup.X25519MLKEM768)


def test_explicit_dh_groups_from_a_server_are_checked():
    with pytest.raises(AlertError) as caught:
        groups.FiniteFieldGroup.explicit(2 ** 511 + 1, 2)
    assert caught.value.alert == AD.insufficient_security and caught.value.check == "dh_group"
    with pytest.raises(AlertError) as caught:
        groups.FiniteFieldGroup.explicit(groups.FFDHE2048_P, 1)
    assert caught.value.check == "dh_group"


def test_every_name_comes_from_the_one_table():
    assert parse_group("P-256") == NamedGroup.secp256r1 == parse_group("prime256v1")
    assert parse_group("x25519mlkem768") == NamedGroup.X25519MLKEM768
    with pytest.raises(UsageError, match="X25519MLKEM768"):   # the message lists the table
        parse_group("x448")
    with pytest.raises(KeyError):                             # misuse: not a protocol alert
        groups.get("nonsense")
    assert ClientConfig().groups == groups.DEFAULT == ServerConfig().groups
