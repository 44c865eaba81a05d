"""The authorisation matrix of the console: role x page (x provider), every denial a 403 with an audit event."""

from __future__ import annotations

import pytest

from tests.console_helpers import audit_events, login, make_user
from tests.referral_helpers import BAMAKO_DANGER, load_demo_directory, screen_case

CALLER = "+22376400011"
OWN_PROVIDER = "shelter.ajdm.bamako"  # alerted for the Bamako case
OTHER_PROVIDER = "shelter.direy-ben.gao"  # never involved in it
ACCOUNTS = {"admin": None, "operator": None, "analyst": None, "staff_own": OWN_PROVIDER,
            "staff_other": OTHER_PROVIDER}
EVERYONE = frozenset(ACCOUNTS)
CASE_READERS = frozenset({"admin", "operator", "staff_own"})
DIRECTORY = frozenset({"admin", "operator"})
# (method, path, who may) for every console page and action; {ref} is the screened case.
MATRIX = [
    ("GET", "/console/", EVERYONE),
    ("GET", "/console/cases", frozenset({"admin", "operator", "staff_own", "staff_other"})),
    ("GET", "/console/cases/{ref}", CASE_READERS),
    ("POST", "/console/cases/{ref}/notes", CASE_READERS),
    ("POST", "/console/cases/{ref}/status", DIRECTORY),
    ("POST", "/console/cases/{ref}/personal-data", DIRECTORY),
    ("GET", "/console/providers", DIRECTORY),
    ("GET", "/console/providers/map", DIRECTORY),
    ("GET", "/console/providers/new", DIRECTORY),
    ("GET", f"/console/providers/{OWN_PROVIDER}/edit", DIRECTORY),
    ("POST", f"/console/providers/{OWN_PROVIDER}/capacity", DIRECTORY),
    ("GET", "/console/providers/import", DIRECTORY),
    ("GET", "/console/outbox", DIRECTORY),
    ("GET", "/console/users", frozenset({"admin"})),
    ("POST", "/console/users", frozenset({"admin"})),
    ("POST", "/console/users/1/deactivate", frozenset({"admin"})),
]


@pytest.fixture
def screened(app, client):
    load_demo_directory(app)
    reference = screen_case(app, client, "ATUid_matrix", CALLER, BAMAKO_DANGER)
    emails = {}
    for account, provider in ACCOUNTS.items():
        role = "provider_staff" if provider else account
        emails[account] = make_user(app, role, email=f"{account}@hotline.test", provider=provider)
    return app, reference, emails


def _token(client) -> str:
    from tests.console_helpers import csrf_token

    return csrf_token(client, "/console/")


def _request(client, method: str, path: str):
    if method == "GET":
        return client.get(path)
    # The forms' fields are left empty: an allowed role gets a validation answer, never a 403.
    return client.post(path, data={"csrf_token": _token(client)})


@pytest.mark.parametrize("account", sorted(ACCOUNTS))
def test_every_page_is_allowed_or_denied_as_the_matrix_says(screened, account):
    """Each account opens every page: allowed ones answer, denied ones are a 403 with an access.denied event."""
    app, reference, emails = screened
    client = app.test_client()
    assert login(client, emails[account]).status_code == 302
    denied_paths = []
    for method, template, allowed in MATRIX:
        path = template.format(ref=reference)
        response = _request(client, method, path)
        if account in allowed:
            assert response.status_code in (200, 302, 422), (method, path, response.status_code)
        else:
            assert response.status_code == 403, (account, method, path, response.status_code)
            assert "403" in response.get_data(as_text=True)
            denied_paths.append(path)
    events = audit_events(app, "access.denied")
    assert [e.details["path"] for e in events] == denied_paths
    role = "provider_staff" if ACCOUNTS[account] else account
    assert all(e.details["role"] == role and e.user_id is not None for e in events)
    assert all(CALLER not in str(e.details) for e in events)


def test_provider_staff_see_only_their_providers_cases(screened):
    """Staff of the alerted shelter see the case and its referral; staff of another provider see neither."""
    app, reference, emails = screened
    own, other = app.test_client(), app.test_client()
    login(own, emails["staff_own"])
    login(other, emails["staff_other"])
    assert reference in own.get("/console/").get_data(as_text=True)
    assert reference in own.get("/console/cases").get_data(as_text=True)
    page = own.get(f"/console/cases/{reference}").get_data(as_text=True)
    assert "Centre AJDM" in page and "Brigade des moeurs" not in page  # only their own referral
    assert reference not in other.get("/console/").get_data(as_text=True)
    assert reference not in other.get("/console/cases").get_data(as_text=True)
    assert other.get(f"/console/cases/{reference}").status_code == 403
    event = audit_events(app, "access.denied")[-1]
    assert event.details == {"path": f"/console/cases/{reference}", "method": "GET", "role": "provider_staff",
                             "reason": "other provider"}


def test_analyst_sees_counts_and_no_case(screened):
    """The analyst's dashboard shows the counts by risk and no reference or name."""
    app, reference, emails = screened
    client = app.test_client()
    login(client, emails["analyst"])
    page = client.get("/console/").get_data(as_text=True)
    assert 'data-risk="critical">1<' in page
    assert reference not in page and "AJDM" not in page


def test_signed_out_visitor_is_sent_to_the_login(screened):
    """Without a session every console page redirects to the login form."""
    app, reference, _ = screened
    client = app.test_client()
    for _method, template, _allowed in MATRIX:
        if _method == "GET":
            response = client.get(template.format(ref=reference))
            assert response.status_code == 302 and response.headers["Location"].startswith("/console/login")
