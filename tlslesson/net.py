"""The only module with sockets: ``connect()`` and ``serve()`` drive a sans-IO connection over TCP.

Everything protocol-related happens in ``connection.py``; this module only moves bytes, bounds every
wait by a timeout, and turns socket trouble into ``TransportError``:

    result = connect("127.0.0.1", 4433, ClientConfig(), send=b"hello")
    result.version, result.suite, result.data

    with serve_in_background(ServerConfig()) as server:      # tests: an echo server on a free port
        connect("127.0.0.1", server.port, ClientConfig(), send=b"ping").data   # -> b"ping"

Closing follows RFC 8446 §6.1 / RFC 5246 §7.2.1: after sending what it has, the client sends
close_notify ("I will send no more") and keeps reading until the server's close_notify (or the TCP
close); the server echoes every record it reads and answers close_notify with close_notify.
"""
from __future__ import annotations

import collections
import dataclasses
import html
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from . import keylog as keylog_file
from . import states
from .client import ClientConnection
from .connection import (ApplicationData, ClientConfig, ConnectionClosed, EarlyData, HandshakeComplete,
                         PostHandshakeMessage, ServerConfig, Step)
from .errors import TLSError, TransportError
from .server import ServerConnection

RECV_SIZE = 65536
LINGER = 0.5                 # at most this long draining the peer before closing (see _close)
MAX_CONNECTIONS = 32
KEEP_REPORTS = 256            # a Server remembers this many finished connections, no more

_keylog_lock = threading.Lock()


