"""Interop with NSS (Mozilla's TLS stack, Debian's 3.87 tools), both directions.

Our client -> ``selfserv`` (NSS's test server; it answers ``GET`` with an HTTP page that echoes the
request) and ``tstclnt`` (NSS's test client; it sends stdin, prints what comes back) -> our server.
Checked: the version and suite as NSS describes them (``-v``), the data both ways, whether the
extended master secret was used, the client certificate the server saw, and the keys. Debian's NSS
ignores SSLKEYLOGFILE, so instead of comparing key logs both sides export keying material
(RFC 5705; RFC 8446 §7.5): NSS prints it (``-x LABEL:32``), we compute it from our own key log
(TLS 1.2: the master secret of the CLIENT_RANDOM line; TLS 1.3: the EXPORTER_SECRET line).

NSS keeps certificates in databases, one per server certificate (it names certificates by their
subject, and both lesson server certificates are "localhost"), built once per session from the
lesson PKI through PKCS#12. ``tstclnt`` presents any client certificate its database holds, so
the runs without client authentication use a database holding only the root.

``selfserv`` cannot be told which address to listen on (it binds every interface, on a port the OS
picked for 127.0.0.1 a moment before); the tests dial only 127.0.0.1.

Left out, the peer's limitations: NSS 3.87 exports nothing from a TLS 1.2 connection with a SHA-384
PRF (ECDHE-RSA-AES256-GCM-SHA384 and the other SHA-384 suites: keys checked by the handshake
only); tstclnt cannot stop offering EMS (EMS off that way: our server declines it); NSS has no
AES-CCM (TLS_AES_128_CCM_SHA256: selfserv says SSL_ERROR_UNKNOWN_CIPHER_SUITE).
"""
from __future__ import annotations

import hashlib
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.serialization import NoEncryption, pkcs12

from peers import (PROCESS_TIMEOUT, OurServer, _Collector, _kill, free_port, keylog_of,
                   lesson)  # noqa: F401  (lesson: a fixture)
from tlslesson import groups, net, suites, tls12, tls13
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.constants import DOWNGRADE_TLS12, AlertDescription, NamedGroup
from tlslesson.errors import AlertError
from tlslesson.suites import MORE_SUITES, TLS12_SUITES, TLS13_SUITES

# suites.MORE_SUITES: the TLS 1.2 ones once each way (EMS, no client certificate); NSS has every
# one of them. It has no AES-CCM at all (TLS_AES_128_CCM_SHA256 left out).
MORE12 = tuple(s for s in MORE_SUITES if s.version == "1.2")

SELFSERV, TSTCLNT = shutil.which("selfserv"), shutil.which("tstclnt")
CERTUTIL, PK12UTIL = shutil.which("certutil"), shutil.which("pk12util")
STDBUF = shutil.which("stdbuf")          # coreutils: NSS's tools buffer stdout in a pipe

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(None in (SELFSERV, TSTCLNT, CERTUTIL, PK12UTIL),
                       reason="NSS tools (selfserv, tstclnt, certutil, pk12util) not installed: "
                              "apt-get install libnss3-tools"),
    pytest.mark.skipif(STDBUF is None, reason="stdbuf (coreutils) not installed"),
]

LABEL = "EXPORTER-tlslesson-interop"     # RFC 5705 §4: exporter labels begin with "EXPORTER"
EXPORT_LENGTH = 32
EXPORT_ARG = f"{LABEL}:{EXPORT_LENGTH}"

# NSS 3.87 has no x448
NSS_GROUP = {NamedGroup.x25519: "x25519", NamedGroup.secp256r1: "P256",
             NamedGroup.ffdhe2048: "FF2048",
             NamedGroup.secp384r1: "P384", NamedGroup.secp521r1: "P521",
             NamedGroup.ffdhe3072: "FF3072", NamedGroup.ffdhe4096: "FF4096"}
GROUPS = list(NSS_GROUP)
GROUP_BITS = {NamedGroup.x25519: 255, NamedGroup.secp256r1: 256, NamedGroup.ffdhe2048: 2048,
              NamedGroup.secp384r1: 384, NamedGroup.secp521r1: 521,
              NamedGroup.ffdhe3072: 3072, NamedGroup.ffdhe4096: 4096}
# TLS 1.2 ECDHE with the curves we do not offer by default
TLS12_NEW_CURVES = [NamedGroup.secp384r1, NamedGroup.secp521r1]


def accepting(group) -> tuple[int, ...]:
    """Our default groups, and the one given if it is not among them (we do not accept it else)."""
    return groups.DEFAULT if group in groups.DEFAULT else (*groups.DEFAULT, group)


