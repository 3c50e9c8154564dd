from .adapter import JiraCloudAdapter, JiraDataCenterAdapter

__all__ = ["JiraCloudAdapter", "JiraDataCenterAdapter"]
