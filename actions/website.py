"""Answers a service question from the municipality's website, or says honestly that it cannot."""
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.conversation import municipality, valid_language, website_answer_slots

logger = logging.getLogger(__name__)


class ActionAnswerFromWebsite(Action):
    """Sets ``website_answered`` and the answer's snippet, title and link (or the site search)."""

    def name(self) -> Text:
        return "action_answer_from_website"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        profile = municipality()
        language = valid_language(tracker.get_slot("language"), profile)
        question = (tracker.latest_message or {}).get("text") or ""
        return [SlotSet(k, v) for k, v in website_answer_slots(profile, language, question).items()]
