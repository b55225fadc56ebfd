"""The staff web app (Sanic, server-rendered Jinja2, no JavaScript).

``create_app(url)`` builds the app for an archive database (default: the configured one).
Every route except ``/login`` and ``/static/staff.css`` needs a signed-in session.
"""
from __future__ import annotations

import asyncio
import csv
import functools
import io
import itertools
import secrets
import time
from collections import defaultdict, deque
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Optional, Tuple

from jinja2 import Environment, FileSystemLoader
from sanic import Sanic, response
from sanic.exceptions import NotFound, SanicException
from sanic.request import Request
from sqlalchemy import select

from bot.core import clock
from bot.dialogue import crisis
from bot.storage.db import database_url, ensure_schema, session_scope
from bot.archive.models import ArchiveRecord, Kind
from bot.storage.base import utc
from bot.archive.records import append_record
from bot.core.config import get_settings
import bot.channels  # noqa: F401  (the channels register their limits on staff replies)
from bot.handoff import queue
from bot.handoff.queue import HandoffError
from bot.municipality import format_moment, load_municipality
from bot.staff.login_limit import LoginLimiter
from bot.staff import accounts, charts, statistics, users
from bot.dialogue.responses import response_text
from bot.staff.models import StaffSession
from bot.staff.texts import LANGUAGES, REASONS, TEXTS, Words, ui_language

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "staff_session"
LOGIN_CSRF_COOKIE = "staff_login_csrf"
SESSION_IDLE = users.SESSION_IDLE
LOGIN_FAILURES = 5
LOGIN_WINDOW_SECONDS = 15 * 60
PUBLIC_ROUTES = {"login_form", "login", "static_css"}
_counter = itertools.count(1)


_hash = users.token_hash


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _age(created_at: str, now: datetime, t: Words) -> str:
    delta = now - datetime.fromisoformat(created_at)
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} {t.minutes_short}"
    if minutes < 48 * 60:
        return f"{minutes // 60} {t.hours_short}"
    return f"{minutes // (24 * 60)} {t.days_short}"


def _when(iso: str, zone=timezone.utc) -> str:
    """ISO time → ``2026-11-17 11:00`` in the municipality's time zone (staff read local time)."""
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _filters(request: Request) -> Dict[str, str]:
    args = request.args
    return {
        "reason": args.get("reason", "") if args.get("reason", "") in REASONS else "",
        "status": args.get("status", "") if args.get("status", "") in queue.STATUSES else "",
        "language": args.get("language", "") if args.get("language", "") in LANGUAGES else "",
    }


def filtered_handoffs(filters: Dict[str, str], url: str):
    """The handoff list with the page's filters; without a status only the unclosed ones."""
    views = queue.list_handoffs(status=filters["status"] or None, url=url)
    if not filters["status"]:
        views = [v for v in views if v.status != queue.CLOSED]
    if filters["reason"]:
        views = [v for v in views if v.reason == filters["reason"]]
    if filters["language"]:
        views = [v for v in views if v.language == filters["language"]]
    return views


