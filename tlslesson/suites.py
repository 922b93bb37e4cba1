"""The cipher-suite table: the single place that knows what a suite name means.

A TLS 1.2 suite name reads ``TLS_<key exchange>_<authentication>_WITH_<cipher>_<MAC or PRF hash>``;
a TLS 1.3 suite names only the AEAD and the hash (key exchange and authentication are negotiated
separately, in key_share and signature_algorithms).
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import AlertError
from .constants import AlertDescription


@dataclass(frozen=True)
class CipherSuite:
    code: int            # the two bytes on the wire
    name: str            # IANA name
    openssl_name: str    # what `openssl ciphers` calls it
    version: str         # "1.2" or "1.3"
    kx: str | None       # key exchange: "RSA", "ECDHE", "DHE" (None in 1.3: always (EC)DHE)
    auth: str | None     # whose signature proves the server: "RSA", "ECDSA" (None in 1.3)
    cipher: str          # bulk encryption: "AES_128_GCM", "AES_256_GCM", "CHACHA20_POLY1305", "AES_128_CBC",
                         # "AES_256_CBC", "AES_128_CCM"
    key_length: int      # bytes of cipher key
    iv_length: int       # bytes of IV taken from the key block (1.2) / traffic secret (1.3)
    mac: str | None      # HMAC hash for CBC suites (MAC-then-encrypt): "SHA1", "SHA256", "SHA384"; None: AEAD
    mac_length: int      # bytes of MAC key and tag (0 for AEAD)
    hash: str            # PRF hash (1.2) / HKDF hash (1.3): "SHA256" or "SHA384"

    @property
    def aead(self) -> bool:
        return self.mac is None

    @property
    def forward_secret(self) -> bool:
        return self.kx != "RSA"

    def parts(self) -> dict[str, str]:
        """The suite name taken apart, for the suite picker."""
        if self.version == "1.3":
            return {"key exchange": "(EC)DHE, from key_share", "authentication":
                    "from signature_algorithms", "cipher": self.cipher, "hash": self.hash}
        return {"key exchange": self.kx, "authentication": self.auth, "cipher": self.cipher,
                "MAC": f"HMAC-{self.mac}" if self.mac else "AEAD (no separate MAC)",
                "PRF hash": self.hash}

    def __str__(self) -> str:
        return self.name


def _s(code, name, openssl_name, kx, auth, cipher, key, iv, mac, mac_len, hash_):
    return CipherSuite(code, name, openssl_name, "1.3" if kx is None else "1.2",
                       kx, auth, cipher, key, iv, mac, mac_len, hash_)


# The default offer (ClientConfig/ServerConfig.suites), in preference order.
# RFC 5288 (GCM: 4-byte implicit IV), RFC 7905 (ChaCha20: 12-byte IV), RFC 5246 (CBC: IV per record)
SUITES: tuple[CipherSuite, ...] = (
    _s(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
       "ECDHE", "RSA", "AES_128_GCM", 16, 4, None, 0, "SHA256"),
    _s(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
       "ECDHE", "RSA", "AES_256_GCM", 32, 4, None, 0, "SHA384"),
    _s(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256",
       "ECDHE", "ECDSA", "AES_128_GCM", 16, 4, None, 0, "SHA256"),
    _s(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305",
       "ECDHE", "RSA", "CHACHA20_POLY1305", 32, 12, None, 0, "SHA256"),
    _s(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256",
       "DHE", "RSA", "AES_128_GCM", 16, 4, None, 0, "SHA256"),
    _s(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256",
       "RSA", "RSA", "AES_128_GCM", 16, 4, None, 0, "SHA256"),
    _s(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA",
       "RSA", "RSA", "AES_128_CBC", 16, 16, "SHA1", 20, "SHA256"),
    _s(0x1301, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256",
       None, None, "AES_128_GCM", 16, 12, None, 0, "SHA256"),
    _s(0x1302, "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384",
       None, None, "AES_256_GCM", 32, 12, None, 0, "SHA384"),
    _s(0x1303, "TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256",
       None, None, "CHACHA20_POLY1305", 32, 12, None, 0, "SHA256"),
)

# More of what real clients offer, known by name and code but not in the default offer above (the
# lessons print that offer's ClientHello byte for byte): pass them in ClientConfig/ServerConfig
# ``suites``. CBC with HMAC-SHA1 keeps TLS 1.2's SHA-256 PRF (RFC 5246 §5); RFC 5289 §3.2 and
# RFC 5246 App. A.5's _SHA256/_SHA384 CBC suites use that hash for both the HMAC and the PRF;
# AES-256-GCM suites use SHA-384 (RFC 5288 §3, RFC 5289 §3.2). AES-CCM: RFC 8446 §B.4, 16-byte tag.
MORE_SUITES: tuple[CipherSuite, ...] = (
    _s(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384",
       "ECDHE", "ECDSA", "AES_256_GCM", 32, 4, None, 0, "SHA384"),
    _s(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305",
       "ECDHE", "ECDSA", "CHACHA20_POLY1305", 32, 12, None, 0, "SHA256"),
    _s(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA",
       "ECDHE", "RSA", "AES_128_CBC", 16, 16, "SHA1", 20, "SHA256"),
    _s(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA",
       "ECDHE", "RSA", "AES_256_CBC", 32, 16, "SHA1", 20, "SHA256"),
    _s(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA",
       "ECDHE", "ECDSA", "AES_128_CBC", 16, 16, "SHA1", 20, "SHA256"),
    _s(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA",
       "ECDHE", "ECDSA", "AES_256_CBC", 32, 16, "SHA1", 20, "SHA256"),
    _s(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256",
       "ECDHE", "RSA", "AES_128_CBC", 16, 16, "SHA256", 32, "SHA256"),
    _s(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA-AES256-SHA384",
       "ECDHE", "RSA", "AES_256_CBC", 32, 16, "SHA384", 48, "SHA384"),
    _s(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256",
       "ECDHE", "ECDSA", "AES_128_CBC", 16, 16, "SHA256", 32, "SHA256"),
    _s(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384",
       "ECDHE", "ECDSA", "AES_256_CBC", 32, 16, "SHA384", 48, "SHA384"),
    _s(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256",
       "RSA", "RSA", "AES_128_CBC", 16, 16, "SHA256", 32, "SHA256"),
    _s(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256",
       "RSA", "RSA", "AES_256_CBC", 32, 16, "SHA256", 32, "SHA256"),
    _s(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA",
       "RSA", "RSA", "AES_256_CBC", 32, 16, "SHA1", 20, "SHA256"),
    _s(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-RSA-AES256-GCM-SHA384",
       "DHE", "RSA", "AES_256_GCM", 32, 4, None, 0, "SHA384"),
    _s(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA-AES128-SHA",
       "DHE", "RSA", "AES_128_CBC", 16, 16, "SHA1", 20, "SHA256"),
    _s(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA",
       "DHE", "RSA", "AES_256_CBC", 32, 16, "SHA1", 20, "SHA256"),
    _s(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "DHE-RSA-AES128-SHA256",
       "DHE", "RSA", "AES_128_CBC", 16, 16, "SHA256", 32, "SHA256"),
    _s(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "DHE-RSA-AES256-SHA256",
       "DHE", "RSA", "AES_256_CBC", 32, 16, "SHA256", 32, "SHA256"),
    _s(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384",
       "RSA", "RSA", "AES_256_GCM", 32, 4, None, 0, "SHA384"),
    _s(0x1304, "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_SHA256",
       None, None, "AES_128_CCM", 16, 12, None, 0, "SHA256"),
)
ALL_SUITES = SUITES + MORE_SUITES     # every suite the engine implements

BY_CODE = {s.code: s for s in ALL_SUITES}
_BY_NAME = {n.upper(): s for s in ALL_SUITES for n in (s.name, s.openssl_name)}
TLS12_SUITES = tuple(s for s in SUITES if s.version == "1.2")    # the default offer, by version
TLS13_SUITES = tuple(s for s in SUITES if s.version == "1.3")


def get(name_or_code: str | int | CipherSuite) -> CipherSuite:
    """Look a suite up by IANA name, OpenSSL name or code: ``get("AES128-SHA")``."""
    if isinstance(name_or_code, CipherSuite):
        return name_or_code
    if isinstance(name_or_code, int):
        suite = BY_CODE.get(name_or_code)
    else:
        suite = _BY_NAME.get(name_or_code.strip().upper())
    if suite is None:
        # Asking for a suite we don't have is a mistake in the call, not a protocol event.
        raise KeyError(f"unknown cipher suite {name_or_code!r}; known: "
                       + ", ".join(s.openssl_name for s in ALL_SUITES))
    return suite


# IANA names of suites a capture may show that the engine does not implement (TLS Cipher Suites
# registry): enough to name what browsers, curl and old servers offer.
OTHER_IANA_NAMES = {
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0x0005: "TLS_RSA_WITH_RC4_128_SHA",
    0x0004: "TLS_RSA_WITH_RC4_128_MD5", 0x0016: "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0x0032: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", 0x0038: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
    0x0040: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256", 0x006A: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
    0x00A2: "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", 0x00A3: "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
    0x1305: "TLS_AES_128_CCM_8_SHA256", 0xC012: "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC008: "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", 0xCCAA: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xC09C: "TLS_RSA_WITH_AES_128_CCM", 0xC09D: "TLS_RSA_WITH_AES_256_CCM",
    0xC0AC: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", 0xC0AD: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
    0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", 0x5600: "TLS_FALLBACK_SCSV",
}


def iana_name(code: int) -> str:
    """The registry's name for a cipher suite code, implemented here or not: 'GREASE(0x4a4a)'
    for an RFC 8701 value, 'unknown(0x1234)' for one not in the table."""
    from .constants import is_grease
    suite = BY_CODE.get(code)
    if suite is not None:
        return suite.name
    if code in OTHER_IANA_NAMES:
        return OTHER_IANA_NAMES[code]
    return f"GREASE(0x{code:04x})" if is_grease(code) else f"unknown(0x{code:04x})"
