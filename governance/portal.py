"""Small helpers shared by the portal's views in every app.

Views stay thin: they check a permission from `governance.permissions`, call one service
and show its outcome. Domain errors become a message on the page with the matching HTTP
status (403 separation of duties, 409 state already changed…), never a 500.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import render

from identities.services import IdentityError

from .exceptions import IllegalTransition, MandateError

PAGE_SIZE = 25


def paginate(request, queryset, per_page=PAGE_SIZE):
    """The requested page of `queryset` (bad page numbers fall back to the nearest page)."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def error_status(exc):
    """HTTP status for an error raised by a service."""
    if isinstance(exc, MandateError):
        return exc.http_status
    if isinstance(exc, IdentityError):
        return IllegalTransition.http_status
    return 400


SERVICE_ERRORS = (MandateError, IdentityError)


def error_message(exc):
    return getattr(exc, "message", None) or str(exc)


def apply_field_errors(form, exc):
    """Put a service's field errors on the form's fields (or on the form when unknown)."""
    field_errors = getattr(exc, "field_errors", {}) or {}
    placed = []
    for field, errors in field_errors.items():
        for error in errors if isinstance(errors, (list, tuple)) else [errors]:
            form.add_error(field if field in form.fields else None, error)
            placed.append(str(error))
    if error_message(exc) not in placed:
        form.add_error(None, error_message(exc))


def done(request, message, redirect_to):
    """After a successful POST: say what happened and redirect (post/redirect/get)."""
    messages.success(request, message)
    return HttpResponseRedirect(redirect_to)


def render_fragment_or_page(request, fragment, page, context, status=200):
    """htmx swaps the fragment in place; a plain browser gets the whole page."""
    return render(request, fragment if request.htmx else page, context, status=status)
