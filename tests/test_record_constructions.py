"""The record layer's named constructions (record.py) against bytes made elsewhere.

* TLS 1.3 ``additional_data_13`` and ``nonce_xor``: the protected records of RFC 8448 §3 (the
  simple 1-RTT trace, ``tests/vectors/rfc8448_simple.json``), rebuilt with cryptography's AESGCM
  alone from the trace's keys, IVs and payloads — records 0, 1 (and 2) of each direction.
* TLS 1.2 ``nonce_12_gcm``, ``additional_data_12`` and (ChaCha20-Poly1305) ``nonce_xor``: records
  that OpenSSL itself sealed (Python's ssl over MemoryBIO, no network), opened with
  cryptography's AEADs from the key block derived out of OpenSSL's key log.
* TLS 1.2 CBC ``mac_input_12``: against the 13-byte header built by hand and the hmac module,
  for HMAC-SHA1, -SHA256 and -SHA384 with AES-128 and AES-256 keys; the key block of a SHA-384
  suite against P_SHA384 written out with the hmac module.
* TLS 1.3 AES-CCM: records sealed by ``AEAD13`` against cryptography's AESCCM alone.
* TLS 1.2 CBC encrypt-then-MAC (RFC 7366) ``mac_input_12_etm`` and ``CBC12EtM``: against a record
  built with cryptography's HMAC and AES-CBC alone, and records OpenSSL sealed with EtM on.
* ``protected_layout``: the parts of every protected record of every suite's lesson handshake,
  and the labels the hex view gives them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from tlslesson import keylog, suites, tls12
from tlslesson.errors import AlertError
from tlslesson.pki import lesson_pki
from tlslesson.errors import AlertError
from tlslesson.record import (AEAD12, AEAD13, CBC12, CBC12EtM, Record, RecordBuffer,
                              additional_data_12, additional_data_13, mac_input_12,
                              mac_input_12_etm, nonce_12_gcm, nonce_xor, protected_layout)

VECTORS = Path(__file__).resolve().parent / "vectors" / "rfc8448_simple.json"


@pytest.fixture(scope="module")
def rfc() -> dict[str, bytes]:
    values = json.loads(VECTORS.read_text())["values"]
    return {name: bytes.fromhex(v["hex"]) for name, v in values.items()}


# =================================================================================================
# TLS 1.3: RFC 8448 §3
# =================================================================================================
# (record, payload, inner content type, key, iv, sequence number) — one direction's records in order
RFC8448_RECORDS = [
    ("server_flight_record", "server_flight_payload", 22, "server_handshake", 0),
    ("client_finished_record", "client_finished", 22, "client_handshake", 0),
    ("new_session_ticket_record", "new_session_ticket", 22, "server_application", 0),
    ("server_application_data_record", "server_application_data", 23, "server_application", 1),
    ("server_alert_record", "server_alert", 21, "server_application", 2),
    ("client_application_data_record", "client_application_data", 23, "client_application", 0),
    ("client_alert_record", "client_alert", 21, "client_application", 1),
]


@pytest.mark.parametrize("record, payload, content_type, keys, seq", RFC8448_RECORDS,
                         ids=[r[0] for r in RFC8448_RECORDS])
def test_rfc8448_records_rebuilt_from_the_named_constructions(rfc, record, payload, content_type,
                                                              keys, seq):
    wire, key, iv = rfc[record], rfc[f"{keys}_key"], rfc[f"{keys}_iv"]
    assert additional_data_13(len(wire) - 5) == wire[:5]             # the header is the AAD
    inner = rfc[payload] + bytes([content_type])                      # TLSInnerPlaintext, no padding
    nonce = nonce_xor(iv, seq)
    assert AESGCM(key).encrypt(nonce, inner, wire[:5]) == wire[5:]
    assert AESGCM(key).decrypt(nonce, wire[5:], additional_data_13(len(wire) - 5)) == inner
    # and the protection object, which calls the same functions, seals the same bytes
    protection = AEAD13(suites.get("TLS_AES_128_GCM_SHA256"), key, iv)
    protection.seq = seq
    assert protection.seal(content_type, 0x0303, rfc[payload]).encode() == wire


def test_rfc8448_nonces_of_records_0_and_1(rfc):
    iv = rfc["client_application_iv"]
    assert iv.hex() == "5b78923dee08579033e523d9"                      # RFC 8448 §3 ("iv expanded", client application)
    assert nonce_xor(iv, 0) == iv                                      # seq 0: the IV itself
    assert nonce_xor(iv, 1).hex() == "5b78923dee08579033e523d8"        # last bit flipped
    assert nonce_xor(iv, 0x0102030405060708).hex() == "5b78923def0a549436e324d1"
    assert nonce_xor(bytes(12), 2 ** 64 - 1) == bytes(4) + b"\xff" * 8


def test_additional_data_13_keeps_the_header_as_given():
    assert additional_data_13(0x11) == bytes.fromhex("1703030011")
    assert additional_data_13(0x4011, 23, 0x0301) == bytes.fromhex("1703014011")


# =================================================================================================
# TLS 1.2 AEAD: records OpenSSL sealed
# =================================================================================================
def _openssl_tls12_records(tmp_path, openssl_name: str, data: bytes):
    """A TLS 1.2 handshake between two Python ssl (OpenSSL) objects over MemoryBIO, then ``data``
    from client to server. Returns the client's records, the randoms and the master secret."""
    pki = lesson_pki()
    (tmp_path / "chain.pem").write_bytes(pki.rsa_server.chain_pem)
    (tmp_path / "key.pem").write_bytes(pki.rsa_server.key_pem)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "chain.pem", tmp_path / "key.pem")
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname, client_ctx.verify_mode = False, ssl.CERT_NONE
    client_ctx.keylog_filename = str(tmp_path / "keylog.txt")
    for ctx in (server_ctx, client_ctx):
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(openssl_name)
        ctx.options |= ssl.OP_NO_TICKET
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname="localhost")
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    to_server, to_client = bytearray(), bytearray()
    done = [False, False]
    for _ in range(10):
        for i, end in enumerate((client, server)):
            if not done[i]:
                try:
                    end.do_handshake()
                    done[i] = True
                except ssl.SSLWantReadError:
                    pass
            if i == 0:
                chunk = c_out.read()
                to_server += chunk
                s_in.write(chunk)
            else:
                chunk = s_out.read()
                to_client += chunk
                c_in.write(chunk)
        if all(done) and not c_out.pending and not s_out.pending:
            break
    assert all(done) and client.cipher()[0] == openssl_name
    client.write(data)
    sent = c_out.read()
    s_in.write(sent)
    assert server.read(len(data)) == data                 # OpenSSL accepts its own record, too

    def records(raw):
        buffer, out = RecordBuffer(), []
        buffer.feed(bytes(raw))
        while (record := buffer.next_record()) is not None:
            out.append(record)
        return out
    client_records = records(to_server + sent)
    client_random = client_records[0].fragment[6:38]     # ClientHello: type, length 3, version 2
    server_random = records(to_client)[0].fragment[6:38]
    entries = keylog.parse((tmp_path / "keylog.txt").read_text())
    master = next(secret for label, cr, secret in entries
                  if label == "CLIENT_RANDOM" and cr == client_random)
    return client_records, client_random, server_random, master


