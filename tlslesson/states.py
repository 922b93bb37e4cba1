"""The handshake state machines, as data: RFC 8446 Appendix A for TLS 1.3, and the RFC 5246
§7.3 message flow for TLS 1.2 (with ChangeCipherSpec as a state of its own).

Each table maps a state to what may happen in it: a message received from the peer (a
``HandshakeType``, or ``CCS``) or a step of our own (a string), each with the states it may lead
to. The connection dispatches every received message through its table: anything the current
state does not list is ``unexpected_message`` naming the state and the message. Diagrams are
drawn from these tables, and a test holds them against the handlers in ``client.py`` and
``server.py``.

Both roles start with the TLS 1.3 table when they offer 1.3; the first states (the hellos) are
the same in both tables, and the connection moves to the 1.2 table once 1.2 is negotiated.
"""
from __future__ import annotations

from .constants import HandshakeType as HT

CCS = "ChangeCipherSpec"     # not a handshake message, but TLS 1.2 waits for it like one

# -- TLS 1.3 (RFC 8446 Appendix A.1 and A.2) -------------------------------------------------------
CLIENT_13 = {
    "START":         {"send ClientHello": ("WAIT_SH",)},
    "WAIT_SH":       {HT.server_hello: ("WAIT_EE", "START")},       # START: it was a HelloRetryRequest
    "WAIT_EE":       {HT.encrypted_extensions: ("WAIT_CERT_CR", "WAIT_FINISHED")},  # the latter: PSK
    "WAIT_CERT_CR":  {HT.certificate_request: ("WAIT_CERT",), HT.certificate: ("WAIT_CV",)},
    "WAIT_CERT":     {HT.certificate: ("WAIT_CV",)},
    "WAIT_CV":       {HT.certificate_verify: ("WAIT_FINISHED",)},
    "WAIT_FINISHED": {HT.finished: ("CONNECTED",)},
    "CONNECTED":     {HT.new_session_ticket: ("CONNECTED",), HT.key_update: ("CONNECTED",)},
}

SERVER_13 = {
    "START":         {HT.client_hello: ("RECVD_CH",)},
    "RECVD_CH":      {"select parameters": ("NEGOTIATED",),
                      "send HelloRetryRequest": ("START",)},
    "NEGOTIATED":    {"send ServerHello ... Finished": ("WAIT_EOED", "WAIT_FLIGHT2")},  # WAIT_EOED: 0-RTT
    "WAIT_EOED":     {HT.end_of_early_data: ("WAIT_FLIGHT2",)},
    "WAIT_FLIGHT2":  {"no client authentication": ("WAIT_FINISHED",),
                      "client authentication": ("WAIT_CERT",)},
    "WAIT_CERT":     {HT.certificate: ("WAIT_CV", "WAIT_FINISHED")},    # the latter: empty Certificate
    "WAIT_CV":       {HT.certificate_verify: ("WAIT_FINISHED",)},
    "WAIT_FINISHED": {HT.finished: ("CONNECTED",)},
    "CONNECTED":     {HT.key_update: ("CONNECTED",)},
}

# -- TLS 1.2 (RFC 5246 §7.3: Figure 1, a full handshake; Figure 2, an abbreviated one) ----------
# Resumption (a session ID or an RFC 5077 ticket the server accepts) leaves out certificates and
# key exchange: the server answers ServerHello with its ChangeCipherSpec and Finished at once, and
# the client's come last. A server that echoed the session_ticket extension sends NewSessionTicket
# just before its ChangeCipherSpec (RFC 5077 §3.3), in either kind of handshake.
CLIENT_12 = {
    "START":         {"send ClientHello": ("WAIT_SH",)},
    "WAIT_SH":       {HT.server_hello: ("WAIT_CERT",                    # a full handshake
                                        "WAIT_TICKET", "WAIT_CCS")},    # the server resumes
    "WAIT_CERT":     {HT.certificate: ("WAIT_SKE", "WAIT_CR_OR_SHD")},   # RSA key transport: no SKE
    "WAIT_SKE":      {HT.server_key_exchange: ("WAIT_CR_OR_SHD",)},
    "WAIT_CR_OR_SHD": {HT.certificate_request: ("WAIT_SHD",),
                       HT.server_hello_done: ("SEND_FLIGHT",)},
    "WAIT_SHD":      {HT.server_hello_done: ("SEND_FLIGHT",)},
    "SEND_FLIGHT":   {"send [Certificate] ClientKeyExchange [CertificateVerify] "
                      "ChangeCipherSpec Finished": ("WAIT_TICKET", "WAIT_CCS")},
    "WAIT_TICKET":   {HT.new_session_ticket: ("WAIT_CCS",)},     # the server echoed session_ticket
    "WAIT_CCS":      {CCS: ("WAIT_FINISHED",)},
    "WAIT_FINISHED": {HT.finished: ("CONNECTED",                 # a full handshake: ours came first
                                    "SEND_FINISHED")},           # resumed: ours come now
    "SEND_FINISHED": {"send ChangeCipherSpec Finished": ("CONNECTED",)},
    "CONNECTED":     {HT.hello_request: ("CONNECTED",)},      # renegotiation: declined
}

SERVER_12 = {
    "START":         {HT.client_hello: ("RECVD_CH",)},
    "RECVD_CH":      {"send ServerHello ... ServerHelloDone": ("WAIT_CERT", "WAIT_CKE"),
                      "resume: send ServerHello ... Finished":
                          ("WAIT_CCS",)},
    "WAIT_CERT":     {HT.certificate: ("WAIT_CKE",)},                  # we sent CertificateRequest
    "WAIT_CKE":      {HT.client_key_exchange: ("WAIT_CV", "WAIT_CCS")},
    "WAIT_CV":       {HT.certificate_verify: ("WAIT_CCS",)},
    "WAIT_CCS":      {CCS: ("WAIT_FINISHED",)},
    "WAIT_FINISHED": {HT.finished: ("SEND_FINISHED",             # a full handshake: ours now
                                    "CONNECTED")},               # resumed: ours came first
    "SEND_FINISHED": {"send [NewSessionTicket] ChangeCipherSpec Finished": ("CONNECTED",)},
    "CONNECTED":     {HT.client_hello: ("CONNECTED",)},       # renegotiation: declined
}

TABLES = {("client", "1.3"): CLIENT_13, ("server", "1.3"): SERVER_13,
          ("client", "1.2"): CLIENT_12, ("server", "1.2"): SERVER_12}


def received(table: dict, state: str) -> list:
    """The messages ``state`` accepts from the peer (handshake types, or CCS)."""
    return [trigger for trigger in table[state] if not _is_own_step(trigger)]


def next_states(table: dict, state: str) -> set[str]:
    """Every state ``state`` may lead to, whatever happens in it."""
    return {to for targets in table[state].values() for to in targets}


def trigger_name(trigger) -> str:
    """"ServerHello", "ChangeCipherSpec", "send ClientHello": for messages and diagrams."""
    if isinstance(trigger, HT):
        return "".join(part.title() for part in trigger.name.split("_"))
    return trigger


def _is_own_step(trigger) -> bool:
    return isinstance(trigger, str) and trigger != CCS


def edges(table: dict) -> list[tuple[str, str, str]]:
    """(from, label, to) for every transition: what a diagram draws. A received message is
    labelled "recv X", a step of our own by its description."""
    out = []
    for state, triggers in table.items():
        for trigger, targets in triggers.items():
            label = trigger if _is_own_step(trigger) else f"recv {trigger_name(trigger)}"
            out += [(state, label, to) for to in targets]
    return out
