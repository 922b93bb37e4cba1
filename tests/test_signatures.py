"""Signature schemes beyond RSA and P-256/P-384 (RFC 8446 §4.2.3): ECDSA P-521, Ed25519, Ed448
and RSA-PSS keys in id-RSASSA-PSS certificates — sign/verify, the certificates ``pki`` makes for
them, and in-memory handshakes (TLS 1.2 and 1.3) with each as server and as client identity."""
import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519, padding
from cryptography.hazmat.primitives import hashes

from tlslesson import pki, signatures, suites
from tlslesson.connection import ClientConfig, ServerConfig, handshake
from tlslesson.constants import SignatureScheme as SS
from tlslesson.errors import AlertError, CertificateError

P = pki.lesson_pki()
NEW = pki.EXTRA_KEY_TYPES            # ecdsa-p384, ecdsa-p521, ed25519, ed448, rsa-pss
SCHEME_13 = {"ecdsa-p384": SS.ecdsa_secp384r1_sha384, "ecdsa-p521": SS.ecdsa_secp521r1_sha512,
             "ed25519": SS.ed25519, "ed448": SS.ed448, "rsa-pss": SS.rsa_pss_pss_sha256}
SUITE_12 = {"rsa-pss": "ECDHE-RSA-AES128-GCM-SHA256"}     # the others: ECDHE-ECDSA (RFC 8422)


def _key(key_type):
    return pki.lesson_identity(key_type).key


@pytest.mark.parametrize("key_type", pki.KEY_TYPES)
def test_sign_verify_round_trip_every_scheme_of_every_key(key_type):
    ident = pki.lesson_identity(key_type)
    public = ident.certificate.public_key()
    for tls13 in (False, True):
        for scheme in signatures.schemes_for(ident.key, tls13):
            signature = signatures.sign(ident.key, scheme, b"signed content")
            signatures.verify(public, scheme, b"signed content", signature, "test")
            with pytest.raises(AlertError) as caught:
                signatures.verify(public, scheme, b"signed contenT", signature, "test")
            assert caught.value.check == "signature" and caught.value.alert.name == "decrypt_error"


def test_schemes_each_key_may_use():
    """TLS 1.3 binds ECDSA schemes to their curve; 1.2 names only the hash (RFC 8446 §4.2.3);
    EdDSA is one scheme per curve in both (RFC 8422 §5.1.3); an id-RSASSA-PSS key makes
    rsa_pss_pss_* only and an rsaEncryption key never does."""
    for key_type, scheme in SCHEME_13.items():
        assert signatures.schemes_for(_key(key_type), tls13=True)[0] == scheme
    assert signatures.schemes_for(_key("ecdsa-p521"), tls13=True) == (SS.ecdsa_secp521r1_sha512,)
    assert SS.ecdsa_secp521r1_sha512 in signatures.schemes_for(_key("ecdsa"))
    assert signatures.schemes_for(_key("ed448")) == (SS.ed448,)
    assert signatures.schemes_for(_key("rsa-pss")) == signatures.RSA_PSS_PSS_SCHEMES
    assert not set(signatures.RSA_PSS_PSS_SCHEMES) & set(signatures.schemes_for(_key("rsa")))


def test_default_offer_unchanged_modern_offers_all():
    """SUPPORTED keeps the lesson ClientHello's bytes (every notebook output shows them)."""
    assert [f"{s:04x}" for s in signatures.SUPPORTED] == [
        "0804", "0805", "0806", "0401", "0501", "0601", "0403", "0503"]
    assert signatures.MODERN[:len(signatures.SUPPORTED)] == signatures.SUPPORTED
    assert set(signatures.MODERN) - set(signatures.SUPPORTED) == {
        0x0603, 0x0807, 0x0808, 0x0809, 0x080A, 0x080B}
    assert set(signatures.SCHEMES_13) == set(signatures.MODERN) - {0x0401, 0x0501, 0x0601}


