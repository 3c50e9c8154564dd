"""The drift page: how the registry differs from the last applied registry files, and who
changed what in the portal since (the security team and auditors)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from governance.permissions import require
from governance.registry_files.drift import compute_drift
from governance.roles import reads_whole_registry


@login_required
@require_GET
def registry_drift(request):
    require(
        reads_whole_registry(request.user),
        "The drift of the registry files is for the security team and auditors.",
    )
    return render(request, "governance/registry_drift.html", {"drift": compute_drift()})
