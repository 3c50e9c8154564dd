"""List filters for access requests and grants (django-filter), used by the API."""

import django_filters
from django.db.models import Q

from governance.filtersets import UtcIsoDateTimeFilter

from .choices import GrantStatus, QueueKind, RequestState
from .models import AccessRequest, Grant, QueueConnection

# The API's request states: the stored ones, with an approved request shown by its grant.
REQUEST_API_STATES = [
    ("pending", "Pending approval"),
    ("active", "Approved; the grant is active"),
    ("expired", "Approved; the grant has expired"),
    ("revoked", "Approved; the grant was revoked"),
    ("approved", "Approved, with no grant of its own nor one it extended"),
    ("denied", "Denied"),
    ("cancelled", "Cancelled"),
    ("timed_out", "Timed out"),
]


def subject_q(value, prefix=""):
    """A person (username or e-mail) or a workload (slug): as requester, delegator or workload."""
    return (
        Q(**{f"{prefix}requested_by__username": value})
        | Q(**{f"{prefix}requested_by__email__iexact": value})
        | Q(**{f"{prefix}on_behalf_of__username": value})
        | Q(**{f"{prefix}on_behalf_of__email__iexact": value})
        | Q(**{f"{prefix}workload__slug": value})
    )


class AccessRequestFilterSet(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=REQUEST_API_STATES, method="filter_state")
    workflow = django_filters.CharFilter(field_name="workflow__slug", label="Workflow slug")
    entitlement = django_filters.CharFilter(field_name="entitlement__scope", label="Entitlement scope")
    subject = django_filters.CharFilter(method="filter_subject", label="Username, e-mail or workload slug")
    workload = django_filters.CharFilter(field_name="workload__slug", label="Workload slug")
    task_ref = django_filters.CharFilter()
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AccessRequest
        fields = ["state", "workflow", "entitlement", "subject", "workload", "task_ref"]

    def filter_subject(self, queryset, name, value):
        return queryset.filter(subject_q(value))

    def filter_state(self, queryset, name, values):
        if not values:
            return queryset
        condition = Q()
        stored = {RequestState.PENDING, RequestState.DENIED, RequestState.CANCELLED, RequestState.TIMED_OUT}
        for value in values:
            if value in stored:
                condition |= Q(state=value)
            elif value in (GrantStatus.ACTIVE, GrantStatus.EXPIRED, GrantStatus.REVOKED):
                condition |= Q(state=RequestState.APPROVED, grant__status=value)
                condition |= Q(state=RequestState.APPROVED, grant__isnull=True, extends__status=value)
            elif value == RequestState.APPROVED:
                # As `api_state` shows it: an approved request with a grant shows the grant's state.
                condition |= Q(state=RequestState.APPROVED, grant__isnull=True, extends__isnull=True)
        return queryset.filter(condition)


class GrantFilterSet(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(field_name="status", choices=GrantStatus.choices)
    workflow = django_filters.CharFilter(field_name="workflow__slug", label="Workflow slug")
    entitlement = django_filters.CharFilter(field_name="entitlement__scope", label="Entitlement scope")
    subject = django_filters.CharFilter(method="filter_subject", label="Username, e-mail or workload slug")
    workload = django_filters.CharFilter(field_name="workload__slug", label="Workload slug")
    task_ref = django_filters.CharFilter()
    expiring_before = UtcIsoDateTimeFilter(field_name="expires_at", lookup_expr="lt")
    expiring_after = UtcIsoDateTimeFilter(field_name="expires_at", lookup_expr="gte")

    class Meta:
        model = Grant
        fields = ["state", "workflow", "entitlement", "subject", "workload", "task_ref"]

    def filter_subject(self, queryset, name, value):
        return queryset.filter(subject_q(value))


class QueueConnectionFilterSet(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=QueueKind.choices)
    enabled = django_filters.BooleanFilter()
    failing = django_filters.BooleanFilter(method="filter_failing", label="Its last call or check failed")

    class Meta:
        model = QueueConnection
        fields = ["kind", "enabled", "failing"]

    def filter_failing(self, queryset, name, value):
        return queryset.exclude(last_error="") if value else queryset.filter(last_error="")