def test_ed25519_ed448_known_answers():
    """RFC 8032 §7.1 TEST 1 (Ed25519) and §7.4 "Blank" (Ed448): the empty message."""
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    assert signatures.sign(key, SS.ed25519, b"").hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
        "1cf9b46bd25bf5f0595bbe24655141438e7a100b")
    key = ed448.Ed448PrivateKey.from_private_bytes(bytes.fromhex(
        "6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3528c8a3fcc2f044e39a3fc5b"
        "94492f8f032e7549a20098f95b"))
    assert signatures.sign(key, SS.ed448, b"").hex() == (
        "533a37f6bbe457251f023c0d88f976ae2dfb504a843e34d2074fd823d41a591f2b233f034f628281f2fd7a22"
        "ddd47d7828c59bd0a21bfd3980ff0d2028d4b18a9df63e006c5d1c2d345b925d8dc00b4104852db99ac5c7cd"
        "da8530a113a0f4dbb61149f05a7363268c71d95808ff2e652600")


def test_scheme_must_match_the_certificate_key():
    ed = pki.lesson_identity("ed25519")
    signature = signatures.sign(ed.key, SS.ed25519, b"x")
    for public, scheme in ((P.ecdsa_server.certificate.public_key(), SS.ed25519),
                           (ed.certificate.public_key(), SS.ed448),
                           (ed.certificate.public_key(), SS.ecdsa_secp256r1_sha256)):
        with pytest.raises(AlertError) as caught:
            signatures.verify(public, scheme, b"x", signature, "test")
        assert caught.value.check == "signature_scheme"
        assert caught.value.alert.name == "illegal_parameter"


