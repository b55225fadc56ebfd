"""Tests of bot.language: detect, requested_language, resolve_language and the Rasa component."""
from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.language import detector
from bot.language.detector import Detection, detect, requested_language, resolve_language

ROOT = Path(__file__).resolve().parents[2]

CLEAR = {
    "nn": [
        "Eg har ikkje fått svar på søknaden min enno, kva skal eg gjere no?",
        "Kommunen har fått nye reglar for korleis bossdunkane skal setjast ut.",
        "Dei fleste søknadene vert handsama innan tre veker.",
        "Kvifor er ikkje biblioteket ope på laurdagar lenger?",
    ],
    "nb": [
        "Jeg har ikke fått svar på søknaden min ennå, hva skal jeg gjøre nå?",
        "Kommunen har fått nye regler for hvordan søppeldunkene skal settes ut.",
        "De fleste søknadene blir behandlet innen tre uker.",
        "Hvorfor er ikke biblioteket åpent på lørdager lenger?",
    ],
    "sv": [
        "Jag har inte fått något svar på min ansökan än, vad ska jag göra nu?",
        "Kommunen har fått nya regler för hur soptunnorna ska ställas ut.",
        "De flesta ansökningar behandlas inom tre veckor.",
        "Varför är inte biblioteket öppet på lördagar längre?",
    ],
}

SHORT = {
    "nn": ["kva er opningstida", "eg veit ikkje", "kor mykje kostar det?", "Kven kan eg ringje?"],
    "nb": ["hva er åpningstiden", "jeg vet ikke", "hvor mye koster det?", "Hvem kan jeg ringe?"],
    "sv": ["vad har ni för öppettider", "jag vet inte", "hur mycket kostar det?", "Vem kan jag ringa?"],
}


def _check_shape(detection: Detection) -> None:
    assert detection.language in detector.LANGUAGES
    assert set(detection.scores) == set(detector.LANGUAGES)
    assert math.isclose(sum(detection.scores.values()), 1.0, abs_tol=1e-6)
    assert 0.0 <= detection.confidence <= 1.0
    assert detection.confidence == pytest.approx(detection.scores[detection.language])
    assert detection.confidence == pytest.approx(max(detection.scores.values()))


# --------------------------------------------------------------------------------------
# detect


@pytest.mark.parametrize("lang,text", [(lang, text) for lang, texts in CLEAR.items() for text in texts])
def test_detect_clear_sentences(lang: str, text: str) -> None:
    detection = detect(text)
    _check_shape(detection)
    assert detection.language == lang
    assert detection.strong is True
    assert detection.confidence > 0.95


@pytest.mark.parametrize("lang,text", [(lang, text) for lang, texts in SHORT.items() for text in texts])
def test_detect_short_marker_messages(lang: str, text: str) -> None:
    detection = detect(text)
    _check_shape(detection)
    assert detection.language == lang
    assert detection.strong is True


@pytest.mark.parametrize(
    "text",
    ["", " ", "   \n\t  ", "👍", "🙂🙂🙂", "12345", "12:30 - 14:00", "\x00\x01\x02\x7f", "\ufffd\ufffd", "?!", "€ $ %"],
)
def test_detect_text_without_words_is_neutral_and_weak(text: str) -> None:
    detection = detect(text)
    _check_shape(detection)
    assert detection.strong is False
    assert detection.confidence < 0.5
    assert detection.language == detector.NEUTRAL_LANGUAGE


def test_detect_odd_input_does_not_raise() -> None:
    for text in [None, "a", "ø", "x" * 10_000, "hei " * 2_000, "\u202e\u200b", b"\xff\xfe".decode("latin-1")]:
        detection = detect(text)  # type: ignore[arg-type]
        _check_shape(detection)


@pytest.mark.parametrize("text", ["hei", "Hei!", "ok", "takk", "ja"])
def test_detect_greetings_are_not_strong(text: str) -> None:
    assert detect(text).strong is False


def test_detection_is_frozen_and_hashable() -> None:
    detection = detect("kva er opningstida")
    with pytest.raises(Exception):
        detection.language = "nb"  # type: ignore[misc]
    assert hash(detection) == hash(detection)


