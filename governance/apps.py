from django.apps import AppConfig
from django.db.models.signals import post_migrate


def create_periodic_jobs(sender, app_config=None, using="default", **kwargs):
    from .schedule import sync_periodic_jobs  # the schedule's models are loaded only now

    sync_periodic_jobs(using=using)


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self):
        # Wiring that must exist in every process (web and worker alike): change logging,
        # the evidence receivers of the lifecycle events, the counters fed by them, the outbox
        # handlers of review tickets, and the periodic schedule after each migrate.
        from auditlog.registry import auditlog

        from approvals.services import authorization, expiry

        from .evidence import account_receivers, decisions, intake, receivers  # noqa: F401
        from .metrics import receivers as metric_receivers
        from .models import (
            Entitlement,
            Finding,
            Policy,
            RegistryChange,
            ReminderDigest,
            ReminderLog,
            ReviewCampaign,
            ReviewItem,
            WebhookSubscription,
            Workflow,
        )
        from .outbound import delivery as webhook_delivery  # noqa: F401
        from .outbound import events as webhook_events  # noqa: F401
        from .reviews import tickets  # noqa: F401

        auditlog.register(Workflow)
        auditlog.register(Entitlement)
        auditlog.register(Policy)
        auditlog.register(RegistryChange)
        auditlog.register(ReviewCampaign)
        auditlog.register(ReviewItem)
        auditlog.register(ReminderDigest, exclude_fields=["last_error"])
        auditlog.register(ReminderLog)
        # Who receives which events; the sealed secrets stay out of the change log.
        auditlog.register(WebhookSubscription, exclude_fields=["secret_sealed", "previous_secret_sealed", "updated_at"])
        # A finding's opening and resolution are logged; the periodic "still there" touch is not.
        auditlog.register(Finding, exclude_fields=["last_seen_at", "detail"])
        # EvidenceRecord is not registered: it is itself the append-only record, and logging each
        # insert again would double every event on the timeline. Its chain head is derived state.

        metric_receivers.connect()
        # On PostgreSQL the authorization check records its decision in its own statement,
        # and the sweeper a batch's evidence in the statement that ends the batch.
        authorization.record_decisions_with(decisions.decision_insert)
        expiry.record_batches_with(intake.ended_grants_insert)

        # Only after our own migrations (post_migrate fires once per app), so every table exists.
        post_migrate.connect(create_periodic_jobs, sender=self, dispatch_uid="governance.periodic_jobs")
