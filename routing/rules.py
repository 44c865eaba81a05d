"""Routing rules: the YAML schema, its loader and linter (file:line plain-sentence errors)."""

from __future__ import annotations

import re
from datetime import UTC, timedelta, tzinfo
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import Problem, RulesError
from .safe_yaml import load_yaml
from .vocabulary import (
    AGE_BANDS,
    CHILD_AGE_BANDS,
    MALI_TIMEZONE,
    NEEDS,
    PROVIDER_KINDS,
    RISK_LEVELS,
    SERVICES,
    SEXES,
    AgeBand,
    Need,
    ProviderKind,
    RiskLevel,
    Service,
    Sex,
)

DEFAULT_RULES_FILE = Path(__file__).resolve().parent / "data" / "rules.yaml"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)\s*$")
_UNIT = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """Parse "10m", "30 min", "4h", "1d" or "90s" into a timedelta; raises ValueError."""
    if isinstance(value, timedelta):
        return value
    found = _DURATION.match(str(value).lower())
    if not found or float(found[1]) <= 0:
        raise ValueError(f'"{value}" is not a duration such as 10m, 4h or 1d')
    return timedelta(seconds=float(found[1]) * _UNIT[found[2]])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """When a rule applies; every key given must hold (an empty condition always holds)."""

    risk: tuple[RiskLevel, ...] | None = None
    child: bool | None = None
    danger_now: bool | None = None
    needs: tuple[Need, ...] | None = None  # any one of these needs
    sex: tuple[Sex, ...] | None = None
    age_band: tuple[AgeBand, ...] | None = None

    def holds(self, case) -> bool:
        """Return whether this condition holds for a CaseProfile."""
        if self.risk is not None and case.risk_level not in self.risk:
            return False
        if self.child is not None and (case.age_band in CHILD_AGE_BANDS) != self.child:
            return False
        if self.danger_now is not None and case.danger_now != self.danger_now:
            return False
        if self.needs is not None and not set(self.needs) & set(case.needs):
            return False
        if self.sex is not None and case.sex not in self.sex:
            return False
        return self.age_band is None or case.age_band in self.age_band


class RoleRule(_Strict):
    """Who can fill a role (e.g. shelter, police) and which eligibility checks apply to it."""

    kinds: tuple[ProviderKind, ...] = Field(min_length=1)
    services: tuple[Service, ...] = ()  # the provider must offer every one of these
    capacity: bool = False  # needs a free bed now
    open_now: bool = True
    language: bool = True
    serves: bool = True
    police: bool = False  # alerted only as the police consent rule allows
    alert: int = Field(default=1, ge=1, le=5)  # providers alerted at once for this role
    max_distance_km: float | None = Field(default=None, gt=0)


class AlertRule(_Strict):
    """Which roles to alert when a condition holds."""

    name: str = Field(min_length=1)
    when: Condition = Condition()
    roles: tuple[str, ...] = Field(min_length=1)


class ConsentException(_Strict):
    """A named case in which the police are alerted without the caller's consent."""

    name: str = Field(min_length=1)
    when: Condition
    reason: str = Field(min_length=1)


class PoliceConsent(_Strict):
    """The police rule under consent: consent, or one of the named exceptions."""

    exceptions: tuple[ConsentException, ...] = ()


class Escalation(_Strict):
    """How long staff have to answer by risk level, and how far down a role's list to go."""

    deadlines: dict[RiskLevel, timedelta]
    max_providers_per_role: int = Field(default=3, ge=1, le=20)

    @field_validator("deadlines", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: parse_duration(v) for k, v in value.items()}
        return value


class Rules(_Strict):
    """The whole routing rule set (see docs/routing.md for each setting)."""

    version: int
    timezone: str = "Africa/Bamako"
    max_distance_km: float = Field(gt=0)
    allow_unknown_capacity: bool = False
    roles: dict[str, RoleRule]
    alerts: tuple[AlertRule, ...] = Field(min_length=1)
    police_consent: PoliceConsent = PoliceConsent()
    escalation: Escalation

    @cached_property
    def zone(self) -> tzinfo:
        """Return the time zone in which opening hours are read."""
        return _zone(self.timezone)

    def deadline_for(self, risk_level: str) -> timedelta:
        """Return how long staff have to answer an alert at this risk level."""
        return self.escalation.deadlines[risk_level]  # type: ignore[index]

    def max_distance_for(self, role: str) -> float:
        """Return the distance beyond which a role falls to the national desk."""
        return self.roles[role].max_distance_km or self.max_distance_km


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        # Mali has kept UTC+0 without summer time since 1960, so a machine without the time
        # zone database still reads Bamako hours correctly.
        if name == MALI_TIMEZONE:
            return UTC
        raise


