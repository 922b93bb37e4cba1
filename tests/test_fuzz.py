"""Property-based fuzzing of every decoder: only the package's own TLSError family may come out.

Each decoder is fed random bytes AND structure-aware mutations of real transcripts (the steps of
in-memory handshakes of every suite, with and without client authentication, a HelloRetryRequest
and a KeyUpdate): truncation, length fields off by one and past the end (found with the spans of
``messages.layout``), repeated extensions, wrong message/extension types, wrong decoding context,
field contents replaced, byte flips. Anything but a TLSError (IndexError, struct.error,
UnicodeDecodeError, a bare ValueError, KeyError, OverflowError...) fails the test, and a
hypothesis deadline catches a hang. The same mutations are fed to ClientConnection/
ServerConnection.receive at every stage of a handshake.

Budget: TLSLESSON_FUZZ_EXAMPLES examples per test (default 300: the file runs in well under a
minute); ``make fuzz`` sets 100000. The number of cases each decoder saw is printed at the end and
written to tests/artifacts/fuzz-counts.json.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from tlslesson import extensions as ext, keylog, messages as m, pki, suites
from tlslesson.client import ClientConnection
from tlslesson.connection import ClientConfig, ServerConfig, handshake
from tlslesson.server import ServerConnection
from tlslesson.constants import ExtensionType, HandshakeType, NamedGroup
from tlslesson.errors import TLSError
from tlslesson.record import AEAD12, AEAD13, CBC12, Record, RecordBuffer
from tlslesson.rng import lesson_rng
from tlslesson.wire import Reader

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("TLSLESSON_FUZZ_EXAMPLES") or 300)
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
          HealthCheck.large_base_example]
# A decoder answers in well under a millisecond; a connection replays a handshake first.
DECODER = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=1),
                   suppress_health_check=HEALTH)
CONNECTION = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=3),
                      suppress_health_check=HEALTH)

COUNTS: collections.Counter = collections.Counter()
CONTEXTS = {"1.2/RSA": m.Context("1.2", "RSA"), "1.2/ECDHE": m.Context("1.2", "ECDHE"),
            "1.2/DHE": m.Context("1.2", "DHE"), "1.3": m.Context("1.3", None)}
WHERE = ("client_hello", "server_hello", "hello_retry_request", "encrypted_extensions",
         "certificate", "certificate_request", "new_session_ticket")


def tls_errors_only(fn, *args, **kw):
    """Call ``fn``; a TLSError is a fine answer to bad bytes, anything else propagates."""
    try:
        return fn(*args, **kw)
    except TLSError as exc:
        assert exc.alert is not None and str(exc)
        return None


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    # build the corpus first: handshakes take longer than a fuzz example's deadline
    corpus(), records(), all_extensions(), keylog_lines(), chains()
    yield
    if not COUNTS:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    data = {"examples_per_test": EXAMPLES, "cases": dict(sorted(COUNTS.items()))}
    (ARTIFACTS / "fuzz-counts.json").write_text(json.dumps(data, indent=1))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line(f"fuzz cases per decoder (TLSLESSON_FUZZ_EXAMPLES={EXAMPLES}):")
            for name, n in sorted(COUNTS.items()):
                reporter.write_line(f"  {n:>8}  {name}")


# -- the corpus: real transcripts ----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    suite: str
    auth: bool = False
    hrr: bool = False

    def configs(self):
        suite, p = suites.get(self.suite), pki.lesson_pki()
        client = ClientConfig(versions=(suite.version,), suites=(suite,),
                              rng=lesson_rng("fuzz-c"), identity=p.client if self.auth else None,
                              key_share_groups=(NamedGroup.x25519,) if self.hrr else None)
        server = ServerConfig(rng=lesson_rng("fuzz-s"), client_ca=p.trusted if self.auth else None,
                              groups=(NamedGroup.secp256r1,) if self.hrr else
                              (NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.ffdhe2048))
        return client, server


SCENARIOS = ([Scenario(s.name, s.name) for s in suites.SUITES]
             + [Scenario(f"{n}+auth", n, auth=True) for n in (
                 "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA",
                 "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256")]
             + [Scenario("TLS_AES_128_GCM_SHA256+hrr", "TLS_AES_128_GCM_SHA256", hrr=True)])


@functools.lru_cache(maxsize=None)
def transcript(scenario: Scenario):
    run = handshake(*scenario.configs())
    assert run.ok, (scenario, run.error)
    return run


@functools.lru_cache(maxsize=None)
def corpus():
    """(name, wire, context) of every handshake message of every scenario, plus the messages a
    handshake doesn't send here (tickets, KeyUpdate, HelloRequest)."""
    items = []
    for sc in SCENARIOS:
        for step in transcript(sc).steps:
            if hasattr(step.message, "msg_type"):
                items.append((step.name, step.wire, step.context))
    c13 = m.Context("1.3")
    extra = [
        (m.NewSessionTicket(7200, b"ticket", True, 0x01020304, b"\x00",
                            (ext.Extension(ExtensionType.early_data, b"\x00\x00\x40\x00"),)), c13),
        (m.NewSessionTicket(7200, b"ticket-1.2"), m.Context("1.2", "ECDHE")),
        (m.KeyUpdate(1), c13), (m.HelloRequest(), m.Context("1.2", "RSA")),
        (m.EncryptedExtensions((ext.Extension(ExtensionType.server_name), ext.supported_groups([29]))), c13),
    ]
    items += [(type(msg).__name__, m.encode_handshake(msg), ctx) for msg, ctx in extra]
    return tuple(items)


