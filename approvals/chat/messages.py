"""What Mandate says in chat: Block Kit messages and the deny modal for Slack, Adaptive
Cards for Microsoft Teams. Pure functions of plain data; nothing here talks to anyone.

Slack limits (https://docs.slack.dev/reference/block-kit/blocks): a section's text up to
3000 characters, up to 10 fields of 2000 each, a button's text 75, its value 2000, a
message up to 50 blocks; longer text is cut here, never refused there.
"""

from approvals.choices import Decision, RequestState
from approvals.tickets.content import humanize_seconds

APPROVE, DENY, DENY_MODAL = "mandate_approve", "mandate_deny", "mandate_deny_reason"
REASON_BLOCK, REASON_INPUT = "reason", "reason_input"
OUTCOME_ICONS = {
    RequestState.APPROVED: ":white_check_mark:",
    RequestState.DENIED: ":no_entry:",
    RequestState.CANCELLED: ":heavy_minus_sign:",
    RequestState.TIMED_OUT: ":hourglass:",
}
CHANNEL_NAMES = {"browser": "the portal", "ticket": "the ticket", "api": "the API", "chat": "Slack"}


def _cut(text, limit):
    text = str(text or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text):
    # Slack's mrkdwn treats &, < and > as control characters (links, mentions).
    return str(text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _field(label, value):
    return {"type": "mrkdwn", "text": _cut(f"*{label}*\n{_escape(value) or '—'}", 2000)}


def request_facts(content):
    """[(label, value)] of a request: who, what, why, how long, under which rules."""
    who = content.subject + (f" for {content.on_behalf_of}" if content.on_behalf_of else "")
    return [
        ("Who", who),
        ("What", f"{content.entitlement} ({content.access_level})"),
        ("Workflow", content.workflow),
        ("For how long", humanize_seconds(content.duration_seconds)),
        ("Task", content.task_ref),
        ("Approvers", ", ".join(content.approvers)),
    ]


def decision_lines(decisions):
    """One line per decision taken so far: who, what, where."""
    lines = []
    for d in decisions:
        verb = "approved" if d["decision"] == Decision.APPROVE else "denied"
        where = CHANNEL_NAMES.get(d["channel"], d["channel"])
        comment = f": “{_cut(d['comment'], 300)}”" if d.get("comment") else ""
        lines.append(f"{_escape(d['approver'])} {verb} in {where}{_escape(comment)}")
    return lines


def request_message(content, *, state, state_label, required, decisions, ticket_url=""):
    """(fallback text, blocks) of a request's message; with buttons while it is pending."""
    title = f"Access request #{content.request_id}: {content.entitlement} for {content.subject}"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, 150), "emoji": True}},
        {"type": "section", "fields": [_field(label, value) for label, value in request_facts(content)]},
    ]
    if content.justification:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _cut(f"*Why*\n{_escape(content.justification)}", 3000)},
            }
        )
    if content.reasons:
        reasons = "\n".join(f"• {_escape(r)}" for r in content.reasons)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"*Policy*\n{reasons}", 3000)}})
    links = [f"<{content.request_url}|Open in Mandate>"] + ([f"<{ticket_url}|Ticket>"] if ticket_url else [])
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]})
    lines = decision_lines(decisions)
    approvals = sum(1 for d in decisions if d["decision"] == Decision.APPROVE)
    if state == RequestState.PENDING:
        status = f"Waiting for approval: {approvals} of {required}"
        if lines:
            status += "\n" + "\n".join(lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(status, 3000)}})
        value = str(content.request_id)
        blocks.append(
            {
                "type": "actions",
                "block_id": f"decide-{content.request_id}",
                "elements": [
                    {"type": "button", "action_id": APPROVE, "style": "primary", "value": value,
                     "text": {"type": "plain_text", "text": "Approve"}},
                    {"type": "button", "action_id": DENY, "style": "danger", "value": value,
                     "text": {"type": "plain_text", "text": "Deny"}},
                ],
            }
        )  # fmt: skip
        text = f"{title} is waiting for approval."
    else:
        outcome = f"{OUTCOME_ICONS.get(state, '')} *{state_label}*".strip()
        if lines:
            outcome += "\n" + "\n".join(lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(outcome, 3000)}})
        text = f"{title}: {state_label.lower()}."
    return text, blocks


def deny_modal(*, request_id, title, metadata):
    """The modal that asks for the reason of a denial (`views.open`)."""
    return {
        "type": "modal",
        "callback_id": DENY_MODAL,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Deny access"},
        "submit": {"type": "plain_text", "text": "Deny"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(_escape(title), 3000)}},
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Reason (the requester sees it)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "multiline": True,
                    "min_length": 3,
                    "max_length": 1000,
                },
            },
        ],
    }


def digest_message(name, sections):
    """(text, blocks) of one person's daily notices; `sections` is [(heading, [(label, url)])]."""
    count = sum(len(items) for _heading, items in sections)
    text = f"Mandate: {count} thing{'s' if count != 1 else ''} for you today."
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"Hello {_escape(name)}, {text[9:]}", 3000)}}]
    for heading, items in sections:
        lines = "\n".join(f"• <{url}|{_escape(label)}>" for label, url in items[:20])
        if len(items) > 20:
            lines += f"\n…and {len(items) - 20} more in Mandate."
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(f"*{heading}*\n{lines}", 3000)}})
    return text, blocks[:50]


def teams_card(*, title, facts, url, link_title="Open in Mandate", note=""):
    """A Teams Workflows webhook body: one Adaptive Card with a deep link into the portal."""
    body = [
        {"type": "TextBlock", "text": _cut(title, 300), "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "FactSet", "facts": [{"title": k, "value": _cut(v or "—", 500)} for k, v in facts]},
    ]
    if note:
        body.append({"type": "TextBlock", "text": _cut(note, 2000), "wrap": True, "isSubtle": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": link_title, "url": url}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }
