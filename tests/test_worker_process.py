"""A real `hotline worker` process on real Redis and PostgreSQL runs durable jobs, delayed and lost ones too."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from redis import Redis

from hotline import pii
from hotline.db import get_session
from hotline.models import DurableJob, OutboundMessage
from hotline.models.types import utcnow
from tests.helpers import hotline_env, wait_for
from workers.queue import schedule_job


@pytest.fixture
def worker(services_app, run_hotline, tmp_path):
    """One `hotline worker` process on the test database and Redis."""
    env = hotline_env(DATABASE_URL=services_app.config["DATABASE_URL"], REDIS_URL=services_app.config["REDIS_URL"],
                      HOTLINE_INSTANCE_PATH=str(tmp_path))
    process = run_hotline("worker", "--name", f"test-{time.monotonic_ns()}", env=env)
    yield process
    process.stop()
    assert "Traceback" not in process.output(), process.output()


def schedule_sms(due_at=None) -> tuple[int, int]:
    session = get_session()
    message = OutboundMessage(purpose="reply", to_phone="+22376000002", body="Merci",
                              to_hash=pii.cipher().lookup_hash("+22376000002"), state="queued")
    session.add(message)
    session.flush()
    row = schedule_job("send_sms", message.id, key=f"send_sms:{message.id}", due_at=due_at)
    session.commit()
    return message.id, row.id


def state_of(model, row_id):
    session = get_session()
    session.expire_all()
    return session.get(model, row_id)


def test_an_idle_worker_stops_on_sigterm(services_app, worker):
    """SIGTERM to a worker waiting for work ends the process cleanly (a deploy's stop), not a new serving loop."""
    wait_for(lambda: "Listening on" in worker.output(), timeout=20,
             message=f"the worker to wait for work; its log:\n{worker.output()}")
    time.sleep(0.5)
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(timeout=10) == 0, worker.output()


def test_worker_process_runs_a_job(services_app, worker):
    """A send job scheduled through the helper is run by the worker process."""
    with services_app.app_context():
        message_id, job_id = schedule_sms()
        wait_for(lambda: state_of(OutboundMessage, message_id).state == "sent", timeout=20,
                 message=f"the worker to send; its log:\n{worker.output()}")
        assert state_of(DurableJob, job_id).state == "done"
        assert state_of(OutboundMessage, message_id).provider_message_id == f"console-{message_id}"


def test_worker_process_runs_a_delayed_job_at_its_time(services_app, worker):
    """A job due in 3 s waits on RQ's scheduler and is run once due, not before."""
    with services_app.app_context():
        due = utcnow() + timedelta(seconds=3)
        message_id, _ = schedule_sms(due_at=due)
        time.sleep(1.5)
        assert state_of(OutboundMessage, message_id).state == "queued"
        wait_for(lambda: state_of(OutboundMessage, message_id).state == "sent", timeout=20,
                 message="the delayed send")
        assert state_of(OutboundMessage, message_id).sent_at >= due


def test_job_lost_from_redis_runs_after_the_reconciler_pass(services_app, worker):
    """Flushing Redis after scheduling loses the queue entry, not the job: the reconciler re-enqueues it."""
    with services_app.app_context():
        message_id, job_id = schedule_sms(due_at=utcnow() + timedelta(seconds=2))
        Redis.from_url(services_app.config["REDIS_URL"]).flushdb()
        wait_for(lambda: state_of(OutboundMessage, message_id).state == "sent", timeout=30,
                 message=f"the reconciler to recover the job; worker log:\n{worker.output()}")
        row = state_of(DurableJob, job_id)
        assert (row.state, row.attempts) == ("done", 1)
