"""``python -m bot nlu check``: finds mistakes in the NLU data before they cost quality.

Every problem names the file and line, so a trainer can go straight there::

    data/nlu/nn/smalltalk.yml:42: "takk for hjelpa" is an example of both thanks and goodbye (also data/nlu/nn/smalltalk.yml:97)

Errors (the command exits with status 1):

* an intent with fewer than ``minimum_examples`` examples in a language;
* the same example under two intents (after ignoring case, punctuation and spacing);
* near-duplicates under different intents (character similarity of at least ``near_duplicate``);
* an example whose detected language clearly (a *strong* detection) differs from its file's;
* an intent with examples in one language but not in another;
* a response without a variation for one of the languages;
* an intent in the data but not in the domain, or in the domain with no examples (unless it is
  listed under ``payload_only_intents``);
* a held-out test example (``tests/nlu/``) that is also a training example, or whose intent is
  not in the domain; an intent with fewer than ``minimum_held_out`` held-out examples in a
  language it has training examples in.

Warnings (printed, not failing): the same example twice under one intent.

The thresholds and the payload-only intents are in ``data/nlu_check.yml``.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import yaml

from bot.core.config import PROJECT_ROOT
from bot.language import detector
from bot.core.languages import LANGUAGES

SETTINGS_FILE = PROJECT_ROOT / "data" / "nlu_check.yml"
DEFAULT_SETTINGS = {"minimum_examples": 20, "minimum_held_out": 10, "near_duplicate": 0.9, "payload_only_intents": []}

# Rasa's inline entity annotation: [text](entity) or [text]{"entity": ...}
_ANNOTATION = re.compile(r"\[([^\]]+)\](\([^)]*\)|\{[^}]*\})")
_PUNCTUATION = re.compile(r"[^\w\s]")


@dataclass(frozen=True)
class Example:
    """One training or test example where it was written.

    Attributes:
        text: the example as the model sees it (entity annotations removed).
        intent: its intent.
        language: the language of its file (the name of its folder, or of the file in tests/nlu).
        path: the file.
        line: the 1-based line of the example.
    """

    text: str
    intent: str
    language: str
    path: Path
    line: int


@dataclass(frozen=True)
class Problem:
    """Something a trainer should fix, at a place in a file."""

    path: Path
    line: int
    message: str
    error: bool = True

    def render(self, root: Path = PROJECT_ROOT) -> str:
        """``path:line: message`` with the path relative to the project when it lies inside it."""
        try:
            shown = self.path.resolve().relative_to(root.resolve())
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}: {'' if self.error else 'warning: '}{self.message}"


@dataclass
class Report:
    """What ``check`` found."""

    problems: List[Problem] = field(default_factory=list)
    examples: int = 0
    files: int = 0

    @property
    def errors(self) -> List[Problem]:
        return [p for p in self.problems if p.error]

    def lines(self, root: Path = PROJECT_ROOT) -> List[str]:
        """The problems in file and line order, then a summary."""
        ordered = sorted(self.problems, key=lambda p: (str(p.path), p.line, p.message))
        warnings = len(self.problems) - len(self.errors)
        summary = (f"nlu check: {self.examples} examples in {self.files} files: "
                   f"{len(self.errors)} error(s), {warnings} warning(s)")
        return [p.render(root) for p in ordered] + [summary]


def normalise(text: str) -> str:
    """The form in which two examples count as the same: case, punctuation and spacing ignored."""
    text = unicodedata.normalize("NFC", text).casefold()
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def _where(path: Path, root: Path = PROJECT_ROOT) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------------------
# Reading files with line numbers


def _compose(path: Path, problems: List[Problem]) -> Optional[yaml.Node]:
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problems.append(Problem(path, (mark.line + 1) if mark else 1, f"not valid YAML: {error.problem}"))
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(path, 1, f"cannot be read: {error}"))
    return None


def _mapping_get(node: yaml.Node, key: str) -> Optional[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return value_node
    return None


def _example_lines(path: Path, source_lines: Sequence[str], node: yaml.ScalarNode) -> List[Tuple[int, str]]:
    """(line, text) of each ``- example`` of an ``examples`` block, with the line it is written on."""
    found: List[Tuple[int, str]] = []
    if node.style in ("|", ">"):
        # A block scalar starts on the line after its indicator and ends before end_mark.
        indent = None
        for index in range(node.start_mark.line + 1, min(node.end_mark.line + 1, len(source_lines))):
            raw = source_lines[index]
            stripped = raw.strip()
            if not stripped:
                continue
            # The block ends at the first line indented less than its content (the next entry).
            here = len(raw) - len(raw.lstrip())
            indent = here if indent is None else indent
            if here < indent:
                break
            if stripped.startswith("- ") or stripped == "-":
                found.append((index + 1, stripped[1:].strip()))
        return found
    for offset, raw in enumerate(str(node.value).splitlines()):
        stripped = raw.strip()
        if stripped.startswith("- "):
            found.append((node.start_mark.line + 1 + offset, stripped[2:].strip()))
    return found


def read_examples(path: Path, language: str, problems: List[Problem]) -> List[Example]:
    """Reads the intent examples of one Rasa NLU YAML file, each with its line number.

    Args:
        path: the file.
        language: the language its examples should be written in.
        problems: where unreadable files and malformed entries are reported.

    Returns:
        The examples in file order.
    """
    root = _compose(path, problems)
    if root is None:
        return []
    nlu = _mapping_get(root, "nlu")
    if nlu is None:
        problems.append(Problem(path, 1, "has no 'nlu:' section, so Rasa ignores it"))
        return []
    if not isinstance(nlu, yaml.SequenceNode):
        problems.append(Problem(path, nlu.start_mark.line + 1, "'nlu:' must be a list of '- intent:' entries"))
        return []
    source_lines = path.read_text(encoding="utf-8").splitlines()
    examples: List[Example] = []
    for item in nlu.value:
        intent_node = _mapping_get(item, "intent")
        if intent_node is None:
            continue  # synonyms, regexes and lookup tables are not examples
        intent = str(intent_node.value).strip()
        block = _mapping_get(item, "examples")
        if not isinstance(block, yaml.ScalarNode):
            problems.append(Problem(path, intent_node.start_mark.line + 1, f"intent {intent} has no 'examples: |' block"))
            continue
        for line, raw in _example_lines(path, source_lines, block):
            text = _ANNOTATION.sub(r"\1", raw).strip()
            if not text:
                problems.append(Problem(path, line, f"an empty example under {intent}"))
                continue
            examples.append(Example(text, intent, language, path, line))
    return examples


@dataclass
class Domain:
    """What the check needs from the domain: intents and the languages of each response."""

    intents: Dict[str, Tuple[Path, int]] = field(default_factory=dict)
    responses: Dict[str, Tuple[Path, int, Set[str]]] = field(default_factory=dict)


def read_domain(path: Path, problems: List[Problem]) -> Domain:
    """Reads intents and response languages (``condition`` on the ``language`` slot) with line numbers.

    Args:
        path: ``domain.yml`` or a folder of domain files.
        problems: where unreadable files are reported.
    """
    domain = Domain()
    files = sorted(path.rglob("*.yml")) if path.is_dir() else [path]
    for file in files:
        root = _compose(file, problems)
        if root is None:
            continue
        intents = _mapping_get(root, "intents")
        if isinstance(intents, yaml.SequenceNode):
            for item in intents.value:
                name_node = item if isinstance(item, yaml.ScalarNode) else (item.value[0][0] if isinstance(item, yaml.MappingNode) and item.value else None)
                if name_node is not None:
                    domain.intents[str(name_node.value)] = (file, name_node.start_mark.line + 1)
        responses = _mapping_get(root, "responses")
        if isinstance(responses, yaml.MappingNode):
            for key_node, variations in responses.value:
                languages: Set[str] = set()
                if isinstance(variations, yaml.SequenceNode):
                    for variation in variations.value:
                        conditions = _mapping_get(variation, "condition")
                        for condition in getattr(conditions, "value", None) or []:
                            name, value = _mapping_get(condition, "name"), _mapping_get(condition, "value")
                            if name is not None and value is not None and name.value == "language":
                                languages.add(str(value.value))
                domain.responses[str(key_node.value)] = (file, key_node.start_mark.line + 1, languages)
    return domain


# ------------------------------------------------------------------------------------------
# The checks


def _too_few(examples: Sequence[Example], minimum: int) -> Iterable[Problem]:
    by_place: Dict[Tuple[str, str], List[Example]] = defaultdict(list)
    for example in examples:
        by_place[(example.language, example.intent)].append(example)
    for (language, intent), found in sorted(by_place.items()):
        if len(found) < minimum:
            yield Problem(found[0].path, found[0].line,
                          f"intent {intent} has only {len(found)} example(s) in {language}; write at least {minimum}")


def _duplicates(examples: Sequence[Example]) -> Iterable[Problem]:
    seen: Dict[str, Example] = {}
    for example in examples:
        key = normalise(example.text)
        first = seen.get(key)
        if first is None:
            seen[key] = example
        elif first.intent != example.intent:
            yield Problem(example.path, example.line,
                          f"\"{example.text}\" is an example of both {example.intent} and {first.intent} "
                          f"(also {_where(first.path)}:{first.line}); keep it under one intent")
        elif first.language == example.language:
            yield Problem(example.path, example.line,
                          f"\"{example.text}\" is already an example of {example.intent} "
                          f"({_where(first.path)}:{first.line})", error=False)


def _near_duplicates(examples: Sequence[Example], threshold: float) -> Iterable[Problem]:
    """Pairs under different intents that differ by a letter or two: the model cannot learn both."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    unique: Dict[str, Example] = {}
    for example in examples:
        unique.setdefault(normalise(example.text), example)
    keys = [k for k in unique if k]
    if len(keys) < 2:
        return
    # Character n-gram cosine finds the candidates quickly; difflib's ratio decides.
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit_transform(keys)
    similarity = (matrix @ matrix.T).tocoo()
    for i, j, cosine in zip(similarity.row, similarity.col, similarity.data):
        if i >= j or cosine < threshold - 0.15:
            continue
        first, second = unique[keys[i]], unique[keys[j]]
        if first.intent == second.intent:
            continue
        ratio = difflib.SequenceMatcher(None, keys[i], keys[j]).ratio()
        if ratio >= threshold:
            later, earlier = sorted((first, second), key=lambda e: (str(e.path), e.line), reverse=True)
            yield Problem(later.path, later.line,
                          f"\"{later.text}\" ({later.intent}) is nearly the same as \"{earlier.text}\" "
                          f"({earlier.intent}, {_where(earlier.path)}:{earlier.line}); make them clearly "
                          f"different or keep one")


