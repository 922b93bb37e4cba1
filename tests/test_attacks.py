"""The attack labs (tlslesson/attacks/, issue 17): each attack works against its weakened lesson
peer and fails, at the named check, against the package's default behaviour; the weakened
classes are reachable neither from the default configurations nor from the command line."""
from __future__ import annotations

import importlib
import pathlib
import re

import pytest

from tlslesson import connection, record, tls12
from tlslesson import sessions
from tlslesson.attacks import (LABS, WEAKENED, bleichenbacher, cbc_padding_oracle, downgrade,
                               early_data_replay, gcm_nonce_reuse as gcm, identities,
                               no_validation, triple_handshake)
from tlslesson.client import ClientConnection
from tlslesson.lesson.configs import lesson_configs
from tlslesson.prf import Transcript
from tlslesson.rng import lesson_rng
from tlslesson.server import ServerConnection

ROOT = pathlib.Path(__file__).resolve().parent.parent


# -- lab 1 ------------------------------------------------------------------------------------------
def test_mitm_reads_the_cookie_of_a_client_that_skips_validation():
    result = no_validation.man_in_the_middle(verify=False)
    assert result.succeeded and result.cookie == b"7f3a9c2e51d84b06"
    assert result.client_received == no_validation.RESPONSE
    # the client's hop really ended at Mallory: her self-signed certificate
    assert result.to_mallory.server.hs.identity is identities.mallory_self_signed()


def test_validation_stops_the_mitm_at_the_chain_step():
    result = no_validation.man_in_the_middle(verify=True)
    assert not result.succeeded and result.cookie is None
    assert result.check == "certificate:chain building / trust anchor"


# -- lab 2 ------------------------------------------------------------------------------------------
MESSAGES = [("client", b"GET / HTTP/1.1\r\nCookie: session=0123456789abcdef\r\n\r\n"),
            ("server", b"HTTP/1.1 200 OK\r\n\r\nhello")]
# The queries the seeded lessons take (notebook 14, attacks.lab): the same on every run, so a change
# to the attack, the oracle or the padding shows here (fresh padding: median 2,428 in 80 runs).
LAB2_QUERIES, LAB6_QUERIES = 2539, 2361


def lesson_recording(padding_seed=bleichenbacher.LESSON_PADDING_SEED):
    """Notebook 14's recording: its seeds and key (its messages leave the CKE unchanged)."""
    client, server = lesson_configs("attack-lab/bleichenbacher", versions=("1.2",),
                                    suites=(bleichenbacher.RSA_SUITE,),
                                    server={"identities": (identities.victim_rsa(),)})
    return bleichenbacher.record_session(client, server, MESSAGES, padding_seed)


@pytest.fixture(scope="module")
def recording():
    return lesson_recording()


def test_installed_cryptography_does_implicit_rejection():
    """Why PaddingOracleServer does its own RSA: the library gives no padding error to leak."""
    from cryptography.hazmat.primitives.asymmetric import padding
    key = identities.victim_rsa().key
    n = key.public_key().public_numbers().n
    garbage = (n - 12345).to_bytes(129, "big")           # surely not 00 02 ...
    if bleichenbacher.raw_rsa_decrypt(key, garbage)[:2] == b"\x00\x02":
        pytest.skip("unlucky ciphertext")
    try:
        key.decrypt(garbage, padding.PKCS1v15())
    except ValueError:
        pytest.skip("this cryptography/OpenSSL raises on bad padding (no implicit rejection)")


def test_bleichenbacher_recovers_the_pre_master_and_decrypts_the_session(recording):
    counts = []
    result = bleichenbacher.recover(recording, on_query=counts.append)
    assert result.pre_master_secret == recording.pre_master_secret
    assert result.block[:2] == b"\x00\x02" and result.block[-49] == 0
    assert result.block[-48:-46] == b"\x03\x03"
    assert result.plaintexts == MESSAGES
    assert counts and counts == sorted(counts) and result.queries == LAB2_QUERIES
    assert result.seconds < 30


