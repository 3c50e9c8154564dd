"""Shared by the registry-file tests: a hand-written file and helpers to read, plan and apply
(its fixtures are in conftest.py)."""

from governance.registry_files.apply import apply_document
from governance.registry_files.documents import read_files
from governance.registry_files.plan import compute_plan

FILE = """\
version: 1
entitlements:
  - scope: github:repo:read
    target_system: github
    name: Read repositories
    access_level: read
    max_lifetime_seconds: 7200
    resource_owner: backup
workflows:
  - slug: coding
    name: Coding agent
    business_process: Software delivery
    identity_source: {source}
    control_owner: owner
    backup_owner: backup
    status: active
    risk_tier: high
    policies:
      - entitlement: github:repo:read
        approval_mode: owner
        max_ttl_seconds: 1800
    workloads:
      - slug: coder
        name: Coder
        owner: owner
        external_principal: agents/coder
"""


def read(*contents):
    return read_files([(f"file{i}.yaml", content) for i, content in enumerate(contents, start=1)])


def plan_of(*contents, prune=False):
    return compute_plan(read(*contents).data, prune=prune)


def apply(by, *contents, prune=False, plan_fingerprint=None):
    return apply_document(read(*contents), by=by, prune=prune, plan_fingerprint=plan_fingerprint)


def rows(plan):
    """The plan as (action, kind, ref, field, old, new, widens) rows."""
    return [
        (c.action, c.kind, c.ref, name, old, new, name in c.widening)
        for c in plan.changes
        for name, (old, new) in c.fields.items()
    ]
