"""The notebook assignments (notebooks/assignments/, tlslesson/assignments/).

* every instructor version runs clean and its checks all pass (this is their one run in make test:
  nbval leaves notebooks/assignments/ alone; how long each takes: benchmarks/bench.py);
* every student version runs to its first unanswered exercise: the first error is the
  NotImplementedError of a solution cell, and the test cell after it reports "not answered yet";
* the committed student versions are what `python -m tlslesson.assignments release` writes;
* the checker is friendly for every exercise: a right answer passes, a wrong one is reported with
  a hint, one that raises or returns the wrong type gets a one-line message, a stub is "not
  answered yet" — and `check` never raises or prints a traceback;
* the assignments' data is deterministic, and the RFC 8448 values are consistent.

Executing notebooks needs nbformat, nbclient and ipykernel (the `test` extra); those tests skip
without them.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tlslesson import keylog, suites, tls12, tls13
from tlslesson.assignments import check, checker, data, exercises, release, rfc8448
from tlslesson.assignments.checker import EXERCISES
from tlslesson.lesson import tasks as lesson_tasks      # registers the lessons' tasks too
from tlslesson.prf import digest
from tlslesson.record import AEAD12, RecordBuffer, additional_data_12, nonce_12_gcm

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ROOT / "notebooks" / "assignments"
SOURCE, RELEASE = ASSIGNMENTS / "source", ASSIGNMENTS / "release"
NAMES = sorted(p.name for p in SOURCE.iterdir() if p.is_dir())
RFC8448_TEXT = ROOT.parent / "shared" / "vectors" / "rfc8448.txt"   # outside the repo, optional


def notebook_path(folder: Path, name: str) -> Path:
    return folder / name / f"{name}.ipynb"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source_of(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def stdout_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


# -- notebook structure (no kernel needed) ------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_instructor_version_structure(name):
    nb = load(notebook_path(SOURCE, name))
    cells = nb["cells"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    intro = source_of(cells[0])
    for heading in ("What you'll learn", "What you'll do", "What you need"):
        assert heading in intro, f"{name}: the first cell lacks {heading!r}"
    assert any("## Check your understanding" in source_of(c) for c in cells[-3:]), \
        f"{name} does not end with 'Check your understanding'"
    ids = [nbgrader_meta(c)["grade_id"] for c in cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), f"{name}: duplicate grade ids"
    graded = 0
    for cell in cells:
        assert cell.get("outputs", []) == [], f"{name}: committed with outputs"
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        assert meta["schema_version"] == 3
        assert set(meta) >= {"grade", "grade_id", "locked", "solution", "task"}
        assert re.fullmatch(r"[a-z0-9-]+", meta["grade_id"]), meta["grade_id"]
        text = source_of(cell)
        if meta["grade"]:
            assert meta["points"] > 0
            graded += meta["points"]
        if meta["solution"]:
            assert "### BEGIN SOLUTION" in text and "### END SOLUTION" in text, meta["grade_id"]
            assert not meta["locked"]
        if meta["grade"] and cell["cell_type"] == "code":
            assert meta["locked"], f"{meta['grade_id']}: test cells are locked"
        if "BEGIN HIDDEN TESTS" in text:
            assert meta["grade"] and cell["cell_type"] == "code"
        if cell["cell_type"] == "markdown" and meta["grade"]:
            assert meta["solution"], "a graded markdown cell must be a written answer"
    assert graded >= 9


@pytest.mark.parametrize("name", NAMES)
def test_student_version_has_no_solutions(name):
    text = notebook_path(RELEASE, name).read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    nb = load(notebook_path(RELEASE, name))
    stubs = [c for c in nb["cells"] if nbgrader_meta(c).get("solution")]
    assert stubs and all("raise NotImplementedError()" in source_of(c) or
                         source_of(c).strip() == "YOUR ANSWER HERE" for c in stubs)


# -- executing the notebooks --------------------------------------------------------------------

@pytest.fixture(scope="session")
def kernel(tmp_path_factory):
    """A `python3` kernel that is this interpreter, importing this checkout's tlslesson."""
    pytest.importorskip("nbformat", reason="executing notebooks needs nbformat (test extra)")
    pytest.importorskip("nbclient", reason="executing notebooks needs nbclient (test extra)")
    pytest.importorskip("ipykernel", reason="executing notebooks needs ipykernel (test extra)")
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec = jupyter / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (tlslesson tests)", "language": "python"}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(jupyter),
                                                                os.environ.get("JUPYTER_PATH")])))
        mp.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT),
                                                              os.environ.get("PYTHONPATH")])))
        yield


def execute(path: Path, allow_errors: bool):
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(str(path), as_version=4)
    # 120 s per cell: a hang guard; how long each takes is the bench's ("notebooks on their own")
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


@pytest.mark.parametrize("name", NAMES)
def test_instructor_version_runs_clean(name, kernel):
    nb = execute(notebook_path(SOURCE, name), allow_errors=False)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            assert out.output_type != "error", f"{cell.id}: {out.ename}: {out.evalue}"
            # nbgrader gives a test cell zero points for anything on stderr (a warning, say)
            assert not (out.output_type == "stream" and out.name == "stderr"), \
                f"{cell.id} wrote to stderr: {out.text[:200]}"
        if nbgrader_meta(cell).get("grade"):
            report = stdout_of(cell)
            if "check(" in cell.source:
                assert "✔" in report and "✘" not in report, f"{cell.id}: {report}"