def load_rules(path: str | Path | None = None) -> Rules:
    """Load and lint a rules file (default: the shipped routing/data/rules.yaml).

    Raises RulesError listing every problem as file:line: sentence, and OSError when the
    file cannot be read.
    """
    source = Path(path) if path is not None else DEFAULT_RULES_FILE
    return parse_rules(source.read_text(encoding="utf-8"), filename=str(source))


def parse_rules(text: str, *, filename: str = "<rules>") -> Rules:
    """Parse and lint rules from YAML text; raises RulesError with every problem found."""
    try:
        data, node = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1  # a reader error (bad character) has no mark
        raise RulesError([Problem(filename, line, f"this is not valid YAML ({exc})")]) from None
    if not isinstance(data, dict):
        raise RulesError([Problem(filename, 1, "the rules file must be a mapping of settings")])
    problems = _reference_problems(data, node, filename)
    try:
        rules = Rules.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append(Problem(filename, _line(node, error["loc"]), _sentence(error)))
        raise RulesError(sorted(problems, key=lambda p: p.line)) from None
    problems.extend(_semantic_problems(rules, node, filename))
    if problems:
        raise RulesError(sorted(problems, key=lambda p: p.line))
    return rules


def _reference_problems(data: dict, node, filename: str) -> list[Problem]:
    """Check names that refer to other parts of the file; done on the raw data so that these
    problems are reported together with the schema's own."""
    problems: list[Problem] = []
    roles = data.get("roles") if isinstance(data.get("roles"), dict) else {}
    alerts = data.get("alerts") if isinstance(data.get("alerts"), list) else []
    names: list[str] = []
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            continue
        name = alert.get("name")
        if name in names:
            problems.append(
                Problem(filename, _line(node, ("alerts", index, "name")), f'alert rule name "{name}" is used twice')
            )
        names.append(name)
        listed = alert.get("roles") if isinstance(alert.get("roles"), list) else []
        for role_index, role in enumerate(listed):
            # A role that is not a name (a list, a mapping) is the schema's to report.
            if isinstance(role, str) and role not in roles:
                problems.append(
                    Problem(
                        filename,
                        _line(node, ("alerts", index, "roles", role_index)),
                        f'alert rule "{name}" names role "{role}", which is not defined '
                        f"under roles (defined: {', '.join(roles)})",
                    )
                )
    return problems


def _semantic_problems(rules: Rules, node, filename: str) -> list[Problem]:
    problems: list[Problem] = []
    missing = [r for r in RISK_LEVELS if r not in rules.escalation.deadlines]
    if missing:
        problems.append(
            Problem(
                filename,
                _line(node, ("escalation", "deadlines")),
                f"escalation deadlines are missing for risk level(s): {', '.join(missing)}",
            )
        )
    try:
        _zone(rules.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Africa" is a directory of zones
        problems.append(Problem(filename, _line(node, ("timezone",)), f'"{rules.timezone}" is not a known time zone'))
    return problems


_VOCABULARY = {
    "kinds": ("provider kind", PROVIDER_KINDS),
    "services": ("service", SERVICES),
    "risk": ("risk level", RISK_LEVELS),
    "deadlines": ("risk level", RISK_LEVELS),
    "needs": ("need", NEEDS),
    "sex": ("sex", SEXES),
    "age_band": ("age band", AGE_BANDS),
}


def _sentence(error: dict) -> str:
    """Turn one pydantic error into the plain sentence an operator reads."""
    loc = [str(p) for p in error["loc"]]
    named = [p for p in loc if not p.isdigit() and p != "[key]"]
    field = named[-1] if named else "this setting"
    kind = error["type"]
    given = error.get("input")
    if kind == "literal_error":
        vocab_field = next((p for p in reversed(named) if p in _VOCABULARY), None)
        if "[key]" in loc and "deadlines" in loc:
            vocab_field = "deadlines"
        if vocab_field:
            what, allowed = _VOCABULARY[vocab_field]
            return f'"{given}" is not a known {what}; use one of: {", ".join(allowed)}'
    if kind == "extra_forbidden":
        return f'"{field}" is not a known setting here; check its spelling'
    if kind == "missing":
        return f'the setting "{field}" is missing'
    if kind in ("bool_parsing", "bool_type"):
        return f'"{field}" must be true or false, not "{given}"'
    if kind == "too_short":
        return f'"{field}" must not be empty'
    message = error["msg"].removeprefix("Value error, ")
    return f'"{field}": {message}'


def _line(node, loc) -> int:
    """Return the 1-based line of the YAML node at `loc` (or of its nearest parent)."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    node = value_node
                    # For a wrong key, the key's own line is the one to show.
                    line = key_node.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
