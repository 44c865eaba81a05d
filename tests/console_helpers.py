"""Helpers for console tests: users of each role, signing in, CSRF tokens read from the pages."""

from __future__ import annotations

import re

from sqlalchemy import select

from hotline.accounts import create_user
from hotline.db import get_session
from hotline.models import AuditEvent

PASSWORD = "a long enough passphrase"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(app, role: str, *, email: str | None = None, provider: str | None = None) -> str:
    """Create an active user of ``role`` (provider staff of ``provider``); return the email."""
    email = email or f"{role}.{provider or 'all'}@hotline.test"
    with app.app_context():
        create_user(get_session(), email=email, name=f"{role.title()} {provider or ''}".strip(), role=role,
                    password=PASSWORD, provider_code=provider)
        get_session().commit()
    return email


def csrf_token(client, path: str = "/console/login") -> str:
    """The CSRF token a page of the console carries in its forms."""
    page = client.get(path).get_data(as_text=True)
    found = _TOKEN.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def login(client, email: str, password: str = PASSWORD):
    """Sign in through the form, as a person does."""
    return client.post("/console/login", data={"email": email, "password": password,
                                               "csrf_token": csrf_token(client)})


def post_form(client, path: str, data: dict | None = None, *, token_from: str = "/console/", **kwargs):
    """Post a console form with the CSRF token of a page the user can open."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, token_from)}, **kwargs)


def audit_events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        session = get_session()
        session.expire_all()
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
