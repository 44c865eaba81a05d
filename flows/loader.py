"""Loading flows from text or files: parse, validate, check, compile and check screens."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from jinja2.exceptions import SecurityError

from flows.catalogue import check_catalogue_data, merged_catalogue
from flows.checks import Reporter, check_flow_references, check_model
from flows.errors import FlowError, FlowProblem, has_errors
from flows.flow import Flow, compile_flow
from flows.help import HelpDirectory
from flows.places import PlaceDirectory, default_places
from flows.preview import SHOWING_KINDS, node_screens, sms_page_texts
from flows.render import BACK, MORE, option_line, ussd_pages
from flows.schema import CaseNode, validate_flow_tree
from flows.sms_text import sms_encoding
from flows.source import read_yaml
from flows.textfold import ussd_safe
from flows.vocabulary import Vocabulary, default_vocabulary

# Variables the CASE_READY payload reads by convention (see docs/flows.md).
CASE_VARIABLES = ("age_band", "sex", "danger_now", "minor", "consent_callback",
                  "consent_police")


def analyse_flow_text(text: str, path: str, *, vocabulary: Vocabulary | None = None,
                      places: PlaceDirectory | None = None,
                      check_place_menus: bool = False,
                      known_flows: Collection[str] | None = None,
                      help_directory: HelpDirectory | None = None,
                      ) -> tuple[Flow | None, list[FlowProblem]]:
    """Parse, validate, check and compile a flow; return (flow or None, all problems).

    The flow is None when there are errors. With `check_place_menus`, the region and cercle
    menus of location nodes are checked against `places` (default: the demo directory), and
    help lists with the points `help_directory` gives near each region. With `known_flows`
    (flow ids), every flow a switch starts must be one of them.
    Never raises for a bad flow text.
    """
    vocabulary = vocabulary or default_vocabulary()
    try:
        tree = read_yaml(text, path)
    except FlowError as exc:
        return None, exc.problems
    model, problems = validate_flow_tree(tree, path)
    if model is None:
        return None, sorted(problems)
    rep = Reporter(path, tree)
    rep.problems.extend(problems)
    raw_catalogue = tree.get("catalogue") if isinstance(tree, dict) else None
    if raw_catalogue:
        rep.problems.extend(check_catalogue_data(raw_catalogue, path, complete=False))
    catalogue = merged_catalogue({lang: entry.model_dump()
                                  for lang, entry in model.catalogue.items()})
    check_model(model, rep, vocabulary, catalogue)
    if known_flows is not None:
        check_flow_references(model, rep, known_flows)
    if any(node.kind == "case" for node in model.nodes.values()):
        missing = [v for v in CASE_VARIABLES if v not in model.variables]
        if missing:
            case_id = next(k for k, n in model.nodes.items() if isinstance(n, CaseNode))
            rep.add(("nodes", case_id), "warning",
                    f"The case will not carry {', '.join(missing)}: declare "
                    f"{'it' if len(missing) == 1 else 'them'} under 'variables'.")
    flow = compile_flow(model, rep, vocabulary, catalogue, text)
    if not has_errors(rep.problems):
        rep.problems.extend(screen_problems(flow, rep, places if check_place_menus else None,
                                            check_place_menus,
                                            help_directory if check_place_menus else None))
    problems = sorted(set(rep.problems))
    flow.problems = [p for p in problems if p.severity == "warning"]
    return (None if has_errors(problems) else flow), problems


def load_flow_text(text: str, path: str = "<flow>", *,
                   vocabulary: Vocabulary | None = None) -> Flow:
    """Load a flow from YAML `text`; `path` is only the name used in problems.

    This is how the app rebuilds a stored flow version. Returns the compiled Flow (its
    warnings in `flow.problems`). Raises FlowError listing every problem when any is an
    error.
    """
    flow, problems = analyse_flow_text(text, path, vocabulary=vocabulary)
    if flow is None:
        raise FlowError(problems)
    return flow


def load_flow(path: str | Path, *, vocabulary: Vocabulary | None = None) -> Flow:
    """Load a flow from a YAML file the caller names.

    Raises FlowError (problems with lines) or OSError when the file cannot be read.
    """
    text = Path(path).read_text(encoding="utf-8")
    return load_flow_text(text, str(path), vocabulary=vocabulary)


def screen_problems(flow: Flow, rep: Reporter, places: PlaceDirectory | None,
                    check_place_menus: bool,
                    help_directory: HelpDirectory | None = None) -> list[FlowProblem]:
    """Return USSD-length errors and SMS-budget warnings for every screen of `flow`."""
    limit = flow.settings.ussd_max_chars
    budget = flow.settings.sms_segment_budget
    directory = (places or default_places()) if check_place_menus else _NoPlaces()

    found = Reporter(rep.path, rep.tree)
    add = found.add

    for lang in flow.languages:
        texts = flow.texts[lang]
        for key in ("stopped", "failed_safe", "resume_prompt"):
            if len(ussd_safe(texts[key])) > limit:
                add(("catalogue", lang) if lang in (rep.tree.get("catalogue") or {}) else (
                    "languages",), "error",
                    f"The engine text '{key}' ({lang}) is longer than {limit} characters on "
                    "USSD.")
        for node_id, node in flow.nodes.items():
            if node.kind not in SHOWING_KINDS:
                continue
            base = ("nodes", node_id)
            for channel in ("ussd", "sms"):
                try:
                    screens = node_screens(flow, node_id, lang, channel, directory,
                                           help_directory)
                except SecurityError as exc:  # it would fail the same way for every caller
                    add(base, "error", f"Node '{node_id}' ({lang}) uses what the sandbox refuses "
                                       f"in flow texts: {exc}.")
                    break
                except Exception as exc:
                    add(base, "warning", f"Node '{node_id}' ({lang}) could not be rendered "
                                         f"with sample values to check its length: {exc}.")
                    break
                for variant, screen, show_back in screens:
                    where = f"node '{node_id}'" + (f" ({variant})" if variant else "")
                    text_loc = (*base, "text", lang)
                    if channel == "ussd":
                        message = _ussd_problem(screen, show_back, texts, limit, lang, where)
                        if message:
                            add(text_loc, "error", message)
                    else:
                        # Each SMS the caller gets is measured: a long menu is sent in
                        # pages, and a page that still does not fit is reported.
                        pages = sms_page_texts(flow, screen, lang)
                        for page, sms in enumerate(pages, 1):
                            enc = sms_encoding(sms)
                            if enc.segments > budget:
                                part = f", page {page} of {len(pages)}" if len(pages) > 1 else ""
                                add(text_loc, "warning",
                                    f"The SMS of {where}{part} ({lang}) takes {enc.segments} "
                                    f"segments ({enc.encoding}, {enc.length} units), over the "
                                    f"budget of {budget}.")
    return found.problems


# A help point is cut to fit a USSD page; below this many characters it says nothing useful.
MIN_ITEM_ROOM = 40


def _ussd_problem(screen: Any, show_back: bool, texts: dict[str, str], limit: int,
                  lang: str, where: str) -> str | None:
    header = ussd_safe(screen.body)
    if screen.items:
        nav = [option_line(i, ussd_safe(label)) for i, label in enumerate(screen.options, 1)]
        nav += [option_line(MORE, ussd_safe(texts["more"])),
                option_line(BACK, ussd_safe(texts["back"]))]
        room = limit - len("\n".join([header, *nav])) - 1
        if room < MIN_ITEM_ROOM:
            return (f"The USSD screen of {where} ({lang}) leaves {max(room, 0)} characters for a "
                    f"help point beside its header and the 98/0 lines; at least {MIN_ITEM_ROOM} "
                    "are needed: shorten the header.")
        return None
    if not screen.options:
        if len(header) > limit:
            return (f"The USSD screen of {where} ({lang}) has {len(header)} characters; "
                    f"the limit is {limit}.")
        return None
    lines = [option_line(i, ussd_safe(label)) for i, label in enumerate(screen.options, 1)]
    more_line = option_line(MORE, ussd_safe(texts["more"]))
    back_line = option_line(BACK, ussd_safe(texts["back"]))
    if ussd_pages(header, lines, more_line, back_line, show_back, limit) is not None:
        return None
    for i, line in enumerate(lines, 1):
        if len(line) + len(more_line) + len(back_line) + 2 > limit:
            return (f"Option {i} of {where} ({lang}) is too long for a USSD page "
                    f"({len(line)} characters with the 98/0 lines over {limit}).")
    need = len(header) + len(lines[0]) + len(more_line) + len(back_line) + 3
    return (f"The USSD text of {where} ({lang}) is too long: with its first option and the "
            f"98/0 lines it needs {need} characters; the limit is {limit}.")


class _NoPlaces:
    """A directory with no places, so a plain load checks prompts but not place menus."""

    def regions(self) -> list[Any]:
        return []

    def cercles(self, region_code: str) -> list[Any]:
        return []

    def match(self, text: str) -> Any:
        from flows.places import PlaceMatch

        return PlaceMatch("unknown", [])
