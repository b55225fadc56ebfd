"""End to end: ``make run`` starts both servers; citizens talk to them over REST in nn, nb and sv.

The clock is fixed with BOT_CLOCK so that the opening-hours answers are known in advance.
"""
from __future__ import annotations

import pytest

from tests.e2e.assistant import RunningAssistant

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def texts(messages):
    return " ".join(m.get("text", "") for m in messages)


def slot(assistant: RunningAssistant, sender: str, name: str):
    return assistant.tracker(sender)["slots"][name]


@pytest.mark.parametrize(
    "language, hello, expected",
    [
        ("nn", "heisann, eg har eit spørsmål", ["den automatiske chat-assistenten til Saltvika kommune",
                                               "ope i dag 08:00–15:30", "fram til i dag kl. 15:30"]),
        ("nb", "heisann, jeg lurer på noe", ["den automatiske chat-assistenten til Saltvika kommune",
                                            "åpent i dag 08:00–15:30", "til i dag kl. 15:30"]),
        ("sv", "hej hej, jag undrar över en sak", ["den automatiska chattassistenten för Saltvika kommun",
                                                  "öppet i dag 08.00–15.30", "fram till i dag kl. 15.30"]),
    ],
)
def test_greeting_in_the_citizens_language_with_todays_hours(saltvika, language, hello, expected):
    sender = f"e2e-greet-{language}"
    reply = saltvika.say(sender, hello)
    for fragment in expected:
        assert fragment in texts(reply)
    assert len(reply[0]["buttons"]) == 3
    assert slot(saltvika, sender, "language") == language


def test_parse_shows_the_language_entity(saltvika):
    parsed = saltvika.parse("kva tid opnar servicetorget i morgon")
    assert parsed["intent"]["name"] == "ask_opening_hours"
    [entity] = [e for e in parsed["entities"] if e["entity"] == "language"]
    assert entity["value"] == "nn"


def test_nynorsk_conversation_political_then_person(saltvika):
    sender = "e2e-nn-political"
    reply = texts(saltvika.say(sender, "kva meiner kommunen om å leggje ned skulen i bygda"))
    assert "tek ikkje stilling" in reply
    assert "https://www.saltvika.kommune.no/politikk/motekalender" in reply
    assert slot(saltvika, sender, "handoff_reason") == "political"
    reply = texts(saltvika.say(sender, "eg vil gjerne snakke med ein sakshandsamar"))
    assert "Ein tilsett svarar deg her i chatten" in reply
    assert slot(saltvika, sender, "handoff_reason") == "human_requested"


def test_bokmal_emergency_gets_the_numbers(saltvika):
    reply = texts(saltvika.say("e2e-nb-emergency", "det brenner i nabohuset, hva skal jeg gjøre"))
    for number in ("110", "112", "113", "116 117", "57 69 40 99"):
        assert number in reply
    assert "ikke vent på svar her" in reply


def test_bokmal_personal_case_warns_about_id_numbers(saltvika):
    sender = "e2e-nb-case"
    reply = texts(saltvika.say(sender, "hva skjer med byggesøknaden min, jeg har ikke hørt noe"))
    assert "Ikke skriv fødselsnummer" in reply
    assert slot(saltvika, sender, "handoff_reason") == "personal_case"


def test_explicit_request_switches_language(saltvika):
    sender = "e2e-switch"
    saltvika.say(sender, "heisann, eg har eit spørsmål")
    reply = texts(saltvika.say(sender, "kan du skriva på svenska istället"))
    assert "nu skriver jag på svenska" in reply
    reply = texts(saltvika.say(sender, "tack"))
    assert "Varsågod" in reply


def test_swedish_request_out_of_hours_says_when_and_gives_numbers(bjorkvalla):
    sender = "e2e-sv-out-of-hours"
    reply = texts(bjorkvalla.say(sender, "jag vill prata med en handläggare"))
    assert "stängt just nu" in reply
    assert "måndag 23 november kl. 08.00" in reply
    assert "112" in reply and "1177" in reply
    assert "110" not in reply  # Norwegian numbers are not given in Sweden
    assert slot(bjorkvalla, sender, "handoff_reason") == "out_of_hours"


def test_swedish_municipality_answers_nynorsk_in_nynorsk(bjorkvalla):
    sender = "e2e-nn-in-sweden"
    reply = texts(bjorkvalla.say(sender, "eg vil gjerne snakke med ein sakshandsamar"))
    assert "Kontaktsenteret er stengt no" in reply
    assert "måndag 23. november kl. 08:00" in reply
    assert slot(bjorkvalla, sender, "language") == "nn"
