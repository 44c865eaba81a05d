"""What one engine step returns: the text for the channel, continuation and events."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    """Things the caller of the engine must act on."""

    LANGUAGE_SET = "language_set"  # data: {language}
    CASE_READY = "case_ready"  # data: the case payload (see docs/flows.md)
    STOPPED = "stopped"  # data: {node}; the session was ended and forgotten
    FAILED_SAFE = "failed_safe"  # data: {reason, node[, error]}; safe closing text shown
    FLOW_SWITCH = "flow_switch"  # data: {flow, language, node}; start that flow next


@dataclass(frozen=True, slots=True)
class Event:
    """One event: its kind and a JSON-ready data mapping."""

    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return {"kind": ..., "data": ...} for JSON."""
        return {"kind": str(self.kind), "data": self.data}


@dataclass(frozen=True, slots=True)
class Output:
    """The reply to show and what happened.

    `text` is rendered for `channel` (USSD: GSM-safe, at most 182 characters); `continues`
    False means the session is over (USSD "END"). For SMS, `encoding` ("GSM-7"/"UCS-2")
    and `segments` are set; `length` is characters on USSD and encoding units on SMS.
    `node` is the node now waiting for a reply (None once over), `page`/`pages` its menu
    page, and `visited` the nodes entered during this step (for transcript coverage).
    """

    text: str
    continues: bool
    channel: str
    events: tuple[Event, ...] = ()
    node: str | None = None
    page: int = 0
    pages: int = 1
    encoding: str | None = None
    segments: int | None = None
    length: int = 0
    visited: tuple[str, ...] = ()

    def event(self, kind: EventKind) -> Event | None:
        """Return the first event of `kind`, or None."""
        for event in self.events:
            if event.kind == kind:
                return event
        return None

    def to_dict(self) -> dict[str, Any]:
        """Return the output as a JSON-ready dict."""
        return {
            "text": self.text, "continues": self.continues, "channel": self.channel,
            "events": [e.to_dict() for e in self.events], "node": self.node,
            "page": self.page, "pages": self.pages, "encoding": self.encoding,
            "segments": self.segments, "length": self.length, "visited": list(self.visited),
        }
