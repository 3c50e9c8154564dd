from .adapter import RequestTrackerAdapter

__all__ = ["RequestTrackerAdapter"]
