"""The model behind the notebook's "defence on / off" widget: run one lab either way and say what
happened in a few lines (plain Python: the tests call it; ``tlslesson.lesson.attack_lab`` draws it)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from . import LABS


@dataclass
class Outcome:
    lab: int
    defence: bool
    succeeded: bool          # did the attack get what it wanted?
    check: str | None        # the check that stopped it
    lines: list


def _run(number: int, defence: bool, progress):
    m = importlib.import_module(f"tlslesson.attacks.{LABS[number - 1].module}")
    if number == 1:
        r = m.man_in_the_middle(verify=defence)
        return r.succeeded, r.check, [f"Mallory read the cookie: {r.cookie!r}"] if r.succeeded \
            else []
    if number == 2:
        from ..lesson.configs import lesson_configs
        from ..server import ServerConnection
        from . import identities
        c, s = lesson_configs("attack-lab/bleichenbacher", versions=("1.2",),
                              suites=(m.RSA_SUITE,),
                              server={"identities": (identities.victim_rsa(),)})
        recording = m.record_session(c, s, [("client", b"GET / HTTP/1.1\r\nCookie: s=42\r\n\r\n")])
        try:
            r = m.recover(recording, server_class=ServerConnection if defence
                          else m.PaddingOracleServer, on_query=progress)
        except m.AttackFailed as failed:
            return False, failed.check, [str(failed)]
        return True, None, [f"{r.queries} queries, {r.seconds:.1f} s",
                            f"pre-master secret: {r.pre_master_secret.hex()}",
                            f"recorded data: {r.plaintexts[0][1]!r}"]
    if number == 3:
        from .bleichenbacher import AttackFailed
        try:
            r = m.attack(m.Victim("uniform errors" if defence else "none"))
        except AttackFailed as failed:
            return False, failed.check, [str(failed)]
        return True, None, [f"cookie {r.recovered!r} after {r.sessions} connections"]
    if number == 4:
        r = m.synchronize(ems=defence)
        return r.succeeded, r.check, [f"same master secret: {r.same_master_secret}",
                                      f"S accepted C's own record: {r.forwarded_accepted}"]
    if number == 5:
        r = m.attack(weakened=not defence)
        return r.succeeded, r.check, [f"nonces: {', '.join(n.hex() for n in r.nonces)}",
                                      f"client received: {r.client_received!r}"]
    if number == 6:
        r = m.downgrade(check_sentinel=defence, on_query=progress)
        return r.succeeded, r.check, [f"version: {r.version}", *r.notes]
    if number == 7:
        r = m.replay(anti_replay=defence)
        first_line = m.REQUEST.split(b"\r\n")[0]
        lines = [f"Mallory replayed {len(r.flight)} recorded bytes (ClientHello + early data)",
                 f"the server's application processed {first_line!r} {r.processed} time(s)"]
        return r.succeeded, r.check, lines + ([f"server: {r.reason}"] if r.reason else [])
    raise KeyError(f"no lab {number}")


def run(number: int, defence: bool, progress=None) -> Outcome:
    """Lab ``number`` (1..7) with its defence on or off; ``progress(queries)`` for the slow ones."""
    succeeded, check, lines = _run(number, defence, progress)
    return Outcome(number, defence, succeeded, check, lines)
