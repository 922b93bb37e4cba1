"""Certificates from the inside: one certificate's DER, TLV by TLV, as named fields for the hex views.

DER (ITU-T X.690) writes every value the same way: a **tag** byte (what kind of value: 0x30
SEQUENCE, 0x02 INTEGER, 0x06 OBJECT IDENTIFIER, 0xa3 "context-specific [3]"...), a **length**
(one byte below 0x80; otherwise 0x8N and then N bytes of length), then the **value**, which for a
SEQUENCE or SET is more TLVs. ``read_tlv`` reads one; that is the whole parser. The names come
from the ASN.1 of RFC 5280 §4.1 (``Certificate``, ``tbsCertificate``, ``serialNumber``...), the
decoded values mostly from cryptography's own parse of the same certificate, so the walk only has
to find where each part is.

    >>> from tlslesson import pki
    >>> from cryptography.hazmat.primitives.serialization import Encoding
    >>> der = pki.lesson_pki().rsa_server.certificate.public_bytes(Encoding.DER)
    >>> read_tlv(der)
    TLV(tag=48, offset=0, header_length=4, length=934)
    >>> start, end = tbs_range(der)
    >>> der[start:end] == pki.lesson_pki().rsa_server.certificate.tbs_certificate_bytes
    True

The stapling helpers at the end build TLS messages with the package's own codecs
(``messages``, ``extensions``): the bytes a server that staples would send.
"""
from __future__ import annotations

import datetime as _dt
import ipaddress
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import (ExtendedKeyUsageOID, ExtensionOID, NameOID,
                                   SignatureAlgorithmOID)

from .. import messages
from ..constants import ExtensionType
from ..errors import DecodeError
from ..extensions import Extension
from .models import Field

__all__ = ["TLV", "read_tlv", "tlv_children", "tbs_range", "certificate_fields", "Node",
           "certificate_tree", "opened_rsa_signature", "status_request_offer",
           "certificate_status", "stapled_certificate_13"]


# ---------------------------------------------------------------------------------------------
# Tag, length, value
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TLV:
    """One DER value: ``der[offset]`` is its tag, then ``header_length - 1`` length bytes, then
    ``length`` bytes of content."""

    tag: int
    offset: int
    header_length: int
    length: int

    @property
    def start(self) -> int:
        """Where the content starts."""
        return self.offset + self.header_length

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def constructed(self) -> bool:
        """Bit 6 of the tag: the content is more TLVs (SEQUENCE 0x30, SET 0x31, [3] 0xa3)."""
        return bool(self.tag & 0x20)


def read_tlv(der: bytes, offset: int = 0, end: int | None = None) -> TLV:
    """The TLV starting at ``der[offset]`` (X.690 §8.1.2-8.1.3, definite lengths: DER allows no
    other). Raises ``DecodeError`` if it runs past ``end`` (default: the end of ``der``)."""
    end = len(der) if end is None else end
    if offset + 2 > end:
        raise DecodeError("DER", offset, "a TLV needs at least a tag and a length byte")
    tag, first = der[offset], der[offset + 1]
    if tag & 0x1F == 0x1F:
        raise DecodeError("DER", offset, "high tag numbers (tag & 0x1f == 0x1f) don't occur in certificates")
    if first < 0x80:                                  # short form: the byte is the length
        header, length = 2, first
    elif first == 0x80:
        raise DecodeError("DER", offset, "indefinite length (0x80) is BER, not DER")
    else:                                             # long form: 0x8N, then N length bytes
        size = first & 0x7F
        header = 2 + size
        if offset + header > end:
            raise DecodeError("DER", offset, f"the length needs {size} more bytes")
        length = int.from_bytes(der[offset + 2:offset + header], "big")
    if offset + header + length > end:
        raise DecodeError("DER", offset, f"length {length} runs past the end ({end - offset - header} "
                                         "bytes left)")
    return TLV(tag, offset, header, length)


def tlv_children(der: bytes, tlv: TLV) -> list[TLV]:
    """The TLVs one after another inside ``tlv``'s content."""
    out, at = [], tlv.start
    while at < tlv.end:
        child = read_tlv(der, at, tlv.end)
        out.append(child)
        at = child.end
    return out


def tbs_range(der: bytes) -> tuple[int, int]:
    """(start, end) of the TBSCertificate in a certificate's DER: the first TLV inside the outer
    SEQUENCE, header included — the bytes the CA signed (RFC 5280 §4.1.1.3)."""
    tbs = tlv_children(der, read_tlv(der))[0]
    return tbs.offset, tbs.end


