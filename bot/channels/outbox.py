"""``/webhooks/outbox/messages``: REST and widget clients fetch what staff wrote to them.

The REST channel answers only when the citizen writes; a staff reply arrives later, so the
citizen's client asks for it here: ``GET /webhooks/outbox/messages?sender=ID&channel=rest``
(``channel`` is ``rest``, the default, or ``widget``) with the conversation's secret in the
``X-Conversation-Secret`` header (see ``conversations.py``). Without the right secret: 401, and
nothing is marked delivered.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.conversations import SECRET_HEADER, conversation_id, secret_matches
from bot.channels.rest import SENDER_PATTERN
from bot.handoff.outbox import take_pending

logger = logging.getLogger(__name__)
CHANNELS = ("rest", "widget")


class OutboxInput(InputChannel):
    """Read-only channel that hands staff messages to REST clients."""

    @classmethod
    def name(cls) -> Text:
        return "outbox"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        outbox = Blueprint("outbox_webhook", __name__)

        @outbox.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @outbox.route("/messages", methods=["GET"])
        async def messages(request: Request) -> HTTPResponse:
            sender = request.args.get("sender", "")
            # The REST channel's rule covers the widget's senders too; nothing else has an outbox here.
            if not SENDER_PATTERN.fullmatch(sender):
                return response.json({"error": "give the conversation id as ?sender=... (1 to 128 characters: "
                                               "letters A-Z and a-z, digits, '_', '.', ':', '@' or '-')"}, status=400)
            channel = request.args.get("channel", "rest")
            if channel not in CHANNELS:
                return response.json({"error": "channel must be rest or widget"}, status=400)
            conversation = conversation_id(channel, sender)
            loop = asyncio.get_running_loop()
            try:
                allowed = await loop.run_in_executor(None, secret_matches, conversation,
                                                     request.headers.get(SECRET_HEADER))
                if not allowed:
                    return response.json({"error": f"send the conversation's secret (from the {SECRET_HEADER} header "
                                                   "of its first answer) in the same header"}, status=401)
                items = await loop.run_in_executor(None, take_pending, conversation, (channel,))
            except Exception:
                logger.exception("Outbox unavailable")
                return response.json({"error": "staff messages cannot be read just now; try again"}, status=503)
            return response.json({"messages": items})

        return outbox
