"""``/webhooks/messenger/webhook``: Facebook Messenger, hardened.

Meta's webhook is answered at once and the work is done in the background:

* **Checks first.** Without ``MESSENGER_VERIFY_TOKEN`` and ``MESSENGER_APP_SECRET`` the webhook
  answers 503 and does nothing. ``GET`` answers ``hub.challenge`` only for ``hub.mode=subscribe``
  and the right verify token (constant-time compare), else 403. ``POST`` bodies over 1 MB get 413;
  a missing, malformed or wrong ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app
  secret; the old SHA-1 header alone is not enough) gets 403; a body that is not a page event
  object gets 400. Nothing is processed in any of these cases.
* **Unreadable text.** Meta cannot be refused a message, so a text over 20,000 characters or with
  control characters or unpaired surrogates goes to the dialogue as the intent
  ``unreadable_message`` (the citizen is asked, in their language, to write it again, shorter and
  as plain text); the archive keeps its length and a copy with those characters escaped.
* **Acknowledge, then work.** A signed body is read into events (every entry, every messaging
  event; hostile or unknown events are skipped with a log line) and each event is put on its
  sender's queue before the 200 goes back, so the order Meta delivered them in is kept. One
  asyncio task per sender works through its queue, one event at a time; different senders run
  concurrently.
* **Once only.** Before an event is processed, its message id (``message.mid``, for postbacks
  ``postback.mid``) is inserted into ``messenger_seen_messages`` (unique). A redelivery, also a
  concurrent one, one after a restart or one at a second server, fails that insert and is ignored.
* **Archive first, then answer.** The bot's messages of a turn are collected while Rasa handles
  the message (its event broker archives the turn when the tracker is saved) and only sent,
  in order, through the Send API when the turn is over.
* **Staff replies.** A background task started with the server polls the outbox every 2 seconds
  and sends undelivered ``messenger`` messages with the ``HUMAN_AGENT`` tag when the citizen's last
  message is at most 7 days old; otherwise it records the delivery as refused, saying why. The
  delivery row is inserted (unique per message) in the same transaction, before the message is
  sent, so two servers never both send it.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Deque, Dict, Iterable, List, Optional, Set, Text, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot.core import clock
from bot.storage.db import ensure_schema, session_scope
from bot.archive.models import ArchiveRecord, Kind
from bot.archive.models import OutboxDelivery, OutboxMessage
from bot.storage.base import utc
from bot.channels.checks import escaped, unreadable_reason
from bot.channels.limits import SlidingWindow, refusal_text
from bot.channels.graph import (
    MAX_PAYLOAD,
    MAX_QUICK_REPLIES,
    MAX_QUICK_REPLY_TITLE,
    MAX_TEXT,
    GraphClient,
    SendResult,
)
from bot.channels.models import MAX_MID_LENGTH, MessengerSeenMessage
from bot.core.config import get_settings

logger = logging.getLogger(__name__)

CHANNEL = "messenger"
MAX_BODY = 1024 * 1024  # bytes
MAX_INCOMING_TEXT = 20_000  # characters; longer texts get a polite "too long" answer
MAX_CHALLENGE = 256
MAX_PENDING_PER_SENDER = 200
MAX_ATTACHMENTS = 20
RECENT_MIDS = 10_000  # remembered in memory too, for when the database cannot be reached
POLL_SECONDS = 2.0
STAFF_SEND_TIMEOUT = 5.0  # seconds per attempt; the delivery row's transaction waits for it
STOP_GRACE_SECONDS = 10.0
ATTACHMENT_PAYLOAD = "/attachment_received"
UNREADABLE_PAYLOAD = "/unreadable_message"
REPLY_WINDOW = timedelta(days=7)
WINDOW_CLOSED = (
    "Messenger only allows replies within 7 days of the citizen's last message; "
    "contact the citizen another way"
)
NO_CITIZEN_MESSAGE = (
    "Messenger only allows replies within 7 days of the citizen's last message, and this "
    "conversation has no message from the citizen; contact the citizen another way"
)

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_PSID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MID = re.compile(r"[\x21-\x7e]{1,%d}" % MAX_MID_LENGTH)
_PAGE_ID = re.compile(r"[0-9]{1,32}")
_ATTACHMENT_TYPE = re.compile(r"[a-z_]{1,32}")
_SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*\s+")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


# Alembic's upgrade is not thread-safe, and ensure_schema runs it once per process and database.
_schema_lock = threading.Lock()


def _schema(url: Optional[str]) -> None:
    with _schema_lock:
        ensure_schema(url)


# --- checks -------------------------------------------------------------------------------------


def signature_valid(app_secret: str, body: bytes, header: Optional[str]) -> bool:
    """Checks ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`` in constant time."""
    if not app_secret or not isinstance(header, str):
        return False
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), match.group(1).lower().encode("ascii"))


def _tokens_equal(given: Optional[str], expected: str) -> bool:
    if not isinstance(given, str) or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


# --- reading Meta's events ----------------------------------------------------------------------


@dataclass
class Incoming:
    """A citizen's message or postback, ready for the bot."""

    sender_id: str
    mid: str
    text: str
    metadata: Dict[str, Any] = field(default_factory=dict)


