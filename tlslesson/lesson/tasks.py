"""One small coding task per lesson, checked on the spot with the assignments' ``check``.

    from tlslesson.lesson.tasks import check
    def inner_content(inner): ...            # the student's few lines
    check("inner_content", inner_content)    # ✔ / ✘ with the first wrong case and a hint

The tasks are ``assignments.checker`` exercises (fixed cases from the lesson's own handshake bytes,
plus seeded random ones), registered here under names the assignments don't use. A task is a few
lines, not an assignment: each one rehearses the one mechanism its lesson opens up.

=========  ======================  =====================================================
lesson     task                    what the student writes
=========  ======================  =====================================================
00         record_type             the content-type name of a record's first byte
01         hello_random            the 32-byte random of a ClientHello message
02         chosen_suite            the cipher-suite code a ServerHello picked
03         cert_fingerprint        the SHA-256 fingerprint of a DER certificate
03         tbs_bytes               the TBSCertificate cut out of a certificate's DER (tag, length)
04         x25519_secret           the x25519 shared secret from our private key and their public key
05         session_hash            the EMS session hash of the messages up to ClientKeyExchange
06         finished_12             TLS 1.2 verify_data with tls12.prf
07         nonce_13                the TLS 1.3 / ChaCha20 per-record nonce (iv XOR seq)
08         cv_content_13           the bytes a TLS 1.3 CertificateVerify signs
09         inner_content           (type, content) of a decrypted TLSInnerPlaintext
10         keylog_master           the master secret of a CLIENT_RANDOM key-log line
11         flip_bit                a record with one bit flipped (the tamper lab's move)
12         binder_13               the TLS 1.3 PSK binder of a truncated ClientHello, from the PSK
15         record_sizes            (content type, length) of each whole record in a TCP byte stream
=========  ======================  =====================================================

``TASKS`` names each lesson's first task; ``MORE_TASKS`` the ones a lesson adds in a later section.
"""
from __future__ import annotations

import functools
import hashlib
import random

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519

from .. import pki, suites, tls12, tls13
from ..assignments.checker import Case, Exercise, as_bytes, check, is_bytes, is_int, register
from ..constants import ContentType

__all__ = ["check", "TASKS", "MORE_TASKS"]

TASKS = {"00": "record_type", "01": "hello_random", "02": "chosen_suite", "03": "cert_fingerprint",
         "04": "x25519_secret", "05": "session_hash", "06": "finished_12", "07": "nonce_13",
         "08": "cv_content_13", "09": "inner_content", "10": "keylog_master", "11": "flip_bit",
         "12": "binder_13", "15": "record_sizes"}
MORE_TASKS = {"03": ("tbs_bytes",)}


def _rbytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def _bytes_task(**kw) -> Exercise:
    kw.setdefault("returns", "bytes")
    kw.setdefault("type_ok", is_bytes)
    kw.setdefault("normalize", as_bytes)
    return register(Exercise(**kw))


