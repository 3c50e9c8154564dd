"""Lift a sign-in lock or wait on an account name or client address, or list what is locked."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from identities.models import SignInThrottle, User
from identities.signin import lift_for


class Command(BaseCommand):
    help = "Lift the sign-in lock on an account name or address (or --list what is locked or waiting)."

    def add_arguments(self, parser):
        parser.add_argument("key", nargs="?", help="The account name or client address to unlock.")
        parser.add_argument("--by", default="", help="Username of the administrator lifting it (recorded).")
        parser.add_argument("--list", action="store_true", help="List the locks and waits in force.")

    def handle(self, *args, key, by, list, **options):
        now = timezone.now()
        if list:
            for row in SignInThrottle.objects.filter(failures__gt=0).order_by("scope", "key"):
                state = (
                    "locked" if row.is_locked(now) else "waiting" if (row.blocked_until or now) > now else "counting"
                )
                self.stdout.write(f"{row.scope}\t{row.key}\t{row.failures} failures\t{state}")
            return
        if not key:
            raise CommandError("Name the account or address to unlock (or use --list).")
        admin = None
        if by:
            admin = User.objects.filter(username=by, is_active=True).first()
            if admin is None:
                raise CommandError(f"No active person “{by}”.")
        lifted = lift_for(key, by=admin)
        if not lifted:
            raise CommandError(f"Nothing locked or counted for “{key}”.")
        self.stdout.write(self.style.SUCCESS(f"Lifted {lifted} sign-in lock(s) on “{key}”."))
