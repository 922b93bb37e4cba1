"""What the lessons say agrees with the RFCs: statements found wrong once must not come back.

Each check below is one item of the issue "Lessons that are right": the RFC section (or paper) that
decides it, a regular expression for the wrong statement, which must match nowhere, and — where it
is cheap — one for the corrected fact, which must match in the notebook that teaches it.

The text searched is every markdown cell and every string literal of every code cell of
notebooks/*.ipynb and of the assignments (source and release), each lesson's quiz questions,
options and explanations (tlslesson/lesson/questions.py, counted as part of the lesson they belong
to), plus the string literals of tlslesson/lesson/*.py and tlslesson/assignments/*.py.
Whitespace is collapsed and markdown emphasis (``*``, backticks) removed, so a statement wrapped
over several lines, or set in bold, still matches.

"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
ASSIGNMENTS = sorted((ROOT / "notebooks" / "assignments").glob("*/*/*.ipynb"))
PYTHON = sorted((ROOT / "tlslesson" / "lesson").glob("*.py")) + \
    sorted((ROOT / "tlslesson" / "assignments").glob("*.py"))
MODELS = "tlslesson/lesson/models.py"


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[*`]", "", text)).strip()


def _strings(code: str) -> list[str]:
    """Every string literal of a piece of Python (adjacent literals arrive joined, as Python joins
    them); the raw code if it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return [code]
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _notebook_text(path: Path) -> str:
    parts = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        parts += [source] if cell["cell_type"] == "markdown" else _strings(source)
    return " ¦ ".join(_normalize(p) for p in parts)


def _python_text(path: Path) -> str:
    return " ¦ ".join(_normalize(s) for s in _strings(path.read_text(encoding="utf-8")))


def _questions_text(path: Path) -> str:
    """The lesson's "Check your understanding" questions (tlslesson/lesson/questions.py): part
    of what the lesson says, though kept out of the cell source."""
    from tlslesson.lesson.questions import QUESTIONS
    parts = []
    for q in QUESTIONS.get(path.name[:2], ()) if path.parent.name == "notebooks" else ():
        parts += [q.question, *getattr(q, "options", ()), q.explain,
                  *getattr(q, "hints", {}).values(), getattr(q, "hint", "")]
    return " ¦ ".join(_normalize(p) for p in parts if p)


def _texts() -> dict[str, str]:
    texts = {p.relative_to(ROOT).as_posix(): _notebook_text(p) + " ¦ " + _questions_text(p)
             for p in LESSONS + ASSIGNMENTS}
    texts.update({p.relative_to(ROOT).as_posix(): _python_text(p) for p in PYTHON})
    return texts


TEXTS = _texts()


def _lesson(number: str) -> str:
    [name] = [k for k in TEXTS if re.fullmatch(rf"notebooks/{number}-[^/]+\.ipynb", k)]
    return name


class Wrong(NamedTuple):
    id: str             # item of the issue + a short name
    pattern: str        # the wrong statement (case-insensitive, on normalized text)
    source: str         # what decides it
    where: str = ""     # a regex on the file name to limit the search (default: everywhere)