@pytest.mark.parametrize("name", NAMES)
def test_student_version_stops_at_first_unanswered_exercise(name, kernel):
    nb = execute(notebook_path(RELEASE, name), allow_errors=True)
    errors = [(i, cell, out) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"]
    assert errors, f"{name}: the student version ran without any error"
    index, cell, first = errors[0]
    assert first.ename == "NotImplementedError", f"{cell.id}: {first.ename}: {first.evalue}"
    assert nbgrader_meta(cell).get("solution"), f"{cell.id} is not an answer cell"
    # the test cell after it says so, in a friendly line (the checker prints no traceback)
    test_cell = next(c for c in nb.cells[index + 1:]
                     if c.cell_type == "code" and nbgrader_meta(c).get("grade"))
    report = stdout_of(test_cell)
    assert "not answered yet" in report, f"{test_cell.id}: {report!r}"
    assert "Traceback" not in report


# -- the release --------------------------------------------------------------------------------

def test_release_is_up_to_date():
    assert release.stale(SOURCE, RELEASE) == [], \
        "run `python -m tlslesson.assignments release` and commit notebooks/assignments/release"


def test_generate_writes_exactly_the_committed_release(tmp_path):
    out = tmp_path / "release"
    written = release.generate(SOURCE, out)
    assert sorted(p.relative_to(out) for p in written) == sorted(
        p.relative_to(RELEASE) for p in RELEASE.rglob("*") if p.is_file())
    for path in written:
        assert path.read_bytes() == (RELEASE / path.relative_to(out)).read_bytes()


def _run_release(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [
        str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "tlslesson.assignments", "release", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_release_command_check(tmp_path):
    done = _run_release("--check")
    assert done.returncode == 0, done.stdout + done.stderr
    source = tmp_path / "source"
    shutil.copytree(SOURCE, source)
    path = notebook_path(source, NAMES[0])
    nb = load(path)
    nb["cells"][0]["source"] = ["# changed by the instructor\n"] + nb["cells"][0]["source"]
    path.write_text(json.dumps(nb), encoding="utf-8")
    stale = _run_release("--check", "--source", str(source), "--release", str(RELEASE))
    assert stale.returncode == 1
    assert "out of date" in stale.stdout and "Traceback" not in stale.stderr
    fresh = tmp_path / "release"
    assert _run_release("--source", str(source), "--release", str(fresh)).returncode == 0
    assert _run_release("--check", "--source", str(source), "--release",
                        str(fresh)).returncode == 0
    missing = _run_release("--source", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")
    assert "Traceback" not in missing.stderr


def test_release_makes_a_class_set(tmp_path):
    roster = tmp_path / "ids.txt"
    roster.write_text("s0001\ns0002\n# a comment\n")
    out = tmp_path / "class"
    done = _run_release("--release", str(tmp_path / "release"), "--students", str(roster),
                        "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    for who in ("s0001", "s0002"):
        for name in NAMES:
            nb = load(notebook_path(out / who, name))
            cell = next(c for c in nb["cells"] if c["id"] == "student-id")
            assert source_of(cell).startswith(f'STUDENT = "{who}"')
    with pytest.raises(release.ReleaseError):
        release.class_set(RELEASE, ["no spaces please"], tmp_path / "bad")


def _cell(cell_type, source, **nbgrader):
    cell = {"cell_type": cell_type, "id": f"c{random.randrange(10 ** 9)}", "metadata": {},
            "source": source}
    if nbgrader:
        cell["metadata"]["nbgrader"] = {"grade": False, "locked": False, "schema_version": 3,
                                        "solution": False, "task": False, **nbgrader}
    if cell_type == "code":
        cell.update(outputs=[{"output_type": "stream", "name": "stdout", "text": "x"}],
                    execution_count=3)
    return cell


def test_student_version_of_a_notebook():
    nb = {"cells": [
        _cell("code", "def f(x):\n    ### BEGIN SOLUTION\n    return x\n"
                      "    ### END SOLUTION\n\nf(1)", grade_id="f", solution=True),
        _cell("code", "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == 2\n"
                      "### END HIDDEN TESTS", grade_id="t", grade=True, locked=True, points=1),
        _cell("markdown", "Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION",
              grade_id="w", grade=True, solution=True, points=1),
        _cell("code", "x = 1", grade_id="whole", solution=True),
        _cell("code", "print('hi')"),
    ], "metadata": {"celltoolbar": "Create Assignment"}, "nbformat": 4, "nbformat_minor": 5}
    student = release.student_version(nb)
    texts = [source_of(c) for c in student["cells"]]
    assert texts[0] == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nf(1)"
    assert texts[1] == "assert f(1) == 1"
    assert texts[2] == "Why?\nYOUR ANSWER HERE"
    assert texts[3] == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert texts[4] == "print('hi')"
    assert all(c["outputs"] == [] and c["execution_count"] is None
               for c in student["cells"] if c["cell_type"] == "code")
    assert "celltoolbar" not in student["metadata"]
    assert student["cells"][0]["metadata"]["deletable"] is False
    assert student["cells"][1]["metadata"]["editable"] is False
    assert "editable" not in student["cells"][4]["metadata"]
    assert source_of(nb["cells"][0]).count("BEGIN SOLUTION") == 1     # the input is untouched


@pytest.mark.parametrize("bad", [
    _cell("code", "### BEGIN SOLUTION\nx = 1", grade_id="a", solution=True),
    _cell("code", "x = 1\n### END SOLUTION", grade_id="a", solution=True),
    _cell("code", "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", grade_id="a",
          solution=True),
    _cell("code", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),             # not a solution cell
    _cell("code", "### BEGIN HIDDEN TESTS\nassert 1", grade_id="t", grade=True, points=1),
])
def test_student_version_refuses_broken_markers(bad):
    with pytest.raises(release.ReleaseError):
        release.student_version({"cells": [bad], "metadata": {}})


# -- the checker --------------------------------------------------------------------------------

def _decrypt(record, key, iv, seq):
    suite = next(s for s in suites.TLS12_SUITES if s.cipher.startswith("AES")
                 and s.aead and s.key_length == len(key))
    protection = AEAD12(suite, key, iv)
    protection.seq = seq
    buffer = RecordBuffer()
    buffer.feed(record)
    return protection.open(buffer.next_record())[1]


def _hs_secrets(shared, hello_hash, hash_name="SHA256"):
    schedule = tls13.KeySchedule(next(s for s in suites.TLS13_SUITES if s.hash == hash_name))
    schedule.start()
    schedule.handshake(shared, hello_hash)
    return schedule.client_handshake_traffic_secret, schedule.server_handshake_traffic_secret


def _hello(message):
    from tlslesson.messages import Context, decode_handshake
    return decode_handshake(message, Context("1.2"))


# Answers that call the package's own functions: right values, but not the student's own code —
# the checker must say so (the cheating student of issue 18 tries exactly these).
DELEGATING = {
    "record_header": lambda r: (r[0], int.from_bytes(r[1:3], "big"), len(_record(r).fragment)),
    "clienthello_fields": lambda m: {
        "msg_type": m[0], "length": int.from_bytes(m[1:4], "big"),
        "legacy_version": _hello(m).legacy_version, "random": _hello(m).random,
        "session_id": _hello(m).session_id, "cipher_suites": list(_hello(m).cipher_suites)},
    "extension_types": lambda m: [e.type for e in _hello(m).extensions],
    "p_hash": tls12.p_hash,
    "prf": tls12.prf,
    "master_secret": lambda pm, cr, sr, h="SHA256": tls12.prf(pm, b"master secret", cr + sr,
                                                              48, h),
    "key_block": tls12.key_block,
    "transcript_hash": lambda messages, h="SHA256": _transcript(messages).hash(h),
    "verify_data": lambda m, sender, hh, h="SHA256": tls12.verify_data(
        m, sender, hh, next(s for s in suites.TLS12_SUITES if s.hash == h)),
    "expected_verify_data": lambda m, view, h="SHA256": tls12.verify_data(
        m, "client", digest(h, b"".join(view[:-1])),
        next(s for s in suites.TLS12_SUITES if s.hash == h)),
    "parse_keylog_line": lambda line: keylog.parse(line)[0],
    "aead_nonce": lambda iv, fragment: nonce_12_gcm(iv, fragment[:8]),
    "additional_data": additional_data_12,
    "decrypt_record": _decrypt,
    "hkdf_label": tls13.hkdf_label,
    "hkdf_expand_label": lambda s, label, c, n, h="SHA256": tls13.hkdf_expand_label(
        h, s, label, c, n),
    "derive_secret": lambda s, label, th, h="SHA256": tls13.derive_secret(h, s, label, th),
    "traffic_keys": lambda s, kl=16, il=12, h="SHA256": (
        tls13.hkdf_expand_label(h, s, "key", b"", kl),
        tls13.hkdf_expand_label(h, s, "iv", b"", il)),
    "handshake_traffic_secrets": _hs_secrets,
    # 07-09
    "resumption_psk": lambda rms, nonce, h="SHA256": tls13.resumption_psk(h, rms, nonce),
    "binder_key": lambda psk, h="SHA256": _schedule(h, psk).binder_key,
    "truncated_client_hello": lambda ch: tls13.truncated_client_hello(ch, _offered(ch)),
    "psk_binder": lambda key, ch, h="SHA256": tls13.psk_binder(
        _suite13(h), key, digest(h, ch[:-len(_offered(ch).encode_binders())])),
    "resumption_binder": lambda r: _package_binder(r),
    "split_client_share": lambda share: _hybrid_group()._split(share, 1184, 1216),
    "split_server_share": lambda share: _hybrid_group()._split(share, 1088, 1120),
    "client_shared_secret": lambda seed, xp, share: _hybrid_group().client_finish(
        _hybrid_private(seed, xp), share),
    "server_key_share": lambda share, xp: _hybrid_group().server_share(None, share),
    "hybrid_shared_secret": lambda h: _hybrid_group().client_finish(
        _hybrid_private(h.mlkem_seed, h.x25519_private), _sh_share(h.server_hello)),
    "padding_query": lambda blocks, j, p, g, known: _lab().query_block(list(blocks), j, p, g,
                                                                       known),
    "recover_bytes": lambda ask, j, count, known=b"": _lab_recover(ask, j, count, known),
    "steal_cookie": lambda oracle: _lab_recover(oracle.ask, 5, 4) + _lab_recover(
        oracle.ask, 6, 12, oracle.suffix),
}


def _suite13(h):
    return next(s for s in suites.TLS13_SUITES if s.hash == h)


def _schedule(h, psk):
    schedule = tls13.KeySchedule(_suite13(h))
    schedule.start(psk)
    return schedule


def _offered(client_hello):
    from tlslesson import extensions
    return extensions.value(_hello(client_hello).extensions[-1], "client_hello")


def _package_binder(r):
    from tlslesson.messages import Context, decode_handshake
    tickets = [decode_handshake(w, Context("1.3")) for w in r.new_session_tickets]
    nonce = next(t.ticket_nonce for t in tickets if t.ticket in r.client_hello)
    psk = tls13.resumption_psk(r.hash_name, r.resumption_master_secret, nonce)
    truncated = tls13.truncated_client_hello(r.client_hello, _offered(r.client_hello))
    return tls13.psk_binder(_suite13(r.hash_name), _schedule(r.hash_name, psk).binder_key,
                            digest(r.hash_name, truncated))


def _hybrid_group():
    from tlslesson import groups
    return groups.X25519MLKEM768


def _hybrid_private(seed, x25519_private):
    from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
    return (mlkem.MLKEM768PrivateKey.from_seed_bytes(seed),
            x25519.X25519PrivateKey.from_private_bytes(x25519_private))


def _sh_share(server_hello):
    from tlslesson import extensions
    from tlslesson.constants import ExtensionType
    from tlslesson.messages import Context, decode_handshake
    sh = decode_handshake(server_hello, Context("1.3"))
    return extensions.value(sh.extension(ExtensionType.key_share), "server_hello").key_exchange


def _lab():
    from tlslesson.attacks import cbc_padding_oracle
    return cbc_padding_oracle


def _lab_recover(ask, j, count, known=b""):
    found = bytes(known)
    for position in range(15 - len(known), 15 - len(known) - count, -1):
        for guess in list(b"0123456789abcdef") + list(range(256)):
            if ask(lambda f: _lab().query_block(_lab()._blocks(f), j, position, guess, found)):
                found = bytes([guess]) + found
                break
    return found[:count]


def _record(data_):
    buffer = RecordBuffer()
    buffer.feed(data_)
    return buffer.next_record()


def _transcript(messages):
    from tlslesson.prf import Transcript
    t = Transcript()
    for m in messages:
        t.add(m)
    return t


# The reference answers are the instructor notebooks' own solutions: every code cell of each
# instructor version except the test cells, run in one namespace per notebook.
SOLUTION_NAMES = {"clienthello_fields": "client_hello_fields"}


def _instructor_namespace(name: str) -> dict:
    namespace = {"__name__": f"instructor_{name.replace('-', '_')}"}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(SOURCE / name)
        for cell in load(notebook_path(SOURCE, name))["cells"]:
            if cell["cell_type"] != "code" or nbgrader_meta(cell).get("grade"):
                continue
            code = "\n".join(line for line in source_of(cell).split("\n")
                              if not line.lstrip().startswith("show("))
            exec(compile(code, f"<{name}:{cell['id']}>", "exec"), namespace)
    return namespace


def _reference_functions():
    import contextlib
    import io
    found = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for name in NAMES:
            namespace = _instructor_namespace(name)
            for exercise in {e.name for e in EXERCISES.values() if e.takes == "function"} - LESSON_TASKS:
                fn = namespace.get(SOLUTION_NAMES.get(exercise, exercise))
                if callable(fn) and getattr(fn, "__module__", None) == namespace["__name__"]:
                    found[exercise] = fn
    return found


# The lessons' tasks share the registry: tlslesson.lesson.tasks registers them when it is imported,
# which a test module collected before this one may have done. The assignments' exercises are the
# rest, whatever the order.
LESSON_TASKS = set(lesson_tasks.TASKS.values()) | {n for names in lesson_tasks.MORE_TASKS.values()
                                                  for n in names}
REFERENCE = _reference_functions()
FUNCTION_EXERCISES = sorted({e.name for e in EXERCISES.values() if e.takes == "function"}
                            - LESSON_TASKS)


def _perturb(value):
    """The same type, a wrong value."""
    import dataclasses
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value[:-1]) + bytes([value[-1] ^ 1]) if value else b"\x00"
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple):
        return (_perturb(value[0]),) + value[1:]
    if isinstance(value, list):
        return [_perturb(value[0])] + value[1:] if value else [0]
    if isinstance(value, dict):
        key = next(k for k, v in value.items() if v)
        return {**value, key: _perturb(value[key])}
    raise TypeError(type(value))


def test_every_exercise_the_issue_lists_has_a_checker():
    wanted = {"p_hash", "prf", "master_secret", "key_block", "verify_data", "find_tampered",
              "aead_nonce", "additional_data", "decrypt_record", "hkdf_expand_label",
              "derive_secret", "traffic_keys", "chain_diagnosis", "clienthello_fields"}
    assert wanted <= set(exercises.names())
    assert set(FUNCTION_EXERCISES) == set(REFERENCE), "an instructor solution for every exercise"
    assert set(DELEGATING) <= set(FUNCTION_EXERCISES)


@pytest.mark.parametrize("name", sorted(DELEGATING))
def test_delegating_to_the_package_is_noticed(name):
    report = check(name, DELEGATING[name], show=False)
    assert report.status == checker.DELEGATED and not report, report.text
    assert "the package's own solution" in report.text and "no marks" in report.text
    assert "Traceback" not in report.text
    hidden = check(name, DELEGATING[name], seed="hidden", show=False)
    assert hidden.status == checker.DELEGATED


def test_delegation_is_noticed_however_it_is_imported():
    import importlib
    prf_module = importlib.import_module("tlslesson.tls12")
    renamed = prf_module.p_hash

    def prf(secret, label, seed, length, hash_name="SHA256"):
        return renamed(hash_name, secret, label + seed, length)       # a sub-exercise too
    report = check("prf", prf, show=False)
    assert report.status == checker.DELEGATED and "tlslesson.tls12.p_hash" in report.text

    def sneaky(secret, label, seed, length, hash_name="SHA256"):
        return exercises.tls12.prf(secret, label, seed, length, hash_name)
    assert check("prf", sneaky, show=False).status == checker.DELEGATED

    def reads_the_checker(line):
        case = EXERCISES["parse_keylog_line"].make_cases(random.Random(0))[0]
        return case.expected
    assert check("parse_keylog_line", reads_the_checker, show=False).status == checker.DELEGATED


@pytest.mark.parametrize("name", FUNCTION_EXERCISES)
def test_right_answer_passes(name, capsys):
    report = check(name, REFERENCE[name])
    printed = capsys.readouterr().out
    assert report and report.status == checker.PASS, report.text
    assert report.passed == report.total > 3
    assert printed == report.text + "\n" and printed.startswith("✔")
    kinds = {c.kind for c in EXERCISES[name].make_cases(random.Random(1))}
    assert kinds == {"fixed", "random"}, "fixed reference cases and randomised ones"
    hidden = check(name, REFERENCE[name], seed="hidden", show=False)
    assert hidden, hidden.text
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", FUNCTION_EXERCISES)
def test_wrong_answer_is_reported_with_a_hint(name):
    def wrong(*args):
        return _perturb(REFERENCE[name](*args))
    report = check(name, wrong, show=False)
    assert not report and report.status == checker.FAIL, report.text
    text = report.text
    assert text.startswith(f"✘ {name}: ") and "first wrong case" in text
    assert "got:" in text and "\n  hint: " in text
    if EXERCISES[name].reveal:
        assert "expected:" in text
    else:                     # the fixed case is the student's secret: how much is right, only
        assert "expected:" not in text and "bytes right)" in text
    assert "Traceback" not in text


@pytest.mark.parametrize("name", FUNCTION_EXERCISES)
def test_an_answer_that_raises_gets_one_line(name):
    def broken(*args):
        raise ValueError("something\nwent wrong")
    report = check(name, broken, show=False)
    assert report.status == checker.ERROR
    first = report.lines[0]
    assert first.startswith(f"✘ {name} raised ValueError: something went wrong")
    assert "Traceback" not in report.text and "hint:" in report.text


@pytest.mark.parametrize("name", FUNCTION_EXERCISES)
def test_wrong_type_says_what_was_expected(name):
    report = check(name, lambda *args: object(), show=False)
    assert report.status == checker.WRONG_TYPE
    assert f"expected {EXERCISES[name].returns}" in report.text


@pytest.mark.parametrize("name", FUNCTION_EXERCISES)
def test_a_stub_is_not_answered_yet(name, capsys):
    def stub(*args):
        # YOUR CODE HERE
        raise NotImplementedError()
    report = check(name, stub)
    assert report.status == checker.UNANSWERED and not report
    assert "not answered yet" in capsys.readouterr().out


def test_a_stub_called_by_an_answer_is_named():
    def p_hash(*args):
        raise NotImplementedError()

    def prf(secret, label, seed, length, hash_name="SHA256"):
        return p_hash(hash_name, secret, label + seed, length)
    report = check("prf", prf, show=False)
    assert report.status == checker.UNANSWERED
    assert "p_hash" in report.text and "Answer p_hash first" in report.text


def test_typical_mistakes_get_specific_hints():
    own_prf, own_p_hash = REFERENCE["prf"], REFERENCE["p_hash"]

    def master_secret(pre, cr, sr, h="SHA256"):
        return own_prf(pre, b"master secret", sr + cr, 48, h)
    assert "client_random + server_random" in check("master_secret", master_secret,
                                                    show=False).text

    def key_block(master, cr, sr, suite):
        return REFERENCE["key_block"](master, sr, cr, suite)
    assert "server_random + client_random" in check("key_block", key_block, show=False).text

    def prf(secret, label, seed, length, hash_name="SHA256"):
        return own_p_hash(hash_name, secret, seed + label, length)
    assert "label goes in front" in check("prf", prf, show=False).text

    def hkdf_label(label, context, length):
        return length.to_bytes(2, "big") + bytes([len(label)]) + label.encode() + \
            bytes([len(context)]) + context
    assert '"tls13 "' in check("hkdf_label", hkdf_label, show=False).text

    def decrypt_record(record, key, iv, seq):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        return AESGCM(key).decrypt(iv + record[5:13], record[13:], b"")
    text = check("decrypt_record", decrypt_record, show=False).text
    assert "raised InvalidTag" in text and "length in the additional data" in text

    text = check("prf", lambda *a: own_prf(*a).hex(), show=False).text
    assert "returned str, expected bytes" in text and "bytes.fromhex" in text
    text = check("prf", lambda *a: None, show=False).text
    assert "returned None" in text and "return" in text


def test_check_never_raises():
    assert check("no such thing", len, show=False).status == checker.UNKNOWN
    assert "Did you mean 'prf'" in check("prff", len, show=False).text
    assert check("prf", show=False).status == checker.BAD_ANSWER
    called = check("prf", tls12.prf(b"k", b"l", b"s", 4), show=False)
    assert called.status == checker.BAD_ANSWER and "no parentheses" in called.text
    arity = check("prf", lambda secret: b"", show=False)
    assert arity.status == checker.ERROR and "can't be called the way" in arity.text
    assert "def prf(secret" in arity.text


def test_a_checker_bug_is_not_blamed_on_the_student(monkeypatch):
    def broken(rng):
        raise RuntimeError("bug in the checker")
    monkeypatch.setattr(EXERCISES["prf"], "make_cases", broken)
    report = check("prf", tls12.prf, show=False)
    assert report.status == checker.ERROR and "not your fault" in report.text


def test_an_endless_loop_is_stopped(monkeypatch):
    if not hasattr(signal, "setitimer"):
        pytest.skip("no interval timers on this platform")
    monkeypatch.setattr(checker, "TIME_BUDGET", 0.3)

    def p_hash(hash_name, secret, seed, length):
        out = b""
        while len(out) < length:
            pass
        return out
    outer = signal.getitimer(signal.ITIMER_REAL)        # pytest-timeout's, if armed
    signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        report = check("p_hash", p_hash, show=False)
    finally:
        if outer[0]:
            signal.setitimer(signal.ITIMER_REAL, *outer)
    assert report.status == checker.ERROR and "endless loop" in report.text


def test_reports_are_deterministic():
    def wrong(*args):
        return _perturb(REFERENCE["prf"](*args))
    assert check("prf", wrong, show=False).text == check("prf", wrong, show=False).text
    one = [c.args for c in EXERCISES["prf"].make_cases(
        random.Random("tlslesson-check/prf/practice/None"))]
    other = [c.args for c in EXERCISES["prf"].make_cases(
        random.Random("tlslesson-check/prf/practice/hidden"))]
    assert one[:3] == other[:3] and one[3:] != other[3:]     # same vectors, other random cases


def test_report_displays_once_in_jupyter(capsys):
    report = check("prf", REFERENCE["prf"])
    report._ipython_display_()
    assert capsys.readouterr().out.count("✔ prf") == 1
    quiet = check("prf", REFERENCE["prf"], show=False)
    quiet._ipython_display_()
    assert capsys.readouterr().out.count("✔ prf") == 1
    assert repr(quiet) == f"<Report prf: pass, {quiet.total}/{quiet.total} cases>"


# -- chain diagnosis ----------------------------------------------------------------------------

def test_chain_diagnosis():
    chains = data.chains()
    right = {label: exercises._diagnosis(chain) for label, chain in chains.items()}
    assert set(right.values()) == set(data.CHOICES), "every step (and 'accepted') is an answer"
    assert list(chains) == data.chain_labels() and len(chains) == 9
    assert all(re.fullmatch(r"[2-9A-HJKMNP-Z]{2}-[2-9A-HJKMNP-Z]{2}", k) for k in chains)
    assert check("chain_diagnosis", right, show=False)
    typed = {f" {k.lower()} ": v for k, v in right.items()}      # as a student may type them
    assert check("chain_diagnosis", typed, show=False)
    assert check("chain_diagnosis", {}, show=False).status == checker.UNANSWERED
    bad = check("chain_diagnosis", dict(right, **{list(chains)[1]: "expired"}), show=False)
    assert "not one of the choices" in bad.text
    wrong_type = check("chain_diagnosis", list(chains), show=False)
    assert wrong_type.status == checker.WRONG_TYPE
    assert not any(repr(choice) in wrong_type.text for choice in data.CHOICES)


def test_chain_diagnosis_feedback_counts_and_hints_by_the_mistake():
    """The report says how many are right — not which — and the hint depends on what the student
    said, not on the right answer."""
    chains = data.chains()
    right = {label: exercises._diagnosis(chain) for label, chain in chains.items()}
    texts = []
    for label in (list(chains)[0], list(chains)[4]):
        claim = "accepted" if right[label] != "accepted" else "name"
        report = check("chain_diagnosis", dict(right, **{label: claim}), show=False)
        assert report.status == checker.FAIL and report.passed == len(chains) - 1
        assert f"{len(chains) - 1} of {len(chains)}" in report.text
        assert f"you diagnosed as {claim!r}" in report.text
        assert right[label] not in report.text.split("hint:")[1]
        texts.append((claim, report.text))
    for label in chains:                                    # no label named: which is wrong?
        assert label not in texts[0][1]
    if texts[0][0] == texts[1][0]:
        assert texts[0][1] == texts[1][1], "same mistake, same feedback, whatever the answer"


def test_chain_diagnosis_by_the_validator_gets_no_marks():
    from tlslesson import pki
    chains = data.chains()
    right = {label: exercises._diagnosis(chain) for label, chain in chains.items()}
    assert check("chain_diagnosis", right, show=False)
    student = dict(right)
    asked = list(chains)[2]
    try:                                  # what the old "check yourself" cell printed
        pki.validate_chain(list(chains[asked].certificates), data.trusted(),
                           hostname=chains[asked].hostname)
    except Exception:
        pass
    report = check("chain_diagnosis", student, show=False)
    assert report.status == checker.FAIL and report.passed == len(chains) - 1
    assert f"chains {asked}: you asked pki's validation" in report.text


def test_chains_fail_where_they_should():
    from tlslesson import pki
    from tlslesson.errors import CertificateError
    seen = set()
    for label, chain in data.chains("someone").items():
        expected = exercises._diagnosis(chain)
        seen.add(expected)
        if expected == "accepted":
            assert pki.validate_chain(list(chain.certificates), data.trusted(),
                                      hostname=chain.hostname).ok
        else:
            with pytest.raises(CertificateError) as err:
                pki.validate_chain(list(chain.certificates), data.trusted(),
                                   hostname=chain.hostname)
            assert err.value.step == expected
    assert seen == set(data.CHOICES)


def test_the_data_has_no_answers():
    """What a student imports holds inputs only: no diagnosis, no shared secret."""
    assert not hasattr(data, "expected_diagnosis")
    assert not hasattr(data.Chain, "validate")
    hellos = data.tls13_hellos()
    fields = {f: getattr(hellos, f) for f in hellos.__dataclass_fields__}
    from cryptography.hazmat.primitives.asymmetric.x25519 import (X25519PrivateKey,
                                                                    X25519PublicKey)
    shared = X25519PrivateKey.from_private_bytes(hellos.client_private_key).exchange(
        X25519PublicKey.from_public_bytes(hellos.server_public_key))
    assert shared not in fields.values()
    assert digest("SHA256", hellos.client_hello + hellos.server_hello) not in fields.values()


# -- variants ------------------------------------------------------------------------------------

def test_every_student_has_their_own_data():
    one, other = "s0001", "s0002"
    assert data.clienthello_record(one) != data.clienthello_record(other)
    assert data.tls12_session(one).keylog != data.tls12_session(other).keylog
    assert data.tampered_handshake(one).master_secret != data.tampered_handshake(other).master_secret
    assert data.tls13_hellos(one).client_hello != data.tls13_hellos(other).client_hello
    labels = {who: set(data.chains(who)) for who in ("s0001", "s0002", "s0003")}
    assert all(len(one) == 9 for one in labels.values())
    assert not (labels["s0001"] & labels["s0002"] or labels["s0001"] & labels["s0003"]
                or labels["s0002"] & labels["s0003"]), "each variant names its own chains"
    assert data.chain_labels("s0001") == data.chain_labels("s0001")       # stable for a student
    assert data.tls12_session(one) is data.tls12_session(one)          # cached, same bytes


def test_a_neighbours_answers_fail(monkeypatch):
    from tlslesson.assignments import variant
    chains_of = {who: {label: exercises._diagnosis(c) for label, c in data.chains(who).items()}
                 for who in ("s0001", "s0002")}
    assert chains_of["s0001"] != chains_of["s0002"]
    monkeypatch.setattr(variant, "_current", "s0001")
    assert check("chain_diagnosis", chains_of["s0001"], show=False)
    copied = check("chain_diagnosis", chains_of["s0002"], show=False)
    assert not copied and copied.passed == 0, "a copied diagnosis earns nothing"
    assert "not in your assignment" in copied.text and "'s0001'" in copied.text
    for label in list(chains_of["s0002"])[:5]:    # the neighbour's labels are named (the first
        assert repr(label) in copied.text          # five), not their defects
    assert not any(repr(choice) in copied.text for choice in data.CHOICES)
    mixed = dict(chains_of["s0001"])        # one typo'd label: that chain only is unanswered
    first = next(iter(mixed))
    mixed["ZZ-ZZ"] = mixed.pop(first)
    report = check("chain_diagnosis", mixed, show=False)
    assert report.passed == 8 and "'ZZ-ZZ'" in report.text
    assert f"not answered (your chains): {first}" in report.text
    assert "another id" not in report.text
    from cryptography.hazmat.primitives.asymmetric.x25519 import (X25519PrivateKey,
                                                                    X25519PublicKey)

    def inputs(who):
        h = data.tls13_hellos(who)
        return {"shared_secret": X25519PrivateKey.from_private_bytes(h.client_private_key)
                .exchange(X25519PublicKey.from_public_bytes(h.server_public_key)),
                "hello_hash": digest("SHA256", h.client_hello + h.server_hello)}
    assert check("tls13_inputs", inputs("s0001"), show=False)
    neighbour = check("tls13_inputs", inputs("s0002"), show=False)
    assert neighbour.status == checker.FAIL and neighbour.passed == 0
    rfc = check("tls13_inputs", {"shared_secret": rfc8448.value("shared_secret"),
                                 "hello_hash": rfc8448.value("hello_hash")}, show=False)
    assert rfc.passed == 0, "the RFC's values, which the notebook shows, are not the answer"


def test_nbgrader_student_id_wins_over_what_was_typed(tmp_path, monkeypatch, capsys):
    from tlslesson.assignments import variant
    monkeypatch.setattr(variant, "_current", None)
    assert variant.use("") == variant.PRACTICE and "practice variant" in capsys.readouterr().out
    assert variant.use("  s42 ") == "s42"
    where = tmp_path / "autograded" / "bob" / "02-prf-and-keys"
    where.mkdir(parents=True)
    monkeypatch.chdir(where)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert variant.use("alice") == "bob"
    assert "Graded as 'bob'" in capsys.readouterr().out
    monkeypatch.setenv("TLSLESSON_STUDENT", "carol")
    assert variant.use("alice") == "carol"
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert variant.use("alice") == "alice"


def test_targeted_hints_for_transcript_boundaries():
    own_vd, own_th = REFERENCE["verify_data"], REFERENCE["transcript_hash"]

    def with_the_finished(master, view, hash_name="SHA256"):
        return own_vd(master, "client", own_th(view, hash_name), hash_name)
    text = check("expected_verify_data", with_the_finished, show=False).text
    assert "leave the last message out" in text

    def one_too_few(master, view, hash_name="SHA256"):
        return own_vd(master, "client", own_th(view[:-2], hash_name), hash_name)
    assert "one message too few" in check("expected_verify_data", one_too_few, show=False).text

    def reads_the_finished(master, view, hash_name="SHA256"):
        return view[-1][4:]
    assert not check("expected_verify_data", reads_the_finished, show=False)


def test_targeted_hint_for_the_additional_data_length():
    own_aad, own_nonce = REFERENCE["additional_data"], REFERENCE["aead_nonce"]
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    def additional_data(seq_num, content_type, version, length):
        return own_aad(seq_num, content_type, version, length)

    def aead_nonce(write_iv, fragment):
        return own_nonce(write_iv, fragment)

    def decrypt_record(record, key, write_iv, seq_num):
        fragment = record[5:]
        aad = additional_data(seq_num, record[0], int.from_bytes(record[1:3], "big"),
                              len(fragment) - 8)               # the ciphertext's length
        return AESGCM(key).decrypt(aead_nonce(write_iv, fragment), fragment[8:], aad)
    report = check("decrypt_record", decrypt_record, show=False)
    assert "raised InvalidTag" in report.text
    assert "not of the plaintext" in report.text and "your additional data is" in report.text


# -- the data the assignments work on -----------------------------------------------------------

FINGERPRINT = """
import hashlib
from tlslesson.assignments import data
h = hashlib.sha256(data.clienthello_record())
s = data.tls12_session()
for r in s.records: h.update(r.record)
h.update(s.keylog.encode())
t = data.tampered_handshake()
for m in t.client_view + t.server_view: h.update(m.wire)
print(h.hexdigest())
"""


def test_data_is_the_same_in_every_process():
    h = hashlib.sha256(data.clienthello_record())
    session = data.tls12_session()
    for r in session.records:
        h.update(r.record)
    h.update(session.keylog.encode())
    tampered = data.tampered_handshake()
    for m in tampered.client_view + tampered.server_view:
        h.update(m.wire)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [
        str(ROOT), os.environ.get("PYTHONPATH")])))
    other = subprocess.run([sys.executable, "-c", FINGERPRINT], capture_output=True, text=True,
                           env=env, timeout=120)
    assert other.stdout.strip() == h.hexdigest(), other.stderr