def _wrong_language(examples: Sequence[Example]) -> Iterable[Problem]:
    for example in examples:
        detection = detector.detect(example.text)
        # Only strong detections: "hei" or "takk" are right in any Norwegian file.
        if detection.strong and detection.language != example.language:
            yield Problem(example.path, example.line,
                          f"\"{example.text}\" looks like {detection.language}, not {example.language} "
                          f"({detection.confidence:.0%} sure); move it to the {detection.language} folder or "
                          f"rewrite it in {example.language}")


def _missing_languages(examples: Sequence[Example], languages: Sequence[str]) -> Iterable[Problem]:
    first_of: Dict[str, Example] = {}
    present: Dict[str, Set[str]] = defaultdict(set)
    for example in examples:
        first_of.setdefault(example.intent, example)
        present[example.intent].add(example.language)
    for intent, found in sorted(present.items()):
        for language in languages:
            if language not in found:
                where = first_of[intent]
                yield Problem(where.path, where.line,
                              f"intent {intent} has examples in {', '.join(sorted(found))} but none in {language}")


def _domain_problems(examples: Sequence[Example], domain: Domain, payload_only: Set[str],
                     languages: Sequence[str], domain_path: Path) -> Iterable[Problem]:
    in_data: Dict[str, Example] = {}
    for example in examples:
        in_data.setdefault(example.intent, example)
    for intent, example in sorted(in_data.items()):
        if intent not in domain.intents:
            yield Problem(example.path, example.line, f"intent {intent} is not in the domain ({_where(domain_path)}); "
                                                      f"add it under 'intents:' or correct the name")
        elif intent in payload_only:
            yield Problem(example.path, example.line,
                          f"intent {intent} is listed as payload-only in {_where(SETTINGS_FILE)} but has examples")
    for intent, (path, line) in sorted(domain.intents.items()):
        if intent not in in_data and intent not in payload_only:
            yield Problem(path, line, f"intent {intent} has no examples in data/nlu (add some, or list it under "
                                      f"payload_only_intents in {_where(SETTINGS_FILE)} if only buttons send it)")
    for name, (path, line, found) in sorted(domain.responses.items()):
        missing = [language for language in languages if language not in found]
        if missing:
            yield Problem(path, line, f"response {name} has no variation for language {', '.join(missing)} "
                                      f"(condition on the language slot)")


