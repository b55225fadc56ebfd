"""``/webhooks/widget/...``: the accessible chat widget that municipalities embed in their pages.

A municipality adds one tag to its pages (``GET /webhooks/widget/demo`` shows it in place)::

    <script src="https://chat.example.kommune.no/webhooks/widget/widget.js"
            data-server="https://chat.example.kommune.no" data-lang="nn"
            data-municipality="saltvika" defer></script>

Routes (the Rasa server's ``--cors`` origins apply to all of them, preflight included):

``POST /webhooks/widget/webhook``
    ``{"sender": ID, "message": TEXT, "metadata": {"language": "nn"}}`` (metadata optional) →
    The first message of a conversation comes without ``sender``: the server issues the id and
    the conversation's secret in the ``X-Conversation-Id`` and ``X-Conversation-Secret`` response
    headers, and every later message must send that secret in ``X-Conversation-Secret`` (401
    otherwise), so nobody who learns an id can write into the conversation.
    the bot's messages as a JSON list, like Rasa's REST channel, each with ``lang``: the
    conversation's language after the turn, so the widget can mark every message with the
    language it is written in. A ``language`` in the metadata is the citizen's choice in the
    widget and counts as an explicit request (``bot.dialogue.conversation.channel_language_choice``).
    Bad requests get a JSON ``{"error": ...}`` with 400 (or 413 for a message over
    :data:`MAX_MESSAGE_LENGTH` characters); see ``checks.py``, shared with the REST channel.
    A failure while answering gets 503, never a 500. Too many messages from one address or in
    one conversation get 429 with ``Retry-After`` and one message in the usual list (``limits.py``),
    which the widget shows as the assistant's answer.
``GET /webhooks/widget/widget.js``, ``/webhooks/widget/widget.css``
    the widget itself (``bot/channels/static/``), cacheable, with an ETag.
``GET /webhooks/widget/demo``
    a demo page of the configured municipality (``bot/channels/templates/demo.html``) that
    embeds the widget exactly as a municipality would.

Staff replies reach the widget through ``GET /webhooks/outbox/messages?sender=ID`` (``outbox.py``),
which delivers for the ``widget`` channel too.
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.checks import (MAX_BODY_BYTES, MAX_MESSAGE_LENGTH, RequestProblem, check_message,
                                 read_body, read_json_object, run_turn)
from bot.channels.limits import CLIENT_KEY, PublicLimits, refused
from bot.channels.conversations import (ID_HEADER, SECRET_HEADER, conversation_id, new_widget_conversation,
                                        secret_matches)
from bot.core.languages import LANGUAGES

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"

SENDER_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")
METADATA_KEYS = frozenset({"language"})
REQUEST_KEYS = frozenset({"sender", "message", "metadata"})

STATIC_FILES = {
    "widget.js": "text/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
}
STATIC_CACHE_CONTROL = "public, max-age=3600"
# Host header values we are willing to write into the demo page's script tag.
_HOST_PATTERN = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def parse_request(content_type: Optional[str], body: bytes) -> Tuple[str, str, Dict[str, Any]]:
    """Checks a ``POST /webhook`` request and returns ``(sender, message, metadata)``.

    Raises:
        RequestProblem: with a sentence that says what is wrong (status 400, or 413 when the
            message or the body is too long).
    """
    data = read_json_object(content_type, body, MAX_BODY_BYTES)
    unknown = sorted(set(data) - REQUEST_KEYS)
    if unknown:
        raise RequestProblem(f"unknown field(s): {', '.join(unknown)}; allowed are sender, message and metadata")
    sender = data.get("sender", "")
    if sender != "" and (not isinstance(sender, str) or not SENDER_PATTERN.fullmatch(sender)):
        raise RequestProblem("sender must be the id the server issued (leave it out to start a conversation)")
    message = check_message(data.get("message"), MAX_MESSAGE_LENGTH)
    metadata = data.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise RequestProblem('metadata must be a JSON object such as {"language": "nn"}')
    unknown = sorted(set(metadata) - METADATA_KEYS)
    if unknown:
        raise RequestProblem(f"unknown metadata key(s): {', '.join(unknown)}; allowed is language")
    if "language" in metadata and metadata["language"] not in LANGUAGES:
        raise RequestProblem("metadata.language must be one of nn, nb, sv")
    return sender, message, dict(metadata)


def error(message: str, status: int) -> HTTPResponse:
    return response.json({"error": message}, status=status, headers={"Cache-Control": "no-store"})


def static_file(name: str, if_none_match: Optional[str]) -> HTTPResponse:
    """Serves ``static/<name>`` with its content type, cache headers and an ETag."""
    body = (STATIC_DIR / name).read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": STATIC_CACHE_CONTROL, "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if if_none_match and etag in [tag.strip() for tag in if_none_match.split(",")]:
        return HTTPResponse(status=304, headers=headers)
    return response.raw(body, content_type=STATIC_FILES[name], headers=headers)


def demo_page(server: str) -> Tuple[str, str]:
    """Renders the demo page of the configured municipality; returns ``(html, csp_nonce)``."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from bot.municipality import desk_status, load_municipality

    profile = load_municipality()
    lang = profile.default_language
    try:
        week_hours = desk_status(profile, lang).week_hours
    except Exception:  # the page is a demonstration; it must render without the hours too
        logger.exception("Opening hours for the demo page failed")
        week_hours = ""
    nonce = secrets.token_urlsafe(16)
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html"])
    )
    html = environment.get_template("demo.html").render(
        profile=profile, lang=lang, name=profile.name_in(lang), week_hours=week_hours,
        server=server, nonce=nonce,
    )
    return html, nonce


