"""The real bytes the assignments work on, made by the package itself: one variant per student.

Every handshake here is a real in-memory run of ``connection.handshake`` (the same code that talks
to OpenSSL), made reproducible by lesson seeds (``lesson_rng``) that include the student's id
(``variant.seed``): randoms, ephemeral keys and sequence numbers come from the seed, and
signatures use RSA PKCS#1 v1.5, which is deterministic. So a student, the checker and the hidden
tests all see the same bytes — and the student next door sees other bytes. Each function takes
``student=`` (default: ``variant.current()``).

What is here is what the student works *from*; the answers (a diagnosis, a shared secret) are
not: the checker computes them when it checks.

A LESSON-ONLY choice: a real stack takes fresh randomness for every connection.

    >>> from tlslesson.assignments import data
    >>> record = data.clienthello_record()
    >>> record[:3].hex()          # handshake record, legacy record version 0x0301 or 0x0303
    '160301'
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import random as _random
import warnings
from dataclasses import dataclass

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.hazmat.primitives import serialization

from .. import pki, suites
from ..connection import handshake
from ..lesson.configs import lesson_client, lesson_server
from ..constants import ContentType, NamedGroup, SignatureScheme
from ..messages import Context, decode_handshake, encode_handshake
from ..record import Record
from ..rng import lesson_rng
from . import variant
from .guard import allowed


def _who(student: str | None) -> str:
    return variant._clean(student) or variant.current()

# -- assignment 01: a ClientHello --------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _clienthello_run(student: str):
    return handshake(lesson_client(rng=lesson_rng(variant.seed("01", "client", student))),
                     lesson_server(rng=lesson_rng(variant.seed("01", "server", student))))


def clienthello_record(student: str | None = None) -> bytes:
    """The first record a TLS 1.3 client (offering 1.2 too) sent: 5-byte record header, then the
    ClientHello handshake message. The server accepted it (the handshake completed)."""
    run = _clienthello_run(_who(student))
    first = run.steps[0]
    assert first.name == "ClientHello" and run.ok
    return first.record


# -- assignments 02-04: a recorded TLS 1.2 session ---------------------------------------------

TLS12_SUITE = "ECDHE-RSA-AES128-GCM-SHA256"
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 31\r\n\r\n"
            b"Hello from the tlslesson server\n")


@dataclass(frozen=True)
class WireRecord:
    """One record as it crossed the network (protected records are ciphertext)."""
    sender: str           # "client" or "server"
    name: str             # what is inside: "ClientHello", "Finished", "ApplicationData", ...
    record: bytes         # 5-byte header + fragment, exactly as sent
    protected: bool


@dataclass(frozen=True)
class HandshakeMessage:
    """One handshake message as an endpoint logged it (plaintext, with its 4-byte header)."""
    sender: str
    name: str
    wire: bytes


@dataclass(frozen=True)
class TLS12Session:
    """A recorded TLS 1.2 connection: the records on the wire, the handshake messages, the key log.

    ``pre_master_secret`` and the randoms are what the client kept in memory; a key log line
    (``keylog``) gives the master secret, which is all Wireshark needs to decrypt the records.
    Extended master secret (RFC 7627) was off in this session so the master secret is the classic
    PRF(pre_master, "master secret", client_random + server_random).
    """
    suite: suites.CipherSuite
    records: tuple[WireRecord, ...]
    messages: tuple[HandshakeMessage, ...]
    keylog: str
    client_random: bytes
    server_random: bytes
    pre_master_secret: bytes

    def record(self, sender: str, name: str, nth: int = 0) -> bytes:
        """The ``nth`` record ``sender`` sent holding ``name`` (e.g. "ApplicationData")."""
        found = [r.record for r in self.records if r.sender == sender and r.name == name]
        return found[nth]

    def transcript(self, upto: str = "Finished", sender: str = "client") -> list[bytes]:
        """The handshake messages before ``sender``'s ``upto`` message, in order."""
        out = []
        for m in self.messages:
            if m.name == upto and m.sender == sender:
                return out
            out.append(m.wire)
        raise KeyError(f"no {upto} from the {sender} in this session")


