"""Recompute the stored findings from the live data."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.evidence.intake import seal_intake

from .models import Finding
from .rules import RULES
from .signals import finding_opened

logger = logging.getLogger(__name__)

UPDATABLE = ("severity", "workflow_id", "subject_type", "subject_id", "title", "detail", "fix_url", "fix_label")


def current_findings(now=None, rules=None):
    """Run every rule; return {fingerprint: FindingSpec}. Reads only."""
    now = now or timezone.now()
    found = {}
    for rule in rules or RULES:
        for spec in rule(now):
            found[spec.fingerprint] = spec
    return found


def recompute_findings(now=None):
    """Bring the stored findings in line with the data; return a small summary.

    New problems open a finding, problems still there keep theirs (refreshed), problems
    gone are resolved. The rules run outside the transaction (they only read); applying
    their result locks the open findings, so two runs at once apply one after the other.
    """
    now = now or timezone.now()
    seal_intake()  # the rules count authorization decisions, some still in the intake
    found = current_findings(now)
    for attempt in (1, 2):
        try:
            return _apply(found, now)
        except IntegrityError:
            # A concurrent run opened the same finding first; apply again on top of it.
            if attempt == 2:
                raise
            logger.info("findings recomputed concurrently; applying again")


@transaction.atomic
def _apply(found, now):
    open_findings = {f.fingerprint: f for f in Finding.objects.select_for_update().filter(resolved_at__isnull=True)}
    opened = resolved = 0
    for fingerprint, spec in found.items():
        finding = open_findings.get(fingerprint)
        if finding is None:
            finding = Finding.objects.create(
                kind=spec.kind,
                fingerprint=fingerprint,
                first_seen_at=now,
                last_seen_at=now,
                **{name: getattr(spec, name) for name in UPDATABLE},
            )
            finding_opened.send(sender=Finding, finding=finding)
            opened += 1
            continue
        changed = [name for name in UPDATABLE if getattr(finding, name) != getattr(spec, name)]
        for name in changed:
            setattr(finding, name, getattr(spec, name))
        finding.last_seen_at = now
        finding.save(update_fields=[*changed, "last_seen_at"])
    for fingerprint, finding in open_findings.items():
        if fingerprint not in found:
            finding.resolved_at = now
            finding.save(update_fields=["resolved_at"])
            resolved += 1
    return {"opened": opened, "resolved": resolved, "open": len(found)}
