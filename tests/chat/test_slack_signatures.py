"""Slack's request signatures are checked exactly as Slack documents them
(https://docs.slack.dev/authentication/verifying-requests-from-slack): HMAC-SHA256 of
`v0:{timestamp}:{raw body}` with the signing secret, at most five minutes old."""

import pytest

from approvals.chat.slack import SignatureRefused, verify_signature

# The worked example of Slack's documentation.
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
NOW = int(TIMESTAMP) + 30


def test_slacks_documented_example_verifies():
    verify_signature(SECRET, timestamp=TIMESTAMP, signature=SIGNATURE, body=BODY, now=NOW)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"body": BODY.replace(b"roadrunner", b"coyote")}, "does not match"),
        ({"signature": SIGNATURE[:-1] + "4"}, "does not match"),
        ({"signature": SIGNATURE.replace("v0=", "v1=")}, "does not match"),
        ({"secret": "another-signing-secret"}, "does not match"),
        ({"signature": ""}, "not signed"),
        ({"timestamp": "yesterday"}, "no valid"),
        ({"now": int(TIMESTAMP) + 5 * 60 + 1}, "too old"),
        ({"now": int(TIMESTAMP) - 5 * 60 - 1}, "too old"),
    ],
    ids=["body", "signature", "version", "secret", "unsigned", "timestamp", "stale", "future"],
)
def test_anything_else_is_refused(change, message):
    args = {"secret": SECRET, "timestamp": TIMESTAMP, "signature": SIGNATURE, "body": BODY, "now": NOW, **change}
    with pytest.raises(SignatureRefused, match=message):
        verify_signature(args.pop("secret"), **args)


def test_a_signature_five_minutes_old_still_counts():
    verify_signature(SECRET, timestamp=TIMESTAMP, signature=SIGNATURE, body=BODY, now=int(TIMESTAMP) + 300)
