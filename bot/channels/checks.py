"""Checks shared by the channels that take a citizen's message as a JSON body (REST, widget).

Both channels refuse bad requests before Rasa sees them, with a sentence that says what is wrong
and a 4xx status, so a malformed request can never become a 500, a crash or a record the archive
database cannot store (a NUL byte, an unpaired surrogate, a dict where a string belongs).
"""
from __future__ import annotations

import asyncio
import json
import logging
import unicodedata
from typing import Any, Awaitable, Callable, Dict, List, Optional

MAX_MESSAGE_LENGTH = 5000  # characters
# Far more than any valid request needs (5,000 characters, each at most 12 bytes as JSON escapes).
MAX_BODY_BYTES = 128 * 1024
# Tab and line breaks are ordinary text; every other control character is refused.
ALLOWED_CONTROLS = frozenset("\t\n\r")


class RequestProblem(Exception):
    """A request that cannot be handled; ``status`` is a 4xx code, or 503 when the assistant could not answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def read_json_object(content_type: Optional[str], body: bytes, max_bytes: int = MAX_BODY_BYTES) -> dict:
    """Reads a request body that must be one JSON object.

    Args:
        content_type: the request's ``Content-Type`` header.
        body: the raw body.
        max_bytes: the largest body accepted.

    Returns:
        The decoded object.

    Raises:
        RequestProblem: 413 for a body over ``max_bytes``; 400 for another content type or a
            body that is not UTF-8 JSON, is nested too deeply, holds unpaired surrogates
            (``"\\ud800"``) or is not an object.
    """
    if (content_type or "").split(";")[0].strip().lower() != "application/json":
        raise RequestProblem("send the message as JSON with Content-Type: application/json")
    if len(body) > max_bytes:
        raise RequestProblem(f"the request is larger than {max_bytes} bytes", 413)
    try:
        data = json.loads(body.decode("utf-8"))
        # An escaped lone surrogate decodes, but no database or text file can store it.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise RequestProblem("the request body is nested too deeply") from None
    except UnicodeError:
        raise RequestProblem("the request body is not valid UTF-8 text") from None
    except ValueError:
        raise RequestProblem("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise RequestProblem('the request body must be a JSON object: {"sender": ..., "message": ...}')
    return data


async def read_body(request: Any, max_bytes: int) -> bytes:
    """Reads a streamed request body, refusing it as soon as it passes ``max_bytes``.

    The route must be declared with ``stream=True``: Sanic then hands us the body in pieces
    instead of buffering up to its 100 MB default, so a huge or endless body costs at most
    ``max_bytes`` of memory.

    Raises:
        RequestProblem: 413 when the declared ``Content-Length`` or the bytes read pass the limit.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise RequestProblem(f"the request is larger than {max_bytes} bytes", 413)
    if request.body or request.stream is None:  # a route without stream=True: Sanic buffered it
        if len(request.body or b"") > max_bytes:
            raise RequestProblem(f"the request is larger than {max_bytes} bytes", 413)
        return request.body or b""
    body = bytearray()
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            return bytes(body)
        body += chunk
        if len(body) > max_bytes:
            raise RequestProblem(f"the request is larger than {max_bytes} bytes", 413)


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds a control character other than tab, line feed or carriage return."""
    return any(unicodedata.category(c) == "Cc" and c not in ALLOWED_CONTROLS for c in text)


def check_message(message: Any, max_length: int = MAX_MESSAGE_LENGTH) -> str:
    """Checks a citizen's message text.

    Returns:
        The message, unchanged.

    Raises:
        RequestProblem: 400 when it is not a string, is empty or whitespace only, or holds
            control characters; 413 when it is longer than ``max_length`` characters.
    """
    if not isinstance(message, str):
        raise RequestProblem("message must be a string")
    if len(message) > max_length:
        raise RequestProblem(f"message is {len(message)} characters long; at most {max_length} are allowed", 413)
    if not message.strip():
        raise RequestProblem("message is empty")
    if has_control_characters(message):
        raise RequestProblem("message contains control characters (only tab and line breaks are allowed)")
    return message


def escaped(text: str) -> str:
    """``text`` with control characters and unpaired surrogates written as ``\\xNN``/``\\uNNNN``.

    Used to keep a faithful, storable copy of a message that cannot be stored as it is.
    """
    out = []
    for char in text:
        code = ord(char)
        if (unicodedata.category(char) == "Cc" and char not in ALLOWED_CONTROLS) or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def unreadable_reason(text: str, max_length: int) -> Optional[str]:
    """Why a message that arrived anyway (Messenger cannot be refused) cannot go to the dialogue.

    Returns:
        ``too_long``, ``invalid_unicode`` (unpaired surrogates), ``control_characters``, or None
        when the text is fine.
    """
    if len(text) > max_length:
        return "too_long"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return "invalid_unicode"
    if has_control_characters(text):
        return "control_characters"
    return None


TRY_AGAIN = "the assistant could not answer just now; try again in a moment"


async def run_turn(on_new_message: Callable[[Any], Awaitable[Any]], text: str, sender: str, channel: str,
                   metadata: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Runs one turn of a REST-style channel and returns the bot's messages.

    Args:
        on_new_message: Rasa's handler for the channel's messages.
        text: the checked message.
        sender: the checked conversation id.
        channel: the input channel's name.
        metadata: the request's metadata object.

    Raises:
        RequestProblem: with status 503 when the turn failed; the client is told to try again, never a 500.
    """
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    collector = CollectingOutputChannel()
    try:
        await on_new_message(UserMessage(text, collector, sender, input_channel=channel, metadata=metadata))
    except (Exception, asyncio.CancelledError) as failure:
        logging.getLogger(__name__).exception("A %s message could not be handled", channel)
        raise RequestProblem(TRY_AGAIN, 503) from failure
    return collector.messages
