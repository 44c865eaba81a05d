"""The compiled, reusable form of a flow: texts, conditions and matchers built once per load."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
from typing import Any

from jinja2 import TemplateSyntaxError

from flows.answers import OptionMatcher
from flows.catalogue import CatalogueData
from flows.checks import Reporter, declared_variables
from flows.expressions import (
    BUILTIN_NAMES,
    analyse_condition,
    analyse_template,
    compile_template,
    is_template,
)
from flows.schema import (
    ActionsNode,
    BranchNode,
    CaseNode,
    Effects,
    FlowModel,
    HelpListNode,
    InputNode,
    LocationNode,
    MenuNode,
    MessageNode,
    Settings,
    SwitchNode,
    Translated,
)
from flows.source import line_of
from flows.textfold import normalize_answer
from flows.vocabulary import Vocabulary

# Nodes that show a screen and wait for a reply; the others run on their own.
ASKING_KINDS = frozenset({"message", "menu", "input", "location", "help_list"})
AUTO_KINDS = frozenset({"branch", "actions", "case", "switch"})
# Names an help_list item template may use besides the flow's own (see docs/flows.md).
HELP_ITEM_NAMES = frozenset({"name", "kind", "kind_label", "town", "phone", "distance_km",
                             "number"})


class Text:
    """A translated text: plain strings per language, templates compiled once where needed."""

    __slots__ = ("raw", "templates")

    def __init__(self, raw: dict[str, str]):
        self.raw = raw
        self.templates: dict[str, Any] = {}

    def is_static(self, lang: str) -> bool:
        """Return True when the text for `lang` needs no rendering."""
        return lang not in self.templates

    def render(self, lang: str, context: Callable[[], dict[str, Any]]) -> str:
        """Return the text in `lang`, rendering its template with `context()` if it has one.

        Raises jinja2 errors (for example an undefined variable) from the template.
        """
        template = self.templates.get(lang)
        if template is None:
            return self.raw[lang]
        return template.render(context()).strip()


class CompiledEffects:
    """Effects ready to apply: literal sets, compiled computes, indicators, score, needs."""

    __slots__ = ("computes", "indicators", "language", "needs", "score", "sets")

    def __init__(self, sets: tuple[tuple[str, Any], ...],
                 computes: tuple[tuple[str, Callable[..., Any]], ...],
                 indicators: tuple[str, ...], score: int, needs: tuple[str, ...],
                 language: str | None):
        self.sets = sets
        self.computes = computes
        self.indicators = indicators
        self.score = score
        self.needs = needs
        self.language = language


class CompiledOption:
    """A menu option: number, stored value, labels per language, target and effects."""

    __slots__ = ("effects", "flow", "label", "next", "number", "value")

    def __init__(self, number: int, value: Any, label: dict[str, str], next_id: str | None,
                 effects: CompiledEffects | None, flow: str | None = None):
        self.number = number
        self.value = value
        self.label = label
        self.next = next_id
        self.effects = effects
        self.flow = flow


class HelpListing:
    """A help_list node's query and texts: kinds, limit, place variable, item and labels."""

    __slots__ = ("empty", "item", "kind_labels", "kinds", "limit", "place_var")

    def __init__(self, kinds: tuple[str, ...] | None, limit: int, place_var: str, item: Text,
                 empty: Text, kind_labels: dict[str, dict[str, str]]):
        self.kinds = kinds
        self.limit = limit
        self.place_var = place_var
        self.item = item
        self.empty = empty
        self.kind_labels = kind_labels  # language -> kind -> label


class CompiledNode:
    """One node with everything the engine needs at hand (unused slots stay None)."""

    __slots__ = ("allow_unknown", "ask", "branches", "effects", "flow", "help", "hint", "id",
                 "kind", "line", "loc_texts", "matcher", "max_length", "maximum", "minimum",
                 "multiple", "next", "options", "otherwise", "pattern", "range_hint",
                 "reporter", "save_as", "text", "validation")

    def __init__(self, node_id: str, kind: str, line: int):
        self.id = node_id
        self.kind = kind
        self.line = line
        self.text: Text | None = None
        self.hint: Text | None = None
        self.options: list[CompiledOption] = []
        self.multiple = False
        self.save_as: str | None = None
        self.next: str | None = None
        self.validation: str | None = None
        self.minimum: int | None = None
        self.maximum: int | None = None
        self.pattern: re.Pattern[str] | None = None
        self.max_length = 160
        self.range_hint: dict[str, str] = {}
        self.branches: list[tuple[Callable[..., Any], str, str]] = []
        self.otherwise: str | None = None
        self.effects: CompiledEffects | None = None
        self.reporter = "victim"
        self.ask: dict[str, str] = {}
        self.allow_unknown = True
        self.loc_texts: dict[str, Text] = {}
        self.matcher: OptionMatcher | None = None
        self.flow: str | None = None
        self.help: HelpListing | None = None


