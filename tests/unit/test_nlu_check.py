"""``nlu check`` on small crafted data: each mistake is found, with the right file and line."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import pytest

from bot.nlu.check import check, read_examples

SETTINGS = {"minimum_examples": 3, "minimum_held_out": 1, "near_duplicate": 0.9,
            "payload_only_intents": ["feedback_helpful"]}

EXAMPLES = {
    "nn": {"greet": ["hei på deg", "god morgon", "hallo der"],
           "ask_opening_hours": ["når opnar servicetorget", "kva er opningstidene dykkar", "har de ope i dag"]},
    "nb": {"greet": ["hei på deg du", "god morgen", "hallo dere"],
           "ask_opening_hours": ["når åpner servicetorget", "hva er åpningstidene deres", "har dere åpent i dag"]},
    "sv": {"greet": ["hej på dig", "god morgon på er", "hallå där"],
           "ask_opening_hours": ["när öppnar kontaktcenter", "vilka är era öppettider", "har ni öppet i dag"]},
}

DOMAIN = """version: "3.1"
intents:
  - greet
  - ask_opening_hours
  - feedback_helpful
responses:
  utter_greet:
    - condition: [{type: slot, name: language, value: nn}]
      text: "Hei!"
    - condition: [{type: slot, name: language, value: nb}]
      text: "Hei!"
    - condition: [{type: slot, name: language, value: sv}]
      text: "Hej!"
