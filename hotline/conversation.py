"""The conversation service: moves a caller's session one step on the engine, whatever the gateway."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from flows import engine
from flows.flow import Flow
from flows.help import NearbyHelp
from flows.output import EventKind, Output
from hotline.cases import new_reference, open_case
from hotline.channels.inbound import UssdHop, UssdSessionEnd
from hotline.contacts import create_contact_id, find_contact_id, retry_on_conflict
from hotline.db import get_session
from hotline.directory import directory_snapshot
from hotline.flow_store import PublishedFlow, flow_store
from hotline.locks import caller_lock
from hotline.models import Contact, Conversation, InboundMessage
from hotline.models.types import utcnow
from hotline.outbox import queue_sms
from hotline.referrals import handle_staff_sms, staff_behind
from routing.errors import GazetteerError
from routing.index import DirectoryIndex, nearest_help

log = logging.getLogger(__name__)

_PLACES_KEY = "hotline.places"
# A flow may hand over to another, which may hand over again; never loop for ever.
MAX_FLOW_SWITCHES = 4


@dataclass(frozen=True)
class Screen:
    text: str
    continues: bool


def places():
    """The gazetteer that location questions match against, loaded once per process."""
    app = current_app._get_current_object()
    if _PLACES_KEY not in app.extensions:
        from routing.gazetteer import default_gazetteer

        app.extensions[_PLACES_KEY] = default_gazetteer()
    return app.extensions[_PLACES_KEY]


class DirectoryHelp:
    """The flows' HelpDirectory over routing's provider index: nearest help points for callers.

    Each point is the provider's name, kind, town (the gazetteer's name of its place; a
    Bamako commune or quarter with "Bamako" after it) and phone (only when the provider
    publishes one). Shelters are never listed, whatever a flow asks: their location is
    kept from the people their residents escaped. The index is fetched only when a help
    list is reached, so other hops pay nothing.
    """

    def __init__(self, index: Callable[[], DirectoryIndex], gazetteer: Any):
        self._index = index
        self._gazetteer = gazetteer

    def nearest(self, latitude: float, longitude: float, *, kinds: Sequence[str] | None = None,
                limit: int = 3) -> list[NearbyHelp]:
        wanted = None if kinds is None else [kind for kind in kinds if kind != "shelter"]
        if wanted == []:
            return []
        points = nearest_help(self._index(), latitude, longitude, kinds=wanted, limit=limit)
        return [NearbyHelp(p.provider.name, p.provider.kind, self.town(p.provider.place), p.phone,
                           p.distance_km) for p in points]

    def town(self, code: str | None) -> str:
        """The name callers know for a place code (the code itself when the gazetteer lacks it)."""
        if not code:
            return ""
        try:
            place = self._gazetteer.get(code)
        except (GazetteerError, KeyError):
            return code
        if place.kind in ("commune", "quarter") and place.region_name not in place.name:
            return f"{place.name}, {place.region_name}"
        return place.name


def help_directory(session: Session) -> DirectoryHelp:
    """Help points from the providers in the database (the directory snapshot, cached per version)."""
    return DirectoryHelp(lambda: directory_snapshot(session).index, places())


def _engine_directories(session: Session) -> dict[str, Any]:
    return {"places": places(), "help_directory": help_directory(session)}


# --------------------------------------------------------------------------------- USSD


def answer_ussd_hop(hop: UssdHop) -> Screen:
    """Answer one USSD hop synchronously: store it, step the engine, return the screen.

    A gateway's retry of a hop already answered gets the same screen again without a step.
    """
    session = get_session()
    return retry_on_conflict(lambda: _answer_hop(session, hop), session)


# The hop path runs on every keypress of every caller, so its statements are built once (SQLAlchemy
# memoizes a built statement's cache key) and run on the session's connection, skipping the ORM's
# identity map and flush. The ORM is left for what is rare: opening a case, resuming a session.
_CONVERSATIONS = Conversation.__table__
_CONTACTS = Contact.__table__
_INBOUND = InboundMessage.__table__
_HOP_CONVERSATION = select(
    _CONVERSATIONS.c.id, _CONVERSATIONS.c.status, _CONVERSATIONS.c.contact_id, _CONVERSATIONS.c.channel,
    _CONVERSATIONS.c.case_reference, _CONVERSATIONS.c.flow_id, _CONVERSATIONS.c.flow_version_id,
    _CONVERSATIONS.c.state, _CONVERSATIONS.c.ussd_text_consumed, _CONVERSATIONS.c.last_reply,
    _CONVERSATIONS.c.last_reply_continues,
).where(_CONVERSATIONS.c.gateway == bindparam("gateway"),
        _CONVERSATIONS.c.gateway_session_id == bindparam("session_id"))
_NEW_USSD_CONVERSATION = insert(_CONVERSATIONS).returning(_CONVERSATIONS.c.id)
_FINISH_HOP = update(_CONVERSATIONS).where(_CONVERSATIONS.c.id == bindparam("conversation_id")).values(
    flow_id=bindparam("flow_id"), flow_version_id=bindparam("flow_version_id"), state=bindparam("state"),
    ussd_text_consumed=bindparam("consumed"), last_reply=bindparam("reply"),
    last_reply_continues=bindparam("continues"), status=bindparam("status"), last_activity_at=bindparam("now"),
    ended_at=bindparam("ended_at"))
_SET_LANGUAGE = update(_CONTACTS).where(_CONTACTS.c.id == bindparam("contact_id")).values(
    language=bindparam("language"))
_OPT_OUT = update(_CONTACTS).where(_CONTACTS.c.id == bindparam("contact_id")).values(
    opted_out_at=bindparam("now"))
_RESUMABLE_USSD = select(_CONVERSATIONS.c.id).where(
    _CONVERSATIONS.c.contact_id == bindparam("contact_id"), _CONVERSATIONS.c.channel == "ussd",
    _CONVERSATIONS.c.status.in_(("active", "dropped"))).order_by(_CONVERSATIONS.c.id.desc()).limit(1)
_RECORD_HOP = {
    name: dialect_insert(_INBOUND).on_conflict_do_nothing(index_elements=["gateway", "gateway_message_id"])
    .returning(_INBOUND.c.id)
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


@dataclass
class UssdConversation:
    """The columns of a USSD conversation a hop reads and writes (a flow switch changes the flow)."""

    id: int
    contact_id: int
    channel: str
    case_reference: str | None
    flow_id: str
    flow_version_id: int
    consumed: int


def _answer_hop(session: Session, hop: UssdHop) -> Screen:
    connection = session.connection()
    row = connection.execute(_HOP_CONVERSATION, {"gateway": hop.gateway, "session_id": hop.session_id}).first()
    if row is None:
        return _start_ussd(session, hop)
    if row.status != "active":
        return Screen(row.last_reply or "", False)
    newest, consumed = _newest_ussd_input(row.ussd_text_consumed, hop)
    if newest is None or not _record_hop(session, row.id, row.contact_id, hop, newest):
        return Screen(row.last_reply or "", row.last_reply_continues)
    conversation = UssdConversation(row.id, row.contact_id, row.channel, row.case_reference, row.flow_id,
                                    row.flow_version_id, consumed)
    flow = flow_store().flow_for_version(session, row.flow_version_id)
    state, output = engine.step(flow, row.state, newest, **_engine_directories(session))
    return _finish_ussd_step(session, conversation, flow, state, output)


def _newest_ussd_input(consumed: int, hop: UssdHop) -> tuple[str | None, int]:
    """The caller's newest input (None when this hop was already answered) and the text now consumed."""
    if hop.latest_input is not None:
        return hop.latest_input, consumed
    # The gateway resends all inputs joined by '*'; an answer may itself contain '*', so the
    # newest input is what follows the part already consumed, not the last '*'-field.
    if len(hop.text) <= consumed:
        return None, consumed
    newest = hop.text[consumed:]
    if consumed:
        newest = newest[1:] if newest.startswith("*") else newest
    return newest, len(hop.text)


