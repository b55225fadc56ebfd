"""Pausing and resuming a conversation through the Rasa server's HTTP API.

While a staff member has claimed a conversation the bot must stay silent; Rasa's own
``pause``/``resume`` events do exactly that and reach the archive like every other event.
"""
from __future__ import annotations

from urllib.parse import quote

import requests

from bot.config import get_settings


class RasaUnavailable(RuntimeError):
    """The Rasa server could not be reached or refused the request."""


def _post_event(conversation_id: str, event: str) -> None:
    settings = get_settings()
    url = f"{settings.rasa_url}/conversations/{quote(conversation_id, safe='')}/tracker/events"
    params = {"token": settings.rasa_auth_token} if settings.rasa_auth_token else None
    try:
        response = requests.post(url, json={"event": event}, params=params, timeout=15)
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
