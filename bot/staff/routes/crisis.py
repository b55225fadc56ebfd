"""The crisis message (driftsmelding) page of the staff app.

Every signed-in user sees the message, its preview in each language and the history; only
admins publish or end it, because it reaches every citizen who greets the assistant.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Dict, Optional

from sanic import Sanic, response
from sanic.request import Request

from bot.core import clock
from bot.dialogue import crisis
from bot.core.responses import response_text
from bot.municipality import format_moment
from bot.staff import users
from bot.staff.routes.context import Context, is_admin
from bot.storage.db import session_scope


def _crisis_state(ctx: Context):
    """Now, the active message (or None), the history and the active message's greeting per language."""
    profile, now = ctx.profile, clock.now()
    with session_scope(ctx.db_url) as session:
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


async def _crisis_page(ctx: Context, request: Request, *, errors: Optional[Dict[str, str]] = None,
                       form: Optional[Dict[str, str]] = None, notice: str = "", status: int = 200):
    profile = ctx.profile
    now, active, rows, previews = await ctx.blocking(_crisis_state, ctx)
    if form is None:
        default_end = (now.astimezone(profile.zone) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        form = {"end_date": default_end.date().isoformat(), "end_time": default_end.strftime("%H:%M")}
    return ctx.render(request, "crisis.html", status=status, page="crisis", active=active, rows=rows,
                      previews=previews, languages=profile.languages, errors=errors or {}, form=form,
                      notice=notice, when_local=lambda at: at.astimezone(profile.zone).strftime("%Y-%m-%d %H:%M"),
                      max_length=crisis.MAX_TEXT_LENGTH, can_publish=is_admin(request))


def _parse_end(form, zone) -> Optional[datetime]:
    """The form's end date and time in the municipality's zone; None when either does not parse."""
    try:
        day = datetime.strptime((form.get("end_date") or "").strip(), "%Y-%m-%d").date()
        at = datetime.strptime((form.get("end_time") or "").strip(), "%H:%M").time()
    except ValueError:
        return None
    return datetime.combine(day, at, tzinfo=zone)


def _publish(ctx: Context, texts: Dict[str, str], form: Dict[str, str], by: str) -> None:
    profile = ctx.profile
    with session_scope(ctx.db_url) as session:
        published = crisis.publish(session, profile.id, texts, _parse_end(form, profile.zone),
                                   list(profile.languages), by, clock.now())
    users.audit(by, "crisis_publish", None, f"crisis={published.id}; ends={published.ends_at.isoformat()}",
                ctx.db_url)


def _end(ctx: Context, by: str) -> None:
    with session_scope(ctx.db_url) as session:
        ended = crisis.end_now(session, ctx.profile.id, by, clock.now())
    if ended is not None:
        users.audit(by, "crisis_end", None, f"crisis={ended.id}", ctx.db_url)


def register(app: Sanic, ctx: Context) -> None:
    """Adds ``/crisis`` (GET: the page; POST: publish) and ``/crisis/end`` to ``app``.

    Args:
        app: the staff app (its request middleware signs users in and checks CSRF on POST).
        ctx: what the routes share.
    """
    @app.get("/crisis", name="crisis")
    async def crisis_view(request: Request):
        return await _crisis_page(ctx, request, notice=ctx.t.crisis_done if request.args.get("done") else "")

    @app.post("/crisis", name="crisis_publish")
    async def crisis_publish(request: Request):
        # The message reaches every citizen who greets the bot: only admins publish it.
        if not is_admin(request):
            return ctx.forbidden(request)
        languages = ctx.profile.languages
        form = {k: request.form.get(k, "") for k in ("end_date", "end_time", *languages)}
        texts = {lang: form[lang] for lang in languages}
        try:
            await ctx.blocking(_publish, ctx, texts, form, request.ctx.user["name"])
        except crisis.CrisisError as exc:
            return await _crisis_page(ctx, request, errors=exc.problems, form=form, status=400)
        return response.redirect("/crisis?done=1")

    @app.post("/crisis/end", name="crisis_end")
    async def crisis_end(request: Request):
        if not is_admin(request):
            return ctx.forbidden(request)
        await ctx.blocking(_end, ctx, request.ctx.user["name"])
        return response.redirect("/crisis?done=1")
