"""A toy certificate authority, and certificate-chain validation as explicit, named steps.

Read this next to RFC 5280. Three parts:

* **Making certificates** (§4): ``make_ca`` makes a self-signed root, ``issue`` signs a
  certificate for a new key, ``make_pki`` builds the lesson's small PKI (root → intermediate →
  servers, root → client), ``write_pki``/``load_pki`` put it on disk in the files OpenSSL reads.
  ``lesson_pki()`` loads a fixed copy shipped with the package, so notebooks show the same
  certificates every time and never wait for RSA key generation.

* **Checking certificates** (§6): ``validate_chain`` takes what a peer sent in its TLS
  Certificate message and runs the checks a TLS client (or a server checking a client) runs,
  one small function per step, in a fixed order::

      chain building / trust anchor → signature → validity period → basic constraints
      → key usage → extended key usage → name

  Each step is recorded in a ``ValidationReport`` (a checklist a notebook can print). The first
  failing step raises ``CertificateError`` carrying the alert OpenSSL would send for it.

* **Inside and beyond the chain**: ``tbs_signature_check`` verifies a CA's signature by hand
  (hash the TBSCertificate, verify with the issuer's key); ``revocation_list`` and
  ``ocsp_response`` / ``check_ocsp_response`` say whether a certificate was revoked (RFC 5280
  §5, RFC 6960); ``issue_with_sct`` / ``check_scts`` issue a certificate through a lesson
  Certificate Transparency log and check its embedded SCT (RFC 6962).

Every error on bad input is a ``tlslesson.errors`` exception with a one-line message.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import functools
import ipaddress
import re
import ssl
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable, Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, PublicKeyAlgorithmOID

from .constants import AlertDescription
from .signatures import RSAPSSPrivateKey
from .errors import CertificateError, DecodeError, TLSError

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey,
                   ed448.Ed448PrivateKey]

ONE_DAY = _dt.timedelta(days=1)
DEFAULT_LIFETIME = _dt.timedelta(days=3650)
# The shipped lesson PKI must be valid on any student's clock: from well before it was made
# until long after anyone still runs these notebooks.
LESSON_NOT_BEFORE = _dt.datetime(2020, 1, 1, tzinfo=_dt.timezone.utc)
LESSON_NOT_AFTER = _dt.datetime(2126, 1, 1, tzinfo=_dt.timezone.utc)
LESSON_PKI_DIR = ("data", "lesson-pki")

# ---------------------------------------------------------------------------------------------
# Identities: a certificate, its private key, and the intermediates a peer must send with it
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """What a TLS endpoint needs to authenticate itself.

    ``chain`` holds the intermediate CA certificates above ``certificate`` (not the root: the
    peer already has the root, RFC 8446 §4.4.2 lets us omit it). ``key`` is None only for a CA
    loaded from files without its private key.
    """

    certificate: x509.Certificate
    key: PrivateKey | None
    chain: tuple[x509.Certificate, ...] = ()

    def __post_init__(self):
        # cryptography loads an id-RSASSA-PSS key as a plain RSA key: the certificate says
        # what it may do (RFC 4055 §1.2), so the key is marked here, wherever it was loaded.
        if (is_rsa_pss(self.certificate) and isinstance(self.key, rsa.RSAPrivateKey)
                and not isinstance(self.key, RSAPSSPrivateKey)):
            object.__setattr__(self, "key", RSAPSSPrivateKey(self.key))

    @property
    def cert_pem(self) -> bytes:
        """The certificate alone, PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def chain_pem(self) -> bytes:
        """Certificate then intermediates, PEM: what ``openssl s_server -cert`` reads."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM)
                        for c in (self.certificate, *self.chain))

    @property
    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (lesson keys only!)."""
        if self.key is None:
            raise TLSError(f"{_name(self.certificate)}: no private key loaded")
        if isinstance(self.key, RSAPSSPrivateKey):   # OpenSSL wants an RSA-PSS key for this cert
            der = _relabel_pss(self.key.private_bytes(serialization.Encoding.DER,
                                                      serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
            lines = base64.encodebytes(der).replace(b"\n", b"")
            body = b"".join(lines[i:i + 64] + b"\n" for i in range(0, len(lines), 64))
            return b"-----BEGIN PRIVATE KEY-----\n" + body + b"-----END PRIVATE KEY-----\n"
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    def chain_der(self) -> list[bytes]:
        """DER certificates, leaf first: the certificate_list of a TLS Certificate message."""
        return list(self._chain_der)

    @functools.cached_property
    def _chain_der(self) -> tuple[bytes, ...]:
        # serialized once per identity: a server sends the same chain in every handshake
        return tuple(c.public_bytes(serialization.Encoding.DER)
                     for c in (self.certificate, *self.chain))


@dataclass(frozen=True)
class LessonPKI:
    """The lesson's PKI: root → intermediate → {rsa_server, ecdsa_server}; root → client."""

    root: Identity
    intermediate: Identity
    rsa_server: Identity
    ecdsa_server: Identity
    client: Identity

    @property
    def trusted(self) -> list[x509.Certificate]:
        """The trust store a lesson client or server uses: just the root."""
        return [self.root.certificate]


# ---------------------------------------------------------------------------------------------
# Making certificates (RFC 5280 §4)
# ---------------------------------------------------------------------------------------------


_CURVES = {"ecdsa": ec.SECP256R1, "ecdsa-p384": ec.SECP384R1, "ecdsa-p521": ec.SECP521R1}
# RSA 2048 and ECDSA P-256 are what TLS servers commonly use; the others are what TLS 1.3 names
# too (RFC 8446 §4.2.3). "rsa-pss": an RSA key in an id-RSASSA-PSS certificate (RFC 4055).
KEY_TYPES = ("rsa", "ecdsa", "ecdsa-p384", "ecdsa-p521", "ed25519", "ed448", "rsa-pss")
EXTRA_KEY_TYPES = KEY_TYPES[2:]                 # not in the shipped lesson PKI


def new_key(key_type: str = "rsa") -> PrivateKey:
    """A new private key of one of ``KEY_TYPES``."""
    if key_type in ("rsa", "rsa-pss"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type]())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ed448":
        return ed448.Ed448PrivateKey.generate()
    raise TLSError(f"unknown key_type {key_type!r}: use one of {', '.join(KEY_TYPES)}")


def is_rsa_pss(cert: x509.Certificate) -> bool:
    """The certificate's key is id-RSASSA-PSS: PSS signatures only (RFC 4055 §1.2)."""
    return cert.public_key_algorithm_oid == PublicKeyAlgorithmOID.RSASSA_PSS


# DER pieces for relabelling an RSA key as id-RSASSA-PSS: cryptography's builders always write
# rsaEncryption. Parameters absent: no restriction on the PSS hash (RFC 4055 §3.1).
_RSA_ENCRYPTION = bytes.fromhex("300d06092a864886f70d0101010500")
_RSASSA_PSS = bytes.fromhex("300b06092a864886f70d01010a")


def _der(tag: int, content: bytes) -> bytes:
    """One DER TLV (X.690 §8.1: short or long definite length)."""
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + content


def _der_split(der: bytes) -> tuple[bytes, bytes]:
    """(the first TLV's content, what follows it)."""
    first = der[1]
    start = 2 if first < 0x80 else 2 + (first & 0x7F)
    n = first if first < 0x80 else int.from_bytes(der[2:start], "big")
    return der[start:start + n], der[start + n:]


def _relabel_pss(der: bytes) -> bytes:
    """A SubjectPublicKeyInfo or PrivateKeyInfo with rsaEncryption made id-RSASSA-PSS."""
    content, _ = _der_split(der)
    return _der(0x30, content.replace(_RSA_ENCRYPTION, _RSASSA_PSS, 1))


def _as_rsa_pss(cert: x509.Certificate, issuer_key) -> x509.Certificate:
    """``cert`` with its subject key relabelled id-RSASSA-PSS, signed again by ``issuer_key``
    (the TBSCertificate changed, so its signature must be made anew; RFC 5280 §4.1)."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    tbs_content, _ = _der_split(cert.tbs_certificate_bytes)
    tbs = _der(0x30, tbs_content.replace(spki, _relabel_pss(spki), 1))
    _, after_tbs = _der_split(_der_split(cert.public_bytes(serialization.Encoding.DER))[0])
    algorithm_id = after_tbs[:len(after_tbs) - len(_der_split(after_tbs)[1])]
    if isinstance(issuer_key, rsa.RSAPrivateKey):
        signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        signature = issuer_key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    else:
        signature = issuer_key.sign(tbs)
    return x509.load_der_x509_certificate(
        _der(0x30, tbs + algorithm_id + _der(0x03, b"\x00" + signature)))


def _subject(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlslesson (lesson only)"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _validity(not_before, not_after) -> tuple[_dt.datetime, _dt.datetime]:
    # A day of slack before "now" so a peer with a slightly slow clock still accepts the cert.
    now = _dt.datetime.now(_dt.timezone.utc)
    return (not_before or now - ONE_DAY, not_after or now + DEFAULT_LIFETIME)


def _key_usage(names: Iterable[str]) -> x509.KeyUsage:
    """KeyUsage from names like {'digital_signature', 'key_cert_sign'} (§4.2.1.3)."""
    flags = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment",
                           "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
                           "encipher_only", "decipher_only"), False)
    for name in names:
        if name not in flags:
            raise TLSError(f"unknown key usage {name!r}; choose from {sorted(flags)}")
        flags[name] = True
    try:
        return x509.KeyUsage(**flags)
    except ValueError as exc:  # encipher_only/decipher_only need key_agreement
        raise TLSError(f"bad key usage: {exc}") from None


def _default_key_usage(key, is_ca: bool, purpose: str | None, rsa_key_encipherment: bool):
    if is_ca:  # a CA signs certificates and CRLs, nothing else
        return {"key_cert_sign", "crl_sign"}
    usage = {"digital_signature"}  # sign ServerKeyExchange / CertificateVerify
    if purpose == "server" and isinstance(key, rsa.RSAPrivateKey) and rsa_key_encipherment:
        usage.add("key_encipherment")  # the client may encrypt the RSA pre-master to this key
    return usage


def _san(dns_names, ip_addresses) -> x509.SubjectAlternativeName | None:
    """§4.2.1.6: the names TLS checks (the CN is not one of them any more: RFC 6125 §6.4.4)."""
    names = [x509.DNSName(d) for d in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    return x509.SubjectAlternativeName(names) if names else None


EKU_FOR_PURPOSE = {"server": ExtendedKeyUsageOID.SERVER_AUTH,
                   "client": ExtendedKeyUsageOID.CLIENT_AUTH}
EKU_NAMES = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
             ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth"}


def _build(subject: x509.Name, public_key, issuer_name: x509.Name, issuer_public_key,
           signing_key, *, is_ca: bool, path_length, key_usage, eku, san,
           not_before, not_after, serial: int | None = None,
           extra_extensions: Iterable[tuple[x509.ExtensionType, bool]] = ()) -> x509.Certificate:
    """Fill in one TBSCertificate and sign it with SHA-256 (§4.1). ``serial`` None: a random
    one; ``extra_extensions``: (value, critical) pairs added last (Certificate Transparency)."""
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key)
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer_name)
               .public_key(public_key)
               .serial_number(x509.random_serial_number() if serial is None else serial)
               .not_valid_before(not_before)
               .not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_length),
                              critical=True)
               .add_extension(ski, critical=False)
               .add_extension(aki, critical=False))
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    for value, critical in extra_extensions:
        builder = builder.add_extension(value, critical=critical)
    eddsa = isinstance(signing_key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
    return builder.sign(signing_key, None if eddsa else hashes.SHA256())   # EdDSA: no hash


def make_ca(common_name: str, key_type: str = "rsa", not_before: _dt.datetime | None = None,
            not_after: _dt.datetime | None = None) -> Identity:
    """A self-signed root CA: subject == issuer, signed with its own key (§3.2)."""
    key = new_key(key_type)
    start, end = _validity(not_before, not_after)
    name = _subject(common_name)
    cert = _build(name, key.public_key(), name, key.public_key(), key, is_ca=True,
                  path_length=None, key_usage=_key_usage({"key_cert_sign", "crl_sign"}),
                  eku=None, san=None, not_before=start, not_after=end)
    return Identity(cert, key, ())


def issue(issuer: Identity, common_name: str, *, key_type: str = "rsa",
          dns_names: Iterable[str] = (), ip_addresses: Iterable = (), is_ca: bool = False,
          purpose: str | None = "server", key_usage: Iterable[str] | None = None,
          not_before: _dt.datetime | None = None, not_after: _dt.datetime | None = None,
          rsa_key_encipherment: bool = True, path_length: int | None = None) -> Identity:
    """A new key and a certificate for it, signed by ``issuer``.

    ``purpose`` "server" adds EKU serverAuth (and, with no names given, SAN localhost +
    127.0.0.1); "client" adds EKU clientAuth; None adds no EKU. ``key_usage`` overrides the
    default KeyUsage bits (names as in ``x509.KeyUsage``; an empty set leaves the extension out).
    """
    if issuer.key is None:
        raise TLSError(f"{_name(issuer.certificate)}: cannot issue without the CA's private key")
    if purpose not in (None, "server", "client"):
        raise TLSError(f"unknown purpose {purpose!r}: use 'server', 'client' or None")
    key = new_key(key_type)
    if key_type == "rsa-pss":
        rsa_key_encipherment = False              # it cannot decrypt (RFC 4055 §1.2)
    if purpose == "server" and not dns_names and not ip_addresses:
        dns_names, ip_addresses = ("localhost",), ("127.0.0.1",)
    if key_usage is None:
        key_usage = _default_key_usage(key, is_ca, purpose, rsa_key_encipherment)
    key_usage = set(key_usage)
    try:
        san = _san(dns_names, ip_addresses)
    except ValueError as exc:
        raise TLSError(f"bad subjectAltName: {exc}") from None
    start, end = _validity(not_before, not_after)
    issuer_cert = issuer.certificate
    cert = _build(_subject(common_name), key.public_key(), issuer_cert.subject,
                  issuer_cert.public_key(), issuer.key, is_ca=is_ca,
                  path_length=path_length if is_ca else None,
                  key_usage=_key_usage(key_usage) if key_usage else None,
                  eku=EKU_FOR_PURPOSE.get(purpose), san=san, not_before=start, not_after=end)
    if key_type == "rsa-pss":
        cert = _as_rsa_pss(cert, issuer.key)
    # The new cert's chain: its issuer, then the issuer's own intermediates; never a root.
    above = () if _self_issued(issuer_cert) else (issuer_cert, *issuer.chain)
    return Identity(cert, key, above)


def make_pki(*, not_before: _dt.datetime | None = None,
             not_after: _dt.datetime | None = None) -> LessonPKI:
    """A fresh lesson PKI (five new keys: takes a fraction of a second for the RSA ones)."""
    start, end = _validity(not_before, not_after)
    when = dict(not_before=start, not_after=end)
    root = make_ca("tlslesson Lesson Root CA", "rsa", **when)
    inter = issue(root, "tlslesson Lesson Intermediate CA", is_ca=True, purpose=None,
                  path_length=0, **when)
    return LessonPKI(
        root=root,
        intermediate=inter,
        rsa_server=issue(inter, "localhost", key_type="rsa", purpose="server", **when),
        ecdsa_server=issue(inter, "localhost", key_type="ecdsa", purpose="server", **when),
        client=issue(root, "lesson client", key_type="rsa", purpose="client", **when),
    )


# file name -> (LessonPKI field, what goes in the file)
PKI_FILES = {
    "ca.crt": ("root", "cert"),
    "intermediate.crt": ("intermediate", "cert"),
    "server.crt": ("rsa_server", "chain"),
    "server.key": ("rsa_server", "key"),
    "server-ecdsa.crt": ("ecdsa_server", "chain"),
    "server-ecdsa.key": ("ecdsa_server", "key"),
    "client.crt": ("client", "chain"),
    "client.key": ("client", "key"),
}
CA_KEY_FILES = {"ca.key": "root", "intermediate.key": "intermediate"}


def _pem(ident: Identity, what: str) -> bytes:
    if what == "cert":
        return ident.cert_pem
    return ident.chain_pem if what == "chain" else ident.key_pem


def write_pki(directory, pki: LessonPKI | None = None, *, include_ca_keys: bool = False,
              extra_key_types=()) -> dict[str, Path]:
    """Write ``pki`` (default: a fresh ``make_pki()``) as PEM files OpenSSL reads directly.

    ``server.crt`` holds the leaf then the intermediate (what nginx, Apache and
    SSL_CTX_use_certificate_chain_file expect). ``openssl s_server -cert`` reads only the first
    certificate of a file, so give it the intermediate again: ``openssl s_server -cert
    server.crt -cert_chain intermediate.crt -key server.key``. The CA keys are written only with
    ``include_ca_keys=True`` (the shipped lesson PKI does, so notebooks can issue certificates).
    ``extra_key_types`` (say ``EXTRA_KEY_TYPES``) adds a server identity of each, issued by the
    intermediate: ``server-<type>.crt`` / ``.key`` (``write_identities``).
    """
    pki = pki or make_pki()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    contents = {filename: _pem(getattr(pki, field), what)
                for filename, (field, what) in PKI_FILES.items()}
    if include_ca_keys:
        contents.update({f: getattr(pki, field).key_pem for f, field in CA_KEY_FILES.items()})
    written = {}
    for filename, data in contents.items():
        path = directory / filename
        path.write_bytes(data)
        written[filename] = path
    if extra_key_types:
        ca = pki.intermediate.certificate
        written.update(write_identities(directory, pki.intermediate, extra_key_types,
                                        not_before=ca.not_valid_before_utc,
                                        not_after=ca.not_valid_after_utc))
    return written


def load_pki(directory) -> LessonPKI:
    """Read back what ``write_pki`` wrote (a Path or an importlib.resources Traversable)."""
    def read(name: str) -> bytes:
        try:
            return directory.joinpath(name).read_bytes()
        except OSError as exc:
            raise TLSError(f"cannot read {name}: {exc.strerror or exc}") from None

    def identity(cert_file: str, key_file: str | None) -> Identity:
        leaf, *chain = load_pem_chain(read(cert_file))
        key = None
        if key_file is not None and directory.joinpath(key_file).is_file():
            key = load_private_key(read(key_file))
        return Identity(leaf, key, tuple(chain))

    directory = Path(directory) if isinstance(directory, str) else directory
    return LessonPKI(
        root=identity("ca.crt", "ca.key"),
        intermediate=identity("intermediate.crt", "intermediate.key"),
        rsa_server=identity("server.crt", "server.key"),
        ecdsa_server=identity("server-ecdsa.crt", "server-ecdsa.key"),
        client=identity("client.crt", "client.key"),
    )


def write_identities(directory, issuer: Identity, key_types=EXTRA_KEY_TYPES,
                     **options) -> dict[str, Path]:
    """Issue a localhost server identity per key type from ``issuer`` and write
    ``server-<type>.crt`` (leaf then intermediates) and ``server-<type>.key``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for key_type in key_types:
        ident = issue(issuer, "localhost", key_type=key_type, purpose="server", **options)
        for suffix, data in (("crt", ident.chain_pem), ("key", ident.key_pem)):
            path = directory / f"server-{key_type}.{suffix}"
            path.write_bytes(data)
            written[path.name] = path
    return written


@functools.lru_cache(maxsize=None)
def lesson_identity(key_type: str) -> Identity:
    """A lesson server identity of any of ``KEY_TYPES``: the shipped ones for "rsa" and
    "ecdsa"; the others issued by the lesson intermediate at first use (then cached), so the
    shipped files (and every notebook output) stay as they are."""
    lesson = lesson_pki()
    if key_type in ("rsa", "ecdsa"):
        return lesson.rsa_server if key_type == "rsa" else lesson.ecdsa_server
    return issue(lesson.intermediate, "localhost", key_type=key_type, purpose="server",
                 not_before=LESSON_NOT_BEFORE, not_after=LESSON_NOT_AFTER)


@functools.lru_cache(maxsize=None)
def lesson_pki() -> LessonPKI:
    """The fixed lesson PKI shipped in ``tlslesson/data/lesson-pki/`` (loaded once, cached).

    Its private keys are public: they are for lessons on 127.0.0.1, never for real use.
    """
    return load_pki(resources.files("tlslesson").joinpath(*LESSON_PKI_DIR))


# ---------------------------------------------------------------------------------------------
# Loading certificates and keys: every failure becomes a DecodeError
# ---------------------------------------------------------------------------------------------


def _as_bytes(data, what: str) -> bytes:
    if isinstance(data, str):
        data = data.encode("ascii", "replace")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(what, 0, f"expected bytes, got {type(data).__name__}")
    return bytes(data)


def load_der_certificate(der: bytes) -> x509.Certificate:
    """One DER certificate, as carried in a TLS Certificate message.

    cryptography parses extensions only when asked; we ask here, so a malformed extension is
    reported as a decode error now rather than as a surprise in the middle of validation.
    """
    return _parse_der_certificate(_as_bytes(der, "certificate"))


@contextlib.contextmanager
def _quietly():
    """cryptography only warns about some malformed fields today — a zero or negative serial number,
    a countryName that is not two letters — where it will raise later. The tamper lab makes such
    certificates on purpose, and validation rejects them (their signature no longer verifies), so
    the warnings stay out of the notebook."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        warnings.filterwarnings("ignore", "Attribute's length must be", UserWarning)
        yield


@functools.lru_cache(maxsize=256)
def _parse_der_certificate(der: bytes) -> x509.Certificate:
    # Cached by the exact bytes: a parsed certificate is immutable, and a client meets the same
    # server and intermediate certificates again and again (browsers cache them too).
    try:
        with _quietly():
            cert = x509.load_der_x509_certificate(der)
            # force the lazy parses (names too: an unknown string tag raises KeyError there)
            cert.extensions, cert.subject, cert.issuer  # noqa: B018
    except Exception as exc:  # ValueError, DuplicateExtension, ...: all mean "bad bytes"
        raise DecodeError("certificate", 0, _one_line(exc)) from None
    return cert


_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def load_pem_chain(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM file, in file order (leaf first for a server.crt)."""
    data = _as_bytes(data, "certificate")
    blocks = _PEM_CERT.findall(data)
    if not blocks:
        raise DecodeError("certificate", 0, "no PEM CERTIFICATE block found")
    certs = []
    for block in blocks:
        try:
            with _quietly():
                cert = x509.load_pem_x509_certificate(block)
                cert.extensions, cert.subject, cert.issuer  # noqa: B018 - see load_der_certificate
        except Exception as exc:
            raise DecodeError("certificate", data.find(block), _one_line(exc)) from None
        certs.append(cert)
    return certs


def load_private_key(data: bytes) -> PrivateKey:
    """An unencrypted private key, PEM (any of PKCS#8, PKCS#1, SEC1) or DER."""
    data = _as_bytes(data, "private key")
    try:
        if data.lstrip().startswith(b"-----"):
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise DecodeError("private key", 0, _one_line(exc)) from None


SYSTEM_BUNDLE_FALLBACK = "/etc/ssl/certs/ca-certificates.crt"


@functools.lru_cache(maxsize=1)
def _system_trust() -> tuple[x509.Certificate, ...]:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, SYSTEM_BUNDLE_FALLBACK):
        if candidate and Path(candidate).is_file():
            data = Path(candidate).read_bytes()
            break
    else:
        return ()
    certs = []
    with warnings.catch_warnings():  # old roots with odd serials only earn a deprecation note
        warnings.simplefilter("ignore")
        for block in _PEM_CERT.findall(data):
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue  # a root cryptography can't parse can't anchor our chains either
    return tuple(certs)


