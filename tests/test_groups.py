"""groups.py: one KEM-shaped interface for (EC)DH, ML-KEM and the hybrids; one table of names.

Sizes from RFC 8446 §4.2.8.2 (x25519 32, P-256 65), RFC 7919 (ffdhe2048 256), FIPS 203 (ML-KEM-768
encapsulation key 1184, ciphertext 1088) and draft-ietf-tls-ecdhe-mlkem (X25519MLKEM768 1216 /
1120 with ML-KEM first; SecP256r1MLKEM768 1249 / 1153 with the curve first), RFC 8446 §4.2.8.2
(P-384 97 / 48, P-521 133 / 66: 0x04 || X || Y and the X coordinate), RFC 7748 §6.2 (x448 56) and
RFC 7919 §A.2-A.3 (ffdhe3072 384, ffdhe4096 512).
"""
from __future__ import annotations

import math

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tlslesson import extensions, groups, hello, suites
from tlslesson.__main__ import UsageError, parse_group
from tlslesson.connection import ClientConfig, ServerConfig, handshake
from tlslesson.constants import AlertDescription as AD, NamedGroup
from tlslesson.errors import AlertError
from tlslesson.rng import SystemRandom, lesson_rng

SIZES = {"x25519": (32, 32, 32), "secp256r1": (65, 65, 32), "ffdhe2048": (256, 256, 256),
         "MLKEM768": (1184, 1088, 32), "X25519MLKEM768": (1216, 1120, 64),
         "SecP256r1MLKEM768": (1249, 1153, 64),
         "secp384r1": (97, 97, 48), "secp521r1": (133, 133, 66), "x448": (56, 56, 56),
         "ffdhe3072": (384, 384, 384), "ffdhe4096": (512, 512, 512)}


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


VALID_MLKEM_KEY = groups.MLKEM768.client_share(lesson_rng("valid"))[1]
VALID_P256 = groups.SECP256R1.client_share(lesson_rng("valid"))[1]


@pytest.mark.parametrize("name,bad", [
    ("x25519", b"\x01" * 31), ("x25519", bytes(32)),            # short; the all-zero point
    ("secp256r1", b"\x04" + b"\x01" * 64),                      # not on the curve
    ("secp256r1", b"\x02" + b"\x01" * 32),                      # compressed: not allowed
    ("ffdhe2048", b"\x01"), ("ffdhe2048", b"\xff" * 256),       # 1 and >= p - 1
    ("MLKEM768", b"\x00" * 1183),
    ("X25519MLKEM768", b"\x00" * 1215),
    ("secp384r1", b"\x04" + b"\x01" * 96), ("secp384r1", b"\x04" + b"\x01" * 64),   # off; short
    ("secp521r1", b"\x04" + b"\x01" * 132), ("secp521r1", b"\x03" + b"\x01" * 66),  # off; compressed
    ("x448", b"\x01" * 55), ("x448", bytes(56)),               # short; the all-zero point
    ("ffdhe3072", b"\x00" * 383 + b"\x01"), ("ffdhe3072", b"\xff" * 384),   # 1 and >= p - 1
    ("ffdhe4096", bytes(512)), ("ffdhe4096", groups.FFDHE4096_P.to_bytes(512, "big")),   # 0, p
    ("MLKEM768", b"\xff" * 1184),                        # coefficients 4095 >= q: FIPS 203 §7.2
    ("MLKEM768", b"\x00" * 1185),
    ("X25519MLKEM768", b"\x00" * 1217),
    ("X25519MLKEM768", b"\xff" * 1184 + b"\x09" + bytes(31)),      # ML-KEM part fails
    ("X25519MLKEM768", VALID_MLKEM_KEY + bytes(32)),               # x25519 part: all-zero point
    ("SecP256r1MLKEM768", b"\x04" + b"\x01" * 64 + VALID_MLKEM_KEY),   # P-256 part off the curve
    ("SecP256r1MLKEM768", VALID_P256 + b"\xff" * 1184),            # ML-KEM part fails
    ("SecP256r1MLKEM768", VALID_P256 + VALID_MLKEM_KEY[:-1]),       # one byte short
])
def test_a_malformed_peer_share_is_illegal_parameter(name, bad):
    group = groups.get(name)
    with pytest.raises(AlertError) as caught:
        group.server_share(SystemRandom(), bad)
    assert caught.value.alert == AD.illegal_parameter and caught.value.check == "key_share"


# (not ffdhe: a TLS 1.2 DHE value may come without its leading zeros; TLS 1.3 checks the
# padded size in the handshake, RFC 8446 §4.2.8.1, see test_conformance.py)
@pytest.mark.parametrize("name", ["MLKEM768", "X25519MLKEM768", "SecP256r1MLKEM768", "x25519",
                                  "secp256r1", "x448", "secp384r1"])