def write_keylog(path, lines) -> None:
    """Append NSS key log lines (like SSLKEYLOGFILE); one lock so threads don't interleave."""
    if path and lines:
        with _keylog_lock:
            try:
                keylog_file.append(path, lines)
            except OSError as exc:
                raise TLSError(f"cannot write key log {path}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _expected(conn, peer: str) -> str:
    """What we are waiting for, in words: "the server's ServerHello", "application data"."""
    if conn.handshake_complete:
        return f"the {peer} to send data or close"
    words = [states.trigger_name(t) for t in conn.expected()] or ["a reply"]
    return f"the {peer}'s " + " or ".join(words)


class _Link:
    """One socket + one connection: write what the connection queued, read with a deadline."""

    def __init__(self, sock: socket.socket, conn, timeout: float, peer: str,
                 on_stage: Callable[[Step], None] | None):
        self.sock, self.conn, self.timeout, self.peer = sock, conn, timeout, peer
        self.on_stage = on_stage
        self._logged = 0
        self.eof = False
        self.timed_out = False       # then there is nothing of ours to protect: close at once
        self._wait = None            # the socket's current timeout (set only when it changes)
        # A handshake is a ping-pong of small flights: send each at once (no Nagle delay).
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def _settimeout(self, wait: float) -> None:
        if wait != self._wait:
            self.sock.settimeout(wait)
            self._wait = wait

    def report_stages(self) -> None:
        if self.on_stage is not None:
            while self._logged < len(self.conn.log):
                step = self.conn.log[self._logged]
                self._logged += 1
                self.on_stage(step)
        else:
            self._logged = len(self.conn.log)

    def flush(self) -> None:
        self.report_stages()
        data = self.conn.data_to_send()
        if not data:
            return
        try:
            self._settimeout(self.timeout)          # read() may have left a shorter one
            self.sock.sendall(data)
        except socket.timeout:
            raise TransportError(f"timed out after {self.timeout:g} s sending to the "
                                 f"{self.peer}") from None
        except OSError as exc:
            when = self._when()
            self._read_what_arrived()      # the peer's alert, if it sent one before it closed
            raise TransportError(f"the {self.peer} closed the connection ({_reason(exc)}) "
                                 f"{when}") from None

    def _read_what_arrived(self, limit: int = 16) -> None:
        """Our write failed because the peer closed: what it sent before closing is probably in
        our receive buffer still — typically the alert that says why (a server refusing our
        certificate after our Finished). Feed it to the connection, which raises that alert."""
        if self.conn.closed:
            return
        try:
            self.sock.setblocking(False)
            self._wait = None
            for _ in range(limit):
                data = self.sock.recv(RECV_SIZE)
                if not data:
                    return
                self.conn.receive(data)
        except OSError:                   # nothing (more) there, or reset
            return

    def flush_quietly(self) -> None:
        """After an error: send the queued alert if the socket still takes it."""
        try:
            self.flush()
        except TLSError:
            pass

    def _when(self) -> str:
        if self.conn.handshake_complete:
            return "after the handshake"
        if not self.conn.log:
            return "before the first message"
        return f"during the handshake (after {self.conn.log[-1].name})"

    def read(self, deadline: float | None = None) -> bytes:
        """Bytes from the peer; b"" at EOF. Waits at most ``timeout`` (or until ``deadline``)."""
        wait = self.timeout
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
            if wait <= 0:        # checked before reading: a peer that keeps sending a trickle
                self.timed_out = True        # (or an endless message) must not outlive it
                raise self._timed_out()
        try:
            self._settimeout(wait)
            data = self.sock.recv(RECV_SIZE)
        except socket.timeout:
            self.timed_out = True
            raise self._timed_out() from None
        except OSError as exc:
            raise TransportError(f"the {self.peer} reset the connection ({_reason(exc)}) "
                                 f"{self._when()}") from None
        if not data:
            self.eof = True
        return data

    def _timed_out(self) -> TransportError:
        return TransportError(f"timed out after {self.timeout:g} s waiting for "
                              f"{_expected(self.conn, self.peer)}")

    def receive(self, deadline: float | None = None) -> list:
        """Read once and feed the connection. EOF during the handshake is an error."""
        data = self.read(deadline)
        if not data:
            if not self.conn.handshake_complete:
                raise TransportError(f"{self.peer} closed the connection {self._when()}")
            return []
        try:
            return self.conn.receive(data)
        finally:
            self.report_stages()


def _close(sock: socket.socket, linger: float = LINGER) -> None:
    """Close without losing what we just sent: closing a socket with unread input (or input
    still coming) makes the kernel send a TCP reset, and a reset makes the peer's kernel drop
    what it had not read yet: our last records, the alert! So: shut our side, drain the peer
    for at most ``linger`` seconds, then close."""
    try:
        sock.shutdown(socket.SHUT_WR)
        end = time.monotonic() + linger
        while (left := end - time.monotonic()) > 0:
            sock.settimeout(left)
            if not sock.recv(RECV_SIZE):
                break
    except OSError:
        pass
    finally:
        sock.close()


# ================================================================================================
@dataclass
class Result:
    """What ``connect`` returns: the connection (every Step and value) and the data received."""
    connection: ClientConnection
    data: bytes = b""
    closed_by: str = ""                 # "close_notify" or "tcp close" (no close_notify)
    post_handshake: list = field(default_factory=list)   # NewSessionTicket, KeyUpdate, ...

    @property
    def version(self) -> str | None:
        return self.connection.version

    @property
    def suite(self):
        return self.connection.suite


def connect(host: str, port: int, config: ClientConfig | None = None, *, timeout: float = 10.0,
            send: bytes = b"", on_stage: Callable[[Step], None] | None = None,
            keylog=None, close: bool = True,
            on_data: Callable[[bytes], None] | None = None,
            on_handshake: Callable[[ClientConnection], None] | None = None,
            connection: ClientConnection | None = None) -> Result:
    """Handshake with ``host:port``, send ``send``, collect application data until the server
    closes. ``close=True`` sends our close_notify right after ``send`` (a half-close: we keep
    reading); ``close=False`` waits for the server to close first. ``on_stage(step)`` sees every
    message, sent or received; ``on_handshake(conn)`` runs once the handshake is complete (before
    ``send``); ``on_data(bytes)`` sees every piece of application data as it arrives;
    ``keylog`` is a file the NSS key log lines are appended to. Raises ``TLSError``:
    ``AlertError`` for a failed check or an alert from the server, ``TransportError`` for TCP
    trouble and timeouts (every wait is bounded by ``timeout`` seconds)."""
    conn = connection or ClientConnection(config or ClientConfig())
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.timeout:
        raise TransportError(f"timed out after {timeout:g} s connecting to {host}:{port}") from None
    except OSError as exc:
        raise TransportError(f"cannot connect to {host}:{port}: {_reason(exc)}") from None
    link = _Link(sock, conn, timeout, "server", on_stage)
    result = Result(conn)
    received = []
    keylog_written = False

    def handle(events) -> None:
        nonlocal keylog_written
        for event in events:
            if isinstance(event, ApplicationData):
                received.append(event.data)
                if on_data is not None:
                    on_data(event.data)
            elif isinstance(event, PostHandshakeMessage):
                result.post_handshake.append(event.message)
            elif isinstance(event, ConnectionClosed):
                result.closed_by = "close_notify"
        if conn.handshake_complete and not keylog_written:
            keylog_written = True
            write_keylog(keylog, conn.keylog)

    try:
        conn.start()
        link.flush()
        deadline = time.monotonic() + timeout
        while not conn.handshake_complete:
            handle(link.receive(deadline))
            link.flush()
        if on_handshake is not None:
            on_handshake(conn)
        def read_until(done, deadline=None) -> None:
            while not done() and not conn.closed and not link.eof:
                try:
                    events = link.receive(deadline)
                except TransportError:
                    if link.timed_out:
                        raise
                    # The server reset the TCP connection instead of sending close_notify: keep
                    # what arrived, and say how it ended (without close_notify a truncation
                    # can't be told from a clean end).
                    result.closed_by = "tcp reset"
                    return
                handle(events)
                link.flush()           # e.g. our KeyUpdate answer

        if send:
            conn.send(send)
            link.flush()
            if close:
                # Wait for the answer before our close_notify: a server that answers and closes
                # at once would close with our alert unread, and the TCP reset that follows can
                # discard its answer on the way to us. Nothing within ``timeout``: an error that
                # says what we waited for.
                read_until(lambda: received, time.monotonic() + timeout)
        if close and not conn.closed and result.closed_by != "tcp reset":
            conn.close()
        link.flush()
        read_until(lambda: False)
        if result.closed_by == "close_notify":
            conn.close()               # RFC 5246 §7.2.1: answer close_notify with close_notify
            link.flush_quietly()
        elif not result.closed_by:
            result.closed_by = "tcp close"
    except TLSError:
        link.report_stages()
        link.flush_quietly()           # the fatal alert the connection queued
        raise
    finally:
        _close(sock, 0 if link.timed_out else LINGER)
    result.data = b"".join(received)
    return result


# ================================================================================================
@dataclass
class ConnectionReport:
    """One line of the server's log: who connected and how it went."""
    peer: str
    version: str | None = None
    suite: object = None
    group: str | None = None
    alpn: str | None = None                    # the application protocol ALPN agreed on
    client_certificate: str | None = None
    early_data: int | None = None         # 0-RTT bytes accepted (None: none offered or rejected)
    echoed: int = 0
    http_request: str = ""               # serve --http: the request line answered
    error: TLSError | None = None
    connection: ServerConnection | None = None
    resumed: bool = False               # a resumed (abbreviated / PSK) handshake
    resumption: str = ""                # "resumed by ticket", "full handshake: ticket: expired"

    @property
    def ok(self) -> bool:
        return self.error is None and self.version is not None

    def __str__(self) -> str:
        if self.error is not None:
            return f"{self.peer}  error: {self.error}"
        line = f"{self.peer}  TLS {self.version} {self.suite}"
        if self.group:
            line += f" {self.group}"
        if self.alpn is not None:
            line += f", ALPN {self.alpn}"
        if self.client_certificate:
            line += f", client certificate {self.client_certificate}"
        if self.resumption:
            line += f", {self.resumption}"
        if self.early_data is not None:
            line += f", {self.early_data} bytes of early data"
        if self.http_request:
            return line + f", HTTP {self.http_request}"
        return line + f", {self.echoed} bytes echoed"


MAX_HTTP_REQUEST = 16384        # header bytes we wait for before answering anyway


def http_ok(body: bytes) -> bytes:
    """An HTTP/1.1 200 response carrying the HTML ``body``, the connection closed after it."""
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    return head + body


def http_page(conn: ServerConnection) -> bytes:
    """``serve --http``: what a browser gets — an HTML page saying what its connection
    negotiated, and images on the same server, so the browser opens more connections
    (``Connection: close``) that resume the first (RFC 8446 §2.2): reload to see it."""
    from .explain_page import chosen_parameters
    rows = chosen_parameters(conn) + [
        ("0-RTT data", f"{conn.hs.early_data_received} bytes" if conn.hs.early_data_received
         else "none")]
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                    for k, v in rows)
    body = (f"<!doctype html><meta charset=utf-8><title>tlslesson serve</title>"
            f"<h1>Your connection</h1><table>{table}</table>"
            # two images: a browser may have opened a spare connection before the first ticket
            # came (Chromium preconnects), so the second image comes on one that resumes
            f'<img src="/second-connection.svg" alt="" width=1 height=1>'
            f'<img src="/third-connection.svg" alt="" width=1 height=1>').encode()
    return http_ok(body)