def _record_hop(session: Session, conversation_id: int, contact_id: int, hop: UssdHop, text: str) -> bool:
    """Persist the hop; False when the gateway already sent this very hop.

    One INSERT that skips a duplicate, rather than a savepoint around an ORM insert: this runs
    on every hop, and the conversation's own changes wait for the single UPDATE at commit.
    """
    hop_key = hop.hop_id or str(len(hop.text))
    now = utcnow()
    connection = session.connection()
    statement = _RECORD_HOP[connection.dialect.name]
    inserted = connection.execute(statement, {
        "gateway": hop.gateway, "gateway_message_id": f"{hop.session_id}#{hop_key}", "channel": "ussd",
        "contact_id": contact_id, "conversation_id": conversation_id, "body": text, "state": "processed",
        "received_at": now, "processed_at": now,
    })
    return inserted.scalar_one_or_none() is not None


def _finish_ussd_step(session: Session, conversation: UssdConversation, flow: Flow, state: dict[str, Any],
                      output: Output) -> Screen:
    """Follow a flow switch, act on the step's events, store the conversation in one UPDATE, commit."""
    flow, state, output = _follow_switch(session, conversation, flow, state, output)
    connection = session.connection()
    now = utcnow()
    status, ended_at = "active", None
    _act_on_events(session, conversation, output, lambda language: connection.execute(
        _SET_LANGUAGE, {"contact_id": conversation.contact_id, "language": language}))
    if output.event(EventKind.STOPPED) is not None:
        status, ended_at = "stopped", now
        connection.execute(_OPT_OUT, {"contact_id": conversation.contact_id, "now": now})
    elif not output.continues:
        status, ended_at = "completed", now
    connection.execute(_FINISH_HOP, {
        "conversation_id": conversation.id, "flow_id": conversation.flow_id,
        "flow_version_id": conversation.flow_version_id, "state": state, "consumed": conversation.consumed,
        "reply": output.text, "continues": output.continues, "status": status, "now": now, "ended_at": ended_at})
    session.commit()
    return Screen(output.text, output.continues)


