"""Shelters, police units and other services that take referrals, and their staff contacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.models.base import Base
from hotline.models.types import EncryptedText, PortableJSON, UtcDateTime, utcnow


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The directory's stable id (e.g. "ajdm-bamako"), used by imports and the routing engine.
    code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    latitude: Mapped[float]
    longitude: Mapped[float]
    place_code: Mapped[str | None] = mapped_column(String(80))
    serves: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    services: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    # Free beds now; None when the provider has not reported.
    beds_free: Mapped[int | None] = mapped_column(Integer)
    # Opening hours as operators write them ("24/7", "mon-fri 08:00-17:00"), in Africa/Bamako time.
    hours: Mapped[str] = mapped_column(String(200), default="24/7")
    languages: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    publishes_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    contacts: Mapped[list[ProviderContact]] = relationship(
        back_populates="provider", order_by="ProviderContact.position"
    )


class ProviderContact(Base):
    __tablename__ = "provider_contacts"
    __table_args__ = (UniqueConstraint("provider_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    # Escalation order: 0 is alerted first.
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(EncryptedText)
    phone: Mapped[str] = mapped_column(EncryptedText)
    phone_hash: Mapped[str] = mapped_column(String(64), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    provider: Mapped[Provider] = relationship(back_populates="contacts")
