"""Faults while 1,000 SMS flow: Redis lost, a worker killed, the gateway failing, duplicates, a flood.

Afterwards nothing acknowledged is lost, no reply is sent twice, and every reply goes out in order.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline import create_app
from hotline.db import get_session
from hotline.models import Base, DurableJob, InboundMessage, OutboundMessage
from tests.conftest import gateway_settings
from tests.fault_tools import CuttableLink, PrivateRedis
from tests.gateway_requests import send_at_sms
from tests.helpers import hotline_env, wait_for

CALLERS = 196
MESSAGES_PER_CALLER = 5
FLOOD_NUMBER = "+22379999999"
FLOOD_SIZE = 40
ANSWERS = ["AIDE", "1", "1", "2", "3"]


def record(section: str, figures: dict) -> None:
    """Add figures to the reliability report when bench/reliability_report.py asked for them."""
    path = os.environ.get("HOTLINE_RELIABILITY_OUT")
    if not path:
        return
    report = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    report[section] = figures
    Path(path).write_text(json.dumps(report, indent=2, default=str))


def caller(index: int) -> str:
    return f"+2237{7000000 + index:07d}"


@pytest.fixture
def private_redis(tmp_path):
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def fault_app(postgres_schema, private_redis, fake_gateway, tmp_path):
    settings = {**gateway_settings(fake_gateway, "africastalking,twilio"), "HOTLINE_JOB_BACKOFF": "1,1,2,2,3",
                "HOTLINE_JOB_MAX_ATTEMPTS": 20}
    app = create_app({"TESTING": True, "DATABASE_URL": postgres_schema, "REDIS_URL": private_redis.url,
                      "INSTANCE_PATH": str(tmp_path / "instance"), **settings})
    _empty_tables(app)
    app.fault_env = hotline_env(DATABASE_URL=postgres_schema, REDIS_URL=private_redis.url,
                                HOTLINE_INSTANCE_PATH=str(tmp_path), **{k: str(v) for k, v in settings.items()})
    yield app
    app.extensions["hotline.db"].engine.dispose()


def _empty_tables(app) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with app.extensions["hotline.db"].engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def count(model, *where) -> int:
    return get_session().scalar(select(func.count()).select_from(model).where(*where))


def settled(app) -> bool:
    with app.app_context():
        session = get_session()
        session.expire_all()
        return (count(InboundMessage, InboundMessage.state == "received") == 0
                and count(OutboundMessage, OutboundMessage.state == "queued") == 0
                and count(DurableJob, DurableJob.state.in_(("pending", "running")),
                          DurableJob.name != "purge_personal_data") == 0)


@pytest.mark.timeout(420)
def test_nothing_is_lost_or_doubled_through_faults(fault_app, private_redis, fake_gateway, run_hotline):
    """1,000 SMS from 196 callers and a flood, through Redis loss, a SIGKILLed worker, gateway errors and duplicates."""
    app = fault_app
    client = app.test_client()
    name = iter(range(100))
    workers = [run_hotline("worker", "--name", f"fault-{next(name)}-{time.monotonic_ns()}", env=app.fault_env)
               for _ in range(2)]
    acknowledged: list[str] = []
    started = time.monotonic()
    events: list[str] = []
    traffic = [(caller(i), ANSWERS[step], f"ATX-{i}-{step}") for step in range(MESSAGES_PER_CALLER)
               for i in range(CALLERS)]
    for number, (sender, text, message_id) in enumerate(traffic):
        if number == 150:
            private_redis.stop()  # Redis lost: webhooks must keep answering, jobs wait in the database
            events.append(f"{time.monotonic() - started:.1f}s: Redis killed (message 150)")
        if number == 300:
            private_redis.start()  # back, empty: the reconciler re-enqueues what it lost
            events.append(f"{time.monotonic() - started:.1f}s: Redis restarted empty (message 300)")
        if number == 420:
            workers[0].stop(signal.SIGKILL)  # a worker killed in the middle of whatever it was doing
            workers.append(run_hotline("worker", "--name", f"fault-{next(name)}", env=app.fault_env))
            events.append(f"{time.monotonic() - started:.1f}s: a worker SIGKILLed, a new one started (message 420)")
        if number == 500:
            fake_gateway.script["africastalking"] = ["error-5xx"] * 10 + ["429"] * 5 + ["hang"] * 3
            fake_gateway.script["twilio"] = ["error-5xx"] * 8 + ["429"] * 4
            fake_gateway.hang_seconds = 2
            events.append(f"{time.monotonic() - started:.1f}s: gateway APIs answer 500, 429 and time out, then recover "
                          "(message 500)")
        response = send_at_sms(client, sender, text, message_id=message_id)
        assert response.status_code == 200, (number, response.get_data(as_text=True))
        acknowledged.append(message_id)
        if number == 700:
            # The gateway delivers 50 earlier messages again.
            for _sender, _text, repeated in traffic[600:650]:
                assert send_at_sms(client, _sender, _text, message_id=repeated).status_code == 200
            events.append(f"{time.monotonic() - started:.1f}s: 50 messages delivered again (message 700)")
    # Two SMS from one caller at the same instant, then a flood from one number.
    twins = [threading.Thread(target=send_at_sms, args=(app.test_client(), caller(0), word),
                              kwargs={"message_id": f"TWIN-{word}"}) for word in ("1", "2")]
    for thread in twins:
        thread.start()
    for thread in twins:
        thread.join()
    for index in range(FLOOD_SIZE):
        send_at_sms(client, FLOOD_NUMBER, f"flood {index}", message_id=f"FLOOD-{index}")

    posted = time.monotonic() - started
    events.append(f"{posted:.1f}s: two SMS from one caller at the same instant, then {FLOOD_SIZE} from one number")
    wait_for(lambda: settled(app), timeout=240, interval=1,
             message="the system to settle; worker logs:\n" + "\n".join(w.output()[-3000:] for w in workers))

    with app.app_context():
        session = get_session()
        inbound = session.scalars(select(InboundMessage)).all()
        # Every acknowledged message is stored, once.
        assert len(inbound) == len(acknowledged) + 2 + FLOOD_SIZE
        assert len({m.gateway_message_id for m in inbound}) == len(inbound)
        states = Counter(m.state for m in inbound)
        assert states["throttled"] == FLOOD_SIZE - 30
        assert states["processed"] == len(inbound) - states["throttled"]
        # Every processed message has exactly one reply, and none was sent twice.
        outbound = session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
        replies_per_inbound = Counter(m.in_reply_to_id for m in outbound)
        assert set(replies_per_inbound.values()) == {1}
        assert len(outbound) == states["processed"]
        in_doubt = [m for m in outbound if m.state == "sending"]
        assert len(in_doubt) <= 1  # at most the one the SIGKILL may have caught between commit and HTTP call
        assert {m.state for m in outbound} <= {"sent", "sending"}
        written = defaultdict(list)
        for message in outbound:
            if message.state == "sent":
                written[message.to_phone].append(message.body)
    received = defaultdict(list)
    for request in fake_gateway.sent():
        received[request.form.get("to") or request.form.get("To")].append(
            request.form.get("message") or request.form.get("Body"))
    for phone, bodies in written.items():
        # Sent once each, in the order written (a message in doubt may sit anywhere in between).
        got = received[phone]
        assert len(got) - len(bodies) in (0, len([m for m in in_doubt if m.to_phone == phone])), phone
        assert [b for b in got if b in bodies] == bodies, phone
    for worker in workers[1:]:
        worker.stop()
    record("flow_with_faults", {
        "events": events, "acknowledged": len(acknowledged) + 2 + FLOOD_SIZE, "stored": len(inbound),
        "duplicates_delivered": 50, "processed": states["processed"], "throttled": states["throttled"],
        "replies": len(outbound), "replies_sent": sum(1 for m in outbound if m.state == "sent"),
        "replies_in_doubt": len(in_doubt), "gateway_requests_accepted": len(fake_gateway.sent()),
        "seconds_posting": round(posted, 1), "seconds_to_settle": round(time.monotonic() - started - posted, 1),
    })


def test_database_loss_answers_503_and_keeps_no_half_rows(postgres_schema, fake_gateway, tmp_path, redis_url):
    """With PostgreSQL unreachable the webhook answers 503; the gateway's retry after recovery is stored once."""
    link = CuttableLink(5432)
    url = postgres_schema.replace("127.0.0.1:5432", f"127.0.0.1:{link.port}")
    app = create_app({"TESTING": True, "DATABASE_URL": url, "REDIS_URL": redis_url,
                      "INSTANCE_PATH": str(tmp_path / "instance"), **gateway_settings(fake_gateway, "africastalking")})
    _empty_tables(app)
    client = app.test_client()
    try:
        assert send_at_sms(client, caller(1), "AIDE", message_id="PG-1").status_code == 200
        link.cut()
        lost = send_at_sms(client, caller(2), "AIDE", message_id="PG-2")
        assert lost.status_code == 503
        assert client.get("/healthz").status_code == 503
        link.restore()
        assert send_at_sms(client, caller(2), "AIDE", message_id="PG-2").status_code == 200
        with app.app_context():
            ids = sorted(get_session().scalars(select(InboundMessage.gateway_message_id)))
            assert ids == ["PG-1", "PG-2"]
            assert count(DurableJob, DurableJob.name == "process_caller_sms") == 2
        record("database_loss", {"answer_while_lost": lost.status_code, "stored_after_retry": ids})
    finally:
        link.close()
        app.extensions["hotline.db"].engine.dispose()