def suite_id(suite) -> str:
    return suite.openssl_name


def nss_cipher_arg(suite) -> str:
    """selfserv/tstclnt ``-c``: ``:XXXX`` is the suite by its code (TLS 1.3 suites included)."""
    return f":{suite.code:04X}"


def nss_version_arg(version: str) -> str:
    return f"tls{version}:tls{version}"


# ------------------------------------------------------------------------------------------------
# NSS databases, once per session
# ------------------------------------------------------------------------------------------------
@dataclass
class NSSDatabases:
    rsa: str        # "sql:DIR" with the root, and the RSA server certificate + key ("server")
    ecdsa: str      # the root, and the ECDSA server certificate + key ("server-ecdsa")
    client: str     # the root, and the client certificate + key ("client")
    trust: str      # the root only: a client that must not present a certificate


def _run(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, timeout=PROCESS_TIMEOUT)
    assert done.returncode == 0, (cmd, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def nss(lesson, tmp_path_factory) -> NSSDatabases:
    base = tmp_path_factory.mktemp("nss")
    identities = {"rsa": ("server", lesson.pki.rsa_server),
                  "ecdsa": ("server-ecdsa", lesson.pki.ecdsa_server),
                  "client": ("client", lesson.pki.client), "trust": None}
    names = {}
    for db, identity in identities.items():
        directory = base / db
        directory.mkdir()
        names[db] = f"sql:{directory}"
        _run(CERTUTIL, "-N", "-d", names[db], "--empty-password")
        _run(CERTUTIL, "-A", "-d", names[db], "-n", "lesson-root", "-t", "CT,C,C",
             "-i", lesson["ca.crt"])
        if identity is not None:
            nickname, ident = identity
            p12 = base / f"{nickname}.p12"
            p12.write_bytes(pkcs12.serialize_key_and_certificates(
                nickname.encode(), ident.key, ident.certificate, list(ident.chain),
                NoEncryption()))
            _run(PK12UTIL, "-d", names[db], "-i", str(p12), "-W", "")
    return NSSDatabases(**names)


# ------------------------------------------------------------------------------------------------
# What NSS prints with -v and -x
# ------------------------------------------------------------------------------------------------
_INFO = re.compile(r"SSL version 3\.(\d) using (\d+-bit \S+) with (\d+-bit \S+) MAC\s*\n"
                   r"[^\n]*Server Auth: \d+-bit ([^,]+), Key Exchange: (\d+)-bit ([^\n]+)\n"
                   r"\s*Compression: \S+, Extended Master Secret: (Yes|No)")
_EXPORT = re.compile(r'Label: "' + re.escape(LABEL) + r'"\s*\n\s*Length: (\d+)\s*\n'
                     r"\s*Keying Material:\s*\n((?:[ \t]+[0-9a-f:]+\n)+)")


@dataclass(frozen=True)
class NSSInfo:
    """The handshake as NSS describes it (SSL_GetChannelInfo / SSL_GetCipherSuiteInfo)."""
    version: str        # "1.2" or "1.3" (NSS prints 3.3 / 3.4)
    cipher: str         # "128-bit AES-GCM", "256-bit CHACHA20POLY1305", "128-bit AES"
    mac: str            # "128-bit AEAD" or "160-bit SHA1"
    auth: str           # "RSA", "ECDSA"; "TLS 1.3" for every TLS 1.3 suite
    kx: str             # "ECDHE", "DHE", "RSA"; "TLS 1.3"
    kx_bits: int        # 255 x25519, 256 P-256, 2048 ffdhe2048 / the RSA key
    ems: bool


def nss_info(output: str) -> NSSInfo:
    m = _INFO.search(output)
    assert m, "no handshake summary from NSS:\n" + output[-3000:]
    minor, cipher, mac, auth, bits, kx, ems = m.groups()
    return NSSInfo({"3": "1.2", "4": "1.3"}.get(minor, f"3.{minor}"), cipher, mac, auth.strip(),
                   kx.strip(), int(bits), ems == "Yes")


_NSS_CIPHER = {"AES_128_GCM": "128-bit AES-GCM", "AES_256_GCM": "256-bit AES-GCM",
               "CHACHA20_POLY1305": "256-bit CHACHA20POLY1305", "AES_128_CBC": "128-bit AES",
               "AES_256_CBC": "256-bit AES"}


def expected_info(suite) -> tuple:
    """(version, cipher, mac, auth, kx) NSS must print for ``suite``: together they name each
    suite of the table (TLS 1.3: the AEAD names it, its hash follows)."""
    mac = "128-bit AEAD" if suite.aead else {"SHA1": "160-bit SHA1", "SHA256": "256-bit SHA256",
                                             "SHA384": "384-bit SHA384"}[suite.mac]
    return (suite.version, _NSS_CIPHER[suite.cipher], mac, suite.auth or "TLS 1.3",
            suite.kx or "TLS 1.3")


def described(info: NSSInfo) -> tuple:
    return (info.version, info.cipher, info.mac, info.auth, info.kx)


def nss_exported(output: str) -> bytes:
    m = _EXPORT.search(output)
    assert m, "no exported keying material from NSS:\n" + output[-3000:]
    material = bytes.fromhex(re.sub(r"[\s:]", "", m.group(2)))
    assert len(material) == int(m.group(1)) == EXPORT_LENGTH
    return material


# NSS 3.87 cannot export keying material from a TLS 1.2 connection whose PRF hash is SHA-384
# (selfserv and tstclnt both print "couldn't export keying material: security library failure",
# against OpenSSL as well): the peer's limitation. For that suite the keys are checked only by
# the handshake's Finished messages and the data going through.
NSS_CANNOT_EXPORT = frozenset(s for s in TLS12_SUITES + MORE12 if s.hash == "SHA384")


def check_exported(output: str, connection) -> None:
    """NSS's exported keying material equals ours."""
    if connection.suite in NSS_CANNOT_EXPORT:
        assert "couldn't export keying material" in output, output[-3000:]
        return
    assert nss_exported(output) == our_exported(connection)


def our_exported(connection) -> bytes:
    """The same exporter from our side, from our own key log plus the randoms.

    TLS 1.2 (RFC 5705 §4, no context): PRF(master_secret, label, client_random + server_random).
    TLS 1.3 (RFC 8446 §7.5): HKDF-Expand-Label(Derive-Secret(exporter_master_secret, label, ""),
    "exporter", Hash(""), length)."""
    values, suite = connection.values, connection.suite
    logged = keylog_of(connection.keylog)
    client_random = values["client_random"]
    if connection.version == "1.2":
        master = logged[("CLIENT_RANDOM", client_random)]
        return tls12.prf(master, LABEL.encode(), client_random + values["server_random"],
                         EXPORT_LENGTH, suite.hash)
    secret = logged[("EXPORTER_SECRET", client_random)]
    empty = hashlib.new(suite.hash.lower(), b"").digest()
    derived = tls13.derive_secret(suite.hash, secret, LABEL, empty)
    return tls13.hkdf_expand_label(suite.hash, derived, "exporter", empty, EXPORT_LENGTH)


# ------------------------------------------------------------------------------------------------
# selfserv (the NSS server) and tstclnt (the NSS client)
# ------------------------------------------------------------------------------------------------
class SelfServ:
    """``selfserv -v -x LABEL:32`` on a port the OS picked; killed on exit (it serves forever)."""

    def __init__(self, db: str, nickname: str, *args: str):
        self.db, self.nickname, self.args = db, nickname, args
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> "SelfServ":
        for _ in range(3):          # the port may be taken between free_port() and selfserv
            self.port = free_port()
            self.proc = subprocess.Popen(
                [STDBUF, "-o0", SELFSERV, "-d", self.db, "-n", self.nickname,
                 "-p", str(self.port), "-v", "-x", EXPORT_ARG, *self.args],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            self.output = _Collector(self.proc.stdout)
            if self.output.wait_for(b"About to call accept", PROCESS_TIMEOUT):
                return self
            _kill(self.proc)
            self.output.finish()
            if b"bind" not in self.output.data.lower():
                break
        raise RuntimeError("selfserv did not start: " + self.output.text())

    def summary(self, timeout: float = 5.0) -> str:
        """Its output once it has described the connection (the last line names a certificate:
        the client's when it asked for one, else its own)."""
        self.output.wait_for(re.compile(rb"issuer  DN: [^\n]*\n"), timeout)
        return self.output.text()

    def __exit__(self, *exc) -> None:
        _kill(self.proc)
        self.output.finish()


def selfserv_for(nss: NSSDatabases, suite=None, *args: str) -> SelfServ:
    if suite is not None and suite.auth == "ECDSA":
        return SelfServ(nss.ecdsa, "server-ecdsa", *args)
    return SelfServ(nss.rsa, "server", *args)


@dataclass
class TstclntResult:
    output: str
    echoed: bool


def tstclnt(port: int, db: str, *args: str, message: bytes, timeout: float = 5.0) -> TstclntResult:
    """``tstclnt`` against 127.0.0.1:port: write ``message``, wait for its echo, then kill it
    (it spins on a closed stdin, so stdin stays open until the echo is in)."""
    cmd = [STDBUF, "-o0", TSTCLNT, "-4", "-h", "127.0.0.1", "-p", str(port), "-a", "localhost",
           "-d", db, "-v", "-x", EXPORT_ARG, *args]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = _Collector(proc.stdout)
    try:
        try:
            proc.stdin.write(message)
            proc.stdin.flush()
        except BrokenPipeError:         # tstclnt already gave up: its output says why
            pass
        # the message appears in its output only as the echo (tstclnt doesn't print what it sends)
        echoed = out.wait_for(message, timeout) is not None
        if not echoed:
            out.wait_for(re.compile(rb"SSL_ERROR_\w+|error"), 1.0)
    finally:
        _kill(proc)
        try:
            proc.stdin.close()
        except OSError:
            pass
    return TstclntResult(out.finish().decode("utf-8", "replace"), echoed)


# ------------------------------------------------------------------------------------------------
# Configurations
# ------------------------------------------------------------------------------------------------
def client_config(lesson, suites=None, versions=("1.3", "1.2"), *, client_auth=False,
                  **options) -> ClientConfig:
    kw = {} if suites is None else {"suites": tuple(suites)}
    return ClientConfig(versions=versions, trusted=lesson.trusted, server_name="localhost",
                        identity=lesson.pki.client if client_auth else None, **kw, **options)


def server_config(lesson, suites=None, versions=("1.3", "1.2"), *, client_auth=False,
                  **options) -> ServerConfig:
    kw = {} if suites is None else {"suites": tuple(suites)}
    return ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server),
                        versions=versions, client_ca=lesson.trusted if client_auth else None,
                        **kw, **options)


