"""Referrals: routing a case, alerting staff by SMS, their OK/NON replies, and escalation on silence."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import pii
from hotline.audit import record_event
from hotline.db import get_session
from hotline.directory import directory_snapshot
from hotline.models import Alert, Case, Contact, Conversation, InboundMessage, Provider, ProviderContact, Referral
from hotline.models.types import utcnow
from hotline.outbox import queue_sms
from routing.alerts import render_alert, render_staff_message
from routing.case import CasePlace, CaseProfile
from routing.decision import RoutingDecision
from routing.engine import route
from routing.escalation import ReferralState, plan_escalation
from routing.gazetteer import GazetteerError, default_gazetteer
from routing.rules import Rules, load_rules
from routing.staff_replies import Accept, Capacity, Close, Decline, Help, Info, Unknown, parse_staff_reply
from workers.queue import schedule_job

log = logging.getLogger(__name__)

_RULES_KEY = "hotline.rules"
# The screening flows ask finer questions than routing needs; these map their answers.
# The witness flow only asks child or adult; routing needs no more than "an adult" there.
AGE_BANDS = {"under_12": "under_12", "12_17": "12_17", "18_25": "18_25", "26_40": "26_plus",
             "over_40": "26_plus", "26_plus": "26_plus", "adult": "26_plus"}
SEXES = {"female": "female", "male": "male"}
NEEDS = {"legal_aid": "legal"}
STAFF_LANGUAGES = ("fr", "bm", "en")
OPEN_REFERRAL_STATES = ("pending", "alerted", "accepted")


def routing_rules() -> Rules:
    """The shipped rules, with answer deadlines shortened or lengthened by HOTLINE_ESCALATION_DEADLINES."""
    app = current_app._get_current_object()
    if _RULES_KEY not in app.extensions:
        rules = load_rules()
        overrides = parse_deadlines(app.config.get("HOTLINE_ESCALATION_DEADLINES"))
        if overrides:
            deadlines = {**rules.escalation.deadlines, **overrides}
            rules = rules.model_copy(update={"escalation": rules.escalation.model_copy(
                update={"deadlines": deadlines})})
        app.extensions[_RULES_KEY] = rules
    return app.extensions[_RULES_KEY]


def parse_deadlines(setting: str | None) -> dict[str, timedelta]:
    """Read "critical=10m,high=30m" (units s, m, h); raises ValueError naming a bad entry."""
    deadlines = {}
    for entry in filter(None, (part.strip() for part in (setting or "").split(","))):
        match = re.fullmatch(r"(low|medium|high|critical)=(\d+)([smh])", entry)
        if not match:
            raise ValueError(f"HOTLINE_ESCALATION_DEADLINES: cannot read {entry!r}; write e.g. critical=10m")
        level, amount, unit = match.groups()
        deadlines[level] = timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours"}[unit]: int(amount)})
    return deadlines


def case_profile(case: Case) -> CaseProfile:
    """What routing may know of a case: no name, no number."""
    place = None
    if case.latitude is not None and case.longitude is not None:
        place = CasePlace(latitude=case.latitude, longitude=case.longitude, code=case.place_code)
    return CaseProfile(
        reference=case.reference, risk_level=case.risk_level, danger_now=case.danger_now,
        age_band=AGE_BANDS.get(case.age_band or "", "unknown"), sex=SEXES.get(case.sex or "", "unknown"),
        needs=frozenset(NEEDS.get(need, need) for need in case.needs),
        language=case.language or "fr", place=place,
        consent_police=case.consent_police, consent_callback=case.consent_callback,
    )


def place_name(case: Case) -> str | None:
    if not case.place_code:
        return None
    try:
        return default_gazetteer().get(case.place_code).name
    except GazetteerError:
        return case.place_code


# ------------------------------------------------------------------------------- routing


def routing_record(decision: RoutingDecision) -> dict:
    """The decision as data (for the console) and as sentences (for people), in both languages."""
    return {"decision": decision.to_dict("en"),
            "explanation": {"en": decision.explain("en"), "fr": decision.explain("fr")}}


def route_case(case_id: int) -> list[Referral]:
    """Route a case once: store the decision and its explanation, create and alert its referrals."""
    session = get_session()
    case = session.get(Case, case_id)
    existing = session.scalars(select(Referral).where(Referral.case_id == case_id)).all()
    if case is None or existing:
        return list(existing)
    snapshot = directory_snapshot(session)
    decision = route(case_profile(case), snapshot.index, routing_rules(), now=utcnow())
    case.routing_explanation = routing_record(decision)
    referrals = []
    for planned in decision.referrals:
        referral = Referral(
            case_id=case.id, provider_id=snapshot.ids_by_code[planned.provider_id], role=planned.role,
            status="pending", rank=planned.rank, distance_km=planned.distance_km,
            ranked=list(decision.ranked_for(planned.role)), providers_tried=1, contact_position=0,
            reason={"reason": planned.reason.to_dict("en"), "also_for": list(planned.also_for),
                    "fallback": planned.fallback},
        )
        session.add(referral)
        session.flush()
        record_event(session, "referral.created", "referral", referral.id,
                     details={"case": case.id, "provider": planned.provider_id, "role": planned.role})
        alert_referral(session, case, referral, contact_position=0)
        referrals.append(referral)
    case.status = "referred" if referrals else "unrouted"
    if not referrals:
        record_event(session, "case.unrouted", "case", case.id, details={"reason": "no provider could be chosen"})
    record_event(session, "case.routed", "case", case.id,
                 details={"referrals": len(referrals), "police": decision.police.code})
    session.commit()
    return referrals


def alert_referral(session: Session, case: Case, referral: Referral, *, contact_position: int) -> None:
    """Text the provider's contact at ``contact_position`` and schedule the escalation at the deadline."""
    provider = session.get(Provider, referral.provider_id)
    contacts = [c for c in provider.contacts if c.active]
    contact = contacts[min(contact_position, len(contacts) - 1)]
    language = next((lang for lang in provider.languages if lang in STAFF_LANGUAGES), "fr")
    caller_phone = None
    if case.consent_callback and case.conversation_id:
        conversation = session.get(Conversation, case.conversation_id)
        caller_phone = session.get(Contact, conversation.contact_id).phone if conversation else None
    sms = render_alert(case_profile(case), place_name=place_name(case), language=language,
                       caller_phone=caller_phone)
    message = queue_sms(contact.phone, sms.text, purpose="alert", session=session)
    referral.contact_position = contact_position
    referral.alert_count += 1
    referral.status = "alerted"
    deadline = routing_rules().deadline_for(case.risk_level)
    referral.deadline_at = utcnow() + deadline
    session.add(Alert(referral_id=referral.id, provider_contact_id=contact.id, outbound_message_id=message.id))
    schedule_job("escalate_referral", referral.id, referral.alert_count, "timeout",
                 key=f"escalate:{referral.id}:{referral.alert_count}", due_at=referral.deadline_at, session=session)
    record_event(session, "referral.alerted", "referral", referral.id,
                 details={"contact_position": contact_position, "alert": referral.alert_count,
                          "deadline_seconds": int(deadline.total_seconds())})


