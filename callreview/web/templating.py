"""The Jinja2 environment: templates folder, filters for times and highlights, and the `render` helper."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from callreview.core.doubts import describe_doubt
from callreview.core.mentions import KINDS, QUALIFIERS
from callreview.core.policy import REASON_TEXT, REASONS, VERDICTS
from callreview.core.vocabulary import Disposition
from callreview.storage.dates import as_utc, parse_instant
from callreview.storage.search import MARK_END, MARK_START
from callreview.web.settings import WebSettings
from callreview.web.transcript_view import QUALIFIER_TEXT, tag_label

TEMPLATE_DIR = Path(__file__).parent / "templates"

# Fixed messages shown after a redirect (`?msg=`): the query string picks one, it never supplies text.
MESSAGES = {
    "corrected": "Correction saved as a new transcript version (the earlier ones are kept); the call was assessed "
                 "again under the rules in force.",
    "claimed": "You claimed this item. Colleagues see it as yours until you dispose of it or release it.",
    "released": "You released this item; it is back in the queue.",
    "disposed": "Disposition recorded; the item is closed.",
    "finding_recorded": "Your finding is recorded. This item needs a second reviewer's finding, given without "
                        "seeing yours; it is back in the queue for them.",
    "sent_to_adjudication": "Your finding differs from the first reviewer's: the item now waits for a lead to "
                            "adjudicate.",
    "adjudicated": "Adjudication recorded; the item is closed.",
    "signed_out": "You are signed out.",
    "user_added": "User created.",
    "user_updated": "User updated.",
    "claim_released": "Claim released; the item is back in the queue.",
}


def _clock(seconds: float | None) -> str:
    """12.3 s -> `0:12.3`; 75 s -> `1:15.0`."""
    if seconds is None:
        return ""
    minutes, rest = divmod(max(seconds, 0.0), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def _highlight(snippet: str) -> Markup:
    """Escape a search snippet, then turn its match markers into <mark> elements."""
    return Markup(str(escape(snippet)).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


def make_templates(web: WebSettings) -> Jinja2Templates:
    """Templates with the filters and globals every page uses (autoescaping is on for .html)."""
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
    zone = web.zone

    def local_time(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            value = parse_instant(value)
        return as_utc(value).astimezone(zone).strftime(fmt)

    env = templates.env
    env.filters.update(local_time=local_time, clock=_clock, highlight=_highlight, tag_label=tag_label,
                       doubt_text=describe_doubt)
    env.globals.update(REASON_TEXT=REASON_TEXT, REASONS=REASONS, VERDICTS=VERDICTS, KINDS=KINDS,
                       QUALIFIERS=QUALIFIERS, QUALIFIER_TEXT=QUALIFIER_TEXT, DISPOSITIONS=tuple(Disposition),
                       TIMEZONE=web.timezone)
    return templates


def render(request: Request, name: str, context: dict | None = None, status_code: int = 200):
    """Render a page with the signed-in principal, its CSRF token and any `?msg=` message."""
    principal = getattr(request.state, "principal", None)
    base = {"principal": principal, "csrf_token": principal.csrf_token if principal else "",
            "message": MESSAGES.get(request.query_params.get("msg", ""))}
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status_code)
