"""``python -m bot nlu evaluate``: how good the NLU is, per language, and what changed.

Trains Rasa's NLU (the ``pipeline`` of ``config.yml``) on ``data/nlu`` in a temporary folder,
timing it, and measures it on the held-out examples in ``tests/nlu/<lang>.yml`` (never used
for training). Per language it reports precision, recall and F1 per intent, the intent macro-F1
(the figure the quality gate in ``tests/test_nlu_quality.py`` holds at 0.90), how often the
``language`` entity is right (a message listed in ``tests/nlu/shared_languages.yml`` is right
in each of its languages), the worst confusions with examples, and a confusion-matrix picture.

The report is kept in ``DATA_DIR/nlu_report/`` (``last_report.json``, ``last_report.txt``,
``confusion_<lang>.png``); the previous one becomes ``previous_report.json``, and the command
prints what changed since then. Training times: the NLU-only retrain is measured every time, with an empty training cache
(as after an edit of the examples);
the full training (``rasa train``, dialogue included) is measured with ``--full-train`` and
otherwise taken from the last ``python -m bot train`` (``bot.ops.model`` records it).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.core.config import PROJECT_ROOT, get_settings
from bot.nlu.training import NluParser, languages_of, nlu_config, quiet_rasa, train_nlu
from bot.core.languages import LANGUAGES

FULL_TRAIN_LIMIT_S = 180
NLU_TRAIN_LIMIT_S = 90
WORST_CONFUSIONS = 5
EXAMPLES_PER_CONFUSION = 3
CHANGE_WORTH_SHOWING = 0.01

Parse = Callable[[str], Mapping[str, Any]]


@dataclass
class LanguageScores:
    """The held-out figures of one language.

    Attributes:
        language: nn, nb or sv.
        examples: number of held-out examples.
        macro_f1: intent macro-F1 over the intents of the held-out file.
        accuracy: share of examples whose intent was right.
        language_accuracy: share whose ``language`` entity was right (shared messages: any listed).
        strict_language_accuracy: the same, counting only the file's language as right.
        intents: per intent ``{"precision", "recall", "f1", "support"}``.
        confusions: the worst ``(expected, predicted, count, examples)``.
        wrong_language: up to 10 ``(text, detected)`` pairs.
        labels, matrix: the confusion matrix (rows expected, columns predicted).
    """

    language: str
    examples: int
    macro_f1: float
    accuracy: float
    language_accuracy: float
    strict_language_accuracy: float
    intents: Dict[str, Dict[str, float]] = field(default_factory=dict)
    confusions: List[Tuple[str, str, int, List[str]]] = field(default_factory=list)
    wrong_language: List[Tuple[str, str]] = field(default_factory=list)
    labels: List[str] = field(default_factory=list)
    matrix: List[List[int]] = field(default_factory=list)


def held_out_examples(language: str, tests_dir: Path = PROJECT_ROOT / "tests" / "nlu") -> List[Tuple[str, str]]:
    """(text, intent) pairs of ``tests_dir/<language>.yml``, read by Rasa's own loader."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(tests_dir / f"{language}.yml"))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def shared_languages(language: str, tests_dir: Path = PROJECT_ROOT / "tests" / "nlu") -> Dict[str, List[str]]:
    """Held-out messages of ``language`` that are right in several languages, with those languages."""
    path = tests_dir / "shared_languages.yml"
    if not path.exists():
        return {}
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(language) or {}


