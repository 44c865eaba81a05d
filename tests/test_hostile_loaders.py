"""Hostile flow, rules and provider files: problems with a line or a clear error, never a hang, crash or escape."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.exceptions import SecurityError, UndefinedError

from flows import start, step
from flows.errors import FlowProblem
from flows.expressions import analyse_condition, analyse_template
from flows.lint import lint_flow_text, lint_paths
from flows.loader import load_flow_text
from flows.output import EventKind
from routing.directory import COLUMNS, parse_providers
from routing.errors import RulesError
from routing.rules import DEFAULT_RULES_FILE, parse_rules

SHIPPED_FLOW = (DEFAULT_RULES_FILE.parents[2] / "flows" / "shipped" / "rights.yaml").read_text(encoding="utf-8")
SHIPPED_RULES = DEFAULT_RULES_FILE.read_text(encoding="utf-8")

# Nine aliases deep: a billion "lol"s once anything walks the value.
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{new}: &{new} [*{old},*{old},*{old},*{old},*{old},*{old},*{old},*{old},*{old}]\n"
    for old, new in zip("abcdefgh", "bcdefghi", strict=True))
DEEP_LISTS = "a: " + "[" * 10_000 + "]" * 10_000 + "\n"
DEEP_MAPPINGS = "a: " + "{b: " * 5_000 + "1" + "}" * 5_000 + "\n"

MINI_FLOW = """\
id: hostile
version: "1"
title: "Hostile"
languages: [fr]
default_language: fr
start: ask
variables: {danger_now: false}
nodes:
  ask:
    kind: menu
    text: "Bonjour {{ case_ref }}"
    options:
      - value: "yes"
        label: "Oui"
        next: check
  check:
    kind: branch
    branches:
      - when: WHEN
        next: bye
    otherwise: bye
  bye:
    kind: end
    text: TEXT
"""


def mini_flow(text: str = "Merci", when: str = "danger_now") -> str:
    """The small valid flow above with its closing text and branch condition replaced."""
    return MINI_FLOW.replace("TEXT", json.dumps(text)).replace("WHEN", json.dumps(when))


def _problems_have_lines(problems: list[FlowProblem], text: str) -> None:
    lines = text.count("\n") + 1
    for problem in problems:
        assert isinstance(problem, FlowProblem) and problem.severity in ("error", "warning")
        assert 1 <= problem.line <= lines + 1, problem
        assert problem.message.strip()


def _errors(problems: list[FlowProblem]) -> list[FlowProblem]:
    return [p for p in problems if p.severity == "error"]


# ------------------------------------------------------------------------------- flows


def test_the_mini_flow_is_clean():
    """The template the hostile flows start from lints without a problem, so each problem below is the attack's."""
    assert lint_flow_text(mini_flow(), "mini.yaml") == []


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("text", "line", "words"), [
    (BILLION_LAUGHS, 2, "Aliases"),
    (DEEP_LISTS, 1, "nested more than"),
    (DEEP_MAPPINGS, 1, "nested more than"),
    ("a: " + "x" * 600_000, 1, "too large"),
    ("a: !!python/object/apply:os.system ['id']", 1, "Tags such as"),
    ("a: 1\na: 2\n", 2, "appears twice"),
    ("a: [\n", 2, "not valid YAML"),
    ("a: 1\n---\nb: 2\n", 2, "Only one YAML document"),
], ids=["billion-laughs", "10000-nested-lists", "5000-nested-mappings", "600k-scalar", "python-tag",
        "duplicate-key", "unclosed", "two-documents"])
def test_hostile_flow_yaml_is_one_error_with_its_line(text, line, words):
    """YAML bombs, deep nesting, huge scalars, tags, duplicates and broken syntax are an error at a line."""
    problems = lint_flow_text(text, "hostile.yaml")
    assert [(p.line, p.severity) for p in problems] == [(line, "error")] and words in problems[0].message


@pytest.mark.timeout(10)
def test_a_huge_scalar_under_the_size_limit_is_linted_quickly():
    """A 200,000-character text in a valid flow is reported (too long for a screen), not choked on."""
    problems = lint_flow_text(mini_flow("x" * 200_000), "huge.yaml")
    assert _errors(problems) and all(p.line == 24 for p in _errors(problems))


