"""Outbound webhooks: any system subscribes to governance events and receives them signed
the Standard Webhooks way (https://www.standardwebhooks.com/).

- `models`: `WebhookSubscription` (where, which events, the sealed secrets) and
  `WebhookDelivery` (one event for one subscriber: the delivery log);
- `signing`: `whsec_` secrets and the `webhook-id` / `webhook-timestamp` /
  `webhook-signature` headers, signed with every secret still valid during a rotation;
- `events`: the lifecycle events → one delivery per subscriber, in the same transaction;
- `delivery`: the outbox handler that sends one delivery (retried with backoff);
- `services`: create, change, rotate the secret, replay a delivery;
- `views`, `urls`, `forms`: the portal pages (subscriptions, delivery log, replay).
"""
