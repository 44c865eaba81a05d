"""The in-process queue of the embedded default: runs the same durable jobs on a thread, delays included."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time

from flask import Flask

from hotline.db import get_session
from hotline.models import DurableJob

log = logging.getLogger(__name__)


class EmbeddedQueue:
    """A timer heap fed by committed job rows, and one thread that runs what is due.

    The rows stay the truth: the heap only saves a database poll. The thread also
    runs the reconciler, so rows left by a previous run of the server are picked up.
    """

    name = "embedded"

    def __init__(self, app: Flask):
        self._app = app
        self._heap: list[tuple[float, int, str, int]] = []
        self._queued: set[str] = set()
        self._counter = itertools.count()
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._last_reconcile = 0.0

    # QueueBackend ---------------------------------------------------------------------------
    def push(self, job: DurableJob) -> None:
        with self._wakeup:
            if job.queue_job_id in self._queued:
                return
            self._queued.add(job.queue_job_id)
            heapq.heappush(self._heap, (job.due_at.timestamp(), next(self._counter), job.queue_job_id, job.id))
            self._wakeup.notify()

    def alive_job_ids(self, queue_job_ids: list[str]) -> set[str]:
        with self._wakeup:
            return {job_id for job_id in queue_job_ids if job_id in self._queued}

    def ping(self) -> None:
        if self._thread is not None and not self._thread.is_alive() and not self._stopping:
            raise RuntimeError("the in-process queue thread has stopped")

    # Running --------------------------------------------------------------------------------
    @property
    def reconcile_interval(self) -> float:
        return float(self._app.config["HOTLINE_RECONCILE_INTERVAL"])

    def start(self) -> None:
        """Start the runner thread (``hotline serve`` and WSGI servers without Redis)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run_forever, name="hotline-embedded-queue", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_due(self) -> int:
        """Reconcile, then run every job that is due now, on this thread; return how many ran."""
        self._reconcile()
        ran = 0
        while (entry := self._pop_due()) is not None:
            self._run(entry)
            ran += 1
        return ran

    def _run_forever(self) -> None:
        while not self._stopping:
            try:
                if time.monotonic() - self._last_reconcile >= self.reconcile_interval:
                    self._reconcile()
                entry = self._pop_due()
                if entry is not None:
                    self._run(entry)
                    continue
                with self._wakeup:
                    if not self._stopping:
                        self._wakeup.wait(self._seconds_until_next())
            except Exception:
                # The thread must outlive a database hiccup; the rows keep the work.
                log.exception("in-process queue pass failed")
                time.sleep(1)

    def _seconds_until_next(self) -> float:
        until_reconcile = self.reconcile_interval - (time.monotonic() - self._last_reconcile)
        if not self._heap:
            return max(0.05, until_reconcile)
        return max(0.01, min(self._heap[0][0] - time.time(), until_reconcile))

    def _pop_due(self) -> tuple[float, int, str, int] | None:
        with self._wakeup:
            if self._heap and self._heap[0][0] <= time.time():
                return heapq.heappop(self._heap)
        return None

    def _run(self, entry: tuple[float, int, str, int]) -> None:
        from workers.runner import run_durable_job

        _due, _seq, queue_job_id, row_id = entry
        try:
            with self._app.app_context():
                run_durable_job(row_id)
        finally:
            with self._wakeup:
                self._queued.discard(queue_job_id)

    def _reconcile(self) -> None:
        from workers.reconciler import reconcile

        self._last_reconcile = time.monotonic()
        with self._app.app_context():
            reconcile(get_session(), self)
