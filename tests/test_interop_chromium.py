"""Interop with Chromium (BoringSSL) as a TLS client of ``python -m tlslesson serve``.

tests/test_browser.py drives Chromium only as the JupyterLab front end (plain HTTP on loopback);
here Debian's /usr/bin/chromium is the TLS client of our command-line echo server:

    chromium --headless ... --host-resolver-rules='MAP localhost 127.0.0.1, MAP * ~NOTFOUND'
             --ssl-key-log-file=KEYS --log-net-log=NET --net-log-capture-mode=Everything
             --dump-dom https://localhost:PORT/

Chromium checks our chain against the lesson CA, which it trusts through an NSS database in a
``$HOME`` of its own (``certutil``/``pk12util`` from libnss3-tools): no certificate error is
ignored. For client authentication that database also holds the lesson client's key, and an
``auto_select_certificate`` content setting in the profile's Preferences picks it (headless
Chromium has no certificate chooser).

``serve`` echoes, so Chromium's ``GET / HTTP/1.1`` comes back as the "response". That is not HTTP
(and Chromium refuses HTTP/0.9 on a port other than 443: ``ERR_INVALID_HTTP_RESPONSE``), so the
page stays empty; the net log shows the rest: the plaintext Chromium received on the connection
equals what it sent, and the version, suite and group it negotiated. Asserted besides: the same
from serve's report line, and the key log lines of both sides equal, connection by connection.

Chromium is only a client; it offers no DHE suite and no ffdhe/MLKEM768/SecP256r1MLKEM768,
secp521r1 or x448 group (of the groups we do not offer by default it has secp384r1 only),
and always sends extended_master_secret (EMS cannot be switched off): those cases are left out.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import NoEncryption, pkcs12

from peers import PROCESS_TIMEOUT, CLIServer, lesson  # noqa: F401
from tlslesson import keylog, suites
from tlslesson.constants import NamedGroup

CHROMIUM = "/usr/bin/chromium"
CERTUTIL, PK12UTIL = shutil.which("certutil"), shutil.which("pk12util")
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                       reason=f"{CHROMIUM} not installed (apt-get install chromium)"),
    pytest.mark.skipif(CERTUTIL is None or PK12UTIL is None,
                       reason="certutil/pk12util not installed (apt-get install libnss3-tools): "
                              "needed to make Chromium trust the lesson CA"),
]

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-proxy-server", "--host-resolver-rules=MAP localhost 127.0.0.1, MAP * ~NOTFOUND",
    "--net-log-capture-mode=Everything",
]
ERR_INVALID_HTTP_RESPONSE = -370
VERSION = {"1.2": "TLS 1.2", "1.3": "TLS 1.3"}

# Chromium's TLS 1.2 suites are ours without DHE (it offers none)
TLS12 = [s for s in suites.TLS12_SUITES if s.kx != "DHE"]
TLS13 = list(suites.TLS13_SUITES)
# suites.MORE_SUITES: the AEAD ones Chromium offers (it offers no _SHA256/_SHA384 CBC suite, no DHE
# and no AES-CCM; its SHA-1 CBC fallbacks are covered by the other peers)
TLS12 += [suites.get(name) for name in ("ECDHE-ECDSA-AES256-GCM-SHA384",
                                         "ECDHE-ECDSA-CHACHA20-POLY1305", "AES256-GCM-SHA384")]


def suite_id(suite) -> str:
    return suite.openssl_name


# ------------------------------------------------------------------------------------------------
# Chromium's own $HOME: an NSS database that trusts the lesson CA and holds the client's key
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium_home(lesson, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("chromium-home")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    db = f"sql:{nssdb}"
    p12 = home / "client.p12"
    client = lesson.pki.client
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"lesson client", client.key, client.certificate, None, NoEncryption()))
    for cmd in ([CERTUTIL, "-N", "-d", db, "--empty-password"],
                [CERTUTIL, "-A", "-d", db, "-n", "lesson root", "-t", "C,,",
                 "-i", lesson["ca.crt"]],
                [PK12UTIL, "-i", str(p12), "-d", db, "-W", ""]):
        subprocess.run(cmd, check=True, capture_output=True, timeout=PROCESS_TIMEOUT)
    return home


def run_chromium(home: Path, tmp_path: Path, port: int, *, client_auth: bool = False) -> dict:
    """Chromium loads https://localhost:PORT/ once; its key log lines and net log."""
    profile, keys, netlog = tmp_path / "profile", tmp_path / "chromium.keys", tmp_path / "net.json"
    if client_auth:           # what the AutoSelectCertificateForUrls policy would write
        (profile / "Default").mkdir(parents=True)
        setting = {f"https://localhost:{port},*": {"setting": {"filters": [{}]}}}
        exceptions = {"auto_select_certificate": setting}
        (profile / "Default" / "Preferences").write_text(json.dumps(
            {"profile": {"content_settings": {"exceptions": exceptions}}}))
    env = {**os.environ, "HOME": str(home)}
    env.pop("SSLKEYLOGFILE", None)
    cmd = [CHROMIUM, *CHROMIUM_ARGS, f"--user-data-dir={profile}", f"--ssl-key-log-file={keys}",
           f"--log-net-log={netlog}", "--dump-dom", f"https://localhost:{port}/"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        dom, err = proc.communicate(timeout=PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        dom, err = b"", b"chromium timed out"
    finally:
        try:                  # chromium and any helper left: the process group it leads
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)
    return {"returncode": proc.returncode, "dom": dom.decode("utf-8", "replace"),
            "stderr": err.decode("utf-8", "replace"),
            "keylog": keys.read_text().splitlines() if keys.exists() else [],
            **read_netlog(netlog)}


def read_netlog(path: Path) -> dict:
    """From Chromium's net log: its TLS connections (client random, ClientHellos sent, the
    SSL_CONNECT outcome, the plaintext sent and received), the certificate verifications'
    cert_status (0: no error) and the HTTP transactions' net_error."""
    text = path.read_text() if path.exists() else ""
    try:
        netlog = json.loads(text) if text else {"constants": {"logEventTypes": {}}, "events": []}
    except ValueError:        # a net log cut short (chromium killed): close its events list
        netlog = json.loads(text.rstrip().rstrip(",") + "]}")
    names = {v: k for k, v in netlog["constants"]["logEventTypes"].items()}
    by_source: dict[int, dict] = defaultdict(lambda: {"sent": b"", "received": b""})
    cert_status, http_errors = [], []
    for event in netlog["events"]:
        name, params = names.get(event["type"]), event.get("params", {})
        end = event.get("phase") == 2
        conn = by_source[event["source"]["id"]]
        if name == "SSL_HANDSHAKE_MESSAGE_SENT" and params.get("type") == 1:   # ClientHello
            conn["client_random"] = base64.b64decode(params["bytes"])[6:38]
            conn["client_hellos"] = conn.get("client_hellos", 0) + 1
        elif name == "SSL_CONNECT" and end:
            conn["connect"] = params
        elif name == "SSL_SOCKET_BYTES_SENT":
            conn["sent"] += base64.b64decode(params.get("bytes", ""))
        elif name == "SSL_SOCKET_BYTES_RECEIVED":
            conn["received"] += base64.b64decode(params.get("bytes", ""))
        elif name == "CERT_VERIFIER_JOB" and end:
            cert_status.append(params.get("cert_status"))
        elif name == "HTTP_TRANSACTION_READ_HEADERS" and end:
            http_errors.append(params.get("net_error"))
    return {"connections": [c for c in by_source.values() if "client_random" in c],
            "cert_status": cert_status, "http_errors": http_errors}


REPORT = re.compile(r"^127\.0\.0\.1:\d+  (?:TLS (\S+) (\S+)(?: (\S+?))?(?:, ALPN (\S+))?"
                    r"(?:, client certificate (.+?))?(?:, ((?:resumed|full handshake)[^,]*))?"
                    r", (\d+) bytes echoed|error: (.*))$", re.M)


def serve_reports(server: CLIServer, count: int) -> list[dict]:
    """serve's report lines, once ``count`` have been printed (a bounded wait)."""
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while len(REPORT.findall(server.stdout.text())) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    keys = ("version", "suite", "group", "alpn", "client_certificate", "resumption", "echoed",
            "error")
    reports = [{k: v or None for k, v in zip(keys, m.groups())}
               for m in REPORT.finditer(server.stdout.text())]
    for r in reports:
        r["echoed"] = r["echoed"] and int(r["echoed"])
    return reports


def chromium_to_serve(lesson, home, tmp_path, *serve_args, client_auth=False,
                      certs=("server", "server-ecdsa")):
    ours = tmp_path / "serve.keys"
    args = [a for c in certs for a in ("--cert", lesson[f"{c}.crt"], "--key", lesson[f"{c}.key"])]
    args += ["--keylog", str(ours), "--timeout", "5", *serve_args]
    if client_auth:
        args += ["--client-ca", lesson["ca.crt"]]
    with CLIServer(*args) as server:
        chromium = run_chromium(home, tmp_path, server.port, client_auth=client_auth)
        reports = serve_reports(server, len(chromium["connections"]))
    return chromium, reports, (ours.read_text().splitlines() if ours.exists() else [])


def check(lesson, home, tmp_path, *serve_args, version, suite=None, group=None,
          client_auth=False, hello_retry=False, alpn=None, **options):
    """Run Chromium against serve and check every side of it; the completed connections."""
    chromium, reports, our_keylog = chromium_to_serve(lesson, home, tmp_path, *serve_args,
                                                      client_auth=client_auth, **options)
    done = [c for c in chromium["connections"]
            if "net_error" not in c.get("connect", {"net_error": None})]
    assert done, (chromium["stderr"][-2000:], chromium["connections"], reports)
    # -- Chromium's view (net log): what it negotiated, that our chain verified, the echo
    for c in done:
        connect = c["connect"]
        assert connect["version"] == VERSION[version]
        if suite is not None:
            assert connect["cipher_suite"] == suite.code
        if group is not None:
            assert connect["key_exchange_group"] == group
        assert c["client_hellos"] == (2 if hello_retry else 1)     # 2: after a HelloRetryRequest
    assert chromium["cert_status"] and set(chromium["cert_status"]) == {0}   # no cert error
    request = [c for c in done if c["sent"].startswith(b"GET / HTTP/1.1\r\n")]
    assert len(request) == 1, [c["sent"][:40] for c in done]
    assert request[0]["received"] == request[0]["sent"]            # our server echoed it all
    assert b"\r\nHost: localhost:" in request[0]["sent"]
    assert ERR_INVALID_HTTP_RESPONSE in chromium["http_errors"]    # an echo is not HTTP
    # -- the server's view (serve's report lines): one per connection Chromium made
    ok = [r for r in reports if r["error"] is None]
    assert len(ok) == len(done), reports
    for r in ok:
        assert r["version"] == version
        if suite is not None:
            assert r["suite"] == suite.name
        # A TLS 1.2 connection Chromium resumes (a second one, started after the first was done)
        # has no key exchange: serve names no group for it (Chromium's net log gives the session's)
        resumed_12 = version == "1.2" and (r["resumption"] or "").startswith("resumed")
        if group is not None and not resumed_12:
            assert r["group"] == NamedGroup(group).name
        if resumed_12:
            assert r["group"] is None
    if group is not None:
        assert any(r["group"] == NamedGroup(group).name for r in ok), reports   # one full handshake
        assert r["alpn"] == alpn                     # serve names what ALPN agreed on
        assert (r["client_certificate"] is not None) == client_auth
        if client_auth:
            assert "CN=lesson client" in r["client_certificate"]
    assert sorted(r["echoed"] for r in ok if r["echoed"]) == [len(request[0]["sent"])]
    # -- key logs: for every connection both completed, the same lines on both sides
    ours_by_random = _by_random(our_keylog)
    theirs_by_random = _by_random(chromium["keylog"])
    assert set(ours_by_random) == {c["client_random"] for c in done}
    labels = {"1.2": {"CLIENT_RANDOM"},
              "1.3": {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                      "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}}
    for random, lines in ours_by_random.items():
        assert {line.split()[0] for line in lines} == labels[version]
        assert sorted(lines) == sorted(theirs_by_random.get(random, [])), random.hex()
    return done, reports


def _by_random(lines) -> dict[bytes, list[str]]:
    out: dict[bytes, list[str]] = defaultdict(list)
    for line in lines:
        parsed = keylog.parse(line)
        if parsed:
            out[parsed[0][1]].append(line.strip())
    return dict(out)


# ------------------------------------------------------------------------------------------------
# The cases
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suite", TLS13, ids=suite_id)
def test_chromium_to_serve_tls13(lesson, chromium_home, tmp_path, suite):
    """Our default groups: Chromium's first key share (X25519MLKEM768) is taken, no
    HelloRetryRequest."""
    check(lesson, chromium_home, tmp_path, "--version", "1.3", "--suite", suite.name,
          version="1.3", suite=suite, group=NamedGroup.X25519MLKEM768)


@pytest.mark.parametrize("suite", TLS12, ids=suite_id)
def test_chromium_to_serve_tls12(lesson, chromium_home, tmp_path, suite):
    check(lesson, chromium_home, tmp_path, "--version", "1.2", "--suite", suite.name,
          version="1.2", suite=suite,
          group=NamedGroup.x25519 if suite.kx == "ECDHE" else None)


def test_chromium_to_serve_tls12_secp256r1(lesson, chromium_home, tmp_path):
    check(lesson, chromium_home, tmp_path, "--version", "1.2", "--group", "secp256r1",
          version="1.2", group=NamedGroup.secp256r1)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_chromium_to_serve_secp384r1(lesson, chromium_home, tmp_path, version):
    """serve --group secp384r1 (a group we do not offer by default, taken by name): Chromium
    lists it but sends no share for it, so TLS 1.3 takes a HelloRetryRequest round."""
    check(lesson, chromium_home, tmp_path, "--version", version, "--group", "secp384r1",
          version=version, group=NamedGroup.secp384r1, hello_retry=version == "1.3")


def test_chromium_to_serve_x25519mlkem768(lesson, chromium_home, tmp_path):
    """serve accepting only X25519MLKEM768: Chromium's first key share, no HelloRetryRequest."""
    check(lesson, chromium_home, tmp_path, "--group", "X25519MLKEM768",
          version="1.3", group=NamedGroup.X25519MLKEM768)


def test_chromium_to_serve_pq_first(lesson, chromium_home, tmp_path):
    """serve preferring X25519MLKEM768, then x25519: the hybrid wins."""
    check(lesson, chromium_home, tmp_path, "--group", "X25519MLKEM768", "--group", "x25519",
          version="1.3", group=NamedGroup.X25519MLKEM768)


def test_chromium_to_serve_hello_retry_request(lesson, chromium_home, tmp_path):
    """serve taking only secp256r1, which Chromium lists but sends no share for: one
    HelloRetryRequest round (two ClientHellos in the net log, one client random)."""
    check(lesson, chromium_home, tmp_path, "--group", "secp256r1",
          version="1.3", group=NamedGroup.secp256r1, hello_retry=True)


def test_chromium_to_default_serve(lesson, chromium_home, tmp_path):
    """serve with no options but its certificates: TLS 1.3 with X25519MLKEM768 (our default
    prefers the hybrid; Chromium sends its share first), and the server log says so."""
    check(lesson, chromium_home, tmp_path, version="1.3", group=NamedGroup.X25519MLKEM768)


def test_chromium_to_serve_classical_groups(lesson, chromium_home, tmp_path):
    """serve with the classical groups only: Chromium's second key share, x25519."""
    check(lesson, chromium_home, tmp_path, "--group", "x25519", "--group", "secp256r1",
          version="1.3", group=NamedGroup.x25519)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_chromium_alpn_to_serve(lesson, chromium_home, tmp_path, version):
    """Chromium offers h2 and http/1.1; serve --alpn http/1.1 (HTTP/2 would not survive an
    echo) picks http/1.1, and its log line names it for every connection."""
    check(lesson, chromium_home, tmp_path, "--version", version, "--alpn", "http/1.1",
          version=version, alpn="http/1.1")


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_chromium_client_certificate(lesson, chromium_home, tmp_path, version):
    """serve --client-ca: Chromium first ends the handshake to choose a certificate (those
    connections end in serve's log as closed during the handshake), then connects again with
    the lesson client's, which serve verifies."""
    done, reports = check(lesson, chromium_home, tmp_path, "--version", version,
                          version=version, client_auth=True)
    # the connections Chromium dropped to pick its certificate
    assert all("closed the connection during the handshake" in r["error"]
               for r in reports if r["error"] is not None), reports


# Of the new server keys BoringSSL takes P-384 only: no P-521, no EdDSA, and RSA-PSS as
# rsa_pss_rsae_* (an rsaEncryption key, which the lesson RSA certificate already is).
from peers import extra_identities  # noqa: E402,F401


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_chromium_to_serve_p384_certificate(lesson, extra_identities, chromium_home, tmp_path,
                                            version):
    """The P-384 certificate alone: Chromium must take ecdsa_secp384r1_sha384 from it."""
    suite = suites.get("ECDHE-ECDSA-AES128-GCM-SHA256" if version == "1.2"
                       else "TLS_AES_128_GCM_SHA256")
    check(lesson, chromium_home, tmp_path, "--version", version, "--suite", suite.name,
          version=version, suite=suite, certs=("server-ecdsa-p384",))


# ------------------------------------------------------------------------------------------------
# serve --http: a page, and later connections that resume the first (RFC 8446 §2.2)
# ------------------------------------------------------------------------------------------------
HTTP_REPORT = re.compile(r"^127\.0\.0\.1:\d+  TLS (\S+) (\S+) (\S+), ALPN (\S+)(, resumed by ticket "
                         r"\(psk_dhe_ke\))?, HTTP (GET \S+) HTTP/1\.1$", re.M)


def test_serve_http_page_and_a_resumed_connection(lesson, chromium_home, tmp_path):
    """Chromium loads the page and its images, each on a new connection (Connection: close);
    one that starts after the first connection's NewSessionTickets resumes with a PSK —
    X25519MLKEM768 chosen every time, and both sides' key logs agree."""
    ours = tmp_path / "serve.keys"
    args = ["--cert", lesson["server.crt"], "--key", lesson["server.key"],
            "--keylog", str(ours), "--timeout", "5", "--http"]
    with CLIServer(*args) as server:
        chromium = run_chromium(chromium_home, tmp_path, server.port)
        done = [c for c in chromium["connections"] if c.get("connect", {}).get("version")]
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while len(re.findall(r"^127\.0\.0\.1:", server.stdout.text(), re.M)) < len(done) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = HTTP_REPORT.findall(server.stdout.text())
    assert "<h1>Your connection</h1>" in chromium["dom"], chromium["dom"][:500]
    assert "<td>X25519MLKEM768</td>" in chromium["dom"]
    resumed = [c for c in done if c["connect"].get("is_resumed")]
    assert len(done) >= 3 and resumed, [c.get("connect") for c in done]
    assert all(c["connect"]["key_exchange_group"] == 0x11EC for c in done)   # X25519MLKEM768
    assert {c["connect"]["next_proto"] for c in done} == {"http/1.1"}
    assert 3 <= len(lines) <= len(done)    # a spare preconnection may close with no request
    assert {line[2] for line in lines} == {"X25519MLKEM768"}
    assert 1 <= sum(bool(line[4]) for line in lines) <= len(resumed)   # serve says "resumed" too
    assert ("GET /" in {line[5] for line in lines})
    theirs = keylog.parse("\n".join(chromium["keylog"]))
    mine = keylog.parse(ours.read_text())
    assert sorted(theirs) == sorted(mine) and len({r for _, r, _ in mine}) == len(done)
