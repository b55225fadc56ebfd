"""A local stand-in for Meta's Graph API Send endpoint, for the Messenger tests.

``FakeGraph`` listens on 127.0.0.1 (a free port, loopback only) in a thread of its own, accepts
``POST /{version}/me/messages`` the way Meta does (access token in the query string, optional
``appsecret_proof``, a JSON body with ``recipient``, ``messaging_type``, ``tag`` and ``message``),
answers a bad request with status 400 and Meta's error object
``{"error": {"message", "type", "code", "fbtrace_id"}}``, records every request, and can be
told to fail the next N requests with 500.

    with FakeGraph(access_token="page-token") as graph:
        ... MESSENGER_GRAPH_URL=graph.url ...
        graph.wait_for(1)
        assert graph.sent()[0]["message"]["text"] == "Hei"
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

VERSION_PATH = re.compile(r"/(v\d+\.\d+)/me/messages")
MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG"}
TAGS = {"HUMAN_AGENT", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE"}
SENDER_ACTIONS = {"typing_on", "typing_off", "mark_seen"}
QUICK_REPLY_TYPES = {"text", "user_phone_number", "user_email"}
ATTACHMENT_TYPES = {"image", "audio", "video", "file", "template"}


class GraphError(Exception):
    """A request Meta would refuse: HTTP status and Meta's error object."""

    def __init__(self, message: str, code: int = 100, status: int = 400, kind: str = "OAuthException"):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AfakeTraceId0"}}


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]
    body: bytes
    status: int
    json: Any = None


def _param(condition: bool, message: str) -> None:
    if not condition:
        raise GraphError(f"(#100) {message}")


