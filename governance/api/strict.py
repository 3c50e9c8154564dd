"""Strict input for the whole API: nothing a caller sends is silently dropped.

- `StrictSerializerMixin`: a body field the serializer does not accept (unknown, or read
  only such as `id` or `missed_review_action`) is a 400 naming each one. Every input
  serializer of the API derives from `StrictSerializer` / `StrictModelSerializer`
  (checked by `tests/api/test_strict_input.py`).
- `StrictFilterBackend`: a query parameter that is not a filter of the list's filterset,
  nor pagination or ordering, is a 400 naming it; so is any filter on a view that has
  none. Installed as the first filter backend in `REST_FRAMEWORK`.
- `StrictOrderingFilter`: `ordering` naming a field the list does not sort by is a 400
  naming that field (DRF's own filter drops it and answers in the default order); the
  schema lists the accepted values.
"""

from collections.abc import Mapping

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
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


class StrictOrderingFilter(OrderingFilter):
    """DRF's ordering, refusing what it would silently drop."""

    def get_ordering(self, request, queryset, view):
        terms = [term.strip() for term in request.query_params.get(self.ordering_param, "").split(",")]
        terms = [term for term in terms if term]
        if terms:
            valid = [name for name, _label in self.get_valid_fields(queryset, view, {"request": request})]
            unknown = [term for term in terms if term.lstrip("-") not in valid]
            if unknown:
                raise ValidationError(
                    {
                        self.ordering_param: [
                            f"Unknown ordering field: {', '.join(unknown)}. This list sorts by "
                            f"{', '.join(sorted(valid))} (prefix “-” for descending, separate several with commas)."
                        ]
                    }
                )
        return super().get_ordering(request, queryset, view)

    def get_schema_operation_parameters(self, view):
        fields = getattr(view, "ordering_fields", None)
        if not fields or fields == "__all__":
            return super().get_schema_operation_parameters(view)
        choices = [value for name in fields for value in (name, f"-{name}")]
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort by these fields (“-” for descending); an unknown field is a 400.",
                "schema": {"type": "array", "items": {"type": "string", "enum": choices}},
                "style": "form",
                "explode": False,
            }
        ]
