"""API tokens (admins only): issue a user's token, shown once, or revoke it."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hotline.api.tokens import issue_token, revoke_token
from hotline.console import blueprint
from hotline.console.access import add_nav_item, current_user, requires_role
from hotline.db import get_session
from hotline.models import User

add_nav_item("console.api_tokens", _l("API tokens"), ("admin",), 92)


def render_tokens(issued: tuple[User, str] | None = None):
    users = list(get_session().scalars(select(User).where(User.active.is_(True)).order_by(User.role, User.email)))
    return render_template("console/api_tokens.html", users=users, issued=issued)


@blueprint.get("/api-tokens")
@requires_role("admin")
def api_tokens():
    """Who holds an API token, and the buttons to issue or revoke one."""
    return render_tokens()


@blueprint.post("/api-tokens/<int:user_id>")
@requires_role("admin")
def api_token_issue(user_id: int):
    """Issue a new token (replacing the user's earlier one) and show it on this answer only."""
    db = get_session()
    user = db.get(User, user_id)
    if user is None or not user.active:
        abort(404)
    token = issue_token(db, user, issued_by=current_user().id)
    db.commit()
    # Rendered, not flashed: the session cookie is signed, not encrypted, and must not carry the token.
    response = render_tokens(issued=(user, token))
    return response, 200, {"Cache-Control": "no-store"}


@blueprint.post("/api-tokens/<int:user_id>/revoke")
@requires_role("admin")
def api_token_revoke(user_id: int):
    """Revoke the user's token: requests carrying it get a 401 from now on."""
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    revoke_token(db, user, revoked_by=current_user().id)
    db.commit()
    flash(_("Token revoked."), "success")
    return redirect(url_for("console.api_tokens"))
