"""API of the access lifecycle: requests, grants, task completion, the authorization check.

Thin: each action checks visibility (404) and the rule from `governance.permissions`
(403), then calls one service from `approvals.services`, which raises the domain errors
(400 / 403 / 409) the exception handler maps.
"""

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals import services
from approvals.choices import Channel, Decision
from approvals.filtersets import AccessRequestFilterSet, GrantFilterSet
from governance import permissions as rules
from governance.api.authentication import ApiKeyAuthentication, bearer_value
from governance.api.schema import errors
from governance.api.strict import plain_text_input
from governance.api.throttling import AuthorizeThrottle
from governance.api.viewsets import ReadOnlyViewSet
from governance.exceptions import CredentialRefused, IllegalTransition, InvalidInput
from governance.permissions import require
from identities.models import ApiKey, User
from identities.services import forget_api_key

from .authentication import GrantTokenAuthentication
from .serializers import (
    AccessRequestCreateSerializer,
    AccessRequestSerializer,
    AuthorizationSerializer,
    AuthorizeSerializer,
    CommentSerializer,
    CompletedTaskSerializer,
    CompleteTaskSerializer,
    ExtendGrantSerializer,
    GrantSerializer,
    GrantTokenSerializer,
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="A retry with the same key (per caller) returns the first request instead of making another.",
)


def subject_of(user):
    """The service arguments naming the caller as requester: a workload or a person."""
    if rules.is_workload(user):
        return {"workload": user.workload}
    return {"requested_by": user}


def acting_person(user):
    """The person to record as `by` (None for a workload, which is recorded as the subject)."""
    return None if rules.is_workload(user) else user


def find_person(value):
    person = User.objects.filter(Q(username=value) | Q(email__iexact=value), is_active=True).first()
    if person is None:
        raise InvalidInput(
            f"No active person “{value}”.", field_errors={"on_behalf_of": [f"No active person “{value}”."]}
        )
    return person


def requests_visible_to(user):
    return (
        rules.visible_requests(user)
        .select_related("workflow", "entitlement", "requested_by", "workload", "on_behalf_of", "grant", "extends")
        .prefetch_related("approvals__approver", "ticket_links__connection")
    )


class RequestAnswerMixin:
    def people_for(self, requests):
        ids = {pk for r in requests for pk in (r.eligible_approver_ids or [])}
        return dict(User.objects.filter(pk__in=ids).values_list("pk", "username")) if ids else {}

    def request_answer(self, access_request, status_code=status.HTTP_200_OK, headers=None):
        # Reloaded: the service may have changed related rows (the extended grant) through
        # other instances. The token minted on issue lives only on the returned object.
        token = getattr(access_request, "issued_token", None)
        access_request = requests_visible_to(self.request.user).get(pk=access_request.pk)
        access_request.issued_token = token
        context = {**self.get_serializer_context(), "people": self.people_for([access_request])}
        return Response(AccessRequestSerializer(access_request, context=context).data, status_code, headers=headers)


