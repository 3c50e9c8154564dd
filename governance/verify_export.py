"""Verify a Mandate evidence export offline: ``python verify_export.py export.jsonl``.

This file is deliberately self-contained (Python 3.9+ standard library only, no Django,
no project imports) so an auditor can copy it next to an export and run it anywhere. It
is also the single definition of the hash chain: Mandate computes every record's hash
with the functions below when it writes the record.

The chain, per workflow
-----------------------
Each evidence record carries ``sequence`` (1, 2, 3… within its workflow), ``prev_hash``
(the ``record_hash`` of the record before it; 64 zeros for the first) and
``record_hash``::

    record_hash = SHA-256( canonical_json( {every field in HASHED_FIELDS, prev_hash} ) )

``canonical_json`` is JSON with keys sorted, no whitespace (separators ``,`` and ``:``),
non-ASCII characters kept as UTF-8 (not ``\\u`` escapes), no NaN/Infinity, encoded as
UTF-8. Integers are JSON numbers, absent references are ``null``, text fields are strings
(empty string when blank) and timestamps are UTC strings ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.
``payload_sha256`` is the SHA-256 of the full payload's canonical JSON (empty when the
event had no payload); when an export carries ``raw_payload`` its SHA-256 must equal it.

Editing any hashed field changes that record's hash; deleting a record leaves a gap in
``sequence`` and a ``prev_hash`` that points at nothing; moving records changes their
``sequence`` (which is hashed) or breaks the links. An export of a time range starts
mid-chain: its first ``prev_hash`` is reported so it can be matched against the record
before it (in another export or in ``manage.py verify_evidence``).

Formats: JSON Lines (``.jsonl``, one record per line), JSON (``.json``, an object with a
``records`` list) and CSV (``.csv``, one column per field; a cell that starts with
``= + - @``, a tab, a carriage return or an apostrophe is written with one extra leading
apostrophe so spreadsheets do not run it as a formula, and read back without it).

Signed checkpoints
------------------
A checkpoint (``workflow_id``, ``sequence``, ``head_hash``, ``signed_at``, ``key_id``,
``signature``: base64 Ed25519 over ``checkpoint_message``) states the chain's hash at a
position, signed with a key kept outside Mandate's database. Given the published keys
(``--keys evidence-keys.json``) and the checkpoints (``--checkpoints FILE`` as the file
sink writes them, or those inside a JSON export), every signature must verify and the
record at each checkpoint's position must carry its ``head_hash``: a chain rewritten and
re-hashed is caught there. ``cryptography`` checks signatures when installed, else the
pure-Python code below does.

Exit status 0 when every chain verifies, 1 when a link is broken (the first broken link
is named), 2 when the file cannot be read.
"""

import argparse
import base64
import csv
import hashlib
import json
import sys
from datetime import datetime, timezone

try:  # Fast signature checks when available; the pure-Python fallback below is slower.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover - exercised where cryptography is absent
    Ed25519PublicKey = None

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64

INTEGER_FIELDS = ("v", "workflow_id", "sequence")
NULLABLE_INTEGER_FIELDS = ("workload_id", "on_behalf_of_id", "actor_id", "access_request_id", "grant_id")
TEXT_FIELDS = (
    "kind",
    "occurred_at",
    "recorded_at",
    "task_ref",
    "ticket_ref",
    "tool_name",
    "target_resource",
    "data_classification",
    "outcome",
    "summary",
    "payload_sha256",
    "prev_hash",
)
# Everything the record hash covers. `record_hash` itself, database ids and display
# labels (workflow slug, usernames) are not covered: labels may change, facts may not.
HASHED_FIELDS = INTEGER_FIELDS + NULLABLE_INTEGER_FIELDS + TEXT_FIELDS


def canonical_json(value) -> bytes:
    """The one byte encoding that hashes are computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def format_timestamp(value: datetime) -> str:
    """UTC, microsecond precision, `Z` suffix: the only timestamp form that is hashed."""
    if value.tzinfo is None:
        raise ValueError("evidence timestamps must be timezone-aware")
    # timezone.utc rather than datetime.UTC: the verifier must run on older Pythons too.
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: UP017


def hashed_content(record: dict) -> dict:
    """The part of `record` the hash covers, with types normalised (as read from CSV too)."""
    content = {}
    for name in INTEGER_FIELDS:
        content[name] = int(record[name])
    for name in NULLABLE_INTEGER_FIELDS:
        value = record.get(name)
        content[name] = None if value in (None, "") else int(value)
    for name in TEXT_FIELDS:
        value = record.get(name)
        content[name] = "" if value is None else str(value)
    return content


def record_hash(record: dict) -> str:
    """SHA-256 of the canonical encoding of the record's hashed fields (prev_hash included)."""
    return sha256_hex(canonical_json(hashed_content(record)))


# --------------------------------------------------------------------------- checkpoints
CHECKPOINT_TYPE = "mandate.evidence.checkpoint"
CHECKPOINT_FIELDS = ("workflow_id", "sequence", "head_hash", "signed_at", "key_id")


