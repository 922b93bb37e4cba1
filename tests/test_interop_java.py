"""Interop with Java 17's JSSE, both directions: tests/interop/java/TlsEcho.java, compiled once per
session, is an SSLServerSocket echo server or an SSLSocket client on 127.0.0.1.

TLS 1.2: every suite of the table (Java has them all: ECDHE-RSA/ECDSA AES-GCM, ChaCha20, DHE-RSA,
RSA key exchange, AES-CBC with HMAC-SHA1/SHA256/SHA384), EMS on and once off
(``-Djdk.tls.useExtendedMasterSecret=false``), client authentication; ECDHE on secp521r1 and
x448, DHE on ffdhe3072/ffdhe4096 negotiated by supported_groups (RFC 7919). TLS 1.3: every suite,
every group (``-Djdk.tls.namedGroups``), a
HelloRetryRequest, client authentication. JSSE writes no key log and has no exporter API, so
what is compared is what Java reports: the protocol and suite of its session, the peer and local
certificate subjects, and the data, which must come back byte for byte in both directions.
"""
from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

from peers import PROCESS_TIMEOUT, OurServer, _Collector, _kill, lesson  # noqa: F401
from tlslesson import groups, net, suites
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.constants import AlertDescription, NamedGroup
from tlslesson.errors import AlertError

JAVA, JAVAC = shutil.which("java"), shutil.which("javac")
pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(JAVA is None or JAVAC is None,
                                 reason="java/javac not installed (apt openjdk-17-jdk-headless)")]

SOURCE = Path(__file__).resolve().parent / "interop" / "java" / "TlsEcho.java"
PASSWORD = b"lesson"                                    # TlsEcho.PASSWORD
# a short-lived JVM: the C1 compiler alone and the serial collector start fastest
JVM_FLAGS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"]
JAVA_GROUP = {NamedGroup.x25519: "x25519", NamedGroup.secp256r1: "secp256r1",
              NamedGroup.ffdhe2048: "ffdhe2048",
              NamedGroup.secp384r1: "secp384r1", NamedGroup.secp521r1: "secp521r1",
              NamedGroup.x448: "x448", NamedGroup.ffdhe3072: "ffdhe3072",
              NamedGroup.ffdhe4096: "ffdhe4096"}
# TLS 1.2 ECDHE with curves we do not offer by default (RFC 8422 §5.1.1 has x448 too); P-384 is
# P-521's code path and in the OpenSSL, GnuTLS and NSS modules: one JVM less per direction
TLS12_NEW_CURVES = [NamedGroup.secp521r1, NamedGroup.x448]
ECDHE_SUITE, DHE_SUITE = "ECDHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256"


def accepting(group) -> tuple[int, ...]:
    """Our default groups, and the one given if it is not among them (we do not accept it else)."""
    return groups.DEFAULT if group in groups.DEFAULT else (*groups.DEFAULT, group)


def ske_p_bits(connection) -> int:
    """The size of the DH prime p in the TLS 1.2 ServerKeyExchange of a connection's log."""
    ske = next(s.message for s in connection.log if s.name == "ServerKeyExchange")
    return int.from_bytes(ske.dh_p, "big").bit_length()
JAVA_PROTOCOL = {"1.2": "TLSv1.2", "1.3": "TLSv1.3"}
SERVER_SUBJECT = "CN=localhost,O=tlslesson (lesson only)"          # RFC 2253, as Java prints it
CLIENT_SUBJECT = "CN=lesson client,O=tlslesson (lesson only)"
# a server that needs a client certificate and gets none: what JSSE sends — bad_certificate in
# both versions up to 17.0.15; the RFCs' alerts (handshake_failure, RFC 5246 §7.4.6;
# certificate_required, RFC 8446 §4.4.2.4) in later 17.0.x updates —, and what we send
JAVA_REFUSAL = {"1.2": {AlertDescription.bad_certificate, AlertDescription.handshake_failure},
                "1.3": {AlertDescription.bad_certificate, AlertDescription.certificate_required}}
# Later JDK 17 updates also disable RSA key exchange (TLS_RSA_* in jdk.tls.disabledAlgorithms);
# the lesson tests it, so the JVM gets that list without TLS_RSA_* (java.security's own syntax)
DISABLED_ALGORITHMS = ("SSLv3, TLSv1, TLSv1.1, DTLSv1.0, RC4, DES, MD5withRSA, DH keySize < 1024, "
                       "EC keySize < 224, 3DES_EDE_CBC, anon, NULL, ECDH")
