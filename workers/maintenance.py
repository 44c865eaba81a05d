"""Periodic upkeep: the daily anonymisation of personal data past its retention period."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy.orm import Session

from hotline.db import get_session
from hotline.models.types import utcnow
from hotline.retention import purge_personal_data
from workers.queue import schedule_job
from workers.registry import job

# Night in Mali (UTC+0): little traffic on the hotline.
PURGE_TIME = time(2, 0)


def schedule_purge(session: Session, night: date) -> None:
    """Book the purge of ``night`` (at PURGE_TIME); booking the same night again changes nothing."""
    due = datetime.combine(night, PURGE_TIME, tzinfo=UTC)
    schedule_job("purge_personal_data", night.isoformat(), key=f"purge:{night.isoformat()}", due_at=due,
                 session=session)


@job("purge_personal_data", queue="hotline-default", timeout=1800)
def purge_personal_data_job(night: str) -> None:
    """Anonymise what is older than HOTLINE_RETENTION_DAYS, then book the following night."""
    session = get_session()
    purge_personal_data(session, timedelta(days=current_app.config["HOTLINE_RETENTION_DAYS"]))
    schedule_purge(session, date.fromisoformat(night) + timedelta(days=1))
    session.commit()


def ensure_periodic_jobs() -> None:
    """Book the next purge at start-up (worker or embedded server), so a fresh database has one."""
    session = get_session()
    now = utcnow()
    night = now.date() if now.time() < PURGE_TIME else now.date() + timedelta(days=1)
    schedule_purge(session, night)
    session.commit()
