"""Helpers for tests: subprocesses of the `hotline` command, free ports, polling."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hotline.config import TestSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOTLINE_BIN = str(Path(sys.executable).parent / "hotline")
# One schema and one Redis database per test run, so two runs on one machine never share state.
PG_SCHEMA = f"hotline_tests_{os.getpid()}"
PG_BASE_URL = os.environ.get("HOTLINE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
PG_URL = f"{PG_BASE_URL}?options=-csearch_path%3D{PG_SCHEMA}"
REDIS_TEST_URL = os.environ.get("HOTLINE_TEST_REDIS", f"redis://127.0.0.1:6379/{8 + os.getpid() % 6}")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hotline_env(**overrides: str | None) -> dict[str, str]:
    """The environment for a `hotline` subprocess: the test PII key and a fast reconciler."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    env.update(
        HOTLINE_PII_KEY=TestSettings.model_fields["HOTLINE_PII_KEY"].default,
        SECRET_KEY="test-secret-key-for-subprocesses",
        HOTLINE_RECONCILE_INTERVAL="1",
        PYTHONUNBUFFERED="1",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


class HotlineProcess:
    """A `hotline` subprocess (server or worker) that is always stopped at the end of the test."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [HOTLINE_BIN, *args], env=env, cwd=PROJECT_ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            # Its own process group: RQ's scheduler is a forked child that outlives a SIGKILLed worker.
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int | None = None) -> None:
        if self.process.poll() is None:
            if sig is None:
                self.process.terminate()
            else:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Whatever the process forked goes too, as when a supervisor stops a container.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


def wait_for(condition, timeout: float = 15.0, interval: float = 0.1, message: str = "condition"):
    """Poll ``condition`` until it returns a truthy value; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message}")


def run_jobs(app) -> None:
    """Run every job that is due now, on this thread, on either queue backend."""
    from rq import SimpleWorker
    from rq.scheduler import RQScheduler

    from workers.queue import get_queue
    from workers.registry import QUEUE_NAMES

    with app.app_context():
        backend = get_queue()
        if backend.name == "embedded":
            while backend.run_due():
                pass
            return
        for _ in range(20):  # a job may schedule more jobs (a reply after a message)
            # Move due delayed jobs now, as RQ's scheduler would; a burst worker's own scheduler
            # skips this when another scheduler still holds the lock.
            scheduler = RQScheduler(list(QUEUE_NAMES), connection=backend.connection)
            scheduler.prepare_registries(list(QUEUE_NAMES))
            scheduler.enqueue_scheduled_jobs()
            worker = SimpleWorker([backend.queue(name) for name in QUEUE_NAMES], connection=backend.connection)
            if not worker.work(burst=True):
                break
