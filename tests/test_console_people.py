"""A person's data on request: admins export it as JSON or erase it after a confirmation, both audited
without the number; every other role gets a 403."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hotline.db import get_session
from hotline.models import Case
from tests.console_helpers import audit_events, login, make_user, post_form
from tests.referral_helpers import BAMAKO_DANGER, load_demo_directory, screen_case

CALLER = "+22376400071"
TYPED = "76 40 00 71"  # as an admin types it from a letter; normalised to the caller's number


@pytest.fixture
def screened(app, client):
    load_demo_directory(app)
    return screen_case(app, client, "ATUid_people", CALLER, BAMAKO_DANGER)


@pytest.fixture
def admin(app, screened):
    client = app.test_client()
    login(client, make_user(app, "admin"))
    return client


def _no_number_in(events) -> bool:
    return all(CALLER not in str(e.details) and "76400071" not in str(e.details) for e in events)


def test_admin_exports_a_persons_data_as_json(app, screened, admin):
    """The export is a JSON download with the person's case and messages, and a pii.exported event."""
    assert admin.get("/console/people").status_code == 200
    response = post_form(admin, "/console/people/export", {"phone": TYPED}, token_from="/console/people")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="personal-data.json"'
    data = json.loads(response.get_data(as_text=True))
    assert data["found"] and data["phone"] == CALLER
    assert [c["reference"] for c in data["cases"]] == [screened]
    assert data["messages_received"]
    [event] = audit_events(app, "pii.exported")
    assert event.details == {"found": True, "via": "console"} and event.user_id is not None
    assert _no_number_in([event])


def test_erase_asks_for_confirmation_then_erases(app, screened, admin):
    """The first step shows what is held and erases nothing; the confirmation erases and records pii.erased."""
    step = post_form(admin, "/console/people/erase", {"phone": TYPED}, token_from="/console/people")
    assert step.status_code == 200
    page = step.get_data(as_text=True)
    assert 'id="held-cases">1<' in page and 'id="confirm-erase"' in page
    assert audit_events(app, "pii.erased") == []
    still = post_form(admin, "/console/people/export", {"phone": CALLER}, token_from="/console/people")
    assert json.loads(still.get_data(as_text=True))["found"]
    done = post_form(admin, "/console/people/erase", {"phone": TYPED, "confirm": "yes"},
                     token_from="/console/people")
    assert done.status_code == 302 and done.headers["Location"].endswith("/console/people")
    [event] = audit_events(app, "pii.erased")
    assert event.details == {"found": True, "via": "console"} and _no_number_in([event])
    after = post_form(admin, "/console/people/export", {"phone": CALLER}, token_from="/console/people")
    assert json.loads(after.get_data(as_text=True)) == {"phone": CALLER, "found": False}
    with app.app_context():
        case = get_session().scalar(select(Case).where(Case.reference == screened))
        assert case.anonymised_at is not None and case.answers is None and case.risk_level == "critical"
    again = post_form(admin, "/console/people/erase", {"phone": CALLER}, token_from="/console/people")
    assert 'id="nothing-held"' in again.get_data(as_text=True)
    assert _no_number_in(audit_events(app, "pii.exported"))


def test_a_typo_is_refused_without_audit(app, screened, admin):
    """A value that is not a phone number is a 422 with a message, and nothing is exported or audited."""
    response = post_form(admin, "/console/people/export", {"phone": "not a number"}, token_from="/console/people")
    assert response.status_code == 422
    assert "Ce n’est pas un numéro de téléphone." in response.get_data(as_text=True)
    assert audit_events(app, "pii.exported") == []


@pytest.mark.parametrize("role", ["operator", "analyst", "provider_staff"])
def test_only_admins_may_export_or_erase(app, screened, role):
    """Operators, analysts and provider staff get a 403, with an access.denied event, on every people page."""
    client = app.test_client()
    login(client, make_user(app, role, provider="shelter.ajdm.bamako" if role == "provider_staff" else None))
    assert client.get("/console/people").status_code == 403
    for path in ("/console/people/export", "/console/people/erase"):
        response = post_form(client, path, {"phone": CALLER, "confirm": "yes"})
        assert response.status_code == 403
    assert [e.details["path"] for e in audit_events(app, "access.denied")] == [
        "/console/people", "/console/people/export", "/console/people/erase"]
    assert audit_events(app, "pii.erased") == [] and audit_events(app, "pii.exported") == []
    assert _no_number_in(audit_events(app, "access.denied"))
