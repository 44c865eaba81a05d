"""Structural checks of a validated flow: references, translations, vocabulary, graph."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Any

from flows.catalogue import TEXT_KEYS, WORD_KEYS, CatalogueData
from flows.errors import FlowProblem, Severity
from flows.expressions import BUILTIN_NAMES
from flows.schema import (
    ActionsNode,
    BranchNode,
    CaseNode,
    Effects,
    EndNode,
    FlowModel,
    HelpListNode,
    InputNode,
    LocationNode,
    MenuNode,
    MessageNode,
    SwitchNode,
)
from flows.source import line_of
from flows.textfold import normalize_answer
from flows.vocabulary import Vocabulary

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_OPTIONS = 97  # 98 is "more" and 0 is "back" on USSD


class Reporter:
    """Collects problems for one file, finding lines in the YAML tree."""

    def __init__(self, path: str, tree: Any):
        self.path = path
        self.tree = tree
        self.problems: list[FlowProblem] = []

    def add(self, loc: tuple[Any, ...], severity: Severity, message: str) -> None:
        """Record a problem at the line of `loc` (a key path in the YAML tree)."""
        self.problems.append(FlowProblem(self.path, line_of(self.tree, loc), severity, message))


def targets(node: Any) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Yield (location suffix, target node id) for every node a node can lead to."""
    if isinstance(node, MenuNode):
        if node.next:
            yield ("next",), node.next
        for i, opt in enumerate(node.options):
            if opt.next:
                yield ("options", i, "next"), opt.next
    elif isinstance(node, BranchNode):
        for i, branch in enumerate(node.branches):
            yield ("branches", i, "next"), branch.next
        yield ("otherwise",), node.otherwise
    elif isinstance(node, MessageNode | InputNode | LocationNode | ActionsNode | CaseNode
                    | HelpListNode):
        yield ("next",), node.next


