"""Interop with tlslite-ng (pure Python, both roles), TLS 1.2 and 1.3, in threads on 127.0.0.1.

Our client -> a tlslite-ng echo server; tlslite-ng's client -> our server (net.Server). tlslite-ng
writes no key log, but its session holds the secrets: the TLS 1.2 master secret and the TLS 1.3
application traffic secrets and exporter master secret, which must equal the lines of our key
log for the same client random; its RFC 5705/8446 exporter must give what ours would, computed
from our logged secret. It reports the version, suite and group it negotiated, whether the
extended master secret was used, and the certificates it received.

Every suite of our table (tlslite-ng has them all), the TLS 1.3 groups x25519, secp256r1,
secp384r1, secp521r1, x448, ffdhe2048/3072/4096 (the curves in TLS 1.2 ECDHE too) and, when the optional ``kyber-py`` is installed, the hybrids X25519MLKEM768 and
SecP256r1MLKEM768 (tlslite-ng 0.8 has no pure MLKEM768); a HelloRetryRequest, client
authentication and EMS off each way.

tlslite-ng does not validate certificate chains: its client is given a ``Checker`` with the
fingerprint of our server's leaf, and the tests compare the chains each side received.
"""
from __future__ import annotations

import hashlib
import secrets
import socket
from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from peers import OurServer, keylog_of, lesson, listen_in_background  # noqa: F401
from tlslesson import groups as kx_groups, net, suites, tls12, tls13
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.constants import DOWNGRADE_TLS12, AlertDescription, NamedGroup
from tlslesson.errors import AlertError

pytest.importorskip("tlslite", reason="tlslite-ng not installed (pip install tlslite-ng)")
from tlslite import (Checker, HandshakeSettings, TLSConnection, X509CertChain,  # noqa: E402
                     parsePEMKey)
from tlslite.errors import TLSRemoteAlert  # noqa: E402
from tlslite.utils.compat import ML_KEM_AVAILABLE  # noqa: E402

pytestmark = pytest.mark.interop

TIMEOUT = 10.0
DER = Encoding.DER
EXPORTER_LABEL = b"EXPERIMENTAL tlslesson"
VERSION = {"1.2": (3, 3), "1.3": (3, 4)}

# our suite -> tlslite-ng's (cipher, key exchange, MAC) names in HandshakeSettings
SUITE = {
    "ECDHE-RSA-AES128-GCM-SHA256": ("aes128gcm", "ecdhe_rsa", "aead"),
    "ECDHE-RSA-AES256-GCM-SHA384": ("aes256gcm", "ecdhe_rsa", "aead"),
    "ECDHE-ECDSA-AES128-GCM-SHA256": ("aes128gcm", "ecdhe_ecdsa", "aead"),
    "ECDHE-RSA-CHACHA20-POLY1305": ("chacha20-poly1305", "ecdhe_rsa", "aead"),
    "DHE-RSA-AES128-GCM-SHA256": ("aes128gcm", "dhe_rsa", "aead"),
    "AES128-GCM-SHA256": ("aes128gcm", "rsa", "aead"),
    "AES128-SHA": ("aes128", "rsa", "sha"),
    "TLS_AES_128_GCM_SHA256": ("aes128gcm", None, "aead"),
    "TLS_AES_256_GCM_SHA384": ("aes256gcm", None, "aead"),
    "TLS_CHACHA20_POLY1305_SHA256": ("chacha20-poly1305", None, "aead"),
    # suites.MORE_SUITES: tlslite-ng 0.8 has every one (tlslite.constants.CipherSuite)
    "ECDHE-ECDSA-AES256-GCM-SHA384": ("aes256gcm", "ecdhe_ecdsa", "aead"),
    "ECDHE-ECDSA-CHACHA20-POLY1305": ("chacha20-poly1305", "ecdhe_ecdsa", "aead"),
    "ECDHE-RSA-AES128-SHA": ("aes128", "ecdhe_rsa", "sha"),
    "ECDHE-RSA-AES256-SHA": ("aes256", "ecdhe_rsa", "sha"),
    "ECDHE-ECDSA-AES128-SHA": ("aes128", "ecdhe_ecdsa", "sha"),
    "ECDHE-ECDSA-AES256-SHA": ("aes256", "ecdhe_ecdsa", "sha"),
    "ECDHE-RSA-AES128-SHA256": ("aes128", "ecdhe_rsa", "sha256"),
    "ECDHE-RSA-AES256-SHA384": ("aes256", "ecdhe_rsa", "sha384"),
    "ECDHE-ECDSA-AES128-SHA256": ("aes128", "ecdhe_ecdsa", "sha256"),
    "ECDHE-ECDSA-AES256-SHA384": ("aes256", "ecdhe_ecdsa", "sha384"),
    "AES128-SHA256": ("aes128", "rsa", "sha256"),
    "AES256-SHA256": ("aes256", "rsa", "sha256"),
    "AES256-SHA": ("aes256", "rsa", "sha"),
    "DHE-RSA-AES256-GCM-SHA384": ("aes256gcm", "dhe_rsa", "aead"),
    "DHE-RSA-AES128-SHA": ("aes128", "dhe_rsa", "sha"),
    "DHE-RSA-AES256-SHA": ("aes256", "dhe_rsa", "sha"),
    "DHE-RSA-AES128-SHA256": ("aes128", "dhe_rsa", "sha256"),
    "DHE-RSA-AES256-SHA256": ("aes256", "dhe_rsa", "sha256"),
    "AES256-GCM-SHA384": ("aes256gcm", "rsa", "aead"),
    "TLS_AES_128_CCM_SHA256": ("aes128ccm", None, "aead"),
}
assert set(SUITE) == {s.openssl_name for s in suites.ALL_SUITES}   # a new suite needs a line here