# ---------------------------------------------------------------------------------------------
# Naming the parts (RFC 5280 §4.1)
# ---------------------------------------------------------------------------------------------

TAG_NAMES = {0x01: "BOOLEAN", 0x02: "INTEGER", 0x03: "BIT STRING", 0x04: "OCTET STRING",
             0x05: "NULL", 0x06: "OBJECT IDENTIFIER", 0x0C: "UTF8String", 0x13: "PrintableString",
             0x16: "IA5String", 0x17: "UTCTime", 0x18: "GeneralizedTime", 0x30: "SEQUENCE",
             0x31: "SET"}


def tag_name(tag: int) -> str:
    """0x30 -> "SEQUENCE", 0xa3 -> "[3] (constructed)", 0x82 -> "[2]"."""
    if tag in TAG_NAMES:
        return TAG_NAMES[tag]
    if tag & 0xC0 == 0x80:                            # context-specific class
        return f"[{tag & 0x1F}]" + (" (constructed)" if tag & 0x20 else "")
    return f"tag 0x{tag:02x}"


# The object identifiers met in the lesson certificates, by the names RFC 5280 / 6962 give them
OID_NAMES = {
    NameOID.COMMON_NAME.dotted_string: "commonName",
    NameOID.ORGANIZATION_NAME.dotted_string: "organizationName",
    SignatureAlgorithmOID.RSA_WITH_SHA256.dotted_string: "sha256WithRSAEncryption",
    SignatureAlgorithmOID.ECDSA_WITH_SHA256.dotted_string: "ecdsa-with-SHA256",
    "1.2.840.113549.1.1.1": "rsaEncryption",
    "1.2.840.10045.2.1": "id-ecPublicKey",
    "1.2.840.10045.3.1.7": "prime256v1 (P-256)",
    "2.16.840.1.101.3.4.2.1": "id-sha256",
    ExtensionOID.BASIC_CONSTRAINTS.dotted_string: "basicConstraints",
    ExtensionOID.KEY_USAGE.dotted_string: "keyUsage",
    ExtensionOID.EXTENDED_KEY_USAGE.dotted_string: "extKeyUsage",
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME.dotted_string: "subjectAltName",
    ExtensionOID.SUBJECT_KEY_IDENTIFIER.dotted_string: "subjectKeyIdentifier",
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER.dotted_string: "authorityKeyIdentifier",
    ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS.dotted_string: "SCT list (CT)",
    ExtensionOID.PRECERT_POISON.dotted_string: "CT precertificate poison",
    ExtensionOID.TLS_FEATURE.dotted_string: "TLS feature (must-staple)",
    ExtendedKeyUsageOID.SERVER_AUTH.dotted_string: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string: "clientAuth",
}

KEY_USAGE_BITS = ("digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
                  "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly")

