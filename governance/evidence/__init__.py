"""Evidence: the append-only, hash-chained record of what happened in each workflow.

- `models`: `EvidenceRecord` and the per-workflow `EvidenceChainHead`;
- `services`: `record_evidence` and `ingest_evidence_batch`, the only writers;
- `receivers`: evidence for the approval services' domain events;
- `verification`: walking the chains in the database;
- `exports`, `timeline`: reading it back.

The hash chain itself (canonical encoding, record hash, verifier) is defined once, in the
stand-alone `governance.verify_export` module that auditors run offline.
"""
