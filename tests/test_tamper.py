"""Exhaustive tampering: flip every byte of every record of an in-memory handshake, one at a time.

For each scenario (a cipher suite, with or without client authentication) the handshake is run
once untampered, then once per byte of every record in flight up to and including both Finished
messages, with that one byte XORed with 0x01. The rules:

* no tampered handshake completes — except a flip of the minor version byte in the record header
  of the first record each side receives (ClientHello, ServerHello), which every stack ignores
  (RFC 5246 App. E.1: "servers MUST accept any value {03,XX} as the record layer version number
  for ClientHello"; RFC 8446 §5.1: legacy_record_version "MUST be ignored for all purposes";
  OpenSSL 3 reads the first record of a handshake with any 3.x, then insists on 0x0303);
* each failure is caught by the check a real stack uses, with its alert: the set of allowed
  outcomes is given per (message, field) in ``allowed()`` below. "stall" means the receiver is
  waiting for bytes that never come (a record or handshake length grew): ``handshake()`` stops the
  pump when nothing moves and reports the handshake as not ok with no error.

CI runs the five scenarios in ``CI_SCENARIOS`` (about 20 s on an idle 2-core machine);
``make fuzz`` (TLSLESSON_FUZZ_EXAMPLES >= 1000) or TLSLESSON_TAMPER_ALL=1 runs every suite with and
without client authentication (about 3 minutes). The counts per
scenario and per outcome go to tests/artifacts/tamper-counts.json.

The alerts were checked against OpenSSL 3.0 (Python's ssl over MemoryBIO, flipping the same
bytes); where the package deliberately differs the table says so.
"""
from __future__ import annotations

import collections
import json
import os
from pathlib import Path

import pytest

from tlslesson import signatures, suites
from tlslesson.connection import ClientConfig, ServerConfig, handshake
from tlslesson.messages import layout
from tlslesson.pki import lesson_pki
from tlslesson.rng import lesson_rng

pytestmark = pytest.mark.fuzz

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LONG = (int(os.environ.get("TLSLESSON_FUZZ_EXAMPLES") or 0) >= 1000
        or os.environ.get("TLSLESSON_TAMPER_ALL") == "1")

CI_SCENARIOS = [
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", False),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", True),
    ("TLS_RSA_WITH_AES_128_CBC_SHA", False),
    ("TLS_AES_128_GCM_SHA256", False),
    ("TLS_AES_128_GCM_SHA256", True),
]
ALL_SCENARIOS = [(s.name, auth) for s in suites.SUITES for auth in (False, True)]
SCENARIOS = CI_SCENARIOS + [sc for sc in ALL_SCENARIOS if sc not in CI_SCENARIOS]

COUNTS: dict[str, dict] = {}


def configs(suite, auth: bool):
    """Lesson randomness, so every run of a scenario sends the same bytes. (The flips are counted
    on the record actually in flight, so a signature whose length varied would still be covered.)"""
    p = lesson_pki()
    client = ClientConfig(versions=(suite.version,), suites=(suite,), rng=lesson_rng("tamper-c"),
                          identity=p.client if auth else None)
    # no NewSessionTickets: they follow the handshake, and a flip in one cannot change its outcome
    # (test_resumption13.py tampers with tickets)
    server = ServerConfig(rng=lesson_rng("tamper-s"), client_ca=p.trusted if auth else None,
                          tickets=0)
    return client, server


def outcome(result) -> str:
    if result.ok:
        return "completed"
    if result.error is None:
        assert not (result.client.handshake_complete and result.server.handshake_complete)
        return "stall"
    assert not getattr(result.error, "received", False), result.error   # detected, not echoed
    return result.error.alert.name


# -- what each flip may lead to ----------------------------------------------------------------
# A length that changes: the message (or record) now ends early or late, so a decoder fails, the
# receiver waits for more (stall), or the next record/CCS arrives in the middle of a message.
LENGTH = {"decode_error", "stall", "unexpected_message"}
RECORD_LENGTH = {"decode_error", "stall", "unexpected_message", "bad_record_mac", "protocol_version"}
# A certificate whose DER no longer parses (decode_error), whose signature no longer verifies
# (decrypt_error, OpenSSL X509_V_ERR_CERT_SIGNATURE_FAILURE), whose issuer name no longer matches
# (unknown_ca) or whose issuer's key can't be read (bad_certificate).
CERT = {"decode_error", "decrypt_error", "unknown_ca", "bad_certificate"}


def bound(version: str, auth: bool) -> set[str]:
    """Bytes no decoder or check looks at; only the keys catch them. TLS 1.3: the handshake keys
    hash ClientHello..ServerHello, so the first protected record fails (bad_record_mac). TLS 1.2
    with extended master secret (on here): the master secret hashes everything up to
    ClientKeyExchange, so the client's Finished record fails to open (bad_record_mac) — unless the
    client authenticates: its CertificateVerify signs the transcript and fails first."""
    if version == "1.2" and auth:
        return {"decrypt_error"}
    return {"bad_record_mac"}


