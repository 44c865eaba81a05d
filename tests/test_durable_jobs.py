"""Durable jobs: rows first, queue entries after commit, retries with backoff, and the reconciler."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hotline import pii
from hotline.db import get_session
from hotline.models import DurableJob, OutboundMessage
from hotline.models.types import utcnow
from hotline.outbox import queue_sms
from tests.helpers import wait_for
from workers.queue import get_queue, schedule_job
from workers.reconciler import reconcile
from workers.registry import QUEUE_NAMES, job
from workers.runner import run_durable_job

calls: list[tuple] = []


@job("tests.record_call", queue="hotline-default", timeout=10, max_attempts=3, backoff=(5, 10))
def record_call(*args):
    """A job whose only effect is to be seen, and that fails when asked to."""
    calls.append(args)
    if args and args[0] == "fail":
        raise RuntimeError("asked to fail")


@pytest.fixture(autouse=True)
def _clear_calls():
    calls.clear()


def queued_sms(body: str = "Merci. Votre reference: K7M4Q") -> OutboundMessage:
    """An outbound message row, as the conversation service would leave it."""
    message = OutboundMessage(
        purpose="reply", to_phone="+22376000001", to_hash=pii.cipher().lookup_hash("+22376000001"),
        body=body, encoding="GSM-7", segments=1, state="queued",
    )
    get_session().add(message)
    get_session().flush()
    return message


def test_scheduling_the_same_key_twice_makes_one_row(embedded_app):
    """The idempotency key turns a second schedule into the first row."""
    with embedded_app.app_context():
        first = schedule_job("tests.record_call", 1, key="same-work")
        second = schedule_job("tests.record_call", 1, key="same-work")
        get_session().commit()
        assert first.id == second.id
        assert get_session().scalar(select(func.count()).select_from(DurableJob)) == 1


def test_unknown_job_names_are_refused(embedded_app):
    """Scheduling a name no module registered raises instead of writing a row that never runs."""
    with embedded_app.app_context(), pytest.raises(LookupError):
        schedule_job("no.such.job", key="x")


def test_nothing_is_queued_before_commit_or_after_rollback(embedded_app):
    """A worker never sees work whose transaction did not commit."""
    with embedded_app.app_context():
        queue = get_queue()
        row = schedule_job("tests.record_call", 1, key="rolled-back")
        assert queue.alive_job_ids([row.queue_job_id]) == set()
        get_session().rollback()
        assert queue.alive_job_ids([row.queue_job_id]) == set()
        kept = schedule_job("tests.record_call", 2, key="committed")
        get_session().commit()
        assert queue.alive_job_ids([kept.queue_job_id]) == {kept.queue_job_id}


def test_scheduling_more_work_in_the_same_transaction_pushes_nothing_before_commit(app):
    """A second schedule_job (its savepoint released) does not push the first row before the transaction commits."""
    with app.app_context():
        queue = get_queue()
        first = schedule_job("tests.record_call", 1, key="first-of-two")
        second = schedule_job("tests.record_call", 2, key="second-of-two")
        get_session().flush()
        assert queue.alive_job_ids([first.queue_job_id, second.queue_job_id]) == set()
        get_session().commit()
        assert queue.alive_job_ids([first.queue_job_id, second.queue_job_id]) == {first.queue_job_id,
                                                                                   second.queue_job_id}


def test_alert_sends_go_on_the_referrals_queue_ahead_of_replies(embedded_app):
    """An alert's send job is queued on the queue workers serve first; a reply's stays on the SMS queue."""
    with embedded_app.app_context():
        alert = queue_sms("+22320000101", "ALERTE TRAITE", purpose="alert")
        reply = queue_sms("+22376000001", "Merci", purpose="reply")
        get_session().commit()
        queues = dict(get_session().execute(select(DurableJob.key, DurableJob.queue)).all())
        assert queues == {f"send_sms:{alert.id}": QUEUE_NAMES[0], f"send_sms:{reply.id}": "hotline-sms"}
        assert QUEUE_NAMES[0] == "hotline-referrals"
        with pytest.raises(LookupError):
            schedule_job("tests.record_call", key="nowhere", queue="no-such-queue")


def test_embedded_queue_runs_a_job_once(embedded_app):
    """The in-process queue runs a committed job; running its row again does nothing."""
    with embedded_app.app_context():
        row = schedule_job("tests.record_call", "hello", key="once")
        get_session().commit()
        assert get_queue().run_due() == 1
        assert calls == [("hello",)]
        assert run_durable_job(row.id) == "skipped"
        get_session().refresh(row)
        assert row.state == "done"
        assert calls == [("hello",)]


def test_failed_attempts_retry_with_backoff_then_fail(embedded_app):
    """A failing job is retried after its backoff and marked failed after its last attempt."""
    with embedded_app.app_context():
        row = schedule_job("tests.record_call", "fail", key="flaky")
        get_session().commit()
        assert run_durable_job(row.id) == "retry"
        get_session().refresh(row)
        assert (row.state, row.attempts) == ("pending", 1)
        assert row.last_error == "RuntimeError on attempt 1"
        assert row.due_at > utcnow() + timedelta(seconds=4)
        assert run_durable_job(row.id) == "skipped"  # not due yet: the backoff holds
        for _attempt in (2, 3):
            row.due_at = utcnow()
            get_session().commit()
            run_durable_job(row.id)
        get_session().refresh(row)
        assert (row.state, row.attempts) == ("failed", 3)
        assert len(calls) == 3


def test_embedded_thread_runs_a_delayed_job_at_its_time(embedded_app):
    """A job due in 1.5 s is not run early and is run by the in-process thread once due."""
    with embedded_app.app_context():
        message = queued_sms()
        row = schedule_job("send_sms", message.id, key="delayed", due_at=utcnow() + timedelta(seconds=1.5))
        get_session().commit()
        queue = get_queue()
        queue.start()
        try:
            wait_for(lambda: queue.running, message="the queue thread")
            get_session().expire_all()
            assert get_session().get(OutboundMessage, message.id).state == "queued"
            wait_for(lambda: _state(OutboundMessage, message.id) == "sent", timeout=10, message="the delayed send")
            assert _state(DurableJob, row.id) == "done"
        finally:
            queue.stop()


def test_embedded_restart_picks_up_rows_left_by_the_previous_process(embedded_app, tmp_path):
    """Rows committed by a server that stopped before running them are run by the next start."""
    from hotline import create_app

    with embedded_app.app_context():
        message = queued_sms()
        schedule_job("send_sms", message.id, key="left-behind")
        get_session().commit()
        message_id = message.id
    restarted = create_app({"TESTING": True, "DATABASE_URL": embedded_app.config["DATABASE_URL"],
                            "INSTANCE_PATH": str(tmp_path / "instance2")})
    with restarted.app_context():
        ran = _wait_for_reconciled_run(restarted)
        assert ran == 1
        assert _state(OutboundMessage, message_id) == "sent"
        assert get_session().get(OutboundMessage, message_id).provider == "console"


def _wait_for_reconciled_run(app) -> int:
    # The reconciler leaves rows younger than its grace to the push that follows a commit.
    from workers import reconciler

    grace, reconciler.FRESH_ROW_GRACE = reconciler.FRESH_ROW_GRACE, timedelta(0)
    try:
        return get_queue().run_due()
    finally:
        reconciler.FRESH_ROW_GRACE = grace


def test_reconciler_pushes_due_rows_the_queue_lost(services_app):
    """A due row whose Redis entry vanished is pushed again by the reconciler, once."""
    from redis import Redis

    with services_app.app_context():
        row = schedule_job("tests.record_call", 7, key="lost", due_at=utcnow() - timedelta(seconds=10))
        get_session().commit()
        queue = get_queue()
        assert queue.alive_job_ids([row.queue_job_id]) == {row.queue_job_id}
        Redis.from_url(services_app.config["REDIS_URL"]).flushdb()
        assert queue.alive_job_ids([row.queue_job_id]) == set()
        assert reconcile(get_session(), queue) == 1
        assert queue.alive_job_ids([row.queue_job_id]) == {row.queue_job_id}
        assert reconcile(get_session(), queue) == 0


def test_reconciler_releases_rows_whose_worker_died(app):
    """A row left running past its timeout is made pending again and pushed."""
    with app.app_context():
        row = schedule_job("tests.record_call", 8, key="orphan")
        get_session().commit()
        row.state, row.attempts, row.started_at = "running", 1, utcnow() - timedelta(minutes=5)
        row.due_at = utcnow() - timedelta(minutes=5)
        get_session().commit()
        assert reconcile(get_session(), get_queue()) == 1
        get_session().refresh(row)
        assert row.state == "pending"
        assert row.last_error == "worker lost during attempt 1"


def _state(model, row_id):
    session = get_session()
    session.expire_all()
    return session.get(model, row_id).state
