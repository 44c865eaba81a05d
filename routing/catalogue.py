"""Text catalogue of the routing core: staff SMS, alert labels and explanation sentences."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .errors import CatalogueError

DEFAULT_CATALOGUE_FILE = Path(__file__).resolve().parent / "data" / "messages.yaml"
SMS_LANGUAGES: tuple[str, ...] = ("fr", "bm", "en")
REASON_LANGUAGES: tuple[str, ...] = ("en", "fr")


class Catalogue:
    """The texts of messages.yaml, looked up by section, key and language."""

    def __init__(self, data: dict[str, Any]):
        for section in ("sms", "labels", "reasons"):
            if not isinstance(data.get(section), dict):
                raise CatalogueError(f"the catalogue has no '{section}' section")
        self.sms_texts: dict[str, dict[str, str]] = data["sms"]
        self.labels: dict[str, Any] = data["labels"]
        self.reasons: dict[str, dict[str, str]] = data["reasons"]

    def sms(self, key: str, language: str, **params: Any) -> str:
        """Return the staff SMS `key` in `language` with its placeholders filled.

        Raises CatalogueError when the key or the language is missing.
        """
        return _fill(self._lookup(self.sms_texts, key, language), params)

    def label(self, group: str, key: str | None, language: str) -> str:
        """Return a label (risk, age band, sex, need, ...) in `language`.

        Takes the group and the key (None for single labels such as danger_now). Raises
        CatalogueError when it is missing.
        """
        entries = self.labels.get(group)
        if entries is None:
            raise CatalogueError(f"no label group {group!r}")
        if key is not None:
            entries = entries.get(key)
            if entries is None:
                raise CatalogueError(f"no label {group}.{key}")
        return self._lookup({"_": entries}, "_", language)

    def reason(self, code: str, language: str, params: dict[str, Any]) -> str:
        """Return the explanation sentence for a reason code; raises CatalogueError."""
        return _fill(self._lookup(self.reasons, code, language), params)

    @staticmethod
    def _lookup(table: dict[str, Any], key: str, language: str) -> str:
        entry = table.get(key)
        if not isinstance(entry, dict):
            raise CatalogueError(f"no text {key!r} in the catalogue")
        text = entry.get(language)
        if not isinstance(text, str):
            raise CatalogueError(f"text {key!r} has no {language!r} version")
        return text


def _fill(template: str, params: dict[str, Any]) -> str:
    values = {
        k: ", ".join(str(x) for x in v) if isinstance(v, list | tuple | set | frozenset) else v
        for k, v in params.items()
    }
    try:
        return template.format_map(values)
    except (KeyError, IndexError) as exc:
        raise CatalogueError(f"missing value {exc} for text {template[:40]!r}") from None


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load a catalogue file (default: the shipped routing/data/messages.yaml).

    Raises CatalogueError when a section is missing and OSError when it cannot be read.
    """
    source = Path(path) if path is not None else DEFAULT_CATALOGUE_FILE
    return Catalogue(yaml.safe_load(source.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """Return the shipped catalogue, loaded on first use and shared afterwards."""
    return load_catalogue()


def render_reason(code: str, language: str, params: dict[str, Any]) -> str:
    """Render an explanation sentence from the shipped catalogue."""
    return default_catalogue().reason(code, language, params)