def _scheme_flip(value: int, key_is_rsa: bool, tls13: bool) -> set[str]:
    """A flipped signature_scheme: a known scheme for the same key type makes the signature fail
    (decrypt_error); anything else is refused before verifying (illegal_parameter)."""
    ours = (signatures.RSA_SCHEMES_13 if tls13 else signatures.RSA_SCHEMES_12) if key_is_rsa \
        else signatures.ECDSA_SCHEMES
    return {"decrypt_error"} if value in ours else {"illegal_parameter"}


def allowed(suite, auth: bool, step, off: int, span, wire: bytes) -> set[str]:
    v12 = suite.version == "1.2"
    first = step.name in ("ClientHello", "ServerHello")   # first record each side receives
    if off < 5:                                            # the record header
        if off == 0:        # content type: a 1.2 AEAD record has it in its additional data
            return {"bad_record_mac"} if v12 and step.protected else {"unexpected_message"}
        if off == 1:        # major version: OpenSSL sends no alert on a first record, we decode_error
            return {"decode_error"} if first else {"protocol_version"}
        if off == 2:        # minor version (see the module docstring)
            if first:
                return {"completed"}
            if v12:
                return {"protocol_version"}
            # TLS 1.3 ignores legacy_record_version "for all purposes" (RFC 8446 §5.1): a
            # protected record's header is in its additional data, so the tag fails; the
            # compatibility ChangeCipherSpec is plaintext and ignored anyway
            return {"bad_record_mac"} if step.protected else {"completed"}
        return RECORD_LENGTH
    if step.protected:
        return {"bad_record_mac"}
    if step.name == "ChangeCipherSpec":
        return {"unexpected_message"}   # RFC 8446 §5 (OpenSSL 3 says illegal_parameter in 1.3)
    name, msg = span.name, step.name
    if name == "msg_type":
        return {"unexpected_message"}
    if name.endswith(" length"):
        return LENGTH
    b = bound(suite.version, auth)
    field = bytearray(wire[span.start:span.end])
    value = int.from_bytes(field, "big")
    field[off - 5 - span.start] ^= 0x01
    flipped = int.from_bytes(field, "big")
    signed_randoms = v12 and suite.kx in ("ECDHE", "DHE")   # ServerKeyExchange signs both randoms
    if msg in ("ClientHello", "ServerHello"):
        if name == "legacy_version":     # 1.3: ignored once supported_versions is there (§4.2.1),
            if not v12 and msg == "ClientHello" and flipped <= 0x0300:   # but not SSL 3.0 or
                return {"protocol_version"}                              # older (App. D.5)
            return {"protocol_version"} if v12 else {"bad_record_mac"}
        if name == "random":
            return {"decrypt_error"} if signed_randoms else b
        if name == "legacy_session_id" and v12 and msg == "ServerHello":
            # a 1.2 server's new session ID (its session cache is on by default): the client
            # has nothing to hold it against (it offered no session); only the keys catch it
            return bound(suite.version, auth)
        if name in ("legacy_session_id", "selected_version", "legacy_compression_method"):
            return {"illegal_parameter"}  # the client checks the echo / the server's choices
        if name == "legacy_compression_methods":
            return {"illegal_parameter"}  # no null method left (RFC 8446 §4.1.2; OpenSSL: decode_error)
        if name == "cipher_suite":
            if msg == "ServerHello":
                return {"illegal_parameter"}
            if value != suite.code:
                return b                          # the renegotiation SCSV: only the keys notice
            other = suites.BY_CODE.get(flipped)   # now another suite the server knows: it picks
            if other is not None and other.version == suite.version:   # it, the client refuses
                return {"illegal_parameter"}
            return {"handshake_failure"}          # no suite in common any more
        if name == "version":             # the only entry of supported_versions
            return {"protocol_version"}
        if name == "record_size_limit":   # RFC 8449 §4: below 64 is refused; any other
            return {"illegal_parameter"} if flipped < 64 else b   # limit: only the transcript
        if name == "extension_type":
            # The extension turns into another one: a duplicate (decode_error; OpenSSL says
            # illegal_parameter), or an unknown one the peer ignores, so the original is missing:
            # no common group/suite (handshake_failure), no key_share (missing_extension), no
            # supported_versions (protocol_version), or nothing but the transcript (keys; with
            # extended_master_secret gone, the classic master secret: Finished, decrypt_error).
            if msg == "ServerHello":
                return {"unsupported_extension", "decode_error"} | (set() if v12 else {"protocol_version"})
            return {"decode_error", "handshake_failure"} | b | \
                ({"decrypt_error"} if v12 else {"missing_extension", "protocol_version"})
        if name in ("group", "key_exchange") and not v12:
            return b | {"illegal_parameter"}   # a share for a group the peer didn't offer / a bad point
        if name in ("name_type", "host_name", "group", "scheme", "ec_point_format_list", "ke_modes",
                    "key_exchange"):
            return b                           # offers nobody checks: only the transcript binds them
    if msg == "Certificate" and name == "cert_data":
        return CERT
    if msg == "ServerKeyExchange":
        if name == "curve_type":
            return {"decode_error"}
        if name == "named_curve":
            return {"illegal_parameter"}
        if name in ("public", "dh_p", "dh_g", "dh_Ys", "signature"):
            return {"decrypt_error"}           # the signature covers the parameters
        if name == "signature_scheme":
            return _scheme_flip(flipped, suite.auth == "RSA", False)
    if msg == "CertificateVerify":             # the client's, TLS 1.2
        if name == "signature":
            return {"decrypt_error"}
        if name == "signature_scheme":
            return _scheme_flip(flipped, True, False)   # the lesson client key is RSA
    if msg == "CertificateRequest" and name in ("certificate_types", "scheme", "distinguished_name"):
        return {"decrypt_error"}               # the client's CertificateVerify covers what it saw
    if msg == "ClientKeyExchange" and name in ("ecdh_Yc", "dh_Yc", "encrypted_pre_master_secret"):
        return b                               # RSA: a bad decryption goes on with a random secret
    raise AssertionError(f"no rule for {msg}.{name}: add one to allowed()")


