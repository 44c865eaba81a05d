"""The `hotline` command: serve, worker, db upgrade and the operator tools."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from hotline.app import create_app
from hotline.config import ConfigError


def _create_cli_app():
    # Commands run their own queue when they need one; a CLI call must not start a worker thread.
    return create_app({"HOTLINE_EMBEDDED_WORKER": False})


@click.group(cls=FlaskGroup, create_app=_create_cli_app, add_version_option=False, load_dotenv=False)
def cli() -> None:
    """SMS/USSD hotline and referral routing."""


def main() -> None:
    try:
        cli.main(prog_name="hotline")
    except ConfigError as error:
        click.echo(f"hotline: refusing to start:\n{error}", err=True)
        sys.exit(2)


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema (safe to run again)."""
    from hotline.db import get_db, get_session
    from hotline.flow_store import publish_shipped_flows
    from hotline.migrate import current_revision, upgrade_database

    database = get_db()
    upgrade_database(database.engine)
    # Publishing here, once, spares the first callers a race to publish the shipped flows.
    published = publish_shipped_flows(get_session())
    click.echo(f"database ({database.dialect}) is at revision {current_revision(database.engine)}")
    if published:
        click.echo("published flows: " + ", ".join(f"{row.flow_id} v{row.number}" for row in published))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")), show_default="$PORT or 5000")
@click.option("--threads", type=int, default=8, show_default=True)
@with_appcontext
def serve(host: str, port: int, threads: int) -> None:
    """Run the hotline on one machine: migrates the database, runs jobs in-process without Redis."""
    import waitress

    from hotline.db import get_db, get_session
    from hotline.flow_store import publish_shipped_flows
    from hotline.migrate import upgrade_database
    from workers.queue import get_queue

    app = current_app._get_current_object()
    upgrade_database(get_db().engine)
    publish_shipped_flows(get_session())
    backend = get_queue()
    from workers.maintenance import ensure_periodic_jobs

    ensure_periodic_jobs()
    if hasattr(backend, "start"):
        backend.start()
        click.echo("jobs run in this process (no REDIS_URL); SMS go to the console outbox")
    else:
        click.echo("jobs go to Redis: run `hotline worker` beside this server")
    click.echo(f"hotline listening on http://{host}:{port}/ (health: /healthz)")
    waitress.serve(app, host=host, port=port, threads=threads, ident="hotline")


@cli.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty (for scripts and tests).")
@click.option("--name", default=None, help="Worker name shown by RQ.")
@with_appcontext
def worker(burst: bool, name: str | None) -> None:
    """Run an RQ worker, with RQ's scheduler and the reconciler, on the hotline's queues."""
    from workers.rq_worker import run_worker

    if not current_app.config.get("REDIS_URL"):
        raise click.UsageError(
            "hotline worker needs REDIS_URL; without it `hotline serve` runs the jobs in-process"
        )
    run_worker(current_app._get_current_object(), burst=burst, name=name)


@cli.command()
@click.option("--limit", type=int, default=20, show_default=True)
@with_appcontext
def outbox(limit: int) -> None:
    """Show the newest SMS of the console provider (development), body included."""
    from hotline.outbox import console_outbox

    for message in console_outbox(limit):
        click.echo(
            f"#{message.id} {message.created_at:%Y-%m-%d %H:%M:%S} {message.purpose} "
            f"to {message.to_phone} [{message.encoding}, {message.segments} SMS] {message.state}"
        )
        click.echo(f"    {message.body}")


def _register_command_groups() -> None:
    from hotline.commands.demo import demo
    from hotline.commands.flows import flows_group, simulate
    from hotline.commands.personal_data import pii, purge
    from hotline.commands.providers import providers
    from hotline.commands.stats import stats
    from hotline.commands.users import users

    for command in (demo, flows_group, pii, providers, purge, simulate, stats, users):
        cli.add_command(command)


_register_command_groups()


if __name__ == "__main__":
    main()
