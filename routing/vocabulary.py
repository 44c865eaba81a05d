"""Shared vocabulary of the routing core: provider kinds, services, groups, risk levels, age bands."""

from __future__ import annotations

from typing import Literal, get_args

ProviderKind = Literal[
    "shelter",
    "police",
    "gendarmerie",
    "child_protection",
    "health",
    "legal_aid",
    "ngo",
    "national_desk",
]
Service = Literal[
    "shelter",
    "medical",
    "psychosocial",
    "legal",
    "family_tracing",
    "return_home",
    "protection",
]
# A caller may also ask for the police; that is a need, not a service a provider offers.
Need = Literal[
    "shelter",
    "medical",
    "psychosocial",
    "legal",
    "family_tracing",
    "return_home",
    "protection",
    "police",
]
Group = Literal["women", "men", "girls", "boys"]
RiskLevel = Literal["low", "medium", "high", "critical"]
AgeBand = Literal["under_12", "12_17", "18_25", "26_plus", "unknown"]
Sex = Literal["female", "male", "unknown"]

PROVIDER_KINDS: tuple[str, ...] = get_args(ProviderKind)
SERVICES: tuple[str, ...] = get_args(Service)
NEEDS: tuple[str, ...] = get_args(Need)
GROUPS: tuple[str, ...] = get_args(Group)
RISK_LEVELS: tuple[str, ...] = get_args(RiskLevel)
AGE_BANDS: tuple[str, ...] = get_args(AgeBand)
SEXES: tuple[str, ...] = get_args(Sex)

# Anything under 18 is a child in Malian law (and in the Palermo Protocol).
CHILD_AGE_BANDS: frozenset[str] = frozenset({"under_12", "12_17"})
ADULT_AGE_BANDS: frozenset[str] = frozenset({"18_25", "26_plus"})

# The time zone in which opening hours are read; Mali keeps UTC+0 all year.
MALI_TIMEZONE = "Africa/Bamako"


def groups_for(sex: str, age_band: str) -> frozenset[str]:
    """Return the groups a person may belong to, given sex and age band.

    Takes one of SEXES and one of AGE_BANDS; returns the set of GROUPS that could
    describe the person (several when sex or age is unknown). Raises nothing.
    """
    if age_band in CHILD_AGE_BANDS:
        by_sex = {"female": {"girls"}, "male": {"boys"}}
        return frozenset(by_sex.get(sex, {"girls", "boys"}))
    if age_band in ADULT_AGE_BANDS:
        by_sex = {"female": {"women"}, "male": {"men"}}
        return frozenset(by_sex.get(sex, {"women", "men"}))
    by_sex = {"female": {"women", "girls"}, "male": {"men", "boys"}}
    return frozenset(by_sex.get(sex, set(GROUPS)))
