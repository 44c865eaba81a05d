"""The simulator: real engine and routing in a sandbox (a simulated case; no referral, job or SMS), in two clients."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import func, select

import flows as engine
from hotline.db import get_session
from hotline.models import Alert, Case, Conversation, DurableJob, OutboundMessage, Referral
from tests import test_console_browser as browser_tests
from tests.console_helpers import csrf_token, login, make_user, post_form
from tests.helpers import PROJECT_ROOT
from tests.referral_helpers import load_demo_directory
from tests.test_console_browser import SCREENSHOTS, sign_in

# Preset French on USSD: continue; may talk; danger now; 12-17; female; Bamako; Commune I;
# shelter + police; call back yes; police yes (as tests/test_cli_flows.py).
PRESET_DANGER = ["1", "1", "1", "2", "1", "1", "1", "1 3", "1", "1"]
SOURCE = (PROJECT_ROOT / "flows" / "shipped" / "screening.yaml").read_text(encoding="utf-8")
TOKEN = re.compile(r'name="token" value="([^"]+)"')
# The browser fixtures of tests/test_console_browser.py: Debian's Chromium, the app served in a thread.
browser, server, page = browser_tests.browser, browser_tests.server, browser_tests.page
SANDBOXED = (Referral, OutboundMessage, Alert, Conversation, DurableJob)


@pytest.fixture
def operator(app, client):
    """The demo directory in the database and an operator signed in."""
    load_demo_directory(app)
    login(client, make_user(app, "operator"))
    return client


def counts(app) -> dict[str, int]:
    with app.app_context():
        session = get_session()
        return {model.__name__: session.scalar(select(func.count()).select_from(model)) for model in SANDBOXED}


def start(client, **fields) -> str:
    return post_form(client, "/console/simulator/start", {"channel": "ussd", "lang": "", **fields},
                     token_from="/console/simulator").get_data(as_text=True)


def reply(client, html: str, text: str):
    return client.post("/console/simulator/reply", data={"reply": text, "token": TOKEN.search(html).group(1),
                                                         "csrf_token": csrf_token(client, "/console/simulator")})


def run(client, html: str, replies: list[str]) -> str:
    for text in replies:
        response = reply(client, html, text)
        assert response.status_code == 200, response.get_data(as_text=True)[-2000:]
        html = response.get_data(as_text=True)
    return html


def screen(html: str) -> str:
    return re.search(r'id="screen-text">(.*?)</(?:pre|div)>', html, re.S).group(1)


def test_simulated_screening_shows_the_case_and_who_would_be_alerted_in_a_sandbox(app, operator):
    """A USSD screening in danger in Bamako shows the case and the providers; only a simulated case is stored."""
    before = counts(app)
    html = run(operator, start(operator, flow="screening", lang="fr"), PRESET_DANGER)
    assert "Votre référence" in screen(html) and 'id="session-over"' in html
    case = html.split('id="sim-case"', 1)[1].split("</section>", 1)[0]
    reference = re.search(r'class="ref">(\w+)<', case).group(1)
    assert reference in screen(html)
    assert "critique" in case and "En danger maintenant" in case and "Commune I" in case
    assert "En danger maintenant le porte au moins à critique" in case
    assert "en danger maintenant : oui" in case and "rappel : oui" in case and "appelant:" not in html
    alerted = html.split('id="sim-alerted"', 1)[1].split("</table>", 1)[0]
    assert "Centre AJDM" in alerted and "Brigade des moeurs" in alerted
    assert "la plus proche des structures éligibles" in alerted
    assert counts(app) == before
    with app.app_context():
        stored = get_session().scalar(select(Case).where(Case.reference == reference))
        assert stored.simulated and stored.risk_level == "critical" and stored.conversation_id is None
        planned = [r["provider_name"] for r in stored.routing_explanation["decision"]["referrals"]]
        assert any("AJDM" in name for name in planned)


def test_a_simulated_case_shows_apart_on_the_dashboard_and_never_in_figures(app, operator):
    """The dashboard lists the simulated case under the simulator's panel; counts, API and statistics leave it out."""
    html = run(operator, start(operator, flow="screening", lang="fr"), PRESET_DANGER)
    reference = re.search(r'id="sim-case".*?class="ref">(\w+)<', html, re.S).group(1)
    dashboard = operator.get("/console/").get_data(as_text=True)
    simulated_panel = dashboard.split('id="simulated-cases"', 1)[1].split("</section>", 1)[0]
    assert reference in simulated_panel and "simulation" in simulated_panel.lower()
    assert reference not in dashboard.split('id="simulated-cases"', 1)[0]
    page = operator.get(f"/console/cases/{reference}").get_data(as_text=True)
    assert 'id="simulated-banner"' in page
    with app.app_context():
        from hotline.statistics import StatisticsFilter, count_cases

        assert count_cases(get_session(), StatisticsFilter()).total == 0