REQUIRE_CERT = ("-r", "-r")             # selfserv: request and require a client certificate
CLIENT_AUTH = [pytest.param(False, id="no-client-cert"), pytest.param(True, id="client-cert")]


def _token() -> str:
    return secrets.token_hex(8)


# ------------------------------------------------------------------------------------------------
# 1. our client -> selfserv
# ------------------------------------------------------------------------------------------------
def _connect_to_selfserv(lesson, server: SelfServ, config: ClientConfig):
    token = _token()
    request = f"GET /{token} HTTP/1.0\r\n\r\n".encode()
    result = net.connect("127.0.0.1", server.port, config, send=request, timeout=5)
    output = server.summary()
    # selfserv's page: an HTTP header, then our request echoed back
    assert result.data.startswith(b"HTTP/1.0 200 OK\r\n"), result.data[:200]
    assert request in result.data
    return result, output


def check_selfserv(result, output: str, suite, *, client_auth: bool, ems: bool = True) -> NSSInfo:
    info = nss_info(output)
    assert described(info) == expected_info(suite)
    assert (result.version, result.suite) == (suite.version, suite)
    assert info.ems is (ems if suite.version == "1.2" else True)   # 1.3: NSS always says Yes
    subject = re.search(r"subject DN: ([^\n]*)", output).group(1)
    assert ("CN=lesson client" in subject) == client_auth, subject
    check_exported(output, result.connection)
    return info


