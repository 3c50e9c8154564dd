"""Strict input for the whole API: nothing a caller sends is silently dropped.

- `StrictSerializerMixin`: a body field the serializer does not accept (unknown, or read
  only such as `id` or `missed_review_action`) is a 400 naming each one. Every input
  serializer of the API derives from `StrictSerializer` / `StrictModelSerializer`
  (checked by `tests/api/test_strict_input.py`).
- `StrictFilterBackend`: a query parameter that is not a filter of the list's filterset,
  nor pagination or ordering, is a 400 naming it; so is any filter on a view that has
  none. Installed as the first filter backend in `REST_FRAMEWORK`.
- `refuse_unknown_parameters`: the same for views that read their query themselves
  (exports, the dossier), against the parameters their schema documents.
- `StrictOrderingFilter`: `ordering` naming a field the list does not sort by is a 400
  naming that field (DRF's own filter drops it and answers in the default order); the
  schema lists the accepted values.
"""

import re
from collections.abc import Mapping

from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import empty
from rest_framework.filters import OrderingFilter
from rest_framework.settings import api_settings
from rest_framework.validators import ProhibitSurrogateCharactersValidator

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


# What CharField refuses in text: NUL and lone surrogates (ProhibitNull/SurrogateCharactersValidator).
_UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")
_TEXT_RULES = {}


def _text_rules(serializer_class):
    """{name: (required, allow_blank, default, max_length)} if every field is a plain CharField, else None."""
    serializer = serializer_class()
    plain_validators = (MaxLengthValidator, ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator)
    if type(serializer).validate is not serializers.Serializer.validate:
        return None
    rules = {}
    for name, field in serializer.fields.items():
        if (
            type(field) is not serializers.CharField
            or field.read_only
            or field.allow_null
            or field.min_length is not None
            or not field.trim_whitespace
            or hasattr(serializer, f"validate_{name}")
            or any(not isinstance(validator, plain_validators) for validator in field.validators)
        ):
            return None
        rules[name] = (field.required, field.allow_blank, field.default, field.max_length)
    return rules


def plain_text_input(serializer_class, data):
    """What `serializer_class(data=data)` validates to, without building it; None to build it.

    For the hot path: DRF builds every field of a serializer afresh per request, which
    cost more than checking a few strings. Only for serializers made of plain CharFields;
    any input that is not text within their limits returns None, so the serializer runs
    and answers with the API's errors. `tests/api/test_plain_text_input.py` holds both to
    the same answers.
    """
    if serializer_class not in _TEXT_RULES:
        _TEXT_RULES[serializer_class] = _text_rules(serializer_class)
    rules = _TEXT_RULES[serializer_class]
    if rules is None or not isinstance(data, dict) or not data.keys() <= rules.keys():
        return None
    validated = {}
    for name, (required, allow_blank, default, max_length) in rules.items():
        if name not in data:
            if required:
                return None
            if default is not empty:
                validated[name] = default
            continue
        value = data[name]
        if type(value) is not str or _UNSAFE_TEXT.search(value):
            return None
        value = value.strip()
        if (not value and not allow_blank) or (max_length is not None and len(value) > max_length):
            return None
        validated[name] = value
    return validated


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


def refuse_unknown_parameters(request, parameters):
    """For a view without a filterset (exports, the dossier): a query parameter that is not
    one of `parameters` (the OpenApiParameters its schema documents, or names) is a 400
    naming it, as `StrictFilterBackend` answers for lists."""
    accepted = {"format"} | {getattr(parameter, "name", parameter) for parameter in parameters}
    unknown = sorted(set(request.query_params) - accepted)
    if unknown:
        raise ValidationError({name: ["Unknown query parameter: this endpoint does not read it."] for name in unknown})


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
