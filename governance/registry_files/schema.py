"""The JSON Schema of registry files: what `registry plan/apply` read and `registry export`
writes. Published at `/api/v1/registry/schema` and committed as docs/registry.schema.json
(a test keeps the two equal), so editors validate files as they are written.

Choices come from the apps' `choices` modules, so the schema follows the models. People
are named by username, identity sources by slug, the ticket queue by its name; keys,
tokens and secrets have no place in the format.
"""

from governance.choices import AccessLevel, ApprovalMode, MissedReviewAction, RiskTier, Sensitivity, WorkflowStatus
from identities.choices import WorkloadKind, WorkloadStatus

FORMAT_VERSION = 1
SCHEMA_ID = "https://mandate.example/schemas/registry.schema.json"

SLUG = {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$", "maxLength": 100}
PERSON = {"type": ["string", "null"], "minLength": 1, "description": "A person's username; null for nobody."}
SECONDS = {"type": "integer", "minimum": 1, "maximum": 2147483647}


def _text(max_length=None, description=None):
    text = {"type": "string"}
    if max_length:
        text["maxLength"] = max_length
    if description:
        text["description"] = description
    return text


def _choice(choices, description):
    return {"type": "string", "enum": list(choices.values), "description": description}


ENTITLEMENT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["scope", "target_system"],
    "properties": {
        "scope": _text(200, "The grantable scope, starting with the target system: github:repo:write."),
        "target_system": _text(100, "The system the scope is on: github, jira, finance-warehouse."),
        "name": _text(150),
        "description": _text(),
        "access_level": _choice(AccessLevel, "read, write or admin (default read)."),
        "sensitivity": _choice(Sensitivity, "How sensitive the data behind it is (default internal)."),
        "max_lifetime_seconds": {**SECONDS, "description": "Longest grant of it, in seconds (default 3600)."},
        "resource_owner": {**PERSON, "description": "Who answers for the target system; null: the security team."},
        "mcp_tools": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "MCP tool names or patterns (* ? [...]) it covers: jira.get_issue, jira.search_*.",
        },
    },
}

POLICY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["entitlement"],
    "properties": {
        "entitlement": _text(200, "The scope of an entitlement (in the files or already registered)."),
        "approval_mode": _choice(ApprovalMode, "How requests are decided (default: by the default rules)."),
        "max_ttl_seconds": {**SECONDS, "description": "Longest grant, in seconds (default 3600)."},
        "pending_ttl_seconds": {**SECONDS, "description": "An undecided request times out after (default 86400)."},
        "reminder_interval_seconds": {**SECONDS, "description": "Remind approvers after (default 14400)."},
        "task_ref_required": {"type": "boolean", "description": "Default true."},
        "justification_required": {"type": "boolean", "description": "Default true."},
    },
}

WORKLOAD = {
    "type": "object",
    "additionalProperties": False,
    "required": ["slug", "name", "owner"],
    "properties": {
        "slug": SLUG,
        "name": _text(150),
        "kind": _choice(WorkloadKind, "What it is (default ai_agent)."),
        "description": _text(),
        "owner": {"type": "string", "minLength": 1, "description": "The person answering for it (username)."},
        "identity_source": {**SLUG, "type": ["string", "null"], "description": "Where it is authoritative (slug)."},
        "external_principal": _text(255, "Its principal there: an IAM role ARN, a CI subject."),
        "status": _choice(WorkloadStatus, "active, suspended or retired (default active)."),
    },
}

WORKFLOW = {
    "type": "object",
    "additionalProperties": False,
    "required": ["slug", "name", "business_process", "identity_source", "control_owner"],
    "properties": {
        "slug": SLUG,
        "name": _text(150),
        "business_process": _text(200, "The business process it serves."),
        "description": _text(),
        "status": _choice(WorkflowStatus, "draft, active, suspended or retired (default draft)."),
        "control_owner": {"type": "string", "minLength": 1, "description": "The accountable person (username)."},
        "backup_owner": PERSON,
        "identity_source": {**SLUG, "description": "The authoritative source of its owners and workloads (slug)."},
        "risk_tier": _choice(RiskTier, "Default medium."),
        "review_cycle_days": {"type": "integer", "minimum": 1, "maximum": 366, "description": "Default 90."},
        "review_grace_days": {"type": "integer", "minimum": 0, "maximum": 32767, "description": "Default 7."},
        "missed_review_action": _choice(MissedReviewAction, "What a missed review does (default revoke)."),
        "queue": {"type": ["string", "null"], "description": "The ticket queue's name; null: Mandate's inbox."},
        "policies": {"type": "array", "items": POLICY, "description": "The entitlements it grants, and how."},
        "workloads": {"type": "array", "items": WORKLOAD, "description": "Its workload identities (never keys)."},
    },
}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "Mandate registry file",
    "description": "Workflows, their entitlements, policies and workload identities, as code. "
    "One file or many; `manage.py registry plan` shows what applying them changes.",
    "type": "object",
    "additionalProperties": False,
    "required": ["version"],
    "properties": {
        "version": {"const": FORMAT_VERSION, "description": "The format's version."},
        "entitlements": {"type": "array", "items": ENTITLEMENT},
        "workflows": {"type": "array", "items": WORKFLOW},
    },
}
