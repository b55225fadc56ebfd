"""Pausing and resuming a conversation through the Rasa server's HTTP API.

While a staff member has claimed a conversation the bot must stay silent; Rasa's own
``pause``/``resume`` events do exactly that and reach the archive like every other event.

The API accepts only tokens signed with ``RASA_JWT_SECRET`` (see :mod:`bot.ops.rasa_launch`), sent
in the ``Authorization`` header, never in the URL.
"""
from __future__ import annotations

import time
from typing import Dict
from urllib.parse import quote

import requests

from bot.core.config import get_settings

TOKEN_SECONDS = 60


class RasaUnavailable(RuntimeError):
    """The Rasa server could not be reached or refused the request."""


def auth_headers(secret: str, username: str = "staff-app") -> Dict[str, str]:
    """The ``Authorization`` header of a short-lived admin token for the Rasa HTTP API."""
    import jwt

    if not secret:
        raise RasaUnavailable("RASA_JWT_SECRET is not set, so the assistant's API cannot be used")
    now = int(time.time())
    token = jwt.encode({"user": {"username": username, "role": "admin"}, "iat": now, "exp": now + TOKEN_SECONDS},
                       secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def _post_event(conversation_id: str, event: str) -> None:
    settings = get_settings()
    # ':' and '@' are allowed in a path segment and must stay: Sanic does not decode %3A in the
    # route parameter, so 'rest%3A42' would pause a conversation nobody is in.
    url = f"{settings.rasa_url}/conversations/{quote(conversation_id, safe=':@')}/tracker/events"
    try:
        response = requests.post(url, json={"event": event}, headers=auth_headers(settings.rasa_jwt_secret),
                                 timeout=15)
    except requests.RequestException as error:
        raise RasaUnavailable(f"cannot reach the assistant at {settings.rasa_url}: {error}") from error
    if response.status_code >= 300:
        raise RasaUnavailable(f"the assistant refused to {event} {conversation_id}: HTTP {response.status_code}")


def pause(conversation_id: str) -> None:
    """Makes the bot silent in a conversation (Rasa's ``ConversationPaused``)."""
    _post_event(conversation_id, "pause")


def resume(conversation_id: str) -> None:
    """Lets the bot answer again in a conversation (Rasa's ``ConversationResumed``)."""
    _post_event(conversation_id, "resume")
