"""A screened situation, known by its short reference, with the risk and how it was reached."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base
from hotline.models.types import EncryptedJSON, EncryptedText, PortableJSON, UtcDateTime, utcnow


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_status_risk", "status", "risk_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version_id: Mapped[int | None] = mapped_column(ForeignKey("flow_versions.id"))
    language: Mapped[str | None] = mapped_column(String(8))
    reporter: Mapped[str] = mapped_column(String(16), default="victim")  # victim | witness
    risk_level: Mapped[str] = mapped_column(String(16))
    risk_score: Mapped[int] = mapped_column(Integer, default=0)
    danger_now: Mapped[bool] = mapped_column(Boolean, default=False)
    # Which answers produced which indicators and points: the risk is explainable.
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    risk_explanation: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    needs: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    # Answers can hold free text, so they are personal data.
    answers: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    place_code: Mapped[str | None] = mapped_column(String(32))
    region_code: Mapped[str | None] = mapped_column(String(32))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    age_band: Mapped[str | None] = mapped_column(String(16))
    sex: Mapped[str | None] = mapped_column(String(16))
    consent_callback: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_police: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | referred | unrouted | closed
    # Made by an operator in the console's simulator: routed as a dry run, never alerted, never counted.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(32))
    routing_explanation: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


