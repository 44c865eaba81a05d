"""YAML reading for the rules and provider files that refuses bombs and deep nesting up front.

PyYAML's safe loader shares aliased values, so a few lines of `&a [*a, *a, ...]` expand to
billions of items once anything walks them (validation, an error message), and its composer
is recursive, so ten thousand nested brackets end in RecursionError. The text is scanned
first with the event parser (not recursive), and such files are refused with their line.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 40

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UnsafeYamlError(yaml.MarkedYAMLError):
    """A YAML text refused before loading; `problem_mark` says where (0-based line)."""


def load_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """Return (data, node tree) of one YAML text, as `yaml.safe_load` and `yaml.compose` do.

    Raises yaml.YAMLError: UnsafeYamlError for an alias (*name) or nesting deeper than
    MAX_DEPTH, and PyYAML's own errors for text that is not YAML.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_Parser):
        if isinstance(event, yaml.AliasEvent):
            raise UnsafeYamlError(problem="aliases (*name) are not allowed; write the value out in full",
                                  problem_mark=event.start_mark)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise UnsafeYamlError(problem=f"the file is nested more than {MAX_DEPTH} levels deep",
                                      problem_mark=event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
