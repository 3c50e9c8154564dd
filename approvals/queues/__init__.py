"""Mandate's side of the ticket queues (the adapters themselves are `approvals.tickets`).

- `models`: `QueueConnection` (one configured queue and its health), `TicketLink` (a
  request's or a review campaign's ticket there) and `OutboxMessage`;
- `outbox`: the transactional outbox and its relay; consumers register their handlers
  with `outbox.handler` and are imported by the app's `ready()`;
- `connections`: connection health and the links between Mandate objects and tickets;
- `ticket_flow`: the outbox topics, keys and deliveries every object's ticket shares;
- `request_tickets`: a request's ticket: open, comment, close; `change_tickets`: a
  registry change's;
- `decisions`: decisions taken in tickets, read back by webhook, sync or polling;
- `receivers`: the access-lifecycle events that put a request's ticket work in the outbox;
- `webhooks`, `api`, `admin`, `tasks`, `demo`: the doors in and the demo queues.
"""