def test_replaying_the_last_step_stores_the_simulated_case_once(app, operator):
    """Sending the final step's token twice keeps one simulated case."""
    html = run(operator, start(operator, flow="screening", lang="fr"), PRESET_DANGER[:-1])
    assert reply(operator, html, PRESET_DANGER[-1]).status_code == 200
    assert reply(operator, html, PRESET_DANGER[-1]).status_code == 200
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Case).where(Case.simulated.is_(True))) == 1


def test_sms_simulation_shows_encoding_and_segments(app, operator):
    """On SMS the phone shows the thread, and each message its encoding and segment count."""
    html = run(operator, start(operator, flow="screening", channel="sms", lang="fr"), ["ok"])
    assert 'class="bubble bubble-caller"' in html and ">ok<" in html
    meta = re.search(r'id="screen-meta">(.*?)</div>', html, re.S).group(1)
    assert re.search(r"(GSM-7|UCS-2) · \d+ segment\(s\) · \d+ unités", " ".join(meta.split()))


def test_draft_from_the_editor_runs_unpublished_text(app, operator):
    """"Try this text" runs the editor's draft, not the published version; a draft with errors is refused."""
    draft = SOURCE.replace('fr: "Quel âge avez-vous ?"', 'fr: "Quel âge as-tu ?"', 1)
    html = post_form(operator, "/console/simulator/start", {"mode": "draft", "flow_id": "screening",
                                                            "source": draft}, token_from="/console/flows/screening")
    html = run(operator, html.get_data(as_text=True), ["1", "1", "1", "1"])
    assert "Quel age as-tu" in screen(html) and "brouillon" in html
    broken = post_form(operator, "/console/simulator/start", {"mode": "draft", "flow_id": "screening",
                                                              "source": draft.replace("kind: end", "kind: ending")},
                       token_from="/console/simulator")
    assert broken.status_code == 422 and "ending" in broken.get_data(as_text=True)


def test_flow_switch_and_unknown_events_are_shown(app, operator, monkeypatch):
    """The main menu hands over to the screening flow; an event kind the console does not know is shown as is."""
    html = start(operator, flow="main", lang="fr")
    html = run(operator, html, ["1"])
    assert "L’appelant passe au flux screening." in html and html.count("Langue choisie : fr") == 2
    assert "screening, version publiée" in html

    real_step = engine.step

    def step_with_a_new_event(*args, **kwargs):
        state, output = real_step(*args, **kwargs)
        return state, replace(output, events=(*output.events, engine.Event("help_listed", {"count": 2})))

    monkeypatch.setattr(engine, "step", step_with_a_new_event)
    html = run(operator, html, ["1"])
    assert "Événement help_listed" in html and '<code>{"count": 2}</code>' in html


def test_a_tampered_simulation_is_refused(app, operator):
    """A token that was changed in the html is refused with a message, not an error."""
    html = start(operator, flow="screening")
    token = TOKEN.search(html).group(1)
    response = operator.post("/console/simulator/reply", data={
        "reply": "1", "token": token[:-3] + "AAA", "csrf_token": csrf_token(operator, "/console/simulator")})
    assert response.status_code == 422
    assert "ne peut plus être lue" in response.get_data(as_text=True)


# ------------------------------------------------------------------------------ in Chromium


def screenshot(page, name: str, request) -> None:
    """Save a full-page screenshot: NAME.png on the embedded default, NAME-services.png on PostgreSQL + Redis."""
    shape = request.node.callspec.params.get("app", "embedded")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / (f"{name}.png" if shape == "embedded" else f"{name}-{shape}.png")),
                    full_page=True)


def send(page, answer: str) -> None:
    """Type a reply on the phone and wait for the next screen."""
    page.fill("#reply", answer)
    with page.expect_navigation():
        page.click("#send")


