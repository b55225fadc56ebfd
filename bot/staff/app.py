"""The staff web app (Sanic, server-rendered Jinja2, no JavaScript).

``create_app(url)`` builds the app for an archive database (default: the configured one).
Every route except ``/login`` and ``/static/staff.css`` needs a signed-in session
(:mod:`bot.staff.sessions`). The pages are in :mod:`bot.staff.routes`: ``auth`` (sign-in),
``handoffs`` (the queue and conversations), ``crisis``, ``statistics``, ``accounts`` and ``training``
(the trainer studio).
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import logging
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from jinja2 import Environment, FileSystemLoader
from sanic import Sanic, response
from sanic.exceptions import NotFound, SanicException
from sanic.request import Request

from bot.core.config import get_settings
import bot.channels  # noqa: F401  (the channels register their limits on staff replies)
from bot.handoff import queue
from bot.municipality import load_municipality
from bot.staff import sessions
from bot.staff.login_limit import LoginLimiter
from bot.staff.routes import accounts, auth, crisis, handoffs, statistics, training
from bot.staff.routes.context import Context
from bot.staff.texts import LANGUAGES, REASONS, TEXTS, Words, ui_language
from bot.storage.db import database_url, ensure_schema

HERE = Path(__file__).resolve().parent
LOGIN_FAILURES = 5
LOGIN_WINDOW_SECONDS = 15 * 60
# Routes that answer a GET without a session with 401 rather than a redirect to the sign-in page
# (a download should not save the sign-in page as a CSV file).
NO_REDIRECT_ROUTES = ("export_csv", "audit_csv")
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
_counter = itertools.count(1)
_log = logging.getLogger(__name__)


def _when(iso: str, zone=timezone.utc) -> str:
    """ISO time → ``2026-11-17 11:00`` in the municipality's time zone (staff read local time)."""
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M")


async def _blocking(fn, *args, **kwargs):
    """Runs a blocking function (database, password hashing) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))


def create_app(url: Optional[str] = None, ui: Optional[str] = None) -> Sanic:
    """Builds the staff app for the archive database at ``url`` (default: ``DATABASE_URL``).

    Args:
        url: SQLAlchemy URL of the archive database.
        ui: "nb" or "sv" to force the UI language; default from the municipality's country.
    """
    db_url = url or database_url()
    ensure_schema(db_url)
    profile = load_municipality()
    t = Words(TEXTS[ui or ui_language(profile.country)])
    app = Sanic(f"municipal_staff_{next(_counter)}")
    app.config.FORWARDED_SECRET = None
    # Behind the documented TLS proxy: trust its X-Forwarded-For and X-Forwarded-Proto, so that
    # the sign-in limit sees the real client and cookies are Secure (docs/deploy.md).
    app.config.PROXIES_COUNT = get_settings().staff_proxies_count
    app.ctx.url = db_url
    app.ctx.limiter = LoginLimiter(db_url, LOGIN_FAILURES, LOGIN_WINDOW_SECONDS)
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(t=t, when=functools.partial(_when, zone=profile.zone), REASONS=REASONS, LANGUAGES=LANGUAGES,
                       STATUSES=queue.STATUSES)

    def render(request: Request, template: str, status: int = 200, **context: Any):
        context.setdefault("user", getattr(request.ctx, "user", None))
        context.setdefault("csrf", getattr(request.ctx, "csrf", ""))
        context.setdefault("page", "")
        return response.html(env.get_template(template).render(**context), status=status)

    ctx = Context(render=render, blocking=_blocking, db_url=db_url, t=t, profile=profile,
                  session_cookie=sessions.SESSION_COOKIE)
    _add_middleware(app, ctx)
    for routes in (auth, handoffs, crisis, statistics, accounts, training):
        routes.register(app, ctx)
    _add_error_handlers(app, ctx)
    return app


def _add_middleware(app: Sanic, ctx: Context) -> None:
    """Signs the user in from the session cookie, checks CSRF on POST, and sets the security headers."""
    @app.middleware("request")
    async def require_session(request: Request):
        request.ctx.user = None
        request.ctx.csrf = ""
        route = request.route.name.split(".")[-1] if request.route else None
        if route in auth.PUBLIC_ROUTES or route is None:
            return None
        found = await ctx.blocking(sessions.load_session, request.cookies.get(sessions.SESSION_COOKIE), ctx.db_url)
        if found is None:
            if request.method == "GET" and route not in NO_REDIRECT_ROUTES:
                return response.redirect("/login?expired=1" if request.cookies.get(sessions.SESSION_COOKIE)
                                         else "/login")
            return response.text("sign-in required\n", status=401)
        request.ctx.user, request.ctx.csrf = found
        if request.method == "POST":
            sent = request.form.get("csrf_token", "") if request.form else ""
            if not sent or not secrets.compare_digest(sent, request.ctx.csrf):
                return ctx.render(request, "error.html", status=403, message=ctx.t.csrf_failed)
        return None

    @app.middleware("response")
    async def headers(request: Request, resp):
        for name, value in SECURITY_HEADERS.items():
            resp.headers[name] = value
        resp.headers.setdefault("Cache-Control", "no-store")
        if request.scheme == "https":  # over TLS (also as the proxy reports it): never again without
            resp.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"


def _add_error_handlers(app: Sanic, ctx: Context) -> None:
    """Error pages in the UI language; an unexpected error is logged and shown without details."""
    @app.exception(NotFound)
    async def not_found(request: Request, exception: Exception):
        return ctx.render(request, "error.html", status=404, message=ctx.t.not_found)

    @app.exception(SanicException)
    async def sanic_error(request: Request, exception: SanicException):
        status = getattr(exception, "status_code", 500) or 500
        return ctx.render(request, "error.html", status=status,
                          message=ctx.t.server_error if status >= 500 else str(exception))

    @app.exception(Exception)
    async def any_error(request: Request, exception: Exception):
        app.ctx.last_error = exception
        _log.exception("staff app error")
        return ctx.render(request, "error.html", status=500, message=ctx.t.server_error)


def serve(host: str = "127.0.0.1", port: int = 8080, url: Optional[str] = None) -> None:
    """Runs the staff app (one process) until interrupted."""
    create_app(url).run(host=host, port=port, access_log=False, workers=1)


def main_serve(argv) -> int:
    """``staff serve [--host 127.0.0.1] [--port 8080]``."""
    parser = argparse.ArgumentParser(prog="python -m bot staff serve")
    parser.add_argument("--host", default=get_settings().staff_bind_host)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(list(argv))
    serve(args.host, args.port)
    return 0