"""


def nlu_file(intents: Dict[str, List[str]]) -> str:
    lines = ['version: "3.1"', "", "nlu:"]
    for intent, texts in intents.items():
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {t}" for t in texts] + [""]
    return "\n".join(lines)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for language, intents in EXAMPLES.items():
        folder = tmp_path / "nlu" / language
        folder.mkdir(parents=True)
        (folder / "main.yml").write_text(nlu_file(intents), encoding="utf-8")
    (tmp_path / "domain.yml").write_text(DOMAIN, encoding="utf-8")
    tests = tmp_path / "tests"
    tests.mkdir()
    held_out = {"nn": {"greet": ["heisann alle saman"], "ask_opening_hours": ["kor lenge har de ope"]},
                "nb": {"greet": ["heisann alle sammen"], "ask_opening_hours": ["hvor lenge har dere åpent"]},
                "sv": {"greet": ["hejsan allihop"], "ask_opening_hours": ["hur länge har ni öppet"]}}
    for language, intents in held_out.items():
        (tests / f"{language}.yml").write_text(nlu_file(intents), encoding="utf-8")
    return tmp_path


def run(project: Path, **settings):
    return check(project / "nlu", project / "domain.yml", project / "tests", settings={**SETTINGS, **settings})


def messages(report) -> List[str]:
    return [p.render(Path("/nowhere")) for p in report.errors]


def rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_clean_data_passes(project):
    report = run(project)
    assert report.errors == []
    assert report.examples == 18 + 6
    assert report.lines(project)[-1] == "nlu check: 24 examples in 7 files: 0 error(s), 0 warning(s)"


def test_examples_are_read_with_their_line_numbers(project):
    examples = read_examples(project / "nlu" / "nn" / "main.yml", "nn", [])
    assert [(e.line, e.intent, e.text) for e in examples[:4]] == [
        (6, "greet", "hei på deg"), (7, "greet", "god morgon"), (8, "greet", "hallo der"),
        (12, "ask_opening_hours", "når opnar servicetorget"),
    ]


def test_too_few_examples_in_one_language(project):
    path = project / "nlu" / "nb" / "main.yml"
    rewrite(path, "    - hallo dere\n", "")
    (problem,) = run(project).errors
    assert (problem.path, problem.line) == (path, 6)
    assert problem.message == "intent greet has only 2 example(s) in nb; write at least 3"


def test_the_same_example_under_two_intents(project):
    path = project / "nlu" / "nn" / "main.yml"
    rewrite(path, "    - har de ope i dag\n", "    - har de ope i dag\n    - Hei på deg!\n")
    (problem,) = run(project).errors
    assert (problem.path, problem.line) == (path, 15)
    assert "is an example of both ask_opening_hours and greet" in problem.message
    assert "main.yml:6" in problem.message


def test_near_duplicates_across_intents(project):
    path = project / "nlu" / "sv" / "main.yml"
    rewrite(path, "    - har ni öppet i dag\n", "    - har ni öppet i dag\n    - hallå dära\n")
    (problem,) = run(project).errors
    assert (problem.path, problem.line) == (path, 15)
    assert "nearly the same as \"hallå där\" (greet" in problem.message
    assert run(project, near_duplicate=0.99).errors == []


def test_an_example_in_another_language_than_its_file(project):
    path = project / "nlu" / "nn" / "main.yml"
    rewrite(path, "    - hallo der\n", "    - hallo der\n    - jag vill inte prata med er längre\n")
    (problem,) = run(project).errors
    assert (problem.path, problem.line) == (path, 9)
    assert "looks like sv, not nn" in problem.message


def test_an_intent_missing_in_one_language(project):
    for language in ("nn", "nb"):
        rewrite(project / "nlu" / language / "main.yml", "- intent: greet\n",
                "- intent: thanks\n  examples: |\n    - takk\n    - tusen takk\n    - takk skal du ha\n\n- intent: greet\n")
    rewrite(project / "domain.yml", "  - greet\n", "  - greet\n  - thanks\n")
    (problem,) = run(project, minimum_held_out=0).errors
    assert (problem.path, problem.line) == (project / "nlu" / "nn" / "main.yml", 6)
    assert problem.message == "intent thanks has examples in nb, nn but none in sv"


def test_a_response_missing_in_a_language(project):
    rewrite(project / "domain.yml", "    - condition: [{type: slot, name: language, value: sv}]\n      text: \"Hej!\"\n", "")
    (problem,) = run(project).errors
    assert (problem.path.name, problem.line) == ("domain.yml", 7)
    assert problem.message.startswith("response utter_greet has no variation for language sv")


def test_intents_in_data_but_not_in_the_domain_and_the_other_way_round(project):
    rewrite(project / "domain.yml", "  - greet\n", "  - goodbye\n")
    errors = sorted(p.message.split(" (")[0] + f" @{p.path.name}:{p.line}" for p in run(project).errors)
    assert "intent goodbye has no examples in data/nlu @domain.yml:3" in errors
    assert "intent greet is not in the domain @main.yml:6" in errors
    # the payload-only intent is accepted without examples
    assert not any("feedback_helpful" in e for e in errors)
    assert any("feedback_helpful" in m for m in messages(run(project, payload_only_intents=[])))


def test_held_out_examples_that_are_training_examples(project):
    path = project / "tests" / "nb.yml"
    rewrite(path, "    - heisann alle sammen\n", "    - god morgen!\n")
    (problem,) = run(project).errors
    assert (problem.path, problem.line) == (path, 6)
    assert "is also a training example" in problem.message and "nb/main.yml:7" in problem.message


def test_an_intent_without_held_out_examples(project):
    rewrite(project / "tests" / "sv.yml", "- intent: greet\n  examples: |\n    - hejsan allihop\n", "")
    (problem,) = run(project).errors
    assert problem.path == project / "tests" / "sv.yml"
    assert problem.message.startswith("intent greet has 0 held-out example(s) in sv")


def test_broken_yaml_is_reported_with_its_line(project):
    path = project / "nlu" / "nb" / "main.yml"
    rewrite(path, "- intent: ask_opening_hours\n", "- intent: ask_opening_hours\n  examples: [unclosed\n")
    problems = [p for p in run(project).errors if p.path == path]
    assert problems and problems[0].message.startswith("not valid YAML") and problems[0].line >= 10


def test_the_command_exits_1_and_prints_path_and_line(project, monkeypatch, capsys):
    import bot.nlu.check as module
    from bot.ops.cli import main

    rewrite(project / "nlu" / "nb" / "main.yml", "    - hallo dere\n", "")
    monkeypatch.setattr(module, "check", lambda: run(project))
    assert main(["nlu", "check"]) == 1
    output = capsys.readouterr().out.splitlines()
    assert output[0].endswith("nlu/nb/main.yml:6: intent greet has only 2 example(s) in nb; write at least 3")
    assert output[-1].endswith("1 error(s), 0 warning(s)")
