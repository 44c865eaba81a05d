"""Referrals end to end: routing a screened case, SMS alerts through the SDK, OK/NON replies, escalation."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hotline.db import get_session
from hotline.models import AuditEvent, Case, DurableJob, OutboundMessage, Provider
from routing.alerts import measure_sms
from tests.conftest import gateway_settings
from tests.gateway_requests import send_at_sms
from tests.helpers import run_jobs
from tests.referral_helpers import (
    BAMAKO_DANGER,
    GAO_DANGER,
    contact_phones,
    load_demo_directory,
    pass_deadlines,
    referrals_of,
    screen_case,
)

CALLER = "+22376400001"
GAO_CALLER = "+22376400002"


@pytest.fixture
def app_overrides(fake_gateway):
    return {**gateway_settings(fake_gateway, "africastalking"),
            "HOTLINE_ESCALATION_DEADLINES": "critical=2s,high=2s,medium=2s,low=2s"}


@pytest.fixture
def directory(app):
    load_demo_directory(app)
    return app


def alerts_to(fake_gateway, phones: list[str]) -> list[str]:
    return [r.form["message"] for r in fake_gateway.sent("africastalking") if r.form["to"] in phones]


def test_danger_in_bamako_alerts_the_nearest_shelter_and_police(directory, client, fake_gateway):
    """A child in danger in Bamako: AJDM and the Bamako police unit get the alert through the real SDK."""
    app = directory
    reference = screen_case(app, client, "ATUid_b1", CALLER, BAMAKO_DANGER)
    referrals = {role: (code, status) for role, code, status, _ in referrals_of(app, reference)}
    assert referrals["shelter"] == ("shelter.ajdm.bamako", "alerted")
    assert referrals["police"] == ("police.bamako", "alerted")
    assert referrals["child_protection"][1] == "alerted"
    shelter_alerts = alerts_to(fake_gateway, contact_phones(app, "shelter.ajdm.bamako")[:1])
    assert len(shelter_alerts) == 1
    alert = shelter_alerts[0]
    assert reference in alert and "OK " + reference in alert
    assert CALLER in alert  # the caller consented to a call back
    measured = measure_sms(alert)
    assert (measured.encoding, measured.segments <= 2) == ("GSM-7", True)
    with app.app_context():
        case = get_session().scalar(select(Case).where(Case.reference == reference))
        assert case.status == "referred"
        assert case.routing_explanation["decision"]["police"]["code"] == "consent"
        assert any("AJDM" in line for line in case.routing_explanation["explanation"]["fr"])


def test_caller_number_is_left_out_without_consent(directory, client, fake_gateway):
    """Without consent to a call back, the alert never carries the caller's number."""
    app = directory
    reference = screen_case(app, client, "ATUid_g0", GAO_CALLER, GAO_DANGER)
    messages = [r.form["message"] for r in fake_gateway.sent("africastalking")]
    assert messages and all(reference in m for m in messages)
    assert not any(GAO_CALLER in m for m in messages)
    with app.app_context():
        case = get_session().scalar(select(Case).where(Case.reference == reference))
        assert case.routing_explanation["decision"]["police"]["code"].startswith("exception:")


def test_ok_from_the_shelter_accepts_takes_a_bed_and_stops_escalation(directory, client, fake_gateway):
    """`OK <ref>` from the shelter's registered number accepts; its deadline then passes with no new alert."""
    app = directory
    reference = screen_case(app, client, "ATUid_b2", CALLER, BAMAKO_DANGER)
    shelter_phone = contact_phones(app, "shelter.ajdm.bamako")[0]
    with app.app_context():
        beds_before = get_session().scalar(select(Provider.beds_free).where(Provider.code == "shelter.ajdm.bamako"))
    send_at_sms(client, shelter_phone, f"ok {reference}")
    run_jobs(app)
    roles = {role: status for role, _code, status, _ in referrals_of(app, reference)}
    assert roles["shelter"] == "accepted"
    reply = [r.form["message"] for r in fake_gateway.sent() if r.form["to"] == shelter_phone][-1]
    assert reference in reply and "accepte" in reply
    with app.app_context():
        assert get_session().scalar(select(Provider.beds_free).where(
            Provider.code == "shelter.ajdm.bamako")) == beds_before - 1
    pass_deadlines(app)
    shelter_rows = [r for r in referrals_of(app, reference) if r[0] == "shelter"]
    assert shelter_rows == [("shelter", "shelter.ajdm.bamako", "accepted", 0)]


def test_silence_escalates_to_the_next_contact_then_the_next_provider(directory, client, fake_gateway):
    """No answer by the deadline alerts the shelter's next contact, then the next shelter, once each."""
    app = directory
    reference = screen_case(app, client, "ATUid_g1", GAO_CALLER, GAO_DANGER)
    first = [r for r in referrals_of(app, reference) if r[0] == "shelter"]
    assert first == [("shelter", "shelter.direy-ben.gao", "alerted", 0)]
    phones = contact_phones(app, "shelter.direy-ben.gao")
    pass_deadlines(app)
    assert next(r for r in referrals_of(app, reference) if r[0] == "shelter")[3] == 1
    assert len(alerts_to(fake_gateway, [phones[1]])) == 1
    for _ in range(len(phones)):
        pass_deadlines(app)
    shelter_rows = [r for r in referrals_of(app, reference) if r[0] in ("shelter", "national_desk")]
    assert shelter_rows[0][2] == "expired"
    assert len(shelter_rows) >= 2 and shelter_rows[1][1] != "shelter.direy-ben.gao"
    # Each contact was alerted exactly once for this case.
    assert all(len(alerts_to(fake_gateway, [phone])) == 1 for phone in phones)


