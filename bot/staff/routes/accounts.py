"""Account pages of the staff app: one's own password, user management and the audit log.

``register(app, ctx)`` adds the routes to the app that :func:`bot.staff.app.create_app` builds:

- ``/account`` (every signed-in user): change one's own password; the other sessions end.
- ``/admin/users`` (admins): the users, with disable / enable, sign out all sessions and a new
  password for each; every change is audited with the admin as user and the target in ``detail``.
- ``/admin/audit`` and ``/admin/audit.csv`` (admins): the audit log, newest first, filtered by
  user and action; the export is audited too.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Dict, Optional
from urllib.parse import urlencode

from sanic import Sanic, response
from sanic.request import Request

from bot.storage.base import utc
from bot.staff import users
from bot.staff.routes.context import Context, csv_cell, is_admin
from bot.staff.users import StaffUserError

AUDIT_CSV_COLUMNS = ("time", "user", "action", "conversation_id", "detail")
# What an admin's action on a user is called in the audit log and in ``?done=``.
USER_ACTIONS = {"disable": "user_disable", "enable": "user_enable", "end-sessions": "user_end_sessions",
                "password": "user_set_password"}
ERROR_STATUS = {"unknown_user": 404, "self": 409, "last_admin": 409}


def _refusal(ctx: Context, error: StaffUserError) -> str:
    """A refused change in the UI language."""
    text = ctx.t(f"account_error.{error.code}")
    if text == f"account_error.{error.code}":
        text = ctx.t("account_error.invalid")
    return text.format(n=users.MIN_PASSWORD_LENGTH)


def register(app: Sanic, ctx: Context) -> None:
    """Adds the account, user and audit routes to ``app``.

    Args:
        app: the staff app (its request middleware signs users in and checks CSRF on POST).
        ctx: what the routes share (``ctx.session_cookie`` keeps one's own session; the CSV's
            times are in ``ctx.zone``).
    """
    _register_account(app, ctx)
    _register_users(app, ctx)
    _register_audit(app, ctx)


# ---- one's own account ---------------------------------------------------------------------

def _register_account(app: Sanic, ctx: Context) -> None:
    def page(request: Request, status: int = 200, error: str = "", notice: str = ""):
        return ctx.render(request, "account.html", status=status, page="account", error=error, notice=notice,
                          min_length=users.MIN_PASSWORD_LENGTH)

    @app.get("/account", name="account")
    async def account(request: Request):
        return page(request, notice=ctx.t.password_changed if request.args.get("done") else "")

    @app.post("/account/password", name="account_password")
    async def account_password(request: Request):
        name, form = request.ctx.user["name"], request.form
        new = form.get("new_password", "")
        # Someone holding a stolen session could guess the current password here: the sign-in
        # limit counts these failures too (same name and address), and a refusal is logged.
        limiter, ip = app.ctx.limiter, request.remote_addr or request.ip or ""
        if await ctx.blocking(limiter.blocked, name, ip):
            return page(request, status=429, error=ctx.t("account_error.rate_limited"))
        try:
            if new != form.get("new_password_repeat", ""):
                raise StaffUserError("the new passwords differ", "mismatch")
            ended = await ctx.blocking(users.change_password, name, form.get("current_password", ""), new,
                                       request.cookies.get(ctx.session_cookie), ctx.db_url)
        except StaffUserError as error:
            if error.code == "wrong_password":
                await ctx.blocking(limiter.fail, name, ip)
            await ctx.blocking(users.audit, name, "password_change_refused", None, f"reason={error.code}", ctx.db_url)
            return page(request, status=400, error=_refusal(ctx, error))
        await ctx.blocking(users.audit, name, "password_change", None, f"other_sessions_ended={ended}", ctx.db_url)
        return response.redirect("/account?done=1")


# ---- user management (admins) --------------------------------------------------------------

def _change_user(ctx: Context, action: str, name: str, by: str, keep_token: Optional[str], form) -> Optional[int]:
    """Runs one admin action on ``name``; returns the number of sessions ended (None: not applicable)."""
    if action == "disable":
        return users.disable_user(name, by=by, url=ctx.db_url)
    if action == "enable":
        users.enable_user(name, url=ctx.db_url)
        return None
    if action == "end-sessions":
        # The admin's own current session stays, so that signing out "everywhere else" is possible.
        return users.end_sessions(name, keep_token=keep_token, url=ctx.db_url)
    new = form.get("new_password", "")
    if new != form.get("new_password_repeat", ""):
        raise StaffUserError("the new passwords differ", "mismatch")
    return users.set_password(name, new, keep_token=keep_token, url=ctx.db_url)


def _register_users(app: Sanic, ctx: Context) -> None:
    async def page(request: Request, status: int = 200, error: str = "", notice: str = ""):
        rows = await ctx.blocking(users.list_users, ctx.db_url)
        return ctx.render(request, "users.html", status=status, page="users", rows=rows, error=error,
                          notice=notice, min_length=users.MIN_PASSWORD_LENGTH)

    @app.get("/admin/users", name="admin_users")
    async def admin_users(request: Request):
        if not is_admin(request):
            return ctx.forbidden(request)
        done = request.args.get("done", "")
        return await page(request, notice=ctx.t(f"users_done.{done}") if done in USER_ACTIONS else "")

    @app.post("/admin/users/<action:disable|enable|end-sessions|password>", name="admin_user_action")
    async def admin_user_action(request: Request, action: str):
        if not is_admin(request):
            return ctx.forbidden(request)
        by, name = request.ctx.user["name"], (request.form.get("name") or "").strip()
        try:
            ended = await ctx.blocking(_change_user, ctx, action, name, by,
                                       request.cookies.get(ctx.session_cookie), request.form)
        except StaffUserError as error:
            return await page(request, status=ERROR_STATUS.get(error.code, 400), error=_refusal(ctx, error))
        detail = f"user={name}" + (f"; sessions_ended={ended}" if ended is not None else "")
        await ctx.blocking(users.audit, by, USER_ACTIONS[action], None, detail, ctx.db_url)
        return response.redirect(f"/admin/users?done={action}")


# ---- the audit log (admins) ----------------------------------------------------------------

def _audit_filters(request: Request) -> Dict[str, str]:
    # Exact matches only; the lengths are those of the columns.
    return {"user": (request.args.get("user") or "").strip()[:255],
            "action": (request.args.get("action") or "").strip()[:32]}


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _audit_view(ctx: Context, filters: Dict[str, str], number: int) -> Dict[str, Any]:
    size = users.AUDIT_PAGE_SIZE
    rows, total = users.audit_page(filters["user"], filters["action"], number, size, ctx.db_url)
    pages = max(1, -(-total // size))
    if number > pages:  # past the end (the log shrank, or a hand-made link): show the last page
        number = pages
        rows, total = users.audit_page(filters["user"], filters["action"], number, size, ctx.db_url)
    query = {k: v for k, v in filters.items() if v}
    return {"rows": [dict(at=utc(r.at).isoformat(), user=r.user, action=r.action,
                          conversation_id=r.conversation_id, detail=r.detail) for r in rows],
            "total": total, "number": number, "pages": pages, "actions": users.audit_actions(ctx.db_url),
            "query": urlencode(query),
            "newer": urlencode(dict(query, page=number - 1)) if number > 1 else "",
            "older": urlencode(dict(query, page=number + 1)) if number < pages else ""}


def _audit_csv(ctx: Context, filters: Dict[str, str]) -> tuple:
    rows = users.audit_rows(filters["user"], filters["action"], ctx.db_url)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_CSV_COLUMNS)
    for r in rows:
        # Local time with its offset: what staff read on the page, and unambiguous in a spreadsheet.
        at = utc(r.at).astimezone(ctx.zone).isoformat(timespec="seconds")
        writer.writerow([csv_cell(v) for v in (at, r.user, r.action, r.conversation_id, r.detail)])
    return out.getvalue(), len(rows)


def _register_audit(app: Sanic, ctx: Context) -> None:
    def action_label(action: str) -> str:
        label = ctx.t(f"audit_action.{action}")
        return action if label == f"audit_action.{action}" else label

    @app.get("/admin/audit", name="admin_audit")
    async def admin_audit(request: Request):
        if not is_admin(request):
            return ctx.forbidden(request)
        filters = _audit_filters(request)
        view = await ctx.blocking(_audit_view, ctx, filters, _page_number(request))
        return ctx.render(request, "audit.html", page="audit", filters=filters, action_label=action_label,
                          zone=getattr(ctx.zone, "key", str(ctx.zone)), **view)

    @app.get("/admin/audit.csv", name="audit_csv")
    async def audit_csv(request: Request):
        if not is_admin(request):
            return ctx.forbidden(request)
        filters = _audit_filters(request)
        text, count = await ctx.blocking(_audit_csv, ctx, filters)
        await ctx.blocking(users.audit, request.ctx.user["name"], "export_audit", None,
                           f"filters={filters}; rows={count}", ctx.db_url)
        return response.text(text, content_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})