def checkpoint_message(checkpoint: dict) -> bytes:
    """The bytes a checkpoint's signature covers: its fields, canonically encoded."""
    content = {"type": CHECKPOINT_TYPE, "v": FORMAT_VERSION}
    for name in CHECKPOINT_FIELDS:
        value = checkpoint[name]
        content[name] = int(value) if name in ("workflow_id", "sequence") else str(value)
    return canonical_json(content)


# Ed25519 verification (RFC 8032, section 6), for machines without `cryptography`.
_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_Q = 2**252 + 27742317777372353535851937790883648493
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _add(a, b):
    x = (a[1] - a[0]) * (b[1] - b[0]) % _P
    y = (a[1] + a[0]) * (b[1] + b[0]) % _P
    c, d = 2 * a[3] * b[3] * _D % _P, 2 * a[2] * b[2] % _P
    e, f, g, h = y - x, d - c, d + c, y + x
    return (e * f, g * h, f * g, e * h)


def _mul(scalar, point):
    result = (0, 1, 1, 0)
    while scalar > 0:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _recover_x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    return _P - x if (x & 1) != sign else x


def _decompress(data):
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_G = _decompress((4 * pow(5, _P - 2, _P) % _P).to_bytes(32, "little"))  # the base point


def ed25519_verify_pure(public: bytes, message: bytes, signature: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % _Q
    left, right = _mul(s, _G), _add(r, _mul(h, a))
    return (left[0] * right[2] - right[0] * left[2]) % _P == 0 and (left[1] * right[2] - right[1] * left[2]) % _P == 0


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if Ed25519PublicKey is None:
        return ed25519_verify_pure(public, message, signature)
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def keys_from_jwks(document: dict) -> dict:
    """{key id: raw public key} from an `evidence-keys.json` document (base64url, unpadded)."""
    found = [key for key in document.get("keys", []) if (key.get("kty"), key.get("crv")) == ("OKP", "Ed25519")]
    return {key["kid"]: base64.urlsafe_b64decode(key["x"] + "=" * (-len(key["x"]) % 4)) for key in found}


def check_checkpoints(checkpoints, keys: dict):
    """({(workflow, sequence): [checkpoint, …]}, problem): the checkpoints, all signatures checked."""
    by_position = {}
    for checkpoint in checkpoints:
        try:
            where = f"checkpoint of workflow {int(checkpoint['workflow_id'])} at sequence {int(checkpoint['sequence'])}"
            message = checkpoint_message(checkpoint)
            signature = base64.b64decode(checkpoint["signature"], validate=True)
        except (KeyError, TypeError, ValueError) as exc:
            return {}, f"a checkpoint is malformed ({exc!r})"
        public = keys.get(checkpoint["key_id"])
        if public is None:
            return {}, f"{where}: signed by key {checkpoint['key_id']}, which is not among the published keys"
        if not ed25519_verify(public, message, signature):
            return {}, f"{where}: the signature does not verify (the checkpoint was forged or altered)"
        position = (int(checkpoint["workflow_id"]), int(checkpoint["sequence"]))
        by_position.setdefault(position, []).append(checkpoint)
    return by_position, None


class ChainVerifier:
    """Checks records one at a time, in chain order, keeping only each chain's last link.

    `feed(record)` returns None or a sentence naming what is wrong with that record; the
    caller stops at the first problem (or keeps going, to count them). Memory use does
    not grow with the number of records.
    """

    def __init__(self, checkpoints=None):
        self.last = {}  # workflow_id -> (sequence, record_hash)
        self.first = {}  # workflow_id -> (sequence, prev_hash)
        self.count = 0
        # (workflow_id, sequence) -> [checkpoint, …], signatures already checked.
        self.checkpoints = checkpoints or {}
        self.agreed = {}  # workflow_id -> the last checkpointed sequence that agreed
        self.checked = 0

    def feed(self, record: dict):
        self.count += 1
        try:
            content = hashed_content(record)
        except (KeyError, TypeError, ValueError) as exc:
            return f"record {self.count} is malformed ({exc!r})"
        workflow, sequence = content["workflow_id"], content["sequence"]
        where = f"workflow {workflow}, sequence {sequence}"
        if content["v"] != FORMAT_VERSION:
            return f"{where}: unknown format version {content['v']}"
        expected_hash = sha256_hex(canonical_json(content))
        if expected_hash != record.get("record_hash"):
            return f"{where}: content does not match its hash (the record was edited, or moved from another position)"
        raw = record.get("raw_payload")
        if raw not in (None, "") and sha256_hex(str(raw).encode("utf-8")) != content["payload_sha256"]:
            return f"{where}: the raw payload does not match payload_sha256 (the payload was edited)"
        previous = self.last.get(workflow)
        if previous is None:
            self.first[workflow] = (sequence, content["prev_hash"])
            if sequence == 1 and content["prev_hash"] != GENESIS_HASH:
                return f"{where}: the first record of the chain must have prev_hash {GENESIS_HASH}"
        else:
            prev_sequence, prev_hash = previous
            if sequence <= prev_sequence:
                return f"{where}: comes after sequence {prev_sequence} (records reordered or duplicated)"
            if sequence != prev_sequence + 1:
                missing = f"{prev_sequence + 1}"
                if sequence > prev_sequence + 2:
                    missing += f"–{sequence - 1}"
                return f"{where}: records {missing} are missing (deleted) before this one"
            if content["prev_hash"] != prev_hash:
                return f"{where}: prev_hash does not match the record before it (a record was replaced or reordered)"
        self.last[workflow] = (sequence, expected_hash)
        return self._against_checkpoints(workflow, sequence, expected_hash, where)

    def _against_checkpoints(self, workflow, sequence, expected_hash, where):
        for checkpoint in self.checkpoints.get((workflow, sequence), ()):
            self.checked += 1
            if checkpoint["head_hash"] != expected_hash:
                since = self.agreed.get(workflow, self.first[workflow][0] - 1) + 1
                among = f"sequence {sequence}" if since >= sequence else f"sequences {since}–{sequence}"
                return (
                    f"{where}: disagrees with the checkpoint signed at {checkpoint['signed_at']} by key "
                    f"{checkpoint['key_id']} (the chain was rewritten: a record among {among} was changed "
                    "and the later ones re-hashed)"
                )
        if (workflow, sequence) in self.checkpoints:
            self.agreed[workflow] = sequence
        return None

    def summary(self):
        """One line per chain: where it starts, where it ends, and the hash it ends on."""
        lines = []
        for workflow, (last_sequence, last_hash) in sorted(self.last.items()):
            first_sequence, first_prev = self.first[workflow]
            start = "from the start" if first_sequence == 1 else f"mid-chain, after prev_hash {first_prev}"
            span = f"sequences {first_sequence}–{last_sequence}"
            lines.append(f"workflow {workflow}: {span} ({start}), ends on {last_hash}")
        return lines


def read_records(path, fmt=None):
    """Yield the records of an export file as dicts, streaming where the format allows."""
    fmt = fmt or path.rsplit(".", 1)[-1].lower()
    if fmt == "jsonl":
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)
    elif fmt == "json":
        with open(path, encoding="utf-8") as fh:
            document = json.load(fh)
        yield from document["records"] if isinstance(document, dict) else document
    elif fmt == "csv":
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                # Cells that a spreadsheet would run as a formula were exported with a
                # leading apostrophe (and so were cells starting with one): remove it.
                yield {key: value[1:] if value.startswith("'") else value for key, value in row.items()}
    else:
        raise ValueError(f"unknown export format {fmt!r}: use jsonl, json or csv")


