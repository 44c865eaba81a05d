"""`hotline purge` and `hotline pii export|erase|rotate`: personal data on request and on schedule."""

from __future__ import annotations

import json
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from hotline.audit import record_event
from hotline.channels.phone import InvalidPhoneNumber, to_e164
from hotline.db import get_session
from hotline.retention import erase_person, export_person, purge_personal_data, rotate_keys


@click.command()
@click.option("--days", type=int, default=None, help="Retention in days (default HOTLINE_RETENTION_DAYS).")
@with_appcontext
def purge(days: int | None) -> None:
    """Anonymise closed cases and ended conversations older than the retention period."""
    retention = days if days is not None else current_app.config["HOTLINE_RETENTION_DAYS"]
    counts = purge_personal_data(get_session(), timedelta(days=retention))
    click.echo(f"anonymised {counts['cases']} cases, {counts['conversations']} conversations, "
               f"{counts['contacts']} phone numbers older than {retention} days")


@click.group()
def pii() -> None:
    """A person's data on request, and key rotation."""


def _phone(value: str) -> str:
    try:
        return to_e164(value)
    except InvalidPhoneNumber as error:
        raise click.BadParameter(str(error)) from None


@pii.command("export")
@click.option("--phone", required=True, help="The person's phone number.")
@click.option("--by", "operator", required=True, help="Who asks (recorded in the audit log).")
@with_appcontext
def export_command(phone: str, operator: str) -> None:
    """Print, as JSON, everything held about one phone number (an audited access)."""
    session = get_session()
    data = export_person(session, _phone(phone))
    record_event(session, "pii.exported", actor="user", details={"by": operator, "found": data["found"]})
    session.commit()
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@pii.command("erase")
@click.option("--phone", required=True, help="The person's phone number.")
@click.option("--by", "operator", required=True, help="Who asks (recorded in the audit log).")
@click.confirmation_option(prompt="Erase this person's data for good?")
@with_appcontext
def erase_command(phone: str, operator: str) -> None:
    """Anonymise everything held about one phone number now (cases stay, without personal data)."""
    session = get_session()
    found = erase_person(session, _phone(phone))
    record_event(session, "pii.erased", actor="user", details={"by": operator, "found": found})
    session.commit()
    click.echo("erased" if found else "no data held for that number")


@pii.command("rotate")
@with_appcontext
def rotate_command() -> None:
    """Re-encrypt all personal data with the newest HOTLINE_PII_KEY (put the new key first)."""
    click.echo(f"re-encrypted {rotate_keys(get_session())} rows with the newest key")
