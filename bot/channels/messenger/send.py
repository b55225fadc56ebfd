"""What the bot says on Messenger: Send API messages, long texts split, buttons as quick replies.

A citizen's turn is collected and sent only when the turn is over (the archive has the turn by
then); messages Rasa sends outside a turn go at once. Texts longer than the Send API allows are
split at paragraph, sentence or word boundaries; Rasa buttons become at most 13 quick replies,
and link buttons become lines of text.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Text, Tuple

from rasa.core.channels.channel import OutputChannel

from bot.channels.graph import MAX_PAYLOAD, MAX_QUICK_REPLIES, MAX_QUICK_REPLY_TITLE, MAX_TEXT, GraphClient, SendResult
from bot.channels.messenger.common import CHANNEL, logger

_SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*\s+")


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
