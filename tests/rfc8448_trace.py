"""Read the hex values out of an RFC 8448 trace (the text, as the RFC Editor publishes it).

RFC 8448 prints each step of a handshake as a header line, then labelled hex blocks::

       {server}  derive secret "tls13 c hs traffic":

          PRK (32 octets):  1d c8 26 e9 36 06 aa 6f dc 0a ad c1 2f 74 1b 01
             04 6a a6 b9 9f 69 1e d2 21 a9 f0 ca 04 3f be ac

A step header starts at column 3 with ``{client}`` or ``{server}`` and may wrap onto a second
line; a value starts at column 6 with ``label (N octets):`` and continues on deeper-indented
lines, possibly across a page break (the ``Thomson ... [Page N]`` footer and ``RFC 8448 ...``
header are skipped). ``(empty)`` is zero octets; ``salt:  0 (all zero octets)`` carries no
length and is kept as ``None``. Every value's length is checked against the octet count the RFC
states, so a mis-read line cannot go unnoticed.

Run as a script to (re)write ``tests/vectors/rfc8448_simple.json`` (section 3) and
``tests/vectors/rfc8448_resumed.json`` (section 4) from the RFC text::

    python tests/rfc8448_trace.py ../shared/vectors/rfc8448.txt
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
VECTORS = HERE / "vectors" / "rfc8448_simple.json"
VECTORS_RESUMED = HERE / "vectors" / "rfc8448_resumed.json"

_PAGE = re.compile(r"^(Thomson\s.*\[Page \d+\]|RFC 8448\s+TLS 1\.3 Traces\s+January 2019)$")
_STEP = re.compile(r"^ {3}\{(client|server)\}\s+(.*)$")
_VALUE = re.compile(r"^ {6}(\S[^:]*?)(?: \((\d+) octets?\))?:\s+(.*)$")
_HEX = re.compile(r"^(?:[0-9a-f]{2}(?: |$))+$")


@dataclass
class Value:
    label: str
    line: int                      # 1-based line of the label in the RFC text
    data: bytes | None             # None for "salt:  0 (all zero octets)"


@dataclass
class TraceStep:
    actor: str                     # "client" or "server"
    title: str                     # e.g. 'derive secret "tls13 c hs traffic"'
    line: int
    values: dict[str, Value] = field(default_factory=dict)


def parse_steps(text: str, first_line: int = 1, last_line: int | None = None) -> list[TraceStep]:
    """Every ``{client}``/``{server}`` step between two line numbers (1-based, inclusive)."""
    lines = text.split("\n")       # not splitlines(): it would also split at a form feed
    last_line = last_line or len(lines)
    steps: list[TraceStep] = []
    value: Value | None = None
    hex_parts: list[str] = []
    expected = None

    def finish_value():
        nonlocal value
        if value is None:
            return
        if hex_parts != ["(empty)"] and value.data is not None:
            joined = " ".join(hex_parts)
            if not _HEX.match(joined):
                raise ValueError(f"line {value.line}: {value.label!r} is not hex: {joined[:60]}")
            value.data = bytes.fromhex(joined)
        if expected is not None and value.data is not None and len(value.data) != expected:
            raise ValueError(f"line {value.line}: {value.label!r} has {len(value.data)} octets, "
                             f"the RFC says {expected}")
        steps[-1].values[value.label] = value
        value = None

    number = first_line - 1
    while number < last_line:
        raw = lines[number].rstrip()
        number += 1
        if not raw.strip() or _PAGE.match(raw.strip().strip("\f")):
            continue
        if (m := _STEP.match(raw)):
            finish_value()
            title, at = m.group(2), number
            # a title that wraps: the next line is indented more and is not a value line
            while number < last_line and lines[number].startswith(" " * 6) \
                    and not _VALUE.match(lines[number]) and not title.endswith(":"):
                title += " " + lines[number].strip()
                number += 1
            steps.append(TraceStep(m.group(1), title.rstrip(":"), at))
            continue
        if not steps:
            continue
        if (m := _VALUE.match(raw)) and not raw.startswith(" " * 7):
            finish_value()
            label, octets, rest = m.groups()
            expected = int(octets) if octets else None
            value = Value(label, number, b"" if octets else None)
            hex_parts = [rest.strip()]
            if octets is None:           # "salt:  0 (all zero octets)"
                finish_value()
            continue
        if value is not None and raw.startswith(" " * 7):
            hex_parts.append(raw.strip())
            continue
        finish_value()                   # prose: a new section starts
        if not raw.startswith(" "):
            break
    finish_value()
    return steps


def find(steps: list[TraceStep], actor: str, title: str, label: str, nth: int = 0) -> Value:
    """The ``label`` value of the ``nth`` step of ``actor`` whose title starts with ``title``."""
    matches = [s for s in steps if s.actor == actor and s.title.startswith(title)
               and label in s.values]
    if len(matches) <= nth:
        raise KeyError(f"no {label!r} under {{{actor}}} {title!r}")
    return matches[nth].values[label]


# -- what the tests use: one name per value, with where it comes from ---------------------------
# name: (actor, step title prefix, label)
SECTION_3 = (152, 856)            # "3.  Simple 1-RTT Handshake" up to "4.  Resumed 0-RTT Handshake"
WANTED = {
    "client_private_key": ("client", "create an ephemeral x25519 key pair", "private key"),
    "client_public_key": ("client", "create an ephemeral x25519 key pair", "public key"),
    "client_hello": ("client", "construct a ClientHello", "ClientHello"),
    "client_hello_record": ("client", "send handshake record", "complete record"),
    "early_secret": ("server", 'extract secret "early"', "secret"),
    "server_private_key": ("server", "create an ephemeral x25519 key pair", "private key"),
    "server_public_key": ("server", "create an ephemeral x25519 key pair", "public key"),
    "server_hello": ("server", "construct a ServerHello", "ServerHello"),
    "empty_hash": ("server", 'derive secret for handshake "tls13 derived"', "hash"),
    "derived_for_handshake": ("server", 'derive secret for handshake "tls13 derived"', "expanded"),
    "shared_secret": ("server", 'extract secret "handshake"', "IKM"),
    "handshake_secret": ("server", 'extract secret "handshake"', "secret"),
    "hello_hash": ("server", 'derive secret "tls13 c hs traffic"', "hash"),
    "c_hs_traffic_info": ("server", 'derive secret "tls13 c hs traffic"', "info"),
    "client_handshake_traffic_secret": ("server", 'derive secret "tls13 c hs traffic"', "expanded"),
    "server_handshake_traffic_secret": ("server", 'derive secret "tls13 s hs traffic"', "expanded"),
    "derived_for_master": ("server", 'derive secret for master "tls13 derived"', "expanded"),
    "master_secret": ("server", 'extract secret "master"', "secret"),
    "server_hello_record": ("server", "send handshake record", "complete record"),
    "server_handshake_key": ("server", "derive write traffic keys for handshake data",
                             "key expanded"),
    "server_handshake_iv": ("server", "derive write traffic keys for handshake data",
                            "iv expanded"),
    "key_info": ("server", "derive write traffic keys for handshake data", "key info"),
    "iv_info": ("server", "derive write traffic keys for handshake data", "iv info"),
    "encrypted_extensions": ("server", "construct an EncryptedExtensions", "EncryptedExtensions"),
    "certificate": ("server", "construct a Certificate", "Certificate"),
    "certificate_verify": ("server", "construct a CertificateVerify", "CertificateVerify"),
    "server_finished_key": ("server", 'calculate finished "tls13 finished"', "expanded"),
    "server_verify_data": ("server", 'calculate finished "tls13 finished"', "finished"),
    "server_finished": ("server", "construct a Finished", "Finished"),
    "server_flight_payload": ("server", "send handshake record", "payload", 1),
    "server_flight_record": ("server", "send handshake record", "complete record", 1),
    "server_finished_hash": ("server", 'derive secret "tls13 c ap traffic"', "hash"),
    "client_application_traffic_secret_0": ("server", 'derive secret "tls13 c ap traffic"',
                                            "expanded"),
    "server_application_traffic_secret_0": ("server", 'derive secret "tls13 s ap traffic"',
                                            "expanded"),
    "exporter_master_secret": ("server", 'derive secret "tls13 exp master"', "expanded"),
    "server_application_key": ("server", "derive write traffic keys for application data",
                               "key expanded"),
    "server_application_iv": ("server", "derive write traffic keys for application data",
                              "iv expanded"),
    "client_handshake_key": ("server", "derive read traffic keys for handshake data",
                             "key expanded"),
    "client_handshake_iv": ("server", "derive read traffic keys for handshake data",
                            "iv expanded"),
    "client_finished_key": ("client", 'calculate finished "tls13 finished"', "expanded"),
    "client_verify_data": ("client", 'calculate finished "tls13 finished"', "finished"),
    "client_finished": ("client", "construct a Finished", "Finished"),
    "client_finished_record": ("client", "send handshake record", "complete record", 1),
    "client_application_key": ("client", "derive write traffic keys for application data",
                               "key expanded"),
    "client_application_iv": ("client", "derive write traffic keys for application data",
                              "iv expanded"),
    "client_finished_hash": ("client", 'derive secret "tls13 res master"', "hash"),
    "resumption_master_secret": ("client", 'derive secret "tls13 res master"', "expanded"),
    "ticket_nonce": ("server", 'generate resumption secret "tls13 resumption"', "hash"),
    "resumption_info": ("server", 'generate resumption secret "tls13 resumption"', "info"),
    "resumption_psk": ("server", 'generate resumption secret "tls13 resumption"', "expanded"),
    "new_session_ticket": ("server", "construct a NewSessionTicket", "NewSessionTicket"),
    "new_session_ticket_record": ("server", "send handshake record", "complete record", 2),
    "client_application_data": ("client", "send application_data record", "payload"),
    "client_application_data_record": ("client", "send application_data record",
                                       "complete record"),
    "server_application_data": ("server", "send application_data record", "payload"),
    "server_application_data_record": ("server", "send application_data record",
                                       "complete record"),
    "client_alert": ("client", "send alert record", "payload"),
    "client_alert_record": ("client", "send alert record", "complete record"),
    "server_alert": ("server", "send alert record", "payload"),
    "server_alert_record": ("server", "send alert record", "complete record"),
}


# Section 4 resumes section 3's session with the ticket of its NewSessionTicket and sends 0-RTT
# data. Several steps repeat, so ``nth`` counts among one actor's steps with that title: the
# client sends three handshake records (ClientHello, EndOfEarlyData, Finished) and two
# application_data records (the early data, then data under the application key).
SECTION_4 = (857, 1588)           # "4.  Resumed 0-RTT Handshake" up to "5.  HelloRetryRequest"
WANTED_RESUMED = {
    "client_private_key": ("client", "create an ephemeral x25519 key pair", "private key"),
    "client_public_key": ("client", "create an ephemeral x25519 key pair", "public key"),
    "psk": ("client", 'extract secret "early"', "IKM"),
    "early_secret": ("client", 'extract secret "early"', "secret"),
    # what the RFC prints under "construct a ClientHello" stops before the binders (its length
    # fields count them): the same bytes as the binder's "ClientHello prefix"
    "client_hello_prefix": ("client", "construct a ClientHello", "ClientHello"),
    "truncated_client_hello": ("client", "calculate PSK binder", "ClientHello prefix"),
    "binder_hash": ("client", "calculate PSK binder", "binder hash"),
    "binder_key": ("client", "calculate PSK binder", "PRK"),
    "binder_finished_key": ("client", "calculate PSK binder", "expanded"),
    "binder": ("client", "calculate PSK binder", "finished"),
    "client_hello": ("client", "send handshake record", "payload"),     # the whole ClientHello
    "client_hello_record": ("client", "send handshake record", "complete record"),
    "client_hello_hash": ("client", 'derive secret "tls13 c e traffic"', "hash"),
    "client_early_traffic_secret": ("client", 'derive secret "tls13 c e traffic"', "expanded"),
    "early_exporter_master_secret": ("client", 'derive secret "tls13 e exp master"',
                                     "expanded"),
    "client_early_key": ("client", "derive write traffic keys for early application data",
                         "key expanded"),
    "client_early_iv": ("client", "derive write traffic keys for early application data",
                        "iv expanded"),
    "early_data": ("client", "send application_data record", "payload"),
    "early_data_record": ("client", "send application_data record", "complete record"),
    "server_private_key": ("server", "create an ephemeral x25519 key pair", "private key"),
    "server_public_key": ("server", "create an ephemeral x25519 key pair", "public key"),
    "server_hello": ("server", "construct a ServerHello", "ServerHello"),
    "server_hello_record": ("server", "send handshake record", "complete record"),
    "derived_for_handshake": ("server", 'derive secret for handshake "tls13 derived"', "expanded"),
    "shared_secret": ("server", 'extract secret "handshake"', "IKM"),
    "handshake_secret": ("server", 'extract secret "handshake"', "secret"),
    "hello_hash": ("server", 'derive secret "tls13 c hs traffic"', "hash"),
    "client_handshake_traffic_secret": ("server", 'derive secret "tls13 c hs traffic"', "expanded"),
    "server_handshake_traffic_secret": ("server", 'derive secret "tls13 s hs traffic"', "expanded"),
    "derived_for_master": ("server", 'derive secret for master "tls13 derived"', "expanded"),
    "master_secret": ("server", 'extract secret "master"', "secret"),
    "server_handshake_key": ("server", "derive write traffic keys for handshake data",
                             "key expanded"),
    "server_handshake_iv": ("server", "derive write traffic keys for handshake data",
                            "iv expanded"),
    "encrypted_extensions": ("server", "construct an EncryptedExtensions", "EncryptedExtensions"),
    "server_finished_key": ("server", 'calculate finished "tls13 finished"', "expanded"),
    "server_verify_data": ("server", 'calculate finished "tls13 finished"', "finished"),
    "server_finished": ("server", "construct a Finished", "Finished"),
    "server_flight_payload": ("server", "send handshake record", "payload", 1),
    "server_flight_record": ("server", "send handshake record", "complete record", 1),
    "server_finished_hash": ("server", 'derive secret "tls13 c ap traffic"', "hash"),
    "client_application_traffic_secret_0": ("server", 'derive secret "tls13 c ap traffic"',
                                            "expanded"),
    "server_application_traffic_secret_0": ("server", 'derive secret "tls13 s ap traffic"',
                                            "expanded"),
    "exporter_master_secret": ("server", 'derive secret "tls13 exp master"', "expanded"),
    "server_application_key": ("server", "derive write traffic keys for application data",
                               "key expanded"),
    "server_application_iv": ("server", "derive write traffic keys for application data",
                              "iv expanded"),
    "end_of_early_data": ("client", "construct an EndOfEarlyData", "EndOfEarlyData"),
    "end_of_early_data_record": ("client", "send handshake record", "complete record", 1),
    "client_handshake_key": ("client", "derive write traffic keys for handshake data",
                             "key expanded"),
    "client_handshake_iv": ("client", "derive write traffic keys for handshake data",
                            "iv expanded"),
    "client_finished_key": ("client", 'calculate finished "tls13 finished"', "expanded"),
    "client_verify_data": ("client", 'calculate finished "tls13 finished"', "finished"),
    "client_finished": ("client", "construct a Finished", "Finished"),
    "client_finished_record": ("client", "send handshake record", "complete record", 2),
    "client_application_key": ("client", "derive write traffic keys for application data",
                               "key expanded"),
    "client_application_iv": ("client", "derive write traffic keys for application data",
                              "iv expanded"),
    "client_finished_hash": ("client", 'derive secret "tls13 res master"', "hash"),
    "resumption_master_secret": ("client", 'derive secret "tls13 res master"', "expanded"),
    "client_application_data": ("client", "send application_data record", "payload", 1),
    "client_application_data_record": ("client", "send application_data record",
                                       "complete record", 1),
    "server_application_data": ("server", "send application_data record", "payload"),
    "server_application_data_record": ("server", "send application_data record",
                                       "complete record"),
    "client_alert": ("client", "send alert record", "payload"),
    "client_alert_record": ("client", "send alert record", "complete record"),
    "server_alert": ("server", "send alert record", "payload"),
    "server_alert_record": ("server", "send alert record", "complete record"),
}

# what main() writes: file, section, table, and the section named in "source"
DOCUMENTS = (
    (VECTORS, SECTION_3, WANTED, "section 3 'Simple 1-RTT Handshake'"),
    (VECTORS_RESUMED, SECTION_4, WANTED_RESUMED, "section 4 'Resumed 0-RTT Handshake'"),
)


def extract(text: str, section: tuple[int, int] = SECTION_3, wanted: dict = WANTED) -> dict:
    steps = parse_steps(text, *section)
    out = {}
    for name, (actor, title, label, *nth) in wanted.items():
        v = find(steps, actor, title, label, *nth)
        out[name] = {"line": v.line, "from": f"{{{actor}}} {title} / {label}",
                     "hex": v.data.hex()}
    return out


def load(path: Path = VECTORS) -> dict[str, bytes]:
    """The values the tests use, as bytes, from tests/vectors/rfc8448_simple.json (or
    ``path``: VECTORS_RESUMED for section 4)."""
    data = json.loads(path.read_text())
    return {name: bytes.fromhex(entry["hex"]) for name, entry in data["values"].items()}


def document(text: str, section: tuple[int, int], wanted: dict, title: str) -> dict:
    first, last = section
    return {
        "source": f"RFC 8448, Example Handshake Traces for TLS 1.3 (January 2019), {title} "
                  f"(lines {first}-{last} of the RFC text); 'line' is the "
                  "line of each label in that text",
        "url": "https://www.rfc-editor.org/rfc/rfc8448.txt",
        "rfc_text_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "extracted_by": "tests/rfc8448_trace.py",
        "values": extract(text, section, wanted),
    }


def main(path: str) -> None:
    text = Path(path).read_text()
    for target, section, wanted, title in DOCUMENTS:
        doc = document(text, section, wanted, title)
        target.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {len(doc['values'])} values to {target}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(HERE.parents[1] / "shared/vectors/rfc8448.txt"))
