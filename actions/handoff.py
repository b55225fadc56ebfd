"""Marks a turn for staff: records why (``handoff_reason``) and whether the desk is open."""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue.conversation import handoff_allowed_now, handoff_slots, municipality, valid_language


class ActionPrepareHandoff(Action):
    """Sets ``handoff_reason`` and the desk slots the handoff answer needs.

    When the citizen's address has opened too many handoffs this hour (``bot.handoff.limit``),
    it says ``utter_handoff_capped`` instead, queues nothing and ends the turn, so that the rules'
    "a colleague will answer" is never said.
    """

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
        slots = handoff_slots(profile, language, intent, None, after_failed_answer)
        if not handoff_allowed_now(tracker.sender_id, tracker.events, slots["handoff_reason"]):
            dispatcher.utter_message(response="utter_handoff_capped")
            slots.pop("handoff_reason")
            return [SlotSet(k, v) for k, v in slots.items()] + [FollowupAction("action_listen")]
        return [SlotSet(k, v) for k, v in slots.items()]
