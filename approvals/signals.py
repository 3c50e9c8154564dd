"""Domain events sent by the approval services *inside* their transaction.

Receivers run in the same transaction as the state change, so what they write (an
evidence record, an outbox row for the ticket queue) commits or rolls back with it.
Receivers must not do slow I/O: anything that talks to the outside world goes through an
outbox row or `transaction.on_commit`.

Every signal is sent with `sender` set to the model class and these keyword arguments:
- `request_submitted`: request (AccessRequest, any state after evaluation)
- `request_decided`: request, approval (Approval or None for a policy decision),
  final (bool: the request reached a terminal state)
- `request_closed`: request (became denied, cancelled or timed_out), reason
- `grant_issued`: grant
- `grant_extended`: grant, previous_expires_at, request (the extension request)
- `grant_ended`: grant (now expired or revoked), reason
- `grants_expired`: grants (list of `services.expiry.EndedGrant`), now, recorded (their
  evidence was written by the statement that ended them) — the sweeper's batch, sent
  once per batch instead of `grant_ended` per grant
- `authorization_checked`: result (AuthorizationResult), subject, workflow, scope, task_ref,
  resource, action (what the tool call is about to touch and do; may be empty),
  recorded (the decision's evidence was written by the check's own statement)
- `workload_suspended`: workload, reason, by
"""

from django.dispatch import Signal

request_submitted = Signal()
request_decided = Signal()
request_closed = Signal()
grant_issued = Signal()
grant_extended = Signal()
grant_ended = Signal()
grants_expired = Signal()
authorization_checked = Signal()
workload_suspended = Signal()
