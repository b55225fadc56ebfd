"""Signing in and out of the staff app, and its style sheet (the routes without a session).

``/login`` has its own CSRF token in a short cookie (there is no session yet); failed sign-ins
count towards the limit shared through the database (:mod:`bot.staff.login_limit`).
"""
from __future__ import annotations

import secrets
from pathlib import Path

from sanic import Sanic, response
from sanic.request import Request

from bot.staff import sessions, users
from bot.staff.login_limit import LoginLimiter
from bot.staff.routes.context import Context

STATIC = Path(__file__).resolve().parents[1] / "static"
# The routes the request middleware lets through without a session.
PUBLIC_ROUTES = {"login_form", "login", "static_css"}


def register(app: Sanic, ctx: Context) -> None:
    """Adds ``/static/staff.css``, ``/login`` (GET, POST) and ``/logout`` to ``app``.

    Args:
        app: the staff app; ``app.ctx.limiter`` is its sign-in limit.
        ctx: what the routes share.
    """
    t = ctx.t

    @app.get("/static/staff.css", name="static_css")
    async def static_css(request: Request):
        return response.text((STATIC / "staff.css").read_text(encoding="utf-8"),
                             content_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=3600"})

    @app.get("/login", name="login_form")
    async def login_form(request: Request):
        notice = t.session_expired if request.args.get("expired") else t.signed_out if request.args.get("out") else ""
        return _login_page(ctx, request, notice=notice)

    @app.post("/login", name="login")
    async def login(request: Request):
        return await _login(app, ctx, request)

    @app.post("/logout", name="logout")
    async def logout(request: Request):
        await ctx.blocking(sessions.end_session, request.cookies.get(sessions.SESSION_COOKIE), ctx.db_url)
        await ctx.blocking(users.audit, request.ctx.user["name"], "logout", None, None, ctx.db_url)
        resp = response.redirect("/login?out=1")
        sessions.clear_cookie(resp, sessions.SESSION_COOKIE)
        return resp


def _login_page(ctx: Context, request: Request, status: int = 200, error: str = "", notice: str = "",
                name: str = ""):
    token = secrets.token_urlsafe(32)
    resp = ctx.render(request, "login.html", status=status, error=error, notice=notice, name=name, csrf=token)
    sessions.set_cookie(request, resp, sessions.LOGIN_CSRF_COOKIE, token)
    return resp


async def _login(app: Sanic, ctx: Context, request: Request):
    t, blocking, db_url = ctx.t, ctx.blocking, ctx.db_url
    form = request.form or {}
    sent, expected = form.get("csrf_token", ""), request.cookies.get(sessions.LOGIN_CSRF_COOKIE, "")
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        return _login_page(ctx, request, status=403, error=t.csrf_failed)
    name, password = (form.get("username") or "").strip(), form.get("password") or ""
    ip = request.remote_addr or request.ip or ""
    limiter: LoginLimiter = app.ctx.limiter
    if await blocking(limiter.blocked, name, ip):
        return _login_page(ctx, request, status=429, error=t.rate_limited, name=name)
    user = await blocking(users.authenticate, name, password, db_url)
    if user is None:
        await blocking(limiter.fail, name, ip)
        await blocking(users.audit, name or "-", "login_failed", None, f"ip={ip}", db_url)
        status, error = (429, t.rate_limited) if await blocking(limiter.blocked, name, ip) else (401, t.bad_login)
        return _login_page(ctx, request, status=status, error=error, name=name)
    await blocking(limiter.clear, name, ip)
    token = await blocking(sessions.new_session, user.name, db_url)
    await blocking(users.audit, user.name, "login", None, f"ip={ip}", db_url)
    resp = response.redirect("/")
    sessions.set_cookie(request, resp, sessions.SESSION_COOKIE, token)
    sessions.clear_cookie(resp, sessions.LOGIN_CSRF_COOKIE)
    return resp
