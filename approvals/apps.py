from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self):
        from auditlog.registry import auditlog

        from .models import AccessRequest, Approval, Grant

        auditlog.register(AccessRequest)
        auditlog.register(Approval)
        auditlog.register(Grant)
