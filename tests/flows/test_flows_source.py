"""Tests of the YAML reader: lines, and refusal of aliases, tags, bombs and deep nesting."""

from __future__ import annotations

import time

import pytest

from flows.errors import FlowError
from flows.source import MAX_DEPTH, line_of, read_yaml


def test_lines_of_keys_and_items_are_recorded():
    """Every key and list item remembers its 1-based line."""
    tree = read_yaml("a: 1\nb:\n  - x: 2\n    y: 3\n  - 4\n", "t.yaml")
    assert tree.key_lines == {"a": 1, "b": 2}
    assert tree["b"].item_lines == [3, 5]
    assert line_of(tree, ("b", 0, "y")) == 4
    assert line_of(tree, ("b", 0, "missing", "deeper")) == 3


def test_answer_words_stay_text():
    """yes/no/on/off stay words (YAML 1.2 booleans), true/false are booleans."""
    tree = read_yaml("w: [yes, no, on, off, true, False, '1', 2]", "t.yaml")
    assert tree["w"] == ["yes", "no", "on", "off", True, False, "1", 2]


def test_alias_is_refused_with_its_line():
    """An alias (the YAML bomb ingredient) is an error at its line."""
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\n'
    with pytest.raises(FlowError) as err:
        read_yaml(bomb, "bomb.yaml")
    problem = err.value.problems[0]
    assert (problem.path, problem.line) == ("bomb.yaml", 2)
    assert "Aliases" in problem.message


def test_python_tags_are_refused():
    """Explicit non-standard tags (such as python objects) are refused."""
    with pytest.raises(FlowError, match="Tags such as"):
        read_yaml("a: !!python/object/apply:os.system ['ls']\n", "t.yaml")


def test_duplicate_key_names_both_lines():
    """A key given twice is an error naming the first line."""
    with pytest.raises(FlowError) as err:
        read_yaml("a: 1\nb: 2\na: 3\n", "t.yaml")
    assert err.value.problems[0].line == 3
    assert "first at line 1" in err.value.problems[0].message


def test_deep_nesting_fails_fast_with_a_clear_error():
    """Deeply nested flow-style lists are refused quickly, not a hang or a crash."""
    deep = "[" * 100_000 + "]" * 100_000
    started = time.perf_counter()
    with pytest.raises(FlowError, match=f"more than {MAX_DEPTH} levels"):
        read_yaml(deep, "deep.yaml")
    assert time.perf_counter() - started < 2


def test_oversized_text_is_refused():
    """A text over the size limit is refused before parsing."""
    with pytest.raises(FlowError, match="too large"):
        read_yaml("a: b\n" * 10, "big.yaml", max_chars=20)


def test_syntax_error_points_at_the_line():
    """Broken YAML is reported with the line of the problem."""
    with pytest.raises(FlowError) as err:
        read_yaml("a: 1\nb: [1, 2\nc: 3\n", "t.yaml")
    assert err.value.problems[0].line >= 2
    assert "not valid YAML" in err.value.problems[0].message


def test_second_document_is_refused():
    """One flow per file: a second YAML document is an error."""
    with pytest.raises(FlowError, match="Only one YAML document"):
        read_yaml("a: 1\n---\nb: 2\n", "t.yaml")
