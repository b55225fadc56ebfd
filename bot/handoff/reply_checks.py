"""Channels' limits on staff replies, registered by the channels themselves.

Some channels let staff write to a citizen only under conditions of their own (Messenger: within
7 days of the citizen's last message). The queue must refuse such a reply before it is recorded,
yet the handoff layer sits below the channels and does not know them by name. So a channel
registers a check for its name when its module is imported
(``register_reply_check("messenger", check)``), and :func:`bot.handoff.queue.reply` asks
:func:`reply_refusal` for the handoff's channel. A channel without a check accepts every reply.

Whoever replies to handoffs must have imported the channels it serves: the Rasa server does
through ``credentials.yml``, the staff app and the command line import them themselves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional


@dataclass(frozen=True)
class ReplyRefusal:
    """Why a channel cannot carry a staff reply now.

    Attributes:
        message: English, for the command line and the logs.
        code: the key the staff app words it with in its own language (``handoff_error.<code>``).
    """

    message: str
    code: str


ReplyCheck = Callable[[str, Optional[str]], Optional[ReplyRefusal]]
"""Called with the conversation id and the database URL; returns a refusal or None."""

_checks: Dict[str, ReplyCheck] = {}


def register_reply_check(channel: str, check: ReplyCheck) -> None:
    """Registers a channel's check on staff replies (a second registration replaces the first).

    Args:
        channel: the channel's name, as handoffs store it (e.g. ``messenger``).
        check: called with the conversation id and the database URL before a reply is recorded.
    """
    _checks[channel] = check


def reply_refusal(channel: Optional[str], conversation_id: str, url: Optional[str] = None) -> Optional[ReplyRefusal]:
    """Asks the handoff's channel whether a staff reply may be sent now.

    Args:
        channel: the channel the citizen used (None or unregistered: no check).
        conversation_id: the conversation the reply is for.
        url: the database (default: the configured one).

    Returns:
        The channel's refusal, or None when the reply may go.
    """
    check = _checks.get(channel or "")
    return check(conversation_id, url) if check is not None else None
