"""Problems found in flow files and the exceptions that carry them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class FlowProblem:
    """One problem in a flow file, pointing at a line an operator can open."""

    path: str
    line: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """Return the problem as a JSON-ready dict (the console's form)."""
        return asdict(self)


class FlowError(ValueError):
    """A flow (or a vocabulary, catalogue or place file) could not be loaded.

    `problems` lists every problem found, errors and warnings, in file order.
    """

    def __init__(self, problems: list[FlowProblem]):
        self.problems = sorted(problems)
        errors = [p for p in self.problems if p.severity == "error"] or self.problems
        summary = "; ".join(str(p) for p in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(summary + more)


class FlowMismatch(ValueError):
    """A session state was handed a flow other than the one (and version) it started on."""


def has_errors(problems: list[FlowProblem]) -> bool:
    """Return True when any problem in `problems` is an error (not just a warning)."""
    return any(p.severity == "error" for p in problems)


def problems_to_json(problems: list[FlowProblem]) -> list[dict[str, object]]:
    """Return problems as a list of dicts (path, line, severity, message) for the console."""
    return [p.to_dict() for p in sorted(problems)]
