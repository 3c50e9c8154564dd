"""`manage.py registry export|plan|apply|drift|schema`: the registry as code.

    registry export [--workflow SLUG] [--output FILE]
    registry plan FILE… [--as USERNAME] [--prune] [--json]
    registry apply FILE… --as USERNAME [--prune] [--plan-fingerprint FP] [--json]
    registry drift [--json]
    registry schema

`apply` acts as the named person (a registry administrator): the change log names them,
and what widens access waits for someone else's approval, exactly as in the portal.
`plan --as` carries the files out as that person and rolls back, so it refuses what the
apply would.
"""

import json
from pathlib import Path

from auditlog.context import set_actor
from django.core.management.base import BaseCommand, CommandError

from governance.exceptions import MandateError
from governance.registry_files import drift as drift_view
from governance.registry_files.apply import apply_document, check_document
from governance.registry_files.documents import RegistryFileError, read_files
from governance.registry_files.export import live_document, to_yaml
from governance.registry_files.plan import compute_plan, render
from governance.registry_files.schema import SCHEMA
from identities.models import User


class Command(BaseCommand):
    help = "Export, plan and apply the registry as YAML files; show drift since the last apply."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        export = commands.add_parser("export", help="Write today's registry as a registry file.")
        export.add_argument("--workflow", help="Only this workflow (its slug) and the entitlements it uses.")
        export.add_argument("--output", help="Write to this file instead of standard output.")
        plan = commands.add_parser("plan", help="Show what applying FILEs would change.")
        apply = commands.add_parser("apply", help="Apply FILEs (one transaction, through the services).")
        for command in (plan, apply):
            command.add_argument("files", nargs="+", metavar="FILE")
            command.add_argument("--prune", action="store_true", help="Retire what the files do not describe.")
            command.add_argument("--json", action="store_true", help="Answer in JSON.")
        apply.add_argument("--as", dest="username", required=True, help="The applying person (registry admin).")
        plan.add_argument("--as", dest="username", help="Check through the services as this person (then roll back).")
        apply.add_argument("--plan-fingerprint", help="Refuse unless the registry is as this plan found it.")
        drift = commands.add_parser("drift", help="Compare the registry with the last applied files.")
        drift.add_argument("--json", action="store_true", help="Answer in JSON.")
        commands.add_parser("schema", help="Print the JSON Schema of registry files.")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"do_{action}")(**options)
        except RegistryFileError as exc:
            raise CommandError("\n".join(["The files were refused:", *(str(p) for p in exc.problems)]))
        except MandateError as exc:
            raise CommandError(exc.message)

    def do_export(self, workflow=None, output=None, **options):
        text = to_yaml(live_document(workflow=workflow))
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")

    def read(self, files):
        contents = []
        for name in files:
            try:
                contents.append((name, Path(name).read_text(encoding="utf-8")))
            except OSError as exc:
                raise CommandError(f"{name}: {exc.strerror}.")
        return read_files(contents)

    def do_plan(self, files, username=None, prune=False, json=False, **options):
        if username:
            person = self.person(username)
            with set_actor(person):
                plan = check_document(self.read(files), by=person, prune=prune)
        else:
            plan = compute_plan(self.read(files).data, prune=prune)
        self.stdout.write(_json(plan.as_dict()) if json else render(plan), ending="")

    def person(self, username):
        person = User.objects.filter(username=username, is_active=True).first()
        if person is None:
            raise CommandError(f"No active person “{username}”.")
        return person

    def do_apply(self, files, username, prune=False, plan_fingerprint=None, json=False, **options):
        person = self.person(username)
        document = self.read(files)
        with set_actor(person):
            outcome = apply_document(document, by=person, prune=prune, plan_fingerprint=plan_fingerprint)
        if json:
            self.stdout.write(_json(_outcome_dict(outcome)), ending="")
            return
        self.stdout.write(render(outcome.plan), ending="")
        for change in outcome.pending:
            self.stdout.write(f"Waiting for approval: change #{change.pk}: {change.summary}")
        self.stdout.write(self.style.SUCCESS(f"Applied (application #{outcome.application.pk})."))

    def do_drift(self, json=False, **options):
        found = drift_view.compute_drift()
        self.stdout.write(_json(found.as_dict()) if json else drift_view.render(found), ending="")

    def do_schema(self, **options):
        self.stdout.write(_json(SCHEMA), ending="")


def _json(data):
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def _outcome_dict(outcome):
    return {
        "application": outcome.application.pk,
        "plan": outcome.plan.as_dict(),
        "pending": [{"id": c.pk, "kind": c.kind, "summary": c.summary} for c in outcome.pending],
    }
