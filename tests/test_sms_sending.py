"""Outbound SMS through the real Twilio and Africa's Talking SDKs, against a local recording server."""

from __future__ import annotations

from datetime import datetime

import pytest

from hotline import pii
from hotline.db import get_session
from hotline.models import Contact, DurableJob, OutboundMessage
from hotline.models.types import utcnow
from hotline.outbox import queue_sms
from tests.conftest import gateway_settings
from workers.queue import get_queue
from workers.runner import run_durable_job

CALLER = "+22376000003"


@pytest.fixture
def sending_app(embedded_app, fake_gateway):
    def configure(providers: str):
        embedded_app.config.update(gateway_settings(fake_gateway, providers))
        embedded_app.config["SMS_PROVIDERS"] = providers.split(",")
        embedded_app.extensions.pop("hotline.sms_providers", None)
        return embedded_app
    return configure


def send(body: str, to: str = CALLER) -> OutboundMessage:
    message = queue_sms(to, body, purpose="reply")
    get_session().commit()
    get_queue().run_due()
    get_session().expire_all()
    return get_session().get(OutboundMessage, message.id)


def test_twilio_sdk_sends_the_message(sending_app, fake_gateway):
    """The Twilio SDK posts To, From, Body and the status callback; the row keeps Twilio's sid."""
    app = sending_app("twilio")
    with app.app_context():
        message = send("Merci, votre message est bien reçu.")
    [request] = fake_gateway.sent("twilio")
    assert request.path.endswith("/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json")
    assert request.form == {"To": CALLER, "From": "+15005550006", "Body": "Merci, votre message est bien reçu.",
                            "StatusCallback": "https://hotline.example.org/webhooks/twilio/sms/status"}
    assert request.headers["Authorization"].startswith("Basic ")
    assert (message.state, message.provider) == ("sent", "twilio")
    assert message.provider_message_id.startswith("SM")
    assert (message.encoding, message.segments) == ("UCS-2", 1)


def test_africastalking_sdk_sends_the_message(sending_app, fake_gateway):
    """The Africa's Talking SDK posts username, to, message and sender; the row keeps AT's message id."""
    app = sending_app("africastalking")
    with app.app_context():
        message = send("Merci. Reference K7M4Q")
    [request] = fake_gateway.sent("africastalking")
    assert request.path == "/africastalking/version1/messaging"
    assert request.form["username"] == "hotline-test"
    assert request.form["to"] == CALLER
    assert request.form["message"] == "Merci. Reference K7M4Q"
    assert request.form["from"] == "HOTLINE"
    assert request.headers["apiKey"] == "at-test-key"
    assert (message.state, message.provider, message.provider_message_id) == ("sent", "africastalking",
                                                                               "ATXid_00000001")


@pytest.mark.parametrize("failure", ["error-5xx", "429", "hang"])
def test_failing_provider_fails_over_to_the_next(sending_app, fake_gateway, failure):
    """A 5xx, a 429 or a timeout from the first provider hands the message to the second, once."""
    app = sending_app("twilio,africastalking")
    fake_gateway.behaviour["twilio"] = failure
    fake_gateway.hang_seconds = 3
    with app.app_context():
        message = send("Bonjour")
    assert (message.state, message.provider) == ("sent", "africastalking")
    assert len(fake_gateway.sent("africastalking")) == 1


def test_refused_number_is_failed_without_retry(sending_app, fake_gateway):
    """A 4xx that means a bad number marks the message failed with the reason, and nothing retries it."""
    app = sending_app("twilio,africastalking")
    fake_gateway.behaviour["twilio"] = "error-4xx"
    with app.app_context():
        message = send("Bonjour")
        job = get_session().query(DurableJob).one()
    assert message.state == "failed"
    assert message.failure_reason == "twilio: invalid To number"
    assert job.state == "done"
    assert fake_gateway.sent("africastalking") == []


def test_all_providers_down_retries_with_backoff_then_sends_once(sending_app, fake_gateway):
    """When every provider fails the job retries later; after recovery the message goes exactly once."""
    app = sending_app("twilio,africastalking")
    fake_gateway.behaviour.update(twilio="error-5xx", africastalking="error-5xx")
    with app.app_context():
        message = send("Bonjour")
        job = get_session().query(DurableJob).one()
        assert (message.state, job.state, job.attempts) == ("queued", "pending", 1)
        assert "twilio: HTTP 500" in message.failure_reason
        assert job.due_at > utcnow()
        fake_gateway.behaviour.update(twilio="ok", africastalking="ok")
        job.due_at = utcnow()
        get_session().commit()
        assert run_durable_job(job.id) == "done"
        assert run_durable_job(job.id) == "skipped"
        get_session().expire_all()
        assert get_session().get(OutboundMessage, message.id).state == "sent"
    assert len(fake_gateway.sent("twilio")) == 1


def test_opted_out_number_gets_nothing_but_the_confirmation(sending_app, fake_gateway):
    """After STOP, replies to that number are suppressed; the STOP confirmation still goes."""
    app = sending_app("africastalking")
    with app.app_context():
        cipher = pii.cipher()
        get_session().add(Contact(phone=CALLER, phone_hash=cipher.lookup_hash(CALLER),
                                  opted_out_at=datetime.now().astimezone()))
        get_session().commit()
        suppressed = send("Question suivante")
        confirmation = queue_sms(CALLER, "Vous ne recevrez plus de messages.", purpose="confirmation")
        get_session().commit()
        get_queue().run_due()
        get_session().expire_all()
        assert suppressed.state == "suppressed"
        assert get_session().get(OutboundMessage, confirmation.id).state == "sent"
    assert [r.form["message"] for r in fake_gateway.sent("africastalking")] == ["Vous ne recevrez plus de messages."]


def test_unknown_provider_name_is_reported(sending_app):
    """SMS_PROVIDERS with a name that is not a provider fails the send with that name in the error."""
    app = sending_app("pigeon")
    with app.app_context(), pytest.raises(ValueError, match="pigeon"):
        from workers.sms import sms_providers

        sms_providers()
