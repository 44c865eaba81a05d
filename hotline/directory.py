"""The provider directory in the database, and its conversion to the routing engine's snapshot."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from hotline import pii
from hotline.audit import record_event
from hotline.models import Provider, ProviderContact
from routing.directory import Contact as RoutingContact
from routing.directory import OpeningHours
from routing.directory import Provider as RoutingProvider
from routing.index import DirectoryIndex

EXTENSION_KEY = "hotline.directory"


def to_routing(row: Provider) -> RoutingProvider:
    """The routing engine's view of a provider row (contacts in escalation order)."""
    return RoutingProvider(
        id=row.code, name=row.name, kind=row.kind, latitude=row.latitude, longitude=row.longitude,
        place=row.place_code, serves=frozenset(row.serves), services=frozenset(row.services),
        beds_free=row.beds_free, hours=OpeningHours.parse(row.hours), languages=tuple(row.languages),
        contacts=tuple(RoutingContact(phone=c.phone, name=c.name) for c in row.contacts if c.active),
        active=row.active, demo=row.demo, publishes_phone=row.publishes_phone,
    )


def save_providers(session: Session, providers: Iterable[RoutingProvider], *, user_id: int | None = None) -> int:
    """Insert or update providers by their code, replacing their contacts; return how many were saved."""
    cipher = pii.cipher()
    saved = 0
    for provider in providers:
        row = session.scalar(select(Provider).where(Provider.code == provider.id)
                             .options(selectinload(Provider.contacts)))
        if row is None:
            row = Provider(code=provider.id)
            session.add(row)
        row.name, row.kind = provider.name, provider.kind
        row.latitude, row.longitude, row.place_code = provider.latitude, provider.longitude, provider.place
        row.serves, row.services = sorted(provider.serves), sorted(provider.services)
        row.beds_free, row.hours = provider.beds_free, provider.hours.text or "24/7"
        row.languages, row.publishes_phone = list(provider.languages), provider.publishes_phone
        row.active, row.demo = provider.active, provider.demo
        for contact in list(row.contacts):
            session.delete(contact)
        session.flush()
        row.contacts = [
            ProviderContact(position=position, name=contact.name, phone=contact.phone,
                            phone_hash=cipher.lookup_hash(contact.phone))
            for position, contact in enumerate(provider.contacts)
        ]
        saved += 1
    session.flush()
    record_event(session, "providers.saved", "provider", None, user_id=user_id,
                 actor="user" if user_id else "system", details={"count": saved})
    return saved


@dataclass(frozen=True)
class DirectorySnapshot:
    index: DirectoryIndex
    ids_by_code: dict[str, int]


class DirectoryCache:
    """One DirectoryIndex per directory version (row count and newest change), rebuilt on change."""

    def __init__(self):
        self._snapshot: DirectorySnapshot | None = None
        self._version: tuple | None = None
        self._lock = threading.Lock()

    def snapshot(self, session: Session) -> DirectorySnapshot:
        version = (*session.execute(select(func.count(Provider.id), func.max(Provider.updated_at))).one(),
                   session.scalar(select(func.count(ProviderContact.id))))
        with self._lock:
            if self._snapshot is None or version != self._version:
                rows = session.scalars(select(Provider).options(selectinload(Provider.contacts))).all()
                self._snapshot = DirectorySnapshot(
                    index=DirectoryIndex.build(to_routing(row) for row in rows if row.contacts),
                    ids_by_code={row.code: row.id for row in rows},
                )
                self._version = version
            return self._snapshot


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = DirectoryCache()


def directory_snapshot(session: Session) -> DirectorySnapshot:
    return current_app.extensions[EXTENSION_KEY].snapshot(session)
