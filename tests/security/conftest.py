"""The SCIM client fixtures, for the rows of the no-500 table that speak SCIM."""

from tests.scim.conftest import scim, scim_source  # noqa: F401