def test_recorded_sessions_are_what_they_claim():
    s = data.tls12_session()
    label, client_random, master = keylog.parse(s.keylog)[0]
    assert label == "CLIENT_RANDOM" and client_random == s.client_random
    assert master == tls12.master_secret(s.pre_master_secret, s.client_random, s.server_random,
                                         s.suite)
    assert s.record("client", "ClientHello")[11:43] == s.client_random
    kb = tls12.key_block(master, s.client_random, s.server_random, s.suite)
    assert _decrypt(s.record("client", "ApplicationData"), kb.client_write_key,
                    kb.client_write_iv, 1) == data.REQUEST
    t = data.tampered_handshake()
    assert t.alert == "decrypt_error"
    assert [m.name for m in t.client_view] == [m.name for m in t.server_view]
    differs = [i for i, (a, b) in enumerate(zip(t.client_view, t.server_view)) if a.wire != b.wire]
    assert differs == [0]


# -- RFC 8448 ------------------------------------------------------------------------------------

def test_rfc8448_values_are_consistent():
    """Every secret re-derived from the ones before it with the package's TLS 1.3 functions."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    R, h = rfc8448.value, "SHA256"
    shared = X25519PrivateKey.from_private_bytes(R("server_private_key")).exchange(
        X25519PublicKey.from_public_bytes(R("client_public_key")))
    assert shared == R("shared_secret")
    assert X25519PrivateKey.from_private_bytes(R("client_private_key")).exchange(
        X25519PublicKey.from_public_bytes(R("server_public_key"))) == shared
    assert R("hello_hash") == digest(h, R("client_hello") + R("server_hello"))
    assert R("empty_hash") == digest(h, b"")
    zeros = bytes(32)
    assert R("early_secret") == tls13.hkdf_extract(h, zeros, zeros)
    assert R("derived_for_handshake") == tls13.derive_secret(h, R("early_secret"), "derived",
                                                             R("empty_hash"))
    assert R("handshake_secret") == tls13.hkdf_extract(h, R("derived_for_handshake"), shared)
    for side in ("client", "server"):
        secret = tls13.derive_secret(h, R("handshake_secret"), f"{side[0]} hs traffic",
                                     R("hello_hash"))
        assert secret == R(f"{side}_handshake_traffic_secret")
        assert (R(f"{side}_handshake_key"), R(f"{side}_handshake_iv")) == tls13.traffic_keys(
            suites.get("TLS_AES_128_GCM_SHA256"), secret)
        app = tls13.derive_secret(h, R("master_secret"), f"{side[0]} ap traffic",
                                  R("server_finished_hash"))
        assert app == R(f"{side}_application_traffic_secret_0")
        assert (R(f"{side}_application_key"), R(f"{side}_application_iv")) == tls13.traffic_keys(
            suites.get("TLS_AES_128_GCM_SHA256"), app)
    assert R("derived_for_master") == tls13.derive_secret(h, R("handshake_secret"), "derived",
                                                          R("empty_hash"))
    assert R("master_secret") == tls13.hkdf_extract(h, R("derived_for_master"), zeros)
    assert R("client_finished_key") == tls13.hkdf_expand_label(
        h, R("client_handshake_traffic_secret"), "finished", b"", 32)
    label = REFERENCE["hkdf_label"]
    assert R("c_hs_traffic_info") == label("c hs traffic", R("hello_hash"), 32)
    assert R("s_hs_traffic_info") == label("s hs traffic", R("hello_hash"), 32)
    assert R("derived_info") == label("derived", R("empty_hash"), 32)
    assert (R("key_info"), R("iv_info"), R("finished_info")) == (
        label("key", b"", 16), label("iv", b"", 12), label("finished", b"", 32))


def test_rfc8448_citations_point_at_the_text():
    """Each value's first bytes are printed on the page its citation names."""
    if not RFC8448_TEXT.exists():
        pytest.skip(f"RFC 8448 text not at {RFC8448_TEXT}")
    pages, current = [], []
    for line in RFC8448_TEXT.read_text().split("\n"):
        if "octets):" in line:
            current.append(line.split("octets):", 1)[1].replace(" ", ""))
        elif re.fullmatch(r"\s+(?:[0-9a-f]{2} ?)+", line):
            current.append(line.replace(" ", ""))
        if re.search(r"\[Page \d+\]$", line):
            pages.append("".join(current))
            current = []
    for name, (value, where) in rfc8448.VALUES.items():
        page = int(re.search(r"page (\d+)", where).group(1))
        assert value[:24] in pages[page - 1], f"{name}: not printed on page {page}"


