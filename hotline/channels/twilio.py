"""Twilio: signed SMS webhooks in, SMS out through the official SDK, status callbacks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from hotline.channels.base import PermanentSendError, SendResult, TemporarySendError
from hotline.channels.inbound import (
    MAX_ADDRESS_LENGTH,
    DeliveryReport,
    InboundSms,
    WebhookError,
    gateway_id,
    gateway_note,
    require_fields,
)
from hotline.channels.phone import InvalidPhoneNumber, to_e164

GATEWAY = "twilio"

STATUS_STATES = {
    "accepted": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    # Statuses of inbound messages and scheduling that a status callback may still carry.
    "received": "delivered",
    "read": "delivered",
    "scheduled": "sent",
    "canceled": "failed",
}
# Twilio error codes that mean this number or message can never go: no retry, no failover.
PERMANENT_ERROR_CODES = {
    21211: "invalid To number",
    21214: "To number cannot be reached",
    21408: "region not enabled",
    21610: "recipient unsubscribed",
    21612: "To number cannot receive from this sender",
    21614: "To number is not a mobile number",
    30003: "unreachable handset",
    30005: "unknown destination",
    30006: "landline or unreachable carrier",
}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def verify_signature(auth_token: str | None, url: str, form: Mapping[str, str], signature: str | None) -> None:
    """Refuse a request whose X-Twilio-Signature does not match ``url`` and ``form``."""
    if not auth_token:
        raise WebhookError("Twilio is not configured (TWILIO_AUTH_TOKEN)", status=403)
    if not signature:
        raise WebhookError("missing X-Twilio-Signature", status=403)
    if not RequestValidator(auth_token).validate(url, dict(form), signature):
        raise WebhookError("bad X-Twilio-Signature", status=403)


def parse_sms(form: Mapping[str, str]) -> InboundSms:
    message_sid, sender = require_fields(form, "MessageSid", "From")
    if "Body" not in form:
        raise WebhookError("missing form field 'Body'")
    try:
        phone = to_e164(sender)
    except InvalidPhoneNumber as error:
        raise WebhookError(f"form field 'From' is {error}") from None
    to = gateway_id((form.get("To") or "").strip(), "To", MAX_ADDRESS_LENGTH) or None
    return InboundSms(gateway=GATEWAY, message_id=gateway_id(message_sid, "MessageSid"), sender=phone,
                      text=form["Body"], to=to)


def parse_status(form: Mapping[str, str]) -> DeliveryReport:
    message_sid, status = require_fields(form, "MessageSid", "MessageStatus")
    if status not in STATUS_STATES:
        raise WebhookError(f"unknown message status '{status}'")
    error_code = gateway_note(form.get("ErrorCode"), 64)
    return DeliveryReport(GATEWAY, gateway_id(message_sid, "MessageSid"), STATUS_STATES[status],
                          f"Twilio error {error_code}" if error_code else None)


class TwilioProvider:
    """Sends SMS through the official SDK, pointed at ``TWILIO_API_URL`` when it is set."""

    name = GATEWAY

    def __init__(self, config: Mapping[str, Any], status_callback: str | None = None):
        missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM") if not config.get(name)]
        if missing:
            raise ValueError(f"SMS_PROVIDERS names twilio but {', '.join(missing)} is not set")
        self._client = Client(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
                              http_client=TwilioHttpClient(timeout=float(config.get("HOTLINE_SMS_TIMEOUT") or 10)))
        if config.get("TWILIO_API_URL"):
            self._client.api.base_url = config["TWILIO_API_URL"].rstrip("/")
        self._sender = config["TWILIO_FROM"]
        self._status_callback = status_callback

    def send(self, to: str, body: str, *, reference: str) -> SendResult:
        options = {"status_callback": self._status_callback} if self._status_callback else {}
        try:
            message = self._client.messages.create(to=to, from_=self._sender, body=body, **options)
        except TwilioRestException as error:
            if error.code in PERMANENT_ERROR_CODES:
                raise PermanentSendError(PERMANENT_ERROR_CODES[error.code]) from error
            raise TemporarySendError(f"HTTP {error.status}" + (f" error {error.code}" if error.code else "")) from error
        except requests.RequestException as error:
            raise TemporarySendError(type(error).__name__) from error
        return SendResult(GATEWAY, message.sid, status=str(message.status or "queued"))
