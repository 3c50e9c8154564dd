"""Per-person notification preferences and Slack links: the state changes behind the
portal's notifications page."""

from django.db import transaction

from approvals.chat.models import NotificationPreference, SlackAccount
from governance.exceptions import NotAllowed


def preferences_of(user):
    """The person's preferences (defaults when never saved: everything on)."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)


def set_preferences(user, *, email, slack_dm):
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
        preference.email, preference.slack_dm = bool(email), bool(slack_dm)
        preference.save(update_fields=["email", "slack_dm", "updated_at"])
    return preference


def unlink_slack_account(user, account_id):
    """A person removes the link between themselves and a Slack user (theirs only)."""
    with transaction.atomic():
        account = SlackAccount.objects.select_for_update().filter(pk=account_id).first()
        if account is None or account.user_id != user.pk:
            raise NotAllowed("That Slack link is not yours.")
        account.delete()
