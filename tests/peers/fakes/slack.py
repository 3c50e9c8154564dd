"""A stateful fake of Slack, served over real HTTP (`LocalServer`), following Slack's
documentation and rejecting everything else:

- Web API (https://docs.slack.dev/reference/methods): `chat.postMessage`, `chat.update`,
  `views.open` (JSON bodies, `Authorization: Bearer xoxb-…`), `users.info` (`user=`, as a
  GET query or a form-encoded POST, both of which Slack accepts).
  Slack answers HTTP 200 with `{"ok": false, "error": …}` for a refused call and
  `{"ok": true, …}` otherwise; any other method is `unknown_method` and is recorded in
  `rejected`, as is every malformed call (the tests assert `rejected == []`).
- Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks): block types, at most
  50 blocks, header text 150, section text 3000, 10 fields of 2000, button text 75,
  unique action_ids, modal title 24 characters, `views.open` only with a trigger_id Slack
  issued in the last three seconds and not used before.
- Interactivity (https://docs.slack.dev/interactivity/handling-user-interaction): a person
  pressing a button (`press`) or submitting a modal (`submit_view`) makes the
  `block_actions` / `view_submission` payload Slack would send, form-encoded as
  `payload=<json>` and signed with the app's signing secret (`v0`); their `response_url`
  (`/actions/…` here) accepts `{"response_type": "ephemeral", "text": …}`.
- `down = True` makes every call answer 503, as during a Slack outage.
"""

import hashlib
import hmac
import itertools
import json
import time
from urllib.parse import parse_qs, urlencode

from .local_server import LocalServer

BLOCK_TYPES = {"section", "actions", "context", "divider", "header", "input", "image"}
METHODS = {
    ("POST", "chat.postMessage"),
    ("POST", "chat.update"),
    ("POST", "views.open"),
    ("GET", "users.info"),
    ("POST", "users.info"),  # every Web API method takes POST too; slack_sdk always posts
}