@functools.lru_cache(maxsize=None)
def records():
    """Every record of every scenario's handshake, as sent."""
    return tuple(step.record for sc in SCENARIOS for step in transcript(sc).steps)


@functools.lru_cache(maxsize=None)
def all_extensions():
    out = []
    for name, wire, ctx in corpus():
        msg = m.decode_handshake(wire, ctx)
        for e in getattr(msg, "extensions", ()) or ():
            out.append(e)
    return tuple(out)


# -- structure-aware mutations ---------------------------------------------------------------------
def _set_field(wire: bytes, span, value: int) -> bytes:
    size = span.end - span.start
    return wire[:span.start] + (value % (1 << 8 * size)).to_bytes(size, "big") + wire[span.end:]


def _reencode(wire: bytes, ctx, change) -> bytes:
    """Decode, change the dataclass, encode again: structure stays valid but for the change."""
    try:
        msg = m.decode_handshake(wire, ctx)
    except TLSError:
        return wire
    changed = change(msg)
    return wire if changed is None else m.encode_handshake(changed)


MUTATIONS = ("truncate", "append", "flip", "length_off_by_one", "length_past_end", "splice",
             "repeat_extension", "retype_extension", "retype_message", "insert", "drop_span")


def mutate(data, wire: bytes, ctx) -> bytes:
    """One structure-aware mutation of the handshake message ``wire``, drawn from ``data``."""
    kind = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    spans = tls_errors_only(m.layout, wire, ctx) or []
    if kind == "truncate":
        return wire[:data.draw(st.integers(0, max(len(wire) - 1, 0)))]
    if kind == "append":
        return wire + data.draw(st.binary(min_size=1, max_size=8))
    if kind == "insert":
        at = data.draw(st.integers(0, len(wire)))
        return wire[:at] + data.draw(st.binary(min_size=1, max_size=4)) + wire[at:]
    if kind == "flip":
        out = bytearray(wire)
        for _ in range(data.draw(st.integers(1, 4))):
            if out:
                out[data.draw(st.integers(0, len(out) - 1))] ^= data.draw(st.integers(1, 255))
        return bytes(out)
    lengths = [s for s in spans if s.name.endswith(" length")]
    if kind in ("length_off_by_one", "length_past_end") and lengths:
        span = data.draw(st.sampled_from(lengths))
        old = int.from_bytes(wire[span.start:span.end], "big")
        if kind == "length_off_by_one":
            return _set_field(wire, span, old + data.draw(st.sampled_from((-1, 1))))
        return _set_field(wire, span, old + len(wire) - span.end + data.draw(st.integers(1, 300)))
    if kind == "splice" and spans:      # a field's content replaced by bytes of the same size
        span = data.draw(st.sampled_from(spans))
        return wire[:span.start] + data.draw(st.binary(min_size=span.length, max_size=span.length)) \
            + wire[span.end:]
    if kind == "drop_span" and spans:   # a field cut out (lengths not fixed up)
        span = data.draw(st.sampled_from(spans))
        return wire[:span.start] + wire[span.end:]
    if kind == "repeat_extension":
        def repeat(msg):
            exts = getattr(msg, "extensions", ())
            if not exts:
                return None
            return dataclasses.replace(msg, extensions=exts + (data.draw(st.sampled_from(exts)),))
        return _reencode(wire, ctx, repeat)
    if kind == "retype_extension":
        def retype(msg):
            exts = list(getattr(msg, "extensions", ()))
            if not exts:
                return None
            i = data.draw(st.integers(0, len(exts) - 1))
            new = data.draw(st.sampled_from([int(t) for t in ExtensionType]) | st.integers(0, 0xFFFF))
            exts[i] = ext.Extension(new, exts[i].data)
            return dataclasses.replace(msg, extensions=tuple(exts))
        return _reencode(wire, ctx, retype)
    if kind == "retype_message" and wire:
        return bytes([data.draw(st.sampled_from([int(t) for t in HandshakeType]))]) + wire[1:]
    return wire[::-1]          # fallback for a message without the wanted fields