GROUP = {NamedGroup.x25519: "x25519", NamedGroup.secp256r1: "secp256r1",
         NamedGroup.ffdhe2048: "ffdhe2048",
         NamedGroup.secp384r1: "secp384r1", NamedGroup.secp521r1: "secp521r1",
         NamedGroup.x448: "x448", NamedGroup.ffdhe3072: "ffdhe3072",
         NamedGroup.ffdhe4096: "ffdhe4096"}
# TLS 1.2 ECDHE: every curve (RFC 8422 §5.1.1 has x448 too)
TLS12_CURVES = [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1,
                NamedGroup.secp521r1, NamedGroup.x448]
HYBRIDS = {NamedGroup.X25519MLKEM768: "x25519mlkem768",
           NamedGroup.SecP256r1MLKEM768: "secp256r1mlkem768"}
needs_mlkem = pytest.mark.skipif(not ML_KEM_AVAILABLE,
                                 reason="tlslite-ng's ML-KEM groups need kyber-py (pip install "
                                        "kyber-py)")
GROUP_CASES = ([pytest.param(g, id=NamedGroup(g).name) for g in GROUP]
               + [pytest.param(g, id=NamedGroup(g).name, marks=needs_mlkem) for g in HYBRIDS])
TLS12, TLS13 = suites.TLS12_SUITES, suites.TLS13_SUITES
MORE12 = tuple(s for s in suites.MORE_SUITES if s.version == "1.2")     # once each, EMS, no cert
TLS13 += tuple(s for s in suites.MORE_SUITES if s.version == "1.3")     # CCM: the full 1.3 matrix
CLIENT_SUBJECT = "CN=lesson client"


def suite_id(suite) -> str:
    return suite.openssl_name


def accepting(group) -> tuple[int, ...]:
    """Our default groups, and the one given if it is not among them (we do not accept it else)."""
    return kx_groups.DEFAULT if group in kx_groups.DEFAULT else (*kx_groups.DEFAULT, group)


def settings(version: str | None, suite=None, *, groups=None,
             ems: bool = True) -> HandshakeSettings:
    """tlslite-ng settings allowing one version (None: 1.2 and 1.3), one suite, some groups."""
    s = HandshakeSettings()
    if version is not None:
        s.minVersion = s.maxVersion = VERSION[version]
    else:
        s.minVersion, s.maxVersion = (3, 3), (3, 4)
    if suite is not None:
        cipher, kx, mac = SUITE[suite.openssl_name]
        s.cipherNames, s.macNames = [cipher], [mac]
        if kx is not None:
            s.keyExchangeNames = [kx]
    if groups is not None:
        names = [{**GROUP, **HYBRIDS}[g] for g in groups]
        s.eccCurves = [n for n in names if not n.startswith("ffdhe")]
        s.dhGroups = [n for n in names if n.startswith("ffdhe")]
        s.keyShares = names[:1]        # TLS 1.3: a key share for the first group only
    s.useExtendedMasterSecret = ems
    # tlslite-ng's client compresses its Certificate when its *own* ClientHello offered
    # compress_certificate, not when the server's CertificateRequest did (RFC 8879 §3): our server
    # never asks, so switch compression off rather than be sent a CompressedCertificate
    s.certificate_compression_send = []
    return s