def test_the_seeded_recording_repeats_and_is_an_rfc8017_block(recording):
    """SeededPaddingClient changes PS only: the same pre-master, a valid block (the default server
    took it: the session finished), the same bytes every run — and padding_seed=None is fresh."""
    again = lesson_recording()
    fresh = [lesson_recording(None).encrypted_pre_master for _ in range(2)]
    assert again.encrypted_pre_master == recording.encrypted_pre_master
    assert fresh[0] != fresh[1] != recording.encrypted_pre_master
    assert lesson_recording(None).pre_master_secret == recording.pre_master_secret
    key = identities.victim_rsa().key
    block = bleichenbacher.raw_rsa_decrypt(key, recording.encrypted_pre_master)
    assert block[:2] == b"\x00\x02" and 0 not in block[2:-49] and block[-49] == 0
    assert block[-48:] == recording.pre_master_secret


def test_bleichenbacher_stops_at_its_query_budget(recording):
    with pytest.raises(bleichenbacher.AttackFailed) as failed:
        bleichenbacher.recover(recording, max_queries=300)
    assert failed.value.queries == 300 and "budget of 300 oracle queries" in str(failed.value)
    stopped = downgrade.downgrade(check_sentinel=False, max_queries=300)
    assert not stopped.succeeded and stopped.oracle_queries == 300 and stopped.check == "finished"
    assert "Mallory gave up: the budget of 300 oracle queries (max_queries) is spent" \
        in stopped.notes


def test_bleichenbacher_against_the_default_server_finds_no_oracle(recording):
    with pytest.raises(bleichenbacher.AttackFailed) as failed:
        bleichenbacher.recover(recording, server_class=ServerConnection)
    assert failed.value.check == "record_mac" and failed.value.queries == 2


def test_the_padding_oracle_server_leaks_and_the_default_does_not(recording):
    identity = identities.victim_rsa()
    configs = lesson_configs(versions=("1.2",), suites=(bleichenbacher.RSA_SUITE,),
                             server={"identities": (identity,)})
    pub = identity.certificate.public_key()
    answers = {}
    for cls in (bleichenbacher.PaddingOracleServer, ServerConnection):
        oracle = bleichenbacher.Oracle(cls, configs[1], configs[0], pub)
        good = oracle.ask_raw(int.from_bytes(recording.encrypted_pre_master, "big"))
        bad = oracle.ask_raw(pub.public_numbers().n - 1)
        answers[cls.__name__] = (good, bad)
    assert answers["PaddingOracleServer"][0] != answers["PaddingOracleServer"][1]
    assert answers["ServerConnection"][0] == answers["ServerConnection"][1]


# -- lab 3 ------------------------------------------------------------------------------------------
def test_cbc_padding_oracle_recovers_the_cookie():
    victim = cbc_padding_oracle.Victim("none")
    result = cbc_padding_oracle.attack(victim)
    assert result.succeeded and result.recovered == cbc_padding_oracle.COOKIE
    assert ("nothing",) in result.answers and len(result.answers) == 2
    assert result.sessions < 1000


@pytest.mark.parametrize("defence", ["uniform errors", "encrypt-then-MAC", "AEAD"])
def test_cbc_padding_oracle_defences(defence):
    with pytest.raises(bleichenbacher.AttackFailed) as failed:
        cbc_padding_oracle.attack(cbc_padding_oracle.Victim(defence))
    assert failed.value.check == "record_mac" and failed.value.queries == 2


def test_padding_first_reader_fails_padding_apart_from_the_mac():
    suite = cbc_padding_oracle.CBC_SUITE
    key, mac_key = bytes(range(16)), bytes(20)
    writer = record.CBC12(suite, key, mac_key, lesson_rng("cbc"))
    rec = writer.seal(23, 0x0303, b"attack at dawn")
    flipped_last = rec.fragment[:-17] + bytes([rec.fragment[-17] ^ 1]) + rec.fragment[-16:]
    flipped_first = rec.fragment[:16] + bytes([rec.fragment[16] ^ 1]) + rec.fragment[17:]
    checks = []
    for fragment in (flipped_last, flipped_first):
        reader = cbc_padding_oracle.PaddingFirstCBC12(suite, key, mac_key)
        with pytest.raises(Exception) as error:
            reader.open(record.Record(23, 0x0303, fragment))
        checks.append(error.value.check)
    assert checks == ["record_padding", "record_mac"]


