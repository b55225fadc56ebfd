"""``python -m bot safety evaluate`` and ``make bench-safety``: the safety layer's figures.

Per language and class it prints recall and false alarms with the misses, for the assistant's
whole NLU (the trained model, as the citizen meets it) beside two baselines measured in the same
run: the intent classifier alone (its intent before the layer) and the word lists alone. It also
prints the layer's extra time per message (word lists plus its classifier).
"""
from __future__ import annotations

import statistics
from collections import Counter
from typing import Dict, List, Mapping, Optional

from bot.core.languages import LANGUAGES
from bot.safety import evaluate as ev



def _intent_category(intent: Optional[str]) -> Optional[str]:
    return ev.CATEGORY_BY_INTENT.get(intent or "")


def _row(name: str, scores: ev.Scores) -> str:
    return (f"  {name:<28} recall emergency+crisis {scores.urgent_recall:.3f}  political {scores.political_recall:.3f}"
            f"  | false alarms emergency/crisis {scores.urgent_false_alarms:.3f}  political "
            f"{scores.political_false_alarms:.3f}")


def layer_time_ms(parsed: Mapping[str, Mapping], texts: List[str]) -> Dict[str, float]:
    """Mean and p95 time the layer added to each parse (word lists, embedding, classifier)."""
    timings = sorted(float((parsed[t].get("safety") or {}).get("ms") or 0.0) for t in texts)
    return {"mean": statistics.fmean(timings), "p95": timings[int(0.95 * (len(timings) - 1))]}


def run(tuning: bool = False, words_only: bool = False, show: int = 30) -> int:
    """Prints the figures; returns 1 when a language misses a gate (0 otherwise)."""
    directory = ev.TUNING_DIR if tuning else ev.HELD_OUT_DIR
    sets = {language: ev.load_set(language, directory) for language in LANGUAGES}
    failed = False
    if words_only:
        for safety_set in sets.values():
            scores = ev.score(ev.layer_only, safety_set)
            print(ev.report(scores, show))
            failed |= bool(scores.failed_gates())
        return int(failed)
    from bot.ops.model import model_path
    from bot.nlu.training import NluParser, quiet_rasa

    quiet_rasa()
    parser = NluParser(model_path())
    try:
        for language, safety_set in sets.items():
            texts = [m for group in safety_set.messages.values() for m in group] + safety_set.all_lookalikes
            parsed = {text: parser.parse(text) for text in texts}
            assistant = ev.score(lambda t: _intent_category((parsed[t].get("intent") or {}).get("name")), safety_set)
            classifier_alone = ev.score(
                lambda t: _intent_category((parsed[t].get("safety") or {}).get("intent_before")), safety_set)
            words = ev.score(ev.layer_only, safety_set)
            timing = layer_time_ms(parsed, texts)
            print(f"[{language}] {directory.name}/{language}.yml {assistant.counts}")
            print(_row("the assistant (with layer)", assistant))
            print(_row("baseline: intent classifier", classifier_alone))
            print(_row("baseline: word lists alone", words))
            print(f"  layer's extra time per message: mean {timing['mean']:.3f} ms, p95 {timing['p95']:.3f} ms")
            fired = Counter((parsed[t].get("safety") or {}).get("signal") for t in texts
                            if (parsed[t].get("safety") or {}).get("category"))
            print("  what fired the layer: " + ", ".join(f"{k} {v}" for k, v in sorted(fired.items())))
            for expected, got, text in assistant.misses[:show]:
                print(f"  MISS {expected} -> {got}: {text}")
            for looked_like, got, text in assistant.false_alarms[:show]:
                print(f"  FALSE ALARM ({looked_like} look-alike) -> {got}: {text}")
            problems = assistant.failed_gates()
            print("  gates: " + ("met" if not problems else "NOT met: " + "; ".join(problems)))
            failed |= bool(problems)
    finally:
        parser.close()
    return int(failed)
