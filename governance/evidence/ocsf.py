"""Evidence records as OCSF 1.7.0 events, the security team's format.

One event a record, in the class that fits what happened:
- authorization decisions → Authorize Session (3003), activity Assign Privileges, the
  scope asked for as the privilege, success when allowed and failure when denied;
- what an agent reports (prompts, tool calls, data access, actions) → API Activity
  (6003): the tool as the API operation, the target as the resource;
- requests, approvals, grants, reviews and workload status → Account Change (3001):
  a grant issued attaches a policy (the scope), one that ends detaches it, a suspension
  disables the workload's account, a person's sign-in lock locks (and its lifting unlocks)
  theirs; the rest are "Other" with the outcome named.

Every event carries the workflow, the workload, its owner and the grant as enrichments,
and its place in the chain in `metadata` (`uid` = workflow/sequence, `sequence`,
`correlation_uid` = the task); the chain hashes travel in `unmapped`, so a receiver can
check them against a verified export. Built from `.values()` rows, no model instances.
"""

from datetime import UTC, datetime

from governance.choices import AGENT_EVIDENCE_KINDS, EvidenceKind, EvidenceOutcome

OCSF_VERSION = "1.7.0"
PRODUCT = {"name": "Mandate", "vendor_name": "Mandate", "feature": {"name": "Evidence trail"}}

AUTHORIZE_SESSION, API_ACTIVITY, ACCOUNT_CHANGE = 3003, 6003, 3001
CATEGORY = {AUTHORIZE_SESSION: 3, API_ACTIVITY: 6, ACCOUNT_CHANGE: 3}
CLASS_NAME = {AUTHORIZE_SESSION: "Authorize Session", API_ACTIVITY: "API Activity", ACCOUNT_CHANGE: "Account Change"}
CATEGORY_NAME = {3: "Identity & Access Management", 6: "Application Activity"}
OTHER = 99

# (activity_id, activity_name) per kind and outcome; OCSF fixes the names of ids 1-98.
API_ACTIVITY_IDS = {EvidenceKind.DATA_ACCESS: (2, "Read")}
ACCOUNT_CHANGE_IDS = {
    EvidenceOutcome.ISSUED: (7, "Attach Policy"),
    EvidenceOutcome.EXPIRED: (8, "Detach Policy"),
    EvidenceOutcome.REVOKED: (8, "Detach Policy"),
    EvidenceOutcome.LAPSED: (8, "Detach Policy"),
    EvidenceOutcome.SUSPENDED: (5, "Disable"),
    EvidenceOutcome.LOCKED: (9, "Lock"),
    EvidenceOutcome.UNLOCKED: (12, "Unlock"),
}
FAILED = {EvidenceOutcome.FAILURE, EvidenceOutcome.ERROR, EvidenceOutcome.BLOCKED, EvidenceOutcome.DENIED}
SEVERITY = {False: (1, "Informational"), True: (3, "Medium")}

# The columns `event` reads: hand them to `.values()`.
FIELDS = (
    "id",
    "sequence",
    "kind",
    "occurred_at",
    "recorded_at",
    "outcome",
    "task_ref",
    "ticket_ref",
    "tool_name",
    "target_resource",
    "data_classification",
    "summary",
    "payload_sha256",
    "prev_hash",
    "record_hash",
    "access_request_id",
    "grant_id",
    "grant__entitlement__scope",
    "grant__expires_at",
    "workflow_id",
    "workflow__slug",
    "workflow__name",
    "workflow__risk_tier",
    "workflow__control_owner__username",
    "workflow__backup_owner__username",
    "workload__slug",
    "workload__name",
    "workload__kind",
    "workload__owner__username",
    "workload__external_principal",
    "on_behalf_of__username",
    "actor__username",
)


def _millis(value):
    return int(value.timestamp() * 1000) if value else None


def _user(name, *, uid=None, type_id=1, type_name="User"):
    user = {"name": name, "uid": uid or name, "type_id": type_id, "type": type_name}
    return {key: value for key, value in user.items() if value is not None}


def _workload_user(row):
    return _user(row["workload__slug"], uid=f"workload:{row['workload__slug']}", type_id=4, type_name="Service")


def _subject(row):
    """The account the event is about: the workload if any, else the person who asked or acted."""
    if row["workload__slug"]:
        return _workload_user(row)
    person = row["on_behalf_of__username"] or row["actor__username"]
    return _user(person) if person else _user("mandate", type_id=3, type_name="System")


def _actor(row):
    """Who acted: the person who did (approver, revoker), else the workload for its person."""
    if row["actor__username"]:
        return {"user": _user(row["actor__username"])}
    actor = {"app_name": "Mandate"}
    if row["workload__slug"]:
        actor["user"] = _workload_user(row)
    if row["on_behalf_of__username"]:
        actor["invoked_by"] = row["on_behalf_of__username"]
    return actor


def enrichments(row):
    """The workflow, workload, owner and grant, as OCSF enrichments (name, value, data)."""
    found = [
        {
            "name": "workflow",
            "value": row["workflow__slug"],
            "type": "mandate.workflow",
            "data": {
                "name": row["workflow__name"],
                "risk_tier": row["workflow__risk_tier"],
                "control_owner": row["workflow__control_owner__username"],
                "backup_owner": row["workflow__backup_owner__username"],
            },
        }
    ]
    if row["workload__slug"]:
        found.append(
            {
                "name": "workload",
                "value": row["workload__slug"],
                "type": "mandate.workload",
                "data": {
                    "name": row["workload__name"],
                    "kind": row["workload__kind"],
                    "external_principal": row["workload__external_principal"],
                },
            }
        )
        found.append({"name": "owner", "value": row["workload__owner__username"], "type": "mandate.owner", "data": {}})
    if row["grant_id"]:
        found.append(
            {
                "name": "grant",
                "value": str(row["grant_id"]),
                "type": "mandate.grant",
                "data": {
                    "scope": row["grant__entitlement__scope"],
                    "expires_at": row["grant__expires_at"].isoformat() if row["grant__expires_at"] else None,
                },
            }
        )
    return found


