"""A terminal chat with a running assistant over the REST channel (``python -m bot chat``).

It talks to the same server citizens use, so what you see is what they get. Buttons are
numbered; type the number to press one.
"""
from __future__ import annotations

import uuid
from typing import Callable, List, Optional

import requests


def send(url: str, sender: str, message: str, timeout: float = 30.0) -> List[dict]:
    """Sends one message to the REST channel and returns the bot's messages."""
    response = requests.post(url, json={"sender": sender, "message": message}, timeout=timeout)
    response.raise_for_status()
    return response.json()


def chat(url: str, sender: Optional[str] = None, read: Callable[[str], str] = input) -> int:
    """Runs the interactive loop until end of input or ``/stop``.

    Args:
        url: the REST webhook, e.g. ``http://localhost:5005/webhooks/rest/webhook``.
        sender: the conversation id; a new random one by default.
        read: reads one line (replaceable in tests).

    Returns:
        The exit status.
    """
    sender = sender or f"terminal-{uuid.uuid4().hex[:8]}"
    buttons: List[dict] = []
    print(f"Conversation {sender} with {url}. Type /stop or press Ctrl-D to end.")
    while True:
        try:
            line = read("> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if line == "/stop":
            return 0
        if not line:
            continue
        if line.isdigit() and 0 < int(line) <= len(buttons):
            line = buttons[int(line) - 1]["payload"]
        try:
            messages = send(url, sender, line)
        except requests.RequestException as error:
            print(f"[cannot reach the assistant at {url}: {error}]")
            continue
        buttons = []
        for message in messages:
            if message.get("text"):
                print(message["text"])
            for button in message.get("buttons") or []:
                buttons.append(button)
                print(f"  [{len(buttons)}] {button.get('title')}")
