"""Providers: the directory list, its map, create and edit, bed counts, and CSV import with per-row errors."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hotline.audit import record_event
from hotline.console import blueprint
from hotline.console.access import add_nav_item, current_user, requires_role
from hotline.db import get_session
from hotline.directory import save_providers
from hotline.models import Provider
from routing.directory import COLUMNS, RowError, parse_providers
from routing.gazetteer import default_gazetteer
from routing.vocabulary import GROUPS, PROVIDER_KINDS, SERVICES

DIRECTORY_ROLES = ("admin", "operator")
FLAGS = ("active", "demo", "publishes_phone")

add_nav_item("console.providers", _l("Providers"), DIRECTORY_ROLES, 30)


def all_providers() -> list[Provider]:
    return list(get_session().scalars(select(Provider).options(selectinload(Provider.contacts))
                                      .order_by(Provider.kind, Provider.name)))


def provider_by_code(code: str) -> Provider:
    row = get_session().scalar(select(Provider).where(Provider.code == code)
                               .options(selectinload(Provider.contacts)))
    if row is None:
        abort(404)
    return row


@blueprint.get("/providers")
@requires_role(*DIRECTORY_ROLES)
def providers():
    """The directory, with a bed count form on each shelter row."""
    return render_template("console/providers.html", providers=all_providers())


@blueprint.get("/providers/map")
@requires_role(*DIRECTORY_ROLES)
def providers_map():
    """Every provider as a marker on a map of Mali (region capitals drawn when no tile server is set)."""
    markers = [{"code": p.code, "name": p.name, "kind": p.kind, "lat": p.latitude, "lng": p.longitude,
                "beds": p.beds_free, "active": p.active,
                "url": url_for("console.provider_edit", code=p.code)} for p in all_providers()]
    places = [{"name": r.name, "lat": r.latitude, "lng": r.longitude} for r in default_gazetteer().regions()]
    return render_template("console/providers_map.html", markers=markers, places=places,
                           tiles_url=current_app.config.get("HOTLINE_MAP_TILES_URL") or "")


def form_from_row(row: Provider | None) -> dict[str, Any]:
    if row is None:
        return {"id": "", "name": "", "kind": "shelter", "latitude": "", "longitude": "", "place": "",
                "serves": [], "services": [], "beds_free": "", "hours": "24/7", "languages": "fr; bm",
                "contacts": "", "active": True, "demo": False, "publishes_phone": False}
    contacts = "\n".join(f"{c.name}: {c.phone}" if c.name else c.phone for c in row.contacts if c.active)
    return {"id": row.code, "name": row.name, "kind": row.kind, "latitude": row.latitude,
            "longitude": row.longitude, "place": row.place_code or "", "serves": list(row.serves),
            "services": list(row.services), "beds_free": "" if row.beds_free is None else row.beds_free,
            "hours": row.hours, "languages": "; ".join(row.languages), "contacts": contacts,
            "active": row.active, "demo": row.demo, "publishes_phone": row.publishes_phone}


def form_from_request() -> dict[str, Any]:
    form = request.form
    data: dict[str, Any] = {key: (form.get(key) or "").strip() for key in
                            ("id", "name", "kind", "latitude", "longitude", "place", "beds_free", "hours",
                             "languages", "contacts")}
    data["serves"] = form.getlist("serves")
    data["services"] = form.getlist("services")
    for flag in FLAGS:
        data[flag] = form.get(flag) == "yes"
    return data


def validate(data: dict[str, Any]) -> tuple[Any, list[RowError]]:
    """Check a form with the directory's own import rules, by writing it as a one-row CSV."""
    row = {key: data.get(key, "") for key in COLUMNS}
    row["serves"] = "; ".join(data["serves"])
    row["services"] = "; ".join(data["services"])
    row["contacts"] = "; ".join(line.strip() for line in str(data["contacts"]).splitlines() if line.strip())
    for flag in FLAGS:
        row[flag] = "yes" if data[flag] else "no"
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerow(row)
    result = parse_providers(text.getvalue(), fmt="csv")
    return (result.providers[0] if result.providers else None), result.row_errors


