"""The statistics page of the staff app (counts only; the figures come from :mod:`bot.staff.statistics`)."""
from __future__ import annotations

from sanic import Sanic
from sanic.request import Request

from bot.core import clock
from bot.staff import charts, statistics
from bot.staff.routes.context import Context


def register(app: Sanic, ctx: Context) -> None:
    """Adds ``/statistics`` (``?days=`` one of the offered periods) to ``app``.

    Args:
        app: the staff app (its request middleware signs users in).
        ctx: what the routes share.
    """
    @app.get("/statistics", name="statistics")
    async def statistics_page(request: Request):
        profile = ctx.profile
        days = statistics.period_days(request.args.get("days"))
        figures = await ctx.blocking(statistics.compute, profile, clock.now(), days or statistics.DEFAULT_DAYS,
                                     ctx.db_url)
        return ctx.render(request, "statistics.html", page="statistics", s=figures, invalid_period=days is None,
                          zone=profile.timezone, top=statistics.TOP, PERIODS=statistics.PERIODS, charts=charts,
                          percent=statistics.percent, decimal=statistics.decimal)
