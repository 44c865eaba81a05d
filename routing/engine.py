"""The routing engine: who gets a case, in what order, and why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .case import CaseProfile
from .decision import (
    CandidateNote,
    PoliceDecision,
    RankedCandidate,
    Reason,
    Referral,
    RoleOutcome,
    RoutingDecision,
)
from .directory import Provider
from .eligibility import check_eligibility
from .geo import haversine_km
from .index import DirectoryIndex
from .rules import Rules

NATIONAL_DESK_KIND = "national_desk"


def decide_police(case: CaseProfile, rules: Rules, *, asked: bool) -> PoliceDecision:
    """Apply the police rule under consent to a case.

    Takes the case, the rules and whether any alert rule asked for a police role. Returns
    a PoliceDecision with its reason: consent, the first named exception that holds, or no
    consent. Raises nothing.
    """
    if not asked:
        return PoliceDecision(False, False, "not_asked", Reason("police_not_asked"))
    if case.consent_police:
        return PoliceDecision(True, True, "consent", Reason("police_consent"))
    for exception in rules.police_consent.exceptions:
        if exception.when.holds(case):
            return PoliceDecision(
                True,
                True,
                f"exception:{exception.name}",
                Reason("police_exception", {"name": exception.name, "why": exception.reason}),
            )
    return PoliceDecision(True, False, "no_consent", Reason("police_no_consent"))


def route(
    case: CaseProfile,
    providers: Sequence[Provider] | DirectoryIndex,
    rules: Rules,
    *,
    now: datetime,
) -> RoutingDecision:
    """Decide which providers to alert for a case, and explain every choice.

    Takes the case, the directory (a DirectoryIndex built once per directory version, or
    any sequence of providers, indexed on the spot), the rules and the current time
    (timezone-aware; opening hours are read in the rules' time zone). Returns a
    RoutingDecision: referrals (nearest eligible provider per role asked for by the rules,
    ties broken by more free beds, then the national desk for roles no one near can fill),
    each role's ranked list for escalation, every examined candidate with its reasons, and
    the police-consent decision. Raises ValueError when `now` is naive.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    index = providers if isinstance(providers, DirectoryIndex) else DirectoryIndex.build(providers)
    local_now = now.astimezone(rules.zone)

    asked: dict[str, list[str]] = {}
    for alert in rules.alerts:
        if alert.when.holds(case):
            for role in alert.roles:
                asked.setdefault(role, []).append(alert.name)
    police = decide_police(case, rules, asked=any(rules.roles[r].police for r in asked))

    referrals: list[Referral] = []
    chosen_roles: dict[str, int] = {}  # provider id -> position in referrals
    outcomes: list[RoleOutcome] = []
    notes: list[CandidateNote] = []
    fallbacks: list[Reason] = []
    desk_roles: list[str] = []
    keep = rules.escalation.max_providers_per_role
    place = case.place

    for role_name, asked_by in asked.items():
        role = rules.roles[role_name]
        by = ", ".join(asked_by)
        if role.police and not police.allowed:
            outcomes.append(
                RoleOutcome(
                    role_name,
                    tuple(asked_by),
                    "not_allowed",
                    (),
                    Reason("role_police_not_allowed", {"asked_by": by, "why": police.reason.sentence()}),
                )
            )
            continue
        if role.kinds == (NATIONAL_DESK_KIND,):
            desk_roles.append(role_name)
            fallbacks.append(Reason("desk_asked"))
            outcomes.append(
                RoleOutcome(
                    role_name,
                    tuple(asked_by),
                    "national_desk",
                    (),
                    Reason("role_desk", {"asked_by": by}),
                )
            )
            continue
        if place is None:
            desk_roles.append(role_name)
            if not any(f.code == "desk_place_unknown" for f in fallbacks):
                fallbacks.append(Reason("desk_place_unknown"))
            outcomes.append(
                RoleOutcome(
                    role_name, tuple(asked_by), "national_desk", (), Reason("role_place_unknown", {"asked_by": by})
                )
            )
            continue

        max_km = rules.max_distance_for(role_name)
        ranked: list[RankedCandidate] = []
        examined = 0
        wanted = max(keep, role.alert)
        for distance, provider in index.nearest(place.latitude, place.longitude, role.kinds, max_km=max_km):
            examined += 1
            reasons = check_eligibility(
                provider,
                case,
                role,
                local_now=local_now,
                allow_unknown_capacity=rules.allow_unknown_capacity,
            )
            if reasons:
                notes.append(_note(provider, role_name, distance, "left_out", reasons))
                continue
            ranked.append(RankedCandidate(provider.id, distance, provider.beds_free))
            rank = len(ranked)
            if rank <= role.alert:
                if provider.id in chosen_roles:
                    # One SMS per provider per case, even when it fills two roles.
                    position = chosen_roles[provider.id]
                    first = referrals[position]
                    referrals[position] = _with_role(first, role_name)
                    notes.append(
                        _note(
                            provider,
                            role_name,
                            distance,
                            "already_chosen",
                            [Reason("already_chosen", {"role": first.role})],
                        )
                    )
                else:
                    chosen_roles[provider.id] = len(referrals)
                    reason = Reason("chosen", {"distance": f"{distance:.1f}"})
                    referrals.append(
                        Referral(provider.id, provider.name, provider.kind, role_name, rank, distance, False, reason)
                    )
                    notes.append(_note(provider, role_name, distance, "chosen", [reason]))
            else:
                notes.append(
                    _note(
                        provider,
                        role_name,
                        distance,
                        "ranked",
                        [Reason("ranked", {"distance": f"{distance:.1f}", "rank": rank})],
                    )
                )
            if rank >= wanted:
                break
        not_examined = index.count_of_kinds(role.kinds) - examined
        if ranked:
            names = [r.provider_name for r in referrals if role_name in (r.role, *r.also_for)]
            outcomes.append(
                RoleOutcome(
                    role_name,
                    tuple(asked_by),
                    "alerted",
                    tuple(ranked),
                    Reason("role_alerted", {"asked_by": by, "names": names}),
                    not_examined,
                    max_km,
                )
            )
        else:
            desk_roles.append(role_name)
            fallbacks.append(Reason("desk_too_far", {"role": role_name, "max_km": f"{max_km:g}"}))
            outcomes.append(
                RoleOutcome(
                    role_name,
                    tuple(asked_by),
                    "national_desk",
                    (),
                    Reason("role_no_eligible", {"asked_by": by, "max_km": f"{max_km:g}"}),
                    not_examined,
                    max_km,
                )
            )

    if not asked:
        desk_roles.append(NATIONAL_DESK_KIND)
        fallbacks.append(Reason("desk_no_role"))
    if desk_roles:
        outcomes = _hand_to_desk(index, case, desk_roles, referrals, outcomes, fallbacks)

    return RoutingDecision(
        case_reference=case.reference,
        risk_level=case.risk_level,
        decided_at=now.isoformat(),
        alert_deadline=rules.deadline_for(case.risk_level),
        referrals=tuple(referrals),
        roles=tuple(outcomes),
        candidates=tuple(notes),
        police=police,
        fallbacks=tuple(fallbacks),
    )


def _hand_to_desk(
    index: DirectoryIndex,
    case: CaseProfile,
    roles: list[str],
    referrals: list[Referral],
    outcomes: list[RoleOutcome],
    fallbacks: list[Reason],
) -> list[RoleOutcome]:
    desk, distance = _national_desk(index, case)
    if desk is None:
        fallbacks.append(Reason("desk_missing"))
        return [
            RoleOutcome(
                o.role,
                o.asked_by,
                "unrouted",
                o.ranked,
                Reason("role_unrouted", {"asked_by": ", ".join(o.asked_by)}),
                o.not_examined,
            )
            if o.role in roles
            else o
            for o in outcomes
        ]
    covered = tuple(r for r in roles if r != NATIONAL_DESK_KIND)
    existing = next((i for i, r in enumerate(referrals) if r.provider_id == desk.id), None)
    if existing is not None:
        for role in covered:
            referrals[existing] = _with_role(referrals[existing], role)
    else:
        referrals.append(
            Referral(
                desk.id,
                desk.name,
                desk.kind,
                NATIONAL_DESK_KIND,
                1,
                distance,
                True,
                fallbacks[0] if fallbacks else Reason("desk_no_role"),
                covered,
            )
        )
    return outcomes


def _national_desk(index: DirectoryIndex, case: CaseProfile) -> tuple[Provider | None, float | None]:
    """Return the nearest active national desk (the first by id when the place is unknown)."""
    if case.place is not None:
        for distance, desk in index.nearest(case.place.latitude, case.place.longitude, (NATIONAL_DESK_KIND,)):
            return desk, distance
        return None, None
    desks = sorted((p for p in index if p.kind == NATIONAL_DESK_KIND), key=lambda p: p.id)
    return (desks[0], None) if desks else (None, None)


def _with_role(referral: Referral, role: str) -> Referral:
    if role == referral.role or role in referral.also_for:
        return referral
    return Referral(
        referral.provider_id,
        referral.provider_name,
        referral.kind,
        referral.role,
        referral.rank,
        referral.distance_km,
        referral.fallback,
        referral.reason,
        (*referral.also_for, role),
    )


def _note(provider: Provider, role: str, distance: float, outcome, reasons) -> CandidateNote:
    return CandidateNote(provider.id, provider.name, provider.kind, role, distance, outcome, tuple(reasons))


def distance_to(provider: Provider, case: CaseProfile) -> float | None:
    """Return the great-circle distance in km from the case's place to a provider (None if unknown)."""
    if case.place is None:
        return None
    return haversine_km(case.place.latitude, case.place.longitude, provider.latitude, provider.longitude)