def test_importing_does_not_build_lingua() -> None:
    code = (
        "import sys, bot.language, bot.language.detector as d; "
        "assert 'lingua' not in sys.modules, 'lingua imported at import time'; "
        "assert d._lingua_detector is None and d._markers is None"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_lazy_build_from_many_threads_at_once() -> None:
    code = """
import sys, threading
import lingua
import bot.language.detector as d

built = []
original = lingua.LanguageDetectorBuilder.from_languages

class CountingBuilder:
    @staticmethod
    def from_languages(*languages):
        built.append(languages)
        return original(*languages)

lingua.LanguageDetectorBuilder = CountingBuilder
results, barrier = [], threading.Barrier(8)

def work():
    barrier.wait()
    results.append(d.detect("Eg veit ikkje kva eg skal gjere").language)

threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
assert results == ["nn"] * 8, results
assert len(built) == 1, built
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_detect_is_thread_safe() -> None:
    texts = [text for texts in CLEAR.values() for text in texts] + [text for texts in SHORT.values() for text in texts]
    expected = [detect(text).language for text in texts]
    results: list = []
    errors: list = []

    def work() -> None:
        try:
            results.append([detect(text).language for text in texts])
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert results == [expected] * 8


def test_detect_is_fast() -> None:
    texts = [text for texts in CLEAR.values() for text in texts] + [text for texts in SHORT.values() for text in texts]
    detector.warm_up()
    start = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        for text in texts:
            detect(text)
    mean_ms = (time.perf_counter() - start) / (rounds * len(texts)) * 1000
    assert mean_ms < 2.0  # the benchmark measures ~0.15 ms; generous for slow machines


# --------------------------------------------------------------------------------------
# requested_language


@pytest.mark.parametrize(
    "text,lang",
    [
        ("kan du skrive nynorsk?", "nn"),
        ("skriv på bokmål", "nb"),
        ("på svenska tack", "sv"),
        ("kan du snakke norsk", "nb"),
        ("svar på nynorsk", "nn"),
        ("byt till svenska", "sv"),
        ("kan du skriva norska", "nb"),
        ("in swedish please", "sv"),
        ("Nynorsk, takk!", "nn"),
        ("bokmål", "nb"),
        ("Kan eg få svar på nynorsk?", "nn"),
        ("Jeg vil heller ha bokmål", "nb"),
        ("Could you answer in Norwegian Nynorsk?", "nn"),
        ("Snakkar du nynorsk?", "nn"),
        ("Kan du svare meg på bokmål resten av samtalen?", "nb"),
        ("Hei! Kan ni prata svenska med mig?", "sv"),
        ("Jag vill hellre ha svar på svenska", "sv"),
        ("Please switch to Swedish", "sv"),
        ("Skriv på norsk bokmål, er du snill", "nb"),
        ("Kan du ikkje svare på nynorsk?", "nn"),
    ],
)
def test_requested_language_positive(text: str, lang: str) -> None:
    assert requested_language(text) == lang


@pytest.mark.parametrize(
    "text",
    [
        "eg les nynorsk på skulen",
        "Er skjemaet på nynorsk?",
        "Er det på nynorsk?",
        "Var det på svenska?",
        "Finst søknadsskjemaet på svensk?",
        "Borna mine lærer bokmål",
        "Kva er forskjellen på bokmål og nynorsk?",
        "Han er svensk",
        "Jeg bor i en svensk kommune",
        "Svar på søknaden min kom på nynorsk i går",
        "Eg snakkar nynorsk heime",
        "kva er opningstida",
        "Ikkje nynorsk, takk",
        "not in swedish please",
        "",
        "   ",
        "👍",
    ],
)
def test_requested_language_negative(text: str) -> None:
    assert requested_language(text) is None


# --------------------------------------------------------------------------------------
# resolve_language

ALL = ("nn", "nb", "sv")


@pytest.mark.parametrize("current", ALL)
def test_resolve_ambiguous_greeting_keeps_current(current: str) -> None:
    assert resolve_language(current, detect("hei"), None, "nn", ALL) == current


def test_resolve_without_current_uses_default() -> None:
    assert resolve_language(None, detect("hei"), None, "nb", ALL) == "nb"
    assert resolve_language(None, detect("hei"), None, "sv", ALL) == "sv"


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("lang", ALL)
def test_resolve_strong_evidence_switches(current: str, lang: str) -> None:
    detection = detect(CLEAR[lang][0])
    assert detection.strong
    assert resolve_language(current, detection, None, "nn", ALL) == lang


def test_resolve_weak_evidence_does_not_switch() -> None:
    weak = Detection("nb", 0.6, {"nn": 0.35, "nb": 0.6, "sv": 0.05}, False)
    assert resolve_language("nn", weak, None, "nn", ALL) == "nn"


def test_resolve_explicit_request_wins_over_strong_detection() -> None:
    detection = detect(CLEAR["nb"][0])
    assert resolve_language("nb", detection, "nn", "nb", ALL) == "nn"
    assert resolve_language(None, detect("kan du snakke svenska?"), requested_language("kan du snakke svenska?"), "nn", ALL) == "sv"


def test_resolve_never_returns_a_language_not_offered() -> None:
    offered = ("nn", "nb")
    swedish = detect(CLEAR["sv"][0])
    assert swedish.strong and swedish.language == "sv"
    assert resolve_language("nn", swedish, None, "nn", offered) == "nn"
    assert resolve_language("nb", swedish, "sv", "nn", offered) == "nb"
    assert resolve_language(None, swedish, "sv", "nb", offered) == "nb"
    assert resolve_language("sv", detect("hei"), None, "nn", offered) == "nn"
    assert resolve_language("sv", swedish, None, "sv", offered) == "nn"  # default not offered -> first offered


# --------------------------------------------------------------------------------------
# Rasa component


@pytest.fixture(scope="module")
def component():
    from bot.language.component import LanguageIdentifier

    return LanguageIdentifier(LanguageIdentifier.get_default_config())


def _message(text):
    from rasa.shared.nlu.training_data.message import Message

    return Message(data={"text": text})


def _entities(message, name):
    return [entity for entity in message.get("entities", []) if entity["entity"] == name]


@pytest.mark.parametrize("lang", ALL)
def test_component_adds_language_entity(component, lang: str) -> None:
    text = SHORT[lang][0]
    [message] = component.process([_message(text)])
    [entity] = _entities(message, "language")
    assert entity["value"] == lang
    assert entity["start"] == 0
    assert entity["end"] == len(text)
    assert entity["extractor"] == "LanguageIdentifier"
    assert entity["strong"] is True
    assert isinstance(entity["confidence"], float) and 0.9 < entity["confidence"] <= 1.0
    assert "requested" not in entity


def test_component_adds_requested_language(component) -> None:
    [message] = component.process([_message("kan du skriva norska")])
    [language] = message.get("entities")
    assert language["entity"] == "language"
    assert language["value"] == "sv"
    assert language["requested"] == "nb"


def test_component_keeps_existing_entities_and_processes_batches(component) -> None:
    first = _message("Hvor mye koster det å leie et lokale?")
    first.set("entities", [{"entity": "place", "value": "lokale", "start": 30, "end": 36}])
    second = _message("Vad kostar det att hyra en lokal?")
    processed = component.process([first, second])
    assert processed == [first, second]
    assert [entity["entity"] for entity in first.get("entities")] == ["place", "language"]
    assert _entities(first, "language")[0]["value"] == "nb"
    assert _entities(second, "language")[0]["value"] == "sv"


@pytest.mark.parametrize("text", ["", "   ", "👍"])
def test_component_handles_text_without_words(component, text: str) -> None:
    [message] = component.process([_message(text)])
    [entity] = _entities(message, "language")
    assert entity["strong"] is False
    assert entity["end"] == len(text)


def test_component_create_and_training_data_passthrough() -> None:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.language.component import LanguageIdentifier

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        storage = LocalModelStorage(Path(tmp))
        context = ExecutionContext(GraphSchema({}), "test")
        created = LanguageIdentifier.create({"warm_up": False}, storage, Resource("lang"), context)
    assert created.entity_name == "language"
    data = TrainingData(training_examples=[_message("kva er opningstida")])
    assert created.process_training_data(data) is data


def test_component_is_registered_with_rasa() -> None:
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe

    from bot.language.component import LanguageIdentifier

    registered = DefaultV1Recipe._registered_components[LanguageIdentifier.__name__]
    assert registered.clazz is LanguageIdentifier
    assert DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR in registered.types
    assert registered.is_trainable is False
