"""The widget's channel over plain HTTP: the webhook's contract, the files, the demo page, CORS."""
from __future__ import annotations

import re

import pytest
import requests

from tests.browser.helpers import opening, variation

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SENDER = "0123456789abcdef0123456789abcdef"


def post(assistant, body=None, data=None, content_type="application/json", secret=None):
    headers = {"Content-Type": content_type, **({"X-Conversation-Secret": secret} if secret else {})}
    return requests.post(
        f"{assistant.url}/webhooks/widget/webhook", json=body if data is None else None,
        data=data, headers=headers, timeout=60,
    )


def test_answers_like_the_rest_channel_with_the_language_of_each_message(assistant):
    answer = post(assistant, {"message": "/greet", "metadata": {"language": "sv"}})
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    sender, secret = answer.headers["X-Conversation-Id"], answer.headers["X-Conversation-Secret"]
    assert len(sender) == 32 and len(secret) >= 40
    [greeting] = answer.json()
    assert greeting["recipient_id"] == sender and greeting["lang"] == "sv"
    assert greeting["text"].startswith(opening("utter_greet", "sv", desk_open=True))
    assert "08.00–15.30" in greeting["text"]  # today's hours, Swedish style
    assert greeting["buttons"] == variation("utter_greet", "sv", desk_open=True)["buttons"]
    # Without metadata the conversation keeps its language (and its channel is "widget").
    [answer] = post(assistant, {"sender": sender, "message": "/ask_contact"}, secret=secret).json()
    assert answer["lang"] == "sv" and answer["text"].startswith(opening("utter_contact", "sv"))
    assert "Saltvika kommun" in answer["text"] and "57 69 40 00" in answer["text"]
    tracker = assistant.tracker(sender, channel="widget")
    assert tracker["latest_input_channel"] == "widget"
    # The channel adds only the keyed client address (the handoff cap's); no language this time.
    metadata = tracker["latest_message"]["metadata"]
    assert set(metadata) == {"client_key"} and len(metadata["client_key"]) == 32


def test_a_conversation_is_written_to_only_with_its_secret(assistant):
    opened = post(assistant, {"message": "hei"})
    sender, secret = opened.headers["X-Conversation-Id"], opened.headers["X-Conversation-Secret"]
    for wrong in (None, "", "x" + secret):
        refused = post(assistant, {"sender": sender, "message": "eg er ein annan"}, secret=wrong)
        assert refused.status_code == 401 and refused.json()["error"]
    # An id nobody issued is refused too, and so is a Messenger user's id.
    assert post(assistant, {"sender": SENDER, "message": "hei"}, secret=secret).status_code == 401
    assert post(assistant, {"sender": "8300000000000001", "message": "hei"}, secret=secret).status_code == 401
    assert post(assistant, {"sender": sender, "message": "hei igjen"}, secret=secret).status_code == 200
    outbox = f"{assistant.url}/webhooks/outbox/messages"
    assert requests.get(outbox, params={"sender": sender, "channel": "widget"}, timeout=30).status_code == 401
    assert requests.get(outbox, params={"sender": sender, "channel": "widget"}, timeout=30,
                        headers={"X-Conversation-Secret": secret}).json() == {"messages": []}


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"sender": "short", "message": "hei"}, 400, "sender"),
        ({"sender": "x" * 65, "message": "hei"}, 400, "sender"),
        ({"sender": "bad sender id", "message": "hei"}, 400, "sender"),
        ({"sender": SENDER}, 400, "message must be a string"),
        ({"sender": SENDER, "message": 42}, 400, "message must be a string"),
        ({"sender": SENDER, "message": ""}, 400, "empty"),
        ({"sender": SENDER, "message": " \n\t "}, 400, "empty"),
        ({"sender": SENDER, "message": "a" * 5001}, 413, "at most 5000"),
        ({"sender": SENDER, "message": "hei", "metadata": {"language": "en"}}, 400, "nn, nb, sv"),
        ({"sender": SENDER, "message": "hei", "metadata": {"language": "nn", "x": 1}}, 400, "unknown metadata"),
        ({"sender": SENDER, "message": "hei", "metadata": "nn"}, 400, "metadata must be"),
        ({"sender": SENDER, "message": "hei", "channel": "rest"}, 400, "unknown field"),
        (["not", "an", "object"], 400, "JSON object"),
    ],
)
def test_refuses_bad_requests_with_a_clear_error(assistant, body, status, words):
    answer = post(assistant, body)
    assert answer.status_code == status
    assert words in answer.json()["error"]


def test_refuses_what_is_not_json(assistant):
    for data, content_type in (("{not json", "application/json"), ('{"sender": "x"}', "text/plain"),
                               ("sender=abc", "application/x-www-form-urlencoded"), ("", "application/json")):
        answer = post(assistant, data=data.encode(), content_type=content_type)
        assert answer.status_code == 400, (data, content_type)
        assert answer.json()["error"]
    assert post(assistant, {"message": "a" * 5000}).status_code == 200


def test_cors_allows_the_municipality_s_pages(assistant):
    origin = "https://www.saltvika.kommune.no"
    preflight = requests.options(
        f"{assistant.url}/webhooks/widget/webhook", timeout=30,
        headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )
    assert preflight.status_code < 300
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    answer = requests.post(f"{assistant.url}/webhooks/widget/webhook", timeout=60, headers={"Origin": origin},
                           json={"message": "/greet"})
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    # The page's script may read the issued id and secret.
    assert "X-Conversation-Secret" in answer.headers["Access-Control-Expose-Headers"]
    staff = requests.get(f"{assistant.url}/webhooks/outbox/messages", timeout=30, headers={
        "Origin": origin, "X-Conversation-Secret": answer.headers["X-Conversation-Secret"]},
        params={"sender": answer.headers["X-Conversation-Id"], "channel": "widget"})
    assert staff.status_code == 200 and staff.headers["Access-Control-Allow-Origin"] == origin
    other = requests.options(f"{assistant.url}/webhooks/widget/webhook", timeout=30, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert other.headers.get("Access-Control-Allow-Origin") not in ("*", "https://evil.example")


@pytest.mark.parametrize("name, content_type", [("widget.js", "text/javascript"), ("widget.css", "text/css")])
def test_serves_the_widget_s_files_cacheable(assistant, name, content_type):
    answer = requests.get(f"{assistant.url}/webhooks/widget/{name}", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == f"{content_type}; charset=utf-8"
    assert answer.headers["Cache-Control"] == "public, max-age=3600"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    again = requests.get(f"{assistant.url}/webhooks/widget/{name}", timeout=30,
                         headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and not again.content


def test_the_script_never_writes_html():
    from bot.channels.widget import STATIC_DIR

    source = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source


def test_demo_page_embeds_the_widget_with_one_script_tag(assistant):
    answer = requests.get(f"{assistant.url}/webhooks/widget/demo", timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    page = answer.text
    assert '<html lang="nn">' in page
    assert "<title>Servicetorget – Saltvika kommune</title>" in page
    assert "<h1>Servicetorget</h1>" in page and page.count("<h2") >= 4
    assert "Servicetorget har ope måndag–fredag 08:00–15:30" in page
    assert 'href="https://www.saltvika.kommune.no/politikk/motekalender"' in page
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts == [
        f'<script src="{assistant.url}/webhooks/widget/widget.js" data-server="{assistant.url}" '
        'data-lang="nn" data-municipality="saltvika" defer>'
    ]


def test_health(assistant):
    assert requests.get(f"{assistant.url}/webhooks/widget/", timeout=30).json() == {"status": "ok"}
