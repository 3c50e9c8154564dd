"""`make bench`: Mandate's hot paths measured against a bare DRF reference (docs/performance.md).

Nothing here is imported by the application: the reference view exists only under
`bench.settings`, which the benchmark's own gunicorn uses.
"""
