"""The ticket system failing 30 % of calls, then replayed, forged and reordered webhooks.

Requests of the PR coding agent need Bruno's approval: each opens a ticket in the real
Request Tracker, through the fault proxy (`tests/peers/faults.py`), which answers 500,
holds the call past the client's timeout, or lets RT do the work and drops the answer
(the case where a naive retry opens a second ticket). Then Bruno resolves half of the
tickets in RT, and signed webhooks for them arrive ten times at once and out of order,
beside forged ones for every ticket.
"""

import hashlib
import hmac
import json
import random

import requests

from ..load import Tally, call, in_parallel, session_for
from ..report import info, must_be_zero, must_hold
from ..world import CODER, CODER_SCOPE, CODER_WORKFLOW, RT_WEBHOOK_SECRET, wait_until

FLAKY, HOOKS = "ticket system failing 30 %", "replayed, forged, reordered webhooks"
PREFIX = "faults-rt-"
FAULTS = ("500", "timeout", "lost")


def _queue():
    from approvals.models import QueueConnection

    return QueueConnection.objects.get(name="Local Request Tracker")


def _links():
    from approvals.models import TicketLink

    return TicketLink.objects.filter(request__task_ref__startswith=PREFIX, request__isnull=False)


def run_flaky(world):
    if world.rt is None:
        return [must_hold(FLAKY, "Request Tracker reachable", "no", False, "yes")]
    from approvals.models import AccessRequest
    from approvals.queues.request_tickets import request_content

    count = world.scale(12, 60)
    queue = _queue()
    queue.options = {**(queue.options or {}), "timeout": 2}  # the proxy holds a "timeout" for 4 s
    queue.save(update_fields=["options"])
    chance = random.Random(19)
    world.proxy.faults.clear()
    world.proxy.seen.clear()
    world.proxy.inject(*(chance.choice(FAULTS) if chance.random() < 0.3 else "pass" for _ in range(5000)))
    tally = Tally()
    session = session_for(world.keys[CODER])
    for n in range(count):
        body = {
            "workflow": CODER_WORKFLOW,
            "entitlement": CODER_SCOPE,
            "duration_seconds": 3600,
            "on_behalf_of": "rachel",
            "task_ref": f"{PREFIX}{n}",
            "justification": "Fault suite: a flaky ticket system",
        }
        call(session, "POST", f"{world.base}/api/v1/access-requests/", tally, json=body)
    pending = AccessRequest.objects.filter(task_ref__startswith=PREFIX)
    linked = wait_until(lambda: _links().count() >= pending.count(), world.scale(150, 400), step=1)
    world.proxy.faults.clear()
    adapter = queue.adapter()
    per_request = [len(world.rt.tickets_tagged(adapter.tag_for(request_content(r)))) for r in pending]
    injected = sum(1 for _, _, fault in world.proxy.seen if fault in FAULTS)
    return [
        info(FLAKY, "requests / calls to RT / faults injected", f"{count} / {len(world.proxy.seen)} / {injected}"),
        must_be_zero(FLAKY, "5xx answers to the requests", tally.count(500, 599)),
        must_hold(FLAKY, "requests with a ticket", f"{_links().count()}/{pending.count()}", linked, "all"),
        must_be_zero(FLAKY, "requests with more than one ticket", sum(n > 1 for n in per_request)),
        must_be_zero(FLAKY, "requests without a ticket in RT", sum(n == 0 for n in per_request)),
    ]


def _signed(secret, payload):
    body = json.dumps(payload).encode()
    return body, "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def run_webhooks(world):
    if world.rt is None or not _links().exists():
        return [must_hold(HOOKS, "tickets from the previous scenario", "none", False, "some")]
    from approvals.models import Approval

    links = list(_links().select_related("request"))
    resolved, untouched = links[::2], links[1::2]
    for link in resolved:
        world.rt.act(link.external_key, "resolved", {"username": "bruno"}, password="mandate-demo")
    url = f"{world.base}/hooks/tickets/{_queue().pk}/"
    genuine, forged = [], []
    for link in resolved:
        for copy in range(10):
            # Ten copies, transactions in falling order: replayed and reordered.
            genuine.append(_signed(RT_WEBHOOK_SECRET, {"ticket": int(link.external_key), "transaction": 900 - copy}))
    for link in links:
        payload = {"ticket": int(link.external_key), "transaction": 1}
        body, good = _signed(RT_WEBHOOK_SECRET, payload)
        forged += [
            (body, _signed("not-the-secret", payload)[1]),
            (body, ""),
            (body, good.replace("sha256=", "sha1=")),
            (json.dumps({**payload, "ticket": payload["ticket"] + 1}).encode(), good),  # body changed after signing
        ]
    real, fake = Tally(), Tally()

    def send(tally):
        def one(local, item):
            if not hasattr(local, "session"):
                local.session = requests.Session()
            body, signature = item
            headers = {"Content-Type": "application/json"} | ({"X-Mandate-Signature": signature} if signature else {})
            return call(local.session, "POST", url, tally, data=body, headers=headers)

        return one

    in_parallel(send(fake), forged, threads=10)
    in_parallel(send(real), genuine, threads=10)
    per_request = {link.request_id: Approval.objects.filter(request_id=link.request_id).count() for link in links}
    decided = sum(per_request[link.request_id] > 0 for link in resolved)
    wrongly = sum(per_request[link.request_id] > 0 for link in untouched)
    refused = [fake.statuses[401], fake.statuses[429], fake.statuses[403]]
    return [
        info(HOOKS, "genuine (10 copies each, reordered) / forged deliveries", f"{len(genuine)} / {len(forged)}"),
        info(HOOKS, "forged deliveries answered 401 / 429 / 403", " / ".join(map(str, refused))),
        # Past API_AUTH_FAILURE_RATE failures the sender's address gets 429 (a wait) or 403
        # (a lock) instead of 401 for a bad signature: refusals all the same.
        must_be_zero(HOOKS, "forged deliveries accepted (not 401, 429 or 403)", fake.total - sum(refused)),
        must_be_zero(HOOKS, "double decisions", sum(n > 1 for n in per_request.values())),
        must_be_zero(HOOKS, "decisions on tickets nobody resolved", wrongly),
        must_hold(HOOKS, "resolved tickets decided", f"{decided}/{len(resolved)}", decided == len(resolved), "all"),
        must_be_zero(HOOKS, "5xx answers", real.count(500, 599) + fake.count(500, 599)),
    ]
