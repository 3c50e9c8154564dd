from django.apps import AppConfig


class IdentitiesConfig(AppConfig):
    name = "identities"
    verbose_name = "Identities"

    def ready(self):
        from auditlog.registry import auditlog

        from .models import ApiKey, IdentitySource, User, WorkloadIdentity

        auditlog.register(User, exclude_fields=["password", "last_login"])
        auditlog.register(IdentitySource)
        auditlog.register(WorkloadIdentity)
        auditlog.register(ApiKey, exclude_fields=["key_hash", "last_used_at"])
