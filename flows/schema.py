"""The YAML flow format as pydantic models, and plain-sentence schema errors with lines."""

from __future__ import annotations

import difflib
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flows.errors import FlowProblem
from flows.source import LineDict, line_of

Translated = str | dict[str, str]
Scalar = str | int | float | bool | None

NODE_KINDS = ("message", "menu", "input", "location", "branch", "actions", "case", "end",
              "switch", "help_list")
FLOW_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
INPUT_TYPES = ("number", "age", "yes_no", "pattern", "text")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Effects(_Strict):
    """What an answered option or an actions node records."""

    set_: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict, alias="set")
    compute: dict[str, str] = Field(default_factory=dict)
    indicators: list[str] = Field(default_factory=list)
    score: int = 0
    needs: list[str] = Field(default_factory=list)
    language: str | None = None


class Option(Effects):
    """A numbered menu option: its label per language, extra accepted words, where it leads."""

    value: Scalar = None
    label: Translated
    words: dict[str, list[str]] = Field(default_factory=dict)
    next: str | None = None
    flow: str | None = Field(default=None, pattern=FLOW_ID_PATTERN, max_length=64)


class _NodeBase(_Strict):
    note: str | None = None
    hint: Translated | None = None


class MessageNode(_NodeBase):
    """Shows a text; any reply continues to `next`."""

    kind: Literal["message"]
    text: Translated
    next: str


class MenuNode(_NodeBase):
    """Numbered options; with `multiple`, several numbers may be given at once."""

    kind: Literal["menu"]
    text: Translated
    options: list[Option] = Field(min_length=1)
    multiple: bool = False
    save_as: str | None = None
    next: str | None = None


class Validation(_Strict):
    """How a free-text answer is checked."""

    type: Literal["number", "age", "yes_no", "pattern", "text"] = "text"
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    max_length: int = Field(default=160, ge=1, le=1000)


class InputNode(_NodeBase):
    """Free text answer, validated and saved."""

    kind: Literal["input"]
    text: Translated
    validate_: Validation = Field(default_factory=Validation, alias="validate")
    save_as: str | None = None
    next: str


class AskModes(_Strict):
    """Whether a channel asks for a place by menus (region, cercle) or by free text."""

    ussd: Literal["menu", "text"] = "menu"
    sms: Literal["menu", "text"] = "text"


class LocationNode(_NodeBase):
    """Asks where: menus region -> cercle, or free text matched in the place directory."""

    kind: Literal["location"]
    text: Translated | None = None
    region_text: Translated | None = None
    cercle_text: Translated | None = None
    choose_text: Translated | None = None
    not_found_text: Translated | None = None
    ask: AskModes = Field(default_factory=AskModes)
    allow_unknown: bool = True
    save_as: str = "place"
    next: str


class Branch(_Strict):
    """One condition and the node it leads to."""

    when: str
    next: str


class BranchNode(_NodeBase):
    """Goes to the first branch whose condition holds, else `otherwise`."""

    kind: Literal["branch"]
    branches: list[Branch] = Field(min_length=1)
    otherwise: str


class ActionsNode(Effects):
    """Records effects (variables, indicators, score, needs) and moves on."""

    kind: Literal["actions"]
    note: str | None = None
    next: str


class CaseNode(_NodeBase):
    """Ends the screening: the case is handed on (CASE_READY) and the flow goes to `next`."""

    kind: Literal["case"]
    reporter: Literal["victim", "witness", "job_offer", "other"] = "victim"
    next: str


class EndNode(_NodeBase):
    """Closing text; the session ends."""

    kind: Literal["end"]
    text: Translated


class SwitchNode(_NodeBase):
    """Hands the session over to another flow (FLOW_SWITCH); this flow's part ends here."""

    kind: Literal["switch"]
    flow: str = Field(pattern=FLOW_ID_PATTERN, max_length=64)


class HelpListNode(_NodeBase):
    """Lists the help points nearest to a place chosen earlier; any reply goes to `next`."""

    kind: Literal["help_list"]
    text: Translated
    item: Translated
    empty_text: Translated
    place: str = "place"
    kinds: list[str] | None = None
    kind_labels: dict[str, Translated] = Field(default_factory=dict)
    limit: int = Field(default=3, ge=1, le=10)
    next: str


Node = Annotated[MessageNode | MenuNode | InputNode | LocationNode | BranchNode | ActionsNode
                 | CaseNode | EndNode | SwitchNode | HelpListNode, Field(discriminator="kind")]


class Settings(_Strict):
    """Per-flow settings: hotline number, SMS budget, expiry and resume windows."""

    hotline_number: str = "8000"
    sms_segment_budget: int = Field(default=3, ge=1, le=10)
    sms_expiry_minutes: int = Field(default=1440, ge=1)
    sms_after_expiry: Literal["restart", "offer_resume"] = "offer_resume"
    sms_resume_max_minutes: int = Field(default=10080, ge=1)
    ussd_resume_minutes: int = Field(default=10, ge=0)
    ussd_max_chars: int = Field(default=182, ge=60, le=182)
    ussd_show_back: bool = True
    sms_fold_to_gsm: bool = False
    case_ref_length: int = Field(default=8, ge=1, le=40)


class CatalogueOverride(_Strict):
    """A flow's own engine texts/words for one language (see flows/catalogue.yaml)."""

    texts: dict[str, str] = Field(default_factory=dict)
    words: dict[str, list[str]] = Field(default_factory=dict)


