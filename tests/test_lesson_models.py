"""The lesson widgets' models (tlslesson.lesson.models), the hex view and "check it yourself".

No ipywidgets, no matplotlib, no browser: the models are plain Python over the real handshake.
The tamper outcomes asserted here were found by running the tamper lab, not guessed.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tlslesson import connection, tls12, tls13
from tlslesson.lesson import check
from tlslesson.lesson.hexview import fields_table_html, hex_html, suite_html, values_table_html
from tlslesson.lesson.models import (
    DEFAULT_SUITE,
    ExplorerModel,
    SuiteModel,
    TamperModel,
    field_at,
    flights,
    measure_suites,
    message_fields,
)
from tlslesson.suites import ALL_SUITES, SUITES
from tlslesson.suites import get as get_suite

ECDHE = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
RSA_KX = "TLS_RSA_WITH_AES_128_GCM_SHA256"
CBC = "TLS_RSA_WITH_AES_128_CBC_SHA"
TLS13 = "TLS_AES_128_GCM_SHA256"


def names(model):
    return [s.name for s in model.steps]


# -- imports stay cheap -------------------------------------------------------------------------
def test_importing_the_models_needs_neither_ipywidgets_nor_matplotlib():
    code = ("import sys, tlslesson.lesson, tlslesson.lesson.models, tlslesson.lesson.hexview, "
            "tlslesson.lesson.check\n"
            "from tlslesson.lesson import ExplorerModel, hex_html\n"
            "ExplorerModel()\n"
            "bad = [m for m in ('ipywidgets', 'matplotlib') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                   cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))


@pytest.mark.parametrize("first", ["import tlslesson.lesson", "import tlslesson.lesson.quiz",
                                   "from tlslesson.lesson.quiz import quiz"])
def test_package_exports_the_quiz_function_and_transcript_helpers(first):
    """``quiz`` is a submodule AND the exported function: whatever was imported first, the
    package attribute is the function the notebooks call."""
    code = (f"{first}\n"
            "import sys\n"
            "from tlslesson.lesson import quiz, Question, check_answer, flights, handshake_values\n"
            "from tlslesson.lesson import quiz as again\n"
            "from tlslesson.lesson.quiz import quiz as direct\n"
            "from tlslesson.lesson.models import flights as f, handshake_values as hv\n"
            "assert callable(quiz) and quiz is again is direct, quiz\n"
            "assert flights is f and handshake_values is hv\n"
            "assert Question('q?', ['a', 'b'], answer=1).check(1)[0]\n"
            "bad = [m for m in ('ipywidgets', 'matplotlib') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                   cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))


def test_docstring_examples():
    import doctest

    from tlslesson.lesson import hexview, models
    for module in (models, hexview, check):
        failures, tried = doctest.testmod(module)
        assert tried and not failures, module.__name__


# -- ExplorerModel: choices ------------------------------------------------------------------------
def test_choosing_another_suite_changes_the_messages_and_the_bytes():
    m = ExplorerModel(version="1.2", suite=ECDHE)
    assert "ServerKeyExchange" in names(m)
    ecdhe_server_hello = m.steps[names(m).index("ServerHello")].wire
    m.set(suite=RSA_KX)
    assert m.suite == RSA_KX
    assert "ServerKeyExchange" not in names(m)           # RSA key transport: nothing to sign
    rsa_server_hello = m.steps[names(m).index("ServerHello")].wire
    assert rsa_server_hello != ecdhe_server_hello
    assert get_suite(RSA_KX).code.to_bytes(2, "big") in rsa_server_hello
    m.set(suite="DHE-RSA-AES128-GCM-SHA256")              # OpenSSL names work too
    ske = m.steps[names(m).index("ServerKeyExchange")]
    assert len(ske.wire) > 500                             # a 2048-bit DH prime and public value


def test_every_suite_gives_a_complete_handshake():
    for suite in ALL_SUITES:            # the suites beyond the default offer too
        m = ExplorerModel(version=suite.version, suite=suite.name)
        assert m.handshake.ok
        assert m.handshake.client.suite == suite
        assert names(m)[0] == "ClientHello" and names(m)[-1] == "Finished"


def test_version_change_picks_that_versions_default_suite_and_rejects_a_mismatch():
    m = ExplorerModel()
    assert (m.version, m.suite) == ("1.2", DEFAULT_SUITE["1.2"])
    m.set(version="1.3")
    assert (m.version, m.suite) == ("1.3", TLS13)
    assert m.choices() == [s.name for s in SUITES if s.version == "1.3"]
    assert "EncryptedExtensions" in names(m) and "ServerKeyExchange" not in names(m)
    with pytest.raises(ValueError, match="TLS 1.2 suite"):
        m.set(suite=ECDHE)
    with pytest.raises(TypeError, match="unknown choice"):
        m.set(colour="blue")
    assert m.version == "1.3"                              # a rejected choice changes nothing


def test_client_authentication_adds_certificate_request_and_certificate_verify():
    for version in ("1.2", "1.3"):
        m = ExplorerModel(version=version, client_auth=True)
        sent_by_client = [s.name for s in m.steps if s.sender == "client"]
        assert "CertificateRequest" in names(m)
        assert "Certificate" in sent_by_client and "CertificateVerify" in sent_by_client


def test_ems_switch_changes_the_master_secret_derivation():
    with_ems, without = ExplorerModel(ems=True), ExplorerModel(ems=False)
    suite = with_ems.cipher_suite
    v = with_ems.values
    assert v["extended_master_secret"] is True
    assert v["master_secret"] == tls12.extended_master_secret(v["pre_master_secret"],
                                                              v["session_hash"], suite)
    w = without.values
    assert w["extended_master_secret"] is False and "session_hash" not in w
    assert w["master_secret"] == tls12.master_secret(w["pre_master_secret"], w["client_random"],
                                                     w["server_random"], suite)


def test_lesson_seed_is_deterministic_and_client_and_server_randoms_differ():
    a, b = ExplorerModel(), ExplorerModel()
    assert [s.record for s in a.steps] == [s.record for s in b.steps]
    assert a.values["client_random"] != a.values["server_random"]
    c = ExplorerModel(seed="another seed")
    assert c.values["client_random"] != a.values["client_random"]


def test_handshakes_are_cached_per_choice_tuple():
    m = ExplorerModel()
    first = m.handshake
    m.set(suite=CBC)
    m.set(suite=ECDHE)
    assert m.handshake is first


# -- ExplorerModel: stepping and what each step shows ----------------------------------------------
def test_stepping_moves_current_and_stops_at_both_ends():
    m = ExplorerModel()
    seen = []
    m.on_change(lambda model: seen.append(model.position))
    assert m.position == 0 and m.current.name == "ClientHello" and m.at_start
    m.back()
    assert m.position == 0
    m.forward()
    assert m.current.name == "ServerHello" and m.current.sender == "server"
    m.goto(-1)
    assert m.at_end and m.current.name == "Finished" and m.current.sender == "server"
    m.forward()
    assert m.at_end
    with pytest.raises(IndexError):
        m.goto(len(m.steps))
    assert seen == [1, len(m.steps) - 1]
    assert m.describe(0).startswith(f"1/{len(m.steps)} client -> server: ClientHello")


def test_changing_suite_keeps_the_same_message_when_it_exists():
    m = ExplorerModel(suite=ECDHE)
    m.goto(names(m).index("ClientKeyExchange"))
    m.set(suite=CBC)
    assert m.current.name == "ClientKeyExchange"


def test_values_so_far_grow_and_master_secret_appears_only_after_client_key_exchange():
    m = ExplorerModel(suite=ECDHE)
    cke = names(m).index("ClientKeyExchange")
    previous: list[str] = []
    for i in range(len(m.steps)):
        now = list(m.values_so_far(i))
        assert now[:len(previous)] == previous             # values are only ever added
        assert ("master_secret" in now) == (i >= cke)
        assert ("pre_master_secret" in now) == (i >= cke)
        previous = now
    assert list(m.values_so_far(0)) == ["client_random"]
    assert "server_random" in m.values_so_far(1)
    finished = [i for i, s in enumerate(m.steps) if s.name == "Finished"]
    assert "client_verify_data" not in m.values_so_far(finished[0] - 1)
    assert "client_verify_data" in m.values_so_far(finished[0])
    assert "server_verify_data" in m.values_so_far(finished[1])
    final = m.values_so_far(len(m.steps) - 1)
    assert final["client_random"] == m.handshake.client.values["client_random"]
    assert final["client_write_key"] == m.handshake.client.values["key_block"].client_write_key
    # what the explorer shows is what the package computes
    assert final["master_secret"] == tls12.extended_master_secret(
        final["pre_master_secret"], final["session_hash"], m.cipher_suite)
    assert final["client_verify_data"] == m.steps[finished[0]].message.verify_data


def test_tls13_values_follow_the_key_schedule():
    m = ExplorerModel(version="1.3")
    sh = names(m).index("ServerHello")
    server_finished = next(i for i, s in enumerate(m.steps)
                           if s.name == "Finished" and s.sender == "server")
    assert "handshake_secret" not in m.values_so_far(sh - 1)
    at_sh = m.values_so_far(sh)
    assert {"shared_secret", "early_secret", "handshake_secret",
            "server_handshake_traffic_secret", "server_handshake_key"} <= set(at_sh)
    assert "master_secret" not in m.values_so_far(server_finished - 1)
    assert "client_application_traffic_secret_0" in m.values_so_far(server_finished)
    schedule = m.handshake.client.values["schedule"]
    key, _ = tls13.traffic_keys(m.cipher_suite, schedule.server_handshake_traffic_secret)
    assert at_sh["server_handshake_key"] == key
    assert "resumption_master_secret" in m.values_so_far(len(m.steps) - 1)


def _leaves_tile(fields, size):
    covered = sorted((f.offset, f.offset + f.length) for f in fields if f.leaf and f.length)
    at = 0
    for start, end in covered:
        assert start == at, f"gap or overlap at {at}: {covered}"
        at = end
    assert at == size


@pytest.mark.parametrize("version,suite", [("1.2", ECDHE), ("1.2", CBC),
                                           ("1.2", "DHE-RSA-AES128-GCM-SHA256"), ("1.3", TLS13)])
def test_fields_cover_every_byte_of_every_message_exactly_once(version, suite):
    m = ExplorerModel(version=version, suite=suite, client_auth=True)
    for i, step in enumerate(m.steps):
        _leaves_tile(m.fields(i), len(step.wire))
        _leaves_tile(m.record_fields(i), len(step.record))


def test_a_length_followed_by_an_empty_deeper_field_is_a_leaf_with_its_value():
    """A block whose one item is empty: its length (0) is a leaf that shows 0, not "2 bytes"
    because the empty item starts where the length ends."""
    from tlslesson.lesson.models import _with_leaves
    from tlslesson.wire import Reader, Span
    r = Reader(b"\x00\x00")
    r.block(2, "outer").rest("inner")
    assert r.spans == [Span("outer length", 0, 2, 0), Span("outer", 2, 2, 0),
                       Span("inner", 2, 2, 1)]
    assert [leaf for _, leaf in _with_leaves(r.spans)] == [True, False, True]
    nested = Reader(b"\x00\x02\x00\x00")                       # an item that is itself a length
    nested.block(2, "outer").opaque(2, "inner")
    assert [(s.name, leaf) for s, leaf in _with_leaves(nested.spans)] == [
        ("outer length", True), ("outer", False), ("inner length", True), ("inner", True)]


def test_fields_decode_values_a_student_can_read():
    m = ExplorerModel(suite=ECDHE)
    fields = {f.name: f for f in m.fields(0)}
    assert fields["msg_type"].value == "client_hello (1)"
    assert fields["random"].offset == 6 and fields["random"].length == 32
    assert fields["random"].value == m.values["client_random"].hex()
    assert fields["legacy_version"].value == "TLS 1.2 (0x0303)"
    assert fields["host_name"].value == "'localhost'"
    m.goto(names(m).index("ServerHello"))
    suite_field = next(f for f in m.fields() if f.name == "cipher_suite")
    assert suite_field.value == f"{ECDHE} (0xc02f)"
    ccs = names(m).index("ChangeCipherSpec")
    assert [tuple(f[:4]) for f in m.fields(ccs)] == [
        ("change_cipher_spec", 0, 1, "01 (change_cipher_spec)")]
    fin = m.fields(names(m).index("Finished"))
    assert fin[-1].name == "verify_data" and fin[-1].length == 12


def test_record_fields_show_what_protection_adds():
    m = ExplorerModel(suite=ECDHE)
    fin = names(m).index("Finished")
    parts = {f.name: f for f in m.record_fields(fin)}
    assert parts["explicit nonce (sequence number)"].length == 8
    assert parts["AEAD tag"].length == 16 and parts["ciphertext"].length == 16   # 16-byte Finished
    plain = m.record_fields(0)
    assert [f.name for f in plain[:3]] == ["content_type", "legacy_record_version", "length"]
    assert next(f for f in plain if f.name == "random").offset == 5 + 6
    m.set(suite=CBC)
    parts = {f.name: f for f in m.record_fields(names(m).index("Finished"))}
    assert parts["IV (explicit, per record)"].length == 16
    assert field_at(m.record_fields(0), 0).name == "content_type"


def test_ladder_rows_and_flights():
    m = ExplorerModel(suite=ECDHE)
    rows = m.ladder_rows()
    assert rows[0] == ("client", "ClientHello", False, len(m.steps[0].record))
    assert [r[1] for r in rows if r[2]] == ["Finished", "Finished"]      # only Finished encrypted
    assert [sender for sender, _ in flights(m.steps)] == ["client", "server", "client", "server"]
    m13 = ExplorerModel(version="1.3")
    assert [sender for sender, _ in flights(m13.steps)] == ["client", "server", "client"]


# -- TamperModel --------------------------------------------------------------------------------------
def test_targets_list_every_record():
    lab = TamperModel("1.2", ECDHE)
    targets = lab.targets()
    assert [t.name for t in targets] == names(lab)
    assert all(t.length == len(lab.steps[t.index].record) for t in targets)


def test_flipped_byte_in_server_finished_is_bad_record_mac_detected_by_client():
    lab = TamperModel("1.2", ECDHE)
    fin = lab.index_of("Finished", "server")
    r = lab.flip(fin, lab.offset_of(fin, "ciphertext"))
    assert not r.completed
    assert (r.failed_check, r.alert, r.detected_by, r.message) == (
        "record MAC/AEAD tag", "bad_record_mac", "client", "Finished")
    assert r.tampered != r.original and len(r.tampered) == len(r.original)
    assert r.summary().endswith("failed at record MAC/AEAD tag with alert bad_record_mac "
                                "(detected by client)")
    assert [s.name for s in r.steps][-1] == "Alert" and r.steps[-1].sender == "client"


def test_flipped_client_random_is_caught_where_the_random_is_first_used():
    # ECDHE: the server signs both randoms in ServerKeyExchange, so the client catches it there.
    lab = TamperModel("1.2", ECDHE)
    r = lab.flip(0, lab.offset_of(0, "random"))
    assert (r.failed_check, r.alert, r.detected_by, r.message) == (
        "signature (ServerKeyExchange)", "decrypt_error", "client", "ServerKeyExchange")
    # RSA key transport: nothing is signed, but the randoms go into the master secret, so the
    # two sides' keys differ and the client's first encrypted record (Finished) fails to open.
    lab.set(suite=RSA_KX)
    r = lab.flip(0, lab.offset_of(0, "random"))
    assert (r.failed_check, r.alert, r.detected_by, r.message) == (
        "record MAC/AEAD tag", "bad_record_mac", "server", "Finished")
    # TLS 1.3: the transcript hash feeds the handshake keys: EncryptedExtensions won't open.
    lab13 = TamperModel("1.3")
    r = lab13.flip(0, lab13.offset_of(0, "random"))
    assert (r.alert, r.detected_by, r.message) == ("bad_record_mac", "client",
                                                   "EncryptedExtensions")


def test_without_ems_a_changed_client_hello_is_caught_by_finished():
    # The host name changes only the transcript: with EMS the master secret covers the transcript
    # (bad_record_mac); without EMS the keys agree and only Finished's verify_data differs.
    for ems, expected in ((False, ("Finished verify_data", "decrypt_error")),
                          (True, ("record MAC/AEAD tag", "bad_record_mac"))):
        lab = TamperModel("1.2", RSA_KX, ems=ems)
        r = lab.flip(0, lab.offset_of(0, "host_name"))
        assert (r.failed_check, r.alert, r.detected_by, r.message) == (*expected, "server",
                                                                       "Finished")


def test_flipped_certificate_signature_fails_the_chain_check():
    lab = TamperModel("1.2", ECDHE)
    cert = lab.index_of("Certificate", "server")
    leaf = next(f for f in lab.record_fields(cert) if f.name == "cert_data")
    r = lab.flip(cert, leaf.offset + leaf.length - 1)      # last byte: the CA's signature
    assert r.failed_check == "certificate chain (signature)"
    assert (r.alert, r.detected_by) == ("decrypt_error", "client")


def test_other_failures_are_named():
    lab = TamperModel("1.2", ECDHE)
    r = lab.flip(0, 5)                                      # handshake msg_type 1 -> 0
    assert (r.failed_check, r.alert, r.detected_by) == ("message order (state machine)",
                                                        "unexpected_message", "server")
    r = lab.flip(0, 1)                                      # record version 0x0301 -> 0x0201
    assert r.failed_check.startswith("record header") and r.alert == "decode_error"
    r = lab.flip(0, lab.offset_of(0, "extensions length"))
    assert r.failed_check.startswith("decode (") and r.alert == "decode_error"
    r = lab.flip(0, 3)                                      # record length: waits forever
    assert not r.completed and r.alert is None and r.detected_by is None
    assert "stalled" in r.failed_check
    with pytest.raises(IndexError):
        lab.flip(0, len(lab.steps[0].record))


def test_flip_leaves_the_model_untouched():
    lab = TamperModel("1.2", ECDHE)
    before = [s.record for s in lab.steps]
    lab.flip(1, 20)
    assert [s.record for s in lab.steps] == before and lab.handshake.ok


# -- SuiteModel ---------------------------------------------------------------------------------------
def test_suite_model_explains_every_part():
    sm = SuiteModel()
    parts = {p.part: p for p in sm.explain(ECDHE)}
    assert parts["key exchange"].token == "ECDHE" and "forward secret" in parts["key exchange"].sentence
    assert parts["authentication"].token == "RSA"
    assert parts["cipher"].token == "AES_128_GCM" and "AEAD" in parts["cipher"].sentence
    assert parts["PRF hash"].token == "SHA256"
    cbc = {p.part: p for p in sm.explain("AES128-SHA")}
    assert cbc["MAC"].value == "HMAC-SHA1" and cbc["MAC"].token == "SHA"
    assert cbc["PRF hash"].token == "" and "SHA-256" in cbc["PRF hash"].sentence
    assert "MAC-then-encrypt" in cbc["cipher"].sentence
    assert "No forward secrecy" in cbc["key exchange"].sentence
    tls13_parts = {p.part: p for p in sm.explain(TLS13)}
    assert "key_share" in tls13_parts["key exchange"].sentence
    assert [t for t, _ in sm.tokens(ECDHE)] == ["TLS", "ECDHE", "RSA", "WITH", "AES_128_GCM",
                                               "SHA256"]
    for suite in ALL_SUITES:
        assert all(p.sentence for p in sm.explain(suite.name))
    sha384 = {p.part: p for p in sm.explain("ECDHE-RSA-AES256-SHA384")}   # RFC 5289 §3.2
    assert (sha384["MAC"].token, sha384["PRF hash"].token) == ("SHA384", "SHA384")
    assert "HMAC-SHA384" in sha384["MAC"].sentence and "256-bit" in sha384["cipher"].sentence
    assert sha384["PRF hash"].value == "SHA384"
    assert sm.tokens("TLS_AES_128_CCM_SHA256")[1] == ("AES_128_CCM", "cipher")
    assert "CBC-MAC" in sm.explain("TLS_AES_128_CCM_SHA256")[2].sentence
    assert "NOT forward secret" in sm.summary(CBC)


def test_measure_suites_counts_round_trips_and_bytes():
    rows = measure_suites(repeat=1, suites=[ECDHE, TLS13])
    by_version = {r.version: r for r in rows}
    assert by_version["1.2"].round_trips == 2 and by_version["1.3"].round_trips == 1
    assert by_version["1.2"].flights == 4 and by_version["1.3"].flights == 3
    for r in rows:
        assert r.ms > 0 and r.bytes == r.client_bytes + r.server_bytes > 1000


# -- hex view -----------------------------------------------------------------------------------------
def test_hex_html_colours_fields_lists_them_and_stays_sanitizer_safe():
    m = ExplorerModel()
    step = m.current
    html = hex_html(step.wire, m.fields(), highlight="random", title="ClientHello <1>")
    for bad in ("<script", "<style", "class=", "onclick"):
        assert bad not in html
    assert "ClientHello &lt;1&gt;" in html                  # escaped
    assert f"{len(step.wire) // 16 * 16:04x}" in html       # offset of the last row
    assert "title='random: 32 bytes" in html and "outline:2px solid" in html
    assert "what it is for" in html and "RFC 5246 §7.4.1.2" in html        # each field's meaning
    for f in m.fields():
        assert f">{f.name}<" in html or f"{f.name}</td>" in html
    window = hex_html(step.record, m.record_fields(), highlight=11, window=(0, 16))
    assert "bytes after" in window
    assert window.count("<span style='color:#888'>") == 1           # one row of offsets shown


def test_tables():
    m = ExplorerModel()
    assert "random" in fields_table_html(m.fields())
    html = values_table_html(m.values_so_far(3), m.value_notes(), new={"server_random"})
    assert "client_random" in html and "32 B" in html and "#fff3bf" in html
    assert "HMAC-SHA1" in suite_html(CBC)


def test_message_fields_of_alert_and_undecodable_bytes():
    step = connection.Step("client", "Alert", None, b"\x02\x14", b"", None, False)
    assert [f.value for f in message_fields(step)] == ["fatal (2)", "bad_record_mac (20)"]


# -- check it yourself (OpenSSL) ----------------------------------------------------------------------
@pytest.mark.interop
def test_prf_matches_openssl(openssl):
    m = ExplorerModel()
    v = m.values
    r = check.prf(v["pre_master_secret"], b"extended master secret", v["session_hash"], 48)
    assert r.matches is True, str(r)
    assert r.ours == r.openssl == v["master_secret"].hex()
    assert r.command.startswith("openssl kdf -keylen 48 -kdfopt digest:SHA256")
    _command, value, ok = r                                  # unpacks as the brief promised
    assert ok and value == r.openssl


@pytest.mark.interop
def test_hkdf_expand_label_and_extract_match_openssl(openssl):
    v = ExplorerModel(version="1.3").values
    secret = v["server_handshake_traffic_secret"]
    for method in ("HKDF", "TLS13-KDF"):
        r = check.hkdf_expand_label("SHA256", secret, "key", b"", 16, method=method)
        assert r.matches is True, str(r)
        assert r.ours == v["server_handshake_key"].hex()
    r = check.hkdf_extract("SHA256", b"", bytes(32))
    assert r.matches is True and r.ours == v["early_secret"].hex()


@pytest.mark.interop
def test_x25519_and_certificate_checks_match_openssl(openssl):
    from cryptography.hazmat.primitives.asymmetric import x25519

    from tlslesson import pki
    a, b = x25519.X25519PrivateKey.generate(), x25519.X25519PrivateKey.generate()
    r = check.x25519_shared(a, b.public_key().public_bytes_raw())
    assert r.matches is True and "priv.pem" in r.files
    lesson = pki.lesson_pki()
    leaf, chain = lesson.rsa_server.certificate, lesson.rsa_server.chain
    good = check.verify_chain(leaf, *chain, hostname="localhost")
    assert good.matches is True and good.ours == good.openssl == "OK"
    wrong_name = check.verify_chain(leaf, *chain, hostname="example.com")
    assert wrong_name.matches is True and wrong_name.ours.startswith("failed at 'name'")
    assert "hostname mismatch" in wrong_name.openssl
    no_intermediate = check.verify_chain(leaf, hostname="localhost")
    assert no_intermediate.matches is True and no_intermediate.openssl.startswith("error 20")
    assert check.certificate_fingerprint(lesson.root.certificate).matches is True


@pytest.mark.interop
def test_verify_chain_is_called_like_validate_chain_and_now_is_openssl_attime(openssl):
    import datetime as dt

    from cryptography.hazmat.primitives.serialization import Encoding

    from tlslesson import pki
    lesson = pki.lesson_pki()
    chain = [lesson.rsa_server.certificate, *lesson.rsa_server.chain]
    good = check.verify_chain(chain, lesson.trusted, hostname="localhost",
                              now=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
    assert good.matches is True and good.ours == good.openssl == "OK"
    assert "-attime 1735689600" in good.command and "2025-01-01" in good.what
    expired = check.verify_chain(chain, lesson.trusted, hostname="localhost",
                                 now=dt.datetime(2127, 1, 1))          # naive = UTC
    assert expired.matches is True and expired.ours.startswith("failed at 'validity period'")
    assert "expired" in expired.openssl
    early = check.verify_chain(chain, lesson.trusted, now=dt.datetime(2019, 1, 1))
    assert early.matches is True and "not yet valid" in early.openssl
    by_ip = check.verify_chain(chain, lesson.trusted, hostname="127.0.0.1")
    assert by_ip.matches is True and "-verify_ip 127.0.0.1" in by_ip.command
    pem = b"".join(c.public_bytes(Encoding.PEM) for c in chain)         # one PEM blob
    assert check.verify_chain(pem, lesson.trusted, hostname="localhost").ours == "OK"


def test_verify_chain_arguments_without_openssl(monkeypatch):
    from tlslesson import pki
    monkeypatch.setattr(check.shutil, "which", lambda name: None)
    lesson = pki.lesson_pki()
    leaf, rest = lesson.rsa_server.certificate, list(lesson.rsa_server.chain)
    new = check.verify_chain([leaf, *rest], lesson.trusted, hostname="localhost")
    old = check.verify_chain(leaf, *rest, trusted=lesson.trusted, hostname="localhost")
    assert new.command == old.command and new.ours == old.ours == "OK"
    assert new.matches is None and "-attime" not in new.command
    with pytest.raises(TypeError):
        check.verify_chain([leaf], lesson.trusted, trusted=lesson.trusted)
    with pytest.raises(TypeError):
        check.verify_chain([leaf], lesson.trusted, lesson.trusted)
    with pytest.raises(ValueError):
        check.verify_chain([], lesson.trusted)


def test_without_openssl_the_command_is_shown_and_nothing_is_claimed(monkeypatch):
    monkeypatch.setattr(check.shutil, "which", lambda name: None)
    r = check.prf(b"secret", b"label", b"seed", 12)
    assert r.openssl is None and r.matches is None and "not installed" in r.note
    assert r.ours == tls12.prf(b"secret", b"label", b"seed", 12).hex()
    assert "TLS1-PRF" in r.command and "not checked" in str(r)
    v = check.verify_chain(__import__("tlslesson").pki.lesson_pki().root.certificate)
    assert v.matches is None and "ca.pem" in v.files
    assert shutil.which is not None


# -- every byte with its meaning ----------------------------------------------------------------------
@pytest.mark.parametrize("version, suite, client_auth", [
    ("1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", True), ("1.2", "TLS_RSA_WITH_AES_128_CBC_SHA", False),
    ("1.2", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", False),
    ("1.2", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", False),
    ("1.3", "TLS_AES_128_GCM_SHA256", True)])
def test_every_field_of_every_message_and_record_says_what_it_is_for(version, suite, client_auth):
    m = ExplorerModel(version=version, suite=suite, client_auth=client_auth)
    for i, step in enumerate(m.steps):
        assert m.note(i), f"no sentence for {step.name}"
        for f in m.fields(i) + m.record_fields(i):
            assert f.meaning, f"{step.name}: field {f.name!r} has no meaning"


def test_registry_numbers_are_shown_by_name():
    m = ExplorerModel(version="1.3")
    values = {f.name: f.value for f in m.fields(0)}
    assert values["cipher_suite"].startswith("TLS_") and values["group"].startswith("x25519")
    assert values["ke_modes"] == "psk_dhe_ke (1)" and values["name_type"] == "host_name (0)"
