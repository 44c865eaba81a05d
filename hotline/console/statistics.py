"""Statistics for the national coordination committee: anonymous counts as charts, tables and a CSV file."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask import Response, render_template, request
from flask_babel import lazy_gettext as _l

from hotline.console import blueprint
from hotline.console.access import add_nav_item, current_user, requires_role
from hotline.console.cases import indicator_label, regions
from hotline.console.labels import label
from hotline.db import get_session
from hotline.statistics import (
    DIMENSIONS,
    NO_OUTCOME,
    UNKNOWN,
    PublishedRow,
    PublishedStatistics,
    StatisticsFilter,
    published_statistics,
    write_csv,
)

STATISTICS_ROLES = ("admin", "operator", "analyst")
TITLES = {
    "month": _l("Cases by month"), "region": _l("Cases by region"), "indicator": _l("Cases by indicator"),
    "risk": _l("Cases by risk"), "age_band": _l("Cases by age band"), "sex": _l("Cases by sex"),
    "outcome": _l("Cases by outcome"), "reporter": _l("Cases by who called"),
    "four_p": _l("Prevention, protection, prosecution, partnership"),
}
FOUR_P_LABELS = {"prevention": _l("prevention"), "protection": _l("protection"),
                 "prosecution": _l("prosecution"), "partnership": _l("partnership")}
NOT_RECORDED = _l("not recorded")
NO_OUTCOME_YET = _l("no outcome yet")
# Geometry of the server-drawn bar charts (SVG user units).
CHART_WIDTH, LABEL_WIDTH, BAR_HEIGHT, BAR_GAP = 560, 210, 18, 6
COLUMN_CHART_HEIGHT, COLUMN_MIN_WIDTH = 160, 14
SUPPRESSED_BAR = 0.04  # a "<5" bar is drawn as a short hatched stub, never to scale

add_nav_item("console.statistics", _l("Statistics"), STATISTICS_ROLES, 70)


def category_label(dimension: str, category: str) -> str:
    """The words for one category of a dimension, in the reader's language."""
    if category == UNKNOWN:
        return str(NOT_RECORDED)
    if dimension == "region":
        return dict(regions()).get(category, category)
    if dimension == "indicator":
        return indicator_label(category)
    if dimension == "outcome" and category == NO_OUTCOME:
        return str(NO_OUTCOME_YET)
    if dimension == "four_p":
        return str(FOUR_P_LABELS.get(category, category))
    group = {"risk": "risk", "age_band": "age_band", "sex": "sex", "outcome": "outcome",
             "reporter": "reporter"}.get(dimension)
    return label(group, category) if group else category


def filters_from(args) -> tuple[StatisticsFilter, dict[str, str]]:
    """The filters of the query string; unreadable dates and unknown regions are left out."""
    raw = {key: (args.get(key) or "").strip() for key in ("from", "to", "region")}

    def day(text: str) -> date | None:
        try:
            return date.fromisoformat(text) if text else None
        except ValueError:
            return None

    date_from, date_to = day(raw["from"]), day(raw["to"])
    region = raw["region"] if raw["region"] in dict(regions()) else None
    shown = {"from": date_from.isoformat() if date_from else "", "to": date_to.isoformat() if date_to else "",
             "region": region or ""}
    return StatisticsFilter(date_from=date_from, date_to=date_to, region=region), shown


def bar_chart(dimension: str, rows: list[PublishedRow]) -> dict[str, Any]:
    """Horizontal bars, one per category, scaled to the largest published value."""
    top = max((row.value or 0 for row in rows), default=0) or 1
    room = CHART_WIDTH - LABEL_WIDTH - 50
    bars = []
    for index, row in enumerate(rows):
        share = SUPPRESSED_BAR if row.value is None else row.value / top
        bars.append({"y": index * (BAR_HEIGHT + BAR_GAP), "width": max(2.0, share * room), "row": row,
                     "label": category_label(dimension, row.category)})
    return {"kind": "bars", "bars": bars, "width": CHART_WIDTH, "label_width": LABEL_WIDTH,
            "bar_height": BAR_HEIGHT, "height": max(1, len(rows)) * (BAR_HEIGHT + BAR_GAP)}


def column_chart(rows: list[PublishedRow]) -> dict[str, Any]:
    """Vertical columns in time order (months), scaled to the largest published value."""
    top = max((row.value or 0 for row in rows), default=0) or 1
    step = max(COLUMN_MIN_WIDTH + 4, (CHART_WIDTH - 40) // max(1, len(rows)))
    columns = []
    for index, row in enumerate(rows):
        share = SUPPRESSED_BAR if row.value is None else row.value / top
        height = max(2.0, share * COLUMN_CHART_HEIGHT)
        columns.append({"x": 20 + index * step, "width": step - 4, "height": height,
                        "y": COLUMN_CHART_HEIGHT + 20 - height, "row": row})
    return {"kind": "columns", "columns": columns, "width": max(CHART_WIDTH, 40 + len(rows) * step),
            "height": COLUMN_CHART_HEIGHT + 45, "base": COLUMN_CHART_HEIGHT + 20,
            "label_every": max(1, len(rows) // 12)}


def charts(published: PublishedStatistics) -> list[dict[str, Any]]:
    found = []
    for dimension in DIMENSIONS:
        rows = published.table(dimension)
        chart = column_chart(rows) if dimension == "month" else bar_chart(dimension, rows)
        found.append({"dimension": dimension, "title": TITLES[dimension], "rows": rows, "chart": chart})
    return found


@blueprint.get("/statistics")
@requires_role(*STATISTICS_ROLES)
def statistics():
    """Anonymous counts by month, region, indicator, risk, age band, sex, outcome, caller and 4P."""
    filters, shown = filters_from(request.args)
    published = published_statistics(get_session(), filters)
    return render_template("console/statistics.html", published=published, charts=charts(published),
                           filters=shown, regions=regions(), category_label=category_label,
                           role=current_user().role)


@blueprint.get("/statistics.csv")
@requires_role(*STATISTICS_ROLES)
def statistics_csv():
    """The same published counts as a CSV file ("<5" kept as written)."""
    filters, shown = filters_from(request.args)
    out = io.StringIO()
    write_csv(published_statistics(get_session(), filters), out, category_label)
    span = f"{shown['from'] or 'start'}_{shown['to'] or 'today'}" + (f"_{shown['region']}" if shown["region"] else "")
    # A byte-order mark so spreadsheet programs read the French accents as UTF-8.
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="hotline-statistics_{span}.csv"'})
