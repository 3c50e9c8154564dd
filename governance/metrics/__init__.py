"""Prometheus metrics: counters and histograms kept in place, database gauges read at scrape time.

Under gunicorn with several workers each process keeps its own counters;
`prometheus_client`'s multiprocess mode (PROMETHEUS_MULTIPROC_DIR, one directory per
host, emptied at start) adds them up at scrape time. See docs/operations-metrics.md.
"""
