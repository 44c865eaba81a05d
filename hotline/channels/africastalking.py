"""Africa's Talking: USSD and SMS callbacks in, SMS out through the official SDK, delivery reports."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService

from hotline.channels.base import PermanentSendError, SendResult, TemporarySendError
from hotline.channels.inbound import (
    MAX_ADDRESS_LENGTH,
    DeliveryReport,
    InboundSms,
    UssdHop,
    UssdSessionEnd,
    WebhookError,
    gateway_id,
    gateway_note,
    require_fields,
)
from hotline.channels.phone import InvalidPhoneNumber, to_e164

GATEWAY = "africastalking"
USSD_GATEWAY = "africastalking-ussd"

# Delivery report statuses, as Africa's Talking documents them.
DELIVERY_STATES = {
    "Success": "delivered",
    "Sent": "sent",
    "Submitted": "sent",
    "Buffered": "sent",
    "Rejected": "failed",
    "Failed": "failed",
    "Expired": "failed",
}
# USSD end-of-session statuses: only a completed session is over for good.
SESSION_END_STATES = {"Success": "completed", "Incomplete": "dropped", "Failed": "dropped"}
# Per-recipient status codes of the send API: accepted, refused for good, or worth another route.
ACCEPTED_CODES = {100, 101, 102}
PERMANENT_CODES = {403: "InvalidPhoneNumber", 404: "UnsupportedNumberType", 406: "UserInBlacklist",
                   409: "DoNotDisturbRejection"}
DATE_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%fZ")


def check_token(given: str | None, configured: str | None) -> None:
    """Refuse a callback whose ``token`` query parameter is not the configured one (constant time)."""
    if configured and not hmac.compare_digest((given or "").encode(), configured.encode()):
        raise WebhookError("missing or wrong token", status=403)


def _phone(value: str, field: str) -> str:
    try:
        return to_e164(value)
    except InvalidPhoneNumber as error:
        raise WebhookError(f"form field '{field}' is {error}") from None


def parse_date(value: str) -> datetime:
    for date_format in DATE_FORMATS:
        try:
            return datetime.strptime(value, date_format).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise WebhookError("form field 'date' is not a date like 2017-05-03T06:04:45Z or 2017-05-03 06:04:45")


def parse_ussd(form: Mapping[str, str]) -> UssdHop:
    session_id, service_code, phone = require_fields(form, "sessionId", "serviceCode", "phoneNumber")
    return UssdHop(
        gateway=USSD_GATEWAY,
        session_id=gateway_id(session_id, "sessionId"),
        service_code=service_code,
        phone=_phone(phone, "phoneNumber"),
        # `text` is empty on the first hop; keep it raw, a caller's answer may contain '*'.
        text=form.get("text") or "",
        network_code=form.get("networkCode") or None,
    )


def parse_ussd_end(form: Mapping[str, str]) -> UssdSessionEnd:
    session_id, status = require_fields(form, "sessionId", "status")
    if status not in SESSION_END_STATES:
        raise WebhookError(f"unknown session status '{status}'")
    phone = form.get("phoneNumber")
    return UssdSessionEnd(USSD_GATEWAY, gateway_id(session_id, "sessionId"), SESSION_END_STATES[status],
                          _phone(phone, "phoneNumber") if phone else None)


def parse_sms(form: Mapping[str, str]) -> InboundSms:
    sender, message_id = require_fields(form, "from", "id")
    if "text" not in form:
        raise WebhookError("missing form field 'text'")
    date = form.get("date")
    to = (form.get("to") or "").strip()
    return InboundSms(
        gateway=GATEWAY,
        message_id=gateway_id(message_id, "id"),
        sender=_phone(sender, "from"),
        text=form["text"],
        to=gateway_id(to, "to", MAX_ADDRESS_LENGTH) or None,
        sent_at=parse_date(date.strip()) if date and date.strip() else None,
    )


def parse_delivery(form: Mapping[str, str]) -> DeliveryReport:
    message_id, status = require_fields(form, "id", "status")
    if status not in DELIVERY_STATES:
        raise WebhookError(f"unknown delivery status '{status}'")
    return DeliveryReport(GATEWAY, gateway_id(message_id, "id"), DELIVERY_STATES[status],
                          gateway_note(form.get("failureReason")))


def render_ussd(text: str, continues: bool) -> str:
    """The USSD answer body: ``CON`` keeps the session open, ``END`` closes it."""
    return ("CON " if continues else "END ") + text


class AfricasTalkingProvider:
    """Sends SMS through the official SDK, pointed at ``AT_API_URL`` when it is set."""

    name = GATEWAY

    def __init__(self, config: Mapping[str, Any]):
        if not config.get("AT_USERNAME") or not config.get("AT_API_KEY"):
            raise ValueError("SMS_PROVIDERS names africastalking but AT_USERNAME or AT_API_KEY is not set")
        self._service = SMSService(config["AT_USERNAME"], config["AT_API_KEY"])
        if config.get("AT_API_URL"):
            # The SDK has no base-URL option; this attribute is where it keeps the API's root.
            self._service._baseUrl = config["AT_API_URL"].rstrip("/")
        self._sender_id = config.get("AT_SENDER_ID") or None
        timeout = float(config.get("HOTLINE_SMS_TIMEOUT") or 10)
        self._timeout = (min(3.05, timeout), timeout)

    def send(self, to: str, body: str, *, reference: str) -> SendResult:
        try:
            answer = self._service.send(body, [to], sender_id=self._sender_id, timeout=self._timeout)
        except ValueError as error:  # the SDK validates the number before sending
            raise PermanentSendError("InvalidPhoneNumber") from error
        except AfricasTalkingException as error:
            # The SDK keeps only the body of a non-2xx answer; a refused number comes back
            # as a 2xx with a per-recipient code, so any HTTP error is worth another route.
            raise TemporarySendError("HTTP error from Africa's Talking") from error
        except requests.RequestException as error:
            raise TemporarySendError(type(error).__name__) from error
        return _read_recipient(answer)


def _read_recipient(answer: Any) -> SendResult:
    try:
        recipient = answer["SMSMessageData"]["Recipients"][0]
        code = int(recipient["statusCode"])
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise TemporarySendError("unreadable answer") from error
    if code in ACCEPTED_CODES:
        return SendResult(GATEWAY, str(recipient["messageId"]), status=str(recipient.get("status", "Sent")))
    if code in PERMANENT_CODES:
        raise PermanentSendError(PERMANENT_CODES[code])
    raise TemporarySendError(f"{recipient.get('status', 'status')} ({code})")
