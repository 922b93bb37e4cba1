"""tlslesson.pki: the lesson PKI, chain validation step by step, and agreement with OpenSSL."""
from __future__ import annotations

import datetime as dt
import os
import re
import selectors
import subprocess
import time
from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tlslesson import pki
from tlslesson.constants import AlertDescription as AD
from tlslesson.errors import CertificateError, DecodeError, TLSError

NOW = dt.datetime.now(dt.timezone.utc)
DAY = dt.timedelta(days=1)


def chain_of(ident: pki.Identity) -> list[x509.Certificate]:
    return [ident.certificate, *ident.chain]


@pytest.fixture(scope="module")
def lesson() -> pki.LessonPKI:
    return pki.lesson_pki()


# --------------------------------------------------------------------------------------------
# the shipped lesson PKI
# --------------------------------------------------------------------------------------------

def test_lesson_pki_is_cached_and_keys_match(lesson):
    assert pki.lesson_pki() is lesson
    for ident in (lesson.root, lesson.intermediate, lesson.rsa_server, lesson.ecdsa_server,
                  lesson.client):
        assert ident.key is not None
        assert (ident.key.public_key().public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
                == ident.certificate.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    assert lesson.rsa_server.chain == (lesson.intermediate.certificate,)
    assert lesson.ecdsa_server.chain == (lesson.intermediate.certificate,)
    assert lesson.client.chain == ()
    # valid for a century, and already valid on any sane student clock
    assert lesson.root.certificate.not_valid_after_utc.year == 2126
    assert lesson.rsa_server.certificate.not_valid_before_utc.year <= 2020


def test_describe_lesson_certificates(lesson):
    rsa_leaf = pki.describe(lesson.rsa_server.certificate)
    assert rsa_leaf["public_key"] == "RSA" and rsa_leaf["key_size"] == 2048
    assert rsa_leaf["san"] == ["DNS:localhost", "IP:127.0.0.1"]
    assert rsa_leaf["key_usage"] == ["digital_signature", "key_encipherment"]
    assert rsa_leaf["extended_key_usage"] == ["serverAuth"]
    assert rsa_leaf["is_ca"] is False
    ec_leaf = pki.describe(lesson.ecdsa_server.certificate)
    assert ec_leaf["public_key"] == "ECDSA secp256r1" and ec_leaf["key_size"] == 256
    assert ec_leaf["key_usage"] == ["digital_signature"]  # no keyEncipherment for an EC key
    root = pki.describe(lesson.root.certificate)
    assert root["is_ca"] and root["subject"] == root["issuer"]
    assert root["key_usage"] == ["key_cert_sign", "crl_sign"]
    assert pki.describe(lesson.intermediate.certificate)["path_length"] == 0
    assert pki.describe(lesson.client.certificate)["extended_key_usage"] == ["clientAuth"]


def test_tampered_serial_parses_quietly_and_fails_validation(lesson):
    """A flipped serial byte can make the serial negative: cryptography only warns about that today;
    the student sees the verdict (bad signature), not a library warning."""
    import base64
    import warnings
    cert = lesson.rsa_server.certificate
    der = cert.public_bytes(serialization.Encoding.DER)
    serial = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 7) // 8, "big")
    at = der.index(serial)
    tampered = der[:at] + bytes([serial[0] | 0x80]) + der[at + 1:]       # top bit set: negative
    pem = (b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(tampered)
           + b"-----END CERTIFICATE-----\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                   # any warning fails
        for parsed in (pki.load_der_certificate(tampered), pki.load_pem_chain(pem)[0]):
            assert pki.describe(parsed)["serial"].startswith("-")
            with pytest.raises(CertificateError):
                pki.validate_chain([parsed, lesson.intermediate.certificate],
                                   [lesson.root.certificate], hostname="localhost")


def test_identity_pem_and_der(lesson):
    ident = lesson.rsa_server
    assert pki.load_pem_chain(ident.chain_pem) == chain_of(ident)
    assert pki.load_pem_chain(ident.cert_pem) == [ident.certificate]
    assert ident.key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    ders = ident.chain_der()
    assert [pki.load_der_certificate(d) for d in ders] == chain_of(ident)


@pytest.mark.parametrize("server, hostname", [
    ("rsa_server", "localhost"), ("rsa_server", "127.0.0.1"),
    ("ecdsa_server", "localhost"), ("ecdsa_server", "127.0.0.1"),
])
def test_lesson_server_chains_validate(lesson, server, hostname):
    ident = getattr(lesson, server)
    report = pki.validate_chain(chain_of(ident), lesson.trusted, hostname=hostname)
    assert report.ok
    assert [s.name for s in report.steps] == list(pki.STEPS)
    assert report.path == (ident.certificate, lesson.intermediate.certificate,
                           lesson.root.certificate)
    text = str(report)
    positions = [text.index(f"[ok] {name}:") for name in pki.STEPS]
    assert positions == sorted(positions)  # the checklist is printed in step order


def test_lesson_client_chain_validates(lesson):
    report = pki.validate_chain(chain_of(lesson.client), lesson.trusted, hostname=None,
                                purpose="client")
    # no host name to check for a client: the name step is not done, so not listed
    assert [s.name for s in report.steps] == list(pki.STEPS[:-1])
    assert report.path == (lesson.client.certificate, lesson.root.certificate)


def test_unordered_chain_with_extra_certs_and_root(lesson):
    """The peer may send certificates in any order, add unrelated ones, and send the root."""
    extra = lesson.ecdsa_server.certificate
    sent = [lesson.rsa_server.certificate, lesson.root.certificate, extra,
            lesson.intermediate.certificate]
    report = pki.validate_chain(sent, lesson.trusted, hostname="localhost")
    assert report.path == (lesson.rsa_server.certificate, lesson.intermediate.certificate,
                           lesson.root.certificate)


def test_der_bytes_accepted_in_chain(lesson):
    report = pki.validate_chain(lesson.rsa_server.chain_der(), lesson.trusted,
                                hostname="localhost")
    assert report.path[0] == lesson.rsa_server.certificate


def test_now_parameter_moves_the_clock(lesson):
    with pytest.raises(CertificateError) as info:
        pki.validate_chain(chain_of(lesson.rsa_server), lesson.trusted, hostname="localhost",
                           now=dt.datetime(2200, 1, 1, tzinfo=dt.timezone.utc))
    assert info.value.step == pki.STEP_VALIDITY
    assert info.value.alert == AD.certificate_expired
    with pytest.raises(CertificateError) as info:
        pki.validate_chain(chain_of(lesson.rsa_server), lesson.trusted, hostname="localhost",
                           now=dt.datetime(2019, 1, 1))  # naive: taken as UTC
    assert info.value.alert == AD.bad_certificate


def best_time(fn, n=20, rounds=5) -> float:
    """Seconds per call, best of a few rounds (the least disturbed by whatever else runs)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def test_validation_is_fast(lesson):
    """Everything except the two signature checks stays well under a millisecond."""
    chain = chain_of(lesson.rsa_server)
    path = [*chain, lesson.root.certificate]
    total = best_time(lambda: pki.validate_chain(chain, lesson.trusted, hostname="localhost"))
    signatures = best_time(lambda: pki.check_signatures(path))
    assert total - signatures < 1e-3, f"{(total - signatures) * 1e3:.3f} ms"


def test_wildcard_names(lesson):
    ident = pki.issue(lesson.intermediate, "wildcard", key_type="ecdsa",
                      dns_names=["*.example.com"])
    chain = chain_of(ident)
    ok = pki.validate_chain(chain, lesson.trusted, hostname="WWW.Example.com.")
    assert ok.steps[-1].detail == "WWW.Example.com. matches SAN DNS:*.example.com"
    for host in ("example.com", "a.b.example.com", "wwwexample.com", "localhost", "127.0.0.1"):
        with pytest.raises(CertificateError) as info:
            pki.validate_chain(chain, lesson.trusted, hostname=host)
        assert info.value.step == pki.STEP_NAME, host
        assert info.value.alert == AD.bad_certificate


def test_no_common_name_fallback(lesson):
    """CN=localhost but no SAN: the name does not match (RFC 6125 §6.4.4)."""
    ident = pki.issue(lesson.intermediate, "localhost", key_type="ecdsa", purpose=None)
    assert pki.describe(ident.certificate)["san"] == []
    with pytest.raises(CertificateError) as info:
        pki.validate_chain(chain_of(ident), lesson.trusted, hostname="localhost")
    assert info.value.step == pki.STEP_NAME


# --------------------------------------------------------------------------------------------
# the catalogue of bad chains: each fails at its own step, with its own alert
# --------------------------------------------------------------------------------------------

@dataclass
class Case:
    chain: list
    step: str
    alert: AD                   # what the brief/OpenSSL's x509table says a stack sends
    openssl_error: str          # OpenSSL's name for the same failure
    hostname: str | None = "localhost"
    purpose: str = "server"
    rsa_key_exchange: bool = False
    openssl_verify_rejects: bool = True   # False: OpenSSL makes this check in the handshake
    trusted: list = field(default_factory=list)


CATALOGUE_IDS = [
    "expired", "not-yet-valid", "wrong-host", "wrong-ip", "unknown-ca", "untrusted-root-sent",
    "missing-intermediate", "self-signed-leaf", "bad-signature", "intermediate-not-ca",
    "issuer-without-keycertsign", "leaf-client-only", "client-cert-server-only",
    "rsa-without-key-encipherment", "path-length-exceeded",
]


@pytest.fixture(scope="module")
def catalogue(lesson) -> dict[str, Case]:
    inter, root = lesson.intermediate, lesson.root

    def leaf(issuer=inter, **kw):
        return pki.issue(issuer, "localhost", key_type="ecdsa", **kw)

    other_root = pki.make_ca("Some Other Root", key_type="ecdsa")
    # Issuer name and key identifier say "the lesson intermediate", but another RSA key signed it.
    impostor = pki.Identity(inter.certificate, lesson.client.key, inter.chain)
    not_a_ca = pki.issue(root, "Not A CA", key_type="ecdsa", purpose=None,
                         key_usage={"digital_signature", "key_cert_sign"})
    crl_only_ca = pki.issue(root, "CRL-only CA", key_type="ecdsa", is_ca=True, purpose=None,
                            key_usage={"crl_sign"})
    # The lesson intermediate has pathLen 0: a CA below it breaks the constraint.
    sub_ca = pki.issue(inter, "Sub CA", key_type="ecdsa", is_ca=True, purpose=None)
    cases = {
        "expired": Case(chain_of(leaf(not_before=NOW - 20 * DAY, not_after=NOW - 10 * DAY)),
                        pki.STEP_VALIDITY, AD.certificate_expired, "X509_V_ERR_CERT_HAS_EXPIRED"),
        "not-yet-valid": Case(chain_of(leaf(not_before=NOW + 10 * DAY, not_after=NOW + 20 * DAY)),
                              pki.STEP_VALIDITY, AD.bad_certificate,
                              "X509_V_ERR_CERT_NOT_YET_VALID"),
        "wrong-host": Case(chain_of(lesson.rsa_server), pki.STEP_NAME, AD.bad_certificate,
                           "X509_V_ERR_HOSTNAME_MISMATCH", hostname="www.example.com"),
        "wrong-ip": Case(chain_of(lesson.rsa_server), pki.STEP_NAME, AD.bad_certificate,
                         "X509_V_ERR_IP_ADDRESS_MISMATCH", hostname="127.0.0.2"),
        "unknown-ca": Case([leaf(other_root).certificate], pki.STEP_CHAIN, AD.unknown_ca,
                           "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"),
        "untrusted-root-sent": Case([leaf(other_root).certificate, other_root.certificate],
                                    pki.STEP_CHAIN, AD.unknown_ca,
                                    "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN"),
        "missing-intermediate": Case([lesson.rsa_server.certificate], pki.STEP_CHAIN,
                                     AD.unknown_ca,
                                     "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"),
        "self-signed-leaf": Case([pki.make_ca("localhost", key_type="ecdsa").certificate],
                                 pki.STEP_CHAIN, AD.unknown_ca,
                                 "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT"),
        "bad-signature": Case(chain_of(leaf(impostor)), pki.STEP_SIGNATURE, AD.decrypt_error,
                              "X509_V_ERR_CERT_SIGNATURE_FAILURE"),
        "intermediate-not-ca": Case(chain_of(leaf(not_a_ca)), pki.STEP_BASIC_CONSTRAINTS,
                                    AD.unknown_ca, "X509_V_ERR_INVALID_CA"),
        "issuer-without-keycertsign": Case(chain_of(leaf(crl_only_ca)), pki.STEP_KEY_USAGE,
                                           AD.unknown_ca, "X509_V_ERR_INVALID_CA"),
        "leaf-client-only": Case(chain_of(leaf(purpose="client", dns_names=["localhost"])),
                                 pki.STEP_EKU, AD.unsupported_certificate,
                                 "X509_V_ERR_INVALID_PURPOSE"),
        "client-cert-server-only": Case(chain_of(lesson.ecdsa_server), pki.STEP_EKU,
                                        AD.unsupported_certificate, "X509_V_ERR_INVALID_PURPOSE",
                                        hostname=None, purpose="client"),
        # TLS 1.2 RSA key exchange: the client encrypts the pre-master to the leaf's key.
        "rsa-without-key-encipherment": Case(
            chain_of(pki.issue(inter, "localhost", key_type="rsa", rsa_key_encipherment=False)),
            pki.STEP_KEY_USAGE, AD.handshake_failure, "SSL_R_MISSING_RSA_ENCRYPTING_CERT",
            rsa_key_exchange=True, openssl_verify_rejects=False),
        "path-length-exceeded": Case(chain_of(leaf(sub_ca)), pki.STEP_BASIC_CONSTRAINTS,
                                     AD.unknown_ca, "X509_V_ERR_PATH_LENGTH_EXCEEDED"),
    }
    assert sorted(cases) == sorted(CATALOGUE_IDS)
    for case in cases.values():
        case.trusted = case.trusted or lesson.trusted
    return cases


def validate(case: Case):
    return pki.validate_chain(case.chain, case.trusted, hostname=case.hostname,
                              purpose=case.purpose, rsa_key_exchange=case.rsa_key_exchange)


@pytest.mark.parametrize("case_id", CATALOGUE_IDS)
def test_bad_chain_rejected_at_its_step(catalogue, case_id):
    case = catalogue[case_id]
    with pytest.raises(CertificateError) as info:
        validate(case)
    err = info.value
    assert (err.step, err.alert, err.openssl_error) == (case.step, case.alert, case.openssl_error)
    # the alert follows OpenSSL's table, and the message is one line
    assert pki.OPENSSL_ERRORS[err.openssl_error][1] == err.alert
    assert "\n" not in str(err) and err.alert.name in str(err)
    # the report shows every step passed before this one, in order, then the failure
    names = [s.name for s in err.report.steps]
    assert names == list(pki.STEPS[:pki.STEPS.index(case.step) + 1])
    assert [s.ok for s in err.report.steps] == [True] * (len(names) - 1) + [False]
    assert err.report.path[0] == case.chain[0]
    assert "[FAILED] " + case.step in str(err.report)


# For the cases whose defect is in how the chain is used (not in a certificate), the one input
# that makes the same chain pass.
RELAXED = {
    "wrong-host": dict(hostname="localhost"),
    "wrong-ip": dict(hostname="127.0.0.1"),
    "rsa-without-key-encipherment": dict(rsa_key_exchange=False),
    "client-cert-server-only": dict(purpose="server", hostname="localhost"),
    "missing-intermediate": "add the intermediate",
}


@pytest.mark.parametrize("case_id", sorted(RELAXED))
def test_catalogue_case_fixed_passes(catalogue, lesson, case_id):
    """Each case differs from a good one in only the thing its step checks."""
    case = catalogue[case_id]
    change = RELAXED[case_id]
    if case_id == "missing-intermediate":
        change = dict(chain=case.chain + [lesson.intermediate.certificate])
    assert validate(Case(**{**case.__dict__, **change})).ok


# --------------------------------------------------------------------------------------------
# the same verdicts from `openssl verify`
# --------------------------------------------------------------------------------------------

def pem(certs) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def openssl_verify(openssl, tmp_path, chain, trusted, hostname, purpose) -> tuple[int, str]:
    (tmp_path / "ca.pem").write_bytes(pem(trusted))
    (tmp_path / "leaf.pem").write_bytes(pem(chain[:1]))
    args = [openssl, "verify", "-CAfile", str(tmp_path / "ca.pem"),
            "-purpose", "sslserver" if purpose == "server" else "sslclient"]
    if chain[1:]:
        (tmp_path / "inter.pem").write_bytes(pem(chain[1:]))
        args += ["-untrusted", str(tmp_path / "inter.pem")]
    if hostname is not None:
        args += ["-verify_ip" if hostname[0].isdigit() else "-verify_hostname", hostname]
    proc = subprocess.run(args + [str(tmp_path / "leaf.pem")], capture_output=True, text=True,
                          timeout=10)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.interop
@pytest.mark.parametrize("case_id", CATALOGUE_IDS)
def test_openssl_verify_agrees(openssl, tmp_path, catalogue, case_id):
    case = catalogue[case_id]
    rc, out = openssl_verify(openssl, tmp_path, case.chain, case.trusted, case.hostname,
                             case.purpose)
    if case.openssl_verify_rejects:
        codes = {pki.OPENSSL_ERRORS[case.openssl_error][0]}
        if case.openssl_error == "X509_V_ERR_INVALID_CA":
            codes.add(24)  # its number before OpenSSL 3.0
        first = re.search(r"error (\d+) at", out)
        assert rc != 0 and first, out
        assert int(first.group(1)) in codes, out  # OpenSSL's first complaint is the same failure
    else:
        # keyEncipherment for RSA key exchange is checked by the TLS client once it knows the
        # cipher suite (SSL_R_MISSING_RSA_ENCRYPTING_CERT), not by X509 path validation.
        assert rc == 0, out


@pytest.mark.interop
@pytest.mark.parametrize("name, hostname, purpose", [
    ("rsa_server", "localhost", "server"), ("rsa_server", "127.0.0.1", "server"),
    ("ecdsa_server", "localhost", "server"), ("client", None, "client"),
])
def test_openssl_verify_accepts_lesson_chains(openssl, tmp_path, lesson, name, hostname, purpose):
    chain = chain_of(getattr(lesson, name))
    rc, out = openssl_verify(openssl, tmp_path, chain, lesson.trusted, hostname, purpose)
    assert rc == 0 and ": OK" in out, out


# --------------------------------------------------------------------------------------------
# write_pki output works with a real OpenSSL server and client
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def written(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    return pki.write_pki(directory)


def test_write_pki_files(written):
    assert sorted(written) == sorted(pki.PKI_FILES)  # no CA keys unless asked for
    server = pki.load_pem_chain(written["server.crt"].read_bytes())
    inter = pki.load_pem_chain(written["intermediate.crt"].read_bytes())
    assert len(server) == 2 and server[1] == inter[0]  # leaf first, then the intermediate
    assert pki.describe(server[0])["san"] == ["DNS:localhost", "IP:127.0.0.1"]
    loaded = pki.load_pki(written["ca.crt"].parent)
    assert loaded.root.key is None and loaded.rsa_server.key is not None
    assert pki.validate_chain(chain_of(loaded.ecdsa_server), loaded.trusted,
                              hostname="127.0.0.1").ok
    # fresh certs: valid from yesterday for 10 years
    not_after = loaded.rsa_server.certificate.not_valid_after_utc
    assert abs(not_after - (NOW + dt.timedelta(days=3650))) < dt.timedelta(hours=1)


def wait_for_accept(proc: subprocess.Popen, deadline: float) -> str:
    """Read s_server's stdout until it prints ACCEPT (it is listening), without a probe
    connection (that would use up -naccept 1). os.read, not readline: a buffered reader could
    swallow "ACCEPT" while select() waits for more."""
    seen = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while b"ACCEPT" not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(timeout=left):
                raise AssertionError(f"s_server did not start: {seen!r}")
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                raise AssertionError(f"s_server exited: {seen!r}")
            seen += chunk
    return seen.decode(errors="replace")


@pytest.mark.interop
@pytest.mark.parametrize("cert, key, client_auth", [
    ("server.crt", "server.key", True), ("server-ecdsa.crt", "server-ecdsa.key", False),
])
def test_written_pki_works_with_openssl(openssl, free_port, written, cert, key, client_auth):
    # s_server -cert reads only the first certificate of the file (openssl/openssl#19979), so
    # the intermediate goes in again with -cert_chain; servers that use
    # SSL_CTX_use_certificate_chain_file (nginx, Apache, ...) read server.crt as it is.
    server_args = [openssl, "s_server", "-accept", f"127.0.0.1:{free_port}", "-www",
                   "-naccept", "1", "-cert", str(written[cert]), "-key", str(written[key]),
                   "-cert_chain", str(written["intermediate.crt"])]
    client_args = [openssl, "s_client", "-connect", f"127.0.0.1:{free_port}",
                   "-servername", "localhost", "-verify_hostname", "localhost",
                   "-CAfile", str(written["ca.crt"]), "-verify_return_error",
                   "-ign_eof"]  # after our GET, keep reading until the server closes
    if client_auth:  # the server demands a client certificate and checks it against ca.crt
        server_args += ["-Verify", "1", "-verify_return_error", "-CAfile", str(written["ca.crt"])]
        client_args += ["-cert", str(written["client.crt"]), "-key", str(written["client.key"])]
    server = subprocess.Popen(server_args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        wait_for_accept(server, time.monotonic() + 10)
        client = subprocess.run(client_args, input="GET / HTTP/1.0\r\n\r\n", capture_output=True,
                                text=True, timeout=10)
        out = client.stdout + client.stderr
        assert "Verify return code: 0 (ok)" in out, out
        assert "HTTP/1.0 200 ok" in out, out  # handshake (and client auth) done, data flowed
    finally:
        server.kill()
        server.wait(timeout=10)


# --------------------------------------------------------------------------------------------
# bad input: always a TLSError with a one-line message, never a raw cryptography exception
# --------------------------------------------------------------------------------------------

def corrupt_key_usage(der: bytes) -> bytes:
    """Keep the outer structure, break the KeyUsage BIT STRING inside (tag 03 -> 05): the
    certificate loads, and fails only when its extensions are parsed."""
    at = der.index(bytes.fromhex("0603551d0f0101ff04"))  # OID keyUsage, critical, OCTET STRING
    tag = at + 10
    assert der[tag] == 0x03
    return der[:tag] + b"\x05" + der[tag + 1:]


GARBAGE_PEM = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("call", [
    lambda: pki.load_pem_chain(b"garbage"),
    lambda: pki.load_pem_chain(b""),
    lambda: pki.load_pem_chain(GARBAGE_PEM),
    lambda: pki.load_pem_chain(None),
    lambda: pki.load_der_certificate(b"garbage"),
    lambda: pki.load_der_certificate(b"\x30\x03\x02\x01\x00"),
    lambda: pki.load_der_certificate(b""),
    lambda: pki.load_private_key(b"garbage"),
    lambda: pki.load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
    lambda: pki.validate_chain([b"garbage"], [], hostname="localhost"),
    lambda: pki.new_key("dsa"),
], ids=["pem-garbage", "pem-empty", "pem-bad-base64-body", "pem-none", "der-garbage",
        "der-truncated", "der-empty", "key-garbage", "key-bad-body", "chain-garbage",
        "unknown-key-type"])
def test_garbage_raises_tls_error(call):
    with pytest.raises(TLSError) as info:
        call()
    assert "\n" not in str(info.value)


def test_bad_pem_block_offset():
    good = pki.lesson_pki().root.cert_pem
    with pytest.raises(DecodeError) as info:
        pki.load_pem_chain(good + GARBAGE_PEM)
    assert info.value.field == "certificate" and info.value.offset == len(good)


def test_encrypted_key_without_password(lesson):
    encrypted = lesson.ecdsa_server.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"))
    with pytest.raises(DecodeError):
        pki.load_private_key(encrypted)


def test_lazily_parsed_bad_extension_is_wrapped(lesson):
    bad = corrupt_key_usage(lesson.rsa_server.certificate.public_bytes(serialization.Encoding.DER))
    with pytest.raises(DecodeError) as info:  # decoding a TLS Certificate message
        pki.load_der_certificate(bad)
    assert info.value.field == "certificate" and info.value.offset == 0
    # A certificate object that cryptography loaded lazily: validation and describe still
    # fail with our errors, not a bare ValueError.
    lazy = x509.load_der_x509_certificate(bad)
    with pytest.raises(CertificateError) as info:
        pki.validate_chain([lazy, lesson.intermediate.certificate], lesson.trusted,
                           hostname="localhost")
    assert info.value.alert == AD.certificate_unknown
    assert info.value.openssl_error == "X509_V_ERR_INVALID_EXTENSION"
    with pytest.raises(DecodeError):
        pki.describe(lazy)


def test_empty_chain(lesson):
    with pytest.raises(CertificateError) as info:
        pki.validate_chain([], lesson.trusted, hostname="localhost")
    assert info.value.step == pki.STEP_CHAIN and info.value.report.steps[-1].ok is False


def test_system_trust_loads():
    trust = pki.load_system_trust()
    assert isinstance(trust, list)
    assert all(isinstance(c, x509.Certificate) for c in trust)
    trust.clear()  # the caller's copy: the cached bundle is untouched
    assert pki.load_system_trust() == pki.load_system_trust()
