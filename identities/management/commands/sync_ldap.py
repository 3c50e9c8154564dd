"""Import people from the configured LDAP directory now, with a progress bar."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from identities.ldap_sync import DirectoryError, sync_ldap


class Command(BaseCommand):
    help = "Sync people (with manager and groups) from the LDAP directory set in LDAP_SYNC_* settings."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; change nothing.")
        parser.add_argument(
            "--allow-mass-deactivation",
            action="store_true",
            help="Go ahead even when more people would be deactivated than LDAP_SYNC_MAX_DEACTIVATIONS.",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (for logs and cron).")

    def handle(self, *args, dry_run=False, allow_mass_deactivation=False, no_progress=False, **options):
        def progress(entries):
            return tqdm(entries, desc="people", unit="person", file=self.stderr, disable=no_progress)

        try:
            result = sync_ldap(progress=progress, dry_run=dry_run, allow_mass_deactivation=allow_mass_deactivation)
        except DirectoryError as exc:
            raise CommandError(str(exc))
        for error in result.errors:
            self.stderr.write(self.style.WARNING(error))
        prefix = "Dry run, nothing changed: would have " if dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{prefix}{result}."))