def test_rsa_pss_key_signs_pss_only_and_never_decrypts():
    key = _key("rsa-pss")
    with pytest.raises(ValueError):
        key.sign(b"x", padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(ValueError):
        key.decrypt(b"\0" * 256, padding.PKCS1v15())
    with pytest.raises(AlertError) as caught:   # the lesson client offers no rsa_pss_pss_*
        signatures.choose(key, signatures.SUPPORTED)
    assert caught.value.check == "signature_scheme"


def test_rsa_pss_certificate_and_key_files():
    """The certificate's key is id-RSASSA-PSS (RFC 4055 §1.2), the key file too (OpenSSL
    refuses an rsaEncryption key for it); loading them back marks the key PSS-only again."""
    ident = pki.lesson_identity("rsa-pss")
    assert pki.is_rsa_pss(ident.certificate)
    der = serialization.load_pem_private_key(ident.key_pem, None).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    written = base64.b64decode(b"".join(ident.key_pem.splitlines()[1:-1]))
    assert bytes.fromhex("06092a864886f70d01010a") in written[:32]  # id-RSASSA-PSS
    assert bytes.fromhex("06092a864886f70d010101") in der[:32]     # cryptography: rsaEncryption
    again = pki.Identity(pki.load_pem_chain(ident.chain_pem)[0],
                         pki.load_private_key(ident.key_pem))
    assert isinstance(again.key, signatures.RSAPSSPrivateKey)
    assert "key_encipherment" not in pki.describe(ident.certificate)["key_usage"]


@pytest.mark.parametrize("key_type", NEW)
def test_new_certificates_validate(key_type):
    ident = pki.lesson_identity(key_type)
    report = pki.validate_chain(ident.chain_der(), P.trusted, hostname="localhost")
    assert report.ok and [s.name for s in report.steps][-1] == "name"
    other = pki.make_ca("Another Root", "ecdsa")
    with pytest.raises(CertificateError) as caught:
        pki.validate_chain(ident.chain_der(), [other.certificate], hostname="localhost")
    assert caught.value.step == "chain building / trust anchor"


def _server(key_type, **options):
    # the new identity first, then the lesson's: the server must pick by what the client offers
    return ServerConfig(identities=(pki.lesson_identity(key_type), P.rsa_server, P.ecdsa_server),
                        signature_schemes=signatures.MODERN, **options)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
@pytest.mark.parametrize("key_type", NEW)
def test_handshake_with_each_new_server_key(key_type, version):
    suite = suites.get(SUITE_12.get(key_type, "ECDHE-ECDSA-AES128-GCM-SHA256")
                       if version == "1.2" else "TLS_AES_128_GCM_SHA256")
    run = handshake(ClientConfig(versions=(version,), suites=(suite,),
                                 signature_schemes=signatures.MODERN), _server(key_type))
    assert run.ok, run.error
    signed = next(s.message for s in run.steps
                  if s.name == ("ServerKeyExchange" if version == "1.2" else "CertificateVerify"))
    assert signed.scheme in signatures.schemes_for(_key(key_type), version == "1.3")
    # TLS 1.2 too: the hash that goes with the key's curve, not SHA-256 for every ECDSA key
    assert signed.scheme == SCHEME_13[key_type]
    leaf = next(s.message for s in run.steps if s.name == "Certificate").certificate_list[0]
    assert leaf == pki.lesson_identity(key_type).chain_der()[0]


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_server_falls_back_when_the_client_does_not_offer_the_new_scheme(version):
    """choose_identity: to a client offering the default SUPPORTED the server sends its RSA
    certificate (the default suites put ECDHE-RSA first), except the P-384 one in TLS 1.3,
    whose scheme SUPPORTED has."""
    for key_type in NEW:
        run = handshake(ClientConfig(versions=(version,)), _server(key_type))
        assert run.ok, run.error
        leaf = next(s.message for s in run.steps if s.name == "Certificate").certificate_list[0]
        chosen = (pki.lesson_identity(key_type) if (key_type, version) == ("ecdsa-p384", "1.3")
                  else P.rsa_server)
        assert leaf == chosen.chain_der()[0], key_type


def test_rsa_pss_certificate_is_not_used_for_rsa_key_transport():
    suite = suites.get("AES128-GCM-SHA256")
    run = handshake(ClientConfig(versions=("1.2",), suites=(suite,),
                                 signature_schemes=signatures.MODERN),
                    ServerConfig(identities=(pki.lesson_identity("rsa-pss"), P.rsa_server)))
    assert run.ok, run.error
    leaf = next(s.message for s in run.steps if s.name == "Certificate").certificate_list[0]
    assert leaf == P.rsa_server.chain_der()[0]
    alone = handshake(ClientConfig(versions=("1.2",), suites=(suite,)),
                      ServerConfig(identities=(pki.lesson_identity("rsa-pss"),)))
    assert not alone.ok and alone.error.check == "signature_scheme"


@pytest.mark.parametrize("version", ["1.2", "1.3"])
@pytest.mark.parametrize("key_type", NEW)
def test_certificate_verify_with_each_new_client_key(key_type, version):
    client = pki.issue(P.root, "lesson client", key_type=key_type, purpose="client")
    run = handshake(ClientConfig(versions=(version,), identity=client),
                    ServerConfig(client_ca=P.trusted, signature_schemes=signatures.MODERN))
    assert run.ok, run.error
    cv = [s for s in run.steps if s.name == "CertificateVerify" and s.sender == "client"]
    assert len(cv) == 1
    assert cv[0].message.scheme in signatures.schemes_for(client.key, version == "1.3")
    # a server that does not ask for the scheme refuses the client (nothing it can sign with)
    refused = handshake(ClientConfig(versions=(version,), identity=client),
                        ServerConfig(client_ca=P.trusted,
                                     signature_schemes=(SS.rsa_pss_rsae_sha256,)))
    assert not refused.ok


def test_write_pki_extra_identities(tmp_path):
    """``python -m tlslesson pki DIR --extra``: the lesson set plus server-<type>.crt/.key."""
    made = pki.make_pki()
    written = pki.write_pki(tmp_path, made, extra_key_types=pki.EXTRA_KEY_TYPES)
    assert set(written) == set(pki.PKI_FILES) | {f"server-{t}.{e}" for t in NEW
                                                 for e in ("crt", "key")}
    for key_type in NEW:
        leaf, *chain = pki.load_pem_chain((tmp_path / f"server-{key_type}.crt").read_bytes())
        key = pki.load_private_key((tmp_path / f"server-{key_type}.key").read_bytes())
        assert pki.validate_chain([leaf, *chain], made.trusted, hostname="localhost").ok
        ident = pki.Identity(leaf, key, tuple(chain))
        assert signatures.schemes_for(ident.key, True)[0] == SCHEME_13[key_type]