def test_rfc8448_values_have_their_source():
    for name, (hex_value, where) in rfc8448.VALUES.items():
        assert bytes.fromhex(hex_value)
        assert re.match(r"section 3, page \d+: \{(client|server)\} .+: \".+\"$", where), name
    with pytest.raises(KeyError, match="no RFC 8448 value"):
        rfc8448.value("nope")


# -- assignments 07-09: resumption, the hybrid key share, the padding oracle ------------------

NEW_EXERCISES = ("resumption_psk", "binder_key", "truncated_client_hello", "psk_binder",
                 "resumption_binder", "split_client_share", "split_server_share",
                 "client_shared_secret", "server_key_share", "hybrid_shared_secret",
                 "padding_query", "recover_bytes", "steal_cookie")


@pytest.mark.parametrize("student", ["s0001", "s0002"])
def test_new_reference_solutions_pass_on_every_variant(student, monkeypatch):
    from tlslesson.assignments import variant
    monkeypatch.setattr(variant, "_current", student)
    for name in NEW_EXERCISES:
        report = check(name, REFERENCE[name], seed="hidden", show=False)
        assert report, f"{student}: {report.text}"


def test_new_variants_differ_and_hold_no_answers():
    one, other = data.resumption("s0001"), data.resumption("s0002")
    assert one.client_hello != other.client_hello
    assert one.resumption_master_secret != other.resumption_master_secret
    binder = REFERENCE["resumption_binder"](one)
    assert binder not in one.client_hello and one.client_hello.endswith(bytes(32))
    assert data.hybrid_hellos("s0001").mlkem_seed != data.hybrid_hellos("s0002").mlkem_seed
    hellos = data.hybrid_hellos("s0001")
    secret = REFERENCE["hybrid_shared_secret"](hellos)
    assert all(secret[:32] not in getattr(hellos, f) and secret[32:] not in getattr(hellos, f)
               for f in hellos.__dataclass_fields__)
    cookies = [exercises._cookie_of(data.padding_oracle(who)) for who in ("s0001", "s0002")]
    assert cookies[0] != cookies[1]
    oracle = data.padding_oracle("s0001")
    public = [v for k, v in vars(oracle).items() if not k.startswith("_PaddingOracle__")]
    assert not any(isinstance(v, bytes) and cookies[0] in v for v in public)
    assert cookies[0] not in oracle.prefix + oracle.suffix


