"""The JSON API under /api/v1: token auth, the console's role rules, JSON errors, and responses that match
the OpenAPI document (checked with jsonschema, and fuzzed with schemathesis)."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from hotline.api.tokens import issue_token
from hotline.commands.users import users
from hotline.db import get_session
from hotline.models import User
from tests.console_helpers import audit_events, login, make_user, post_form
from tests.referral_helpers import BAMAKO_DANGER, load_demo_directory, screen_case

CALLER = "+22376400061"
OWN_PROVIDER = "shelter.ajdm.bamako"
OTHER_PROVIDER = "shelter.direy-ben.gao"
ACCOUNTS = {"admin": None, "operator": None, "analyst": None, "staff_own": OWN_PROVIDER,
            "staff_other": OTHER_PROVIDER}


def issue(app, email: str) -> str:
    with app.app_context():
        db = get_session()
        token = issue_token(db, db.scalar(select(User).where(User.email == email)))
        db.commit()
        return token


@pytest.fixture
def world(app, client):
    """A screened Bamako case and one API token per account."""
    load_demo_directory(app)
    reference = screen_case(app, client, "ATUid_api", CALLER, BAMAKO_DANGER)
    tokens = {}
    for account, provider in ACCOUNTS.items():
        role = "provider_staff" if provider else account
        tokens[account] = issue(app, make_user(app, role, email=f"{account}@hotline.test", provider=provider))
    return app, reference, tokens


def get(app, path: str, token: str | None = None, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return app.test_client().get(path, headers=headers)


def document(app) -> dict:
    return app.test_client().get("/api/v1/openapi.json").get_json()


def validate(doc: dict, model: str, body) -> None:
    """Validate ``body`` against a component schema of the document, with its $refs resolved."""
    Draft202012Validator({"$ref": f"#/components/schemas/{model}", "components": doc["components"]}).validate(body)


def test_missing_bad_or_revoked_token_is_a_401_in_json(world):
    """No header, another scheme, an unknown token, a revoked one or a deactivated user: 401 {"error"}."""
    app, _reference, tokens = world
    for response in (get(app, "/api/v1/cases"), get(app, "/api/v1/cases", Authorization="Basic YTpi"),
                     get(app, "/api/v1/cases", "hl_not-a-real-token"), get(app, "/api/v1/statistics", "x")):
        assert response.status_code == 401
        assert set(response.get_json()) == {"error"}
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert get(app, "/api/v1/cases", tokens["operator"]).status_code == 200
    with app.app_context():
        db = get_session()
        db.scalar(select(User).where(User.email == "operator@hotline.test")).active = False
        db.commit()
    assert get(app, "/api/v1/cases", tokens["operator"]).status_code == 401
    assert issue(app, "admin@hotline.test") != tokens["admin"]  # a new token replaces the old one
    assert get(app, "/api/v1/cases", tokens["admin"]).status_code == 401


def test_roles_follow_the_console_and_every_refusal_is_audited(world):
    """Analysts get statistics only; provider staff only their provider's cases and referrals; 403s audited."""
    app, reference, tokens = world
    allowed = {
        "analyst": ["/api/v1/statistics"],
        "staff_own": ["/api/v1/cases", f"/api/v1/cases/{reference}", "/api/v1/referrals"],
        "operator": ["/api/v1/cases", "/api/v1/providers", "/api/v1/providers/shelter.ajdm.bamako",
                     "/api/v1/referrals", "/api/v1/statistics", f"/api/v1/cases/{reference}?include=personal"],
    }
    denied = {
        "analyst": ["/api/v1/cases", f"/api/v1/cases/{reference}", "/api/v1/referrals", "/api/v1/providers"],
        "staff_own": ["/api/v1/providers", "/api/v1/statistics", f"/api/v1/cases/{reference}?include=personal"],
        "staff_other": [f"/api/v1/cases/{reference}"],
    }
    for account, paths in allowed.items():
        for path in paths:
            assert get(app, path, tokens[account]).status_code == 200, (account, path)
    expected = []
    for account, paths in denied.items():
        for path in paths:
            response = get(app, path, tokens[account])
            assert response.status_code == 403, (account, path)
            assert set(response.get_json()) == {"error"}
            expected.append(path.split("?")[0])
    events = audit_events(app, "access.denied")
    assert [e.details["path"] for e in events] == expected
    assert all(e.details["via"] == "api" and e.user_id is not None for e in events)
    assert events[-1].details["reason"] == "other provider"
    assert any(e.details["reason"] == "personal data" for e in events)
    assert all(CALLER not in str(e.details) for e in events)