def flow_references(model: FlowModel) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Yield (location, flow id) for every other flow a switch node or menu option starts."""
    for node_id, node in model.nodes.items():
        if isinstance(node, SwitchNode):
            yield ("nodes", node_id, "flow"), node.flow
        elif isinstance(node, MenuNode):
            for i, opt in enumerate(node.options):
                if opt.flow:
                    yield ("nodes", node_id, "options", i, "flow"), opt.flow


def check_flow_references(model: FlowModel, rep: Reporter, known_flows: Collection[str]) -> None:
    """Report switches to flows that are not among `known_flows` (the flows checked together)."""
    known = sorted(set(known_flows))
    for loc, flow_id in flow_references(model):
        if flow_id not in known_flows:
            rep.add(loc, "error",
                    f"Node '{loc[1]}' starts flow '{flow_id}', which is not a known flow; the "
                    f"known flows are: {', '.join(known) or 'none'}.")


def declared_variables(model: FlowModel) -> set[str]:
    """Return the flow's variables: declared ones plus every node's `save_as`."""
    names = set(model.variables)
    for node in model.nodes.values():
        save_as = getattr(node, "save_as", None)
        if save_as:
            names.add(save_as)
    return names


def check_model(model: FlowModel, rep: Reporter, vocabulary: Vocabulary,
                catalogue: CatalogueData) -> None:
    """Add every structural problem of `model` to `rep` (see the linter's list of checks)."""
    langs = list(model.languages)
    _check_languages(model, rep, catalogue)
    for name in model.variables:
        if not IDENTIFIER.match(name):
            rep.add(("variables", name), "error",
                    f"Variable name '{name}' must be a plain identifier (letters, digits, _).")
        elif name in BUILTIN_NAMES:
            rep.add(("variables", name), "error",
                    f"'{name}' is a built-in name and cannot be declared as a variable.")
    variables = declared_variables(model)
    if model.start not in model.nodes:
        rep.add(("start",), "error", f"The start node '{model.start}' does not exist.")
    for node_id, node in model.nodes.items():
        base = ("nodes", node_id)
        if not IDENTIFIER.match(node_id):
            rep.add(base, "error", f"Node id '{node_id}' must be a plain identifier "
                                   "(letters, digits, _), so templates can read answers.")
        for suffix, target in targets(node):
            if target not in model.nodes:
                rep.add(base + suffix, "error",
                        f"Node '{node_id}' leads to unknown node '{target}'.")
        _check_translations(node, base, langs, rep)
        if isinstance(node, MenuNode):
            _check_menu(node_id, node, base, langs, rep)
        if isinstance(node, Effects):
            _check_effects(node_id, node, base, rep, vocabulary, variables, langs)
        if isinstance(node, MenuNode):
            for i, opt in enumerate(node.options):
                _check_effects(node_id, opt, (*base, "options", i), rep, vocabulary,
                               variables, langs)
        save_as = getattr(node, "save_as", None)
        if save_as and (not IDENTIFIER.match(save_as) or save_as in BUILTIN_NAMES):
            rep.add((*base, "save_as"), "error",
                    f"Node '{node_id}' saves to '{save_as}', which is not a usable variable "
                    "name (a plain identifier that is not a built-in name).")
        if isinstance(node, InputNode):
            _check_validation(node_id, node, base, rep)
        if isinstance(node, HelpListNode):
            _check_help_list(node_id, node, base, model, rep)
    _check_graph(model, rep)


def _check_languages(model: FlowModel, rep: Reporter, catalogue: CatalogueData) -> None:
    langs = model.languages
    if len(set(langs)) != len(langs):
        rep.add(("languages",), "error", "A language is listed twice in 'languages'.")
    if model.default_language not in langs:
        rep.add(("default_language",), "error",
                f"The default language '{model.default_language}' is not in 'languages'.")
    for lang in langs:
        entry = catalogue.get(lang)
        missing = [k for k in TEXT_KEYS if not entry or k not in entry["texts"]]
        missing += [k for k in WORD_KEYS if not entry or k not in entry["words"]]
        if missing:
            rep.add(("languages",), "error",
                    f"Language '{lang}' has no engine texts for: {', '.join(missing)}; add "
                    f"them under 'catalogue: {lang}:' in the flow or in flows/catalogue.yaml.")
    for lang in model.catalogue:
        if lang not in langs:
            rep.add(("catalogue", lang), "warning",
                    f"The catalogue overrides language '{lang}', which the flow does not use.")
    seen: dict[str, str] = {}
    for lang, words in model.keywords.items():
        if lang not in langs:
            rep.add(("keywords", lang), "error",
                    f"Keywords are given for language '{lang}', which is not in 'languages'.")
        for i, word in enumerate(words):
            key = normalize_answer(word)
            if key in seen and seen[key] != lang:
                rep.add(("keywords", lang, i), "warning",
                        f"The keyword '{word}' is also a keyword for '{seen[key]}'; the "
                        "first language listed wins.")
            seen.setdefault(key, lang)
    if isinstance(model.review, dict):
        for lang in model.review:
            if lang not in langs:
                rep.add(("review", lang), "warning",
                        f"The review note names language '{lang}', which the flow does not use.")


def _translated_fields(node: Any) -> Iterator[tuple[tuple[Any, ...], Any]]:
    for name in ("text", "hint", "region_text", "cercle_text", "choose_text", "not_found_text"):
        value = getattr(node, name, None)
        if value is not None:
            yield (name,), value
    if isinstance(node, MenuNode):
        for i, opt in enumerate(node.options):
            yield ("options", i, "label"), opt.label
    if isinstance(node, HelpListNode):
        yield ("item",), node.item
        yield ("empty_text",), node.empty_text
        for kind, label in node.kind_labels.items():
            yield ("kind_labels", kind), label


def _check_translations(node: Any, base: tuple[Any, ...], langs: list[str],
                        rep: Reporter) -> None:
    for suffix, value in _translated_fields(node):
        if isinstance(value, str):
            continue  # one text for every language (a name, a number) is deliberate
        for lang in langs:
            if not str(value.get(lang) or "").strip():
                rep.add(base + suffix, "error",
                        f"Missing '{lang}' translation of '{suffix[-1]}' in node '{base[1]}'.")
        for lang in value:
            if lang not in langs:
                rep.add(base + suffix + (lang,), "warning",
                        f"Text in language '{lang}', which is not in 'languages', in node "
                        f"'{base[1]}'.")


def _check_menu(node_id: str, node: MenuNode, base: tuple[Any, ...], langs: list[str],
                rep: Reporter) -> None:
    if len(node.options) > MAX_OPTIONS:
        rep.add((*base, "options"), "error",
                f"Menu '{node_id}' has {len(node.options)} options; at most {MAX_OPTIONS} fit "
                "the numbering (98 is 'more', 0 is 'back').")
    for i, opt in enumerate(node.options):
        if opt.flow and opt.next:
            rep.add((*base, "options", i, "flow"), "error",
                    f"Option {i + 1} of menu '{node_id}' has both 'flow' and 'next'; an option "
                    "either starts another flow or goes on in this one.")
        elif opt.flow and node.multiple:
            rep.add((*base, "options", i, "flow"), "error",
                    f"Menu '{node_id}' allows several answers, so its options cannot start "
                    "another flow.")
        elif not (opt.next or opt.flow or node.next):
            rep.add((*base, "options", i), "error",
                    f"Option {i + 1} of menu '{node_id}' has no 'next' (or 'flow') and the menu "
                    "has none.")
        if node.multiple and opt.next and opt.next != node.next:
            rep.add((*base, "options", i, "next"), "error",
                    f"Menu '{node_id}' allows several answers, so its options cannot lead to "
                    "different nodes; give the menu one 'next'.")
        for lang in opt.words:
            if lang not in langs:
                rep.add((*base, "options", i, "words", lang), "warning",
                        f"Words in language '{lang}', which is not in 'languages', in menu "
                        f"'{node_id}'.")
    values: dict[Any, int] = {}
    for i, opt in enumerate(node.options):
        if opt.value is not None:
            if opt.value in values:
                rep.add((*base, "options", i, "value"), "error",
                        f"Menu '{node_id}' has duplicate option value {opt.value!r} "
                        f"(options {values[opt.value] + 1} and {i + 1}).")
            values.setdefault(opt.value, i)
    for lang in langs:
        owners: dict[str, int] = {}
        for i, opt in enumerate(node.options):
            label = opt.label if isinstance(opt.label, str) else opt.label.get(lang, "")
            words = [label, *opt.words.get(lang, [])]
            for j, word in enumerate(words):
                key = normalize_answer(word)
                if not key:
                    continue
                if key.isdigit():
                    loc = (*base, "options", i, "words", lang, j - 1) if j else (*base, "options", i, "label")
                    rep.add(loc, "error", f"Menu '{node_id}' option {i + 1} accepts the word "
                                          f"'{word}', which is a number and would clash with "
                                          "the option numbers.")
                elif key in owners and owners[key] != i:
                    what = "label" if j == 0 else "word"
                    loc = (*base, "options", i, "label") if j == 0 else (*base, "options", i, "words", lang)
                    rep.add(loc, "error",
                            f"Duplicate option {what} '{word}' ({lang}) in menu '{node_id}': "
                            f"options {owners[key] + 1} and {i + 1}.")
                owners.setdefault(key, i)


def _check_effects(node_id: str, eff: Effects, base: tuple[Any, ...], rep: Reporter,
                   vocabulary: Vocabulary, variables: set[str], langs: list[str]) -> None:
    for i, ind in enumerate(eff.indicators):
        if ind not in vocabulary.indicators:
            rep.add((*base, "indicators", i), "error",
                    f"Unknown indicator '{ind}' in node '{node_id}' (vocabulary version "
                    f"{vocabulary.version}).")
    for i, need in enumerate(eff.needs):
        if need not in vocabulary.needs:
            rep.add((*base, "needs", i), "error",
                    f"Unknown need '{need}' in node '{node_id}'; the needs are: "
                    f"{', '.join(vocabulary.needs)}.")
    for field, names in (("set", eff.set_), ("compute", eff.compute)):
        for name in names:
            if name not in variables:
                rep.add((*base, field, name), "error",
                        f"Node '{node_id}' sets '{name}', which is not declared under "
                        "'variables'.")
    if eff.language is not None and eff.language not in langs:
        rep.add((*base, "language"), "error",
                f"Node '{node_id}' switches to language '{eff.language}', which is not in "
                "'languages'.")


def _check_validation(node_id: str, node: InputNode, base: tuple[Any, ...],
                      rep: Reporter) -> None:
    rule = node.validate_
    loc = (*base, "validate")
    if rule.type == "pattern":
        if not rule.pattern:
            rep.add(loc, "error", f"Input '{node_id}' checks a pattern but gives no 'pattern'.")
        else:
            try:
                re.compile(rule.pattern)
            except re.error as exc:
                rep.add((*loc, "pattern"), "error",
                        f"The pattern of input '{node_id}' is not a valid regular expression: "
                        f"{exc}.")
    if rule.min is not None and rule.max is not None and rule.min > rule.max:
        rep.add(loc, "error", f"Input '{node_id}' has min {rule.min} above max {rule.max}.")


def _check_help_list(node_id: str, node: HelpListNode, base: tuple[Any, ...],
                     model: FlowModel, rep: Reporter) -> None:
    place_vars = {n.save_as for n in model.nodes.values() if isinstance(n, LocationNode)}
    if node.place not in place_vars:
        rep.add((*base, "place"), "error",
                f"Help list '{node_id}' reads the place from '{node.place}', but no location "
                f"node saves a place there (location nodes save to: "
                f"{', '.join(sorted(place_vars)) or 'none'}).")
    for i, kind in enumerate(node.kinds or []):
        if kind == "shelter":
            rep.add((*base, "kinds", i), "warning",
                    f"Help list '{node_id}' lists shelters: their location is kept private to "
                    "protect the people they hide.")
        if kind not in node.kind_labels:
            rep.add((*base, "kinds", i), "warning",
                    f"Help list '{node_id}' lists kind '{kind}' without a label under "
                    "'kind_labels'; callers would see the bare kind.")


def _check_graph(model: FlowModel, rep: Reporter) -> None:
    edges = {nid: [t for _, t in targets(node) if t in model.nodes]
             for nid, node in model.nodes.items()}
    reachable: set[str] = set()
    todo = [model.start] if model.start in model.nodes else []
    while todo:
        nid = todo.pop()
        if nid not in reachable:
            reachable.add(nid)
            todo.extend(edges[nid])
    for nid in model.nodes:
        if nid not in reachable:
            rep.add(("nodes", nid), "warning",
                    f"Node '{nid}' cannot be reached from the start node '{model.start}'.")
    reverse: dict[str, list[str]] = {nid: [] for nid in model.nodes}
    for nid, outs in edges.items():
        for t in outs:
            reverse[t].append(nid)
    # A session ends at an end node or goes on in another flow (a switch).
    finishing = {nid for nid, node in model.nodes.items()
                 if isinstance(node, EndNode | SwitchNode) or (
                     isinstance(node, MenuNode) and any(opt.flow for opt in node.options))}
    todo = list(finishing)
    while todo:
        nid = todo.pop()
        for prev in reverse[nid]:
            if prev not in finishing:
                finishing.add(prev)
                todo.append(prev)
    for nid in model.nodes:
        if nid not in finishing:
            rep.add(("nodes", nid), "error",
                    f"From node '{nid}' there is no way to reach an end node; callers would "
                    "be stuck.")
