"""Reference fields: objects are named the way people and agents name them."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from identities.models import IdentitySource, User


class SlugReferenceField(serializers.SlugRelatedField):
    """A related object by a text key; text the database cannot hold (NUL) is simply invalid."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


class UsernameField(SlugReferenceField):
    """A person by username (active people only as input)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "username")
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", User.objects.filter(is_active=True))
        super().__init__(**kwargs)


class IdentitySourceField(SlugReferenceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "slug")
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", IdentitySource.objects.all())
        super().__init__(**kwargs)


@extend_schema_field(OpenApiTypes.STR)
class VisibleSlugField(SlugReferenceField):
    """A related object by slug, among those the caller may see (else 'does not exist').

    `visible` is a function of the user (from `governance.permissions`), so an input can
    never name an object the caller may not see: the answer is the same as for a typo.
    """

    def __init__(self, visible, noun="object", **kwargs):
        self.visible = visible
        kwargs.setdefault("slug_field", "slug")
        super().__init__(**kwargs)
        self.error_messages["does_not_exist"] = f"No {noun} “{{value}}” that you can see."

    def get_queryset(self):
        return self.visible(self.context["request"].user)
