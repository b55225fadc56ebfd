"""Exports of the archive for deposit with an archive institution: Noark 5 or JSON Lines.

* :mod:`~bot.archive.export.package`: :func:`export`, a period into a new package folder;
* :mod:`~bot.archive.export.common`: loading the conversations, shared types and helpers;
* :mod:`~bot.archive.export.jsonl`: ``records.jsonl`` and ``manifest.json``;
* :mod:`~bot.archive.export.noark5`: the Noark 5 v3.1 arkivuttrekk (``arkivstruktur``, ``addml``,
  ``transcript``, ``identifiers``, ``xmlwriter``; words in ``data/locale/archive/``).

The writers import ``common`` and never each other or this package, so there is no cycle.
"""
from bot.archive.export.common import (
    FORMATS,
    SYSTEM_NAME,
    Conversation,
    ExportError,
    ExportSummary,
    HandoffTrail,
    LoadedExport,
    OutboxItem,
    iso_utc,
    load_conversations,
    period_bounds,
    sha256_file,
)
from bot.archive.export.jsonl import JSONL_MANIFEST, JSONL_RECORDS, record_to_json
from bot.archive.export.package import export

__all__ = [
    "Conversation",
    "ExportError",
    "ExportSummary",
    "FORMATS",
    "HandoffTrail",
    "JSONL_MANIFEST",
    "JSONL_RECORDS",
    "LoadedExport",
    "OutboxItem",
    "SYSTEM_NAME",
    "export",
    "iso_utc",
    "load_conversations",
    "period_bounds",
    "record_to_json",
    "sha256_file",
]
