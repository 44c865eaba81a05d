"""A job that must happen (a reply, an alert, an escalation): the row is the truth, the queue the means."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.models.base import Base
from hotline.models.types import PortableJSON, UtcDateTime, utcnow

JOB_STATES = ("pending", "running", "done", "failed", "cancelled")


class DurableJob(Base):
    __tablename__ = "durable_jobs"
    __table_args__ = (Index("ix_durable_jobs_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Idempotency key: scheduling the same work twice yields one row.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    args: Mapped[list[Any]] = mapped_column(PortableJSON, default=list)
    queue: Mapped[str] = mapped_column(String(32), default="default")
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=60)
    last_error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def queue_job_id(self) -> str:
        """The deterministic queue id of this row's current attempt."""
        return f"hotline-job-{self.id}-{self.attempts}"
