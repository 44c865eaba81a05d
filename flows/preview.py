"""Every screen of a flow per channel and language, with character and segment counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from flows.engine import _Run, new_state
from flows.flow import Flow
from flows.help import HelpDirectory, help_to_dict
from flows.places import PlaceDirectory, default_places
from flows.render import Screen, render_sms_page, render_ussd
from flows.sms_text import sms_encoding

SAMPLE_PLACE = {"code": "SAMPLE", "name": "Gourma-Rharous", "region_code": "SAMPLE",
                "region_name": "Tombouctou", "latitude": 0.0, "longitude": 0.0}
SHOWING_KINDS = ("message", "menu", "input", "location", "end", "help_list")
# Help points as long as real ones (a provider's full name, a phone), to measure help lists.
SAMPLE_HELP_POINTS = (
    {"name": "Commissariat de police de Gourma-Rharous, protection des mineurs",
     "kind": "police", "town": "Gourma-Rharous", "phone": "+22370000000", "distance_km": 1.2},
    {"name": "Direction regionale de la promotion de l'enfant et de la famille",
     "kind": "child_protection", "town": "Gourma-Rharous", "phone": None, "distance_km": 2.5},
    {"name": "Clinique juridique de Gourma-Rharous", "kind": "legal_aid",
     "town": "Gourma-Rharous", "phone": "+22370000001", "distance_km": 3.0},
)


@dataclass(frozen=True)
class ScreenPreview:
    """One rendered screen: which node, language, channel, variant and page, and its size.

    `variant` names a location sub-step ("text", "region", "cercle ML-1", ...) or is "".
    `chars` is the length on USSD and the encoding units on SMS.
    """

    node: str
    kind: str
    line: int
    lang: str
    channel: str
    variant: str
    page: int
    pages: int
    text: str
    chars: int
    encoding: str | None
    segments: int | None

    def to_dict(self) -> dict[str, Any]:
        """Return the preview as a JSON-ready dict for the console's flow editor."""
        return asdict(self)


def sample_state(flow: Flow, node_id: str, lang: str, channel: str) -> dict[str, Any]:
    """Return a state waiting at `node_id` with long sample values for templates.

    The history is non-empty so USSD menus show "0 back" (their longest form). The three
    indicators of the flow with the longest labels in `lang` count as found, so a text
    listing `indicator_labels` is measured at its longest.
    """
    st = new_state(flow, channel, "X" * flow.settings.case_ref_length, lang, False)
    st["node"] = node_id
    st["history"] = [{"node": node_id}]
    for name in flow.place_vars:
        if st["vars"].get(name) is None:
            st["vars"][name] = dict(SAMPLE_PLACE)
    known = flow.vocabulary.indicators
    # Computed once per flow: scanning every node here made linting a flow quadratic in its size.
    longest = sorted(flow.raised_indicators, key=lambda i: (-len(known[i].label.get(lang, i)), i))[:3]
    st["hits"] = [{"indicator": ind, "node": node_id, "answer": None} for ind in longest]
    return st


