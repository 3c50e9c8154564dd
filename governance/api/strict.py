"""Strict input for the whole API: nothing a caller sends is silently dropped.

- `StrictSerializerMixin`: a body field the serializer does not accept (unknown, or read
  only such as `id` or `missed_review_action`) is a 400 naming each one. Every input
  serializer of the API derives from `StrictSerializer` / `StrictModelSerializer`
  (checked by `tests/api/test_strict_input.py`).
- `StrictFilterBackend`: a query parameter that is not a filter of the list's filterset,
  nor pagination or ordering, is a 400 naming it; so is any filter on a view that has
  none. Installed as the first filter backend in `REST_FRAMEWORK`.
"""

from collections.abc import Mapping

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

NOT_ACCEPTED = "This field is not accepted here."


class StrictSerializerMixin:
    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            accepted = {field.field_name for field in self._writable_fields}
            unknown = sorted(str(name) for name in data if name not in accepted)
            if unknown:
                read_only = [name for name in unknown if name in self.fields]
                detail = {
                    name: [NOT_ACCEPTED if name not in read_only else "This field is read-only."] for name in unknown
                }
                raise ValidationError(detail)
        return super().to_internal_value(data)


class StrictSerializer(StrictSerializerMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    pass


def accepted_query_parameters(view):
    """The query parameters a view understands: its filters, pagination and ordering."""
    names = {"format"}
    filterset_class = getattr(view, "filterset_class", None)
    if filterset_class is not None:
        names |= set(filterset_class.base_filters)
    paginator = getattr(view, "paginator", None)
    for attribute in ("limit_query_param", "offset_query_param", "page_query_param", "page_size_query_param"):
        if paginator is not None and getattr(paginator, attribute, None):
            names.add(getattr(paginator, attribute))
    if getattr(view, "ordering_fields", None) or getattr(view, "ordering", None):
        names.add(api_settings.ORDERING_PARAM)
    return names


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter's backend that refuses query parameters nobody reads."""

    def filter_queryset(self, request, queryset, view):
        unknown = sorted(set(request.query_params) - accepted_query_parameters(view))
        if unknown:
            raise ValidationError({name: ["Unknown filter: this list does not filter on it."] for name in unknown})
        return super().filter_queryset(request, queryset, view)