class Flow:
    """A loaded flow, immutable in use and cheap to share across thousands of sessions.

    Holds the compiled nodes, the flow's engine texts per language (catalogue with the
    hotline number filled in), the global stop/help words, the vocabulary, warnings found
    at load (`problems`) and the source text it came from.
    """

    def __init__(self, model: FlowModel, path: str, source_text: str, vocabulary: Vocabulary):
        self.id = model.id
        self.version = model.version
        self.path = path
        self.source_text = source_text
        self.languages: tuple[str, ...] = tuple(model.languages)
        self.default_language = model.default_language
        self.start = model.start
        self.settings: Settings = model.settings
        self.review = model.review
        self.title = model.title
        self.keywords = {lang: tuple(normalize_answer(w) for w in words)
                         for lang, words in model.keywords.items()}
        self.variables: dict[str, Any] = {name: None for name in declared_variables(model)}
        self.variables.update(model.variables)
        self.vocabulary = vocabulary
        self.nodes: dict[str, CompiledNode] = {}
        # Variables where location nodes save places, in node order (the case's place).
        self.place_vars: tuple[str, ...] = tuple(dict.fromkeys(
            node.save_as for node in model.nodes.values() if isinstance(node, LocationNode)))
        self.texts: dict[str, dict[str, str]] = {}
        self.range_templates: dict[str, Any] = {}
        self.words: dict[str, dict[str, frozenset[str]]] = {}
        self.stop_words: frozenset[str] = frozenset()
        self.help_words: frozenset[str] = frozenset()
        self.yes_no: OptionMatcher | None = None
        self.resume_matcher: OptionMatcher | None = None
        self.problems: list = []
        # Rendered static screens, filled lazily by the renderer; keys are plain tuples.
        self.screen_cache: dict[tuple[Any, ...], Any] = {}

    def __repr__(self) -> str:
        return f"<Flow {self.id} version {self.version} ({len(self.nodes)} nodes)>"

    @cached_property
    def raised_indicators(self) -> frozenset[str]:
        """The indicators of the vocabulary that some node or option of this flow can raise."""
        known = self.vocabulary.indicators
        return frozenset(indicator for node in self.nodes.values()
                         for effects in (node.effects, *(option.effects for option in node.options)) if effects
                         for indicator in effects.indicators if indicator in known)

    def keyword_language(self, text: str) -> str | None:
        """Return the language whose SMS keyword `text` is, or None."""
        key = normalize_answer(text)
        for lang, words in self.keywords.items():
            if key in words:
                return lang
        return None