# What each named part is for: one line, with its section.
MEANINGS = {
    "Certificate": "the whole certificate: TBSCertificate, then the CA's signature algorithm and "
                   "signature over it (RFC 5280 §4.1)",
    "tbsCertificate": "\"to be signed\": everything the CA vouches for; its DER, header included, "
                      "is what the signature covers (RFC 5280 §4.1.1.1, §4.1.1.3)",
    "signatureAlgorithm": "how the CA signed: must equal the signature field inside the "
                          "TBSCertificate (RFC 5280 §4.1.1.2)",
    "signatureValue": "the CA's signature over the TBSCertificate DER; a BIT STRING whose first "
                      "byte counts unused bits (0) (RFC 5280 §4.1.1.3)",
    "version": "[0] EXPLICIT INTEGER 2, which means v3: extensions may follow (RFC 5280 §4.1.2.1)",
    "serialNumber": "unique per CA, at most 20 bytes, chosen at random so nobody can predict the "
                    "TBS a CA will sign (RFC 5280 §4.1.2.2)",
    "signature": "the signature algorithm again, inside the signed part, so it cannot be swapped "
                 "(RFC 5280 §4.1.2.3)",
    "issuer": "the CA's name: chain building looks for a CA certificate with this subject "
              "(RFC 5280 §4.1.2.4)",
    "validity": "notBefore and notAfter: the CA vouches only for this period (RFC 5280 §4.1.2.5)",
    "notBefore": "UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5.1-2)",
    "notAfter": "UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5.1-2)",
    "subject": "who the key belongs to; for TLS the names that count are in subjectAltName "
               "(RFC 5280 §4.1.2.6, RFC 9525)",
    "subjectPublicKeyInfo": "the key the certificate vouches for, with its algorithm "
                            "(RFC 5280 §4.1.2.7)",
    "subjectPublicKey": "the public key itself, as a BIT STRING (an RSA key is a SEQUENCE of "
                        "modulus and exponent inside it)",
    "extensions": "[3] EXPLICIT: the v3 extensions, each an OID, an optional critical flag and an "
                  "OCTET STRING holding its own DER (RFC 5280 §4.1.2.9, §4.2)",
    "extnID": "which extension: an OBJECT IDENTIFIER",
    "critical": "TRUE: a verifier that doesn't understand this extension must reject the "
                "certificate (RFC 5280 §4.2); left out when FALSE (DER omits defaults)",
    "extnValue": "an OCTET STRING wrapping the extension's own DER",
    "tag + length": "the DER header: tag, then length (X.690 §8.1.2-8.1.3)",
    "basicConstraints": "cA TRUE/FALSE (and pathLen): may this key sign certificates? "
                        "(RFC 5280 §4.2.1.9)",
    "keyUsage": "what the key may do, as named bits (RFC 5280 §4.2.1.3)",
    "extKeyUsage": "the purposes: serverAuth for a TLS server (RFC 5280 §4.2.1.12)",
    "subjectAltName": "the DNS names and IP addresses a client checks (RFC 5280 §4.2.1.6, RFC 9525)",
    "subjectKeyIdentifier": "an ID of this certificate's key: how certificates below find it "
                            "(RFC 5280 §4.2.1.2)",
    "authorityKeyIdentifier": "the issuer's key ID: picks the right issuer when names repeat "
                              "(RFC 5280 §4.2.1.1)",
    "SCT list (CT)": "signed promises from Certificate Transparency logs that they published the "
                     "precertificate (RFC 6962 §3.3)",
    "RDN": "RelativeDistinguishedName: a SET of attributes, in practice one (RFC 5280 §4.1.2.4)",
    "AttributeTypeAndValue": "one attribute: its type (an OID) and its value, e.g. CN=localhost",
    "dNSName": "a host name the certificate is for ([2] IA5String)",
    "iPAddress": "an IP address the certificate is for ([7], 4 bytes for IPv4)",
}


# What the DER inside each extension's extnValue says (RFC 5280 §4.2.1.x)
VALUE_MEANINGS = {
    "basicConstraints": "BasicConstraints SEQUENCE: cA BOOLEAN and pathLenConstraint; empty in a "
                        "leaf, because cA FALSE is the default and DER leaves defaults out",
    "keyUsage": "a BIT STRING of named bits, bit 0 (digitalSignature) first; the first content "
                "byte says how many bits of the last byte are unused",
    "extKeyUsage": "a SEQUENCE of KeyPurposeId OIDs",
    "subjectAltName": "GeneralNames: a SEQUENCE of [2] dNSName and [7] iPAddress entries",
    "subjectKeyIdentifier": "KeyIdentifier: an OCTET STRING, here the SHA-1 of the public key bits "
                            "(RFC 5280 §4.2.1.2 method 1)",
    "authorityKeyIdentifier": "a SEQUENCE with [0] keyIdentifier: the issuer's subjectKeyIdentifier",
    "SCT list (CT)": "an OCTET STRING holding the TLS-encoded SignedCertificateTimestampList "
                     "(RFC 6962 §3.3): not DER inside",
}


@dataclass
class Node:
    """A named TLV of the certificate, its decoded value and its named parts."""

    name: str
    tlv: TLV
    value: str
    children: list["Node"] = field(default_factory=list)
    meaning_text: str = ""            # set where the name alone doesn't say it

    @property
    def meaning(self) -> str:
        return self.meaning_text or MEANINGS.get(self.name.removeprefix("extension: "), "")


