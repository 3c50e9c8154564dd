"""The workflow registry: filtered lists, registration and edits through the services."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import Workflow
from tests import factories

pytestmark = pytest.mark.django_db


def form_data(identity_source, control_owner, **overrides):
    data = {
        "name": "Invoice triage",
        "slug": "invoice-triage",
        "business_process": "Finance: accounts payable",
        "description": "",
        "control_owner": control_owner.pk,
        "backup_owner": "",
        "identity_source": identity_source.pk,
        "risk_tier": "medium",
        "review_cycle_days": 90,
        "review_grace_days": 7,
        "missed_review_action": "revoke",
        "status": "draft",
    }
    data.update(overrides)
    return data


class TestTheList:
    def test_search_and_filters_narrow_the_registry(self, as_auditor, owner, identity_source):
        factories.WorkflowFactory(name="Ticket summaries", risk_tier="low", control_owner=owner)
        factories.WorkflowFactory(name="Coding agent", risk_tier="high", status="suspended")
        factories.WorkflowFactory(
            name="Finance drafts", risk_tier="high", next_review_due=timezone.now() - timedelta(days=2)
        )
        url = reverse("governance:workflow_list")

        def names(**query):
            return [wf.name for wf, _ in as_auditor.get(url, query).context["rows"]]

        assert names(q="summar") == ["Ticket summaries"]
        assert names(risk_tier="high") == ["Coding agent", "Finance drafts"]
        assert names(status="suspended") == ["Coding agent"]
        assert names(owner=owner.pk) == ["Ticket summaries"]
        assert names(overdue="on") == ["Finance drafts"]

    def test_people_see_the_active_catalogue_and_what_they_own_only(self, as_outsider, outsider):
        factories.WorkflowFactory(name="Active elsewhere")
        factories.WorkflowFactory(name="Someone's draft", status="draft")
        factories.WorkflowFactory(name="My draft", status="draft", control_owner=outsider)
        rows = as_outsider.get(reverse("governance:workflow_list")).context["rows"]
        assert [wf.name for wf, _ in rows] == ["Active elsewhere", "My draft"]

    def test_the_list_paginates_with_a_fixed_number_of_queries(self, as_auditor, django_assert_max_num_queries):
        for i in range(30):
            workflow = factories.WorkflowFactory(backup_owner=factories.UserFactory())
            factories.WorkloadIdentityFactory(workflow=workflow, owner=workflow.control_owner, slug=f"wl-{i}")
        with django_assert_max_num_queries(10):
            response = as_auditor.get(reverse("governance:workflow_list"))
        assert len(response.context["rows"]) == 25
        assert response.context["page"].paginator.num_pages == 2
        assert b"Showing 1\xe2\x80\x9325 of 30" in response.content


class TestRegistering:
    def test_a_person_registers_a_workflow_they_own(self, as_owner, owner, identity_source):
        response = as_owner.post(reverse("governance:workflow_create"), form_data(identity_source, owner))
        workflow = Workflow.objects.get(slug="invoice-triage")
        assert response.status_code == 302 and response["Location"] == workflow.get_absolute_url()
        assert workflow.control_owner == owner and workflow.status == "draft"
        assert workflow.next_review_due > timezone.now() + timedelta(days=89)

    def test_validation_messages_name_the_field(self, as_owner, owner, identity_source):
        data = form_data(identity_source, owner, backup_owner=owner.pk, review_cycle_days=0, business_process="")
        response = as_owner.post(reverse("governance:workflow_create"), data)
        assert response.status_code == 400
        errors = response.context["form"].errors
        assert "business_process" in errors
        assert not Workflow.objects.filter(slug="invoice-triage").exists()
        data = form_data(identity_source, owner, backup_owner=owner.pk, review_cycle_days=400)
        errors = as_owner.post(reverse("governance:workflow_create"), data).context["form"].errors
        assert errors["backup_owner"] == ["The backup owner must be someone other than the control owner."]
        assert errors["review_cycle_days"] == ["The review cycle must be between 1 and 366 days."]
        assert b"Please correct" in as_owner.post(reverse("governance:workflow_create"), data).content

    def test_each_error_shows_once_under_its_label_never_its_raw_name(self, as_owner, owner, identity_source):
        data = form_data(identity_source, owner, review_cycle_days=400)
        page = as_owner.post(reverse("governance:workflow_create"), data).content.decode()
        message = "The review cycle must be between 1 and 366 days."
        summary = page.split("Please correct:", 1)[1].split("</div>\n</div>", 1)[0]
        assert summary.count(message) == 1 and "Review cycle" in summary
        assert "review_cycle_days:" not in page

    def test_a_slug_in_use_is_refused_with_a_message(self, as_owner, owner, identity_source, workflow):
        data = form_data(identity_source, owner, slug=workflow.slug)
        errors = as_owner.post(reverse("governance:workflow_create"), data).context["form"].errors
        assert "already exists" in errors["slug"][0]

    def test_nobody_registers_a_workflow_for_others_only(self, as_requester, owner, identity_source):
        response = as_requester.post(reverse("governance:workflow_create"), form_data(identity_source, owner))
        assert response.status_code == 400
        assert "Name yourself control owner or backup owner." in response.context["form"].errors["control_owner"]

    def test_auditors_cannot_register(self, as_auditor, owner, identity_source):
        assert as_auditor.get(reverse("governance:workflow_create")).status_code == 403
        assert (
            as_auditor.post(reverse("governance:workflow_create"), form_data(identity_source, owner)).status_code == 403
        )


class TestEditing:
    def edit(self, client, workflow, **changes):
        data = form_data(
            workflow.identity_source,
            workflow.control_owner,
            name=workflow.name,
            slug=workflow.slug,
            business_process=workflow.business_process,
            backup_owner=workflow.backup_owner_id or "",
            status=workflow.status,
            review_cycle_days=workflow.review_cycle_days,
        )
        data.update(changes)
        return client.post(reverse("governance:workflow_edit", args=[workflow.slug]), data)

    def test_an_owner_edits_and_a_shorter_cycle_brings_the_review_forward(self, as_backup, workflow):
        response = self.edit(as_backup, workflow, risk_tier="high", review_cycle_days=30)
        assert response.status_code == 302
        workflow.refresh_from_db()
        assert workflow.risk_tier == "high"
        assert workflow.next_review_due < timezone.now() + timedelta(days=31)

    def test_the_missed_review_consequence_is_set_on_the_form_and_shown_on_the_about_card(self, as_owner, workflow):
        assert self.edit(as_owner, workflow, missed_review_action="suspend").status_code == 302
        workflow.refresh_from_db()
        assert workflow.missed_review_action == "suspend"
        about = (
            as_owner.get(workflow.get_absolute_url()).content.decode().split('id="about-h"')[1].split("</section>")[0]
        )
        assert "Missed review" in about and "suspend the workloads" in about
        assert "Ticket queue" in about and "Mandate's own inbox" in about

    def test_only_owners_edit(self, as_outsider, as_auditor, workflow):
        assert self.edit(as_outsider, workflow, risk_tier="low").status_code == 403
        assert as_auditor.get(reverse("governance:workflow_edit", args=[workflow.slug])).status_code == 403
        workflow.refresh_from_db()
        assert workflow.risk_tier == "medium"

    def test_a_retired_workflow_does_not_come_back(self, as_owner, workflow):
        assert self.edit(as_owner, workflow, status="retired").status_code == 302
        workflow.refresh_from_db()
        response = self.edit(as_owner, workflow, status="active")
        assert response.status_code == 409
        assert b"A retired workflow cannot become active." in response.content
        workflow.refresh_from_db()
        assert workflow.status == "retired"

    def test_the_edit_form_needs_post_with_csrf(self, owner, workflow):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(owner)
        assert self.edit(client, workflow, risk_tier="low").status_code == 403