def compile_flow(model: FlowModel, rep: Reporter, vocabulary: Vocabulary,
                 catalogue: CatalogueData, source_text: str) -> Flow:
    """Build the Flow from a validated model, reporting template and expression problems.

    Problems go to `rep` (syntax errors, unknown variables, unknown answers.X); the Flow is
    returned anyway so the linter can go on checking screens.
    """
    flow = Flow(model, rep.path, source_text, vocabulary)
    langs = flow.languages
    known = BUILTIN_NAMES | set(flow.variables)
    _compile_catalogue(flow, model, rep, catalogue)
    for node_id, node in model.nodes.items():
        base = ("nodes", node_id)
        cnode = CompiledNode(node_id, node.kind, line_of(rep.tree, base))
        ctx = _Compiler(rep, base, langs, known, set(model.nodes), model.default_language)
        if getattr(node, "text", None) is not None:
            cnode.text = ctx.text(node.text, ("text",))
        if getattr(node, "hint", None) is not None:
            cnode.hint = ctx.text(node.hint, ("hint",))
        if isinstance(node, MessageNode):
            cnode.next = node.next
        elif isinstance(node, MenuNode):
            cnode.multiple = node.multiple
            cnode.save_as = node.save_as
            cnode.next = node.next
            for i, opt in enumerate(node.options):
                label = ctx.plain(opt.label)
                cnode.options.append(CompiledOption(
                    i + 1, opt.value if opt.value is not None else str(i + 1), label,
                    None if opt.flow else (opt.next or node.next),
                    ctx.effects(opt, ("options", i)), opt.flow))
            cnode.matcher = OptionMatcher([
                {lang: [opt.label[lang], *model_opt.words.get(lang, [])] for lang in langs}
                for opt, model_opt in zip(cnode.options, node.options, strict=True)])
        elif isinstance(node, InputNode):
            rule = node.validate_
            cnode.validation = rule.type
            cnode.save_as = node.save_as
            cnode.next = node.next
            cnode.max_length = rule.max_length
            cnode.minimum = rule.min if rule.min is not None else (
                0 if rule.type == "age" else None)
            cnode.maximum = rule.max if rule.max is not None else (
                120 if rule.type == "age" else None)
            if rule.pattern:
                try:
                    cnode.pattern = re.compile(rule.pattern)
                except re.error:
                    cnode.pattern = None  # reported by the structural checks
            if cnode.minimum is not None and cnode.maximum is not None:
                for lang in langs:
                    template = flow.range_templates.get(lang)
                    cnode.range_hint[lang] = (template.render(min=cnode.minimum,
                                                              max=cnode.maximum)
                                              if template is not None else "")
        elif isinstance(node, LocationNode):
            cnode.ask = {"ussd": node.ask.ussd, "sms": node.ask.sms}
            cnode.allow_unknown = node.allow_unknown
            cnode.save_as = node.save_as
            cnode.next = node.next
            for field, key in (("text", "location_text"), ("region_text", "location_region"),
                               ("cercle_text", "location_cercle"),
                               ("choose_text", "location_choose"),
                               ("not_found_text", "location_not_found")):
                value = getattr(node, field)
                cnode.loc_texts[key] = (ctx.text(value, (field,)) if value is not None else
                                        Text({lang: flow.texts[lang][key] for lang in langs}))
            cnode.text = cnode.loc_texts["location_text"]
        elif isinstance(node, BranchNode):
            for i, branch in enumerate(node.branches):
                check = ctx.condition(branch.when, ("branches", i, "when"))
                cnode.branches.append((check, branch.when, branch.next))
            cnode.otherwise = node.otherwise
        elif isinstance(node, ActionsNode):
            cnode.effects = ctx.effects(node, ())
            cnode.next = node.next
        elif isinstance(node, CaseNode):
            cnode.reporter = node.reporter
            cnode.next = node.next
        elif isinstance(node, SwitchNode):
            cnode.flow = node.flow
        elif isinstance(node, HelpListNode):
            cnode.next = node.next
            labels = {kind: ctx.plain(label) for kind, label in node.kind_labels.items()}
            cnode.help = HelpListing(
                tuple(node.kinds) if node.kinds is not None else None, node.limit, node.place,
                ctx.text(node.item, ("item",), extra_names=HELP_ITEM_NAMES),
                ctx.text(node.empty_text, ("empty_text",)),
                {lang: {kind: label[lang] for kind, label in labels.items()} for lang in langs})
        flow.nodes[node_id] = cnode
    return flow


