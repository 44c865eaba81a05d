"""`hotline providers import|list`: the directory of shelters, police units and other services."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hotline.db import get_session
from hotline.directory import save_providers
from hotline.models import Provider
from routing.directory import DEMO_PROVIDERS_FILE, parse_providers


@click.group()
def providers() -> None:
    """The provider directory."""


@providers.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
@click.option("--demo", is_flag=True, help="Import the shipped demo directory of Mali (fictitious numbers).")
@click.option("--valid-only", is_flag=True, help="Import the valid rows even if some rows are bad.")
@with_appcontext
def import_providers(path: Path | None, demo: bool, valid_only: bool) -> None:
    """Validate every row of a CSV or YAML FILE and import all of it (or only valid rows)."""
    if demo == (path is not None):
        raise click.UsageError("give a FILE or --demo")
    source = DEMO_PROVIDERS_FILE if demo else path
    try:
        result = parse_providers(Path(source))
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    for error in result.row_errors:
        click.echo(f"{source}: {error}", err=True)
    if result.row_errors and not valid_only:
        raise click.ClickException(
            f"{len(result.row_errors)} bad rows: nothing imported (fix them, or use --valid-only)")
    session = get_session()
    saved = save_providers(session, result.providers)
    session.commit()
    skipped = f", {len(result.row_errors)} bad rows skipped" if result.row_errors else ""
    click.echo(f"imported {saved} providers{skipped}")


@providers.command("list")
@click.option("--kind", default=None, help="Only this kind (shelter, police, ...).")
@with_appcontext
def list_providers(kind: str | None) -> None:
    """List the directory: code, kind, place, beds, contacts."""
    query = select(Provider).options(selectinload(Provider.contacts)).order_by(Provider.kind, Provider.code)
    if kind:
        query = query.where(Provider.kind == kind)
    rows = get_session().scalars(query).all()
    for row in rows:
        beds = "-" if row.beds_free is None else str(row.beds_free)
        flags = " ".join(flag for flag, on in (("demo", row.demo), ("inactive", not row.active)) if on)
        click.echo(f"{row.code:40} {row.kind:17} {row.place_code or '?':32} beds {beds:>3}  "
                   f"contacts {len(row.contacts)} {flags}".rstrip())
    click.echo(f"{len(rows)} providers")
