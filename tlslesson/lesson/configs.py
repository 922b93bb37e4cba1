"""Lesson configurations: the choices that make a lesson's handshake show the same bytes on
every run. They are configuration, not modes: the protocol code takes the same path for a lesson
and for a live connection, and only these values differ.

* randomness from a named seed (``rng.lesson_rngs``): randoms and ephemeral keys repeat;
* PKCS#1 v1.5 preferred over RSA-PSS where TLS 1.2 allows it: PSS signatures are salted at
  random, PKCS#1 v1.5 and ECDSA (RFC 6979) are deterministic;
* the ECDSA certificate first, so a TLS 1.3 server (which cannot use PKCS#1 v1.5) signs with
  deterministic ECDSA;
* application-data records kept in the log, so a lesson can show them;
* no NewSessionTickets unless asked for (``tickets=2``): the ladders of notebooks 01-09 end at
  Finished; notebook 12 (resumption) turns them on;
* a ticket key from the seed and a fixed clock (``LESSON_CLOCK``), so tickets, ticket ages and
  resumed handshakes repeat too (a real server dates tickets by the wall clock);
* the classical groups only (``groups.CLASSICAL``: x25519, P-256, ffdhe2048, one x25519 key
  share), not the package's post-quantum default: the ClientHellos notebooks 00-11 show and check
  stay the bytes they explain; notebook 13 offers X25519MLKEM768 by name (``groups=``);
* no encrypt_then_mac (RFC 7366) and no record_size_limit (RFC 8449) in the hellos: the lessons
  teach the ClientHello and CBC's MAC-then-encrypt as RFC 5246 has them, and notebook 07 turns
  encrypt_then_mac on (``encrypt_then_mac=True``) to show the difference;
* no TLS 1.2 resumption unless a lesson asks for it (``session_cache=SessionCache()``,
  ``ticket_keys=TicketKeys(rng)``, ``session_tickets=True``): a session ID in every ServerHello
  would change the bytes of every other lesson.

A real TLS stack uses fresh randomness and prefers RSA-PSS: ``ClientConfig()`` / ``ServerConfig()``.

>>> client, server = lesson_configs(versions=("1.2",))
>>> client.rng.seed, server.rng.seed
('tls-lesson/client', 'tls-lesson/server')
"""
from __future__ import annotations

from .. import groups, pki, signatures
from ..connection import ClientConfig, ServerConfig
from ..rng import LessonRandom, lesson_rngs
from ..sessions import TicketKeys

# 2026-01-01 00:00:00 UTC in milliseconds: the lessons' "now" for tickets
LESSON_TIME_MS = 1_767_225_600_000


def LESSON_CLOCK() -> int:
    return LESSON_TIME_MS

SIGNATURE_PREFERENCE = signatures.PKCS1_FIRST


def lesson_identities() -> tuple:
    """The lesson server's certificates, ECDSA first (see above)."""
    lesson = pki.lesson_pki()
    return (lesson.ecdsa_server, lesson.rsa_server)


def lesson_client(**options) -> ClientConfig:
    """A ``ClientConfig`` with the lesson's choices; ``options`` as for ``ClientConfig``
    (give ``rng=``, e.g. from ``lesson_rngs(seed)``; without one, the seed "tls-lesson")."""
    options.setdefault("rng", lesson_rngs()[0])
    options.setdefault("signature_preference", SIGNATURE_PREFERENCE)
    options.setdefault("log_records", True)
    options.setdefault("encrypt_then_mac", False)
    options.setdefault("record_size_limit", None)
    options.setdefault("clock", LESSON_CLOCK)
    options.setdefault("groups", groups.CLASSICAL)      # see above: the notebooks' bytes
    options.setdefault("session_tickets", False)
    return ClientConfig(**options)


def lesson_server(**options) -> ServerConfig:
    """A ``ServerConfig`` with the lesson's choices; ``options`` as for ``ServerConfig``."""
    options.setdefault("rng", lesson_rngs()[1])
    options.setdefault("signature_preference", SIGNATURE_PREFERENCE)
    options.setdefault("identities", lesson_identities())
    options.setdefault("log_records", True)
    options.setdefault("encrypt_then_mac", False)
    options.setdefault("record_size_limit", None)
    options.setdefault("clock", LESSON_CLOCK)
    options.setdefault("tickets", 0)
    options.setdefault("session_cache", None)
    if "ticket_keys" not in options:     # seeded, so tickets repeat; none sent unless asked for
        seed = getattr(options["rng"], "seed", "tls-lesson/server")
        options["ticket_keys"] = TicketKeys(LessonRandom(f"{seed}/ticket-keys"))
    options.setdefault("groups", groups.CLASSICAL)      # see above: the notebooks' bytes
    return ServerConfig(**options)


def lesson_configs(seed: str = "tls-lesson", client: dict | None = None,
                   server: dict | None = None, **both) -> tuple[ClientConfig, ServerConfig]:
    """(client, server) configurations for one lesson handshake from ``seed``: ``both`` go to
    each side (versions, suites, ems, groups), ``client`` / ``server`` to one side only."""
    client_rng, server_rng = lesson_rngs(seed)
    return (lesson_client(rng=client_rng, **both, **(client or {})),
            lesson_server(rng=server_rng, **both, **(server or {})))
