"""Sandboxed Jinja2 templates and conditions, compiled once per source text, with name checks.

Each source is parsed once: the same syntax tree gives the free variable names (for the
linter) and the compiled code. Compiled objects are immutable and shared through a cache,
so reloading a flow version, or a condition repeated across nodes, costs nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, filters, nodes, pass_eval_context
from jinja2.environment import TemplateExpression
from jinja2.exceptions import SecurityError
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

# Names every template and condition may use besides the flow's own variables.
BUILTIN_NAMES = frozenset({
    "lang", "channel", "case_ref", "hotline_number", "answers", "score", "indicators",
    "needs", "lang_preset", "indicator_labels",
})

# A flow text is a few SMS at most: a template that builds more than this is abusing the sandbox.
MAX_VALUE_SIZE = 10_000
MAX_RANGE = 1_000
MAX_POWER_BITS = 4_096
# String methods that pad or grow a text by an argument; flows have filters for what they need.
_GROWING_STR_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "format",
                                  "format_map", "replace"})
# printf-style widths or precisions given by '*' or with five digits or more.
_WIDE_SPEC = re.compile(r"%[-#0 +]*(?:\*|\d{5,}|\d*\.(?:\*|\d{5,}))")


def _check_size(size: int) -> None:
    if size > MAX_VALUE_SIZE:
        raise SecurityError(f"the value would have {size} items or characters; a flow text may "
                            f"build at most {MAX_VALUE_SIZE}")


def _check_printf(text: Any) -> None:
    if isinstance(text, str) and _WIDE_SPEC.search(text):
        raise SecurityError("a format width or precision of '*' or over 9999 is not allowed")


class FlowSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, also bounded in size: no power, repeat, format or padding builds a huge value.

    Immutable: a template cannot change the answers it reads (`answers.clear()`) nor grow a
    list in a loop (`l.extend(l)` doubles it on every turn).

    Intercepting the operators also stops Jinja folding `'a' * 10**9` into a constant while the
    flow is compiled, which would hang the loader before any render.
    """

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
            if right > 0 and left.bit_length() * right > MAX_POWER_BITS:
                raise SecurityError("the power is too large for a flow text")
        elif operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                    _check_size(len(sequence) * times)
        elif operator == "%":
            _check_printf(left)
        result = super().call_binop(context, operator, left, right)
        if operator == "+" and isinstance(result, str | list | tuple):
            _check_size(len(result))
        return result

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in _GROWING_STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # str.format pads to any width ('{:>999999999}'); the sandbox would otherwise allow it.
        return _refuse_str_format if super().wrap_str_format(value) is not None else None


def _refuse_str_format(*args: Any, **kwargs: Any) -> str:
    raise SecurityError("str.format is not allowed in flow texts; use the format filter")


def _small_range(*args: int) -> range:
    numbers = range(*args)  # lazy: only its length is computed here
    if abs(numbers.stop - numbers.start) > MAX_RANGE * abs(numbers.step) or len(numbers) > MAX_RANGE:
        raise SecurityError(f"a range of more than {MAX_RANGE} numbers is not allowed in flow texts")
    return numbers


def _center(value: Any, width: int = 80) -> str:
    _check_size(width if isinstance(width, int) else 0)
    return filters.do_center(value, width)


