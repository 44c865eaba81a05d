"""Two real RQ workers on real Redis answer one caller's SMS in arrival order, one at a time."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from hotline.db import get_session
from hotline.models import InboundMessage, OutboundMessage
from tests.conftest import gateway_settings
from tests.gateway_requests import send_at_sms
from tests.helpers import hotline_env, run_jobs, wait_for

CALLER = "+22376300001"
INPUTS = ["AIDE", "1", "1", "2", "3", "1", "1"]


@pytest.fixture
def app_overrides(fake_gateway):
    return gateway_settings(fake_gateway, "africastalking")


def expected_replies(embedded_app) -> list[str]:
    """The replies of the same SMS session answered one by one on the embedded default."""
    client = embedded_app.test_client()
    for text in INPUTS:
        send_at_sms(client, CALLER, text)
        run_jobs(embedded_app)
    with embedded_app.app_context():
        return [m.body for m in get_session().scalars(select(OutboundMessage).order_by(OutboundMessage.id))]


def test_two_workers_keep_one_callers_order(services_app, embedded_app, fake_gateway, run_hotline, tmp_path):
    """Seven SMS posted at once are answered by two workers exactly as if answered one by one."""
    expected = expected_replies(embedded_app)
    fake_gateway.requests.clear()
    env = hotline_env(DATABASE_URL=services_app.config["DATABASE_URL"], REDIS_URL=services_app.config["REDIS_URL"],
                      HOTLINE_INSTANCE_PATH=str(tmp_path),
                      **{k: str(v) for k, v in gateway_settings(fake_gateway, "africastalking").items()})
    client = services_app.test_client()
    for text in INPUTS:
        assert send_at_sms(client, CALLER, text).status_code == 200
    workers = [run_hotline("worker", "--name", f"order-{n}-{time.monotonic_ns()}", env=env) for n in range(2)]
    wait_for(lambda: len(fake_gateway.sent()) >= len(INPUTS), timeout=60,
             message="all replies; worker logs:\n" + "\n".join(w.output() for w in workers))
    assert [r.form["message"] for r in fake_gateway.sent()] == expected
    with services_app.app_context():
        inbound = get_session().scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [m.state for m in inbound] == ["processed"] * len(INPUTS)
        processed = [m.processed_at for m in inbound]
        assert processed == sorted(processed)
    for worker in workers:
        worker.stop()
        assert "Traceback" not in worker.output()


def test_caller_locks_of_two_hotlines_in_one_database_do_not_block_each_other(services_app, tmp_path):
    """Advisory locks are database-wide: a hotline in another schema takes the same caller's lock without waiting."""
    from hotline import create_app
    from hotline.locks import caller_lock
    from tests.helpers import PG_BASE_URL

    other = create_app({"TESTING": True, "DATABASE_URL": f"{PG_BASE_URL}?options=-csearch_path%3Dother_hotline",
                        "INSTANCE_PATH": str(tmp_path / "other")})
    with services_app.app_context(), caller_lock("sms-in:1"):
        with other.app_context(), caller_lock("sms-in:1", timeout_seconds=1):
            pass
        # The lock still works within one hotline: a second holder times out.
        with services_app.app_context(), pytest.raises(TimeoutError), caller_lock("sms-in:1", timeout_seconds=0.5):
            pass
    other.extensions["hotline.db"].engine.dispose()
