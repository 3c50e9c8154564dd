"""Standard Webhooks signing (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md).

A secret is `whsec_` followed by the base64 of 32 random bytes; the HMAC key is those
bytes. Each attempt is signed afresh: `webhook-signature` is `v1,<base64 HMAC-SHA256 of
"{webhook-id}.{webhook-timestamp}.{body}">`, one such value per valid secret, separated by
spaces, so a receiver holding either secret of a rotation accepts the message.
"""

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret():
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id():
    return "msg_" + secrets.token_hex(16)


def _key(secret):
    return base64.b64decode(secret[len(PREFIX) :] if secret.startswith(PREFIX) else secret)


def signature(secret, *, message_id, timestamp, body: bytes):
    content = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), content, hashlib.sha256).digest()).decode()


def headers(secrets_, *, message_id, timestamp, body: bytes):
    """The three Standard Webhooks headers of one attempt, signed with each secret."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(
            signature(s, message_id=message_id, timestamp=int(timestamp), body=body) for s in secrets_
        ),
    }
