"""API tokens: one per user, shown once when issued, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.audit import record_event
from hotline.models import User

TOKEN_PREFIX = "hl_"


def token_hash(token: str) -> str:
    """The stored form of a token. A plain SHA-256 suffices: tokens carry 256 random bits, not a password."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(session: Session, user: User, *, issued_by: int | None = None) -> str:
    """Give ``user`` a new API token (replacing any earlier one) and return it; only its hash is kept.

    Records an audit event (never the token). Does not commit.
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user.api_token_hash = token_hash(token)
    record_event(session, "api_token.issued", "user", user.id, actor="user" if issued_by else "system",
                 user_id=issued_by, details={"role": user.role})
    return token


def revoke_token(session: Session, user: User, *, revoked_by: int | None = None) -> None:
    """Remove ``user``'s API token; requests carrying it are refused from now on. Does not commit."""
    user.api_token_hash = None
    record_event(session, "api_token.revoked", "user", user.id, actor="user" if revoked_by else "system",
                 user_id=revoked_by)


def user_for_token(session: Session, token: str) -> User | None:
    """The active user this token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    user = session.scalar(select(User).where(User.api_token_hash == token_hash(token)))
    return user if user is not None and user.active else None
