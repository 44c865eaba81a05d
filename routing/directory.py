"""Provider directory: the model of shelters, police units and services, and its CSV/YAML importer."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from dataclasses import field as dataclass_field  # RowError has an attribute named field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import phonenumbers
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import DirectoryValueError
from .safe_yaml import load_yaml
from .text import normalise, slug
from .vocabulary import GROUPS, PROVIDER_KINDS, SERVICES, Group, ProviderKind, Service

DEFAULT_REGION = "ML"
# +223 20 00 xx xx is not assigned to any Malian operator (libphonenumber rejects it), which
# makes it a safe block for demo data: it can never ring a real person.
FICTITIOUS_PREFIX = "+2232000"
DEMO_PROVIDERS_FILE = Path(__file__).resolve().parent / "data" / "demo_providers.yaml"

# One column set for CSV and YAML, documented in docs/routing.md.
COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "kind",
    "latitude",
    "longitude",
    "place",
    "serves",
    "services",
    "beds_free",
    "hours",
    "languages",
    "contacts",
    "active",
    "demo",
    "publishes_phone",
)
REQUIRED_COLUMNS: frozenset[str] = frozenset(
    {"name", "kind", "latitude", "longitude", "serves", "hours", "languages", "contacts"}
)
LIST_COLUMNS: frozenset[str] = frozenset({"serves", "services", "languages", "contacts"})
BOOLEAN_COLUMNS = {"active": True, "demo": False, "publishes_phone": False}

_DAYS = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
    "lun": 0, "mar": 1, "mer": 2, "jeu": 3, "ven": 4, "sam": 5, "dim": 6,
}  # fmt: skip
_ALWAYS = {"24/7", "24h/24", "24h/7j", "24/24", "always", "toujours"}
_EVERY_DAY = {"daily", "everyday", "tlj"}
_HOURS_PART = re.compile(
    r"^(?P<days>[a-z]{3}(?:-[a-z]{3})?|daily|everyday|tlj)\s+"
    r"(?P<ranges>\d{1,2}[:h]\d{2}\s*-\s*\d{1,2}[:h]\d{2}(?:\s*[ ,]\s*\d{1,2}[:h]\d{2}\s*-\s*\d{1,2}[:h]\d{2})*)$"
)
_RANGE = re.compile(r"(\d{1,2})[:h](\d{2})\s*-\s*(\d{1,2})[:h](\d{2})")
_TRUE = {"yes", "y", "true", "1", "oui", "o", "x"}
_FALSE = {"no", "n", "false", "0", "non", ""}
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class OpeningHours(BaseModel):
    """Weekly opening hours in Mali time: always open, or intervals per weekday.

    `intervals` holds (weekday 0=Monday, start minute, end minute) with end > start; an
    interval written across midnight is stored as two intervals.
    """

    model_config = ConfigDict(frozen=True)

    always_open: bool = False
    intervals: tuple[tuple[int, int, int], ...] = ()
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> OpeningHours:
        """Parse "24/7" or e.g. "mon-fri 08:00-17:00; sat 09:00-13:00" (French days too).

        Raises ValueError with a plain reason when the text does not follow that form.
        """
        raw = " ".join(str(text).split()).lower()
        if raw in _ALWAYS:
            return cls(always_open=True, text="24/7")
        if not raw:
            raise DirectoryValueError("hours_empty", 'hours are empty: write "24/7" or e.g. "mon-fri 08:00-17:00"')
        intervals: list[tuple[int, int, int]] = []
        for part in (p.strip() for p in raw.split(";")):
            if not part:
                continue
            found = _HOURS_PART.match(part)
            if not found:
                raise DirectoryValueError(
                    "hours_unreadable",
                    f'cannot read hours "{part}": write e.g. "mon-fri 08:00-17:00; sat 09:00-13:00"',
                    value=part,
                )
            days = _day_list(found["days"])
            for m in _RANGE.finditer(found["ranges"]):
                start = _minutes(m[1], m[2])
                end = _minutes(m[3], m[4])
                if start == end:
                    raise DirectoryValueError(
                        "hours_same_time", f'hours "{m[0]}" open and close at the same time', value=m[0]
                    )
                for day in days:
                    if end > start:
                        intervals.append((day, start, end))
                    else:  # a night shift: runs on into the next day
                        intervals.append((day, start, 24 * 60))
                        if end:
                            intervals.append(((day + 1) % 7, 0, end))
        return cls(intervals=tuple(sorted(intervals)), text=raw)

    def is_open(self, local: datetime) -> bool:
        """Return whether the provider is open at `local`, a time already in Mali time."""
        if self.always_open:
            return True
        day = local.weekday()
        minute = local.hour * 60 + local.minute
        return any(d == day and s <= minute < e for d, s, e in self.intervals)


def _day_list(spec: str) -> list[int]:
    if spec in _EVERY_DAY:
        return list(range(7))
    names = spec.split("-")
    for name in names:
        if name not in _DAYS:
            raise DirectoryValueError("unknown_day", f'unknown day "{name}": use mon..sun or lun..dim', value=name)
    first = _DAYS[names[0]]
    last = _DAYS[names[-1]]
    return [(first + i) % 7 for i in range((last - first) % 7 + 1)]


def _minutes(hour: str, minute: str) -> int:
    h, m = int(hour), int(minute)
    if h > 24 or m > 59 or (h == 24 and m):
        raise DirectoryValueError("bad_time", f"{hour}:{minute} is not a time of day", value=f"{hour}:{minute}")
    return h * 60 + m


class Contact(BaseModel):
    """A staff phone number in E.164 form, with an optional name, alerted in list order."""

    model_config = ConfigDict(frozen=True)

    phone: str
    name: str | None = None

    @classmethod
    def parse(cls, text: str, *, demo: bool) -> Contact:
        """Parse "Name: number" or "number"; numbers default to Mali (+223).

        Raises ValueError when the number is not a valid phone number, or is in the
        fictitious demo block while the provider is not marked demo.
        """
        name, _, number = str(text).rpartition(":")
        return cls(phone=normalise_phone(number, demo=demo), name=name.strip() or None)


def normalise_phone(text: str, *, demo: bool = False) -> str:
    """Return `text` as an E.164 number, reading it as Malian when it has no country code.

    Raises ValueError with a plain reason when it is not a valid number. Numbers in the
    fictitious block +223 20 00 xx xx are accepted only when `demo` is true.
    """
    raw = str(text).strip()
    if not raw:
        raise DirectoryValueError("no_phone", "a contact has no phone number")
    try:
        number = phonenumbers.parse(raw, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise DirectoryValueError("not_a_phone", f'"{raw}" is not a phone number', value=raw) from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if e164.startswith(FICTITIOUS_PREFIX) and phonenumbers.is_possible_number(number):
        if not demo:
            raise DirectoryValueError(
                "demo_number", f"{e164} is in the fictitious demo block; real providers need real numbers", value=e164
            )
        return e164
    if not phonenumbers.is_valid_number(number):
        raise DirectoryValueError("invalid_phone", f'"{raw}" is not a valid phone number', value=raw)
    return e164


class Provider(BaseModel):
    """One entry of the directory: who they are, where, whom they help, and whom to alert."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str = Field(min_length=1)
    kind: ProviderKind
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    place: str | None = None
    serves: frozenset[Group] = Field(min_length=1)
    services: frozenset[Service] = frozenset()
    beds_free: int | None = Field(default=None, ge=0)
    hours: OpeningHours
    languages: tuple[str, ...] = Field(min_length=1)
    contacts: tuple[Contact, ...] = Field(min_length=1)
    active: bool = True
    demo: bool = False
    publishes_phone: bool = False

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise DirectoryValueError("bad_id", "id must be lower-case letters, digits, '.', '_' or '-'", value=value)
        return value

    @field_validator("languages")
    @classmethod
    def _check_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not _LANGUAGE.match(code):
                raise DirectoryValueError(
                    "bad_language", f'"{code}" is not a language code such as fr, bm or en', value=code
                )
        return value

    @property
    def public_phone(self) -> str | None:
        """Return the number to show callers (the first contact) if the provider publishes it."""
        return self.contacts[0].phone if self.publishes_phone else None


