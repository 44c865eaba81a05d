"""Providers: the directory list, its map, create and edit, bed counts, and CSV import with per-row errors."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hotline.audit import record_event
from hotline.console import blueprint
from hotline.console.access import add_nav_item, current_user, requires_role
from hotline.console.cases import place_label
from hotline.console.labels import label, number
from hotline.db import get_session
from hotline.directory import save_providers
from hotline.models import Provider
from routing.directory import COLUMNS, RowError, parse_providers
from routing.errors import DirectoryValueError
from routing.gazetteer import default_gazetteer
from routing.vocabulary import GROUPS, PROVIDER_KINDS, SERVICES

DIRECTORY_ROLES = ("admin", "operator")
FLAGS = ("active", "demo", "publishes_phone")
# The form's own words for the directory's columns (the import page names the CSV column itself).
FIELD_LABELS = {"id": _l("Code"), "name": _l("Name"), "kind": _l("Kind"), "latitude": _l("Latitude"),
                "longitude": _l("Longitude"), "place": _l("Place code"), "serves": _l("Serves"),
                "services": _l("Services"), "beds_free": _l("Free beds"), "hours": _l("Opening hours"),
                "languages": _l("Languages"), "contacts": _l("Staff to alert"), "active": _l("active"),
                "demo": _l("demo data"), "publishes_phone": _l("callers may be given the first number")}
# The label group of the codes a column takes, to name them next to the code a file must hold.
VALUE_GROUPS = {"kind": "kind", "serves": "group", "services": "service"}

add_nav_item("console.providers", _l("Providers"), DIRECTORY_ROLES, 30)


def _codes(field: str | None, codes: list[str]) -> str:
    """The codes a file must hold, each with its meaning in the reader's words when that differs."""
    group = VALUE_GROUPS.get(field or "")
    words = [(code, label(group, code) if group else code) for code in codes]
    return ", ".join(code if meaning == code else f"{code} ({meaning})" for code, meaning in words)


# Each problem routing.directory finds in a row, by code, worded from its parameters.
ROW_PROBLEMS = {
    "missing": lambda e, p: _("this value is missing"),
    "unknown_column": lambda e, p: _("this column is not one of the directory's: %(columns)s",
                                     columns=", ".join(p.get("allowed", COLUMNS))),
    "not_a_mapping": lambda e, p: _("this entry is not a set of “column: value” pairs"),
    "not_yes_no": lambda e, p: _("“%(value)s” is not yes or no", value=p["value"]),
    "not_a_number": lambda e, p: _("“%(value)s” is not a number in decimal degrees", value=p["value"]),
    "not_whole_beds": lambda e, p: _("“%(value)s” is not a whole number of beds", value=p["value"]),
    "hours_empty": lambda e, p: _("the hours are empty: write “24/7” or e.g. “mon-fri 08:00-17:00”"),
    "hours_unreadable": lambda e, p: _("the hours “%(value)s” cannot be read: write e.g. “mon-fri 08:00-17:00; "
                                       "sat 09:00-13:00”", value=p["value"]),
    "hours_same_time": lambda e, p: _("the hours “%(value)s” open and close at the same time", value=p["value"]),
    "unknown_day": lambda e, p: _("“%(value)s” is not a day: write mon to sun (or lun to dim)", value=p["value"]),
    "bad_time": lambda e, p: _("%(value)s is not a time of day", value=p["value"]),
    "no_phone": lambda e, p: _("a contact has no phone number"),
    "not_a_phone": lambda e, p: _("“%(value)s” is not a valid phone number", value=p["value"]),
    "invalid_phone": lambda e, p: _("“%(value)s” is not a valid phone number", value=p["value"]),
    "demo_number": lambda e, p: _("%(value)s is in the fictitious demo block: real providers need real numbers",
                                  value=p["value"]),
    "unknown_value": lambda e, p: _("“%(value)s” is not a known value; use one of: %(allowed)s", value=p["value"],
                                    allowed=_codes(e.field, p.get("allowed", []))),
    "out_of_range": lambda e, p: _("%(value)s is out of range (−%(limit)s to %(limit)s)",
                                   value=number(p["value"], decimals=None), limit=p["limit"]),
    "negative_beds": lambda e, p: _("the number of beds cannot be negative (%(value)s)",
                                    value=number(p["value"], decimals=None)),
    "bad_id": lambda e, p: _("the code may hold only lower-case letters, digits, “.”, “_” and “-”"),
    "bad_language": lambda e, p: _("“%(value)s” is not a language code such as fr, bm or en", value=p["value"]),
    "duplicate_id": lambda e, p: _("the code “%(value)s” is already used by row %(row)s", value=p["value"],
                                   row=p["other_row"]),
    "id_taken": lambda e, p: _("this code is already used by another provider"),
}
# Problems with a whole file (it cannot be read as a directory at all), by code.
FILE_PROBLEMS = {
    "unknown_columns": lambda p: _("unknown columns: %(columns)s; the columns are %(allowed)s",
                                   columns=", ".join(p["columns"]), allowed=", ".join(p["allowed"])),
    "not_csv": lambda p: _("row %(row)s cannot be read as CSV", row=p["row"]),
    "cell_too_long": lambda p: _("row %(row)s has a cell of %(length)s characters; the limit is %(limit)s",
                                 row=p["row"], length=p["length"], limit=p["limit"]),
    "not_yaml": lambda p: (_("this is not valid YAML (line %(line)s)", line=p["line"]) if p.get("line")
                           else _("this is not valid YAML")),
    "yaml_not_a_list": lambda p: _("a YAML provider file is a list of providers, or has a “providers” list"),
    "yaml_merge_key": lambda p: _("write the “providers” list out in full, without a merge key (<<)"),
    "unknown_format": lambda p: _("the format cannot be told: name the file .csv, .yaml or .yml"),
}


