"""Eligibility of one provider for one role in one case: every reason it is left out."""

from __future__ import annotations

from datetime import datetime

from .case import CaseProfile
from .decision import Reason
from .directory import Provider
from .rules import RoleRule
from .vocabulary import groups_for


def check_eligibility(
    provider: Provider,
    case: CaseProfile,
    role: RoleRule,
    *,
    local_now: datetime,
    allow_unknown_capacity: bool = False,
) -> list[Reason]:
    """Return why `provider` cannot fill `role` for `case` (an empty list means eligible).

    Takes the provider, the case, the role's rule and the current time already in Mali
    time. Checks, as the role asks: kind, active, serves the person's group, offers the
    role's services, has a free bed, is open now (or 24/7), speaks the caller's language.
    Raises nothing.
    """
    reasons: list[Reason] = []
    if provider.kind not in role.kinds:
        reasons.append(Reason("wrong_kind", {"kind": provider.kind}))
    if not provider.active:
        reasons.append(Reason("inactive", {}))
    if role.serves:
        groups = groups_for(case.sex, case.age_band)
        # With sex or age unknown, a provider that serves any group the person may be in
        # is kept: better to ask a shelter than to leave the person without one.
        if not groups & provider.serves:
            reasons.append(Reason("not_serving", {"groups": sorted(groups), "serves": sorted(provider.serves)}))
    missing = [s for s in role.services if s not in provider.services]
    if missing:
        reasons.append(Reason("missing_services", {"services": missing}))
    if role.capacity:
        if provider.beds_free is None:
            if not allow_unknown_capacity:
                reasons.append(Reason("capacity_unknown", {}))
        elif provider.beds_free < 1:
            reasons.append(Reason("no_bed", {}))
    if role.open_now and not provider.hours.is_open(local_now):
        # `time` fills the English and French sentences; weekday (0 = Monday) and clock let a
        # reader in another language name the day itself.
        reasons.append(
            Reason(
                "closed_now",
                {
                    "hours": provider.hours.text,
                    "time": local_now.strftime("%a %H:%M"),
                    "weekday": local_now.weekday(),
                    "clock": local_now.strftime("%H:%M"),
                },
            )
        )
    if role.language and case.language not in provider.languages:
        reasons.append(Reason("language", {"language": case.language, "languages": list(provider.languages)}))
    return reasons
