"""Rasa event broker that records every exchange in the archive.

Configured in ``endpoints.yml`` (``event_broker: type: bot.rasa_server.broker.ArchiveEventBroker``),
so no channel can bypass it. Rasa publishes a turn's events when it saves the tracker, before
the REST channel returns the answer, and our own channels send only after the turn: the citizen's
message is on disk before the answer leaves. When the database cannot be written, events go to
the spool and a background thread replays them, in order, once the database is back; while the
spool holds anything, new events queue behind it so the order is kept.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Dict, List, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_server.recorder import ArchiveRecorder, is_archived_event
from bot.archive.spool import Spool
from bot.core.config import get_settings
from bot.rasa_server.patches import install

logger = logging.getLogger(__name__)


class Archive:
    """Archives events, or spools them when the database is unreachable."""

    def __init__(self, url: Optional[str] = None, spool: Optional[Spool] = None, retry_seconds: float = 2.0):
        settings = get_settings()
        self.recorder = ArchiveRecorder(url)
        self.spool = spool or Spool(settings.spool_dir)
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def record(self, events: List[Dict[str, Any]]) -> None:
        """Archives events now, or durably spools them; never raises on a database failure."""
        events = [e for e in events if is_archived_event(e)]
        if not events:
            return
        with self._lock:
            if not self.spool.pending():
                try:
                    self.recorder.record(events)
                    return
                except Exception:  # any database failure: nothing may be lost
                    logger.exception("Archive database unreachable; spooling %d event(s)", len(events))
            self.spool.append(events)
        self._ensure_replayer()

    def replay(self) -> int:
        """Replays the spool once; returns how many events were written (0 if still failing)."""
        with self._lock:
            try:
                return self.spool.replay(self.recorder.record)
            except Exception as error:
                logger.warning("Archive database still unreachable (%s); %s kept in the spool",
                               type(error).__name__, ", ".join(p.name for p in self.spool.files()))
                return 0

    def _ensure_replayer(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._replay_until_empty, name="archive-replay", daemon=True)
            self._thread.start()

    def _replay_until_empty(self) -> None:
        while not self._stop.wait(self.retry_seconds):
            self.replay()
            if not self.spool.pending():
                return

    def start(self) -> None:
        """Replays what earlier processes left in the spool (in the background)."""
        if self.spool.pending():
            self._ensure_replayer()

    def stop(self) -> None:
        """Stops the replayer (spooled events stay on disk for the next start)."""
        self._stop.set()


class ArchiveEventBroker(EventBroker):
    """Publishes Rasa events into the archive."""

    def __init__(self, archive: Optional[Archive] = None) -> None:
        self.archive = archive or Archive()
        self.archive.start()

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: Optional[Any] = None
    ) -> "ArchiveEventBroker":
        """Creates the broker from ``endpoints.yml`` (it needs no settings there) and installs the
        patches of Rasa's internals (:func:`bot.rasa_server.patches.install`).

        Rasa builds the broker once, in the Rasa server process only, for ``rasa run`` and
        ``python -m bot run`` alike: the one documented place where the patches are installed.
        """
        install()
        return cls()

    def publish(self, event: Dict[Text, Any]) -> None:
        """Archives one event before Rasa goes on (see the module docstring)."""
        self.archive.record([event])

    def is_ready(self) -> bool:
        return True

    async def close(self) -> None:
        self.archive.stop()