def message(who: str) -> bytes:
    return f"hello from {who} {secrets.token_hex(8)}\n".encode()


@dataclass
class Credentials:
    rsa_chain: X509CertChain
    rsa_key: object
    ecdsa_chain: X509CertChain
    ecdsa_key: object
    client_chain: X509CertChain
    client_key: object
    der: dict            # name -> DER of each certificate, for comparing chains


def _chain(lesson, *names) -> X509CertChain:
    chain = X509CertChain()
    chain.parsePemList("".join(open(lesson[n]).read() for n in names))
    return chain


def _key(lesson, name):
    return parsePEMKey(open(lesson[name]).read(), private=True)


@pytest.fixture(scope="session")
def creds(lesson) -> Credentials:
    der = {n: x509.load_pem_x509_certificate(open(lesson[n], "rb").read()).public_bytes(DER)
           for n in ("server.crt", "server-ecdsa.crt", "intermediate.crt", "client.crt")}
    return Credentials(_chain(lesson, "server.crt", "intermediate.crt"), _key(lesson, "server.key"),
                       _chain(lesson, "server-ecdsa.crt", "intermediate.crt"),
                       _key(lesson, "server-ecdsa.key"),
                       _chain(lesson, "client.crt"), _key(lesson, "client.key"), der)


def chain_der(chain) -> list[bytes]:
    return [bytes(c.bytes) for c in chain.x509List] if chain is not None else []


# ------------------------------------------------------------------------------------------------
# What a tlslite-ng connection negotiated, and our key log against it
# ------------------------------------------------------------------------------------------------
@dataclass
class Negotiated:
    version: tuple | None = None
    suite: int | None = None
    group: int | None = None
    ems: bool | None = None
    client_random: bytes = b""
    master_secret: bytes = b""
    client_app_secret: bytes = b""
    server_app_secret: bytes = b""
    exporter_master_secret: bytes = b""
    exported: bytes = b""
    server_chain: list = field(default_factory=list)
    client_chain: list = field(default_factory=list)
    encrypt_then_mac: bool = False                   # RFC 7366, as tlslite-ng's session says
    send_record_limit: int = 2 ** 14                 # RFC 8449: its most data per record to us

    @classmethod
    def of(cls, conn: TLSConnection) -> "Negotiated":
        s = conn.session
        return cls(conn.version, s.cipherSuite, conn.ecdhCurve, bool(s.extendedMasterSecret),
                   bytes(conn._clientRandom), bytes(s.masterSecret), bytes(s.cl_app_secret),
                   bytes(s.sr_app_secret), bytes(s.exporterMasterSecret),
                   bytes(conn.keyingMaterialExporter(EXPORTER_LABEL, 32)),
                   chain_der(s.serverCertChain), chain_der(s.clientCertChain),
                   bool(s.encryptThenMAC), conn._send_record_limit)


def our_exporter(keylog: dict, suite, version: str, client_random: bytes,
                 server_random: bytes) -> bytes:
    """RFC 5705 (TLS 1.2) / RFC 8446 §7.5 (TLS 1.3) exporter, no context, from our secrets."""
    if version == "1.2":
        return tls12.prf(keylog[("CLIENT_RANDOM", client_random)], EXPORTER_LABEL,
                         client_random + server_random, 32, suite.hash)
    h = suite.hash
    secret = tls13.derive_secret(h, keylog[("EXPORTER_SECRET", client_random)],
                                 EXPORTER_LABEL.decode(), hashlib.new(h.lower(), b"").digest())
    return tls13.hkdf_expand_label(h, secret, "exporter", hashlib.new(h.lower(), b"").digest(),
                                   32)


