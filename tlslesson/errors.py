"""One small hierarchy of errors.

Every error the package raises on bad input is a ``TLSError`` (a ``ValueError``), and every
``TLSError`` knows the alert a real TLS stack would send for it (``.alert``), so the
connection can turn any failure into the right Alert message and the command line can print
one line instead of a traceback.
"""
from __future__ import annotations

from .constants import AlertDescription


class TLSError(ValueError):
    """Base class. ``alert`` is the AlertDescription a real stack would send; ``check`` names,
    for programs (the tamper lab, tests), which check failed: ``finished``, ``record_mac``,
    ``certificate:validity period``, ... The message text is for people and may change."""

    alert: AlertDescription = AlertDescription.internal_error
    check: str = "internal"


class DecodeError(TLSError):
    """Bytes that do not parse: names the field, the offset and why."""

    alert = AlertDescription.decode_error
    check = "decode"

    def __init__(self, field: str, offset: int, reason: str):
        self.field, self.offset, self.reason = field, offset, reason
        super().__init__(f"decode_error: {field} at offset {offset}: {reason}")


class AlertError(TLSError):
    """A check failed (or the peer sent an alert): carries the AlertDescription and the check.

    ``received`` is True when the peer sent the alert to us (``check`` is then "peer_alert"),
    False when we detected the problem and would send (or sent) the alert ourselves.
    """

    def __init__(self, alert: AlertDescription, reason: str = "", received: bool = False, *,
                 check: str | None = None):
        if check is None and not received:
            raise ValueError("an AlertError we detect must name its check")
        self.alert, self.reason, self.received = AlertDescription(alert), reason, received
        self.check = check or "peer_alert"
        who = "peer sent alert" if received else "alert"
        text = f"{who} {self.alert.name} ({int(self.alert)})"
        super().__init__(f"{text}: {reason}" if reason else text)


class CertificateError(AlertError):
    """Certificate validation failed at a named step (``step``), e.g. 'validity period'."""

    def __init__(self, step: str, reason: str,
                 alert: AlertDescription = AlertDescription.bad_certificate):
        self.step = step
        super().__init__(alert, f"certificate check '{step}' failed: {reason}",
                         check=f"certificate:{step}")
        self.reason = reason


class TransportError(TLSError):
    """The peer closed the connection, stalled past the timeout, or could not be reached."""

    check = "transport"