@pytest.mark.timeout(10)
@pytest.mark.parametrize("raw", [b"id: caf\xe9\n", b"\xff\xfe\x00i\x00d\x00", b"id: ok\n\x00\x00\n", b"\xc3\x28: 1"])
def test_a_flow_file_that_is_not_utf8_is_an_error_at_line_one(tmp_path, raw):
    """A flow file with invalid UTF-8 (Latin-1, UTF-16, NULs) is an error naming the file, never an exception."""
    path = tmp_path / "broken.yaml"
    path.write_bytes(raw)
    problems = lint_paths([path])
    assert problems and all(p.path == str(path) and p.line >= 1 for p in problems)
    assert _errors(problems)


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=30)


@pytest.mark.timeout(60)
@settings(max_examples=150, deadline=None)
@given(document=yaml_values)
def test_random_yaml_documents_get_problems_with_lines(document):
    """Any YAML document (random scalars, lists and mappings) lints to problems with lines, never an exception."""
    text = yaml.safe_dump(document, allow_unicode=True)
    _problems_have_lines(lint_flow_text(text, "random.yaml"), text)


@pytest.mark.timeout(60)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_damaged_shipped_flows_get_problems_with_lines(data):
    """A shipped flow with a random slice replaced by random text lints to problems with lines, never a crash."""
    start_at = data.draw(st.integers(0, len(SHIPPED_FLOW)))
    end_at = data.draw(st.integers(start_at, min(len(SHIPPED_FLOW), start_at + 200)))
    junk = data.draw(st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
        ["&x", "*x", "<<: *x", "!!binary", "{{ ''.__class__ }}", "{% for i in range(9) %}", ":\n  -", "\t"]))
    text = SHIPPED_FLOW[:start_at] + junk + SHIPPED_FLOW[end_at:]
    _problems_have_lines(lint_flow_text(text, "damaged.yaml"), text)


SANDBOX_ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ self._TemplateReference__context }}",
    "{{ ''|attr('__class__') }}",
    "{{ case_ref['__class__'] }}",
    "{{ (1).__class__.__base__.__subclasses__() }}",
    "{{ '{0.__class__}'.format(case_ref) }}",
    "{{ case_ref.format_map({}) }}",
    "{{ lipsum.__globals__ }}",
    "{{ config }}",
    "{{ request.application }}",
    "{% extends 'x' %}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("template", SANDBOX_ESCAPES)
def test_sandbox_escapes_in_a_text_are_lint_errors_at_its_line(template):
    """Templates reaching for internals, other templates or unknown globals are errors at the text's node."""
    errors = _errors(lint_flow_text(mini_flow(template), "escape.yaml"))
    assert errors and {p.line for p in errors} <= {22, 24}  # the node 'bye' or its text


@pytest.mark.timeout(10)
@pytest.mark.parametrize("condition", [
    "''.__class__.__mro__", "cycler.__init__.__globals__", "self._TemplateReference__context",
    "(1).__class__.__subclasses__()", "case_ref|attr('__class__')"])
def test_sandbox_escapes_in_a_condition_are_lint_errors(condition):
    """A branch condition reaching for internals is a lint error at the condition's line."""
    problems = lint_flow_text(mini_flow(when=condition), "escape.yaml")
    assert _errors(problems) and {p.line for p in _errors(problems)} <= {19, 20}


@pytest.mark.parametrize("template", [t for t in SANDBOX_ESCAPES if "{{" in t])
def test_sandbox_escapes_never_execute_even_if_compiled(template):
    """Rendering an escape attempt directly is refused by the sandbox (the linter's check is not the only wall)."""
    from flows.expressions import ENVIRONMENT

    compiled = ENVIRONMENT.from_string(template)  # the bare sandbox, without the flow loader's checks
    with pytest.raises((SecurityError, UndefinedError)):
        compiled.render(case_ref="REF")


