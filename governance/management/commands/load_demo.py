"""Load a believable demo organisation. Idempotent: running it twice changes nothing."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from governance.models import Entitlement, Policy, Workflow
from identities.demo_accounts import DEMO_PASSWORD, PEOPLE
from identities.models import IdentitySource, User, WorkloadIdentity

AUDITOR_GROUP = "Security auditors"

SOURCES = [
    # slug, name, kind, description
    ("corporate-sso", "Corporate SSO", "oidc", "The company identity provider; authoritative for staff."),
    ("local", "Local accounts", "local", "Break-glass and demo accounts kept in Mandate itself."),
    ("agent-platform", "Agent platform", "agent_platform", "Where AI agents are deployed and named."),
    ("github-actions", "GitHub Actions", "ci_system", "CI pipelines acting through OIDC-federated identities."),
]

ENTITLEMENTS = [
    # scope, target, name, access level, sensitivity, max lifetime
    ("zendesk:tickets:read", "zendesk", "Read support tickets", "read", "confidential", 8 * 3600),
    ("github:repo:read", "github", "Read repository contents", "read", "internal", 8 * 3600),
    ("github:repo:write", "github", "Push branches to a repository", "write", "internal", 4 * 3600),
    ("github:pull_request:write", "github", "Open and update pull requests", "write", "internal", 4 * 3600),
    (
        "finance-warehouse:reports:read",
        "finance-warehouse",
        "Query finance reporting views",
        "read",
        "restricted",
        4 * 3600,
    ),
    ("jira:incident:read", "jira", "Read incident tickets", "read", "internal", 8 * 3600),
    ("jira:incident:write", "jira", "Comment on and update incident tickets", "write", "internal", 2 * 3600),
]

WORKFLOWS = [
    {
        "slug": "support-ticket-summarisation",
        "name": "Support ticket summarisation",
        "business_process": "Customer support: first-response triage",
        "description": "An assistant reads new support tickets and drafts a summary for the agent on duty.",
        "risk_tier": "low",
        "owner": "olivia",
        "review_cycle_days": 180,
        "policies": [("zendesk:tickets:read", "default", 8 * 3600)],
        "workload": (
            "support-summariser",
            "Support summariser",
            "ai_agent",
            "agent-platform",
            "agents/support-summariser",
        ),
    },
    {
        "slug": "pr-coding-agent",
        "name": "Pull-request coding agent",
        "business_process": "Software delivery: code change and review",
        "description": "A coding agent picks up labelled issues, pushes a branch and opens a pull request for review.",
        "risk_tier": "high",
        "owner": "olivia",
        "review_cycle_days": 30,
        "policies": [
            ("github:repo:read", "default", 4 * 3600),
            ("github:repo:write", "default", 2 * 3600),
            ("github:pull_request:write", "default", 2 * 3600),
        ],
        "workload": (
            "pr-coding-agent",
            "PR coding agent",
            "ai_agent",
            "github-actions",
            "repo:acme/platform:ref:refs/heads/main",
        ),
    },
    {
        "slug": "finance-report-drafting",
        "name": "Finance report drafting",
        "business_process": "Finance: monthly management reporting",
        "description": "An assistant queries the finance warehouse and drafts the monthly commentary.",
        "risk_tier": "medium",
        "owner": "fiona",
        "review_cycle_days": 90,
        "policies": [("finance-warehouse:reports:read", "owner", 4 * 3600)],
        "workload": ("finance-drafter", "Finance drafter", "ai_agent", "agent-platform", "agents/finance-drafter"),
    },
    {
        "slug": "incident-enrichment",
        "name": "Incident enrichment",
        "business_process": "IT operations: incident management",
        "description": "An agent adds context (recent deploys, alerts, runbooks) to new incident tickets.",
        "risk_tier": "medium",
        "owner": "fiona",
        "review_cycle_days": 90,
        "policies": [("jira:incident:read", "default", 8 * 3600), ("jira:incident:write", "default", 2 * 3600)],
        "workload": (
            "incident-enricher",
            "Incident enricher",
            "service_account",
            "agent-platform",
            "agents/incident-enricher",
        ),
    },
]


class Command(BaseCommand):
    help = "Create (or bring back to shape) the demo organisation. Safe to run repeatedly."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args, quiet=False, **options):
        if not (settings.DEBUG or settings.DEMO_MODE):
            raise CommandError(
                "load_demo creates accounts with published passwords; "
                "it runs only with DEBUG=true or MANDATE_DEMO=true."
            )
        with transaction.atomic():
            sources = self.load_sources()
            people = self.load_people(sources["corporate-sso"], sources["local"])
            entitlements = self.load_entitlements()
            self.load_workflows(sources, people, entitlements)
            for step in demo_extensions():
                step(self, people)
        if not quiet:
            self.print_logins()

    def load_sources(self):
        sources = {}
        for slug, name, kind, description in SOURCES:
            sources[slug], _ = IdentitySource.objects.update_or_create(
                slug=slug, defaults={"name": name, "kind": kind, "description": description, "authoritative": True}
            )
        return sources

    def load_people(self, sso, local):
        auditors, _ = Group.objects.get_or_create(name=AUDITOR_GROUP)
        auditors.permissions.add(Permission.objects.get(codename="audit_all", content_type__app_label="identities"))
        people = {}
        for username, display_name, _role, superuser in PEOPLE:
            first, last = display_name.split(" ", 1)
            user, created = User.objects.update_or_create(
                username=username,
                defaults={
                    "email": f"{username}@example.test",
                    "display_name": display_name,
                    "first_name": first,
                    "last_name": last,
                    "identity_source": local if superuser else sso,
                    "external_id": "" if superuser else f"sso|{username}",
                    "is_active": True,
                    "is_staff": superuser,
                    "is_superuser": superuser,
                },
            )
            if created or not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
            people[username] = user
        people["ada"].groups.add(auditors)
        return people

    def load_entitlements(self):
        entitlements = {}
        for scope, target, name, level, sensitivity, lifetime in ENTITLEMENTS:
            entitlements[scope], _ = Entitlement.objects.update_or_create(
                scope=scope,
                defaults={
                    "target_system": target,
                    "name": name,
                    "access_level": level,
                    "sensitivity": sensitivity,
                    "max_lifetime_seconds": lifetime,
                },
            )
        return entitlements

    def load_workflows(self, sources, people, entitlements):
        now = timezone.now()
        for spec in WORKFLOWS:
            workflow, created = Workflow.objects.update_or_create(
                slug=spec["slug"],
                defaults={
                    "name": spec["name"],
                    "business_process": spec["business_process"],
                    "description": spec["description"],
                    "risk_tier": spec["risk_tier"],
                    "control_owner": people[spec["owner"]],
                    "backup_owner": people["bruno"],
                    "identity_source": sources["corporate-sso"],
                    "review_cycle_days": spec["review_cycle_days"],
                    "status": "active",
                },
            )
            if created or workflow.next_review_due is None:
                workflow.next_review_due = now + timedelta(days=spec["review_cycle_days"])
                workflow.save(update_fields=["next_review_due"])
            for scope, mode, ttl in spec["policies"]:
                Policy.objects.update_or_create(
                    workflow=workflow,
                    entitlement=entitlements[scope],
                    defaults={"approval_mode": mode, "max_ttl_seconds": ttl},
                )
            slug, name, kind, source, principal = spec["workload"]
            WorkloadIdentity.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "kind": kind,
                    "workflow": workflow,
                    "owner": people[spec["owner"]],
                    "identity_source": sources[source],
                    "external_principal": principal,
                },
            )

    def print_logins(self):
        self.stdout.write(self.style.SUCCESS(f"Demo organisation loaded. Logins (password for all: {DEMO_PASSWORD}):"))
        for username, display_name, role, _superuser in PEOPLE:
            self.stdout.write(f"  {username:<8} {display_name:<18} {role}")


def demo_extensions():
    """Further demo steps contributed by other apps (requests, grants, reviews, evidence).

    Each is a callable `step(command, people)`, run inside the same transaction, and must
    itself be idempotent.
    """
    steps = []
    for dotted in getattr(settings, "DEMO_DATA_STEPS", []):
        steps.append(import_string(dotted))
    return steps