def load_system_trust() -> list[x509.Certificate]:
    """The system's CA bundle (what OpenSSL trusts by default); [] if none is installed."""
    return list(_system_trust())


# ---------------------------------------------------------------------------------------------
# Checking certificates (RFC 5280 §6, RFC 6125 for names)
# ---------------------------------------------------------------------------------------------

STEP_CHAIN = "chain building / trust anchor"
STEP_SIGNATURE = "signature"
STEP_VALIDITY = "validity period"
STEP_BASIC_CONSTRAINTS = "basic constraints"
STEP_KEY_USAGE = "key usage"
STEP_EKU = "extended key usage"
STEP_NAME = "name"
STEPS = (STEP_CHAIN, STEP_SIGNATURE, STEP_VALIDITY, STEP_BASIC_CONSTRAINTS, STEP_KEY_USAGE,
         STEP_EKU, STEP_NAME)

# Which alert a real stack sends for each failure. Source: OpenSSL ssl/statem/statem_lib.c,
# table `x509table` used by ssl_x509err2alert() (X509_V_ERR_* -> SSL_AD_*). The numbers are
# the X509_V_ERR_* codes of OpenSSL 3 (include/openssl/x509_vfy.h), so a test can compare them
# with `openssl verify`'s "error N" (OpenSSL 1.1 numbered INVALID_CA 24; 3.0 renumbered it 79).
AD = AlertDescription
OPENSSL_ERRORS: dict[str, tuple[int, AlertDescription]] = {
    "X509_V_ERR_CERT_SIGNATURE_FAILURE": (7, AD.decrypt_error),
    "X509_V_ERR_CERT_NOT_YET_VALID": (9, AD.bad_certificate),
    "X509_V_ERR_CERT_HAS_EXPIRED": (10, AD.certificate_expired),
    "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT": (18, AD.unknown_ca),
    "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN": (19, AD.unknown_ca),
    "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY": (20, AD.unknown_ca),
    "X509_V_ERR_CERT_CHAIN_TOO_LONG": (22, AD.unknown_ca),
    "X509_V_ERR_INVALID_CA": (79, AD.unknown_ca),
    "X509_V_ERR_PATH_LENGTH_EXCEEDED": (25, AD.unknown_ca),
    "X509_V_ERR_INVALID_PURPOSE": (26, AD.unsupported_certificate),
    "X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY": (6, AD.bad_certificate),
    "X509_V_ERR_HOSTNAME_MISMATCH": (62, AD.bad_certificate),
    "X509_V_ERR_IP_ADDRESS_MISMATCH": (64, AD.bad_certificate),
    # Not in x509table, so ssl_x509err2alert() falls through to its last entry.
    "X509_V_ERR_INVALID_EXTENSION": (41, AD.certificate_unknown),
    # Not an X509 error: the TLS 1.2 client's own check that an RSA key-exchange server can
    # decrypt (OpenSSL 1.1 ssl/statem/statem_clnt.c ssl3_check_cert_and_algorithm():
    # SSL_R_MISSING_RSA_ENCRYPTING_CERT with al = SSL_AD_HANDSHAKE_FAILURE).
    "SSL_R_MISSING_RSA_ENCRYPTING_CERT": (0, AD.handshake_failure),
}


