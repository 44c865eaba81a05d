"""Queueing outbound SMS: one row per message (encoding and segments known), one send job per row."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.sms_text import sms_encoding
from hotline import pii
from hotline.db import get_session
from hotline.models import OutboundMessage
from workers.queue import schedule_job

# Alerts to providers leave before replies to callers: RQ serves the referrals queue first.
URGENT_PURPOSES = frozenset({"alert"})


def queue_sms(
    to_phone: str,
    body: str,
    *,
    purpose: str,
    contact_id: int | None = None,
    conversation_id: int | None = None,
    in_reply_to_id: int | None = None,
    session: Session | None = None,
) -> OutboundMessage:
    """Record an SMS to the E.164 number ``to_phone`` and schedule its send job.

    Nothing leaves until the caller commits.
    """
    session = session or get_session()
    encoding = sms_encoding(body)
    message = OutboundMessage(
        purpose=purpose,
        to_phone=to_phone,
        to_hash=pii.cipher().lookup_hash(to_phone),
        body=body,
        encoding=encoding.encoding,
        segments=encoding.segments,
        contact_id=contact_id,
        conversation_id=conversation_id,
        in_reply_to_id=in_reply_to_id,
        state="queued",
    )
    session.add(message)
    session.flush()
    schedule_job("send_sms", message.id, key=f"send_sms:{message.id}", session=session,
                 queue="hotline-referrals" if purpose in URGENT_PURPOSES else None)
    return message


def console_outbox(limit: int = 50) -> list[OutboundMessage]:
    """The newest messages the console provider kept, newest first."""
    return list(
        get_session().scalars(
            select(OutboundMessage)
            .where(OutboundMessage.provider == "console")
            .order_by(OutboundMessage.id.desc())
            .limit(limit)
        )
    )
