"""Runs one durable job row: claims it, calls its function, and records success or the next retry."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, current_app, has_app_context
from sqlalchemy import update

from hotline.db import get_session
from hotline.models import DurableJob
from hotline.models.types import utcnow
from workers.queue import backoff_due_at, push_after_commit
from workers.registry import job_spec

log = logging.getLogger(__name__)

# A row may be run this early: clocks of web and worker hosts drift a little.
EARLY_TOLERANCE = timedelta(seconds=1)

_worker_app: Flask | None = None


def set_worker_app(app: Flask) -> None:
    """Give a worker process the application its jobs run in."""
    global _worker_app
    _worker_app = app


def _app() -> Flask:
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _worker_app is None:
        # A plain `rq worker` process: build the application from the environment once.
        from hotline.app import create_app

        _worker_app = create_app({"HOTLINE_EMBEDDED_WORKER": False})
    return _worker_app


def run_durable_job(job_id: int) -> str:
    """Run the job row ``job_id`` if it is pending and due; return what happened.

    Safe to call twice or concurrently: only one caller can claim a pending row.
    """
    with _app().app_context():
        return _claim_and_run(job_id)


def _claim_and_run(job_id: int) -> str:
    session = get_session()
    now = utcnow()
    claimed = session.execute(
        update(DurableJob)
        .where(
            DurableJob.id == job_id,
            DurableJob.state == "pending",
            DurableJob.due_at <= now + EARLY_TOLERANCE,
        )
        .values(state="running", attempts=DurableJob.attempts + 1, started_at=now)
        .returning(DurableJob.name, DurableJob.args)
    ).one_or_none()
    session.commit()
    if claimed is None:
        return "skipped"
    name, args = claimed
    try:
        job_spec(name).func(*args)
    except Exception as error:
        session.rollback()
        return _record_failure(job_id, error)
    session.execute(update(DurableJob).where(DurableJob.id == job_id)
                    .values(state="done", finished_at=utcnow(), last_error=None))
    session.commit()
    return "done"


def _record_failure(job_id: int, error: Exception) -> str:
    session = get_session()
    row = session.get(DurableJob, job_id)
    # Exception text can quote personal data, so only its type is kept.
    row.last_error = f"{type(error).__name__} on attempt {row.attempts}"
    if row.attempts >= row.max_attempts:
        row.state, row.finished_at = "failed", utcnow()
        outcome = "failed"
        log.error("job %s (%s) failed for good after %s attempts: %s",
                  row.id, row.name, row.attempts, type(error).__name__, exc_info=error)
    else:
        row.state, row.due_at = "pending", backoff_due_at(row)
        push_after_commit(session, row)
        outcome = "retry"
        log.warning("job %s (%s) attempt %s failed (%s); next try at %s",
                    row.id, row.name, row.attempts, type(error).__name__, row.due_at.isoformat(),
                    exc_info=error)
    session.commit()
    return outcome


def run_job_now(name: str, *args) -> None:
    """Call a registered job function directly (for the CLI), outside the queue."""
    job_spec(name).func(*args)