def _fail(step: str, reason: str, openssl_error: str) -> CertificateError:
    err = CertificateError(step, reason, OPENSSL_ERRORS[openssl_error][1])
    err.openssl_error = openssl_error  # the name OpenSSL gives the same failure
    return err


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ValidationReport:
    """The path that was checked (leaf → trust anchor) and every step done, in order."""

    path: tuple[x509.Certificate, ...]
    steps: tuple[Step, ...]

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def __str__(self) -> str:
        lines = ["path: " + " -> ".join(_name(c) for c in self.path)]
        lines += [f"  [{'ok' if s.ok else 'FAILED'}] {s.name}: {s.detail}" for s in self.steps]
        return "\n".join(lines)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


# cryptography builds new Python objects (Name, each extension) every time a certificate is asked
# for its subject, issuer or extensions, and a client, a server or a capture sees the same few
# certificates again and again: what is read from a certificate's contents alone is kept for the
# last 512 of them (keyed by the certificate, which hashes and compares by its DER bytes).
_CERTIFICATE_CACHE = 512


@functools.lru_cache(maxsize=_CERTIFICATE_CACHE)
def _name(cert: x509.Certificate) -> str:
    """The CN, or the whole subject when there is no CN: how the report names a certificate."""
    try:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return f"'{cns[0].value}'" if cns else cert.subject.rfc4514_string()
    except ValueError:
        return "<unreadable subject>"


