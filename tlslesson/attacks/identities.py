"""The attack labs' own keys and certificates, shipped in ``tlslesson/data/attack-pki/`` so every
run shows the same bytes (and the same number of oracle queries) without waiting for RSA key
generation. Regenerate with ``python -m tlslesson.attacks.identities DIRECTORY``.

* ``victim_rsa``: a **1024-bit** RSA "localhost" server certificate from the lesson intermediate.
  1024 bits is smaller than any real server should use (NIST SP 800-131A retired it in 2013); it
  is here so Bleichenbacher's attack finishes in seconds. The attack itself does not care about
  the size: for 2048 bits it needs about as many queries, each one slower.
* ``mallory``: the attacker's key, with a certificate the lesson CA really issued for
  ``mallory.example`` (a legitimate site run by an attacker: the triple handshake), and
* ``mallory_self_signed``: the same key in a self-signed "localhost" certificate (the man in the
  middle of the first lab: no CA would sign it, so only a client that skips validation takes it).

Their private keys are public, like the lesson PKI's: 127.0.0.1 and lessons only.
"""
from __future__ import annotations

import functools
import sys
from importlib import resources
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from .. import pki

ATTACK_PKI_DIR = ("data", "attack-pki")
MALLORY_NAME = "mallory.example"
FILES = {"victim_rsa": ("victim-rsa1025.crt", "victim-rsa1025.key"),
         "mallory": ("mallory.crt", "mallory.key"),
         "mallory_self_signed": ("mallory-self-signed.crt", "mallory.key")}


def make_identities(directory) -> dict[str, Path]:
    """New keys and certificates for the labs, written as PEM into ``directory``."""
    lesson = pki.lesson_pki()
    ca = lesson.intermediate
    when = dict(not_before=pki.LESSON_NOT_BEFORE, not_after=pki.LESSON_NOT_AFTER)

    def leaf(name, key, issuer_name, issuer_key, issuer_public, dns):
        usage = pki._key_usage({"digital_signature", "key_encipherment"})
        return pki._build(pki._subject(name), key.public_key(), issuer_name, issuer_public,
                          issuer_key, is_ca=False, path_length=None, key_usage=usage,
                          eku=pki.EKU_FOR_PURPOSE["server"], san=pki._san(dns, ()), **when)

    victim = rsa.generate_private_key(65537, 1025)       # small on purpose: see above
    mallory = rsa.generate_private_key(65537, 2048)
    made = {
        "victim_rsa": pki.Identity(leaf("localhost", victim, ca.certificate.subject, ca.key,
                                         ca.certificate.public_key(), ("localhost",)),
                                    victim, (ca.certificate,)),
        "mallory": pki.Identity(leaf(MALLORY_NAME, mallory, ca.certificate.subject, ca.key,
                                     ca.certificate.public_key(), (MALLORY_NAME,)),
                                mallory, (ca.certificate,)),
    }
    own = pki._subject("localhost")        # subject == issuer: self-signed, by Mallory's own key
    made["mallory_self_signed"] = pki.Identity(
        leaf("localhost", mallory, own, mallory, mallory.public_key(), ("localhost",)), mallory)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for field, (cert_file, key_file) in FILES.items():
        for filename, data in ((cert_file, made[field].chain_pem), (key_file, made[field].key_pem)):
            (directory / filename).write_bytes(data)
            written[filename] = directory / filename
    return written


def _load(field: str) -> pki.Identity:
    cert_file, key_file = FILES[field]
    folder = resources.files("tlslesson").joinpath(*ATTACK_PKI_DIR)
    leaf, *chain = pki.load_pem_chain(folder.joinpath(cert_file).read_bytes())
    return pki.Identity(leaf, pki.load_private_key(folder.joinpath(key_file).read_bytes()),
                        tuple(chain))


@functools.lru_cache(maxsize=None)
def victim_rsa() -> pki.Identity:
    """The Bleichenbacher lab's server: RSA-1025 (lesson-sized, see above), from the lesson CA."""
    return _load("victim_rsa")


@functools.lru_cache(maxsize=None)
def mallory() -> pki.Identity:
    """The attacker's certificate for mallory.example, really issued by the lesson CA."""
    return _load("mallory")


@functools.lru_cache(maxsize=None)
def mallory_self_signed() -> pki.Identity:
    """The attacker's self-signed certificate claiming to be "localhost"."""
    return _load("mallory_self_signed")


if __name__ == "__main__":      # a maintainer's tool: python -m tlslesson.attacks.identities DIR
    for name in make_identities(sys.argv[1] if len(sys.argv) > 1 else "attack-pki"):
        print(name)
