"""SMS webhooks of Africa's Talking and Twilio: stored once, answered in order through the real SDKs."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hotline.db import get_session
from hotline.models import Case, Contact, InboundMessage, OutboundMessage
from tests.conftest import gateway_settings
from tests.gateway_requests import send_at_sms, send_twilio_sms, twilio_signature
from tests.helpers import run_jobs

CALLER = "+22376200001"
OTHER = "+22376200002"
# Keyword in French, then: continue; can talk; not in danger; 18-25; woman; domestic work...
SCREENING_SMS = ["AIDE", "1", "1", "2", "3", "1"]


@pytest.fixture
def app_overrides(fake_gateway):
    return gateway_settings(fake_gateway, "africastalking,twilio")


def count(model, *where) -> int:
    return get_session().scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("gateway", ["africastalking", "twilio"])
def test_sms_screening_replies_reach_the_gateway_in_order(app, client, fake_gateway, gateway):
    """Each SMS gets its reply through the real SDK, and the replies arrive in the order asked."""
    send = send_at_sms if gateway == "africastalking" else send_twilio_sms
    for text in SCREENING_SMS:
        assert send(client, CALLER, text).status_code == 200
        run_jobs(app)
    sent = fake_gateway.sent()
    assert len(sent) == len(SCREENING_SMS)
    bodies = [r.form.get("message") or r.form.get("Body") for r in sent]
    with app.app_context():
        replies = get_session().scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()
        assert [m.body for m in replies] == bodies
        assert all(m.state == "sent" for m in replies)
        assert [m.in_reply_to_id for m in replies] == sorted(m.in_reply_to_id for m in replies)
        assert count(InboundMessage, InboundMessage.state == "processed") == len(SCREENING_SMS)


def test_africastalking_duplicate_delivery_is_stored_and_answered_once(app, client, fake_gateway):
    """The same Africa's Talking id twice: 200 both times, one row, one reply."""
    assert send_at_sms(client, CALLER, "AIDE", message_id="ATXid_dup").status_code == 200
    assert send_at_sms(client, CALLER, "AIDE", message_id="ATXid_dup").status_code == 200
    run_jobs(app)
    with app.app_context():
        assert count(InboundMessage) == 1
        assert count(OutboundMessage) == 1
    assert len(fake_gateway.sent()) == 1


def test_twilio_duplicate_message_sid_is_stored_once(app, client):
    """The same MessageSid twice is one stored message."""
    for _ in range(2):
        assert send_twilio_sms(client, CALLER, "HELP", message_sid="SM" + "d" * 32).status_code == 200
    run_jobs(app)
    with app.app_context():
        assert count(InboundMessage) == 1
        assert count(OutboundMessage) == 1


@pytest.mark.parametrize(("signature", "reason"), [(None, "missing X-Twilio-Signature"),
                                                   ("bm90IGEgc2lnbmF0dXJl", "bad X-Twilio-Signature")])
def test_unsigned_or_wrongly_signed_twilio_request_is_refused(app, client, signature, reason):
    """Twilio requests without a valid signature get 403 and leave the database as it was."""
    response = send_twilio_sms(client, CALLER, "HELP", signature=signature)
    assert (response.status_code, response.get_data(as_text=True)) == (403, reason)
    with app.app_context():
        assert count(InboundMessage) == 0
        assert count(Contact) == 0


def test_signature_for_another_url_is_refused(app, client):
    """A signature computed for another host does not pass: the public URL is part of what is signed."""
    form = {"MessageSid": "SM" + "e" * 32, "From": CALLER, "Body": "HELP"}
    from twilio.request_validator import RequestValidator

    from tests.fake_gateway import TWILIO_TOKEN

    forged = RequestValidator(TWILIO_TOKEN).compute_signature("https://evil.example/webhooks/twilio/sms", form)
    response = client.post("/webhooks/twilio/sms", data=form, headers={"X-Twilio-Signature": forged})
    assert response.status_code == 403


@pytest.mark.parametrize(("change", "reason"), [
    ({"from": ""}, "missing form field 'from'"),
    ({"text": None}, "missing form field 'text'"),
    ({"date": "yesterday"}, "form field 'date' is not a date like 2017-05-03T06:04:45Z or 2017-05-03 06:04:45"),
    ({"from": "12"}, "form field 'from' is not a possible phone number"),
])
def test_malformed_africastalking_sms_is_a_400_with_the_reason(app, client, change, reason):
    """Missing from or text, an unparseable date or number: 400 naming the field; nothing stored."""
    form = {"from": CALLER, "to": "8000", "text": "AIDE", "date": "2026-11-22T10:04:45Z", "id": "ATXid_bad",
            "linkId": "l"}
    for key, value in change.items():
        if value is None:
            form.pop(key)
        else:
            form[key] = value
    response = client.post("/webhooks/africastalking/sms?token=at-webhook-token", data=form)
    assert (response.status_code, response.get_data(as_text=True)) == (400, reason)
    with app.app_context():
        assert count(InboundMessage) == 0


