from .adapter import PortalAdapter

__all__ = ["PortalAdapter"]
