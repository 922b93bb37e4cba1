"""Bounded memory: a connection keeps its handshake steps and counts application data; a server
keeps a bounded number of finished connections. (The RSS figure for 10,000 handshakes and 1 GiB
echoed is measured by the benchmark, `make bench`.)"""
from __future__ import annotations

import gc
import time
import tracemalloc

from tlslesson import net
from tlslesson.client import ClientConnection
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.server import ServerConnection

MIB = 1 << 20


def _pair(log_records: bool = False):
    client = ClientConnection(ClientConfig(versions=("1.3",), log_records=log_records))
    server = ServerConnection(ServerConfig(log_records=log_records))
    client.start()
    for _ in range(10):
        server.receive(client.data_to_send())
        client.receive(server.data_to_send())
    assert client.handshake_complete and server.handshake_complete
    return client, server


def test_application_data_is_counted_not_kept():
    client, server = _pair()
    steps = (len(client.log), len(server.log))
    chunk = bytes(MIB)
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(32):                              # 32 MiB through the pair
            client.send(chunk)
            server.receive(client.data_to_send())
        current, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (len(client.log), len(server.log)) == steps
    assert client.stats.bytes_sent == server.stats.bytes_received == 32 * MIB
    assert client.stats.records_sent == server.stats.records_received == 32 * 64
    assert current < 4 * MIB, current                    # was: every record kept, twice


def test_a_lesson_asks_for_the_records_explicitly():
    client, server = _pair(log_records=True)
    client.send(b"hello")
    server.receive(client.data_to_send())
    assert [s.name for s in server.log][-1] == "ApplicationData"
    assert server.log[-1].wire == b"hello"


def test_server_remembers_a_bounded_number_of_connections():
    with net.serve_in_background(ServerConfig(), keep_reports=2) as server:
        for i in range(4):
            net.connect("127.0.0.1", server.port, ClientConfig(), send=b"x%d" % i)
        end = time.monotonic() + 5
        while server.served < 4 and time.monotonic() < end:
            time.sleep(0.01)
    assert server.served == 4
    assert len(server.reports) == 2 and server.reports[-1].echoed == 2
