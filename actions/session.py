"""Starts a conversation in the municipality's default language with its contact details."""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue.conversation import municipality, profile_slots, valid_language


class ActionSessionStart(Action):
    """Sets the language (carried over, else the default) and the profile slots."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        profile = municipality()
        language = valid_language(tracker.get_slot("language"), profile)
        carried = tracker.get_slot("language") == language
        slots = {
            "language": language,
            "language_chosen": carried and bool(tracker.get_slot("language_chosen")),
            **profile_slots(profile, language),
        }
        return [SessionStarted(), *(SlotSet(k, v) for k, v in slots.items()), ActionExecuted("action_listen")]
