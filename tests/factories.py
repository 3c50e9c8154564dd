"""factory_boy factories shared by every test module."""

from datetime import timedelta

import factory
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from governance.models import Entitlement, Policy, Workflow
from identities.models import IdentitySource, User, WorkloadIdentity

PASSWORD = "correct-horse-battery"


class IdentitySourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdentitySource
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Source {n}")
    slug = factory.Sequence(lambda n: f"source-{n}")
    kind = "local"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    display_name = factory.LazyAttribute(lambda u: u.username.title())
    identity_source = factory.SubFactory(IdentitySourceFactory)
    password = factory.django.Password(PASSWORD)


class AuditorFactory(UserFactory):
    @factory.post_generation
    def auditor_group(obj, create, extracted, **kwargs):
        group, _ = Group.objects.get_or_create(name="Security auditors")
        group.permissions.add(Permission.objects.get(codename="audit_all"))
        obj.groups.add(group)


class WorkflowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workflow

    name = factory.Sequence(lambda n: f"Workflow {n}")
    slug = factory.Sequence(lambda n: f"workflow-{n}")
    business_process = "Customer support"
    control_owner = factory.SubFactory(UserFactory)
    identity_source = factory.SubFactory(IdentitySourceFactory)
    risk_tier = "medium"
    status = "active"
    review_cycle_days = 90
    next_review_due = factory.LazyFunction(lambda: timezone.now() + timedelta(days=90))


class EntitlementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entitlement

    target_system = "github"
    scope = factory.Sequence(lambda n: f"github:repo{n}:read")
    access_level = "read"
    max_lifetime_seconds = 8 * 3600


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy

    workflow = factory.SubFactory(WorkflowFactory)
    entitlement = factory.SubFactory(EntitlementFactory)
    approval_mode = "default"
    max_ttl_seconds = 3600


class WorkloadIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkloadIdentity

    name = factory.Sequence(lambda n: f"Agent {n}")
    slug = factory.Sequence(lambda n: f"agent-{n}")
    kind = "ai_agent"
    owner = factory.SubFactory(UserFactory)
    workflow = factory.SubFactory(WorkflowFactory)
