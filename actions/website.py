"""Answers a service question from the municipality's website, or says honestly that it cannot."""
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.content.search import warm_up_in_background
from bot.dialogue.conversation import municipality, valid_language, website_answer_slots

logger = logging.getLogger(__name__)
# The action server loads this module at start: the search model and index are built then, in
# the background, not when the first citizen asks.
try:
    warm_up_in_background(municipality().id)
except Exception:  # a broken profile is reported by the actions that need it
    logger.warning("No municipality profile to prepare the website search for", exc_info=True)


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
