"""The RFC 7644 protocol on top of `scim2-models`: query parameters, filters to ORM, PATCH, output.

`scim2-models` parses and validates (filters, paths, PatchOp, attributes /
excludedAttributes) and applies PATCH operations to a representation; this module maps
its filter tree onto Django lookups and turns its errors into `ScimError`.
"""

from django.db.models import Q
from django.utils.dateparse import parse_datetime
from pydantic import ValidationError
from scim2_models import Context, PatchOp, SCIMException, ScimFilter, SearchRequest
from scim2_models.path import Comparison, FilterVisitor
from scim2_models.path.expressions import CompareOperator, LogicalOperator

from .resources import ENTERPRISE_SCHEMA, PATCH_SCHEMA, ScimError
from .schema import MAX_PAGE, POLICY, Group, UserResource

# SCIM attribute path (lower-cased) -> (ORM field, kind). Kinds: text (case-insensitive),
# exact (case-exact text), id (a primary key), bool, date.
USER_FIELDS = {
    "id": ("pk", "id"),
    "username": ("username", "text"),
    "externalid": ("external_id", "exact"),
    "displayname": ("display_name", "text"),
    "name.givenname": ("first_name", "text"),
    "name.familyname": ("last_name", "text"),
    "emails": ("email", "text"),
    "emails.value": ("email", "text"),
    "active": ("is_active", "bool"),
    "meta.created": ("date_joined", "date"),
    "groups": ("directory_groups__pk", "id"),
    "groups.value": ("directory_groups__pk", "id"),
    f"{ENTERPRISE_SCHEMA.lower()}:manager": ("manager_id", "id"),
    f"{ENTERPRISE_SCHEMA.lower()}:manager.value": ("manager_id", "id"),
}
GROUP_FIELDS = {
    "id": ("pk", "id"),
    "displayname": ("display_name", "text"),
    "externalid": ("external_id", "exact"),
    "meta.created": ("created_at", "date"),
    "meta.lastmodified": ("updated_at", "date"),
    "members": ("members__pk", "id"),
    "members.value": ("members__pk", "id"),
}
_TEXT_LOOKUPS = {"eq": "iexact", "co": "icontains", "sw": "istartswith", "ew": "iendswith"}
_EXACT_LOOKUPS = {"eq": "exact", "co": "contains", "sw": "startswith", "ew": "endswith"}
_ORDER_LOOKUPS = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}
_NOTHING = Q(pk__in=[])


def _path(attr_path, prefix=""):
    name = f"{attr_path.attr}.{attr_path.sub_attr}" if attr_path.sub_attr else attr_path.attr
    if prefix:
        name = f"{prefix}.{name}"
    return f"{attr_path.uri}:{name}".lower() if attr_path.uri else name.lower()


class _ToQuery(FilterVisitor):
    """A filter tree as a Q object, over the attributes `fields` maps; others are refused."""

    def __init__(self, fields, prefix=""):
        self.fields, self.prefix = fields, prefix

    def _field(self, attr_path):
        path = _path(attr_path, self.prefix)
        if self.prefix == "emails" and path in {"emails.type", "emails.primary"}:
            return None, "constant"
        if path not in self.fields:
            raise ScimError(400, f"Filtering on “{path}” is not supported.", "invalidFilter")
        return self.fields[path]

    def visit_comparison(self, node):
        field, kind = self._field(node.attr_path)
        op, value = CompareOperator(node.op).value, node.value
        if kind == "constant":
            # Mandate keeps one address, the primary work one: `type eq "work"`, `primary eq true`.
            return Q() if op == "eq" and str(value).lower() in {"work", "true"} else _NOTHING
        if op == "ne":
            return ~self.visit_comparison(Comparison(node.attr_path, CompareOperator.eq, value))
        if kind == "bool":
            if op != "eq" or not isinstance(value, bool):
                raise ScimError(400, "A boolean attribute compares with eq true or eq false.", "invalidFilter")
            return Q(**{field: value})
        if kind == "id":
            if op != "eq":
                raise ScimError(400, "Identifiers compare with eq only.", "invalidFilter")
            return Q(**{field: int(value)}) if str(value).isdigit() else _NOTHING
        if kind == "date":
            moment = parse_datetime(str(value))
            if moment is None or op not in _ORDER_LOOKUPS and op != "eq":
                raise ScimError(400, f"“{value}” is not a date-time to compare with.", "invalidFilter")
            return Q(**{f"{field}__{_ORDER_LOOKUPS.get(op, 'exact')}": moment})
        if value is None or isinstance(value, bool):
            raise ScimError(400, f"“{_path(node.attr_path)}” compares with a string.", "invalidFilter")
        lookups = _TEXT_LOOKUPS if kind == "text" else _EXACT_LOOKUPS
        return Q(**{f"{field}__{lookups.get(op) or _ORDER_LOOKUPS[op]}": str(value)})

    def visit_present(self, node):
        field, kind = self._field(node.attr_path)
        if kind in {"constant", "bool"} or field == "pk":
            return Q()
        if kind in {"text", "exact"}:
            return ~Q(**{field: ""})
        return Q(**{f"{field}__isnull": False})

    def visit_not(self, node):
        return ~self.visit(node.expr)

    def visit_logical_expr(self, node):
        result = None
        for term in node.terms:
            q = self.visit(term)
            result = q if result is None else (result & q if node.op == LogicalOperator.and_ else result | q)
        return result

    def visit_value_path(self, node):
        prefix = _path(node.attr_path)
        inner = _ToQuery(self.fields, prefix=prefix).visit(node.val_filter)
        if node.sub_attr:
            raise ScimError(400, "A filter does not select a sub-attribute.", "invalidFilter")
        return inner


