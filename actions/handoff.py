"""Marks a turn for staff: records why (``handoff_reason``) and whether the desk is open."""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.conversation import handoff_slots, municipality, valid_language


class ActionPrepareHandoff(Action):
    """Sets ``handoff_reason`` and the desk slots the handoff answer needs."""

    def name(self) -> Text:
        return "action_prepare_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        profile = municipality()
        language = valid_language(tracker.get_slot("language"), profile)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        previous = [e for e in tracker.events if e.get("event") == "user"][-2:-1]
        previous_intent = ((previous[0].get("parse_data") or {}).get("intent") or {}).get("name") if previous else None
        after_failed_answer = intent == "request_human" and (
            tracker.get_slot("website_answered") is False or previous_intent == "feedback_not_helpful"
        )
        return [SlotSet(k, v) for k, v in handoff_slots(profile, language, intent, None, after_failed_answer).items()]
