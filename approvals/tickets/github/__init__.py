from .adapter import GitHubIssuesAdapter

__all__ = ["GitHubIssuesAdapter"]