@pytest.mark.parametrize("change", ["short", "long"])
def test_a_wrong_size_server_share_is_illegal_parameter(name, change):
    """The answering side's share (an ML-KEM ciphertext, a hybrid's two parts, a DH public
    value) one byte short or long, as the first side reads it in client_finish."""
    group = groups.get(name)
    private, client_share = group.client_share(SystemRandom())
    answer, _ = group.server_share(SystemRandom(), client_share)
    bad = answer[:-1] if change == "short" else answer + b"\x01"
    with pytest.raises(AlertError) as caught:
        group.client_finish(private, bad)
    assert caught.value.alert == AD.illegal_parameter and caught.value.check == "key_share"


@pytest.mark.parametrize("name,bad_part", [
    ("X25519MLKEM768", lambda share: share[:1088] + bytes(32)),            # x25519 part zero
    ("SecP256r1MLKEM768", lambda share: b"\x04" + b"\x01" * 64 + share[65:]),   # off the curve
])
def test_a_malformed_classical_part_of_a_hybrid_answer_is_illegal_parameter(name, bad_part):
    group = groups.get(name)
    private, client_share = group.client_share(SystemRandom())
    answer, _ = group.server_share(SystemRandom(), client_share)
    with pytest.raises(AlertError) as caught:
        group.client_finish(private, bad_part(answer))
    assert caught.value.alert == AD.illegal_parameter and caught.value.check == "key_share"


def test_a_tampered_mlkem_ciphertext_is_implicitly_rejected():
    """FIPS 203 §6.3: decapsulating a changed ciphertext of the right size gives another,
    pseudorandom secret instead of an error: nothing to alert on here; the handshake fails at
    the first protected record (see the handshake test below)."""
    private, share = groups.MLKEM768.client_share(SystemRandom())
    ciphertext, secret = groups.MLKEM768.server_share(SystemRandom(), share)
    changed = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    other = groups.MLKEM768.client_finish(private, changed)
    assert len(other) == 32 and other != secret
    assert groups.MLKEM768.client_finish(private, ciphertext) == secret


# -- the default offer: the hybrid first, with an x25519 share beside it ----------------------
def _shares(run):
    return [(e.group, len(e.key_exchange)) for e in
            extensions.value(run.steps[0].message.extension(0x0033), "client_hello")]


def test_the_default_offer_is_the_hybrid_and_x25519_like_browsers():
    run = handshake(ClientConfig(), ServerConfig())
    assert run.ok, run.error
    assert _shares(run) == [(NamedGroup.X25519MLKEM768, 1216), (NamedGroup.x25519, 32)]
    assert hello.client_groups(run.steps[0].message)[:2] == (NamedGroup.X25519MLKEM768,
                                                             NamedGroup.x25519)
    assert run.client.values["group"] == "X25519MLKEM768" == run.server.values["group"]
    server_hello = next(s.message for s in run.steps if s.name == "ServerHello")
    entry = extensions.value(server_hello.extension(0x0033), "server_hello")
    assert (entry.group, len(entry.key_exchange)) == (NamedGroup.X25519MLKEM768, 1120)
    assert len(run.client.values["shared_secret"]) == 64
    assert "hello_retry_request_group" not in run.client.values


def test_a_tls12_default_handshake_still_meets_at_x25519():
    run = handshake(ClientConfig(versions=("1.2",)), ServerConfig())
    assert run.ok, run.error
    assert run.client.suite.kx == "ECDHE" and run.client.values["group"] == "x25519"


@pytest.mark.parametrize("offer,expected", [
    (groups.DEFAULT, (NamedGroup.X25519MLKEM768, NamedGroup.x25519)),
    ((NamedGroup.SecP256r1MLKEM768, NamedGroup.secp256r1, NamedGroup.x25519),
     (NamedGroup.SecP256r1MLKEM768, NamedGroup.secp256r1)),
    ((NamedGroup.MLKEM768, NamedGroup.X25519MLKEM768, NamedGroup.x448),
     (NamedGroup.MLKEM768, NamedGroup.x448)),           # the first classical, after two PQ
    ((NamedGroup.X25519MLKEM768,), (NamedGroup.X25519MLKEM768,)),
    ((NamedGroup.secp256r1, NamedGroup.X25519MLKEM768), (NamedGroup.secp256r1,)),
    (groups.CLASSICAL, (NamedGroup.x25519,)),
])
def test_default_key_shares(offer, expected):
    assert hello.default_key_share_groups(offer) == expected


