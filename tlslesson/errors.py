"""One small hierarchy of errors.

Every error the package raises on bad input is a ``TLSError`` (a ``ValueError``), and every
``TLSError`` knows the alert a real TLS stack would send for it (``.alert``), so the
connection can turn any failure into the right Alert message and the command line can print
one line instead of a traceback.
"""
from __future__ import annotations

from .constants import AlertDescription


class TLSError(ValueError):
    """Base class. ``alert`` is the AlertDescription a real stack would send."""

    alert: AlertDescription = AlertDescription.internal_error


class DecodeError(TLSError):
    """Bytes that do not parse: names the field, the offset and why."""

    alert = AlertDescription.decode_error

    def __init__(self, field: str, offset: int, reason: str):
        self.field, self.offset, self.reason = field, offset, reason
        super().__init__(f"decode_error: {field} at offset {offset}: {reason}")


class AlertError(TLSError):
    """A check failed (or the peer sent an alert): carries the AlertDescription.

    ``received`` is True when the peer sent the alert to us, False when we detected the
    problem and would send (or sent) the alert ourselves.
    """

    def __init__(self, alert: AlertDescription, reason: str = "", received: bool = False):
        self.alert, self.reason, self.received = AlertDescription(alert), reason, received
        who = "peer sent alert" if received else "alert"
        text = f"{who} {self.alert.name} ({int(self.alert)})"
        super().__init__(f"{text}: {reason}" if reason else text)


class CertificateError(AlertError):
    """Certificate validation failed at a named step (``step``), e.g. 'validity period'."""

    def __init__(self, step: str, reason: str,
                 alert: AlertDescription = AlertDescription.bad_certificate):
        self.step = step
        super().__init__(alert, f"certificate check '{step}' failed: {reason}")
        self.reason = reason


class TransportError(TLSError):
    """The peer closed the connection, stalled past the timeout, or could not be reached."""
