"""What the staff app's route modules share: the :class:`Context` the app builds, and small helpers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from sanic.request import Request

from bot.handoff.queue import HandoffError
from bot.staff.texts import Words


@dataclass
class Context:
    """What the route modules need from the app that registers them.

    Attributes:
        render: ``render(request, template, status=200, **context)``: a page of the app.
        blocking: ``await blocking(fn, *args, **kwargs)`` runs blocking work off the event loop.
        db_url: the archive database.
        t: the staff words in the UI language.
        profile: the municipality's profile (its id, languages, time zone ...).
        session_cookie: the name of the session cookie.
    """

    render: Callable[..., Any]
    blocking: Callable[..., Awaitable[Any]]
    db_url: str
    t: Words
    profile: Any
    session_cookie: str

    @property
    def zone(self):
        """The municipality's time zone: staff read local time."""
        return self.profile.zone

    def forbidden(self, request: Request):
        """The 403 page for a signed-in user without the admin role."""
        return self.render(request, "error.html", status=403, message=self.t.forbidden)

    def problem(self, exc: HandoffError) -> str:
        """The queue's error in the UI language (its English message when no text is known)."""
        key = f"handoff_error.{exc.code}"
        if self.t(key) == key:
            return str(exc)
        params = {k: self.t(f"status.{v}") if k in ("current", "to") else v for k, v in exc.params.items()}
        return self.t(key).format(**params)


def is_admin(request: Request) -> bool:
    """Whether the signed-in user has the admin role."""
    user = getattr(request.ctx, "user", None)
    return bool(user) and user["role"] == "admin"


def is_trainer(request: Request) -> bool:
    """Whether the signed-in user may use the trainer studio (trainers and admins)."""
    user = getattr(request.ctx, "user", None)
    return bool(user) and user["role"] in ("trainer", "admin")


def csv_cell(value: Any) -> str:
    """A CSV cell that spreadsheets will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
