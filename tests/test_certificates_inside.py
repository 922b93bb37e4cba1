"""Certificates from the inside (notebook 03): the DER walk, the CA's signature by hand, CRL, OCSP
(good, revoked, stale, forged), stapling bytes and Certificate Transparency on the lesson PKI."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from tlslesson import messages, pki
from tlslesson.constants import AlertDescription as AD, ExtensionType
from tlslesson.errors import CertificateError, DecodeError
from tlslesson.lesson import certificates as C
from tlslesson.lesson import layout_fields
from tlslesson.lesson.tasks import MORE_TASKS, check

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
LATER = NOW + dt.timedelta(hours=1)
LESSON = pki.lesson_pki()
LEAF = LESSON.rsa_server.certificate
INTER = LESSON.intermediate
PAIRS = {"root": (LESSON.root.certificate, LESSON.root), "intermediate": (INTER.certificate, LESSON.root),
         "rsa_server": (LEAF, INTER), "ecdsa_server": (LESSON.ecdsa_server.certificate, INTER),
         "client": (LESSON.client.certificate, LESSON.root)}


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def flipped(data: bytes, at: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[at] ^= mask
    return bytes(out)


@pytest.fixture(scope="module")
def ct():
    return pki.issue_with_sct(INTER, LESSON.rsa_server, timestamp=NOW, serial=0x7E5715C7)


# -- the TLV reader -----------------------------------------------------------------------------

def test_read_tlv_short_and_long_forms():
    assert C.read_tlv(b"\x02\x01\x05") == C.TLV(0x02, 0, 2, 1)
    long81 = b"\x04\x81\x80" + bytes(128)
    assert C.read_tlv(long81) == C.TLV(0x04, 0, 3, 128)
    long82 = b"\x30\x82\x01\x00" + bytes(256)
    tlv = C.read_tlv(long82)
    assert (tlv.start, tlv.end, tlv.constructed) == (4, 260, True)


@pytest.mark.parametrize("data, why", [(b"\x30\x80\x00\x00", "indefinite"), (b"\x04\x05abc", "past the end"),
                                       (b"\x30\x82\x01", "more bytes"), (b"\x30", "at least")])
def test_read_tlv_refuses_what_der_does_not_allow(data, why):
    with pytest.raises(DecodeError, match=why):
        C.read_tlv(data)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_tbs_range_is_cryptographys_tbs_certificate_bytes(name):
    cert = PAIRS[name][0]
    start, end = C.tbs_range(der(cert))
    assert der(cert)[start:end] == cert.tbs_certificate_bytes


# -- the DER walk -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PAIRS))
def test_leaf_fields_cover_every_byte_once(name):
    data = der(PAIRS[name][0])
    leaves = sorted((f.offset, f.offset + f.length) for f in C.certificate_fields(data) if f.leaf)
    at = 0
    for start, end in leaves:
        assert start == at, f"gap or overlap at {at}"
        at = end
    assert at == len(data)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_named_fields_agree_with_cryptography(name):
    cert = PAIRS[name][0]
    data = der(cert)
    fields = C.certificate_fields(data)
    by_name = {}
    for f in fields:
        by_name.setdefault(f.name, f)
    tbs = by_name["tbsCertificate"]
    assert data[tbs.offset:tbs.offset + tbs.length] == cert.tbs_certificate_bytes
    serial = by_name["serialNumber"]
    assert int(serial.value.split()[0], 16) == cert.serial_number
    assert by_name["version"].value == "v3"
    assert by_name["issuer"].value == cert.issuer.rfc4514_string()
    assert by_name["subject"].value == cert.subject.rfc4514_string()
    assert f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S}" in by_name["notBefore"].value
    assert f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S}" in by_name["notAfter"].value
    signature = by_name["signatureValue"]
    assert data[signature.offset + signature.length - len(cert.signature):
                signature.offset + signature.length] == cert.signature
    ext_ids = [f.value.split()[0] for f in fields if f.name == "extnID"]
    assert ext_ids == [e.oid.dotted_string for e in cert.extensions]
    criticals = [f.name for f in fields if f.name.startswith("extension: ") and f.value.endswith("critical")]
    assert len(criticals) == sum(e.critical for e in cert.extensions)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_key_usage_and_names_decode_like_cryptography(name):
    cert = PAIRS[name][0]
    fields = C.certificate_fields(der(cert), within="extension: keyUsage")
    [bits] = [f for f in fields if f.name == "BIT STRING"]
    ours = bits.value.split(": ")[1].split(", ")
    wanted = {"digital_signature": "digitalSignature", "key_encipherment": "keyEncipherment",
              "key_cert_sign": "keyCertSign", "crl_sign": "cRLSign"}
    assert ours == [wanted[u] for u in pki.describe(cert)["key_usage"]]
    all_fields = C.certificate_fields(der(cert))
    dns = [f.value for f in all_fields if f.name == "dNSName"]
    ips = [f.value for f in all_fields if f.name == "iPAddress"]
    assert [f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips] == pki.describe(cert)["san"]


def test_within_and_max_depth():
    data = der(LEAF)
    outline = C.certificate_fields(data, max_depth=2)
    start, end = C.tbs_range(data)
    assert [f.name for f in outline if f.depth == 2 and f.name != "tag + length" and f.offset < end] == [
        "version", "serialNumber", "signature", "issuer", "validity", "subject", "subjectPublicKeyInfo",
        "extensions"]
    assert all(f.leaf for f in outline if f.depth == 2)
    san = C.certificate_fields(data, within="extension: subjectAltName")
    assert san[0].depth == 0 and san[0].name == "extension: subjectAltName"
    assert all(f.meaning for f in san if f.name not in ("SEQUENCE",))
    with pytest.raises(KeyError):
        C.certificate_fields(data, within="no such part")


def test_a_truncated_certificate_is_a_decode_error():
    with pytest.raises(DecodeError):
        C.certificate_fields(der(LEAF)[:-1])


# -- the CA's signature by hand -----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PAIRS))
def test_hand_check_passes_and_agrees_with_cryptography(name):
    cert, issuer = PAIRS[name]
    result = pki.tbs_signature_check(cert, issuer)
    assert result and result.ok
    assert result.digest == hashlib.sha256(cert.tbs_certificate_bytes).digest()
    assert result.tbs_length == len(cert.tbs_certificate_bytes)
    cert.verify_directly_issued_by(issuer.certificate)          # the one-call verdict agrees


def test_hand_check_fails_with_the_wrong_issuer():
    result = pki.tbs_signature_check(LEAF, LESSON.root)
    assert not result and "Root" in result.detail
    with pytest.raises(ValueError):                 # cryptography refuses before the signature
        LEAF.verify_directly_issued_by(LESSON.root.certificate)


@pytest.mark.parametrize("field, at", [("serialNumber", -1), ("dNSName", -1), ("notAfter", 5),
                                       ("subjectPublicKey", -1), ("issuer", -1)])
def test_a_flipped_tbs_byte_fails_the_hand_check(field, at):
    data = der(LEAF)
    f = next(f for f in C.certificate_fields(data) if f.name == field)
    tampered = pki.load_der_certificate(flipped(data, f.offset + (at if at >= 0 else f.length + at)))
    result = pki.tbs_signature_check(tampered, INTER)
    assert not result.ok
    assert result.digest != hashlib.sha256(LEAF.tbs_certificate_bytes).digest()


def test_a_flipped_signature_byte_fails_the_hand_check():
    tampered = pki.load_der_certificate(flipped(der(LEAF), len(der(LEAF)) - 1))
    result = pki.tbs_signature_check(tampered, INTER)
    assert not result.ok and result.digest == hashlib.sha256(LEAF.tbs_certificate_bytes).digest()


def test_unused_bits_in_the_signature_bit_string_fail():
    data = der(LEAF)
    at = len(data) - len(LEAF.signature) - 1          # the BIT STRING's unused-bits byte
    assert not pki.tbs_signature_check(pki.load_der_certificate(flipped(data, at)), INTER).ok


@pytest.mark.parametrize("key_type", ["ecdsa", "ed25519"])
def test_hand_check_with_ecdsa_and_eddsa_cas(key_type):
    ca = pki.make_ca(f"{key_type} CA", key_type)
    leaf = pki.issue(ca, "localhost", key_type="ecdsa")
    assert pki.tbs_signature_check(leaf.certificate, ca).ok
    assert not pki.tbs_signature_check(leaf.certificate, INTER).ok      # key type mismatch, no exception
    tampered = pki.load_der_certificate(flipped(der(leaf.certificate), 20))
    assert not pki.tbs_signature_check(tampered, ca).ok


def test_opened_rsa_signature_holds_the_digest():
    block, fields = C.opened_rsa_signature(LEAF, INTER.certificate)
    assert len(block) == 256 and block[:2] == b"\x00\x01"
    digest = next(f for f in fields if f.name == "digest")
    assert block[digest.offset + 2:digest.offset + digest.length] == hashlib.sha256(LEAF.tbs_certificate_bytes).digest()
    assert "id-sha256" in next(f for f in fields if f.name == "digestAlgorithm").value
    _, wrong = C.opened_rsa_signature(LEAF, LESSON.root.certificate)     # the wrong key: noise
    assert "digest" not in [f.name for f in wrong]
    with pytest.raises(ValueError):
        C.opened_rsa_signature(LEAF, pki.make_ca("EC", "ecdsa").certificate)


# -- CRL ----------------------------------------------------------------------------------------

def test_crl_lists_the_revoked_serial_and_is_signed_by_the_issuer():
    when = NOW - dt.timedelta(days=2)
    crl = pki.revocation_list(INTER, [(LEAF, when)], this_update=NOW, next_update=NOW + dt.timedelta(days=7))
    entry = crl.get_revoked_certificate_by_serial_number(LEAF.serial_number)
    assert entry is not None and entry.revocation_date_utc == when
    assert crl.get_revoked_certificate_by_serial_number(LESSON.ecdsa_server.certificate.serial_number) is None
    assert crl.is_signature_valid(INTER.certificate.public_key())
    assert not crl.is_signature_valid(LESSON.root.certificate.public_key())
    again = pki.revocation_list(INTER, [(LEAF, when)], this_update=NOW, next_update=NOW + dt.timedelta(days=7))
    assert again.public_bytes(Encoding.DER) == crl.public_bytes(Encoding.DER)     # deterministic


# -- OCSP ---------------------------------------------------------------------------------------

def _response(status="good", cert=LEAF, **kw):
    kw.setdefault("next_update", NOW + dt.timedelta(days=4))
    return pki.ocsp_response(cert, INTER, status=status, this_update=NOW, **kw)


def test_ocsp_good():
    answer = pki.check_ocsp_response(_response(), LEAF, INTER, now=LATER)
    assert answer.status == "good" and answer.alert is None and answer.revoked_at is None
    assert [s.name for s in answer.steps] == [pki.STEP_OCSP_STATUS, pki.STEP_OCSP_CERT_ID,
                                              pki.STEP_OCSP_SIGNATURE, pki.STEP_OCSP_FRESHNESS]
    assert all(s.ok for s in answer.steps)


def test_ocsp_revoked_is_reported_as_revoked():
    when = NOW - dt.timedelta(days=2)
    data = _response("revoked", revoked_at=when, reason=x509.ReasonFlags.key_compromise)
    answer = pki.check_ocsp_response(data, LEAF, INTER, now=LATER)
    assert answer.status == "revoked" and answer.revoked_at == when and answer.reason == "key_compromise"
    assert answer.alert == AD.certificate_revoked
    assert "revoked since" in str(answer)


def test_ocsp_unknown():
    answer = pki.check_ocsp_response(_response("unknown"), LEAF, INTER, now=LATER)
    assert answer.status == "unknown" and answer.alert == AD.certificate_unknown


def test_ocsp_cert_id_uses_the_issuers_hashes():
    response = ocsp.load_der_ocsp_response(_response())
    assert isinstance(response.hash_algorithm, hashes.SHA1)
    aki = LEAF.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert response.issuer_key_hash == aki            # SHA-1 of the intermediate's key bits, both
    assert response.issuer_name_hash == hashlib.sha1(INTER.certificate.subject.public_bytes()).digest()


def _fails(data, cert=LEAF, issuer=INTER, now=LATER) -> CertificateError:
    with pytest.raises(CertificateError) as caught:
        pki.check_ocsp_response(data, cert, issuer, now=now)
    assert caught.value.alert == AD.bad_certificate_status_response
    return caught.value


def test_ocsp_stale_or_early_response_is_refused():
    assert _fails(_response(), now=NOW + dt.timedelta(days=5)).step == pki.STEP_OCSP_FRESHNESS
    assert _fails(_response(), now=NOW - dt.timedelta(seconds=1)).step == pki.STEP_OCSP_FRESHNESS


def test_ocsp_about_another_certificate_or_issuer_is_refused():
    assert _fails(_response(), cert=LESSON.ecdsa_server.certificate).step == pki.STEP_OCSP_CERT_ID
    assert _fails(_response(), issuer=LESSON.root).step == pki.STEP_OCSP_CERT_ID


def test_ocsp_with_a_flipped_signature_byte_is_refused():
    data = _response()
    error = _fails(flipped(data, len(data) - 1))
    assert error.step == pki.STEP_OCSP_SIGNATURE
    assert [s.ok for s in error.report.steps] == [True, True, False]


def test_ocsp_unsuccessful_or_garbage_is_refused():
    unsuccessful = ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER)
    assert _fails(unsuccessful.public_bytes(Encoding.DER)).step == pki.STEP_OCSP_STATUS
    assert _fails(b"\x30\x03\x0a\x01").step == pki.STEP_OCSP_STATUS


def test_ocsp_response_refuses_bad_arguments():
    with pytest.raises(ValueError):
        pki.ocsp_response(LEAF, INTER, status="fine", this_update=NOW)
    with pytest.raises(ValueError):
        pki.ocsp_response(LEAF, pki.Identity(INTER.certificate, None), this_update=NOW)


# -- stapling -----------------------------------------------------------------------------------

def test_status_request_offer_bytes():
    assert C.status_request_offer().encode() == bytes.fromhex("0005 0005 01 0000 0000")


def test_stapled_certificate_13_round_trips_through_the_codec():
    staple = _response()
    wire = C.stapled_certificate_13(LESSON.rsa_server.chain_der(), staple)
    decoded = messages.decode_handshake(wire, messages.Context(version="1.3"))
    assert list(decoded.certificate_list) == LESSON.rsa_server.chain_der()
    [extension] = decoded.entry_extensions[0]
    assert extension.type == ExtensionType.status_request
    assert extension.data == b"\x01" + len(staple).to_bytes(3, "big") + staple == C.certificate_status(staple)
    assert decoded.entry_extensions[1] == ()
    assert pki.check_ocsp_response(extension.data[4:], LEAF, INTER, now=LATER).status == "good"
    field = next(f for f in layout_fields(wire, messages.Context(version="1.3"), "Certificate")
                 if f.name == "status_request extension_data")
    assert "RFC 8446 §4.4.2.1" in field.meaning


# -- Certificate Transparency -------------------------------------------------------------------

def test_precertificate_has_the_poison_and_the_log_signs_without_it(ct):
    assert pki.PRECERT_POISON_DER in ct.precertificate.tbs_certificate_bytes
    assert ct.precertificate.extensions.get_extension_for_class(x509.PrecertPoison).critical
    assert pki.PRECERT_POISON_DER not in ct.log_entry_tbs
    assert ct.log_entry_tbs == ct.certificate.tbs_precertificate_bytes     # cryptography's own strip
    assert len(ct.log_entry_tbs) == len(ct.precertificate.tbs_certificate_bytes) - len(pki.PRECERT_POISON_DER)


def test_cryptography_reads_the_embedded_sct(ct):
    [sct] = ct.certificate.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value
    assert sct.version == x509.certificate_transparency.Version.v1
    assert sct.entry_type == x509.certificate_transparency.LogEntryType.PRE_CERTIFICATE
    assert sct.timestamp == NOW.replace(tzinfo=None)
    assert sct.log_id == pki.ct_log_id(pki.lesson_ct_log_key().public_key())
    assert isinstance(sct.signature_hash_algorithm, hashes.SHA256)


def test_sct_verifies_with_the_lesson_log_only(ct):
    log = pki.lesson_ct_log_key().public_key()
    [(_, ok, detail)] = pki.check_scts(ct.certificate, INTER, [log])
    assert ok, detail
    [(_, ok, detail)] = pki.check_scts(ct.certificate, INTER, [ec.derive_private_key(7, ec.SECP256R1()).public_key()])
    assert not ok and "not one we know" in detail
    [(_, ok, _)] = pki.check_scts(ct.certificate, LESSON.root, [log])    # another issuer key hash
    assert not ok
    assert pki.check_scts(LEAF, INTER, [log]) == []                      # no SCT list at all


def test_an_sct_for_one_certificate_does_not_verify_on_another(ct):
    other = pki.issue_with_sct(INTER, LESSON.ecdsa_server, timestamp=NOW, serial=0x7E5715C8)
    log = pki.lesson_ct_log_key().public_key()
    sct_ext = ct.certificate.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps)
    # the ECDSA leaf's certificate with the RSA leaf's SCT list in it: the signed TBS differs
    raw = x509.UnrecognizedExtension(sct_ext.oid, _extn_value(ct.certificate))
    swapped = pki._build(other.certificate.subject, other.certificate.public_key(), INTER.certificate.subject,
                         INTER.certificate.public_key(), INTER.key, is_ca=False, path_length=None,
                         key_usage=None, eku=None, san=None, not_before=NOW, not_after=NOW + dt.timedelta(days=1),
                         serial=1, extra_extensions=[(raw, False)])
    [(_, ok, _)] = pki.check_scts(swapped, INTER, [log])
    assert not ok


def _extn_value(cert) -> bytes:
    data = der(cert)
    f = next(f for f in C.certificate_fields(data, within="extension: SCT list (CT)") if f.name == "extnValue")
    tlv = C.read_tlv(data, f.offset)
    return data[tlv.start:tlv.end]


def test_ct_issuance_is_deterministic_and_the_chain_still_validates(ct):
    again = pki.issue_with_sct(INTER, LESSON.rsa_server, timestamp=NOW, serial=0x7E5715C7)
    assert der(again.certificate) == der(ct.certificate) and again.sct == ct.sct
    report = pki.validate_chain([ct.certificate, INTER.certificate], LESSON.trusted, hostname="localhost", now=NOW)
    assert report.ok
    assert pki.tbs_signature_check(ct.certificate, INTER).ok
    assert ct.certificate.public_key() == LEAF.public_key() and ct.certificate.subject == LEAF.subject


def test_the_sct_extension_is_walked_without_reading_tls_bytes_as_der(ct):
    fields = C.certificate_fields(der(ct.certificate), within="extension: SCT list (CT)")
    inner = [f for f in fields if f.name == "OCTET STRING"]
    assert len(inner) == 1 and inner[0].leaf and "TLS-encoded" in inner[0].meaning


# -- the task and the notebook ------------------------------------------------------------------

def tbs_bytes(data):
    def header(at):
        first = data[at + 1]
        if first < 0x80:
            return 2, first
        size = first & 0x7F
        return 2 + size, int.from_bytes(data[at + 2:at + 2 + size], "big")
    outer, _ = header(0)
    size, length = header(outer)
    return data[outer:outer + size + length]


def test_tbs_bytes_task_right_wrong_and_unanswered():
    assert check("tbs_bytes", tbs_bytes, show=False)
    assert check("tbs_bytes", tbs_bytes, seed=7, show=False)
    content_only = check("tbs_bytes", lambda d: tbs_bytes(d)[4:], show=False)
    assert not content_only and "keep its tag and length" in content_only.text
    assert not check("tbs_bytes", lambda d: d[2:2 + d[1]], show=False)          # short form only

    def stub(d):
        raise NotImplementedError()
    assert check("tbs_bytes", stub, show=False).status == "unanswered"


@pytest.mark.parametrize("lesson, names", sorted(MORE_TASKS.items()))
def test_more_tasks_are_in_their_notebooks(lesson, names):
    [path] = (ROOT / "notebooks").glob(f"{lesson}-*.ipynb")
    code = ["".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == "code"]
    for name in names:
        assert any(f'check("{name}"' in s for s in code), f"{path.name}: no check({name!r}, ...) cell"


def test_notebook_03_opens_a_certificate_and_goes_beyond_the_chain():
    cells = json.loads((ROOT / "notebooks" / "03-certificates-and-trust.ipynb").read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells)
    for needle in ("## Certificates from the inside", "tbs_signature_check", "check_ocsp_response",
                   "stapled_certificate_13", "issue_with_sct", "RFC 6066 §8", "RFC 8446 §4.4.2.1", "RFC 6962",
                   "RFC 6960"):
        assert needle in text, needle
    md = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown"]
    inside = next(i for i in md if "## Certificates from the inside" in "".join(cells[i]["source"]))
    quiz = next(i for i in md if "## Check your understanding" in "".join(cells[i]["source"]))
    prompts = sum("".join(cells[i]["source"]).count("**Predict, then run.**") for i in md if inside < i < quiz)
    assert prompts >= 3


def test_the_doctests_hold():
    import doctest
    failures, tried = doctest.testmod(C)
    assert tried and not failures
