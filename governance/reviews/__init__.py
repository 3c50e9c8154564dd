"""Periodic access reviews: open a campaign, decide its items, close it, and apply the
workflow's consequence when its deadline passes.

Every function that changes state runs in one transaction and locks the campaign row
first (then its items, then the workflow), re-reading state after the lock, so a decision
racing the deadline sweep or a second browser tab is settled by the database. Revoking a
grant and suspending a workload go through the access-lifecycle services, so a review
revoke ends access at once and leaves the same audit trail as any other revoke.
"""
