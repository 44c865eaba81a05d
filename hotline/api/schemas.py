"""Pydantic models of the API's query strings and answers: the code validates with them, the OpenAPI
document is written from them, so the two cannot drift apart."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RiskLevel = Literal["critical", "high", "medium", "low"]
CaseStatus = Literal["open", "referred", "unrouted", "closed"]
ReferralStatus = Literal["pending", "alerted", "accepted", "declined", "expired", "closed", "unrouted"]
Suppressed = Literal["<5"]
CODE_PATTERN = r"^[a-z0-9._-]{1,80}$"
REGION_PATTERN = r"^[a-z0-9_-]{1,32}$"


class _Query(BaseModel):
    # Parameters the API does not know are ignored, like any web form's extra fields.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class PageQuery(_Query):
    page: int = Field(1, ge=1, le=100_000, description="Page number, from 1.")
    per_page: int = Field(50, ge=1, le=200, description="Items per page.")


class CaseQuery(PageQuery):
    status: CaseStatus | None = Field(None, description="Only cases with this status.")
    risk: RiskLevel | None = Field(None, description="Only cases at this risk level.")
    region: str | None = Field(None, pattern=REGION_PATTERN, description="Only cases in this region (code).")
    date_from: date | None = Field(None, alias="from", description="Created on or after this day (UTC).")
    date_to: date | None = Field(None, alias="to", description="Created on or before this day (UTC).")


class CaseDetailQuery(_Query):
    include: Literal["personal"] | None = Field(
        None, description="`personal` adds the caller's number and answers (admin and operator only; audited).")


class ReferralQuery(PageQuery):
    status: ReferralStatus | None = Field(None, description="Only referrals with this status.")
    role: str | None = Field(None, pattern=CODE_PATTERN,
                             description="Only referrals for this role (shelter, police...).")
    provider: str | None = Field(None, pattern=CODE_PATTERN, description="Only referrals to this provider (code).")


class ProviderQuery(PageQuery):
    kind: str | None = Field(None, pattern=CODE_PATTERN, description="Only providers of this kind.")
    region: str | None = Field(None, pattern=REGION_PATTERN, description="Only providers in this region (code).")
    active: bool | None = Field(None, description="Only active (true) or inactive (false) providers.")


class StatisticsQuery(_Query):
    date_from: date | None = Field(None, alias="from", description="Cases created on or after this day (UTC).")
    date_to: date | None = Field(None, alias="to", description="Cases created on or before this day (UTC).")
    region: str | None = Field(None, pattern=REGION_PATTERN, description="Only cases in this region (code).")


class ErrorBody(BaseModel):
    """Every refusal: 400 bad parameter, 401 no or bad token, 403 role, 404 not found."""

    error: str


class Indicator(BaseModel):
    id: str
    points: int


class ReferralBrief(BaseModel):
    id: int
    role: str
    status: str
    provider_code: str | None
    created_at: datetime
    updated_at: datetime


class CaseSummary(BaseModel):
    reference: str
    status: str
    outcome: str | None
    risk_level: str
    risk_score: int
    danger_now: bool
    region_code: str | None
    place_code: str | None
    age_band: str | None
    sex: str | None
    reporter: str
    flow_id: str
    created_at: datetime
    closed_at: datetime | None


class PersonalData(BaseModel):
    """The caller's number and answers: only with ?include=personal, for admins and operators, audited."""

    phone: str | None
    answers: dict[str, Any]
    anonymised: bool


class CaseDetail(CaseSummary):
    indicators: list[Indicator]
    needs: list[str]
    referrals: list[ReferralBrief]
    personal: PersonalData | None = None


class CasePage(BaseModel):
    items: list[CaseSummary]
    page: int
    per_page: int
    has_more: bool


class Referral(BaseModel):
    id: int
    case_reference: str
    role: str
    status: str
    provider_code: str | None
    provider_name: str | None
    rank: int
    distance_km: float | None
    deadline_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ReferralPage(BaseModel):
    items: list[Referral]
    page: int
    per_page: int
    has_more: bool


class Provider(BaseModel):
    """A directory entry; staff contacts are counted, never listed (their numbers are personal data)."""

    code: str
    name: str
    kind: str
    place_code: str | None
    latitude: float
    longitude: float
    beds_free: int | None
    services: list[str]
    serves: list[str]
    hours: str
    languages: list[str]
    active: bool
    demo: bool
    contacts: int


class ProviderPage(BaseModel):
    items: list[Provider]
    page: int
    per_page: int
    has_more: bool


class CategoryCount(BaseModel):
    """One category and its published count: a multiple of 5, or "<5"."""

    category: str
    count: int | Suppressed


class StatisticsFilters(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    date_from: date | None = Field(alias="from")
    date_to: date | None = Field(alias="to")
    region: str | None


class StatisticsTables(BaseModel):
    month: list[CategoryCount]
    region: list[CategoryCount]
    indicator: list[CategoryCount]
    risk: list[CategoryCount]
    age_band: list[CategoryCount]
    sex: list[CategoryCount]
    outcome: list[CategoryCount]
    reporter: list[CategoryCount]
    four_p: list[CategoryCount]


class Statistics(BaseModel):
    """Anonymous counts: under 5 shown as "<5", every other count (total too) rounded to the nearest 5."""

    filters: StatisticsFilters
    total: int | Suppressed
    rule: str
    tables: StatisticsTables


RESPONSE_MODELS: tuple[type[BaseModel], ...] = (ErrorBody, CasePage, CaseDetail, ReferralPage, Referral,
                                                 ProviderPage, Provider, Statistics)
