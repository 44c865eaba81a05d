"""Cases through the API: a filtered list, and one case by reference (personal data only on request)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from hotline.api import schemas
from hotline.api.errors import ApiError
from hotline.api.operations import api_user, deny, operation
from hotline.audit import record_event
from hotline.db import get_session
from hotline.models import Case, Contact, Conversation, Provider, Referral, User

CASE_ROLES = ("admin", "operator", "provider_staff")
PERSONAL_ROLES = ("admin", "operator")
REFERENCE = re.compile(r"^[A-Za-z0-9]{1,16}$")
REFERENCE_PARAM = {"type": "string", "pattern": REFERENCE.pattern, "description": "The case's reference."}


def visible_cases(user: User):
    # Simulator cases are the console's sandbox, not the hotline's casework.
    query = select(Case).where(Case.simulated.is_(False))
    if user.role == "provider_staff":
        query = query.where(Case.id.in_(select(Referral.case_id).where(Referral.provider_id == user.provider_id)))
    return query


def case_summary(case: Case) -> dict:
    return {"reference": case.reference, "status": case.status, "outcome": case.outcome,
            "risk_level": case.risk_level, "risk_score": case.risk_score, "danger_now": case.danger_now,
            "region_code": case.region_code, "place_code": case.place_code, "age_band": case.age_band,
            "sex": case.sex, "reporter": case.reporter, "flow_id": case.flow_id, "created_at": case.created_at,
            "closed_at": case.closed_at}


def _day(value) -> datetime:
    return datetime.combine(value, time.min, UTC)


@operation("/cases", response=schemas.CasePage, roles=CASE_ROLES, query=schemas.CaseQuery, tag="cases",
           summary="List cases, newest first",
           description="Filtered by status, risk, region and creation day. Provider staff see only the cases "
                       "referred to their provider; analysts are refused.")
def list_cases(query: schemas.CaseQuery):
    statement = visible_cases(api_user())
    if query.status:
        statement = statement.where(Case.status == query.status)
    if query.risk:
        statement = statement.where(Case.risk_level == query.risk)
    if query.region:
        statement = statement.where(Case.region_code == query.region)
    if query.date_from:
        statement = statement.where(Case.created_at >= _day(query.date_from))
    if query.date_to:
        statement = statement.where(Case.created_at < _day(query.date_to + timedelta(days=1)))
    rows = list(get_session().scalars(statement.order_by(Case.created_at.desc(), Case.id.desc())
                                      .offset((query.page - 1) * query.per_page).limit(query.per_page + 1)))
    return schemas.CasePage(items=[case_summary(case) for case in rows[:query.per_page]], page=query.page,
                            per_page=query.per_page, has_more=len(rows) > query.per_page)


def case_for(reference: str) -> Case:
    """The case if this token's user may see it: 404 when unknown, 403 (audited) for another provider's."""
    if not REFERENCE.match(reference):
        raise ApiError(404, "no case has this reference")
    user = api_user()
    db = get_session()
    case = db.scalar(select(Case).where(Case.reference == reference.upper(), Case.simulated.is_(False)))
    if case is None:
        raise ApiError(404, "no case has this reference")
    if user.role == "provider_staff" and db.scalar(select(Referral.id).where(
            Referral.case_id == case.id, Referral.provider_id == user.provider_id).limit(1)) is None:
        deny("other provider")
    return case


def personal_data(case: Case) -> dict:
    """The caller's number and answers, and an audit event saying who saw them."""
    db = get_session()
    phone = None
    if case.conversation_id:
        conversation = db.get(Conversation, case.conversation_id)
        contact = db.get(Contact, conversation.contact_id) if conversation else None
        phone = (contact.phone or None) if contact else None
    record_event(db, "case.pii_viewed", "case", case.id, actor="user", user_id=api_user().id,
                 details={"fields": ["answers", "phone"], "via": "api"})
    db.commit()
    return {"phone": phone, "answers": (case.answers or {}).get("answers") or {},
            "anonymised": case.anonymised_at is not None}


@operation("/cases/<reference>", response=schemas.CaseDetail, roles=CASE_ROLES, query=schemas.CaseDetailQuery,
           path_params={"reference": REFERENCE_PARAM}, tag="cases",
           summary="One case by its reference",
           description="Risk, indicators, needs and referrals, without personal data. With `?include=personal` "
                       "an admin or operator also gets the caller's number and answers, and an audit event "
                       "records it; provider staff get a 403.")
def get_case(query: schemas.CaseDetailQuery, reference: str):
    case = case_for(reference)
    user = api_user()
    personal = None
    if query.include == "personal":
        if user.role not in PERSONAL_ROLES:
            deny("personal data")
        personal = personal_data(case)
    db = get_session()
    statement = (select(Referral, Provider.code).outerjoin(Provider, Provider.id == Referral.provider_id)
                 .where(Referral.case_id == case.id).order_by(Referral.id))
    if user.role == "provider_staff":
        statement = statement.where(Referral.provider_id == user.provider_id)
    referrals = [{"id": r.id, "role": r.role, "status": r.status, "provider_code": code,
                  "created_at": r.created_at, "updated_at": r.updated_at} for r, code in db.execute(statement)]
    indicators = [{"id": item["id"], "points": int(item.get("points") or 0)}
                  for item in case.indicators or [] if item.get("id")]
    return schemas.CaseDetail(**case_summary(case), indicators=indicators, needs=list(case.needs or []),
                              referrals=referrals, personal=personal)