# -- the run -------------------------------------------------------------------------------------
_layouts: dict = {}


def field_at(step, off: int):
    """The innermost span of the handshake message covering record byte ``off``."""
    key = (step.wire, step.context)
    if key not in _layouts:
        _layouts[key] = layout(step.wire, step.context)
    best = None
    for span in _layouts[key]:
        if span.start <= off - 5 < span.end and (best is None or span.depth >= best.depth):
            best = span
    return best


def tamper_all(suite, auth: bool):
    """Yield (step, offset, span, outcome) for every flip of every record of the handshake."""
    base = handshake(*configs(suite, auth))
    assert base.ok, base.error
    for index in range(len(base.steps)):
        off = 0
        while True:
            seen = {}

            def tamper(step, record, index=index, off=off, seen=seen, counter=[0]):
                k = counter[0]
                counter[0] += 1
                if k != index or off >= len(record):
                    return record
                assert step.protected or record[5:] == step.wire   # one message per record
                seen["step"] = step
                flipped = bytearray(record)
                flipped[off] ^= 0x01
                return bytes(flipped)

            result = handshake(*configs(suite, auth), tamper=tamper)
            if not seen:          # past the end of this record (or the record was never sent)
                break
            step = seen["step"]
            span = None if off < 5 or step.protected or step.name == "ChangeCipherSpec" \
                else field_at(step, off)
            yield step, off, span, outcome(result), result
            off += 1


@pytest.mark.parametrize("name,auth", SCENARIOS,
                         ids=[f"{n}{'-auth' if a else ''}" for n, a in SCENARIOS])
def test_every_flip_fails_at_the_right_check(name, auth):
    if (name, auth) not in CI_SCENARIOS and not LONG:
        pytest.skip("all suites: make fuzz (TLSLESSON_FUZZ_EXAMPLES>=1000) or TLSLESSON_TAMPER_ALL=1")
    suite = suites.get(name)
    per_outcome: collections.Counter = collections.Counter()
    per_message: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failures = []
    flips = ignored = 0
    for step, off, span, got, result in tamper_all(suite, auth):
        flips += 1
        per_outcome[got] += 1
        per_message[f"{step.sender} {step.name}"][got] += 1
        want = allowed(suite, auth, step, off, span, step.wire)
        ignored += want == {"completed"}
        if got not in want:
            where = f"header[{off}]" if off < 5 else (span.name if span else "fragment")
            failures.append(f"{step.sender} {step.name} byte {off} ({where}): {got}, "
                            f"expected one of {sorted(want)}; error: {result.error}")
        if got not in ("completed", "stall"):
            # the side that caught it sent that alert (the ladder shows it)
            sent = [s.message for s in result.steps if s.name == "Alert"]
            if sent and hasattr(sent[-1], "description"):
                assert sent[-1].description == result.error.alert
    COUNTS[f"{name}{' +client auth' if auth else ''}"] = {
        "flips": flips, "outcomes": dict(sorted(per_outcome.items())),
        "per_message": {k: dict(sorted(v.items())) for k, v in per_message.items()}}
    _write_counts()
    assert not failures, f"{len(failures)} of {flips} flips failed differently:\n" + \
        "\n".join(failures[:40])
    # exactly the ignored record-version bytes complete: the first record each side receives,
    # and in TLS 1.3 the compatibility ChangeCipherSpecs
    assert per_outcome["completed"] == ignored == (2 if suite.version == "1.2" else 4)


def _write_counts():
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "tamper-counts.json"
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        old = {}
    old.update(COUNTS)
    path.write_text(json.dumps(old, indent=1, sort_keys=True))


def test_stalled_handshake_is_not_ok():
    """A record length that grows leaves the receiver waiting: handshake() stops when nothing
    moves and reports the handshake as not ok, with no error (nothing was detected)."""
    suite = suites.get("TLS_AES_128_GCM_SHA256")

    def grow_client_hello(step, record):
        if step.name == "ClientHello":
            return record[:3] + (int.from_bytes(record[3:5], "big") + 1).to_bytes(2, "big") + record[5:]
        return record

    result = handshake(*configs(suite, False), tamper=grow_client_hello)
    assert not result.ok and result.error is None
    assert not result.client.handshake_complete and not result.server.handshake_complete
