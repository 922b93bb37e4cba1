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
