"""State changes of access requests and grants. Views, the API, tasks and adapters call these."""

from .authorization import AuthorizationResult, authorize
from .credentials import reissue_grant_token
from .expiry import expire_due_grants
from .grants import (
    complete_task,
    expire_grant,
    extend_grant,
    issue_grant,
    reactivate_workload,
    revoke_grant,
    revoke_grants_of,
    suspend_workload,
)
from .requests import (
    cancel_pending_requests_of,
    cancel_request,
    check_can_decide,
    decide,
    submit_request,
    time_out_pending_requests,
)

__all__ = [
    "AuthorizationResult",
    "authorize",
    "cancel_pending_requests_of",
    "cancel_request",
    "check_can_decide",
    "complete_task",
    "decide",
    "expire_due_grants",
    "expire_grant",
    "extend_grant",
    "issue_grant",
    "reactivate_workload",
    "reissue_grant_token",
    "revoke_grant",
    "revoke_grants_of",
    "submit_request",
    "suspend_workload",
    "time_out_pending_requests",
]