def _oid(content: bytes) -> str:
    """An OBJECT IDENTIFIER's dotted form (X.690 §8.19): the first byte holds the first two
    arcs (40 * a + b); each later arc is base 128, high bit set on all but its last byte."""
    arcs, n = [], 0
    for byte in content:
        n = (n << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(n)
            n = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(map(str, [first, arcs[0] - 40 * first, *arcs[1:]]))


def _time(tag: int, text: str) -> str:
    fmt = "%y%m%d%H%M%SZ" if tag == 0x17 else "%Y%m%d%H%M%SZ"
    when = _dt.datetime.strptime(text, fmt)
    return f"{text} = {when:%Y-%m-%d %H:%M:%S} UTC"


def _primitive_value(der: bytes, tlv: TLV, context: str) -> str:
    content = der[tlv.start:tlv.end]
    if tlv.tag == 0x02:
        n = int.from_bytes(content, "big", signed=True)
        return f"{n}" if tlv.length <= 2 else f"{content.hex()} ({tlv.length} bytes)"
    if tlv.tag == 0x01:
        return "TRUE" if content != b"\x00" else "FALSE"
    if tlv.tag == 0x05:
        return "NULL"
    if tlv.tag == 0x06:
        dotted = _oid(content)
        return f"{dotted} {OID_NAMES[dotted]}" if dotted in OID_NAMES else dotted
    if tlv.tag in (0x0C, 0x13, 0x16, 0x82):
        return content.decode("utf-8", "replace")
    if tlv.tag in (0x17, 0x18):
        return _time(tlv.tag, content.decode("ascii", "replace"))
    if tlv.tag == 0x87:
        return str(ipaddress.ip_address(content)) if len(content) in (4, 16) else content.hex()
    if tlv.tag == 0x03:
        unused = content[0] if content else 0
        if context == "keyUsage":
            bits = int.from_bytes(content[1:], "big") if len(content) > 1 else 0
            width = 8 * (len(content) - 1)
            named = [n for i, n in enumerate(KEY_USAGE_BITS) if i < width and bits >> (width - 1 - i) & 1]
            return f"{content[1:].hex()} ({unused} unused bits): {', '.join(named) or 'none'}"
        return f"{unused} unused bits, {tlv.length - 1} bytes"
    return content.hex() if tlv.length <= 32 else f"{content.hex()[:64]}… ({tlv.length} bytes)"


def _node(der: bytes, tlv: TLV, name: str | None = None, context: str = "",
          unwrap: bool = True) -> Node:
    """A node and its parts (for constructed values, and for an extension's extnValue, whose
    OCTET STRING holds DER), named generically by tag where RFC 5280's names are not given."""
    name = name or {0x82: "dNSName", 0x87: "iPAddress"}.get(tlv.tag, tag_name(tlv.tag))
    if tlv.constructed:
        node = Node(name, tlv, f"{tag_name(tlv.tag)}, {tlv.length} bytes")
        node.children = [_node(der, c, context=context) for c in tlv_children(der, tlv)]
        return node
    node = Node(name, tlv, _primitive_value(der, tlv, context))
    if tlv.tag == 0x04 and context and unwrap:       # extnValue: the extension's own DER
        try:
            inner = read_tlv(der, tlv.start, tlv.end)
            if inner.end == tlv.end:
                node.value = f"OCTET STRING, {tlv.length} bytes of DER"
                node.children = [_node(der, inner, context=context, unwrap=False)]
        except DecodeError:
            pass
    return node


_TBS_FIXED = ("serialNumber", "signature", "issuer", "validity", "subject", "subjectPublicKeyInfo")
_TBS_OPTIONAL = {0xA0: "version", 0x81: "issuerUniqueID", 0x82: "subjectUniqueID", 0xA3: "extensions"}


def _extension(der: bytes, tlv: TLV) -> Node:
    parts = tlv_children(der, tlv)
    oid = _oid(der[parts[0].start:parts[0].end])
    short = OID_NAMES.get(oid, oid)
    critical = len(parts) == 3 and der[parts[1].start:parts[1].end] != b"\x00"
    node = Node(f"extension: {short}", tlv, f"{short}{', critical' if critical else ''}")
    names = ["extnID", "critical", "extnValue"] if len(parts) == 3 else ["extnID", "extnValue"]
    node.children = [_node(der, p, n, context=short if n == "extnValue" else "")
                     for p, n in zip(parts, names)]
    value = node.children[-1].children
    if value and short in VALUE_MEANINGS:
        value[0].meaning_text = VALUE_MEANINGS[short]
    return node


def certificate_tree(der: bytes) -> Node:
    """The certificate as a tree of named nodes (RFC 5280 §4.1's names), every offset into ``der``."""
    der = bytes(der)
    outer = read_tlv(der)
    if outer.end != len(der):
        raise DecodeError("certificate", outer.end, "bytes after the certificate's SEQUENCE")
    cert = Node("Certificate", outer, f"SEQUENCE, {outer.length} bytes")
    tbs_tlv, algorithm, signature = tlv_children(der, outer)
    tbs = Node("tbsCertificate", tbs_tlv, f"SEQUENCE, {tbs_tlv.length} bytes: what the CA signed")
    fixed = iter(_TBS_FIXED)
    for part in tlv_children(der, tbs_tlv):
        name = _TBS_OPTIONAL.get(part.tag) or next(fixed)
        if name == "extensions":
            [seq] = tlv_children(der, part)
            node = Node("extensions", part, f"[3] EXPLICIT, {len(tlv_children(der, seq))} extensions")
            node.children = [Node("Extensions", seq, f"SEQUENCE, {seq.length} bytes",
                                  [_extension(der, e) for e in tlv_children(der, seq)])]
        elif name == "validity":
            node = _node(der, part, name)
            for child, child_name in zip(node.children, ("notBefore", "notAfter")):
                child.name = child_name
        elif name == "subjectPublicKeyInfo":
            node = _node(der, part, name)
            node.children[0].name, node.children[-1].name = "algorithm", "subjectPublicKey"
        else:
            node = _node(der, part, name)
            if name in ("issuer", "subject"):
                node.value = _name_text(der, part)
                for rdn in node.children:
                    rdn.name = "RDN"
                    for pair in rdn.children:
                        pair.name = "AttributeTypeAndValue"
                        if len(pair.children) == 2:
                            pair.children[0].name, pair.children[1].name = "type", "value"
            if name == "version":
                node.value = f"v{int(node.children[0].value) + 1}"
        tbs.children.append(node)
    cert.children = [tbs, _node(der, algorithm, "signatureAlgorithm"),
                     _node(der, signature, "signatureValue")]
    return cert


def _name_text(der: bytes, tlv: TLV) -> str:
    """A Name as "O=..., CN=...", read from its own bytes."""
    try:
        return _parse_name(der[tlv.offset:tlv.end]).rfc4514_string()
    except (DecodeError, ValueError):                 # a tampered name: show its size
        return f"SEQUENCE, {tlv.length} bytes"


def _parse_name(name_der: bytes) -> x509.Name:
    """Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value string } (RFC 5280 §4.1.2.4),
    read with the TLV reader (cryptography loads whole certificates, not lone Names)."""
    attributes = []
    for rdn in tlv_children(name_der, read_tlv(name_der)):
        for pair in tlv_children(name_der, rdn):
            oid_tlv, value_tlv = tlv_children(name_der, pair)
            oid = x509.ObjectIdentifier(_oid(name_der[oid_tlv.start:oid_tlv.end]))
            text = name_der[value_tlv.start:value_tlv.end].decode("utf-8")
            attributes.append(x509.NameAttribute(oid, text))
    return x509.Name(attributes)


def certificate_fields(der: bytes, *, within: str | None = None,
                       max_depth: int | None = None) -> list[Field]:
    """The certificate's parts as ``models.Field`` rows for ``hex_html`` / ``fields_table_html``:
    each constructed part (a block) with its "tag + length" header, then its parts; each
    primitive part one coloured field (tag, length and value), its value decoded.

    ``within`` ("tbsCertificate", "extensions", "extension: subjectAltName", ...) lists only that
    part; ``max_depth`` stops descending there (deeper parts shown as one field). Offsets are
    always into ``der``, so ``hex_html(der, fields, window=...)`` lines up."""
    root = certificate_tree(der)
    if within is not None:
        root = _find(root, within)
        if root is None:
            raise KeyError(f"no part named {within!r} in this certificate")
    out: list[Field] = []

    def walk(node: Node, depth: int) -> None:
        t = node.tlv
        if node.children and (max_depth is None or depth < max_depth):
            out.append(Field(node.name, t.offset, t.end - t.offset, node.value, depth, False, node.meaning))
            header = der[t.offset:t.start].hex(" ")
            out.append(Field("tag + length", t.offset, t.header_length,
                             f"{header}: {tag_name(t.tag)}, {t.length} bytes", depth + 1, True,
                             MEANINGS["tag + length"]))
            for child in node.children:
                walk(child, depth + 1)
        else:
            out.append(Field(node.name, t.offset, t.end - t.offset, node.value, depth, True, node.meaning))

    walk(root, 0)
    return out


def _find(node: Node, name: str) -> Node | None:
    if node.name == name:
        return node
    for child in node.children:
        found = _find(child, name)
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------------------------------------
# Inside an RSA signature: what s^e mod n gives back (RFC 8017 §8.2.2, §9.2)
# ---------------------------------------------------------------------------------------------


def opened_rsa_signature(cert: x509.Certificate, issuer_cert: x509.Certificate) -> tuple[bytes, list[Field]]:
    """The RSASSA-PKCS1-v1_5 signature on ``cert`` raised to the issuer's public exponent:
    ``s^e mod n`` as k bytes, the encoded message EM = 00 01 ff…ff 00 DigestInfo (RFC 8017 §9.2),
    with its fields. DigestInfo holds the hash algorithm's OID and the hash of the TBSCertificate.

    For looking only: real verification (``pki.tbs_signature_check``) lets cryptography compare
    the whole encoding. Raises ``ValueError`` for an issuer key that is not RSA."""
    key = issuer_cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("only an RSA issuer's signature can be opened with s^e mod n")
    numbers = key.public_numbers()
    k = (numbers.n.bit_length() + 7) // 8
    em = pow(int.from_bytes(cert.signature, "big"), numbers.e, numbers.n).to_bytes(k, "big")
    fields = [Field("00 01", 0, 2, em[:2].hex(" "), 0, True,
                    "block type 1: a signature, not an encryption (RFC 8017 §9.2 step 5)")]
    separator = em.find(b"\x00", 2)
    if em[:2] != b"\x00\x01" or separator < 0:
        return em, fields + [Field("not PKCS#1 v1.5", 2, k - 2, "wrong key or a changed signature", 0, True, "")]
    fields.append(Field("padding", 2, separator - 2, f"{separator - 2} bytes of ff", 0, True,
                        "PS: at least 8 bytes 0xff, filling the block to the modulus size"))
    fields.append(Field("00", separator, 1, "00", 0, True, "the end of the padding"))
    try:
        info = read_tlv(em, separator + 1)
        algorithm, digest = tlv_children(em, info)
        oid_tlv = tlv_children(em, algorithm)[0]
        fields += [Field("DigestInfo", info.offset, info.end - info.offset, f"SEQUENCE, {info.length} bytes",
                         0, False, "which hash, and the hash (RFC 8017 §9.2 step 2)"),
                   Field("tag + length", info.offset, info.header_length,
                         em[info.offset:info.start].hex(" ") + f": SEQUENCE, {info.length} bytes", 1, True,
                         MEANINGS["tag + length"]),
                   Field("digestAlgorithm", algorithm.offset, algorithm.end - algorithm.offset,
                         _primitive_value(em, oid_tlv, ""), 1, True, "the hash function's OID"),
                   Field("digest", digest.offset, digest.end - digest.offset,
                         em[digest.start:digest.end].hex(), 1, True,
                         "the hash of the TBSCertificate: compare with your own")]
    except (DecodeError, ValueError):
        fields.append(Field("DigestInfo?", separator + 1, k - separator - 1, "not DER", 0, True, ""))
    return em, fields


# ---------------------------------------------------------------------------------------------
# OCSP stapling on the wire (RFC 6066 §8; TLS 1.3: RFC 8446 §4.4.2.1)
# ---------------------------------------------------------------------------------------------


def status_request_offer() -> Extension:
    """The ClientHello extension status_request (5) asking for a stapled OCSP response:
    CertificateStatusRequest { status_type ocsp (1), responder_id_list <0>, request_extensions
    <0> } (RFC 6066 §8)."""
    return Extension(ExtensionType.status_request, b"\x01" + b"\x00\x00" + b"\x00\x00")


def certificate_status(ocsp_der: bytes) -> bytes:
    """CertificateStatus { status_type ocsp (1), OCSPResponse response<1..2^24-1> } (RFC 6066 §8):
    the body of TLS 1.2's CertificateStatus message, and of TLS 1.3's status_request extension in
    the leaf's CertificateEntry (RFC 8446 §4.4.2.1)."""
    return b"\x01" + len(ocsp_der).to_bytes(3, "big") + bytes(ocsp_der)


def stapled_certificate_13(chain_der, ocsp_der: bytes) -> bytes:
    """A TLS 1.3 Certificate message (header included) carrying ``chain_der`` (leaf first) with
    the OCSP response stapled to the leaf's entry: what a TLS 1.3 server that staples sends
    (this package's server does not staple; the bytes come from the same codec it uses)."""
    chain = tuple(bytes(c) for c in chain_der)
    staple = Extension(ExtensionType.status_request, certificate_status(ocsp_der))
    entry_extensions = ((staple,),) + ((),) * (len(chain) - 1)
    return messages.encode_handshake(messages.Certificate(chain, tls13=True,
                                                          entry_extensions=entry_extensions))
