"""Console pages: dashboard, case page with personal data behind an audited action, providers, outbox, users."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from hotline.db import get_session
from hotline.models import Alert, Case, OutboundMessage, Provider, User
from tests.console_helpers import PASSWORD, audit_events, login, make_user, post_form
from tests.referral_helpers import BAMAKO_DANGER, load_demo_directory, screen_case

CALLER = "+22376400021"


@pytest.fixture
def operator(app, client):
    """The demo directory, one screened Bamako case, and an operator signed in; returns the reference."""
    load_demo_directory(app)
    reference = screen_case(app, client, "ATUid_pages", CALLER, BAMAKO_DANGER)
    login(client, make_user(app, "operator"))
    return reference


def test_dashboard_shows_open_cases_waiting_referrals_and_health(app, client, operator):
    """The dashboard lists the new case by risk, its waiting referrals with time left, and service health."""
    page = client.get("/console/").get_data(as_text=True)
    assert 'data-risk="critical">1<' in page and operator in page
    assert "Centre AJDM" in page and "encore 9 min" in page  # critical: 10 minutes to answer
    health = page.split('id="health"')[1]
    assert health.count('class="badge state-ok"') == 2  # database and queue answer


def test_failed_alert_appears_on_the_dashboard(app, client, operator):
    """An alert SMS that failed is listed with its case and the gateway's reason, never the number."""
    with app.app_context():
        session = get_session()
        message = session.get(OutboundMessage, session.scalars(select(Alert.outbound_message_id)).first())
        message.state, message.failure_reason = "failed", "gateway refused the number"
        phone = message.to_phone
        session.commit()
    page = client.get("/console/").get_data(as_text=True)
    assert "gateway refused the number" in page and phone not in page


def test_case_page_explains_risk_routing_and_timeline_without_personal_data(app, client, operator):
    """The case page shows indicators, the routing sentences and alert statuses, but not the answers or number."""
    page = client.get(f"/console/cases/{operator}").get_data(as_text=True)
    assert "En danger maintenant" in page and "UNODC" in page and "Score 7" in page
    assert "porte le niveau au moins à critique" in page  # how the risk was raised to critical
    assert "Centre AJDM" in page and "personnel alerté par SMS" in page
    assert 'class="badge state-sent">envoyé<' in page  # the alerts' delivery state
    assert "Commune I (Bamako)" in page
    personal = page.split('id="personal-data"')[1]
    assert CALLER not in page and "12_17" not in personal and 'id="show-personal-data"' in personal