# -- records -------------------------------------------------------------------------------------
def _drain(buf: RecordBuffer) -> list:
    out = []
    while (rec := buf.next_record()) is not None:
        out.append(rec)
    return out


@DECODER
@given(st.binary(max_size=600), st.lists(st.integers(1, 64), max_size=8))
def test_record_buffer_random_bytes(data, cuts):
    COUNTS["record.RecordBuffer"] += 1
    buf = RecordBuffer()
    pieces, at = [], 0
    for cut in cuts:
        pieces.append(data[at:at + cut])
        at += cut
    pieces.append(data[at:])
    try:
        for piece in pieces:
            buf.feed(piece)
            _drain(buf)
    except TLSError:
        pass


@DECODER
@given(st.data())
def test_record_buffer_mutated_records(data):
    COUNTS["record.RecordBuffer"] += 1
    stream = b"".join(data.draw(st.lists(st.sampled_from(records()), min_size=1, max_size=4)))
    out = bytearray(stream)
    for _ in range(data.draw(st.integers(0, 3))):       # header bytes mostly: type, version, length
        at = data.draw(st.integers(0, min(len(out) - 1, 10)) | st.integers(0, len(out) - 1))
        out[at] ^= data.draw(st.integers(1, 255))
    buf, got = RecordBuffer(), []
    try:
        step = data.draw(st.integers(1, 700))
        for i in range(0, len(out), step):
            buf.feed(bytes(out[i:i + step]))
            got += _drain(buf)
    except TLSError:
        return
    # what came out is exactly a prefix of the stream, record by record
    assert b"".join(r.encode() for r in got) == bytes(out[:sum(5 + len(r.fragment) for r in got)])


@DECODER
@given(st.data())
def test_record_decode(data):
    COUNTS["record.Record.decode"] += 1
    if data.draw(st.booleans(), label="random"):
        blob = data.draw(st.binary(max_size=300))
    else:
        out = bytearray(data.draw(st.sampled_from(records())))
        for _ in range(data.draw(st.integers(1, 2))):
            out[data.draw(st.integers(0, min(len(out) - 1, 6)))] ^= data.draw(st.integers(1, 255))
        blob = bytes(out[:data.draw(st.integers(0, len(out)))]) if data.draw(st.booleans()) else bytes(out)
    rec = tls_errors_only(Record.decode, blob)
    if rec is not None:
        assert rec.encode() == blob


