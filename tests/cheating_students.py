"""The students of issue 18 who want the marks without the work (tests/test_nbgrader.py grades them).

Each cheat replaces the solution region of one answer cell of an instructor notebook; every other
cell keeps the reference solution. Three students:

* "delegator" answers by calling the package's own solution of the exercise;
* "neighbour" copies the value answers of student "solution" (and types that id in STUDENT) —
  in assignment 06 a diagnosis keyed by the chain labels of the "solution" variant;
* "reader" answers with what the notebook shows: printed bytes, RFC 8448's values, the key log
  line, the Finished in the view — and, in assignment 06, what pki's validation says; in 07-09
  the blank binder, the ServerHello's last bytes, the alphabet the setup cell prints.

A cheat is a function of the neighbour's values (only "neighbour" uses them).
"""
from __future__ import annotations

import json
from pathlib import Path

BODY = "    "          # answers inside a function are indented once


def _indent(code: str) -> str:
    return "\n".join(BODY + line if line else line for line in code.split("\n"))


DELEGATOR = {
    "01-clienthello-by-hand": {
        "record-header": _indent("from tlslesson.record import RecordBuffer\n"
                                 "buffer = RecordBuffer(); buffer.feed(record)\n"
                                 "r = buffer.next_record()\n"
                                 "return r.content_type, r.version, len(r.fragment)"),
        "clienthello-fields": _indent(
            "from tlslesson.messages import Context, decode_handshake\n"
            "h = decode_handshake(message, Context('1.2'))\n"
            "return {'msg_type': message[0], 'length': int.from_bytes(message[1:4], 'big'),\n"
            "        'legacy_version': h.legacy_version, 'random': h.random,\n"
            "        'session_id': h.session_id, 'cipher_suites': list(h.cipher_suites)}"),
        "extension-types": _indent(
            "from tlslesson.messages import Context, decode_handshake\n"
            "return [e.type for e in decode_handshake(message, Context('1.2')).extensions]"),
    },
    "02-prf-and-keys": {
        "p-hash": _indent("from tlslesson import tls12\n"
                          "return tls12.p_hash(hash_name, secret, seed, length)"),
        "prf": _indent("from tlslesson import tls12\n"
                       "return tls12.prf(secret, label, seed, length, hash_name)"),
        "master-secret": _indent("from tlslesson import tls12\nreturn tls12.prf(pre_master, "
                                 "b'master secret', client_random + server_random, 48, "
                                 "hash_name)"),
        "key-block": _indent("import dataclasses\nfrom tlslesson import tls12\nreturn "
                             "dataclasses.asdict(tls12.key_block(master, client_random, "
                             "server_random, suite))"),
    },
    "03-finished-and-tampering": {
        "transcript-hash": _indent("from tlslesson.prf import Transcript\nt = Transcript()\n"
                                   "for m in messages:\n    t.add(m)\nreturn t.hash(hash_name)"),
        "verify-data": _indent("from tlslesson import suites\nsuite = next(s for s in "
                               "suites.TLS12_SUITES if s.hash == hash_name)\n"
                               "return tls12.verify_data(master, sender, handshake_hash, suite)"),
        "why-failed": _indent("from tlslesson import suites\nsuite = next(s for s in "
                              "suites.TLS12_SUITES if s.hash == hash_name)\nreturn "
                              "tls12.verify_data(master, 'client', digest(hash_name, "
                              "b''.join(view[:-1])), suite)"),
    },
    "04-decrypt-a-record": {
        "keylog": _indent("from tlslesson import keylog\nreturn keylog.parse(line)[0]"),
        "nonce": _indent("from tlslesson.record import nonce_12_gcm\n"
                         "return nonce_12_gcm(write_iv, fragment[:8])"),
        "aad": _indent("from tlslesson.record import additional_data_12\n"
                       "return additional_data_12(seq_num, content_type, version, length)"),
        "decrypt": _indent("from tlslesson import suites\nfrom tlslesson.record import AEAD12, "
                           "RecordBuffer\np = AEAD12(suites.get('ECDHE-RSA-AES128-GCM-SHA256'), "
                           "key, write_iv)\np.seq = seq_num\nb = RecordBuffer(); b.feed(record)\n"
                           "return p.open(b.next_record())[1]"),
    },
    "05-tls13-hkdf": {
        "hkdf-label": _indent("from tlslesson import tls13\n"
                              "return tls13.hkdf_label(label, context, length)"),
        "hkdf-expand-label": _indent("from tlslesson import tls13\nreturn "
                                     "tls13.hkdf_expand_label(hash_name, secret, label, "
                                     "context, length)"),
        "derive-secret": _indent("from tlslesson import tls13\nreturn tls13.derive_secret("
                                 "hash_name, secret, label, transcript_hash)"),
        "traffic-secrets": _indent(
            "from tlslesson import suites, tls13\nk = tls13.KeySchedule(next(s for s in "
            "suites.TLS13_SUITES if s.hash == hash_name))\nk.start()\n"
            "k.handshake(shared_secret, hello_hash)\nreturn (k.client_handshake_traffic_secret,"
            " k.server_handshake_traffic_secret)"),
        "traffic-keys": _indent("from tlslesson import tls13\nreturn (tls13.hkdf_expand_label("
                                "hash_name, secret, 'key', b'', key_length), tls13."
                                "hkdf_expand_label(hash_name, secret, 'iv', b'', iv_length))"),
    },
    "06-certificate-diagnosis": {
        "diagnosis": ("from tlslesson.errors import CertificateError\nanswers = {}\n"
                      "for label, chain in chains.items():\n    try:\n"
                      "        pki.validate_chain(list(chain.certificates), trusted, "
                      "hostname=chain.hostname)\n        answers[label] = 'accepted'\n"
                      "    except CertificateError as err:\n        answers[label] = err.step"),
    },
    "07-tls13-psk-binder": {
        "resumption-psk": _indent("return tls13.resumption_psk(hash_name, "
                                  "resumption_master_secret, ticket_nonce)"),
        "binder-key": _indent("from tlslesson import suites\nk = tls13.KeySchedule(next(s for s "
                              "in suites.TLS13_SUITES if s.hash == hash_name))\nk.start(psk)\n"
                              "return k.binder_key"),
        "truncated": _indent("from tlslesson import extensions\nfrom tlslesson.messages import "
                             "Context, decode_handshake\nh = decode_handshake(client_hello, "
                             "Context('1.2'))\nreturn tls13.truncated_client_hello(client_hello, "
                             "extensions.value(h.extensions[-1], 'client_hello'))"),
        "binder": _indent("from tlslesson import suites\nsuite = next(s for s in "
                          "suites.TLS13_SUITES if s.hash == hash_name)\nreturn tls13.psk_binder("
                          "suite, binder_key, digest(hash_name, truncated_client_hello("
                          "client_hello)))"),
        "resumption-binder": _indent(
            "from tlslesson import suites\nfrom tlslesson.messages import Context, "
            "decode_handshake\nh = resumption.hash_name\nfor w in "
            "resumption.new_session_tickets:\n    t = decode_handshake(w, Context('1.3'))\n"
            "    if t.ticket in resumption.client_hello:\n        break\n"
            "k = tls13.KeySchedule(next(s for s in suites.TLS13_SUITES if s.hash == h))\n"
            "k.start(tls13.resumption_psk(h, resumption.resumption_master_secret, "
            "t.ticket_nonce))\nreturn tls13.psk_binder(k.suite, k.binder_key, digest(h, "
            "truncated_client_hello(resumption.client_hello)))"),
    },
    "08-hybrid-key-share": {
        "split-client": _indent("from tlslesson import groups\n"
                                "return groups.X25519MLKEM768._split(key_exchange, 1184, 1216)"),
        "split-server": _indent("from tlslesson import groups\n"
                                "return groups.X25519MLKEM768._split(key_exchange, 1088, 1120)"),
        "client-secret": _indent(
            "from tlslesson import groups\nkeys = (MLKEM768PrivateKey.from_seed_bytes(mlkem_seed), "
            "X25519PrivateKey.from_private_bytes(x25519_private))\n"
            "return groups.X25519MLKEM768.client_finish(keys, server_share)"),
        "server-share": _indent(
            "from tlslesson import groups\nfrom tlslesson.rng import lesson_rng\n"
            "return groups.X25519MLKEM768.server_share(lesson_rng('x'), client_share)"),
        "own-secret": _indent(
            "from tlslesson import groups\nfrom tlslesson.constants import ExtensionType\n"
            "from tlslesson.extensions import value\nfrom tlslesson.messages import Context, "
            "decode_handshake\nsh = decode_handshake(hellos.server_hello, Context('1.3'))\n"
            "share = value(sh.extension(ExtensionType.key_share), 'server_hello').key_exchange\n"
            "keys = (MLKEM768PrivateKey.from_seed_bytes(hellos.mlkem_seed), "
            "X25519PrivateKey.from_private_bytes(hellos.x25519_private))\n"
            "return groups.X25519MLKEM768.client_finish(keys, share)"),
    },
    "09-cbc-padding-oracle": {
        "padding-query": _indent("from tlslesson.attacks.cbc_padding_oracle import query_block\n"
                                 "return query_block(list(blocks), j, position, guess, known)"),
        "recover": _indent(
            "from tlslesson.attacks.cbc_padding_oracle import query_block\nfound = bytes(known)\n"
            "for position in range(15 - len(known), 15 - len(known) - count, -1):\n"
            "    for guess in ORDER:\n"
            "        if ask(lambda f: query_block(split_blocks(f), j, position, guess, found)):\n"
            "            found = bytes([guess]) + found\n            break\n"
            "return found[:count]"),
        "steal": _indent(
            "from tlslesson.attacks.cbc_padding_oracle import query_block\nout = b''\n"
            "start = len(oracle.prefix)\nfor j, count, known in ((start // 16 + 1, 4, b''), "
            "(start // 16 + 2, 12, oracle.suffix)):\n    found = bytes(known)\n"
            "    for position in range(15 - len(known), 15 - len(known) - count, -1):\n"
            "        for guess in ORDER:\n            if oracle.ask(lambda f: query_block("
            "split_blocks(f), j, position, guess, found)):\n"
            "                found = bytes([guess]) + found\n                break\n"
            "    out += found[:count]\nreturn out"),
    },
}