@extend_schema_view(
    list=extend_schema(summary="List the access requests the caller may see"),
    retrieve=extend_schema(summary="An access request, with the decision, approvals, grant and ticket"),
)
class AccessRequestViewSet(RequestAnswerMixin, ReadOnlyViewSet):
    serializer_class = AccessRequestSerializer
    filterset_class = AccessRequestFilterSet
    ordering_fields = ["created_at", "decided_at", "state", "duration_seconds"]
    ordering = ["-created_at"]

    def visible(self, user):
        return requests_visible_to(user)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {**self.get_serializer_context(), "people": self.people_for(page)}
        return self.get_paginated_response(AccessRequestSerializer(page, many=True, context=context).data)

    def retrieve(self, request, *args, **kwargs):
        return self.request_answer(self.get_object())

    @extend_schema(
        summary="Ask for access: decided at once (active grant, pending approval, or denied with reasons)",
        parameters=[IDEMPOTENCY_HEADER],
        request=AccessRequestCreateSerializer,
        responses={201: AccessRequestSerializer, 200: AccessRequestSerializer},
        description="201 for a new request; 200 with the first request when `Idempotency-Key` repeats a create.",
    )
    def create(self, request):
        user = request.user
        require(rules.can_request_access(user), "Auditors read; they do not ask for access.")
        serializer = AccessRequestCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        on_behalf_of = data["on_behalf_of"].strip()
        if on_behalf_of and not rules.is_workload(user):
            raise InvalidInput(
                "Only a workload acts on behalf of someone; people ask for themselves.",
                field_errors={"on_behalf_of": ["Only workloads may set this."]},
            )
        key = request.headers.get("Idempotency-Key", "").strip()[:200]
        if "\x00" in key:
            raise InvalidInput("The Idempotency-Key header is not valid text.")
        replay = self._replay(user, key, data)
        if replay is not None:
            return self.request_answer(replay, status.HTTP_200_OK, headers={"Idempotent-Replayed": "true"})
        created = services.submit_request(
            workflow=data["workflow"],
            entitlement=data["entitlement"],
            duration_seconds=data["duration_seconds"],
            on_behalf_of=find_person(on_behalf_of) if on_behalf_of else None,
            task_ref=data["task_ref"],
            justification=data["justification"],
            starts_at=data["starts_at"],
            idempotency_key=key,
            **subject_of(user),
        )
        return self.request_answer(created, status.HTTP_201_CREATED)

    def _replay(self, user, key, data):
        """The request a repeated Idempotency-Key names; 409 if the body now asks for something else."""
        if not key:
            return None
        existing = self.visible(user).filter(idempotency_key=key, **subject_of(user)).first()
        if existing is None:
            return None
        if (existing.workflow_id, existing.entitlement_id, existing.duration_seconds, existing.task_ref) != (
            data["workflow"].pk,
            data["entitlement"].pk,
            data["duration_seconds"],
            data["task_ref"].strip(),
        ):
            raise IllegalTransition(
                f"Idempotency-Key “{key}” was used for request #{existing.pk} with a different body.",
                code="idempotency_conflict",
            )
        return existing

    def _decide(self, request, decision):
        access_request = self.get_object()
        require(
            rules.can_decide_request(request.user, access_request),
            "Only the workflow's owners decide its requests; workloads and auditors never do.",
        )
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decided = services.decide(
            access_request,
            approver=request.user,
            decision=decision,
            channel=Channel.API,
            comment=serializer.validated_data["comment"],
        )
        return self.request_answer(decided)

    @extend_schema(
        summary="Approve a pending request (eligible owners; never your own)",
        request=CommentSerializer,
        responses={200: AccessRequestSerializer, **errors(409)},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, Decision.APPROVE)

    @extend_schema(
        summary="Deny a pending request", request=CommentSerializer, responses={200: AccessRequestSerializer}
    )
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        return self._decide(request, Decision.DENY)

    @extend_schema(
        summary="Withdraw a pending request (its requester, its workload, or the workflow's owners)",
        request=CommentSerializer,
        responses={200: AccessRequestSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        access_request = self.get_object()
        require(rules.can_cancel_request(request.user, access_request), "You may not cancel this request.")
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cancelled = services.cancel_request(
            access_request, by=acting_person(request.user), reason=serializer.validated_data["comment"]
        )
        return self.request_answer(cancelled)


@extend_schema_view(
    list=extend_schema(summary="List the grants the caller may see"),
    retrieve=extend_schema(summary="A grant"),
)
class GrantViewSet(RequestAnswerMixin, ReadOnlyViewSet):
    serializer_class = GrantSerializer
    filterset_class = GrantFilterSet
    ordering_fields = ["expires_at", "starts_at", "created_at", "status"]
    ordering = ["-created_at"]

    def visible(self, user):
        return rules.visible_grants(user).select_related(
            "workflow", "entitlement", "requested_by", "workload", "on_behalf_of", "revoked_by"
        )

    @extend_schema(
        summary="End a grant now (revoking an ended grant is a no-op 200)",
        request=CommentSerializer,
        responses={200: GrantSerializer},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        grant = self.get_object()
        require(rules.can_revoke_grant(request.user, grant), "You may not revoke this grant.")
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = serializer.validated_data["comment"] or f"Revoked through the API by {request.user}."
        grant = services.revoke_grant(grant, by=acting_person(request.user), reason=reason)
        return Response(GrantSerializer(self.visible(request.user).get(pk=grant.pk)).data)

    @extend_schema(
        summary="Ask for more time, through the same policy as a new request",
        request=ExtendGrantSerializer,
        responses={201: AccessRequestSerializer},
        description="Answers the extension request: `active` (extended), `pending` or `denied` with reasons.",
    )
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        grant = self.get_object()
        require(rules.can_extend_grant(request.user, grant), "Only the grant's holder may ask to extend it.")
        serializer = ExtendGrantSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        extension = services.extend_grant(
            grant,
            duration_seconds=serializer.validated_data["duration_seconds"],
            justification=serializer.validated_data["comment"],
            requested_by=acting_person(request.user),
        )
        return self.request_answer(extension, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Mint a fresh grant token for the workload holding this grant (the previous one stops)",
        request=None,
        responses={201: GrantTokenSerializer},
    )
    @action(detail=True, methods=["post"])
    def token(self, request, pk=None):
        grant = self.get_object()
        require(
            rules.is_workload(request.user) and grant.workload_id == request.user.workload.pk,
            "Only the workload holding the grant receives its token.",
        )
        grant, token = services.reissue_grant_token(grant)
        return Response({"grant": grant.pk, "token": token, "expires_at": grant.expires_at}, status.HTTP_201_CREATED)


class CompleteTaskView(APIView):
    @extend_schema(
        summary=(
            "The task is over: revoke the active grants of (workflow, task reference) the caller may end "
            "(a workload its own, a person theirs, an owner any)"
        ),
        request=CompleteTaskSerializer,
        responses={200: CompletedTaskSerializer},
        operation_id="tasks_complete",
    )
    def post(self, request):
        serializer = CompleteTaskSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        workflow, task_ref = serializer.validated_data["workflow"], serializer.validated_data["task_ref"]
        grants = rules.completable_grants(request.user, workflow)
        require(grants is not None, "Only the workflow's workloads and people may complete its tasks.")
        revoked = services.complete_task(workflow, task_ref, by=acting_person(request.user), within=grants)
        return Response({"workflow": workflow.slug, "task_ref": task_ref.strip(), "revoked_grants": revoked})


class AuthorizeView(APIView):
    """May I do this now? Answered from active, unexpired grants, with reasons."""

    authentication_classes = [GrantTokenAuthentication, *APIView.authentication_classes]
    # A workload's key from memory: the check's own statement verifies it again.
    checks_remembered_keys = True
    throttle_classes = [AuthorizeThrottle]
    # A suspended workload gets a deny with the reason rather than a bare 403.
    allow_suspended_workload = True

    @extend_schema(
        summary="May the caller do this now? allow/deny with reasons (accepts a grant token as credential)",
        request=AuthorizeSerializer,
        responses={200: AuthorizationSerializer},
        operation_id="authorize",
    )
    def post(self, request):
        data = plain_text_input(AuthorizeSerializer, request.data)
        if data is None:  # anything but plain text within limits: the serializer answers
            serializer = AuthorizeSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        user = request.user
        require(rules.is_workload(user) or rules.is_person(user), "Only a workload or a person can be authorized.")
        claims = request.auth if isinstance(request.auth, dict) else None
        key = request.auth if isinstance(request.auth, ApiKey) and request.auth.workload_id else None
        try:
            result = services.authorize(
                workflow=data["workflow"],
                scope=data["scope"],
                task_ref=data["task_ref"] or None,
                token_claims=claims,
                resource=data["resource"],
                action=data["action"],
                key_id=key.pk if key is not None else None,
                **({"workload": user.workload} if rules.is_workload(user) else {"user": user}),
            )
        except CredentialRefused as refused:
            if key is not None:
                forget_api_key(key)
            # Counted and reported like any other refused key, at the same door.
            ApiKeyAuthentication.refuse(request, bearer_value(request), refused.message)
        return Response(result.as_dict())
