"""The exercises ``check`` knows: for each, its reference cases, the expected type and the hints.

The reference answers are the package's own functions (``tlslesson.tls12``, ``tls13``, ``record``,
``messages``, ``pki``) — the same code that talks to OpenSSL — plus published test vectors:
the TLS 1.2 PRF vectors from the IETF TLS WG list (RFC 5246 has none of its own) and RFC 8448 §3
(``rfc8448.py``).
"""
from __future__ import annotations

import random

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519

from .. import hello as hello_stage
from .. import extensions as ext_module
from .. import keylog, suites, tls12, tls13
from ..connection import ClientConfig
from ..constants import NamedGroup
from ..extensions import KeyShareEntry
from ..messages import Context, decode_handshake, encode_handshake
from ..prf import HASHES, digest, hmac_digest
from ..record import AEAD12, Record, additional_data_12, nonce_12_gcm
from ..wire import opaque, u16
from . import data, rfc8448, variant
from .guard import allowed
from .checker import (BAD_ANSWER, FAIL, PASS, UNANSWERED, Case, Exercise, Report, as_bytes,
                      as_dict, is_bytes, is_int, normalize_seq, register, short, tuple_of,
                      type_name)

# Test vectors for the RFC 5246 §5 PRF (the RFC itself has none), posted to the IETF TLS working group
# list in November 2010
# ("Test vectors for TLS 1.2 PRF", https://www.ietf.org/mail-archive/web/tls/current/msg03416.html),
# checked against `openssl kdf ... TLS1-PRF`. (hash, secret, label, seed, output)
PRF_VECTORS = (
    ("SHA256", "9bbe436ba940f017b17652849a71db35", b"test label",
     "a0ba9f936cda311827a6f796ffd5198c",
     "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791"
     "e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b"
     "97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"),
    ("SHA384", "b80b733d6ceefcdc71566ea48e5567df", b"test label",
     "cd665cf6a8447dd6ff8b27555edb7465",
     "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa"
     "60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd8bfa961144c9e8d7"
     "92eca722a7b32fc3d416d473ebc2c5fd4abfdad05d9184259b5bf8cd4d90fa0d31e2dec4"
     "79e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e099070"
     "3d73e56f"),
    ("SHA512", "b0323523c1853599584d88568bbb05eb", b"test label",
     "d4640e12e4bcdbfb437f03e6ae418ee5",
     "1261f588c798c5c201ff036e7a9cb5edcd7fe3f94c669a122a4638d7d508b283042df678"
     "9875c7147e906d868bc75c45e20eb40c1cf4a1713b27371f68432592f7dc8ea8ef223e12"
     "ea8507841311bf68653d0cfc4056d811f025c45ddfa6e6fec702f054b409d6f28dd0a323"
     "3e498da41a3e75c5630eedbe22fe254e33a1b0e9f6b9826675bec7d01a845658dc9c3975"
     "45401d40b9f46c7a400ee1b8f81ca0a60d1a397a1028bff5d2ef5066126842fb8da41976"
     "32bdb54ff6633f86bbc836e640d4d898"),
)

TLS12_LABELS = (b"master secret", b"key expansion", b"client finished", b"server finished",
                b"extended master secret")
TLS13_LABELS = ("derived", "c hs traffic", "s hs traffic", "c ap traffic", "s ap traffic",
                "exp master", "res master", "key", "iv", "finished", "traffic upd")


def rbytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def _bytes_exercise(**kw) -> Exercise:
    kw.setdefault("returns", "bytes")
    kw.setdefault("type_ok", is_bytes)
    kw.setdefault("normalize", as_bytes)
    kw.setdefault("compare", _compare_bytes)
    return register(Exercise(**kw))


def _compare_bytes(expected: bytes, got: bytes) -> str | None:
    if got == expected:
        return None
    if len(got) != len(expected):
        return f"(length: expected {len(expected)} bytes, got {len(got)})"
    first = next(i for i, (a, b) in enumerate(zip(expected, got)) if a != b)
    return f"(same length; first difference at byte {first})"


def _hash_len(name: str) -> int:
    return HASHES[name].digest_size


# ================================================================================================
# 01 — a ClientHello by hand
# ================================================================================================

def _random_hellos(rng: random.Random, count: int) -> list[bytes]:
    """ClientHello messages our client could send, with random offers (built by hello.py)."""
    out = []
    for i in range(count):
        versions = rng.choice([("1.3", "1.2"), ("1.2",), ("1.3",)])
        offered = [s for s in suites.SUITES if s.version in versions]
        chosen = tuple(rng.sample(offered, rng.randint(1, len(offered))))
        groups = tuple(rng.sample([NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.ffdhe2048],
                                  rng.randint(1, 3)))
        config = ClientConfig(versions=versions, suites=chosen, groups=groups,
                              server_name=rng.choice(["localhost", "example.com",
                                                      "a-much-longer-host-name.example.org", None]),
                              ems=rng.random() < 0.7)
        shares = []
        if "1.3" in versions:
            key = x25519.X25519PrivateKey.from_private_bytes(rbytes(rng, 32))
            public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw)
            shares = [KeyShareEntry(NamedGroup.x25519, public)]
        session_id = rbytes(rng, rng.choice([0, 32, 16]))
        message = hello_stage.client_hello(config, rbytes(rng, 32), session_id, shares)
        out.append(encode_handshake(message))
    return out




def _hello_fields(message: bytes) -> dict:
    hello = decode_handshake(message, Context("1.2"))
    return {"msg_type": message[0], "length": int.from_bytes(message[1:4], "big"),
            "legacy_version": hello.legacy_version, "random": hello.random,
            "session_id": hello.session_id, "cipher_suites": list(hello.cipher_suites)}


def _real_hello() -> bytes:
    return data.clienthello_record()[5:]


# -- record_header ------------------------------------------------------------------------------

def _record_header_cases(rng):
    record = data.clienthello_record()
    cases = [Case("the assignment's ClientHello record", (record,),
                  (record[0], int.from_bytes(record[1:3], "big"),
                   int.from_bytes(record[3:5], "big")), "fixed")]
    for i in range(6):
        content_type = rng.choice([20, 21, 22, 23])
        version = rng.choice([0x0301, 0x0303])
        length = rng.choice([1, 2, 255, 256, 300, rng.randint(1, 2000)])
        rec = Record(content_type, version, rbytes(rng, length)).encode()
        cases.append(Case(f"random record #{i + 1}", (rec,), (content_type, version, length)))
    return cases


def _record_header_diagnose(case, got):
    record = case.args[0]
    if tuple(got) == (record[0], int.from_bytes(record[1:3], "little"),
                      int.from_bytes(record[3:5], "little")):
        return "TLS numbers are big-endian (network byte order): int.from_bytes(b, 'big')."
    if len(got) == 3 and got[2] == len(record):
        return "the length field counts the fragment only, not the 5-byte header."
    return None


register(Exercise(
    name="record_header",
    signature="record_header(record: bytes) -> tuple[int, int, int]",
    params=("record",),
    returns="a tuple of 3 ints (content_type, version, length)",
    make_cases=_record_header_cases,
    hint="a record starts with 1 byte content type, 2 bytes version, 2 bytes length "
         "(RFC 5246 §6.2.1), all big-endian.",
    type_ok=tuple_of(3, is_int),
    normalize=lambda v: tuple(v) if isinstance(v, list) else v,
    diagnose=_record_header_diagnose,
))


# -- clienthello_fields -------------------------------------------------------------------------

FIELDS = ("msg_type", "length", "legacy_version", "random", "session_id", "cipher_suites")


def _fields_cases(rng):
    cases = [Case("the assignment's ClientHello", (_real_hello(),), _hello_fields(_real_hello()),
                  "fixed")]
    for i, message in enumerate(_random_hellos(rng, 6)):
        cases.append(Case(f"random ClientHello #{i + 1}", (message,), _hello_fields(message)))
    return cases


def _fields_type_ok(value):
    return isinstance(value, dict)


def _fields_normalize(value):
    if not isinstance(value, dict):
        return value
    out = {k: as_bytes(v) for k, v in value.items()}
    if isinstance(out.get("cipher_suites"), tuple):
        out["cipher_suites"] = list(out["cipher_suites"])
    return out


def _fields_compare(expected: dict, got: dict) -> str | None:
    missing = [k for k in FIELDS if k not in got]
    if missing:
        return f"(missing key{'s' * (len(missing) > 1)}: {', '.join(missing)})"
    for key in FIELDS:
        if got[key] != expected[key]:
            return (f"(first wrong field: {key!r}: expected {short(expected[key], 50)}, "
                    f"got {short(got[key], 50)})")
    return None


def _fields_diagnose(case, got):
    if not isinstance(got, dict):
        return None
    missing = [k for k in FIELDS if k not in got]
    if missing:
        return f"return all six fields in one dict: {', '.join(FIELDS)}."
    message = case.args[0]
    suites_got = got.get("cipher_suites")
    expected = _hello_fields(message)
    if got.get("length") == len(message):
        return "the 3-byte length counts the body only, not the 4-byte handshake header."
    if (isinstance(suites_got, list) and suites_got
            and suites_got[0] == 2 * len(expected["cipher_suites"])):
        return ("the first two bytes of cipher_suites are its length in BYTES (2 per suite): "
                "skip them, then read 2 bytes per suite.")
    if got.get("random") not in (None, expected["random"]):
        return ("random is the 32 bytes right after the 2-byte legacy_version (and the "
                "4-byte handshake header).")
    if got.get("session_id") != expected["session_id"]:
        return "legacy_session_id<0..32> has a 1-byte length in front."
    return None


register(Exercise(
    name="clienthello_fields",
    signature="client_hello_fields(message: bytes) -> dict",
    params=("message",),
    returns="a dict with keys " + ", ".join(FIELDS),
    make_cases=_fields_cases,
    hint="walk the message in order: msg_type (1), length (3), legacy_version (2), random (32), "
         "session_id (1-byte length + bytes), cipher_suites (2-byte length in bytes + 2 bytes "
         "each).",
    type_ok=_fields_type_ok,
    normalize=_fields_normalize,
    compare=_fields_compare,
    diagnose=_fields_diagnose,
    aliases=("client_hello_fields", "clienthello fields"),
))


# -- suite_names --------------------------------------------------------------------------------

def _name_of_suite(code: int) -> str:
    suite = suites.BY_CODE.get(code)
    return suite.name if suite else f"0x{code:04x}"


def _suite_names_cases(rng):
    real = _hello_fields(_real_hello())["cipher_suites"]
    cases = [Case("the assignment's ClientHello", (real,), [_name_of_suite(c) for c in real],
                  "fixed")]
    known = list(suites.BY_CODE)
    for i in range(5):
        codes = rng.sample(known, rng.randint(1, len(known)))
        for _ in range(rng.randint(0, 3)):   # GREASE (RFC 8701), SCSVs and codes we don't know
            codes.insert(rng.randint(0, len(codes)),
                         rng.choice([0x0A0A, 0x1A1A, 0xFAFA, 0x00FF, 0x5600, 0x0005,
                                     rng.randint(0, 0xFFFF)]))
        cases.append(Case(f"random list #{i + 1}", (codes,), [_name_of_suite(c) for c in codes]))
    return cases


def _suite_names_diagnose(case, got):
    wrong = [(c, g) for c, g, e in zip(case.args[0], got, case.expected) if g != e]
    if not wrong:
        return None
    code, name = wrong[0]
    if code not in suites.BY_CODE:
        return (f"0x{code:04x} is not in tlslesson.suites.BY_CODE: the exercise wants "
                f"'0x{code:04x}' (f\"0x{{code:04x}}\", lower case, 4 digits) for it.")
    return "look each code up in tlslesson.suites.BY_CODE and take the suite's .name."


register(Exercise(
    name="suite_names",
    signature="suite_names(codes: list[int]) -> list[str]",
    params=("codes",),
    returns="a list of str",
    make_cases=_suite_names_cases,
    hint="suites.BY_CODE[code].name for a known code, f\"0x{code:04x}\" otherwise.",
    type_ok=lambda v: isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v),
    normalize=lambda v: list(v) if isinstance(v, tuple) else v,
    diagnose=_suite_names_diagnose,
))


# -- extension_types ----------------------------------------------------------------------------

def _extension_types(message: bytes) -> list[int]:
    hello = decode_handshake(message, Context("1.2"))
    return [e.type for e in hello.extensions]


def _extension_cases(rng):
    cases = [Case("the assignment's ClientHello", (_real_hello(),),
                  _extension_types(_real_hello()), "fixed")]
    for i, message in enumerate(_random_hellos(rng, 6)):
        cases.append(Case(f"random ClientHello #{i + 1}", (message,), _extension_types(message)))
    return cases


register(Exercise(
    name="extension_types",
    signature="extension_types(message: bytes) -> list[int]",
    params=("message",),
    returns="a list of int",
    make_cases=_extension_cases,
    hint="after compression_methods comes a 2-byte length of all extensions; each extension is "
         "type (2 bytes), length (2 bytes), then that many bytes of data.",
    type_ok=lambda v: isinstance(v, (list, tuple)) and all(is_int(x) for x in v),
    normalize=lambda v: list(v) if isinstance(v, tuple) else v,
))