def _tls12_configs(seed: str, client_suites):
    suite_objs = tuple(suites.get(s) for s in client_suites)
    client = lesson_client(versions=("1.2",), suites=suite_objs, ems=False,
                          # PKCS#1 v1.5 signatures are deterministic: the same bytes every run
                          signature_schemes=(SignatureScheme.rsa_pkcs1_sha256,),
                          rng=lesson_rng(f"{seed} client"))
    server = lesson_server(versions=("1.2",), rng=lesson_rng(f"{seed} server"))
    return client, server


def _messages(log, role):
    """Handshake messages from one endpoint's log (what it sent and what it received)."""
    return tuple(HandshakeMessage(step.sender, step.name, step.wire) for step in log
                 if step.name not in ("ChangeCipherSpec", "Alert", "ApplicationData"))


def tls12_session(student: str | None = None) -> TLS12Session:
    """A TLS 1.2 handshake (ECDHE-RSA-AES128-GCM-SHA256), then one HTTP request and response."""
    return _tls12_session(_who(student))


@functools.lru_cache(maxsize=None)
def _tls12_session(student: str) -> TLS12Session:
    client_cfg, server_cfg = _tls12_configs(variant.seed("02-04", "session", student),
                                            (TLS12_SUITE,))
    run = handshake(client_cfg, server_cfg)
    if not run.ok:
        raise RuntimeError(f"the recorded handshake failed: {run.error}")
    records = [WireRecord(s.sender, s.name, s.record, s.protected) for s in run.steps]
    client, server = run.client, run.server
    client.send(REQUEST)
    for step, rec in client.records_to_send():
        records.append(WireRecord("client", step.name, rec, step.protected))
        server.receive(rec)
    server.send(RESPONSE)
    for step, rec in server.records_to_send():
        records.append(WireRecord("server", step.name, rec, step.protected))
        client.receive(rec)
    values = client.values
    return TLS12Session(client.suite, tuple(records), _messages(client.log, "client"),
                        client.keylog[0], values["client_random"], values["server_random"],
                        values["pre_master_secret"])


# -- assignment 03: a tampered handshake -------------------------------------------------------

TAMPER_OFFER = ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305",
                "DHE-RSA-AES128-GCM-SHA256")
TAMPER_KEEP = "DHE-RSA-AES128-GCM-SHA256"


def _strip_suites(step, record: bytes) -> bytes:
    """The attacker in the middle: rewrite the ClientHello so it offers only the finite-field DHE
    suite, as the Logjam attack (2015) did to force export-grade DHE. Lengths are fixed up, so the
    server parses it happily; only the Finished check can notice."""
    if step.name != "ClientHello":
        return record
    hello = decode_handshake(record[5:], Context("1.2"))
    keep = suites.get(TAMPER_KEEP).code
    forged = dataclasses.replace(hello, cipher_suites=tuple(
        c for c in hello.cipher_suites if c == keep or c not in suites.BY_CODE))
    return Record(ContentType.handshake, int.from_bytes(record[1:3], "big"),
                  encode_handshake(forged)).encode()


@dataclass(frozen=True)
class TamperedHandshake:
    """A handshake an attacker tampered with: what each endpoint logged, and how it ended.

    ``client_view``/``server_view``: the handshake messages (plaintext, in order) as the client
    and as the server logged them — each endpoint hashes its own view into its Finished.
    """
    client_view: tuple[HandshakeMessage, ...]
    server_view: tuple[HandshakeMessage, ...]
    keylog: str
    master_secret: bytes
    alert: str                 # the alert the failing check sent
    error: str                 # the failing check's message


def tampered_handshake(student: str | None = None) -> TamperedHandshake:
    return _tampered_handshake(_who(student))


