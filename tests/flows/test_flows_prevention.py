"""The format additions for the prevention flows: switching flows, help lists, indicator labels."""

from __future__ import annotations

import pytest
from flows_helpers import SHIPPED, drive

from flows import (
    EventKind,
    Place,
    PlaceMatch,
    StaticHelpDirectory,
    lint_flow_text,
    load_flow,
    load_flow_text,
    sms_encoding,
    step,
)

POINTS = [
    {"name": "Commissariat de police de Gao, unite de protection des mineurs", "kind": "police",
     "town": "Gao", "latitude": 16.2737, "longitude": -0.0427, "phone": "+22320000194"},
    {"name": "Direction regionale de la promotion de l'enfant et de la famille, Gao",
     "kind": "child_protection", "town": "Gao", "latitude": 16.2727, "longitude": -0.0477},
    {"name": "Clinique juridique de Gao", "kind": "legal_aid", "town": "Gao",
     "latitude": 16.2747, "longitude": -0.0457, "phone": "+22320000203"},
    {"name": "Centre Direy Ben", "kind": "shelter", "town": "Gao", "latitude": 16.2757,
     "longitude": -0.0477, "phone": "+22320000999"},
    {"name": "Permanence nationale", "kind": "national_desk", "town": "Bamako",
     "latitude": 12.6392, "longitude": -8.0029, "phone": "+22320000101"},
]
HELP = StaticHelpDirectory(POINTS, default_kinds=("police", "child_protection", "legal_aid"))

HELP_FLOW = """
id: near
version: "1"
languages: [fr, en]
default_language: fr
start: where
nodes:
  where:
    kind: location
    ask: {ussd: text, sms: text}
    next: nearby
  nearby:
    kind: help_list
    place: place
    limit: 3
    text: {fr: "Aide près de {{ place.name }} :", en: "Help near {{ place.name }}:"}
    item:
      fr: "- {{ kind_label }}, {{ town }}{% if phone %}, tél {{ phone }}{% endif %} : {{ name }}"
      en: "- {{ kind_label }}, {{ town }}{% if phone %}, tel {{ phone }}{% endif %}: {{ name }}"
    empty_text:
      fr: "Rien près d'ici. Appelez le {{ hotline_number }}."
      en: "Nothing near. Call {{ hotline_number }}."
    kind_labels:
      police: {fr: "Police", en: "Police"}
      child_protection: {fr: "Protection de l'enfant", en: "Child protection"}
      legal_aid: {fr: "Aide juridique", en: "Legal help"}
    next: done
  done:
    kind: end
    text: {fr: "Fin.", en: "End."}
"""

SWITCH_FLOW = """
id: hub
version: "1"
languages: [fr, en]
default_language: fr
start: pick
nodes:
  pick:
    kind: menu
    text: {fr: "Choix :", en: "Choice:"}
    options:
      - {value: en, label: "English", language: en, next: go}
      - {value: other, label: {fr: "Autre", en: "Other"}, flow: rights}
  go:
    kind: switch
    flow: job-check
"""


@pytest.fixture(scope="module")
def near():
    return load_flow_text(HELP_FLOW, "near.yaml")


def test_a_menu_option_with_flow_emits_flow_switch_and_ends_this_flow():
    """An option's `flow:` ends this flow's part with FLOW_SWITCH {flow, language, node} and a safe closing text."""
    hub = load_flow_text(SWITCH_FLOW, "hub.yaml")
    state, outs = drive(hub, "ussd", ["2"])
    event = outs[-1].event(EventKind.FLOW_SWITCH)
    assert event is not None and event.data == {"flow": "rights", "language": "fr", "node": "pick"}
    assert (state["done"], state["node"], outs[-1].continues) == ("switched", None, False)
    assert "8000" in outs[-1].text  # a caller that cannot switch still gets the safe ending
    assert state["answers"]["pick"] == "other"


def test_a_switch_node_hands_over_in_the_language_chosen_so_far():
    """A `kind: switch` node reached after a language choice switches with that language."""
    hub = load_flow_text(SWITCH_FLOW, "hub.yaml")
    _, outs = drive(hub, "sms", ["1"])
    assert [e.kind for e in outs[-1].events] == [EventKind.LANGUAGE_SET, EventKind.FLOW_SWITCH]
    assert outs[-1].event(EventKind.FLOW_SWITCH).data == {"flow": "job-check", "language": "en",
                                                         "node": "go"}
    assert outs[-1].visited == ("go",)