@functools.lru_cache(maxsize=_CERTIFICATE_CACHE)
def _extensions_by_oid(cert: x509.Certificate) -> dict:
    """Every extension's value by its OID (cryptography parses them here, lazily: a malformed one
    raises, and nothing is kept)."""
    return {ext.oid: ext.value for ext in cert.extensions}


def _extension(cert: x509.Certificate, ext_type, step: str):
    """One extension's value or None; a malformed extension fails ``step``."""
    try:
        return _extensions_by_oid(cert).get(ext_type.oid)
    except Exception as exc:  # cryptography parses extensions lazily, here
        raise _fail(step, f"{_name(cert)} has a malformed extension: {_one_line(exc)}",
                    "X509_V_ERR_INVALID_EXTENSION") from None


def _public_key(cert: x509.Certificate, step: str):
    try:
        return cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise _fail(step, f"{_name(cert)}: unreadable public key: {_one_line(exc)}",
                    "X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY") from None


def _key_id(cert: x509.Certificate, ext_type):
    ext = _extension(cert, ext_type, STEP_CHAIN)
    if ext is None:
        return None
    return ext.key_identifier if ext_type is x509.AuthorityKeyIdentifier else ext.digest


@functools.lru_cache(maxsize=_CERTIFICATE_CACHE)
def _could_issue(issuer: x509.Certificate, cert: x509.Certificate) -> bool:
    """§6.1: issuer's subject is cert's issuer; when both key identifiers exist they agree."""
    if issuer.subject != cert.issuer:
        return False
    aki = _key_id(cert, x509.AuthorityKeyIdentifier)
    ski = _key_id(issuer, x509.SubjectKeyIdentifier)
    return aki is None or ski is None or aki == ski


def _self_issued(cert: x509.Certificate) -> bool:
    return _could_issue(cert, cert)


@functools.lru_cache(maxsize=256)
def _signature_bits_ok(cert: x509.Certificate) -> bool:
    # The signature BIT STRING ends the DER; OpenSSL (ASN1_item_verify: "invalid bit string bits
    # left") rejects one with unused bits, cryptography does not look at that byte.
    return cert.public_bytes(serialization.Encoding.DER)[-len(cert.signature) - 1] == 0


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if not _signature_bits_ok(cert):
        return False
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False


MAX_PATH_LENGTH = 10  # certificates; OpenSSL's default depth limit is 100, real paths are 2-4


def check_chain_building(path: list, pool: list, trusted: list) -> str:
    """Walk from the leaf to a trusted certificate, choosing each issuer by name (and key id).

    ``path`` starts as [leaf] and grows in place, so a failure still shows how far we got.
    Trusted certificates are preferred to ones the peer sent (the peer may send a root; we
    only believe our own copy).
    """
    while not any(path[-1] == t for t in trusted):
        cert = path[-1]
        if len(path) > MAX_PATH_LENGTH:
            raise _fail(STEP_CHAIN, f"path longer than {MAX_PATH_LENGTH} certificates",
                        "X509_V_ERR_CERT_CHAIN_TOO_LONG")
        candidates = ([t for t in trusted if _could_issue(t, cert)]
                      or [c for c in pool if c not in path and _could_issue(c, cert)])
        if not candidates:
            if _self_issued(cert):  # a root, but not one of ours
                where = "the leaf" if len(path) == 1 else "a certificate in the chain"
                code = ("X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT" if len(path) == 1
                        else "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN")
                raise _fail(STEP_CHAIN, f"{where} {_name(cert)} is self-signed and not trusted",
                            code)
            raise _fail(STEP_CHAIN, f"no trusted or sent certificate issued {_name(cert)} "
                        f"(issuer {cert.issuer.rfc4514_string()})",
                        "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY")
        # Several CAs with one name (e.g. a re-keyed CA): the signature decides.
        if len(candidates) > 1:
            candidates = [c for c in candidates if _signed_by(cert, c)] or candidates
        path.append(candidates[0])
    return " -> ".join(_name(c) for c in path) + " (trusted)"


def check_signatures(path: list) -> str:
    """Each certificate is signed by the next one's key. The anchor's own signature is not
    checked: we trust it because it is in our store, not because of what it says."""
    for depth, (cert, issuer) in enumerate(zip(path, path[1:])):
        _public_key(issuer, STEP_SIGNATURE)  # an unreadable key gets its own message
        if not _signed_by(cert, issuer):
            raise _fail(STEP_SIGNATURE, f"signature on {_name(cert)} (depth {depth}) does not "
                        f"verify with the key of {_name(issuer)}",
                        "X509_V_ERR_CERT_SIGNATURE_FAILURE")
    links = len(path) - 1
    return f"{links} signature{'s' * (links != 1)} verified"


