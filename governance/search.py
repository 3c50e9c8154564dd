"""The header's search: workflows, workloads, people and access requests the caller may see.

One query per kind, each limited, each built on the same visibility rules as the pages the
results link to, so a result never leads to a 403 or 404.
"""

import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q

from governance import permissions

LIMIT = 10
REQUEST_NUMBER = re.compile(r"^#?(\d{1,9})$")


@dataclass
class SearchResults:
    query: str
    workflows: list = field(default_factory=list)
    workloads: list = field(default_factory=list)
    people: list = field(default_factory=list)
    requests: list = field(default_factory=list)

    @property
    def empty(self):
        return not (self.workflows or self.workloads or self.people or self.requests)


def visible_people(user):
    """People the caller may find: everyone for auditors; otherwise oneself and the owners of
    the workflows and workloads one may see (the names the pages already show)."""
    people = get_user_model().objects.filter(is_active=True)
    if permissions.is_auditor(user):
        return people
    if not permissions.is_person(user):
        return people.none()
    workflows = permissions.visible_workflows(user).values("pk")
    workloads = permissions.visible_workloads(user).values("pk")
    return people.filter(
        Q(pk=user.pk)
        | Q(controlled_workflows__in=workflows)
        | Q(backup_workflows__in=workflows)
        | Q(owned_workloads__in=workloads)
    ).distinct()


def search(user, query):
    """What `query` finds for `user`: at most LIMIT of each kind, best-known first."""
    query = query.strip()[:100]
    results = SearchResults(query=query)
    if len(query) < 2 and not REQUEST_NUMBER.match(query):
        return results
    results.workflows = list(
        permissions.visible_workflows(user)
        .filter(Q(name__icontains=query) | Q(slug__icontains=query) | Q(business_process__icontains=query))
        .select_related("control_owner")
        .order_by("name")[:LIMIT]
    )
    results.workloads = list(
        permissions.visible_workloads(user)
        .filter(Q(name__icontains=query) | Q(slug__icontains=query) | Q(external_principal__icontains=query))
        .select_related("workflow")
        .order_by("name")[:LIMIT]
    )
    results.people = list(
        visible_people(user)
        .filter(
            Q(username__icontains=query)
            | Q(display_name__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(email__icontains=query)
        )
        .order_by("display_name", "username")[:LIMIT]
    )
    number = REQUEST_NUMBER.match(query)
    matches = Q(task_ref__icontains=query) | (Q(pk=int(number.group(1))) if number else Q())
    results.requests = list(
        permissions.visible_requests(user)
        .filter(matches)
        .select_related("workflow", "entitlement", "requested_by", "workload", "on_behalf_of")
        .order_by("-created_at")[:LIMIT]
    )
    return results
