from django.core.management.base import BaseCommand

from approvals.tokens import create_signing_key, verification_keys


class Command(BaseCommand):
    help = (
        "Create a new grant-token signing key. The previous key stops signing but stays in the JWKS "
        "until every token it signed has expired."
    )

    def handle(self, *args, **options):
        key = create_signing_key()
        self.stdout.write(self.style.SUCCESS(f"New signing key {key.kid}."))
        for other in verification_keys().exclude(pk=key.pk):
            self.stdout.write(f"  {other.kid} kept for verification until {other.verify_until:%Y-%m-%d %H:%M:%S %Z}")
