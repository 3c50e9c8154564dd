"""The agent dossier: one workload's six answers (who, owner, can do, why, did, stop) and
the inventory of every workload with the same answers, for auditors and owners."""
