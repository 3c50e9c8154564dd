"""Domain events of the identities services, sent *inside* their transaction.

Receivers (evidence records, outbox rows…) write in the same transaction, so what they
write commits or rolls back with the change; no slow I/O in a receiver.

Every signal is sent with `sender` set to the model class and these keyword arguments:
- `person_deactivated`: user, by (a person or None for an identity source), reason,
  summary (the dict `deactivate_person` returns)
- `person_reactivated`: user, by, reason
- `workflow_owner_changed`: workflow, previous_owner, new_owner (None: the workflow is
  now unowned and suspended), by, reason
- `workload_owner_changed`: workload, previous_owner, new_owner, by, reason
- `sign_in_locked`: username (the account name as counted), failures, until (None: until
  an administrator lifts it)
- `sign_in_unlocked`: username, by (the administrator, or None for an operator's command)
- `api_key_refused`: key (the ApiKey a refused bearer value named by its prefix), reason
  (`revoked`, `expired`, `holder_deactivated`, `wrong_secret`), address, surface
"""

from django.dispatch import Signal

person_deactivated = Signal()
person_reactivated = Signal()
workflow_owner_changed = Signal()
workload_owner_changed = Signal()
sign_in_locked = Signal()
sign_in_unlocked = Signal()
api_key_refused = Signal()
