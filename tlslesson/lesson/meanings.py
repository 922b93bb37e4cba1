"""What each field of a handshake message is *for*: one line per field, with the RFC section.

The hex views (``hexview.hex_html`` legends, the explorer) show a field's name, offset, length and
decoded value; this module adds the fourth thing Illustrated TLS gives every byte: its meaning.
Field names are the ones ``messages.layout`` gives (the reader that decodes the messages), so a
new field without a line here shows up in ``missing()`` — and in a test.

>>> meaning("random", "ServerHello", "1.2").startswith("32 bytes the server chose")
True
>>> meaning("cipher_suites length", "ClientHello")
'how many bytes the cipher_suites list takes (2 per suite): the length prefix every TLS vector carries (RFC 8446 §3.4)'
>>> meaning("key_share extension_data", "ServerHello")[:34]
'key_share (RFC 8446 §4.2.8): the s'
"""
from __future__ import annotations

# (message, name) first, then name alone; message None means "any".  Versions: a third key
# element "1.2"/"1.3" where the two differ.
_BY_MESSAGE: dict[tuple, str] = {
    ("ClientHello", "legacy_version"):
        "the highest version the client speaks in TLS 1.2 terms; a TLS 1.3 client still says 0x0303 "
        "and lists its versions in supported_versions (RFC 8446 §4.1.2)",
    ("ServerHello", "legacy_version"):
        "the version the server chose (TLS 1.2, RFC 5246 §7.4.1.3); a TLS 1.3 server says 0x0303 here "
        "and puts 0x0304 in supported_versions (RFC 8446 §4.1.3)",
    ("ClientHello", "random"):
        "32 bytes the client chose for this handshake: an input to every key (RFC 5246 §7.4.1.2, "
        "RFC 8446 §4.1.2)",
    ("ServerHello", "random", "1.2"):
        "32 bytes the server chose: with the client's, an input to the keys; its last 8 bytes carry the "
        "downgrade sentinel when a 1.3-capable server settles for less (RFC 8446 §4.1.3)",
    ("ServerHello", "random", "1.3"):
        "32 bytes the server chose, hashed into the transcript and so into every key; the fixed value "
        "SHA-256(\"HelloRetryRequest\") would make this a HelloRetryRequest (RFC 8446 §4.1.3)",
    ("ClientHello", "legacy_session_id"):
        "TLS 1.2: a session to resume (empty: a new one); TLS 1.3: in middlebox compatibility mode 32 "
        "random bytes the server echoes (RFC 8446 §4.1.2, App. D.4)",
    ("ServerHello", "legacy_session_id"):
        "TLS 1.2: the session's ID, for resumption later (RFC 5246 §7.4.1.3); TLS 1.3: the client's "
        "value echoed (RFC 8446 §4.1.3)",
    ("ClientHello", "cipher_suites"):
        "the suites the client accepts, most preferred first (RFC 5246 §7.4.1.2)",
    ("ClientHello", "cipher_suite"):
        "one suite the client offers: a 2-byte IANA code (0x00ff is a signal, RFC 5746 §3.3, not a suite)",
    ("ServerHello", "cipher_suite"):
        "the one suite the server chose from the client's list: it fixes the key exchange (1.2), "
        "cipher and hash for the whole connection (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3)",
    ("ClientHello", "legacy_compression_methods"):
        "compression methods offered: only null (0); TLS 1.3 requires exactly that (RFC 8446 §4.1.2), "
        "and compression is gone because of CRIME",
    ("ServerHello", "legacy_compression_method"):
        "the compression the server chose: null (0), always, in this package",
    ("ClientHello", "extensions"): "everything newer than the 1999 hello: a list of (type, length, data)",
    ("ServerHello", "extensions"):
        "the server's answers: only extensions the client offered may appear (RFC 8446 §4.2)",
    ("EncryptedExtensions", "extensions"):
        "the server's answers that need no key and need not be in clear (server_name ack, "
        "supported_groups, ALPN...): the first encrypted message (RFC 8446 §4.3.1)",
    ("Certificate", "extensions"):
        "per-certificate extensions, TLS 1.3 only (RFC 8446 §4.4.2): a stapled OCSP response "
        "(status_request) or SCTs (signed_certificate_timestamp), RFC 8446 §4.4.2.1; empty when the "
        "server staples nothing, as the lesson server",
    ("Certificate", "status_request extension_data"):
        "a stapled CertificateStatus: status_type ocsp (1), a 3-byte length, then the DER OCSPResponse "
        "the server fetched from its CA (RFC 8446 §4.4.2.1, RFC 6066 §8)",
    ("Certificate", "signed_certificate_timestamp extension_data"):
        "a SignedCertificateTimestampList: the server's SCTs from CT logs (RFC 6962 §3.3, RFC 8446 "
        "§4.4.2.1)",
    ("CertificateRequest", "extensions"):
        "TLS 1.3: what the server requires of the client's certificate (signature_algorithms is "
        "mandatory, RFC 8446 §4.3.2)",
    ("ClientHello", "extension_type"): "which extension follows: a 2-byte IANA code",
    ("ServerHello", "extension_type"): "which extension follows: a 2-byte IANA code",
    ("ServerKeyExchange", "signature", "1.2"):
        "the server's signature over client_random + server_random + these parameters: it proves the "
        "key share comes from the certificate's owner, for this handshake (RFC 5246 §7.4.3, RFC 8422 §5.4)",
    ("ServerKeyExchange", "signature_scheme"):
        "the hash + signature algorithm of the signature that follows (RFC 5246 §7.4.1.4.1)",
    ("CertificateVerify", "signature_scheme"): "the algorithm of the signature that follows (RFC 8446 §4.4.3)",
    ("CertificateVerify", "signature", "1.3"):
        "a signature over 64 spaces + \"TLS 1.3, server CertificateVerify\" (or client) + 0x00 + "
        "Transcript-Hash(ClientHello … Certificate): proof of the certificate's private key, bound to this "
        "handshake (RFC 8446 §4.4.3)",
    ("CertificateVerify", "signature", "1.2"):
        "the client's signature over all handshake messages so far: proof it holds its certificate's key "
        "(RFC 5246 §7.4.8)",
    ("ClientHello", "scheme"): "one signature algorithm the client accepts (RFC 8446 §4.2.3)",
    ("CertificateRequest", "scheme"): "one signature algorithm the server accepts from the client",
    ("ClientHello", "group"): "one (EC)DH group the client supports (RFC 8446 §4.2.7)",
    ("ServerHello", "group"): "the group of the server's key share: one the client offered (RFC 8446 §4.2.8)",
    ("ClientHello", "key_exchange"):
        "the client's ephemeral public key for that group (x25519: 32 bytes; P-256: 65, uncompressed)",
    ("ServerHello", "key_exchange"):
        "the server's ephemeral public key: with the client's private key it gives the shared secret",
    ("ClientHello", "version"): "one version the client supports (0x0304 = TLS 1.3)",
    ("Certificate", "certificate_request_context"):
        "empty in the server's Certificate; echoes CertificateRequest's context in the client's (RFC 8446 §4.4.2)",
    ("CertificateRequest", "certificate_request_context"):
        "an ID the client's Certificate must echo (empty during the handshake, RFC 8446 §4.3.2)",
}

