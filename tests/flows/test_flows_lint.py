"""Tests of the linter on the shipped flows and on broken copies of them (file and line)."""

from __future__ import annotations

import json

import pytest
from flows_helpers import SHIPPED

from flows import (
    FlowError,
    StaticPlaceDirectory,
    lint_flow_text,
    lint_paths,
    load_flow,
    load_flow_text,
    problems_to_json,
)


def line_of(text: str, needle: str) -> int:
    """Return the 1-based line of the only occurrence of `needle` in `text`."""
    assert text.count(needle) == 1, needle
    return text[: text.index(needle)].count("\n") + 1


def broken(text: str, old: str, new: str) -> str:
    """Return `text` with the only occurrence of `old` replaced by `new`."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def errors_of(text: str, path: str = "copy/screening.yaml", **kwargs) -> list:
    """Return the error problems of a flow text."""
    return [p for p in lint_flow_text(text, path, **kwargs) if p.severity == "error"]


def test_shipped_flows_lint_clean():
    """The shipped flows have no errors and no warnings."""
    assert lint_paths([SHIPPED]) == []


def test_shipped_flows_lint_clean_against_the_real_gazetteer():
    """With the gazetteer's 20 regions too, every SMS page and USSD screen is in bounds."""
    from routing.gazetteer import default_gazetteer

    assert lint_paths([SHIPPED], places=default_gazetteer()) == []


def test_an_sms_page_that_cannot_fit_the_budget_is_still_a_warning(screening_text):
    """Paging long SMS menus does not hide a place name too long for any page."""
    long_name = "Dugu " + "ɛ" * 250
    places = StaticPlaceDirectory([{"code": f"R{i}", "name": f"{long_name} {i}",
                                    "latitude": 0, "longitude": 0, "cercles": []}
                                   for i in range(3)])
    warnings = [p for p in lint_flow_text(screening_text, "s.yaml", places=places)
                if p.severity == "warning"]
    assert warnings and all("over the budget of 3" in p.message for p in warnings)
    assert any("(region), page 1 of" in p.message for p in warnings)


def test_unknown_target_node_names_file_and_line(screening_text):
    """A `next` to a node that does not exist is an error at that line."""
    text = broken(screening_text, "        next: debt\n      - value: \"no\"",
                  "        next: debtt\n      - value: \"no\"")
    [problem] = errors_of(text)
    assert problem.path == "copy/screening.yaml"
    assert problem.line == line_of(text, "next: debtt")
    assert "unknown node 'debtt'" in problem.message


def test_unreachable_node_is_a_warning(screening_text):
    """A node nothing leads to is reported as unreachable."""
    text = screening_text + ("\n  orphan:\n    kind: end\n    text: {fr: \"a\", bm: \"b\", "
                             "en: \"c\"}\n")
    problems = lint_flow_text(text, "s.yaml")
    assert [(p.severity, p.line) for p in problems] == [("warning", line_of(text, "orphan:"))]
    assert "cannot be reached" in problems[0].message


def test_node_with_no_way_to_an_end_is_an_error(screening_text):
    """A loop with no exit leaves callers stuck: an error on each node of the loop."""
    text = broken(screening_text, "    next: safe_now\n", "    next: loop_a\n")
    text += ("\n  loop_a:\n    kind: message\n    text: \"a\"\n    next: loop_b\n"
             "  loop_b:\n    kind: message\n    text: \"b\"\n    next: loop_a\n")
    stuck = {p.line for p in errors_of(text) if "no way to reach an end" in p.message}
    assert {line_of(text, "loop_a:\n    kind"), line_of(text, "loop_b:\n    kind"),
            line_of(text, "  intro:\n")} <= stuck
    assert line_of(text, "  closing:\n") not in stuck


def test_missing_translation_names_the_text(screening_text):
    """A text without one of the flow's languages is an error at that text."""
    text = broken(screening_text, '      bm: "Farati bɛ i kan sisan wa?"\n', "")
    [problem] = errors_of(text)
    assert problem.line == line_of(text, "    text:\n      fr: \"Êtes-vous en danger")
    assert "Missing 'bm' translation of 'text' in node 'danger'" in problem.message


