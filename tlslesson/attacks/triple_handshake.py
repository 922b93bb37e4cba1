"""Lab 4 — the triple handshake, step 1: two connections with one master secret (why EMS exists).

K. Bhargavan, A. Delignat-Lavaud, C. Fournet, A. Pironti, P.-Y. Strub, "Triple Handshakes and
Cookie Cutters: Breaking and Fixing Authentication over TLS", IEEE S&P 2014, §V. A client C
connects to Mallory's own site (she has a real certificate for mallory.example); at the same time
Mallory connects to the server S as a client and makes the two handshakes agree on everything the
TLS 1.2 master secret is made of (RFC 5246 §8.1)::

    master_secret = PRF(pre_master_secret, "master secret", client_random + server_random)

She passes C's client_random to S and S's server_random to C, and re-encrypts the pre-master
secret C sent her to S's key. Two connections, two different certificates — one master secret,
one key block: a record C sends to Mallory is a record S accepts. That is step 1; steps 2 and 3
resume both sessions (their abbreviated Finished then match as well, and so does the
renegotiation indication of RFC 5746) and renegotiate with C's client certificate, which S then
believes was given to it. Step 1 is what this lab runs (resumption is not in the package yet).

RFC 7627's extended master secret takes the session hash instead of the randoms::

    master_secret = PRF(pre_master_secret, "extended master secret", Hash(ClientHello..ClientKeyExchange))

and that hash covers each side's Certificate message, which Mallory cannot make equal. If she
keeps EMS, the masters differ and the forwarded record fails at ``record_mac``; if she strips it
from both handshakes (neither C nor S insists on it), the masters agree again, but both sessions
are marked as not using EMS, and RFC 7627 §5.3 forbids an EMS-aware client or server to resume
such a session — the attack's step 2.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import suites
from ..client import ClientConnection
from ..lesson.configs import lesson_client, lesson_server
from ..rng import lesson_rng, lesson_rngs
from ..server import ServerConnection
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
    client_master_secret: bytes       # C <-> Mallory
    server_master_secret: bytes       # Mallory <-> S
    extended_master_secret: tuple     # (C's session, S's session) used EMS?
    forwarded_accepted: bool          # S accepted C's own record, byte for byte
    check: str | None                 # what stopped the forwarded record
    client_finished: tuple            # C's and Mallory's client verify_data (they differ)
    to_mallory: Run
    to_server: Run

    @property
    def same_master_secret(self) -> bool:
        return self.client_master_secret == self.server_master_secret

    @property
    def succeeded(self) -> bool:
        return self.same_master_secret and self.forwarded_accepted



def synchronize(ems: bool, mallory_keeps_ems: bool = True, seed: str = "attack-lab/triple",
                request: bytes = REQUEST) -> Result:
    """Step 1 of the triple handshake, with EMS supported by C and S (``ems``) or not."""
    c_rng, s_rng = lesson_rngs(seed)
    m_ems = ems and mallory_keeps_ems
    client = ClientConnection(lesson_client(rng=c_rng, versions=("1.2",), suites=(RSA_SUITE,),
                                            server_name=identities.MALLORY_NAME, ems=ems))
    server = ServerConnection(lesson_server(rng=s_rng, versions=("1.2",), suites=(RSA_SUITE,),
                                            ems=ems))
    m_client_rng = ScriptedRandom(lesson_rng(seed + "/mallory-client"))
    m_server_rng = ScriptedRandom(lesson_rng(seed + "/mallory-server"))
    m_client = ClientConnection(lesson_client(rng=m_client_rng, versions=("1.2",),
                                              suites=(RSA_SUITE,), ems=m_ems))
    m_server = ServerConnection(lesson_server(rng=m_server_rng, versions=("1.2",),
                                              suites=(RSA_SUITE,), ems=m_ems,
                                              identities=(identities.mallory(),)))
    # 1. C -> Mallory: ClientHello. 2. Mallory -> S: a ClientHello with C's client_random.
    client.start()
    hello = client.data_to_send()
    m_client_rng.script.append(client.hs.client_random)
    m_client.start()
    server.receive(m_client.data_to_send())
    held = server.data_to_send()                        # S's ServerHello .. ServerHelloDone
    # 3. Mallory -> C: her ServerHello with S's server_random, her certificate.
    m_server_rng.script.append(server.hs.server_random)
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
    except Exception as error:          # a TLSError: the check that refused it
        check = getattr(error, "check", None)
    return Result(client.hs.master_secret, server.hs.master_secret,
                  (client.hs.extended_master_secret, server.hs.extended_master_secret),
                  accepted, check,
                  (client.values["client_verify_data"], m_client.values["client_verify_data"]),
                  left, right)
