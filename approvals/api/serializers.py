"""Serializers of access requests, grants, task completion and the authorization check.

The answer to an access request is the contract agents code against: `id`, `state`,
`decision` (with `reasons`), `grant` (with `expires_at`, and `token` once, to the
workload, when issued) or null, `ticket` or null.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from approvals.choices import GrantStatus, QueueKind, RequestState
from approvals.filtersets import REQUEST_API_STATES
from approvals.models import AccessRequest, Approval, Grant
from governance import permissions as rules
from governance.api.fields import VisibleSlugField
from governance.api.strict import StrictModelSerializer, StrictSerializer
from identities.principals import WorkloadPrincipal

MAX_DURATION_SECONDS = 366 * 24 * 3600


def api_state(access_request):
    """The request's state as the API shows it: an approved request shows its grant's state."""
    if access_request.state != RequestState.APPROVED:
        return access_request.state
    grant = _grant_of(access_request)
    return grant.status if grant is not None else RequestState.APPROVED


def _grant_of(access_request):
    """The grant this request produced, or for an approved extension the grant it extended."""
    try:
        return access_request.grant
    except Grant.DoesNotExist:
        pass
    if access_request.state == RequestState.APPROVED and access_request.extends_id:
        return access_request.extends
    return None


class GrantSummarySerializer(StrictModelSerializer):
    state = serializers.ChoiceField(source="status", choices=GrantStatus.choices, read_only=True)
    token = serializers.CharField(
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The workload's signed grant token (JWT): in the answer that issued it, to the workload, once. "
        "Otherwise null; POST /api/v1/grants/{id}/token/ mints a fresh one.",
    )

    class Meta:
        model = Grant
        fields = ["id", "state", "starts_at", "expires_at", "task_ref", "token"]
        read_only_fields = fields


class DecisionSerializer(StrictSerializer):
    effect = serializers.ChoiceField(choices=["auto_approve", "needs_approval", "deny"])
    approval_mode = serializers.CharField(allow_blank=True)
    required_approvals = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.CharField(), help_text="Why, in words; never empty.")
    approvers = serializers.ListField(
        child=serializers.CharField(), help_text="Usernames of who may decide (while pending)."
    )


class ApprovalSerializer(StrictModelSerializer):
    approver = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Approval
        fields = ["approver", "decision", "channel", "comment", "created_at"]
        read_only_fields = fields


class TicketSerializer(StrictSerializer):
    kind = serializers.ChoiceField(
        source="connection.kind", choices=QueueKind.choices, help_text="The queue's system (its connection's kind)."
    )
    key = serializers.CharField(source="external_key", help_text="The ticket's key there (RT id, Jira key, …).")
    url = serializers.CharField(allow_blank=True, help_text="Where a person opens the ticket.")
    status = serializers.CharField(
        source="last_seen_status", allow_blank=True, help_text="Its status when Mandate last read it (blank: not yet)."
    )
    closed_at = serializers.DateTimeField(
        allow_null=True, help_text="When Mandate closed it because the request was settled; null while open."
    )


def ticket_of(access_request):
    """The request's ticket: the newest link (a request has more than one only when its
    workflow's queue changed while it waited). Reads the prefetched links when there are."""
    links = sorted(access_request.ticket_links.all(), key=lambda link: (link.created_at, link.pk), reverse=True)
    return links[0] if links else None