def test_ussd_text_too_long_is_an_error_per_language(screening_text):
    """A question too long for a USSD screen with its menu is an error for that language."""
    long_text = "Êtes-vous en danger ? " * 8
    text = broken(screening_text, 'en: "Are you in danger right now?"',
                  f'en: "{long_text}"')
    [problem] = errors_of(text)
    assert problem.line == line_of(text, long_text)
    assert "node 'danger' (en) is too long" in problem.message


def test_single_option_too_long_is_an_error(screening_text):
    """An option that cannot fit a page even alone is an error."""
    label = "Oui " * 50
    text = broken(screening_text, 'label: {fr: "Non, pas maintenant"',
                  f'label: {{fr: "{label}"')
    [problem] = errors_of(text)
    assert "Option 2 of node 'safe_now' (fr) is too long" in problem.message


def test_sms_over_budget_is_a_warning(screening_text):
    """An SMS over the segment budget is a warning, and the budget is a flow setting."""
    text = broken(screening_text, "sms_segment_budget: 3", "sms_segment_budget: 1")
    warnings = [p for p in lint_flow_text(text, "s.yaml") if p.severity == "warning"]
    assert warnings and all("over the budget of 1" in p.message for p in warnings)
    assert errors_of(text) == []


def test_expression_that_does_not_compile(screening_text):
    """A broken condition is an error at its line."""
    text = broken(screening_text, 'when: "danger_now"', 'when: "danger_now and"')
    [problem] = errors_of(text)
    assert problem.line == line_of(text, 'when: "danger_now and"')
    assert "does not compile" in problem.message


def test_expression_naming_an_unknown_variable(screening_text):
    """Conditions and templates may only use declared variables and built-in names."""
    text = broken(screening_text, 'when: "danger_now"', 'when: "in_danger"')
    [problem] = errors_of(text)
    assert "'in_danger' is not a known variable" in problem.message
    text = broken(screening_text, "Votre référence : {{ case_ref }}",
                  "Votre référence : {{ case_reference }}")
    [problem] = errors_of(text)
    assert problem.line == line_of(text, "{{ case_reference }}")
    text = broken(screening_text, "answers.deceived", "answers.decieved")
    [problem] = errors_of(text)
    assert "'answers.decieved' names a node that does not exist" in problem.message


def test_duplicate_options_are_errors(screening_text):
    """Two options with the same label, word or value in one menu are errors."""
    text = broken(screening_text, 'label: {fr: "Non", bm: "Ayi", en: "No"}\n        next: age_band',
                  'label: {fr: "Oui", bm: "Ayi", en: "No"}\n        next: age_band')
    [problem] = errors_of(text)
    assert "Duplicate option label 'Oui' (fr) in menu 'danger'" in problem.message
    text = broken(screening_text, "value: over_40", "value: \"26_40\"")
    [problem] = errors_of(text)
    assert "duplicate option value '26_40'" in problem.message
    assert problem.line == line_of(text, "value: \"26_40\"\n        label: {fr: \"Plus")


def test_unknown_indicator_and_need_are_errors(screening_text):
    """Indicator and need ids must exist in the shared vocabulary."""
    text = broken(screening_text, "indicators: [debt_bondage]", "indicators: [debt]")
    [problem] = errors_of(text)
    assert problem.line == line_of(text, "indicators: [debt]")
    assert "Unknown indicator 'debt'" in problem.message
    text = broken(screening_text, "needs: [police]", "needs: [army]")
    [problem] = errors_of(text)
    assert "Unknown need 'army'" in problem.message


def test_unknown_node_kind_and_action_names_are_rejected_with_lines(screening_text):
    """Unknown kinds and unknown fields (action names) are refused at their line."""
    text = broken(screening_text, "    kind: case\n", "    kind: cases\n")
    [problem] = errors_of(text)
    assert problem.line == line_of(text, "kind: cases")
    assert "unknown kind 'cases'" in problem.message and "Did you mean 'case'?" in problem.message
    text = broken(screening_text, "    indicators: [forced_begging_child]",
                  "    indicator: [forced_begging_child]")
    [problem] = errors_of(text)
    assert problem.line == line_of(text, "indicator: [forced_begging_child]")
    assert "'indicator' is not a known field in node 'add_begging'" in problem.message
    assert "Did you mean 'indicators'?" in problem.message


