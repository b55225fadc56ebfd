"""Several Rasa servers behind one action server, sharing PostgreSQL and Redis: the scale-out setup.

``ScaledAssistant`` starts, each in its own process group with its own ``DATA_DIR``:

* one ``python -m bot run --only actions,staff`` (migrates the database and ingests the demo
  website first, so the Rasa servers find both ready), and
* ``rasa_servers`` times ``python -m bot run --only rasa``, all with the same ``DATABASE_URL``
  (tracker store and archive) and ``REDIS_URL`` (lock store), and the action server's port.

Each part is a ``RunningAssistant``, so a test can kill (``kill -9``), stop and start one of them
on its own. Use a database of its own per assistant (``tools.services.create_database``).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

from sqlalchemy import create_engine, text

from tests.e2e.assistant import RunningAssistant, rest

#: The archive columns that say what was said, by whom, in which order (not when: times differ).
ARCHIVE_COLUMNS = "seq, kind, sender_id, text, language, intent, channel, personal_data"


class ScaledAssistant:
    """One action server with the staff app, and several Rasa servers, sharing one database and Redis."""

    def __init__(self, base_dir: Path, database_url: str, redis_url: Optional[str], rasa_servers: int = 2,
                 **environment: str) -> None:
        shared = dict(environment, DATABASE_URL=database_url)
        if redis_url:
            shared["REDIS_URL"] = redis_url
        self.database_url = database_url
        self.actions = RunningAssistant(base_dir / "actions", only=("actions", "staff"), **shared)
        self.rasa: List[RunningAssistant] = [
            RunningAssistant(base_dir / f"rasa-{number}", only=("rasa",), actions_port=self.actions.actions_port,
                             staff_port=self.actions.staff_port, **shared)
            for number in range(1, rasa_servers + 1)
        ]

    @property
    def urls(self) -> List[str]:
        """The Rasa servers' base URLs (what a load balancer would spread messages over)."""
        return [server.url for server in self.rasa]

    def start(self, timeout: float = 300) -> "ScaledAssistant":
        """Starts the action server first, then the Rasa servers side by side; waits until all answer."""
        try:
            self.actions.start(timeout)
            with ThreadPoolExecutor(max_workers=len(self.rasa)) as pool:
                for started in [pool.submit(server.start, timeout) for server in self.rasa]:
                    started.result()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stops every process (like Ctrl-C), Rasa servers first."""
        for server in [*self.rasa, self.actions]:
            server.stop()

    def logs(self) -> str:
        """The end of every process's log, for assertion messages."""
        return "\n".join(f"--- {server.data_dir.name} ---\n{server.log()}" for server in [self.actions, *self.rasa])

    def archive(self, sender: str) -> List[Dict]:
        """A REST sender's archive records, in order (the columns of ``ARCHIVE_COLUMNS``)."""
        return archive_rows(self.database_url, rest(sender))


def archive_rows(database_url: str, conversation_id: str) -> List[Dict]:
    """A conversation's archive records in order, from any archive database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(f"SELECT {ARCHIVE_COLUMNS} FROM archive_records WHERE conversation_id = :c ORDER BY seq"),
                {"c": conversation_id},
            ).mappings().all()
    finally:
        engine.dispose()
    return [dict(row) for row in rows]
