"""The command line: `python -m tlslesson pki|connect|serve`, in subprocesses against OpenSSL and
against itself, and its contract for failures: one line `error: ...` on stderr, a non-zero exit,
never a traceback.
"""
from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from peers import (OPENSSL, CLIServer, FakeServer, OpenSSLServer, OurServer,  # noqa: F401
                   TamperProxy, cli_env, flip_byte, lesson, needs_openssl, read_keylog,
                   read_some, run_cli, s_client, ROOT)
from tlslesson import pki
from tlslesson.__main__ import describe_step, main, unescape
from tlslesson.connection import ClientConfig, ServerConfig, handshake
from tlslesson.suites import SUITES

GET = r"GET / HTTP/1.0\r\n\r\n"


def lines(text: bytes | str) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return text.splitlines()


def assert_one_error_line(done, contains: str = "", code: int | None = None) -> str:
    """Non-zero exit, exactly one stderr line starting 'error:', no traceback. The line."""
    err = lines(done.stderr)
    assert done.returncode != 0
    if code is not None:
        assert done.returncode == code
    errors = [line for line in err if line.startswith("error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in "\n".join(err)
    assert contains in errors[0], errors[0]
    return errors[0]


# ------------------------------------------------------------------------------------------------
# pki
# ------------------------------------------------------------------------------------------------
def test_pki_writes_a_usable_pki(tmp_path):
    done = run_cli("pki", str(tmp_path / "pki"))
    assert done.returncode == 0, done.stderr
    loaded = pki.load_pki(tmp_path / "pki")
    report = pki.validate_chain([loaded.rsa_server.certificate, *loaded.rsa_server.chain],
                                loaded.trusted, hostname="localhost")
    assert report.ok
    assert {p.name for p in (tmp_path / "pki").iterdir()} >= {"ca.crt", "server.crt",
                                                               "server.key", "client.crt"}
    if OPENSSL:
        verify = subprocess.run([OPENSSL, "verify", "-CAfile", str(tmp_path / "pki/ca.crt"),
                                 "-untrusted", str(tmp_path / "pki/intermediate.crt"),
                                 str(tmp_path / "pki/server.crt")],
                                capture_output=True, text=True, timeout=10)
        assert verify.returncode == 0 and ": OK" in verify.stdout


def test_pki_unwritable_directory(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    assert_one_error_line(run_cli("pki", str(tmp_path / "file" / "pki")), "cannot write")


# ------------------------------------------------------------------------------------------------
# connect -> openssl s_server
# ------------------------------------------------------------------------------------------------
@pytest.mark.interop
@needs_openssl
@pytest.mark.parametrize("ems", [True, False], ids=["ems", "no-ems"])
def test_connect_tls12_to_s_server(lesson, tmp_path, ems):
    theirs, ours = tmp_path / "s_server.keys", tmp_path / "ours.keys"
    with OpenSSLServer(lesson, "-tls1_2", keylog=theirs) as server:
        done = run_cli("connect", "localhost", str(server.port), "--cafile", lesson["ca.crt"],
                       "--suite", "ECDHE-RSA-AES128-GCM-SHA256", "--send", GET,
                       "--keylog", str(ours), "--timeout", "5", *([] if ems else ["--no-ems"]))
        server.wait()
    err = lines(done.stderr)
    assert done.returncode == 0, err
    assert err[0].startswith("-> ClientHello  versions=1.2 suites=1 ")
    assert "sni=localhost" in err[0]
    assert f"<- ServerHello  TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 ems={'yes' if ems else 'no'}" \
        in err
    assert "<- Certificate  CN=localhost (2 certs) \u2713 chain valid" in err
    assert any(line.startswith("<- ServerKeyExchange  x25519, signed with") for line in err)
    assert any(line.startswith("-> Finished  verify_data=") and "[encrypted]" in line
               for line in err)
    assert "handshake complete: TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256" in err
    assert not any(line.startswith("error:") for line in err)
    page = done.stdout.decode()
    assert page.startswith("HTTP/1.0 200 ok\r\n")
    assert "New, TLSv1.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256" in page
    assert f"Extended master secret: {'yes' if ems else 'no'}" in page
    assert read_keylog(ours) and read_keylog(ours).items() <= read_keylog(theirs).items()


@pytest.mark.interop
@needs_openssl
def test_connect_tls13_by_ip_with_client_certificate_and_group(lesson, tmp_path):
    """HOST an IP address: no SNI, and the certificate is checked against the IP (its SAN)."""
    with OpenSSLServer(lesson, "-tls1_3", "-Verify", "1", "-CAfile", lesson["ca.crt"]) as server:
        done = run_cli("connect", "127.0.0.1", str(server.port), "--cafile", lesson["ca.crt"],
                       "--group", "P-256", "--cert", lesson["client.crt"],
                       "--key", lesson["client.key"], "--send", GET, "--timeout", "5")
        server.wait()
    err = lines(done.stderr)
    assert done.returncode == 0, err
    assert "sni=" not in err[0] and "key_share=secp256r1" in err[0]
    assert "<- ServerHello  TLS 1.3 TLS_AES_128_GCM_SHA256 secp256r1" in err
    assert "<- CertificateRequest  the server asks for a client certificate  [encrypted]" in err
    assert "-> Certificate  CN=lesson client (1 cert)  [encrypted]" in err
    assert "handshake complete: TLS 1.3 TLS_AES_128_GCM_SHA256" in err
    assert sum(line.startswith("<- NewSessionTicket") for line in err) == 2
    assert "lesson client" in done.stdout.decode()


@pytest.mark.interop
@needs_openssl
@pytest.mark.parametrize("version, alert", [("1.2", "handshake_failure (40)"),
                                            ("1.3", "certificate_required (116)")])
def test_connect_without_required_certificate(lesson, version, alert):
    with OpenSSLServer(lesson, "-Verify", "1", "-CAfile", lesson["ca.crt"]) as server:
        done = run_cli("connect", "localhost", str(server.port), "--cafile", lesson["ca.crt"],
                       "--version", version, "--send", GET, "--timeout", "5")
        server.wait()
    line = assert_one_error_line(done, code=1)
    assert line == f"error: the server sent alert {alert}"


@pytest.mark.interop
@needs_openssl
def test_connect_wrong_name_is_bad_certificate(lesson):
    with OpenSSLServer(lesson) as server:
        done = run_cli("connect", "127.0.0.1", str(server.port), "--cafile", lesson["ca.crt"],
                       "--servername", "www.example.com", "--timeout", "5")
    assert_one_error_line(done, "bad_certificate (42): certificate check 'name' failed")


@pytest.mark.interop
@needs_openssl
def test_connect_untrusted_without_cafile(lesson):
    """No --cafile: the system trust store, which doesn't know the lesson CA."""
    with OpenSSLServer(lesson) as server:
        done = run_cli("connect", "localhost", str(server.port), "--timeout", "5")
    assert_one_error_line(done, "unknown_ca (48)")


# ------------------------------------------------------------------------------------------------
# serve <- openssl s_client / connect
# ------------------------------------------------------------------------------------------------
@pytest.mark.interop
@needs_openssl
def test_serve_once_with_s_client(lesson, tmp_path):
    ours, theirs = tmp_path / "serve.keys", tmp_path / "s_client.keys"
    with CLIServer("--cert", lesson["server.crt"], "--key", lesson["server.key"],
                   "--once", "--keylog", str(ours)) as server:
        res = s_client(server.port, lesson, message=b"echo me\n", keylog=theirs)
        code = server.wait(10)
        out = server.stdout.finish().decode()
    assert res.echoed, res.output[-1500:]
    assert code == 0                                       # --once: gone after one connection
    log = lines(out)
    assert log[0] == f"listening on 127.0.0.1:{server.port}"
    assert re.fullmatch(r"127\.0\.0\.1:\d+  TLS 1\.3 TLS_AES_128_GCM_SHA256 x25519, "
                        r"8 bytes echoed", log[1]), log
    assert read_keylog(ours) == read_keylog(theirs) and len(read_keylog(ours)) == 5


@pytest.mark.interop
@needs_openssl
def test_serve_client_auth_logs_refused_client_and_keeps_serving(lesson, tmp_path):
    with CLIServer("--cert", lesson["server.crt"], "--key", lesson["server.key"],
                   "--cert", lesson["server-ecdsa.crt"], "--key", lesson["server-ecdsa.key"],
                   "--version", "1.2", "--suite", "ECDHE-ECDSA-AES128-GCM-SHA256",
                   "--client-ca", lesson["ca.crt"], "--timeout", "5") as server:
        refused = s_client(server.port, lesson, message=b"no cert\n")
        accepted = s_client(server.port, lesson, "-cert", lesson["client.crt"],
                            "-key", lesson["client.key"], message=b"with cert\n")
        assert server.stdout.wait_for(b"bytes echoed", 5)
        assert server.proc.poll() is None                  # still serving
    log = lines(server.stdout.finish())
    assert not refused.echoed and accepted.echoed
    assert accepted.cipher == "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert re.fullmatch(r"127\.0\.0\.1:\d+  error: alert handshake_failure \(40\): "
                        r"client sent no certificate", log[1]), log
    assert "client certificate" in log[2] and "CN=lesson client" in log[2], log


def test_connect_to_serve_both_cli(lesson, tmp_path):
    """Our command line against itself: --send escapes, binary-safe stdout, exit 0 both."""
    with CLIServer("--cert", lesson["server.crt"], "--key", lesson["server.key"],
                   "--once") as server:
        done = run_cli("connect", "localhost", str(server.port), "--cafile", lesson["ca.crt"],
                       "--send", r"hello\r\n\x00\xff done", "--timeout", "5")
        assert server.wait(10) == 0
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"hello\r\n\x00\xff done"
    err = lines(done.stderr)
    assert "handshake complete: TLS 1.3 TLS_AES_128_GCM_SHA256" in err
    assert "-> Alert  warning close_notify (0)  [encrypted]" in err
    assert "<- Alert  warning close_notify (0)  [encrypted]" in err


# ------------------------------------------------------------------------------------------------
# failures: one line, non-zero, no traceback
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, contains", [
    ([], "required: COMMAND"),
    (["bogus"], "invalid choice: 'bogus'"),
    (["connect", "localhost"], "required: PORT"),
    (["connect", "localhost", "http"], "not a port number"),
    (["connect", "localhost", "70000"], "port out of range"),
    (["connect", "localhost", "443", "--suite", "RC4-MD5"], "unknown cipher suite 'RC4-MD5'"),
    (["connect", "localhost", "443", "--group", "ffdhe8192"], "unknown group 'ffdhe8192'"),
    (["connect", "localhost", "443", "--version", "1.2", "--suite", "TLS_AES_128_GCM_SHA256"],
     "is a TLS 1.3 suite, but --version is 1.2"),
    (["connect", "localhost", "443", "--cert", "x.crt"], "--cert and --key go together"),
    (["connect", "localhost", "443", "--cafile", "/nonexistent/ca.crt"],
     "cannot read CA file /nonexistent/ca.crt"),
    (["connect", "localhost", "443", "--timeout", "0"], "--timeout must be positive"),
    (["serve", "--port", "0"], "required: --cert, --key"),
    (["serve", "--port", "0", "--cert", "/nonexistent.crt", "--key", "k"], "cannot read"),
])
def test_bad_arguments_in_process(capsys, args, contains):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and contains in err, err