def test_the_lesson_server_accepts_the_binder_and_nothing_else():
    r = data.resumption()
    binder = REFERENCE["resumption_binder"](r)
    ok, said = r.server_accepts(binder)
    assert ok and "resumed" in said
    ok, said = r.server_accepts(binder[:-1] + bytes([binder[-1] ^ 1]))
    assert not ok and "decrypt_error" in said
    # a neighbour's binder (the same ticket layout, another variant) is refused too
    assert not r.server_accepts(REFERENCE["resumption_binder"](data.resumption("s0002")))[0]


def test_a_neighbours_values_fail_the_new_exercises(monkeypatch):
    from tlslesson.assignments import variant
    theirs = {"resumption_binder": REFERENCE["resumption_binder"](data.resumption("s0002")),
              "hybrid_shared_secret": REFERENCE["hybrid_shared_secret"](
                  data.hybrid_hellos("s0002")),
              "steal_cookie": exercises._cookie_of(data.padding_oracle("s0002"))}
    monkeypatch.setattr(variant, "_current", "s0001")
    for name, value in theirs.items():
        report = check(name, lambda *args, value=value: value, show=False)
        assert report.status == checker.FAIL and report.passed == 0, report.text
    assert "of 16 bytes right" in check("steal_cookie", lambda o: theirs["steal_cookie"],
                                        show=False).text