@pytest.mark.parametrize("server_groups,shares,chosen,retry", [
    # the server picks by its own preference among the shares it got ...
    (groups.DEFAULT, (NamedGroup.x25519, NamedGroup.X25519MLKEM768), "X25519MLKEM768", False),
    ((NamedGroup.x25519, NamedGroup.X25519MLKEM768), None, "x25519", False),
    # ... a usable share beats a preferred group without one: no HelloRetryRequest ...
    (groups.DEFAULT, (NamedGroup.x25519,), "x25519", False),
    # ... and asks again only when no share is usable
    (groups.CLASSICAL, (NamedGroup.X25519MLKEM768,), "x25519", True),
    ((NamedGroup.X25519MLKEM768,), (NamedGroup.x25519,), "X25519MLKEM768", True),
])
def test_the_server_prefers_the_hybrid_among_the_shares_it_got(server_groups, shares, chosen,
                                                               retry):
    run = handshake(ClientConfig(versions=("1.3",), key_share_groups=shares),
                    ServerConfig(groups=server_groups))
    assert run.ok, run.error
    assert run.server.values["group"] == chosen == run.client.values["group"]
    assert ("hello_retry_request_group" in run.client.values) is retry


def test_the_lesson_configs_keep_the_classical_offer():
    """The notebooks 00-11 show a ClientHello with one x25519 share: the lesson configs keep
    groups.CLASSICAL whatever the package's default."""
    from tlslesson.lesson import lesson_configs
    client, server = lesson_configs(versions=("1.3",))
    assert client.groups == groups.CLASSICAL == server.groups != groups.DEFAULT
    run = handshake(client, server)
    assert _shares(run) == [(NamedGroup.x25519, 32)]


def _replace_share(record: bytes, old: bytes, new: bytes) -> bytes:
    assert old in record and len(old) == len(new)
    return record.replace(old, new)


@pytest.mark.parametrize("name,corrupt", [
    ("X25519MLKEM768", lambda share: b"\xff" * 1184 + share[1184:]),      # ML-KEM key fails
    ("X25519MLKEM768", lambda share: share[:1184] + bytes(32)),            # x25519 point zero
    ("MLKEM768", lambda share: b"\xff" * 1184),
    ("SecP256r1MLKEM768", lambda share: b"\x04" + b"\x01" * 64 + share[65:]),
    ("x25519", lambda share: bytes(32)),
    ("secp256r1", lambda share: b"\x04" + b"\x01" * 64),
    ("ffdhe2048", lambda share: b"\xff" * 256),
])
def test_a_corrupted_client_share_ends_the_handshake_with_illegal_parameter(name, corrupt):
    code = groups.get(name).code

    def tamper(step, record):
        if step.name == "ClientHello":
            share = next(e.key_exchange for e in extensions.value(
                step.message.extension(0x0033), "client_hello") if e.group == code)
            return _replace_share(record, share, corrupt(share))
        return record
    run = handshake(ClientConfig(versions=("1.3",), groups=(code,)),
                    ServerConfig(groups=(code,)), tamper=tamper)
    assert run.error is not None and run.error.check == "key_share"
    assert run.error.alert == AD.illegal_parameter
    assert run.steps[-1].name == "Alert" and run.steps[-1].wire == bytes([2, 47])


@pytest.mark.parametrize("corrupt,check", [
    (lambda share: share[:1088] + bytes(32), "key_share"),           # x25519 part: zero point
    (lambda share: bytes([share[0] ^ 1]) + share[1:], "record_mac"),  # ML-KEM: implicit rejection
])
def test_a_corrupted_hybrid_answer(corrupt, check):
    """The server's X25519MLKEM768 share changed in flight: a bad x25519 part is refused at
    once; a changed ciphertext decapsulates to another secret, so the first encrypted message
    (EncryptedExtensions) fails to decrypt: bad_record_mac."""
    def tamper(step, record):
        if step.name == "ServerHello":
            share = extensions.value(step.message.extension(0x0033), "server_hello").key_exchange
            return _replace_share(record, share, corrupt(share))
        return record
    run = handshake(ClientConfig(versions=("1.3",)), ServerConfig(), tamper=tamper)
    assert run.error is not None and run.error.check == check
    assert run.error.alert == (AD.illegal_parameter if check == "key_share" else AD.bad_record_mac)


