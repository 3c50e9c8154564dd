"""SCIM representations (RFC 7643), filters and PATCH operations (RFC 7644), without I/O.

Mandate keeps what it governs with: user name, names, one e-mail address, active,
external id, manager (enterprise extension) and group membership. Other attributes an
IdP sends (phone numbers, addresses, titles…) are accepted and not stored.
"""

import re

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
# External ids Mandate made up for people pushed without one; never shown as externalId.
GENERATED_ID_PREFIX = "mandate-scim:"


class ScimError(Exception):
    """An RFC 7644 §3.12 error: HTTP status, optional scimType, human-readable detail."""

    def __init__(self, status, detail, scim_type=None):
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type

    def as_dict(self):
        body = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


def _iso(moment):
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def user_resource(user, location):
    """The SCIM User for a person."""
    resource = {
        "schemas": [USER_SCHEMA],
        "id": str(user.pk),
        "userName": user.username,
        "name": {
            "givenName": user.first_name,
            "familyName": user.last_name,
            "formatted": user.get_full_name(),
        },
        "displayName": user.display_name or user.get_full_name(),
        "emails": [{"value": user.email, "type": "work", "primary": True}] if user.email else [],
        "active": user.is_active,
        "groups": [{"value": str(g.pk), "display": g.display_name} for g in user.directory_groups.all()],
        "meta": {"resourceType": "User", "created": _iso(user.date_joined), "location": location},
    }
    if user.external_id and not user.external_id.startswith(GENERATED_ID_PREFIX):
        resource["externalId"] = user.external_id
    if user.manager_id:
        resource["schemas"].append(ENTERPRISE_SCHEMA)
        resource[ENTERPRISE_SCHEMA] = {"manager": {"value": str(user.manager_id), "displayName": str(user.manager)}}
    return resource


def group_resource(group, location, *, with_members=True):
    """The SCIM Group for a directory group."""
    resource = {
        "schemas": [GROUP_SCHEMA],
        "id": str(group.pk),
        "displayName": group.display_name,
        "meta": {
            "resourceType": "Group",
            "created": _iso(group.created_at),
            "lastModified": _iso(group.updated_at),
            "location": location,
        },
    }
    if group.external_id:
        resource["externalId"] = group.external_id
    if with_members:
        resource["members"] = [{"value": str(u.pk), "display": str(u), "type": "User"} for u in group.members.all()]
    return resource


def as_bool(value, attribute="active"):
    """SCIM booleans; some IdPs (Entra ID) send them as the strings "True" and "False"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ScimError(400, f"“{attribute}” must be true or false.", "invalidValue")


def primary_email(resource):
    emails = resource.get("emails") or []
    if not isinstance(emails, list):
        raise ScimError(400, "“emails” must be a list.", "invalidValue")
    chosen = next((e for e in emails if isinstance(e, dict) and e.get("primary")), None)
    chosen = chosen or next((e for e in emails if isinstance(e, dict) and e.get("type") == "work"), None)
    chosen = chosen or next((e for e in emails if isinstance(e, dict)), None)
    return (chosen or {}).get("value") or ""


def manager_id(resource):
    """The manager's SCIM id from the enterprise extension; None if absent, "" if cleared."""
    extension = resource.get(ENTERPRISE_SCHEMA)
    if not isinstance(extension, dict) or "manager" not in extension:
        return None
    manager = extension["manager"]
    if isinstance(manager, dict):
        return str(manager.get("value") or "")
    return str(manager or "")


# --- Filters (RFC 7644 §3.4.2.2): `attribute eq "value"`, joined by `and` ------------

_COMPARISON = re.compile(r'\s*([A-Za-z][\w.:\[\]" -]*?)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*(?:(and)\s+|$)', re.IGNORECASE)


def parse_filter(text, attributes):
    """[(lookup, value)] for a filter of `eq` comparisons joined by `and`.

    `attributes` maps lower-cased SCIM attribute paths to ORM lookups. Anything else is
    an invalidFilter error, so a filter Mandate does not understand never lists everyone.
    """
    position, comparisons = 0, []
    while position < len(text):
        match = _COMPARISON.match(text, position)
        if not match:
            raise ScimError(400, f'Unsupported filter: {text!r}. Use: attribute eq "value" [and …].', "invalidFilter")
        attribute = re.sub(r"\s+", " ", match.group(1)).strip().lower()
        if attribute not in attributes:
            raise ScimError(400, f"Filtering on “{match.group(1).strip()}” is not supported.", "invalidFilter")
        comparisons.append((attributes[attribute], match.group(2).replace('\\"', '"')))
        position = match.end()
        if not match.group(3) and position < len(text):
            raise ScimError(400, f"Unsupported filter: {text!r}.", "invalidFilter")
    if not comparisons:
        raise ScimError(400, "Empty filter.", "invalidFilter")
    return comparisons


# --- PATCH (RFC 7644 §3.5.2) ---------------------------------------------------------

