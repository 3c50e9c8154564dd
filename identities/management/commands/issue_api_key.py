"""Print a new API key, for scripting.

manage.py issue_api_key <workload-slug>     a workload's key
manage.py issue_api_key --user <username>   a person's personal access token
"""

from django.core.management.base import BaseCommand, CommandError

from governance.exceptions import MandateError
from identities.models import User, WorkloadIdentity
from identities.services import issue_api_key


class Command(BaseCommand):
    help = "Issue a new API key for a workload identity (or a person) and print it, once, on standard output."

    def add_arguments(self, parser):
        parser.add_argument("workload", nargs="?", help="The workload identity's slug.")
        parser.add_argument("--user", help="Issue a personal access token for this username instead.")
        parser.add_argument("--name", default="", help="A label to tell this key apart (e.g. where it is deployed).")

    def handle(self, *args, workload=None, user=None, name="", **options):
        if bool(workload) == bool(user):
            raise CommandError("Name a workload slug, or --user USERNAME for a personal access token.")
        if workload:
            found = WorkloadIdentity.objects.filter(slug=workload).first()
            if found is None:
                raise CommandError(f"No workload identity “{workload}”.")
            holder, label = {"workload": found}, f"{found.slug} (workflow {found.workflow.slug})"
        else:
            person = User.objects.filter(username=user, is_active=True).first()
            if person is None:
                raise CommandError(f"No active person “{user}”.")
            holder, label = {"user": person}, f"{person.username} (personal access token)"
        try:
            key, plaintext = issue_api_key(**holder, name=name or "issued by issue_api_key")
        except MandateError as exc:
            raise CommandError(exc.message)
        self.stderr.write(f"Key {key.prefix}… for {label}. Shown once:")
        # Only the key on standard output, so `KEY=$(manage.py issue_api_key x)` works.
        self.stdout.write(plaintext)
