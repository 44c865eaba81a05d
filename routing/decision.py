"""The routing decision: referrals to make and the explanation of every choice."""

from __future__ import annotations

from dataclasses import dataclass, field, is_dataclass
from datetime import timedelta
from typing import Any, Literal

from .catalogue import render_reason

Outcome = Literal["chosen", "ranked", "left_out", "already_chosen"]


@dataclass(frozen=True, slots=True)
class Reason:
    """A machine code with its parameters; `sentence()` renders it in plain words."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def sentence(self, language: str = "en") -> str:
        """Return the plain sentence for this reason in `language` (en or fr)."""
        return render_reason(self.code, language, self.params)

    def to_dict(self, language: str = "en") -> dict[str, Any]:
        """Return the code, the parameters and the sentence, ready for JSON."""
        return {"code": self.code, "params": self.params, "sentence": self.sentence(language)}


@dataclass(frozen=True, slots=True)
class Referral:
    """One provider to alert: for which role, its rank in that role, and how far it is.

    `distance_km` is None when the caller's place is unknown; `fallback` marks a hand-over
    to the national desk, `also_for` other roles the same alert covers.
    """

    provider_id: str
    provider_name: str
    kind: str
    role: str
    rank: int
    distance_km: float | None
    fallback: bool
    reason: Reason
    also_for: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RankedCandidate:
    """An eligible provider in a role's ranked list (what escalation moves down)."""

    provider_id: str
    distance_km: float
    beds_free: int | None


@dataclass(frozen=True, slots=True)
class CandidateNote:
    """One candidate the engine examined, and whether it was chosen or left out, and why."""

    provider_id: str
    provider_name: str
    kind: str
    role: str
    distance_km: float
    outcome: Outcome
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class RoleOutcome:
    """What happened to one role: who asked for it, its ranked list, and how it was filled."""

    role: str
    asked_by: tuple[str, ...]
    status: Literal["alerted", "national_desk", "not_allowed", "unrouted"]
    ranked: tuple[RankedCandidate, ...]
    reason: Reason
    not_examined: int = 0
    max_distance_km: float | None = None


@dataclass(frozen=True, slots=True)
class PoliceDecision:
    """Whether police may be alerted for this case, and why (consent or a named exception)."""

    asked: bool
    allowed: bool
    code: str
    reason: Reason


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """Everything route() decided for one case, explainable to an operator."""

    case_reference: str
    risk_level: str
    decided_at: str
    alert_deadline: timedelta
    referrals: tuple[Referral, ...]
    roles: tuple[RoleOutcome, ...]
    candidates: tuple[CandidateNote, ...]
    police: PoliceDecision
    fallbacks: tuple[Reason, ...]

    def ranked_for(self, role: str) -> tuple[str, ...]:
        """Return the provider ids ranked for a role (empty when the role was not filled)."""
        for outcome in self.roles:
            if outcome.role == role:
                return tuple(c.provider_id for c in outcome.ranked)
        return ()

    def explain(self, language: str = "en") -> list[str]:
        """Return the decision as plain sentences: police, roles, then every candidate."""
        lines = [f"police: {self.police.reason.sentence(language)}"]
        for outcome in self.roles:
            lines.append(f"{outcome.role}: {outcome.reason.sentence(language)}")
            if outcome.not_examined:
                skipped = Reason(
                    "not_examined", {"count": outcome.not_examined, "max_km": f"{outcome.max_distance_km:g}"}
                )
                lines.append(f"{outcome.role}: {skipped.sentence(language)}")
        for note in self.candidates:
            why = "; ".join(r.sentence(language) for r in note.reasons)
            lines.append(
                f"{note.role} / {note.provider_name} ({note.distance_km:.1f} km): {note.outcome}"
                + (f": {why}" if why else "")
            )
        lines.extend(f"national desk: {r.sentence(language)}" for r in self.fallbacks)
        return lines

    def to_dict(self, language: str = "en") -> dict[str, Any]:
        """Return the decision as JSON-ready data, with codes and sentences."""
        return _jsonable(self, language)


def _jsonable(value: Any, language: str) -> Any:
    if isinstance(value, Reason):
        return value.to_dict(language)
    if is_dataclass(value):
        return {name: _jsonable(getattr(value, name), language) for name in value.__dataclass_fields__}
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, tuple | list):
        return [_jsonable(v, language) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v, language) for k, v in value.items()}
    return value
