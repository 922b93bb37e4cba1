"""Registry values from the IANA TLS parameters (RFC 5246, 8422, 8446, 7627, 5746, 7919)."""
from enum import IntEnum


class ContentType(IntEnum):  # RFC 5246 §6.2.1, RFC 8446 §5.1
    change_cipher_spec = 20
    alert = 21
    handshake = 22
    application_data = 23


class HandshakeType(IntEnum):  # RFC 5246 §7.4, RFC 8446 §4
    hello_request = 0
    client_hello = 1
    server_hello = 2
    new_session_ticket = 4
    end_of_early_data = 5
    encrypted_extensions = 8
    certificate = 11
    server_key_exchange = 12
    certificate_request = 13
    server_hello_done = 14
    certificate_verify = 15
    client_key_exchange = 16
    finished = 20
    key_update = 24
    message_hash = 254


class AlertLevel(IntEnum):
    warning = 1
    fatal = 2


class AlertDescription(IntEnum):  # RFC 8446 §6
    close_notify = 0
    unexpected_message = 10
    bad_record_mac = 20
    decryption_failed_RESERVED = 21   # TLS 1.0's padding alert; RFC 4346 §7.2.2: never send it
    record_overflow = 22
    handshake_failure = 40
    bad_certificate = 42
    unsupported_certificate = 43
    certificate_revoked = 44
    certificate_expired = 45
    certificate_unknown = 46
    illegal_parameter = 47
    unknown_ca = 48
    access_denied = 49
    decode_error = 50
    decrypt_error = 51
    protocol_version = 70
    insufficient_security = 71
    internal_error = 80
    inappropriate_fallback = 86
    user_canceled = 90
    no_renegotiation = 100
    missing_extension = 109
    unsupported_extension = 110
    unrecognized_name = 112
    bad_certificate_status_response = 113
    unknown_psk_identity = 115
    certificate_required = 116
    no_application_protocol = 120


class ExtensionType(IntEnum):
    server_name = 0
    status_request = 5
    supported_groups = 10
    ec_point_formats = 11
    signature_algorithms = 13
    application_layer_protocol_negotiation = 16
    signed_certificate_timestamp = 18
    padding = 21
    encrypt_then_mac = 22
    extended_master_secret = 23
    record_size_limit = 28
    session_ticket = 35
    pre_shared_key = 41
    early_data = 42
    supported_versions = 43
    cookie = 44
    psk_key_exchange_modes = 45
    certificate_authorities = 47
    post_handshake_auth = 49
    signature_algorithms_cert = 50
    key_share = 51
    # What browsers send today (IANA TLS ExtensionType Values), so a capture names them
    status_request_v2 = 17
    client_certificate_type = 19
    server_certificate_type = 20
    compress_certificate = 27               # RFC 8879
    delegated_credential = 34               # RFC 9345
    oid_filters = 48
    next_protocol_negotiation = 13172       # 0x3374, never registered: the pre-ALPN draft
    application_settings_old = 17513        # 0x4469, ALPS (Chromium's first codepoint)
    application_settings = 17613            # 0x44cd, ALPS
    encrypted_client_hello = 0xFE0D         # draft-ietf-tls-esni (ECH); Chromium sends GREASE ECH
    trust_anchors = 0xCA34                  # draft-ietf-tls-trust-anchor-ids (Chromium sends it)
    renegotiation_info = 0xFF01


class NamedGroup(IntEnum):  # RFC 8422 §5.1.1, RFC 7919, RFC 8446 §4.2.7
    secp256r1 = 0x0017
    secp384r1 = 0x0018
    secp521r1 = 0x0019
    x25519 = 0x001D
    x448 = 0x001E
    ffdhe2048 = 0x0100
    ffdhe3072 = 0x0101
    ffdhe4096 = 0x0102
    brainpoolP256r1tls13 = 0x001F   # RFC 8734
    brainpoolP384r1tls13 = 0x0020
    brainpoolP512r1tls13 = 0x0021
    ffdhe6144 = 0x0103
    ffdhe8192 = 0x0104
    MLKEM512 = 0x0200               # draft-ietf-tls-mlkem
    MLKEM768 = 0x0201
    MLKEM1024 = 0x0202
    SecP256r1MLKEM768 = 0x11EB      # draft-ietf-tls-ecdhe-mlkem
    X25519MLKEM768 = 0x11EC
    SecP384r1MLKEM1024 = 0x11ED
    X25519Kyber768Draft00 = 0x6399  # the pre-standard hybrid Chromium 124-130 sent


class SignatureScheme(IntEnum):  # RFC 8446 §4.2.3 (1.2's (hash, signature) pairs read as one uint16)
    rsa_pkcs1_sha1 = 0x0201
    ecdsa_sha1 = 0x0203
    rsa_pkcs1_sha256 = 0x0401
    rsa_pkcs1_sha384 = 0x0501
    rsa_pkcs1_sha512 = 0x0601
    ecdsa_secp256r1_sha256 = 0x0403
    ecdsa_secp384r1_sha384 = 0x0503
    ecdsa_secp521r1_sha512 = 0x0603
    rsa_pss_rsae_sha256 = 0x0804
    rsa_pss_rsae_sha384 = 0x0805
    rsa_pss_rsae_sha512 = 0x0806
    ed25519 = 0x0807
    ed448 = 0x0808
    rsa_pss_pss_sha256 = 0x0809
    rsa_pss_pss_sha384 = 0x080A
    rsa_pss_pss_sha512 = 0x080B
    # IANA TLS SignatureScheme, for names in a capture (the package signs with the ones above)
    ecdsa_brainpoolP256r1tls13_sha256 = 0x081A    # RFC 8734
    ecdsa_brainpoolP384r1tls13_sha384 = 0x081B
    ecdsa_brainpoolP512r1tls13_sha512 = 0x081C
    mldsa44 = 0x0904                              # draft-ietf-tls-mldsa: post-quantum signatures
    mldsa65 = 0x0905
    mldsa87 = 0x0906


class ProtocolVersion(IntEnum):
    SSL30 = 0x0300
    TLS10 = 0x0301
    TLS11 = 0x0302
    TLS12 = 0x0303
    TLS13 = 0x0304


# RFC 5746 §3.3: the signalling cipher suite value that stands in for an empty renegotiation_info.
TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF
# RFC 7507 §6: a client retrying with a lower version than it supports says so.
TLS_FALLBACK_SCSV = 0x5600

# RFC 8446 §4.1.3: the last 8 bytes of ServerHello.random when a TLS 1.3 server negotiates lower.
DOWNGRADE_TLS12 = bytes.fromhex("444f574e47524401")  # "DOWNGRD" 01
DOWNGRADE_TLS11 = bytes.fromhex("444f574e47524400")

# RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest (SHA-256 of "HelloRetryRequest").
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")


def is_grease(value: int) -> bool:
    """RFC 8701: the 16 reserved values 0x0A0A, 0x1A1A, ... 0xFAFA that clients sprinkle into
    cipher suites, extensions, groups, versions and signature schemes, so that servers which
    choke on values they don't know get found (and fixed) before a real new value needs them."""
    return value & 0x0F0F == 0x0A0A and value >> 12 == (value >> 4) & 0x0F


def name_of(enum_cls, value: int) -> str:
    """'x25519' for a known value, 'GREASE(0x1a1a)' for an RFC 8701 value, 'unknown(0x1234)' for
    one the registry doesn't hold here."""
    try:
        return enum_cls(value).name
    except ValueError:
        if is_grease(value):
            return f"GREASE(0x{value:04x})"
        return f"unknown(0x{value:04x})"