class Skipped(ValueError):
    """An event that is not processed; the message says why (for the log)."""


def _string(value: Any, what: str, limit: int, *, required: bool = True) -> Optional[str]:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise Skipped(f"{what} is {type(value).__name__}, not a string")
    if len(value) > limit:
        raise Skipped(f"{what} is {len(value)} characters long (at most {limit})")
    return value


def _payload(value: Any, what: str) -> str:
    """A quick reply's or postback's payload: our own buttons' text, so anything odd is hostile."""
    payload = _string(value, what, MAX_PAYLOAD)
    if unreadable_reason(payload, MAX_PAYLOAD) is not None:
        raise Skipped(f"{what} holds control characters or unpaired surrogates")
    return payload


def _attachment_types(attachments: Any) -> List[str]:
    if attachments is None:
        return []
    if not isinstance(attachments, list):
        raise Skipped(f"message.attachments is {type(attachments).__name__}, not a list")
    types = []
    for attachment in attachments[:MAX_ATTACHMENTS]:
        kind = attachment.get("type") if isinstance(attachment, dict) else None
        types.append(kind if isinstance(kind, str) and _ATTACHMENT_TYPE.fullmatch(kind) else "unknown")
    return types


def _synthetic_mid(sender_id: str, event: Dict[str, Any], payload: str) -> str:
    """A stable id for a postback without ``mid`` (older Graph API versions)."""
    digest = hashlib.sha256(
        json.dumps([sender_id, event.get("timestamp"), payload], default=str).encode()
    ).hexdigest()
    return f"postback:{digest}"


