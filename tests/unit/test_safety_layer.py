"""The safety layer's parts: word-list matching, modifiers, numbers, answers, the Rasa component."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.safety import layer
from bot.safety.lexicon import Phrase, PhraseList, normalise
from bot.safety.numbers import KEYS, SLOT_PREFIX, load_numbers, number_slots
from tests.conftest import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]


def _domain():
    from rasa.shared.utils.io import read_yaml

    # Rasa's own reader (YAML 1.2: NO is a country, not false)
    return read_yaml((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("word, message, expected", [
    ("bevisstlaus", "han er bevistlaus", True),  # one letter missing
    ("bevisstlaus", "han er bevisstlaus!!", True),
    ("bevisstlaus", "han er bevisst", False),
    ("=ras", "eit ras", True),
    ("=ras", "eit rad", False),  # exact: no typo tolerance for short words
    ("brenn*", "det brennar", True),
    ("*brann", "kjøkkenbrann no", True),
    ("*brann", "brannøving", False),
    ("pustar ikkje", "han pustar nesten ikkje", True),  # at most two words between
    ("pustar ikkje", "han pustar og eg veit ikkje", False),
    ("hjälp", "HJÄÄÄLP", True),  # repeated letters folded, ä and æ the same
])
def test_phrases_tolerate_typos_but_only_where_they_should(word, message, expected):
    assert (Phrase.parse(word).find(normalise(message)) is not None) is expected


def test_the_phrase_index_finds_the_same_as_a_plain_scan():
    phrases = PhraseList.parse("t", ["det brenn", "gasslukt", "*brann", "=ras", "pustar ikkje"])
    tokens = normalise("hjelp det brenn og det er sterk gaslukt, han pustar ikkje")
    found = {p.source for p, _ in phrases.find_all(tokens)}
    assert found == {p.source for p in phrases.phrases if p.find(tokens)} == {"det brenn", "gasslukt", "pustar ikkje"}


@pytest.mark.parametrize("text, expected", [
    ("hjelp det brenn i kjøkkenet", "emergency"),
    ("det brenn ikkje, eg lurer berre på feiing", None),  # negated
    ("kva skal eg gjere viss det brenn", None),  # a condition, not now
    ("det brann i garasjen i fjor, korleis søkjer eg om løyve", None),  # the past
    ("det brann i garasjen i fjor og no brenn det igjen, hjelp meg", "emergency"),  # urgent wins over the past
    ("jeg vil ikke leve lenger", "crisis"),
    ("jag dör av skratt", None),
    ("synest du ordføraren gjer ein god jobb", "political"),
    ("når er neste kommunestyremøte", None),
])
def test_word_lists_on_clear_cases(text, expected):
    assert layer.classify(text).category == expected


def test_the_verdict_says_which_signal_fired_and_what_was_switched_off():
    verdict = layer.classify("det brenn ikkje, men det luktar gass i oppgangen")
    assert verdict.category == "emergency" and verdict.signal == "words"
    assert "luktar gass" in verdict.evidence
    assert any("negated" in b for b in verdict.blocked)
    assert layer.classify("noko heilt anna", probabilities={"emergency": 0.9}).signal == "classifier"


def test_every_word_list_compiles_and_names_known_lists():
    rules = layer.load_rules()
    for name in layer.CLASSES:
        assert rules.classes[name].phrases.phrases, name
    for language in LANGUAGES:
        raw = yaml.safe_load((ROOT / "data" / "safety" / f"{language}.yml").read_text(encoding="utf-8"))
        assert set(raw) <= {"modifiers", *layer.CLASSES}


def test_numbers_have_sources_and_dates_and_fill_every_answer():
    numbers = load_numbers()
    assert {"NO", "SE"} <= set(numbers)
    assert numbers["NO"]["ambulance"].number == "113" and numbers["SE"]["emergency"].number == "112"
    for country in numbers.values():
        for helpline in country.values():
            assert helpline.source.startswith("https://") and helpline.checked.year >= 2026
    domain = _domain()
    for slot in (SLOT_PREFIX + k for k in KEYS):
        assert slot in domain["slots"]
    for response, variations in domain["responses"].items():
        for variation in variations:
            country = next((c["value"] for c in variation.get("condition", []) if c["name"] == "country"), None)
            wanted = set(re.findall(r"\{(number_[a-z_]+)\}", variation["text"]))
            if not wanted:
                continue
            assert country is not None, f"{response} uses numbers without a country condition"
            slots = number_slots(country)
            assert all(slots[w] for w in wanted), (response, country, wanted)


def test_no_emergency_number_is_written_into_the_answers():
    domain = (ROOT / "domain.yml").read_text(encoding="utf-8")
    for number in ("110", "112", "113", "116 117", "1177", "116 123", "90101", "116 111"):
        assert not re.search(rf"(?<![0-9{{_]){re.escape(number)}(?![0-9])", domain), number


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("country", ["NO", "SE"])
def test_crisis_and_emergency_answers_exist_per_language_and_country(language, country):
    domain = _domain()
    for response in ("utter_emergency", "utter_crisis_support"):
        conditions = [{c["name"]: c["value"] for c in v["condition"]} for v in domain["responses"][response]]
        assert {"language": language, "country": country} in conditions


def test_local_numbers_replace_national_ones():
    assert number_slots("NO", {"medical": "57 69 41 13"})["number_medical"] == "57 69 41 13"
    assert number_slots("SE")["number_church_sos"] is None  # no lingering number from another country


def _message(text, intent, ranking):
    from rasa.shared.nlu.training_data.message import Message

    return Message(data={"text": text, "intent": {"name": intent, "confidence": ranking[0][1]},
                         "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]})


def test_the_component_overrides_the_classifier_and_the_fallback():
    from bot.safety.component import SafetyLayer

    component = SafetyLayer(None, None)
    message = _message("Hej, mitt barn har svalt tabletter, vad ska jag göra", "nlu_fallback",
                       [("nlu_fallback", 0.45), ("greet", 0.4), ("emergency", 0.1)])
    component.apply(message)
    assert message.get("intent") == {"name": "emergency", "confidence": 1.0}
    assert message.get("intent_ranking")[0]["name"] == "emergency"
    assert message.get("safety")["category"] == "emergency"
    assert message.get("safety")["intent_before"] == "greet"


def test_the_component_takes_back_a_safety_intent_the_layer_does_not_confirm():
    from bot.safety.component import SafetyLayer

    message = _message("kva kostar feiing i år", "emergency", [("emergency", 0.6), ("service_question", 0.3)])
    SafetyLayer(None, None).apply(message)
    assert message.get("intent")["name"] == "service_question"
