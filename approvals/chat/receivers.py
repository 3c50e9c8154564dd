"""Access-lifecycle events → chat outbox rows, in the same transaction as the change.

Connected in `ApprovalsConfig.ready`. Whatever channel decided (portal, ticket, API, Slack),
the Slack messages of the request are updated in place and Teams hears the outcome.
"""

from django.dispatch import receiver

from approvals import signals
from approvals.chat.delivery import queue_request_posts, queue_request_update


@receiver(signals.request_submitted, dispatch_uid="chat.request_submitted")
def post_pending_request(sender, request, **kwargs):
    queue_request_posts(request)


@receiver(signals.request_decided, dispatch_uid="chat.request_decided")
def update_after_decision(sender, request, approval=None, final=False, **kwargs):
    if approval is None:
        return  # the policy decided at submission: nothing was posted, nothing to update
    queue_request_update(request, event=f"decided:{approval.pk}", final=final)


@receiver(signals.request_closed, dispatch_uid="chat.request_closed")
def update_after_close(sender, request, **kwargs):
    queue_request_update(request, event=f"closed:{request.state}", final=True)