@pytest.mark.parametrize("client_auth", CLIENT_AUTH)
@pytest.mark.parametrize("suite", TLS12_SUITES, ids=suite_id)
def test_our_client_to_selfserv_tls12(lesson, nss, suite, client_auth):
    # -H 1: selfserv leaves DHE off unless told
    with selfserv_for(nss, suite, "-V", "tls1.2:tls1.2", "-c", nss_cipher_arg(suite), "-H", "1",
                      *(REQUIRE_CERT if client_auth else ())) as server:
        result, output = _connect_to_selfserv(
            lesson, server, client_config(lesson, [suite], ("1.2",), client_auth=client_auth))
    check_selfserv(result, output, suite, client_auth=client_auth)
    assert result.connection.values["extended_master_secret"] is True


def test_our_client_to_selfserv_tls12_no_ems(lesson, nss):
    """Our client doesn't offer extended_master_secret: NSS, which doesn't require it by
    default, falls back to the RFC 5246 master secret and says so."""
    suite = TLS12_SUITES[0]
    with selfserv_for(nss, suite, "-V", "tls1.2:tls1.2", "-c", nss_cipher_arg(suite)) as server:
        result, output = _connect_to_selfserv(
            lesson, server, client_config(lesson, [suite], ("1.2",), ems=False))
    check_selfserv(result, output, suite, client_auth=False, ems=False)
    assert result.connection.values["extended_master_secret"] is False