def _start_ussd(session: Session, hop: UssdHop) -> Screen:
    contact_id = find_contact_id(session, hop.phone)
    # A number never seen before has no session to resume: one query saved on most first calls.
    previous_id = None
    if contact_id is None:
        contact_id = create_contact_id(session, hop.phone)
    else:
        previous_id = session.connection().execute(_RESUMABLE_USSD, {"contact_id": contact_id}).scalar()
    store = flow_store()
    now = utcnow()
    if previous_id is not None:
        previous = session.get(Conversation, previous_id)
        flow = store.flow_for_version(session, previous.flow_version_id)
        decision = engine.resume_decision(flow, previous.state, previous.last_activity_at.timestamp(),
                                          now.timestamp(), "ussd")
        if decision == "offer_resume":
            previous.status = "resumed"
            conversation = _new_ussd_conversation(session, contact_id, hop, previous.flow_id,
                                                  previous.flow_version_id, previous.case_reference)
            state, output = engine.offer_resume(flow, previous.state, "ussd", **_engine_directories(session))
            _record_hop(session, conversation.id, contact_id, hop, hop.text)
            return _finish_ussd_step(session, conversation, flow, state, output)
        previous.status = "expired"
    published = store.latest(session, current_app.config["HOTLINE_USSD_FLOW"])
    conversation = _new_ussd_conversation(session, contact_id, hop, published.flow.id, published.version_id,
                                          new_reference(session))
    state, output = engine.start(published.flow, "ussd", case_ref=conversation.case_reference,
                                 **_engine_directories(session))
    _record_hop(session, conversation.id, contact_id, hop, hop.text)
    # A dial string such as *123*1# already carries answers: feed them in order.
    flow = published.flow
    for part in [p for p in hop.text.split("*") if p] if hop.latest_input is None else []:
        flow, state, output = _follow_switch(session, conversation, flow, state, output)
        if not output.continues:
            break
        state, output = engine.step(flow, state, part, **_engine_directories(session))
    return _finish_ussd_step(session, conversation, flow, state, output)


