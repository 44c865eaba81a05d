"""One session of a caller with a flow, on one channel, pinned to the flow version it began on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base
from hotline.models.types import EncryptedJSON, EncryptedText, UtcDateTime, utcnow


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("gateway", "gateway_session_id"),
        Index("ix_conversations_contact_status", "contact_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    channel: Mapped[str] = mapped_column(String(8))  # ussd | sms
    gateway: Mapped[str] = mapped_column(String(32))
    # The gateway's own session id (USSD); SMS conversations have none.
    gateway_session_id: Mapped[str | None] = mapped_column(String(128))
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version_id: Mapped[int | None] = mapped_column(ForeignKey("flow_versions.id"))
    # The engine's state holds answers, so it is personal data and encrypted.
    state: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    # USSD gateways resend every input joined by '*'; this many characters of it are consumed.
    ussd_text_consumed: Mapped[int] = mapped_column(Integer, default=0)
    # The last screen or SMS shown, to answer a gateway's retry of the same hop identically.
    last_reply: Mapped[str | None] = mapped_column(EncryptedText)
    last_reply_continues: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # active | completed | stopped | expired | dropped
    # Looked up for every new reference, so indexed; a resumed session shares its reference.
    case_reference: Mapped[str | None] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
