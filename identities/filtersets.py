"""List filters for workload identities and API keys (django-filter), used by the API."""

import django_filters
from django.db.models import Q
from django.utils import timezone

from governance.filtersets import SearchFilterMixin

from .choices import WorkloadKind, WorkloadStatus
from .models import ApiKey, WorkloadIdentity


class WorkloadIdentityFilterSet(SearchFilterMixin, django_filters.FilterSet):
    search_fields = ("name", "slug", "external_principal", "description")

    q = django_filters.CharFilter(method="search", label="Search name, slug, external principal and description")
    workflow = django_filters.CharFilter(field_name="workflow__slug", label="Workflow slug")
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner's username")
    kind = django_filters.MultipleChoiceFilter(choices=WorkloadKind.choices)
    status = django_filters.MultipleChoiceFilter(choices=WorkloadStatus.choices)
    external_principal = django_filters.CharFilter()

    class Meta:
        model = WorkloadIdentity
        fields = ["q", "workflow", "owner", "kind", "status", "external_principal"]


class ApiKeyFilterSet(django_filters.FilterSet):
    workload = django_filters.CharFilter(field_name="workload__slug", label="Workload slug")
    user = django_filters.CharFilter(field_name="user__username", label="Username (personal access tokens)")
    usable = django_filters.BooleanFilter(method="filter_usable", label="Not revoked and not expired")
    prefix = django_filters.CharFilter()

    class Meta:
        model = ApiKey
        fields = ["workload", "user", "usable", "prefix"]

    def filter_usable(self, queryset, name, value):
        usable = Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        return queryset.filter(usable) if value else queryset.exclude(usable)