_BY_NAME: dict[str, str] = {
    # the 4-byte handshake header
    "msg_type": "which handshake message this is (RFC 8446 §4, RFC 5246 §7.4)",
    # record layer
    "content_type": "what the record carries: 22 handshake, 20 change_cipher_spec, 21 alert, 23 application "
                    "data (TLS 1.3 protected records always say 23, RFC 8446 §5.2)",
    "legacy_record_version": "0x0303 (0x0301 on a first ClientHello); ignored by a TLS 1.3 receiver "
                             "(RFC 8446 §5.1)",
    "length": "how many bytes of fragment follow (at most 2^14 plaintext, RFC 8446 §5.1)",
    "fragment (plaintext)": "the message itself, readable by anyone on the path",
    "fragment (encrypted)": "the protected fragment: only the two endpoints can read it",
    "explicit nonce (sequence number)":
        "TLS 1.2 AES-GCM: the 8 nonce bytes sent with the record (RFC 5288 §3); this package, like most "
        "stacks, uses the sequence number. The receiver takes them from the record, so only seq_num in "
        "the additional data catches a replay (RFC 5246 §6.2.3.3)",
    "ciphertext": "the encrypted message, as long as the plaintext (a stream/AEAD cipher adds no padding)",
    "ciphertext (message + HMAC + padding)":
        "TLS 1.2 CBC, MAC-then-encrypt: message, HMAC and padding encrypted together; the receiver "
        "finds MAC and padding only after decrypting (RFC 5246 §6.2.3.2)",
    "ciphertext (message + padding)": "TLS 1.2 CBC, encrypt-then-MAC: message and padding encrypted (RFC 7366 §3)",
    "encrypted_record (message + content type)":
        "TLS 1.3: the encrypted TLSInnerPlaintext — message, its real content type, optional zero "
        "padding (RFC 8446 §5.2)",
    "AEAD tag": "the 16-byte authentication tag over ciphertext and additional data: one changed bit "
                "and the record is refused with bad_record_mac",
    "IV (explicit, per record)": "TLS 1.2 CBC: a fresh random IV in every record (RFC 5246 §6.2.3.2)",
    "change_cipher_spec": "one byte, 1: \"my next records are protected with the new keys\" (RFC 5246 §7.1)",
    "alert level": "1 warning, 2 fatal (RFC 5246 §7.2); in TLS 1.3 the description decides: every "
                   "error alert is fatal (RFC 8446 §6)",
    "alert description": "what went wrong (or close_notify: \"I will send no more\", RFC 8446 §6)",
    "application_data": "the application's bytes (an HTTP request, ...)",
    # hellos
    "random": "32 random bytes (RFC 5246 §7.4.1.2)",
    "legacy_session_id": "a session ID (TLS 1.2) or a compatibility value (TLS 1.3)",
    "cipher_suite": "a cipher suite: a 2-byte IANA code",
    "extension_type": "which extension follows: a 2-byte IANA code",
    "extensions": "a list of extensions: (type, length, data) each",
    "server_name extension_data":
        "server_name / SNI (RFC 6066 §3): which host the client wants, so one address can serve many "
        "certificates — sent in clear",
    "server_name_list": "the names (one, in practice)",
    "name_type": "0 = host_name, the only type defined",
    "host_name": "the DNS name the client will check the certificate against",
    "supported_groups extension_data":
        "supported_groups (RFC 8446 §4.2.7, RFC 8422 §5.1.1): the (EC)DH groups the client can use",
    "named_group_list": "the groups, most preferred first",
    "ec_point_formats extension_data":
        "ec_point_formats (RFC 8422 §5.1.2): how EC points are written; only uncompressed is left",
    "ec_point_format_list": "0 = uncompressed (04 || x || y)",
    "signature_algorithms extension_data":
        "signature_algorithms (RFC 8446 §4.2.3, RFC 5246 §7.4.1.4.1): the signatures the sender accepts — "
        "in ServerKeyExchange/CertificateVerify and, unless signature_algorithms_cert says otherwise, in "
        "certificates",
    "supported_signature_algorithms": "the schemes, most preferred first",
    "extended_master_secret extension_data":
        "extended_master_secret (RFC 7627): empty; both sides agree the master secret covers the session "
        "hash, which defeats the triple-handshake attack",
    "renegotiation_info extension_data":
        "renegotiation_info (RFC 5746): binds a renegotiation to the connection it happens on",
    "renegotiated_connection": "empty on a first handshake; the previous verify_data on a renegotiation",
    "supported_versions extension_data":
        "supported_versions (RFC 8446 §4.2.1): the real version negotiation of TLS 1.3",
    "versions": "the versions the client speaks, most preferred first",
    "version": "a protocol version (0x0303 = TLS 1.2, 0x0304 = TLS 1.3)",
    "selected_version": "the version the server chose: 0x0304 makes this a TLS 1.3 handshake",
    "key_share extension_data":
        "key_share (RFC 8446 §4.2.8): the sender's ephemeral (EC)DH public key(s), one per group",
    "client_shares": "one key share per group the client guessed the server will take",
    "group": "a named (EC)DH group (RFC 8446 §4.2.7)",
    "key_exchange": "an ephemeral public key",
    "psk_key_exchange_modes extension_data":
        "psk_key_exchange_modes (RFC 8446 §4.2.9): how a resumed session may be keyed",
    "ke_modes": "1 = psk_dhe_ke (PSK with a fresh (EC)DHE: forward secret); 0 would be psk_ke (PSK alone)",
    # what browsers add (serve --explain and captures show them; one line each, with the spec)
    "status_request extension_data":
        "status_request (RFC 6066 §8): \"staple an OCSP response\": the server may send fresh proof "
        "that its certificate is not revoked, so the client need not ask the CA",
    "application_layer_protocol_negotiation extension_data":
        "ALPN (RFC 7301): the application protocols the client speaks (h2, http/1.1), preferred "
        "first; the server picks one — in clear in the ClientHello",
    "protocol_name_list": "the protocols, most preferred first",
    "ProtocolName": "one protocol name, ASCII (68 32 = \"h2\", 68 74 74 70 2f 31 2e 31 = "
                    "\"http/1.1\")",
    "signed_certificate_timestamp extension_data":
        "signed_certificate_timestamp (RFC 6962 §3.3): empty; \"send me Certificate Transparency "
        "proofs\" — that the certificate was logged publicly",
    "session_ticket extension_data":
        "session_ticket (RFC 5077): TLS 1.2 resumption by ticket; empty means \"I have none, give "
        "me one\"",
    "ticket": "a ticket from an earlier connection (empty: none yet)",
    "compress_certificate extension_data":
        "compress_certificate (RFC 8879): the algorithms (1 zlib, 2 brotli, 3 zstd) the server "
        "may compress its Certificate message with",
    "application_settings extension_data":
        "application_settings / ALPS (draft-vvv-tls-alps, Chromium): settings for the protocol "
        "ALPN picks (HTTP/2 SETTINGS), sent in the handshake; servers that don't know it ignore it",
    "application_settings_old extension_data":
        "ALPS under its first codepoint (0x4469): what Chromium sent before 0x44cd",
    "encrypted_client_hello extension_data":
        "encrypted_client_hello / ECH (draft-ietf-tls-esni): the real ClientHello (with the real "
        "server name) encrypted to a key the server publishes in DNS; without one, GREASE ECH: "
        "random bytes of the same shape, so real ECH does not stand out",
    "trust_anchors extension_data":
        "trust_anchors (draft-ietf-tls-trust-anchor-ids, 0xca34): the root CAs the client trusts, "
        "as short IDs, so a server with several chains can send one the client accepts",
    "padding extension_data":
        "padding (RFC 7685): zeros that bring the ClientHello past a length some old servers "
        "choked on",
    "pre_shared_key extension_data":
        "pre_shared_key (RFC 8446 §4.2.11): the tickets offered for resumption, with binders "
        "proving the client holds their keys; always the last extension",
    "early_data extension_data":
        "early_data (RFC 8446 §4.2.10): 0-RTT data follows this ClientHello, under a key from "
        "the ticket",
    "cookie extension_data":
        "cookie (RFC 8446 §4.2.2): the value a HelloRetryRequest gave, sent back",
    "record_size_limit extension_data":
        "record_size_limit (RFC 8449): the largest record plaintext the sender will accept",
    "encrypt_then_mac extension_data":
        "encrypt_then_mac (RFC 7366): empty; TLS 1.2 CBC suites MAC the ciphertext, not the "
        "plaintext (no padding oracle)",
    "post_handshake_auth extension_data":
        "post_handshake_auth (RFC 8446 §4.2.6): empty; the server may ask for a client certificate "
        "after the handshake",
    "signature_algorithms_cert extension_data":
        "signature_algorithms_cert (RFC 8446 §4.2.3): signatures accepted in certificates, when "
        "they differ from those in the handshake",
    "delegated_credential extension_data":
        "delegated_credential (RFC 9345): the signature schemes of a short-lived credential the "
        "certificate's owner may delegate to the server",
    "next_protocol_negotiation extension_data": "NPN: ALPN's predecessor, never standardised",
    "legacy_compression_methods": "compression methods offered: null (0) only",
    "legacy_compression_method": "the compression chosen: null (0)",
    # certificates
    "certificate_list": "the chain: the server's own certificate first, then the CAs that sign it "
                        "(not the root: the client has its own, RFC 8446 §4.4.2, RFC 5246 §7.4.2)",
    "cert_data": "one X.509 certificate, DER-encoded (notebook 03 takes one apart)",
    "certificate_request_context": "an ID that ties a Certificate to its request",
    "certificate_types": "TLS 1.2: the kinds of key the server accepts (1 rsa_sign, 64 ecdsa_sign, "
                         "RFC 5246 §7.4.4)",
    "certificate_authorities": "the CAs the server trusts for client certificates (their names)",
    "distinguished_name": "one CA's name, DER-encoded",
    # key exchange
    "curve_type": "3 = named_curve: the group is named, not spelled out (RFC 8422 §5.4)",
    "named_curve": "the (EC)DH group of the server's share (RFC 8422 §5.4)",
    "public": "the server's ephemeral public key (RFC 8422 §5.4)",
    "dh_p": "the prime modulus of the server's DH group: sent in full (Logjam: some were 512 bits)",
    "dh_g": "the generator of the group",
    "dh_Ys": "the server's DH public value g^y mod p",
    "dh_Yc": "the client's DH public value g^x mod p (RFC 5246 §7.4.7.2)",
    "ecdh_Yc": "the client's ephemeral EC public key (RFC 8422 §5.7)",
    "encrypted_pre_master_secret":
        "the 48-byte pre-master secret (2 version bytes + 46 random) encrypted to the server's RSA key "
        "(PKCS#1 v1.5): no forward secrecy (RFC 5246 §7.4.7.1)",
    "signature_scheme": "the signature algorithm used (RFC 8446 §4.2.3)",
    "scheme": "a signature scheme (RFC 8446 §4.2.3)",
    "signature": "a signature by the sender's certificate key",
    # finishing
    "verify_data": "HMAC / PRF over the whole transcript with the new keys: the handshake was not "
                   "tampered with and the peer has the same keys (RFC 5246 §7.4.9, RFC 8446 §4.4.4)",
}