def check_validity(path: list, now: _dt.datetime) -> str:
    """notBefore <= now <= notAfter for every certificate, the anchor included (§4.1.2.5)."""
    for depth, cert in enumerate(path):
        if now < cert.not_valid_before_utc:
            raise _fail(STEP_VALIDITY, f"{_name(cert)} (depth {depth}) is not valid before "
                        f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M:%SZ}",
                        "X509_V_ERR_CERT_NOT_YET_VALID")
        if now > cert.not_valid_after_utc:
            raise _fail(STEP_VALIDITY, f"{_name(cert)} (depth {depth}) expired at "
                        f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M:%SZ}",
                        "X509_V_ERR_CERT_HAS_EXPIRED")
    return f"all {len(path)} certificates valid at {now:%Y-%m-%d %H:%M:%SZ}"


def check_basic_constraints(path: list) -> str:
    """Every issuer says CA:TRUE (§4.2.1.9), and no CA has more CAs below it than its
    pathLenConstraint allows (the leaf does not count)."""
    for depth, issuer in enumerate(path[1:], start=1):
        bc = _extension(issuer, x509.BasicConstraints, STEP_BASIC_CONSTRAINTS)
        if bc is None or not bc.ca:
            raise _fail(STEP_BASIC_CONSTRAINTS, f"{_name(issuer)} signed a certificate but is "
                        "not a CA (no basicConstraints CA:TRUE)", "X509_V_ERR_INVALID_CA")
        cas_below = depth - 1
        if bc.path_length is not None and cas_below > bc.path_length:
            raise _fail(STEP_BASIC_CONSTRAINTS, f"{_name(issuer)} allows pathLen "
                        f"{bc.path_length} but has {cas_below} CA(s) below it",
                        "X509_V_ERR_PATH_LENGTH_EXCEEDED")
    return f"{len(path) - 1} issuer(s) are CAs; path lengths respected"


def check_key_usage(path: list, rsa_key_exchange: bool) -> str:
    """§4.2.1.3: issuers may sign certificates (keyCertSign); the leaf key may sign
    (digitalSignature), or, for TLS 1.2 RSA key exchange, may decrypt (keyEncipherment).
    A certificate without the extension may be used for anything."""
    for issuer in path[1:]:
        ku = _extension(issuer, x509.KeyUsage, STEP_KEY_USAGE)
        if ku is not None and not ku.key_cert_sign:
            raise _fail(STEP_KEY_USAGE, f"{_name(issuer)} signed a certificate without "
                        "keyCertSign", "X509_V_ERR_INVALID_CA")
    leaf = path[0]
    ku = _extension(leaf, x509.KeyUsage, STEP_KEY_USAGE)
    if ku is None:
        return "issuers may sign certificates; leaf has no keyUsage (any use)"
    if rsa_key_exchange and isinstance(_public_key(leaf, STEP_KEY_USAGE), rsa.RSAPublicKey):
        if not ku.key_encipherment:
            raise _fail(STEP_KEY_USAGE, f"{_name(leaf)} lacks keyEncipherment, needed to "
                        "receive an RSA-encrypted pre-master secret",
                        "SSL_R_MISSING_RSA_ENCRYPTING_CERT")
        return "issuers may sign certificates; leaf has keyEncipherment"
    # Stricter than `openssl verify -purpose sslserver`, which also takes keyEncipherment or
    # keyAgreement here; TLS needs a signature from the leaf whenever the key exchange isn't RSA.
    if not ku.digital_signature:
        raise _fail(STEP_KEY_USAGE, f"{_name(leaf)} lacks digitalSignature",
                    "X509_V_ERR_INVALID_PURPOSE")
    return "issuers may sign certificates; leaf has digitalSignature"


def check_extended_key_usage(path: list, purpose: str) -> str:
    """§4.2.1.12: if the leaf lists its purposes, ours must be one. Like OpenSSL, an issuer
    that lists purposes must list ours too."""
    wanted = EKU_FOR_PURPOSE[purpose]
    for depth, cert in enumerate(path):
        eku = _extension(cert, x509.ExtendedKeyUsage, STEP_EKU)
        if eku is not None and wanted not in eku:
            raise _fail(STEP_EKU, f"{_name(cert)} (depth {depth}) is not for {EKU_NAMES[wanted]}",
                        "X509_V_ERR_INVALID_PURPOSE")
    return f"leaf may be used for {EKU_NAMES[wanted]}"


def _dns_matches(pattern: str, host: str) -> bool:
    """RFC 6125 §6.4.3: exact match, or '*' as the whole left-most label of a name with at
    least two more labels ('*.example.com' matches 'www.example.com', not 'a.b.example.com')."""
    pattern = pattern.lower().rstrip(".")
    if pattern == host:
        return True
    if not pattern.startswith("*.") or pattern.count(".") < 2:
        return False
    first, _, rest = host.partition(".")
    return bool(first) and rest == pattern[2:]


def ip_literal(hostname: str):
    """The address if ``hostname`` is an IPv4 or IPv6 literal, else None. A name that neither
    starts with a digit nor has a colon cannot be one: it skips ipaddress's two failed parses
    (most names we check are DNS names)."""
    if not hostname or not (hostname[0].isdigit() or ":" in hostname):
        return None
    try:
        return ipaddress.ip_address(hostname)
    except ValueError:
        return None


def check_name(leaf: x509.Certificate, hostname: str) -> str:
    """The name we connected to is in subjectAltName: a DNS name, or an IP address when we
    connected to an address (RFC 6125 §6; the CN is not checked: RFC 6125 §6.4.4 / RFC 9525)."""
    san = _extension(leaf, x509.SubjectAlternativeName, STEP_NAME)
    address = ip_literal(hostname)
    if address is not None:
        ips = san.get_values_for_type(x509.IPAddress) if san else []
        if address in ips:
            return f"{hostname} matches SAN IP:{address}"
        raise _fail(STEP_NAME, f"{hostname} is not among the SAN IP addresses "
                    f"{[str(i) for i in ips]}", "X509_V_ERR_IP_ADDRESS_MISMATCH")
    host = hostname.lower().rstrip(".")
    dns = san.get_values_for_type(x509.DNSName) if san else []
    for pattern in dns:
        if _dns_matches(pattern, host):
            return f"{hostname} matches SAN DNS:{pattern}"
    raise _fail(STEP_NAME, f"{hostname} is not among the SAN DNS names {dns}"
                + ("" if san else " (no subjectAltName; the CN is not checked)"),
                "X509_V_ERR_HOSTNAME_MISMATCH")


def validate_chain(chain: list, trusted: list, *, hostname: str | None,
                   purpose: str = "server", now: _dt.datetime | None = None,
                   rsa_key_exchange: bool = False) -> ValidationReport:
    """Validate a peer's certificate list; return the report or raise ``CertificateError``.

    ``chain[0]`` is the peer's own certificate; the rest is whatever it sent (any order, extra
    certificates, maybe the root). ``hostname`` None skips the name step (a server checking a
    client). The raised error carries ``.step``, ``.alert``, ``.openssl_error`` and ``.report``
    (the steps that passed, then the one that failed).
    """
    if purpose not in EKU_FOR_PURPOSE:
        raise TLSError(f"unknown purpose {purpose!r}: use 'server' or 'client'")
    chain = [c if isinstance(c, x509.Certificate) else load_der_certificate(c) for c in chain]
    now = now or _dt.datetime.now(_dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=_dt.timezone.utc)  # a naive time is taken as UTC
    path: list[x509.Certificate] = chain[:1]
    checks = [
        (STEP_CHAIN, lambda: check_chain_building(path, chain[1:], trusted)),
        (STEP_SIGNATURE, lambda: check_signatures(path)),
        (STEP_VALIDITY, lambda: check_validity(path, now)),
        (STEP_BASIC_CONSTRAINTS, lambda: check_basic_constraints(path)),
        (STEP_KEY_USAGE, lambda: check_key_usage(path, rsa_key_exchange)),
        (STEP_EKU, lambda: check_extended_key_usage(path, purpose)),
    ]
    if hostname is not None:
        checks.append((STEP_NAME, lambda: check_name(path[0], hostname)))
    steps: list[Step] = []
    try:
        if not chain:
            err = CertificateError(STEP_CHAIN, "the peer sent no certificate",
                                   AD.certificate_required if purpose == "client"
                                   else AD.decode_error)
            err.openssl_error = None
            raise err
        for name, check in checks:
            steps.append(Step(name, True, check()))
    except CertificateError as err:
        steps.append(Step(err.step, False, err.reason))
        err.report = ValidationReport(tuple(path), tuple(steps))
        raise
    return ValidationReport(tuple(path), tuple(steps))


