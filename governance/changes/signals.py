"""Domain events of registry changes, sent inside the services' transactions.

Keyword arguments: `registry_change_proposed`: change; `registry_change_decided`: change
(approved, denied or withdrawn; `change.decided_by` is who).
"""

from django.dispatch import Signal

registry_change_proposed = Signal()
registry_change_decided = Signal()
