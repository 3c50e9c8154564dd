"""Which MCP tools an entitlement covers, and a workflow's tool → scope mapping.

An entitlement names the MCP tools it covers in `Entitlement.mcp_tools`: exact tool names
(`jira.add_comment`) or shell-style patterns (`jira.get_*`, `github.?r_*`, `fs.[rw]*`),
matched case-sensitively against the whole name. A gateway in front of an MCP server
asks for its workflow's mapping and refuses any tool no entry covers.

When several entries cover one tool, the first in precedence order wins: an exact name
before any pattern, then the pattern with more literal characters (the narrower one),
then the lower access level (least privilege), then the scope. `workflow_tool_mapping`
returns the entries in that order, so a client takes the first match.
"""

import re

from django.core.exceptions import ValidationError

from governance.choices import AccessLevel, ApprovalMode

MAX_TOOL_PATTERNS = 100
MAX_PATTERN_LENGTH = 200
WILDCARDS = re.compile(r"[*?\[]")
# MCP tool names: letters, digits and `_ - . /` (the SDK's validation); patterns add `* ? [ ] !`.
PATTERN_CHARS = re.compile(r"^[A-Za-z0-9_\-./*?\[\]!]+$")
LEVEL_ORDER = {AccessLevel.READ: 0, AccessLevel.WRITE: 1, AccessLevel.ADMIN: 2}


def is_pattern(entry):
    return bool(WILDCARDS.search(entry))


def validate_tool_patterns(value):
    """Raise ValidationError unless `value` is a list of distinct, well-formed names or patterns."""
    if not isinstance(value, list):
        raise ValidationError('A list of MCP tool names or patterns, e.g. ["jira.get_issue", "jira.search_*"].')
    if len(value) > MAX_TOOL_PATTERNS:
        raise ValidationError(f"At most {MAX_TOOL_PATTERNS} tool names or patterns.")
    problems, seen = [], set()
    for entry in value:
        if not isinstance(entry, str) or not entry.strip():
            problems.append("Each entry is a non-empty text.")
        elif len(entry) > MAX_PATTERN_LENGTH:
            problems.append(f"“{entry[:40]}…” is longer than {MAX_PATTERN_LENGTH} characters.")
        elif not PATTERN_CHARS.match(entry):
            problems.append(f"“{entry}”: tool names use letters, digits and _ - . / (patterns add * ? [ ] !).")
        elif entry.count("[") != entry.count("]"):
            problems.append(f"“{entry}”: unbalanced brackets.")
        elif entry in seen:
            problems.append(f"“{entry}” is listed twice.")
        seen.add(entry)
    if problems:
        raise ValidationError(problems)


def _precedence(entry):
    pattern, level, scope = entry["pattern"], entry["access_level"], entry["scope"]
    literal = len(WILDCARDS.sub("", pattern))
    return (is_pattern(pattern), -literal, LEVEL_ORDER.get(level, 3), scope, pattern)


def workflow_tool_mapping(workflow):
    """The workflow's tool entries in precedence order: `{pattern, exact, scope, access_level}`
    for every entitlement the workflow has a policy for that does not always deny."""
    policies = workflow.policies.exclude(approval_mode=ApprovalMode.DENY).select_related("entitlement")
    entries = [
        {
            "pattern": pattern,
            "exact": not is_pattern(pattern),
            "scope": policy.entitlement.scope,
            "access_level": policy.entitlement.access_level,
        }
        for policy in policies
        for pattern in policy.entitlement.mcp_tools or []
    ]
    return sorted(entries, key=_precedence)
