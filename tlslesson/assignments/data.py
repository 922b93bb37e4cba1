"""The real bytes the assignments work on, made by the package itself and the same on every run.

Every handshake here is a real in-memory run of ``connection.handshake`` (the same code that talks
to OpenSSL), made reproducible by lesson seeds (``lesson_rng``): randoms, ephemeral keys and
sequence numbers come from the seed, and signatures use RSA PKCS#1 v1.5, which is deterministic.
So a student, the checker and the hidden tests all see exactly the same bytes.

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
from ..constants import ContentType, SignatureScheme
from ..messages import Context, decode_handshake, encode_handshake
from ..record import Record
from ..rng import lesson_rng

# -- assignment 01: a ClientHello --------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _clienthello_run():
    return handshake(lesson_client(rng=lesson_rng("assignment-01 client")),
                     lesson_server(rng=lesson_rng("assignment-01 server")))


def clienthello_record() -> bytes:
    """The first record a TLS 1.3 client (offering 1.2 too) sent: 5-byte record header, then the
    ClientHello handshake message. The server accepted it (the handshake completed)."""
    run = _clienthello_run()
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


@functools.lru_cache(maxsize=None)
def tls12_session() -> TLS12Session:
    """A TLS 1.2 handshake (ECDHE-RSA-AES128-GCM-SHA256), then one HTTP request and response."""
    client_cfg, server_cfg = _tls12_configs("assignment-tls12", (TLS12_SUITE,))
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


@functools.lru_cache(maxsize=None)
def tampered_handshake() -> TamperedHandshake:
    client_cfg, server_cfg = _tls12_configs("assignment-03 tamper", TAMPER_OFFER)
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
    """What a server sent in its Certificate message (leaf first), and the name we connected to."""
    certificates: tuple[x509.Certificate, ...]
    hostname: str

    def validate(self, now: _dt.datetime | None = None):
        """``pki.validate_chain`` with the lesson trust store (raises ``CertificateError``)."""
        return pki.validate_chain(list(self.certificates), trusted(), hostname=self.hostname,
                                  now=now)


def trusted() -> list[x509.Certificate]:
    """The client's trust store: just the lesson root CA."""
    return pki.lesson_pki().trusted


# scenario -> how it is made (letters are assigned in a shuffled, fixed order below)
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
        "missing intermediate": Chain((good.certificate,), "localhost"),
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


@functools.lru_cache(maxsize=None)
def chains() -> dict[str, Chain]:
    """Chains "A", "B", ...: each fails one validation step (or none). Made fresh at run time with
    ``tlslesson.pki`` (new keys, the lesson CA signs), cached for the session; which step each
    fails is fixed, which letter each scenario gets is shuffled once with a fixed seed."""
    made = _scenarios()
    names = sorted(made)
    _random.Random("assignment-06 letters").shuffle(names)
    return {chr(ord("A") + i): made[name] for i, name in enumerate(names)}


def expected_diagnosis(chain: Chain) -> str:
    """What ``validate_chain`` says: the failing step's name, or "accepted"."""
    from ..errors import CertificateError
    try:
        chain.validate()
    except CertificateError as err:
        return err.step
    return "accepted"