OUR_REFUSAL = {"1.2": AlertDescription.handshake_failure,
               "1.3": AlertDescription.certificate_required}


# ------------------------------------------------------------------------------------------------
# The Java program and its key stores, once per session
# ------------------------------------------------------------------------------------------------
@dataclass
class JavaPeer:
    classes: Path
    stores: dict[str, str]
    compile_seconds: float
    security: Path

    def command(self, mode: str, *args: str, properties: dict[str, str] | None = None) -> list:
        props = [f"-D{k}={v}" for k, v in (properties or {}).items()]
        return [JAVA, *JVM_FLAGS, f"-Djava.security.properties={self.security}", *props,
                "-cp", str(self.classes), "TlsEcho", mode,
                "--timeout", "10", *args]


@pytest.fixture(scope="session")
def java(tmp_path_factory, lesson) -> JavaPeer:
    directory = tmp_path_factory.mktemp("java")
    started = time.monotonic()
    subprocess.run([JAVAC, "-d", str(directory / "classes"), str(SOURCE)], check=True,
                   capture_output=True, timeout=120)
    compile_seconds = time.monotonic() - started
    print(f"\njavac TlsEcho.java: {compile_seconds:.1f} s")
    encryption = BestAvailableEncryption(PASSWORD)
    stores = {}
    for name, identity in (("server", lesson.pki.rsa_server),
                           ("server-ecdsa", lesson.pki.ecdsa_server),
                           ("client", lesson.pki.client)):
        path = directory / f"{name}.p12"
        path.write_bytes(pkcs12.serialize_key_and_certificates(
            name.encode(), identity.key, identity.certificate, list(identity.chain), encryption))
        stores[name] = str(path)
    trust = directory / "trust.p12"        # the lesson root as a trusted-certificate entry
    trust.write_bytes(pkcs12.serialize_java_truststore(
        [pkcs12.PKCS12Certificate(lesson.pki.root.certificate, b"lesson root")], encryption))
    stores["trust"] = str(trust)
    security = directory / "java.security"
    security.write_text(f"jdk.tls.disabledAlgorithms={DISABLED_ALGORITHMS}\n")
    return JavaPeer(directory / "classes", stores, compile_seconds, security)


@dataclass
class JavaReport:
    returncode: int | None
    output: str

    def field(self, name: str) -> str | None:
        m = re.search(rf"^{name} (.*)$", self.output, re.M)
        return m and m.group(1)

    @property
    def protocol(self):
        return self.field("PROTOCOL")

    @property
    def suite(self):
        return self.field("SUITE")

    @property
    def peer(self):
        return self.field("PEER")

    @property
    def local(self):
        return self.field("LOCAL")

    @property
    def echo(self) -> bytes | None:
        value = self.field("ECHO")
        return None if value is None else bytes.fromhex(value)

    @property
    def echoed(self) -> int | None:
        value = self.field("ECHOED")
        return None if value is None else int(value)


def _restrictions(version: str | None, suite) -> list[str]:
    args = []
    if version is not None:
        args += ["--protocol", JAVA_PROTOCOL[version]]
    if suite is not None:
        args += ["--suite", suite.name]
    return args


def _properties(group=None, ems=True, groups=None) -> dict[str, str]:
    props = {}
    names = groups or ([JAVA_GROUP[group]] if group is not None else None)
    if names:
        props["jdk.tls.namedGroups"] = ",".join(names)
    if not ems:
        props["jdk.tls.useExtendedMasterSecret"] = "false"
    return props


