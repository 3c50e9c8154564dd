from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self):
        from auditlog.registry import auditlog

        from .models import AccessRequest, Approval, Grant, SigningKey

        auditlog.register(AccessRequest)
        auditlog.register(Approval)
        auditlog.register(Grant)
        auditlog.register(SigningKey, exclude_fields=["private_key_encrypted"])
