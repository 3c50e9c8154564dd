"""Every admin changelist and add page renders for a superuser."""

import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    import io

    from django.core.management import call_command

    settings.DEMO_MODE = True
    call_command("load_demo", stdout=io.StringIO())


def registered_models():
    return [model for model in admin.site._registry]


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_changelist_and_add_pages_render(demo, admin_client, model):
    opts = model._meta
    changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    # Models whose rows only services create refuse the add page on purpose.
    model_admin = admin.site._registry[model]
    expected = 200 if model_admin.has_add_permission(add.wsgi_request) else 403
    assert add.status_code == expected


def test_change_pages_render_for_every_demo_row_kind(demo, admin_client):
    rendered = []
    for model in registered_models():
        obj = model._default_manager.first()
        if obj is None:
            continue  # models the demo leaves empty (schedules it does not use, outbox rows…)
        opts = model._meta
        response = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert response.status_code == 200, opts.label
        rendered.append(opts.label)
    # The demo fills the governed models; make sure they were all looked at.
    for label in (
        "governance.Workflow",
        "approvals.AccessRequest",
        "approvals.Grant",
        "identities.WorkloadIdentity",
        "governance.EvidenceRecord",
        "governance.EvidenceChainHead",
        "governance.Finding",
    ):
        assert label in rendered
