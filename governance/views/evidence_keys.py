"""GET /.well-known/evidence-keys.json: the public keys that sign evidence checkpoints."""

from django.http import JsonResponse

from governance.evidence.keys import key_set


def evidence_keys_view(request):
    """Public, briefly cacheable (a rotation adds a key); retired keys stay listed for good."""
    response = JsonResponse(key_set())
    response["Cache-Control"] = "public, max-age=300"
    return response
