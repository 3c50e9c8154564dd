"""The base of every API viewset: visible objects only, writes through services.

Subclasses set `queryset`-producing `visible(user)` (404 for everything else), the
serializers, and `can_create` / `can_change` (403 when false), and implement
`create_object` / `update_object` by calling a service function. Nothing here saves.
"""

from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from governance.permissions import require


class ReadOnlyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and retrieve what the caller may see."""

    def visible(self, user):
        raise NotImplementedError

    def get_queryset(self):
        return self.visible(self.request.user)


class RegistryViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ReadOnlyViewSet):
    """List, retrieve, create and partially update (PATCH) through service functions."""

    http_method_names = ["get", "post", "patch", "head", "options"]
    # Serializer for the answer to writes (the read serializer); inputs use serializer_class.
    read_serializer_class = None
    create_denied = "You may not create this."
    change_denied = "You may not change this."

    def get_serializer_class(self):
        if self.action in ("list", "retrieve") and self.read_serializer_class:
            return self.read_serializer_class
        return self.serializer_class

    def can_create(self, user):
        raise NotImplementedError

    def can_change(self, user, obj):
        raise NotImplementedError

    def create_object(self, data):
        raise NotImplementedError

    def update_object(self, obj, data):
        raise NotImplementedError

    def answer(self, obj, status_code=status.HTTP_200_OK):
        serializer_class = self.read_serializer_class or self.serializer_class
        return Response(serializer_class(obj, context=self.get_serializer_context()).data, status=status_code)

    def create(self, request, *args, **kwargs):
        require(self.can_create(request.user), self.create_denied)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.answer(self.create_object(serializer.validated_data), status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        obj = self.get_object()
        require(self.can_change(request.user, obj), self.change_denied)
        serializer = self.get_serializer(obj, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self.answer(self.update_object(obj, serializer.validated_data))

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)