def test_non_moves_the_case_to_the_next_provider(directory, client, fake_gateway):
    """`NON <ref> complet` declines with its reason and alerts the next provider of that role at once."""
    app = directory
    reference = screen_case(app, client, "ATUid_g2", GAO_CALLER, GAO_DANGER)
    phone = contact_phones(app, "shelter.direy-ben.gao")[0]
    send_at_sms(client, phone, f"NON {reference} complet")
    run_jobs(app)
    shelter_rows = [r for r in referrals_of(app, reference) if r[0] in ("shelter", "national_desk")]
    assert shelter_rows[0][:3] == ("shelter", "shelter.direy-ben.gao", "declined")
    assert shelter_rows[1][2] == "alerted"
    with app.app_context():
        from hotline.models import Referral

        declined = get_session().scalars(select(Referral).where(Referral.status == "declined")).one()
        assert declined.decline_reason == "complet"


def test_national_desk_gets_what_no_one_took(directory, client, fake_gateway):
    """When every shelter in range declines, the national desk is alerted."""
    app = directory
    reference = screen_case(app, client, "ATUid_g3", GAO_CALLER, GAO_DANGER)
    for _ in range(6):
        pending = [r for r in referrals_of(app, reference) if r[0] in ("shelter", "national_desk")
                   and r[2] == "alerted"]
        if not pending or pending[-1][0] == "national_desk":
            break
        _role, code, _status, _position = pending[-1]
        send_at_sms(client, contact_phones(app, code)[0], f"NON {reference}")
        run_jobs(app)
    roles = [r[0] for r in referrals_of(app, reference)]
    assert "national_desk" in roles


def test_staff_of_another_provider_cannot_answer(directory, client, fake_gateway):
    """A registered number of a provider that does not hold the referral is told the reference is unknown."""
    app = directory
    reference = screen_case(app, client, "ATUid_b3", CALLER, BAMAKO_DANGER)
    outsider = contact_phones(app, "shelter.direy-ben.gao")[0]
    send_at_sms(client, outsider, f"OK {reference}")
    run_jobs(app)
    assert "accepted" not in [status for _r, _c, status, _p in referrals_of(app, reference)]
    reply = [r.form["message"] for r in fake_gateway.sent() if r.form["to"] == outsider][-1]
    assert reference in reply and "inconnue" in reply


def test_unregistered_number_sending_ok_is_a_caller_not_staff(directory, client, fake_gateway):
    """`OK <ref>` from a number no provider registered starts a screening, and accepts nothing."""
    app = directory
    reference = screen_case(app, client, "ATUid_b4", CALLER, BAMAKO_DANGER)
    send_at_sms(client, "+22376499999", f"OK {reference}")
    run_jobs(app)
    assert "accepted" not in [status for _r, _c, status, _p in referrals_of(app, reference)]
    with app.app_context():
        reply = get_session().scalars(select(OutboundMessage).where(OutboundMessage.purpose == "reply")).one()
        assert reply.body.startswith("Langue / Kan / Language")


def test_places_updates_the_free_beds(directory, client, fake_gateway):
    """`PLACES 3` from shelter staff records three free beds and thanks them."""
    app = directory
    phone = contact_phones(app, "shelter.direy-ben.gao")[0]
    send_at_sms(client, phone, "PLACES 3")
    run_jobs(app)
    with app.app_context():
        assert get_session().scalar(select(Provider.beds_free).where(Provider.code == "shelter.direy-ben.gao")) == 3
        assert get_session().scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "provider.capacity")) == 1
    assert "3" in [r.form["message"] for r in fake_gateway.sent() if r.form["to"] == phone][-1]


def test_lost_escalation_still_happens_once(services_app, fake_gateway):
    """Redis flushed while an escalation waits: the reconciler runs it at its time, exactly once."""
    from redis import Redis

    from workers.queue import get_queue
    from workers.reconciler import reconcile

    app = services_app
    load_demo_directory(app)
    reference = screen_case(app, app.test_client(), "ATUid_g4", GAO_CALLER, GAO_DANGER)
    Redis.from_url(app.config["REDIS_URL"]).flushdb()
    with app.app_context():
        due = get_session().scalars(select(DurableJob.due_at).where(DurableJob.name == "escalate_referral")).all()
    import time

    from hotline.models.types import utcnow

    time.sleep(max(0.0, (max(due) - utcnow()).total_seconds()) + 3.5)
    with app.app_context():
        assert reconcile(get_session(), get_queue()) >= 1
    run_jobs(app)
    phones = contact_phones(app, "shelter.direy-ben.gao")
    assert len(alerts_to(fake_gateway, [phones[1]])) == 1
    with app.app_context():
        assert reconcile(get_session(), get_queue()) == 0
    run_jobs(app)
    assert len(alerts_to(fake_gateway, [phones[1]])) == 1
    assert next(r for r in referrals_of(app, reference) if r[0] == "shelter")[3] == 1


def test_staff_answers_go_on_the_referrals_queue_ahead_of_callers(app, client, directory):
    """An SMS from a provider's staff is processed from the queue served first, a caller's from the SMS queue."""
    staff = contact_phones(app, "shelter.ajdm.bamako")[0]
    send_at_sms(client, staff, "OK ABCDEF", message_id="staff-1")
    send_at_sms(client, "+22376400099", "AIDE", message_id="caller-1")
    with app.app_context():
        queues = [queue for (queue,) in get_session().execute(
            select(DurableJob.queue).where(DurableJob.name == "process_caller_sms").order_by(DurableJob.id))]
    assert queues == ["hotline-referrals", "hotline-sms"]