def run_java_server(java: JavaPeer, client, *, version=None, suite=None, ecdsa=False,
                    client_auth=False, keystore=None, **props) -> tuple[JavaReport, object]:
    """Start TlsEcho server, run ``client(port)`` against it, wait for it: (its report, result)."""
    args = ["--keystore", keystore or java.stores["server-ecdsa" if ecdsa else "server"],
            *_restrictions(version, suite)]
    if client_auth:
        args += ["--truststore", java.stores["trust"], "--need-client-auth"]
    proc = subprocess.Popen(java.command("server", *args, properties=_properties(**props)),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = _Collector(proc.stdout)
    try:
        found = out.wait_for(re.compile(rb"LISTENING (\d+)\n"), PROCESS_TIMEOUT)
        assert found, "TlsEcho server did not start: " + out.text()
        result = client(int(found.group(1)))
        try:
            proc.wait(PROCESS_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    finally:
        _kill(proc)
    out.finish()
    return JavaReport(proc.returncode, out.text()), result


def run_java_client(java: JavaPeer, port: int, message: bytes, *, version=None, suite=None,
                    client_auth=False, **props) -> JavaReport:
    args = ["--port", str(port), "--truststore", java.stores["trust"],
            "--message", message.hex(), *_restrictions(version, suite)]
    if client_auth:
        args += ["--keystore", java.stores["client"]]
    try:
        done = subprocess.run(java.command("client", *args, properties=_properties(**props)),
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired as exc:       # subprocess.run has killed it
        return JavaReport(None, (exc.stdout or b"").decode("utf-8", "replace"))
    return JavaReport(done.returncode, (done.stdout + done.stderr).decode("utf-8", "replace"))


def _message() -> bytes:
    # > 16 KiB: several records each way
    return f"hello from tlslesson {secrets.token_hex(8)}\n".encode() * 500


def _our_client(lesson, *, version=None, suite=None, client_auth=False, **options):
    kw = {}
    if version is not None:
        kw["versions"] = (version,)
    if suite is not None:
        kw["suites"] = (suite,)
    return ClientConfig(trusted=lesson.trusted, identity=lesson.pki.client if client_auth
                        else None, **kw, **options)


def _our_server(lesson, *, version=None, suite=None, client_auth=False, **options):
    kw = {}
    if version is not None:
        kw["versions"] = (version,)
    if suite is not None:
        kw["suites"] = (suite,)
    return ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server),
                        client_ca=lesson.trusted if client_auth else None, **kw, **options)


# ------------------------------------------------------------------------------------------------
# The matrix: (version, suite, ems, client_auth)
# ------------------------------------------------------------------------------------------------
TLS12 = list(suites.TLS12_SUITES)
TLS13 = list(suites.TLS13_SUITES)
CASES = ([("1.2", s, True, False) for s in TLS12]
         + [("1.2", TLS12[0], False, False), ("1.2", TLS12[0], True, True)]
         + [("1.3", s, True, False) for s in TLS13] + [("1.3", TLS13[0], True, True)])
# suites.MORE_SUITES: JSSE has every TLS 1.2 one (no AES-CCM: TLS_AES_128_CCM_SHA256 left out).
# Each runs once against Java's server; Java's client comes to ours with one suite of each new
# kind (a JVM start each: ~0.8 s a case).
MORE_CASES = [("1.2", s, True, False) for s in suites.MORE_SUITES if s.version == "1.2"]
MORE_BACK = [("1.2", suites.get(name), True, False) for name in (
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-AES256-SHA",
    "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA384", "DHE-RSA-AES256-SHA256",
    "AES256-GCM-SHA384")]


def _case_id(case) -> str:
    version, suite, ems, client_auth = case
    return (suite.openssl_name + ("" if ems else "-no-ems")
            + ("-client-cert" if client_auth else ""))


CASE_IDS = [_case_id(c) for c in CASES]


# ------------------------------------------------------------------------------------------------
# 1. our client -> Java's SSLServerSocket
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES + MORE_CASES, ids=[_case_id(c) for c in CASES + MORE_CASES])
def test_our_client_to_java_server(java, lesson, case):
    version, suite, ems, client_auth = case
    message = _message()
    config = _our_client(lesson, version=version, suite=suite, client_auth=client_auth, ems=ems)
    theirs, result = run_java_server(
        java, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=10),
        version=version, suite=suite, ecdsa=suite.auth == "ECDSA", client_auth=client_auth,
        ems=ems)
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert (theirs.protocol, theirs.suite) == (JAVA_PROTOCOL[version], suite.name)
    assert (result.version, result.suite) == (version, suite)
    assert result.data == message and theirs.echoed == len(message)
    assert result.closed_by == "close_notify"       # Java answers our close_notify with its own
    assert theirs.local == SERVER_SUBJECT
    assert theirs.peer == (CLIENT_SUBJECT if client_auth else "none")
    if version == "1.2":
        assert result.connection.values["extended_master_secret"] is ems


@pytest.mark.parametrize("group", list(JAVA_GROUP), ids=lambda g: NamedGroup(g).name)
def test_our_client_to_java_server_tls13_groups(java, lesson, group):
    message = _message()
    config = _our_client(lesson, version="1.3", groups=(group,))
    theirs, result = run_java_server(
        java, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=10),
        version="1.3", group=group)
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert theirs.protocol == "TLSv1.3" and theirs.suite == result.suite.name
    assert result.connection.values["group"] == NamedGroup(group).name
    assert "hello_retry_request_group" not in result.connection.values
    assert result.data == message and theirs.echoed == len(message)


