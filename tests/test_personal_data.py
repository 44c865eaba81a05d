"""Personal data: never in logs, never readable at rest, anonymised on schedule, exported and erased on request."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from hotline import create_app
from hotline.contacts import find_contact
from hotline.db import get_db, get_session
from hotline.models import Base, Case, Contact, Conversation, InboundMessage, OutboundMessage
from hotline.models.types import utcnow
from hotline.retention import erase_person, export_person, purge_personal_data, rotate_keys
from tests.conftest import gateway_settings
from tests.gateway_requests import send_at_sms, send_twilio_sms, ussd_session
from tests.helpers import run_jobs
from tests.referral_helpers import BAMAKO_DANGER, contact_phones, load_demo_directory, screen_case

CALLER = "+22376500001"
SMS_CALLER = "+22376500002"
PLACE_TEXT = "Lafiabougou pres du marche"
DECLINE_REASON = "capacite-atteinte-xyz"
# SMS screening: keyword, continue, can talk, not in danger, 18-25, woman, domestic work, ... then "1" answers.
SMS_INPUTS = ["AIDE", "1", "1", "2", "3", "1", "1", "1", "2", "2", "2", "2", "2", "2", PLACE_TEXT, "1", "1", "1"]


@pytest.fixture
def app_overrides(fake_gateway):
    return gateway_settings(fake_gateway, "africastalking,twilio")


def full_traffic(app, client) -> list[str]:
    """A USSD screening routed and accepted, an SMS screening by both gateways, and a decline."""
    load_demo_directory(app)
    reference = screen_case(app, client, "ATUid_pii", CALLER, BAMAKO_DANGER)
    staff = contact_phones(app, "shelter.ajdm.bamako")[0]
    police = contact_phones(app, "police.bamako")[0]
    send_at_sms(client, staff, f"OK {reference}")
    send_at_sms(client, police, f"NON {reference} {DECLINE_REASON}")
    for number, text_ in enumerate(SMS_INPUTS):
        (send_at_sms if number % 2 else send_twilio_sms)(client, SMS_CALLER, text_)
        run_jobs(app)
    return [CALLER, SMS_CALLER, staff, police]


def national_forms(e164: str) -> list[str]:
    """The ways a number can be written: E.164, without '+', and the eight national digits."""
    return [e164, e164.lstrip("+"), e164[-8:]]


def test_no_number_or_message_text_reaches_a_log_line(app, client, caplog):
    """Logs of a full screening, routing, staff replies and SMS sessions hold no number and no message text."""
    caplog.set_level(logging.DEBUG)
    numbers = full_traffic(app, client)
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert len(caplog.records) > 20  # the scan read real logging, not an empty capture
    for number in numbers:
        for form in national_forms(number):
            assert form not in logged, f"{form} was logged"
    assert PLACE_TEXT not in logged
    assert DECLINE_REASON not in logged


def test_raw_database_rows_hold_no_readable_number_or_text(app, client):
    """Read past the ORM: no table holds a phone number, an answer or a message text in clear."""
    numbers = full_traffic(app, client)
    secrets = [form for number in numbers for form in national_forms(number)] + [PLACE_TEXT, DECLINE_REASON]
    with app.app_context():
        dump = []
        with get_db().engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                for row in connection.execute(text(f"SELECT * FROM {table.name}")):
                    dump.append(" ".join(str(value) for value in row))
        dumped = "\n".join(dump)
        assert len(dump) > 50
        for secret in secrets:
            assert secret not in dumped, f"{secret} is readable at rest"
        # And the ORM still reads them back.
        assert find_contact(get_session(), CALLER).phone == CALLER


def test_purge_anonymises_old_closed_cases_and_keeps_statistics(app, client):
    """A case closed past the retention period loses answers, texts and number; its counts remain."""
    load_demo_directory(app)
    reference = screen_case(app, client, "ATUid_old", CALLER, BAMAKO_DANGER)
    recent = screen_case(app, client, "ATUid_new", "+22376500003", BAMAKO_DANGER)
    long_ago = utcnow() - timedelta(days=200)
    with app.app_context():
        session = get_session()
        old_case = session.scalar(select(Case).where(Case.reference == reference))
        old_case.status, old_case.closed_at = "closed", long_ago
        conversation = session.get(Conversation, old_case.conversation_id)
        conversation.last_activity_at = long_ago
        session.execute(update(Contact).where(Contact.id == conversation.contact_id).values(created_at=long_ago))
        session.commit()
        counts = purge_personal_data(session, timedelta(days=180))
        assert counts["cases"] == 1 and counts["contacts"] == 1
        session.expire_all()
        old_case = session.scalar(select(Case).where(Case.reference == reference))
        assert old_case.answers is None and old_case.anonymised_at is not None
        assert (old_case.risk_level, old_case.region_code, old_case.age_band) == ("critical", "bamako", "12_17")
        assert session.get(Conversation, old_case.conversation_id).state is None
        assert all(m.body is None for m in session.scalars(select(InboundMessage).where(
            InboundMessage.conversation_id == old_case.conversation_id)))
        assert find_contact(session, CALLER) is None
        kept = session.scalar(select(Case).where(Case.reference == recent))
        assert kept.answers is not None and kept.anonymised_at is None


def test_export_then_erase_a_person_on_request(app, client):
    """An admin can export what is held about a number, then erase it; the case stays without it."""
    load_demo_directory(app)
    reference = screen_case(app, client, "ATUid_req", CALLER, BAMAKO_DANGER)
    with app.app_context():
        session = get_session()
        exported = export_person(session, CALLER)
        assert exported["found"] and exported["cases"][0]["reference"] == reference
        assert len(exported["messages_received"]) == len(BAMAKO_DANGER) + 1
        assert erase_person(session, CALLER)
        session.commit()
        assert export_person(session, CALLER) == {"phone": CALLER, "found": False}
        case = session.scalar(select(Case).where(Case.reference == reference))
        assert case.answers is None and case.risk_level == "critical"
        assert all(m.to_phone == "" for m in session.scalars(select(OutboundMessage).where(
            OutboundMessage.contact_id.is_not(None))))


def test_key_rotation_rewrites_everything_under_the_new_key(embedded_app, tmp_path):
    """After rotation, an application holding only the new key reads every row and finds numbers."""
    from cryptography.fernet import Fernet

    app = embedded_app
    client = app.test_client()
    ussd_session(client, "ATUid_rot", CALLER, BAMAKO_DANGER[:4])
    old_key = app.config["HOTLINE_PII_KEY"]
    new_key = Fernet.generate_key().decode()
    database = app.config["DATABASE_URL"]
    both = create_app({"TESTING": True, "DATABASE_URL": database, "HOTLINE_PII_KEY": f"{new_key},{old_key}",
                       "INSTANCE_PATH": str(tmp_path / "i2")})
    with both.app_context():
        assert rotate_keys(get_session()) > 0
    only_new = create_app({"TESTING": True, "DATABASE_URL": database, "HOTLINE_PII_KEY": new_key,
                           "INSTANCE_PATH": str(tmp_path / "i3")})
    with only_new.app_context():
        session = get_session()
        assert find_contact(session, CALLER).phone == CALLER
        for message in session.scalars(select(InboundMessage)):
            assert message.body is not None
        assert all(c.state is not None for c in session.scalars(select(Conversation)))


def test_purge_runs_nightly_as_a_durable_job(embedded_app):
    """Start-up books tonight's purge once; running it books the next night's."""
    from hotline.models import DurableJob
    from workers.maintenance import ensure_periodic_jobs
    from workers.runner import run_durable_job

    with embedded_app.app_context():
        session = get_session()
        ensure_periodic_jobs()
        ensure_periodic_jobs()
        [row] = session.scalars(select(DurableJob).where(DurableJob.name == "purge_personal_data")).all()
        assert row.due_at > utcnow() and (row.due_at.hour, row.due_at.minute) == (2, 0)
        row.due_at = utcnow()
        session.commit()
        assert run_durable_job(row.id) == "done"
        keys = session.scalars(select(DurableJob.key).where(DurableJob.name == "purge_personal_data")
                               .order_by(DurableJob.id)).all()
        assert len(keys) == 2 and keys[0] != keys[1]
