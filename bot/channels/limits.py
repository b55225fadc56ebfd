"""Rate limits of the public channels: per client address, per conversation, and new handoffs.

A script must not be able to drown the assistant or bury real cases in the staff queue, and a
citizen who is refused must still learn where to get help. So:

* REST and widget requests are counted per client address (``RATE_LIMIT_PER_ADDRESS`` a minute)
  before their body is read, and per conversation (``RATE_LIMIT_PER_CONVERSATION``) once the
  sender is known. Messenger counts per conversation only: every delivery comes from Meta.
* A refused request gets 429, ``Retry-After`` and a message in the citizen's language
  (``utter_rate_limited`` in ``domain.yml``) that names the emergency numbers, so that even a
  refused message from someone in danger is answered with where to call.
* New handoffs are capped per address (``HANDOFF_LIMIT_PER_ADDRESS`` an hour, see
  :func:`bot.handoff.limit.handoff_allowed`). The channel hands the action server the address as
  a keyed hash (:func:`client_key`) in the message metadata; the address itself is never stored.

The counters live in the memory of each Rasa server: with several servers behind a load balancer
each counts its own share (docs/security.md). They hold at most :data:`MAX_KEYS` keys, dropping
the longest-idle first, so that a flood of made-up senders cannot exhaust memory.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any, Dict, Mapping, Optional, Tuple

MAX_KEYS = 50_000
WINDOW_SECONDS = 60.0
#: The metadata key the channels set (and overwrite if a client sent one).
CLIENT_KEY = "client_key"
# Used when no RASA_JWT_SECRET is configured: the keys then differ between processes and runs,
# which only makes the handoff cap count per process.
_PROCESS_KEY = secrets.token_bytes(32)


class SlidingWindow:
    """Counts events per key in fixed windows; allows at most ``limit`` per window.

    A fixed window lets a burst of up to twice the limit through at a window's edge; that is
    enough to stop a flood and needs one pair of numbers per key.
    """

    def __init__(self, limit: int, window_seconds: float = WINDOW_SECONDS, max_keys: int = MAX_KEYS,
                 clock=time.monotonic) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._counts: "OrderedDict[str, Tuple[float, int]]" = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> Optional[int]:
        """Counts one event for ``key``.

        Returns:
            None when the event is allowed (0 means no limit), else the seconds until it would be.
        """
        if self.limit <= 0:
            return None
        now = self._clock()
        with self._lock:
            started, count = self._counts.pop(key, (now, 0))
            if now - started >= self.window:
                started, count = now, 0
            if count >= self.limit:
                self._counts[key] = (started, count)
                return max(1, math.ceil(started + self.window - now))
            self._counts[key] = (started, count + 1)
            while len(self._counts) > self.max_keys:
                self._counts.popitem(last=False)
        return None


def client_address(remote_ip: str, forwarded_for: Optional[str], proxies_count: int) -> str:
    """The client's address: the socket's, or behind ``proxies_count`` trusted proxies the entry
    of ``X-Forwarded-For`` the outermost trusted proxy added (entries left of it are the
    client's own claims and can be forged)."""
    if proxies_count > 0 and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies_count, len(hops))]
    return remote_ip or "unknown"


def client_key(address: str, secret: str) -> str:
    """A keyed hash of a client address (hex, 32 characters): the same address gives the same key
    in every process that shares ``secret``, and the key does not reveal the address."""
    key = secret.encode("utf-8") if secret else _PROCESS_KEY
    return hmac.new(key, b"client-address\x1f" + address.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def accepted_language(header: Optional[str], languages: Tuple[str, ...], default: str) -> str:
    """The first of ``languages`` an ``Accept-Language`` header asks for (``no`` counts as
    Bokmål), else ``default``; cheap enough to run for every refused request."""
    for part in (header or "").split(",")[:12]:
        tag = part.split(";")[0].strip().lower()
        code = {"no": "nb", "nb-no": "nb", "nn-no": "nn", "sv-se": "sv", "sv-fi": "sv"}.get(tag, tag[:2])
        if code in languages:
            return code
    return default


class PublicLimits:
    """The counters of one Rasa server, made from the settings on first use."""

    def __init__(self, per_address: int, per_conversation: int, proxies_count: int, secret: str) -> None:
        self.by_address = SlidingWindow(per_address)
        self.by_conversation = SlidingWindow(per_conversation)
        self.proxies_count = proxies_count
        self.secret = secret

    @classmethod
    def from_settings(cls) -> "PublicLimits":
        from bot.core.config import get_settings

        settings = get_settings()
        return cls(settings.messages_per_address, settings.messages_per_conversation,
                   settings.public_proxies_count, settings.rasa_jwt_secret)

    def address_of(self, request: Any) -> str:
        """The client address of a Sanic request (see :func:`client_address`)."""
        return client_address(request.ip or "", request.headers.get("x-forwarded-for"), self.proxies_count)

    def key_of(self, request: Any) -> str:
        """The keyed hash of the request's client address."""
        return client_key(self.address_of(request), self.secret)


def refusal_text(language: str) -> str:
    """``utter_rate_limited`` for the configured municipality, with its emergency numbers."""
    from bot.municipality import load_municipality
    from bot.safety.numbers import number_slots
    from bot.core.responses import response_text

    profile = load_municipality()
    values: Dict[str, Any] = dict(number_slots(profile.country, profile.local_numbers), phone=profile.phone)
    return response_text("utter_rate_limited", {"language": language, "country": profile.country}, **values)


def refused(request: Any, retry_after: int, recipient_id: Optional[str] = None,
            metadata: Optional[Mapping[str, Any]] = None, extra: Optional[Mapping[str, Any]] = None):
    """The 429 answer of the REST and widget channels: a bot message like any other (so a plain
    client shows it), in the language the metadata or the browser asks for.

    Args:
        request: the Sanic request.
        retry_after: seconds until the client may send again (``Retry-After``).
        recipient_id: the client's sender id, when known.
        metadata: the request's metadata (its ``language`` is the widget's choice).
        extra: more fields for the message (the widget's ``lang``).
    """
    import logging

    from sanic import response

    from bot.municipality import load_municipality

    headers = {"Retry-After": str(retry_after), "Cache-Control": "no-store"}
    try:
        profile = load_municipality()
        chosen = (metadata or {}).get("language")
        language = chosen if chosen in profile.languages else accepted_language(
            request.headers.get("accept-language"), tuple(profile.languages), profile.default_language)
        message: Dict[str, Any] = {"text": refusal_text(language), **(extra or {})}
        if "lang" in message:
            message["lang"] = language
    except Exception:  # the refusal must never become a 500
        logging.getLogger(__name__).exception("The rate-limit answer could not be worded")
        return response.json({"error": f"too many messages; try again in {retry_after} s"}, status=429,
                             headers=headers)
    if recipient_id:
        message["recipient_id"] = recipient_id
    return response.json([message], status=429, headers=headers)
