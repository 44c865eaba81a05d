"""Safe YAML reading that remembers the line of every key and item.

Flow files are edited by hand, so schema errors must point at a line. The text is parsed
with libyaml's event stream (fast, not recursive) and the tree is built here, which lets us
refuse aliases (YAML bombs), explicit tags, duplicate keys, oversized texts and deep nesting
with a plain sentence instead of a hang or a crash.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from flows.errors import FlowError, FlowProblem

MAX_TEXT_CHARS = 512_000
MAX_DEPTH = 40
MAX_NODES = 200_000

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"


class LineDict(dict):
    """A mapping read from YAML: `line` of the mapping and `key_lines[key]` of each key."""

    __slots__ = ("key_lines", "line")

    def __init__(self, line: int = 0):
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}


class LineList(list):
    """A sequence read from YAML: `line` of the sequence and `item_lines[i]` of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int = 0):
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


class _Resolver(yaml.resolver.Resolver):
    """PyYAML's resolver with YAML 1.2 booleans.

    Operators write answer words such as `yes`, `no`, `on` and `off`; YAML 1.1 would
    silently turn them into booleans, so only true/false are booleans here.
    """


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))
_ALLOWED_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null")}


class _ScalarMaker(yaml.constructor.SafeConstructor, _Resolver):
    """Resolves and constructs plain scalars like PyYAML's safe loader (YAML 1.2 booleans)."""

    def __init__(self) -> None:
        yaml.constructor.SafeConstructor.__init__(self)
        _Resolver.__init__(self)

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        if event.tag in _ALLOWED_TAGS:
            tag = event.tag
        elif not event.implicit[0]:
            # Quoted (or block) scalars are always strings: no implicit typing.
            return event.value
        else:
            tag = self.resolve(yaml.ScalarNode, event.value, event.implicit)
        constructor = self.yaml_constructors.get(tag)
        if tag == _STR_TAG or constructor is None:
            # Words with no safe constructor (`<<` merge keys, `=`) are plain text here.
            return event.value
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        return constructor(self, node)


_SCALARS = _ScalarMaker()


def read_yaml(text: str, path: str, *, max_chars: int = MAX_TEXT_CHARS) -> Any:
    """Parse one YAML document into plain dicts/lists that remember their lines.

    Takes the YAML `text` and the `path` to name in problems. Returns LineDict / LineList /
    scalars (None for an empty document). Raises FlowError with a FlowProblem (1-based line)
    for syntax errors, aliases, explicit tags, duplicate keys, non-scalar keys, a text longer
    than `max_chars`, nesting deeper than MAX_DEPTH or more than MAX_NODES values.
    """
    if len(text) > max_chars:
        raise FlowError([FlowProblem(path, 1, "error",
                                     f"The file is too large ({len(text)} characters; the "
                                     f"limit is {max_chars}).")])
    try:
        return _build(text, path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or exc.context or "the YAML is not valid"
        raise FlowError([FlowProblem(path, line, "error",
                                     f"This is not valid YAML: {reason}.")]) from None
    except yaml.YAMLError as exc:
        raise FlowError([FlowProblem(path, 1, "error",
                                     f"This is not valid YAML: {exc}.")]) from None


def _fail(path: str, event: yaml.Event, message: str) -> FlowError:
    return FlowError([FlowProblem(path, event.start_mark.line + 1, "error", message)])


def _build(text: str, path: str) -> Any:
    # Each stack frame: [container, pending_key, pending_key_line] for mappings,
    # [container] for sequences.
    stack: list[list[Any]] = []
    root: Any = None
    documents = 0
    count = 0
    for event in yaml.parse(text, Loader=_Parser):
        etype = type(event)
        if etype is yaml.AliasEvent:
            raise _fail(path, event, "Aliases (*name) are not allowed in flow files; "
                                     "write the value out in full.")
        if etype is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _fail(path, event, "Only one YAML document is allowed per file.")
            continue
        if etype in (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent):
            continue
        line = event.start_mark.line + 1
        if etype in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
            frame = stack.pop()
            value = frame[0]
        else:
            count += 1
            if count > MAX_NODES:
                raise _fail(path, event, f"The file has more than {MAX_NODES} values.")
            tag = getattr(event, "tag", None)
            if tag not in (None, "!") and not (etype is yaml.ScalarEvent
                                                and tag in _ALLOWED_TAGS):
                raise _fail(path, event, f"Tags such as {tag} are not allowed in flow files.")
            if etype is yaml.ScalarEvent:
                value = _SCALARS.scalar(event)
            else:
                if len(stack) >= MAX_DEPTH:
                    raise _fail(path, event, f"The file is nested more than {MAX_DEPTH} "
                                             "levels deep.")
                container = LineDict(line) if etype is yaml.MappingStartEvent else LineList(line)
                stack.append([container, _NO_KEY, 0] if etype is yaml.MappingStartEvent
                             else [container])
                continue
        if not stack:
            root = value
            continue
        parent = stack[-1]
        holder = parent[0]
        if isinstance(holder, LineList):
            holder.append(value)
            holder.item_lines.append(line if etype is yaml.ScalarEvent else value.line)
        elif parent[1] is _NO_KEY:
            if etype is not yaml.ScalarEvent:
                raise _fail(path, event, "A key must be a plain word or text, not a list "
                                         "or a mapping.")
            if value in holder:
                raise _fail(path, event, f"The key '{value}' appears twice in the same "
                                         f"mapping (first at line {holder.key_lines[value]}).")
            parent[1] = value
            parent[2] = line
        else:
            holder[parent[1]] = value
            holder.key_lines[parent[1]] = parent[2]
            parent[1] = _NO_KEY
    return root


class _NoKey:
    __slots__ = ()


_NO_KEY = _NoKey()


def line_of(tree: Any, loc: tuple[Any, ...], default: int = 1) -> int:
    """Return the best line for a location path (such as a pydantic error `loc`) in `tree`.

    Steps that do not exist in the tree (for example the union tag pydantic inserts) are
    skipped, so the deepest key that does exist gives the line.
    """
    line = getattr(tree, "line", default) or default
    node = tree
    for step in loc:
        if isinstance(node, LineDict) and step in node:
            line = node.key_lines.get(step, line)
            node = node[step]
        elif isinstance(node, LineList) and isinstance(step, int) and 0 <= step < len(node):
            line = node.item_lines[step]
            node = node[step]
    return line