@pytest.mark.parametrize("client_auth", CLIENT_AUTH)
@pytest.mark.parametrize("suite", TLS13_SUITES, ids=suite_id)
def test_our_client_to_selfserv_tls13(lesson, nss, suite, client_auth):
    with selfserv_for(nss, suite, "-V", "tls1.3:tls1.3", "-c", nss_cipher_arg(suite),
                      *(REQUIRE_CERT if client_auth else ())) as server:
        result, output = _connect_to_selfserv(
            lesson, server, client_config(lesson, [suite], ("1.3",), client_auth=client_auth))
    check_selfserv(result, output, suite, client_auth=client_auth)


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: NamedGroup(g).name)
def test_our_client_to_selfserv_tls13_groups(lesson, nss, group):
    with selfserv_for(nss, None, "-V", "tls1.3:tls1.3", "-I", NSS_GROUP[group]) as server:
        result, output = _connect_to_selfserv(
            lesson, server, client_config(lesson, versions=("1.3",), groups=(group,)))
    info = check_selfserv(result, output, result.suite, client_auth=False)
    assert info.kx_bits == GROUP_BITS[group]
    assert result.connection.values["group"] == NamedGroup(group).name
    assert "hello_retry_request_group" not in result.connection.values


@pytest.mark.parametrize("group", TLS12_NEW_CURVES, ids=lambda g: NamedGroup(g).name)
def test_our_client_to_selfserv_tls12_ecdhe_groups(lesson, nss, group):
    suite = suites.get("ECDHE-RSA-AES128-GCM-SHA256")
    with selfserv_for(nss, suite, "-V", "tls1.2:tls1.2", "-c", nss_cipher_arg(suite),
                      "-I", NSS_GROUP[group]) as server:
        result, output = _connect_to_selfserv(
            lesson, server, client_config(lesson, [suite], ("1.2",), groups=accepting(group)))
    info = check_selfserv(result, output, suite, client_auth=False)
    assert info.kx_bits == GROUP_BITS[group]
    assert result.connection.values["group"] == NamedGroup(group).name


@pytest.mark.parametrize("client_auth", CLIENT_AUTH)
def test_our_client_to_selfserv_hello_retry_request(lesson, nss, client_auth):
    """selfserv takes only P-256; our client's key share is x25519: one HelloRetryRequest."""
    with selfserv_for(nss, None, "-V", "tls1.3:tls1.3", "-I", "P256",
                      *(REQUIRE_CERT if client_auth else ())) as server:
        result, output = _connect_to_selfserv(lesson, server,
                                              client_config(lesson, client_auth=client_auth))
    info = check_selfserv(result, output, result.suite, client_auth=client_auth)
    assert info.kx_bits == 256
    values = result.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    names = [(s.sender, s.name) for s in result.connection.log]
    assert names.count(("client", "ClientHello")) == 2


def test_our_default_client_to_tls12_only_selfserv(lesson, nss):
    """We offer 1.3 and 1.2; NSS limited to 1.2 answers 1.2 without the downgrade sentinel."""
    with selfserv_for(nss, None, "-V", "tls1.2:tls1.2") as server:
        result, output = _connect_to_selfserv(lesson, server, client_config(lesson))
    assert nss_info(output).version == "1.2" == result.version
    assert result.connection.values["server_random"][-8:] != DOWNGRADE_TLS12
    check_exported(output, result.connection)


def test_our_default_client_to_default_selfserv_is_tls13(lesson, nss):
    with selfserv_for(nss, None) as server:
        result, output = _connect_to_selfserv(lesson, server, client_config(lesson))
    assert nss_info(output).version == "1.3" == result.version
    check_exported(output, result.connection)


@pytest.mark.parametrize("version, alert", [("1.2", AlertDescription.bad_certificate),
                                            ("1.3", AlertDescription.certificate_required)])
def test_our_client_without_certificate_gets_nss_alert(lesson, nss, version, alert):
    """NSS requiring a client certificate: bad_certificate in TLS 1.2, certificate_required
    (RFC 8446 §4.4.2.4) in TLS 1.3. In TLS 1.3 the alert comes after our Finished, so our client
    sends nothing and waits for the server (see the next test for one that writes first)."""
    with selfserv_for(nss, None, "-V", nss_version_arg(version), *REQUIRE_CERT) as server:
        with pytest.raises(AlertError) as caught:
            net.connect("127.0.0.1", server.port, client_config(lesson, versions=(version,)),
                        close=False, timeout=5)
        server.output.wait_for(b"PR_Read returned error", 2)
    assert caught.value.received and caught.value.alert == alert
    assert "-12285" in server.output.text()      # SSL_ERROR_NO_CERTIFICATE