# ---------------------------------------------------------------------------- escalation


def escalate_referral(referral_id: int, alert_number: int, event: str) -> None:
    """Act on silence after alert ``alert_number`` or on a decline; a stale or answered one is a no-op."""
    session = get_session()
    referral = session.get(Referral, referral_id)
    if referral is None or referral.alert_count != alert_number:
        return
    if event == "timeout" and referral.status != "alerted":
        return
    if event == "declined" and referral.status != "declined":
        return
    case = session.get(Case, referral.case_id)
    snapshot = directory_snapshot(session)
    codes = {v: k for k, v in snapshot.ids_by_code.items()}
    state = ReferralState(role=referral.role, risk_level=case.risk_level, provider_id=codes[referral.provider_id],
                          contact_index=referral.contact_position, providers_tried=referral.providers_tried,
                          ranked=tuple(referral.ranked))
    step = plan_escalation(state, event, directory=snapshot.index, rules=routing_rules())
    details = {"event": event, "action": step.action, "reason": step.reason.to_dict("en")}
    if step.action == "unrouted":
        if referral.status == "alerted":
            referral.status = "expired"
        case.status = "unrouted"
        record_event(session, "case.unrouted", "case", case.id, details=details)
        log.warning("case %s could not be placed: an operator must act", case.id)
    elif step.provider_id == state.provider_id and event == "timeout":
        # The same provider's next contact (or a silent national desk again from its first).
        record_event(session, "referral.escalated", "referral", referral.id, details=details)
        alert_referral(session, case, referral, contact_position=step.contact_index)
    else:
        if referral.status == "alerted":
            referral.status = "expired"
        record_event(session, "referral.escalated", "referral", referral.id, details=details)
        next_state = step.next_state(state)
        successor = Referral(
            case_id=case.id, provider_id=snapshot.ids_by_code[step.provider_id], role=next_state.role,
            status="pending", rank=referral.rank + 1, ranked=list(next_state.ranked),
            providers_tried=next_state.providers_tried, escalated_from_id=referral.id,
            reason={"reason": step.reason.to_dict("en"), "escalated_from": referral.id},
        )
        session.add(successor)
        session.flush()
        alert_referral(session, case, successor, contact_position=step.contact_index)
    session.commit()


