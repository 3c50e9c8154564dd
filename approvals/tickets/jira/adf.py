"""Atlassian Document Format: Jira Cloud's rich text for descriptions and comments.

Only the few nodes Mandate needs: paragraphs, a bullet list of labelled facts and a link.
Reference: https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/
"""


def text(value, *, strong=False, href=None):
    node = {"type": "text", "text": value}
    marks = []
    if strong:
        marks.append({"type": "strong"})
    if href:
        marks.append({"type": "link", "attrs": {"href": href}})
    if marks:
        node["marks"] = marks
    return node


def paragraph(*nodes):
    return {"type": "paragraph", "content": list(nodes)}


def doc(*blocks):
    return {"type": "doc", "version": 1, "content": list(blocks)}


def plain(value: str):
    """A document of plain paragraphs, one per non-empty line."""
    return doc(*[paragraph(text(line)) for line in value.splitlines() if line.strip()] or [paragraph(text(" "))])


def description(content):
    """A request's facts as a bullet list (a review's reminder as paragraphs), a link, the how-to."""
    blocks = [paragraph(text(line)) for line in content.lead.splitlines() if line.strip()]
    items = [
        {"type": "listItem", "content": [paragraph(text(f"{label}: ", strong=True), text(str(value)))]}
        for label, value in content.fields()
    ]
    if items:
        blocks.append({"type": "bulletList", "content": items})
    return doc(
        *blocks,
        paragraph(text(content.link_label, href=content.url)),
        paragraph(text(content.instructions)),
    )