def wait_for_check(page) -> None:
    page.wait_for_function("document.getElementById('flow-form').dataset.linting === ''")


def test_operator_breaks_fixes_publishes_and_simulates_a_flow(app, server, page, request):
    """In the browser: a broken line shows its error and line, the fix publishes version 2, the simulator runs it."""
    load_demo_directory(app)
    sign_in(page, server, make_user(app, "operator"))
    page.click("nav >> text=Flux")
    page.click("#flow-screening >> text=Modifier")
    page.wait_for_selector("#flow-source")
    source = page.input_value("#flow-source")
    kind = source.index("kind: menu", source.index("  danger:\n"))
    broken_line = source[:kind].count("\n") + 1
    page.fill("#flow-source", source[:kind] + "kind: menuu" + source[kind + len("kind: menu"):])
    page.dispatch_event("#flow-source", "input")
    page.wait_for_selector(f'#problems li.problem-error button[data-line="{broken_line}"]')
    wait_for_check(page)
    problem = page.locator(f'#problems button[data-line="{broken_line}"]').first
    assert f"ligne {broken_line}" in problem.inner_text() and "menuu" in problem.inner_text()
    problem.click()
    assert page.evaluate("document.getElementById('flow-source').dataset.cursorLine") == str(broken_line)
    selected = page.evaluate("(() => { const t = document.getElementById('flow-source');"
                             " return t.value.slice(t.selectionStart, t.selectionEnd); })()")
    assert "menuu" in selected
    assert page.locator(f"#gutter .mark-error:text-is('{broken_line}')").count() == 1
    screenshot(page, "flows-editor-error", request)
    page.fill("#flow-source", source.replace('fr: "Quel âge avez-vous ?"', 'fr: "Quel âge as-tu ?"', 1))
    page.dispatch_event("#flow-source", "input")
    page.wait_for_selector("#problem-summary.good")
    wait_for_check(page)
    assert "Quel age as-tu" in page.locator("#preview").inner_text()
    page.select_option("#preview-language", "fr")
    assert page.locator('#preview .preview-lang[data-lang="en"]').first.is_hidden()
    screenshot(page, "flows-editor", request)
    page.click("#publish")
    page.wait_for_selector(".flash-success")
    assert "La version 2 de screening est publiée" in page.locator(".flash-success").inner_text()
    page.click("#versions #show-diff")
    assert "Quel âge as-tu" in page.locator("#diff .diff-add").all_inner_texts()[0]
    screenshot(page, "flows-diff", request)
    page.goto(f"{server}/console/simulator")
    page.select_option("#sim-flow-choice", "screening")
    page.select_option("#sim-lang", "fr")
    with page.expect_navigation():
        page.click("#sim-start")
    for answer in ("1", "1", "1"):
        send(page, answer)
    assert "Quel age as-tu" in page.locator("#screen-text").inner_text()
    assert "version publiée 2" in page.locator("#sim-flow").inner_text()


def test_simulator_screening_in_danger_in_bamako_alerts_nobody(app, server, page, request):
    """In the browser: a Bamako screening in danger shows providers, alerts nobody; its case is on the dashboard."""
    load_demo_directory(app)
    before = counts(app)
    sign_in(page, server, make_user(app, "operator"))
    page.click("nav >> text=Simulateur")
    page.select_option("#sim-flow-choice", "screening")
    page.select_option("#sim-lang", "fr")
    with page.expect_navigation():
        page.click("#sim-start")
    for answer in PRESET_DANGER:
        send(page, answer)
    assert "Votre référence" in page.locator("#screen-text").inner_text()
    assert "critique" in page.locator("#sim-case").inner_text()
    reference = page.locator("#sim-case .ref").inner_text().strip()
    alerted = page.locator("#sim-alerted").inner_text()
    assert "Centre AJDM" in alerted and "Brigade des moeurs" in alerted
    screenshot(page, "simulator", request)
    assert counts(app) == before
    page.click("nav >> text=Tableau de bord")
    simulated = page.locator("#simulated-cases")
    assert reference in simulated.inner_text()
    screenshot(page, "dashboard-with-simulation", request)
    with page.expect_navigation():
        simulated.locator(f"text={reference}").click()
    assert page.locator("#simulated-banner").is_visible()
