"""Safety answers while staff have taken over a conversation (a patch of Rasa's message loop).

When staff claim a handoff, the conversation is paused (Rasa's ``ConversationPaused``) so that
the bot does not talk over them; Rasa 3.6 then handles only ``/restart``
(``MessageProcessor._should_handle_message``). Staff may not be looking at that moment, so a
message the safety layer marks as an emergency or a crisis is answered anyway, with the same
rules as in any other state; everything else stays silent as before, and every message is
archived as always.

Checked against Rasa 3.6.21; ``tests/unit/test_safety_paused.py`` fails when Rasa changes the
method this replaces. Installed by :func:`install`, called by ``bot.rasa_server.install()`` with the
other patches (listed in ``bot/rasa_server/patches/__init__.py``).
"""
from __future__ import annotations

from typing import Any

from bot.rasa_server.patches.originals import replace

#: Intents answered while a conversation is paused.
ANSWERED_WHILE_PAUSED = frozenset({"emergency", "crisis_support"})
_installed = False


def should_handle_message(tracker: Any) -> bool:
    """Rasa's rule (not paused, or ``/restart``) plus: a safety message is always handled."""
    from rasa.shared.core.constants import USER_INTENT_RESTART
    from rasa.shared.nlu.constants import INTENT_NAME_KEY

    if not tracker.is_paused():
        return True
    latest = tracker.latest_message
    intent = latest.intent.get(INTENT_NAME_KEY) if latest is not None else None
    return intent == USER_INTENT_RESTART or intent in ANSWERED_WHILE_PAUSED


def install() -> None:
    """Replaces ``MessageProcessor._should_handle_message`` (once per process)."""
    global _installed
    if _installed:
        return
    from rasa.core.processor import MessageProcessor

    replace(MessageProcessor, "_should_handle_message", staticmethod(should_handle_message))
    _installed = True