def read_checkpoints(path):
    """The checkpoints of a file: JSON Lines (the file sink), or a JSON export's `checkpoints`."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if path.lower().endswith(".json"):
        document = json.loads(text)
        return document.get("checkpoints", []) if isinstance(document, dict) else document
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def load_checkpoints(export_path, checkpoints_path=None, keys_path=None):
    """({position: [checkpoint, …]}, problem): the signed checkpoints to hold the export to."""
    if not keys_path:
        if checkpoints_path:
            raise ValueError("checking checkpoints needs the published keys (--keys evidence-keys.json)")
        return {}, None
    source = checkpoints_path or (export_path if export_path.lower().endswith(".json") else None)
    if source is None:
        raise ValueError("name the checkpoint file (--checkpoints): only a .json export carries them")
    with open(keys_path, encoding="utf-8") as fh:
        keys = keys_from_jwks(json.load(fh))
    return check_checkpoints(read_checkpoints(source), keys)


def verify_file(path, fmt=None, out=sys.stdout, *, checkpoints_path=None, keys_path=None):
    """Verify one export file (against signed checkpoints, given keys); return the exit status."""
    try:
        checkpoints, problem = load_checkpoints(path, checkpoints_path, keys_path)
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        print(f"ERROR: cannot read the checkpoints or keys: {exc}", file=out)
        return 2
    if problem:
        print(f"BROKEN: {problem}", file=out)
        return 1
    verifier = ChainVerifier(checkpoints)
    try:
        for record in read_records(path, fmt):
            problem = verifier.feed(record)
            if problem:
                print(f"BROKEN: {problem}", file=out)
                return 1
    except (OSError, ValueError, KeyError) as exc:
        print(f"ERROR: cannot read {path}: {exc}", file=out)
        return 2
    print(f"OK: {verifier.count} records verified", file=out)
    if keys_path:
        print(f"  {verifier.checked} signed checkpoints agree with the chains", file=out)
    for line in verifier.summary():
        print(f"  {line}", file=out)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify the hash chains of a Mandate evidence export.")
    parser.add_argument("file", help="the export (.jsonl, .json or .csv)")
    parser.add_argument("--format", choices=["jsonl", "json", "csv"], help="override the format guessed from the name")
    parser.add_argument("--checkpoints", help="signed checkpoints (.jsonl from the file sink, or a .json export)")
    parser.add_argument("--keys", help="the published keys (evidence-keys.json); checks the checkpoints")
    args = parser.parse_args(argv)
    return verify_file(args.file, args.format, checkpoints_path=args.checkpoints, keys_path=args.keys)


if __name__ == "__main__":
    sys.exit(main())
