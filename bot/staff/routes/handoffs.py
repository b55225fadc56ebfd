"""The handoff queue in the staff app: the list, its CSV export, a conversation and the actions on it.

Every view of a transcript, every reveal of personal data and every action is written to the
audit log. Internal notes go into the conversation's archive (``Kind.STAFF_NOTE``), never to
the citizen.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Callable, Dict, Optional

from sanic import Sanic, response
from sanic.exceptions import NotFound
from sanic.request import Request
from sqlalchemy import select

from bot.archive.models import ArchiveRecord, Kind
from bot.archive.records import append_record
from bot.core import clock
from bot.handoff import queue
from bot.handoff.queue import HandoffError
from bot.staff import users
from bot.staff.routes.context import Context, csv_cell, is_admin
from bot.staff.texts import LANGUAGES, REASONS, Words
from bot.storage.db import session_scope

CSV_COLUMNS = ("id", "reason", "language", "channel", "status", "created_at", "due_at", "deadline", "claimed_by")


def _age(created_at: str, now: datetime, t: Words) -> str:
    delta = now - datetime.fromisoformat(created_at)
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} {t.minutes_short}"
    if minutes < 48 * 60:
        return f"{minutes // 60} {t.hours_short}"
    return f"{minutes // (24 * 60)} {t.days_short}"


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


def _unmasked_texts(conversation_id: str, db_url: str) -> Dict[int, Optional[str]]:
    with session_scope(db_url) as session:
        return {r.seq: r.text for r in session.execute(
            select(ArchiveRecord).where(ArchiveRecord.conversation_id == conversation_id)).scalars()}


def add_note(handoff_id: int, by: str, text: str, t: Words, db_url: str) -> None:
    """Archives an internal note of ``by`` on the handoff's conversation (never sent to the citizen).

    Args:
        handoff_id: the handoff the note is about.
        by: the staff user's name.
        text: the note.
        t: the staff words (for the refusal of an empty note).
        db_url: the archive database.

    Raises:
        HandoffError: the note is empty, or the handoff does not exist.
    """
    text = (text or "").strip()
    if not text:
        raise HandoffError(t.note_empty)
    view = queue.show_handoff(handoff_id, db_url)
    with session_scope(db_url) as session:
        append_record(session, view["conversation_id"], Kind.STAFF_NOTE, clock.now(), channel="staff",
                      sender_id=by, text=text, language=view["language"], data={"handoff_id": handoff_id})


def _audited(ctx: Context, action: str, handoff_id: int, fn: Callable[[], Any], user: str) -> Callable[[], Any]:
    """``fn`` followed by its entry in the audit log (only when it succeeded)."""
    def run():
        result = fn()
        conversation_id = queue.show_handoff(handoff_id, ctx.db_url)["conversation_id"]
        users.audit(user, action, conversation_id, f"handoff={handoff_id}", ctx.db_url)
        return result
    return run


async def _conversation_page(ctx: Context, request: Request, handoff_id: int, *, reveal: bool = False,
                             error: str = "", notice: str = "", status: int = 200):
    try:
        view = await ctx.blocking(queue.show_handoff, handoff_id, ctx.db_url)
    except HandoffError:
        raise NotFound(ctx.t.not_found)
    user = request.ctx.user
    if reveal:
        texts = await ctx.blocking(_unmasked_texts, view["conversation_id"], ctx.db_url)
        for item in view["transcript"]:
            item["text"] = texts.get(item["seq"], item["text"])
    await ctx.blocking(users.audit, user["name"], "reveal" if reveal else "view_transcript",
                       view["conversation_id"], f"handoff={handoff_id}", ctx.db_url)
    return ctx.render(request, "conversation.html", status=status, h=view, revealed=reveal, error=error,
                      notice=notice)


async def _act(ctx: Context, request: Request, handoff_id: int, action: str, fn: Callable[[], Any]):
    """Runs one audited action; back to the conversation, with the queue's refusal as a 409."""
    by = request.ctx.user["name"]
    try:
        await ctx.blocking(_audited(ctx, action, handoff_id, fn, by))
    except HandoffError as exc:
        return await _conversation_page(ctx, request, handoff_id, error=ctx.problem(exc), status=409)
    return response.redirect(f"/handoffs/{handoff_id}?done={action}")


def register(app: Sanic, ctx: Context) -> None:
    """Adds the handoff list (``/``), ``/handoffs.csv`` and ``/handoffs/<id>`` with its actions to ``app``.

    Args:
        app: the staff app (its request middleware signs users in and checks CSRF on POST).
        ctx: what the routes share.
    """
    _register_list(app, ctx)
    _register_conversation(app, ctx)


def _register_list(app: Sanic, ctx: Context) -> None:
    @app.get("/", name="handoff_list")
    async def handoff_list(request: Request):
        filters = _filters(request)
        try:
            views = await ctx.blocking(filtered_handoffs, filters, ctx.db_url)
            error = ""
        except HandoffError as exc:
            views, error = [], ctx.problem(exc)
        now = clock.now()
        rows = [dict(v.as_dict(), age=_age(v.created_at, now, ctx.t)) for v in views]
        query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
        return ctx.render(request, "list.html", rows=rows, filters=filters, error=error, query=query,
                          page="handoffs")

    @app.get("/handoffs.csv", name="export_csv")
    async def export_csv(request: Request):
        filters = _filters(request)
        views = await ctx.blocking(filtered_handoffs, filters, ctx.db_url)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for view in views:
            data = view.as_dict()
            writer.writerow([csv_cell(data[c]) for c in CSV_COLUMNS])
        await ctx.blocking(users.audit, request.ctx.user["name"], "export_csv", None,
                           f"filters={filters}; rows={len(views)}", ctx.db_url)
        return response.text(out.getvalue(), content_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="handoffs.csv"'})


def _register_conversation(app: Sanic, ctx: Context) -> None:
    db_url = ctx.db_url

    @app.get("/handoffs/<handoff_id:int>", name="conversation")
    async def conversation(request: Request, handoff_id: int):
        return await _conversation_page(ctx, request, handoff_id, notice=ctx.t.done if request.args.get("done") else "")

    @app.post("/handoffs/<handoff_id:int>/reveal", name="reveal")
    async def reveal(request: Request, handoff_id: int):
        if not is_admin(request):
            return ctx.forbidden(request)
        return await _conversation_page(ctx, request, handoff_id, reveal=True)

    @app.post("/handoffs/<handoff_id:int>/claim", name="claim")
    async def claim(request: Request, handoff_id: int):
        by = request.ctx.user["name"]
        return await _act(ctx, request, handoff_id, "claim", lambda: queue.claim(handoff_id, by, url=db_url))

    @app.post("/handoffs/<handoff_id:int>/reply", name="reply")
    async def reply(request: Request, handoff_id: int):
        by, text = request.ctx.user["name"], request.form.get("text", "")
        return await _act(ctx, request, handoff_id, "reply", lambda: queue.reply(handoff_id, by, text, url=db_url))

    @app.post("/handoffs/<handoff_id:int>/close", name="close")
    async def close(request: Request, handoff_id: int):
        by = request.ctx.user["name"]
        return await _act(ctx, request, handoff_id, "close", lambda: queue.close(handoff_id, by, url=db_url))

    @app.post("/handoffs/<handoff_id:int>/note", name="note")
    async def note(request: Request, handoff_id: int):
        by, text = request.ctx.user["name"], request.form.get("text", "")
        return await _act(ctx, request, handoff_id, "note", lambda: add_note(handoff_id, by, text, ctx.t, db_url))
