"""SMS and USSD messages in and out, each unique by the gateway's own id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base
from hotline.models.types import EncryptedText, UtcDateTime, utcnow


class InboundMessage(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (
        # Gateways retry: the same provider message id twice is one message.
        UniqueConstraint("gateway", "gateway_message_id"),
        Index("ix_inbound_messages_state_received", "state", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(32))
    gateway_message_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(8))  # sms | ussd
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    body: Mapped[str | None] = mapped_column(EncryptedText)
    to_address: Mapped[str | None] = mapped_column(String(32))
    gateway_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="received")
    # received | processed | ignored | failed
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OutboundMessage(Base):
    __tablename__ = "outbound_messages"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id"),
        Index("ix_outbound_messages_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # reply | alert | confirmation | staff_reply
    to_phone: Mapped[str] = mapped_column(EncryptedText)
    to_hash: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str | None] = mapped_column(EncryptedText)
    encoding: Mapped[str] = mapped_column(String(8), default="GSM-7")
    segments: Mapped[int] = mapped_column(Integer, default=1)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    # queued | sending | sent | delivered | failed | suppressed
    failure_reason: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