READER = {
    "01-clienthello-by-hand": {           # the bytes the setup cell printed
        "record-header": _indent("return 22, 0x0301, len(record) - 5"),
    },
    "02-prf-and-keys": {                   # the key log line holds the master secret
        "master-secret": _indent("return bytes.fromhex(session.keylog.split()[2])"),
    },
    "03-finished-and-tampering": {         # the client's Finished is right there in the view
        "why-failed": _indent("return view[-1][4:]"),
    },
    "04-decrypt-a-record": {
        "decrypt": _indent("return data.REQUEST"),
    },
    "05-tls13-hkdf": {                     # the RFC's values, which the notebook shows
        "inputs": "shared_secret = RFC('shared_secret')\nhello_hash = RFC('hello_hash')",
    },
    "06-certificate-diagnosis": DELEGATOR["06-certificate-diagnosis"],   # the old self-check
    "07-tls13-psk-binder": {               # the blank binder the ClientHello carries
        "resumption-binder": _indent("return resumption.client_hello[-32:]"),
    },
    "08-hybrid-key-share": {               # the ServerHello's last bytes: the X25519 share
        "own-secret": _indent("return hellos.server_hello[-64:]"),
    },
    "09-cbc-padding-oracle": {             # the setup cell prints 16 hex digits: the alphabet
        "steal": _indent("return oracle.alphabet"),
    },
}