class Server:
    """An echo server on our ServerConnection. One thread per client (at most
    ``max_connections`` at once); every wait is bounded by ``timeout``, so a stalled or hostile
    client ends in an error in its own thread and never blocks the others.

    ``config`` is shared read-only: each connection gets a copy with its own random source.
    ``reports`` holds the last ``keep_reports`` finished connections (each with its whole
    handshake log), so a server left running for a class does not grow without bound;
    ``served`` counts them all."""

    def __init__(self, config: ServerConfig | None = None, host: str = "127.0.0.1",
                 port: int = 0, *, timeout: float = 10.0,
                 on_stage: Callable[[Step], None] | None = None,
                 on_connection: Callable[[ConnectionReport], None] | None = None,
                 keylog=None, max_connections: int = MAX_CONNECTIONS,
                 keep_reports: int = KEEP_REPORTS, http: bool = False, explain: bool = False):
        self.config = config or ServerConfig()
        self.http = http or explain        # answer an HTTP request with http_page, not an echo
        self.explain = explain             # ... with the visitor's ClientHello explained
        self.timeout, self.on_stage, self.on_connection = timeout, on_stage, on_connection
        self.keylog = keylog
        self.reports: collections.deque[ConnectionReport] = collections.deque(maxlen=keep_reports)
        self.served = 0
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stopping = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._count = 0
        self._thread: threading.Thread | None = None
        try:
            self.listener = socket.create_server((host, port), reuse_port=False)
        except OSError as exc:
            raise TransportError(f"cannot listen on {host}:{port}: {_reason(exc)}") from None
        self.host, self.port = self.listener.getsockname()[:2]
        # stop() writes a byte here to wake the accept loop, which waits in select() on this and
        # the listener with no timeout: an idle server takes no CPU at all (no polling)
        self._wake_r, self._wake_w = socket.socketpair()

    # -- life cycle ---------------------------------------------------------------------------
    def serve_forever(self, once: bool = False) -> None:
        """Accept clients until ``stop()`` (or, with ``once``, until the first one is done)."""
        self.listener.setblocking(False)    # readable in select() yet gone (a client that left)
        try:
            while not self._stopping.is_set():
                if not self._slots.acquire(timeout=1.0):
                    continue                # all slots busy: let the backlog wait
                try:
                    readable = select.select([self.listener, self._wake_r], [], [])[0]
                    if self._wake_r in readable or self._stopping.is_set():
                        self._slots.release()
                        break
                    sock, addr = self.listener.accept()
                except BlockingIOError:     # the client was gone before we took it
                    self._slots.release()
                    continue
                except (OSError, ValueError):
                    self._slots.release()
                    if self._stopping.is_set():
                        break
                    time.sleep(0.05)        # e.g. out of file descriptors: keep serving
                    continue
                sock.setblocking(True)      # not the listener's mode: _Link sets timeouts
                if once:
                    self.listener.close()
                    self._handle(sock, addr)
                    break
                thread = threading.Thread(target=self._handle, args=(sock, addr), daemon=True,
                                          name=f"tlslesson-client-{addr[1]}")
                with self._lock:            # started under the lock: stop() never sees it
                    self._threads.add(thread)   # unstarted (joining that is a RuntimeError)
                    thread.start()
        finally:
            self.listener.close()

    def start(self) -> "Server":
        """Serve in a background thread (for tests and notebooks)."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True,
                                        name="tlslesson-server")
        self._thread.start()
        return self

    def stop(self, wait: float = 5.0) -> None:
        """Stop accepting, wake every connection, and join the threads."""
        self._stopping.set()
        try:
            self._wake_w.send(b"x")         # wakes the accept loop in select()
        except OSError:
            pass
        try:
            self.listener.close()
        except OSError:
            pass
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        end = time.monotonic() + wait
        for thread in threads + ([self._thread] if self._thread else []):
            if thread is not threading.current_thread():
                thread.join(max(0.0, end - time.monotonic()))
        for wake in (self._wake_r, self._wake_w):
            wake.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- one client ---------------------------------------------------------------------------
    def _connection_config(self) -> ServerConfig:
        with self._lock:
            self._count += 1
            number = self._count
        return dataclasses.replace(self.config, rng=self.config.rng.for_connection(number))

    def _handle(self, sock: socket.socket, addr) -> None:
        peer = f"{addr[0]}:{addr[1]}"
        report = ConnectionReport(peer)
        with self._lock:
            self._sockets.add(sock)
        link = None
        try:
            conn = ServerConnection(self._connection_config())
            report.connection = conn
            link = _Link(sock, conn, self.timeout, "client", self.on_stage)
            try:
                self._run(conn, link, report)
            except TLSError as error:
                report.error = error
                link.report_stages()
                link.flush_quietly()
        except Exception as error:            # a bug must not kill the server: log it, and
            report.error = TLSError(f"internal error: {type(error).__name__}: {error}")
            if link is not None:              # tell the client (internal_error alert)
                try:
                    link.conn._fail(report.error)
                except Exception:
                    pass
                link.flush_quietly()
        finally:
            with self._lock:
                self._sockets.discard(sock)
                self._threads.discard(threading.current_thread())
            _close(sock, 0 if link is not None and link.timed_out else LINGER)
            with self._lock:
                self.reports.append(report)
                self.served += 1
            self._slots.release()
            if self.on_connection is not None:
                try:
                    self.on_connection(report)
                except Exception:
                    pass

    def _run(self, conn: ServerConnection, link: _Link, report: ConnectionReport) -> None:
        deadline = time.monotonic() + self.timeout
        early: list[bytes] = []               # 0-RTT data, answered once the handshake is done
        request = bytearray()                 # --http: the request so far

        def answer(data: bytes) -> None:
            """Echo ``data``, or (--http) answer the request once its header is complete."""
            if not self.http:
                conn.send(data)
                report.echoed += len(data)
                return
            request.extend(data)
            if report.http_request or not (b"\r\n\r\n" in request
                                            or len(request) > MAX_HTTP_REQUEST):
                return
            line = bytes(request).split(b"\r\n", 1)[0]
            report.http_request = line.decode("ascii", "replace")[:200] or "(empty)"
            if self.explain:
                from .explain_page import page_for
                conn.send(http_ok(page_for(conn)))
            else:
                conn.send(http_page(conn))
            conn.close()

        while not conn.closed:
            if self._stopping.is_set():
                raise TransportError("server stopped")
            events = link.receive(None if conn.handshake_complete else deadline)
            if link.eof:                     # TCP close after the handshake, no close_notify
                break
            for event in events:
                if isinstance(event, HandshakeComplete):
                    report.version, report.suite = event.version, event.suite
                    report.group = conn.values.get("group")
                    report.alpn = conn.alpn_protocol
                    report.resumed = conn.resumed
                    if not conn.values.get("session_id_unknown"):
                        report.resumption = conn.values.get("resumption", "")
                    checks = conn.values.get("client_certificate_checks")
                    if checks is not None and checks.path:
                        report.client_certificate = checks.path[0].subject.rfc4514_string()
                    write_keylog(self.keylog, conn.keylog)
                    for data in early:
                        answer(data)
                elif isinstance(event, EarlyData):
                    early.append(event.data)
                    report.early_data = (report.early_data or 0) + len(event.data)
                elif isinstance(event, ApplicationData) and not conn.close_sent:
                    answer(event.data)
                elif isinstance(event, ConnectionClosed):
                    conn.close()             # answer close_notify with close_notify
            try:
                link.flush()
            except TransportError:
                if conn.handshake_complete and not link.timed_out:
                    break       # the client left after the handshake (e.g. while we sent it
                raise           # tickets), as a TCP close without close_notify: it was done


def serve(config: ServerConfig | None = None, host: str = "127.0.0.1", port: int = 0, *,
          once: bool = False, timeout: float = 10.0,
          on_stage: Callable[[Step], None] | None = None, keylog=None,
          ready: Callable[[int], None] | None = None,
          on_connection: Callable[[ConnectionReport], None] | None = None,
          max_connections: int = MAX_CONNECTIONS,
          keep_reports: int = 1, http: bool = False,
          explain: bool = False) -> list[ConnectionReport]:
    """Listen and echo (blocks). ``ready(port)`` is called once listening; ``once`` returns after
    the first connection ends. Returns the reports of the last ``keep_reports`` connections
    (the command line keeps one: a server serving a class for hours must not grow)."""
    server = Server(config, host, port, timeout=timeout, on_stage=on_stage,
                    on_connection=on_connection, keylog=keylog, max_connections=max_connections,
                    keep_reports=keep_reports, http=http, explain=explain)
    try:
        if ready is not None:
            ready(server.port)
        server.serve_forever(once=once)
    finally:
        server.stop()
    return list(server.reports)


def serve_in_background(config: ServerConfig | None = None, host: str = "127.0.0.1",
                        port: int = 0, **options) -> Server:
    """A started ``Server``; use it as a context manager: ``with serve_in_background() as s:``."""
    return Server(config, host, port, **options).start()
