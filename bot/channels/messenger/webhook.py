"""Reading Meta's webhook: the signature, the verify token, and each messaging event of a body.

A signed body is read into :class:`Incoming` messages, every entry and every messaging event in
order; hostile or unknown events are skipped with a log line (:class:`Skipped` says why). A text
Meta delivers cannot be refused, so one that is too long or holds control characters or unpaired
surrogates becomes the payload ``/unreadable_message`` with a storable copy in its metadata.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from bot.channels.checks import escaped, unreadable_reason
from bot.channels.graph import MAX_PAYLOAD
from bot.channels.messenger.common import CHANNEL, PSID_PATTERN, logger
from bot.channels.models import MAX_MID_LENGTH

MAX_BODY = 1024 * 1024  # bytes
MAX_INCOMING_TEXT = 20_000  # characters; longer texts get a polite "too long" answer
MAX_ATTACHMENTS = 20
ATTACHMENT_PAYLOAD = "/attachment_received"
UNREADABLE_PAYLOAD = "/unreadable_message"

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_MID = re.compile(r"[\x21-\x7e]{1,%d}" % MAX_MID_LENGTH)
_PAGE_ID = re.compile(r"[0-9]{1,32}")
_ATTACHMENT_TYPE = re.compile(r"[a-z_]{1,32}")
_IGNORED_EVENTS = ("read", "delivery", "reaction", "optin", "referral", "account_linking")


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


def tokens_equal(given: Optional[str], expected: str) -> bool:
    """Compares the webhook's verify token in constant time (False when either is missing)."""
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


def _sender_and_metadata(event: Any, page_id: Optional[str]) -> Tuple[str, Dict[str, Any]]:
    """The event's sender id and the metadata every message of it carries."""
    if not isinstance(event, dict):
        raise Skipped(f"event is {type(event).__name__}, not an object")
    sender = event.get("sender")
    sender_id = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(sender_id, str) or not PSID_PATTERN.fullmatch(sender_id):
        raise Skipped("event has no valid sender.id")
    timestamp = event.get("timestamp")
    metadata: Dict[str, Any] = {"channel": CHANNEL}
    if page_id:
        metadata["page_id"] = page_id
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        metadata["timestamp"] = timestamp
    return sender_id, metadata


def _quick_reply(message: Dict[str, Any], sender_id: str, mid: str, text: Optional[str],
                 metadata: Dict[str, Any]) -> Optional[Incoming]:
    """The message as its quick reply's payload, or None when it has none (or an empty one)."""
    quick_reply = message.get("quick_reply")
    if quick_reply is None:
        return None
    if not isinstance(quick_reply, dict):
        raise Skipped("message.quick_reply is not an object")
    payload = _payload(quick_reply.get("payload"), "message.quick_reply.payload")
    if not payload.strip():
        return None
    metadata["kind"] = "quick_reply"
    if text:
        metadata["title"] = escaped(text[:MAX_PAYLOAD])
    return Incoming(sender_id, mid, payload, metadata)


def _read_message(message: Any, sender_id: str, metadata: Dict[str, Any]) -> Optional[Incoming]:
    """A ``message`` event: a quick reply, a text (perhaps unreadable) or attachments."""
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
    chosen = _quick_reply(message, sender_id, mid, text, metadata)
    if chosen is not None:
        return chosen
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


def _read_postback(event: Dict[str, Any], sender_id: str, metadata: Dict[str, Any]) -> Incoming:
    """A ``postback`` event: a button of ours was pressed."""
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


def read_event(event: Any, page_id: Optional[str] = None) -> Optional[Incoming]:
    """Turns one ``entry[].messaging[]`` event into a message for the bot.

    Args:
        event: the event as Meta sent it (anything: it is checked here).
        page_id: the page the entry is for, if it had a valid id.

    Returns:
        The message, or None for events the bot ignores (echoes, reads, deliveries, reactions,
        unknown types; logged at debug).

    Raises:
        Skipped: the event is malformed or hostile (wrong types, huge strings, missing fields).
    """
    sender_id, metadata = _sender_and_metadata(event, page_id)
    if "message" in event:
        return _read_message(event["message"], sender_id, metadata)
    if "postback" in event:
        return _read_postback(event, sender_id, metadata)
    known = [k for k in _IGNORED_EVENTS if k in event]
    logger.debug("Messenger: %s event ignored", known[0] if known else "unknown")
    return None


def _page_id(entry: Dict[str, Any]) -> Optional[str]:
    raw_page = entry.get("id")
    page_id = str(raw_page) if isinstance(raw_page, (str, int)) and not isinstance(raw_page, bool) else None
    if page_id is not None and not _PAGE_ID.fullmatch(page_id):
        return None
    return page_id


def read_payload(payload: Dict[str, Any]) -> List[Incoming]:
    """Reads every entry and every messaging event of a webhook body, in order.

    Args:
        payload: the body, already checked to be a page event object with an entry list.

    Returns:
        The messages for the bot; skipped and ignored events are logged, not returned.
    """
    found: List[Incoming] = []
    for index, entry in enumerate(payload.get("entry") or []):
        if not isinstance(entry, dict):
            logger.warning("Messenger: entry %d skipped: not an object", index)
            continue
        page_id = _page_id(entry)
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
