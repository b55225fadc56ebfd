"""While staff have taken over (the conversation is paused), emergencies and crises still get answers."""
from __future__ import annotations

import inspect

import pytest
from rasa.shared.core.events import ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_server.patches import paused
from tests.conftest import LANGUAGES

TEXTS = {"nn": "hjelp, det brenn i kjøkkenet", "nb": "hjelp, det brenner på kjøkkenet", "sv": "hjälp, det brinner i köket"}


def _tracker(intent: str, text: str, pause: bool = True) -> DialogueStateTracker:
    events = ([ConversationPaused()] if pause else []) + [UserUttered(text, {"name": intent, "confidence": 1.0})]
    return DialogueStateTracker.from_events("t", events)


def test_rasa_still_has_the_method_this_patch_replaces():
    """Fails when Rasa changes how a paused conversation is handled: then check the patch again."""
    import rasa
    from rasa.core import processor

    assert rasa.__version__ == "3.6.21"
    source = inspect.getsource(processor)
    assert "def _should_handle_message(tracker: DialogueStateTracker) -> bool:" in source
    assert "return not tracker.is_paused() or (" in source
    assert "while should_predict_another_action and self._should_handle_message(tracker):" in source


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_emergency_is_handled_while_paused(language):
    assert paused.should_handle_message(_tracker("emergency", TEXTS[language]))
    assert paused.should_handle_message(_tracker("crisis_support", TEXTS[language]))


@pytest.mark.parametrize("intent", ["greet", "service_question", "request_human"])
def test_other_messages_stay_silent_while_paused(intent):
    assert not paused.should_handle_message(_tracker(intent, "hallo?"))
    assert paused.should_handle_message(_tracker(intent, "hallo?", pause=False))
    assert paused.should_handle_message(_tracker("restart", "/restart"))


def test_install_replaces_rasas_rule_once():
    from rasa.core.processor import MessageProcessor

    paused.install()
    paused.install()
    assert MessageProcessor._should_handle_message is paused.should_handle_message