def _held_out_problems(training: Sequence[Example], held_out: Sequence[Example], domain: Domain,
                       shared_file: Optional[Path], problems: List[Problem],
                       minimum_held_out: int = 10) -> Iterable[Problem]:
    trained = {normalise(e.text): e for e in training}
    for example in held_out:
        twin = trained.get(normalise(example.text))
        if twin is not None:
            yield Problem(example.path, example.line,
                          f"held-out example \"{example.text}\" is also a training example "
                          f"({_where(twin.path)}:{twin.line}); the test would flatter the model")
        if domain.intents and example.intent not in domain.intents:
            yield Problem(example.path, example.line, f"intent {example.intent} is not in the domain")
    trained_intents: Dict[str, Set[str]] = defaultdict(set)
    for example in training:
        trained_intents[example.language].add(example.intent)
    tested: Dict[str, Dict[str, int]] = defaultdict(lambda: defaultdict(int))
    files: Dict[str, Path] = {}
    for example in held_out:
        tested[example.language][example.intent] += 1
        files.setdefault(example.language, example.path)
    for language, path in sorted(files.items()):
        for intent in sorted(trained_intents[language]):
            if tested[language][intent] < minimum_held_out:
                yield Problem(path, 1, f"intent {intent} has {tested[language][intent]} held-out example(s) in "
                                       f"{language}; write at least {minimum_held_out} that are not training examples")
    if shared_file is None or not shared_file.exists():
        return
    root = _compose(shared_file, problems)
    texts = {(e.language, e.text) for e in held_out}
    if isinstance(root, yaml.MappingNode):
        for language_node, entries in root.value:
            for text_node, _ in getattr(entries, "value", None) or []:
                if (language_node.value, text_node.value) not in texts:
                    yield Problem(shared_file, text_node.start_mark.line + 1,
                                  f"\"{text_node.value}\" is not a held-out example in tests/nlu/{language_node.value}.yml")


