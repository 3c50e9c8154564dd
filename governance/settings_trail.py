"""Settings of the tamper-evident trail: the two database roles and the signed checkpoints;
star-imported by `governance.settings`, every value from the environment.
docs/operations.md describes the roles, docs/evidence.md the checkpoints."""

from .environment import VAR_DIR, env

# --- Database roles -----------------------------------------------------------------
# The processes connect as the app role (DATABASE_URL), which does not own the tables and
# may only insert and read evidence; migrations run as the owner (MIGRATE_DATABASE_URL):
# `bin/migrate` (make migrate) sets MANDATE_AS_DATABASE_OWNER for `migrate` and for
# `grant_app_role`, which grants DATABASE_APP_ROLE (the user of DATABASE_URL unless set)
# exactly what the app needs. Without MIGRATE_DATABASE_URL one role does everything.
MIGRATE_DATABASE_URL = env.str("MIGRATE_DATABASE_URL", default="")
AS_DATABASE_OWNER = env.bool("MANDATE_AS_DATABASE_OWNER", default=False)
DATABASE_APP_ROLE = env.str(
    "DATABASE_APP_ROLE", default=env.db_url("DATABASE_URL", default="sqlite://:memory:").get("USER") or ""
)

# --- Signed evidence checkpoints ------------------------------------------------------
# The Ed25519 keys that sign chain heads: a directory outside the database, shared by every
# worker and web process (web publishes the public keys at /.well-known/evidence-keys.json).
EVIDENCE_SIGNING_KEY_DIR = env.str("EVIDENCE_SIGNING_KEY_DIR", default=str(VAR_DIR / "evidence-keys"))
# Every checkpoint is appended here too (JSON Lines): put it where the database cannot
# write, ideally shipped off the machine (empty: only the database copy and the SIEM).
EVIDENCE_CHECKPOINT_FILE = env.str("EVIDENCE_CHECKPOINT_FILE", default=str(VAR_DIR / "evidence-checkpoints.jsonl"))

__all__ = [
    "AS_DATABASE_OWNER",
    "DATABASE_APP_ROLE",
    "EVIDENCE_CHECKPOINT_FILE",
    "EVIDENCE_SIGNING_KEY_DIR",
    "MIGRATE_DATABASE_URL",
]