@pytest.mark.parametrize("group", TLS12_NEW_CURVES, ids=lambda g: NamedGroup(g).name)
def test_our_client_to_java_server_tls12_ecdhe_groups(java, lesson, group):
    message, suite = _message(), suites.get(ECDHE_SUITE)
    config = _our_client(lesson, version="1.2", suite=suite, groups=accepting(group))
    theirs, result = run_java_server(
        java, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=10),
        version="1.2", suite=suite, group=group)
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert (theirs.protocol, theirs.suite) == ("TLSv1.2", suite.name)
    assert result.connection.values["group"] == NamedGroup(group).name
    assert result.data == message and theirs.echoed == len(message)


def test_our_client_to_java_server_tls12_dhe_takes_ffdhe3072(java, lesson):
    """RFC 7919 §4: we list ffdhe3072 only, JSSE's server picks it for its TLS 1.2 DHE."""
    message, suite = _message(), suites.get(DHE_SUITE)
    config = _our_client(lesson, version="1.2", suite=suite, groups=(NamedGroup.ffdhe3072,))
    theirs, result = run_java_server(
        java, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=10),
        version="1.2", suite=suite)
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert ske_p_bits(result.connection) == 3072
    assert result.data == message and theirs.echoed == len(message)


def test_our_client_to_java_server_hello_retry_request(java, lesson):
    """Java takes only secp256r1; our client's one key share is x25519: a HelloRetryRequest."""
    message = _message()
    config = _our_client(lesson, groups=(NamedGroup.x25519, NamedGroup.secp256r1))
    theirs, result = run_java_server(
        java, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=10),
        group=NamedGroup.secp256r1)
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert theirs.protocol == "TLSv1.3"
    values = result.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    names = [(s.sender, s.name) for s in result.connection.log]
    assert names.count(("client", "ClientHello")) == 2
    assert result.data == message and theirs.echoed == len(message)


def test_default_client_to_tls12_only_java_server(java, lesson):
    message = _message()
    theirs, result = run_java_server(
        java, lambda port: net.connect("127.0.0.1", port, _our_client(lesson), send=message,
                                       timeout=10),
        version="1.2")
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert theirs.protocol == "TLSv1.2" and result.version == "1.2"
    assert theirs.suite == result.suite.name
    assert result.data == message


# ------------------------------------------------------------------------------------------------
# 2. Java's SSLSocket -> our server
# ------------------------------------------------------------------------------------------------
def _java_client_to_us(java, config, message, **java_options):
    with OurServer(config, timeout=10) as server:     # a cold JVM: give its handshake time
        theirs = run_java_client(java, server.port, message, **java_options)
        reports = server.wait_for_reports(1)
    assert len(reports) == 1, theirs.output[-2000:]
    return theirs, reports[0]


@pytest.mark.parametrize("case", CASES + MORE_BACK, ids=[_case_id(c) for c in CASES + MORE_BACK])
def test_java_client_to_our_server(java, lesson, case):
    version, suite, ems, client_auth = case
    message = _message()
    config = _our_server(lesson, version=version, suite=suite, client_auth=client_auth)
    theirs, report = _java_client_to_us(java, config, message, version=version, suite=suite,
                                        client_auth=client_auth, ems=ems)
    assert report.error is None, (report.error, theirs.output[-2000:])
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert (theirs.protocol, theirs.suite) == (JAVA_PROTOCOL[version], suite.name)
    assert (report.version, report.suite) == (version, suite)
    assert theirs.echo == message and report.echoed == len(message)
    assert theirs.peer == SERVER_SUBJECT
    # Java presented its certificate (in 1.3 it needs rsa_pkcs1_sha256 allowed by our
    # CertificateRequest for its sha256WithRSA chain) and our server validated it
    assert theirs.local == (CLIENT_SUBJECT if client_auth else "none")
    assert (report.client_certificate is not None) == client_auth
    if client_auth:
        assert "CN=lesson client" in report.client_certificate
    if version == "1.2":
        assert report.connection.values["extended_master_secret"] is ems
    # Java closes first; in 1.3 with a warning user_canceled before close_notify (RFC 8446
    # §6.1: a closure alert), which our server takes as part of a clean close
    assert _closing_alerts(report) == ([AlertDescription.user_canceled] if version == "1.3"
                                       else []) + [AlertDescription.close_notify]