def _class_and_activity(row):
    kind, outcome = row["kind"], row["outcome"]
    if kind == EvidenceKind.AUTHORIZATION:
        return AUTHORIZE_SESSION, (1, "Assign Privileges")
    if kind in AGENT_EVIDENCE_KINDS:
        return API_ACTIVITY, API_ACTIVITY_IDS.get(kind, (OTHER, EvidenceKind(kind).label))
    if kind == EvidenceKind.WORKLOAD and outcome != EvidenceOutcome.SUSPENDED:
        return ACCOUNT_CHANGE, (2, "Enable")
    if kind == EvidenceKind.ACCOUNT and outcome == EvidenceOutcome.DENIED:
        return ACCOUNT_CHANGE, (OTHER, "Credential refused")  # a refused key naming the account's
    other = (OTHER, f"{EvidenceKind(kind).label}: {outcome or 'recorded'}")
    if kind in (EvidenceKind.GRANT, EvidenceKind.WORKLOAD, EvidenceKind.ACCOUNT):
        return ACCOUNT_CHANGE, ACCOUNT_CHANGE_IDS.get(outcome, other)
    return ACCOUNT_CHANGE, other  # requests, approvals, reviews: no OCSF activity of their own


def event(row):
    """The OCSF event (a dict ready for JSON) of one evidence record's `.values(*FIELDS)` row."""
    class_uid, (activity_id, activity_name) = _class_and_activity(row)
    failed = row["outcome"] in FAILED
    severity_id, severity = SEVERITY[failed and class_uid == AUTHORIZE_SESSION]
    workflow = row["workflow__slug"]
    result = {
        "class_uid": class_uid,
        "class_name": CLASS_NAME[class_uid],
        "category_uid": CATEGORY[class_uid],
        "category_name": CATEGORY_NAME[CATEGORY[class_uid]],
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": class_uid * 100 + activity_id,
        "time": _millis(row["occurred_at"]),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 2 if failed else 1,
        "status": "Failure" if failed else "Success",
        "status_detail": row["outcome"] or None,
        "message": row["summary"] or EvidenceKind(row["kind"]).label,
        "metadata": {
            "version": OCSF_VERSION,
            "product": PRODUCT,
            "uid": f"{workflow}/{row['sequence']}",
            "sequence": row["sequence"],
            "correlation_uid": row["task_ref"] or None,
            "log_name": "mandate.evidence",
            "logged_time": _millis(row["recorded_at"]),
            "original_time": row["occurred_at"].isoformat(),
            "event_code": row["kind"],
        },
        "actor": _actor(row),
        "enrichments": enrichments(row),
        "unmapped": {
            "workflow": workflow,
            "sequence": row["sequence"],
            "record_id": row["id"],
            "prev_hash": row["prev_hash"],
            "record_hash": row["record_hash"],
            "payload_sha256": row["payload_sha256"] or None,
            "ticket_ref": row["ticket_ref"] or None,
            "access_request": row["access_request_id"],
            "data_classification": row["data_classification"] or None,
        },
    }
    if class_uid == AUTHORIZE_SESSION:
        result["user"] = _subject(row)
        result["privileges"] = [row["grant__entitlement__scope"] or row["target_resource"]]
    elif class_uid == API_ACTIVITY:
        result["api"] = {"operation": row["tool_name"] or row["kind"], "service": {"name": workflow}}
        result["src_endpoint"] = {"name": row["workload__slug"] or "mandate"}
        if row["target_resource"]:
            result["resources"] = [{"name": row["target_resource"], "type": row["data_classification"] or None}]
    else:
        result["user"] = _subject(row)
        if row["grant__entitlement__scope"]:
            result["policy"] = {"name": row["grant__entitlement__scope"], "uid": str(row["grant_id"])}
    return _without_empty(result)


def checkpoint_event(checkpoint, workflow_slug):
    """A signed checkpoint (as `checkpoints.as_dict` publishes it) as an OCSF Base Event.

    OCSF has no class for a signed statement about a log; the Base Event carries it, the
    checkpoint itself in `unmapped`, to be checked against /.well-known/evidence-keys.json.
    """
    return {
        "class_uid": 0,
        "class_name": "Base Event",
        "category_uid": 0,
        "category_name": "Uncategorized",
        "activity_id": OTHER,
        "activity_name": "Evidence checkpoint signed",
        "type_uid": OTHER,
        "time": int(_parse_utc(checkpoint["signed_at"]).timestamp() * 1000),
        "severity_id": 1,
        "severity": "Informational",
        "status_id": 1,
        "status": "Success",
        "message": f"Evidence chain of {workflow_slug} signed at sequence {checkpoint['sequence']}",
        "metadata": {
            "version": OCSF_VERSION,
            "product": PRODUCT,
            "uid": f"{workflow_slug}/checkpoint/{checkpoint['sequence']}",
            "sequence": checkpoint["sequence"],
            "log_name": "mandate.evidence.checkpoints",
            "event_code": "checkpoint",
        },
        "unmapped": {"workflow": workflow_slug, "checkpoint": checkpoint},
    }


def _parse_utc(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _without_empty(value):
    """Drop None values (OCSF omits absent attributes rather than sending null)."""
    if isinstance(value, dict):
        return {key: _without_empty(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_empty(item) for item in value]
    return value