def own_origin(request: Request) -> str:
    """The server's address as the browser reached it (for the demo page's script tag)."""
    host = request.headers.get("host", "")
    scheme = "https" if request.scheme == "https" else "http"
    if not _HOST_PATTERN.fullmatch(host):
        host = request.server_name or "127.0.0.1"
        port = request.server_port
        host = f"{host}:{port}" if port else host
    return f"{scheme}://{host}"


async def conversation_language(request: Request, sender: str) -> Optional[str]:
    """The ``language`` slot of the conversation after the turn, or None if it cannot be read."""
    try:
        tracker = await request.app.ctx.agent.tracker_store.retrieve(sender)
        value = tracker.get_slot("language") if tracker is not None else None
    except Exception:
        logger.exception("Could not read the conversation's language")
        return None
    return value if value in LANGUAGES else None


class WidgetInput(InputChannel):
    """The web widget's channel: REST-like webhook, the widget's files and a demo page."""

    @classmethod
    def name(cls) -> Text:
        return "widget"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        widget = Blueprint("widget_webhook", __name__)

        @widget.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        limits = PublicLimits.from_settings()

        @widget.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            import asyncio

            loop = asyncio.get_running_loop()
            headers = {"Cache-Control": "no-store", "Access-Control-Expose-Headers": f"{ID_HEADER}, {SECRET_HEADER}"}
            wait = limits.by_address.hit(limits.address_of(request))
            if wait:  # before the body is read, and before a conversation is issued
                return refused(request, wait, extra={"lang": None})
            try:
                body = await read_body(request, MAX_BODY_BYTES)
                sender, text, metadata = parse_request(request.headers.get("content-type"), body)
                if not sender:
                    sender, secret = await loop.run_in_executor(None, new_widget_conversation)
                    headers.update({ID_HEADER: sender, SECRET_HEADER: secret})
                elif not await loop.run_in_executor(None, secret_matches, conversation_id(self.name(), sender),
                                                    request.headers.get(SECRET_HEADER)):
                    return error("this conversation needs its secret; start a new one by leaving out sender", 401)
                conversation = conversation_id(self.name(), sender)
                # Counted only once the secret matched: nobody else can use up a conversation's turns.
                wait = limits.by_conversation.hit(conversation)
                if wait:
                    return refused(request, wait, sender, metadata, extra={"lang": None})
                # Set here, never by the client: the handoff cap trusts it.
                metadata = dict(metadata, **{CLIENT_KEY: limits.key_of(request)})
                answers = await run_turn(on_new_message, text, conversation, self.name(), metadata)
            except RequestProblem as problem:
                return error(str(problem), problem.status)
            except Exception:  # the database could not issue or check the secret
                logger.exception("Widget conversation secret unavailable")
                return error("the assistant cannot answer just now; try again", 503)
            language = await conversation_language(request, conversation)
            messages: List[Dict[str, Any]] = []
            for message in answers:
                message = dict(message, recipient_id=sender)
                if language:
                    message["lang"] = language
                messages.append(message)
            return response.json(messages, headers=headers)

        @widget.route("/widget.js", methods=["GET"])
        async def script(request: Request) -> HTTPResponse:
            return static_file("widget.js", request.headers.get("if-none-match"))

        @widget.route("/widget.css", methods=["GET"])
        async def stylesheet(request: Request) -> HTTPResponse:
            return static_file("widget.css", request.headers.get("if-none-match"))

        @widget.route("/demo", methods=["GET"])
        async def demo(request: Request) -> HTTPResponse:
            try:
                html, nonce = demo_page(own_origin(request))
            except Exception:
                logger.exception("The demo page could not be rendered")
                return response.text("The demo page cannot be shown just now.", status=503)
            csp = (
                "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
                f"style-src 'self' 'nonce-{nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            )
            return response.html(html, headers={"Cache-Control": "no-cache", "Content-Security-Policy": csp})

        return widget
