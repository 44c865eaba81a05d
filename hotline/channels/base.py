"""What every outbound SMS provider returns or raises, so the send job can decide retry or failover."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SendResult:
    provider: str
    provider_message_id: str
    # The provider's own word for the state it accepted the message in.
    status: str = "sent"


class SendError(Exception):
    """A provider did not take the message."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class PermanentSendError(SendError):
    """The message can never go this way (bad number, refused content): no retry."""


class TemporarySendError(SendError):
    """Worth trying again later or through another provider (timeout, 5xx, 429)."""


class SmsProvider(Protocol):
    name: str

    def send(self, to: str, body: str, *, reference: str) -> SendResult:
        """Send ``body`` to the E.164 number ``to``; ``reference`` is our idempotency id."""
        ...