RESOURCE_ABUSE = [
    "{{ 'a' * 10**9 }}",
    "{{ [1] * 10**9 }}",
    "{{ 2 ** (10**8) }}",
    "{{ range(10**9)|list|length }}",
    "{{ range(5000)|length }}",
    "{{ lipsum(10**6) }}",
    "{{ ''|center(10**9) }}",
    "{{ ''|indent(10**9) }}",
    "{{ '%0999999999d'|format(1) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ 'ab'|replace('a', 'a' * 9000)|replace('a', 'a' * 9000) }}",
    "{% for i in range(999) %}{% for j in range(999) %}{% for k in range(999) %}{% endfor %}{% endfor %}{% endfor %}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
    "{% set l = [1] %}{% for i in range(60) %}{{ l.extend(l) }}{% endfor %}",
    "{{ answers.clear() }}{{ answers.update(danger_now=true) }}",
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("template", RESOURCE_ABUSE)
def test_resource_abuse_in_a_text_is_a_lint_error_found_quickly(template):
    """Huge repeats, powers, ranges, paddings, nested loops, recursion and mutation are lint errors, found quickly."""
    problems = lint_flow_text(mini_flow(template), "abuse.yaml")
    assert _errors(problems), problems


@pytest.mark.timeout(10)
@pytest.mark.parametrize("condition", ["'a' * 10**9", "2 ** (10**8) > 1", "range(10**6)|list", "'%09999999d' % 1"])
def test_resource_abuse_in_a_condition_fails_safe_at_run_time(condition):
    """A condition that would build a huge value compiles quickly and, when reached, ends the session safely."""
    analyse_condition(condition)  # no constant folding at compile time: this returns at once
    flow = load_flow_text(mini_flow(when=condition), "abuse.yaml")
    state, _ = start(flow, "ussd", case_ref="REF00001")
    _, output = step(flow, state, "1")
    assert output.event(EventKind.FAILED_SAFE) is not None and not output.continues
    assert "8000" in output.text or output.text  # the safe closing screen


@pytest.mark.timeout(10)
def test_templates_compile_without_folding_huge_constants():
    """Compiling `'a' * 10**9` (the linter does it for every text) returns at once instead of building 1 GB."""
    analyse_template("{{ 'a' * 10**9 }}{{ [0] * 10**9 }}")


# ------------------------------------------------------------------------------- routing rules


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("text", "line"), [
    (BILLION_LAUGHS + "version: 1\nroles: {shelter: {kinds: *i}}\n", 2),
    (DEEP_LISTS, 1),
    (DEEP_MAPPINGS, 1),
    ("version: !!python/object/apply:os.system ['id']\n", 1),
    ("version: 1\nalerts: [{name: a, roles: [[1], {x: 1}]}]\n", 2),
    ("\x00", 1),
    ("- 1\n- 2\n", 1),
    (SHIPPED_RULES.replace("timezone: Africa/Bamako", "timezone: Africa"), 7),
    (SHIPPED_RULES.replace("timezone: Africa/Bamako", "timezone: Africa/" + "9" * 300), 7),
], ids=["billion-laughs", "deep-lists", "deep-mappings", "python-tag", "unhashable-role", "nul", "a-list",
        "zone-directory", "zone-too-long"])
def test_hostile_rules_files_are_problems_with_lines(text, line):
    """Bombs, deep nesting, tags, lists where names belong, binary text and odd zones are problems with lines."""
    with pytest.raises(RulesError) as refused:
        parse_rules(text, filename="hostile.yaml")
    problems = refused.value.problems
    assert line in {p.line for p in problems}
    assert all(p.file == "hostile.yaml" and p.line >= 1 and p.message.strip() for p in problems)


@pytest.mark.timeout(60)
@settings(max_examples=150, deadline=None)
@given(document=yaml_values)
def test_random_rules_documents_are_rules_or_problems(document):
    """Any YAML document is either valid rules or a RulesError whose problems have lines; nothing else escapes."""
    text = yaml.safe_dump(document, allow_unicode=True)
    try:
        parse_rules(text, filename="random.yaml")
    except RulesError as refused:
        assert all(1 <= p.line <= text.count("\n") + 2 for p in refused.problems)  # + 2: the end of the file


@pytest.mark.timeout(60)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_damaged_shipped_rules_are_rules_or_problems(data):
    """The shipped rules with a random slice replaced by random text load or give problems with lines."""
    start_at = data.draw(st.integers(0, len(SHIPPED_RULES)))
    end_at = data.draw(st.integers(start_at, min(len(SHIPPED_RULES), start_at + 120)))
    junk = data.draw(st.text(st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
        ["&x", "*x", "[[1]]", "{a: [b]}", "- [x]", "!!set {a}", "~", ".nan", "9" * 5000, "\t"]))
    text = SHIPPED_RULES[:start_at] + junk + SHIPPED_RULES[end_at:]
    try:
        parse_rules(text, filename="damaged.yaml")
    except RulesError as refused:
        assert all(1 <= p.line <= text.count("\n") + 2 for p in refused.problems)  # + 2: the end of the file


