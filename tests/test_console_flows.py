"""Flows pages: versions list, live lint endpoint, publish (refused on errors, audited), diff, access."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hotline.db import get_session
from hotline.models import Conversation, FlowVersion
from tests.console_helpers import audit_events, csrf_token, login, make_user, post_form
from tests.gateway_requests import send_ussd, ussd_session
from tests.helpers import PROJECT_ROOT
from tests.referral_helpers import load_demo_directory

SOURCE = (PROJECT_ROOT / "flows" / "shipped" / "screening.yaml").read_text(encoding="utf-8")
AGE_QUESTION = 'fr: "Quel âge avez-vous ?"'
CHANGED = SOURCE.replace(AGE_QUESTION, 'fr: "Quel âge as-tu ?"', 1)
EDITOR = "/console/flows/screening"


def broken_source() -> tuple[str, int]:
    """The screening flow with an unknown node kind on the danger question; returns it and that line."""
    kind = SOURCE.index("kind: menu", SOURCE.index("  danger:\n"))
    return SOURCE[:kind] + "kind: menuu" + SOURCE[kind + len("kind: menu"):], SOURCE[:kind].count("\n") + 1


@pytest.fixture
def operator(app, client):
    """An operator signed in; the shipped flows are published when the console first lists them."""
    login(client, make_user(app, "operator"))
    return client


def lint(client, source: str):
    return client.post(f"{EDITOR}/lint", json={"source": source}, headers={"X-CSRFToken": csrf_token(client, EDITOR)})


def publish(client, source: str):
    return post_form(client, f"{EDITOR}/publish", {"source": source}, token_from=EDITOR)


def versions(app, flow_id: str = "screening") -> list[FlowVersion]:
    with app.app_context():
        session = get_session()
        session.expire_all()
        return list(session.scalars(select(FlowVersion).where(FlowVersion.flow_id == flow_id)
                                    .order_by(FlowVersion.number)))


def test_flow_list_shows_each_flow_with_its_versions(app, operator):
    """The list shows every shipped flow as version 1, published by a deploy, with 0 running sessions."""
    page = operator.get("/console/flows").get_data(as_text=True)
    assert 'id="flow-screening"' in page and 'id="flow-witness"' in page
    assert "déploiement (fichier livré)" in page
    assert re.search(r'data-version="1">.*?class="running">0<', page, re.S)


def test_lint_endpoint_reports_a_broken_flow_with_its_line(app, operator):
    """A flow with an unknown node kind comes back as an error on that line, in a plain sentence."""
    source, line = broken_source()
    result = lint(operator, source).get_json()
    assert result["errors"] >= 1
    problem = next(p for p in result["problems"] if p["severity"] == "error")
    assert problem["line"] == line
    assert "menuu" in problem["message"] and "Did you mean 'menu'" in problem["message"]
    assert f'data-line="{line}"' in result["problems_html"]
    assert "aperçu apparaît quand le flux n’a plus d’erreur" in result["preview_html"]


def test_lint_endpoint_previews_every_screen_of_a_correct_flow(app, operator):
    """A correct flow has no error and a preview with USSD lengths and SMS encodings and segments."""
    result = lint(operator, CHANGED).get_json()
    assert result["errors"] == 0
    assert "Quel age as-tu ?" in result["preview_html"]  # the USSD screen, folded to GSM
    assert "/182 caractères" in result["preview_html"] and "UCS-2" in result["preview_html"]
    assert re.search(r"\d+ segment\(s\)", result["preview_html"])


def test_lint_endpoint_needs_the_csrf_token(app, operator):
    """The JSON check is refused without the page's CSRF token."""
    assert operator.post(f"{EDITOR}/lint", json={"source": SOURCE}).status_code == 400


def test_editor_shows_the_text_with_line_numbers_and_problems(app, operator):
    """The editor page carries the newest text, a line-number gutter and the (empty) problem list."""
    page = operator.get(EDITOR).get_data(as_text=True)
    assert 'id="flow-source"' in page and "Quel âge avez-vous ?" in page
    gutter = page.split('id="gutter"', 1)[1].split("</pre>", 1)[0]
    assert f"\n{SOURCE.count(chr(10))}\n" in gutter
    assert "Aucun problème trouvé." in page


