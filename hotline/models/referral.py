"""A case handed to one provider, and the SMS alerts sent to its staff about it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base
from hotline.models.types import EncryptedText, PortableJSON, UtcDateTime, utcnow


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_status_deadline", "status", "deadline_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))  # shelter | police | child_protection | national_desk ...
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # pending | alerted | accepted | declined | expired | closed | unrouted
    # Escalation state: the contact alerted last, how many providers of this role were tried,
    # and the ranked candidates (provider codes) the routing decision kept for this role.
    contact_position: Mapped[int] = mapped_column(Integer, default=0)
    providers_tried: Mapped[int] = mapped_column(Integer, default=1)
    ranked: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    # Counts alerts sent for this referral; an escalation job acts only for the alert it follows.
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    distance_km: Mapped[float | None]
    reason: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON)
    # The referral this one took over from (escalation), if any.
    escalated_from_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"))
    # Staff write the reason freely, so it may name people: personal data.
    decline_reason: Mapped[str | None] = mapped_column(EncryptedText)
    deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    provider_contact_id: Mapped[int | None] = mapped_column(ForeignKey("provider_contacts.id"))
    outbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
