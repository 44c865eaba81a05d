"""The named jobs the queue can run, each with its queue, timeout and retry policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

QUEUE_NAMES = ("hotline-referrals", "hotline-sms", "hotline-default")
"""Queues in the order a worker serves them (RQ serves strictly in this order): first routing,
escalations and the alerts they send, since a person may be in danger while they wait; then
callers' messages and the replies to them; then housekeeping."""

# Seconds to wait before attempt 2, 3, ...; the last figure repeats.
DEFAULT_BACKOFF = (10, 30, 90, 300, 900)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[..., Any]
    queue: str
    timeout: int
    max_attempts: int | None
    backoff: tuple[int, ...]

    def retry_delay(self, attempts_made: int) -> int:
        """Seconds to wait after ``attempts_made`` failed attempts."""
        return self.backoff[min(attempts_made, len(self.backoff)) - 1]


JOBS: dict[str, JobSpec] = {}


def job(
    name: str,
    *,
    queue: str = "hotline-default",
    timeout: int = 60,
    max_attempts: int | None = None,
    backoff: tuple[int, ...] = DEFAULT_BACKOFF,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a job function under ``name``; its arguments must be plain JSON values."""
    if queue not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {queue!r}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if name in JOBS and JOBS[name].func is not func:
            raise ValueError(f"job {name!r} is registered twice")
        JOBS[name] = JobSpec(name, func, queue, timeout, max_attempts, backoff)
        return func

    return register


def job_spec(name: str) -> JobSpec:
    load_job_modules()
    try:
        return JOBS[name]
    except KeyError:
        raise LookupError(f"no job is registered as {name!r}") from None


def load_job_modules() -> None:
    """Import the modules that register jobs, so a worker knows every name."""
    from workers import conversations, maintenance, referrals, sms  # noqa: F401
