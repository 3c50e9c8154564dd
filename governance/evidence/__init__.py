"""Evidence: the append-only, hash-chained record of what happened in each workflow.

- `models`: `EvidenceRecord` and the per-workflow `EvidenceChainHead`;
- `services`: `record_evidence` and `ingest_evidence_batch`, the only writers;
- `receivers`: evidence for the approval services' domain events;
- `verification`: walking the chains in the database;
- `exports`: streamed CSV / JSON / JSON Lines that verify offline;
- `serializers`: one reported event in, one stored record out (the API's
  `POST /api/v1/evidence/` lives in `governance.api.evidence`).

A workflow's timeline (change log and evidence merged) is `governance.timeline`.

The hash chain itself (canonical encoding, record hash, verifier) is defined once, in the
stand-alone `governance.verify_export` module that auditors run offline.
"""