# ----------------------------------------------------------------------------- staff SMS


def is_staff_number(session: Session, phone: str) -> bool:
    """Whether ``phone`` is an active provider contact's (nothing is decrypted)."""
    return session.scalar(select(ProviderContact.id).where(
        ProviderContact.phone_hash.in_(pii.cipher().lookup_hashes(phone)), ProviderContact.active.is_(True))
        .limit(1)) is not None


def staff_contacts(session: Session, phone: str) -> list[ProviderContact]:
    hashes = pii.cipher().lookup_hashes(phone)
    return list(session.scalars(select(ProviderContact).where(
        ProviderContact.phone_hash.in_(hashes), ProviderContact.active.is_(True))))


def handle_staff_sms(session: Session, message: InboundMessage, contacts: list[ProviderContact]) -> None:
    """Obey an SMS from registered staff: OK/NON/FIN/INFO on their own provider's referrals, PLACES n."""
    provider_ids = {c.provider_id for c in contacts}
    provider = session.get(Provider, contacts[0].provider_id)
    language = next((lang for lang in provider.languages if lang in STAFF_LANGUAGES), "fr")
    phone = contacts[0].phone
    command = parse_staff_reply(message.body or "")
    reply_key, params = "help", {}
    if isinstance(command, Capacity):
        for provider_id in provider_ids:
            session.get(Provider, provider_id).beds_free = command.beds
        reply_key, params = "capacity_updated", {"beds": command.beds}
        record_event(session, "provider.capacity", "provider", provider.id, actor="staff",
                     details={"beds_free": command.beds})
    elif isinstance(command, Accept | Decline | Close | Info):
        referral = _staff_referral(session, command.reference, provider_ids)
        if referral is None:
            reply_key, params = "unknown_reference", {"ref": command.reference}
        else:
            reply_key, params = _apply_staff_command(session, referral, command)
    elif not isinstance(command, Help | Unknown):
        reply_key = "help"
    reply = render_staff_message(reply_key, language=language, **params)
    queue_sms(phone, reply.text, purpose="staff_reply", in_reply_to_id=message.id, session=session)


def _staff_referral(session: Session, reference: str, provider_ids: set[int]) -> Referral | None:
    case = session.scalar(select(Case).where(Case.reference == reference.upper()))
    if case is None:
        return None
    return session.scalar(select(Referral).where(
        Referral.case_id == case.id, Referral.provider_id.in_(provider_ids),
        Referral.status.in_(OPEN_REFERRAL_STATES)).order_by(Referral.id.desc()).limit(1))


def _apply_staff_command(session: Session, referral: Referral, command) -> tuple[str, dict]:
    case = session.get(Case, referral.case_id)
    ref = {"ref": case.reference}
    if isinstance(command, Accept):
        if referral.status != "accepted":
            referral.status = "accepted"
            provider = session.get(Provider, referral.provider_id)
            if referral.role == "shelter" and provider.beds_free:
                provider.beds_free -= 1  # an accepted shelter referral takes a bed
            record_event(session, "referral.accepted", "referral", referral.id, actor="staff")
        return "accepted", ref
    if isinstance(command, Decline):
        referral.status, referral.decline_reason = "declined", (command.reason or None)
        record_event(session, "referral.declined", "referral", referral.id, actor="staff",
                     details={"has_reason": bool(command.reason)})
        schedule_job("escalate_referral", referral.id, referral.alert_count, "declined",
                     key=f"escalate:{referral.id}:{referral.alert_count}:declined", session=session)
        return "declined", ref
    if isinstance(command, Close):
        referral.status = "closed"
        record_event(session, "referral.closed", "referral", referral.id, actor="staff")
        if not session.scalar(select(Referral.id).where(Referral.case_id == case.id,
                                                         Referral.status.in_(OPEN_REFERRAL_STATES))):
            case.status, case.closed_at = "closed", utcnow()
        return "closed", ref
    desk_phone = current_app.config.get("HOTLINE_DESK_PHONE") or "8000"
    return "info", {**ref, "desk_phone": desk_phone}


def staff_behind(session: Session, message: InboundMessage) -> list[ProviderContact]:
    """The staff contacts registered for the number that sent ``message`` (empty for callers)."""
    contact = session.get(Contact, message.contact_id)
    return staff_contacts(session, contact.phone) if contact else []