def test_mismatched_key(lesson, capsys):
    assert main(["serve", "--port", "0", "--cert", lesson["server.crt"],
                 "--key", lesson["client.key"]]) == 2
    assert "does not belong to the certificate" in capsys.readouterr().err


def test_bad_arguments_subprocess():
    assert_one_error_line(run_cli("connect", "localhost", "443", "--suite", "nope"),
                          "unknown cipher suite", code=2)


def test_serve_port_in_use(lesson):
    import socket
    with socket.create_server(("127.0.0.1", 0)) as busy:
        done = run_cli("serve", "--port", str(busy.getsockname()[1]), "--cert",
                       lesson["server.crt"], "--key", lesson["server.key"])
    assert_one_error_line(done, "cannot listen on 127.0.0.1:")


def _garbage(sock, stop):
    read_some(sock)
    sock.sendall(b"\x00" * 64)
    stop.wait(5)


def _close(sock, stop):
    read_some(sock)


def _stall(sock, stop):
    read_some(sock)
    stop.wait(10)


@pytest.mark.parametrize("behaviour, contains", [
    (_garbage, "error: decode_error: record content_type at offset 0: 0 is not a TLS content type"),
    (_close, "error: server closed the connection during the handshake (after ClientHello)"),
    (_stall, "error: timed out after 1 s waiting for the server's ServerHello"),
], ids=["garbage", "close", "stall"])
def test_connect_to_bad_server(lesson, behaviour, contains):
    with FakeServer(behaviour) as fake:     # the stall lasts 10 s: "after 1 s" is --timeout's doing
        done = run_cli("connect", "localhost", str(fake.port), "--cafile", lesson["ca.crt"],
                       "--timeout", "1", "--send", "hi")
    assert assert_one_error_line(done, code=1).startswith(contains)
    assert lines(done.stderr)[0].startswith("-> ClientHello")


