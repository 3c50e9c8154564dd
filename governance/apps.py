from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self):
        from . import signals  # noqa: F401  (registers auditlog and beat schedule)
        from .evidence import receivers  # noqa: F401  (evidence for the approval domain events)
