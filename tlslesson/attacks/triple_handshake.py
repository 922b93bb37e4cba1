"""Lab 4 — the triple handshake, steps 1 and 2: two connections, one master secret, one Finished
(why the extended master secret exists).

K. Bhargavan, A. Delignat-Lavaud, C. Fournet, A. Pironti, P.-Y. Strub, "Triple Handshakes and
Cookie Cutters: Breaking and Fixing Authentication over TLS", IEEE S&P 2014, §V. A client C
connects to Mallory's own site (she has a real certificate for mallory.example); at the same time
Mallory connects to the server S as a client.

**Step 1** (``synchronize``, a full handshake on each side). She makes the two handshakes agree on
everything the TLS 1.2 master secret is made of (RFC 5246 §8.1)::

    master_secret = PRF(pre_master_secret, "master secret", client_random + server_random)

She passes C's client_random (and C's server_name) to S and S's server_random and session ID to
C, and re-encrypts the pre-master secret C sent her to S's key. Two connections, two different
certificates — one master secret, one key block, one session ID: a record C sends to Mallory is
a record S accepts. Their Finished still differ (each transcript holds its own Certificate and
ClientKeyExchange).

**Step 2** (``resume``, the abbreviated handshake of RFC 5246 §7.3, Figure 2). C resumes its
session with Mallory; she resumes hers with S and forwards C's ClientHello and S's ServerHello
unchanged — both randoms, the session ID. An abbreviated handshake has no key exchange and no
certificate: its keys come from the master secret and the two randoms, and its Finished from
Hash(ClientHello + ServerHello [+ server Finished]). All of it is now the same on both
connections, so both get **the same keys and the same Finished verify_data** — and with them
the same "tls-unique" channel binding (RFC 5929 §3: the first Finished of the connection, here the
server's) and the same RFC 5746 renegotiation_info, which applications and TLS itself used to
tell one connection from another. Mallory's own two connections send, byte for byte, what the
other side sent: in step 2 she is just a wire.

**Step 3**, renegotiation with C's client certificate (which S then credits to Mallory's
connection), is out of scope: the package declines renegotiation (a warning no_renegotiation,
RFC 5246 §7.4.1.1), as TLS 1.3 removed it; RFC 5746 alone did not stop the attack, because step 2
makes the verify_data it binds equal — RFC 7627 does.

RFC 7627's extended master secret takes the session hash instead of the randoms::

    master_secret = PRF(pre_master_secret, "extended master secret", Hash(ClientHello..ClientKeyExchange))

and that hash covers each side's Certificate message, which Mallory cannot make equal: if she
keeps EMS, the masters already differ in step 1 and the forwarded record fails at ``record_mac``.
So she strips it from both handshakes (neither C nor S insists on it in a full handshake), and
the masters agree again; but both sessions are now marked as made without EMS, and RFC 7627 §5.3
closes step 2 on either side — the check ``extended_master_secret``:

* C (``ems=True``, the package's default) does not offer a session without an extended master
  secret (§5.3 "SHOULD NOT"; ``values["resumption"]`` says why): there is no abbreviated
  handshake to forward;
* S (``ems=True, resume_without_ems=False``, the defaults) aborts the abbreviated handshake with
  handshake_failure when neither the session nor the ClientHello has EMS (§5.3 "SHOULD abort").

The weakened peers are ordinary configuration values on explicit lesson configurations —
C ``ems=False`` (a client without RFC 7627), S ``ems=False`` or ``resume_without_ems=True`` (the
"legacy insecure resumption" §5.3 lets a server allow) — never the defaults of ``attack``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import suites
from ..client import ClientConnection
from ..errors import TLSError
from ..lesson.configs import lesson_client, lesson_server
from ..rng import lesson_rng, lesson_rngs
from ..server import ServerConnection
from ..sessions import SessionCache
from . import identities
from .inmemory import Run

RSA_SUITE = suites.get("TLS_RSA_WITH_AES_128_GCM_SHA256")
REQUEST = b"GET /account HTTP/1.1\r\nHost: localhost\r\n\r\n"


class ScriptedRandom:
    """LESSON ONLY, for the attacker's own connections: hands out the bytes it was told to
    (Mallory's "random" values are the ones she copies from the other handshake), then its own."""

    def __init__(self, then):
        self.script: list[bytes] = []
        self.then = then

    def bytes(self, n: int) -> bytes:
        if self.script:
            value = self.script.pop(0)
            if len(value) != n:
                raise ValueError(f"scripted {len(value)} bytes where {n} were asked for")
            return value
        return self.then.bytes(n)


@dataclass
class Result:
    """Step 1: what the two full handshakes agree on."""
    client_master_secret: bytes       # C <-> Mallory
    server_master_secret: bytes       # Mallory <-> S
    extended_master_secret: tuple     # (C's session, S's session) used EMS?
    forwarded_accepted: bool          # S accepted C's own record, byte for byte
    check: str | None                 # what stopped the forwarded record
    client_finished: tuple            # C's and Mallory's client verify_data (they differ)
    session_ids: tuple                # C's and S's (the same: Mallory copied S's)
    to_mallory: Run
    to_server: Run

    @property
    def same_master_secret(self) -> bool:
        return self.client_master_secret == self.server_master_secret

    @property
    def succeeded(self) -> bool:
        return self.same_master_secret and self.forwarded_accepted


def victims(seed: str, client_ems: bool, server_ems: bool,
            resume_without_ems: bool) -> tuple:
    """C's and S's lesson configurations. S keeps a session cache (so its sessions can be resumed
    by ID); ``client_ems``/``server_ems`` False and ``resume_without_ems`` True are the weakened
    values, LESSON ONLY: each is an ordinary option whose default is the defended one."""
    c_rng, s_rng = lesson_rngs(seed)
    client = lesson_client(rng=c_rng, versions=("1.2",), suites=(RSA_SUITE,),
                           server_name=identities.MALLORY_NAME, ems=client_ems)
    server = lesson_server(rng=s_rng, versions=("1.2",), suites=(RSA_SUITE,), ems=server_ems,
                           resume_without_ems=resume_without_ems, session_cache=SessionCache())
    return client, server


def synchronize(ems: bool = True, mallory_keeps_ems: bool = True,
                seed: str = "attack-lab/triple", request: bytes = REQUEST, *,
                client_ems: bool | None = None, server_ems: bool | None = None,
                resume_without_ems: bool = False) -> Result:
    """Step 1 of the triple handshake, with EMS supported by C and S (``ems``; or each its own,
    ``client_ems``/``server_ems``) or not; Mallory offers it only if ``mallory_keeps_ems``."""
    client_ems = ems if client_ems is None else client_ems
    server_ems = ems if server_ems is None else server_ems
    c_cfg, s_cfg = victims(seed, client_ems, server_ems, resume_without_ems)
    client, server = ClientConnection(c_cfg), ServerConnection(s_cfg)
    m_ems = mallory_keeps_ems and (client_ems or server_ems)
    m_client_rng = ScriptedRandom(lesson_rng(seed + "/mallory-client"))
    m_server_rng = ScriptedRandom(lesson_rng(seed + "/mallory-server"))
    # Mallory's client asks S for the name C asked her for (so S's session is bound to the name C
    # will resume with); whose certificate comes back does not matter to her.
    m_client = ClientConnection(lesson_client(rng=m_client_rng, versions=("1.2",),
                                              suites=(RSA_SUITE,), ems=m_ems,
                                              server_name=identities.MALLORY_NAME, verify=False))
    m_server = ServerConnection(lesson_server(rng=m_server_rng, versions=("1.2",),
                                              suites=(RSA_SUITE,), ems=m_ems,
                                              identities=(identities.mallory(),),
                                              session_cache=SessionCache()))
    # 1. C -> Mallory: ClientHello. 2. Mallory -> S: a ClientHello with C's client_random.
    client.start()
    hello = client.data_to_send()
    m_client_rng.script.append(client.hs.client_random)
    m_client.start()
    server.receive(m_client.data_to_send())
    held = server.data_to_send()                        # S's ServerHello .. ServerHelloDone
    # 3. Mallory -> C: her ServerHello with S's session ID and S's server_random (the server
    #    draws the session ID first), then her own certificate.
    m_server_rng.script += [server.hs.session_id, server.hs.server_random]
    m_server.receive(hello)
    client.receive(m_server.data_to_send())
    # 4. C -> Mallory: ClientKeyExchange (the pre-master, encrypted to her key), CCS, Finished.
    m_server.receive(client.data_to_send())
    client.receive(m_server.data_to_send())
    pre_master = m_server.values["pre_master_secret"]
    # 5. Mallory -> S: the same pre-master, encrypted to S's key.
    m_client_rng.script.append(pre_master[2:])         # 03 03 + these 46 bytes
    m_client.receive(held)
    server.receive(m_client.data_to_send())
    m_client.receive(server.data_to_send())
    left, right = Run(client, m_server), Run(m_client, server)
    if not (left.client.handshake_complete and right.server.handshake_complete):
        raise RuntimeError("the handshakes did not complete")
    # 6. C's application data record, forwarded to S unchanged.
    client.send(request)
    record = client.data_to_send()
    check, accepted = None, False
    try:
        events = server.receive(record)
        accepted = any(getattr(e, "data", None) == request for e in events)
    except TLSError as error:           # the check that refused it
        check = error.check
    return Result(client.hs.master_secret, server.hs.master_secret,
                  (client.hs.extended_master_secret, server.hs.extended_master_secret),
                  accepted, check,
                  (client.values["client_verify_data"], m_client.values["client_verify_data"]),
                  (client.hs.session_id, server.hs.session_id), left, right)


@dataclass
class Resumed:
    """Step 2: C's resumed connection (to Mallory, it believes) and S's (from Mallory's client)."""
    resumed: tuple                    # (C, S): was it the abbreviated handshake?
    master_secrets: tuple             # (C's, S's)
    key_blocks: tuple                 # (C's, S's)
    finished: tuple                   # ((client, server) verify_data on C's connection, on S's)
    forwarded_unchanged: tuple        # (ClientHello, S's flight, C's flight) passed on unchanged?
    check: str | None                 # what stopped it: "extended_master_secret" (RFC 7627 §5.3)
    stopped_by: str | None            # "C" or "S"
    reason: str | None                # the refusing side's words
    to_mallory: Run
    to_server: Run

    @property
    def same_master_secret(self) -> bool:
        return all(self.resumed) and self.master_secrets[0] == self.master_secrets[1]

    @property
    def same_keys(self) -> bool:
        return all(self.resumed) and self.key_blocks[0] == self.key_blocks[1]

    @property
    def same_finished(self) -> bool:
        return all(self.resumed) and self.finished[0] == self.finished[1]

    @property
    def tls_unique(self) -> tuple:
        """RFC 5929 §3: the first Finished of each connection — the server's, when resumed."""
        return tuple(f[1] for f in self.finished)

    @property
    def succeeded(self) -> bool:
        return self.same_master_secret and self.same_keys and self.same_finished


def resume(first: Result, seed: str = "attack-lab/triple/resume") -> Resumed:
    """Step 2: C resumes its step-1 session with Mallory, Mallory resumes hers with S, and the
    abbreviated handshakes are forwarded unchanged (C's ClientHello to S, S's ServerHello,
    ChangeCipherSpec and Finished to C, C's ChangeCipherSpec and Finished to S)."""
    c_prev, m_server_prev = first.to_mallory.client, first.to_mallory.server
    m_client_prev, s_prev = first.to_server.client, first.to_server.server
    c_rng, s_rng = lesson_rngs(seed)
    m_client_rng = ScriptedRandom(lesson_rng(seed + "/mallory-client"))
    m_server_rng = ScriptedRandom(lesson_rng(seed + "/mallory-server"))
    client = ClientConnection(dataclasses.replace(c_prev.config, rng=c_rng,
                                                  session=c_prev.session))
    server = ServerConnection(dataclasses.replace(s_prev.config, rng=s_rng))   # same cache
    m_server = ServerConnection(dataclasses.replace(m_server_prev.config, rng=m_server_rng))
    m_client = ClientConnection(dataclasses.replace(
        m_client_prev.config, rng=m_client_rng, session=m_client_prev.session,
        customize_hello=lambda _: client.hs.client_hello))       # C's ClientHello, as it came
    left, right = Run(client, m_server), Run(m_client, server)

    def stopped(side: str, check: str | None, reason: str) -> Resumed:
        return Resumed((client.resumed, server.resumed), (None, None), (None, None),
                       ((None, None), (None, None)), (False, False, False), check, side,
                       reason, left, right)
    # 1. C -> Mallory: a ClientHello offering C's session — if C will offer it (RFC 7627 §5.3).
    client.start()
    hello = client.data_to_send()
    if client.hs.offered_session is None:
        return stopped("C", "extended_master_secret", client.values.get("resumption", ""))
    # 2. Mallory -> S: the same ClientHello (C's client_random, the session ID both share).
    m_client_rng.script.append(client.hs.client_random)
    m_client.start()
    to_server = m_client.data_to_send()
    try:
        server.receive(to_server)
    except TLSError as error:           # S's RFC 7627 §5.3 abort
        return stopped("S", error.check, str(error))
    if not server.resumed:
        return stopped("S", "resumption", server.values.get("resumption", ""))
    from_server = server.data_to_send()                 # ServerHello, CCS, Finished
    # 3. Mallory -> C: her abbreviated handshake, with S's server_random.
    m_server_rng.script.append(server.hs.server_random)
    m_server.receive(hello)
    to_client = m_server.data_to_send()
    m_client.receive(from_server)
    # 4. C -> Mallory: ChangeCipherSpec, Finished; Mallory -> S: hers.
    client.receive(to_client)
    from_client = client.data_to_send()
    m_server.receive(from_client)
    to_server_2 = m_client.data_to_send()
    server.receive(to_server_2)
    if not (client.handshake_complete and server.handshake_complete
            and m_client.handshake_complete and m_server.handshake_complete):
        raise RuntimeError("the abbreviated handshakes did not complete")

    def finished(conn):
        return conn.values["client_verify_data"], conn.values["server_verify_data"]
    return Resumed((client.resumed, server.resumed),
                   (client.hs.master_secret, server.hs.master_secret),
                   (client.values["key_block"], server.values["key_block"]),
                   (finished(client), finished(server)),
                   (hello == to_server, from_server == to_client, from_client == to_server_2),
                   None, None, None, left, right)


@dataclass
class TripleHandshake:
    """Steps 1 and 2 together (``resumed`` is None when step 1 already failed)."""
    synchronized: Result
    resumed: Resumed | None

    @property
    def succeeded(self) -> bool:
        return self.synchronized.succeeded and self.resumed is not None \
            and self.resumed.succeeded

    @property
    def check(self) -> str | None:
        """What stopped the attack: step 1's forwarded record, or step 2's resumption."""
        if self.resumed is None:
            return self.synchronized.check
        return self.resumed.check


def attack(client_ems: bool = True, server_ems: bool = True, resume_without_ems: bool = False,
           mallory_keeps_ems: bool = False, seed: str = "attack-lab/triple") -> TripleHandshake:
    """Steps 1 and 2 against C and S as configured — by default as the package has them (RFC
    7627 on both sides, no insecure resumption); Mallory strips EMS unless told to keep it."""
    first = synchronize(mallory_keeps_ems=mallory_keeps_ems, seed=seed, client_ems=client_ems,
                        server_ems=server_ems, resume_without_ems=resume_without_ems)
    if not first.succeeded:
        return TripleHandshake(first, None)
    return TripleHandshake(first, resume(first, seed=seed + "/resume"))
