"""Issue (or revoke) the bearer token an identity provider uses for SCIM provisioning."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from identities.choices import SourceKind
from identities.models import IdentitySource, ProvisioningToken
from identities.provisioning import source_for
from identities.services import issue_provisioning_token, revoke_provisioning_token


class Command(BaseCommand):
    help = "Issue a SCIM bearer token for an identity source (shown once), or revoke one by its prefix."

    def add_arguments(self, parser):
        parser.add_argument("source", help="Slug of the identity source the IdP provisions into.")
        parser.add_argument("--name", default="", help="What the token is for, e.g. 'Entra ID enterprise app'.")
        parser.add_argument("--create", action="store_true", help="Create the source (kind SCIM) if it is missing.")
        parser.add_argument("--revoke", metavar="PREFIX", help="Revoke the token with this prefix instead.")

    def handle(self, *args, source, name, create, revoke, **options):
        if create:
            identity_source = source_for(source, SourceKind.SCIM)
        else:
            identity_source = IdentitySource.objects.filter(slug=source).first()
            if identity_source is None:
                raise CommandError(f"No identity source “{source}” (use --create to make one).")
        if revoke:
            token = ProvisioningToken.objects.filter(identity_source=identity_source, prefix=revoke).first()
            if token is None:
                raise CommandError(f"No token {revoke} for {identity_source}.")
            revoke_provisioning_token(token)
            self.stdout.write(self.style.SUCCESS(f"Revoked {token.prefix}…"))
            return
        _token, plaintext = issue_provisioning_token(identity_source, name=name)
        self.stderr.write(f"SCIM token for {identity_source} (shown once, store it in the IdP now).")
        self.stderr.write(f"Base URL: {settings.SITE_URL}/scim/v2/")
        # Only the token on standard output, so `TOKEN=$(manage.py issue_scim_token x)` works.
        self.stdout.write(plaintext)
