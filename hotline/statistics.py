"""Anonymous case statistics for the national coordination committee: counts, the 4P frame, and suppression.

One aggregation serves the console page, its CSV, the JSON API and `hotline stats export`; nothing here
imports Flask. `count_cases(session, filters)` returns exact counts (never shown to anyone as such);
`publish(statistics)` applies the disclosure rule below and is what every reader gets.

**The 4P frame** (the national plan's prevention, protection, prosecution, partnership). A case counts
at most once in each P and may count in several:

- *prevention*: the case came from a prevention flow, i.e. one whose id starts with ``job-check``,
  ``rights`` or ``prevention`` (the job-offer check and know-your-rights flows: a caller who checked a
  job offer or asked about their rights before harm was done).
- *protection*: a shelter, child-protection, medical or support provider accepted a referral of the case
  (referral status ``accepted``, or ``closed`` after it), or the case was closed as ``sheltered`` or
  ``returned_home``.
- *prosecution*: a police or gendarmerie unit accepted a referral (role ``police``, status ``accepted``
  or ``closed``), or the case was closed with the outcome ``prosecution`` (complaint or prosecution).
- *partnership*: the case was referred (any status except ``unrouted``) to a partner organisation: a
  provider of kind ``ngo`` or ``legal_aid``, or the ``legal`` role.

**Disclosure rule** (so no one can be singled out, even by subtracting published figures):

1. every count under 5, zero included, is published as ``"<5"``;
2. every other count, totals included, is rounded to the nearest multiple of 5 (5-7 -> 5, 8-12 -> 10).

Rounding rather than complementary suppression because readers can also subtract *across* queries
(January-March minus January-February, one region's filter against another): exact totals next to a
suppressed cell, or two date ranges one day apart, would give the hidden count away; rounded figures
leave an uncertainty of several cases on any difference. Categories are ordered by their published
value, never by the exact one, so the order of two "<5" cells says nothing either.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import Case, Provider, Referral

SUPPRESSED = "<5"
THRESHOLD = 5
ROUNDING_BASE = 5
UNKNOWN = "unknown"
NO_OUTCOME = "none"

DIMENSIONS = ("month", "region", "indicator", "risk", "age_band", "sex", "outcome", "reporter", "four_p")
RISK_LEVELS = ("critical", "high", "medium", "low")
FOUR_P = ("prevention", "protection", "prosecution", "partnership")
AGE_BANDS = ("under_12", "12_17", "18_25", "26_40", "over_40", "26_plus", UNKNOWN)
# Dimensions whose every category is listed, even with no case; the others list what occurs.
FIXED_CATEGORIES = {"risk": RISK_LEVELS, "four_p": FOUR_P}

PREVENTION_FLOW_PREFIXES = ("job-check", "rights", "help-near-me", "prevention")
PROTECTION_ROLES = frozenset({"shelter", "child_protection", "medical", "support"})
PROTECTION_OUTCOMES = frozenset({"sheltered", "returned_home"})
PROSECUTION_ROLES = frozenset({"police"})
PROSECUTION_OUTCOMES = frozenset({"prosecution"})
PARTNER_KINDS = frozenset({"ngo", "legal_aid"})
PARTNER_ROLES = frozenset({"legal"})
TAKEN_STATES = frozenset({"accepted", "closed"})


@dataclass(frozen=True)
class StatisticsFilter:
    """Which cases to count: created between two days (both included, UTC = Bamako time) and in a region."""

    date_from: date | None = None
    date_to: date | None = None
    region: str | None = None


@dataclass(frozen=True)
class CountRow:
    """How many cases fall in one category of one dimension (exact: for computing, never for showing)."""

    dimension: str
    category: str
    count: int


@dataclass(frozen=True)
class PublishedRow:
    """One category as it may be shown: ``value`` rounded, or None with ``shown`` "<5"."""

    dimension: str
    category: str
    value: int | None
    shown: str


@dataclass
class CaseStatistics:
    """The exact counts of the cases a filter selects, by dimension."""

    filters: StatisticsFilter
    total: int
    rows: list[CountRow] = field(default_factory=list)

    def table(self, dimension: str) -> dict[str, int]:
        return {row.category: row.count for row in self.rows if row.dimension == dimension}


@dataclass
class PublishedStatistics:
    """The statistics after the disclosure rule: what pages, files and the API give out."""

    filters: StatisticsFilter
    total: PublishedRow
    rows: list[PublishedRow]

    def table(self, dimension: str) -> list[PublishedRow]:
        return [row for row in self.rows if row.dimension == dimension]


def publish_count(count: int) -> int | None:
    """The published value of ``count``: None when under the threshold, else rounded to the base."""
    if count < THRESHOLD:
        return None
    return ROUNDING_BASE * ((count + ROUNDING_BASE // 2) // ROUNDING_BASE)


def published_row(dimension: str, category: str, count: int) -> PublishedRow:
    value = publish_count(count)
    return PublishedRow(dimension, category, value, SUPPRESSED if value is None else str(value))


def four_p_of(flow_id: str | None, outcome: str | None,
              referrals: Iterable[tuple[str, str, str | None]]) -> set[str]:
    """The 4P categories of one case, from its flow, outcome and (role, status, provider kind) referrals."""
    found: set[str] = set()
    if flow_id and flow_id.startswith(PREVENTION_FLOW_PREFIXES):
        found.add("prevention")
    if outcome in PROTECTION_OUTCOMES:
        found.add("protection")
    if outcome in PROSECUTION_OUTCOMES:
        found.add("prosecution")
    for role, status, kind in referrals:
        if status in TAKEN_STATES and role in PROTECTION_ROLES:
            found.add("protection")
        if status in TAKEN_STATES and role in PROSECUTION_ROLES:
            found.add("prosecution")
        if status != "unrouted" and (kind in PARTNER_KINDS or role in PARTNER_ROLES):
            found.add("partnership")
    return found


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def _months_between(first: str, last: str) -> list[str]:
    year, month = (int(part) for part in first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def count_cases(session: Session, filters: StatisticsFilter) -> CaseStatistics:
    """Count the cases ``filters`` select by month, region, indicator, risk, age band, sex, outcome,
    reporter and 4P; return exact counts (pass them through `publish` before anyone sees them)."""
    query = select(Case.id, Case.created_at, Case.region_code, Case.indicators, Case.risk_level, Case.age_band,
                   Case.sex, Case.outcome, Case.reporter, Case.flow_id).where(Case.simulated.is_(False))
    if filters.date_from:
        query = query.where(Case.created_at >= _day_start(filters.date_from))
    if filters.date_to:
        query = query.where(Case.created_at < _day_start(filters.date_to + timedelta(days=1)))
    if filters.region:
        query = query.where(Case.region_code == filters.region)
    cases = session.execute(query).all()

    referrals: dict[int, list[tuple[str, str, str | None]]] = defaultdict(list)
    if cases:
        referral_query = (select(Referral.case_id, Referral.role, Referral.status, Provider.kind)
                          .outerjoin(Provider, Provider.id == Referral.provider_id)
                          .where(Referral.case_id.in_(query.with_only_columns(Case.id).scalar_subquery())))
        for case_id, role, status, kind in session.execute(referral_query):
            referrals[case_id].append((role, status, kind))

    counters: dict[str, Counter[str]] = {dimension: Counter() for dimension in DIMENSIONS}
    for case_id, created_at, region, indicators, risk, age_band, sex, outcome, reporter, flow_id in cases:
        counters["month"][created_at.strftime("%Y-%m")] += 1
        counters["region"][region or UNKNOWN] += 1
        # A case counts once per indicator, however many answers raised it.
        for indicator in {item.get("id") for item in indicators or [] if item.get("id")}:
            counters["indicator"][indicator] += 1
        counters["risk"][risk] += 1
        counters["age_band"][age_band or UNKNOWN] += 1
        counters["sex"][sex or UNKNOWN] += 1
        counters["outcome"][outcome or NO_OUTCOME] += 1
        counters["reporter"][reporter or UNKNOWN] += 1
        for category in four_p_of(flow_id, outcome, referrals.get(case_id, ())):
            counters["four_p"][category] += 1

    if counters["month"]:
        for month in _months_between(min(counters["month"]), max(counters["month"])):
            counters["month"].setdefault(month, 0)
    rows = []
    for dimension in DIMENSIONS:
        counter = counters[dimension]
        for category in FIXED_CATEGORIES.get(dimension, ()):
            counter.setdefault(category, 0)
        rows.extend(CountRow(dimension, category, count) for category, count in counter.items())
    return CaseStatistics(filters=filters, total=len(cases), rows=rows)


def _order(dimension: str, rows: list[PublishedRow]) -> list[PublishedRow]:
    if dimension == "month":
        return sorted(rows, key=lambda row: row.category)
    fixed = FIXED_CATEGORIES.get(dimension) or (AGE_BANDS if dimension == "age_band" else None)
    if fixed:
        return sorted(rows, key=lambda row: (fixed.index(row.category) if row.category in fixed else len(fixed),
                                             row.category))
    # By the published value only: sorting by the exact count would rank the "<5" cells.
    return sorted(rows, key=lambda row: (-(row.value or 0), row.category))


def publish(statistics: CaseStatistics) -> PublishedStatistics:
    """Apply the disclosure rule (see the module docstring) to every count and the total."""
    rows: list[PublishedRow] = []
    for dimension in DIMENSIONS:
        table = [published_row(dimension, category, count) for category, count in statistics.table(dimension).items()]
        rows.extend(_order(dimension, table))
    return PublishedStatistics(filters=statistics.filters, total=published_row("total", "all", statistics.total),
                               rows=rows)


def published_statistics(session: Session, filters: StatisticsFilter) -> PublishedStatistics:
    """Count and publish in one call: what every reader of the statistics is given."""
    return publish(count_cases(session, filters))


CSV_HEADER = ("dimension", "category", "label", "cases")
# A cell starting with one of these is a formula to a spreadsheet; a quote makes it text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def write_csv(published: PublishedStatistics, out: IO[str],
              label: Callable[[str, str], str] = lambda _dimension, category: category) -> None:
    """Write the published statistics as CSV: one row per category, the total first, "<5" as is."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in [published.total, *published.rows]:
        writer.writerow((row.dimension, _cell(row.category), _cell(label(row.dimension, row.category)), row.shown))
