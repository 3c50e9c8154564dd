"""Domain errors raised by service functions.

Views, the API and tasks never decide what an error means: they map these classes. The
API's exception handler turns them into 400 / 403 / 404 / 409 JSON responses, the portal
into a message on the page.
"""

from django.core.exceptions import PermissionDenied


class MandateError(Exception):
    """Base class. `message` is safe to show to the caller; `field_errors` maps fields."""

    http_status = 400
    code = "invalid"

    def __init__(self, message, *, field_errors=None, code=None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
        if code:
            self.code = code


class InvalidInput(MandateError):
    """The input is wrong (unknown workflow, duration above the maximum…): 400."""

    http_status = 400
    code = "invalid"


class CredentialRefused(MandateError):
    """The credential that authenticated the request no longer holds (revoked, expired): 401."""

    http_status = 401
    code = "not_authenticated"


class NotAllowed(MandateError, PermissionDenied):
    """The caller may see the object but may not do this (separation of duties…): 403.

    Also Django's `PermissionDenied`, so a portal view that lets it through answers with
    the 403 page and this message, as the API answers with its 403 shape.
    """

    http_status = 403
    code = "not_allowed"


class NotFound(MandateError):
    """The object does not exist or the caller may not see it: 404."""

    http_status = 404
    code = "not_found"


class IllegalTransition(MandateError):
    """The object is not in a state that allows this change: 409."""

    http_status = 409
    code = "illegal_transition"