@pytest.mark.parametrize("date", ["2017-05-03T06:04:45Z", "2017-05-03 06:04:45"])
def test_both_africastalking_date_forms_are_read(app, client, date):
    """Both date forms Africa's Talking uses are stored as the same UTC time."""
    assert send_at_sms(client, CALLER, "AIDE", date=date).status_code == 200
    with app.app_context():
        stored = get_session().scalars(select(InboundMessage)).one()
        assert stored.gateway_sent_at.isoformat() == "2017-05-03T06:04:45+00:00"


def test_sms_webhook_without_token_is_refused(app, client):
    """An Africa's Talking SMS callback without the token is refused and not stored."""
    assert send_at_sms(client, CALLER, "AIDE", token=None).status_code == 403
    with app.app_context():
        assert count(InboundMessage) == 0


def test_flood_from_one_number_is_throttled_for_that_number_only(app, client, fake_gateway):
    """31 SMS in a minute from one number: the excess is kept but not answered; another number is served."""
    for index in range(31):
        assert send_at_sms(client, CALLER, f"message {index}").status_code == 200
    assert send_at_sms(client, OTHER, "AIDE").status_code == 200
    run_jobs(app)
    with app.app_context():
        assert count(InboundMessage) == 32
        assert count(InboundMessage, InboundMessage.state == "throttled") == 1
        other_contact = get_session().scalar(select(Contact.id).where(Contact.id == 2))
        assert count(OutboundMessage, OutboundMessage.contact_id == other_contact) == 1


def test_stop_suppresses_replies_and_a_new_message_restarts(app, client, fake_gateway):
    """STOP gets one confirmation and ends the session; a later keyword starts a fresh session."""
    for text in ["AIDE", "1", "STOP"]:
        send_at_sms(client, CALLER, text)
        run_jobs(app)
    with app.app_context():
        contact = get_session().scalars(select(Contact)).one()
        assert contact.opted_out_at is not None
        last = get_session().scalars(select(OutboundMessage).order_by(OutboundMessage.id.desc())).first()
        assert last.purpose == "confirmation" and last.state == "sent"
    send_at_sms(client, CALLER, "AIDE")
    run_jobs(app)
    with app.app_context():
        get_session().expire_all()
        assert get_session().scalars(select(Contact)).one().opted_out_at is None
        assert count(Case) == 0
    assert len(fake_gateway.sent()) == 4


@pytest.mark.parametrize(("status", "state"), [("Success", "delivered"), ("Buffered", "sent"),
                                               ("Rejected", "failed"), ("Expired", "failed")])
def test_africastalking_delivery_reports_update_the_message(app, client, status, state):
    """Delivery reports map Success/Sent/Submitted/Buffered/Rejected/Failed/Expired onto the row."""
    send_at_sms(client, CALLER, "AIDE")
    run_jobs(app)
    with app.app_context():
        message = get_session().scalars(select(OutboundMessage)).one()
    form = {"id": message.provider_message_id, "status": status, "phoneNumber": CALLER,
            "networkCode": "61002", "retryCount": "0"}
    if state == "failed":
        form["failureReason"] = "UserDoesNotExist"
    response = client.post("/webhooks/africastalking/sms/delivery?token=at-webhook-token", data=form)
    assert response.status_code == 200
    with app.app_context():
        updated = get_session().get(OutboundMessage, message.id)
        assert updated.state == state
        if state == "failed":
            assert updated.failure_reason == "UserDoesNotExist"


@pytest.mark.parametrize(("status", "state"), [("queued", "sent"), ("sent", "sent"), ("delivered", "delivered"),
                                               ("undelivered", "failed"), ("failed", "failed")])
def test_twilio_status_callbacks_update_the_message(app, client, fake_gateway, status, state):
    """Twilio's status callbacks map onto the outbound row, with ErrorCode kept for failures."""
    app.config["SMS_PROVIDERS"] = ["twilio"]
    app.extensions.pop("hotline.sms_providers", None)
    send_twilio_sms(client, CALLER, "HELP")
    run_jobs(app)
    with app.app_context():
        message = get_session().scalars(select(OutboundMessage)).one()
    form = {"MessageSid": message.provider_message_id, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
    if state == "failed":
        form["ErrorCode"] = "30003"
    path = "/webhooks/twilio/sms/status"
    response = client.post(path, data=form, headers={"X-Twilio-Signature": twilio_signature(path, form)})
    assert response.status_code == 200
    with app.app_context():
        updated = get_session().get(OutboundMessage, message.id)
        assert updated.state == state
        if state == "failed":
            assert updated.failure_reason == "Twilio error 30003"


def test_unknown_delivery_status_is_a_400(client):
    """A status neither gateway documents is refused with 400."""
    response = client.post("/webhooks/africastalking/sms/delivery?token=at-webhook-token",
                           data={"id": "ATXid_1", "status": "Teleported"})
    assert (response.status_code, response.get_data(as_text=True)) == (400, "unknown delivery status 'Teleported'")