def check_keys(ours_lines, theirs: Negotiated, connection, version: str, *,
               client_auth: bool) -> None:
    """Our key log against tlslite-ng's secrets, and its exporter against ours."""
    ours = keylog_of(ours_lines)
    random = connection.values["client_random"]
    if theirs.client_random:       # tlslite-ng's TLS 1.3 server does not keep it
        assert theirs.client_random == random
    if version == "1.2":
        assert {label for label, _ in ours} == {"CLIENT_RANDOM"}
        assert ours[("CLIENT_RANDOM", random)] == theirs.master_secret
    else:
        assert ours[("CLIENT_TRAFFIC_SECRET_0", random)] == theirs.client_app_secret
        assert ours[("SERVER_TRAFFIC_SECRET_0", random)] == theirs.server_app_secret
        if client_auth:
            # tlslite-ng (both roles) derives exporter_master_secret over a transcript that
            # includes the client's Certificate and CertificateVerify; RFC 8446 §7.1 takes
            # "exp master" over ClientHello..server Finished, as we (and GnuTLS, whose key log
            # has the line, in test_interop_gnutls.py) do. tlslite-ng's limitation: not compared.
            return
        assert ours[("EXPORTER_SECRET", random)] == theirs.exporter_master_secret
    suite = suites.BY_CODE[theirs.suite]
    assert theirs.exported == our_exporter(ours, suite, version, random,
                                           connection.values["server_random"])


# ------------------------------------------------------------------------------------------------
# tlslite-ng as the server (a thread) and as the client
# ------------------------------------------------------------------------------------------------
class TlsliteServer:
    """A tlslite-ng echo server for one connection on 127.0.0.1:0, in a thread."""

    def __init__(self, creds: Credentials, hs: HandshakeSettings, *, ecdsa=False,
                 client_auth=False, timeout: float = TIMEOUT, identity=None):
        self.chain, self.key = identity or ((creds.ecdsa_chain, creds.ecdsa_key) if ecdsa
                                            else (creds.rsa_chain, creds.rsa_key))
        self.hs, self.client_auth, self.timeout = hs, client_auth, timeout
        self.negotiated: Negotiated | None = None
        self.received = b""
        self.error: BaseException | None = None

    def __enter__(self) -> "TlsliteServer":
        return listen_in_background(self)

    def _run(self) -> None:
        try:
            raw, _ = self._listener.accept()
            raw.settimeout(self.timeout)
            conn = TLSConnection(raw)
            try:
                conn.handshakeServer(certChain=self.chain, privateKey=self.key,
                                     reqCert=self.client_auth, settings=self.hs)
                self.negotiated = Negotiated.of(conn)
                while data := conn.read():         # b"" at the client's close_notify
                    self.received += data
                    conn.write(data)
                conn.close()                       # our close_notify
            finally:
                raw.close()
        except BaseException as exc:               # reported to the test, not lost in a thread
            self.error = exc
        finally:
            self._listener.close()

    def join(self) -> None:
        self._thread.join(self.timeout)

    def __exit__(self, *exc) -> None:
        self._listener.close()
        self._thread.join(self.timeout)


def tlslite_client(port: int, creds: Credentials, hs: HandshakeSettings, data: bytes, *,
                   client_auth=False, ecdsa=False, leaf=None) -> tuple[Negotiated, bytes]:
    """Handshake, send ``data``, read its echo, close_notify. (what it negotiated, the echo)"""
    leaf = leaf or (creds.ecdsa_chain if ecdsa else creds.rsa_chain)
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        conn = TLSConnection(raw)
        conn.handshakeClientCert(
            certChain=creds.client_chain if client_auth else None,
            privateKey=creds.client_key if client_auth else None,
            settings=hs, serverName="localhost",
            checker=Checker(x509Fingerprint=leaf.getFingerprint()))
        conn.write(data)
        echo = b""
        for _ in range(100):                     # bounded: the echo comes in a record or two
            if len(echo) >= len(data):
                break
            chunk = conn.read(max=len(data) - len(echo))
            if not chunk:
                break
            echo += bytes(chunk)
        negotiated = Negotiated.of(conn)
        conn.close()
    return negotiated, echo


def client_config(lesson, suites_=None, versions=("1.3", "1.2"), *, client_auth=False,
                  **options) -> ClientConfig:
    kw = {} if suites_ is None else {"suites": tuple(suites_)}
    return ClientConfig(versions=versions, trusted=lesson.trusted,
                        identity=lesson.pki.client if client_auth else None, **kw, **options)


