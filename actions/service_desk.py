"""Looks up the service desk's opening hours now, for greetings and opening-hour answers."""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue.conversation import desk_slots, municipality, valid_language


class ActionCheckDesk(Action):
    """Sets ``desk_open`` and the formatted hours in the conversation's language."""

    def name(self) -> Text:
        return "action_check_desk"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        profile = municipality()
        language = valid_language(tracker.get_slot("language"), profile)
        return [SlotSet(k, v) for k, v in desk_slots(profile, language).items()]
