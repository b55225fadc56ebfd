"""The JSON Lines export: ``records.jsonl`` and ``manifest.json``.

``records.jsonl`` holds one JSON object per archive record, every column, in conversation then
``seq`` order; ``manifest.json`` the counts, period, municipality, export time and the SHA-256 of
every file, for archives that take other formats than Noark 5 (e.g. Swedish municipalities).
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any, Dict, Sequence, Tuple

from bot.archive.export.common import SYSTEM_NAME, Conversation, iso_utc, period_bounds, sha256_file
from bot.archive.models import ArchiveRecord

JSONL_RECORDS = "records.jsonl"
JSONL_MANIFEST = "manifest.json"
JSONL_FORMAT_NAME = "citizen-assistant-archive-jsonl"
JSONL_FORMAT_VERSION = 1

SELECTION_RULE = (
    "conversations with at least one archive record whose occurred_at lies in the period "
    "(UTC, from_date 00:00:00 to to_date 23:59:59.999999); every record of a selected "
    "conversation is included, also records outside the period"
)

_RECORD_COLUMNS: Tuple[str, ...] = tuple(column.key for column in ArchiveRecord.__table__.columns)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def record_to_json(record: ArchiveRecord) -> Dict[str, Any]:
    """Every column of an archive record, times as ISO 8601 UTC (``...Z``)."""
    return {name: _json_value(getattr(record, name)) for name in _RECORD_COLUMNS}


def write_jsonl(
    out_dir: Path,
    conversations: Sequence[Conversation],
    municipality: Any,
    from_date: date,
    to_date: date,
    exported_at: datetime,
) -> Dict[str, str]:
    """Writes ``records.jsonl`` and ``manifest.json`` into ``out_dir``.

    Returns:
        Both files (name -> SHA-256 hex).
    """
    records_path = out_dir / JSONL_RECORDS
    kinds: Counter = Counter()
    count = 0
    with open(records_path, "w", encoding="utf-8", newline="\n") as handle:
        for conversation in conversations:
            for record in conversation.records:
                handle.write(json.dumps(record_to_json(record), ensure_ascii=False, default=str) + "\n")
                kinds[record.kind] += 1
                count += 1
    start, end = period_bounds(from_date, to_date)
    records_sha = sha256_file(records_path)
    manifest = {
        "format": JSONL_FORMAT_NAME,
        "format_version": JSONL_FORMAT_VERSION,
        "municipality": {
            "id": municipality.id,
            "name": municipality.name_in(municipality.default_language),
            "country": municipality.country,
        },
        "period": {
            "from": from_date.isoformat(),
            "to": to_date.isoformat(),
            "start": iso_utc(start),
            "end_exclusive": iso_utc(end),
            "time_zone": "UTC",
            "selection": SELECTION_RULE,
        },
        "exported_at": iso_utc(exported_at),
        "exported_by": SYSTEM_NAME,
        "counts": {
            "conversations": len(conversations),
            "records": count,
            "records_by_kind": dict(sorted(kinds.items())),
        },
        "columns": list(_RECORD_COLUMNS),
        "personal_data": "texts are exported exactly as archived; personal data is not masked",
        "files": {
            JSONL_RECORDS: {"sha256": records_sha, "bytes": records_path.stat().st_size},
        },
    }
    manifest_path = out_dir / JSONL_MANIFEST
    manifest_path.write_bytes((json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return {JSONL_RECORDS: records_sha, JSONL_MANIFEST: sha256_file(manifest_path)}


__all__ = ["JSONL_MANIFEST", "JSONL_RECORDS", "SELECTION_RULE", "record_to_json", "write_jsonl"]