def server_config(lesson, suites_=None, versions=("1.3", "1.2"), *, client_auth=False,
                  **options) -> ServerConfig:
    kw = {} if suites_ is None else {"suites": tuple(suites_)}
    return ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server),
                        versions=versions, client_ca=lesson.trusted if client_auth else None,
                        **kw, **options)


TLS12_CASES = ([(s, True, False) for s in TLS12] + [(s, True, True) for s in TLS12]
               + [(suites.get("ECDHE-RSA-AES128-GCM-SHA256"), False, False),
                  (suites.get("AES128-SHA"), False, True)]
               + [(s, True, False) for s in MORE12])


def case_id(case) -> str:
    suite, ems, client_auth = case
    return (suite.openssl_name + ("" if ems else "-no-ems")
            + ("-client-cert" if client_auth else ""))


# ------------------------------------------------------------------------------------------------
# 1. our client -> tlslite-ng server
# ------------------------------------------------------------------------------------------------
def _our_client_to_tlslite(lesson, creds, hs, config, *, ecdsa=False, client_auth=False):
    data = message("tlslesson")
    with TlsliteServer(creds, hs, ecdsa=ecdsa, client_auth=client_auth) as server:
        result = net.connect("127.0.0.1", server.port, config, send=data, timeout=5)
        server.join()
    assert server.error is None, repr(server.error)
    assert result.data == data == server.received
    assert result.closed_by == "close_notify"
    theirs = server.negotiated
    assert theirs.version == VERSION[result.version]
    assert theirs.suite == result.suite.code
    assert theirs.client_chain == ([creds.der["client.crt"]] if client_auth else [])
    check_keys(result.connection.keylog, theirs, result.connection, result.version,
               client_auth=client_auth)
    return result, theirs


@pytest.mark.parametrize("case", TLS12_CASES, ids=[case_id(c) for c in TLS12_CASES])
def test_our_client_to_tlslite_server_tls12(lesson, creds, case):
    suite, ems, client_auth = case
    result, theirs = _our_client_to_tlslite(
        lesson, creds, settings("1.2", suite, ems=ems),
        client_config(lesson, [suite], ("1.2",), client_auth=client_auth, ems=ems),
        ecdsa=suite.auth == "ECDSA", client_auth=client_auth)
    assert (result.version, result.suite) == ("1.2", suite)
    assert result.connection.values["extended_master_secret"] is ems is theirs.ems


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
@pytest.mark.parametrize("suite", TLS13, ids=suite_id)
def test_our_client_to_tlslite_server_tls13(lesson, creds, suite, client_auth):
    result, theirs = _our_client_to_tlslite(
        lesson, creds, settings("1.3", suite),
        client_config(lesson, [suite], ("1.3",), client_auth=client_auth),
        client_auth=client_auth)
    assert (result.version, result.suite) == ("1.3", suite)


@pytest.mark.parametrize("group", GROUP_CASES)
def test_our_client_to_tlslite_server_tls13_groups(lesson, creds, group):
    result, theirs = _our_client_to_tlslite(
        lesson, creds, settings("1.3", groups=(group,)),
        client_config(lesson, versions=("1.3",), groups=(group,)))
    assert result.connection.values["group"] == NamedGroup(group).name
    assert "hello_retry_request_group" not in result.connection.values
    assert theirs.group == group


@pytest.mark.parametrize("group", TLS12_CURVES, ids=lambda g: NamedGroup(g).name)
def test_our_client_to_tlslite_server_tls12_ecdhe_groups(lesson, creds, group):
    suite = suites.get("ECDHE-RSA-AES128-GCM-SHA256")
    result, theirs = _our_client_to_tlslite(lesson, creds, settings("1.2", suite, groups=(group,)),
                                            client_config(lesson, [suite], ("1.2",),
                                                          groups=accepting(group)))
    assert result.connection.values["group"] == NamedGroup(group).name


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
def test_our_client_to_tlslite_server_hello_retry_request(lesson, creds, client_auth):
    """tlslite-ng takes only secp256r1; our client's one key share is x25519."""
    result, theirs = _our_client_to_tlslite(
        lesson, creds, settings("1.3", groups=(NamedGroup.secp256r1,)),
        client_config(lesson, client_auth=client_auth), client_auth=client_auth)
    values = result.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    assert theirs.group == NamedGroup.secp256r1
    names = [(s.sender, s.name) for s in result.connection.log]
    assert names.count(("client", "ClientHello")) == 2


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_our_client_without_certificate_when_tlslite_asks(lesson, creds, version):
    """tlslite-ng's reqCert asks for a certificate but does not insist: our client answers with
    an empty Certificate (RFC 5246 §7.4.6, RFC 8446 §4.4.2) and the handshake goes on."""
    data = message("tlslesson")
    with TlsliteServer(creds, settings(version), client_auth=True) as server:
        result = net.connect("127.0.0.1", server.port, client_config(lesson, versions=(version,)),
                             send=data, timeout=5)
        server.join()
    assert server.error is None, repr(server.error)
    assert result.data == data and result.version == version
    names = [(s.sender, s.name) for s in result.connection.log]
    assert ("server", "CertificateRequest") in names
    assert ("client", "Certificate") in names and ("client", "CertificateVerify") not in names
    assert server.negotiated.client_chain == []


