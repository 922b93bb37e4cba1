"""Check it yourself: compute a value with this package AND with OpenSSL, and compare.

Each function returns a ``CheckResult``: the ``openssl`` command line (a student can paste it
into a terminal), the package's value (``ours``), OpenSSL's (``openssl``), and ``matches``.
When the ``openssl`` command is not installed, ``openssl`` and ``matches`` are None and
``note`` says so: the command is still shown. A result unpacks as
``command, openssl_value, matches = check.prf(...)`` and shows as a small table in Jupyter.

Commands run without a shell, with a timeout, in a temporary directory that is removed after.

>>> r = prf(b"secret", b"test label", b"seed", 16)
>>> r.command.startswith("openssl kdf -keylen 16")
True
>>> r.matches in (True, None)
True
"""
from __future__ import annotations

import html as _html
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

TIMEOUT = 20          # seconds for one openssl command
MISSING = "openssl is not installed here: run the command where it is, and compare"


@dataclass(frozen=True)
class CheckResult:
    what: str                       # "TLS 1.2 PRF", "HKDF-Expand-Label", ...
    command: str                    # the command line, ready to paste (files named as in ``files``)
    ours: str                       # the package's value (hex, or text for verify)
    openssl: str | None             # OpenSSL's value, None if it could not run
    matches: bool | None            # None when OpenSSL could not run
    note: str = ""
    files: dict = field(default_factory=dict, repr=False)   # file name -> content the command reads

    def __iter__(self):
        """``command, openssl_value, matches = result``."""
        return iter((self.command, self.openssl, self.matches))

    def __str__(self) -> str:
        verdict = {True: "MATCH", False: "DIFFERENT", None: "not checked"}[self.matches]
        lines = [f"{self.what}: {verdict}", f"  $ {self.command}", f"  tlslesson: {self.ours}",
                 f"  openssl  : {self.openssl if self.openssl is not None else '-'}"]
        if self.note:
            lines.append(f"  note     : {self.note}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        verdict = {True: ("#2b8a3e", "the values match"), False: ("#c92a2a", "the values DIFFER"),
                   None: ("#868e96", "not checked")}[self.matches]
        mono = "font-family:ui-monospace,Menlo,Consolas,DejaVu Sans Mono,monospace"
        rows = [("command", f"<code style='{mono}'>$ {_html.escape(self.command)}</code>"),
                ("tlslesson", f"<code style='{mono}'>{_html.escape(self.ours)}</code>"),
                ("openssl", f"<code style='{mono}'>{_html.escape(str(self.openssl))}</code>"
                 if self.openssl is not None else "—")]
        if self.note:
            rows.append(("note", _html.escape(self.note)))
        body = "".join(f"<tr><td style='padding:2px 8px;font-weight:bold;vertical-align:top'>{k}"
                       f"</td><td style='padding:2px 8px;text-align:left;word-break:break-all'>"
                       f"{v}</td></tr>" for k, v in rows)
        return (f"<div><div style='font-weight:bold'>{_html.escape(self.what)}: "
                f"<span style='color:{verdict[0]}'>{verdict[1]}</span></div>"
                f"<table style='border-collapse:collapse;font-size:12px'>{body}</table></div>")


def openssl_path() -> str | None:
    """Where the ``openssl`` command is, or None."""
    return shutil.which("openssl")


def _run(args: list[str], cwd: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, timeout=TIMEOUT, check=False)


def _kdf_hex(output: bytes) -> str:
    """``openssl kdf`` prints "06:6C:73:..."; return "066c73..."."""
    return output.decode().strip().replace(":", "").lower()


