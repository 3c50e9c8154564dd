"""People ask for access in the browser; the form shows the policy's limits before the policy decides."""

import pytest
from django.urls import reverse

from approvals.models import AccessRequest

pytestmark = pytest.mark.django_db


def form(policy, **overrides):
    data = {
        "policy": policy.pk,
        "duration_seconds": 3600,
        "task_ref": "PLAT-10",
        "justification": "Fix the build",
        "idempotency_key": "form-1",
    }
    data.update(overrides)
    return data


def test_a_read_request_is_granted_at_once(as_requester, requester, read_policy):
    response = as_requester.post(reverse("approvals:request_create"), form(read_policy))
    request = AccessRequest.objects.get()
    assert response["Location"] == request.get_absolute_url()
    assert request.requested_by == requester and request.state == "approved"
    assert b"Approved by policy" in as_requester.get(response["Location"]).content


def test_a_write_request_goes_to_the_owners(as_requester, write_policy):
    response = as_requester.post(reverse("approvals:request_create"), form(write_policy), follow=True)
    assert AccessRequest.objects.get().state == "pending"
    assert b"Sent for approval" in response.content
    assert b"1 more needed from Owner or Backup" in response.content


def test_limits_and_required_fields_are_checked_before_submitting(as_requester, write_policy):
    data = form(write_policy, duration_seconds=4 * 3600, task_ref="", justification="")
    response = as_requester.post(reverse("approvals:request_create"), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["duration_seconds"] == ["The longest this access can be granted for is 2 h."]
    assert errors["task_ref"] == ["This access needs the ticket, run or job it is for."]
    assert errors["justification"] == ["Say why you need this access."]
    assert not AccessRequest.objects.exists()


def test_the_form_marks_what_the_chosen_policy_requires(as_requester, write_policy, read_policy):
    read_policy.task_ref_required = read_policy.justification_required = False
    read_policy.save(update_fields=["task_ref_required", "justification_required"])
    url = reverse("approvals:request_create")

    strict = as_requester.get(url, {"workflow": write_policy.workflow.slug})
    strict_form = strict.context["form"]
    assert strict_form.requirements[write_policy.pk] == {"task_ref": True, "justification": True}
    assert strict_form.requirements[read_policy.pk] == {"task_ref": False, "justification": False}
    assert 'id="policy-requirements"' in strict.content.decode()  # for the page's script

    bound = as_requester.post(url, form(write_policy, task_ref="", justification="")).context["form"]
    assert bound.fields["task_ref"].required and bound.fields["justification"].required
    page = as_requester.post(url, form(write_policy, task_ref="")).content.decode()
    label = page.split('for="id_task_ref"')[1].split("</label>")[0]
    assert "(required)" in label and "optional" not in label.lower()

    lenient = as_requester.post(url, form(read_policy, task_ref="", justification="", duration_seconds=10**9))
    assert not lenient.context["form"].fields["task_ref"].required


def test_submitting_twice_makes_one_request(as_requester, write_policy):
    as_requester.post(reverse("approvals:request_create"), form(write_policy))
    as_requester.post(reverse("approvals:request_create"), form(write_policy))
    assert AccessRequest.objects.count() == 1


def test_only_active_workflows_are_offered(as_requester, write_policy):
    workflow = write_policy.workflow
    workflow.status = "suspended"
    workflow.save()
    response = as_requester.post(reverse("approvals:request_create"), form(write_policy))
    assert response.status_code == 400 and not AccessRequest.objects.exists()


def test_auditors_do_not_request_access(as_auditor):
    assert as_auditor.get(reverse("approvals:request_create")).status_code == 403