@functools.lru_cache(maxsize=None)
def _tampered_handshake(student: str) -> TamperedHandshake:
    client_cfg, server_cfg = _tls12_configs(variant.seed("03", "tamper", student), TAMPER_OFFER)
    with warnings.catch_warnings():
        # cryptography calls finite-field DH deprecated; a warning on stderr would cost the
        # student the points of an nbgrader test cell, and says nothing about the exercise
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        run = handshake(client_cfg, server_cfg, tamper=_strip_suites)
    if run.error is None:
        raise RuntimeError("the tampered handshake unexpectedly succeeded")
    return TamperedHandshake(_messages(run.client.log, "client"),
                             _messages(run.server.log, "server"), run.client.keylog[0],
                             run.client.values["master_secret"], run.error.alert.name,
                             str(run.error))


# -- assignment 06: certificate chains that fail validation ------------------------------------


@dataclass(frozen=True)
class Chain:
    """What a server sent in its Certificate message (leaf first), and the name we connected to.
    (Which step rejects it is for the student to find; the checker asks ``pki.validate_chain``.)"""
    certificates: tuple[x509.Certificate, ...]
    hostname: str


def trusted() -> list[x509.Certificate]:
    """The client's trust store: just the lesson root CA."""
    return pki.lesson_pki().trusted


