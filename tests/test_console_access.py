"""The authorisation matrix of the console and the JSON API: role x page (x provider), every denial a 403 with
an audit event, and no route left out of the matrix."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.api.tokens import issue_token
from hotline.db import get_session
from hotline.models import Case, Provider, Referral, User
from tests.console_helpers import audit_events, csrf_token, login, make_user
from tests.referral_helpers import BAMAKO_DANGER, load_demo_directory, screen_case

CALLER = "+22376400011"
OWN_PROVIDER = "shelter.ajdm.bamako"  # alerted for the Bamako case
OTHER_PROVIDER = "shelter.direy-ben.gao"  # never involved in it
POLICE = "police.bamako"  # alerted for the Bamako case too: a referral AJDM staff must not see
ACCOUNTS = {"admin": None, "operator": None, "analyst": None, "staff_own": OWN_PROVIDER,
            "staff_other": OTHER_PROVIDER}
EVERYONE = frozenset(ACCOUNTS)
ADMIN = frozenset({"admin"})
DIRECTORY = frozenset({"admin", "operator"})
CASE_LISTS = frozenset({"admin", "operator", "staff_own", "staff_other"})  # provider staff see theirs only
CASE_READERS = frozenset({"admin", "operator", "staff_own"})
STATISTICS = frozenset({"admin", "operator", "analyst"})
# (method, path, who may) for every console page and action. {ref} is the screened case, {analyst} the
# analyst's user id; forms are posted empty, so an allowed role gets a page or a validation answer.
MATRIX = [
    ("GET", "/console/", EVERYONE),
    ("GET", "/console/cases", CASE_LISTS),
    ("GET", "/console/cases/{ref}", CASE_READERS),
    ("POST", "/console/cases/{ref}/notes", CASE_READERS),
    ("POST", "/console/cases/{ref}/status", DIRECTORY),
    ("POST", "/console/cases/{ref}/personal-data", DIRECTORY),
    ("GET", "/console/providers", DIRECTORY),
    ("GET", "/console/providers/map", DIRECTORY),
    ("GET", "/console/providers/new", DIRECTORY),
    ("POST", "/console/providers/new", DIRECTORY),
    ("GET", f"/console/providers/{OWN_PROVIDER}/edit", DIRECTORY),
    ("POST", f"/console/providers/{OWN_PROVIDER}/edit", DIRECTORY),
    ("POST", f"/console/providers/{OWN_PROVIDER}/capacity", DIRECTORY),
    ("GET", "/console/providers/import", DIRECTORY),
    ("POST", "/console/providers/import", DIRECTORY),
    ("GET", "/console/outbox", DIRECTORY),
    ("POST", "/console/outbox/1/reveal", DIRECTORY),  # the case's first alert, kept by the console provider
    ("GET", "/console/flows", DIRECTORY),
    ("GET", "/console/flows/screening", DIRECTORY),
    ("POST", "/console/flows/screening/lint", DIRECTORY),
    ("POST", "/console/flows/screening/publish", DIRECTORY),
    ("GET", "/console/flows/screening/diff", DIRECTORY),
    ("GET", "/console/simulator", DIRECTORY),
    ("POST", "/console/simulator/start", DIRECTORY),
    ("POST", "/console/simulator/reply", DIRECTORY),
    ("GET", "/console/statistics", STATISTICS),
    ("GET", "/console/statistics.csv", STATISTICS),
    ("GET", "/console/users", ADMIN),
    ("POST", "/console/users", ADMIN),
    ("POST", "/console/users/1/deactivate", ADMIN),  # user 1 is the admin: refused as deactivating oneself
    ("GET", "/console/people", ADMIN),
    ("POST", "/console/people/export", ADMIN),
    ("POST", "/console/people/erase", ADMIN),
    ("GET", "/console/api-tokens", ADMIN),
    ("POST", "/console/api-tokens/{analyst}", ADMIN),
    ("POST", "/console/api-tokens/{analyst}/revoke", ADMIN),
]
# Open to everyone, signed in or not: the way in and out, and the language switch.
PUBLIC = {("GET", "/console/login"), ("POST", "/console/login"), ("POST", "/console/logout"),
          ("POST", "/console/language")}
# (path, who may) for every API endpoint, called with each account's token. {own} is the Bamako case's
# referral to AJDM, {police} its referral to the Bamako police unit.
API_MATRIX = [
    ("/api/v1/cases", CASE_LISTS),
    ("/api/v1/cases/{ref}", CASE_READERS),
    ("/api/v1/cases/{ref}?include=personal", DIRECTORY),
    ("/api/v1/referrals", CASE_LISTS),
    ("/api/v1/referrals/{own}", CASE_READERS),
    ("/api/v1/referrals/{police}", DIRECTORY),
    ("/api/v1/providers", DIRECTORY),
    (f"/api/v1/providers/{OWN_PROVIDER}", DIRECTORY),
    ("/api/v1/statistics", STATISTICS),
    ("/api/v1/openapi.json", EVERYONE),
]
API_PUBLIC = {"/api/v1/openapi.json"}


@pytest.fixture
def screened(app, client):
    load_demo_directory(app)
    reference = screen_case(app, client, "ATUid_matrix", CALLER, BAMAKO_DANGER)
    emails = {}
    for account, provider in ACCOUNTS.items():
        role = "provider_staff" if provider else account
        emails[account] = make_user(app, role, email=f"{account}@hotline.test", provider=provider)
    return app, reference, emails


def _ids(app, reference: str) -> dict[str, str]:
    """The values of the matrices' placeholders: the case, the analyst's user id, two of the case's referrals."""
    with app.app_context():
        db = get_session()
        case_id = db.scalar(select(Case.id).where(Case.reference == reference))

        def referral_to(code: str) -> int:
            return db.scalar(select(Referral.id).join(Provider, Provider.id == Referral.provider_id)
                             .where(Referral.case_id == case_id, Provider.code == code))

        analyst = db.scalar(select(User.id).where(User.email == "analyst@hotline.test"))
        return {"ref": reference, "analyst": str(analyst), "own": str(referral_to(OWN_PROVIDER)),
                "police": str(referral_to(POLICE))}


