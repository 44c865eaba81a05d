"""Personal data over time: anonymising closed cases, a person's export and erasure, key rotation."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from hotline import pii
from hotline.audit import record_event
from hotline.contacts import find_contact
from hotline.models import (
    Base,
    Case,
    CaseNote,
    Contact,
    Conversation,
    InboundMessage,
    OutboundMessage,
    ProviderContact,
)
from hotline.models.types import EncryptedJSON, EncryptedText, utcnow

log = logging.getLogger(__name__)

REMOVED = ""


def _erased_hash(kind: str, row_id: int) -> str:
    # Keeps the unique index satisfied while matching no real number's hash.
    return f"erased:{kind}:{row_id}"


def _scrub_conversation(session: Session, conversation: Conversation) -> None:
    conversation.state, conversation.last_reply = None, None
    session.execute(update(InboundMessage).where(InboundMessage.conversation_id == conversation.id)
                    .values(body=None))
    for message in session.scalars(select(OutboundMessage).where(
            OutboundMessage.conversation_id == conversation.id)):
        _scrub_outbound(message)


def _scrub_outbound(message: OutboundMessage) -> None:
    message.body, message.to_phone, message.to_hash = None, REMOVED, _erased_hash("out", message.id)


def _scrub_case(session: Session, case: Case) -> None:
    """Drop what identifies a person; keep what statistics count (risk, indicators, region, age, outcome)."""
    case.answers = None
    case.latitude = case.longitude = None
    case.anonymised_at = utcnow()
    for note in session.scalars(select(CaseNote).where(CaseNote.case_id == case.id)):
        session.delete(note)
    if case.conversation_id:
        conversation = session.get(Conversation, case.conversation_id)
        if conversation is not None:
            _scrub_conversation(session, conversation)


def _scrub_contact(session: Session, contact: Contact) -> None:
    contact.phone, contact.phone_hash = REMOVED, _erased_hash("contact", contact.id)
    contact.anonymised_at = utcnow()
    session.execute(update(InboundMessage).where(InboundMessage.contact_id == contact.id).values(body=None))
    for message in session.scalars(select(OutboundMessage).where(OutboundMessage.contact_id == contact.id)):
        _scrub_outbound(message)


def purge_personal_data(session: Session, older_than: timedelta) -> dict[str, int]:
    """Anonymise closed cases and ended conversations older than ``older_than``; return counts.

    Message bodies and numbers go; the counts statistics need stay. Commits.
    """
    cutoff = utcnow() - older_than
    cases = session.scalars(select(Case).where(
        Case.status == "closed", Case.closed_at < cutoff, Case.anonymised_at.is_(None))).all()
    for case in cases:
        _scrub_case(session, case)
    conversations = session.scalars(select(Conversation).where(
        Conversation.status != "active", Conversation.last_activity_at < cutoff,
        or_(Conversation.state.is_not(None), Conversation.last_reply.is_not(None)))).all()
    open_case_conversations = set(session.scalars(select(Case.conversation_id).where(Case.status != "closed")))
    scrubbed_conversations = 0
    for conversation in conversations:
        if conversation.id not in open_case_conversations:
            _scrub_conversation(session, conversation)
            scrubbed_conversations += 1
    # A number is kept only while something recent or open still needs it.
    stale_contacts = session.scalars(select(Contact).where(
        Contact.anonymised_at.is_(None), Contact.created_at < cutoff)).all()
    scrubbed_contacts = 0
    for contact in stale_contacts:
        recent = session.scalar(select(Conversation.id).where(
            Conversation.contact_id == contact.id,
            or_(Conversation.last_activity_at >= cutoff, Conversation.id.in_(open_case_conversations))).limit(1))
        if recent is None:
            _scrub_contact(session, contact)
            scrubbed_contacts += 1
    counts = {"cases": len(cases), "conversations": scrubbed_conversations, "contacts": scrubbed_contacts}
    record_event(session, "retention.purged", details={**counts, "older_than_days": older_than.days})
    session.commit()
    log.info("retention purge: %s", counts)
    return counts


def export_person(session: Session, phone: str) -> dict[str, Any]:
    """Everything held about one phone number, for a person's request to see their data."""
    contact = find_contact(session, phone)
    if contact is None:
        return {"phone": phone, "found": False}
    conversations = session.scalars(select(Conversation).where(Conversation.contact_id == contact.id)).all()
    conversation_ids = [c.id for c in conversations]
    cases = session.scalars(select(Case).where(Case.conversation_id.in_(conversation_ids))).all() if conversation_ids \
        else []
    return {
        "phone": contact.phone, "found": True, "language": contact.language,
        "first_contact": contact.created_at.isoformat(),
        "messages_received": [
            {"at": m.received_at.isoformat(), "channel": m.channel, "text": m.body}
            for m in session.scalars(select(InboundMessage).where(InboundMessage.contact_id == contact.id)
                                     .order_by(InboundMessage.id))],
        "messages_sent": [
            {"at": m.created_at.isoformat(), "text": m.body, "state": m.state}
            for m in session.scalars(select(OutboundMessage).where(OutboundMessage.contact_id == contact.id)
                                     .order_by(OutboundMessage.id))],
        "cases": [{"reference": c.reference, "opened": c.created_at.isoformat(), "status": c.status,
                   "risk_level": c.risk_level, "answers": c.answers} for c in cases],
    }


def erase_person(session: Session, phone: str) -> bool:
    """Anonymise everything held about one phone number now, whatever its age; False when unknown."""
    contact = find_contact(session, phone)
    if contact is None:
        return False
    for conversation in session.scalars(select(Conversation).where(Conversation.contact_id == contact.id)):
        case = session.scalar(select(Case).where(Case.conversation_id == conversation.id))
        if case is not None:
            _scrub_case(session, case)
        _scrub_conversation(session, conversation)
    _scrub_contact(session, contact)
    return True


def _encrypted_columns() -> list[tuple[type, list[str]]]:
    found = []
    for mapper in Base.registry.mappers:
        names = [column.key for column in mapper.columns if isinstance(column.type, EncryptedText | EncryptedJSON)]
        if names:
            found.append((mapper.class_, names))
    return found


def rotate_keys(session: Session, batch_size: int = 500) -> int:
    """Re-encrypt every personal-data value under the newest key and recompute look-up hashes.

    Run after putting a new key first in HOTLINE_PII_KEY; the old key can be removed afterwards.
    Values are read with whichever key wrote them and written back with the newest. Returns
    how many rows were rewritten. Commits every ``batch_size`` rows.
    """
    cipher = pii.cipher()
    rewritten = 0
    for model, columns in _encrypted_columns():
        last_id = 0
        while True:
            rows = session.scalars(select(model).where(model.id > last_id).order_by(model.id)
                                   .limit(batch_size)).all()
            if not rows:
                break
            for row in rows:
                for column in columns:
                    if getattr(row, column) is not None:
                        flag_modified(row, column)
                if isinstance(row, Contact | ProviderContact) and not row.phone_hash.startswith("erased:"):
                    row.phone_hash = cipher.lookup_hash(row.phone)
                if isinstance(row, OutboundMessage) and not row.to_hash.startswith("erased:"):
                    row.to_hash = cipher.lookup_hash(row.to_phone)
            rewritten += len(rows)
            last_id = rows[-1].id
            session.commit()
    record_event(session, "pii.keys_rotated", details={"rows": rewritten})
    session.commit()
    return rewritten