def test_seeded_shares_repeat_and_fresh_ones_do_not():
    for name in ("x25519", "secp256r1", "ffdhe2048", "MLKEM768", "secp384r1", "secp521r1", "x448",
                 "ffdhe3072", "ffdhe4096"):
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
    assert parse_group("P-384") == NamedGroup.secp384r1 and parse_group("p521") == 0x0019
    assert parse_group("x448") == 0x001E and parse_group("ffdhe4096") == 0x0102
    with pytest.raises(UsageError, match="X25519MLKEM768"):   # the message lists the table
        parse_group("ffdhe8192")
    with pytest.raises(KeyError):                             # misuse: not a protocol alert
        groups.get("nonsense")
    assert ClientConfig().groups == groups.DEFAULT == ServerConfig().groups


def _e_times_2_to(bits: int) -> int:
    """floor(2^bits * e), from e = sum 1/k! in fixed point (64 guard bits)."""
    one, total, term, k = 1 << (bits + 64), 0, 1 << (bits + 64), 0
    while term:
        total, k = total + term, k + 1
        term = one // math.factorial(k)
    return total >> 64


@pytest.mark.parametrize("bits,x,p", [(2048, 560316, groups.FFDHE2048_P),
                                      (3072, 2625351, groups.FFDHE3072_P),
                                      (4096, 5736041, groups.FFDHE4096_P)])
def test_ffdhe_primes_are_the_rfc7919_formula(bits, x, p):
    # RFC 7919 Appendix A: p = 2^b - 2^{b-64} + {[2^(b-130) e] + X} * 2^64 - 1, generator 2.
    assert p == 2 ** bits - 2 ** (bits - 64) + (_e_times_2_to(bits - 130) + x) * 2 ** 64 - 1


@pytest.mark.parametrize("group,bits", [(groups.SECP256R1, 256), (groups.SECP384R1, 384),
                                        (groups.SECP521R1, 521)])
def test_curve_orders_are_the_base_points_order(group, bits):
    # (n - 1) * G = -G = (Gx, p - Gy), so n * G is the point at infinity: n is G's order.
    assert group.order.bit_length() == bits
    g = ec.derive_private_key(1, group.curve()).public_key().public_numbers()
    minus_g = ec.derive_private_key(group.order - 1, group.curve()).public_key().public_numbers()
    assert (minus_g.x, minus_g.y) == (g.x, CURVE_P[bits] - g.y)


# The field primes p of SEC 2 v2 §2.4.2, §2.5.2, §2.6.2.
CURVE_P = {256: 2 ** 256 - 2 ** 224 + 2 ** 192 + 2 ** 96 - 1,
           384: 2 ** 384 - 2 ** 128 - 2 ** 96 + 2 ** 32 - 1, 521: 2 ** 521 - 1}


@pytest.mark.parametrize("name", ["secp384r1", "secp521r1", "x448", "ffdhe3072", "ffdhe4096"])
def test_new_groups_are_taken_when_configured_but_not_offered_by_default(name):
    code = groups.get(name).code
    assert code not in groups.DEFAULT
    run = handshake(ClientConfig(versions=("1.3",), groups=(code,)), ServerConfig(groups=(code,)))
    assert run.ok, run.error
    assert run.client.values["group"] == name == run.server.values["group"]


@pytest.mark.parametrize("name", ["secp384r1", "secp521r1", "x448"])
def test_tls12_ecdhe_takes_the_new_curves(name):
    code = groups.get(name).code
    run = handshake(ClientConfig(versions=("1.2",), groups=(code,)), ServerConfig(groups=(code,)))
    assert run.ok, run.error
    assert run.client.suite.kx == "ECDHE" and run.client.values["group"] == name


@pytest.mark.parametrize("offer,accept,expected", [
    ((0x0102, 0x0101), (0x0100, 0x0101, 0x0102), "ffdhe3072"),   # the server's first in common
    ((0x001D,), (0x0101, 0x0100), "ffdhe3072"),                  # no ffdhe listed: our first
    ((0x001D,), groups.DEFAULT, "ffdhe2048"),
])
def test_tls12_dhe_negotiates_an_ffdhe_group(offer, accept, expected):
    run = handshake(ClientConfig(versions=("1.2",), groups=offer,
                                 suites=(suites.get("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),)),
                    ServerConfig(groups=accept))
    assert run.ok, run.error
    assert run.client.suite.kx == "DHE"
    assert run.server.hs.kx_group.name == expected
    ske = next(s.message for s in run.steps if type(s.message).__name__ == "ServerKeyExchange")
    assert int.from_bytes(ske.dh_p, "big") == groups.get(expected).p


def test_tls12_dhe_is_not_chosen_for_a_client_listing_only_other_ffdhe_groups():
    # RFC 7919 §4: it lists ffdhe4096 only, we have ffdhe2048 only: no DHE suite (RSA here).
    run = handshake(ClientConfig(versions=("1.2",), groups=(0x0102,)), ServerConfig())
    assert run.ok, run.error
    assert run.client.suite.kx == "RSA"
