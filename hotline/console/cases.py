"""Cases: the filterable list, the case page with its referral timeline, notes, status and personal data."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from flows.vocabulary import default_vocabulary
from hotline.audit import record_event
from hotline.console import blueprint
from hotline.console.access import add_nav_item, current_user, deny, requires_role
from hotline.console.dashboard import RISK_ORDER
from hotline.console.explanations import decision_lines, event_details, without_sentences
from hotline.console.labels import has_label, label
from hotline.db import get_session
from hotline.models import (
    Alert,
    AuditEvent,
    Case,
    CaseNote,
    Contact,
    Conversation,
    OutboundMessage,
    Provider,
    ProviderContact,
    Referral,
    User,
)
from hotline.models.types import utcnow
from routing.gazetteer import GazetteerError, default_gazetteer

CASE_STATUSES = ("open", "referred", "unrouted", "closed")
# Statuses an operator may set by hand; "unrouted" is the routing engine's to give.
SETTABLE_STATUSES = ("open", "referred", "closed")
CASE_OUTCOMES = ("sheltered", "returned_home", "referred_elsewhere", "prosecution", "no_trafficking",
                 "unreachable", "duplicate")
PAGE_SIZE = 50
MAX_NOTE_LENGTH = 4000
CASE_ROLES = ("admin", "operator", "provider_staff")

add_nav_item("console.cases", _l("Cases"), CASE_ROLES, 20)


def regions() -> list[tuple[str, str]]:
    return [(place.code, place.name) for place in default_gazetteer().regions()]


def place_label(code: str | None) -> str | None:
    if not code:
        return None
    try:
        place = default_gazetteer().get(code)
    except GazetteerError:
        return code
    return place.name if place.kind == "region" else f"{place.name} ({place.region_name})"


def language() -> str:
    return str(get_locale() or "fr")


def indicator_label(indicator_id: str) -> str:
    indicator = default_vocabulary().indicators.get(indicator_id)
    return indicator.label.get(language(), indicator_id) if indicator else indicator_id


def need_label(need: str) -> str:
    return default_vocabulary().needs.get(need, {}).get(language(), need)


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def visible_cases_query(user: User):
    query = select(Case)
    if user.role == "provider_staff":
        query = query.where(Case.id.in_(select(Referral.case_id).where(Referral.provider_id == user.provider_id)))
    return query


@blueprint.get("/cases")
@requires_role(*CASE_ROLES)
def cases():
    """Cases, newest first, filtered by status, risk, region and creation date."""
    user = current_user()
    filters = {key: request.args.get(key, "") for key in ("status", "risk", "region", "from", "to")}
    query = visible_cases_query(user)
    if filters["status"] in CASE_STATUSES:
        query = query.where(Case.status == filters["status"])
    if filters["risk"] in RISK_ORDER:
        query = query.where(Case.risk_level == filters["risk"])
    if filters["region"]:
        query = query.where(Case.region_code == filters["region"])
    day_from, day_to = _parse_day(filters["from"]), _parse_day(filters["to"])
    if day_from:
        query = query.where(Case.created_at >= datetime.combine(day_from, time.min, UTC))
    if day_to:
        query = query.where(Case.created_at < datetime.combine(day_to + timedelta(days=1), time.min, UTC))
    page = max(1, request.args.get("page", 1, type=int))
    rows = list(get_session().scalars(query.order_by(Case.created_at.desc(), Case.id.desc())
                                      .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return render_template("console/cases.html", cases=rows[:PAGE_SIZE], has_more=len(rows) > PAGE_SIZE,
                           page=page, filters=filters, statuses=CASE_STATUSES, risks=RISK_ORDER,
                           regions=regions(), place_label=place_label)


def case_for(reference: str) -> Case:
    """The case with this reference if the user may see it; 404 when there is none, 403 (audited) otherwise."""
    user = current_user()
    case = get_session().scalar(select(Case).where(Case.reference == reference.upper()))
    if case is None:
        abort(404)
    if user.role == "provider_staff":
        ours = get_session().scalar(select(Referral.id).where(
            Referral.case_id == case.id, Referral.provider_id == user.provider_id).limit(1))
        if ours is None:
            deny("other provider")
    return case


def timeline(case: Case, user: User) -> list[dict[str, Any]]:
    """The case's story in time order: referrals, their alerts with delivery status, and audit events."""
    db = get_session()
    referral_query = select(Referral).where(Referral.case_id == case.id)
    if user.role == "provider_staff":
        referral_query = referral_query.where(Referral.provider_id == user.provider_id)
    referrals = list(db.scalars(referral_query.order_by(Referral.id)))
    referral_ids = [r.id for r in referrals]
    providers = {p.id: p for p in db.scalars(select(Provider).where(
        Provider.id.in_({r.provider_id for r in referrals})))}
    entries: list[dict[str, Any]] = []
    for referral in referrals:
        entries.append({"at": referral.created_at, "kind": "referral", "referral": referral,
                        "provider": providers.get(referral.provider_id)})
    alerts = db.execute(select(Alert, OutboundMessage, ProviderContact.position)
                        .outerjoin(OutboundMessage, OutboundMessage.id == Alert.outbound_message_id)
                        .outerjoin(ProviderContact, ProviderContact.id == Alert.provider_contact_id)
                        .where(Alert.referral_id.in_(referral_ids)).order_by(Alert.id)).all()
    by_id = {r.id: r for r in referrals}
    for alert, message, position in alerts:
        referral = by_id[alert.referral_id]
        entries.append({"at": alert.created_at, "kind": "alert", "referral": referral, "message": message,
                        "contact_position": position, "provider": providers.get(referral.provider_id)})
    subjects = [(AuditEvent.subject_type == "referral") & AuditEvent.subject_id.in_(referral_ids)]
    if user.role != "provider_staff":
        subjects.append((AuditEvent.subject_type == "case") & (AuditEvent.subject_id == case.id))
    events = list(db.scalars(select(AuditEvent).where(or_(*subjects)).order_by(AuditEvent.id)))
    names = {u.id: u.name for u in db.scalars(select(User).where(
        User.id.in_({e.user_id for e in events if e.user_id})))}
    for event in events:
        entries.append({"at": event.at, "kind": "event", "event": event, "user_name": names.get(event.user_id),
                        "referral": by_id.get(event.subject_id) if event.subject_type == "referral" else None})
    order = {"referral": 0, "alert": 1, "event": 2}
    entries.sort(key=lambda entry: (entry["at"], order[entry["kind"]]))
    return entries


