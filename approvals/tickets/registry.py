"""From a connection's kind to its adapter class (dotted paths, imported on first use)."""

from django.utils.module_loading import import_string

from .base import ConnectionConfig, TicketAdapter
from .errors import TicketError

ADAPTERS = {
    "portal": "approvals.tickets.portal.PortalAdapter",
    "rt": "approvals.tickets.rt.RequestTrackerAdapter",
    "jira": "approvals.tickets.jira.JiraCloudAdapter",
    "jira_dc": "approvals.tickets.jira.JiraDataCenterAdapter",
    "servicenow": "approvals.tickets.servicenow.ServiceNowAdapter",
    "github": "approvals.tickets.github.GitHubIssuesAdapter",
}


def adapter_class(kind: str) -> type[TicketAdapter]:
    try:
        return import_string(ADAPTERS[kind])
    except KeyError:
        raise TicketError(f"Unknown ticket system “{kind}”.", permanent=True)


def get_adapter(config: ConnectionConfig, *, session=None) -> TicketAdapter:
    """The adapter for a connection's configuration."""
    return adapter_class(config.kind)(config, session=session)
