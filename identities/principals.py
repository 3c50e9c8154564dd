"""The caller behind an API request made by a workload rather than a person."""


class WorkloadPrincipal:
    """Stands in `request.user` when a workload authenticates (API key or grant token).

    It is deliberately not a `User`: it has no primary key, no permissions and is never
    an owner, approver or audit-log actor, so a rule written for people cannot match a
    workload by accident. Rules that apply to workloads ask `is_workload` and read
    `.workload` (see `governance.permissions`).
    """

    is_workload = True
    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, workload, *, credential=None):
        self.workload = workload
        # The ApiKey, or the verified grant-token claims, that proved who this is.
        self.credential = credential

    def __str__(self):
        return f"workload {self.workload.slug}"

    def __repr__(self):
        return f"<WorkloadPrincipal {self.workload.slug}>"

    def __eq__(self, other):
        return isinstance(other, WorkloadPrincipal) and other.workload.pk == self.workload.pk

    def __hash__(self):
        return hash(("workload", self.workload.pk))

    @property
    def is_active(self):
        return self.workload.is_active

    @property
    def username(self):
        return f"workload:{self.workload.slug}"

    def get_username(self):
        return self.username

    def has_perm(self, perm, obj=None):
        return False

    def has_perms(self, perm_list, obj=None):
        return False

    def has_module_perms(self, app_label):
        return False
