"""API of registry changes: list, detail, approve, deny, withdraw.

A registry write that widens access answers 202 with the change it filed; the change
applies when someone other than its author approves it here, in the portal inbox or in
the ticket queue.
"""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from governance.changes.decisions import (
    APPROVE,
    DENY,
    can_decide_change,
    cancel_change,
    decide_change,
    route_label,
)
from governance.changes.selectors import visible_changes
from governance.choices import ChangeKind, ChangeState
from governance.models import RegistryChange

from .schema import errors
from .strict import StrictModelSerializer, StrictSerializer
from .viewsets import ReadOnlyViewSet


class RegistryChangeSerializer(StrictModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    workflow = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    entitlement = serializers.SlugRelatedField(slug_field="scope", read_only=True)
    decided_by_whom = serializers.SerializerMethodField(
        help_text="Who decides it: a resource owner or the security team."
    )
    can_decide = serializers.SerializerMethodField(help_text="Whether the caller may approve or deny it now.")

    class Meta:
        model = RegistryChange
        fields = [
            "id",
            "kind",
            "state",
            "summary",
            "reasons",
            "workflow",
            "entitlement",
            "policy",
            "changes",
            "before",
            "author",
            "decided_by_whom",
            "can_decide",
            "decided_by",
            "decided_at",
            "comment",
            "created_at",
        ]
        read_only_fields = fields

    def get_decided_by_whom(self, change) -> str:
        return route_label(change)

    def get_can_decide(self, change) -> bool:
        request = self.context.get("request")
        return bool(request and can_decide_change(request.user, change))


class ChangeDecisionSerializer(StrictSerializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RegistryChangeFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=ChangeState.choices)
    kind = django_filters.ChoiceFilter(choices=ChangeKind.choices)
    workflow = django_filters.CharFilter(field_name="workflow__slug")
    entitlement = django_filters.CharFilter(field_name="entitlement__scope")
    author = django_filters.CharFilter(field_name="author__username")

    class Meta:
        model = RegistryChange
        fields = ["state", "kind", "workflow", "entitlement", "author"]


@extend_schema_view(
    list=extend_schema(summary="List the registry changes the caller may see"),
    retrieve=extend_schema(summary="A registry change: what it changes, why it waits, who decides"),
)
class RegistryChangeViewSet(ReadOnlyViewSet):
    serializer_class = RegistryChangeSerializer
    filterset_class = RegistryChangeFilterSet
    ordering_fields = ["created_at", "decided_at", "state", "kind"]
    ordering = ["-created_at"]

    def visible(self, user):
        return visible_changes(user)

    def _answer(self, change):
        change = self.visible(self.request.user).get(pk=change.pk)
        return Response(RegistryChangeSerializer(change, context=self.get_serializer_context()).data)

    def _decide(self, request, decision):
        change = self.get_object()
        serializer = ChangeDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(
            decide_change(change, by=request.user, decision=decision, comment=serializer.validated_data["comment"])
        )

    @extend_schema(
        summary="Approve a pending change: it applies at once (never your own)",
        request=ChangeDecisionSerializer,
        responses={200: RegistryChangeSerializer, **errors(409)},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, APPROVE)

    @extend_schema(
        summary="Deny a pending change (a comment says why)",
        request=ChangeDecisionSerializer,
        responses={200: RegistryChangeSerializer, **errors(409)},
    )
    @action(detail=True, methods=["post"])
    def deny(self, request, pk=None):
        return self._decide(request, DENY)

    @extend_schema(
        summary="Withdraw a pending change (its author or the security team)",
        request=ChangeDecisionSerializer,
        responses={200: RegistryChangeSerializer, **errors(409)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        change = self.get_object()
        serializer = ChangeDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(cancel_change(change, by=request.user, comment=serializer.validated_data["comment"]))
