"""An echo server on Python's ``ssl`` (OpenSSL): the yardstick for ``python -m tlslesson serve``.

    python benchmarks/ssl_echo_server.py --port 0 --cert server.crt --key server.key [--timeout 10]

It does what ``serve`` does, the way ``serve`` does it: one thread per client, TCP_NODELAY, the certificate chain
from the same PEM file, every TLS 1.2 and 1.3 suite OpenSSL allows by default (the client picks),
the session tickets ``serve`` sends by default (OpenSSL's defaults are the same: two TLS 1.3
NewSessionTickets after the handshake, an RFC 5077 ticket in TLS 1.2 when the client offers the
extension — ``openssl s_client`` does), echo every byte until the client's close_notify, answer
it with close_notify. Prints ``listening on HOST:PORT`` once listening (``--port 0``: the system
chooses), like ``serve``; one line on stderr per failed connection. Ends on SIGINT / SIGTERM.
"""
from __future__ import annotations

import argparse
import signal
import socket
import ssl
import sys
import threading


def context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # tickets as serve issues them (ServerConfig.tickets = 2, a 1.2 ticket when asked for): the
    # defaults, said out loud because an earlier yardstick turned them off
    ctx.num_tickets = 2
    return ctx


def handle(ctx: ssl.SSLContext, raw: socket.socket, peer, timeout: float) -> None:
    try:
        raw.settimeout(timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # as serve does: flights at once
        with ctx.wrap_socket(raw, server_side=True) as tls:
            while data := tls.recv(65536):   # b"" at the client's close_notify (or TCP close)
                tls.sendall(data)
            try:
                tls.unwrap()                 # our close_notify
            except (OSError, ValueError):
                pass
    except (OSError, ssl.SSLError) as exc:
        print(f"{peer[0]}:{peer[1]}  error: {exc}", file=sys.stderr, flush=True)
    finally:
        raw.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--timeout", type=float, default=10.0)
    args = p.parse_args(argv)
    ctx = context(args.cert, args.key)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with socket.create_server((args.host, args.port)) as listener:
        print(f"listening on {args.host}:{listener.getsockname()[1]}", flush=True)
        try:
            while True:
                raw, peer = listener.accept()
                threading.Thread(target=handle, args=(ctx, raw, peer, args.timeout),
                                 daemon=True).start()
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
