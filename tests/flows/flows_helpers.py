"""Helpers to drive the flow engine in tests (imported by the tests/flows modules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows import Flow, Output, start, step

SHIPPED = Path(__file__).resolve().parents[2] / "flows" / "shipped"


def drive(flow: Flow, channel: str, replies: list[str], *, case_ref: str = "REF00001",
          lang: str | None = None, **kwargs: Any) -> tuple[dict[str, Any], list[Output]]:
    """Start a session and send each reply; return the last state and every output."""
    state, out = start(flow, channel, case_ref=case_ref, lang=lang, **kwargs)
    outputs = [out]
    for reply in replies:
        state, out = step(flow, state, reply, **kwargs)
        outputs.append(out)
    return state, outputs


# French screening replies up to (and answering) the first questions.
TO_DANGER = ["1", "ok", "1"]
FULL_USSD = ["1", "ok", "1", "2", "2", "1", "3", "1", "1", "1", "2", "2", "1", "1", "4",
             "1 2", "1", "2"]
FULL_SMS = ["1", "ok", "1", "2", "2", "1", "3", "1", "1", "1", "2", "2", "1", "Lafiabougou",
            "1 2", "1", "2"]