# ---------------------------------------------------------------------------------------------
# For the notebooks
# ---------------------------------------------------------------------------------------------

_KU_NAMES = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign")


def _key_description(key) -> tuple[str, int]:
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size   # (RSA-PSS: see is_rsa_pss)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {key.curve.name}", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(key).__name__, 0


def _serial_hex(cert: x509.Certificate) -> str:
    with _quietly():            # a tampered serial may be zero or negative
        return f"{cert.serial_number:x}"


def describe(cert: x509.Certificate) -> dict:
    """The fields a student looks at first, as plain Python values."""
    try:
        key_type, key_size = _key_description(cert.public_key())
        san = _extension(cert, x509.SubjectAlternativeName, "describe")
        ku = _extension(cert, x509.KeyUsage, "describe")
        eku = _extension(cert, x509.ExtendedKeyUsage, "describe")
        bc = _extension(cert, x509.BasicConstraints, "describe")
        return {
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "serial": _serial_hex(cert),
            "not_before": cert.not_valid_before_utc,
            "not_after": cert.not_valid_after_utc,
            "public_key": key_type,
            "key_size": key_size,
            "san": ([f"DNS:{d}" for d in san.get_values_for_type(x509.DNSName)]
                    + [f"IP:{i}" for i in san.get_values_for_type(x509.IPAddress)]) if san else [],
            "key_usage": [n for n in _KU_NAMES if getattr(ku, n)] if ku else [],
            "extended_key_usage": [EKU_NAMES.get(o, o.dotted_string) for o in eku] if eku else [],
            "is_ca": bool(bc and bc.ca),
            "path_length": bc.path_length if bc else None,
            "sha256": cert.fingerprint(hashes.SHA256()).hex(),
        }
    except CertificateError as exc:
        raise DecodeError("certificate", 0, exc.reason) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise DecodeError("certificate", 0, _one_line(exc)) from None


# ---------------------------------------------------------------------------------------------
# Inside a certificate: the CA's signature by hand (RFC 5280 §4.1.1.3)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureCheck:
    """What ``tbs_signature_check`` did: which hash over how many bytes, the digest, the verdict.
    True when the signature verified."""

    ok: bool
    algorithm: str          # "SHA-256 then RSASSA-PKCS1-v1_5", "SHA-256 then ECDSA", "Ed25519"
    tbs_length: int         # bytes of TBSCertificate that were hashed (or signed, for EdDSA)
    digest: bytes           # the hash of the TBSCertificate; b"" for EdDSA, which hashes inside
    detail: str

    def __bool__(self) -> bool:
        return self.ok


def _issuer_certificate(issuer) -> x509.Certificate:
    return issuer.certificate if isinstance(issuer, Identity) else issuer


def tbs_signature_check(cert: x509.Certificate, issuer) -> SignatureCheck:
    """Check the CA's signature on ``cert`` by hand: hash its TBSCertificate with the hash the
    certificate names, then verify the signature over that digest with the public key of
    ``issuer`` (a certificate or an ``Identity``). RFC 5280 §4.1.1.3: the signature covers the
    DER of the TBSCertificate — not the outer SEQUENCE, not the signature fields after it.

    ``check_signatures`` (a step of ``validate_chain``) asks cryptography to do the same in one
    call (``verify_directly_issued_by``); here each piece is in sight, and a test holds the two
    to the same verdicts.
    """
    tbs = cert.tbs_certificate_bytes
    key = _issuer_certificate(issuer).public_key()
    whose = f"the key of {_name(_issuer_certificate(issuer))}"
    hash_algorithm = cert.signature_hash_algorithm          # None for Ed25519 / Ed448
    if not _signature_bits_ok(cert):
        return SignatureCheck(False, "", len(tbs), b"", "the signature BIT STRING claims unused "
                              "bits (OpenSSL: invalid bit string bits left)")
    if hash_algorithm is None:
        name = type(key).__name__.replace("PublicKey", "").lstrip("_")
        try:
            key.verify(cert.signature, tbs)                  # EdDSA signs the message itself
            return SignatureCheck(True, name, len(tbs), b"", f"{name} signature over the "
                                  f"{len(tbs)}-byte TBSCertificate verifies with {whose}")
        except (InvalidSignature, AttributeError, TypeError) as exc:
            return SignatureCheck(False, name, len(tbs), b"",
                                  f"{name}: {_one_line(exc) or 'signature does not verify'}")
    digest = hashes.Hash(hash_algorithm)
    digest.update(tbs)
    digest = digest.finalize()
    params = cert.signature_algorithm_parameters            # PKCS1v15(), PSS(...) or ECDSA(hash)
    prehashed = Prehashed(hash_algorithm)
    hash_name = _hash_label(hash_algorithm)
    try:
        if isinstance(key, rsa.RSAPublicKey) and isinstance(params, padding.AsymmetricPadding):
            scheme = "RSASSA-PSS" if isinstance(params, padding.PSS) else "RSASSA-PKCS1-v1_5"
            key.verify(cert.signature, digest, params, prehashed)
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(params, ec.ECDSA):
            scheme = "ECDSA"
            key.verify(cert.signature, digest, ec.ECDSA(prehashed))
        else:
            return SignatureCheck(False, hash_name, len(tbs), digest,
                                  f"the certificate says {cert.signature_algorithm_oid.dotted_string}"
                                  f", but the issuer's key is {_key_description(key)[0]}")
    except InvalidSignature:
        return SignatureCheck(False, f"{hash_name} then {scheme}", len(tbs), digest,
                              f"the signature does not verify over this digest with {whose}")
    return SignatureCheck(True, f"{hash_name} then {scheme}", len(tbs), digest,
                          f"{scheme} signature over {hash_name}(TBSCertificate, {len(tbs)} bytes) "
                          f"verifies with {whose}")


def _hash_label(algorithm) -> str:
    """sha256 -> "SHA-256", sha1 -> "SHA-1" (sha3-256 stays SHA3-256)."""
    name = algorithm.name.upper()
    return name if name.startswith("SHA3") else name.replace("SHA", "SHA-", 1)