# -- lab 4 ------------------------------------------------------------------------------------------
def test_triple_handshake_without_ems_gives_two_connections_one_master_secret():
    result = triple_handshake.synchronize(ems=False)
    assert result.same_master_secret and result.forwarded_accepted and result.succeeded
    assert result.client_finished[0] != result.client_finished[1]   # different transcripts
    c_cert = result.to_mallory.server.hs.identity.certificate
    s_cert = result.to_server.server.hs.identity.certificate
    assert c_cert != s_cert


def test_triple_handshake_with_ems_fails_at_record_mac():
    result = triple_handshake.synchronize(ems=True)
    assert not result.same_master_secret and not result.forwarded_accepted
    assert result.check == "record_mac" and result.extended_master_secret == (True, True)


def test_triple_handshake_stripping_ems_leaves_sessions_marked_without_it():
    result = triple_handshake.synchronize(ems=True, mallory_keeps_ems=False)
    assert result.same_master_secret
    assert result.extended_master_secret == (False, False)   # RFC 7627 §5.3: not resumable
    assert result.session_ids[0] == result.session_ids[1] and len(result.session_ids[0]) == 32


WEAK_PEERS = dict(client_ems=False, server_ems=False, resume_without_ems=True)


@pytest.mark.parametrize("peers", [WEAK_PEERS, dict(WEAK_PEERS, server_ems=True)],
                         ids=["no-rfc7627", "server-allows-insecure-resumption"])
def test_triple_handshake_step_2_resumed_connections_share_master_secret_and_finished(peers):
    """Both abbreviated handshakes, C <-> Mallory and Mallory <-> S: one master secret, one key
    block, the same client and server Finished (tls-unique collides), and Mallory's own
    connections sent each side exactly what the other side sent."""
    r = triple_handshake.attack(**peers)
    assert r.synchronized.succeeded and r.succeeded and r.check is None
    two = r.resumed
    assert two.resumed == (True, True)
    c_conn, s_conn = two.to_mallory.client, two.to_server.server
    assert c_conn.values["resumption"] == s_conn.values["resumption"] == "resumed by session ID"
    assert c_conn.hs.master_secret == s_conn.hs.master_secret == r.synchronized.client_master_secret
    assert c_conn.values["key_block"] == s_conn.values["key_block"]
    assert c_conn.values["client_verify_data"] == s_conn.values["client_verify_data"]
    assert c_conn.values["server_verify_data"] == s_conn.values["server_verify_data"]
    assert two.same_master_secret and two.same_keys and two.same_finished
    assert two.tls_unique[0] == two.tls_unique[1] == s_conn.values["server_verify_data"]
    assert two.forwarded_unchanged == (True, True, True)
    # ... while the two connections were made with two different certificates (step 1)
    assert r.synchronized.to_mallory.server.hs.identity.certificate != \
        r.synchronized.to_server.server.hs.identity.certificate
    # one transcript, ClientHello and ServerHello first: the server's Finished over their hash
    # under the shared master secret (RFC 5246 §7.4.9) is the tls-unique of both connections
    messages = c_conn.hs.transcript.messages
    assert messages == s_conn.hs.transcript.messages and [m[0] for m in messages[:2]] == [1, 2]
    seen, suite = Transcript(), triple_handshake.RSA_SUITE
    for message in messages[:2]:
        seen.add(message)
    assert two.tls_unique[0] == tls12.verify_data(two.master_secrets[0], "server",
                                                  seen.hash(suite.hash), suite)


def test_triple_handshake_client_with_rfc7627_does_not_offer_the_session():
    r = triple_handshake.attack(client_ems=True, server_ems=False, resume_without_ems=True)
    assert r.synchronized.same_master_secret          # step 1 still works (EMS stripped)
    assert not r.succeeded and r.check == "extended_master_secret"
    assert r.resumed.stopped_by == "C" and "RFC 7627 §5.3" in r.resumed.reason
    hello = r.resumed.to_mallory.client.hs.client_hello
    assert hello.session_id == b""                    # nothing to resume: a full handshake


def test_triple_handshake_server_refuses_insecure_resumption():
    r = triple_handshake.attack(client_ems=False, server_ems=True, resume_without_ems=False)
    assert r.synchronized.same_master_secret
    assert not r.succeeded and r.check == "extended_master_secret"
    assert r.resumed.stopped_by == "S" and "no insecure resumption" in r.resumed.reason
    assert r.resumed.to_server.server.failed and not r.resumed.to_server.server.resumed