def test_connect_nobody_listening():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert_one_error_line(run_cli("connect", "127.0.0.1", str(port)), "cannot connect to")


def test_connect_tampered_finished(lesson):
    """A man in the middle flips a bit of the server's Finished record: bad_record_mac."""
    def tamper(direction, number, record):     # 1.2 from our server: ..., CCS, Finished
        return flip_byte(record) if (direction, number) == ("s2c", 5) else record
    config = ServerConfig(identities=(lesson.pki.rsa_server,), versions=("1.2",))
    with OurServer(config, timeout=2) as ours, TamperProxy(ours.port, tamper, 5) as proxy:
        done = run_cli("connect", "localhost", str(proxy.port), "--cafile", lesson["ca.crt"],
                       "--timeout", "2", "--suite", "ECDHE-RSA-AES128-GCM-SHA256")
    line = assert_one_error_line(done, code=1)
    assert line == "error: alert bad_record_mac (20): AEAD tag check failed on record 0"
    assert "-> Alert  fatal bad_record_mac (20)  [encrypted]" in lines(done.stderr)


def test_interrupt_is_one_line(lesson):
    with FakeServer(_stall) as fake:
        proc = subprocess.Popen([sys.executable, "-m", "tlslesson", "connect", "localhost",
                                 str(fake.port), "--cafile", lesson["ca.crt"], "--timeout", "20"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(),
                                cwd=str(ROOT))
        try:
            first = proc.stderr.readline()         # the ClientHello is out: now it waits
            assert first.startswith(b"-> ClientHello")
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    assert proc.returncode == 130
    assert err.decode().splitlines() == ["error: interrupted"]


# ------------------------------------------------------------------------------------------------
# small pieces, in process
# ------------------------------------------------------------------------------------------------
def test_unescape():
    assert unescape(GET) == b"GET / HTTP/1.0\r\n\r\n"
    assert unescape(r"a\tb\\n\x41\xzz") == b"a\tb\\nA\\xzz"
    assert unescape("caf\u00e9") == "caf\u00e9".encode()
    assert unescape("trailing\\") == b"trailing\\"


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_every_stage_has_a_line(version):
    """describe_step formats every message of a full handshake (client auth, HRR for 1.3)."""
    lesson_pki = pki.lesson_pki()
    from tlslesson.constants import NamedGroup
    run = handshake(ClientConfig(versions=(version,), identity=lesson_pki.client,
                                 suites=tuple(s for s in SUITES if s.version == version)),
                    ServerConfig(client_ca=lesson_pki.trusted, groups=(NamedGroup.secp256r1,)))
    assert run.ok, run.error
    described = [describe_step(step, run.client) for step in run.client.log]
    assert len(described) == len(run.client.log) > 8
    assert all(re.match(r"(->|<-) [A-Za-z]+", line) for line in described), described
    if version == "1.3":
        assert any(line.startswith("<- HelloRetryRequest  the server wants a key_share for "
                                   "secp256r1") for line in described), described