def row_problem(error: RowError) -> str:
    """What is wrong with a row, in the reader's language (routing's English sentence for a code it lacks)."""
    wording = ROW_PROBLEMS.get(error.code)
    try:
        return wording(error, error.params) if wording else error.reason
    except KeyError:
        return error.reason


def row_place(error: RowError) -> str:
    """Where the bad row is: its row number in a CSV file, its entry and line in a YAML file."""
    if error.line:
        return _("entry %(row)d (line %(line)d)", row=error.row, line=error.line)
    return str(error.row)


def file_problem(error: ValueError) -> str:
    if isinstance(error, DirectoryValueError) and error.code in FILE_PROBLEMS:
        try:
            return FILE_PROBLEMS[error.code](error.params)
        except KeyError:
            pass
    return str(error)


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
    return render_template("console/providers.html", providers=all_providers(), place_label=place_label)


@blueprint.get("/providers/map")
@requires_role(*DIRECTORY_ROLES)
def providers_map():
    """Every provider as a marker on a map of Mali (region capitals drawn when no tile server is set)."""
    markers = [{"code": p.code, "name": p.name, "kind": p.kind, "lat": p.latitude, "lng": p.longitude,
                "beds": None if p.beds_free is None else ngettext("%(num)d free bed", "%(num)d free beds", p.beds_free),
                "active": p.active,
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
                           kinds=PROVIDER_KINDS, groups=GROUPS, services=SERVICES, field_labels=FIELD_LABELS,
                           row_problem=row_problem), status


def _save_form(editing: Provider | None):
    data = form_from_request()
    if editing is not None:
        data["id"] = editing.code  # the code is what routing and imports know a provider by
    provider, errors = validate(data)
    if editing is None and provider is not None and get_session().scalar(
            select(Provider.id).where(Provider.code == provider.id)):
        errors = [RowError(2, "this code is already used by another provider", "id", code="id_taken")]
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
        # A decoding error is a ValueError too: it is asked about first.
        reason = _("the file is not UTF-8 text") if isinstance(error, UnicodeDecodeError) else file_problem(error)
        return render_template("console/providers_import.html", result=None, file_error=reason), 422
    valid_only = request.form.get("valid_only") == "yes"
    saved = 0
    if result.providers and (result.ok or valid_only):
        db = get_session()
        saved = save_providers(db, result.providers, user_id=current_user().id)
        db.commit()
    status = 200 if result.ok else 422
    return render_template("console/providers_import.html", result=result, saved=saved,
                           valid_only=valid_only, filename=upload.filename, row_problem=row_problem,
                           row_place=row_place), status
