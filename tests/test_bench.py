"""Smoke test of benchmarks/bench.py with a tiny budget. It checks that every measurement runs and
that the table and JSON have their shape — never a timing (the project has no timed tests: a
target is the bench's own verdict, printed as "target ...: ok" or "MISSED")."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import bench, serving

ROOT = Path(__file__).resolve().parent.parent


def test_handshake_rows_have_both_sides():
    rows = bench.bench_handshakes(["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256",
                                   "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"], runs=2, log=lambda _t: None)
    assert [r["suite"] for r in rows][0] == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    for row in rows:
        assert row["ours_ms"] > 0 and row["openssl_ms"] > 0 and row["ratio"] > 0, row
        assert "openssl_error" not in row
    assert rows[0]["openssl_negotiated"] == "ECDHE-RSA-AES128-GCM-SHA256"
    assert rows[2]["openssl_negotiated"] == "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert rows[1]["openssl_negotiated"].startswith("TLS_")          # OpenSSL's 1.3 choice
    assert "meets_target" in rows[0] and "meets_target" in rows[1]


def test_records_and_import_shapes():
    rec = bench.bench_records(sizes_mib=(1,), repeat=1, log=lambda _t: None)
    row = rec["rows"][0]
    assert row["mib"] == 1 and row["raw_aesgcm_mb_s"] > 0
    assert row["AEAD12_mb_s"] > 0 and row["AEAD13_mb_s"] > 0
    assert row["AEAD12_floor_ratio"] > 0 and row["AEAD13_floor_ratio"] > 0
    assert "floor in Python" in bench.render({"machine": bench._machine(), "command": "test",
                                               "records": rec})
    imports = bench.bench_import(modules=("tlslesson.connection",), runs=1)
    assert imports[0]["median_ms"] > 0
    assert imports[0]["heavy_modules_imported"] == []   # no ipywidgets/matplotlib for the core
    # with the bytecode cache (the target's figure); compiling from source as well where it is off
    assert ("uncached_median_ms" in imports[0]) == bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))


def test_import_is_measured_with_the_bytecode_cache(monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    row = bench.bench_import(modules=("tlslesson.connection",), runs=1)[0]
    assert row["uncached_median_ms"] > 0 and row["median_ms"] > 0
    assert "compiling from source" in bench.render({"machine": bench._machine(), "command": "test",
                                                   "import": [row]})


def test_records_without_vaes_run_or_say_why():
    """Whether the mask reaches cryptography's OpenSSL (and whether the CPU has VAES at all) is the
    machine's business: the run either shows the masked figures or one of the known reasons."""
    native = bench.bench_records(sizes_mib=(1,), repeat=1, log=lambda _t: None)
    raw = native["rows"][0]["raw_aesgcm_mb_s"]
    slow = bench.bench_records_without_vaes(1, 1, raw)
    text = bench.render({"machine": bench._machine(), "command": "test", "records": native,
                         "records_without_vaes": slow})
    if "skipped" in slow:
        assert slow["skipped"].startswith(("no VAES on this CPU", "OPENSSL_ia32cap had no effect",
                                           "the masked run")), slow
        assert f"AES-NI without VAES: not measured ({slow['skipped']})" in text
    else:
        assert slow["mask"] == bench.NO_VAES_MASK and slow["raw_vs_native"] > 0
        assert slow["AEAD12_ratio"] > 0 and slow["AEAD13_ratio"] > 0
        assert "AES-NI without VAES (OPENSSL_ia32cap=" in text and "judged on the native run" in text


def test_records_without_vaes_on_a_cpu_without_vaes(monkeypatch):
    monkeypatch.setattr(bench, "_cpu_flags", lambda: {"aes", "avx2"})
    assert "no VAES" in bench.bench_records_without_vaes(1, 1, 1000.0)["skipped"]