def score_language(
    parse: Parse, language: str, examples: Sequence[Tuple[str, str]], accepted: Mapping[str, Sequence[str]]
) -> LanguageScores:
    """Parses the held-out examples of one language and computes its figures.

    Args:
        parse: text -> Rasa parse result (``intent`` and ``entities``).
        language: the examples' language.
        examples: (text, intent) pairs.
        accepted: per text, the languages that count as right (default: only ``language``).

    Returns:
        The figures.
    """
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    expected, predicted = [], []
    wrong_language: List[Tuple[str, str]] = []
    right_language = strictly_right = 0
    confused: Dict[Tuple[str, str], List[str]] = defaultdict(list)
    for text, intent in examples:
        parsed = parse(text)
        guess = (parsed.get("intent") or {}).get("name") or "nlu_fallback"
        expected.append(intent)
        predicted.append(guess)
        if guess != intent:
            confused[(intent, guess)].append(text)
        found = languages_of(parsed)
        strictly_right += found == [language]
        if len(found) == 1 and found[0] in accepted.get(text, [language]):
            right_language += 1
        elif len(wrong_language) < 10:
            wrong_language.append((text, ",".join(found) or "none"))
    intents = sorted(set(expected))
    precision, recall, f1, support = precision_recall_fscore_support(
        expected, predicted, labels=intents, zero_division=0
    )
    labels = sorted(set(expected) | set(predicted))
    matrix = confusion_matrix(expected, predicted, labels=labels)
    worst = sorted(confused.items(), key=lambda item: (-len(item[1]), item[0]))[:WORST_CONFUSIONS]
    count = max(len(examples), 1)
    return LanguageScores(
        language=language,
        examples=len(examples),
        macro_f1=float(f1_score(expected, predicted, average="macro", labels=intents, zero_division=0)),
        accuracy=sum(e == p for e, p in zip(expected, predicted)) / count,
        language_accuracy=right_language / count,
        strict_language_accuracy=strictly_right / count,
        intents={
            intent: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for intent, p, r, f, s in zip(intents, precision, recall, f1, support)
        },
        confusions=[(e, p, len(texts), texts[:EXAMPLES_PER_CONFUSION]) for (e, p), texts in worst],
        wrong_language=wrong_language,
        labels=labels,
        matrix=matrix.tolist(),
    )


def save_confusion_png(scores: LanguageScores, path: Path) -> Path:
    """Draws the confusion matrix of one language (rows: right intent, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(6.0, 0.55 * len(scores.labels) + 2)
    figure, axes = plt.subplots(figsize=(size, size * 0.9))
    image = axes.imshow(scores.matrix, cmap="Blues")
    axes.set_xticks(range(len(scores.labels)), labels=scores.labels, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(range(len(scores.labels)), labels=scores.labels, fontsize=8)
    axes.set_xlabel("predicted intent")
    axes.set_ylabel("right intent")
    axes.set_title(f"{scores.language}: {scores.examples} held-out examples, macro-F1 {scores.macro_f1:.3f}")
    peak = max((max(row) for row in scores.matrix), default=0)
    for i, row in enumerate(scores.matrix):
        for j, value in enumerate(row):
            if value:
                axes.text(j, i, str(value), ha="center", va="center", fontsize=7,
                          color="white" if value > peak / 2 else "black")
    figure.colorbar(image, ax=axes, fraction=0.04)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


# ------------------------------------------------------------------------------------------
# Training times


def times_file() -> Path:
    """Where ``python -m bot train`` records how long the last full training took."""
    return get_settings().data_dir / "nlu_report" / "training_times.json"


def record_full_training(seconds: float) -> None:
    """Remembers a full training's duration for the next evaluation report."""
    path = times_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"full_train_seconds": round(seconds, 1),
                                "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}))