def neighbour_cheats(values: dict) -> dict:
    """Value answers copied from the neighbour (``values``: what the neighbour's variant gives)."""
    return {
        "05-tls13-hkdf": {"inputs": f"shared_secret = bytes.fromhex({values['shared'].hex()!r})\n"
                                    f"hello_hash = bytes.fromhex({values['hello'].hex()!r})"},
        "06-certificate-diagnosis": {"diagnosis": f"answers = {values['answers']!r}"},
        "07-tls13-psk-binder": {"resumption-binder": _indent(
            f"return bytes.fromhex({values['binder'].hex()!r})")},
        "08-hybrid-key-share": {"own-secret": _indent(
            f"return bytes.fromhex({values['hybrid'].hex()!r})")},
        "09-cbc-padding-oracle": {"steal": _indent(f"return {values['cookie']!r}")},
    }


def neighbour_values(student: str) -> dict:
    from cryptography.hazmat.primitives.asymmetric.x25519 import (X25519PrivateKey,
                                                                    X25519PublicKey)
    from tlslesson.assignments import data, exercises
    from tlslesson.prf import digest
    hellos = data.tls13_hellos(student)
    shared = X25519PrivateKey.from_private_bytes(hellos.client_private_key).exchange(
        X25519PublicKey.from_public_bytes(hellos.server_public_key))
    r = data.resumption(student)
    return {"shared": shared, "hello": digest("SHA256", hellos.client_hello + hellos.server_hello),
            "answers": {k: exercises._diagnosis(c) for k, c in data.chains(student).items()},
            "binder": exercises._resumption_expected(r),
            "hybrid": exercises._hybrid_secret(*_hybrid_inputs(data.hybrid_hellos(student))),
            "cookie": exercises._cookie_of(data.padding_oracle(student))}


def _hybrid_inputs(h):
    from tlslesson.assignments import exercises
    return h.mlkem_seed, h.x25519_private, exercises._hybrid_server_share(h)


def cheat(notebook: dict, cheats: dict, student_typed: str | None = None) -> dict:
    """The instructor notebook with each cheated cell's solution region replaced."""
    for cell in notebook["cells"]:
        if cell["id"] == "student-id" and student_typed is not None:
            cell["source"] = [f"STUDENT = {student_typed!r}\n"]
        code = cheats.get(cell["id"])
        if code is None:
            continue
        text = "".join(cell["source"])
        begin = text.index("### BEGIN SOLUTION")
        begin = text.rindex("\n", 0, begin) + 1 if "\n" in text[:begin] else 0
        after = text.find("\n", text.index("### END SOLUTION"))
        end = len(text) if after < 0 else after + 1
        cell["source"] = (text[:begin] + code + "\n" + text[end:]).splitlines(True)
    return notebook


def graded_after(notebook: dict, cell_ids) -> list[str]:
    """The grade id of the test cell after each answer cell."""
    cells, out = notebook["cells"], []
    for index, cell in enumerate(cells):
        if cell["id"] in cell_ids:
            test = next(c for c in cells[index + 1:]
                        if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {})
                        .get("grade"))
            out.append(test["metadata"]["nbgrader"]["grade_id"])
    return out


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