class FlowModel(_Strict):
    """One flow file."""

    id: str = Field(pattern=FLOW_ID_PATTERN, max_length=64)
    version: str
    title: Translated | None = None
    review: str | dict[str, str] | None = None
    languages: list[str] = Field(min_length=1)
    default_language: str
    start: str
    keywords: dict[str, list[str]] = Field(default_factory=dict)
    settings: Settings = Field(default_factory=Settings)
    variables: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)
    catalogue: dict[str, CatalogueOverride] = Field(default_factory=dict)
    nodes: dict[str, Node] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # `version: 2` or `version: 2025-01-31` are natural to write; keep them as labels.
        if isinstance(value, int | float | date) and not isinstance(value, bool):
            return str(value)
        return value


_ALL_FIELDS = sorted({
    (field.alias or name)
    for model in (Effects, Option, MessageNode, MenuNode, Validation, InputNode, AskModes,
                  LocationNode, Branch, BranchNode, ActionsNode, CaseNode, EndNode, SwitchNode,
                  HelpListNode, Settings,
                  CatalogueOverride, FlowModel)
    for name, field in model.model_fields.items()
})


def validate_flow_tree(tree: Any, path: str) -> tuple[FlowModel | None, list[FlowProblem]]:
    """Validate a YAML tree against the flow format.

    Returns (model or None, problems); each problem is a plain sentence with the line of the
    offending key. Never raises for bad input.
    """
    if not isinstance(tree, dict):
        return None, [FlowProblem(path, getattr(tree, "line", 1) or 1, "error",
                                  "A flow file must be a mapping with id, version, languages, "
                                  "start and nodes.")]
    problems = _check_kinds(tree, path)
    try:
        model = FlowModel.model_validate(tree)
    except ValidationError as exc:
        seen = {(p.line, p.message) for p in problems}
        for err in exc.errors():
            if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
                continue  # reported by _check_kinds in plainer words
            problem = FlowProblem(path, line_of(tree, tuple(err["loc"])), "error",
                                  _sentence(err))
            if (problem.line, problem.message) not in seen:
                seen.add((problem.line, problem.message))
                problems.append(problem)
        return None, problems
    return model, problems


def _check_kinds(tree: dict, path: str) -> list[FlowProblem]:
    problems = []
    nodes = tree.get("nodes")
    if not isinstance(nodes, dict):
        return problems
    for node_id, node in nodes.items():
        line = line_of(tree, ("nodes", node_id))
        if not isinstance(node, dict):
            problems.append(FlowProblem(path, line, "error",
                                        f"Node '{node_id}' must be a mapping with a 'kind'."))
        elif "kind" not in node:
            problems.append(FlowProblem(path, line, "error",
                                        f"Node '{node_id}' has no 'kind'; use one of: "
                                        f"{', '.join(NODE_KINDS)}."))
        elif node["kind"] not in NODE_KINDS:
            kind_line = node.key_lines.get("kind", line) if isinstance(node, LineDict) else line
            guess = difflib.get_close_matches(str(node["kind"]), NODE_KINDS, n=1)
            hint = f" Did you mean '{guess[0]}'?" if guess else ""
            problems.append(FlowProblem(path, kind_line, "error",
                                        f"Node '{node_id}' has an unknown kind "
                                        f"'{node['kind']}'; the kinds are: "
                                        f"{', '.join(NODE_KINDS)}.{hint}"))
    return problems


def describe_location(loc: tuple[Any, ...]) -> str:
    """Return words for a schema location, e.g. "node 'danger', option 2, field 'next'"."""
    parts: list[str] = []
    items = list(loc)
    i = 0
    while i < len(items):
        step = items[i]
        if step == "nodes" and i + 1 < len(items):
            parts.append(f"node '{items[i + 1]}'")
            i += 2
            if i < len(items) and items[i] in NODE_KINDS:
                i += 1  # the union tag pydantic inserts
            continue
        if step in ("options", "branches") and i + 1 < len(items) and isinstance(items[i + 1],
                                                                                 int):
            parts.append(f"{step[:-1] if step == 'options' else 'branch'} {items[i + 1] + 1}")
            i += 2
            continue
        if isinstance(step, int):
            parts.append(f"item {step + 1}")
        elif step not in ("function-after", "function-before", "str", "dict[str,str]",
                          "list[str]"):
            parts.append(f"'{step}'")
        i += 1
    return ", ".join(parts) if parts else "the top level"


def _sentence(err: dict[str, Any]) -> str:
    loc = tuple(err["loc"])
    kind = err["type"]
    where = describe_location(loc[:-1]) if loc else "the top level"
    key = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        guess = difflib.get_close_matches(str(key), _ALL_FIELDS, n=1)
        hint = f" Did you mean '{guess[0]}'?" if guess else ""
        return f"'{key}' is not a known field in {where}.{hint}"
    if kind == "missing":
        return f"'{key}' is required in {where}."
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"'{key}' in {where} must be one of {expected} (got {err.get('input')!r})."
    if kind == "too_short":
        return f"'{key}' in {where} must not be empty."
    if kind == "string_pattern_mismatch":
        return (f"'{key}' in {where} must use only lower-case letters, digits, '-' and '_' "
                f"(got {err.get('input')!r}).")
    full = describe_location(loc)
    return f"{full}: {err['msg']}."
