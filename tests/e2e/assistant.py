"""Starts the assistant the documented way (``make run``) and talks to it over HTTP."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import requests
from tests.ports import free_port  # noqa: F401  (also imported from here by other tests)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# One API secret for every assistant the tests start, so that scaled-out servers and the staff
# app agree, and the tests can sign their own requests to the Rasa HTTP API.
API_SECRET = secrets.token_urlsafe(32)


def rest(sender: str) -> str:
    """The conversation id of a REST client's sender (conversations are namespaced by channel)."""
    return f"rest:{sender}"


def api_headers() -> Dict[str, str]:
    """The Authorization header our own processes send to the Rasa HTTP API."""
    from bot.handoff.rasa_api import auth_headers

    return auth_headers(API_SECRET, "tests")



UNLIMITED = {"RATE_LIMIT_PER_ADDRESS": "0", "RATE_LIMIT_PER_CONVERSATION": "0", "HANDOFF_LIMIT_PER_ADDRESS": "0"}


class RunningAssistant:
    """``make run`` in its own process group, with its own ports and data directory.

    With ``only`` (names from ``bot.ops.run.PROCESSES``: rasa, actions, staff) it runs
    ``python -m bot run --only ...`` instead, e.g. a second Rasa server that uses the action server
    of another RunningAssistant (pass that one's ``actions_port``).
    """

    def __init__(self, data_dir: Path, *, only: Sequence[str] = (), rasa_port: Optional[int] = None,
                 actions_port: Optional[int] = None, staff_port: Optional[int] = None,
                 **environment: str) -> None:
        self.rasa_port = rasa_port or free_port()
        self.actions_port = actions_port or free_port()
        self.staff_port = staff_port or free_port()
        self.only = tuple(only)
        self.data_dir = data_dir
        # The tests drive far more messages from 127.0.0.1 than a person could: no rate limits
        # unless a test asks for them (tests/e2e/test_rate_limits.py does).
        self.environment = {**UNLIMITED, **environment}
        self.process: Optional[subprocess.Popen] = None
        self.log_path = data_dir / "make-run.log"
        # Each REST conversation's secret, from the X-Conversation-Secret header of its first answer.
        self.secrets: Dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def start(self, timeout: float = 300) -> "RunningAssistant":
        """Starts the servers and waits until both answer."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            RASA_PORT=str(self.rasa_port), ACTIONS_PORT=str(self.actions_port), STAFF_PORT=str(self.staff_port),
            DATA_DIR=str(self.data_dir), RASA_JWT_SECRET=API_SECRET, **self.environment,
        )
        env.pop("ACTION_ENDPOINT_URL", None)
        log = self.log_path.open("ab")
        command = (["make", "--no-print-directory", "run"] if not self.only else
                   [str(PROJECT_ROOT / ".venv" / "bin" / "python"), "-m", "bot", "run", "--only", ",".join(self.only)])
        self.process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        health = {"rasa": f"{self.url}/", "actions": f"http://127.0.0.1:{self.actions_port}/health",
                  "staff": f"http://127.0.0.1:{self.staff_port}/login"}
        waiting_for = [health[name] for name in (self.only or health)]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{' '.join(command)} stopped early:\n{self.log()}")
            if all(self._answers(url) for url in waiting_for):
                return self
            time.sleep(1)
        self.stop()
        raise TimeoutError(f"the assistant did not start within {timeout} s:\n{self.log()}")

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def say(self, sender: str, text: str) -> List[Dict]:
        """Sends a message through the REST channel and returns the bot's messages."""
        response = requests.post(
            f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
        )
        response.raise_for_status()
        if response.headers.get("X-Conversation-Secret"):
            self.secrets[sender] = response.headers["X-Conversation-Secret"]
        return response.json()

    def parse(self, text: str) -> Dict:
        response = requests.post(f"{self.url}/model/parse", json={"text": text}, headers=api_headers(), timeout=30)
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str, channel: str = "rest") -> Dict:
        """The Rasa tracker of a REST sender's (or a widget id's) conversation."""
        response = requests.get(f"{self.url}/conversations/{channel}:{sender}/tracker", headers=api_headers(), timeout=30)
        response.raise_for_status()
        return response.json()

    def cli(self, *args: str, check: bool = True, stdin: Optional[str] = None) -> subprocess.CompletedProcess:
        """Runs ``python -m bot ARGS`` against this assistant, as an operator would (``stdin``: what they type)."""
        env = dict(os.environ)
        env.update(RASA_PORT=str(self.rasa_port), ACTIONS_PORT=str(self.actions_port),
                   STAFF_PORT=str(self.staff_port), DATA_DIR=str(self.data_dir), RASA_JWT_SECRET=API_SECRET,
                   **self.environment)
        result = subprocess.run(
            [str(PROJECT_ROOT / ".venv" / "bin" / "python"), "-m", "bot", *args],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120, input=stdin,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"python -m bot {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def outbox(self, sender: str) -> List[Dict]:
        """What a REST client fetches from the staff outbox."""
        response = requests.get(f"{self.url}/webhooks/outbox/messages", params={"sender": sender}, timeout=30,
                                headers={"X-Conversation-Secret": self.secrets.get(sender, "")})
        response.raise_for_status()
        return response.json()["messages"]

    def kill(self) -> None:
        """Kills every process of the assistant at once (``kill -9``), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stops ``make run`` like Ctrl-C would, and makes sure nothing is left running."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
