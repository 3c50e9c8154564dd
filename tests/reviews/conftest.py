"""Review personas: the agent under review is run by an engineer (the requester), so the
owners review it as a third party. Items about an owner (her assignment, her own agent)
are the subject of `test_nobody_certifies_their_own_access.py`."""

import pytest

from tests import factories


@pytest.fixture
def agent(db, workflow, requester):
    return factories.WorkloadIdentityFactory(workflow=workflow, owner=requester)
