"""Who is signed in, what each role may open, and the 403 (with an audit event) for everything else."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotline.audit import record_event
from hotline.console import LANGUAGES, blueprint
from hotline.db import get_session
from hotline.models import ConsoleSession, User
from hotline.models.types import utcnow

ALL_ROLES = ("admin", "operator", "provider_staff", "analyst")
SESSION_TOKEN = "sid"
SEEN_RESOLUTION_SECONDS = 60


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any  # a lazy translated string
    roles: tuple[str, ...]
    order: int


NAV_ITEMS: list[NavItem] = []


def add_nav_item(endpoint: str, label: Any, roles: tuple[str, ...], order: int) -> None:
    """Show a page in the navigation to the given roles (pages added later call this too)."""
    if all(item.endpoint != endpoint for item in NAV_ITEMS):
        NAV_ITEMS.append(NavItem(endpoint, label, roles, order))
        NAV_ITEMS.sort(key=lambda item: item.order)


def nav_for(user: User | None) -> list[NavItem]:
    return [item for item in NAV_ITEMS if user is not None and user.role in item.roles]


def current_user() -> User | None:
    """The signed-in, active user of this request, or None."""
    return g.get("console_user")


def deny(reason: str = "role") -> None:
    """Refuse this request with a 403 page and an audit event (path and role only, never personal data)."""
    user = current_user()
    db = get_session()
    db.rollback()
    record_event(db, "access.denied", actor="user" if user else "anonymous", user_id=user.id if user else None,
                 details={"path": request.path, "method": request.method,
                          "role": user.role if user else None, "reason": reason})
    db.commit()
    abort(403)


def requires_role(*roles: str) -> Callable:
    """Only signed-in users with one of ``roles`` may open the page; others get a 403 (audited)."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("console.login", next=request.path))
            if user.role not in roles:
                deny("role")
            return view(*args, **kwargs)

        wrapper.console_roles = roles  # type: ignore[attr-defined]
        return wrapper

    return decorate


def idle_limit_seconds() -> int:
    return int(current_app.config["HOTLINE_CONSOLE_IDLE_MINUTES"]) * 60


@blueprint.before_request
def load_user() -> Any:
    """Find the signed-in user from the server-side session the cookie names.

    The session ends after the idle timeout, at logout, and when the user is deactivated; a
    copied cookie stops working at the same moment, since the server no longer knows it.
    """
    g.console_user = None
    token = session.get(SESSION_TOKEN)
    if token is None:
        return None
    db = get_session()
    now = utcnow()
    record = db.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token)))
    user = db.get(User, record.user_id) if record is not None and record.ended_at is None else None
    if user is None or not user.active:
        session.clear()
        return redirect(url_for("console.login"))
    if (now - record.last_seen_at).total_seconds() > idle_limit_seconds():
        record.ended_at, record.end_reason = now, "idle"
        db.commit()
        session.clear()
        flash(_l("Your session ended after a period of inactivity. Please sign in again."), "warning")
        return redirect(url_for("console.login"))
    # Writing the time on every request would make each page view a write; a minute is fine-grained enough.
    if (now - record.last_seen_at).total_seconds() >= SEEN_RESOLUTION_SECONDS:
        record.last_seen_at = now
        db.commit()
    g.console_user = user
    return None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> None:
    """Sign ``user`` in with a fresh session (no state carried over from before the login but the language)."""
    end_session("new_login")
    token = secrets.token_urlsafe(32)
    db = get_session()
    db.add(ConsoleSession(user_id=user.id, token_hash=token_hash(token)))
    db.commit()
    session[SESSION_TOKEN] = token


def end_session(reason: str) -> None:
    """End this browser's server-side session (if any) and clear its cookie, keeping the language."""
    token = session.get(SESSION_TOKEN)
    if token is not None:
        db = get_session()
        db.execute(update(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token),
                                                ConsoleSession.ended_at.is_(None))
                   .values(ended_at=utcnow(), end_reason=reason))
        db.commit()
    language = session.get("lang")
    session.clear()
    if language in LANGUAGES:
        session["lang"] = language


def end_user_sessions(db: Session, user_id: int, reason: str) -> int:
    """End every open session of a user (deactivation); the caller commits. Returns how many."""
    result = db.execute(update(ConsoleSession).where(ConsoleSession.user_id == user_id,
                                                     ConsoleSession.ended_at.is_(None))
                        .values(ended_at=utcnow(), end_reason=reason))
    return result.rowcount or 0


@blueprint.app_context_processor
def console_context() -> dict[str, Any]:
    from flask_babel import get_locale

    user = g.get("console_user")
    return {"current_user": user, "nav_items": nav_for(user), "languages": LANGUAGES,
            "current_language": str(get_locale() or "fr")}


def _error_page(status: int, title: Any, message: Any):
    return render_template("console/error.html", status=status, title=title, message=message), status


@blueprint.errorhandler(403)
def forbidden(_error):
    return _error_page(403, _l("Access denied"), _l("Your role does not allow you to open this page."))


@blueprint.errorhandler(404)
def not_found(_error):
    return _error_page(404, _l("Not found"), _l("This page or record does not exist."))


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_refused(_error):
        if not request.path.startswith("/console"):
            return "form expired or forged: reload the page and try again", 400
        return _error_page(400, _l("Form expired"),
                           _l("This form has expired or did not come from the console. Reload the page and try again."))


def safe_next(target: str | None) -> str | None:
    """A console path to go back to after sign-in; anything else (another host) is dropped."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def flash_saved(message: Any) -> None:
    flash(message, "success")