# ================================================================================================
# 02 — P_hash, the PRF, the master secret and the key block
# ================================================================================================

def _p_hash_cases(rng):
    cases = [Case(f"TLS WG list PRF test vector, {h}",
                  (h, bytes.fromhex(secret), label + bytes.fromhex(seed), len(out) // 2),
                  bytes.fromhex(out), "fixed")
             for h, secret, label, seed, out in PRF_VECTORS]
    for i in range(8):
        h = rng.choice(["SHA256", "SHA256", "SHA384"])
        length = rng.choice([1, 12, _hash_len(h), _hash_len(h) + 1, 48, 104, rng.randint(1, 200)])
        args = (h, rbytes(rng, rng.randint(0, 48)), rbytes(rng, rng.randint(1, 77)), length)
        cases.append(Case(f"random #{i + 1}", args, tls12.p_hash(*args)))
    return cases


def _p_hash_diagnose(case, got):
    h, secret, seed, length = case.args
    if len(got) > length:
        return f"cut the output to exactly `length` bytes ({length})."
    if len(got) < length:
        return "keep adding HMAC blocks until you have at least `length` bytes, then cut."
    a, wrong = seed, b""
    while len(wrong) < length:
        a = hmac_digest(h, secret, a)
        wrong += a
    if got == wrong[:length]:
        return "each output block is HMAC(secret, A(i) + seed), not A(i) itself."
    if got[:_hash_len(h)] == hmac_digest(h, secret, seed + hmac_digest(h, secret, seed))[:length]:
        return "it is A(i) + seed (A first), not seed + A(i)."
    return None


_bytes_exercise(
    name="p_hash",
    signature="p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes",
    params=("hash_name", "secret", "seed", "length"),
    make_cases=_p_hash_cases,
    hint="A(0) = seed, A(i) = HMAC(secret, A(i-1)); output = HMAC(secret, A(1) + seed) + "
         "HMAC(secret, A(2) + seed) + ... cut to length (RFC 5246 §5). "
         "hmac_digest(hash_name, key, data) is in tlslesson.prf.",
    diagnose=_p_hash_diagnose,
)


def _prf_cases(rng):
    cases = [Case(f"TLS WG list PRF test vector, {h}",
                  (bytes.fromhex(secret), label, bytes.fromhex(seed), len(out) // 2, h),
                  bytes.fromhex(out), "fixed")
             for h, secret, label, seed, out in PRF_VECTORS]
    for i in range(8):
        h = rng.choice(["SHA256", "SHA256", "SHA384"])
        label = rng.choice(TLS12_LABELS)
        args = (rbytes(rng, rng.choice([32, 48])), label, rbytes(rng, rng.choice([32, 64])),
                rng.choice([12, 48, 40, 72, rng.randint(1, 150)]), h)
        cases.append(Case(f"random #{i + 1}", args, tls12.prf(*args)))
    return cases


def _prf_diagnose(case, got):
    secret, label, seed, length, h = case.args
    if got == tls12.p_hash(h, secret, seed + label, length):
        return "the label goes in front of the seed: P_hash(secret, label + seed)."
    if got == tls12.p_hash(h, secret, seed, length):
        return "the label is part of the seed: P_hash(secret, label + seed)."
    if h != "SHA256" and got == tls12.prf(secret, label, seed, length, "SHA256"):
        return "use the hash you are given (hash_name), not always SHA-256."
    return None


_bytes_exercise(
    name="prf",
    signature="prf(secret: bytes, label: bytes, seed: bytes, length: int, "
              "hash_name: str = 'SHA256') -> bytes",
    params=("secret", "label", "seed", "length", "hash_name"),
    make_cases=_prf_cases,
    hint="PRF(secret, label, seed) = P_<hash>(secret, label + seed) (RFC 5246 §5).",
    diagnose=_prf_diagnose,
)


def _master_cases(rng):
    s = data.tls12_session()
    cases = [Case("the recorded session (compare with its key log line)",
                  (s.pre_master_secret, s.client_random, s.server_random, s.suite.hash),
                  keylog.parse(s.keylog)[0][2], "fixed")]
    for i in range(6):
        suite = rng.choice(suites.TLS12_SUITES)
        args = (rbytes(rng, rng.choice([32, 48, 256])), rbytes(rng, 32), rbytes(rng, 32),
                suite.hash)
        cases.append(Case(f"random #{i + 1}", args,
                          tls12.master_secret(*args[:3], suite)))
    return cases


def _master_diagnose(case, got):
    pre, cr, sr, h = case.args
    if got == tls12.prf(pre, b"master secret", sr + cr, 48, h):
        return "the seed is client_random + server_random (client first)."
    if len(got) != 48:
        return "the master secret is always 48 bytes."
    for label in (b"master_secret", b"master secret\x00", b"Master Secret"):
        if got == tls12.prf(pre, label, cr + sr, 48, h):
            return 'the label is exactly b"master secret" (a space, no terminator).'
    return None


_bytes_exercise(
    name="master_secret",
    signature="master_secret(pre_master: bytes, client_random: bytes, server_random: bytes, "
              "hash_name: str = 'SHA256') -> bytes",
    params=("pre_master", "client_random", "server_random", "hash_name"),
    make_cases=_master_cases,
    hint='master_secret = PRF(pre_master_secret, "master secret", ClientHello.random + '
         'ServerHello.random)[0..47] (RFC 5246 §8.1).',
    diagnose=_master_diagnose,
)


KEY_BLOCK_KEYS = ("client_write_mac_key", "server_write_mac_key", "client_write_key",
                  "server_write_key", "client_write_iv", "server_write_iv")


def _key_block_cases(rng):
    s = data.tls12_session()
    master = keylog.parse(s.keylog)[0][2]
    cases = [Case("the recorded session", (master, s.client_random, s.server_random, s.suite),
                  as_dict(tls12.key_block(master, s.client_random, s.server_random, s.suite)),
                  "fixed")]
    aead = [x for x in suites.TLS12_SUITES if x.aead]
    for i in range(6):
        suite = rng.choice(aead)
        args = (rbytes(rng, 48), rbytes(rng, 32), rbytes(rng, 32), suite)
        cases.append(Case(f"random #{i + 1} ({suite.openssl_name})", args,
                          as_dict(tls12.key_block(*args))))
    return cases


def _key_block_normalize(value):
    value = as_dict(value)
    if isinstance(value, dict):
        return {k: as_bytes(v) for k, v in value.items()}
    return value


def _key_block_compare(expected, got):
    missing = [k for k in KEY_BLOCK_KEYS if k not in got]
    if missing:
        return f"(missing key{'s' * (len(missing) > 1)}: {', '.join(missing)})"
    for key in KEY_BLOCK_KEYS:
        if got[key] != expected[key]:
            return (f"(first wrong part: {key!r}: expected {short(expected[key], 40)}, "
                    f"got {short(got[key], 40)})")
    return None


def _key_block_diagnose(case, got):
    master, cr, sr, suite = case.args
    swapped = as_dict(tls12.key_block(master, sr, cr, suite))
    if all(got.get(k) == swapped[k] for k in KEY_BLOCK_KEYS):
        return ("the key block's seed is server_random + client_random — the opposite order "
                "from the master secret's.")
    sizes = [(k, len(got.get(k, b""))) for k in KEY_BLOCK_KEYS]
    expected = case.expected
    for key, size in sizes:
        if size != len(expected[key]):
            return (f"{key} should be {len(expected[key])} bytes for {suite.openssl_name} "
                    f"(suite.mac_length / key_length / iv_length).")
    return "cut in this order: 2 MAC keys, 2 cipher keys, 2 IVs — client before server each time."


register(Exercise(
    name="key_block",
    signature="key_block(master: bytes, client_random: bytes, server_random: bytes, "
              "suite: CipherSuite) -> dict",
    params=("master", "client_random", "server_random", "suite"),
    returns="a dict with keys " + ", ".join(KEY_BLOCK_KEYS),
    make_cases=_key_block_cases,
    hint='key_block = PRF(master, "key expansion", server_random + client_random), cut into '
         "client/server MAC keys, client/server keys, client/server IVs (RFC 5246 §6.3).",
    type_ok=lambda v: isinstance(_key_block_normalize(v), dict),
    normalize=_key_block_normalize,
    compare=_key_block_compare,
    diagnose=_key_block_diagnose,
))


# ================================================================================================
# 03 — Finished, and a tampered handshake
# ================================================================================================

def _transcript_cases(rng):
    s = data.tls12_session()
    messages = s.transcript("Finished", "client")
    cases = [Case("the recorded session, up to the client's Finished", (messages, "SHA256"),
                  digest("SHA256", b"".join(messages)), "fixed")]
    for i in range(6):
        h = rng.choice(["SHA256", "SHA384"])
        msgs = [rbytes(rng, rng.randint(4, 300)) for _ in range(rng.randint(1, 9))]
        cases.append(Case(f"random #{i + 1}", (msgs, h), digest(h, b"".join(msgs))))
    return cases


def _transcript_diagnose(case, got):
    messages, h = case.args
    if got == digest(h, messages[-1]):
        return "hash ALL the messages, concatenated in order — not just the last one."
    if got == digest(h, b"".join(digest(h, m) for m in messages)):
        return "concatenate the messages, then hash once (not a hash of hashes)."
    if h != "SHA256" and got == digest("SHA256", b"".join(messages)):
        return "use the hash named by hash_name."
    return None


_bytes_exercise(
    name="transcript_hash",
    signature="transcript_hash(messages: list[bytes], hash_name: str = 'SHA256') -> bytes",
    params=("messages", "hash_name"),
    make_cases=_transcript_cases,
    hint="Hash(handshake_messages): every message (with its 4-byte header) concatenated in "
         "order, hashed once. tlslesson.prf.digest(hash_name, data) hashes.",
    diagnose=_transcript_diagnose,
)


def _verify_cases(rng):
    s = data.tls12_session()
    master = keylog.parse(s.keylog)[0][2]
    finished = [m for m in s.messages if m.name == "Finished"]
    cases = []
    for sender, message in zip(("client", "server"), finished):
        before = s.transcript("Finished", sender)
        cases.append(Case(f"the recorded session: the {sender}'s Finished",
                          (master, sender, digest("SHA256", b"".join(before)), "SHA256"),
                          message.wire[4:], "fixed"))
    for i in range(6):
        suite = rng.choice(suites.TLS12_SUITES)
        sender = rng.choice(["client", "server"])
        args = (rbytes(rng, 48), sender, rbytes(rng, _hash_len(suite.hash)), suite.hash)
        cases.append(Case(f"random #{i + 1}", args,
                          tls12.verify_data(args[0], sender, args[2], suite)))
    return cases


def _verify_diagnose(case, got):
    master, sender, hh, h = case.args
    if len(got) != 12:
        return "verify_data is 12 bytes (verify_data_length, RFC 5246 §7.4.9)."
    for label in (f"{sender}_finished", f"{sender.title()} Finished", f"{sender}finished"):
        if got == tls12.prf(master, label.encode(), hh, 12, h):
            return f'the label is b"{sender} finished" (lower case, one space).'
    if got == tls12.prf(master, f"{sender} finished".encode(), digest(h, hh), 12, h):
        return "handshake_hash is already the hash: don't hash it again."
    other = "server" if sender == "client" else "client"
    if got == tls12.prf(master, f"{other} finished".encode(), hh, 12, h):
        return "use the sender you are given: 'client finished' or 'server finished'."
    return None


_bytes_exercise(
    name="verify_data",
    signature="verify_data(master: bytes, sender: str, handshake_hash: bytes, "
              "hash_name: str = 'SHA256') -> bytes",
    params=("master", "sender", "handshake_hash", "hash_name"),
    make_cases=_verify_cases,
    hint='verify_data = PRF(master_secret, "client finished" or "server finished", '
         "handshake_hash)[0..11] (RFC 5246 §7.4.9); tlslesson.tls12.prf is the PRF.",
    diagnose=_verify_diagnose,
)


def _first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def _find_cases(rng):
    t = data.tampered_handshake()
    sent = [m.wire for m in t.client_view]
    received = [m.wire for m in t.server_view]
    cases = [Case("the assignment's tampered handshake", (sent, received),
                  _first_difference(sent, received), "fixed"),
             Case("the recorded session, untouched", (data.tls12_session().transcript(),
                                                      data.tls12_session().transcript()),
                  None, "fixed")]
    for i in range(8):
        msgs = [rbytes(rng, rng.randint(4, 120)) for _ in range(rng.randint(2, 9))]
        other = list(msgs)
        what = rng.choice(["flip", "flip", "flip", "none", "drop", "extra"])
        if what == "flip":
            j = rng.randrange(len(msgs))
            changed = bytearray(msgs[j])
            changed[rng.randrange(len(changed))] ^= 1 << rng.randrange(8)
            other[j] = bytes(changed)
        elif what == "drop":
            other.pop()
        elif what == "extra":
            other.append(rbytes(rng, 16))
        cases.append(Case(f"random #{i + 1}", (msgs, other), _first_difference(msgs, other)))
    return cases


register(Exercise(
    name="find_tampered",
    signature="find_tampered(sent: list[bytes], received: list[bytes]) -> int | None",
    params=("sent", "received"),
    returns="an int (an index) or None",
    make_cases=_find_cases,
    hint="compare the two lists position by position; the first position where they differ "
         "(or where one list ends first) is the answer; None when they are the same.",
    type_ok=lambda v: v is None or is_int(v),
))


def _finished(rng) -> bytes:
    return bytes([20, 0, 0, 12]) + rbytes(rng, 12)


def _client_verify_over(master, view, h):
    """What the endpoint that logged ``view`` (ending with the client's Finished) expects."""
    return tls12.prf(master, b"client finished", digest(h, b"".join(view[:-1])), 12, h)


def _expected_vd_cases(rng):
    s = data.tls12_session()
    master = keylog.parse(s.keylog)[0][2]
    upto = [m.wire for m in s.messages]
    upto = upto[:next(i for i, m in enumerate(s.messages)
                      if m.sender == "client" and m.name == "Finished") + 1]
    t = data.tampered_handshake()
    cases = [Case("your recorded session, the client's view", (master, upto, "SHA256"),
                  _client_verify_over(master, upto, "SHA256"), "fixed")]
    for who, view in (("client", t.client_view), ("server", t.server_view)):
        wires = [m.wire for m in view]
        cases.append(Case(f"your tampered handshake, the {who}'s view",
                          (t.master_secret, wires, "SHA256"),
                          _client_verify_over(t.master_secret, wires, "SHA256"), "fixed"))
    for i in range(5):
        h = rng.choice(["SHA256", "SHA384"])
        view = [rbytes(rng, rng.randint(8, 200)) for _ in range(rng.randint(2, 8))]
        view.append(_finished(rng))
        master = rbytes(rng, 48)
        cases.append(Case(f"random #{i + 1} ({h})", (master, view, h),
                          _client_verify_over(master, view, h)))
    return cases


def _expected_vd_diagnose(case, got):
    master, view, h = case.args

    def over(messages, label=b"client finished"):
        return tls12.prf(master, label, digest(h, b"".join(messages)), 12, h)
    if got == over(view):
        return ("the hash covers the messages BEFORE the client's Finished: the view ends with "
                "that Finished, so leave the last message out (view[:-1]).")
    if len(view) > 2 and got == over(view[:-2]):
        return "one message too few: only the client's Finished itself (the last) is left out."
    if got == over([m[4:] for m in view[:-1]]):
        return "hash each message whole, its 4-byte handshake header included."
    if got == over(view[:-1], b"server finished"):
        return 'this is the CLIENT\'s Finished: the label is b"client finished".'
    if h != "SHA256" and got == tls12.prf(master, b"client finished",
                                          digest("SHA256", b"".join(view[:-1])), 12, "SHA256"):
        return "use hash_name for the transcript hash and the PRF."
    return None


_bytes_exercise(
    name="expected_verify_data",
    signature="expected_verify_data(master: bytes, view: list[bytes], hash_name: str = 'SHA256') "
              "-> bytes",
    params=("master", "view", "hash_name"),
    make_cases=_expected_vd_cases,
    hint="the endpoint hashes its own view of the handshake up to, not including, the client's "
         "Finished, then verify_data(master, \"client\", that hash).",
    diagnose=_expected_vd_diagnose,
)


# ================================================================================================
# 04 — decrypt a record
# ================================================================================================

def _keylog_cases(rng):
    s = data.tls12_session()
    cases = [Case("the recorded session's key log line", (s.keylog,),
                  keylog.parse(s.keylog)[0], "fixed")]
    for i in range(6):
        label = rng.choice(["CLIENT_RANDOM", "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                            "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"])
        size = 48 if label == "CLIENT_RANDOM" else rng.choice([32, 48])
        line = keylog.line(label, rbytes(rng, 32), rbytes(rng, size))
        if rng.random() < 0.3:
            line += "\n"
        cases.append(Case(f"random #{i + 1}", (line,), keylog.parse(line)[0]))
    return cases


register(Exercise(
    name="parse_keylog_line",
    signature="parse_keylog_line(line: str) -> tuple[str, bytes, bytes]",
    params=("line",),
    returns="a tuple (label: str, client_random: bytes, secret: bytes)",
    make_cases=_keylog_cases,
    hint="split the line on whitespace: LABEL, then two hex strings; bytes.fromhex turns hex "
         "into bytes. Trailing newlines don't count.",
    type_ok=lambda v: (isinstance(v, (tuple, list)) and len(v) == 3 and isinstance(v[0], str)
                       and is_bytes(v[1]) and is_bytes(v[2])),
    normalize=normalize_seq,
    aliases=("keylog_line",),
))


def _first_app_record():
    s = data.tls12_session()
    master = keylog.parse(s.keylog)[0][2]
    kb = tls12.key_block(master, s.client_random, s.server_random, s.suite)
    return s, kb


def _nonce_cases(rng):
    s, kb = _first_app_record()
    cases = []
    for sender, name, nth in (("client", "Finished", 0), ("client", "ApplicationData", 0),
                              ("server", "ApplicationData", 0)):
        record = s.record(sender, name, nth)
        iv = kb.client_write_iv if sender == "client" else kb.server_write_iv
        cases.append(Case(f"the recorded session: {sender} {name}", (iv, record[5:]),
                          nonce_12_gcm(iv, record[5:13]), "fixed"))
    for i in range(6):
        iv, seq = rbytes(rng, 4), rng.choice([0, 1, 2, rng.getrandbits(64)])
        fragment = seq.to_bytes(8, "big") + rbytes(rng, rng.randint(17, 80))
        cases.append(Case(f"random #{i + 1}", (iv, fragment), nonce_12_gcm(iv, fragment[:8])))
    return cases


def _nonce_diagnose(case, got):
    iv, fragment = case.args
    if got == fragment[:8] + iv:
        return "the implicit part (write_iv, 4 bytes) comes first, then the explicit 8 bytes."
    if len(got) != 12:
        return "an AES-GCM nonce is 12 bytes: 4 from the key block + 8 sent in the record."
    return None


_bytes_exercise(
    name="aead_nonce",
    signature="aead_nonce(write_iv: bytes, fragment: bytes) -> bytes",
    params=("write_iv", "fragment"),
    make_cases=_nonce_cases,
    hint="TLS 1.2 AES-GCM (RFC 5288 §3): nonce = write_iv (4 bytes, from the key block) + the "
         "first 8 bytes of the record's fragment (the explicit nonce).",
    diagnose=_nonce_diagnose,
)


def _aad_cases(rng):
    s, kb = _first_app_record()
    record = s.record("client", "ApplicationData")
    cases = [Case("the recorded session: the client's first application data record",
                  (1, record[0], int.from_bytes(record[1:3], "big"), len(record) - 5 - 8 - 16),
                  None, "fixed")]
    cases[0].expected = additional_data_12(*cases[0].args)
    for i in range(6):
        args = (rng.choice([0, 1, 5, rng.getrandbits(64)]), rng.choice([21, 22, 23]),
                rng.choice([0x0303, 0x0301]), rng.randint(0, 2 ** 14))
        cases.append(Case(f"random #{i + 1}", args, additional_data_12(*args)))
    return cases


def _aad_diagnose(case, got):
    seq, ct, version, length = case.args
    if got == seq.to_bytes(4, "big") + bytes([ct]) + u16(version) + u16(length):
        return "seq_num is a uint64: 8 bytes."
    if got == seq.to_bytes(8, "little") + bytes([ct]) + u16(version) + u16(length):
        return "everything is big-endian, the sequence number too."
    if len(got) != 13:
        return "additional_data is 13 bytes: 8 + 1 + 2 + 2."
    return None


_bytes_exercise(
    name="additional_data",
    signature="additional_data(seq_num: int, content_type: int, version: int, length: int) "
              "-> bytes",
    params=("seq_num", "content_type", "version", "length"),
    make_cases=_aad_cases,
    hint="additional_data = seq_num (uint64) + type (uint8) + version (uint16) + length (uint16) "
         "of the PLAINTEXT (RFC 5246 §6.2.3.3).",
    diagnose=_aad_diagnose,
)


def _decrypt_cases(rng):
    s, kb = _first_app_record()
    cases = []
    plaintexts = {("client", "Finished"): next(m.wire for m in s.messages
                                               if m.name == "Finished" and m.sender == "client"),
                  ("client", "ApplicationData"): data.REQUEST,
                  ("server", "ApplicationData"): data.RESPONSE}
    for (sender, name), plaintext in plaintexts.items():
        key, iv = ((kb.client_write_key, kb.client_write_iv) if sender == "client"
                   else (kb.server_write_key, kb.server_write_iv))
        seq = 0 if name == "Finished" else 1
        cases.append(Case(f"the recorded session: {sender} {name} (seq {seq})",
                          (s.record(sender, name), key, iv, seq), plaintext, "fixed"))
    for i in range(6):
        suite = rng.choice([suites.get("AES128-GCM-SHA256"),
                            suites.get("ECDHE-RSA-AES256-GCM-SHA384")])
        key, iv = rbytes(rng, suite.key_length), rbytes(rng, 4)
        protection = AEAD12(suite, key, iv)
        protection.seq = seq = rng.choice([0, 1, 2, 7, rng.getrandbits(32)])
        plaintext = rbytes(rng, rng.randint(0, 100))
        record = protection.seal(rng.choice([22, 23, 21]), 0x0303, plaintext).encode()
        cases.append(Case(f"random #{i + 1} ({suite.cipher})", (record, key, iv, seq), plaintext))
    return cases


_bytes_exercise(
    name="decrypt_record",
    signature="decrypt_record(record: bytes, key: bytes, write_iv: bytes, seq_num: int) -> bytes",
    params=("record", "key", "write_iv", "seq_num"),
    make_cases=_decrypt_cases,
    hint="the fragment is explicit nonce, ciphertext, tag (see the picture in section 3): "
         "decrypt what follows the explicit nonce, with your aead_nonce and an additional_data "
         "that describes the PLAINTEXT (RFC 5246 §6.2.3.3).",
    explain=lambda case, exc, seen: _decrypt_explain(case, exc, seen),
    spy=("additional_data", "aead_nonce"),
)


def _decrypt_explain(case, exc, seen):
    if type(exc).__name__ != "InvalidTag":
        return None
    record, key, iv, seq = case.args
    fragment = record[5:]
    plain = len(fragment) - 8 - 16
    if "aead_nonce" in seen:
        _, nonce = seen["aead_nonce"]
        if nonce != iv + fragment[:8]:
            return ("the tag did not verify, and the nonce your aead_nonce gave is not "
                    "write_iv + the record's explicit nonce: check what you pass it.")
    if "additional_data" in seen:
        args, aad = seen["additional_data"]
        length = args.get("length")
        if length is not None and length != plain:
            if length in (len(fragment), len(fragment) - 8, len(record), len(fragment) - 16):
                return (f"the tag did not verify: the length in your additional data is {length}, "
                        f"the length of the bytes you have, not of the plaintext ({plain} = "
                        "fragment − 8-byte explicit nonce − 16-byte tag). The sender built the "
                        "additional data before encrypting, from the plaintext's length.")
            return (f"the tag did not verify: the length in your additional data is {length}; "
                    "it is the plaintext's length (fragment − 8 − 16).")
        if args.get("seq_num") is not None and args.get("seq_num") != seq:
            return "the tag did not verify: use the seq_num you are given in the additional data."
        if args.get("content_type") not in (None, record[0]):
            return "the tag did not verify: the content type in the additional data is record[0]."
    return ("the tag did not verify. The usual culprit is the length in the additional data: "
            "it is the plaintext's length (fragment − 8-byte explicit nonce − 16-byte tag), not "
            "the ciphertext's. Then check the nonce and the sequence number.")


# ================================================================================================
# 05 — TLS 1.3: HKDF-Expand-Label and the key schedule, against RFC 8448
# ================================================================================================

R = rfc8448.value


def _hkdf_label_cases(rng):
    fixed = [("derived", R("empty_hash"), 32, "derived_info"),
             ("c hs traffic", R("hello_hash"), 32, "c_hs_traffic_info"),
             ("s hs traffic", R("hello_hash"), 32, "s_hs_traffic_info"),
             ("key", b"", 16, "key_info"), ("iv", b"", 12, "iv_info"),
             ("finished", b"", 32, "finished_info")]
    cases = [Case(f"RFC 8448 {rfc8448.source(name).split(':')[0]} ({name})",
                  (label, ctx, n), R(name), "fixed") for label, ctx, n, name in fixed]
    for i in range(6):
        args = (rng.choice(TLS13_LABELS), rbytes(rng, rng.choice([0, 32, 48])),
                rng.choice([12, 16, 32, 48]))
        cases.append(Case(f"random #{i + 1}", args, tls13.hkdf_label(*args)))
    return cases


def _hkdf_label_diagnose(case, got):
    label, context, length = case.args
    if got == u16(length) + opaque(1, label.encode()) + opaque(1, context):
        return 'the label on the wire is "tls13 " + label (RFC 8446 §7.1).'
    if got == u16(length) + b"tls13 " + label.encode() + context:
        return "label and context are opaque<..>: each has a 1-byte length in front."
    return None


_bytes_exercise(
    name="hkdf_label",
    signature="hkdf_label(label: str, context: bytes, length: int) -> bytes",
    params=("label", "context", "length"),
    make_cases=_hkdf_label_cases,
    hint='HkdfLabel = uint16 length + opaque label<7..255> ("tls13 " + label) + '
         "opaque context<0..255> (RFC 8446 §7.1); opaque<..255> = 1-byte length + bytes.",
    diagnose=_hkdf_label_diagnose,
)


def _expand_cases(rng):
    fixed = [("early_secret", "derived", R("empty_hash"), 32, "derived_for_handshake"),
             ("handshake_secret", "derived", R("empty_hash"), 32, "derived_for_master"),
             ("server_handshake_traffic_secret", "key", b"", 16, "server_handshake_key"),
             ("server_handshake_traffic_secret", "iv", b"", 12, "server_handshake_iv"),
             ("client_handshake_traffic_secret", "finished", b"", 32, "client_finished_key")]
    cases = [Case(f"RFC 8448 {rfc8448.source(name).split(':')[0]} ({name})",
                  (R(secret), label, ctx, n, "SHA256"), R(name), "fixed")
             for secret, label, ctx, n, name in fixed]
    for i in range(6):
        h = rng.choice(["SHA256", "SHA384"])
        args = (rbytes(rng, _hash_len(h)), rng.choice(TLS13_LABELS),
                rbytes(rng, rng.choice([0, _hash_len(h)])), rng.choice([12, 16, 32, _hash_len(h)]),
                h)
        secret, label, context, length, _ = args
        cases.append(Case(f"random #{i + 1} ({h})", args,
                          tls13.hkdf_expand_label(h, secret, label, context, length)))
    return cases


def _expand_diagnose(case, got):
    secret, label, context, length, h = case.args
    if got == tls13.hkdf_expand_label(h, secret, "tls13 " + label, context, length):
        return 'add "tls13 " once: the label you are given is without it.'
    return None


_bytes_exercise(
    name="hkdf_expand_label",
    signature="hkdf_expand_label(secret: bytes, label: str, context: bytes, length: int, "
              "hash_name: str = 'SHA256') -> bytes",
    params=("secret", "label", "context", "length", "hash_name"),
    make_cases=_expand_cases,
    hint="HKDF-Expand(secret, hkdf_label(label, context, length), length): T(1) = HMAC(secret, "
         "info + 0x01), T(i) = HMAC(secret, T(i-1) + info + i), concatenated and cut (RFC 5869 "
         "§2.3).",
    diagnose=_expand_diagnose,
)


def _derive_cases(rng):
    fixed = [("early_secret", "derived", "empty_hash", "derived_for_handshake"),
             ("handshake_secret", "c hs traffic", "hello_hash", "client_handshake_traffic_secret"),
             ("handshake_secret", "s hs traffic", "hello_hash", "server_handshake_traffic_secret"),
             ("master_secret", "c ap traffic", "server_finished_hash",
              "client_application_traffic_secret_0")]
    cases = [Case(f"RFC 8448 {rfc8448.source(name).split(':')[0]} ({name})",
                  (R(secret), label, R(hh), "SHA256"), R(name), "fixed")
             for secret, label, hh, name in fixed]
    for i in range(6):
        h = rng.choice(["SHA256", "SHA384"])
        args = (rbytes(rng, _hash_len(h)), rng.choice(TLS13_LABELS[:7]),
                rbytes(rng, _hash_len(h)), h)
        secret, label, transcript_hash, _ = args
        cases.append(Case(f"random #{i + 1} ({h})", args,
                          tls13.derive_secret(h, secret, label, transcript_hash)))
    return cases


def _derive_diagnose(case, got):
    secret, label, th, h = case.args
    if got == tls13.hkdf_expand_label(h, secret, label, digest(h, th), _hash_len(h)):
        return "transcript_hash is already a hash: use it as the context as it is."
    if len(got) != _hash_len(h):
        return f"Derive-Secret's length is the hash length ({_hash_len(h)} bytes for {h})."
    return None


_bytes_exercise(
    name="derive_secret",
    signature="derive_secret(secret: bytes, label: str, transcript_hash: bytes, "
              "hash_name: str = 'SHA256') -> bytes",
    params=("secret", "label", "transcript_hash", "hash_name"),
    make_cases=_derive_cases,
    hint="Derive-Secret(Secret, Label, Messages) = HKDF-Expand-Label(Secret, Label, "
         "Transcript-Hash(Messages), Hash.length) (RFC 8446 §7.1).",
    diagnose=_derive_diagnose,
)


def _keys_cases(rng):
    fixed = [("server_handshake_traffic_secret", "server_handshake"),
             ("client_handshake_traffic_secret", "client_handshake"),
             ("server_application_traffic_secret_0", "server_application"),
             ("client_application_traffic_secret_0", "client_application")]
    cases = [Case(f"RFC 8448 {rfc8448.source(which + '_key').split(':')[0]} ({which} key, iv)",
                  (R(secret), 16, 12, "SHA256"), (R(which + "_key"), R(which + "_iv")), "fixed")
             for secret, which in fixed]
    for i in range(6):
        suite = rng.choice(suites.TLS13_SUITES)
        secret = rbytes(rng, _hash_len(suite.hash))
        cases.append(Case(f"random #{i + 1} ({suite.name})",
                          (secret, suite.key_length, suite.iv_length, suite.hash),
                          tls13.traffic_keys(suite, secret)))
    return cases


def _keys_diagnose(case, got):
    secret, key_length, iv_length, h = case.args
    key, iv = case.expected
    if tuple(got) == (iv, key):
        return "return (key, iv): the key first."
    if got[0] == key and got[1] != iv:
        return 'the key is right; the IV uses the label "iv" and iv_length bytes.'
    return None


register(Exercise(
    name="traffic_keys",
    signature="traffic_keys(secret: bytes, key_length: int = 16, iv_length: int = 12, "
              "hash_name: str = 'SHA256') -> tuple[bytes, bytes]",
    params=("secret", "key_length", "iv_length", "hash_name"),
    returns="a tuple (key: bytes, iv: bytes)",
    make_cases=_keys_cases,
    hint='key = HKDF-Expand-Label(secret, "key", "", key_length), iv = HKDF-Expand-Label(secret, '
         '"iv", "", iv_length) (RFC 8446 §7.3).',
    type_ok=tuple_of(2, is_bytes),
    normalize=normalize_seq,
    diagnose=_keys_diagnose,
    aliases=("traffic keys",),
))


def _hs_secrets(shared: bytes, hello_hash: bytes, suite) -> tuple[bytes, bytes]:
    schedule = tls13.KeySchedule(suite)
    schedule.start()
    schedule.handshake(shared, hello_hash)
    return (schedule.client_handshake_traffic_secret, schedule.server_handshake_traffic_secret)


def _hs_cases(rng):
    cases = [Case("RFC 8448 section 3 (x25519 shared secret, hash of ClientHello+ServerHello)",
                  (R("shared_secret"), R("hello_hash"), "SHA256"),
                  (R("client_handshake_traffic_secret"), R("server_handshake_traffic_secret")),
                  "fixed")]
    for i in range(5):
        suite = rng.choice(suites.TLS13_SUITES)
        shared = rbytes(rng, rng.choice([32, 65, 256]))
        hh = rbytes(rng, _hash_len(suite.hash))
        cases.append(Case(f"random #{i + 1} ({suite.hash})", (shared, hh, suite.hash),
                          _hs_secrets(shared, hh, suite)))
    return cases


def _hs_diagnose(case, got):
    shared, hh, h = case.args
    size = _hash_len(h)
    zeros = bytes(size)
    early = tls13.hkdf_extract(h, zeros, zeros)
    wrong = tls13.hkdf_extract(h, early, shared)       # forgot Derive-Secret(., "derived", "")
    if got[0] == tls13.derive_secret(h, wrong, "c hs traffic", hh):
        return ('between the early secret and the handshake secret comes Derive-Secret(early, '
                '"derived", Hash("")): that is the salt of the second HKDF-Extract.')
    derived = tls13.derive_secret(h, early, "derived", digest(h, b""))
    swapped = tls13.hkdf_extract(h, shared, derived)
    if got[0] == tls13.derive_secret(h, swapped, "c hs traffic", hh):
        return "HKDF-Extract(salt, IKM): the derived secret is the salt, the shared secret the IKM."
    if tuple(got) == tuple(reversed(case.expected)):
        return "return (client secret, server secret): client first."
    return None


register(Exercise(
    name="handshake_traffic_secrets",
    signature="handshake_traffic_secrets(shared_secret: bytes, hello_hash: bytes, "
              "hash_name: str = 'SHA256') -> tuple[bytes, bytes]",
    params=("shared_secret", "hello_hash", "hash_name"),
    returns="a tuple (client_handshake_traffic_secret: bytes, server_handshake_traffic_secret: "
            "bytes)",
    make_cases=_hs_cases,
    hint='early = HKDF-Extract(0, 0); derived = Derive-Secret(early, "derived", ""); '
         "handshake = HKDF-Extract(derived, shared_secret); then Derive-Secret(handshake, "
         '"c hs traffic" / "s hs traffic", hello_hash) (RFC 8446 §7.1). "0" is HashLen zero '
         'bytes; "" means the hash of no messages.',
    type_ok=tuple_of(2, is_bytes),
    normalize=normalize_seq,
    diagnose=_hs_diagnose,
))


# ================================================================================================
# 06 — certificate chains: why is each rejected?
# ================================================================================================

# A hint is chosen by what the student said, never by the right answer: how to confirm that the
# step they named really fails, and the reminder that the first failing step counts.
IF_YOU_SAID = {
    "chain building / trust anchor": "follow the issuers from the leaf: is each issuer sent in the "
                                     "chain or in data.trusted()? If so, the path is built.",
    "signature": "does cert.verify_directly_issued_by(issuer) really raise for one of them?",
    "validity period": "compare every certificate's not_before and not_after with today.",
    "basic constraints": "is a certificate that signed another one really not a CA (is_ca)?",
    "key usage": "does the leaf really lack digital_signature (or a CA key_cert_sign)?",
    "extended key usage": "does the leaf's extended_key_usage really leave out serverAuth?",
    "name": "compare chain.hostname with every DNS name in the leaf's san.",
    "accepted": "run all seven steps on it, in order: does every one of them pass?",
}
def _diagnosis(chain) -> str:
    """What ``pki.validate_chain`` says: the failing step's name, or "accepted"."""
    from .. import pki
    from ..errors import CertificateError
    from .guard import unrecorded
    try:
        with unrecorded():
            pki.validate_chain(list(chain.certificates), data.trusted(), hostname=chain.hostname)
    except CertificateError as err:
        return err.step
    return "accepted"


def _asked_validator(chains) -> list[str]:
    """The labels of the chains the notebook handed to pki's validation itself."""
    from .guard import calls_made

    def certs(value):
        if isinstance(value, (list, tuple)):
            for v in value:
                yield from certs(v)
        elif hasattr(value, "public_bytes"):
            yield value
    seen = [c for _, args, kwargs in calls_made()
            for c in certs(list(args) + list(kwargs.values()))]
    return [label for label, chain in chains.items() if chain.certificates[0] in seen]


def _diagnosis_check(answers) -> Report:
    name = "chain_diagnosis"
    chains = data.chains()
    labels = list(chains)
    yours = ", ".join(labels)
    if not isinstance(answers, dict):
        return Report(name, "wrong type", lines=[
            f"✘ {name}: expected a dict {{chain label: step name}}, got {type_name(answers)}.",
            f"  Like: {{{labels[0]!r}: <step>, {labels[1]!r}: <step>, ...}} with one entry "
            f"per chain ({yours}), each step one of data.CHOICES."])
    if not answers:
        return Report(name, UNANSWERED, 0, len(chains), [
            f"… {name}: not answered yet. Fill in `answers` ({{label: step name}} for your chains "
            f"{yours}), run that cell, then check again."])
    total = len(chains)
    # labels as the student may have typed them (" k7-3f"); the first spelling of a label counts
    given: dict = {}
    for key, value in answers.items():
        given.setdefault(data.label_key(key), value)
    foreign = [k for k in given if k not in chains]
    missing = [k for k in chains if k not in given]
    unknown = [(k, v) for k, v in given.items() if k in chains and v not in data.CHOICES]
    asked = _asked_validator(chains)
    right, wrong_claims = 0, []
    for label, chain in chains.items():
        if label not in given or label in asked or given[label] not in data.CHOICES:
            continue
        if given[label] == _diagnosis(chain):
            right += 1
        else:
            wrong_claims.append(given[label])
    if right == total:
        return Report(name, PASS, total, total, [
            f"✔ {name}: all {total} chains diagnosed right. Well done!"])
    lines = [f"✘ {name}: {right} of {total} chains right."]
    if foreign:
        shown = ", ".join(repr(k) for k in foreign[:5]) + (", …" if len(foreign) > 5 else "")
        one = len(foreign) == 1
        lines.append(f"  not in your assignment: {shown} — no chain of yours has "
                     f"{'that label' if one else 'those labels'}, so "
                     f"{'it counts' if one else 'they count'} as not answered.")
        if len(foreign) == len(given):
            lines.append("  Your chains' labels come from your student id "
                         f"({variant.current()!r}): answers made for another id name other "
                         "chains. Diagnose the chains the setup cell lists, with its labels.")
    if asked:
        lines.append(f"  chains {', '.join(asked)}: you asked pki's validation itself about them — "
                     "it is the check this exercise asks you to do by hand, so they count as not "
                     "answered. Diagnose them from pki.describe(...) and the certificates "
                     "(then restart the kernel: the calls are remembered until it restarts).")
    if missing:
        lines.append(f"  not answered{' (your chains)' if foreign else ''}: {', '.join(missing)}")
    if unknown:
        label, value = unknown[0]
        lines.append(f"  {label}: {value!r} is not one of the choices: "
                     + ", ".join(repr(c) for c in data.CHOICES))
    if wrong_claims:
        claim = sorted(set(wrong_claims), key=wrong_claims.index)[0]
        lines.append(f"  hint: a chain you diagnosed as {claim!r} is not rejected there (or not "
                     f"first). {IF_YOU_SAID[claim]} And run the earlier steps too: the first "
                     "step that fails is the answer.")
    status = BAD_ANSWER if ((unknown or foreign) and not wrong_claims) else FAIL
    return Report(name, status, right, total, lines)


register(Exercise(
    name="chain_diagnosis",
    signature="answers",
    params=(),
    returns="a dict",
    make_cases=lambda rng: [],
    hint="",
    type_ok=lambda v: isinstance(v, dict),
    takes="value",
    value_check=_diagnosis_check,
    aliases=("chain diagnosis", "certificate_diagnosis", "diagnosis"),
))


# ================================================================================================
# 05, exercise 4 — the inputs of the key schedule, from the student's own handshake
# ================================================================================================

def _inputs_check(answers) -> Report:
    from cryptography.hazmat.primitives.asymmetric.x25519 import (X25519PrivateKey,
                                                                    X25519PublicKey)
    name = "tls13_inputs"
    keys = ("shared_secret", "hello_hash")
    if not isinstance(answers, dict) or any(not is_bytes(answers.get(k)) for k in keys):
        return Report(name, "wrong type", lines=[
            f"✘ {name}: expected a dict {{'shared_secret': bytes, 'hello_hash': bytes}}, got "
            f"{short(answers, 80)}."])
    hellos = data.tls13_hellos()
    private = X25519PrivateKey.from_private_bytes(hellos.client_private_key)
    shared = private.exchange(X25519PublicKey.from_public_bytes(hellos.server_public_key))
    ch, sh = hellos.client_hello, hellos.server_hello
    expected = {"shared_secret": shared, "hello_hash": digest("SHA256", ch + sh)}
    got = {k: as_bytes(answers[k]) for k in keys}
    right = [k for k in keys if got[k] == expected[k]]
    if len(right) == 2:
        return Report(name, PASS, 2, 2, [f"✔ {name}: both right. Well done!"])
    lines = [f"✘ {name}: {len(right)} of 2 right."]
    if got["shared_secret"] != shared:
        public = private.public_key().public_bytes_raw()
        if got["shared_secret"] in (hellos.server_public_key, public, hellos.client_private_key):
            lines.append("  shared_secret: that is one of the keys itself; the shared secret is "
                         "what private_key.exchange(peer_public_key) returns.")
        else:
            lines.append("  shared_secret: exchange the CLIENT's private key (hellos."
                         "client_private_key) with the SERVER's public key (hellos."
                         "server_public_key) — each side uses its own private key.")
    if got["hello_hash"] != expected["hello_hash"]:
        variants = {digest("SHA256", sh + ch): "ClientHello first, then ServerHello.",
                    digest("SHA256", ch): "the hash covers ServerHello too.",
                    digest("SHA256", ch[4:] + sh[4:]): "keep each message's 4-byte header.",
                    digest("SHA384", ch + sh)[:32]: "TLS_AES_128_GCM_SHA256 hashes with SHA-256."}
        lines.append("  hello_hash: " + variants.get(
            got["hello_hash"], "the SHA-256 of the two handshake messages, concatenated "
                               "(ClientHello + ServerHello, headers included)."))
    return Report(name, FAIL, len(right), 2, lines)


register(Exercise(
    name="tls13_inputs",
    signature="{'shared_secret': ..., 'hello_hash': ...}",
    params=(),
    returns="a dict",
    make_cases=lambda rng: [],
    hint="",
    type_ok=lambda v: isinstance(v, dict),
    takes="value",
    value_check=_inputs_check,
))


# ================================================================================================
# 07 — TLS 1.3 resumption: the ticket's PSK and the PSK binder
# ================================================================================================

RR = rfc8448.resumed


def _nst(wire: bytes):
    return decode_handshake(wire, Context("1.3"))


def _schedule_for(hash_name: str):
    return tls13.KeySchedule(next(s for s in suites.TLS13_SUITES if s.hash == hash_name))


def _binder_key_of(psk: bytes, hash_name: str, label: str = "res binder") -> bytes:
    early = tls13.hkdf_extract(hash_name, b"", psk)
    return tls13.derive_secret(hash_name, early, label, digest(hash_name, b""))


def _binders_length(client_hello: bytes) -> int:
    """How many bytes the binders list (its 2-byte length included) takes at the hello's end."""
    hello = decode_handshake(client_hello, Context("1.2"))
    offered = ext_module.value(hello.extensions[-1], "client_hello")
    return len(offered.encode_binders())


def _finished_over(hash_name: str, base_key: bytes, data_: bytes) -> bytes:
    key = tls13.hkdf_expand_label(hash_name, base_key, "finished", b"", _hash_len(hash_name))
    return hmac_digest(hash_name, key, digest(hash_name, data_))


def _with_psks(client_hello: bytes, rng: random.Random, hash_name: str) -> bytes:
    """The same ClientHello offering 1 to 3 made-up tickets, with random binders."""
    import dataclasses
    hello = decode_handshake(client_hello, Context("1.2"))
    count = rng.choice([1, 1, 2, 3])
    offered = ext_module.OfferedPsks(
        tuple(ext_module.PskIdentity(rbytes(rng, rng.randint(32, 200)), rng.getrandbits(32))
              for _ in range(count)),
        tuple(rbytes(rng, _hash_len(hash_name)) for _ in range(count)))
    psk_ext = ext_module.Extension(hello.extensions[-1].type, offered.encode())
    return encode_handshake(dataclasses.replace(hello, extensions=(*hello.extensions[:-1],
                                                                   psk_ext)))


# -- resumption_psk -----------------------------------------------------------------------------

def _psk_cases(rng):
    cases = [Case("RFC 8448 section 3 (its ticket, nonce 00 00)",
                  (RR("resumption_master_secret"), RR("ticket_nonce"), "SHA256"),
                  RR("resumption_psk"), "fixed")]
    own = data.resumption()
    for i, wire in enumerate(own.new_session_tickets):
        nonce = _nst(wire).ticket_nonce
        cases.append(Case(f"your first connection's ticket #{i + 1}",
                          (own.resumption_master_secret, nonce, own.hash_name),
                          tls13.resumption_psk(own.hash_name, own.resumption_master_secret,
                                               nonce), "fixed"))
    for i in range(5):
        h = rng.choice(["SHA256", "SHA384"])
        args = (rbytes(rng, _hash_len(h)), rbytes(rng, rng.choice([1, 2, 8, 32])), h)
        cases.append(Case(f"random #{i + 1} ({h})", args,
                          tls13.resumption_psk(h, args[0], args[1])))
    return cases


def _psk_diagnose(case, got):
    rms, nonce, h = case.args
    size = _hash_len(h)
    for label in ("res master", "resumption master", "res binder", "tls13 resumption"):
        if got == tls13.hkdf_expand_label(h, rms, label, nonce, size):
            return f'the label is "resumption" (HKDF-Expand-Label adds "tls13 " itself), not {label!r}.'
    if got == tls13.hkdf_expand_label(h, rms, "resumption", b"", size):
        return "the ticket_nonce is the context: each ticket gets its own PSK from its own nonce."
    if got == tls13.hkdf_expand_label(h, rms, "resumption", digest(h, nonce), size):
        return "the nonce goes in as it is, not hashed."
    if len(got) != size:
        return f"the PSK is Hash.length bytes ({size} with {h})."
    return None


_bytes_exercise(
    name="resumption_psk",
    signature="resumption_psk(resumption_master_secret: bytes, ticket_nonce: bytes, "
              "hash_name: str = 'SHA256') -> bytes",
    params=("resumption_master_secret", "ticket_nonce", "hash_name"),
    make_cases=_psk_cases,
    hint='PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, '
         "Hash.length) (RFC 8446 §4.6.1); tls13.hkdf_expand_label(hash_name, secret, label, "
         "context, length) is allowed.",
    diagnose=_psk_diagnose,
)


# -- binder_key ---------------------------------------------------------------------------------

def _binder_key_cases(rng):
    cases = [Case("RFC 8448 section 4 (the resumed handshake's PSK)", (RR("psk"), "SHA256"),
                  RR("binder_key"), "fixed")]
    own = data.resumption()
    nonces = [_nst(w).ticket_nonce for w in own.new_session_tickets]
    for i, nonce in enumerate(nonces):
        psk = tls13.resumption_psk(own.hash_name, own.resumption_master_secret, nonce)
        cases.append(Case(f"the PSK of your ticket #{i + 1}", (psk, own.hash_name),
                          _binder_key_of(psk, own.hash_name), "fixed"))
    for i in range(5):
        h = rng.choice(["SHA256", "SHA384"])
        psk = rbytes(rng, _hash_len(h))
        cases.append(Case(f"random #{i + 1} ({h})", (psk, h), _binder_key_of(psk, h)))
    return cases


def _binder_key_diagnose(case, got):
    psk, h = case.args
    size, empty = _hash_len(h), digest(h, b"")
    early = tls13.hkdf_extract(h, b"", psk)
    if got == _binder_key_of(psk, h, "ext binder"):
        return ('"ext binder" is for a PSK agreed outside TLS; a ticket\'s binder key is '
                '"res binder" (RFC 8446 §7.1), so one kind can never pass for the other.')
    if got == tls13.hkdf_expand_label(h, early, "res binder", b"", size):
        return 'Derive-Secret\'s context is Hash("") — digest(hash_name, b"") — not b"".'
    if got == tls13.derive_secret(h, psk, "res binder", empty):
        return "first the Early Secret = HKDF-Extract(salt = 0, IKM = PSK); the binder key is "\
               "derived from it, not from the PSK."
    if got == tls13.derive_secret(h, tls13.hkdf_extract(h, psk, bytes(size)), "res binder",
                                  empty):
        return "HKDF-Extract(salt, IKM): the salt is HashLen zeros, the PSK is the IKM."
    if got == early:
        return "that is the Early Secret: one more step, Derive-Secret(., \"res binder\", \"\")."
    return None


_bytes_exercise(
    name="binder_key",
    signature="binder_key(psk: bytes, hash_name: str = 'SHA256') -> bytes",
    params=("psk", "hash_name"),
    make_cases=_binder_key_cases,
    hint='Early Secret = HKDF-Extract(0, PSK); binder_key = Derive-Secret(Early Secret, '
         '"res binder", "") (RFC 8446 §7.1); "" means Hash of no messages. '
         "tls13.hkdf_extract and tls13.derive_secret are allowed.",
    diagnose=_binder_key_diagnose,
)


# -- truncated_client_hello ---------------------------------------------------------------------

def _truncated(client_hello: bytes) -> bytes:
    return client_hello[:-_binders_length(client_hello)]


def _truncated_cases(rng):
    own = data.resumption()
    cases = [Case("RFC 8448 section 4's ClientHello", (RR("client_hello"),),
                  RR("truncated_client_hello"), "fixed"),
             Case("your resumed ClientHello", (own.client_hello,), _truncated(own.client_hello),
                  "fixed")]
    for i in range(5):
        h = rng.choice(["SHA256", "SHA384"])
        hello = _with_psks(own.client_hello, rng, h)
        cases.append(Case(f"random #{i + 1} ({_count_psks(hello)} PSK(s), {h} binders)",
                          (hello,), _truncated(hello)))
    return cases


def _count_psks(client_hello: bytes) -> int:
    hello = decode_handshake(client_hello, Context("1.2"))
    return len(ext_module.value(hello.extensions[-1], "client_hello").identities)


def _truncated_diagnose(case, got):
    hello = case.args[0]
    n = _binders_length(hello)
    expected = hello[:-n]
    if got == hello[:-n + 2]:
        return ("the binders list's own 2-byte length is part of the binders: strip it too "
                "(RFC 8446 §4.2.11.2: up to, not including, PreSharedKeyExtension.binders — "
                "the whole list, length and all).")
    if got == hello:
        return "leave the binders list out: the binders can't be computed over themselves."
    if got == expected[4:]:
        return "keep the 4-byte handshake header: the binder covers it, as any transcript does."
    psk_ext = decode_handshake(hello, Context("1.2")).extensions[-1]
    if got == hello[:-(4 + len(psk_ext.data))]:
        return ("only the binders go: the pre_shared_key extension's header and identities "
                "stay (the lengths in front still count the binders).")
    if len(got) < len(expected) and expected.startswith(got):
        return ("you cut too much: the binders list is the last field of the last extension "
                "(pre_shared_key) — skip the identities with their 2-byte length, and what is "
                "left is the binders list.")
    return None


_bytes_exercise(
    name="truncated_client_hello",
    signature="truncated_client_hello(client_hello: bytes) -> bytes",
    params=("client_hello",),
    make_cases=_truncated_cases,
    hint="pre_shared_key is the last extension; its data is identities<7..2^16-1> (2-byte "
         "length), then binders<33..2^16-1> (2-byte length, then 1-byte length + binder each): "
         "the truncated hello is everything before the binders list.",
    diagnose=_truncated_diagnose,
)


# -- psk_binder ---------------------------------------------------------------------------------

def _binder_cases(rng):
    own = data.resumption()
    nonce = _offered_nonce(own)
    psk = tls13.resumption_psk(own.hash_name, own.resumption_master_secret, nonce)
    key = _binder_key_of(psk, own.hash_name)
    cases = [Case("RFC 8448 section 4 (its binder key and ClientHello)",
                  (RR("binder_key"), RR("client_hello"), "SHA256"), RR("binder"), "fixed"),
             Case("your resumed ClientHello", (key, own.client_hello, own.hash_name),
                  _finished_over(own.hash_name, key, _truncated(own.client_hello)), "fixed")]
    for i in range(5):
        h = rng.choice(["SHA256", "SHA384"])
        hello = _with_psks(own.client_hello, rng, h)
        key = rbytes(rng, _hash_len(h))
        cases.append(Case(f"random #{i + 1} ({h})", (key, hello, h),
                          _finished_over(h, key, _truncated(hello))))
    return cases


def _offered_nonce(resumption) -> bytes:
    """The nonce of the ticket the resumed ClientHello offers."""
    for wire in resumption.new_session_tickets:
        ticket = _nst(wire)
        if ticket.ticket in resumption.client_hello:
            return ticket.ticket_nonce
    raise RuntimeError("the ClientHello offers none of the tickets")


def _binder_diagnose(case, got):
    key, hello, h = case.args
    n = _binders_length(hello)
    truncated = hello[:-n]
    size = _hash_len(h)
    finished_key = tls13.hkdf_expand_label(h, key, "finished", b"", size)
    if got == _finished_over(h, key, hello):
        return "the transcript hash covers the TRUNCATED ClientHello (without the binders list), "\
               "not the whole one."
    if got == _finished_over(h, key, hello[:-n + 2]):
        return "the binders list's 2-byte length is left out of the truncated hello too."
    if got == _finished_over(h, key, truncated[4:]):
        return "hash the truncated hello with its 4-byte handshake header."
    if got == hmac_digest(h, key, digest(h, truncated)):
        return ('a binder is a Finished: the HMAC key is finished_key = HKDF-Expand-Label('
                'binder_key, "finished", "", Hash.length), not the binder key itself.')
    if got == hmac_digest(h, finished_key, truncated):
        return "HMAC over the transcript HASH of the truncated hello, not over its bytes."
    return None


_bytes_exercise(
    name="psk_binder",
    signature="psk_binder(binder_key: bytes, client_hello: bytes, hash_name: str = 'SHA256') "
              "-> bytes",
    params=("binder_key", "client_hello", "hash_name"),
    make_cases=_binder_cases,
    hint='binder = HMAC(finished_key, Hash(truncated ClientHello)), finished_key = '
         'HKDF-Expand-Label(binder_key, "finished", "", Hash.length) (RFC 8446 §4.2.11.2, '
         "§4.4.4); use your truncated_client_hello.",
    diagnose=_binder_diagnose,
)


# -- resumption_binder: the student's own resumed connection -------------------------------------

def _resumption_expected(r) -> bytes:
    psk = tls13.resumption_psk(r.hash_name, r.resumption_master_secret, _offered_nonce(r))
    return _finished_over(r.hash_name, _binder_key_of(psk, r.hash_name), _truncated(r.client_hello))


def _resumption_cases(rng):
    own = data.resumption()
    cases = [Case("your own resumed connection", (own,), _resumption_expected(own), "fixed")]
    for i in range(3):
        h = "SHA384" if i == 2 else "SHA256"
        r = data._resumption(f"tlslesson-check/resumption/{rng.getrandbits(32)}", h)
        cases.append(Case(f"another student's connection #{i + 1} ({h})", (r,),
                          _resumption_expected(r)))
    return cases


def _resumption_diagnose(case, got):
    r = case.args[0]
    h = r.hash_name
    verdict = ""
    if is_bytes(got) and len(got) == _hash_len(h):
        verdict = f"the lesson server {r.server_accepts(got)[1]}. "
    hello, n = r.client_hello, _binders_length(r.client_hello)
    nonces = [_nst(w).ticket_nonce for w in r.new_session_tickets]
    right = _offered_nonce(r)
    for nonce in nonces:
        psk = tls13.resumption_psk(h, r.resumption_master_secret, nonce)
        key = _binder_key_of(psk, h)
        if nonce != right and got == _finished_over(h, key, hello[:-n]):
            return verdict + ("that is the binder of the OTHER ticket: the ClientHello offers "
                              "one ticket — the one whose ticket bytes are in it — and its "
                              "nonce makes the PSK.")
        if nonce != right:
            continue
        if got == _finished_over(h, _binder_key_of(psk, h, "ext binder"), hello[:-n]):
            return verdict + 'a ticket\'s binder key is "res binder", not "ext binder".'
        if got == _finished_over(h, key, hello[:-n + 2]):
            return verdict + "the binders list's 2-byte length must go with the binders."
        if got == _finished_over(h, key, hello):
            return verdict + "hash the truncated ClientHello, not the whole one."
    if h != "SHA256":
        return verdict + f"this connection used {h}: use resumption.hash_name everywhere."
    return verdict + ("check each step on its own with check(): resumption_psk, binder_key, "
                      "truncated_client_hello, psk_binder.") if verdict else None


_bytes_exercise(
    name="resumption_binder",
    signature="resumption_binder(resumption: data.Resumption) -> bytes",
    params=("resumption",),
    make_cases=_resumption_cases,
    hint="find the ticket the ClientHello offers (its ticket bytes are in the hello), read its "
         "ticket_nonce from its NewSessionTicket, then your resumption_psk, binder_key and "
         "psk_binder with resumption.hash_name.",
    diagnose=_resumption_diagnose,
)


# ================================================================================================
# 08 — an X25519MLKEM768 key share (draft-ietf-tls-ecdhe-mlkem)
# ================================================================================================

MLKEM_EK, MLKEM_CT, X25519_SIZE = 1184, 1088, 32


def _mlkem_pair(rng):
    from cryptography.hazmat.primitives.asymmetric import mlkem
    seed = rbytes(rng, 64)
    return seed, mlkem.MLKEM768PrivateKey.from_seed_bytes(seed)


def _x25519_pair(rng):
    private = rbytes(rng, 32)
    return private, x25519.X25519PrivateKey.from_private_bytes(private)


def _x25519_public(key) -> bytes:
    return key.public_key().public_bytes_raw()


def _random_client_share(rng):
    seed, kem = _mlkem_pair(rng)
    xpriv, xkey = _x25519_pair(rng)
    return seed, xpriv, kem.public_key().public_bytes_raw() + _x25519_public(xkey)


def _encapsulate(client_share: bytes, rng):
    """What a server answers (ciphertext ‖ X25519 public) and the secret (ML-KEM ‖ X25519)."""
    from cryptography.hazmat.primitives.asymmetric import mlkem
    public = mlkem.MLKEM768PublicKey.from_public_bytes(client_share[:MLKEM_EK])
    kem_secret, ciphertext = public.encapsulate()
    _, server_key = _x25519_pair(rng)
    x_secret = server_key.exchange(x25519.X25519PublicKey.from_public_bytes(
        client_share[MLKEM_EK:]))
    return ciphertext + _x25519_public(server_key), kem_secret + x_secret


def _split_share_diagnose(first_size, classical_first_hint):
    def diagnose(case, got):
        share = case.args[0]
        a, b = got
        if (a, b) == (share[:X25519_SIZE], share[X25519_SIZE:]):
            return classical_first_hint
        if (a, b) == (share[-first_size:], share[:-first_size]) or (b, a) == case.expected:
            return "return (ML-KEM part, X25519 part) in that order."
        if len(a) == 65 or len(b) == 65:
            return "65 bytes is a P-256 point: this group's classical half is X25519, 32 bytes."
        return None
    return diagnose


CLASSICAL_FIRST = ("the classical part first is SecP256r1MLKEM768's layout (P-256 point, then "
                   "ML-KEM); X25519MLKEM768 puts the ML-KEM part FIRST, then the 32 X25519 "
                   "bytes (draft-ietf-tls-ecdhe-mlkem §3).")


def _client_split_cases(rng):
    own = data.hybrid_hellos()
    share = _hybrid_client_share(own)
    cases = [Case("your ClientHello's X25519MLKEM768 key share", (share,),
                  (share[:MLKEM_EK], share[MLKEM_EK:]), "fixed")]
    for i in range(4):
        _, _, share = _random_client_share(rng)
        cases.append(Case(f"random #{i + 1}", (share,), (share[:MLKEM_EK], share[MLKEM_EK:])))
    return cases


def _hybrid_shares(hello: bytes) -> dict:
    """group -> key_exchange of a ClientHello's or ServerHello's key_share extension."""
    message = decode_handshake(hello, Context("1.3"))
    from ..constants import ExtensionType
    found = ext_module.value(message.extension(ExtensionType.key_share),
                             "client_hello" if hello[0] == 1 else "server_hello")
    entries = found if isinstance(found, (list, tuple)) else [found]
    return {e.group: e.key_exchange for e in entries}


def _hybrid_client_share(hellos) -> bytes:
    return _hybrid_shares(hellos.client_hello)[NamedGroup.X25519MLKEM768]


def _hybrid_server_share(hellos) -> bytes:
    return _hybrid_shares(hellos.server_hello)[NamedGroup.X25519MLKEM768]


register(Exercise(
    name="split_client_share",
    signature="split_client_share(key_exchange: bytes) -> tuple[bytes, bytes]",
    params=("key_exchange",),
    returns="a tuple (encapsulation_key: bytes, x25519_public: bytes)",
    make_cases=_client_split_cases,
    hint="the client's X25519MLKEM768 share is the 1184-byte ML-KEM-768 encapsulation key, then "
         "the 32-byte X25519 public key: 1216 bytes.",
    type_ok=tuple_of(2, is_bytes),
    normalize=normalize_seq,
    diagnose=_split_share_diagnose(MLKEM_EK, CLASSICAL_FIRST),
))


def _server_split_cases(rng):
    own = data.hybrid_hellos()
    share = _hybrid_server_share(own)
    cases = [Case("your ServerHello's X25519MLKEM768 key share", (share,),
                  (share[:MLKEM_CT], share[MLKEM_CT:]), "fixed")]
    for i in range(4):
        _, _, client_share = _random_client_share(rng)
        share, _ = _encapsulate(client_share, rng)
        cases.append(Case(f"random #{i + 1}", (share,), (share[:MLKEM_CT], share[MLKEM_CT:])))
    return cases


def _server_split_diagnose(case, got):
    share = case.args[0]
    a, b = got
    if len(a) == MLKEM_EK or len(b) == len(share) - MLKEM_EK:
        return ("the server sends an ML-KEM CIPHERTEXT, 1088 bytes (the client sent the "
                "1184-byte encapsulation key): 1088 + 32 = 1120.")
    return _split_share_diagnose(MLKEM_CT, CLASSICAL_FIRST)(case, got)


register(Exercise(
    name="split_server_share",
    signature="split_server_share(key_exchange: bytes) -> tuple[bytes, bytes]",
    params=("key_exchange",),
    returns="a tuple (ciphertext: bytes, x25519_public: bytes)",
    make_cases=_server_split_cases,
    hint="the server's X25519MLKEM768 share is the 1088-byte ML-KEM-768 ciphertext, then the "
         "32-byte X25519 public key: 1120 bytes.",
    type_ok=tuple_of(2, is_bytes),
    normalize=normalize_seq,
    diagnose=_server_split_diagnose,
))


# -- client_shared_secret -----------------------------------------------------------------------

def _hybrid_secret(mlkem_seed: bytes, x25519_private: bytes, server_share: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import mlkem
    from .. import groups
    private = (mlkem.MLKEM768PrivateKey.from_seed_bytes(mlkem_seed),
               x25519.X25519PrivateKey.from_private_bytes(x25519_private))
    return groups.X25519MLKEM768.client_finish(private, server_share)


def _client_secret_cases(rng):
    own = data.hybrid_hellos()
    share = _hybrid_server_share(own)
    cases = [Case("your handshake: your keys, the server's share",
                  (own.mlkem_seed, own.x25519_private, share),
                  _hybrid_secret(own.mlkem_seed, own.x25519_private, share), "fixed")]
    for i in range(4):
        seed, xpriv, client_share = _random_client_share(rng)
        server_share, secret = _encapsulate(client_share, rng)
        cases.append(Case(f"random #{i + 1}", (seed, xpriv, server_share), secret))
    return cases


def _secret_order_hint(got, expected):
    kem, x = expected[:32], expected[32:]
    if got == x + kem:
        return ("concatenate ML-KEM's secret FIRST, then X25519's (the same order as the "
                "shares; SecP256r1MLKEM768 has the curve first).")
    if got in (kem, x):
        return "the hybrid secret is both: ML-KEM's 32 bytes ‖ X25519's 32 bytes, 64 in all."
    if got in (digest("SHA256", kem + x), digest("SHA256", x + kem),
               bytes(a ^ b for a, b in zip(kem, x))):
        return ("just concatenate (no hash, no XOR): the key schedule's HKDF-Extract mixes the "
                "64 bytes in.")
    return None


def _client_secret_diagnose(case, got):
    seed, xpriv, share = case.args
    hint = _secret_order_hint(got, case.expected)
    if hint:
        return hint
    if len(got) == 64 and got[32:] == case.expected[32:] and got[:32] != case.expected[:32]:
        return ("the X25519 part is right; ML-KEM's is not: decapsulate the ciphertext (the "
                "share's first 1088 bytes) with MLKEM768PrivateKey.from_seed_bytes(seed).")
    return None


_bytes_exercise(
    name="client_shared_secret",
    signature="client_shared_secret(mlkem_seed: bytes, x25519_private: bytes, server_share: "
              "bytes) -> bytes",
    params=("mlkem_seed", "x25519_private", "server_share"),
    make_cases=_client_secret_cases,
    hint="split the server's share (your split_server_share); ML-KEM: MLKEM768PrivateKey."
         "from_seed_bytes(seed).decapsulate(ciphertext); X25519: X25519PrivateKey."
         "from_private_bytes(private).exchange(X25519PublicKey.from_public_bytes(public)); the "
         "secret is the ML-KEM secret ‖ the X25519 secret.",
    diagnose=_client_secret_diagnose,
)


# -- server_key_share ---------------------------------------------------------------------------

class _OpensWithClientKeys:
    """What server_key_share must give: a share the client's keys open, to the same secret the
    server returns. (Encapsulation is randomised: there is no single expected share.)"""

    def __init__(self, mlkem_seed: bytes, client_x25519: bytes, server_x25519: bytes):
        self.mlkem_seed, self.client_x25519, self.server_x25519 = (mlkem_seed, client_x25519,
                                                                   server_x25519)

    def __repr__(self):
        return "(a share the client's keys open, the secret they open it to)"

    def difference(self, got) -> str | None:
        share, secret = got
        if len(share) != MLKEM_CT + X25519_SIZE:
            return f"(the share is {len(share)} bytes, not 1088 + 32 = 1120)"
        server_public = _x25519_public(x25519.X25519PrivateKey.from_private_bytes(
            self.server_x25519))
        if share[MLKEM_CT:] != server_public:
            if share[:X25519_SIZE] == server_public:
                return "(the X25519 public key is at the start of the share: it goes last)"
            return "(the share's last 32 bytes are not the X25519 public key of x25519_private)"
        opened = _hybrid_secret(self.mlkem_seed, self.client_x25519, share)
        if secret != opened:
            return "(the client's keys open your share to another secret than the one you return)"
        return None


def _server_share_cases(rng):
    own = data.hybrid_hellos()
    client_share = _hybrid_client_share(own)
    server_private = rbytes(rng, 32)
    cases = [Case("your ClientHello's share (and a fresh X25519 key of the server's)",
                  (client_share, server_private),
                  _OpensWithClientKeys(own.mlkem_seed, own.x25519_private, server_private),
                  "fixed")]
    for i in range(4):
        seed, xpriv, share = _random_client_share(rng)
        server_private = rbytes(rng, 32)
        cases.append(Case(f"random #{i + 1}", (share, server_private),
                          _OpensWithClientKeys(seed, xpriv, server_private)))
    return cases


def _server_share_diagnose(case, got):
    share, secret = got
    check_ = case.expected
    if len(share) == MLKEM_CT + X25519_SIZE:
        opened = _hybrid_secret(check_.mlkem_seed, check_.client_x25519, share)
        hint = _secret_order_hint(secret, opened)
        if hint:
            return hint
    if len(share) == MLKEM_EK + X25519_SIZE:
        return ("that is as long as the client's share: the server answers with the ML-KEM "
                "ciphertext from encapsulate(), not a key of its own.")
    return None


register(Exercise(
    name="server_key_share",
    signature="server_key_share(client_share: bytes, x25519_private: bytes) -> "
              "tuple[bytes, bytes]",
    params=("client_share", "x25519_private"),
    returns="a tuple (server_share: bytes, shared_secret: bytes)",
    make_cases=_server_share_cases,
    hint="split the client's share (your split_client_share); MLKEM768PublicKey."
         "from_public_bytes(key).encapsulate() gives (secret, ciphertext); X25519 with "
         "x25519_private; share = ciphertext ‖ X25519 public key, secret = ML-KEM ‖ X25519.",
    type_ok=tuple_of(2, is_bytes),
    normalize=normalize_seq,
    compare=lambda expected, got: expected.difference(got),
    diagnose=_server_share_diagnose,
))


# -- hybrid_shared_secret: the student's own handshake -------------------------------------------

def _hybrid_own_cases(rng):
    own = data.hybrid_hellos()
    cases = [Case("your own handshake", (own,),
                  _hybrid_secret(own.mlkem_seed, own.x25519_private, _hybrid_server_share(own)),
                  "fixed")]
    for i in range(3):
        h = data._hybrid_hellos(f"tlslesson-check/hybrid/{rng.getrandbits(32)}")
        cases.append(Case(f"another student's handshake #{i + 1}", (h,),
                          _hybrid_secret(h.mlkem_seed, h.x25519_private,
                                         _hybrid_server_share(h))))
    return cases


def _hybrid_own_diagnose(case, got):
    hint = _secret_order_hint(got, case.expected)
    if hint:
        return hint
    return ("find the key_share extension (type 51) in the ServerHello: group (2 bytes, "
            "0x11EC = X25519MLKEM768), key_exchange (2-byte length); then your "
            "client_shared_secret with hellos.mlkem_seed and hellos.x25519_private.")


_bytes_exercise(
    name="hybrid_shared_secret",
    signature="hybrid_shared_secret(hellos: data.HybridHellos) -> bytes",
    params=("hellos",),
    make_cases=_hybrid_own_cases,
    hint="walk the ServerHello to its extensions; key_share = group (2) + key_exchange (2-byte "
         "length + bytes); check the group is 0x11EC, then your client_shared_secret.",
    diagnose=_hybrid_own_diagnose,
)


# ================================================================================================
# 09 — lab 3's CBC padding oracle: the student's own attack loop
# ================================================================================================

def _blocks_of(fragment: bytes) -> list[bytes]:
    return [fragment[i:i + 16] for i in range(0, len(fragment), 16)]


def _query_reference(blocks, j, position, guess, known) -> bytes:
    from ..attacks.cbc_padding_oracle import query_block
    return query_block(list(blocks), j, position, guess, bytes(known))


def _query_variant(blocks, j, position, guess, known, pad=None, block=None, keep_after=False):
    """A query made the wrong way (for the hints): another padding value, another block."""
    L = 15 - position if pad is None else pad
    target = j - 1 if block is None else block
    out = [bytearray(b) for b in blocks]
    out[target][position] ^= guess ^ L
    for offset, value in enumerate(known, start=position + 1):
        out[target][offset] ^= value ^ L
    return b"".join(bytes(b) for b in out[:len(blocks) if keep_after else j + 1])


def _padding_query_cases(rng):
    oracle = data.padding_oracle()
    oracle.ask(lambda f: f)                          # one real record of your victim's
    fragment = oracle.log[0][0]
    blocks = _blocks_of(fragment)
    j = (len(oracle.prefix) + oracle.cookie_length + len(oracle.suffix)) // 16
    cases = []
    for position, guess, known in ((15, 0x66, b""), (11, 0x30, oracle.suffix)):
        args = (blocks, j, position, guess, known)
        cases.append(Case(f"your victim's request record, block {j}, position {position}", args,
                          _query_reference(*args), "fixed"))
    for i in range(6):
        n = rng.randint(3, 7)
        blocks = [rbytes(rng, 16) for _ in range(n)]
        j = rng.randint(1, n - 1)
        position = rng.randint(0, 15)
        args = (blocks, j, position, rng.getrandbits(8), rbytes(rng, 15 - position))
        cases.append(Case(f"random #{i + 1}", args, _query_reference(*args)))
    return cases


def _padding_query_diagnose(case, got):
    blocks, j, position, guess, known = case.args
    if got == _query_variant(*case.args, pad=16 - position):
        return (f"the padding value: TLS padding is L+1 bytes, each of value L (RFC 5246 "
                f"§6.2.3.2) — for position {position}, L = 15 − {position} = {15 - position}; "
                f"16 − position is PKCS#7's count, off by one (the last byte alone is valid as "
                "00, not 01).")
    if j + 1 <= len(blocks) and got == _query_variant(*case.args, block=j):
        return ("you changed C_j itself: change the block BEFORE it (blocks[j - 1], the IV when "
                "j = 1) — CBC XORs it into P_j, so a change of Δ there changes P_j by Δ.")
    if got == _query_variant(*case.args, keep_after=True):
        return ("end the record with C_j (blocks[:j + 1]): the server checks the padding at the "
                "end of the record, so the block you ask about must be last.")
    if got == _query_variant(blocks, j, position, guess, b""):
        return ("the bytes after the position (known) must be set to L too: XOR each with "
                "(its known value ^ L).")
    return None


_bytes_exercise(
    name="padding_query",
    signature="padding_query(blocks: list[bytes], j: int, position: int, guess: int, "
              "known: bytes) -> bytes",
    params=("blocks", "j", "position", "guess", "known"),
    make_cases=_padding_query_cases,
    hint="L = 15 − position; copy blocks[:j + 1]; in blocks[j - 1] XOR byte `position` with "
         "guess ^ L and each later byte position+1+i with known[i] ^ L.",
    diagnose=_padding_query_diagnose,
)


# -- a fast oracle for the random cases: the same arithmetic, no handshakes --------------------

class _LocalOracle:
    """A padding oracle like lab 3's, without the handshakes: a new AES key and IV for every
    question (like a new connection), MAC-then-encrypt with a 20-byte MAC and TLS padding."""

    def __init__(self, plaintext: bytes, rng: random.Random, max_queries: int = 20_000):
        self.plaintext, self.rng, self.max_queries = plaintext, rng, max_queries
        self.queries, self.log = 0, []

    @allowed
    def ask(self, change) -> bool:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        if self.queries >= self.max_queries:
            raise data.OracleExhausted(f"{self.queries} questions already")
        self.queries += 1
        key, iv = rbytes(self.rng, 16), rbytes(self.rng, 16)
        body = self.plaintext + rbytes(self.rng, 20)
        pad = 15 - len(body) % 16
        body += bytes([pad]) * (pad + 1)
        enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        fragment = iv + enc.update(body) + enc.finalize()
        changed = bytes(change(fragment))
        valid = False
        if len(changed) >= 32 and len(changed) % 16 == 0:
            dec = Cipher(algorithms.AES(key), modes.CBC(changed[:16])).decryptor()
            plain = dec.update(changed[16:]) + dec.finalize()
            p = plain[-1]
            valid = p + 1 + 20 <= len(plain) and plain[-p - 1:] == bytes([p]) * (p + 1)
        self.log.append((fragment, changed, valid))
        return valid

    def __repr__(self):
        return f"<padding oracle: {self.queries} questions asked>"


def _cookie_layout(oracle):
    """(block, count, known) for the two pieces of the cookie: the end of one block, the start
    of the next (cookie + suffix end a block)."""
    first = len(oracle.prefix)
    j = first // 16 + 1
    head = 16 - first % 16
    return [(j, head, b""), (j + 1, oracle.cookie_length - head, oracle.suffix)]


def _bytes_right(expected: bytes, got: bytes) -> str | None:
    if got == expected:
        return None
    right = sum(a == b for a, b in zip(expected, got))
    extra = "" if len(got) == len(expected) else f"; you returned {len(got)} bytes"
    return f"({right} of {len(expected)} bytes right{extra})"


def _recover_cases(rng):
    cases = []
    for piece in range(2):
        oracle = data.padding_oracle()               # one each: the hints read its questions
        plain = oracle._PaddingOracle__victim.request      # the checker's own knowledge
        j, count, known = _cookie_layout(oracle)[piece]
        end = 16 * j - len(known)                    # plaintext block j: bytes 16(j-1)..16j-1
        cases.append(Case(f"your victim (lab 3's server), block {j}: {count} bytes",
                          (oracle.ask, j, count, known), plain[end - count:end], "fixed"))
    for i in range(4):
        # blocks 3 and later: with the 20-byte MAC, padding of up to 16 bytes needs 48 in all
        n = rng.randint(3, 5)
        text = rbytes(rng, 16 * n)
        if i == 0:                     # "... 01 33": a guess of 32 for byte 15 passes as 01 01
            j = rng.randint(3, n)
            block = bytearray(text[16 * (j - 1):16 * j])
            block[14], block[15] = 0x01, 0x33
            text = text[:16 * (j - 1)] + bytes(block) + text[16 * j:]
            count, known = 16, b""
        else:
            j = rng.randint(3, n)
            count = rng.randint(1, 16)
            known = text[16 * j - (16 - count) + rng.randint(0, 16 - count):16 * j] \
                if count < 16 else b""
            count = min(count, 16 - len(known))
        end = 16 * j - len(known)
        local = _LocalOracle(text, random.Random(rng.getrandbits(64)))
        label = "random #1 (byte 14 of the block is 01)" if i == 0 else f"random #{i + 1}"
        cases.append(Case(label, (local.ask, j, count, known), text[end - count:end]))
    return cases


def _oracle_of(case):
    return getattr(case.args[0], "__self__", None)


def _plain_block(case, j):
    oracle = _oracle_of(case)
    if isinstance(oracle, _LocalOracle):
        text = oracle.plaintext
    else:
        text = oracle._PaddingOracle__victim.request
    return text[16 * (j - 1):16 * j]


def _oracle_hint(case) -> str | None:
    """A hint from the questions the answer asked (the oracle logs them), never the answer."""
    oracle = _oracle_of(case)
    if oracle is None or not oracle.log:
        return None
    j = case.args[1]
    p_j = _plain_block(case, j)
    for fragment, changed, _ in oracle.log:
        blocks = _blocks_of(fragment)
        if len(changed) % 16 or len(changed) < 32:
            return "a question must be whole 16-byte blocks, the IV first, C_j last."
        if len(changed) > 16 * (j + 1):
            return ("end the record with C_j (blocks[:j + 1]): the server checks the padding at "
                    "the end, so the block you ask about must be last.")
        if len(changed) < 16 * (j + 1):
            return f"keep the blocks up to C_j: blocks[:j + 1] ({16 * (j + 1)} bytes)."
        if changed[-16:] != blocks[j]:
            return ("you changed C_j itself: change the block BEFORE it (blocks[j - 1], the IV "
                    "when j = 1); C_j stays as it is, last.")
        if changed[:-32] != b"".join(blocks[:j - 1]):
            return "change only blocks[j - 1]: the blocks before it stay as they are."
    # the padding value the answer aimed at, from the bytes after the guessed one
    fp = _false_positive(case, oracle, p_j)
    if fp:
        return fp
    previous = None
    for fragment, changed, valid in oracle.log:
        delta = bytes(a ^ b for a, b in zip(changed[-32:-16], _blocks_of(fragment)[j - 1]))
        made = bytes(a ^ b for a, b in zip(p_j, delta))
        moved = [k for k in range(16) if delta[k]]
        asked_again = (previous is not None and previous[0] and not any(previous[1][:15])
                       and previous[1][15] == delta[15])     # position 15's second question
        previous = (valid, delta)
        if not moved or asked_again:
            continue
        position = moved[0]
        tail = made[position + 1:]
        if tail and len(set(tail)) == 1 and tail[0] != 15 - position:
            return (f"in a question about position {position} the bytes after it are made "
                    f"{tail[0]:02x}; TLS padding for L = 15 − {position} = {15 - position} is "
                    f"L+1 bytes all of value L (RFC 5246 §6.2.3.2) — the last byte alone is "
                    "valid as 00 (PKCS#7's 01 is off by one).")
    return None


def _false_positive(case, oracle, p_j) -> str | None:
    """Did the answer take "01 01" for "00" at position 15 without asking again?"""
    j = case.args[1]
    for index, (fragment, changed, valid) in enumerate(oracle.log):
        delta = bytes(a ^ b for a, b in zip(changed[-32:-16], _blocks_of(fragment)[j - 1]))
        if not valid or any(delta[:15]) or delta[15] == p_j[15]:
            continue
        later = oracle.log[index + 1:index + 2]
        again = None
        if later and len(later[0][1]) >= 32:
            again = bytes(a ^ b for a, b in zip(later[0][1][-32:-16],
                                                _blocks_of(later[0][0])[j - 1]))
        if again is None or again[15] != delta[15] or not again[14]:
            return ("position 15: a guess can also pass when the block ends in 01 01 (or "
                    "02 02 02 …), not 00. When a guess passes there, change byte 14 of "
                    "blocks[j - 1] too and ask again: only the real 00 passes both.")
    return None


def _recover_diagnose(case, got):
    specific = _oracle_hint(case)
    if specific:
        return specific
    return None


def _recover_explain(case, exc, seen):
    if isinstance(exc, data.OracleExhausted):
        return (f"{exc}. For each position try each byte value once (the alphabet first), stop "
                "at the first that passes; a whole block needs at most 16 × 256 questions, the "
                "hex cookie about 16 × 9.")
    return _oracle_hint(case)


_bytes_exercise(
    name="recover_bytes",
    signature="recover_bytes(ask, j: int, count: int, known: bytes = b'') -> bytes",
    params=("ask", "j", "count", "known"),
    make_cases=_recover_cases,
    hint="from position 15 − len(known) down, count positions: for each guess (the hex digits "
         "first, then every other byte value) ask(lambda f: padding_query(blocks of f, j, "
         "position, guess, found so far + known)); the first True is the byte — at position 15 "
         "ask once more with byte 14 of blocks[j - 1] changed.",
    compare=_bytes_right,
    diagnose=_recover_diagnose,
    explain=_recover_explain,
    reveal=False,
)


def _steal_cases(rng):
    own = data.padding_oracle()
    cases = [Case("your victim's cookie", (own,), _cookie_of(own), "fixed")]
    for i in range(3):
        other = data.PaddingOracle(f"tlslesson-check/cbc/{rng.getrandbits(32)}")
        cases.append(Case(f"another victim #{i + 1} (its path is {len(other.prefix)} bytes "
                          "before the cookie)", (other,), _cookie_of(other)))
    return cases


def _cookie_of(oracle) -> bytes:
    request = oracle._PaddingOracle__victim.request
    return request[len(oracle.prefix):len(oracle.prefix) + oracle.cookie_length]


def _steal_diagnose(case, got):
    oracle = case.args[0]
    expected = case.expected
    pieces = _cookie_layout(oracle)
    head = pieces[0][1]
    if got == expected[head:] + expected[:head]:
        return "the piece of the earlier block comes first."
    if len(got) != len(expected):
        return (f"the cookie is {oracle.cookie_length} bytes: {head} at the end of block "
                f"{pieces[0][0]} and {pieces[1][1]} at the start of block {pieces[1][0]}, before "
                "the suffix.")
    return ("work out the blocks from len(oracle.prefix): the cookie starts at that offset; "
            "plaintext block j holds bytes 16(j − 1) … 16j − 1.")


_bytes_exercise(
    name="steal_cookie",
    signature="steal_cookie(oracle: data.PaddingOracle) -> bytes",
    params=("oracle",),
    make_cases=_steal_cases,
    hint="the cookie follows oracle.prefix and ends a block with oracle.suffix: one or two "
         "calls of your recover_bytes(oracle.ask, j, count, known).",
    compare=_bytes_right,
    diagnose=_steal_diagnose,
    explain=lambda case, exc, seen: _recover_explain(case, exc, seen),
    reveal=False,
)


# ------------------------------------------------------------------------------------------------
# The package functions that solve each exercise: an answer calling one is not the student's own.
# (The assignments package itself, with the checker's reference answers, is always off limits.)
_DECODERS = ("tlslesson.messages", "tlslesson.extensions", "tlslesson.wire", "tlslesson.record",
             "tlslesson.connection")
_TLS12_PRF = ("tlslesson.tls12", "tlslesson.connection")
_TLS13 = ("tlslesson.tls13", "tlslesson.connection",
          "cryptography.hazmat.primitives.kdf.hkdf")
# 07: the HKDF primitives are the building blocks (assignment 05 had the student write them);
# the resumption functions, the binder's Finished and the key schedule object are not
_RESUMPTION = ("tlslesson.tls13:resumption_psk", "tlslesson.tls13:truncated_client_hello",
               "tlslesson.tls13:psk_binder", "tlslesson.tls13:finished_verify_data",
               "tlslesson.tls13:KeySchedule.start", "tlslesson.tls13:KeySchedule.resumption",
               "tlslesson.messages", "tlslesson.extensions", "tlslesson.connection",
               "tlslesson.client", "tlslesson.server", "tlslesson.sessions")
# 08: cryptography's ML-KEM and X25519 are the tools; the package's groups are the solution
_HYBRID = ("tlslesson.groups", "tlslesson.messages", "tlslesson.extensions",
           "tlslesson.connection", "tlslesson.client", "tlslesson.server")
# 09: the lab's own attack (its query_block and its loop) is the solution
_CBC_LAB = ("tlslesson.attacks.cbc_padding_oracle:query_block",
            "tlslesson.attacks.cbc_padding_oracle:attack")
_FINISHED = ("tlslesson.tls12:verify_data", "tlslesson.tls12:finished", "tlslesson.connection")
OWN = {
    "record_header": (_DECODERS, "int.from_bytes and slicing."),
    "clienthello_fields": (_DECODERS, "int.from_bytes, slicing and an offset you move along."),
    "suite_names": (("tlslesson.messages",), "suites.BY_CODE."),
    "extension_types": (_DECODERS, "int.from_bytes, slicing and an offset you move along."),
    "p_hash": (_TLS12_PRF, "hmac_digest."),
    "prf": (_TLS12_PRF, "your p_hash."),
    "master_secret": (_TLS12_PRF, "your prf."),
    "key_block": (_TLS12_PRF, "your prf and the suite's lengths."),
    "transcript_hash": (("tlslesson.tls12", "tlslesson.connection", "tlslesson.prf:Transcript.hash"),
                        "digest."),
    "verify_data": (_FINISHED, "tls12.prf (allowed here) and the Finished label."),
    "expected_verify_data": (_FINISHED, "your transcript_hash and verify_data."),
    "find_tampered": ((), ""),
    "parse_keylog_line": (("tlslesson.keylog",), "str.split and bytes.fromhex."),
    "aead_nonce": (("tlslesson.record", "tlslesson.connection"), "slicing and +."),
    "additional_data": (("tlslesson.record", "tlslesson.connection"), "int.to_bytes."),
    "decrypt_record": (("tlslesson.record", "tlslesson.connection"),
                       "AESGCM with your aead_nonce and additional_data."),
    "hkdf_label": (_TLS13, "int.to_bytes and len."),
    "hkdf_expand_label": (_TLS13, "hmac_digest and your hkdf_label."),
    "derive_secret": (_TLS13, "your hkdf_expand_label."),
    "traffic_keys": (_TLS13, "your hkdf_expand_label."),
    "handshake_traffic_secrets": (_TLS13, "hmac_digest, digest and your derive_secret."),
    "resumption_psk": (_RESUMPTION, "tls13.hkdf_expand_label (allowed here)."),
    "binder_key": (_RESUMPTION, "tls13.hkdf_extract and tls13.derive_secret (allowed here)."),
    "truncated_client_hello": (_RESUMPTION, "int.from_bytes, slicing and an offset you move "
                                            "along."),
    "psk_binder": (_RESUMPTION, "tls13.hkdf_expand_label, hmac_digest, digest and your "
                                "truncated_client_hello."),
    "resumption_binder": (_RESUMPTION, "slicing for the NewSessionTicket, and your four "
                                       "functions."),
    "split_client_share": (_HYBRID, "slicing."),
    "split_server_share": (_HYBRID, "slicing."),
    "client_shared_secret": (_HYBRID, "cryptography's MLKEM768PrivateKey and X25519PrivateKey, "
                                      "and your split_server_share."),
    "server_key_share": (_HYBRID, "cryptography's MLKEM768PublicKey and X25519PrivateKey, and "
                                  "your split_client_share."),
    "hybrid_shared_secret": (_HYBRID, "int.from_bytes, slicing and your client_shared_secret."),
    "padding_query": (_CBC_LAB, "bytearray and ^."),
    "recover_bytes": (_CBC_LAB, "ask and your padding_query."),
    "steal_cookie": (_CBC_LAB, "your recover_bytes."),
}


def _own_code_rules() -> None:
    from .checker import EXERCISES
    for exercise in {id(e): e for e in EXERCISES.values()}.values():
        # the graded exercises; a lesson's practice task (lesson/tasks.py) registers itself too
        if exercise.takes == "function" and exercise.name in OWN:
            exercise.forbidden, exercise.own_tools = OWN[exercise.name]


_own_code_rules()


def names() -> list[str]:
    """Every exercise name ``check`` knows."""
    from .checker import EXERCISES
    return sorted({e.name for e in EXERCISES.values()})