def _recorded_full_training() -> Tuple[Optional[float], Optional[str]]:
    try:
        data = json.loads(times_file().read_text())
        return float(data["full_train_seconds"]), str(data.get("measured_at"))
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def measure_full_training(work: Path) -> float:
    """Times a full ``rasa train`` (NLU and dialogue) into a scratch folder, with an empty cache."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rasa", "train", "--out", str(work / "full"), "--quiet"],
        cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL,
        env={**os.environ, "RASA_CACHE_DIRECTORY": str(work / "cache-full")},  # nothing reused: a cold training
    )
    return time.perf_counter() - started


# ------------------------------------------------------------------------------------------
# The report


@dataclass
class EvaluationReport:
    """One evaluation: figures per language and the training times."""

    created_at: str
    nlu_train_seconds: float
    nlu_train_cpu_seconds: float
    full_train_seconds: Optional[float]
    full_train_measured_at: Optional[str]
    languages: Dict[str, LanguageScores]
    pictures: Dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready form (kept as ``last_report.json``)."""
        data = asdict(self)
        data["languages"] = {lang: asdict(scores) for lang, scores in self.languages.items()}
        return data

    def lines(self) -> List[str]:
        """The report for the terminal and ``last_report.txt``."""
        out = [f"NLU evaluation on the held-out examples in tests/nlu/ ({self.created_at})", ""]
        out.append(f"{'':8}{'examples':>9}{'macro-F1':>10}{'accuracy':>10}{'language':>10}")
        for lang, s in self.languages.items():
            out.append(f"{lang:8}{s.examples:>9}{s.macro_f1:>10.3f}{s.accuracy:>10.3f}{s.language_accuracy:>10.3f}")
        out.append("(language: share of messages whose language entity is right; the gate needs macro-F1 >= 0.90 "
                   "and language >= 0.95)")
        full = (f"{self.full_train_seconds:.0f} s (measured {self.full_train_measured_at})"
                if self.full_train_seconds is not None else "not measured yet (run `python -m bot train --force` "
                "or `python -m bot nlu evaluate --full-train`)")
        out += ["", f"Training time: NLU-only retrain {self.nlu_train_seconds:.0f} s "
                    f"({self.nlu_train_cpu_seconds:.0f} s of processor time; goal < {NLU_TRAIN_LIMIT_S} s); "
                    f"full training {full} (goal < {FULL_TRAIN_LIMIT_S} s)",
                "(wall-clock times grow when other programs share the machine's processors)"]
        for lang, s in self.languages.items():
            out += ["", f"[{lang}] per intent: precision recall F1 (examples)"]
            for intent, m in sorted(s.intents.items(), key=lambda item: item[1]["f1"]):
                out.append(f"  {intent:22}{m['precision']:>7.2f}{m['recall']:>7.2f}{m['f1']:>7.2f}  ({m['support']})")
            if s.confusions:
                out.append(f"[{lang}] worst confusions (right -> predicted):")
                for expected, predicted, count, texts in s.confusions:
                    out.append(f"  {expected} -> {predicted}: {count}, e.g. " + "; ".join(f'"{t}"' for t in texts))
            if s.wrong_language:
                out.append(f"[{lang}] language entity wrong, e.g.: "
                           + "; ".join(f'"{t}" ({found})' for t, found in s.wrong_language[:5]))
            if lang in self.pictures:
                out.append(f"[{lang}] confusion matrix: {self.pictures[lang]}")
        return out


def changes(previous: Mapping[str, Any], current: EvaluationReport) -> List[str]:
    """What changed since the previous report: overall figures, and intents whose F1 moved."""
    out = [f"Changes since the last report ({previous.get('created_at', '?')}):"]
    before_languages = previous.get("languages") or {}
    for lang, now in current.languages.items():
        before = before_languages.get(lang)
        if not before:
            out.append(f"  {lang}: no earlier figures")
            continue
        parts = []
        for key, label in (("macro_f1", "macro-F1"), ("accuracy", "accuracy"), ("language_accuracy", "language")):
            delta = getattr(now, key) - float(before.get(key, 0.0))
            parts.append(f"{label} {float(before.get(key, 0.0)):.3f} -> {getattr(now, key):.3f} ({delta:+.3f})")
        out.append(f"  {lang}: " + ", ".join(parts))
        for intent, metrics in sorted(now.intents.items()):
            old = (before.get("intents") or {}).get(intent)
            if old is None:
                out.append(f"    {intent}: new")
            elif abs(metrics["f1"] - old["f1"]) >= CHANGE_WORTH_SHOWING:
                word = "better" if metrics["f1"] > old["f1"] else "worse"
                out.append(f"    {intent}: F1 {old['f1']:.2f} -> {metrics['f1']:.2f} ({word})")
    old_nlu = previous.get("nlu_train_seconds")
    if old_nlu is not None:
        out.append(f"  NLU-only retrain {float(old_nlu):.0f} s -> {current.nlu_train_seconds:.0f} s")
    return out


