"""The engine's generic texts and words per language (flows/catalogue.yaml plus overrides)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from flows.errors import FlowError, FlowProblem
from flows.source import read_yaml

TEXT_KEYS = (
    "invalid", "hint_menu", "hint_menu_multiple", "hint_message", "hint_number",
    "hint_number_range", "hint_age", "hint_yes_no", "hint_pattern", "hint_text",
    "hint_location_text", "more", "back", "continue", "continue_sms", "resume_prompt",
    "resume_continue", "resume_restart", "stopped", "failed_safe", "location_text",
    "location_region", "location_cercle", "location_choose", "location_not_found",
    "location_unknown", "location_none",
)
WORD_KEYS = ("yes", "no", "stop", "help")

CatalogueData = dict[str, dict[str, dict[str, Any]]]


def check_catalogue_data(data: Any, path: str, *, complete: bool) -> list[FlowProblem]:
    """Return the problems of a catalogue mapping {lang: {texts: {...}, words: {...}}}.

    With `complete`, every language must carry every text and word key (the shipped file);
    without it (a flow's overrides) keys may be missing but unknown keys are errors.
    """
    problems: list[FlowProblem] = []

    def add(where: Any, message: str) -> None:
        problems.append(FlowProblem(path, getattr(where, "line", 1) or 1, "error", message))

    if not isinstance(data, dict):
        add(data, "The catalogue must be a mapping of languages.")
        return problems
    for lang, entry in data.items():
        if lang == "version":
            continue
        if not isinstance(entry, dict):
            add(data, f"The catalogue entry for '{lang}' must be a mapping.")
            continue
        for part in entry:
            if part not in ("texts", "words"):
                add(entry, f"Unknown catalogue section '{part}' for '{lang}' "
                           "(use 'texts' and 'words').")
        texts = entry.get("texts") or {}
        words = entry.get("words") or {}
        for key, value in texts.items():
            if key not in TEXT_KEYS:
                add(texts, f"Unknown catalogue text '{key}' for '{lang}'.")
            elif not isinstance(value, str):
                add(texts, f"The catalogue text '{key}' for '{lang}' must be text.")
        for key, value in words.items():
            if key not in WORD_KEYS:
                add(words, f"Unknown catalogue word list '{key}' for '{lang}'.")
            elif not isinstance(value, list) or not all(isinstance(w, str) for w in value):
                add(words, f"The catalogue words '{key}' for '{lang}' must be a list of words.")
        if complete:
            for key in TEXT_KEYS:
                if key not in texts:
                    add(entry, f"The catalogue has no text '{key}' for '{lang}'.")
            for key in WORD_KEYS:
                if key not in words:
                    add(entry, f"The catalogue has no words '{key}' for '{lang}'.")
    return problems


def load_catalogue_text(text: str, path: str = "<catalogue>") -> CatalogueData:
    """Read a complete catalogue from YAML text; raises FlowError naming lines."""
    data = read_yaml(text, path)
    problems = check_catalogue_data(data, path, complete=True)
    if problems:
        raise FlowError(problems)
    return {lang: {"texts": dict(entry.get("texts") or {}),
                   "words": dict(entry.get("words") or {})}
            for lang, entry in data.items() if lang != "version"}


@lru_cache(maxsize=1)
def default_catalogue() -> CatalogueData:
    """Return the shipped catalogue (flows/catalogue.yaml), read once per process."""
    path = Path(__file__).with_name("catalogue.yaml")
    return load_catalogue_text(path.read_text(encoding="utf-8"), str(path))


def merged_catalogue(overrides: Mapping[str, Mapping[str, Any]] | None) -> CatalogueData:
    """Return the default catalogue with a flow's per-language overrides laid over it."""
    merged = {lang: {"texts": dict(e["texts"]), "words": dict(e["words"])}
              for lang, e in default_catalogue().items()}
    for lang, entry in (overrides or {}).items():
        target = merged.setdefault(lang, {"texts": {}, "words": {}})
        target["texts"].update(entry.get("texts") or {})
        target["words"].update(entry.get("words") or {})
    return merged
