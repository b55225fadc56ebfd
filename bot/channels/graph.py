"""A small client for Messenger's Send API (``POST {graph}/{version}/me/messages``).

Both ways of calling it behave alike: the asynchronous :meth:`GraphClient.send` (aiohttp, for
the bot's answers inside the Rasa server's event loop) and :meth:`GraphClient.send_sync`
(requests, for the staff outbox, which sends inside a database transaction in a worker thread).
A failed call is logged with the HTTP status and Meta's own error message, retried once when it
may succeed the second time (5xx, timeout, connection error), and reported in a
:class:`SendResult`; nothing here raises, so a Graph API problem never stops the channel.
The page access token travels only in the query string of the request itself and is never logged.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

import aiohttp
import requests

logger = logging.getLogger(__name__)

#: Messenger's limits (https://developers.facebook.com/docs/messenger-platform/reference/send-api/).
MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
MAX_PAYLOAD = 1000
RETRY_DELAY = 0.5  # seconds before the one retry
#: Meta error codes that a later attempt may get past: 190 invalid or expired token (until the
#: operator puts in a new one), 2 temporary, 4/17/32/613 rate limits.
LATER_CODES = frozenset({2, 4, 17, 32, 190, 613})


@dataclass(frozen=True)
class SendResult:
    """What became of one Send API call.

    Attributes:
        ok: Meta accepted the message.
        status: the HTTP status of the last attempt (0 when no answer came).
        message_id: Meta's id of the sent message, when accepted.
        error: Meta's error message (or what went wrong), when not accepted.
        code: Meta's error code, when it gave one.
        transient: the failure may go away by itself (5xx, timeout, no connection).
    """

    ok: bool
    status: int = 0
    message_id: Optional[str] = None
    error: Optional[str] = None
    code: Optional[int] = None
    transient: bool = False

    @property
    def worth_trying_later(self) -> bool:
        """A failure that is about the connection, the token or rate limits, not this message."""
        return not self.ok and (self.transient or self.code in LATER_CODES or self.status == 0)

    def describe(self) -> str:
        """One line for a log or an outbox delivery's detail."""
        if self.ok:
            return f"sent (message id {self.message_id})"
        code = f", code {self.code}" if self.code is not None else ""
        status = f"HTTP {self.status}" if self.status else "no answer"
        return f"Graph API refused the message ({status}{code}): {self.error}"


def _meta_error(status: int, body: bytes) -> SendResult:
    """Reads Meta's ``{"error": {"message", "type", "code"}}`` from a failed response."""
    message, code, transient = None, None, False
    try:
        error = json.loads(body.decode("utf-8", errors="replace")).get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or "")[:500] or None
            code = error.get("code") if isinstance(error.get("code"), int) else None
            transient = error.get("is_transient") is True
    except (ValueError, AttributeError, RecursionError):
        pass
    if message is None:
        message = body[:300].decode("utf-8", errors="replace") or "no error message"
    return SendResult(ok=False, status=status, error=message, code=code, transient=transient or status >= 500)


def _interpret(status: int, body: bytes) -> SendResult:
    if 200 <= status < 300:
        try:
            data = json.loads(body.decode("utf-8", errors="replace"))
            message_id = data.get("message_id") if isinstance(data, dict) else None
        except (ValueError, RecursionError):
            message_id = None
        return SendResult(ok=True, status=status, message_id=str(message_id) if message_id else None)
    return _meta_error(status, body)


