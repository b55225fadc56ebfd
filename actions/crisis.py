"""Gives the active crisis message (driftsmelding) first in a greeting."""
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.core import clock
from bot.dialogue.conversation import municipality, valid_language
from bot.dialogue.crisis import greeting_notice

logger = logging.getLogger(__name__)


class ActionGiveCrisisMessage(Action):
    """Utters ``utter_crisis`` while staff have a message active; says nothing otherwise."""

    def name(self) -> Text:
        return "action_give_crisis_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        profile = municipality()
        language = valid_language(tracker.get_slot("language"), profile)
        try:
            notice = greeting_notice(profile, language, clock.now())
        except SQLAlchemyError:
            # The greeting must still come when the database is away; the archive spools meanwhile.
            logger.exception("could not read the crisis message; greeting without it")
            notice = None
        if notice:
            dispatcher.utter_message(response="utter_crisis", **notice)
        return []
