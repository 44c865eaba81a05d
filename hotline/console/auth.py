"""Signing in and out of the console, and choosing its language."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from hotline.accounts import authenticate
from hotline.audit import record_event
from hotline.console import LANGUAGES, blueprint
from hotline.console.access import current_user, end_session, safe_next, start_session
from hotline.db import get_session


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form: email and password; throttled after repeated failures."""
    if current_user() is not None and request.method == "GET":
        return redirect(url_for("console.dashboard"))
    next_path = safe_next(request.values.get("next"))
    if request.method == "POST":
        db = get_session()
        result = authenticate(db, request.form.get("email", ""), request.form.get("password", ""),
                              max_failures=current_app.config["HOTLINE_LOGIN_MAX_FAILURES"],
                              lock_minutes=current_app.config["HOTLINE_LOGIN_LOCK_MINUTES"])
        db.commit()
        if result.user is not None:
            start_session(result.user)
            return redirect(next_path or url_for("console.dashboard"))
        if result.refusal == "locked":
            flash(_("Too many failed attempts: this account is locked for a while. Try again later."), "error")
        else:
            flash(_("Wrong email or password."), "error")
        return render_template("console/login.html", next_path=next_path,
                               email=request.form.get("email", "")), 401
    return render_template("console/login.html", next_path=next_path, email="")


@blueprint.post("/logout")
def logout():
    """End the session."""
    user = current_user()
    if user is not None:
        db = get_session()
        record_event(db, "auth.logout", "user", user.id, actor="user", user_id=user.id)
        db.commit()
    end_session("logout")
    flash(_("You are signed out."), "success")
    return redirect(url_for("console.login"))


@blueprint.post("/language")
def choose_language():
    """Switch the console between French and English, then go back to the same page."""
    language = request.form.get("lang")
    if language in LANGUAGES:
        session["lang"] = language
    return redirect(safe_next(request.form.get("back")) or url_for("console.dashboard"))
