"""The one way to schedule work: a durable row first, then a queue entry once the row is committed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.db import get_session
from hotline.models import DurableJob
from hotline.models.types import utcnow
from workers.registry import QUEUE_NAMES, job_spec

log = logging.getLogger(__name__)

EXTENSION_KEY = "hotline.queue"
_PENDING_PUSHES = "hotline.pending_pushes"


class QueueBackend(Protocol):
    """What the durable layer needs from a queue: push, ask what is alive, health."""

    name: str

    def push(self, job: DurableJob) -> None: ...

    def alive_job_ids(self, queue_job_ids: list[str]) -> set[str]: ...

    def ping(self) -> None: ...


def schedule_job(
    name: str,
    *args: Any,
    key: str,
    due_at: datetime | None = None,
    session: Session | None = None,
    queue: str | None = None,
) -> DurableJob:
    """Record that job ``name(*args)`` must run at ``due_at`` (default now), once per ``key``.

    ``queue`` overrides the job's own queue for this run (an alert's send goes ahead of replies).

    The row is added to the current transaction; the queue entry is pushed only after
    the caller commits, so a worker never sees work that was rolled back. Scheduling
    the same ``key`` again returns the existing row. Raises LookupError for an unknown job.
    """
    spec = job_spec(name)
    if queue is not None and queue not in QUEUE_NAMES:
        raise LookupError(f"no queue is named {queue!r}")
    session = session or get_session()
    existing = session.scalar(select(DurableJob).where(DurableJob.key == key))
    if existing is not None:
        return existing
    row = DurableJob(
        key=key,
        name=name,
        args=list(args),
        queue=queue or spec.queue,
        due_at=due_at or utcnow(),
        state="pending",
        attempts=0,
        max_attempts=spec.max_attempts or current_app.config["HOTLINE_JOB_MAX_ATTEMPTS"],
        timeout_seconds=spec.timeout,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another request scheduled the same key between our look-up and insert.
        return session.scalars(select(DurableJob).where(DurableJob.key == key)).one()
    push_after_commit(session, row)
    return row


def push_after_commit(session: Session, row: DurableJob) -> None:
    """Hand ``row`` to the queue once the session's transaction commits."""
    session.info.setdefault(_PENDING_PUSHES, []).append(row)


def get_queue() -> QueueBackend:
    return current_app.extensions[EXTENSION_KEY]


def push_to_queue(backend: QueueBackend, row: DurableJob) -> bool:
    """Push one committed row; a queue outage is logged, and the reconciler retries later."""
    try:
        backend.push(row)
        return True
    except Exception as error:  # the row is durable; losing the push loses nothing
        log.warning("job %s (%s) not pushed to the %s queue: %s", row.id, row.name, backend.name,
                    type(error).__name__)
        return False


def backoff_due_at(row: DurableJob) -> datetime:
    """When the next attempt of a failed row is due: the job's backoff, or HOTLINE_JOB_BACKOFF's."""
    override = current_app.config.get("HOTLINE_JOB_BACKOFF")
    if override:
        delays = [float(part) for part in override.split(",") if part.strip()]
        delay = delays[min(row.attempts, len(delays)) - 1]
    else:
        delay = job_spec(row.name).retry_delay(row.attempts)
    return utcnow() + timedelta(seconds=delay)


def init_app(app: Flask, sessionmaker) -> QueueBackend:
    """Choose RQ on Redis when ``REDIS_URL`` is set, the in-process queue otherwise."""
    if app.config.get("REDIS_URL"):
        from workers.rq_queue import RqQueue

        backend: QueueBackend = RqQueue(app.config["REDIS_URL"])
    else:
        from workers.embedded import EmbeddedQueue

        backend = EmbeddedQueue(app)
    app.extensions[EXTENSION_KEY] = backend

    @event.listens_for(sessionmaker, "after_commit")
    def _push_committed_jobs(session: Session) -> None:
        # SQLAlchemy fires after_commit when a SAVEPOINT is released too (schedule_job opens one), while
        # the real transaction is still open: pushing then lets a worker look for a row not yet committed.
        if session.in_nested_transaction():
            return
        for row in session.info.pop(_PENDING_PUSHES, []):
            push_to_queue(backend, row)

    @event.listens_for(sessionmaker, "after_rollback")
    def _forget_rolled_back_jobs(session: Session) -> None:
        session.info.pop(_PENDING_PUSHES, None)

    return backend