def test_a_mask_without_effect_is_reported_as_such():
    row = {"mib": 1, "raw_aesgcm_mb_s": 3900.0, "AEAD12_ratio": 0.66, "AEAD13_ratio": 0.62}
    same = bench.masked_verdict(row, native_raw_mb_s=4000.0)
    assert same["skipped"].startswith("OPENSSL_ia32cap had no effect on this build of cryptography")
    slower = bench.masked_verdict(dict(row, raw_aesgcm_mb_s=2000.0), native_raw_mb_s=4000.0)
    assert "skipped" not in slower and slower["raw_vs_native"] == 0.5
    text = bench.render({"machine": bench._machine(), "command": "test",
                         "records": bench.bench_records(sizes_mib=(1,), repeat=1, log=lambda _t: None),
                         "records_without_vaes": slower})
    assert "raw 2000.0 MB/s (0.50x native)" in text


def test_record_streams_have_both_sides():
    rows = bench.bench_record_streams(mib=1, repeat=1, log=lambda _t: None)
    assert [r["suite"] for r in rows][0] == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert rows[1]["suite"].startswith("TLS_AES_")            # OpenSSL's TLS 1.3 choice, both sides
    for row in rows:
        assert row["ours_mb_s"] > 0 and row["openssl_mb_s"] > 0 and row["ratio"] > 0, row


def test_profile_names_the_handshake():
    text = bench.profile_handshakes(["TLS_AES_128_GCM_SHA256"], runs=1, top=5)
    assert "handshake" in text


def test_notebooks_skip_cleanly_without_notebooks(tmp_path):
    assert "skipped" in bench.bench_notebooks(tmp_path)


def test_notebook_run_in_one_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    for name, source in (("01-a.ipynb", "x = 41"), ("02-b.ipynb", "x += 1\nassert x == 42")):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        nbformat.write(nb, tmp_path / name)
    (tmp_path / "not-numbered.ipynb").write_text("{}")         # ignored: not NN-*.ipynb
    result = bench.bench_notebooks(tmp_path, cell_timeout=120, log=lambda _t: None)
    assert [r["notebook"] for r in result["notebooks"]] == ["01-a.ipynb", "02-b.ipynb"]
    assert result["cell_errors"] == 0            # the second saw the first's x: one kernel
    assert result["kernel_rss_mib"] is None or result["kernel_rss_mib"] > 0


def test_notebooks_alone_each_in_a_fresh_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    paths = []
    for name, source in (("01-a.ipynb", "x = 41"), ("02-b.ipynb", "assert 'x' not in globals()")):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        nbformat.write(nb, tmp_path / name)
        paths.append(tmp_path / name)
    result = bench.bench_notebooks_alone(paths, cell_timeout=120, log=lambda _t: None)
    assert [r["cell_errors"] for r in result["rows"]] == [0, 0]      # the second has no x
    text = bench.render({"machine": bench._machine(), "command": "test", "notebooks_alone": result})
    assert "notebooks on their own (a fresh kernel each" in text
    _verdicts_well_formed(text)


def test_notebook_paths_are_the_lessons_then_the_assignments():
    names = [p.relative_to(ROOT).as_posix() for p in bench.notebook_paths()]
    lessons = [n for n in names if n.count("/") == 1]
    assert names[:len(lessons)] == lessons and all(re.fullmatch(r"notebooks/\d\d-.+\.ipynb", n)
                                                   for n in lessons)
    assert all(n.startswith("notebooks/assignments/source/") for n in names[len(lessons):])


def test_cli_quick_run_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "benchmarks/bench.py", "--quick", "--runs", "2", "--record-mib", "1",
         "--suite", "ECDHE-RSA-AES128-GCM-SHA256", "--suite", "TLS_AES_128_GCM_SHA256",
         "--serve-runs", "2", "--serve-handshakes", "5", "--serve-echo-mib", "1",
         "--no-explorer", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in proc.stdout and "ratio" in proc.stdout
    data = json.loads(out.read_text())
    assert {"handshakes", "records", "records_without_vaes", "record_streams", "serve_cpu",
            "serve_memory", "import", "notebooks", "explorer", "machine", "pq_handshakes"} <= set(data)
    assert data["notebooks"] == data["notebooks_alone"] == {"skipped": "--quick"}
    assert len(data["handshakes"]) == 2
    assert data["serve_memory"].get("handshakes_done", 5) == 5


