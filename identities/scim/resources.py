"""SCIM representations (RFC 7643), filters and PATCH operations (RFC 7644), without I/O.

Mandate keeps what it governs with: user name, names, one e-mail address, active,
external id, manager (enterprise extension) and group membership. Other attributes an
IdP sends (phone numbers, addresses, titles…) are accepted and not stored.
"""

import hashlib
import json

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
    # Unassigned attributes are left out (RFC 7643 §2.5), not sent as empty strings.
    name = {key: value for key, value in (("givenName", user.first_name), ("familyName", user.last_name)) if value}
    resource = {
        "schemas": [USER_SCHEMA],
        "id": str(user.pk),
        "userName": user.username,
        "name": name,
        "displayName": user.display_name,
        "emails": [{"value": user.email, "type": "work", "primary": True}] if user.email else [],
        "active": user.is_active,
        "groups": [{"value": str(g.pk), "display": g.display_name} for g in user.directory_groups.all()],
    }
    resource = {key: value for key, value in resource.items() if value not in ("", {}, [])}
    resource["meta"] = {"resourceType": "User", "created": _iso(user.date_joined), "location": location}
    if user.external_id and not user.external_id.startswith(GENERATED_ID_PREFIX):
        resource["externalId"] = user.external_id
    if user.manager_id:
        resource["schemas"].append(ENTERPRISE_SCHEMA)
        manager_location = f"{location.rsplit('/Users/', 1)[0]}/Users/{user.manager_id}"
        resource[ENTERPRISE_SCHEMA] = {"manager": {"value": str(user.manager_id), "$ref": manager_location}}
    resource["meta"]["version"] = version(resource)
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
        base = location.rsplit("/Groups/", 1)[0]
        resource["members"] = [
            {"value": str(pk), "$ref": f"{base}/Users/{pk}", "type": "User"}
            for pk in sorted(group.members.values_list("pk", flat=True))
        ]
    # Every change of a group, its members included, moves `updated_at`: the version
    # follows it, so that it is the same whether or not the members were asked for.
    resource["meta"]["version"] = version({"id": resource["id"], "lastModified": group.updated_at.isoformat()})
    return resource


def version(resource):
    """The weak ETag of a representation (RFC 7644 §3.14): a digest of everything but `meta`.

    Computed from what the client sees, so it changes exactly when the representation does.
    """
    content = {key: value for key, value in resource.items() if key != "meta"}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:20]
    return f'W/"{digest}"'


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
    value = (chosen or {}).get("value") or ""
    if not isinstance(value, str):
        raise ScimError(400, "An e-mail address must be a string.", "invalidValue")
    return value


def manager_id(resource):
    """The manager's SCIM id from the enterprise extension; None if absent, "" if cleared."""
    extension = resource.get(ENTERPRISE_SCHEMA)
    if not isinstance(extension, dict) or "manager" not in extension:
        return None
    manager = extension["manager"]
    if isinstance(manager, dict):
        return str(manager.get("value") or "")
    return str(manager or "")


def member_ids(members):
    if not isinstance(members, list):
        raise ScimError(400, '“members” must be a list of {"value": id}.', "invalidValue")
    return [str(m.get("value")) for m in members if isinstance(m, dict) and m.get("value") is not None]