def render_form(data: dict[str, Any], *, editing: bool, errors: list[RowError] | None = None, status: int = 200):
    return render_template("console/provider_form.html", form=data, editing=editing, errors=errors or [],
                           kinds=PROVIDER_KINDS, groups=GROUPS, services=SERVICES), status


def _save_form(editing: Provider | None):
    data = form_from_request()
    if editing is not None:
        data["id"] = editing.code  # the code is what routing and imports know a provider by
    provider, errors = validate(data)
    if editing is None and provider is not None and get_session().scalar(
            select(Provider.id).where(Provider.code == provider.id)):
        errors = [RowError(2, _("this code is already used by another provider"), "id")]
    if errors:
        return render_form(data, editing=editing is not None, errors=errors, status=422)
    db = get_session()
    save_providers(db, [provider], user_id=current_user().id)
    db.commit()
    flash(_("Provider %(name)s saved.", name=provider.name), "success")
    return redirect(url_for("console.providers"))


@blueprint.route("/providers/new", methods=["GET", "POST"])
@requires_role(*DIRECTORY_ROLES)
def provider_new():
    """Add a provider, validated by the same rules as the CSV import."""
    if request.method == "POST":
        return _save_form(None)
    return render_form(form_from_row(None), editing=False)


@blueprint.route("/providers/<code>/edit", methods=["GET", "POST"])
@requires_role(*DIRECTORY_ROLES)
def provider_edit(code: str):
    """Change a provider (its code stays)."""
    row = provider_by_code(code)
    if request.method == "POST":
        return _save_form(row)
    return render_form(form_from_row(row), editing=True)


@blueprint.post("/providers/<code>/capacity")
@requires_role(*DIRECTORY_ROLES)
def provider_capacity(code: str):
    """Set the number of free beds (empty: not reported)."""
    row = provider_by_code(code)
    raw = (request.form.get("beds_free") or "").strip()
    if raw and (not raw.isdigit() or int(raw) > 100000):
        flash(_("The number of free beds must be a whole number, 0 or more."), "error")
        return redirect(url_for("console.providers"))
    db = get_session()
    row.beds_free = int(raw) if raw else None
    record_event(db, "provider.capacity", "provider", row.id, actor="user", user_id=current_user().id,
                 details={"beds_free": row.beds_free})
    db.commit()
    flash(_("Free beds of %(name)s saved.", name=row.name), "success")
    return redirect(url_for("console.providers") + f"#provider-{row.code}")


@blueprint.route("/providers/import", methods=["GET", "POST"])
@requires_role(*DIRECTORY_ROLES)
def providers_import():
    """Import a CSV (or YAML) directory file: every bad row is listed; nothing or only valid rows are saved."""
    if request.method == "GET":
        return render_template("console/providers_import.html", result=None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file to import."), "error")
        return render_template("console/providers_import.html", result=None), 400
    fmt = "yaml" if upload.filename.lower().endswith((".yaml", ".yml")) else "csv"
    try:
        result = parse_providers(upload.read().decode("utf-8-sig"), fmt=fmt)
    except (ValueError, UnicodeDecodeError) as error:
        reason = str(error) if isinstance(error, ValueError) else _("the file is not UTF-8 text")
        return render_template("console/providers_import.html", result=None, file_error=reason), 422
    valid_only = request.form.get("valid_only") == "yes"
    saved = 0
    if result.providers and (result.ok or valid_only):
        db = get_session()
        saved = save_providers(db, result.providers, user_id=current_user().id)
        db.commit()
    status = 200 if result.ok else 422
    return render_template("console/providers_import.html", result=result, saved=saved,
                           valid_only=valid_only, filename=upload.filename), status