def test_the_switched_to_flow_skips_its_language_question_when_preset():
    """Started with the switch's language, each prevention flow opens on its first real screen."""
    for name, first in (("job-check", "Check a job offer"), ("rights", "Trafficking is"),
                        ("help-near-me", "Help near you"), ("screening", "This service is free")):
        flow = load_flow(SHIPPED / f"{name}.yaml")
        _, outs = drive(flow, "ussd", [], lang="en")
        assert first in outs[0].text and "Language" not in outs[0].text, name


def test_help_list_pages_whole_points_within_182_characters_on_ussd(near):
    """Nearest first; each USSD page fits 182 with 98/0; the last shows Continue; phones only when given."""
    state, outs = drive(near, "ussd", ["Gao"], help_directory=HELP,
                        places=StaticHelpDirectoryPlaces())
    first = outs[-1]
    assert first.node == "nearby" and first.pages >= 2
    pages = [first.text]
    for _ in range(first.pages - 1):
        state, out = step(near, state, "98", help_directory=HELP, places=StaticHelpDirectoryPlaces())
        pages.append(out.text)
    assert all(len(p) <= 182 for p in pages), [len(p) for p in pages]
    assert pages[0].startswith("Aide près de Gao :")
    assert all("98. Suite" in p for p in pages[:-1]) and "1. Continuer" in pages[-1]
    shown = "\n".join(pages)
    assert "Centre Direy Ben" not in shown and "Permanence" not in shown  # kinds left out
    assert "Police, Gao, tél +22320000194" in shown
    child_office = next(line for line in shown.splitlines() if "Protection de l'enfant" in line)
    assert child_office.startswith("- Protection de l'enfant, Gao : Direction")  # no phone published
    order = [shown.index(w) for w in ("Police", "Protection de l'enfant", "Aide juridique")]
    assert order == sorted(order)
    assert state["listings"]["nearby"][0]["name"].startswith("Commissariat")


def test_help_list_sms_fits_the_budget_in_pages(near):
    """On SMS the list is one message when it fits the budget, else pages ending with 98."""
    _, outs = drive(near, "sms", ["Gao"], help_directory=HELP, places=StaticHelpDirectoryPlaces())
    out = outs[-1]
    assert out.segments <= near.settings.sms_segment_budget
    assert "Répondez OK pour continuer" in out.text or "98. Suite" in out.text
    assert sms_encoding(out.text).segments == out.segments


def test_help_list_without_a_directory_shows_its_empty_text(near):
    """No help directory (or nothing near) gives the empty text with the hotline number."""
    _, outs = drive(near, "ussd", ["Gao"], places=StaticHelpDirectoryPlaces())
    assert outs[-1].text.startswith("Rien près d'ici. Appelez le 8000.")
    assert outs[-1].node == "nearby"


def test_linter_checks_help_lists_and_switch_targets():
    """A help list on a non-place variable, an unknown switch target and flow+next are errors with lines."""
    broken = HELP_FLOW.replace("place: place", "place: somewhere")
    problems = lint_flow_text(broken, "near.yaml")
    assert any(p.severity == "error" and "no location node saves a place there" in p.message
               for p in problems)
    problems = lint_flow_text(SWITCH_FLOW, "hub.yaml", known_flows={"hub", "rights"})
    unknown = [p for p in problems if "starts flow 'job-check', which is not a known flow" in p.message]
    assert unknown and unknown[0].line == SWITCH_FLOW.splitlines().index("    flow: job-check") + 1
    both = SWITCH_FLOW.replace("flow: rights}", "flow: rights, next: go}")
    assert any("has both 'flow' and 'next'" in p.message for p in lint_flow_text(both, "hub.yaml"))
    assert not [p for p in lint_flow_text(SWITCH_FLOW, "hub.yaml") if p.severity == "error"]


def test_indicator_labels_list_the_heaviest_signs_first():
    """`indicator_labels` gives the found indicators' labels in the session language, heaviest first."""
    job = load_flow(SHIPPED / "job-check.yaml")
    # online (1), abroad (1), repay (3), papers kept (4), clear, not rushed, adult.
    _, outs = drive(job, "sms", ["ok", "4", "4", "3", "1", "1", "2", "2"], lang="en")
    assert "Signs: Papers kept, Journey to repay, Unknown recruiter." in outs[-1].text


class StaticHelpDirectoryPlaces:
    """One place, Gao, for the help-list tests (the engine's demo places are pre-2023)."""

    def regions(self):
        return []

    def cercles(self, region_code):
        return []

    def match(self, text):
        gao = Place("gao.gao", "Gao", "gao", "Gao", 16.27167, -0.04472)
        return PlaceMatch("exact", [gao]) if "gao" in text.lower() else PlaceMatch("unknown", [])