def _compile_catalogue(flow: Flow, model: FlowModel, rep: Reporter,
                       catalogue: CatalogueData) -> None:
    stop: set[str] = set()
    helpw: set[str] = set()
    yes_no: list[dict[str, list[str]]] = [{}, {}]
    # Stop and help work in every language the engine knows, whatever the caller chose.
    for entry in catalogue.values():
        stop.update(normalize_answer(w) for w in entry["words"].get("stop", []))
        helpw.update(normalize_answer(w) for w in entry["words"].get("help", []))
    for lang in flow.languages:
        entry = catalogue.get(lang) or {"texts": {}, "words": {}}
        texts: dict[str, str] = {}
        overridden = model.catalogue[lang].texts if lang in model.catalogue else {}
        for key, source in entry["texts"].items():
            # An override is reported at its own line, a shipped text at 'languages'.
            loc = ("catalogue", lang, "texts", key) if key in overridden else ("languages",)
            try:
                template = compile_template(source) if is_template(source) else None
            except TemplateSyntaxError as exc:
                rep.add(loc, "error", f"The engine text '{key}' ({lang}) is not a valid "
                                      f"template: {exc.message}.")
                template = None
            texts[key] = source
            if key == "hint_number_range":
                flow.range_templates[lang] = template  # min/max differ per input node
            elif template is not None:
                try:
                    texts[key] = template.render(hotline_number=flow.settings.hotline_number)
                except Exception as exc:  # an override naming an unknown variable
                    rep.add(loc, "error", f"The engine text '{key}' ({lang}) cannot be "
                                          f"rendered: {exc}.")
        flow.texts[lang] = texts
        flow.words[lang] = {k: frozenset(normalize_answer(w) for w in v)
                            for k, v in entry["words"].items()}
        yes_no[0][lang] = list(entry["words"].get("yes", []))
        yes_no[1][lang] = list(entry["words"].get("no", []))
    flow.stop_words = frozenset(stop)
    flow.help_words = frozenset(helpw)
    flow.yes_no = OptionMatcher(yes_no)
    flow.resume_matcher = OptionMatcher([
        {lang: [flow.texts[lang].get("resume_continue", "")] for lang in flow.languages},
        {lang: [flow.texts[lang].get("resume_restart", "")] for lang in flow.languages},
    ])


class _Compiler:
    """Compiles one node's texts and expressions, reporting problems at their lines."""

    def __init__(self, rep: Reporter, base: tuple[Any, ...], langs: tuple[str, ...],
                 known: set[str], node_ids: set[str], default_lang: str):
        self.rep = rep
        self.base = base
        self.langs = langs
        self.known = known
        self.node_ids = node_ids
        self.default_lang = default_lang

    def plain(self, value: Translated) -> dict[str, str]:
        if isinstance(value, str):
            return dict.fromkeys(self.langs, value.strip())
        fallback = value.get(self.default_lang) or next(iter(value.values()), "")
        return {lang: (value.get(lang) or fallback).strip() for lang in self.langs}

    def text(self, value: Translated, suffix: tuple[Any, ...],
             extra_names: frozenset[str] = frozenset()) -> Text:
        text = Text(self.plain(value))
        for lang, source in text.raw.items():
            if not is_template(source):
                continue
            loc = self.base + suffix + (() if isinstance(value, str) else (lang,))
            try:
                template, names, answer_ids = analyse_template(source)
            except TemplateSyntaxError as exc:
                self.rep.add(loc, "error", f"The template '{source.strip()}' does not "
                                           f"compile: {exc.message}.")
                continue
            if self._names_ok(names - extra_names, answer_ids, loc):
                text.templates[lang] = template
        return text

    def condition(self, source: str, suffix: tuple[Any, ...]) -> Callable[..., Any]:
        loc = self.base + suffix
        try:
            check, names, answer_ids = analyse_condition(source)
        except TemplateSyntaxError as exc:
            self.rep.add(loc, "error", f"The condition '{source}' does not compile: "
                                       f"{exc.message}.")
            return _never
        return check if self._names_ok(names, answer_ids, loc) else _never

    def effects(self, eff: Effects, suffix: tuple[Any, ...]) -> CompiledEffects | None:
        computes = []
        for name, source in eff.compute.items():
            computes.append((name, self.condition(source, (*suffix, "compute", name))))
        if not (eff.set_ or computes or eff.indicators or eff.score or eff.needs
                or eff.language):
            return None
        return CompiledEffects(tuple(eff.set_.items()), tuple(computes),
                               tuple(eff.indicators), eff.score, tuple(eff.needs), eff.language)

    def _names_ok(self, names: frozenset[str], answer_ids: frozenset[str],
                  loc: tuple[Any, ...]) -> bool:
        ok = True
        for name in sorted(names - self.known):
            self.rep.add(loc, "error", f"'{name}' is not a known variable (declare it under "
                                       "'variables' or use a built-in name).")
            ok = False
        for node_id in sorted(answer_ids - self.node_ids):
            self.rep.add(loc, "error", f"'answers.{node_id}' names a node that does not exist.")
            ok = False
        return ok


def _never(*_args: Any, **_kwargs: Any) -> bool:
    return False
