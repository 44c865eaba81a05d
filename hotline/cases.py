"""Opening a case from a finished screening, with a short reference the caller can quote."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from hotline.audit import record_event
from hotline.models import Case, Conversation
from workers.queue import schedule_job

log = logging.getLogger(__name__)

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: easy to read out over a bad line and to type on a keypad.
REFERENCE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
REFERENCE_LENGTH = 6


# One round trip per new session (every dial runs it), built once.
_REFERENCE_TAKEN = select(
    exists().where(Case.__table__.c.reference == bindparam("reference"))
    | exists().where(Conversation.__table__.c.case_reference == bindparam("reference")))


def new_reference(session: Session) -> str:
    """A case reference not used by any case or running conversation."""
    connection = session.connection()
    while True:
        reference = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        if not connection.execute(_REFERENCE_TAKEN, {"reference": reference}).scalar():
            return reference


def open_case(session: Session, conversation: Conversation, payload: dict[str, Any]) -> Case:
    """Create the case of a CASE_READY event (once per reference) and schedule its routing."""
    existing = session.scalar(select(Case).where(Case.reference == payload["case_ref"]))
    if existing is not None:
        return existing
    case = case_from_payload(payload, conversation_id=conversation.id, flow_version_id=conversation.flow_version_id)
    session.add(case)
    session.flush()
    record_event(session, "case.opened", "case", case.id, actor="system",
                 details={"risk_level": case.risk_level, "flow": case.flow_id, "channel": payload.get("channel")})
    schedule_job("route_case", case.id, key=f"route_case:{case.id}", session=session)
    log.info("case %s opened (risk %s)", case.id, case.risk_level)
    return case


def record_simulated_case(session: Session, payload: dict[str, Any], *, flow_version_id: int | None,
                          routing_explanation: dict[str, Any], actor_id: int) -> Case:
    """Store the case of a console simulation, with its dry-run routing, once per reference.

    It is marked simulated: no routing job, no referral, no SMS; dashboards show it apart and
    statistics, the API and provider staff never see it. The caller commits.
    """
    existing = session.scalar(select(Case).where(Case.reference == payload["case_ref"]))
    if existing is not None and existing.simulated:
        return existing
    case = case_from_payload(payload, conversation_id=None, flow_version_id=flow_version_id)
    case.simulated, case.routing_explanation = True, routing_explanation
    if existing is not None:
        # A real case took the reference while the simulation ran: never touch it.
        case.reference = new_reference(session)
    session.add(case)
    session.flush()
    record_event(session, "case.simulated", "case", case.id, actor="user", user_id=actor_id,
                 details={"risk_level": case.risk_level, "flow": case.flow_id, "channel": payload.get("channel")})
    return case


def case_from_payload(payload: dict[str, Any], *, conversation_id: int | None, flow_version_id: int | None) -> Case:
    """A new (unsaved) open case from a CASE_READY payload."""
    place = payload.get("place") or {}
    consent = payload.get("consent") or {}
    return Case(
        reference=payload["case_ref"],
        conversation_id=conversation_id,
        flow_id=payload["flow_id"],
        flow_version_id=flow_version_id,
        language=payload.get("language"),
        reporter=payload.get("reporter") or "victim",
        risk_level=payload["risk_level"],
        risk_score=int(payload.get("score") or 0),
        danger_now=bool(payload.get("danger_now")),
        indicators=payload.get("indicators") or [],
        risk_explanation=payload.get("risk_reasons") or [],
        needs=list(payload.get("needs") or []),
        answers={"answers": payload.get("answers") or {}, "variables": payload.get("variables") or {}},
        place_code=place.get("code"),
        region_code=place.get("region_code"),
        latitude=place.get("latitude"),
        longitude=place.get("longitude"),
        age_band=payload.get("age_band"),
        sex=payload.get("sex"),
        consent_callback=bool(consent.get("callback")),
        consent_police=bool(consent.get("police")),
        status="open",
        simulated=False,
    )
