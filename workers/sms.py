"""The send job: outbound SMS rows, tried through each configured provider in order, one caller at a time."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select

from hotline import pii
from hotline.channels.base import PermanentSendError, SmsProvider, TemporarySendError
from hotline.channels.registry import build_providers
from hotline.db import get_session
from hotline.locks import caller_lock
from hotline.models import Contact, InboundMessage, OutboundMessage
from hotline.models.types import utcnow
from workers.registry import job

log = logging.getLogger(__name__)

_PROVIDERS_KEY = "hotline.sms_providers"


def sms_providers() -> list[SmsProvider]:
    """The application's providers, built once (SDK clients keep their connection pools)."""
    app = current_app._get_current_object()
    if _PROVIDERS_KEY not in app.extensions:
        app.extensions[_PROVIDERS_KEY] = build_providers(app.config)
    return app.extensions[_PROVIDERS_KEY]


@job("send_sms", queue="hotline-sms", timeout=120)
def send_sms(outbound_id: int) -> None:
    """Send one queued message, after any older queued message to the same number.

    Never sends a message twice: only a row in state ``queued`` is sent, and it is marked
    ``sending`` before the provider is called. Raises TemporarySendError when no provider
    took a message for now, so the job is retried with backoff.
    """
    session = get_session()
    message = session.get(OutboundMessage, outbound_id)
    if message is None or message.state != "queued":
        return
    # Messages to one number leave in the order they were written, even with many workers.
    with caller_lock(f"sms-out:{message.to_hash}"):
        session.expire_all()
        waiting = session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.to_hash == message.to_hash, OutboundMessage.state == "queued",
                   OutboundMessage.id <= outbound_id)
            .order_by(OutboundMessage.id)
        ).all()
        for earlier in waiting:
            _send_one(earlier)


def _in_preferred_order(message: OutboundMessage) -> list[SmsProvider]:
    """The providers, with the gateway the caller wrote through first: a reply comes from where they wrote."""
    providers = sms_providers()
    if message.in_reply_to_id is None:
        return providers
    inbound = get_session().get(InboundMessage, message.in_reply_to_id)
    return sorted(providers, key=lambda provider: provider.name != inbound.gateway)


def _opted_out(message: OutboundMessage) -> bool:
    if message.purpose == "confirmation":
        return False
    hashes = pii.cipher().lookup_hashes(message.to_phone)
    contact = get_session().scalar(select(Contact).where(Contact.phone_hash.in_(hashes)))
    return contact is not None and contact.opted_out_at is not None


def _send_one(message: OutboundMessage) -> None:
    session = get_session()
    if _opted_out(message):
        message.state, message.failure_reason = "suppressed", "number opted out (STOP)"
        session.commit()
        return
    message.state = "sending"
    message.attempts += 1
    session.commit()

    reasons = []
    for provider in _in_preferred_order(message):
        try:
            result = provider.send(message.to_phone, message.body or "", reference=str(message.id))
        except PermanentSendError as error:
            message.state, message.failure_reason = "failed", f"{provider.name}: {error.reason}"[:255]
            session.commit()
            log.warning("message %s refused by %s: %s", message.id, provider.name, error.reason)
            return
        except TemporarySendError as error:
            reasons.append(f"{provider.name}: {error.reason}")
            log.warning("message %s not taken by %s: %s", message.id, provider.name, error.reason)
            continue
        message.state, message.provider = "sent", result.provider
        message.provider_message_id, message.sent_at = result.provider_message_id, utcnow()
        message.failure_reason = None
        session.commit()
        return

    message.state, message.failure_reason = "queued", "; ".join(reasons)[:255]
    session.commit()
    raise TemporarySendError("no provider took the message")
