"""The provider directory through the API: list and one provider (staff numbers never included)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from hotline.api import schemas
from hotline.api.errors import ApiError
from hotline.api.operations import operation
from hotline.db import get_session
from hotline.models import Provider, ProviderContact
from routing.gazetteer import GazetteerError, default_gazetteer

DIRECTORY_ROLES = ("admin", "operator")
CODE = re.compile(schemas.CODE_PATTERN)
CODE_PARAM = {"type": "string", "pattern": schemas.CODE_PATTERN, "description": "The provider's code."}


def _region_of(place_code: str | None) -> str | None:
    if not place_code:
        return None
    try:
        place = default_gazetteer().get(place_code)
    except GazetteerError:
        return None
    return place.code if place.kind == "region" else place.region_code


def provider_body(provider: Provider, contacts: int) -> dict:
    return {"code": provider.code, "name": provider.name, "kind": provider.kind, "place_code": provider.place_code,
            "latitude": provider.latitude, "longitude": provider.longitude, "beds_free": provider.beds_free,
            "services": list(provider.services or []), "serves": list(provider.serves or []),
            "hours": provider.hours, "languages": list(provider.languages or []), "active": provider.active,
            "demo": provider.demo, "contacts": contacts}


def _rows():
    counts = (select(ProviderContact.provider_id, func.count(ProviderContact.id).label("n"))
              .where(ProviderContact.active.is_(True)).group_by(ProviderContact.provider_id).subquery())
    return (select(Provider, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.provider_id == Provider.id))


@operation("/providers", response=schemas.ProviderPage, roles=DIRECTORY_ROLES, query=schemas.ProviderQuery,
           tag="providers", summary="The directory of shelters, police units and services, by name",
           description="Filtered by kind, region and whether active. Admins and operators only, as in the console.")
def list_providers(query: schemas.ProviderQuery):
    statement = _rows()
    if query.kind:
        statement = statement.where(Provider.kind == query.kind)
    if query.active is not None:
        statement = statement.where(Provider.active.is_(query.active))
    rows = get_session().execute(statement.order_by(Provider.name, Provider.id)).all()
    if query.region:
        # Places are named by the gazetteer, not stored with their region: filter here.
        rows = [row for row in rows if _region_of(row[0].place_code) == query.region]
    start = (query.page - 1) * query.per_page
    page = rows[start:start + query.per_page]
    return schemas.ProviderPage(items=[provider_body(*row) for row in page], page=query.page,
                                per_page=query.per_page, has_more=len(rows) > start + query.per_page)


@operation("/providers/<code>", response=schemas.Provider, roles=DIRECTORY_ROLES,
           path_params={"code": CODE_PARAM}, tag="providers", summary="One provider by its code")
def get_provider(_query, code: str):
    row = get_session().execute(_rows().where(Provider.code == code)).first() if CODE.match(code) else None
    if row is None:
        raise ApiError(404, "no provider has this code")
    return schemas.Provider(**provider_body(*row))
