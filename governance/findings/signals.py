"""Domain events of findings, sent inside the recomputation's transaction.

- `finding_opened`: finding (a problem seen for the first time, or back after it was resolved)
"""

from django.dispatch import Signal

finding_opened = Signal()
