"""`hotline stats export`: the committee's anonymous statistics as CSV, with the console's disclosure rule."""

from __future__ import annotations

import sys
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from hotline.db import get_session
from hotline.statistics import StatisticsFilter, published_statistics, write_csv


@click.group()
def stats() -> None:
    """Anonymous statistics."""


@stats.command("export")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day counted (YYYY-MM-DD, UTC); default: the first case.")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day counted (YYYY-MM-DD, UTC); default: today.")
@click.option("--region", default=None, help="Only this region (code, e.g. bamako).")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the CSV to this file instead of standard output.")
@with_appcontext
def export(date_from: datetime | None, date_to: datetime | None, region: str | None, out: str | None) -> None:
    """Write the statistics as CSV: counts under 5 as "<5", the others rounded to the nearest 5."""
    from hotline.console.statistics import category_label

    if date_from and date_to and date_from > date_to:
        raise click.BadParameter("--from is after --to", param_hint="--from")
    filters = StatisticsFilter(date_from=date_from.date() if date_from else None,
                               date_to=date_to.date() if date_to else None, region=region or None)
    published = published_statistics(get_session(), filters)
    # The labels are the console's, in its default language (French), which a request context selects.
    with current_app.test_request_context():
        if out:
            with open(out, "w", encoding="utf-8", newline="") as handle:
                write_csv(published, handle, category_label)
            click.echo(f"statistics of {published.total.shown} cases written to {out}", err=True)
        else:
            write_csv(published, sys.stdout, category_label)
