"""Runs after every citizen message: the conversation's language, the personal-data warning, and
the emergency numbers for a conversation that has none yet.

Rasa runs ``action_validate_slot_mappings`` after every user message, before the dialogue
predicts anything. It is the one hook that may also send a message (Rasa 3.6 drops messages from
custom slot-mapping actions), so the inspection is registered under that name.
"""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue.conversation import (
    channel_language_choice,
    language_after_message,
    municipality,
    needs_personal_data_warning,
    profile_slots,
)
from bot.core.responses import response_text


class ActionInspectMessage(Action):
    """Keeps the conversation's language and warns once about personal data in chat."""

    def name(self) -> Text:
        return "action_validate_slot_mappings"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        profile = municipality()
        current = tracker.get_slot("language")
        message = tracker.latest_message or {}
        chosen = bool(tracker.get_slot("language_chosen"))
        # Added for the web widget: a language chosen there comes as metadata {"language": "nn"}
        # and counts as an explicit request (bot.dialogue.conversation.channel_language_choice).
        choice = channel_language_choice(message.get("metadata"))
        language, now_chosen = language_after_message(
            current, message.get("entities") or [], profile, chosen, channel_choice=choice
        )
        events: List[EventType] = []
        if tracker.get_slot("country") is not None and tracker.get_slot("number_medical") is None:
            # A conversation that began before the numbers were slots: give it them now, so that an
            # emergency answer never shows an empty number.
            events += [SlotSet(k, v) for k, v in profile_slots(profile, language).items()]
        if language != current:
            events += [SlotSet("language", language), SlotSet("municipality_name", profile.name_in(language))]
        if now_chosen != chosen:
            events.append(SlotSet("language_chosen", now_chosen))
        if needs_personal_data_warning(message.get("text"), tracker.get_slot("personal_data_warned")):
            # Worded here rather than with response=: Rasa would pick the variation by the language
            # slot as it was before this message, and a first message may switch the language.
            text = response_text("utter_personal_data_warning", {"language": language}, domain.get("responses"))
            dispatcher.utter_message(text=text)
            events.append(SlotSet("personal_data_warned", True))
        return events