@pytest.mark.parametrize("name", ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"])
def test_tls12_aead_records_sealed_by_openssl(tmp_path, name):
    suite = suites.get(name)
    data = b"GET / HTTP/1.0\r\n\r\n"
    try:
        records, client_random, server_random, master = _openssl_tls12_records(
            tmp_path, suite.openssl_name, data)
    except ssl.SSLError as exc:                               # an OpenSSL built without the suite
        pytest.skip(f"OpenSSL: {exc}")
    keys = tls12.key_block(master, client_random, server_random, suite)
    finished, app = [r for r in records if r.content_type in (22, 23)][-2:]
    assert (finished.content_type, app.content_type) == (22, 23)
    plaintexts = {}
    for seq, record in enumerate((finished, app)):           # the first protected record is seq 0
        fragment = record.fragment
        if suite.cipher == "CHACHA20_POLY1305":
            aead, nonce, body = ChaCha20Poly1305(keys.client_write_key), \
                nonce_xor(keys.client_write_iv, seq), fragment
        else:
            aead, nonce, body = AESGCM(keys.client_write_key), \
                nonce_12_gcm(keys.client_write_iv, fragment[:8]), fragment[8:]
        aad = additional_data_12(seq, record.content_type, record.version, len(body) - 16)
        plaintexts[seq] = aead.decrypt(nonce, body, aad)
        layout = protected_layout(suite, len(fragment))
        assert sum(length for _, _, length in layout) == len(fragment)
        assert layout[-1] == ("AEAD tag", len(fragment) - 16, 16)
    assert plaintexts[1] == data
    assert plaintexts[0][:4] == bytes.fromhex("1400000c")   # Finished, 12 bytes of verify_data
    reader = AEAD12(suite, keys.client_write_key, keys.client_write_iv)
    assert [reader.open(r) for r in (finished, app)] == [(22, plaintexts[0]), (23, data)]


def test_tls12_gcm_seals_the_rfc5288_layout():
    """An independent construction with AESGCM alone, for a seq that fills all 8 explicit bytes."""
    suite = suites.get("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    key, salt, seq = bytes(range(16)), b"\xa1\xb2\xc3\xd4", 0x0102030405060708
    sealer = AEAD12(suite, key, salt)
    sealer.seq = seq
    record = sealer.seal(23, 0x0303, b"hello")
    explicit = bytes.fromhex("0102030405060708")
    header13 = bytes.fromhex("0102030405060708" "17" "0303" "0005")
    assert additional_data_12(seq, 23, 0x0303, 5) == header13
    assert nonce_12_gcm(salt, explicit) == bytes.fromhex("a1b2c3d4" "0102030405060708")
    assert record.fragment == explicit + AESGCM(key).encrypt(salt + explicit, b"hello", header13)


# =================================================================================================
# TLS 1.2 CBC
# =================================================================================================
class _Recording:
    """An rng that hands out known bytes and remembers what it was asked for."""

    def __init__(self):
        self.asked = []

    def bytes(self, n: int) -> bytes:
        self.asked.append(n)
        return bytes([len(self.asked)]) * n


def test_cbc_mac_input_and_a_record_built_by_hand():
    suite = suites.get("TLS_RSA_WITH_AES_128_CBC_SHA")
    key, mac_key, seq, plaintext = b"K" * 16, b"M" * 20, 7, b"fourteen bytes"
    header = seq.to_bytes(8, "big") + b"\x17" + b"\x03\x03" + len(plaintext).to_bytes(2, "big")
    assert mac_input_12(seq, 23, 0x0303, plaintext) == header + plaintext
    assert mac_input_12(seq, 23, 0x0303, plaintext)[:13] == additional_data_12(seq, 23, 0x0303, 14)

    rng = _Recording()
    sealer = CBC12(suite, key, mac_key, rng)
    sealer.seq = seq
    record = sealer.seal(23, 0x0303, plaintext)
    assert rng.asked == [16] and record.fragment[:16] == b"\x01" * 16     # the IV is rng.bytes(16)
    dec = Cipher(algorithms.AES(key), modes.CBC(record.fragment[:16])).decryptor()
    data = dec.update(record.fragment[16:]) + dec.finalize()
    tag = hmac.new(mac_key, header + plaintext, hashlib.sha1).digest()
    pad = 13                                     # 14 + 20 bytes, then 14 bytes each = 13: 48
    assert data == plaintext + tag + bytes([pad]) * (pad + 1)
    layout = protected_layout(suite, len(record.fragment))
    assert layout == [("IV (explicit, per record)", 0, 16),
                      ("ciphertext (message + HMAC + padding)", 16, 48)]


def test_cbc_draws_every_iv_from_the_rng_it_is_given_and_defaults_to_the_system():
    suite = suites.get("TLS_RSA_WITH_AES_128_CBC_SHA")
    rng = _Recording()
    sealer = CBC12(suite, b"K" * 16, b"M" * 20, rng)
    ivs = [sealer.seal(23, 0x0303, b"x").fragment[:16] for _ in range(3)]
    assert rng.asked == [16, 16, 16] and ivs == [bytes([i]) * 16 for i in (1, 2, 3)]
    system = CBC12(suite, b"K" * 16, b"M" * 20)                            # rng=None: os.urandom
    assert system.seal(23, 0x0303, b"x").fragment[:16] != system.seal(23, 0x0303, b"x").fragment[:16]


@pytest.mark.parametrize("name, digest", [("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", hashlib.sha256),
                                          ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", hashlib.sha384),
                                          ("TLS_RSA_WITH_AES_256_CBC_SHA", hashlib.sha1)])
def test_cbc_records_with_each_hmac_and_key_length(name, digest):
    """RFC 5246 §6.2.3.2 / RFC 5289 §3.2, built by hand: AES (128 or 256) over plaintext +
    HMAC(mac_key, seq + header + plaintext) + padding, the HMAC from the hmac module."""
    suite = suites.get(name)
    key, mac_key = b"K" * suite.key_length, b"M" * suite.mac_length
    seq, plaintext = 3, b"twenty-one bytes here"
    sealer = CBC12(suite, key, mac_key, _Recording())
    sealer.seq = seq
    record = sealer.seal(23, 0x0303, plaintext)
    dec = Cipher(algorithms.AES(key), modes.CBC(record.fragment[:16])).decryptor()
    data = dec.update(record.fragment[16:]) + dec.finalize()
    header = seq.to_bytes(8, "big") + b"\x17\x03\x03" + len(plaintext).to_bytes(2, "big")
    tag = hmac.new(mac_key, header + plaintext, digest).digest()
    assert len(tag) == suite.mac_length == digest().digest_size
    pad = 15 - (len(plaintext) + len(tag)) % 16
    assert data == plaintext + tag + bytes([pad]) * (pad + 1)
    opener = CBC12(suite, key, mac_key)
    opener.seq = seq
    assert opener.open(record) == (23, plaintext)
    flipped = record._replace(fragment=record.fragment[:-17] + bytes([record.fragment[-17] ^ 1])
                              + record.fragment[-16:])
    opener.seq = seq
    with pytest.raises(AlertError, match="CBC padding or HMAC"):
        opener.open(flipped)


def _p_hash(digest, secret: bytes, seed: bytes, n: int) -> bytes:
    """RFC 5246 §5 P_hash, written out with the hmac module."""
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, digest).digest()
        out += hmac.new(secret, a + seed, digest).digest()
    return out[:n]


def test_key_block_of_a_sha384_cbc_suite():
    """RFC 5289 §3.2: the PRF of ..._CBC_SHA384 is P_SHA384; the block holds 2 x 48-byte MAC keys
    and 2 x 32-byte AES-256 keys, and no IVs (RFC 5246 §6.3: CBC IVs travel in each record)."""
    suite = suites.get("ECDHE-RSA-AES256-SHA384")
    master, cr, sr = b"m" * 48, b"c" * 32, b"s" * 32
    block = _p_hash(hashlib.sha384, master, b"key expansion" + sr + cr, 2 * (48 + 32))
    kb = tls12.key_block(master, cr, sr, suite)
    assert (kb.client_write_mac_key, kb.server_write_mac_key) == (block[:48], block[48:96])
    assert (kb.client_write_key, kb.server_write_key) == (block[96:128], block[128:160])
    assert kb.client_write_iv == kb.server_write_iv == b""


def test_tls13_ccm_record_against_aesccm():
    """TLS_AES_128_CCM_SHA256 (RFC 8446 §5.2, §B.4): AEAD_AES_128_CCM with a 16-byte tag over the
    TLSInnerPlaintext, nonce = iv XOR seq, additional data = the record header."""
    suite = suites.get("TLS_AES_128_CCM_SHA256")
    key, iv, seq = bytes(range(16)), bytes(range(100, 112)), 5
    sealer = AEAD13(suite, key, iv)
    sealer.seq = seq
    record = sealer.seal(23, 0x0303, b"hello", padding=2)
    inner = b"hello" + b"\x17" + b"\x00\x00"
    nonce = iv[:-1] + bytes([iv[-1] ^ seq])
    header = bytes.fromhex("170303") + (len(inner) + 16).to_bytes(2, "big")
    assert record.encode() == header + AESCCM(key, tag_length=16).encrypt(nonce, inner, header)
    assert record.fragment != AESGCM(key).encrypt(nonce, inner, header)      # not GCM by mistake
    assert protected_layout(suite, len(record.fragment))[-1] == ("AEAD tag", len(inner), 16)
    opener = AEAD13(suite, key, iv)
    assert opener.open(record, seq) == (23, b"hello")
    with pytest.raises(AlertError, match="AEAD tag"):
        opener.open(record._replace(fragment=record.fragment[:-1] + bytes([record.fragment[-1] ^ 1])), seq)


# =================================================================================================
# TLS 1.2 CBC, encrypt-then-MAC (RFC 7366 §3)
# =================================================================================================
def _etm_by_hand(suite, key, mac_key, seq, content_type, plaintext, iv):
    """RFC 7366 §3 with cryptography alone: IV + AES-CBC(plaintext + padding), then
    HMAC(seq_num + type + version + length of (IV + ciphertext) + IV + ciphertext)."""
    from cryptography.hazmat.primitives import hashes, hmac as chmac
    pad = 15 - len(plaintext) % 16
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    body = iv + enc.update(plaintext + bytes([pad]) * (pad + 1)) + enc.finalize()
    h = chmac.HMAC(mac_key, getattr(hashes, suite.mac)())
    h.update(seq.to_bytes(8, "big") + bytes([content_type]) + b"\x03\x03"
             + len(body).to_bytes(2, "big") + body)
    return body + h.finalize()


@pytest.mark.parametrize("name", [s.name for s in suites.TLS12_SUITES if not s.aead])
@pytest.mark.parametrize("plaintext", [b"", b"fourteen bytes", b"sixteen bytes!!!", bytes(100)])
def test_etm_record_matches_one_built_with_cryptography(name, plaintext):
    suite = suites.get(name)
    key, mac_key, seq = bytes(range(suite.key_length)), b"M" * suite.mac_length, 0x0102030405060708
    rng = _Recording()
    sealer = CBC12EtM(suite, key, mac_key, rng)
    sealer.seq = seq
    record = sealer.seal(23, 0x0303, plaintext)
    assert record.fragment == _etm_by_hand(suite, key, mac_key, seq, 23, plaintext, b"\x01" * 16)
    body = record.fragment[:-suite.mac_length]
    assert mac_input_12_etm(seq, 23, 0x0303, body) == \
        bytes.fromhex("0102030405060708" "17" "0303") + len(body).to_bytes(2, "big") + body
    reader = CBC12EtM(suite, key, mac_key)
    reader.seq = seq
    assert reader.open(record) == (23, plaintext) and reader.seq == seq + 1


def test_etm_mac_input_known_answer():
    """A fixed vector: HMAC-SHA1 over the RFC 7366 §3 input of an all-zero IV + one block."""
    import hashlib
    body = bytes(32)
    data = mac_input_12_etm(0, 23, 0x0303, body)
    assert data.hex() == "0000000000000000" "17" "0303" "0020" + "00" * 32
    assert hmac.new(b"k" * 20, data, hashlib.sha1).digest() == \
        hmac.new(b"k" * 20, bytes.fromhex("00000000000000001703030020") + body, "sha1").digest()


@pytest.mark.parametrize("where", ["IV", "ciphertext", "MAC", "header type", "seq"])
def test_etm_tampering_is_bad_record_mac(where):
    suite = suites.get("TLS_RSA_WITH_AES_128_CBC_SHA")
    sealer, reader = (CBC12EtM(suite, b"K" * 16, b"M" * 20) for _ in range(2))
    record = sealer.seal(23, 0x0303, b"transfer 100 EUR to Bob")
    fragment, content_type = bytearray(record.fragment), 23
    if where == "IV":
        fragment[0] ^= 1
    elif where == "ciphertext":
        fragment[20] ^= 1
    elif where == "MAC":
        fragment[-1] ^= 1
    elif where == "header type":
        content_type = 22
    else:
        reader.seq = 1
    with pytest.raises(AlertError) as info:
        reader.open(Record(content_type, 0x0303, bytes(fragment)))
    assert info.value.alert == 20 and info.value.check == "record_mac"     # bad_record_mac


def test_etm_refuses_short_and_misaligned_fragments():
    suite = suites.get("TLS_RSA_WITH_AES_128_CBC_SHA")
    good = CBC12EtM(suite, b"K" * 16, b"M" * 20).seal(23, 0x0303, b"x").fragment
    for fragment in (b"", good[:20], good[:-1], good + b"\x00"):
        with pytest.raises(AlertError, match="length") as info:
            CBC12EtM(suite, b"K" * 16, b"M" * 20).open(Record(23, 0x0303, fragment))
        assert info.value.check == "record_mac"


def test_etm_records_sealed_by_openssl(tmp_path):
    """Two OpenSSL ends negotiate encrypt_then_mac for a CBC suite by default: our CBC12EtM opens
    the client's Finished and application data with the key block from OpenSSL's key log, and
    MAC-then-encrypt (CBC12) does not."""
    suite = suites.get("TLS_RSA_WITH_AES_128_CBC_SHA")
    data = b"GET / HTTP/1.0\r\n\r\n"
    records, client_random, server_random, master = _openssl_tls12_records(
        tmp_path, suite.openssl_name, data)
    keys = tls12.key_block(master, client_random, server_random, suite)
    finished, app = [r for r in records if r.content_type in (22, 23)][-2:]
    reader = CBC12EtM(suite, keys.client_write_key, keys.client_write_mac_key)
    content_type, verify = reader.open(finished)
    assert content_type == 22 and verify[:4] == bytes.fromhex("1400000c")
    assert reader.open(app) == (23, data)
    with pytest.raises(AlertError):
        CBC12(suite, keys.client_write_key, keys.client_write_mac_key).open(finished)


# =================================================================================================
# protected_layout
# =================================================================================================
def test_protected_layout_of_each_kind():
    gcm, chacha, cbc, v13 = (suites.get(n) for n in (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_AES_128_GCM_SHA256"))
    assert protected_layout(gcm, 40) == [("explicit nonce (sequence number)", 0, 8),
                                         ("ciphertext", 8, 16), ("AEAD tag", 24, 16)]
    assert protected_layout(chacha, 40) == [("ciphertext", 0, 24), ("AEAD tag", 24, 16)]
    assert protected_layout(cbc, 48, at=5) == [("IV (explicit, per record)", 5, 16),
                                               ("ciphertext (message + HMAC + padding)", 21, 32)]
    assert protected_layout(cbc, 68, at=5, etm=True) == [
        ("IV (explicit, per record)", 5, 16), ("ciphertext (message + padding)", 21, 32),
        ("HMAC-SHA1", 53, 20)]
    assert protected_layout(gcm, 40, etm=True) == protected_layout(gcm, 40)   # AEAD: no EtM
    assert protected_layout(v13, 40, at=5) == [
        ("encrypted_record (message + content type)", 5, 24), ("AEAD tag", 29, 16)]
    assert protected_layout(None, 40, "1.3") == protected_layout(v13, 40)
    assert protected_layout(None, 40) == protected_layout(gcm, 40)      # no suite: 1.2 AES-GCM
    # a (tampered) fragment too short for its parts: they stay inside it
    assert protected_layout(gcm, 12) == [("explicit nonce (sequence number)", 0, 8),
                                         ("ciphertext", 8, 0), ("AEAD tag", 8, 4)]


@pytest.mark.parametrize("suite", suites.ALL_SUITES, ids=lambda s: s.name)
def test_protected_layout_labels_what_the_hex_view_labels(suite):
    """Every protected record of the lesson handshake: the same parts as ``record_fields``."""
    from tlslesson.lesson.models import ExplorerModel
    model = ExplorerModel(version=suite.version, suite=suite.name)
    protected = [i for i, step in enumerate(model.steps) if step.protected]
    assert protected
    for i in protected:
        step = model.steps[i]
        shown = [(f.name, f.offset, f.length) for f in model.record_fields(i)
                 if f.depth == 1 and f.offset >= 5]
        assert shown == protected_layout(suite, len(step.record) - 5, step.context.version, at=5,
                                         etm=step.context.etm)


def test_hex_view_labels_encrypt_then_mac_records():
    """With encrypt_then_mac negotiated, the hex view shows IV | ciphertext | HMAC (RFC 7366)."""
    from tlslesson.connection import handshake
    from tlslesson.lesson import lesson_configs
    from tlslesson.lesson.models import record_fields
    suite = suites.get("TLS_RSA_WITH_AES_128_CBC_SHA")
    hs = handshake(*lesson_configs(versions=("1.2",), suites=(suite,), encrypt_then_mac=True))
    assert hs.ok and hs.client.hs.encrypt_then_mac
    protected = [step for step in hs.steps if step.protected]
    assert protected and all(step.context.etm for step in protected)
    for step in protected:
        shown = [(f.name, f.offset, f.length) for f in record_fields(step, suite)
                 if f.depth == 1 and f.offset >= 5]
        assert shown == protected_layout(suite, len(step.record) - 5, "1.2", at=5, etm=True)
        assert shown[-1] == ("HMAC-SHA1", len(step.record) - 20, 20)