def test_our_client_writing_after_refused_tls13_handshake_gets_nss_alert(lesson, nss):
    """Our client's TLS 1.3 handshake is complete when it has sent its (empty) Certificate and
    Finished; NSS then refuses it with certificate_required and closes, with our Finished record
    unread, so its TCP answers with a reset. Our client writes its request only after that (made
    certain by waiting for selfserv's error line): the write fails with EPIPE, but the alert
    record is still readable (RFC 8446 §6.2: the client should report the server's alert)."""
    with selfserv_for(nss, None, "-V", "tls1.3:tls1.3", *REQUIRE_CERT) as server:
        def after_refusal(conn) -> None:
            assert server.output.wait_for(b"PR_Read returned error", 3), server.output.text()
            time.sleep(0.05)                     # its close (and the reset) has gone out
        with pytest.raises(AlertError) as caught:
            net.connect("127.0.0.1", server.port, client_config(lesson, versions=("1.3",)),
                        send=b"GET / HTTP/1.0\r\n\r\n", on_handshake=after_refusal, timeout=5)
    assert caught.value.received
    assert caught.value.alert == AlertDescription.certificate_required


# ------------------------------------------------------------------------------------------------
# 2. tstclnt -> our server
# ------------------------------------------------------------------------------------------------
def _run_tstclnt_to_us(lesson, nss, config, *args, client_auth=False):
    message = f"hello from tstclnt {_token()}\n".encode()
    db, cert_args = (nss.client, ("-n", "client")) if client_auth else (nss.trust, ())
    with OurServer(config) as server:
        res = tstclnt(server.port, db, *args, *cert_args, message=message)
        reports = server.wait_for_reports(1)
    assert len(reports) == 1
    return res, reports[0], message


def check_tstclnt(res, report, message, suite, *, client_auth: bool) -> NSSInfo:
    assert report.error is None, report.error
    assert res.echoed, res.output[-3000:]
    info = nss_info(res.output)
    assert described(info) == expected_info(suite)
    assert (report.version, report.suite) == (suite.version, suite)
    assert report.echoed == len(message)
    assert ((report.client_certificate or "").startswith("CN=lesson client")) == client_auth, \
        report.client_certificate
    check_exported(res.output, report.connection)
    return info


# EMS: tstclnt always offers it (it has no switch to turn it off); "EMS off" this way is our
# server declining it (test_tstclnt_to_our_server_tls12_no_ems).
@pytest.mark.parametrize("client_auth", CLIENT_AUTH)
@pytest.mark.parametrize("suite", TLS12_SUITES, ids=suite_id)
def test_tstclnt_to_our_server_tls12(lesson, nss, suite, client_auth):
    config = server_config(lesson, [suite], ("1.2",), client_auth=client_auth)
    res, report, message = _run_tstclnt_to_us(lesson, nss, config, "-V", "tls1.2:tls1.2",
                                              "-c", nss_cipher_arg(suite),
                                              client_auth=client_auth)
    info = check_tstclnt(res, report, message, suite, client_auth=client_auth)
    assert info.ems and report.connection.values["extended_master_secret"] is True


@pytest.mark.parametrize("client_auth", CLIENT_AUTH)
@pytest.mark.parametrize("suite", TLS13_SUITES, ids=suite_id)
def test_tstclnt_to_our_server_tls13(lesson, nss, suite, client_auth):
    config = server_config(lesson, [suite], ("1.3",), client_auth=client_auth)
    res, report, message = _run_tstclnt_to_us(lesson, nss, config, "-V", "tls1.3:tls1.3",
                                              "-c", nss_cipher_arg(suite),
                                              client_auth=client_auth)
    check_tstclnt(res, report, message, suite, client_auth=client_auth)


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: NamedGroup(g).name)
def test_tstclnt_to_our_server_tls13_groups(lesson, nss, group):
    res, report, message = _run_tstclnt_to_us(lesson, nss,
                                              server_config(lesson, groups=accepting(group)),
                                              "-V", "tls1.3:tls1.3", "-I", NSS_GROUP[group])
    info = check_tstclnt(res, report, message, report.suite, client_auth=False)
    assert info.kx_bits == GROUP_BITS[group]
    assert report.group == NamedGroup(group).name
    assert "hello_retry_request_group" not in report.connection.values


@pytest.mark.parametrize("group", TLS12_NEW_CURVES, ids=lambda g: NamedGroup(g).name)
def test_tstclnt_to_our_server_tls12_ecdhe_groups(lesson, nss, group):
    suite = suites.get("ECDHE-RSA-AES128-GCM-SHA256")
    config = server_config(lesson, [suite], ("1.2",), groups=accepting(group))
    res, report, message = _run_tstclnt_to_us(lesson, nss, config, "-V", "tls1.2:tls1.2",
                                              "-c", nss_cipher_arg(suite), "-I", NSS_GROUP[group])
    info = check_tstclnt(res, report, message, suite, client_auth=False)
    assert info.kx_bits == GROUP_BITS[group]
    assert report.group == NamedGroup(group).name


