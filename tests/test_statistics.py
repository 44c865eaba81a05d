"""Statistics for the coordination committee: aggregates on real cases, the 4P frame, suppression on page,
CSV and CLI, and the analyst's CSV download in a real browser."""

from __future__ import annotations

import csv
import html as html_text
import io
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from hotline.commands.stats import stats
from hotline.db import get_session
from hotline.models import Case, Provider, Referral
from hotline.statistics import (
    StatisticsFilter,
    count_cases,
    four_p_of,
    publish,
    publish_count,
)
from tests.console_helpers import audit_events, login, make_user
from tests.gateway_requests import send_at_sms
from tests.helpers import run_jobs
from tests.referral_helpers import BAMAKO_DANGER, contact_phones, load_demo_directory, screen_case
from tests.test_console_browser import browser, page, server, shot, sign_in  # noqa: F401

BAMAKO_CALLER = "+22376400051"
GAO_CALLER = "+22376400052"
# French; may talk; danger now; 18-25; woman; region 8 (Gao); cercle Gao; shelter; no callback; no police.
GAO_DANGER = ["1", "1", "1", "1", "3", "1", "8", "1", "1", "2", "2"]
YEAR_2025 = StatisticsFilter(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
PUBLISHED = re.compile(r"^(<5|5|[1-9]\d*[05])$")


def add_cases(app, count: int, *, prefix: str, created: datetime, region: str, referrals=(), **fields) -> None:
    """Insert ``count`` cases straight into the database (volume the webhook would take minutes to make)."""
    defaults = {"flow_id": "screening", "risk_level": "medium", "risk_score": 4, "reporter": "victim",
                "indicators": [], "needs": [], "status": "open"}
    with app.app_context():
        db = get_session()
        providers = {p.code: p for p in db.scalars(select(Provider))}
        for number in range(count):
            case = Case(reference=f"{prefix}{number:03d}", created_at=created, region_code=region,
                        place_code=region, **{**defaults, **fields})
            db.add(case)
            db.flush()
            for role, status, provider_code in referrals:
                db.add(Referral(case_id=case.id, provider_id=providers[provider_code].id, role=role, status=status))
        db.commit()


@pytest.fixture
def committee_cases(app, client):
    """Two screenings through the USSD webhook (the Bamako one accepted by SMS) and 24 cases of 2025."""
    load_demo_directory(app)
    bamako = screen_case(app, client, "ATUid_stats1", BAMAKO_CALLER, BAMAKO_DANGER)
    gao = screen_case(app, client, "ATUid_stats2", GAO_CALLER, GAO_DANGER)
    send_at_sms(client, contact_phones(app, "shelter.ajdm.bamako")[0], f"OK {bamako}")
    run_jobs(app)
    deception = [{"id": "deception", "points": 2, "sources": []}, {"id": "debt_bondage", "points": 3, "sources": []}]
    add_cases(app, 12, prefix="KAY", created=datetime(2025, 1, 15, 10, tzinfo=UTC), region="kayes",
              risk_level="high", sex="female", age_band="18_25", indicators=deception, status="closed",
              outcome="sheltered", closed_at=datetime(2025, 1, 20, tzinfo=UTC))
    mining = [{"id": "mining_site_work", "points": 3, "sources": []}]
    add_cases(app, 3, prefix="SIP", created=datetime(2025, 2, 3, tzinfo=UTC), region="sikasso", sex="male",
              age_band="12_17", indicators=mining, reporter="witness",
              referrals=[("police", "accepted", "police.sikasso")])
    add_cases(app, 4, prefix="SIK", created=datetime(2025, 2, 27, 23, 59, tzinfo=UTC), region="sikasso",
              sex="male", age_band="12_17", indicators=mining, reporter="witness")
    add_cases(app, 1, prefix="SIX", created=datetime(2025, 2, 28, tzinfo=UTC), region="sikasso", sex="male",
              status="closed", outcome="prosecution", closed_at=datetime(2025, 3, 1, tzinfo=UTC))
    add_cases(app, 3, prefix="JOB", created=datetime(2025, 3, 2, tzinfo=UTC), region="bamako", risk_level="low",
              flow_id="job-check")
    add_cases(app, 1, prefix="NGO", created=datetime(2025, 4, 9, tzinfo=UTC), region="kayes",
              referrals=[("shelter", "alerted", "ngo.accueil.kayes")])
    return app, bamako, gao


def test_counts_by_every_dimension_on_real_and_direct_cases(committee_cases):
    """Exact counts by month, region, indicator, risk, age band, sex, outcome and caller match the cases made."""
    app, _bamako, _gao = committee_cases
    with app.app_context():
        every = count_cases(get_session(), StatisticsFilter())
        year = count_cases(get_session(), YEAR_2025)
    assert every.total == 26 and year.total == 24
    assert year.table("month") == {"2025-01": 12, "2025-02": 8, "2025-03": 3, "2025-04": 1}
    assert year.table("region") == {"kayes": 13, "sikasso": 8, "bamako": 3}
    assert year.table("indicator") == {"deception": 12, "debt_bondage": 12, "mining_site_work": 7}
    assert year.table("risk") == {"high": 12, "medium": 9, "low": 3, "critical": 0}
    assert year.table("sex") == {"female": 12, "male": 8, "unknown": 4}
    assert year.table("age_band") == {"18_25": 12, "12_17": 7, "unknown": 5}
    assert year.table("outcome") == {"sheltered": 12, "prosecution": 1, "none": 11}
    assert year.table("reporter") == {"victim": 17, "witness": 7}
    screened = {k: v for k, v in every.table("region").items() if k in ("bamako", "gao")}
    assert screened == {"bamako": 4, "gao": 1}  # the two webhook cases add one each
    assert every.table("risk")["critical"] == 2
    assert every.table("indicator")["immediate_danger"] == 2


def test_four_p_frame_follows_the_documented_mapping(committee_cases):
    """Prevention from job-check flows, protection and prosecution from accepted referrals or outcomes,
    partnership from NGO referrals; the webhook case the shelter accepted counts as protection."""
    app, _bamako, _gao = committee_cases
    assert four_p_of("job-check", None, []) == {"prevention"}
    assert four_p_of("screening", None, [("shelter", "alerted", "shelter")]) == set()
    assert four_p_of("screening", None, [("shelter", "accepted", "shelter")]) == {"protection"}
    assert four_p_of("screening", None, [("police", "closed", "police")]) == {"prosecution"}
    assert four_p_of("screening", None, [("legal", "unrouted", "legal_aid")]) == set()
    assert four_p_of("witness", "prosecution", [("support", "declined", "ngo")]) == {"prosecution", "partnership"}
    with app.app_context():
        year = count_cases(get_session(), YEAR_2025).table("four_p")
        every = count_cases(get_session(), StatisticsFilter()).table("four_p")
    assert year == {"prevention": 3, "protection": 12, "prosecution": 4, "partnership": 1}
    assert every["protection"] == 13


def test_filters_by_date_range_and_region(committee_cases):
    """Both ends of the date range are whole days included; the region filter keeps that region only."""
    app, _bamako, _gao = committee_cases
    with app.app_context():
        february = count_cases(get_session(), StatisticsFilter(date(2025, 2, 1), date(2025, 2, 27)))
        sikasso = count_cases(get_session(), StatisticsFilter(region="sikasso"))
        gao = count_cases(get_session(), StatisticsFilter(region="gao"))
    assert february.total == 7  # the 23:59 cases of the 27th are in, the 28th is out
    assert sikasso.total == 8 and set(sikasso.table("region")) == {"sikasso"}
    assert gao.total == 1 and gao.table("risk")["critical"] == 1


def test_publish_suppresses_under_five_and_rounds_the_rest():
    """Counts 0-4 become "<5"; others, totals included, are rounded to the nearest 5."""
    assert [publish_count(n) for n in range(0, 14)] == [None] * 5 + [5, 5, 5, 10, 10, 10, 10, 10, 15]
    from hotline.statistics import CaseStatistics, CountRow

    published = publish(CaseStatistics(StatisticsFilter(), 14, [
        CountRow("region", "kayes", 13), CountRow("region", "gao", 1), CountRow("region", "mopti", 4),
        CountRow("risk", "critical", 0)]))
    assert published.total.shown == "15"
    assert [(r.category, r.shown) for r in published.table("region")] == [
        ("kayes", "15"), ("gao", "<5"), ("mopti", "<5")]  # "<5" cells in code order, not by exact size
    assert [(r.category, r.shown) for r in published.table("risk")] == [("critical", "<5")]


def _page_counts(html: str) -> dict[tuple[str, str], str]:
    rows = re.findall(r'data-dimension="([^"]+)" data-category="([^"]+)"><td>[^<]*</td><td class="count">([^<]+)<',
                      html)
    return {(dimension, category): html_text.unescape(shown) for dimension, category, shown in rows}


def test_page_shows_only_suppressed_or_rounded_counts(committee_cases):
    """The analyst's page: "<5" for small cells, rounded totals, no reference and no exact small count."""
    app, bamako, gao = committee_cases
    client = app.test_client()
    login(client, make_user(app, "analyst"))
    response = client.get("/console/statistics?from=2025-01-01&to=2025-12-31")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    counts = _page_counts(html)
    assert counts[("region", "kayes")] == "15" and counts[("region", "sikasso")] == "10"
    assert counts[("region", "bamako")] == "<5" and counts[("four_p", "partnership")] == "<5"
    assert counts[("month", "2025-04")] == "<5" and counts[("four_p", "prevention")] == "<5"
    assert all(PUBLISHED.match(shown) for shown in counts.values()), counts
    assert 'id="total-count">25<' in html
    assert "<svg" in html and 'id="chart-month"' in html and "&lt;5" in html
    assert bamako not in html and gao not in html and "KAY000" not in html
    kayes = client.get("/console/statistics?region=kayes&from=2025-01-01").get_data(as_text=True)
    assert _page_counts(kayes)[("region", "kayes")] == "15"
    assert ("region", "sikasso") not in _page_counts(kayes)


def test_csv_has_the_same_published_counts(committee_cases):
    """The CSV download holds the page's figures: "<5" and multiples of 5 only, the total first."""
    app, _bamako, _gao = committee_cases
    client = app.test_client()
    login(client, make_user(app, "operator"))
    response = client.get("/console/statistics.csv?from=2025-01-01&to=2025-12-31")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0] == {"dimension": "total", "category": "all", "label": "all", "cases": "25"}
    table = {(r["dimension"], r["category"]): r["cases"] for r in rows}
    assert table[("region", "kayes")] == "15" and table[("region", "bamako")] == "<5"
    assert table[("indicator", "mining_site_work")] == "5" and table[("outcome", "prosecution")] == "<5"
    assert all(PUBLISHED.match(r["cases"]) for r in rows), rows
    labels = {(r["dimension"], r["category"]): r["label"] for r in rows}
    assert labels[("risk", "high")] == "élevé" and labels[("four_p", "protection")] == "protection"