# ------------------------------------------------------------------------------- provider import

CSV_HEADER = "id,name,kind,latitude,longitude,serves,hours,languages,contacts\n"
GOOD_ROW = "ngo.ok.gao,ONG Gao,ngo,16.27,-0.04,women,24/7,fr,+223 76 12 34 57\n"


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("text", "fmt", "words"), [
    (BILLION_LAUGHS + "providers: *i\n", "yaml", "line 2"),
    ("- " + "[" * 10_000 + "]" * 10_000, "yaml", "nested more than"),
    ("base: {x: 1}\n<<: {providers: []}\n", "yaml", "merge key"),
    ("- !!python/object/apply:os.system ['id']\n", "yaml", "not valid YAML"),
    ("providers: 3\n", "yaml", "'providers' list"),
    (CSV_HEADER + GOOD_ROW + "ngo.big.gao," + "a" * 200_000 + "\n", "csv", "row 3"),
    ("id," + "a" * 200_000 + "\n", "csv", "row 1"),
    ("id,name,colour\n", "csv", "unknown column"),
], ids=["billion-laughs", "deep-lists", "merge-key", "python-tag", "not-a-list", "huge-cell", "huge-header",
        "unknown-column"])
def test_hostile_provider_files_are_a_clear_error(text, fmt, words):
    """Bombs, deep nesting, merge keys, tags and oversized CSV cells are a ValueError that says where."""
    with pytest.raises(ValueError, match=re.escape(words)):
        parse_providers(text, fmt)


@pytest.mark.timeout(10)
def test_nul_and_control_characters_in_csv_rows_are_row_errors():
    """NULs and control characters in CSV cells are bad rows with their spreadsheet row number, or plain text."""
    text = CSV_HEADER + GOOD_ROW + "ngo.nul.gao,ONG\x00Gao,ngo,16.27,-0.04,women,24/7,fr,+223 76 00\x0012 34\n"
    result = parse_providers(text, "csv")
    assert [p.id for p in result.providers] == ["ngo.ok.gao"]
    assert result.row_errors and {e.row for e in result.row_errors} == {3}


FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)",
            "=HYPERLINK(\"http://evil.example\",\"click\")"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_csv_formula_cells_import_as_plain_text(formula):
    """Decision: a spreadsheet formula in a name imports as the plain text it is, stored exactly.

    The directory never writes provider fields back to CSV (the only CSV export is anonymous
    statistics), so there is nothing for a spreadsheet to evaluate; refusing a leading =, +, -
    or @ would also refuse honest names. The console escapes it like any other text.
    """
    quoted = '"' + formula.replace('"', '""') + '"'
    result = parse_providers(CSV_HEADER + GOOD_ROW.replace("ONG Gao", quoted), "csv")
    assert result.ok and [p.name for p in result.providers] == [formula]


csv_cells = st.one_of(st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=20),
                      st.sampled_from(["=1+1", "24/7", "women;girls", "+223 76 12 34 57", "16,27", "\"", "", " "]))


@pytest.mark.timeout(60)
@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.lists(csv_cells, min_size=0, max_size=len(COLUMNS) + 2), min_size=1, max_size=6),
       columns=st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=len(COLUMNS), unique=True))
def test_random_csv_rows_are_providers_or_numbered_row_errors(rows, columns):
    """Random CSV rows under real columns become providers or row errors numbered as a spreadsheet shows them."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    try:
        result = parse_providers(out.getvalue(), "csv")
    except ValueError as refused:
        assert str(refused).strip()
        return
    assert all(2 <= error.row <= len(rows) + 1 and error.reason.strip() for error in result.row_errors)


@pytest.mark.timeout(60)
@settings(max_examples=150, deadline=None)
@given(document=yaml_values)
def test_random_provider_yaml_is_providers_or_a_clear_error(document):
    """Any YAML document is providers, row errors with entry numbers and lines, or a ValueError with a reason."""
    text = yaml.safe_dump(document, allow_unicode=True)
    try:
        result = parse_providers(text, "yaml")
    except ValueError as refused:
        assert str(refused).strip()
        return
    assert all(error.row >= 1 and error.line >= 1 and error.reason.strip() for error in result.row_errors)