class GraphClient:
    """Sends messages as the Facebook page.

    Args:
        graph_url: the Graph API's address, e.g. ``https://graph.facebook.com``.
        version: the Graph API version, e.g. ``v21.0``.
        access_token: the page access token.
        app_secret: the app secret; when given, every call carries ``appsecret_proof`` (which
            Meta requires when the app's "Require app secret" setting is on).
        timeout: seconds per attempt.
    """

    def __init__(
        self, graph_url: str, version: str, access_token: str, app_secret: str = "", timeout: float = 10.0
    ) -> None:
        self.url = f"{graph_url.rstrip('/')}/{version.strip('/')}/me/messages"
        self.access_token = access_token
        self.app_secret = app_secret
        self.timeout = timeout
        self._session: Optional[aiohttp.ClientSession] = None
        self._session_loop: Optional[asyncio.AbstractEventLoop] = None

    @property
    def configured(self) -> bool:
        return bool(self.access_token)

    def _params(self) -> Dict[str, str]:
        params = {"access_token": self.access_token}
        if self.app_secret:
            params["appsecret_proof"] = hmac.new(
                self.app_secret.encode(), self.access_token.encode(), hashlib.sha256
            ).hexdigest()
        return params

    def _redact(self, text: str) -> str:
        """Removes the token (and its proof) from an error text (requests puts the URL in it)."""
        for secret in self._params().values():
            if secret:
                text = text.replace(secret, "***")
        return text[:500]

    @staticmethod
    def _log(result: SendResult, payload: Dict[str, Any], attempt: int, final: bool) -> None:
        recipient = (payload.get("recipient") or {}).get("id")
        if result.ok:
            logger.debug("Messenger: message to %s %s", recipient, result.describe())
        elif final:
            logger.error("Messenger: message to %s not delivered (attempt %d): %s",
                         recipient, attempt, result.describe())
        else:
            logger.warning("Messenger: message to %s failed (attempt %d), retrying once: %s",
                           recipient, attempt, result.describe())

    def _unconfigured(self) -> SendResult:
        result = SendResult(ok=False, error="MESSENGER_PAGE_ACCESS_TOKEN is empty; nothing can be sent")
        logger.error("Messenger: %s", result.error)
        return result

    async def _client_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
            self._session_loop = loop
        return self._session

    async def send(self, payload: Dict[str, Any]) -> SendResult:
        """Sends one Send API request (retried once on 5xx or timeout); never raises."""
        if not self.configured:
            return self._unconfigured()
        result = SendResult(ok=False)
        for attempt in (1, 2):
            try:
                session = await self._client_session()
                async with session.post(self.url, params=self._params(), json=payload) as response:
                    result = _interpret(response.status, await response.read())
            except asyncio.TimeoutError:
                result = SendResult(ok=False, error=f"no answer within {self.timeout:g} s", transient=True)
            except aiohttp.ClientError as error:
                result = SendResult(ok=False, error=self._redact(f"{type(error).__name__}: {error}"), transient=True)
            except Exception as error:  # anything else: log it, never crash the channel
                logger.error("Messenger: unexpected error while sending: %s", self._redact(repr(error)))
                result = SendResult(ok=False, error=self._redact(f"{type(error).__name__}: {error}"))
            final = result.ok or not result.transient or attempt == 2
            self._log(result, payload, attempt, final)
            if final:
                return result
            await asyncio.sleep(RETRY_DELAY)
        return result

    def send_sync(self, payload: Dict[str, Any], timeout: Optional[float] = None) -> SendResult:
        """Like :meth:`send`, for code that runs in a worker thread (``timeout`` per attempt)."""
        timeout = timeout or self.timeout
        if not self.configured:
            return self._unconfigured()
        result = SendResult(ok=False)
        for attempt in (1, 2):
            try:
                response = requests.post(self.url, params=self._params(), json=payload, timeout=timeout)
                result = _interpret(response.status_code, response.content)
            except requests.Timeout:
                result = SendResult(ok=False, error=f"no answer within {timeout:g} s", transient=True)
            except requests.RequestException as error:
                result = SendResult(ok=False, error=self._redact(f"{type(error).__name__}: {error}"), transient=True)
            except Exception as error:
                logger.error("Messenger: unexpected error while sending: %s", self._redact(repr(error)))
                result = SendResult(ok=False, error=self._redact(f"{type(error).__name__}: {error}"))
            final = result.ok or not result.transient or attempt == 2
            self._log(result, payload, attempt, final)
            if final:
                return result
            time.sleep(RETRY_DELAY)
        return result

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            try:
                await self._session.close()
            except Exception:  # a session of a loop that is gone
                logger.debug("Messenger: could not close the HTTP session", exc_info=True)
        self._session = None


def text_message(recipient_id: str, text: str, messaging_type: str = "RESPONSE",
                 tag: Optional[str] = None, quick_replies: Optional[list] = None) -> Dict[str, Any]:
    """The Send API body of one text message."""
    message: Dict[str, Any] = {"text": text}
    if quick_replies:
        message["quick_replies"] = quick_replies
    body: Dict[str, Any] = {"recipient": {"id": recipient_id}, "messaging_type": messaging_type, "message": message}
    if tag:
        body["tag"] = tag
    return body