def read_event(event: Any, page_id: Optional[str] = None) -> Optional[Incoming]:
    """Turns one ``entry[].messaging[]`` event into a message for the bot.

    Returns:
        The message, or None for events the bot ignores (echoes, reads, deliveries, reactions,
        unknown types; logged at debug).

    Raises:
        Skipped: the event is malformed or hostile (wrong types, huge strings, missing fields).
    """
    if not isinstance(event, dict):
        raise Skipped(f"event is {type(event).__name__}, not an object")
    sender = event.get("sender")
    sender_id = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(sender_id, str) or not _PSID.fullmatch(sender_id):
        raise Skipped("event has no valid sender.id")
    timestamp = event.get("timestamp")
    metadata: Dict[str, Any] = {"channel": CHANNEL}
    if page_id:
        metadata["page_id"] = page_id
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        metadata["timestamp"] = timestamp

    if "message" in event:
        message = event["message"]
        if not isinstance(message, dict):
            raise Skipped(f"message is {type(message).__name__}, not an object")
        if message.get("is_echo"):
            logger.debug("Messenger: echo of the page's own message ignored")
            return None
        mid = message.get("mid")
        if not isinstance(mid, str) or not _MID.fullmatch(mid):
            raise Skipped("message has no valid mid")
        text = _string(message.get("text"), "message.text", MAX_BODY, required=False)
        attachments = _attachment_types(message.get("attachments"))
        if attachments:
            metadata["attachments"] = attachments
        quick_reply = message.get("quick_reply")
        if quick_reply is not None:
            if not isinstance(quick_reply, dict):
                raise Skipped("message.quick_reply is not an object")
            payload = _payload(quick_reply.get("payload"), "message.quick_reply.payload")
            if payload.strip():
                metadata["kind"] = "quick_reply"
                if text:
                    metadata["title"] = escaped(text[:MAX_PAYLOAD])
                return Incoming(sender_id, mid, payload, metadata)
        if text and text.strip():
            why = unreadable_reason(text, MAX_INCOMING_TEXT)
            if why is not None:
                # Meta cannot be refused, so the citizen is told and the archive keeps a storable copy.
                metadata.update(kind="unreadable", reason=why, length=len(text), original_text=escaped(text))
                return Incoming(sender_id, mid, UNREADABLE_PAYLOAD, metadata)
            metadata["kind"] = "text"
            return Incoming(sender_id, mid, text, metadata)
        sticker = message.get("sticker_id")
        if attachments or (sticker is not None and not isinstance(sticker, bool)):
            metadata["kind"] = "attachment"
            if sticker is not None:
                metadata["sticker"] = True
                if "sticker" not in attachments:
                    metadata["attachments"] = attachments + ["sticker"]
            return Incoming(sender_id, mid, ATTACHMENT_PAYLOAD, metadata)
        raise Skipped("message has neither text, quick reply nor attachments")

    if "postback" in event:
        postback = event["postback"]
        if not isinstance(postback, dict):
            raise Skipped(f"postback is {type(postback).__name__}, not an object")
        payload = _payload(postback.get("payload"), "postback.payload")
        if not payload.strip():
            raise Skipped("postback.payload is empty")
        mid = postback.get("mid")
        if mid is None:
            mid = _synthetic_mid(sender_id, event, payload)
        elif not isinstance(mid, str) or not _MID.fullmatch(mid):
            raise Skipped("postback has no valid mid")
        title = postback.get("title")
        metadata["kind"] = "postback"
        if isinstance(title, str) and title:
            metadata["title"] = escaped(title[:MAX_PAYLOAD])
        return Incoming(sender_id, mid, payload, metadata)

    known = [k for k in ("read", "delivery", "reaction", "optin", "referral", "account_linking") if k in event]
    logger.debug("Messenger: %s event ignored", known[0] if known else "unknown")
    return None


def read_payload(payload: Dict[str, Any]) -> List[Incoming]:
    """Reads every entry and every messaging event of a webhook body, in order."""
    found: List[Incoming] = []
    for index, entry in enumerate(payload.get("entry") or []):
        if not isinstance(entry, dict):
            logger.warning("Messenger: entry %d skipped: not an object", index)
            continue
        raw_page = entry.get("id")
        page_id = str(raw_page) if isinstance(raw_page, (str, int)) and not isinstance(raw_page, bool) else None
        if page_id is not None and not _PAGE_ID.fullmatch(page_id):
            page_id = None
        messaging = entry.get("messaging")
        if messaging is None:
            logger.debug("Messenger: entry %d has no messaging events (ignored)", index)
            continue
        if not isinstance(messaging, list):
            logger.warning("Messenger: entry %d skipped: messaging is not a list", index)
            continue
        for position, event in enumerate(messaging):
            try:
                incoming = read_event(event, page_id)
            except Skipped as why:
                logger.warning("Messenger: event %d of entry %d skipped: %s", position, index, why)
                continue
            except Exception:  # a bug must not cost the other events
                logger.exception("Messenger: event %d of entry %d skipped", position, index)
                continue
            if incoming is not None:
                found.append(incoming)
    return found


