"""Users (admins only): list, create with a role (and a provider for provider staff), deactivate."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hotline.accounts import MIN_PASSWORD_LENGTH, AccountError, create_user
from hotline.audit import record_event
from hotline.console import blueprint
from hotline.console.access import add_nav_item, current_user, end_user_sessions, requires_role
from hotline.db import get_session
from hotline.models import Provider, User
from hotline.models.types import utcnow
from hotline.models.user import ROLES

add_nav_item("console.users", _l("Users"), ("admin",), 90)


def account_error_message(error: AccountError) -> str:
    messages = {
        "bad_email": _("The email address is not valid."),
        "no_name": _("The name is missing."),
        "bad_role": _("Choose a role."),
        "provider_required": _("Provider staff need their provider."),
        "unknown_provider": _("This provider does not exist."),
        "provider_not_allowed": _("Only provider staff belong to a provider."),
        "weak_password": _("The password needs at least %(count)d characters.", count=MIN_PASSWORD_LENGTH),
        "email_taken": _("A user with this email already exists."),
    }
    return messages.get(error.code, str(error))


def render_users(form: dict | None = None, status: int = 200):
    db = get_session()
    rows = db.execute(select(User, Provider.name).outerjoin(Provider, Provider.id == User.provider_id)
                      .order_by(User.active.desc(), User.role, User.email)).all()
    providers = db.execute(select(Provider.code, Provider.name).order_by(Provider.name)).all()
    return render_template("console/users.html", rows=rows, providers=providers, roles=ROLES, now=utcnow(),
                           form=form or {}, min_password=MIN_PASSWORD_LENGTH), status


@blueprint.get("/users")
@requires_role("admin")
def users():
    """Everyone who may sign in, and the form to add someone."""
    return render_users()


@blueprint.post("/users")
@requires_role("admin")
def user_create():
    """Create a user; the password is typed twice."""
    form = {key: (request.form.get(key) or "").strip() for key in ("email", "name", "role", "provider")}
    password = request.form.get("password") or ""
    if password != (request.form.get("password_again") or ""):
        flash(_("The two passwords differ."), "error")
        return render_users(form, 422)
    db = get_session()
    try:
        create_user(db, email=form["email"], name=form["name"], role=form["role"], password=password,
                    provider_code=form["provider"] if form["role"] == "provider_staff" else None,
                    created_by=current_user().id)
    except AccountError as error:
        db.rollback()
        flash(account_error_message(error), "error")
        return render_users(form, 422)
    db.commit()
    flash(_("User created."), "success")
    return redirect(url_for("console.users"))


@blueprint.post("/users/<int:user_id>/deactivate")
@requires_role("admin")
def user_deactivate(user_id: int):
    """Stop a user from signing in; their current session ends on its next request."""
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        flash(_("This user does not exist."), "error")
    elif user.id == current_user().id:
        flash(_("You cannot deactivate yourself."), "error")
    else:
        user.active = False
        end_user_sessions(db, user.id, "deactivated")
        record_event(db, "user.deactivated", "user", user.id, actor="user", user_id=current_user().id)
        db.commit()
        flash(_("User deactivated."), "success")
    return redirect(url_for("console.users"))
