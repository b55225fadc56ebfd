"""Verification of an export package: every checksum recomputed, every difference listed.

``verify(package_dir)`` recognises the package by its description:

* ``arkivuttrekk.xml`` (Noark 5): every file the ADDML lists with a checksum (``arkivstruktur.xml``,
  schema files), then every ``dokumentobjekt`` of ``arkivstruktur.xml`` (``referanseDokumentfil``
  with ``sjekksum``, ``sjekksumAlgoritme`` and ``filstoerrelse``), and the ADDML's
  ``numberOfOccurrences`` against the elements actually in the file.
* ``manifest.json`` (JSON Lines): every file in ``files`` (SHA-256 and size) and the record and
  conversation counts against ``records.jsonl``.

In both, any file in the folder that the description does not list is reported as extra.
Verification reads the package only; it never changes it.
"""
from __future__ import annotations

import hashlib
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Dict, Iterator, List, Optional, Set, Tuple

from bot.archive.export.jsonl import JSONL_MANIFEST, JSONL_RECORDS
from bot.archive.export.identifiers import ARKIVSTRUKTUR, ARKIVSTRUKTUR_NS, ARKIVUTTREKK, DOKUMENT_DIR

_CHUNK = 1 << 16


@dataclass(frozen=True)
class Difference:
    """One way the package differs from its description.

    Attributes:
        kind: ``missing`` (listed, not there), ``changed`` (checksum differs), ``size`` (size
            differs), ``extra`` (there, not listed), ``count`` (element or record count differs),
            ``unreadable`` (a description cannot be parsed), ``unsafe`` (a listed path leaves the
            package), ``unsupported`` (unknown checksum algorithm).
        path: the file, relative to the package folder (``/``-separated).
        expected: the value the description gives (checksum, size, count), if any.
        actual: the value found, if any.
        detail: more about it (e.g. which element count).
    """

    kind: str
    path: str
    expected: Optional[str] = None
    actual: Optional[str] = None
    detail: str = ""

    def __str__(self) -> str:
        if self.kind == "missing":
            listed = f" (listed with checksum {self.expected})" if self.expected else ""
            more = f": {self.detail}" if self.detail else ""
            return f"missing: {self.path}{listed}{more}"
        if self.kind == "changed":
            return f"changed: {self.path}: expected SHA-256 {self.expected}, actual {self.actual}"
        if self.kind == "size":
            return f"changed size: {self.path}: expected {self.expected} bytes, actual {self.actual}"
        if self.kind == "extra":
            return f"extra file not listed: {self.path}"
        if self.kind == "count":
            return f"count differs in {self.path}: {self.detail}: expected {self.expected}, actual {self.actual}"
        return f"{self.kind}: {self.path}: {self.detail}"


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify`.

    Attributes:
        package_dir: the folder verified.
        format: ``"noark5"``, ``"jsonl"``, or None when neither description file exists.
        files_checked: files whose checksum was recomputed and matched, sorted.
        differences: every difference found, in the order found.
    """

    package_dir: Path
    format: Optional[str]
    files_checked: Tuple[str, ...]
    differences: Tuple[Difference, ...]

    @property
    def ok(self) -> bool:
        """True when the package matches its description exactly."""
        return self.format is not None and not self.differences

    @property
    def exit_status(self) -> int:
        """0 when everything matches, 1 otherwise (for ``python -m bot archive verify``)."""
        return 0 if self.ok else 1

    def lines(self) -> List[str]:
        """A human-readable report, one line each."""
        if self.format is None:
            return [str(difference) for difference in self.differences]
        if self.ok:
            return [f"{self.format} package {self.package_dir}: all {len(self.files_checked)} checksums match"]
        head = (
            f"{self.format} package {self.package_dir}: {len(self.differences)} difference(s); "
            f"{len(self.files_checked)} file(s) match"
        )
        return [head] + [f"  {difference}" for difference in self.differences]


@dataclass
class _State:
    root: Path
    checked: Set[str] = field(default_factory=set)
    differences: List[Difference] = field(default_factory=list)
    listed: Set[str] = field(default_factory=set)

    def add(self, difference: Difference) -> None:
        self.differences.append(difference)


def _hash_name(algorithm: Optional[str]) -> Optional[str]:
    """Maps ``SHA-256``/``SHA256``/``sha256`` (etc.) to a hashlib name, None if unknown."""
    if not algorithm:
        return None
    name = algorithm.strip().lower().replace("-", "").replace("_", "")
    return name if name in hashlib.algorithms_available else None


def _digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _relative(name: str) -> Optional[str]:
    """A listed path as a safe, normalised relative path; None if it would leave the package."""
    text = name.strip().replace("\\", "/")
    if not text or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return None
    parts = [part for part in PurePosixPath(text).parts if part not in ("", ".")]
    if not parts or any(part == ".." for part in parts):
        return None
    return "/".join(parts)


def _check_file(
    state: _State,
    name: str,
    algorithm: Optional[str],
    expected: Optional[str],
    size: Optional[str] = None,
) -> None:
    """Checks one listed file (checksum and, if given, size)."""
    relative = _relative(name)
    if relative is None:
        state.add(Difference("unsafe", name, detail="the listed path leaves the package folder; not read"))
        return
    state.listed.add(relative)
    if expected is None:
        return  # named without a checksum (e.g. a schema the package does not carry)
    path = state.root / relative
    if not path.is_file():
        state.add(Difference("missing", relative, expected=expected.strip().lower()))
        return
    try:
        path.resolve().relative_to(state.root.resolve())
    except ValueError:
        state.add(Difference("unsafe", relative, detail="the file is a link that leaves the package folder"))
        return
    hash_name = _hash_name(algorithm)
    if hash_name is None:
        state.add(Difference("unsupported", relative, detail=f"unknown checksum algorithm {algorithm!r}"))
        return
    actual = _digest(path, hash_name)
    problem = False
    if actual != expected.strip().lower():
        state.add(Difference("changed", relative, expected=expected.strip().lower(), actual=actual))
        problem = True
    if size is not None and size.strip():
        actual_size = path.stat().st_size
        if size.strip() != str(actual_size):
            state.add(Difference("size", relative, expected=size.strip(), actual=str(actual_size)))
            problem = True
    if not problem:
        state.checked.add(relative)


def _all_files(root: Path) -> Iterator[str]:
    for folder, _, files in os.walk(root):
        for file_name in files:
            yield (Path(folder) / file_name).relative_to(root).as_posix()


def _report_extras(state: _State, known: Set[str], skip_prefix: Optional[str] = None) -> None:
    """Reports every file neither in ``known`` nor listed (except under ``skip_prefix``)."""
    for relative in sorted(_all_files(state.root)):
        if relative in known or relative in state.listed:
            continue
        if skip_prefix is not None and relative.startswith(skip_prefix):
            continue
        state.add(Difference("extra", relative))


# ------------------------------------------------------------------------------------------
# Noark 5
# ------------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _AddmlReader:
    def __init__(self, root: ET.Element) -> None:
        namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
        self.prefix = f"{{{namespace}}}" if namespace else ""
        self.root = root

    def child_property(self, element: Optional[ET.Element], name: str) -> Optional[ET.Element]:
        if element is None:
            return None
        properties = element.find(f"{self.prefix}properties")
        if properties is None:
            return None
        for candidate in properties.findall(f"{self.prefix}property"):
            if candidate.get("name") == name:
                return candidate
        return None

    def value(self, element: Optional[ET.Element]) -> Optional[str]:
        if element is None:
            return None
        text = element.findtext(f"{self.prefix}value")
        return text.strip() if text is not None else None

    def files(self) -> Iterator[Tuple[str, Optional[str], Optional[str]]]:
        """(file name, checksum algorithm, checksum) of every ``file`` property."""
        for element in self.root.iter(f"{self.prefix}property"):
            if element.get("name") != "file":
                continue
            name = self.value(self.child_property(element, "name"))
            if not name:
                continue
            checksum = self.child_property(element, "checksum")
            yield (
                name,
                self.value(self.child_property(checksum, "algorithm")),
                self.value(self.child_property(checksum, "value")),
            )

    def occurrences(self) -> Iterator[Tuple[str, str, str]]:
        """(file name, element name, expected count) of every ``numberOfOccurrences``."""
        for data_object in self.root.iter(f"{self.prefix}dataObject"):
            file_name = self.value(self.child_property(self.child_property(data_object, "file"), "name"))
            info = self.child_property(data_object, "info")
            if not file_name or info is None:
                continue
            properties = info.find(f"{self.prefix}properties")
            for element in properties.findall(f"{self.prefix}property") if properties is not None else ():
                if element.get("name") != "numberOfOccurrences":
                    continue
                counted = self.value(element)
                expected = self.value(self.child_property(element, "value"))
                if counted and expected is not None:
                    yield file_name, counted, expected


def _count_elements(path: Path) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for _, element in ET.iterparse(path, events=("start",)):
        name = _local(element.tag)
        counts[name] = counts.get(name, 0) + 1
    return counts


def _verify_noark5(state: _State) -> None:
    description = state.root / ARKIVUTTREKK
    try:
        addml = _AddmlReader(ET.parse(description).getroot())
    except ET.ParseError as error:
        state.add(Difference("unreadable", ARKIVUTTREKK, detail=f"not well-formed XML ({error})"))
        return  # without the description no file can be checked or called extra
    for name, algorithm, checksum in addml.files():
        _check_file(state, name, algorithm, checksum)

    documents_known = True
    structure = state.root / ARKIVSTRUKTUR
    element_counts: Dict[str, Dict[str, int]] = {}
    if structure.is_file():
        n = f"{{{ARKIVSTRUKTUR_NS}}}"
        try:
            root = ET.parse(structure).getroot()
        except ET.ParseError as error:
            state.add(Difference("unreadable", ARKIVSTRUKTUR, detail=f"not well-formed XML ({error})"))
            documents_known = False
        else:
            for document in root.iter(f"{n}dokumentobjekt"):
                reference = (document.findtext(f"{n}referanseDokumentfil") or "").strip()
                if not reference:
                    state.add(Difference("unreadable", ARKIVSTRUKTUR, detail="a dokumentobjekt has no referanseDokumentfil"))
                    continue
                _check_file(
                    state,
                    reference,
                    document.findtext(f"{n}sjekksumAlgoritme"),
                    document.findtext(f"{n}sjekksum") or "",
                    document.findtext(f"{n}filstoerrelse"),
                )
            counts: Dict[str, int] = {}
            for element in root.iter():
                counts[_local(element.tag)] = counts.get(_local(element.tag), 0) + 1
            element_counts[ARKIVSTRUKTUR] = counts
    elif ARKIVSTRUKTUR not in state.listed:
        state.add(Difference("missing", ARKIVSTRUKTUR, detail="neither in the folder nor listed"))

    for file_name, element, expected in addml.occurrences():
        relative = _relative(file_name)
        if relative is None or not (state.root / relative).is_file():
            continue
        if relative not in element_counts:
            try:
                element_counts[relative] = _count_elements(state.root / relative)
            except ET.ParseError:
                continue  # reported through its checksum or as unreadable above
        actual = element_counts[relative].get(element, 0)
        if str(actual) != expected:
            state.add(
                Difference("count", relative, expected=expected, actual=str(actual), detail=f"numberOfOccurrences of {element}")
            )
    _report_extras(state, {ARKIVUTTREKK}, skip_prefix=None if documents_known else f"{DOKUMENT_DIR}/")


# ------------------------------------------------------------------------------------------
# JSON Lines
# ------------------------------------------------------------------------------------------


def _verify_jsonl(state: _State) -> None:
    try:
        manifest = json.loads((state.root / JSONL_MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not an object")
    except (ValueError, KeyError, TypeError) as error:
        state.add(Difference("unreadable", JSONL_MANIFEST, detail=f"not a usable manifest ({error})"))
        return  # without the description no file can be checked or called extra
    for name, entry in sorted(files.items()):
        entry = entry if isinstance(entry, dict) else {}
        size = entry.get("bytes")
        _check_file(state, name, "sha256", entry.get("sha256") or "", str(size) if size is not None else None)

    records_path = state.root / JSONL_RECORDS
    counts = manifest.get("counts") if isinstance(manifest.get("counts"), dict) else {}
    if records_path.is_file() and counts:
        records = 0
        conversations: Set[str] = set()
        with open(records_path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                records += 1
                try:
                    conversations.add(str(json.loads(line).get("conversation_id")))
                except (ValueError, AttributeError):
                    state.add(Difference("unreadable", JSONL_RECORDS, detail=f"line {number} is not a JSON object"))
        for name, actual in (("records", records), ("conversations", len(conversations))):
            if name in counts and str(counts[name]) != str(actual):
                state.add(
                    Difference("count", JSONL_RECORDS, expected=str(counts[name]), actual=str(actual), detail=name)
                )
    _report_extras(state, {JSONL_MANIFEST})


# ------------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------------


def verify(package_dir: Path) -> VerifyReport:
    """Recomputes every checksum of an export package and lists each difference.

    Args:
        package_dir: the package folder (Noark 5 with ``arkivuttrekk.xml`` or JSON Lines with
            ``manifest.json``).

    Returns:
        The report; ``report.ok`` / ``report.exit_status`` say whether everything matched.
    """
    root = Path(package_dir)
    if not root.is_dir():
        problem = "not a folder" if root.exists() else "no such folder"
        return VerifyReport(root, None, (), (Difference("missing", str(root), detail=problem),))
    state = _State(root)
    if (root / ARKIVUTTREKK).is_file():
        package_format = "noark5"
        _verify_noark5(state)
    elif (root / JSONL_MANIFEST).is_file():
        package_format = "jsonl"
        _verify_jsonl(state)
    else:
        return VerifyReport(
            root,
            None,
            (),
            (
                Difference(
                    "unreadable",
                    str(root),
                    detail=f"neither {ARKIVUTTREKK} (Noark 5) nor {JSONL_MANIFEST} (JSON Lines) is there",
                ),
            ),
        )
    return VerifyReport(root, package_format, tuple(sorted(state.checked)), tuple(state.differences))


__all__ = ["Difference", "VerifyReport", "verify"]
