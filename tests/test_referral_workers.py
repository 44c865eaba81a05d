"""The referral path on real `hotline worker` processes, real Redis and PostgreSQL, through the real SDK."""

from __future__ import annotations

import signal
import time

import pytest

from tests.conftest import gateway_settings
from tests.gateway_requests import send_at_sms, ussd_session
from tests.helpers import hotline_env, wait_for
from tests.referral_helpers import GAO_DANGER, contact_phones, load_demo_directory, referrals_of

GAO_CALLER = "+22376600001"


@pytest.fixture
def app_overrides(fake_gateway):
    return {**gateway_settings(fake_gateway, "africastalking"),
            "HOTLINE_ESCALATION_DEADLINES": "critical=3s,high=3s,medium=3s,low=3s"}


@pytest.fixture
def start_worker(services_app, run_hotline, tmp_path, fake_gateway, app_overrides):
    env = hotline_env(DATABASE_URL=services_app.config["DATABASE_URL"], REDIS_URL=services_app.config["REDIS_URL"],
                      HOTLINE_INSTANCE_PATH=str(tmp_path), **{k: str(v) for k, v in app_overrides.items()})

    def start():
        return run_hotline("worker", "--name", f"referrals-{time.monotonic_ns()}", env=env)

    return start


def alerts_to(fake_gateway, phone: str) -> list[str]:
    return [r.form["message"] for r in fake_gateway.sent("africastalking") if r.form["to"] == phone]


def screen(app) -> str:
    load_demo_directory(app)
    screens = ussd_session(app.test_client(), "ATUid_w", GAO_CALLER, GAO_DANGER)
    assert screens[-1].startswith("END ")
    return next(word for word in screens[-1].replace(".", " ").split() if len(word) == 6 and word.isupper())


def test_alert_ok_and_escalation_run_on_worker_processes(services_app, start_worker, fake_gateway):
    """The nearest shelter gets the alert via the SDK; OK accepts it; the silent police unit escalates."""
    app = services_app
    worker = start_worker()
    reference = screen(app)
    shelter, police = contact_phones(app, "shelter.direy-ben.gao"), contact_phones(app, "police.gao")
    wait_for(lambda: alerts_to(fake_gateway, shelter[0]) and alerts_to(fake_gateway, police[0]), timeout=30,
             message=f"the first alerts; worker log:\n{worker.output()}")
    assert reference in alerts_to(fake_gateway, shelter[0])[0]
    send_at_sms(app.test_client(), shelter[0], f"OK {reference}")
    wait_for(lambda: ("shelter", "shelter.direy-ben.gao", "accepted", 0) in referrals_of(app, reference),
             timeout=30, message="the OK to be obeyed")
    wait_for(lambda: alerts_to(fake_gateway, police[1]), timeout=30, message="the police escalation")
    time.sleep(1)
    assert len(alerts_to(fake_gateway, shelter[1])) == 0  # the shelter accepted: no escalation there
    assert len(alerts_to(fake_gateway, police[1])) == 1


def test_killed_worker_during_a_pending_escalation_still_escalates_once(services_app, start_worker, fake_gateway):
    """SIGKILL the only worker while an escalation waits; a new worker escalates at the deadline, once."""
    app = services_app
    worker = start_worker()
    reference = screen(app)
    shelter = contact_phones(app, "shelter.direy-ben.gao")
    wait_for(lambda: alerts_to(fake_gateway, shelter[0]), timeout=30, message="the first alert")
    worker.stop(signal.SIGKILL)
    time.sleep(4)  # the deadline passes while no worker runs
    replacement = start_worker()
    wait_for(lambda: alerts_to(fake_gateway, shelter[1]), timeout=40,
             message=f"the escalation after restart; log:\n{replacement.output()}")
    time.sleep(2)
    assert len(alerts_to(fake_gateway, shelter[1])) == 1
    assert len(alerts_to(fake_gateway, shelter[0])) == 1
    assert next(r for r in referrals_of(app, reference) if r[0] == "shelter")[3] == 1
