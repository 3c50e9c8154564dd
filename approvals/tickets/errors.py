"""The one error adapters raise."""


class TicketError(Exception):
    """Talking to the ticket system failed.

    `permanent=False` means a retry can help (timeout, 5xx, rate limit): the outbox retries
    with backoff. `permanent=True` means it cannot (credentials refused, unknown queue,
    invalid mapping): the failure is recorded and shown, and the request stays decidable in
    the portal. `message` is safe to show and to log: it never contains a secret.
    """

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent

    def __str__(self):
        return self.message
