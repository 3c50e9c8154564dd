"""Send the evidence not yet delivered to a SIEM as OCSF events, now (the periodic job's work)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from governance.evidence.stream import stream_events
from governance.evidence.transports import DeliveryError, open_transport


class Command(BaseCommand):
    help = "Stream sealed evidence as OCSF events to OCSF_STREAM_URL (or --url), resuming from the last sent position."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="", help="syslog+tcp://…, syslog+tls://… or http(s)://…")
        parser.add_argument("--stream", default="", help="The position's name (default: OCSF_STREAM_NAME).")
        parser.add_argument("--batch", type=int, default=0, help="Records per batch (default: OCSF_STREAM_BATCH).")

    def handle(self, *args, url, stream, batch, **options):
        url = url or settings.OCSF_STREAM_URL
        if not url:
            raise CommandError("No destination: set OCSF_STREAM_URL or pass --url.")
        try:
            transport = open_transport(
                url,
                ca_file=settings.OCSF_STREAM_CA_FILE,
                token=settings.OCSF_STREAM_TOKEN,
                timeout=settings.OCSF_STREAM_TIMEOUT,
            )
        except DeliveryError as exc:
            raise CommandError(exc.message)
        summary = stream_events(
            transport, stream=stream or settings.OCSF_STREAM_NAME, batch_size=batch or settings.OCSF_STREAM_BATCH
        )
        self.stdout.write(f"Sent {summary['sent']} events in {summary['batches']} batches to {transport!r}.")
        if summary["error"]:
            raise CommandError(f"Stopped: {summary['error']} The next run resumes from the last delivered event.")