def test_targeted_hints_for_the_binder():
    own = {n: REFERENCE[n] for n in ("truncated_client_hello", "binder_key", "psk_binder")}

    def with_prefix(client_hello):                    # the binders' 2-byte length left in
        cut = own["truncated_client_hello"](client_hello)
        return client_hello[:len(cut) + 2]
    assert "2-byte length is part of the binders" in check("truncated_client_hello",
                                                           with_prefix, show=False).text

    def ext_binder(psk, hash_name="SHA256"):
        early = tls13.hkdf_extract(hash_name, b"", psk)
        return tls13.derive_secret(hash_name, early, "ext binder", digest(hash_name, b""))
    assert '"ext binder" is for a PSK agreed outside TLS' in check("binder_key", ext_binder,
                                                                  show=False).text

    def whole_hello(binder_key, client_hello, hash_name="SHA256"):
        from tlslesson.prf import hmac_digest
        key = tls13.hkdf_expand_label(hash_name, binder_key, "finished", b"",
                                      len(digest(hash_name, b"")))
        return hmac_digest(hash_name, key, digest(hash_name, client_hello))
    assert "covers the TRUNCATED ClientHello" in check("psk_binder", whole_hello,
                                                       show=False).text

    def no_finished_key(binder_key, client_hello, hash_name="SHA256"):
        from tlslesson.prf import hmac_digest
        return hmac_digest(hash_name, binder_key, digest(
            hash_name, own["truncated_client_hello"](client_hello)))
    assert "a binder is a Finished" in check("psk_binder", no_finished_key, show=False).text