def test_triple_handshake_defaults_stop_it_and_with_ems_kept_step_1_already_fails():
    r = triple_handshake.attack()                     # the package's defaults on both sides
    assert not r.succeeded and r.check == "extended_master_secret"
    kept = triple_handshake.attack(mallory_keeps_ems=True)
    assert kept.resumed is None and kept.check == "record_mac"
    assert not kept.synchronized.same_master_secret
    assert kept.synchronized.extended_master_secret == (True, True)


# -- lab 5 ------------------------------------------------------------------------------------------
def test_ghash_matches_cryptography():
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    key, nonce, aad, plain = bytes(range(16)), bytes(12), b"header", b"x" * 37
    sealed = AESGCM(key).encrypt(nonce, plain, aad)
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    h = gcm.to_field(enc.update(bytes(16)))
    mask = gcm.to_field(enc.update(nonce + b"\0\0\0\1"))
    assert gcm.from_field(gcm.ghash(h, aad, sealed[:-16]) ^ mask) == sealed[-16:]


def test_roots_are_found():
    rng = lesson_rng("roots")
    a, b = 0x1234, 1 << 100 | 7
    f = gcm.p_mul(gcm.p_mul([a, 1], [b, 1]), [0, 0, 1, 1])   # (X+a)(X+b)X^2(X+1)
    assert gcm.roots(f, rng) == sorted({0, 1, a, b})


def test_gcm_nonce_reuse_forges_a_record_the_client_accepts():
    result = gcm.attack(weakened=True)
    assert len(set(result.nonces)) == 1
    assert result.xor_of_plaintexts == bytes(a ^ b for a, b in zip(gcm.RESPONSES[0],
                                                                    gcm.RESPONSES[1]))
    assert result.h == result.true_h and result.succeeded
    assert result.client_received == gcm.FORGED


def test_gcm_unique_nonces_make_the_forgery_fail_at_record_mac():
    result = gcm.attack(weakened=False)
    assert len(set(result.nonces)) == 3 and result.h is None
    assert not result.succeeded and result.check == "record_mac"


# -- lab 6 ------------------------------------------------------------------------------------------
def test_downgrade_succeeds_against_a_client_ignoring_the_sentinel():
    result = downgrade.downgrade(check_sentinel=False)
    assert result.succeeded and result.version == "1.2"
    assert result.cookie == b"5be0c41d27a9f836" and result.oracle_queries == LAB6_QUERIES


def test_the_sentinel_stops_the_downgrade():
    result = downgrade.downgrade(check_sentinel=True)
    assert not result.succeeded and result.check == "downgrade_sentinel"
    assert result.oracle_queries == 0


def test_rewriting_the_sentinel_is_caught_by_the_ske_signature_but_not_with_static_rsa():
    ecdhe = downgrade.downgrade(check_sentinel=True, rewrite_sentinel=True, rsa_only=False)
    assert ecdhe.check == "ske_signature"
    rsa = downgrade.downgrade(check_sentinel=True, rewrite_sentinel=True, rsa_only=True)
    assert rsa.check != "downgrade_sentinel" and rsa.version == "1.2"


# -- lab 7 ------------------------------------------------------------------------------------------
def test_replayed_early_data_is_processed_twice_without_anti_replay():
    result = early_data_replay.replay(anti_replay=False)
    assert result.succeeded and result.processed == 2 and result.check is None
    assert [b"".join(d) for d in result.deliveries] == [early_data_replay.REQUEST] * 2
    # the very bytes the honest client sent: its ClientHello (with the binder) and early data
    sent = b"".join(rec for sender, step, rec in result.honest.records
                    if sender == "client" and step.name in early_data_replay.FIRST_FLIGHT)
    assert result.flight == sent and result.flight.startswith(b"\x16\x03\x01")
    # Mallory gets the request delivered but cannot finish the handshake
    assert not any(conn.handshake_complete for conn in result.replayed)
    assert early_data_replay.replay(anti_replay=False, replays=3).processed == 4


def test_anti_replay_refuses_the_replays_early_data():
    result = early_data_replay.replay(anti_replay=True)
    assert not result.succeeded and result.processed == 1
    assert result.check == "early_data_rejected" and "a replay" in result.reason
    assert result.deliveries[1] == [] and result.replayed[0].resumed   # the PSK is fine
    assert result.replayed[0].values["early_data_rejected"] == result.reason