WRONG = [
    # 1. TLS 1.2 AES-GCM: the receiver takes nonce_explicit from the record (RFC 5288 §3), so a
    #    replayed record brings its nonce along; seq_num in the additional data (RFC 5246 §6.2.3.3)
    #    catches it. In the nonce only for ChaCha20-Poly1305 (RFC 7905 §2) and TLS 1.3 (RFC 8446 §5.3).
    Wrong("1-replay-07-every-nonce", r"sequence number is in every nonce", "RFC 5288 §3, RFC 5246 §6.2.3.3"),
    Wrong("1-replay-07-quiz", r"expected sequence number is in the nonce", "RFC 5288 §3, RFC 5246 §6.2.3.3"),
    Wrong("1-replay-11-attack", r"wrong sequence number in its nonce", "RFC 5288 §3, RFC 5246 §6.2.3.3"),
    Wrong("1-replay-11-summary", r"replayed record \| sequence number in the AEAD nonce",
          "RFC 5288 §3, RFC 5246 §6.2.3.3"),
    Wrong("1-replay-11-quiz", r"mixed into the nonce and (the )?additional data", "RFC 5288 §3, RFC 5246 §6.2.3.3"),
    # 2. psk_ke is a TLS 1.3 mode without (EC)DHE (RFC 8446 §2.2, §4.2.9); RSA key transport also
    #    went because of Bleichenbacher-style oracles (ROBOT, Böck et al. 2018), not only for PFS.
    Wrong("2-every-tls13-handshake-ecdhe", r"every TLS 1\.3 handshake is \(EC\)DHE", "RFC 8446 §2.2, §4.2.9"),
    Wrong("2-rsa-removed-only-for-pfs", r"It is why TLS 1\.3 removed RSA key transport", "ROBOT (USENIX Security 2018)"),
    # 3. Only the second Finished covers the first (RFC 5246 §7.4.9); resumption flips the order.
    Wrong("3-finished-covers-the-other", r"each side's Finished confirms everything the other side has said",
          "RFC 5246 §7.4.9"),
    # 4. (EC)DHE ServerKeyExchange signs both randoms (RFC 5246 §7.4.3, RFC 8422 §5.4).
    Wrong("4-hellos-nothing-signed", r"nothing in (them|it) is signed", "RFC 5246 §7.4.3, RFC 8422 §5.4"),
    # 5. With static RSA nothing signs the server random: the sentinel gives no downgrade
    #    protection (RFC 8446 §4.1.3); Finished fails only an attacker who can't break the weak exchange.
    Wrong("5-sentinel-cannot-be-removed", r"can't remove the sentinel: the server random is covered",
          "RFC 8446 §4.1.3"),
    Wrong("5-downgrade-caught-either-way", r"Either way the downgrade is caught", "RFC 8446 §4.1.3"),
    # 6. The TLS 1.3 content type is the last non-zero byte; TLSInnerPlaintext may carry zero
    #    padding (RFC 8446 §5.2, §5.4).
    Wrong("6-type-is-last-byte", r"it is the last byte of the plaintext", "RFC 8446 §5.2, §5.4"),
    Wrong("6-lengths-never-hidden", r"does not hide: record lengths and timing", "RFC 8446 §5.4"),
    # 7. Export suites were forbidden from TLS 1.1 on (RFC 4346 App. A.5), not removed by 1.3.
    Wrong("7-export-removed-by-tls13", r"\| [^|¦]*export ciphers \|", "RFC 4346 App. A.5",
          where=r"notebooks/09-"),
    # 9. RFC 5246 has no PRF test vectors: they were posted to the TLS WG list (Nov 2010).
    Wrong("9-rfc5246-test-vectors", r"published RFC 5246 test vectors|RFC 5246 PRF test vector",
          "IETF TLS WG list, Nov 2010 (msg03416)"),
    # 10. The transcript (and with it the signature) enters the master secret only with EMS (RFC 7627 §4).
    Wrong("10-transcript-into-master-secret", r"handshake transcript that goes into the master secret",
          "RFC 7627 §4"),
    # 11. The triple handshake needs the resumption step: equal Finished values pass RFC 5746.
    Wrong("11-triple-handshake-missing-step",
          r"After a session resumption and a renegotiation with a client certificate, S believed",
          "RFC 5746 §3; Bhargavan et al., IEEE S&P 2014"),
    # 12. signature_algorithms also constrains the certificates' signatures (RFC 5246 §7.4.1.4.1,
    #     §7.4.2; RFC 8446 §4.2.3 unless signature_algorithms_cert).
    Wrong("12-sigalgs-only-ske-and-cv", r"on the ServerKeyExchange and, in 1\.3, CertificateVerify",
          "RFC 5246 §7.4.1.4.1, §7.4.2; RFC 8446 §4.2.3"),
    # 13. No known way for x25519 only on a classical computer (Shor 1997).
    Wrong("13-x25519-unconditionally-safe", r"no known way to do it for x25519", "Shor, SIAM J. Computing 1997"),
    # 14. Smaller ones.
    Wrong("14-servers-usually-prefer-own", r"as servers are usually configured to",
          "nginx ssl_prefer_server_ciphers (default off); Mozilla Server Side TLS"),
    Wrong("14-client-random-stops-replay", r"A fresh client random means a recorded old handshake can't be replayed",
          "RFC 5246 §6.3, §8.1 (both randoms key the session), §7.4.3"),
    Wrong("14-ca-signs-every-byte", r"CA's signature covers every byte of the certificate", "RFC 5280 §4.1.1.3"),
    # Issue 16, "the student acts": honest times (a reader measured 25-60 minutes per notebook).
    Wrong("16-time-15-minutes", r"about 15 minutes", "issue 16: measured 25-60 minutes per notebook"),
    # Notebook 10's client is a lesson client: its random comes from the lesson seed.
    Wrong("16-nb10-client-fresh-randomness", r"no lesson seed here", "tlslesson/lesson/configs.py lesson_client"),
    # Issue 16, certificates from the inside: a TLS 1.3 CertificateEntry's extensions carry a
    # stapled OCSP response or SCTs when the server has them (RFC 8446 §4.4.2.1); not always empty.
    Wrong("16-certificate-entry-extensions-always-empty", r"\(OCSP status, SCTs\), TLS 1\.3 only \(RFC 8446 §4\.4\.2\); empty here",
          "RFC 8446 §4.4.2.1"),
    Wrong("14-lucky13-microseconds", r"timing difference of a few microseconds",
          "AlFardan & Paterson, IEEE S&P 2013"),
    # Issue 14 (today's TLS): the package has hybrid key exchange (notebook 13) and its lesson server
    # issues tickets when asked (tickets=2; notebook 12).
    Wrong("issue14-hybrid-not-in-package", r"X25519MLKEM768[^¦]{0,200}not in this package",
          "tlslesson/groups.py X25519MLKEM768; notebook 13"),
    Wrong("issue14-no-tickets-in-lessons", r"server sends no NewSessionTicket in these lessons",
          "tlslesson/lesson/configs.py: tickets=0 unless asked; notebook 12"),
]