def validate_send(body: Any) -> None:
    """Checks a Send API body the way Meta does (the rules the channel relies on)."""
    _param(isinstance(body, dict), "param recipient must be non-empty.")
    recipient = body.get("recipient")
    _param(isinstance(recipient, dict) and isinstance(recipient.get("id"), str) and recipient["id"],
           "param recipient must be non-empty.")
    messaging_type = body.get("messaging_type")
    _param(messaging_type in MESSAGING_TYPES, "param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
    tag = body.get("tag")
    if messaging_type == "MESSAGE_TAG":
        _param(tag in TAGS, "param tag must be one of {" + ", ".join(sorted(TAGS)) + "}")
    else:
        _param(tag is None, "param tag is only allowed with messaging_type MESSAGE_TAG")
    message, action = body.get("message"), body.get("sender_action")
    _param((message is None) != (action is None), "Exactly one of message and sender_action must be given")
    if action is not None:
        _param(action in SENDER_ACTIONS, "param sender_action must be one of {typing_on, typing_off, mark_seen}")
        return
    _param(isinstance(message, dict), "param message must be an object")
    text, attachment = message.get("text"), message.get("attachment")
    _param((text is None) != (attachment is None), "Exactly one of message[text] and message[attachment] must be given")
    if text is not None:
        _param(isinstance(text, str) and text.strip() != "", "param message[text] must be a non-empty UTF-8 encoded string")
        _param(len(text) <= 2000, "Length of param message[text] must be less than or equal to 2000")
    else:
        _param(isinstance(attachment, dict) and attachment.get("type") in ATTACHMENT_TYPES,
               "param message[attachment][type] must be one of {image, audio, video, file, template}")
    replies = message.get("quick_replies")
    if replies is not None:
        _param(isinstance(replies, list) and 0 < len(replies) <= 13,
               "param message[quick_replies] must be an array of 1 to 13 elements")
        for reply in replies:
            _param(isinstance(reply, dict) and reply.get("content_type") in QUICK_REPLY_TYPES,
                   "param message[quick_replies][content_type] must be one of {text, user_phone_number, user_email}")
            if reply["content_type"] == "text":
                title, payload = reply.get("title"), reply.get("payload")
                _param(isinstance(title, str) and 0 < len(title) <= 20,
                       "Length of param message[quick_replies][title] must be between 1 and 20")
                _param(isinstance(payload, (str, int)) and 0 < len(str(payload)) <= 1000,
                       "Length of param message[quick_replies][payload] must be between 1 and 1000")


class FakeGraph:
    """The fake Graph API server (see the module docstring).

    Args:
        access_token: the page access token it accepts.
        app_secret: when given, an ``appsecret_proof`` must be right (and, with
            ``require_proof``, present).
        require_proof: refuse calls without ``appsecret_proof``.
        delay: seconds to wait before answering (for timeout tests).
    """

    def __init__(self, access_token: str = "test-page-token", app_secret: Optional[str] = None,
                 require_proof: bool = False, delay: float = 0.0) -> None:
        self.access_token = access_token
        self.app_secret = app_secret
        self.require_proof = require_proof
        self.delay = delay
        #: Recipients who blocked the page or deleted their account: Meta's error 551.
        self.unavailable: set = set()
        self.requests: List[Request] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._failures: List[int] = []
        self._ids = itertools.count(1)
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # -- control --

    @property
    def url(self) -> str:
        """Base URL to use as ``MESSENGER_GRAPH_URL``."""
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeGraph":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._reply(self, 400, GraphError("Unsupported get request.", code=100).body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-graph", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeGraph":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """The next ``count`` requests get ``status`` with Meta's transient error."""
        with self._lock:
            self._failures.extend([status] * count)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    def sent(self) -> List[Dict[str, Any]]:
        """The bodies of the messages Meta would have delivered (accepted requests), in order."""
        with self._lock:
            return [r.json for r in self.requests if r.status == 200]

    def texts(self, recipient: Optional[str] = None) -> List[str]:
        """The texts of the delivered messages (optionally to one recipient)."""
        return [b["message"]["text"] for b in self.sent()
                if "text" in (b.get("message") or {}) and (recipient is None or b["recipient"]["id"] == recipient)]

    def wait_for(self, condition: Callable[[List[Dict[str, Any]]], bool] | int, timeout: float = 10.0) -> List[Dict[str, Any]]:
        """Waits until ``condition(sent())`` holds (or ``len(sent()) >= condition``); returns sent()."""
        check = (lambda sent: len(sent) >= condition) if isinstance(condition, int) else condition
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                sent = [r.json for r in self.requests if r.status == 200]
                if check(sent):
                    return sent
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"the fake Graph API did not get what was expected within {timeout} s; "
                                         f"it got: {json.dumps(sent, ensure_ascii=False)[:3000]}")
                self._changed.wait(min(remaining, 0.2))

    # -- serving --

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, body: Dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=UTF-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _check(self, path: str, query: Dict[str, str], body: bytes) -> Tuple[int, Dict[str, Any], Any]:
        parsed = None
        try:
            if not VERSION_PATH.fullmatch(path):
                raise GraphError(f"Unknown path components: {path}", code=2500)
            token = query.get("access_token")
            if not token:
                raise GraphError("An active access token must be used to query information about the current user.",
                                 code=2500)
            if not hmac.compare_digest(token.encode(), self.access_token.encode()):
                raise GraphError("Invalid OAuth access token - Cannot parse access token", code=190)
            proof = query.get("appsecret_proof")
            if self.app_secret and (proof or self.require_proof):
                expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
                if not proof or not hmac.compare_digest(proof.encode(), expected.encode()):
                    raise GraphError("Invalid appsecret_proof provided in the API argument", code=100)
            try:
                parsed = json.loads(body)
            except ValueError:
                raise GraphError("(#100) The parameter recipient is required") from None
            validate_send(parsed)
            if parsed["recipient"]["id"] in self.unavailable:
                raise GraphError("(#551) This person isn't available right now.", code=551)
        except GraphError as error:
            return error.status, error.body, parsed
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            return failure, {"error": {"message": "An unexpected error has occurred. Please retry your request later.",
                                       "type": "OAuthException", "code": 2, "is_transient": True,
                                       "fbtrace_id": "AfakeTraceId0"}}, parsed
        return 200, {"recipient_id": parsed["recipient"]["id"], "message_id": f"m_fake{next(self._ids)}"}, parsed

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(min(length, 10 * 1024 * 1024)) if length else b""
        split = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        if self.delay:
            time.sleep(self.delay)
        status, answer, parsed = self._check(split.path, query, body)
        with self._changed:
            self.requests.append(Request("POST", split.path, query, dict(handler.headers.items()), body, status, parsed))
            self._changed.notify_all()
        self._reply(handler, status, answer)


if __name__ == "__main__":  # python -m tests.fake_graph: a fake to point a local assistant at
    import sys

    fake = FakeGraph(access_token=sys.argv[1] if len(sys.argv) > 1 else "test-page-token").start()
    print(f"fake Graph API on {fake.url} (Ctrl-C stops it)", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        fake.stop()
