"""Template helpers of the portal: relative times, durations, status badges."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst

from governance.choices import ApprovalMode

register = template.Library()

MINUTE, HOUR, DAY = 60, 3600, 86400


def humanize_seconds(seconds, *, precise=False):
    """'45 s', '23 min', '5 h', '1 h 30 min', '3 days'. `precise` adds the minutes under 10 h."""
    seconds = int(round(abs(seconds)))
    if seconds < MINUTE:
        return f"{seconds} s"
    # Whole minutes, to the nearest: a grant of 1 h shown a second later still "ends in 1 h".
    seconds = int(round(seconds / MINUTE)) * MINUTE
    if seconds < HOUR:
        return f"{seconds // MINUTE} min"
    if seconds < 2 * DAY:
        hours, minutes = divmod(seconds // MINUTE, 60)
        if precise and minutes and hours < 10:
            return f"{hours} h {minutes} min"
        return f"{hours} h"
    days = seconds // DAY
    return f"{days} days"


def relative_phrase(value, now=None):
    """'in 23 min', '5 h ago', 'just now' — relative to `now`."""
    now = now or timezone.now()
    delta = (value - now).total_seconds()
    if abs(delta) < 45:
        return "just now"
    text = humanize_seconds(delta)
    return f"in {text}" if delta > 0 else f"{text} ago"


def absolute(value):
    local = timezone.localtime(value)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M %Z}"


@register.simple_tag
def reltime(value, prefix=""):
    """A <time> element: the relative phrase shown, the absolute time on hover and for machines."""
    if not isinstance(value, datetime):
        return "—"
    phrase = relative_phrase(value)
    if prefix:
        phrase = f"{prefix} {phrase}"
    return format_html(
        '<time datetime="{}" title="{}" data-relative>{}</time>', value.isoformat(), absolute(value), phrase
    )


@register.filter
def duration(seconds):
    """Seconds as a short human duration: 7200 → '2 h'."""
    if seconds in (None, ""):
        return "—"
    return humanize_seconds(int(seconds), precise=True)


@register.filter
def waited(value):
    """How long ago `value` was, without the 'ago': '3 h'."""
    if not isinstance(value, datetime):
        return "—"
    return humanize_seconds((timezone.now() - value).total_seconds())


@register.filter
def approval_mode(value):
    """'two_person' → 'Two-person approval'."""
    try:
        return ApprovalMode(value).label
    except ValueError:
        return value or "—"


# Tone of a badge by status value. The badge always shows its text, so colour only adds.
TONES = {
    "active": "ok",
    "approved": "ok",
    "approve": "ok",
    "certified": "ok",
    "auto_approve": "ok",
    "pending": "warn",
    "needs_approval": "warn",
    "draft": "muted",
    "expired": "muted",
    "cancelled": "muted",
    "timed_out": "muted",
    "retired": "muted",
    "suspended": "bad",
    "revoked": "bad",
    "denied": "bad",
    "deny": "bad",
    "low": "muted",
    "medium": "info",
    "high": "warn",
    "critical": "bad",
    "read": "muted",
    "write": "warn",
    "admin": "bad",
    "overdue": "bad",
    "due_soon": "warn",
    "in_grace": "bad",
    "on_track": "ok",
    "not_scheduled": "muted",
    "open": "info",
    "completed": "ok",
    "lapsed": "muted",
}


@register.simple_tag
def badge(value, label=None):
    """A status badge: its text always says the state; the tone is a second signal."""
    key = str(value or "")
    return format_html(
        '<span class="badge badge-{}">{}</span>', TONES.get(key, "muted"), capfirst(label or key.replace("_", " "))
    )


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters changed (for pagination and filters)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def dict_get(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