def test_targeted_hints_for_the_hybrid():
    text = check("split_client_share", lambda share: (share[:32], share[32:]), show=False).text
    assert "SecP256r1MLKEM768's layout" in text and "ML-KEM part FIRST" in text
    text = check("split_server_share", lambda share: (share[:1184], share[1184:]),
                 show=False).text
    assert "1088 bytes" in text

    def x25519_first(seed, x25519_private, server_share):
        secret = REFERENCE["client_shared_secret"](seed, x25519_private, server_share)
        return secret[32:] + secret[:32]
    assert "ML-KEM's secret FIRST" in check("client_shared_secret", x25519_first,
                                            show=False).text

    def hashed(seed, x25519_private, server_share):
        return digest("SHA256", REFERENCE["client_shared_secret"](seed, x25519_private,
                                                                  server_share))
    assert "just concatenate" in check("client_shared_secret", hashed, show=False).text

    def server_order(client_share, x25519_private):
        share, secret = REFERENCE["server_key_share"](client_share, x25519_private)
        return share, secret[32:] + secret[:32]
    assert "ML-KEM's secret FIRST" in check("server_key_share", server_order, show=False).text


def _cbc_namespace(**replace):
    """The instructor's recover_bytes with one of its helpers replaced by a wrong one."""
    namespace = {"__name__": "cbc_mistake"}
    nb = load(notebook_path(SOURCE, "09-cbc-padding-oracle"))
    for cell in nb["cells"]:
        if cell["id"] in ("padding-query", "recover"):
            code = source_of(cell)
            exec(compile(code.split("\nquestion = ")[0], "<cbc>", "exec"), namespace)
    namespace.update(replace)
    return namespace


