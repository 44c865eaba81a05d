"""Escalation plan: after a silence or a decline, who is alerted next (pure, no clock, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from .decision import Reason
from .directory import Provider
from .index import DirectoryIndex
from .rules import Rules

EscalationEvent = Literal["timeout", "declined"]
EscalationAction = Literal[
    "alert_next_contact",
    "alert_next_provider",
    "hand_to_national_desk",
    "retry_national_desk",
    "unrouted",
]
NATIONAL_DESK_KIND = "national_desk"
# Why a provider is passed over, by code, as the catalogue's English sentences word it.
_WHY = {
    "declined": "declined",
    "silent": "did not answer on any contact",
    "inactive": "is no longer active in the directory",
}


@dataclass(frozen=True, slots=True)
class ReferralState:
    """Where a referral stands: the provider holding it and how far escalation has gone.

    `contact_index` is the index of the provider's contact alerted last; `providers_tried`
    counts the providers of this role alerted so far (1 after the first alert); `ranked` is
    the role's ranked list from the RoutingDecision (`decision.ranked_for(role)`).
    """

    role: str
    risk_level: str
    provider_id: str
    contact_index: int
    providers_tried: int
    ranked: tuple[str, ...]
    national_desk_id: str | None = None


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """The next thing to do: whom to alert (provider, contact, number) and by when to expect an answer."""

    action: EscalationAction
    provider_id: str | None
    contact_index: int
    phone: str | None
    providers_tried: int
    deadline: timedelta
    reason: Reason

    def next_state(self, state: ReferralState) -> ReferralState:
        """Return the referral state after this step has been carried out."""
        return ReferralState(
            role=NATIONAL_DESK_KIND if self.action.endswith("national_desk") else state.role,
            risk_level=state.risk_level,
            provider_id=self.provider_id or state.provider_id,
            contact_index=self.contact_index,
            providers_tried=self.providers_tried,
            ranked=state.ranked,
            national_desk_id=state.national_desk_id,
        )


def plan_escalation(
    state: ReferralState,
    event: EscalationEvent,
    *,
    directory: DirectoryIndex | Mapping[str, Provider] | Sequence[Provider],
    rules: Rules,
) -> EscalationStep:
    """Return the next step for a referral after a timeout or a decline.

    A silence moves to the provider's next contact; a decline, or a silence from its last
    contact, moves to the next eligible provider of the same role in the decision's ranked
    list (at most `max_providers_per_role` providers); after that the national desk takes
    the case. A silent national desk is alerted again from its first contact; a desk that
    declines, or no desk at all, gives "unrouted" so that an operator acts. Providers that
    have since become inactive or left the directory are skipped. Raises ValueError on an
    unknown event.
    """
    if event not in ("timeout", "declined"):
        raise ValueError(f"unknown escalation event {event!r}")
    providers = _lookup(directory)
    deadline = rules.deadline_for(state.risk_level)
    current = providers.get(state.provider_id)
    name = current.name if current else state.provider_id

    if current is not None and current.kind == NATIONAL_DESK_KIND:
        if event == "declined":
            why = Reason(
                "esc_unrouted",
                {"why": f"the national desk ({name}) declined", "cause": "desk_declined", "provider": name},
            )
            return EscalationStep("unrouted", None, 0, None, state.providers_tried, deadline, why)
        following = state.contact_index + 1
        if following < len(current.contacts):
            return _contact_step(current, state, following, deadline)
        return EscalationStep(
            "retry_national_desk",
            current.id,
            0,
            current.contacts[0].phone,
            state.providers_tried,
            deadline,
            Reason("esc_desk_retry"),
        )

    if event == "timeout" and current is not None and current.active:
        following = state.contact_index + 1
        if following < len(current.contacts):
            return _contact_step(current, state, following, deadline)
    # The English fragments fill the catalogue's sentences; the codes let a console say them in its own words.
    why_code = "declined" if event == "declined" else "silent"
    if current is None or not current.active:
        why_code = "inactive"
    why = _WHY[why_code]

    limit = rules.escalation.max_providers_per_role
    if state.providers_tried < limit:
        start = state.ranked.index(state.provider_id) + 1 if state.provider_id in state.ranked else 0
        for candidate_id in state.ranked[start:]:
            candidate = providers.get(candidate_id)
            if candidate is None or not candidate.active or candidate_id == state.provider_id:
                continue
            tried = state.providers_tried + 1
            reason = Reason(
                "esc_next_provider",
                {
                    "provider": name,
                    "why": why,
                    "why_code": why_code,
                    "role": state.role,
                    "next": candidate.name,
                    "tried": tried,
                    "limit": limit,
                },
            )
            return EscalationStep(
                "alert_next_provider", candidate.id, 0, candidate.contacts[0].phone, tried, deadline, reason
            )
        left_code = "none_left"
        left = "no other eligible provider is left in the ranked list"
    else:
        left_code = "limit"
        left = f"{limit} providers of this role have been tried"
    gave_up = {"provider": name, "why_code": why_code, "left_code": left_code, "limit": limit}

    desk = _desk(providers, state.national_desk_id)
    if desk is None:
        reason = Reason(
            "esc_unrouted",
            {"why": f"{name} {why}, {left}, and there is no national desk", "cause": "no_desk", **gave_up},
        )
        return EscalationStep("unrouted", None, 0, None, state.providers_tried, deadline, reason)
    reason = Reason("esc_desk", {"why": why, "left": left, **gave_up})
    return EscalationStep(
        "hand_to_national_desk", desk.id, 0, desk.contacts[0].phone, state.providers_tried, deadline, reason
    )


def _contact_step(provider: Provider, state: ReferralState, index: int, deadline: timedelta):
    reason = Reason(
        "esc_next_contact", {"provider": provider.name, "previous": state.contact_index + 1, "next": index + 1}
    )
    return EscalationStep(
        "alert_next_contact",
        provider.id,
        index,
        provider.contacts[index].phone,
        state.providers_tried,
        deadline,
        reason,
    )


def _lookup(directory) -> Mapping[str, Provider]:
    if isinstance(directory, DirectoryIndex):
        return directory.by_id
    if isinstance(directory, Mapping):
        return directory
    return {p.id: p for p in directory}


def _desk(providers: Mapping[str, Provider], preferred: str | None) -> Provider | None:
    if preferred is not None:
        desk = providers.get(preferred)
        if desk is not None and desk.active:
            return desk
    desks = sorted(
        (p for p in providers.values() if p.kind == NATIONAL_DESK_KIND and p.active),
        key=lambda p: p.id,
    )
    return desks[0] if desks else None
