"""Walk the evidence hash chains, check them against the signed checkpoints, and name the
first broken link of each broken chain."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from governance.evidence.models import EvidenceRecord
from governance.evidence.verification import verify_chains
from governance.models import Workflow


class Command(BaseCommand):
    help = (
        "Verify every workflow's evidence chain (or one, with --workflow): record hashes, links, "
        "sequence gaps, the chain head and the signed checkpoints (database and checkpoint file). "
        "Exits with status 1 if any chain is broken."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workflow", metavar="SLUG", help="verify only this workflow's chain")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, workflow=None, no_progress=False, **options):
        workflows = Workflow.objects.order_by("slug")
        if workflow:
            workflows = workflows.filter(slug=workflow)
            if not workflows.exists():
                raise CommandError(f"No workflow “{workflow}”.")
        total = EvidenceRecord.objects.filter(workflow__in=workflows).count()
        # The bar goes to stderr and hides itself when stderr is not a terminal (cron, CI).
        with tqdm(total=total, unit="rec", file=sys.stderr, disable=True if no_progress else None, leave=False) as bar:
            results = verify_chains(workflows.iterator(), progress=bar.update)
        broken = [r for r in results if not r.ok]
        verified = sum(r.records for r in results)
        for result in broken:
            self.stdout.write(self.style.ERROR(f"BROKEN: {result.problem}"))
        if broken:
            raise CommandError(f"{len(broken)} of {len(results)} evidence chains are broken.", returncode=1)
        pending = sum(r.pending for r in results)
        waiting = f" ({pending} recorded since, waiting to be chained)" if pending else ""
        self.stdout.write(self.style.SUCCESS(f"OK: {verified} records in {len(results)} chains verified{waiting}."))
