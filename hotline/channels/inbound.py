"""What a gateway adapter hands to the conversation service: gateway-free inbound messages and reports."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

# Gateway ids go into plain, length-limited columns and lookups (PostgreSQL refuses a NUL in
# any of them). 63 keeps a USSD hop's key `<session id>#<hop id>` within its 128 characters.
MAX_ID_LENGTH = 63
MAX_ADDRESS_LENGTH = 32
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class WebhookError(ValueError):
    """A webhook request that cannot be accepted; the reason is safe to show the gateway (no PII)."""

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class InboundSms:
    gateway: str
    message_id: str
    sender: str  # E.164
    text: str
    to: str | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class UssdHop:
    gateway: str
    session_id: str
    phone: str  # E.164
    service_code: str
    # Everything the caller typed in this session, as the gateway sends it.
    text: str
    network_code: str | None = None
    # Set by gateways that send only the newest input instead of the cumulative text.
    latest_input: str | None = None
    # Such gateways say themselves which hop this is, for deduplication.
    hop_id: str | None = None


@dataclass(frozen=True)
class UssdSessionEnd:
    gateway: str
    session_id: str
    status: str  # completed | dropped
    phone: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    provider: str
    provider_message_id: str
    state: str  # sent | delivered | failed
    reason: str | None = None


def require_fields(form, *names: str) -> list[str]:
    """Return the stripped values of ``names``; raise WebhookError naming the first missing one."""
    values = []
    for name in names:
        value = (form.get(name) or "").strip()
        if not value:
            raise WebhookError(f"missing form field '{name}'")
        values.append(value)
    return values


def gateway_id(value: str, field: str, max_length: int = MAX_ID_LENGTH) -> str:
    """Return ``value`` (an id or address a gateway sent); raise WebhookError naming ``field``
    when it has control characters or is longer than ``max_length``, as no gateway sends."""
    if _CONTROL_CHARACTERS.search(value):
        raise WebhookError(f"field '{field}' contains control characters")
    if len(value) > max_length:
        raise WebhookError(f"field '{field}' is longer than {max_length} characters")
    return value


def gateway_note(value: str | None, max_length: int = 255) -> str | None:
    """A gateway's free-text remark (a failure reason) made storable: no control characters, cut to length."""
    cleaned = _CONTROL_CHARACTERS.sub(" ", value or "").strip()[:max_length]
    return cleaned or None
