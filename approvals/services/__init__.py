"""State changes of access requests and grants. Views, the API, tasks and adapters call these."""

from .authorization import AuthorizationResult, authorize
from .credentials import reissue_grant_token
from .decisions import (
    cancel_pending_requests_of,
    cancel_request,
    check_can_decide,
    decide,
    time_out_pending_requests,
)
from .expiry import expire_due_grants
from .grants import (
    complete_task,
    expire_grant,
    issue_grant,
    revoke_grant,
    revoke_grants_of,
)
from .requests import extend_grant, submit_request
from .workloads import reactivate_workload, retire_workload, suspend_workload

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
    "retire_workload",
    "revoke_grant",
    "revoke_grants_of",
    "submit_request",
    "suspend_workload",
    "time_out_pending_requests",
]
