"""Jobs of the referral desk: route a new case, escalate a referral nobody answered or that was declined."""

from __future__ import annotations

from hotline import referrals
from workers.registry import job


@job("route_case", queue="hotline-referrals", timeout=120)
def route_case(case_id: int) -> None:
    """Choose and alert the providers for case ``case_id`` (once)."""
    referrals.route_case(case_id)


@job("escalate_referral", queue="hotline-referrals", timeout=120)
def escalate_referral(referral_id: int, alert_number: int, event: str) -> None:
    """Move referral ``referral_id`` on after silence ("timeout") or a decline, if still due."""
    referrals.escalate_referral(referral_id, alert_number, event)