def test_freshness_window_alone_stops_a_late_replay_not_an_early_one():
    fresh_only = sessions.AntiReplay(single_use=False)
    assert early_data_replay.replay(anti_replay=fresh_only).succeeded
    late = early_data_replay.replay(anti_replay=sessions.AntiReplay(single_use=False),
                                    delay_ms=60_000)
    assert not late.succeeded and "does not match its issue time" in late.reason


def test_single_use_needs_one_memory_for_all_servers():
    """RFC 8446 §8.1/§8.2: a second front end with the same ticket key but its own memory
    accepts the replay."""
    assert early_data_replay.replay(anti_replay=True, other_server=True).succeeded


def test_lab7_repeats_byte_for_byte():
    assert early_data_replay.replay(False).flight == early_data_replay.replay(True).flight


# -- lesson only --------------------------------------------------------------------------------
def test_labs_table_names_real_modules_and_classes():
    for lab in LABS:
        module = importlib.import_module(f"tlslesson.attacks.{lab.module}")
        name = lab.weakened.split("(")[0]
        assert name in ("ClientConfig", "ems=False, resume_without_ems=True") \
            or hasattr(module, name), lab
    assert [lab.number for lab in LABS] == list(range(1, len(LABS) + 1))


def test_weakened_classes_are_not_reachable_outside_attacks():
    """No module of the package outside attacks/ names a weakened class, and none but the
    notebook widget (lesson/attack_lab.py, a view over attacks.lab) and the graded assignments
    (assignments/: A9 runs lab 3's oracle) imports attacks/ — the protocol code and the
    command line never do."""
    outside = [p for p in (ROOT / "tlslesson").rglob("*.py") if "attacks" not in p.parts]
    assert len(outside) > 20
    imports = re.compile(r"(from|import)\s+(\.+|tlslesson\.)attacks\b")
    for path in outside:
        text = path.read_text(encoding="utf-8")
        lesson_only = path.name == "attack_lab.py" or "assignments" in path.parts
        assert not imports.search(text) or lesson_only, path
        if lesson_only:
            continue
        for name in WEAKENED:
            assert name not in text, (name, path)
        # lab 7's switch is defined beside the anti-replay it turns off, and used nowhere else
        assert "lesson_replayable" not in text or path.name == "sessions.py", path


def test_defaults_are_the_defended_ones():
    client, server = connection.ClientConfig(), connection.ServerConfig()
    assert client.verify and client.ems and server.ems
    lesson_client, lesson_server = lesson_configs()
    assert lesson_client.verify and lesson_client.ems and lesson_server.ems
    for anti_replay in (server.anti_replay, lesson_server.anti_replay):      # lab 7
        assert anti_replay.single_use and anti_replay.window_ms == 10_000
    assert type(ClientConnection(client)) is ClientConnection


def test_command_line_offers_no_attack():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "tlslesson", "--help"], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0 and "attack" not in out.stdout.lower()
    for command in ("connect", "serve"):
        out = subprocess.run([sys.executable, "-m", "tlslesson", command, "--help"],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert not re.search(r"oracle|nonce|sentinel|attack|replay", out.stdout, re.I), command


@pytest.mark.parametrize("number", [1, 3, 4, 5, 7])
def test_lab_model_runs_both_ways(number):
    from tlslesson.attacks import lab
    off, on = lab.run(number, defence=False), lab.run(number, defence=True)
    assert off.succeeded and off.check is None and off.lines
    assert not on.succeeded and on.check == LABS[number - 1].stopped_by


def test_notebook_14_has_a_section_and_a_widget_for_every_lab():
    import json
    cells = json.loads((ROOT / "notebooks" / "14-attacks-that-work.ipynb").read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) for c in cells]
    for lab in LABS:
        assert any(s.startswith(f"## Lab {lab.number} ") for s in sources), lab
        assert f"attack_lab({lab.number})" in sources, lab


def test_attack_lab_widget_builds(capsys):
    pytest.importorskip("ipywidgets")
    from tlslesson.lesson import attack_lab
    view = attack_lab(5)
    toggle, button, counter = view.children[0].children
    toggle.value = True
    assert toggle.description == "defence: on"
    button.click()
    # outside a kernel the Output widget captures nothing: the print reaches stdout
    assert "record_mac" in str(view.children[1].outputs) + capsys.readouterr().out