def _new_ussd_conversation(session: Session, contact_id: int, hop: UssdHop, flow_id: str, flow_version_id: int,
                           reference: str | None) -> UssdConversation:
    """Insert the conversation of a new USSD session; the dial's text counts as consumed."""
    # Pending ORM changes (a new contact, a previous session's status) must reach the database first.
    session.flush()
    now = utcnow()
    conversation_id = session.connection().execute(_NEW_USSD_CONVERSATION, {
        "contact_id": contact_id, "channel": "ussd", "gateway": hop.gateway, "gateway_session_id": hop.session_id,
        "flow_id": flow_id, "flow_version_id": flow_version_id, "case_reference": reference, "status": "active",
        "ussd_text_consumed": len(hop.text), "last_reply_continues": True, "started_at": now,
        "last_activity_at": now,
    }).scalar_one()
    return UssdConversation(conversation_id, contact_id, "ussd", reference, flow_id, flow_version_id, len(hop.text))


def end_ussd_session(end: UssdSessionEnd) -> None:
    """Mark a session the network closed: a dropped one can be resumed on redial."""
    session = get_session()
    conversation = session.scalar(select(Conversation).where(
        Conversation.gateway == end.gateway, Conversation.gateway_session_id == end.session_id))
    if conversation is not None and conversation.status == "active":
        conversation.status = "completed" if end.status == "completed" else "dropped"
        if conversation.status == "completed":
            conversation.ended_at = utcnow()
    session.commit()


def _new_conversation(session: Session, contact: Contact, *, channel: str, gateway: str,
                      gateway_session_id: str | None, flow_id: str, flow_version_id: int,
                      reference: str | None) -> Conversation:
    conversation = Conversation(
        contact_id=contact.id, channel=channel, gateway=gateway, gateway_session_id=gateway_session_id,
        flow_id=flow_id, flow_version_id=flow_version_id, case_reference=reference, status="active",
        ussd_text_consumed=0,
    )
    session.add(conversation)
    session.flush()
    return conversation


# ---------------------------------------------------------------------------------- SMS


def process_caller_sms(contact_id: int) -> int:
    """Advance the caller's SMS conversation by each unprocessed message, oldest first.

    Holds the caller's lock, so two workers never interleave one caller's messages.
    Returns how many messages were processed.
    """
    session = get_session()
    with caller_lock(f"sms-in:{contact_id}"):
        session.expire_all()
        waiting = session.scalars(select(InboundMessage).where(
            InboundMessage.contact_id == contact_id, InboundMessage.channel == "sms",
            InboundMessage.state == "received").order_by(InboundMessage.id)).all()
        for message in waiting:
            _advance_sms(session, message)
            session.commit()
        return len(waiting)


def _advance_sms(session: Session, message: InboundMessage) -> None:
    staff = staff_behind(session, message)
    if staff:
        # Registered staff numbers talk to the referral desk, never to a screening flow.
        handle_staff_sms(session, message, staff)
        message.state, message.processed_at = "processed", utcnow()
        return
    contact = session.get(Contact, message.contact_id)
    # Writing again after STOP is the caller's own wish to talk: replies may go again.
    contact.opted_out_at = None
    text = message.body or ""
    now = utcnow()
    conversation = session.scalar(select(Conversation).where(
        Conversation.contact_id == contact.id, Conversation.channel == "sms",
        Conversation.status == "active").order_by(Conversation.id.desc()).limit(1))
    flow: Flow | None = None
    output: Output | None = None
    if conversation is not None:
        flow = flow_store().flow_for_version(session, conversation.flow_version_id)
        decision = engine.resume_decision(flow, conversation.state, conversation.last_activity_at.timestamp(),
                                          now.timestamp(), "sms")
        if decision == "continue":
            state, output = engine.step(flow, conversation.state, text, **_engine_directories(session))
        elif decision == "offer_resume":
            state, output = engine.offer_resume(flow, conversation.state, "sms", **_engine_directories(session))
        else:
            conversation.status, conversation.ended_at = "expired", now
            conversation = None
    if conversation is None:
        published, lang = _flow_for_first_sms(session, text)
        flow = published.flow
        conversation = _new_conversation(
            session, contact, channel="sms", gateway=message.gateway, gateway_session_id=None,
            flow_id=flow.id, flow_version_id=published.version_id, reference=new_reference(session))
        state, output = engine.start(flow, "sms", case_ref=conversation.case_reference, lang=lang,
                                     **_engine_directories(session))
    message.conversation_id = conversation.id
    message.state, message.processed_at = "processed", now
    _after_step(session, conversation, flow, state, output, reply_to=message)