# ------------------------------------------------------------------------------------------------
# 2. tlslite-ng client -> our server
# ------------------------------------------------------------------------------------------------
def _tlslite_to_us(lesson, creds, config, hs, *, client_auth=False, ecdsa=False):
    data = message("tlslite-ng")
    with OurServer(config) as server:
        theirs, echo = tlslite_client(server.port, creds, hs, data, client_auth=client_auth,
                                      ecdsa=ecdsa)
        reports = server.wait_for_reports(1)
    assert len(reports) == 1
    report = reports[0]
    assert report.error is None, report.error
    assert echo == data and report.echoed == len(data)
    assert theirs.version == VERSION[report.version]
    assert theirs.suite == report.suite.code
    leaf = creds.der["server-ecdsa.crt" if ecdsa else "server.crt"]
    assert theirs.server_chain == [leaf, creds.der["intermediate.crt"]]
    assert (report.client_certificate is not None) == client_auth
    if client_auth:
        assert report.client_certificate.startswith(CLIENT_SUBJECT)
    check_keys(report.connection.keylog, theirs, report.connection, report.version,
               client_auth=client_auth)
    return theirs, report


@pytest.mark.parametrize("case", TLS12_CASES, ids=[case_id(c) for c in TLS12_CASES])
def test_tlslite_client_to_our_server_tls12(lesson, creds, case):
    suite, ems, client_auth = case
    theirs, report = _tlslite_to_us(
        lesson, creds, server_config(lesson, [suite], ("1.2",), client_auth=client_auth),
        settings("1.2", suite, ems=ems), client_auth=client_auth, ecdsa=suite.auth == "ECDSA")
    assert (report.version, report.suite) == ("1.2", suite)
    assert report.connection.values["extended_master_secret"] is ems is theirs.ems


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
@pytest.mark.parametrize("suite", TLS13, ids=suite_id)
def test_tlslite_client_to_our_server_tls13(lesson, creds, suite, client_auth):
    theirs, report = _tlslite_to_us(
        lesson, creds, server_config(lesson, [suite], client_auth=client_auth),
        settings("1.3", suite), client_auth=client_auth)
    assert (report.version, report.suite) == ("1.3", suite)


@pytest.mark.parametrize("group", GROUP_CASES)
def test_tlslite_client_to_our_server_tls13_groups(lesson, creds, group):
    theirs, report = _tlslite_to_us(lesson, creds, server_config(lesson, groups=(group,)),
                                    settings("1.3", groups=(group,)))
    assert report.group == NamedGroup(group).name == NamedGroup(theirs.group).name
    assert "hello_retry_request_group" not in report.connection.values


@pytest.mark.parametrize("group", TLS12_CURVES, ids=lambda g: NamedGroup(g).name)
def test_tlslite_client_to_our_server_tls12_ecdhe_groups(lesson, creds, group):
    suite = suites.get("ECDHE-RSA-AES128-GCM-SHA256")
    theirs, report = _tlslite_to_us(lesson, creds,
                                    server_config(lesson, [suite], ("1.2",),
                                                  groups=accepting(group)),
                                    settings("1.2", suite, groups=(group,)))
    assert report.group == NamedGroup(group).name == NamedGroup(theirs.group).name


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
def test_tlslite_client_to_our_server_hello_retry_request(lesson, creds, client_auth):
    """tlslite-ng sends an x25519 share (and lists secp256r1); our server takes only
    secp256r1."""
    theirs, report = _tlslite_to_us(
        lesson, creds,
        server_config(lesson, groups=(NamedGroup.secp256r1,), client_auth=client_auth),
        settings("1.3", groups=(NamedGroup.x25519, NamedGroup.secp256r1)),
        client_auth=client_auth)
    values = report.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    assert theirs.group == NamedGroup.secp256r1