def _indent(text: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    pad = width if isinstance(width, int) else len(str(width))
    _check_size(len(str(text)) + pad * (str(text).count("\n") + 1))
    return filters.do_indent(text, width, first, blank)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_printf(value)
    return filters.do_format(value, *args, **kwargs)


@pass_eval_context
def _replace(eval_ctx: Any, text: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old, new = str(text), str(old), str(new)
    _check_size(len(text) + (text.count(old) if old else len(text) + 1) * max(0, len(new) - len(old)))
    return filters.do_replace(eval_ctx, text, old, new, count)


ENVIRONMENT = FlowSandbox(undefined=StrictUndefined, autoescape=False,
                          trim_blocks=True, lstrip_blocks=True)
ENVIRONMENT.globals["range"] = _small_range
# lipsum writes any amount of text and namespace lets a loop grow a value: no flow needs them.
del ENVIRONMENT.globals["lipsum"], ENVIRONMENT.globals["namespace"]
ENVIRONMENT.filters.update(center=_center, indent=_indent, format=_format, replace=_replace)


class Answers(dict):
    """The answers mapping seen by templates: a node not answered yet reads as None."""

    def __missing__(self, key: str) -> None:
        return None


def is_template(text: str) -> bool:
    """Return True when `text` holds Jinja markup and must be rendered."""
    return "{{" in text or "{%" in text


@lru_cache(maxsize=8192)
def analyse_template(source: str) -> tuple[Any, frozenset[str], frozenset[str]]:
    """Compile a text template once; return (template, free names, answers.X node ids).

    Raises jinja2.TemplateSyntaxError when the source does not parse or compile.
    """
    tree = ENVIRONMENT.parse(source)
    _refuse_unsafe(tree)
    names, answer_ids = _names(tree)
    return ENVIRONMENT.from_string(tree), names, answer_ids


@lru_cache(maxsize=8192)
def analyse_condition(source: str) -> tuple[Callable[..., Any], frozenset[str],
                                            frozenset[str]]:
    """Compile an expression such as `danger_now and age < 18` once.

    Returns (callable taking a mapping of names, free names, answers.X node ids). Raises
    jinja2.TemplateSyntaxError when it does not parse or compile.
    """
    parser = Parser(ENVIRONMENT, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        token = parser.stream.current
        raise TemplateSyntaxError(f"unexpected {token.value!r} after the expression",
                                  token.lineno)
    expr.set_environment(ENVIRONMENT)
    _refuse_unsafe(nodes.Output([expr], lineno=1))
    # find_all() yields descendants only, so look from a wrapper to see a bare name too.
    names, answer_ids = _names(nodes.Output([expr], lineno=1))
    body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
    template = ENVIRONMENT.from_string(nodes.Template(body, lineno=1))
    return TemplateExpression(template, False), names, answer_ids


def compile_template(source: str) -> Any:
    """Return the compiled template of `source`; raises jinja2.TemplateSyntaxError."""
    return analyse_template(source)[0]


def compile_condition(source: str) -> Callable[..., Any]:
    """Return the compiled expression of `source`; raises jinja2.TemplateSyntaxError."""
    return analyse_condition(source)[0]


def _names(tree: nodes.Node) -> tuple[frozenset[str], frozenset[str]]:
    # Names read but never assigned in the source ({% set %} and loop targets are local).
    loaded = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    stored = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    answer_ids: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node
        if isinstance(target, nodes.Name) and target.name == "answers":
            if isinstance(node, nodes.Getattr):
                answer_ids.add(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                answer_ids.add(node.arg.value)
    return frozenset(loaded - stored - {"loop", "range", "dict", "cycler", "joiner"}), \
        frozenset(answer_ids)


def _refuse_unsafe(tree: nodes.Node) -> None:
    """Raise TemplateSyntaxError for what the sandbox would refuse or could not bound at render.

    Internal names (a leading '_', the way out of every sandbox escape) are refused here so
    the linter shows an error at the text's line instead of a failed render. Macros, call
    blocks, recursive or nested loops and other templates are refused because they are the
    ways to run a template for ever; flow texts need none of them.
    """
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem):
            name = node.arg.value if isinstance(node.arg, nodes.Const) else None
        else:
            name = (node.args[0].value if node.name == "attr" and node.args
                    and isinstance(node.args[0], nodes.Const) else None)
        if isinstance(name, str) and name.startswith("_"):
            raise TemplateSyntaxError(f"'{name}' is internal: flow texts may not use names that "
                                      "start with '_'", node.lineno)
    refused = (nodes.Macro, nodes.CallBlock, nodes.Extends, nodes.Include, nodes.Import,
               nodes.FromImport, nodes.Block)
    for node in tree.find_all(refused):
        raise TemplateSyntaxError(f"'{type(node).__name__.lower()}' is not allowed in flow texts",
                                  node.lineno)
    for loop in tree.find_all(nodes.For):
        if loop.recursive or any(True for _ in loop.find_all(nodes.For)):
            raise TemplateSyntaxError("a loop inside a loop (or a recursive loop) is not allowed "
                                      "in flow texts", loop.lineno)


__all__ = ["BUILTIN_NAMES", "ENVIRONMENT", "Answers", "TemplateSyntaxError",
           "analyse_condition", "analyse_template", "compile_condition", "compile_template",
           "is_template"]