def test_publish_makes_the_next_version_with_an_audit_event(app, operator):
    """Publishing a changed text makes version 2, published by the operator, with a flow.published event."""
    publish(operator, SOURCE)  # the list is published on first use; nothing changed yet
    response = publish(operator, CHANGED)
    assert response.status_code == 302
    rows = versions(app)
    assert [row.number for row in rows] == [1, 2]
    assert rows[1].source == CHANGED and rows[1].published_by_id is not None
    [event] = audit_events(app, "flow.published")
    assert event.details["flow"] == "screening" and event.details["number"] == 2
    assert event.user_id == rows[1].published_by_id
    page = operator.get("/console/flows").get_data(as_text=True)
    assert "Operator" in page and 'data-version="2"' in page


def test_publish_is_refused_while_the_flow_has_errors(app, operator):
    """A text with an error is not published: the editor comes back with the problem and its line."""
    source, line = broken_source()
    response = publish(operator, source)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Non publié" in page and f"ligne {line}" in page and "menuu" in page
    assert [row.number for row in versions(app)] == [1]
    assert audit_events(app, "flow.published") == []


def test_publish_refuses_another_flow_id(app, operator):
    """The editor of one flow cannot publish a text that renamed it."""
    response = publish(operator, SOURCE.replace("id: screening", "id: screening-copy", 1))
    assert response.status_code == 422
    assert "screening" in response.get_data(as_text=True)
    assert versions(app, "screening-copy") == []


def test_running_conversation_keeps_its_version_after_a_publish(app, operator):
    """A USSD session begun on version 1 still sees its text after version 2; a new dial sees the new text."""
    first = ussd_session(operator, "ATUid_flows_1", "+22376400051", ["1", "1", "1"])
    assert first[-1].startswith("CON ")
    assert publish(operator, CHANGED).status_code == 302
    old = send_ussd(operator, "ATUid_flows_1", "+22376400051", "1*1*1*1").get_data(as_text=True)
    assert "Quel age avez-vous" in old
    new = ussd_session(operator, "ATUid_flows_2", "+22376400052", ["1", "1", "1", "1"])
    assert "Quel age as-tu" in new[-1]
    v1, v2 = versions(app)
    with app.app_context():
        rows = get_session().execute(select(Conversation.gateway_session_id, Conversation.flow_version_id)).all()
    pinned = dict(rows)
    assert pinned == {"ATUid_flows_1": v1.id, "ATUid_flows_2": v2.id}
    page = operator.get(EDITOR).get_data(as_text=True)
    assert re.search(r'data-version="1">.*?class="running">1<', page, re.S)
    assert re.search(r'data-version="2">.*?class="running">1<', page, re.S)


def test_diff_between_two_versions(app, operator):
    """The diff page shows the removed and the added line between versions 1 and 2."""
    operator.get("/console/flows")
    publish(operator, CHANGED)
    page = operator.get(f"{EDITOR}/diff?from=1&to=2").get_data(as_text=True)
    assert re.search(r'<span class="diff-del">-\s+fr: &#34;Quel âge avez-vous \?&#34;</span>', page)
    assert re.search(r'<span class="diff-add">\+\s+fr: &#34;Quel âge as-tu \?&#34;</span>', page)
    assert "@@" in page
    same = operator.get(f"{EDITOR}/diff?from=2&to=2").get_data(as_text=True)
    assert "même texte" in same
    assert operator.get(f"{EDITOR}/diff?from=9&to=2").status_code == 404


PAGES = [("GET", "/console/flows"), ("GET", EDITOR), ("POST", f"{EDITOR}/lint"), ("POST", f"{EDITOR}/publish"),
         ("GET", f"{EDITOR}/diff"), ("GET", "/console/simulator"), ("POST", "/console/simulator/start"),
         ("POST", "/console/simulator/reply")]


@pytest.mark.parametrize("role", ["analyst", "provider_staff"])
def test_other_roles_get_403_and_an_audit_event(app, client, role):
    """Analysts and provider staff are refused every flow and simulator page, each refusal audited."""
    load_demo_directory(app)
    login(client, make_user(app, role, provider="shelter.ajdm.bamako" if role == "provider_staff" else None))
    token = csrf_token(client, "/console/")
    for method, path in PAGES:
        response = client.get(path) if method == "GET" else client.post(path, data={"csrf_token": token})
        assert response.status_code == 403, (role, path)
    events = audit_events(app, "access.denied")
    assert [e.details["path"] for e in events] == [path for _method, path in PAGES]
    assert all(e.details["role"] == role for e in events)
    assert versions(app) == [] or [row.number for row in versions(app)] == [1]


def test_admin_may_open_the_flow_pages(app, client):
    """An administrator opens the list, the editor and the simulator."""
    login(client, make_user(app, "admin"))
    for path in ("/console/flows", EDITOR, "/console/simulator"):
        assert client.get(path).status_code == 200, path
