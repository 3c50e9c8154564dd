"""Today's registry as a registry file: the canonical document (stable order: entitlements
by scope, workflows by slug, their policies by scope and workloads by slug), its YAML, the
flat form plans compare, and the fingerprint of the live state.

Nothing secret is in the format: people by username, sources by slug, the ticket queue by
name; API keys, provisioning tokens and queue or webhook credentials are never read here.
"""

import hashlib
import json

import yaml

from governance.choices import ChangeState
from governance.models import Entitlement, RegistryChange, Workflow

from .documents import field_names
from .schema import FORMAT_VERSION, SCHEMA_ID

HEADER = f"# Mandate registry file (format {FORMAT_VERSION}). Schema: {SCHEMA_ID}\n"
REFERENCES = {
    "resource_owner": "username",
    "control_owner": "username",
    "backup_owner": "username",
    "owner": "username",
    "identity_source": "slug",
    "queue": "name",
    "entitlement": "scope",
}


def _values(kind, obj):
    values = {}
    for name in field_names(kind):
        value = getattr(obj, name)
        if name in REFERENCES:
            value = getattr(value, REFERENCES[name]) if value is not None else None
        values[name] = list(value) if isinstance(value, list) else value
    return values


def live_document(workflow=None):
    """The registry now, in the format (`workflow`: one workflow's slug and what it uses)."""
    workflows = Workflow.objects.select_related("control_owner", "backup_owner", "identity_source", "queue")
    entitlements = Entitlement.objects.select_related("resource_owner")
    if workflow is not None:
        workflows = workflows.filter(slug=workflow)
        entitlements = entitlements.filter(policies__workflow__slug=workflow).distinct()
    document = {"version": FORMAT_VERSION, "entitlements": [], "workflows": []}
    for entitlement in entitlements.order_by("scope"):
        document["entitlements"].append(_values("entitlement", entitlement))
    for item in workflows.order_by("slug").prefetch_related(
        "policies__entitlement", "workloads__owner", "workloads__identity_source"
    ):
        values = _values("workflow", item)
        policies = sorted(item.policies.all(), key=lambda p: p.entitlement.scope)
        values["policies"] = [_values("policy", policy) for policy in policies]
        values["workloads"] = [_values("workload", w) for w in sorted(item.workloads.all(), key=lambda w: w.slug)]
        document["workflows"].append(values)
    return document


def to_yaml(document):
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
    return HEADER + body


def flatten(document):
    """{(kind, ref): fields}: entitlements by scope, workflows and workloads by slug,
    policies as `workflow-slug/scope`; a workload carries its workflow's slug."""
    objects = {}
    for entitlement in document["entitlements"]:
        objects[("entitlement", entitlement["scope"])] = {k: v for k, v in entitlement.items() if k != "scope"}
    for workflow in document["workflows"]:
        slug = workflow["slug"]
        fields = {k: v for k, v in workflow.items() if k not in ("slug", "policies", "workloads")}
        objects[("workflow", slug)] = fields
        for policy in workflow["policies"]:
            objects[("policy", f"{slug}/{policy['entitlement']}")] = {
                k: v for k, v in policy.items() if k != "entitlement"
            }
        for workload in workflow["workloads"]:
            fields = {k: v for k, v in workload.items() if k != "slug"}
            objects[("workload", workload["slug"])] = {"workflow": slug, **fields}
    return objects


def fingerprint(document):
    """The registry's state (and the pending changes) as one hash: a plan made against one
    state cannot be applied to another."""
    pending = list(RegistryChange.objects.filter(state=ChangeState.PENDING).order_by("pk").values_list("pk", flat=True))
    canonical = json.dumps({"registry": document, "pending": pending}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def live_fingerprint():
    return fingerprint(live_document())
