"""The job that answers a caller's SMS: one caller's messages in arrival order, never two at once."""

from __future__ import annotations

from hotline.conversation import process_caller_sms as advance_caller_sms
from workers.registry import job


@job("process_caller_sms", queue="hotline-sms", timeout=120)
def process_caller_sms(contact_id: int) -> None:
    """Process every unprocessed SMS of contact ``contact_id``, oldest first."""
    advance_caller_sms(contact_id)
