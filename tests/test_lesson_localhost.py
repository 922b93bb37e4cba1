"""tlslesson.lesson.localhost: the reference peers notebook 10 starts, behind one call each."""
from __future__ import annotations

import threading

import pytest

from tlslesson import net, pki
from tlslesson.lesson import lesson_client
from tlslesson.lesson.localhost import openssl, reference_server, s_client_to_our_server


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return pki.write_pki(tmp_path_factory.mktemp("pki"))


def _config(files, version):
    trusted = pki.load_pem_chain(files["ca.crt"].read_bytes())
    return lesson_client(versions=(version,), trusted=trusted, server_name="localhost")


def test_python_ssl_peer_answers_once_and_stops(files, tmp_path):
    keys = tmp_path / "server.keys"
    with reference_server(files, "1.2", keylog=keys, prefer="python") as peer:
        result = net.connect("127.0.0.1", peer.port, _config(files, "1.2"), send=b"GET / HTTP/1.0\r\n\r\n",
                             timeout=5)
    assert peer.kind == "python ssl" and not peer.errors
    assert f"Cipher is {result.suite.openssl_name}" in result.data.decode()
    assert "CLIENT_RANDOM" in keys.read_text()
    assert not [t for t in threading.enumerate() if t.name == "tlslesson-python-ssl-server"]


@pytest.mark.skipif(openssl() is None, reason="no openssl command")
def test_openssl_peers_both_ways(files):
    with reference_server(files, "1.3") as peer:
        result = net.connect("127.0.0.1", peer.port, _config(files, "1.3"), send=b"GET / HTTP/1.0\r\n\r\n",
                             timeout=5)
    assert peer.kind == "openssl s_server" and "-cert_chain intermediate.crt" in peer.command
    assert result.version == "1.3" and b"Cipher is" in result.data
    echo = s_client_to_our_server(files, "hi")
    assert echo.echoed == "hi" and "TLS 1.3" in echo.report


@pytest.mark.parametrize("prefer", ["python", "openssl"])
@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_alpn_and_a_resumed_second_visit(files, version, prefer):
    """Notebook 10's second visit: the peer picks ALPN by its own preference, issues tickets, and
    says "Reused" for the connection that brings one back (both peers word it as s_server -www)."""
    if prefer == "openssl" and openssl() is None:
        pytest.skip("no openssl command")
    trusted = pki.load_pem_chain(files["ca.crt"].read_bytes())
    pages, conns = [], []
    with reference_server(files, version, alpn=("http/1.1", "h2"), connections=2, prefer=prefer) as peer:
        session = None
        for _ in range(2):
            config = lesson_client(versions=(version,), trusted=trusted, server_name="localhost",
                                   alpn=("h2", "http/1.1"), session_tickets=True, session=session)
            result = net.connect("127.0.0.1", peer.port, config, send=b"GET / HTTP/1.0\r\n\r\n", timeout=5)
            conns.append(result.connection)
            pages.append(result.data.decode())
            session = result.connection.sessions[0] if version == "1.3" else result.connection.session
    assert not peer.errors and peer.kind.startswith(prefer)
    assert [c.alpn_protocol for c in conns] == ["http/1.1", "http/1.1"]
    assert [c.resumed for c in conns] == [False, True]
    assert f"New, TLSv{version}" in pages[0] and f"Reused, TLSv{version}" in pages[1]
