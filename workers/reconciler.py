"""Re-enqueues durable jobs that are due but have no live queue entry (Redis lost, worker killed)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hotline.models import DurableJob
from hotline.models.types import utcnow
from workers.queue import QueueBackend, push_to_queue

log = logging.getLogger(__name__)

# A just-committed row is pushed within milliseconds; give that push time to land.
FRESH_ROW_GRACE = timedelta(seconds=3)
# A running row whose worker has been silent this long past its timeout is presumed dead.
STALE_RUNNING_MARGIN = timedelta(seconds=30)
BATCH_SIZE = 500


def reconcile(session: Session, backend: QueueBackend) -> int:
    """Push every due row that the queue does not hold; return how many were pushed."""
    now = utcnow()
    _release_stale_running(session, now)
    due = session.scalars(
        select(DurableJob)
        .where(DurableJob.state == "pending", DurableJob.due_at <= now - FRESH_ROW_GRACE)
        .order_by(DurableJob.due_at)
        .limit(BATCH_SIZE)
    ).all()
    if not due:
        return 0
    alive = backend.alive_job_ids([row.queue_job_id for row in due])
    pushed = 0
    for row in due:
        if row.queue_job_id not in alive and push_to_queue(backend, row):
            pushed += 1
    if pushed:
        log.info("reconciler re-enqueued %s due jobs", pushed)
    return pushed


def _release_stale_running(session: Session, now) -> None:
    running = session.scalars(
        select(DurableJob).where(
            DurableJob.state == "running",
            or_(DurableJob.started_at.is_(None), DurableJob.started_at < now - STALE_RUNNING_MARGIN),
        )
    ).all()
    released = 0
    for row in running:
        if row.started_at and row.started_at + timedelta(seconds=row.timeout_seconds) > now - STALE_RUNNING_MARGIN:
            continue
        row.state = "pending" if row.attempts < row.max_attempts else "failed"
        row.last_error = f"worker lost during attempt {row.attempts}"
        released += 1
    if released:
        log.warning("reconciler released %s jobs whose worker died", released)
    session.commit()