@pytest.mark.parametrize("entry", [["benchmarks/bench.py"], ["-m", "benchmarks.bench"]],
                         ids=["script", "module"])
def test_entry_points_help(entry):
    proc = subprocess.run([sys.executable, *entry, "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--quick" in proc.stdout


def test_the_bench_is_not_part_of_the_package():
    # this checkout's tlslesson has no bench module (the spec may still come from another checkout
    # that an editable install in a shared venv points at: not this tree's business)
    import importlib.util
    spec = importlib.util.find_spec("tlslesson.bench")
    assert spec is None or ROOT not in Path(spec.origin).resolve().parents, spec.origin
    proc = subprocess.run([sys.executable, "-m", "tlslesson", "bench"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "invalid choice: 'bench'" in proc.stderr


def test_explorer_reaction_measures_every_suite():
    from tlslesson import suites
    result = bench.bench_explorer(log=lambda _t: None)
    if "skipped" in result:
        pytest.skip(result["skipped"])
    assert set(result["per_suite_ms"]) == {s.name for s in suites.SUITES}
    assert result["max_ms"] >= result["median_ms"] > 0
    assert result["step_max_ms"] >= result["step_median_ms"] > 0
    text = bench.render({"machine": bench._machine(), "command": "test", "explorer": result})
    assert "explorer reaction to Next" in text
    _verdicts_well_formed(text)


# -- serve: CPU per handshake, memory, profile (shapes only: the figures are the bench's verdicts) --
VERDICT = re.compile(r"target (?:<=|>=|<) [^:]+: (?:\w+ )?(?:ok|MISSED)")   # "AEAD12 MISSED" too


def _verdicts_well_formed(text: str) -> None:
    for line in text.splitlines():
        if "target" in line:
            assert VERDICT.search(line), f"verdict line without 'target ...: ok|MISSED': {line!r}"


@pytest.fixture
def openssl_command():
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")


def test_serve_cpu_rows_have_both_servers(openssl_command):
    cpu = serving.bench_serve_cpu(runs=3, warmup=1, log=lambda _t: None)
    assert [r["version"] for r in cpu["rows"]] == ["1.2", "1.3"]
    for row in cpu["rows"]:
        assert row["ours_ms"] >= 0 and row["python_ssl_ms"] >= 0 and row["server_errors"] == 0, row
        assert row["target"] == "<= 1.3x" and isinstance(row["meets_target"], bool)
    text = bench.render({"machine": bench._machine(), "command": "test", "serve_cpu": cpu})
    assert "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256" in text and "TLS 1.3 TLS_AES_128_GCM_SHA256" in text
    _verdicts_well_formed(text)


def test_serve_memory_phases(openssl_command):
    mem = serving.bench_serve_memory(handshakes=10, echo_mib=1, warmup=4, per_connection_mib=1,
                                     log=lambda _t: None)
    assert [p["phase"] for p in mem["phases"]] == ["after 4 warm-up handshakes",
                                                   "after 10 more handshakes", "after 1 MiB echoed"]
    assert mem["handshakes_done"] == 10 and mem["echoed_mib"] == 1 and mem["stopped"] is None
    assert mem["server_lines"] == 4 + 10 + 1 and mem["server_errors"] == 0
    assert all(p["rss_mib"] > 0 for p in mem["phases"])
    text = bench.render({"machine": bench._machine(), "command": "test", "serve_memory": mem})
    assert "growth" in text
    _verdicts_well_formed(text)


def test_serve_memory_stops_at_its_cap(openssl_command):
    mem = serving.bench_serve_memory(handshakes=300, echo_mib=1, warmup=2, cap_mib=-1,
                                     log=lambda _t: None)
    assert mem["stopped"].startswith("stopped after 250 handshakes") and not mem["meets_target"]
    assert mem["echoed_mib"] == 0


def test_serve_profile_lists_the_top_entries_and_the_kinds(openssl_command):
    profile = serving.profile_serve(runs=2, versions=("1.3",), top=5, log=lambda _t: None)
    p = profile["1.3"]
    assert "skipped" not in p, p
    assert p["top_cumulative"].splitlines()[0].split()[:2] == ["ncalls", "tottime"]
    assert len(p["top_cumulative"].splitlines()) == 6
    assert abs(sum(p["by_kind_percent"].values()) - 100) < 1
    assert any(kind.startswith("crypto") for kind in p["by_kind_percent"])
    assert "serve profile, TLS 1.3" in bench.render_serve_profile(profile)


def test_serve_sections_without_openssl(monkeypatch):
    monkeypatch.setattr(serving.shutil, "which", lambda _name: None)
    assert "not installed" in serving.bench_serve_cpu(runs=1)["skipped"]
    assert "not installed" in serving.profile_serve(runs=1)["skipped"]
    text = bench.render({"machine": bench._machine(), "command": "test",
                         "serve_cpu": {"skipped": "the openssl command is not installed"}})
    assert "serve CPU per handshake: not measured (the openssl command is not installed)" in text


def test_verdict_lines_of_a_whole_render_are_well_formed():
    results = {"machine": bench._machine(), "command": "test",
               "handshakes": bench.bench_handshakes(["TLS_AES_128_GCM_SHA256"], runs=1, log=lambda _t: None),
               "records": bench.bench_records(sizes_mib=(1,), repeat=1, log=lambda _t: None),
               "import": bench.bench_import(modules=("tlslesson",), runs=1)}
    text = bench.render(results)
    assert text.count("target") >= 3
    _verdicts_well_formed(text)


def test_pq_handshakes_against_node_or_say_why(monkeypatch):
    """X25519MLKEM768 and x25519, ours / Node's: both sides measured and the hybrid's cost over
    x25519 given; without Node a reason instead (and the render says it)."""
    result = bench.bench_pq_handshakes(runs=3, log=lambda _t: None)
    text = "\n".join(bench._render_pq(result))
    if "skipped" in result:
        assert result["skipped"].startswith(("Node.js 26 not found", "Node could not")), result
        assert "post-quantum handshake: not measured" in text
    else:
        assert [r["group"] for r in result["rows"]] == ["x25519", "X25519MLKEM768",
                                                        "x25519, resumed (psk_dhe_ke)"]
        for row in result["rows"]:
            assert row["ours_ms"] > 0 and row["node_ms"] > 0 and row["ratio"] > 0, row
            assert row["node_openssl"].startswith("3.")
        assert result["rows"][1]["ours_over_x25519"] > 0 and "X25519MLKEM768" in text
        assert result["rows"][2]["resumed"] and result["rows"][2]["ours_over_full"] > 0
        assert "over a full handshake" in text
    monkeypatch.setenv("TLSLESSON_NODE", "/nonexistent/node")
    missing = bench.bench_pq_handshakes(runs=1, log=lambda _t: None)
    assert missing["skipped"].startswith("Node.js 26 not found")


def test_capture_bench_shape():
    from benchmarks.capture_bench import bench_capture, render_capture
    row = bench_capture(connections=6, body_kib=4, log=lambda _t: None)
    assert row["connections"] == 6 and row["decrypted_records"] >= 6 * 4
    if shutil.which("tshark"):
        assert row["tshark_finished_seen"] == 12 and row["ratio"] > 0 and "meets_target" in row
    else:
        assert "tshark" in row["skipped"]
    assert "capture explain+decrypt" in render_capture(row)[0]