@pytest.mark.parametrize("client_auth", CLIENT_AUTH)
def test_tstclnt_to_our_server_hello_retry_request(lesson, nss, client_auth):
    """tstclnt lists x25519 then P-256 and sends an x25519 share; our server wants P-256."""
    config = server_config(lesson, groups=(NamedGroup.secp256r1,), client_auth=client_auth)
    res, report, message = _run_tstclnt_to_us(lesson, nss, config, "-I", "x25519,P256",
                                              client_auth=client_auth)
    info = check_tstclnt(res, report, message, report.suite, client_auth=client_auth)
    assert info.kx_bits == 256
    values = report.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]


def test_tls12_only_tstclnt_to_our_default_server(lesson, nss):
    """Our server supports 1.3, so its 1.2 ServerHello.random ends in the downgrade sentinel;
    NSS offered only 1.2, so it was not downgraded and doesn't object (RFC 8446 §4.1.3)."""
    res, report, message = _run_tstclnt_to_us(lesson, nss, server_config(lesson),
                                              "-V", "tls1.2:tls1.2")
    check_tstclnt(res, report, message, report.suite, client_auth=False)
    assert report.version == "1.2"
    assert report.connection.values["server_random"][-8:] == DOWNGRADE_TLS12


def test_default_tstclnt_to_our_default_server_is_tls13(lesson, nss):
    res, report, message = _run_tstclnt_to_us(lesson, nss, server_config(lesson))
    check_tstclnt(res, report, message, report.suite, client_auth=False)
    assert report.version == "1.3"


@pytest.mark.parametrize("version, alert, nss_error", [
    ("1.2", AlertDescription.handshake_failure, "SSL_ERROR_HANDSHAKE_FAILURE_ALERT"),
    ("1.3", AlertDescription.certificate_required, "SSL_ERROR_RX_CERTIFICATE_REQUIRED_ALERT")])
def test_tstclnt_without_certificate_is_refused(lesson, nss, version, alert, nss_error):
    config = server_config(lesson, versions=(version,), client_auth=True)
    res, report, _ = _run_tstclnt_to_us(lesson, nss, config, "-V", nss_version_arg(version))
    assert not res.echoed
    assert isinstance(report.error, AlertError) and not report.error.received
    assert report.error.alert == alert
    assert report.version is None
    assert nss_error in res.output, res.output[-3000:]


def test_tstclnt_to_our_server_tls12_no_ems(lesson, nss):
    """tstclnt always offers extended_master_secret; our server configured without it doesn't
    answer it, and NSS (not requiring EMS) goes on with the RFC 5246 master secret."""
    suite = TLS12_SUITES[0]
    config = server_config(lesson, [suite], ("1.2",), ems=False)
    res, report, message = _run_tstclnt_to_us(lesson, nss, config, "-V", "tls1.2:tls1.2",
                                              "-c", nss_cipher_arg(suite))
    info = check_tstclnt(res, report, message, suite, client_auth=False)
    assert not info.ems and report.connection.values["extended_master_secret"] is False


# ------------------------------------------------------------------------------------------------
# server keys beyond RSA and P-256: P-384, P-521, RSA-PSS (NSS 3.87 has no EdDSA in TLS: its
# tstclnt -J list has no ed25519/ed448); rsa_pss_pss_* are not in its default list: -J adds them
# ------------------------------------------------------------------------------------------------
from peers import extra_identities, groups_for_certificate  # noqa: E402,F401
from peers import suite_for_key_type as _new_suite, server_signature_scheme as _scheme_seen  # noqa: E402
from tlslesson import pki, signatures, suites as suite_table  # noqa: E402

NSS_KEY_TYPES = ("ecdsa-p384", "ecdsa-p521", "rsa-pss")
NEW_CASES = [(k, v) for k in NSS_KEY_TYPES for v in ("1.2", "1.3")]
WITH_PSS = ("-J", "ecdsa_secp256r1_sha256,ecdsa_secp384r1_sha384,ecdsa_secp521r1_sha512,"
            "rsa_pss_rsae_sha256,rsa_pss_pss_sha256,rsa_pss_pss_sha384,rsa_pss_pss_sha512")