def _closing_alerts(report) -> list:
    return [AlertDescription(step.message.description) for step in report.connection.log
            if step.name == "Alert" and step.sender == "client"]


@pytest.mark.parametrize("group", list(JAVA_GROUP), ids=lambda g: NamedGroup(g).name)
def test_java_client_to_our_server_tls13_groups(java, lesson, group):
    message = _message()
    theirs, report = _java_client_to_us(java, _our_server(lesson, groups=accepting(group)),
                                        message, version="1.3", group=group)
    assert report.error is None, (report.error, theirs.output[-2000:])
    assert theirs.protocol == "TLSv1.3" and theirs.suite == report.suite.name
    assert report.group == NamedGroup(group).name
    assert "hello_retry_request_group" not in report.connection.values
    assert theirs.echo == message and report.echoed == len(message)


@pytest.mark.parametrize("group", TLS12_NEW_CURVES, ids=lambda g: NamedGroup(g).name)
def test_java_client_to_our_server_tls12_ecdhe_groups(java, lesson, group):
    message, suite = _message(), suites.get(ECDHE_SUITE)
    config = _our_server(lesson, version="1.2", suite=suite, groups=accepting(group))
    theirs, report = _java_client_to_us(java, config, message, version="1.2", suite=suite,
                                        group=group)
    assert report.error is None, (report.error, theirs.output[-2000:])
    assert (theirs.protocol, theirs.suite) == ("TLSv1.2", suite.name)
    assert report.group == NamedGroup(group).name
    assert theirs.echo == message and report.echoed == len(message)


def test_java_client_to_our_server_tls12_dhe_negotiates_ffdhe4096(java, lesson):
    """RFC 7919 §4: JSSE lists ffdhe4096 only; our server takes it over ffdhe2048."""
    message, suite = _message(), suites.get(DHE_SUITE)
    config = _our_server(lesson, version="1.2", suite=suite,
                         groups=(NamedGroup.ffdhe2048, NamedGroup.ffdhe4096))
    theirs, report = _java_client_to_us(java, config, message, version="1.2", suite=suite,
                                        group=NamedGroup.ffdhe4096)
    assert report.error is None, (report.error, theirs.output[-2000:])
    assert ske_p_bits(report.connection) == 4096
    assert theirs.echo == message and report.echoed == len(message)


def test_java_client_to_our_server_hello_retry_request(java, lesson):
    """Java lists secp384r1 then secp256r1 and sends a share for the first only; our server takes
    secp256r1 alone: one HelloRetryRequest round."""
    message = _message()
    config = _our_server(lesson, groups=(NamedGroup.secp256r1,))
    theirs, report = _java_client_to_us(java, config, message,
                                        groups=["secp384r1", "secp256r1"])
    assert report.error is None, (report.error, theirs.output[-2000:])
    assert theirs.protocol == "TLSv1.3"
    values = report.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    assert theirs.echo == message and report.echoed == len(message)


def test_default_java_client_to_tls12_only_server(java, lesson):
    message = _message()
    theirs, report = _java_client_to_us(java, _our_server(lesson, version="1.2"), message)
    assert report.error is None, (report.error, theirs.output[-2000:])
    assert theirs.protocol == "TLSv1.2" and report.version == "1.2"
    assert theirs.suite == report.suite.name
    assert theirs.echo == message


# ------------------------------------------------------------------------------------------------
# 3. client authentication refused: the alert each side sends
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_our_client_without_certificate_gets_java_alert(java, lesson, version):
    def attempt(port):
        with pytest.raises(AlertError) as caught:
            net.connect("127.0.0.1", port, _our_client(lesson, version=version), send=b"x",
                        timeout=10)
        return caught.value

    theirs, error = run_java_server(java, attempt, version=version, client_auth=True)
    assert theirs.returncode == 1 and "ERROR" in theirs.output, theirs.output[-2000:]
    assert error.received
    assert error.alert in JAVA_REFUSAL[version], error


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_java_client_without_certificate_is_refused(java, lesson, version):
    theirs, report = _java_client_to_us(java, _our_server(lesson, version=version,
                                                          client_auth=True),
                                        b"x", version=version)
    assert isinstance(report.error, AlertError) and not report.error.received
    assert report.error.alert == OUR_REFUSAL[version]
    assert report.version is None
    assert theirs.returncode == 1 and theirs.echo is None
    assert OUR_REFUSAL[version].name in theirs.output, theirs.output[-2000:]