class AccessRequestSerializer(StrictModelSerializer):
    state = serializers.SerializerMethodField(help_text="pending, active, expired, revoked, denied, cancelled…")
    workflow = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    entitlement = serializers.SlugRelatedField(slug_field="scope", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    workload = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    on_behalf_of = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    decision = serializers.SerializerMethodField()
    approvals = ApprovalSerializer(many=True, read_only=True)
    grant = serializers.SerializerMethodField()
    ticket = serializers.SerializerMethodField()

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "state",
            "workflow",
            "entitlement",
            "requested_by",
            "workload",
            "on_behalf_of",
            "task_ref",
            "justification",
            "duration_seconds",
            "starts_at",
            "extends",
            "decision",
            "approvals",
            "grant",
            "ticket",
            "state_reason",
            "pending_until",
            "decided_at",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=REQUEST_API_STATES))
    def get_state(self, obj):
        return api_state(obj)

    @extend_schema_field(DecisionSerializer)
    def get_decision(self, obj):
        people = self.context.get("people") or {}
        return {
            "effect": obj.effect,
            "approval_mode": obj.approval_mode,
            "required_approvals": obj.required_approvals,
            "reasons": obj.decision_reasons,
            "approvers": [people[pk] for pk in obj.eligible_approver_ids if pk in people],
        }

    @extend_schema_field(GrantSummarySerializer(allow_null=True))
    def get_grant(self, obj):
        grant = _grant_of(obj)
        if grant is None:
            return None
        data = GrantSummarySerializer(grant).data
        caller = self.context["request"].user if "request" in self.context else None
        # The token goes only to the workload it was issued to, in the answer that issued it.
        if isinstance(caller, WorkloadPrincipal) and caller.workload.pk == obj.workload_id:
            data["token"] = getattr(obj, "issued_token", None)
        return data

    @extend_schema_field(TicketSerializer(allow_null=True))
    def get_ticket(self, obj):
        link = ticket_of(obj)
        return TicketSerializer(link).data if link is not None else None


class AccessRequestCreateSerializer(StrictSerializer):
    workflow = VisibleSlugField(rules.visible_workflows, "workflow", help_text="Workflow slug.")
    entitlement = VisibleSlugField(
        rules.visible_entitlements, "entitlement", slug_field="scope", help_text="Entitlement scope string."
    )
    task_ref = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="Run, ticket or job id."
    )
    justification = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    duration_seconds = serializers.IntegerField(min_value=1, max_value=MAX_DURATION_SECONDS)
    on_behalf_of = serializers.CharField(
        max_length=254,
        required=False,
        allow_blank=True,
        default="",
        help_text="Workloads: username or e-mail of the person the workload acts for (required for them).",
    )
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class CommentSerializer(StrictSerializer):
    comment = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ExtendGrantSerializer(StrictSerializer):
    duration_seconds = serializers.IntegerField(
        min_value=1, max_value=MAX_DURATION_SECONDS, help_text="How long from now the grant should last."
    )
    comment = serializers.CharField(
        max_length=4000, required=False, allow_blank=True, default="", help_text="The justification."
    )


class GrantSerializer(StrictModelSerializer):
    state = serializers.ChoiceField(source="status", choices=GrantStatus.choices, read_only=True)
    workflow = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    entitlement = serializers.SlugRelatedField(slug_field="scope", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    workload = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    on_behalf_of = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    revoked_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Grant
        fields = [
            "id",
            "state",
            "workflow",
            "entitlement",
            "requested_by",
            "workload",
            "on_behalf_of",
            "task_ref",
            "starts_at",
            "expires_at",
            "extension_count",
            "request",
            "ended_at",
            "revoked_by",
            "end_reason",
            "created_at",
        ]
        read_only_fields = fields


class GrantTokenSerializer(StrictSerializer):
    grant = serializers.IntegerField()
    token = serializers.CharField(help_text="Signed grant token (JWT, ES256); verify with /.well-known/jwks.json.")
    expires_at = serializers.DateTimeField()


class CompleteTaskSerializer(StrictSerializer):
    workflow = VisibleSlugField(rules.visible_workflows, "workflow", help_text="Workflow slug.")
    task_ref = serializers.CharField(max_length=200)


class CompletedTaskSerializer(StrictSerializer):
    workflow = serializers.CharField()
    task_ref = serializers.CharField()
    revoked_grants = serializers.IntegerField(help_text="How many active grants this call ended.")


class AuthorizeSerializer(StrictSerializer):
    workflow = serializers.CharField(max_length=100, help_text="Workflow slug.")
    scope = serializers.CharField(max_length=200, help_text="Entitlement scope string.")
    task_ref = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    resource = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default="", help_text="What the call touches (evidence)."
    )
    action = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="What the call does (evidence)."
    )


class AuthorizationSerializer(StrictSerializer):
    allow = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField(), help_text="Never empty on a deny.")
    grant = serializers.IntegerField(allow_null=True, help_text="The grant that allows it, or null.")
    expires_at = serializers.DateTimeField(allow_null=True)
