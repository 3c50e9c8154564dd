from django.core.management.base import BaseCommand

from governance.evidence.keys import published_keys, rotate_signing_key


class Command(BaseCommand):
    help = (
        "Make a new Ed25519 key the signer of evidence checkpoints. The previous private key is "
        "deleted; its public key stays published, so the checkpoints it signed still verify."
    )

    def handle(self, *args, **options):
        key_id = rotate_signing_key()
        self.stdout.write(self.style.SUCCESS(f"New evidence signing key {key_id}."))
        for key in published_keys():
            if key.key_id != key_id:
                self.stdout.write(f"  {key.key_id} retired, still published for verification")