# scenario -> how it is made (each student's chains get labels of their own, see ``chains``)
def _flip_signature(cert: x509.Certificate) -> x509.Certificate:
    """The same certificate with one bit of its signature flipped (the last byte of the DER)."""
    der = bytearray(cert.public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01
    return pki.load_der_certificate(bytes(der))


def _scenarios():
    lesson = pki.lesson_pki()
    inter = lesson.intermediate
    past = dict(not_before=_dt.datetime(2020, 1, 1, tzinfo=_dt.timezone.utc),
                not_after=_dt.datetime(2021, 1, 1, tzinfo=_dt.timezone.utc))

    def served(identity, hostname="localhost"):
        return Chain((identity.certificate, *identity.chain), hostname)

    good = pki.issue(inter, "localhost", key_type="ecdsa")
    other_root = pki.make_ca("Totally Trustworthy Root CA", "ecdsa")
    not_ca = pki.issue(inter, "shop.localhost", key_type="ecdsa", dns_names=("shop.localhost",))
    under_leaf = pki.issue(not_ca, "localhost", key_type="ecdsa")
    return {
        "expired": served(pki.issue(inter, "localhost", key_type="ecdsa", **past)),
        "wrong name": served(pki.issue(inter, "www.example.com", key_type="ecdsa",
                                       dns_names=("www.example.com",))),
        # (every chain has a leaf of its own: the checker tells the chains apart by their leaf)
        "missing intermediate": Chain((pki.issue(inter, "localhost", key_type="ecdsa")
                                       .certificate,), "localhost"),
        # the server sends its own root along: it is self-signed, but not in our trust store
        "unknown root": Chain((pki.issue(other_root, "localhost", key_type="ecdsa").certificate,
                               other_root.certificate), "localhost"),
        "client certificate": served(pki.issue(inter, "localhost", key_type="ecdsa",
                                               purpose="client", dns_names=("localhost",))),
        "leaf signed a leaf": Chain((under_leaf.certificate, not_ca.certificate,
                                     inter.certificate), "localhost"),
        "no digitalSignature": served(pki.issue(inter, "localhost", key_type="ecdsa",
                                                key_usage={"key_agreement"})),
        "bad signature": Chain((_flip_signature(good.certificate), inter.certificate),
                               "localhost"),
        "accepted": served(good),
    }


CHOICES = (*pki.STEPS, "accepted")
"""What a diagnosis may say: the step of ``pki.validate_chain`` that rejects the chain, or
"accepted" when every step passes."""


LABEL_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""What a chain label is made of: digits and capitals, without the look-alikes 0/O, 1/I/L."""


def chain_labels(student: str | None = None) -> list[str]:
    """The labels of a student's nine chains, e.g. ``["3F-K7", "9Q-TM", ...]`` (sorted): four
    characters from ``LABEL_ALPHABET`` drawn with the student's seed, so another student's labels
    are others (two variants share a label about once in ten thousand pairs of students, and even
    then it rarely names the same defect). A copied diagnosis names chains this variant does not
    have."""
    rng = _random.Random(variant.seed("06", "labels", _who(student)))
    labels: set[str] = set()
    while len(labels) < len(_SCENARIO_NAMES):
        a, b, c, d = (rng.choice(LABEL_ALPHABET) for _ in range(4))
        labels.add(f"{a}{b}-{c}{d}")
    return sorted(labels)


def label_key(label) -> str:
    """A label as the student may type it (" k7-3f") in the form ``chains`` uses ("K7-3F")."""
    return "".join(str(label).split()).upper()


def chains(student: str | None = None) -> dict[str, Chain]:
    """The student's nine chains by label (``chain_labels``: e.g. "K7-3F"): each fails one
    validation step (or none). Made fresh at run time with ``tlslesson.pki`` (new keys, the
    lesson CA signs), cached for the session; the labels, and which defect each labelled chain
    has, come from the student's seed, so every student has their own chains and their own key.

    From the first call on, the notebook's calls to ``pki``'s validation are remembered: the
    checker does not count a chain the student handed to the validator itself."""
    from .guard import PKI_VALIDATORS, record_calls
    record_calls("tlslesson.pki", PKI_VALIDATORS)
    return _chains(_who(student))


_SCENARIO_NAMES = ("expired", "wrong name", "missing intermediate", "unknown root",
                   "client certificate", "leaf signed a leaf", "no digitalSignature",
                   "bad signature", "accepted")


@functools.lru_cache(maxsize=None)
def _chains(student: str) -> dict[str, Chain]:
    made = _scenarios()
    assert set(made) == set(_SCENARIO_NAMES)
    names = sorted(made)
    _random.Random(variant.seed("06", "order", student)).shuffle(names)
    return {label: made[name] for label, name in zip(chain_labels(student), names)}


# -- assignment 05: a TLS 1.3 handshake of the student's own -----------------------------------


@dataclass(frozen=True)
class TLS13Hellos:
    """The start of a TLS 1.3 handshake (x25519, TLS_AES_128_GCM_SHA256) the lesson client made:
    its ephemeral private key, the two hellos (handshake messages, 4-byte headers included), the
    server's key share, and the server's first encrypted record (EncryptedExtensions), which the
    server handshake key and IV decrypt."""
    client_private_key: bytes
    client_hello: bytes
    server_hello: bytes
    server_public_key: bytes
    encrypted_extensions_record: bytes


def tls13_hellos(student: str | None = None) -> TLS13Hellos:
    return _tls13_hellos(_who(student))


@functools.lru_cache(maxsize=None)
def _tls13_hellos(student: str) -> TLS13Hellos:
    client = lesson_client(versions=("1.3",), groups=(NamedGroup.x25519,),
                           suites=(suites.get("TLS_AES_128_GCM_SHA256"),),
                           rng=lesson_rng(variant.seed("05", "client", student)))
    server = lesson_server(versions=("1.3",), rng=lesson_rng(variant.seed("05", "server", student)))
    run = handshake(client, server)
    if not run.ok:
        raise RuntimeError(f"the recorded handshake failed: {run.error}")
    wire = {(m.sender, m.name): m.wire for m in run.client.log}
    record = next(s.record for s in run.steps if s.name == "EncryptedExtensions")
    values = run.client.values
    return TLS13Hellos(values["client_private"], wire["client", "ClientHello"],
                       wire["server", "ServerHello"], values["server_share"], record)


# -- assignment 07: a resumed TLS 1.3 handshake (the PSK binder) --------------------------------


@dataclass(frozen=True)
class Resumption:
    """A first TLS 1.3 connection that got two NewSessionTickets, and the ClientHello of the next
    one, which offers one of the tickets as a PSK (RFC 8446 §2.2, §4.2.11, §4.6.1).

    ``resumption_master_secret`` is what the client kept in memory after the first handshake;
    ``new_session_tickets`` are the two NewSessionTicket messages it received (4-byte headers
    included); ``client_hello`` is the second connection's ClientHello (4-byte header included)
    with its binder still blank (zeros): computing it is the exercise. ``server_accepts(binder)``
    asks the lesson server whether it would resume with that binder in place.
    """
    hash_name: str
    resumption_master_secret: bytes
    new_session_tickets: tuple[bytes, ...]
    client_hello: bytes
    seed: str

    @allowed
    def with_binder(self, binder: bytes) -> bytes:
        """The ClientHello with ``binder`` in the blank's place (the blank is the last bytes)."""
        binder = bytes(binder)
        if len(binder) != _hash_size(self.hash_name):
            raise ValueError(f"a binder is {_hash_size(self.hash_name)} bytes with "
                             f"{self.hash_name}, not {len(binder)}")
        return self.client_hello[:-len(binder)] + binder

    @allowed
    def server_accepts(self, binder: bytes) -> tuple[bool, str]:
        """(resumed?, what the lesson server said) for this ClientHello with ``binder`` in it."""
        from ..errors import TLSError
        from ..server import ServerConnection
        server = ServerConnection(_resumption_server(self.seed, self.hash_name))
        try:
            server.receive(Record(ContentType.handshake, 0x0301,
                                  self.with_binder(binder)).encode())
        except TLSError as error:
            return False, f"refused: {error.alert.name} ({error})"
        if server.hs.resumed:
            return True, "accepted: the server resumed the session with that ticket"
        return False, f"no resumption: {server.values.get('psk_rejected', 'full handshake')}"


def _hash_size(hash_name: str) -> int:
    from ..prf import HASHES
    return HASHES[hash_name].digest_size


RESUMPTION_SUITES = {"SHA256": "TLS_AES_128_GCM_SHA256", "SHA384": "TLS_AES_256_GCM_SHA384"}


def _resumption_server(seed: str, hash_name: str):
    return lesson_server(versions=("1.3",), tickets=2,
                         suites=(suites.get(RESUMPTION_SUITES[hash_name]),),
                         rng=lesson_rng(f"{seed} server"))


def resumption(student: str | None = None) -> Resumption:
    """Your first connection (its tickets) and the ClientHello that offers one of them."""
    return _resumption(variant.seed("07", "resumption", _who(student)), "SHA256")


@functools.lru_cache(maxsize=64)
def _resumption(seed: str, hash_name: str) -> Resumption:
    suite = suites.get(RESUMPTION_SUITES[hash_name])

    def client(name, **options):
        return lesson_client(versions=("1.3",), groups=(NamedGroup.x25519,), suites=(suite,),
                             rng=lesson_rng(f"{seed} {name}"), **options)
    first = handshake(client("client"), _resumption_server(seed, hash_name))
    if not first.ok or len(first.client.sessions) != 2:
        raise RuntimeError(f"the first handshake got no tickets: {first.error}")
    offered = _random.Random(f"{seed} ticket").randrange(2)
    second = handshake(client("client again", session=first.client.sessions[offered]),
                       _resumption_server(seed, hash_name))
    if not (second.ok and second.server.resumed):
        raise RuntimeError(f"the resumed handshake failed: {second.error}")
    hello = second.steps[0].wire
    size = _hash_size(hash_name)
    tickets = tuple(m.wire for m in first.client.log if m.name == "NewSessionTicket")
    return Resumption(hash_name, first.client.hs.schedule.resumption_master_secret, tickets,
                      hello[:-size] + bytes(size), seed)


# -- assignment 08: an X25519MLKEM768 key exchange ----------------------------------------------


@dataclass(frozen=True)
class HybridHellos:
    """The hellos of a TLS 1.3 handshake that agreed on X25519MLKEM768 (draft-ietf-tls-ecdhe-
    mlkem), and the client's two private keys: the 64-byte ML-KEM-768 seed (FIPS 203's (d, z),
    what ``MLKEM768PrivateKey.from_seed_bytes`` takes) and the 32-byte X25519 private key.
    ``client_hello`` and ``server_hello`` are the handshake messages, 4-byte headers included.

    (The server's ML-KEM answer takes fresh randomness that no seed controls — cryptography draws
    it — so the server's share differs from one Python process to the next; the client's keys
    and ClientHello come from your seed.)
    """
    mlkem_seed: bytes
    x25519_private: bytes
    client_hello: bytes
    server_hello: bytes


def hybrid_hellos(student: str | None = None) -> HybridHellos:
    return _hybrid_hellos(variant.seed("08", "hybrid", _who(student)))


@functools.lru_cache(maxsize=64)
def _hybrid_hellos(seed: str) -> HybridHellos:
    offer = (NamedGroup.X25519MLKEM768, NamedGroup.x25519)
    client = lesson_client(versions=("1.3",), groups=offer,
                           rng=lesson_rng(f"{seed} client"))
    server = lesson_server(versions=("1.3",), groups=offer, rng=lesson_rng(f"{seed} server"))
    run = handshake(client, server)
    if not run.ok or run.client.values.get("group") != "X25519MLKEM768":
        raise RuntimeError(f"the hybrid handshake failed: {run.error}")
    wire = {(m.sender, m.name): m.wire for m in run.client.log}
    private = run.client.values["client_private"]          # the package's layout: seed ‖ x25519
    return HybridHellos(private[:64], private[64:], wire["client", "ClientHello"],
                        wire["server", "ServerHello"])


# -- assignment 09: the CBC padding oracle of lab 3 ---------------------------------------------


class OracleExhausted(Exception):
    """The attack asked more questions than it needs (see ``PaddingOracle.max_queries``)."""


class PaddingOracle:
    """Lab 3's weakened server (``attacks.cbc_padding_oracle``, defence off) and a victim that
    sends the same request, with your own secret cookie, in every new connection.

    ``ask(change)`` is one connection: ``change(fragment) -> fragment`` rewrites the fragment of
    the client's (encrypted) request record — IV, then the CBC blocks — and the answer is True
    when the server answered bad_record_mac (the padding was right, the MAC wrong), False when it
    hung up (bad padding). The request is ``prefix + cookie + suffix``; the cookie is
    ``cookie_length`` hex digits (``alphabet``), and cookie + suffix end a block. At most
    ``max_queries`` questions: an attack that tries the hex digits first needs far fewer.
    """
    alphabet = b"0123456789abcdef"
    suffix = b"\r\n\r\n"
    cookie_length = 16

    def __init__(self, seed: str, max_queries: int = 1200):
        from ..attacks import cbc_padding_oracle as lab
        rng = _random.Random(f"{seed} cookie")
        # the path's length moves the cookie by whole blocks (it stays block-aligned at its end)
        path = "".join(rng.choice("0123456789") for _ in range(rng.choice((3, 19))))
        self.prefix = (f"GET /inbox?p={path} HTTP/1.1\r\nHost: localhost\r\n"
                       "Cookie: session=").encode()
        cookie = bytes(rng.choice(self.alphabet) for _ in range(self.cookie_length))
        self.__victim = lab.Victim("none", request=self.prefix + cookie + self.suffix,
                                   seed=f"{seed} victim")
        self.max_queries = max_queries
        self.queries = 0
        self.log: list[tuple[bytes, bytes, bool]] = []     # (fragment, changed, answer)

    @allowed
    def ask(self, change) -> bool:
        if self.queries >= self.max_queries:
            raise OracleExhausted(
                f"{self.queries} questions already: try the hex digits (oracle.alphabet) first, and "
                "stop at the first guess the server accepts")
        self.queries += 1
        seen = {}

        def recorded(fragment):
            seen["in"] = fragment
            seen["out"] = bytes(change(fragment))
            return seen["out"]
        answer = self.__victim.ask(recorded)
        valid = answer != ("nothing",)            # an (encrypted) alert, or silence
        if "in" in seen:
            self.log.append((seen["in"], seen["out"], valid))
        return valid

    def __repr__(self) -> str:
        return f"<PaddingOracle: {self.queries} questions asked>"


def padding_oracle(student: str | None = None) -> PaddingOracle:
    """Your victim and the weakened server (a new oracle each call: its count starts at 0)."""
    return PaddingOracle(variant.seed("09", "cbc", _who(student)))
