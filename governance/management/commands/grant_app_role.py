from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from governance.database_roles import RESTRICTED, RoleError, grant_app_role


class Command(BaseCommand):
    help = (
        "As the tables' owner, grant the app's database role (DATABASE_APP_ROLE) what it needs and no "
        "more: on evidence only INSERT and SELECT. Run after every migrate (make migrate does)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--role", help="the app role (default: DATABASE_APP_ROLE, the user of DATABASE_URL)")

    def handle(self, *args, role=None, **options):
        role = role or settings.DATABASE_APP_ROLE
        if not role:
            raise CommandError("No app role: set DATABASE_APP_ROLE or pass --role.")
        try:
            grants = grant_app_role(role)
        except RoleError as exc:
            raise CommandError(str(exc)) from exc
        restricted = [f"{table}: {', '.join(grants[table])}" for table in RESTRICTED if table in grants]
        self.stdout.write(self.style.SUCCESS(f"Granted {role} access to {len(grants)} tables."))
        for line in restricted:
            self.stdout.write(f"  {line}")