@pytest.mark.parametrize("version, alert", [("1.2", AlertDescription.handshake_failure),
                                            ("1.3", AlertDescription.certificate_required)])
def test_tlslite_client_without_certificate_is_refused(lesson, creds, version, alert):
    with OurServer(server_config(lesson, versions=(version,), client_auth=True)) as server:
        with pytest.raises(TLSRemoteAlert) as caught:
            tlslite_client(server.port, creds, settings(version), message("tlslite-ng"))
        reports = server.wait_for_reports(1)
    assert caught.value.description == alert
    assert isinstance(reports[0].error, AlertError) and not reports[0].error.received
    assert reports[0].error.alert == alert


# ------------------------------------------------------------------------------------------------
# 3. versions
# ------------------------------------------------------------------------------------------------
def test_default_client_to_tls12_only_tlslite_server(lesson, creds):
    """We offer 1.3 and 1.2; tlslite-ng allowed only 1.2 answers 1.2 with no downgrade
    sentinel, and we do not take it for a downgrade."""
    result, theirs = _our_client_to_tlslite(lesson, creds, settings("1.2"), client_config(lesson))
    assert result.version == "1.2" and theirs.version == (3, 3)
    assert result.connection.values["server_random"][-8:] != DOWNGRADE_TLS12


def test_tls12_only_tlslite_client_to_default_server(lesson, creds):
    """Our server, which has 1.3, marks its 1.2 ServerHello.random with the sentinel; a client
    that offered only 1.2 was not downgraded and goes on (RFC 8446 §4.1.3)."""
    theirs, report = _tlslite_to_us(lesson, creds, server_config(lesson), settings("1.2"))
    assert report.version == "1.2" and theirs.version == (3, 3)
    assert report.connection.values["server_random"][-8:] == DOWNGRADE_TLS12


def test_default_tlslite_client_to_default_server_is_tls13(lesson, creds):
    theirs, report = _tlslite_to_us(lesson, creds, server_config(lesson), settings(None))
    assert report.version == "1.3" and theirs.version == (3, 4)


def test_tlslite_client_checks_downgrade_sentinel_absent(lesson, creds):
    """tlslite-ng offers 1.3 and 1.2; our 1.2-only server must not put the sentinel in its
    random (tlslite-ng aborts with illegal_parameter if it does, RFC 8446 §4.1.3)."""
    theirs, report = _tlslite_to_us(lesson, creds, server_config(lesson, versions=("1.2",)),
                                    settings(None))
    assert report.version == "1.2" and theirs.version == (3, 3)
    assert report.connection.values["server_random"][-8:] != DOWNGRADE_TLS12


# ------------------------------------------------------------------------------------------------
# server keys beyond RSA and P-256: P-384, P-521, Ed25519, Ed448, RSA-PSS, both ways
# ------------------------------------------------------------------------------------------------
from peers import extra_identities, groups_for_certificate  # noqa: E402,F401
from peers import suite_for_key_type as _new_suite, server_signature_scheme as _scheme_seen  # noqa: E402
from tlslesson import pki, signatures  # noqa: E402

NEW_CASES = [(k, v) for k in pki.EXTRA_KEY_TYPES for v in ("1.2", "1.3")]


@pytest.mark.parametrize("key_type,version", NEW_CASES, ids=[f"{k}-{v}" for k, v in NEW_CASES])
def test_our_client_to_tlslite_server_new_key_types(lesson, creds, extra_identities, key_type,
                                                    version):
    suite = _new_suite(key_type, version)
    identity = (_chain(lesson, f"server-{key_type}.crt"), _key(lesson, f"server-{key_type}.key"))
    config = client_config(lesson, [suite], (version,), signature_schemes=signatures.MODERN,
                           groups=groups_for_certificate(key_type, version))
    data = message("tlslesson")
    with TlsliteServer(creds, settings(version, suite), identity=identity) as server:
        result = net.connect("127.0.0.1", server.port, config, send=data, timeout=5)
        server.join()
    assert server.error is None, repr(server.error)
    assert result.data == data == server.received
    assert (result.version, result.suite.code) == (version, server.negotiated.suite)
    assert _scheme_seen(result.connection, version) in signatures.schemes_for(
        extra_identities[key_type].key, version == "1.3")
    check_keys(result.connection.keylog, server.negotiated, result.connection, version,
               client_auth=False)