def _generic(name: str, message: str | None, version: str | None) -> str | None:
    if name.endswith(" length"):
        inner = name[:-len(" length")]
        if inner.endswith(" body"):
            return ("length of the message body (3 bytes): a reader knows where the message ends "
                    "before parsing it (RFC 8446 §4)")
        if inner.endswith(" extension_data"):
            return f"how many bytes of {inner.split()[0]} data follow"
        per = {"cipher_suites": " (2 per suite)", "named_group_list": " (2 per group)",
               "supported_signature_algorithms": " (2 per scheme)", "versions": " (2 per version)"}
        return (f"how many bytes the {inner} list takes{per.get(inner, '')}: the length prefix every "
                "TLS vector carries (RFC 8446 §3.4)" if inner in per else
                f"how many bytes {inner} takes: the length prefix every TLS vector carries "
                "(RFC 8446 §3.4)")
    if name.startswith("HMAC-"):
        return "TLS 1.2 encrypt-then-MAC: the HMAC over the IV and ciphertext, checked before decrypting (RFC 7366 §3)"
    if name.endswith(" body"):
        return f"the {message or 'message'} body: everything after the 4-byte handshake header"
    return None


def meaning(name: str, message: str | None = None, version: str | None = None) -> str:
    """One line on what field ``name`` of ``message`` ("ClientHello", ...) is for; "" if unknown."""
    for key in ((message, name, version), (message, name)):
        if key in _BY_MESSAGE:
            return _BY_MESSAGE[key]
    generic = _generic(name, message, version)
    if generic is not None:
        return generic
    return _BY_NAME.get(name, "")


