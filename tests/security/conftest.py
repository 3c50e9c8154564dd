"""Fixtures borrowed for the rows of the no-500 table and the credential throttling that speak SCIM and Slack."""

from tests.chat.conftest import installation, slack  # noqa: F401
from tests.scim.conftest import scim, scim_source  # noqa: F401
