"""Print a new API key for a workload, for scripting: `issue_api_key <workload-slug>`."""

from django.core.management.base import BaseCommand, CommandError

from governance.exceptions import MandateError
from identities.models import WorkloadIdentity
from identities.services import issue_api_key


class Command(BaseCommand):
    help = "Issue a new API key for a workload identity and print it (once) on standard output."

    def add_arguments(self, parser):
        parser.add_argument("workload", help="The workload identity's slug.")
        parser.add_argument("--name", default="", help="A label to tell this key apart (e.g. where it is deployed).")

    def handle(self, *args, workload, name, **options):
        found = WorkloadIdentity.objects.filter(slug=workload).first()
        if found is None:
            raise CommandError(f"No workload identity “{workload}”.")
        try:
            key, plaintext = issue_api_key(workload=found, name=name or "issued by issue_api_key")
        except MandateError as exc:
            raise CommandError(exc.message)
        self.stderr.write(f"Key {key.prefix}… for {found.slug} (workflow {found.workflow.slug}). Shown once:")
        # Only the key on standard output, so `KEY=$(manage.py issue_api_key x)` works.
        self.stdout.write(plaintext)