def answer_label(value: Any) -> str:
    """A recorded answer in words: yes/no, age band, sex, place, need or language codes; typed text as it is."""
    if isinstance(value, list | tuple):
        return ", ".join(answer_label(item) for item in value)
    if not isinstance(value, str) or not value:
        return "—" if value in (None, "") else str(value)
    for group in ("answer", "age_band", "sex", "language"):
        if has_label(group, value):
            return label(group, value)
    if value in default_vocabulary().needs:
        return need_label(value)
    return place_label(value) or value


def render_case(case: Case, personal: dict[str, Any] | None = None):
    user = current_user()
    db = get_session()
    notes = db.execute(select(CaseNote, User.name).outerjoin(User, User.id == CaseNote.author_id)
                       .where(CaseNote.case_id == case.id).order_by(CaseNote.id)).all()
    # Worded here from the stored codes: the stored sentences are routing's, in English and French only.
    decision = (case.routing_explanation or {}).get("decision")
    return render_template(
        "console/case.html", case=case, personal=personal, notes=notes, entries=timeline(case, user),
        explanation_lines=decision_lines(decision), decision=without_sentences(decision),
        indicator_label=indicator_label, need_label=need_label, place_label=place_label,
        answer_label=answer_label, event_details=event_details, now=utcnow(),
        settable_statuses=SETTABLE_STATUSES, outcomes=CASE_OUTCOMES,
        may_manage=user.role in ("admin", "operator"), max_note_length=MAX_NOTE_LENGTH)


@blueprint.get("/cases/<reference>")
@requires_role(*CASE_ROLES)
def case_page(reference: str):
    """One case: risk and how it was reached, routing, referral timeline, notes, status."""
    return render_case(case_for(reference))


@blueprint.post("/cases/<reference>/personal-data")
@requires_role("admin", "operator")
def case_personal_data(reference: str):
    """Show the answers and the caller's number, once, and record that they were seen."""
    case = case_for(reference)
    db = get_session()
    phone = None
    if case.conversation_id:
        conversation = db.get(Conversation, case.conversation_id)
        contact = db.get(Contact, conversation.contact_id) if conversation else None
        phone = contact.phone if contact else None
    answers = (case.answers or {}).get("answers") or {}
    record_event(db, "case.pii_viewed", "case", case.id, actor="user", user_id=current_user().id,
                 details={"fields": ["answers", "phone"]})
    db.commit()
    return render_case(case, personal={"answers": answers, "phone": phone,
                                       "anonymised": case.anonymised_at is not None})


@blueprint.post("/cases/<reference>/notes")
@requires_role(*CASE_ROLES)
def case_add_note(reference: str):
    """Add a note (encrypted at rest) to the case."""
    case = case_for(reference)
    body = (request.form.get("body") or "").strip()
    if not body:
        flash(_("The note is empty."), "error")
    elif len(body) > MAX_NOTE_LENGTH:
        flash(_("The note is too long."), "error")
    else:
        db = get_session()
        note = CaseNote(case_id=case.id, author_id=current_user().id, body=body)
        db.add(note)
        db.flush()
        record_event(db, "case.note_added", "case", case.id, actor="user", user_id=current_user().id,
                     details={"note": note.id})
        db.commit()
        flash(_("Note added."), "success")
    return redirect(url_for("console.case_page", reference=case.reference) + "#notes")


@blueprint.post("/cases/<reference>/status")
@requires_role("admin", "operator")
def case_set_status(reference: str):
    """Reopen, mark referred, or close with an outcome."""
    case = case_for(reference)
    status, outcome = request.form.get("status"), request.form.get("outcome") or None
    if status not in SETTABLE_STATUSES:
        flash(_("Choose a status."), "error")
    elif status == "closed" and outcome not in CASE_OUTCOMES:
        flash(_("A closed case needs an outcome."), "error")
    else:
        db = get_session()
        before = case.status
        case.status = status
        case.outcome = outcome if status == "closed" else None
        case.closed_at = utcnow() if status == "closed" else None
        record_event(db, "case.status_changed", "case", case.id, actor="user", user_id=current_user().id,
                     details={"from": before, "to": status, "outcome": case.outcome})
        db.commit()
        flash(_("Status saved."), "success")
    return redirect(url_for("console.case_page", reference=case.reference))
