"""The trainer studio in the staff app (first part): the inbox of harvested messages, and the
"the bot misunderstood this" button of the conversation page.

``/training`` is for trainers and admins (others get 403); marking a message is for all staff.
Every decision and mark is written to the audit log; decisions also to the studio's change log.
"""
from __future__ import annotations

from typing import Dict
from urllib.parse import urlencode

from sanic import Sanic, response
from sanic.request import Request

from bot.staff import users
from bot.staff.routes.context import Context, is_trainer
from bot.staff.texts import LANGUAGES
from bot.training import inbox, store


def _filters(args) -> Dict[str, str]:
    language, reason = args.get("language", ""), args.get("reason", "")
    return {"language": language if language in LANGUAGES else "",
            "reason": reason if reason in inbox.REASONS else "",
            "decided": "1" if args.get("decided") == "1" else ""}


def _back(filters: Dict[str, str], **status: str):
    query = urlencode({k: v for k, v in dict(filters, **status).items() if v})
    return response.redirect("/training" + (f"?{query}" if query else ""))


def _problem(ctx: Context, exc: store.TrainingError) -> str:
    return ctx.t(f"training_error.{exc.code}").format(**exc.params)


def _decide_all(ctx: Context, by: str, form, record_ids, intents) -> str:
    """Decides every record of ``record_ids`` alike; the first refusal's words, or ``""``."""
    for record_id in record_ids:
        try:
            made = store.decide(record_id, form.get("decision", ""), by, intent=form.get("intent") or None,
                                expected_version=int(form.get(f"version_{record_id}", "0") or 0),
                                intents=intents, url=ctx.db_url)
        except store.TrainingError as exc:
            return _problem(ctx, exc)
        users.audit(by, "training_decision", None,
                    f"record={record_id}; decision={made.decision}; intent={made.intent or ''}", ctx.db_url)
    return ""


def register(app: Sanic, ctx: Context) -> None:
    """Adds ``/training`` (the inbox), its decisions and ``/handoffs/<id>/misunderstood`` to ``app``.

    Args:
        app: the staff app (its request middleware signs users in and checks CSRF on POST).
        ctx: what the routes share.
    """
    @app.get("/training", name="training_inbox")
    async def training_inbox(request: Request):
        if not is_trainer(request):
            return ctx.forbidden(request)
        filters = _filters(request.args)
        rows = await ctx.blocking(inbox.entries, ctx.db_url, language=filters["language"],
                                  reason=filters["reason"], decided=bool(filters["decided"]))
        error = request.args.get("error", "")
        notice = ctx.t.training_done if request.args.get("done") else ""
        return ctx.render(request, "training.html", rows=rows, filters=filters, intents=inbox.domain_intents(),
                          reasons=list(inbox.REASONS), error=error, notice=notice, page="training")

    @app.post("/training/decide", name="training_decide")
    async def training_decide(request: Request):
        if not is_trainer(request):
            return ctx.forbidden(request)
        form = request.form
        filters = _filters(form)
        try:
            record_ids = [int(v) for v in form.getlist("record_id", [])]
        except ValueError:
            record_ids = []
        if not record_ids:
            return _back(filters, error=ctx.t.training_none_checked)
        error = await ctx.blocking(_decide_all, ctx, request.ctx.user["name"], form, record_ids,
                                   inbox.domain_intents())
        return _back(filters, error=error) if error else _back(filters, done="1")

    @app.post("/handoffs/<handoff_id:int>/misunderstood", name="misunderstood")
    async def misunderstood(request: Request, handoff_id: int):
        by = request.ctx.user["name"]
        try:
            record_id = int(request.form.get("record_id", ""))
            conversation = await ctx.blocking(store.mark_misunderstood, handoff_id, record_id, by,
                                              ctx.t.misunderstood_note, ctx.db_url)
        except (ValueError, store.TrainingError):
            return ctx.render(request, "error.html", status=404, message=ctx.t.not_found)
        await ctx.blocking(users.audit, by, "mark_misunderstood", conversation,
                           f"handoff={handoff_id}; record={record_id}", ctx.db_url)
        return response.redirect(f"/handoffs/{handoff_id}?done=misunderstood")