def _protection(kind: str, suite, key: bytes, iv: bytes, mac_key: bytes):
    if kind == "AEAD12":
        return AEAD12(suite, key, iv)
    if kind == "CBC12":
        return CBC12(suite, key, mac_key)
    return AEAD13(suite, key, iv)


PROTECTIONS = {"AEAD12": [s for s in suites.TLS12_SUITES if s.aead],
               "CBC12": [s for s in suites.TLS12_SUITES if not s.aead],
               "AEAD13": list(suites.TLS13_SUITES)}


@pytest.mark.parametrize("kind", list(PROTECTIONS))
def test_record_open_random_fragments(kind):
    @DECODER
    @given(st.data())
    def check(data):
        suite = data.draw(st.sampled_from(PROTECTIONS[kind]), label="suite")
        COUNTS[f"record.{kind}.open (random fragment)"] += 1
        key = data.draw(st.binary(min_size=suite.key_length, max_size=suite.key_length))
        iv = data.draw(st.binary(min_size=12, max_size=12))[:suite.iv_length if kind != "AEAD13" else 12]
        prot = _protection(kind, suite, key, iv, b"k" * suite.mac_length)
        prot.seq = data.draw(st.sampled_from([0, 1, 2 ** 63]) | st.integers(0, 2 ** 63))
        rec = Record(data.draw(st.sampled_from([20, 21, 22, 23]) | st.integers(0, 255)),
                     data.draw(st.sampled_from([0x0303, 0x0301]) | st.integers(0, 0xFFFF)),
                     data.draw(st.binary(max_size=80)
                               | st.integers(16300, 18500).map(lambda n: b"\xa5" * n)))
        tls_errors_only(prot.open, rec)
    check()


@pytest.mark.parametrize("kind", list(PROTECTIONS))
def test_record_open_tampered_sealed_records(kind):
    """Seal a record, change any of it: opening it with the same keys must fail, and only with
    a TLSError (bad_record_mac, or unexpected_message for a 1.3 outer content type)."""
    @DECODER
    @given(st.data())
    def check(data):
        suite = data.draw(st.sampled_from(PROTECTIONS[kind]), label="suite")
        COUNTS[f"record.{kind}.open (tampered record)"] += 1
        key, iv, mac = b"K" * suite.key_length, b"I" * (12 if kind == "AEAD13" else suite.iv_length), \
            b"M" * suite.mac_length
        plaintext = data.draw(st.binary(max_size=300))
        sealed = _protection(kind, suite, key, iv, mac).seal(22, 0x0303, plaintext)
        wire = bytearray(sealed.encode())
        at = data.draw(st.integers(0, len(wire) - 1))
        assume(at not in (3, 4))     # the length lives in the framing, not the protection
        wire[at] ^= data.draw(st.integers(1, 255))
        rec = Record(wire[0], int.from_bytes(wire[1:3], "big"), bytes(wire[5:]))
        try:
            got = _protection(kind, suite, key, iv, mac).open(rec)
        except TLSError:
            return
        raise AssertionError(f"tampered record opened: {got!r}")
    check()


# -- handshake messages ----------------------------------------------------------------------------
def _decode_both(wire: bytes, ctx):
    """decode_handshake and layout read the same fields (one without spans): they agree."""
    msg = tls_errors_only(m.decode_handshake, wire, ctx)
    spans = tls_errors_only(m.layout, wire, ctx)
    if msg is None and spans is not None:
        # layout() draws a message and ignores what follows it; decode_handshake insists that
        # the bytes hold exactly one message. Anything else would be two parsers disagreeing.
        assert max(s.end for s in spans) < len(wire), (wire.hex(), ctx)
    assert not (msg is not None and spans is None), (wire.hex(), ctx)
    if msg is not None:
        if isinstance(msg, (m.ClientHello, m.ServerHello)) and not msg.extensions:
            return     # a hello that ends after compression is re-encoded with an empty block
        assert m.encode_handshake(msg) == wire, "decoded message does not encode back to its bytes"


