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

Exit status 0 when every chain verifies, 1 when a link is broken (the first broken link
is named), 2 when the file cannot be read.
"""

import argparse
import csv
import hashlib
import json
import sys
from datetime import datetime, timezone

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


class ChainVerifier:
    """Checks records one at a time, in chain order, keeping only each chain's last link.

    `feed(record)` returns None or a sentence naming what is wrong with that record; the
    caller stops at the first problem (or keeps going, to count them). Memory use does
    not grow with the number of records.
    """

    def __init__(self):
        self.last = {}  # workflow_id -> (sequence, record_hash)
        self.first = {}  # workflow_id -> (sequence, prev_hash)
        self.count = 0

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


def verify_file(path, fmt=None, out=sys.stdout):
    """Verify one export file; return the process exit status."""
    verifier = ChainVerifier()
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
    for line in verifier.summary():
        print(f"  {line}", file=out)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify the hash chains of a Mandate evidence export.")
    parser.add_argument("file", help="the export (.jsonl, .json or .csv)")
    parser.add_argument("--format", choices=["jsonl", "json", "csv"], help="override the format guessed from the name")
    args = parser.parse_args(argv)
    return verify_file(args.file, args.format)


if __name__ == "__main__":
    sys.exit(main())
