"""Conversations belong to one channel, and only their owner reads staff replies.

* **Ids are namespaced by channel.** The REST channel keeps Rasa's contract (the client names
  its sender), but the conversation is ``rest:<sender>``; the widget's is ``widget:<id>`` with an
  id the server issues. Messenger's page-scoped ids come from Meta's signed webhook and stay as
  they are. So REST sender ``42`` and Messenger user ``42`` are two conversations, and no
  channel can write into another's.
* **A per-conversation secret** comes with the conversation's first answer, in the
  ``X-Conversation-Secret`` response header (never in a URL). Reading staff replies from the
  outbox needs it in the same request header, and the widget sends it with every message. Only
  a hash of it is stored.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Optional, Tuple

from sqlalchemy.exc import IntegrityError

from bot.core import clock
from bot.storage.db import ensure_schema, session_scope
from bot.channels.models import ConversationSecret

SECRET_HEADER = "X-Conversation-Secret"
ID_HEADER = "X-Conversation-Id"
NAMESPACED = ("rest", "widget")


def conversation_id(channel: str, sender: str) -> str:
    """The conversation of ``sender`` on ``channel`` (``rest:42``; Messenger's ids unchanged)."""
    return f"{channel}:{sender}" if channel in NAMESPACED else sender


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_secret(conversation: str, url: Optional[str] = None) -> Optional[str]:
    """Makes the conversation's secret if it has none yet.

    Returns:
        The new secret (shown once), or None when the conversation already has one.
    """
    ensure_schema(url)
    secret = secrets.token_urlsafe(32)
    try:
        with session_scope(url) as session:
            if session.get(ConversationSecret, conversation) is not None:
                return None
            session.add(ConversationSecret(conversation_id=conversation, secret_hash=_digest(secret),
                                           created_at=clock.now()))
    except IntegrityError:  # another request made it at the same moment
        return None
    return secret


def new_widget_conversation(url: Optional[str] = None) -> Tuple[str, str]:
    """A server-issued widget id and its secret: ``(id, secret)``."""
    while True:
        sender = secrets.token_hex(16)
        secret = issue_secret(conversation_id("widget", sender), url)
        if secret is not None:
            return sender, secret


def secret_matches(conversation: str, secret: Optional[str], url: Optional[str] = None) -> bool:
    """Whether ``secret`` is the conversation's (a conversation without one matches nothing)."""
    if not secret:
        return False
    ensure_schema(url)
    with session_scope(url) as session:
        row = session.get(ConversationSecret, conversation)
        return row is not None and hmac.compare_digest(row.secret_hash, _digest(secret))
