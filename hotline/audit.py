"""Recording audit events: who did what to which record, and why (never personal data)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hotline.models import AuditEvent


def record_event(session: Session, action: str, subject_type: str | None = None, subject_id: int | None = None,
                 *, actor: str = "system", user_id: int | None = None,
                 details: dict[str, Any] | None = None) -> AuditEvent:
    """Add an audit event to the session's transaction."""
    event = AuditEvent(action=action, subject_type=subject_type, subject_id=subject_id, actor=actor,
                       user_id=user_id, details=details or {})
    session.add(event)
    return event
