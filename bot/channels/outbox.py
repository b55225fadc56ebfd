"""``/webhooks/outbox/messages``: REST clients fetch what staff wrote to them.

The REST channel answers only when the citizen writes; a staff reply arrives later, so the
citizen's client asks for it here (the sender id is the conversation's own, unguessable id).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

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
            loop = asyncio.get_running_loop()
            try:
                items = await loop.run_in_executor(None, take_pending, sender, CHANNELS)
            except Exception:
                logger.exception("Outbox unavailable")
                return response.json({"error": "staff messages cannot be read just now; try again"}, status=503)
            return response.json({"messages": items})

        return outbox
