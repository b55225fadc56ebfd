"""Keeps the conversation's language after every message (custom slot mapping of ``language``)."""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.conversation import language_after_message, municipality


class ActionTrackLanguage(Action):
    """Switches language on an explicit request or strong evidence, else keeps it."""

    def name(self) -> Text:
        return "action_track_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        profile = municipality()
        current = tracker.get_slot("language")
        language = language_after_message(current, tracker.latest_message.get("entities") or [], profile)
        if language == current:
            return []
        return [SlotSet("language", language), SlotSet("municipality_name", profile.name_in(language))]
