"""Anonymous statistics through the API: the same published counts as the console page and its CSV."""

from __future__ import annotations

from hotline.api import schemas
from hotline.api.operations import operation
from hotline.db import get_session
from hotline.statistics import DIMENSIONS, StatisticsFilter, published_statistics

STATISTICS_ROLES = ("admin", "operator", "analyst")
RULE = ("counts under 5 (zero included) are shown as \"<5\"; every other count, totals included, "
        "is rounded to the nearest multiple of 5")


def _count(value: int | None) -> int | str:
    return "<5" if value is None else value


@operation("/statistics", response=schemas.Statistics, roles=STATISTICS_ROLES, query=schemas.StatisticsQuery,
           tag="statistics", summary="Anonymous case counts by month, region, indicator, risk, age band, sex, "
                                     "outcome, caller and 4P",
           description="The figures of the console's statistics page, with the same disclosure rule: "
                       + RULE + ". The 4P mapping is documented in hotline/statistics.py.")
def get_statistics(query: schemas.StatisticsQuery):
    filters = StatisticsFilter(date_from=query.date_from, date_to=query.date_to, region=query.region)
    published = published_statistics(get_session(), filters)
    tables = {dimension: [{"category": row.category, "count": _count(row.value)}
                          for row in published.table(dimension)] for dimension in DIMENSIONS}
    return schemas.Statistics(
        filters={"from": query.date_from, "to": query.date_to, "region": query.region},
        total=_count(published.total.value), rule=RULE, tables=tables)
