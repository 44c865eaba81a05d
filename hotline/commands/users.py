"""`hotline users create`: add a console user (the password is typed twice, or read from stdin)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from hotline.accounts import AccountError, create_user
from hotline.db import get_session
from hotline.models.user import ROLES


@click.group()
def users() -> None:
    """Console users."""


@users.command("create")
@click.option("--email", required=True, help="The address the user signs in with.")
@click.option("--name", required=True, help="The name shown in the console and the audit trail.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--provider", "provider_code", default=None, help="Provider code (provider_staff only).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (scripts).")
@with_appcontext
def create(email: str, name: str, role: str, provider_code: str | None, password_stdin: bool) -> None:
    """Create a user who can sign in to the console."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")
    session = get_session()
    try:
        user = create_user(session, email=email, name=name, role=role, password=password,
                           provider_code=provider_code)
    except AccountError as error:
        session.rollback()
        raise click.ClickException(str(error)) from None
    session.commit()
    click.echo(f"user {user.id} created with role {role}")


@users.command("token")
@click.option("--email", required=True, help="The user who gets the token.")
@click.option("--revoke", is_flag=True, help="Remove the user's token instead of issuing one.")
@with_appcontext
def token(email: str, revoke: bool) -> None:
    """Issue a user's API token (printed once; only its hash is kept), or revoke it."""
    from sqlalchemy import select

    from hotline.accounts import normalise_email
    from hotline.api.tokens import issue_token, revoke_token
    from hotline.models import User

    session = get_session()
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active:
        raise click.ClickException(f"no active user has the email {email!r}")
    if revoke:
        revoke_token(session, user)
        session.commit()
        click.echo(f"token of user {user.id} revoked")
        return
    issued = issue_token(session, user)
    session.commit()
    click.echo(issued)
