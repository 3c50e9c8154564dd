"""What Mandate's SCIM service is: the attributes it keeps and the capabilities it announces.

The models are built on `scim2-models` (RFC 7643 as pydantic models), narrowed to what
Mandate stores, so that `/Schemas` publishes exactly the attributes a client can read
back. Attributes an IdP sends beyond these (titles, phone numbers, departments…) are
accepted and dropped (`POLICY.unknown = ignore`): refusing them would stop provisioning
from Entra ID and Okta, which always send some.
"""

from typing import Annotated

from pydantic import Field
from scim2_models import (
    URN,
    AnyExtension,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Extension,
    Filter,
    Mutability,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    SchemaExtension,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)
from scim2_models import GroupMembership as _GroupMembership

from .resources import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA

MAX_PAGE = 200


class Name(ComplexAttribute):
    family_name: str | None = None
    given_name: str | None = None


class Email(ComplexAttribute):
    # Plain text rather than pydantic's EmailStr: SCIM does not restrict the form, and
    # the strict validator refuses reserved domains that directories do use.
    value: str | None = None
    type: str | None = Field(None, examples=["work"])
    primary: bool | None = None


class GroupMembership(_GroupMembership):
    pass


class User(Resource[AnyExtension]):
    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    name: Name | None = None
    display_name: str | None = None
    active: bool | None = None
    emails: list[Email] | None = None
    groups: Annotated[list[GroupMembership] | None, Mutability.read_only] = None


class Manager(ComplexAttribute):
    value: Annotated[str | None, CaseExact.true] = None
    """The SCIM id of the person's line manager."""

    ref: Reference["User"] | None = Field(None, serialization_alias="$ref", validation_alias="$ref")


class EnterpriseUser(Extension):
    __schema__ = URN(ENTERPRISE_SCHEMA)

    manager: Manager | None = None


UserResource = User[EnterpriseUser]


class GroupMember(ComplexAttribute):
    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    """The SCIM id of a person of the same source."""

    ref: Annotated[Reference["User"] | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])


class Group(Resource[AnyExtension]):
    __schema__ = URN(GROUP_SCHEMA)

    display_name: Annotated[str | None, Required.true] = None
    members: list[GroupMember] | None = None


# What IdPs send in practice, beyond the strict reading of RFC 7644: unknown attributes
# (dropped), `remove` with a value naming what to remove (Entra ID, group members), and
# a filtered path that matches nothing creating the entry (Entra ID, `emails[type eq
# "work"].value` on a person without a work address).
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

CONFIG = ServiceProviderConfig(
    documentation_uri=None,
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_PAGE),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=True),
    etag=ETag(supported=True),
    authentication_schemes=[
        AuthenticationScheme(
            type="oauthbearertoken",
            name="Bearer token",
            description="A provisioning token issued by `manage.py issue_scim_token` for one identity source.",
            primary=True,
        )
    ],
)

RESOURCE_TYPES = [
    ResourceType(
        id="User",
        name="User",
        endpoint="/Users",
        description="A person.",
        schema_=USER_SCHEMA,
        schema_extensions=[SchemaExtension(schema_=ENTERPRISE_SCHEMA, required=False)],
    ),
    ResourceType(id="Group", name="Group", endpoint="/Groups", description="A directory group.", schema_=GROUP_SCHEMA),
]

PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, Group], resource_types=RESOURCE_TYPES, config=CONFIG, policy=POLICY
)