def node_screens(flow: Flow, node_id: str, lang: str, channel: str,
                 places: PlaceDirectory | None = None,
                 help_directory: HelpDirectory | None = None) -> list[tuple[str, Screen, bool]]:
    """Return [(variant, screen, show_back)] for one node in one language and channel.

    A location node gives its free-text prompt (when the channel asks by text), its region
    menu, and one cercle menu per region of `places` (default: the shipped demo places).
    A help list gives sample help points and its empty text, and with `help_directory`
    also the real points near each region of `places`.
    Raises the template's error when a text cannot be rendered with sample values.
    """
    node = flow.nodes[node_id]
    st = sample_state(flow, node_id, lang, channel)
    run = _Run(flow, st, places)
    if node.kind == "help_list":
        result = []
        variants = [("", [dict(p) for p in SAMPLE_HELP_POINTS[:node.help.limit]]),
                    ("no result", [])]
        if help_directory is not None:
            for region in (places if places is not None else default_places()).regions():
                found = help_directory.nearest(region.latitude, region.longitude,
                                               kinds=node.help.kinds, limit=node.help.limit)
                variants.append((f"near {region.code}", [help_to_dict(p) for p in found]))
        for variant, points in variants:
            st["listings"] = {node_id: points}
            result.append((variant, run.screen(node), True))
        return result
    if node.kind != "location":
        return [("", run.screen(node), node.kind in ("menu", "message"))]
    directory = places if places is not None else default_places()
    variants: list[tuple[str, dict[str, Any]]] = []
    if node.ask.get(channel) == "text":
        variants.append(("text", {"stage": "text", "region": None, "candidates": None,
                                  "from_text": True, "not_found": False}))
    variants.append(("region", {"stage": "region", "region": None, "candidates": None,
                                "from_text": False, "not_found": False}))
    if node.ask.get(channel) == "text":
        variants.append(("region not found", {"stage": "region", "region": None,
                                              "candidates": None, "from_text": True,
                                              "not_found": True}))
    for region in directory.regions():
        variants.append((f"cercle {region.code}", {"stage": "cercle", "region": region.code,
                                                   "candidates": None, "from_text": False,
                                                   "not_found": False}))
    result = []
    for name, loc in variants:
        st["loc"] = loc
        result.append((name, run.screen(node), loc["stage"] != "text"))
    return result


def preview_nodes(flow: Flow, *, places: PlaceDirectory | None = None,
                  languages: list[str] | None = None,
                  channels: tuple[str, ...] = ("ussd", "sms")) -> list[ScreenPreview]:
    """Render every screen of `flow` for the editor: each node, language, channel and page.

    Returns ScreenPreview items in node order. Texts that cannot be rendered with sample
    values appear with the error message as their text and 0 characters.
    """
    result: list[ScreenPreview] = []
    for node_id, node in flow.nodes.items():
        if node.kind not in SHOWING_KINDS:
            continue
        for lang in languages or flow.languages:
            for channel in channels:
                try:
                    screens = node_screens(flow, node_id, lang, channel, places)
                except Exception as exc:  # shown to the operator, not raised at them
                    result.append(ScreenPreview(node_id, node.kind, node.line, lang, channel,
                                                "", 0, 1, f"(cannot render: {exc})", 0, None,
                                                None))
                    continue
                for variant, screen, show_back in screens:
                    result.extend(_pages(flow, node_id, node.kind, node.line, lang, channel,
                                         variant, screen, show_back))
    return result


def _pages(flow: Flow, node_id: str, kind: str, line: int, lang: str, channel: str,
           variant: str, screen: Screen, show_back: bool) -> list[ScreenPreview]:
    texts = flow.texts[lang]
    if channel == "sms":
        items = []
        for page, text in enumerate(sms_page_texts(flow, screen, lang)):
            enc = sms_encoding(text)
            items.append(ScreenPreview(node_id, kind, line, lang, channel, variant, page,
                                       0, text, enc.length, enc.encoding, enc.segments))
        return [replace(item, pages=len(items)) for item in items]
    first, pages = render_ussd(screen, page=0, show_back=show_back, notice="",
                               more=texts["more"], back=texts["back"],
                               limit=flow.settings.ussd_max_chars)
    items = [ScreenPreview(node_id, kind, line, lang, channel, variant, 0, pages, first,
                           len(first), None, None)]
    for page in range(1, pages):
        text, _ = render_ussd(screen, page=page, show_back=show_back, notice="",
                              more=texts["more"], back=texts["back"],
                              limit=flow.settings.ussd_max_chars)
        items.append(ScreenPreview(node_id, kind, line, lang, channel, variant, page, pages,
                                   text, len(text), None, None))
    return items


def sms_page_texts(flow: Flow, screen: Screen, lang: str) -> list[str]:
    """Return the SMS text of each page of `screen` (one page unless over the budget)."""
    settings = flow.settings
    options = {"notice": "", "fold": settings.sms_fold_to_gsm,
               "budget": settings.sms_segment_budget, "more": flow.texts[lang]["more"]}
    first, pages = render_sms_page(screen, page=0, **options)
    return [first] + [render_sms_page(screen, page=page, **options)[0]
                      for page in range(1, pages)]
