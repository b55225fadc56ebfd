"""Reading the YAML files of municipality profiles and locales, and reporting their problems.

Profiles and locale files are written by non-programmers, so every problem of a file is collected
and reported at once as ``<file>: <field>: <what is wrong>``.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple

import yaml

from bot.core.config import PROJECT_ROOT
from bot.core.languages import LANGUAGES

SUPPORTED_LANGUAGES: Tuple[str, ...] = LANGUAGES
SUPPORTED_COUNTRIES: Tuple[str, ...] = ("NO", "SE")
WEEKDAYS: Tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# --------------------------------------------------------------------------------------------
# YAML reading
# --------------------------------------------------------------------------------------------


class _ProfileLoader(yaml.SafeLoader):
    """A YAML loader without the YAML 1.1 surprises that bite non-programmers.

    Plain YAML reads ``NO`` (Norway) as ``false``, ``12:00`` as the number 720 (base 60) and
    ``2026-12-23`` as a date object. Here only true/false are booleans, only plain digits are
    numbers and everything else stays the text that was written.
    """


_ProfileLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in (
            "tag:yaml.org,2002:bool",
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:timestamp",
        )
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ProfileLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_ProfileLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))


def _display_path(path: Path) -> str:
    """Returns the path as a trainer would type it: relative to the project when inside it."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


class MunicipalityError(ValueError):
    """A municipality profile (or a locale file) is missing or has fields that cannot be used.

    Attributes:
        path: the file in question, as shown in the message.
        problems: ``(field, problem)`` pairs; the field is a dotted path such as
            ``opening_hours.monday`` or ``special_days[2].hours`` ("" for the file as a whole).
    """

    def __init__(self, path: Path | str, problems: Sequence[Tuple[str, str]]):
        self.path = _display_path(Path(path))
        self.problems = list(problems)
        lines = [f"{field}: {problem}" if field else problem for field, problem in self.problems]
        if len(lines) == 1:
            message = f"{self.path}: {lines[0]}"
        else:
            message = f"{self.path}: {len(lines)} problems:\n" + "\n".join(f"  - {line}" for line in lines)
        super().__init__(message)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MunicipalityError(path, [("", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise MunicipalityError(path, [("", f"cannot be read ({error})")]) from error
    try:
        return yaml.load(text, Loader=_ProfileLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise MunicipalityError(path, [("", f"{where}not valid YAML ({problem})")]) from error


class _Problems:
    """Collects every problem of a file so a trainer can fix them all in one go."""

    def __init__(self, path: Path):
        self.path = path
        self.items: list[Tuple[str, str]] = []

    def add(self, field: str, problem: str) -> None:
        self.items.append((field, problem))

    def raise_if_any(self) -> None:
        if self.items:
            raise MunicipalityError(self.path, self.items)


def _check_keys(
    data: Mapping[str, Any], prefix: str, required: Iterable[str], optional: Iterable[str], problems: _Problems
) -> None:
    required = tuple(required)
    known = required + tuple(optional)
    for key in required:
        if key not in data:
            problems.add(f"{prefix}{key}", "missing (this field is required)")
    for key in data:
        if key not in known:
            guess = difflib.get_close_matches(str(key), known, n=1)
            hint = f" – did you mean {guess[0]}?" if guess else f" – known fields: {', '.join(known)}"
            problems.add(f"{prefix}{key}", f"unknown field{hint}")


def _text(value: Any, field: str, problems: _Problems) -> Optional[str]:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        problems.add(field, f"expected a text, got {value!r}")
        return None
    text = str(value).strip()
    if not text:
        problems.add(field, "is empty")
        return None
    return text


def _parse_label(value: Any, field: str, languages: Sequence[str], problems: _Problems) -> Optional[Mapping[str, str]]:
    if not isinstance(value, dict):
        example = ", ".join(f"{lang}: ..." for lang in languages)
        problems.add(field, f"expected the name in each language, like {{{example}}}")
        return None
    label: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in SUPPORTED_LANGUAGES:
            problems.add(f"{field}.{lang}", f"{lang!r} is not a supported language ({', '.join(SUPPORTED_LANGUAGES)})")
            continue
        parsed = _text(text, f"{field}.{lang}", problems)
        if parsed is not None:
            label[lang] = parsed
    for lang in languages:
        if lang not in value:
            problems.add(f"{field}.{lang}", "missing – give the text in every language the municipality offers")
    return MappingProxyType(label)