@pytest.mark.parametrize("key_type,version", NEW_CASES, ids=[f"{k}-{v}" for k, v in NEW_CASES])
def test_tlslite_client_to_our_server_new_key_types(lesson, creds, extra_identities, key_type,
                                                    version):
    """The new identity first: tlslite-ng offers its scheme, so our server chooses it."""
    suite = _new_suite(key_type, version)
    ident = extra_identities[key_type]
    config = server_config(lesson, [suite], (version,))
    config.identities = (ident, *config.identities)
    data = message("tlslite-ng")
    with OurServer(config) as server:
        theirs, echo = tlslite_client(server.port, creds, settings(version, suite), data,
                                      leaf=_chain(lesson, f"server-{key_type}.crt"))
        reports = server.wait_for_reports(1)
    assert len(reports) == 1 and reports[0].error is None, reports[0].error
    assert echo == data and theirs.suite == suite.code
    assert theirs.server_chain == ident.chain_der()
    assert _scheme_seen(reports[0].connection, version) in signatures.schemes_for(
        ident.key, version == "1.3")
    check_keys(reports[0].connection.keylog, theirs, reports[0].connection, version,
               client_auth=False)


# encrypt_then_mac (RFC 7366) and record_size_limit (RFC 8449): tlslite-ng has both
# (HandshakeSettings.useEncryptThenMAC, .record_size_limit)
# ------------------------------------------------------------------------------------------------
CBC = suites.get("AES128-SHA")


@pytest.mark.parametrize("ours, theirs", [(True, True), (False, True), (True, False)],
                         ids=["etm", "we-dont", "tlslite-no-etm"])
def test_encrypt_then_mac_each_way(lesson, creds, ours, theirs):
    hs = settings("1.2", CBC)
    hs.useEncryptThenMAC = theirs
    result, negotiated = _our_client_to_tlslite(
        lesson, creds, hs, client_config(lesson, [CBC], ("1.2",), encrypt_then_mac=ours))
    assert result.connection.hs.encrypt_then_mac is negotiated.encrypt_then_mac is (ours and theirs)
    negotiated, report = _tlslite_to_us(
        lesson, creds, server_config(lesson, [CBC], ("1.2",), encrypt_then_mac=ours), hs)
    assert report.connection.hs.encrypt_then_mac is negotiated.encrypt_then_mac is (ours and theirs)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_record_size_limit_each_way(lesson, creds, version):
    """tlslite-ng announces 512: our records keep to it (in 1.3 our server's Certificate goes
    in several records; tlslite-ng refuses a longer one); we announce 512: it sends at most 512
    bytes of data a record (1.2), 511 + the content type (1.3)."""
    suite = suites.get("ECDHE-RSA-AES128-GCM-SHA256") if version == "1.2" else TLS13[0]
    hs = settings(version, suite)
    hs.record_size_limit = 512
    result, negotiated = _our_client_to_tlslite(
        lesson, creds, hs, client_config(lesson, [suite], (version,), record_size_limit=512))
    most = 511 if version == "1.3" else 512
    assert result.connection.hs.peer_record_size_limit == 512
    assert negotiated.send_record_limit == most
    negotiated, report = _tlslite_to_us(
        lesson, creds, server_config(lesson, [suite], (version,), record_size_limit=512,
                                     log_records=True), hs)
    conn = report.connection
    assert conn.hs.peer_record_size_limit == 512 and negotiated.send_record_limit == most
    cert = next(s for s in conn.log if s.name == "Certificate" and s.sender == "server")
    lengths, raw = [], cert.record
    while raw:
        lengths.append(int.from_bytes(raw[3:5], "big"))
        raw = raw[5 + lengths[-1]:]
    assert len(lengths) > 2 and max(lengths) <= 512 + (16 if version == "1.3" else 0)