def load_settings(path: Path = SETTINGS_FILE) -> Dict[str, object]:
    """The check's thresholds and payload-only intents (defaults when the file is missing)."""
    settings = dict(DEFAULT_SETTINGS)
    if path.exists():
        settings.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return settings


def training_examples(nlu_dir: Path, languages: Sequence[str], problems: List[Problem]) -> Tuple[List[Example], int]:
    """All examples of ``nlu_dir/<lang>/*.yml`` and the number of files read."""
    examples: List[Example] = []
    files = 0
    for language in languages:
        folder = nlu_dir / language
        for path in sorted(folder.rglob("*.yml")) + sorted(folder.rglob("*.yaml")):
            files += 1
            examples.extend(read_examples(path, language, problems))
        if not folder.is_dir():
            problems.append(Problem(nlu_dir, 1, f"there is no folder for language {language} ({_where(folder)})"))
    return examples, files


def check(
    nlu_dir: Path = PROJECT_ROOT / "data" / "nlu",
    domain_path: Path = PROJECT_ROOT / "domain.yml",
    tests_dir: Optional[Path] = PROJECT_ROOT / "tests" / "nlu",
    languages: Sequence[str] = LANGUAGES,
    settings: Optional[Dict[str, object]] = None,
) -> Report:
    """Checks the NLU training data, the domain and the held-out test examples.

    Args:
        nlu_dir: folder with one sub-folder of YAML files per language.
        domain_path: the domain file (or folder).
        tests_dir: held-out examples, ``<lang>.yml`` per language (None: not checked).
        languages: the languages every intent and response must have.
        settings: thresholds and payload-only intents (default: ``data/nlu_check.yml``).

    Returns:
        The problems found, with counts of what was read.
    """
    settings = {**DEFAULT_SETTINGS, **(settings if settings is not None else load_settings())}
    report = Report()
    problems = report.problems
    examples, report.files = training_examples(nlu_dir, languages, problems)
    report.examples = len(examples)
    domain = read_domain(domain_path, problems)
    report.files += 1
    payload_only = set(settings.get("payload_only_intents") or [])
    problems.extend(_too_few(examples, int(settings["minimum_examples"])))
    problems.extend(_duplicates(examples))
    problems.extend(_near_duplicates(examples, float(settings["near_duplicate"])))
    problems.extend(_wrong_language(examples))
    problems.extend(_missing_languages(examples, languages))
    problems.extend(_domain_problems(examples, domain, payload_only, languages, domain_path))
    if tests_dir is not None and tests_dir.is_dir():
        held_out: List[Example] = []
        for language in languages:
            path = tests_dir / f"{language}.yml"
            if path.exists():
                report.files += 1
                held_out.extend(read_examples(path, language, problems))
        report.examples += len(held_out)
        problems.extend(_duplicates(held_out))
        problems.extend(_held_out_problems(examples, held_out, domain, tests_dir / "shared_languages.yml", problems,
                                           int(settings["minimum_held_out"])))
    return report