def _spki_der(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def _public_key_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING's bits (the unused-bits byte dropped): what OCSP's
    issuerKeyHash hashes (RFC 6960 §4.1.1)."""
    algorithm_and_key, _ = _der_split(_spki_der(cert))      # SubjectPublicKeyInfo's content
    _, bit_string = _der_split(algorithm_and_key)           # after the AlgorithmIdentifier
    bits, _ = _der_split(bit_string)
    return bits[1:]


def _verify(key, signature: bytes, data: bytes, hash_algorithm) -> None:
    """Verify a signature made the way our CAs sign (PKCS#1 v1.5, ECDSA or EdDSA); raises
    InvalidSignature."""
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(hash_algorithm))
    else:
        key.verify(signature, data)


def _sign(key, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        try:                       # RFC 6979: the same bytes every run (OpenSSL 3.2 and later)
            return key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        except UnsupportedAlgorithm:
            return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data)


# ---------------------------------------------------------------------------------------------
# Revocation: a CRL (RFC 5280 §5) and OCSP (RFC 6960)
# ---------------------------------------------------------------------------------------------


def revocation_list(issuer: Identity, revoked: Iterable[tuple[x509.Certificate, _dt.datetime]]
                    = (), *, this_update: _dt.datetime, next_update: _dt.datetime,
                    reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise,
                    ) -> x509.CertificateRevocationList:
    """A CRL signed by ``issuer``: the serial numbers of the certificates it has revoked, each
    with the time (and ``reason``), valid from ``this_update`` to ``next_update`` (RFC 5280 §5.1).
    Deterministic for RSA and ECDSA CAs (the times are arguments, the signature is too)."""
    if issuer.key is None:
        raise TLSError(f"{_name(issuer.certificate)}: cannot sign a CRL without the CA's key")
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(issuer.certificate.subject)
               .last_update(this_update)
               .next_update(next_update)
               .add_extension(x509.CRLNumber(1), critical=False))
    for cert, when in revoked:
        entry = (x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
                 .revocation_date(when))
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    eddsa = isinstance(issuer.key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
    return builder.sign(issuer.key, None if eddsa else hashes.SHA256())


OCSP_STATUS = {"good": ocsp.OCSPCertStatus.GOOD, "revoked": ocsp.OCSPCertStatus.REVOKED,
               "unknown": ocsp.OCSPCertStatus.UNKNOWN}
STEP_OCSP_STATUS = "OCSP response status"
STEP_OCSP_CERT_ID = "OCSP certificate ID"
STEP_OCSP_SIGNATURE = "OCSP responder signature"
STEP_OCSP_FRESHNESS = "OCSP freshness"


def ocsp_response(cert: x509.Certificate, issuer: Identity, *, status: str = "good",
                  this_update: _dt.datetime, next_update: _dt.datetime | None = None,
                  revoked_at: _dt.datetime | None = None,
                  reason: x509.ReasonFlags | None = None) -> bytes:
    """A DER OCSPResponse (RFC 6960 §4.2.1) saying ``status`` ("good", "revoked", "unknown")
    about ``cert``, signed by the CA that issued it (§4.2.2.2 lets the issuing CA answer for
    its own certificates). The CertID hashes the issuer with SHA-1, as RFC 5019 §2.2.1 and
    practically every responder do; the response is signed with SHA-256.

    cryptography stamps producedAt with the moment of signing, so the bytes differ from run to
    run; every time that a client checks (thisUpdate, nextUpdate, revocationTime) is an argument.
    """
    if status not in OCSP_STATUS:
        raise TLSError(f"unknown OCSP status {status!r}: use one of {', '.join(OCSP_STATUS)}")
    if issuer.key is None:
        raise TLSError(f"{_name(issuer.certificate)}: cannot sign OCSP without the CA's key")
    if status == "revoked" and revoked_at is None:
        revoked_at = this_update
    builder = (ocsp.OCSPResponseBuilder()
               .add_response(cert, issuer.certificate, hashes.SHA1(), OCSP_STATUS[status],
                             this_update, next_update,
                             revoked_at if status == "revoked" else None,
                             reason if status == "revoked" else None)
               .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.certificate))
    eddsa = isinstance(issuer.key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
    response = builder.sign(issuer.key, None if eddsa else hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class OCSPCheck:
    """What a client learns from a valid OCSP response: the status and the steps that made it
    believe the response."""

    status: str                              # "good", "revoked" or "unknown"
    this_update: _dt.datetime
    next_update: _dt.datetime | None
    revoked_at: _dt.datetime | None
    reason: str | None
    steps: tuple[Step, ...]

    @property
    def alert(self) -> AlertDescription | None:
        """The alert a client sends on this answer: none for good, certificate_revoked (44)
        for revoked, certificate_unknown (46) when the responder doesn't know the certificate."""
        return {"good": None, "revoked": AD.certificate_revoked,
                "unknown": AD.certificate_unknown}[self.status]

    def __str__(self) -> str:
        lines = [f"  [{'ok' if s.ok else 'FAILED'}] {s.name}: {s.detail}" for s in self.steps]
        extra = (f" since {self.revoked_at:%Y-%m-%d %H:%M:%SZ} ({self.reason})"
                 if self.status == "revoked" else "")
        return "\n".join(lines + [f"status: {self.status}{extra}"])


def _ocsp_fail(step: str, reason: str, steps: list) -> CertificateError:
    err = CertificateError(step, reason, AD.bad_certificate_status_response)
    err.openssl_error = None
    steps.append(Step(step, False, reason))
    err.report = ValidationReport((), tuple(steps))
    return err


def check_ocsp_response(der: bytes, cert: x509.Certificate, issuer, *,
                        now: _dt.datetime) -> OCSPCheck:
    """Believe an OCSP response about ``cert`` only after these steps (RFC 6960 §3.2):

    1. the responder answered ("successful", §4.2.1);
    2. the answer is about this certificate: serial number, and the SHA-1 (or other) hashes of
       the issuer's name and key in the CertID (§4.1.1);
    3. it is signed by the issuer's key (this package's responder is the CA itself;
       a delegated responder with id-kp-OCSPSigning, §4.2.2.2, is refused here);
    4. it is fresh: thisUpdate <= now <= nextUpdate (§4.2.2.1).

    Returns an ``OCSPCheck`` (the status, good or revoked, and the steps); a response that fails
    a step raises ``CertificateError`` with alert bad_certificate_status_response (113), the one
    RFC 6066 §8 names for a bad stapled response.
    """
    issuer_cert = _issuer_certificate(issuer)
    steps: list[Step] = []
    try:
        response = ocsp.load_der_ocsp_response(_as_bytes(der, "OCSP response"))
    except ValueError as exc:
        raise _ocsp_fail(STEP_OCSP_STATUS, f"not an OCSP response: {_one_line(exc)}",
                         steps) from None
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise _ocsp_fail(STEP_OCSP_STATUS, f"the responder said {response.response_status.name}",
                         steps)
    steps.append(Step(STEP_OCSP_STATUS, True, "successful, with a BasicOCSPResponse"))

    algorithm = response.hash_algorithm
    name_hash = hashes.Hash(algorithm)
    name_hash.update(issuer_cert.subject.public_bytes())
    key_hash = hashes.Hash(algorithm)
    key_hash.update(_public_key_bits(issuer_cert))
    if response.serial_number != cert.serial_number:
        raise _ocsp_fail(STEP_OCSP_CERT_ID, f"the response is about serial "
                         f"{response.serial_number:x}, not {cert.serial_number:x}", steps)
    if (response.issuer_name_hash, response.issuer_key_hash) != (name_hash.finalize(),
                                                                 key_hash.finalize()):
        raise _ocsp_fail(STEP_OCSP_CERT_ID, f"the response's issuer hashes are not those of "
                         f"{_name(issuer_cert)}", steps)
    steps.append(Step(STEP_OCSP_CERT_ID, True, f"serial {cert.serial_number:x}, issuer "
                      f"{_name(issuer_cert)} ({_hash_label(algorithm)} of its name and key)"))

    # ResponderID: the responder's name, or the SHA-1 of its key's bits (RFC 6960 §4.2.1)
    if (response.responder_name != issuer_cert.subject
            and response.responder_key_hash != _sha1(_public_key_bits(issuer_cert))):
        raise _ocsp_fail(STEP_OCSP_SIGNATURE, "the responder is not the issuing CA (delegated "
                         "responders are not supported here)", steps)
    try:
        _verify(issuer_cert.public_key(), response.signature, response.tbs_response_bytes,
                response.signature_hash_algorithm)
    except (InvalidSignature, TypeError, ValueError):
        raise _ocsp_fail(STEP_OCSP_SIGNATURE, f"the signature over the response does not verify "
                         f"with the key of {_name(issuer_cert)}", steps) from None
    steps.append(Step(STEP_OCSP_SIGNATURE, True, f"signed by {_name(issuer_cert)} over the "
                      f"{len(response.tbs_response_bytes)}-byte ResponseData"))

    now = now if now.tzinfo else now.replace(tzinfo=_dt.timezone.utc)
    this_update, next_update = response.this_update_utc, response.next_update_utc
    if now < this_update:
        raise _ocsp_fail(STEP_OCSP_FRESHNESS, f"thisUpdate {this_update:%Y-%m-%d %H:%M:%SZ} "
                         "is in the future", steps)
    if next_update is not None and now > next_update:
        raise _ocsp_fail(STEP_OCSP_FRESHNESS, f"stale: nextUpdate was "
                         f"{next_update:%Y-%m-%d %H:%M:%SZ}", steps)
    until = f"{next_update:%Y-%m-%d %H:%M:%SZ}" if next_update else "(no nextUpdate)"
    steps.append(Step(STEP_OCSP_FRESHNESS, True, f"{now:%Y-%m-%d %H:%M:%SZ} is within "
                      f"{this_update:%Y-%m-%d %H:%M:%SZ} .. {until}"))

    status = {v: k for k, v in OCSP_STATUS.items()}[response.certificate_status]
    reason = response.revocation_reason
    return OCSPCheck(status, this_update, next_update, response.revocation_time_utc,
                     reason.name if reason is not None else None, tuple(steps))


def _sha1(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SHA1())
    h.update(data)
    return h.finalize()


# ---------------------------------------------------------------------------------------------
# Certificate Transparency (RFC 6962): a lesson log, a precertificate, an embedded SCT
# ---------------------------------------------------------------------------------------------

CT_LOG_LABEL = b"tlslesson lesson CT log (public key, lessons only)"
# RFC 6962 §3.1: the poison extension (critical, value ASN.1 NULL) that makes a precertificate
# unusable as a certificate: SEQUENCE { OID 1.3.6.1.4.1.11129.2.4.3, TRUE, OCTET STRING { NULL } }
PRECERT_POISON_DER = bytes.fromhex("3013060a2b06010401d679020403" "0101ff" "04020500")


@functools.lru_cache(maxsize=None)
def lesson_ct_log_key() -> ec.EllipticCurvePrivateKey:
    """The lesson CT log's key: ECDSA P-256 (RFC 6962 §2.1.4), derived from a fixed label so it
    is the same on every run — as public as every other lesson key."""
    scalar = int.from_bytes(_sha256(CT_LOG_LABEL), "big")
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _sha256(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    return h.finalize()


def ct_log_id(log_public_key) -> bytes:
    """A log's ID: SHA-256 of its public key's SubjectPublicKeyInfo DER (RFC 6962 §3.2)."""
    return _sha256(log_public_key.public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo))


def _der_items(content: bytes) -> list[bytes]:
    """The TLVs one after another in a constructed value's content."""
    items = []
    while content:
        _, rest = _der_split(content)
        items.append(content[:len(content) - len(rest)])
        content = rest
    return items


def tbs_without_poison(tbs: bytes) -> bytes:
    """What a CT log signs of a precertificate: its TBSCertificate with the poison extension
    taken out and the lengths around it made right again (RFC 6962 §3.2)."""
    content, _ = _der_split(tbs)
    parts = []
    for item in _der_items(content):
        if item[0] == 0xA3:                                   # extensions [3] EXPLICIT
            seq, _ = _der_split(item)
            extensions, _ = _der_split(seq)
            kept = [e for e in _der_items(extensions) if e != PRECERT_POISON_DER]
            item = _der(0xA3, _der(0x30, b"".join(kept)))
        parts.append(item)
    return _der(0x30, b"".join(parts))


def sct_signed_data(timestamp_ms: int, issuer_key_hash: bytes, tbs: bytes,
                    extensions: bytes = b"") -> bytes:
    """The bytes a log signs for a precertificate entry (RFC 6962 §3.2, digitally-signed struct):
    sct_version v1 (0), signature_type certificate_timestamp (0), uint64 timestamp (ms since
    1970), entry_type precert_entry (1), issuer_key_hash[32], opaque tbs_certificate<1..2^24-1>,
    CtExtensions extensions<0..2^16-1>."""
    return (b"\x00\x00" + timestamp_ms.to_bytes(8, "big") + b"\x00\x01" + issuer_key_hash
            + len(tbs).to_bytes(3, "big") + tbs + len(extensions).to_bytes(2, "big") + extensions)


@dataclass(frozen=True)
class CTIssuance:
    """A certificate issued through a CT log, every intermediate piece kept."""

    precertificate: x509.Certificate   # with the poison extension: what the CA sends the log
    log_entry_tbs: bytes               # its TBSCertificate without the poison: what the log signs
    sct: bytes                         # the SignedCertificateTimestamp the log answered (TLS encoding)
    certificate: x509.Certificate      # the final certificate, with the SCT list embedded


def issue_with_sct(issuer: Identity, subject: Identity, *, timestamp: _dt.datetime,
                   serial: int, log_key: ec.EllipticCurvePrivateKey | None = None) -> CTIssuance:
    """Re-issue ``subject``'s certificate (same name, key, SAN and usages) the way publicly
    trusted CAs do since CT (RFC 6962 §3.1): a precertificate with the poison extension, which
    the log signs as an SCT; then the certificate with that SCT embedded (extension
    1.3.6.1.4.1.11129.2.4.2, an OCTET STRING holding the TLS-encoded SignedCertificateTimestampList).

    cryptography cannot make an SCT object, so the log's part is written here; cryptography reads
    the result back (``x509.PrecertificateSignedCertificateTimestamps``) and strips it again
    (``tbs_precertificate_bytes``), and ``check_scts`` verifies it. Deterministic: the serial and
    the time are arguments, RSA PKCS#1 v1.5 and deterministic ECDSA (RFC 6979) sign.
    """
    log_key = log_key or lesson_ct_log_key()
    old = subject.certificate
    ext = old.extensions

    def value(ext_type):
        found = [e.value for e in ext if isinstance(e.value, ext_type)]
        return found[0] if found else None

    eku = value(x509.ExtendedKeyUsage)

    def build(extra):
        return _build(old.subject, old.public_key(), issuer.certificate.subject,
                      issuer.certificate.public_key(), issuer.key, is_ca=False, path_length=None,
                      key_usage=value(x509.KeyUsage), eku=eku[0] if eku else None,
                      san=value(x509.SubjectAlternativeName),
                      not_before=old.not_valid_before_utc, not_after=old.not_valid_after_utc,
                      serial=serial, extra_extensions=extra)

    precert = build([(x509.PrecertPoison(), True)])
    entry = tbs_without_poison(precert.tbs_certificate_bytes)
    when = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=_dt.timezone.utc)
    ms = (when - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)) // _dt.timedelta(milliseconds=1)
    signature = _sign(log_key, sct_signed_data(ms, _sha256(_spki_der(issuer.certificate)), entry))
    # SignedCertificateTimestamp: version, log id, timestamp, extensions<0..2^16-1>, then
    # digitally-signed: SignatureAndHashAlgorithm (sha256 = 4, ecdsa = 3), signature<0..2^16-1>
    sct = (b"\x00" + ct_log_id(log_key.public_key()) + ms.to_bytes(8, "big") + b"\x00\x00"
           + b"\x04\x03" + len(signature).to_bytes(2, "big") + signature)
    sct_list = len(sct).to_bytes(2, "big") + sct                  # SerializedSCT<1..2^16-1>
    sct_list = len(sct_list).to_bytes(2, "big") + sct_list         # the list<1..2^16-1>
    embedded = x509.UnrecognizedExtension(
        x509.oid.ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS, _der(0x04, sct_list))
    final = build([(embedded, False)])
    # read back, so cryptography parses the SCT list as it would in any certificate
    final = load_der_certificate(final.public_bytes(serialization.Encoding.DER))
    return CTIssuance(precert, entry, sct, final)