def _flow_for_first_sms(session: Session, text: str) -> tuple[PublishedFlow, str | None]:
    """The flow whose keyword the caller sent (and its language), or the default SMS flow."""
    store = flow_store()
    default = store.latest(session, current_app.config["HOTLINE_SMS_FLOW"])
    for published in [default, *store.all_latest(session)]:
        lang = published.flow.keyword_language(text)
        if lang is not None:
            return published, lang
    return default, None


# ---------------------------------------------------------------------------- after a step


def _follow_switch(session: Session, conversation: Conversation | UssdConversation, flow: Flow, state: dict[str, Any],
                   output: Output) -> tuple[Flow, dict[str, Any], Output]:
    """When the flow handed over (FLOW_SWITCH), start the named flow in this same conversation.

    The conversation moves to the newest published version of that flow and keeps its case
    reference; the flow starts in the caller's language (so it skips its own language
    question), and its first screen is the reply. The events of both steps are kept. An
    unknown flow leaves the engine's safe closing text as the reply.
    """
    for _ in range(MAX_FLOW_SWITCHES):
        switch = output.event(EventKind.FLOW_SWITCH)
        if switch is None:
            break
        try:
            published = flow_store().latest(session, switch.data["flow"])
        except LookupError:
            log.warning("conversation %s: flow %s is not published; ending safe", conversation.id,
                        switch.data["flow"])
            break
        target = published.flow
        language = switch.data.get("language")
        conversation.flow_id, conversation.flow_version_id = target.id, published.version_id
        state, started = engine.start(target, conversation.channel, case_ref=conversation.case_reference,
                                      lang=language if language in target.languages else None,
                                      **_engine_directories(session))
        earlier = tuple(e for e in output.events if e.kind != EventKind.FLOW_SWITCH)
        output, flow = replace(started, events=earlier + started.events), target
    return flow, state, output


def _act_on_events(session: Session, conversation: Conversation | UssdConversation, output: Output,
                   set_language: Callable[[str | None], Any]) -> None:
    """Open the case a step finished, note a safe ending, keep the language the caller chose."""
    for event in output.events:
        if event.kind == EventKind.CASE_READY:
            open_case(session, conversation, event.data)
        elif event.kind == EventKind.FAILED_SAFE:
            log.warning("conversation %s ended safe: %s", conversation.id, event.data.get("reason"))
        elif event.kind == EventKind.LANGUAGE_SET:
            set_language(event.data.get("language"))


def _after_step(session: Session, conversation: Conversation, flow: Flow, state: dict[str, Any],
                output: Output, reply_to: InboundMessage | None = None) -> Screen:
    flow, state, output = _follow_switch(session, conversation, flow, state, output)
    now = utcnow()
    conversation.state = state
    conversation.last_activity_at = now
    conversation.last_reply, conversation.last_reply_continues = output.text, output.continues
    stopped = output.event(EventKind.STOPPED) is not None
    # The SMS path keeps the contact in the ORM (its opt-out is cleared above), so it writes through it too.
    _act_on_events(session, conversation, output,
                   lambda language: setattr(session.get(Contact, conversation.contact_id), "language", language))
    if stopped:
        conversation.status, conversation.ended_at = "stopped", now
        session.get(Contact, conversation.contact_id).opted_out_at = now
    elif not output.continues:
        conversation.status, conversation.ended_at = "completed", now
    if reply_to is not None and output.text:
        contact = session.get(Contact, conversation.contact_id)
        queue_sms(contact.phone, output.text, purpose="confirmation" if stopped else "reply",
                  contact_id=contact.id, conversation_id=conversation.id, in_reply_to_id=reply_to.id,
                  session=session)
    session.commit()
    return Screen(output.text, output.continues)