@functools.lru_cache(maxsize=None)
def _handshakes():
    """A few lesson handshakes (both versions, several suites): the tasks' fixed cases."""
    from .models import run_handshake
    return tuple(run_handshake(v, s) for v, s in (
        ("1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), ("1.2", "TLS_RSA_WITH_AES_128_CBC_SHA"),
        ("1.2", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"), ("1.3", "TLS_AES_128_GCM_SHA256"),
        ("1.3", "TLS_CHACHA20_POLY1305_SHA256")))


def _steps(name: str):
    return [s for h in _handshakes() for s in h.steps if s.name == name]


# -- 00 record_type ---------------------------------------------------------------------------
_TYPES = {int(t): t.name for t in ContentType}


def _record_type_cases(rng):
    cases = [Case(f"{s.sender}'s {s.name} record", (s.record,), _TYPES[s.record[0]], "fixed")
             for s in _handshakes()[0].steps]
    for _ in range(8):
        t = rng.choice(sorted(_TYPES))
        cases.append(Case(f"a random record of type {t}", (bytes([t, 3, 3, 0, 2]) + _rbytes(rng, 2),),
                          _TYPES[t]))
    return cases


register(Exercise(
    name="record_type", signature="record_type(record: bytes) -> str", params=("record",),
    returns="a str: change_cipher_spec, alert, handshake or application_data",
    make_cases=_record_type_cases,
    hint="the first byte of every record is its content type: 20, 21, 22 or 23 (RFC 5246 §6.2.1).",
    type_ok=lambda v: isinstance(v, str), normalize=lambda v: v.strip().lower() if isinstance(v, str) else v))


# -- 01 hello_random --------------------------------------------------------------------------
def _random_cases(rng):
    cases = [Case("a lesson ClientHello", (s.wire,), s.message.random, "fixed") for s in _steps("ClientHello")[:3]]
    for _ in range(6):
        rand = _rbytes(rng, 32)
        body = b"\x03\x03" + rand + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
        cases.append(Case("a made-up ClientHello", (b"\x01" + len(body).to_bytes(3, "big") + body,), rand))
    return cases


_bytes_task(name="hello_random", signature="hello_random(client_hello: bytes) -> bytes",
            params=("client_hello",), make_cases=_random_cases,
            hint="the message starts with 4 header bytes (type, 3-byte length), then 2 bytes of "
                 "legacy_version; the random is the next 32 bytes (RFC 8446 §4.1.2).")


# -- 02 chosen_suite --------------------------------------------------------------------------
def _suite_cases(rng):
    cases = [Case(f"the ServerHello of {s.message.cipher_suite:#06x}", (s.wire,), s.message.cipher_suite, "fixed")
             for s in _steps("ServerHello")]
    for _ in range(6):
        sid = _rbytes(rng, rng.choice((0, 32)))
        code = rng.choice((0x1301, 0x1302, 0xC02F, 0xC02B, 0x009C, 0xCCA8))
        body = b"\x03\x03" + _rbytes(rng, 32) + bytes([len(sid)]) + sid + code.to_bytes(2, "big") + b"\x00"
        cases.append(Case(f"a made-up ServerHello, {len(sid)}-byte session id",
                          (b"\x02" + len(body).to_bytes(3, "big") + body,), code))
    return cases


register(Exercise(
    name="chosen_suite", signature="chosen_suite(server_hello: bytes) -> int", params=("server_hello",),
    returns="an int (the 2-byte code)", make_cases=_suite_cases,
    hint="after the 4-byte header: 2 bytes version, 32 bytes random, then a session id with a 1-byte "
         "length in front (0 or 32 bytes); the suite is the 2 bytes after it (RFC 5246 §7.4.1.3).",
    type_ok=is_int))


# -- 03 cert_fingerprint ----------------------------------------------------------------------
def _fingerprint_cases(rng):
    lesson = pki.lesson_pki()
    der = [c.public_bytes(serialization.Encoding.DER) for c in
           (lesson.root.certificate, lesson.intermediate.certificate, lesson.rsa_server.certificate,
            lesson.ecdsa_server.certificate, lesson.client.certificate)]
    cases = [Case("a lesson certificate", (d,), hashlib.sha256(d).digest(), "fixed") for d in der]
    cases += [Case("random bytes", (b,), hashlib.sha256(b).digest()) for b in
              (_rbytes(rng, rng.randrange(1, 200)) for _ in range(3))]
    return cases


_bytes_task(name="cert_fingerprint", signature="cert_fingerprint(der: bytes) -> bytes", params=("der",),
            make_cases=_fingerprint_cases,
            hint="the fingerprint is the hash of the whole DER encoding: hashlib.sha256(der).digest(). "
                 "It is not part of the certificate, and the CA does not sign it.")


# -- 04 x25519_secret -------------------------------------------------------------------------
def _x25519_cases(rng):
    cases = []
    for _ in range(5):
        ours, theirs = _rbytes(rng, 32), _rbytes(rng, 32)
        peer = x25519.X25519PrivateKey.from_private_bytes(theirs).public_key()
        shared = x25519.X25519PrivateKey.from_private_bytes(ours).exchange(peer)
        cases.append(Case("random keys", (ours, peer.public_bytes(serialization.Encoding.Raw,
                                                                   serialization.PublicFormat.Raw)), shared))
    return cases


_bytes_task(name="x25519_secret", signature="x25519_secret(private: bytes, peer_public: bytes) -> bytes",
            params=("private", "peer_public"), make_cases=_x25519_cases,
            hint="X25519PrivateKey.from_private_bytes(private).exchange(X25519PublicKey.from_public_bytes("
                 "peer_public)) — our private key with their public key (RFC 7748 §6.1).")


# -- 05 session_hash --------------------------------------------------------------------------
def _session_hash_cases(rng):
    cases = []
    for h in _handshakes()[:3]:
        upto = []
        for s in h.steps:
            if s.name != "ChangeCipherSpec":
                upto.append(s.wire)
            if s.name == "ClientKeyExchange":
                break
        cases.append(Case("a lesson handshake", (tuple(upto),), h.client.values["session_hash"], "fixed"))
    for _ in range(3):
        msgs = tuple(_rbytes(rng, rng.randrange(4, 60)) for _ in range(rng.randrange(1, 6)))
        cases.append(Case("random messages", (msgs,), hashlib.sha256(b"".join(msgs)).digest()))
    return cases


_bytes_task(name="session_hash", signature="session_hash(messages: tuple[bytes, ...]) -> bytes",
            params=("messages",), make_cases=_session_hash_cases,
            hint="RFC 7627 §3: the hash (SHA-256 for these suites) of all handshake messages concatenated, "
                 "ClientHello up to and including ClientKeyExchange, headers included.")


# -- 06 finished_12 ---------------------------------------------------------------------------
def _finished_cases(rng):
    cases = []
    for _ in range(4):
        master, hh = _rbytes(rng, 48), _rbytes(rng, 32)
        label = rng.choice((b"client finished", b"server finished"))
        cases.append(Case(label.decode(), (master, label, hh), tls12.prf(master, label, hh, 12)))
    return cases


_bytes_task(name="finished_12",
            signature="finished_12(master_secret: bytes, label: bytes, handshake_hash: bytes) -> bytes",
            params=("master_secret", "label", "handshake_hash"), make_cases=_finished_cases,
            hint="RFC 5246 §7.4.9: verify_data = PRF(master_secret, finished_label, Hash(handshake_messages))"
                 "[0..11] — tls12.prf(secret, label, seed, 12).")


# -- 07 nonce_13 ------------------------------------------------------------------------------
def _nonce_cases(rng):
    cases = [Case("sequence number 0", (bytes(range(12)), 0), bytes(range(12)), "fixed"),
             Case("sequence number 1", (bytes(12), 1), bytes(11) + b"\x01", "fixed")]
    for _ in range(5):
        iv, seq = _rbytes(rng, 12), rng.randrange(0, 2 ** 40)
        cases.append(Case("random iv and sequence number", (iv, seq),
                          (int.from_bytes(iv, "big") ^ seq).to_bytes(12, "big")))
    return cases


_bytes_task(name="nonce_13", signature="nonce_13(iv: bytes, seq: int) -> bytes", params=("iv", "seq"),
            make_cases=_nonce_cases,
            hint="RFC 8446 §5.3: write seq as 8 bytes big-endian, pad it on the left with zeros to 12 bytes, "
                 "XOR it with the iv byte by byte.")


# -- 08 cv_content_13 -------------------------------------------------------------------------
def _cv_cases(rng):
    cases = []
    for _ in range(4):
        th, role = _rbytes(rng, rng.choice((32, 48))), rng.choice(("server", "client"))
        cases.append(Case(f"the {role}'s", (th, role),
                          b" " * 64 + f"TLS 1.3, {role} CertificateVerify".encode() + b"\x00" + th))
    return cases


_bytes_task(name="cv_content_13", signature="cv_content_13(transcript_hash: bytes, role: str) -> bytes",
            params=("transcript_hash", "role"), make_cases=_cv_cases,
            hint="RFC 8446 §4.4.3: 64 bytes of 0x20, the context string 'TLS 1.3, server CertificateVerify' "
                 "(or client), one 0x00 byte, then the transcript hash.")


# -- 09 inner_content -------------------------------------------------------------------------
def _inner_cases(rng):
    cases = [Case("a handshake message, no padding", (b"\x14\x00\x00\x20" + bytes(32) + b"\x16",),
                  (22, b"\x14\x00\x00\x20" + bytes(32)), "fixed"),
             Case("an alert with 7 bytes of padding", (b"\x01\x00\x15" + bytes(7),), (21, b"\x01\x00"), "fixed"),
             Case("content ending in zero bytes", (b"ab\x00\x00\x17\x00",), (23, b"ab\x00\x00"), "fixed")]
    for _ in range(5):
        content, t, pad = _rbytes(rng, rng.randrange(0, 20)), rng.choice((21, 22, 23)), rng.randrange(0, 30)
        cases.append(Case(f"type {t}, {pad} bytes of padding", (content + bytes([t]) + bytes(pad),), (t, content)))
    return cases


register(Exercise(
    name="inner_content", signature="inner_content(inner: bytes) -> tuple[int, bytes]", params=("inner",),
    returns="a tuple (content_type: int, content: bytes)", make_cases=_inner_cases,
    hint="RFC 8446 §5.2/§5.4: strip the zero padding from the end; the last byte left (the last NON-zero "
         "byte) is the content type; the content is everything before it — zeros inside it stay.",
    type_ok=lambda v: isinstance(v, (tuple, list)) and len(v) == 2,
    normalize=lambda v: (v[0], bytes(v[1])) if isinstance(v, (tuple, list)) and len(v) == 2 else v))


# -- 10 keylog_master -------------------------------------------------------------------------
def _keylog_cases(rng):
    cases = []
    for _ in range(5):
        cr, ms = _rbytes(rng, 32), _rbytes(rng, 48)
        hexed = ms.hex().upper() if rng.random() < 0.5 else ms.hex()
        cases.append(Case("a CLIENT_RANDOM line", (f"CLIENT_RANDOM {cr.hex()} {hexed}\n",), ms))
    return cases


_bytes_task(name="keylog_master", signature="keylog_master(line: str) -> bytes", params=("line",),
            make_cases=_keylog_cases,
            hint="a line is 'CLIENT_RANDOM <64 hex digits> <96 hex digits>': split on spaces and take "
                 "bytes.fromhex of the third part (the trailing newline must not stay).")


# -- 11 flip_bit ------------------------------------------------------------------------------
def _flip_cases(rng):
    rec = _handshakes()[0].steps[0].record
    cases = [Case("the ClientHello record, byte 11, bit 0", (rec, 11, 0),
                  rec[:11] + bytes([rec[11] ^ 1]) + rec[12:], "fixed")]
    for _ in range(5):
        data, bit = _rbytes(rng, rng.randrange(1, 40)), rng.randrange(8)
        at = rng.randrange(len(data))
        cases.append(Case(f"byte {at}, bit {bit}", (data, at, bit),
                          data[:at] + bytes([data[at] ^ (1 << bit)]) + data[at + 1:]))
    return cases


_bytes_task(name="flip_bit", signature="flip_bit(record: bytes, offset: int, bit: int) -> bytes",
            params=("record", "offset", "bit"), make_cases=_flip_cases,
            hint="bytes are immutable: build a new one — record[:offset] + bytes([record[offset] ^ (1 << bit)]) "
                 "+ record[offset + 1:].")



# -- 12 binder_13 -----------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _resumed_hello():
    """A lesson TLS 1.3 resumption: (PSK, truncated ClientHello, the binder on the wire)."""
    from .. import extensions as ext
    from ..connection import handshake
    from .configs import lesson_configs
    client, server = lesson_configs("task/binder", versions=("1.3",), server={"tickets": 1})
    first = handshake(client, server)
    session = first.client.sessions[0]
    again, _ = lesson_configs("task/binder/resumed", versions=("1.3",), client={"session": session})
    hello = handshake(again, server).steps[0]
    offered = ext.value(hello.message.extensions[-1], "client_hello")
    return session.secret, tls13.truncated_client_hello(hello.wire, offered), offered.binders[0]


def _binder(psk: bytes, truncated: bytes) -> bytes:
    suite = suites.get("TLS_AES_128_GCM_SHA256")
    schedule = tls13.KeySchedule(suite)
    schedule.start(psk)
    return tls13.psk_binder(suite, schedule.binder_key, hashlib.sha256(truncated).digest())


def _binder_cases(rng):
    psk, truncated, on_the_wire = _resumed_hello()
    cases = [Case("this lesson's resumed ClientHello (the binder on the wire)", (psk, truncated),
                  on_the_wire, "fixed")]
    for _ in range(4):
        psk, truncated = _rbytes(rng, 32), _rbytes(rng, rng.randrange(60, 300))
        cases.append(Case("a random PSK and hello", (psk, truncated), _binder(psk, truncated)))
    return cases


_bytes_task(name="binder_13", signature="binder_13(psk: bytes, truncated_hello: bytes) -> bytes",
            params=("psk", "truncated_hello"), make_cases=_binder_cases,
            hint="RFC 8446 §4.2.11.2 and §7.1, SHA-256: early_secret = tls13.hkdf_extract('SHA256', 32 zero "
                 "bytes, psk); binder_key = tls13.derive_secret('SHA256', early_secret, 'res binder', "
                 "sha256(b'')); finished_key = tls13.hkdf_expand_label('SHA256', binder_key, 'finished', b'', "
                 "32); the binder is HMAC-SHA256(finished_key, sha256(truncated_hello)).")
# -- 03 tbs_bytes -----------------------------------------------------------------------------
def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + content


_SHA256_WITH_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")


def _tbs_cases(rng):
    lesson = pki.lesson_pki()
    cases = [Case(f"the lesson's {name} certificate", (c.public_bytes(serialization.Encoding.DER),),
                  c.tbs_certificate_bytes, "fixed")
             for name, c in (("root", lesson.root.certificate), ("intermediate", lesson.intermediate.certificate),
                             ("RSA server", lesson.rsa_server.certificate),
                             ("ECDSA server", lesson.ecdsa_server.certificate),
                             ("client", lesson.client.certificate))]
    for low, high, form in ((3, 0x7F, "short"), (0x80, 0xFF, "0x81"), (0x100, 0x600, "0x82")):
        for _ in range(2):
            tbs = _tlv(0x30, _rbytes(rng, rng.randrange(low, high + 1)))
            der = _tlv(0x30, tbs + _SHA256_WITH_RSA + _tlv(0x03, b"\x00" + _rbytes(rng, 64)))
            cases.append(Case(f"a made-up certificate, TBS length in {form} form", (der,), tbs))
    return cases


def _tbs_diagnose(case, got):
    der, tbs = case.args[0], case.expected
    if isinstance(got, (bytes, bytearray)) and bytes(got) and bytes(got) in tbs and len(got) < len(tbs) \
            and tbs.endswith(bytes(got)):
        return ("you returned the TBSCertificate's content: keep its tag and length too — the CA signs "
                "the whole TLV (RFC 5280 §4.1.1.3).")
    if isinstance(got, (bytes, bytearray)) and len(got) >= len(der) - 4 and bytes(got) in der:
        return ("that is (nearly) the whole certificate: the TBSCertificate is the first TLV *inside* "
                "the outer SEQUENCE, followed by signatureAlgorithm and signatureValue.")
    return None


register(Exercise(
    name="tbs_bytes", signature="tbs_bytes(der: bytes) -> bytes", params=("der",), returns="bytes",
    make_cases=_tbs_cases, type_ok=is_bytes, normalize=as_bytes, diagnose=_tbs_diagnose,
    hint="read the outer header: tag 0x30, then a length — one byte if below 0x80, else 0x8N and N "
         "length bytes. The TBSCertificate starts right after it: read its tag and length the same way "
         "and return tag + length + content (der[start:start + header + length])."))


# -- 15 record_sizes --------------------------------------------------------------------------
def _stream(steps, sender: str) -> bytes:
    """One direction of a connection as TCP carried it: each record once, in order."""
    return b"".join(dict.fromkeys(s.record for s in steps if s.sender == sender))


def _record_sizes(stream: bytes) -> list[tuple[int, int]]:
    out, at = [], 0
    while at + 5 <= len(stream):
        length = int.from_bytes(stream[at + 3:at + 5], "big")
        if at + 5 + length > len(stream):
            break
        out.append((stream[at], length))
        at += 5 + length
    return out


def _record_sizes_cases(rng):
    cases = []
    for h in _handshakes()[:1] + _handshakes()[3:4]:
        for who in ("client", "server"):
            stream = _stream(h.steps, who)
            cases.append(Case(f"the {who}'s side of a TLS {h.client.version} lesson handshake",
                              (stream,), _record_sizes(stream), "fixed"))
    cases.append(Case("a stream cut inside a record header", (b"\x16\x03\x03\x00\x02ab\x17\x03",),
                      [(22, 2)], "fixed"))
    for _ in range(5):
        stream = b"".join(bytes([rng.choice((20, 21, 22, 23)), 3, 3]) + n.to_bytes(2, "big")
                          + _rbytes(rng, n) for n in (rng.randrange(0, 300) for _ in range(rng.randrange(1, 6))))
        cut = rng.randrange(0, 8)
        stream = stream + bytes([23, 3, 3, 1, 0]) + _rbytes(rng, cut)    # the next record, not all there
        cases.append(Case(f"{len(_record_sizes(stream))} random records and a partial one", (stream,),
                          _record_sizes(stream)))
    return cases


register(Exercise(
    name="record_sizes", signature="record_sizes(stream: bytes) -> list[tuple[int, int]]",
    params=("stream",), returns="a list of (content_type, length) tuples, one per whole record",
    make_cases=_record_sizes_cases,
    hint="RFC 8446 §5.1: every record starts with a 5-byte header — type (1 byte), legacy version (2), "
         "length (2, big-endian) — and the fragment follows. Walk the stream header by header; stop when "
         "what is left is shorter than a header or than the length it announces (the rest has not arrived).",
    type_ok=lambda v: isinstance(v, (list, tuple)),
    normalize=lambda v: [tuple(int(x) for x in item) for item in v] if isinstance(v, (list, tuple)) else v))