_MEMBER_VALUE_PATH = re.compile(r'^members\[\s*value\s+eq\s+"([^"]*)"\s*\]$', re.IGNORECASE)
_EMAIL_PATH = re.compile(r'^emails(\[\s*type\s+eq\s+"(\w+)"\s*\])?(\.value)?$', re.IGNORECASE)


def operations(body):
    """The validated (op, path, value) triples of a PatchOp message, op lower-cased."""
    if PATCH_SCHEMA not in (body.get("schemas") or []):
        raise ScimError(400, f"A PATCH body must declare the schema {PATCH_SCHEMA}.", "invalidSyntax")
    ops = body.get("Operations")
    if not isinstance(ops, list) or not ops:
        raise ScimError(400, "“Operations” must be a non-empty list.", "invalidSyntax")
    result = []
    for op in ops:
        name = str((op or {}).get("op", "")).lower()
        if name not in {"add", "replace", "remove"}:
            raise ScimError(400, f"Unknown PATCH operation {op.get('op')!r}.", "invalidSyntax")
        path = (op.get("path") or "").strip()
        if name == "remove" and not path:
            raise ScimError(400, "A remove operation needs a path.", "noTarget")
        if name != "remove" and "value" not in op:
            raise ScimError(400, f"The {name} operation needs a value.", "invalidSyntax")
        result.append((name, path, op.get("value")))
    return result


def patch_user(resource, ops):
    """Apply PATCH operations to a User representation; return the new representation."""
    resource = {**resource, "name": dict(resource.get("name") or {})}
    for op, path, value in ops:
        if not path:
            if not isinstance(value, dict):
                raise ScimError(400, "Without a path, the value must be an object of attributes.", "invalidValue")
            for key, item in value.items():
                _set_user_path(resource, op, key, item)
        else:
            _set_user_path(resource, op, path, value)
    return resource


def _set_user_path(resource, op, path, value):
    key = path
    if key.lower().startswith(USER_SCHEMA.lower() + ":"):
        key = key[len(USER_SCHEMA) + 1 :]
    if key.lower() == ENTERPRISE_SCHEMA.lower() and isinstance(value, dict):
        for sub, item in value.items():
            _set_user_path(resource, op, f"{ENTERPRISE_SCHEMA}:{sub}", item)
        return
    lowered = key.lower()
    if lowered == f"{ENTERPRISE_SCHEMA.lower()}:manager":
        resource[ENTERPRISE_SCHEMA] = {"manager": "" if op == "remove" else value}
    elif lowered in {"active", "username", "displayname", "externalid"}:
        canonical = {"active": "active", "username": "userName", "displayname": "displayName"}
        name = canonical.get(lowered, "externalId")
        if op == "remove":
            if name in {"active", "userName"}:
                raise ScimError(400, f"“{name}” cannot be removed.", "mutability")
            resource[name] = ""
        else:
            resource[name] = as_bool(value) if name == "active" else value
    elif lowered == "name" and isinstance(value, dict):
        resource["name"].update(value)
    elif lowered.startswith("name."):
        resource["name"][key.split(".", 1)[1]] = "" if op == "remove" else value
    elif _EMAIL_PATH.match(key):
        if op == "remove":
            raise ScimError(400, "A person's e-mail address cannot be removed.", "mutability")
        if isinstance(value, list):
            resource["emails"] = value
        else:
            resource["emails"] = [{"value": value, "type": _EMAIL_PATH.match(key).group(2) or "work", "primary": True}]
    # Anything else is an attribute Mandate does not keep: accepted, not stored.


def patch_group(ops):
    """What PATCH operations do to a group: (display_name or None, add, remove, replace or None)."""
    display_name, add, remove, replace = None, [], [], None
    for op, path, value in ops:
        lowered = path.lower()
        if not path and isinstance(value, dict):
            display_name = value.get("displayName", display_name)
            if "members" in value:
                replace = member_ids(value["members"])
        elif lowered == "displayname":
            display_name = value
        elif lowered == "members" and op == "add":
            add += member_ids(value)
        elif lowered == "members" and op == "replace":
            replace = member_ids(value)
        elif lowered == "members" and op == "remove":
            # Entra ID names the members in the value; without one, all members go.
            if value:
                remove += member_ids(value)
            else:
                replace = []
        elif _MEMBER_VALUE_PATH.match(path) and op == "remove":
            remove.append(_MEMBER_VALUE_PATH.match(path).group(1))
        elif lowered == "externalid":
            continue
        else:
            raise ScimError(400, f"Unsupported PATCH path for a group: {path!r}.", "invalidPath")
    return display_name, add, remove, replace


def member_ids(members):
    if not isinstance(members, list):
        raise ScimError(400, '“members” must be a list of {"value": id}.', "invalidValue")
    return [str(m.get("value")) for m in members if isinstance(m, dict) and m.get("value") is not None]