class SlackFake:
    team_id = "T0MANDATE"
    token = "xoxb-0000000000-fake-bot-token"
    signing_secret = "8f742231b10e8888abcd99yyyzzz85a5"

    def __init__(self):
        self.server = LocalServer(self.app)
        self.down = False
        self.channels = {"C0APPROVALS"}
        self.users = {}  # slack user id -> user object (users.info)
        self.messages = {}  # (channel, ts) -> {"text", "blocks", "updates"}
        self.views = []  # views opened: {"trigger_id", "view", "user"}
        self.ephemerals = []  # (slack user id, text)
        self.rejected = []  # what Slack would not have accepted
        self.calls = []
        self._triggers = {}  # trigger_id -> (slack user id, issued at)
        self._ts = itertools.count(1)

    @property
    def api_url(self):
        return f"{self.server.url}/api/"

    @property
    def hooks_url(self):
        return f"{self.server.url}/actions/"

    def close(self):
        self.server.close()

    # ------------------------------------------------------------------ people

    def add_user(self, slack_user_id, *, email, confirmed=True, name="", deleted=False, team_id=None):
        self.users[slack_user_id] = {
            "id": slack_user_id,
            "team_id": team_id or self.team_id,
            "name": name or email.split("@")[0],
            "deleted": deleted,
            "is_bot": False,
            "is_email_confirmed": confirmed,
            "profile": {"email": email, "real_name": name or email, "display_name": name},
        }

    # ------------------------------------------------------------------ HTTP

    def app(self, method, path, query, headers, body):
        self.calls.append((method, path))
        if self.down:
            return 503, {"Content-Type": "text/plain"}, b"Service Unavailable"
        if path.startswith("/actions/"):
            return self._response_url(path, headers, body)
        name = path.removeprefix("/api/")
        if not path.startswith("/api/") or (method, name) not in METHODS:
            return self._refuse(f"{method} {path}", "unknown_method", status=404)
        if headers.get("Authorization") != f"Bearer {self.token}":
            return self._answer({"ok": False, "error": "invalid_auth"})
        if name == "users.info":
            if method == "POST":
                if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    return self._refuse(name, "invalid_form_data")
                query = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
            return self._users_info(query)
        if not headers.get("Content-Type", "").startswith("application/json"):
            return self._refuse(name, "invalid_form_data")
        args = json.loads(body or b"{}")
        return {"chat.postMessage": self._post, "chat.update": self._update, "views.open": self._open}[name](args)

    def _answer(self, payload, status=200):
        return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(payload).encode()

    def _refuse(self, what, error, status=200):
        self.rejected.append((what, error))
        return self._answer({"ok": False, "error": error}, status=status)

    # ------------------------------------------------------------------ methods

    def _post(self, args):
        channel = args.get("channel", "")
        if channel.startswith("U"):
            if channel not in self.users:
                return self._refuse("chat.postMessage", "channel_not_found")
            channel = "D" + channel[1:]  # the app's direct-message conversation with that user
        elif channel not in self.channels:
            return self._refuse("chat.postMessage", "channel_not_found")
        problem = self._check_message(args)
        if problem:
            return self._refuse("chat.postMessage", problem)
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        self.messages[(channel, ts)] = {"text": args.get("text"), "blocks": args.get("blocks"), "updates": 0}
        return self._answer({"ok": True, "channel": channel, "ts": ts, "message": {"text": args.get("text"), "ts": ts}})

    def _update(self, args):
        key = (args.get("channel", ""), args.get("ts", ""))
        if key not in self.messages:
            return self._refuse("chat.update", "message_not_found")
        problem = self._check_message(args)
        if problem:
            return self._refuse("chat.update", problem)
        message = self.messages[key]
        message.update(text=args.get("text"), blocks=args.get("blocks"), updates=message["updates"] + 1)
        return self._answer({"ok": True, "channel": key[0], "ts": key[1], "text": args.get("text")})

    def _open(self, args):
        trigger = self._triggers.pop(args.get("trigger_id", ""), None)
        if trigger is None:
            return self._refuse("views.open", "invalid_trigger_id")
        if time.time() - trigger[1] > 3:
            return self._refuse("views.open", "expired_trigger_id")
        view = args.get("view") or {}
        problem = self._check_view(view)
        if problem:
            return self._refuse("views.open", problem)
        opened = {"id": f"V{next(self._ts):08d}", "team_id": self.team_id, "state": {"values": {}}, **view}
        self.views.append({"user": trigger[0], "view": opened})
        return self._answer({"ok": True, "view": opened})

    def _users_info(self, query):
        user = self.users.get(query.get("user", ""))
        if user is None:
            return self._answer({"ok": False, "error": "user_not_found"})
        return self._answer({"ok": True, "user": user})

    def _response_url(self, path, headers, body):
        try:
            data = json.loads(body)
        except ValueError:
            return self._refuse(path, "invalid_payload")
        if data.get("response_type") not in ("ephemeral", "in_channel") or not data.get("text"):
            return self._refuse(path, "invalid_payload")
        self.ephemerals.append((path.rsplit("/", 1)[-1], data["text"]))
        return self._answer({"ok": True})

    # ------------------------------------------------------------------ Block Kit

    def _check_message(self, args):
        blocks = args.get("blocks")
        if not args.get("text") and not blocks:
            return "no_text"
        return self._check_blocks(blocks or [], surface="message")

    def _check_blocks(self, blocks, surface):
        if not isinstance(blocks, list) or len(blocks) > (50 if surface == "message" else 100):
            return "invalid_blocks"
        action_ids, block_ids = [], []
        for block in blocks:
            kind = block.get("type")
            if kind not in BLOCK_TYPES or (kind == "input" and surface == "message"):
                return "invalid_blocks"
            if "block_id" in block:
                block_ids.append(block["block_id"])
            if kind == "header" and not _text(block.get("text"), 150, plain=True):
                return "invalid_blocks"
            if kind == "section":
                fields = block.get("fields") or []
                if not block.get("text") and not fields:
                    return "invalid_blocks"
                if block.get("text") and not _text(block["text"], 3000):
                    return "invalid_blocks"
                if len(fields) > 10 or not all(_text(f, 2000) for f in fields):
                    return "invalid_blocks"
            if kind == "actions":
                elements = block.get("elements") or []
                if not elements or len(elements) > 25:
                    return "invalid_blocks"
                for element in elements:
                    if element.get("type") != "button" or not _text(element.get("text"), 75, plain=True):
                        return "invalid_blocks"
                    if element.get("style", "primary") not in ("primary", "danger"):
                        return "invalid_blocks"
                    if len(str(element.get("value", ""))) > 2000 or not element.get("action_id"):
                        return "invalid_blocks"
                    action_ids.append(element["action_id"])
            if kind == "context" and not 0 < len(block.get("elements") or []) <= 10:
                return "invalid_blocks"
            labelled = _text(block.get("label"), 2000, plain=True) and (block.get("element") or {}).get("type")
            if kind == "input" and not labelled:
                return "invalid_blocks"
        if len(set(action_ids)) != len(action_ids) or len(set(block_ids)) != len(block_ids):
            return "invalid_blocks"
        return None

    def _check_view(self, view):
        if view.get("type") != "modal" or not _text(view.get("title"), 24, plain=True):
            return "invalid_arguments"
        has_input = any(b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and not _text(view.get("submit"), 24, plain=True):
            return "invalid_arguments"
        if len(view.get("private_metadata", "")) > 3000 or len(view.get("callback_id", "")) > 255:
            return "invalid_arguments"
        return self._check_blocks(view.get("blocks") or [], surface="modal")

    # ------------------------------------------------------------------ a person in Slack

    def message_for(self, channel_prefix="C"):
        """[(channel, ts, message)] posted so far whose channel starts with `channel_prefix`."""
        return [(c, ts, m) for (c, ts), m in self.messages.items() if c.startswith(channel_prefix)]

    def _trigger(self, slack_user_id):
        trigger_id = f"{next(self._ts)}.{int(time.time())}.{hashlib.md5(slack_user_id.encode()).hexdigest()}"
        self._triggers[trigger_id] = (slack_user_id, time.time())
        return trigger_id

    def _user_ref(self, slack_user_id):
        return {"id": slack_user_id, "username": slack_user_id.lower(), "name": slack_user_id.lower(),
                "team_id": self.team_id}  # fmt: skip

    def press(self, channel, ts, action_id, slack_user_id):
        """The `block_actions` body Slack sends when `slack_user_id` presses a button."""
        message = self.messages[(channel, ts)]
        button = next(
            e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id
        )
        block = next(b for b in message["blocks"] if b["type"] == "actions")
        payload = {
            "type": "block_actions",
            "user": self._user_ref(slack_user_id),
            "api_app_id": "A0MANDATE",
            "token": "deprecated-verification-token",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
            "trigger_id": self._trigger(slack_user_id),
            "team": {"id": self.team_id, "domain": "acme"},
            "channel": {"id": channel, "name": "approvals"},
            "message": {"type": "message", "ts": ts, "text": message["text"], "blocks": message["blocks"]},
            "response_url": f"{self.hooks_url}{self.team_id}/{next(self._ts)}/{slack_user_id}",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block.get("block_id", ""),
                    "text": button["text"],
                    "value": button.get("value", ""),
                    "style": button.get("style"),
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return self.sign(payload)

    def submit_view(self, view, slack_user_id, values):
        """The `view_submission` body when `slack_user_id` submits an opened modal with
        `values` ({block_id: {action_id: text}})."""
        state = {
            block: {action: {"type": "plain_text_input", "value": value} for action, value in actions.items()}
            for block, actions in values.items()
        }
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "acme"},
            "user": self._user_ref(slack_user_id),
            "api_app_id": "A0MANDATE",
            "token": "deprecated-verification-token",
            "trigger_id": self._trigger(slack_user_id),
            "view": {**view, "state": {"values": state}},
            "response_urls": [],
        }
        return self.sign(payload)

    def sign(self, payload, *, timestamp=None, secret=None):
        """(body, headers) of a signed interaction, as Slack posts it."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        stamp = str(int(time.time() if timestamp is None else timestamp))
        base = f"v0:{stamp}:".encode() + body
        signature = "v0=" + hmac.new((secret or self.signing_secret).encode(), base, hashlib.sha256).hexdigest()
        return body, {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def _text(obj, limit, plain=False):
    if not isinstance(obj, dict) or obj.get("type") not in (("plain_text",) if plain else ("plain_text", "mrkdwn")):
        return False
    return 0 < len(obj.get("text") or "") <= limit