# ------------------------------------------------------------------------------------------------
# server keys beyond RSA and P-256: P-384, P-521, Ed25519, Ed448 (JDK 15+: EdDSA), RSA-PSS
# ------------------------------------------------------------------------------------------------
from peers import extra_identities, groups_for_certificate  # noqa: E402,F401
from peers import suite_for_key_type as _new_suite, server_signature_scheme as _scheme_seen  # noqa: E402
from tlslesson import pki, signatures  # noqa: E402

NEW_CASES = [(k, v) for k in pki.EXTRA_KEY_TYPES for v in ("1.2", "1.3")]
# Java as the RSA-PSS server: its PKCS#12 keystore gets the key as rsaEncryption (cryptography
# writes no id-RSASSA-PSS key into PKCS#12) and JSSE then answers handshake_failure, presumably
# because its key manager does not pair that key with the id-RSASSA-PSS certificate (not
# investigated further: a harness limit; Java as the client takes our RSA-PSS server).
SERVER_CASES = [c for c in NEW_CASES if c[0] != "rsa-pss"]


@pytest.fixture(scope="session")
def extra_stores(java, extra_identities, tmp_path_factory) -> dict:
    directory = tmp_path_factory.mktemp("java-extra")
    stores = {}
    for key_type, ident in extra_identities.items():
        path = directory / f"server-{key_type}.p12"
        key = getattr(ident.key, "key", ident.key)    # RSA-PSS: the wrapped RSA key
        path.write_bytes(pkcs12.serialize_key_and_certificates(
            key_type.encode(), key, ident.certificate, list(ident.chain),
            BestAvailableEncryption(PASSWORD)))
        stores[key_type] = str(path)
    return stores


@pytest.mark.parametrize("key_type,version", SERVER_CASES,
                         ids=[f"{k}-{v}" for k, v in SERVER_CASES])
def test_our_client_to_java_server_new_key_types(java, lesson, extra_identities, extra_stores,
                                                 key_type, version):
    suite, message = _new_suite(key_type, version), _message()
    config = _our_client(lesson, version=version, suite=suite,
                         signature_schemes=signatures.MODERN,
                         groups=groups_for_certificate(key_type, version))
    theirs, result = run_java_server(
        java, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=10),
        version=version, suite=suite, keystore=extra_stores[key_type])
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert (theirs.protocol, theirs.suite) == (JAVA_PROTOCOL[version], suite.name)
    assert result.data == message and theirs.echoed == len(message)
    assert _scheme_seen(result.connection, version) in signatures.schemes_for(
        extra_identities[key_type].key, version == "1.3")


@pytest.mark.parametrize("key_type,version", NEW_CASES, ids=[f"{k}-{v}" for k, v in NEW_CASES])
def test_java_client_to_our_server_new_key_types(java, lesson, extra_identities, key_type,
                                                 version):
    """The new identity first: Java offers its scheme, so our server chooses it."""
    suite, message = _new_suite(key_type, version), _message()
    ident = extra_identities[key_type]
    config = _our_server(lesson, version=version, suite=suite)
    config.identities = (ident, *config.identities)
    with OurServer(config) as server:
        theirs = run_java_client(java, server.port, message, version=version, suite=suite)
        reports = server.wait_for_reports(1)
    assert len(reports) == 1 and reports[0].error is None, (reports, theirs.output[-2000:])
    assert theirs.returncode == 0 and theirs.echo == message, theirs.output[-2000:]
    assert _scheme_seen(reports[0].connection, version) in signatures.schemes_for(
        ident.key, version == "1.3")


# encrypt_then_mac (RFC 7366) and record_size_limit (RFC 8449): JSSE 17 has neither; it ignores
# both in our hello and answers with neither. Asserted once each way, on the CBC suite.
def test_java_has_no_etm_and_no_record_size_limit(java, lesson):
    suite = next(s for s in TLS12 if not s.aead)
    message = _message()
    config = _our_client(lesson, version="1.2", suite=suite)
    theirs, result = run_java_server(
        java, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=10),
        version="1.2", suite=suite)
    assert theirs.returncode == 0 and result.data == message, theirs.output[-2000:]
    theirs, report = _java_client_to_us(java, _our_server(lesson, version="1.2", suite=suite),
                                        message, version="1.2", suite=suite)
    assert report.error is None and theirs.echo == message, theirs.output[-2000:]
    for conn in (result.connection, report.connection):
        assert conn.hs.encrypt_then_mac is False and conn.hs.peer_record_size_limit is None
