"""DRF permission classes. They only route to `governance.permissions`, where the rules live."""

from rest_framework import permissions

from governance import permissions as rules


class IsActiveCaller(permissions.BasePermission):
    """Signed in, and not a suspended workload (a suspended workload may still be told no).

    Views that must answer a suspended workload (the authorization check, which explains
    the denial) set `allow_suspended_workload = True`.
    """

    message = "Authentication is required."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if rules.is_workload(user) and not user.is_active and not getattr(view, "allow_suspended_workload", False):
            self.message = f"Workload “{user.workload.slug}” is {user.workload.status}; it can do nothing."
            return False
        return True