def test_provider_staff_see_only_their_referrals(world):
    """AJDM staff list and open AJDM referrals only; another provider's referral is a 403."""
    app, reference, tokens = world
    own = get(app, "/api/v1/referrals", tokens["staff_own"]).get_json()["items"]
    assert own and {r["provider_code"] for r in own} == {OWN_PROVIDER}
    assert get(app, "/api/v1/referrals", tokens["staff_other"]).get_json()["items"] == []
    everything = get(app, "/api/v1/referrals", tokens["admin"]).get_json()["items"]
    assert len(everything) > len(own)
    other = next(r for r in everything if r["provider_code"] != OWN_PROVIDER)
    assert get(app, f"/api/v1/referrals/{other['id']}", tokens["staff_own"]).status_code == 403
    mine = get(app, f"/api/v1/referrals/{own[0]['id']}", tokens["staff_own"]).get_json()
    assert mine["case_reference"] == reference and mine["status"] == "alerted"
    case = get(app, f"/api/v1/cases/{reference}", tokens["staff_own"]).get_json()
    assert {r["provider_code"] for r in case["referrals"]} == {OWN_PROVIDER}


def test_personal_data_only_on_request_and_audited(world):
    """A case holds no number unless an operator asks with ?include=personal, which writes case.pii_viewed."""
    app, reference, tokens = world
    plain = get(app, f"/api/v1/cases/{reference}", tokens["operator"])
    assert CALLER not in plain.get_data(as_text=True) and plain.get_json()["personal"] is None
    assert plain.get_json()["risk_level"] == "critical"
    assert "immediate_danger" in {i["id"] for i in plain.get_json()["indicators"]}
    assert audit_events(app, "case.pii_viewed") == []
    personal = get(app, f"/api/v1/cases/{reference}?include=personal", tokens["operator"]).get_json()
    assert personal["personal"]["phone"] == CALLER and personal["personal"]["answers"]
    [event] = audit_events(app, "case.pii_viewed")
    assert event.details == {"fields": ["answers", "phone"], "via": "api"} and event.user_id is not None


