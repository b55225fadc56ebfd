"""A local append-only spool for archive events while the database cannot be reached.

Each process appends to its own file (``spool-<host>-<pid>.jsonl``), one JSON event per line,
flushed to disk before the bot's answer goes out. Replay reads every spool file in the folder
(also those of processes that died), orders the events by their Rasa timestamps, writes them to
the archive (already archived events are skipped) and only then moves the files to ``replayed/``.
A lock file keeps two processes from replaying at the same time.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Sequence

logger = logging.getLogger(__name__)


class Spool:
    """The spool folder of one process."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / f"spool-{socket.gethostname()}-{os.getpid()}.jsonl"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "spool.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def files(self) -> List[Path]:
        """Returns the spool files waiting to be replayed."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob("spool-*.jsonl") if p.stat().st_size > 0)

    def pending(self) -> bool:
        """Returns whether any event waits in the spool."""
        return bool(self.files())

    def append(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Appends events durably (flushed and fsynced before returning)."""
        lines = "".join(json.dumps(dict(e), ensure_ascii=False, default=str) + "\n" for e in events)
        with self._locked(), self.path.open("a", encoding="utf-8") as handle:
            handle.write(lines)
            handle.flush()
            os.fsync(handle.fileno())

    def replay(self, write: Callable[[List[Dict[str, Any]]], Any]) -> int:
        """Writes every spooled event with ``write`` (in timestamp order), then retires the files.

        Args:
            write: archives a list of events; raises when the database is still unreachable.

        Returns:
            The number of events replayed (0 when the spool is empty).
        """
        with self._locked():
            files = self.files()
            if not files:
                return 0
            events: List[Dict[str, Any]] = []
            for path in files:
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    if not line.strip():
                        continue
                    try:
                        events.append(json.loads(line))
                    except json.JSONDecodeError:
                        # A line cut short by a crash mid-write: keep the file for a person to look at.
                        logger.error("Spool %s line %d is not valid JSON; it is kept in replayed/", path, number)
            # Python's sort is stable: events with equal timestamps keep their written order.
            events.sort(key=lambda e: (e.get("timestamp") or 0.0))
            write(events)
            done = self.directory / "replayed"
            done.mkdir(exist_ok=True)
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
            for path in files:
                path.rename(done / f"{stamp}-{path.name}")
            logger.info("Replayed %d archive events from %d spool file(s)", len(events), len(files))
            return len(events)
