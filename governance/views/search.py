"""The header's search page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from governance.search import search


@login_required
@require_GET
def search_page(request):
    results = search(request.user, request.GET.get("q", ""))
    return render(request, "governance/search.html", {"results": results})