def _request(client, method: str, path: str):
    if method == "GET":
        return client.get(path)
    # The forms' fields are left empty: an allowed role gets a validation answer, never a 403.
    return client.post(path, data={"csrf_token": csrf_token(client, "/console/")})


def _allowed(response) -> bool:
    """Answered for this user: not refused, not sent back to the login, not broken."""
    refused = response.status_code in (401, 403) or response.status_code >= 500
    to_login = response.status_code == 302 and response.headers["Location"].startswith("/console/login")
    return not refused and not to_login


@pytest.mark.parametrize("account", sorted(ACCOUNTS))
def test_every_page_is_allowed_or_denied_as_the_matrix_says(screened, account):
    """Each account opens every page: allowed ones answer, denied ones are a 403 with an access.denied event."""
    app, reference, emails = screened
    ids = _ids(app, reference)
    client = app.test_client()
    assert login(client, emails[account]).status_code == 302
    denied_paths = []
    for method, template, allowed in MATRIX:
        path = template.format(**ids)
        response = _request(client, method, path)
        if account in allowed:
            assert _allowed(response), (account, method, path, response.status_code)
        else:
            assert response.status_code == 403, (account, method, path, response.status_code)
            assert "403" in response.get_data(as_text=True)
            denied_paths.append(path)
    events = audit_events(app, "access.denied")
    assert [e.details["path"] for e in events] == denied_paths
    role = "provider_staff" if ACCOUNTS[account] else account
    assert all(e.details["role"] == role and e.user_id is not None for e in events)
    assert all(CALLER not in str(e.details) for e in events)


