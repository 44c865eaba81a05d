"""Referrals through the API: a filtered list and one referral, with its status."""

from __future__ import annotations

from sqlalchemy import select

from hotline.api import schemas
from hotline.api.errors import ApiError
from hotline.api.operations import api_user, deny, operation
from hotline.db import get_session
from hotline.models import Case, Provider, Referral

REFERRAL_ROLES = ("admin", "operator", "provider_staff")
# Row ids are 32-bit in PostgreSQL: a larger id is simply not found.
MAX_ID = 2_147_483_647
ID_PARAM = {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": "The referral's id."}


def _rows():
    return (select(Referral, Case.reference, Provider.code, Provider.name)
            .join(Case, Case.id == Referral.case_id).outerjoin(Provider, Provider.id == Referral.provider_id))


def referral_body(referral: Referral, reference: str, code: str | None, name: str | None) -> dict:
    return {"id": referral.id, "case_reference": reference, "role": referral.role, "status": referral.status,
            "provider_code": code, "provider_name": name, "rank": referral.rank,
            "distance_km": referral.distance_km, "deadline_at": referral.deadline_at,
            "created_at": referral.created_at, "updated_at": referral.updated_at}


@operation("/referrals", response=schemas.ReferralPage, roles=REFERRAL_ROLES, query=schemas.ReferralQuery,
           tag="referrals", summary="List referrals, newest first",
           description="Filtered by status, role and provider. Provider staff see only their provider's.")
def list_referrals(query: schemas.ReferralQuery):
    statement = _rows()
    user = api_user()
    if user.role == "provider_staff":
        statement = statement.where(Referral.provider_id == user.provider_id)
    if query.status:
        statement = statement.where(Referral.status == query.status)
    if query.role:
        statement = statement.where(Referral.role == query.role)
    if query.provider:
        statement = statement.where(Provider.code == query.provider)
    rows = get_session().execute(statement.order_by(Referral.id.desc())
                                 .offset((query.page - 1) * query.per_page).limit(query.per_page + 1)).all()
    return schemas.ReferralPage(items=[referral_body(*row) for row in rows[:query.per_page]], page=query.page,
                                per_page=query.per_page, has_more=len(rows) > query.per_page)


@operation("/referrals/<int:referral_id>", response=schemas.Referral, roles=REFERRAL_ROLES,
           path_params={"referral_id": ID_PARAM}, tag="referrals", summary="One referral and its status",
           description="Provider staff get a 403 (audited) for another provider's referral.")
def get_referral(_query, referral_id: int):
    row = get_session().execute(_rows().where(Referral.id == referral_id)).first() if referral_id <= MAX_ID \
        else None
    if row is None:
        raise ApiError(404, "no referral has this id")
    user = api_user()
    if user.role == "provider_staff" and row[0].provider_id != user.provider_id:
        deny("other provider")
    return schemas.Referral(**referral_body(*row))
