"""Simulated screenings: a CASE_READY payload read as a case summary and routed as a dry run.

Shared by `hotline simulate` (the terminal, on the shipped demo directory) and the console's
simulator (on the database's directory). Nothing here stores a case, creates a referral or
sends an SMS: it only reads the payload and asks the pure routing engine what it would do.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.flow import Flow
from hotline.cases import REFERENCE_ALPHABET, REFERENCE_LENGTH
from hotline.referrals import AGE_BANDS, NEEDS, SEXES
from routing.case import CasePlace, CaseProfile
from routing.decision import RoutingDecision
from routing.directory import load_demo_providers
from routing.engine import route
from routing.index import DirectoryIndex
from routing.rules import Rules
from routing.vocabulary import NEEDS as ROUTING_NEEDS


def simulated_reference() -> str:
    """A case reference made like the app's (same alphabet and length), never stored."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


@dataclass(frozen=True)
class IndicatorFinding:
    """One indicator of the case: its label, source, points and the answers that produced it."""

    id: str
    label: str
    source: str
    points: int
    sources: tuple[tuple[str, Any], ...]  # (node, answer)


@dataclass(frozen=True)
class CaseSummary:
    """What an operator reads of a simulated case: risk and why, indicators, needs, place, person."""

    reference: str
    flow_id: str
    flow_version: str
    reporter: str
    language: str
    risk_level: str
    score: int
    risk_reasons: tuple[dict[str, Any], ...]
    indicators: tuple[IndicatorFinding, ...]
    extra_points: tuple[dict[str, Any], ...]
    needs: tuple[tuple[str, str], ...]  # (code, label)
    place: dict[str, Any] | None
    age_band: str | None
    sex: str | None
    minor: bool
    danger_now: bool
    consent_callback: bool
    consent_police: bool


def summarize_case(flow: Flow, case: dict[str, Any], lang: str) -> CaseSummary:
    """Read a CASE_READY payload, with indicator and need labels in `lang` from the flow's vocabulary."""
    vocabulary = flow.vocabulary
    indicators = []
    for item in case["indicators"]:
        known = vocabulary.indicators.get(item["id"])
        indicators.append(IndicatorFinding(
            id=item["id"], label=known.label.get(lang, item["id"]) if known else item["id"],
            source=item["source"], points=item["points"],
            sources=tuple((s["node"], s["answer"]) for s in item["sources"])))
    return CaseSummary(
        reference=case["case_ref"], flow_id=case["flow_id"], flow_version=str(case["flow_version"]),
        reporter=case["reporter"], language=case["language"], risk_level=case["risk_level"],
        score=case["score"], risk_reasons=tuple(case["risk_reasons"]), indicators=tuple(indicators),
        extra_points=tuple(case["extra_points"]),
        needs=tuple((n, vocabulary.needs.get(n, {}).get(lang, n)) for n in case["needs"]),
        place=case.get("place"), age_band=case.get("age_band"), sex=case.get("sex"),
        minor=bool(case.get("minor")), danger_now=bool(case.get("danger_now")),
        consent_callback=bool(case["consent"]["callback"]), consent_police=bool(case["consent"]["police"]),
    )


def case_profile(case: dict[str, Any]) -> tuple[CaseProfile, list[str]]:
    """Map a CASE_READY payload to routing's CaseProfile, as the app maps a stored case.

    Uses the app's own tables (hotline.referrals) for age bands, sexes and needs. Returns
    the profile and the needs routing does not know (left out of the profile).
    """
    needs, unknown = [], []
    for need in case.get("needs") or []:
        mapped = NEEDS.get(need, need)
        (needs if mapped in ROUTING_NEEDS else unknown).append(mapped)
    place = case.get("place")
    profile = CaseProfile(
        reference=case["case_ref"], risk_level=case["risk_level"],
        danger_now=bool(case.get("danger_now")),
        age_band=AGE_BANDS.get(case.get("age_band") or "", "unknown"),
        sex=SEXES.get(case.get("sex") or "", "unknown"), needs=frozenset(needs),
        language=case.get("language") or "fr",
        place=CasePlace(latitude=place["latitude"], longitude=place["longitude"],
                        code=place.get("code")) if place else None,
        consent_police=bool(case["consent"]["police"]),
        consent_callback=bool(case["consent"]["callback"]),
    )
    return profile, unknown


@dataclass(frozen=True)
class AlertPlan:
    """Who routing would alert for a simulated case, and why (nothing is created or sent)."""

    profile: CaseProfile
    unknown_needs: list[str]
    decision: RoutingDecision
    at: datetime
    explanation: list[str] = field(default_factory=list)

    @property
    def deadline_minutes(self) -> int:
        return int(self.decision.alert_deadline.total_seconds() // 60)


def plan_alerts(case: dict[str, Any], directory: DirectoryIndex, rules: Rules, *, now: datetime,
                lang: str = "en") -> AlertPlan:
    """Route a CASE_READY payload on `directory` with `rules` at `now`; explanation sentences in `lang`."""
    profile, unknown = case_profile(case)
    decision = route(profile, directory, rules, now=now)
    return AlertPlan(profile, unknown, decision, now, decision.explain(lang))


def demo_directory() -> DirectoryIndex:
    """The shipped demo directory, indexed (what the terminal simulator routes on)."""
    return DirectoryIndex.build(load_demo_providers())

