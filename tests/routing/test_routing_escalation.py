"""Tests of the escalation plan: next contact, next provider, national desk."""

from __future__ import annotations

from datetime import timedelta

import pytest
from routing_helpers import make_provider

from routing.directory import Contact
from routing.escalation import ReferralState, plan_escalation
from routing.index import DirectoryIndex
from routing.rules import load_rules

RULES = load_rules()
THREE = (Contact(phone="+22376000001"), Contact(phone="+22376000002"), Contact(phone="+22376000003"))


def directory(*extra):
    """Three shelters ranked s1, s2, s3, a desk, and any extra providers."""
    return DirectoryIndex.build(
        [
            make_provider("s1", contacts=THREE),
            make_provider("s2"),
            make_provider("s3"),
            make_provider("s4"),
            make_provider("desk", kind="national_desk", contacts=THREE[:2]),
            *extra,
        ]
    )


def state(provider="s1", contact=0, tried=1, ranked=("s1", "s2", "s3", "s4"), risk="critical"):
    """A referral state for the shelter role."""
    return ReferralState("shelter", risk, provider, contact, tried, ranked)


def test_silence_moves_through_the_contacts_in_order():
    """Each timeout alerts the provider's next contact, with the risk level's deadline."""
    index = directory()
    step = plan_escalation(state(), "timeout", directory=index, rules=RULES)
    assert (step.action, step.provider_id, step.contact_index, step.phone) == (
        "alert_next_contact",
        "s1",
        1,
        "+22376000002",
    )
    assert step.deadline == timedelta(minutes=10)
    step = plan_escalation(step.next_state(state()), "timeout", directory=index, rules=RULES)
    assert (step.action, step.contact_index) == ("alert_next_contact", 2)
    assert "contact 2" in step.reason.sentence()


def test_last_contact_silent_moves_to_next_provider():
    """After the last contact's silence, the next eligible provider of the role is alerted."""
    step = plan_escalation(state(contact=2), "timeout", directory=directory(), rules=RULES)
    assert (step.action, step.provider_id, step.contact_index, step.providers_tried) == (
        "alert_next_provider",
        "s2",
        0,
        2,
    )
    assert "did not answer" in step.reason.sentence()


def test_decline_skips_remaining_contacts():
    """A decline moves straight to the next provider, not to the same provider's next contact."""
    step = plan_escalation(state(contact=0), "declined", directory=directory(), rules=RULES)
    assert (step.action, step.provider_id) == ("alert_next_provider", "s2")
    assert "declined" in step.reason.sentence()


def test_inactive_next_provider_is_skipped():
    """A provider that left the directory since the decision is skipped."""
    index = DirectoryIndex.build([p for p in directory() if p.id != "s2"])
    step = plan_escalation(state(), "declined", directory=index, rules=RULES)
    assert step.provider_id == "s3"


def test_limit_of_providers_then_national_desk():
    """After max_providers_per_role providers, the national desk takes the case."""
    step = plan_escalation(state(provider="s3", tried=3), "declined", directory=directory(), rules=RULES)
    assert (step.action, step.provider_id, step.contact_index) == ("hand_to_national_desk", "desk", 0)
    assert "3 providers" in step.reason.sentence()


def test_end_of_ranked_list_then_national_desk():
    """When the ranked list runs out, the national desk takes the case."""
    step = plan_escalation(
        state(provider="s2", tried=1, ranked=("s1", "s2")), "declined", directory=directory(), rules=RULES
    )
    assert step.action == "hand_to_national_desk"
    assert "no other eligible provider" in step.reason.sentence()


def test_full_sequence_reaches_the_desk_and_keeps_it_alerted():
    """Silence everywhere: contacts, then providers, then the desk, which is re-alerted."""
    index = directory()
    current = state(ranked=("s1", "s2"))
    actions = []
    for _ in range(8):
        step = plan_escalation(current, "timeout", directory=index, rules=RULES)
        actions.append((step.action, step.provider_id, step.contact_index))
        current = step.next_state(current)
    assert actions == [
        ("alert_next_contact", "s1", 1),
        ("alert_next_contact", "s1", 2),
        ("alert_next_provider", "s2", 0),
        ("alert_next_contact", "s2", 1),
        ("hand_to_national_desk", "desk", 0),
        ("alert_next_contact", "desk", 1),
        ("retry_national_desk", "desk", 0),
        ("alert_next_contact", "desk", 1),
    ]


def test_desk_decline_or_no_desk_is_unrouted():
    """A declining desk, or no desk at all, leaves the case to an operator."""
    desk_state = ReferralState("national_desk", "high", "desk", 0, 1, ())
    step = plan_escalation(desk_state, "declined", directory=directory(), rules=RULES)
    assert step.action == "unrouted"
    no_desk = DirectoryIndex.build([p for p in directory() if p.id != "desk"])
    step = plan_escalation(state(ranked=("s1",), contact=2), "timeout", directory=no_desk, rules=RULES)
    assert step.action == "unrouted" and "no national desk" in step.reason.sentence()


def test_deadline_follows_risk_level_and_bad_event_raises():
    """The deadline is the risk level's; an unknown event raises ValueError."""
    step = plan_escalation(state(risk="medium"), "timeout", directory=directory(), rules=RULES)
    assert step.deadline == timedelta(hours=4)
    with pytest.raises(ValueError):
        plan_escalation(state(), "exploded", directory=directory(), rules=RULES)  # type: ignore[arg-type]


def test_plain_provider_list_is_accepted():
    """A plain list of providers works as the directory too."""
    step = plan_escalation(state(), "declined", directory=list(directory()), rules=RULES)
    assert step.provider_id == "s2"
