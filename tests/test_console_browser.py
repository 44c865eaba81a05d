"""The console in a real headless Chromium (Debian's, driven by Playwright) against a real HTTP server."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.console_helpers import PASSWORD, audit_events, make_user
from tests.helpers import PROJECT_ROOT
from tests.referral_helpers import BAMAKO_DANGER, load_demo_directory, screen_case

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
CALLER = "+22376400031"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium (installed by .ci/run), never a browser Playwright downloads."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (bash .ci/run does it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def server(app):
    """The application served over HTTP on a free port in a thread; returns its base URL."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture
def screened(app, client):
    load_demo_directory(app)
    return screen_case(app, client, "ATUid_browser", CALLER, BAMAKO_DANGER)


def shot(page, name: str, request) -> None:
    shape = request.node.callspec.params.get("app", "app")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{shape}.png"), full_page=True)


def sign_in(page, server: str, email: str) -> None:
    page.goto(f"{server}/console/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{server}/console/")


def test_login_and_logout_in_the_browser(app, server, page, request):
    """A person signs in with the form, lands on the dashboard in French, and signs out."""
    email = make_user(app, "operator")
    page.goto(f"{server}/console/")
    assert page.url.startswith(f"{server}/console/login")
    assert page.locator("h1").inner_text() == "Connexion"
    shot(page, "login", request)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit].primary")
    assert "Adresse e-mail ou mot de passe incorrect." in page.locator(".flash-error").inner_text()
    sign_in(page, server, email)
    assert page.locator("h1").inner_text() == "Tableau de bord"
    page.click("#logout")
    page.wait_for_url(f"{server}/console/login")
    assert "Vous êtes déconnecté." in page.locator(".flash-success").inner_text()
    page.goto(f"{server}/console/cases")
    assert page.url.startswith(f"{server}/console/login")


def test_operator_follows_a_screened_case_and_reveals_personal_data(app, server, page, screened, request):
    """After a USSD screening the operator sees the case on the dashboard, opens it and reveals the number."""
    sign_in(page, server, make_user(app, "operator"))
    assert page.locator('#open-by-risk [data-risk="critical"]').inner_text() == "1"
    assert screened in page.locator("#open-cases").inner_text()
    assert "Centre AJDM" in page.locator("#waiting-referrals").inner_text()
    shot(page, "dashboard", request)
    page.click(f"#open-cases a:text('{screened}')")
    page.wait_for_url(f"{server}/console/cases/{screened}")
    assert "En danger maintenant" in page.locator("#indicators").inner_text()
    assert "AJDM" in page.locator("#routing").inner_text()
    assert "personnel alerté par SMS" in page.locator("#timeline").inner_text()
    assert CALLER not in page.content()
    shot(page, "case", request)
    page.click("#show-personal-data")
    page.wait_for_selector("#caller-phone")
    assert page.locator("#caller-phone").inner_text() == CALLER
    assert not re.search(r"\+223\d+", page.url)
    assert len(audit_events(app, "case.pii_viewed")) == 1
    shot(page, "case-personal-data", request)


def test_provider_staff_see_their_referrals_and_not_another_providers_case(app, server, page, screened, request):
    """AJDM staff see the referral on their dashboard; Direy Ben staff get a 403 page on that case."""
    sign_in(page, server, make_user(app, "provider_staff", provider="shelter.ajdm.bamako"))
    assert screened in page.locator("#waiting-referrals").inner_text()
    page.click("#logout")
    sign_in(page, server, make_user(app, "provider_staff", provider="shelter.direy-ben.gao"))
    assert screened not in page.content()
    response = page.goto(f"{server}/console/cases/{screened}")
    assert response.status == 403
    assert "Accès refusé" in page.locator("h1").inner_text()
    shot(page, "forbidden", request)
    assert audit_events(app, "access.denied")[-1].details["reason"] == "other provider"


def test_providers_map_shows_a_marker_per_provider(app, server, page, screened, request):
    """The map page draws every provider of the directory as a Leaflet marker, with no tile server."""
    sign_in(page, server, make_user(app, "operator"))
    page.goto(f"{server}/console/providers/map")
    page.wait_for_selector("#provider-map[data-ready]")
    expected = int(page.locator("#provider-map").get_attribute("data-ready"))
    assert expected > 50
    assert page.locator(".leaflet-marker-icon").count() == expected
    assert page.locator(".place-label").count() >= 19  # regional capitals drawn on the blank map
    # Bamako's markers overlap at this zoom, so the click is sent to the marker itself.
    page.locator('.leaflet-marker-icon[title^="Centre AJDM"]').dispatch_event("click")
    assert "Centre AJDM" in page.locator(".leaflet-popup-content").inner_text()
    shot(page, "providers-map", request)


def test_outbox_and_import_pages_in_the_browser(app, server, page, screened, request, tmp_path):
    """The outbox lists the alerts with encoding and segments; a CSV import shows its per-row errors in place."""
    sign_in(page, server, make_user(app, "admin"))
    page.goto(f"{server}/console/outbox")
    assert "GSM-7" in page.locator("#outbox").inner_text()
    shot(page, "outbox", request)
    page.goto(f"{server}/console/providers")
    shot(page, "providers", request)
    csv_file = tmp_path / "directory.csv"
    csv_file.write_text("id,name,kind,latitude,longitude,serves,hours,languages,contacts\n"
                        "ngo.x.gao,ONG X,spaceship,16.27,-0.04,women,24/7,fr,+223 76 12 34 57\n")
    page.goto(f"{server}/console/providers/import")
    page.set_input_files("input[type=file]", str(csv_file))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#row-errors")
    assert page.url == f"{server}/console/providers/import"  # swapped in place by the script
    assert page.locator("#import-progress").get_attribute("value") == "100"
    assert "spaceship" in page.locator("#row-errors").inner_text()
    shot(page, "providers-import", request)
    page.goto(f"{server}/console/users")
    shot(page, "users", request)
