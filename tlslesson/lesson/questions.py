"""The "Check your understanding" questions of the lessons, kept here so that a notebook's cell
shows only ``quiz_for("07")`` — not the right answer next to the question.

A student who wants to read the answers can (this file is not secret); what matters is that the
answer is not in plain sight while they think. The questions are the models of ``quiz.py``
(``Question``, ``ValueQuestion``), so ``questions("07")[0].check(2)`` works without a browser.

>>> [len(questions(n)) >= 3 for n in LESSONS] == [True] * len(LESSONS)
True
>>> questions("09")[0].check("0x0303")[0]
True
"""
from __future__ import annotations

from .quiz import Question, ValueQuestion, view

QUESTIONS: dict[str, tuple[Question | ValueQuestion, ...]] = {
    "00": (
        Question(question='Which handshake messages of TLS 1.2 are encrypted?',
                 options=['All of them',
                          'None of them',
                          'Only the two Finished messages',
                          'Everything after the Certificate'],
                 answer=2,
                 explain=('Keys exist only after ClientKeyExchange; ChangeCipherSpec switches them '
                          'on, so the first protected message from each side is its Finished.')),
        Question(question='How does the server learn the master secret?',
                 options=['The client sends it in ClientKeyExchange',
                          'The server computes it from what was exchanged',
                          'It is in the certificate'],
                 answer=1,
                 explain=('Both sides compute it from the key exchange and the randoms; it never '
                          'crosses the wire.'),
                 hints={0: "Look again at 'seen on the wire' above."}),
        Question(question='Which message is the largest in the handshake above?',
                 options=['ClientHello',
                          'Certificate',
                          'ServerKeyExchange',
                          'Finished'],
                 answer=1,
                 explain=('The certificate chain (leaf + intermediate) is almost 2 KB: most of a '
                          "TLS 1.2 handshake's bytes.")),
    ),
    "01": (
        Question(question='Why does every ClientHello carry 32 fresh random bytes?',
                 options=['To encrypt the ClientHello',
                          "So keys derived for this connection differ from every other connection's",
                          'To pad the message to a fixed size'],
                 answer=1,
                 explain=('Both randoms are inputs to the master secret and the key block (notebook'
                          ' 05); the ClientHello itself is sent in clear.')),
        Question(question='What is 0x00FF at the end of the cipher-suite list?',
                 options=['The strongest suite',
                          'A signal that the client supports secure renegotiation (RFC 5746)',
                          'The end-of-list marker'],
                 answer=1,
                 explain=('TLS_EMPTY_RENEGOTIATION_INFO_SCSV is a signalling value; no server can '
                          'choose it.')),
        Question(question="A TLS 1.3 client's ClientHello has legacy_version = ...",
                 options=['0x0304 (TLS 1.3)',
                          '0x0303 (TLS 1.2); 1.3 is offered in supported_versions'],
                 answer=1,
                 explain=('Version negotiation moved into the supported_versions extension; the old'
                          ' field is frozen.')),
        ValueQuestion(question=('How many bytes long is the cipher_suites list of the two-suite '
                                'hello above (not counting its 2-byte length)? Type a number.'),
                      answer=6,
                      explain='Two suites (c02f, 002f) plus the 00ff signal: 3 codes x 2 bytes.',
                      hint='Each entry is a 2-byte code. Count the entries in the output above.'),
    ),
    "02": (
        Question(question=('The client lists AES-256 first, the server prefers AES-128. With server'
                           ' preference on, which is used?'),
                 options=['AES-256: the client asked first',
                          'AES-128: the server walks its own list',
                          'Neither: the handshake fails'],
                 answer=1,
                 explain=("choose_suite goes through the server's list in the server's order and "
                          'takes the first suite the client also offered.')),
        Question(question='In TLS_RSA_WITH_AES_128_CBC_SHA, what is SHA?',
                 options=['The hash of the PRF that derives the keys',
                          'HMAC-SHA1, the MAC on every record',
                          "The certificate's signature hash"],
                 answer=1,
                 explain=("In CBC suites the last part names the record MAC; TLS 1.2's PRF still "
                          'uses SHA-256.')),
        Question(question=('A 1.3-capable client receives a TLS 1.2 ServerHello whose random ends '
                           "in 'DOWNGRD' 01. What does it do?"),
                 options=['Continue with TLS 1.2',
                          'Abort with illegal_parameter: someone removed TLS 1.3 from its offer',
                          'Retry with TLS 1.3'],
                 answer=1,
                 explain=('RFC 8446 §4.1.3: the sentinel means the server would have spoken 1.3; '
                          'the client only offered 1.2 if its hello was tampered with.')),
    ),
    "03": (
        Question(question="Why doesn't the server send the root certificate?",
                 options=['It is too big',
                          ('The client must already trust its own copy; a root sent by the server '
                           'would prove nothing'),
                          'Roots are secret'],
                 answer=1,
                 explain=("Trust comes from the client's store, not from the connection. "
                          'validate_chain prefers its own trusted copy even if the peer sends one.')),
        Question(question=("An attacker copies the bank's real, valid certificate and presents it. "
                           'What stops him?'),
                 options=['The name check',
                          'The validity check',
                          ("He doesn't have the private key, so he can't sign the ServerKeyExchange"
                           ' (or decrypt the pre-master)')],
                 answer=2,
                 explain=('Every certificate check passes for a copied certificate; possession of '
                          'the private key is proven later in the handshake.')),
        Question(question=("Which alert does a client send when the server's certificate names "
                           'another host?'),
                 options=['unknown_ca',
                          'bad_certificate',
                          'certificate_expired',
                          'handshake_failure'],
                 answer=1,
                 explain='OpenSSL maps X509_V_ERR_HOSTNAME_MISMATCH to bad_certificate (42).'),
        Question(question="Which bytes does the CA's signature on a certificate cover?",
                 options=['Every byte of the certificate',
                          'The DER of the TBSCertificate, its tag and length included',
                          "The subject's public key only",
                          'The SHA-256 fingerprint'],
                 answer=1,
                 explain=('RFC 5280 §4.1.1.3: the signature is computed over the DER of '
                          'tbsCertificate. signatureAlgorithm and signatureValue come after it and '
                          'cannot be signed: they hold the signature.'),
                 hints={0: 'Could the signature sign the bytes it is stored in?',
                        3: 'The fingerprint is computed by whoever looks at the certificate; '
                           'the CA signs something else.'}),
        Question(question=("A server staples a valid OCSP response saying 'good'. What does that "
                           'add to what the chain checks already proved?'),
                 options=['That the server holds the private key',
                          'That the CA had not revoked the certificate when it signed the response, '
                          'a few days ago at most',
                          'That the certificate was published in a Certificate Transparency log',
                          'Nothing: the client must still ask the responder itself'],
                 answer=1,
                 explain=('An OCSP response is the CA\'s signed, dated statement about one serial '
                          'number (RFC 6960); stapling (RFC 6066 §8, RFC 8446 §4.4.2.1) only changes '
                          'who fetches it. Possession of the key is proven by the handshake '
                          'signature, and logging by SCTs.')),
    ),
    "04": (
        Question(question=("The server's private key is stolen today. Which recorded sessions from "
                           'last year can the thief decrypt?'),
                 options=['All of them',
                          'Those that used RSA key exchange',
                          'Those that used ECDHE',
                          'None'],
                 answer=1,
                 explain=('RSA key transport encrypts the pre-master to the long-term key; (EC)DHE '
                          'secrets come from ephemeral keys that are gone.')),
        Question(question='What does the signature in ServerKeyExchange cover?',
                 options=['The certificate',
                          "The server's public DH/ECDH value only",
                          'client_random + server_random + the DH/ECDH parameters'],
                 answer=2,
                 explain=('Both randoms tie it to this connection (no replay); the parameters stop '
                          'a man in the middle from swapping the key.')),
        ValueQuestion(question=("How many bytes is the client's public value in an x25519 "
                                'ClientKeyExchange? Type a number.'),
                      answer=32,
                      explain=('32 bytes; the message adds a 1-byte length and the 4-byte handshake'
                               ' header (37 bytes).'),
                      hint=("Look at the 'client public' line above, or count: x25519 keys are 256 "
                            'bits.')),
    ),
    "05": (
        ValueQuestion(question=('How many HMAC-SHA256 output blocks does P_SHA256 need for a '
                                '48-byte master secret? Type a number.'),
                      answer=2,
                      explain='Two blocks of 32 bytes, cut to 48.',
                      hint='Each HMAC-SHA256 output is 32 bytes.'),
        Question(question='What does EMS put into the master secret instead of the two randoms?',
                 options=["The server's certificate",
                          'A hash of the handshake messages up to ClientKeyExchange',
                          'The Finished messages'],
                 answer=1,
                 explain=('The session hash binds the master secret to this exact handshake, which '
                          'defeats the triple handshake attack.')),
        Question(question="Why does TLS_RSA_WITH_AES_128_CBC_SHA's key block have no IVs?",
                 options=['CBC needs no IV',
                          'TLS 1.2 sends a fresh IV in each CBC record',
                          'The IV is the MAC key'],
                 answer=1,
                 explain=('Since TLS 1.1 every CBC record starts with an explicit random IV: TLS '
                          "1.0's chained IVs were predictable, the flaw the BEAST attack later "
                          'exploited.')),
    ),
    "06": (
        Question(question="Which messages does the client's TLS 1.2 Finished cover?",
                 options=['Only ClientHello and ServerHello',
                          'Every handshake message before it, ChangeCipherSpec excluded',
                          'Every record sent so far, ChangeCipherSpec included',
                          'Only the messages the client sent'],
                 answer=1,
                 explain='The transcript holds handshake messages only; CCS has its own content type.'),
        Question(question=('A man in the middle changed one byte of the ClientHello (EMS off). '
                           'Which alert ends the handshake?'),
                 options=['bad_record_mac',
                          'decrypt_error',
                          'handshake_failure',
                          'none: the handshake succeeds'],
                 answer=1,
                 explain=("The Finished verify_data does not match the receiver's transcript: "
                          'decrypt_error (51).')),
        Question(question="Why can't the attacker simply recompute a matching Finished?",
                 options=['Finished is signed with the server certificate',
                          'It needs the master secret, which never crosses the wire',
                          'Finished is sent before the key exchange'],
                 answer=1,
                 explain='verify_data is keyed by the master secret, known only to the two endpoints.'),
        ValueQuestion(question="How long is TLS 1.2's verify_data? (bytes)",
                      answer=12,
                      explain=('PRF output cut to 12 bytes; TLS 1.3 uses the full hash length (32 '
                               'for SHA-256).')),
    ),
    "07": (
        Question(question=('In a TLS 1.2 AES-GCM record, which part of the 12-byte nonce is sent on'
                           ' the wire?'),
                 options=['All 12 bytes',
                          'The last 8 bytes (explicit nonce)',
                          'The first 4 bytes (implicit IV)',
                          'None of it'],
                 answer=1,
                 explain=('The 4-byte salt comes from the key block; the 8 explicit bytes precede '
                          'the ciphertext.')),
        Question(question=('A man in the middle sends the same valid record twice. What does the '
                           'receiver do with the copy?'),
                 options=['Accepts it: the tag is valid',
                          'Ignores it silently',
                          'Rejects it with bad_record_mac: its sequence number is past'],
                 answer=2,
                 explain=('The receiver puts its own count into the additional data (RFC 5246 '
                          '§6.2.3.3); the copy was sealed under an earlier number, so its tag '
                          'fails. Its nonce came along with it (nonce_explicit, RFC 5288 §3): the '
                          'nonce alone would not catch the copy.')),
        ValueQuestion(question=('With AES-GCM, how many bytes does a record add to the plaintext in'
                                ' TLS 1.2? (explicit nonce + tag)'),
                      answer=24,
                      explain='8 bytes of explicit nonce + 16 bytes of tag (ChaCha20-Poly1305: 16).'),
    ),
    "08": (
        Question(question="What does the client's CertificateVerify sign?",
                 options=['The client certificate',
                          'The handshake messages exchanged so far',
                          "The server's certificate",
                          'The master secret'],
                 answer=1,
                 explain=('A signature over the transcript: it proves possession of the private '
                          'key, in this connection.')),
        Question(question=("Why can't an eavesdropper who recorded a client's Certificate and "
                           'CertificateVerify log in as that client later?'),
                 options=['The certificate has expired by then',
                          ('The new transcript has different randoms and key shares, so the old '
                           'signature does not verify'),
                          'CertificateVerify is encrypted in TLS 1.2'],
                 answer=1,
                 explain=("The signed data includes this connection's fresh randoms: the old "
                          'signature is over other bytes.')),
        Question(question=('A TLS 1.3 server requires a client certificate and the client sends an '
                           'empty Certificate. Which alert?'),
                 options=['handshake_failure',
                          'bad_certificate',
                          'certificate_required',
                          'unknown_ca'],
                 answer=2,
                 explain=('certificate_required (116), new in TLS 1.3; TLS 1.2 servers send '
                          'handshake_failure (40).')),
    ),
    "09": (
        Question(question='What is the legacy_version field of a TLS 1.3 ClientHello?',
                 options=['0x0304',
                          '0x0303',
                          '0x0301',
                          'it was removed'],
                 answer=1,
                 explain='It stays 0x0303 (TLS 1.2); the versions are in supported_versions.'),
        Question(question='Why can a TLS 1.3 client send application data after one round trip?',
                 options=['TLS 1.3 skips certificate validation',
                          ('The client sends its key share in the ClientHello, so the keys exist '
                           'after the ServerHello'),
                          'TLS 1.3 uses RSA key exchange',
                          'The server sends its Finished before the ServerHello'],
                 answer=1,
                 explain=("The key share moved into the first flight; the server's first flight "
                          'completes the key exchange.')),
        Question(question=('A 1.3-capable client receives a TLS 1.2 ServerHello whose random ends '
                           'in DOWNGRD\\x01. What does it do?'),
                 options=['Continue with TLS 1.2',
                          'Retry with TLS 1.3',
                          'Abort with illegal_parameter: someone removed TLS 1.3'],
                 answer=2,
                 explain=('The sentinel means the server supports 1.3: a 1.2 outcome means the '
                          'offer was tampered with.')),
        ValueQuestion(question=('How many round trips does the HelloRetryRequest handshake above '
                                'need before application data?'),
                      answer=2,
                      explain='One extra round trip for the second ClientHello.'),
    ),
    "10": (
        Question(question=("The Master-Key on OpenSSL's status page equals our client's master "
                           'secret. What crossed the wire to make that possible?'),
                 options=['The master secret, encrypted',
                          'The randoms and the key-exchange public values: each side derived it',
                          'The pre-master secret in clear',
                          'Nothing: OpenSSL guessed it'],
                 answer=1,
                 explain=('The master secret never crosses the wire; both sides derive it from what'
                          ' they exchanged.')),
        Question(question='What does a TLS 1.2 line in a key log file contain?',
                 options=["The server's private key",
                          'The client random and the master secret',
                          'The session ID and the pre-master secret'],
                 answer=1,
                 explain=('CLIENT_RANDOM <client random> <master secret>: enough to decrypt that '
                          'connection.')),
        Question(question='Why does `openssl s_server` need `-cert_chain intermediate.crt` here?',
                 options=['To sign the status page',
                          ('-cert reads only the first certificate, so the intermediate would be '
                           'missing'),
                          'To enable TLS 1.3'],
                 answer=1,
                 explain=("Without the intermediate the client can't build a path from the server "
                          'certificate to its root.')),
    ),
    "11": (
        Question(question=('An attacker flips one bit of the ServerHello random in a TLS 1.2 ECDHE '
                           'handshake. What catches it first?'),
                 options=['The AEAD tag of the Finished record',
                          'The ServerKeyExchange signature, which covers both randoms',
                          'Nothing: the random is not checked',
                          'The certificate chain'],
                 answer=1,
                 explain=('The client verifies the signature over client_random + server_random + '
                          'params: decrypt_error.')),
        Question(question='Why does almost every tamper in TLS 1.3 end in bad_record_mac?',
                 options=['TLS 1.3 has no signatures',
                          ('The transcript is hashed into the handshake keys, and everything after '
                           'ServerHello is encrypted'),
                          'TLS 1.3 servers send bad_record_mac for every error'],
                 answer=1,
                 explain=('A changed hello gives different keys; a changed encrypted record fails '
                          'its tag.')),
        Question(question=('A record is replayed to the receiver. Which value makes its '
                           'authentication fail?'),
                 options=['The explicit nonce bytes',
                          ("The receiver's own sequence number, in the additional data of the tag "
                           'check'),
                          'The record length'],
                 answer=1,
                 explain=('The receiver expects the next sequence number and authenticates with it;'
                          ' the old record was sealed with an earlier one. Its explicit nonce '
                          'travels with it (RFC 5288 §3), so in TLS 1.2 AES-GCM it is the '
                          'additional data (RFC 5246 §6.2.3.3) that catches the copy.')),
    ),
    "12": (
        Question(question='In a resumed TLS 1.2 handshake (session ID or ticket), who sends Finished first?',
                 options=['The client, as in a full handshake', 'The server, right after its ServerHello and ChangeCipherSpec', 'Both at once'],
                 answer=1,
                 explain=('Both already know the master secret when the ServerHello goes out, so the server finishes '
                          'first and the client answers: one round trip. The second Finished covers the first '
                          '(RFC 5246 §7.4.9), the reverse of a full handshake.')),
        Question(question='What does the PSK binder of a TLS 1.3 ClientHello prove?',
                 options=['That the ticket was not changed', 'That the sender knows the PSK, for this very ClientHello (an HMAC over it, truncated before the binders)', 'That the client has a certificate', 'That the ticket is fresh'],
                 answer=1,
                 explain=('binder = HMAC(finished_key from binder_key, Hash(truncated ClientHello)) (RFC 8446 '
                          '§4.2.11.2): only a holder of the PSK can make it, and it covers every byte of the hello '
                          'but the binders themselves. It proves nothing about freshness: a replayed hello carries '
                          'a valid binder.')),
        ValueQuestion(question=('A ticket is 5000 ms old and its ticket_age_add is 4294967000. What '
                                'obfuscated_ticket_age does the client send?'),
                      answer=4704,
                      explain='(5000 + 4294967000) mod 2^32 = 4704 (RFC 8446 §4.2.11.1).'),
        Question(question=("The server's ticket key leaks a month later. What of the recorded resumed "
                           "connections can the thief decrypt?"),
                 options=['Nothing: every TLS 1.3 connection is forward secret', 'The psk_ke connections entirely, and the 0-RTT data of every connection', 'Only the psk_dhe_ke connections', 'Only the NewSessionTickets'],
                 answer=1,
                 explain=('The key opens each ticket, so the thief has every PSK. psk_ke derives all keys from the '
                          'PSK alone; psk_dhe_ke mixes in a fresh (EC)DHE secret. Early data is encrypted under '
                          'the PSK alone in either mode (RFC 8446 §2.3: not forward secret).')),
        Question(question='With single-use tickets and a freshness window, why must 0-RTT requests still be idempotent?',
                 options=['They need not be: the two rules stop every replay', 'Single use needs one memory shared by every server holding the ticket key, and after a fallback to 1-RTT the application may send the same request again', 'Because early data is not encrypted'],
                 answer=1,
                 explain=('RFC 8446 App. E.5: the §8 mechanisms "do not provide complete protection against '
                          'receiving multiple copies of client data" — a ClientHello sent to two clusters is '
                          'processed at once by one and, after the fallback, again by the other. HTTP: the '
                          'Early-Data header and 425 Too Early (RFC 8470).')),
    ),
    "13": (
        Question(question='In a KEM-based key exchange, what does the server send back to the client?',
                 options=['Its own public key, as in Diffie-Hellman', "A ciphertext that encapsulates a fresh secret to the client's key", 'The shared secret, encrypted under the certificate key', 'Nothing: the client derives the secret alone'],
                 answer=1,
                 explain="encapsulate(ek) gives a secret and a ciphertext; only the client's decapsulation key opens it."),
        Question(question="How many bytes is the server's X25519MLKEM768 key_exchange, and what comes first?",
                 options=['1216, the X25519 key first', '1120, the ML-KEM ciphertext (1088) first', '1088, ciphertext only', '1153, the classical part first'],
                 answer=1,
                 explain="Ciphertext (1088) ‖ X25519 public key (32) = 1120. The classical-first layout is SecP256r1MLKEM768's."),
        Question(question='An ECDHE session recorded today, with forward secrecy, is decrypted in 2040 by a quantum computer. Which step failed?',
                 options=["The server's certificate key leaked", 'The ephemeral x25519 keys were computed from the public keys on the wire', 'AES-GCM was broken', 'The Finished MAC was forged'],
                 answer=1,
                 explain="Shor's algorithm recovers the ephemeral private keys from the recorded public keys; the hybrid adds an ML-KEM secret that no known quantum algorithm recovers."),
        ValueQuestion(question="Our client's default ClientHello sends X25519MLKEM768 and x25519 shares. How many bytes of key_exchange data is that in total?",
                      answer=1248,
                      explain='1216 (1184-byte encapsulation key + 32-byte X25519 key) plus 32 for the separate x25519 share.'),
    ),
    "14": (
        Question(question="Why does the package's default server make Bleichenbacher's oracle useless?",
                 options=['It refuses RSA key exchange', 'On any decryption failure it continues with a random pre-master, so every query fails the same way at Finished', 'It uses implicit rejection in OpenSSL'],
                 answer=1,
                 explain='RFC 5246 §7.4.7.1: the failure is only noticed at the Finished record (record_mac), for valid and invalid padding alike. (Implicit rejection in the library does the same inside the decryption.)'),
        Question(question='Encrypt-then-MAC (RFC 7366) closes the CBC padding oracle because...',
                 options=['the padding is encrypted twice', 'the MAC is checked over the ciphertext before anything is decrypted', 'it uses a longer MAC'],
                 answer=1,
                 explain='A changed record fails the MAC before the padding exists, so padding and MAC errors cannot be told apart: record_mac every time.'),
        Question(question='Which value does the extended master secret add that Mallory cannot make equal on both connections?',
                 options=['The client random', "The hash of the handshake up to ClientKeyExchange, which covers each side's certificate", 'The pre-master secret'],
                 answer=1,
                 explain="RFC 7627 §4: session_hash = Hash(ClientHello..ClientKeyExchange); C saw Mallory's certificate, S sent its own."),
        Question(question='In TLS 1.3, what makes the GCM nonce unique per record?',
                 options=['A random nonce_explicit', 'The sequence number XORed into the static IV (RFC 8446 §5.3)', 'The record length'],
                 answer=1,
                 explain='TLS 1.3 sends no nonce: it is derived from the sequence number, which never repeats under one key.'),
        Question(question="A MITM strips supported_versions but cannot break TLS 1.2's key exchange. What stops the handshake if the client ignores the sentinel?",
                 options=['Nothing', 'The Finished messages (each side hashed a different ClientHello)', 'The certificate check'],
                 answer=1,
                 explain='The sentinel stops it earlier, and also against an attacker who can break the weaker exchange.'),
        Question(question="Mallory replays a recorded ClientHello with 0-RTT data to a server with the default anti-replay. What happens?",
                 options=['The binder check fails', "The handshake goes on (the PSK is fine) but the early data is refused: the ticket's early data was accepted before", 'The server sends a decrypt_error alert'],
                 answer=1,
                 explain="The binder is the client's own and valid. RFC 8446 §8: single use (and a freshness window) refuse the early data; the 1-RTT handshake then needs the client's Finished, which Mallory cannot make."),
    ),
    "15": (
        Question(question="Without the key log, which of these does a passive observer of a TLS 1.3 connection learn?",
                 options=["The server's certificate", 'The server name (SNI) and the ALPN protocols offered, in the clear ClientHello',
                          'The HTTP path requested', 'Nothing at all'],
                 answer=1,
                 explain=('Everything after ServerHello is encrypted in TLS 1.3 (the certificate too), but the ClientHello '
                          'is not: SNI and ALPN are readable, as are record sizes and timing. ECH is the fix for SNI.')),
        Question(question='A TLS 1.2 connection seen without keys shows the server certificate. Why?',
                 options=['tshark decrypts it anyway', 'TLS 1.2 sends Certificate before ChangeCipherSpec: in the clear',
                          'The certificate is public, so it is always sent twice'],
                 answer=1,
                 explain='RFC 5246 §7.4.2: in TLS 1.2 only Finished and what follows are encrypted; TLS 1.3 encrypts from EncryptedExtensions on.'),
        Question(question="Chromium's ClientHello lists GREASE(0x4a4a) as a group with a 1-byte key share. What should a server do with it?",
                 options=['Abort with illegal_parameter', 'Ignore it, as any unknown value (RFC 8701)',
                          'Answer with a HelloRetryRequest for it'],
                 answer=1,
                 explain='GREASE values exist so that servers which reject unknown values are found early; a correct server just skips them.'),
        Question(question='What does an SSLKEYLOGFILE line like CLIENT_TRAFFIC_SECRET_0 <client random> <secret> let you do?',
                 options=['Impersonate the server', "Decrypt the client's application records of that one connection",
                          "Decrypt every connection of that browser"],
                 answer=1,
                 explain=('The client random names the connection; the secret gives that direction\'s keys (RFC 8446 §7.3). '
                          'It proves nothing and opens no other connection — but keep the file private all the same.')),
        ValueQuestion(question="Chromium's X25519MLKEM768 key share is 1216 bytes. How many of them are the ML-KEM-768 encapsulation key?",
                      answer=1184,
                      explain='1216 = 1184 (ML-KEM-768 encapsulation key, first) + 32 (X25519 public key): draft-ietf-tls-ecdhe-mlkem.'),
    ),
}
LESSONS = tuple(QUESTIONS)


def questions(lesson: str | int) -> tuple[Question | ValueQuestion, ...]:
    """The questions of lesson ``lesson`` ("07" or 7)."""
    key = f"{int(lesson):02d}" if not isinstance(lesson, str) or lesson.isdigit() else lesson
    if key not in QUESTIONS:
        raise KeyError(f"no questions for lesson {lesson!r}; lessons: {', '.join(LESSONS)}")
    return QUESTIONS[key]


def quiz_for(lesson: str | int):
    """Every question of a lesson as widgets, one under the other (ipywidgets)."""
    import ipywidgets as w
    boxes = [view(q) for q in questions(lesson)]
    box = w.VBox(boxes, layout=w.Layout(grid_gap="12px"))
    box.questions = tuple(b.question for b in boxes)
    return box
