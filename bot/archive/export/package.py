"""Exports of the archive for deposit with an archive institution: Noark 5 or JSON Lines.

``export(from_date, to_date, out_dir, fmt)`` selects every conversation with at least one archive
record whose ``occurred_at`` lies in the period, in UTC: from ``from_date`` 00:00:00 up to and
including ``to_date`` 23:59:59.999999. A selected conversation is exported whole, with every one
of its records, also those before or after the period, because an archive must receive complete
records (``ExportSummary.records_outside_period`` counts them). A conversation that spans two
periods is therefore in both periods' exports, with the same identifiers.

The archive copy is complete: texts are exported exactly as archived, personal data included
(the masking that applies to logs and statistics does not apply to the archive).

Formats:

* ``noark5``: a Noark 5 v3.1 arkivuttrekk (see :mod:`bot.archive.export.noark5`).
* ``jsonl``: ``records.jsonl`` (one JSON object per archive record, every column, in conversation
  then ``seq`` order) and ``manifest.json`` (counts, period, municipality, export time and the
  SHA-256 of every file), for archives that take other formats (e.g. Swedish municipalities).

:func:`bot.archive.verify.verify` checks either kind of package.
"""
from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any, Dict, Optional

from bot.core import clock
from bot.storage.db import session_scope
from bot.storage.base import utc
from bot.municipality import load_municipality
from bot.archive.export.common import FORMATS, ExportError, ExportSummary, LoadedExport, period_bounds
from bot.archive.export.common import load_conversations
from bot.archive.export.jsonl import write_jsonl
from bot.archive.export.noark5 import check_schema_dir, write_package


def _prepare_out_dir(out_dir: Path) -> bool:
    """Checks that ``out_dir`` is new or empty; creates it. Returns whether it was created."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise ExportError(f"{out_dir} exists and is not a folder; give a new or empty folder for the export")
        entries = sorted(entry.name for entry in out_dir.iterdir())
        if entries:
            shown = ", ".join(entries[:3]) + (" ..." if len(entries) > 3 else "")
            raise ExportError(
                f"{out_dir} is not empty ({len(entries)} entries: {shown}); an export goes into a new or "
                "empty folder so that no unrelated file ends up in the package"
            )
        return False
    out_dir.mkdir(parents=True)
    return True


def _clean_up(out_dir: Path, created: bool) -> None:
    """Removes a half-written package (the folder was new or empty before the export)."""
    if created:
        shutil.rmtree(out_dir, ignore_errors=True)
        return
    for entry in out_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)

def _check_request(from_date: date, to_date: date, fmt: str, schema_dir: Optional[Path]) -> None:
    """Raises :class:`ExportError` for an unknown format, a reversed period or a misplaced schema_dir."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if from_date > to_date:
        raise ExportError(f"the period starts ({from_date}) after it ends ({to_date})")
    if schema_dir is not None and fmt != "noark5":
        raise ExportError("schema_dir only applies to the noark5 format")


def _write(fmt: str, out_dir: Path, loaded: LoadedExport, municipality: Any, from_date: date, to_date: date,
           exported_at: datetime, schema_dir: Optional[Path]) -> Dict[str, str]:
    """Writes the package in the format asked for; returns its files (path -> SHA-256 hex)."""
    if fmt == "noark5":
        return write_package(
            out_dir,
            loaded,
            municipality=municipality,
            from_date=from_date,
            to_date=to_date,
            exported_at=exported_at,
            schema_dir=Path(schema_dir) if schema_dir is not None else None,
        )
    return write_jsonl(out_dir, loaded.conversations, municipality, from_date, to_date, exported_at)


def _summary(fmt: str, out_dir: Path, loaded: LoadedExport, municipality: Any, from_date: date, to_date: date,
             exported_at: datetime, files: Dict[str, str]) -> ExportSummary:
    """What the export wrote, counted from what it loaded."""
    start, end = period_bounds(from_date, to_date)
    records = [record for conversation in loaded.conversations for record in conversation.records]
    return ExportSummary(
        format=fmt,
        out_dir=out_dir,
        from_date=from_date,
        to_date=to_date,
        exported_at=exported_at,
        municipality=municipality.id,
        conversations=len(loaded.conversations),
        records=len(records),
        records_by_kind=dict(sorted(Counter(record.kind for record in records).items())),
        records_outside_period=sum(1 for record in records if not start <= utc(record.occurred_at) < end),
        files=files,
    )


def export(
    from_date: date,
    to_date: date,
    out_dir: Path,
    fmt: str,
    url: Optional[str] = None,
    *,
    schema_dir: Optional[Path] = None,
) -> ExportSummary:
    """Exports the conversations of a period into a new package folder.

    The period is in UTC: a conversation is selected when at least one of its archive records
    occurred between ``from_date`` 00:00:00 UTC and ``to_date`` 23:59:59.999999 UTC (both
    included). A selected conversation is exported whole, with all its records, also those
    outside the period. Texts are exported exactly as archived, personal data included.

    Args:
        from_date: first day of the period (UTC).
        to_date: last day of the period (UTC), inclusive.
        out_dir: the package folder; it must not exist yet or be empty.
        fmt: ``"noark5"`` (Noark 5 v3.1 arkivuttrekk) or ``"jsonl"`` (records.jsonl + manifest.json).
        url: the database URL; defaults to the configured ``DATABASE_URL``.
        schema_dir: noark5 only: a folder with the official ``arkivstruktur.xsd`` and
            ``metadatakatalog.xsd`` to copy into the package (listed with their checksums in
            arkivuttrekk.xml, as deposits usually carry them). Without it the package names the
            schemas but does not contain them.

    Returns:
        What was written.

    Raises:
        ExportError: unknown format, ``from_date`` after ``to_date``, ``out_dir`` not empty or not
            a folder, or ``schema_dir`` without the schemas.
        bot.municipality.MunicipalityError: the configured municipality profile is unusable.
    """
    _check_request(from_date, to_date, fmt, schema_dir)
    municipality = load_municipality()
    out_dir = Path(out_dir)
    if schema_dir is not None:
        check_schema_dir(Path(schema_dir))
    created = _prepare_out_dir(out_dir)
    start, end = period_bounds(from_date, to_date)
    exported_at = utc(clock.now()).replace(microsecond=0)
    try:
        with session_scope(url) as session:
            loaded = load_conversations(session, start, end)
        files = _write(fmt, out_dir, loaded, municipality, from_date, to_date, exported_at, schema_dir)
    except BaseException:
        _clean_up(out_dir, created)
        raise
    return _summary(fmt, out_dir, loaded, municipality, from_date, to_date, exported_at, files)


__all__ = ["export"]
