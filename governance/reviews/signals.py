"""Domain events of access reviews, for the evidence trail.

Sent by the review services *inside* their transaction, with `sender=ReviewCampaign`, so
what a receiver writes (an evidence record) commits or rolls back with the change.
Receivers must not do slow I/O. Keyword arguments:
- `campaign_opened`: campaign
- `review_item_decided`: campaign, item, by (None when Mandate decided)
- `review_deadline_missed`: campaign, action (MissedReviewAction)
- `campaign_closed`: campaign
"""

from django.dispatch import Signal

campaign_opened = Signal()
review_item_decided = Signal()
review_deadline_missed = Signal()
campaign_closed = Signal()
