"""Opening a case from a finished screening, with a short reference the caller can quote."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.audit import record_event
from hotline.models import Case, Conversation
from workers.queue import schedule_job

log = logging.getLogger(__name__)

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: easy to read out over a bad line and to type on a keypad.
REFERENCE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
REFERENCE_LENGTH = 6


def new_reference(session: Session) -> str:
    """A case reference not used by any case or running conversation."""
    while True:
        reference = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        taken = session.scalar(select(Case.id).where(Case.reference == reference)) or session.scalar(
            select(Conversation.id).where(Conversation.case_reference == reference))
        if not taken:
            return reference


def open_case(session: Session, conversation: Conversation, payload: dict[str, Any]) -> Case:
    """Create the case of a CASE_READY event (once per reference) and schedule its routing."""
    reference = payload["case_ref"]
    existing = session.scalar(select(Case).where(Case.reference == reference))
    if existing is not None:
        return existing
    place = payload.get("place") or {}
    case = Case(
        reference=reference,
        conversation_id=conversation.id,
        flow_id=payload["flow_id"],
        flow_version_id=conversation.flow_version_id,
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
        consent_callback=bool((payload.get("consent") or {}).get("callback")),
        consent_police=bool((payload.get("consent") or {}).get("police")),
        status="open",
    )
    session.add(case)
    session.flush()
    record_event(session, "case.opened", "case", case.id, actor="system",
                 details={"risk_level": case.risk_level, "flow": case.flow_id, "channel": payload.get("channel")})
    schedule_job("route_case", case.id, key=f"route_case:{case.id}", session=session)
    log.info("case %s opened (risk %s)", case.id, case.risk_level)
    return case
