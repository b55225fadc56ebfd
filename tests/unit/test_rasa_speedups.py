"""The cached check of action server answers gives the same verdicts as Rasa's own."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.rasa_server.patches import speedups as rasa_speedups

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "language", "value": "nn", "timestamp": None}],
     "responses": [{"response": "utter_greet", "buttons": []}]},
    {"events": [{"event": "followup", "name": "action_listen"}, {"event": "pause"}]},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "slot", "name": 5}]},
    {"events": [{"no": "event"}]},
    {"responses": [1, 2]},
]


@pytest.fixture
def original():
    saved = RemoteAction._validate_action_result
    yield saved
    RemoteAction._validate_action_result = saved
    rasa_speedups._installed = False


def verdict(validate, result):
    try:
        return validate(RemoteAction("action_x", None), result)
    except ValidationError as error:
        return error.message


@pytest.mark.parametrize("result", VALID + INVALID)
def test_same_verdict_and_message_as_rasa(original, result):
    expected = verdict(original, result)
    rasa_speedups.install()
    assert RemoteAction._validate_action_result is not original
    assert verdict(RemoteAction._validate_action_result, result) == expected
    assert (expected is True) == (result in VALID)