@pytest.fixture(scope="session")
def extra_dbs(lesson, extra_identities, tmp_path_factory) -> dict:
    """One database per new server identity (NSS names certificates by subject)."""
    base, dbs = tmp_path_factory.mktemp("nss-extra"), {}
    for key_type in NSS_KEY_TYPES:
        ident = extra_identities[key_type]
        directory = base / key_type
        directory.mkdir()
        dbs[key_type] = f"sql:{directory}"
        _run(CERTUTIL, "-N", "-d", dbs[key_type], "--empty-password")
        _run(CERTUTIL, "-A", "-d", dbs[key_type], "-n", "lesson-root", "-t", "CT,C,C",
             "-i", lesson["ca.crt"])
        p12 = base / f"{key_type}.p12"
        p12.write_bytes(pkcs12.serialize_key_and_certificates(
            key_type.encode(), getattr(ident.key, "key", ident.key), ident.certificate,
            list(ident.chain), NoEncryption()))
        _run(PK12UTIL, "-d", dbs[key_type], "-i", str(p12), "-W", "")
    return dbs


@pytest.mark.parametrize("key_type,version", NEW_CASES, ids=[f"{k}-{v}" for k, v in NEW_CASES])
def test_our_client_to_selfserv_new_key_types(lesson, extra_identities, extra_dbs, key_type,
                                              version):
    suite = _new_suite(key_type, version)
    config = client_config(lesson, [suite], (version,), signature_schemes=signatures.MODERN,
                           groups=groups_for_certificate(key_type, version))
    with SelfServ(extra_dbs[key_type], key_type, "-V", nss_version_arg(version),
                  "-c", nss_cipher_arg(suite), *WITH_PSS) as server:
        result, output = _connect_to_selfserv(lesson, server, config)
    assert (result.version, result.suite) == (version, suite)
    assert nss_info(output).version == version
    assert _scheme_seen(result.connection, version) in signatures.schemes_for(
        extra_identities[key_type].key, version == "1.3")
    check_exported(output, result.connection)


@pytest.mark.parametrize("key_type,version", NEW_CASES, ids=[f"{k}-{v}" for k, v in NEW_CASES])
def test_tstclnt_to_our_server_new_key_types(lesson, nss, extra_identities, key_type, version):
    """The new identity first: tstclnt offers its scheme, so our server chooses it."""
    suite = _new_suite(key_type, version)
    ident = extra_identities[key_type]
    config = server_config(lesson, [suite], (version,))
    config.identities = (ident, *config.identities)
    res, report, message = _run_tstclnt_to_us(
        lesson, nss, config, "-V", nss_version_arg(version), "-c", nss_cipher_arg(suite),
        *WITH_PSS)
    assert report.error is None, (report.error, res.output[-3000:])
    assert res.echoed, res.output[-3000:]
    assert nss_info(res.output).version == version
    assert _scheme_seen(report.connection, version) in signatures.schemes_for(
        ident.key, version == "1.3")
    check_exported(res.output, report.connection)


# ------------------------------------------------------------------------------------------------
# 3. the suites beyond the default offer, each way once (see MORE12)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suite", MORE12, ids=suite_id)
def test_more_suites_our_client_to_selfserv_tls12(lesson, nss, suite):
    test_our_client_to_selfserv_tls12(lesson, nss, suite, client_auth=False)


@pytest.mark.parametrize("suite", MORE12, ids=suite_id)
def test_more_suites_tstclnt_to_our_server_tls12(lesson, nss, suite):
    test_tstclnt_to_our_server_tls12(lesson, nss, suite, client_auth=False)


# encrypt_then_mac (RFC 7366): NSS has none. record_size_limit (RFC 8449): NSS has it; tstclnt
# sends, and selfserv echoes, the protocol's maximum (2^14 in 1.2, 2^14 + 1 in 1.3). Neither has a
# switch to announce less, so a smaller limit is tested with GnuTLS and tlslite-ng.
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_nss_no_etm_and_record_size_limit(lesson, nss, version):
    suite = next(s for s in TLS12_SUITES if not s.aead) if version == "1.2" else TLS13_SUITES[0]
    v = f"tls{version}:tls{version}"
    with selfserv_for(nss, suite, "-V", v, "-c", nss_cipher_arg(suite), "-H", "1") as server:
        result, output = _connect_to_selfserv(lesson, server,
                                              client_config(lesson, [suite], (version,)))
    check_selfserv(result, output, suite, client_auth=False)
    res, report, message = _run_tstclnt_to_us(lesson, nss, server_config(lesson, [suite], (version,)),
                                              "-V", v, "-c", nss_cipher_arg(suite))
    check_tstclnt(res, report, message, suite, client_auth=False)
    for conn in (result.connection, report.connection):
        assert conn.hs.encrypt_then_mac is False
        assert conn.hs.peer_record_size_limit == (2 ** 14 + 1 if version == "1.3" else 2 ** 14)