@pytest.mark.parametrize("ctx_name", list(CONTEXTS))
def test_decode_handshake_random_bytes(ctx_name):
    ctx = CONTEXTS[ctx_name]

    @DECODER
    @given(st.one_of(
        st.binary(max_size=300),
        # a plausible header so the body parser is reached
        st.tuples(st.sampled_from([int(t) for t in HandshakeType]), st.binary(max_size=300))
          .map(lambda t: bytes([t[0]]) + len(t[1]).to_bytes(3, "big") + t[1])))
    def check(wire):
        COUNTS[f"messages.decode_handshake [{ctx_name}] (random)"] += 1
        _decode_both(wire, ctx)
    check()


@pytest.mark.parametrize("ctx_name", list(CONTEXTS))
def test_decode_handshake_mutated_transcripts(ctx_name):
    ctx = CONTEXTS[ctx_name]
    items = [(n, w, c) for n, w, c in corpus() if c.version == ctx.version
             and (c.kx in (None, ctx.kx) or ctx.version == "1.3")]

    @DECODER
    @given(st.data())
    def check(data):
        name, wire, original = data.draw(st.sampled_from(items), label="message")
        COUNTS[f"messages.decode_handshake [{ctx_name}] (mutated)"] += 1
        _decode_both(mutate(data, wire, original), ctx)
    check()


@DECODER
@given(st.data())
def test_decode_handshake_wrong_context(data):
    """A real message read as another version / key exchange would read it."""
    name, wire, _ = data.draw(st.sampled_from(corpus()), label="message")
    ctx = data.draw(st.sampled_from(list(CONTEXTS.values()) + [m.Context("1.2", None)]))
    COUNTS["messages.decode_handshake (wrong context)"] += 1
    _decode_both(wire, ctx)


@DECODER
@given(st.binary(max_size=8))
def test_alert_and_change_cipher_spec(data):
    COUNTS["messages.Alert/ChangeCipherSpec.decode"] += 1
    tls_errors_only(m.Alert.decode, data)
    tls_errors_only(m.ChangeCipherSpec.decode, data)


# -- extensions ------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", WHERE)
def test_read_extensions(where):
    @DECODER
    @given(st.data())
    def check(data):
        COUNTS[f"extensions.read_extensions [{where}]"] += 1
        if data.draw(st.booleans(), label="random"):
            block = data.draw(st.binary(max_size=200))
        else:   # real extensions, some repeated / retyped, then byte-level damage
            exts = data.draw(st.lists(st.sampled_from(all_extensions()), min_size=1, max_size=6))
            exts = [ext.Extension(data.draw(st.sampled_from([e.type, e.type ^ 1, e.type ^ 0x100]
                                                            + [int(t) for t in ExtensionType])), e.data)
                    for e in exts]
            block = bytearray(ext.encode_all(exts))
            for _ in range(data.draw(st.integers(0, 2))):
                block[data.draw(st.integers(0, len(block) - 1))] ^= data.draw(st.integers(1, 255))
            block = bytes(block[:data.draw(st.integers(0, len(block)))]
                          if data.draw(st.booleans()) else block)
        r = Reader(block)
        got = tls_errors_only(ext.read_extensions, r, where)
        for e in got or ():    # a parsed extension's value parses again the same way
            tls_errors_only(ext.value, e, where)
    check()


@DECODER
@given(st.sampled_from(sorted(ext.PARSERS)), st.sampled_from(WHERE), st.binary(max_size=80))
def test_extension_value(ext_type, where, data):
    COUNTS["extensions.value"] += 1
    tls_errors_only(ext.value, ext.Extension(ext_type, data), where)


