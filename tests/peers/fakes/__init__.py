"""Stateful fakes of the SaaS ticket systems (see base.py for what they check and inject)."""

from .base import Fake
from .github import GitHubFake
from .jira import JiraFake
from .servicenow import ServiceNowFake

__all__ = ["Fake", "GitHubFake", "JiraFake", "ServiceNowFake"]
