"""Attack labs: real attacks against deliberately weakened lesson peers, each beside its defence.

Every lab is one module whose functions follow the paper's steps and drive the package's own
connections in memory (``inmemory``). The weakened behaviour each needs is a class or option
named for what it breaks, lives here, and is never a default: ``tlslesson``'s configurations,
its command line and its protocol modules know nothing of it. With the defence in place, each
attack fails at the check the package's errors name (``error.check``).

========  ============================  ==========================  ==============================
lab       module                        weakened (lesson only)      stopped by (defence on)
========  ============================  ==========================  ==============================
1         ``no_validation``             ``ClientConfig(verify=False)``  ``certificate:chain building / trust anchor``
2         ``bleichenbacher``            ``PaddingOracleServer``     RFC 5246 §7.4.7.1 → ``record_mac`` (no oracle)
3         ``cbc_padding_oracle``        ``PaddingOracleCBCServer``  uniform errors / EtM / AEAD → ``record_mac``
4         ``triple_handshake``          (EMS off, insecure resume)  RFC 7627 §5.3 → ``extended_master_secret``
5         ``gcm_nonce_reuse``           ``RepeatingNonceAEAD12``    RFC 5288 §3 nonces → ``record_mac``
6         ``downgrade``                 ``SentinelIgnoringClient``  RFC 8446 §4.1.3 → ``downgrade_sentinel``
7         ``early_data_replay``         ``lesson_replayable()``     RFC 8446 §8 → ``early_data_rejected``
========  ============================  ==========================  ==============================

Lab 7's weakened option is ``ServerConfig(anti_replay=sessions.lesson_replayable())``: the one
lesson-only switch that lives outside this package (``sessions`` holds the anti-replay it turns
off), named LESSON-ONLY there, never a default, not offered by the command line. Its "check" is
not an alert: the defended server refuses the replay's early data
(``values["early_data_rejected"]``) and goes on with a 1-RTT handshake the attacker cannot finish.

Lab 4's defence on the client's side is not an alert either: an RFC 7627 client does not offer
a session made without an extended master secret (``values["resumption"]`` says so), so there is
no abbreviated handshake for Mallory to forward; the server's is one (handshake_failure). The lab
calls both ``extended_master_secret``, the check RFC 7627 §5.3 names on each side.

A new lab is one more module and one more row in ``LABS``; the notebook (14-attacks-that-work)
and the tests read this table.
"""
from __future__ import annotations

from typing import NamedTuple


class Lab(NamedTuple):
    number: int
    module: str          # tlslesson.attacks.<module>
    title: str
    weakened: str        # the lesson-only class or option that makes it work
    stopped_by: str      # the check that stops it with the defence on


LABS = (
    Lab(1, "no_validation", "No certificate validation: a man in the middle",
        "ClientConfig(verify=False)", "certificate:chain building / trust anchor"),
    Lab(2, "bleichenbacher", "Bleichenbacher's padding oracle (RSA key exchange)",
        "PaddingOracleServer", "record_mac"),
    Lab(3, "cbc_padding_oracle", "CBC padding oracle (MAC-then-encrypt)",
        "PaddingOracleCBCServer", "record_mac"),
    Lab(4, "triple_handshake", "Triple handshake (steps 1-2): why EMS exists",
        "ems=False, resume_without_ems=True", "extended_master_secret"),
    Lab(5, "gcm_nonce_reuse", "AES-GCM nonce reuse: the forbidden attack",
        "RepeatingNonceAEAD12", "record_mac"),
    Lab(6, "downgrade", "Downgrade to TLS 1.2 and the sentinel",
        "SentinelIgnoringClient", "downgrade_sentinel"),
    Lab(7, "early_data_replay", "0-RTT replay: the same request processed twice",
        "lesson_replayable()", "early_data_rejected"),
)

# Every weakened class or option of the labs, by name: the tests check none is reachable from the
# default configurations or the command line.
WEAKENED = ("PaddingOracleServer", "PaddingFirstCBC12", "PaddingOracleCBCServer",
            "RepeatingNonceAEAD12", "SentinelIgnoringClient", "ScriptedRandom", "reuse_nonces",
            "SeededPaddingClient")