def test_filters_bad_parameters_and_unknown_records(world):
    """Filters narrow the lists; a bad parameter is a 400, an unknown record or path a 404, a POST a 405."""
    app, reference, tokens = world
    token = tokens["admin"]
    assert [c["reference"] for c in get(app, "/api/v1/cases?risk=critical&region=bamako", token)
            .get_json()["items"]] == [reference]
    assert get(app, "/api/v1/cases?risk=low", token).get_json()["items"] == []
    assert get(app, "/api/v1/cases?from=2000-01-01&to=2000-12-31", token).get_json()["items"] == []
    page = get(app, "/api/v1/providers?kind=police&per_page=3", token).get_json()
    assert len(page["items"]) == 3 and page["has_more"] and {p["kind"] for p in page["items"]} == {"police"}
    assert {p["code"] for p in get(app, "/api/v1/providers?region=gao&per_page=200", token)
            .get_json()["items"]} >= {OTHER_PROVIDER}
    for path in ("/api/v1/cases?risk=extreme", "/api/v1/cases?from=yesterday", "/api/v1/cases?page=0",
                 "/api/v1/referrals?per_page=1000", "/api/v1/cases/ABC?include=everything",
                 "/api/v1/statistics?region=Not%20a%20code"):
        response = get(app, path, token)
        assert response.status_code == 400, path
        assert set(response.get_json()) == {"error"}
    for path in ("/api/v1/cases/ZZZZZZ", "/api/v1/referrals/999999", "/api/v1/referrals/99999999999",
                 "/api/v1/providers/nobody.here", "/api/v1/nothing", "/api/v1/cases/a%00b"):
        response = get(app, path, token)
        assert response.status_code == 404, path
        assert set(response.get_json()) == {"error"}
    refused = app.test_client().post("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 405 and refused.get_json()["error"]  # JSON, not the console's CSRF page


def test_statistics_are_suppressed_like_the_page(world):
    """The API's statistics carry the page's "<5" suppression and rounding, and the 4P table."""
    app, _reference, tokens = world
    body = get(app, "/api/v1/statistics", tokens["analyst"]).get_json()
    assert body["total"] == "<5"
    assert {"category": "bamako", "count": "<5"} in body["tables"]["region"]
    assert [row["category"] for row in body["tables"]["four_p"]] == ["prevention", "protection", "prosecution",
                                                                      "partnership"]
    counts = [row["count"] for table in body["tables"].values() for row in table]
    assert counts and set(counts) == {"<5"}
    assert "rounded" in body["rule"]


def test_every_api_route_is_in_the_openapi_document(world):
    """Each /api/v1 route of the application is a path of the document, and each documented path exists."""
    app, _reference, _tokens = world
    doc = document(app)
    assert doc["openapi"].startswith("3.1")
    routes = {re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
              for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.fallback"}
    assert routes == set(doc["paths"])
    assert all(set(item) == {"get"} for item in doc["paths"].values())
    assert doc["servers"] == [{"url": "/api/v1"}]


def test_real_responses_validate_against_the_document(world):
    """Responses of every operation, for several roles and errors, validate against the documented schemas."""
    app, reference, tokens = world
    doc = document(app)
    referral_id = get(app, "/api/v1/referrals", tokens["admin"]).get_json()["items"][0]["id"]
    calls = [
        ("/api/v1/cases", "admin"), ("/api/v1/cases?status=referred", "staff_own"),
        (f"/api/v1/cases/{reference}", "staff_own"), (f"/api/v1/cases/{reference}?include=personal", "admin"),
        ("/api/v1/referrals", "operator"), (f"/api/v1/referrals/{referral_id}", "admin"),
        ("/api/v1/providers", "admin"), (f"/api/v1/providers/{OWN_PROVIDER}", "operator"),
        ("/api/v1/statistics", "analyst"), ("/api/v1/statistics?from=2020-01-01&region=bamako", "admin"),
        ("/api/v1/cases", "analyst"), ("/api/v1/cases?risk=x", "admin"), ("/api/v1/cases/NOPE", "admin"),
        ("/api/v1/cases", None),
    ]
    validated = set()
    for path, account in calls:
        response = get(app, path, tokens.get(account))
        template = next(p for p in doc["paths"] if re.fullmatch(
            "/api/v1" + re.sub(r"\{\w+\}", "[^/?]+", p) + r"(\?.*)?", path))
        answer = doc["paths"][template]["get"]["responses"][str(response.status_code)]
        model = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        validate(doc, model, response.get_json())
        validated.add((template, response.status_code))
    assert {template for template, status in validated if status == 200} == set(doc["paths"]) - {"/openapi.json"}
    assert {status for _template, status in validated} == {200, 400, 401, 403, 404}
    validate(doc, "OpenApiDocument", doc)


def test_schemathesis_finds_no_failure_in_the_api(world):
    """Schemathesis generates requests from the document and checks every answer against it (bounded)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    app, _reference, tokens = world
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {tokens['admin']}"}

    @settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=schema.as_strategy())
    def check(case):
        case.call_and_validate(headers=headers)

    check()


def test_admin_issues_and_revokes_tokens_in_the_console(world):
    """The API tokens page (admins only) shows a new token once; revoking it makes the API answer 401."""
    app, _reference, _tokens = world
    make_user(app, "admin", email="boss@hotline.test")
    client = app.test_client()
    login(client, "boss@hotline.test")
    with app.app_context():
        analyst_id = get_session().scalar(select(User.id).where(User.email == "analyst@hotline.test"))
    page = post_form(client, f"/console/api-tokens/{analyst_id}", token_from="/console/api-tokens")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="token-value">([^<]+)<', page.get_data(as_text=True)).group(1)
    assert get(app, "/api/v1/statistics", token).status_code == 200
    assert token not in client.get("/console/api-tokens").get_data(as_text=True)
    with app.app_context():
        stored = get_session().scalar(select(User.api_token_hash).where(User.id == analyst_id))
    assert stored and token not in stored and len(stored) == 64
    revoked = post_form(client, f"/console/api-tokens/{analyst_id}/revoke", token_from="/console/api-tokens")
    assert revoked.status_code == 302
    assert get(app, "/api/v1/statistics", token).status_code == 401
    assert [e.subject_id for e in audit_events(app, "api_token.issued")][-1] == analyst_id
    assert len(audit_events(app, "api_token.revoked")) == 1
    operator = app.test_client()
    login(operator, make_user(app, "operator", email="op2@hotline.test"))
    assert operator.get("/console/api-tokens").status_code == 403
    assert post_form(operator, f"/console/api-tokens/{analyst_id}").status_code == 403


def test_users_token_command_prints_a_working_token(world):
    """`hotline users token --email` prints a token the API accepts; `--revoke` withdraws it."""
    app, _reference, _tokens = world
    runner = app.test_cli_runner()
    result = runner.invoke(users, ["token", "--email", "Analyst@hotline.test"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("hl_") and get(app, "/api/v1/statistics", token).status_code == 200
    assert runner.invoke(users, ["token", "--email", "analyst@hotline.test", "--revoke"]).exit_code == 0
    assert get(app, "/api/v1/statistics", token).status_code == 401
    assert runner.invoke(users, ["token", "--email", "nobody@hotline.test"]).exit_code != 0
