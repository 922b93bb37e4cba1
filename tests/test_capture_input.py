"""The capture reader on captures made to be awkward: segments out of order, duplicated,
overlapping or missing; IPv6 and the BSD loopback link type; traffic that is not TLS; truncated
and fuzzed files. Built from the package's own in-memory handshakes
(benchmarks/synthetic_capture.py) so each awkwardness is exactly the one a test names. The
answer is always the same plaintext as the clean capture, or one line per problem — never an
exception."""
from __future__ import annotations

import random
import struct
import subprocess
import sys

import pytest

from benchmarks.synthetic_capture import flow_from_handshake, write_pcap
from tlslesson import connection
from tlslesson.capture import open_capture
from tlslesson.lesson.configs import lesson_client, lesson_server
from tlslesson.rng import lesson_rngs
from tlslesson.suites import get


def _flows(cases=(("1.3", "TLS_AES_128_GCM_SHA256"), ("1.2", "ECDHE-RSA-AES128-GCM-SHA256")),
           client_host="127.0.0.1", server_host="127.0.0.1", body=b"x" * 5000):
    flows, keys = [], []
    for i, (version, suite) in enumerate(cases):
        crng, srng = lesson_rngs(f"capture-input-{i}")
        result = connection.handshake(
            lesson_client(versions=(version,), suites=(get(suite),), rng=crng),
            lesson_server(versions=(version,), suites=(get(suite),), rng=srng))
        assert result.ok, result.error
        result.client.send(b"GET / HTTP/1.0\r\n\r\n")
        request = result.client.data_to_send()
        result.server.receive(request)
        result.server.send(body)
        extra = [("client", request), ("server", result.server.data_to_send())]
        keys += result.client.keylog
        flows.append(flow_from_handshake(result, (client_host, 41000 + i), (server_host, 443),
                                         extra))
    return flows, keys


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    directory = tmp_path_factory.mktemp("capture-input")
    flows, keys = _flows()
    keylog = directory / "keys"
    keylog.write_text("\n".join(keys) + "\n")
    clean = directory / "clean.pcap"
    write_pcap(clean, flows, interleave=True)
    return directory, flows, keylog, clean


def _plaintexts(capture):
    return {c.number: [(r.sender, r.plaintext) for r in c.records if r.plaintext is not None]
            for c in capture}


def test_clean_capture_decrypts_both(made):
    _, _, keylog, clean = made
    capture = open_capture(clean, keylog=keylog)
    assert capture.problems == [] and len(capture) == 2 and all(c.decrypted for c in capture)


def _data(segs):
    return [i for i, s in enumerate(segs) if s[3]]


