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
  as plain text); the archive keeps its length and a copy with those characters escaped
  (:mod:`bot.channels.messenger.webhook`).
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
  in order, through the Send API when the turn is over (:mod:`bot.channels.messenger.send`).
* **Staff replies.** A background task started with the server polls the outbox every 2 seconds
  and sends undelivered ``messenger`` messages (:mod:`bot.channels.messenger.delivery`).
"""
from __future__ import annotations

import asyncio
import json
from collections import OrderedDict, deque
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Deque, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import IntegrityError

from bot.channels.graph import GraphClient
from bot.channels.limits import SlidingWindow, refusal_text
from bot.channels.messenger.common import CHANNEL, logger, schema
from bot.channels.messenger.delivery import deliver_outbox
from bot.channels.messenger.send import MessengerOutput
from bot.channels.messenger.webhook import MAX_BODY, Incoming, read_payload, signature_valid, tokens_equal
from bot.channels.models import MessengerSeenMessage
from bot.core.config import get_settings
from bot.municipality import load_municipality
from bot.storage.db import session_scope

MAX_CHALLENGE = 256
MAX_PENDING_PER_SENDER = 200
RECENT_MIDS = 10_000  # remembered in memory too, for when the database cannot be reached
POLL_SECONDS = 2.0
STOP_GRACE_SECONDS = 10.0

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def record_seen(mid: str, url: Optional[str] = None) -> bool:
    """Records a message id; returns False when it was recorded before (by anyone)."""
    schema(url)
    try:
        with session_scope(url) as session:
            session.add(MessengerSeenMessage(mid=mid, seen_at=datetime.now(timezone.utc)))
    except IntegrityError:
        return False
    return True


async def _read_body(request: Request) -> Optional[bytes]:
    """The streamed body of a request, or None as soon as it is known to be over ``MAX_BODY``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = bytearray()
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            break
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


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
            schema(self.database_url)  # once, before any worker thread needs it
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
            if request.args.get("hub.mode") != "subscribe" or not tokens_equal(
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
            raw = await _read_body(request)
            if raw is None:
                return response.json({"error": "the body is larger than 1 MB"}, status=413)
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
