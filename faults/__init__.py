"""`make faults`: Mandate under faults (Redis, the broker, workers, web processes, PostgreSQL,
the ticket system, forged webhooks, a rewritten evidence trail, generated input), with the
figures of each scenario and a summary table. Outside the apps, never imported by them.
"""