def test_provider_staff_may_not_see_statistics(committee_cases):
    """Provider staff get a 403, with an access.denied event, on the page and on the CSV."""
    app, _bamako, _gao = committee_cases
    client = app.test_client()
    login(client, make_user(app, "provider_staff", provider="shelter.ajdm.bamako"))
    assert client.get("/console/statistics").status_code == 403
    assert client.get("/console/statistics.csv").status_code == 403
    assert [e.details["path"] for e in audit_events(app, "access.denied")] == [
        "/console/statistics", "/console/statistics.csv"]


def test_stats_export_command_writes_the_published_csv(committee_cases, tmp_path):
    """`hotline stats export --from --to --out FILE` writes the same suppressed, rounded CSV."""
    app, _bamako, _gao = committee_cases
    out = tmp_path / "stats.csv"
    result = app.test_cli_runner().invoke(stats, ["export", "--from", "2025-02-01", "--to", "2025-03-31",
                                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    table = {(r["dimension"], r["category"]): r["cases"] for r in rows}
    assert table[("total", "all")] == "10"  # 11 cases
    assert table[("region", "sikasso")] == "10" and table[("region", "bamako")] == "<5"
    assert all(PUBLISHED.match(r["cases"]) for r in rows)
    bad = app.test_cli_runner().invoke(stats, ["export", "--from", "2025-04-01", "--to", "2025-03-01"])
    assert bad.exit_code != 0


def test_analyst_downloads_the_csv_in_the_browser(app, committee_cases, server, page, request):  # noqa: F811
    """The analyst opens the statistics in Chromium, sees the SVG charts in French, and downloads the CSV."""
    sign_in(page, server, make_user(app, "analyst"))
    page.click("nav a:text('Statistiques')")
    page.wait_for_url(f"{server}/console/statistics")
    page.fill("input[name=from]", "2025-01-01")
    page.fill("input[name=to]", "2025-12-31")
    page.click("#statistics-filters button[type=submit]")
    page.wait_for_url(re.compile(r".*from=2025-01-01.*"))
    assert page.locator("h1").inner_text() == "Statistiques"
    assert page.locator("#total-count").inner_text() == "25"
    assert page.locator("svg.chart").count() == 9
    assert page.locator("#chart-region rect.suppressed").count() == 1  # Bamako
    assert "Dossiers par région" in page.locator("#stats-region h2").inner_text()
    shot(page, "statistics", request)
    with page.expect_download() as info:
        page.click("#download-csv")
    download = info.value
    assert download.suggested_filename == "hotline-statistics_2025-01-01_2025-12-31.csv"
    with open(download.path(), encoding="utf-8-sig") as handle:
        text = handle.read()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["cases"] == "25" and all(PUBLISHED.match(r["cases"]) for r in rows)