def test_targeted_hints_for_the_padding_oracle():
    def pkcs7(blocks, j, position, guess, known):      # 16 - position: PKCS#7's count
        prev = bytearray(blocks[j - 1])
        for offset, value in enumerate(bytes([guess]) + bytes(known), start=position):
            prev[offset] ^= value ^ (16 - position)
        return b"".join(blocks[:j - 1]) + bytes(prev) + blocks[j]

    def same_block(blocks, j, position, guess, known):  # changes C_j, not C_(j-1)
        block = bytearray(blocks[j])
        for offset, value in enumerate(bytes([guess]) + bytes(known), start=position):
            block[offset] ^= value ^ (15 - position)
        return b"".join(blocks[:j]) + bytes(block)
    assert "16 − position is PKCS#7's count" in check("padding_query", pkcs7, show=False).text
    assert "you changed C_j itself" in check("padding_query", same_block, show=False).text
    for wrong, words in ((pkcs7, "TLS padding for L = 15 − 14 = 1"),
                         (same_block, "you changed C_j itself")):
        report = check("recover_bytes", _cbc_namespace(padding_query=wrong)["recover_bytes"],
                       show=False)
        assert not report and words in report.text, report.text
        assert "expected" not in report.text
    # no second question at position 15: the "01 01" case catches it
    namespace = _cbc_namespace()
    source = source_of(next(c for c in load(notebook_path(SOURCE, "09-cbc-padding-oracle"))
                            ["cells"] if c["id"] == "recover"))
    exec(source.replace("if position == 15:", "if False:"), namespace)
    report = check("recover_bytes", namespace["recover_bytes"], show=False)
    assert not report and "01 01" in report.text, report.text


def test_asking_the_oracle_is_not_delegation_but_its_lab_is():
    from tlslesson.assignments.guard import watching
    oracle = data.padding_oracle()
    with watching(EXERCISES["recover_bytes"].forbidden) as watch:
        oracle.ask(lambda f: f)
    assert not watch.hits
    with watching(EXERCISES["recover_bytes"].forbidden) as watch:
        oracle.ask(lambda f: _lab().query_block(_lab()._blocks(f), 5, 15, 0x30, b""))
    assert watch.hits == ["tlslesson.attacks.cbc_padding_oracle.query_block"]


def test_rfc8448_resumption_values_are_the_traces():
    """rfc8448.RESUMED is tests/vectors' trace of the RFC text (sections 3 and 4), and consistent."""
    traces = {section: json.loads((ROOT / "tests" / "vectors" / f"rfc8448_{kind}.json")
                                  .read_text())["values"]
              for section, kind in (("3", "simple"), ("4", "resumed"))}
    for name, (hex_value, where) in rfc8448.RESUMED.items():
        section, line = re.match(r"section (\d), line (\d+): ", where).groups()
        entry = traces[section][name]
        assert (entry["hex"], entry["line"]) == (hex_value, int(line)), name
    R, h = rfc8448.resumed, "SHA256"
    assert R("resumption_psk") == R("psk") == tls13.resumption_psk(
        h, R("resumption_master_secret"), R("ticket_nonce"))
    assert R("truncated_client_hello") == R("client_hello")[:len(R("truncated_client_hello"))]
    assert R("binder_hash") == digest(h, R("truncated_client_hello"))
    assert R("binder") == tls13.finished_verify_data(suites.get("TLS_AES_128_GCM_SHA256"),
                                                     R("binder_key"), R("binder_hash"))
