"""`hotline worker`: an RQ worker with RQ's scheduler that also runs the reconciler between jobs."""

from __future__ import annotations

import logging
import time

from flask import Flask
from redis.exceptions import RedisError
from rq import SimpleWorker

from hotline.db import get_session
from workers.maintenance import ensure_periodic_jobs
from workers.queue import get_queue
from workers.reconciler import reconcile
from workers.registry import QUEUE_NAMES, load_job_modules
from workers.runner import set_worker_app

log = logging.getLogger(__name__)

# RQ blocks on Redis for (worker_ttl - 15) seconds between maintenance passes.
_RQ_DEQUEUE_MARGIN = 15


class HotlineWorker(SimpleWorker):
    """RQ's worker, whose periodic maintenance also re-enqueues due jobs lost from Redis.

    Jobs run in the worker process itself rather than in a fork per job: the compiled flows,
    the gazetteer and the directory index stay warm between jobs (a fork would rebuild them
    for every job, about two seconds each), and a killed worker loses only the job it was on,
    which its durable row brings back.
    """

    hotline_app: Flask

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        try:
            with self.hotline_app.app_context():
                reconcile(get_session(), get_queue())
        except Exception:
            # The next pass tries again; the rows still hold every job.
            log.exception("reconciler pass failed")


def run_worker(app: Flask, *, burst: bool = False, name: str | None = None) -> None:
    """Serve the hotline queues until stopped (or until empty with ``burst``).

    RQ's worker quits when Redis goes away; this loop waits for Redis and serves again, so a
    Redis restart needs no one to restart the workers.
    """
    load_job_modules()
    set_worker_app(app)
    backend = get_queue()
    interval = max(1, int(app.config["HOTLINE_RECONCILE_INTERVAL"]))
    with app.app_context():
        ensure_periodic_jobs()
    generation = 0
    while True:
        worker = HotlineWorker(
            [backend.queue(queue_name) for queue_name in QUEUE_NAMES],
            connection=backend.connection,
            name=f"{name}-{generation}" if name and generation else name,
            maintenance_interval=interval,
            worker_ttl=interval + _RQ_DEQUEUE_MARGIN,
        )
        worker.hotline_app = app
        try:
            # A first pass at start-up picks up what was due while no worker ran.
            with app.app_context():
                reconcile(get_session(), backend)
            worker.work(with_scheduler=True, burst=burst)
        except RedisError:
            log.warning("Redis unavailable; the worker will serve again once it answers")
        # RQ marks a stop asked during a job with _stop_requested, and one asked while idle only
        # with the shutdown date: either way SIGTERM means stop, not serve again.
        if burst or worker._stop_requested or worker._shutdown_requested_date is not None:
            return
        _wait_for_redis(backend)
        generation += 1


def _wait_for_redis(backend) -> None:
    while True:
        try:
            backend.connection.ping()
            return
        except RedisError:
            time.sleep(1)