# --- what the bot says --------------------------------------------------------------------------


def _cut(window: str, minimum: int) -> int:
    """Where to end a part within ``window``: paragraph, sentence, line, word, else the limit."""
    paragraph = window.rfind("\n\n")
    if paragraph >= minimum:
        return paragraph
    sentences = [m.end() for m in _SENTENCE_END.finditer(window)]
    if sentences and sentences[-1] >= minimum:
        return sentences[-1]
    for separator in ("\n", " "):
        position = window.rfind(separator)
        if position >= minimum:
            return position
    for candidate in (paragraph, sentences[-1] if sentences else -1, window.rfind("\n"), window.rfind(" ")):
        if candidate > 0:
            return candidate
    return len(window)


def split_text(text: str, limit: int = MAX_TEXT) -> List[str]:
    """Splits a text into parts of at most ``limit`` characters, at sentence or word boundaries."""
    text = (text or "").strip()
    parts = []
    while len(text) > limit:
        cut = _cut(text[:limit], limit // 2)
        part = text[:cut].rstrip()
        if part:
            parts.append(part)
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def to_quick_replies(buttons: Iterable[Any]) -> Tuple[List[Dict[str, str]], List[str]]:
    """Turns Rasa buttons into Messenger quick replies (at most 13, titles of at most 20 characters).

    Returns:
        The quick replies, and lines for link buttons (which cannot be quick replies).
    """
    replies: List[Dict[str, str]] = []
    links: List[str] = []
    for button in buttons or []:
        if not isinstance(button, dict):
            continue
        title = str(button.get("title") or "").strip()
        url = button.get("url")
        payload = button.get("payload")
        if isinstance(url, str) and url and not payload:
            links.append(f"{title}: {url}" if title else url)
            continue
        if not title or not isinstance(payload, str) or not payload or len(payload) > MAX_PAYLOAD:
            logger.warning("Messenger: button %r cannot be a quick reply (no title or payload)", title[:40])
            continue
        if len(replies) == MAX_QUICK_REPLIES:
            logger.warning("Messenger allows %d quick replies; the other buttons are left out", MAX_QUICK_REPLIES)
            break
        if len(title) > MAX_QUICK_REPLY_TITLE:
            title = title[: MAX_QUICK_REPLY_TITLE - 1].rstrip() + "…"
        replies.append({"content_type": "text", "title": title, "payload": payload})
    return replies, links


class MessengerOutput(OutputChannel):
    """Turns the bot's messages into Send API messages.

    With ``collect`` (the default, used for a citizen's turn) messages are only gathered; the
    input channel sends them with :meth:`flush` after the turn. Without it they go at once (for
    messages Rasa sends outside a turn, e.g. ``trigger_intent``).
    """

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    def __init__(self, graph: GraphClient, collect: bool = True, messaging_type: str = "RESPONSE") -> None:
        super().__init__()
        self.graph = graph
        self.collect = collect
        self.messaging_type = messaging_type
        self.messages: List[Tuple[str, Dict[str, Any]]] = []

    async def _emit(self, recipient_id: Text, message: Dict[str, Any]) -> None:
        if self.collect:
            self.messages.append((recipient_id, message))
        else:
            await self.graph.send(self._body(recipient_id, message))

    def _body(self, recipient_id: str, message: Dict[str, Any]) -> Dict[str, Any]:
        return {"recipient": {"id": recipient_id}, "messaging_type": self.messaging_type, "message": message}

    async def flush(self) -> List[SendResult]:
        """Sends the collected messages in order (a failure is logged and the rest still go)."""
        messages, self.messages = self.messages, []
        results = []
        for recipient_id, message in messages:
            results.append(await self.graph.send(self._body(recipient_id, message)))
        return results

    async def _texts(self, recipient_id: Text, text: Optional[Text], buttons: Iterable[Any] = ()) -> None:
        replies, links = to_quick_replies(buttons)
        full = "\n".join(filter(None, [(text or "").strip(), *links]))
        parts = split_text(full)
        if not parts and replies:
            parts = [" / ".join(r["title"] for r in replies)]
        for index, part in enumerate(parts):
            message: Dict[str, Any] = {"text": part}
            if replies and index == len(parts) - 1:
                message["quick_replies"] = replies
            await self._emit(recipient_id, message)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._texts(recipient_id, text)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self._texts(recipient_id, text, buttons)

    async def send_quick_replies(
        self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self._texts(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        if isinstance(image, str) and image.startswith("https://"):
            await self._emit(recipient_id, {"attachment": {"type": "image", "payload": {"url": image, "is_reusable": True}}})
        else:
            logger.warning("Messenger: image %r left out (Messenger needs an https URL)", str(image)[:80])

    async def send_attachment(self, recipient_id: Text, attachment: Text, **kwargs: Any) -> None:
        await self._texts(recipient_id, str(attachment))

    async def send_elements(self, recipient_id: Text, elements: Iterable[Dict[Text, Any]], **kwargs: Any) -> None:
        for element in elements or []:
            if isinstance(element, dict):
                text = "\n".join(filter(None, [str(element.get("title") or ""), str(element.get("subtitle") or "")]))
                await self._texts(recipient_id, text, element.get("buttons") or [])

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        if isinstance(json_message, dict) and ("text" in json_message or "attachment" in json_message):
            text = json_message.get("text")
            if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
                await self._texts(recipient_id, str(text), json_message.get("quick_replies") or [])
                return
            await self._emit(recipient_id, dict(json_message))
        else:
            logger.warning("Messenger: custom message left out (needs a Send API 'text' or 'attachment')")


# --- staff replies ------------------------------------------------------------------------------


def _last_citizen_message_at(session: Session, conversation_id: str) -> Optional[datetime]:
    moment = session.execute(
        select(ArchiveRecord.occurred_at)
        .where(ArchiveRecord.conversation_id == conversation_id, ArchiveRecord.kind == Kind.CITIZEN_MESSAGE)
        .order_by(ArchiveRecord.seq.desc())
        .limit(1)
    ).scalar()
    return utc(moment) if moment is not None else None


def _window_open(last: Optional[datetime], now: Optional[datetime]) -> bool:
    # Meta counts the window in real time, and the archive holds the real time of each message,
    # so the real clock is used here (not BOT_CLOCK).
    now = utc(now) if now is not None else datetime.now(timezone.utc)
    return last is not None and now - last <= REPLY_WINDOW


def messenger_reply_window_open(
    conversation_id: str, now: Optional[datetime] = None, url: Optional[str] = None
) -> bool:
    """Whether staff may still write to this Messenger conversation (HUMAN_AGENT tag, 7 days).

    Args:
        conversation_id: the conversation (the citizen's page-scoped id).
        now: the time to judge at (default: the real time now).
        url: the database (default: the configured one).

    Returns:
        True when the citizen's last message is at most 7 days old.
    """
    _schema(url)
    with session_scope(url) as session:
        last = _last_citizen_message_at(session, conversation_id)
    return _window_open(last, now)


class _TryLater(Exception):
    """The Graph API could not be reached; the delivery row is rolled back and tried again."""


def _deliver_one(graph: GraphClient, outbox_id: int, url: Optional[str], now: Optional[datetime]) -> str:
    """Delivers one outbox message; returns sent, refused, failed, taken or later."""
    try:
        with session_scope(url) as session:
            message = session.get(OutboxMessage, outbox_id)
            if message is None:
                return "taken"
            delivery = OutboxDelivery(outbox_id=outbox_id, delivered=False, at=clock.now(), detail="sending")
            session.add(delivery)
            session.flush()  # the unique outbox_id: another server that got here first wins
            last = _last_citizen_message_at(session, message.conversation_id)
            if not _window_open(last, now):
                delivery.detail = WINDOW_CLOSED if last is not None else NO_CITIZEN_MESSAGE
                logger.warning("Messenger: staff message %d not sent: %s", outbox_id, delivery.detail)
                return "refused"
            recipient = message.recipient_id or message.conversation_id
            if not _PSID.fullmatch(recipient or ""):
                delivery.detail = f"not a Messenger recipient id: {recipient[:64]!r}"
                return "failed"
            parts = split_text(message.text)
            for index, part in enumerate(parts):
                result = graph.send_sync(
                    {"recipient": {"id": recipient}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
                     "message": {"text": part}},
                    timeout=STAFF_SEND_TIMEOUT,
                )
                if result.ok:
                    continue
                if index == 0 and (result.worth_trying_later or not graph.configured):
                    raise _TryLater(result.describe())
                done = f"; {index} of {len(parts)} parts were delivered" if index else ""
                delivery.detail = f"{result.describe()}{done}"
                return "failed"
            delivery.delivered = True
            delivery.detail = f"sent through the Send API with the HUMAN_AGENT tag ({len(parts)} message(s))"
            return "sent"
    except IntegrityError:
        return "taken"
    except _TryLater as why:
        logger.warning("Messenger: staff message %d will be tried again: %s", outbox_id, why)
        return "later"
    except OperationalError as error:  # e.g. the database is locked or away; nothing was recorded
        logger.warning("Messenger: staff message %d will be tried again: database error %s",
                       outbox_id, type(error.orig).__name__ if error.orig is not None else error)
        return "later"


def deliver_outbox(graph: GraphClient, url: Optional[str] = None, now: Optional[datetime] = None,
                   limit: int = 100) -> Dict[str, int]:
    """Sends the staff messages of Messenger conversations that are not delivered yet.

    Returns:
        How many messages ended how (``sent``, ``refused``, ``failed``, ``taken``, ``later``).
    """
    _schema(url)
    with session_scope(url) as session:
        pending = session.execute(
            select(OutboxMessage.id, OutboxMessage.conversation_id)
            .where(OutboxMessage.channel == CHANNEL, OutboxMessage.id.not_in(select(OutboxDelivery.outbox_id)))
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    outcomes: Dict[str, int] = {}
    waiting: Set[str] = set()  # a conversation whose earlier message must go first
    for outbox_id, conversation_id in pending:
        if conversation_id in waiting:
            continue
        outcome = _deliver_one(graph, outbox_id, url, now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome == "later":
            waiting.add(conversation_id)
    return outcomes


# --- message ids already seen -------------------------------------------------------------------


def record_seen(mid: str, url: Optional[str] = None) -> bool:
    """Records a message id; returns False when it was recorded before (by anyone)."""
    _schema(url)
    try:
        with session_scope(url) as session:
            session.add(MessengerSeenMessage(mid=mid, seen_at=datetime.now(timezone.utc)))
    except IntegrityError:
        return False
    return True


# --- the channel --------------------------------------------------------------------------------


class MessengerInput(InputChannel):
    """Facebook Messenger through Meta's webhook and Send API (settings from the environment)."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if credentials:
            logger.warning("Messenger: settings in credentials.yml are ignored; use the MESSENGER_* "
                           "environment variables (README, .env.example)")
        return cls.from_settings()

    @classmethod
    def from_settings(cls) -> "MessengerInput":
        settings = get_settings()
        return cls(
            verify_token=settings.messenger_verify_token,
            app_secret=settings.messenger_app_secret,
            page_access_token=settings.messenger_page_access_token,
            graph_url=settings.messenger_graph_url,
            graph_version=settings.messenger_graph_version,
        )

    def __init__(
        self,
        verify_token: str = "",
        app_secret: str = "",
        page_access_token: str = "",
        graph_url: str = "https://graph.facebook.com",
        graph_version: str = "v21.0",
        database_url: Optional[str] = None,
        poll_seconds: float = POLL_SECONDS,
        messages_per_minute: Optional[int] = None,
    ) -> None:
        self.verify_token = verify_token or ""
        self.app_secret = app_secret or ""
        self.graph = GraphClient(graph_url, graph_version, page_access_token or "", app_secret=self.app_secret)
        self.database_url = database_url
        self.poll_seconds = poll_seconds
        self._queues: Dict[str, Deque[Incoming]] = {}
        self._workers: Dict[str, asyncio.Task] = {}
        self._recent: "OrderedDict[str, None]" = OrderedDict()
        self._poller: Optional[asyncio.Task] = None
        if messages_per_minute is None:
            messages_per_minute = get_settings().messages_per_conversation
        # Every delivery comes from Meta's addresses, so only the conversation can be counted;
        # a refused sender is told once a minute, not once per message.
        self._turns = SlidingWindow(messages_per_minute)
        self._refusals_told = SlidingWindow(1)

    @property
    def configured(self) -> bool:
        return bool(self.verify_token and self.app_secret)

    def get_output_channel(self) -> Optional[OutputChannel]:
        return MessengerOutput(self.graph, collect=False, messaging_type="UPDATE")

    # -- background work --

    def _remember(self, mid: str) -> bool:
        """Returns False if this process has seen ``mid`` already; remembers it otherwise."""
        if mid in self._recent:
            return False
        self._recent[mid] = None
        while len(self._recent) > RECENT_MIDS:
            self._recent.popitem(last=False)
        return True

    def enqueue(self, incoming: Incoming, on_new_message: OnNewMessage) -> None:
        """Puts an event on its sender's queue and makes sure a worker is draining it."""
        queue = self._queues.setdefault(incoming.sender_id, deque())
        if len(queue) >= MAX_PENDING_PER_SENDER:
            logger.warning("Messenger: %d events already wait for sender %s; event %s dropped",
                           len(queue), incoming.sender_id, incoming.mid)
            return
        queue.append(incoming)
        if incoming.sender_id not in self._workers:
            self._workers[incoming.sender_id] = asyncio.create_task(
                self._drain(incoming.sender_id, queue, on_new_message), name=f"messenger-{incoming.sender_id}"
            )

    async def _drain(self, sender_id: str, queue: Deque[Incoming], on_new_message: OnNewMessage) -> None:
        try:
            while queue:
                incoming = queue.popleft()
                try:
                    await self._process(incoming, on_new_message)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("Messenger: event %s of %s could not be processed", incoming.mid, sender_id)
        finally:
            # No await between the empty queue and here: nothing can be enqueued in between.
            self._workers.pop(sender_id, None)
            if self._queues.get(sender_id) is queue:
                del self._queues[sender_id]

    async def _process(self, incoming: Incoming, on_new_message: OnNewMessage) -> None:
        if not self._remember(incoming.mid):
            logger.debug("Messenger: message %s seen before; ignored", incoming.mid)
            return
        loop = asyncio.get_running_loop()
        try:
            first = await loop.run_in_executor(None, record_seen, incoming.mid, self.database_url)
        except Exception:
            # Answering matters more than deduplicating: this process still remembers the id.
            logger.exception("Messenger: message id %s could not be recorded; processing anyway", incoming.mid)
            first = True
        if not first:
            logger.info("Messenger: message %s was delivered before; ignored", incoming.mid)
            return
        output = MessengerOutput(self.graph)
        if self._turns.hit(incoming.sender_id):
            logger.warning("Messenger: sender %s sends too fast; message %s not answered", incoming.sender_id,
                           incoming.mid)
            if self._refusals_told.hit(incoming.sender_id) is None:
                from bot.municipality import load_municipality

                profile = load_municipality()
                await output.send_text_message(incoming.sender_id, refusal_text(profile.default_language))
                await output.flush()
            return
        message = UserMessage(
            incoming.text, output, incoming.sender_id, input_channel=CHANNEL,
            message_id=incoming.mid, metadata=incoming.metadata,
        )
        try:
            await on_new_message(message)
        except Exception:
            logger.exception("Messenger: the bot failed on message %s; nothing is sent", incoming.mid)
            return
        await output.flush()

    async def _poll_outbox(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                outcomes = await loop.run_in_executor(None, deliver_outbox, self.graph, self.database_url)
                if outcomes:
                    logger.info("Messenger: staff outbox: %s",
                                ", ".join(f"{count} {what}" for what, count in sorted(outcomes.items())))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Messenger: the staff outbox could not be read; trying again")
            await asyncio.sleep(self.poll_seconds)

    def start(self) -> None:
        """Starts polling the staff outbox (the server's ``after_server_start``)."""
        if not self.configured:
            logger.warning("Messenger is not configured (MESSENGER_VERIFY_TOKEN and MESSENGER_APP_SECRET are "
                           "empty): its webhook answers 503 and staff messages for Messenger wait in the outbox")
            return
        if not self.graph.configured:
            logger.error("MESSENGER_PAGE_ACCESS_TOKEN is empty: Messenger messages are received but no answer "
                         "can be sent, and staff messages for Messenger wait in the outbox")
            return
        try:
            _schema(self.database_url)  # once, before any worker thread needs it
        except Exception:
            logger.exception("Messenger: the database cannot be reached yet; trying again when needed")
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll_outbox(), name="messenger-outbox")

    async def stop(self) -> None:
        """Stops the poller, lets running turns finish (briefly) and closes the HTTP session."""
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None
        workers = list(self._workers.values())
        if workers:
            done, running = await asyncio.wait(workers, timeout=STOP_GRACE_SECONDS)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        await self.graph.close()

    # -- HTTP --

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        messenger = Blueprint("messenger_webhook", __name__)
        not_configured = {"error": "the Messenger channel is not configured "
                                   "(MESSENGER_VERIFY_TOKEN and MESSENGER_APP_SECRET are empty)"}

        @messenger.listener("after_server_start")
        async def start(_app: Any, _loop: Any) -> None:
            self.start()

        @messenger.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await self.stop()

        @messenger.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": self.configured})

        @messenger.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.configured:
                return response.json(not_configured, status=503)
            if request.args.get("hub.mode") != "subscribe" or not _tokens_equal(
                request.args.get("hub.verify_token"), self.verify_token
            ):
                logger.warning("Messenger: webhook verification refused (wrong mode or verify token)")
                return response.json({"error": "verification failed"}, status=403)
            challenge = request.args.get("hub.challenge")
            if not challenge or len(challenge) > MAX_CHALLENGE:
                return response.json({"error": "hub.challenge is missing or too long"}, status=400)
            return response.text(challenge)

        @messenger.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            if not self.configured:
                return response.json(not_configured, status=503)
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BODY:
                return response.json({"error": "the body is larger than 1 MB"}, status=413)
            body = bytearray()
            while True:
                chunk = await request.stream.read()
                if chunk is None:
                    break
                body += chunk
                if len(body) > MAX_BODY:
                    return response.json({"error": "the body is larger than 1 MB"}, status=413)
            raw = bytes(body)
            if not signature_valid(self.app_secret, raw, request.headers.get("x-hub-signature-256")):
                logger.warning("Messenger: webhook POST refused: X-Hub-Signature-256 missing, malformed or wrong")
                return response.json({"error": "invalid signature"}, status=403)
            try:
                payload = json.loads(raw)
            except (ValueError, RecursionError):
                return response.json({"error": "the body is not JSON"}, status=400)
            if (
                not isinstance(payload, dict)
                or payload.get("object") != "page"
                or not isinstance(payload.get("entry"), list)
            ):
                return response.json({"error": "not a Messenger page event (object 'page' with an entry list)"},
                                     status=400)
            for incoming in read_payload(payload):
                self.enqueue(incoming, on_new_message)
            return response.text("EVENT_RECEIVED")

        return messenger
