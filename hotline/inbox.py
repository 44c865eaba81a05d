"""Inbound SMS and delivery reports: stored once per gateway id, throttled per number, then queued."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.channels.inbound import DeliveryReport, InboundSms
from hotline.contacts import find_or_create_contact, retry_on_conflict
from hotline.db import get_session
from hotline.models import InboundMessage, OutboundMessage
from hotline.models.types import utcnow
from hotline.referrals import is_staff_number
from workers.queue import schedule_job

log = logging.getLogger(__name__)

# A report never moves a message backwards (a late "sent" after "delivered").
_DELIVERY_RANK = {"queued": 0, "sending": 1, "sent": 2, "failed": 3, "delivered": 4}


@dataclass(frozen=True)
class Received:
    message: InboundMessage
    duplicate: bool
    throttled: bool


def _existing(session: Session, gateway: str, message_id: str) -> InboundMessage | None:
    return session.scalar(select(InboundMessage).where(
        InboundMessage.gateway == gateway, InboundMessage.gateway_message_id == message_id))


def receive_sms(sms: InboundSms) -> Received:
    """Store ``sms`` once and queue its processing; a repeat of the same gateway id changes nothing.

    Commits before returning, so an answer of 200 to the gateway means the message is kept.
    A concurrent delivery of the same message or first message of the same number loses the
    race on a unique index, and is run again to find the winner's rows.
    """
    session = get_session()
    return retry_on_conflict(lambda: _store_sms(session, sms), session)


def _store_sms(session: Session, sms: InboundSms) -> Received:
    existing = _existing(session, sms.gateway, sms.message_id)
    if existing is not None:
        return Received(existing, duplicate=True, throttled=existing.state == "throttled")
    contact = find_or_create_contact(session, sms.sender)
    message = InboundMessage(gateway=sms.gateway, gateway_message_id=sms.message_id, channel="sms",
                             contact_id=contact.id, body=sms.text, to_address=sms.to,
                             gateway_sent_at=sms.sent_at, state="received")
    session.add(message)
    session.flush()
    throttled = _is_flooding(session, contact.id)
    if throttled:
        # Kept, so nothing acknowledged is lost, but not answered: the flood gets no replies.
        message.state = "throttled"
        log.warning("contact %s throttled: more than %s SMS a minute", contact.id,
                    current_app.config["HOTLINE_SMS_PER_MINUTE"])
    else:
        # Staff answers (OK, NON) race their referral's escalation deadline, which is served on the
        # referrals queue: behind a backlog of callers' messages an OK came after the escalation.
        schedule_job("process_caller_sms", contact.id, key=f"sms-in:{message.id}", session=session,
                     queue="hotline-referrals" if is_staff_number(session, sms.sender) else None)
    session.commit()
    return Received(message, duplicate=False, throttled=throttled)


def _is_flooding(session: Session, contact_id: int) -> bool:
    since = utcnow() - timedelta(minutes=1)
    recent = session.scalar(select(func.count()).select_from(InboundMessage).where(
        InboundMessage.contact_id == contact_id, InboundMessage.channel == "sms",
        InboundMessage.received_at >= since))
    return recent > current_app.config["HOTLINE_SMS_PER_MINUTE"]


def record_delivery(report: DeliveryReport) -> bool:
    """Apply a delivery report to its outbound message; return False when no message has that id."""
    session = get_session()
    message = session.scalar(select(OutboundMessage).where(
        OutboundMessage.provider == report.provider,
        OutboundMessage.provider_message_id == report.provider_message_id))
    if message is None:
        log.info("delivery report for an unknown %s message", report.provider)
        return False
    if _DELIVERY_RANK[report.state] > _DELIVERY_RANK.get(message.state, 0):
        message.state = report.state
        if report.state == "delivered":
            message.delivered_at = utcnow()
        if report.state == "failed":
            message.failure_reason = (report.reason or "failed at the gateway")[:255]
    session.commit()
    return True
