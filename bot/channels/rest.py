"""``POST /webhooks/rest/webhook``: Rasa's REST channel, with its requests checked first.

Same address, same request and same answer as Rasa's own ``rest`` channel
(``{"sender": ID, "message": TEXT, "metadata": {...}}`` → the bot's messages as a JSON list), so
every REST client keeps working. Rasa's channel passes whatever arrives to the dialogue: an
empty body or a JSON list gave a 500, a missing sender put strangers into one conversation
called ``default``, a number where the text belongs gave an empty answer, and an
``input_channel`` object reached the archive, which could not store it. This one answers such
requests with a JSON ``{"error": ...}``:

* 400: not ``application/json``, not UTF-8 JSON, nested too deeply, not an object, an unknown
  field (only ``sender``, ``message`` and ``metadata`` are allowed), a sender that is not 1 to
  128 characters of ``A-Z a-z 0-9 _ . : @ -``, a message that is not a string, is empty or
  whitespace only, or holds control characters other than tab and line breaks, metadata that is
  not an object;
* 413: a body over 128 KiB (refused while it is read) or a message over 5,000 characters;
* 429: too many messages from the client's address or in the conversation (``limits.py``):
  ``Retry-After`` and one bot message in the usual list, naming the emergency numbers;
* 503: the assistant failed while answering (try again); never a 500.

The ``?stream=true`` variant of Rasa's channel is not offered.

The conversation is ``rest:<sender>`` (see ``conversations.py``), so a REST client can never
write into a Messenger or widget conversation; the answers name the client's own sender as
``recipient_id``, as Rasa's do. The first answer of a conversation carries its secret in the
``X-Conversation-Secret`` header: the client needs it to read staff replies from the outbox.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable, Dict, Optional, Text, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.checks import (MAX_BODY_BYTES, MAX_MESSAGE_LENGTH, RequestProblem, check_message,
                                 read_body, read_json_object, run_turn)
from bot.channels.conversations import SECRET_HEADER, conversation_id, issue_secret
from bot.channels.limits import CLIENT_KEY, PublicLimits, refused

logger = logging.getLogger(__name__)

SENDER_PATTERN = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")
REQUEST_KEYS = frozenset({"sender", "message", "metadata"})


def parse_request(content_type: Optional[str], body: bytes) -> Tuple[str, str, Dict[str, Any]]:
    """Checks a REST request and returns ``(sender, message, metadata)``.

    Raises:
        RequestProblem: with a sentence that says what is wrong (400 or 413, see the module).
    """
    data = read_json_object(content_type, body, MAX_BODY_BYTES)
    unknown = sorted(set(data) - REQUEST_KEYS)
    if unknown:
        raise RequestProblem(f"unknown field(s): {', '.join(unknown)}; allowed are sender, message and metadata")
    sender = data.get("sender")
    if not isinstance(sender, str) or not SENDER_PATTERN.fullmatch(sender):
        raise RequestProblem(
            "sender must be 1 to 128 characters: letters A-Z and a-z, digits, '_', '.', ':', '@' or '-'"
        )
    message = check_message(data.get("message"), MAX_MESSAGE_LENGTH)
    metadata = data.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise RequestProblem("metadata must be a JSON object")
    return sender, message, metadata


async def secret_header(conversation: str) -> Dict[str, str]:
    """``X-Conversation-Secret`` for a conversation's first answer; nothing afterwards (or when
    the database cannot make one now: the answer matters more, and the next one will carry it)."""
    import asyncio

    try:
        secret = await asyncio.get_running_loop().run_in_executor(None, issue_secret, conversation)
    except Exception:
        logger.exception("No conversation secret could be made")
        return {}
    return {SECRET_HEADER: secret, "Cache-Control": "no-store"} if secret else {}


class RestInput(InputChannel):
    """Rasa's REST channel (name ``rest``) with checked requests and no 500s."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest = Blueprint("rest_webhook", __name__)

        @rest.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        limits = PublicLimits.from_settings()

        @rest.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            wait = limits.by_address.hit(limits.address_of(request))
            if wait:  # before the body is read: a flood costs as little as possible
                return refused(request, wait)
            try:
                body = await read_body(request, MAX_BODY_BYTES)
                sender, text, metadata = parse_request(request.headers.get("content-type"), body)
                conversation = conversation_id(self.name(), sender)
                wait = limits.by_conversation.hit(conversation)
                if wait:
                    return refused(request, wait, sender, metadata)
                # Set here, over anything the client sent: the handoff cap trusts it.
                metadata = dict(metadata, **{CLIENT_KEY: limits.key_of(request)})
                messages = await run_turn(on_new_message, text, conversation, self.name(), metadata)
            except RequestProblem as problem:
                return response.json({"error": str(problem)}, status=problem.status)
            for message in messages:
                message["recipient_id"] = sender
            return response.json(messages, headers=await secret_header(conversation))

        return rest