@pytest.mark.parametrize("how", ["reversed", "shuffled", "duplicated", "overlapping"])
def test_reordered_duplicated_overlapping_segments_change_nothing(made, how):
    directory, flows, keylog, clean = made
    rng = random.Random(how)

    def flight(data):
        if how == "reversed":
            return data[::-1]
        if how == "shuffled":
            data = list(data)
            rng.shuffle(data)
            return data
        if how == "duplicated":            # every other segment twice, the copies late
            return data + data[::2]
        extra = [(s, seq + len(p) // 2, f, p[len(p) // 2:]) for s, seq, f, p in data]
        return [x for pair in zip(data, extra) for x in pair]   # overlapping: again from its middle

    def mutate(flow, segs):
        """Within each flight (a run of one side's segments): a real capture never shows an
        answer before what it answers, whatever the order inside a direction."""
        head, data, tail = segs[:3], segs[3:-2], segs[-2:]
        out, run = [], []
        for seg in data:
            if run and run[-1][0] != seg[0]:
                out += flight(run)
                run = []
            run.append(seg)
        return head + out + flight(run) + tail

    path = directory / f"{how}.pcap"
    write_pcap(path, flows, mss=300, interleave=True, mutate=mutate)
    capture = open_capture(path, keylog=keylog)
    assert capture.problems == []
    assert _plaintexts(capture) == _plaintexts(open_capture(clean, keylog=keylog))


def test_a_missing_segment_is_a_gap_and_the_rest_is_explained(made):
    directory, flows, keylog, _ = made

    def mutate(flow, segs):                # drop the server's 4th data segment
        server = [i for i, s in enumerate(segs) if s[0] == "server" and s[3]]
        return segs[:server[3]] + segs[server[3] + 1:]

    path = directory / "gap.pcap"
    write_pcap(path, flows[:1], mss=300, mutate=mutate)
    capture = open_capture(path, keylog=keylog)
    (problem,) = capture.problems
    assert problem.startswith("connection 0: server stream: 300 bytes missing at stream offset")
    conn = capture[0]
    assert [s.name for s in conn.steps][:2] == ["ClientHello", "ServerHello"]
    assert any(s.sender == "client" and s.name == "ApplicationData" for s in conn.steps)


def test_ipv6_and_bsd_loopback_link_type(made):
    directory, _, _, _ = made
    flows, keys = _flows(cases=(("1.3", "TLS_CHACHA20_POLY1305_SHA256"),),
                         client_host="::1", server_host="::1")
    keylog = directory / "v6.keys"
    keylog.write_text("\n".join(keys) + "\n")
    for linktype in (1, 0):
        path = directory / f"v6-{linktype}.pcap"
        write_pcap(path, flows, linktype=linktype)
        capture = open_capture(path, keylog=keylog)
        assert capture.problems == [] and capture[0].decrypted
        assert capture[0].client == ("::1", 41000)


def test_tls_is_found_by_its_bytes_not_its_port_and_other_traffic_is_named(made):
    directory, flows, keylog, _ = made
    flows[0].server = ("127.0.0.1", 8080)                 # TLS on a port that isn't 443
    from benchmarks.synthetic_capture import Flow
    http = Flow(("127.0.0.1", 42000), ("127.0.0.1", 443),
                [("client", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ("server", b"HTTP/1.1 400\r\n")])
    path = directory / "mixed.pcap"
    write_pcap(path, [flows[0], http])
    capture = open_capture(path, keylog=keylog)
    assert capture.problems == []
    assert [c.tls for c in capture.connections] == [True, False]
    assert capture[0].server[1] == 8080 and capture[0].decrypted
    assert "not TLS (it starts 'GET / HTTP/1.1\\r\\n')" in capture.connections[1].summary()
    flows[0].server = ("127.0.0.1", 443)


def test_a_key_log_with_bad_lines_and_another_sessions_keys(made, tmp_path):
    _, _, keylog, clean = made
    bad = tmp_path / "bad.keys"
    other = "CLIENT_RANDOM " + "ab" * 32 + " " + "cd" * 48      # another session's
    bad.write_text("not a key log line\nCLIENT_RANDOM zz 00\n" + other + "\n")
    capture = open_capture(clean, keylog=bad)
    assert capture.problems[:2] == [
        "key log bad.keys line 1: expected: LABEL <hex> <hex> (line skipped)",
        "key log bad.keys line 2: not hex (line skipped)"]
    assert len(capture) == 2 and not any(c.decrypted for c in capture)
    assert any("the key log has no" in note for c in capture for note in c.notes)


def _run_cli(*args):
    return subprocess.run([sys.executable, "-m", "tlslesson", "explain", *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def test_truncated_files_give_one_line_problems_never_a_traceback(made):
    directory, _, keylog, clean = made
    data = clean.read_bytes()
    for cut in (0, 10, 24, 40, 700, len(data) // 2, len(data) - 7):
        path = directory / f"cut-{cut}.pcap"
        path.write_bytes(data[:cut])
        capture = open_capture(path, keylog=keylog)       # never raises
        assert all(isinstance(p, str) and "\n" not in p for p in capture.problems)
        if cut < 24:
            assert capture.problems and "not a pcap or pcapng file" in capture.problems[0]
    proc = _run_cli(directory / f"cut-{len(data) // 2}.pcap", "--keylog", keylog)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr and all(line.startswith("problem: ") for line in proc.stderr.splitlines())
    assert "ClientHello" in proc.stdout
    proc = _run_cli(directory / "missing.pcap")
    assert proc.returncode == 2 and proc.stderr.startswith("error: cannot read")


def test_fuzzed_captures_give_only_package_problems(made):
    """Bytes flipped, cut and spliced anywhere in the file: the reader finishes (bounded) with
    problems as strings, or explains what it could."""
    directory, _, keylog, clean = made
    data = clean.read_bytes()
    rng = random.Random(15)
    path = directory / "fuzz.pcap"
    for _ in range(150):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 12)):
            at = rng.randrange(len(mutated))
            if rng.random() < 0.8:
                mutated[at] = rng.randrange(256)
            else:
                del mutated[at:at + rng.randint(1, 64)]
        path.write_bytes(bytes(mutated))
        capture = open_capture(path, keylog=keylog)
        assert all(isinstance(p, str) for p in capture.problems)
        for conn in capture.connections:
            list(conn.observer_view())
            from tlslesson.capture import describe, to_json
            list(describe(conn))
            to_json(conn)


def _frames(path):
    import dpkt
    with open(path, "rb") as f:
        pcapng = f.read(4) == b"\x0a\x0d\x0d\x0a"
        f.seek(0)
        reader = (dpkt.pcapng.Reader if pcapng else dpkt.pcap.Reader)(f)
        assert reader.datalink() == dpkt.pcap.DLT_EN10MB
        return [buf for _, buf in reader]


def _via_dpkt(buf: bytes):
    """What the reader made of an Ethernet frame before it read IPv4 and TCP with struct."""
    import dpkt
    from tlslesson.capture import _network_layer, _tcp_segment
    try:
        packet = _network_layer(dpkt.pcap.DLT_EN10MB, buf)
    except (dpkt.Error, struct.error, IndexError):
        return "undecodable"
    problems = []
    segment = _tcp_segment(packet, 1, 0.0, problems)
    if segment is None:
        return problems or None
    return segment.src, segment.dst, segment.seq, segment.flags, segment.payload, segment.missing


def test_ipv4_tcp_read_with_struct_agrees_with_dpkt_frame_by_frame(made):
    """capture._ipv4_tcp reads the common frame (Ethernet, IPv4, TCP) without dpkt's objects;
    where it answers, dpkt's reading says the same, on real and recorded frames and on 3,000
    with their IP or TCP header bytes changed, cut or padded (options, fragments, other
    protocols, short headers, zero or wrong lengths, the NS bit): 40 variants of each frame."""
    from importlib.resources import files
    from tlslesson.capture import ETHERTYPE_IP, _ipv4_tcp
    _, _, _, clean = made
    frames = _frames(clean) + _frames(files("tlslesson") / "data/captures/openssl-loopback.pcapng")
    rng = random.Random(12)
    checked = answered = 0
    for original in frames:
        variants = [original]
        for _ in range(40):
            frame = bytearray(original)
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(14, min(len(frame), 14 + 60))   # the IP and TCP headers
                frame[at] = rng.randrange(256)
            if rng.random() < 0.2:
                frame = frame[:rng.randrange(14, len(frame) + 1)]
            elif rng.random() < 0.2:
                frame += bytes(rng.randrange(1, 40))                 # Ethernet padding
            variants.append(bytes(frame))
        for frame in variants:
            if frame[12:14] != ETHERTYPE_IP:
                continue
            checked += 1
            fields = _ipv4_tcp(frame, 14)
            if fields is not None:
                answered += 1
                assert fields == _via_dpkt(frame), frame.hex()
    assert checked > 3000 and answered > checked // 2, (checked, answered)


def test_the_lesson_views_take_a_captures_steps_unchanged(made):
    """The ladder, the field tables and the hex views read Steps: a capture's are the same."""
    pytest.importorskip("matplotlib")
    from tlslesson.lesson import hex_html, ladder, message_fields, record_fields
    _, _, keylog, clean = made
    for conn in open_capture(clean, keylog=keylog):
        figure = ladder(conn.steps)
        assert len(figure.ladder_info["rows"]) == len(conn.steps)
        for step in conn.steps:
            fields = message_fields(step)
            assert fields and not any(f.name.startswith("undecodable") for f in fields)
            hex_html(step.wire, fields)
            record_fields(step, conn.suite)
        hello = message_fields(conn.steps[0])
        assert any(f.name == "random" and f.meaning for f in hello)
