"""Exceptions raised by the routing core."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class RoutingError(Exception):
    """Base class of every error the routing core raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a data file, located by file and line (line 0 when unknown)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class RulesError(RoutingError):
    """The routing rules file is invalid; `problems` lists every problem with its line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DirectoryValueError(RoutingError, ValueError):
    """A value of a provider file, or the file itself, is wrong.

    The message says it in English (command line, logs); `code` and `params` say the same as data,
    so that the operator console can word it in its reader's language.
    """

    def __init__(self, code: str, message: str, **params: Any):
        super().__init__(message)
        self.code = code
        self.params = params


class GazetteerError(RoutingError):
    """The gazetteer data file is invalid or a place code is unknown."""


class CatalogueError(RoutingError):
    """A message key or language is missing from the text catalogue."""
