"""Review reminders and escalations reach whoever may decide what is left of the review,
never the person an item is about: an item about an owner (her assignment, her agent, a
grant she holds, asked for, or that acts for her) chases the other owner, and an item no
owner may certify chases the security contact, before the due date as after it."""

import pytest
from django.core import mail

from governance.models import ReviewCampaign
from governance.reviews.selectors import campaign_deciders
from governance.reviews.services import decide_items
from tests import factories
from tests.reviews.helpers import DAY, DUE_DAY_10, T0, at, long_policy, person_grant, run_review_jobs, workload_grant

pytestmark = pytest.mark.django_db

OWNER, BACKUP, SECURITY = "owner@example.test", "backup@example.test", "security@example.test"


@pytest.fixture(autouse=True)
def _review_settings(settings, workflow):
    settings.SECURITY_CONTACT_EMAIL = SECURITY
    settings.SITE_URL = "https://mandate.example.test"
    settings.REVIEW_NOTICE_DAYS = 14
    workflow.next_review_due = DUE_DAY_10
    workflow.save()


def mails_by_day(first, last):
    """Run the review jobs each morning from day `first` to `last`; {day: sorted recipients}."""
    sent = {}
    for day in range(first, last + 1):
        before = len(mail.outbox)
        run_review_jobs(T0 + day * DAY)
        recipients = sorted(r for m in mail.outbox[before:] for r in m.to)
        if recipients:
            sent[day] = recipients
    return sent


def owners_agent(workflow, owner):
    return factories.WorkloadIdentityFactory(workflow=workflow, owner=owner, slug="fionas-agent")


def test_an_owner_whose_review_holds_only_her_own_access_is_never_chased(workflow, owner):
    owners_agent(workflow, owner)  # the review: her agent and her assignment
    assert mails_by_day(0, 20) == {
        0: [BACKUP],
        7: [BACKUP],
        9: [BACKUP],
        10: [BACKUP],
        11: [BACKUP, SECURITY],  # escalated: to who may decide, not to her
        18: [BACKUP, SECURITY],
    }


SUBJECTS = {
    "her own agent": lambda workflow, owner, requester: ("workload", owners_agent(workflow, owner)),
    "a grant she holds": lambda workflow, owner, requester: ("grant", person_grant(long_policy(workflow), owner)),
    "a grant acting for her": lambda workflow, owner, requester: (
        "grant",
        workload_grant(
            long_policy(workflow), factories.WorkloadIdentityFactory(workflow=workflow, owner=requester), owner
        ),
    ),
    "a grant held by her agent": lambda workflow, owner, requester: (
        "grant",
        workload_grant(long_policy(workflow), owners_agent(workflow, owner), requester),
    ),
}


@pytest.mark.parametrize("subject", SUBJECTS)
def test_once_the_owner_decided_her_part_only_the_backup_owner_hears_about_the_item_about_her(
    workflow, owner, requester, backup_owner, subject
):
    with at(T0):
        kind, thing = SUBJECTS[subject](workflow, owner, requester)
    run_review_jobs(T0)
    campaign = ReviewCampaign.objects.get()
    about_her = campaign.items.get(**{kind: thing})
    # She decides everything that is not hers (the other items, if any); her own items wait.
    hers = [about_her.pk, campaign.items.get(kind="ownership").pk]
    others = list(campaign.items.exclude(pk__in=hers).exclude(workload__owner=owner).values_list("pk", flat=True))
    with at(T0 + DAY):
        if others:
            decide_items(campaign, others, by=owner, decision="certify")
    deciders = campaign_deciders(campaign)
    assert owner not in deciders.everyone and deciders.first == (backup_owner,)
    assert mails_by_day(1, 20) == {
        7: [BACKUP],
        9: [BACKUP],
        10: [BACKUP],
        11: [BACKUP, SECURITY],
        18: [BACKUP, SECURITY],
    }


def test_without_a_backup_owner_the_security_contact_is_reminded_from_the_start(workflow, owner):
    workflow.backup_owner = None
    workflow.save()
    owners_agent(workflow, owner)
    assert mails_by_day(0, 11) == {0: [SECURITY], 7: [SECURITY], 9: [SECURITY], 10: [SECURITY], 11: [SECURITY]}


def test_an_item_both_owners_have_a_stake_in_goes_to_the_security_contact(workflow, owner, backup_owner):
    """The owner's agent acting for the backup owner: neither may certify its grant."""
    with at(T0):
        grant = workload_grant(long_policy(workflow), owners_agent(workflow, owner), backup_owner)
    run_review_jobs(T0)
    campaign = ReviewCampaign.objects.get()
    deciders = campaign_deciders(campaign)
    assert deciders.security == 1 and deciders.for_person(None) == 1
    assert campaign.items.get(grant=grant).is_pending
    assert SECURITY in {r for m in mail.outbox for r in m.to}
    security_mail = next(m for m in mail.outbox if m.to == [SECURITY])
    assert "You decide 1 of them" in security_mail.body
