"""The Africa's Talking USSD webhook: a full screening hop by hop, retries, resume, auth and bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hotline.channels.inbound import UssdHop
from hotline.conversation import _newest_ussd_input
from hotline.db import get_session
from hotline.models import Case, Conversation, InboundMessage
from tests.conftest import gateway_settings
from tests.gateway_requests import send_ussd, ussd_session

CALLER = "+22376100001"
# French; may talk; in danger now; 12-17; girl; Bamako; Commune I; shelter + police; call back yes; police yes.
DANGER_SCREENING = ["1", "1", "1", "1", "2", "1", "1", "1", "1 3", "1", "1"]


@pytest.fixture
def app_overrides(fake_gateway):
    return gateway_settings(fake_gateway, "africastalking")


def count(model) -> int:
    return get_session().scalar(select(func.count()).select_from(model))


def test_full_screening_ends_with_a_case_reference(app, client):
    """A screening in danger now ends with END, the case reference, and a critical case; screens fit 182."""
    screens = ussd_session(client, "ATUid_full", CALLER, DANGER_SCREENING)
    assert all(s.startswith("CON ") for s in screens[:-1]), screens
    assert screens[-1].startswith("END ")
    assert all(len(s) - 4 <= 182 for s in screens)
    with app.app_context():
        case = get_session().scalars(select(Case)).one()
        assert case.reference in screens[-1]
        assert case.risk_level == "critical"
        assert case.danger_now is True
        assert case.place_code is not None
        assert count(InboundMessage) == len(screens)
        conversation = get_session().scalars(select(Conversation)).one()
        assert conversation.status == "completed"


def test_gateway_retry_of_a_hop_gets_the_same_screen_without_a_step(app, client):
    """The same cumulative text twice is one hop: same screen, one stored hop, no double answer."""
    send_ussd(client, "ATUid_retry", CALLER, "")
    first = send_ussd(client, "ATUid_retry", CALLER, "1").get_data(as_text=True)
    again = send_ussd(client, "ATUid_retry", CALLER, "1").get_data(as_text=True)
    assert first == again
    with app.app_context():
        assert count(InboundMessage) == 2


def test_newest_input_keeps_a_star_typed_inside_an_answer():
    """The newest input is what follows the consumed text, so an answer containing '*' stays whole."""
    hop = UssdHop(gateway="africastalking-ussd", session_id="s", phone=CALLER, service_code="*1#",
                  text="1*2*Kati*Koulikoro")
    assert _newest_ussd_input(len("1*2"), hop) == ("Kati*Koulikoro", len(hop.text))
    assert _newest_ussd_input(len(hop.text), hop) == (None, len(hop.text))


def test_dropped_session_can_be_resumed_on_redial(app, client):
    """After the network drops a session, a redial offers to continue, and continuing picks up the question."""
    screens = ussd_session(client, "ATUid_drop", CALLER, ["1", "1", "1"])
    client.post("/webhooks/africastalking/ussd/events?token=at-webhook-token", data={
        "sessionId": "ATUid_drop", "status": "Incomplete", "phoneNumber": CALLER, "networkCode": "61002",
        "durationInMillis": "18000", "cost": "0", "date": "2026-11-22 10:05:00"})
    offer = send_ussd(client, "ATUid_redial", CALLER, "").get_data(as_text=True)
    assert offer.startswith("CON ")
    assert "1" in offer and "2" in offer and offer != screens[0]
    resumed = send_ussd(client, "ATUid_redial", CALLER, "1").get_data(as_text=True)
    assert resumed == screens[-1]


def test_completed_session_is_not_offered_again(app, client):
    """A session that ended normally is never offered for resumption: a redial starts afresh."""
    screens = ussd_session(client, "ATUid_done", CALLER, DANGER_SCREENING)
    client.post("/webhooks/africastalking/ussd/events?token=at-webhook-token",
                data={"sessionId": "ATUid_done", "status": "Success", "phoneNumber": CALLER})
    assert send_ussd(client, "ATUid_again", CALLER, "").get_data(as_text=True) == screens[0]


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_missing_or_wrong_token_is_refused(app, client, token):
    """Without the shared token the hop is refused with 403 and nothing is stored."""
    response = send_ussd(client, "ATUid_auth", CALLER, "", token=token)
    assert response.status_code == 403
    with app.app_context():
        assert count(InboundMessage) == 0
        assert count(Conversation) == 0


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("phoneNumber", "", "missing form field 'phoneNumber'"),
    ("sessionId", "", "missing form field 'sessionId'"),
    ("phoneNumber", "not-a-number", "form field 'phoneNumber' is not a phone number"),
])
def test_malformed_hop_is_a_400_with_the_reason(app, client, field, value, reason):
    """A hop with a missing or unreadable field is refused with 400 naming the field; nothing is stored."""
    form = {"sessionId": "ATUid_bad", "serviceCode": "*384#", "phoneNumber": CALLER, "text": "", field: value}
    response = client.post("/webhooks/africastalking/ussd?token=at-webhook-token", data=form)
    assert (response.status_code, response.get_data(as_text=True)) == (400, reason)
    with app.app_context():
        assert count(InboundMessage) == 0


def test_unknown_session_status_is_a_400(client):
    """An end-of-session notification with a status the gateway does not document is refused."""
    response = client.post("/webhooks/africastalking/ussd/events?token=at-webhook-token",
                           data={"sessionId": "x", "status": "Exploded"})
    assert response.status_code == 400


def test_oversized_body_is_refused_with_413(client):
    """A body over 64 KB is refused before it is read."""
    response = client.post("/webhooks/africastalking/ussd?token=at-webhook-token",
                           data={"sessionId": "s", "phoneNumber": CALLER, "text": "1" * 70_000})
    assert response.status_code == 413