def _console_routes(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("console.")
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def _rule_of(app, method: str, path: str) -> str:
    rule, _values = app.url_map.bind("localhost").match(path.split("?")[0], method=method, return_rule=True)
    return rule.rule


def test_every_console_route_is_in_the_matrix(app):
    """A console route (or method) that MATRIX does not list, nor PUBLIC, fails here: new pages need a row."""
    ids = {"ref": "ABC123", "analyst": "2", "own": "1", "police": "2"}
    listed = {(method, _rule_of(app, method, template.format(**ids))) for method, template, _who in MATRIX}
    listed |= {(method, _rule_of(app, method, path)) for method, path in PUBLIC}
    assert sorted(_console_routes(app) - listed) == []
    assert len(listed) == len(MATRIX) + len(PUBLIC), "two rows of the matrix name the same route"


def test_public_console_routes_need_no_role(app):
    """The login page and the language switch answer without a session; logging out without one is harmless."""
    client = app.test_client()
    assert client.get("/console/login").status_code == 200
    token = csrf_token(client)
    assert client.post("/console/language", data={"lang": "en", "csrf_token": token}).status_code == 302
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 302
    assert audit_events(app, "access.denied") == []


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
    ids = _ids(app, reference)
    client = app.test_client()
    for method, template, _allowed_accounts in MATRIX:
        if method == "GET":
            response = client.get(template.format(**ids))
            assert response.status_code == 302 and response.headers["Location"].startswith("/console/login")


# ------------------------------------------------------------------------------ the JSON API


@pytest.fixture
def tokens(screened):
    """One API token per account."""
    app, reference, emails = screened
    issued = {}
    with app.app_context():
        db = get_session()
        for account, email in emails.items():
            issued[account] = issue_token(db, db.scalar(select(User).where(User.email == email)))
        db.commit()
    return app, reference, issued


def _api(app, path: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get(path, headers=headers)


@pytest.mark.parametrize("account", sorted(ACCOUNTS))
def test_every_api_endpoint_is_allowed_or_denied_as_the_matrix_says(tokens, account):
    """Each account's token on every endpoint: allowed ones are a 200, denied ones a JSON 403 with an audit event."""
    app, reference, issued = tokens
    ids = _ids(app, reference)
    denied_paths = []
    for template, allowed in API_MATRIX:
        path = template.format(**ids)
        response = _api(app, path, issued[account])
        if account in allowed:
            assert response.status_code == 200, (account, path, response.status_code)
        else:
            assert response.status_code == 403, (account, path, response.status_code)
            assert set(response.get_json()) == {"error"}
            denied_paths.append(path.split("?")[0])
    events = audit_events(app, "access.denied")
    assert [e.details["path"] for e in events] == denied_paths
    role = "provider_staff" if ACCOUNTS[account] else account
    assert all(e.details["via"] == "api" and e.details["role"] == role and e.user_id is not None for e in events)
    assert all(CALLER not in str(e.details) for e in events)


def test_api_without_a_token_is_a_401_on_every_protected_endpoint(tokens):
    """No token, no answer: every endpoint but the OpenAPI document is a 401."""
    app, reference, _issued = tokens
    ids = _ids(app, reference)
    for template, _allowed_accounts in API_MATRIX:
        expected = 200 if template in API_PUBLIC else 401
        assert _api(app, template.format(**ids)).status_code == expected, template


def test_every_api_route_is_in_the_matrix(app):
    """An API endpoint that API_MATRIX does not list fails here (the catch-all for unknown paths aside)."""
    ids = {"ref": "ABC123", "own": "1", "police": "2"}
    listed = {_rule_of(app, "GET", template.format(**ids)) for template, _who in API_MATRIX}
    routes = {rule.rule for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("api.") and rule.endpoint != "api.fallback"}
    assert sorted(routes - listed) == []


def test_api_provider_staff_see_only_their_providers_referrals(tokens):
    """AJDM staff list only AJDM referrals and cases; staff of another provider get none of this case's."""
    app, reference, issued = tokens
    own = _api(app, "/api/v1/referrals", issued["staff_own"]).get_json()["items"]
    assert own and {r["provider_code"] for r in own} == {OWN_PROVIDER}
    everything = _api(app, "/api/v1/referrals", issued["admin"]).get_json()["items"]
    assert {r["provider_code"] for r in everything} > {OWN_PROVIDER}
    assert _api(app, "/api/v1/referrals", issued["staff_other"]).get_json()["items"] == []
    assert [c["reference"] for c in _api(app, "/api/v1/cases", issued["staff_own"]).get_json()["items"]] == [reference]
    assert _api(app, "/api/v1/cases", issued["staff_other"]).get_json()["items"] == []
    case = _api(app, f"/api/v1/cases/{reference}", issued["staff_own"]).get_json()
    assert {r["provider_code"] for r in case["referrals"]} == {OWN_PROVIDER} and case["personal"] is None
