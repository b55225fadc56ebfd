"""End to end: emergencies and crises get their numbers at once in every state of a conversation.

Through the real servers ``make run`` starts (REST channel; Messenger in test_messenger.py):
the first message of a conversation (also inside a greeting), out of hours, and while staff have
taken over (the bot is otherwise silent then). What is checked is the text the citizen sees.
"""
from __future__ import annotations

import json

import pytest

from tests.e2e.assistant import rest
from tests.e2e.test_archive_handoffs import archive_rows, database_of, handoff_for, handoffs, texts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.parametrize("sender, message, expected", [
    ("e2e-safety-first-nn", "Hei, dotter mi har ete nokre av tablettane mine og er så slapp", ["113", "22 59 13 00"]),
    ("e2e-safety-first-nb", "heisann! det lukter sterkt gass i oppgangen og naboen svarer ikke", ["113", "110"]),
])
def test_an_emergency_as_the_first_message_inside_a_greeting(saltvika, sender, message, expected):
    reply = texts(saltvika.say(sender, message))
    assert all(number in reply for number in expected), reply
    assert "velkom" not in reply  # the greeting never comes instead of the numbers


def test_a_swedish_greeting_led_poisoning_out_of_hours(bjorkvalla):
    reply = texts(bjorkvalla.say("e2e-safety-first-sv", "Hej, mitt barn har svalt tabletter, vad ska jag göra"))
    assert "112" in reply and "010-456 67 00" in reply
    assert "stängt" not in reply  # the same text as inside opening hours


def test_a_crisis_out_of_hours_gets_the_helplines_and_goes_first_in_the_queue(bjorkvalla):
    sender = "e2e-safety-crisis-sv"
    bjorkvalla.say("e2e-safety-before-crisis", "jag vill prata med en handläggare")  # an earlier, ordinary handoff
    reply = texts(bjorkvalla.say(sender, "jag orkar inte mer, jag vill inte leva längre"))
    assert "112" in reply and "Självmordslinjen 90101" in reply and "BRIS 116 111" in reply
    assert reply.index("112") < reply.index("90101")  # the emergency number first
    handoff = handoff_for(bjorkvalla, sender)
    assert handoff["reason"] == "crisis"
    assert handoffs(bjorkvalla)[0]["conversation_id"] == rest(sender)  # top of the staff queue


def test_an_emergency_while_staff_have_taken_over_is_answered(saltvika):
    sender = "e2e-safety-paused-nn"
    saltvika.say(sender, "eg vil snakke med ein tilsett")
    handoff = handoff_for(saltvika, sender)
    saltvika.cli("handoffs", "claim", str(handoff["id"]), "--by", "kari.nordmann")
    saltvika.outbox(sender)  # "a colleague has taken over"
    assert saltvika.say(sender, "hallo, er du der?") == []  # paused: the bot is silent
    reply = texts(saltvika.say(sender, "hjelp, det brenn i kjøkkenet og røyken er overalt"))
    assert "110" in reply and "113" in reply
    assert saltvika.tracker(sender)["paused"] is True  # staff still have the conversation
    assert saltvika.say(sender, "takk") == []
    shown = json.loads(saltvika.cli("handoffs", "show", str(handoff["id"]), "--json").stdout)
    flagged = [r for r in shown["transcript"] if r.get("safety")]
    assert [r["safety"] for r in flagged] == ["emergency"]
    rows = archive_rows(database_of(saltvika), sender)
    citizen = [r["text"] for r in rows if r["kind"] == "citizen_message"]
    assert citizen == ["eg vil snakke med ein tilsett", "hallo, er du der?",
                       "hjelp, det brenn i kjøkkenet og røyken er overalt", "takk"]


def test_a_crisis_while_staff_have_taken_over_is_answered_and_flagged(saltvika):
    sender = "e2e-safety-paused-crisis-nb"
    saltvika.say(sender, "jeg vil snakke med en ansatt")
    handoff = handoff_for(saltvika, sender)
    saltvika.cli("handoffs", "claim", str(handoff["id"]), "--by", "kari.nordmann")
    reply = texts(saltvika.say(sender, "kjæresten min slår meg og jeg tør ikke dra hjem i kveld"))
    assert "116 123" in reply and "113" in reply
    assert handoff_for(saltvika, sender)["reason"] == "crisis"  # the waiting handoff is now a crisis
