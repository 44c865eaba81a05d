"""Finding or recording the contact behind a phone number, by keyed hash only."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline import pii
from hotline.models import Contact
from hotline.models.types import utcnow

T = TypeVar("T")


_CONTACTS = Contact.__table__
_CONTACT_ID_BY_HASH = select(_CONTACTS.c.id).where(_CONTACTS.c.phone_hash.in_(bindparam("hashes", expanding=True)))
_NEW_CONTACT = insert(_CONTACTS).returning(_CONTACTS.c.id)


def find_contact_id(session: Session, e164: str) -> int | None:
    """The id of the contact for ``e164`` (the number is not decrypted), or None."""
    return session.connection().execute(_CONTACT_ID_BY_HASH, {"hashes": pii.cipher().lookup_hashes(e164)}).scalar()


def create_contact_id(session: Session, e164: str) -> int:
    """Record a number not seen before; its id. A concurrent twin raises IntegrityError (see retry_on_conflict)."""
    return session.connection().execute(_NEW_CONTACT, {
        "phone": e164, "phone_hash": pii.cipher().lookup_hash(e164), "created_at": utcnow()}).scalar_one()


def find_contact(session: Session, e164: str) -> Contact | None:
    hashes = pii.cipher().lookup_hashes(e164)
    return session.scalar(select(Contact).where(Contact.phone_hash.in_(hashes)))


def find_or_create_contact(session: Session, e164: str) -> Contact:
    """The contact for ``e164``, created on first contact.

    When two requests create the same contact at once, the second flush raises IntegrityError;
    callers run their whole transaction again (see `retry_on_conflict`), and then find it.
    """
    contact = find_contact(session, e164)
    return contact if contact is not None else create_contact(session, e164)


def create_contact(session: Session, e164: str) -> Contact:
    """Record a number not seen before (flushed, so it has an id); a concurrent twin raises IntegrityError."""
    contact = Contact(phone=e164, phone_hash=pii.cipher().lookup_hash(e164))
    session.add(contact)
    session.flush()
    return contact


def retry_on_conflict(operation: Callable[[], T], session: Session, attempts: int = 3) -> T:
    """Run ``operation``; when a concurrent insert of the same row wins, roll back and run it again."""
    for attempt in range(attempts):
        try:
            return operation()
        except IntegrityError:
            session.rollback()
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
