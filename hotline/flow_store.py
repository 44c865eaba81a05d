"""Published flow versions: the shipped YAML files are published once, each version compiled once."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

import flows
from flows.flow import Flow
from flows.loader import load_flow_text
from hotline.models import FlowVersion

SHIPPED_FLOWS_DIR = Path(flows.__file__).parent / "shipped"
EXTENSION_KEY = "hotline.flow_store"


# Run on every new session, so built once; only the id, as the compiled flow is cached per version.
_VERSIONS = FlowVersion.__table__
_LATEST_VERSION_ID = (select(_VERSIONS.c.id).where(_VERSIONS.c.flow_id == bindparam("flow_id"))
                      .order_by(_VERSIONS.c.number.desc()).limit(1))


@dataclass(frozen=True)
class PublishedFlow:
    version_id: int
    flow: Flow


def shipped_flow_files() -> list[Path]:
    return sorted(p for p in SHIPPED_FLOWS_DIR.glob("*.yaml") if not p.name.endswith(".test.yaml"))


def checksum(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


class FlowStore:
    """Compiles each flow version once per process and finds the newest version of a flow."""

    def __init__(self):
        self._compiled: dict[int, Flow] = {}
        self._lock = threading.Lock()

    def flow_for_version(self, session: Session, version_id: int) -> Flow:
        """The compiled flow of version ``version_id`` (running sessions stay on theirs)."""
        flow = self._compiled.get(version_id)
        if flow is None:
            row = session.get(FlowVersion, version_id)
            if row is None:
                raise LookupError(f"no flow version {version_id}")
            flow = load_flow_text(row.source, f"{row.flow_id} version {row.number}")
            with self._lock:
                self._compiled[version_id] = flow
        return flow

    def latest(self, session: Session, flow_id: str) -> PublishedFlow:
        """The newest published version of ``flow_id``; publishes the shipped files on first use."""
        version_id = self._latest_id(session, flow_id)
        if version_id is None:
            publish_shipped_flows(session)
            version_id = self._latest_id(session, flow_id)
        if version_id is None:
            raise LookupError(f"no flow {flow_id!r} is published")
        return PublishedFlow(version_id, self.flow_for_version(session, version_id))

    @staticmethod
    def _latest_id(session: Session, flow_id: str) -> int | None:
        return session.connection().execute(_LATEST_VERSION_ID, {"flow_id": flow_id}).scalar()

    def all_latest(self, session: Session) -> list[PublishedFlow]:
        newest = select(FlowVersion.flow_id, func.max(FlowVersion.number).label("number")).group_by(
            FlowVersion.flow_id).subquery()
        rows = session.scalars(select(FlowVersion).join(
            newest, (FlowVersion.flow_id == newest.c.flow_id) & (FlowVersion.number == newest.c.number))).all()
        return [PublishedFlow(row.id, self.flow_for_version(session, row.id)) for row in rows]

    @staticmethod
    def _latest_row(session: Session, flow_id: str) -> FlowVersion | None:
        return session.scalar(select(FlowVersion).where(FlowVersion.flow_id == flow_id)
                              .order_by(FlowVersion.number.desc()).limit(1))


def publish_flow_source(session: Session, source: str, *, published_by_id: int | None = None,
                        path: str = "<flow>") -> FlowVersion:
    """Publish ``source`` as the next version of its flow; raises FlowError when it does not load."""
    flow = load_flow_text(source, path)
    number = (session.scalar(select(func.max(FlowVersion.number)).where(FlowVersion.flow_id == flow.id)) or 0) + 1
    row = FlowVersion(flow_id=flow.id, number=number, label=str(flow.version), source=source,
                      checksum=checksum(source), published_by_id=published_by_id)
    session.add(row)
    session.flush()
    return row


def publish_shipped_flows(session: Session) -> list[FlowVersion]:
    """Publish each shipped flow file whose text is new, unless an operator has published since.

    An operator's version (one with a publisher) is never replaced by a deploy.
    """
    published = []
    for path in shipped_flow_files():
        source = path.read_text(encoding="utf-8")
        flow = load_flow_text(source, str(path))
        latest = FlowStore._latest_row(session, flow.id)
        if latest is not None and (latest.checksum == checksum(source) or latest.published_by_id is not None):
            continue
        published.append(publish_flow_source(session, source, path=str(path)))
    session.commit()
    return published


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = FlowStore()


def flow_store() -> FlowStore:
    return current_app.extensions[EXTENSION_KEY]