def search(params, model):
    """The validated query parameters of a list request (RFC 7644 §3.4.2) as a `SearchRequest`."""
    wanted = {key: params[key] for key in params if key != "filter"}
    try:
        with POLICY:
            request = SearchRequest[model].model_validate(wanted, scim_ctx=Context.SEARCH_REQUEST)
    except (SCIMException, ValidationError) as exc:
        raise _as_scim_error(exc, "invalidValue")
    return request


def filter_q(text, fields):
    """The Q object of a filter (RFC 7644 §3.4.2.2), parsed by scim2-models."""
    try:
        tree = ScimFilter(text).ast
    except SCIMException as exc:
        raise ScimError(400, f"Invalid filter: {exc.detail}", "invalidFilter")
    return _ToQuery(fields).visit(tree)


def ordering(request, fields):
    """The ORM ordering for sortBy / sortOrder (ascending by default, then by id)."""
    if not request.sort_by:
        return ["pk"]
    path = str(request.sort_by).lower()
    if path not in fields:
        raise ScimError(400, f"Sorting on “{request.sort_by}” is not supported.", "invalidValue")
    field = fields[path][0]
    descending = str(request.sort_order or "ascending").lower().endswith("descending")
    return [f"-{field}" if descending else field, "-pk" if descending else "pk"]


def page_bounds(request):
    # Past the last page is an empty page, not an offset the database refuses.
    start = min(max(request.start_index or 1, 1), 2**31)
    count = MAX_PAGE if request.count is None else min(max(request.count, 0), MAX_PAGE)
    return start, count


def render(model, resource, request=None, *, context=Context.RESOURCE_QUERY_RESPONSE):
    """A representation dict, narrowed to the request's attributes / excludedAttributes."""
    if request is None or not (request.attributes or request.excluded_attributes):
        return resource
    with POLICY:
        parsed = model.model_validate(resource, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        return parsed.model_dump(scim_ctx=context, response_parameters=request)


def response_parameters(params, model):
    """attributes / excludedAttributes of a GET, POST, PUT or PATCH (RFC 7644 §3.9)."""
    wanted = {key: params[key] for key in ("attributes", "excludedAttributes") if key in params}
    return search(wanted, model) if wanted else None


def _as_scim_error(exc, default_type):
    if isinstance(exc, SCIMException):
        return ScimError(exc.status, exc.detail, exc.scim_type or None)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, SCIMException):
        return ScimError(cause.status, cause.detail, cause.scim_type or default_type)
    detail = f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "Invalid request.")
    return ScimError(400, detail, default_type)


def _normalise(operation):
    """Two Entra ID habits, made standard before the operation is read.

    It sends the manager as a bare id string (the schema has {"value": id}), and member
    entries with `"$ref": null`, which would otherwise be compared as a criterion and
    match no member.
    """
    value = operation.get("value")
    path = str(operation.get("path") or "").lower()
    if path.endswith(":manager") and isinstance(value, str | int):
        return {**operation, "value": {"value": str(value)}}
    if isinstance(value, list):
        value = [{k: v for k, v in item.items() if v is not None} if isinstance(item, dict) else item for item in value]
        return {**operation, "value": value}
    return operation


def apply_patch(model, current, body):
    """The representation `current` after the PatchOp `body`, as a replacement request."""
    if PATCH_SCHEMA not in (body.get("schemas") or []):
        raise ScimError(400, f"A PATCH body must declare the schema {PATCH_SCHEMA}.", "invalidSyntax")
    operations = body.get("Operations")
    if isinstance(operations, list):
        body = {**body, "Operations": [_normalise(op) if isinstance(op, dict) else op for op in operations]}
    with POLICY:
        try:
            resource = model.model_validate(current, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
            patch = PatchOp[model].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
            patch.patch(resource)
        except (SCIMException, ValidationError) as exc:
            raise _as_scim_error(exc, "invalidSyntax")
        return resource.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)


def patch_user(current, body):
    return apply_patch(UserResource, current, body)


def patch_group(current, body):
    return apply_patch(Group, current, body)