# The corrected fact, where a short phrase pins it: (item, notebook, pattern).
PRESENT = [
    ("1", "07", r"nonce_explicit, RFC 5288 §3"),
    ("1", "07", r"sequence number in the additional data \(RFC 5246 §6\.2\.3\.3\)"),
    ("1", "07", r"RFC 7905 §2, and TLS 1\.3, RFC 8446 §5\.3"),
    ("1", "11", r"replayed record \| the receiver's sequence number, in the AEAD additional data"),
    ("2", "04", r"psk_ke"),
    ("2", "04", r"RFC 8446 §2\.2, §4\.2\.9"),
    ("2", "04", r"ROBOT"),
    ("3", "06", r"only the one sent second covers the one sent first \(RFC 5246 §7\.4\.9"),
    ("3", "06", r"abbreviated handshake"),
    ("4", "06", r"RFC 5246 §7\.4\.3, RFC 8422 §5\.4"),
    ("5", "02", r"DOWNGRD\\x00"),
    ("5", "02", r"does not provide downgrade protection when static RSA is used"),
    ("5", "11", r"with static RSA the sentinel gives no downgrade protection \(RFC 8446 §4\.1\.3\)"),
    ("6", "07", r"last non-zero byte"),
    ("6", "07", r"RFC 8446 §5\.2, §5\.4"),
    ("7", "09", r"RFC 4346 App\. A\.5"),
    ("10", "00", r"RFC 7627 §4"),
    ("11", "05", r"Finished values of the two connections are equal"),
    ("11", "05", r"RFC 5746"),
    ("12", "01", r"signature_algorithms_cert"),
    ("12", "01", r"RFC 8446 §4\.2\.3"),
    ("13", "04", r"classical computer"),
    ("13", "04", r"Shor"),
    ("14", "02", r"ssl_prefer_server_ciphers is off by default"),
    ("14", "01", r"server's fresh random"),
    ("14", "11", r"TBSCertificate"),
    ("14", "11", r"RFC 5280 §4\.1\.1\.3"),
    ("14", "07", r"compression-function call"),
    # issue 14: hybrid in the package, tickets on request, ALPN and resumption shown in 09/10, 12's §8
    ("issue14", "04", r"notebook 13 builds and splits its key shares"),
    ("issue14", "09", r"unless asked \(tickets=2"),
    ("issue14", "09", r"the server's choice appears in it, encrypted"),
    ("issue14", "09", r"in its ServerHello, which anyone on the path reads"),
    ("issue14", "10", r"says Reused"),
    ("issue14", "12", r"RFC 7627 §5\.3"),
    ("issue14", "12", r"server's Finished first"),
    ("issue14", "12", r"Single use \(§8\.1 single-use tickets, §8\.2 ClientHello recording\)"),
    ("issue14", "12", r"Freshness \(§8\.3\)"),
    ("issue14", "12", r"minimally, this means idempotent"),
    ("issue14", "12", r"not forward secret"),
    # issue 16, certificates from the inside: what the CA signs, and where a staple travels
    ("16", "03", r"RFC 5280 §4\.1\.1\.3"),
    ("16", "03", r"its own tag and length included"),
    ("16", "03", r"status_request extension of the leaf's CertificateEntry"),
    ("16", "03", r"RFC 6066 §8"),
    ("16", "03", r"RFC 6962"),
]


def _matches(check: Wrong) -> list[str]:
    pattern = re.compile(check.pattern, re.IGNORECASE)
    found = []
    for name, text in TEXTS.items():
        if check.where and not re.search(check.where, name):
            continue
        for m in pattern.finditer(text):
            found.append(f"{name}: …{text[max(0, m.start() - 60):m.end() + 60]}…")
    return found


