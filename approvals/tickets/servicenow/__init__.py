from .adapter import ServiceNowAdapter

__all__ = ["ServiceNowAdapter"]
