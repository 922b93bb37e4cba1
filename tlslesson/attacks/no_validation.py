"""Lab 1 — a client that skips certificate validation talks to whoever answers.

Mallory sits between the client and the real server and runs two ordinary TLS connections: as a
server towards the client, with a certificate of her own (self-signed, claiming "localhost"), and
as a client towards the real server. Encryption protects each hop; only the certificate check
tells the client that its hop ends at Mallory. Without it (``ClientConfig(verify=False)``, the
"never for real" switch) she reads the session cookie and passes everything on, and neither end
notices. With it, the client stops at the validation step that fails, ``certificate:chain
building / trust anchor`` (RFC 5280 §6.1; the lesson CA never issued Mallory's certificate).

M. Georgiev et al., "The Most Dangerous Code in the World: Validating SSL Certificates in
Non-Browser Software", ACM CCS 2012, found exactly this switch left off in real applications.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..client import ClientConnection
from ..lesson.configs import lesson_client, lesson_server
from ..rng import lesson_rngs
from ..server import ServerConnection
from . import identities
from .inmemory import Run, run, send_data

REQUEST = b"GET /inbox HTTP/1.1\r\nHost: localhost\r\nCookie: session=7f3a9c2e51d84b06\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nYou have mail"


@dataclass
class Result:
    succeeded: bool               # Mallory read the cookie and the client got its answer
    cookie: bytes | None          # what Mallory read
    client_received: bytes        # what the client got back (through Mallory)
    check: str | None             # the check that stopped the client, if one did
    to_mallory: Run               # client <-> Mallory
    to_server: Run | None         # Mallory <-> the real server


def cookie_of(request: bytes) -> bytes | None:
    for line in request.split(b"\r\n"):
        if line.lower().startswith(b"cookie:"):
            return line.split(b"=", 1)[1]
    return None


def man_in_the_middle(verify: bool, request: bytes = REQUEST, response: bytes = RESPONSE,
                      seed: str = "attack-lab/mitm") -> Result:
    """The client (validating or not) connects to "localhost"; Mallory answers."""
    client_rng, server_rng = lesson_rngs(seed)
    mallory_as_client_rng, mallory_as_server_rng = lesson_rngs(seed + "/mallory")
    client = ClientConnection(lesson_client(rng=client_rng, verify=verify))
    mallory_as_server = ServerConnection(lesson_server(
        rng=mallory_as_server_rng, identities=(identities.mallory_self_signed(),)))
    left = run(client, mallory_as_server)
    if not left.ok:
        return Result(False, None, b"", left.check, left, None)
    # Mallory's own connection to the real server: an ordinary, validating client
    real_server = ServerConnection(lesson_server(rng=server_rng))
    right = run(ClientConnection(lesson_client(rng=mallory_as_client_rng)), real_server)
    seen = b"".join(send_data(left, "client", request))           # Mallory decrypts the request
    send_data(right, "client", seen)                              # ... and forwards it
    answer = b"".join(send_data(right, "server", response))       # the server's answer
    back = b"".join(send_data(left, "server", answer))            # ... passed back
    return Result(cookie_of(seen) is not None and back == response, cookie_of(seen), back,
                  None, left, right)