# What each message does, one sentence (the explorer's caption for a step).
STEP_NOTES: dict[tuple, str] = {
    ("ClientHello", "1.2"): "The client proposes: versions, suites, groups, signature schemes, and its random "
                            "(RFC 5246 §7.4.1.2). Sent in clear.",
    ("ClientHello", "1.3"): "The client proposes and, guessing the group, already sends its key share: the "
                            "server can answer with keys in one round trip (RFC 8446 §4.1.2).",
    ("ServerHello", "1.2"): "The server picks the version, the suite and its random (RFC 5246 §7.4.1.3).",
    ("ServerHello", "1.3"): "The server picks the suite and sends its own key share: from here both sides "
                            "have the handshake keys, and everything after is encrypted (RFC 8446 §4.1.3).",
    ("Certificate", "1.2"): "The server's certificate chain, leaf first, in clear (RFC 5246 §7.4.2).",
    ("Certificate", "1.3"): "The certificate chain, now encrypted, each entry with its own extensions "
                            "(RFC 8446 §4.4.2).",
    ("ServerKeyExchange", "1.2"): "The server's ephemeral (EC)DH share, signed together with both randoms "
                                  "(RFC 5246 §7.4.3, RFC 8422 §5.4).",
    ("CertificateRequest", "1.2"): "The server asks the client for a certificate (RFC 5246 §7.4.4).",
    ("CertificateRequest", "1.3"): "The server asks the client for a certificate (RFC 8446 §4.3.2).",
    ("ServerHelloDone", "1.2"): "\"That is all from me\": the client's turn (RFC 5246 §7.4.5).",
    ("ClientKeyExchange", "1.2"): "The client's half of the key exchange: after it both sides compute the "
                                  "pre-master and master secret (RFC 5246 §7.4.7).",
    ("CertificateVerify", "1.2"): "The client signs the handshake so far: proof it holds its certificate's "
                                  "key (RFC 5246 §7.4.8).",
    ("CertificateVerify", "1.3"): "A signature over the transcript with the certificate's key: proof of "
                                  "possession, bound to this handshake (RFC 8446 §4.4.3).",
    ("ChangeCipherSpec", "1.2"): "\"From my next record on, I encrypt\" (RFC 5246 §7.1).",
    ("ChangeCipherSpec", "1.3"): "A dummy for middleboxes, ignored by the peer (RFC 8446 App. D.4).",
    ("Finished", "1.2"): "The first message under the new keys: a MAC over the whole handshake "
                         "(RFC 5246 §7.4.9).",
    ("Finished", "1.3"): "An HMAC over the transcript with a key from the handshake traffic secret "
                         "(RFC 8446 §4.4.4).",
    ("EncryptedExtensions", "1.3"): "The server's extension answers that don't belong in ServerHello, "
                                    "encrypted (RFC 8446 §4.3.1).",
    ("NewSessionTicket", "1.3"): "After the handshake: a ticket to resume this session later "
                                 "(RFC 8446 §4.6.1).",
    ("ApplicationData", "1.2"): "The application's bytes, protected with the traffic keys.",
    ("ApplicationData", "1.3"): "The application's bytes, protected with the application traffic keys.",
    ("Alert", "1.2"): "An alert: a closure (close_notify) or an error (RFC 5246 §7.2).",
    ("Alert", "1.3"): "An alert: a closure (close_notify) or an error (RFC 8446 §6).",
}


def step_note(name: str, version: str) -> str:
    """One sentence on what message ``name`` does in TLS ``version``; "" if none."""
    return STEP_NOTES.get((name, version), "")