@dataclass(frozen=True)
class RowError:
    """One bad row: its number (CSV: as a spreadsheet shows it, header = row 1; YAML: entry
    number from 1, with `line`), the field at fault and a plain reason.

    `reason` is English; `code` and `params` say the same as data for a console in another language.
    """

    row: int
    reason: str
    field: str | None = None
    line: int | None = None
    code: str = "invalid"
    params: dict[str, Any] = dataclass_field(default_factory=dict)

    def __str__(self) -> str:
        where = f"entry {self.row} (line {self.line})" if self.line else f"row {self.row}"
        return f"{where}: {self.field + ': ' if self.field else ''}{self.reason}"


@dataclass
class ImportResult:
    """Providers from every valid row, and every bad row with its reason."""

    providers: list[Provider] = field(default_factory=list)
    row_errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every row was valid, so an all-or-nothing import may go ahead."""
        return not self.row_errors


def parse_providers(source: str | Path, fmt: Literal["csv", "yaml"] | None = None) -> ImportResult:
    """Validate every row of a provider file and return the providers and the bad rows.

    Takes a path (str or Path) or the file's text, and the format ("csv" or "yaml"; guessed
    from the file name when omitted). CSV rows are numbered as a spreadsheet shows them: the
    header is row 1, the first provider row 2. YAML entries are numbered from 1 in list order
    and carry their line in the file too. The caller decides between
    all-or-nothing (`result.ok`) and importing the valid rows. Raises ValueError when the
    format cannot be told or the file is not CSV/YAML at all.
    """
    text, name = _read(source)
    if fmt is None:
        suffix = Path(name).suffix.lower() if name else ""
        fmt = {".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)  # type: ignore[assignment]
        if fmt is None:
            raise DirectoryValueError("unknown_format", "cannot tell the format: pass fmt='csv' or fmt='yaml'")
    rows = _csv_rows(text) if fmt == "csv" else _yaml_rows(text)
    result = ImportResult()
    seen: dict[str, int] = {}
    for row_number, line, row in rows:
        provider, errors = _provider_from_row(row, row_number, line)
        if provider is not None and provider.id in seen:
            errors.append(
                RowError(
                    row_number,
                    f"id {provider.id!r} is already used by row {seen[provider.id]}",
                    "id",
                    line,
                    "duplicate_id",
                    {"value": provider.id, "other_row": seen[provider.id]},
                )
            )
            provider = None
        if provider is not None:
            seen[provider.id] = row_number
            result.providers.append(provider)
        result.row_errors.extend(errors)
    return result


def load_demo_providers() -> list[Provider]:
    """Return the shipped demo directory of Mali (every entry marked demo).

    Raises ValueError listing the bad rows if the shipped file does not validate.
    """
    result = parse_providers(DEMO_PROVIDERS_FILE, "yaml")
    if not result.ok:
        raise ValueError("\n".join(str(e) for e in result.row_errors))
    return result.providers


def _read(source: str | Path) -> tuple[str, str | None]:
    if isinstance(source, Path):
        return source.read_text(encoding="utf-8-sig"), source.name
    if "\n" not in source and len(source) < 4096:
        path = Path(source)
        if path.suffix.lower() in (".csv", ".yaml", ".yml") and path.exists():
            return path.read_text(encoding="utf-8-sig"), path.name
    return source, None


# No field of a provider comes near this; the csv module's own limit is process-wide and other
# libraries raise it, so it is checked here.
MAX_CELL_CHARS = 10_000
_NOT_A_LIST = "a YAML provider file is a list of providers, or has a 'providers' list"


def _csv_rows(text: str) -> Iterable[tuple[int, int | None, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    failing = 1  # the row a csv.Error belongs to, as a spreadsheet numbers it (the header is 1)
    try:
        _check_cells(reader.fieldnames or [], 1)
        unknown = [c for c in reader.fieldnames or [] if c and c.strip() not in COLUMNS]
        if unknown:
            raise DirectoryValueError(
                "unknown_columns",
                f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}",
                columns=unknown,
                allowed=list(COLUMNS),
            )
        failing = 2
        for index, row in enumerate(reader, start=2):
            failing = index + 1
            _check_cells(row.values(), index)
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue  # a blank spreadsheet line is not a provider
            yield index, None, {k.strip(): v for k, v in row.items() if k}
    except csv.Error as exc:  # e.g. a cell over the csv module's field size limit
        raise DirectoryValueError(
            "not_csv", f"row {failing}: this is not CSV that can be read ({exc})", row=failing
        ) from None


def _check_cells(cells: Iterable[Any], row: int) -> None:
    for cell in cells:
        if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
            raise DirectoryValueError(
                "cell_too_long",
                f"row {row}: a cell has {len(cell)} characters; the limit is {MAX_CELL_CHARS}",
                row=row,
                length=len(cell),
                limit=MAX_CELL_CHARS,
            )


def _yaml_rows(text: str) -> Iterable[tuple[int, int | None, dict[str, Any]]]:
    try:
        data, node = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DirectoryValueError(
            "not_yaml", f"not valid YAML: {exc}", line=mark.line + 1 if mark is not None else None
        ) from None
    if isinstance(data, dict):
        if not isinstance(data.get("providers"), list):
            raise DirectoryValueError("yaml_not_a_list", _NOT_A_LIST)
        items = data["providers"]
        list_node = next((v for k, v in node.value if k.value == "providers"), None)
        if not isinstance(list_node, yaml.SequenceNode):  # it came from a merge key (<<)
            raise DirectoryValueError(
                "yaml_merge_key", "write the 'providers' list out in full, without a merge key (<<)"
            )
    elif isinstance(data, list):
        items, list_node = data, node
    else:
        raise DirectoryValueError("yaml_not_a_list", _NOT_A_LIST)
    for index, (item, item_node) in enumerate(zip(items, list_node.value, strict=True), start=1):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict):
            yield index, line, {"__not_a_mapping__": item}
        else:
            yield index, line, item


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(";") if part.strip()]


def _as_bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "":
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise DirectoryValueError("not_yes_no", f'"{value}" is not yes or no', value=str(value))


def _provider_from_row(row: dict[str, Any], number: int, line: int | None) -> tuple[Provider | None, list[RowError]]:
    errors: list[RowError] = []

    def fail(field_name: str | None, reason: str, code: str = "invalid", **params: Any) -> None:
        errors.append(RowError(number, reason, field_name, line, code, params))

    def fail_with(field_name: str, exc: ValueError) -> None:
        code, params = (exc.code, exc.params) if isinstance(exc, DirectoryValueError) else ("invalid", {})
        fail(field_name, str(exc), code, **params)

    if "__not_a_mapping__" in row:
        fail(None, "this entry is not a set of column: value pairs", "not_a_mapping")
        return None, errors
    for key in row:
        if key not in COLUMNS:
            fail(key, f"unknown column; the columns are {', '.join(COLUMNS)}", "unknown_column", allowed=list(COLUMNS))

    def value(key: str) -> Any:
        raw = row.get(key)
        return raw.strip() if isinstance(raw, str) else raw

    for key in sorted(REQUIRED_COLUMNS):
        raw = value(key)
        if raw is None or raw == "" or raw == []:
            fail(key, "is missing", "missing")
    data: dict[str, Any] = {}
    for key, default in BOOLEAN_COLUMNS.items():
        try:
            data[key] = _as_bool(value(key), default)
        except ValueError as exc:
            fail_with(key, exc)
    demo = bool(data.get("demo", False))

    name = value("name")
    if name:
        data["name"] = str(name)
    raw_id = value("id")
    if raw_id:
        data["id"] = str(raw_id)
    elif name:
        # Operators may leave the id out; the name (and place) then make a stable one.
        data["id"] = slug(f"{name} {value('place') or ''}")[:64].strip("-")
    for key in ("kind", "place"):
        raw = value(key)
        if raw:
            data[key] = normalise(str(raw)).replace(" ", "_") if key == "kind" else str(raw)
    for key in ("latitude", "longitude"):
        raw = value(key)
        if raw not in (None, ""):
            try:
                data[key] = float(str(raw).replace(",", "."))
            except ValueError:
                fail(key, f'"{raw}" is not a number in decimal degrees', "not_a_number", value=str(raw))
    raw_beds = value("beds_free")
    if raw_beds not in (None, ""):
        try:
            data["beds_free"] = int(str(raw_beds))
        except ValueError:
            fail("beds_free", f'"{raw_beds}" is not a whole number of beds', "not_whole_beds", value=str(raw_beds))
    for key in ("serves", "services"):
        items = [normalise(v).replace(" ", "_") for v in _as_list(value(key))]
        data[key] = items
    data["languages"] = [v.lower() for v in _as_list(value("languages"))]
    raw_hours = value("hours")
    if raw_hours not in (None, ""):
        try:
            data["hours"] = OpeningHours.parse(str(raw_hours))
        except ValueError as exc:
            fail_with("hours", exc)
    contacts: list[Contact] = []
    for item in _as_list(value("contacts")):
        try:
            contacts.append(Contact.parse(item, demo=demo))
        except ValueError as exc:
            fail_with("contacts", exc)
    data["contacts"] = contacts
    if errors:
        # Report the model's own complaints too, so the operator fixes the row in one go.
        _model_errors(data, fail, skip={e.field for e in errors})
        return None, errors
    try:
        return Provider.model_validate(data), errors
    except ValidationError as exc:
        _translate(exc, fail)
        return None, errors


def _model_errors(data: dict[str, Any], fail, skip: set[str | None]) -> None:
    try:
        Provider.model_validate(data)
    except ValidationError as exc:
        _translate(exc, fail, skip=skip)


def _translate(exc: ValidationError, fail, skip: set[str | None] = frozenset()) -> None:
    """Turn pydantic's errors into the plain sentences an operator reads (and their codes)."""
    allowed = {"kind": PROVIDER_KINDS, "serves": GROUPS, "services": SERVICES}
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else None
        if key in skip:
            continue
        kind = error["type"]
        given = error.get("input")
        cause = (error.get("ctx") or {}).get("error")
        if kind == "missing":
            fail(key, "is missing", "missing")
        elif kind == "literal_error" and key in allowed:
            fail(
                key,
                f'"{given}" is not a known {key} value; use one of: {", ".join(allowed[key])}',
                "unknown_value",
                value=str(given),
                allowed=list(allowed[key]),
            )
        elif kind in ("greater_than_equal", "less_than_equal") and key in ("latitude", "longitude"):
            limit = 90 if key == "latitude" else 180
            fail(key, f"{given} is out of range (-{limit} to {limit})", "out_of_range", value=given, limit=limit)
        elif kind == "greater_than_equal" and key == "beds_free":
            fail(key, f"{given} beds cannot be negative", "negative_beds", value=given)
        elif kind == "too_short":
            fail(key, "is missing", "missing")
        elif isinstance(cause, DirectoryValueError):
            fail(key, str(cause), cause.code, **cause.params)
        else:
            fail(key, error["msg"].removeprefix("Value error, "))
