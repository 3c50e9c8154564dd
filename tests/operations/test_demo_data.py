"""`load_demo` builds a believable organisation and is idempotent."""

import io

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from governance.models import Workflow

pytestmark = pytest.mark.django_db(transaction=False)

DEMO_APPS = ("identities", "governance", "approvals")


def snapshot():
    """Every row of every demo-relevant model, minus columns that record time of writing."""
    volatile = {"created_at", "updated_at", "last_login", "date_joined"}
    state = {}
    for label in DEMO_APPS:
        for model in apps.get_app_config(label).get_models():
            fields = [f.attname for f in model._meta.concrete_fields if f.attname not in volatile]
            state[model._meta.label] = sorted(map(repr, model.objects.values_list(*fields)))
    return state


def test_load_demo_twice_gives_the_same_database(settings):
    settings.DEMO_MODE = True
    call_command("load_demo", stdout=io.StringIO())
    first = snapshot()
    call_command("load_demo", stdout=io.StringIO())
    assert snapshot() == first


def test_demo_has_four_workflows_of_different_risk_tiers(settings):
    settings.DEMO_MODE = True
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    tiers = set(Workflow.objects.values_list("risk_tier", flat=True))
    assert Workflow.objects.filter(status="active").count() >= 4
    assert {"low", "medium", "high"} <= tiers
    for workflow in Workflow.objects.all():
        assert workflow.control_owner and workflow.backup_owner
        assert workflow.workloads.exists() and workflow.policies.exists()
    assert "olivia" in out.getvalue() and "mandate-demo" in out.getvalue()


def test_load_demo_refuses_outside_demo_mode(settings):
    settings.DEMO_MODE = False
    settings.DEBUG = False
    with pytest.raises(CommandError, match="published passwords"):
        call_command("load_demo", stdout=io.StringIO())
