"""A person's data on request (admins only): export as JSON, or erase after a confirmation, both audited."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from hotline.audit import record_event
from hotline.channels.phone import InvalidPhoneNumber, to_e164
from hotline.console import blueprint
from hotline.console.access import add_nav_item, current_user, requires_role
from hotline.db import get_session
from hotline.retention import erase_person, export_person

add_nav_item("console.people", _l("Personal data"), ("admin",), 95)


def _phone_or_none() -> str | None:
    try:
        return to_e164(request.form.get("phone") or "")
    except InvalidPhoneNumber:
        return None


def _audit(action: str, found: bool) -> None:
    # The number never goes into the audit trail: who asked, when, and whether anything was held.
    record_event(get_session(), action, actor="user", user_id=current_user().id,
                 details={"found": found, "via": "console"})


def _bad_number():
    flash(_("This is not a phone number."), "error")
    return render_template("console/people.html", phone=request.form.get("phone") or ""), 422


@blueprint.get("/people")
@requires_role("admin")
def people():
    """The form: a phone number, then export or erase what is held about it."""
    return render_template("console/people.html", phone="")


@blueprint.post("/people/export")
@requires_role("admin")
def people_export():
    """Everything held about the number, as a JSON download (an audited access)."""
    phone = _phone_or_none()
    if phone is None:
        return _bad_number()
    db = get_session()
    data = export_person(db, phone)
    _audit("pii.exported", data["found"])
    db.commit()
    return Response(json.dumps(data, ensure_ascii=False, indent=2, default=str), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="personal-data.json"',
                             "Cache-Control": "no-store"})


@blueprint.post("/people/erase")
@requires_role("admin")
def people_erase():
    """First what would be erased and a confirmation; with the confirmation, erase and record it."""
    phone = _phone_or_none()
    if phone is None:
        return _bad_number()
    db = get_session()
    if request.form.get("confirm") != "yes":
        data = export_person(db, phone)
        held = {"cases": len(data.get("cases", [])), "received": len(data.get("messages_received", [])),
                "sent": len(data.get("messages_sent", []))}
        db.rollback()
        return render_template("console/people_erase.html", phone=request.form.get("phone") or "",
                               found=data["found"], held=held)
    found = erase_person(db, phone)
    _audit("pii.erased", found)
    db.commit()
    if found:
        flash(_("The person's data was erased. Their cases stay, without personal data, for the statistics."),
              "success")
    else:
        flash(_("No data is held for this number."), "warning")
    return redirect(url_for("console.people"))
