"""RQ on Redis as the queue backend: one RQ job per durable row attempt, delayed ones on RQ's scheduler."""

from __future__ import annotations

import time
from datetime import timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus

from hotline.models import DurableJob
from hotline.models.types import utcnow

# The reconciler asks only about rows already due. An entry still in RQ's scheduled registry then
# means no scheduler is moving it (a SIGKILLed worker's scheduler holds RQ's scheduler lock for a
# minute), so it does not count as alive and the row is enqueued directly.
ALIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED}
# RQ-level retries cover failures of the runner itself (database briefly down); a job
# function's own failures are retried by the durable row with its own backoff.
RUNNER_RETRY = Retry(max=3, interval=[5, 30, 120])


def connect_redis(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


# After a failed push, further pushes fail at once for this long instead of each waiting for
# a connection timeout: webhooks stay fast while Redis is down, and the reconciler catches up.
OUTAGE_BACKOFF_SECONDS = 5.0


class QueueUnavailable(ConnectionError):
    """Redis failed recently; the push was not tried."""


class RqQueue:
    name = "redis"

    def __init__(self, redis_url: str):
        self.connection = connect_redis(redis_url)
        self._down_until = 0.0

    def queue(self, name: str) -> Queue:
        return Queue(name, connection=self.connection)

    def push(self, job: DurableJob) -> None:
        from workers.runner import run_durable_job

        options = dict(
            job_id=job.queue_job_id,
            job_timeout=job.timeout_seconds,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            retry=RUNNER_RETRY,
            description=f"{job.name} (durable job {job.id})",
        )
        if time.monotonic() < self._down_until:
            raise QueueUnavailable("Redis failed moments ago")
        queue = self.queue(job.queue)
        try:
            if job.due_at > utcnow() + timedelta(milliseconds=500):
                # RQ's scheduler keeps whole seconds; rounding up keeps a delayed job from running early.
                run_at = job.due_at.replace(microsecond=0) + timedelta(seconds=1 if job.due_at.microsecond else 0)
                queue.enqueue_at(run_at, run_durable_job, job.id, **options)
            else:
                # A stalled scheduled entry of this row must not run it a second time later (the
                # row's claim would skip it anyway, but the queue should not hold it twice).
                queue.scheduled_job_registry.remove(job.queue_job_id)
                queue.enqueue(run_durable_job, job.id, **options)
        except RedisError:
            self._down_until = time.monotonic() + OUTAGE_BACKOFF_SECONDS
            raise

    def alive_job_ids(self, queue_job_ids: list[str]) -> set[str]:
        jobs = Job.fetch_many(queue_job_ids, connection=self.connection)
        return {job.id for job in jobs if job is not None and job.get_status(refresh=False) in ALIVE_STATUSES}

    def ping(self) -> None:
        self.connection.ping()
