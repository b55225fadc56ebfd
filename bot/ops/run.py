"""Starts the assistant's processes and stops them together.

``python -m bot run`` (and ``make run``) starts the action server and the Rasa server in the
foreground. Ctrl-C stops both; if one of them dies, the other is stopped too, so a half-running
assistant never answers citizens without its actions or its archive.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Collection, Dict, List, Optional

import yaml

from bot.storage.db import session_scope, upgrade
from bot.core.config import PROJECT_ROOT, Settings, get_settings
from bot.ops.model import train
from bot.municipality import load_municipality


def write_runtime_endpoints(settings: Settings) -> Path:
    """Writes the Rasa endpoints file for this run: ``endpoints.yml`` with the action server's URL.

    The tracker store, the lock store and the event broker of ``endpoints.yml`` read the settings
    themselves; only the action endpoint has a fixed URL there (Rasa 3.6's ``${VARIABLE}`` in
    ``endpoints.yml`` fails when the variable is not set, so plain ``rasa run`` would need it).
    """
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    endpoints.setdefault("action_endpoint", {})["url"] = settings.action_endpoint_url
    target = settings.data_dir / "run" / "endpoints.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return target


def _child_environment(settings: Settings, secret: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Secrets reach the servers through their environment, never their command lines.
    env["RASA_JWT_SECRET"] = secret
    # rasa_sdk has no --interface option; Sanic reads the address from here.
    env["SANIC_HOST"] = settings.actions_bind_host
    # Rasa's telemetry and its error reports to sentry.io would send data off this machine.
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env["ACTION_ENDPOINT_URL"] = settings.action_endpoint_url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def server_commands(settings: Settings, model: Path, endpoints: Path) -> Dict[str, List[str]]:
    """Returns the command lines of the action server, the Rasa server and the staff app."""
    python = sys.executable
    return {
        "action server": [
            python, "-m", "rasa_sdk", "--actions", "actions",
            "--port", str(settings.actions_port),
            *(["--debug"] if settings.log_level == "DEBUG" else []),
        ],
        # The HTTP API (pause and resume from the staff app) only with tokens signed by
        # RASA_JWT_SECRET: bot.ops.rasa_launch refuses to serve it otherwise.
        "rasa server": [
            python, "-m", "bot.ops.rasa_launch", "run", "--enable-api",
            "--interface", settings.bind_host, "--port", str(settings.rasa_port),
            "--model", str(model), "--endpoints", str(endpoints),
            "--credentials", str(PROJECT_ROOT / "credentials.yml"),
            *(["--cors", *settings.cors_origins.split()] if settings.cors_origins else []),
            *(["--debug"] if settings.log_level == "DEBUG" else []),
        ],
        "staff app": [python, "-m", "bot", "staff", "serve", "--host", settings.staff_bind_host,
                      "--port", str(settings.staff_port)],
    }


def ingest_demo_content_if_empty(municipality: str) -> None:
    """Ingests ``data/website/<municipality>/`` when the municipality has no content yet, or only
    content from that folder (then only changed pages are read again and embedded; a website
    ingested from the web is never replaced by the demo pages)."""
    import sys

    from sqlalchemy import select

    from bot.content.ingest import ingest
    from bot.content.models import ContentPage

    folder = PROJECT_ROOT / "data" / "website" / municipality
    with session_scope() as session:
        locations = list(session.execute(
            select(ContentPage.location).where(ContentPage.municipality == municipality)).scalars())
    # Pages from a folder are stored under their path ("/barnehage.html"), fetched ones under a URL.
    if not folder.is_dir() or any(not location.startswith("/") for location in locations):
        return
    if not locations:
        print(f"Ingesting the demo website {folder.relative_to(PROJECT_ROOT)} (embedding it takes about a minute "
              "the first time) ...", flush=True)
    summary = ingest(str(folder), municipality, show_progress=sys.stderr.isatty())
    if not locations or summary.added or summary.changed or summary.removed:
        print("\n".join(summary.lines()[:1]), flush=True)


def api_secret(settings: Settings, only: Optional[Collection[str]]) -> str:
    """The secret of the Rasa HTTP API: ``RASA_JWT_SECRET``, or a new one for a run that starts
    every process itself (then only these processes know it).

    Raises:
        SystemExit: some processes run elsewhere (``--only``) and no shared secret is set.
    """
    if settings.rasa_jwt_secret:
        return settings.rasa_jwt_secret
    if only and set(only) != set(PROCESSES):
        raise SystemExit("Set RASA_JWT_SECRET (the same on every server) when processes run separately: "
                         "the staff app signs its requests to the Rasa servers with it.")
    import secrets

    return secrets.token_urlsafe(48)


#: The processes ``python -m bot run --only`` can start, by their short names.
PROCESSES = {"actions": "action server", "rasa": "rasa server", "staff": "staff app"}


def run_servers(only: Optional[Collection[str]] = None) -> int:
    """Checks the profile, migrates, trains if needed, starts the processes and waits.

    Args:
        only: short names from ``PROCESSES`` to start (e.g. a second Rasa server sharing the
            database and lock store of the first); all of them when empty.

    Returns:
        The exit status: 0 after Ctrl-C, otherwise that of the process that stopped first.
    """
    wanted = {PROCESSES[name] for name in (only or PROCESSES)}
    settings = get_settings()
    load_municipality(settings.municipality)  # a malformed profile stops start-up here, by name
    upgrade()  # migrate the archive once, before several processes use it
    ingest_demo_content_if_empty(settings.municipality)
    model = train()
    endpoints = write_runtime_endpoints(settings)
    env = _child_environment(settings, api_secret(settings, only))
    processes = {
        name: subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)
        for name, command in server_commands(settings, model, endpoints).items()
        if name in wanted
    }
    where = {
        "rasa server": f"Rasa server on http://{settings.bind_host}:{settings.rasa_port} (REST: POST /webhooks/rest/webhook)",
        "action server": f"action server on {settings.actions_bind_host}:{settings.actions_port}",
        "staff app": f"staff app on http://{settings.staff_bind_host}:{settings.staff_port}",
    }
    print(", ".join(where[name] for name in where if name in wanted) + ". Ctrl-C stops "
          + ("all of them." if len(wanted) > 1 else "it."), flush=True)
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    try:
        while not stopping:
            finished = {name: p.poll() for name, p in processes.items() if p.poll() is not None}
            if finished:
                name, status = next(iter(finished.items()))
                print(f"The {name} stopped (exit status {status}); stopping the others.", file=sys.stderr)
                break
            time.sleep(0.3)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
    return status