def test_showing_personal_data_is_an_audited_action(app, client, operator):
    """Posting "show personal data" reveals the number and answers once and writes case.pii_viewed."""
    response = post_form(client, f"/console/cases/{operator}/personal-data", token_from=f"/console/cases/{operator}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and CALLER in page and "12_17" in page
    [event] = audit_events(app, "case.pii_viewed")
    assert event.user_id is not None and CALLER not in str(event.details)
    assert CALLER not in client.get(f"/console/cases/{operator}").get_data(as_text=True)


def test_notes_are_encrypted_and_status_changes_are_audited(app, client, operator):
    """A note is stored encrypted; closing needs an outcome; each change is in the timeline."""
    case_path = f"/console/cases/{operator}"
    post_form(client, f"{case_path}/notes", {"body": "Appelée par la permanence"}, token_from=case_path)
    assert post_form(client, f"{case_path}/status", {"status": "closed"}, token_from=case_path).status_code == 302
    with app.app_context():
        session = get_session()
        case = session.scalar(select(Case).where(Case.reference == operator))
        assert case.status == "referred"  # refused: no outcome
        raw = session.execute(text("SELECT body FROM case_notes")).scalar_one()
        assert "Appelée" not in raw
    post_form(client, f"{case_path}/status", {"status": "closed", "outcome": "sheltered"}, token_from=case_path)
    page = client.get(case_path).get_data(as_text=True)
    assert "Appelée par la permanence" in page and "hébergé" in page and "statut modifié" in page
    with app.app_context():
        assert get_session().scalar(select(Case.status).where(Case.reference == operator)) == "closed"


def test_case_list_filters(app, client, operator):
    """The case list filters by risk, status, region and date."""
    assert operator in client.get("/console/cases?risk=critical&region=bamako").get_data(as_text=True)
    assert operator not in client.get("/console/cases?risk=low").get_data(as_text=True)
    assert operator not in client.get("/console/cases?status=closed").get_data(as_text=True)
    assert operator not in client.get("/console/cases?region=gao").get_data(as_text=True)
    assert operator not in client.get("/console/cases?to=2020-01-01").get_data(as_text=True)


def test_provider_form_validates_with_the_directory_rules_and_saves(app, client, operator):
    """A provider form with errors lists them by field; a good one is saved with its contacts."""
    form = {"id": "shelter.test.kayes", "name": "Centre test", "kind": "shelter", "latitude": "14.45",
            "longitude": "abc", "serves": ["women"], "hours": "mon-fri 08:00-17:00", "languages": "fr",
            "contacts": "Awa: 12", "active": "yes"}
    response = post_form(client, "/console/providers/new", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "longitude" in page and "contacts" in page
    form.update(longitude="-11.44", contacts="Awa: +223 76 12 34 56\n+223 66 12 34 56", beds_free="3")
    assert post_form(client, "/console/providers/new", form).status_code == 302
    with app.app_context():
        provider = get_session().scalar(select(Provider).where(Provider.code == "shelter.test.kayes"))
        assert provider.beds_free == 3 and [c.phone for c in provider.contacts] == ["+22376123456", "+22366123456"]
    edit = client.get("/console/providers/shelter.test.kayes/edit").get_data(as_text=True)
    assert "Awa: +22376123456" in edit


def test_capacity_update(app, client, operator):
    """The bed count of a provider is saved and audited; a negative count is refused."""
    path = "/console/providers/shelter.ajdm.bamako/capacity"
    post_form(client, path, {"beds_free": "-1"})
    post_form(client, path, {"beds_free": "4"})
    with app.app_context():
        assert get_session().scalar(select(Provider.beds_free).where(Provider.code == "shelter.ajdm.bamako")) == 4
    assert [e.details for e in audit_events(app, "provider.capacity")] == [{"beds_free": 4}]


CSV_HEADER = "id,name,kind,latitude,longitude,serves,hours,languages,contacts\n"


def test_csv_import_lists_bad_rows_and_imports_nothing_unless_asked(app, client, operator):
    """A CSV with a bad row imports nothing and names the row; with "valid rows only" the good row is saved."""
    from io import BytesIO

    text = CSV_HEADER + ("ngo.new.gao,ONG Gao,ngo,16.27,-0.04,women;girls,24/7,fr,+223 76 12 34 57\n"
                         "ngo.bad.gao,ONG bad,spaceship,16.27,-0.04,women,24/7,fr,+223 76 12 34 58\n")

    def upload(valid_only: bool):
        data = {"file": (BytesIO(text.encode()), "directory.csv")}
        if valid_only:
            data["valid_only"] = "yes"
        return post_form(client, "/console/providers/import", data, token_from="/console/providers/import",
                         content_type="multipart/form-data")

    first = upload(False)
    page = first.get_data(as_text=True)
    assert first.status_code == 422 and "spaceship" in page and "<td>3</td>" in page
    with app.app_context():
        assert get_session().scalar(select(Provider).where(Provider.code == "ngo.new.gao")) is None
    upload(True)
    with app.app_context():
        assert get_session().scalar(select(Provider).where(Provider.code == "ngo.new.gao")) is not None


def test_outbox_shows_encoding_and_segments_without_full_numbers(app, client, operator):
    """The outbox lists the console provider's SMS with encoding and segment count; numbers are masked."""
    page = client.get("/console/outbox").get_data(as_text=True)
    assert operator in page and "GSM-7" in page and 'class="segments">2<' in page
    assert "+22320000" not in page


def test_outbox_masks_numbers_inside_the_text_and_audits_showing_them(app, client, operator):
    """The caller's number inside an alert is masked; showing the message in full is recorded in the audit log."""
    page = client.get("/console/outbox").get_data(as_text=True)
    assert CALLER not in page and CALLER[-2:] in page
    with app.app_context():
        alert = get_session().scalar(select(OutboundMessage).where(OutboundMessage.purpose == "alert"))
        assert CALLER in alert.body
    shown = post_form(client, f"/console/outbox/{alert.id}/reveal", {}, token_from="/console/outbox")
    assert shown.status_code == 200 and CALLER in shown.get_data(as_text=True)
    assert [e.subject_id for e in audit_events(app, "outbox.pii_viewed")] == [alert.id]
    assert CALLER not in client.get("/console/outbox").get_data(as_text=True)


def test_admin_creates_and_deactivates_users(app, client):
    """An admin adds a provider staff user (provider required) and deactivates another user."""
    load_demo_directory(app)
    login(client, make_user(app, "admin"))
    base = {"email": "staff@hotline.test", "name": "Staff", "role": "provider_staff", "password": PASSWORD,
            "password_again": PASSWORD}
    refused = post_form(client, "/console/users", base)
    assert refused.status_code == 422 and "rattaché" in refused.get_data(as_text=True)
    assert post_form(client, "/console/users", {**base, "provider": "shelter.ajdm.bamako"}).status_code == 302
    with app.app_context():
        staff = get_session().scalar(select(User).where(User.email == "staff@hotline.test"))
        assert staff.provider_id is not None and staff.role == "provider_staff"
    post_form(client, f"/console/users/{staff.id}/deactivate")
    with app.app_context():
        assert get_session().get(User, staff.id).active is False
    assert login(app.test_client(), "staff@hotline.test").status_code == 401
