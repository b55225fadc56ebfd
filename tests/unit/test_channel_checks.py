"""The request checks of the REST and widget channels (``bot/channels/checks.py``, ``rest.py``)."""
from __future__ import annotations

import json

import pytest

from bot.channels import rest, widget
from bot.channels.checks import RequestProblem, escaped, unreadable_reason

JSON = "application/json"


def body(value) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    "content_type, raw, status, words",
    [
        (JSON, b"", 400, "not valid JSON"),
        (JSON, b"[]", 400, "JSON object"),
        (JSON, b"null", 400, "JSON object"),
        (JSON, b'"hei"', 400, "JSON object"),
        (JSON, b"{}", 400, "sender"),
        (JSON, b'{"sender": "citizen-42", "message": "hei \xff"}', 400, "UTF-8"),
        (JSON, b'{"sender": "citizen-42", "message": "hei \\ud800"}', 400, "UTF-8"),
        (JSON, b"[" * 20_000 + b"]" * 20_000, 400, "nested too deeply"),
        (JSON, b'{"sender": "citizen-42", "message": "hei", "metadata": {"a": ' + b"[" * 20_000 + b"]" * 20_000
         + b"}}", 400, "nested too deeply"),
        (JSON, b" " * (128 * 1024 + 1), 413, "larger than"),
        ("text/plain", body({"sender": "citizen-42", "message": "hei"}), 400, "Content-Type"),
        (None, body({"sender": "citizen-42", "message": "hei"}), 400, "Content-Type"),
        ("application/x-www-form-urlencoded", b"sender=citizen-42&message=hei", 400, "Content-Type"),
        (JSON, body({"message": "hei"}), 400, "sender"),
        (JSON, body({"sender": 42, "message": "hei"}), 400, "sender"),
        (JSON, body({"sender": {"a": 1}, "message": "hei"}), 400, "sender"),
        (JSON, body({"sender": "a\x00b", "message": "hei"}), 400, "sender"),
        (JSON, body({"sender": "s" * 129, "message": "hei"}), 400, "sender"),
        (JSON, body({"sender": "citizen-42"}), 400, "message must be a string"),
        (JSON, body({"sender": "citizen-42", "message": ["hei"]}), 400, "message must be a string"),
        (JSON, body({"sender": "citizen-42", "message": ""}), 400, "empty"),
        (JSON, body({"sender": "citizen-42", "message": " \t\n "}), 400, "empty"),
        (JSON, body({"sender": "citizen-42", "message": "hei\x00"}), 400, "control characters"),
        (JSON, body({"sender": "citizen-42", "message": "hei \x1b[31m"}), 400, "control characters"),
        (JSON, body({"sender": "citizen-42", "message": "a" * 5001}), 413, "at most 5000"),
        (JSON, body({"sender": "citizen-42", "message": "hei", "metadata": "nn"}), 400, "metadata"),
        (JSON, body({"sender": "citizen-42", "message": "hei", "input_channel": {"x": 1}}), 400, "unknown field"),
    ],
)
def test_rest_refuses_bad_requests_with_a_clear_status_and_sentence(content_type, raw, status, words):
    with pytest.raises(RequestProblem) as problem:
        rest.parse_request(content_type, raw)
    assert problem.value.status == status
    assert words in str(problem.value)


def test_rest_accepts_what_rasa_s_rest_clients_send():
    text = "Hei!\n\tKva tid opnar biblioteket? ‮🙂"
    assert rest.parse_request("application/json; charset=utf-8", body(
        {"sender": "user@example.no", "message": text, "metadata": {"page": "/bibliotek"}}
    )) == ("user@example.no", text, {"page": "/bibliotek"})
    assert rest.parse_request(JSON, body({"sender": "c", "message": "a" * 5000}))[1] == "a" * 5000


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"[" * 20_000 + b"]" * 20_000, "nested too deeply"),
        (b'{"sender": "widget-citizen-1", "message": "hei \\udfff"}', "UTF-8"),
        (body({"sender": "widget-citizen-1", "message": "hei\x07"}), "control characters"),
    ],
)
def test_widget_refuses_what_used_to_give_a_500_or_503(raw, words):
    with pytest.raises(RequestProblem) as problem:
        widget.parse_request(JSON, raw)
    assert problem.value.status == 400 and words in str(problem.value)


def test_unreadable_reason_and_escaped_copy():
    assert unreadable_reason("hei\r\n\tdu", 10) is None
    assert unreadable_reason("x" * 11, 10) == "too_long"
    assert unreadable_reason("hei \ud800", 10) == "invalid_unicode"
    assert unreadable_reason("hei \x7f", 10) == "control_characters"
    assert escaped("a\x00b\x9fc\ud800\n") == "a\\x00b\\x9fc\\ud800\n"