# -- certificates ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def chains():
    p = pki.lesson_pki()
    return (tuple(p.rsa_server.chain_der()), tuple(p.ecdsa_server.chain_der()),
            tuple(p.client.chain_der()))


def _mutate_der(data, der: bytes) -> bytes:
    kind = data.draw(st.sampled_from(("flip", "truncate", "splice", "append")))
    if kind == "truncate":
        return der[:data.draw(st.integers(0, len(der) - 1))]
    if kind == "append":
        return der + data.draw(st.binary(min_size=1, max_size=8))
    out = bytearray(der)
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 3))):
            out[data.draw(st.integers(0, len(out) - 1))] ^= data.draw(st.integers(1, 255))
    else:
        at = data.draw(st.integers(0, len(out) - 1))
        piece = data.draw(st.binary(min_size=1, max_size=16))
        out[at:at + len(piece)] = piece
    return bytes(out)


@DECODER
@given(st.binary(max_size=400))
def test_load_der_certificate_random(der):
    COUNTS["pki.load_der_certificate (random)"] += 1
    tls_errors_only(pki.load_der_certificate, der)


@DECODER
@given(st.data())
def test_certificate_chain_mutated(data):
    """Damaged DER: loading fails with DecodeError, or the certificate loads and validate_chain /
    describe fail (or pass) with TLSErrors only."""
    chain = list(data.draw(st.sampled_from(chains())))
    i = data.draw(st.integers(0, len(chain) - 1))
    chain[i] = _mutate_der(data, chain[i])
    COUNTS["pki.load_der_certificate (mutated)"] += 1
    certs = [tls_errors_only(pki.load_der_certificate, der) for der in chain]
    if any(c is None for c in certs):
        return
    COUNTS["pki.validate_chain (mutated DER)"] += 1
    purpose = "client" if chain[0] == chains()[2][0] else "server"
    tls_errors_only(pki.validate_chain, certs, pki.lesson_pki().trusted,
                    hostname="localhost" if purpose == "server" else None, purpose=purpose,
                    rsa_key_exchange=data.draw(st.booleans()))
    tls_errors_only(pki.describe, certs[0])


