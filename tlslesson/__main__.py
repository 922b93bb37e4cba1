"""The command line: ``python -m tlslesson pki|connect|serve|explain ...``.

    python -m tlslesson pki DIR
    python -m tlslesson connect HOST PORT [--version 1.2|1.3] [--suite NAME]... [--group NAME]...
            [--cafile PEM] [--servername NAME] [--cert PEM --key PEM] [--no-ems] [--send TEXT]
            [--alpn h2,http/1.1] [--keylog FILE] [--timeout SECONDS] [--insecure] [--keep-open]
            [--sess-in FILE] [--sess-out FILE] [--early-data TEXT]
    python -m tlslesson serve --port PORT --cert PEM --key PEM [--host 127.0.0.1]
            [--version 1.2|1.3] [--suite NAME]... [--group NAME]... [--client-ca PEM]
            [--alpn LIST] [--keylog FILE] [--once] [--timeout SECONDS] [--http | --explain]
    python -m tlslesson explain CAPTURE [--keylog FILE] [--connection N] [--json]

Every failure is one line ``error: ...`` on stderr and a non-zero exit, never a traceback
(set TLSLESSON_DEBUG=1 to see one anyway). Subcommands live in ``COMMANDS``; a new one is a
``@command(...)``-decorated ``run(args)`` plus a function adding its arguments.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import traceback
from pathlib import Path

from . import groups, pki, suites
from .constants import AlertDescription, NamedGroup, SignatureScheme, name_of
from .errors import AlertError, TLSError

# -- small helpers ---------------------------------------------------------------------------------


class UsageError(Exception):
    """Bad arguments or unreadable input files: exit status 2."""


VERSIONS = ("1.3", "1.2")


def parse_group(name: str) -> int:
    try:
        return groups.get(name).code
    except KeyError:
        raise UsageError(f"unknown group {name!r}; known: {', '.join(groups.names())}") from None


def parse_alpn(text: str | None) -> tuple[str, ...]:
    """--alpn h2,http/1.1 -> ("h2", "http/1.1"): RFC 7301 names, 1 to 255 ASCII bytes each."""
    if text is None:
        return ()
    names = tuple(name.strip() for name in text.split(","))
    for name in names:
        if not name or len(name) > 255 or not name.isascii() or not name.isprintable():
            raise UsageError(f"--alpn {text!r}: each protocol name is 1 to 255 printable ASCII "
                             "characters, separated by commas (e.g. h2,http/1.1)")
    return names


def parse_suites(names, version: str | None):
    """--suite names (IANA or OpenSSL) -> suites; check them against --version."""
    if not names:
        return tuple(s for s in suites.SUITES if version in (None, s.version))
    chosen = []
    for name in names:
        try:
            suite = suites.get(name)
        except KeyError:
            raise UsageError(f"unknown cipher suite {name!r}; known: "
                             + ", ".join(s.openssl_name for s in suites.ALL_SUITES)) from None
        if version is not None and suite.version != version:
            raise UsageError(f"{suite.name} is a TLS {suite.version} suite, but --version is "
                             f"{version}")
        chosen.append(suite)
    return tuple(chosen)


def versions_for(version: str | None, chosen_suites) -> tuple[str, ...]:
    if version is not None:
        return (version,)
    return tuple(v for v in VERSIONS if any(s.version == v for s in chosen_suites))


def read_file(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def load_identity(cert_path: str, key_path: str) -> pki.Identity:
    leaf, *chain = pki.load_pem_chain(read_file(cert_path, "certificate"))
    key = pki.load_private_key(read_file(key_path, "private key"))
    if _spki(key.public_key()) != _spki(leaf.public_key()):
        raise UsageError(f"the key in {key_path} does not belong to the certificate in {cert_path}")
    return pki.Identity(leaf, key, tuple(chain))


def _spki(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def unescape(text: str) -> bytes:
    r"""--send TEXT: understand \r, \n, \t, \\ and \xHH; the rest is sent as UTF-8."""
    out, i = bytearray(), 0
    escapes = {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\", "0": b"\0"}
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in escapes:
                out += escapes[nxt]
                i += 2
                continue
            if nxt == "x" and _is_hex(text[i + 2:i + 4]):
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
        out += ch.encode("utf-8")
        i += 1
    return bytes(out)


def _is_hex(s: str) -> bool:
    return len(s) == 2 and all(c in "0123456789abcdefABCDEF" for c in s)


def err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -- one line per stage ----------------------------------------------------------------------------


def _cn(cert) -> str:
    from cryptography.x509.oid import NameOID
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return f"CN={names[0].value}" if names else cert.subject.rfc4514_string() or "(no subject)"


def _groups(values) -> str:
    return ",".join(name_of(NamedGroup, g) for g in values)


def _protocols(names) -> str:
    return ",".join(n.decode("ascii", "backslashreplace") for n in names)


def describe_step(step, conn) -> str:
    """``-> ClientHello  versions=1.3,1.2 suites=10 key_share=x25519``: one message, key fields."""
    from . import extensions as ext
    from .constants import ExtensionType as ET
    ours = step.sender == conn.role
    arrow = "->" if ours else "<-"
    msg, name = step.message, step.name
    fields = ""
    if name == "ClientHello":
        sv = msg.extension(ET.supported_versions)
        versions = ([{0x0304: "1.3", 0x0303: "1.2"}.get(v, hex(v)) for v in ext.value(sv, "client_hello")]
                    if sv else ["1.2"])
        known = [c for c in msg.cipher_suites if c in suites.BY_CODE]
        fields = f"versions={','.join(versions)} suites={len(known)}"
        sg = msg.extension(ET.supported_groups)
        if sg:
            fields += f" groups={_groups(ext.value(sg, 'client_hello'))}"
        ks = msg.extension(ET.key_share)
        if ks:
            fields += f" key_share={_groups(e.group for e in ext.value(ks, 'client_hello'))}"
        sni = msg.extension(ET.server_name)
        if sni:
            fields += f" sni={','.join(ext.value(sni, 'client_hello'))}"
        if msg.extension(ET.extended_master_secret):
            fields += " ems"
        if msg.extension(ET.pre_shared_key):
            fields += " psk"
        if msg.extension(ET.early_data):
            fields += " early_data"
        alpn = msg.extension(ET.application_layer_protocol_negotiation)
        if alpn:
            fields += f" alpn={_protocols(ext.value(alpn, 'client_hello'))}"
    elif name == "ServerHello" and msg.is_hello_retry_request:
        name = "HelloRetryRequest"
        ks = msg.extension(ET.key_share)
        fields = f"the server wants a key_share for {_groups([ext.value(ks, 'hello_retry_request')])}" \
            if ks else ""
    elif name == "ServerHello":
        suite = suites.BY_CODE.get(msg.cipher_suite)
        sv = msg.extension(ET.supported_versions)
        if sv is not None:
            entry = ext.value(msg.extension(ET.key_share), "server_hello") \
                if msg.extension(ET.key_share) else None
            fields = f"TLS 1.3 {suite.name if suite else hex(msg.cipher_suite)}"
            if entry is not None:
                fields += f" {name_of(NamedGroup, entry.group)}"
            if msg.extension(ET.pre_shared_key) is not None:
                fields += " psk (resuming)"
        else:
            fields = f"TLS 1.2 {suite.openssl_name if suite else hex(msg.cipher_suite)}"
            fields += " ems=" + ("yes" if msg.extension(ET.extended_master_secret) else "no")
        alpn = msg.extension(ET.application_layer_protocol_negotiation)
        if alpn:
            fields += f" alpn={_protocols(ext.value(alpn, 'server_hello'))}"
    elif name == "Certificate":
        certs = msg.certificate_list
        if not certs:
            fields = "(empty: no certificate)"
        else:
            leaf = pki.load_der_certificate(certs[0])
            fields = f"{_cn(leaf)} ({len(certs)} cert{'s' if len(certs) != 1 else ''})"
            if not ours:
                checks = conn.values.get(f"{step.sender}_certificate_checks")
                if checks is not None:
                    fields += " \u2713 chain valid"
                elif step.sender == "server" and not conn.config.verify:
                    fields += " (not verified: --insecure)"
    elif name == "ServerKeyExchange":
        group = name_of(NamedGroup, msg.group) if msg.group is not None else \
            f"DH {len(msg.dh_p) * 8}-bit prime"
        fields = f"{group}, signed with {name_of(SignatureScheme, msg.scheme)}"
    elif name == "ClientKeyExchange":
        fields = (f"RSA-encrypted pre-master secret ({len(msg.exchange)} bytes)" if msg.kx == "RSA"
                  else f"{msg.kx} public value ({len(msg.exchange)} bytes)")
    elif name == "CertificateVerify":
        fields = name_of(SignatureScheme, msg.scheme)
    elif name == "CertificateRequest":
        fields = "the server asks for a client certificate"
    elif name == "EncryptedExtensions":
        fields = f"{len(msg.extensions)} extension(s)"
        alpn = ext.find(msg.extensions, ET.application_layer_protocol_negotiation)
        if alpn:
            fields += f" alpn={_protocols(ext.value(alpn, 'encrypted_extensions'))}"
    elif name == "Finished":
        fields = f"verify_data={msg.verify_data.hex()}"
    elif name == "NewSessionTicket" and not msg.tls13:
        fields = f"lifetime {msg.ticket_lifetime} s, ticket of {len(msg.ticket)} bytes"
    elif name == "NewSessionTicket":
        fields = f"lifetime {msg.ticket_lifetime} s, ticket of {len(msg.ticket)} bytes"
        if msg.tls13 and ext.find(msg.extensions, ET.early_data) is not None:
            fields += ", allows early data"
    elif name == "EarlyData":
        fields = f"{len(step.wire)} bytes of 0-RTT data"
    elif name == "EndOfEarlyData":
        fields = "the 0-RTT data ends here"
    elif name == "KeyUpdate":
        fields = "update_requested" if msg.request_update else "update_not_requested"
    elif name == "ApplicationData":
        fields = f"{len(step.wire)} bytes"
    elif name == "Alert" and len(step.wire) == 2:
        level = {1: "warning", 2: "fatal"}.get(step.wire[0], str(step.wire[0]))
        fields = f"{level} {name_of(AlertDescription, step.wire[1])} ({step.wire[1]})"
    line = f"{arrow} {name}"
    if fields:
        line += f"  {fields}"
    if step.protected:
        line += "  [encrypted]"
    return line


def error_text(error: BaseException, peer: str = "server") -> str:
    if isinstance(error, AlertError) and error.received:
        text = f"the {peer} sent alert {error.alert.name} ({int(error.alert)})"
        return f"{text}: {error.reason}" if error.reason else text
    return str(error)


# -- subcommands -----------------------------------------------------------------------------------

COMMANDS: dict[str, tuple] = {}      # name -> (help, arguments(parser), run(args) -> int)


def command(name: str, help: str, arguments):
    """Register ``run(args) -> int`` as the subcommand ``name``; ``arguments(parser)`` adds its
    options. A new subcommand is one more decorated function, nothing else."""
    def register(run):
        COMMANDS[name] = (help, arguments, run)
        return run
    return register


def _common_tls_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", choices=VERSIONS, dest="tls_version",
                   help="only this TLS version (default: 1.3 and 1.2)")
    p.add_argument("--suite", action="append", default=[], metavar="NAME",
                   help="cipher suite, IANA or OpenSSL name (repeatable; default: all)")
    p.add_argument("--group", action="append", default=[], metavar="NAME",
                   help=f"one of {', '.join(groups.names())} (repeatable, in preference "
                        f"order; default: {', '.join(groups.name(g) for g in groups.DEFAULT)})")
    p.add_argument("--alpn", metavar="LIST", default=None,
                   help="application protocols for ALPN (RFC 7301), comma-separated, preferred "
                        "first, e.g. h2,http/1.1 (default: no ALPN)")
    p.add_argument("--keylog", metavar="FILE", default=os.environ.get("SSLKEYLOGFILE"),
                   help="append NSS key log lines here (default: $SSLKEYLOGFILE)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="give up on a silent peer after this long (default 10)")


def _pki_arguments(p):
    p.add_argument("dir", metavar="DIR", help="directory to write the PEM files into")
    p.add_argument("--extra", action="store_true",
                   help="also server-<type>.crt/.key for " + ", ".join(pki.EXTRA_KEY_TYPES))


@command("pki", "write a fresh lesson PKI (CA, intermediate, server and client certificates)",
         _pki_arguments)
def run_pki(args) -> int:
    try:
        extra = pki.EXTRA_KEY_TYPES if args.extra else ()
        written = pki.write_pki(args.dir, extra_key_types=extra)
    except OSError as exc:
        raise UsageError(f"cannot write to {args.dir}: {exc.strerror or exc}") from None
    for filename, path in written.items():
        print(path)
    err(f"lesson PKI written to {args.dir} (its keys are for loopback lessons only)")
    return 0


def _connect_arguments(p):
    p.add_argument("host", metavar="HOST")
    p.add_argument("port", metavar="PORT", type=_port)
    _common_tls_arguments(p)
    p.add_argument("--cafile", metavar="PEM", help="trust anchors (default: the system's)")
    p.add_argument("--servername", metavar="NAME",
                   help="SNI and the name checked in the certificate (default: HOST)")
    p.add_argument("--cert", metavar="PEM", help="client certificate (+ intermediates)")
    p.add_argument("--key", metavar="PEM", help="client private key")
    p.add_argument("--no-ems", action="store_true", help="don't offer extended_master_secret")
    p.add_argument("--send", metavar="TEXT", default="",
                   help=r"send TEXT after the handshake (\r \n \t \\ \xHH understood)")
    p.add_argument("--insecure", action="store_true",
                   help="skip certificate validation (never outside a lesson)")
    p.add_argument("--keep-open", action="store_true",
                   help="don't send close_notify after TEXT: wait for the server to close first")
    p.add_argument("--sess-out", metavar="FILE",
                   help="save the session tickets the server sends (like openssl -sess_out)")
    p.add_argument("--sess-in", metavar="FILE",
                   help="resume a session saved with --sess-out (like openssl -sess_in)")
    p.add_argument("--early-data", metavar="TEXT",
                   help="with --sess-in: send TEXT as TLS 1.3 0-RTT early data (sent again "
                        "after the handshake if the server rejects it)")


@command("connect", "handshake with a TLS server, send TEXT, print what comes back",
         _connect_arguments)
def run_connect(args) -> int:
    from . import net
    from .client import ClientConfig, ClientConnection
    chosen = parse_suites(args.suite, args.tls_version)
    versions = versions_for(args.tls_version, chosen)
    offer = tuple(parse_group(g) for g in args.group) or groups.DEFAULT
    if bool(args.cert) != bool(args.key):
        raise UsageError("--cert and --key go together")
    identity = load_identity(args.cert, args.key) if args.cert else None
    if args.cafile:
        trusted = pki.load_pem_chain(read_file(args.cafile, "CA file"))
    else:
        trusted = pki.load_system_trust()
        if not trusted and not args.insecure:
            raise UsageError("no system trust store found: give --cafile")
    server_name = args.servername or args.host
    store = load_sessions(args.sess_in) if args.sess_in else None
    session = store.take(server_name, versions) if store is not None else None
    if args.sess_in and session is None:
        err(f"no usable session for {server_name} in {args.sess_in}: a full handshake")
    early = unescape(args.early_data) if args.early_data is not None else None
    if early is not None and session is None:
        raise UsageError("--early-data needs a TLS 1.3 session from --sess-in")
    config = ClientConfig(versions=versions, suites=chosen, groups=offer,
                          server_name=server_name, trusted=trusted,
                          verify=not args.insecure, identity=identity, ems=not args.no_ems,
                          session=session, early_data=early, alpn=parse_alpn(args.alpn),
                          session_tickets=bool(args.sess_out))
    conn = ClientConnection(config)
    stdout = sys.stdout.buffer

    def on_stage(step):
        err(describe_step(step, conn))

    def on_handshake(c):
        suite = c.suite.openssl_name if c.version == "1.2" else c.suite.name
        alpn = f", ALPN {c.alpn_protocol}" if c.alpn_protocol is not None else ""
        err(f"handshake complete: TLS {c.version} {suite}{alpn}"
            + (", Reused" if c.resumed else ""))
        if c.early_data_accepted is not None:
            err(f"early data {'accepted' if c.early_data_accepted else 'rejected'} "
                f"({len(early)} bytes)")
        if c.early_data_accepted is False:        # RFC 8446 §4.2.10: the application resends
            c.send(early)

    def on_data(data: bytes):
        stdout.write(data)
        stdout.flush()

    made = []
    try:
        net.connect(args.host, args.port, config, timeout=args.timeout,
                    send=unescape(args.send), on_stage=on_stage, keylog=args.keylog,
                    close=not args.keep_open, on_data=on_data, on_handshake=on_handshake,
                    connection=conn)
    finally:
        # what a later --sess-in can resume: 1.3 tickets, or the 1.2 session (ID or ticket);
        # saved even if the connection ended badly after the handshake
        made = list(conn.sessions) + ([conn.session] if conn.version == "1.2"
                                      and conn.session is not None else [])
        if args.sess_out and made:
            save_sessions(args.sess_out, made)
    if args.sess_out and not made:
        err(f"no session to save: the server gave no ticket or session ID ({args.sess_out})")
    return 0


def load_sessions(path: str):
    from .sessions import SessionStore
    return SessionStore.loads(read_file(path, "session file").decode("utf-8", "replace"))


def save_sessions(path: str, new_sessions) -> None:
    from .sessions import SessionStore
    try:
        SessionStore(new_sessions).save(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    err(f"{len(new_sessions)} session(s) saved to {path}")


def _serve_arguments(p):
    p.add_argument("--port", type=_port_or_zero, required=True, metavar="PORT",
                   help="TCP port (0: let the system choose; the line 'listening on' says which)")
    p.add_argument("--cert", action="append", required=True, metavar="PEM",
                   help="server certificate chain, leaf first (repeat with --key for RSA + ECDSA)")
    p.add_argument("--key", action="append", required=True, metavar="PEM",
                   help="the private key of the --cert at the same position")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    _common_tls_arguments(p)
    p.add_argument("--client-ca", metavar="PEM",
                   help="ask for a client certificate issued by this CA")
    p.add_argument("--client-auth", choices=("require", "request"), default="require",
                   help="with --client-ca: refuse a client without a certificate (require, the "
                        "default) or let it go on unauthenticated (request)")
    p.add_argument("--once", action="store_true", help="exit after the first connection")
    p.add_argument("--max-early-data", type=_non_negative, default=0, metavar="N",
                   help="accept up to N bytes of TLS 1.3 0-RTT data per connection, and say so "
                        "in tickets (default 0: refuse early data)")
    p.add_argument("--http", action="store_true",
                   help="answer HTTP requests with a page saying what the connection negotiated "
                        "(open https://localhost:PORT/ in a browser; ALPN http/1.1) instead of "
                        "echoing")
    p.add_argument("--explain", action="store_true",
                   help="like --http, but the page shows the browser's own ClientHello field by "
                        "field (GREASE, key shares, ECH, extensions in order), what the server "
                        "chose and the ladder of the connection")
    p.add_argument("--no-tickets", action="store_true",
                   help="issue no session tickets (no resumption)")


@command("serve", "an echo server on the package's own TLS code", _serve_arguments)
def run_serve(args) -> int:
    from . import net
    from .connection import ServerConfig
    if len(args.cert) != len(args.key):
        raise UsageError("give one --key for each --cert")
    identities = tuple(load_identity(c, k) for c, k in zip(args.cert, args.key))
    chosen = parse_suites(args.suite, args.tls_version)
    versions = versions_for(args.tls_version, chosen)
    accept = tuple(parse_group(g) for g in args.group) or groups.DEFAULT
    client_ca = (pki.load_pem_chain(read_file(args.client_ca, "client CA file"))
                 if args.client_ca else None)
    config = ServerConfig(identities=identities, versions=versions, suites=chosen,
                          groups=accept, client_ca=client_ca,
                          alpn=parse_alpn(args.alpn) or (("http/1.1",) if args.http or args.explain
                                                          else ()),
                          require_client_certificate=args.client_auth == "require",
                          max_early_data=args.max_early_data)
    if args.no_tickets:
        config = dataclasses.replace(config, ticket_keys=None)

    def ready(port):
        print(f"listening on {args.host}:{port}", flush=True)

    def on_connection(report):
        if report.error is not None:
            print(f"{report.peer}  error: {error_text(report.error, 'client')}", flush=True)
        else:
            print(report, flush=True)

    reports = net.serve(config, args.host, args.port, once=args.once, timeout=args.timeout,
                        keylog=args.keylog, ready=ready, on_connection=on_connection,
                        http=args.http, explain=args.explain)
    if args.once and reports and reports[0].error is not None:
        return 1
    return 0


def _explain_arguments(p):
    p.add_argument("capture", metavar="CAPTURE", help="a pcap or pcapng file (tcpdump, dumpcap, "
                   "Wireshark)")
    p.add_argument("--keylog", metavar="FILE", default=os.environ.get("SSLKEYLOGFILE"),
                   help="NSS key log lines to decrypt with (default: $SSLKEYLOGFILE; without "
                        "one: what a passive observer sees)")
    p.add_argument("--connection", type=_non_negative, metavar="N", default=None,
                   help="only connection N (numbered from 0 in order of first packet, as "
                        "Wireshark's tcp.stream)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per connection, one per line, as each ends")


@command("explain", "explain every TLS connection of a capture, message by message, decrypted "
         "with a key log", _explain_arguments)
def run_explain(args) -> int:
    import json
    from . import capture
    if not Path(args.capture).is_file():
        raise UsageError(f"cannot read {args.capture}: no such file")
    problems: list[str] = []
    seen = 0
    for conn in capture.read_connections(args.capture, args.keylog, problems,
                                         only=args.connection):
        seen += 1
        if args.json:
            print(json.dumps(capture.to_json(conn)), flush=True)
        else:
            for line in capture.describe(conn):
                print(line)
            print(flush=True)
    if args.connection is not None and not seen:
        problems.append(f"no connection {args.connection} in {args.capture}")
    for problem in problems:            # one line each; what could be read was explained
        err(f"problem: {problem}")
    return 1 if problems else 0


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"out of range: {value}")
    return value


def _port(text: str) -> int:
    value = _port_or_zero(text)
    if value == 0:
        raise argparse.ArgumentTypeError("port must be 1-65535")
    return value


def _port_or_zero(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


# -- main ------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):               # one line, not usage + traceback-like noise
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m tlslesson",
                     description="The TLS 1.2 / 1.3 handshake, computed by the lesson package.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (help_text, arguments, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        arguments(p)
        p.set_defaults(run=run)
    return parser


def main(argv=None) -> int:
    try:
        sys.stderr.reconfigure(errors="backslashreplace")
    except (AttributeError, ValueError):
        pass
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "timeout", 1) is not None and getattr(args, "timeout", 1) <= 0:
            raise UsageError("--timeout must be positive")
        return args.run(args) or 0
    except SystemExit as exc:             # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        err("error: interrupted")
        return 130
    except UsageError as exc:
        err(f"error: {exc}")
        return 2
    except TLSError as exc:
        err(f"error: {error_text(exc)}")
        return 1
    except BrokenPipeError:             # stdout closed early (| head): not worth a message
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 1
    except Exception as exc:               # a bug: still one line (TLSLESSON_DEBUG=1 for more)
        if os.environ.get("TLSLESSON_DEBUG"):
            traceback.print_exc()
        err(f"error: internal error: {type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