def report_dir() -> Path:
    """Where the last report and the pictures are kept (``DATA_DIR/nlu_report``)."""
    return get_settings().data_dir / "nlu_report"


def _train_with_own_cache(config_path: Path, nlu_dir: Path, domain_path: Path, work: Path):
    """Trains the NLU in ``work`` with a Rasa cache of its own: with Rasa's shared cache an
    unchanged model "trains" in seconds, which says nothing about the retrain after a trainer's edit."""
    previous_cache = os.environ.get("RASA_CACHE_DIRECTORY")
    os.environ["RASA_CACHE_DIRECTORY"] = str(work / "cache")
    try:
        return train_nlu(nlu_config(config_path, work / "config.yml"), nlu_dir, domain_path, work / "models")
    finally:
        if previous_cache is None:
            os.environ.pop("RASA_CACHE_DIRECTORY", None)
        else:
            os.environ["RASA_CACHE_DIRECTORY"] = previous_cache


def _keep_report(report: "EvaluationReport", out_dir: Path) -> List[str]:
    """Writes the report as the last one (the last one becomes the previous one) and returns the
    lines saying what changed since that one."""
    last = out_dir / "last_report.json"
    if last.exists():
        try:
            changed = changes(json.loads(last.read_text(encoding="utf-8")), report)
        except ValueError:
            changed = ["The previous report could not be read; no comparison."]
        last.replace(out_dir / "previous_report.json")
    else:
        changed = ["No earlier report to compare with (this one is kept for next time)."]
    last.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / "last_report.txt").write_text("\n".join(report.lines() + [""] + changed) + "\n", encoding="utf-8")
    return changed


def evaluate(
    config_path: Path = PROJECT_ROOT / "config.yml",
    nlu_dir: Path = PROJECT_ROOT / "data" / "nlu",
    domain_path: Path = PROJECT_ROOT / "domain.yml",
    tests_dir: Path = PROJECT_ROOT / "tests" / "nlu",
    out_dir: Optional[Path] = None,
    full_train: bool = False,
    languages: Sequence[str] = LANGUAGES,
    log: Callable[[str], None] = lambda line: print(line, flush=True),
) -> Tuple[EvaluationReport, List[str]]:
    """Trains the NLU, evaluates it on the held-out examples and keeps the report.

    Args:
        config_path: the Rasa config whose pipeline is trained.
        nlu_dir: the training examples.
        domain_path: the domain.
        tests_dir: the held-out examples and ``shared_languages.yml``.
        out_dir: where the report is kept (default ``DATA_DIR/nlu_report``).
        full_train: also time a full ``rasa train`` (about a minute more).
        languages: the languages to evaluate.
        log: progress messages.

    Returns:
        The report and the lines saying what changed since the previous one.
    """
    out_dir = out_dir or report_dir()
    quiet_rasa()
    with tempfile.TemporaryDirectory(prefix="nlu-evaluate-") as folder:
        work = Path(folder)
        log("Training the NLU on data/nlu (NLU only) ...")
        trained = _train_with_own_cache(config_path, nlu_dir, domain_path, work)
        full_seconds, measured_at = _recorded_full_training()
        if full_train:
            log("Timing a full training (rasa train) ...")
            full_seconds = measure_full_training(work)
            measured_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            record_full_training(full_seconds)
        log("Parsing the held-out examples ...")
        parser = NluParser(trained.path)
        try:
            scores = {
                language: score_language(parser.parse, language, held_out_examples(language, tests_dir),
                                         shared_languages(language, tests_dir))
                for language in languages
            }
        finally:
            parser.close()
    report = EvaluationReport(
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        nlu_train_seconds=round(trained.seconds, 1),
        nlu_train_cpu_seconds=round(trained.cpu_seconds, 1),
        full_train_seconds=round(full_seconds, 1) if full_seconds is not None else None,
        full_train_measured_at=measured_at,
        languages=scores,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for language, language_scores in scores.items():
        report.pictures[language] = str(save_confusion_png(language_scores, out_dir / f"confusion_{language}.png"))
    return report, _keep_report(report, out_dir)