@DECODER
@given(st.data())
def test_load_pem_chain(data):
    COUNTS["pki.load_pem_chain"] += 1
    pem = pki.lesson_pki().rsa_server.chain_pem
    kind = data.draw(st.sampled_from(("random", "flip", "truncate", "text")))
    if kind == "random":
        blob = data.draw(st.binary(max_size=300))
    elif kind == "text":
        blob = data.draw(st.text(max_size=300))
    elif kind == "truncate":
        blob = pem[:data.draw(st.integers(0, len(pem)))]
    else:                # change base64 characters (and sometimes the armour)
        out = bytearray(pem)
        for _ in range(data.draw(st.integers(1, 4))):
            out[data.draw(st.integers(0, len(out) - 1))] = data.draw(
                st.sampled_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-\n \x00\xff"))
        blob = bytes(out)
    tls_errors_only(pki.load_pem_chain, blob)


@DECODER
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_load_private_key(data):
    COUNTS["pki.load_private_key"] += 1
    tls_errors_only(pki.load_private_key, data)


# -- key log -------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def keylog_lines():
    return tuple(line for sc in SCENARIOS for line in transcript(sc).client.keylog)


@DECODER
@given(st.data())
def test_keylog_parse(data):
    COUNTS["keylog.parse"] += 1
    if data.draw(st.booleans(), label="random"):
        text = data.draw(st.text(max_size=300))
    else:
        lines = data.draw(st.lists(st.sampled_from(keylog_lines()), min_size=1, max_size=4))
        text = "\n".join(lines)
        chars = list(text)
        for _ in range(data.draw(st.integers(0, 4))):
            chars[data.draw(st.integers(0, len(chars) - 1))] = data.draw(
                st.sampled_from(list("0123456789abcdefgXZ _#\t\n\r\x00\u00e9\u0660\uff10")))
        text = "".join(chars)
    entries = tls_errors_only(keylog.parse, text)
    for label, client_random, secret in entries or ():
        assert keylog.parse(keylog.line(label, client_random, secret)) == [(label, client_random, secret)]


# -- connections -----------------------------------------------------------------------------------------
class Passthrough:
    """Stands in for the receiver's record protection: hands the (plaintext) record over as
    ``inner`` content. It lets a mutated *protected* handshake message reach the handshake logic —
    what a peer that holds the keys (any lesson peer: the keys are public) can send."""
    name = "passthrough"

    def __init__(self, inner: int):
        self.inner, self.seq = inner, 0

    def open(self, rec):
        self.seq += 1
        return self.inner, rec.fragment


def _frame(content_type: int, version: int, payload: bytes) -> bytes:
    return bytes([content_type]) + version.to_bytes(2, "big") + len(payload).to_bytes(2, "big") + payload


def run_with(scenario: Scenario, index: int, replace) -> None:
    """Pump a fresh handshake of ``scenario``; record ``index`` goes through ``replace(step, record,
    receiver)`` instead. After that the pump goes on (alerts included): every receive() may only
    raise TLSError."""
    client, server = (ClientConnection(scenario.configs()[0]),
                      ServerConnection(scenario.configs()[1]))
    client.start()
    n = 0
    for _ in range(12):
        moved = False
        for sender, receiver in ((client, server), (server, client)):
            for step, record in sender.records_to_send():
                moved = True
                if n == index:
                    record = replace(step, record, receiver)
                n += 1
                if tls_errors_only(receiver.receive, record) is None and receiver.closed:
                    # deliver the alert the failing side queued, then stop
                    tls_errors_only(sender.receive, receiver.data_to_send())
                    return
        if not moved:
            return


@CONNECTION
@given(st.data())
def test_connection_receives_mutated_records_at_every_stage(data):
    scenario = data.draw(st.sampled_from(SCENARIOS), label="scenario")
    steps = transcript(scenario).steps
    index = data.draw(st.integers(0, len(steps) - 1), label="record")
    COUNTS["connection.receive (mutated record)"] += 1

    def replace(step, record, receiver):
        if step.name == "ChangeCipherSpec" or not hasattr(step.message, "msg_type"):
            out = bytearray(record)
            out[data.draw(st.integers(0, len(out) - 1))] ^= data.draw(st.integers(1, 255))
            return bytes(out)
        wire = mutate(data, step.wire, step.context)
        if step.protected:   # let the mutated plaintext through the receiver's protection
            receiver._read = Passthrough(22)
            return _frame(22, 0x0303, wire)
        return record[:3] + len(wire).to_bytes(2, "big") + wire

    run_with(scenario, index, replace)


@CONNECTION
@given(st.data())
def test_connection_receives_random_bytes_at_every_stage(data):
    scenario = data.draw(st.sampled_from(SCENARIOS), label="scenario")
    index = data.draw(st.integers(0, len(transcript(scenario).steps) - 1), label="record")
    COUNTS["connection.receive (random bytes)"] += 1
    payload = data.draw(st.binary(max_size=200))
    framed = data.draw(st.booleans())
    content_type = data.draw(st.sampled_from([20, 21, 22, 23]))

    def replace(step, record, receiver):
        return _frame(content_type, 0x0303, payload) if framed else payload

    run_with(scenario, index, replace)


@CONNECTION
@given(st.binary(max_size=400), st.booleans())
def test_fresh_connections_receive_random_bytes(data, client_side):
    COUNTS["connection.receive (fresh, random bytes)"] += 1
    sc = SCENARIOS[0]
    if client_side:
        conn = ClientConnection(sc.configs()[0])
        conn.start()
    else:
        conn = ServerConnection(sc.configs()[1])
    tls_errors_only(conn.receive, data)
