"""Facebook Messenger: the channel (``credentials.yml`` names ``bot.channels.messenger.MessengerInput``).

The package is split by job:

* :mod:`~bot.channels.messenger.webhook`: Meta's payloads and signatures, read into messages;
* :mod:`~bot.channels.messenger.send`: the output channel, long texts split, quick replies;
* :mod:`~bot.channels.messenger.window`: the 7-day window for staff replies, registered with the
  handoff queue (:mod:`bot.handoff.reply_checks`) when this package is imported;
* :mod:`~bot.channels.messenger.delivery`: staff replies from the outbox, through the Send API;
* :mod:`~bot.channels.messenger.channel`: the input channel (webhook routes, queues per sender,
  deduplication, the outbox poller).

Importing the package registers the reply window at once and needs neither Rasa nor Sanic, so the
staff app and the command line can import it for that alone; the other names are loaded from
their modules when first used.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

from bot.channels.messenger.common import CHANNEL
from bot.channels.messenger.window import (
    NO_CITIZEN_MESSAGE,
    REPLY_WINDOW,
    WINDOW_CLOSED,
    messenger_reply_window_open,
)

if TYPE_CHECKING:  # the names below, for type checkers and editors
    from bot.channels.messenger.channel import MessengerInput, record_seen
    from bot.channels.messenger.delivery import deliver_outbox
    from bot.channels.messenger.send import MessengerOutput, split_text, to_quick_replies
    from bot.channels.messenger.webhook import (
        ATTACHMENT_PAYLOAD,
        MAX_BODY,
        MAX_INCOMING_TEXT,
        UNREADABLE_PAYLOAD,
        Incoming,
        Skipped,
        read_event,
        read_payload,
        signature_valid,
    )

# Name → module: loaded on first use, because the channel and the output need Rasa (seconds to import).
_LAZY: Dict[str, str] = {
    "MessengerInput": "channel",
    "record_seen": "channel",
    "deliver_outbox": "delivery",
    "MessengerOutput": "send",
    "split_text": "send",
    "to_quick_replies": "send",
    "ATTACHMENT_PAYLOAD": "webhook",
    "MAX_BODY": "webhook",
    "MAX_INCOMING_TEXT": "webhook",
    "UNREADABLE_PAYLOAD": "webhook",
    "Incoming": "webhook",
    "Skipped": "webhook",
    "read_event": "webhook",
    "read_payload": "webhook",
    "signature_valid": "webhook",
}

__all__ = ["CHANNEL", "NO_CITIZEN_MESSAGE", "REPLY_WINDOW", "WINDOW_CLOSED", "messenger_reply_window_open",
           *_LAZY]


def __getattr__(name: str) -> Any:
    """Loads a name of the channel from its module on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))