def _csv_cell(value: Any) -> str:
    """A CSV cell that spreadsheets will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CSV_COLUMNS = ("id", "reason", "language", "channel", "status", "created_at", "due_at", "deadline", "claimed_by")


def create_app(url: Optional[str] = None, ui: Optional[str] = None) -> Sanic:
    """Builds the staff app for the archive database at ``url`` (default: ``DATABASE_URL``).

    Args:
        url: SQLAlchemy URL of the archive database.
        ui: "nb" or "sv" to force the UI language; default from the municipality's country.
    """
    db_url = url or database_url()
    ensure_schema(db_url)
    profile = load_municipality()
    ui = ui or ui_language(profile.country)
    t = Words(TEXTS[ui])
    app = Sanic(f"municipal_staff_{next(_counter)}")
    app.config.FORWARDED_SECRET = None
    # Behind the documented TLS proxy: trust its X-Forwarded-For and X-Forwarded-Proto, so that
    # the sign-in limit sees the real client and cookies are Secure (docs/deploy.md).
    app.config.PROXIES_COUNT = get_settings().staff_proxies_count
    app.ctx.url = db_url
    app.ctx.limiter = LoginLimiter(db_url, LOGIN_FAILURES, LOGIN_WINDOW_SECONDS)
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(t=t, when=functools.partial(_when, zone=profile.zone), REASONS=REASONS, LANGUAGES=LANGUAGES, STATUSES=queue.STATUSES)

    def render(request: Request, template: str, status: int = 200, **context: Any):
        context.setdefault("user", getattr(request.ctx, "user", None))
        context.setdefault("csrf", getattr(request.ctx, "csrf", ""))
        context.setdefault("page", "")
        return response.html(env.get_template(template).render(**context), status=status)

    async def blocking(fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))

    def problem(exc: HandoffError) -> str:
        """The queue's error in the UI language (its English message when no text is known)."""
        key = f"handoff_error.{exc.code}"
        if t(key) == key:
            return str(exc)
        params = {k: t(f"status.{v}") if k in ("current", "to") else v for k, v in exc.params.items()}
        return t(key).format(**params)

    # ---- sessions ------------------------------------------------------------------------

    def load_session(token: Optional[str]):
        if not token:
            return None
        now = _now()
        with session_scope(db_url) as session:
            row = session.execute(
                select(StaffSession).where(StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None))
            ).scalar_one_or_none()
            if row is None:
                return None
            if now - utc(row.last_seen) > SESSION_IDLE:
                row.ended_at = now
                return None
            user = users.get_user(row.user_name, db_url)
            if user is None or user.disabled_at is not None:  # a disabled user's sessions stop at once
                row.ended_at = now
                return None
            row.last_seen = now
            return {"name": user.name, "role": user.role}, row.csrf_token

    def new_session(name: str) -> str:
        token = secrets.token_urlsafe(32)
        now = _now()
        with session_scope(db_url) as session:
            session.add(StaffSession(token_hash=_hash(token), user_name=name, csrf_token=secrets.token_urlsafe(32),
                                     created_at=now, last_seen=now))
        return token

    def end_session(token: Optional[str]) -> None:
        if not token:
            return
        with session_scope(db_url) as session:
            row = session.execute(select(StaffSession).where(StaffSession.token_hash == _hash(token))).scalar_one_or_none()
            if row is not None and row.ended_at is None:
                row.ended_at = _now()

    def set_cookie(request: Request, resp, name: str, value: str, max_age: Optional[int] = None) -> None:
        resp.cookies[name] = value
        cookie = resp.cookies[name]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/"
        if request.scheme == "https":
            cookie["secure"] = True
        if max_age is not None:
            cookie["max-age"] = max_age

    @app.middleware("request")
    async def require_session(request: Request):
        request.ctx.user = None
        request.ctx.csrf = ""
        route = request.route.name.split(".")[-1] if request.route else None
        if route in PUBLIC_ROUTES or route is None:
            return None
        found = await blocking(load_session, request.cookies.get(SESSION_COOKIE))
        if found is None:
            if request.method == "GET" and route not in ("export_csv", "audit_csv"):
                return response.redirect("/login?expired=1" if request.cookies.get(SESSION_COOKIE) else "/login")
            return response.text("sign-in required\n", status=401)
        request.ctx.user, request.ctx.csrf = found
        if request.method == "POST":
            sent = request.form.get("csrf_token", "") if request.form else ""
            if not sent or not secrets.compare_digest(sent, request.ctx.csrf):
                return render(request, "error.html", status=403, message=t.csrf_failed)
        return None

    @app.middleware("response")
    async def headers(request: Request, resp):
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        resp.headers.setdefault("Cache-Control", "no-store")
        if request.scheme == "https":  # over TLS (also as the proxy reports it): never again without
            resp.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"

    # ---- public routes -------------------------------------------------------------------

    @app.get("/static/staff.css", name="static_css")
    async def static_css(request: Request):
        return response.text((HERE / "static" / "staff.css").read_text(encoding="utf-8"),
                             content_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=3600"})

    def login_page(request: Request, status: int = 200, error: str = "", notice: str = "", name: str = ""):
        token = secrets.token_urlsafe(32)
        resp = render(request, "login.html", status=status, error=error, notice=notice, name=name, csrf=token)
        set_cookie(request, resp, LOGIN_CSRF_COOKIE, token)
        return resp

    @app.get("/login", name="login_form")
    async def login_form(request: Request):
        notice = t.session_expired if request.args.get("expired") else t.signed_out if request.args.get("out") else ""
        return login_page(request, notice=notice)

    @app.post("/login", name="login")
    async def login(request: Request):
        form = request.form or {}
        sent, expected = form.get("csrf_token", ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not sent or not expected or not secrets.compare_digest(sent, expected):
            return login_page(request, status=403, error=t.csrf_failed)
        name, password = (form.get("username") or "").strip(), form.get("password") or ""
        ip = request.remote_addr or request.ip or ""
        limiter: LoginLimiter = app.ctx.limiter
        if await blocking(limiter.blocked, name, ip):
            return login_page(request, status=429, error=t.rate_limited, name=name)
        user = await blocking(users.authenticate, name, password, db_url)
        if user is None:
            await blocking(limiter.fail, name, ip)
            await blocking(users.audit, name or "-", "login_failed", None, f"ip={ip}", db_url)
            status, error = (429, t.rate_limited) if await blocking(limiter.blocked, name, ip) else (401, t.bad_login)
            return login_page(request, status=status, error=error, name=name)
        await blocking(limiter.clear, name, ip)
        token = await blocking(new_session, user.name)
        await blocking(users.audit, user.name, "login", None, f"ip={ip}", db_url)
        resp = response.redirect("/")
        set_cookie(request, resp, SESSION_COOKIE, token)
        resp.cookies[LOGIN_CSRF_COOKIE] = ""
        resp.cookies[LOGIN_CSRF_COOKIE]["max-age"] = 0
        resp.cookies[LOGIN_CSRF_COOKIE]["path"] = "/"
        return resp

    # ---- signed-in routes ----------------------------------------------------------------

    @app.post("/logout", name="logout")
    async def logout(request: Request):
        await blocking(end_session, request.cookies.get(SESSION_COOKIE))
        await blocking(users.audit, request.ctx.user["name"], "logout", None, None, db_url)
        resp = response.redirect("/login?out=1")
        resp.cookies[SESSION_COOKIE] = ""
        resp.cookies[SESSION_COOKIE]["max-age"] = 0
        resp.cookies[SESSION_COOKIE]["path"] = "/"
        return resp

    @app.get("/", name="handoff_list")
    async def handoff_list(request: Request):
        filters = _filters(request)
        try:
            views = await blocking(filtered_handoffs, filters, db_url)
            error = ""
        except HandoffError as exc:
            views, error = [], problem(exc)
        now = clock.now()
        rows = [dict(v.as_dict(), age=_age(v.created_at, now, t)) for v in views]
        query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
        return render(request, "list.html", rows=rows, filters=filters, error=error, query=query, page="handoffs")

    @app.get("/handoffs.csv", name="export_csv")
    async def export_csv(request: Request):
        filters = _filters(request)
        views = await blocking(filtered_handoffs, filters, db_url)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for view in views:
            data = view.as_dict()
            writer.writerow([_csv_cell(data[c]) for c in CSV_COLUMNS])
        await blocking(users.audit, request.ctx.user["name"], "export_csv", None,
                       f"filters={filters}; rows={len(views)}", db_url)
        return response.text(out.getvalue(), content_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="handoffs.csv"'})

    def unmasked_texts(conversation_id: str) -> Dict[int, Optional[str]]:
        with session_scope(db_url) as session:
            return {r.seq: r.text for r in session.execute(
                select(ArchiveRecord).where(ArchiveRecord.conversation_id == conversation_id)).scalars()}

    async def conversation_page(request: Request, handoff_id: int, *, reveal: bool = False, error: str = "",
                                notice: str = "", status: int = 200):
        try:
            view = await blocking(queue.show_handoff, handoff_id, db_url)
        except HandoffError:
            raise NotFound(t.not_found)
        user = request.ctx.user
        if reveal:
            texts = await blocking(unmasked_texts, view["conversation_id"])
            for item in view["transcript"]:
                item["text"] = texts.get(item["seq"], item["text"])
        await blocking(users.audit, user["name"], "reveal" if reveal else "view_transcript",
                       view["conversation_id"], f"handoff={handoff_id}", db_url)
        return render(request, "conversation.html", status=status, h=view, revealed=reveal, error=error,
                      notice=notice)

    @app.get("/handoffs/<handoff_id:int>", name="conversation")
    async def conversation(request: Request, handoff_id: int):
        return await conversation_page(request, handoff_id, notice=t.done if request.args.get("done") else "")

    @app.post("/handoffs/<handoff_id:int>/reveal", name="reveal")
    async def reveal(request: Request, handoff_id: int):
        if request.ctx.user["role"] != "admin":
            return render(request, "error.html", status=403, message=t.forbidden)
        return await conversation_page(request, handoff_id, reveal=True)

    async def act(request: Request, handoff_id: int, action: str, fn: Callable[[], Any]):
        try:
            await blocking(fn)
        except HandoffError as exc:
            return await conversation_page(request, handoff_id, error=problem(exc), status=409)
        return response.redirect(f"/handoffs/{handoff_id}?done={action}")

    def conversation_of(handoff_id: int) -> str:
        return queue.show_handoff(handoff_id, db_url)["conversation_id"]

    def audited(action: str, handoff_id: int, fn: Callable[[], Any], user: str) -> Callable[[], Any]:
        def run():
            result = fn()
            users.audit(user, action, conversation_of(handoff_id), f"handoff={handoff_id}", db_url)
            return result
        return run

    @app.post("/handoffs/<handoff_id:int>/claim", name="claim")
    async def claim(request: Request, handoff_id: int):
        by = request.ctx.user["name"]
        return await act(request, handoff_id, "claim",
                         audited("claim", handoff_id, lambda: queue.claim(handoff_id, by, url=db_url), by))

    @app.post("/handoffs/<handoff_id:int>/reply", name="reply")
    async def reply(request: Request, handoff_id: int):
        by, text = request.ctx.user["name"], request.form.get("text", "")
        return await act(request, handoff_id, "reply",
                         audited("reply", handoff_id, lambda: queue.reply(handoff_id, by, text, url=db_url), by))

    @app.post("/handoffs/<handoff_id:int>/close", name="close")
    async def close(request: Request, handoff_id: int):
        by = request.ctx.user["name"]
        return await act(request, handoff_id, "close",
                         audited("close", handoff_id, lambda: queue.close(handoff_id, by, url=db_url), by))

    def add_note(handoff_id: int, by: str, text: str) -> None:
        text = (text or "").strip()
        if not text:
            raise HandoffError(t.note_empty)
        view = queue.show_handoff(handoff_id, db_url)
        with session_scope(db_url) as session:
            append_record(session, view["conversation_id"], Kind.STAFF_NOTE, clock.now(), channel="staff",
                          sender_id=by, text=text, language=view["language"], data={"handoff_id": handoff_id})

    @app.post("/handoffs/<handoff_id:int>/note", name="note")
    async def note(request: Request, handoff_id: int):
        by, text = request.ctx.user["name"], request.form.get("text", "")
        return await act(request, handoff_id, "note",
                         audited("note", handoff_id, lambda: add_note(handoff_id, by, text), by))

    # ---- crisis message ------------------------------------------------------------------

    def crisis_state():
        now = clock.now()
        with session_scope(db_url) as session:
            active = crisis.active(session, profile.id, now)
            rows = crisis.history(session, profile.id)
        previews = {}
        if active is not None:
            for lang in profile.languages:
                previews[lang] = response_text(
                    "utter_crisis", {"language": lang}, municipality_name=profile.name_in(lang),
                    crisis_text=active.text_in(lang, profile.default_language),
                    crisis_until=format_moment(lang, active.ends_at.astimezone(profile.zone), now))
        return now, active, rows, previews

    async def crisis_page(request: Request, *, errors: Optional[Dict[str, str]] = None,
                          form: Optional[Dict[str, str]] = None, notice: str = "", status: int = 200):
        now, active, rows, previews = await blocking(crisis_state)
        if form is None:
            default_end = (now.astimezone(profile.zone) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
            form = {"end_date": default_end.date().isoformat(), "end_time": default_end.strftime("%H:%M")}
        return render(request, "crisis.html", status=status, page="crisis", active=active, rows=rows,
                      previews=previews, languages=profile.languages, errors=errors or {}, form=form,
                      notice=notice, when_local=lambda at: at.astimezone(profile.zone).strftime("%Y-%m-%d %H:%M"),
                      max_length=crisis.MAX_TEXT_LENGTH, can_publish=accounts.is_admin(request))

    def parse_end(form) -> Optional[datetime]:
        try:
            day = datetime.strptime((form.get("end_date") or "").strip(), "%Y-%m-%d").date()
            at = datetime.strptime((form.get("end_time") or "").strip(), "%H:%M").time()
        except ValueError:
            return None
        return datetime.combine(day, at, tzinfo=profile.zone)

    @app.get("/crisis", name="crisis")
    async def crisis_view(request: Request):
        return await crisis_page(request, notice=t.crisis_done if request.args.get("done") else "")

    @app.post("/crisis", name="crisis_publish")
    async def crisis_publish(request: Request):
        # The message reaches every citizen who greets the bot: only admins publish it.
        if not accounts.is_admin(request):
            return render(request, "error.html", status=403, message=t.forbidden)
        form = {k: request.form.get(k, "") for k in ("end_date", "end_time", *profile.languages)}
        texts = {lang: form[lang] for lang in profile.languages}
        by = request.ctx.user["name"]

        def publish():
            with session_scope(db_url) as session:
                published = crisis.publish(session, profile.id, texts, parse_end(form), list(profile.languages),
                                           by, clock.now())
            users.audit(by, "crisis_publish", None,
                        f"crisis={published.id}; ends={published.ends_at.isoformat()}", db_url)

        try:
            await blocking(publish)
        except crisis.CrisisError as exc:
            return await crisis_page(request, errors=exc.problems, form=form, status=400)
        return response.redirect("/crisis?done=1")

    @app.post("/crisis/end", name="crisis_end")
    async def crisis_end(request: Request):
        if not accounts.is_admin(request):
            return render(request, "error.html", status=403, message=t.forbidden)
        by = request.ctx.user["name"]

        def end():
            with session_scope(db_url) as session:
                ended = crisis.end_now(session, profile.id, by, clock.now())
            if ended is not None:
                users.audit(by, "crisis_end", None, f"crisis={ended.id}", db_url)

        await blocking(end)
        return response.redirect("/crisis?done=1")

    # ---- statistics ------------------------------------------------------------------------

    @app.get("/statistics", name="statistics")
    async def statistics_page(request: Request):
        days = statistics.period_days(request.args.get("days"))
        figures = await blocking(statistics.compute, profile, clock.now(), days or statistics.DEFAULT_DAYS, db_url)
        return render(request, "statistics.html", page="statistics", s=figures, invalid_period=days is None,
                      zone=profile.timezone, top=statistics.TOP, PERIODS=statistics.PERIODS, charts=charts,
                      percent=statistics.percent, decimal=statistics.decimal)

    accounts.register(app, render=render, blocking=blocking, db_url=db_url, t=t, zone=profile.zone,
                      session_cookie=SESSION_COOKIE, csv_cell=_csv_cell)

    # ---- errors ----------------------------------------------------------------------------

    @app.exception(NotFound)
    async def not_found(request: Request, exception: Exception):
        return render(request, "error.html", status=404, message=t.not_found)

    @app.exception(SanicException)
    async def sanic_error(request: Request, exception: SanicException):
        status = getattr(exception, "status_code", 500) or 500
        return render(request, "error.html", status=status, message=t.server_error if status >= 500 else str(exception))

    @app.exception(Exception)
    async def any_error(request: Request, exception: Exception):
        app.ctx.last_error = exception
        import logging
        logging.getLogger(__name__).exception("staff app error")
        return render(request, "error.html", status=500, message=t.server_error)

    return app


def serve(host: str = "127.0.0.1", port: int = 8080, url: Optional[str] = None) -> None:
    """Runs the staff app (one process) until interrupted."""
    create_app(url).run(host=host, port=port, access_log=False, workers=1)


def main_serve(argv) -> int:
    """``staff serve [--host 127.0.0.1] [--port 8080]``."""
    import argparse

    from bot.core.config import get_settings

    parser = argparse.ArgumentParser(prog="python -m bot staff serve")
    parser.add_argument("--host", default=get_settings().staff_bind_host)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(list(argv))
    serve(args.host, args.port)
    return 0