def test_the_texts_were_found():
    assert len(LESSONS) >= 16 and ASSIGNMENTS and MODELS in TEXTS     # 00-15
    assert all(TEXTS.values())


WRONG += [
    Wrong("2-glossary-tls13-always-ecdhe", r"TLS 1\.3 always uses ephemeral \(EC\)DH", "RFC 8446 §2.2, §4.2.9",
          where=MODELS),
    Wrong("10-value-note-server-random", r"TLS 1\.2: mixed into the master secret and keys", "RFC 7627 §4",
          where=MODELS),
    Wrong("14-tamper-cert-bytes-covered", r"its bytes are covered by the issuer's signature",
          "RFC 5280 §4.1.1.3", where=MODELS),
]


@pytest.mark.parametrize("check", WRONG, ids=[c.id for c in WRONG])
def test_wrong_statement_is_gone(check):
    found = _matches(check)
    assert not found, f"wrong statement back (see {check.source}):\n" + "\n".join(found)


@pytest.mark.parametrize("item, number, pattern", PRESENT,
                         ids=[f"{i}-nb{n}-{p[:30]}" for i, n, p in PRESENT])
def test_corrected_fact_is_taught(item, number, pattern):
    name = _lesson(number)
    assert re.search(pattern, TEXTS[name], re.IGNORECASE), f"item {item}: {name} lacks {pattern!r}"


@pytest.mark.parametrize("name", ["notebooks/assignments/source/02-prf-and-keys/02-prf-and-keys.ipynb",
                                  "notebooks/assignments/release/02-prf-and-keys/02-prf-and-keys.ipynb"])
def test_prf_vectors_are_credited_to_the_working_group(name):
    # item 9: the vectors come from the TLS WG list, RFC 5246 has none (notebook 05 says so too)
    assert re.search(r"IETF TLS working group list", TEXTS[name])
    assert re.search(r"IETF TLS working group mailing list", TEXTS[_lesson("05")])


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_ends_with_check_your_understanding_then_further_reading(path):
    """DESIGN.md: each lesson ends with *Check your understanding* and *Further reading*."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    last = "".join(cells[-1]["source"])
    assert cells[-1]["cell_type"] == "markdown" and last.startswith("## Further reading"), \
        "the last cell is not a '## Further reading' markdown cell"
    assert re.search(r"^- .*(RFC \d+|https://)", last, re.MULTILINE), "Further reading lists nothing"
    headings = [line for cell in cells[:-1] if cell["cell_type"] == "markdown"
                for line in "".join(cell["source"]).splitlines() if line.startswith("#")]
    assert headings and "Check your understanding" in headings[-1], \
        "'Check your understanding' is not the heading right before Further reading"


def test_09_compares_the_two_versions_on_the_same_inputs():
    """Item 8: the 1.2 and 1.3 handshakes of "Same inputs, two handshakes" use the same certificate (key
    type), group, AEAD and hash, so the byte counts compare versions, not key types; the stored output
    of the first compared cell says so."""
    cells = json.loads((ROOT / _lesson("09")).read_text(encoding="utf-8"))["cells"]
    first = next(c for c in cells if "nbval-check-output" in c["metadata"].get("tags", []))
    text = "".join("".join(o.get("text", "")) for o in first["outputs"])
    for version, suite in (("1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), ("1.3", "TLS_AES_128_GCM_SHA256")):
        assert re.search(rf"TLS {re.escape(version)}: {suite}, group x25519, server key \w+ secp256r1", text), text
    assert re.search(r"same certificate chain", TEXTS[_lesson("09")])


def test_09_opens_the_encrypted_flight():
    text = TEXTS[_lesson("09")]
    for pattern in (r"RFC 8446 §5\.3", r"RFC 8446 §4\.4\.3", r"RFC 8446 §4\.4\.4", r"RFC 8446 §5\.4",
                    r"close_notify", r"last non-zero byte"):
        assert re.search(pattern, text), pattern


def test_the_lesson_seed_is_explained_once_in_00():
    """Issue 16: the seed explanation appears once (00); the others refer to it."""
    explained = [name for name, text in TEXTS.items() if name.startswith("notebooks/")
                 and re.search(r"anyone who (knew|knows) the seed", text, re.IGNORECASE)]
    assert explained == [_lesson("00")], explained
    assert re.search(r"The lesson seed \(explained here once", TEXTS[_lesson("00")])


def test_00_has_a_crypto_primer():
    text = TEXTS[_lesson("00")]
    for pattern in (r"crypto primer", r"Diffie-Hellman", r"AEAD", r"RFC 7748", r"RFC 5116", r"RFC 2104"):
        assert re.search(pattern, text), pattern
