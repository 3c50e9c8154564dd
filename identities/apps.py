from django.apps import AppConfig


class IdentitiesConfig(AppConfig):
    name = "identities"
    verbose_name = "Identities"

    def ready(self):
        # Models can be imported only once the app registry is ready, hence here.
        from auditlog.registry import auditlog

        from .models import (
            ApiKey,
            DirectoryGroup,
            IdentitySource,
            ProvisioningToken,
            SignInThrottle,
            User,
            WorkloadIdentity,
        )

        auditlog.register(User, exclude_fields=["password", "last_login"])
        # The sync bookkeeping changes every run; the people it changes are logged instead.
        auditlog.register(IdentitySource, exclude_fields=["last_synced_at", "last_sync_result"])
        auditlog.register(WorkloadIdentity)
        auditlog.register(ApiKey, exclude_fields=["key_hash", "last_used_at"])
        auditlog.register(ProvisioningToken, exclude_fields=["token_hash", "last_used_at"])
        auditlog.register(DirectoryGroup, m2m_fields={"members"})
        # Each counted failure, lockout and lift of a sign-in: the security trail of sign-ins.
        auditlog.register(SignInThrottle)