def check_scts(cert: x509.Certificate, issuer, log_keys) -> list[tuple[object, bool, str]]:
    """Each SCT embedded in ``cert``, with whether its log signed it: (sct, ok, detail).

    ``log_keys`` are the public keys of the logs the client knows (a browser ships a list). The
    signed data is rebuilt from the certificate itself: its TBSCertificate without the SCT list
    (cryptography's ``tbs_precertificate_bytes``), the issuer's key hash, the SCT's timestamp and
    extensions (RFC 6962 §3.2, §5.2)."""
    logs = {ct_log_id(k): k for k in log_keys}
    try:
        scts = cert.extensions.get_extension_for_class(
            x509.PrecertificateSignedCertificateTimestamps).value
    except x509.ExtensionNotFound:
        return []
    issuer_key_hash = _sha256(_spki_der(_issuer_certificate(issuer)))
    out = []
    for sct in scts:
        key = logs.get(sct.log_id)
        if key is None:
            out.append((sct, False, f"log {sct.log_id.hex()[:16]}… is not one we know"))
            continue
        ms = (sct.timestamp.replace(tzinfo=_dt.timezone.utc)
              - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)) // _dt.timedelta(milliseconds=1)
        data = sct_signed_data(ms, issuer_key_hash, cert.tbs_precertificate_bytes,
                               sct.extension_bytes)
        try:
            _verify(key, sct.signature, data, sct.signature_hash_algorithm)
            out.append((sct, True, f"log {sct.log_id.hex()[:16]}… signed it at "
                                   f"{sct.timestamp:%Y-%m-%d %H:%M:%S}Z"))
        except InvalidSignature:
            out.append((sct, False, f"log {sct.log_id.hex()[:16]}…: signature does not verify"))
    return out