def test_setting_an_undeclared_variable_is_an_error(screening_text):
    """Effects may only set declared variables."""
    text = broken(screening_text, "set: {consent_police: true}", "set: {police_ok: true}")
    [problem] = errors_of(text)
    assert "sets 'police_ok', which is not declared" in problem.message


def test_schema_errors_are_plain_sentences_with_lines(screening_text):
    """Missing fields and wrong values name the field and the line."""
    text = broken(screening_text, "  ussd_resume_minutes: 10", "  ussd_resume_minutes: soon")
    [problem] = errors_of(text)
    assert problem.line == line_of(text, "ussd_resume_minutes: soon")
    assert "'settings', 'ussd_resume_minutes'" in problem.message
    text = broken(screening_text, "    reporter: victim\n", "    reporter: police\n")
    [problem] = errors_of(text)
    assert "'reporter' in node 'make_case' must be one of" in problem.message


def test_location_menus_are_checked_against_the_directory(screening_text):
    """With a directory whose cercle names are too long, the USSD check fails at the node."""
    places = StaticPlaceDirectory([{"code": "R", "name": "Region", "latitude": 0,
                                    "longitude": 0, "cercles": [
                                        {"code": "C", "name": "C" * 190, "latitude": 0,
                                         "longitude": 0}]}])
    problems = errors_of(screening_text, places=places)
    assert problems and all("node 'where' (cercle R)" in p.message for p in problems)


def test_problems_have_a_json_form_for_the_console(screening_text):
    """The console gets a list of dicts with path, line, severity and message."""
    text = broken(screening_text, "indicators: [debt_bondage]", "indicators: [debt]")
    data = problems_to_json(lint_flow_text(text, "s.yaml"))
    assert json.loads(json.dumps(data)) == [{
        "path": "s.yaml", "line": line_of(text, "indicators: [debt]"), "severity": "error",
        "message": data[0]["message"]}]


def test_lint_paths_reports_missing_files_and_skips_transcripts(tmp_path):
    """Directories give their flow files (not *.test.yaml); a missing path is an error."""
    (tmp_path / "bad.yaml").write_text("id: Bad Id\n", encoding="utf-8")
    (tmp_path / "bad.test.yaml").write_text("not: a flow\n", encoding="utf-8")
    problems = lint_paths([tmp_path, tmp_path / "nope.yaml"])
    assert {p.path for p in problems} == {str(tmp_path / "bad.yaml"),
                                          str(tmp_path / "nope.yaml")}
    assert any("no such file" in p.message for p in problems)


def test_loading_a_broken_flow_raises_with_every_problem(screening_text):
    """load_flow_text raises FlowError listing the problems; the path is the display name."""
    text = broken(screening_text, "indicators: [debt_bondage]", "indicators: [debt]")
    with pytest.raises(FlowError) as err:
        load_flow_text(text, "db:flow/screening@7")
    assert str(err.value).startswith("db:flow/screening@7:")
    assert err.value.problems[0].line == line_of(text, "indicators: [debt]")


def test_loading_from_text_equals_loading_from_the_file(screening_text):
    """The app rebuilds flows from stored text: same nodes, version and texts as the file."""
    from_file = load_flow(SHIPPED / "screening.yaml")
    from_text = load_flow_text(screening_text, "stored")
    assert from_text.version == from_file.version
    assert list(from_text.nodes) == list(from_file.nodes)
    assert from_text.texts == from_file.texts and from_text.problems == []


def test_the_documented_example_flow_is_valid():
    """The annotated example in docs/flows.md loads, lints clean and runs to a case."""
    import re

    from flows import EventKind, start, step

    doc = (SHIPPED.parents[1] / "docs" / "flows.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(id: example.*?)```", doc, re.S).group(1)
    assert lint_flow_text(example, "docs/flows.md") == []
    flow = load_flow_text(example, "docs/flows.md")
    state, out = start(flow, "sms", case_ref="DOC1")
    for reply in ("2", "ok", "yes", "Gao", "1 2", "4"):
        state, out = step(flow, state, reply)
    case = out.event(EventKind.CASE_READY).data
    assert case["variables"]["many"] is True and case["risk_level"] == "critical"
    assert "DOC1" in out.text