def _bytes(value, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes or str, not {type(value).__name__}")


def _kdf_check(what: str, ours: bytes, args: list[str]) -> CheckResult:
    command = shlex.join(args)
    if openssl_path() is None:
        return CheckResult(what, command, ours.hex(), None, None, MISSING)
    try:
        done = _run([openssl_path()] + args[1:])
    except subprocess.TimeoutExpired:
        return CheckResult(what, command, ours.hex(), None, None, f"openssl timed out after "
                           f"{TIMEOUT} s")
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip().splitlines()
        return CheckResult(what, command, ours.hex(), None, None,
                           "openssl failed: " + (error[0] if error else f"exit {done.returncode}"))
    theirs = _kdf_hex(done.stdout)
    return CheckResult(what, command, ours.hex(), theirs, theirs == ours.hex())


# -------------------------------------------------------------------------------------------------
def prf(secret: bytes, label, seed: bytes, length: int, hash_name: str = "SHA256") -> CheckResult:
    """TLS 1.2 PRF(secret, label, seed) (RFC 5246 §5) vs ``openssl kdf ... TLS1-PRF``.
    OpenSSL takes label and seed as one "seed": we pass hex(label) + hex(seed)."""
    from .. import tls12
    label_b = _bytes(label, "label")
    ours = tls12.prf(bytes(secret), label_b, bytes(seed), length, hash_name)
    args = ["openssl", "kdf", "-keylen", str(length), "-kdfopt", f"digest:{hash_name}",
            "-kdfopt", f"hexsecret:{bytes(secret).hex()}",
            "-kdfopt", f"hexseed:{label_b.hex()}{bytes(seed).hex()}", "TLS1-PRF"]
    return _kdf_check(f"TLS 1.2 PRF ({label_b.decode(errors='replace')!r}, {length} bytes)",
                      ours, args)


def hkdf_expand_label(hash_name: str, secret: bytes, label: str, context: bytes, length: int,
                      method: str = "HKDF") -> CheckResult:
    """TLS 1.3 HKDF-Expand-Label (RFC 8446 §7.1) vs OpenSSL.

    ``method="HKDF"``: ``openssl kdf ... -kdfopt mode:EXPAND_ONLY -kdfopt hexinfo:<HkdfLabel>
    HKDF`` — plain RFC 5869 HKDF-Expand; the HkdfLabel bytes (length, "tls13 " + label,
    context) come from ``tls13.hkdf_label`` and are shown in the command.
    ``method="TLS13-KDF"``: OpenSSL builds the HkdfLabel itself from prefix, label and data, so
    our label encoding is checked too."""
    from .. import tls13
    ours = tls13.hkdf_expand_label(hash_name, bytes(secret), label, bytes(context), length)
    common = ["openssl", "kdf", "-keylen", str(length), "-kdfopt", f"digest:{hash_name}",
              "-kdfopt", "mode:EXPAND_ONLY", "-kdfopt", f"hexkey:{bytes(secret).hex()}"]
    if method == "HKDF":
        info = tls13.hkdf_label(label, bytes(context), length)
        args = common + ["-kdfopt", f"hexinfo:{info.hex()}", "HKDF"]
    elif method == "TLS13-KDF":
        args = common + ["-kdfopt", "prefix:tls13 ", "-kdfopt", f"label:{label}",
                         "-kdfopt", f"hexdata:{bytes(context).hex()}", "TLS13-KDF"]
    else:
        raise ValueError("method must be 'HKDF' or 'TLS13-KDF'")
    return _kdf_check(f"HKDF-Expand-Label({label!r}, {length} bytes) via {method}", ours, args)


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> CheckResult:
    """HKDF-Extract(salt, IKM) (RFC 5869 §2.2) vs ``openssl kdf ... mode:EXTRACT_ONLY HKDF``.
    An empty salt means HashLen zero bytes (as in the TLS 1.3 key schedule)."""
    from .. import tls13
    from ..prf import HASHES
    ours = tls13.hkdf_extract(hash_name, bytes(salt), bytes(ikm))
    salt = bytes(salt) or bytes(HASHES[hash_name].digest_size)
    args = ["openssl", "kdf", "-keylen", str(len(ours)), "-kdfopt", f"digest:{hash_name}",
            "-kdfopt", "mode:EXTRACT_ONLY", "-kdfopt", f"hexkey:{bytes(ikm).hex()}",
            "-kdfopt", f"hexsalt:{salt.hex()}", "HKDF"]
    return _kdf_check("HKDF-Extract", ours, args)


# -------------------------------------------------------------------------------------------------
def _with_files(what: str, ours: str, args: list[str], files: dict[str, bytes], parse,
                compare) -> CheckResult:
    """Write ``files`` into a temporary directory, run ``args`` there, parse and compare."""
    command = shlex.join(args)
    shown = {name: data.decode(errors="replace") for name, data in files.items()}
    if openssl_path() is None:
        return CheckResult(what, command, ours, None, None, MISSING, shown)
    with tempfile.TemporaryDirectory(prefix="tlslesson-check-") as tmp:
        for name, data in files.items():
            Path(tmp, name).write_bytes(data)
        try:
            done = _run([openssl_path()] + args[1:], cwd=tmp)
        except subprocess.TimeoutExpired:
            return CheckResult(what, command, ours, None, None,
                               f"openssl timed out after {TIMEOUT} s", shown)
        theirs = parse(done, Path(tmp))
    if theirs is None:
        error = done.stderr.decode(errors="replace").strip().splitlines()
        return CheckResult(what, command, ours, None, None,
                           "openssl failed: " + (error[0] if error else f"exit {done.returncode}"),
                           shown)
    return CheckResult(what, command, ours, theirs, compare(theirs), "", shown)


def x25519_shared(private_key, peer_public: bytes) -> CheckResult:
    """The X25519 shared secret (RFC 7748) of our private key and the peer's public value, vs
    ``openssl pkeyutl -derive``. ``private_key``: 32 raw bytes or an X25519PrivateKey. The two
    keys are written as PEM files (``files`` in the result shows them)."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import x25519
    key = (private_key if isinstance(private_key, x25519.X25519PrivateKey)
           else x25519.X25519PrivateKey.from_private_bytes(bytes(private_key)))
    peer = x25519.X25519PublicKey.from_public_bytes(bytes(peer_public))
    ours = key.exchange(peer)
    files = {"priv.pem": key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                           ser.NoEncryption()),
             "peer.pem": peer.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)}
    args = ["openssl", "pkeyutl", "-derive", "-inkey", "priv.pem", "-peerkey", "peer.pem",
            "-out", "shared.bin"]

    def parse(done, tmp):
        out = tmp / "shared.bin"
        return out.read_bytes().hex() if done.returncode == 0 and out.exists() else None
    return _with_files("X25519 shared secret", ours.hex(), args, files, parse,
                       lambda theirs: theirs == ours.hex())


def _pem(cert) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding
    if isinstance(cert, (bytes, str)):
        return _bytes(cert, "certificate")
    return cert.public_bytes(Encoding.PEM)


def _certificates(items) -> list:
    from .. import pki
    out = []
    for item in items:
        if isinstance(item, (bytes, str)):
            data = _bytes(item, "certificate")
            out += (pki.load_pem_chain(data) if b"-----BEGIN" in data
                    else [pki.load_der_certificate(data)])
        else:
            out.append(item)
    return out


def _as_list(certificates) -> list:
    """A list of certificates from a list/tuple, or from one certificate / one PEM or DER blob."""
    if certificates is None:
        return []
    if isinstance(certificates, (list, tuple)):
        return list(certificates)
    return [certificates]


def verify_chain(chain, *more, trusted=None, hostname: str | None = None, now=None,
                 purpose: str = "server") -> CheckResult:
    """Validate a certificate chain with the package's ``pki.validate_chain`` and with
    ``openssl verify``, and compare the verdicts. Called like ``validate_chain``::

        verify_chain(chain, trusted, hostname="localhost", now=when)

    ``chain``: leaf first, then whatever the peer sent (x509 certificates, PEM or DER; one PEM
    blob may hold several). ``trusted``: the trust anchors (default: the lesson root CA).
    ``hostname`` None skips the name check (``-verify_hostname``, or ``-verify_ip`` for an
    address). ``now`` (a datetime; naive means UTC) validates at that moment, for OpenSSL
    ``-attime <seconds since 1970>``; None is the current time for both.

    The older form, the chain as separate arguments (``verify_chain(leaf, intermediate,
    hostname=...)``), is still accepted.
    """
    import datetime as _dt
    import ipaddress

    from .. import pki
    from ..errors import CertificateError
    if isinstance(chain, (list, tuple)):            # verify_chain(chain, trusted, ...)
        if len(more) > 1:
            raise TypeError("verify_chain(chain, trusted, hostname=..., now=...): too many "
                            "positional arguments")
        items = list(chain)
        positional_trusted = more[0] if more else None
    elif len(more) == 1 and isinstance(more[0], (list, tuple)):   # (PEM blob, [trusted])
        items, positional_trusted = [chain], more[0]
    else:                                           # the older form: verify_chain(leaf, *rest)
        items, positional_trusted = [chain, *more], None
    if positional_trusted is not None:
        if trusted is not None:
            raise TypeError("verify_chain() got trusted both as an argument and by keyword")
        trusted = positional_trusted
    certs = _certificates(items)
    if not certs:
        raise ValueError("give at least the leaf certificate")
    roots = (_certificates(_as_list(trusted)) if trusted is not None
             else pki.lesson_pki().trusted)
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=_dt.timezone.utc)          # as pki.validate_chain does
    try:
        pki.validate_chain(certs, roots, hostname=hostname, purpose=purpose, now=now)
        ours, ours_ok = "OK", True
    except CertificateError as err:
        ours, ours_ok = f"failed at '{err.step}': {err.reason}", False
    files = {"ca.pem": b"".join(_pem(c) for c in roots), "leaf.pem": _pem(certs[0])}
    args = ["openssl", "verify", "-CAfile", "ca.pem"]
    if len(certs) > 1:
        files["untrusted.pem"] = b"".join(_pem(c) for c in certs[1:])
        args += ["-untrusted", "untrusted.pem"]
    if hostname:
        try:
            ipaddress.ip_address(hostname)
            args += ["-verify_ip", hostname]
        except ValueError:
            args += ["-verify_hostname", hostname]
    if now is not None:
        args += ["-attime", str(int(now.timestamp()))]
    args += ["-purpose", "sslserver" if purpose == "server" else "sslclient", "leaf.pem"]
    what = "certificate chain (openssl verify)"
    if now is not None:
        what += f" at {now.astimezone(_dt.timezone.utc):%Y-%m-%d %H:%M:%SZ}"

    def parse(done, tmp):
        text = (done.stdout + done.stderr).decode(errors="replace").strip()
        if done.returncode == 0 and text.endswith("OK"):
            return "OK"
        errors = [line for line in text.splitlines() if line.startswith("error")]
        return errors[0] if errors else (text.splitlines()[0] if text else None)
    return _with_files(what, ours, args, files, parse,
                       lambda theirs: (theirs == "OK") == ours_ok)


def certificate_fingerprint(cert) -> CheckResult:
    """SHA-256 fingerprint of a certificate: ``cryptography`` vs ``openssl x509 -fingerprint``."""
    from cryptography.hazmat.primitives import hashes
    cert = _certificates([cert])[0]
    ours = cert.fingerprint(hashes.SHA256()).hex()
    args = ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", "cert.pem"]

    def parse(done, tmp):
        if done.returncode != 0:
            return None
        text = done.stdout.decode().strip()
        return text.split("=", 1)[1].replace(":", "").lower() if "=" in text else None
    return _with_files("certificate SHA-256 fingerprint (openssl x509)", ours, args,
                       {"cert.pem": _pem(cert)}, parse, lambda theirs: theirs == ours)
