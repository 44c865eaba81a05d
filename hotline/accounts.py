"""Console accounts: argon2 password hashes, creating users, and sign-in with throttling."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.audit import record_event
from hotline.models import Provider, User
from hotline.models.types import utcnow
from hotline.models.user import ROLES

MIN_PASSWORD_LENGTH = 12
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")


class AccountError(ValueError):
    """A user cannot be created as asked; ``code`` says why (pages translate it)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("weak_password", f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(session: Session, *, email: str, name: str, role: str, password: str,
                provider_code: str | None = None, created_by: int | None = None) -> User:
    """Add a user; raise AccountError when the email, role, provider or password is not acceptable."""
    email = normalise_email(email)
    if not _EMAIL.match(email):
        raise AccountError("bad_email", "the email address is not valid")
    if not name.strip():
        raise AccountError("no_name", "the name is missing")
    if role not in ROLES:
        raise AccountError("bad_role", f"the role must be one of {', '.join(ROLES)}")
    provider_id = None
    if role == "provider_staff":
        if not provider_code:
            raise AccountError("provider_required", "provider staff need the code of their provider")
        provider_id = session.scalar(select(Provider.id).where(Provider.code == provider_code))
        if provider_id is None:
            raise AccountError("unknown_provider", f"no provider has the code {provider_code!r}")
    elif provider_code:
        raise AccountError("provider_not_allowed", "only provider staff belong to a provider")
    check_password_rules(password)
    if session.scalar(select(func.count(User.id)).where(User.email == email)):
        raise AccountError("email_taken", "a user with this email already exists")
    user = User(email=email, name=name.strip(), role=role, provider_id=provider_id,
                password_hash=hash_password(password), active=True, failed_logins=0)
    session.add(user)
    session.flush()
    record_event(session, "user.created", "user", user.id, actor="user" if created_by else "system",
                 user_id=created_by, details={"role": role, "provider": provider_code})
    return user


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the user when it succeeded, else why not."""

    user: User | None
    refusal: str | None = None  # "invalid" | "locked"


def authenticate(session: Session, email: str, password: str, *, max_failures: int = 5,
                 lock_minutes: int = 15) -> SignIn:
    """Check an email and password; lock the account for ``lock_minutes`` after ``max_failures`` failures.

    Audits every attempt on a known account (never the email or the password). Does not commit.
    """
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    now = utcnow()
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        return SignIn(None, "invalid")
    if user.locked_until is not None and user.locked_until > now:
        record_event(session, "auth.refused_locked", "user", user.id, actor="anonymous")
        return SignIn(None, "locked")
    if not _verify(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            user.failed_logins = 0
            record_event(session, "auth.locked", "user", user.id, actor="anonymous",
                         details={"minutes": lock_minutes})
            return SignIn(None, "locked")
        record_event(session, "auth.failed", "user", user.id, actor="anonymous",
                     details={"failures": user.failed_logins})
        return SignIn(None, "invalid")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    record_event(session, "auth.login", "user", user.id, actor="user", user_id=user.id)
    return SignIn(user)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
