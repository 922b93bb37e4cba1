"""tlslesson.lesson.tasks: each lesson's small coding task, checked with the assignments' check()."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519

from tlslesson import tls12
from tlslesson.lesson.tasks import TASKS, check

ROOT = Path(__file__).resolve().parent.parent


def record_type(record):
    return {20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data"}[record[0]]


def hello_random(client_hello):
    return client_hello[6:38]


def chosen_suite(server_hello):
    sid = server_hello[38]
    return int.from_bytes(server_hello[39 + sid:41 + sid], "big")


def cert_fingerprint(der):
    return hashlib.sha256(der).digest()


def x25519_secret(private, peer_public):
    return x25519.X25519PrivateKey.from_private_bytes(private).exchange(
        x25519.X25519PublicKey.from_public_bytes(peer_public))


def session_hash(messages):
    return hashlib.sha256(b"".join(messages)).digest()


def finished_12(master_secret, label, handshake_hash):
    return tls12.prf(master_secret, label, handshake_hash, 12)


def nonce_13(iv, seq):
    return bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big")))


def cv_content_13(transcript_hash, role):
    return b" " * 64 + f"TLS 1.3, {role} CertificateVerify".encode() + b"\x00" + transcript_hash


def inner_content(inner):
    content = inner.rstrip(b"\x00")
    return content[-1], content[:-1]


def keylog_master(line):
    return bytes.fromhex(line.split()[2])


def flip_bit(record, offset, bit):
    return record[:offset] + bytes([record[offset] ^ (1 << bit)]) + record[offset + 1:]


def binder_13(psk, truncated_hello):
    import hmac
    from tlslesson import tls13
    early_secret = tls13.hkdf_extract("SHA256", bytes(32), psk)
    binder_key = tls13.derive_secret("SHA256", early_secret, "res binder", hashlib.sha256(b"").digest())
    finished_key = tls13.hkdf_expand_label("SHA256", binder_key, "finished", b"", 32)
    return hmac.new(finished_key, hashlib.sha256(truncated_hello).digest(), "sha256").digest()


def record_sizes(stream):
    out = []
    while len(stream) >= 5 and len(stream) >= 5 + int.from_bytes(stream[3:5], "big"):
        length = int.from_bytes(stream[3:5], "big")
        out.append((stream[0], length))
        stream = stream[5 + length:]
    return out


SOLUTIONS = {f.__name__: f for f in (record_type, hello_random, chosen_suite, cert_fingerprint, x25519_secret,
                                      session_hash, finished_12, nonce_13, cv_content_13, inner_content,
                                      keylog_master, flip_bit, binder_13, record_sizes)}


@pytest.mark.parametrize("lesson, name", sorted(TASKS.items()))
def test_a_right_answer_passes_and_a_stub_is_unanswered(lesson, name):
    assert check(name, SOLUTIONS[name], show=False), check(name, SOLUTIONS[name], show=False).text
    assert check(name, SOLUTIONS[name], seed=7, show=False)

    def stub(*args):
        raise NotImplementedError()
    assert check(name, stub, show=False).status == "unanswered"


def test_the_classic_mistakes_are_caught():
    assert not check("inner_content", lambda inner: (inner[-1], inner[:-1]), show=False)   # forgot padding
    assert not check("hello_random", lambda ch: ch[4:36], show=False)                      # forgot version
    assert not check("keylog_master", lambda line: bytes.fromhex(line.split(" ")[2].strip()[:-2]), show=False)

    def binder_with_the_binder_key(psk, truncated_hello):       # forgot the finished_key step
        import hmac
        from tlslesson import tls13
        early = tls13.hkdf_extract("SHA256", bytes(32), psk)
        key = tls13.derive_secret("SHA256", early, "res binder", hashlib.sha256(b"").digest())
        return hmac.new(key, hashlib.sha256(truncated_hello).digest(), "sha256").digest()
    assert not check("binder_13", binder_with_the_binder_key, show=False)
    # the partial record at the end counted as a record
    assert not check("record_sizes", lambda s: [(s[i], int.from_bytes(s[i + 3:i + 5], "big"))
                                                for i in _headers(s)], show=False)


def _headers(stream):
    at = 0
    while at + 5 <= len(stream):
        yield at
        at += 5 + int.from_bytes(stream[at + 3:at + 5], "big")


@pytest.mark.parametrize("lesson, name", sorted(TASKS.items()))
def test_each_lesson_has_its_task_and_two_predict_prompts(lesson, name):
    [path] = (ROOT / "notebooks").glob(f"{lesson}-*.ipynb")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) for c in cells]
    assert any(f'check("{name}"' in s for s, c in zip(sources, cells) if c["cell_type"] == "code"), \
        f"{path.name}: no check({name!r}, ...) cell"
    prompts = sum(s.count("**Predict, then run.**") for s, c in zip(sources, cells) if c["cell_type"] == "markdown")
    assert prompts >= 2, f"{path.name}: {prompts} predict-then-run prompt(s), want at least 2"


def test_lesson_tasks_imported_before_the_assignments_still_check():
    """A notebook imports lesson/tasks.py first; the assignments' own-code rules that load after
    it must leave the lesson's practice tasks alone (a KeyError here broke every notebook)."""
    import subprocess
    import sys
    code = ("import tlslesson.lesson.tasks as t\n"
            "from tlslesson.assignments import exercises, checker\n"
            "assert 'record_type' in checker.EXERCISES\n"
            "assert checker.EXERCISES['hkdf_label'].forbidden\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
