"""A workload's grant token, minted again on request (the first is shown only once)."""

from django.db import transaction
from django.utils import timezone

from governance.exceptions import IllegalTransition, InvalidInput

from ..choices import GrantStatus
from ..models import Grant
from ..tokens import mint_token


def reissue_grant_token(grant):
    """Mint a fresh token for an active workload grant; the previous token stops at once.

    Returns (grant, token). A grant approved later by an owner, or whose first token was
    lost, gets its token this way; only one token per grant works at any time.
    """

    with transaction.atomic():
        grant = Grant.objects.select_for_update(no_key=True).get(pk=grant.pk)
        if grant.workload_id is None:
            raise InvalidInput("Only a workload's grant has a token; people use their session or personal token.")
        if grant.status != GrantStatus.ACTIVE or grant.expires_at <= timezone.now():
            raise IllegalTransition(f"Grant #{grant.pk} has ended ({grant.status}); request access again.")
        return grant, mint_token(grant)
